/*
 * Ed25519 signing (RFC 8032 section 5.1.6) built on libgcrypt's hash and
 * curve primitives.
 *
 * gcry_pk_sign spends almost all of its time on the nonce point R = [r]B,
 * which it computes with a generic constant-time ladder over the whole
 * scalar. B is fixed, so its multiples can be computed once. With r written
 * in signed radix 16 (64 digits d_i in -8..8), R is 64 table points added
 * together plus four doublings, about a sixth of the ladder's work.
 *
 * The selection must not reveal r. Every read touches all entries of a row
 * with masks, so neither the memory access pattern nor the branches depend
 * on a digit. libgcrypt's MPIs also shrink to their significant limbs, so a
 * selected coordinate that is small (the identity's x = 0, y = 1) would take
 * other paths through libgcrypt than a full-size one. Each entry is therefore
 * offset by a fixed point C: row k holds d * 256^k * B + C for d = -8..8,
 * every coordinate of which is checked to fill all four limbs when the table
 * is built. The sum then carries 544 * C (32 per pass, the first pass times
 * 16), which one last addition of -544 * C removes. Everything derived from
 * the secret (a, the prefix, r, its digits, the selected points and the
 * partial sums) lives in secure memory and is wiped.
 *
 * libgcrypt's own Ed25519 context does the field arithmetic (its fixed-size
 * 2^255-19 routines), the point additions and the final inversion. The unit
 * tests check RFC 8032's vectors and compare every signature, byte for byte,
 * with gcry_pk_sign's for many keys and message lengths.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include <gcrypt.h>

#include "ed25519.h"
#include "err.h"

#define ROWS		32	/* 256^k for k = 0..31 covers 253-bit scalars */
#define ENTRIES		17	/* d * 256^k * B + C for d = -8..8 */
#define COORD		32	/* bytes per big-endian coordinate */
#define COORD_WORDS	(COORD / 8)
#define ENTRY_WORDS	(2 * COORD_WORDS)	/* x || y */
#define DIGITS		64
/* C = [c]B for c = the first 31 bytes of SHA-512 of this label: arbitrary, public. */
#define OFFSET_LABEL	"sshx ed25519 table offset"
#define OFFSET_TIMES	544	/* C's in the sum: 16 * 32 + 32 */

/*
 * The table: public points, built on first use. Entries are byte strings
 * kept in 64-bit words so that a constant-time selection moves eight bytes
 * at a time.
 */
static uint64_t table[ROWS][ENTRIES][ENTRY_WORDS];
/* -544 * C, affine x || y, big-endian. */
static uint8_t unoffset[2 * COORD];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;
static int table_ready;

/* What one signature keeps in secure memory. */
struct scratch {
	uint8_t az[64];		/* SHA-512(seed): clamped a || prefix */
	uint8_t hr[64];		/* SHA-512(prefix || M) */
	uint8_t hk[64];		/* SHA-512(R || A || M) */
	uint8_t r[32];		/* r mod L, little-endian */
	uint8_t buf[64];	/* big-endian conversions */
	int8_t digit[DIGITS];	/* r in signed radix 16 */
	uint64_t entry[ENTRY_WORDS];	/* the selected table entry */
};

/* Wipes and frees a signature's scratch space. */
static void
scratch_free(struct scratch *s)
{
	if (s != NULL) {
		explicit_bzero(s, sizeof(*s));
		gcry_free(s);
	}
}

/* Writes m as exactly len big-endian bytes; m must fit. */
static int
mpi_to_be(gcry_mpi_t m, uint8_t *out, size_t len)
{
	size_t n = 0;

	if (gcry_mpi_print(GCRYMPI_FMT_USG, out, len, &n, m) != 0 || n > len)
		return SSHX_ERR_CRYPTO;
	memmove(out + len - n, out, n);
	memset(out, 0, len - n);
	return 0;
}

/*
 * Writes point p of ctx as affine x || y (big-endian, 64 bytes); with full
 * set, fails unless both coordinates need all four 64-bit limbs.
 */
static int
point_store(uint8_t *out, gcry_mpi_point_t p, gcry_ctx_t ctx, int full)
{
	static const uint8_t zero[8];
	gcry_mpi_t x = gcry_mpi_new(0), y = gcry_mpi_new(0);
	int r = SSHX_ERR_CRYPTO;

	if (gcry_mpi_ec_get_affine(x, y, p, ctx) != 0)
		goto out;
	if ((r = mpi_to_be(x, out, COORD)) != 0 ||
	    (r = mpi_to_be(y, out + COORD, COORD)) != 0)
		goto out;
	if (full && (memcmp(out, zero, 8) == 0 || memcmp(out + COORD, zero, 8) == 0)) {
		r = SSHX_ERR_CRYPTO;
		goto out;
	}
	r = 0;
 out:
	gcry_mpi_release(x);
	gcry_mpi_release(y);
	return r;
}

/* Builds the table; on any failure table_ready stays 0 and signing refuses. */
static void
table_build(void)
{
	gcry_ctx_t ctx = NULL;
	gcry_mpi_t c = NULL, times = NULL;
	gcry_mpi_point_t base = NULL, offset = NULL, acc = NULL, eight = NULL;
	uint8_t h[64];
	int k, j, i;

	if (gcry_mpi_ec_new(&ctx, NULL, "Ed25519") != 0 ||
	    (base = gcry_mpi_ec_get_point("g", ctx, 1)) == NULL)
		goto out;
	gcry_md_hash_buffer(GCRY_MD_SHA512, h, OFFSET_LABEL, strlen(OFFSET_LABEL));
	if (gcry_mpi_scan(&c, GCRYMPI_FMT_USG, h, 31, NULL) != 0)
		goto out;
	offset = gcry_mpi_point_new(0);
	acc = gcry_mpi_point_new(0);
	eight = gcry_mpi_point_new(0);
	gcry_mpi_ec_mul(offset, c, base, ctx);
	/* base is 256^k * B in row k. */
	for (k = 0; k < ROWS; k++) {
		gcry_mpi_ec_dup(eight, base, ctx);
		gcry_mpi_ec_dup(eight, eight, ctx);
		gcry_mpi_ec_dup(eight, eight, ctx);
		gcry_mpi_ec_sub(acc, offset, eight, ctx);	/* -8 * 256^k * B + C */
		for (j = 0; j < ENTRIES; j++) {
			if (point_store((uint8_t *)table[k][j], acc, ctx, 1) != 0)
				goto out;
			gcry_mpi_ec_add(acc, acc, base, ctx);
		}
		for (i = 0; i < 8; i++)
			gcry_mpi_ec_dup(base, base, ctx);
	}
	/* C is in the group of order L, so [L - 544]C = -544 * C. */
	if ((times = gcry_mpi_ec_get_mpi("n", ctx, 1)) == NULL)
		goto out;
	gcry_mpi_sub_ui(times, times, OFFSET_TIMES);
	gcry_mpi_ec_mul(acc, times, offset, ctx);
	if (point_store(unoffset, acc, ctx, 0) != 0)
		goto out;
	table_ready = 1;
 out:
	gcry_mpi_point_release(acc);
	gcry_mpi_point_release(eight);
	gcry_mpi_point_release(offset);
	gcry_mpi_point_release(base);
	gcry_mpi_release(c);
	gcry_mpi_release(times);
	gcry_ctx_release(ctx);
}

/* All ones when a == b, else 0, without a branch (a, b < 2^31). */
static uint64_t
ct_eq(uint32_t a, uint32_t b)
{
	uint32_t d = a ^ b;

	return (uint64_t)0 - (uint64_t)(((d | (0u - d)) >> 31) ^ 1u);
}

/*
 * Copies into s->entry the point digit * 256^row * B + C (digit in -8..8),
 * reading every entry of the row.
 */
static void
table_select(struct scratch *s, int row, int8_t digit)
{
	uint32_t index = (uint32_t)((int32_t)digit + 8);
	uint64_t m;
	size_t j, w;

	memset(s->entry, 0, sizeof(s->entry));
	for (j = 0; j < ENTRIES; j++) {
		m = ct_eq(index, (uint32_t)j);
		for (w = 0; w < ENTRY_WORDS; w++)
			s->entry[w] |= table[row][j][w] & m;
	}
}

/* Writes r (below 2^255) in signed radix 16: 64 digits in -8..8. */
static void
recode(struct scratch *s)
{
	int8_t carry = 0;
	int i;

	for (i = 0; i < 32; i++) {
		s->digit[2 * i] = (int8_t)(s->r[i] & 15);
		s->digit[2 * i + 1] = (int8_t)(s->r[i] >> 4);
	}
	/* Each digit is 0..16 after the carry, so the shift sees no negative. */
	for (i = 0; i < DIGITS - 1; i++) {
		s->digit[i] = (int8_t)(s->digit[i] + carry);
		carry = (int8_t)((s->digit[i] + 8) >> 4);
		s->digit[i] = (int8_t)(s->digit[i] - carry * 16);
	}
	s->digit[DIGITS - 1] = (int8_t)(s->digit[DIGITS - 1] + carry);
}

/* A new point of ctx's curve at the identity, with secure coordinates. */
static gcry_mpi_point_t
secure_identity(void)
{
	return gcry_mpi_point_snatch_set(NULL, gcry_mpi_set_ui(gcry_mpi_snew(256), 0),
	    gcry_mpi_set_ui(gcry_mpi_snew(256), 1),
	    gcry_mpi_set_ui(gcry_mpi_snew(256), 1));
}

/* Encodes the affine point (x, y) as RFC 8032 does: y, with x's parity on top. */
static int
encode_point(gcry_mpi_point_t p, gcry_ctx_t ctx, uint8_t out[static 32])
{
	gcry_mpi_t x = gcry_mpi_new(0), y = gcry_mpi_new(0);
	uint8_t be[32];
	int i, r = SSHX_ERR_CRYPTO;

	if (gcry_mpi_ec_get_affine(x, y, p, ctx) != 0 ||
	    (r = mpi_to_be(y, be, sizeof(be))) != 0)
		goto out;
	for (i = 0; i < 32; i++)
		out[i] = be[31 - i];
	if (gcry_mpi_test_bit(x, 0))
		out[31] |= 0x80;
	r = 0;
 out:
	gcry_mpi_release(x);
	gcry_mpi_release(y);
	return r;
}

/*
 * R = [r]B from s->r: the odd digits' points summed, times 16, plus the even
 * digits' points, minus the offsets. Writes R's encoding to out.
 */
static int
base_mul(struct scratch *s, gcry_ctx_t ctx, uint8_t out[static 32])
{
	gcry_mpi_point_t acc = NULL, p = NULL;
	gcry_mpi_t x = NULL, y = NULL;
	int pass, row, i, r = SSHX_ERR_CRYPTO;

	recode(s);
	if ((acc = secure_identity()) == NULL || (p = secure_identity()) == NULL)
		goto out;
	for (pass = 1; pass >= 0; pass--) {
		for (row = 0; row < ROWS; row++) {
			table_select(s, row, s->digit[2 * row + pass]);
			/* Scanned from secure memory, the coordinates are secure too. */
			if (gcry_mpi_scan(&x, GCRYMPI_FMT_USG, s->entry, COORD, NULL) != 0 ||
			    gcry_mpi_scan(&y, GCRYMPI_FMT_USG, s->entry + COORD_WORDS,
			    COORD, NULL) != 0)
				goto out;
			gcry_mpi_point_snatch_set(p, x, y,
			    gcry_mpi_set_ui(gcry_mpi_snew(256), 1));
			x = y = NULL;	/* transferred */
			gcry_mpi_ec_add(acc, acc, p, ctx);
		}
		if (pass == 1) {
			for (i = 0; i < 4; i++)
				gcry_mpi_ec_dup(acc, acc, ctx);
		}
	}
	if (gcry_mpi_scan(&x, GCRYMPI_FMT_USG, unoffset, COORD, NULL) != 0 ||
	    gcry_mpi_scan(&y, GCRYMPI_FMT_USG, unoffset + COORD, COORD, NULL) != 0)
		goto out;
	gcry_mpi_point_snatch_set(p, x, y, gcry_mpi_set_ui(NULL, 1));
	x = y = NULL;	/* transferred */
	gcry_mpi_ec_add(acc, acc, p, ctx);
	r = encode_point(acc, ctx, out);
 out:
	gcry_mpi_release(x);
	gcry_mpi_release(y);
	gcry_mpi_point_release(p);
	gcry_mpi_point_release(acc);
	explicit_bzero(s->digit, sizeof(s->digit));
	explicit_bzero(s->entry, sizeof(s->entry));
	return r;
}

/* Reads the little-endian integer le (at most 64 bytes) into a secure MPI. */
static int
mpi_from_le(struct scratch *s, const uint8_t *le, size_t len, gcry_mpi_t *mp)
{
	size_t i;
	int r = 0;

	*mp = NULL;
	for (i = 0; i < len; i++)
		s->buf[i] = le[len - 1 - i];
	if (gcry_mpi_scan(mp, GCRYMPI_FMT_USG, s->buf, len, NULL) != 0)
		r = SSHX_ERR_CRYPTO;
	explicit_bzero(s->buf, sizeof(s->buf));
	return r;
}

/* Writes m (below 2^256) to out as 32 little-endian bytes. */
static int
mpi_to_le32(struct scratch *s, gcry_mpi_t m, uint8_t out[static 32])
{
	size_t i;
	int r;

	if ((r = mpi_to_be(m, s->buf, 32)) == 0) {
		for (i = 0; i < 32; i++)
			out[i] = s->buf[31 - i];
	}
	explicit_bzero(s->buf, sizeof(s->buf));
	return r;
}

/* SHA-512 of a || b || c into out, in a secure hash state. */
static int
sha512_3(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
    const uint8_t *c, size_t clen, uint8_t out[static 64])
{
	gcry_md_hd_t md;

	if (gcry_md_open(&md, GCRY_MD_SHA512, GCRY_MD_FLAG_SECURE) != 0)
		return SSHX_ERR_CRYPTO;
	gcry_md_write(md, a, alen);
	if (blen > 0)
		gcry_md_write(md, b, blen);
	if (clen > 0)
		gcry_md_write(md, c, clen);
	memcpy(out, gcry_md_read(md, GCRY_MD_SHA512), 64);
	gcry_md_close(md);
	return 0;
}

/* Opens libgcrypt's Ed25519 context and fetches the group order. */
static int
curve_open(gcry_ctx_t *ctx, gcry_mpi_t *order)
{
	*ctx = NULL;
	*order = NULL;
	if (pthread_once(&table_once, table_build) != 0 || !table_ready)
		return SSHX_ERR_CRYPTO;
	if (gcry_mpi_ec_new(ctx, NULL, "Ed25519") != 0 ||
	    (*order = gcry_mpi_ec_get_mpi("n", *ctx, 1)) == NULL) {
		gcry_ctx_release(*ctx);
		*ctx = NULL;
		return SSHX_ERR_CRYPTO;
	}
	return 0;
}

int
sshx_ed25519_base_encode(const uint8_t sc[static 32], uint8_t out[static 32])
{
	struct scratch *s = NULL;
	gcry_ctx_t ctx = NULL;
	gcry_mpi_t order = NULL;
	int r;

	memset(out, 0, 32);
	if (sc[31] & 0x80)
		return SSHX_ERR_INVALID_ARGUMENT;
	if ((s = gcry_calloc_secure(1, sizeof(*s))) == NULL)
		return SSHX_ERR_SECMEM;
	if ((r = curve_open(&ctx, &order)) == 0) {
		memcpy(s->r, sc, 32);
		r = base_mul(s, ctx, out);
	}
	gcry_mpi_release(order);
	gcry_ctx_release(ctx);
	scratch_free(s);
	return r;
}

int
sshx_ed25519_sign(const uint8_t sk[static SSHX_ED25519_SK_LEN],
    const uint8_t *msg, size_t mlen, uint8_t sig[static SSHX_ED25519_SIG_LEN])
{
	const uint8_t *pk = sk + SSHX_ED25519_SEED_LEN;
	struct scratch *s = NULL;
	gcry_ctx_t ctx = NULL;
	gcry_mpi_t order = NULL, a = NULL, rr = NULL, kk = NULL, ss = NULL;
	int r;

	memset(sig, 0, SSHX_ED25519_SIG_LEN);
	if ((s = gcry_calloc_secure(1, sizeof(*s))) == NULL)
		return SSHX_ERR_SECMEM;
	if ((r = curve_open(&ctx, &order)) != 0)
		goto out;
	/* a = clamped first half of SHA-512(seed); the second half is the prefix. */
	gcry_md_hash_buffer(GCRY_MD_SHA512, s->az, sk, SSHX_ED25519_SEED_LEN);
	s->az[0] &= 248;
	s->az[31] &= 127;
	s->az[31] |= 64;
	/* r = SHA-512(prefix || M) mod L; R = [r]B. */
	if ((r = sha512_3(s->az + 32, 32, msg, mlen, NULL, 0, s->hr)) != 0 ||
	    (r = mpi_from_le(s, s->hr, 64, &rr)) != 0)
		goto out;
	gcry_mpi_mod(rr, rr, order);
	if ((r = mpi_to_le32(s, rr, s->r)) != 0 ||
	    (r = base_mul(s, ctx, sig)) != 0)
		goto out;
	/* k = SHA-512(R || A || M) mod L; S = (r + k * a) mod L. */
	if ((r = sha512_3(sig, 32, pk, SSHX_ED25519_PK_LEN, msg, mlen, s->hk)) != 0 ||
	    (r = mpi_from_le(s, s->hk, 64, &kk)) != 0 ||
	    (r = mpi_from_le(s, s->az, 32, &a)) != 0)
		goto out;
	gcry_mpi_mod(kk, kk, order);
	ss = gcry_mpi_snew(256);
	gcry_mpi_mulm(ss, kk, a, order);
	gcry_mpi_addm(ss, ss, rr, order);
	if ((r = mpi_to_le32(s, ss, sig + 32)) != 0)
		goto out;
	r = 0;
 out:
	if (r != 0)
		memset(sig, 0, SSHX_ED25519_SIG_LEN);
	gcry_mpi_release(a);
	gcry_mpi_release(rr);
	gcry_mpi_release(kk);
	gcry_mpi_release(ss);
	gcry_mpi_release(order);
	gcry_ctx_release(ctx);
	scratch_free(s);
	return r;
}
