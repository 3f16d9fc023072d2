/*
 * agentd replaces free() and realloc() so that every heap block is wiped
 * before it returns to the allocator. libgcrypt copies private key material
 * into ordinary heap memory while it signs (scalars, hashed seeds) and frees
 * it without clearing; after "ssh-add -x" the agent promises that no private
 * key bytes remain in its memory, so freed blocks must not keep them.
 * Sanitizer builds keep their own allocator and skip this.
 */
#include "config.h"

#if !defined(__SANITIZE_ADDRESS__) && !defined(SSHX_NO_WIPEFREE)

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

extern void __libc_free(void *);
extern void *__libc_malloc(size_t);

void free(void *p);
void *realloc(void *p, size_t n);

void
free(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	__libc_free(p);
}

void *
realloc(void *p, size_t n)
{
	size_t old;
	void *q;

	if (p == NULL)
		return __libc_malloc(n);
	if (n == 0) {
		free(p);
		return NULL;
	}
	old = malloc_usable_size(p);
	if (n <= old)
		return p;
	if ((q = __libc_malloc(n)) == NULL)
		return NULL;
	memcpy(q, p, old);
	free(p);
	return q;
}

#endif
