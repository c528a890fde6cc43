/* mem.h: guest RAM: one anonymous mapping and the one checked guest-physical -> host translation. */
#ifndef VMM_MEM_H
#define VMM_MEM_H

#include <stdint.h>

struct mem {
	uint8_t *base;  /* host address of guest physical 0 */
	uint64_t size;  /* bytes of guest RAM */
};

/*
 * Maps size bytes of zeroed anonymous memory (MAP_NORESERVE: untouched pages
 * cost nothing). Returns 0 or -errno; -EINVAL when size is not a multiple of
 * 2 MiB or outside [UKVM_MEM_MIN, UKVM_MEM_MAX].
 */
int mem_init(struct mem *m, uint64_t size);

/*
 * Maps size bytes of fd from offset off (page-aligned) as guest RAM,
 * MAP_PRIVATE: the guest's writes go to private copies, the file is never
 * written, and any number of VMs may map it at once (a snapshot's memory,
 * vmm/snap.h). Returns 0 or -errno (-EINVAL for a size mem_init refuses).
 */
int mem_init_file(struct mem *m, uint64_t size, int fd, uint64_t off);

/*
 * Backs the pages of [gpa, gpa + len) (rounded out to 4 KiB) with host
 * memory now, contents unchanged. Only a boot-time hint: a shadow MMU (PVM)
 * maps a guest page whose host page is absent with one fault each, but
 * maps up to 8 present neighbours with the fault of one of them. Returns 0
 * or -errno (-EINVAL when the range is not inside guest RAM); callers may
 * ignore failure.
 */
int mem_populate(const struct mem *m, uint64_t gpa, uint64_t len);

/* Unmaps guest RAM; m may be zeroed or already freed. */
void mem_free(struct mem *m);

/*
 * The only way to reach guest memory: host pointer to [gpa, gpa + len), or
 * NULL when any byte of it lies outside guest RAM or gpa + len wraps. len 0
 * is valid for any gpa <= size (returns a pointer that must not be
 * dereferenced).
 */
void *mem_ptr(const struct mem *m, uint64_t gpa, uint64_t len);

#endif
