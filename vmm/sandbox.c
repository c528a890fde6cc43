/* sandbox.c: the monitor's seccomp allowlists, one per thread: the vCPU thread's and the event thread's. */
#include "sandbox.h"

#include <errno.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <sys/mman.h>

/* The vCPU thread (vmm/run.c): installed after setup, before the first KVM_RUN. */
int sandbox_vcpu_install(int vcpu_fd)
{
	/* Kill the process, not just the thread: a half-dead monitor is worse than none. */
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r = 0;
	if (!f)
		return -ENOMEM;
#define ALLOW(sc) r = r ? r : seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(sc), 0)
#define ALLOW1(sc, cmp) r = r ? r : seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(sc), 1, cmp)
#define VCPU_IOCTL(req)                                                                      \
	r = r ? r : seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,                  \
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)vcpu_fd),       \
				     SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)(req)))
	/* run loop: KVM_RUN; fatal-exit reports read the registers. Only on our vCPU fd. */
	VCPU_IOCTL(KVM_RUN);
	VCPU_IOCTL(KVM_GET_REGS);
	VCPU_IOCTL(KVM_GET_SREGS);
	/* console hypercall and serial THR (console fd), ukvm_stop (wake eventfd), messages on stderr */
	ALLOW(write);
	ALLOW(writev); /* stdio may use it for stderr */
	/* wait hypercall: ppoll on the wake eventfd, read to reset it */
	ALLOW(ppoll);
	ALLOW(read);
	/* device locks shared with the event thread; a device reset waits for in-flight I/O;
	   joining the event thread at the end of the run */
	ALLOW(futex);
	/* MMIO exits: QueueNotify values no ioeventfd caught, and kicks at DRIVER_OK, go to the
	   event thread's eventfds with write (above). Nothing a guest triggers here allocates (request
	   slots are made at blk_open): glibc's malloc in a non-main thread (an embedder's worker) would
	   need mprotect and openat, not allowed */
	/* vm_now_ns and boot time when the vDSO falls back to the syscall */
	ALLOW(clock_gettime);
	/* kick signal: drained with sigtimedwait, mask restored at the end; handlers return */
	ALLOW(rt_sigtimedwait);
	ALLOW(rt_sigprocmask);
	ALLOW(rt_sigreturn);
	/* ukvm_stop from a signal handler on this thread (ukvm-run's SIGINT/SIGTERM) */
	ALLOW(tgkill);
	ALLOW(getpid);
	ALLOW(gettid);
	/* end of run and teardown: timeout timer, ukvm_destroy, stdio buffers, exit */
	ALLOW(timer_delete);
	ALLOW(timer_settime);
	ALLOW(close);
	ALLOW(munmap);
	ALLOW(newfstatat); /* stdio's first use of stdout/stderr */
	ALLOW(fstat);
	ALLOW(brk);        /* malloc inside stdio */
	ALLOW1(mmap, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)); /* malloc, never executable */
	ALLOW(madvise);    /* free() trimming */
	/* ASan/LSan install and remove a per-thread alternate signal stack (glibc too, for some
	   handlers); it only changes where this thread's own handlers run: harmless */
	ALLOW(sigaltstack);
	ALLOW(exit);
	ALLOW(exit_group);
#undef ALLOW
#undef ALLOW1
#undef VCPU_IOCTL
	if (!r)
		r = seccomp_load(f);
	seccomp_release(f);
	return r;
}

/*
 * The event thread (vmm/event.c), installed by the thread itself before it
 * touches a source. io_uring's workers are kernel threads: the file I/O
 * they do is not filtered, only what this thread calls itself.
 */
int sandbox_event_install(void)
{
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r = 0;
	if (!f)
		return -ENOMEM;
#define ALLOW(sc) r = r ? r : seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(sc), 0)
	ALLOW(io_uring_enter); /* event loop: submit SQEs and wait for CQEs, the whole data path */
	ALLOW(write);          /* devices/mmio.c: news eventfd for a WAITing vCPU; rate-limited warnings on stderr */
	ALLOW(writev);         /* stdio on stderr */
	ALLOW(futex);          /* devices/mmio.c: device locks shared with the vCPU thread, reset's condition variable */
	/*
	 * No malloc on this thread's data path: glibc grows and trims a thread's
	 * arena with mprotect and (once) openat of /proc/sys/vm/overcommit_memory,
	 * which a guest could then reach. O_DIRECT bounce buffers are mmap'd.
	 */
	ALLOW(brk);            /* stdio */
	r = r ? r : seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)); /* devices/blk.c: bounce buffers, never executable */
	ALLOW(munmap);         /* devices/blk.c: bounce buffers */
	ALLOW(pwritev);        /* devices/blk.c: small writes done in place when the disk is otherwise idle */
	ALLOW(pwritev2);       /* glibc's pwritev may use it */
	ALLOW(madvise);        /* thread exit releases its stack */
	ALLOW(sched_yield);    /* event loop: polling gives the CPU to a vCPU thread sharing it */
	ALLOW(clock_gettime);  /* devices/mmio.c: queue polling windows, when the vDSO falls back to the syscall */
	ALLOW(newfstatat);     /* stdio's first use of stderr */
	ALLOW(fstat);
	ALLOW(rt_sigprocmask); /* thread exit */
	ALLOW(sigaltstack);    /* ASan removes its per-thread alternate signal stack at thread exit: harmless */
	ALLOW(exit);           /* thread exit */
	ALLOW(exit_group);
#undef ALLOW
	if (!r)
		r = seccomp_load(f);
	seccomp_release(f);
	return r;
}
