/*
 * The agent's side of the keyring: opening it at start, keeping the served
 * identities in step with the file, and the lock that seals every key away
 * (ssh-add -x) so that no private key stays in memory while locked.
 */
#ifndef AGENTD_VAULT_H
#define AGENTD_VAULT_H

#include <stddef.h>
#include <stdint.h>

struct agent;
struct sshx_keyring;

#define VAULT_SALT_LEN		16
/* argon2id cost of the lock passphrase (the same order as the keyring's). */
#define VAULT_LOCK_T_COST	3
#define VAULT_LOCK_M_COST_KIB	65536

struct vault {
	char *path;			/* keyring file, or NULL for none */
	struct sshx_keyring *kr;	/* the open keyring, or NULL */
	uint8_t *sealed;		/* identities sealed by a lock, or NULL */
	size_t sealedlen;
	uint8_t salt[VAULT_SALT_LEN];	/* of the lock passphrase */
	int inotify_fd;			/* watches the keyring's directory, or -1 */
	int no_secret;			/* never ask the Secret Service */
	uint64_t next_retire;		/* earliest end of a served key's grace (epoch s), 0 = none */
};

/*
 * Opens the keyring at path for the agent at start-up: with the Secret
 * Service's passphrase (unless no_secret), else the passphrase file, else
 * the agent starts locked until ssh-add -X. A missing file means no keyring.
 * Returns 0, or an error only for a passphrase file that cannot be used.
 */
int vault_open(struct agent *ag, const char *path, const char *passfile,
    int no_secret);
/* Releases everything, wiping keys. */
void vault_free(struct agent *ag);
/*
 * Makes the identity table serve exactly the keyring's active keys and its
 * retiring keys whose grace has not ended; sets next_retire.
 */
void vault_sync(struct agent *ag);
/* Re-reads the keyring file after a change; 0 or an SSHX_ERR_* code. */
int vault_reload(struct agent *ag);
/* Returns 1 when the keyring file exists but is not open. */
int vault_needs_unlock(const struct agent *ag);
/* Takes an opened keyring (after ssh-add -X with its passphrase). */
void vault_set_keyring(struct agent *ag, struct sshx_keyring *kr);
/*
 * Seals every identity and the keyring's key under key (derived from the
 * lock passphrase with salt), then wipes them all from memory.
 */
int vault_seal(struct agent *ag, const uint8_t key[static 32],
    const uint8_t salt[static VAULT_SALT_LEN]);
/* Restores what vault_seal stored; SSHX_ERR_BAD_PASSPHRASE for a wrong key. */
int vault_unseal(struct agent *ag, const uint8_t key[static 32]);
/* Handles readable inotify events: reloads when the keyring file was replaced. */
void vault_watch_event(struct agent *ag);

#endif
