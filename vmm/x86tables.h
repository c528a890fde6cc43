/* x86tables.h: the GDT, TSS (with its I/O bitmap) and IDT the monitor writes into guest RAM. */
#ifndef VMM_X86TABLES_H
#define VMM_X86TABLES_H

#include <stdbool.h>
#include <stdint.h>

#include "mem.h"

#define X86_GDT_LIMIT (10 * 8 - 1)         /* PV layout: TSS descriptor at 0x40 (base: at 0x30) */
#define X86_IDT_LIMIT (256 * 16 - 1)
#define X86_TSS_LIMIT (104 + 8192)         /* TSS, I/O bitmap, and the trailing 0xff byte */

/*
 * Writes GDT (UKVM_GDT_GPA), TSS (UKVM_TSS_GPA; RSP0 = IST1 =
 * UKVM_KERNEL_VBASE + UKVM_EXC_STACK_TOP; the I/O bitmap opens only
 * 0x3f8..0x3ff and the hypercall ports) and IDT (UKVM_IDT_GPA; every vector
 * a DPL0 IST1 interrupt gate to exc_stubs + v * UKVM_EXC_STUB_SIZE) into
 * guest RAM. pv: the PV mode layout of proto/ukvm_abi.h (GDT selectors,
 * TSS descriptor at UKVM_PV_SEL_TSS with the kernel-alias base, gates on
 * UKVM_PV_SEL_KCODE). Returns 0 or -EFAULT if RAM is too small (cannot
 * happen above UKVM_MEM_MIN).
 */
int x86_tables_build(const struct mem *m, uint64_t exc_stubs, bool pv);

/* True when the TSS I/O bitmap in guest RAM lets CPL3 use port. For tests and asserts. */
int x86_port_open(const struct mem *m, uint16_t port);

#endif
