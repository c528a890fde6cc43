/* bootmem.h: which guest pages the monitor backs ahead of the guest's boot, and why. */
#ifndef VMM_BOOTMEM_H
#define VMM_BOOTMEM_H

#include "mem.h"

/*
 * The top of RAM backed ahead for the kernel's first page allocations (its
 * allocator hands out pages from the top of RAM down): one aligned group
 * of the shadow MMU's prefetch (8 pages).
 */
#define BOOTMEM_TOP (32ull << 10)

/*
 * Backs, with host memory now, the guest pages that the guest kernel's boot
 * writes outside the image's segments (loader_load backs those): the boot
 * stack's top page, the console buffer's first page and the top
 * BOOTMEM_TOP of RAM. Contents are unchanged (fresh RAM: zero). Only a
 * hint: failures are ignored (they cost the guest faults, not correctness).
 */
void bootmem_populate(const struct mem *m);

#endif
