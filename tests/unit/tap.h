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


/*
 * Adds a TCase called name holding t, looped over [0, n) when n > 0, with a
 * timeout in seconds (0 keeps Check's) and, when lsan is set, the
 * LeakSanitizer fix-up for secure memory as its checked fixture.
 */
static inline void
sshx_add_tcase(Suite *s, const char *name, const TTest *t, int n, double timeout,
    int lsan)
{
	TCase *tc = tcase_create(name);

	if (timeout > 0)
		tcase_set_timeout(tc, timeout);
	if (lsan)
		tcase_add_checked_fixture(tc, sshx_test_lsan_secmem, NULL);
	if (n > 0)
		tcase_add_loop_test(tc, t, 0, n);
	else
		tcase_add_test(tc, t);
	suite_add_tcase(s, tc);
}

/*
 * Runs the secure-memory pool dry with ever smaller blocks and returns them
 * (*countp of them, at least one) for the caller to give back with gcry_free
 * and then free().
 */
static inline void **
sshx_test_drain_secmem(size_t *countp)
{
	static const size_t sizes[] = { 1 << 20, 65536, 4096, 256, 1 };
	size_t i, count = 0, room = 0;
	void *p, **held = NULL, **more;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		while ((p = gcry_malloc_secure(sizes[i])) != NULL) {
			if (count == room) {
				room = room == 0 ? 1024 : room * 2;
				more = realloc(held, room * sizeof(*held));
				ck_assert_ptr_nonnull(more);
				held = more;
			}
			held[count++] = p;
		}
	}
	ck_assert_msg(count > 0, "expected some secure allocations to succeed");
	*countp = count;
	return held;
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
