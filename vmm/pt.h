/* pt.h: builds the guest's 4-level page tables described in proto/ukvm_abi.h. */
#ifndef VMM_PT_H
#define VMM_PT_H

#include <stddef.h>
#include <stdint.h>

#define PT_P  0x001ull /* present */
#define PT_RW 0x002ull
#define PT_US 0x004ull /* user: every entry has it (ABI) */
#define PT_PCD 0x010ull /* cache disable: device registers */
#define PT_A  0x020ull /* accessed */
#define PT_D  0x040ull /* dirty (leaf entries) */
#define PT_PS 0x080ull /* 2 MiB page in a PD entry */
#define PT_ADDR_MASK 0x000ffffffffff000ull

/*
 * Builds the tables into buf, which stands for guest physical
 * [UKVM_PT_GPA, UKVM_PT_END) and must be that long and zeroed. Maps RAM
 * [0, mem_size) identity and the first min(mem_size, 2 GiB) again at
 * UKVM_KERNEL_VBASE; page 0 not present, 4 KiB pages in the first 2 MiB,
 * 2 MiB pages above, PML4 slot 256 unused, never 1 GiB pages; also the
 * virtio-mmio window [UKVM_MMIO_BASE, +2 MiB) identity as one 2 MiB page
 * (PCD set). The page after the PML4 holds an identical copy (the user
 * PML4 of PV mode's KPTI pair). guard != 0: the 2 MiB page at guard is left
 * not present (the app's stack guard, UKVM_FDT_STACK_GUARD in proto/
 * ukvm_abi.h). Writes nothing outside buf. Returns 0 and the CR3 value
 * (guest physical address of the PML4), or -EINVAL when
 * ukvm_mem_size_invalid(mem_size) (proto/ukvm_abi.h), buflen is wrong or
 * guard is not a 2 MiB-aligned page of RAM above the first 2 MiB.
 */
int pt_build(void *buf, size_t buflen, uint64_t mem_size, uint64_t guard, uint64_t *cr3);

#endif
