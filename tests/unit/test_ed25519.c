/*
 * Unit tests for lib/ed25519.c: the fixed-base table against libgcrypt's own
 * scalar multiplication, and every signature against gcry_pk_sign's bytes.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include "tap.h"

#include "ed25519.h"

/* Little-endian group order L = 2^252 + 27742317777372353535851937790883648493. */
static const uint8_t order_le[32] = {
	0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
	0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
};

static void
to_hex(const uint8_t *p, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* [s]B encoded per RFC 8032, computed with gcry_mpi_ec_mul: the reference. */
static void
reference_base(const uint8_t s_le[32], uint8_t out[32])
{
	gcry_ctx_t ctx;
	gcry_mpi_point_t g, p;
	gcry_mpi_t s, x, y;
	uint8_t be[32];
	size_t n, i;

	for (i = 0; i < 32; i++)
		be[i] = s_le[31 - i];
	ck_assert_int_eq(gcry_mpi_scan(&s, GCRYMPI_FMT_USG, be, 32, NULL), 0);
	ck_assert_int_eq(gcry_mpi_ec_new(&ctx, NULL, "Ed25519"), 0);
	g = gcry_mpi_ec_get_point("g", ctx, 1);
	p = gcry_mpi_point_new(0);
	x = gcry_mpi_new(0);
	y = gcry_mpi_new(0);
	gcry_mpi_ec_mul(p, s, g, ctx);
	memset(out, 0, 32);
	if (gcry_mpi_ec_get_affine(x, y, p, ctx) != 0) {
		/* The identity: x = 0, y = 1. */
		out[0] = 1;
	} else {
		ck_assert_int_eq(gcry_mpi_print(GCRYMPI_FMT_USG, be, 32, &n, y), 0);
		for (i = 0; i < n; i++)
			out[i] = be[n - 1 - i];
		if (gcry_mpi_test_bit(x, 0))
			out[31] |= 0x80;
	}
	gcry_mpi_release(s);
	gcry_mpi_release(x);
	gcry_mpi_release(y);
	gcry_mpi_point_release(g);
	gcry_mpi_point_release(p);
	gcry_ctx_release(ctx);
}

static void
check_base(const uint8_t s[32], const char *what)
{
	uint8_t got[32], want[32];
	char sh[65], gh[65], wh[65];

	reference_base(s, want);
	ck_ok(sshx_ed25519_base_encode(s, got));
	if (memcmp(got, want, 32) != 0) {
		to_hex(s, 32, sh);
		to_hex(got, 32, gh);
		to_hex(want, 32, wh);
		ck_abort_msg("%s: scalar %s: expected [s]B = %s, got %s", what, sh, wh, gh);
	}
}

/* Scalars that exercise every digit value, every carry and both ends of the range. */
START_TEST(test_base_edge_scalars)
{
	static const uint8_t fills[] = { 0x00, 0x01, 0x07, 0x08, 0x0f, 0x10, 0x77,
	    0x78, 0x80, 0x87, 0x88, 0x89, 0x8f, 0xf8, 0xff };
	uint8_t s[32];
	size_t i, j;

	for (i = 0; i < sizeof(fills); i++) {
		memset(s, fills[i], 32);
		s[31] &= 0x7f;		/* below 2^255 */
		check_base(s, "byte fill");
		s[31] &= 0x0f;		/* below 2^252 */
		check_base(s, "byte fill below 2^252");
	}
	for (i = 0; i < 255; i++) {	/* 2^i */
		memset(s, 0, 32);
		s[i / 8] = (uint8_t)(1u << (i % 8));
		check_base(s, "power of two");
	}
	memcpy(s, order_le, 32);
	s[0] -= 1;			/* L - 1 */
	check_base(s, "L - 1");
	memcpy(s, order_le, 32);	/* L: the identity */
	check_base(s, "L");
	for (i = 0; i < 32; i++) {	/* one digit of +-8 at a time, the rest 0 */
		for (j = 0; j < 2; j++) {
			memset(s, 0, 32);
			s[i] = j == 0 ? 0x08 : 0x80;
			if (i == 31 && j == 1)
				s[i] = 0x40;	/* 2^255 is out of range */
			check_base(s, "a single 8 digit");
		}
	}
}
END_TEST

/* Random scalars below 2^255. */
START_TEST(test_base_random_scalars)
{
	uint8_t s[32];
	int i;

	for (i = 0; i < 400; i++) {
		gcry_randomize(s, sizeof(s), GCRY_WEAK_RANDOM);
		if (i % 2 == 0)
			s[31] &= 0x0f;
		else
			s[31] &= 0x7f;
		check_base(s, "random");
	}
}
END_TEST

START_TEST(test_base_refuses_scalars_of_2_255)
{
	uint8_t s[32], out[32];

	memset(s, 0, 32);
	s[31] = 0x80;
	memset(out, 0xaa, 32);
	ck_err(sshx_ed25519_base_encode(s, out), SSHX_ERR_INVALID_ARGUMENT);
	for (size_t i = 0; i < 32; i++)
		ck_assert_msg(out[i] == 0, "expected the output zeroed on refusal");
}
END_TEST

/* libgcrypt's own Ed25519 signature of msg with seed (and its public key pk). */
static void
gcry_sign(const uint8_t seed[32], const uint8_t pk[32], const uint8_t *msg,
    size_t mlen, uint8_t sig[64])
{
	gcry_sexp_t key, data, s, t;
	const uint8_t *p;
	size_t len;
	int i;

	ck_assert_int_eq(gcry_sexp_build(&key, NULL,
	    "(private-key(ecc(curve Ed25519)(flags eddsa)(q %b)(d %b)))",
	    32, pk, 32, seed), 0);
	ck_assert_int_eq(gcry_sexp_build(&data, NULL,
	    "(data(flags eddsa)(hash-algo sha512)(value %b))",
	    (int)mlen, mlen == 0 ? (const uint8_t *)"" : msg), 0);
	ck_assert_int_eq(gcry_pk_sign(&s, data, key), 0);
	for (i = 0; i < 2; i++) {
		t = gcry_sexp_find_token(s, i == 0 ? "r" : "s", 0);
		ck_assert_ptr_nonnull(t);
		p = (const uint8_t *)gcry_sexp_nth_data(t, 1, &len);
		ck_assert_msg(p != NULL && len <= 32, "expected a 32-byte %s",
		    i == 0 ? "R" : "S");
		memset(sig + 32 * i, 0, 32 - len);
		memcpy(sig + 32 * i + 32 - len, p, len);
		gcry_sexp_release(t);
	}
	gcry_sexp_release(s);
	gcry_sexp_release(data);
	gcry_sexp_release(key);
}

/* The public key of seed, from libgcrypt. */
static void
gcry_public(const uint8_t seed[32], uint8_t pk[32])
{
	gcry_sexp_t key;
	gcry_ctx_t ctx;
	gcry_mpi_t q;
	const uint8_t *p;
	unsigned int nbits;

	ck_assert_int_eq(gcry_sexp_build(&key, NULL,
	    "(private-key(ecc(curve Ed25519)(flags eddsa)(d %b)))", 32, seed), 0);
	ck_assert_int_eq(gcry_mpi_ec_new(&ctx, key, NULL), 0);
	q = gcry_mpi_ec_get_mpi("q@eddsa", ctx, 1);
	ck_assert_ptr_nonnull(q);
	p = gcry_mpi_get_opaque(q, &nbits);
	if (nbits == 33 * 8 && p[0] == 0x40) {
		p++;
		nbits -= 8;
	}
	ck_assert_uint_eq(nbits, 256);
	memcpy(pk, p, 32);
	gcry_mpi_release(q);
	gcry_ctx_release(ctx);
	gcry_sexp_release(key);
}

/* Ed25519 is deterministic: many keys and lengths, the same bytes as gcry_pk_sign. */
START_TEST(test_sign_matches_gcry_pk_sign)
{
	static const size_t lens[] = { 0, 1, 31, 32, 63, 64, 65, 111, 112, 127,
	    128, 129, 1000, 4096, 65000 };
	uint8_t *sk, *msg, got[64], want[64];
	char gh[129], wh[129];
	size_t i;
	int key;

	sk = gcry_malloc_secure(64);
	msg = malloc(65000);
	ck_assert_ptr_nonnull(sk);
	ck_assert_ptr_nonnull(msg);
	gcry_randomize(msg, 65000, GCRY_WEAK_RANDOM);
	for (key = 0; key < 24; key++) {
		gcry_randomize(sk, 32, GCRY_WEAK_RANDOM);
		gcry_public(sk, sk + 32);
		for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			gcry_sign(sk, sk + 32, msg, lens[i], want);
			ck_ok(sshx_ed25519_sign(sk, lens[i] == 0 ? NULL : msg,
			    lens[i], got));
			if (memcmp(got, want, 64) != 0) {
				to_hex(got, 64, gh);
				to_hex(want, 64, wh);
				ck_abort_msg("key %d, message of %zu bytes: expected "
				    "gcry_pk_sign's %s, got %s", key, lens[i], wh, gh);
			}
		}
	}
	gcry_free(sk);
	free(msg);
}
END_TEST

/*
 * Whether [S]B - [k]A = R, with libgcrypt's curve operations: a verifier for
 * messages too long for gcry_pk_verify. S at or above L is invalid.
 */
static int
verify_by_curve(const uint8_t pk[32], const uint8_t *msg, size_t mlen,
    const uint8_t sig[64])
{
	gcry_sexp_t pub;
	gcry_ctx_t ctx;
	gcry_mpi_point_t g, a, sb, ka, rp;
	gcry_mpi_t n, sm, km, x, y;
	gcry_md_hd_t md;
	uint8_t be[64], renc[32];
	size_t i, len;
	int ok;

	ck_assert_int_eq(gcry_sexp_build(&pub, NULL,
	    "(public-key(ecc(curve Ed25519)(flags eddsa)(q %b)))", 32, pk), 0);
	ck_assert_int_eq(gcry_mpi_ec_new(&ctx, pub, NULL), 0);
	g = gcry_mpi_ec_get_point("g", ctx, 1);
	a = gcry_mpi_ec_get_point("q", ctx, 1);
	n = gcry_mpi_ec_get_mpi("n", ctx, 1);
	ck_assert_ptr_nonnull(a);
	for (i = 0; i < 32; i++)
		be[i] = sig[63 - i];
	ck_assert_int_eq(gcry_mpi_scan(&sm, GCRYMPI_FMT_USG, be, 32, NULL), 0);
	ok = gcry_mpi_cmp(sm, n) < 0;
	ck_assert_int_eq(gcry_md_open(&md, GCRY_MD_SHA512, 0), 0);
	gcry_md_write(md, sig, 32);
	gcry_md_write(md, pk, 32);
	gcry_md_write(md, msg, mlen);
	for (i = 0; i < 64; i++)
		be[i] = gcry_md_read(md, GCRY_MD_SHA512)[63 - i];
	gcry_md_close(md);
	ck_assert_int_eq(gcry_mpi_scan(&km, GCRYMPI_FMT_USG, be, 64, NULL), 0);
	gcry_mpi_mod(km, km, n);
	sb = gcry_mpi_point_new(0);
	ka = gcry_mpi_point_new(0);
	rp = gcry_mpi_point_new(0);
	gcry_mpi_ec_mul(sb, sm, g, ctx);
	gcry_mpi_ec_mul(ka, km, a, ctx);
	gcry_mpi_ec_sub(rp, sb, ka, ctx);
	x = gcry_mpi_new(0);
	y = gcry_mpi_new(0);
	ck_assert_int_eq(gcry_mpi_ec_get_affine(x, y, rp, ctx), 0);
	ck_assert_int_eq(gcry_mpi_print(GCRYMPI_FMT_USG, be, 32, &len, y), 0);
	memset(renc, 0, 32);
	for (i = 0; i < len; i++)
		renc[i] = be[len - 1 - i];
	if (gcry_mpi_test_bit(x, 0))
		renc[31] |= 0x80;
	ok = ok && memcmp(renc, sig, 32) == 0;
	gcry_mpi_release(sm);
	gcry_mpi_release(km);
	gcry_mpi_release(n);
	gcry_mpi_release(x);
	gcry_mpi_release(y);
	gcry_mpi_point_release(g);
	gcry_mpi_point_release(a);
	gcry_mpi_point_release(sb);
	gcry_mpi_point_release(ka);
	gcry_mpi_point_release(rp);
	gcry_ctx_release(ctx);
	gcry_sexp_release(pub);
	return ok;
}

/* Messages past gcry_pk_sign's 64 KiB limit sign, and the signature checks out. */
START_TEST(test_sign_long_messages)
{
	static const size_t lens[] = { 65536, 200000, 1 << 20 };
	uint8_t *sk, *msg, sig[64], tampered[64];
	size_t i;

	sk = gcry_malloc_secure(64);
	msg = malloc(1 << 20);
	ck_assert_ptr_nonnull(sk);
	ck_assert_ptr_nonnull(msg);
	gcry_randomize(sk, 32, GCRY_WEAK_RANDOM);
	gcry_public(sk, sk + 32);
	gcry_randomize(msg, 1 << 20, GCRY_WEAK_RANDOM);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		ck_ok(sshx_ed25519_sign(sk, msg, lens[i], sig));
		ck_assert_msg(verify_by_curve(sk + 32, msg, lens[i], sig),
		    "expected the signature of a %zu-byte message to verify", lens[i]);
	}
	/* The verifier is not a rubber stamp: a flipped bit anywhere fails it. */
	msg[7] ^= 1;
	ck_assert_msg(!verify_by_curve(sk + 32, msg, lens[i - 1], sig),
	    "expected a changed message to fail verification");
	msg[7] ^= 1;
	memcpy(tampered, sig, 64);
	tampered[3] ^= 0x10;
	ck_assert_msg(!verify_by_curve(sk + 32, msg, lens[i - 1], tampered),
	    "expected a changed R to fail verification");
	memcpy(tampered, sig, 64);
	tampered[40] ^= 0x01;
	ck_assert_msg(!verify_by_curve(sk + 32, msg, lens[i - 1], tampered),
	    "expected a changed S to fail verification");
	gcry_free(sk);
	free(msg);
}
END_TEST

struct thread_job {
	const uint8_t *sk;
	uint8_t msg[40];
	uint8_t sig[64];
	int r;
};

static void *
sign_thread(void *arg)
{
	struct thread_job *j = arg;

	j->r = sshx_ed25519_sign(j->sk, j->msg, sizeof(j->msg), j->sig);
	return NULL;
}

/* The first signatures of a process, from several threads at once, build one table. */
START_TEST(test_first_use_from_threads)
{
	struct thread_job jobs[6];
	pthread_t tid[6];
	uint8_t *sk, want[64];
	int i;

	sk = gcry_malloc_secure(64);
	ck_assert_ptr_nonnull(sk);
	gcry_randomize(sk, 32, GCRY_WEAK_RANDOM);
	gcry_public(sk, sk + 32);
	for (i = 0; i < 6; i++) {
		jobs[i].sk = sk;
		memset(jobs[i].msg, 'a' + i, sizeof(jobs[i].msg));
		ck_assert_int_eq(pthread_create(&tid[i], NULL, sign_thread, &jobs[i]), 0);
	}
	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(pthread_join(tid[i], NULL), 0);
		ck_ok(jobs[i].r);
		gcry_sign(sk, sk + 32, jobs[i].msg, sizeof(jobs[i].msg), want);
		ck_assert_msg(memcmp(jobs[i].sig, want, 64) == 0,
		    "thread %d: expected gcry_pk_sign's signature", i);
	}
	gcry_free(sk);
}
END_TEST

/* The nonce's coordinates are secure MPIs: scanning from secure memory gives one. */
START_TEST(test_scan_from_secure_memory_is_secure)
{
	uint8_t *p = gcry_malloc_secure(32);
	gcry_mpi_t m;

	ck_assert_ptr_nonnull(p);
	memset(p, 0x5a, 32);
	ck_assert_int_eq(gcry_mpi_scan(&m, GCRYMPI_FMT_USG, p, 32, NULL), 0);
	ck_assert_msg(gcry_mpi_get_flag(m, GCRYMPI_FLAG_SECURE),
	    "expected an MPI scanned from secure memory to be secure");
	gcry_mpi_release(m);
	gcry_free(p);
}
END_TEST

static Suite *
ed25519_suite(void)
{
	Suite *s = suite_create("ed25519");

	sshx_add_tcase(s, "[s]B at edge scalars equals libgcrypt's",
	    test_base_edge_scalars, 0, 120, 1);
	sshx_add_tcase(s, "[s]B at random scalars equals libgcrypt's",
	    test_base_random_scalars, 0, 120, 1);
	sshx_add_tcase(s, "a scalar of 2^255 or more is refused",
	    test_base_refuses_scalars_of_2_255, 0, 0, 1);
	sshx_add_tcase(s, "signatures equal gcry_pk_sign's, byte for byte",
	    test_sign_matches_gcry_pk_sign, 0, 120, 1);
	sshx_add_tcase(s, "messages past 64 KiB sign and verify",
	    test_sign_long_messages, 0, 60, 1);
	sshx_add_tcase(s, "first use from six threads at once",
	    test_first_use_from_threads, 0, 60, 1);
	sshx_add_tcase(s, "coordinates scanned from secure memory are secure",
	    test_scan_from_secure_memory_is_secure, 0, 0, 1);
	return s;
}

int
main(void)
{
	return sshx_run_suite(ed25519_suite());
}
