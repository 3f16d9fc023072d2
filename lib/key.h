/*
 * SSH keys and signatures on top of libgcrypt: public blobs (RFC 4253 6.6,
 * RFC 5656, RFC 8709), the agent's private-key bodies (RFC 9987 / OpenSSH
 * PROTOCOL.agent), signing and verification. Private parts live in libgcrypt
 * secure memory and are wiped when the key is freed.
 */
#ifndef SSHX_KEY_H
#define SSHX_KEY_H

#include <stddef.h>
#include <stdint.h>

struct sshx_buf;
struct sshx_key;

enum sshx_key_type {
	SSHX_KEY_UNSPEC = 0,
	SSHX_KEY_ED25519,
	SSHX_KEY_ECDSA_P256,
	SSHX_KEY_ECDSA_P384,
	SSHX_KEY_ECDSA_P521,
	SSHX_KEY_RSA,
	SSHX_KEY_DSA,		/* recognised only so that it can be refused by name */
};

/* Smallest RSA modulus accepted unless the caller's policy allows less. */
#define SSHX_RSA_MIN_BITS	2048
/* Largest RSA modulus accepted at all. */
#define SSHX_RSA_MAX_BITS	16384
/* Longest SHA256 fingerprint string including its NUL: "SHA256:" + 43 + 1. */
#define SSHX_FP_LEN		51

/* Signature algorithm choices for RSA keys (agent sign-request flags). */
#define SSHX_SIG_RSA_SHA1	0
#define SSHX_SIG_RSA_SHA256	2	/* SSH_AGENT_RSA_SHA2_256 */
#define SSHX_SIG_RSA_SHA512	4	/* SSH_AGENT_RSA_SHA2_512 */

/* Returns the SSH name of a key type ("ssh-ed25519", ...), or NULL for SSHX_KEY_UNSPEC. */
const char *sshx_key_type_name(enum sshx_key_type type);
/* Returns the type named by the len bytes at name, or SSHX_KEY_UNSPEC. */
enum sshx_key_type sshx_key_type_from_name(const void *name, size_t len);

/* Parses a public key blob (the whole of it: trailing bytes are an error); *keyp owned by the caller. */
int sshx_key_from_blob(const uint8_t *blob, size_t len, struct sshx_key **keyp);
/*
 * Reads a private key as sent in an agent ADD message (type string and the
 * type's fields, not the comment) from b, consuming it; checks that the public
 * and private halves belong together. DSA gives SSHX_ERR_KEY_TYPE_REFUSED.
 */
int sshx_key_parse_private(struct sshx_buf *b, struct sshx_key **keyp);
/* Appends the private key in the same format that sshx_key_parse_private reads. */
int sshx_key_put_private(const struct sshx_key *key, struct sshx_buf *b);
/* Generates a key; bits is used for RSA only (0 = 3072). */
int sshx_key_generate(enum sshx_key_type type, unsigned int bits, struct sshx_key **keyp);
/* Wipes and frees the key; NULL is allowed. */
void sshx_key_free(struct sshx_key *key);

/* Returns the key's public blob (owned by the key) and its length in *lenp. */
const uint8_t *sshx_key_blob(const struct sshx_key *key, size_t *lenp);
/* Returns 1 when both keys have the same public blob. */
int sshx_key_equal_public(const struct sshx_key *a, const struct sshx_key *b);
enum sshx_key_type sshx_key_type(const struct sshx_key *key);
/* Returns the key size in bits (modulus for RSA, curve size for ECDSA, 256 for Ed25519). */
unsigned int sshx_key_bits(const struct sshx_key *key);
/* Returns 1 when the key holds a private part. */
int sshx_key_has_private(const struct sshx_key *key);
/* Writes "SHA256:<base64 without padding>" of the public blob, as ssh-keygen -l prints it. */
int sshx_key_fingerprint(const struct sshx_key *key, char out[static SSHX_FP_LEN]);
/* The same for a public key blob that need not be parsed (any type). */
void sshx_key_fingerprint_blob(const uint8_t *blob, size_t len, char out[static SSHX_FP_LEN]);

/*
 * Signs data and appends the SSH signature blob (string alg, string sig) to
 * sig. For RSA, rsa_flags selects SHA-1, SHA-256 or SHA-512 (SSHX_SIG_RSA_*;
 * SHA-256 when both SHA-2 bits are set, as OpenSSH); other key types ignore it. Safe to call from several threads on one key.
 */
int sshx_key_sign(const struct sshx_key *key, const uint8_t *data, size_t dlen,
    unsigned int rsa_flags, struct sshx_buf *sig);
/*
 * Verifies an SSH signature blob over data; 0 when valid. Ed25519 messages
 * over 60000 bytes give SSHX_ERR_STRING_TOO_LARGE (a libgcrypt limit). SHA-1 RSA
 * signatures ("ssh-rsa") are accepted only when allow_sha1 is set.
 */
int sshx_key_verify(const struct sshx_key *key, const uint8_t *sig, size_t siglen,
    const uint8_t *data, size_t dlen, int allow_sha1);

#endif
