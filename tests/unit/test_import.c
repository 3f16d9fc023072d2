/*
 * Unit tests of lib/import.c: private key files written by ssh-keygen in the
 * OpenSSH, PEM and PKCS #8 formats import to the very key ssh-keygen made,
 * and encrypted, refused, foreign, truncated or damaged files give a clear
 * error with a reason, never a crash.
 */
#include "config.h"

#include <sys/wait.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"

#include "b64.h"
#include "buf.h"
#include "err.h"
#include "import.h"
#include "key.h"

#define WHY_LEN		256
#define PATH_LEN	512

/* A key type as ssh-keygen names it, and the file stem it is generated under. */
struct kind {
	const char *stem;
	const char *args;
	enum sshx_key_type type;
	const char *pem_label;	/* what "ssh-keygen -m PEM" writes, or NULL */
};

static const struct kind kinds[] = {
	{ "ed25519", "-t ed25519", SSHX_KEY_ED25519, NULL },
	{ "ecdsa256", "-t ecdsa -b 256", SSHX_KEY_ECDSA_P256, "EC PRIVATE KEY" },
	{ "ecdsa384", "-t ecdsa -b 384", SSHX_KEY_ECDSA_P384, "EC PRIVATE KEY" },
	{ "ecdsa521", "-t ecdsa -b 521", SSHX_KEY_ECDSA_P521, "EC PRIVATE KEY" },
	{ "rsa3072", "-t rsa -b 3072", SSHX_KEY_RSA, "RSA PRIVATE KEY" },
};
#define NKINDS		((int)(sizeof(kinds) / sizeof(kinds[0])))

/* The directory ssh-keygen writes into, made once for the suite's key files. */
static char dir[] = "/tmp/test_import.XXXXXX";

/* ---- Helpers ---- */

static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs a shell command and fails the test unless it exits with 0. */
static void
run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "expected `%s` to succeed, got status %d", cmd, st);
}

static const char *
path_of(const char *name)
{
	static char p[PATH_LEN];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

/* Reads a whole file into a new allocation. */
static uint8_t *
slurp(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	uint8_t *d = NULL;
	size_t n = 0, got;

	ck_assert_msg(f != NULL, "expected to open %s", path);
	for (;;) {
		d = realloc(d, n + 4096);
		ck_assert_ptr_nonnull(d);
		got = fread(d + n, 1, 4096, f);
		n += got;
		if (got < 4096)
			break;
	}
	fclose(f);
	*lenp = n;
	return d;
}

/*
 * Imports from a heap copy of exactly len bytes, so that AddressSanitizer
 * sees any read past the end, and checks the failure contract: no key, no
 * comment, a reason.
 */
static int
try_import(const uint8_t *data, size_t len, struct sshx_key **kp, char **cp,
    char why[static WHY_LEN])
{
	uint8_t *copy = malloc(len == 0 ? 1 : len);
	int r;

	ck_assert_ptr_nonnull(copy);
	if (len != 0)
		memcpy(copy, data, len);
	memset(why, 'x', WHY_LEN);
	r = sshx_import_private(copy, len, kp, cp, why, WHY_LEN);
	free(copy);
	ck_assert_msg(memchr(why, '\0', WHY_LEN) != NULL,
	    "expected a NUL-terminated reason");
	if (r != 0) {
		ck_assert_msg(r < 0 && r > SSHX_ERR_MAX_, "expected an SSHX_ERR_ code, got %d", r);
		ck_assert_msg(*kp == NULL && *cp == NULL,
		    "expected no key and no comment after error %d", r);
		ck_assert_msg(why[0] != '\0', "expected a reason for error %d (%s)",
		    r, sshx_strerror(r));
	} else {
		ck_assert_msg(*kp != NULL && *cp != NULL, "expected a key and a comment");
		ck_assert_msg(why[0] == '\0', "expected no reason on success, got \"%s\"", why);
	}
	return r;
}

/* Imports data and checks that it fails with want and a reason mentioning has (when not NULL). */
static void
expect_error(const uint8_t *data, size_t len, int want, const char *has,
    const char *what)
{
	struct sshx_key *k = NULL;
	char *c = NULL, why[WHY_LEN];
	int r;

	r = try_import(data, len, &k, &c, why);
	ck_assert_msg(r == want, "%s: expected %d (%s), got %d (%s): %s", what,
	    want, sshx_strerror(want), r, sshx_strerror(r), r == 0 ? "" : why);
	if (has != NULL)
		ck_assert_msg(strstr(why, has) != NULL,
		    "%s: expected the reason to mention \"%s\", got \"%s\"", what, has, why);
}

/* Like expect_error, for a NUL-terminated text. */
static void
expect_text(const char *text, int want, const char *has, const char *what)
{
	expect_error((const uint8_t *)text, strlen(text), want, has, what);
}

/* Imports a file that must be good and returns its key; *commentp gets the comment. */
static struct sshx_key *
import_ok(const uint8_t *data, size_t len, char **commentp, const char *what)
{
	struct sshx_key *k = NULL;
	char *c = NULL, why[WHY_LEN];
	int r;

	r = try_import(data, len, &k, &c, why);
	ck_assert_msg(r == 0, "%s: expected the import to succeed, got %d (%s): %s",
	    what, r, sshx_strerror(r), why);
	if (commentp != NULL)
		*commentp = c;
	else
		free(c);
	return k;
}

static struct sshx_key *
import_file(const char *name, char **commentp)
{
	uint8_t *d;
	size_t len;
	struct sshx_key *k;

	d = slurp(path_of(name), &len);
	k = import_ok(d, len, commentp, name);
	free(d);
	return k;
}

/* Returns the public blob of a .pub file: its second field, base64-decoded. */
static struct sshx_buf *
pub_blob(const char *stem)
{
	char name[64];
	uint8_t *d;
	size_t len, s, e;
	struct sshx_buf *b = sshx_buf_new();

	snprintf(name, sizeof(name), "%s.pub", stem);
	d = slurp(path_of(name), &len);
	for (s = 0; s < len && d[s] != ' '; s++)
		;
	for (e = ++s; e < len && d[e] != ' ' && d[e] != '\n'; e++)
		;
	ck_assert_msg(s < len && e > s, "expected two fields in %s", name);
	ck_assert_int_eq(sshx_b64_decode((const char *)d + s, e - s, b), 0);
	free(d);
	return b;
}

/* Checks that the key's public blob is blob. */
static void
check_blob(const struct sshx_key *k, const struct sshx_buf *blob, const char *what)
{
	const uint8_t *p;
	size_t len;

	p = sshx_key_blob(k, &len);
	ck_assert_msg(len == sshx_buf_len(blob) && memcmp(p, sshx_buf_ptr(blob), len) == 0,
	    "%s: expected the public blob of the .pub file (%zu bytes), got a "
	    "different one (%zu bytes)", what, sshx_buf_len(blob), len);
}

/* Signs with the imported key and checks the signature with the public key from the .pub file. */
static void
check_signs(const struct sshx_key *k, const struct sshx_buf *blob, const char *what)
{
	static const uint8_t msg[] = "sign me, then check me";
	struct sshx_key *pub = NULL;
	struct sshx_buf *sig = sshx_buf_new();
	int r;

	ck_assert_int_eq(sshx_key_from_blob(sshx_buf_ptr(blob), sshx_buf_len(blob), &pub), 0);
	r = sshx_key_sign(k, msg, sizeof(msg) - 1, SSHX_SIG_RSA_SHA512, sig);
	ck_assert_msg(r == 0, "%s: expected signing to work, got %s", what, sshx_strerror(r));
	r = sshx_key_verify(pub, sshx_buf_ptr(sig), sshx_buf_len(sig), msg,
	    sizeof(msg) - 1, 0);
	ck_assert_msg(r == 0, "%s: expected the signature to verify with the .pub "
	    "key, got %s", what, sshx_strerror(r));
	sshx_key_free(pub);
	sshx_buf_free(sig);
}

/* Appends a DER element with minimal length encoding. */
static void
der_put(struct sshx_buf *b, uint8_t tag, const void *p, size_t len)
{
	ck_assert_int_eq(sshx_buf_put_u8(b, tag), 0);
	if (len < 0x80) {
		ck_assert_int_eq(sshx_buf_put_u8(b, (uint8_t)len), 0);
	} else if (len < 0x100) {
		ck_assert_int_eq(sshx_buf_put_u8(b, 0x81), 0);
		ck_assert_int_eq(sshx_buf_put_u8(b, (uint8_t)len), 0);
	} else {
		ck_assert_uint_lt(len, 0x10000);
		ck_assert_int_eq(sshx_buf_put_u8(b, 0x82), 0);
		ck_assert_int_eq(sshx_buf_put_u8(b, (uint8_t)(len >> 8)), 0);
		ck_assert_int_eq(sshx_buf_put_u8(b, (uint8_t)len), 0);
	}
	ck_assert_int_eq(sshx_buf_put(b, p, len), 0);
}

/* Appends a DER element whose contents are the buffer c, then frees c. */
static void
der_wrap(struct sshx_buf *b, uint8_t tag, struct sshx_buf *c)
{
	der_put(b, tag, sshx_buf_ptr(c), sshx_buf_len(c));
	sshx_buf_free(c);
}

/* Returns a PEM file of the bytes, with 64-character base64 lines. */
static struct sshx_buf *
pem_wrap(const char *label, const uint8_t *p, size_t len)
{
	struct sshx_buf *t = sshx_buf_new(), *out = sshx_buf_new();
	char line[128];
	size_t i, n;

	ck_assert_int_eq(sshx_b64_encode(p, len, t), 0);
	snprintf(line, sizeof(line), "-----BEGIN %s-----\n", label);
	ck_assert_int_eq(sshx_buf_put(out, line, strlen(line)), 0);
	for (i = 0; i < sshx_buf_len(t); i += n) {
		n = sshx_buf_len(t) - i < 64 ? sshx_buf_len(t) - i : 64;
		ck_assert_int_eq(sshx_buf_put(out, sshx_buf_ptr(t) + i, n), 0);
		ck_assert_int_eq(sshx_buf_put_u8(out, '\n'), 0);
	}
	snprintf(line, sizeof(line), "-----END %s-----\n", label);
	ck_assert_int_eq(sshx_buf_put(out, line, strlen(line)), 0);
	sshx_buf_free(t);
	return out;
}

/* Returns the decoded contents of a PEM file without headers. */
static struct sshx_buf *
pem_unwrap(const uint8_t *d, size_t len)
{
	struct sshx_buf *t = sshx_buf_new(), *out = sshx_buf_new();
	size_t i = 0;

	while (i < len && d[i] != '\n')		/* the BEGIN line */
		i++;
	for (i++; i < len && d[i] != '-'; i++)
		if (d[i] != '\n')
			ck_assert_int_eq(sshx_buf_put_u8(t, d[i]), 0);
	ck_assert_int_eq(sshx_b64_decode((const char *)sshx_buf_ptr(t),
	    sshx_buf_len(t), out), 0);
	sshx_buf_free(t);
	return out;
}

static struct sshx_buf *
pem_unwrap_file(const char *name)
{
	uint8_t *d;
	size_t len;
	struct sshx_buf *b;

	d = slurp(path_of(name), &len);
	b = pem_unwrap(d, len);
	free(d);
	return b;
}

/* Returns 1 when a file starts with "-----BEGIN <label>-----". */
static int
file_has_label(const char *name, const char *label)
{
	char want[128];
	uint8_t *d;
	size_t len;
	int ok;

	snprintf(want, sizeof(want), "-----BEGIN %s-----\n", label);
	d = slurp(path_of(name), &len);
	ok = len >= strlen(want) && memcmp(d, want, strlen(want)) == 0;
	free(d);
	return ok;
}

/* Converts a copy of stem's key into another format (and passphrase) with ssh-keygen -p. */
static void
convert(const char *stem, const char *to, const char *format, const char *pass)
{
	char from[PATH_LEN];

	snprintf(from, sizeof(from), "%s", path_of(stem));
	run("cp '%s' '%s'", from, path_of(to));
	run("ssh-keygen -q -p %s%s -P '' -N '%s' -f '%s' >/dev/null",
	    format != NULL ? "-m " : "", format != NULL ? format : "", pass, path_of(to));
}

/* Makes every key file the tests read, once, before the tests run. */
static void
make_keys(void)
{
	int i;

	ck_assert_msg(mkdtemp(dir) != NULL, "expected to create a temporary directory");
	for (i = 0; i < NKINDS; i++) {
		char name[64];

		run("ssh-keygen -q %s -N '' -C comment -f '%s'", kinds[i].args,
		    path_of(kinds[i].stem));
		if (kinds[i].pem_label != NULL) {
			snprintf(name, sizeof(name), "%s.pem", kinds[i].stem);
			convert(kinds[i].stem, name, "PEM", "");
		}
		snprintf(name, sizeof(name), "%s.p8", kinds[i].stem);
		convert(kinds[i].stem, name, "PKCS8", "");
	}
	convert("ecdsa256", "enc", NULL, "secret");
	convert("ecdsa256", "enc.pem", "PEM", "secret");
	convert("ecdsa256", "enc.p8", "PKCS8", "secret");
	run("ssh-keygen -q -t dsa -N '' -C dsa -f '%s'", path_of("dsa"));
	convert("dsa", "dsa.pem", "PEM", "");
	convert("dsa", "dsa.p8", "PKCS8", "");
	convert("dsa", "dsa.enc", NULL, "secret");
}

static void
remove_keys(void)
{
	run("rm -rf '%s'", dir);
}

/* ---- Files written by ssh-keygen ---- */

START_TEST(openssh_format_imports_with_comment_public_key_and_signatures)
{
	const struct kind *kd = &kinds[_i];
	struct sshx_buf *blob = pub_blob(kd->stem);
	struct sshx_key *k;
	char *comment = NULL;

	k = import_file(kd->stem, &comment);
	ck_assert_msg(sshx_key_type(k) == kd->type, "%s: expected type %d, got %d",
	    kd->stem, kd->type, sshx_key_type(k));
	ck_assert_msg(strcmp(comment, "comment") == 0,
	    "%s: expected comment \"comment\", got \"%s\"", kd->stem, comment);
	check_blob(k, blob, kd->stem);
	check_signs(k, blob, kd->stem);
	free(comment);
	sshx_key_free(k);
	sshx_buf_free(blob);
}
END_TEST

START_TEST(pem_pkcs1_and_sec1_import_to_the_same_key)
{
	const struct kind *kd = &kinds[_i];
	struct sshx_buf *blob;
	struct sshx_key *k;
	char name[64], *comment = NULL;

	if (kd->pem_label == NULL)	/* OpenSSH writes no PEM for Ed25519 */
		return;
	snprintf(name, sizeof(name), "%s.pem", kd->stem);
	ck_assert_msg(file_has_label(name, kd->pem_label),
	    "expected ssh-keygen to write a \"%s\" file", kd->pem_label);
	blob = pub_blob(kd->stem);
	k = import_file(name, &comment);
	ck_assert_msg(strcmp(comment, "") == 0, "%s: expected an empty comment, got \"%s\"",
	    name, comment);
	check_blob(k, blob, name);
	check_signs(k, blob, name);
	free(comment);
	sshx_key_free(k);
	sshx_buf_free(blob);
}
END_TEST

/* Returns the agent body fields of a key: for Ed25519 the seed, for ECDSA Q and d. */
static struct sshx_buf *
private_body(const struct sshx_key *k)
{
	struct sshx_buf *b = sshx_buf_new();

	ck_assert_int_eq(sshx_key_put_private(k, b), 0);
	ck_assert_int_eq(sshx_buf_get_string_direct(b, NULL, NULL), 0);	/* type */
	return b;
}

/* Builds the RFC 8410 PKCS #8 DER of an Ed25519 seed, with the public key when pk is set. */
static struct sshx_buf *
ed25519_pkcs8(const uint8_t *seed, size_t seedlen, const uint8_t *pk)
{
	static const uint8_t oid[] = { 0x2b, 0x65, 0x70 };
	struct sshx_buf *out = sshx_buf_new(), *seq = sshx_buf_new();
	struct sshx_buf *alg = sshx_buf_new(), *priv = sshx_buf_new(), *bits;
	uint8_t version = pk != NULL ? 1 : 0;

	der_put(seq, 0x02, &version, 1);
	der_put(alg, 0x06, oid, sizeof(oid));
	der_wrap(seq, 0x30, alg);
	der_put(priv, 0x04, seed, seedlen);
	der_wrap(seq, 0x04, priv);
	if (pk != NULL) {
		bits = sshx_buf_new();
		ck_assert_int_eq(sshx_buf_put_u8(bits, 0), 0);
		ck_assert_int_eq(sshx_buf_put(bits, pk, 32), 0);
		der_wrap(seq, 0x81, bits);
	}
	der_wrap(out, 0x30, seq);
	return out;
}

START_TEST(pkcs8_imports_to_the_same_key)
{
	const struct kind *kd = &kinds[_i];
	struct sshx_buf *blob = pub_blob(kd->stem), *body, *der, *pem;
	struct sshx_key *k, *orig;
	const uint8_t *sk;
	size_t sklen;
	char name[64], *comment = NULL;

	snprintf(name, sizeof(name), "%s.p8", kd->stem);
	if (file_has_label(name, "PRIVATE KEY")) {
		k = import_file(name, &comment);
	} else {
		/*
		 * ssh-keygen 9.2 keeps Ed25519 keys in its own format when asked
		 * for PKCS #8; write RFC 8410 by hand from the key's seed.
		 */
		ck_assert_int_eq(kd->type, SSHX_KEY_ED25519);
		orig = import_file(kd->stem, NULL);
		body = private_body(orig);
		ck_assert_int_eq(sshx_buf_get_string_direct(body, NULL, NULL), 0);
		ck_assert_int_eq(sshx_buf_get_string_direct(body, &sk, &sklen), 0);
		ck_assert_uint_eq(sklen, 64);
		der = ed25519_pkcs8(sk, 32, NULL);
		pem = pem_wrap("PRIVATE KEY", sshx_buf_ptr(der), sshx_buf_len(der));
		k = import_ok(sshx_buf_ptr(pem), sshx_buf_len(pem), &comment, name);
		sshx_buf_free(pem);
		sshx_buf_free(der);
		sshx_buf_free(body);
		sshx_key_free(orig);
	}
	ck_assert_msg(strcmp(comment, "") == 0, "%s: expected an empty comment, got \"%s\"",
	    name, comment);
	check_blob(k, blob, name);
	check_signs(k, blob, name);
	free(comment);
	sshx_key_free(k);
	sshx_buf_free(blob);
}
END_TEST

START_TEST(pkcs8_ed25519_from_openssl_has_openssl_public_key)
{
	struct sshx_key *k;
	uint8_t *spki;
	const uint8_t *blob;
	size_t spkilen, bloblen;
	char p8[PATH_LEN];

	if (system("command -v openssl >/dev/null 2>&1") != 0) {
		fprintf(stderr, "# openssl is not installed; skipping\n");
		return;
	}
	run("openssl genpkey -algorithm ed25519 -out '%s' 2>/dev/null", path_of("ossl.p8"));
	snprintf(p8, sizeof(p8), "%s", path_of("ossl.p8"));
	run("openssl pkey -in '%s' -pubout -outform DER -out '%s'", p8,
	    path_of("ossl.spki"));
	k = import_file("ossl.p8", NULL);
	spki = slurp(path_of("ossl.spki"), &spkilen);
	blob = sshx_key_blob(k, &bloblen);
	/* Both end in the 32-byte public key. */
	ck_assert_msg(spkilen == 44 && bloblen == 51 &&
	    memcmp(spki + 12, blob + 19, 32) == 0,
	    "expected the public key openssl computed, got a different one");
	free(spki);
	sshx_key_free(k);
}
END_TEST

START_TEST(encrypted_files_are_reported_as_encrypted)
{
	static const char *const names[] = { "enc", "enc.pem", "enc.p8" };
	uint8_t *d;
	size_t i, len;

	ck_assert_msg(file_has_label("enc.pem", "EC PRIVATE KEY"), "expected a PEM file");
	ck_assert_msg(file_has_label("enc.p8", "ENCRYPTED PRIVATE KEY"),
	    "expected an encrypted PKCS #8 file");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		d = slurp(path_of(names[i]), &len);
		expect_error(d, len, SSHX_ERR_KEY_ENCRYPTED, "ssh-add", names[i]);
		free(d);
	}
}
END_TEST

START_TEST(dsa_keys_are_refused_in_every_format)
{
	static const char *const names[] = { "dsa", "dsa.pem", "dsa.p8", "dsa.enc" };
	uint8_t *d;
	size_t i, len;

	ck_assert_msg(file_has_label("dsa.pem", "DSA PRIVATE KEY"), "expected a DSA PEM file");
	ck_assert_msg(file_has_label("dsa.p8", "PRIVATE KEY"), "expected a PKCS #8 file");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		d = slurp(path_of(names[i]), &len);
		expect_error(d, len, SSHX_ERR_KEY_TYPE_REFUSED, "DSA", names[i]);
		free(d);
	}
}
END_TEST

START_TEST(public_key_file_is_not_a_private_key)
{
	uint8_t *d;
	size_t len;

	d = slurp(path_of("ed25519.pub"), &len);
	expect_error(d, len, SSHX_ERR_INVALID_FORMAT, "public key", "ed25519.pub");
	free(d);
}
END_TEST

/* Checks an import of damaged data: an error with a reason, or the original key. */
static void
check_damaged(const uint8_t *d, size_t len, const struct sshx_buf *blob,
    const char *what, size_t at)
{
	struct sshx_key *k = NULL;
	char *c = NULL, why[WHY_LEN];
	const uint8_t *p;
	size_t plen;

	if (try_import(d, len, &k, &c, why) != 0)
		return;
	/* Damage in the comment or the armor's blanks can leave the key intact. */
	p = sshx_key_blob(k, &plen);
	ck_assert_msg(plen == sshx_buf_len(blob) && memcmp(p, sshx_buf_ptr(blob), plen) == 0,
	    "%s at %zu: expected an error or the original key, got another key", what, at);
	sshx_key_free(k);
	free(c);
}

START_TEST(every_truncation_of_an_openssh_file_fails_cleanly)
{
	struct sshx_buf *blob = pub_blob("ed25519");
	uint8_t *d;
	size_t len, n, end;
	struct sshx_key *k = NULL;
	char *c = NULL, why[WHY_LEN];
	static const char endline[] = "-----END OPENSSH PRIVATE KEY-----";

	d = slurp(path_of("ed25519"), &len);
	ck_assert_uint_gt(len, sizeof(endline));
	end = len - 1 - (sizeof(endline) - 1);	/* where the END line starts */
	ck_assert_msg(memcmp(d + end, endline, sizeof(endline) - 1) == 0,
	    "expected the file to end with the END line");
	for (n = 0; n < len; n++) {
		int r = try_import(d, n, &k, &c, why);

		if (n >= end + sizeof(endline) - 1) {	/* only the newline is gone */
			ck_assert_msg(r == 0, "length %zu: expected success, got %s", n, why);
			check_blob(k, blob, "without the final newline");
		} else {
			ck_assert_msg(r == SSHX_ERR_INVALID_FORMAT,
			    "length %zu: expected %d, got %d (%s)", n,
			    SSHX_ERR_INVALID_FORMAT, r, why);
		}
		sshx_key_free(k);
		free(c);
	}
	free(d);
	sshx_buf_free(blob);
}
END_TEST

/* Truncates the decoded contents of a PEM file at every length; each must fail with want. */
static void
truncate_decoded(const char *name, const char *label, int want)
{
	struct sshx_buf *der = pem_unwrap_file(name), *pem;
	size_t n;
	char what[128];

	for (n = 0; n < sshx_buf_len(der); n++) {
		pem = pem_wrap(label, sshx_buf_ptr(der), n);
		snprintf(what, sizeof(what), "%s cut to %zu bytes", name, n);
		expect_error(sshx_buf_ptr(pem), sshx_buf_len(pem), want, NULL, what);
		sshx_buf_free(pem);
	}
	sshx_buf_free(der);
}

START_TEST(every_truncation_of_decoded_contents_fails_cleanly)
{
	truncate_decoded("ed25519", "OPENSSH PRIVATE KEY", SSHX_ERR_INVALID_FORMAT);
	truncate_decoded("ecdsa256.p8", "PRIVATE KEY", SSHX_ERR_INVALID_FORMAT);
	truncate_decoded("ecdsa384.pem", "EC PRIVATE KEY", SSHX_ERR_INVALID_FORMAT);
	truncate_decoded("rsa3072.pem", "RSA PRIVATE KEY", SSHX_ERR_INVALID_FORMAT);
}
END_TEST

START_TEST(every_flipped_character_of_an_openssh_file_fails_cleanly)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	struct sshx_buf *blob = pub_blob("ed25519");
	uint8_t *d;
	size_t len, i;
	uint8_t saved;

	d = slurp(path_of("ed25519"), &len);
	for (i = 0; i < len; i++) {
		saved = d[i];
		/* Base64 stays base64, so that the damage reaches the parser. */
		if (strchr(alphabet, d[i]) != NULL)
			d[i] = d[i] == 'A' ? 'B' : 'A';
		else
			d[i] ^= 0x01;
		check_damaged(d, len, blob, "flipped character", i);
		d[i] = saved;
	}
	free(d);
	sshx_buf_free(blob);
}
END_TEST

START_TEST(every_flipped_decoded_byte_fails_cleanly_or_keeps_the_key)
{
	static const char *const names[][2] = {
		{ "ed25519", "OPENSSH PRIVATE KEY" },
		{ "ecdsa256.p8", "PRIVATE KEY" },
		{ "ecdsa256.pem", "EC PRIVATE KEY" },
	};
	struct sshx_buf *blob, *der, *pem;
	uint8_t *p;
	size_t i, f;

	for (f = 0; f < sizeof(names) / sizeof(names[0]); f++) {
		blob = pub_blob(f == 0 ? "ed25519" : "ecdsa256");
		der = pem_unwrap_file(names[f][0]);
		p = sshx_buf_mutable_ptr(der);
		for (i = 0; i < sshx_buf_len(der); i++) {
			p[i] ^= 0xff;
			pem = pem_wrap(names[f][1], p, sshx_buf_len(der));
			check_damaged(sshx_buf_ptr(pem), sshx_buf_len(pem), blob,
			    names[f][0], i);
			sshx_buf_free(pem);
			p[i] ^= 0xff;
		}
		sshx_buf_free(der);
		sshx_buf_free(blob);
	}
}
END_TEST

/* Where the header's public key and the private section lie in a decoded OpenSSH key. */
struct layout {
	size_t pub;		/* offset of the public blob's contents */
	size_t publen;
	size_t priv;		/* offset of the private section's contents */
	size_t privlen;
};

static struct layout
openssh_layout(const struct sshx_buf *der)
{
	struct sshx_buf *b = sshx_buf_from(sshx_buf_ptr(der), sshx_buf_len(der));
	const uint8_t *p;
	struct layout l;
	size_t i;

	ck_assert_int_eq(sshx_buf_consume(b, 15), 0);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(sshx_buf_get_string_direct(b, NULL, NULL), 0);
	ck_assert_int_eq(sshx_buf_get_u32(b, NULL), 0);
	ck_assert_int_eq(sshx_buf_get_string_direct(b, &p, &l.publen), 0);
	l.pub = (size_t)(p - sshx_buf_ptr(der));
	ck_assert_int_eq(sshx_buf_get_string_direct(b, &p, &l.privlen), 0);
	l.priv = (size_t)(p - sshx_buf_ptr(der));
	sshx_buf_free(b);
	return l;
}

/* Decodes the ed25519 file, lets edit change one byte, re-encodes it and expects want. */
static void
edit_openssh(size_t (*where)(const struct layout *), int want, const char *has,
    const char *what)
{
	struct sshx_buf *der = pem_unwrap_file("ed25519"), *pem;
	struct layout l = openssh_layout(der);
	uint8_t *p = sshx_buf_mutable_ptr(der);

	p[where(&l)] ^= 0x01;
	pem = pem_wrap("OPENSSH PRIVATE KEY", p, sshx_buf_len(der));
	expect_error(sshx_buf_ptr(pem), sshx_buf_len(pem), want, has, what);
	sshx_buf_free(pem);
	sshx_buf_free(der);
}

static size_t
at_last_padding_byte(const struct layout *l)
{
	return l->priv + l->privlen - 1;
}

static size_t
at_check1(const struct layout *l)
{
	return l->priv + 3;
}

static size_t
at_header_key(const struct layout *l)
{
	return l->pub + l->publen - 1;	/* the last byte of the Ed25519 point */
}

START_TEST(bad_padding_bytes_are_rejected)
{
	edit_openssh(at_last_padding_byte, SSHX_ERR_INVALID_FORMAT, "padding",
	    "last padding byte changed");
}
END_TEST

START_TEST(unequal_check_numbers_are_rejected)
{
	edit_openssh(at_check1, SSHX_ERR_INVALID_FORMAT, "check",
	    "check1 changed");
}
END_TEST

START_TEST(header_key_not_matching_the_private_key_is_invalid)
{
	edit_openssh(at_header_key, SSHX_ERR_KEY_INVALID, "header",
	    "header public key changed");
}
END_TEST

/* Writes an OpenSSH key file from its parts (PROTOCOL.key), optionally with a byte after it. */
static struct sshx_buf *
openssh_build(const char *cipher, const char *kdf, uint32_t nkeys,
    const uint8_t *pub, size_t publen, const uint8_t *priv, size_t privlen,
    int trailing)
{
	struct sshx_buf *b = sshx_buf_new(), *pem;

	ck_assert_int_eq(sshx_buf_put(b, "openssh-key-v1", 15), 0);
	ck_assert_int_eq(sshx_buf_put_cstring(b, cipher), 0);
	ck_assert_int_eq(sshx_buf_put_cstring(b, kdf), 0);
	ck_assert_int_eq(sshx_buf_put_string(b, NULL, 0), 0);
	ck_assert_int_eq(sshx_buf_put_u32(b, nkeys), 0);
	ck_assert_int_eq(sshx_buf_put_string(b, pub, publen), 0);
	ck_assert_int_eq(sshx_buf_put_string(b, priv, privlen), 0);
	if (trailing)
		ck_assert_int_eq(sshx_buf_put_u8(b, 0), 0);
	pem = pem_wrap("OPENSSH PRIVATE KEY", sshx_buf_ptr(b), sshx_buf_len(b));
	sshx_buf_free(b);
	return pem;
}

/* Rebuilds the ed25519 file with one part changed and expects want (0: success). */
static void
rebuild_openssh(const char *cipher, const char *kdf, uint32_t nkeys, int shorten,
    int trailing, int want, const char *has, const char *what)
{
	struct sshx_buf *der = pem_unwrap_file("ed25519"), *pem;
	struct layout l = openssh_layout(der);
	const uint8_t *p = sshx_buf_ptr(der);
	struct sshx_key *k;

	pem = openssh_build(cipher, kdf, nkeys, p + l.pub, l.publen, p + l.priv,
	    l.privlen - (size_t)shorten, trailing);
	if (want == 0) {
		k = import_ok(sshx_buf_ptr(pem), sshx_buf_len(pem), NULL, what);
		sshx_key_free(k);
	} else {
		expect_error(sshx_buf_ptr(pem), sshx_buf_len(pem), want, has, what);
	}
	sshx_buf_free(pem);
	sshx_buf_free(der);
}

START_TEST(openssh_container_fields_are_checked)
{
	rebuild_openssh("none", "none", 1, 0, 0, 0, NULL, "the file rebuilt as it was");
	rebuild_openssh("aes256-ctr", "bcrypt", 1, 0, 0, SSHX_ERR_KEY_ENCRYPTED,
	    "ssh-add", "an aes256-ctr cipher");
	rebuild_openssh("none", "bcrypt", 1, 0, 0, SSHX_ERR_INVALID_FORMAT,
	    "key derivation", "a KDF without a cipher");
	rebuild_openssh("none", "none", 2, 0, 0, SSHX_ERR_INVALID_FORMAT, "2 keys",
	    "two keys announced");
	rebuild_openssh("none", "none", 0, 0, 0, SSHX_ERR_INVALID_FORMAT, "0 keys",
	    "no keys announced");
	rebuild_openssh("none", "none", 1, 0, 1, SSHX_ERR_INVALID_FORMAT, "follows",
	    "a byte after the private section");
	rebuild_openssh("none", "none", 1, 1, 0, SSHX_ERR_INVALID_FORMAT, "padded",
	    "a private section one padding byte short");
}
END_TEST

START_TEST(unknown_key_type_in_openssh_file_is_named)
{
	struct sshx_buf *priv = sshx_buf_new(), *pem;
	static const uint8_t pub[] = { 0, 0, 0, 3, 'x', 'y', 'z' };
	uint8_t i;

	ck_assert_int_eq(sshx_buf_put_u32(priv, 0x01020304), 0);
	ck_assert_int_eq(sshx_buf_put_u32(priv, 0x01020304), 0);
	ck_assert_int_eq(sshx_buf_put_cstring(priv, "sk-ssh-ed25519@openssh.com"), 0);
	ck_assert_int_eq(sshx_buf_put_cstring(priv, "comment"), 0);
	for (i = 1; sshx_buf_len(priv) % 8 != 0; i++)
		ck_assert_int_eq(sshx_buf_put_u8(priv, i), 0);
	pem = openssh_build("none", "none", 1, pub, sizeof(pub), sshx_buf_ptr(priv),
	    sshx_buf_len(priv), 0);
	expect_error(sshx_buf_ptr(pem), sshx_buf_len(pem), SSHX_ERR_KEY_TYPE_UNKNOWN,
	    "\"sk-ssh-ed25519@openssh.com\"", "a security-key type");
	sshx_buf_free(pem);
	sshx_buf_free(priv);
}
END_TEST

START_TEST(crlf_and_text_around_the_block_are_accepted)
{
	struct sshx_buf *blob = pub_blob("ecdsa256"), *f = sshx_buf_new();
	static const char before[] = "Key for example.org\r\n";
	static const char params[] = "-----BEGIN EC PARAMETERS-----\r\n"
	    "BggqhkjOPQMBBw==\r\n-----END EC PARAMETERS-----\r\n";
	struct sshx_key *k;
	uint8_t *d;
	size_t len, i;

	d = slurp(path_of("ecdsa256.pem"), &len);
	ck_assert_int_eq(sshx_buf_put(f, before, strlen(before)), 0);
	ck_assert_int_eq(sshx_buf_put(f, params, strlen(params)), 0);
	for (i = 0; i < len; i++) {
		if (d[i] == '\n')
			ck_assert_int_eq(sshx_buf_put_u8(f, '\r'), 0);
		ck_assert_int_eq(sshx_buf_put_u8(f, d[i]), 0);
	}
	ck_assert_int_eq(sshx_buf_put(f, "trailing text\n", 14), 0);
	k = import_ok(sshx_buf_ptr(f), sshx_buf_len(f), NULL, "CRLF file with text");
	check_blob(k, blob, "CRLF file with text");
	sshx_key_free(k);
	sshx_buf_free(f);
	sshx_buf_free(blob);
	free(d);
}
END_TEST

/* ---- EC keys without a public point ---- */

static const uint8_t oid_ec[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
static const uint8_t oid_curve[3][8] = {
	{ 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 },
	{ 0x2b, 0x81, 0x04, 0x00, 0x22 },
	{ 0x2b, 0x81, 0x04, 0x00, 0x23 },
};
static const size_t oid_curve_len[3] = { 8, 5, 5 };
static const size_t field_len[3] = { 32, 48, 66 };

/* Builds a SEC 1 ECPrivateKey holding only d (padded to the field), with the curve when c >= 0. */
static struct sshx_buf *
sec1_without_public(const uint8_t *d, size_t dlen, int c, size_t field)
{
	struct sshx_buf *out = sshx_buf_new(), *seq = sshx_buf_new(), *param;
	uint8_t version = 1, padded[66];

	ck_assert_uint_le(dlen, field);
	memset(padded, 0, sizeof(padded));
	memcpy(padded + field - dlen, d, dlen);
	der_put(seq, 0x02, &version, 1);
	der_put(seq, 0x04, padded, field);
	if (c >= 0) {
		param = sshx_buf_new();
		der_put(param, 0x06, oid_curve[c], oid_curve_len[c]);
		der_wrap(seq, 0xa0, param);
	}
	der_wrap(out, 0x30, seq);
	return out;
}

START_TEST(ec_key_without_public_point_gets_it_computed)
{
	const struct kind *kd = &kinds[1 + _i];
	struct sshx_buf *blob = pub_blob(kd->stem), *body, *der, *pem, *p8, *seq, *alg;
	struct sshx_key *orig, *k;
	const uint8_t *d;
	size_t dlen;
	uint8_t zero = 0;

	orig = import_file(kd->stem, NULL);
	body = private_body(orig);
	ck_assert_int_eq(sshx_buf_get_string_direct(body, NULL, NULL), 0);	/* curve */
	ck_assert_int_eq(sshx_buf_get_string_direct(body, NULL, NULL), 0);	/* Q */
	ck_assert_int_eq(sshx_buf_get_bignum2_bytes_direct(body, &d, &dlen), 0);

	/* SEC 1 naming its curve, in an "EC PRIVATE KEY" file. */
	der = sec1_without_public(d, dlen, _i, field_len[_i]);
	pem = pem_wrap("EC PRIVATE KEY", sshx_buf_ptr(der), sshx_buf_len(der));
	k = import_ok(sshx_buf_ptr(pem), sshx_buf_len(pem), NULL, "SEC 1 without Q");
	check_blob(k, blob, "SEC 1 without Q");
	check_signs(k, blob, "SEC 1 without Q");
	sshx_key_free(k);
	sshx_buf_free(pem);
	sshx_buf_free(der);

	/* PKCS #8 naming the curve outside only. */
	der = sec1_without_public(d, dlen, -1, field_len[_i]);
	p8 = sshx_buf_new();
	seq = sshx_buf_new();
	alg = sshx_buf_new();
	der_put(seq, 0x02, &zero, 1);
	der_put(alg, 0x06, oid_ec, sizeof(oid_ec));
	der_put(alg, 0x06, oid_curve[_i], oid_curve_len[_i]);
	der_wrap(seq, 0x30, alg);
	der_wrap(seq, 0x04, der);
	der_wrap(p8, 0x30, seq);
	pem = pem_wrap("PRIVATE KEY", sshx_buf_ptr(p8), sshx_buf_len(p8));
	k = import_ok(sshx_buf_ptr(pem), sshx_buf_len(pem), NULL, "PKCS #8 without Q");
	check_blob(k, blob, "PKCS #8 without Q");
	sshx_key_free(k);
	sshx_buf_free(pem);
	sshx_buf_free(p8);

	/* With the curve named nowhere, there is no key. */
	der = sec1_without_public(d, dlen, -1, field_len[_i]);
	pem = pem_wrap("EC PRIVATE KEY", sshx_buf_ptr(der), sshx_buf_len(der));
	expect_error(sshx_buf_ptr(pem), sshx_buf_len(pem), SSHX_ERR_INVALID_FORMAT,
	    "curve", "SEC 1 without a curve");
	sshx_buf_free(pem);
	sshx_buf_free(der);

	sshx_buf_free(body);
	sshx_key_free(orig);
	sshx_buf_free(blob);
}
END_TEST

/* ---- Ed25519 test vectors (RFC 8032 section 7.1) ---- */

static const struct {
	const char *seed, *pk, *msg, *sig;
} rfc8032[] = {
	{ "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
	  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	  "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" },
	{ "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
	  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	  "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
	{ "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
	  "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
	  "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
	  "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a" },
};

/* Decodes hex into out; returns the byte count. */
static size_t
unhex(const char *s, uint8_t *out)
{
	size_t i, n = strlen(s) / 2;
	unsigned int v;

	for (i = 0; i < n; i++) {
		ck_assert_int_eq(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

START_TEST(pkcs8_ed25519_vector_gives_the_rfc8032_public_key_and_signature)
{
	uint8_t seed[32], pk[32], msg[2], sig[64];
	size_t msglen;
	struct sshx_buf *der, *pem, *s = sshx_buf_new();
	struct sshx_key *k;
	const uint8_t *blob, *sp;
	size_t bloblen, splen;

	unhex(rfc8032[_i].seed, seed);
	unhex(rfc8032[_i].pk, pk);
	msglen = unhex(rfc8032[_i].msg, msg);
	unhex(rfc8032[_i].sig, sig);
	der = ed25519_pkcs8(seed, sizeof(seed), NULL);
	pem = pem_wrap("PRIVATE KEY", sshx_buf_ptr(der), sshx_buf_len(der));
	k = import_ok(sshx_buf_ptr(pem), sshx_buf_len(pem), NULL, rfc8032[_i].seed);
	blob = sshx_key_blob(k, &bloblen);
	ck_assert_msg(bloblen == 51 && memcmp(blob + 19, pk, 32) == 0,
	    "vector %d: expected public key %s, got another", _i + 1, rfc8032[_i].pk);
	ck_assert_int_eq(sshx_key_sign(k, msg, msglen, 0, s), 0);
	ck_assert_int_eq(sshx_buf_get_string_direct(s, NULL, NULL), 0);
	ck_assert_int_eq(sshx_buf_get_string_direct(s, &sp, &splen), 0);
	ck_assert_msg(splen == 64 && memcmp(sp, sig, 64) == 0,
	    "vector %d: expected signature %s, got another", _i + 1, rfc8032[_i].sig);
	sshx_key_free(k);
	sshx_buf_free(pem);
	sshx_buf_free(der);
	sshx_buf_free(s);
}
END_TEST

START_TEST(pkcs8_v2_public_key_must_match_the_seed)
{
	uint8_t seed[32], pk[32];
	struct sshx_buf *der, *pem;
	struct sshx_key *k;

	unhex(rfc8032[0].seed, seed);
	unhex(rfc8032[0].pk, pk);
	der = ed25519_pkcs8(seed, sizeof(seed), pk);
	pem = pem_wrap("PRIVATE KEY", sshx_buf_ptr(der), sshx_buf_len(der));
	k = import_ok(sshx_buf_ptr(pem), sshx_buf_len(pem), NULL, "v2 with its public key");
	sshx_key_free(k);
	sshx_buf_free(pem);
	sshx_buf_free(der);

	pk[31] ^= 1;
	der = ed25519_pkcs8(seed, sizeof(seed), pk);
	pem = pem_wrap("PRIVATE KEY", sshx_buf_ptr(der), sshx_buf_len(der));
	expect_error(sshx_buf_ptr(pem), sshx_buf_len(pem), SSHX_ERR_KEY_INVALID,
	    "does not match", "v2 with another public key");
	sshx_buf_free(pem);
	sshx_buf_free(der);
}
END_TEST

/* ---- Strict DER ---- */

/* Wraps hand-written DER as a "PRIVATE KEY" file and expects want. */
static void
expect_der(const uint8_t *der, size_t len, int want, const char *has, const char *what)
{
	struct sshx_buf *pem = pem_wrap("PRIVATE KEY", der, len);

	expect_error(sshx_buf_ptr(pem), sshx_buf_len(pem), want, has, what);
	sshx_buf_free(pem);
}

/* The RFC 8032 first seed as PKCS #8, to be damaged in one place at a time. */
#define P8_SEED \
	0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, \
	0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, \
	0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60
#define P8_TAIL	0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20, P8_SEED

START_TEST(strict_der_accepts_the_reference_encoding)
{
	static const uint8_t good[] = { 0x30, 0x2e, 0x02, 0x01, 0x00, P8_TAIL };
	struct sshx_buf *pem = pem_wrap("PRIVATE KEY", good, sizeof(good));
	struct sshx_key *k;

	k = import_ok(sshx_buf_ptr(pem), sshx_buf_len(pem), NULL, "reference PKCS #8");
	sshx_key_free(k);
	sshx_buf_free(pem);
}
END_TEST

START_TEST(strict_der_rejects_non_minimal_and_indefinite_lengths)
{
	static const uint8_t long_form[] = { 0x30, 0x81, 0x2e, 0x02, 0x01, 0x00, P8_TAIL };
	static const uint8_t five_bytes[] = { 0x30, 0x85, 0x00, 0x00, 0x00, 0x00, 0x2e,
	    0x02, 0x01, 0x00, P8_TAIL };
	static const uint8_t indefinite[] = { 0x30, 0x80, 0x02, 0x01, 0x00, P8_TAIL,
	    0x00, 0x00 };
	static const uint8_t too_long[] = { 0x30, 0x2f, 0x02, 0x01, 0x00, P8_TAIL };
	static const uint8_t huge[] = { 0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x02, 0x01,
	    0x00, P8_TAIL };

	expect_der(long_form, sizeof(long_form), SSHX_ERR_INVALID_FORMAT, "DER",
	    "long form for a short length");
	expect_der(five_bytes, sizeof(five_bytes), SSHX_ERR_INVALID_FORMAT, "DER",
	    "five length bytes");
	expect_der(indefinite, sizeof(indefinite), SSHX_ERR_INVALID_FORMAT, "DER",
	    "indefinite length");
	expect_der(too_long, sizeof(too_long), SSHX_ERR_INVALID_FORMAT, "DER",
	    "length past the end");
	expect_der(huge, sizeof(huge), SSHX_ERR_INVALID_FORMAT, "DER",
	    "four-gigabyte length");
}
END_TEST

START_TEST(strict_der_rejects_bad_integers_and_trailing_bytes)
{
	static const uint8_t padded_int[] = { 0x30, 0x2f, 0x02, 0x02, 0x00, 0x00, P8_TAIL };
	static const uint8_t negative[] = { 0x30, 0x2e, 0x02, 0x01, 0xff, P8_TAIL };
	static const uint8_t empty_int[] = { 0x30, 0x2d, 0x02, 0x00, P8_TAIL };
	static const uint8_t version2[] = { 0x30, 0x2e, 0x02, 0x01, 0x02, P8_TAIL };
	static const uint8_t trailing[] = { 0x30, 0x2e, 0x02, 0x01, 0x00, P8_TAIL, 0x00 };
	static const uint8_t inner_trailing[] = { 0x30, 0x2f, 0x02, 0x01, 0x00, 0x30, 0x05,
	    0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x23, 0x04, 0x20, P8_SEED, 0x00 };

	expect_der(padded_int, sizeof(padded_int), SSHX_ERR_INVALID_FORMAT, NULL,
	    "non-minimal INTEGER");
	expect_der(negative, sizeof(negative), SSHX_ERR_INVALID_FORMAT, NULL,
	    "negative INTEGER");
	expect_der(empty_int, sizeof(empty_int), SSHX_ERR_INVALID_FORMAT, NULL,
	    "empty INTEGER");
	expect_der(version2, sizeof(version2), SSHX_ERR_INVALID_FORMAT, "version",
	    "PKCS #8 version INTEGER 2");
	expect_der(trailing, sizeof(trailing), SSHX_ERR_INVALID_FORMAT, NULL,
	    "a byte after the SEQUENCE");
	expect_der(inner_trailing, sizeof(inner_trailing), SSHX_ERR_INVALID_FORMAT, NULL,
	    "a byte after the inner OCTET STRING");
}
END_TEST

START_TEST(unsupported_algorithms_and_bad_ed25519_keys_are_named)
{
	static const uint8_t ed448[] = { 0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
	    0x03, 0x2b, 0x65, 0x71, 0x04, 0x22, 0x04, 0x20, P8_SEED };
	static const uint8_t params[] = { 0x30, 0x30, 0x02, 0x01, 0x00, 0x30, 0x07, 0x06,
	    0x03, 0x2b, 0x65, 0x70, 0x05, 0x00, 0x04, 0x22, 0x04, 0x20, P8_SEED };
	static const uint8_t bad_curve[] = { 0x30, 0x1d, 0x02, 0x01, 0x00, 0x30, 0x0e,
	    0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,	/* id-ecPublicKey */
	    0x06, 0x03, 0x2b, 0x81, 0x04,				/* 1.3.132 */
	    0x04, 0x08, 0x30, 0x06, 0x02, 0x01, 0x01, 0x04, 0x01, 0x01 };

	expect_der(ed448, sizeof(ed448), SSHX_ERR_KEY_TYPE_UNKNOWN, "1.3.101.113", "Ed448");
	expect_der(params, sizeof(params), SSHX_ERR_INVALID_FORMAT, NULL,
	    "Ed25519 with parameters");
	static const uint8_t seed[31] = { 1 };
	struct sshx_buf *der;

	expect_der(bad_curve, sizeof(bad_curve), SSHX_ERR_KEY_TYPE_UNKNOWN, "1.3.132",
	    "unknown curve");
	der = ed25519_pkcs8(seed, sizeof(seed), NULL);
	expect_der(sshx_buf_ptr(der), sshx_buf_len(der), SSHX_ERR_INVALID_FORMAT,
	    "31 bytes", "31-byte Ed25519 seed");
	sshx_buf_free(der);
}
END_TEST

START_TEST(integers_over_16384_bits_are_refused)
{
	struct sshx_buf *der = sshx_buf_new(), *seq = sshx_buf_new(), *pem;
	uint8_t *big, zero = 0;
	int i;

	big = calloc(1, 2049);
	ck_assert_ptr_nonnull(big);
	big[1] = 0xff;	/* 16384 bits after the zero sign byte... */
	der_put(seq, 0x02, &zero, 1);
	der_put(seq, 0x02, big, 2049);
	for (i = 0; i < 7; i++)
		der_put(seq, 0x02, "\x01", 1);
	big[0] = 1;	/* ...and one over it */
	der_wrap(der, 0x30, seq);
	pem = pem_wrap("RSA PRIVATE KEY", sshx_buf_ptr(der), sshx_buf_len(der));
	/* 16384 bits fit the DER reader; the RSA rules then fail the key. */
	expect_error(sshx_buf_ptr(pem), sshx_buf_len(pem), SSHX_ERR_KEY_INVALID, NULL,
	    "16384-bit n with nonsense around it");
	sshx_buf_free(pem);
	sshx_buf_free(der);

	der = sshx_buf_new();
	seq = sshx_buf_new();
	der_put(seq, 0x02, &zero, 1);
	der_put(seq, 0x02, big, 2049);
	for (i = 0; i < 7; i++)
		der_put(seq, 0x02, "\x01", 1);
	der_wrap(der, 0x30, seq);
	pem = pem_wrap("RSA PRIVATE KEY", sshx_buf_ptr(der), sshx_buf_len(der));
	expect_error(sshx_buf_ptr(pem), sshx_buf_len(pem), SSHX_ERR_LIMIT, "larger",
	    "16385-bit n");
	sshx_buf_free(pem);
	sshx_buf_free(der);
	free(big);
}
END_TEST

/* ---- Files that are not keys ---- */

START_TEST(garbage_and_empty_input_are_not_private_keys)
{
	static const char text[] = "hello, world\n";
	uint8_t noise[300];
	size_t i;

	for (i = 0; i < sizeof(noise); i++)
		noise[i] = (uint8_t)(i * 167 + 13);
	expect_text("", SSHX_ERR_INVALID_FORMAT, "not a private key", "empty input");
	expect_text(text, SSHX_ERR_INVALID_FORMAT, "not a private key", "text");
	expect_error(noise, sizeof(noise), SSHX_ERR_INVALID_FORMAT, NULL, "noise");
	expect_text("-----BEGIN OPENSSH PRIVATE KEY-----\n", SSHX_ERR_INVALID_FORMAT,
	    "END", "BEGIN line only");
	expect_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
	    SSHX_ERR_INVALID_FORMAT, "does not match", "END line of another type");
	expect_text("-----BEGIN PRIVATE KEY-----\nAA*A\n-----END PRIVATE KEY-----\n",
	    SSHX_ERR_INVALID_FORMAT, "base64", "a character outside base64");
	expect_text("-----BEGIN PRIVATE KEY-----\nAA==AAAA\n-----END PRIVATE KEY-----\n",
	    SSHX_ERR_INVALID_FORMAT, "base64", "data after base64 padding");
	expect_text("-----BEGIN PRIVATE KEY-----\nAAA\n-----END PRIVATE KEY-----\n",
	    SSHX_ERR_INVALID_FORMAT, "base64", "base64 cut short");
}
END_TEST

START_TEST(unsupported_pem_types_are_named_safely)
{
	static const char cert[] = "-----BEGIN CERTIFICATE-----\nMAA=\n"
	    "-----END CERTIFICATE-----\n";
	static const char odd[] = "-----BEGIN \x1b[31mX-----\nMAA=\n"
	    "-----END \x1b[31mX-----\n";
	struct sshx_key *k = NULL;
	char *c = NULL, why[WHY_LEN];

	expect_text(cert, SSHX_ERR_INVALID_FORMAT, "unsupported PEM type \"CERTIFICATE\"",
	    "a certificate");
	ck_assert_int_eq(try_import((const uint8_t *)odd, strlen(odd), &k, &c, why),
	    SSHX_ERR_INVALID_FORMAT);
	ck_assert_msg(strchr(why, '\x1b') == NULL,
	    "expected control characters kept out of the reason, got \"%s\"", why);
}
END_TEST

START_TEST(pem_encryption_header_means_encrypted)
{
	static const char f[] = "-----BEGIN RSA PRIVATE KEY-----\n"
	    "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00000000000000000000000000000000\n"
	    "\nMAA=\n-----END RSA PRIVATE KEY-----\n";
	static const char unended[] = "-----BEGIN RSA PRIVATE KEY-----\n"
	    "Comment: no blank line\nMAA=\n-----END RSA PRIVATE KEY-----\n";

	expect_text(f, SSHX_ERR_KEY_ENCRYPTED, "passphrase", "Proc-Type ENCRYPTED");
	expect_text(unended, SSHX_ERR_INVALID_FORMAT, "blank line",
	    "headers without a blank line");
}
END_TEST

START_TEST(oversized_input_is_refused)
{
	static const char begin[] = "-----BEGIN PRIVATE KEY-----\n";
	size_t len = 1024 * 1024 + 1, i;
	uint8_t *d = malloc(len);

	ck_assert_ptr_nonnull(d);
	memset(d, 'A', len);
	expect_error(d, len, SSHX_ERR_LIMIT, "1024 KiB", "1 MiB and a byte");
	/* Under the file limit, but more key than any key needs. */
	len = 200 * 1024;
	memcpy(d, begin, strlen(begin));
	for (i = 64 + strlen(begin); i < len; i += 65)
		d[i] = '\n';
	memcpy(d + len - 26, "\n-----END PRIVATE KEY-----", 26);
	expect_error(d, len, SSHX_ERR_LIMIT, "larger", "150 KiB of base64");
	free(d);
}
END_TEST

START_TEST(why_may_be_left_out)
{
	struct sshx_key *k = NULL;
	char *c = NULL;

	ck_assert_int_eq(sshx_import_private((const uint8_t *)"x", 1, &k, &c, NULL, 0),
	    SSHX_ERR_INVALID_FORMAT);
	ck_assert_int_eq(sshx_import_private(NULL, 0, NULL, &c, NULL, 0),
	    SSHX_ERR_INVALID_ARGUMENT);
}
END_TEST

static Suite *
import_suite(void)
{
	Suite *s = suite_create("import");
	TCase *files = tcase_create("ssh-keygen files");
	TCase *crafted = tcase_create("crafted files");

	/* Keys are made once in the parent; each test runs in its own child. */
	tcase_add_unchecked_fixture(files, make_keys, remove_keys);
	tcase_set_timeout(files, 300);
	tcase_add_loop_test(files, openssh_format_imports_with_comment_public_key_and_signatures,
	    0, NKINDS);
	tcase_add_loop_test(files, pem_pkcs1_and_sec1_import_to_the_same_key, 0, NKINDS);
	tcase_add_loop_test(files, pkcs8_imports_to_the_same_key, 0, NKINDS);
	tcase_add_test(files, pkcs8_ed25519_from_openssl_has_openssl_public_key);
	tcase_add_loop_test(files, ec_key_without_public_point_gets_it_computed, 0, 3);
	tcase_add_test(files, encrypted_files_are_reported_as_encrypted);
	tcase_add_test(files, dsa_keys_are_refused_in_every_format);
	tcase_add_test(files, public_key_file_is_not_a_private_key);
	tcase_add_test(files, every_truncation_of_an_openssh_file_fails_cleanly);
	tcase_add_test(files, every_truncation_of_decoded_contents_fails_cleanly);
	tcase_add_test(files, every_flipped_character_of_an_openssh_file_fails_cleanly);
	tcase_add_test(files, every_flipped_decoded_byte_fails_cleanly_or_keeps_the_key);
	tcase_add_test(files, bad_padding_bytes_are_rejected);
	tcase_add_test(files, unequal_check_numbers_are_rejected);
	tcase_add_test(files, header_key_not_matching_the_private_key_is_invalid);
	tcase_add_test(files, crlf_and_text_around_the_block_are_accepted);
	tcase_add_test(files, openssh_container_fields_are_checked);
	suite_add_tcase(s, files);

	tcase_set_timeout(crafted, 60);
	tcase_add_loop_test(crafted, pkcs8_ed25519_vector_gives_the_rfc8032_public_key_and_signature,
	    0, 3);
	tcase_add_test(crafted, pkcs8_v2_public_key_must_match_the_seed);
	tcase_add_test(crafted, unknown_key_type_in_openssh_file_is_named);
	tcase_add_test(crafted, strict_der_accepts_the_reference_encoding);
	tcase_add_test(crafted, strict_der_rejects_non_minimal_and_indefinite_lengths);
	tcase_add_test(crafted, strict_der_rejects_bad_integers_and_trailing_bytes);
	tcase_add_test(crafted, unsupported_algorithms_and_bad_ed25519_keys_are_named);
	tcase_add_test(crafted, integers_over_16384_bits_are_refused);
	tcase_add_test(crafted, garbage_and_empty_input_are_not_private_keys);
	tcase_add_test(crafted, unsupported_pem_types_are_named_safely);
	tcase_add_test(crafted, pem_encryption_header_means_encrypted);
	tcase_add_test(crafted, oversized_input_is_refused);
	tcase_add_test(crafted, why_may_be_left_out);
	suite_add_tcase(s, crafted);
	return s;
}

int
main(void)
{
	return sshx_run_suite(import_suite());
}
