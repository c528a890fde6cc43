/* pmem.h: extent-based physical page allocator (pure logic; guest/kernel/pmem.c, host-testable). */
#ifndef PMEM_H
#define PMEM_H

#include <stdbool.h>
#include <stdint.h>

#define PMEM_PAGE 4096ull
#define PMEM_MAX_EXT 1024

/*
 * What a range of RAM is. Free memory is either pristine (never handed out
 * since boot, so still zero: guest RAM starts zeroed) or dirty (freed, must
 * be zeroed before reuse). Touching a page costs ~14 us the first time on
 * PVM, so pristine memory is never written by the allocator.
 */
enum pmem_state {
	PMEM_PRISTINE = 0,
	PMEM_DIRTY,
	PMEM_KERNEL,   /* kernel heap and page allocations */
	PMEM_APP,      /* the app's image, stack, brk and mmap regions */
	PMEM_RESERVED, /* boot structures, kernel image, payload: never freed */
	PMEM_NSTATES
};
#define PMEM_BIT(s) (1u << (s))
#define PMEM_FREE_MASK (PMEM_BIT(PMEM_PRISTINE) | PMEM_BIT(PMEM_DIRTY))

struct pmem_ext {
	uint64_t start, end; /* page-aligned, start < end */
	uint32_t state;
};

/* Sorted extents covering [0, size) with no gap; neighbours never share a state. */
struct pmem {
	struct pmem_ext ext[PMEM_MAX_EXT];
	unsigned n;
	uint64_t size;
	void (*zero)(void *ctx, uint64_t addr, uint64_t len); /* clears [addr, addr + len) */
	void *zero_ctx;
};

/* Starts with [0, size rounded down to a page) pristine. zero is called for dirty memory handed out. */
void pmem_init(struct pmem *pm, uint64_t size, void (*zero)(void *, uint64_t, uint64_t), void *ctx);

/* Marks [addr, addr + len) (widened to pages, clipped to RAM) reserved whatever it was. 0 or -ENOMEM (too many extents). */
int pmem_reserve(struct pmem *pm, uint64_t addr, uint64_t len);

/* Takes npages free pages, highest address first, for owner; zeroes the dirty ones. 0 and *addr, or -ENOMEM / -EINVAL. */
int pmem_alloc(struct pmem *pm, uint64_t npages, enum pmem_state owner, uint64_t *addr);

/*
 * Takes [addr, addr + npages pages) for owner. Every page must be free, or
 * already owner's when allow_owned (then it is zeroed too when zero_owned).
 * Dirty pages are zeroed. 0, -EINVAL (misaligned, overflow, past RAM) or
 * -ENOMEM (some page busy, or too many extents). Nothing changes on error.
 */
int pmem_claim(struct pmem *pm, uint64_t addr, uint64_t npages, enum pmem_state owner, bool allow_owned,
	       bool zero_owned);

/*
 * Hands [addr, addr + npages pages) to owner without zeroing: every page's
 * state must be in from_mask (e.g. the reserved pages of an app the monitor
 * placed). 0, -EINVAL (misaligned, past RAM, owner not an owner state) or
 * -ENOMEM (a page in another state, or too many extents). Nothing changes on error.
 */
int pmem_adopt(struct pmem *pm, uint64_t addr, uint64_t npages, uint32_t from_mask, enum pmem_state owner);

/* Frees the pages of [addr, addr + npages pages) that belong to owner (others are left alone): 0, -EINVAL, -ENOMEM. */
int pmem_free(struct pmem *pm, uint64_t addr, uint64_t npages, enum pmem_state owner);

/* True when every page of [addr, addr + len) is inside RAM and its state is in mask (PMEM_BIT()s). len 0 is false. */
bool pmem_range_is(const struct pmem *pm, uint64_t addr, uint64_t len, uint32_t mask);

/* Bytes currently free (pristine + dirty). */
uint64_t pmem_free_bytes(const struct pmem *pm);

#endif
