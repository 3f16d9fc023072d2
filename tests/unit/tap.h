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

#include "../lsan-secmem.h"

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
