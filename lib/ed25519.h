/*
 * Ed25519 signing (RFC 8032) on libgcrypt's curve arithmetic, with a
 * precomputed table of multiples of the base point for the nonce point.
 */
#ifndef SSHX_ED25519_H
#define SSHX_ED25519_H

#include <stddef.h>
#include <stdint.h>

#define SSHX_ED25519_PK_LEN	32
#define SSHX_ED25519_SEED_LEN	32
#define SSHX_ED25519_SK_LEN	64	/* seed || public key */
#define SSHX_ED25519_SIG_LEN	64	/* R || S */

/*
 * Signs msg (any length, NULL when mlen is 0) with sk = seed || public key,
 * which should be in secure memory, and writes R || S to sig. Returns 0, or
 * SSHX_ERR_SECMEM / SSHX_ERR_CRYPTO with sig zeroed. The caller vouches that
 * the public half belongs to the seed (sshx_key checks it at load).
 */
int	sshx_ed25519_sign(const uint8_t sk[static SSHX_ED25519_SK_LEN],
	    const uint8_t *msg, size_t mlen, uint8_t sig[static SSHX_ED25519_SIG_LEN]);

/*
 * Computes [s]B for the little-endian scalar s, which must be below the group
 * order, and writes its RFC 8032 encoding to out. The scalar is treated as a
 * secret. Returns 0, SSHX_ERR_INVALID_ARGUMENT for a scalar of 2^255 or more,
 * or SSHX_ERR_SECMEM / SSHX_ERR_CRYPTO.
 */
int	sshx_ed25519_base_encode(const uint8_t s[static 32], uint8_t out[static 32]);

#endif /* SSHX_ED25519_H */
