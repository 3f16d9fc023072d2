/*
 * A LeakSanitizer fix-up for libgcrypt's secure memory, shared by the unit
 * tests and the fuzz harnesses.
 */
#ifndef SSHX_TEST_LSAN_SECMEM_H
#define SSHX_TEST_LSAN_SECMEM_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

#include <gcrypt.h>

#include "crypto.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifdef TEST_ASAN
#include <sanitizer/lsan_interface.h>
#endif

/*
 * libgcrypt keeps its strong random pool referenced only from inside the
 * secure-memory pool, which LeakSanitizer does not scan; registering the pool
 * as a root region removes that false leak and keeps real leaks visible.
 * Does nothing outside ASan builds.
 */
static inline void
sshx_test_lsan_secmem(void)
{
#ifdef TEST_ASAN
	uintptr_t p, lo, hi;
	char line[4096];
	void *probe;
	FILE *f;

	if ((probe = gcry_malloc_secure(1)) == NULL)
		return;
	p = (uintptr_t)probe;
	gcry_free(probe);
	if ((f = fopen("/proc/self/maps", "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR, &lo, &hi) != 2 ||
		    p < lo || p >= hi)
			continue;
		/* The mapping may be merged with neighbours: stay near the pool. */
		if (p - lo > SSHX_SECMEM_SIZE)
			lo = p - SSHX_SECMEM_SIZE;
		if (hi - p > SSHX_SECMEM_SIZE)
			hi = p + SSHX_SECMEM_SIZE;
		__lsan_register_root_region((void *)lo, hi - lo);
		break;
	}
	fclose(f);
#endif
}

#endif
