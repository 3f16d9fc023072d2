/* Unit tests of lib/kh.c: host names, ports, known_hosts lines, hashing, patterns. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>
#include <gcrypt.h>

#include "b64.h"
#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "key.h"
#include "kh.h"
#include "tap.h"

#define WHY_SIZE	512
#define KH_TIMEOUT	60

/* Fails unless the reason why holds phrase. */
#define ck_why(why, phrase) \
	ck_assert_msg(strstr((why), (phrase)) != NULL,			\
	    "expected a reason containing \"%s\", got \"%s\"", (phrase), (why))

/*
 * Public keys made once with ssh-keygen (OpenSSH 9.2: -t ed25519, ecdsa -b
 * 256/384/521, rsa -b 2048, rsa -b 1024, dsa) and the fingerprints that
 * ssh-keygen -lf printed for them.
 */
#define ED25519_B64 "AAAAC3NzaC1lZDI1NTE5AAAAIGH2zTy/58yLUHY6eBYkjhgdfrzYfF8AG1uLRUxXaejg"
#define ED25519_FP "SHA256:t7mZkRM2K9J20SyHTe5enYQUaaKSwhfhViXJcGJeIxE"
#define P256_B64 "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJRu5F5KXvBWaSdI" \
	"1fSPTgs3MGb8yE8la6TbXxjzLDlFIA0PEJvAFIhCCf8GE/omhCsdcX1hBxVQeIsTHRFQ72Y="
#define P256_FP "SHA256:KWZBbc/II5sDs26pqbC1ncmlfKeaqKuzoVlSWObWmhI"
#define P384_B64 "AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBJlJcyT8tJT/+pI9" \
	"w6nifz4pyzh1blGDbYhY0neGbAFEAcc2ZcNLAl5C+64jfIn9fb8Qy2q0KU01KPLXlpr/5Qr4Hw" \
	"XHZO/Z+9dWVU+1rTWgHGDC9F+ssVD0ChIzkliYlA=="
#define P384_FP "SHA256:+C8kckdpw5bBbHDFQ0MXeOmxPkB1GfRN/66ty+huDkQ"
#define P521_B64 "AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAEJ2Z6Xcu5KpBHw" \
	"U1gwh3qE2QeCEGaLEvR1b5EAEpX6rPEmkZhuFenILzQ44RatSXklfKBg3esGAwqXyF+OqojMSg" \
	"FHsC6UUBL09QLJ34Km3lkVfFTLA/v8IZb9WdYUYI7gnM5I5YKdz/Mpd0CmBbyswXI9CU8rNNtH" \
	"PuJ+uuJZo54A6A=="
#define P521_FP "SHA256:zwowCpdXSkUWXgsWHL32hg1abAHgWXXPa1oAuXSEgH8"
#define RSA2048_B64 "AAAAB3NzaC1yc2EAAAADAQABAAABAQC9EnTXw8nDl7JJ4Jk9B6BwioikKD42WhGKGoDf" \
	"hPVKynJ+sOrHtw4fQB1Ijq61QQjTqMm1nMrh4CyOo6llWGyW8sm8O7JwNAqQGlNWaZF7xSL14Y" \
	"+JTIDIBnhyu5Ij034PMU3vx8zUZzn1DXxcQl+gMhz2wpJfkYhJJwe1wZf4GHEhQmmPSuVm45xx" \
	"0Lw3kpzn97ajVfZnqXTvzgxNujMzxw0xEeY3NtRXRkHsD0xK6VqG2mcp+gzpv46F8I2U/R6MbK" \
	"EYjZ8na2bUQCsWGtJ++ZMcAYxksdYVxHTo1Sgwfh3a5BSIDQPUpxJS1O+TPqSsiqC46Q8Igcey" \
	"7Tvp4UCX"
#define RSA2048_FP "SHA256:T4sCrc7YgrksquEse5Or+g4wEbFpcRkAJx2bnNZrLQ8"
#define RSA1024_B64 "AAAAB3NzaC1yc2EAAAADAQABAAAAgQDKm2EQFcOA92C9nGELgB/u53ANr2v8SbE8wglZ" \
	"/imDEVL6aGuKGWIa22RrAlMY+qN6b2Z2yy4eW3eHSAJZSTa7GEwN9egcgp0sBbQf3momkwrpIz" \
	"plG0Z617w79hxDSHcDtxY7A0Q1ddsSdcvIm7vQ34Y+azV8shEvfbNqW94T6w=="
#define RSA1024_FP "SHA256:KgoV63jhhzpiSZA6pW1vT7Hy4RKBSFBZnWDi/QXWg8o"
#define DSA_B64 "AAAAB3NzaC1kc3MAAACBAJMWD+GCbaU2jZmRu010UpNS3Qc6zOAlOLjV8XGxHtgihGHnUbwk" \
	"r+gP92QYHEPc9DUYisCjPyxOh/Mf2XMt8eKCkE8lBP6txfCx0ER/lzc9Q+rG1GhkGgY7XXe/tDfC" \
	"sYlSw0iSVG2nEmTxB7FuEOzqd0Wa5CjLqayutwqjcq/dAAAAFQCbR97oplrtFkRwlJ/aN9XjWW8z" \
	"3wAAAIEAhAzllNxgR4LFJL2McuyMWJeCONEgXUFJIUc8BFcUosAO0Xt51nUwQpgl01xGMEpKBe+y" \
	"j+zyMolfOs50n7fZjcxeNDR8SYaUVUO9PNKvZo4DpLvPMW+IlXwHVX37t+mCv/tO0DciLJJWdm6/" \
	"ITXZULJmq0s38kGmMbfG/KhZznkAAACBAIXlM9jYYh1NhKYw0C7+wVCOp7Fc6NmC9cljFuytiAam" \
	"AdsObPjHHFTqPBQlRvwhJuaBL6ZsGxVDTkHsDKePNKYh9+l2uGFKLRiTyLGTa5+xqQxVVtggfEOl" \
	"9hSN7fGJstcDMJ2KGXWaI7+kgWdntHmtnLlio6oqFM18n2mfcHVo"
#define DSA_FP "SHA256:xb3MEkwkepkxRCQMfzscyIuKoK8Z3ixkVUlaErk9ME4"

/*
 * Made with ssh-keygen -H from a known_hosts file holding "example.com",
 * "[host.example.net]:2222" and "::1"; ssh-keygen -F finds each of them.
 */
static const struct {
	const char *name;
	int port;
	const char *hashed;
} hash_vectors[] = {
	{ "example.com", 22, "|1|d3Eb4ivCRmOzuYYefbcDm3ya+R4=|KXyAR9Vg+UVH8mJrWcSzagTA5So=" },
	{ "host.example.net", 2222, "|1|K1BEIOYnV7nYnjDnwrTwuWA9rKg=|Rr/p+rGtVA09GEVZ1OFC7o+7OIk=" },
	{ "::1", 22, "|1|ZYh3Aq+B0S253IRNSeApPt5ecjA=|0Ou+h1qyGOeN4AxprWfpKUexdZs=" },
};
#define N_HASH_VECTORS	((int)(sizeof(hash_vectors) / sizeof(hash_vectors[0])))

/* ---- Helpers ---- */

/* Decodes base64 text into a new buffer. */
static struct sshx_buf *
decode(const char *b64)
{
	struct sshx_buf *b = sshx_buf_new();

	ck_assert_ptr_nonnull(b);
	ck_ok(sshx_b64_decode(b64, strlen(b64), b));
	return b;
}

/* Returns the base64 of a buffer's contents as a new C string. */
static char *
encode(const struct sshx_buf *b)
{
	struct sshx_buf *t = sshx_buf_new();
	char *s;

	ck_assert_ptr_nonnull(t);
	ck_ok(sshx_b64_encode(sshx_buf_ptr(b), sshx_buf_len(b), t));
	s = malloc(sshx_buf_len(t) + 1);
	ck_assert_ptr_nonnull(s);
	memcpy(s, sshx_buf_ptr(t), sshx_buf_len(t));
	s[sshx_buf_len(t)] = '\0';
	sshx_buf_free(t);
	return s;
}

/* Extracts the 20-byte salt of a hashed name. */
static void
salt_of(const char *hashed, uint8_t salt[static SSHX_KH_SALT_LEN])
{
	struct sshx_buf *b = sshx_buf_new();

	ck_assert_ptr_nonnull(b);
	ck_ok(sshx_b64_decode(hashed + 3, 28, b));
	ck_assert_uint_eq(sshx_buf_len(b), SSHX_KH_SALT_LEN);
	memcpy(salt, sshx_buf_ptr(b), SSHX_KH_SALT_LEN);
	sshx_buf_free(b);
}

/* Parses a line of len bytes that must be an entry. */
static void
line_ok_len(const char *line, size_t len, int flags, struct sshx_kh_line *l)
{
	char why[WHY_SIZE];
	int r;

	memset(l, 0, sizeof(*l));
	r = sshx_kh_parse_line(line, len, flags, l, why, sizeof(why));
	ck_assert_msg(r == 0, "line \"%.100s\": expected an entry (0), got %d (%s): %s",
	    line, r, sshx_strerror(r), why);
	ck_assert_str_eq(why, "");
}

static void
line_ok(const char *line, int flags, struct sshx_kh_line *l)
{
	line_ok_len(line, strlen(line), flags, l);
}

/* Parses a line of len bytes that must fail with want and a reason holding phrase. */
static void
line_err_len(const char *line, size_t len, int flags, int want, const char *phrase)
{
	struct sshx_kh_line l;
	char why[WHY_SIZE];
	int r;

	memset(&l, 0, sizeof(l));
	r = sshx_kh_parse_line(line, len, flags, &l, why, sizeof(why));
	ck_assert_msg(r == want, "line \"%.100s\": expected %d (%s), got %d (%s): %s",
	    line, want, sshx_strerror(want), r, sshx_strerror(r), why);
	ck_assert_msg(strstr(why, phrase) != NULL, "line \"%.100s\": expected a reason "
	    "containing \"%s\", got \"%s\"", line, phrase, why);
	ck_assert_msg(l.hosts == NULL && l.pattern == NULL && l.blob == NULL &&
	    l.nhosts == 0 && l.type[0] == '\0', "a refused line filled the output");
}

static void
line_err(const char *line, int flags, int want, const char *phrase)
{
	line_err_len(line, strlen(line), flags, want, phrase);
}

/* Checks that host i of a line is name:port and not hashed. */
static void
ck_host(const struct sshx_kh_line *l, size_t i, const char *name, int port)
{
	ck_assert_msg(i < l->nhosts, "expected host %zu, the line has %zu", i, l->nhosts);
	ck_assert_str_eq(l->hosts[i].name, name);
	ck_assert_int_eq(l->hosts[i].port, port);
	ck_assert_int_eq(l->hosts[i].hashed, 0);
}

/* Returns a blob "ssh-rsa" with e = 65537 and an odd modulus of nbytes 0xff bytes. */
static char *
synthetic_rsa_b64(size_t nbytes)
{
	static const uint8_t e[] = { 0x01, 0x00, 0x01 };
	struct sshx_buf *b = sshx_buf_new();
	uint8_t n[512];
	char *s;

	ck_assert_ptr_nonnull(b);
	ck_assert_uint_le(nbytes, sizeof(n));
	memset(n, 0xff, nbytes);
	ck_ok(sshx_buf_put_cstring(b, "ssh-rsa"));
	ck_ok(sshx_buf_put_bignum2_bytes(b, e, sizeof(e)));
	ck_ok(sshx_buf_put_bignum2_bytes(b, n, nbytes));
	s = encode(b);
	sshx_buf_free(b);
	return s;
}

/* Returns a DSA blob with p, q of the given sizes (odd, all ones) and g, y given. */
static char *
synthetic_dsa_b64(size_t pbytes, size_t qbytes, uint8_t g, uint8_t y)
{
	struct sshx_buf *b = sshx_buf_new();
	uint8_t p[512], q[64];
	char *s;

	ck_assert_ptr_nonnull(b);
	memset(p, 0xff, sizeof(p));
	memset(q, 0xff, sizeof(q));
	ck_ok(sshx_buf_put_cstring(b, "ssh-dss"));
	ck_ok(sshx_buf_put_bignum2_bytes(b, p, pbytes));
	ck_ok(sshx_buf_put_bignum2_bytes(b, q, qbytes));
	ck_ok(sshx_buf_put_bignum2_bytes(b, &g, 1));
	ck_ok(sshx_buf_put_bignum2_bytes(b, &y, 1));
	s = encode(b);
	sshx_buf_free(b);
	return s;
}

/* Returns seconds of monotonic time. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- Host names ---- */

START_TEST(test_check_name_accepts_allowed_bytes_and_lowercases)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "example.com", "example.com" },
		{ "Example.COM", "example.com" },
		{ "host_1-a.B", "host_1-a.b" },
		{ "10.0.0.1", "10.0.0.1" },
		{ "FE80::1", "fe80::1" },
		{ "a", "a" },
	};
	char out[SSHX_KH_NAME_MAX + 1], why[WHY_SIZE];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_ok(sshx_kh_check_name(cases[i].in, strlen(cases[i].in), out,
		    why, sizeof(why)));
		ck_assert_str_eq(out, cases[i].out);
		ck_assert_str_eq(why, "");
	}
}
END_TEST

START_TEST(test_check_name_reads_only_len_bytes)
{
	static const char text[] = { 'H', 'o', 's', 't', ' ', '#' };	/* no NUL */
	char out[SSHX_KH_NAME_MAX + 1];

	ck_ok(sshx_kh_check_name(text, 4, out, NULL, 0));
	ck_assert_str_eq(out, "host");
}
END_TEST

START_TEST(test_check_name_may_write_in_place)
{
	char buf[SSHX_KH_NAME_MAX + 1] = "MiXeD.Example.ORG";

	ck_ok(sshx_kh_check_name(buf, strlen(buf), buf, NULL, 0));
	ck_assert_str_eq(buf, "mixed.example.org");
}
END_TEST

START_TEST(test_check_name_accepts_255_bytes_refuses_256)
{
	char name[300], out[SSHX_KH_NAME_MAX + 1], why[WHY_SIZE];

	memset(name, 'a', sizeof(name));
	ck_ok(sshx_kh_check_name(name, 255, out, why, sizeof(why)));
	ck_assert_uint_eq(strlen(out), 255);
	ck_err(sshx_kh_check_name(name, 256, out, why, sizeof(why)), SSHX_ERR_INVALID_FORMAT);
	ck_why(why, "host name is longer than 255 bytes");
}
END_TEST

/* One refused name each, with the phrase its reason must hold. */
static const struct {
	const char *in;
	size_t len;
	const char *phrase;
} name_refusals[] = {
	{ "", 0, "host name is empty" },
	{ "a b", 3, "host name contains a space" },
	{ "a\nb", 3, "host name contains a newline" },
	{ "a\rb", 3, "host name contains a newline" },
	{ "a\tb", 3, "host name contains a control character" },
	{ "a\001b", 3, "host name contains a control character" },
	{ "a\177b", 3, "host name contains a control character" },
	{ "a\0b", 3, "host name contains a control character" },
	{ "a#b", 3, "host name contains '#'" },
	{ "@host", 5, "host name starts with '@'" },
	{ "a@b", 3, "host name contains the character '@'" },
	{ "a|b", 3, "host name contains '|' outside a hashed |1| entry" },
	{ "|1|abc", 6, "host name contains '|' outside a hashed |1| entry" },
	{ "a,b", 3, "host name contains ','" },
	{ "*.example.com", 13, "host name contains a wildcard" },
	{ "host?", 5, "host name contains a wildcard" },
	{ "!host", 5, "host name starts with '!'" },
	{ "ho!st", 5, "host name contains the character '!'" },
	{ "caf\303\251.example", 13, "host name contains a non-ASCII byte" },
	{ "a/b", 3, "host name contains the character '/'" },
	{ "[a]", 3, "host name contains the character '['" },
	{ "a]", 2, "host name contains the character ']'" },
	{ "fe80::1%eth0", 12, "host name contains the character '%'" },
	{ "a=b", 3, "host name contains the character '='" },
};

START_TEST(test_check_name_refusal_has_its_reason)
{
	char out[SSHX_KH_NAME_MAX + 1] = "untouched", why[WHY_SIZE];

	ck_err(sshx_kh_check_name(name_refusals[_i].in, name_refusals[_i].len, out,
	    why, sizeof(why)), SSHX_ERR_INVALID_FORMAT);
	ck_why(why, name_refusals[_i].phrase);
	ck_assert_str_eq(out, "untouched");
}
END_TEST

START_TEST(test_check_name_non_ascii_suggests_punycode)
{
	char out[SSHX_KH_NAME_MAX + 1], why[WHY_SIZE];

	ck_err(sshx_kh_check_name("\303\251", 2, out, why, sizeof(why)), SSHX_ERR_INVALID_FORMAT);
	ck_why(why, "punycode");
	ck_err(sshx_kh_check_name("a\nb", 3, out, why, sizeof(why)), SSHX_ERR_INVALID_FORMAT);
	ck_why(why, "new known_hosts line");
}
END_TEST

START_TEST(test_check_name_reports_first_offending_byte)
{
	char out[SSHX_KH_NAME_MAX + 1], why[WHY_SIZE];

	ck_err(sshx_kh_check_name("a b#c", 5, out, why, sizeof(why)), SSHX_ERR_INVALID_FORMAT);
	ck_why(why, "space");
	ck_err(sshx_kh_check_name("a#b c", 5, out, why, sizeof(why)), SSHX_ERR_INVALID_FORMAT);
	ck_why(why, "'#'");
	ck_err(sshx_kh_check_name("@a b", 4, out, why, sizeof(why)), SSHX_ERR_INVALID_FORMAT);
	ck_why(why, "starts with '@'");
	/* Length is checked before any byte. */
	{
		char big[300];

		memset(big, ' ', sizeof(big));
		ck_err(sshx_kh_check_name(big, sizeof(big), out, why, sizeof(why)),
		    SSHX_ERR_INVALID_FORMAT);
		ck_why(why, "longer than 255 bytes");
	}
}
END_TEST

START_TEST(test_check_name_short_why_buffer_is_truncated_not_overrun)
{
	char out[SSHX_KH_NAME_MAX + 1], why[8];

	memset(why, 'x', sizeof(why));
	ck_err(sshx_kh_check_name("a b", 3, out, why, sizeof(why)), SSHX_ERR_INVALID_FORMAT);
	ck_assert_str_eq(why, "host na");
	ck_err(sshx_kh_check_name("a b", 3, out, NULL, 0), SSHX_ERR_INVALID_FORMAT);
}
END_TEST

/* ---- Ports ---- */

START_TEST(test_parse_port_accepts_1_to_65535)
{
	static const struct {
		const char *s;
		int port;
	} cases[] = {
		{ "1", 1 }, { "22", 22 }, { "2222", 2222 }, { "65535", 65535 }, { "022", 22 },
	};
	char why[WHY_SIZE];
	size_t i;
	int port;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		port = -1;
		ck_ok(sshx_kh_parse_port(cases[i].s, strlen(cases[i].s), &port, why, sizeof(why)));
		ck_assert_int_eq(port, cases[i].port);
	}
	/* Only len bytes count. */
	ck_ok(sshx_kh_parse_port("2222", 2, &port, why, sizeof(why)));
	ck_assert_int_eq(port, 22);
}
END_TEST

static const struct {
	const char *s;
	const char *phrase;
} port_refusals[] = {
	{ "0", "port 0 is outside 1..65535" },
	{ "65536", "port 65536 is outside 1..65535" },
	{ "99999999999999999999", "port 99999999999999999999 is outside 1..65535" },
	{ "18446744073709551617", "is outside 1..65535" },
	{ "22a", "port '22a' is not a number" },
	{ "-1", "port '-1' is not a number" },
	{ "+22", "port '+22' is not a number" },
	{ "", "port '' is not a number" },
	{ " 22", "port ' 22' is not a number" },
	{ "22 ", "port '22 ' is not a number" },
	{ "0x16", "port '0x16' is not a number" },
};

START_TEST(test_parse_port_refusal_has_its_reason)
{
	char why[WHY_SIZE];
	int port = 1234;

	ck_err(sshx_kh_parse_port(port_refusals[_i].s, strlen(port_refusals[_i].s), &port,
	    why, sizeof(why)), SSHX_ERR_INVALID_FORMAT);
	ck_why(why, port_refusals[_i].phrase);
	ck_assert_int_eq(port, 0);
}
END_TEST

START_TEST(test_parse_port_escapes_unprintable_bytes)
{
	char why[WHY_SIZE];
	int port;

	ck_err(sshx_kh_parse_port("2\n2\001", 4, &port, why, sizeof(why)), SSHX_ERR_INVALID_FORMAT);
	ck_why(why, "port '2\\x0a2\\x01' is not a number");
	ck_assert_ptr_null(strchr(why, '\n'));
}
END_TEST

START_TEST(test_parse_port_long_digit_string_is_out_of_range_and_cut_short)
{
	char digits[2000], why[WHY_SIZE];
	int port;

	memset(digits, '9', sizeof(digits));
	ck_err(sshx_kh_parse_port(digits, sizeof(digits), &port, why, sizeof(why)),
	    SSHX_ERR_INVALID_FORMAT);
	ck_why(why, "is outside 1..65535");
	ck_assert_uint_lt(strlen(why), 200);
}
END_TEST

/* ---- Hosts on the command line ---- */

START_TEST(test_parse_host_arg_accepts_every_form)
{
	static const struct {
		const char *arg, *name;
		int port;
	} cases[] = {
		{ "example.com", "example.com", 22 },
		{ "Example.COM", "example.com", 22 },
		{ "example.com:2222", "example.com", 2222 },
		{ "[example.com]:2222", "example.com", 2222 },
		{ "[example.com]", "example.com", 22 },
		{ "[example.com]:22", "example.com", 22 },
		{ "10.0.0.1:22", "10.0.0.1", 22 },
		{ "[::1]:2222", "::1", 2222 },
		{ "[::1]", "::1", 22 },
		{ "::1", "::1", 22 },
		{ "fe80::1", "fe80::1", 22 },
		{ "FE80::ABCD", "fe80::abcd", 22 },
		{ "::ffff:10.0.0.1", "::ffff:10.0.0.1", 22 },
	};
	struct sshx_kh_host h;
	char why[WHY_SIZE];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(sshx_kh_parse_host_arg(cases[i].arg, &h, why, sizeof(why)) == 0,
		    "host '%s': expected it accepted, got \"%s\"", cases[i].arg, why);
		ck_assert_str_eq(h.name, cases[i].name);
		ck_assert_int_eq(h.port, cases[i].port);
		ck_assert_int_eq(h.hashed, 0);
	}
}
END_TEST

static const struct {
	const char *arg;
	const char *phrase;
} arg_refusals[] = {
	{ "", "host name is empty" },
	{ "|1|d3Eb4ivCRmOzuYYefbcDm3ya+R4=|KXyAR9Vg+UVH8mJrWcSzagTA5So=",
	    "hashed names cannot be given on the command line" },
	{ "[example.com", "without a closing ']'" },
	{ "example.com]", "']' without '['" },
	{ "[example.com]x", "unexpected text after ']'" },
	{ "[example.com]2222", "unexpected text after ']'" },
	{ "[example.com]:", "port '' is not a number" },
	{ "example.com:", "port '' is not a number" },
	{ ":22", "host name is empty" },
	{ "[]:22", "host name is empty" },
	{ "example.com:0", "port 0 is outside 1..65535" },
	{ "example.com:65536", "port 65536 is outside 1..65535" },
	{ "example.com:ssh", "port 'ssh' is not a number" },
	{ "[::1]:99999999999999999999", "is outside 1..65535" },
	{ "[a:b]:22", "is not an IPv6 address" },
	{ "host:22:", "is not an IPv6 address" },
	{ "a b", "host name contains a space" },
	{ "*.example.com", "host name contains a wildcard" },
	{ "!example.com", "host name starts with '!'" },
	{ "@example.com", "host name starts with '@'" },
	{ "a,b", "host name contains ','" },
	{ "[a b]:22", "host name contains a space" },
};

START_TEST(test_parse_host_arg_refusal_has_its_reason)
{
	struct sshx_kh_host h;
	char why[WHY_SIZE];

	ck_err(sshx_kh_parse_host_arg(arg_refusals[_i].arg, &h, why, sizeof(why)),
	    SSHX_ERR_INVALID_FORMAT);
	ck_why(why, arg_refusals[_i].phrase);
	ck_assert_str_eq(h.name, "");
	ck_assert_int_eq(h.port, 0);
}
END_TEST

/* ---- Host tokens of a known_hosts host field ---- */

START_TEST(test_parse_host_token_accepts_names_and_bracketed_ports)
{
	static const struct {
		const char *tok, *name;
		int port;
	} cases[] = {
		{ "Example.com", "example.com", 22 },
		{ "[a.example]:2222", "a.example", 2222 },
		{ "[a.example]", "a.example", 22 },
		{ "[::1]:2222", "::1", 2222 },
		{ "::1", "::1", 22 },
		{ "10.1.2.3", "10.1.2.3", 22 },
	};
	struct sshx_kh_host h;
	char why[WHY_SIZE];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(sshx_kh_parse_host_token(cases[i].tok, strlen(cases[i].tok), &h,
		    why, sizeof(why)) == 0, "token '%s': expected it accepted, got \"%s\"",
		    cases[i].tok, why);
		ck_assert_str_eq(h.name, cases[i].name);
		ck_assert_int_eq(h.port, cases[i].port);
		ck_assert_int_eq(h.hashed, 0);
	}
	/* Only len bytes count. */
	ck_ok(sshx_kh_parse_host_token("example.comXYZ", 11, &h, why, sizeof(why)));
	ck_assert_str_eq(h.name, "example.com");
}
END_TEST

START_TEST(test_parse_host_token_accepts_hashed_name_as_given)
{
	struct sshx_kh_host h;
	char why[WHY_SIZE];
	int i;

	for (i = 0; i < N_HASH_VECTORS; i++) {
		ck_ok(sshx_kh_parse_host_token(hash_vectors[i].hashed,
		    strlen(hash_vectors[i].hashed), &h, why, sizeof(why)));
		ck_assert_str_eq(h.name, hash_vectors[i].hashed);
		ck_assert_int_eq(h.hashed, 1);
		ck_assert_int_eq(h.port, 0);
	}
}
END_TEST

static const struct {
	const char *tok;
	const char *phrase;
} token_refusals[] = {
	{ "", "host name is empty" },
	/* Hashed names: bad base64, wrong lengths, missing parts. */
	{ "|1|d3Eb4ivCRmOzuYYefbcDm3ya+R4!|KXyAR9Vg+UVH8mJrWcSzagTA5So=", "malformed hashed host name" },
	{ "|1|d3Eb4ivCRmOzuYYefbcDm3ya+R4=|KXyAR9Vg+UVH8mJrWcSzagTA5So", "malformed hashed host name" },
	{ "|1|d3Eb4ivCRmOzuYYefbcDm3ya+R4=|KXyAR9Vg+UVH8mJrWcSzagTA5So==", "malformed hashed host name" },
	{ "|1|AAAAAAAAAAAAAAAAAAAAAA==|KXyAR9Vg+UVH8mJrWcSzagTA5So=", "malformed hashed host name" },
	{ "|1|d3Eb4ivCRmOzuYYefbcDm3ya+R4=|AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "malformed hashed host name" },
	{ "|1|d3Eb4ivCRmOzuYYefbcDm3ya+R4=", "malformed hashed host name" },
	{ "|1||", "malformed hashed host name" },
	{ "|1|d3Eb4ivCRmOzuYYefbcDm3ya+R4=|KXyAR9Vg+UVH8mJrWcSzagTA5So=|", "malformed hashed host name" },
	/* Bits set past the end of the last byte: not canonical base64. */
	{ "|1|d3Eb4ivCRmOzuYYefbcDm3ya+R5=|KXyAR9Vg+UVH8mJrWcSzagTA5So=", "malformed hashed host name" },
	{ "|2|abc", "host name contains '|' outside a hashed |1| entry" },
	{ "a|1|b", "host name contains '|' outside a hashed |1| entry" },
	{ "example.com:2222", "is not an IPv6 address" },
	{ "[example.com", "without a closing ']'" },
	{ "example.com]:22", "']' without '['" },
	{ "[example.com]:x", "port 'x' is not a number" },
	{ "[example.com]:0", "port 0 is outside 1..65535" },
	{ "[example.com]x", "unexpected text after ']'" },
	{ "*.example.com", "host name contains a wildcard" },
	{ "@revoked", "host name starts with '@'" },
	{ "#x", "host name contains '#'" },
};

START_TEST(test_parse_host_token_refusal_has_its_reason)
{
	struct sshx_kh_host h;
	char why[WHY_SIZE];

	ck_err(sshx_kh_parse_host_token(token_refusals[_i].tok, strlen(token_refusals[_i].tok),
	    &h, why, sizeof(why)), SSHX_ERR_INVALID_FORMAT);
	ck_why(why, token_refusals[_i].phrase);
	ck_assert_str_eq(h.name, "");
	ck_assert_int_eq(h.hashed, 0);
}
END_TEST

/* ---- Lines ---- */

START_TEST(test_parse_line_plain_entry_fingerprint_equals_ssh_keygen)
{
	struct sshx_kh_line l;
	struct sshx_buf *blob = decode(ED25519_B64);

	line_ok("example.com ssh-ed25519 " ED25519_B64, 0, &l);
	ck_assert_int_eq(l.marker, SSHX_KH_MARK_NONE);
	ck_assert_uint_eq(l.nhosts, 1);
	ck_host(&l, 0, "example.com", 22);
	ck_assert_ptr_null(l.pattern);
	ck_assert_str_eq(l.type, "ssh-ed25519");
	ck_assert_uint_eq(l.bits, 256);
	ck_assert_str_eq(l.fingerprint, ED25519_FP);
	ck_assert_uint_eq(l.bloblen, sshx_buf_len(blob));
	ck_assert_mem_eq(l.blob, sshx_buf_ptr(blob), l.bloblen);
	sshx_kh_line_clear(&l);
	sshx_buf_free(blob);
}
END_TEST

START_TEST(test_parse_line_every_key_type_with_bits_and_fingerprint)
{
	static const struct {
		const char *type, *b64, *fp;
		unsigned int bits;
	} keys[] = {
		{ "ssh-ed25519", ED25519_B64, ED25519_FP, 256 },
		{ "ecdsa-sha2-nistp256", P256_B64, P256_FP, 256 },
		{ "ecdsa-sha2-nistp384", P384_B64, P384_FP, 384 },
		{ "ecdsa-sha2-nistp521", P521_B64, P521_FP, 521 },
		{ "ssh-rsa", RSA2048_B64, RSA2048_FP, 2048 },
	};
	struct sshx_kh_line l;
	char line[2048];
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(line, sizeof(line), "host.example %s %s", keys[i].type, keys[i].b64);
		line_ok(line, 0, &l);
		ck_assert_str_eq(l.type, keys[i].type);
		ck_assert_uint_eq(l.bits, keys[i].bits);
		ck_assert_str_eq(l.fingerprint, keys[i].fp);
		sshx_kh_line_clear(&l);
	}
}
END_TEST

START_TEST(test_parse_line_comma_list_of_hosts)
{
	struct sshx_kh_line l;

	line_ok("a.example,B.Example,[c.example]:2222,10.0.0.1,[::1]:2200,::2 ssh-ed25519 "
	    ED25519_B64, 0, &l);
	ck_assert_uint_eq(l.nhosts, 6);
	ck_host(&l, 0, "a.example", 22);
	ck_host(&l, 1, "b.example", 22);
	ck_host(&l, 2, "c.example", 2222);
	ck_host(&l, 3, "10.0.0.1", 22);
	ck_host(&l, 4, "::1", 2200);
	ck_host(&l, 5, "::2", 22);
	sshx_kh_line_clear(&l);
}
END_TEST

START_TEST(test_parse_line_bracketed_host_and_port)
{
	struct sshx_kh_line l;

	line_ok("[Git.Example.org]:7999 ssh-ed25519 " ED25519_B64, 0, &l);
	ck_assert_uint_eq(l.nhosts, 1);
	ck_host(&l, 0, "git.example.org", 7999);
	sshx_kh_line_clear(&l);
}
END_TEST

START_TEST(test_parse_line_hashed_host)
{
	struct sshx_kh_line l;
	char line[512];

	snprintf(line, sizeof(line), "%s ssh-ed25519 %s", hash_vectors[1].hashed, ED25519_B64);
	line_ok(line, 0, &l);
	ck_assert_uint_eq(l.nhosts, 1);
	ck_assert_str_eq(l.hosts[0].name, hash_vectors[1].hashed);
	ck_assert_int_eq(l.hosts[0].hashed, 1);
	ck_assert_int_eq(l.hosts[0].port, 0);
	sshx_kh_line_clear(&l);
	/* ssh-keyscan -H output is hashed too. */
	line_ok(line, SSHX_KH_KEYSCAN, &l);
	ck_assert_int_eq(l.hosts[0].hashed, 1);
	sshx_kh_line_clear(&l);
}
END_TEST

START_TEST(test_parse_line_revoked_concrete_hosts)
{
	struct sshx_kh_line l;

	line_ok("@revoked Old.example,[old.example]:2222 ssh-ed25519 " ED25519_B64, 0, &l);
	ck_assert_int_eq(l.marker, SSHX_KH_MARK_REVOKED);
	ck_assert_uint_eq(l.nhosts, 2);
	ck_host(&l, 0, "old.example", 22);
	ck_host(&l, 1, "old.example", 2222);
	ck_assert_ptr_null(l.pattern);
	ck_assert_str_eq(l.fingerprint, ED25519_FP);
	sshx_kh_line_clear(&l);
}
END_TEST

START_TEST(test_parse_line_revoked_pattern_kept_as_field)
{
	struct sshx_kh_line l;

	line_ok("@revoked *.Example.com,!good.example.com ssh-ed25519 " ED25519_B64, 0, &l);
	ck_assert_int_eq(l.marker, SSHX_KH_MARK_REVOKED);
	ck_assert_uint_eq(l.nhosts, 0);
	ck_assert_ptr_null(l.hosts);
	ck_assert_ptr_nonnull(l.pattern);
	ck_assert_str_eq(l.pattern, "*.example.com,!good.example.com");
	sshx_kh_line_clear(&l);
	/* A negation alone makes it a pattern too. */
	line_ok("@revoked !a.example ssh-ed25519 " ED25519_B64, 0, &l);
	ck_assert_uint_eq(l.nhosts, 0);
	ck_assert_str_eq(l.pattern, "!a.example");
	sshx_kh_line_clear(&l);
}
END_TEST

START_TEST(test_parse_line_cert_authority_always_stores_pattern)
{
	struct sshx_kh_line l;

	line_ok("@cert-authority *.example.com,[10.0.0.?]:2222 ssh-ed25519 " ED25519_B64,
	    0, &l);
	ck_assert_int_eq(l.marker, SSHX_KH_MARK_CA);
	ck_assert_uint_eq(l.nhosts, 0);
	ck_assert_ptr_null(l.hosts);
	ck_assert_str_eq(l.pattern, "*.example.com,[10.0.0.?]:2222");
	sshx_kh_line_clear(&l);
	line_ok("@cert-authority Host.Example.com ssh-ed25519 " ED25519_B64, 0, &l);
	ck_assert_int_eq(l.marker, SSHX_KH_MARK_CA);
	ck_assert_uint_eq(l.nhosts, 0);
	ck_assert_str_eq(l.pattern, "host.example.com");
	ck_assert_str_eq(l.fingerprint, ED25519_FP);
	sshx_kh_line_clear(&l);
}
END_TEST

START_TEST(test_parse_line_blank_and_comment_lines_return_1_untouched)
{
	static const char *const lines[] = {
		"", " ", "\t \t", "# a comment", "   # indented comment", "\t#", "\r",
		"#example.com ssh-ed25519 " ED25519_B64,
	};
	struct sshx_kh_line l;
	char why[WHY_SIZE];
	size_t i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		memset(&l, 0x5a, sizeof(l));
		ck_assert_msg(sshx_kh_parse_line(lines[i], strlen(lines[i]), 0, &l, why,
		    sizeof(why)) == 1, "line \"%s\": expected 1 (blank or comment)", lines[i]);
		ck_assert_int_eq(((unsigned char *)&l)[0], 0x5a);
		ck_assert_int_eq(((unsigned char *)&l)[sizeof(l) - 1], 0x5a);
	}
	ck_assert_int_eq(sshx_kh_parse_line(NULL, 0, 0, &l, why, sizeof(why)), 1);
}
END_TEST

START_TEST(test_parse_line_crlf_line_end_accepted)
{
	struct sshx_kh_line l;

	line_ok("example.com ssh-ed25519 " ED25519_B64 "\r", 0, &l);
	ck_assert_str_eq(l.fingerprint, ED25519_FP);
	sshx_kh_line_clear(&l);
	line_ok("example.com ssh-ed25519 " ED25519_B64 " comment\r", 0, &l);
	sshx_kh_line_clear(&l);
	/* Only one CR is a line end; a second is part of the key field. */
	line_err("example.com ssh-ed25519 " ED25519_B64 "\r\r", 0, SSHX_ERR_INVALID_FORMAT,
	    "key is not valid base64");
}
END_TEST

START_TEST(test_parse_line_tabs_runs_of_blanks_and_comment_after_key)
{
	struct sshx_kh_line l;

	line_ok("\t example.com \t ssh-ed25519\t\t" ED25519_B64 "\troot@host  more words", 0, &l);
	ck_host(&l, 0, "example.com", 22);
	ck_assert_str_eq(l.fingerprint, ED25519_FP);
	sshx_kh_line_clear(&l);
	line_ok("example.com ssh-ed25519 " ED25519_B64 "   ", 0, &l);
	sshx_kh_line_clear(&l);
}
END_TEST

START_TEST(test_parse_line_unknown_marker_refused)
{
	line_err("@foo example.com ssh-ed25519 " ED25519_B64, 0, SSHX_ERR_INVALID_FORMAT,
	    "unknown marker '@foo'");
	line_err("@revoked-x example.com ssh-ed25519 " ED25519_B64, 0,
	    SSHX_ERR_INVALID_FORMAT, "unknown marker '@revoked-x'");
	line_err("@Revoked example.com ssh-ed25519 " ED25519_B64, 0,
	    SSHX_ERR_INVALID_FORMAT, "unknown marker '@Revoked'");
}
END_TEST

START_TEST(test_parse_line_keyscan_refuses_markers)
{
	struct sshx_kh_line l;

	line_err("@revoked example.com ssh-ed25519 " ED25519_B64, SSHX_KH_KEYSCAN,
	    SSHX_ERR_INVALID_FORMAT, "markers are not allowed in ssh-keyscan output");
	line_err("@cert-authority *.example.com ssh-ed25519 " ED25519_B64, SSHX_KH_KEYSCAN,
	    SSHX_ERR_INVALID_FORMAT, "markers are not allowed in ssh-keyscan output");
	line_err("@foo example.com ssh-ed25519 " ED25519_B64, SSHX_KH_KEYSCAN,
	    SSHX_ERR_INVALID_FORMAT, "markers are not allowed in ssh-keyscan output");
	line_ok("[example.com]:2222 ssh-ed25519 " ED25519_B64, SSHX_KH_KEYSCAN, &l);
	ck_host(&l, 0, "example.com", 2222);
	sshx_kh_line_clear(&l);
}
END_TEST

START_TEST(test_parse_line_missing_fields_refused)
{
	line_err("example.com", 0, SSHX_ERR_INVALID_FORMAT, "missing key type");
	line_err("example.com  \t", 0, SSHX_ERR_INVALID_FORMAT, "missing key type");
	line_err("example.com ssh-ed25519", 0, SSHX_ERR_INVALID_FORMAT, "missing key");
	line_err("example.com ssh-ed25519 ", 0, SSHX_ERR_INVALID_FORMAT, "missing key");
	line_err("@revoked", 0, SSHX_ERR_INVALID_FORMAT, "missing host name");
	line_err("@cert-authority *.example.com", 0, SSHX_ERR_INVALID_FORMAT,
	    "missing key type");
}
END_TEST

START_TEST(test_parse_line_nul_byte_refused)
{
	static const char line[] = "example.com\0 ssh-ed25519 " ED25519_B64;
	static const char tail[] = "example.com ssh-ed25519 " ED25519_B64 " comment\0x";

	line_err_len(line, sizeof(line) - 1, 0, SSHX_ERR_INVALID_FORMAT,
	    "line contains a NUL byte");
	/* Even in the comment. */
	line_err_len(tail, sizeof(tail) - 1, 0, SSHX_ERR_INVALID_FORMAT,
	    "line contains a NUL byte");
}
END_TEST

START_TEST(test_parse_line_65536_bytes_accepted_65537_refused)
{
	static const char head[] = "example.com ssh-ed25519 " ED25519_B64 " ";
	struct sshx_kh_line l;
	char *line = malloc(SSHX_KH_LINE_MAX + 2);

	ck_assert_ptr_nonnull(line);
	memcpy(line, head, sizeof(head) - 1);
	memset(line + sizeof(head) - 1, 'c', SSHX_KH_LINE_MAX + 2 - (sizeof(head) - 1));
	line_ok_len(line, SSHX_KH_LINE_MAX, 0, &l);
	ck_assert_str_eq(l.fingerprint, ED25519_FP);
	sshx_kh_line_clear(&l);
	line_err_len(line, SSHX_KH_LINE_MAX + 1, 0, SSHX_ERR_LIMIT,
	    "line is longer than 65536 bytes");
	/* The CR of a CRLF line end does not count. */
	line[SSHX_KH_LINE_MAX] = '\r';
	line_ok_len(line, SSHX_KH_LINE_MAX + 1, 0, &l);
	sshx_kh_line_clear(&l);
	/* Refused on length alone: a NUL past the limit is not the reason. */
	line[SSHX_KH_LINE_MAX] = '\0';
	line_err_len(line, SSHX_KH_LINE_MAX + 2, 0, SSHX_ERR_LIMIT, "longer than");
	free(line);
}
END_TEST

START_TEST(test_parse_line_unknown_and_certificate_types_refused)
{
	line_err("example.com ssh-foo " ED25519_B64, 0, SSHX_ERR_KEY_TYPE_UNKNOWN,
	    "unknown key type 'ssh-foo'");
	line_err("example.com SSH-ED25519 " ED25519_B64, 0, SSHX_ERR_KEY_TYPE_UNKNOWN,
	    "unknown key type 'SSH-ED25519'");
	line_err("example.com ssh-ed25519-cert-v01@openssh.com " ED25519_B64, 0,
	    SSHX_ERR_KEY_TYPE_UNKNOWN, "unknown key type 'ssh-ed25519-cert-v01@openssh.com'");
	line_err("example.com ssh-ed25519-cert-v01@openssh.com " ED25519_B64, 0,
	    SSHX_ERR_KEY_TYPE_UNKNOWN,
	    "certificates are not host keys; pin the CA with @cert-authority");
	line_err("example.com sk-ssh-ed25519@openssh.com " ED25519_B64, 0,
	    SSHX_ERR_KEY_TYPE_UNKNOWN, "unknown key type 'sk-ssh-ed25519@openssh.com'");
	line_err("example.com sk-ecdsa-sha2-nistp256@openssh.com " P256_B64, 0,
	    SSHX_ERR_KEY_TYPE_UNKNOWN, "unknown key type");
	/* Non-printable bytes are escaped when echoed. */
	line_err("example.com ssh-\001\033[2J " ED25519_B64, 0, SSHX_ERR_KEY_TYPE_UNKNOWN,
	    "unknown key type 'ssh-\\x01\\x1b[2J'");
}
END_TEST

START_TEST(test_parse_line_overlong_type_refused_and_cut_short)
{
	char line[1024], type[300];
	struct sshx_kh_line l;
	char why[WHY_SIZE];

	memset(type, 'x', sizeof(type) - 1);
	type[sizeof(type) - 1] = '\0';
	snprintf(line, sizeof(line), "example.com %s %s", type, ED25519_B64);
	ck_err(sshx_kh_parse_line(line, strlen(line), 0, &l, why, sizeof(why)),
	    SSHX_ERR_KEY_TYPE_UNKNOWN);
	ck_why(why, "unknown key type 'xxxx");
	ck_assert_uint_lt(strlen(why), 200);
}
END_TEST

START_TEST(test_parse_line_bad_base64_refused)
{
	line_err("example.com ssh-ed25519 AAAA*AAA", 0, SSHX_ERR_INVALID_FORMAT,
	    "key is not valid base64");
	/* Padding removed. */
	line_err("example.com ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAy"
	    "NTYAAABBBJRu5F5KXvBWaSdI1fSPTgs3MGb8yE8la6TbXxjzLDlFIA0PEJvAFIhCCf8GE/omhCsdcX1"
	    "hBxVQeIsTHRFQ72Y", 0, SSHX_ERR_INVALID_FORMAT, "key is not valid base64");
	line_err("example.com ssh-ed25519 AAA", 0, SSHX_ERR_INVALID_FORMAT,
	    "key is not valid base64");
}
END_TEST

START_TEST(test_parse_line_type_mismatch_refused)
{
	line_err("example.com ssh-rsa " ED25519_B64, 0, SSHX_ERR_KEY_TYPE_MISMATCH,
	    "key type mismatch: the line says ssh-rsa but the key is ssh-ed25519");
	line_err("example.com ecdsa-sha2-nistp384 " P256_B64, 0, SSHX_ERR_KEY_TYPE_MISMATCH,
	    "the line says ecdsa-sha2-nistp384 but the key is ecdsa-sha2-nistp256");
}
END_TEST

START_TEST(test_parse_line_truncated_or_empty_blob_is_invalid_key)
{
	/* "AAAA" is a blob of three zero bytes: not even a type name. */
	line_err("example.com ssh-ed25519 AAAA", 0, SSHX_ERR_KEY_INVALID,
	    "invalid ssh-ed25519 key");
	/* A type name but no key after it. */
	line_err("example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", 0, SSHX_ERR_KEY_INVALID,
	    "invalid ssh-ed25519 key");
}
END_TEST

START_TEST(test_parse_line_rsa_1024_refused_unless_allow_weak)
{
	struct sshx_kh_line l;

	line_err("example.com ssh-rsa " RSA1024_B64, 0, SSHX_ERR_KEY_TOO_SMALL,
	    "RSA key of 1024 bits is under the 2048-bit minimum (--allow-weak accepts it)");
	line_ok("example.com ssh-rsa " RSA1024_B64, SSHX_KH_ALLOW_WEAK, &l);
	ck_assert_uint_eq(l.bits, 1024);
	ck_assert_str_eq(l.fingerprint, RSA1024_FP);
	ck_assert_str_eq(l.type, "ssh-rsa");
	sshx_kh_line_clear(&l);
}
END_TEST

START_TEST(test_parse_line_rsa_under_1024_refused_even_with_allow_weak)
{
	char *b64 = synthetic_rsa_b64(64);
	char line[1024];

	snprintf(line, sizeof(line), "example.com ssh-rsa %s", b64);
	line_err(line, 0, SSHX_ERR_KEY_TOO_SMALL, "RSA key of 512 bits is under the 2048-bit minimum");
	line_err(line, SSHX_KH_ALLOW_WEAK, SSHX_ERR_KEY_TOO_SMALL,
	    "RSA key of 512 bits is under the 1024-bit minimum, even with --allow-weak");
	free(b64);
}
END_TEST

START_TEST(test_parse_line_dsa_refused_unless_allow_weak)
{
	struct sshx_kh_line l;
	struct sshx_buf *blob = decode(DSA_B64);

	line_err("example.com ssh-dss " DSA_B64, 0, SSHX_ERR_KEY_TYPE_REFUSED,
	    "DSA (ssh-dss) keys are refused (--allow-weak accepts them)");
	line_ok("example.com ssh-dss " DSA_B64, SSHX_KH_ALLOW_WEAK, &l);
	ck_assert_str_eq(l.type, "ssh-dss");
	ck_assert_uint_eq(l.bits, 1024);
	ck_assert_str_eq(l.fingerprint, DSA_FP);
	ck_assert_uint_eq(l.bloblen, sshx_buf_len(blob));
	ck_assert_mem_eq(l.blob, sshx_buf_ptr(blob), l.bloblen);
	sshx_kh_line_clear(&l);
	sshx_buf_free(blob);
}
END_TEST

START_TEST(test_parse_line_dsa_structure_checked_with_allow_weak)
{
	static const struct {
		size_t pbytes, qbytes;
		uint8_t g, y;
		const char *phrase;
	} cases[] = {
		{ 64, 20, 2, 3, "p has 512 bits" },
		{ 512, 20, 2, 3, "p has 4096 bits" },
		{ 128, 13, 2, 3, "q has 104 bits" },
		{ 128, 20, 1, 3, "g or y is not in 2..p-1" },
		{ 128, 20, 2, 0, "invalid ssh-dss key" },
	};
	struct sshx_buf *blob = decode(DSA_B64), *t;
	char line[4096], *b64;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		b64 = synthetic_dsa_b64(cases[i].pbytes, cases[i].qbytes, cases[i].g, cases[i].y);
		snprintf(line, sizeof(line), "example.com ssh-dss %s", b64);
		line_err(line, SSHX_KH_ALLOW_WEAK, SSHX_ERR_KEY_INVALID, cases[i].phrase);
		free(b64);
	}
	/* A byte after the last value. */
	t = sshx_buf_new();
	ck_assert_ptr_nonnull(t);
	ck_ok(sshx_buf_put(t, sshx_buf_ptr(blob), sshx_buf_len(blob)));
	ck_ok(sshx_buf_put_u8(t, 0));
	b64 = encode(t);
	snprintf(line, sizeof(line), "example.com ssh-dss %s", b64);
	line_err(line, SSHX_KH_ALLOW_WEAK, SSHX_ERR_KEY_INVALID, "trailing bytes");
	free(b64);
	/* Cut inside y. */
	ck_ok(sshx_buf_consume_end(t, 10));
	b64 = encode(t);
	snprintf(line, sizeof(line), "example.com ssh-dss %s", b64);
	line_err(line, SSHX_KH_ALLOW_WEAK, SSHX_ERR_KEY_INVALID, "invalid ssh-dss key");
	free(b64);
	sshx_buf_free(t);
	sshx_buf_free(blob);
}
END_TEST

START_TEST(test_parse_line_ecdsa_point_off_curve_refused)
{
	struct sshx_buf *blob = decode(P256_B64);
	char line[1024], *b64;
	uint8_t *p = sshx_buf_mutable_ptr(blob);

	ck_assert_ptr_nonnull(p);
	p[sshx_buf_len(blob) - 1] ^= 0x01;	/* last byte of y */
	b64 = encode(blob);
	snprintf(line, sizeof(line), "example.com ecdsa-sha2-nistp256 %s", b64);
	line_err(line, 0, SSHX_ERR_KEY_INVALID, "invalid ecdsa-sha2-nistp256 key");
	line_err(line, SSHX_KH_ALLOW_WEAK, SSHX_ERR_KEY_INVALID, "invalid ecdsa-sha2-nistp256 key");
	free(b64);
	sshx_buf_free(blob);
}
END_TEST

START_TEST(test_parse_line_wildcards_refused_on_plain_lines)
{
	static const char *const lines[] = {
		"*.example.com ssh-ed25519 " ED25519_B64,
		"host?.example.com ssh-ed25519 " ED25519_B64,
		"a.example,!b.example ssh-ed25519 " ED25519_B64,
		"!b.example ssh-ed25519 " ED25519_B64,
		"[*.example.com]:2222 ssh-ed25519 " ED25519_B64,
	};
	size_t i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		line_err(lines[i], 0, SSHX_ERR_INVALID_FORMAT, "wildcard patterns are not "
		    "host names; only @cert-authority and @revoked lines may use patterns");
		line_err(lines[i], SSHX_KH_KEYSCAN, SSHX_ERR_INVALID_FORMAT,
		    "wildcard patterns are not host names");
	}
}
END_TEST

START_TEST(test_parse_line_empty_host_element_refused)
{
	line_err("a.example,,b.example ssh-ed25519 " ED25519_B64, 0, SSHX_ERR_INVALID_FORMAT,
	    "empty name in the host field");
	line_err("a.example, ssh-ed25519 " ED25519_B64, 0, SSHX_ERR_INVALID_FORMAT,
	    "empty name in the host field");
	line_err(",a.example ssh-ed25519 " ED25519_B64, 0, SSHX_ERR_INVALID_FORMAT,
	    "empty name in the host field");
	line_err("@revoked *.a.example,, ssh-ed25519 " ED25519_B64, 0, SSHX_ERR_INVALID_FORMAT,
	    "empty name in the host field");
	line_err("@cert-authority ,a ssh-ed25519 " ED25519_B64, 0, SSHX_ERR_INVALID_FORMAT,
	    "empty name in the host field");
}
END_TEST

START_TEST(test_parse_line_bad_host_name_keeps_phrase_and_names_the_host)
{
	line_err("a.example,b/c.example ssh-ed25519 " ED25519_B64, 0, SSHX_ERR_INVALID_FORMAT,
	    "host name contains the character '/'");
	line_err("a.example,b/c.example ssh-ed25519 " ED25519_B64, 0, SSHX_ERR_INVALID_FORMAT,
	    "b/c.example");
	line_err("a#b ssh-ed25519 " ED25519_B64, 0, SSHX_ERR_INVALID_FORMAT,
	    "host name contains '#'");
	line_err("a\001b ssh-ed25519 " ED25519_B64, 0, SSHX_ERR_INVALID_FORMAT,
	    "host name contains a control character");
	line_err("a\001b ssh-ed25519 " ED25519_B64, 0, SSHX_ERR_INVALID_FORMAT, "a\\x01b");
	line_err("caf\303\251 ssh-ed25519 " ED25519_B64, 0, SSHX_ERR_INVALID_FORMAT,
	    "host name contains a non-ASCII byte");
	line_err("[a.example]:99999 ssh-ed25519 " ED25519_B64, 0, SSHX_ERR_INVALID_FORMAT,
	    "port 99999 is outside 1..65535");
	line_err("@revoked @a ssh-ed25519 " ED25519_B64, 0, SSHX_ERR_INVALID_FORMAT,
	    "host name starts with '@'");
	line_err("|1|zz|zz ssh-ed25519 " ED25519_B64, 0, SSHX_ERR_INVALID_FORMAT,
	    "malformed hashed host name");
	line_err("a:2222 ssh-ed25519 " ED25519_B64, 0, SSHX_ERR_INVALID_FORMAT,
	    "is not an IPv6 address");
}
END_TEST

static const struct {
	const char *field;
	const char *phrase;
} pattern_refusals[] = {
	{ "*.exa|mple", "host pattern contains '|'" },
	{ "*.ex#ample", "host pattern contains '#'" },
	{ "*.ex@ample", "host pattern contains '@'" },
	{ "*.ex\001ample", "host pattern contains a control character" },
	{ "*.ex\rample", "host pattern contains a newline" },
	{ "*.caf\303\251", "host pattern contains a non-ASCII byte" },
	{ "*.ex/ample", "host pattern contains the character '/'" },
	{ "*.a!b", "host pattern contains '!' after its start" },
	{ "!", "host pattern is empty after '!'" },
	{ "[*.example]", "needs a port" },
	{ "[*.example]:0", "port 0 is outside 1..65535" },
	{ "[*.example]:x", "port 'x' is not a number" },
	{ "[*.example]x", "unexpected text after ']'" },
	{ "[*.example", "'[' without ']'" },
	{ "[]:22", "host pattern is empty" },
	{ "*.ex]", "host pattern contains the character ']'" },
	{ "*,|1|d3Eb4ivCRmOzuYYefbcDm3ya+R4=|KXyAR9Vg+UVH8mJrWcSzagTA5So=",
	    "host pattern contains '|'" },
};

START_TEST(test_parse_line_pattern_refusal_has_its_reason)
{
	char line[1024];

	snprintf(line, sizeof(line), "@cert-authority %s ssh-ed25519 %s",
	    pattern_refusals[_i].field, ED25519_B64);
	line_err(line, 0, SSHX_ERR_INVALID_FORMAT, pattern_refusals[_i].phrase);
	snprintf(line, sizeof(line), "@revoked *,%s ssh-ed25519 %s",
	    pattern_refusals[_i].field, ED25519_B64);
	line_err(line, 0, SSHX_ERR_INVALID_FORMAT, pattern_refusals[_i].phrase);
}
END_TEST

START_TEST(test_parse_line_pattern_too_long_refused)
{
	char line[2048], pat[300];

	memset(pat, 'a', sizeof(pat) - 1);
	pat[0] = '*';
	pat[sizeof(pat) - 1] = '\0';
	snprintf(line, sizeof(line), "@cert-authority %s ssh-ed25519 %s", pat, ED25519_B64);
	line_err(line, 0, SSHX_ERR_INVALID_FORMAT, "host pattern is longer than 255 bytes");
}
END_TEST

START_TEST(test_parse_line_host_count_limit)
{
	struct sshx_kh_line l;
	char *line;
	size_t o = 0;
	int i;

	line = malloc(SSHX_KH_HOSTS_MAX * 16 + 200);
	ck_assert_ptr_nonnull(line);
	for (i = 0; i < SSHX_KH_HOSTS_MAX; i++)
		o += (size_t)sprintf(line + o, "%sh%d", i == 0 ? "" : ",", i);
	sprintf(line + o, " ssh-ed25519 %s", ED25519_B64);
	line_ok(line, 0, &l);
	ck_assert_uint_eq(l.nhosts, SSHX_KH_HOSTS_MAX);
	ck_host(&l, SSHX_KH_HOSTS_MAX - 1, "h255", 22);
	sshx_kh_line_clear(&l);
	o += (size_t)sprintf(line + o, ",h%d", SSHX_KH_HOSTS_MAX);
	sprintf(line + o, " ssh-ed25519 %s", ED25519_B64);
	line_err(line, 0, SSHX_ERR_LIMIT, "host field names more than 256 hosts");
	free(line);
}
END_TEST

START_TEST(test_parse_line_refusal_leaves_out_untouched)
{
	struct sshx_kh_line l;
	char why[WHY_SIZE];

	memset(&l, 0x5a, sizeof(l));
	ck_err(sshx_kh_parse_line("a,b/c ssh-ed25519 " ED25519_B64,
	    strlen("a,b/c ssh-ed25519 " ED25519_B64), 0, &l, why, sizeof(why)),
	    SSHX_ERR_INVALID_FORMAT);
	ck_assert_int_eq(((unsigned char *)&l)[0], 0x5a);
	ck_assert_int_eq(((unsigned char *)&l)[sizeof(l) - 1], 0x5a);
	ck_err(sshx_kh_parse_line("a ssh-rsa " ED25519_B64, strlen("a ssh-rsa " ED25519_B64),
	    0, &l, why, sizeof(why)), SSHX_ERR_KEY_TYPE_MISMATCH);
	ck_assert_int_eq(((unsigned char *)&l)[0], 0x5a);
}
END_TEST

START_TEST(test_parse_line_null_arguments)
{
	char why[WHY_SIZE];

	ck_err(sshx_kh_parse_line("a", 1, 0, NULL, why, sizeof(why)), SSHX_ERR_INVALID_ARGUMENT);
	{
		struct sshx_kh_line l;

		ck_err(sshx_kh_parse_line(NULL, 5, 0, &l, why, sizeof(why)),
		    SSHX_ERR_INVALID_ARGUMENT);
		/* No reason buffer is fine. */
		ck_err(sshx_kh_parse_line("a", 1, 0, &l, NULL, 0), SSHX_ERR_INVALID_FORMAT);
	}
}
END_TEST

START_TEST(test_line_clear_frees_and_zeroes_and_is_safe_twice)
{
	struct sshx_kh_line l, zero;

	memset(&zero, 0, sizeof(zero));
	line_ok("a.example,b.example ssh-ed25519 " ED25519_B64, 0, &l);
	sshx_kh_line_clear(&l);
	ck_assert_mem_eq(&l, &zero, sizeof(l));
	sshx_kh_line_clear(&l);
	ck_assert_mem_eq(&l, &zero, sizeof(l));
	line_ok("@cert-authority *.example ssh-ed25519 " ED25519_B64, 0, &l);
	sshx_kh_line_clear(&l);
	ck_assert_mem_eq(&l, &zero, sizeof(l));
	sshx_kh_line_clear(NULL);
}
END_TEST

/* ---- Keys given as TYPE and BASE64 ---- */

START_TEST(test_parse_key_validates_like_parse_line)
{
	struct sshx_kh_line l;
	char why[WHY_SIZE];

	memset(&l, 0, sizeof(l));
	ck_ok(sshx_kh_parse_key("ssh-ed25519", ED25519_B64, strlen(ED25519_B64), 0, &l,
	    why, sizeof(why)));
	ck_assert_str_eq(l.type, "ssh-ed25519");
	ck_assert_str_eq(l.fingerprint, ED25519_FP);
	ck_assert_uint_eq(l.bits, 256);
	ck_assert_int_eq(l.marker, SSHX_KH_MARK_NONE);
	ck_assert_uint_eq(l.nhosts, 0);
	ck_assert_ptr_null(l.hosts);
	ck_assert_ptr_null(l.pattern);
	ck_assert_ptr_nonnull(l.blob);
	sshx_kh_line_clear(&l);

	ck_ok(sshx_kh_parse_key("ecdsa-sha2-nistp521", P521_B64, strlen(P521_B64), 0, &l,
	    why, sizeof(why)));
	ck_assert_str_eq(l.fingerprint, P521_FP);
	sshx_kh_line_clear(&l);

	ck_err(sshx_kh_parse_key("ssh-rsa", ED25519_B64, strlen(ED25519_B64), 0, &l, why,
	    sizeof(why)), SSHX_ERR_KEY_TYPE_MISMATCH);
	ck_why(why, "key type mismatch");
	ck_err(sshx_kh_parse_key("ssh-ed25519-cert-v01@openssh.com", ED25519_B64,
	    strlen(ED25519_B64), 0, &l, why, sizeof(why)), SSHX_ERR_KEY_TYPE_UNKNOWN);
	ck_why(why, "certificates are not host keys");
	ck_err(sshx_kh_parse_key("ssh-ed25519", ED25519_B64 " ", strlen(ED25519_B64) + 1, 0,
	    &l, why, sizeof(why)), SSHX_ERR_INVALID_FORMAT);
	ck_why(why, "key is not valid base64");
	ck_err(sshx_kh_parse_key("ssh-ed25519", "", 0, 0, &l, why, sizeof(why)),
	    SSHX_ERR_INVALID_FORMAT);
	ck_why(why, "missing key");
	ck_err(sshx_kh_parse_key("ssh-rsa", RSA1024_B64, strlen(RSA1024_B64), 0, &l, why,
	    sizeof(why)), SSHX_ERR_KEY_TOO_SMALL);
	ck_why(why, "under the 2048-bit minimum");
	ck_err(sshx_kh_parse_key("ssh-dss", DSA_B64, strlen(DSA_B64), 0, &l, why,
	    sizeof(why)), SSHX_ERR_KEY_TYPE_REFUSED);
	ck_ok(sshx_kh_parse_key("ssh-dss", DSA_B64, strlen(DSA_B64), SSHX_KH_ALLOW_WEAK, &l,
	    why, sizeof(why)));
	ck_assert_str_eq(l.fingerprint, DSA_FP);
	sshx_kh_line_clear(&l);
	/* Only b64len bytes are read. */
	ck_ok(sshx_kh_parse_key("ssh-ed25519", ED25519_B64 "AAAA", strlen(ED25519_B64), 0,
	    &l, why, sizeof(why)));
	sshx_kh_line_clear(&l);
	ck_err(sshx_kh_parse_key(NULL, ED25519_B64, 4, 0, &l, why, sizeof(why)),
	    SSHX_ERR_INVALID_ARGUMENT);
}
END_TEST

/* ---- Writing hosts ---- */

START_TEST(test_format_host_port_22_bare_others_bracketed)
{
	static const struct {
		const char *name;
		int port;
		const char *text;
	} cases[] = {
		{ "example.com", 22, "example.com" },
		{ "example.com", 2222, "[example.com]:2222" },
		{ "example.com", 1, "[example.com]:1" },
		{ "example.com", 65535, "[example.com]:65535" },
		{ "::1", 22, "::1" },
		{ "::1", 2222, "[::1]:2222" },
		{ "fe80::1", 830, "[fe80::1]:830" },
	};
	struct sshx_kh_host h;
	char out[SSHX_KH_HOSTPORT_SIZE];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&h, 0, sizeof(h));
		strcpy(h.name, cases[i].name);
		h.port = cases[i].port;
		ck_ok(sshx_kh_format_host(&h, out));
		ck_assert_str_eq(out, cases[i].text);
	}
	/* A hashed name is written as is. */
	memset(&h, 0, sizeof(h));
	strcpy(h.name, hash_vectors[0].hashed);
	h.hashed = 1;
	ck_ok(sshx_kh_format_host(&h, out));
	ck_assert_str_eq(out, hash_vectors[0].hashed);
	/* The longest name with the longest port fits. */
	memset(&h, 0, sizeof(h));
	memset(h.name, 'a', SSHX_KH_NAME_MAX);
	h.port = 65535;
	ck_ok(sshx_kh_format_host(&h, out));
	ck_assert_uint_eq(strlen(out), SSHX_KH_HOSTPORT_SIZE - 1);
}
END_TEST

START_TEST(test_format_host_round_trips_through_parse_host_token)
{
	static const char *const args[] = { "example.com", "[example.com]:2222", "::1",
	    "[::1]:2222", "[fe80::1]:22" };
	struct sshx_kh_host h, h2;
	char out[SSHX_KH_HOSTPORT_SIZE];
	size_t i;

	for (i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
		ck_ok(sshx_kh_parse_host_arg(args[i], &h, NULL, 0));
		ck_ok(sshx_kh_format_host(&h, out));
		ck_ok(sshx_kh_parse_host_token(out, strlen(out), &h2, NULL, 0));
		ck_assert_str_eq(h2.name, h.name);
		ck_assert_int_eq(h2.port, h.port);
	}
}
END_TEST

START_TEST(test_format_host_refuses_bad_port)
{
	struct sshx_kh_host h;
	char out[SSHX_KH_HOSTPORT_SIZE];

	memset(&h, 0, sizeof(h));
	strcpy(h.name, "example.com");
	h.port = 0;
	ck_assert_int_ne(sshx_kh_format_host(&h, out), 0);
	ck_assert_str_eq(out, "");
	h.port = 65536;
	ck_assert_int_ne(sshx_kh_format_host(&h, out), 0);
}
END_TEST

/* ---- Hashing ---- */

START_TEST(test_hash_host_equals_ssh_keygen_H)
{
	struct sshx_kh_hasher *hs = sshx_kh_hasher_new();
	uint8_t salt[SSHX_KH_SALT_LEN];
	char out[SSHX_KH_HASHED_SIZE];

	ck_assert_ptr_nonnull(hs);
	salt_of(hash_vectors[_i].hashed, salt);
	ck_ok(sshx_kh_hash_host(hs, salt, hash_vectors[_i].name, hash_vectors[_i].port, out));
	ck_assert_str_eq(out, hash_vectors[_i].hashed);
	ck_assert_uint_eq(strlen(out), SSHX_KH_HASHED_SIZE - 1);
	/* Without a hasher, a temporary one gives the same. */
	ck_ok(sshx_kh_hash_host(NULL, salt, hash_vectors[_i].name, hash_vectors[_i].port, out));
	ck_assert_str_eq(out, hash_vectors[_i].hashed);
	sshx_kh_hasher_free(hs);
}
END_TEST

START_TEST(test_hasher_reused_across_salts_and_names)
{
	struct sshx_kh_hasher *hs = sshx_kh_hasher_new();
	uint8_t salt[SSHX_KH_SALT_LEN];
	char out[SSHX_KH_HASHED_SIZE];
	int round, i;

	ck_assert_ptr_nonnull(hs);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < N_HASH_VECTORS; i++) {
			salt_of(hash_vectors[i].hashed, salt);
			ck_ok(sshx_kh_hash_host(hs, salt, hash_vectors[i].name,
			    hash_vectors[i].port, out));
			ck_assert_str_eq(out, hash_vectors[i].hashed);
			ck_assert_int_eq(sshx_kh_hashed_matches(hs, out, hash_vectors[i].name,
			    hash_vectors[i].port), 1);
		}
	}
	sshx_kh_hasher_free(hs);
	sshx_kh_hasher_free(NULL);
}
END_TEST

START_TEST(test_hash_host_refuses_bad_host)
{
	uint8_t salt[SSHX_KH_SALT_LEN] = { 0 };
	char out[SSHX_KH_HASHED_SIZE];

	ck_assert_int_ne(sshx_kh_hash_host(NULL, salt, "example.com", 0, out), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_ne(sshx_kh_hash_host(NULL, salt, NULL, 22, out), 0);
	ck_assert_int_ne(sshx_kh_hash_host(NULL, salt, "", 22, out), 0);
}
END_TEST

START_TEST(test_hashed_matches_true_only_for_its_host)
{
	struct sshx_kh_hasher *hs = sshx_kh_hasher_new();
	int i;

	ck_assert_ptr_nonnull(hs);
	for (i = 0; i < N_HASH_VECTORS; i++) {
		ck_assert_int_eq(sshx_kh_hashed_matches(hs, hash_vectors[i].hashed,
		    hash_vectors[i].name, hash_vectors[i].port), 1);
		ck_assert_int_eq(sshx_kh_hashed_matches(NULL, hash_vectors[i].hashed,
		    hash_vectors[i].name, hash_vectors[i].port), 1);
		ck_assert_int_eq(sshx_kh_hashed_matches(hs, hash_vectors[i].hashed,
		    hash_vectors[i].name, hash_vectors[i].port + 1), 0);
		ck_assert_int_eq(sshx_kh_hashed_matches(hs, hash_vectors[i].hashed,
		    "other.example", hash_vectors[i].port), 0);
	}
	/* "[host.example.net]:2222" is not host.example.net at port 22. */
	ck_assert_int_eq(sshx_kh_hashed_matches(hs, hash_vectors[1].hashed,
	    "host.example.net", 22), 0);
	/* Malformed hashed names never match. */
	ck_assert_int_eq(sshx_kh_hashed_matches(hs, NULL, "example.com", 22), 0);
	ck_assert_int_eq(sshx_kh_hashed_matches(hs, "example.com", "example.com", 22), 0);
	ck_assert_int_eq(sshx_kh_hashed_matches(hs, "|1|d3Eb4ivCRmOzuYYefbcDm3ya+R4=|",
	    "example.com", 22), 0);
	ck_assert_int_eq(sshx_kh_hashed_matches(hs,
	    "|1|d3Eb4ivCRmOzuYYefbcDm3ya+R4=|KXyAR9Vg+UVH8mJrWcSzagTA5So=x",
	    "example.com", 22), 0);
	/* One flipped hash character. */
	ck_assert_int_eq(sshx_kh_hashed_matches(hs,
	    "|1|d3Eb4ivCRmOzuYYefbcDm3ya+R4=|KXyAR9Vg+UVH8mJrWcSzagTA5Sp=",
	    "example.com", 22), 0);
	sshx_kh_hasher_free(hs);
}
END_TEST

START_TEST(test_derive_salt_is_hmac_of_host_text_deterministic_and_key_dependent)
{
	static const uint8_t key1[32] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint8_t key2[32] = { 1, 2, 3, 4, 5, 6, 7, 9 };
	struct sshx_kh_hasher *hs = sshx_kh_hasher_new();
	uint8_t s1[SSHX_KH_SALT_LEN], s2[SSHX_KH_SALT_LEN], want[SSHX_KH_SALT_LEN];
	size_t wantlen = sizeof(want);
	gcry_mac_hd_t mac;

	ck_assert_ptr_nonnull(hs);
	/* Independently: HMAC-SHA1(key1, "[host.example.net]:2222") through gcry_mac. */
	ck_assert_int_eq(gcry_mac_open(&mac, GCRY_MAC_HMAC_SHA1, 0, NULL), 0);
	ck_assert_int_eq(gcry_mac_setkey(mac, key1, sizeof(key1)), 0);
	ck_assert_int_eq(gcry_mac_write(mac, "[host.example.net]:2222", 23), 0);
	ck_assert_int_eq(gcry_mac_read(mac, want, &wantlen), 0);
	gcry_mac_close(mac);

	ck_ok(sshx_kh_derive_salt(hs, key1, sizeof(key1), "host.example.net", 2222, s1));
	ck_assert_mem_eq(s1, want, sizeof(want));
	ck_ok(sshx_kh_derive_salt(hs, key1, sizeof(key1), "host.example.net", 2222, s2));
	ck_assert_mem_eq(s1, s2, sizeof(s1));
	ck_ok(sshx_kh_derive_salt(NULL, key1, sizeof(key1), "host.example.net", 2222, s2));
	ck_assert_mem_eq(s1, s2, sizeof(s1));
	ck_ok(sshx_kh_derive_salt(hs, key2, sizeof(key2), "host.example.net", 2222, s2));
	ck_assert_msg(memcmp(s1, s2, sizeof(s1)) != 0, "another key gave the same salt");
	ck_ok(sshx_kh_derive_salt(hs, key1, sizeof(key1), "host.example.net", 22, s2));
	ck_assert_msg(memcmp(s1, s2, sizeof(s1)) != 0, "another port gave the same salt");
	ck_ok(sshx_kh_derive_salt(hs, key1, sizeof(key1), "host.example.org", 2222, s2));
	ck_assert_msg(memcmp(s1, s2, sizeof(s1)) != 0, "another name gave the same salt");
	ck_err(sshx_kh_derive_salt(hs, NULL, 0, "host.example.net", 22, s2),
	    SSHX_ERR_INVALID_ARGUMENT);
	sshx_kh_hasher_free(hs);
}
END_TEST

START_TEST(test_derived_salt_hash_verifies)
{
	static const uint8_t key[32] = { 42 };
	uint8_t salt[SSHX_KH_SALT_LEN];
	char out[SSHX_KH_HASHED_SIZE];
	struct sshx_kh_host h;

	ck_ok(sshx_kh_derive_salt(NULL, key, sizeof(key), "::1", 2222, salt));
	ck_ok(sshx_kh_hash_host(NULL, salt, "::1", 2222, out));
	ck_assert_int_eq(sshx_kh_hashed_matches(NULL, out, "::1", 2222), 1);
	ck_ok(sshx_kh_parse_host_token(out, strlen(out), &h, NULL, 0));
	ck_assert_int_eq(h.hashed, 1);
}
END_TEST

/* ---- Patterns ---- */

START_TEST(test_match_patterns_wildcards)
{
	ck_assert_int_eq(sshx_kh_match_patterns("*.example.com", "a.example.com", 22), 1);
	ck_assert_int_eq(sshx_kh_match_patterns("*.example.com", "a.b.example.com", 22), 1);
	ck_assert_int_eq(sshx_kh_match_patterns("*.example.com", "example.com", 22), 0);
	ck_assert_int_eq(sshx_kh_match_patterns("*.example.com", "a.example.org", 22), 0);
	ck_assert_int_eq(sshx_kh_match_patterns("host?.example.com", "host1.example.com", 22), 1);
	ck_assert_int_eq(sshx_kh_match_patterns("host?.example.com", "host12.example.com", 22), 0);
	ck_assert_int_eq(sshx_kh_match_patterns("host?.example.com", "host.example.com", 22), 0);
	ck_assert_int_eq(sshx_kh_match_patterns("10.0.0.?", "10.0.0.7", 22), 1);
	ck_assert_int_eq(sshx_kh_match_patterns("a*b*c", "aXXbYYc", 22), 1);
	ck_assert_int_eq(sshx_kh_match_patterns("a*b*c", "aXXbYY", 22), 0);
	ck_assert_int_eq(sshx_kh_match_patterns("exact.example", "exact.example", 22), 1);
	ck_assert_int_eq(sshx_kh_match_patterns("exact.example", "exact.example.x", 22), 0);
	ck_assert_int_eq(sshx_kh_match_patterns("*.EXAMPLE.com", "a.example.com", 22), 1);
	ck_assert_int_eq(sshx_kh_match_patterns("one.example,*.two.example", "x.two.example", 22), 1);
	ck_assert_int_eq(sshx_kh_match_patterns("", "a.example", 22), 0);
	ck_assert_int_eq(sshx_kh_match_patterns(NULL, "a.example", 22), 0);
	ck_assert_int_eq(sshx_kh_match_patterns("*", NULL, 22), 0);
}
END_TEST

START_TEST(test_match_patterns_negation_wins)
{
	const char *p = "*.example.com,!bad.example.com";

	ck_assert_int_eq(sshx_kh_match_patterns(p, "good.example.com", 22), 1);
	ck_assert_int_eq(sshx_kh_match_patterns(p, "bad.example.com", 22), 0);
	/* Order does not matter. */
	ck_assert_int_eq(sshx_kh_match_patterns("!bad.example.com,*.example.com",
	    "bad.example.com", 22), 0);
	/* A negation alone matches nothing. */
	ck_assert_int_eq(sshx_kh_match_patterns("!bad.example.com", "good.example.com", 22), 0);
	ck_assert_int_eq(sshx_kh_match_patterns("*,!*.internal", "db.internal", 22), 0);
	ck_assert_int_eq(sshx_kh_match_patterns("*,!*.internal", "www.example", 22), 1);
}
END_TEST

START_TEST(test_match_patterns_ports_follow_host_text)
{
	/* "*.example.com" is port 22 only: ssh looks up "[a.example.com]:2222". */
	ck_assert_int_eq(sshx_kh_match_patterns("*.example.com", "a.example.com", 2222), 0);
	ck_assert_int_eq(sshx_kh_match_patterns("[*.example.com]:2222", "a.example.com", 2222), 1);
	ck_assert_int_eq(sshx_kh_match_patterns("[*.example.com]:2222", "a.example.com", 22), 0);
	ck_assert_int_eq(sshx_kh_match_patterns("[*.example.com]:2222", "a.example.com", 2223), 0);
	ck_assert_int_eq(sshx_kh_match_patterns("[10.0.0.?]:2222", "10.0.0.5", 2222), 1);
	ck_assert_int_eq(sshx_kh_match_patterns("[::1]:2222", "::1", 2222), 1);
	ck_assert_int_eq(sshx_kh_match_patterns("::1", "::1", 22), 1);
	/*
	 * "*" matches the whole host text, brackets and port included, so as
	 * in ssh (ssh-keygen -F '[foo]:2222' finds a "*" line) it matches
	 * every port; "[*]:2222" matches port 2222 only.
	 */
	ck_assert_int_eq(sshx_kh_match_patterns("*", "a.example.com", 22), 1);
	ck_assert_int_eq(sshx_kh_match_patterns("*", "a.example.com", 2222), 1);
	ck_assert_int_eq(sshx_kh_match_patterns("[*]:2222", "a.example.com", 2222), 1);
	ck_assert_int_eq(sshx_kh_match_patterns("[*]:2222", "a.example.com", 22), 0);
	ck_assert_int_eq(sshx_kh_match_patterns("[*]:2222", "a.example.com", 22222), 0);
}
END_TEST

START_TEST(test_match_patterns_pathological_pattern_finishes_fast)
{
	char pat[512], name[SSHX_KH_NAME_MAX + 1];
	double t0, t;
	size_t i;

	/* "*a*a*a...*b" against "aaaa...": exponential for a naive backtracker. */
	for (i = 0; i + 2 < 400; i += 2) {
		pat[i] = '*';
		pat[i + 1] = 'a';
	}
	pat[i++] = 'b';
	pat[i] = '\0';
	memset(name, 'a', SSHX_KH_NAME_MAX);
	name[SSHX_KH_NAME_MAX] = '\0';
	t0 = now();
	ck_assert_int_eq(sshx_kh_match_patterns(pat, name, 22), 0);
	ck_assert_int_eq(sshx_kh_match_patterns("*******************************a", name, 22), 1);
	ck_assert_int_eq(sshx_kh_match_patterns("*******************************b", name, 22), 0);
	ck_assert_int_eq(sshx_kh_match_patterns("?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*b",
	    name, 2222), 0);
	t = now() - t0;
	ck_assert_msg(t < 1.0, "pathological patterns took %.3f s, expected well under 1 s", t);
}
END_TEST

START_TEST(test_type_rank_orders_export)
{
	ck_assert_int_eq(sshx_kh_type_rank("ssh-ed25519"), 0);
	ck_assert_int_eq(sshx_kh_type_rank("ecdsa-sha2-nistp256"), 1);
	ck_assert_int_eq(sshx_kh_type_rank("ecdsa-sha2-nistp384"), 2);
	ck_assert_int_eq(sshx_kh_type_rank("ecdsa-sha2-nistp521"), 3);
	ck_assert_int_eq(sshx_kh_type_rank("ssh-rsa"), 4);
	ck_assert_int_eq(sshx_kh_type_rank("ssh-dss"), 5);
	ck_assert_int_eq(sshx_kh_type_rank("ssh-foo"), 9);
	ck_assert_int_eq(sshx_kh_type_rank(NULL), 9);
}
END_TEST

/* ---- Suite ---- */

#define N_OF(a)	((int)(sizeof(a) / sizeof((a)[0])))

/* Adds a TCase with one test, or a loop test over [0, n). */
static void
add(Suite *s, const char *name, const TTest *t, int n)
{
	sshx_add_tcase(s, name, t, n, KH_TIMEOUT, 0);
}

static Suite *
kh_suite(void)
{
	Suite *s = suite_create("kh");

	add(s, "check_name accepts allowed bytes and lowercases",
	    test_check_name_accepts_allowed_bytes_and_lowercases, 0);
	add(s, "check_name reads only len bytes", test_check_name_reads_only_len_bytes, 0);
	add(s, "check_name may write in place", test_check_name_may_write_in_place, 0);
	add(s, "check_name accepts 255 bytes, refuses 256",
	    test_check_name_accepts_255_bytes_refuses_256, 0);
	add(s, "check_name refusal has its reason", test_check_name_refusal_has_its_reason,
	    N_OF(name_refusals));
	add(s, "check_name non-ASCII suggests punycode",
	    test_check_name_non_ascii_suggests_punycode, 0);
	add(s, "check_name reports first offending byte",
	    test_check_name_reports_first_offending_byte, 0);
	add(s, "check_name short why buffer truncated, not overrun",
	    test_check_name_short_why_buffer_is_truncated_not_overrun, 0);
	add(s, "parse_port accepts 1..65535", test_parse_port_accepts_1_to_65535, 0);
	add(s, "parse_port refusal has its reason", test_parse_port_refusal_has_its_reason,
	    N_OF(port_refusals));
	add(s, "parse_port escapes unprintable bytes",
	    test_parse_port_escapes_unprintable_bytes, 0);
	add(s, "parse_port long digit string out of range, cut short",
	    test_parse_port_long_digit_string_is_out_of_range_and_cut_short, 0);
	add(s, "parse_host_arg accepts every form", test_parse_host_arg_accepts_every_form, 0);
	add(s, "parse_host_arg refusal has its reason",
	    test_parse_host_arg_refusal_has_its_reason, N_OF(arg_refusals));
	add(s, "parse_host_token accepts names and bracketed ports",
	    test_parse_host_token_accepts_names_and_bracketed_ports, 0);
	add(s, "parse_host_token accepts hashed name as given",
	    test_parse_host_token_accepts_hashed_name_as_given, 0);
	add(s, "parse_host_token refusal has its reason",
	    test_parse_host_token_refusal_has_its_reason, N_OF(token_refusals));
	add(s, "parse_line plain entry, fingerprint equals ssh-keygen",
	    test_parse_line_plain_entry_fingerprint_equals_ssh_keygen, 0);
	add(s, "parse_line every key type with bits and fingerprint",
	    test_parse_line_every_key_type_with_bits_and_fingerprint, 0);
	add(s, "parse_line comma list of hosts", test_parse_line_comma_list_of_hosts, 0);
	add(s, "parse_line bracketed host and port", test_parse_line_bracketed_host_and_port, 0);
	add(s, "parse_line hashed host", test_parse_line_hashed_host, 0);
	add(s, "parse_line @revoked concrete hosts", test_parse_line_revoked_concrete_hosts, 0);
	add(s, "parse_line @revoked pattern kept as field",
	    test_parse_line_revoked_pattern_kept_as_field, 0);
	add(s, "parse_line @cert-authority always stores pattern",
	    test_parse_line_cert_authority_always_stores_pattern, 0);
	add(s, "parse_line blank and comment lines return 1, out untouched",
	    test_parse_line_blank_and_comment_lines_return_1_untouched, 0);
	add(s, "parse_line CRLF line end accepted", test_parse_line_crlf_line_end_accepted, 0);
	add(s, "parse_line tabs, runs of blanks, comment after key",
	    test_parse_line_tabs_runs_of_blanks_and_comment_after_key, 0);
	add(s, "parse_line unknown marker refused", test_parse_line_unknown_marker_refused, 0);
	add(s, "parse_line keyscan refuses markers", test_parse_line_keyscan_refuses_markers, 0);
	add(s, "parse_line missing fields refused", test_parse_line_missing_fields_refused, 0);
	add(s, "parse_line NUL byte refused", test_parse_line_nul_byte_refused, 0);
	add(s, "parse_line 65536 bytes accepted, 65537 refused",
	    test_parse_line_65536_bytes_accepted_65537_refused, 0);
	add(s, "parse_line unknown and certificate types refused",
	    test_parse_line_unknown_and_certificate_types_refused, 0);
	add(s, "parse_line overlong type refused and cut short",
	    test_parse_line_overlong_type_refused_and_cut_short, 0);
	add(s, "parse_line bad base64 refused", test_parse_line_bad_base64_refused, 0);
	add(s, "parse_line type mismatch refused", test_parse_line_type_mismatch_refused, 0);
	add(s, "parse_line truncated or empty blob is invalid key",
	    test_parse_line_truncated_or_empty_blob_is_invalid_key, 0);
	add(s, "parse_line RSA 1024 refused unless allow-weak",
	    test_parse_line_rsa_1024_refused_unless_allow_weak, 0);
	add(s, "parse_line RSA under 1024 refused even with allow-weak",
	    test_parse_line_rsa_under_1024_refused_even_with_allow_weak, 0);
	add(s, "parse_line DSA refused unless allow-weak",
	    test_parse_line_dsa_refused_unless_allow_weak, 0);
	add(s, "parse_line DSA structure checked with allow-weak",
	    test_parse_line_dsa_structure_checked_with_allow_weak, 0);
	add(s, "parse_line ECDSA point off curve refused",
	    test_parse_line_ecdsa_point_off_curve_refused, 0);
	add(s, "parse_line wildcards refused on plain lines",
	    test_parse_line_wildcards_refused_on_plain_lines, 0);
	add(s, "parse_line empty host element refused",
	    test_parse_line_empty_host_element_refused, 0);
	add(s, "parse_line bad host name keeps phrase and names the host",
	    test_parse_line_bad_host_name_keeps_phrase_and_names_the_host, 0);
	add(s, "parse_line pattern refusal has its reason",
	    test_parse_line_pattern_refusal_has_its_reason, N_OF(pattern_refusals));
	add(s, "parse_line pattern too long refused", test_parse_line_pattern_too_long_refused, 0);
	add(s, "parse_line host count limit", test_parse_line_host_count_limit, 0);
	add(s, "parse_line refusal leaves out untouched",
	    test_parse_line_refusal_leaves_out_untouched, 0);
	add(s, "parse_line NULL arguments", test_parse_line_null_arguments, 0);
	add(s, "line_clear frees, zeroes, safe twice",
	    test_line_clear_frees_and_zeroes_and_is_safe_twice, 0);
	add(s, "parse_key validates like parse_line", test_parse_key_validates_like_parse_line, 0);
	add(s, "format_host port 22 bare, others bracketed",
	    test_format_host_port_22_bare_others_bracketed, 0);
	add(s, "format_host round trips through parse_host_token",
	    test_format_host_round_trips_through_parse_host_token, 0);
	add(s, "format_host refuses bad port", test_format_host_refuses_bad_port, 0);
	add(s, "hash_host equals ssh-keygen -H", test_hash_host_equals_ssh_keygen_H,
	    N_HASH_VECTORS);
	add(s, "hasher reused across salts and names",
	    test_hasher_reused_across_salts_and_names, 0);
	add(s, "hash_host refuses bad host", test_hash_host_refuses_bad_host, 0);
	add(s, "hashed_matches true only for its host",
	    test_hashed_matches_true_only_for_its_host, 0);
	add(s, "derive_salt is HMAC of host text, deterministic, key-dependent",
	    test_derive_salt_is_hmac_of_host_text_deterministic_and_key_dependent, 0);
	add(s, "derived salt hash verifies", test_derived_salt_hash_verifies, 0);
	add(s, "match_patterns wildcards", test_match_patterns_wildcards, 0);
	add(s, "match_patterns negation wins", test_match_patterns_negation_wins, 0);
	add(s, "match_patterns ports follow host text",
	    test_match_patterns_ports_follow_host_text, 0);
	add(s, "match_patterns pathological pattern finishes fast",
	    test_match_patterns_pathological_pattern_finishes_fast, 0);
	add(s, "type_rank orders export", test_type_rank_orders_export, 0);
	return s;
}

int
main(void)
{
	return sshx_run_suite(kh_suite());
}
