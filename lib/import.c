/*
 * Private key files written by other tools: OpenSSH's "openssh-key-v1"
 * container and the PEM files of PKCS #1, SEC 1 and PKCS #8. Every format is
 * rewritten as the agent's private-key body and handed to
 * sshx_key_parse_private, which checks that the halves belong together.
 * Decoded key material stays in libgcrypt secure memory from the base64
 * decoder on; the DER reader and the body builder only point into it.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gcrypt.h>

#include "b64.h"
#include "buf.h"
#include "err.h"
#include "import.h"
#include "key.h"

/* Largest file accepted. */
#define IMPORT_FILE_MAX		(1024 * 1024)
/* Largest decoded key; a 16384-bit RSA key needs under 12 KiB in any format. */
#define IMPORT_DECODED_MAX	(64 * 1024)
/* Deepest DER nesting read; PKCS #8 holding SEC 1 needs 5. */
#define DER_DEPTH_MAX		8
/* Largest DER INTEGER magnitude accepted, in bytes (16384 bits). */
#define DER_INT_MAX		(16384 / 8)
/* Longest file-supplied name (PEM label, key type) quoted in a message. */
#define NAME_SHOWN_MAX		64

#define ED25519_LEN		32
#define EC_FIELD_MAX		66	/* P-521 */
#define EC_POINT_MAX		(1 + 2 * EC_FIELD_MAX)

#define OPENSSH_MAGIC		"openssh-key-v1"	/* sizeof includes its NUL */
#define OPENSSH_BLOCK		8	/* padding unit of an unencrypted key */

#define WHY_ENCRYPTED		"the key is protected by a passphrase: add it " \
	"with ssh-add, then store it with sshxctl key persist FINGERPRINT"

#define DER_INTEGER		0x02
#define DER_BIT_STRING		0x03
#define DER_OCTET_STRING	0x04
#define DER_NULL		0x05
#define DER_OID			0x06
#define DER_SEQUENCE		0x30
#define DER_CONTEXT_0		0xa0	/* [0], constructed */
#define DER_CONTEXT_1		0xa1	/* [1], constructed */
#define DER_CONTEXT_1_PRIM	0x81	/* [1] IMPLICIT BIT STRING (RFC 5958) */

/* Where the caller wants the reason for a failure. */
struct why {
	char *s;
	size_t len;
};

/* An unread stretch of DER and how deeply it is nested. */
struct der {
	const uint8_t *p;
	size_t len;
	unsigned int depth;
};

/* One PEM block: its label, its base64 text (after any headers) and where the next block may start. */
struct pem {
	const uint8_t *label;
	size_t labellen;
	const uint8_t *body;
	size_t bodylen;
	int encrypted;		/* "Proc-Type: 4,ENCRYPTED" */
	size_t next;
};

struct ec_curve {
	const uint8_t *oid;
	size_t oidlen;
	const char *ssh_type;
	const char *ssh_curve;
	const char *gcry_name;
	size_t field;		/* bytes of a coordinate and of the scalar */
};

static const uint8_t oid_rsa[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };
static const uint8_t oid_ec[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
static const uint8_t oid_ed25519[] = { 0x2b, 0x65, 0x70 };
static const uint8_t oid_dsa[] = { 0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01 };
static const uint8_t oid_p256[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const uint8_t oid_p384[] = { 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const uint8_t oid_p521[] = { 0x2b, 0x81, 0x04, 0x00, 0x23 };

static const struct ec_curve curves[] = {
	{ oid_p256, sizeof(oid_p256), "ecdsa-sha2-nistp256", "nistp256", "NIST P-256", 32 },
	{ oid_p384, sizeof(oid_p384), "ecdsa-sha2-nistp384", "nistp384", "NIST P-384", 48 },
	{ oid_p521, sizeof(oid_p521), "ecdsa-sha2-nistp521", "nistp521", "NIST P-521", 66 },
};

static int why_set(struct why *w, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records why the import failed unless a more precise reason came first; returns r. */
static int
why_set(struct why *w, int r, const char *fmt, ...)
{
	va_list ap;

	if (w->s == NULL || w->len == 0 || w->s[0] != '\0')
		return r;
	va_start(ap, fmt);
	vsnprintf(w->s, w->len, fmt, ap);
	va_end(ap);
	return r;
}

/* Returns a name taken from the file fit to quote in a message: printable ASCII, short, else a placeholder. */
static const char *
shown_name(const uint8_t *p, size_t len, char out[static NAME_SHOWN_MAX + 1])
{
	size_t i;

	if (len > NAME_SHOWN_MAX)
		return "(too long to show)";
	for (i = 0; i < len; i++) {
		if (p[i] < 0x20 || p[i] > 0x7e || p[i] == '"' || p[i] == '\\')
			return "(unprintable)";
		out[i] = (char)p[i];
	}
	out[len] = '\0';
	return out;
}

/* Returns 1 when the len bytes at p spell the NUL-terminated s. */
static int
bytes_are(const uint8_t *p, size_t len, const char *s)
{
	return len == strlen(s) && (len == 0 || memcmp(p, s, len) == 0);
}

/* Returns 1 when the len bytes at p start with s. */
static int
bytes_start(const uint8_t *p, size_t len, const char *s)
{
	size_t n = strlen(s);

	return len >= n && memcmp(p, s, n) == 0;
}

/* Returns 1 when s occurs in the len bytes at p. */
static int
bytes_contain(const uint8_t *p, size_t len, const char *s)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (bytes_start(p + i, len - i, s))
			return 1;
	return 0;
}

/* ---- DER ---- */

/* Reads one element with the given tag; only definite, minimally encoded lengths are DER. */
static int
der_get(struct der *d, uint8_t tag, struct der *inner)
{
	size_t len, n, i, hdr = 2;

	if (d->len < 2 || d->p[0] != tag)
		return SSHX_ERR_INVALID_FORMAT;
	if (d->depth >= DER_DEPTH_MAX)
		return SSHX_ERR_LIMIT;
	len = d->p[1];
	if (len & 0x80) {
		/* 0x80 alone is BER's indefinite length. */
		n = len & 0x7f;
		if (n == 0 || n > 4 || d->len - 2 < n || d->p[2] == 0)
			return SSHX_ERR_INVALID_FORMAT;
		for (len = 0, i = 0; i < n; i++)
			len = len << 8 | d->p[2 + i];
		if (len < 0x80)
			return SSHX_ERR_INVALID_FORMAT;
		hdr += n;
	}
	if (len > d->len - hdr)
		return SSHX_ERR_INVALID_FORMAT;
	inner->p = d->p + hdr;
	inner->len = len;
	inner->depth = d->depth + 1;
	d->p += hdr + len;
	d->len -= hdr + len;
	return 0;
}

/* Returns 1 when the next element has the given tag. */
static int
der_next_is(const struct der *d, uint8_t tag)
{
	return d->len > 0 && d->p[0] == tag;
}

/* Fails unless everything was read. */
static int
der_end(const struct der *d)
{
	return d->len == 0 ? 0 : SSHX_ERR_INVALID_FORMAT;
}

/* Reads a non-negative, minimally encoded INTEGER; returns its magnitude without the sign byte. */
static int
der_get_uint(struct der *d, const uint8_t **vp, size_t *lenp)
{
	struct der v;
	int r;

	*vp = NULL;
	*lenp = 0;
	if ((r = der_get(d, DER_INTEGER, &v)) != 0)
		return r;
	if (v.len == 0 || (v.p[0] & 0x80) != 0)
		return SSHX_ERR_INVALID_FORMAT;
	if (v.len > 1 && v.p[0] == 0) {
		if ((v.p[1] & 0x80) == 0)
			return SSHX_ERR_INVALID_FORMAT;	/* not minimal */
		v.p++;
		v.len--;
	}
	if (v.len > DER_INT_MAX)
		return SSHX_ERR_LIMIT;
	*vp = v.p;
	*lenp = v.len;
	return 0;
}

/* Reads a small version INTEGER. */
static int
der_get_version(struct der *d, unsigned int *vp)
{
	const uint8_t *p;
	size_t len;
	int r;

	*vp = 0;
	if ((r = der_get_uint(d, &p, &len)) != 0)
		return r;
	if (len != 1)
		return SSHX_ERR_INVALID_FORMAT;
	*vp = p[0];
	return 0;
}

/* Returns 1 when an OBJECT IDENTIFIER's contents are the given encoding. */
static int
oid_is(const struct der *oid, const uint8_t *enc, size_t len)
{
	return oid->len == len && memcmp(oid->p, enc, len) == 0;
}

/* Writes an OBJECT IDENTIFIER in dotted form for a message, or "?" when malformed. */
static const char *
oid_string(const struct der *oid, char *out, size_t outlen)
{
	uint32_t arc = 0;
	size_t i, n = 0;
	int k;

	for (i = 0; i < oid->len; i++) {
		if (arc > (UINT32_MAX >> 7))
			return "?";
		arc = arc << 7 | (oid->p[i] & 0x7f);
		if (oid->p[i] & 0x80)
			continue;
		if (n == 0)
			k = snprintf(out, outlen, "%u.%u", arc < 80 ? arc / 40 : 2,
			    arc < 80 ? arc % 40 : arc - 80);
		else
			k = snprintf(out + n, outlen - n, ".%u", arc);
		if (k < 0 || (size_t)k >= outlen - n)
			return "?";
		n += (size_t)k;
		arc = 0;
	}
	return n == 0 || (oid->p[oid->len - 1] & 0x80) ? "?" : out;
}

/* Returns the curve an OID names, or NULL. */
static const struct ec_curve *
curve_by_oid(const struct der *oid)
{
	size_t i;

	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (oid_is(oid, curves[i].oid, curves[i].oidlen))
			return &curves[i];
	return NULL;
}

/* ---- Key material to agent bodies ---- */

/*
 * Computes the public point of an ECDSA scalar (written as 04 || X || Y) or
 * of an Ed25519 seed (eddsa set; 32 bytes), writing exactly qlen bytes. d
 * must lie in secure memory: it is set on the context as a secure MPI
 * because libgcrypt copies a scalar read from an S-expression to ordinary
 * memory.
 */
static int
ec_public(const char *curve, int eddsa, const uint8_t *d, size_t dlen,
    uint8_t *q, size_t qlen)
{
	gcry_sexp_t s = NULL;
	gcry_ctx_t ctx = NULL;
	gcry_mpi_t dm = NULL, qm = NULL;
	const uint8_t *qp;
	unsigned int nbits = 0;
	gcry_error_t e;
	int r = SSHX_ERR_INTERNAL;

	if (eddsa) {
		/* The eddsa flag makes libgcrypt hash the seed as RFC 8032 says. */
		if ((e = gcry_sexp_build(&s, NULL,
		    "(public-key(ecc(curve %s)(flags eddsa)))", curve)) != 0 ||
		    (e = gcry_mpi_ec_new(&ctx, s, NULL)) != 0) {
			r = SSHX_ERR_CRYPTO;
			goto out;
		}
		dm = gcry_mpi_set_opaque_copy(NULL, d, (unsigned int)dlen * 8);
	} else {
		if ((e = gcry_mpi_ec_new(&ctx, NULL, curve)) != 0 ||
		    (e = gcry_mpi_scan(&dm, GCRYMPI_FMT_USG, d, dlen, NULL)) != 0) {
			r = SSHX_ERR_CRYPTO;
			goto out;
		}
	}
	if (dm == NULL || !gcry_mpi_get_flag(dm, GCRYMPI_FLAG_SECURE)) {
		r = SSHX_ERR_SECMEM;
		goto out;
	}
	if ((e = gcry_mpi_ec_set_mpi("d", dm, ctx)) != 0) {
		r = SSHX_ERR_CRYPTO;
		goto out;
	}
	/* A scalar of zero has no public point; libgcrypt then returns nothing usable. */
	if ((qm = gcry_mpi_ec_get_mpi(eddsa ? "q@eddsa" : "q", ctx, 1)) == NULL ||
	    !gcry_mpi_get_flag(qm, GCRYMPI_FLAG_OPAQUE) ||
	    (qp = gcry_mpi_get_opaque(qm, &nbits)) == NULL) {
		r = SSHX_ERR_KEY_INVALID;
		goto out;
	}
	/* Some libgcrypt versions prefix the Edwards point with 0x40. */
	if (eddsa && nbits == 8 * (qlen + 1) && qp[0] == 0x40) {
		qp++;
		nbits -= 8;
	}
	if (nbits != 8 * qlen) {
		r = SSHX_ERR_KEY_INVALID;
		goto out;
	}
	memcpy(q, qp, qlen);
	r = 0;
 out:
	/* Secure MPIs and the context's copy of d are wiped by libgcrypt. */
	gcry_mpi_release(qm);
	gcry_mpi_release(dm);
	gcry_ctx_release(ctx);
	gcry_sexp_release(s);
	return r;
}

/* Appends the agent body of a PKCS #1 RSAPrivateKey: ssh-rsa, n, e, d, iqmp, p, q. */
static int
rsa_pkcs1(struct der *d, struct sshx_buf *body, struct why *w)
{
	struct der seq;
	const uint8_t *v[8];
	size_t l[8];
	unsigned int version;
	int i, r;

	if ((r = der_get(d, DER_SEQUENCE, &seq)) != 0 ||
	    (r = der_get_version(&seq, &version)) != 0)
		return r;
	if (version == 1)
		return why_set(w, SSHX_ERR_KEY_TYPE_UNKNOWN,
		    "multi-prime RSA keys are not supported");
	if (version != 0)
		return why_set(w, SSHX_ERR_INVALID_FORMAT,
		    "unknown RSAPrivateKey version %u", version);
	/* n, e, d, p, q, d mod (p-1), d mod (q-1), q^-1 mod p */
	for (i = 0; i < 8; i++)
		if ((r = der_get_uint(&seq, &v[i], &l[i])) != 0)
			return r;
	if ((r = der_end(&seq)) != 0)
		return r;
	if ((r = sshx_buf_put_cstring(body, "ssh-rsa")) != 0 ||
	    (r = sshx_buf_put_bignum2_bytes(body, v[0], l[0])) != 0 ||
	    (r = sshx_buf_put_bignum2_bytes(body, v[1], l[1])) != 0 ||
	    (r = sshx_buf_put_bignum2_bytes(body, v[2], l[2])) != 0 ||
	    (r = sshx_buf_put_bignum2_bytes(body, v[7], l[7])) != 0 ||
	    (r = sshx_buf_put_bignum2_bytes(body, v[3], l[3])) != 0 ||
	    (r = sshx_buf_put_bignum2_bytes(body, v[4], l[4])) != 0)
		return r;
	return 0;
}

/* Reads the curve of an ECParameters choice; only named curves are supported. */
static int
ec_named_curve(struct der *d, const struct ec_curve **cp, struct why *w)
{
	struct der oid;
	char s[64];
	int r;

	*cp = NULL;
	if (der_next_is(d, DER_SEQUENCE) || der_next_is(d, DER_NULL))
		return why_set(w, SSHX_ERR_KEY_TYPE_UNKNOWN,
		    "EC keys with explicit or implicit curve parameters are not supported");
	if ((r = der_get(d, DER_OID, &oid)) != 0)
		return r;
	if ((*cp = curve_by_oid(&oid)) == NULL)
		return why_set(w, SSHX_ERR_KEY_TYPE_UNKNOWN,
		    "unsupported elliptic curve %s", oid_string(&oid, s, sizeof(s)));
	return 0;
}

/*
 * Appends the agent body of a SEC 1 ECPrivateKey; c is the curve named
 * outside it (PKCS #8) or NULL. A missing public key is computed from d.
 */
static int
ec_sec1(struct der *d, const struct ec_curve *c, struct sshx_buf *body,
    struct why *w)
{
	struct der seq, priv, param, bits = { NULL, 0, 0 };
	const struct ec_curve *named = NULL;
	uint8_t derived[EC_POINT_MAX];
	const uint8_t *q;
	unsigned int version;
	int r;

	if ((r = der_get(d, DER_SEQUENCE, &seq)) != 0 ||
	    (r = der_get_version(&seq, &version)) != 0)
		return r;
	if (version != 1)
		return why_set(w, SSHX_ERR_INVALID_FORMAT,
		    "unknown ECPrivateKey version %u", version);
	if ((r = der_get(&seq, DER_OCTET_STRING, &priv)) != 0)
		return r;
	if (der_next_is(&seq, DER_CONTEXT_0)) {
		if ((r = der_get(&seq, DER_CONTEXT_0, &param)) != 0 ||
		    (r = ec_named_curve(&param, &named, w)) != 0 ||
		    (r = der_end(&param)) != 0)
			return r;
	}
	if (der_next_is(&seq, DER_CONTEXT_1)) {
		if ((r = der_get(&seq, DER_CONTEXT_1, &param)) != 0 ||
		    (r = der_get(&param, DER_BIT_STRING, &bits)) != 0 ||
		    (r = der_end(&param)) != 0)
			return r;
	}
	if ((r = der_end(&seq)) != 0)
		return r;
	if (c != NULL && named != NULL && c != named)
		return why_set(w, SSHX_ERR_INVALID_FORMAT,
		    "the EC key names two different curves");
	if (c == NULL && (c = named) == NULL)
		return why_set(w, SSHX_ERR_INVALID_FORMAT,
		    "the EC key does not name its curve");
	if (priv.len == 0 || priv.len > c->field)
		return why_set(w, SSHX_ERR_INVALID_FORMAT,
		    "the EC private key has the wrong length for %s", c->ssh_curve);
	if (bits.p != NULL) {
		/* A BIT STRING starts with its count of unused bits. */
		if (bits.len != 2 + 2 * c->field || bits.p[0] != 0 || bits.p[1] != 0x04)
			return why_set(w, SSHX_ERR_INVALID_FORMAT,
			    "the EC public key is not an uncompressed %s point",
			    c->ssh_curve);
		q = bits.p + 1;
	} else {
		if ((r = ec_public(c->gcry_name, 0, priv.p, priv.len, derived,
		    1 + 2 * c->field)) != 0)
			return why_set(w, r, "cannot compute the EC public key");
		q = derived;
	}
	if ((r = sshx_buf_put_cstring(body, c->ssh_type)) != 0 ||
	    (r = sshx_buf_put_cstring(body, c->ssh_curve)) != 0 ||
	    (r = sshx_buf_put_string(body, q, 1 + 2 * c->field)) != 0 ||
	    (r = sshx_buf_put_bignum2_bytes(body, priv.p, priv.len)) != 0)
		return r;
	return 0;
}

/*
 * Appends the agent body of an RFC 8410 Ed25519 private key (an OCTET
 * STRING holding the seed); pub is the OneAsymmetricKey public key or NULL.
 */
static int
ed25519_rfc8410(struct der *d, const struct der *pub, struct sshx_buf *body,
    struct why *w)
{
	struct der seed;
	uint8_t pk[ED25519_LEN];
	int r;

	if ((r = der_get(d, DER_OCTET_STRING, &seed)) != 0 ||
	    (r = der_end(d)) != 0)
		return r;
	if (seed.len != ED25519_LEN)
		return why_set(w, SSHX_ERR_INVALID_FORMAT,
		    "the Ed25519 private key is %zu bytes, not %d", seed.len, ED25519_LEN);
	if ((r = ec_public("Ed25519", 1, seed.p, seed.len, pk, sizeof(pk))) != 0)
		return why_set(w, r, "cannot compute the Ed25519 public key");
	if (pub != NULL && (pub->len != 1 + ED25519_LEN || pub->p[0] != 0 ||
	    memcmp(pub->p + 1, pk, ED25519_LEN) != 0))
		return why_set(w, SSHX_ERR_KEY_INVALID,
		    "the public key stored with the Ed25519 key does not match it");
	/* The agent's secret is seed || public key. */
	if ((r = sshx_buf_put_cstring(body, "ssh-ed25519")) != 0 ||
	    (r = sshx_buf_put_string(body, pk, sizeof(pk))) != 0 ||
	    (r = sshx_buf_put_u32(body, 2 * ED25519_LEN)) != 0 ||
	    (r = sshx_buf_put(body, seed.p, seed.len)) != 0 ||
	    (r = sshx_buf_put(body, pk, sizeof(pk))) != 0)
		return r;
	return 0;
}

/* Appends the agent body of a PKCS #8 PrivateKeyInfo or RFC 5958 OneAsymmetricKey. */
static int
pkcs8(struct der *d, struct sshx_buf *body, struct why *w)
{
	struct der seq, alg, oid, priv, skip, pub;
	const struct ec_curve *c;
	unsigned int version;
	char s[64];
	int have_pub = 0, r;

	if ((r = der_get(d, DER_SEQUENCE, &seq)) != 0 ||
	    (r = der_get_version(&seq, &version)) != 0)
		return r;
	if (version > 1)
		return why_set(w, SSHX_ERR_INVALID_FORMAT,
		    "unknown PKCS #8 version %u", version);
	if ((r = der_get(&seq, DER_SEQUENCE, &alg)) != 0 ||
	    (r = der_get(&alg, DER_OID, &oid)) != 0 ||
	    (r = der_get(&seq, DER_OCTET_STRING, &priv)) != 0)
		return r;
	/* Attributes mean nothing to an agent. */
	if (der_next_is(&seq, DER_CONTEXT_0) &&
	    (r = der_get(&seq, DER_CONTEXT_0, &skip)) != 0)
		return r;
	if (version == 1 && der_next_is(&seq, DER_CONTEXT_1_PRIM)) {
		if ((r = der_get(&seq, DER_CONTEXT_1_PRIM, &pub)) != 0)
			return r;
		have_pub = 1;
	}
	if ((r = der_end(&seq)) != 0)
		return r;
	if (oid_is(&oid, oid_rsa, sizeof(oid_rsa))) {
		if (der_next_is(&alg, DER_NULL) &&
		    (r = der_get(&alg, DER_NULL, &skip)) != 0)
			return r;
		if ((r = der_end(&alg)) != 0 ||
		    (r = rsa_pkcs1(&priv, body, w)) != 0)
			return r;
	} else if (oid_is(&oid, oid_ec, sizeof(oid_ec))) {
		if ((r = ec_named_curve(&alg, &c, w)) != 0 ||
		    (r = der_end(&alg)) != 0 ||
		    (r = ec_sec1(&priv, c, body, w)) != 0)
			return r;
	} else if (oid_is(&oid, oid_ed25519, sizeof(oid_ed25519))) {
		/* RFC 8410: the parameters are absent. */
		if ((r = der_end(&alg)) != 0 ||
		    (r = ed25519_rfc8410(&priv, have_pub ? &pub : NULL, body, w)) != 0)
			return r;
	} else if (oid_is(&oid, oid_dsa, sizeof(oid_dsa))) {
		return why_set(w, SSHX_ERR_KEY_TYPE_REFUSED,
		    "DSA keys are refused: OpenSSH has deprecated them");
	} else {
		return why_set(w, SSHX_ERR_KEY_TYPE_UNKNOWN,
		    "unsupported key algorithm %s", oid_string(&oid, s, sizeof(s)));
	}
	return der_end(&priv);
}

/* Builds the key from an agent body with sshx_key_parse_private, explaining its refusals. */
static int
key_from_body(struct sshx_buf *body, struct sshx_key **kp, struct why *w)
{
	const uint8_t *name;
	size_t len;
	char s[NAME_SHOWN_MAX + 1];
	int r;

	switch ((r = sshx_key_parse_private(body, kp))) {
	case 0:
		return 0;
	case SSHX_ERR_KEY_TYPE_REFUSED:
		return why_set(w, r, "DSA keys are refused: OpenSSH has deprecated them");
	case SSHX_ERR_KEY_TYPE_UNKNOWN:
		/* sshx_key_parse_private consumed nothing, so the name is still there. */
		if (sshx_buf_peek_string_direct(body, &name, &len) != 0) {
			name = NULL;
			len = 0;
		}
		return why_set(w, r, "unsupported key type \"%s\"", shown_name(name, len, s));
	case SSHX_ERR_KEY_INVALID:
	case SSHX_ERR_KEY_TYPE_MISMATCH:
		return why_set(w, SSHX_ERR_KEY_INVALID,
		    "the key is invalid: its parts do not belong together");
	case SSHX_ERR_KEY_TOO_SMALL:
		return why_set(w, r, "the RSA key is too small");
	case SSHX_ERR_LIMIT:
		return why_set(w, r, "the RSA key is larger than %d bits", SSHX_RSA_MAX_BITS);
	case SSHX_ERR_ALLOC:
	case SSHX_ERR_SECMEM:
	case SSHX_ERR_CRYPTO:
	case SSHX_ERR_INTERNAL:
		return why_set(w, r, "%s", sshx_strerror(r));
	default:
		return why_set(w, SSHX_ERR_INVALID_FORMAT,
		    "the private key is malformed (%s)", sshx_strerror(r));
	}
}

/* ---- OpenSSH ---- */

/* Parses a decoded "openssh-key-v1" container (PROTOCOL.key) into a key and its comment. */
static int
openssh_parse(struct sshx_buf *b, struct sshx_key **kp, char **commentp,
    struct why *w)
{
	const uint8_t *cipher, *kdf, *kdfopts, *pub, *sect, *name, *blob, *pad;
	size_t cipherlen, kdflen, kdfoptslen, publen, sectlen, namelen, bloblen, i;
	uint32_t nkeys, check1, check2;
	struct sshx_buf *pb = NULL, *priv = NULL;
	struct sshx_key *k = NULL;
	char *comment = NULL;
	int r = SSHX_ERR_INTERNAL;

	if (sshx_buf_len(b) < sizeof(OPENSSH_MAGIC) ||
	    memcmp(sshx_buf_ptr(b), OPENSSH_MAGIC, sizeof(OPENSSH_MAGIC)) != 0) {
		r = why_set(w, SSHX_ERR_INVALID_FORMAT,
		    "the OPENSSH PRIVATE KEY block does not hold an openssh-key-v1 key");
		goto out;
	}
	if ((r = sshx_buf_consume(b, sizeof(OPENSSH_MAGIC))) != 0 ||
	    (r = sshx_buf_get_string_direct(b, &cipher, &cipherlen)) != 0 ||
	    (r = sshx_buf_get_string_direct(b, &kdf, &kdflen)) != 0 ||
	    (r = sshx_buf_get_string_direct(b, &kdfopts, &kdfoptslen)) != 0 ||
	    (r = sshx_buf_get_u32(b, &nkeys)) != 0)
		goto out;
	if (nkeys != 1) {
		r = why_set(w, SSHX_ERR_INVALID_FORMAT,
		    "the file holds %u keys instead of one", nkeys);
		goto out;
	}
	if ((r = sshx_buf_get_string_direct(b, &pub, &publen)) != 0 ||
	    (r = sshx_buf_get_string_direct(b, &sect, &sectlen)) != 0)
		goto out;
	if (sshx_buf_len(b) != 0) {
		r = why_set(w, SSHX_ERR_INVALID_FORMAT, "data follows the private key");
		goto out;
	}
	/* The header's public key is plain text even in an encrypted file. */
	if ((pb = sshx_buf_from(pub, publen)) == NULL) {
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	if (sshx_buf_get_string_direct(pb, &name, &namelen) == 0 &&
	    bytes_are(name, namelen, "ssh-dss")) {
		r = why_set(w, SSHX_ERR_KEY_TYPE_REFUSED,
		    "DSA keys are refused: OpenSSH has deprecated them");
		goto out;
	}
	if (!bytes_are(cipher, cipherlen, "none")) {
		r = why_set(w, SSHX_ERR_KEY_ENCRYPTED, WHY_ENCRYPTED);
		goto out;
	}
	if (!bytes_are(kdf, kdflen, "none") || kdfoptslen != 0) {
		r = why_set(w, SSHX_ERR_INVALID_FORMAT,
		    "an unencrypted key names a key derivation function");
		goto out;
	}
	if (sectlen % OPENSSH_BLOCK != 0) {
		r = why_set(w, SSHX_ERR_INVALID_FORMAT,
		    "the private section is not padded to %d bytes", OPENSSH_BLOCK);
		goto out;
	}
	if ((priv = sshx_buf_from(sect, sectlen)) == NULL) {
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	/* Unequal check numbers mean a wrong passphrase when encrypted; here, corruption. */
	if ((r = sshx_buf_get_u32(priv, &check1)) != 0 ||
	    (r = sshx_buf_get_u32(priv, &check2)) != 0)
		goto out;
	if (check1 != check2) {
		r = why_set(w, SSHX_ERR_INVALID_FORMAT,
		    "the private section is corrupt: its check numbers differ");
		goto out;
	}
	if ((r = key_from_body(priv, &k, w)) != 0)
		goto out;
	if ((r = sshx_buf_get_cstring(priv, &comment, NULL)) != 0)
		goto out;
	pad = sshx_buf_ptr(priv);
	for (i = 0; i < sshx_buf_len(priv); i++) {
		if (pad[i] != (uint8_t)(i + 1)) {
			r = why_set(w, SSHX_ERR_INVALID_FORMAT,
			    "the private section's padding is wrong");
			goto out;
		}
	}
	blob = sshx_key_blob(k, &bloblen);
	if (publen != bloblen || memcmp(pub, blob, bloblen) != 0) {
		r = why_set(w, SSHX_ERR_KEY_INVALID,
		    "the public key in the file's header does not match the private key");
		goto out;
	}
	*kp = k;
	k = NULL;	/* transferred */
	*commentp = comment;
	comment = NULL;	/* transferred */
	r = 0;
 out:
	/* The buffer getters' codes all mean a damaged file here. */
	if (r == SSHX_ERR_INCOMPLETE || r == SSHX_ERR_NUL_IN_STRING ||
	    r == SSHX_ERR_STRING_TOO_LARGE || r == SSHX_ERR_INVALID_FORMAT)
		r = why_set(w, SSHX_ERR_INVALID_FORMAT,
		    "the OpenSSH key is truncated or malformed");
	free(comment);
	sshx_key_free(k);
	sshx_buf_free(priv);
	sshx_buf_free(pb);
	return r;
}

/* ---- PEM ---- */

/* Returns the next line from *posp without its line ending and trailing blanks; 0 at the end. */
static int
next_line(const uint8_t *data, size_t len, size_t *posp, const uint8_t **linep,
    size_t *lenp)
{
	const uint8_t *p, *nl;
	size_t n;

	if (*posp >= len)
		return 0;
	p = data + *posp;
	nl = memchr(p, '\n', len - *posp);
	n = nl != NULL ? (size_t)(nl - p) : len - *posp;
	*posp += n + (nl != NULL);
	while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	*linep = p;
	*lenp = n;
	return 1;
}

/* Returns 1 when a line is "-----<kind>LABEL-----", pointing *labelp at the label. */
static int
armor_line(const uint8_t *line, size_t len, const char *kind,
    const uint8_t **labelp, size_t *labellenp)
{
	size_t k = strlen(kind);

	if (!bytes_start(line, len, kind) || len < k + 5 ||
	    memcmp(line + len - 5, "-----", 5) != 0)
		return 0;
	*labelp = line + k;
	*labellenp = len - k - 5;
	return 1;
}

/* Finds the next PEM block at or after start (RFC 7468, with RFC 1421 headers). */
static int
pem_find(const uint8_t *data, size_t len, size_t start, struct pem *pem,
    struct why *w)
{
	enum { FIRST, HEADERS, BODY } state = FIRST;
	const uint8_t *line, *label;
	size_t pos = start, n, labellen, bstart;
	char s[NAME_SHOWN_MAX + 1];

	memset(pem, 0, sizeof(*pem));
	for (;;) {
		if (!next_line(data, len, &pos, &line, &n))
			return SSHX_ERR_NOT_FOUND;
		if (armor_line(line, n, "-----BEGIN ", &pem->label, &pem->labellen))
			break;
	}
	bstart = pos;
	while (next_line(data, len, &pos, &line, &n)) {
		if (armor_line(line, n, "-----END ", &label, &labellen)) {
			if (labellen != pem->labellen ||
			    memcmp(label, pem->label, labellen) != 0)
				return why_set(w, SSHX_ERR_INVALID_FORMAT,
				    "the END line does not match the BEGIN line");
			pem->body = data + bstart;
			pem->bodylen = (size_t)(line - data) - bstart;
			pem->next = pos;
			return 0;
		}
		if (state != BODY && (memchr(line, ':', n) != NULL ||
		    (state == HEADERS && n > 0 && (line[0] == ' ' || line[0] == '\t')))) {
			state = HEADERS;
			if (bytes_start(line, n, "Proc-Type:") &&
			    bytes_contain(line, n, "ENCRYPTED"))
				pem->encrypted = 1;
			bstart = pos;
			continue;
		}
		if (state == HEADERS) {
			if (n != 0)
				return why_set(w, SSHX_ERR_INVALID_FORMAT,
				    "the PEM headers do not end with a blank line");
			bstart = pos;
		}
		state = BODY;
	}
	return why_set(w, SSHX_ERR_INVALID_FORMAT,
	    "the \"%s\" block has no END line: the file is truncated",
	    shown_name(pem->label, pem->labellen, s));
}

/* Decodes base64 broken into lines, appending the bytes to out. */
static int
pem_decode(const uint8_t *s, size_t len, struct sshx_buf *out)
{
	char quad[4];
	size_t i, n = 0;
	int done = 0, r = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')
			continue;
		/* Padding ends the data. */
		if (done) {
			r = SSHX_ERR_INVALID_FORMAT;
			goto out;
		}
		quad[n++] = (char)s[i];
		if (n < sizeof(quad))
			continue;
		if ((r = sshx_b64_decode(quad, sizeof(quad), out)) != 0)
			goto out;
		done = quad[3] == '=';
		n = 0;
	}
	if (n != 0)
		r = SSHX_ERR_INVALID_FORMAT;
 out:
	explicit_bzero(quad, sizeof(quad));
	return r;
}

/* Explains why data holding no PEM block is not a private key file. */
static int
not_a_key(const uint8_t *data, size_t len, struct why *w)
{
	if (bytes_start(data, len, "ssh-") || bytes_start(data, len, "ecdsa-") ||
	    bytes_start(data, len, "sk-") || bytes_contain(data, len, "SSH2 PUBLIC KEY"))
		return why_set(w, SSHX_ERR_INVALID_FORMAT,
		    "this is a public key, not a private key file");
	if (bytes_start(data, len, "PuTTY-User-Key-File-"))
		return why_set(w, SSHX_ERR_INVALID_FORMAT,
		    "PuTTY key files are not supported: export the key in OpenSSH "
		    "format with puttygen");
	return why_set(w, SSHX_ERR_INVALID_FORMAT, "not a private key file");
}

/* Reads the DER of a PEM block into an agent body and builds the key from it. */
static int
der_key(const struct pem *pem, struct sshx_buf *der, struct sshx_key **kp,
    struct why *w)
{
	struct sshx_buf *body = NULL;
	struct der d = { sshx_buf_ptr(der), sshx_buf_len(der), 0 };
	char s[NAME_SHOWN_MAX + 1];
	int r = SSHX_ERR_INTERNAL;

	if ((body = sshx_buf_new_secure()) == NULL) {
		r = SSHX_ERR_SECMEM;
		goto out;
	}
	if (bytes_are(pem->label, pem->labellen, "RSA PRIVATE KEY"))
		r = rsa_pkcs1(&d, body, w);
	else if (bytes_are(pem->label, pem->labellen, "EC PRIVATE KEY"))
		r = ec_sec1(&d, NULL, body, w);
	else
		r = pkcs8(&d, body, w);
	if (r == 0)
		r = der_end(&d);
	if (r == SSHX_ERR_LIMIT)
		why_set(w, r, "the \"%s\" block holds a value larger than sshx "
		    "accepts", shown_name(pem->label, pem->labellen, s));
	if (r == SSHX_ERR_INVALID_FORMAT)
		why_set(w, r, "the \"%s\" block is not valid DER",
		    shown_name(pem->label, pem->labellen, s));
	if (r != 0)
		goto out;
	if ((r = key_from_body(body, kp, w)) != 0)
		goto out;
	r = 0;
 out:
	sshx_buf_free(body);
	return r;
}

int
sshx_import_private(const uint8_t *data, size_t len, struct sshx_key **keyp,
    char **commentp, char *why, size_t whylen)
{
	struct why w = { why, whylen };
	struct pem pem;
	struct sshx_buf *der = NULL;
	struct sshx_key *k = NULL;
	char *comment = NULL, s[NAME_SHOWN_MAX + 1];
	size_t start = 0;
	int r = SSHX_ERR_INTERNAL;

	if (keyp != NULL)
		*keyp = NULL;
	if (commentp != NULL)
		*commentp = NULL;
	if (why != NULL && whylen != 0)
		why[0] = '\0';
	if (keyp == NULL || commentp == NULL || (data == NULL && len != 0)) {
		r = why_set(&w, SSHX_ERR_INVALID_ARGUMENT, "invalid argument");
		goto out;
	}
	if (len > IMPORT_FILE_MAX) {
		r = why_set(&w, SSHX_ERR_LIMIT, "the file is larger than %d KiB",
		    IMPORT_FILE_MAX / 1024);
		goto out;
	}
	/* Skip the curve block that "openssl ecparam -genkey" writes first. */
	do {
		if ((r = pem_find(data, len, start, &pem, &w)) == SSHX_ERR_NOT_FOUND) {
			r = not_a_key(data, len, &w);
			goto out;
		}
		if (r != 0)
			goto out;
		start = pem.next;
	} while (bytes_are(pem.label, pem.labellen, "EC PARAMETERS"));

	if (bytes_are(pem.label, pem.labellen, "ENCRYPTED PRIVATE KEY") ||
	    (pem.encrypted && !bytes_are(pem.label, pem.labellen, "DSA PRIVATE KEY"))) {
		r = why_set(&w, SSHX_ERR_KEY_ENCRYPTED, WHY_ENCRYPTED);
		goto out;
	}
	if (bytes_are(pem.label, pem.labellen, "DSA PRIVATE KEY")) {
		r = why_set(&w, SSHX_ERR_KEY_TYPE_REFUSED,
		    "DSA keys are refused: OpenSSH has deprecated them");
		goto out;
	}
	if (!bytes_are(pem.label, pem.labellen, "OPENSSH PRIVATE KEY") &&
	    !bytes_are(pem.label, pem.labellen, "RSA PRIVATE KEY") &&
	    !bytes_are(pem.label, pem.labellen, "EC PRIVATE KEY") &&
	    !bytes_are(pem.label, pem.labellen, "PRIVATE KEY")) {
		r = why_set(&w, SSHX_ERR_INVALID_FORMAT, "unsupported PEM type \"%s\"",
		    shown_name(pem.label, pem.labellen, s));
		goto out;
	}
	if ((der = sshx_buf_new_secure()) == NULL) {
		r = SSHX_ERR_SECMEM;
		goto out;
	}
	if ((r = sshx_buf_set_max(der, IMPORT_DECODED_MAX)) != 0)
		goto out;
	if ((r = pem_decode(pem.body, pem.bodylen, der)) != 0) {
		if (r == SSHX_ERR_NO_BUFFER_SPACE)
			r = why_set(&w, SSHX_ERR_LIMIT, "the key is larger than %d KiB",
			    IMPORT_DECODED_MAX / 1024);
		else if (r == SSHX_ERR_INVALID_FORMAT)
			why_set(&w, r, "the \"%s\" block is not valid base64",
			    shown_name(pem.label, pem.labellen, s));
		goto out;
	}
	if (bytes_are(pem.label, pem.labellen, "OPENSSH PRIVATE KEY")) {
		if ((r = openssh_parse(der, &k, &comment, &w)) != 0)
			goto out;
	} else {
		if ((r = der_key(&pem, der, &k, &w)) != 0)
			goto out;
		if ((comment = strdup("")) == NULL) {
			r = SSHX_ERR_ALLOC;
			goto out;
		}
	}
	*keyp = k;
	k = NULL;	/* transferred */
	*commentp = comment;
	comment = NULL;	/* transferred */
	r = 0;
 out:
	if (r != 0)
		why_set(&w, r, "%s", sshx_strerror(r));
	free(comment);
	sshx_key_free(k);
	sshx_buf_free(der);
	return r;
}
