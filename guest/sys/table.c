/* table.c: the Linux x86-64 syscall table and the C side of the SYSCALL entry (guest/arch/x86_64/syscall.S). */
#include <asm-generic/errno.h>
#include <asm/unistd_64.h>

#include "arch.h"
#include "k.h"
#include "sig.h"
#include "sys.h"
#include "thread.h"

#define SYS_NR_MAX 512

static const sys_fn sys_table[SYS_NR_MAX] = {
	[__NR_read] = sys_read, [__NR_write] = sys_write, [__NR_readv] = sys_readv,
	[__NR_writev] = sys_writev, [__NR_pread64] = sys_pread64, [__NR_pwrite64] = sys_pwrite64,
	[__NR_open] = sys_open, [__NR_openat] = sys_openat, [__NR_close] = sys_close,
	[__NR_lseek] = sys_lseek, [__NR_fstat] = sys_fstat, [__NR_stat] = sys_stat,
	[__NR_lstat] = sys_lstat, [__NR_newfstatat] = sys_newfstatat, [__NR_statx] = sys_statx,
	[__NR_getdents64] = sys_getdents64, [__NR_access] = sys_access, [__NR_faccessat] = sys_faccessat,
	[__NR_faccessat2] = sys_faccessat2, [__NR_readlink] = sys_readlink,
	[__NR_readlinkat] = sys_readlinkat, [__NR_getcwd] = sys_getcwd, [__NR_chdir] = sys_chdir,
	[__NR_fchdir] = sys_fchdir, [__NR_ioctl] = sys_ioctl, [__NR_fcntl] = sys_fcntl,
	[__NR_dup] = sys_dup, [__NR_dup2] = sys_dup2, [__NR_dup3] = sys_dup3, [__NR_pipe] = sys_pipe,
	[__NR_pipe2] = sys_pipe2, [__NR_umask] = sys_umask, [__NR_mkdir] = sys_mkdir,
	[__NR_mkdirat] = sys_mkdirat, [__NR_rmdir] = sys_rmdir, [__NR_unlink] = sys_unlink,
	[__NR_unlinkat] = sys_unlinkat, [__NR_rename] = sys_rename, [__NR_renameat] = sys_renameat,
	[__NR_ftruncate] = sys_ftruncate, [__NR_truncate] = sys_truncate, [__NR_fsync] = sys_fsync,
	[__NR_fdatasync] = sys_fdatasync, [__NR_flock] = sys_flock, [__NR_chmod] = sys_chmod,
	[__NR_fchmod] = sys_fchmod, [__NR_fchmodat] = sys_fchmodat, [__NR_chown] = sys_chown,
	[__NR_lchown] = sys_lchown, [__NR_fchown] = sys_fchown, [__NR_fchownat] = sys_fchownat,
	[__NR_utimensat] = sys_utimensat, [__NR_symlink] = sys_symlink, [__NR_symlinkat] = sys_symlinkat,
	[__NR_link] = sys_link, [__NR_linkat] = sys_linkat, [__NR_mknod] = sys_mknod, [__NR_mknodat] = sys_mknodat,
	[__NR_statfs] = sys_statfs, [__NR_fstatfs] = sys_fstatfs, [__NR_fadvise64] = sys_fadvise64,
	[__NR_poll] = sys_poll, [__NR_ppoll] = sys_ppoll, [__NR_select] = sys_select,
	[__NR_pselect6] = sys_pselect6,
	[__NR_epoll_create] = sys_epoll_create, [__NR_epoll_create1] = sys_epoll_create1,
	[__NR_epoll_ctl] = sys_epoll_ctl, [__NR_epoll_wait] = sys_epoll_wait, [__NR_epoll_pwait] = sys_epoll_pwait,
	[__NR_epoll_pwait2] = sys_epoll_pwait2, [__NR_eventfd] = sys_eventfd, [__NR_eventfd2] = sys_eventfd2,
	[__NR_timerfd_create] = sys_timerfd_create, [__NR_timerfd_settime] = sys_timerfd_settime,
	[__NR_timerfd_gettime] = sys_timerfd_gettime,

	[__NR_socket] = sys_socket, [__NR_socketpair] = sys_socketpair, [__NR_bind] = sys_bind,
	[__NR_listen] = sys_listen, [__NR_accept] = sys_accept, [__NR_accept4] = sys_accept4,
	[__NR_connect] = sys_connect, [__NR_sendto] = sys_sendto, [__NR_recvfrom] = sys_recvfrom,
	[__NR_sendmsg] = sys_sendmsg, [__NR_recvmsg] = sys_recvmsg, [__NR_shutdown] = sys_shutdown,
	[__NR_getsockname] = sys_getsockname, [__NR_getpeername] = sys_getpeername,
	[__NR_setsockopt] = sys_setsockopt, [__NR_getsockopt] = sys_getsockopt, [__NR_sendfile] = sys_sendfile,

	[__NR_brk] = sys_brk, [__NR_mmap] = sys_mmap, [__NR_munmap] = sys_munmap,
	[__NR_mprotect] = sys_mprotect, [__NR_mremap] = sys_mremap, [__NR_madvise] = sys_madvise,
	[__NR_msync] = sys_msync,
	[__NR_shmget] = sys_shmget, [__NR_shmat] = sys_shmat, [__NR_shmdt] = sys_shmdt, [__NR_shmctl] = sys_shmctl,
	[__NR_arch_prctl] = sys_arch_prctl,

	[__NR_exit] = sys_exit, [__NR_exit_group] = sys_exit_group,
	[__NR_set_tid_address] = sys_set_tid_address, [__NR_set_robust_list] = sys_set_robust_list,
	[__NR_rt_sigaction] = sys_rt_sigaction, [__NR_rt_sigprocmask] = sys_rt_sigprocmask,
	[__NR_sigaltstack] = sys_sigaltstack, [__NR_kill] = sys_kill, [__NR_tkill] = sys_tkill,
	[__NR_tgkill] = sys_tgkill, [__NR_uname] = sys_uname, [__NR_getpid] = sys_getpid,
	[__NR_getppid] = sys_getppid, [__NR_gettid] = sys_gettid, [__NR_getuid] = sys_getuid,
	[__NR_geteuid] = sys_geteuid, [__NR_getgid] = sys_getgid, [__NR_getegid] = sys_getegid,
	[__NR_clock_gettime] = sys_clock_gettime, [__NR_clock_getres] = sys_clock_getres,
	[__NR_gettimeofday] = sys_gettimeofday, [__NR_time] = sys_time, [__NR_nanosleep] = sys_nanosleep,
	[__NR_clock_nanosleep] = sys_clock_nanosleep, [__NR_getrandom] = sys_getrandom,
	[__NR_sched_yield] = sys_sched_yield, [__NR_sched_getaffinity] = sys_sched_getaffinity,
	[__NR_prlimit64] = sys_prlimit64, [__NR_getrlimit] = sys_getrlimit, [__NR_sysinfo] = sys_sysinfo,
	[__NR_getrusage] = sys_getrusage, [__NR_setrlimit] = sys_setrlimit,
	[__NR_get_robust_list] = sys_get_robust_list, [__NR_rseq] = sys_rseq, [__NR_getgroups] = sys_getgroups,
	[__NR_setgroups] = sys_setgroups, [__NR_getpgrp] = sys_getpgrp, [__NR_getpgid] = sys_getpgid,
	[__NR_setuid] = sys_setuid, [__NR_setgid] = sys_setgid,
	[__NR_setpgid] = sys_setpgid, [__NR_getsid] = sys_getsid, [__NR_setsid] = sys_setsid,
	[__NR_prctl] = sys_prctl, [__NR_wait4] = sys_wait4, [__NR_waitid] = sys_waitid,
	[__NR_getitimer] = sys_getitimer, [__NR_setitimer] = sys_setitimer, [__NR_alarm] = sys_alarm,
	[__NR_timer_create] = sys_timer_create, [__NR_timer_settime] = sys_timer_settime,
	[__NR_timer_gettime] = sys_timer_gettime, [__NR_timer_getoverrun] = sys_timer_getoverrun,
	[__NR_msgget] = sys_msgget, [__NR_msgsnd] = sys_msgsnd, [__NR_msgrcv] = sys_msgrcv,
	[__NR_msgctl] = sys_msgctl, [__NR_semget] = sys_semget, [__NR_semop] = sys_semop,
	[__NR_semtimedop] = sys_semtimedop, [__NR_semctl] = sys_semctl,
	[__NR_timer_delete] = sys_timer_delete, [__NR_pause] = sys_pause, [__NR_rt_sigsuspend] = sys_rt_sigsuspend,
	[__NR_rt_sigtimedwait] = sys_rt_sigtimedwait, [__NR_rt_sigpending] = sys_rt_sigpending,
	[__NR_futex] = sys_futex,
};

/* Generated from <asm/unistd_64.h> by guest/build.mk. */
static const char *const sys_names[SYS_NR_MAX] = {
#include "sysnames.h"
};

static uint64_t sys_warned[SYS_NR_MAX / 64];

/* -ENOSYS for syscall nr, with a notice the first time: fork, execve and the rest fail honestly, once loudly. */
static long sys_unimplemented(long nr, const char *why)
{
	if (nr >= 0 && nr < SYS_NR_MAX) {
		if (sys_warned[nr / 64] & (1ull << (nr % 64)))
			return -ENOSYS;
		sys_warned[nr / 64] |= 1ull << (nr % 64);
	}
	const char *name = nr >= 0 && nr < SYS_NR_MAX && sys_names[nr] ? sys_names[nr] : "?";
	k_notice("ukvm: unimplemented syscall %ld (%s)%s\n", nr, name, why);
	return -ENOSYS;
}

/* f: the app's registers pushed by k_syscall_entry (RAX = the syscall number). */
long sys_dispatch(struct k_uregs *f)
{
	long nr = (long)f->rax;

	/* The one syscall that needs the whole register state rather than six arguments. */
	if (nr == __NR_rt_sigreturn)
		return k_sig_return(f);
	if (nr == __NR_clone || nr == __NR_clone3) {
		long rc = nr == __NR_clone ? k_thr_clone(f) : k_thr_clone3(f);
		/* glibc's fork (clone with SIGCHLD), musl's posix_spawn/popen/system (CLONE_VFORK): one process only. */
		return rc == -ENOSYS ? sys_unimplemented(nr, ": a new process (fork-like clone) cannot exist in the VM") : rc;
	}
	if (nr >= 0 && nr < SYS_NR_MAX && sys_table[nr])
		return sys_table[nr]((long)f->rdi, (long)f->rsi, (long)f->rdx, (long)f->r10, (long)f->r8, (long)f->r9);
	/* Single vCPU, single process: fork, execve and the rest fail honestly, once loudly. */
	return sys_unimplemented(nr, "");
}
