/* sys_proc.c: the process's place among processes: groups, process group and session, prctl, and waits for children that cannot exist. */
#include <linux/errno.h>
#include <linux/prctl.h>
#include <string.h>

#include "k.h"
#include "kmalloc.h"
#include "linux_abi.h"
#include "sys.h"
#include "thread.h"

/*
 * The app is process 1 of its own PID namespace, as a container's init:
 * the leader of process group 1 and session 1, root with every capability,
 * and without children (no fork). Thread ids name the same process, as
 * Linux's find_task_by_vpid finds a thread by its tid.
 */
#define PROC_PID 1
#define PROC_NGROUPS_MAX 65536 /* Linux's NGROUPS_MAX */
#define PROC_TIMERSLACK_NS 50000ul

/* wait4/waitid options (<linux/wait.h>, which pulls in more than its constants). */
#define PROC_WNOHANG 0x1
#define PROC_WUNTRACED 0x2
#define PROC_WEXITED 0x4
#define PROC_WCONTINUED 0x8
#define PROC_WNOWAIT 0x01000000
#define PROC_WNOTHREAD 0x20000000
#define PROC_WALL 0x40000000
#define PROC_WCLONE 0x80000000
#define PROC_P_ALL 0
#define PROC_P_PID 1
#define PROC_P_PGID 2
#define PROC_P_PIDFD 3

/* Supplementary groups, sorted as Linux's set_groups keeps them; none at first, as for the kernel's init. */
static uint32_t *proc_groups;
static int proc_ngroups;

static bool proc_dumpable = true, proc_keepcaps, proc_subreaper;
static unsigned long proc_timerslack = PROC_TIMERSLACK_NS;

/* pid as a process (0: the caller): true for our own pid and every thread id. */
static bool proc_is_us(long pid)
{
	return pid == 0 || (pid > 0 && (int)pid == pid && k_thr_exists((int)pid));
}

long sys_getgroups(SYS_ARGS)
{
	uint32_t *list = (uint32_t *)a1;
	int size = (int)a0;

	if (size < 0)
		return -EINVAL;
	if (size == 0)
		return proc_ngroups;
	if (size < proc_ngroups)
		return -EINVAL;
	if (proc_ngroups && !k_user_ok(list, (size_t)proc_ngroups * sizeof(*list)))
		return -EFAULT;
	memcpy(list, proc_groups, (size_t)proc_ngroups * sizeof(*list));
	return proc_ngroups;
}

/*
 * The one identity is root's (getuid and friends say 0), and ukvm has no other to switch to: setuid and
 * setgid keep root (0, what memcached -u root asks for) and refuse any other id with -EPERM rather than
 * pretend to drop privileges; -1 is no id at all (Linux: -EINVAL).
 */
static long proc_setid(long id)
{
	if ((uint32_t)id == UINT32_MAX)
		return -EINVAL;
	return (uint32_t)id == 0 ? 0 : -EPERM;
}

long sys_setuid(SYS_ARGS) { return proc_setid(a0); }
long sys_setgid(SYS_ARGS) { return proc_setid(a0); }

long sys_setgroups(SYS_ARGS)
{
	const uint32_t *list = (const uint32_t *)a1;
	int size = (int)a0;
	uint32_t *g = NULL;

	if ((long)size != a0 || size < 0 || size > PROC_NGROUPS_MAX)
		return -EINVAL;
	if (size) {
		if (!k_user_ok(list, (size_t)size * sizeof(*list)))
			return -EFAULT;
		g = k_malloc((size_t)size * sizeof(*g));
		if (!g)
			return -ENOMEM;
		memcpy(g, list, (size_t)size * sizeof(*g));
		/* Insertion sort: lists are short, and the app's own bad luck when they are not. */
		for (int i = 1; i < size; i++) {
			uint32_t v = g[i];
			int j = i;
			for (; j > 0 && g[j - 1] > v; j--)
				g[j] = g[j - 1];
			g[j] = v;
		}
	}
	k_free(proc_groups);
	proc_groups = g;
	proc_ngroups = size;
	return 0;
}

long sys_getpgrp(SYS_ARGS) { return PROC_PID; }

long sys_getpgid(SYS_ARGS)
{
	return proc_is_us(a0) ? PROC_PID : -ESRCH;
}

long sys_getsid(SYS_ARGS)
{
	return proc_is_us(a0) ? PROC_PID : -ESRCH;
}

/* Linux's order of checks: a session leader never changes its group; a thread other than the leader is EINVAL. */
long sys_setpgid(SYS_ARGS)
{
	long pid = a0 ? a0 : PROC_PID, pgid = a1 ? a1 : pid;

	if ((int)pgid != pgid || pgid < 0)
		return -EINVAL;
	if (!proc_is_us(pid))
		return -ESRCH;
	if (pid != PROC_PID)
		return -EINVAL;
	return -EPERM;
}

/* Already the leader of its session and of the process group named after it. */
long sys_setsid(SYS_ARGS) { return -EPERM; }

/* Linux's strncpy_from_user of at most 15 bytes, then NUL: -EFAULT when a byte it needs is not readable. */
static long proc_set_name(const char *src)
{
	struct k_thr_attr *at = k_thr_attr(0);
	char name[K_THR_COMM_LEN];
	int n = 0;

	for (; n < K_THR_COMM_LEN - 1; n++) {
		if (!k_user_ok(src + n, 1))
			return -EFAULT;
		if (!(name[n] = src[n]))
			break;
	}
	name[n] = 0;
	memcpy(at->comm, name, sizeof(name));
	return 0;
}

static long proc_put_int(long uaddr, int v)
{
	int *p = (int *)uaddr;

	if (!k_user_ok(p, sizeof(*p)))
		return -EFAULT;
	*p = v;
	return 0;
}

/* prctl(option, arg2..arg5): the options programs use to name threads and query their state; the rest EINVAL as on a kernel without them. */
long sys_prctl(SYS_ARGS)
{
	struct k_thr_attr *at = k_thr_attr(0);

	switch (a0) {
	case PR_SET_PDEATHSIG:
		if ((unsigned long)a1 > LX_NSIG)
			return -EINVAL;
		at->pdeathsig = (int)a1;
		return 0;
	case PR_GET_PDEATHSIG:
		return proc_put_int(a1, at->pdeathsig);
	case PR_GET_DUMPABLE:
		return proc_dumpable;
	case PR_SET_DUMPABLE:
		if (a1 != 0 && a1 != 1)
			return -EINVAL;
		proc_dumpable = a1;
		return 0;
	case PR_GET_KEEPCAPS:
		return proc_keepcaps;
	case PR_SET_KEEPCAPS:
		if (a1 != 0 && a1 != 1)
			return -EINVAL;
		proc_keepcaps = a1;
		return 0;
	case PR_SET_NAME:
		return proc_set_name((const char *)a1);
	case PR_GET_NAME: {
		char *dst = (char *)a1;
		if (!k_user_ok(dst, K_THR_COMM_LEN))
			return -EFAULT;
		memcpy(dst, at->comm, K_THR_COMM_LEN);
		return 0;
	}
	case PR_GET_TIMERSLACK:
		return (long)proc_timerslack;
	case PR_SET_TIMERSLACK:
		/* The wait core wakes at the deadline itself; the slack is only remembered. */
		proc_timerslack = a1 <= 0 ? PROC_TIMERSLACK_NS : (unsigned long)a1;
		return 0;
	case PR_SET_CHILD_SUBREAPER:
		proc_subreaper = a1 != 0;
		return 0;
	case PR_GET_CHILD_SUBREAPER:
		return proc_put_int(a1, proc_subreaper);
	case PR_SET_NO_NEW_PRIVS:
		if (a1 != 1 || a2 || a3 || a4)
			return -EINVAL;
		at->no_new_privs = true;
		return 0;
	case PR_GET_NO_NEW_PRIVS:
		if (a1 || a2 || a3 || a4)
			return -EINVAL;
		return at->no_new_privs;
	default:
		return -EINVAL;
	}
}

/* wait4(pid, status, options, rusage): Linux's argument checks, then no child to wait for. */
long sys_wait4(SYS_ARGS)
{
	if ((unsigned long)a2 & ~(unsigned long)(PROC_WNOHANG | PROC_WUNTRACED | PROC_WCONTINUED | PROC_WNOTHREAD |
						  PROC_WCLONE | PROC_WALL))
		return -EINVAL;
	if ((int)a0 == INT32_MIN)
		return -ESRCH;
	return -ECHILD;
}

/* waitid(which, id, infop, options, rusage): Linux's argument checks, then no child; pidfds do not exist here. */
long sys_waitid(SYS_ARGS)
{
	unsigned long opt = (unsigned long)a3;

	if (opt & ~(unsigned long)(PROC_WNOHANG | PROC_WNOWAIT | PROC_WEXITED | PROC_WUNTRACED | PROC_WCONTINUED |
				   PROC_WNOTHREAD | PROC_WCLONE | PROC_WALL))
		return -EINVAL;
	if (!(opt & (PROC_WEXITED | PROC_WUNTRACED | PROC_WCONTINUED)))
		return -EINVAL;
	switch (a0) {
	case PROC_P_ALL:
		break;
	case PROC_P_PID:
		if ((int)a1 <= 0)
			return -EINVAL;
		break;
	case PROC_P_PGID:
		if ((int)a1 < 0)
			return -EINVAL;
		break;
	case PROC_P_PIDFD:
		return (int)a1 < 0 ? -EINVAL : -EBADF;
	default:
		return -EINVAL;
	}
	return -ECHILD;
}
