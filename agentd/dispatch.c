/*
 * Agent message handlers: one process_<message> per request type behind a
 * single dispatch switch, with the lock gate in front of it.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <gcrypt.h>

#include "buf.h"
#include "conn.h"
#include "crypto.h"
#include "dispatch.h"
#include "err.h"
#include "identity.h"
#include "key.h"
#include "log.h"
#include "proto.h"
#include "worker.h"

extern char **environ;

void (*dispatch_conn_released)(struct conn *c);

/* Extensions answered by this agent, in the order "query" lists them. */
static const char *const extensions[] = {
	SSHX_EXT_QUERY,
	SSHX_EXT_SESSION_BIND,
	"status@sshx",
};

uint64_t
agent_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
agent_init(struct agent *ag)
{
	memset(ag, 0, sizeof(*ag));
	if ((ag->idtab = idtab_new()) == NULL)
		return SSHX_ERR_ALLOC;
	ag->policy.min_rsa_bits = POLICY_DEFAULT_MIN_RSA_BITS;
	ag->policy.askpass_timeout = POLICY_DEFAULT_ASKPASS_TIMEOUT;
	ag->max_identities = SSHX_AGENT_MAX_IDENTITIES;
	return 0;
}

/* Forgets the lock hash, wiping it. */
static void
clear_lock_hash(struct agent *ag)
{
	if (ag->lock_hash != NULL) {
		explicit_bzero(ag->lock_hash, AGENT_LOCK_HASH_LEN);
		gcry_free(ag->lock_hash);
		ag->lock_hash = NULL;
	}
	explicit_bzero(ag->lock_salt, sizeof(ag->lock_salt));
}

void
agent_free(struct agent *ag)
{
	idtab_free(ag->idtab);
	ag->idtab = NULL;
	clear_lock_hash(ag);
	free(ag->policy.askpass);
	ag->policy.askpass = NULL;
}

void
agent_expire(struct agent *ag)
{
	size_t n;

	n = idtab_expire(ag->idtab, agent_now_ms(), &ag->next_expiry);
	if (n > 0)
		sshx_log_info("removed %zu expired identit%s", n, n == 1 ? "y" : "ies");
}

/* Sends a status reply, or marks the connection dead when even that fails. */
static void
send_status(struct conn *c, uint8_t type)
{
	if (conn_send_status(c, type) != 0)
		c->dead = 1;
}

static void
send_msg(struct conn *c, struct sshx_buf *msg)
{
	if (conn_send(c, msg) != 0)
		c->dead = 1;
}

/* Formats the fingerprint of a key for log lines. */
static const char *
fp_of(const struct sshx_key *key, char out[static SSHX_FP_LEN])
{
	if (sshx_key_fingerprint(key, out) != 0)
		strcpy(out, "(unknown)");
	return out;
}

/* ---- REQUEST_IDENTITIES ---- */

static void
process_request_identities(struct agent *ag, struct conn *c)
{
	struct sshx_buf *msg = NULL, *list = NULL;
	struct identity *id;
	const uint8_t *blob;
	size_t i, len, room, need;
	uint32_t n = 0;
	int r = SSHX_ERR_ALLOC;

	if ((msg = sshx_buf_new()) == NULL || (list = sshx_buf_new()) == NULL)
		goto out;
	/* A locked agent lists nothing: nothing it holds is usable. */
	for (i = 0; !ag->locked && i < idtab_count(ag->idtab); i++) {
		id = idtab_at(ag->idtab, i);
		blob = sshx_key_blob(id->key, &len);
		need = 8 + len + strlen(id->comment);
		room = SSHX_AGENT_MAX_FRAME - 5 - sshx_buf_len(list);
		if (need > room) {
			sshx_log_warn("identity list truncated to %u of %zu keys: "
			    "the reply would exceed %u bytes", n,
			    idtab_count(ag->idtab), SSHX_AGENT_MAX_FRAME);
			break;
		}
		if ((r = sshx_buf_put_string(list, blob, len)) != 0 ||
		    (r = sshx_buf_put_cstring(list, id->comment)) != 0)
			goto out;
		n++;
	}
	if ((r = sshx_buf_put_u8(msg, SSH_AGENT_IDENTITIES_ANSWER)) != 0 ||
	    (r = sshx_buf_put_u32(msg, n)) != 0 ||
	    (r = sshx_buf_put(msg, sshx_buf_ptr(list), sshx_buf_len(list))) != 0)
		goto out;
	send_msg(c, msg);
	sshx_log_debug("conn %lu: listed %u identities", c->serial, n);
	r = 0;
 out:
	if (r != 0) {
		sshx_log_error("list identities: %s", sshx_strerror(r));
		send_status(c, SSH_AGENT_FAILURE);
	}
	sshx_buf_free(msg);
	sshx_buf_free(list);
}

/* ---- SIGN_REQUEST ---- */

struct sign_job {
	struct worker_job base;
	struct agent *ag;
	struct conn *c;
	struct identity *id;
	uint8_t *data;
	size_t dlen;
	uint32_t flags;
	int confirm;
	char *askpass;
	uint32_t askpass_timeout;
	char prompt[512];
	struct sshx_buf *sig;
	int direct_fd;		/* write the reply from the worker, or -1 */
	size_t sent;		/* bytes of the framed reply already written */
	struct sshx_buf *reply;	/* the framed reply when written directly */
	int r;
};

/* Copies s into out for a prompt, replacing anything that is not printable ASCII. */
static void
sanitize(char *out, size_t outlen, const char *s)
{
	size_t i;

	for (i = 0; i + 1 < outlen && s[i] != '\0'; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[i] = '\0';
}

/*
 * Runs the askpass program with SSH_ASKPASS_PROMPT=confirm, as OpenSSH does;
 * returns 1 only when it exits 0 with an empty answer or "yes" in time.
 */
static int
ask_confirm(const char *askpass, const char *prompt, uint32_t timeout_s)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char answer[256], **envp = NULL;
	char *argv[3];
	sigset_t none, all;
	size_t n = 0, nenv, i;
	int pfd[2] = { -1, -1 }, status = 0, allowed = 0, done_reading = 0;
	uint64_t deadline = agent_now_ms() + (uint64_t)timeout_s * 1000;
	pid_t pid = -1;
	ssize_t got;

	if (askpass == NULL)
		return 0;
	for (nenv = 0; environ[nenv] != NULL; nenv++)
		;
	if ((envp = calloc(nenv + 2, sizeof(*envp))) == NULL)
		return 0;
	for (i = 0; i < nenv; i++)
		envp[i] = environ[i];
	envp[nenv] = "SSH_ASKPASS_PROMPT=confirm";
	if (pipe2(pfd, O_CLOEXEC) == -1) {
		free(envp);
		return 0;
	}
	argv[0] = (char *)askpass;
	argv[1] = (char *)prompt;
	argv[2] = NULL;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	if (posix_spawn(&pid, askpass, &fa, &attr, argv, envp) != 0) {
		sshx_log_warn("confirm: cannot run askpass program %s", askpass);
		pid = -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	free(envp);
	close(pfd[1]);
	while (pid != -1 && !done_reading) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		uint64_t now = agent_now_ms();
		int pr;

		if (now >= deadline) {
			sshx_log_warn("confirm: askpass did not answer within %u s; "
			    "refusing", timeout_s);
			kill(pid, SIGKILL);
			break;
		}
		pr = poll(&p, 1, (int)(deadline - now));
		if (pr == -1 && errno == EINTR)
			continue;
		if (pr <= 0)
			continue;
		got = read(pfd[0], answer + n, sizeof(answer) - 1 - n);
		if (got > 0 && (n += (size_t)got) < sizeof(answer) - 1)
			continue;
		done_reading = 1;	/* EOF, error or a full buffer */
	}
	close(pfd[0]);
	if (pid != -1) {
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
		answer[n] = '\0';
		answer[strcspn(answer, "\r\n")] = '\0';
		allowed = done_reading && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0 &&
		    (answer[0] == '\0' || strcasecmp(answer, "yes") == 0);
	}
	explicit_bzero(answer, sizeof(answer));
	return allowed;
}

static void
sign_run(struct worker_job *job)
{
	struct sign_job *j = (struct sign_job *)job;
	ssize_t n;

	if (j->confirm && !ask_confirm(j->askpass, j->prompt, j->askpass_timeout)) {
		j->r = SSHX_ERR_AGENT_FAILURE;
		return;
	}
	if ((j->sig = sshx_buf_new()) == NULL) {
		j->r = SSHX_ERR_ALLOC;
		return;
	}
	if ((j->r = sshx_key_sign(j->id->key, j->data, j->dlen, j->flags,
	    j->sig)) != 0 || j->direct_fd == -1)
		return;
	/*
	 * The connection had nothing queued and reads nothing more until this
	 * job is done, so the reply can go out from here without waiting for
	 * the loop to wake up; whatever does not fit is queued by sign_done().
	 */
	if ((j->reply = sshx_buf_new()) == NULL ||
	    sshx_buf_put_u32(j->reply, (uint32_t)(5 + sshx_buf_len(j->sig))) != 0 ||
	    sshx_buf_put_u8(j->reply, SSH_AGENT_SIGN_RESPONSE) != 0 ||
	    sshx_buf_put_stringb(j->reply, j->sig) != 0) {
		sshx_buf_free(j->reply);
		j->reply = NULL;
		return;
	}
	n = send(j->direct_fd, sshx_buf_ptr(j->reply), sshx_buf_len(j->reply),
	    MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n > 0)
		j->sent = (size_t)n;
}

/* Ends a job's hold on its connection: frees it if it died, or carries on with its input. */
static void
job_release_conn(struct agent *ag, struct conn *c)
{
	c->job = 0;
	if (c->dead) {
		if (dispatch_conn_released != NULL)
			dispatch_conn_released(c);
		return;
	}
	dispatch_input(ag, c);
}

static void
sign_done(struct worker_job *job)
{
	struct sign_job *j = (struct sign_job *)job;
	struct sshx_buf *msg = NULL;
	char fp[SSHX_FP_LEN];
	int r = j->r;

	if (!j->c->dead && r == 0 && j->reply != NULL) {
		/* Written (at least in part) by the worker: queue the rest. */
		if (sshx_buf_consume(j->reply, j->sent) != 0 ||
		    sshx_buf_put(j->c->out, sshx_buf_ptr(j->reply),
		    sshx_buf_len(j->reply)) != 0)
			j->c->dead = 1;
		sshx_log_debug("conn %lu: signed with %s", j->c->serial,
		    fp_of(j->id->key, fp));
	} else if (!j->c->dead) {
		if (r == 0 && ((msg = sshx_buf_new()) == NULL ||
		    (r = sshx_buf_put_u8(msg, SSH_AGENT_SIGN_RESPONSE)) != 0 ||
		    (r = sshx_buf_put_stringb(msg, j->sig)) != 0))
			r = r == 0 ? SSHX_ERR_ALLOC : r;
		if (r == 0) {
			send_msg(j->c, msg);
			sshx_log_debug("conn %lu: signed with %s", j->c->serial,
			    fp_of(j->id->key, fp));
		} else {
			if (j->confirm && r == SSHX_ERR_AGENT_FAILURE)
				sshx_log_info("sign with %s refused: use not "
				    "confirmed", fp_of(j->id->key, fp));
			else
				sshx_log_warn("sign with %s failed: %s",
				    fp_of(j->id->key, fp), sshx_strerror(r));
			send_status(j->c, SSH_AGENT_FAILURE);
		}
	}
	sshx_buf_free(msg);
	sshx_buf_free(j->sig);
	sshx_buf_free(j->reply);
	identity_unref(j->id);
	if (j->data != NULL) {
		explicit_bzero(j->data, j->dlen);
		free(j->data);
	}
	free(j->askpass);
	job_release_conn(j->ag, j->c);
	free(j);
}

static void
process_sign_request(struct agent *ag, struct conn *c, struct sshx_buf *m)
{
	const uint8_t *blob, *data;
	size_t bloblen, dlen;
	struct sign_job *j = NULL;
	struct identity *id;
	char fp[SSHX_FP_LEN], comment[256];
	uint32_t flags;
	int r;

	if ((r = sshx_buf_get_string_direct(m, &blob, &bloblen)) != 0 ||
	    (r = sshx_buf_get_string_direct(m, &data, &dlen)) != 0 ||
	    (r = sshx_buf_get_u32(m, &flags)) != 0 || sshx_buf_len(m) != 0) {
		sshx_log_info("conn %lu: malformed sign request", c->serial);
		goto fail;
	}
	if ((id = idtab_find(ag->idtab, blob, bloblen)) == NULL) {
		sshx_log_debug("conn %lu: sign request for a key not held",
		    c->serial);
		goto fail;
	}
	if (c->bind_failed) {
		sshx_log_warn("refusing signature with %s: a session-bind on "
		    "this connection failed", fp_of(id->key, fp));
		goto fail;
	}
	if (sshx_key_type(id->key) == SSHX_KEY_RSA &&
	    (flags & (SSH_AGENT_RSA_SHA2_256 | SSH_AGENT_RSA_SHA2_512)) == 0 &&
	    !ag->policy.allow_sha1) {
		sshx_log_warn("refusing SHA-1 \"ssh-rsa\" signature with %s: "
		    "SHA-1 signatures are forgeable; the client must ask for "
		    "rsa-sha2-256/512 (or start agentd with --allow-sha1 for "
		    "old servers)", fp_of(id->key, fp));
		goto fail;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (dlen > 0 && (j->data = malloc(dlen)) == NULL))
		goto fail;
	if (dlen > 0)
		memcpy(j->data, data, dlen);
	j->base.run = sign_run;
	j->base.done = sign_done;
	j->ag = ag;
	j->c = c;
	j->id = id;
	j->dlen = dlen;
	j->flags = flags;
	j->confirm = id->confirm;
	/* Only when nothing is queued: replies must leave in order. */
	j->direct_fd = (sshx_buf_len(c->out) == 0 && worker_threads() > 0) ?
	    c->fd : -1;
	if (j->confirm) {
		if (ag->policy.askpass == NULL) {
			sshx_log_warn("refusing signature with %s: the key needs "
			    "confirmation and no askpass program is available "
			    "(set SSH_ASKPASS)", fp_of(id->key, fp));
			goto fail;
		}
		if ((j->askpass = strdup(ag->policy.askpass)) == NULL)
			goto fail;
		j->askpass_timeout = ag->policy.askpass_timeout;
		sanitize(comment, sizeof(comment), id->comment);
		snprintf(j->prompt, sizeof(j->prompt),
		    "Allow use of key %s?\nKey fingerprint %s.", comment,
		    fp_of(id->key, fp));
	}
	identity_ref(id);
	c->job = 1;
	r = j->confirm ? worker_submit_slow(&j->base) : worker_submit(&j->base);
	if (r != 0) {
		/* Not queued: undo and refuse. */
		identity_unref(id);
		c->job = 0;
		sshx_log_warn("sign with %s: cannot queue: %s",
		    fp_of(id->key, fp), sshx_strerror(r));
		goto fail;
	}
	return;
 fail:
	if (j != NULL) {
		free(j->data);
		free(j->askpass);
		free(j);
	}
	send_status(c, SSH_AGENT_FAILURE);
}

/* ---- ADD_IDENTITY / ADD_ID_CONSTRAINED ---- */

/* Reads the constraints of an ADD_ID_CONSTRAINED; 0 or an error (the add then fails). */
static int
parse_constraints(struct sshx_buf *m, uint32_t *lifetimep, int *confirmp)
{
	int seen_life = 0, seen_confirm = 0;
	unsigned int count = 0;
	char *name = NULL;
	uint8_t ctype;
	int r;

	while (sshx_buf_len(m) > 0) {
		if (++count > SSHX_AGENT_MAX_CONSTRAINTS) {
			sshx_log_info("add refused: more than %d constraints",
			    SSHX_AGENT_MAX_CONSTRAINTS);
			return SSHX_ERR_LIMIT;
		}
		if ((r = sshx_buf_get_u8(m, &ctype)) != 0)
			return r;
		switch (ctype) {
		case SSH_AGENT_CONSTRAIN_LIFETIME:
			if (seen_life++) {
				sshx_log_info("add refused: lifetime given twice");
				return SSHX_ERR_CONSTRAINT;
			}
			if ((r = sshx_buf_get_u32(m, lifetimep)) != 0)
				return r;
			if (*lifetimep == 0) {
				sshx_log_info("add refused: lifetime of 0 seconds");
				return SSHX_ERR_CONSTRAINT;
			}
			break;
		case SSH_AGENT_CONSTRAIN_CONFIRM:
			if (seen_confirm++) {
				sshx_log_info("add refused: confirm given twice");
				return SSHX_ERR_CONSTRAINT;
			}
			*confirmp = 1;
			break;
		case SSH_AGENT_CONSTRAIN_EXTENSION:
			if ((r = sshx_buf_get_cstring(m, &name, NULL)) != 0)
				return r;
			/*
			 * Destination restrictions are not enforced yet; accepting
			 * one silently would make the key usable everywhere.
			 */
			sshx_log_info("add refused: constraint extension \"%.64s\" "
			    "is not supported", name);
			free(name);
			return SSHX_ERR_CONSTRAINT;
		default:
			sshx_log_info("add refused: unknown constraint %u", ctype);
			return SSHX_ERR_CONSTRAINT;
		}
	}
	return 0;
}

static void
process_add_identity(struct agent *ag, struct conn *c, struct sshx_buf *m,
    int constrained)
{
	struct sshx_key *key = NULL;
	char *comment = NULL, fp[SSHX_FP_LEN];
	uint32_t lifetime = 0;
	uint64_t death = 0;
	int confirm = 0, r;

	if ((r = sshx_key_parse_private(m, &key)) != 0) {
		if (r == SSHX_ERR_KEY_TYPE_REFUSED)
			sshx_log_warn("add refused: DSA keys are weak (1024-bit, "
			    "SHA-1) and not accepted");
		else
			sshx_log_info("add refused: cannot read the key: %s",
			    sshx_strerror(r));
		goto fail;
	}
	if ((r = sshx_buf_get_cstring(m, &comment, NULL)) != 0) {
		sshx_log_info("add refused: bad comment: %s", sshx_strerror(r));
		goto fail;
	}
	if (strlen(comment) > SSHX_AGENT_MAX_COMMENT) {
		sshx_log_info("add refused: comment longer than %d bytes",
		    SSHX_AGENT_MAX_COMMENT);
		goto fail;
	}
	if (constrained) {
		if ((r = parse_constraints(m, &lifetime, &confirm)) != 0)
			goto fail;
	} else if (sshx_buf_len(m) != 0) {
		sshx_log_info("add refused: trailing bytes after the comment");
		goto fail;
	}
	if (sshx_key_type(key) == SSHX_KEY_RSA &&
	    sshx_key_bits(key) < ag->policy.min_rsa_bits) {
		sshx_log_warn("add refused: RSA key %s has %u bits, under the "
		    "minimum of %u", fp_of(key, fp), sshx_key_bits(key),
		    ag->policy.min_rsa_bits);
		goto fail;
	}
	if (lifetime == 0)
		lifetime = ag->policy.default_lifetime;
	if (lifetime != 0)
		death = agent_now_ms() + (uint64_t)lifetime * 1000;
	fp_of(key, fp);
	if ((r = idtab_add(ag->idtab, key, comment, death, confirm,
	    ag->max_identities)) != 0) {
		if (r == SSHX_ERR_LIMIT)
			sshx_log_warn("add refused: the agent already holds %zu "
			    "identities", ag->max_identities);
		else
			sshx_log_error("add refused: %s", sshx_strerror(r));
		goto fail;
	}
	key = NULL;		/* transferred */
	comment = NULL;		/* transferred */
	if (death != 0 && (ag->next_expiry == 0 || death < ag->next_expiry))
		ag->next_expiry = death;
	sshx_log_info("added %s%s%s", fp,
	    lifetime ? " with a lifetime" : "", confirm ? " (confirm)" : "");
	send_status(c, SSH_AGENT_SUCCESS);
	return;
 fail:
	sshx_key_free(key);
	free(comment);
	send_status(c, SSH_AGENT_FAILURE);
}

/* ---- REMOVE_IDENTITY / REMOVE_ALL ---- */

static void
process_remove_identity(struct agent *ag, struct conn *c, struct sshx_buf *m)
{
	const uint8_t *blob;
	struct identity *id;
	char fp[SSHX_FP_LEN];
	size_t len;

	if (sshx_buf_get_string_direct(m, &blob, &len) != 0 ||
	    sshx_buf_len(m) != 0) {
		sshx_log_info("conn %lu: malformed remove request", c->serial);
		send_status(c, SSH_AGENT_FAILURE);
		return;
	}
	if ((id = idtab_find(ag->idtab, blob, len)) == NULL) {
		send_status(c, SSH_AGENT_FAILURE);
		return;
	}
	sshx_log_info("removed %s", fp_of(id->key, fp));
	idtab_remove(ag->idtab, id);
	send_status(c, SSH_AGENT_SUCCESS);
}

static void
process_remove_all(struct agent *ag, struct conn *c)
{
	sshx_log_info("removed all %zu identities", idtab_count(ag->idtab));
	idtab_remove_all(ag->idtab);
	ag->next_expiry = 0;
	send_status(c, SSH_AGENT_SUCCESS);
}

/* ---- LOCK / UNLOCK ---- */

struct lock_job {
	struct worker_job base;
	struct agent *ag;
	struct conn *c;
	int unlock;
	uint8_t *pass;		/* secure memory */
	size_t passlen;
	uint8_t salt[AGENT_LOCK_SALT_LEN];
	uint8_t *hash;		/* secure memory, AGENT_LOCK_HASH_LEN */
	int r;
};

static void
lock_run(struct worker_job *job)
{
	struct lock_job *j = (struct lock_job *)job;
	gcry_error_t e;

	e = gcry_kdf_derive(j->pass, j->passlen, GCRY_KDF_PBKDF2, GCRY_MD_SHA512,
	    j->salt, sizeof(j->salt), AGENT_LOCK_KDF_ROUNDS,
	    AGENT_LOCK_HASH_LEN, j->hash);
	j->r = e ? SSHX_ERR_CRYPTO : 0;
}

static void
lock_job_free(struct lock_job *j)
{
	if (j == NULL)
		return;
	if (j->pass != NULL) {
		explicit_bzero(j->pass, j->passlen);
		gcry_free(j->pass);
	}
	if (j->hash != NULL) {
		explicit_bzero(j->hash, AGENT_LOCK_HASH_LEN);
		gcry_free(j->hash);
	}
	explicit_bzero(j, sizeof(*j));
	free(j);
}

static void
lock_done(struct worker_job *job)
{
	struct lock_job *j = (struct lock_job *)job;
	struct agent *ag = j->ag;
	struct conn *c = j->c;
	uint64_t delay;
	int ok;

	ag->lock_pending = 0;
	if (j->r != 0) {
		sshx_log_error("%s: %s", j->unlock ? "unlock" : "lock",
		    sshx_strerror(j->r));
		if (!c->dead)
			send_status(c, SSH_AGENT_FAILURE);
	} else if (!j->unlock) {
		clear_lock_hash(ag);
		memcpy(ag->lock_salt, j->salt, sizeof(ag->lock_salt));
		ag->lock_hash = j->hash;
		j->hash = NULL;		/* transferred */
		ag->locked = 1;
		sshx_log_info("agent locked");
		if (!c->dead)
			send_status(c, SSH_AGENT_SUCCESS);
	} else {
		ok = ag->lock_hash != NULL &&
		    sshx_crypto_equal(j->hash, ag->lock_hash, AGENT_LOCK_HASH_LEN);
		if (ok) {
			ag->locked = 0;
			ag->unlock_failures = 0;
			clear_lock_hash(ag);
			sshx_log_info("agent unlocked");
			if (!c->dead)
				send_status(c, SSH_AGENT_SUCCESS);
		} else {
			if (ag->unlock_failures < 1000)
				ag->unlock_failures++;
			delay = 100 * (uint64_t)ag->unlock_failures;
			if (delay > AGENT_UNLOCK_DELAY_MAX)
				delay = AGENT_UNLOCK_DELAY_MAX;
			sshx_log_warn("unlock failed: incorrect passphrase (%u "
			    "failure%s; reply delayed %llu ms)",
			    ag->unlock_failures,
			    ag->unlock_failures == 1 ? "" : "s",
			    (unsigned long long)delay);
			/* Only this client waits: its reply is held on a timer. */
			if (!c->dead && (c->held = sshx_buf_new()) != NULL &&
			    sshx_buf_put_u8(c->held, SSH_AGENT_FAILURE) == 0) {
				c->resume_at = agent_now_ms() + delay;
			} else if (!c->dead) {
				sshx_buf_free(c->held);
				c->held = NULL;
				send_status(c, SSH_AGENT_FAILURE);
			}
		}
	}
	lock_job_free(j);
	job_release_conn(ag, c);
}

void
dispatch_resume(struct agent *ag, struct conn *c)
{
	struct sshx_buf *held = c->held;

	if (held == NULL)
		return;
	c->held = NULL;
	c->resume_at = 0;
	if (!c->dead)
		send_msg(c, held);
	sshx_buf_free(held);
	if (!c->dead)
		dispatch_input(ag, c);
}

static void
process_lock(struct agent *ag, struct conn *c, struct sshx_buf *m, int unlock)
{
	struct lock_job *j = NULL;
	const uint8_t *pass;
	size_t passlen;

	if (sshx_buf_get_string_direct(m, &pass, &passlen) != 0 ||
	    sshx_buf_len(m) != 0) {
		sshx_log_info("conn %lu: malformed %s request", c->serial,
		    unlock ? "unlock" : "lock");
		goto fail;
	}
	if (ag->lock_pending || ag->locked != unlock) {
		sshx_log_info("%s refused: the agent is %s", unlock ? "unlock" :
		    "lock", ag->locked ? "locked" : "not locked");
		goto fail;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->pass = gcry_malloc_secure(passlen + 1)) == NULL ||
	    (j->hash = gcry_malloc_secure(AGENT_LOCK_HASH_LEN)) == NULL)
		goto fail;
	memcpy(j->pass, pass, passlen);
	j->passlen = passlen;
	j->unlock = unlock;
	j->ag = ag;
	j->c = c;
	j->base.run = lock_run;
	j->base.done = lock_done;
	if (unlock)
		memcpy(j->salt, ag->lock_salt, sizeof(j->salt));
	else
		gcry_randomize(j->salt, sizeof(j->salt), GCRY_STRONG_RANDOM);
	ag->lock_pending = 1;
	c->job = 1;
	if (worker_submit(&j->base) != 0) {
		ag->lock_pending = 0;
		c->job = 0;
		goto fail;
	}
	return;
 fail:
	lock_job_free(j);
	send_status(c, SSH_AGENT_FAILURE);
}

/* ---- EXTENSION ---- */

struct bind_job {
	struct worker_job base;
	struct agent *ag;
	struct conn *c;
	struct sshx_key *hostkey;
	uint8_t sid[SSHX_AGENT_MAX_SID];
	size_t sidlen;
	uint8_t *sig;
	size_t siglen;
	int forwarding;
	int r;
};

static void
bind_run(struct worker_job *job)
{
	struct bind_job *j = (struct bind_job *)job;

	j->r = sshx_key_verify(j->hostkey, j->sig, j->siglen, j->sid,
	    j->sidlen, 0);
}

static void
bind_done(struct worker_job *job)
{
	struct bind_job *j = (struct bind_job *)job;
	struct agent *ag = j->ag;
	struct conn *c = j->c;
	struct session_bind *b;
	char fp[SSHX_FP_LEN];
	size_t i;
	int ok = 0;

	fp_of(j->hostkey, fp);
	if (j->r != 0) {
		sshx_log_warn("session-bind refused: host key %s signature: %s",
		    fp, sshx_strerror(j->r));
		goto done;
	}
	for (i = 0; i < c->nbinds; i++) {
		b = &c->binds[i];
		if (b->sidlen == j->sidlen &&
		    memcmp(b->sid, j->sid, j->sidlen) == 0) {
			ok = sshx_key_equal_public(b->hostkey, j->hostkey);
			if (!ok)
				sshx_log_warn("session-bind refused: session "
				    "already bound to another host key");
			goto done;
		}
	}
	if (c->nbinds >= SSHX_AGENT_MAX_BINDS) {
		sshx_log_warn("session-bind refused: more than %d binds on one "
		    "connection", SSHX_AGENT_MAX_BINDS);
		goto done;
	}
	b = &c->binds[c->nbinds++];
	b->hostkey = j->hostkey;
	j->hostkey = NULL;	/* transferred */
	memcpy(b->sid, j->sid, j->sidlen);
	b->sidlen = j->sidlen;
	b->forwarding = j->forwarding;
	sshx_log_debug("conn %lu: bound to host key %s%s", c->serial, fp,
	    b->forwarding ? " (forwarding)" : "");
	ok = 1;
 done:
	if (!ok)
		c->bind_failed = 1;
	if (!c->dead)
		send_status(c, ok ? SSH_AGENT_SUCCESS : SSH_AGENT_FAILURE);
	sshx_key_free(j->hostkey);
	free(j->sig);
	free(j);
	job_release_conn(ag, c);
}

static void
process_ext_session_bind(struct agent *ag, struct conn *c, struct sshx_buf *m)
{
	const uint8_t *kblob, *sid, *sig;
	size_t klen, sidlen, siglen;
	struct bind_job *j = NULL;
	uint8_t fwd;
	int r;

	if ((r = sshx_buf_get_string_direct(m, &kblob, &klen)) != 0 ||
	    (r = sshx_buf_get_string_direct(m, &sid, &sidlen)) != 0 ||
	    (r = sshx_buf_get_string_direct(m, &sig, &siglen)) != 0 ||
	    (r = sshx_buf_get_u8(m, &fwd)) != 0 || sshx_buf_len(m) != 0) {
		sshx_log_info("session-bind refused: malformed request");
		goto fail;
	}
	if (sidlen == 0 || sidlen > SSHX_AGENT_MAX_SID) {
		sshx_log_info("session-bind refused: session id of %zu bytes",
		    sidlen);
		goto fail;
	}
	if (fwd > 1) {
		sshx_log_info("session-bind refused: bad forwarding flag");
		goto fail;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		goto fail;
	if ((r = sshx_key_from_blob(kblob, klen, &j->hostkey)) != 0) {
		sshx_log_info("session-bind refused: host key: %s",
		    sshx_strerror(r));
		goto fail;
	}
	if ((j->sig = malloc(siglen + 1)) == NULL)
		goto fail;
	memcpy(j->sig, sig, siglen);
	j->siglen = siglen;
	memcpy(j->sid, sid, sidlen);
	j->sidlen = sidlen;
	j->forwarding = fwd;
	j->ag = ag;
	j->c = c;
	j->base.run = bind_run;
	j->base.done = bind_done;
	c->job = 1;
	if (worker_submit(&j->base) != 0) {
		c->job = 0;
		goto fail;
	}
	return;
 fail:
	if (j != NULL) {
		sshx_key_free(j->hostkey);
		free(j->sig);
		free(j);
	}
	c->bind_failed = 1;
	send_status(c, SSH_AGENT_FAILURE);
}

static void
process_ext_query(struct conn *c, struct sshx_buf *m)
{
	struct sshx_buf *msg;
	size_t i;
	int r = SSHX_ERR_ALLOC;

	if (sshx_buf_len(m) != 0) {
		send_status(c, SSH_AGENT_EXTENSION_FAILURE);
		return;
	}
	if ((msg = sshx_buf_new()) == NULL)
		goto out;
	if ((r = sshx_buf_put_u8(msg, SSH_AGENT_EXTENSION_RESPONSE)) != 0 ||
	    (r = sshx_buf_put_cstring(msg, SSHX_EXT_QUERY)) != 0)
		goto out;
	for (i = 0; i < sizeof(extensions) / sizeof(*extensions); i++)
		if ((r = sshx_buf_put_cstring(msg, extensions[i])) != 0)
			goto out;
	send_msg(c, msg);
 out:
	if (r != 0)
		send_status(c, SSH_AGENT_EXTENSION_FAILURE);
	sshx_buf_free(msg);
}

/* status@sshx: byte locked, uint32 identities, string version. */
static void
process_ext_status(struct agent *ag, struct conn *c, struct sshx_buf *m)
{
	struct sshx_buf *msg;
	int r = SSHX_ERR_ALLOC;

	if (sshx_buf_len(m) != 0) {
		send_status(c, SSH_AGENT_EXTENSION_FAILURE);
		return;
	}
	if ((msg = sshx_buf_new()) == NULL)
		goto out;
	if ((r = sshx_buf_put_u8(msg, SSH_AGENT_EXTENSION_RESPONSE)) != 0 ||
	    (r = sshx_buf_put_cstring(msg, "status@sshx")) != 0 ||
	    (r = sshx_buf_put_u8(msg, ag->locked ? 1 : 0)) != 0 ||
	    (r = sshx_buf_put_u32(msg, (uint32_t)idtab_count(ag->idtab))) != 0 ||
	    (r = sshx_buf_put_cstring(msg, PACKAGE_VERSION)) != 0)
		goto out;
	send_msg(c, msg);
 out:
	if (r != 0)
		send_status(c, SSH_AGENT_EXTENSION_FAILURE);
	sshx_buf_free(msg);
}

static void
process_extension(struct agent *ag, struct conn *c, struct sshx_buf *m)
{
	char *name = NULL;
	size_t len;

	if (sshx_buf_get_cstring(m, &name, &len) != 0 || len == 0 ||
	    len > SSHX_AGENT_MAX_EXT_NAME) {
		sshx_log_info("conn %lu: malformed extension request", c->serial);
		send_status(c, SSH_AGENT_FAILURE);
		goto out;
	}
	if (strcmp(name, SSHX_EXT_QUERY) == 0)
		process_ext_query(c, m);
	else if (strcmp(name, "status@sshx") == 0)
		process_ext_status(ag, c, m);
	else if (ag->locked) {
		sshx_log_info("extension %s refused: agent is locked", name);
		send_status(c, SSH_AGENT_FAILURE);
	} else if (strcmp(name, SSHX_EXT_SESSION_BIND) == 0)
		process_ext_session_bind(ag, c, m);
	else {
		/* Unsupported extensions get a plain FAILURE (RFC 9987). */
		sshx_log_debug("conn %lu: unsupported extension", c->serial);
		send_status(c, SSH_AGENT_FAILURE);
	}
 out:
	free(name);
}

/* ---- dispatch ---- */

void
dispatch_message(struct agent *ag, struct conn *c, const uint8_t *p, size_t len)
{
	struct sshx_buf *m;
	uint8_t type;

	if (len == 0 || (m = sshx_buf_from(p + 1, len - 1)) == NULL) {
		send_status(c, SSH_AGENT_FAILURE);
		return;
	}
	type = p[0];
	/* Policy gate: a locked agent answers only listing, unlock and extensions. */
	if (ag->locked && type != SSH_AGENTC_UNLOCK &&
	    type != SSH_AGENTC_REQUEST_IDENTITIES && type != SSH_AGENTC_EXTENSION) {
		sshx_log_info("conn %lu: request %u refused: agent is locked",
		    c->serial, type);
		send_status(c, SSH_AGENT_FAILURE);
		sshx_buf_free(m);
		return;
	}
	switch (type) {
	case SSH_AGENTC_REQUEST_IDENTITIES:
		process_request_identities(ag, c);
		break;
	case SSH_AGENTC_SIGN_REQUEST:
		process_sign_request(ag, c, m);
		break;
	case SSH_AGENTC_ADD_IDENTITY:
		process_add_identity(ag, c, m, 0);
		break;
	case SSH_AGENTC_ADD_ID_CONSTRAINED:
		process_add_identity(ag, c, m, 1);
		break;
	case SSH_AGENTC_REMOVE_IDENTITY:
		process_remove_identity(ag, c, m);
		break;
	case SSH_AGENTC_REMOVE_ALL_IDENTITIES:
		process_remove_all(ag, c);
		break;
	case SSH_AGENTC_LOCK:
		process_lock(ag, c, m, 0);
		break;
	case SSH_AGENTC_UNLOCK:
		process_lock(ag, c, m, 1);
		break;
	case SSH_AGENTC_EXTENSION:
		process_extension(ag, c, m);
		break;
	case SSH_AGENTC_ADD_SMARTCARD_KEY:
	case SSH_AGENTC_REMOVE_SMARTCARD_KEY:
	case SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED:
		sshx_log_info("conn %lu: PKCS#11 keys are not supported", c->serial);
		send_status(c, SSH_AGENT_FAILURE);
		break;
	default:
		sshx_log_info("conn %lu: unknown request type %u", c->serial, type);
		send_status(c, SSH_AGENT_FAILURE);
		break;
	}
	sshx_buf_free(m);
}

void
dispatch_input(struct agent *ag, struct conn *c)
{
	const uint8_t *p;
	uint8_t *w;
	uint32_t len;

	while (!c->dead && !conn_busy(c) &&
	    sshx_buf_len(c->out) < CONN_OUT_HIGH_WATER &&
	    sshx_buf_len(c->in) >= 4) {
		p = sshx_buf_ptr(c->in);
		len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3];
		if (len > SSHX_AGENT_MAX_FRAME) {
			sshx_log_warn("conn %lu: frame of %u bytes is over the "
			    "%u-byte limit; closing", c->serial, len,
			    SSHX_AGENT_MAX_FRAME);
			c->dead = 1;
			return;
		}
		if (sshx_buf_len(c->in) - 4 < len)
			return;		/* wait for the rest */
		dispatch_message(ag, c, p + 4, len);
		/* Requests may carry private keys or passphrases: wipe them. */
		if ((w = sshx_buf_mutable_ptr(c->in)) != NULL)
			explicit_bzero(w, 4 + (size_t)len);
		if (sshx_buf_consume(c->in, 4 + (size_t)len) != 0) {
			c->dead = 1;
			return;
		}
	}
}
