/* libgcrypt start-up shared by every sshx program. */
#ifndef SSHX_CRYPTO_H
#define SSHX_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

struct sshx_buf;

/*
 * Size of the locked secure-memory pool holding private keys: room for
 * about 10,000 Ed25519 keys (fewer RSA ones). It matches Linux's default
 * RLIMIT_MEMLOCK of 8 MiB; under a lower hard limit the pool shrinks to
 * what can be locked, and to no less than SSHX_SECMEM_MIN.
 */
#define SSHX_SECMEM_SIZE	(8 * 1024 * 1024)
#define SSHX_SECMEM_MIN		(1024 * 1024)

/* Initialises libgcrypt with a secure-memory pool of secmem bytes; returns 0 or SSHX_ERR_CRYPTO. */
int sshx_crypto_init(size_t secmem);
/* The size of the secure-memory pool sshx_crypto_init set up (0 before it). */
size_t sshx_crypto_secmem_size(void);
/*
 * 1 when the pool is locked in RAM; 0 when it could not be locked
 * (RLIMIT_MEMLOCK), so that what it holds may be swapped out.
 */
int sshx_crypto_secmem_locked(void);
/* Compares two buffers in constant time; returns 1 when equal. */
int sshx_crypto_equal(const void *a, const void *b, size_t len);

/* argon2id cost parameters. */
struct sshx_argon2_params {
	uint32_t t_cost;
	uint32_t m_cost_kib;
	uint32_t parallelism;
};

/* Derives outlen bytes from pass and salt with argon2id; out should be secure memory. */
int sshx_crypto_argon2id(const uint8_t *pass, size_t passlen, const uint8_t *salt,
    size_t saltlen, const struct sshx_argon2_params *p, uint8_t *out, size_t outlen);

#define SSHX_GCM_NONCE_LEN	12
#define SSHX_GCM_TAG_LEN	16

/*
 * Encrypts plain with AES-256-GCM under a 32-byte key, a fresh random nonce
 * and aad, appending nonce || ciphertext || tag to out.
 */
int sshx_crypto_seal(const uint8_t key[static 32], const uint8_t *aad,
    size_t aadlen, const uint8_t *plain, size_t len, struct sshx_buf *out);
/*
 * Reverses sshx_crypto_seal, appending the plaintext to out (which should be
 * secure); SSHX_ERR_SIGNATURE_INVALID when the key, aad or data do not match.
 */
int sshx_crypto_open(const uint8_t key[static 32], const uint8_t *aad,
    size_t aadlen, const uint8_t *sealed, size_t len, struct sshx_buf *out);

#endif
