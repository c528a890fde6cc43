/* vdso.c: the guest's vDSO: clock_gettime/gettimeofday/time from the TSC at CPL3, no SYSCALL (~20 us each on PVM). */
#include <stddef.h>
#include <stdint.h>

#include "ukvm_abi.h"
#include "vdso.h"

/* Linux clock ids (uapi/linux/time.h) that are the TSC clock in the guest kernel (guest/sys/sys_time.c). */
#define VDSO_CLOCK_REALTIME 0
#define VDSO_CLOCK_MONOTONIC 1
#define VDSO_CLOCK_MONOTONIC_RAW 4
#define VDSO_CLOCK_REALTIME_COARSE 5
#define VDSO_CLOCK_MONOTONIC_COARSE 6
#define VDSO_CLOCK_BOOTTIME 7

#define VDSO_NR_clock_gettime 228
#define VDSO_NR_gettimeofday 96
#define VDSO_NR_time 201

/* Defined by vdso.lds 4096 bytes below this image: position independent, no relocation. */
extern struct k_vvar vdso_vvar __attribute__((visibility("hidden")));

struct vdso_timespec {
	long tv_sec, tv_nsec;
};
struct vdso_timeval {
	long tv_sec, tv_usec;
};

static inline uint64_t vdso_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* The same arithmetic as k_clock_monotonic_ns (guest/kernel/clock.c). */
static inline uint64_t vdso_mono_ns(void)
{
	const volatile struct k_vvar *v = &vdso_vvar;
	uint64_t d = vdso_rdtsc() - v->tsc0;
	return (uint64_t)(((unsigned __int128)d * v->mult) >> 32);
}

/*
 * A restore the kernel has not applied yet (proto/ukvm_abi.h, "Restore
 * block": the VM resumed from a snapshot taken running): boot_ns is the
 * snapshot's, so the realtime clocks take the syscall, which applies it.
 * The monotonic ones need not: they run on from the restored TSC. The
 * identity address (the app cannot read the kernel alias in pvm-pv mode),
 * in the boot block's group, which the boot stack touched there: no
 * shadow-MMU fault of its own (the clock app: 16 / 17 faults, as before).
 */
static inline int vdso_restore_pending(void)
{
	const volatile uint64_t *gen = (const volatile uint64_t *)(uintptr_t)(UKVM_RESTORE_GPA + offsetof(struct ukvm_restore, gen));
	return *gen != vdso_vvar.restore_gen;
}

static long vdso_syscall2(long nr, long a0, long a1)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a0), "S"(a1) : "rcx", "r11", "memory");
	return ret;
}

/*
 * Returns 0 or -errno like the syscall (musl treats -EINVAL from here as
 * final and anything else nonzero as "use the syscall"). Clocks the kernel
 * computes differently (CPU-time clocks, unknown ids) and bad pointers go
 * to the real syscall, which knows the rules (and returns -EFAULT).
 */
int __vdso_clock_gettime(int clk, struct vdso_timespec *ts)
{
	uint64_t ns;
	switch (clk) {
	case VDSO_CLOCK_REALTIME:
	case VDSO_CLOCK_REALTIME_COARSE:
		if (vdso_restore_pending())
			return (int)vdso_syscall2(VDSO_NR_clock_gettime, clk, (long)ts);
		ns = vdso_vvar.boot_ns + vdso_mono_ns();
		break;
	case VDSO_CLOCK_MONOTONIC:
	case VDSO_CLOCK_MONOTONIC_RAW:
	case VDSO_CLOCK_MONOTONIC_COARSE:
	case VDSO_CLOCK_BOOTTIME:
		ns = vdso_mono_ns();
		break;
	default:
		return (int)vdso_syscall2(VDSO_NR_clock_gettime, clk, (long)ts);
	}
	if (!ts)
		return (int)vdso_syscall2(VDSO_NR_clock_gettime, clk, (long)ts);
	ts->tv_sec = (long)(ns / 1000000000u);
	ts->tv_nsec = (long)(ns % 1000000000u);
	return 0;
}

int __vdso_gettimeofday(struct vdso_timeval *tv, void *tz)
{
	if (!tv || tz || vdso_restore_pending())
		return (int)vdso_syscall2(VDSO_NR_gettimeofday, (long)tv, (long)tz);
	uint64_t ns = vdso_vvar.boot_ns + vdso_mono_ns();
	tv->tv_sec = (long)(ns / 1000000000u);
	tv->tv_usec = (long)(ns % 1000000000u / 1000u);
	return 0;
}

long __vdso_time(long *t)
{
	if (vdso_restore_pending())
		return vdso_syscall2(VDSO_NR_time, (long)t, 0);
	long s = (long)((vdso_vvar.boot_ns + vdso_mono_ns()) / 1000000000u);
	if (t)
		*t = s;
	return s;
}

/* The names Linux's x86-64 vDSO also exports. */
int clock_gettime(int, struct vdso_timespec *) __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct vdso_timeval *, void *) __attribute__((weak, alias("__vdso_gettimeofday")));
long time(long *) __attribute__((weak, alias("__vdso_time")));
