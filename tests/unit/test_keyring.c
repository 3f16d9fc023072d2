/*
 * Unit tests of lib/keyring.c: the file format as doc/keyring-format.md
 * describes it, round trips of every key type, every kind of damage told
 * apart from a wrong passphrase without touching the file, reload with the
 * cached key, names, states and rotation links.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <gcrypt.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "key.h"
#include "keyring.h"
#include "tap.h"

/* Offsets of the version 1 layout, as doc/keyring-format.md gives them. */
#define OFF_VERSION	8
#define OFF_KDF_ID	12
#define OFF_T		13
#define OFF_M		17
#define OFF_P		21
#define OFF_SALT	25	/* uint32 32, then 32 bytes */
#define OFF_NONCE	61	/* uint32 12, then 12 bytes */
#define OFF_CHECK	77	/* uint32 32, then 32 bytes */
#define OFF_DIGEST	113
#define OFF_BODYLEN	145
#define OFF_BODY	149
#define TAG_LEN		16

#define TEST_RSA_BITS	2048
#define SLOW_TIMEOUT	600

static const uint8_t pass[] = "correct horse battery staple";
#define PASSLEN		(sizeof(pass) - 1)
static const uint8_t other_pass[] = "Tr0ub4dor&3";
#define OTHER_PASSLEN	(sizeof(other_pass) - 1)
static const struct sshx_kdf_params cheap = { 1, 8192, 1 };
static const uint8_t test_data[] = "sshx keyring: data to be signed";

static const enum sshx_key_type all_types[] = {
	SSHX_KEY_ED25519,
	SSHX_KEY_ECDSA_P256,
	SSHX_KEY_ECDSA_P384,
	SSHX_KEY_ECDSA_P521,
	SSHX_KEY_RSA,
};
#define N_TYPES	(sizeof(all_types) / sizeof(all_types[0]))

/* The test's private directory and the keyring path inside it. */
static char dir[64];
static char path[128];

/* ---- Fixtures and helpers ---- */

static void
setup(void)
{
	sshx_test_lsan_secmem();
	snprintf(dir, sizeof(dir), "/tmp/sshx-kr.XXXXXX");
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/keyring", dir);
}

/* Removes the test directory and everything in it. */
static void
teardown(void)
{
	char p[512];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

/* Returns the number of entries in the test directory. */
static int
dir_entries(void)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	ck_assert_ptr_nonnull(d = opendir(dir));
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Reads a whole file into a new allocation. */
static uint8_t *
read_all(const char *p, size_t *lenp)
{
	struct stat st;
	uint8_t *d;
	int fd;

	ck_assert_msg((fd = open(p, O_RDONLY | O_NOFOLLOW)) >= 0, "open %s: %s",
	    p, strerror(errno));
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_ptr_nonnull(d = malloc(st.st_size + 1));
	ck_assert_msg(read(fd, d, st.st_size) == st.st_size, "short read of %s", p);
	close(fd);
	*lenp = (size_t)st.st_size;
	return d;
}

/* Replaces the contents of a file with len bytes, mode 0600. */
static void
write_all(const char *p, const uint8_t *d, size_t len)
{
	int fd;

	ck_assert_msg((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW,
	    0600)) >= 0, "open %s: %s", p, strerror(errno));
	ck_assert_int_eq(fchmod(fd, 0600), 0);
	ck_assert_msg(len == 0 || write(fd, d, len) == (ssize_t)len,
	    "short write to %s", p);
	close(fd);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Recomputes the header digest of a version 1 layout after an edit. */
static void
redigest(uint8_t *d)
{
	gcry_md_hash_buffer(GCRY_MD_SHA256, d + OFF_DIGEST, d, OFF_DIGEST);
}

static struct sshx_key *
gen(enum sshx_key_type t)
{
	struct sshx_key *k = NULL;

	ck_ok(sshx_key_generate(t, t == SSHX_KEY_RSA ? TEST_RSA_BITS : 0, &k));
	return k;
}

/* Returns a public-only copy of key, kept to check what the keyring gives back. */
static struct sshx_key *
public_copy(const struct sshx_key *key)
{
	struct sshx_key *pub = NULL;
	const uint8_t *blob;
	size_t len;

	blob = sshx_key_blob(key, &len);
	ck_ok(sshx_key_from_blob(blob, len, &pub));
	return pub;
}

/* Creates a keyring with cheap KDF parameters and n new Ed25519 keys, saved at path. */
static struct sshx_keyring *
make_saved(int n)
{
	struct sshx_keyring *kr = NULL;
	char name[32];
	int i;

	ck_ok(sshx_keyring_create(pass, PASSLEN, &cheap, &kr));
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "k%d", i + 1);
		ck_ok(sshx_keyring_add(kr, gen(SSHX_KEY_ED25519), name, "test key"));
	}
	ck_ok(sshx_keyring_save(kr, path, NULL, 0));
	return kr;
}

/*
 * Loads path expecting the error want, with why mentioning what (if not
 * NULL), and checks that neither the file nor the directory changed.
 */
static void
expect_load(const uint8_t *pw, size_t pwlen, int want, const char *what,
    const char *label)
{
	struct sshx_keyring *kr = NULL;
	uint8_t *before = NULL, *after = NULL;
	size_t blen = 0, alen = 0;
	char why[256] = "";
	int r, entries = dir_entries(), exists;
	struct stat st;

	exists = lstat(path, &st) == 0 && S_ISREG(st.st_mode);
	if (exists)
		before = read_all(path, &blen);
	r = sshx_keyring_load(path, pw, pwlen, &kr, why, sizeof(why));
	ck_assert_msg(r == want, "%s: expected %s, got %s (%s)", label,
	    sshx_strerror(want), sshx_strerror(r), why);
	ck_assert_msg(kr == NULL, "%s: a keyring came back with an error", label);
	ck_assert_msg(why[0] != '\0', "%s: expected an explanation in why", label);
	if (what != NULL)
		ck_assert_msg(strstr(why, what) != NULL, "%s: expected why to "
		    "mention \"%s\", got \"%s\"", label, what, why);
	if (exists) {
		after = read_all(path, &alen);
		ck_assert_msg(alen == blen && memcmp(before, after, blen) == 0,
		    "%s: the file changed during a failed load", label);
	}
	ck_assert_msg(dir_entries() == entries, "%s: expected %d directory "
	    "entries after the load, got %d", label, entries, dir_entries());
	free(before);
	free(after);
}

/* Derives the 64 bytes of a saved file's key with libgcrypt directly. */
static void
derive_for_file(const uint8_t *d, const uint8_t *pw, size_t pwlen,
    uint8_t out[64])
{
	unsigned long params[4] = { 64, get32(d + OFF_T), get32(d + OFF_M),
	    get32(d + OFF_P) };
	gcry_kdf_hd_t hd;

	ck_assert_int_eq(gcry_kdf_open(&hd, GCRY_KDF_ARGON2, GCRY_KDF_ARGON2ID,
	    params, 4, pw, pwlen, d + OFF_SALT + 4, 32, NULL, 0, NULL, 0), 0);
	ck_assert_int_eq(gcry_kdf_compute(hd, NULL), 0);
	ck_assert_int_eq(gcry_kdf_final(hd, 64, out), 0);
	gcry_kdf_close(hd);
}

/* Runs AES-256-GCM with the file's header as AAD; returns 0 or the libgcrypt error. */
static gcry_error_t
gcm(const uint8_t *key, const uint8_t *hdr, const uint8_t *in, uint8_t *out,
    size_t len, uint8_t *tag, int encrypt)
{
	gcry_cipher_hd_t hd;
	gcry_error_t e;

	ck_assert_int_eq(gcry_cipher_open(&hd, GCRY_CIPHER_AES256,
	    GCRY_CIPHER_MODE_GCM, 0), 0);
	ck_assert_int_eq(gcry_cipher_setkey(hd, key, 32), 0);
	ck_assert_int_eq(gcry_cipher_setiv(hd, hdr + OFF_NONCE + 4, 12), 0);
	ck_assert_int_eq(gcry_cipher_authenticate(hd, hdr, OFF_BODYLEN), 0);
	if (encrypt) {
		ck_assert_int_eq(gcry_cipher_encrypt(hd, out, len, in, len), 0);
		e = gcry_cipher_gettag(hd, tag, TAG_LEN);
	} else {
		ck_assert_int_eq(gcry_cipher_decrypt(hd, out, len, in, len), 0);
		e = gcry_cipher_checktag(hd, tag, TAG_LEN);
	}
	gcry_cipher_close(hd);
	return e;
}

/*
 * Rewrites the keyring at path with the same header and key but body as its
 * plaintext, the way a writer that made this body would have sealed it.
 */
static void
reseal_body(const struct sshx_buf *body)
{
	uint8_t key[64], *d, *nd;
	size_t len, blen = sshx_buf_len(body);

	d = read_all(path, &len);
	derive_for_file(d, pass, PASSLEN, key);
	ck_assert_ptr_nonnull(nd = malloc(OFF_BODY + blen + TAG_LEN));
	memcpy(nd, d, OFF_BODYLEN);
	put32(nd + OFF_BODYLEN, (uint32_t)blen);
	ck_assert_int_eq(gcm(key, nd, sshx_buf_ptr(body), nd + OFF_BODY, blen,
	    nd + OFF_BODY + blen, 1), 0);
	write_all(path, nd, OFF_BODY + blen + TAG_LEN);
	free(d);
	free(nd);
}

/*
 * Appends one record in the documented body layout, with the private key
 * (private) or the public blob only.
 */
static void
put_record_as(struct sshx_buf *b, const char *name, uint8_t state,
    const struct sshx_key *key, int private)
{
	struct sshx_buf *kb = sshx_buf_new_secure();

	ck_assert_ptr_nonnull(kb);
	ck_ok(sshx_buf_put_cstring(b, name));
	ck_ok(sshx_buf_put_cstring(b, "comment"));
	ck_ok(sshx_buf_put_u64(b, 1700000000));
	ck_ok(sshx_buf_put_u8(b, state));
	ck_ok(sshx_buf_put_u64(b, 0));
	ck_ok(sshx_buf_put_cstring(b, ""));
	ck_ok(sshx_buf_put_cstring(b, ""));
	if (!private) {
		const uint8_t *blob;
		size_t len;

		blob = sshx_key_blob(key, &len);
		ck_ok(sshx_buf_put_string(b, blob, len));
	} else {
		ck_ok(sshx_key_put_private(key, kb));
		ck_ok(sshx_buf_put_stringb(b, kb));
	}
	sshx_buf_free(kb);
}

/* Appends one record as the format wants it: retired records public only. */
static void
put_record(struct sshx_buf *b, const char *name, uint8_t state,
    const struct sshx_key *key)
{
	put_record_as(b, name, state, key, state != SSHX_KEYSTATE_RETIRED);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- argon2id ---- */

START_TEST(test_argon2id_rfc9106_vector)
{
	/* RFC 9106 section 5.3: secret and associated data go in as key and ad. */
	static const uint8_t want[32] = {
		0x0d, 0x64, 0x0d, 0xf5, 0x8d, 0x78, 0x76, 0x6c,
		0x08, 0xc0, 0x37, 0xa3, 0x4a, 0x8b, 0x53, 0xc9,
		0xd0, 0x1e, 0xf0, 0x45, 0x2d, 0x75, 0xb6, 0x5e,
		0xb5, 0x25, 0x20, 0xe9, 0x6b, 0x01, 0xe6, 0x59,
	};
	unsigned long params[4] = { 32, 3, 32, 4 };
	uint8_t pw[32], salt[16], secret[8], ad[12], out[32];
	gcry_kdf_hd_t hd;

	memset(pw, 0x01, sizeof(pw));
	memset(salt, 0x02, sizeof(salt));
	memset(secret, 0x03, sizeof(secret));
	memset(ad, 0x04, sizeof(ad));
	ck_assert_int_eq(gcry_kdf_open(&hd, GCRY_KDF_ARGON2, GCRY_KDF_ARGON2ID,
	    params, 4, pw, sizeof(pw), salt, sizeof(salt), secret,
	    sizeof(secret), ad, sizeof(ad)), 0);
	ck_assert_int_eq(gcry_kdf_compute(hd, NULL), 0);
	ck_assert_int_eq(gcry_kdf_final(hd, sizeof(out), out), 0);
	gcry_kdf_close(hd);
	ck_assert_msg(memcmp(out, want, sizeof(want)) == 0,
	    "expected the RFC 9106 argon2id tag 0d640df5..., got %02x%02x%02x%02x...",
	    out[0], out[1], out[2], out[3]);
}
END_TEST

START_TEST(test_argon2id_keyring_derivation_matches_reference)
{
	/*
	 * The derivation the keyring uses (no secret, no ad, 64 bytes), checked
	 * against the reference implementation's argon2 command:
	 * printf %s 'correct horse battery staple' |
	 *   argon2 'sshx keyring salt, 32 bytes long' -id -t 1 -k 8192 -p 1 -l 64 -r
	 */
	static const char want[] =
	    "0641afb24ea0ea875590ba72cef2893feeb4a9517972dc6b36abe212aa3b3a66"
	    "6fc9ee554383bfec9c83a7e7fb52332b28589eeaa549d5fd12881a6d45ecbc15";
	static const uint8_t salt[] = "sshx keyring salt, 32 bytes long";
	struct sshx_argon2_params a = { 1, 8192, 1 };
	uint8_t *out;
	char hex[129];
	int i;

	ck_assert_ptr_nonnull(out = gcry_malloc_secure(64));
	ck_ok(sshx_crypto_argon2id(pass, PASSLEN, salt, sizeof(salt) - 1, &a,
	    out, 64));
	for (i = 0; i < 64; i++)
		snprintf(hex + 2 * i, 3, "%02x", out[i]);
	gcry_free(out);
	ck_assert_msg(strcmp(hex, want) == 0, "expected %s, got %s", want, hex);
}
END_TEST

/* ---- The file format ---- */

START_TEST(test_file_layout_matches_format_document)
{
	static const char label[] = "sshx keyring check v1";
	struct sshx_keyring *kr = NULL;
	struct sshx_key *k = gen(SSHX_KEY_ED25519), *pub = public_copy(k), *got = NULL;
	struct sshx_buf *b = NULL, *kb = NULL;
	uint8_t *d, key[64], digest[32], *plain, state;
	const uint8_t *s;
	size_t len, slen;
	uint32_t count;
	uint64_t created, retire;
	gcry_md_hd_t h;

	ck_ok(sshx_keyring_create(pass, PASSLEN, &cheap, &kr));
	ck_ok(sshx_keyring_add(kr, k, "alpha", "a comment"));
	ck_ok(sshx_keyring_set_state(kr, "alpha", SSHX_KEYSTATE_RETIRING, 1234,
	    "old", "new"));
	ck_ok(sshx_keyring_save(kr, path, NULL, 0));
	d = read_all(path, &len);

	ck_assert_msg(memcmp(d, "SSHXKRNG", 8) == 0, "expected the magic SSHXKRNG");
	ck_assert_uint_eq(get32(d + OFF_VERSION), 1);
	ck_assert_uint_eq(d[OFF_KDF_ID], 1);
	ck_assert_uint_eq(get32(d + OFF_T), 1);
	ck_assert_uint_eq(get32(d + OFF_M), 8192);
	ck_assert_uint_eq(get32(d + OFF_P), 1);
	ck_assert_uint_eq(get32(d + OFF_SALT), 32);
	ck_assert_uint_eq(get32(d + OFF_NONCE), 12);
	ck_assert_uint_eq(get32(d + OFF_CHECK), 32);
	gcry_md_hash_buffer(GCRY_MD_SHA256, digest, d, OFF_DIGEST);
	ck_assert_msg(memcmp(digest, d + OFF_DIGEST, 32) == 0,
	    "expected the header digest to be SHA-256 of bytes 0..112");
	ck_assert_msg(len == OFF_BODY + get32(d + OFF_BODYLEN) + TAG_LEN,
	    "expected %u body bytes and a tag to end the file, file is %zu bytes",
	    get32(d + OFF_BODYLEN), len);

	/* check = HMAC-SHA256(last 32 derived bytes, label) */
	derive_for_file(d, pass, PASSLEN, key);
	ck_assert_int_eq(gcry_md_open(&h, GCRY_MD_SHA256, GCRY_MD_FLAG_HMAC), 0);
	ck_assert_int_eq(gcry_md_setkey(h, key + 32, 32), 0);
	gcry_md_write(h, label, sizeof(label) - 1);
	ck_assert_msg(memcmp(gcry_md_read(h, 0), d + OFF_CHECK + 4, 32) == 0,
	    "expected check = HMAC-SHA256(check key, \"%s\")", label);
	gcry_md_close(h);

	/* The body decrypts under the first 32 bytes with the header as AAD. */
	len = get32(d + OFF_BODYLEN);
	ck_assert_ptr_nonnull(plain = gcry_malloc_secure(len));
	ck_assert_int_eq(gcm(key, d, d + OFF_BODY, plain, len, d + OFF_BODY + len,
	    0), 0);
	ck_assert_ptr_nonnull(b = sshx_buf_from(plain, len));
	ck_ok(sshx_buf_get_u32(b, &count));
	ck_assert_uint_eq(count, 1);
	ck_ok(sshx_buf_get_string_direct(b, &s, &slen));
	ck_assert_msg(slen == 5 && memcmp(s, "alpha", 5) == 0, "expected name alpha");
	ck_ok(sshx_buf_get_string_direct(b, &s, &slen));
	ck_assert_msg(slen == 9 && memcmp(s, "a comment", 9) == 0,
	    "expected the comment");
	ck_ok(sshx_buf_get_u64(b, &created));
	ck_assert_msg(created == sshx_keyring_at(kr, 0)->created,
	    "expected created %" PRIu64 ", got %" PRIu64,
	    sshx_keyring_at(kr, 0)->created, created);
	ck_ok(sshx_buf_get_u8(b, &state));
	ck_assert_uint_eq(state, SSHX_KEYSTATE_RETIRING);
	ck_ok(sshx_buf_get_u64(b, &retire));
	ck_assert_uint_eq(retire, 1234);
	ck_ok(sshx_buf_get_string_direct(b, &s, &slen));
	ck_assert_msg(slen == 3 && memcmp(s, "old", 3) == 0, "expected predecessor old");
	ck_ok(sshx_buf_get_string_direct(b, &s, &slen));
	ck_assert_msg(slen == 3 && memcmp(s, "new", 3) == 0, "expected successor new");
	ck_ok(sshx_buf_get_string_direct(b, &s, &slen));
	ck_assert_ptr_nonnull(kb = sshx_buf_from(s, slen));
	ck_ok(sshx_key_parse_private(kb, &got));
	ck_assert_msg(sshx_buf_len(kb) == 0 && sshx_buf_len(b) == 0,
	    "expected nothing after the key string and the record");
	ck_assert_msg(sshx_key_equal_public(got, pub), "expected the same key");

	explicit_bzero(key, sizeof(key));
	explicit_bzero(plain, len);
	gcry_free(plain);
	sshx_buf_free(b);
	sshx_buf_free(kb);
	sshx_key_free(got);
	sshx_key_free(pub);
	sshx_keyring_free(kr);
	free(d);
}
END_TEST

START_TEST(test_every_save_draws_a_fresh_nonce)
{
	struct sshx_keyring *kr = make_saved(1);
	uint8_t *a, *b;
	size_t alen, blen;

	a = read_all(path, &alen);
	ck_ok(sshx_keyring_save(kr, path, NULL, 0));
	b = read_all(path, &blen);
	ck_assert_msg(memcmp(a + OFF_SALT, b + OFF_SALT, 36) == 0,
	    "expected the salt to stay the same across saves");
	ck_assert_msg(memcmp(a + OFF_NONCE, b + OFF_NONCE, 16) != 0,
	    "expected a different nonce on each save");
	free(a);
	free(b);
	sshx_keyring_free(kr);
}
END_TEST

/* ---- Round trips ---- */

START_TEST(test_round_trip_every_key_type)
{
	struct sshx_keyring *kr = NULL, *lr = NULL;
	struct sshx_key *pubs[N_TYPES];
	const struct sshx_keyring_entry *e, *le;
	struct sshx_buf *sig;
	char name[32], comment[64];
	size_t i;

	ck_ok(sshx_keyring_create(pass, PASSLEN, &cheap, &kr));
	for (i = 0; i < N_TYPES; i++) {
		struct sshx_key *k = gen(all_types[i]);

		pubs[i] = public_copy(k);
		snprintf(name, sizeof(name), "%s-%zu",
		    sshx_key_type_name(all_types[i]), i);
		snprintf(comment, sizeof(comment), "user@host key %zu", i);
		ck_ok(sshx_keyring_add(kr, k, name, comment));
	}
	ck_ok(sshx_keyring_set_state(kr, "ssh-ed25519-0", SSHX_KEYSTATE_RETIRING,
	    1900000000, "", "ecdsa-sha2-nistp256-1"));
	ck_ok(sshx_keyring_set_state(kr, "ecdsa-sha2-nistp256-1",
	    SSHX_KEYSTATE_ACTIVE, 0, "ssh-ed25519-0", ""));
	/* Retired records lose their private key: see test_retire_keeps_public_only. */
	ck_ok(sshx_keyring_set_state(kr, "ssh-rsa-4", SSHX_KEYSTATE_RETIRING, 5,
	    "a", "b"));
	ck_ok(sshx_keyring_save(kr, path, NULL, 0));
	ck_ok(sshx_keyring_load(path, pass, PASSLEN, &lr, NULL, 0));

	ck_assert_uint_eq(sshx_keyring_count(lr), N_TYPES);
	for (i = 0; i < N_TYPES; i++) {
		e = sshx_keyring_at(kr, i);
		le = sshx_keyring_at(lr, i);
		ck_assert_str_eq(le->name, e->name);
		ck_assert_str_eq(le->comment, e->comment);
		ck_assert_str_eq(le->predecessor, e->predecessor);
		ck_assert_str_eq(le->successor, e->successor);
		ck_assert_msg(le->created == e->created && le->created != 0,
		    "%s: expected created %" PRIu64 ", got %" PRIu64, e->name,
		    e->created, le->created);
		ck_assert_msg(le->state == e->state && le->retire_at == e->retire_at,
		    "%s: expected state %d retire_at %" PRIu64 ", got %d %" PRIu64,
		    e->name, e->state, e->retire_at, le->state, le->retire_at);
		ck_assert_msg(sshx_key_type(le->key) == all_types[i],
		    "%s: expected type %d, got %d", e->name, all_types[i],
		    sshx_key_type(le->key));
		ck_assert_msg(sshx_key_has_private(le->key),
		    "%s: expected the private key back", e->name);
		ck_assert_ptr_nonnull(sig = sshx_buf_new());
		ck_ok(sshx_key_sign(le->key, test_data, sizeof(test_data) - 1,
		    SSHX_SIG_RSA_SHA256, sig));
		ck_assert_msg(sshx_key_verify(pubs[i], sshx_buf_ptr(sig),
		    sshx_buf_len(sig), test_data, sizeof(test_data) - 1, 0) == 0,
		    "%s: expected the loaded key's signature to verify with the "
		    "original public key", e->name);
		sshx_buf_free(sig);
		sshx_key_free(pubs[i]);
	}
	ck_assert_str_eq(sshx_keyring_at(lr, 0)->successor, "ecdsa-sha2-nistp256-1");
	ck_assert_int_eq(sshx_keyring_at(lr, 4)->state, SSHX_KEYSTATE_RETIRING);
	sshx_keyring_free(kr);
	sshx_keyring_free(lr);
}
END_TEST

START_TEST(test_empty_keyring_round_trip)
{
	struct sshx_keyring *kr = NULL, *lr = NULL;
	struct sshx_kdf_params k;

	ck_ok(sshx_keyring_create(pass, PASSLEN, &cheap, &kr));
	ck_ok(sshx_keyring_save(kr, path, NULL, 0));
	ck_ok(sshx_keyring_load(path, pass, PASSLEN, &lr, NULL, 0));
	ck_assert_uint_eq(sshx_keyring_count(lr), 0);
	ck_assert_ptr_null(sshx_keyring_at(lr, 0));
	sshx_keyring_kdf(lr, &k);
	ck_assert_msg(k.t_cost == 1 && k.m_cost_kib == 8192 && k.parallelism == 1,
	    "expected the file's KDF parameters 1/8192/1, got %u/%u/%u",
	    k.t_cost, k.m_cost_kib, k.parallelism);
	sshx_keyring_free(kr);
	sshx_keyring_free(lr);
}
END_TEST

/* ---- Load failures: each distinct, none changing anything ---- */

START_TEST(test_wrong_passphrase_is_bad_passphrase)
{
	sshx_keyring_free(make_saved(1));
	expect_load(other_pass, OTHER_PASSLEN, SSHX_ERR_BAD_PASSPHRASE,
	    "passphrase", "wrong passphrase");
	expect_load(pass, PASSLEN - 1, SSHX_ERR_BAD_PASSPHRASE, NULL,
	    "passphrase missing its last byte");
	expect_load((const uint8_t *)"", 0, SSHX_ERR_BAD_PASSPHRASE, NULL,
	    "empty passphrase");
}
END_TEST

START_TEST(test_every_flipped_byte_is_tampered)
{
	static const uint8_t masks[] = { 0xff, 0x01, 0x80 };
	uint8_t *orig, *d;
	size_t len, i, m;
	char label[64];

	sshx_keyring_free(make_saved(1));
	orig = read_all(path, &len);
	ck_assert_ptr_nonnull(d = malloc(len));
	for (m = 0; m < sizeof(masks); m++) {
		for (i = 0; i < len; i++) {
			memcpy(d, orig, len);
			d[i] ^= masks[m];
			write_all(path, d, len);
			snprintf(label, sizeof(label), "byte %zu of %zu ^ 0x%02x",
			    i, len, masks[m]);
			expect_load(pass, PASSLEN, SSHX_ERR_TAMPERED, NULL, label);
		}
	}
	write_all(path, orig, len);
	expect_load(other_pass, OTHER_PASSLEN, SSHX_ERR_BAD_PASSPHRASE, NULL,
	    "restored file");
	free(orig);
	free(d);
}
END_TEST

START_TEST(test_every_truncation_is_tampered)
{
	uint8_t *orig;
	size_t len, n;
	char label[64];

	sshx_keyring_free(make_saved(1));
	orig = read_all(path, &len);
	for (n = 0; n < len; n++) {
		write_all(path, orig, n);
		snprintf(label, sizeof(label), "first %zu of %zu bytes", n, len);
		expect_load(pass, PASSLEN, SSHX_ERR_TAMPERED, n == 0 ? "empty" :
		    n < 8 ? NULL : "truncated", label);
	}
	free(orig);
}
END_TEST

START_TEST(test_appended_bytes_are_tampered)
{
	uint8_t *d;
	size_t len;

	sshx_keyring_free(make_saved(1));
	d = read_all(path, &len);
	d = realloc(d, len + 1);
	ck_assert_ptr_nonnull(d);
	d[len] = 0;
	write_all(path, d, len + 1);
	expect_load(pass, PASSLEN, SSHX_ERR_TAMPERED, NULL, "one byte appended");
	free(d);
}
END_TEST

START_TEST(test_other_files_are_not_keyrings)
{
	static const char text[] = "-----BEGIN OPENSSH PRIVATE KEY-----\n";

	write_all(path, (const uint8_t *)text, sizeof(text) - 1);
	expect_load(pass, PASSLEN, SSHX_ERR_TAMPERED, "not an sshx keyring",
	    "an OpenSSH key file");
}
END_TEST

START_TEST(test_newer_version_is_version_error)
{
	uint8_t *d, *big;
	size_t len;

	sshx_keyring_free(make_saved(1));
	d = read_all(path, &len);

	/* A version 2 file that kept this layout. */
	put32(d + OFF_VERSION, 2);
	redigest(d);
	write_all(path, d, len);
	expect_load(pass, PASSLEN, SSHX_ERR_VERSION, "version 2 is newer",
	    "version 2, digest recomputed");

	/* A version 7 file with a longer header of its own design. */
	ck_assert_ptr_nonnull(big = malloc(len + 40));
	memcpy(big, d, OFF_DIGEST);
	put32(big + OFF_VERSION, 7);
	memset(big + OFF_DIGEST, 0x5a, 40);
	gcry_md_hash_buffer(GCRY_MD_SHA256, big + OFF_DIGEST + 40, big,
	    OFF_DIGEST + 40);
	memcpy(big + OFF_DIGEST + 72, d + OFF_BODYLEN, len - OFF_BODYLEN);
	write_all(path, big, len + 40);
	expect_load(pass, PASSLEN, SSHX_ERR_VERSION, "version 7",
	    "version 7 with a different header layout");

	/* Version 0 never existed: damage, even with a matching digest. */
	put32(d + OFF_VERSION, 0);
	redigest(d);
	write_all(path, d, len);
	expect_load(pass, PASSLEN, SSHX_ERR_TAMPERED, NULL, "version 0");
	free(d);
	free(big);
}
END_TEST

START_TEST(test_header_edits_with_recomputed_digest)
{
	uint8_t *orig, *d;
	size_t len;

	sshx_keyring_free(make_saved(1));
	orig = read_all(path, &len);
	ck_assert_ptr_nonnull(d = malloc(len));

	/* The digest is no MAC: the GCM tag still catches a changed nonce. */
	memcpy(d, orig, len);
	d[OFF_NONCE + 4] ^= 1;
	redigest(d);
	write_all(path, d, len);
	expect_load(pass, PASSLEN, SSHX_ERR_TAMPERED, "contents modified",
	    "nonce changed, digest recomputed");

	/* A changed salt derives another key: indistinguishable from a wrong passphrase. */
	memcpy(d, orig, len);
	d[OFF_SALT + 4] ^= 1;
	redigest(d);
	write_all(path, d, len);
	expect_load(pass, PASSLEN, SSHX_ERR_BAD_PASSPHRASE, NULL,
	    "salt changed, digest recomputed");

	/* KDF parameters out of bounds are refused before the KDF runs. */
	memcpy(d, orig, len);
	put32(d + OFF_M, 4U * 1024 * 1024 + 1);
	redigest(d);
	write_all(path, d, len);
	expect_load(pass, PASSLEN, SSHX_ERR_TAMPERED, "out of range",
	    "m_cost over 4 GiB");
	memcpy(d, orig, len);
	put32(d + OFF_M, 8191);
	redigest(d);
	write_all(path, d, len);
	expect_load(pass, PASSLEN, SSHX_ERR_TAMPERED, "out of range",
	    "m_cost under 8 MiB");
	memcpy(d, orig, len);
	put32(d + OFF_T, 65);
	redigest(d);
	write_all(path, d, len);
	expect_load(pass, PASSLEN, SSHX_ERR_TAMPERED, "out of range", "t_cost 65");
	memcpy(d, orig, len);
	put32(d + OFF_P, 0);
	redigest(d);
	write_all(path, d, len);
	expect_load(pass, PASSLEN, SSHX_ERR_TAMPERED, "out of range",
	    "parallelism 0");
	memcpy(d, orig, len);
	d[OFF_KDF_ID] = 2;
	redigest(d);
	write_all(path, d, len);
	expect_load(pass, PASSLEN, SSHX_ERR_TAMPERED, "unknown KDF", "KDF id 2");
	free(orig);
	free(d);
}
END_TEST

START_TEST(test_group_readable_file_is_unsafe)
{
	sshx_keyring_free(make_saved(1));
	ck_assert_int_eq(chmod(path, 0640), 0);
	expect_load(pass, PASSLEN, SSHX_ERR_UNSAFE_FILE, NULL, "mode 0640");
	ck_assert_int_eq(chmod(path, 0604), 0);
	expect_load(pass, PASSLEN, SSHX_ERR_UNSAFE_FILE, NULL, "mode 0604");
}
END_TEST

START_TEST(test_symlinked_path_is_unsafe)
{
	char real[160];

	sshx_keyring_free(make_saved(1));
	snprintf(real, sizeof(real), "%s/real", dir);
	ck_assert_int_eq(rename(path, real), 0);
	ck_assert_int_eq(symlink(real, path), 0);
	expect_load(pass, PASSLEN, SSHX_ERR_UNSAFE_FILE, NULL, "symlink");
}
END_TEST

START_TEST(test_missing_file_is_not_found)
{
	expect_load(pass, PASSLEN, SSHX_ERR_NOT_FOUND, NULL, "no file");
	ck_assert_int_eq(dir_entries(), 0);
}
END_TEST

START_TEST(test_bad_body_inside_a_good_seal_is_tampered)
{
	struct sshx_key *k1 = gen(SSHX_KEY_ED25519), *k2 = gen(SSHX_KEY_ED25519);
	struct sshx_buf *b;
	struct sshx_keyring *kr = NULL;
	int i;

	sshx_keyring_free(make_saved(1));
	ck_assert_ptr_nonnull(b = sshx_buf_new_secure());
	/* The resealing helper itself produces a loadable file. */
	ck_ok(sshx_buf_put_u32(b, 2));
	put_record(b, "one", 0, k1);
	put_record(b, "two", 2, k2);
	reseal_body(b);
	ck_ok(sshx_keyring_load(path, pass, PASSLEN, &kr, NULL, 0));
	ck_assert_uint_eq(sshx_keyring_count(kr), 2);
	sshx_keyring_free(kr);

	for (i = 0; i < 10; i++) {
		sshx_buf_reset(b);
		switch (i) {
		case 8:		/* a retired record that kept its private key */
			ck_ok(sshx_buf_put_u32(b, 1));
			put_record_as(b, "one", 2, k1, 1);
			break;
		case 9:		/* an active record without its private key */
			ck_ok(sshx_buf_put_u32(b, 1));
			put_record_as(b, "one", 0, k1, 0);
			break;
		case 0:		/* two records, one name */
			ck_ok(sshx_buf_put_u32(b, 2));
			put_record(b, "same", 0, k1);
			put_record(b, "same", 0, k2);
			break;
		case 1:		/* more records than allowed */
			ck_ok(sshx_buf_put_u32(b, SSHX_KEYRING_MAX_KEYS + 1));
			put_record(b, "one", 0, k1);
			break;
		case 2:		/* a byte after the last record */
			ck_ok(sshx_buf_put_u32(b, 1));
			put_record(b, "one", 0, k1);
			ck_ok(sshx_buf_put_u8(b, 0));
			break;
		case 3:		/* fewer records than counted */
			ck_ok(sshx_buf_put_u32(b, 2));
			put_record(b, "one", 0, k1);
			break;
		case 4:		/* an unknown state */
			ck_ok(sshx_buf_put_u32(b, 1));
			put_record(b, "one", 3, k1);
			break;
		case 5:		/* an invalid name */
			ck_ok(sshx_buf_put_u32(b, 1));
			put_record(b, "-dash", 0, k1);
			break;
		case 6:		/* a key string that is not a key */
			ck_ok(sshx_buf_put_u32(b, 1));
			ck_ok(sshx_buf_put_cstring(b, "one"));
			ck_ok(sshx_buf_put_cstring(b, ""));
			ck_ok(sshx_buf_put_u64(b, 0));
			ck_ok(sshx_buf_put_u8(b, 0));
			ck_ok(sshx_buf_put_u64(b, 0));
			ck_ok(sshx_buf_put_cstring(b, ""));
			ck_ok(sshx_buf_put_cstring(b, ""));
			ck_ok(sshx_buf_put_cstring(b, "ssh-ed25519"));
			break;
		case 7:		/* an empty body */
			break;
		}
		reseal_body(b);
		expect_load(pass, PASSLEN, SSHX_ERR_TAMPERED, NULL,
		    (const char *[]){ "duplicate names", "too many records",
		    "trailing byte", "missing record", "state 3", "bad name",
		    "not a key", "empty body", "retired with a private key",
		    "active without a private key" }[i]);
	}
	sshx_buf_free(b);
	sshx_key_free(k1);
	sshx_key_free(k2);
}
END_TEST

/* ---- Reload, passphrase change, backup ---- */

START_TEST(test_reload_reads_another_save_without_passphrase)
{
	struct sshx_keyring *a = NULL, *b = NULL, *n = NULL;
	char why[256] = "";

	sshx_keyring_free(make_saved(1));
	ck_ok(sshx_keyring_load(path, pass, PASSLEN, &a, NULL, 0));
	ck_ok(sshx_keyring_load(path, pass, PASSLEN, &b, NULL, 0));
	ck_ok(sshx_keyring_add(b, gen(SSHX_KEY_ECDSA_P256), "added", "by b"));
	ck_ok(sshx_keyring_save(b, path, NULL, 0));
	ck_ok(sshx_keyring_reload(a, path, &n, why, sizeof(why)));
	ck_assert_uint_eq(sshx_keyring_count(a), 1);
	ck_assert_uint_eq(sshx_keyring_count(n), 2);
	ck_assert_ptr_nonnull(sshx_keyring_find(n, "added"));
	/* The new keyring saves and reloads in turn. */
	ck_ok(sshx_keyring_save(n, path, NULL, 0));
	sshx_keyring_free(a);
	a = NULL;
	ck_ok(sshx_keyring_reload(n, path, &a, NULL, 0));
	ck_assert_uint_eq(sshx_keyring_count(a), 2);
	sshx_keyring_free(a);
	sshx_keyring_free(b);
	sshx_keyring_free(n);
}
END_TEST

START_TEST(test_reload_after_passphrase_change_is_bad_passphrase)
{
	struct sshx_keyring *old = NULL, *kr = NULL, *n = NULL;
	struct sshx_kdf_params k;
	uint8_t *a, *b;
	size_t alen, blen;
	char why[256] = "";

	sshx_keyring_free(make_saved(1));
	a = read_all(path, &alen);
	ck_ok(sshx_keyring_load(path, pass, PASSLEN, &old, NULL, 0));
	ck_ok(sshx_keyring_load(path, pass, PASSLEN, &kr, NULL, 0));
	ck_ok(sshx_keyring_set_passphrase(kr, other_pass, OTHER_PASSLEN, &cheap));
	sshx_keyring_kdf(kr, &k);
	ck_assert_uint_eq(k.m_cost_kib, 8192);
	ck_ok(sshx_keyring_save(kr, path, NULL, 0));
	b = read_all(path, &blen);
	ck_assert_msg(memcmp(a + OFF_SALT, b + OFF_SALT, 36) != 0,
	    "expected a new salt after set_passphrase");

	ck_err(sshx_keyring_reload(old, path, &n, why, sizeof(why)),
	    SSHX_ERR_BAD_PASSPHRASE);
	ck_assert_ptr_null(n);
	ck_assert_msg(why[0] != '\0', "expected an explanation");
	expect_load(pass, PASSLEN, SSHX_ERR_BAD_PASSPHRASE, NULL, "old passphrase");
	ck_ok(sshx_keyring_load(path, other_pass, OTHER_PASSLEN, &n, NULL, 0));
	ck_assert_uint_eq(sshx_keyring_count(n), 1);
	free(a);
	free(b);
	sshx_keyring_free(old);
	sshx_keyring_free(kr);
	sshx_keyring_free(n);
}
END_TEST

START_TEST(test_reload_reports_damage_like_load)
{
	struct sshx_keyring *kr = make_saved(1), *n = NULL;
	uint8_t *d;
	size_t len;

	d = read_all(path, &len);
	d[len - 1] ^= 1;
	write_all(path, d, len);
	ck_err(sshx_keyring_reload(kr, path, &n, NULL, 0), SSHX_ERR_TAMPERED);
	unlink(path);
	ck_err(sshx_keyring_reload(kr, path, &n, NULL, 0), SSHX_ERR_NOT_FOUND);
	ck_assert_ptr_null(n);
	free(d);
	sshx_keyring_free(kr);
}
END_TEST

START_TEST(test_save_keeps_previous_file_as_backup)
{
	struct sshx_keyring *kr = make_saved(1), *b = NULL;
	char bak[160];
	struct stat st;
	uint8_t *first, *saved;
	size_t flen, slen;

	first = read_all(path, &flen);
	ck_ok(sshx_keyring_add(kr, gen(SSHX_KEY_ED25519), "second", ""));
	ck_ok(sshx_keyring_save(kr, path, NULL, 0));
	snprintf(bak, sizeof(bak), "%s.bak", path);
	saved = read_all(bak, &slen);
	ck_assert_msg(slen == flen && memcmp(first, saved, flen) == 0,
	    "expected %s to hold the previous file", bak);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_msg((st.st_mode & 07777) == 0600, "expected mode 0600, got %04o",
	    (unsigned int)(st.st_mode & 07777));
	ck_ok(sshx_keyring_load(bak, pass, PASSLEN, &b, NULL, 0));
	ck_assert_uint_eq(sshx_keyring_count(b), 1);
	ck_assert_ptr_null(sshx_keyring_find(b, "second"));
	free(first);
	free(saved);
	sshx_keyring_free(kr);
	sshx_keyring_free(b);
}
END_TEST

START_TEST(test_export_import_key_reopens_file)
{
	struct sshx_keyring *kr = make_saved(2), *ik = NULL, *n = NULL;
	struct sshx_buf *sec, *plain, *cut;
	size_t len;

	ck_assert_ptr_nonnull(sec = sshx_buf_new_secure());
	ck_assert_ptr_nonnull(plain = sshx_buf_new());
	ck_err(sshx_keyring_export_key(kr, plain), SSHX_ERR_INVALID_ARGUMENT);
	ck_ok(sshx_keyring_export_key(kr, sec));
	ck_ok(sshx_buf_put_u8(sec, 0x42));	/* what follows stays */
	len = sshx_buf_len(sec);

	ck_assert_ptr_nonnull(cut = sshx_buf_from(sshx_buf_ptr(sec), len - 10));
	ck_assert_msg(sshx_keyring_import_key(cut, &ik) != 0 && ik == NULL,
	    "expected a truncated export to be refused");
	ck_assert_uint_eq(sshx_buf_len(cut), len - 10);
	sshx_buf_free(cut);

	ck_ok(sshx_keyring_import_key(sec, &ik));
	ck_assert_uint_eq(sshx_buf_len(sec), 1);
	ck_assert_uint_eq(sshx_keyring_count(ik), 0);
	ck_ok(sshx_keyring_reload(ik, path, &n, NULL, 0));
	ck_assert_uint_eq(sshx_keyring_count(n), 2);
	ck_assert_ptr_nonnull(sshx_keyring_find(n, "k2"));
	sshx_buf_free(sec);
	sshx_buf_free(plain);
	sshx_keyring_free(kr);
	sshx_keyring_free(ik);
	sshx_keyring_free(n);
}
END_TEST

START_TEST(test_create_checks_its_arguments)
{
	static const struct sshx_kdf_params bad[] = {
		{ 0, 8192, 1 }, { 65, 8192, 1 }, { 1, 8191, 1 },
		{ 1, 4U * 1024 * 1024 + 1, 1 }, { 1, 8192, 0 }, { 1, 8192, 17 },
	};
	struct sshx_keyring *kr = NULL;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(sshx_keyring_create(pass, PASSLEN, &bad[i], &kr) ==
		    SSHX_ERR_INVALID_ARGUMENT && kr == NULL, "expected KDF "
		    "%u/%u/%u to be refused", bad[i].t_cost, bad[i].m_cost_kib,
		    bad[i].parallelism);
	}
	ck_err(sshx_keyring_create((const uint8_t *)"", 0, &cheap, &kr),
	    SSHX_ERR_INVALID_ARGUMENT);
	ck_ok(sshx_keyring_create(pass, PASSLEN, &cheap, &kr));
	ck_err(sshx_keyring_set_passphrase(kr, pass, PASSLEN, &bad[0]),
	    SSHX_ERR_INVALID_ARGUMENT);
	sshx_keyring_free(kr);
	sshx_keyring_free(NULL);
}
END_TEST

/* ---- Names, comments, records ---- */

START_TEST(test_valid_names_table)
{
	static const struct { const char *name; int ok; } t[] = {
		{ "a", 1 }, { "Z", 1 }, { "0", 1 }, { "deploy-2024", 1 },
		{ "user@host", 1 }, { "a.b_c+d-e", 1 }, { "9lives", 1 },
		{ "", 0 }, { "-a", 0 }, { ".a", 0 }, { "_a", 0 }, { "@a", 0 },
		{ "+a", 0 }, { "a b", 0 }, { "a/b", 0 }, { "a:b", 0 },
		{ "a\tb", 0 }, { "a\nb", 0 }, { "caf\xc3\xa9", 0 },
		{ "SHA256:x", 0 }, { "a*", 0 }, { "a\"", 0 }, { "a\\b", 0 },
	};
	char longest[SSHX_KEYRING_MAX_NAME + 2];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(sshx_keyring_valid_name(t[i].name) == t[i].ok,
		    "expected \"%s\" to be %s", t[i].name,
		    t[i].ok ? "valid" : "invalid");
	memset(longest, 'n', sizeof(longest));
	longest[SSHX_KEYRING_MAX_NAME] = '\0';
	ck_assert_msg(sshx_keyring_valid_name(longest),
	    "expected a %d-byte name to be valid", SSHX_KEYRING_MAX_NAME);
	longest[SSHX_KEYRING_MAX_NAME] = 'n';
	longest[SSHX_KEYRING_MAX_NAME + 1] = '\0';
	ck_assert_msg(!sshx_keyring_valid_name(longest),
	    "expected a %d-byte name to be invalid", SSHX_KEYRING_MAX_NAME + 1);
	ck_assert_int_eq(sshx_keyring_valid_name(NULL), 0);
}
END_TEST

START_TEST(test_duplicate_name_or_key_exists)
{
	struct sshx_keyring *kr = NULL;
	struct sshx_key *k = gen(SSHX_KEY_ED25519), *k2 = gen(SSHX_KEY_ED25519);
	struct sshx_key *again = NULL, *pub = public_copy(k);
	struct sshx_buf *b;

	/* The same key again, as a separate object. */
	ck_assert_ptr_nonnull(b = sshx_buf_new_secure());
	ck_ok(sshx_key_put_private(k, b));
	ck_ok(sshx_key_parse_private(b, &again));
	sshx_buf_free(b);

	ck_ok(sshx_keyring_create(pass, PASSLEN, &cheap, &kr));
	ck_ok(sshx_keyring_add(kr, k, "one", ""));
	ck_err(sshx_keyring_add(kr, k2, "one", ""), SSHX_ERR_EXISTS);
	ck_err(sshx_keyring_add(kr, again, "other", ""), SSHX_ERR_EXISTS);
	ck_err(sshx_keyring_add(kr, again, NULL, ""), SSHX_ERR_EXISTS);
	ck_err(sshx_keyring_add(kr, k2, "bad name", ""), SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_keyring_add(kr, pub, "public", ""), SSHX_ERR_INVALID_ARGUMENT);
	ck_assert_uint_eq(sshx_keyring_count(kr), 1);
	ck_ok(sshx_keyring_add(kr, k2, "two", NULL));
	ck_assert_str_eq(sshx_keyring_find(kr, "two")->comment, "");
	sshx_key_free(again);	/* refused adds leave the key with the caller */
	sshx_key_free(pub);
	sshx_keyring_free(kr);
}
END_TEST

START_TEST(test_automatic_names_take_first_free)
{
	struct sshx_keyring *kr = NULL;
	int i;

	ck_ok(sshx_keyring_create(pass, PASSLEN, &cheap, &kr));
	for (i = 0; i < 3; i++)
		ck_ok(sshx_keyring_add(kr, gen(SSHX_KEY_ED25519), NULL, ""));
	ck_assert_str_eq(sshx_keyring_at(kr, 0)->name, "key-1");
	ck_assert_str_eq(sshx_keyring_at(kr, 1)->name, "key-2");
	ck_assert_str_eq(sshx_keyring_at(kr, 2)->name, "key-3");
	ck_ok(sshx_keyring_remove(kr, "key-2"));
	ck_ok(sshx_keyring_add(kr, gen(SSHX_KEY_ED25519), NULL, ""));
	ck_assert_str_eq(sshx_keyring_at(kr, 2)->name, "key-2");
	ck_ok(sshx_keyring_add(kr, gen(SSHX_KEY_ED25519), "key-5", ""));
	ck_ok(sshx_keyring_add(kr, gen(SSHX_KEY_ED25519), NULL, ""));
	ck_assert_str_eq(sshx_keyring_at(kr, 4)->name, "key-4");
	ck_ok(sshx_keyring_add(kr, gen(SSHX_KEY_ED25519), NULL, ""));
	ck_assert_str_eq(sshx_keyring_at(kr, 5)->name, "key-6");
	sshx_keyring_free(kr);
}
END_TEST

START_TEST(test_comments_are_checked)
{
	struct sshx_keyring *kr = NULL;
	struct sshx_key *k = gen(SSHX_KEY_ED25519);
	char c[1026];

	ck_ok(sshx_keyring_create(pass, PASSLEN, &cheap, &kr));
	ck_err(sshx_keyring_add(kr, k, "a", "line\nbreak"), SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_keyring_add(kr, k, "a", "tab\there"), SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_keyring_add(kr, k, "a", "esc\033[31m"), SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_keyring_add(kr, k, "a", "del\x7f"), SSHX_ERR_INVALID_ARGUMENT);
	memset(c, 'c', sizeof(c));
	c[1025] = '\0';
	ck_err(sshx_keyring_add(kr, k, "a", c), SSHX_ERR_INVALID_ARGUMENT);
	c[1024] = '\0';
	ck_ok(sshx_keyring_add(kr, k, "a", c));
	ck_ok(sshx_keyring_add(kr, gen(SSHX_KEY_ED25519), "b", "caf\xc3\xa9 ok"));
	ck_ok(sshx_keyring_save(kr, path, NULL, 0));
	sshx_keyring_free(kr);
	kr = NULL;
	ck_ok(sshx_keyring_load(path, pass, PASSLEN, &kr, NULL, 0));
	ck_assert_uint_eq(strlen(sshx_keyring_find(kr, "a")->comment), 1024);
	ck_assert_str_eq(sshx_keyring_find(kr, "b")->comment, "caf\xc3\xa9 ok");
	sshx_keyring_free(kr);
}
END_TEST

START_TEST(test_set_state_and_links)
{
	struct sshx_keyring *kr = NULL, *lr = NULL;
	const struct sshx_keyring_entry *e;

	ck_ok(sshx_keyring_create(pass, PASSLEN, &cheap, &kr));
	ck_ok(sshx_keyring_add(kr, gen(SSHX_KEY_ED25519), "old", ""));
	ck_ok(sshx_keyring_add(kr, gen(SSHX_KEY_ECDSA_P384), "new", ""));
	e = sshx_keyring_find(kr, "old");
	ck_assert_int_eq(e->state, SSHX_KEYSTATE_ACTIVE);
	ck_assert_msg(e->retire_at == 0 && *e->predecessor == '\0' &&
	    *e->successor == '\0', "expected a new record without links");
	ck_ok(sshx_keyring_set_state(kr, "old", SSHX_KEYSTATE_RETIRING,
	    UINT64_MAX, NULL, "new"));
	ck_ok(sshx_keyring_set_state(kr, "new", SSHX_KEYSTATE_ACTIVE, 0, "old",
	    NULL));
	ck_err(sshx_keyring_set_state(kr, "gone", SSHX_KEYSTATE_RETIRED, 0, "", ""),
	    SSHX_ERR_NOT_FOUND);
	ck_err(sshx_keyring_set_state(kr, "old", (enum sshx_key_state)3, 0, "", ""),
	    SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_keyring_set_state(kr, "old", SSHX_KEYSTATE_RETIRED, 0,
	    "no good", ""), SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_keyring_set_state(kr, "old", SSHX_KEYSTATE_RETIRED, 0, "",
	    "old"), SSHX_ERR_INVALID_ARGUMENT);
	/* Refused changes change nothing. */
	e = sshx_keyring_find(kr, "old");
	ck_assert_int_eq(e->state, SSHX_KEYSTATE_RETIRING);
	ck_assert_str_eq(e->successor, "new");

	ck_ok(sshx_keyring_save(kr, path, NULL, 0));
	ck_ok(sshx_keyring_load(path, pass, PASSLEN, &lr, NULL, 0));
	e = sshx_keyring_find(lr, "old");
	ck_assert_msg(e->state == SSHX_KEYSTATE_RETIRING && e->retire_at ==
	    UINT64_MAX, "expected retiring until UINT64_MAX, got %d %" PRIu64,
	    e->state, e->retire_at);
	ck_assert_str_eq(e->predecessor, "");
	ck_assert_str_eq(e->successor, "new");
	e = sshx_keyring_find(lr, "new");
	ck_assert_str_eq(e->predecessor, "old");
	ck_assert_str_eq(e->successor, "");
	sshx_keyring_free(kr);
	sshx_keyring_free(lr);
}
END_TEST

START_TEST(test_retire_keeps_public_only)
{
	struct sshx_keyring *kr = NULL, *lr = NULL;
	struct sshx_key *k = gen(SSHX_KEY_ECDSA_P256);
	const struct sshx_keyring_entry *e;
	char fp[SSHX_FP_LEN], lfp[SSHX_FP_LEN];

	ck_ok(sshx_key_fingerprint(k, fp));
	ck_ok(sshx_keyring_create(pass, PASSLEN, &cheap, &kr));
	ck_ok(sshx_keyring_add(kr, k, "old", ""));
	ck_ok(sshx_keyring_set_state(kr, "old", SSHX_KEYSTATE_RETIRED, 99, "",
	    ""));
	e = sshx_keyring_find(kr, "old");
	ck_assert_int_eq(sshx_key_has_private(e->key), 0);
	/* Nothing brings a retired key back. */
	ck_err(sshx_keyring_set_state(kr, "old", SSHX_KEYSTATE_ACTIVE, 0, "", ""),
	    SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_keyring_set_state(kr, "old", SSHX_KEYSTATE_RETIRING, 5, "",
	    ""), SSHX_ERR_INVALID_ARGUMENT);
	ck_ok(sshx_keyring_set_state(kr, "old", SSHX_KEYSTATE_RETIRED, 100, "",
	    ""));
	ck_ok(sshx_keyring_save(kr, path, NULL, 0));
	ck_ok(sshx_keyring_load(path, pass, PASSLEN, &lr, NULL, 0));
	e = sshx_keyring_find(lr, fp);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->state, SSHX_KEYSTATE_RETIRED);
	ck_assert_int_eq(sshx_key_has_private(e->key), 0);
	ck_ok(sshx_key_fingerprint(e->key, lfp));
	ck_assert_str_eq(lfp, fp);
	sshx_keyring_free(kr);
	sshx_keyring_free(lr);
}
END_TEST

START_TEST(test_rename_follows_links)
{
	struct sshx_keyring *kr = NULL;
	const struct sshx_keyring_entry *e;

	ck_ok(sshx_keyring_create(pass, PASSLEN, &cheap, &kr));
	ck_ok(sshx_keyring_add(kr, gen(SSHX_KEY_ED25519), "a", ""));
	ck_ok(sshx_keyring_add(kr, gen(SSHX_KEY_ED25519), "b", ""));
	ck_ok(sshx_keyring_add(kr, gen(SSHX_KEY_ED25519), "c", ""));
	ck_ok(sshx_keyring_set_state(kr, "a", SSHX_KEYSTATE_RETIRING, 7, "", "b"));
	ck_ok(sshx_keyring_set_state(kr, "c", SSHX_KEYSTATE_ACTIVE, 0, "b", "b"));
	ck_ok(sshx_keyring_rename(kr, "b", "b@2026-01-01"));
	ck_assert_str_eq(sshx_keyring_find(kr, "a")->successor, "b@2026-01-01");
	e = sshx_keyring_find(kr, "c");
	ck_assert_str_eq(e->predecessor, "b@2026-01-01");
	ck_assert_str_eq(e->successor, "b@2026-01-01");
	ck_assert_ptr_null(sshx_keyring_find(kr, "b"));
	ck_assert_ptr_nonnull(sshx_keyring_find(kr, "b@2026-01-01"));
	/* Same name: nothing to do; taken, invalid or missing: refused. */
	ck_ok(sshx_keyring_rename(kr, "a", "a"));
	ck_err(sshx_keyring_rename(kr, "a", "c"), SSHX_ERR_EXISTS);
	ck_err(sshx_keyring_rename(kr, "a", "-bad"), SSHX_ERR_INVALID_ARGUMENT);
	ck_err(sshx_keyring_rename(kr, "zz", "y"), SSHX_ERR_NOT_FOUND);
	ck_assert_str_eq(sshx_keyring_find(kr, "a")->successor, "b@2026-01-01");
	sshx_keyring_free(kr);
}
END_TEST

START_TEST(test_find_and_remove_by_name_or_fingerprint)
{
	struct sshx_keyring *kr = NULL;
	struct sshx_key *k = gen(SSHX_KEY_ECDSA_P256);
	char fp[SSHX_FP_LEN];
	const struct sshx_keyring_entry *e;

	ck_ok(sshx_key_fingerprint(k, fp));
	ck_ok(sshx_keyring_create(pass, PASSLEN, &cheap, &kr));
	ck_ok(sshx_keyring_add(kr, gen(SSHX_KEY_ED25519), "first", ""));
	ck_ok(sshx_keyring_add(kr, k, "second", ""));
	ck_ok(sshx_keyring_add(kr, gen(SSHX_KEY_ED25519), "third", ""));
	ck_assert_ptr_nonnull(e = sshx_keyring_find(kr, fp));
	ck_assert_str_eq(e->name, "second");
	ck_assert_ptr_eq(sshx_keyring_find(kr, "second"), e);
	ck_assert_ptr_null(sshx_keyring_find(kr, "SHA256:nope"));
	ck_assert_ptr_null(sshx_keyring_find(kr, "fourth"));
	ck_assert_ptr_null(sshx_keyring_find(kr, NULL));
	ck_ok(sshx_keyring_remove(kr, fp));
	ck_err(sshx_keyring_remove(kr, fp), SSHX_ERR_NOT_FOUND);
	ck_err(sshx_keyring_remove(kr, "second"), SSHX_ERR_NOT_FOUND);
	ck_assert_uint_eq(sshx_keyring_count(kr), 2);
	ck_assert_str_eq(sshx_keyring_at(kr, 0)->name, "first");
	ck_assert_str_eq(sshx_keyring_at(kr, 1)->name, "third");
	ck_ok(sshx_keyring_remove(kr, "first"));
	ck_assert_str_eq(sshx_keyring_at(kr, 0)->name, "third");
	sshx_keyring_free(kr);
}
END_TEST

/* ---- Figures for the report (printed, never asserted) ---- */

START_TEST(test_default_kdf_figures)
{
	struct sshx_keyring *kr = NULL, *lr = NULL;
	struct sshx_kdf_params k;
	double t0, t_create, t_save, t_load;
	uint8_t *d;
	size_t len;

	t0 = now_s();
	ck_ok(sshx_keyring_create(pass, PASSLEN, NULL, &kr));
	t_create = now_s() - t0;
	sshx_keyring_kdf(kr, &k);
	ck_assert_msg(k.t_cost == 3 && k.m_cost_kib == 65536 && k.parallelism == 1,
	    "expected default KDF 3/65536/1, got %u/%u/%u", k.t_cost,
	    k.m_cost_kib, k.parallelism);
	ck_ok(sshx_keyring_add(kr, gen(SSHX_KEY_ED25519), NULL, ""));
	t0 = now_s();
	ck_ok(sshx_keyring_save(kr, path, NULL, 0));
	t_save = now_s() - t0;
	d = read_all(path, &len);
	ck_assert_msg(get32(d + OFF_T) == 3 && get32(d + OFF_M) == 65536 &&
	    get32(d + OFF_P) == 1, "expected the defaults in the file");
	t0 = now_s();
	ck_ok(sshx_keyring_load(path, pass, PASSLEN, &lr, NULL, 0));
	t_load = now_s() - t0;
	ck_assert_uint_eq(sshx_keyring_count(lr), 1);
	printf("# default KDF (argon2id t=3, m=65536 KiB, p=1): create %.3f s, "
	    "save %.3f s, load %.3f s\n", t_create, t_save, t_load);
	fflush(stdout);
	free(d);
	sshx_keyring_free(kr);
	sshx_keyring_free(lr);
}
END_TEST

START_TEST(test_hundred_ed25519_keys_figures)
{
	struct sshx_keyring *kr, *lr = NULL;
	struct stat st;
	double t0, t_save, t_load;

	kr = make_saved(100);
	t0 = now_s();
	ck_ok(sshx_keyring_save(kr, path, NULL, 0));
	t_save = now_s() - t0;
	ck_assert_int_eq(stat(path, &st), 0);
	t0 = now_s();
	ck_ok(sshx_keyring_load(path, pass, PASSLEN, &lr, NULL, 0));
	t_load = now_s() - t0;
	ck_assert_uint_eq(sshx_keyring_count(lr), 100);
	printf("# keyring of 100 Ed25519 keys: %lld bytes; save %.3f s, load "
	    "%.3f s (t=1, m=8192 KiB)\n", (long long)st.st_size, t_save, t_load);
	fflush(stdout);
	sshx_keyring_free(kr);
	sshx_keyring_free(lr);
}
END_TEST

static void
add(Suite *s, const char *name, const TTest *t)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, SLOW_TIMEOUT);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, t);
	suite_add_tcase(s, tc);
}

static Suite *
keyring_suite(void)
{
	Suite *s = suite_create("keyring");

	add(s, "argon2id RFC 9106 vector", test_argon2id_rfc9106_vector);
	add(s, "argon2id keyring derivation matches reference",
	    test_argon2id_keyring_derivation_matches_reference);
	add(s, "file layout matches format document",
	    test_file_layout_matches_format_document);
	add(s, "every save draws a fresh nonce", test_every_save_draws_a_fresh_nonce);
	add(s, "round trip every key type", test_round_trip_every_key_type);
	add(s, "empty keyring round trip", test_empty_keyring_round_trip);
	add(s, "wrong passphrase is BAD_PASSPHRASE",
	    test_wrong_passphrase_is_bad_passphrase);
	add(s, "every flipped byte is TAMPERED", test_every_flipped_byte_is_tampered);
	add(s, "every truncation is TAMPERED", test_every_truncation_is_tampered);
	add(s, "appended bytes are TAMPERED", test_appended_bytes_are_tampered);
	add(s, "other files are not keyrings", test_other_files_are_not_keyrings);
	add(s, "newer version is VERSION", test_newer_version_is_version_error);
	add(s, "header edits with recomputed digest",
	    test_header_edits_with_recomputed_digest);
	add(s, "group-readable file is UNSAFE_FILE",
	    test_group_readable_file_is_unsafe);
	add(s, "symlinked path is UNSAFE_FILE", test_symlinked_path_is_unsafe);
	add(s, "missing file is NOT_FOUND", test_missing_file_is_not_found);
	add(s, "bad body inside a good seal is TAMPERED",
	    test_bad_body_inside_a_good_seal_is_tampered);
	add(s, "reload reads another save without passphrase",
	    test_reload_reads_another_save_without_passphrase);
	add(s, "reload after passphrase change is BAD_PASSPHRASE",
	    test_reload_after_passphrase_change_is_bad_passphrase);
	add(s, "reload reports damage like load", test_reload_reports_damage_like_load);
	add(s, "save keeps previous file as backup",
	    test_save_keeps_previous_file_as_backup);
	add(s, "export and import key reopen the file",
	    test_export_import_key_reopens_file);
	add(s, "create checks its arguments", test_create_checks_its_arguments);
	add(s, "valid names table", test_valid_names_table);
	add(s, "duplicate name or key is EXISTS", test_duplicate_name_or_key_exists);
	add(s, "automatic names take the first free",
	    test_automatic_names_take_first_free);
	add(s, "comments are checked", test_comments_are_checked);
	add(s, "set_state and links round trip", test_set_state_and_links);
	add(s, "retiring keeps the public key only", test_retire_keeps_public_only);
	add(s, "rename follows rotation links", test_rename_follows_links);
	add(s, "find and remove by name or fingerprint",
	    test_find_and_remove_by_name_or_fingerprint);
	add(s, "default KDF figures", test_default_kdf_figures);
	add(s, "100 Ed25519 keys figures", test_hundred_ed25519_keys_figures);
	return s;
}

int
main(void)
{
	return sshx_run_suite(keyring_suite());
}
