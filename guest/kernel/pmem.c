/* pmem.c: extent-based physical page allocator that knows which free memory is still pristine (zero). */
#include <asm-generic/errno-base.h>
#include <string.h>

#include "../include/pmem.h"

#define PAGE_MASK (PMEM_PAGE - 1)

void pmem_init(struct pmem *pm, uint64_t size, void (*zero)(void *, uint64_t, uint64_t), void *ctx)
{
	pm->size = size & ~PAGE_MASK;
	pm->zero = zero;
	pm->zero_ctx = ctx;
	pm->n = 0;
	if (pm->size) {
		pm->ext[0] = (struct pmem_ext){ .start = 0, .end = pm->size, .state = PMEM_PRISTINE };
		pm->n = 1;
	}
}

/* Index of the extent holding addr (addr < pm->size). */
static unsigned pmem_find(const struct pmem *pm, uint64_t addr)
{
	unsigned lo = 0, hi = pm->n;

	while (hi - lo > 1) {
		unsigned mid = lo + (hi - lo) / 2;
		if (pm->ext[mid].start <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* Makes addr an extent boundary (caller guaranteed room for one more extent). */
static void pmem_split(struct pmem *pm, uint64_t addr)
{
	if (addr == 0 || addr >= pm->size)
		return;
	unsigned i = pmem_find(pm, addr);
	struct pmem_ext *e = &pm->ext[i];
	if (e->start == addr)
		return;
	memmove(&pm->ext[i + 2], &pm->ext[i + 1], (pm->n - i - 1) * sizeof(pm->ext[0]));
	pm->ext[i + 1] = (struct pmem_ext){ .start = addr, .end = e->end, .state = e->state };
	e->end = addr;
	pm->n++;
}

/* Merges neighbours that share a state (n is small: a linear pass is cheap next to a page touch). */
static void pmem_merge(struct pmem *pm)
{
	unsigned w = 0;

	for (unsigned r = 1; r < pm->n; r++) {
		if (pm->ext[r].state == pm->ext[w].state)
			pm->ext[w].end = pm->ext[r].end;
		else
			pm->ext[++w] = pm->ext[r];
	}
	if (pm->n)
		pm->n = w + 1;
}

/*
 * Sets [s, e) (page-aligned, inside RAM) to state st. Old parts whose state
 * is in zero_mask are cleared first; parts not in only_mask keep their state
 * (only_mask = all bits for a plain set).
 */
static int pmem_set(struct pmem *pm, uint64_t s, uint64_t e, uint32_t st, uint32_t zero_mask, uint32_t only_mask)
{
	if (s >= e)
		return 0;
	/* Splits needed at s and e; merging afterwards only shrinks the table. */
	unsigned need = 0;
	if (s > 0 && pm->ext[pmem_find(pm, s)].start != s)
		need++;
	if (e < pm->size && pm->ext[pmem_find(pm, e)].start != e)
		need++;
	if (pm->n + need > PMEM_MAX_EXT)
		return -ENOMEM;
	pmem_split(pm, s);
	pmem_split(pm, e);
	unsigned i = pmem_find(pm, s);
	while (i < pm->n && pm->ext[i].start < e) {
		struct pmem_ext *x = &pm->ext[i];
		if (only_mask & PMEM_BIT(x->state)) {
			if ((zero_mask & PMEM_BIT(x->state)) && pm->zero)
				pm->zero(pm->zero_ctx, x->start, x->end - x->start);
			x->state = st;
		}
		i++;
	}
	pmem_merge(pm);
	return 0;
}

/* Validates a page range: 0 and *end, or -EINVAL. */
static int pmem_range(const struct pmem *pm, uint64_t addr, uint64_t npages, uint64_t *end)
{
	if ((addr & PAGE_MASK) || npages == 0 || npages > (UINT64_MAX - addr) / PMEM_PAGE)
		return -EINVAL;
	*end = addr + npages * PMEM_PAGE;
	if (*end > pm->size)
		return -EINVAL;
	return 0;
}

int pmem_reserve(struct pmem *pm, uint64_t addr, uint64_t len)
{
	if (len == 0 || addr >= pm->size)
		return 0;
	uint64_t end = len > pm->size - addr ? pm->size : addr + len;
	uint64_t s = addr & ~PAGE_MASK;
	end = (end + PAGE_MASK) & ~PAGE_MASK; /* end <= size, size page-aligned: no overflow */
	return pmem_set(pm, s, end, PMEM_RESERVED, 0, ~0u);
}

int pmem_alloc(struct pmem *pm, uint64_t npages, enum pmem_state owner, uint64_t *addr)
{
	if (npages == 0 || npages > pm->size / PMEM_PAGE || owner < PMEM_KERNEL || owner >= PMEM_NSTATES)
		return -EINVAL;
	uint64_t need = npages * PMEM_PAGE;
	unsigned i = pm->n;
	while (i > 0) {
		i--;
		if (!(PMEM_FREE_MASK & PMEM_BIT(pm->ext[i].state)))
			continue;
		/* A free run may alternate pristine and dirty extents. */
		uint64_t run_end = pm->ext[i].end;
		while (i > 0 && (PMEM_FREE_MASK & PMEM_BIT(pm->ext[i - 1].state)))
			i--;
		if (run_end - pm->ext[i].start >= need) {
			uint64_t s = run_end - need;
			int rc = pmem_set(pm, s, run_end, owner, PMEM_BIT(PMEM_DIRTY), ~0u);
			if (rc)
				return rc;
			*addr = s;
			return 0;
		}
	}
	return -ENOMEM;
}

int pmem_claim(struct pmem *pm, uint64_t addr, uint64_t npages, enum pmem_state owner, bool allow_owned,
	       bool zero_owned)
{
	uint64_t end;
	if (owner < PMEM_KERNEL || owner >= PMEM_NSTATES || pmem_range(pm, addr, npages, &end))
		return -EINVAL;
	uint32_t ok = PMEM_FREE_MASK | (allow_owned ? PMEM_BIT(owner) : 0);
	if (!pmem_range_is(pm, addr, end - addr, ok))
		return -ENOMEM;
	uint32_t zero = PMEM_BIT(PMEM_DIRTY) | (allow_owned && zero_owned ? PMEM_BIT(owner) : 0);
	return pmem_set(pm, addr, end, owner, zero, ~0u);
}

int pmem_adopt(struct pmem *pm, uint64_t addr, uint64_t npages, uint32_t from_mask, enum pmem_state owner)
{
	uint64_t end;
	if (owner < PMEM_KERNEL || owner >= PMEM_NSTATES || pmem_range(pm, addr, npages, &end))
		return -EINVAL;
	if (!pmem_range_is(pm, addr, end - addr, from_mask))
		return -ENOMEM;
	return pmem_set(pm, addr, end, owner, 0, ~0u);
}

int pmem_free(struct pmem *pm, uint64_t addr, uint64_t npages, enum pmem_state owner)
{
	uint64_t end;
	if (owner < PMEM_KERNEL || owner >= PMEM_RESERVED || pmem_range(pm, addr, npages, &end))
		return -EINVAL;
	return pmem_set(pm, addr, end, PMEM_DIRTY, 0, PMEM_BIT(owner));
}

bool pmem_range_is(const struct pmem *pm, uint64_t addr, uint64_t len, uint32_t mask)
{
	if (len == 0 || addr >= pm->size || len > pm->size - addr)
		return false;
	uint64_t end = addr + len;
	for (unsigned i = pmem_find(pm, addr); i < pm->n && pm->ext[i].start < end; i++)
		if (!(mask & PMEM_BIT(pm->ext[i].state)))
			return false;
	return true;
}

uint64_t pmem_free_bytes(const struct pmem *pm)
{
	uint64_t sum = 0;
	for (unsigned i = 0; i < pm->n; i++)
		if (PMEM_FREE_MASK & PMEM_BIT(pm->ext[i].state))
			sum += pm->ext[i].end - pm->ext[i].start;
	return sum;
}
