#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

static const char *const messages[] = {
	[0] = "success",
	[1] = "internal error",
	[2] = "memory allocation failed",
	[3] = "message incomplete",
	[4] = "invalid format",
	[5] = "bignum is negative",
	[6] = "string too large",
	[7] = "bignum too large",
	[8] = "no buffer space",
	[9] = "invalid argument",
	[10] = "unknown or unsupported key type",
	[11] = "key type does not match",
	[12] = "invalid key",
	[13] = "signature verification failed",
	[14] = "cryptographic library error",
	[15] = "system error",
	[16] = "not found",
	[17] = "already exists",
	[18] = "string contains a NUL byte",
	[19] = "limit exceeded",
	[20] = "key too small",
	[21] = "signature algorithm refused by policy",
	[22] = "key type refused by policy",
	[23] = "permission denied",
	[24] = "agent refused the operation",
	[25] = "protocol error",
	[26] = "cannot connect",
	[27] = "timed out",
	[28] = "agent is locked",
	[29] = "incorrect passphrase",
	[30] = "secure memory exhausted",
	[31] = "invalid or unsupported key constraint",
	[32] = "connection closed",
	[33] = "unsafe file permissions or ownership",
	[34] = "data is corrupt, truncated or has been modified",
	[35] = "unsupported format version",
	[36] = "the Secret Service is not available",
	[37] = "the key file is encrypted",
	[38] = "locked by another process",
};

const char *
sshx_strerror(int code)
{
	if (code == SSHX_ERR_SYSTEM)
		return strerror(errno);
	if (code > 0 || code <= SSHX_ERR_MAX_)
		return "unknown error";
	return messages[-code];
}

void
sshx_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	size_t i;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	for (i = 0; why[i] != '\0'; i++)
		if ((unsigned char)why[i] < 0x20 || why[i] == 0x7f)
			why[i] = '?';
}
