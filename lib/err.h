/* One error space for all of sshx: 0 is success, every failure a negative code. */
#ifndef SSHX_ERR_H
#define SSHX_ERR_H

#include <stddef.h>

enum {
	SSHX_OK = 0,
	SSHX_ERR_INTERNAL = -1,
	SSHX_ERR_ALLOC = -2,
	SSHX_ERR_INCOMPLETE = -3,
	SSHX_ERR_INVALID_FORMAT = -4,
	SSHX_ERR_BIGNUM_NEGATIVE = -5,
	SSHX_ERR_STRING_TOO_LARGE = -6,
	SSHX_ERR_BIGNUM_TOO_LARGE = -7,
	SSHX_ERR_NO_BUFFER_SPACE = -8,
	SSHX_ERR_INVALID_ARGUMENT = -9,
	SSHX_ERR_KEY_TYPE_UNKNOWN = -10,
	SSHX_ERR_KEY_TYPE_MISMATCH = -11,
	SSHX_ERR_KEY_INVALID = -12,
	SSHX_ERR_SIGNATURE_INVALID = -13,
	SSHX_ERR_CRYPTO = -14,
	SSHX_ERR_SYSTEM = -15,	/* see errno */
	SSHX_ERR_NOT_FOUND = -16,
	SSHX_ERR_EXISTS = -17,
	SSHX_ERR_NUL_IN_STRING = -18,
	SSHX_ERR_LIMIT = -19,
	SSHX_ERR_KEY_TOO_SMALL = -20,
	SSHX_ERR_ALG_REFUSED = -21,
	SSHX_ERR_KEY_TYPE_REFUSED = -22,
	SSHX_ERR_PERMISSION = -23,
	SSHX_ERR_AGENT_FAILURE = -24,
	SSHX_ERR_PROTOCOL = -25,
	SSHX_ERR_CONNECT = -26,
	SSHX_ERR_TIMEOUT = -27,
	SSHX_ERR_LOCKED = -28,
	SSHX_ERR_BAD_PASSPHRASE = -29,
	SSHX_ERR_SECMEM = -30,
	SSHX_ERR_CONSTRAINT = -31,
	SSHX_ERR_EOF = -32,
	SSHX_ERR_UNSAFE_FILE = -33,	/* permissions, owner, symlink or file type */
	SSHX_ERR_TAMPERED = -34,	/* corrupt, truncated or modified data */
	SSHX_ERR_VERSION = -35,		/* a format version this build does not know */
	SSHX_ERR_NO_SECRET_SERVICE = -36,
	SSHX_ERR_KEY_ENCRYPTED = -37,	/* a key file protected by a passphrase */
	SSHX_ERR_BUSY = -38,		/* another process holds the lock */
	SSHX_ERR_MAX_ = -39	/* one past the last code; keep last */
};

/* Returns a static, human-readable description of an SSHX_ERR_* code; never NULL. */
const char *sshx_strerror(int code);

/*
 * Formats a reason for a person into why (whylen bytes; why may be NULL) as
 * one line: control characters become '?', so that a file name or other
 * input quoted in it cannot add lines to a log or a terminal.
 */
void sshx_why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
