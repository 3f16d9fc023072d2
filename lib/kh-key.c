/*
 * Validation of the keys read from known_hosts text and command lines: type,
 * strict base64, the blob's own type, a valid key, and the weak-key policy.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gcrypt.h>

#include "b64.h"
#include "buf.h"
#include "err.h"
#include "key.h"
#include "kh.h"
#include "kh-int.h"

/* Returns the number of significant bits of an unsigned big-endian magnitude. */
static unsigned int
mag_bits(const uint8_t *p, size_t len)
{
	unsigned int bits;
	uint8_t top;

	while (len > 0 && p[0] == 0) {
		p++;
		len--;
	}
	if (len == 0)
		return 0;
	bits = (unsigned int)(len - 1) * 8;
	for (top = p[0]; top != 0; top >>= 1)
		bits++;
	return bits;
}

/* Compares two minimal unsigned magnitudes: <0, 0 or >0. */
static int
mag_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return alen == 0 ? 0 : memcmp(a, b, alen);
}

/* Returns 1 when a minimal magnitude is above 1 and below p. */
static int
mag_in_group(const uint8_t *v, size_t vlen, const uint8_t *p, size_t plen)
{
	if (vlen == 0 || (vlen == 1 && v[0] == 1))
		return 0;
	return mag_cmp(v, vlen, p, plen) < 0;
}

/* Returns the modulus size of an RSA blob, or 0 when it cannot be read. */
static unsigned int
rsa_blob_bits(const uint8_t *blob, size_t len)
{
	struct sshx_buf *b;
	const uint8_t *t, *e, *n;
	size_t tlen, elen, nlen;
	unsigned int bits = 0;

	if ((b = sshx_buf_from(blob, len)) == NULL)
		return 0;
	if (sshx_buf_get_string_direct(b, &t, &tlen) == 0 &&
	    sshx_buf_get_bignum2_bytes_direct(b, &e, &elen) == 0 &&
	    sshx_buf_get_bignum2_bytes_direct(b, &n, &nlen) == 0)
		bits = mag_bits(n, nlen);
	sshx_buf_free(b);
	return bits;
}

/*
 * Validates an ssh-dss blob, which sshx_key_from_blob refuses outright:
 * string "ssh-dss", mpint p, q, g, y and nothing after; p of 1024..3072
 * bits, q of 160, 224 or 256 bits, p and q odd, g and y in 2..p-1.
 */
static int
dsa_check(const uint8_t *blob, size_t len, unsigned int *bitsp, struct why *w)
{
	struct sshx_buf *b;
	const uint8_t *t, *p, *q, *g, *y;
	size_t tlen, plen, qlen, glen, ylen;
	unsigned int pbits, qbits;
	int r;

	*bitsp = 0;
	if ((b = sshx_buf_from(blob, len)) == NULL)
		return kh_why_set(w, SSHX_ERR_ALLOC, "out of memory");
	if ((r = sshx_buf_get_string_direct(b, &t, &tlen)) != 0 ||
	    (r = sshx_buf_get_bignum2_bytes_direct(b, &p, &plen)) != 0 ||
	    (r = sshx_buf_get_bignum2_bytes_direct(b, &q, &qlen)) != 0 ||
	    (r = sshx_buf_get_bignum2_bytes_direct(b, &g, &glen)) != 0 ||
	    (r = sshx_buf_get_bignum2_bytes_direct(b, &y, &ylen)) != 0) {
		r = kh_why_set(w, SSHX_ERR_KEY_INVALID, "invalid ssh-dss key: %s",
		    sshx_strerror(r));
		goto out;
	}
	if (sshx_buf_len(b) != 0) {
		r = kh_why_set(w, SSHX_ERR_KEY_INVALID,
		    "invalid ssh-dss key: trailing bytes after the key");
		goto out;
	}
	pbits = mag_bits(p, plen);
	qbits = mag_bits(q, qlen);
	if (pbits < DSA_P_MIN_BITS || pbits > DSA_P_MAX_BITS) {
		r = kh_why_set(w, SSHX_ERR_KEY_INVALID, "invalid ssh-dss key: "
		    "p has %u bits, not %d..%d", pbits, DSA_P_MIN_BITS, DSA_P_MAX_BITS);
		goto out;
	}
	if (qbits != 160 && qbits != 224 && qbits != 256) {
		r = kh_why_set(w, SSHX_ERR_KEY_INVALID, "invalid ssh-dss key: "
		    "q has %u bits, not 160, 224 or 256", qbits);
		goto out;
	}
	if ((p[plen - 1] & 1) == 0 || (q[qlen - 1] & 1) == 0 ||
	    !mag_in_group(g, glen, p, plen) || !mag_in_group(y, ylen, p, plen)) {
		r = kh_why_set(w, SSHX_ERR_KEY_INVALID, "invalid ssh-dss key: "
		    "p or q is even, or g or y is not in 2..p-1");
		goto out;
	}
	*bitsp = pbits;
	r = 0;
 out:
	sshx_buf_free(b);
	return r;
}

/*
 * Validates a supported non-DSA blob with sshx_key_from_blob and applies the
 * RSA size policy; fills bits and fingerprint of l.
 */
static int
key_check(const uint8_t *blob, size_t len, enum sshx_key_type type, int flags,
    struct sshx_kh_line *l, struct why *w)
{
	struct sshx_key *k = NULL;
	unsigned int bits;
	int r;

	if ((r = sshx_key_from_blob(blob, len, &k)) != 0) {
		if (r == SSHX_ERR_ALLOC)
			return kh_why_set(w, r, "out of memory");
		if (r == SSHX_ERR_KEY_TOO_SMALL && type == SSHX_KEY_RSA) {
			bits = rsa_blob_bits(blob, len);
			if (flags & SSHX_KH_ALLOW_WEAK)
				return kh_why_set(w, r, "RSA key of %u bits is under the "
				    "%d-bit minimum, even with --allow-weak",
				    bits, RSA_FLOOR_BITS);
			return kh_why_set(w, r, "RSA key of %u bits is under the "
			    "%d-bit minimum", bits, SSHX_RSA_MIN_BITS);
		}
		return kh_why_set(w, SSHX_ERR_KEY_INVALID, "invalid %s key: %s",
		    sshx_key_type_name(type), sshx_strerror(r));
	}
	bits = sshx_key_bits(k);
	if (type == SSHX_KEY_RSA && bits < SSHX_RSA_MIN_BITS &&
	    !(flags & SSHX_KH_ALLOW_WEAK)) {
		sshx_key_free(k);
		return kh_why_set(w, SSHX_ERR_KEY_TOO_SMALL, "RSA key of %u bits is under "
		    "the %d-bit minimum (--allow-weak accepts it)", bits, SSHX_RSA_MIN_BITS);
	}
	l->bits = bits;
	r = sshx_key_fingerprint(k, l->fingerprint);
	sshx_key_free(k);
	if (r != 0)
		return kh_why_set(w, r, "cannot fingerprint the key: %s", sshx_strerror(r));
	return 0;
}

/* Checks a key type field: known to sshx (DSA included, for the policy to judge). */
int
kh_check_type(const char *t, size_t len, enum sshx_key_type *typep, struct why *w)
{
	char shown[SHOWN_SIZE];

	*typep = SSHX_KEY_UNSPEC;
	if (len <= SSHX_KH_TYPE_MAX)
		*typep = sshx_key_type_from_name(t, len);
	if (*typep != SSHX_KEY_UNSPEC)
		return 0;
	if (len > CERT_SUFFIX_LEN &&
	    memcmp(t + len - CERT_SUFFIX_LEN, CERT_SUFFIX, CERT_SUFFIX_LEN) == 0)
		return kh_why_set(w, SSHX_ERR_KEY_TYPE_UNKNOWN, "unknown key type '%s': "
		    "certificates are not host keys; pin the CA with @cert-authority",
		    kh_show(t, len, shown));
	return kh_why_set(w, SSHX_ERR_KEY_TYPE_UNKNOWN, "unknown key type '%s'",
	    kh_show(t, len, shown));
}

/* Validates TYPE and BASE64 of a key and fills type, blob, bits and fingerprint of l. */
int
kh_parse_key(const char *type, size_t typelen, const char *b64, size_t b64len,
    int flags, struct sshx_kh_line *l, struct why *w)
{
	char shown[SHOWN_SIZE];
	struct sshx_buf *b = NULL;
	enum sshx_key_type kt;
	const uint8_t *blob;
	size_t bloblen, namelen;
	uint32_t n;
	int r;

	if ((r = kh_check_type(type, typelen, &kt, w)) != 0)
		goto out;
	if ((b = sshx_buf_new()) == NULL) {
		r = kh_why_set(w, SSHX_ERR_ALLOC, "out of memory");
		goto out;
	}
	if ((r = sshx_b64_decode(b64, b64len, b)) != 0) {
		if (r == SSHX_ERR_INVALID_FORMAT)
			r = kh_why_set(w, r, "key is not valid base64");
		else
			r = kh_why_set(w, r, "cannot decode the key: %s", sshx_strerror(r));
		goto out;
	}
	blob = sshx_buf_ptr(b);
	bloblen = sshx_buf_len(b);
	/* The blob names its own type first: string type. */
	if (bloblen < 4 || (n = (uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 |
	    (uint32_t)blob[2] << 8 | blob[3]) > bloblen - 4) {
		r = kh_why_set(w, SSHX_ERR_KEY_INVALID, "invalid %s key: "
		    "the key does not start with its type name", sshx_key_type_name(kt));
		goto out;
	}
	namelen = n;
	if (namelen != typelen || memcmp(blob + 4, type, typelen) != 0) {
		r = kh_why_set(w, SSHX_ERR_KEY_TYPE_MISMATCH, "key type mismatch: "
		    "the line says %s but the key is %s", sshx_key_type_name(kt),
		    kh_show((const char *)blob + 4, namelen, shown));
		goto out;
	}
	if (kt == SSHX_KEY_DSA) {
		if (!(flags & SSHX_KH_ALLOW_WEAK)) {
			r = kh_why_set(w, SSHX_ERR_KEY_TYPE_REFUSED, "DSA (ssh-dss) keys "
			    "are refused (--allow-weak accepts them)");
			goto out;
		}
		if ((r = dsa_check(blob, bloblen, &l->bits, w)) != 0)
			goto out;
		sshx_key_fingerprint_blob(blob, bloblen, l->fingerprint);
	} else if ((r = key_check(blob, bloblen, kt, flags, l, w)) != 0)
		goto out;
	if ((l->blob = malloc(bloblen)) == NULL) {
		r = kh_why_set(w, SSHX_ERR_ALLOC, "out of memory");
		goto out;
	}
	memcpy(l->blob, blob, bloblen);
	l->bloblen = bloblen;
	memcpy(l->type, type, typelen);
	l->type[typelen] = '\0';
	r = 0;
 out:
	sshx_buf_free(b);
	return r;
}
