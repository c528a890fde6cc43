/* pages.h: the kernel's physical page allocator over all RAM (guest/kernel/pages.c), on the extent allocator pmem. */
#ifndef PAGES_H
#define PAGES_H

#include <stddef.h>
#include <stdint.h>

#include "pmem.h"

/* All of RAM: what the kernel, the app (its segments, stack, brk, mmap) and boot hold. k_pages.size is the RAM size. */
extern struct pmem k_pages;

/*
 * Builds k_pages for mem_size bytes of RAM and reserves the boot area below
 * the kernel, the kernel image (incl. its .bss), the FDT's reserve map and
 * the payload [payload_gpa, +payload_size) (none when the size is 0). 0 or -errno.
 */
int k_pages_init(const void *fdt, uint64_t mem_size, uint64_t payload_gpa, uint64_t payload_size);

/* Whole pages for the kernel; identity-mapped, zeroed. NULL when out of memory. */
void *k_pages_alloc(size_t npages);

/* Returns pages from k_pages_alloc (identity or kernel-alias address); a bad range panics. */
void k_pages_free(void *p, size_t npages);

/* Guest RAM figures for sysinfo(2): total usable bytes and bytes the allocator has free. */
void k_pages_stats(uint64_t *total, uint64_t *free);

#endif
