/* What the host-key commands share: the database path, opening it, auditing, matching hosts. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "fs.h"
#include "kh.h"
#include "store.h"
#include "sshxctl.h"

int
ctl_db_path(const struct globals *g, char *out, size_t len)
{
	/* g->db already holds $SSHX_DB unless --db overrode it; agentd resolves alike. */
	return sshx_fs_db_path(g->db, out, len);
}

int
ctl_store_open(const struct globals *g, const char *what, int create,
    struct sshx_store **sp, char *path, size_t pathlen, int *createdp)
{
	char why[PATH_MAX + 256] = "";
	int r;

	*sp = NULL;
	if (createdp != NULL)
		*createdp = 0;
	if ((r = ctl_db_path(g, path, pathlen)) != 0) {
		ctl_error(what, "no database path: set --db or SSHX_DB, or HOME");
		return EXIT_USAGE;
	}
	ctl_verbose(g, "%s: database %s", what, path);
	if (create && createdp != NULL && access(path, F_OK) == -1 && errno == ENOENT)
		*createdp = 1;
	if ((r = sshx_store_open(path, create ? SSHX_STORE_CREATE : 0, sp, why,
	    sizeof(why))) != 0) {
		if (createdp != NULL)
			*createdp = 0;
		if (r == SSHX_ERR_NOT_FOUND)
			ctl_error(what, "no host database at %s (pin hosts first with "
			    "sshxctl hosts import or hosts add)", path);
		else
			ctl_error(what, "%s", why[0] ? why : sshx_strerror(r));
		return ctl_exit_code(r);
	}
	return 0;
}

void
ctl_store_discard_new(const char *path)
{
	static const char *const suffixes[] = { "-wal", "-shm", "" };
	char p[PATH_MAX];
	size_t i;

	/* The database did not exist before this failed command: leave no trace of it. */
	for (i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++)
		if (snprintf(p, sizeof(p), "%s%s", path, suffixes[i]) < (int)sizeof(p))
			(void)unlink(p);
}

int
ctl_store_error(const char *what, struct sshx_store *s, int r)
{
	if (r == SSHX_ERR_BUSY)
		ctl_error(what, "the host database is busy (another sshxctl is "
		    "writing); try again");
	else if (r == SSHX_ERR_SYSTEM)
		/* errno is long gone by now; the database kept its own. */
		ctl_error(what, "database: %s (%s)", sshx_store_system_error(s),
		    sshx_store_errmsg(s));
	else
		ctl_error(what, "database: %s (%s)", sshx_strerror(r),
		    sshx_store_errmsg(s));
	return ctl_exit_code(r);
}

int
ctl_audit(struct sshx_store *s, const char *action, const char *host,
    const char *fingerprint, const char *detail)
{
	struct sshx_store_audit a = {
		.actor = "sshxctl",
		.action = action,
		.host = host,
		.fingerprint = fingerprint,
		.detail = detail,
		.result = "ok",
	};

	return sshx_store_audit(s, &a);
}

void
ctl_audit_change(const struct globals *g, const char *what, const char *action,
    const char *fingerprint, const char *detail)
{
	struct sshx_store *s = NULL;
	char path[PATH_MAX], why[PATH_MAX + 256] = "";
	int r;

	if ((r = ctl_db_path(g, path, sizeof(path))) == 0 &&
	    (r = sshx_store_open(path, SSHX_STORE_CREATE, &s, why,
	    sizeof(why))) == 0 &&
	    (r = sshx_store_begin(s)) == 0 &&
	    (r = ctl_audit(s, action, NULL, fingerprint, detail)) == 0 &&
	    (r = sshx_store_commit(s)) == 0) {
		sshx_store_close(s);
		return;
	}
	fprintf(stderr, "sshxctl: %s: warning: done, but not recorded in the "
	    "audit log: %s\n", what, why[0] ? why : s != NULL ?
	    sshx_store_errmsg(s) : sshx_strerror(r));
	sshx_store_close(s);
}

/* Returns 1 when a pattern has no wildcard, negation or list: a literal host. */
static int
pattern_is_literal(const char *pattern)
{
	return strpbrk(pattern, "*?!,") == NULL;
}

int
ctl_host_filter_check(const char *what, const char *pattern)
{
	const unsigned char *p;

	if (*pattern == '\0' || strlen(pattern) > 4096) {
		ctl_error(what, "a host pattern must have 1 to 4096 characters");
		return -1;
	}
	for (p = (const unsigned char *)pattern; *p != '\0'; p++) {
		if (*p <= ' ' || *p >= 0x7f || *p == '#' || *p == '|' || *p == '@') {
			ctl_error(what, "host pattern contains a character that "
			    "cannot be in a host name (0x%02x)", *p);
			return -1;
		}
	}
	return 0;
}

int
ctl_host_filter_match(struct sshx_kh_hasher *hs, const char *pattern,
    const char *name, int port, int hashed)
{
	struct sshx_kh_host h;

	if (pattern == NULL)
		return 1;
	if (hashed) {
		/* A hashed name can only be recognised by hashing a literal candidate. */
		if (!pattern_is_literal(pattern) ||
		    sshx_kh_parse_host_arg(pattern, &h, NULL, 0) != 0)
			return 0;
		return sshx_kh_hashed_matches(hs, name, h.name, h.port);
	}
	/* Without brackets a pattern names hosts on any port. */
	if (pattern[0] != '[')
		return sshx_kh_match_patterns(pattern, name, 22);
	return sshx_kh_match_patterns(pattern, name, port);
}

struct hashed_find {
	struct sshx_kh_hasher *hs;
	const struct sshx_kh_host *want;
	int64_t last_checked;
	int64_t found;
};

/* Stops at the first hashed host whose name is the hash of the wanted host. */
static int
hashed_find_cb(const struct sshx_store_key *k, void *arg)
{
	struct hashed_find *f = arg;

	if (k->host_id == f->last_checked)
		return 0;
	f->last_checked = k->host_id;
	if (sshx_kh_hashed_matches(f->hs, k->host, f->want->name, f->want->port)) {
		f->found = k->host_id;
		return 1;
	}
	return 0;
}

int
ctl_resolve_host(struct sshx_store *s, const struct sshx_kh_host *h, int64_t *idp)
{
	struct hashed_find f = { .want = h };
	int r;

	*idp = 0;
	if ((r = sshx_store_find_host(s, h->name, h->port, idp)) != SSHX_ERR_NOT_FOUND)
		return r;
	if ((f.hs = sshx_kh_hasher_new()) == NULL)
		return SSHX_ERR_ALLOC;
	r = sshx_store_foreach_hashed_key(s, hashed_find_cb, &f);
	sshx_kh_hasher_free(f.hs);
	if (r < 0)
		return r;
	if (f.found == 0)
		return SSHX_ERR_NOT_FOUND;
	*idp = f.found;
	return 0;
}

const char *
ctl_iso_time(int64_t t, char out[static 32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%lld", (long long)t);
	return out;
}

int
ctl_parse_duration(const char *s, int64_t *secondsp)
{
	unsigned long long n;
	unsigned long mult;
	char *e;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoull(s, &e, 10);
	if (errno != 0 || e == s)
		return -1;
	if (*e == '\0' && n == 0) {
		*secondsp = 0;
		return 0;
	}
	if (e[0] == '\0' || e[1] != '\0' || strchr("smhdw", e[0]) == NULL)
		return -1;
	mult = e[0] == 's' ? 1 : e[0] == 'm' ? 60 : e[0] == 'h' ? 3600 :
	    e[0] == 'd' ? 86400 : 604800;
	/* Ten years at most: anything longer is a typo. */
	if (n > 10ULL * 366 * 86400 / mult)
		return -1;
	*secondsp = (int64_t)(n * mult);
	return 0;
}
