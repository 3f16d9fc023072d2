/* Passphrase input: never from argv or the environment, never in pageable memory we own. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <gcrypt.h>

#include "buf.h"
#include "err.h"
#include "fs.h"
#include "pass.h"

/* Removes one trailing "\n" or "\r\n" from the buffer. */
static void
strip_newline(struct sshx_buf *b)
{
	size_t len = sshx_buf_len(b);
	const uint8_t *p = sshx_buf_ptr(b);

	if (len > 0 && p[len - 1] == '\n') {
		len--;
		if (len > 0 && p[len - 1] == '\r')
			len--;
		sshx_buf_consume_end(b, sshx_buf_len(b) - len);
	}
}

int
sshx_pass_from_file(const char *path, struct sshx_buf **passp, char *why,
    size_t whylen)
{
	struct sshx_buf *b = NULL;
	int r;

	*passp = NULL;
	if ((r = sshx_fs_read(path, SSHX_PASS_MAX + 2, SSHX_FS_PRIVATE |
	    SSHX_FS_SECURE_MEM, &b, why, whylen)) != 0) {
		if (r == SSHX_ERR_LIMIT && why != NULL)
			snprintf(why, whylen, "%s: longer than %d bytes", path,
			    SSHX_PASS_MAX);
		else if (r == SSHX_ERR_NOT_FOUND && why != NULL)
			snprintf(why, whylen, "%s: no such file", path);
		return r;
	}
	strip_newline(b);
	if (sshx_buf_len(b) == 0 || sshx_buf_len(b) > SSHX_PASS_MAX) {
		if (why != NULL)
			snprintf(why, whylen, "%s: %s", path, sshx_buf_len(b) == 0 ?
			    "empty passphrase" : "passphrase too long");
		sshx_buf_free(b);
		return SSHX_ERR_INVALID_FORMAT;
	}
	*passp = b;
	return 0;
}

/* Reads one line from the terminal with echo off into a secure buffer. */
static int
read_tty(int fd, const char *prompt, struct sshx_buf **outp)
{
	struct termios old, noecho;
	struct sshx_buf *b;
	uint8_t c;
	ssize_t n;
	int r = 0, restored = 0;

	*outp = NULL;
	if ((b = sshx_buf_new_secure()) == NULL)
		return SSHX_ERR_SECMEM;
	if (tcgetattr(fd, &old) == -1) {
		sshx_buf_free(b);
		return SSHX_ERR_SYSTEM;
	}
	noecho = old;
	noecho.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	noecho.c_lflag |= ICANON;
	if (write(fd, prompt, strlen(prompt)) < 0 ||
	    tcsetattr(fd, TCSAFLUSH, &noecho) == -1) {
		sshx_buf_free(b);
		return SSHX_ERR_SYSTEM;
	}
	for (;;) {
		n = read(fd, &c, 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0 || c == '\n' || c == '\r')
			break;
		if (sshx_buf_len(b) >= SSHX_PASS_MAX) {
			r = SSHX_ERR_STRING_TOO_LARGE;
			continue;	/* swallow the rest of the line */
		}
		if ((r = sshx_buf_put_u8(b, c)) != 0)
			break;
	}
	explicit_bzero(&c, sizeof(c));
	if (tcsetattr(fd, TCSAFLUSH, &old) == 0)
		restored = 1;
	if (write(fd, "\n", 1) < 0 || !restored)
		r = r != 0 ? r : SSHX_ERR_SYSTEM;
	if (r != 0) {
		sshx_buf_free(b);
		return r;
	}
	*outp = b;
	return 0;
}

int
sshx_pass_prompt(const char *prompt, int confirm, struct sshx_buf **passp,
    char *why, size_t whylen)
{
	struct sshx_buf *a = NULL, *b = NULL;
	int fd, r = SSHX_ERR_INTERNAL;

	*passp = NULL;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) == -1) {
		if (why != NULL)
			snprintf(why, whylen, "no terminal to ask for the passphrase");
		return SSHX_ERR_NOT_FOUND;
	}
	if ((r = read_tty(fd, prompt, &a)) != 0)
		goto out;
	if (sshx_buf_len(a) == 0) {
		if (why != NULL)
			snprintf(why, whylen, "empty passphrase");
		r = SSHX_ERR_INVALID_FORMAT;
		goto out;
	}
	if (confirm) {
		if ((r = read_tty(fd, "Enter the same passphrase again: ", &b)) != 0)
			goto out;
		if (sshx_buf_len(a) != sshx_buf_len(b) ||
		    memcmp(sshx_buf_ptr(a), sshx_buf_ptr(b), sshx_buf_len(a)) != 0) {
			if (why != NULL)
				snprintf(why, whylen, "the passphrases do not match");
			r = SSHX_ERR_INVALID_ARGUMENT;
			goto out;
		}
	}
	*passp = a;
	a = NULL;	/* transferred */
	r = 0;
 out:
	if (r != 0 && why != NULL && why[0] == '\0')
		snprintf(why, whylen, "cannot read the passphrase: %s",
		    sshx_strerror(r));
	sshx_buf_free(a);
	sshx_buf_free(b);
	close(fd);
	return r;
}
