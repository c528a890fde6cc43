/* bootmem.c: backs ahead the guest pages its boot touches outside the image, so each 32 KiB group costs one fault. */
#include "bootmem.h"

#include "ukvm_abi.h"

#define BOOTMEM_BLOCK (32ull << 10) /* one group of the shadow MMU's prefetch */

uint64_t bootmem_stack_guard(uint64_t mem_size, const struct loader_image *img)
{
	if (!(img->note.flags & UKVM_NOTE_STACK_GUARD) || mem_size < UKVM_STACK_GUARD_MIN_MEM)
		return 0;
	uint64_t lo = mem_size - UKVM_STACK_GUARD_TOP - UKVM_STACK_GUARD_ROOM - UKVM_STACK_GUARD_SIZE;
	uint64_t hi = mem_size - UKVM_STACK_GUARD_TOP;
	for (unsigned i = 0; i < img->nsegs; i++) {
		/* loader_check kept every segment inside RAM: no wrap. */
		uint64_t s = img->segs[i].paddr, e = s + img->segs[i].memsz;
		if (s < hi && lo < e)
			return 0;
	}
	return lo;
}

/*
 * A guest's first touch of a page costs a shadow-MMU fault (PVM: ~10-25 us,
 * the exit being the cost) that maps the aligned 32 KiB group around it,
 * but only the neighbours whose host pages are present: KVM's prefetch
 * takes present pages only. Measured with the kvmmmu tracepoints on hello:
 * - the kernel's first page allocations (kmalloc pages from the top of RAM
 *   down) were 7 faults, one per page, and are one;
 * - the boot block (proto/ukvm_abi.h): the boot stack's top, the FDT and
 *   the console buffer's header in one group, one fault instead of three;
 *   backed whole, because the console buffer's header is read before it is
 *   written (unbacked, the read mapped the host's zero page and the write
 *   faulted again) and the stack's top page is the kernel's first write.
 */
void bootmem_populate(const struct mem *m)
{
	(void)mem_populate(m, UKVM_BOOT_BLOCK, BOOTMEM_BLOCK);
	if (m->size >= BOOTMEM_TOP)
		(void)mem_populate(m, m->size - BOOTMEM_TOP, BOOTMEM_TOP);
}
