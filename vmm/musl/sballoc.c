/*
 * sballoc.c: the allocator of libseccomp in the musl ukvm-run (vmm/build.mk
 * renames libseccomp.a's malloc, calloc, realloc, free and strdup to these).
 *
 * Why: musl's allocator (mallocng) maps a fresh page for each new size
 * class group and unmaps it when the group empties, and on PVM each
 * mmap, munmap and first touch of a page is costly. libseccomp makes a few
 * hundred small allocations per filter and frees them all at
 * seccomp_release: ~60 mmap/munmap calls, ~220 us more than glibc's malloc
 * for hello's vCPU filter (build and install, medians: 395 us with
 * mallocng, 176 glibc, ~225 here). Here they come from one kept arena
 * (mapped populated: one call, not a fault per page) that starts over
 * whenever nothing in it is live; its pages stay mapped, so a second filter
 * (the event thread's) touches no new page.
 *
 * Every allocation carries its size in front of it (realloc). Threads share
 * the arena under a lock; memory is reused only once every allocation has
 * been freed, so nothing live is ever handed out twice.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

void *sballoc_malloc(size_t n);
void *sballoc_calloc(size_t k, size_t n);
void *sballoc_realloc(void *p, size_t n);
void sballoc_free(void *p);
char *sballoc_strdup(const char *s);

/*
 * Chunks of at least this size, mapped populated: hello's vCPU filter uses
 * ~145 KiB; one chunk that fits it costs least (build and export, medians of
 * 15: 128 KiB 190 us, 160 KiB 164, 192 KiB 171, 256 KiB 186: every page is
 * zeroed whether used or not). A larger filter takes more chunks.
 */
#define SBALLOC_CHUNK (192u << 10)
#define SBALLOC_ALIGN 16u

struct sballoc_chunk {
	struct sballoc_chunk *next;
	size_t size, used;
};

struct sballoc_hdr {
	size_t size;
	size_t pad; /* keeps the payload 16-byte aligned */
};

/*
 * A spin lock, not a mutex: held for a few instructions (or a rare munmap),
 * by at most the two threads that build filters; musl's mutex calls showed
 * in profiles of libseccomp's thousands of allocations.
 */
static atomic_flag sballoc_lock = ATOMIC_FLAG_INIT;

static void sballoc_take(void)
{
	while (atomic_flag_test_and_set_explicit(&sballoc_lock, memory_order_acquire))
		;
}

static void sballoc_give(void)
{
	atomic_flag_clear_explicit(&sballoc_lock, memory_order_release);
}
static struct sballoc_chunk *sballoc_chunks; /* the newest first; the last one is kept when all is free */
static size_t sballoc_live;

static size_t sballoc_round(size_t n)
{
	return (n + SBALLOC_ALIGN - 1) & ~(size_t)(SBALLOC_ALIGN - 1);
}

/* Nothing live: the extra chunks go back, the first one starts over. Under the lock. */
static void sballoc_reset(void)
{
	while (sballoc_chunks && sballoc_chunks->next) {
		struct sballoc_chunk *c = sballoc_chunks;
		sballoc_chunks = c->next;
		munmap(c, c->size);
	}
	if (sballoc_chunks)
		sballoc_chunks->used = sballoc_round(sizeof(struct sballoc_chunk));
}

void *sballoc_malloc(size_t n)
{
	size_t head = sballoc_round(sizeof(struct sballoc_chunk));
	if (n > SIZE_MAX / 2) {
		errno = ENOMEM;
		return NULL;
	}
	size_t need = sizeof(struct sballoc_hdr) + sballoc_round(n ? n : 1);
	sballoc_take();
	struct sballoc_chunk *c = sballoc_chunks;
	if (!c || c->size - c->used < need) {
		size_t size = head + need > SBALLOC_CHUNK ? (head + need + 4095) & ~(size_t)4095 : SBALLOC_CHUNK;
		void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (m == MAP_FAILED) {
			sballoc_give();
			errno = ENOMEM;
			return NULL;
		}
		c = m;
		*c = (struct sballoc_chunk){ .next = sballoc_chunks, .size = size, .used = head };
		sballoc_chunks = c;
	}
	struct sballoc_hdr *h = (struct sballoc_hdr *)((char *)c + c->used);
	c->used += need;
	h->size = n;
	sballoc_live++;
	sballoc_give();
	return h + 1;
}

void sballoc_free(void *p)
{
	if (!p)
		return;
	sballoc_take();
	if (--sballoc_live == 0)
		sballoc_reset();
	sballoc_give();
}

void *sballoc_calloc(size_t k, size_t n)
{
	if (n && k > SIZE_MAX / n) {
		errno = ENOMEM;
		return NULL;
	}
	/* Reused arena memory is not zero. */
	void *p = sballoc_malloc(k * n);
	if (p)
		memset(p, 0, k * n);
	return p;
}

void *sballoc_realloc(void *p, size_t n)
{
	if (!p)
		return sballoc_malloc(n);
	size_t old = ((struct sballoc_hdr *)p - 1)->size;
	if (n <= old) {
		((struct sballoc_hdr *)p - 1)->size = n;
		return p;
	}
	void *q = sballoc_malloc(n);
	if (q) {
		memcpy(q, p, old);
		sballoc_free(p);
	}
	return q;
}

char *sballoc_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = sballoc_malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}
