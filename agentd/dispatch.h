/*
 * The agent's state and its message handlers. Everything here runs on the
 * loop thread; slow work goes to the worker pool and completes through it.
 */
#ifndef AGENTD_DISPATCH_H
#define AGENTD_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "vault.h"

struct conn;
struct idtab;

/* Ceiling of the delay after failed unlocks, in ms. */
#define AGENT_UNLOCK_DELAY_MAX	10000

struct agent {
	struct idtab *idtab;
	struct agent_policy policy;
	size_t max_identities;
	int locked;
	int lock_pending;			/* a lock or unlock is being derived */
	unsigned int unlock_failures;
	struct vault vault;			/* the keyring, and what a lock sealed */
	uint64_t next_expiry;			/* earliest identity death, 0 = none */
	size_t cut_listed, cut_of;		/* last list truncation logged */
};

/* Initialises the agent with default policy; 0 or an error. */
int agent_init(struct agent *ag);
/* Wipes every key, the keyring and what a lock sealed. */
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
