/*
 * The host store (store.h): an SQLite database opened only when it is a
 * private regular file, recognised by its application_id, brought to the
 * current schema in one transaction, and used only through statements
 * prepared once per connection.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gcrypt.h>
#include <sqlite3.h>

#include "err.h"
#include "fs.h"
#include "kh.h"
#include "schema.h"
#include "store.h"

#define STORE_APP_ID		0x73736878	/* "sshx" */
#define STORE_BUSY_MS		10000
#define STORE_WAL_RETRY_MS	5	/* pause between attempts to switch to WAL */
#define STORE_HASH_KEY_NAME	"hash-key"
#define STORE_RETENTION_NAME	"audit-retention"
/*
 * A page cache of up to 64 MiB (SQLite's default is 2 MiB), filled only as
 * pages are used: a large import then stops spilling to the WAL and reading
 * its own pages back (a million keys in one transaction: about twice as
 * fast).
 */
#define STORE_CACHE_PRAGMA	"PRAGMA cache_size = -65536"

/* The statements of a connection, all prepared at open. */
enum stmt_id {
	ST_BEGIN_WRITE,
	ST_BEGIN_READ,
	ST_SNAPSHOT,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_HASH_KEY,
	ST_HOST_FIND,
	ST_HOST_ADD,
	ST_HOST_REMOVE,
	ST_HOST_REMOVE_EMPTY,
	ST_KEY_SAME,
	ST_KEY_OTHER,
	ST_KEY_ADD,
	ST_KEY_STATE,
	ST_KEY_HOST,
	ST_KEY_REMOVE,
	ST_KEY_TOUCH,
	ST_KEY_RETIRE,
	ST_KEY_FINALIZE,
	ST_KEYS_ALL,
	ST_KEYS_HOST,
	ST_KEYS_HASHED,
	ST_KEYS_FP,
	ST_PAT_ADD,
	ST_PAT_REMOVE,
	ST_PAT_ALL,
	ST_AUDIT,
	ST_AUDIT_PRUNE,
	ST_RETENTION_GET,
	ST_RETENTION_SET,
	ST_AUDIT_SINCE,
	ST_AUDIT_KEY_SINCE,
	ST_KEY_COUNT,
	ST_COUNT_
};

/*
 * The columns key_from_row reads, in its order. "hashed" is read as port 0,
 * which the hosts CHECK makes equivalent.
 */
/*
 * A pinned key whose retire_at has passed counts as revoked everywhere,
 * without anything having to write that down first.
 */
#define KEY_STATE \
	"CASE WHEN k.state = 'pinned' AND k.retire_at IS NOT NULL AND " \
	"k.retire_at <= CAST(strftime('%s', 'now') AS INTEGER) " \
	"THEN 'revoked' ELSE k.state END"
#define KEY_PINNED \
	"k.state = 'pinned' AND (k.retire_at IS NULL OR " \
	"k.retire_at > CAST(strftime('%s', 'now') AS INTEGER))"
/*
 * The columns key_from_row reads, in its order. "hashed" is read as port 0,
 * which the hosts CHECK makes equivalent.
 */
#define KEY_COLUMNS \
	"SELECT k.id, k.host_id, k.name, k.port, k.port = 0, k.type, k.blob, " \
	"k.fingerprint, " KEY_STATE ", k.source, k.added, k.last_verified, " \
	"k.retire_at "
/*
 * host_keys is clustered on exactly this order, so listings stream in one
 * sequential scan without a sort. Name order is export order because hashed
 * names begin with '|' and add_host keeps every plain name below '|' in its
 * first byte: plain hosts by name and port come first, then the hashed ones
 * by name (their port is always 0).
 */
#define KEY_ORDER \
	"ORDER BY k.name, k.port, k.type_rank, k.added, k.id"
/* The keys of the host whose hosts.id is ?1, through the clustering key. */
#define KEYS_OF_HOST \
	"FROM hosts AS h CROSS JOIN host_keys AS k " \
	"ON k.name = h.name AND k.port = h.port WHERE h.id = ?1 "
#define HASHED_FIRST	'|'

static const char *const stmt_sql[ST_COUNT_] = {
	[ST_BEGIN_WRITE] = "BEGIN IMMEDIATE",
	[ST_BEGIN_READ] = "BEGIN DEFERRED",
	/* Any read fixes the snapshot of a deferred transaction. */
	[ST_SNAPSHOT] = "SELECT 1 FROM meta LIMIT 1",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_HASH_KEY] = "SELECT value FROM meta WHERE name = '" STORE_HASH_KEY_NAME "'",
	[ST_HOST_FIND] = "SELECT id FROM hosts WHERE name = ?1 AND port = ?2",
	[ST_HOST_ADD] = "INSERT INTO hosts (name, port, hashed, added) "
	    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name, port) DO NOTHING",
	[ST_HOST_REMOVE] = "DELETE FROM hosts WHERE id = ?1",
	[ST_HOST_REMOVE_EMPTY] = "DELETE FROM hosts WHERE id = ?1 AND "
	    "NOT EXISTS (SELECT 1 FROM host_keys AS k "
	    "WHERE k.name = hosts.name AND k.port = hosts.port)",
	[ST_KEY_SAME] = "SELECT k.id, " KEY_STATE " " KEYS_OF_HOST "AND k.blob = ?2",
	[ST_KEY_OTHER] = "SELECT k.id, k.fingerprint " KEYS_OF_HOST
	    "AND k.type = ?2 AND " KEY_PINNED " AND k.blob <> ?3 "
	    "ORDER BY k.type_rank, k.added, k.id LIMIT 1",
	/* A key's id: one more than the largest, found through its index. */
	[ST_KEY_ADD] = "INSERT INTO host_keys (name, port, type_rank, added, id, "
	    "host_id, type, blob, fingerprint, state, source) "
	    "SELECT h.name, h.port, ?3, ?8, "
	    "(SELECT ifnull(max(id), 0) + 1 FROM host_keys), h.id, ?2, ?4, ?5, "
	    "?6, ?7 FROM hosts AS h WHERE h.id = ?1",
	[ST_KEY_STATE] = "UPDATE host_keys SET state = ?2 WHERE id = ?1",
	[ST_KEY_HOST] = "SELECT host_id FROM host_keys WHERE id = ?1",
	[ST_KEY_REMOVE] = "DELETE FROM host_keys WHERE id = ?1",
	[ST_KEY_TOUCH] = "UPDATE host_keys SET last_verified = ?2 WHERE id = ?1",
	[ST_KEY_RETIRE] = "UPDATE host_keys SET retire_at = ?2 WHERE id = ?1",
	/* Makes every retirement of a host (due or not) final. */
	[ST_KEY_FINALIZE] = "UPDATE host_keys SET state = 'revoked', retire_at = NULL "
	    "WHERE id IN (SELECT k.id " KEYS_OF_HOST "AND k.state = 'pinned' "
	    "AND k.retire_at IS NOT NULL)",
	[ST_KEYS_ALL] = KEY_COLUMNS "FROM host_keys AS k " KEY_ORDER,
	[ST_KEYS_HOST] = KEY_COLUMNS KEYS_OF_HOST
	    "ORDER BY k.type_rank, k.added, k.id",
	/* The hashed names are the tail of the clustering key, from '|' on. */
	[ST_KEYS_HASHED] = KEY_COLUMNS "FROM host_keys AS k WHERE k.name >= '|' "
	    KEY_ORDER,
	/* A scan in clustering order: no index serves this rare question. */
	[ST_KEYS_FP] = KEY_COLUMNS "FROM host_keys AS k WHERE k.fingerprint = ?1 "
	    KEY_ORDER,
	[ST_PAT_ADD] = "INSERT INTO patterns (marker, pattern, type, blob, "
	    "fingerprint, source, added) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_PAT_REMOVE] = "DELETE FROM patterns WHERE marker = ?1 AND pattern = ?2",
	/* 'cert-authority' sorts before 'revoked', so CA entries come first. */
	[ST_PAT_ALL] = "SELECT id, marker, pattern, type, blob, fingerprint, "
	    "source, added FROM patterns "
	    "ORDER BY marker, pattern, sshx_type_rank(type), fingerprint, id",
#define AUDIT_COLUMNS \
	"SELECT id, time, actor, uid, pid, exe, action, host, fingerprint, " \
	"detail, result, kind, peer_user, peer_host_key, namespace, forwarded " \
	"FROM audit "
	[ST_AUDIT_SINCE] = AUDIT_COLUMNS "WHERE time >= ?1 ORDER BY time, id",
	/* Through audit_by_fingerprint: one key's rows without a scan of all. */
	[ST_AUDIT_KEY_SINCE] = AUDIT_COLUMNS "WHERE fingerprint = ?2 AND "
	    "time >= ?1 ORDER BY time, id",
	/* Rows older than the retention (seconds, in meta) go; none without a setting. */
	[ST_AUDIT_PRUNE] = "DELETE FROM audit WHERE time < ?1 - (SELECT value FROM meta "
	    "WHERE name = '" STORE_RETENTION_NAME "' AND value > 0)",
	[ST_KEY_COUNT] = "SELECT count(*) FROM host_keys",
	[ST_RETENTION_GET] = "SELECT value FROM meta WHERE name = '"
	    STORE_RETENTION_NAME "'",
	[ST_RETENTION_SET] = "INSERT INTO meta (name, value) VALUES ('"
	    STORE_RETENTION_NAME "', ?1) ON CONFLICT (name) DO UPDATE SET value = ?1",
	[ST_AUDIT] = "INSERT INTO audit (time, actor, uid, pid, exe, action, "
	    "host, fingerprint, detail, result, kind, peer_user, peer_host_key, "
	    "namespace, forwarded) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
	    "?10, ?11, ?12, ?13, ?14, ?15)",
};

struct sshx_store {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT_];
};

/* Maps an (extended) SQLite result code to an SSHX_ERR_* code. */
static int
map_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return SSHX_ERR_BUSY;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return SSHX_ERR_TAMPERED;
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_PERM:
		return SSHX_ERR_SYSTEM;
	case SQLITE_NOMEM:
		return SSHX_ERR_ALLOC;
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
			return SSHX_ERR_EXISTS;
		return SSHX_ERR_INTERNAL;
	default:
		return SSHX_ERR_INTERNAL;
	}
}

static const char *
state_name(enum sshx_store_state state)
{
	switch (state) {
	case SSHX_STORE_PINNED:
		return "pinned";
	case SSHX_STORE_REVOKED:
		return "revoked";
	}
	return NULL;
}

/* Reads a stored state; 0 for text this build does not write. */
static enum sshx_store_state
state_parse(const unsigned char *t)
{
	if (t != NULL && strcmp((const char *)t, "pinned") == 0)
		return SSHX_STORE_PINNED;
	if (t != NULL && strcmp((const char *)t, "revoked") == 0)
		return SSHX_STORE_REVOKED;
	return 0;
}

static const char *
marker_name(enum sshx_store_marker marker)
{
	switch (marker) {
	case SSHX_STORE_MARK_CA:
		return "cert-authority";
	case SSHX_STORE_MARK_REVOKED:
		return "revoked";
	}
	return NULL;
}

static enum sshx_store_marker
marker_parse(const unsigned char *t)
{
	if (t != NULL && strcmp((const char *)t, "cert-authority") == 0)
		return SSHX_STORE_MARK_CA;
	if (t != NULL && strcmp((const char *)t, "revoked") == 0)
		return SSHX_STORE_MARK_REVOKED;
	return 0;
}

/* ---- statements ---- */

/* A statement of this build that does not prepare: the tables were changed. */
static int
prepare_error(int rc)
{
	return (rc & 0xff) == SQLITE_ERROR ? SSHX_ERR_TAMPERED : map_rc(rc);
}

/*
 * Hands out statement id ready for binding. When the connection's copy is
 * still stepping (a callback calling back into the store), a fresh one is
 * prepared instead; stmt_put finalizes it.
 */
static int
stmt_get(struct sshx_store *s, enum stmt_id id, sqlite3_stmt **stp)
{
	int rc;

	*stp = NULL;
	/* Prepared on first use and kept: a short command pays only for what it runs. */
	if (s->st[id] == NULL) {
		if ((rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[id], NULL)) != SQLITE_OK) {
			sqlite3_finalize(s->st[id]);
			s->st[id] = NULL;
			return prepare_error(rc);
		}
	}
	if (!sqlite3_stmt_busy(s->st[id])) {
		*stp = s->st[id];
		return 0;
	}
	/* In use by a caller further up (a callback calling back in): a one-off copy. */
	if ((rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, 0, stp, NULL)) != SQLITE_OK) {
		sqlite3_finalize(*stp);
		*stp = NULL;
		return prepare_error(rc);
	}
	return 0;
}

/* Resets a statement and drops its bindings (which may point at the caller's memory). */
static void
stmt_put(struct sshx_store *s, enum stmt_id id, sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	if (st != s->st[id]) {
		sqlite3_finalize(st);
		return;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Steps a statement that returns no rows (or whose rows do not matter). */
static int
stmt_run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : map_rc(rc);
}

/* Runs a statement without parameters, such as BEGIN or COMMIT. */
static int
simple_run(struct sshx_store *s, enum stmt_id id)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = stmt_get(s, id, &st)) == 0)
		r = stmt_run(st);
	stmt_put(s, id, st);
	return r;
}

/* Binds a blob that stays valid until stmt_put (zero length binds an empty blob, not NULL). */
static int
bind_blob(sqlite3_stmt *st, int i, const uint8_t *blob, size_t len)
{
	if (len == 0)
		return sqlite3_bind_zeroblob(st, i, 0);
	return sqlite3_bind_blob64(st, i, blob, (sqlite3_uint64)len, SQLITE_STATIC);
}

static int
bind_text(sqlite3_stmt *st, int i, const char *text)
{
	return sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
}

/* ---- opening ---- */

/* Creates the empty database file 0600 (its directory 0700) so that SQLite never picks its mode. */
static int
create_file(const char *path, char *why, size_t whylen)
{
	char *dir = NULL, *slash;
	int r, fd = -1, e;

	if ((dir = strdup(path)) == NULL)
		return SSHX_ERR_ALLOC;
	if ((slash = strrchr(dir, '/')) == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((r = sshx_fs_mkdir_private(dir, why, whylen)) != 0)
		goto out;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY, 0600);
	if (fd == -1) {
		/* Created by someone else meanwhile: the caller checks it like any other. */
		if (errno == EEXIST) {
			r = 0;
			goto out;
		}
		e = errno;
		sshx_why(why, whylen, "cannot create %s: %s", path, strerror(e));
		errno = e;
		r = SSHX_ERR_SYSTEM;
		goto out;
	}
	if (fchmod(fd, 0600) == -1) {
		e = errno;
		sshx_why(why, whylen, "cannot chmod 600 %s: %s", path, strerror(e));
		(void)unlink(path);
		errno = e;
		r = SSHX_ERR_SYSTEM;
		goto out;
	}
	r = 0;
 out:
	if (fd != -1)
		(void)close(fd);
	free(dir);
	return r;
}

/*
 * Checks the file at path before SQLite sees it (creating it with
 * SSHX_STORE_CREATE): a regular file, not a symlink, owned by us and closed
 * to group and others. Fills *st with what was checked.
 */
static int
check_file(const char *path, int flags, struct stat *st, char *why, size_t whylen)
{
	int r, tries;

	for (tries = 0; lstat(path, st) == -1; tries++) {
		if (errno != ENOENT || tries > 0) {
			sshx_why(why, whylen, "cannot stat %s: %s", path, strerror(errno));
			return SSHX_ERR_SYSTEM;
		}
		if ((flags & SSHX_STORE_CREATE) == 0) {
			sshx_why(why, whylen, "no host database at %s", path);
			return SSHX_ERR_NOT_FOUND;
		}
		if ((r = create_file(path, why, whylen)) != 0)
			return r;
	}
	if (S_ISLNK(st->st_mode)) {
		sshx_why(why, whylen, "%s is a symlink; refusing to open it", path);
		return SSHX_ERR_UNSAFE_FILE;
	}
	if (!S_ISREG(st->st_mode)) {
		sshx_why(why, whylen, "%s is not a regular file", path);
		return SSHX_ERR_UNSAFE_FILE;
	}
	if (st->st_uid != geteuid()) {
		sshx_why(why, whylen, "%s is owned by uid %lu, not by you (uid %lu); "
		    "fix with: sshxctl perms fix %s", path, (unsigned long)st->st_uid,
		    (unsigned long)geteuid(), path);
		return SSHX_ERR_UNSAFE_FILE;
	}
	if ((st->st_mode & 077) != 0) {
		sshx_why(why, whylen, "%s has mode %04o, open to group or others; "
		    "fix with: sshxctl perms fix %s", path,
		    (unsigned int)(st->st_mode & 07777), path);
		return SSHX_ERR_UNSAFE_FILE;
	}
	return 0;
}

/* Runs constant SQL (settings, migrations); returns an SQLite result code. */
static int
exec_sql(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* Sets why for a failure of the connection and returns the mapped code. */
static int
db_fail(sqlite3 *db, int rc, const char *path, const char *what, char *why,
    size_t whylen)
{
	int r = map_rc(rc);

	if (r == SSHX_ERR_TAMPERED)
		sshx_why(why, whylen, "%s is not an sshx database (or is damaged)", path);
	else if (r == SSHX_ERR_BUSY)
		sshx_why(why, whylen, "%s: %s: the database stayed busy: %s", path,
		    what, sqlite3_errmsg(db));
	else
		sshx_why(why, whylen, "%s: %s: %s", path, what, sqlite3_errmsg(db));
	return r != 0 ? r : SSHX_ERR_INTERNAL;
}

/*
 * Reads what identifies the database and refuses one that is not ours or is
 * newer than this build; *versionp gets its schema version. Only reads.
 */
static int
identify(sqlite3 *db, const char *path, int64_t *versionp, char *why,
    size_t whylen)
{
	int64_t app, version, ntables;
	sqlite3_stmt *st = NULL;
	int rc;

	*versionp = 0;
	/* One statement, one snapshot: a migration may commit between two. */
	if ((rc = sqlite3_prepare_v2(db, "SELECT "
	    "(SELECT application_id FROM pragma_application_id), "
	    "(SELECT user_version FROM pragma_user_version), "
	    "(SELECT count(*) FROM sqlite_master)", -1, &st, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return db_fail(db, rc, path, "cannot read the database header", why, whylen);
	}
	app = sqlite3_column_int64(st, 0);
	version = sqlite3_column_int64(st, 1);
	ntables = sqlite3_column_int64(st, 2);
	sqlite3_finalize(st);
	/* Version 0 -> 1 sets application_id and user_version in one transaction. */
	if ((app != STORE_APP_ID && (app != 0 || version != 0 || ntables != 0)) ||
	    (version == 0 && ntables != 0) || version < 0) {
		sshx_why(why, whylen, "%s is an SQLite database but not an sshx one", path);
		return SSHX_ERR_TAMPERED;
	}
	if (version > (int64_t)sshx_schema_count) {
		sshx_why(why, whylen, "database %s has schema version %lld; this sshx "
		    "knows up to %zu (upgrade sshx)", path, (long long)version,
		    sshx_schema_count);
		return SSHX_ERR_VERSION;
	}
	*versionp = version;
	return 0;
}

/* Applies the missing migrations and makes the hash key, all in one write transaction. */
static int
migrate(sqlite3 *db, const char *path, char *why, size_t whylen)
{
	uint8_t key[SSHX_STORE_HASH_KEY_LEN];
	sqlite3_stmt *st = NULL;
	char sql[64];
	int64_t version;
	size_t i;
	int r, rc;

	if ((rc = exec_sql(db, "BEGIN IMMEDIATE")) != SQLITE_OK) {
		r = db_fail(db, rc, path, "cannot start the schema migration", why, whylen);
		goto out;
	}
	/* Another process may have migrated while we waited for the lock. */
	if ((r = identify(db, path, &version, why, whylen)) != 0)
		goto out;
	for (i = (size_t)version; i < sshx_schema_count; i++) {
		if (sshx_schema_migrations[i].version != (int)i + 1) {
			sshx_why(why, whylen, "schema migration %zu is missing", i + 1);
			r = SSHX_ERR_INTERNAL;
			goto out;
		}
		if ((rc = exec_sql(db, sshx_schema_migrations[i].sql)) != SQLITE_OK) {
			r = db_fail(db, rc, path, sshx_schema_migrations[i].name,
			    why, whylen);
			goto out;
		}
	}
	/* Numbers from this build, never from input. */
	if (version == 0) {
		(void)snprintf(sql, sizeof(sql), "PRAGMA application_id = %ld",
		    (long)STORE_APP_ID);
		if ((rc = exec_sql(db, sql)) != SQLITE_OK) {
			r = db_fail(db, rc, path, "cannot set the application id", why, whylen);
			goto out;
		}
	}
	(void)snprintf(sql, sizeof(sql), "PRAGMA user_version = %zu", sshx_schema_count);
	if ((rc = exec_sql(db, sql)) != SQLITE_OK) {
		r = db_fail(db, rc, path, "cannot set the schema version", why, whylen);
		goto out;
	}
	gcry_randomize(key, sizeof(key), GCRY_STRONG_RANDOM);
	if ((rc = sqlite3_prepare_v2(db, "INSERT INTO meta (name, value) VALUES ('"
	    STORE_HASH_KEY_NAME "', ?1) ON CONFLICT (name) DO NOTHING", -1, &st,
	    NULL)) != SQLITE_OK ||
	    (rc = sqlite3_bind_blob(st, 1, key, sizeof(key), SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_step(st)) != SQLITE_DONE) {
		r = db_fail(db, rc, path, "cannot store the hash key", why, whylen);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((rc = exec_sql(db, "COMMIT")) != SQLITE_OK) {
		r = db_fail(db, rc, path, "cannot commit the schema migration", why, whylen);
		goto out;
	}
	r = 0;
 out:
	sqlite3_finalize(st);
	explicit_bzero(key, sizeof(key));
	if (!sqlite3_get_autocommit(db))
		(void)exec_sql(db, "ROLLBACK");
	return r;
}

/* SQL function sshx_type_rank(type): the export order of a key type (sshx_kh_type_rank). */
static void
sql_type_rank(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	sqlite3_result_int(ctx,
	    sshx_kh_type_rank((const char *)sqlite3_value_text(argv[0])));
}

/* Sets the connection's safety options; none of them touches the file. */
static int
configure_connection(sqlite3 *db)
{
	int rc;

	sqlite3_extended_result_codes(db, 1);
	if ((rc = sqlite3_busy_timeout(db, STORE_BUSY_MS)) != SQLITE_OK ||
	    (rc = sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1,
	    (int *)NULL)) != SQLITE_OK ||
	    (rc = exec_sql(db, "PRAGMA trusted_schema = OFF")) != SQLITE_OK ||
	    (rc = exec_sql(db, "PRAGMA foreign_keys = ON")) != SQLITE_OK ||
	    (rc = exec_sql(db, STORE_CACHE_PRAGMA)) != SQLITE_OK)
		return rc;
	return sqlite3_create_function_v2(db, "sshx_type_rank", 1, SQLITE_UTF8 |
	    SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, NULL, sql_type_rank,
	    NULL, NULL, NULL);
}

/* Milliseconds since an earlier CLOCK_MONOTONIC reading. */
static long
ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - t0->tv_sec) * 1000 +
	    (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * Switches to WAL (a write to a new database's header) and full syncs.
 * Processes that open a new database together can hold each other off in
 * the switch, and SQLite then answers BUSY at once instead of calling the
 * busy handler, so BUSY is retried here for as long as the busy timeout.
 */
static int
set_journal(sqlite3 *db, const char *path, char *why, size_t whylen)
{
	const struct timespec pause = { 0, STORE_WAL_RETRY_MS * 1000000L };
	const unsigned char *mode;
	sqlite3_stmt *st = NULL;
	struct timespec t0;
	int rc, r = 0;

	if ((rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st,
	    NULL)) != SQLITE_OK) {
		r = db_fail(db, rc, path, "cannot switch to WAL", why, whylen);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		if ((rc & 0xff) != SQLITE_BUSY || ms_since(&t0) > STORE_BUSY_MS) {
			r = db_fail(db, rc, path, "cannot switch to WAL", why, whylen);
			goto out;
		}
		sqlite3_reset(st);
		(void)nanosleep(&pause, NULL);
	}
	mode = sqlite3_column_text(st, 0);
	if (mode == NULL || sqlite3_stricmp((const char *)mode, "wal") != 0) {
		sshx_why(why, whylen, "%s: cannot switch to WAL (journal mode is %s)",
		    path, mode != NULL ? (const char *)mode : "unknown");
		r = SSHX_ERR_SYSTEM;
		goto out;
	}
	if ((rc = exec_sql(db, "PRAGMA synchronous = FULL")) != SQLITE_OK)
		r = db_fail(db, rc, path, "cannot set synchronous", why, whylen);
 out:
	sqlite3_finalize(st);
	return r;
}

int
sshx_store_open(const char *path, int flags, struct sshx_store **sp,
    char *why, size_t whylen)
{
	struct sshx_store *s = NULL;
	struct stat st, again;
	int64_t version;
	int r, rc;

	if (sp != NULL)
		*sp = NULL;
	if (why != NULL && whylen != 0)
		*why = '\0';
	if (sp == NULL || path == NULL || *path == '\0' ||
	    (flags & ~SSHX_STORE_CREATE) != 0) {
		sshx_why(why, whylen, "no database path given");
		return SSHX_ERR_INVALID_ARGUMENT;
	}
	if ((r = check_file(path, flags, &st, why, whylen)) != 0)
		return r;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		sshx_why(why, whylen, "out of memory");
		return SSHX_ERR_ALLOC;
	}
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX, NULL);
	if (s->db == NULL) {
		sshx_why(why, whylen, "out of memory");
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	if (rc != SQLITE_OK) {
		r = db_fail(s->db, rc, path, "cannot open", why, whylen);
		goto out;
	}
	/* SQLite holds the file open now: it must be the one that was checked. */
	if (lstat(path, &again) == -1 || again.st_dev != st.st_dev ||
	    again.st_ino != st.st_ino) {
		sshx_why(why, whylen, "%s changed while it was being opened", path);
		r = SSHX_ERR_UNSAFE_FILE;
		goto out;
	}
	if ((rc = configure_connection(s->db)) != SQLITE_OK) {
		r = db_fail(s->db, rc, path, "cannot configure the connection", why, whylen);
		goto out;
	}
	/* Identify before anything writes, so that a refused file stays as it was. */
	if ((r = identify(s->db, path, &version, why, whylen)) != 0 ||
	    (r = set_journal(s->db, path, why, whylen)) != 0)
		goto out;
	if (version < (int64_t)sshx_schema_count &&
	    (r = migrate(s->db, path, why, whylen)) != 0)
		goto out;
	*sp = s;
	s = NULL;	/* transferred */
	r = 0;
 out:
	sshx_store_close(s);
	return r;
}

void
sshx_store_close(struct sshx_store *s)
{
	size_t i;

	if (s == NULL)
		return;
	if (s->db != NULL) {
		for (i = 0; i < ST_COUNT_; i++)
			if (s->st[i] != NULL)
				sqlite3_reset(s->st[i]);
		if (!sqlite3_get_autocommit(s->db))
			(void)exec_sql(s->db, "ROLLBACK");
		for (i = 0; i < ST_COUNT_; i++)
			sqlite3_finalize(s->st[i]);
		(void)sqlite3_close(s->db);
	}
	free(s);
}

int
sshx_store_schema_version(void)
{
	return (int)sshx_schema_count;
}

/* ---- transactions ---- */

int
sshx_store_begin(struct sshx_store *s)
{
	if (s == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	return simple_run(s, ST_BEGIN_WRITE);
}

int
sshx_store_set_busy_timeout(struct sshx_store *s, int ms)
{
	if (s == NULL || ms < 0)
		return SSHX_ERR_INVALID_ARGUMENT;
	return sqlite3_busy_timeout(s->db, ms) == SQLITE_OK ? 0 : SSHX_ERR_INTERNAL;
}

int
sshx_store_set_sync(struct sshx_store *s, int full)
{
	if (s == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	/* Constant SQL only: nothing from the caller reaches it. */
	return exec_sql(s->db, full ? "PRAGMA synchronous = FULL" :
	    "PRAGMA synchronous = NORMAL") == SQLITE_OK ? 0 : SSHX_ERR_INTERNAL;
}

int
sshx_store_set_cache_kib(struct sshx_store *s, int kib)
{
	char sql[64];

	if (s == NULL || kib < 16 || kib > 1024 * 1024)
		return SSHX_ERR_INVALID_ARGUMENT;
	/* A number this function formatted: nothing from outside reaches the SQL. */
	snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d", kib);
	return exec_sql(s->db, sql) == SQLITE_OK ? 0 : SSHX_ERR_INTERNAL;
}

int
sshx_store_commit(struct sshx_store *s)
{
	int r;

	if (s == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	if ((r = simple_run(s, ST_COMMIT)) != 0)
		sshx_store_rollback(s);
	return r;
}

void
sshx_store_rollback(struct sshx_store *s)
{
	if (s == NULL || sqlite3_get_autocommit(s->db))
		return;
	(void)simple_run(s, ST_ROLLBACK);
}

int
sshx_store_begin_read(struct sshx_store *s)
{
	int r;

	if (s == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	if ((r = simple_run(s, ST_BEGIN_READ)) != 0)
		return r;
	if ((r = simple_run(s, ST_SNAPSHOT)) != 0)
		sshx_store_rollback(s);
	return r;
}

/*
 * Starts a write transaction for a change of several statements when the
 * caller has none; *ownp tells tx_end whether to finish it.
 */
static int
tx_begin(struct sshx_store *s, int *ownp)
{
	int r;

	*ownp = 0;
	if (!sqlite3_get_autocommit(s->db))
		return 0;
	if ((r = sshx_store_begin(s)) == 0)
		*ownp = 1;
	return r;
}

/* Commits (r == 0) or rolls back a transaction tx_begin started; returns the outcome. */
static int
tx_end(struct sshx_store *s, int own, int r)
{
	if (!own)
		return r;
	if (r != 0) {
		sshx_store_rollback(s);
		return r;
	}
	return sshx_store_commit(s);
}

const char *
sshx_store_system_error(const struct sshx_store *s)
{
	struct statvfs vfs;
	const char *path;
	int e;

	if (s == NULL || s->db == NULL)
		return strerror(EIO);
	if ((e = sqlite3_system_errno(s->db)) != 0)
		return strerror(e);
	/* SQLite failed without a system call failing: name the cause it implies. */
	switch (sqlite3_errcode(s->db) & 0xff) {
	case SQLITE_FULL:
		return strerror(ENOSPC);
	case SQLITE_READONLY:
		path = sqlite3_db_filename(s->db, "main");
		if (path != NULL && *path != '\0' && statvfs(path, &vfs) == 0 &&
		    (vfs.f_flag & ST_RDONLY))
			return strerror(EROFS);
		return strerror(EACCES);
	case SQLITE_PERM:
		return strerror(EACCES);
	default:
		return strerror(EIO);
	}
}

const char *
sshx_store_errmsg(const struct sshx_store *s)
{
	if (s == NULL || s->db == NULL)
		return "no database";
	return sqlite3_errmsg(s->db);
}

int
sshx_store_hash_key(struct sshx_store *s, uint8_t key[static SSHX_STORE_HASH_KEY_LEN])
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if (s == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	if ((r = stmt_get(s, ST_HASH_KEY, &st)) != 0)
		goto out;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		/* Made with the schema; a database without it was edited. */
		r = rc == SQLITE_DONE ? SSHX_ERR_TAMPERED : map_rc(rc);
		goto out;
	}
	if (sqlite3_column_bytes(st, 0) != SSHX_STORE_HASH_KEY_LEN ||
	    sqlite3_column_blob(st, 0) == NULL) {
		r = SSHX_ERR_TAMPERED;
		goto out;
	}
	memcpy(key, sqlite3_column_blob(st, 0), SSHX_STORE_HASH_KEY_LEN);
	r = 0;
 out:
	stmt_put(s, ST_HASH_KEY, st);
	return r;
}

/* ---- hosts and keys ---- */

int
sshx_store_find_host(struct sshx_store *s, const char *name, int port, int64_t *idp)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if (idp != NULL)
		*idp = 0;
	if (s == NULL || name == NULL || idp == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	if ((r = stmt_get(s, ST_HOST_FIND, &st)) != 0)
		goto out;
	if ((rc = bind_text(st, 1, name)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 2, port)) != SQLITE_OK) {
		r = map_rc(rc);
		goto out;
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*idp = sqlite3_column_int64(st, 0);
	r = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? SSHX_ERR_NOT_FOUND : map_rc(rc);
 out:
	stmt_put(s, ST_HOST_FIND, st);
	return r;
}

int
sshx_store_add_host(struct sshx_store *s, const char *name, int port, int hashed,
    int64_t *idp)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if (idp != NULL)
		*idp = 0;
	if (s == NULL || name == NULL || *name == '\0' || idp == NULL ||
	    (hashed != 0 && hashed != 1) || (hashed && port != 0) ||
	    (!hashed && (port < 1 || port > 65535)))
		return SSHX_ERR_INVALID_ARGUMENT;
	/*
	 * Only hashed names begin with '|' (a plain one would read as hashed in
	 * a known_hosts file), and plain names begin below it, which keeps name
	 * order the export order (KEY_ORDER). Checked names always pass.
	 */
	if (hashed ? name[0] != HASHED_FIRST :
	    (unsigned char)name[0] >= HASHED_FIRST)
		return SSHX_ERR_INVALID_ARGUMENT;
	if ((r = stmt_get(s, ST_HOST_ADD, &st)) != 0)
		goto out;
	if ((rc = bind_text(st, 1, name)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 2, port)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 3, hashed)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL))) != SQLITE_OK) {
		r = map_rc(rc);
		goto out;
	}
	if ((r = stmt_run(st)) != 0)
		goto out;
	/* No change means the host was there already (ON CONFLICT DO NOTHING). */
	if (sqlite3_changes(s->db) == 1) {
		*idp = sqlite3_last_insert_rowid(s->db);
		r = 0;
	} else
		r = sshx_store_find_host(s, name, port, idp);
 out:
	stmt_put(s, ST_HOST_ADD, st);
	return r;
}

/*
 * Runs an UPDATE or DELETE of one row: ?1 is its id, ?2 text or num when
 * given. NOT_FOUND when no row changed.
 */
static int
change_by_id(struct sshx_store *s, enum stmt_id id, int64_t row, const char *text,
    const int64_t *num)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = stmt_get(s, id, &st)) != 0)
		goto out;
	rc = sqlite3_bind_int64(st, 1, row);
	if (rc == SQLITE_OK && text != NULL)
		rc = bind_text(st, 2, text);
	if (rc == SQLITE_OK && num != NULL)
		rc = sqlite3_bind_int64(st, 2, *num);
	if (rc != SQLITE_OK) {
		r = map_rc(rc);
		goto out;
	}
	if ((r = stmt_run(st)) == 0 && sqlite3_changes(s->db) == 0)
		r = SSHX_ERR_NOT_FOUND;
 out:
	stmt_put(s, id, st);
	return r;
}

int
sshx_store_remove_host(struct sshx_store *s, int64_t host_id)
{
	if (s == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	return change_by_id(s, ST_HOST_REMOVE, host_id, NULL, NULL);
}

int
sshx_store_lookup_key(struct sshx_store *s, int64_t host_id, const char *type,
    const uint8_t *blob, size_t bloblen, struct sshx_store_lookup *out)
{
	sqlite3_stmt *same = NULL, *other = NULL;
	const unsigned char *fp;
	int r, rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (s == NULL || type == NULL || (blob == NULL && bloblen != 0) || out == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	if ((r = stmt_get(s, ST_KEY_SAME, &same)) != 0)
		goto out;
	if ((rc = sqlite3_bind_int64(same, 1, host_id)) != SQLITE_OK ||
	    (rc = bind_blob(same, 2, blob, bloblen)) != SQLITE_OK) {
		r = map_rc(rc);
		goto out;
	}
	if ((rc = sqlite3_step(same)) == SQLITE_ROW) {
		out->same_id = sqlite3_column_int64(same, 0);
		out->same_state = state_parse(sqlite3_column_text(same, 1));
	} else if (rc != SQLITE_DONE) {
		r = map_rc(rc);
		goto out;
	}
	if ((r = stmt_get(s, ST_KEY_OTHER, &other)) != 0)
		goto out;
	if ((rc = sqlite3_bind_int64(other, 1, host_id)) != SQLITE_OK ||
	    (rc = bind_text(other, 2, type)) != SQLITE_OK ||
	    (rc = bind_blob(other, 3, blob, bloblen)) != SQLITE_OK) {
		r = map_rc(rc);
		goto out;
	}
	if ((rc = sqlite3_step(other)) == SQLITE_ROW) {
		out->other_id = sqlite3_column_int64(other, 0);
		if ((fp = sqlite3_column_text(other, 1)) == NULL) {
			r = SSHX_ERR_ALLOC;
			goto out;
		}
		(void)snprintf(out->other_fingerprint, sizeof(out->other_fingerprint),
		    "%s", (const char *)fp);
	} else if (rc != SQLITE_DONE) {
		r = map_rc(rc);
		goto out;
	}
	r = 0;
 out:
	stmt_put(s, ST_KEY_SAME, same);
	stmt_put(s, ST_KEY_OTHER, other);
	if (r != 0 && out != NULL)
		memset(out, 0, sizeof(*out));
	return r;
}

int
sshx_store_add_key(struct sshx_store *s, int64_t host_id, const char *type,
    const uint8_t *blob, size_t bloblen, const char *fingerprint,
    enum sshx_store_state state, const char *source)
{
	sqlite3_stmt *st = NULL;
	const char *sname = state_name(state);
	int r, rc;

	if (s == NULL || type == NULL || blob == NULL || bloblen == 0 ||
	    fingerprint == NULL || sname == NULL || source == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	/* One blob per host: the clustering key cannot say so, this check does. */
	if ((r = stmt_get(s, ST_KEY_SAME, &st)) != 0)
		goto out;
	if ((rc = sqlite3_bind_int64(st, 1, host_id)) != SQLITE_OK ||
	    (rc = bind_blob(st, 2, blob, bloblen)) != SQLITE_OK) {
		r = map_rc(rc);
		goto out;
	}
	rc = sqlite3_step(st);
	stmt_put(s, ST_KEY_SAME, st);
	st = NULL;
	if (rc == SQLITE_ROW) {
		r = SSHX_ERR_EXISTS;
		goto out;
	}
	if (rc != SQLITE_DONE) {
		r = map_rc(rc);
		goto out;
	}
	if ((r = stmt_get(s, ST_KEY_ADD, &st)) != 0)
		goto out;
	if ((rc = sqlite3_bind_int64(st, 1, host_id)) != SQLITE_OK ||
	    (rc = bind_text(st, 2, type)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 3, sshx_kh_type_rank(type))) != SQLITE_OK ||
	    (rc = bind_blob(st, 4, blob, bloblen)) != SQLITE_OK ||
	    (rc = bind_text(st, 5, fingerprint)) != SQLITE_OK ||
	    (rc = bind_text(st, 6, sname)) != SQLITE_OK ||
	    (rc = bind_text(st, 7, source)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 8, (sqlite3_int64)time(NULL))) != SQLITE_OK) {
		r = map_rc(rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE && sqlite3_changes(s->db) == 0)
		r = SSHX_ERR_NOT_FOUND;		/* no such host */
	else
		r = rc == SQLITE_DONE ? 0 : map_rc(rc);
 out:
	stmt_put(s, ST_KEY_ADD, st);
	return r;
}

int
sshx_store_set_key_state(struct sshx_store *s, int64_t key_id, enum sshx_store_state state)
{
	const char *sname = state_name(state);

	if (s == NULL || sname == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	return change_by_id(s, ST_KEY_STATE, key_id, sname, NULL);
}

int
sshx_store_touch_key(struct sshx_store *s, int64_t key_id, int64_t when)
{
	if (s == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	return change_by_id(s, ST_KEY_TOUCH, key_id, NULL, &when);
}

int
sshx_store_retire_key(struct sshx_store *s, int64_t key_id, int64_t when)
{
	if (s == NULL || when <= 0)
		return SSHX_ERR_INVALID_ARGUMENT;
	return change_by_id(s, ST_KEY_RETIRE, key_id, NULL, &when);
}

int
sshx_store_finalize_host(struct sshx_store *s, int64_t host_id, unsigned long *np)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	*np = 0;
	if (s == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	if ((r = stmt_get(s, ST_KEY_FINALIZE, &st)) != 0)
		goto out;
	if ((rc = sqlite3_bind_int64(st, 1, host_id)) != SQLITE_OK) {
		r = map_rc(rc);
		goto out;
	}
	if ((r = stmt_run(st)) == 0)
		*np = (unsigned long)sqlite3_changes(s->db);
 out:
	stmt_put(s, ST_KEY_FINALIZE, st);
	return r;
}

int
sshx_store_remove_key(struct sshx_store *s, int64_t key_id)
{
	sqlite3_stmt *st = NULL;
	int64_t host_id = 0;
	int r, rc, own = 0;

	if (s == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	if ((r = tx_begin(s, &own)) != 0)
		return r;
	if ((r = stmt_get(s, ST_KEY_HOST, &st)) != 0)
		goto out;
	if ((rc = sqlite3_bind_int64(st, 1, key_id)) != SQLITE_OK) {
		r = map_rc(rc);
		goto out;
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		host_id = sqlite3_column_int64(st, 0);
	r = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? SSHX_ERR_NOT_FOUND : map_rc(rc);
	stmt_put(s, ST_KEY_HOST, st);
	st = NULL;
	if (r != 0 ||
	    (r = change_by_id(s, ST_KEY_REMOVE, key_id, NULL, NULL)) != 0)
		goto out;
	/* The host goes with its last key. */
	if ((r = change_by_id(s, ST_HOST_REMOVE_EMPTY, host_id, NULL, NULL)) ==
	    SSHX_ERR_NOT_FOUND)
		r = 0;
 out:
	stmt_put(s, ST_KEY_HOST, st);
	return tx_end(s, own, r);
}

/* Points k at the columns of the current row (KEY_COLUMNS); valid until the next step. */
static int
key_from_row(sqlite3_stmt *st, struct sshx_store_key *k)
{
	memset(k, 0, sizeof(*k));
	k->id = sqlite3_column_int64(st, 0);
	k->host_id = sqlite3_column_int64(st, 1);
	k->host = (const char *)sqlite3_column_text(st, 2);
	k->port = sqlite3_column_int(st, 3);
	k->hashed = sqlite3_column_int(st, 4);
	k->type = (const char *)sqlite3_column_text(st, 5);
	k->blob = sqlite3_column_blob(st, 6);
	k->bloblen = (size_t)sqlite3_column_bytes(st, 6);
	k->fingerprint = (const char *)sqlite3_column_text(st, 7);
	k->state = state_parse(sqlite3_column_text(st, 8));
	k->source = (const char *)sqlite3_column_text(st, 9);
	k->added = sqlite3_column_int64(st, 10);
	k->last_verified = sqlite3_column_int64(st, 11);
	k->retire_at = sqlite3_column_int64(st, 12);
	/* NULL text here is out of memory (the columns are NOT NULL). */
	if (k->host == NULL || k->type == NULL || k->fingerprint == NULL ||
	    k->source == NULL || (k->blob == NULL && k->bloblen != 0))
		return SSHX_ERR_ALLOC;
	if (k->state == 0)
		return SSHX_ERR_TAMPERED;
	return 0;
}

/*
 * Streams the rows of a key query to cb, one at a time. bind_id or bind_txt,
 * when not NULL, is the query's one parameter.
 */
static int
keys_run(struct sshx_store *s, enum stmt_id id, const int64_t *bind_id,
    const char *bind_txt, sshx_store_key_cb cb, void *arg)
{
	struct sshx_store_key k;
	sqlite3_stmt *st = NULL;
	int r, rc = SQLITE_OK;

	if (s == NULL || cb == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	if ((r = stmt_get(s, id, &st)) != 0)
		goto out;
	if (bind_txt != NULL)
		rc = bind_text(st, 1, bind_txt);
	else if (bind_id != NULL)
		rc = sqlite3_bind_int64(st, 1, *bind_id);
	if (rc != SQLITE_OK) {
		r = map_rc(rc);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = key_from_row(st, &k)) != 0 || (r = cb(&k, arg)) != 0)
			goto out;
	}
	r = rc == SQLITE_DONE ? 0 : map_rc(rc);
 out:
	stmt_put(s, id, st);
	return r;
}

int
sshx_store_foreach_key(struct sshx_store *s, sshx_store_key_cb cb, void *arg)
{
	return keys_run(s, ST_KEYS_ALL, NULL, NULL, cb, arg);
}

int
sshx_store_count_keys(struct sshx_store *s, unsigned long *np)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	*np = 0;
	if (s == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	if ((r = stmt_get(s, ST_KEY_COUNT, &st)) != 0)
		return r;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*np = (unsigned long)sqlite3_column_int64(st, 0);
	r = rc == SQLITE_ROW ? 0 : map_rc(rc);
	stmt_put(s, ST_KEY_COUNT, st);
	return r;
}

int
sshx_store_foreach_host_key(struct sshx_store *s, int64_t host_id,
    sshx_store_key_cb cb, void *arg)
{
	return keys_run(s, ST_KEYS_HOST, &host_id, NULL, cb, arg);
}

int
sshx_store_foreach_hashed_key(struct sshx_store *s, sshx_store_key_cb cb, void *arg)
{
	return keys_run(s, ST_KEYS_HASHED, NULL, NULL, cb, arg);
}

int
sshx_store_foreach_key_by_fingerprint(struct sshx_store *s, const char *fp,
    sshx_store_key_cb cb, void *arg)
{
	if (fp == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	return keys_run(s, ST_KEYS_FP, NULL, fp, cb, arg);
}

/* ---- pattern entries ---- */

int
sshx_store_add_pattern(struct sshx_store *s, enum sshx_store_marker marker,
    const char *pattern, const char *type, const uint8_t *blob, size_t bloblen,
    const char *fingerprint, const char *source)
{
	sqlite3_stmt *st = NULL;
	const char *mname = marker_name(marker);
	int r, rc;

	if (s == NULL || mname == NULL || pattern == NULL || type == NULL ||
	    blob == NULL || bloblen == 0 || fingerprint == NULL || source == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	if ((r = stmt_get(s, ST_PAT_ADD, &st)) != 0)
		goto out;
	if ((rc = bind_text(st, 1, mname)) != SQLITE_OK ||
	    (rc = bind_text(st, 2, pattern)) != SQLITE_OK ||
	    (rc = bind_text(st, 3, type)) != SQLITE_OK ||
	    (rc = bind_blob(st, 4, blob, bloblen)) != SQLITE_OK ||
	    (rc = bind_text(st, 5, fingerprint)) != SQLITE_OK ||
	    (rc = bind_text(st, 6, source)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 7, (sqlite3_int64)time(NULL))) != SQLITE_OK) {
		r = map_rc(rc);
		goto out;
	}
	r = stmt_run(st);
 out:
	stmt_put(s, ST_PAT_ADD, st);
	return r;
}

int
sshx_store_remove_pattern(struct sshx_store *s, enum sshx_store_marker marker,
    const char *pattern)
{
	sqlite3_stmt *st = NULL;
	const char *mname = marker_name(marker);
	int r, rc;

	if (s == NULL || mname == NULL || pattern == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	if ((r = stmt_get(s, ST_PAT_REMOVE, &st)) != 0)
		goto out;
	if ((rc = bind_text(st, 1, mname)) != SQLITE_OK ||
	    (rc = bind_text(st, 2, pattern)) != SQLITE_OK) {
		r = map_rc(rc);
		goto out;
	}
	if ((r = stmt_run(st)) == 0 && sqlite3_changes(s->db) == 0)
		r = SSHX_ERR_NOT_FOUND;
 out:
	stmt_put(s, ST_PAT_REMOVE, st);
	return r;
}

int
sshx_store_foreach_pattern(struct sshx_store *s, sshx_store_pattern_cb cb, void *arg)
{
	struct sshx_store_pattern p;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if (s == NULL || cb == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	if ((r = stmt_get(s, ST_PAT_ALL, &st)) != 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&p, 0, sizeof(p));
		p.id = sqlite3_column_int64(st, 0);
		p.marker = marker_parse(sqlite3_column_text(st, 1));
		p.pattern = (const char *)sqlite3_column_text(st, 2);
		p.type = (const char *)sqlite3_column_text(st, 3);
		p.blob = sqlite3_column_blob(st, 4);
		p.bloblen = (size_t)sqlite3_column_bytes(st, 4);
		p.fingerprint = (const char *)sqlite3_column_text(st, 5);
		p.source = (const char *)sqlite3_column_text(st, 6);
		p.added = sqlite3_column_int64(st, 7);
		if (p.pattern == NULL || p.type == NULL || p.fingerprint == NULL ||
		    p.source == NULL || (p.blob == NULL && p.bloblen != 0)) {
			r = SSHX_ERR_ALLOC;
			goto out;
		}
		if (p.marker == 0) {
			r = SSHX_ERR_TAMPERED;
			goto out;
		}
		if ((r = cb(&p, arg)) != 0)
			goto out;
	}
	r = rc == SQLITE_DONE ? 0 : map_rc(rc);
 out:
	stmt_put(s, ST_PAT_ALL, st);
	return r;
}

/* ---- audit ---- */

/* Binds an integer, or NULL when it is negative (unknown). */
static int
bind_int_or_null(sqlite3_stmt *st, int i, int64_t v)
{
	return v < 0 ? sqlite3_bind_null(st, i) :
	    sqlite3_bind_int64(st, i, (sqlite3_int64)v);
}

/* Inserts one audit row as given; the caller checked the required fields. */
static int
audit_insert(struct sshx_store *s, const struct sshx_store_audit_rec *a)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = stmt_get(s, ST_AUDIT, &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)a->time)) != SQLITE_OK ||
	    (rc = bind_text(st, 2, a->actor)) != SQLITE_OK ||
	    (rc = bind_int_or_null(st, 3, a->uid)) != SQLITE_OK ||
	    (rc = bind_int_or_null(st, 4, a->pid)) != SQLITE_OK ||
	    (rc = bind_text(st, 5, a->exe)) != SQLITE_OK ||
	    (rc = bind_text(st, 6, a->action)) != SQLITE_OK ||
	    (rc = bind_text(st, 7, a->host)) != SQLITE_OK ||
	    (rc = bind_text(st, 8, a->fingerprint)) != SQLITE_OK ||
	    (rc = bind_text(st, 9, a->detail)) != SQLITE_OK ||
	    (rc = bind_text(st, 10, a->result)) != SQLITE_OK ||
	    (rc = bind_text(st, 11, a->kind)) != SQLITE_OK ||
	    (rc = bind_text(st, 12, a->peer_user)) != SQLITE_OK ||
	    (rc = bind_text(st, 13, a->peer_host_key)) != SQLITE_OK ||
	    (rc = bind_text(st, 14, a->ns)) != SQLITE_OK ||
	    (rc = bind_int_or_null(st, 15, a->forwarded)) != SQLITE_OK)
		r = map_rc(rc);
	else
		r = stmt_run(st);
	stmt_put(s, ST_AUDIT, st);
	return r;
}

/* Removes the rows older than the retention (none without a setting). */
static int
audit_prune(struct sshx_store *s)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = stmt_get(s, ST_AUDIT_PRUNE, &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL))) != SQLITE_OK)
		r = map_rc(rc);
	else
		r = stmt_run(st);
	stmt_put(s, ST_AUDIT_PRUNE, st);
	return r;
}

int
sshx_store_audit(struct sshx_store *s, const struct sshx_store_audit *a)
{
	struct sshx_store_audit_rec rec;
	char exe[PATH_MAX];
	ssize_t n;
	int r;

	if (s == NULL || a == NULL || a->actor == NULL || a->action == NULL ||
	    a->result == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	memset(&rec, 0, sizeof(rec));
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		exe[n] = '\0';
		rec.exe = exe;
	}
	rec.time = (int64_t)time(NULL);
	rec.actor = a->actor;
	rec.uid = (int64_t)getuid();
	rec.pid = (int64_t)getpid();
	rec.action = a->action;
	rec.host = a->host;
	rec.fingerprint = a->fingerprint;
	rec.detail = a->detail;
	rec.result = a->result;
	rec.forwarded = -1;
	if ((r = audit_insert(s, &rec)) != 0)
		return r;
	/* Every row written ages the oldest out: the trail keeps the retention asked for. */
	return audit_prune(s);
}

int
sshx_store_audit_batch(struct sshx_store *s,
    const struct sshx_store_audit_rec *recs, size_t n)
{
	size_t i;
	int own, r;

	if (s == NULL || (recs == NULL && n != 0))
		return SSHX_ERR_INVALID_ARGUMENT;
	for (i = 0; i < n; i++)
		if (recs[i].actor == NULL || recs[i].action == NULL ||
		    recs[i].result == NULL)
			return SSHX_ERR_INVALID_ARGUMENT;
	if (n == 0)
		return 0;
	if ((r = tx_begin(s, &own)) != 0)
		return r;
	for (i = 0; r == 0 && i < n; i++)
		r = audit_insert(s, &recs[i]);
	if (r == 0)
		r = audit_prune(s);
	return tx_end(s, own, r);
}

int
sshx_store_get_retention(struct sshx_store *s, int64_t *secondsp)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	*secondsp = 0;
	if (s == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	if ((r = stmt_get(s, ST_RETENTION_GET, &st)) != 0)
		return r;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*secondsp = sqlite3_column_int64(st, 0);
	r = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : map_rc(rc);
	stmt_put(s, ST_RETENTION_GET, st);
	return r;
}

int
sshx_store_set_retention(struct sshx_store *s, int64_t seconds)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if (s == NULL || seconds < 0)
		return SSHX_ERR_INVALID_ARGUMENT;
	if ((r = stmt_get(s, ST_RETENTION_SET, &st)) != 0)
		return r;
	if ((rc = sqlite3_bind_int64(st, 1, seconds)) != SQLITE_OK)
		r = map_rc(rc);
	else
		r = stmt_run(st);
	stmt_put(s, ST_RETENTION_SET, st);
	return r;
}

/* Returns a text column, NULL when it is NULL. */
static const char *
column_text_or_null(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? NULL :
	    (const char *)sqlite3_column_text(st, i);
}

int
sshx_store_foreach_audit(struct sshx_store *s, int64_t since, const char *fingerprint,
    sshx_store_audit_cb cb, void *arg)
{
	struct sshx_store_audit_row row;
	enum stmt_id id = ST_AUDIT_SINCE;
	sqlite3_stmt *st = NULL;
	int r, rc;

	if (s == NULL || cb == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	id = fingerprint != NULL ? ST_AUDIT_KEY_SINCE : ST_AUDIT_SINCE;
	if ((r = stmt_get(s, id, &st)) != 0)
		goto out;
	if ((rc = sqlite3_bind_int64(st, 1, since)) != SQLITE_OK ||
	    (fingerprint != NULL &&
	    (rc = bind_text(st, 2, fingerprint)) != SQLITE_OK)) {
		r = map_rc(rc);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&row, 0, sizeof(row));
		row.id = sqlite3_column_int64(st, 0);
		row.time = sqlite3_column_int64(st, 1);
		row.actor = column_text_or_null(st, 2);
		row.uid = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 :
		    sqlite3_column_int64(st, 3);
		row.pid = sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 :
		    sqlite3_column_int64(st, 4);
		row.exe = column_text_or_null(st, 5);
		row.action = column_text_or_null(st, 6);
		row.host = column_text_or_null(st, 7);
		row.fingerprint = column_text_or_null(st, 8);
		row.detail = column_text_or_null(st, 9);
		row.result = column_text_or_null(st, 10);
		row.kind = column_text_or_null(st, 11);
		row.peer_user = column_text_or_null(st, 12);
		row.peer_host_key = column_text_or_null(st, 13);
		row.ns = column_text_or_null(st, 14);
		row.forwarded = sqlite3_column_type(st, 15) == SQLITE_NULL ? -1 :
		    sqlite3_column_int(st, 15);
		if (row.actor == NULL || row.action == NULL || row.result == NULL) {
			r = SSHX_ERR_TAMPERED;
			goto out;
		}
		if ((r = cb(&row, arg)) != 0)
			goto out;
	}
	r = rc == SQLITE_DONE ? 0 : map_rc(rc);
 out:
	stmt_put(s, id, st);
	return r;
}
