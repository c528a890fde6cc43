/* kmalloc.c: the kernel heap: power-of-two size classes on pages, whole pages for big blocks. */
#include <string.h>

#include "kmalloc.h"
#include "pages.h"
#include "panic.h"
#include "pmem.h"

#define KM_MAGIC 0x6b6d616cu
#define KM_MIN_SHIFT 5   /* 32-byte blocks: 16-byte header + 16 bytes */
#define KM_MAX_SHIFT 11  /* 2 KiB; larger blocks take whole pages */
#define KM_CLASSES (KM_MAX_SHIFT - KM_MIN_SHIFT + 1)
#define KM_BIG 0xffffu

/* 16 bytes so every block stays 16-byte aligned. */
struct km_hdr {
	uint32_t magic;
	uint32_t cls;     /* size class, or KM_BIG */
	uint64_t npages;  /* for KM_BIG */
};

struct km_free {
	struct km_free *next;
};

static struct km_free *km_lists[KM_CLASSES];

static void *km_big(size_t n)
{
	if (n > SIZE_MAX - sizeof(struct km_hdr) - PMEM_PAGE)
		return NULL;
	size_t np = (n + sizeof(struct km_hdr) + PMEM_PAGE - 1) / PMEM_PAGE;
	struct km_hdr *h = k_pages_alloc(np);
	if (!h)
		return NULL;
	*h = (struct km_hdr){ .magic = KM_MAGIC, .cls = KM_BIG, .npages = np };
	return h + 1;
}

/* Blocks of every class are cut from one shared page: boot touches one heap page, not one per class. */
static char *km_bump;
static size_t km_left;

static void km_push(unsigned c, void *p)
{
	struct km_free *f = p;
	f->next = km_lists[c];
	km_lists[c] = f;
}

/* Puts one block of class c on its free list; 0 or -1 when out of memory. */
static int km_carve(unsigned c)
{
	size_t bs = (size_t)1 << (c + KM_MIN_SHIFT);
	if (km_left < bs) {
		char *pg = k_pages_alloc(1);
		if (!pg)
			return -1;
		/* Hand the old page's tail (a multiple of the smallest block) to the lists it fits. */
		for (unsigned k = KM_CLASSES; k-- > 0;) {
			size_t ks = (size_t)1 << (k + KM_MIN_SHIFT);
			for (; km_left >= ks; km_left -= ks, km_bump += ks)
				km_push(k, km_bump);
		}
		km_bump = pg;
		km_left = PMEM_PAGE;
	}
	km_push(c, km_bump);
	km_bump += bs;
	km_left -= bs;
	return 0;
}

void *k_malloc(size_t n)
{
	unsigned c = 0;
	while (c < KM_CLASSES && ((size_t)1 << (c + KM_MIN_SHIFT)) - sizeof(struct km_hdr) < n)
		c++;
	if (c == KM_CLASSES)
		return km_big(n);
	if (!km_lists[c] && km_carve(c))
		return NULL;
	struct km_free *f = km_lists[c];
	km_lists[c] = f->next;
	struct km_hdr *h = (struct km_hdr *)f;
	*h = (struct km_hdr){ .magic = KM_MAGIC, .cls = c, .npages = 0 };
	return h + 1;
}

static struct km_hdr *km_hdr_of(void *p);

void *k_calloc(size_t count, size_t n)
{
	if (n && count > SIZE_MAX / n)
		return NULL;
	void *p = k_malloc(count * n);
	/* Big blocks are fresh pages, already zero: clearing them again would touch them all (~14 us each on PVM). */
	if (p && km_hdr_of(p)->cls != KM_BIG)
		memset(p, 0, count * n);
	return p;
}

static struct km_hdr *km_hdr_of(void *p)
{
	struct km_hdr *h = (struct km_hdr *)p - 1;
	if (h->magic != KM_MAGIC || (h->cls != KM_BIG && h->cls >= KM_CLASSES))
		k_panic("k_free(%p): not a heap block", p);
	return h;
}

static size_t km_usable(const struct km_hdr *h)
{
	if (h->cls == KM_BIG)
		return h->npages * PMEM_PAGE - sizeof(*h);
	return ((size_t)1 << (h->cls + KM_MIN_SHIFT)) - sizeof(*h);
}

size_t k_malloc_size(const void *p)
{
	if (!p)
		return 0;
	return km_usable(km_hdr_of((void *)(uintptr_t)p)) + sizeof(struct km_hdr);
}

void k_free(void *p)
{
	if (!p)
		return;
	struct km_hdr *h = km_hdr_of(p);
	if (h->cls == KM_BIG) {
		h->magic = 0;
		k_pages_free(h, h->npages);
		return;
	}
	unsigned c = h->cls;
	h->magic = 0; /* a second free of the block panics */
	struct km_free *f = (struct km_free *)h;
	f->next = km_lists[c];
	km_lists[c] = f;
}

void *k_realloc(void *p, size_t n)
{
	if (!p)
		return k_malloc(n);
	size_t old = km_usable(km_hdr_of(p));
	if (n <= old)
		return p;
	void *q = k_malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, old);
	k_free(p);
	return q;
}
