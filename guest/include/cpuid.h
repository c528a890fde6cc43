/* cpuid.h: CPUID answers for the kernel (guest/kernel/cpuid.c), from the monitor's table in the FDT when it sent one. */
#ifndef CPUID_H
#define CPUID_H

#include <stdint.h>

/*
 * Uses table (len bytes of UKVM_FDT_CPUID_CELLS big-endian cells per entry:
 * leaf, subleaf, eax, ebx, ecx, edx; from /chosen, validated by boot) for
 * later queries; NULL/0 when the FDT has none. Call once at boot.
 */
void k_cpuid_init(const void *table, int len);

/*
 * CPUID leaf/subleaf: from the monitor's copy when it has the entry (no
 * exit), else by executing CPUID. Bits computed at run time (APIC id,
 * OSXSAVE) may be stale in the copy: do not use them.
 */
void k_cpuid_query(uint32_t leaf, uint32_t sub, uint32_t r[4]);

#endif
