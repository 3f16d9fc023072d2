/*
 * LOCK and UNLOCK: a lock seals every key under the passphrase and wipes it;
 * an unlock restores them, or opens a keyring that was never opened. The
 * argon2id work runs on a worker; a failed unlock delays only its client.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <gcrypt.h>

#include "audit.h"
#include "buf.h"
#include "conn.h"
#include "crypto.h"
#include "dispatch.h"
#include "err.h"
#include "handlers.h"
#include "identity.h"
#include "keyring.h"
#include "log.h"
#include "proto.h"
#include "vault.h"
#include "worker.h"

enum lock_mode {
	LOCK_SEAL,		/* ssh-add -x: seal every key under the passphrase */
	UNLOCK_SEAL,		/* ssh-add -X after -x */
	UNLOCK_KEYRING,		/* ssh-add -X while the keyring was never opened */
};

struct lock_job {
	struct worker_job base;
	struct agent *ag;
	struct conn *c;
	enum lock_mode mode;
	uint8_t *pass;		/* secure memory */
	size_t passlen;
	uint8_t salt[VAULT_SALT_LEN];
	uint8_t *key;		/* secure memory, 32 bytes */
	char *path;		/* UNLOCK_KEYRING: the keyring file */
	struct sshx_keyring *kr;
	char why[256];
	int r;
};

/* Derives the sealing key, or opens the keyring, away from the loop (argon2id). */
static void
lock_run(struct worker_job *job)
{
	struct lock_job *j = (struct lock_job *)job;
	const struct sshx_argon2_params p = { VAULT_LOCK_T_COST,
	    VAULT_LOCK_M_COST_KIB, 1 };

	if (j->mode == UNLOCK_KEYRING)
		j->r = sshx_keyring_load(j->path, j->pass, j->passlen, &j->kr,
		    j->why, sizeof(j->why));
	else
		j->r = sshx_crypto_argon2id(j->pass, j->passlen, j->salt,
		    sizeof(j->salt), &p, j->key, 32);
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
	if (j->key != NULL) {
		explicit_bzero(j->key, 32);
		gcry_free(j->key);
	}
	sshx_keyring_free(j->kr);
	free(j->path);
	explicit_bzero(j, sizeof(*j));
	free(j);
}

/* Answers a failed unlock after a delay that grows with each failure, holding only this client. */
static void
unlock_failed(struct agent *ag, struct conn *c, const char *why)
{
	uint64_t delay;

	if (ag->unlock_failures < 1000)
		ag->unlock_failures++;
	delay = 100 * (uint64_t)ag->unlock_failures;
	if (delay > AGENT_UNLOCK_DELAY_MAX)
		delay = AGENT_UNLOCK_DELAY_MAX;
	sshx_log_warn("unlock failed: %s (%u failure%s; reply delayed %llu ms)",
	    why, ag->unlock_failures, ag->unlock_failures == 1 ? "" : "s",
	    (unsigned long long)delay);
	if (c->dead)
		return;
	if ((c->held = sshx_buf_new()) != NULL &&
	    sshx_buf_put_u8(c->held, SSH_AGENT_FAILURE) == 0) {
		c->resume_at = agent_now_ms() + delay;
		return;
	}
	sshx_buf_free(c->held);
	c->held = NULL;
	send_status(c, SSH_AGENT_FAILURE);
}

static void
lock_done(struct worker_job *job)
{
	struct lock_job *j = (struct lock_job *)job;
	struct agent *ag = j->ag;
	struct conn *c = j->c;
	const char *action = j->mode == LOCK_SEAL ? "agent.lock" : "agent.unlock";
	int ok = 0, r = j->r;

	ag->lock_pending = 0;
	switch (j->mode) {
	case LOCK_SEAL:
		if (r == 0 && ag->locked)
			r = SSHX_ERR_LOCKED;
		if (r == 0 && (r = vault_seal(ag, j->key, j->salt)) == 0) {
			ag->locked = 1;
			ok = 1;
			sshx_log_info("agent locked: every key sealed and wiped "
			    "from memory");
		} else
			sshx_log_error("lock: %s", sshx_strerror(r));
		break;
	case UNLOCK_SEAL:
		if (r == 0)
			r = vault_unseal(ag, j->key);
		if (r == SSHX_ERR_BAD_PASSPHRASE) {
			audit_simple(c, action, AUDIT_REFUSED, NULL,
			    "wrong passphrase");
			unlock_failed(ag, c, "incorrect passphrase");
			goto done;
		}
		if (r == 0) {
			ag->locked = 0;
			ok = 1;
			sshx_log_info("agent unlocked: %zu keys restored",
			    idtab_count(ag->idtab));
		} else
			sshx_log_error("unlock: %s", sshx_strerror(r));
		break;
	case UNLOCK_KEYRING:
		if (r == SSHX_ERR_BAD_PASSPHRASE) {
			audit_simple(c, action, AUDIT_REFUSED, NULL,
			    "wrong passphrase for the keyring");
			unlock_failed(ag, c, "the passphrase does not open the keyring");
			goto done;
		}
		if (r == 0) {
			vault_set_keyring(ag, j->kr);
			j->kr = NULL;	/* transferred */
			ag->locked = 0;
			ok = 1;
			sshx_log_info("keyring %s unlocked: %zu keys served",
			    ag->vault.path, idtab_count(ag->idtab));
		} else
			sshx_log_error("unlock: keyring %s: %s", j->path,
			    j->why[0] ? j->why : sshx_strerror(r));
		break;
	}
	if (ok)
		ag->unlock_failures = 0;
	audit_simple(c, action, ok ? AUDIT_OK : AUDIT_FAILED, NULL,
	    ok ? (j->mode == UNLOCK_KEYRING ? "keyring opened" : NULL) :
	    j->mode == UNLOCK_KEYRING && j->why[0] ? j->why : sshx_strerror(r));
	if (!c->dead)
		send_status(c, ok ? SSH_AGENT_SUCCESS : SSH_AGENT_FAILURE);
 done:
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

void
process_lock(struct agent *ag, struct conn *c, struct sshx_buf *m, int unlock)
{
	struct lock_job *j = NULL;
	const uint8_t *pass;
	size_t passlen;
	enum lock_mode mode;
	const char *action = unlock ? "agent.unlock" : "agent.lock";
	const char *why = "malformed request", *result = AUDIT_FAILED;

	if (sshx_buf_get_string_direct(m, &pass, &passlen) != 0 ||
	    sshx_buf_len(m) != 0) {
		sshx_log_info("conn %lu: malformed %s request", c->serial,
		    unlock ? "unlock" : "lock");
		goto fail;
	}
	result = AUDIT_REFUSED;
	if (ag->lock_pending) {
		sshx_log_info("%s refused: another lock or unlock is in progress",
		    unlock ? "unlock" : "lock");
		why = "another lock or unlock is in progress";
		goto fail;
	}
	if (!unlock && !ag->locked)
		mode = LOCK_SEAL;
	else if (unlock && ag->vault.sealed != NULL)
		mode = UNLOCK_SEAL;
	else if (unlock && vault_needs_unlock(ag))
		mode = UNLOCK_KEYRING;
	else {
		sshx_log_info("%s refused: the agent is %s", unlock ? "unlock" :
		    "lock", ag->locked ? "locked" : "not locked");
		why = ag->locked ? "the agent is locked" : "the agent is not locked";
		goto fail;
	}
	result = AUDIT_FAILED;
	why = "out of memory";
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->pass = gcry_malloc_secure(passlen + 1)) == NULL ||
	    (j->key = gcry_malloc_secure(32)) == NULL ||
	    (mode == UNLOCK_KEYRING && (j->path = strdup(ag->vault.path)) == NULL))
		goto fail;
	memcpy(j->pass, pass, passlen);
	j->passlen = passlen;
	j->mode = mode;
	j->ag = ag;
	j->c = c;
	j->base.run = lock_run;
	j->base.done = lock_done;
	if (mode == UNLOCK_SEAL)
		memcpy(j->salt, ag->vault.salt, sizeof(j->salt));
	else
		gcry_randomize(j->salt, sizeof(j->salt), GCRY_STRONG_RANDOM);
	ag->lock_pending = 1;
	c->job = 1;
	if (worker_submit(&j->base) != 0) {
		ag->lock_pending = 0;
		c->job = 0;
		why = "cannot queue the request";
		goto fail;
	}
	return;
 fail:
	audit_simple(c, action, result, NULL, why);
	lock_job_free(j);
	send_status(c, SSH_AGENT_FAILURE);
}
