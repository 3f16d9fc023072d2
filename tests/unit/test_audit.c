/*
 * Unit tests of agentd/audit.c: records queued from the loop reach the
 * database with the connection's facts (uid, pid, executable, session-bind
 * host key and forwarding) and the parsed signature data; stopping writes
 * every queued record; a full queue drops and counts, never waits;
 * --no-audit writes none; an unusable database leaves
 * the agent running with the trail in the log.
 */
#include "config.h"

#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <sqlite3.h>

#include "audit.h"
#include "conn.h"
#include "err.h"
#include "log.h"
#include "sigdata.h"
#include "tap.h"

static char dir[PATH_MAX];
static char dbpath[PATH_MAX + 16];

static void
setup(void)
{
	sshx_test_lsan_secmem();
	sshx_log_init("test_audit", 0, SSHX_LOG_ERROR);
	strcpy(dir, "/tmp/sshx-test-audit-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(dbpath, sizeof(dbpath), "%s/sshx.db", dir);
}

static void
teardown(void)
{
	char p[PATH_MAX + 32];
	const char *const sfx[] = { "", "-wal", "-shm" };
	size_t i;

	for (i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", dbpath, sfx[i]);
		(void)unlink(p);
	}
	(void)rmdir(dir);
}

/* Runs a one-value query on the database. */
static long long
query_int(const char *sql)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	long long v;

	ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK,
	    "%s: %s", sql, sqlite3_errmsg(db));
	ck_assert_msg(sqlite3_step(st) == SQLITE_ROW, "%s: expected a row", sql);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* A connection as the loop makes it, without a socket. */
static struct conn *
fake_conn(void)
{
	struct conn *c = conn_new(-1, 1234, 4321);

	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(c->exe = strdup("/usr/bin/python3.11"));
	return c;
}

START_TEST(test_records_reach_the_database_at_stop)
{
	struct conn *c = fake_conn();
	struct sshx_sigdata sd;
	struct audit_op op = {
		.action = "agent.sign", .result = AUDIT_OK,
		.fingerprint = "SHA256:key", .sd = &sd, .forwarded = -1,
	};
	int i;

	memset(&sd, 0, sizeof(sd));
	sd.kind = SSHX_SIGDATA_USERAUTH;
	strcpy(sd.user, "deploy");
	/* A bind with forwarding: the connection's facts go on every row. */
	c->nbinds = 1;
	c->binds[0].forwarding = 1;
	strcpy(c->binds[0].fp, "SHA256:host");
	ck_ok(audit_start(dbpath));
	ck_assert_int_eq(audit_to_db(), 1);
	for (i = 0; i < 500; i++)
		audit_record(c, &op);
	audit_simple(c, "agent.unlock", AUDIT_REFUSED, NULL, "wrong passphrase");
	audit_stop();
	c->nbinds = 0;
	conn_free(c);

	ck_assert_int_eq(query_int("SELECT count(*) FROM audit WHERE actor = "
	    "'agentd' AND action = 'agent.sign' AND uid = 1234 AND pid = 4321 "
	    "AND exe = '/usr/bin/python3.11' AND kind = 'userauth' AND "
	    "peer_user = 'deploy' AND peer_host_key = 'SHA256:host' AND "
	    "forwarded = 1 AND fingerprint = 'SHA256:key' AND result = 'ok'"), 500);
	ck_assert_int_eq(query_int("SELECT count(*) FROM audit WHERE action = "
	    "'agent.unlock' AND result = 'refused' AND detail = 'wrong passphrase' "
	    "AND kind IS NULL"), 1);
	ck_assert_int_eq(query_int("SELECT count(*) FROM audit"), 501);
}
END_TEST

/*
 * While another process holds the database's write lock the writer waits,
 * the queue fills, and further records are dropped, never waited for; the
 * count reaches the log and the database once the writer gets through.
 */
START_TEST(test_full_queue_drops_and_records_the_count)
{
	struct conn *c = fake_conn();
	const int extra = 50;
	sqlite3 *db = NULL;
	long long written, lost;
	char detail[128];
	int i;

	ck_ok(audit_start(dbpath));
	ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
	    SQLITE_OK);
	/* The writer takes this one and then waits for the lock. */
	audit_simple(c, "agent.list", AUDIT_OK, NULL, NULL);
	usleep(200000);
	for (i = 0; i < AUDIT_QUEUE_MAX + extra; i++)
		audit_simple(c, "agent.list", AUDIT_OK, NULL, NULL);
	ck_assert_int_eq(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	audit_stop();
	conn_free(c);

	written = query_int("SELECT count(*) FROM audit WHERE action = 'agent.list'");
	lost = query_int("SELECT CAST(detail AS INTEGER) FROM audit WHERE "
	    "action = 'agent.audit' AND result = 'failed'");
	ck_assert_msg(lost >= extra && written + lost == AUDIT_QUEUE_MAX + extra + 1,
	    "expected at least %d dropped and every record written or counted, "
	    "got %lld written and %lld dropped", extra, written, lost);
	snprintf(detail, sizeof(detail), "SELECT count(*) FROM audit WHERE "
	    "detail = '%lld audit records dropped: the queue of %d was full'",
	    lost, AUDIT_QUEUE_MAX);
	ck_assert_int_eq(query_int(detail), 1);
}
END_TEST

START_TEST(test_without_a_database_nothing_is_written)
{
	struct conn *c = fake_conn();

	ck_ok(audit_start(NULL));
	ck_assert_int_eq(audit_to_db(), 0);
	audit_simple(c, "agent.list", AUDIT_OK, NULL, "0 identities listed");
	audit_stop();
	conn_free(c);
	ck_assert_int_eq(access(dbpath, F_OK), -1);
}
END_TEST

START_TEST(test_unsafe_database_leaves_the_log_only)
{
	struct conn *c = fake_conn();
	FILE *f;

	ck_assert_ptr_nonnull(f = fopen(dbpath, "w"));
	fclose(f);
	ck_assert_int_eq(chmod(dbpath, 0644), 0);
	ck_ok(audit_start(dbpath));
	ck_assert_int_eq(audit_to_db(), 0);
	audit_simple(c, "agent.list", AUDIT_OK, NULL, NULL);
	audit_stop();
	conn_free(c);
}
END_TEST

START_TEST(test_before_start_records_are_ignored)
{
	struct conn *c = fake_conn();

	audit_simple(c, "agent.list", AUDIT_OK, NULL, NULL);
	audit_stop();		/* harmless when not started */
	conn_free(c);
	ck_assert_int_eq(access(dbpath, F_OK), -1);
	ck_assert_str_eq(audit_action_of(13), "agent.sign");
	ck_assert_str_eq(audit_action_of(200), "agent.unknown");
}
END_TEST

static void
add(Suite *s, const char *name, const TTest *t)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t);
	suite_add_tcase(s, tc);
}

static Suite *
audit_suite(void)
{
	Suite *s = suite_create("audit");

	add(s, "records reach the database, all of them at stop",
	    test_records_reach_the_database_at_stop);
	add(s, "a full queue drops records and records the count",
	    test_full_queue_drops_and_records_the_count);
	add(s, "without a database nothing is written",
	    test_without_a_database_nothing_is_written);
	add(s, "an unsafe database leaves the log only",
	    test_unsafe_database_leaves_the_log_only);
	add(s, "before start records are ignored", test_before_start_records_are_ignored);
	return s;
}

int
main(void)
{
	return sshx_run_suite(audit_suite());
}
