/* mem.c: guest RAM mapping and its checked translation. */
#include "mem.h"

#include <errno.h>
#include <stddef.h>
#include <sys/mman.h>

#include "ukvm_abi.h"

#define MEM_PAGE 4096ull

int mem_init(struct mem *m, uint64_t size)
{
	m->base = NULL;
	m->size = 0;
	if (ukvm_mem_size_invalid(size))
		return -EINVAL;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	m->base = p;
	m->size = size;
	return 0;
}

int mem_populate(const struct mem *m, uint64_t gpa, uint64_t len)
{
	uint64_t lo = gpa & ~(MEM_PAGE - 1);
	if (!len || !mem_ptr(m, gpa, len))
		return len ? -EINVAL : 0;
	uint64_t hi = (gpa + len + MEM_PAGE - 1) & ~(MEM_PAGE - 1); /* RAM size is page-aligned */
	return madvise(m->base + lo, hi - lo, MADV_POPULATE_WRITE) ? -errno : 0;
}

void mem_free(struct mem *m)
{
	if (m->base)
		munmap(m->base, m->size);
	m->base = NULL;
	m->size = 0;
}

void *mem_ptr(const struct mem *m, uint64_t gpa, uint64_t len)
{
	/* Written as two comparisons so gpa + len can never wrap. */
	if (!m->base || gpa > m->size || len > m->size - gpa)
		return NULL;
	return m->base + gpa;
}
