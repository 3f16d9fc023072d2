/*
 * Locked secure memory with constant-time allocation (see secmem.h).
 *
 * The pool is one anonymous mapping, locked and excluded from core dumps.
 * Blocks are laid out back to back, each with a 16-byte header giving its
 * size (bit 0: in use) and the size of the block before it, so that a freed
 * block merges with free neighbours at once. A free block sits on one of
 * NCLASS lists by size: one list per 16 bytes under 256, then 16 lists per
 * power of two. A bitmap of non-empty lists finds the first list whose
 * every block is large enough without walking anything (only when there is
 * none is the list of the size itself searched); the block found is split
 * when the rest can stand as a block of its own. A sentinel header
 * in use ends the pool, so the last block never merges past it.
 */
#include "config.h"

#include <sys/mman.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gcrypt.h>

#include "secmem.h"

#define ALIGN		16
#define HDR		16		/* sizeof(struct hdr) */
#define MIN_BLOCK	32		/* a header and two list links */
#define USED		((size_t)1)
#define LINEAR_END	256		/* sizes under this: one list per 16 bytes */
#define SUB_BITS	4		/* 16 lists per power of two above */
#define MAX_POOL	((size_t)1 << 31)
#define NCLASS		(LINEAR_END / ALIGN + (31 - 8 + 1) * (1 << SUB_BITS))
#define NWORDS		((NCLASS + 63) / 64)

struct hdr {
	size_t prev;			/* size of the block before, 0 for the first */
	size_t size;			/* this block's size, header included; bit 0: in use */
};

struct fblock {
	struct hdr h;
	struct fblock *next, *prev;	/* on its size class's list */
};

static struct {
	pthread_mutex_t mu;
	unsigned char *base;
	size_t size;			/* mapped bytes, sentinel included */
	size_t used;
	int locked;
	uint64_t nonempty[NWORDS];
	struct fblock *head[NCLASS];
} pool = { .mu = PTHREAD_MUTEX_INITIALIZER };

static _Noreturn void
die(const char *msg)
{
	/* No stdio: the heap may be what is broken. */
	ssize_t n = write(STDERR_FILENO, msg, strlen(msg));

	(void)n;
	abort();
}

static size_t
bsize(const struct hdr *h)
{
	return h->size & ~USED;
}

static struct hdr *
after(struct hdr *h)
{
	return (struct hdr *)((unsigned char *)h + bsize(h));
}

static int
floor_log2(size_t s)
{
	return (int)(sizeof(unsigned long long) * 8 - 1) - __builtin_clzll(s);
}

/* The list a free block of size s belongs on. */
static unsigned int
class_of(size_t s)
{
	int fl;

	if (s < LINEAR_END)
		return (unsigned int)(s / ALIGN);
	fl = floor_log2(s);
	return LINEAR_END / ALIGN + (unsigned int)(fl - 8) * (1u << SUB_BITS) +
	    (unsigned int)((s >> (fl - SUB_BITS)) & ((1u << SUB_BITS) - 1));
}

/* The first list whose blocks all hold at least s bytes. */
static unsigned int
class_fit(size_t s)
{
	if (s < LINEAR_END)
		return (unsigned int)(s / ALIGN);
	return class_of(s + ((size_t)1 << (floor_log2(s) - SUB_BITS)) - 1);
}

static void
list_insert(struct fblock *b)
{
	unsigned int c = class_of(bsize(&b->h));

	b->prev = NULL;
	b->next = pool.head[c];
	if (b->next != NULL)
		b->next->prev = b;
	pool.head[c] = b;
	pool.nonempty[c / 64] |= (uint64_t)1 << (c % 64);
}

static void
list_remove(struct fblock *b)
{
	unsigned int c = class_of(bsize(&b->h));

	if (b->prev != NULL)
		b->prev->next = b->next;
	else
		pool.head[c] = b->next;
	if (b->next != NULL)
		b->next->prev = b->prev;
	if (pool.head[c] == NULL)
		pool.nonempty[c / 64] &= ~((uint64_t)1 << (c % 64));
}

/* The first non-empty list at or above c, or NCLASS. */
static unsigned int
first_nonempty(unsigned int c)
{
	unsigned int w = c / 64;
	uint64_t bits;

	if (c >= NCLASS)
		return NCLASS;
	bits = pool.nonempty[w] & (~(uint64_t)0 << (c % 64));
	while (bits == 0) {
		if (++w == NWORDS)
			return NCLASS;
		bits = pool.nonempty[w];
	}
	return w * 64 + (unsigned int)__builtin_ctzll(bits);
}

int
sshx_secmem_init(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct fblock *b;
	struct hdr *end;
	void *m;

	pthread_mutex_lock(&pool.mu);
	if (pool.base != NULL) {
		pthread_mutex_unlock(&pool.mu);
		return 0;
	}
	if (size < page)
		size = page;
	if (size > MAX_POOL) {
		pthread_mutex_unlock(&pool.mu);
		errno = EINVAL;
		return -1;
	}
	size = (size + page - 1) / page * page;
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
	if (m == MAP_FAILED) {
		pthread_mutex_unlock(&pool.mu);
		return -1;
	}
#ifdef MADV_DONTDUMP
	(void)madvise(m, size, MADV_DONTDUMP);
#endif
	pool.locked = mlock(m, size) == 0;
	pool.base = m;
	pool.size = size;
	b = m;
	b->h.prev = 0;
	b->h.size = size - HDR;
	end = after(&b->h);
	end->prev = bsize(&b->h);
	end->size = HDR | USED;
	list_insert(b);
	pool.used = HDR;
	pthread_mutex_unlock(&pool.mu);
	return 0;
}

int
sshx_secmem_locked(void)
{
	return pool.locked;
}

size_t
sshx_secmem_size(void)
{
	return pool.size;
}

size_t
sshx_secmem_used(void)
{
	size_t n;

	pthread_mutex_lock(&pool.mu);
	n = pool.used;
	pthread_mutex_unlock(&pool.mu);
	return n;
}

int
sshx_secmem_owns(const void *p)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)pool.base;

	return pool.base != NULL && a >= lo && a < lo + pool.size;
}

void *
sshx_secmem_alloc(size_t n)
{
	struct fblock *b, *r;
	unsigned int c;
	size_t s;

	if (n == 0)
		n = 1;
	if (pool.base == NULL || n > pool.size) {
		errno = ENOMEM;
		return NULL;
	}
	s = (n + HDR + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	if (s < MIN_BLOCK)
		s = MIN_BLOCK;
	pthread_mutex_lock(&pool.mu);
	if ((c = first_nonempty(class_fit(s))) != NCLASS) {
		b = pool.head[c];
	} else {
		/*
		 * No list holds only blocks large enough; the list s itself
		 * falls in may still hold one. Walked only when the pool is
		 * nearly full, so that a block that fits is always found.
		 */
		for (b = pool.head[class_of(s)]; b != NULL && bsize(&b->h) < s;
		    b = b->next)
			;
		if (b == NULL) {
			pthread_mutex_unlock(&pool.mu);
			errno = ENOMEM;
			return NULL;
		}
	}
	list_remove(b);
	if (bsize(&b->h) - s >= MIN_BLOCK) {
		r = (struct fblock *)((unsigned char *)b + s);
		r->h.prev = s;
		r->h.size = bsize(&b->h) - s;
		after(&r->h)->prev = r->h.size;
		b->h.size = s;
		list_insert(r);
	}
	b->h.size |= USED;
	pool.used += bsize(&b->h);
	pthread_mutex_unlock(&pool.mu);
	return (unsigned char *)b + HDR;
}

/* The header of p, a block in use; aborts on anything else. */
static struct hdr *
header_of(const void *p)
{
	struct hdr *h;

	if (!sshx_secmem_owns(p) ||
	    ((uintptr_t)p - (uintptr_t)pool.base) % ALIGN != 0 ||
	    (unsigned char *)p < pool.base + HDR)
		die("sshx: free of a pointer secure memory never gave\n");
	h = (struct hdr *)((unsigned char *)p - HDR);
	if (!(h->size & USED) || bsize(h) < MIN_BLOCK ||
	    bsize(h) > (size_t)(pool.base + pool.size - (unsigned char *)h) - HDR)
		die("sshx: double free or corruption in secure memory\n");
	return h;
}

size_t
sshx_secmem_usable(const void *p)
{
	size_t n;

	pthread_mutex_lock(&pool.mu);
	n = bsize(header_of(p)) - HDR;
	pthread_mutex_unlock(&pool.mu);
	return n;
}

void
sshx_secmem_free(void *p)
{
	struct hdr *h, *nx, *pv;

	if (p == NULL)
		return;
	pthread_mutex_lock(&pool.mu);
	h = header_of(p);
	explicit_bzero(p, bsize(h) - HDR);
	h->size &= ~USED;
	pool.used -= h->size;
	nx = after(h);
	if (!(nx->size & USED)) {
		list_remove((struct fblock *)nx);
		h->size += nx->size;
		explicit_bzero(nx, MIN_BLOCK);
	}
	if (h->prev != 0) {
		pv = (struct hdr *)((unsigned char *)h - h->prev);
		if (!(pv->size & USED)) {
			list_remove((struct fblock *)pv);
			pv->size += h->size;
			explicit_bzero(h, MIN_BLOCK);
			h = pv;
		}
	}
	after(h)->prev = h->size;
	list_insert((struct fblock *)h);
	pthread_mutex_unlock(&pool.mu);
}

/* ---- libgcrypt's allocation handlers ---- */

static void *
gc_alloc(size_t n)
{
	return malloc(n);
}

static void *
gc_alloc_secure(size_t n)
{
	return sshx_secmem_alloc(n);
}

static int
gc_is_secure(const void *p)
{
	return sshx_secmem_owns(p);
}

static void *
gc_realloc(void *p, size_t n)
{
	size_t have;
	void *q;

	if (p == NULL || !sshx_secmem_owns(p))
		return realloc(p, n);
	if ((q = sshx_secmem_alloc(n)) == NULL)
		return NULL;
	have = sshx_secmem_usable(p);
	memcpy(q, p, have < n ? have : n);
	sshx_secmem_free(p);
	return q;
}

static void
gc_free(void *p)
{
	if (sshx_secmem_owns(p))
		sshx_secmem_free(p);
	else
		free(p);
}

void
sshx_secmem_install_gcrypt(void)
{
	gcry_set_allocation_handler(gc_alloc, gc_alloc_secure, gc_is_secure,
	    gc_realloc, gc_free);
}
