/* bootmem.h: which guest pages the monitor backs ahead of the guest's boot, and why. */
#ifndef VMM_BOOTMEM_H
#define VMM_BOOTMEM_H

#include "loader.h"
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
 * block (the boot stack's top, the FDT, the console buffer's header) and
 * the top BOOTMEM_TOP of RAM. Contents are unchanged (fresh RAM: zero). Only a
 * hint: failures are ignored (they cost the guest faults, not correctness).
 */
void bootmem_populate(const struct mem *m);

/*
 * Where the monitor makes the app's stack guard (proto/ukvm_abi.h,
 * UKVM_FDT_STACK_GUARD) for an image with mem_size bytes of RAM: the gpa of
 * the 2 MiB page to leave unmapped, UKVM_STACK_GUARD_TOP +
 * UKVM_STACK_GUARD_ROOM below the end of RAM; or 0 (no guard: the kernel
 * makes its own) when the kernel does not read the offer, RAM is below
 * UKVM_STACK_GUARD_MIN_MEM or an image segment overlaps the guard or the
 * room above it.
 */
uint64_t bootmem_stack_guard(uint64_t mem_size, const struct loader_image *img);

#endif
