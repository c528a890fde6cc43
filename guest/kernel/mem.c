/* mem.c: the kernel's page allocator over RAM (on pmem) and the checks on addresses the app hands in. */
#include <asm-generic/errno.h>
#include <libfdt.h>
#include <string.h>

#include "arch.h"
#include "boot.h"
#include "k.h"

struct pmem k_pmem;
extern char _kernel_start[], _kernel_end[];

/* Dirty pages handed out again are cleared through their identity address. */
static void mem_zero(void *ctx, uint64_t addr, uint64_t len)
{
	(void)ctx;
	memset((void *)(uintptr_t)addr, 0, len);
}

int k_mem_init(const void *fdt, uint64_t mem_size)
{
	int rc;

	pmem_init(&k_pmem, mem_size, mem_zero, NULL);
	/* Boot structures, the kernel image (incl. its .bss) and the FDT's reserve map. */
	rc = pmem_reserve(&k_pmem, 0, UKVM_KERNEL_PHYS);
	if (!rc)
		rc = pmem_reserve(&k_pmem, K_GPA(_kernel_start), (uint64_t)(_kernel_end - _kernel_start));
	for (int i = 0; !rc && i < fdt_num_mem_rsv(fdt); i++) {
		uint64_t a, s;
		if (fdt_get_mem_rsv(fdt, i, &a, &s) == 0)
			rc = pmem_reserve(&k_pmem, a, s);
	}
	if (!rc && k_boot_info.payload_size && k_boot_info.payload_gpa < mem_size)
		rc = pmem_reserve(&k_pmem, k_boot_info.payload_gpa, k_boot_info.payload_size);
	return rc;
}

/* Identity address of p (which may be a kernel-alias address). */
static uint64_t mem_ident(const void *p)
{
	uint64_t a = (uint64_t)(uintptr_t)p;
	return a >= UKVM_KERNEL_VBASE ? a - UKVM_KERNEL_VBASE : a;
}

void *k_pages_alloc(size_t npages)
{
	uint64_t a;
	if (pmem_alloc(&k_pmem, npages, PMEM_KERNEL, &a))
		return NULL;
	return (void *)(uintptr_t)a;
}

void k_pages_free(void *p, size_t npages)
{
	if (p && pmem_free(&k_pmem, mem_ident(p), npages, PMEM_KERNEL))
		k_panic("k_pages_free(%p, %zu): bad range", p, npages);
}

bool k_user_ok(const void *p, size_t len)
{
	uint64_t a = (uint64_t)(uintptr_t)p, end = k_pmem.size;

	if (len == 0)
		return true; /* nothing will be accessed */
	if (a >= UKVM_KERNEL_VBASE) {
		/* The kernel alias covers the first 2 GiB of RAM. */
		a -= UKVM_KERNEL_VBASE;
		if (end > (2ull << 30))
			end = 2ull << 30;
	} else if (a < PMEM_PAGE) {
		return false; /* page 0 is unmapped */
	}
	return a < end && len <= end - a;
}

long k_user_strlen(const char *s, size_t max)
{
	uint64_t a = (uint64_t)(uintptr_t)s, end = k_pmem.size;

	if (!k_user_ok(s, 1))
		return -EFAULT;
	if (a >= UKVM_KERNEL_VBASE) {
		a -= UKVM_KERNEL_VBASE;
		if (end > (2ull << 30))
			end = 2ull << 30;
	}
	uint64_t room = end - a; /* k_user_ok: a < end */
	size_t lim = max < room ? max : (size_t)room;
	for (size_t i = 0; i < lim; i++)
		if (s[i] == 0)
			return (long)i;
	return lim < max ? -EFAULT : -ENAMETOOLONG;
}

void k_mem_stats(uint64_t *total, uint64_t *free)
{
	uint64_t reserved = 0;
	for (unsigned i = 0; i < k_pmem.n; i++)
		if (k_pmem.ext[i].state == PMEM_RESERVED)
			reserved += k_pmem.ext[i].end - k_pmem.ext[i].start;
	*total = k_pmem.size - reserved;
	*free = pmem_free_bytes(&k_pmem);
}
