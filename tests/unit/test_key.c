/* Unit tests of lib/key.c: blobs, agent private bodies, signatures, fingerprints. */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <gcrypt.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "key.h"
#include "tap.h"

#define SSH_KEYGEN	"/usr/bin/ssh-keygen"
#define TEST_RSA_BITS	2048
#define KEY_TIMEOUT	120

static const enum sshx_key_type all_types[] = {
	SSHX_KEY_ED25519,
	SSHX_KEY_ECDSA_P256,
	SSHX_KEY_ECDSA_P384,
	SSHX_KEY_ECDSA_P521,
	SSHX_KEY_RSA,
};
#define N_TYPES	((int)(sizeof(all_types) / sizeof(all_types[0])))

static const uint8_t test_data[] = "sshx: data to be signed";

/* ---- Helpers ---- */

/* Decodes a hex string into out and returns the number of bytes. */
static size_t
unhex(const char *hex, uint8_t *out, size_t max)
{
	size_t i, n = strlen(hex) / 2;
	unsigned int v;

	ck_assert_msg(strlen(hex) % 2 == 0 && n <= max,
	    "hex string of %zu digits does not fit %zu bytes", strlen(hex), max);
	for (i = 0; i < n; i++) {
		ck_assert_msg(sscanf(hex + 2 * i, "%2x", &v) == 1,
		    "bad hex digit at %zu", 2 * i);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* Formats len bytes as hex into a static buffer (for failure messages). */
static const char *
tohex(const uint8_t *p, size_t len)
{
	static char s[2 * 600 + 1];
	size_t i;

	if (len > 600)
		len = 600;
	for (i = 0; i < len; i++)
		snprintf(s + 2 * i, 3, "%02x", p[i]);
	s[2 * len] = '\0';
	return s;
}

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Returns a malloc'd, padded base64 encoding of len bytes. */
static char *
b64_encode(const uint8_t *in, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1), *o;
	uint32_t v;
	size_t i;

	ck_assert_ptr_nonnull(out);
	o = out;
	for (i = 0; i < len; i += 3) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		*o++ = b64chars[(v >> 18) & 0x3f];
		*o++ = b64chars[(v >> 12) & 0x3f];
		*o++ = i + 1 < len ? b64chars[(v >> 6) & 0x3f] : '=';
		*o++ = i + 2 < len ? b64chars[v & 0x3f] : '=';
	}
	*o = '\0';
	return out;
}

/* Decodes padded base64 into out and returns the number of bytes. */
static size_t
b64_decode(const char *in, uint8_t *out, size_t max)
{
	uint32_t v = 0;
	size_t n = 0;
	int bits = 0;
	const char *c;

	for (; *in != '\0' && *in != '='; in++) {
		c = strchr(b64chars, *in);
		ck_assert_msg(c != NULL, "bad base64 character '%c'", *in);
		v = v << 6 | (uint32_t)(c - b64chars);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			ck_assert_msg(n < max, "base64 does not fit %zu bytes", max);
			out[n++] = (uint8_t)(v >> bits);
		}
	}
	return n;
}

/* Generates a key of the given type (RSA at TEST_RSA_BITS). */
static struct sshx_key *
gen(enum sshx_key_type type)
{
	struct sshx_key *k = NULL;

	ck_ok(sshx_key_generate(type, type == SSHX_KEY_RSA ? TEST_RSA_BITS : 0, &k));
	ck_assert_ptr_nonnull(k);
	return k;
}

/* Returns a public-only copy of a key, parsed from its blob. */
static struct sshx_key *
public_of(const struct sshx_key *k)
{
	struct sshx_key *p = NULL;
	const uint8_t *blob;
	size_t len;

	blob = sshx_key_blob(k, &len);
	ck_ok(sshx_key_from_blob(blob, len, &p));
	return p;
}

/* Signs data and returns the signature blob in a new buffer. */
static struct sshx_buf *
sign(const struct sshx_key *k, const uint8_t *data, size_t dlen, unsigned int flags)
{
	struct sshx_buf *sig = sshx_buf_new();

	ck_assert_ptr_nonnull(sig);
	ck_ok(sshx_key_sign(k, data, dlen, flags, sig));
	return sig;
}

/* Splits a signature blob into its algorithm name (as a C string) and raw signature. */
static void
sig_split(const struct sshx_buf *sig, char *alg, size_t algmax, const uint8_t **sp,
    size_t *slenp)
{
	struct sshx_buf *v = sshx_buf_from(sshx_buf_ptr(sig), sshx_buf_len(sig));
	const uint8_t *a;
	size_t alen;

	ck_assert_ptr_nonnull(v);
	ck_ok(sshx_buf_get_string_direct(v, &a, &alen));
	ck_ok(sshx_buf_get_string_direct(v, sp, slenp));
	ck_assert_msg(sshx_buf_len(v) == 0, "signature blob: expected no trailing bytes, "
	    "got %zu", sshx_buf_len(v));
	ck_assert_msg(alen < algmax, "algorithm name of %zu bytes", alen);
	memcpy(alg, a, alen);
	alg[alen] = '\0';
	sshx_buf_free(v);
}

/* Returns the agent private body of a key (type name included) in a new buffer. */
static struct sshx_buf *
private_of(const struct sshx_key *k)
{
	struct sshx_buf *b = sshx_buf_new_secure();

	ck_assert_ptr_nonnull(b);
	ck_ok(sshx_key_put_private(k, b));
	return b;
}

/*
 * Reads a private body as its type name and n wire strings (an mpint is a
 * string on the wire); the pointers point into body.
 */
static void
fields_of(const struct sshx_buf *body, const uint8_t **v, size_t *l, int n)
{
	struct sshx_buf *r = sshx_buf_from(sshx_buf_ptr(body), sshx_buf_len(body));
	int i;

	ck_assert_ptr_nonnull(r);
	for (i = 0; i <= n; i++)
		ck_ok(sshx_buf_get_string_direct(r, &v[i], &l[i]));
	ck_assert_msg(sshx_buf_len(r) == 0, "private body: expected %d fields, "
	    "got %zu bytes more", n, sshx_buf_len(r));
	sshx_buf_free(r);
}

/* Builds a body from n+1 wire strings (type name first). */
static struct sshx_buf *
body_from(const uint8_t **v, const size_t *l, int n)
{
	struct sshx_buf *b = sshx_buf_new_secure();
	int i;

	ck_assert_ptr_nonnull(b);
	for (i = 0; i <= n; i++)
		ck_ok(sshx_buf_put_string(b, v[i], l[i]));
	return b;
}

/* Parses a body that must be refused with want and must stay unconsumed. */
static void
expect_private_refused(struct sshx_buf *body, int want)
{
	struct sshx_key *k = (struct sshx_key *)&k;	/* not NULL: must be cleared */
	size_t before = sshx_buf_len(body);

	ck_err(sshx_key_parse_private(body, &k), want);
	ck_assert_msg(k == NULL, "refused key: expected NULL out-parameter, got %p",
	    (void *)k);
	ck_assert_msg(sshx_buf_len(body) == before, "refused key: expected %zu bytes "
	    "left unconsumed, got %zu", before, sshx_buf_len(body));
}

/* Runs a shell command and returns its first output line in line. */
static void
run_line(const char *cmd, char *line, size_t max)
{
	FILE *f = popen(cmd, "r");
	int st;

	ck_assert_msg(f != NULL, "popen(%s) failed", cmd);
	line[0] = '\0';
	if (fgets(line, (int)max, f) == NULL)
		line[0] = '\0';
	while (fgetc(f) != EOF)
		;
	st = pclose(f);
	ck_assert_msg(st == 0, "%s: expected exit status 0, got %d (output \"%s\")",
	    cmd, st, line);
	line[strcspn(line, "\n")] = '\0';
}

/* Writes text to a new temporary file (mode 0600) and returns its path in path. */
static void
write_temp(const char *text, char *path, size_t max)
{
	int fd;
	size_t len = strlen(text);

	snprintf(path, max, "/tmp/sshx-test-key.XXXXXX");
	ck_assert_msg((fd = mkstemp(path)) >= 0, "mkstemp failed");
	ck_assert_msg(write(fd, text, len) == (ssize_t)len, "write to %s failed", path);
	close(fd);
}

/* ---- Type names ---- */

START_TEST(test_type_names_round_trip)
{
	static const enum sshx_key_type types[] = {
		SSHX_KEY_ED25519, SSHX_KEY_ECDSA_P256, SSHX_KEY_ECDSA_P384,
		SSHX_KEY_ECDSA_P521, SSHX_KEY_RSA, SSHX_KEY_DSA,
	};
	static const char *const names[] = {
		"ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
		"ecdsa-sha2-nistp521", "ssh-rsa", "ssh-dss",
	};
	const char *n;
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		n = sshx_key_type_name(types[i]);
		ck_assert_msg(n != NULL && strcmp(n, names[i]) == 0,
		    "type %d: expected name \"%s\", got \"%s\"", types[i], names[i],
		    n == NULL ? "(null)" : n);
		ck_assert_msg(sshx_key_type_from_name(names[i], strlen(names[i])) == types[i],
		    "\"%s\": expected type %d, got %d", names[i], types[i],
		    sshx_key_type_from_name(names[i], strlen(names[i])));
	}
	ck_assert_msg(sshx_key_type_name(SSHX_KEY_UNSPEC) == NULL,
	    "SSHX_KEY_UNSPEC: expected no name, got \"%s\"",
	    sshx_key_type_name(SSHX_KEY_UNSPEC));
}
END_TEST

START_TEST(test_type_from_name_rejects_near_misses)
{
	static const struct {
		const char *name;
		size_t len;
	} bad[] = {
		{ "ssh-ed25519\0", 12 },	/* trailing NUL counted */
		{ "ssh-ed25519\0x", 13 },
		{ "ssh-ed2551", 10 },		/* prefix */
		{ "ssh-ed25519", 10 },		/* length shorter than the name */
		{ "ssh-ed25519-cert-v01@openssh.com", 32 },
		{ "SSH-RSA", 7 },
		{ "", 0 },
		{ "rsa-sha2-256", 12 },		/* a signature name, not a key type */
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(sshx_key_type_from_name(bad[i].name, bad[i].len) ==
		    SSHX_KEY_UNSPEC, "name %zu (\"%s\", %zu bytes): expected "
		    "SSHX_KEY_UNSPEC, got %d", i, bad[i].name, bad[i].len,
		    sshx_key_type_from_name(bad[i].name, bad[i].len));
	ck_assert_msg(sshx_key_type_from_name(NULL, 0) == SSHX_KEY_UNSPEC,
	    "NULL name: expected SSHX_KEY_UNSPEC");
}
END_TEST

/* ---- RFC 8032 ---- */

/* RFC 8032 section 7.1: TEST 1, TEST 2, TEST 3 and TEST SHA(abc). */
static const struct {
	const char *name, *secret, *public, *message, *signature;
} rfc8032[] = {
	{ "TEST 1",
	  "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
	  "",
	  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	  "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" },
	{ "TEST 2",
	  "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	  "72",
	  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	  "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
	{ "TEST 3",
	  "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
	  "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
	  "af82",
	  "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
	  "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a" },
	{ "TEST SHA(abc)",
	  "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
	  "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
	  "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
	  "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
	  "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
	  "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704" },
};

START_TEST(test_ed25519_rfc8032_vectors)
{
	uint8_t sk[64], pk[32], msg[64], want[64], abc[64];
	const uint8_t *s;
	size_t mlen, slen;
	struct sshx_buf *body, *sig;
	struct sshx_key *k = NULL, *pub;
	char alg[32];

	ck_assert_uint_eq(unhex(rfc8032[_i].secret, sk, 32), 32);
	ck_assert_uint_eq(unhex(rfc8032[_i].public, pk, 32), 32);
	memcpy(sk + 32, pk, 32);
	mlen = unhex(rfc8032[_i].message, msg, sizeof(msg));
	ck_assert_uint_eq(unhex(rfc8032[_i].signature, want, 64), 64);
	if (strcmp(rfc8032[_i].name, "TEST SHA(abc)") == 0) {
		gcry_md_hash_buffer(GCRY_MD_SHA512, abc, "abc", 3);
		ck_assert_msg(mlen == 64 && memcmp(msg, abc, 64) == 0,
		    "%s: expected the message to be SHA-512(\"abc\")", rfc8032[_i].name);
	}

	body = sshx_buf_new_secure();
	ck_assert_ptr_nonnull(body);
	ck_ok(sshx_buf_put_cstring(body, "ssh-ed25519"));
	ck_ok(sshx_buf_put_string(body, pk, 32));
	ck_ok(sshx_buf_put_string(body, sk, 64));
	ck_ok(sshx_key_parse_private(body, &k));
	ck_assert_msg(sshx_buf_len(body) == 0, "%s: expected the body consumed, "
	    "got %zu bytes left", rfc8032[_i].name, sshx_buf_len(body));

	sig = sign(k, msg, mlen, 0);
	sig_split(sig, alg, sizeof(alg), &s, &slen);
	ck_assert_msg(strcmp(alg, "ssh-ed25519") == 0,
	    "%s: expected algorithm ssh-ed25519, got %s", rfc8032[_i].name, alg);
	ck_assert_msg(slen == 64 && memcmp(s, want, 64) == 0,
	    "%s: expected signature %s, got %s", rfc8032[_i].name,
	    rfc8032[_i].signature, tohex(s, slen));

	ck_ok(sshx_key_verify(k, sshx_buf_ptr(sig), sshx_buf_len(sig), msg, mlen, 0));
	pub = public_of(k);
	ck_ok(sshx_key_verify(pub, sshx_buf_ptr(sig), sshx_buf_len(sig), msg, mlen, 0));

	sshx_key_free(pub);
	sshx_buf_free(sig);
	sshx_key_free(k);
	sshx_buf_free(body);
	explicit_bzero(sk, sizeof(sk));
}
END_TEST

/* Messages past libgcrypt's 64 KiB S-expression limit still sign. */
START_TEST(test_ed25519_signs_long_messages)
{
	struct sshx_key *k = gen(SSHX_KEY_ED25519);
	struct sshx_buf *a, *big;
	uint8_t chunk[1000];
	const uint8_t *s;
	size_t i, slen;
	char alg[32];

	for (i = 0; i < sizeof(chunk); i++)
		chunk[i] = (uint8_t)(i * 7 + 3);
	big = sshx_buf_new();
	ck_assert_ptr_nonnull(big);
	for (i = 0; i < 200; i++)
		ck_ok(sshx_buf_put(big, chunk, sizeof(chunk)));
	a = sign(k, sshx_buf_ptr(big), sshx_buf_len(big), 0);
	sig_split(a, alg, sizeof(alg), &s, &slen);
	ck_assert_str_eq(alg, "ssh-ed25519");
	ck_assert_uint_eq(slen, 64);
	/* test_ed25519 checks such signatures on the curve; libgcrypt cannot. */
	ck_err(sshx_key_verify(k, sshx_buf_ptr(a), sshx_buf_len(a),
	    sshx_buf_ptr(big), sshx_buf_len(big), 0), SSHX_ERR_STRING_TOO_LARGE);
	sshx_buf_free(a);
	sshx_buf_free(big);
	sshx_key_free(k);
}
END_TEST

/* ---- Round trips ---- */

START_TEST(test_blob_round_trip)
{
	struct sshx_key *k = gen(all_types[_i]), *p;
	const uint8_t *b1, *b2;
	size_t l1, l2;
	char fp1[SSHX_FP_LEN], fp2[SSHX_FP_LEN];

	p = public_of(k);
	b1 = sshx_key_blob(k, &l1);
	b2 = sshx_key_blob(p, &l2);
	ck_assert_msg(l1 == l2 && memcmp(b1, b2, l1) == 0,
	    "%s: expected the re-parsed blob to equal the original (%zu vs %zu bytes)",
	    sshx_key_type_name(all_types[_i]), l1, l2);
	ck_assert_msg(sshx_key_equal_public(k, p), "expected equal public keys");
	ck_assert_msg(sshx_key_type(p) == all_types[_i], "expected type %d, got %d",
	    all_types[_i], sshx_key_type(p));
	ck_assert_msg(sshx_key_bits(p) == sshx_key_bits(k), "expected %u bits, got %u",
	    sshx_key_bits(k), sshx_key_bits(p));
	ck_assert_msg(sshx_key_has_private(k) && !sshx_key_has_private(p),
	    "expected the generated key private and the parsed blob public only");
	ck_ok(sshx_key_fingerprint(k, fp1));
	ck_ok(sshx_key_fingerprint(p, fp2));
	ck_assert_str_eq(fp1, fp2);
	sshx_key_free(p);
	sshx_key_free(k);
}
END_TEST

START_TEST(test_key_bits_by_type)
{
	static const unsigned int want[] = { 256, 256, 384, 521, TEST_RSA_BITS };
	struct sshx_key *k = gen(all_types[_i]);

	ck_assert_msg(sshx_key_bits(k) == want[_i], "%s: expected %u bits, got %u",
	    sshx_key_type_name(all_types[_i]), want[_i], sshx_key_bits(k));
	sshx_key_free(k);
}
END_TEST

START_TEST(test_private_round_trip_signs_for_original)
{
	struct sshx_key *k = gen(all_types[_i]), *k2 = NULL, *pub;
	struct sshx_buf *body = private_of(k), *body2, *sig;

	ck_ok(sshx_key_parse_private(body, &k2));
	ck_assert_msg(sshx_buf_len(body) == 0, "expected the body consumed, got %zu "
	    "bytes left", sshx_buf_len(body));
	ck_assert_msg(sshx_key_equal_public(k, k2), "expected the re-parsed key to "
	    "have the original public key");
	ck_assert_msg(sshx_key_has_private(k2), "expected a private half");

	/* The body is canonical: writing the re-parsed key gives the same bytes. */
	sshx_buf_free(body);
	body = private_of(k);
	body2 = private_of(k2);
	ck_assert_msg(sshx_buf_len(body) == sshx_buf_len(body2) &&
	    memcmp(sshx_buf_ptr(body), sshx_buf_ptr(body2), sshx_buf_len(body)) == 0,
	    "expected identical private bodies (%zu vs %zu bytes)",
	    sshx_buf_len(body), sshx_buf_len(body2));

	sig = sign(k2, test_data, sizeof(test_data), SSHX_SIG_RSA_SHA512);
	pub = public_of(k);
	ck_ok(sshx_key_verify(pub, sshx_buf_ptr(sig), sshx_buf_len(sig),
	    test_data, sizeof(test_data), 0));

	sshx_key_free(pub);
	sshx_buf_free(sig);
	sshx_buf_free(body2);
	sshx_buf_free(body);
	sshx_key_free(k2);
	sshx_key_free(k);
}
END_TEST

START_TEST(test_parse_private_leaves_following_bytes)
{
	struct sshx_key *k = gen(all_types[_i]), *k2 = NULL;
	struct sshx_buf *body = private_of(k);
	char *comment = NULL;

	ck_ok(sshx_buf_put_cstring(body, "comment"));
	ck_ok(sshx_key_parse_private(body, &k2));
	ck_ok(sshx_buf_get_cstring(body, &comment, NULL));
	ck_assert_str_eq(comment, "comment");
	ck_assert_uint_eq(sshx_buf_len(body), 0);
	free(comment);
	sshx_buf_free(body);
	sshx_key_free(k2);
	sshx_key_free(k);
}
END_TEST

/* ---- Signing and verification ---- */

START_TEST(test_sign_verify)
{
	struct sshx_key *k = gen(all_types[_i]), *pub;
	struct sshx_buf *sig;
	const uint8_t *s;
	size_t slen;
	char alg[32];

	sig = sign(k, test_data, sizeof(test_data), 0);
	sig_split(sig, alg, sizeof(alg), &s, &slen);
	if (all_types[_i] != SSHX_KEY_RSA)
		ck_assert_str_eq(alg, sshx_key_type_name(all_types[_i]));
	pub = public_of(k);
	ck_ok(sshx_key_verify(k, sshx_buf_ptr(sig), sshx_buf_len(sig),
	    test_data, sizeof(test_data), 1));
	ck_ok(sshx_key_verify(pub, sshx_buf_ptr(sig), sshx_buf_len(sig),
	    test_data, sizeof(test_data), 1));
	sshx_buf_free(sig);

	/* Empty data is signed and verified too. */
	sig = sign(k, NULL, 0, SSHX_SIG_RSA_SHA256);
	ck_ok(sshx_key_verify(pub, sshx_buf_ptr(sig), sshx_buf_len(sig), NULL, 0, 0));
	sshx_buf_free(sig);
	sshx_key_free(pub);
	sshx_key_free(k);
}
END_TEST

START_TEST(test_sign_appends_to_existing_contents)
{
	struct sshx_key *k = gen(all_types[_i]);
	struct sshx_buf *sig = sshx_buf_new();
	uint32_t marker;

	ck_assert_ptr_nonnull(sig);
	ck_ok(sshx_buf_put_u32(sig, 0xfeedf00d));
	ck_ok(sshx_key_sign(k, test_data, sizeof(test_data), 0, sig));
	ck_ok(sshx_buf_get_u32(sig, &marker));
	ck_assert_uint_eq(marker, 0xfeedf00d);
	ck_ok(sshx_key_verify(k, sshx_buf_ptr(sig), sshx_buf_len(sig),
	    test_data, sizeof(test_data), 1));
	sshx_buf_free(sig);
	sshx_key_free(k);
}
END_TEST

START_TEST(test_rsa_sign_flags_select_algorithm)
{
	static const struct {
		unsigned int flags;
		const char *alg;
	} cases[] = {
		{ SSHX_SIG_RSA_SHA1, "ssh-rsa" },
		{ SSHX_SIG_RSA_SHA256, "rsa-sha2-256" },
		{ SSHX_SIG_RSA_SHA512, "rsa-sha2-512" },
		{ SSHX_SIG_RSA_SHA256 | SSHX_SIG_RSA_SHA512, "rsa-sha2-256" },
	};
	struct sshx_key *k = gen(SSHX_KEY_RSA), *pub = public_of(k);
	struct sshx_buf *sig;
	const uint8_t *s;
	size_t i, slen;
	char alg[32];

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sig = sign(k, test_data, sizeof(test_data), cases[i].flags);
		sig_split(sig, alg, sizeof(alg), &s, &slen);
		ck_assert_msg(strcmp(alg, cases[i].alg) == 0, "flags %u: expected %s, "
		    "got %s", cases[i].flags, cases[i].alg, alg);
		ck_assert_msg(slen == TEST_RSA_BITS / 8, "flags %u: expected a %d-byte "
		    "signature, got %zu", cases[i].flags, TEST_RSA_BITS / 8, slen);
		ck_ok(sshx_key_verify(pub, sshx_buf_ptr(sig), sshx_buf_len(sig),
		    test_data, sizeof(test_data), 1));
		sshx_buf_free(sig);
	}
	sshx_key_free(pub);
	sshx_key_free(k);
}
END_TEST

START_TEST(test_verify_rejects_flipped_signature_bit)
{
	struct sshx_key *k = gen(all_types[_i]), *pub = public_of(k);
	struct sshx_buf *sig = sign(k, test_data, sizeof(test_data), SSHX_SIG_RSA_SHA256);
	size_t i, len = sshx_buf_len(sig);
	uint8_t *m = malloc(len);
	int r;

	ck_assert_ptr_nonnull(m);
	memcpy(m, sshx_buf_ptr(sig), len);
	/* Every byte of the blob, so names, lengths and values are all covered. */
	for (i = 0; i < len; i++) {
		m[i] ^= 0x01;
		r = sshx_key_verify(pub, m, len, test_data, sizeof(test_data), 0);
		ck_assert_msg(r != 0, "%s: bit 0 of byte %zu flipped: expected a "
		    "failure, got success", sshx_key_type_name(all_types[_i]), i);
		m[i] ^= 0x01;
	}
	/* The last byte is inside the signature value for every type. */
	m[len - 1] ^= 0x80;
	ck_err(sshx_key_verify(pub, m, len, test_data, sizeof(test_data), 0),
	    SSHX_ERR_SIGNATURE_INVALID);
	m[len - 1] ^= 0x80;
	ck_ok(sshx_key_verify(pub, m, len, test_data, sizeof(test_data), 0));
	free(m);
	sshx_buf_free(sig);
	sshx_key_free(pub);
	sshx_key_free(k);
}
END_TEST

START_TEST(test_verify_rejects_flipped_data_bit)
{
	struct sshx_key *k = gen(all_types[_i]);
	struct sshx_buf *sig = sign(k, test_data, sizeof(test_data), SSHX_SIG_RSA_SHA512);
	uint8_t d[sizeof(test_data) + 1];
	size_t i;
	int bit;

	memcpy(d, test_data, sizeof(test_data));
	for (i = 0; i < sizeof(test_data); i++) {
		bit = (int)(i % 8);
		d[i] ^= (uint8_t)(1 << bit);
		ck_assert_msg(sshx_key_verify(k, sshx_buf_ptr(sig), sshx_buf_len(sig),
		    d, sizeof(test_data), 0) == SSHX_ERR_SIGNATURE_INVALID,
		    "%s: data bit %d of byte %zu flipped: expected "
		    "SSHX_ERR_SIGNATURE_INVALID", sshx_key_type_name(all_types[_i]),
		    bit, i);
		d[i] ^= (uint8_t)(1 << bit);
	}
	d[sizeof(test_data)] = 0;
	ck_err(sshx_key_verify(k, sshx_buf_ptr(sig), sshx_buf_len(sig), d,
	    sizeof(d), 0), SSHX_ERR_SIGNATURE_INVALID);
	ck_err(sshx_key_verify(k, sshx_buf_ptr(sig), sshx_buf_len(sig), d,
	    sizeof(test_data) - 1, 0), SSHX_ERR_SIGNATURE_INVALID);
	sshx_buf_free(sig);
	sshx_key_free(k);
}
END_TEST

START_TEST(test_verify_refuses_sha1_unless_allowed)
{
	struct sshx_key *k = gen(SSHX_KEY_RSA), *pub = public_of(k);
	struct sshx_buf *sig = sign(k, test_data, sizeof(test_data), SSHX_SIG_RSA_SHA1);

	ck_err(sshx_key_verify(pub, sshx_buf_ptr(sig), sshx_buf_len(sig),
	    test_data, sizeof(test_data), 0), SSHX_ERR_ALG_REFUSED);
	ck_ok(sshx_key_verify(pub, sshx_buf_ptr(sig), sshx_buf_len(sig),
	    test_data, sizeof(test_data), 1));
	sshx_buf_free(sig);
	sshx_key_free(pub);
	sshx_key_free(k);
}
END_TEST

/* Builds a signature blob (string alg, string sig) in a new buffer. */
static struct sshx_buf *
sig_blob(const char *alg, const uint8_t *s, size_t slen)
{
	struct sshx_buf *b = sshx_buf_new();

	ck_assert_ptr_nonnull(b);
	ck_ok(sshx_buf_put_cstring(b, alg));
	ck_ok(sshx_buf_put_string(b, s, slen));
	return b;
}

START_TEST(test_verify_rejects_malformed_signature_blobs)
{
	struct sshx_key *ed = gen(SSHX_KEY_ED25519), *ec = gen(SSHX_KEY_ECDSA_P256);
	struct sshx_key *rsa = gen(SSHX_KEY_RSA);
	struct sshx_buf *sig, *b, *inner;
	const uint8_t *s, *rp, *sp;
	size_t slen, rlen, splen;
	uint8_t big[TEST_RSA_BITS / 8 + 1];
	char alg[32];

	/* Ed25519: wrong lengths, a foreign algorithm, a trailing byte. */
	sig = sign(ed, test_data, sizeof(test_data), 0);
	sig_split(sig, alg, sizeof(alg), &s, &slen);
	b = sig_blob("ssh-ed25519", s, 63);
	ck_err(sshx_key_verify(ed, sshx_buf_ptr(b), sshx_buf_len(b), test_data,
	    sizeof(test_data), 0), SSHX_ERR_INVALID_FORMAT);
	sshx_buf_free(b);
	memcpy(big, s, 64);
	big[64] = 0;
	b = sig_blob("ssh-ed25519", big, 65);
	ck_err(sshx_key_verify(ed, sshx_buf_ptr(b), sshx_buf_len(b), test_data,
	    sizeof(test_data), 0), SSHX_ERR_INVALID_FORMAT);
	sshx_buf_free(b);
	b = sig_blob("ecdsa-sha2-nistp256", s, 64);
	ck_err(sshx_key_verify(ed, sshx_buf_ptr(b), sshx_buf_len(b), test_data,
	    sizeof(test_data), 0), SSHX_ERR_KEY_TYPE_MISMATCH);
	sshx_buf_free(b);
	b = sig_blob("ssh-ed25519", s, 64);
	ck_ok(sshx_buf_put_u8(b, 0));
	ck_err(sshx_key_verify(ed, sshx_buf_ptr(b), sshx_buf_len(b), test_data,
	    sizeof(test_data), 0), SSHX_ERR_INVALID_FORMAT);
	sshx_buf_free(b);
	ck_err(sshx_key_verify(ed, NULL, 0, test_data, sizeof(test_data), 0),
	    SSHX_ERR_INCOMPLETE);
	/* An Ed25519 signature offered for an RSA or ECDSA key. */
	ck_err(sshx_key_verify(rsa, sshx_buf_ptr(sig), sshx_buf_len(sig), test_data,
	    sizeof(test_data), 1), SSHX_ERR_KEY_TYPE_MISMATCH);
	ck_err(sshx_key_verify(ec, sshx_buf_ptr(sig), sshx_buf_len(sig), test_data,
	    sizeof(test_data), 1), SSHX_ERR_KEY_TYPE_MISMATCH);
	sshx_buf_free(sig);

	/* ECDSA: trailing bytes inside the signature and after it. */
	sig = sign(ec, test_data, sizeof(test_data), 0);
	sig_split(sig, alg, sizeof(alg), &s, &slen);
	inner = sshx_buf_from(s, slen);
	ck_ok(sshx_buf_get_bignum2_bytes_direct(inner, &rp, &rlen));
	ck_ok(sshx_buf_get_bignum2_bytes_direct(inner, &sp, &splen));
	sshx_buf_free(inner);
	inner = sshx_buf_new();
	ck_ok(sshx_buf_put_bignum2_bytes(inner, rp, rlen));
	ck_ok(sshx_buf_put_bignum2_bytes(inner, sp, splen));
	ck_ok(sshx_buf_put_u8(inner, 0));
	b = sig_blob(alg, sshx_buf_ptr(inner), sshx_buf_len(inner));
	ck_err(sshx_key_verify(ec, sshx_buf_ptr(b), sshx_buf_len(b), test_data,
	    sizeof(test_data), 0), SSHX_ERR_INVALID_FORMAT);
	sshx_buf_free(b);
	sshx_buf_free(inner);
	/* r = 0 is never a valid ECDSA signature. */
	inner = sshx_buf_new();
	ck_ok(sshx_buf_put_bignum2_bytes(inner, NULL, 0));
	ck_ok(sshx_buf_put_bignum2_bytes(inner, sp, splen));
	b = sig_blob(alg, sshx_buf_ptr(inner), sshx_buf_len(inner));
	ck_err(sshx_key_verify(ec, sshx_buf_ptr(b), sshx_buf_len(b), test_data,
	    sizeof(test_data), 0), SSHX_ERR_SIGNATURE_INVALID);
	sshx_buf_free(b);
	sshx_buf_free(inner);
	sshx_buf_free(sig);

	/* RSA: longer than the modulus, an unknown algorithm. */
	sig = sign(rsa, test_data, sizeof(test_data), SSHX_SIG_RSA_SHA256);
	sig_split(sig, alg, sizeof(alg), &s, &slen);
	big[0] = 0;
	memcpy(big + 1, s, slen);
	b = sig_blob("rsa-sha2-256", big, slen + 1);
	ck_err(sshx_key_verify(rsa, sshx_buf_ptr(b), sshx_buf_len(b), test_data,
	    sizeof(test_data), 0), SSHX_ERR_INVALID_FORMAT);
	sshx_buf_free(b);
	b = sig_blob("rsa-sha2-384", s, slen);
	ck_err(sshx_key_verify(rsa, sshx_buf_ptr(b), sshx_buf_len(b), test_data,
	    sizeof(test_data), 0), SSHX_ERR_KEY_TYPE_MISMATCH);
	sshx_buf_free(b);
	/* The same signature under the other SHA-2 name does not verify. */
	b = sig_blob("rsa-sha2-512", s, slen);
	ck_err(sshx_key_verify(rsa, sshx_buf_ptr(b), sshx_buf_len(b), test_data,
	    sizeof(test_data), 0), SSHX_ERR_SIGNATURE_INVALID);
	sshx_buf_free(b);
	sshx_buf_free(sig);

	sshx_key_free(rsa);
	sshx_key_free(ec);
	sshx_key_free(ed);
}
END_TEST

START_TEST(test_rsa_signature_padded_and_short_one_accepted)
{
	struct sshx_key *k = NULL, *pub;
	struct sshx_buf *sig = NULL, *b;
	const uint8_t *s = NULL;
	size_t slen = 0;
	uint32_t i;
	char alg[32];
	uint8_t msg[4];

	ck_ok(sshx_key_generate(SSHX_KEY_RSA, 1024, &k));
	pub = public_of(k);
	/* About one signature in 256 starts with a zero byte. */
	for (i = 0; i < 20000; i++) {
		msg[0] = (uint8_t)(i >> 24);
		msg[1] = (uint8_t)(i >> 16);
		msg[2] = (uint8_t)(i >> 8);
		msg[3] = (uint8_t)i;
		sig = sign(k, msg, sizeof(msg), SSHX_SIG_RSA_SHA256);
		sig_split(sig, alg, sizeof(alg), &s, &slen);
		ck_assert_msg(slen == 128, "expected a 128-byte signature, got %zu", slen);
		if (s[0] == 0)
			break;
		sshx_buf_free(sig);
		sig = NULL;
	}
	ck_assert_msg(sig != NULL, "expected a signature with a leading zero byte "
	    "within 20000 tries");
	ck_ok(sshx_key_verify(pub, sshx_buf_ptr(sig), sshx_buf_len(sig), msg,
	    sizeof(msg), 0));
	b = sig_blob("rsa-sha2-256", s + 1, slen - 1);
	ck_ok(sshx_key_verify(pub, sshx_buf_ptr(b), sshx_buf_len(b), msg,
	    sizeof(msg), 0));
	sshx_buf_free(b);
	sshx_buf_free(sig);
	sshx_key_free(pub);
	sshx_key_free(k);
}
END_TEST

START_TEST(test_public_key_cannot_sign)
{
	struct sshx_key *k = gen(all_types[_i]), *pub = public_of(k);
	struct sshx_buf *b = sshx_buf_new();

	ck_assert_ptr_nonnull(b);
	ck_err(sshx_key_sign(pub, test_data, sizeof(test_data), 0, b),
	    SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_key_put_private(pub, b), SSHX_ERR_INVALID_ARGUMENT);
	ck_assert_msg(sshx_buf_len(b) == 0, "expected nothing written, got %zu bytes",
	    sshx_buf_len(b));
	sshx_buf_free(b);
	sshx_key_free(pub);
	sshx_key_free(k);
}
END_TEST

struct sign_job {
	const struct sshx_key *key;
	const struct sshx_buf *want;
	int mismatches;
};

/* Signs repeatedly and counts results that differ from the expected signature. */
static void *
sign_worker(void *arg)
{
	struct sign_job *job = arg;
	struct sshx_buf *sig;
	int i;

	for (i = 0; i < 25; i++) {
		if ((sig = sshx_buf_new()) == NULL ||
		    sshx_key_sign(job->key, test_data, sizeof(test_data),
		    SSHX_SIG_RSA_SHA256, sig) != 0 ||
		    sshx_buf_len(sig) != sshx_buf_len(job->want) ||
		    memcmp(sshx_buf_ptr(sig), sshx_buf_ptr(job->want),
		    sshx_buf_len(sig)) != 0)
			job->mismatches++;
		sshx_buf_free(sig);
	}
	return NULL;
}

START_TEST(test_concurrent_signing_with_one_key)
{
	struct sshx_key *k = gen(all_types[_i]);
	/* All three schemes are deterministic, so every result must be equal. */
	struct sshx_buf *want = sign(k, test_data, sizeof(test_data), SSHX_SIG_RSA_SHA256);
	struct sign_job jobs[8];
	pthread_t t[8];
	int i;

	for (i = 0; i < 8; i++) {
		jobs[i].key = k;
		jobs[i].want = want;
		jobs[i].mismatches = 0;
		ck_assert_msg(pthread_create(&t[i], NULL, sign_worker, &jobs[i]) == 0,
		    "pthread_create %d failed", i);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		ck_assert_msg(jobs[i].mismatches == 0, "%s thread %d: expected 0 "
		    "differing signatures, got %d", sshx_key_type_name(all_types[_i]),
		    i, jobs[i].mismatches);
	}
	sshx_buf_free(want);
	sshx_key_free(k);
}
END_TEST

/* ---- Refused private keys ---- */

START_TEST(test_ed25519_mismatched_halves_rejected)
{
	struct sshx_key *a = gen(SSHX_KEY_ED25519), *b = gen(SSHX_KEY_ED25519);
	struct sshx_buf *ba = private_of(a), *bb = private_of(b), *body;
	const uint8_t *va[3], *vb[3], *v[3];
	size_t la[3], lb[3], l[3];
	uint8_t sk[64];

	fields_of(ba, va, la, 2);
	fields_of(bb, vb, lb, 2);
	ck_assert_msg(la[1] == 32 && la[2] == 64, "expected pk 32 and sk 64 bytes, "
	    "got %zu and %zu", la[1], la[2]);

	/* The public key differs from the copy at the end of sk. */
	v[0] = va[0]; l[0] = la[0];
	v[1] = vb[1]; l[1] = lb[1];
	v[2] = va[2]; l[2] = la[2];
	body = body_from(v, l, 2);
	expect_private_refused(body, SSHX_ERR_KEY_INVALID);
	sshx_buf_free(body);

	/* Both copies of the public key agree, but the seed belongs to another key. */
	memcpy(sk, va[2], 32);
	memcpy(sk + 32, vb[1], 32);
	v[2] = sk;
	body = body_from(v, l, 2);
	expect_private_refused(body, SSHX_ERR_KEY_INVALID);
	sshx_buf_free(body);

	/* Wrong lengths are format errors. */
	v[1] = va[1]; l[1] = 31;
	v[2] = va[2];
	body = body_from(v, l, 2);
	expect_private_refused(body, SSHX_ERR_INVALID_FORMAT);
	sshx_buf_free(body);
	l[1] = 32; l[2] = 32;
	body = body_from(v, l, 2);
	expect_private_refused(body, SSHX_ERR_INVALID_FORMAT);
	sshx_buf_free(body);

	explicit_bzero(sk, sizeof(sk));
	sshx_buf_free(bb);
	sshx_buf_free(ba);
	sshx_key_free(b);
	sshx_key_free(a);
}
END_TEST

/* Adds a small number to an mpint's magnitude and writes it as an mpint wire string into out. */
static void
mpint_plus(const uint8_t *wire, size_t len, unsigned long add, struct sshx_buf *out)
{
	struct sshx_buf *tmp = sshx_buf_new();
	const uint8_t *p;
	size_t plen;
	gcry_mpi_t m = NULL;
	unsigned char *bytes = NULL;
	size_t blen = 0;

	ck_assert_ptr_nonnull(tmp);
	ck_ok(sshx_buf_put_string(tmp, wire, len));
	ck_ok(sshx_buf_get_bignum2_bytes_direct(tmp, &p, &plen));
	ck_assert_msg(gcry_mpi_scan(&m, GCRYMPI_FMT_USG, p, plen, NULL) == 0, "mpi_scan");
	gcry_mpi_add_ui(m, m, add);
	ck_assert_msg(gcry_mpi_aprint(GCRYMPI_FMT_USG, &bytes, &blen, m) == 0, "aprint");
	ck_ok(sshx_buf_put_bignum2_bytes(out, bytes, blen));
	gcry_free(bytes);
	gcry_mpi_release(m);
	sshx_buf_free(tmp);
}

START_TEST(test_rsa_mismatched_factors_rejected)
{
	struct sshx_key *k = gen(SSHX_KEY_RSA);
	struct sshx_buf *orig = private_of(k), *body;
	const uint8_t *v[7];
	size_t l[7];
	int i;

	fields_of(orig, v, l, 6);	/* type, n, e, d, iqmp, p, q */

	/* p + 2: p * q no longer equals n. */
	body = sshx_buf_new_secure();
	for (i = 0; i <= 6; i++) {
		if (i == 5)
			mpint_plus(v[i], l[i], 2, body);
		else
			ck_ok(sshx_buf_put_string(body, v[i], l[i]));
	}
	expect_private_refused(body, SSHX_ERR_KEY_INVALID);
	sshx_buf_free(body);

	/* d + 2: the factors match n, but d does not invert e. */
	body = sshx_buf_new_secure();
	for (i = 0; i <= 6; i++) {
		if (i == 3)
			mpint_plus(v[i], l[i], 2, body);
		else
			ck_ok(sshx_buf_put_string(body, v[i], l[i]));
	}
	expect_private_refused(body, SSHX_ERR_KEY_INVALID);
	sshx_buf_free(body);

	/* p = q = 0. */
	body = sshx_buf_new_secure();
	for (i = 0; i <= 4; i++)
		ck_ok(sshx_buf_put_string(body, v[i], l[i]));
	ck_ok(sshx_buf_put_bignum2_bytes(body, NULL, 0));
	ck_ok(sshx_buf_put_bignum2_bytes(body, NULL, 0));
	expect_private_refused(body, SSHX_ERR_KEY_INVALID);
	sshx_buf_free(body);

	sshx_buf_free(orig);
	sshx_key_free(k);
}
END_TEST

/* Reads an mpint wire string into an MPI. */
static gcry_mpi_t
mpi_of(const uint8_t *wire, size_t len)
{
	struct sshx_buf *tmp = sshx_buf_new();
	const uint8_t *p;
	size_t plen;
	gcry_mpi_t m = NULL;

	ck_assert_ptr_nonnull(tmp);
	ck_ok(sshx_buf_put_string(tmp, wire, len));
	ck_ok(sshx_buf_get_bignum2_bytes_direct(tmp, &p, &plen));
	ck_assert_msg(gcry_mpi_scan(&m, GCRYMPI_FMT_USG, p, plen, NULL) == 0, "mpi_scan");
	sshx_buf_free(tmp);
	return m;
}

START_TEST(test_rsa_put_private_writes_openssh_iqmp)
{
	struct sshx_key *k = gen(SSHX_KEY_RSA), *k2 = NULL;
	struct sshx_buf *orig = private_of(k), *body, *out;
	const uint8_t *v[7], *w[7];
	size_t l[7], wl[7];
	gcry_mpi_t iqmp, p, q, t;
	int i;

	/* iqmp = q^-1 mod p, for the p and q written beside it. */
	fields_of(orig, v, l, 6);
	iqmp = mpi_of(v[4], l[4]);
	p = mpi_of(v[5], l[5]);
	q = mpi_of(v[6], l[6]);
	t = gcry_mpi_new(0);
	gcry_mpi_mulm(t, iqmp, q, p);
	ck_assert_msg(gcry_mpi_cmp_ui(t, 1) == 0, "expected iqmp * q mod p == 1");

	/* A client's swapped factors and wrong iqmp: accepted, written back corrected. */
	body = sshx_buf_new_secure();
	for (i = 0; i <= 3; i++)
		ck_ok(sshx_buf_put_string(body, v[i], l[i]));
	ck_ok(sshx_buf_put_bignum2_bytes(body, "\x01\x02\x03", 3));
	ck_ok(sshx_buf_put_string(body, v[6], l[6]));
	ck_ok(sshx_buf_put_string(body, v[5], l[5]));
	ck_ok(sshx_key_parse_private(body, &k2));
	out = private_of(k2);
	fields_of(out, w, wl, 6);
	gcry_mpi_release(iqmp);
	gcry_mpi_release(p);
	gcry_mpi_release(q);
	iqmp = mpi_of(w[4], wl[4]);
	p = mpi_of(w[5], wl[5]);
	q = mpi_of(w[6], wl[6]);
	gcry_mpi_mulm(t, iqmp, q, p);
	ck_assert_msg(gcry_mpi_cmp_ui(t, 1) == 0, "re-written key: expected iqmp * q "
	    "mod p == 1");
	ck_assert_msg(sshx_key_equal_public(k, k2), "expected the same public key");

	gcry_mpi_release(t);
	gcry_mpi_release(q);
	gcry_mpi_release(p);
	gcry_mpi_release(iqmp);
	sshx_buf_free(out);
	sshx_buf_free(body);
	sshx_buf_free(orig);
	sshx_key_free(k2);
	sshx_key_free(k);
}
END_TEST

START_TEST(test_ecdsa_mismatched_scalar_rejected)
{
	/* The order n of NIST P-256. */
	static const uint8_t order[32] = {
		0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
		0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
	};
	struct sshx_key *a = gen(SSHX_KEY_ECDSA_P256), *b = gen(SSHX_KEY_ECDSA_P256);
	struct sshx_buf *ba = private_of(a), *bb = private_of(b), *body;
	const uint8_t *va[4], *vb[4], *v[4];
	size_t la[4], lb[4], l[4];

	fields_of(ba, va, la, 3);	/* type, curve, Q, d */
	fields_of(bb, vb, lb, 3);

	/* Q of one key with d of the other. */
	memcpy(v, va, sizeof(v));
	memcpy(l, la, sizeof(l));
	v[3] = vb[3];
	l[3] = lb[3];
	body = body_from(v, l, 3);
	expect_private_refused(body, SSHX_ERR_KEY_INVALID);
	sshx_buf_free(body);

	/* d = 0 and d = n are outside [1, n-1]. */
	body = body_from(va, la, 2);
	ck_ok(sshx_buf_put_bignum2_bytes(body, NULL, 0));
	expect_private_refused(body, SSHX_ERR_KEY_INVALID);
	sshx_buf_free(body);
	body = body_from(va, la, 2);
	ck_ok(sshx_buf_put_bignum2_bytes(body, order, sizeof(order)));
	expect_private_refused(body, SSHX_ERR_KEY_INVALID);
	sshx_buf_free(body);

	/* A body whose curve name disagrees with its type. */
	memcpy(v, va, sizeof(v));
	memcpy(l, la, sizeof(l));
	v[1] = (const uint8_t *)"nistp384";
	l[1] = 8;
	body = body_from(v, l, 3);
	expect_private_refused(body, SSHX_ERR_KEY_TYPE_MISMATCH);
	sshx_buf_free(body);

	sshx_buf_free(bb);
	sshx_buf_free(ba);
	sshx_key_free(b);
	sshx_key_free(a);
}
END_TEST

START_TEST(test_dsa_refused)
{
	static const uint8_t one[] = { 0x17 };
	struct sshx_buf *b = sshx_buf_new();
	struct sshx_key *k = NULL;
	int i;

	ck_assert_ptr_nonnull(b);
	ck_ok(sshx_buf_put_cstring(b, "ssh-dss"));
	for (i = 0; i < 5; i++)		/* p, q, g, y, x */
		ck_ok(sshx_buf_put_bignum2_bytes(b, one, sizeof(one)));
	expect_private_refused(b, SSHX_ERR_KEY_TYPE_REFUSED);
	sshx_buf_reset(b);
	ck_ok(sshx_buf_put_cstring(b, "ssh-dss"));
	for (i = 0; i < 4; i++)		/* public blob: p, q, g, y */
		ck_ok(sshx_buf_put_bignum2_bytes(b, one, sizeof(one)));
	ck_err(sshx_key_from_blob(sshx_buf_ptr(b), sshx_buf_len(b), &k),
	    SSHX_ERR_KEY_TYPE_REFUSED);
	ck_assert_ptr_null(k);
	ck_err(sshx_key_generate(SSHX_KEY_DSA, 0, &k), SSHX_ERR_KEY_TYPE_REFUSED);
	ck_assert_ptr_null(k);
	sshx_buf_free(b);
}
END_TEST

START_TEST(test_unknown_types_rejected)
{
	static const struct {
		const char *name;
		size_t len;
	} names[] = {
		{ "ssh-foo", 7 },
		{ "ssh-ed25519-cert-v01@openssh.com", 32 },
		{ "ssh-rsa-cert-v01@openssh.com", 28 },
		{ "ssh-ed25519\0", 12 },
		{ "", 0 },
	};
	static const uint8_t pk[32];
	struct sshx_buf *b = sshx_buf_new();
	struct sshx_key *k = NULL;
	size_t i;

	ck_assert_ptr_nonnull(b);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		sshx_buf_reset(b);
		ck_ok(sshx_buf_put_string(b, names[i].name, names[i].len));
		ck_ok(sshx_buf_put_string(b, pk, sizeof(pk)));
		ck_err(sshx_key_from_blob(sshx_buf_ptr(b), sshx_buf_len(b), &k),
		    SSHX_ERR_KEY_TYPE_UNKNOWN);
		ck_assert_ptr_null(k);
		ck_ok(sshx_buf_put_string(b, pk, sizeof(pk)));
		expect_private_refused(b, SSHX_ERR_KEY_TYPE_UNKNOWN);
	}
	ck_err(sshx_key_generate(SSHX_KEY_UNSPEC, 0, &k), SSHX_ERR_KEY_TYPE_UNKNOWN);
	ck_assert_ptr_null(k);
	sshx_buf_free(b);
}
END_TEST

/* ---- Malformed blobs ---- */

START_TEST(test_truncated_blobs_rejected)
{
	struct sshx_key *k = gen(all_types[_i]), *p;
	const uint8_t *blob;
	size_t len, n;
	uint8_t *copy;

	blob = sshx_key_blob(k, &len);
	for (n = 0; n < len; n++) {
		/* An exact-size copy, so that ASan catches any read past the end. */
		copy = malloc(n == 0 ? 1 : n);
		ck_assert_ptr_nonnull(copy);
		memcpy(copy, blob, n);
		p = (struct sshx_key *)&p;
		ck_assert_msg(sshx_key_from_blob(copy, n, &p) == SSHX_ERR_INCOMPLETE,
		    "%s blob cut to %zu of %zu bytes: expected SSHX_ERR_INCOMPLETE",
		    sshx_key_type_name(all_types[_i]), n, len);
		ck_assert_msg(p == NULL, "expected a NULL key for a cut blob");
		free(copy);
	}
	sshx_key_free(k);
}
END_TEST

START_TEST(test_truncated_private_bodies_rejected)
{
	struct sshx_key *k = gen(all_types[_i]), *p;
	struct sshx_buf *body = private_of(k), *cut;
	size_t len = sshx_buf_len(body), n;
	uint8_t *copy;
	int r;

	for (n = 0; n < len; n++) {
		copy = gcry_malloc_secure(n == 0 ? 1 : n);
		ck_assert_ptr_nonnull(copy);
		memcpy(copy, sshx_buf_ptr(body), n);
		cut = sshx_buf_from(copy, n);
		ck_assert_ptr_nonnull(cut);
		p = (struct sshx_key *)&p;
		r = sshx_key_parse_private(cut, &p);
		ck_assert_msg(r == SSHX_ERR_INCOMPLETE && p == NULL && sshx_buf_len(cut) == n,
		    "%s body cut to %zu of %zu bytes: expected SSHX_ERR_INCOMPLETE with "
		    "nothing consumed, got %d (%s), %zu bytes left",
		    sshx_key_type_name(all_types[_i]), n, len, r, sshx_strerror(r),
		    sshx_buf_len(cut));
		sshx_buf_free(cut);
		explicit_bzero(copy, n == 0 ? 1 : n);
		gcry_free(copy);
	}
	sshx_buf_free(body);
	sshx_key_free(k);
}
END_TEST

START_TEST(test_trailing_byte_rejected)
{
	struct sshx_key *k = gen(all_types[_i]), *p = NULL;
	struct sshx_buf *b = sshx_buf_new();
	const uint8_t *blob;
	size_t len;

	ck_assert_ptr_nonnull(b);
	blob = sshx_key_blob(k, &len);
	ck_ok(sshx_buf_put(b, blob, len));
	ck_ok(sshx_buf_put_u8(b, 0));
	ck_err(sshx_key_from_blob(sshx_buf_ptr(b), sshx_buf_len(b), &p),
	    SSHX_ERR_INVALID_FORMAT);
	ck_assert_ptr_null(p);
	sshx_buf_free(b);
	sshx_key_free(k);
}
END_TEST

/* Builds an RSA public blob from e and n magnitudes. */
static struct sshx_buf *
rsa_blob(const uint8_t *e, size_t elen, const uint8_t *n, size_t nlen)
{
	struct sshx_buf *b = sshx_buf_new();

	ck_assert_ptr_nonnull(b);
	ck_ok(sshx_buf_put_cstring(b, "ssh-rsa"));
	ck_ok(sshx_buf_put_bignum2_bytes(b, e, elen));
	ck_ok(sshx_buf_put_bignum2_bytes(b, n, nlen));
	return b;
}

START_TEST(test_rsa_public_limits)
{
	static const uint8_t e65537[] = { 0x01, 0x00, 0x01 }, e_even[] = { 0x01, 0x00, 0x00 };
	static const uint8_t e_one[] = { 0x01 };
	static uint8_t n[2049];
	struct sshx_buf *b;
	struct sshx_key *k = NULL;

	/* 1000 bits: refused as too small at parse time. */
	memset(n, 0xa5, sizeof(n));
	n[0] = 0x80;
	n[124] |= 1;
	b = rsa_blob(e65537, sizeof(e65537), n, 125);
	ck_err(sshx_key_from_blob(sshx_buf_ptr(b), sshx_buf_len(b), &k),
	    SSHX_ERR_KEY_TOO_SMALL);
	sshx_buf_free(b);
	/* 1024 bits of an odd n: accepted (the 2048-bit policy is the agent's). */
	n[127] |= 1;
	b = rsa_blob(e65537, sizeof(e65537), n, 128);
	ck_ok(sshx_key_from_blob(sshx_buf_ptr(b), sshx_buf_len(b), &k));
	ck_assert_uint_eq(sshx_key_bits(k), 1024);
	sshx_key_free(k);
	k = NULL;
	sshx_buf_free(b);
	/* An even modulus, an even e and e = 1 are invalid. */
	n[127] &= 0xfe;
	b = rsa_blob(e65537, sizeof(e65537), n, 128);
	ck_err(sshx_key_from_blob(sshx_buf_ptr(b), sshx_buf_len(b), &k),
	    SSHX_ERR_KEY_INVALID);
	sshx_buf_free(b);
	n[127] |= 1;
	b = rsa_blob(e_even, sizeof(e_even), n, 128);
	ck_err(sshx_key_from_blob(sshx_buf_ptr(b), sshx_buf_len(b), &k),
	    SSHX_ERR_KEY_INVALID);
	sshx_buf_free(b);
	b = rsa_blob(e_one, sizeof(e_one), n, 128);
	ck_err(sshx_key_from_blob(sshx_buf_ptr(b), sshx_buf_len(b), &k),
	    SSHX_ERR_KEY_INVALID);
	sshx_buf_free(b);
	/* 16391 bits: above SSHX_RSA_MAX_BITS. */
	n[0] = 0x7f;
	n[2048] |= 1;
	b = rsa_blob(e65537, sizeof(e65537), n, 2049);
	ck_err(sshx_key_from_blob(sshx_buf_ptr(b), sshx_buf_len(b), &k),
	    SSHX_ERR_LIMIT);
	ck_assert_ptr_null(k);
	sshx_buf_free(b);
}
END_TEST

START_TEST(test_rsa_generate_sizes)
{
	struct sshx_key *k = NULL;

	ck_err(sshx_key_generate(SSHX_KEY_RSA, 512, &k), SSHX_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_null(k);
	ck_err(sshx_key_generate(SSHX_KEY_RSA, SSHX_RSA_MAX_BITS + 8, &k),
	    SSHX_ERR_INVALID_ARGUMENT);
	ck_ok(sshx_key_generate(SSHX_KEY_RSA, 1024, &k));
	ck_assert_msg(sshx_key_bits(k) == 1024, "expected 1024 bits, got %u",
	    sshx_key_bits(k));
	sshx_key_free(k);
	ck_ok(sshx_key_generate(SSHX_KEY_RSA, 0, &k));
	ck_assert_msg(sshx_key_bits(k) == 3072, "bits 0: expected the 3072-bit "
	    "default, got %u", sshx_key_bits(k));
	sshx_key_free(k);
}
END_TEST

START_TEST(test_ecdsa_point_checks)
{
	/* The field prime p of NIST P-256. */
	static const uint8_t prime[32] = {
		0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	};
	struct sshx_key *k = gen(SSHX_KEY_ECDSA_P256), *p = NULL;
	const uint8_t *blob;
	size_t len;
	uint8_t *m;

	blob = sshx_key_blob(k, &len);
	/* string "ecdsa-sha2-nistp256" (4+19), string "nistp256" (4+8), string Q (4+65). */
	ck_assert_uint_eq(len, 23 + 12 + 69);
	m = malloc(len);
	ck_assert_ptr_nonnull(m);

	memcpy(m, blob, len);
	m[len - 1] ^= 0x01;		/* y changed: off the curve */
	ck_err(sshx_key_from_blob(m, len, &p), SSHX_ERR_KEY_INVALID);
	memcpy(m, blob, len);
	memcpy(m + 35 + 4 + 1, prime, 32);	/* x = p */
	ck_err(sshx_key_from_blob(m, len, &p), SSHX_ERR_KEY_INVALID);
	memcpy(m, blob, len);
	m[35 + 4] = 0x02;		/* compressed-point prefix */
	ck_err(sshx_key_from_blob(m, len, &p), SSHX_ERR_INVALID_FORMAT);
	memcpy(m, blob, len);
	m[23 + 4 + 7] = '4';		/* curve "nistp254" */
	ck_err(sshx_key_from_blob(m, len, &p), SSHX_ERR_KEY_TYPE_MISMATCH);
	ck_assert_ptr_null(p);
	free(m);
	sshx_key_free(k);
}
END_TEST

/* ---- Fingerprints ---- */

/* Public keys made once with ssh-keygen and the fingerprints ssh-keygen -l printed. */
static const struct {
	const char *line, *fp;
	unsigned int bits;
} known_keys[] = {
	{ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJD3ziPAQZS+i0uhJuVz5/CAgPUT5Am6SfwF/b6brtob",
	  "SHA256:OeqIAfn9y6FR0QneuTcKrIAxZX3kG2CHvEAyxg9opSI", 256 },
	{ "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBDAvNsJY"
	  "x3nPPHdZL5GCvYJPDeNSavzO35tUS9aDD7gn7RUTsi5xzByKrhA36LF3+PYUIROupw0z9zAaBMkE6get"
	  "jmngntymk+FTkh3wnC3+/RhPOn5XZpQ8NC4GUK4mpQ==",
	  "SHA256:GFwa+L5ubeM37dkhA8T8XXBsicBZg0i6gzWXzqh+8Bk", 384 },
	{ "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDsZkvzo0I0tY1aZco8UAZqPmflKDZLtCfeZtvpEACj"
	  "zFW/OUZ+ENBxnTZksRx2ZM6ZdVijvSzbb5+5HYSbmIOSDupVZPBobvCFnFf1VwklZWqmJbcZb0d1zC6y"
	  "8HMS0vJN/CMZJnu01dem93Gl60z5Vh5mXL2hqDsD3GU63+ya1k7yJZZRuvM4+RGQJej0RDyYI/bMPLGG"
	  "kJV/Wa9o3hXJ9s11WRdOPsumCcxqBkAxwLA/h83LM2mXJJ4YIFk4s1x66bf7nOBy3ozeF9eY8gVOwGW6"
	  "nqKwOQwrCu03UtssoBZe/no5bNaWv13RqI24//YIrdFAiZcLFa4nQoky+xon",
	  "SHA256:VVS5MU8RIJLyXbE6Z2JdlIocNSuJuCToMFtwzNmJgls", 2048 },
};

START_TEST(test_fingerprint_of_known_keys)
{
	uint8_t blob[512];
	size_t len;
	struct sshx_key *k = NULL;
	char fp[SSHX_FP_LEN];
	const char *b64 = strchr(known_keys[_i].line, ' ') + 1;

	len = b64_decode(b64, blob, sizeof(blob));
	ck_ok(sshx_key_from_blob(blob, len, &k));
	ck_ok(sshx_key_fingerprint(k, fp));
	ck_assert_msg(strcmp(fp, known_keys[_i].fp) == 0, "expected %s, got %s",
	    known_keys[_i].fp, fp);
	ck_assert_msg(strlen(fp) == SSHX_FP_LEN - 1, "expected %d characters, got %zu",
	    SSHX_FP_LEN - 1, strlen(fp));
	ck_assert_msg(sshx_key_bits(k) == known_keys[_i].bits, "expected %u bits, "
	    "got %u", known_keys[_i].bits, sshx_key_bits(k));
	sshx_key_free(k);
}
END_TEST

START_TEST(test_fingerprint_matches_ssh_keygen)
{
	struct sshx_key *k = gen(all_types[_i]);
	const uint8_t *blob;
	size_t len;
	char *b64, *text, path[64], cmd[128], line[512], fp[SSHX_FP_LEN], want[128];
	unsigned int bits = 0;

	blob = sshx_key_blob(k, &len);
	b64 = b64_encode(blob, len);
	ck_assert_msg(asprintf(&text, "%s %s sshx-test\n",
	    sshx_key_type_name(all_types[_i]), b64) > 0, "asprintf");
	write_temp(text, path, sizeof(path));
	snprintf(cmd, sizeof(cmd), "%s -lf %s 2>&1", SSH_KEYGEN, path);
	run_line(cmd, line, sizeof(line));
	unlink(path);

	/* "<bits> SHA256:<base64> sshx-test (<TYPE>)" */
	ck_assert_msg(sscanf(line, "%u %127s", &bits, want) == 2,
	    "expected \"bits fingerprint ...\" from ssh-keygen, got \"%s\"", line);
	ck_ok(sshx_key_fingerprint(k, fp));
	ck_assert_msg(strcmp(fp, want) == 0, "expected ssh-keygen's %s, got %s",
	    want, fp);
	ck_assert_msg(bits == sshx_key_bits(k), "expected ssh-keygen's %u bits, "
	    "got %u", bits, sshx_key_bits(k));
	free(text);
	free(b64);
	sshx_key_free(k);
}
END_TEST

/*
 * The agent body is the private section of an unencrypted OpenSSH key file
 * (PROTOCOL.key), so ssh-keygen loading such a file proves the body format.
 */
START_TEST(test_private_body_loads_in_ssh_keygen)
{
	struct sshx_key *k = gen(all_types[_i]);
	struct sshx_buf *f = sshx_buf_new_secure(), *sec = sshx_buf_new_secure();
	const uint8_t *blob;
	size_t len, i;
	uint8_t pad = 1;
	char *b64, *blob64, path[64], cmd[128], line[4096], want[4096];
	FILE *out;
	char *mem = NULL;
	size_t memlen = 0;

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(sec);
	blob = sshx_key_blob(k, &len);
	ck_ok(sshx_buf_put_u32(sec, 0x5eed5eed));
	ck_ok(sshx_buf_put_u32(sec, 0x5eed5eed));
	ck_ok(sshx_key_put_private(k, sec));
	ck_ok(sshx_buf_put_cstring(sec, "sshx-test"));
	while (sshx_buf_len(sec) % 8 != 0)
		ck_ok(sshx_buf_put_u8(sec, pad++));
	ck_ok(sshx_buf_put(f, "openssh-key-v1", 15));	/* with its NUL */
	ck_ok(sshx_buf_put_cstring(f, "none"));
	ck_ok(sshx_buf_put_cstring(f, "none"));
	ck_ok(sshx_buf_put_cstring(f, ""));
	ck_ok(sshx_buf_put_u32(f, 1));
	ck_ok(sshx_buf_put_string(f, blob, len));
	ck_ok(sshx_buf_put_stringb(f, sec));
	b64 = b64_encode(sshx_buf_ptr(f), sshx_buf_len(f));

	out = open_memstream(&mem, &memlen);
	ck_assert_ptr_nonnull(out);
	fputs("-----BEGIN OPENSSH PRIVATE KEY-----\n", out);
	for (i = 0; i < strlen(b64); i += 70)
		fprintf(out, "%.70s\n", b64 + i);
	fputs("-----END OPENSSH PRIVATE KEY-----\n", out);
	fclose(out);
	write_temp(mem, path, sizeof(path));
	snprintf(cmd, sizeof(cmd), "%s -y -f %s 2>&1", SSH_KEYGEN, path);
	run_line(cmd, line, sizeof(line));
	unlink(path);

	blob64 = b64_encode(blob, len);
	snprintf(want, sizeof(want), "%s %s", sshx_key_type_name(all_types[_i]), blob64);
	ck_assert_msg(strncmp(line, want, strlen(want)) == 0,
	    "expected ssh-keygen -y to print \"%s\", got \"%s\"", want, line);

	explicit_bzero(mem, memlen);
	free(mem);
	explicit_bzero(b64, strlen(b64));
	free(b64);
	free(blob64);
	sshx_buf_free(sec);
	sshx_buf_free(f);
	sshx_key_free(k);
}
END_TEST

/* ---- Arguments and resources ---- */

START_TEST(test_null_arguments)
{
	struct sshx_key *k = (struct sshx_key *)&k;
	struct sshx_buf *b = sshx_buf_new();
	char fp[SSHX_FP_LEN] = "x";
	size_t len = 1;

	ck_assert_ptr_nonnull(b);
	ck_err(sshx_key_from_blob(NULL, 1, &k), SSHX_ERR_INVALID_ARGUMENT);
	ck_assert_ptr_null(k);
	ck_err(sshx_key_from_blob((const uint8_t *)"", 0, NULL),
	    SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_key_parse_private(NULL, &k), SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_key_put_private(NULL, b), SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_key_sign(NULL, NULL, 0, 0, b), SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_key_verify(NULL, NULL, 0, NULL, 0, 0), SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_key_fingerprint(NULL, fp), SSHX_ERR_INVALID_ARGUMENT);
	ck_assert_msg(fp[0] == '\0', "expected an empty fingerprint on failure");
	ck_assert_ptr_null(sshx_key_blob(NULL, &len));
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(sshx_key_equal_public(NULL, NULL), 0);
	ck_assert_int_eq(sshx_key_type(NULL), SSHX_KEY_UNSPEC);
	ck_assert_uint_eq(sshx_key_bits(NULL), 0);
	ck_assert_int_eq(sshx_key_has_private(NULL), 0);
	sshx_key_free(NULL);
	sshx_buf_free(b);
}
END_TEST

START_TEST(test_equal_public_tells_keys_apart)
{
	struct sshx_key *a = gen(SSHX_KEY_ED25519), *b = gen(SSHX_KEY_ED25519);
	struct sshx_key *pa = public_of(a);

	ck_assert_msg(sshx_key_equal_public(a, pa), "expected a key equal to its public copy");
	ck_assert_msg(!sshx_key_equal_public(a, b), "expected two generated keys to differ");
	sshx_key_free(pa);
	sshx_key_free(b);
	sshx_key_free(a);
}
END_TEST

START_TEST(test_secure_memory_exhaustion_reported)
{
	struct sshx_key *k = gen(all_types[_i]), *k2 = NULL;
	struct sshx_buf *body = private_of(k);
	size_t i, count;
	void **held;

	/* Run the pool dry, keeping every block to give it back after. */
	held = sshx_test_drain_secmem(&count);
	ck_err(sshx_key_parse_private(body, &k2), SSHX_ERR_SECMEM);
	ck_assert_ptr_null(k2);
	/* Without Check's fork per test (valgrind runs), later tests need the pool. */
	for (i = 0; i < count; i++)
		gcry_free(held[i]);
	free(held);
	sshx_buf_free(body);
	sshx_key_free(k);
}
END_TEST

/* ---- Suite ---- */

/* Adds a TCase with one test, or a loop test over [0, n), with a generous timeout. */
static void
add(Suite *s, const char *name, const TTest *t, int n)
{
	sshx_add_tcase(s, name, t, n, KEY_TIMEOUT, 1);
}

static Suite *
key_suite(void)
{
	Suite *s = suite_create("key");

	add(s, "type names round trip", test_type_names_round_trip, 0);
	add(s, "type from name rejects near misses", test_type_from_name_rejects_near_misses, 0);
	add(s, "Ed25519 RFC 8032 vectors", test_ed25519_rfc8032_vectors,
	    (int)(sizeof(rfc8032) / sizeof(rfc8032[0])));
	add(s, "Ed25519 signs messages past 64 KiB", test_ed25519_signs_long_messages, 0);
	add(s, "blob round trip", test_blob_round_trip, N_TYPES);
	add(s, "key bits by type", test_key_bits_by_type, N_TYPES);
	add(s, "private round trip signs for original", test_private_round_trip_signs_for_original, N_TYPES);
	add(s, "parse private leaves following bytes", test_parse_private_leaves_following_bytes, N_TYPES);
	add(s, "sign and verify", test_sign_verify, N_TYPES);
	add(s, "sign appends to existing contents", test_sign_appends_to_existing_contents, N_TYPES);
	add(s, "RSA sign flags select algorithm", test_rsa_sign_flags_select_algorithm, 0);
	add(s, "verify rejects flipped signature bit", test_verify_rejects_flipped_signature_bit, N_TYPES);
	add(s, "verify rejects flipped data bit", test_verify_rejects_flipped_data_bit, N_TYPES);
	add(s, "verify refuses SHA-1 unless allowed", test_verify_refuses_sha1_unless_allowed, 0);
	add(s, "verify rejects malformed signature blobs", test_verify_rejects_malformed_signature_blobs, 0);
	add(s, "RSA signature padded, short one accepted", test_rsa_signature_padded_and_short_one_accepted, 0);
	add(s, "public key cannot sign", test_public_key_cannot_sign, N_TYPES);
	add(s, "concurrent signing with one key", test_concurrent_signing_with_one_key, N_TYPES);
	add(s, "Ed25519 mismatched halves rejected", test_ed25519_mismatched_halves_rejected, 0);
	add(s, "RSA mismatched factors rejected", test_rsa_mismatched_factors_rejected, 0);
	add(s, "RSA put_private writes OpenSSH iqmp", test_rsa_put_private_writes_openssh_iqmp, 0);
	add(s, "ECDSA mismatched scalar rejected", test_ecdsa_mismatched_scalar_rejected, 0);
	add(s, "DSA refused", test_dsa_refused, 0);
	add(s, "unknown types rejected", test_unknown_types_rejected, 0);
	add(s, "truncated blobs rejected", test_truncated_blobs_rejected, N_TYPES);
	add(s, "truncated private bodies rejected", test_truncated_private_bodies_rejected, N_TYPES);
	add(s, "trailing byte rejected", test_trailing_byte_rejected, N_TYPES);
	add(s, "RSA public limits", test_rsa_public_limits, 0);
	add(s, "RSA generate sizes", test_rsa_generate_sizes, 0);
	add(s, "ECDSA point checks", test_ecdsa_point_checks, 0);
	add(s, "fingerprint of known keys", test_fingerprint_of_known_keys,
	    (int)(sizeof(known_keys) / sizeof(known_keys[0])));
	add(s, "fingerprint matches ssh-keygen", test_fingerprint_matches_ssh_keygen, N_TYPES);
	add(s, "private body loads in ssh-keygen", test_private_body_loads_in_ssh_keygen, N_TYPES);
	add(s, "NULL arguments", test_null_arguments, 0);
	add(s, "equal_public tells keys apart", test_equal_public_tells_keys_apart, 0);
	add(s, "secure memory exhaustion reported", test_secure_memory_exhaustion_reported, N_TYPES);
	return s;
}

int
main(void)
{
	return sshx_run_suite(key_suite());
}
