/* Base64 encoding and strict decoding. */
#include "config.h"

#include <string.h>

#include "b64.h"
#include "buf.h"
#include "err.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
sshx_b64_encode(const uint8_t *p, size_t len, struct sshx_buf *out)
{
	uint8_t *d;
	size_t i, o = 0, n;
	uint32_t v;
	int r;

	if (len > (SIZE_MAX / 4) * 3 - 3)
		return SSHX_ERR_INVALID_ARGUMENT;
	n = (len + 2) / 3 * 4;
	if ((r = sshx_buf_reserve(out, n, &d)) != 0)
		return r;
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		d[o++] = alphabet[v >> 18];
		d[o++] = alphabet[(v >> 12) & 63];
		d[o++] = alphabet[(v >> 6) & 63];
		d[o++] = alphabet[v & 63];
	}
	if (i < len) {
		v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0);
		d[o++] = alphabet[v >> 18];
		d[o++] = alphabet[(v >> 12) & 63];
		d[o++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
		d[o++] = '=';
	}
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
sshx_b64_decode(const char *s, size_t len, struct sshx_buf *out)
{
	size_t i, pad = 0, start = sshx_buf_len(out);
	int v[4], k, r;
	uint8_t b[3];

	if (len % 4 != 0)
		return SSHX_ERR_INVALID_FORMAT;
	for (i = 0; i < len; i += 4) {
		for (k = 0; k < 4; k++) {
			if (s[i + k] == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (v[k] = b64_value((unsigned char)s[i + k])) < 0)
				goto bad;
		}
		b[0] = (uint8_t)(v[0] << 2 | v[1] >> 4);
		b[1] = (uint8_t)((v[1] & 15) << 4 | v[2] >> 2);
		b[2] = (uint8_t)((v[2] & 3) << 6 | v[3]);
		/* Bits past the last byte must be zero (canonical encoding). */
		if ((pad == 2 && (v[1] & 15) != 0) || (pad == 1 && (v[2] & 3) != 0))
			goto bad;
		if ((r = sshx_buf_put(out, b, 3 - pad)) != 0)
			goto out;
	}
	r = 0;
	goto out;
 bad:
	sshx_buf_consume_end(out, sshx_buf_len(out) - start);
	r = SSHX_ERR_INVALID_FORMAT;
 out:
	/* The text may encode a private key: leave none of it on the stack. */
	explicit_bzero(b, sizeof(b));
	explicit_bzero(v, sizeof(v));
	return r;
}
