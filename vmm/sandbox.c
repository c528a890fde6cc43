/* sandbox.c: the monitor's seccomp allowlists, one per thread: the vCPU thread's and the event thread's; and the slirp helper's. */
#include "sandbox.h"
#include "sbcache.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/if_tun.h>
#include <linux/io_uring.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * The vCPU thread (vmm/run.c): the thread that calls ukvm_run, from just
 * before the first KVM_RUN to the end of ukvm_destroy. Calls allowed with
 * any arguments, each with who needs it and why its arguments are not
 * pinned; the calls whose arguments are pinned follow in
 * sandbox_vcpu_install. Nothing a guest triggers here allocates or frees
 * (blk's request slots are made at open, the snapshot writer's buffers are
 * one mapping): glibc's malloc growing a worker thread's arena would need
 * mprotect, which kills (its trimming: madvise, and one openat that fails,
 * sandbox_vcpu_build).
 */
static const int sandbox_vcpu_calls[] = {
	SCMP_SYS(ppoll),           /* hcall.c WAIT (wake eventfd, input), a full console: only waits; its
				      fds are in memory, out of a filter's reach */
	SCMP_SYS(clock_gettime),   /* vm_now_ns and the boot time, when the vDSO falls back to the syscall */
	SCMP_SYS(rt_sigtimedwait), /* vcpu_drain_kick; run.c, hcall.c take back a closed console's SIGPIPE:
				      this thread's own signals */
	SCMP_SYS(rt_sigprocmask),  /* vcpu_run_end restores the mask; hcall.c opens the kick for a terminal write */
	SCMP_SYS(rt_sigreturn),    /* the kick's no-op handler, an embedder's handlers */
	SCMP_SYS(getpid),          /* abort()'s raise (an assertion) */
	SCMP_SYS(gettid),
	SCMP_SYS(timer_delete),    /* run.c: the timeout timer at the end of the run: only this process's timers */
	SCMP_SYS(timer_settime),
	SCMP_SYS(munmap),          /* ukvm_destroy: guest RAM, run page, the ring, snapshot writer; and
				      glibc's free() of a large chunk and of a joined thread's stack, at
				      addresses no filter can know: only takes access away (a later touch
				      faults, never grants) */
	SCMP_SYS(brk),             /* free() trimming the main thread's heap (ukvm-run's ukvm_destroy) */
	SCMP_SYS(sigaltstack),     /* ASan/LSan (and glibc, for some handlers) add and remove a per-thread
				      alternate signal stack: it only moves this thread's own handlers */
	SCMP_SYS(sysinfo),         /* glibc's qsort asks for the RAM size (get_phys_pages): the symbols a
				      guest-error report sorts on first use (loader_symbolize); read-only */
	SCMP_SYS(exit),            /* thread exit */
	SCMP_SYS(exit_group),      /* process exit (ukvm-run) */
};

/*
 * The event thread (vmm/event.c), installed by the thread itself before it
 * touches a source. io_uring's workers are kernel threads: the file I/O they
 * do is not filtered, only what this thread calls itself; the ring only
 * takes its registered files (event_lock). No malloc on its data path: glibc
 * grows and trims a thread's arena with mprotect and (once) openat of
 * /proc/sys/vm/overcommit_memory, which a guest could then reach. Calls with
 * pinned arguments: sandbox_event_install.
 */
static const int sandbox_event_calls[] = {
	SCMP_SYS(munmap),         /* blk.c: O_DIRECT bounce buffers (mmap: sandbox_common) */
	SCMP_SYS(sched_yield),    /* event.c: polling gives the CPU to a vCPU thread sharing it */
	SCMP_SYS(clock_gettime),  /* event.c, mmio.c: polling windows, when the vDSO falls back to the syscall */
	SCMP_SYS(rt_sigprocmask), /* thread exit */
	SCMP_SYS(sigaltstack),    /* ASan removes its per-thread alternate signal stack at thread exit: harmless */
	SCMP_SYS(exit),           /* thread exit */
	SCMP_SYS(exit_group),
};

/*
 * The user-mode network helper, ukvm-slirp (devices/slirp/helper.c): a
 * process of its own running libslirp, which parses every guest frame. It
 * only moves frames between its socketpair and host sockets; no guest
 * memory. Measured with strace over the netuser suite (ARP, DHCP, TCP out
 * with data both ways and FIN, hostfwd, DNS, malformed frames, a flood);
 * each line names who needs the call. Files: sandbox_slirp_install.
 */
static const int sandbox_slirp_calls[] = {
	SCMP_SYS(poll),            /* helper.c: the loop over its two sockets and slirp's */
	SCMP_SYS(recvfrom),        /* frames from the device; slirp: TCP and UDP data from the host side */
	SCMP_SYS(recvmsg),         /* slirp: a UDP socket's error queue (IP_RECVERR) */
	SCMP_SYS(sendmsg),         /* frames to the device */
	SCMP_SYS(sendto),          /* slirp: TCP and UDP data to the host side; replies to the monitor */
	SCMP_SYS(connect),         /* slirp: the guest's outgoing TCP connections */
	SCMP_SYS(accept),          /* slirp: a hostfwd's incoming connection (listening began before the filter) */
	SCMP_SYS(shutdown),        /* slirp: the guest's FIN */
	SCMP_SYS(setsockopt),      /* slirp: SO_REUSEADDR, SO_OOBINLINE, IP_TTL, IP_RECVERR, TCP_NODELAY */
	SCMP_SYS(getsockopt),      /* slirp: SO_ERROR of a connect */
	SCMP_SYS(getsockname),     /* slirp: a hostfwd connection's addresses */
	SCMP_SYS(getpeername),
	SCMP_SYS(fcntl),           /* slirp: O_NONBLOCK on a new socket */
	SCMP_SYS(close),           /* slirp: a connection or flow ends; resolv.conf */
	SCMP_SYS(read),            /* slirp: /etc/resolv.conf (openat below) */
	SCMP_SYS(newfstatat),      /* slirp: stat of /etc/resolv.conf at most once a second; fopen's fstat */
	SCMP_SYS(fstat),
	SCMP_SYS(write),           /* warnings on stderr */
	SCMP_SYS(writev),
	SCMP_SYS(clock_gettime),   /* the clock, when the vDSO falls back to the syscall */
	SCMP_SYS(brk),             /* malloc (glib's g_malloc for mbufs and sockets) */
	SCMP_SYS(munmap),
	SCMP_SYS(mremap),          /* realloc of a large mbuf */
	SCMP_SYS(madvise),         /* free() trimming */
	SCMP_SYS(futex),           /* glib's locks */
	SCMP_SYS(getrandom),       /* glib's random numbers */
	SCMP_SYS(restart_syscall), /* poll resumed after a stop (SIGSTOP, a debugger) */
	SCMP_SYS(rt_sigreturn),
	SCMP_SYS(exit),
	SCMP_SYS(exit_group),
};

/*
 * Sanitizer builds (UKVM_SANITIZER, defined by the build with -fsanitize):
 * what ASan, UBSan and LSan call when they report (from any thread, under its
 * filter): the report must come out whole, and LeakSanitizer's check at exit
 * runs on ukvm-run's main thread, the vCPU thread. None of this is in a
 * release build.
 */
#ifdef UKVM_SANITIZER
static const int sandbox_sanitizer_calls[] = {
	SCMP_SYS(openat),       /* /proc/self/maps (symbolizing, LSan's root regions), /proc/self/exe */
	SCMP_SYS(open),
	SCMP_SYS(read),         /* those files */
	SCMP_SYS(pread64),
	SCMP_SYS(lseek),
	SCMP_SYS(readlink),     /* /proc/self/exe */
	SCMP_SYS(readlinkat),
	SCMP_SYS(newfstatat),   /* sizing them */
	SCMP_SYS(fstat),
	SCMP_SYS(ioctl),        /* TCGETS: colours on a terminal */
	SCMP_SYS(prctl),        /* PR_GET_DUMPABLE, PR_SET_PTRACER (LSan) */
	SCMP_SYS(write),        /* the report on stderr */
	SCMP_SYS(writev),
	SCMP_SYS(mprotect),     /* the allocator's guard pages */
	SCMP_SYS(madvise),      /* shadow memory */
	SCMP_SYS(mremap),
	SCMP_SYS(getrlimit),
	SCMP_SYS(prlimit64),
	SCMP_SYS(sched_getaffinity),
	SCMP_SYS(sched_yield),
	SCMP_SYS(getppid),
	SCMP_SYS(clone),        /* LSan's stop-the-world tracer */
	SCMP_SYS(clone3),
	SCMP_SYS(ptrace),       /* ... which attaches to every thread, */
	SCMP_SYS(wait4),        /* ... waits for them */
	SCMP_SYS(waitid),
	SCMP_SYS(getdents64),   /* ... listed in /proc/self/task */
	SCMP_SYS(getdents),
	SCMP_SYS(rt_sigaction),
	SCMP_SYS(tgkill),
	SCMP_SYS(kill),
	SCMP_SYS(futex),
	SCMP_SYS(close),
	SCMP_SYS(munmap),
	SCMP_SYS(mmap),
	SCMP_SYS(dup2),
	SCMP_SYS(fcntl),
	SCMP_SYS(pipe2),
	SCMP_SYS(gettid),
	SCMP_SYS(getpid),
	SCMP_SYS(exit),
	SCMP_SYS(exit_group),
};
#endif

static int sandbox_allow(scmp_filter_ctx f, int nr, int r)
{
	return r ? r : seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 0);
}

/* Allows nr when its argument argno is one of fds (-1 entries skipped, duplicates added once). */
static int sandbox_allow_fds(scmp_filter_ctx f, int nr, unsigned argno, const int *fds, unsigned n, int r)
{
	for (unsigned i = 0; i < n && !r; i++) {
		bool dup = fds[i] < 0;
		for (unsigned j = 0; j < i && !dup; j++)
			dup = fds[j] == fds[i];
		if (!dup)
			r = seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 1,
					     SCMP_CMP(argno, SCMP_CMP_EQ, (scmp_datum_t)fds[i]));
	}
	return r;
}

/*
 * Allows nr on fd (when >= 0) with argument 1 equal to req (an ioctl
 * request) in its low 32 bits, all the kernel reads of it (unsigned int
 * cmd): musl's ioctl takes the request as an int and sign-extends it, so
 * every _IOR request (bit 31) reaches the filter as 0xffffffff8...; glibc
 * passes it zero-extended.
 */
static int sandbox_allow_fd_req(scmp_filter_ctx f, int nr, int fd, unsigned long req, int r)
{
	if (r || fd < 0)
		return r;
	return seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 2, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)fd),
				SCMP_A1(SCMP_CMP_MASKED_EQ, (scmp_datum_t)UINT32_MAX, (scmp_datum_t)(uint32_t)req));
}

/*
 * The rules both threads share, with their arguments pinned:
 * - mmap: anonymous and never executable: malloc's large chunks (vCPU
 *   thread), O_DIRECT bounce buffers (event thread); no file mapping (a
 *   shared writable mapping of a file is a write that write's filter never
 *   sees).
 * - madvise: MADV_DONTNEED (glibc's free() trimming a heap, releasing an
 *   exiting thread's stack) and MADV_FREE (musl's free(), ukvm-run's: a
 *   freed slot's whole pages, e.g. the CPUID table at ukvm_destroy). Both
 *   only drop this process's anonymous pages: nothing is granted.
 * - futex: the operations glibc's mutexes, condition variables and
 *   pthread_join use (private or shared, either clock); no PI or requeue-PI
 *   futexes, no FUTEX_WAKE_OP.
 * - write, writev on stderr (fd 2): warnings (mmio_warn, event thread
 *   messages) and the run's last words.
 */
static int sandbox_common(scmp_filter_ctx f, int r)
{
	if (!r)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 2, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0),
				     SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_ANONYMOUS, MAP_ANONYMOUS));
	if (!r)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(madvise), 1, SCMP_A2(SCMP_CMP_EQ, MADV_DONTNEED));
	if (!r)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(madvise), 1, SCMP_A2(SCMP_CMP_EQ, MADV_FREE));
	static const int futex_ops[] = { FUTEX_WAIT, FUTEX_WAKE, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET };
	for (unsigned i = 0; i < sizeof(futex_ops) / sizeof(futex_ops[0]) && !r; i++)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(futex), 1,
				     SCMP_A1(SCMP_CMP_MASKED_EQ, (scmp_datum_t)(uint32_t)FUTEX_CMD_MASK,
					     (scmp_datum_t)futex_ops[i]));
	static const int err_fd[] = { STDERR_FILENO };
	r = sandbox_allow_fds(f, SCMP_SYS(write), 0, err_fd, 1, r);
	r = sandbox_allow_fds(f, SCMP_SYS(writev), 0, err_fd, 1, r);
#ifdef UKVM_SANITIZER
	for (size_t i = 0; i < sizeof(sandbox_sanitizer_calls) / sizeof(int); i++)
		r = sandbox_allow(f, sandbox_sanitizer_calls[i], r);
#endif
	return r;
}

/* A filter that kills the process (not just the thread: a half-dead monitor is worse than none). */
static scmp_filter_ctx sandbox_new(const int *calls, size_t n, int *r)
{
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_KILL_PROCESS);
	*r = f ? 0 : -ENOMEM;
	for (size_t i = 0; i < n; i++)
		*r = sandbox_allow(f, calls[i], *r);
	return f;
}

static int sandbox_load(scmp_filter_ctx f, int r)
{
	if (!r)
		r = seccomp_load(f);
	if (f)
		seccomp_release(f);
	return r;
}

int sandbox_vcpu_install(int vcpu_fd)
{
	struct sandbox_vcpu p = { .vcpu_fd = vcpu_fd, .wake_fd = -1, .out_fds = { -1, -1 }, .in_fd = -1,
				  .snap_fd = -1, .pagemap_fd = -1, .pid = getpid(), .kick_signal = SIGUSR2 };
	return sandbox_vcpu_install_for(&p);
}

/*
 * The vCPU thread's filter for p, built by libseccomp (a release build's r:
 * 0 or -errno), for the thread tid (the one installing it).
 */
static scmp_filter_ctx sandbox_vcpu_build(const struct sandbox_vcpu *p, pid_t tid, int *rp)
{
	int r;
	scmp_filter_ctx f = sandbox_new(sandbox_vcpu_calls, sizeof(sandbox_vcpu_calls) / sizeof(int), &r);
	r = sandbox_common(f, r);

	/* ioctls on this VM's vCPU fd only: run.c KVM_RUN; crash reports read the registers (vcpu_get_regs). */
	static const unsigned long run_ioctls[] = { KVM_RUN, KVM_GET_REGS, KVM_GET_SREGS };
	/* snapvm.c: the rest of the vCPU's state, read-only (ukvm_snapshot may ask any running VM) */
	static const unsigned long snap_ioctls[] = { KVM_GET_FPU, KVM_GET_XSAVE, KVM_GET_XCRS,
						     KVM_GET_VCPU_EVENTS, KVM_GET_LAPIC, KVM_GET_MSRS };
	for (size_t i = 0; i < sizeof(run_ioctls) / sizeof(run_ioctls[0]); i++)
		r = sandbox_allow_fd_req(f, SCMP_SYS(ioctl), p->vcpu_fd, run_ioctls[i], r);
	for (size_t i = 0; i < sizeof(snap_ioctls) / sizeof(snap_ioctls[0]); i++)
		r = sandbox_allow_fd_req(f, SCMP_SYS(ioctl), p->vcpu_fd, snap_ioctls[i], r);

	/*
	 * write: the console streams (hcall.c, to a file or terminal), the wake
	 * eventfd (vcpu_kick: ukvm_stop from a signal handler on this thread),
	 * the eventfds the transports kick on this thread (mmio.c: a QueueNotify
	 * no ioeventfd caught, DRIVER_OK and a reset asking the event thread).
	 * stderr: sandbox_common.
	 */
	r = sandbox_allow_fds(f, SCMP_SYS(write), 0, p->out_fds, 2, r);
	r = sandbox_allow_fds(f, SCMP_SYS(write), 0, &p->wake_fd, 1, r);
	r = sandbox_allow_fds(f, SCMP_SYS(write), 0, p->dev_fds, p->ndev_fds, r);
	/* hcall.c: console to a pipe or socket with RWF_NOWAIT, never blocking */
	r = sandbox_allow_fds(f, SCMP_SYS(pwritev2), 0, p->out_fds, 2, r);
	/* read: hcall.c WAIT resets the wake eventfd; console input from a file, or a terminal that polled readable */
	r = sandbox_allow_fds(f, SCMP_SYS(read), 0, &p->wake_fd, 1, r);
	r = sandbox_allow_fds(f, SCMP_SYS(read), 0, &p->in_fd, 1, r);
	/* run.c: KVM's counters of the vCPU (config.kvm_stats), read once at the end of the run */
	if (p->stats_fd > 2)
		r = sandbox_allow_fds(f, SCMP_SYS(read), 0, &p->stats_fd, 1, r);
	/* hcall.c console input: RWF_NOWAIT reads of a pipe or socket; a terminal's bytes waiting (FIONREAD). */
	r = sandbox_allow_fds(f, SCMP_SYS(preadv2), 0, &p->in_fd, 1, r);
	r = sandbox_allow_fd_req(f, SCMP_SYS(ioctl), p->in_fd, FIONREAD, r);

	/*
	 * An embedder's worker thread frees into its malloc arena under this
	 * filter (ukvm_destroy's own frees, its own after): glibc trims the
	 * arena's heap, and its first trim in a process opens
	 * /proc/sys/vm/overcommit_memory read-only (check_may_shrink_heap),
	 * which killed ukvm-serve (check_embed arena_trim_under_vcpu_filter).
	 * Read-only opens fail instead, the trim goes on with MADV_DONTNEED;
	 * any other open still kills.
	 */
	if (!r)
		r = seccomp_rule_add(f, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, (scmp_datum_t)UINT32_MAX, O_RDONLY | O_CLOEXEC));

	/* vcpu_kick (ukvm_stop on this thread) and glibc's abort()'s raise: this process only, those signals only. */
	int sigs[] = { p->kick_signal, SIGABRT };
	for (unsigned i = 0; i < 2 && !r; i++)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 2,
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)p->pid),
				     SCMP_A2(SCMP_CMP_EQ, (scmp_datum_t)sigs[i]));
	/* musl's abort()'s raise (ukvm-run): tkill of the thread itself, which the filter is for, SIGABRT only. */
	if (!r)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(tkill), 2, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)tid),
				     SCMP_A1(SCMP_CMP_EQ, SIGABRT));
	/*
	 * close: ukvm_destroy closes the VM's fds (devices, eventfds, ring, vCPU,
	 * VM, the run's snapshot file) on this thread, the host's when the VM
	 * held the last reference, and an embedder its NICs' fds after that
	 * (ukvm_jail_free): those only, so a thread gone astray cannot close an
	 * embedder's other fds and have their numbers reused under them.
	 */
	if (p->own_fds)
		r = sandbox_allow_fds(f, SCMP_SYS(close), 0, p->own_fds, p->nown_fds, r);
	else
		r = sandbox_allow(f, SCMP_SYS(close), r);
	/*
	 * net_user_close (ukvm_destroy) reaps the slirp helper by its pidfd,
	 * killing it first if it outstays NET_USER_EXIT_MS: only in a VM that
	 * has one, SIGKILL with no siginfo and no flags, and waitid(P_PIDFD) for
	 * its exit with no rusage. The pidfd itself is not pinned (private to
	 * devices/net_user.c): a pidfd reaches only a process this one opened one
	 * for, waitid only its own children.
	 */
	if (!r && p->helpers)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(pidfd_send_signal), 3, SCMP_A1(SCMP_CMP_EQ, SIGKILL),
				     SCMP_A2(SCMP_CMP_EQ, 0), SCMP_A3(SCMP_CMP_EQ, 0));
	if (!r && p->helpers)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(waitid), 3, SCMP_A0(SCMP_CMP_EQ, P_PIDFD),
				     SCMP_A3(SCMP_CMP_EQ, WEXITED), SCMP_A4(SCMP_CMP_EQ, 0));

	if (p->snap_fd >= 0) {
		/* snapvm.c writes the snapshot into the file run.c opened before this filter: that fd only. */
		r = sandbox_allow_fds(f, SCMP_SYS(pwrite64), 0, &p->snap_fd, 1, r);
		r = sandbox_allow_fds(f, SCMP_SYS(ftruncate), 0, &p->snap_fd, 1, r);
		/* snapvm.c: which guest pages were ever touched: /proc/self/pagemap, opened before, else mincore */
		r = sandbox_allow_fds(f, SCMP_SYS(pread64), 0, &p->pagemap_fd, 1, r);
		r = sandbox_allow(f, SCMP_SYS(mincore), r);
	}
	*rp = r;
	return f;
}

int sandbox_slirp_install(bool files_confined)
{
	int r;
	scmp_filter_ctx f = sandbox_new(sandbox_slirp_calls, sizeof(sandbox_slirp_calls) / sizeof(int), &r);
	/* malloc (glib's g_malloc): anonymous memory, never executable; no file mapping. */
	if (!r)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 2, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0),
				     SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_ANONYMOUS, MAP_ANONYMOUS));
	/* slirp: IPv4 sockets only (TCP, UDP, ICMP): no AF_UNIX to reach host services, no netlink, no packet. */
	if (!r)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, AF_INET));
	/* slirp: the size of a UDP datagram waiting (sorecvfrom); no other ioctl. */
	if (!r)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_EQ, FIONREAD));
	/*
	 * slirp reads /etc/resolv.conf on a guest's DNS query (fopen "r"). Landlock
	 * leaves that one file readable and no other; without it, no open at all.
	 */
	if (!r && files_confined)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC | O_PATH, O_RDONLY));
	if (!r && !files_confined)
		r = seccomp_rule_add(f, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
	/* No sanitizer extras: ukvm-slirp is never built with sanitizers (vmm/build.mk). */
	return sandbox_load(f, r);
}

/* The event thread's filter for p, built by libseccomp. */
static scmp_filter_ctx sandbox_event_build(const struct sandbox_event *p, int *rp)
{
	int r;
	scmp_filter_ctx f = sandbox_new(sandbox_event_calls, sizeof(sandbox_event_calls) / sizeof(int), &r);
	r = sandbox_common(f, r);
	/* event.c: submit SQEs and wait for CQEs, the whole data path (blk.c, net.c): this loop's ring only. */
	r = sandbox_allow_fds(f, SCMP_SYS(io_uring_enter), 0, &p->ring_fd, 1, r);
	/* event.c: the ring drops its files at the thread's end (event_release_files); no other register call. */
	if (!r)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(io_uring_register), 2,
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)p->ring_fd),
				     SCMP_A1(SCMP_CMP_EQ, IORING_UNREGISTER_FILES));
	/* mmio.c: the news eventfd of a WAITing vCPU (the files below are the ring's). */
	r = sandbox_allow_fds(f, SCMP_SYS(write), 0, p->write_fds, p->nwrite_fds, r);
	/*
	 * The ring's registered files (event_add_file: eventfds, disks, NIC
	 * backends), the only ones this thread moves data on with plain calls:
	 * blk.c small writes done in place when the disk is otherwise idle
	 * (pwritev; glibc's may use pwritev2); net.c frames moved at once
	 * (preadv2, pwritev2 with RWF_NOWAIT).
	 */
	r = sandbox_allow_fds(f, SCMP_SYS(pwritev), 0, p->files, p->nfiles, r);
	r = sandbox_allow_fds(f, SCMP_SYS(pwritev2), 0, p->files, p->nfiles, r);
	r = sandbox_allow_fds(f, SCMP_SYS(preadv2), 0, p->files, p->nfiles, r);
	/* net.c net_start: a tap's offloads follow what the guest's driver accepted (TUNSETOFFLOAD); ring files only. */
	for (unsigned i = 0; i < p->nfiles; i++)
		r = sandbox_allow_fd_req(f, SCMP_SYS(ioctl), p->files[i], TUNSETOFFLOAD, r);
	*rp = r;
	return f;
}

/*
 * Each filter as a flat key for sbcache.h (a shape is built once per host,
 * then patched with each VM's fds): the struct's fields in a fixed order,
 * then its arrays. sandbox_*_build read the struct back from it, so a fresh
 * build and a kept shape are built by the same rules.
 */
enum { VK_KIND, VK_VCPU, VK_PID, VK_TID, VK_SIG, VK_WAKE, VK_OUT0, VK_OUT1, VK_IN, VK_SNAP, VK_PAGEMAP, VK_STATS,
       VK_HELPERS, VK_OWN_ANY, VK_NDEV, VK_NOWN, VK_N };
enum { EK_KIND, EK_RING, EK_NFILES, EK_NWRITE, EK_N };
enum { SANDBOX_KEY_VCPU = 1, SANDBOX_KEY_EVENT = 2 };

static enum sbcache_slot sandbox_vcpu_slot(const int *key, unsigned i)
{
	(void)key;
	if (i == VK_PID || i == VK_TID)
		return SBCACHE_PID;
	if (i == VK_VCPU || (i >= VK_WAKE && i <= VK_STATS) || i >= VK_N)
		return SBCACHE_FD;
	return SBCACHE_LIT;
}

static enum sbcache_slot sandbox_event_slot(const int *key, unsigned i)
{
	(void)key;
	return i == EK_RING || i >= EK_N ? SBCACHE_FD : SBCACHE_LIT;
}

static void *sandbox_vcpu_key_build(const int *k, unsigned nkey, int *r)
{
	(void)nkey;
	struct sandbox_vcpu p = {
		.vcpu_fd = k[VK_VCPU], .pid = k[VK_PID], .kick_signal = k[VK_SIG], .wake_fd = k[VK_WAKE],
		.out_fds = { k[VK_OUT0], k[VK_OUT1] }, .in_fd = k[VK_IN], .snap_fd = k[VK_SNAP],
		.pagemap_fd = k[VK_PAGEMAP], .stats_fd = k[VK_STATS], .helpers = k[VK_HELPERS],
		.dev_fds = k + VK_N, .ndev_fds = (unsigned)k[VK_NDEV],
		.own_fds = k[VK_OWN_ANY] ? NULL : k + VK_N + k[VK_NDEV], .nown_fds = (unsigned)k[VK_NOWN],
	};
	return sandbox_vcpu_build(&p, k[VK_TID], r);
}

static void *sandbox_event_key_build(const int *k, unsigned nkey, int *r)
{
	(void)nkey;
	struct sandbox_event p = { .ring_fd = k[EK_RING], .files = k + EK_N, .nfiles = (unsigned)k[EK_NFILES],
				   .write_fds = k + EK_N + k[EK_NFILES], .nwrite_fds = (unsigned)k[EK_NWRITE] };
	return sandbox_event_build(&p, r);
}

/* p's key into s (malloc'd key: free it). 0 or -ENOMEM. */
static int sandbox_vcpu_shape(const struct sandbox_vcpu *p, struct sbcache_shape *s)
{
	unsigned nown = p->own_fds ? p->nown_fds : 0, ndev = p->dev_fds ? p->ndev_fds : 0;
	int *k = malloc((VK_N + ndev + nown) * sizeof(int));
	if (!k)
		return -ENOMEM;
	/* The filter is the calling thread's (sandbox_vcpu_install_for), so is tkill's target. */
	int head[VK_N] = { [VK_KIND] = SANDBOX_KEY_VCPU, [VK_VCPU] = p->vcpu_fd, [VK_PID] = p->pid, [VK_TID] = gettid(),
			   [VK_SIG] = p->kick_signal, [VK_WAKE] = p->wake_fd, [VK_OUT0] = p->out_fds[0],
			   [VK_OUT1] = p->out_fds[1], [VK_IN] = p->in_fd, [VK_SNAP] = p->snap_fd,
			   [VK_PAGEMAP] = p->pagemap_fd, [VK_STATS] = p->stats_fd, [VK_HELPERS] = p->helpers,
			   [VK_OWN_ANY] = !p->own_fds, [VK_NDEV] = (int)ndev, [VK_NOWN] = (int)nown };
	memcpy(k, head, sizeof(head));
	if (ndev)
		memcpy(k + VK_N, p->dev_fds, ndev * sizeof(int));
	if (nown)
		memcpy(k + VK_N + ndev, p->own_fds, nown * sizeof(int));
	*s = (struct sbcache_shape){ .key = k, .nkey = VK_N + ndev + nown, .slot = sandbox_vcpu_slot,
				     .build = sandbox_vcpu_key_build };
	return 0;
}

static int sandbox_event_shape(const struct sandbox_event *p, struct sbcache_shape *s)
{
	unsigned nf = p->files ? p->nfiles : 0, nw = p->write_fds ? p->nwrite_fds : 0;
	int *k = malloc((EK_N + nf + nw) * sizeof(int));
	if (!k)
		return -ENOMEM;
	k[EK_KIND] = SANDBOX_KEY_EVENT;
	k[EK_RING] = p->ring_fd;
	k[EK_NFILES] = (int)nf;
	k[EK_NWRITE] = (int)nw;
	if (nf)
		memcpy(k + EK_N, p->files, nf * sizeof(int));
	if (nw)
		memcpy(k + EK_N + nf, p->write_fds, nw * sizeof(int));
	*s = (struct sbcache_shape){ .key = k, .nkey = EK_N + nf + nw, .slot = sandbox_event_slot,
				     .build = sandbox_event_key_build };
	return 0;
}

int sandbox_vcpu_install_for(const struct sandbox_vcpu *p)
{
	struct sbcache_shape s;
	int r = sandbox_vcpu_shape(p, &s);
	if (r)
		return r;
	r = sbcache_install(p->cache, &s);
	free((void *)s.key);
	return r;
}

int sandbox_event_install(const struct sandbox_event *p)
{
	struct sbcache_shape s;
	int r = sandbox_event_shape(p, &s);
	if (r)
		return r;
	r = sbcache_install(p->cache, &s);
	free((void *)s.key);
	return r;
}

int sandbox_vcpu_prog(const struct sandbox_vcpu *p, struct sock_filter **prog, unsigned *len)
{
	struct sbcache_shape s;
	int r = sandbox_vcpu_shape(p, &s);
	if (r)
		return r;
	r = sbcache_prog(p->cache, &s, prog, len);
	free((void *)s.key);
	return r;
}

int sandbox_event_prog(const struct sandbox_event *p, struct sock_filter **prog, unsigned *len)
{
	struct sbcache_shape s;
	int r = sandbox_event_shape(p, &s);
	if (r)
		return r;
	r = sbcache_prog(p->cache, &s, prog, len);
	free((void *)s.key);
	return r;
}
