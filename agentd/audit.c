/*
 * The audit writer (audit.h): a bounded queue filled by the loop thread and
 * drained by one thread that logs each record and writes them to the
 * database in batches.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "conn.h"
#include "err.h"
#include "key.h"
#include "log.h"
#include "proto.h"
#include "sigdata.h"
#include "store.h"

/* Room for a detail as recorded; longer ones are cut. */
#define AUDIT_DETAIL_LEN	160

/* One queued operation: copies only, nothing that points into agent state. */
struct audit_item {
	struct audit_item *next;
	int64_t time;
	uid_t uid;
	pid_t pid;
	unsigned long serial;
	char *exe;			/* NULL: unknown */
	const char *action;		/* static strings */
	const char *result;
	const char *kind;		/* NULL unless a signature */
	int forwarded;			/* -1: unknown */
	char fingerprint[SSHX_FP_LEN];
	char host_key[SSHX_FP_LEN];
	char user[SSHX_SIGDATA_TEXT_LEN];
	char ns[SSHX_SIGDATA_TEXT_LEN];
	char detail[AUDIT_DETAIL_LEN];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct audit_item *head, *tail;
static size_t queued;
static unsigned long dropped;		/* since the writer last reported */
static int started, stopping;
static pthread_t writer;
static struct sshx_store *store;	/* the writer's alone once it runs */
static char *store_path;

const char *
audit_action_of(unsigned int type)
{
	switch (type) {
	case SSH_AGENTC_REQUEST_IDENTITIES:
		return "agent.list";
	case SSH_AGENTC_SIGN_REQUEST:
		return "agent.sign";
	case SSH_AGENTC_ADD_IDENTITY:
	case SSH_AGENTC_ADD_ID_CONSTRAINED:
		return "agent.add";
	case SSH_AGENTC_REMOVE_IDENTITY:
		return "agent.remove";
	case SSH_AGENTC_REMOVE_ALL_IDENTITIES:
		return "agent.remove-all";
	case SSH_AGENTC_LOCK:
		return "agent.lock";
	case SSH_AGENTC_UNLOCK:
		return "agent.unlock";
	case SSH_AGENTC_EXTENSION:
		return "agent.extension";
	case SSH_AGENTC_ADD_SMARTCARD_KEY:
	case SSH_AGENTC_REMOVE_SMARTCARD_KEY:
	case SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED:
		return "agent.smartcard";
	default:
		return "agent.unknown";
	}
}

/* Copies a fingerprint-sized string, or leaves dst empty for NULL. */
static void
copy_str(char *dst, size_t len, const char *src)
{
	if (src != NULL)
		snprintf(dst, len, "%s", src);
	else
		dst[0] = '\0';
}

/* Fills a new item from the connection and the operation; NULL when out of memory. */
static struct audit_item *
item_new(const struct conn *c, const struct audit_op *op)
{
	struct audit_item *it;
	const char *hk = op->host_key;

	if ((it = calloc(1, sizeof(*it))) == NULL)
		return NULL;
	if (c->exe != NULL && (it->exe = strdup(c->exe)) == NULL) {
		free(it);
		return NULL;
	}
	it->time = (int64_t)time(NULL);
	it->uid = c->uid;
	it->pid = c->pid;
	it->serial = c->serial;
	it->action = op->action;
	it->result = op->result;
	it->forwarded = op->forwarded >= 0 ? op->forwarded : conn_forwarded(c);
	if (op->sd != NULL) {
		it->kind = sshx_sigdata_kind_name(op->sd->kind);
		copy_str(it->user, sizeof(it->user), op->sd->user);
		copy_str(it->ns, sizeof(it->ns), op->sd->ns);
		if (hk == NULL && op->sd->hostkey_fp[0] != '\0')
			hk = op->sd->hostkey_fp;
	}
	if (hk == NULL)
		hk = conn_bound_host(c);
	copy_str(it->host_key, sizeof(it->host_key), hk);
	copy_str(it->fingerprint, sizeof(it->fingerprint), op->fingerprint);
	/* Details are made by agentd from names and numbers; cut, never split a line. */
	if (op->detail != NULL)
		sshx_sigdata_text(it->detail, sizeof(it->detail),
		    (const uint8_t *)op->detail, strlen(op->detail));
	return it;
}

static void
item_free(struct audit_item *it)
{
	if (it == NULL)
		return;
	free(it->exe);
	free(it);
}

void
audit_record(const struct conn *c, const struct audit_op *op)
{
	struct audit_item *it;
	int was_empty;

	if (!started || c == NULL || op == NULL || op->action == NULL ||
	    op->result == NULL)
		return;
	/* Full: drop before building anything, and never wait for the writer. */
	pthread_mutex_lock(&lock);
	if (queued >= AUDIT_QUEUE_MAX) {
		dropped++;
		pthread_mutex_unlock(&lock);
		return;
	}
	pthread_mutex_unlock(&lock);
	if ((it = item_new(c, op)) == NULL) {
		pthread_mutex_lock(&lock);
		dropped++;
		pthread_mutex_unlock(&lock);
		return;
	}
	pthread_mutex_lock(&lock);
	was_empty = head == NULL;
	if (tail != NULL)
		tail->next = it;
	else
		head = it;
	tail = it;
	queued++;
	/* One wake-up per batch: the writer takes the whole list. */
	if (was_empty)
		pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
}

void
audit_simple(const struct conn *c, const char *action, const char *result,
    const char *fingerprint, const char *detail)
{
	struct audit_op op = {
		.action = action, .result = result, .fingerprint = fingerprint,
		.detail = detail, .forwarded = -1,
	};

	audit_record(c, &op);
}

/* Appends " name=value" to a log line when value is set. */
static void
line_add(char *line, size_t len, const char *name, const char *value)
{
	size_t n = strlen(line);

	if (value == NULL || *value == '\0' || n >= len)
		return;
	snprintf(line + n, len - n, " %s=%s", name, value);
}

/* Logs one record as one line: info, or debug for the frequent listings. */
static void
item_log(const struct audit_item *it)
{
	char line[900];

	snprintf(line, sizeof(line), "audit: %s %s conn=%lu uid=%u pid=%d",
	    it->action, it->result, it->serial, (unsigned)it->uid, (int)it->pid);
	line_add(line, sizeof(line), "exe", it->exe);
	line_add(line, sizeof(line), "key", it->fingerprint);
	line_add(line, sizeof(line), "kind", it->kind);
	line_add(line, sizeof(line), "user", it->user);
	line_add(line, sizeof(line), "host_key", it->host_key);
	line_add(line, sizeof(line), "namespace", it->ns);
	if (it->forwarded >= 0)
		line_add(line, sizeof(line), "forwarded", it->forwarded ? "yes" : "no");
	if (it->detail[0] != '\0')
		sshx_log(strcmp(it->action, "agent.list") == 0 ? SSHX_LOG_DEBUG :
		    SSHX_LOG_INFO, "%s: %s", line, it->detail);
	else
		sshx_log(strcmp(it->action, "agent.list") == 0 ? SSHX_LOG_DEBUG :
		    SSHX_LOG_INFO, "%s", line);
}

/* Returns s, or NULL when it is empty (stored as NULL). */
static const char *
or_null(const char *s)
{
	return s != NULL && *s != '\0' ? s : NULL;
}

/* Turns an item into the row the store writes (pointing into the item). */
static void
item_row(const struct audit_item *it, struct sshx_store_audit_rec *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->time = it->time;
	rec->actor = "agentd";
	rec->uid = (int64_t)it->uid;
	rec->pid = it->pid > 0 ? (int64_t)it->pid : -1;
	rec->exe = it->exe;
	rec->action = it->action;
	rec->result = it->result;
	rec->fingerprint = or_null(it->fingerprint);
	rec->detail = or_null(it->detail);
	rec->kind = it->kind;
	rec->peer_user = or_null(it->user);
	rec->peer_host_key = or_null(it->host_key);
	rec->ns = or_null(it->ns);
	rec->forwarded = it->forwarded;
}

/* Writes up to AUDIT_BATCH_MAX items from list to the database, one transaction. */
static void
write_batch(struct audit_item *list, size_t n)
{
	struct sshx_store_audit_rec recs[AUDIT_BATCH_MAX];
	size_t i;
	int r;

	if (store == NULL || n == 0)
		return;
	for (i = 0; i < n && list != NULL; i++, list = list->next)
		item_row(list, &recs[i]);
	if (i == 0)
		return;
	if ((r = sshx_store_audit_batch(store, recs, i)) != 0)
		sshx_log_warn("audit: %zu record%s not written to %s: %s (%s); "
		    "they are in this log only", i, i == 1 ? "" : "s", store_path,
		    sshx_strerror(r), sshx_store_errmsg(store));
}

/* Logs and records how many records the full queue cost. */
static void
report_dropped(unsigned long n)
{
	struct sshx_store_audit_rec rec;
	char detail[96];

	snprintf(detail, sizeof(detail), "%lu audit record%s dropped: the queue "
	    "of %d was full", n, n == 1 ? "" : "s", AUDIT_QUEUE_MAX);
	sshx_log_warn("audit: %s", detail);
	if (store == NULL)
		return;
	memset(&rec, 0, sizeof(rec));
	rec.time = (int64_t)time(NULL);
	rec.actor = "agentd";
	rec.uid = (int64_t)getuid();
	rec.pid = (int64_t)getpid();
	rec.action = "agent.audit";
	rec.result = AUDIT_FAILED;
	rec.detail = detail;
	rec.forwarded = -1;
	(void)sshx_store_audit_batch(store, &rec, 1);
}

/* Logs, writes and frees a list of items taken from the queue. */
static void
drain(struct audit_item *list)
{
	struct audit_item *it, *batch;
	size_t n;

	while (list != NULL) {
		batch = list;
		for (n = 0; list != NULL && n < AUDIT_BATCH_MAX; n++) {
			item_log(list);
			list = list->next;
		}
		write_batch(batch, n);
		while (batch != list) {
			it = batch;
			batch = batch->next;
			item_free(it);
		}
	}
}

/* Waits, with the lock held, until AUDIT_GATHER_MS have passed or agentd stops. */
static void
gather_locked(void)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (long)AUDIT_GATHER_MS * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	while (!stopping && pthread_cond_timedwait(&cond, &lock, &until) == 0)
		;
}

static void *
writer_main(void *arg)
{
	struct audit_item *list;
	unsigned long lost;

	(void)arg;
	pthread_mutex_lock(&lock);
	for (;;) {
		while (head == NULL && dropped == 0 && !stopping)
			pthread_cond_wait(&cond, &lock);
		if (head == NULL && dropped == 0 && stopping)
			break;
		list = head;
		head = tail = NULL;
		queued = 0;
		lost = dropped;
		dropped = 0;
		pthread_mutex_unlock(&lock);
		drain(list);
		if (lost > 0)
			report_dropped(lost);
		pthread_mutex_lock(&lock);
		gather_locked();
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

/* Opens the database for the writer, or says why the trail goes to the log only. */
static void
open_store(const char *path)
{
	char why[1024] = "";
	int r;

	if ((store_path = strdup(path)) == NULL ||
	    (r = sshx_store_open(path, SSHX_STORE_CREATE, &store, why,
	    sizeof(why))) != 0) {
		sshx_log_warn("audit: cannot open the database: %s; the audit "
		    "trail goes to syslog/stderr only", why[0] ? why :
		    "out of memory");
		store = NULL;
		return;
	}
	if ((r = sshx_store_set_busy_timeout(store, AUDIT_BUSY_MS)) != 0)
		sshx_log_warn("audit: %s: cannot set the busy timeout: %s", path,
		    sshx_strerror(r));
	/*
	 * A sync per commit costs signing throughput on slow disks (measured:
	 * about a fifth at 8 connections); checkpoints still sync, and what is
	 * committed survives agentd itself crashing.
	 */
	if ((r = sshx_store_set_sync(store, 0)) != 0)
		sshx_log_warn("audit: %s: cannot relax syncing: %s", path,
		    sshx_strerror(r));
	/*
	 * The writer only appends (and prunes by time): a small page cache
	 * does, and keeps agentd's memory flat while the table grows.
	 */
	if ((r = sshx_store_set_cache_kib(store, AUDIT_CACHE_KIB)) != 0)
		sshx_log_warn("audit: %s: cannot size the page cache: %s", path,
		    sshx_strerror(r));
	sshx_log_info("audit: recording agent operations in %s", path);
}

int
audit_start(const char *db_path)
{
	int r;

	if (started)
		return SSHX_ERR_INVALID_ARGUMENT;
	if (db_path != NULL)
		open_store(db_path);
	else
		sshx_log_info("audit: database trail off (--no-audit); agent "
		    "operations are logged only");
	stopping = 0;
	if ((r = pthread_create(&writer, NULL, writer_main, NULL)) != 0) {
		errno = r;
		sshx_store_close(store);
		store = NULL;
		return SSHX_ERR_SYSTEM;
	}
	started = 1;
	return 0;
}

void
audit_stop(void)
{
	if (!started)
		return;
	pthread_mutex_lock(&lock);
	stopping = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	pthread_join(writer, NULL);
	started = 0;
	sshx_store_close(store);
	store = NULL;
	free(store_path);
	store_path = NULL;
}

int
audit_to_db(void)
{
	return store != NULL;
}
