/*
 * The agent's state and its message handlers. Everything here runs on the
 * loop thread; slow work goes to the worker pool and completes through it.
 */
#ifndef AGENTD_DISPATCH_H
#define AGENTD_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"

struct conn;
struct idtab;

/* Length of the salted hash kept for the lock passphrase. */
#define AGENT_LOCK_HASH_LEN	64
#define AGENT_LOCK_SALT_LEN	16
/* PBKDF2-SHA512 rounds for the lock passphrase hash (derived on a worker). */
#define AGENT_LOCK_KDF_ROUNDS	50000
/* Ceiling of the delay after failed unlocks, in ms. */
#define AGENT_UNLOCK_DELAY_MAX	10000

struct agent {
	struct idtab *idtab;
	struct agent_policy policy;
	size_t max_identities;
	int locked;
	int lock_pending;			/* a lock or unlock is being derived */
	uint8_t lock_salt[AGENT_LOCK_SALT_LEN];
	uint8_t *lock_hash;			/* secure memory, AGENT_LOCK_HASH_LEN */
	unsigned int unlock_failures;
	uint64_t next_expiry;			/* earliest identity death, 0 = none */
};

/* Initialises the agent with default policy; 0 or an error. */
int agent_init(struct agent *ag);
/* Wipes every key and the lock hash. */
void agent_free(struct agent *ag);
/* Returns monotonic time in milliseconds. */
uint64_t agent_now_ms(void);
/* Removes expired identities and recomputes next_expiry. */
void agent_expire(struct agent *ag);

/*
 * Processes complete frames at the front of c->in until the connection
 * becomes busy or no complete frame is left. Sets c->dead on a protocol
 * violation that ends the connection (oversized frame).
 */
void dispatch_input(struct agent *ag, struct conn *c);
/*
 * Handles one message (type byte and body) for c: the reply is appended to
 * c->out now, or later when a job completes (then c->job is set).
 */
void dispatch_message(struct agent *ag, struct conn *c, const uint8_t *msg, size_t len);
/* Called by the loop when a held reply's time has come. */
void dispatch_resume(struct agent *ag, struct conn *c);
/* Set by the loop: frees a dead connection whose last job completed. */
extern void (*dispatch_conn_released)(struct conn *c);

#endif
