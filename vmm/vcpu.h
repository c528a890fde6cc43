/* vcpu.h: one virtual CPU: its KVM fd and run page, boot state, the thread running it, and how to kick it out. */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include <linux/kvm.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct vcpu {
	int fd;                    /* KVM vCPU fd, -1 when none */
	unsigned id;               /* KVM_CREATE_VCPU's id */
	struct kvm_run *run;       /* the shared run page */
	size_t run_size;
	int wake_fd;               /* eventfd (nonblocking): ukvm_stop and device news wake a WAITing vCPU */
	int kick_signal;           /* sent to the running thread to end KVM_RUN or a WAIT */
	atomic_int tid;            /* thread between vcpu_run_begin and vcpu_run_end, 0 when none */
	pid_t pid;                 /* tgkill's tgid */
	const struct kvm_cpuid2 *cpuid_set; /* the table KVM_SET_CPUID2 was given (a pooled shell's), NULL: none */
	int8_t pv_known;           /* vcpu_pv_detect's answer: 0 not asked yet, 1 no, 2 yes */
};

/* What the boot contract sets (proto/ukvm_abi.h "Entry state"). */
struct vcpu_boot {
	const struct kvm_cpuid2 *cpuid; /* passed to KVM_SET_CPUID2 as is (only read: shared by VMs) */
	bool pv;                   /* pvm-pv mode: virtual CPL0, the VIF registered last */
	uint64_t cr3;
	uint64_t entry;            /* RIP */
	uint64_t syscall_entry;    /* LSTAR */
	uint64_t fdt_gpa;          /* RDI, and RSP's kernel alias: the boot stack grows down from the FDT */
};

/*
 * Creates vCPU id on vm_fd, maps its run page (run_size from
 * KVM_GET_VCPU_MMAP_SIZE) and makes its wake eventfd. Returns 0 or -errno
 * with one line in err naming the step; on failure vcpu_destroy cleans up.
 */
int vcpu_create(struct vcpu *v, int vm_fd, unsigned id, size_t run_size, int kick_signal, char *err,
		size_t errlen);

/*
 * Sets CPUID, special registers (tables, CR0/CR3/CR4/EFER at CPL3 or, in
 * pvm-pv mode, virtual CPL0), STAR/LSTAR/FMASK and the entry registers of
 * the boot contract (RDI = the FDT). Returns 0, or -errno with one line in err.
 */
int vcpu_setup(struct vcpu *v, const struct vcpu_boot *b, char *err, size_t errlen);

/*
 * True when KVM offers this host's paravirtual interface ("pvm-pv": MSR
 * 0x4b564d11 reads "PVM" and 0x4b564d12 has every flag of UKVM_PV_FLAGS).
 * False on hardware KVM and other PVM builds (KVM refuses those MSRs).
 * Asked once per vCPU (a pooled shell asks ahead of its VM).
 */
bool vcpu_pv_detect(struct vcpu *v);

/* TSC kHz from KVM, else measured against CLOCK_MONOTONIC over ~2 ms; 0 when unknown. */
uint32_t vcpu_tsc_khz(const struct vcpu *v);

/*
 * The calling thread becomes the vCPU's: the kick signal is blocked here
 * except inside KVM_RUN (KVM_SET_SIGNAL_MASK) and in waits that pass
 * *wait_mask (the thread's mask with the kick open), so a kick sent at any
 * moment either interrupts KVM_RUN or is pending when it enters (EINTR at
 * once): no handler or global is needed. A kick signal at SIG_DFL gets a
 * no-op handler, so a kick racing the end of the run cannot kill the
 * process. *saved gets the old mask for vcpu_run_end. Returns 0 or -errno.
 */
int vcpu_run_begin(struct vcpu *v, sigset_t *saved, sigset_t *wait_mask);

/* One KVM_RUN: 0 when it returned with an exit in v->run, else -errno (-EINTR: kicked). */
int vcpu_run_once(struct vcpu *v);

/* Swallows a pending kick so the next KVM_RUN does not return at once. */
void vcpu_drain_kick(const struct vcpu *v);

/* Ends vcpu_run_begin: no more kicks to this thread, pending one drained, mask restored. */
void vcpu_run_end(struct vcpu *v, const sigset_t *saved);

/*
 * Makes the vCPU return to the monitor soon: KVM_RUN exits (immediate_exit,
 * and the kick signal to the thread in vcpu_run_begin), a WAIT ends (wake
 * eventfd). Async-signal-safe, any thread; leaves errno as it was.
 */
void vcpu_kick(struct vcpu *v);

/* KVM's per-vCPU counters (KVM_GET_STATS_FD), as ukvm_result reports them. */
struct vcpu_kvm_stats {
	uint64_t pf_taken, pf_fixed, exits;
	uint64_t irq_injections; /* interrupts KVM injected: the PV guest's time-slice ticks */
};

/* Opens the vCPU's binary stats fd, above 2: the fd, or -errno (an older KVM: -ENOTTY). */
int vcpu_stats_open(const struct vcpu *v);

/*
 * Reads the counters from a stats fd just opened, in one read() from its
 * start (no pread: the call may come under the vCPU thread's seccomp
 * filter); each counter KVM does not have stays 0. 0 or -errno.
 */
int vcpu_stats_read(int fd, struct vcpu_kvm_stats *s);

/* Reads the general and special registers (crash reports; later snapshots). Returns 0 or -errno. */
int vcpu_get_regs(const struct vcpu *v, struct kvm_regs *r, struct kvm_sregs *s);

/* The vCPU's TSC now (MSR IA32_TSC, one KVM_GET_MSRS, which the vCPU thread's filter allows): 0 or -errno. */
int vcpu_get_tsc(const struct vcpu *v, uint64_t *tsc);

/* The state a snapshot keeps of a vCPU (vmm/snap.h stores it). */
#define VCPU_STATE_XSAVE 1u /* xsave holds the FPU/SSE/AVX state (KVM_CAP_XSAVE), else fpu does */
#define VCPU_STATE_XCRS  2u /* xcrs is valid (KVM_CAP_XCRS) */
#define VCPU_STATE_LAPIC 4u /* lapic is valid: the vCPU has an in-kernel local APIC (KVM_CAP_SPLIT_IRQCHIP) */
struct vcpu_state {
	unsigned flags;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct kvm_xcrs xcrs;
	struct kvm_vcpu_events events;
	struct kvm_lapic_state lapic;
	uint64_t pv_state;         /* MSR 0x4b564d10 in pvm-pv mode, else 0 */
	unsigned nmsrs;
	struct kvm_msr_entry *msrs; /* the caller's array of nmsrs entries (max on input to vcpu_state_get) */
	struct kvm_xsave xsave;    /* last: newer kernel headers end it with a flexible array */
};

/*
 * Reads the vCPU's whole state into *s. Call it stopped right after an exit
 * the monitor handled: it first completes that exit (KVM_RUN with
 * immediate_exit, as KVM's API asks before saving state), so the state is
 * the one the guest resumes in. MSRs: those of list (KVM_GET_MSR_INDEX_LIST)
 * that KVM lets us read, at most s->nmsrs (the capacity of s->msrs; set to
 * the count read). pv: read the PV state MSR. Returns 0 or -errno with one
 * line in err.
 */
int vcpu_state_get(struct vcpu *v, const struct kvm_msr_list *list, bool pv, struct vcpu_state *s, char *err,
		   size_t errlen);

/*
 * Puts a fresh vCPU (after KVM_SET_CPUID2 by vcpu_set_cpuid) in state s:
 * special registers, MSRs, general registers, FPU/XSAVE, XCRs, events, and
 * last the PV state MSR when s->pv_state is set. An MSR KVM refuses is
 * accepted only when the vCPU already holds the saved value. Returns 0 or
 * -errno with one line in err.
 */
int vcpu_state_set(struct vcpu *v, const struct vcpu_state *s, char *err, size_t errlen);

/* KVM_SET_CPUID2 with the host's table (as vcpu_setup does). Returns 0 or -errno with one line in err. */
int vcpu_set_cpuid(struct vcpu *v, const struct kvm_cpuid2 *cpuid, char *err, size_t errlen);

/* Unmaps and closes what vcpu_create made; v may be zeroed with fds at -1, or half made. */
void vcpu_destroy(struct vcpu *v);

#endif
