/*
 * agentd's audit trail. The loop thread describes each operation in a small
 * record (every string copied, never a secret) and queues it; a writer
 * thread of its own turns records into one log line each and into rows of
 * the database, a batch per transaction. Signing never waits for either:
 * when the queue is full a record is dropped and counted, and the count is
 * logged and recorded once there is room.
 */
#ifndef AGENTD_AUDIT_H
#define AGENTD_AUDIT_H

#include <stddef.h>

struct conn;
struct sshx_sigdata;

/* Records waiting for the writer before new ones are dropped. */
#define AUDIT_QUEUE_MAX		10000
/* Most rows written in one transaction, so that sshxctl never waits long. */
#define AUDIT_BATCH_MAX		256
/*
 * After writing, the writer lets records gather this long (ms) before the
 * next transaction: a busy agent then pays one commit (and one fsync) per
 * interval instead of one per signature. A clean exit does not wait.
 */
#define AUDIT_GATHER_MS		100
/* The writer's SQLite page cache, in KiB. */
#define AUDIT_CACHE_KIB		128
/* How long the writer waits for sshxctl's write transactions, in ms. */
#define AUDIT_BUSY_MS		5000

/* Results as recorded. */
#define AUDIT_OK		"ok"
#define AUDIT_REFUSED		"refused"
#define AUDIT_FAILED		"failed"

/* What one operation did, as a handler reports it; audit_record copies it all. */
struct audit_op {
	const char *action;		/* "agent.sign", ... */
	const char *result;		/* AUDIT_OK, AUDIT_REFUSED, AUDIT_FAILED */
	const char *fingerprint;	/* the key concerned, or NULL */
	const char *detail;		/* the reason or facts; never a secret */
	const struct sshx_sigdata *sd;	/* a signature's parsed data, or NULL */
	const char *host_key;		/* a bound host key's fingerprint, or NULL */
	int forwarded;			/* session-bind: its flag; -1: from the connection */
};

/*
 * Starts the writer thread. With db_path, rows go to that database (created
 * 0600 when missing); when it cannot be opened agentd says so and records to
 * the log only. db_path NULL: the log only (--no-audit). 0 or an error.
 */
int audit_start(const char *db_path);
/* Writes out every queued record, then stops the writer; harmless when not started. */
void audit_stop(void);
/* Returns 1 when records reach the database. */
int audit_to_db(void);
/*
 * Queues a record of op by connection c (its uid, pid, executable, binds).
 * Never blocks on the writer; does nothing before audit_start.
 */
void audit_record(const struct conn *c, const struct audit_op *op);
/* Shorthand for an operation without parsed data: audit_record with op's first four fields. */
void audit_simple(const struct conn *c, const char *action, const char *result,
    const char *fingerprint, const char *detail);
/* Returns the action name of an agent request type ("agent.list", ..., "agent.unknown"). */
const char *audit_action_of(unsigned int type);

#endif
