/* pages.c: the kernel's physical page allocator over all RAM (on pmem): boot reservations, kernel pages, RAM figures. */
#include <libfdt.h>
#include <string.h>

#include "arch.h"
#include "pages.h"
#include "panic.h"

struct pmem k_pages;
extern char _kernel_start[], _kernel_end[];

/* Dirty pages handed out again are cleared through their identity address. */
static void pages_zero(void *ctx, uint64_t addr, uint64_t len)
{
	(void)ctx;
	memset((void *)(uintptr_t)addr, 0, len);
}

int k_pages_init(const void *fdt, uint64_t mem_size, uint64_t payload_gpa, uint64_t payload_size)
{
	int rc;

	pmem_init(&k_pages, mem_size, pages_zero, NULL);
	/* Boot structures, the kernel image (incl. its .bss) and the FDT's reserve map. */
	rc = pmem_reserve(&k_pages, 0, UKVM_KERNEL_PHYS);
	if (!rc)
		rc = pmem_reserve(&k_pages, K_GPA(_kernel_start), (uint64_t)(_kernel_end - _kernel_start));
	for (int i = 0; !rc && i < fdt_num_mem_rsv(fdt); i++) {
		uint64_t a, s;
		if (fdt_get_mem_rsv(fdt, i, &a, &s) == 0)
			rc = pmem_reserve(&k_pages, a, s);
	}
	if (!rc && payload_size && payload_gpa < mem_size)
		rc = pmem_reserve(&k_pages, payload_gpa, payload_size);
	return rc;
}

/* Identity address of p (which may be a kernel-alias address). */
static uint64_t pages_ident(const void *p)
{
	uint64_t a = (uint64_t)(uintptr_t)p;
	return a >= UKVM_KERNEL_VBASE ? a - UKVM_KERNEL_VBASE : a;
}

void *k_pages_alloc(size_t npages)
{
	uint64_t a;
	if (pmem_alloc(&k_pages, npages, PMEM_KERNEL, &a))
		return NULL;
	return (void *)(uintptr_t)a;
}

void k_pages_free(void *p, size_t npages)
{
	if (p && pmem_free(&k_pages, pages_ident(p), npages, PMEM_KERNEL))
		k_panic("k_pages_free(%p, %zu): bad range", p, npages);
}

void k_pages_stats(uint64_t *total, uint64_t *free)
{
	uint64_t reserved = 0;
	for (unsigned i = 0; i < k_pages.n; i++)
		if (k_pages.ext[i].state == PMEM_RESERVED)
			reserved += k_pages.ext[i].end - k_pages.ext[i].start;
	*total = k_pages.size - reserved;
	*free = pmem_free_bytes(&k_pages);
}
