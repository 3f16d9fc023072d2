#include "config.h"

#include <gcrypt.h>

#include "crypto.h"
#include "err.h"

int
sshx_crypto_init(size_t secmem)
{
	if (gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P))
		return 0;
	if (gcry_check_version("1.10.0") == NULL)
		return SSHX_ERR_CRYPTO;
	gcry_control(GCRYCTL_SUSPEND_SECMEM_WARN);
	if (gcry_control(GCRYCTL_INIT_SECMEM, secmem, 0) != 0)
		return SSHX_ERR_CRYPTO;
	gcry_control(GCRYCTL_RESUME_SECMEM_WARN);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	return 0;
}

int
sshx_crypto_equal(const void *a, const void *b, size_t len)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < len; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}
