/*
 * The encrypted keyring file (doc/keyring-format.md): a header authenticated
 * by its own SHA-256 digest and as GCM AAD, a passphrase check derived from
 * the argon2id output, and an AES-256-GCM body of key records.
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gcrypt.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "fs.h"
#include "key.h"
#include "keyring.h"

#define KR_MAGIC		"SSHXKRNG"
#define KR_MAGIC_LEN		8
#define KR_VERSION		1
#define KR_KDF_ARGON2ID		1
#define KR_SALT_LEN		32
#define KR_NONCE_LEN		12
#define KR_CHECK_LEN		32
#define KR_DIGEST_LEN		32
#define KR_TAG_LEN		16
#define KR_AES_KEY_LEN		32
#define KR_DERIVED_LEN		64	/* AES-256 key, then the check key */
#define KR_CHECK_LABEL		"sshx keyring check v1"
#define KR_MAX_COMMENT		1024
/* Every version's header, digest included, ends within this many bytes. */
#define KR_HEADER_SCAN_MAX	4096

/* Bounds on KDF parameters read from a file or given by a caller. */
#define KR_T_MIN		1
#define KR_T_MAX		64
#define KR_M_MIN		(8U * 1024)		/* 8 MiB in KiB */
#define KR_M_MAX		(4U * 1024 * 1024)	/* 4 GiB in KiB */
#define KR_P_MIN		1
#define KR_P_MAX		16

struct record {
	struct sshx_keyring_entry e;	/* what callers see; points at the fields below */
	char *name;
	char *comment;
	char *pred;
	char *succ;
	struct sshx_key *key;
};

struct sshx_keyring {
	struct sshx_kdf_params kdf;
	uint8_t salt[KR_SALT_LEN];
	uint8_t *derived;		/* KR_DERIVED_LEN bytes of secure memory */
	struct record **recs;
	size_t nrecs;
	size_t arecs;
};

/*
 * The smallest record: a 1-byte name, then empty comment and links, the
 * fixed fields and a key string (each string with its 4-byte length).
 */
#define KR_MIN_RECORD_LEN	(5 + 4 + 8 + 1 + 8 + 4 + 4 + 4)

/* The parts of a keyring file, checked for shape but not yet for the key. */
struct kr_file {
	uint8_t kdf_id;
	struct sshx_kdf_params kdf;
	const uint8_t *salt, *nonce, *check;
	size_t saltlen, noncelen, checklen;
	const uint8_t *aad;		/* the header through its digest */
	size_t aadlen;
	const uint8_t *body;		/* ciphertext, followed by the tag */
	size_t bodylen;
};

/*
 * Sets why and returns SSHX_ERR_TAMPERED, the answer for every damaged file.
 * A changed length field looks like truncation, so every message says first
 * that the file is corrupt or was modified, then what was seen.
 */
static int
tampered(char *why, size_t whylen, const char *what)
{
	sshx_why(why, whylen, "keyring corrupt or modified: %s", what);
	return SSHX_ERR_TAMPERED;
}

/* Frees a string after wiping it. */
static void
str_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

static void
record_free(struct record *rec)
{
	if (rec == NULL)
		return;
	sshx_key_free(rec->key);
	str_free(rec->name);
	str_free(rec->comment);
	str_free(rec->pred);
	str_free(rec->succ);
	explicit_bzero(rec, sizeof(*rec));
	free(rec);
}

/* Points the public view of a record at its fields. */
static void
record_sync(struct record *rec)
{
	rec->e.name = rec->name;
	rec->e.comment = rec->comment;
	rec->e.predecessor = rec->pred;
	rec->e.successor = rec->succ;
	rec->e.key = rec->key;
}

/* ASCII-only, so that the locale never changes what a name may be. */
static int
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

int
sshx_keyring_valid_name(const char *name)
{
	size_t i, n;

	if (name == NULL)
		return 0;
	n = strnlen(name, SSHX_KEYRING_MAX_NAME + 1);
	if (n == 0 || n > SSHX_KEYRING_MAX_NAME || !is_alnum(name[0]))
		return 0;
	for (i = 1; i < n; i++) {
		if (!is_alnum(name[i]) && strchr("._@+-", name[i]) == NULL)
			return 0;
	}
	return 1;
}

/* Returns 1 when a rotation link is empty or a valid name. */
static int
valid_link(const char *s)
{
	return *s == '\0' || sshx_keyring_valid_name(s);
}

/* Returns 1 when a comment has no control characters and fits. */
static int
valid_comment(const char *s)
{
	size_t i, n = strlen(s);

	if (n > KR_MAX_COMMENT)
		return 0;
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			return 0;
	}
	return 1;
}

/* Returns the index of the record named, or with this fingerprint, or -1. */
static ssize_t
find_index(const struct sshx_keyring *kr, const char *name_or_fp)
{
	char fp[SSHX_FP_LEN];
	int by_fp;
	size_t i;

	if (kr == NULL || name_or_fp == NULL)
		return -1;
	by_fp = strncmp(name_or_fp, "SHA256:", 7) == 0;
	for (i = 0; i < kr->nrecs; i++) {
		if (!by_fp) {
			if (strcmp(kr->recs[i]->name, name_or_fp) == 0)
				return (ssize_t)i;
		} else if (sshx_key_fingerprint(kr->recs[i]->key, fp) == 0 &&
		    strcmp(fp, name_or_fp) == 0)
			return (ssize_t)i;
	}
	return -1;
}

void
sshx_keyring_default_kdf(struct sshx_kdf_params *kdf)
{
	kdf->t_cost = 3;
	kdf->m_cost_kib = 65536;
	kdf->parallelism = 1;
}

static int
kdf_in_bounds(const struct sshx_kdf_params *kdf)
{
	return kdf->t_cost >= KR_T_MIN && kdf->t_cost <= KR_T_MAX &&
	    kdf->m_cost_kib >= KR_M_MIN && kdf->m_cost_kib <= KR_M_MAX &&
	    kdf->parallelism >= KR_P_MIN && kdf->parallelism <= KR_P_MAX;
}

/* Allocates an empty keyring with room for the derived key in secure memory. */
static int
kr_new(struct sshx_keyring **krp)
{
	struct sshx_keyring *kr;

	*krp = NULL;
	if ((kr = calloc(1, sizeof(*kr))) == NULL)
		return SSHX_ERR_ALLOC;
	if ((kr->derived = gcry_malloc_secure(KR_DERIVED_LEN)) == NULL) {
		free(kr);
		return SSHX_ERR_SECMEM;
	}
	*krp = kr;
	return 0;
}

void
sshx_keyring_free(struct sshx_keyring *kr)
{
	size_t i;

	if (kr == NULL)
		return;
	for (i = 0; i < kr->nrecs; i++)
		record_free(kr->recs[i]);
	free(kr->recs);
	if (kr->derived != NULL) {
		explicit_bzero(kr->derived, KR_DERIVED_LEN);
		gcry_free(kr->derived);
	}
	explicit_bzero(kr, sizeof(*kr));
	free(kr);
}

/* Computes the passphrase check, HMAC-SHA256(check key, label), from the derived bytes. */
static int
compute_check(const uint8_t *derived, uint8_t out[static KR_CHECK_LEN])
{
	gcry_md_hd_t h = NULL;
	const unsigned char *mac;
	int r = SSHX_ERR_CRYPTO;

	if (gcry_md_open(&h, GCRY_MD_SHA256, GCRY_MD_FLAG_HMAC |
	    GCRY_MD_FLAG_SECURE) != 0)
		return SSHX_ERR_CRYPTO;
	if (gcry_md_setkey(h, derived + KR_AES_KEY_LEN,
	    KR_DERIVED_LEN - KR_AES_KEY_LEN) != 0)
		goto out;
	gcry_md_write(h, KR_CHECK_LABEL, sizeof(KR_CHECK_LABEL) - 1);
	if ((mac = gcry_md_read(h, GCRY_MD_SHA256)) == NULL)
		goto out;
	memcpy(out, mac, KR_CHECK_LEN);
	r = 0;
 out:
	gcry_md_close(h);
	return r;
}

/*
 * Draws a fresh salt and derives the key from pass with kdf (NULL for the
 * defaults); kr is changed only on success.
 */
static int
rekey(struct sshx_keyring *kr, const uint8_t *pass, size_t passlen,
    const struct sshx_kdf_params *kdf)
{
	struct sshx_kdf_params k;
	struct sshx_argon2_params a;
	uint8_t salt[KR_SALT_LEN], *derived = NULL;
	int r;

	if (kdf == NULL)
		sshx_keyring_default_kdf(&k);
	else
		k = *kdf;
	/* libgcrypt's argon2 refuses an empty passphrase, and so do we. */
	if (!kdf_in_bounds(&k) || pass == NULL || passlen == 0)
		return SSHX_ERR_INVALID_ARGUMENT;
	if ((derived = gcry_malloc_secure(KR_DERIVED_LEN)) == NULL)
		return SSHX_ERR_SECMEM;
	gcry_randomize(salt, sizeof(salt), GCRY_STRONG_RANDOM);
	a.t_cost = k.t_cost;
	a.m_cost_kib = k.m_cost_kib;
	a.parallelism = k.parallelism;
	if ((r = sshx_crypto_argon2id(pass, passlen, salt, sizeof(salt), &a,
	    derived, KR_DERIVED_LEN)) != 0)
		goto out;
	memcpy(kr->salt, salt, sizeof(salt));
	kr->kdf = k;
	explicit_bzero(kr->derived, KR_DERIVED_LEN);
	gcry_free(kr->derived);
	kr->derived = derived;
	derived = NULL;		/* transferred */
 out:
	if (derived != NULL) {
		explicit_bzero(derived, KR_DERIVED_LEN);
		gcry_free(derived);
	}
	return r;
}

int
sshx_keyring_create(const uint8_t *pass, size_t passlen,
    const struct sshx_kdf_params *kdf, struct sshx_keyring **krp)
{
	struct sshx_keyring *kr = NULL;
	int r;

	if (krp == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	*krp = NULL;
	if ((r = kr_new(&kr)) != 0 || (r = rekey(kr, pass, passlen, kdf)) != 0)
		goto out;
	*krp = kr;
	kr = NULL;		/* transferred */
 out:
	sshx_keyring_free(kr);
	return r;
}

int
sshx_keyring_set_passphrase(struct sshx_keyring *kr, const uint8_t *pass,
    size_t passlen, const struct sshx_kdf_params *kdf)
{
	if (kr == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	return rekey(kr, pass, passlen, kdf);
}

void
sshx_keyring_kdf(const struct sshx_keyring *kr, struct sshx_kdf_params *kdf)
{
	*kdf = kr->kdf;
}

/*
 * Tells whether the first bytes of a file with an unknown version hold a
 * header that ends in the SHA-256 of everything before it, which every
 * version's header does: a newer file rather than a damaged one.
 */
static int
has_self_digest(const uint8_t *d, size_t len)
{
	gcry_md_hd_t h = NULL, c = NULL;
	const unsigned char *md;
	size_t o, last;
	int found = 0;

	if (len < KR_MAGIC_LEN + 4 + KR_DIGEST_LEN)
		return 0;
	last = len - KR_DIGEST_LEN;
	if (last > KR_HEADER_SCAN_MAX - KR_DIGEST_LEN)
		last = KR_HEADER_SCAN_MAX - KR_DIGEST_LEN;
	if (gcry_md_open(&h, GCRY_MD_SHA256, 0) != 0)
		return 0;
	gcry_md_write(h, d, KR_MAGIC_LEN + 4);
	for (o = KR_MAGIC_LEN + 4; o <= last && !found; o++) {
		if (gcry_md_copy(&c, h) != 0)
			break;
		if ((md = gcry_md_read(c, GCRY_MD_SHA256)) != NULL &&
		    memcmp(md, d + o, KR_DIGEST_LEN) == 0)
			found = 1;
		gcry_md_close(c);
		gcry_md_write(h, d + o, 1);
	}
	gcry_md_close(h);
	return found;
}

/*
 * Checks the shape of a keyring file without any key: magic, version,
 * header digest, KDF parameters and body length, in that order, so that
 * each kind of damage is reported before the KDF would run.
 */
static int
parse_file(const uint8_t *d, size_t len, struct kr_file *f, char *why,
    size_t whylen)
{
	struct sshx_buf *b = NULL;
	uint8_t digest[KR_DIGEST_LEN];
	uint32_t version, bodylen;
	size_t hlen, rest;
	int r;

	memset(f, 0, sizeof(*f));
	if (len == 0)
		return tampered(why, whylen, "the keyring file is empty");
	if (memcmp(d, KR_MAGIC, len < KR_MAGIC_LEN ? len : KR_MAGIC_LEN) != 0)
		return tampered(why, whylen, "not an sshx keyring (or its header "
		    "was modified)");
	if (len < KR_MAGIC_LEN + 4)
		return tampered(why, whylen, "the keyring file is truncated");
	if ((b = sshx_buf_from(d, len)) == NULL)
		return SSHX_ERR_ALLOC;
	if ((r = sshx_buf_consume(b, KR_MAGIC_LEN)) != 0 ||
	    (r = sshx_buf_get_u32(b, &version)) != 0)
		goto out;
	if (version != KR_VERSION) {
		if (version > KR_VERSION && has_self_digest(d, len)) {
			sshx_why(why, whylen, "keyring version %u is newer than "
			    "this sshx supports (%u)", version, KR_VERSION);
			r = SSHX_ERR_VERSION;
		} else
			r = tampered(why, whylen, "keyring header modified "
			    "(version field)");
		goto out;
	}
	if (sshx_buf_get_u8(b, &f->kdf_id) != 0 ||
	    sshx_buf_get_u32(b, &f->kdf.t_cost) != 0 ||
	    sshx_buf_get_u32(b, &f->kdf.m_cost_kib) != 0 ||
	    sshx_buf_get_u32(b, &f->kdf.parallelism) != 0 ||
	    sshx_buf_get_string_direct(b, &f->salt, &f->saltlen) != 0 ||
	    sshx_buf_get_string_direct(b, &f->nonce, &f->noncelen) != 0 ||
	    sshx_buf_get_string_direct(b, &f->check, &f->checklen) != 0 ||
	    sshx_buf_len(b) < KR_DIGEST_LEN) {
		r = tampered(why, whylen, "the keyring file is truncated");
		goto out;
	}
	hlen = len - sshx_buf_len(b);
	gcry_md_hash_buffer(GCRY_MD_SHA256, digest, d, hlen);
	if (memcmp(digest, d + hlen, KR_DIGEST_LEN) != 0) {
		r = tampered(why, whylen, "keyring header modified");
		goto out;
	}
	f->aad = d;
	f->aadlen = hlen + KR_DIGEST_LEN;
	if ((r = sshx_buf_consume(b, KR_DIGEST_LEN)) != 0)
		goto out;
	if (f->kdf_id != KR_KDF_ARGON2ID || !kdf_in_bounds(&f->kdf) ||
	    f->saltlen != KR_SALT_LEN || f->noncelen != KR_NONCE_LEN ||
	    f->checklen != KR_CHECK_LEN) {
		r = tampered(why, whylen, "keyring header has an unknown KDF "
		    "or parameters out of range");
		goto out;
	}
	if (sshx_buf_get_u32(b, &bodylen) != 0 ||
	    (rest = sshx_buf_len(b)) < (size_t)bodylen + KR_TAG_LEN) {
		r = tampered(why, whylen, "the keyring file is truncated");
		goto out;
	}
	if (rest > (size_t)bodylen + KR_TAG_LEN) {
		r = tampered(why, whylen, "unexpected data after the keyring");
		goto out;
	}
	f->body = sshx_buf_ptr(b);
	f->bodylen = bodylen;
	r = 0;
 out:
	sshx_buf_free(b);
	return r == SSHX_ERR_INCOMPLETE ? tampered(why, whylen,
	    "the keyring file is truncated") : r;
}

/* Opens an AES-256-GCM handle with the derived key, the nonce and the header as AAD. */
static int
gcm_start(gcry_cipher_hd_t *hdp, const uint8_t *key, const uint8_t *nonce,
    const uint8_t *aad, size_t aadlen)
{
	gcry_cipher_hd_t hd = NULL;

	*hdp = NULL;
	if (gcry_cipher_open(&hd, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_GCM,
	    GCRY_CIPHER_SECURE) != 0)
		return SSHX_ERR_CRYPTO;
	if (gcry_cipher_setkey(hd, key, KR_AES_KEY_LEN) != 0 ||
	    gcry_cipher_setiv(hd, nonce, KR_NONCE_LEN) != 0 ||
	    gcry_cipher_authenticate(hd, aad, aadlen) != 0 ||
	    gcry_cipher_final(hd) != 0) {
		gcry_cipher_close(hd);
		return SSHX_ERR_CRYPTO;
	}
	*hdp = hd;
	return 0;
}

/* Encrypts len bytes of plain into ct and writes the tag after them. */
static int
gcm_seal(const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
    size_t aadlen, const uint8_t *plain, size_t len, uint8_t *ct)
{
	gcry_cipher_hd_t hd;
	int r;

	if ((r = gcm_start(&hd, key, nonce, aad, aadlen)) != 0)
		return r;
	if (gcry_cipher_encrypt(hd, ct, len, plain, len) != 0 ||
	    gcry_cipher_gettag(hd, ct + len, KR_TAG_LEN) != 0)
		r = SSHX_ERR_CRYPTO;
	gcry_cipher_close(hd);
	return r;
}

/*
 * Decrypts len bytes of ct (followed by its tag) into plain; a tag that does
 * not match gives SSHX_ERR_TAMPERED, and plain is wiped on any failure.
 */
static int
gcm_open(const uint8_t *key, const uint8_t *nonce, const uint8_t *aad,
    size_t aadlen, const uint8_t *ct, size_t len, uint8_t *plain)
{
	gcry_cipher_hd_t hd;
	gcry_error_t e;
	int r;

	if ((r = gcm_start(&hd, key, nonce, aad, aadlen)) != 0)
		return r;
	if (gcry_cipher_decrypt(hd, plain, len, ct, len) != 0)
		r = SSHX_ERR_CRYPTO;
	else if ((e = gcry_cipher_checktag(hd, ct + len, KR_TAG_LEN)) != 0)
		r = gcry_err_code(e) == GPG_ERR_CHECKSUM ? SSHX_ERR_TAMPERED :
		    SSHX_ERR_CRYPTO;
	gcry_cipher_close(hd);
	if (r != 0)
		explicit_bzero(plain, len);
	return r;
}

/* Reads one decrypted record; any malformed or invalid field is an error. */
static int
get_record(struct sshx_buf *b, struct record **recp)
{
	struct record *rec = NULL;
	struct sshx_buf *kb = NULL;
	const uint8_t *kp;
	size_t klen;
	uint8_t state;
	int r;

	*recp = NULL;
	if ((rec = calloc(1, sizeof(*rec))) == NULL)
		return SSHX_ERR_ALLOC;
	if ((r = sshx_buf_get_cstring(b, &rec->name, NULL)) != 0 ||
	    (r = sshx_buf_get_cstring(b, &rec->comment, NULL)) != 0 ||
	    (r = sshx_buf_get_u64(b, &rec->e.created)) != 0 ||
	    (r = sshx_buf_get_u8(b, &state)) != 0 ||
	    (r = sshx_buf_get_u64(b, &rec->e.retire_at)) != 0 ||
	    (r = sshx_buf_get_cstring(b, &rec->pred, NULL)) != 0 ||
	    (r = sshx_buf_get_cstring(b, &rec->succ, NULL)) != 0 ||
	    (r = sshx_buf_get_string_direct(b, &kp, &klen)) != 0)
		goto out;
	if (!sshx_keyring_valid_name(rec->name) || !valid_comment(rec->comment) ||
	    state > SSHX_KEYSTATE_RETIRED || !valid_link(rec->pred) ||
	    !valid_link(rec->succ)) {
		r = SSHX_ERR_INVALID_FORMAT;
		goto out;
	}
	rec->e.state = (enum sshx_key_state)state;
	/* A retired record keeps only the public key, as history. */
	if (rec->e.state == SSHX_KEYSTATE_RETIRED) {
		if ((r = sshx_key_from_blob(kp, klen, &rec->key)) != 0)
			goto out;
	} else {
		if ((kb = sshx_buf_from(kp, klen)) == NULL) {
			r = SSHX_ERR_ALLOC;
			goto out;
		}
		if ((r = sshx_key_parse_private(kb, &rec->key)) != 0)
			goto out;
		if (sshx_buf_len(kb) != 0) {
			r = SSHX_ERR_INVALID_FORMAT;
			goto out;
		}
	}
	record_sync(rec);
	*recp = rec;
	rec = NULL;		/* transferred */
 out:
	sshx_buf_free(kb);
	record_free(rec);
	return r;
}

/* Reads the decrypted body into kr's records. */
static int
parse_body(struct sshx_keyring *kr, struct sshx_buf *b, char *why,
    size_t whylen)
{
	struct record *rec = NULL;
	uint32_t count, i;
	int r;

	if (sshx_buf_get_u32(b, &count) != 0)
		return tampered(why, whylen, "keyring body is truncated");
	if (count > SSHX_KEYRING_MAX_KEYS)
		return tampered(why, whylen, "keyring holds too many records");
	/* Before allocating for count records: are there bytes for them at all? */
	if (count > sshx_buf_len(b) / KR_MIN_RECORD_LEN)
		return tampered(why, whylen, "keyring body is truncated");
	if (count > 0 && (kr->recs = calloc(count, sizeof(*kr->recs))) == NULL)
		return SSHX_ERR_ALLOC;
	kr->arecs = count;
	for (i = 0; i < count; i++) {
		if ((r = get_record(b, &rec)) != 0) {
			if (r == SSHX_ERR_ALLOC || r == SSHX_ERR_SECMEM)
				return r;
			sshx_why(why, whylen, "keyring record %u is invalid (%s)",
			    i + 1, sshx_strerror(r));
			return SSHX_ERR_TAMPERED;
		}
		if (find_index(kr, rec->name) >= 0) {
			record_free(rec);
			return tampered(why, whylen, "two keyring records share "
			    "a name");
		}
		kr->recs[kr->nrecs++] = rec;
	}
	if (sshx_buf_len(b) != 0)
		return tampered(why, whylen, "unexpected data after the last "
		    "keyring record");
	return 0;
}

/*
 * With kr's derived key: verifies the passphrase check, decrypts the body
 * into secure memory and reads the records into kr.
 */
static int
unseal(struct sshx_keyring *kr, const struct kr_file *f, char *why,
    size_t whylen)
{
	struct sshx_buf *plain = NULL;
	uint8_t check[KR_CHECK_LEN], *p;
	int r;

	if ((r = compute_check(kr->derived, check)) != 0)
		goto out;
	if (!sshx_crypto_equal(check, f->check, KR_CHECK_LEN)) {
		sshx_why(why, whylen, "wrong passphrase for this keyring");
		r = SSHX_ERR_BAD_PASSPHRASE;
		goto out;
	}
	if ((plain = sshx_buf_new_secure()) == NULL) {
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	if ((r = sshx_buf_reserve(plain, f->bodylen, &p)) != 0)
		goto out;
	if ((r = gcm_open(kr->derived, f->nonce, f->aad, f->aadlen, f->body,
	    f->bodylen, p)) != 0) {
		if (r == SSHX_ERR_TAMPERED)
			sshx_why(why, whylen, "keyring contents modified");
		goto out;
	}
	r = parse_body(kr, plain, why, whylen);
 out:
	explicit_bzero(check, sizeof(check));
	sshx_buf_free(plain);
	return r;
}

/* Reads the file through the safe-read rules, mapping its answers to the load contract. */
static int
read_file(const char *path, struct sshx_buf **filep, char *why, size_t whylen)
{
	int r, saved;

	r = sshx_fs_read(path, SSHX_KEYRING_MAX_FILE, SSHX_FS_PRIVATE, filep,
	    why, whylen);
	saved = errno;
	if (r == 0)
		return 0;
	if (why != NULL && whylen > 0 && why[0] == '\0') {
		if (r == SSHX_ERR_NOT_FOUND)
			sshx_why(why, whylen, "no keyring at %s", path);
		else if (r == SSHX_ERR_SYSTEM)
			sshx_why(why, whylen, "%s: %s", path, strerror(saved));
	}
	if (r == SSHX_ERR_LIMIT || r == SSHX_ERR_NO_BUFFER_SPACE)
		r = tampered(why, whylen, "the keyring file is larger than any "
		    "keyring");
	errno = saved;
	return r;
}

int
sshx_keyring_load(const char *path, const uint8_t *pass, size_t passlen,
    struct sshx_keyring **krp, char *why, size_t whylen)
{
	struct sshx_buf *file = NULL;
	struct sshx_keyring *kr = NULL;
	struct sshx_argon2_params a;
	struct kr_file f;
	int r;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (krp == NULL || path == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	*krp = NULL;
	if ((r = read_file(path, &file, why, whylen)) != 0 ||
	    (r = parse_file(sshx_buf_ptr(file), sshx_buf_len(file), &f, why,
	    whylen)) != 0 || (r = kr_new(&kr)) != 0)
		goto out;
	if (pass == NULL || passlen == 0) {
		sshx_why(why, whylen, "an empty passphrase opens no keyring");
		r = SSHX_ERR_BAD_PASSPHRASE;
		goto out;
	}
	kr->kdf = f.kdf;
	memcpy(kr->salt, f.salt, KR_SALT_LEN);
	a.t_cost = f.kdf.t_cost;
	a.m_cost_kib = f.kdf.m_cost_kib;
	a.parallelism = f.kdf.parallelism;
	if ((r = sshx_crypto_argon2id(pass, passlen, kr->salt, KR_SALT_LEN, &a,
	    kr->derived, KR_DERIVED_LEN)) != 0 ||
	    (r = unseal(kr, &f, why, whylen)) != 0)
		goto out;
	*krp = kr;
	kr = NULL;		/* transferred */
 out:
	sshx_keyring_free(kr);
	sshx_buf_free(file);
	return r;
}

int
sshx_keyring_reload(const struct sshx_keyring *kr, const char *path,
    struct sshx_keyring **nkrp, char *why, size_t whylen)
{
	struct sshx_buf *file = NULL;
	struct sshx_keyring *nkr = NULL;
	struct kr_file f;
	int r;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (kr == NULL || path == NULL || nkrp == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	*nkrp = NULL;
	if ((r = read_file(path, &file, why, whylen)) != 0 ||
	    (r = parse_file(sshx_buf_ptr(file), sshx_buf_len(file), &f, why,
	    whylen)) != 0)
		goto out;
	if (memcmp(f.salt, kr->salt, KR_SALT_LEN) != 0 ||
	    f.kdf.t_cost != kr->kdf.t_cost ||
	    f.kdf.m_cost_kib != kr->kdf.m_cost_kib ||
	    f.kdf.parallelism != kr->kdf.parallelism) {
		sshx_why(why, whylen, "the keyring's passphrase has changed");
		r = SSHX_ERR_BAD_PASSPHRASE;
		goto out;
	}
	if ((r = kr_new(&nkr)) != 0)
		goto out;
	nkr->kdf = kr->kdf;
	memcpy(nkr->salt, kr->salt, KR_SALT_LEN);
	memcpy(nkr->derived, kr->derived, KR_DERIVED_LEN);
	if ((r = unseal(nkr, &f, why, whylen)) != 0)
		goto out;
	*nkrp = nkr;
	nkr = NULL;		/* transferred */
 out:
	sshx_keyring_free(nkr);
	sshx_buf_free(file);
	return r;
}

/* Appends the plaintext body (record count and records) to b, a secure buffer. */
static int
put_body(const struct sshx_keyring *kr, struct sshx_buf *b)
{
	struct sshx_buf *kb = NULL;
	const struct record *rec;
	const uint8_t *blob;
	size_t i, bloblen;
	int r;

	if ((kb = sshx_buf_new_secure()) == NULL)
		return SSHX_ERR_ALLOC;
	if ((r = sshx_buf_put_u32(b, (uint32_t)kr->nrecs)) != 0)
		goto out;
	for (i = 0; i < kr->nrecs; i++) {
		rec = kr->recs[i];
		sshx_buf_reset(kb);
		if ((r = sshx_buf_put_cstring(b, rec->name)) != 0 ||
		    (r = sshx_buf_put_cstring(b, rec->comment)) != 0 ||
		    (r = sshx_buf_put_u64(b, rec->e.created)) != 0 ||
		    (r = sshx_buf_put_u8(b, (uint8_t)rec->e.state)) != 0 ||
		    (r = sshx_buf_put_u64(b, rec->e.retire_at)) != 0 ||
		    (r = sshx_buf_put_cstring(b, rec->pred)) != 0 ||
		    (r = sshx_buf_put_cstring(b, rec->succ)) != 0)
			goto out;
		if (rec->e.state == SSHX_KEYSTATE_RETIRED) {
			blob = sshx_key_blob(rec->key, &bloblen);
			r = sshx_buf_put_string(b, blob, bloblen);
		} else if ((r = sshx_key_put_private(rec->key, kb)) == 0)
			r = sshx_buf_put_stringb(b, kb);
		if (r != 0)
			goto out;
	}
 out:
	sshx_buf_free(kb);
	return r;
}

/* Appends the header, its digest, and the sealed body to file. */
static int
put_file(const struct sshx_keyring *kr, const struct sshx_buf *plain,
    struct sshx_buf *file)
{
	uint8_t nonce[KR_NONCE_LEN], check[KR_CHECK_LEN];
	uint8_t digest[KR_DIGEST_LEN], *ct;
	size_t len = sshx_buf_len(plain), aadlen;
	int r;

	gcry_randomize(nonce, sizeof(nonce), GCRY_STRONG_RANDOM);
	if ((r = compute_check(kr->derived, check)) != 0)
		return r;
	if ((r = sshx_buf_put(file, KR_MAGIC, KR_MAGIC_LEN)) != 0 ||
	    (r = sshx_buf_put_u32(file, KR_VERSION)) != 0 ||
	    (r = sshx_buf_put_u8(file, KR_KDF_ARGON2ID)) != 0 ||
	    (r = sshx_buf_put_u32(file, kr->kdf.t_cost)) != 0 ||
	    (r = sshx_buf_put_u32(file, kr->kdf.m_cost_kib)) != 0 ||
	    (r = sshx_buf_put_u32(file, kr->kdf.parallelism)) != 0 ||
	    (r = sshx_buf_put_string(file, kr->salt, KR_SALT_LEN)) != 0 ||
	    (r = sshx_buf_put_string(file, nonce, KR_NONCE_LEN)) != 0 ||
	    (r = sshx_buf_put_string(file, check, KR_CHECK_LEN)) != 0)
		return r;
	gcry_md_hash_buffer(GCRY_MD_SHA256, digest, sshx_buf_ptr(file),
	    sshx_buf_len(file));
	if ((r = sshx_buf_put(file, digest, KR_DIGEST_LEN)) != 0)
		return r;
	aadlen = sshx_buf_len(file);
	if ((r = sshx_buf_put_u32(file, (uint32_t)len)) != 0 ||
	    (r = sshx_buf_reserve(file, len + KR_TAG_LEN, &ct)) != 0)
		return r;
	return gcm_seal(kr->derived, nonce, sshx_buf_ptr(file), aadlen,
	    sshx_buf_ptr(plain), len, ct);
}

int
sshx_keyring_save(const struct sshx_keyring *kr, const char *path,
    char *why, size_t whylen)
{
	struct sshx_buf *plain = NULL, *file = NULL;
	int r;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (kr == NULL || path == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	if ((plain = sshx_buf_new_secure()) == NULL ||
	    (file = sshx_buf_new()) == NULL) {
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	if ((r = put_body(kr, plain)) != 0 || (r = put_file(kr, plain, file)) != 0) {
		sshx_why(why, whylen, "cannot build the keyring: %s",
		    sshx_strerror(r));
		goto out;
	}
	r = sshx_fs_write_atomic(path, sshx_buf_ptr(file), sshx_buf_len(file),
	    0600, SSHX_FS_KEEP_BACKUP, why, whylen);
 out:
	sshx_buf_free(plain);
	sshx_buf_free(file);
	return r;
}

size_t
sshx_keyring_count(const struct sshx_keyring *kr)
{
	return kr == NULL ? 0 : kr->nrecs;
}

const struct sshx_keyring_entry *
sshx_keyring_at(const struct sshx_keyring *kr, size_t i)
{
	if (kr == NULL || i >= kr->nrecs)
		return NULL;
	return &kr->recs[i]->e;
}

const struct sshx_keyring_entry *
sshx_keyring_find(const struct sshx_keyring *kr, const char *name_or_fp)
{
	ssize_t i = find_index(kr, name_or_fp);

	return i < 0 ? NULL : &kr->recs[i]->e;
}

/* Picks the first free name "key-N", N counting from 1. */
static int
free_name(const struct sshx_keyring *kr, char *out, size_t outlen)
{
	size_t n;

	for (n = 1; n <= kr->nrecs + 1; n++) {
		snprintf(out, outlen, "key-%zu", n);
		if (find_index(kr, out) < 0)
			return 0;
	}
	return SSHX_ERR_INTERNAL;	/* n + 1 names cannot all be taken */
}

int
sshx_keyring_add(struct sshx_keyring *kr, struct sshx_key *key,
    const char *name, const char *comment)
{
	struct record *rec = NULL, **nrecs;
	char auto_name[32];
	size_t i, n;
	int r;

	if (kr == NULL || key == NULL || !sshx_key_has_private(key) ||
	    (name != NULL && !sshx_keyring_valid_name(name)))
		return SSHX_ERR_INVALID_ARGUMENT;
	if (comment == NULL)
		comment = "";
	if (!valid_comment(comment))
		return SSHX_ERR_INVALID_ARGUMENT;
	if (kr->nrecs >= SSHX_KEYRING_MAX_KEYS)
		return SSHX_ERR_LIMIT;
	if (name != NULL && find_index(kr, name) >= 0)
		return SSHX_ERR_EXISTS;
	for (i = 0; i < kr->nrecs; i++) {
		if (sshx_key_equal_public(kr->recs[i]->key, key))
			return SSHX_ERR_EXISTS;
	}
	if (name == NULL) {
		if ((r = free_name(kr, auto_name, sizeof(auto_name))) != 0)
			return r;
		name = auto_name;
	}
	if (kr->nrecs == kr->arecs) {
		n = kr->arecs == 0 ? 8 : kr->arecs * 2;
		if ((nrecs = reallocarray(kr->recs, n, sizeof(*nrecs))) == NULL)
			return SSHX_ERR_ALLOC;
		kr->recs = nrecs;
		kr->arecs = n;
	}
	if ((rec = calloc(1, sizeof(*rec))) == NULL ||
	    (rec->name = strdup(name)) == NULL ||
	    (rec->comment = strdup(comment)) == NULL ||
	    (rec->pred = strdup("")) == NULL ||
	    (rec->succ = strdup("")) == NULL) {
		record_free(rec);
		return SSHX_ERR_ALLOC;
	}
	rec->e.created = (uint64_t)time(NULL);
	rec->e.state = SSHX_KEYSTATE_ACTIVE;
	rec->key = key;		/* transferred, now that nothing can fail */
	record_sync(rec);
	kr->recs[kr->nrecs++] = rec;
	return 0;
}

int
sshx_keyring_remove(struct sshx_keyring *kr, const char *name_or_fp)
{
	ssize_t i = find_index(kr, name_or_fp);

	if (i < 0)
		return kr == NULL || name_or_fp == NULL ?
		    SSHX_ERR_INVALID_ARGUMENT : SSHX_ERR_NOT_FOUND;
	record_free(kr->recs[i]);
	memmove(&kr->recs[i], &kr->recs[i + 1],
	    (kr->nrecs - (size_t)i - 1) * sizeof(*kr->recs));
	kr->nrecs--;
	return 0;
}

int
sshx_keyring_set_state(struct sshx_keyring *kr, const char *name,
    enum sshx_key_state state, uint64_t retire_at, const char *predecessor,
    const char *successor)
{
	struct record *rec;
	struct sshx_key *pub = NULL;
	const uint8_t *blob;
	char *pred = NULL, *succ = NULL;
	size_t bloblen;
	ssize_t i;
	int r;

	if (predecessor == NULL)
		predecessor = "";
	if (successor == NULL)
		successor = "";
	if (kr == NULL || name == NULL ||
	    (unsigned int)state > SSHX_KEYSTATE_RETIRED || !valid_link(predecessor) ||
	    !valid_link(successor))
		return SSHX_ERR_INVALID_ARGUMENT;
	if ((i = find_index(kr, name)) < 0)
		return SSHX_ERR_NOT_FOUND;
	rec = kr->recs[i];
	if (strcmp(predecessor, rec->name) == 0 ||
	    strcmp(successor, rec->name) == 0)
		return SSHX_ERR_INVALID_ARGUMENT;	/* a key cannot follow itself */
	/* Retiring drops the private key for good: nothing brings it back. */
	if (rec->e.state == SSHX_KEYSTATE_RETIRED &&
	    state != SSHX_KEYSTATE_RETIRED)
		return SSHX_ERR_INVALID_ARGUMENT;
	if (state == SSHX_KEYSTATE_RETIRED && sshx_key_has_private(rec->key)) {
		blob = sshx_key_blob(rec->key, &bloblen);
		if ((r = sshx_key_from_blob(blob, bloblen, &pub)) != 0)
			return r;
	}
	if ((pred = strdup(predecessor)) == NULL ||
	    (succ = strdup(successor)) == NULL) {
		free(pred);
		sshx_key_free(pub);
		return SSHX_ERR_ALLOC;
	}
	if (pub != NULL) {
		sshx_key_free(rec->key);	/* wipes the private parts */
		rec->key = pub;
	}
	str_free(rec->pred);
	str_free(rec->succ);
	rec->pred = pred;
	rec->succ = succ;
	rec->e.state = state;
	rec->e.retire_at = retire_at;
	record_sync(rec);
	return 0;
}

int
sshx_keyring_parse_untrusted(const uint8_t *d, size_t len, int body)
{
	struct sshx_keyring *kr = NULL;
	struct sshx_buf *b = NULL;
	struct kr_file f;
	char why[256];
	int r;

	if (!body)
		return parse_file(d, len, &f, why, sizeof(why));
	if ((r = kr_new(&kr)) != 0)
		return r;
	if ((b = sshx_buf_from(d, len)) == NULL)
		r = SSHX_ERR_ALLOC;
	else
		r = parse_body(kr, b, why, sizeof(why));
	sshx_buf_free(b);
	sshx_keyring_free(kr);
	return r;
}

int
sshx_keyring_rename(struct sshx_keyring *kr, const char *name,
    const char *newname)
{
	char **copies = NULL, **links[2];
	const char *oldname;
	ssize_t i;
	size_t j, k, n = 0, used = 0;
	int r = SSHX_ERR_ALLOC;

	if (kr == NULL || name == NULL || !sshx_keyring_valid_name(newname))
		return SSHX_ERR_INVALID_ARGUMENT;
	if ((i = find_index(kr, name)) < 0)
		return SSHX_ERR_NOT_FOUND;
	oldname = kr->recs[i]->name;
	if (strcmp(oldname, newname) == 0)
		return 0;
	if (find_index(kr, newname) >= 0)
		return SSHX_ERR_EXISTS;
	/* Every copy is made first, so that running out of memory changes nothing. */
	for (j = 0; j < kr->nrecs; j++)
		n += (strcmp(kr->recs[j]->pred, oldname) == 0) +
		    (strcmp(kr->recs[j]->succ, oldname) == 0);
	if ((copies = calloc(n + 1, sizeof(*copies))) == NULL)
		return SSHX_ERR_ALLOC;
	for (k = 0; k <= n; k++)
		if ((copies[k] = strdup(newname)) == NULL)
			goto out;
	for (j = 0; j < kr->nrecs; j++) {
		links[0] = &kr->recs[j]->pred;
		links[1] = &kr->recs[j]->succ;
		for (k = 0; k < 2; k++) {
			if (strcmp(*links[k], oldname) != 0)
				continue;
			str_free(*links[k]);
			*links[k] = copies[used++];
		}
	}
	str_free(kr->recs[i]->name);
	kr->recs[i]->name = copies[used++];
	for (j = 0; j < kr->nrecs; j++)
		record_sync(kr->recs[j]);
	r = 0;
 out:
	for (k = used; k <= n; k++)
		free(copies[k]);
	free(copies);
	return r;
}

int
sshx_keyring_export_key(const struct sshx_keyring *kr, struct sshx_buf *out)
{
	size_t start;
	int r;

	if (kr == NULL || out == NULL || !sshx_buf_is_secure(out))
		return SSHX_ERR_INVALID_ARGUMENT;
	start = sshx_buf_len(out);
	if ((r = sshx_buf_put_u32(out, kr->kdf.t_cost)) != 0 ||
	    (r = sshx_buf_put_u32(out, kr->kdf.m_cost_kib)) != 0 ||
	    (r = sshx_buf_put_u32(out, kr->kdf.parallelism)) != 0 ||
	    (r = sshx_buf_put_string(out, kr->salt, KR_SALT_LEN)) != 0 ||
	    (r = sshx_buf_put_string(out, kr->derived, KR_DERIVED_LEN)) != 0) {
		sshx_buf_consume_end(out, sshx_buf_len(out) - start);
		return r;
	}
	return 0;
}

int
sshx_keyring_import_key(struct sshx_buf *in, struct sshx_keyring **krp)
{
	struct sshx_buf *v = NULL;
	struct sshx_keyring *kr = NULL;
	const uint8_t *salt, *derived;
	size_t saltlen, derivedlen;
	int r;

	if (krp == NULL || in == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	*krp = NULL;
	/* Read through a view, so that in is consumed only when all of it was good. */
	if ((v = sshx_buf_from(sshx_buf_ptr(in), sshx_buf_len(in))) == NULL)
		return SSHX_ERR_ALLOC;
	if ((r = kr_new(&kr)) != 0 ||
	    (r = sshx_buf_get_u32(v, &kr->kdf.t_cost)) != 0 ||
	    (r = sshx_buf_get_u32(v, &kr->kdf.m_cost_kib)) != 0 ||
	    (r = sshx_buf_get_u32(v, &kr->kdf.parallelism)) != 0 ||
	    (r = sshx_buf_get_string_direct(v, &salt, &saltlen)) != 0 ||
	    (r = sshx_buf_get_string_direct(v, &derived, &derivedlen)) != 0)
		goto out;
	if (!kdf_in_bounds(&kr->kdf) || saltlen != KR_SALT_LEN ||
	    derivedlen != KR_DERIVED_LEN) {
		r = SSHX_ERR_INVALID_FORMAT;
		goto out;
	}
	memcpy(kr->salt, salt, KR_SALT_LEN);
	memcpy(kr->derived, derived, KR_DERIVED_LEN);
	if ((r = sshx_buf_consume(in, sshx_buf_len(in) - sshx_buf_len(v))) != 0)
		goto out;
	*krp = kr;
	kr = NULL;		/* transferred */
 out:
	sshx_keyring_free(kr);
	sshx_buf_free(v);
	return r;
}
