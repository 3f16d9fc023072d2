/*
 * What a client asks an agent to sign, told apart without trusting it: an
 * SSH userauth request (RFC 4252 section 7, and OpenSSH's hostbound form)
 * or an SSHSIG signed-data blob (OpenSSH PROTOCOL.sshsig). Only names and
 * a host key fingerprint come out, sanitized and capped, for the audit
 * trail: never the session identifier, never the signed bytes.
 */
#ifndef SSHX_SIGDATA_H
#define SSHX_SIGDATA_H

#include <stddef.h>
#include <stdint.h>

#include "key.h"

enum sshx_sigdata_kind {
	SSHX_SIGDATA_UNKNOWN = 0,
	SSHX_SIGDATA_USERAUTH,
	SSHX_SIGDATA_SSHSIG,
};

/* Room for a user name or namespace as recorded, with its NUL (longer ones end in "..."). */
#define SSHX_SIGDATA_TEXT_LEN	65
/* Longest session identifier accepted in a userauth request (a SHA-512 hash is 64 bytes). */
#define SSHX_SIGDATA_MAX_SID	128
/* Longest user, service, method, algorithm or namespace string accepted, in bytes. */
#define SSHX_SIGDATA_MAX_NAME	1024
/* Longest public key blob accepted (a 16384-bit RSA key is about 2 KiB). */
#define SSHX_SIGDATA_MAX_BLOB	(16 * 1024)

struct sshx_sigdata {
	enum sshx_sigdata_kind kind;
	char user[SSHX_SIGDATA_TEXT_LEN];	/* userauth: the user asked for */
	char ns[SSHX_SIGDATA_TEXT_LEN];		/* sshsig: the namespace */
	char hostkey_fp[SSHX_FP_LEN];		/* hostbound userauth; "" when none */
};

/*
 * The fields of an SSH userauth "publickey" request, pointing into the
 * parsed data (valid as long as it is). hostkey is NULL unless the method
 * is OpenSSH's publickey-hostbound-v00@openssh.com.
 */
struct sshx_userauth {
	const uint8_t *sid, *user, *service, *alg, *key, *hostkey;
	size_t sidlen, userlen, servicelen, alglen, keylen, hostkeylen;
};

/*
 * Parses len bytes as a complete userauth request with a signature (string
 * session_id, byte 50, string user, string service, string method, bool
 * TRUE, string alg, string key [, string hostkey]) within the caps above,
 * without NUL bytes in the user and without trailing bytes. Returns 0 or
 * SSHX_ERR_INVALID_FORMAT. The agent's audit trail and its destination
 * checks both read requests through this one parser.
 */
int sshx_userauth_parse(const uint8_t *data, size_t len, struct sshx_userauth *ua);

/*
 * Classifies len bytes of data to be signed and fills *out (always, even
 * for garbage: then kind is SSHX_SIGDATA_UNKNOWN and every text is empty).
 * A request must be complete, within the caps above and without trailing
 * bytes to count as userauth or sshsig. Text fields keep printable ASCII;
 * any other byte becomes '?'. Thread-safe; returns out->kind.
 */
enum sshx_sigdata_kind sshx_sigdata_parse(const uint8_t *data, size_t len,
    struct sshx_sigdata *out);
/* Returns "userauth", "sshsig" or "unknown". */
const char *sshx_sigdata_kind_name(enum sshx_sigdata_kind kind);
/*
 * Copies len bytes of s into out (outlen bytes, at least 4) as one printable
 * line: bytes outside printable ASCII become '?', and text that does not fit
 * ends in "...".
 */
void sshx_sigdata_text(char *out, size_t outlen, const uint8_t *s, size_t len);

#endif
