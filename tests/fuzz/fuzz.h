/*
 * Shared set-up of the libFuzzer harnesses: libgcrypt with its secure
 * memory (registered with LeakSanitizer, see lsan-secmem.h), and the log
 * quiet (a harness's refusals are expected, and their messages would only
 * slow it down).
 */
#ifndef SSHX_FUZZ_H
#define SSHX_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "crypto.h"
#include "log.h"
#include "../lsan-secmem.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sshx_crypto_init(SSHX_SECMEM_SIZE) != 0)
		abort();
	sshx_log_init("fuzz", 0, SSHX_LOG_ERROR);
	sshx_test_lsan_secmem();
	return 0;
}

#endif
