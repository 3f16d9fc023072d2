/* Runs a Check suite with TAP on standard output for automake's tap-driver. */
#ifndef SSHX_TEST_TAP_H
#define SSHX_TEST_TAP_H

#include <stdlib.h>

#include <check.h>

#include "crypto.h"

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
