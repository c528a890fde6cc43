/*
 * ptab.c: the app's page protections in the page tables the monitor built
 * (vmm/pt.c: identity map, 4 KiB pages in the first 2 MiB, 2 MiB pages
 * above, the kernel alias sharing the identity PDs). Every entry has the
 * user bit, so the kernel edits them in place from CPL3 in both modes; only
 * the flush needs privilege (k_tlb_flush). A 2 MiB page is split into a page
 * table once one of its pages is protected, and stays split.
 */
#include <asm-generic/errno.h>

#include "arch.h"
#include "pages.h"
#include "ptab.h"
#include "ukvm_abi.h"

#define PT_P    0x001ull
#define PT_RW   0x002ull
#define PT_US   0x004ull
#define PT_A    0x020ull
#define PT_D    0x040ull
#define PT_PS   0x080ull
#define PT_ADDR 0x000ffffffffff000ull
#define PT_PAGE 4096ull
#define PT_2M   (2ull << 20)

/* Nothing was ever split: every RAM page is RW and ptab_user_ok has nothing to look at. */
static bool ptab_any;
/* What the monitor's tables leave out (ptab_note_gap): [lo, hi), empty when hi is 0. */
static uint64_t ptab_gap_lo, ptab_gap_hi;

void ptab_note_gap(uint64_t lo, uint64_t len)
{
	ptab_gap_lo = lo;
	ptab_gap_hi = lo + len;
}
/*
 * What changed since the last flush: the addresses to invalidate (one per
 * 2 MiB page split in the batch, whose TLB entry covers all of it; one per
 * page of a table split before), or everything once the list is full.
 */
#define PTAB_FLUSH_MAX 64
static uint64_t ptab_fl[PTAB_FLUSH_MAX];
static unsigned ptab_nfl;
static bool ptab_fl_all;
/* Some right was taken away in the batch (only then must PV mode flush: see ptab_flush). */
static bool ptab_fl_less;

static void ptab_changed(uint64_t a)
{
	if (ptab_nfl < PTAB_FLUSH_MAX)
		ptab_fl[ptab_nfl++] = a;
	else
		ptab_fl_all = true;
}

/*
 * PV mode runs on PVM's shadow MMU, which fixes a fault on a stale entry
 * whose guest entry now allows the access without the guest seeing it:
 * rights given back need no flush there (a flush costs ~100 us on this
 * host). Base mode may run on hardware, whose TLB would fault spuriously.
 */
void ptab_flush(void)
{
	if (k_pv_vif && !ptab_fl_less)
		;
	else if (ptab_fl_all)
		k_tlb_flush_list(ptab_fl, 0);
	else if (ptab_nfl)
		k_tlb_flush_list(ptab_fl, ptab_nfl);
	ptab_nfl = 0;
	ptab_fl_all = ptab_fl_less = false;
}

static uint64_t *ptab_table(uint64_t e)
{
	return (uint64_t *)(uintptr_t)(e & PT_ADDR);
}

/* The PD entry mapping identity address a, or NULL when a lies outside the tables. */
static uint64_t *ptab_pde(uint64_t a)
{
	const uint64_t *pml4 = (const uint64_t *)(uintptr_t)UKVM_PT_GPA;
	uint64_t e = pml4[(a >> 39) & 511];
	if (a >> 39 || !(e & PT_P))
		return NULL;
	e = ptab_table(e)[(a >> 30) & 511];
	if (!(e & PT_P) || (e & PT_PS))
		return NULL;
	return &ptab_table(e)[(a >> 21) & 511];
}

int ptab_protect(uint64_t addr, uint64_t np, enum ptab_prot p, bool *changed)
{
	uint64_t want = p == PTAB_NONE ? 0 : p == PTAB_RO ? PT_P : PT_P | PT_RW;
	uint64_t end = addr + np * PT_PAGE;

	for (uint64_t a = addr; a < end;) {
		uint64_t *pde = ptab_pde(a);
		uint64_t chunk = (a & ~(PT_2M - 1)) + PT_2M;
		if (chunk > end)
			chunk = end;
		if (!pde || (!(*pde & PT_P) && !(*pde & PT_PS)))
			return -EFAULT; /* not RAM: the callers pass only the app's pages */
		bool fresh = false;
		if ((*pde & PT_PS) && (a & (PT_2M - 1)) == 0 && chunk - a == PT_2M) {
			/* A whole 2 MiB page: its own entry says it, no table needed (the main stack's guard). */
			uint64_t v = (*pde & ~(PT_P | PT_RW)) | want;
			if (v != *pde) {
				if ((*pde & PT_P & ~v) || ((v & PT_P) && (*pde & PT_RW & ~v)))
					ptab_fl_less = true;
				*pde = v;
				ptab_any = true;
				ptab_changed(a);
				*changed = true;
			}
			a = chunk;
			continue;
		}
		if (*pde & PT_PS) {
			if (p == PTAB_RW && (*pde & (PT_P | PT_RW)) == (PT_P | PT_RW)) {
				a = chunk; /* a 2 MiB page is RW throughout */
				continue;
			}
			uint64_t *pt = k_pages_alloc(1);
			if (!pt)
				return -ENOMEM;
			uint64_t base = *pde & PT_ADDR & ~(PT_2M - 1), rights = *pde & (PT_P | PT_RW);
			/* Accessed and dirty preset, as the monitor writes them (PVM's shadow MMU prefers it). */
			for (uint64_t i = 0; i < 512; i++)
				pt[i] = (base + i * PT_PAGE) | rights | PT_US | PT_A | PT_D;
			/* Same rights as the 2 MiB page: nothing to flush for the split itself. */
			*pde = (uint64_t)(uintptr_t)pt | PT_P | PT_RW | PT_US | PT_A;
			ptab_any = true;
			fresh = true;
			ptab_fl_less = true; /* only split to take a right away */
			ptab_changed(a); /* the 2 MiB entry's one invalidation covers every page below */
		}
		uint64_t *pt = ptab_table(*pde);
		for (; a < chunk; a += PT_PAGE) {
			uint64_t *e = &pt[(a >> 12) & 511];
			uint64_t v = (*e & ~(PT_P | PT_RW)) | want;
			if (v != *e) {
				/* Losing P, or RW while present, takes a right away. */
				if ((*e & PT_P & ~v) || ((v & PT_P) && (*e & PT_RW & ~v)))
					ptab_fl_less = true;
				*e = v;
				if (!fresh)
					ptab_changed(a);
				*changed = true;
			}
		}
	}
	return 0;
}

bool ptab_user_ok(uint64_t a, uint64_t len, bool write)
{
	uint64_t need = write ? PT_P | PT_RW : PT_P, end = a + len;

	if (len == 0)
		return true;
	if (a < ptab_gap_hi && ptab_gap_lo < end)
		return false;
	if (!ptab_any)
		return true;
	for (a &= ~(PT_PAGE - 1); a < end;) {
		const uint64_t *pde = ptab_pde(a);
		if (!pde)
			return false;
		if (*pde & PT_PS) {
			if ((*pde & need) != need)
				return false;
			a = (a & ~(PT_2M - 1)) + PT_2M;
			continue;
		}
		if ((ptab_table(*pde)[(a >> 12) & 511] & need) != need)
			return false;
		a += PT_PAGE;
	}
	return true;
}

bool ptab_active(void)
{
	return ptab_any;
}

enum ptab_prot ptab_prot_of(uint64_t a)
{
	const uint64_t *pde = ptab_pde(a);
	if (!pde)
		return PTAB_RW;
	uint64_t e = (*pde & PT_PS) ? *pde : ptab_table(*pde)[(a >> 12) & 511];
	return !(e & PT_P) ? PTAB_NONE : !(e & PT_RW) ? PTAB_RO : PTAB_RW;
}
