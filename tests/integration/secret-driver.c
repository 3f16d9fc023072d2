/*
 * Drives lib/secret.c from test_secret.sh:
 *
 *     secret-driver lookup|store|clear KEYRING_PATH [TIMEOUT_MS]
 *
 * store reads the passphrase from standard input (every byte, no newline
 * stripped); lookup writes it to standard output, which only a test may do.
 * Exit status: 0 done, 1 not found, 2 usage, 3 any other failure, 4 no
 * Secret Service (no bus, no service, locked), 5 timed out.  The outcome's
 * "why" goes to standard error.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "secret.h"

#define PASS_MAX	(64 * 1024)
#define READ_CHUNK	1024

static int
usage(void)
{
	fprintf(stderr, "usage: secret-driver lookup|store|clear "
	    "KEYRING_PATH [TIMEOUT_MS]\n");
	return 2;
}

/* Maps an SSHX_ERR_* code to the driver's exit status. */
static int
exit_status(int r)
{
	switch (r) {
	case 0:
		return 0;
	case SSHX_ERR_NOT_FOUND:
		return 1;
	case SSHX_ERR_NO_SECRET_SERVICE:
		return 4;
	case SSHX_ERR_TIMEOUT:
		return 5;
	default:
		return 3;
	}
}

/* Reads all of standard input into a new secure buffer. */
static int
read_pass(struct sshx_buf **bp)
{
	struct sshx_buf *b = NULL;
	uint8_t *dp;
	ssize_t n;
	int r = SSHX_ERR_INTERNAL;

	*bp = NULL;
	if ((b = sshx_buf_new_secure()) == NULL ||
	    (r = sshx_buf_set_max(b, PASS_MAX)) != 0) {
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	for (;;) {
		if ((r = sshx_buf_reserve(b, READ_CHUNK, &dp)) != 0)
			goto out;
		n = read(STDIN_FILENO, dp, READ_CHUNK);
		if (n < 0 && errno == EINTR)
			n = 0;
		if (n < 0) {
			r = SSHX_ERR_SYSTEM;
			goto out;
		}
		if ((r = sshx_buf_consume_end(b, READ_CHUNK - (size_t)n)) != 0)
			goto out;
		if (n == 0)
			break;
	}
	*bp = b;
	b = NULL;		/* transferred */
	r = 0;
 out:
	sshx_buf_free(b);
	return r;
}

/* Writes all of p to standard output. */
static int
write_all(const uint8_t *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(STDOUT_FILENO, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return SSHX_ERR_SYSTEM;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct sshx_buf *pass = NULL;
	char why[512] = "", *ep;
	const char *cmd, *path;
	long timeout = SSHX_SECRET_TIMEOUT_MS;
	int r;

	if (argc < 3 || argc > 4)
		return usage();
	cmd = argv[1];
	path = argv[2];
	if (argc == 4) {
		errno = 0;
		timeout = strtol(argv[3], &ep, 10);
		if (errno != 0 || *ep != '\0' || ep == argv[3] ||
		    timeout <= 0 || timeout > INT_MAX)
			return usage();
	}
	if (sshx_crypto_init(SSHX_SECMEM_SIZE) != 0) {
		fprintf(stderr, "secret-driver: cannot initialise libgcrypt\n");
		return 3;
	}

	if (strcmp(cmd, "lookup") == 0) {
		r = sshx_secret_lookup(path, (int)timeout, &pass, why,
		    sizeof(why));
		if (r == 0 && (r = write_all(sshx_buf_ptr(pass),
		    sshx_buf_len(pass))) != 0)
			snprintf(why, sizeof(why), "writing the passphrase");
	} else if (strcmp(cmd, "store") == 0) {
		if ((r = read_pass(&pass)) != 0)
			snprintf(why, sizeof(why), "reading standard input");
		else
			r = sshx_secret_store(path, sshx_buf_ptr(pass),
			    sshx_buf_len(pass), (int)timeout, why, sizeof(why));
	} else if (strcmp(cmd, "clear") == 0) {
		r = sshx_secret_clear(path, (int)timeout, why, sizeof(why));
	} else {
		return usage();
	}
	sshx_buf_free(pass);
	if (r == 0)
		fprintf(stderr, "secret-driver: %s: %s\n", cmd, why);
	else
		fprintf(stderr, "secret-driver: %s: %s: %s\n", cmd,
		    sshx_strerror(r), why);
	return exit_status(r);
}
