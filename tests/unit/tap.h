/*
 * What every C unit test shares: running a Check suite with TAP on standard
 * output for automake's tap-driver, assertions on SSHX_ERR_* results, and a
 * LeakSanitizer fix-up for libgcrypt's secure memory.
 */
#ifndef SSHX_TEST_TAP_H
#define SSHX_TEST_TAP_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <check.h>
#include <gcrypt.h>

#include "crypto.h"
#include "err.h"

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

/* Fails unless expr returns 0. */
#define ck_ok(expr) do {						\
	int r_ = (expr);						\
	ck_assert_msg(r_ == 0, "%s: expected 0, got %d (%s)",		\
	    #expr, r_, sshx_strerror(r_));				\
} while (0)

/* Fails unless expr returns the error code want. */
#define ck_err(expr, want) do {						\
	int r_ = (expr), w_ = (want);					\
	ck_assert_msg(r_ == w_, "%s: expected %d (%s), got %d (%s)",	\
	    #expr, w_, sshx_strerror(w_), r_, sshx_strerror(r_));	\
} while (0)

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

/* Runs every test of s, one TAP point each; returns the process exit status. */
static inline int
sshx_run_suite(Suite *s)
{
	SRunner *sr;
	int failed;

	if (sshx_crypto_init(SSHX_SECMEM_SIZE) != 0)
		return 99;
	sr = srunner_create(s);
	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
