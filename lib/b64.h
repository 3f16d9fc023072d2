/* Base64 (RFC 4648, standard alphabet) as SSH's text formats use it. */
#ifndef SSHX_B64_H
#define SSHX_B64_H

#include <stddef.h>
#include <stdint.h>

struct sshx_buf;

/* Appends the base64 text of [p, p+len) with '=' padding to out (no NUL). */
int sshx_b64_encode(const uint8_t *p, size_t len, struct sshx_buf *out);
/*
 * Decodes strict base64 (padding required, no whitespace, no bits set past
 * the end) and appends the bytes to out; SSHX_ERR_INVALID_FORMAT otherwise.
 */
int sshx_b64_decode(const char *s, size_t len, struct sshx_buf *out);

#endif
