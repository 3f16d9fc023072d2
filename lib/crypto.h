/* libgcrypt start-up shared by every sshx program. */
#ifndef SSHX_CRYPTO_H
#define SSHX_CRYPTO_H

#include <stddef.h>

/* Size of the locked secure-memory pool holding private keys. */
#define SSHX_SECMEM_SIZE	(1024 * 1024)

/* Initialises libgcrypt with a secure-memory pool of secmem bytes; returns 0 or SSHX_ERR_CRYPTO. */
int sshx_crypto_init(size_t secmem);
/* Compares two buffers in constant time; returns 1 when equal. */
int sshx_crypto_equal(const void *a, const void *b, size_t len);

#endif
