/* Private key files as other tools write them. */
#ifndef SSHX_IMPORT_H
#define SSHX_IMPORT_H

#include <stddef.h>
#include <stdint.h>

struct sshx_key;

/*
 * Parses an unencrypted private key file: OpenSSH's "openssh-key-v1"
 * format, PEM "RSA PRIVATE KEY" (PKCS #1), "EC PRIVATE KEY" (SEC 1) and
 * "PRIVATE KEY" (PKCS #8: RSA, NIST P-256/384/521, Ed25519). *commentp gets
 * the comment stored in the file ("" when the format has none; the caller
 * frees it). An encrypted file gives SSHX_ERR_KEY_ENCRYPTED; other errors
 * SSHX_ERR_INVALID_FORMAT, SSHX_ERR_KEY_TYPE_UNKNOWN, SSHX_ERR_KEY_INVALID,
 * each with why set.
 */
int sshx_import_private(const uint8_t *data, size_t len, struct sshx_key **keyp,
    char **commentp, char *why, size_t whylen);

#endif
