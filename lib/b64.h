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

/* Characters sshx_b64_encode_raw writes for len bytes, with its NUL. */
#define SSHX_B64_SIZE(len)	(((len) + 2) / 3 * 4 + 1)
/*
 * Writes the base64 of [p, p+len) to out (SSHX_B64_SIZE(len) bytes), with
 * '=' padding when pad is set, then a NUL; returns the characters written.
 * Allocates nothing: for hot loops and fixed-size values.
 */
size_t sshx_b64_encode_raw(const uint8_t *p, size_t len, char *out, int pad);
/*
 * Decodes strict base64 as sshx_b64_decode does into out, which holds
 * outsize bytes; returns 0 with the length in *outlenp, or
 * SSHX_ERR_INVALID_FORMAT (bad text) / SSHX_ERR_NO_BUFFER_SPACE.
 */
int sshx_b64_decode_raw(const char *s, size_t len, uint8_t *out, size_t outsize,
    size_t *outlenp);

#endif
