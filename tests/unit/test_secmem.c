/*
 * The secure-memory pool (lib/secmem.c): it is libgcrypt's secure
 * allocator, blocks never overlap and keep their contents, freed blocks are
 * wiped and merge back into one, a full pool says ENOMEM, bad frees abort,
 * and threads can share it.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "secmem.h"
#include "tap.h"

/* A small deterministic generator, so that a failure replays. */
static uint32_t
rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(*s >> 33);
}

/* Mostly small sizes, as keys and MPIs are, with now and then a large one. */
static size_t
rnd_size(uint64_t *s)
{
	uint32_t k = rnd(s) % 100;

	if (k < 70)
		return 1 + rnd(s) % 128;
	if (k < 95)
		return 1 + rnd(s) % 4096;
	return 1 + rnd(s) % 70000;
}

struct blk {
	unsigned char *p;
	size_t n;
	unsigned char tag;
};

static void
fill(struct blk *b)
{
	memset(b->p, b->tag, b->n);
}

static int
intact(const struct blk *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (b->p[i] != b->tag)
			return 0;
	return 1;
}

START_TEST(test_is_libgcrypts_secure_allocator)
{
	void *s = gcry_malloc_secure(100), *n = gcry_malloc(100);
	struct rlimit rl;

	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(n);
	ck_assert_msg(sshx_secmem_owns(s), "gcry_malloc_secure should come from the pool");
	ck_assert_msg(gcry_is_secure(s), "libgcrypt should see a pool block as secure");
	ck_assert_msg(!sshx_secmem_owns(n) && !gcry_is_secure(n),
	    "gcry_malloc should not come from the pool");
	ck_assert_uint_eq((uintptr_t)s % 16, 0);
	ck_assert_uint_ge(sshx_secmem_usable(s), 100);
	ck_assert_uint_eq(sshx_secmem_size(), sshx_crypto_secmem_size());
	ck_assert_uint_ge(sshx_secmem_size(), SSHX_SECMEM_MIN);
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && (rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= sshx_secmem_size()))
		ck_assert_msg(sshx_secmem_locked(), "the pool should be locked in RAM");
	gcry_free(s);
	gcry_free(n);
}
END_TEST

START_TEST(test_gcry_realloc_keeps_contents_and_stays_secure)
{
	unsigned char *p = gcry_malloc_secure(40), *q;
	size_t i;

	ck_assert_ptr_nonnull(p);
	for (i = 0; i < 40; i++)
		p[i] = (unsigned char)i;
	q = gcry_realloc(p, 5000);
	ck_assert_ptr_nonnull(q);
	ck_assert_msg(sshx_secmem_owns(q), "a grown secure block should stay in the pool");
	for (i = 0; i < 40; i++)
		ck_assert_uint_eq(q[i], i);
	p = gcry_realloc(q, 8);
	ck_assert_ptr_nonnull(p);
	ck_assert_msg(sshx_secmem_owns(p), "a shrunk secure block should stay in the pool");
	for (i = 0; i < 8; i++)
		ck_assert_uint_eq(p[i], i);
	gcry_free(p);
}
END_TEST

/*
 * Random allocations and frees against a model: every live block keeps its
 * contents (so none overlaps another), and once all are freed the pool is
 * one free block again (a single allocation of nearly all of it succeeds).
 */
START_TEST(test_random_use_keeps_blocks_apart_and_coalesces)
{
	enum { SLOTS = 4000, ROUNDS = 60000 };
	static struct blk b[SLOTS];
	size_t base = sshx_secmem_used(), i, k;
	uint64_t seed = 0x5eedULL + (uint64_t)_i;
	unsigned int full = 0;
	void *all;

	memset(b, 0, sizeof(b));
	for (i = 0; i < ROUNDS; i++) {
		k = rnd(&seed) % SLOTS;
		if (b[k].p != NULL) {
			ck_assert_msg(intact(&b[k]), "round %zu: block %zu of %zu bytes was "
			    "overwritten", i, k, b[k].n);
			sshx_secmem_free(b[k].p);
			b[k].p = NULL;
			continue;
		}
		b[k].n = rnd_size(&seed);
		b[k].tag = (unsigned char)(1 + rnd(&seed) % 255);
		if ((b[k].p = sshx_secmem_alloc(b[k].n)) == NULL) {
			ck_assert_int_eq(errno, ENOMEM);
			full++;
			continue;
		}
		ck_assert_uint_eq((uintptr_t)b[k].p % 16, 0);
		ck_assert_msg(sshx_secmem_owns(b[k].p), "block outside the pool");
		fill(&b[k]);
	}
	for (k = 0; k < SLOTS; k++) {
		if (b[k].p == NULL)
			continue;
		ck_assert_msg(intact(&b[k]), "block %zu was overwritten", k);
		sshx_secmem_free(b[k].p);
	}
	ck_assert_uint_eq(sshx_secmem_used(), base);
	if (base == 16) {	/* nothing else holds a block: all of it is one again */
		all = sshx_secmem_alloc(sshx_secmem_size() - 2 * 16);
		ck_assert_msg(all != NULL, "after freeing everything the pool should "
		    "be one block (%u allocations had found it full)", full);
		sshx_secmem_free(all);
	}
}
END_TEST

START_TEST(test_free_wipes_the_block)
{
	unsigned char *a = sshx_secmem_alloc(300), *b = sshx_secmem_alloc(300),
	    *c = sshx_secmem_alloc(300);
	size_t i;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(c);
	memset(a, 0xa5, 300);
	memset(b, 0x5a, 300);
	memset(c, 0xc3, 300);
	/* b alone, then a (merging with b): past the list links, all is zero. */
	sshx_secmem_free(b);
	for (i = 16; i < 300; i++)
		ck_assert_msg(b[i] == 0, "byte %zu of a freed block is %#x", i, b[i]);
	sshx_secmem_free(a);
	for (i = 16; i < 300; i++)
		ck_assert_msg(a[i] == 0, "byte %zu of a freed block is %#x", i, a[i]);
	for (i = 0; i < 300; i++)
		ck_assert_msg(b[i] == 0, "byte %zu of a merged block is %#x", i, b[i]);
	sshx_secmem_free(c);
}
END_TEST

START_TEST(test_full_pool_says_enomem_and_recovers)
{
	size_t i, count;
	void *p, **held;

	held = sshx_test_drain_secmem(&count);
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_msg(sshx_secmem_used() > sshx_secmem_size() - 64,
	    "a full pool should have at most one small block free (used %zu of %zu)",
	    sshx_secmem_used(), sshx_secmem_size());
	ck_assert_ptr_null(gcry_malloc_secure(16));
	ck_assert_ptr_null(sshx_secmem_alloc(sshx_secmem_size() + 1));
	/* Free every other block first: the rest must merge them back. */
	for (i = 0; i < count; i += 2)
		sshx_secmem_free(held[i]);
	for (i = 1; i < count; i += 2)
		sshx_secmem_free(held[i]);
	free(held);
	p = sshx_secmem_alloc(sshx_secmem_size() / 2);
	ck_assert_ptr_nonnull(p);
	sshx_secmem_free(p);
}
END_TEST

/* Runs f in a child; returns the signal that ended it, 0 when it exited. */
static int
child_signal(void (*f)(void))
{
	int st;
	pid_t pid = fork();

	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		/* The abort message is expected; keep the TAP stream clean. */
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(2);
		f();
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}

static void
double_free(void)
{
	void *p = sshx_secmem_alloc(64);

	sshx_secmem_free(p);
	sshx_secmem_free(p);
}

static void
foreign_free(void)
{
	static char not_ours[64];

	sshx_secmem_free(not_ours);
}

static void
inner_free(void)
{
	unsigned char *p = sshx_secmem_alloc(64);

	sshx_secmem_free(p + 16);
}

START_TEST(test_bad_frees_abort)
{
	ck_assert_int_eq(child_signal(double_free), SIGABRT);
	ck_assert_int_eq(child_signal(foreign_free), SIGABRT);
	ck_assert_int_eq(child_signal(inner_free), SIGABRT);
	sshx_secmem_free(NULL);	/* NULL is fine */
}
END_TEST

static void *
worker(void *arg)
{
	enum { SLOTS = 256, ROUNDS = 20000 };
	struct blk b[SLOTS];
	uint64_t seed = (uint64_t)(uintptr_t)arg;
	size_t i, k;
	long bad = 0;

	memset(b, 0, sizeof(b));
	for (i = 0; i < ROUNDS; i++) {
		k = rnd(&seed) % SLOTS;
		if (b[k].p != NULL) {
			bad += !intact(&b[k]);
			sshx_secmem_free(b[k].p);
			b[k].p = NULL;
			continue;
		}
		b[k].n = 1 + rnd(&seed) % 2000;
		b[k].tag = (unsigned char)(1 + rnd(&seed) % 255);
		if ((b[k].p = sshx_secmem_alloc(b[k].n)) != NULL)
			fill(&b[k]);
	}
	for (k = 0; k < SLOTS; k++)
		if (b[k].p != NULL) {
			bad += !intact(&b[k]);
			sshx_secmem_free(b[k].p);
		}
	return (void *)bad;
}

START_TEST(test_threads_share_the_pool)
{
	pthread_t t[4];
	size_t base = sshx_secmem_used();
	void *bad;
	long total = 0;
	int i;

	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1)), 0);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(t[i], &bad), 0);
		total += (long)bad;
	}
	ck_assert_msg(total == 0, "%ld blocks were overwritten by another thread", total);
	ck_assert_uint_eq(sshx_secmem_used(), base);
}
END_TEST

/* Adds a TCase with one test, or a loop test over [0, n), with a minute each. */
static void
add(Suite *s, const char *name, const TTest *t, int n)
{
	sshx_add_tcase(s, name, t, n, 60, 1);
}

static Suite *
secmem_suite(void)
{
	Suite *s = suite_create("secmem");

	add(s, "is libgcrypt's secure allocator", test_is_libgcrypts_secure_allocator, 0);
	add(s, "gcry_realloc keeps contents and stays secure",
	    test_gcry_realloc_keeps_contents_and_stays_secure, 0);
	add(s, "random use keeps blocks apart and coalesces",
	    test_random_use_keeps_blocks_apart_and_coalesces, 3);
	add(s, "free wipes the block", test_free_wipes_the_block, 0);
	add(s, "full pool says ENOMEM and recovers", test_full_pool_says_enomem_and_recovers, 0);
	add(s, "bad frees abort", test_bad_frees_abort, 0);
	add(s, "threads share the pool", test_threads_share_the_pool, 0);
	return s;
}

int
main(void)
{
	return sshx_run_suite(secmem_suite());
}
