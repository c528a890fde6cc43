/* sandbox.c: the monitor's seccomp allowlists, one per thread: the vCPU thread's and the event thread's; and the slirp helper's. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>

/*
 * The vCPU thread (vmm/run.c): the thread that calls ukvm_run, from just
 * before the first KVM_RUN to the end of ukvm_destroy. Each line names who
 * needs the call. Nothing a guest triggers here allocates (blk's request
 * slots are made at open): glibc's malloc in a non-main thread (an
 * embedder's worker) would need mprotect and openat, not allowed.
 */
static const int sandbox_vcpu_calls[] = {
	SCMP_SYS(write),           /* hcall.c console to a file or terminal; vcpu_kick (wake eventfd);
				      mmio.c: QueueNotify no ioeventfd caught, DRIVER_OK kicks; stderr */
	SCMP_SYS(pwritev2),        /* hcall.c console to a pipe or socket: RWF_NOWAIT, never blocks */
	SCMP_SYS(writev),          /* stdio on stderr */
	SCMP_SYS(ppoll),           /* hcall.c WAIT: the wake eventfd; a full console; kick signal open */
	SCMP_SYS(read),            /* hcall.c WAIT: resets the wake eventfd; console input from a file,
				      or a terminal that polled readable */
	SCMP_SYS(futex),           /* mmio.c device locks shared with the event thread, a reset waiting
				      for in-flight I/O; event_stop joining the event thread */
	SCMP_SYS(clock_gettime),   /* vm_now_ns and the boot time, when the vDSO falls back to the syscall */
	SCMP_SYS(rt_sigtimedwait), /* vcpu_drain_kick; run.c, hcall.c take back a closed console's SIGPIPE */
	SCMP_SYS(rt_sigprocmask),  /* vcpu_run_end restores the mask; hcall.c opens the kick for a terminal write */
	SCMP_SYS(rt_sigreturn),    /* the kick's no-op handler, an embedder's handlers */
	SCMP_SYS(tgkill),          /* ukvm_stop from a signal handler on this thread (ukvm-run's SIGINT/SIGTERM) */
	SCMP_SYS(getpid),          /* ... and its raise() */
	SCMP_SYS(gettid),
	SCMP_SYS(timer_delete),    /* run.c: the timeout timer at the end of the run */
	SCMP_SYS(timer_settime),
	SCMP_SYS(close),           /* ukvm_destroy: devices, vCPU, VM */
	SCMP_SYS(munmap),          /* ukvm_destroy: guest RAM, run page; free() */
	SCMP_SYS(newfstatat),      /* stdio's first use of stdout/stderr */
	SCMP_SYS(fstat),
	SCMP_SYS(brk),             /* malloc inside stdio */
	SCMP_SYS(madvise),         /* free() trimming */
	SCMP_SYS(sigaltstack),     /* ASan/LSan (and glibc, for some handlers) add and remove a per-thread
				      alternate signal stack: it only moves this thread's own handlers */
	SCMP_SYS(waitid),          /* net_user_close reaps the slirp helper (by its pidfd) ... */
	SCMP_SYS(pidfd_send_signal), /* ... killing it first if it outstays NET_USER_EXIT_MS */
	SCMP_SYS(exit),            /* thread exit */
	SCMP_SYS(exit_group),      /* process exit (ukvm-run) */
};

/*
 * The event thread (vmm/event.c), installed by the thread itself before it
 * touches a source. io_uring's workers are kernel threads: the file I/O they
 * do is not filtered, only what this thread calls itself. No malloc on its
 * data path: glibc grows and trims a thread's arena with mprotect and (once)
 * openat of /proc/sys/vm/overcommit_memory, which a guest could then reach.
 */
static const int sandbox_event_calls[] = {
	SCMP_SYS(io_uring_enter), /* event.c: submit SQEs and wait for CQEs, the whole data path (blk.c, net.c) */
	SCMP_SYS(write),          /* mmio.c: the news eventfd for a WAITing vCPU; warnings on stderr */
	SCMP_SYS(writev),         /* stdio on stderr */
	SCMP_SYS(futex),          /* mmio.c: device locks shared with the vCPU thread, reset's condition variable */
	SCMP_SYS(brk),            /* stdio */
	SCMP_SYS(munmap),         /* blk.c: O_DIRECT bounce buffers (mmap below) */
	SCMP_SYS(pwritev),        /* blk.c: small writes done in place when the disk is otherwise idle */
	SCMP_SYS(pwritev2),       /* glibc's pwritev may use it; net.c: frames written at once (RWF_NOWAIT) */
	SCMP_SYS(preadv2),        /* net.c: frames the backend has queued, read at once (RWF_NOWAIT) */
	SCMP_SYS(madvise),        /* thread exit releases its stack */
	SCMP_SYS(sched_yield),    /* event.c: polling gives the CPU to a vCPU thread sharing it */
	SCMP_SYS(clock_gettime),  /* event.c, mmio.c: polling windows, when the vDSO falls back to the syscall */
	SCMP_SYS(newfstatat),     /* stdio's first use of stderr */
	SCMP_SYS(fstat),
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

/* A filter that kills the process (not just the thread: a half-dead monitor is worse than none). */
static scmp_filter_ctx sandbox_new(const int *calls, size_t n, int *r)
{
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_KILL_PROCESS);
	*r = f ? 0 : -ENOMEM;
	for (size_t i = 0; i < n && !*r; i++)
		*r = seccomp_rule_add(f, SCMP_ACT_ALLOW, calls[i], 0);
	/* Both: malloc (vCPU thread, in stdio) and O_DIRECT bounce buffers (event thread), never executable. */
	if (!*r)
		*r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
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

/* ioctls on the vCPU fd: the vCPU loop's, then those a snapshot reads the vCPU with (vcpu_state_get). */
static int sandbox_vcpu_ioctls(scmp_filter_ctx f, int vcpu_fd, bool snap, int r)
{
	/* run.c: KVM_RUN; crash reports read the registers (vcpu_get_regs). Only on this VM's vCPU fd. */
	static const unsigned long ioctls[] = { KVM_RUN, KVM_GET_REGS, KVM_GET_SREGS,
		/* snapvm.c: the rest of the vCPU's state, only when the run may snapshot */
		KVM_GET_FPU, KVM_GET_XSAVE, KVM_GET_XCRS, KVM_GET_VCPU_EVENTS, KVM_GET_MSRS };
	size_t n = snap ? sizeof(ioctls) / sizeof(ioctls[0]) : 3;
	for (size_t i = 0; i < n && !r; i++)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)vcpu_fd),
				     SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)ioctls[i]));
	return r;
}

int sandbox_vcpu_install(int vcpu_fd)
{
	return sandbox_vcpu_install_fds(vcpu_fd, -1, -1, -1);
}

int sandbox_vcpu_install_fds(int vcpu_fd, int snap_fd, int pagemap_fd, int in_fd)
{
	int r;
	scmp_filter_ctx f = sandbox_new(sandbox_vcpu_calls, sizeof(sandbox_vcpu_calls) / sizeof(int), &r);
	r = sandbox_vcpu_ioctls(f, vcpu_fd, snap_fd >= 0, r);
	if (!r && in_fd >= 0) {
		/* hcall.c console input: RWF_NOWAIT reads of a pipe or socket; a terminal's bytes waiting (FIONREAD). */
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(preadv2), 1, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)in_fd));
		if (!r)
			r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
					     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)in_fd),
					     SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)FIONREAD));
	}
	if (snap_fd >= 0) {
		/* snapvm.c writes the snapshot into the file run.c opened before this filter: that fd only. */
		if (!r)
			r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(pwrite64), 1,
					     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)snap_fd));
		if (!r)
			r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(ftruncate), 1,
					     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)snap_fd));
		/* snapvm.c: which guest pages were ever touched: /proc/self/pagemap, opened before, else mincore */
		if (!r && pagemap_fd >= 0)
			r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(pread64), 1,
					     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)pagemap_fd));
		if (!r)
			r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mincore), 0);
	}
	return sandbox_load(f, r);
}

int sandbox_slirp_install(bool files_confined)
{
	int r;
	scmp_filter_ctx f = sandbox_new(sandbox_slirp_calls, sizeof(sandbox_slirp_calls) / sizeof(int), &r);
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
	return sandbox_load(f, r);
}

int sandbox_event_install(void)
{
	int r;
	scmp_filter_ctx f = sandbox_new(sandbox_event_calls, sizeof(sandbox_event_calls) / sizeof(int), &r);
	/* event.c: the ring drops its files at the thread's end (event_release_files); no other register call. */
	if (!r)
		r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(io_uring_register), 1,
				     SCMP_A1(SCMP_CMP_EQ, IORING_UNREGISTER_FILES));
	return sandbox_load(f, r);
}
