/*
 * Unit tests of lib/store.c: a private file made on creation, refusal of
 * unsafe, foreign, damaged and newer files without touching them, hosts,
 * keys and patterns with their exact orders, audit rows, transactions and
 * several processes writing at once. Tests run as root (so they can chown a
 * file to another uid).
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <gcrypt.h>
#include <sqlite3.h>

#include "err.h"
#include "schema.h"
#include "store.h"
#include "tap.h"

#define OTHER_UID	65534	/* nobody */
#define APP_ID		0x73736878
#define BLOB_LEN	51	/* an ssh-ed25519 public key blob */
#define MAX_RECS	64
#define N_CHILDREN	4
#define N_ROUNDS	50
#define HOLD_US		800000	/* how long a writer holds its transaction */

static char base[PATH_MAX];	/* one per test case, made and removed by the runner */
static char tdir[PATH_MAX];	/* one per test, inside base */
static char dbpath[PATH_MAX];	/* tdir/sshx.db */
static char why[512];

/* ---- Fixtures and helpers ---- */

static int
rm_one(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(p) : unlink(p);
}

/* Runs in the runner process, so the directories go even when a test fails. */
static void
base_setup(void)
{
	strcpy(base, "/tmp/sshx-test-store-XXXXXX");
	if (mkdtemp(base) == NULL) {
		perror("mkdtemp");
		abort();
	}
}

static void
base_teardown(void)
{
	(void)nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
setup(void)
{
	sshx_test_lsan_secmem();
	ck_assert_int_lt(snprintf(tdir, sizeof(tdir), "%.*s/t-XXXXXX",
	    (int)sizeof(tdir) - 16, base), (int)sizeof(tdir));
	ck_assert_msg(mkdtemp(tdir) != NULL, "expected mkdtemp to work, got %s",
	    strerror(errno));
	ck_assert_int_lt(snprintf(dbpath, sizeof(dbpath), "%.*s/sshx.db",
	    (int)sizeof(dbpath) - 16, tdir), (int)sizeof(dbpath));
	why[0] = '\0';
}

/* Formats a path inside the test directory. */
static char * __attribute__((format(printf, 2, 3)))
tpath(char *out, const char *fmt, ...)
{
	char rel[PATH_MAX / 2];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	ck_assert_int_lt(snprintf(out, PATH_MAX, "%s/%s", tdir, rel), PATH_MAX);
	return out;
}

/* Returns the number of entries in a directory. */
static int
dir_entries(const char *d)
{
	struct dirent *de;
	DIR *dp;
	int n = 0;

	ck_assert_ptr_nonnull(dp = opendir(d));
	while ((de = readdir(dp)) != NULL)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(dp);
	return n;
}

/* Reads a whole file (a symlink's target) into a new allocation. */
static uint8_t *
read_all(const char *p, size_t *lenp)
{
	struct stat st;
	uint8_t *d;
	int fd;

	ck_assert_msg((fd = open(p, O_RDONLY)) >= 0, "open %s: %s",
	    p, strerror(errno));
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_ptr_nonnull(d = malloc((size_t)st.st_size + 1));
	ck_assert_msg(read(fd, d, (size_t)st.st_size) == st.st_size,
	    "short read of %s", p);
	close(fd);
	*lenp = (size_t)st.st_size;
	return d;
}

static void
write_all(const char *p, const uint8_t *d, size_t len, mode_t mode)
{
	int fd;

	ck_assert_msg((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW,
	    mode)) >= 0, "open %s: %s", p, strerror(errno));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	ck_assert_msg(write(fd, d, len) == (ssize_t)len, "short write to %s", p);
	close(fd);
}

/* Opens the store at dbpath with flags, expecting success. */
static struct sshx_store *
store_open(int flags)
{
	struct sshx_store *s = NULL;
	int r;

	r = sshx_store_open(dbpath, flags, &s, why, sizeof(why));
	ck_assert_msg(r == 0, "expected %s to open, got %s (%s)", dbpath,
	    sshx_strerror(r), why);
	ck_assert_ptr_nonnull(s);
	return s;
}

/*
 * Opens p expecting the error want with why mentioning what, and checks
 * that the file's bytes and the directory's entry count did not change.
 */
static void
expect_refused(const char *p, int flags, int want, const char *what)
{
	struct sshx_store *s = NULL;
	uint8_t *before = NULL, *after = NULL;
	size_t blen = 0, alen = 0;
	struct stat st;
	int r, entries = dir_entries(tdir), exists;

	exists = stat(p, &st) == 0 && S_ISREG(st.st_mode);
	if (exists)
		before = read_all(p, &blen);
	why[0] = '\0';
	r = sshx_store_open(p, flags, &s, why, sizeof(why));
	ck_assert_msg(r == want, "%s: expected %s, got %s (%s)", p,
	    sshx_strerror(want), sshx_strerror(r), why);
	ck_assert_msg(s == NULL, "%s: a store came back with an error", p);
	ck_assert_msg(strstr(why, what) != NULL, "%s: expected why to mention "
	    "\"%s\", got \"%s\"", p, what, why);
	if (exists) {
		after = read_all(p, &alen);
		ck_assert_msg(alen == blen && memcmp(before, after, blen) == 0,
		    "%s: expected the file unchanged by a refused open", p);
	}
	ck_assert_msg(dir_entries(tdir) == entries, "expected %d entries in "
	    "%s after a refused open, got %d", entries, tdir, dir_entries(tdir));
	free(before);
	free(after);
}

/* Runs SQL on dbpath through a connection of its own. */
static void
raw_exec(const char *p, const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;
	int rc;

	ck_assert_int_eq(sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	ck_assert_msg(rc == SQLITE_OK, "%s: expected SQLITE_OK, got %d (%s)",
	    sql, rc, msg != NULL ? msg : "");
	sqlite3_free(msg);
	ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
}

/* Runs a one-value query on dbpath through a connection of its own. */
static int64_t
raw_int(const char *sql)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	int64_t v;

	ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL),
	    SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK,
	    "%s: %s", sql, sqlite3_errmsg(db));
	ck_assert_msg(sqlite3_step(st) == SQLITE_ROW, "%s: expected a row", sql);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
	return v;
}

/* An ssh-ed25519-shaped blob whose 32 key bytes are all tag. */
static void
make_blob(uint8_t b[BLOB_LEN], int tag)
{
	static const uint8_t head[19] = { 0, 0, 0, 11, 's', 's', 'h', '-', 'e',
	    'd', '2', '5', '5', '1', '9', 0, 0, 0, 32 };

	memcpy(b, head, sizeof(head));
	memset(b + sizeof(head), tag, BLOB_LEN - sizeof(head));
}

static void
make_fp(char fp[64], int tag)
{
	snprintf(fp, 64, "SHA256:fp-%03d", tag);
}

/* Adds a key tagged tag (blob and fingerprint) to a host. */
static void
add_tagged(struct sshx_store *s, int64_t host, const char *type, int tag,
    enum sshx_store_state state)
{
	uint8_t b[BLOB_LEN];
	char fp[64];

	make_blob(b, tag);
	make_fp(fp, tag);
	ck_ok(sshx_store_add_key(s, host, type, b, sizeof(b), fp, state, "test"));
}

/* What the collecting callbacks keep of each row. */
struct rec {
	int64_t id, host_id, added, last_verified, retire_at;
	char host[128];
	int port, hashed, tag, state, marker;
	char type[40], fp[64], source[40], pattern[64];
};

struct recs {
	struct rec r[MAX_RECS];
	int n;
};

static int
collect_key(const struct sshx_store_key *k, void *arg)
{
	struct recs *rs = arg;
	struct rec *r;

	ck_assert_int_lt(rs->n, MAX_RECS);
	r = &rs->r[rs->n++];
	memset(r, 0, sizeof(*r));
	r->id = k->id;
	r->host_id = k->host_id;
	snprintf(r->host, sizeof(r->host), "%s", k->host);
	r->port = k->port;
	r->hashed = k->hashed;
	snprintf(r->type, sizeof(r->type), "%s", k->type);
	ck_assert_uint_eq(k->bloblen, BLOB_LEN);
	r->tag = k->blob[BLOB_LEN - 1];
	snprintf(r->fp, sizeof(r->fp), "%s", k->fingerprint);
	r->state = (int)k->state;
	snprintf(r->source, sizeof(r->source), "%s", k->source);
	r->added = k->added;
	r->last_verified = k->last_verified;
	r->retire_at = k->retire_at;
	return 0;
}

static int
collect_pattern(const struct sshx_store_pattern *p, void *arg)
{
	struct recs *rs = arg;
	struct rec *r;

	ck_assert_int_lt(rs->n, MAX_RECS);
	r = &rs->r[rs->n++];
	memset(r, 0, sizeof(*r));
	r->id = p->id;
	r->marker = (int)p->marker;
	snprintf(r->pattern, sizeof(r->pattern), "%s", p->pattern);
	snprintf(r->type, sizeof(r->type), "%s", p->type);
	ck_assert_uint_eq(p->bloblen, BLOB_LEN);
	r->tag = p->blob[BLOB_LEN - 1];
	snprintf(r->fp, sizeof(r->fp), "%s", p->fingerprint);
	snprintf(r->source, sizeof(r->source), "%s", p->source);
	r->added = p->added;
	return 0;
}

/* Returns the id of the key tagged tag at a host (failing when absent). */
static int64_t
key_id(struct sshx_store *s, int64_t host, int tag)
{
	struct recs rs = { .n = 0 };
	int i;

	ck_ok(sshx_store_foreach_host_key(s, host, collect_key, &rs));
	for (i = 0; i < rs.n; i++)
		if (rs.r[i].tag == tag)
			return rs.r[i].id;
	ck_abort_msg("expected a key tagged %d at host %" PRId64, tag, host);
	return 0;
}

static int
count_keys(struct sshx_store *s)
{
	struct recs rs = { .n = 0 };

	ck_ok(sshx_store_foreach_key(s, collect_key, &rs));
	return rs.n;
}

/* One expected row of a key listing. */
struct want {
	const char *host;
	int port;
	const char *type;
	int tag;
};

static void
check_order(const struct recs *rs, const struct want *w, int n, const char *what)
{
	int i;

	ck_assert_msg(rs->n == n, "%s: expected %d keys, got %d", what, n, rs->n);
	for (i = 0; i < n; i++)
		ck_assert_msg(strcmp(rs->r[i].host, w[i].host) == 0 &&
		    rs->r[i].port == w[i].port && rs->r[i].tag == w[i].tag &&
		    strcmp(rs->r[i].type, w[i].type) == 0 &&
		    rs->r[i].hashed == (w[i].port == 0),
		    "%s: row %d: expected %s:%d %s #%d, got %s:%d %s #%d "
		    "(hashed %d)", what, i, w[i].host, w[i].port, w[i].type,
		    w[i].tag, rs->r[i].host, rs->r[i].port, rs->r[i].type,
		    rs->r[i].tag, rs->r[i].hashed);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- Opening ---- */

START_TEST(test_create_makes_private_file_and_directory)
{
	struct sshx_store *s;
	char sub[PATH_MAX];
	struct stat st;

	tpath(sub, "new/dir");
	ck_assert_int_lt(snprintf(dbpath, sizeof(dbpath), "%s/sshx.db", sub),
	    (int)sizeof(dbpath));
	umask(0);	/* the modes must not come from the umask */
	s = store_open(SSHX_STORE_CREATE);
	umask(022);
	ck_assert_int_eq(lstat(dbpath, &st), 0);
	ck_assert_msg(S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0600,
	    "expected a regular file of mode 0600, got %04o",
	    (unsigned int)(st.st_mode & 07777));
	ck_assert_int_eq(lstat(sub, &st), 0);
	ck_assert_msg(S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700,
	    "expected directory mode 0700, got %04o",
	    (unsigned int)(st.st_mode & 07777));
	sshx_store_close(s);
	ck_assert_int_eq(raw_int("PRAGMA application_id"), APP_ID);
	ck_assert_str_eq(sshx_store_errmsg(NULL), "no database");
	sshx_store_close(NULL);
}
END_TEST

START_TEST(test_reopen_keeps_data)
{
	struct sshx_store_lookup lk;
	struct sshx_store *s;
	uint8_t b[BLOB_LEN];
	int64_t id, id2;

	s = store_open(SSHX_STORE_CREATE);
	ck_ok(sshx_store_begin(s));
	ck_ok(sshx_store_add_host(s, "db.example.com", 22, 0, &id));
	add_tagged(s, id, "ssh-ed25519", 7, SSHX_STORE_PINNED);
	ck_ok(sshx_store_commit(s));
	sshx_store_close(s);

	s = store_open(0);
	ck_ok(sshx_store_find_host(s, "db.example.com", 22, &id2));
	ck_assert_int_eq(id2, id);
	make_blob(b, 7);
	ck_ok(sshx_store_lookup_key(s, id, "ssh-ed25519", b, sizeof(b), &lk));
	ck_assert_msg(lk.same_id != 0 && lk.same_state == SSHX_STORE_PINNED,
	    "expected the key pinned after reopening, got id %" PRId64
	    " state %d", lk.same_id, (int)lk.same_state);
	sshx_store_close(s);
}
END_TEST

START_TEST(test_schema_version_is_the_builds)
{
	struct sshx_store *s = store_open(SSHX_STORE_CREATE);

	sshx_store_close(s);
	ck_assert_int_ge(sshx_store_schema_version(), 1);
	ck_assert_int_eq(raw_int("PRAGMA user_version"), sshx_store_schema_version());
	ck_assert_int_eq(raw_int("SELECT count(*) FROM pragma_journal_mode "
	    "WHERE journal_mode = 'wal'"), 1);
}
END_TEST

START_TEST(test_hash_key_32_bytes_stable_and_per_database)
{
	uint8_t k1[SSHX_STORE_HASH_KEY_LEN], k2[SSHX_STORE_HASH_KEY_LEN];
	uint8_t k3[SSHX_STORE_HASH_KEY_LEN], zero[SSHX_STORE_HASH_KEY_LEN] = { 0 };
	struct sshx_store *s;
	char other[PATH_MAX];

	s = store_open(SSHX_STORE_CREATE);
	ck_ok(sshx_store_hash_key(s, k1));
	sshx_store_close(s);
	ck_assert_int_eq(raw_int("SELECT length(value) FROM meta WHERE "
	    "name = 'hash-key'"), SSHX_STORE_HASH_KEY_LEN);
	ck_assert_msg(memcmp(k1, zero, sizeof(k1)) != 0, "expected a random key");

	s = store_open(0);
	ck_ok(sshx_store_hash_key(s, k2));
	sshx_store_close(s);
	ck_assert_msg(memcmp(k1, k2, sizeof(k1)) == 0,
	    "expected the same hash key after reopening");

	tpath(other, "other.db");
	ck_ok(sshx_store_open(other, SSHX_STORE_CREATE, &s, why, sizeof(why)));
	ck_ok(sshx_store_hash_key(s, k3));
	sshx_store_close(s);
	ck_assert_msg(memcmp(k1, k3, sizeof(k1)) != 0,
	    "expected two databases to have different hash keys");
}
END_TEST

START_TEST(test_missing_without_create_is_not_found)
{
	expect_refused(dbpath, 0, SSHX_ERR_NOT_FOUND, "no host database at");
	ck_assert_msg(access(dbpath, F_OK) == -1 && errno == ENOENT,
	    "expected no file after a refused open");
	ck_assert_int_eq(dir_entries(tdir), 0);
}
END_TEST

START_TEST(test_symlink_refused_target_untouched)
{
	char link[PATH_MAX], dangling[PATH_MAX], missing[PATH_MAX];
	struct sshx_store *s = store_open(SSHX_STORE_CREATE);

	sshx_store_close(s);
	tpath(link, "link.db");
	ck_assert_int_eq(symlink(dbpath, link), 0);
	expect_refused(link, 0, SSHX_ERR_UNSAFE_FILE, "is a symlink");
	expect_refused(link, SSHX_STORE_CREATE, SSHX_ERR_UNSAFE_FILE, "is a symlink");

	/* A dangling link is not followed to create its target either. */
	tpath(dangling, "dangling.db");
	tpath(missing, "missing.db");
	ck_assert_int_eq(symlink(missing, dangling), 0);
	expect_refused(dangling, SSHX_STORE_CREATE, SSHX_ERR_UNSAFE_FILE,
	    "is a symlink");
	ck_assert_msg(access(missing, F_OK) == -1,
	    "expected the symlink's target not to be created");
}
END_TEST

START_TEST(test_group_or_other_modes_refused)
{
	static const mode_t modes[] = { 0644, 0660, 0604, 0640 };
	struct sshx_store *s = store_open(SSHX_STORE_CREATE);
	char mode[16];
	size_t i;

	sshx_store_close(s);
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		ck_assert_int_eq(chmod(dbpath, modes[i]), 0);
		expect_refused(dbpath, 0, SSHX_ERR_UNSAFE_FILE, "sshxctl perms fix");
		snprintf(mode, sizeof(mode), "%04o", (unsigned int)modes[i]);
		ck_assert_msg(strstr(why, mode) != NULL, "expected why to name "
		    "mode %s, got \"%s\"", mode, why);
		ck_assert_msg(strstr(why, dbpath) != NULL, "expected why to name "
		    "the file, got \"%s\"", why);
	}
	ck_assert_int_eq(chmod(dbpath, 0600), 0);
	sshx_store_close(store_open(0));
}
END_TEST

START_TEST(test_other_owner_refused)
{
	struct sshx_store *s = store_open(SSHX_STORE_CREATE);

	sshx_store_close(s);
	if (geteuid() != 0)
		return;		/* only root can give a file away */
	ck_assert_int_eq(chown(dbpath, OTHER_UID, OTHER_UID), 0);
	expect_refused(dbpath, 0, SSHX_ERR_UNSAFE_FILE, "sshxctl perms fix");
	ck_assert_msg(strstr(why, "owned by uid 65534") != NULL,
	    "expected why to name the owner, got \"%s\"", why);
}
END_TEST

START_TEST(test_not_a_regular_file_refused)
{
	ck_assert_int_eq(mkdir(dbpath, 0700), 0);
	expect_refused(dbpath, SSHX_STORE_CREATE, SSHX_ERR_UNSAFE_FILE,
	    "not a regular file");
}
END_TEST

START_TEST(test_random_bytes_refused_as_tampered_unchanged)
{
	uint8_t junk[8192];

	gcry_randomize(junk, sizeof(junk), GCRY_WEAK_RANDOM);
	write_all(dbpath, junk, sizeof(junk), 0600);
	expect_refused(dbpath, 0, SSHX_ERR_TAMPERED,
	    "is not an sshx database (or is damaged)");
	expect_refused(dbpath, SSHX_STORE_CREATE, SSHX_ERR_TAMPERED,
	    "is not an sshx database");
	/* Text that only starts like a database, too. */
	memcpy(junk, "SQLite format 3", 16);
	write_all(dbpath, junk, 200, 0600);
	expect_refused(dbpath, 0, SSHX_ERR_TAMPERED, "is not an sshx database");
}
END_TEST

START_TEST(test_foreign_sqlite_database_refused_unchanged)
{
	raw_exec(dbpath, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);"
	    "INSERT INTO notes (body) VALUES ('someone else''s data');");
	ck_assert_int_eq(chmod(dbpath, 0600), 0);
	expect_refused(dbpath, 0, SSHX_ERR_TAMPERED,
	    "is an SQLite database but not an sshx one");

	/* Another application's id, even without tables. */
	ck_assert_int_eq(unlink(dbpath), 0);
	raw_exec(dbpath, "PRAGMA application_id = 42; PRAGMA user_version = 1;");
	ck_assert_int_eq(chmod(dbpath, 0600), 0);
	expect_refused(dbpath, SSHX_STORE_CREATE, SSHX_ERR_TAMPERED,
	    "is an SQLite database but not an sshx one");

	/* No application id but a version of its own. */
	ck_assert_int_eq(unlink(dbpath), 0);
	raw_exec(dbpath, "PRAGMA user_version = 3;");
	ck_assert_int_eq(chmod(dbpath, 0600), 0);
	expect_refused(dbpath, 0, SSHX_ERR_TAMPERED, "but not an sshx one");
}
END_TEST

START_TEST(test_newer_schema_refused_unchanged)
{
	struct sshx_store *s = store_open(SSHX_STORE_CREATE);
	char want[128];

	sshx_store_close(s);
	raw_exec(dbpath, "PRAGMA user_version = 99");
	snprintf(want, sizeof(want), "has schema version 99; this sshx knows up "
	    "to %d (upgrade sshx)", sshx_store_schema_version());
	expect_refused(dbpath, 0, SSHX_ERR_VERSION, want);
	ck_assert_int_eq(raw_int("PRAGMA user_version"), 99);
}
END_TEST

START_TEST(test_empty_file_becomes_a_database)
{
	struct sshx_store *s;

	write_all(dbpath, (const uint8_t *)"", 0, 0600);
	s = store_open(0);
	sshx_store_close(s);
	ck_assert_int_eq(raw_int("PRAGMA user_version"), sshx_store_schema_version());
}
END_TEST

/* ---- Hosts and keys ---- */

START_TEST(test_hosts_add_find_remove)
{
	struct sshx_store *s = store_open(SSHX_STORE_CREATE);
	int64_t a, a2, b, h, found;

	ck_ok(sshx_store_add_host(s, "a.example", 22, 0, &a));
	ck_ok(sshx_store_add_host(s, "a.example", 2222, 0, &b));
	ck_ok(sshx_store_add_host(s, "a.example", 22, 0, &a2));
	ck_assert_msg(a != 0 && a == a2 && b != a, "expected the same id for the "
	    "same host and another for another port: %" PRId64 " %" PRId64
	    " %" PRId64, a, a2, b);
	ck_ok(sshx_store_add_host(s, "|1|c2FsdA==|aGFzaA==", 0, 1, &h));
	ck_ok(sshx_store_find_host(s, "|1|c2FsdA==|aGFzaA==", 0, &found));
	ck_assert_int_eq(found, h);
	ck_ok(sshx_store_find_host(s, "a.example", 2222, &found));
	ck_assert_int_eq(found, b);
	ck_err(sshx_store_find_host(s, "a.example", 23, &found), SSHX_ERR_NOT_FOUND);
	ck_assert_int_eq(found, 0);

	/* Shapes the table refuses, refused before SQL. */
	ck_err(sshx_store_add_host(s, "x.example", 0, 0, &found), SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_store_add_host(s, "x.example", 65536, 0, &found), SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_store_add_host(s, "|1|x|y", 22, 1, &found), SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_store_add_host(s, "", 22, 0, &found), SSHX_ERR_INVALID_ARGUMENT);
	/* A plain name that would read as hashed, and a hashed one that is not. */
	ck_err(sshx_store_add_host(s, "|1|x|y", 22, 0, &found), SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_store_add_host(s, "~x", 22, 0, &found), SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_store_add_host(s, "x.example", 0, 1, &found), SSHX_ERR_INVALID_ARGUMENT);

	ck_ok(sshx_store_remove_host(s, a));
	ck_err(sshx_store_find_host(s, "a.example", 22, &found), SSHX_ERR_NOT_FOUND);
	ck_err(sshx_store_remove_host(s, a), SSHX_ERR_NOT_FOUND);
	ck_ok(sshx_store_find_host(s, "a.example", 2222, &found));
	sshx_store_close(s);
}
END_TEST

START_TEST(test_remove_host_cascades_to_keys)
{
	struct sshx_store *s = store_open(SSHX_STORE_CREATE);
	struct recs rs = { .n = 0 };
	int64_t a, b;

	ck_ok(sshx_store_add_host(s, "a.example", 22, 0, &a));
	ck_ok(sshx_store_add_host(s, "b.example", 22, 0, &b));
	add_tagged(s, a, "ssh-ed25519", 1, SSHX_STORE_PINNED);
	add_tagged(s, a, "ssh-rsa", 2, SSHX_STORE_REVOKED);
	add_tagged(s, b, "ssh-ed25519", 3, SSHX_STORE_PINNED);
	ck_ok(sshx_store_remove_host(s, a));
	ck_ok(sshx_store_foreach_host_key(s, a, collect_key, &rs));
	ck_assert_int_eq(rs.n, 0);
	sshx_store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM host_keys"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM host_keys WHERE host_id = 2"), 1);
}
END_TEST

START_TEST(test_remove_key_removes_emptied_host)
{
	struct sshx_store *s = store_open(SSHX_STORE_CREATE);
	int64_t a, found, k1, k2;

	ck_ok(sshx_store_add_host(s, "a.example", 22, 0, &a));
	add_tagged(s, a, "ssh-ed25519", 1, SSHX_STORE_PINNED);
	add_tagged(s, a, "ssh-rsa", 2, SSHX_STORE_PINNED);
	k1 = key_id(s, a, 1);
	k2 = key_id(s, a, 2);

	ck_ok(sshx_store_remove_key(s, k1));
	ck_ok(sshx_store_find_host(s, "a.example", 22, &found));
	ck_assert_int_eq(count_keys(s), 1);
	ck_err(sshx_store_remove_key(s, k1), SSHX_ERR_NOT_FOUND);

	/* Inside a caller's transaction as well as on its own. */
	ck_ok(sshx_store_begin(s));
	ck_ok(sshx_store_remove_key(s, k2));
	ck_ok(sshx_store_commit(s));
	ck_err(sshx_store_find_host(s, "a.example", 22, &found), SSHX_ERR_NOT_FOUND);
	ck_assert_int_eq(count_keys(s), 0);
	sshx_store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM hosts"), 0);
}
END_TEST

START_TEST(test_duplicate_key_is_exists)
{
	struct sshx_store *s = store_open(SSHX_STORE_CREATE);
	uint8_t b[BLOB_LEN];
	int64_t a, c;

	ck_ok(sshx_store_add_host(s, "a.example", 22, 0, &a));
	ck_ok(sshx_store_add_host(s, "c.example", 22, 0, &c));
	add_tagged(s, a, "ssh-ed25519", 1, SSHX_STORE_PINNED);
	make_blob(b, 1);
	ck_err(sshx_store_add_key(s, a, "ssh-ed25519", b, sizeof(b), "SHA256:x",
	    SSHX_STORE_REVOKED, "again"), SSHX_ERR_EXISTS);
	/* The same key at another host is another pin. */
	ck_ok(sshx_store_add_key(s, c, "ssh-ed25519", b, sizeof(b), "SHA256:x",
	    SSHX_STORE_PINNED, "test"));
	ck_err(sshx_store_add_key(s, 9999, "ssh-ed25519", b, sizeof(b), "SHA256:x",
	    SSHX_STORE_PINNED, "test"), SSHX_ERR_NOT_FOUND);
	ck_err(sshx_store_add_key(s, a, "ssh-ed25519", b, sizeof(b), "SHA256:x",
	    (enum sshx_store_state)7, "test"), SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_store_add_key(s, a, "ssh-ed25519", b, 0, "SHA256:x",
	    SSHX_STORE_PINNED, "test"), SSHX_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(count_keys(s), 2);
	sshx_store_close(s);
}
END_TEST

START_TEST(test_lookup_same_and_other_pinned)
{
	struct sshx_store *s = store_open(SSHX_STORE_CREATE);
	struct sshx_store_lookup lk;
	uint8_t b[BLOB_LEN];
	int64_t h, empty, ka, kb, kc, kd;
	char sql[128];

	ck_ok(sshx_store_add_host(s, "h.example", 22, 0, &h));
	ck_ok(sshx_store_add_host(s, "empty.example", 22, 0, &empty));
	add_tagged(s, h, "ssh-ed25519", 1, SSHX_STORE_PINNED);
	add_tagged(s, h, "ssh-ed25519", 2, SSHX_STORE_PINNED);
	add_tagged(s, h, "ssh-ed25519", 3, SSHX_STORE_REVOKED);
	add_tagged(s, h, "ssh-rsa", 4, SSHX_STORE_PINNED);
	ka = key_id(s, h, 1);
	kb = key_id(s, h, 2);
	kc = key_id(s, h, 3);
	kd = key_id(s, h, 4);
	/* Key 2 was pinned first: it is the first in export order. */
	snprintf(sql, sizeof(sql), "UPDATE host_keys SET added = 50 WHERE id = %" PRId64, kb);
	raw_exec(dbpath, sql);
	snprintf(sql, sizeof(sql), "UPDATE host_keys SET added = 100 WHERE id = %" PRId64, ka);
	raw_exec(dbpath, sql);

	make_blob(b, 1);
	ck_ok(sshx_store_lookup_key(s, h, "ssh-ed25519", b, sizeof(b), &lk));
	ck_assert_int_eq(lk.same_id, ka);
	ck_assert_int_eq(lk.same_state, SSHX_STORE_PINNED);
	ck_assert_int_eq(lk.other_id, kb);
	ck_assert_str_eq(lk.other_fingerprint, "SHA256:fp-002");

	make_blob(b, 2);
	ck_ok(sshx_store_lookup_key(s, h, "ssh-ed25519", b, sizeof(b), &lk));
	ck_assert_int_eq(lk.same_id, kb);
	ck_assert_int_eq(lk.other_id, ka);

	make_blob(b, 3);
	ck_ok(sshx_store_lookup_key(s, h, "ssh-ed25519", b, sizeof(b), &lk));
	ck_assert_int_eq(lk.same_id, kc);
	ck_assert_int_eq(lk.same_state, SSHX_STORE_REVOKED);
	ck_assert_int_eq(lk.other_id, kb);

	make_blob(b, 9);
	ck_ok(sshx_store_lookup_key(s, h, "ssh-ed25519", b, sizeof(b), &lk));
	ck_assert_int_eq(lk.same_id, 0);
	ck_assert_int_eq(lk.other_id, kb);

	/* Only pinned keys of the same type count as "other". */
	make_blob(b, 4);
	ck_ok(sshx_store_lookup_key(s, h, "ssh-rsa", b, sizeof(b), &lk));
	ck_assert_int_eq(lk.same_id, kd);
	ck_assert_int_eq(lk.other_id, 0);
	ck_assert_str_eq(lk.other_fingerprint, "");
	make_blob(b, 5);
	ck_ok(sshx_store_lookup_key(s, h, "ecdsa-sha2-nistp256", b, sizeof(b), &lk));
	ck_assert_int_eq(lk.same_id, 0);
	ck_assert_int_eq(lk.other_id, 0);
	ck_ok(sshx_store_set_key_state(s, kb, SSHX_STORE_REVOKED));
	make_blob(b, 9);
	ck_ok(sshx_store_lookup_key(s, h, "ssh-ed25519", b, sizeof(b), &lk));
	ck_assert_int_eq(lk.other_id, ka);
	ck_ok(sshx_store_lookup_key(s, empty, "ssh-ed25519", b, sizeof(b), &lk));
	ck_assert_int_eq(lk.same_id, 0);
	ck_assert_int_eq(lk.other_id, 0);
	sshx_store_close(s);
}
END_TEST

START_TEST(test_retire_then_finalize)
{
	struct sshx_store *s = store_open(SSHX_STORE_CREATE);
	struct sshx_store_lookup lk;
	struct recs rs = { .n = 0 };
	unsigned long n;
	int64_t h, k;
	uint8_t blob[64];

	ck_ok(sshx_store_add_host(s, "h.example", 22, 0, &h));
	add_tagged(s, h, "ssh-ed25519", 1, SSHX_STORE_PINNED);
	k = key_id(s, h, 1);
	/* Retired in the future: still pinned, and it still blocks another key of its type. */
	ck_ok(sshx_store_retire_key(s, k, (int64_t)time(NULL) + 3600));
	ck_ok(sshx_store_foreach_key(s, collect_key, &rs));
	ck_assert_int_eq(rs.r[0].state, SSHX_STORE_PINNED);
	ck_assert_int_gt(rs.r[0].retire_at, (int64_t)time(NULL));
	memset(blob, 0xee, sizeof(blob));
	ck_ok(sshx_store_lookup_key(s, h, "ssh-ed25519", blob, sizeof(blob), &lk));
	ck_assert_int_eq(lk.other_id, k);
	/* Retired in the past: revoked everywhere without anything written. */
	ck_ok(sshx_store_retire_key(s, k, (int64_t)time(NULL) - 1));
	rs.n = 0;
	ck_ok(sshx_store_foreach_key(s, collect_key, &rs));
	ck_assert_int_eq(rs.r[0].state, SSHX_STORE_REVOKED);
	ck_ok(sshx_store_lookup_key(s, h, "ssh-ed25519", blob, sizeof(blob), &lk));
	ck_assert_int_eq(lk.other_id, 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM host_keys WHERE state = 'pinned'"), 1);
	/* Finalize writes it down, once. */
	ck_ok(sshx_store_finalize_host(s, h, &n));
	ck_assert_uint_eq(n, 1);
	ck_ok(sshx_store_finalize_host(s, h, &n));
	ck_assert_uint_eq(n, 0);
	ck_err(sshx_store_retire_key(s, k + 100, (int64_t)time(NULL)), SSHX_ERR_NOT_FOUND);
	sshx_store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM host_keys WHERE state = 'revoked' "
	    "AND retire_at IS NULL"), 1);
}
END_TEST

START_TEST(test_state_changes)
{
	struct sshx_store *s = store_open(SSHX_STORE_CREATE);
	struct recs rs = { .n = 0 };
	int64_t h, k;

	ck_ok(sshx_store_add_host(s, "h.example", 22, 0, &h));
	add_tagged(s, h, "ssh-ed25519", 1, SSHX_STORE_PINNED);
	k = key_id(s, h, 1);
	ck_ok(sshx_store_set_key_state(s, k, SSHX_STORE_REVOKED));
	ck_ok(sshx_store_foreach_key(s, collect_key, &rs));
	ck_assert_int_eq(rs.r[0].state, SSHX_STORE_REVOKED);
	ck_ok(sshx_store_set_key_state(s, k, SSHX_STORE_PINNED));
	rs.n = 0;
	ck_ok(sshx_store_foreach_key(s, collect_key, &rs));
	ck_assert_int_eq(rs.r[0].state, SSHX_STORE_PINNED);
	ck_err(sshx_store_set_key_state(s, k + 100, SSHX_STORE_REVOKED), SSHX_ERR_NOT_FOUND);
	ck_err(sshx_store_set_key_state(s, k, (enum sshx_store_state)0),
	    SSHX_ERR_INVALID_ARGUMENT);
	sshx_store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM host_keys WHERE state = 'pinned'"), 1);
}
END_TEST

START_TEST(test_touch_sets_last_verified)
{
	struct sshx_store *s = store_open(SSHX_STORE_CREATE);
	struct recs rs = { .n = 0 };
	time_t before = time(NULL);
	int64_t h, k;

	ck_ok(sshx_store_add_host(s, "h.example", 22, 0, &h));
	add_tagged(s, h, "ssh-ed25519", 1, SSHX_STORE_PINNED);
	k = key_id(s, h, 1);
	ck_ok(sshx_store_foreach_key(s, collect_key, &rs));
	ck_assert_int_eq(rs.r[0].last_verified, 0);
	ck_assert_msg(rs.r[0].added >= before && rs.r[0].added <= time(NULL),
	    "expected added to be now, got %" PRId64, rs.r[0].added);
	ck_assert_str_eq(rs.r[0].source, "test");
	ck_assert_str_eq(rs.r[0].fp, "SHA256:fp-001");
	ck_ok(sshx_store_touch_key(s, k, 1700000123));
	rs.n = 0;
	ck_ok(sshx_store_foreach_key(s, collect_key, &rs));
	ck_assert_int_eq(rs.r[0].last_verified, 1700000123);
	ck_err(sshx_store_touch_key(s, k + 1, 1), SSHX_ERR_NOT_FOUND);
	sshx_store_close(s);
}
END_TEST

/* Fills the store with hosts and keys out of order (fixture of the order tests). */
static void
fill_for_order(struct sshx_store *s)
{
	int64_t zeta, hb, a2222, a22, ha, ip, a2;
	char sql[256];

	ck_ok(sshx_store_begin(s));
	ck_ok(sshx_store_add_host(s, "zeta.example", 22, 0, &zeta));
	ck_ok(sshx_store_add_host(s, "|1|bbbb|hash2", 0, 1, &hb));
	ck_ok(sshx_store_add_host(s, "alpha.example", 2222, 0, &a2222));
	ck_ok(sshx_store_add_host(s, "alpha.example", 22, 0, &a22));
	ck_ok(sshx_store_add_host(s, "|1|aaaa|hash1", 0, 1, &ha));
	ck_ok(sshx_store_add_host(s, "10.0.0.1", 22, 0, &ip));
	ck_ok(sshx_store_add_host(s, "alpha.example-2", 22, 0, &a2));
	add_tagged(s, zeta, "ssh-rsa", 40, SSHX_STORE_PINNED);
	add_tagged(s, hb, "ssh-ed25519", 60, SSHX_STORE_PINNED);
	add_tagged(s, a2222, "ssh-rsa", 20, SSHX_STORE_PINNED);
	add_tagged(s, a2222, "ssh-ed25519", 21, SSHX_STORE_REVOKED);
	add_tagged(s, a22, "ssh-rsa", 1, SSHX_STORE_PINNED);
	add_tagged(s, a22, "ssh-ed25519", 2, SSHX_STORE_PINNED);
	add_tagged(s, a22, "ecdsa-sha2-nistp384", 3, SSHX_STORE_PINNED);
	add_tagged(s, a22, "ssh-ed25519", 4, SSHX_STORE_PINNED);
	add_tagged(s, a22, "ecdsa-sha2-nistp256", 5, SSHX_STORE_PINNED);
	add_tagged(s, a22, "x-unknown@example.com", 6, SSHX_STORE_PINNED);
	add_tagged(s, a22, "ssh-ed25519", 7, SSHX_STORE_PINNED);
	add_tagged(s, ha, "ecdsa-sha2-nistp521", 50, SSHX_STORE_PINNED);
	add_tagged(s, ha, "ssh-ed25519", 51, SSHX_STORE_PINNED);
	add_tagged(s, ip, "ssh-ed25519", 10, SSHX_STORE_PINNED);
	add_tagged(s, a2, "ssh-dss", 30, SSHX_STORE_PINNED);
	ck_ok(sshx_store_commit(s));
	/* Keys 2 and 7 were added at the same time, key 4 earlier. */
	snprintf(sql, sizeof(sql), "UPDATE host_keys SET added = 1000 WHERE "
	    "host_id = %" PRId64 "; UPDATE host_keys SET added = 500 WHERE "
	    "host_id = %" PRId64 " AND blob = (SELECT blob FROM host_keys WHERE "
	    "fingerprint = 'SHA256:fp-004')", a22, a22);
	raw_exec(dbpath, sql);
}

static const struct want export_order[] = {
	{ "10.0.0.1", 22, "ssh-ed25519", 10 },
	{ "alpha.example", 22, "ssh-ed25519", 4 },
	{ "alpha.example", 22, "ssh-ed25519", 2 },
	{ "alpha.example", 22, "ssh-ed25519", 7 },
	{ "alpha.example", 22, "ecdsa-sha2-nistp256", 5 },
	{ "alpha.example", 22, "ecdsa-sha2-nistp384", 3 },
	{ "alpha.example", 22, "ssh-rsa", 1 },
	{ "alpha.example", 22, "x-unknown@example.com", 6 },
	{ "alpha.example", 2222, "ssh-ed25519", 21 },
	{ "alpha.example", 2222, "ssh-rsa", 20 },
	{ "alpha.example-2", 22, "ssh-dss", 30 },
	{ "zeta.example", 22, "ssh-rsa", 40 },
	{ "|1|aaaa|hash1", 0, "ssh-ed25519", 51 },
	{ "|1|aaaa|hash1", 0, "ecdsa-sha2-nistp521", 50 },
	{ "|1|bbbb|hash2", 0, "ssh-ed25519", 60 },
};
#define N_EXPORT	(int)(sizeof(export_order) / sizeof(export_order[0]))

START_TEST(test_foreach_key_export_order)
{
	struct sshx_store *s = store_open(SSHX_STORE_CREATE);
	struct recs rs = { .n = 0 };

	fill_for_order(s);
	ck_ok(sshx_store_begin_read(s));
	ck_ok(sshx_store_foreach_key(s, collect_key, &rs));
	sshx_store_rollback(s);
	check_order(&rs, export_order, N_EXPORT, "foreach_key");
	ck_assert_int_eq(rs.r[8].state, SSHX_STORE_REVOKED);
	ck_assert_int_eq(rs.r[1].added, 500);
	sshx_store_close(s);
}
END_TEST

START_TEST(test_foreach_host_key_one_host_in_order)
{
	struct sshx_store *s = store_open(SSHX_STORE_CREATE);
	struct recs rs = { .n = 0 };
	int64_t a22;

	fill_for_order(s);
	ck_ok(sshx_store_find_host(s, "alpha.example", 22, &a22));
	ck_ok(sshx_store_foreach_host_key(s, a22, collect_key, &rs));
	check_order(&rs, export_order + 1, 7, "foreach_host_key");
	rs.n = 0;
	ck_ok(sshx_store_foreach_host_key(s, 0, collect_key, &rs));
	ck_assert_int_eq(rs.n, 0);
	sshx_store_close(s);
}
END_TEST

START_TEST(test_foreach_hashed_key_only_hashed)
{
	struct sshx_store *s = store_open(SSHX_STORE_CREATE);
	struct recs rs = { .n = 0 };

	fill_for_order(s);
	ck_ok(sshx_store_foreach_hashed_key(s, collect_key, &rs));
	check_order(&rs, export_order + N_EXPORT - 3, 3, "foreach_hashed_key");
	sshx_store_close(s);
}
END_TEST

START_TEST(test_foreach_by_fingerprint)
{
	static const struct want want[] = {
		{ "10.0.0.1", 22, "ssh-ed25519", 10 },
		{ "zeta.example", 22, "ssh-ed25519", 10 },
		{ "|1|bbbb|hash2", 0, "ssh-ed25519", 10 },
	};
	struct sshx_store *s = store_open(SSHX_STORE_CREATE);
	struct recs rs = { .n = 0 };
	int64_t zeta, hb;

	fill_for_order(s);
	ck_ok(sshx_store_find_host(s, "zeta.example", 22, &zeta));
	ck_ok(sshx_store_find_host(s, "|1|bbbb|hash2", 0, &hb));
	add_tagged(s, hb, "ssh-ed25519", 10, SSHX_STORE_PINNED);
	add_tagged(s, zeta, "ssh-ed25519", 10, SSHX_STORE_REVOKED);
	ck_ok(sshx_store_foreach_key_by_fingerprint(s, "SHA256:fp-010", collect_key, &rs));
	check_order(&rs, want, 3, "foreach_key_by_fingerprint");
	rs.n = 0;
	ck_ok(sshx_store_foreach_key_by_fingerprint(s, "SHA256:none", collect_key, &rs));
	ck_assert_int_eq(rs.n, 0);
	sshx_store_close(s);
}
END_TEST

/* Stops after three keys. */
static int
stop_after_three(const struct sshx_store_key *k, void *arg)
{
	int *n = arg;

	(void)k;
	return ++*n == 3 ? 42 : 0;
}

struct nested {
	struct sshx_store *s;
	int outer, inner;
};

/* Lists each key's host again from inside the listing. */
static int
list_again(const struct sshx_store_key *k, void *arg)
{
	struct nested *n = arg;
	struct recs rs = { .n = 0 };
	int r;

	n->outer++;
	if ((r = sshx_store_foreach_host_key(n->s, k->host_id, collect_key, &rs)) != 0)
		return r;
	n->inner += rs.n;
	return sshx_store_foreach_key(n->s, stop_after_three, &(int){ 0 }) == 42 ? 0 : -1;
}

START_TEST(test_callback_stops_and_may_call_back)
{
	struct sshx_store *s = store_open(SSHX_STORE_CREATE);
	struct nested n = { s, 0, 0 };
	int count = 0;

	fill_for_order(s);
	ck_assert_int_eq(sshx_store_foreach_key(s, stop_after_three, &count), 42);
	ck_assert_int_eq(count, 3);
	/* The statement was reset: a new listing starts from the top. */
	ck_assert_int_eq(count_keys(s), N_EXPORT);
	ck_ok(sshx_store_foreach_key(s, list_again, &n));
	ck_assert_int_eq(n.outer, N_EXPORT);
	ck_assert_int_eq(n.inner, 1 + 7 * 7 + 2 * 2 + 1 + 1 + 2 * 2 + 1);
	sshx_store_close(s);
}
END_TEST

/* ---- Patterns ---- */

static void
add_pat(struct sshx_store *s, enum sshx_store_marker m, const char *pattern,
    const char *type, int tag, const char *fp)
{
	uint8_t b[BLOB_LEN];

	make_blob(b, tag);
	ck_ok(sshx_store_add_pattern(s, m, pattern, type, b, sizeof(b), fp, "test"));
}

START_TEST(test_patterns_order_exists_remove)
{
	struct sshx_store *s = store_open(SSHX_STORE_CREATE);
	struct recs rs = { .n = 0 };
	uint8_t b[BLOB_LEN];
	static const struct {
		int marker;
		const char *pattern, *type;
		int tag;
	} want[] = {
		{ SSHX_STORE_MARK_CA, "*.beta", "ssh-rsa", 5 },
		{ SSHX_STORE_MARK_CA, "*.corp", "ssh-ed25519", 4 },
		{ SSHX_STORE_MARK_CA, "*.corp", "ssh-ed25519", 3 },
		{ SSHX_STORE_MARK_CA, "*.corp", "ssh-rsa", 2 },
		{ SSHX_STORE_MARK_REVOKED, "*", "ssh-rsa", 6 },
		{ SSHX_STORE_MARK_REVOKED, "*.example", "ssh-ed25519", 1 },
	};
	size_t i;

	add_pat(s, SSHX_STORE_MARK_REVOKED, "*.example", "ssh-ed25519", 1, "SHA256:b");
	add_pat(s, SSHX_STORE_MARK_CA, "*.corp", "ssh-rsa", 2, "SHA256:a");
	add_pat(s, SSHX_STORE_MARK_CA, "*.corp", "ssh-ed25519", 3, "SHA256:z");
	add_pat(s, SSHX_STORE_MARK_CA, "*.corp", "ssh-ed25519", 4, "SHA256:c");
	add_pat(s, SSHX_STORE_MARK_CA, "*.beta", "ssh-rsa", 5, "SHA256:x");
	add_pat(s, SSHX_STORE_MARK_REVOKED, "*", "ssh-rsa", 6, "SHA256:y");
	ck_ok(sshx_store_foreach_pattern(s, collect_pattern, &rs));
	ck_assert_int_eq(rs.n, (int)(sizeof(want) / sizeof(want[0])));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(rs.r[i].marker == want[i].marker &&
		    strcmp(rs.r[i].pattern, want[i].pattern) == 0 &&
		    strcmp(rs.r[i].type, want[i].type) == 0 &&
		    rs.r[i].tag == want[i].tag, "row %zu: expected %d %s %s #%d, "
		    "got %d %s %s #%d", i, want[i].marker, want[i].pattern,
		    want[i].type, want[i].tag, rs.r[i].marker, rs.r[i].pattern,
		    rs.r[i].type, rs.r[i].tag);
	ck_assert_str_eq(rs.r[0].source, "test");
	ck_assert_str_eq(rs.r[0].fp, "SHA256:x");
	ck_assert_int_ge(rs.r[0].added, 1);

	make_blob(b, 2);
	ck_err(sshx_store_add_pattern(s, SSHX_STORE_MARK_CA, "*.corp", "ssh-rsa",
	    b, sizeof(b), "SHA256:a", "again"), SSHX_ERR_EXISTS);
	/* The same key under the other marker is another entry. */
	ck_ok(sshx_store_add_pattern(s, SSHX_STORE_MARK_REVOKED, "*.corp", "ssh-rsa",
	    b, sizeof(b), "SHA256:a", "test"));
	ck_err(sshx_store_add_pattern(s, (enum sshx_store_marker)9, "*", "ssh-rsa",
	    b, sizeof(b), "SHA256:a", "test"), SSHX_ERR_INVALID_ARGUMENT);

	ck_ok(sshx_store_remove_pattern(s, SSHX_STORE_MARK_CA, "*.corp"));
	ck_err(sshx_store_remove_pattern(s, SSHX_STORE_MARK_CA, "*.corp"), SSHX_ERR_NOT_FOUND);
	ck_err(sshx_store_remove_pattern(s, SSHX_STORE_MARK_CA, "*"), SSHX_ERR_NOT_FOUND);
	rs.n = 0;
	ck_ok(sshx_store_foreach_pattern(s, collect_pattern, &rs));
	ck_assert_int_eq(rs.n, 4);
	sshx_store_close(s);
}
END_TEST

/* ---- Audit ---- */

START_TEST(test_audit_row_contents)
{
	struct sshx_store *s = store_open(SSHX_STORE_CREATE);
	struct sshx_store_audit a = {
		.actor = "sshxctl", .action = "hosts.add", .host = "a.example",
		.fingerprint = "SHA256:abc", .detail = "port 22", .result = "ok",
	};
	struct sshx_store_audit bare = {
		.actor = "agentd", .action = "sign", .result = "refused",
	};
	int64_t before = (int64_t)time(NULL), t;
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	const char *exe;

	ck_ok(sshx_store_audit(s, &a));
	ck_ok(sshx_store_audit(s, &bare));
	a.result = NULL;
	ck_err(sshx_store_audit(s, &a), SSHX_ERR_INVALID_ARGUMENT);
	sshx_store_close(s);

	ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT time, actor, uid, pid, exe, "
	    "action, host, fingerprint, detail, result FROM audit ORDER BY id",
	    -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	t = sqlite3_column_int64(st, 0);
	ck_assert_msg(t >= before && t <= (int64_t)time(NULL),
	    "expected the time of the call, got %" PRId64, t);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 1), "sshxctl");
	ck_assert_int_eq(sqlite3_column_int64(st, 2), getuid());
	ck_assert_int_eq(sqlite3_column_int64(st, 3), getpid());
	exe = (const char *)sqlite3_column_text(st, 4);
	ck_assert_msg(exe != NULL && exe[0] == '/' && strstr(exe, "test_store") != NULL,
	    "expected the test's executable, got \"%s\"", exe != NULL ? exe : "(null)");
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 5), "hosts.add");
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 6), "a.example");
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 7), "SHA256:abc");
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 8), "port 22");
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 9), "ok");
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 1), "agentd");
	ck_assert_int_eq(sqlite3_column_type(st, 6), SQLITE_NULL);
	ck_assert_int_eq(sqlite3_column_type(st, 7), SQLITE_NULL);
	ck_assert_int_eq(sqlite3_column_type(st, 8), SQLITE_NULL);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 9), "refused");
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
}
END_TEST

START_TEST(test_audit_batch_rows_as_given)
{
	struct sshx_store *s = store_open(SSHX_STORE_CREATE);
	struct sshx_store_audit_rec recs[3];
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;

	memset(recs, 0, sizeof(recs));
	recs[0] = (struct sshx_store_audit_rec){ .time = 1000, .actor = "agentd",
	    .uid = 1234, .pid = 4321, .exe = "/usr/bin/python3.11",
	    .action = "agent.sign", .fingerprint = "SHA256:k", .result = "ok",
	    .kind = "userauth", .peer_user = "alice",
	    .peer_host_key = "SHA256:h", .forwarded = 0 };
	recs[1] = (struct sshx_store_audit_rec){ .time = 1001, .actor = "agentd",
	    .uid = -1, .pid = -1, .action = "agent.sign", .result = "refused",
	    .detail = "key not held", .kind = "sshsig", .ns = "file@example",
	    .forwarded = -1 };
	recs[2] = (struct sshx_store_audit_rec){ .time = 1002, .actor = "agentd",
	    .uid = 0, .pid = 1, .action = "agent.list", .result = "ok",
	    .forwarded = 1 };
	ck_ok(sshx_store_audit_batch(s, recs, 3));
	ck_ok(sshx_store_audit_batch(s, recs, 0));
	/* One bad row and nothing of the batch is written. */
	recs[1].result = NULL;
	ck_err(sshx_store_audit_batch(s, recs, 3), SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_store_audit_batch(s, NULL, 1), SSHX_ERR_INVALID_ARGUMENT);
	sshx_store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit"), 3);

	ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT time, uid, pid, exe, kind, "
	    "peer_user, peer_host_key, namespace, forwarded, detail FROM audit "
	    "ORDER BY id", -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int64(st, 0), 1000);
	ck_assert_int_eq(sqlite3_column_int64(st, 1), 1234);
	ck_assert_int_eq(sqlite3_column_int64(st, 2), 4321);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 3), "/usr/bin/python3.11");
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 4), "userauth");
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 5), "alice");
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 6), "SHA256:h");
	ck_assert_int_eq(sqlite3_column_type(st, 7), SQLITE_NULL);
	ck_assert_int_eq(sqlite3_column_int(st, 8), 0);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_type(st, 1), SQLITE_NULL);
	ck_assert_int_eq(sqlite3_column_type(st, 2), SQLITE_NULL);
	ck_assert_int_eq(sqlite3_column_type(st, 3), SQLITE_NULL);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 7), "file@example");
	ck_assert_int_eq(sqlite3_column_type(st, 8), SQLITE_NULL);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 9), "key not held");
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 8), 1);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
}
END_TEST

/* Counts the rows foreach_audit passes and checks the agent's fields come back. */
static int
count_agent_row(const struct sshx_store_audit_row *row, void *arg)
{
	int *n = arg;

	if (row->kind != NULL) {
		ck_assert_str_eq(row->kind, "userauth");
		ck_assert_str_eq(row->peer_user, "alice");
		ck_assert_int_eq(row->forwarded, 1);
	} else
		ck_assert_int_eq(row->forwarded, -1);
	(*n)++;
	return 0;
}

START_TEST(test_audit_batch_read_back_by_key_and_pruned)
{
	struct sshx_store *s = store_open(SSHX_STORE_CREATE);
	int64_t now = (int64_t)time(NULL);
	struct sshx_store_audit_rec recs[2] = {
		{ .time = now - 10 * 86400, .actor = "agentd", .uid = 1, .pid = 2,
		    .action = "agent.sign", .fingerprint = "SHA256:k",
		    .result = "ok", .forwarded = -1 },
		{ .time = now, .actor = "agentd", .uid = 1, .pid = 2,
		    .action = "agent.sign", .fingerprint = "SHA256:k",
		    .result = "ok", .kind = "userauth", .peer_user = "alice",
		    .forwarded = 1 },
	};
	struct sshx_store_audit other = { .actor = "sshxctl", .action = "hosts.add",
	    .fingerprint = "SHA256:other", .result = "ok" };
	int n = 0;

	ck_ok(sshx_store_audit_batch(s, recs, 2));
	ck_ok(sshx_store_audit(s, &other));
	ck_ok(sshx_store_foreach_audit(s, 0, "SHA256:k", count_agent_row, &n));
	ck_assert_int_eq(n, 2);
	n = 0;
	ck_ok(sshx_store_foreach_audit(s, now - 86400, "SHA256:k", count_agent_row, &n));
	ck_assert_int_eq(n, 1);
	n = 0;
	ck_ok(sshx_store_foreach_audit(s, 0, NULL, count_agent_row, &n));
	ck_assert_int_eq(n, 3);
	/* A batch prunes by the retention like a single row does. */
	ck_ok(sshx_store_set_retention(s, 2 * 86400));
	recs[1].time = now + 1;
	ck_ok(sshx_store_audit_batch(s, &recs[1], 1));
	n = 0;
	ck_ok(sshx_store_foreach_audit(s, 0, "SHA256:k", count_agent_row, &n));
	ck_assert_int_eq(n, 2);
	sshx_store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE time < "
	    "strftime('%s', 'now') - 86400"), 0);
}
END_TEST

START_TEST(test_version_2_database_upgrades_keeping_rows)
{
	struct sshx_store *s;
	char sql[128];
	size_t i;

	/* A database as the build before the agent's audit columns left it. */
	ck_assert_int_ge(sshx_schema_count, 3);
	for (i = 0; i < 2; i++)
		raw_exec(dbpath, sshx_schema_migrations[i].sql);
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; "
	    "PRAGMA user_version = 2;", APP_ID);
	raw_exec(dbpath, sql);
	raw_exec(dbpath, "INSERT INTO meta (name, value) VALUES ('hash-key', "
	    "zeroblob(32)); INSERT INTO audit (time, actor, action, result) "
	    "VALUES (5, 'sshxctl', 'hosts.add', 'ok');");
	ck_assert_int_eq(chmod(dbpath, 0600), 0);
	s = store_open(0);
	sshx_store_close(s);
	ck_assert_int_eq(raw_int("PRAGMA user_version"), sshx_store_schema_version());
	ck_assert_int_eq(raw_int("SELECT count(*) FROM audit WHERE action = "
	    "'hosts.add' AND kind IS NULL AND forwarded IS NULL"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sqlite_master WHERE "
	    "type = 'index' AND name = 'audit_by_fingerprint'"), 1);
}
END_TEST

/* ---- Transactions ---- */

START_TEST(test_rollback_leaves_nothing)
{
	struct sshx_store *s = store_open(SSHX_STORE_CREATE);
	struct sshx_store_audit a = { .actor = "t", .action = "x", .result = "ok" };
	int64_t h;

	sshx_store_rollback(s);		/* harmless without a transaction */
	ck_ok(sshx_store_begin(s));
	ck_ok(sshx_store_add_host(s, "a.example", 22, 0, &h));
	add_tagged(s, h, "ssh-ed25519", 1, SSHX_STORE_PINNED);
	add_pat(s, SSHX_STORE_MARK_CA, "*", "ssh-ed25519", 2, "SHA256:p");
	ck_ok(sshx_store_audit(s, &a));
	sshx_store_rollback(s);
	ck_err(sshx_store_find_host(s, "a.example", 22, &h), SSHX_ERR_NOT_FOUND);
	ck_assert_int_eq(count_keys(s), 0);

	/* Closing with a transaction open rolls it back too. */
	ck_ok(sshx_store_begin(s));
	ck_ok(sshx_store_add_host(s, "b.example", 22, 0, &h));
	sshx_store_close(s);
	ck_assert_int_eq(raw_int("SELECT (SELECT count(*) FROM hosts) + "
	    "(SELECT count(*) FROM host_keys) + (SELECT count(*) FROM patterns) + "
	    "(SELECT count(*) FROM audit)"), 0);
}
END_TEST

START_TEST(test_begin_read_is_a_snapshot)
{
	struct sshx_store *r = store_open(SSHX_STORE_CREATE), *w = store_open(0);
	int64_t h;

	ck_ok(sshx_store_add_host(w, "a.example", 22, 0, &h));
	add_tagged(w, h, "ssh-ed25519", 1, SSHX_STORE_PINNED);
	ck_ok(sshx_store_begin_read(r));
	ck_assert_int_eq(count_keys(r), 1);
	ck_ok(sshx_store_begin(w));
	ck_ok(sshx_store_add_host(w, "b.example", 22, 0, &h));
	add_tagged(w, h, "ssh-ed25519", 2, SSHX_STORE_PINNED);
	ck_ok(sshx_store_commit(w));
	ck_assert_int_eq(count_keys(r), 1);
	sshx_store_rollback(r);
	ck_assert_int_eq(count_keys(r), 2);
	/* A second begin inside a transaction is an error, not a silent nest. */
	ck_ok(sshx_store_begin(w));
	ck_assert_int_ne(sshx_store_begin(w), 0);
	ck_ok(sshx_store_commit(w));
	ck_assert_ptr_nonnull(sshx_store_errmsg(w));
	sshx_store_close(r);
	sshx_store_close(w);
}
END_TEST

/* One writer: rounds × (begin; host and key; commit); returns 0 or the first error. */
static int
writer(int who, int rounds)
{
	struct sshx_store *s = NULL;
	uint8_t b[BLOB_LEN];
	char name[64], fp[64], w[256];
	int64_t h;
	int r, i;

	if ((r = sshx_store_open(dbpath, 0, &s, w, sizeof(w))) != 0)
		return r;
	for (i = 0; i < rounds && r == 0; i++) {
		snprintf(name, sizeof(name), "w%d-%03d.example", who, i);
		snprintf(fp, sizeof(fp), "SHA256:w%d-%03d", who, i);
		make_blob(b, who * N_ROUNDS + i);
		b[20] = (uint8_t)who;
		if ((r = sshx_store_begin(s)) != 0)
			break;
		if ((r = sshx_store_add_host(s, name, 22, 0, &h)) != 0 ||
		    (r = sshx_store_add_key(s, h, "ssh-ed25519", b, sizeof(b), fp,
		    SSHX_STORE_PINNED, "writer")) != 0) {
			sshx_store_rollback(s);
			break;
		}
		r = sshx_store_commit(s);
	}
	sshx_store_close(s);
	return r;
}

START_TEST(test_concurrent_writers_lose_nothing)
{
	pid_t pids[N_CHILDREN];
	int i, status, r;

	sshx_store_close(store_open(SSHX_STORE_CREATE));
	for (i = 0; i < N_CHILDREN; i++) {
		ck_assert_int_ge(pids[i] = fork(), 0);
		if (pids[i] == 0)
			_exit(writer(i + 1, N_ROUNDS) == 0 ? 0 : 1);
	}
	r = writer(0, N_ROUNDS);
	ck_assert_msg(r == 0, "parent writer: expected 0, got %s", sshx_strerror(r));
	for (i = 0; i < N_CHILDREN; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "child writer %d: expected exit 0, got status %d", i + 1, status);
	}
	ck_assert_int_eq(raw_int("SELECT count(*) FROM hosts"), (N_CHILDREN + 1) * N_ROUNDS);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM host_keys"), (N_CHILDREN + 1) * N_ROUNDS);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM hosts h JOIN host_keys k "
	    "ON k.host_id = h.id WHERE k.fingerprint = 'SHA256:' || "
	    "substr(h.name, 1, instr(h.name, '.') - 1)"), (N_CHILDREN + 1) * N_ROUNDS);
}
END_TEST

START_TEST(test_concurrent_creation_migrates_once)
{
	uint8_t key[SSHX_STORE_HASH_KEY_LEN];
	struct sshx_store *s;
	pid_t pids[N_CHILDREN];
	int i, status;

	for (i = 0; i < N_CHILDREN; i++) {
		ck_assert_int_ge(pids[i] = fork(), 0);
		if (pids[i] == 0) {
			s = NULL;
			if (sshx_store_open(dbpath, SSHX_STORE_CREATE, &s, NULL, 0) != 0 ||
			    sshx_store_hash_key(s, key) != 0)
				_exit(1);
			sshx_store_close(s);
			_exit(0);
		}
	}
	for (i = 0; i < N_CHILDREN; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "opener %d: expected exit 0, got status %d", i + 1, status);
	}
	ck_assert_int_eq(raw_int("PRAGMA user_version"), sshx_store_schema_version());
	ck_assert_int_eq(raw_int("SELECT count(*) FROM meta"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM sqlite_master WHERE "
	    "type = 'table' AND name = 'hosts'"), 1);
}
END_TEST

START_TEST(test_begin_waits_for_another_writer)
{
	struct sshx_store *s;
	int p[2], status;
	double t0, waited;
	int64_t h;
	pid_t pid;
	char c;

	sshx_store_close(store_open(SSHX_STORE_CREATE));
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		struct sshx_store *cs = NULL;
		int r;

		close(p[0]);
		if (sshx_store_open(dbpath, 0, &cs, NULL, 0) != 0 ||
		    sshx_store_begin(cs) != 0 ||
		    sshx_store_add_host(cs, "held.example", 22, 0, &h) != 0)
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(2);
		usleep(HOLD_US);
		r = sshx_store_commit(cs);
		sshx_store_close(cs);
		_exit(r == 0 ? 0 : 3);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	s = store_open(0);
	t0 = now_s();
	ck_ok(sshx_store_begin(s));
	waited = now_s() - t0;
	ck_assert_msg(waited > HOLD_US / 1e6 / 2, "expected begin to wait for the "
	    "other writer, it returned after %.3f s", waited);
	ck_ok(sshx_store_find_host(s, "held.example", 22, &h));
	ck_ok(sshx_store_commit(s));
	sshx_store_close(s);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "expected the holding writer to exit 0, got status %d", status);
}
END_TEST

START_TEST(test_cache_size_and_sync_settings)
{
	struct sshx_store *s = store_open(SSHX_STORE_CREATE);
	int64_t h;

	ck_ok(sshx_store_set_cache_kib(s, 128));
	ck_ok(sshx_store_set_sync(s, 0));
	ck_err(sshx_store_set_cache_kib(s, 0), SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_store_set_cache_kib(NULL, 128), SSHX_ERR_INVALID_ARGUMENT);
	/* The connection still writes and reads as before. */
	ck_ok(sshx_store_begin(s));
	ck_ok(sshx_store_add_host(s, "cache.example", 22, 0, &h));
	ck_ok(sshx_store_commit(s));
	sshx_store_close(s);
}
END_TEST

START_TEST(test_short_busy_timeout_gives_busy)
{
	struct sshx_store *s;
	int p[2], q[2], status;
	int64_t h;
	pid_t pid;
	char c;

	sshx_store_close(store_open(SSHX_STORE_CREATE));
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(pipe(q), 0);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		struct sshx_store *cs = NULL;

		close(p[0]);
		close(q[1]);
		if (sshx_store_open(dbpath, 0, &cs, NULL, 0) != 0 ||
		    sshx_store_begin(cs) != 0 ||
		    sshx_store_add_host(cs, "held.example", 22, 0, &h) != 0)
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(2);
		/* Hold the write lock until the parent has seen BUSY. */
		if (read(q[0], &c, 1) != 1)
			_exit(3);
		sshx_store_rollback(cs);
		sshx_store_close(cs);
		_exit(0);
	}
	close(p[1]);
	close(q[0]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	s = store_open(0);
	ck_ok(sshx_store_set_busy_timeout(s, 50));
	ck_assert_int_eq(sshx_store_begin(s), SSHX_ERR_BUSY);
	ck_assert_int_eq(sshx_store_set_busy_timeout(s, -1), SSHX_ERR_INVALID_ARGUMENT);
	ck_assert_int_eq(write(q[1], "x", 1), 1);
	close(q[1]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "expected the holding writer to exit 0, got status %d", status);
	sshx_store_close(s);
}
END_TEST

/* ---- Suite ---- */

static void
add(Suite *s, const char *name, const TTest *t)
{
	TCase *tc = tcase_create(name);

	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, t);
	suite_add_tcase(s, tc);
}

static Suite *
store_suite(void)
{
	Suite *s = suite_create("store");

	add(s, "create makes a 0600 file in a 0700 directory",
	    test_create_makes_private_file_and_directory);
	add(s, "reopen keeps data", test_reopen_keeps_data);
	add(s, "schema version is the build's", test_schema_version_is_the_builds);
	add(s, "hash key is 32 bytes, stable, per database",
	    test_hash_key_32_bytes_stable_and_per_database);
	add(s, "missing file without CREATE is NOT_FOUND, nothing created",
	    test_missing_without_create_is_not_found);
	add(s, "symlink refused, target untouched", test_symlink_refused_target_untouched);
	add(s, "group or other modes refused with perms fix",
	    test_group_or_other_modes_refused);
	add(s, "file of another owner refused", test_other_owner_refused);
	add(s, "directory at the path refused", test_not_a_regular_file_refused);
	add(s, "random bytes refused as TAMPERED, unchanged",
	    test_random_bytes_refused_as_tampered_unchanged);
	add(s, "foreign SQLite database refused, unchanged",
	    test_foreign_sqlite_database_refused_unchanged);
	add(s, "newer schema refused with VERSION, unchanged",
	    test_newer_schema_refused_unchanged);
	add(s, "empty file becomes a database", test_empty_file_becomes_a_database);
	add(s, "hosts add, find, remove", test_hosts_add_find_remove);
	add(s, "remove host cascades to its keys", test_remove_host_cascades_to_keys);
	add(s, "remove key removes an emptied host", test_remove_key_removes_emptied_host);
	add(s, "duplicate key is EXISTS", test_duplicate_key_is_exists);
	add(s, "lookup finds the same key and another pinned one",
	    test_lookup_same_and_other_pinned);
	add(s, "state changes", test_state_changes);
	add(s, "retire, then finalize", test_retire_then_finalize);
	add(s, "touch sets last_verified", test_touch_sets_last_verified);
	add(s, "foreach_key in export order", test_foreach_key_export_order);
	add(s, "foreach_host_key lists one host in order",
	    test_foreach_host_key_one_host_in_order);
	add(s, "foreach_hashed_key lists only hashed hosts",
	    test_foreach_hashed_key_only_hashed);
	add(s, "foreach by fingerprint in export order", test_foreach_by_fingerprint);
	add(s, "callback stops a listing and may call back in",
	    test_callback_stops_and_may_call_back);
	add(s, "patterns: order, EXISTS, remove", test_patterns_order_exists_remove);
	add(s, "audit row contents", test_audit_row_contents);
	add(s, "audit batch: rows as given, all or nothing",
	    test_audit_batch_rows_as_given);
	add(s, "audit batch: read back by key, pruned by retention",
	    test_audit_batch_read_back_by_key_and_pruned);
	add(s, "a version 2 database upgrades, keeping its rows",
	    test_version_2_database_upgrades_keeping_rows);
	add(s, "rollback leaves nothing", test_rollback_leaves_nothing);
	add(s, "begin_read is a snapshot", test_begin_read_is_a_snapshot);
	add(s, "concurrent writers lose nothing", test_concurrent_writers_lose_nothing);
	add(s, "concurrent creation migrates once", test_concurrent_creation_migrates_once);
	add(s, "begin waits for another writer", test_begin_waits_for_another_writer);
	add(s, "a short busy timeout gives BUSY", test_short_busy_timeout_gives_busy);
	add(s, "cache size and sync settings", test_cache_size_and_sync_settings);
	return s;
}

int
main(void)
{
	return sshx_run_suite(store_suite());
}
