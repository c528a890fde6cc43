/* pt.c: the page-table builder (a pure function over a buffer, so unit tests can walk the result). */
#include "pt.h"

#include <errno.h>
#include <string.h>

#include "ukvm_abi.h"

/*
 * Layout inside [UKVM_PT_GPA, UKVM_PT_END), one 4 KiB page each:
 * PML4, its identical copy (the user PML4 of PV mode's KPTI pair: the host
 * wants kernel PML4 8 KiB aligned and the user one right after it), the
 * identity PDPT, the high PDPT (PML4 slot 511), the PT for the first 2 MiB,
 * then one PD per GiB of RAM (64 at most), then the PD of the MMIO window
 * (70 pages fit in 80).
 * The alias at UKVM_KERNEL_VBASE (PDPT slots 510, 511) reuses the identity
 * PDs of the first 2 GiB, so both views always agree.
 */
#define PT_PML4  (UKVM_PT_GPA + 0x0000)
#define PT_PML4U (UKVM_PT_GPA + 0x1000)
#define PT_PDPT  (UKVM_PT_GPA + 0x2000)
#define PT_PDPTH (UKVM_PT_GPA + 0x3000)
#define PT_PT0   (UKVM_PT_GPA + 0x4000)
#define PT_PD0   (UKVM_PT_GPA + 0x5000)
#define PT_PDIO  (PT_PD0 + (UKVM_MEM_MAX / (1ull << 30)) * 0x1000) /* PD of the MMIO window */
/*
 * Accessed and dirty preset: nothing in the guest reads them, and a shadow
 * MMU (PVM) maps a clean entry read-only first (a second fault on the first
 * write) and prefetches no neighbours of an entry that is not yet accessed.
 */
#define PT_FLAGS (PT_P | PT_RW | PT_US | PT_A)
#define PT_LEAF (PT_FLAGS | PT_D)
#define GIB (1ull << 30)
#define MIB2 (2ull << 20)

_Static_assert(PT_PDIO + 0x1000 <= UKVM_PT_END, "page tables overflow their region");
_Static_assert(PT_PML4 % 0x2000 == 0 && PT_PML4U == PT_PML4 + 0x1000, "KPTI PML4 pair");
/* The window gets its own PD: it sits at a GiB boundary above all RAM, in the identity PDPT. */
_Static_assert(UKVM_MMIO_BASE % GIB == 0 && UKVM_MMIO_BASE >= UKVM_MEM_MAX &&
	       UKVM_MMIO_BASE / GIB < 512, "MMIO window placement");

static uint64_t *pt_page(void *buf, uint64_t gpa)
{
	return (uint64_t *)((uint8_t *)buf + (gpa - UKVM_PT_GPA));
}

int pt_build(void *buf, size_t buflen, uint64_t mem_size, uint64_t guard, uint64_t *cr3)
{
	if (buflen != UKVM_PT_END - UKVM_PT_GPA || ukvm_mem_size_invalid(mem_size))
		return -EINVAL;
	if (guard && (guard % MIB2 || guard < MIB2 || guard > mem_size - MIB2))
		return -EINVAL; /* mem_size >= UKVM_MEM_MIN: no wrap */

	uint64_t *pml4 = pt_page(buf, PT_PML4);
	uint64_t *pdpt = pt_page(buf, PT_PDPT);
	uint64_t *pdpth = pt_page(buf, PT_PDPTH);
	uint64_t *pt0 = pt_page(buf, PT_PT0);
	uint64_t npd = (mem_size + GIB - 1) / GIB;

	pml4[0] = PT_PDPT | PT_FLAGS;
	pml4[511] = PT_PDPTH | PT_FLAGS; /* UKVM_KERNEL_VBASE is in slot 511; slot 256 stays empty */

	for (uint64_t g = 0; g < npd; g++) {
		uint64_t *pd = pt_page(buf, PT_PD0 + g * 0x1000);
		pdpt[g] = (PT_PD0 + g * 0x1000) | PT_FLAGS;
		for (uint64_t i = 0; i < 512; i++) {
			uint64_t pa = g * GIB + i * MIB2;
			if (pa >= mem_size)
				break;
			if (guard && pa == guard)
				continue; /* not present: the stack guard */
			pd[i] = pa | PT_LEAF | PT_PS;
		}
	}
	/* The first 2 MiB in 4 KiB pages so that page 0 can stay unmapped. */
	pt_page(buf, PT_PD0)[0] = PT_PT0 | PT_FLAGS;
	for (uint64_t i = 1; i < 512; i++)
		pt0[i] = (i << 12) | PT_LEAF;

	/* VBASE = -2 GiB: PDPT slots 510 and 511 map physical 0..2 GiB. */
	for (uint64_t g = 0; g < 2 && g < npd; g++)
		pdpth[510 + g] = (PT_PD0 + g * 0x1000) | PT_FLAGS;

	/* virtio-mmio registers: one 2 MiB page, cache-disabled (device memory, never cached). */
	pdpt[UKVM_MMIO_BASE / GIB] = PT_PDIO | PT_FLAGS;
	pt_page(buf, PT_PDIO)[(UKVM_MMIO_BASE % GIB) / MIB2] = UKVM_MMIO_BASE | PT_LEAF | PT_PS | PT_PCD;

	/* PV mode's user PML4: the same address space (the app and kernel share it). */
	memcpy(pt_page(buf, PT_PML4U), pml4, 4096);
	*cr3 = PT_PML4;
	return 0;
}
