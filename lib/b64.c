/* Base64 encoding and strict decoding. */
#include "config.h"

#include <string.h>

#include "b64.h"
#include "buf.h"
#include "err.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
sshx_b64_encode_raw(const uint8_t *p, size_t len, char *out, int pad)
{
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (i < len) {
		v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0);
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		if (i + 1 < len)
			out[o++] = alphabet[(v >> 6) & 63];
		else if (pad)
			out[o++] = '=';
		if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

int
sshx_b64_encode(const uint8_t *p, size_t len, struct sshx_buf *out)
{
	uint8_t *d;
	char *tmp;
	size_t n;
	int r;

	if (len > (SIZE_MAX / 4) * 3 - 3)
		return SSHX_ERR_INVALID_ARGUMENT;
	n = (len + 2) / 3 * 4;
	/* One byte more for the NUL the raw encoder writes, given back below. */
	if ((r = sshx_buf_reserve(out, n + 1, &d)) != 0)
		return r;
	tmp = (char *)d;
	(void)sshx_b64_encode_raw(p, len, tmp, 1);
	sshx_buf_consume_end(out, 1);
	return 0;
}

/* Returns the 6-bit value of a base64 character, or -1. */
static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
sshx_b64_decode_raw(const char *s, size_t len, uint8_t *out, size_t outsize,
    size_t *outlenp)
{
	size_t i, pad = 0, o = 0;
	int v[4], k, r = SSHX_ERR_INVALID_FORMAT;

	*outlenp = 0;
	if (len % 4 != 0)
		goto out;
	for (i = 0; i < len; i += 4) {
		for (k = 0; k < 4; k++) {
			if (s[i + k] == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (v[k] = b64_value((unsigned char)s[i + k])) < 0)
				goto out;
		}
		/* Bits past the last byte must be zero (canonical encoding). */
		if ((pad == 2 && (v[1] & 15) != 0) || (pad == 1 && (v[2] & 3) != 0))
			goto out;
		if (outsize - o < 3 - pad) {
			r = SSHX_ERR_NO_BUFFER_SPACE;
			goto out;
		}
		out[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			out[o++] = (uint8_t)((v[1] & 15) << 4 | v[2] >> 2);
		if (pad < 1)
			out[o++] = (uint8_t)((v[2] & 3) << 6 | v[3]);
	}
	*outlenp = o;
	r = 0;
 out:
	/* The text may encode a private key: leave none of it on the stack. */
	explicit_bzero(v, sizeof(v));
	if (r != 0)
		explicit_bzero(out, o);
	return r;
}

int
sshx_b64_decode(const char *s, size_t len, struct sshx_buf *out)
{
	size_t n, got;
	uint8_t *d;
	int r;

	if (len % 4 != 0)
		return SSHX_ERR_INVALID_FORMAT;
	n = len / 4 * 3;
	if ((r = sshx_buf_reserve(out, n, &d)) != 0)
		return r;
	if ((r = sshx_b64_decode_raw(s, len, d, n, &got)) != 0) {
		sshx_buf_consume_end(out, n);
		return r;
	}
	sshx_buf_consume_end(out, n - got);
	return 0;
}
