/*
 * The host store: an SQLite database of pinned and revoked host keys,
 * @cert-authority / @revoked pattern entries and the audit trail. The schema
 * comes from the numbered migrations in schema/, compiled in; every write goes
 * through prepared statements inside a transaction the caller opens.
 */
#ifndef SSHX_STORE_H
#define SSHX_STORE_H

#include <stddef.h>
#include <stdint.h>

struct sshx_store;

/* sshx_store_open flags. */
#define SSHX_STORE_CREATE	0x1	/* create the file (0600) and its directory (0700) when missing */

/* Key states as stored. */
enum sshx_store_state {
	SSHX_STORE_PINNED = 1,
	SSHX_STORE_REVOKED = 2,
};

/* Pattern entry markers. */
enum sshx_store_marker {
	SSHX_STORE_MARK_CA = 1,		/* @cert-authority */
	SSHX_STORE_MARK_REVOKED = 2,	/* @revoked with a pattern */
};

/* Length of the per-database key that derives hashed-export salts. */
#define SSHX_STORE_HASH_KEY_LEN	32

/*
 * Opens the database at path: refuses a symlink at path, a file not owned by
 * the effective uid or accessible by group/others (SSHX_ERR_UNSAFE_FILE, why
 * says "sshxctl perms fix PATH"), and a schema newer than this build knows
 * (SSHX_ERR_VERSION, why names both versions). Sets WAL, foreign keys,
 * synchronous=FULL and a busy timeout, then applies missing migrations in one
 * transaction. A missing file gives SSHX_ERR_NOT_FOUND unless
 * SSHX_STORE_CREATE. Other failures: SSHX_ERR_SYSTEM / SSHX_ERR_TAMPERED (not
 * a database, or corrupt) / SSHX_ERR_BUSY. why is always set on failure.
 */
int sshx_store_open(const char *path, int flags, struct sshx_store **sp,
    char *why, size_t whylen);
/* Closes the database, rolling back an open transaction; NULL is allowed. */
void sshx_store_close(struct sshx_store *s);

/* The schema version this build creates (the highest migration). */
int sshx_store_schema_version(void);

/*
 * Starts a write transaction (BEGIN IMMEDIATE), waiting for other writers up
 * to the busy timeout; SSHX_ERR_BUSY when they do not finish in time.
 */
int sshx_store_begin(struct sshx_store *s);
/* Sets how long this connection waits for other writers (10 s by default); 0 or an error. */
int sshx_store_set_busy_timeout(struct sshx_store *s, int ms);
/*
 * Chooses when this connection's commits reach the disk: full (the default)
 * syncs the WAL at every commit; otherwise only checkpoints sync, so a
 * commit survives the process crashing but maybe not the machine losing
 * power (the database stays consistent either way). 0 or an error.
 */
int sshx_store_set_sync(struct sshx_store *s, int full);
/*
 * Caps this connection's page cache at about kib KiB (SQLite's default is
 * 2 MiB); a long-running writer of appended rows needs little. 0 or an error.
 */
int sshx_store_set_cache_kib(struct sshx_store *s, int kib);
/* Commits; returns 0 or an error (the transaction is then rolled back). */
int sshx_store_commit(struct sshx_store *s);
/* Rolls back an open transaction; harmless without one. */
void sshx_store_rollback(struct sshx_store *s);
/* Starts a read transaction (a consistent snapshot for listings and exports). */
int sshx_store_begin_read(struct sshx_store *s);

/*
 * What lies behind an SSHX_ERR_SYSTEM from the database, as strerror text:
 * the errno of its last failed system call, or the cause its error implies
 * (a full disk, a read-only file system, no permission). errno itself may
 * have changed since the failure.
 */
const char *sshx_store_system_error(const struct sshx_store *s);
/* The last SQLite error message of this connection, for error reports. */
const char *sshx_store_errmsg(const struct sshx_store *s);

/* Copies the per-database salt key (made at creation) to key. */
int sshx_store_hash_key(struct sshx_store *s, uint8_t key[static SSHX_STORE_HASH_KEY_LEN]);

/* ---- hosts and their keys ---- */

/* One host key with its host, as the iterators pass it (valid during the callback only). */
struct sshx_store_key {
	int64_t id;
	int64_t host_id;
	const char *host;	/* lowercase name, or "|1|..." when hashed */
	int port;		/* 0 when hashed */
	int hashed;
	const char *type;
	const uint8_t *blob;
	size_t bloblen;
	const char *fingerprint;
	enum sshx_store_state state;
	const char *source;
	int64_t added;
	int64_t last_verified;	/* 0: never */
	int64_t retire_at;	/* a pinned key being rotated out: revoked from then on; 0: not */
};

/* Returns 0 and the host's id, or SSHX_ERR_NOT_FOUND. */
int sshx_store_find_host(struct sshx_store *s, const char *name, int port, int64_t *idp);
/* Returns 0 and the id of the existing or newly added host. */
int sshx_store_add_host(struct sshx_store *s, const char *name, int port, int hashed,
    int64_t *idp);
/* Removes a host and all its keys; SSHX_ERR_NOT_FOUND when there is none. */
int sshx_store_remove_host(struct sshx_store *s, int64_t host_id);

/* What a host already holds for one key (sshx_store_lookup_key). */
struct sshx_store_lookup {
	int64_t same_id;		/* the row with this blob, 0 if none */
	enum sshx_store_state same_state;	/* its state */
	int64_t other_id;		/* a pinned key of the same type with another blob, 0 if none */
	char other_fingerprint[64];	/* its fingerprint */
};

/* Looks up blob and the pinned keys of its type at a host; always 0 or an SQLite-level error. */
int sshx_store_lookup_key(struct sshx_store *s, int64_t host_id, const char *type,
    const uint8_t *blob, size_t bloblen, struct sshx_store_lookup *out);

/*
 * Adds a key to a host with the given state; type_rank from
 * sshx_kh_type_rank(type). SSHX_ERR_EXISTS when the host already has this blob.
 */
int sshx_store_add_key(struct sshx_store *s, int64_t host_id, const char *type,
    const uint8_t *blob, size_t bloblen, const char *fingerprint,
    enum sshx_store_state state, const char *source);
/* Sets a key's state; SSHX_ERR_NOT_FOUND for an unknown id. */
int sshx_store_set_key_state(struct sshx_store *s, int64_t key_id, enum sshx_store_state state);
/* Removes one key; a host left without keys is removed too. SSHX_ERR_NOT_FOUND for an unknown id. */
int sshx_store_remove_key(struct sshx_store *s, int64_t key_id);
/* Records a successful verification time; SSHX_ERR_NOT_FOUND for an unknown id. */
int sshx_store_touch_key(struct sshx_store *s, int64_t key_id, int64_t when);

/*
 * Schedules a pinned key to count as revoked from when on (hosts rotate):
 * every listing, lookup and export reports it revoked after that time.
 * SSHX_ERR_NOT_FOUND for an unknown id.
 */
int sshx_store_retire_key(struct sshx_store *s, int64_t key_id, int64_t when);
/*
 * Revokes for good every key of a host that is being retired, due or not
 * (hosts rotate --finalize); *np gets how many.
 */
int sshx_store_finalize_host(struct sshx_store *s, int64_t host_id, unsigned long *np);

/* Iterator callback: return 0 to go on, anything else stops and is returned. */
typedef int (*sshx_store_key_cb)(const struct sshx_store_key *k, void *arg);

/*
 * Calls cb for every key of every host in export order: plain hosts by name
 * then port, then hashed hosts by name; within a host by type rank, then
 * added time, then id. Built for a million rows: a single query streamed
 * row by row, nothing accumulated. Returns 0, cb's non-zero value, or an error.
 */
int sshx_store_foreach_key(struct sshx_store *s, sshx_store_key_cb cb, void *arg);
/* Counts every stored key, the rows sshx_store_foreach_key visits; 0 or an error. */
int sshx_store_count_keys(struct sshx_store *s, unsigned long *np);
/* Calls cb for every key of one host, in the same order. */
int sshx_store_foreach_host_key(struct sshx_store *s, int64_t host_id,
    sshx_store_key_cb cb, void *arg);
/* Calls cb for every key of every hashed host (to match a name against them). */
int sshx_store_foreach_hashed_key(struct sshx_store *s, sshx_store_key_cb cb, void *arg);
/* Calls cb for the keys whose fingerprint is fp, in export order (a scan of every key). */
int sshx_store_foreach_key_by_fingerprint(struct sshx_store *s, const char *fp,
    sshx_store_key_cb cb, void *arg);

/* ---- pattern entries (@cert-authority, @revoked with a pattern) ---- */

struct sshx_store_pattern {
	int64_t id;
	enum sshx_store_marker marker;
	const char *pattern;
	const char *type;
	const uint8_t *blob;
	size_t bloblen;
	const char *fingerprint;
	const char *source;
	int64_t added;
};

typedef int (*sshx_store_pattern_cb)(const struct sshx_store_pattern *p, void *arg);

/* Adds a pattern entry; SSHX_ERR_EXISTS when the same marker, pattern and blob are there. */
int sshx_store_add_pattern(struct sshx_store *s, enum sshx_store_marker marker,
    const char *pattern, const char *type, const uint8_t *blob, size_t bloblen,
    const char *fingerprint, const char *source);
/* Removes the entries of a marker and pattern; SSHX_ERR_NOT_FOUND when there were none. */
int sshx_store_remove_pattern(struct sshx_store *s, enum sshx_store_marker marker,
    const char *pattern);
/* Calls cb for every pattern entry ordered by marker (CA first), pattern, type rank, fingerprint. */
int sshx_store_foreach_pattern(struct sshx_store *s, sshx_store_pattern_cb cb, void *arg);

/* ---- audit ---- */

/* One audit row; NULL fields are stored as NULL. time, uid, pid and exe are filled in. */
struct sshx_store_audit {
	const char *actor;	/* "sshxctl" */
	const char *action;	/* "hosts.add", ... */
	const char *host;
	const char *fingerprint;
	const char *detail;	/* never a secret */
	const char *result;	/* "ok", "refused", ... */
};

/*
 * Appends an audit row with the current time, uid, pid and /proc/self/exe,
 * then removes the rows older than the retention, when one is set.
 */
int sshx_store_audit(struct sshx_store *s, const struct sshx_store_audit *a);
/* One audit row with every field given by the caller (agentd records its peers'). */
struct sshx_store_audit_rec {
	int64_t time;			/* Unix seconds */
	const char *actor;		/* "agentd" */
	int64_t uid;			/* -1: unknown (NULL) */
	int64_t pid;			/* -1: unknown (NULL) */
	const char *exe;		/* NULL: unknown */
	const char *action;		/* "agent.sign", ... */
	const char *host;
	const char *fingerprint;
	const char *detail;		/* never a secret */
	const char *result;		/* "ok", "refused", "failed" */
	const char *kind;		/* signatures: "userauth", "sshsig", "unknown" */
	const char *peer_user;		/* the user of a userauth request */
	const char *peer_host_key;	/* fingerprint of the bound host key */
	const char *ns;			/* SSHSIG namespace */
	int forwarded;			/* 1, 0, or -1: unknown (NULL) */
};

/*
 * Appends n rows as given, then prunes by the retention, in one write
 * transaction (the caller's, when one is open). A row without actor,
 * action or result gives SSHX_ERR_INVALID_ARGUMENT and nothing is written.
 */
int sshx_store_audit_batch(struct sshx_store *s,
    const struct sshx_store_audit_rec *recs, size_t n);
/* The audit retention in seconds; 0 (also when never set) keeps every row. */
int sshx_store_get_retention(struct sshx_store *s, int64_t *secondsp);
/* Sets the audit retention (0: keep every row); pruning happens with the next row written. */
int sshx_store_set_retention(struct sshx_store *s, int64_t seconds);

/* One audit row as read back (valid during the callback only); uid and pid are -1 when unknown. */
struct sshx_store_audit_row {
	int64_t id;
	int64_t time;
	const char *actor;
	int64_t uid;
	int64_t pid;
	const char *exe;		/* may be NULL */
	const char *action;
	const char *host;		/* may be NULL */
	const char *fingerprint;	/* may be NULL */
	const char *detail;		/* may be NULL */
	const char *result;
	const char *kind;		/* may be NULL, and the rest below */
	const char *peer_user;
	const char *peer_host_key;
	const char *ns;
	int forwarded;			/* -1 when unknown */
};

typedef int (*sshx_store_audit_cb)(const struct sshx_store_audit_row *row, void *arg);

/*
 * Calls cb for the audit rows from time since on (and only those about
 * fingerprint, when not NULL), oldest first. Returns 0, cb's non-zero
 * value, or an error.
 */
int sshx_store_foreach_audit(struct sshx_store *s, int64_t since,
    const char *fingerprint, sshx_store_audit_cb cb, void *arg);

#endif
