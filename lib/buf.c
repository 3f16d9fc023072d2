/* The SSH wire buffer: growable, capped, wiped on release. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <gcrypt.h>

#include "buf.h"
#include "err.h"

#define BUF_CHUNK	256
#define SECURE_CHUNK	32

struct sshx_buf {
	uint8_t *d;		/* storage */
	size_t off;		/* first unread byte */
	size_t size;		/* end of data */
	size_t alloc;		/* bytes allocated at d */
	size_t max;		/* ceiling for size - off */
	int readonly;
	int secure;
};

static struct sshx_buf *
buf_alloc(int secure)
{
	struct sshx_buf *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->max = SSHX_BUF_SIZE_MAX;
	b->secure = secure;
	return b;
}

struct sshx_buf *
sshx_buf_new(void)
{
	return buf_alloc(0);
}

struct sshx_buf *
sshx_buf_new_secure(void)
{
	return buf_alloc(1);
}

struct sshx_buf *
sshx_buf_from(const void *p, size_t len)
{
	struct sshx_buf *b;

	if ((p == NULL && len != 0) || len > SSHX_BUF_SIZE_MAX)
		return NULL;
	if ((b = buf_alloc(0)) == NULL)
		return NULL;
	b->d = (uint8_t *)p;	/* never written: readonly */
	b->size = b->alloc = len;
	b->readonly = 1;
	return b;
}

static void
storage_free(uint8_t *d, size_t alloc, int secure)
{
	if (d == NULL)
		return;
	explicit_bzero(d, alloc);
	if (secure)
		gcry_free(d);
	else
		free(d);
}

void
sshx_buf_free(struct sshx_buf *b)
{
	if (b == NULL)
		return;
	if (!b->readonly)
		storage_free(b->d, b->alloc, b->secure);
	explicit_bzero(b, sizeof(*b));
	free(b);
}

void
sshx_buf_reset(struct sshx_buf *b)
{
	if (b == NULL || b->readonly)
		return;
	if (b->d != NULL)
		explicit_bzero(b->d, b->alloc);
	b->off = b->size = 0;
}

int
sshx_buf_set_max(struct sshx_buf *b, size_t max)
{
	if (b == NULL || max > SSHX_BUF_SIZE_MAX)
		return SSHX_ERR_INVALID_ARGUMENT;
	if (b->size - b->off > max)
		return SSHX_ERR_NO_BUFFER_SPACE;
	b->max = max;
	return 0;
}

size_t
sshx_buf_len(const struct sshx_buf *b)
{
	return b == NULL ? 0 : b->size - b->off;
}

size_t
sshx_buf_avail(const struct sshx_buf *b)
{
	if (b == NULL || b->readonly)
		return 0;
	return b->max - (b->size - b->off);
}

const uint8_t *
sshx_buf_ptr(const struct sshx_buf *b)
{
	if (b == NULL || b->d == NULL)
		return (const uint8_t *)"";
	return b->d + b->off;
}

uint8_t *
sshx_buf_mutable_ptr(struct sshx_buf *b)
{
	if (b == NULL || b->readonly || b->d == NULL)
		return NULL;
	return b->d + b->off;
}

int
sshx_buf_is_secure(const struct sshx_buf *b)
{
	return b != NULL && b->secure;
}

int
sshx_buf_consume(struct sshx_buf *b, size_t len)
{
	if (b == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	if (len > b->size - b->off)
		return SSHX_ERR_INCOMPLETE;
	b->off += len;
	if (b->off == b->size && !b->readonly)
		b->off = b->size = 0;
	return 0;
}

int
sshx_buf_consume_end(struct sshx_buf *b, size_t len)
{
	if (b == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	if (len > b->size - b->off)
		return SSHX_ERR_INCOMPLETE;
	b->size -= len;
	return 0;
}

/* Moves unread data to the front of the storage, wiping what it leaves behind. */
static void
buf_pack(struct sshx_buf *b)
{
	size_t n = b->size - b->off;

	if (b->off == 0)
		return;
	memmove(b->d, b->d + b->off, n);
	explicit_bzero(b->d + n, b->size - n);
	b->off = 0;
	b->size = n;
}

int
sshx_buf_reserve(struct sshx_buf *b, size_t len, uint8_t **dpp)
{
	size_t need, nalloc, chunk;
	uint8_t *nd;

	if (dpp != NULL)
		*dpp = NULL;
	if (b == NULL || b->readonly)
		return SSHX_ERR_INVALID_ARGUMENT;
	if (len > b->max || b->size - b->off > b->max - len)
		return SSHX_ERR_NO_BUFFER_SPACE;
	if (b->size + len > b->alloc && b->off > 0)
		buf_pack(b);
	need = b->size + len;
	if (need > b->alloc) {
		/* Secure memory is a small locked pool: round up less. */
		chunk = b->secure ? SECURE_CHUNK : BUF_CHUNK;
		nalloc = (need + chunk - 1) / chunk * chunk;
		if (nalloc < b->alloc * 2 && b->alloc * 2 <= b->max + BUF_CHUNK)
			nalloc = b->alloc * 2;
		nd = b->secure ? gcry_malloc_secure(nalloc) : malloc(nalloc);
		if (nd == NULL)
			return b->secure ? SSHX_ERR_SECMEM : SSHX_ERR_ALLOC;
		if (b->size > 0)
			memcpy(nd, b->d, b->size);
		storage_free(b->d, b->alloc, b->secure);
		b->d = nd;
		b->alloc = nalloc;
	}
	if (dpp != NULL)
		*dpp = b->d + b->size;
	b->size += len;
	return 0;
}

int
sshx_buf_put(struct sshx_buf *b, const void *v, size_t len)
{
	uint8_t *p;
	int r;

	if (len != 0 && v == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	if ((r = sshx_buf_reserve(b, len, &p)) != 0)
		return r;
	if (len != 0)
		memcpy(p, v, len);
	return 0;
}

int
sshx_buf_put_u8(struct sshx_buf *b, uint8_t v)
{
	return sshx_buf_put(b, &v, 1);
}

int
sshx_buf_put_u32(struct sshx_buf *b, uint32_t v)
{
	uint8_t x[4] = { v >> 24, v >> 16, v >> 8, v };

	return sshx_buf_put(b, x, sizeof(x));
}

int
sshx_buf_put_u64(struct sshx_buf *b, uint64_t v)
{
	uint8_t x[8];
	int i;

	for (i = 0; i < 8; i++)
		x[i] = (uint8_t)(v >> (56 - 8 * i));
	return sshx_buf_put(b, x, sizeof(x));
}

int
sshx_buf_put_string(struct sshx_buf *b, const void *v, size_t len)
{
	uint8_t *p;
	int r;

	if (len > SSHX_BUF_SIZE_MAX - 4)
		return SSHX_ERR_STRING_TOO_LARGE;
	if (len != 0 && v == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	if ((r = sshx_buf_reserve(b, 4 + len, &p)) != 0)
		return r;
	p[0] = (uint8_t)(len >> 24);
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	if (len != 0)
		memcpy(p + 4, v, len);
	return 0;
}

int
sshx_buf_put_cstring(struct sshx_buf *b, const char *s)
{
	return sshx_buf_put_string(b, s, s == NULL ? 0 : strlen(s));
}

int
sshx_buf_put_stringb(struct sshx_buf *b, const struct sshx_buf *v)
{
	return sshx_buf_put_string(b, sshx_buf_ptr(v), sshx_buf_len(v));
}

int
sshx_buf_put_bignum2_bytes(struct sshx_buf *b, const void *v, size_t len)
{
	const uint8_t *s = v;
	uint8_t *p;
	size_t prepend;
	int r;

	if (len != 0 && v == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	while (len > 0 && *s == 0) {	/* minimal encoding */
		s++;
		len--;
	}
	if (len > SSHX_BIGNUM_BYTES_MAX)
		return SSHX_ERR_BIGNUM_TOO_LARGE;
	prepend = (len > 0 && (s[0] & 0x80) != 0);
	if ((r = sshx_buf_reserve(b, 4 + prepend + len, &p)) != 0)
		return r;
	p[0] = (uint8_t)((len + prepend) >> 24);
	p[1] = (uint8_t)((len + prepend) >> 16);
	p[2] = (uint8_t)((len + prepend) >> 8);
	p[3] = (uint8_t)(len + prepend);
	if (prepend)
		p[4] = 0;
	if (len != 0)
		memcpy(p + 4 + prepend, s, len);
	return 0;
}

int
sshx_buf_get_u8(struct sshx_buf *b, uint8_t *valp)
{
	if (valp != NULL)
		*valp = 0;
	if (sshx_buf_len(b) < 1)
		return SSHX_ERR_INCOMPLETE;
	if (valp != NULL)
		*valp = sshx_buf_ptr(b)[0];
	return sshx_buf_consume(b, 1);
}

int
sshx_buf_get_u32(struct sshx_buf *b, uint32_t *valp)
{
	const uint8_t *p;

	if (valp != NULL)
		*valp = 0;
	if (sshx_buf_len(b) < 4)
		return SSHX_ERR_INCOMPLETE;
	p = sshx_buf_ptr(b);
	if (valp != NULL)
		*valp = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3];
	return sshx_buf_consume(b, 4);
}

int
sshx_buf_get_u64(struct sshx_buf *b, uint64_t *valp)
{
	const uint8_t *p;
	uint64_t v = 0;
	int i;

	if (valp != NULL)
		*valp = 0;
	if (sshx_buf_len(b) < 8)
		return SSHX_ERR_INCOMPLETE;
	p = sshx_buf_ptr(b);
	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	if (valp != NULL)
		*valp = v;
	return sshx_buf_consume(b, 8);
}

int
sshx_buf_peek_string_direct(const struct sshx_buf *b, const uint8_t **valp,
    size_t *lenp)
{
	const uint8_t *p;
	size_t len;

	if (valp != NULL)
		*valp = NULL;
	if (lenp != NULL)
		*lenp = 0;
	if (sshx_buf_len(b) < 4)
		return SSHX_ERR_INCOMPLETE;
	p = sshx_buf_ptr(b);
	len = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
	if (len > SSHX_BUF_SIZE_MAX - 4)
		return SSHX_ERR_STRING_TOO_LARGE;
	if (sshx_buf_len(b) - 4 < len)
		return SSHX_ERR_INCOMPLETE;
	if (valp != NULL)
		*valp = p + 4;
	if (lenp != NULL)
		*lenp = len;
	return 0;
}

int
sshx_buf_get_string_direct(struct sshx_buf *b, const uint8_t **valp,
    size_t *lenp)
{
	const uint8_t *p;
	size_t len;
	int r;

	if (valp != NULL)
		*valp = NULL;
	if (lenp != NULL)
		*lenp = 0;
	if ((r = sshx_buf_peek_string_direct(b, &p, &len)) != 0)
		return r;
	/* Consuming never moves a buffer's storage, so p stays valid. */
	if ((r = sshx_buf_consume(b, 4 + len)) != 0)
		return r;
	if (valp != NULL)
		*valp = p;
	if (lenp != NULL)
		*lenp = len;
	return 0;
}

int
sshx_buf_get_string(struct sshx_buf *b, uint8_t **valp, size_t *lenp)
{
	const uint8_t *p;
	uint8_t *copy;
	size_t len;
	int r;

	if (valp != NULL)
		*valp = NULL;
	if (lenp != NULL)
		*lenp = 0;
	if ((r = sshx_buf_peek_string_direct(b, &p, &len)) != 0)
		return r;
	if (valp != NULL) {
		if ((copy = malloc(len + 1)) == NULL)
			return SSHX_ERR_ALLOC;
		if (len != 0)
			memcpy(copy, p, len);
		copy[len] = '\0';
		*valp = copy;
	}
	if (lenp != NULL)
		*lenp = len;
	return sshx_buf_consume(b, 4 + len);
}

int
sshx_buf_get_cstring(struct sshx_buf *b, char **valp, size_t *lenp)
{
	const uint8_t *p;
	char *copy;
	size_t len;
	int r;

	if (valp != NULL)
		*valp = NULL;
	if (lenp != NULL)
		*lenp = 0;
	if ((r = sshx_buf_peek_string_direct(b, &p, &len)) != 0)
		return r;
	if (len != 0 && memchr(p, '\0', len) != NULL)
		return SSHX_ERR_NUL_IN_STRING;
	if (valp != NULL) {
		if ((copy = malloc(len + 1)) == NULL)
			return SSHX_ERR_ALLOC;
		if (len != 0)
			memcpy(copy, p, len);
		copy[len] = '\0';
		*valp = copy;
	}
	if (lenp != NULL)
		*lenp = len;
	return sshx_buf_consume(b, 4 + len);
}

int
sshx_buf_froms(struct sshx_buf *b, struct sshx_buf **bufp)
{
	struct sshx_buf *n;
	const uint8_t *p;
	size_t len;
	int r;

	if (bufp != NULL)
		*bufp = NULL;
	if ((r = sshx_buf_peek_string_direct(b, &p, &len)) != 0)
		return r;
	if (bufp != NULL) {
		if ((n = buf_alloc(b->secure)) == NULL)
			return SSHX_ERR_ALLOC;
		if ((r = sshx_buf_put(n, p, len)) != 0) {
			sshx_buf_free(n);
			return r;
		}
		*bufp = n;
	}
	return sshx_buf_consume(b, 4 + len);
}

int
sshx_buf_get_bignum2_bytes_direct(struct sshx_buf *b, const uint8_t **valp,
    size_t *lenp)
{
	const uint8_t *p;
	size_t len;
	int r;

	if (valp != NULL)
		*valp = NULL;
	if (lenp != NULL)
		*lenp = 0;
	if ((r = sshx_buf_peek_string_direct(b, &p, &len)) != 0)
		return r;
	if (len > SSHX_BIGNUM_BYTES_MAX)
		return SSHX_ERR_BIGNUM_TOO_LARGE;
	if (len > 0 && (p[0] & 0x80) != 0)
		return SSHX_ERR_BIGNUM_NEGATIVE;
	/* A leading zero is only allowed in front of a set high bit. */
	if (len > 0 && p[0] == 0 && (len == 1 || (p[1] & 0x80) == 0))
		return SSHX_ERR_INVALID_FORMAT;
	if ((r = sshx_buf_consume(b, 4 + len)) != 0)
		return r;
	if (len > 0 && p[0] == 0) {
		p++;
		len--;
	}
	if (valp != NULL)
		*valp = p;
	if (lenp != NULL)
		*lenp = len;
	return 0;
}
