/*
 * The keyring passphrase in the user's Secret Service (libsecret), stored
 * under the schema "org.sshx.Keyring" with attribute "keyring" = the
 * keyring's absolute path. Every call returns within its timeout: no bus, no
 * service or a locked collection is an error, never a hang or a prompt.
 */
#ifndef SSHX_SECRET_H
#define SSHX_SECRET_H

#include <stddef.h>
#include <stdint.h>

struct sshx_buf;

/* Default time allowed for one Secret Service call, in milliseconds. */
#define SSHX_SECRET_TIMEOUT_MS	5000

/*
 * Looks up the passphrase for keyring_path into a new secure buffer.
 * Returns 0, SSHX_ERR_NOT_FOUND (nothing stored), SSHX_ERR_NO_SECRET_SERVICE
 * (no D-Bus session, no Secret Service, locked collection, built without
 * libsecret, libsecret-1.so.0 cannot be loaded; why says which), or
 * SSHX_ERR_TIMEOUT.
 */
int sshx_secret_lookup(const char *keyring_path, int timeout_ms,
    struct sshx_buf **passp, char *why, size_t whylen);
/* Stores (or replaces) the passphrase in the default collection. */
int sshx_secret_store(const char *keyring_path, const uint8_t *pass,
    size_t passlen, int timeout_ms, char *why, size_t whylen);
/* Removes a stored passphrase; SSHX_ERR_NOT_FOUND when there was none. */
int sshx_secret_clear(const char *keyring_path, int timeout_ms, char *why,
    size_t whylen);

#endif
