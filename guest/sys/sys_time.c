/* sys_time.c: clocks, CPU usage, sleeps and futexes (waits block the calling thread; guest/kernel/thread.c runs the others). */
#include <linux/errno.h>
#include <string.h>

#include "futex.h"
#include "k.h"
#include "linux_abi.h"
#include "sig.h"
#include "sys.h"
#include "thread.h"

#define TIME_NS 1000000000ull
/* Deadlines are capped well below UINT64_MAX, which the WAIT hypercall reads as "no deadline". */
#define TIME_FOREVER K_THR_FOREVER

/* The clock's current value in ns, or -EINVAL for a clock Linux has but we do not (or no clock at all). */
static int64_t time_now(long clk)
{
	switch (clk) {
	case LX_CLOCK_REALTIME:
	case LX_CLOCK_REALTIME_COARSE:
		return (int64_t)k_clock_realtime_ns();
	case LX_CLOCK_MONOTONIC:
	case LX_CLOCK_MONOTONIC_RAW:
	case LX_CLOCK_MONOTONIC_COARSE:
	case LX_CLOCK_BOOTTIME:
	/* One vCPU, one app, no other work: its CPU time is the time since boot. */
	case LX_CLOCK_PROCESS_CPUTIME_ID:
	case LX_CLOCK_THREAD_CPUTIME_ID:
		return (int64_t)k_clock_monotonic_ns();
	default:
		return -EINVAL;
	}
}

/* Reads an app timespec into ns: -EFAULT for a bad pointer, -EINVAL for tv_sec < 0 or tv_nsec outside [0, 1e9). */
static int64_t time_read_ts(const struct lx_timespec *ts)
{
	if (!k_user_ok(ts, sizeof(*ts)))
		return -EFAULT;
	long sec = ts->tv_sec, nsec = ts->tv_nsec;
	if (sec < 0 || nsec < 0 || (uint64_t)nsec >= TIME_NS)
		return -EINVAL;
	if ((uint64_t)sec >= (TIME_FOREVER - (uint64_t)nsec) / TIME_NS)
		return (int64_t)TIME_FOREVER;
	return (int64_t)((uint64_t)sec * TIME_NS + (uint64_t)nsec);
}

static void time_to_ts(uint64_t ns, struct lx_timespec *ts)
{
	ts->tv_sec = (long)(ns / TIME_NS);
	ts->tv_nsec = (long)(ns % TIME_NS);
}

/* now + rel without overflow. */
static uint64_t time_after(uint64_t now, uint64_t rel)
{
	return rel >= TIME_FOREVER - now ? TIME_FOREVER : now + rel;
}

long sys_clock_gettime(SYS_ARGS)
{
	struct lx_timespec *tp = (struct lx_timespec *)a1;
	int64_t now = time_now(a0);

	if (now < 0)
		return now;
	if (!k_user_ok(tp, sizeof(*tp)))
		return -EFAULT;
	time_to_ts((uint64_t)now, tp);
	return 0;
}

long sys_clock_getres(SYS_ARGS)
{
	struct lx_timespec *res = (struct lx_timespec *)a1;

	if (time_now(a0) < 0)
		return -EINVAL;
	if (!res)
		return 0;
	if (!k_user_ok(res, sizeof(*res)))
		return -EFAULT;
	/* The TSC clock resolves nanoseconds; the coarse clocks are the same clock here. */
	res->tv_sec = 0;
	res->tv_nsec = 1;
	return 0;
}

long sys_gettimeofday(SYS_ARGS)
{
	struct lx_timeval *tv = (struct lx_timeval *)a0;
	struct lx_timezone *tz = (struct lx_timezone *)a1;

	if (tv && !k_user_ok(tv, sizeof(*tv)))
		return -EFAULT;
	if (tz && !k_user_ok(tz, sizeof(*tz)))
		return -EFAULT;
	if (tv) {
		uint64_t now = k_clock_realtime_ns();
		tv->tv_sec = (long)(now / TIME_NS);
		tv->tv_usec = (long)(now % TIME_NS / 1000);
	}
	if (tz) {
		/* The guest lives in UTC. */
		tz->tz_minuteswest = 0;
		tz->tz_dsttime = 0;
	}
	return 0;
}

long sys_time(SYS_ARGS)
{
	long *tloc = (long *)a0;
	long t = (long)(k_clock_realtime_ns() / TIME_NS);

	if (tloc) {
		if (!k_user_ok(tloc, sizeof(*tloc)))
			return -EFAULT;
		*tloc = t;
	}
	return t;
}

/*
 * getrusage(who, ru). CPU time is what CLOCK_PROCESS_CPUTIME_ID reports (the
 * time since boot: the vCPU runs nothing else), all of it user time; there
 * are no children. Counters the kernel does not keep are zero, as Linux
 * reports the ones it does not maintain.
 */
long sys_getrusage(SYS_ARGS)
{
	struct lx_rusage *ru = (struct lx_rusage *)a1;

	if (a0 != LX_RUSAGE_SELF && a0 != LX_RUSAGE_CHILDREN && a0 != LX_RUSAGE_THREAD)
		return -EINVAL;
	if (!k_user_ok(ru, sizeof(*ru)))
		return -EFAULT;
	memset(ru, 0, sizeof(*ru));
	if (a0 == LX_RUSAGE_CHILDREN)
		return 0;
	uint64_t ns = k_clock_monotonic_ns(), total = 0, free = 0;
	ru->ru_utime.tv_sec = (long)(ns / TIME_NS);
	ru->ru_utime.tv_usec = (long)(ns % TIME_NS / 1000);
	k_pages_stats(&total, &free);
	ru->ru_maxrss = (long)((total - free) >> 10); /* KiB in use now: a lower bound of the peak */
	return 0;
}

/* Sleeps on clock clk until abs (absolute) or for req ns (relative); other threads run meanwhile; a signal for this thread interrupts it. */
static long time_sleep(long clk, bool abs, const struct lx_timespec *req, struct lx_timespec *rem)
{
	int64_t ns = time_read_ts(req);
	int64_t now = time_now(clk);

	if (ns < 0)
		return ns;
	if (now < 0)
		return now;
	uint64_t mono = k_clock_monotonic_ns();
	uint64_t rel = !abs ? (uint64_t)ns : (ns > now ? (uint64_t)(ns - now) : 0);
	/* An absolute REALTIME deadline becomes a monotonic one now: the guest's wall clock never jumps. */
	uint64_t deadline = time_after(mono, rel);
	long rc = k_thr_wait(NULL, 0, deadline);
	uint64_t left = 0;
	if (rc == -EINTR) {
		uint64_t t = k_clock_monotonic_ns();
		left = t < deadline ? deadline - t : 0;
	}
	/* Linux writes rem only on EINTR; zero otherwise is what it would say. */
	if (rem && !abs && k_user_ok(rem, sizeof(*rem)))
		time_to_ts(left, rem);
	return rc == -EINTR ? -EINTR : 0;
}

long sys_nanosleep(SYS_ARGS)
{
	return time_sleep(LX_CLOCK_MONOTONIC, false, (const struct lx_timespec *)a0, (struct lx_timespec *)a1);
}

long sys_clock_nanosleep(SYS_ARGS)
{
	/* Linux refuses to sleep on a thread's CPU clock; the others it sleeps on are accepted here. */
	if (a0 == LX_CLOCK_THREAD_CPUTIME_ID)
		return -EINVAL;
	if (a0 != LX_CLOCK_REALTIME && a0 != LX_CLOCK_MONOTONIC && a0 != LX_CLOCK_BOOTTIME &&
	    a0 != LX_CLOCK_PROCESS_CPUTIME_ID)
		return -EINVAL;
	return time_sleep(a0, a1 & LX_TIMER_ABSTIME, (const struct lx_timespec *)a2, (struct lx_timespec *)a3);
}

/*
 * futex(uaddr, op, val, timeout, uaddr2, val3). One address space: private
 * and shared futexes are the same, keyed by the word's address. Checking
 * the word and queueing the caller is atomic because threads only switch
 * inside k_thr_wait. A wait nobody can ever end (every thread blocked with
 * no timeout) stops the app with a deadlock message and SIGABRT's status
 * rather than hang (guest/kernel/thread.c).
 */
long sys_futex(SYS_ARGS)
{
	uint32_t *uaddr = (uint32_t *)a0;
	long op = a1 & ~(long)(LX_FUTEX_PRIVATE_FLAG | LX_FUTEX_CLOCK_REALTIME);
	bool realtime = a1 & LX_FUTEX_CLOCK_REALTIME;
	const struct lx_timespec *to = (const struct lx_timespec *)a3;
	int nmove = (int)a3; /* the requeue forms pass a count in the timeout slot */

	/* Linux: futex words are 4-byte aligned u32s. */
	if ((uintptr_t)uaddr & 3)
		return -EINVAL;
	/* Linux: FUTEX_CLOCK_REALTIME only with the absolute-deadline forms (FUTEX_LOCK_PI is realtime already). */
	if (realtime && op != LX_FUTEX_WAIT && op != LX_FUTEX_WAIT_BITSET && op != LX_FUTEX_LOCK_PI2)
		return -ENOSYS;
	switch (op) {
	case LX_FUTEX_LOCK_PI:
	case LX_FUTEX_LOCK_PI2: {
		/* An absolute deadline: CLOCK_REALTIME for LOCK_PI, CLOCK_MONOTONIC for LOCK_PI2 unless told otherwise. */
		uint64_t deadline = TIME_FOREVER;
		if (to) {
			int64_t ns = time_read_ts(to);
			if (ns < 0)
				return ns;
			int64_t now = time_now(op == LX_FUTEX_LOCK_PI || realtime ? LX_CLOCK_REALTIME : LX_CLOCK_MONOTONIC);
			deadline = time_after(k_clock_monotonic_ns(), ns > now ? (uint64_t)(ns - now) : 0);
		}
		return k_futex_lock_pi(uaddr, deadline, false);
	}
	case LX_FUTEX_TRYLOCK_PI:
		return k_futex_lock_pi(uaddr, 0, true);
	case LX_FUTEX_UNLOCK_PI:
		return k_futex_unlock_pi(uaddr);
	case LX_FUTEX_WAIT:
	case LX_FUTEX_WAIT_BITSET: {
		uint32_t bits = op == LX_FUTEX_WAIT ? ~0u : (uint32_t)a5;
		if (bits == 0)
			return -EINVAL;
		/* Linux accepts FUTEX_CLOCK_REALTIME only with the absolute-deadline forms. */
		if (op == LX_FUTEX_WAIT && realtime)
			return -ENOSYS;
		if (!k_user_ok(uaddr, sizeof(*uaddr)))
			return -EFAULT;
		uint64_t deadline = TIME_FOREVER;
		if (to) {
			int64_t ns = time_read_ts(to);
			if (ns < 0)
				return ns;
			uint64_t mono = k_clock_monotonic_ns();
			if (op == LX_FUTEX_WAIT) {
				deadline = time_after(mono, (uint64_t)ns);
			} else {
				int64_t now = time_now(realtime ? LX_CLOCK_REALTIME : LX_CLOCK_MONOTONIC);
				deadline = time_after(mono, ns > now ? (uint64_t)(ns - now) : 0);
			}
		}
		if (__atomic_load_n(uaddr, __ATOMIC_SEQ_CST) != (uint32_t)a2)
			return -EAGAIN;
		long rc = k_thr_wait(uaddr, bits, deadline);
		/* Linux restarts an untimed wait (ERESTARTSYS); a timed one ends with EINTR when a handler ran. */
		return rc == -EINTR && !to ? -K_ERESTARTSYS : rc;
	}
	case LX_FUTEX_WAKE:
	case LX_FUTEX_WAKE_BITSET: {
		uint32_t bits = op == LX_FUTEX_WAKE ? ~0u : (uint32_t)a5;
		if (bits == 0)
			return -EINVAL;
		/* val is an int: Linux wakes at least one waiter even for a count of 0 or below. */
		int n = (int)(uint32_t)a2;
		return k_thr_wake(uaddr, bits, n <= 0 ? 1 : n);
	}
	case LX_FUTEX_CMP_REQUEUE:
		if (!k_user_ok(uaddr, sizeof(*uaddr)))
			return -EFAULT;
		if (__atomic_load_n(uaddr, __ATOMIC_SEQ_CST) != (uint32_t)a5)
			return -EAGAIN;
		/* fall through */
	case LX_FUTEX_REQUEUE:
		if ((uintptr_t)a4 & 3)
			return -EINVAL;
		if ((int)a2 < 0 || nmove < 0)
			return -EINVAL;
		return k_thr_requeue(uaddr, (const void *)a4, (int)a2, nmove);
	default:
		return -ENOSYS;
	}
}
