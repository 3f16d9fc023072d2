/* Unit tests of lib/buf.c, lib/b64.c and lib/err.c: the wire buffer, base64 and the error strings. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <gcrypt.h>

#include "b64.h"
#include "buf.h"
#include "err.h"
#include "tap.h"

/* Fails unless the unread bytes of b are exactly the len bytes at want. */
#define ck_contents(b, want, len) do {					\
	size_t l_ = (len);						\
	ck_assert_msg(sshx_buf_len(b) == l_, "expected %zu unread bytes, "	\
	    "got %zu", l_, sshx_buf_len(b));				\
	ck_assert_msg(l_ == 0 || memcmp(sshx_buf_ptr(b), (want), l_) == 0,	\
	    "expected the buffer to hold the written bytes");		\
} while (0)

static struct sshx_buf *
new_buf(void)
{
	struct sshx_buf *b = sshx_buf_new();

	ck_assert_ptr_nonnull(b);
	return b;
}

/* ---- Round trips ---- */

START_TEST(test_u8_round_trip)
{
	static const uint8_t vals[] = { 0x00, 0x01, 0x7f, 0x80, 0xff };
	struct sshx_buf *b = new_buf();
	uint8_t v;
	size_t i;

	for (i = 0; i < sizeof(vals); i++)
		ck_ok(sshx_buf_put_u8(b, vals[i]));
	ck_contents(b, vals, sizeof(vals));
	for (i = 0; i < sizeof(vals); i++) {
		ck_ok(sshx_buf_get_u8(b, &v));
		ck_assert_msg(v == vals[i], "u8 %zu: expected 0x%02x, got 0x%02x",
		    i, vals[i], v);
	}
	ck_assert_uint_eq(sshx_buf_len(b), 0);
	sshx_buf_free(b);
}
END_TEST

START_TEST(test_u32_round_trip)
{
	static const uint32_t vals[] = { 0, 1, 0x7fffffff, 0xdeadbeef, 0xffffffff };
	static const uint8_t wire[] = { 0xde, 0xad, 0xbe, 0xef };
	struct sshx_buf *b = new_buf();
	uint32_t v;
	size_t i;

	ck_ok(sshx_buf_put_u32(b, 0xdeadbeef));
	ck_contents(b, wire, sizeof(wire));	/* big-endian */
	sshx_buf_reset(b);
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		ck_ok(sshx_buf_put_u32(b, vals[i]));
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		ck_ok(sshx_buf_get_u32(b, &v));
		ck_assert_msg(v == vals[i], "u32 %zu: expected 0x%08x, got 0x%08x",
		    i, vals[i], v);
	}
	ck_assert_uint_eq(sshx_buf_len(b), 0);
	sshx_buf_free(b);
}
END_TEST

START_TEST(test_u64_round_trip)
{
	static const uint64_t vals[] = {
		0, 1, 0x0102030405060708ULL, 0x8000000000000000ULL, UINT64_MAX,
	};
	static const uint8_t wire[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct sshx_buf *b = new_buf();
	uint64_t v;
	size_t i;

	ck_ok(sshx_buf_put_u64(b, 0x0102030405060708ULL));
	ck_contents(b, wire, sizeof(wire));
	sshx_buf_reset(b);
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		ck_ok(sshx_buf_put_u64(b, vals[i]));
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		ck_ok(sshx_buf_get_u64(b, &v));
		ck_assert_msg(v == vals[i], "u64 %zu: expected 0x%016llx, got 0x%016llx",
		    i, (unsigned long long)vals[i], (unsigned long long)v);
	}
	ck_assert_uint_eq(sshx_buf_len(b), 0);
	sshx_buf_free(b);
}
END_TEST

START_TEST(test_string_round_trip)
{
	static const uint8_t bin[] = { 'a', 0x00, 0xff, 'b', 0x00 };
	static const uint8_t wire[] = { 0, 0, 0, 5, 'a', 0x00, 0xff, 'b', 0x00 };
	struct sshx_buf *b = new_buf();
	uint8_t big[300], *s;
	const uint8_t *d;
	size_t len;

	memset(big, 0x5a, sizeof(big));
	ck_ok(sshx_buf_put_string(b, bin, sizeof(bin)));
	ck_contents(b, wire, sizeof(wire));
	ck_ok(sshx_buf_put_string(b, NULL, 0));
	ck_ok(sshx_buf_put_string(b, big, sizeof(big)));

	/* peek reads without consuming. */
	ck_ok(sshx_buf_peek_string_direct(b, &d, &len));
	ck_assert_msg(len == sizeof(bin) && memcmp(d, bin, len) == 0,
	    "peek: expected the 5-byte string, got %zu bytes", len);
	ck_assert_uint_eq(sshx_buf_len(b), sizeof(wire) + 4 + 4 + sizeof(big));

	ck_ok(sshx_buf_get_string(b, &s, &len));
	ck_assert_msg(len == sizeof(bin) && memcmp(s, bin, len) == 0 && s[len] == '\0',
	    "get_string: expected the 5 bytes NUL-terminated, got %zu bytes", len);
	free(s);
	ck_ok(sshx_buf_get_string_direct(b, &d, &len));
	ck_assert_msg(len == 0, "empty string: expected length 0, got %zu", len);
	ck_ok(sshx_buf_get_string_direct(b, &d, &len));
	ck_assert_msg(len == sizeof(big) && memcmp(d, big, len) == 0,
	    "expected the 300-byte string, got %zu bytes", len);
	ck_assert_uint_eq(sshx_buf_len(b), 0);
	sshx_buf_free(b);
}
END_TEST

START_TEST(test_cstring_round_trip)
{
	static const uint8_t wire[] = { 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o' };
	struct sshx_buf *b = new_buf();
	char *s;
	size_t len;

	ck_ok(sshx_buf_put_cstring(b, "hello"));
	ck_contents(b, wire, sizeof(wire));
	ck_ok(sshx_buf_put_cstring(b, ""));
	ck_ok(sshx_buf_put_cstring(b, NULL));	/* written as the empty string */
	ck_ok(sshx_buf_get_cstring(b, &s, &len));
	ck_assert_str_eq(s, "hello");
	ck_assert_uint_eq(len, 5);
	free(s);
	ck_ok(sshx_buf_get_cstring(b, &s, &len));
	ck_assert_msg(strcmp(s, "") == 0 && len == 0, "expected \"\", got \"%s\"", s);
	free(s);
	ck_ok(sshx_buf_get_cstring(b, &s, NULL));
	ck_assert_str_eq(s, "");
	free(s);
	ck_assert_uint_eq(sshx_buf_len(b), 0);
	sshx_buf_free(b);
}
END_TEST

START_TEST(test_stringb_and_froms_round_trip)
{
	struct sshx_buf *inner = new_buf(), *b = new_buf(), *got = NULL, *sec;
	uint32_t v;

	ck_ok(sshx_buf_put_u32(inner, 7));
	ck_ok(sshx_buf_put_u32(inner, 42));
	ck_ok(sshx_buf_consume(inner, 4));	/* only unread bytes are written */
	ck_ok(sshx_buf_put_stringb(b, inner));
	ck_assert_uint_eq(sshx_buf_len(b), 8);
	ck_ok(sshx_buf_froms(b, &got));
	ck_assert_uint_eq(sshx_buf_len(b), 0);
	ck_ok(sshx_buf_get_u32(got, &v));
	ck_assert_uint_eq(v, 42);
	ck_assert_msg(!sshx_buf_is_secure(got), "expected an ordinary buffer from "
	    "an ordinary one");
	sshx_buf_free(got);

	sec = sshx_buf_new_secure();
	ck_assert_ptr_nonnull(sec);
	ck_ok(sshx_buf_put_stringb(sec, inner));
	ck_ok(sshx_buf_froms(sec, &got));
	ck_assert_msg(sshx_buf_is_secure(got), "expected a secure buffer from a "
	    "secure one");
	ck_ok(sshx_buf_get_u32(got, &v));
	ck_assert_uint_eq(v, 42);
	sshx_buf_free(got);
	sshx_buf_free(sec);
	sshx_buf_free(b);
	sshx_buf_free(inner);
}
END_TEST

/* Magnitudes in, the mpint written, and the magnitude read back. */
static const struct {
	const char *name;
	uint8_t in[4];
	size_t inlen;
	uint8_t wire[8];
	size_t wirelen;
	uint8_t out[4];
	size_t outlen;
} bignums[] = {
	{ "empty is zero", { 0 }, 0, { 0, 0, 0, 0 }, 4, { 0 }, 0 },
	{ "zero byte is zero", { 0x00 }, 1, { 0, 0, 0, 0 }, 4, { 0 }, 0 },
	{ "leading zeros stripped", { 0x00, 0x00, 0x01, 0x02 }, 4,
	  { 0, 0, 0, 2, 0x01, 0x02 }, 6, { 0x01, 0x02 }, 2 },
	{ "high bit clear", { 0x7f }, 1, { 0, 0, 0, 1, 0x7f }, 5, { 0x7f }, 1 },
	{ "high bit set gets a zero byte", { 0x80 }, 1,
	  { 0, 0, 0, 2, 0x00, 0x80 }, 6, { 0x80 }, 1 },
	{ "all ones", { 0xff, 0xff }, 2, { 0, 0, 0, 3, 0x00, 0xff, 0xff }, 7,
	  { 0xff, 0xff }, 2 },
	{ "zeros before a high bit", { 0x00, 0x00, 0x80, 0x01 }, 4,
	  { 0, 0, 0, 3, 0x00, 0x80, 0x01 }, 7, { 0x80, 0x01 }, 2 },
};

START_TEST(test_bignum2_round_trip)
{
	struct sshx_buf *b = new_buf();
	const uint8_t *p;
	size_t len;

	ck_ok(sshx_buf_put_bignum2_bytes(b, bignums[_i].in, bignums[_i].inlen));
	ck_assert_msg(sshx_buf_len(b) == bignums[_i].wirelen &&
	    memcmp(sshx_buf_ptr(b), bignums[_i].wire, bignums[_i].wirelen) == 0,
	    "%s: expected a %zu-byte mpint, got %zu bytes", bignums[_i].name,
	    bignums[_i].wirelen, sshx_buf_len(b));
	ck_ok(sshx_buf_get_bignum2_bytes_direct(b, &p, &len));
	ck_assert_msg(len == bignums[_i].outlen &&
	    (len == 0 || memcmp(p, bignums[_i].out, len) == 0),
	    "%s: expected a %zu-byte magnitude, got %zu bytes", bignums[_i].name,
	    bignums[_i].outlen, len);
	ck_assert_uint_eq(sshx_buf_len(b), 0);
	sshx_buf_free(b);
}
END_TEST

START_TEST(test_bignum2_size_limit)
{
	static uint8_t m[SSHX_BIGNUM_BYTES_MAX + 1];
	struct sshx_buf *b = new_buf();
	const uint8_t *p;
	size_t len;

	/* A 16384-bit value (RSA's largest modulus) round-trips. */
	memset(m, 0xc3, sizeof(m));
	ck_ok(sshx_buf_put_bignum2_bytes(b, m, 2048));
	ck_ok(sshx_buf_get_bignum2_bytes_direct(b, &p, &len));
	ck_assert_msg(len == 2048 && memcmp(p, m, len) == 0,
	    "expected a 2048-byte magnitude, got %zu bytes", len);
	/* A magnitude longer than SSHX_BIGNUM_BYTES_MAX is refused on both sides. */
	ck_err(sshx_buf_put_bignum2_bytes(b, m, sizeof(m)), SSHX_ERR_BIGNUM_TOO_LARGE);
	ck_assert_uint_eq(sshx_buf_len(b), 0);
	m[0] = 0x01;
	ck_ok(sshx_buf_put_string(b, m, sizeof(m)));
	p = (const uint8_t *)"x";
	len = 1;
	ck_err(sshx_buf_get_bignum2_bytes_direct(b, &p, &len), SSHX_ERR_BIGNUM_TOO_LARGE);
	ck_assert_msg(p == NULL && len == 0, "expected cleared out-parameters");
	ck_assert_uint_eq(sshx_buf_len(b), 4 + sizeof(m));
	sshx_buf_free(b);
}
END_TEST

/* ---- Short buffers ---- */

enum getter {
	G_U8, G_U32, G_U64, G_STRING_DIRECT, G_PEEK, G_STRING, G_CSTRING,
	G_FROMS, G_BIGNUM, G_COUNT
};

static const char *const getter_names[G_COUNT] = {
	"get_u8", "get_u32", "get_u64", "get_string_direct", "peek_string_direct",
	"get_string", "get_cstring", "froms", "get_bignum2_bytes_direct",
};

/* Writes one valid encoding of what a getter reads. */
static void
put_for_getter(struct sshx_buf *b, enum getter g)
{
	static const uint8_t mag[] = { 0x12, 0x34, 0x56 };

	switch (g) {
	case G_U8:
		ck_ok(sshx_buf_put_u8(b, 0xaa));
		break;
	case G_U32:
		ck_ok(sshx_buf_put_u32(b, 0xaabbccdd));
		break;
	case G_U64:
		ck_ok(sshx_buf_put_u64(b, 0x1122334455667788ULL));
		break;
	case G_BIGNUM:
		ck_ok(sshx_buf_put_bignum2_bytes(b, mag, sizeof(mag)));
		break;
	default:
		ck_ok(sshx_buf_put_cstring(b, "string"));
		break;
	}
}

/*
 * Calls a getter with out-parameters preset to junk; returns its result and
 * sets *cleared to whether every out-parameter was reset.
 */
static int
call_getter(struct sshx_buf *b, enum getter g, int *cleared)
{
	uint8_t u8 = 0xee, *s = (uint8_t *)&u8;
	uint32_t u32 = 0xeeeeeeee;
	uint64_t u64 = 0xeeeeeeeeeeeeeeeeULL;
	const uint8_t *d = (const uint8_t *)"junk";
	char *cs = (char *)"junk";
	struct sshx_buf *nb = (struct sshx_buf *)&nb;
	size_t len = 999;
	int r = SSHX_ERR_INTERNAL;

	switch (g) {
	case G_U8:
		r = sshx_buf_get_u8(b, &u8);
		*cleared = u8 == 0;
		break;
	case G_U32:
		r = sshx_buf_get_u32(b, &u32);
		*cleared = u32 == 0;
		break;
	case G_U64:
		r = sshx_buf_get_u64(b, &u64);
		*cleared = u64 == 0;
		break;
	case G_STRING_DIRECT:
		r = sshx_buf_get_string_direct(b, &d, &len);
		*cleared = d == NULL && len == 0;
		break;
	case G_PEEK:
		r = sshx_buf_peek_string_direct(b, &d, &len);
		*cleared = d == NULL && len == 0;
		break;
	case G_STRING:
		r = sshx_buf_get_string(b, &s, &len);
		*cleared = s == NULL && len == 0;
		if (r == 0)
			free(s);
		break;
	case G_CSTRING:
		r = sshx_buf_get_cstring(b, &cs, &len);
		*cleared = cs == NULL && len == 0;
		if (r == 0)
			free(cs);
		break;
	case G_FROMS:
		r = sshx_buf_froms(b, &nb);
		*cleared = nb == NULL;
		if (r == 0)
			sshx_buf_free(nb);
		break;
	case G_BIGNUM:
		r = sshx_buf_get_bignum2_bytes_direct(b, &d, &len);
		*cleared = d == NULL && len == 0;
		break;
	case G_COUNT:
		break;
	}
	return r;
}

START_TEST(test_getter_one_byte_short_is_incomplete)
{
	enum getter g = (enum getter)_i;
	struct sshx_buf *full = new_buf(), *cut;
	size_t len;
	int cleared = 0, r;

	put_for_getter(full, g);
	len = sshx_buf_len(full);

	/* The full encoding reads. */
	cut = sshx_buf_from(sshx_buf_ptr(full), len);
	ck_assert_ptr_nonnull(cut);
	r = call_getter(cut, g, &cleared);
	ck_assert_msg(r == 0, "%s on %zu bytes: expected 0, got %d (%s)",
	    getter_names[g], len, r, sshx_strerror(r));
	sshx_buf_free(cut);

	/* One byte short: nothing read, nothing consumed, out-parameters cleared. */
	cut = sshx_buf_from(sshx_buf_ptr(full), len - 1);
	ck_assert_ptr_nonnull(cut);
	r = call_getter(cut, g, &cleared);
	ck_assert_msg(r == SSHX_ERR_INCOMPLETE, "%s on %zu of %zu bytes: expected "
	    "SSHX_ERR_INCOMPLETE, got %d (%s)", getter_names[g], len - 1, len, r,
	    sshx_strerror(r));
	ck_assert_msg(sshx_buf_len(cut) == len - 1, "%s: expected nothing consumed, "
	    "got %zu of %zu bytes left", getter_names[g], sshx_buf_len(cut), len - 1);
	ck_assert_msg(cleared, "%s: expected cleared out-parameters", getter_names[g]);
	sshx_buf_free(cut);
	sshx_buf_free(full);
}
END_TEST

START_TEST(test_getter_on_empty_buffer_is_incomplete)
{
	enum getter g = (enum getter)_i;
	struct sshx_buf *b = new_buf();
	int cleared = 0;

	ck_err(call_getter(b, g, &cleared), SSHX_ERR_INCOMPLETE);
	ck_assert_msg(cleared, "%s: expected cleared out-parameters", getter_names[g]);
	sshx_buf_free(b);
}
END_TEST

START_TEST(test_string_length_too_large)
{
	enum getter g = (enum getter)(G_STRING_DIRECT + _i);
	static const uint8_t wire[] = { 0xff, 0xff, 0xff, 0xff, 'a', 'b', 'c' };
	struct sshx_buf *b = sshx_buf_from(wire, sizeof(wire));
	int cleared = 0, r;

	ck_assert_ptr_nonnull(b);
	r = call_getter(b, g, &cleared);
	ck_assert_msg(r == SSHX_ERR_STRING_TOO_LARGE, "%s with length 0xffffffff: "
	    "expected SSHX_ERR_STRING_TOO_LARGE, got %d (%s)", getter_names[g], r,
	    sshx_strerror(r));
	ck_assert_msg(sshx_buf_len(b) == sizeof(wire), "%s: expected nothing consumed",
	    getter_names[g]);
	ck_assert_msg(cleared, "%s: expected cleared out-parameters", getter_names[g]);
	sshx_buf_free(b);
}
END_TEST

START_TEST(test_string_length_limits)
{
	uint8_t wire[8] = { 0 };
	struct sshx_buf *b;
	const uint8_t *d;
	size_t len;
	uint32_t n;

	/* The largest length allowed is SSHX_BUF_SIZE_MAX - 4: merely incomplete here. */
	n = SSHX_BUF_SIZE_MAX - 4;
	wire[0] = (uint8_t)(n >> 24);
	wire[1] = (uint8_t)(n >> 16);
	wire[2] = (uint8_t)(n >> 8);
	wire[3] = (uint8_t)n;
	b = sshx_buf_from(wire, sizeof(wire));
	ck_err(sshx_buf_get_string_direct(b, &d, &len), SSHX_ERR_INCOMPLETE);
	sshx_buf_free(b);
	n++;
	wire[3] = (uint8_t)n;
	b = sshx_buf_from(wire, sizeof(wire));
	ck_err(sshx_buf_get_string_direct(b, &d, &len), SSHX_ERR_STRING_TOO_LARGE);
	sshx_buf_free(b);

	b = new_buf();
	ck_err(sshx_buf_put_string(b, wire, SSHX_BUF_SIZE_MAX - 3),
	    SSHX_ERR_STRING_TOO_LARGE);
	ck_assert_uint_eq(sshx_buf_len(b), 0);
	sshx_buf_free(b);
}
END_TEST

START_TEST(test_cstring_with_nul_refused)
{
	static const uint8_t inner[] = { 'a', 'b', 0x00, 'c' };
	struct sshx_buf *b = new_buf();
	char *s = (char *)"junk";
	size_t len = 99;
	uint8_t *raw;

	ck_ok(sshx_buf_put_string(b, inner, sizeof(inner)));
	ck_err(sshx_buf_get_cstring(b, &s, &len), SSHX_ERR_NUL_IN_STRING);
	ck_assert_msg(s == NULL && len == 0, "expected cleared out-parameters");
	ck_assert_msg(sshx_buf_len(b) == 4 + sizeof(inner), "expected nothing consumed, "
	    "got %zu bytes left", sshx_buf_len(b));
	/* get_string takes the same bytes. */
	ck_ok(sshx_buf_get_string(b, &raw, &len));
	ck_assert_msg(len == sizeof(inner) && memcmp(raw, inner, len) == 0,
	    "expected the 4 bytes with the NUL");
	free(raw);
	sshx_buf_free(b);
}
END_TEST

START_TEST(test_bad_mpints_refused)
{
	static const struct {
		const char *name;
		uint8_t wire[8];
		size_t len;
		int want;
	} bad[] = {
		{ "negative 0x80", { 0, 0, 0, 1, 0x80 }, 5, SSHX_ERR_BIGNUM_NEGATIVE },
		{ "negative 0xff00", { 0, 0, 0, 2, 0xff, 0x00 }, 6, SSHX_ERR_BIGNUM_NEGATIVE },
		{ "zero written as 00", { 0, 0, 0, 1, 0x00 }, 5, SSHX_ERR_INVALID_FORMAT },
		{ "needless leading zero", { 0, 0, 0, 2, 0x00, 0x01 }, 6,
		  SSHX_ERR_INVALID_FORMAT },
		{ "two leading zeros", { 0, 0, 0, 3, 0x00, 0x00, 0x80 }, 7,
		  SSHX_ERR_INVALID_FORMAT },
	};
	struct sshx_buf *b;
	const uint8_t *p;
	size_t i, len;
	int r;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = sshx_buf_from(bad[i].wire, bad[i].len);
		ck_assert_ptr_nonnull(b);
		p = (const uint8_t *)"x";
		len = 1;
		r = sshx_buf_get_bignum2_bytes_direct(b, &p, &len);
		ck_assert_msg(r == bad[i].want, "%s: expected %d (%s), got %d (%s)",
		    bad[i].name, bad[i].want, sshx_strerror(bad[i].want), r,
		    sshx_strerror(r));
		ck_assert_msg(p == NULL && len == 0, "%s: expected cleared "
		    "out-parameters", bad[i].name);
		ck_assert_msg(sshx_buf_len(b) == bad[i].len, "%s: expected nothing "
		    "consumed", bad[i].name);
		sshx_buf_free(b);
	}
}
END_TEST

/* ---- Limits and storage ---- */

START_TEST(test_set_max_enforced)
{
	static const char ten[] = "0123456789";
	struct sshx_buf *b = new_buf();
	uint8_t *p = (uint8_t *)"junk";

	ck_assert_uint_eq(sshx_buf_avail(b), SSHX_BUF_SIZE_MAX);
	ck_err(sshx_buf_reserve(b, SSHX_BUF_SIZE_MAX + 1, &p), SSHX_ERR_NO_BUFFER_SPACE);
	ck_assert_ptr_null(p);
	ck_err(sshx_buf_set_max(b, SSHX_BUF_SIZE_MAX + 1), SSHX_ERR_INVALID_ARGUMENT);

	ck_ok(sshx_buf_set_max(b, 10));
	ck_assert_uint_eq(sshx_buf_avail(b), 10);
	ck_ok(sshx_buf_put(b, ten, 10));
	ck_assert_uint_eq(sshx_buf_avail(b), 0);
	p = (uint8_t *)"junk";
	ck_err(sshx_buf_reserve(b, 1, &p), SSHX_ERR_NO_BUFFER_SPACE);
	ck_assert_msg(p == NULL, "expected a cleared pointer from a refused reserve");
	ck_err(sshx_buf_put_u8(b, 0), SSHX_ERR_NO_BUFFER_SPACE);
	ck_err(sshx_buf_put_string(b, NULL, 0), SSHX_ERR_NO_BUFFER_SPACE);
	ck_contents(b, ten, 10);

	/* The maximum cannot drop below what the buffer holds. */
	ck_err(sshx_buf_set_max(b, 9), SSHX_ERR_NO_BUFFER_SPACE);
	/* The maximum counts unread bytes: reading makes room again. */
	ck_ok(sshx_buf_consume(b, 4));
	ck_assert_uint_eq(sshx_buf_avail(b), 4);
	ck_ok(sshx_buf_put_u32(b, 0x41424344));
	ck_contents(b, "456789ABCD", 10);
	sshx_buf_free(b);
}
END_TEST

START_TEST(test_reserve_returns_writable_space)
{
	struct sshx_buf *b = new_buf();
	uint8_t *p = NULL;

	ck_ok(sshx_buf_put_u8(b, 'x'));
	ck_ok(sshx_buf_reserve(b, 3, &p));
	ck_assert_ptr_nonnull(p);
	memcpy(p, "abc", 3);
	ck_contents(b, "xabc", 4);
	ck_ok(sshx_buf_reserve(b, 0, NULL));
	ck_assert_uint_eq(sshx_buf_len(b), 4);
	ck_assert_ptr_eq(sshx_buf_mutable_ptr(b), sshx_buf_ptr(b));
	sshx_buf_free(b);
}
END_TEST

START_TEST(test_secure_buffer_growth_keeps_contents)
{
	struct sshx_buf *b = sshx_buf_new_secure();
	uint8_t chunk[97];
	size_t i, j, n = 0;
	uint8_t v;

	ck_assert_ptr_nonnull(b);
	ck_assert_msg(sshx_buf_is_secure(b), "expected a secure buffer");
	for (i = 0; i < 120; i++) {
		for (j = 0; j < sizeof(chunk); j++)
			chunk[j] = (uint8_t)(n + j);
		ck_ok(sshx_buf_put(b, chunk, sizeof(chunk)));
		n += sizeof(chunk);
	}
	ck_assert_uint_eq(sshx_buf_len(b), n);
	ck_assert_msg(gcry_is_secure(sshx_buf_ptr(b)), "expected the grown storage "
	    "in secure memory");
	for (j = 0; j < n; j++)
		ck_assert_msg(sshx_buf_ptr(b)[j] == (uint8_t)j, "byte %zu: expected "
		    "0x%02x, got 0x%02x", j, (uint8_t)j, sshx_buf_ptr(b)[j]);

	/* Read some, then grow again: the unread bytes move and survive. */
	ck_ok(sshx_buf_consume(b, 5000));
	for (i = 0; i < 60; i++) {
		for (j = 0; j < sizeof(chunk); j++)
			chunk[j] = (uint8_t)(n + j);
		ck_ok(sshx_buf_put(b, chunk, sizeof(chunk)));
		n += sizeof(chunk);
	}
	ck_assert_uint_eq(sshx_buf_len(b), n - 5000);
	ck_assert_msg(gcry_is_secure(sshx_buf_ptr(b)), "expected the storage still "
	    "in secure memory");
	for (j = 5000; j < n; j++) {
		ck_ok(sshx_buf_get_u8(b, &v));
		ck_assert_msg(v == (uint8_t)j, "byte %zu: expected 0x%02x, got 0x%02x",
		    j, (uint8_t)j, v);
	}
	sshx_buf_free(b);
}
END_TEST

START_TEST(test_read_only_buffer_refuses_writes)
{
	static const uint8_t data[] = { 0, 0, 0, 2, 'h', 'i', 0x7f };
	uint8_t copy[sizeof(data)];
	struct sshx_buf *b = sshx_buf_from(data, sizeof(data));
	const uint8_t *d;
	uint8_t *p = (uint8_t *)"junk";
	size_t len;
	uint8_t v;

	ck_assert_ptr_nonnull(b);
	memcpy(copy, data, sizeof(data));
	ck_assert_ptr_eq(sshx_buf_ptr(b), data);	/* no copy */
	ck_assert_ptr_null(sshx_buf_mutable_ptr(b));
	ck_assert_uint_eq(sshx_buf_avail(b), 0);
	ck_assert_msg(!sshx_buf_is_secure(b), "expected a read-only view not secure");
	ck_err(sshx_buf_put(b, "x", 1), SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_buf_put_u8(b, 1), SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_buf_put_u32(b, 1), SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_buf_put_u64(b, 1), SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_buf_put_cstring(b, "x"), SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_buf_put_bignum2_bytes(b, "\x01", 1), SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_buf_reserve(b, 1, &p), SSHX_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_null(p);
	sshx_buf_reset(b);		/* ignored */
	ck_assert_uint_eq(sshx_buf_len(b), sizeof(data));

	/* Reading works and leaves the underlying bytes alone. */
	ck_ok(sshx_buf_get_string_direct(b, &d, &len));
	ck_assert_msg(len == 2 && memcmp(d, "hi", 2) == 0, "expected \"hi\"");
	ck_ok(sshx_buf_get_u8(b, &v));
	ck_assert_uint_eq(v, 0x7f);
	ck_assert_uint_eq(sshx_buf_len(b), 0);
	ck_assert_msg(memcmp(copy, data, sizeof(data)) == 0, "expected the viewed "
	    "bytes unchanged");
	sshx_buf_free(b);

	ck_assert_ptr_null(sshx_buf_from(NULL, 1));
	ck_assert_ptr_null(sshx_buf_from(data, (size_t)SSHX_BUF_SIZE_MAX + 1));
	b = sshx_buf_from(NULL, 0);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(sshx_buf_len(b), 0);
	sshx_buf_free(b);
}
END_TEST

START_TEST(test_consume_bounds)
{
	static const char data[] = "0123456789";
	struct sshx_buf *b = new_buf();

	ck_ok(sshx_buf_put(b, data, 10));
	ck_err(sshx_buf_consume(b, 11), SSHX_ERR_INCOMPLETE);
	ck_err(sshx_buf_consume_end(b, 11), SSHX_ERR_INCOMPLETE);
	ck_err(sshx_buf_consume(b, SIZE_MAX), SSHX_ERR_INCOMPLETE);
	ck_err(sshx_buf_consume_end(b, SIZE_MAX), SSHX_ERR_INCOMPLETE);
	ck_contents(b, data, 10);
	ck_ok(sshx_buf_consume(b, 0));
	ck_ok(sshx_buf_consume(b, 3));
	ck_contents(b, "3456789", 7);
	ck_ok(sshx_buf_consume_end(b, 2));
	ck_contents(b, "34567", 5);
	ck_err(sshx_buf_consume_end(b, 6), SSHX_ERR_INCOMPLETE);
	ck_ok(sshx_buf_consume_end(b, 0));
	ck_ok(sshx_buf_consume(b, 5));
	ck_assert_uint_eq(sshx_buf_len(b), 0);
	ck_err(sshx_buf_consume(b, 1), SSHX_ERR_INCOMPLETE);
	ck_err(sshx_buf_consume_end(b, 1), SSHX_ERR_INCOMPLETE);
	/* An emptied buffer takes new data. */
	ck_ok(sshx_buf_put(b, "ab", 2));
	ck_contents(b, "ab", 2);
	ck_err(sshx_buf_consume(NULL, 0), SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_buf_consume_end(NULL, 0), SSHX_ERR_INVALID_ARGUMENT);
	sshx_buf_free(b);
}
END_TEST

START_TEST(test_reset_empties_and_allows_reuse)
{
	struct sshx_buf *b = sshx_buf_new_secure();

	ck_assert_ptr_nonnull(b);
	ck_ok(sshx_buf_put_cstring(b, "secret"));
	sshx_buf_reset(b);
	ck_assert_uint_eq(sshx_buf_len(b), 0);
	ck_ok(sshx_buf_put_u8(b, 9));
	ck_contents(b, "\x09", 1);
	sshx_buf_free(b);
	sshx_buf_free(NULL);
	sshx_buf_reset(NULL);
}
END_TEST

START_TEST(test_null_values_refused_and_outputs_optional)
{
	struct sshx_buf *b = new_buf();

	ck_err(sshx_buf_put(b, NULL, 1), SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_buf_put_string(b, NULL, 1), SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_buf_put_bignum2_bytes(b, NULL, 1), SSHX_ERR_INVALID_ARGUMENT);
	ck_assert_uint_eq(sshx_buf_len(b), 0);

	/* NULL out-parameters skip values. */
	ck_ok(sshx_buf_put_u8(b, 1));
	ck_ok(sshx_buf_put_u32(b, 2));
	ck_ok(sshx_buf_put_u64(b, 3));
	ck_ok(sshx_buf_put_cstring(b, "four"));
	ck_ok(sshx_buf_put_cstring(b, "five"));
	ck_ok(sshx_buf_put_cstring(b, "six"));
	ck_ok(sshx_buf_put_cstring(b, "seven"));
	ck_ok(sshx_buf_put_bignum2_bytes(b, "\x08", 1));
	ck_ok(sshx_buf_get_u8(b, NULL));
	ck_ok(sshx_buf_get_u32(b, NULL));
	ck_ok(sshx_buf_get_u64(b, NULL));
	ck_ok(sshx_buf_get_string_direct(b, NULL, NULL));
	ck_ok(sshx_buf_get_string(b, NULL, NULL));
	ck_ok(sshx_buf_get_cstring(b, NULL, NULL));
	ck_ok(sshx_buf_froms(b, NULL));
	ck_ok(sshx_buf_get_bignum2_bytes_direct(b, NULL, NULL));
	ck_assert_uint_eq(sshx_buf_len(b), 0);
	sshx_buf_free(b);
}
END_TEST

/* ---- Error strings ---- */

START_TEST(test_strerror_distinct_for_every_code)
{
	const char *msg[-SSHX_ERR_MAX_];
	int code, other;

	for (code = 0; code > SSHX_ERR_MAX_; code--) {
		errno = ENOENT;		/* SSHX_ERR_SYSTEM describes errno */
		msg[-code] = sshx_strerror(code);
		ck_assert_msg(msg[-code] != NULL, "code %d: expected a message, got NULL",
		    code);
		ck_assert_msg(msg[-code][0] != '\0', "code %d: expected a non-empty "
		    "message", code);
		ck_assert_msg(strcmp(msg[-code], "unknown error") != 0,
		    "code %d: expected its own message, got \"unknown error\"", code);
	}
	for (code = 0; code > SSHX_ERR_MAX_; code--)
		for (other = code - 1; other > SSHX_ERR_MAX_; other--)
			ck_assert_msg(strcmp(msg[-code], msg[-other]) != 0,
			    "codes %d and %d: expected distinct messages, both \"%s\"",
			    code, other, msg[-code]);
}
END_TEST

START_TEST(test_strerror_unknown_outside_range)
{
	static const int codes[] = { 1, 2, SSHX_ERR_MAX_, SSHX_ERR_MAX_ - 1, INT_MIN,
	    INT_MAX };
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		ck_assert_msg(sshx_strerror(codes[i]) != NULL &&
		    strcmp(sshx_strerror(codes[i]), "unknown error") == 0,
		    "code %d: expected \"unknown error\", got \"%s\"", codes[i],
		    sshx_strerror(codes[i]) == NULL ? "(null)" : sshx_strerror(codes[i]));
}
END_TEST


/* ---- Base64 ---- */

/* RFC 4648 section 10 vectors. */
static const struct {
	const char *plain, *padded, *unpadded;
} b64_vectors[] = {
	{ "", "", "" },
	{ "f", "Zg==", "Zg" },
	{ "fo", "Zm8=", "Zm8" },
	{ "foo", "Zm9v", "Zm9v" },
	{ "foob", "Zm9vYg==", "Zm9vYg" },
	{ "fooba", "Zm9vYmE=", "Zm9vYmE" },
	{ "foobar", "Zm9vYmFy", "Zm9vYmFy" },
};

START_TEST(test_b64_rfc4648_vectors)
{
	const char *plain = b64_vectors[_i].plain;
	size_t len = strlen(plain), got;
	char out[SSHX_B64_SIZE(6)];
	uint8_t dec[8];
	struct sshx_buf *b = sshx_buf_new();

	ck_assert_uint_eq(sshx_b64_encode_raw((const uint8_t *)plain, len, out, 1),
	    strlen(b64_vectors[_i].padded));
	ck_assert_str_eq(out, b64_vectors[_i].padded);
	ck_assert_uint_eq(sshx_b64_encode_raw((const uint8_t *)plain, len, out, 0),
	    strlen(b64_vectors[_i].unpadded));
	ck_assert_str_eq(out, b64_vectors[_i].unpadded);
	ck_ok(sshx_b64_encode((const uint8_t *)plain, len, b));
	ck_assert_uint_eq(sshx_buf_len(b), strlen(b64_vectors[_i].padded));
	ck_assert_mem_eq(sshx_buf_ptr(b), b64_vectors[_i].padded, sshx_buf_len(b));
	ck_ok(sshx_b64_decode_raw(b64_vectors[_i].padded,
	    strlen(b64_vectors[_i].padded), dec, sizeof(dec), &got));
	ck_assert_uint_eq(got, len);
	ck_assert_mem_eq(dec, plain, len);
	sshx_buf_reset(b);
	ck_ok(sshx_b64_decode(b64_vectors[_i].padded, strlen(b64_vectors[_i].padded), b));
	ck_assert_uint_eq(sshx_buf_len(b), len);
	ck_assert_mem_eq(sshx_buf_ptr(b), plain, len);
	sshx_buf_free(b);
}
END_TEST

START_TEST(test_b64_strict_decoding)
{
	static const char *const bad[] = {
		"Zg", "Zg=", "Zh==", "Zm9=", "Z===", "Zg==Zg==", "Zm 9v", "Zm9v\n",
		"Zm-v", "=Zm9", "Zm9v====",
	};
	struct sshx_buf *b = sshx_buf_new();
	uint8_t dec[16];
	size_t i, got = 99;

	ck_ok(sshx_buf_put(b, "keep", 4));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(sshx_b64_decode_raw(bad[i], strlen(bad[i]), dec,
		    sizeof(dec), &got), SSHX_ERR_INVALID_FORMAT);
		ck_assert_uint_eq(got, 0);
		ck_assert_int_eq(sshx_b64_decode(bad[i], strlen(bad[i]), b),
		    SSHX_ERR_INVALID_FORMAT);
		/* A refused decode leaves what the buffer held before. */
		ck_assert_uint_eq(sshx_buf_len(b), 4);
	}
	sshx_buf_free(b);
}
END_TEST

START_TEST(test_b64_decode_raw_checks_room)
{
	uint8_t dec[5];
	size_t got;

	ck_assert_int_eq(sshx_b64_decode_raw("Zm9vYmFy", 8, dec, sizeof(dec), &got),
	    SSHX_ERR_NO_BUFFER_SPACE);
	ck_ok(sshx_b64_decode_raw("Zm9vYmE=", 8, dec, sizeof(dec), &got));
	ck_assert_uint_eq(got, 5);
}
END_TEST

/* ---- Suite ---- */

/* Adds a TCase with one test, or a loop test over [0, n). */
static void
add(Suite *s, const char *name, const TTest *t, int n)
{
	sshx_add_tcase(s, name, t, n, 0, 0);
}

static Suite *
buf_suite(void)
{
	Suite *s = suite_create("buf");

	add(s, "u8 round trip", test_u8_round_trip, 0);
	add(s, "u32 round trip", test_u32_round_trip, 0);
	add(s, "u64 round trip", test_u64_round_trip, 0);
	add(s, "string round trip", test_string_round_trip, 0);
	add(s, "cstring round trip", test_cstring_round_trip, 0);
	add(s, "stringb and froms round trip", test_stringb_and_froms_round_trip, 0);
	add(s, "bignum2 round trip", test_bignum2_round_trip,
	    (int)(sizeof(bignums) / sizeof(bignums[0])));
	add(s, "bignum2 size limit", test_bignum2_size_limit, 0);
	add(s, "getter one byte short is incomplete",
	    test_getter_one_byte_short_is_incomplete, G_COUNT);
	add(s, "getter on empty buffer is incomplete",
	    test_getter_on_empty_buffer_is_incomplete, G_COUNT);
	add(s, "string length 0xffffffff too large", test_string_length_too_large,
	    G_COUNT - G_STRING_DIRECT);
	add(s, "string length limits", test_string_length_limits, 0);
	add(s, "cstring with NUL refused", test_cstring_with_nul_refused, 0);
	add(s, "bad mpints refused", test_bad_mpints_refused, 0);
	add(s, "set_max enforced", test_set_max_enforced, 0);
	add(s, "reserve returns writable space", test_reserve_returns_writable_space, 0);
	add(s, "secure buffer growth keeps contents",
	    test_secure_buffer_growth_keeps_contents, 0);
	add(s, "read-only buffer refuses writes", test_read_only_buffer_refuses_writes, 0);
	add(s, "consume bounds", test_consume_bounds, 0);
	add(s, "reset empties and allows reuse", test_reset_empties_and_allows_reuse, 0);
	add(s, "NULL values refused, outputs optional",
	    test_null_values_refused_and_outputs_optional, 0);
	add(s, "base64 RFC 4648 vectors", test_b64_rfc4648_vectors,
	    (int)(sizeof(b64_vectors) / sizeof(b64_vectors[0])));
	add(s, "base64 strict decoding", test_b64_strict_decoding, 0);
	add(s, "base64 raw decode checks room", test_b64_decode_raw_checks_room, 0);
	add(s, "strerror distinct for every code", test_strerror_distinct_for_every_code, 0);
	add(s, "strerror unknown outside range", test_strerror_unknown_outside_range, 0);
	return s;
}

int
main(void)
{
	return sshx_run_suite(buf_suite());
}
