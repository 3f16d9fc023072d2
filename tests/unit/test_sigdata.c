/*
 * Unit tests of lib/sigdata.c: userauth requests (plain and hostbound) and
 * SSHSIG blobs are told apart and their names read, sanitized and capped;
 * every truncated, oversized, padded or malformed input is "unknown" with
 * nothing read from it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "buf.h"
#include "err.h"
#include "key.h"
#include "sigdata.h"
#include "tap.h"

/* What a request is built from; NULL fields take a default. */
struct ua {
	size_t sidlen;			/* 0: 32 */
	uint8_t type;			/* 0: 50 */
	const char *user;
	size_t userlen;			/* 0: strlen(user) */
	const char *method;
	uint8_t has_sig;		/* 0xff: 1 */
	int hostbound_blob;		/* append a host key */
};

/* A fake public key blob: its bytes do not matter to the parser. */
static const uint8_t hostkey[] = { 0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd',
    '2', '5', '5', '1', '9', 0, 0, 0, 4, 1, 2, 3, 4 };
static const uint8_t userkey[] = { 0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd',
    '2', '5', '5', '1', '9', 0, 0, 0, 4, 5, 6, 7, 8 };

/* Builds a userauth request as a client would send it. */
static struct sshx_buf *
userauth(const struct ua *u)
{
	struct sshx_buf *b = sshx_buf_new();
	uint8_t sid[SSHX_SIGDATA_MAX_SID + 1];
	const char *user = u->user != NULL ? u->user : "alice";
	size_t ulen = u->userlen != 0 ? u->userlen : strlen(user);

	ck_assert_ptr_nonnull(b);
	memset(sid, 0xa5, sizeof(sid));
	ck_ok(sshx_buf_put_string(b, sid, u->sidlen != 0 ? u->sidlen : 32));
	ck_ok(sshx_buf_put_u8(b, u->type != 0 ? u->type : 50));
	ck_ok(sshx_buf_put_string(b, user, ulen));
	ck_ok(sshx_buf_put_cstring(b, "ssh-connection"));
	ck_ok(sshx_buf_put_cstring(b, u->method != NULL ? u->method :
	    u->hostbound_blob ? "publickey-hostbound-v00@openssh.com" : "publickey"));
	ck_ok(sshx_buf_put_u8(b, u->has_sig != 0xff ? u->has_sig : 1));
	ck_ok(sshx_buf_put_cstring(b, "ssh-ed25519"));
	ck_ok(sshx_buf_put_string(b, userkey, sizeof(userkey)));
	if (u->hostbound_blob)
		ck_ok(sshx_buf_put_string(b, hostkey, sizeof(hostkey)));
	return b;
}

/* Builds an SSHSIG signed-data blob for namespace ns (nslen bytes). */
static struct sshx_buf *
sshsig(const char *ns, size_t nslen)
{
	struct sshx_buf *b = sshx_buf_new();
	uint8_t hash[64];

	ck_assert_ptr_nonnull(b);
	memset(hash, 0x5a, sizeof(hash));
	ck_ok(sshx_buf_put(b, "SSHSIG", 6));
	ck_ok(sshx_buf_put_string(b, ns, nslen));
	ck_ok(sshx_buf_put_string(b, "", 0));
	ck_ok(sshx_buf_put_cstring(b, "sha512"));
	ck_ok(sshx_buf_put_string(b, hash, sizeof(hash)));
	return b;
}

/* Parses b and returns the kind. */
static enum sshx_sigdata_kind
parse(const struct sshx_buf *b, struct sshx_sigdata *out)
{
	return sshx_sigdata_parse(sshx_buf_ptr(b), sshx_buf_len(b), out);
}

/* Checks that nothing was read: kind unknown and every text empty. */
static void
assert_unknown(const struct sshx_sigdata *sd, const char *what)
{
	ck_assert_msg(sd->kind == SSHX_SIGDATA_UNKNOWN, "%s: expected unknown, "
	    "got %s", what, sshx_sigdata_kind_name(sd->kind));
	ck_assert_msg(sd->user[0] == '\0' && sd->ns[0] == '\0' &&
	    sd->hostkey_fp[0] == '\0', "%s: expected no fields, got user \"%s\" "
	    "ns \"%s\" host key \"%s\"", what, sd->user, sd->ns, sd->hostkey_fp);
}

START_TEST(test_userauth_publickey)
{
	struct ua u = { .has_sig = 0xff };
	struct sshx_buf *b = userauth(&u);
	struct sshx_sigdata sd;

	ck_assert_int_eq(parse(b, &sd), SSHX_SIGDATA_USERAUTH);
	ck_assert_str_eq(sshx_sigdata_kind_name(sd.kind), "userauth");
	ck_assert_str_eq(sd.user, "alice");
	ck_assert_str_eq(sd.ns, "");
	ck_assert_str_eq(sd.hostkey_fp, "");
	sshx_buf_free(b);
}
END_TEST

START_TEST(test_userauth_hostbound_gives_host_key_fingerprint)
{
	struct ua u = { .has_sig = 0xff, .hostbound_blob = 1, .user = "deploy" };
	struct sshx_buf *b = userauth(&u);
	struct sshx_sigdata sd;
	char want[SSHX_FP_LEN];

	sshx_key_fingerprint_blob(hostkey, sizeof(hostkey), want);
	ck_assert_int_eq(parse(b, &sd), SSHX_SIGDATA_USERAUTH);
	ck_assert_str_eq(sd.user, "deploy");
	ck_assert_str_eq(sd.hostkey_fp, want);
	ck_assert_msg(strncmp(sd.hostkey_fp, "SHA256:", 7) == 0,
	    "expected a SHA256 fingerprint, got \"%s\"", sd.hostkey_fp);
	sshx_buf_free(b);
}
END_TEST

START_TEST(test_userauth_fields_point_into_the_request)
{
	struct ua u = { .has_sig = 0xff, .hostbound_blob = 1, .user = "deploy" };
	struct sshx_buf *b = userauth(&u);
	struct sshx_userauth ua;
	const uint8_t *p = sshx_buf_ptr(b);

	ck_ok(sshx_userauth_parse(p, sshx_buf_len(b), &ua));
	ck_assert_uint_eq(ua.sidlen, 32);
	ck_assert_ptr_eq(ua.sid, p + 4);
	ck_assert_msg(ua.userlen == 6 && memcmp(ua.user, "deploy", 6) == 0,
	    "expected the user \"deploy\"");
	ck_assert_msg(ua.servicelen == 14 && memcmp(ua.service,
	    "ssh-connection", 14) == 0, "expected the service ssh-connection");
	ck_assert_msg(ua.alglen == 11 && memcmp(ua.alg, "ssh-ed25519", 11) == 0,
	    "expected the algorithm ssh-ed25519");
	ck_assert_msg(ua.keylen == sizeof(userkey) &&
	    memcmp(ua.key, userkey, sizeof(userkey)) == 0, "expected the user key");
	ck_assert_msg(ua.hostkeylen == sizeof(hostkey) &&
	    memcmp(ua.hostkey, hostkey, sizeof(hostkey)) == 0,
	    "expected the host key");
	sshx_buf_free(b);
	/* Without the hostbound method there is no host key; garbage is refused. */
	u.hostbound_blob = 0;
	b = userauth(&u);
	ck_ok(sshx_userauth_parse(sshx_buf_ptr(b), sshx_buf_len(b), &ua));
	ck_assert_ptr_null(ua.hostkey);
	ck_err(sshx_userauth_parse(sshx_buf_ptr(b), sshx_buf_len(b) - 1, &ua),
	    SSHX_ERR_INVALID_FORMAT);
	ck_assert_ptr_null(ua.user);
	sshx_buf_free(b);
}
END_TEST

START_TEST(test_sshsig_namespace)
{
	struct sshx_buf *b = sshsig("file@example", 12);
	struct sshx_sigdata sd;

	ck_assert_int_eq(parse(b, &sd), SSHX_SIGDATA_SSHSIG);
	ck_assert_str_eq(sshx_sigdata_kind_name(sd.kind), "sshsig");
	ck_assert_str_eq(sd.ns, "file@example");
	ck_assert_str_eq(sd.user, "");
	ck_assert_str_eq(sd.hostkey_fp, "");
	sshx_buf_free(b);
}
END_TEST

/* Every proper prefix of a valid request, and the request plus one byte, is unknown. */
START_TEST(test_truncated_and_padded_are_unknown)
{
	struct ua plain = { .has_sig = 0xff }, bound = { .has_sig = 0xff,
	    .hostbound_blob = 1 };
	struct sshx_buf *bufs[3];
	struct sshx_sigdata sd;
	uint8_t *copy;
	size_t i, n, len;
	char what[64];

	bufs[0] = userauth(&plain);
	bufs[1] = userauth(&bound);
	bufs[2] = sshsig("git", 3);
	for (i = 0; i < 3; i++) {
		len = sshx_buf_len(bufs[i]);
		ck_assert_ptr_nonnull(copy = malloc(len + 1));
		memcpy(copy, sshx_buf_ptr(bufs[i]), len);
		copy[len] = 0;
		for (n = 0; n < len; n++) {
			snprintf(what, sizeof(what), "input %zu cut to %zu of %zu",
			    i, n, len);
			sshx_sigdata_parse(copy, n, &sd);
			assert_unknown(&sd, what);
		}
		snprintf(what, sizeof(what), "input %zu with a trailing byte", i);
		sshx_sigdata_parse(copy, len + 1, &sd);
		assert_unknown(&sd, what);
		free(copy);
		sshx_buf_free(bufs[i]);
	}
	sshx_sigdata_parse(NULL, 0, &sd);
	assert_unknown(&sd, "NULL");
}
END_TEST

START_TEST(test_not_a_publickey_request_is_unknown)
{
	struct ua cases[] = {
		{ .has_sig = 0xff, .type = 51 },		/* not USERAUTH_REQUEST */
		{ .has_sig = 0 },				/* a query, not a signature */
		{ .has_sig = 2 },				/* a bool that is not 0 or 1 */
		{ .has_sig = 0xff, .method = "password" },
		{ .has_sig = 0xff, .method = "publickey-hostbound-v00@openssh.com" },
		{ .has_sig = 0xff, .sidlen = SSHX_SIGDATA_MAX_SID + 1 },
		{ .has_sig = 0xff, .user = "al\0ice", .userlen = 6 },
	};
	struct sshx_sigdata sd;
	struct sshx_buf *b;
	char what[32];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		b = userauth(&cases[i]);
		snprintf(what, sizeof(what), "case %zu", i);
		parse(b, &sd);
		assert_unknown(&sd, what);
		sshx_buf_free(b);
	}
}
END_TEST

START_TEST(test_oversized_and_hostile_strings)
{
	char big[SSHX_SIGDATA_MAX_NAME + 2];
	struct sshx_sigdata sd;
	struct sshx_buf *b;
	struct ua u = { .has_sig = 0xff };
	static const uint8_t huge_len[] = { 0xff, 0xff, 0xff, 0xff, 50 };

	/* A name over the parser's cap is refused outright. */
	memset(big, 'u', sizeof(big));
	u.user = big;
	u.userlen = SSHX_SIGDATA_MAX_NAME + 1;
	b = userauth(&u);
	parse(b, &sd);
	assert_unknown(&sd, "user over the cap");
	sshx_buf_free(b);
	b = sshsig(big, SSHX_SIGDATA_MAX_NAME + 1);
	parse(b, &sd);
	assert_unknown(&sd, "namespace over the cap");
	sshx_buf_free(b);

	/* A long one within it is recorded cut, and says so. */
	u.userlen = 200;
	b = userauth(&u);
	ck_assert_int_eq(parse(b, &sd), SSHX_SIGDATA_USERAUTH);
	ck_assert_uint_eq(strlen(sd.user), SSHX_SIGDATA_TEXT_LEN - 1);
	ck_assert_str_eq(sd.user + SSHX_SIGDATA_TEXT_LEN - 4, "...");
	sshx_buf_free(b);

	/* Control characters and bytes above ASCII cannot forge log lines. */
	u.user = "ro\not\x1b[31m\xc3\xa9";
	u.userlen = 0;
	b = userauth(&u);
	ck_assert_int_eq(parse(b, &sd), SSHX_SIGDATA_USERAUTH);
	ck_assert_str_eq(sd.user, "ro?ot?[31m??");
	sshx_buf_free(b);
	b = sshsig("a\tb", 3);
	ck_assert_int_eq(parse(b, &sd), SSHX_SIGDATA_SSHSIG);
	ck_assert_str_eq(sd.ns, "a?b");
	sshx_buf_free(b);
	b = sshsig("", 0);
	parse(b, &sd);
	assert_unknown(&sd, "empty namespace");
	sshx_buf_free(b);

	/* A length field larger than the data. */
	sshx_sigdata_parse(huge_len, sizeof(huge_len), &sd);
	assert_unknown(&sd, "length 0xffffffff");
	sshx_sigdata_parse((const uint8_t *)"SSHSIG\xff\xff\xff\xff", 10, &sd);
	assert_unknown(&sd, "SSHSIG with length 0xffffffff");
}
END_TEST

/* Random bytes, and random bytes behind a valid start, never crash and read nothing. */
START_TEST(test_garbage_is_unknown)
{
	struct sshx_sigdata sd;
	uint8_t g[512];
	unsigned int seed = 12345, i;
	size_t j, len;

	for (i = 0; i < 5000; i++) {
		len = (size_t)(rand_r(&seed) % sizeof(g));
		for (j = 0; j < len; j++)
			g[j] = (uint8_t)rand_r(&seed);
		if (i % 2 == 1 && len >= 6)
			memcpy(g, "SSHSIG", 6);
		sshx_sigdata_parse(g, len, &sd);
		if (sd.kind == SSHX_SIGDATA_UNKNOWN)
			assert_unknown(&sd, "random bytes");
	}
}
END_TEST

START_TEST(test_text_sanitizes_and_caps)
{
	char out[8];

	sshx_sigdata_text(out, sizeof(out), (const uint8_t *)"abc", 3);
	ck_assert_str_eq(out, "abc");
	sshx_sigdata_text(out, sizeof(out), (const uint8_t *)"abcdefg", 7);
	ck_assert_str_eq(out, "abcdefg");
	sshx_sigdata_text(out, sizeof(out), (const uint8_t *)"abcdefgh", 8);
	ck_assert_str_eq(out, "abcd...");
	sshx_sigdata_text(out, sizeof(out), (const uint8_t *)"a\0b\x7f", 4);
	ck_assert_str_eq(out, "a?b?");
	ck_assert_str_eq(sshx_sigdata_kind_name((enum sshx_sigdata_kind)42), "unknown");
}
END_TEST

static void
add(Suite *s, const char *name, const TTest *t)
{
	TCase *tc = tcase_create(name);

	tcase_add_test(tc, t);
	suite_add_tcase(s, tc);
}

static Suite *
sigdata_suite(void)
{
	Suite *s = suite_create("sigdata");

	add(s, "userauth publickey: kind and user", test_userauth_publickey);
	add(s, "hostbound userauth: the host key's fingerprint",
	    test_userauth_hostbound_gives_host_key_fingerprint);
	add(s, "userauth fields point into the request",
	    test_userauth_fields_point_into_the_request);
	add(s, "SSHSIG: kind and namespace", test_sshsig_namespace);
	add(s, "every truncation and a trailing byte are unknown",
	    test_truncated_and_padded_are_unknown);
	add(s, "requests that are not publickey signatures are unknown",
	    test_not_a_publickey_request_is_unknown);
	add(s, "oversized, control and non-ASCII strings",
	    test_oversized_and_hostile_strings);
	add(s, "garbage is unknown", test_garbage_is_unknown);
	add(s, "text is sanitized and capped", test_text_sanitizes_and_caps);
	return s;
}

int
main(void)
{
	return sshx_run_suite(sigdata_suite());
}
