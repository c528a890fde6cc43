/* vdso.h: the contract between the guest kernel and its vDSO (guest/vdso/): the clock page the vDSO reads. */
#ifndef GUEST_VDSO_H
#define GUEST_VDSO_H

#include <stdint.h>

/*
 * The page right before the vDSO image (guest/arch/x86_64/vdso_blob.S puts
 * them together; guest/vdso/vdso.lds has the vDSO find it 4096 bytes below
 * its own start). The kernel writes it in k_clock_init, before the app runs,
 * and again in k_clock_restored, inside the scheduler's WAIT while no app
 * code runs, and in k_clock_set_realtime (boot_ns alone, one store) and
 * k_restore_check (restore_gen after it): the vDSO reads it without any
 * sequence lock.
 *   monotonic ns = ((rdtsc - tsc0) * mult) >> 32;  realtime = boot_ns + monotonic.
 * The app shares the address space and could scribble here; that only
 * breaks its own clock (the kernel keeps its own copy for deadlines).
 */
struct k_vvar {
	uint64_t tsc0;
	uint64_t mult;
	uint64_t boot_ns;
	/*
	 * The restore block's gen (proto/ukvm_abi.h) boot_ns is good for: a
	 * vDSO realtime read that finds the block's gen different takes the
	 * syscall instead, which applies the restore (guest/kernel/restore.c).
	 */
	uint64_t restore_gen;
};

/* The vDSO image (an ELF shared object linked at 0) and its clock page; AT_SYSINFO_EHDR points at k_vdso_start. */
extern struct k_vvar k_vvar;
extern const unsigned char k_vdso_start[], k_vdso_end[];

#endif
