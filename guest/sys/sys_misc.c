/* sys_misc.c: process lifetime, identity, uname, scheduling, resource limits, sysinfo and getrandom syscalls. */
#include <linux/errno.h>
#include <string.h>

#include "fs.h"
#include "k.h"
#include "linux_abi.h"
#include "sys.h"
#include "thread.h"

/* One process, one thread: Linux's numbers for the only task of a PID namespace. */
#define MISC_PID 1

/* Linux caps one getrandom call at this many bytes (a short read, not an error). */
#define MISC_GETRANDOM_MAX 33554431L

/* Linux's sysctl fs.nr_open: RLIMIT_NOFILE's hard limit may not exceed it. */
#define MISC_NR_OPEN (1024 * 1024)

/* One thread ends (the VM only with the last one); exit_group ends them all. */
long sys_exit(SYS_ARGS)
{
	k_thr_exit((int)a0); /* the monitor keeps the low 8 bits (ukvm_exit_status) */
}

long sys_exit_group(SYS_ARGS)
{
	k_exit((int)a0);
}

long sys_set_tid_address(SYS_ARGS)
{
	k_thr_set_clear_tid((uint64_t)a0);
	return k_thr_tid();
}

/* The calling thread's robust futex list, released when it exits (guest/sys/futex_pi.c). */
long sys_set_robust_list(SYS_ARGS)
{
	/* Linux insists on its own struct robust_list_head size (3 words). */
	if (a1 != 3 * (long)sizeof(long))
		return -EINVAL;
	struct k_thr_attr *at = k_thr_attr(0);
	at->robust_head = (uint64_t)a0;
	at->robust_len = (uint64_t)a1;
	return 0;
}

/* get_robust_list(tid, head_ptr, len_ptr): tid 0 is the caller. */
long sys_get_robust_list(SYS_ARGS)
{
	uint64_t *head = (uint64_t *)a1, *len = (uint64_t *)a2;
	const struct k_thr_attr *at = (int)a0 == a0 && a0 >= 0 ? k_thr_attr((int)a0) : NULL;

	if (!at)
		return -ESRCH;
	if (!k_user_ok(len, sizeof(*len)))
		return -EFAULT;
	*len = 3 * sizeof(long); /* Linux reports its structure's size whatever was set */
	if (!k_user_ok(head, sizeof(*head)))
		return -EFAULT;
	*head = at->robust_head;
	return 0;
}

static void misc_setstr(char *dst, const char *s)
{
	size_t n = strlen(s);

	memcpy(dst, s, n + 1);
}

long sys_uname(SYS_ARGS)
{
	struct lx_utsname *u = (struct lx_utsname *)a0;

	if (!k_user_ok(u, sizeof(*u)))
		return -EFAULT;
	memset(u, 0, sizeof(*u));
	/* Programs parse these: sysname must be "Linux" and release must look like a Linux version. */
	misc_setstr(u->sysname, "Linux");
	misc_setstr(u->nodename, "ukvm");
	misc_setstr(u->release, "6.1.0-ukvm");
	misc_setstr(u->version, "#1 ukvm");
	misc_setstr(u->machine, "x86_64");
	misc_setstr(u->domainname, "(none)");
	return 0;
}

/*
 * No restartable sequences: -ENOSYS, what Linux built without CONFIG_RSEQ
 * answers. glibc (2.35 on) registers an rseq area in every thread it starts
 * and carries on without one (sched_getcpu asks getcpu instead), so the
 * one-time "unimplemented syscall" notice would only be noise on the stderr
 * of every glibc program.
 */
long sys_rseq(SYS_ARGS) { return -ENOSYS; }

long sys_getpid(SYS_ARGS) { return MISC_PID; }
long sys_gettid(SYS_ARGS) { return k_thr_tid(); }
long sys_getppid(SYS_ARGS) { return 0; }
long sys_getuid(SYS_ARGS) { return 0; }
long sys_geteuid(SYS_ARGS) { return 0; }
long sys_getgid(SYS_ARGS) { return 0; }
long sys_getegid(SYS_ARGS) { return 0; }

/* Cooperative threads: the other runnable ones run first (round robin). */
long sys_sched_yield(SYS_ARGS)
{
	k_thr_yield();
	return 0;
}

long sys_sched_getaffinity(SYS_ARGS)
{
	uint64_t *mask = (uint64_t *)a2;

	if (a0 != 0 && !k_thr_exists((int)a0))
		return -ESRCH;
	/* Like Linux: the buffer must hold the kernel's cpumask (8 bytes here) and be a whole number of longs. */
	if (a1 < 8 || (a1 & 7))
		return -EINVAL;
	if (!k_user_ok(mask, 8))
		return -EFAULT;
	*mask = 1; /* CPU 0, the only vCPU */
	return 8;
}

#define MISC_INF LX_RLIM_INFINITY
static struct lx_rlimit misc_rlim[LX_RLIM_NLIMITS] = {
	[LX_RLIMIT_CPU] = { MISC_INF, MISC_INF },
	[LX_RLIMIT_FSIZE] = { MISC_INF, MISC_INF },
	[LX_RLIMIT_DATA] = { MISC_INF, MISC_INF },
	[LX_RLIMIT_STACK] = { 8ull << 20, MISC_INF },
	[LX_RLIMIT_CORE] = { 0, MISC_INF },
	[LX_RLIMIT_RSS] = { MISC_INF, MISC_INF },
	[LX_RLIMIT_NPROC] = { 1, 1 }, /* no fork: this is the only process there will be */
	[LX_RLIMIT_NOFILE] = { 1024, 1024 },
	[LX_RLIMIT_MEMLOCK] = { 8ull << 20, 8ull << 20 },
	[LX_RLIMIT_AS] = { MISC_INF, MISC_INF },
	[LX_RLIMIT_LOCKS] = { MISC_INF, MISC_INF },
	[LX_RLIMIT_SIGPENDING] = { 64, 64 },
	[LX_RLIMIT_MSGQUEUE] = { 819200, 819200 },
	[LX_RLIMIT_NICE] = { 0, 0 },
	[LX_RLIMIT_RTPRIO] = { 0, 0 },
	[LX_RLIMIT_RTTIME] = { MISC_INF, MISC_INF },
};

/*
 * prlimit64(pid, resource, new, old). RLIMIT_NOFILE is enforced (no new fd at or
 * above it, guest/fs/file.c); the others are remembered: the kernel keeps no
 * per-resource accounting. The app is root with every capability, so it
 * may raise a hard limit, as CAP_SYS_RESOURCE allows on Linux.
 */
long sys_prlimit64(SYS_ARGS)
{
	const struct lx_rlimit *nu = (const struct lx_rlimit *)a2;
	struct lx_rlimit *old = (struct lx_rlimit *)a3, want;
	unsigned long res = (unsigned long)a1;

	if (res >= LX_RLIM_NLIMITS)
		return -EINVAL;
	/* Check every pointer before changing anything, so a fault leaves the limit as it was. */
	if (nu) {
		if (!k_user_ok(nu, sizeof(*nu)))
			return -EFAULT;
		want = *nu;
	}
	/* Any thread of the process names it (Linux's find_task_by_vpid). */
	if (a0 != 0 && ((int)a0 != a0 || a0 < 0 || !k_thr_exists((int)a0)))
		return -ESRCH;
	if (nu) {
		if (want.rlim_cur > want.rlim_max)
			return -EINVAL;
		if (res == LX_RLIMIT_NOFILE && want.rlim_max > MISC_NR_OPEN)
			return -EPERM;
	}
	if (old) {
		if (!k_user_ok(old, sizeof(*old)))
			return -EFAULT;
		*old = misc_rlim[res];
	}
	if (nu) {
		misc_rlim[res] = want;
		if (res == LX_RLIMIT_NOFILE)
			fs_fd_set_limit(want.rlim_cur);
	}
	return 0;
}

long sys_setrlimit(SYS_ARGS)
{
	if ((unsigned long)a0 >= LX_RLIM_NLIMITS)
		return -EINVAL;
	if (!a1)
		return -EFAULT;
	return sys_prlimit64(0, a0, a1, 0, 0, 0);
}

long sys_getrlimit(SYS_ARGS)
{
	if (!a1)
		return -EFAULT;
	return sys_prlimit64(0, a0, 0, a1, 0, 0);
}

long sys_sysinfo(SYS_ARGS)
{
	struct lx_sysinfo *si = (struct lx_sysinfo *)a0;
	uint64_t total = 0, free = 0, up = k_clock_monotonic_ns();

	if (!k_user_ok(si, sizeof(*si)))
		return -EFAULT;
	k_pages_stats(&total, &free);
	memset(si, 0, sizeof(*si));
	/* Linux rounds uptime up to the next whole second. */
	si->uptime = (long)(up / 1000000000u + (up % 1000000000u != 0));
	si->totalram = total;
	si->freeram = free;
	si->procs = (unsigned short)k_thr_count(); /* Linux counts threads here */
	si->mem_unit = 1;
	return 0;
}

/*
 * getrandom(buf, len, flags). The CSPRNG is seeded before the app starts,
 * so it never blocks and every flag yields the same quality of output.
 */
long sys_getrandom(SYS_ARGS)
{
	void *buf = (void *)a0;
	size_t len = (size_t)a1;
	unsigned long flags = (unsigned long)a2;

	if (flags & ~(unsigned long)(LX_GRND_NONBLOCK | LX_GRND_RANDOM | LX_GRND_INSECURE))
		return -EINVAL;
	/* Linux: INSECURE and RANDOM contradict each other. */
	if ((flags & LX_GRND_INSECURE) && (flags & LX_GRND_RANDOM))
		return -EINVAL;
	if (len > (size_t)MISC_GETRANDOM_MAX)
		len = (size_t)MISC_GETRANDOM_MAX;
	if (len == 0)
		return 0;
	if (!k_user_ok(buf, len))
		return -EFAULT;
	k_random_bytes(buf, len);
	return (long)len;
}
