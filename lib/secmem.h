/*
 * The locked memory that holds private keys and passphrases: one mapping,
 * locked and left out of core dumps, carved by a segregated-fit allocator
 * whose every operation takes constant time, however many keys are held.
 * libgcrypt's own pool walks all its blocks on each allocation and free,
 * which made a keyring of thousands of keys take tens of seconds to load.
 * Freed blocks are wiped before they are reused or coalesced.
 */
#ifndef SSHX_SECMEM_H
#define SSHX_SECMEM_H

#include <stddef.h>

/*
 * Maps and locks a pool of size bytes (rounded up to pages); returns 0, or
 * -1 with errno set when it cannot be mapped. A pool that cannot be locked
 * is still used (as libgcrypt does): sshx_secmem_locked() then says 0.
 * Only the first call maps; later ones return 0.
 */
int sshx_secmem_init(size_t size);
/* 1 when the pool is locked in RAM. */
int sshx_secmem_locked(void);
/* The pool's size in bytes, 0 before sshx_secmem_init. */
size_t sshx_secmem_size(void);
/* Bytes of the pool in use (block headers included). */
size_t sshx_secmem_used(void);

/* A block of n bytes from the pool, 16-byte aligned, or NULL when it is full. */
void *sshx_secmem_alloc(size_t n);
/* Wipes and returns a block of the pool; aborts on a pointer the pool never gave. */
void sshx_secmem_free(void *p);
/* 1 when p points into the pool. */
int sshx_secmem_owns(const void *p);
/* Bytes usable at p, a block of the pool. */
size_t sshx_secmem_usable(const void *p);

/*
 * Installs the pool as libgcrypt's secure allocator (other allocations go
 * to malloc). Must run before libgcrypt's initialisation is finished.
 */
void sshx_secmem_install_gcrypt(void);

#endif
