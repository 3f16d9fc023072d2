/*
 * SSH keys on libgcrypt: public blobs, the agent's private-key bodies,
 * generation, signing and verification.
 *
 * A key keeps three things built once: its public blob, a libgcrypt
 * public-key S-expression for verification and, when it has a private half,
 * a private-key S-expression and the agent body it came from, both in
 * libgcrypt secure memory. Signing only reads them, so several threads may
 * sign with one key at once.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <gcrypt.h>

#include "b64.h"
#include "buf.h"
#include "crypto.h"
#include "ed25519.h"
#include "err.h"
#include "key.h"

#define ED25519_VERIFY_MAX	60000	/* longest message libgcrypt can verify */

/* Smallest RSA modulus parsed or generated at all; SSHX_RSA_MIN_BITS is the agent's policy. */
#define RSA_HARD_MIN_BITS	1024
#define RSA_DEFAULT_BITS	3072
#define RSA_DEFAULT_E		65537U

/* The largest message digest used here (SHA-512). */
#define DIGEST_MAX		64
/* The longest affine coordinate of the supported curves (P-521). */
#define EC_COORD_MAX		66

struct ec_curve {
	enum sshx_key_type type;
	const char *ssh_name;	/* curve identifier inside blobs */
	const char *gcry_name;	/* libgcrypt's name for the curve */
	size_t coord_len;	/* bytes in one affine coordinate */
	unsigned int bits;
	int md;			/* digest the signature scheme uses */
	const char *md_name;	/* that digest's name in a data S-expression */
};

static const struct ec_curve ec_curves[] = {
	{ SSHX_KEY_ECDSA_P256, "nistp256", "NIST P-256", 32, 256,
	    GCRY_MD_SHA256, "sha256" },
	{ SSHX_KEY_ECDSA_P384, "nistp384", "NIST P-384", 48, 384,
	    GCRY_MD_SHA384, "sha384" },
	{ SSHX_KEY_ECDSA_P521, "nistp521", "NIST P-521", 66, 521,
	    GCRY_MD_SHA512, "sha512" },
};

static const struct {
	enum sshx_key_type type;
	const char *name;
} key_names[] = {
	{ SSHX_KEY_ED25519, "ssh-ed25519" },
	{ SSHX_KEY_ECDSA_P256, "ecdsa-sha2-nistp256" },
	{ SSHX_KEY_ECDSA_P384, "ecdsa-sha2-nistp384" },
	{ SSHX_KEY_ECDSA_P521, "ecdsa-sha2-nistp521" },
	{ SSHX_KEY_RSA, "ssh-rsa" },
	{ SSHX_KEY_DSA, "ssh-dss" },
};

struct sshx_key {
	enum sshx_key_type type;
	unsigned int bits;
	uint8_t *blob;		/* public blob; ordinary memory */
	size_t bloblen;
	gcry_sexp_t pub;	/* (public-key ...) */
	gcry_sexp_t priv;	/* (private-key ...) in secure memory, or NULL */
	struct sshx_buf *body;	/* agent private body after the type name (secure), or NULL */
};

/* Returns the curve parameters of an ECDSA key type, or NULL. */
static const struct ec_curve *
ec_curve_of(enum sshx_key_type type)
{
	size_t i;

	for (i = 0; i < sizeof(ec_curves) / sizeof(ec_curves[0]); i++)
		if (ec_curves[i].type == type)
			return &ec_curves[i];
	return NULL;
}

/* Maps a libgcrypt error; running out of memory is told apart from the rest. */
static int
gcry_to_err(gcry_error_t e, int secret)
{
	if (gcry_err_code(e) == GPG_ERR_ENOMEM)
		return secret ? SSHX_ERR_SECMEM : SSHX_ERR_ALLOC;
	return SSHX_ERR_CRYPTO;
}

/* Wipes and releases libgcrypt-allocated memory of len bytes. */
static void
gcry_freezero(void *p, size_t len)
{
	if (p == NULL)
		return;
	explicit_bzero(p, len);
	gcry_free(p);
}

/* Copies len bytes into a new libgcrypt secure allocation. */
static int
secure_dup(const uint8_t *p, size_t len, uint8_t **outp)
{
	uint8_t *d;

	*outp = NULL;
	if ((d = gcry_malloc_secure(len == 0 ? 1 : len)) == NULL)
		return SSHX_ERR_SECMEM;
	if (len != 0)
		memcpy(d, p, len);
	*outp = d;
	return 0;
}

/*
 * Reads unsigned big-endian bytes into an MPI held in ordinary memory.
 * libgcrypt makes an MPI secure whenever its input lies in secure memory, as
 * public values read from a private body do, so they are copied out first
 * rather than spend the secure pool on them.
 */
static int
mpi_from_public(const uint8_t *p, size_t len, gcry_mpi_t *mp)
{
	uint8_t *copy;
	gcry_error_t e;

	*mp = NULL;
	if ((copy = malloc(len == 0 ? 1 : len)) == NULL)
		return SSHX_ERR_ALLOC;
	if (len != 0)
		memcpy(copy, p, len);
	e = gcry_mpi_scan(mp, GCRYMPI_FMT_USG, copy, len, NULL);
	free(copy);
	if (e != 0)
		return gcry_to_err(e, 0);
	return 0;
}

/*
 * Reads unsigned big-endian bytes into an MPI held in secure memory.
 * gcry_mpi_scan allocates a secure MPI only when its input is in secure
 * memory, so the bytes pass through a secure copy first.
 */
static int
mpi_from_secret(const uint8_t *p, size_t len, gcry_mpi_t *mp)
{
	uint8_t *copy = NULL;
	gcry_error_t e;
	int r;

	*mp = NULL;
	if ((r = secure_dup(p, len, &copy)) != 0)
		return r;
	e = gcry_mpi_scan(mp, GCRYMPI_FMT_USG, copy, len, NULL);
	gcry_freezero(copy, len == 0 ? 1 : len);
	if (e != 0)
		return gcry_to_err(e, 1);
	if (!gcry_mpi_get_flag(*mp, GCRYMPI_FLAG_SECURE)) {
		gcry_mpi_release(*mp);
		*mp = NULL;
		return SSHX_ERR_SECMEM;
	}
	return 0;
}

/* Appends an MPI as an SSH mpint, wiping the temporary encoding. */
static int
put_mpi(struct sshx_buf *b, gcry_mpi_t m)
{
	unsigned char *p = NULL;
	size_t len = 0;
	gcry_error_t e;
	int r;

	if ((e = gcry_mpi_aprint(GCRYMPI_FMT_USG, &p, &len, m)) != 0)
		return gcry_to_err(e, gcry_mpi_get_flag(m, GCRYMPI_FLAG_SECURE));
	r = sshx_buf_put_bignum2_bytes(b, p, len);
	gcry_freezero(p, len);
	return r;
}

/* Returns 1 when the len bytes at p spell the NUL-terminated s. */
static int
bytes_are(const uint8_t *p, size_t len, const char *s)
{
	return len == strlen(s) && (len == 0 || memcmp(p, s, len) == 0);
}

const char *
sshx_key_type_name(enum sshx_key_type type)
{
	size_t i;

	for (i = 0; i < sizeof(key_names) / sizeof(key_names[0]); i++)
		if (key_names[i].type == type)
			return key_names[i].name;
	return NULL;
}

enum sshx_key_type
sshx_key_type_from_name(const void *name, size_t len)
{
	size_t i;

	if (name == NULL)
		return SSHX_KEY_UNSPEC;
	for (i = 0; i < sizeof(key_names) / sizeof(key_names[0]); i++)
		if (bytes_are(name, len, key_names[i].name))
			return key_names[i].type;
	return SSHX_KEY_UNSPEC;
}

/* Returns a new, empty key of a type, or NULL when out of memory. */
static struct sshx_key *
key_new(enum sshx_key_type type)
{
	struct sshx_key *k;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	k->type = type;
	return k;
}

void
sshx_key_free(struct sshx_key *key)
{
	if (key == NULL)
		return;
	/* libgcrypt wipes secure S-expressions when it releases them. */
	gcry_sexp_release(key->priv);
	gcry_sexp_release(key->pub);
	sshx_buf_free(key->body);
	free(key->blob);
	explicit_bzero(key, sizeof(*key));
	free(key);
}

/* Copies the contents of b into the key as its public blob. */
static int
key_set_blob(struct sshx_key *k, const struct sshx_buf *b)
{
	size_t len = sshx_buf_len(b);

	if ((k->blob = malloc(len)) == NULL)
		return SSHX_ERR_ALLOC;
	memcpy(k->blob, sshx_buf_ptr(b), len);
	k->bloblen = len;
	return 0;
}

/* Makes a secure buffer for a key's private body. */
static int
body_new(struct sshx_buf **bp)
{
	if ((*bp = sshx_buf_new_secure()) == NULL)
		return SSHX_ERR_ALLOC;
	return 0;
}

/* Refuses a private-key S-expression that libgcrypt did not put in secure memory. */
static int
check_secure_sexp(gcry_sexp_t s)
{
	return gcry_is_secure(s) ? 0 : SSHX_ERR_SECMEM;
}

/* ---- Ed25519 ---- */

/* Fills in the blob and public S-expression of an Ed25519 key. */
static int
ed25519_set_public(struct sshx_key *k, const uint8_t *pk, size_t pklen)
{
	struct sshx_buf *b = NULL;
	uint8_t plain[SSHX_ED25519_PK_LEN];
	gcry_error_t e;
	int r = SSHX_ERR_INTERNAL;

	if (pklen != SSHX_ED25519_PK_LEN) {
		r = SSHX_ERR_INVALID_FORMAT;
		goto out;
	}
	/* An ordinary copy keeps the public S-expression out of secure memory. */
	memcpy(plain, pk, sizeof(plain));
	if ((b = sshx_buf_new()) == NULL) {
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	if ((r = sshx_buf_put_cstring(b, "ssh-ed25519")) != 0 ||
	    (r = sshx_buf_put_string(b, pk, pklen)) != 0 ||
	    (r = key_set_blob(k, b)) != 0)
		goto out;
	if ((e = gcry_sexp_build(&k->pub, NULL,
	    "(public-key(ecc(curve Ed25519)(flags eddsa)(q %b)))",
	    (int)sizeof(plain), plain)) != 0) {
		r = gcry_to_err(e, 0);
		goto out;
	}
	k->bits = 256;
	r = 0;
 out:
	sshx_buf_free(b);
	return r;
}

/*
 * Computes the public key of a seed (held in secure memory). libgcrypt's
 * gcry_pk_testkey does not compare an EdDSA key's q with its d, so the
 * public key is derived here for the caller to compare.
 */
static int
ed25519_public_from_seed(const uint8_t *seed, uint8_t pk[static SSHX_ED25519_PK_LEN])
{
	gcry_sexp_t s = NULL;
	gcry_ctx_t ctx = NULL;
	gcry_mpi_t q = NULL;
	const uint8_t *qp;
	unsigned int nbits = 0;
	gcry_error_t e;
	int r = SSHX_ERR_INTERNAL;

	memset(pk, 0, SSHX_ED25519_PK_LEN);
	if ((e = gcry_sexp_build(&s, NULL,
	    "(private-key(ecc(curve Ed25519)(flags eddsa)(d %b)))",
	    SSHX_ED25519_SEED_LEN, seed)) != 0) {
		r = gcry_to_err(e, 1);
		goto out;
	}
	if ((r = check_secure_sexp(s)) != 0)
		goto out;
	if ((e = gcry_mpi_ec_new(&ctx, s, NULL)) != 0) {
		r = gcry_to_err(e, 1);
		goto out;
	}
	if ((q = gcry_mpi_ec_get_mpi("q@eddsa", ctx, 1)) == NULL ||
	    !gcry_mpi_get_flag(q, GCRYMPI_FLAG_OPAQUE) ||
	    (qp = gcry_mpi_get_opaque(q, &nbits)) == NULL) {
		r = SSHX_ERR_CRYPTO;
		goto out;
	}
	/* Some libgcrypt versions prefix the compressed point with 0x40. */
	if (nbits == 8 * (SSHX_ED25519_PK_LEN + 1) && qp[0] == 0x40) {
		qp++;
		nbits -= 8;
	}
	if (nbits != 8 * SSHX_ED25519_PK_LEN) {
		r = SSHX_ERR_CRYPTO;
		goto out;
	}
	memcpy(pk, qp, SSHX_ED25519_PK_LEN);
	r = 0;
 out:
	gcry_mpi_release(q);
	gcry_ctx_release(ctx);
	gcry_sexp_release(s);
	return r;
}

/*
 * Adds the private half to an Ed25519 key whose public half is set: sk is
 * seed || pk, and both the copy of pk and the key derived from the seed
 * must equal pk.
 */
static int
ed25519_set_private(struct sshx_key *k, const uint8_t *pk, const uint8_t *sk,
    size_t sklen)
{
	uint8_t *seed = NULL;
	uint8_t derived[SSHX_ED25519_PK_LEN];
	gcry_error_t e;
	int r = SSHX_ERR_INTERNAL;

	if (sklen != SSHX_ED25519_SK_LEN) {
		r = SSHX_ERR_INVALID_FORMAT;
		goto out;
	}
	if (!sshx_crypto_equal(sk + SSHX_ED25519_SEED_LEN, pk, SSHX_ED25519_PK_LEN)) {
		r = SSHX_ERR_KEY_INVALID;
		goto out;
	}
	if ((r = secure_dup(sk, SSHX_ED25519_SEED_LEN, &seed)) != 0 ||
	    (r = ed25519_public_from_seed(seed, derived)) != 0)
		goto out;
	if (!sshx_crypto_equal(derived, pk, SSHX_ED25519_PK_LEN)) {
		r = SSHX_ERR_KEY_INVALID;
		goto out;
	}
	if ((e = gcry_sexp_build(&k->priv, NULL,
	    "(private-key(ecc(curve Ed25519)(flags eddsa)(q %b)(d %b)))",
	    SSHX_ED25519_PK_LEN, pk, SSHX_ED25519_SEED_LEN, seed)) != 0) {
		r = gcry_to_err(e, 1);
		goto out;
	}
	if ((r = check_secure_sexp(k->priv)) != 0 ||
	    (r = body_new(&k->body)) != 0 ||
	    (r = sshx_buf_put_string(k->body, pk, SSHX_ED25519_PK_LEN)) != 0 ||
	    (r = sshx_buf_put_string(k->body, sk, SSHX_ED25519_SK_LEN)) != 0)
		goto out;
	r = 0;
 out:
	gcry_freezero(seed, SSHX_ED25519_SEED_LEN);
	explicit_bzero(derived, sizeof(derived));
	return r;
}

/* ---- ECDSA ---- */

/* Checks that an uncompressed point has coordinates below p and lies on the curve. */
static int
ec_check_point(const struct ec_curve *c, const uint8_t *q)
{
	gcry_ctx_t ctx = NULL;
	gcry_mpi_t p = NULL, x = NULL, y = NULL, one = NULL;
	gcry_mpi_point_t pt = NULL;
	gcry_error_t e;
	int r = SSHX_ERR_INTERNAL;

	if ((e = gcry_mpi_ec_new(&ctx, NULL, c->gcry_name)) != 0) {
		r = gcry_to_err(e, 0);
		goto out;
	}
	if ((p = gcry_mpi_ec_get_mpi("p", ctx, 1)) == NULL) {
		r = SSHX_ERR_CRYPTO;
		goto out;
	}
	if ((r = mpi_from_public(q + 1, c->coord_len, &x)) != 0 ||
	    (r = mpi_from_public(q + 1 + c->coord_len, c->coord_len, &y)) != 0)
		goto out;
	if (gcry_mpi_cmp(x, p) >= 0 || gcry_mpi_cmp(y, p) >= 0) {
		r = SSHX_ERR_KEY_INVALID;
		goto out;
	}
	if ((one = gcry_mpi_set_ui(NULL, 1)) == NULL ||
	    (pt = gcry_mpi_point_set(NULL, x, y, one)) == NULL) {
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	if (!gcry_mpi_ec_curve_point(pt, ctx)) {
		r = SSHX_ERR_KEY_INVALID;
		goto out;
	}
	r = 0;
 out:
	gcry_mpi_point_release(pt);
	gcry_mpi_release(one);
	gcry_mpi_release(y);
	gcry_mpi_release(x);
	gcry_mpi_release(p);
	gcry_ctx_release(ctx);
	return r;
}

/* Fills in the blob and public S-expression of an ECDSA key from its point Q. */
static int
ecdsa_set_public(struct sshx_key *k, const struct ec_curve *c, const uint8_t *q,
    size_t qlen)
{
	struct sshx_buf *b = NULL;
	uint8_t plain[1 + 2 * EC_COORD_MAX];
	gcry_error_t e;
	int r = SSHX_ERR_INTERNAL;

	/* Only uncompressed points, as OpenSSH sends them. */
	if (qlen != 1 + 2 * c->coord_len || qlen > sizeof(plain) || q[0] != 0x04) {
		r = SSHX_ERR_INVALID_FORMAT;
		goto out;
	}
	/* An ordinary copy keeps the public S-expression out of secure memory. */
	memcpy(plain, q, qlen);
	if ((r = ec_check_point(c, q)) != 0)
		goto out;
	if ((b = sshx_buf_new()) == NULL) {
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	if ((r = sshx_buf_put_cstring(b, sshx_key_type_name(c->type))) != 0 ||
	    (r = sshx_buf_put_cstring(b, c->ssh_name)) != 0 ||
	    (r = sshx_buf_put_string(b, q, qlen)) != 0 ||
	    (r = key_set_blob(k, b)) != 0)
		goto out;
	if ((e = gcry_sexp_build(&k->pub, NULL, "(public-key(ecc(curve %s)(q %b)))",
	    c->gcry_name, (int)qlen, plain)) != 0) {
		r = gcry_to_err(e, 0);
		goto out;
	}
	k->bits = c->bits;
	r = 0;
 out:
	sshx_buf_free(b);
	return r;
}

/* Adds the private scalar d to an ECDSA key whose public half is set; d*G must be Q. */
static int
ecdsa_set_private(struct sshx_key *k, const struct ec_curve *c, const uint8_t *q,
    size_t qlen, const uint8_t *dp, size_t dlen)
{
	gcry_ctx_t ctx = NULL;
	gcry_mpi_t d = NULL, n = NULL;
	gcry_error_t e;
	int r = SSHX_ERR_INTERNAL;

	if ((r = mpi_from_secret(dp, dlen, &d)) != 0)
		goto out;
	if ((e = gcry_mpi_ec_new(&ctx, NULL, c->gcry_name)) != 0) {
		r = gcry_to_err(e, 0);
		goto out;
	}
	if ((n = gcry_mpi_ec_get_mpi("n", ctx, 1)) == NULL) {
		r = SSHX_ERR_CRYPTO;
		goto out;
	}
	if (gcry_mpi_cmp_ui(d, 0) == 0 || gcry_mpi_cmp(d, n) >= 0) {
		r = SSHX_ERR_KEY_INVALID;
		goto out;
	}
	if ((e = gcry_sexp_build(&k->priv, NULL,
	    "(private-key(ecc(curve %s)(q %b)(d %m)))",
	    c->gcry_name, (int)qlen, q, d)) != 0) {
		r = gcry_to_err(e, 1);
		goto out;
	}
	if ((r = check_secure_sexp(k->priv)) != 0)
		goto out;
	/* For ECDSA keys, testkey does compare d*G with Q. */
	if ((e = gcry_pk_testkey(k->priv)) != 0) {
		r = gcry_err_code(e) == GPG_ERR_BAD_SECKEY ?
		    SSHX_ERR_KEY_INVALID : gcry_to_err(e, 1);
		goto out;
	}
	if ((r = body_new(&k->body)) != 0 ||
	    (r = sshx_buf_put_cstring(k->body, c->ssh_name)) != 0 ||
	    (r = sshx_buf_put_string(k->body, q, qlen)) != 0 ||
	    (r = put_mpi(k->body, d)) != 0)
		goto out;
	r = 0;
 out:
	gcry_mpi_release(n);
	gcry_mpi_release(d);
	gcry_ctx_release(ctx);
	return r;
}

/* ---- RSA ---- */

/* Fills in the blob and public S-expression of an RSA key after checking n and e. */
static int
rsa_set_public(struct sshx_key *k, gcry_mpi_t e, gcry_mpi_t n)
{
	struct sshx_buf *b = NULL;
	unsigned int bits = gcry_mpi_get_nbits(n);
	gcry_error_t ge;
	int r = SSHX_ERR_INTERNAL;

	if (bits > SSHX_RSA_MAX_BITS) {
		r = SSHX_ERR_LIMIT;
		goto out;
	}
	if (bits < RSA_HARD_MIN_BITS) {
		r = SSHX_ERR_KEY_TOO_SMALL;
		goto out;
	}
	/* n is a product of odd primes; e must be odd, above 1 and below n. */
	if (!gcry_mpi_test_bit(n, 0) || !gcry_mpi_test_bit(e, 0) ||
	    gcry_mpi_cmp_ui(e, 1) <= 0 || gcry_mpi_cmp(e, n) >= 0) {
		r = SSHX_ERR_KEY_INVALID;
		goto out;
	}
	if ((b = sshx_buf_new()) == NULL) {
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	if ((r = sshx_buf_put_cstring(b, "ssh-rsa")) != 0 ||
	    (r = put_mpi(b, e)) != 0 ||
	    (r = put_mpi(b, n)) != 0 ||
	    (r = key_set_blob(k, b)) != 0)
		goto out;
	if ((ge = gcry_sexp_build(&k->pub, NULL, "(public-key(rsa(n %m)(e %m)))",
	    n, e)) != 0) {
		r = gcry_to_err(ge, 0);
		goto out;
	}
	k->bits = bits;
	r = 0;
 out:
	sshx_buf_free(b);
	return r;
}

/* Returns 1 when (a * b) mod m is 1; t is scratch space. */
static int
mulm_is_one(gcry_mpi_t t, gcry_mpi_t a, gcry_mpi_t b, gcry_mpi_t m)
{
	gcry_mpi_mulm(t, a, b, m);
	return gcry_mpi_cmp_ui(t, 1) == 0;
}

/*
 * Adds the private half to an RSA key whose public half is set. The factors
 * are ordered p < q as libgcrypt wants, u = p^-1 mod q is computed for
 * libgcrypt, and the body written back carries OpenSSH's iqmp = q^-1 mod p
 * for the same p and q; the iqmp a client sent is not trusted.
 */
static int
rsa_set_private(struct sshx_key *k, gcry_mpi_t n, gcry_mpi_t e, gcry_mpi_t d,
    gcry_mpi_t p, gcry_mpi_t q)
{
	gcry_mpi_t t = NULL, pm1 = NULL, qm1 = NULL, u = NULL, iqmp = NULL;
	gcry_error_t ge;
	int r = SSHX_ERR_INTERNAL;

	if (gcry_mpi_cmp_ui(p, 1) <= 0 || gcry_mpi_cmp_ui(q, 1) <= 0 ||
	    gcry_mpi_cmp(p, q) == 0 ||
	    gcry_mpi_cmp_ui(d, 1) <= 0 || gcry_mpi_cmp(d, n) >= 0) {
		r = SSHX_ERR_KEY_INVALID;
		goto out;
	}
	if (gcry_mpi_cmp(p, q) > 0)
		gcry_mpi_swap(p, q);
	t = gcry_mpi_snew(gcry_mpi_get_nbits(n));
	pm1 = gcry_mpi_snew(0);
	qm1 = gcry_mpi_snew(0);
	u = gcry_mpi_snew(0);
	iqmp = gcry_mpi_snew(0);
	gcry_mpi_mul(t, p, q);
	if (gcry_mpi_cmp(t, n) != 0) {
		r = SSHX_ERR_KEY_INVALID;
		goto out;
	}
	/* d must invert e modulo p-1 and q-1, or every signature is wrong. */
	gcry_mpi_sub_ui(pm1, p, 1);
	gcry_mpi_sub_ui(qm1, q, 1);
	if (!mulm_is_one(t, e, d, pm1) || !mulm_is_one(t, e, d, qm1)) {
		r = SSHX_ERR_KEY_INVALID;
		goto out;
	}
	if (!gcry_mpi_invm(u, p, q) || !gcry_mpi_invm(iqmp, q, p)) {
		r = SSHX_ERR_KEY_INVALID;
		goto out;
	}
	if ((ge = gcry_sexp_build(&k->priv, NULL,
	    "(private-key(rsa(n %m)(e %m)(d %m)(p %m)(q %m)(u %m)))",
	    n, e, d, p, q, u)) != 0) {
		r = gcry_to_err(ge, 1);
		goto out;
	}
	if ((r = check_secure_sexp(k->priv)) != 0 ||
	    (r = body_new(&k->body)) != 0 ||
	    (r = put_mpi(k->body, n)) != 0 ||
	    (r = put_mpi(k->body, e)) != 0 ||
	    (r = put_mpi(k->body, d)) != 0 ||
	    (r = put_mpi(k->body, iqmp)) != 0 ||
	    (r = put_mpi(k->body, p)) != 0 ||
	    (r = put_mpi(k->body, q)) != 0)
		goto out;
	r = 0;
 out:
	/* Secure MPIs are wiped by libgcrypt when released. */
	gcry_mpi_release(iqmp);
	gcry_mpi_release(u);
	gcry_mpi_release(qm1);
	gcry_mpi_release(pm1);
	gcry_mpi_release(t);
	return r;
}

/* ---- Parsing ---- */

/* Reads the fields of a public blob that follow the type name. */
static int
read_public(struct sshx_buf *b, struct sshx_key *k)
{
	const struct ec_curve *c;
	const uint8_t *p1, *p2;
	size_t l1, l2;
	gcry_mpi_t e = NULL, n = NULL;
	int r = SSHX_ERR_INTERNAL;

	switch (k->type) {
	case SSHX_KEY_ED25519:
		if ((r = sshx_buf_get_string_direct(b, &p1, &l1)) != 0 ||
		    (r = ed25519_set_public(k, p1, l1)) != 0)
			goto out;
		break;
	case SSHX_KEY_ECDSA_P256:
	case SSHX_KEY_ECDSA_P384:
	case SSHX_KEY_ECDSA_P521:
		c = ec_curve_of(k->type);
		if ((r = sshx_buf_get_string_direct(b, &p1, &l1)) != 0 ||
		    (r = sshx_buf_get_string_direct(b, &p2, &l2)) != 0)
			goto out;
		if (!bytes_are(p1, l1, c->ssh_name)) {
			r = SSHX_ERR_KEY_TYPE_MISMATCH;
			goto out;
		}
		if ((r = ecdsa_set_public(k, c, p2, l2)) != 0)
			goto out;
		break;
	case SSHX_KEY_RSA:
		if ((r = sshx_buf_get_bignum2_bytes_direct(b, &p1, &l1)) != 0 ||
		    (r = sshx_buf_get_bignum2_bytes_direct(b, &p2, &l2)) != 0 ||
		    (r = mpi_from_public(p1, l1, &e)) != 0 ||
		    (r = mpi_from_public(p2, l2, &n)) != 0 ||
		    (r = rsa_set_public(k, e, n)) != 0)
			goto out;
		break;
	default:
		r = SSHX_ERR_KEY_TYPE_UNKNOWN;
		goto out;
	}
	r = 0;
 out:
	gcry_mpi_release(n);
	gcry_mpi_release(e);
	return r;
}

/* Reads a key type name and returns a new key of that type; DSA and unknown names fail. */
static int
read_type(struct sshx_buf *b, struct sshx_key **kp)
{
	const uint8_t *name;
	size_t len;
	enum sshx_key_type type;
	int r;

	*kp = NULL;
	if ((r = sshx_buf_get_string_direct(b, &name, &len)) != 0)
		return r;
	type = sshx_key_type_from_name(name, len);
	if (type == SSHX_KEY_UNSPEC)
		return SSHX_ERR_KEY_TYPE_UNKNOWN;
	if (type == SSHX_KEY_DSA)
		return SSHX_ERR_KEY_TYPE_REFUSED;
	if ((*kp = key_new(type)) == NULL)
		return SSHX_ERR_ALLOC;
	return 0;
}

int
sshx_key_from_blob(const uint8_t *blob, size_t len, struct sshx_key **keyp)
{
	struct sshx_buf *b = NULL;
	struct sshx_key *k = NULL;
	int r = SSHX_ERR_INTERNAL;

	if (keyp != NULL)
		*keyp = NULL;
	if (keyp == NULL || (blob == NULL && len != 0)) {
		r = SSHX_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if (len > SSHX_BUF_SIZE_MAX) {
		r = SSHX_ERR_STRING_TOO_LARGE;
		goto out;
	}
	if ((b = sshx_buf_from(len == 0 ? (const uint8_t *)"" : blob, len)) == NULL) {
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	if ((r = read_type(b, &k)) != 0 ||
	    (r = read_public(b, k)) != 0)
		goto out;
	if (sshx_buf_len(b) != 0) {
		r = SSHX_ERR_INVALID_FORMAT;
		goto out;
	}
	*keyp = k;
	k = NULL;	/* transferred */
	r = 0;
 out:
	sshx_key_free(k);
	sshx_buf_free(b);
	return r;
}

/* Reads an Ed25519 agent body: string pk, string seed || pk. */
static int
read_private_ed25519(struct sshx_buf *b, struct sshx_key *k)
{
	const uint8_t *pk, *sk;
	size_t pklen, sklen;
	int r;

	if ((r = sshx_buf_get_string_direct(b, &pk, &pklen)) != 0 ||
	    (r = sshx_buf_get_string_direct(b, &sk, &sklen)) != 0 ||
	    (r = ed25519_set_public(k, pk, pklen)) != 0 ||
	    (r = ed25519_set_private(k, pk, sk, sklen)) != 0)
		return r;
	return 0;
}

/* Reads an ECDSA agent body: string curve, string Q, mpint d. */
static int
read_private_ecdsa(struct sshx_buf *b, struct sshx_key *k)
{
	const struct ec_curve *c = ec_curve_of(k->type);
	const uint8_t *curve, *q, *d;
	size_t curvelen, qlen, dlen;
	int r;

	if ((r = sshx_buf_get_string_direct(b, &curve, &curvelen)) != 0 ||
	    (r = sshx_buf_get_string_direct(b, &q, &qlen)) != 0 ||
	    (r = sshx_buf_get_bignum2_bytes_direct(b, &d, &dlen)) != 0)
		return r;
	if (!bytes_are(curve, curvelen, c->ssh_name))
		return SSHX_ERR_KEY_TYPE_MISMATCH;
	if ((r = ecdsa_set_public(k, c, q, qlen)) != 0 ||
	    (r = ecdsa_set_private(k, c, q, qlen, d, dlen)) != 0)
		return r;
	return 0;
}

/*
 * Sets an RSA key from big-endian n, e, d, p and q (v/l indexed in that
 * order); the public values in ordinary memory, the private ones secure.
 */
static int
rsa_set_from_bytes(struct sshx_key *k, const uint8_t *const v[static 5],
    const size_t l[static 5])
{
	gcry_mpi_t n = NULL, e = NULL, d = NULL, p = NULL, q = NULL;
	int r;

	if ((r = mpi_from_public(v[0], l[0], &n)) != 0 ||
	    (r = mpi_from_public(v[1], l[1], &e)) != 0 ||
	    (r = rsa_set_public(k, e, n)) != 0 ||
	    (r = mpi_from_secret(v[2], l[2], &d)) != 0 ||
	    (r = mpi_from_secret(v[3], l[3], &p)) != 0 ||
	    (r = mpi_from_secret(v[4], l[4], &q)) != 0 ||
	    (r = rsa_set_private(k, n, e, d, p, q)) != 0)
		goto out;
	r = 0;
 out:
	gcry_mpi_release(q);
	gcry_mpi_release(p);
	gcry_mpi_release(d);
	gcry_mpi_release(e);
	gcry_mpi_release(n);
	return r;
}

/* Reads an RSA agent body: mpint n, e, d, iqmp, p, q. */
static int
read_private_rsa(struct sshx_buf *b, struct sshx_key *k)
{
	const uint8_t *v[6];
	size_t l[6];
	int i, r;

	for (i = 0; i < 6; i++)
		if ((r = sshx_buf_get_bignum2_bytes_direct(b, &v[i], &l[i])) != 0)
			return r;
	/* v[3] is the client's iqmp: recomputed, never used. */
	v[3] = v[4];
	l[3] = l[4];
	v[4] = v[5];
	l[4] = l[5];
	return rsa_set_from_bytes(k, v, l);
}

int
sshx_key_parse_private(struct sshx_buf *b, struct sshx_key **keyp)
{
	struct sshx_buf *v = NULL;
	struct sshx_key *k = NULL;
	int r = SSHX_ERR_INTERNAL;

	if (keyp != NULL)
		*keyp = NULL;
	if (b == NULL || keyp == NULL) {
		r = SSHX_ERR_INVALID_ARGUMENT;
		goto out;
	}
	/*
	 * Parse through a read-only view of the same bytes, so that b is
	 * consumed only when the whole key was good.
	 */
	if ((v = sshx_buf_from(sshx_buf_ptr(b), sshx_buf_len(b))) == NULL) {
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	if ((r = read_type(v, &k)) != 0)
		goto out;
	switch (k->type) {
	case SSHX_KEY_ED25519:
		r = read_private_ed25519(v, k);
		break;
	case SSHX_KEY_ECDSA_P256:
	case SSHX_KEY_ECDSA_P384:
	case SSHX_KEY_ECDSA_P521:
		r = read_private_ecdsa(v, k);
		break;
	case SSHX_KEY_RSA:
		r = read_private_rsa(v, k);
		break;
	default:
		r = SSHX_ERR_KEY_TYPE_UNKNOWN;
		break;
	}
	if (r != 0)
		goto out;
	if ((r = sshx_buf_consume(b, sshx_buf_len(b) - sshx_buf_len(v))) != 0)
		goto out;
	*keyp = k;
	k = NULL;	/* transferred */
	r = 0;
 out:
	sshx_key_free(k);
	sshx_buf_free(v);
	return r;
}

int
sshx_key_put_private(const struct sshx_key *key, struct sshx_buf *b)
{
	const char *name;
	size_t nlen, blen;
	uint8_t *p;
	int r;

	if (key == NULL || b == NULL || key->body == NULL ||
	    (name = sshx_key_type_name(key->type)) == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	nlen = strlen(name);
	blen = sshx_buf_len(key->body);
	/* One reservation, so that b is unchanged on failure. */
	if ((r = sshx_buf_reserve(b, 4 + nlen + blen, &p)) != 0)
		return r;
	p[0] = (uint8_t)(nlen >> 24);
	p[1] = (uint8_t)(nlen >> 16);
	p[2] = (uint8_t)(nlen >> 8);
	p[3] = (uint8_t)nlen;
	memcpy(p + 4, name, nlen);
	memcpy(p + 4 + nlen, sshx_buf_ptr(key->body), blen);
	return 0;
}

/* ---- Generation ---- */

/* Reads one canonical atom "<decimal length>:<bytes>" at *posp. */
static int
canon_atom(const uint8_t *s, size_t len, size_t *posp, const uint8_t **ap,
    size_t *alenp)
{
	size_t i = *posp, n = 0;

	if (i >= len || s[i] < '0' || s[i] > '9')
		return SSHX_ERR_CRYPTO;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (n > len)
			return SSHX_ERR_CRYPTO;
		n = n * 10 + (size_t)(s[i] - '0');
	}
	if (i >= len || s[i] != ':' || n > len - i - 1)
		return SSHX_ERR_CRYPTO;
	*ap = s + i + 1;
	*alenp = n;
	*posp = i + 1 + n;
	return 0;
}

/*
 * Finds the value of (name value) inside (private-key (algorithm ...)) of a
 * canonical S-expression and points into it. libgcrypt's accessors
 * (find_token, nth, extract_param) copy what they return into ordinary
 * memory even from a secure S-expression, so a generated key is printed into
 * secure memory and read in place.
 */
static int
canon_find_private(const uint8_t *s, size_t len, const char *name,
    const uint8_t **vp, size_t *vlenp)
{
	const uint8_t *a;
	size_t pos = 0, alen;
	int depth = 0, priv_depth = -1, r;

	*vp = NULL;
	*vlenp = 0;
	while (pos < len && s[pos] != '\0') {
		if (s[pos] == '(') {
			pos++;
			depth++;
			if (pos >= len || s[pos] < '0' || s[pos] > '9')
				continue;	/* a list headed by a list */
			if ((r = canon_atom(s, len, &pos, &a, &alen)) != 0)
				return r;
			if (priv_depth < 0 &&
			    bytes_are(a, alen, "private-key"))
				priv_depth = depth;
			else if (priv_depth > 0 && depth == priv_depth + 2 &&
			    bytes_are(a, alen, name))
				return canon_atom(s, len, &pos, vp, vlenp);
		} else if (s[pos] == ')') {
			if (depth == priv_depth)
				priv_depth = -1;
			depth--;
			pos++;
		} else if ((r = canon_atom(s, len, &pos, &a, &alen)) != 0)
			return r;
	}
	return SSHX_ERR_CRYPTO;
}

/* Strips leading zero bytes from an unsigned big-endian number. */
static void
strip_zeros(const uint8_t **pp, size_t *lenp)
{
	while (*lenp > 0 && **pp == 0) {
		(*pp)++;
		(*lenp)--;
	}
}

/* Builds an Ed25519 key from libgcrypt's generated q and d. */
static int
generate_ed25519(struct sshx_key *k, const uint8_t *s, size_t slen)
{
	const uint8_t *q, *d;
	size_t qlen, dlen;
	uint8_t *sk = NULL;
	int r = SSHX_ERR_INTERNAL;

	if ((r = canon_find_private(s, slen, "q", &q, &qlen)) != 0 ||
	    (r = canon_find_private(s, slen, "d", &d, &dlen)) != 0)
		goto out;
	if (qlen == SSHX_ED25519_PK_LEN + 1 && q[0] == 0x40) {
		q++;
		qlen--;
	}
	strip_zeros(&d, &dlen);
	if (qlen != SSHX_ED25519_PK_LEN || dlen > SSHX_ED25519_SEED_LEN) {
		r = SSHX_ERR_CRYPTO;
		goto out;
	}
	if ((sk = gcry_calloc_secure(1, SSHX_ED25519_SK_LEN)) == NULL) {
		r = SSHX_ERR_SECMEM;
		goto out;
	}
	/* The seed is a byte string; put back zeros an MPI print dropped. */
	memcpy(sk + SSHX_ED25519_SEED_LEN - dlen, d, dlen);
	memcpy(sk + SSHX_ED25519_SEED_LEN, q, SSHX_ED25519_PK_LEN);
	if ((r = ed25519_set_public(k, q, qlen)) != 0 ||
	    (r = ed25519_set_private(k, q, sk, SSHX_ED25519_SK_LEN)) != 0)
		goto out;
	r = 0;
 out:
	gcry_freezero(sk, SSHX_ED25519_SK_LEN);
	return r;
}

/* Builds an ECDSA key from libgcrypt's generated q and d. */
static int
generate_ecdsa(struct sshx_key *k, const struct ec_curve *c, const uint8_t *s,
    size_t slen)
{
	const uint8_t *q, *d;
	size_t qlen, dlen;
	int r;

	if ((r = canon_find_private(s, slen, "q", &q, &qlen)) != 0 ||
	    (r = canon_find_private(s, slen, "d", &d, &dlen)) != 0)
		return r;
	strip_zeros(&d, &dlen);
	if ((r = ecdsa_set_public(k, c, q, qlen)) != 0 ||
	    (r = ecdsa_set_private(k, c, q, qlen, d, dlen)) != 0)
		return r;
	return 0;
}

/* Builds an RSA key from libgcrypt's generated n, e, d, p and q. */
static int
generate_rsa(struct sshx_key *k, const uint8_t *s, size_t slen)
{
	static const char names[5][2] = { "n", "e", "d", "p", "q" };
	const uint8_t *v[5];
	size_t l[5];
	int i, r;

	for (i = 0; i < 5; i++) {
		if ((r = canon_find_private(s, slen, names[i], &v[i], &l[i])) != 0)
			return r;
		strip_zeros(&v[i], &l[i]);
	}
	return rsa_set_from_bytes(k, v, l);
}

int
sshx_key_generate(enum sshx_key_type type, unsigned int bits, struct sshx_key **keyp)
{
	const struct ec_curve *c = ec_curve_of(type);
	struct sshx_key *k = NULL;
	gcry_sexp_t parms = NULL, gen = NULL;
	uint8_t *canon = NULL;
	size_t canonlen = 0, n;
	gcry_error_t e;
	int r = SSHX_ERR_INTERNAL;

	if (keyp != NULL)
		*keyp = NULL;
	if (keyp == NULL) {
		r = SSHX_ERR_INVALID_ARGUMENT;
		goto out;
	}
	switch (type) {
	case SSHX_KEY_ED25519:
		e = gcry_sexp_build(&parms, NULL,
		    "(genkey(ecc(curve Ed25519)(flags eddsa)))");
		break;
	case SSHX_KEY_ECDSA_P256:
	case SSHX_KEY_ECDSA_P384:
	case SSHX_KEY_ECDSA_P521:
		e = gcry_sexp_build(&parms, NULL, "(genkey(ecc(curve %s)))",
		    c->gcry_name);
		break;
	case SSHX_KEY_RSA:
		if (bits == 0)
			bits = RSA_DEFAULT_BITS;
		if (bits < RSA_HARD_MIN_BITS || bits > SSHX_RSA_MAX_BITS) {
			r = SSHX_ERR_INVALID_ARGUMENT;
			goto out;
		}
		e = gcry_sexp_build(&parms, NULL,
		    "(genkey(rsa(nbits %u)(rsa-use-e %u)))", bits, RSA_DEFAULT_E);
		break;
	case SSHX_KEY_DSA:
		r = SSHX_ERR_KEY_TYPE_REFUSED;
		goto out;
	default:
		r = SSHX_ERR_KEY_TYPE_UNKNOWN;
		goto out;
	}
	if (e != 0) {
		r = gcry_to_err(e, 0);
		goto out;
	}
	if ((e = gcry_pk_genkey(&gen, parms)) != 0) {
		r = gcry_to_err(e, 1);
		goto out;
	}
	if ((n = gcry_sexp_sprint(gen, GCRYSEXP_FMT_CANON, NULL, 0)) == 0) {
		r = SSHX_ERR_CRYPTO;
		goto out;
	}
	if ((canon = gcry_malloc_secure(n)) == NULL) {
		r = SSHX_ERR_SECMEM;
		goto out;
	}
	canonlen = n;
	if ((n = gcry_sexp_sprint(gen, GCRYSEXP_FMT_CANON, (char *)canon,
	    canonlen)) == 0) {
		r = SSHX_ERR_CRYPTO;
		goto out;
	}
	if ((k = key_new(type)) == NULL) {
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	if (type == SSHX_KEY_ED25519)
		r = generate_ed25519(k, canon, n);
	else if (type == SSHX_KEY_RSA)
		r = generate_rsa(k, canon, n);
	else
		r = generate_ecdsa(k, c, canon, n);
	if (r != 0)
		goto out;
	*keyp = k;
	k = NULL;	/* transferred */
	r = 0;
 out:
	sshx_key_free(k);
	gcry_freezero(canon, canonlen);
	gcry_sexp_release(gen);
	gcry_sexp_release(parms);
	return r;
}

/* ---- Accessors ---- */

const uint8_t *
sshx_key_blob(const struct sshx_key *key, size_t *lenp)
{
	if (lenp != NULL)
		*lenp = key == NULL ? 0 : key->bloblen;
	return key == NULL ? NULL : key->blob;
}

int
sshx_key_equal_public(const struct sshx_key *a, const struct sshx_key *b)
{
	if (a == NULL || b == NULL || a->blob == NULL || b->blob == NULL)
		return 0;
	return a->bloblen == b->bloblen &&
	    memcmp(a->blob, b->blob, a->bloblen) == 0;
}

enum sshx_key_type
sshx_key_type(const struct sshx_key *key)
{
	return key == NULL ? SSHX_KEY_UNSPEC : key->type;
}

unsigned int
sshx_key_bits(const struct sshx_key *key)
{
	return key == NULL ? 0 : key->bits;
}

int
sshx_key_has_private(const struct sshx_key *key)
{
	return key != NULL && key->priv != NULL;
}

void
sshx_key_fingerprint_blob(const uint8_t *blob, size_t len, char out[static SSHX_FP_LEN])
{
	uint8_t digest[32];

	gcry_md_hash_buffer(GCRY_MD_SHA256, digest, blob, len);
	memcpy(out, "SHA256:", 7);
	(void)sshx_b64_encode_raw(digest, sizeof(digest), out + 7, 0);
}

int
sshx_key_fingerprint(const struct sshx_key *key, char out[static SSHX_FP_LEN])
{
	out[0] = '\0';
	if (key == NULL || key->blob == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	sshx_key_fingerprint_blob(key->blob, key->bloblen, out);
	return 0;
}

/* ---- Signing ---- */

/*
 * Copies the unsigned value of element name of a signature S-expression into
 * out, left-padded with zeros to exactly width bytes.
 */
static int
sig_value(gcry_sexp_t sig, const char *name, uint8_t *out, size_t width)
{
	gcry_sexp_t t;
	const uint8_t *p;
	size_t len = 0;
	int r = SSHX_ERR_CRYPTO;

	if ((t = gcry_sexp_find_token(sig, name, 0)) == NULL)
		return SSHX_ERR_CRYPTO;
	if ((p = (const uint8_t *)gcry_sexp_nth_data(t, 1, &len)) != NULL) {
		strip_zeros(&p, &len);
		if (len <= width) {
			memset(out, 0, width - len);
			memcpy(out + width - len, p, len);
			r = 0;
		}
	}
	gcry_sexp_release(t);
	return r;
}

/* Hashes data with md into digest (DIGEST_MAX bytes) and returns the digest length. */
static size_t
hash_data(int md, const uint8_t *data, size_t dlen, uint8_t *digest)
{
	gcry_md_hash_buffer(md, digest, dlen == 0 ? (const uint8_t *)"" : data, dlen);
	return gcry_md_get_algo_dlen(md);
}

/*
 * Signs with an Ed25519 key and appends string alg, string R || S. The
 * signature is computed by sshx_ed25519_sign (lib/ed25519.c), about three
 * times faster than gcry_pk_sign and with no limit on the message length;
 * Ed25519 is deterministic, and the unit tests hold the two to the same bytes.
 */
static int
sign_ed25519(const struct sshx_key *k, const uint8_t *data, size_t dlen,
    struct sshx_buf *out)
{
	struct sshx_buf *body = NULL;
	const uint8_t *pk, *sk;
	size_t pklen, sklen;
	uint8_t rs[SSHX_ED25519_SIG_LEN];
	int r = SSHX_ERR_INTERNAL;

	/* A read-only view of the secure body: the secret is not copied. */
	if ((body = sshx_buf_from(sshx_buf_ptr(k->body),
	    sshx_buf_len(k->body))) == NULL) {
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	if ((r = sshx_buf_get_string_direct(body, &pk, &pklen)) != 0 ||
	    (r = sshx_buf_get_string_direct(body, &sk, &sklen)) != 0)
		goto out;
	if (pklen != SSHX_ED25519_PK_LEN || sklen != SSHX_ED25519_SK_LEN) {
		r = SSHX_ERR_KEY_INVALID;
		goto out;
	}
	if ((r = sshx_ed25519_sign(sk, data, dlen, rs)) != 0 ||
	    (r = sshx_buf_put_cstring(out, "ssh-ed25519")) != 0 ||
	    (r = sshx_buf_put_string(out, rs, sizeof(rs))) != 0)
		goto out;
	r = 0;
 out:
	explicit_bzero(rs, sizeof(rs));
	sshx_buf_free(body);
	return r;
}

/* Signs with an ECDSA key (RFC 6979 nonces) and appends string alg, string (mpint r, mpint s). */
static int
sign_ecdsa(const struct sshx_key *k, const uint8_t *data, size_t dlen,
    struct sshx_buf *out)
{
	const struct ec_curve *c = ec_curve_of(k->type);
	gcry_sexp_t ds = NULL, ss = NULL;
	struct sshx_buf *inner = NULL;
	uint8_t digest[DIGEST_MAX], rv[EC_COORD_MAX], sv[EC_COORD_MAX];
	size_t hlen;
	gcry_error_t e;
	int r = SSHX_ERR_INTERNAL;

	hlen = hash_data(c->md, data, dlen, digest);
	if ((e = gcry_sexp_build(&ds, NULL, "(data(flags rfc6979)(hash %s %b))",
	    c->md_name, (int)hlen, digest)) != 0 ||
	    (e = gcry_pk_sign(&ss, ds, k->priv)) != 0) {
		r = gcry_to_err(e, 1);
		goto out;
	}
	if ((r = sig_value(ss, "r", rv, c->coord_len)) != 0 ||
	    (r = sig_value(ss, "s", sv, c->coord_len)) != 0)
		goto out;
	if ((inner = sshx_buf_new()) == NULL) {
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	if ((r = sshx_buf_put_bignum2_bytes(inner, rv, c->coord_len)) != 0 ||
	    (r = sshx_buf_put_bignum2_bytes(inner, sv, c->coord_len)) != 0 ||
	    (r = sshx_buf_put_cstring(out, sshx_key_type_name(k->type))) != 0 ||
	    (r = sshx_buf_put_stringb(out, inner)) != 0)
		goto out;
	r = 0;
 out:
	sshx_buf_free(inner);
	gcry_sexp_release(ss);
	gcry_sexp_release(ds);
	return r;
}

/*
 * Picks the RSA signature algorithm for agent flags; SHA-256 wins when both
 * SHA-2 bits are set, as in OpenSSH's agent.
 */
static void
rsa_alg_for_flags(unsigned int flags, const char **algp, int *mdp,
    const char **mdnamep)
{
	if ((flags & SSHX_SIG_RSA_SHA256) != 0) {
		*algp = "rsa-sha2-256";
		*mdp = GCRY_MD_SHA256;
		*mdnamep = "sha256";
	} else if ((flags & SSHX_SIG_RSA_SHA512) != 0) {
		*algp = "rsa-sha2-512";
		*mdp = GCRY_MD_SHA512;
		*mdnamep = "sha512";
	} else {
		*algp = "ssh-rsa";
		*mdp = GCRY_MD_SHA1;
		*mdnamep = "sha1";
	}
}

/* Signs with an RSA key (PKCS #1 v1.5) and appends string alg, string s padded to the modulus length. */
static int
sign_rsa(const struct sshx_key *k, const uint8_t *data, size_t dlen,
    unsigned int flags, struct sshx_buf *out)
{
	const char *alg, *mdname;
	gcry_sexp_t ds = NULL, ss = NULL;
	uint8_t digest[DIGEST_MAX], *sig = NULL;
	size_t hlen, slen = (k->bits + 7) / 8;
	int md;
	gcry_error_t e;
	int r = SSHX_ERR_INTERNAL;

	rsa_alg_for_flags(flags, &alg, &md, &mdname);
	hlen = hash_data(md, data, dlen, digest);
	if ((e = gcry_sexp_build(&ds, NULL, "(data(flags pkcs1)(hash %s %b))",
	    mdname, (int)hlen, digest)) != 0 ||
	    (e = gcry_pk_sign(&ss, ds, k->priv)) != 0) {
		r = gcry_to_err(e, 1);
		goto out;
	}
	if ((sig = malloc(slen)) == NULL) {
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	if ((r = sig_value(ss, "s", sig, slen)) != 0 ||
	    (r = sshx_buf_put_cstring(out, alg)) != 0 ||
	    (r = sshx_buf_put_string(out, sig, slen)) != 0)
		goto out;
	r = 0;
 out:
	free(sig);
	gcry_sexp_release(ss);
	gcry_sexp_release(ds);
	return r;
}

int
sshx_key_sign(const struct sshx_key *key, const uint8_t *data, size_t dlen,
    unsigned int rsa_flags, struct sshx_buf *sig)
{
	struct sshx_buf *out = NULL;
	int r = SSHX_ERR_INTERNAL;

	if (key == NULL || sig == NULL || (data == NULL && dlen != 0) ||
	    key->priv == NULL) {
		r = SSHX_ERR_INVALID_ARGUMENT;
		goto out;
	}
	/* Build the whole blob first so that sig is unchanged on failure. */
	if ((out = sshx_buf_new()) == NULL) {
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	switch (key->type) {
	case SSHX_KEY_ED25519:
		r = sign_ed25519(key, data, dlen, out);
		break;
	case SSHX_KEY_ECDSA_P256:
	case SSHX_KEY_ECDSA_P384:
	case SSHX_KEY_ECDSA_P521:
		r = sign_ecdsa(key, data, dlen, out);
		break;
	case SSHX_KEY_RSA:
		r = sign_rsa(key, data, dlen, rsa_flags, out);
		break;
	default:
		r = SSHX_ERR_KEY_TYPE_UNKNOWN;
		break;
	}
	if (r != 0)
		goto out;
	if ((r = sshx_buf_put(sig, sshx_buf_ptr(out), sshx_buf_len(out))) != 0)
		goto out;
	r = 0;
 out:
	sshx_buf_free(out);
	return r;
}

/* ---- Verification ---- */

/* Runs gcry_pk_verify; any failure of the mathematics is an invalid signature. */
static int
verify_sexp(const struct sshx_key *k, gcry_sexp_t ss, gcry_sexp_t ds)
{
	gcry_error_t e;

	if ((e = gcry_pk_verify(ss, ds, k->pub)) == 0)
		return 0;
	if (gcry_err_code(e) == GPG_ERR_ENOMEM)
		return SSHX_ERR_ALLOC;
	return SSHX_ERR_SIGNATURE_INVALID;
}

/* Verifies an Ed25519 signature: exactly 64 bytes R || S under "ssh-ed25519". */
static int
verify_ed25519(const struct sshx_key *k, const uint8_t *alg, size_t alglen,
    const uint8_t *s, size_t slen, const uint8_t *data, size_t dlen)
{
	gcry_sexp_t ss = NULL, ds = NULL;
	gcry_error_t e;
	int r = SSHX_ERR_INTERNAL;

	if (!bytes_are(alg, alglen, "ssh-ed25519")) {
		r = SSHX_ERR_KEY_TYPE_MISMATCH;
		goto out;
	}
	if (slen != SSHX_ED25519_SIG_LEN) {
		r = SSHX_ERR_INVALID_FORMAT;
		goto out;
	}
	/* libgcrypt's S-expressions cannot hold a longer message. */
	if (dlen > ED25519_VERIFY_MAX) {
		r = SSHX_ERR_STRING_TOO_LARGE;
		goto out;
	}
	if ((e = gcry_sexp_build(&ss, NULL, "(sig-val(eddsa(r %b)(s %b)))",
	    32, s, 32, s + 32)) != 0 ||
	    (e = gcry_sexp_build(&ds, NULL,
	    "(data(flags eddsa)(hash-algo sha512)(value %b))",
	    (int)dlen, dlen == 0 ? (const uint8_t *)"" : data)) != 0) {
		r = gcry_to_err(e, 0);
		goto out;
	}
	r = verify_sexp(k, ss, ds);
 out:
	gcry_sexp_release(ds);
	gcry_sexp_release(ss);
	return r;
}

/* Verifies an ECDSA signature: mpint r, mpint s under the key's own type name. */
static int
verify_ecdsa(const struct sshx_key *k, const uint8_t *alg, size_t alglen,
    const uint8_t *s, size_t slen, const uint8_t *data, size_t dlen)
{
	const struct ec_curve *c = ec_curve_of(k->type);
	struct sshx_buf *b = NULL;
	const uint8_t *rp, *sp;
	size_t rlen, splen, hlen;
	uint8_t digest[DIGEST_MAX];
	gcry_mpi_t rm = NULL, sm = NULL;
	gcry_sexp_t ss = NULL, ds = NULL;
	gcry_error_t e;
	int r = SSHX_ERR_INTERNAL;

	if (!bytes_are(alg, alglen, sshx_key_type_name(k->type))) {
		r = SSHX_ERR_KEY_TYPE_MISMATCH;
		goto out;
	}
	if ((b = sshx_buf_from(s, slen)) == NULL) {
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	if ((r = sshx_buf_get_bignum2_bytes_direct(b, &rp, &rlen)) != 0 ||
	    (r = sshx_buf_get_bignum2_bytes_direct(b, &sp, &splen)) != 0)
		goto out;
	if (sshx_buf_len(b) != 0) {
		r = SSHX_ERR_INVALID_FORMAT;
		goto out;
	}
	if (rlen > c->coord_len || splen > c->coord_len) {
		r = SSHX_ERR_SIGNATURE_INVALID;
		goto out;
	}
	if ((r = mpi_from_public(rp, rlen, &rm)) != 0 ||
	    (r = mpi_from_public(sp, splen, &sm)) != 0)
		goto out;
	hlen = hash_data(c->md, data, dlen, digest);
	/* Without (flags raw) libgcrypt 1.10 answers "Conflicting use". */
	if ((e = gcry_sexp_build(&ss, NULL, "(sig-val(ecdsa(r %m)(s %m)))",
	    rm, sm)) != 0 ||
	    (e = gcry_sexp_build(&ds, NULL, "(data(flags raw)(hash %s %b))",
	    c->md_name, (int)hlen, digest)) != 0) {
		r = gcry_to_err(e, 0);
		goto out;
	}
	r = verify_sexp(k, ss, ds);
 out:
	gcry_sexp_release(ds);
	gcry_sexp_release(ss);
	gcry_mpi_release(sm);
	gcry_mpi_release(rm);
	sshx_buf_free(b);
	return r;
}

/* Verifies an RSA PKCS #1 v1.5 signature under rsa-sha2-256, rsa-sha2-512 or (if allowed) ssh-rsa. */
static int
verify_rsa(const struct sshx_key *k, const uint8_t *alg, size_t alglen,
    const uint8_t *s, size_t slen, const uint8_t *data, size_t dlen,
    int allow_sha1)
{
	const char *mdname;
	uint8_t digest[DIGEST_MAX];
	size_t hlen;
	gcry_mpi_t sm = NULL, n = NULL;
	gcry_sexp_t ss = NULL, ds = NULL;
	gcry_error_t e;
	int md, r = SSHX_ERR_INTERNAL;

	if (bytes_are(alg, alglen, "rsa-sha2-256")) {
		md = GCRY_MD_SHA256;
		mdname = "sha256";
	} else if (bytes_are(alg, alglen, "rsa-sha2-512")) {
		md = GCRY_MD_SHA512;
		mdname = "sha512";
	} else if (bytes_are(alg, alglen, "ssh-rsa")) {
		if (!allow_sha1) {
			r = SSHX_ERR_ALG_REFUSED;
			goto out;
		}
		md = GCRY_MD_SHA1;
		mdname = "sha1";
	} else {
		r = SSHX_ERR_KEY_TYPE_MISMATCH;
		goto out;
	}
	/* Like OpenSSH, accept a signature shorter than the modulus. */
	if (slen > (k->bits + 7) / 8) {
		r = SSHX_ERR_INVALID_FORMAT;
		goto out;
	}
	if ((r = mpi_from_public(s, slen, &sm)) != 0)
		goto out;
	if ((e = gcry_sexp_extract_param(k->pub, "rsa", "n", &n, NULL)) != 0) {
		r = gcry_to_err(e, 0);
		goto out;
	}
	if (gcry_mpi_cmp(sm, n) >= 0) {
		r = SSHX_ERR_SIGNATURE_INVALID;
		goto out;
	}
	hlen = hash_data(md, data, dlen, digest);
	if ((e = gcry_sexp_build(&ss, NULL, "(sig-val(rsa(s %m)))", sm)) != 0 ||
	    (e = gcry_sexp_build(&ds, NULL, "(data(flags pkcs1)(hash %s %b))",
	    mdname, (int)hlen, digest)) != 0) {
		r = gcry_to_err(e, 0);
		goto out;
	}
	r = verify_sexp(k, ss, ds);
 out:
	gcry_sexp_release(ds);
	gcry_sexp_release(ss);
	gcry_mpi_release(n);
	gcry_mpi_release(sm);
	return r;
}

int
sshx_key_verify(const struct sshx_key *key, const uint8_t *sig, size_t siglen,
    const uint8_t *data, size_t dlen, int allow_sha1)
{
	struct sshx_buf *b = NULL;
	const uint8_t *alg, *s;
	size_t alglen, slen;
	int r = SSHX_ERR_INTERNAL;

	if (key == NULL || key->pub == NULL || (sig == NULL && siglen != 0) ||
	    (data == NULL && dlen != 0)) {
		r = SSHX_ERR_INVALID_ARGUMENT;
		goto out;
	}
	if (siglen > SSHX_BUF_SIZE_MAX) {
		r = SSHX_ERR_STRING_TOO_LARGE;
		goto out;
	}
	if ((b = sshx_buf_from(siglen == 0 ? (const uint8_t *)"" : sig, siglen)) == NULL) {
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	if ((r = sshx_buf_get_string_direct(b, &alg, &alglen)) != 0 ||
	    (r = sshx_buf_get_string_direct(b, &s, &slen)) != 0)
		goto out;
	if (sshx_buf_len(b) != 0) {
		r = SSHX_ERR_INVALID_FORMAT;
		goto out;
	}
	switch (key->type) {
	case SSHX_KEY_ED25519:
		r = verify_ed25519(key, alg, alglen, s, slen, data, dlen);
		break;
	case SSHX_KEY_ECDSA_P256:
	case SSHX_KEY_ECDSA_P384:
	case SSHX_KEY_ECDSA_P521:
		r = verify_ecdsa(key, alg, alglen, s, slen, data, dlen);
		break;
	case SSHX_KEY_RSA:
		r = verify_rsa(key, alg, alglen, s, slen, data, dlen, allow_sha1);
		break;
	default:
		r = SSHX_ERR_KEY_TYPE_UNKNOWN;
		break;
	}
 out:
	sshx_buf_free(b);
	return r;
}
