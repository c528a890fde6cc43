/* linux_abi.h: the Linux x86-64 user ABI structs and constants the misc syscalls use, lx_-prefixed so they clash with no libc. */
#ifndef LINUX_ABI_H
#define LINUX_ABI_H

#include <stdint.h>

struct lx_timespec {
	long tv_sec;
	long tv_nsec;
};

struct lx_timeval {
	long tv_sec;
	long tv_usec;
};

struct lx_timezone {
	int tz_minuteswest;
	int tz_dsttime;
};

#define LX_UTS_LEN 65
struct lx_utsname {
	char sysname[LX_UTS_LEN];
	char nodename[LX_UTS_LEN];
	char release[LX_UTS_LEN];
	char version[LX_UTS_LEN];
	char machine[LX_UTS_LEN];
	char domainname[LX_UTS_LEN];
};

struct lx_rlimit {
	uint64_t rlim_cur;
	uint64_t rlim_max;
};
#define LX_RLIM_INFINITY (~0ull)
#define LX_RLIMIT_CPU 0
#define LX_RLIMIT_FSIZE 1
#define LX_RLIMIT_DATA 2
#define LX_RLIMIT_STACK 3
#define LX_RLIMIT_CORE 4
#define LX_RLIMIT_RSS 5
#define LX_RLIMIT_NPROC 6
#define LX_RLIMIT_NOFILE 7
#define LX_RLIMIT_MEMLOCK 8
#define LX_RLIMIT_AS 9
#define LX_RLIMIT_LOCKS 10
#define LX_RLIMIT_SIGPENDING 11
#define LX_RLIMIT_MSGQUEUE 12
#define LX_RLIMIT_NICE 13
#define LX_RLIMIT_RTPRIO 14
#define LX_RLIMIT_RTTIME 15
#define LX_RLIM_NLIMITS 16

/* include/uapi/linux/sysinfo.h on x86-64: 112 bytes, _f[] is empty. */
struct lx_sysinfo {
	long uptime;
	unsigned long loads[3];
	unsigned long totalram, freeram, sharedram, bufferram, totalswap, freeswap;
	unsigned short procs;
	unsigned short pad;
	unsigned long totalhigh, freehigh;
	unsigned int mem_unit;
};
_Static_assert(sizeof(struct lx_sysinfo) == 112, "struct sysinfo layout");

/* include/uapi/linux/resource.h: two timevals and 14 longs, 144 bytes. */
struct lx_rusage {
	struct lx_timeval ru_utime, ru_stime;
	long ru_maxrss, ru_ixrss, ru_idrss, ru_isrss, ru_minflt, ru_majflt, ru_nswap;
	long ru_inblock, ru_oublock, ru_msgsnd, ru_msgrcv, ru_nsignals, ru_nvcsw, ru_nivcsw;
};
_Static_assert(sizeof(struct lx_rusage) == 144, "struct rusage layout");
#define LX_RUSAGE_SELF 0
#define LX_RUSAGE_CHILDREN (-1)
#define LX_RUSAGE_THREAD 1

/* The kernel's struct sigaction (not libc's): handler, flags, restorer, 64-bit mask. */
struct lx_sigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};
#define LX_SIG_DFL 0ull
#define LX_SIG_IGN 1ull
#define LX_NSIG 64 /* signals 1..64; a kernel sigset is 8 bytes */

struct lx_stack {
	uint64_t ss_sp;
	int ss_flags;
	int pad;
	uint64_t ss_size;
};
#define LX_SS_ONSTACK 1
#define LX_SS_DISABLE 2
#define LX_SS_AUTODISARM (1u << 31)
#define LX_MINSIGSTKSZ 2048

/* Signal delivery (arch/x86/include/uapi/asm/sigcontext.h, signal.h; the kernel's rt_sigframe). */
#define LX_SA_SIGINFO 0x4ull
#define LX_SA_ONSTACK 0x08000000ull
#define LX_SA_RESTART 0x10000000ull
#define LX_SA_RESTORER 0x04000000ull
#define LX_SA_NODEFER 0x40000000ull
#define LX_SA_RESETHAND 0x80000000ull

#define LX_SIGILL 4
#define LX_SIGTRAP 5
#define LX_SIGBUS 7
#define LX_SIGFPE 8
#define LX_SIGSEGV 11
#define LX_SIGPIPE 13

#define LX_SI_USER 0
#define LX_SI_KERNEL 0x80
#define LX_SI_TKILL (-6)
#define LX_SEGV_MAPERR 1
#define LX_SEGV_ACCERR 2
#define LX_FPE_INTDIV 1
#define LX_FPE_FLTINV 7
#define LX_ILL_ILLOPN 2
#define LX_BUS_ADRALN 1
#define LX_TRAP_BRKPT 1

/* siginfo_t: 128 bytes; kill's pid/uid and a fault's address share the union at offset 16. */
struct lx_siginfo {
	int si_signo;
	int si_errno;
	int si_code;
	int pad0;
	uint64_t si_addr_or_pid_uid;
	uint8_t rest[104];
};
_Static_assert(sizeof(struct lx_siginfo) == 128, "siginfo_t layout");

struct lx_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2;
	uint64_t fpstate; /* struct _fpstate * (fxsave64 image), 0: none */
	uint64_t reserved1[8];
};
_Static_assert(sizeof(struct lx_sigcontext) == 256, "struct sigcontext layout");

struct lx_ucontext {
	uint64_t uc_flags;
	uint64_t uc_link;
	struct lx_stack uc_stack;
	struct lx_sigcontext uc_mcontext;
	uint64_t uc_sigmask;
};
_Static_assert(sizeof(struct lx_ucontext) == 304, "kernel struct ucontext layout");

/* What the handler finds at its RSP: the return address (sa_restorer) then ucontext and siginfo. */
struct lx_rt_sigframe {
	uint64_t pretcode;
	struct lx_ucontext uc;
	struct lx_siginfo info;
};
#define LX_FXSAVE_SIZE 512

#define LX_SIG_BLOCK 0
#define LX_SIG_UNBLOCK 1
#define LX_SIG_SETMASK 2

#define LX_SIGABRT 6
#define LX_SIGKILL 9
#define LX_SIGCHLD 17
#define LX_SIGCONT 18
#define LX_SIGSTOP 19
#define LX_SIGTSTP 20
#define LX_SIGTTIN 21
#define LX_SIGTTOU 22
#define LX_SIGURG 23
#define LX_SIGWINCH 28

#define LX_CLOCK_REALTIME 0
#define LX_CLOCK_MONOTONIC 1
#define LX_CLOCK_PROCESS_CPUTIME_ID 2
#define LX_CLOCK_THREAD_CPUTIME_ID 3
#define LX_CLOCK_MONOTONIC_RAW 4
#define LX_CLOCK_REALTIME_COARSE 5
#define LX_CLOCK_MONOTONIC_COARSE 6
#define LX_CLOCK_BOOTTIME 7
#define LX_TIMER_ABSTIME 1

#define LX_GRND_NONBLOCK 1
#define LX_GRND_RANDOM 2
#define LX_GRND_INSECURE 4

#define LX_FUTEX_WAIT 0
#define LX_FUTEX_WAKE 1
#define LX_FUTEX_REQUEUE 3
#define LX_FUTEX_CMP_REQUEUE 4
#define LX_FUTEX_LOCK_PI 6
#define LX_FUTEX_UNLOCK_PI 7
#define LX_FUTEX_TRYLOCK_PI 8
#define LX_FUTEX_LOCK_PI2 13
#define LX_FUTEX_WAIT_BITSET 9
#define LX_FUTEX_WAKE_BITSET 10
#define LX_FUTEX_PRIVATE_FLAG 128
#define LX_FUTEX_CLOCK_REALTIME 256

#endif
