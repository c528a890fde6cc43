/* vcpu.c: one vCPU: create, the boot contract's entry state (CPUID, tables, control registers, MSRs), run, kick, destroy. */
#include "vcpu.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "pvm_abi.h"
#include "ukvm_abi.h"
#include "x86tables.h"

#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define CR4_PGE (1ull << 7)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_FSGSBASE (1ull << 16)
#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

#define MSR_STAR 0xc0000081u
/* PV mode's FMASK also clears IF and IOPL, as the guide's probe does. */
#define FMASK_PV (FMASK_BITS | (1ull << 9) | (3ull << 12))
#define MSR_LSTAR 0xc0000082u
#define MSR_FMASK 0xc0000084u
/* SYSCALL clears these RFLAGS bits: TF, DF, AC, NT (IF is already 0: the guest takes no interrupts). */
#define FMASK_BITS ((1ull << 8) | (1ull << 10) | (1ull << 18) | (1ull << 14))

int vcpu_create(struct vcpu *v, int vm_fd, unsigned id, size_t run_size, int kick_signal, char *err,
		size_t errlen)
{
	*v = (struct vcpu){ .fd = -1, .wake_fd = -1, .id = id, .kick_signal = kick_signal, .pid = getpid() };
	/*
	 * An in-kernel local APIC (and nothing else: no PIC, no IOAPIC, no
	 * routes), for the PV guest's time-slice timer (TSC-deadline, x2APIC,
	 * guest/arch/x86_64/lapic.c). Before the vCPU, as KVM requires. Every
	 * VM gets it (a pooled shell does not know its mode yet); a guest that
	 * never programs it pays nothing. Measured here: ~0 us, against
	 * 0.8-2 ms to create and 13-15 ms to close a VM with KVM_CREATE_IRQCHIP's
	 * full PIC/IOAPIC. A second vCPU of the same VM finds it enabled (EINVAL).
	 * Detected, never required: on a KVM without it the guest's first
	 * APIC write fails and its threads stay cooperative.
	 */
	struct kvm_enable_cap cap = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args[0] = 0 };
	if (id == 0)
		(void)ioctl(vm_fd, KVM_ENABLE_CAP, &cap);
	const char *what = "KVM_CREATE_VCPU";
	if ((v->fd = ioctl(vm_fd, KVM_CREATE_VCPU, (unsigned long)id)) < 0)
		goto fail;
	what = "mapping kvm_run";
	void *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (run == MAP_FAILED)
		goto fail;
	v->run = run;
	v->run_size = run_size;
	what = "eventfd";
	if ((v->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", what, strerror(errno));
	return -errno;
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, v->run_size);
	v->run = NULL;
	if (v->wake_fd >= 0)
		close(v->wake_fd);
	v->wake_fd = -1;
	if (v->fd >= 0)
		close(v->fd);
	v->fd = -1;
}

/*
 * KVM's supported CPUID, read and checked once by the host (host.c), passed
 * through as is. KVM_SET_CPUID2 only reads the table, so VMs on several
 * threads share it.
 */
static int vcpu_cpuid(struct vcpu *v, const struct kvm_cpuid2 *cpuid, char *err, size_t errlen)
{
	/* A shell from the host's pool had the host's table set ahead (~86 us on PVM, hostpool.c). */
	if (v->cpuid_set == cpuid)
		return 0;
	if (ioctl(v->fd, KVM_SET_CPUID2, cpuid) < 0) {
		snprintf(err, errlen, "KVM_SET_CPUID2: %s", strerror(errno));
		return -errno;
	}
	v->cpuid_set = cpuid;
	return 0;
}

static int vcpu_get_msr(const struct vcpu *vc, uint32_t index, uint64_t *v)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[1];
	} m = { .h.nmsrs = 1, .e[0].index = index };
	if (ioctl(vc->fd, KVM_GET_MSRS, &m) != 1)
		return -ENOENT; /* KVM refuses MSRs it does not know: 0 entries read */
	*v = m.e[0].data;
	return 0;
}

int vcpu_get_tsc(const struct vcpu *v, uint64_t *tsc)
{
	return vcpu_get_msr(v, 0x10 /* IA32_TSC */, tsc);
}

bool vcpu_pv_detect(struct vcpu *v)
{
	uint64_t sig, feat;
	if (!v->pv_known)
		v->pv_known = !vcpu_get_msr(v, MSR_PVM_SIG, &sig) && (sig & 0xffffffffull) == PVM_SIG &&
			      !vcpu_get_msr(v, MSR_PVM_FEAT, &feat) && (feat & UKVM_PV_FLAGS) == UKVM_PV_FLAGS ? 2 : 1;
	return v->pv_known == 2;
}

static uint64_t vcpu_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint32_t vcpu_tsc_khz(const struct vcpu *v)
{
	int khz = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);
	if (khz > 0)
		return (uint32_t)khz;
	uint64_t t0 = vcpu_now_ns(), c0 = __builtin_ia32_rdtsc();
	struct timespec d = { 0, 2000000 };
	nanosleep(&d, NULL);
	uint64_t t1 = vcpu_now_ns(), c1 = __builtin_ia32_rdtsc();
	return t1 > t0 ? (uint32_t)((c1 - c0) * 1000000ull / (t1 - t0)) : 0;
}

static void vcpu_seg(struct kvm_segment *s, uint16_t sel, uint8_t type, uint8_t dpl, bool code64)
{
	*s = (struct kvm_segment){ .base = 0, .limit = 0xfffff, .selector = sel, .type = type,
				   .present = 1, .dpl = dpl, .db = !code64, .s = 1, .l = code64,
				   .g = 1 };
}

static int vcpu_sregs(struct vcpu *v, const struct vcpu_boot *b, char *err, size_t errlen)
{
	struct kvm_sregs s;
	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		goto fail;
	/* PV mode: kernel mode at virtual CPL0 (the host runs it natively); tables at the kernel alias. */
	uint64_t tb = b->pv ? UKVM_KERNEL_VBASE : 0;
	if (b->pv) {
		vcpu_seg(&s.cs, UKVM_PV_SEL_KCODE, 11, 0, true);
		vcpu_seg(&s.ss, UKVM_PV_SEL_KDATA, 3, 0, false);
		s.ds = s.es = s.fs = s.gs = s.ss;
		s.fs.selector = s.gs.selector = 0;
	} else {
		vcpu_seg(&s.cs, UKVM_SEL_UCODE, 11, 3, true);
		vcpu_seg(&s.ss, UKVM_SEL_UDATA, 3, 3, false);
		s.ds = s.es = s.fs = s.gs = s.ss;
	}
	s.gdt.base = tb + UKVM_GDT_GPA;
	s.gdt.limit = X86_GDT_LIMIT;
	s.idt.base = tb + UKVM_IDT_GPA;
	s.idt.limit = X86_IDT_LIMIT;
	s.tr = (struct kvm_segment){ .base = tb + UKVM_TSS_GPA, .limit = X86_TSS_LIMIT,
				     .selector = b->pv ? UKVM_PV_SEL_TSS : UKVM_SEL_TSS,
				     .type = 11 /* busy 64-bit TSS */, .present = 1 };
	s.ldt = (struct kvm_segment){ .type = 2, .present = 1, .unusable = 1 };
	s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	s.cr3 = b->cr3;
	s.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_FSGSBASE;
	if (!b->pv)
		s.cr4 |= CR4_PGE; /* PV mode: the guide's CR4 (the host flips CR3 on every switch) */
	s.efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
	if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "KVM_SET_SREGS: %s", strerror(errno));
	return -errno;
}

/* Sets STAR/LSTAR/FMASK; the host checked KVM_GET_MSR_INDEX_LIST lists them (docs/design.md: PVM refuses some MSRs). */
static int vcpu_msrs(struct vcpu *v, const struct vcpu_boot *b, char *err, size_t errlen)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[3];
	} m = { .h.nmsrs = 3 };
	uint64_t star = b->pv ? (0x23ull << 48) | ((uint64_t)UKVM_PV_SEL_KCODE << 32)
			       : (0x18ull << 48) | ((uint64_t)UKVM_SEL_KCODE << 32);
	m.e[0] = (struct kvm_msr_entry){ .index = MSR_STAR, .data = star };
	m.e[1] = (struct kvm_msr_entry){ .index = MSR_LSTAR, .data = b->syscall_entry };
	m.e[2] = (struct kvm_msr_entry){ .index = MSR_FMASK, .data = b->pv ? FMASK_PV : FMASK_BITS };
	int n = ioctl(v->fd, KVM_SET_MSRS, &m);
	if (n != 3) {
		int r = n < 0 ? -errno : -EINVAL;
		snprintf(err, errlen, "KVM_SET_MSRS: set %d of 3 (STAR, LSTAR, FMASK)", n);
		return r;
	}
	return 0;
}

int vcpu_setup(struct vcpu *v, const struct vcpu_boot *b, char *err, size_t errlen)
{
	int r = vcpu_cpuid(v, b->cpuid, err, errlen);
	if (!r)
		r = vcpu_sregs(v, b, err, errlen);
	if (!r)
		r = vcpu_msrs(v, b, err, errlen);
	if (r)
		return r;
	struct kvm_regs g = { .rip = b->entry,
			      .rsp = UKVM_KERNEL_VBASE + b->fdt_gpa,
			      .rdi = b->fdt_gpa,
			      .rflags = 0x2 };
	if (ioctl(v->fd, KVM_SET_REGS, &g) < 0) {
		snprintf(err, errlen, "KVM_SET_REGS: %s", strerror(errno));
		return -errno;
	}
	if (!b->pv)
		return 0;
	/* Last: registering the VIF switches the vCPU into PV kernel mode with the state above. */
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[1];
	} m = { .h.nmsrs = 1 };
	m.e[0] = (struct kvm_msr_entry){ .index = MSR_PVM_STATE,
					 .data = UKVM_VIF_GPA | UKVM_PV_FLAGS | PVM_STATE_KERNEL };
	if (ioctl(v->fd, KVM_SET_MSRS, &m) != 1) {
		snprintf(err, errlen, "KVM_SET_MSRS: the PV state MSR 0x%x was refused", MSR_PVM_STATE);
		return -EINVAL;
	}
	return 0;
}

int vcpu_stats_open(const struct vcpu *v)
{
	int fd = ioctl(v->fd, KVM_GET_STATS_FD, 0);
	if (fd < 0)
		return -errno;
	if (fd > 2)
		return fd;
	/* Above the standard streams (one was closed): the seccomp rule for it takes only fds > 2. */
	int hi = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	int e = errno;
	close(fd);
	return hi < 0 ? -e : hi;
}

/* The whole stats file of a vCPU is ~4.2 KiB (47 counters on this host's KVM); what lies past this is not read. */
#define VCPU_STATS_BUF 8192

int vcpu_stats_read(int fd, struct vcpu_kvm_stats *s)
{
	uint8_t buf[VCPU_STATS_BUF];
	*s = (struct vcpu_kvm_stats){ 0 };
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < (ssize_t)sizeof(struct kvm_stats_header))
		return n < 0 ? -errno : -EIO;
	struct kvm_stats_header h;
	memcpy(&h, buf, sizeof(h));
	size_t dsz = sizeof(struct kvm_stats_desc) + h.name_size, len = (size_t)n;
	if (h.name_size == 0 || h.name_size > 256 || h.desc_offset > len || h.num_desc > (len - h.desc_offset) / dsz)
		return -EIO;
	for (uint32_t i = 0; i < h.num_desc; i++) {
		struct kvm_stats_desc d;
		const uint8_t *p = buf + h.desc_offset + i * dsz;
		memcpy(&d, p, sizeof(d));
		const char *name = (const char *)p + sizeof(d);
		uint64_t *want = !strncmp(name, "pf_taken", h.name_size) ? &s->pf_taken
				 : !strncmp(name, "pf_fixed", h.name_size) ? &s->pf_fixed
				 : !strncmp(name, "exits", h.name_size)    ? &s->exits
				 : !strncmp(name, "irq_injections", h.name_size) ? &s->irq_injections
									     : NULL;
		if (!want || d.size != 1 || h.data_offset > len || d.offset > len - h.data_offset ||
		    len - h.data_offset - d.offset < sizeof(uint64_t))
			continue;
		memcpy(want, buf + h.data_offset + d.offset, sizeof(uint64_t));
	}
	return 0;
}

int vcpu_get_regs(const struct vcpu *v, struct kvm_regs *r, struct kvm_sregs *s)
{
	if (ioctl(v->fd, KVM_GET_REGS, r) < 0 || ioctl(v->fd, KVM_GET_SREGS, s) < 0)
		return -errno;
	return 0;
}

/* ------------------------------------------------------------- snapshots */

int vcpu_set_cpuid(struct vcpu *v, const struct kvm_cpuid2 *cpuid, char *err, size_t errlen)
{
	return vcpu_cpuid(v, cpuid, err, errlen);
}

/* MSRs read per KVM_GET_MSRS: a buffer on the stack (1 KiB). */
#define VCPU_MSRS_CHUNK 64

/*
 * KVM_GET_MSRS in chunks of readable MSRs: KVM stops at the first it
 * refuses, which is skipped. No allocation: a snapshot reads the state on
 * the vCPU thread under its seccomp filter, where malloc in a worker
 * thread's arena may need calls the filter kills (vmm/snapvm.c).
 */
static int vcpu_msrs_get(struct vcpu *v, const struct kvm_msr_list *list, struct vcpu_state *s)
{
	unsigned max = s->nmsrs, n = 0;
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[VCPU_MSRS_CHUNK];
	} m;
	uint32_t pos[VCPU_MSRS_CHUNK]; /* list index of each entry asked for */
	for (uint32_t i = 0; i < list->nmsrs;) {
		uint32_t k = 0, j = i;
		for (; j < list->nmsrs && k < VCPU_MSRS_CHUNK; j++)
			if (list->indices[j] != MSR_PVM_STATE) {
				pos[k] = j;
				m.h.entries[k++] = (struct kvm_msr_entry){ .index = list->indices[j] };
			}
		if (!k)
			break;
		m.h.nmsrs = k;
		int got = ioctl(v->fd, KVM_GET_MSRS, &m.h);
		if (got < 0)
			return -errno;
		for (int g = 0; g < got; g++) {
			if (n == max)
				return -E2BIG;
			s->msrs[n++] = m.h.entries[g];
		}
		/* All read: on after the chunk; else skip past the refused one. */
		i = (uint32_t)got == k ? j : pos[got] + 1;
	}
	s->nmsrs = n;
	return 0;
}

int vcpu_state_get(struct vcpu *v, const struct kvm_msr_list *list, bool pv, struct vcpu_state *s, char *err,
		   size_t errlen)
{
	const char *what = "KVM_RUN (completing the exit)";
	/* Documented for KVM_GET_*: complete the pending I/O first, without running the guest. */
	/* A kick (ukvm_signal, ukvm_stop) that came meanwhile stays set: this KVM_RUN consumed its signal. */
	uint8_t kicked = v->run->immediate_exit;
	v->run->immediate_exit = 1;
	int r = ioctl(v->fd, KVM_RUN, 0);
	v->run->immediate_exit = kicked;
	if (r == 0 || errno != EINTR) {
		r = r == 0 ? -EBUSY : -errno;
		goto fail;
	}
	s->flags = 0;
	r = -errno;
	what = "KVM_GET_REGS";
	if (ioctl(v->fd, KVM_GET_REGS, &s->regs) < 0)
		goto fail_errno;
	what = "KVM_GET_SREGS";
	if (ioctl(v->fd, KVM_GET_SREGS, &s->sregs) < 0)
		goto fail_errno;
	what = "KVM_GET_FPU";
	if (ioctl(v->fd, KVM_GET_FPU, &s->fpu) < 0)
		goto fail_errno;
	if (ioctl(v->fd, KVM_GET_XSAVE, &s->xsave) == 0)
		s->flags |= VCPU_STATE_XSAVE;
	if (ioctl(v->fd, KVM_GET_XCRS, &s->xcrs) == 0)
		s->flags |= VCPU_STATE_XCRS;
	what = "KVM_GET_VCPU_EVENTS";
	if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &s->events) < 0)
		goto fail_errno;
	s->pv_state = 0;
	what = "reading the PV state MSR";
	if (pv && vcpu_get_msr(v, MSR_PVM_STATE, &s->pv_state)) {
		r = -EIO;
		goto fail;
	}
	what = "KVM_GET_MSRS";
	if ((r = vcpu_msrs_get(v, list, s)))
		goto fail;
	/*
	 * The pvm-pv guest's time-slice timer lives there (LVT timer, its
	 * pending and in-service ticks). After the MSRs: a tick that fires in
	 * between is then in the saved APIC, with the TSC deadline already 0;
	 * the other way round it would be in neither, and a spinning guest
	 * would never get another.
	 */
	if (ioctl(v->fd, KVM_GET_LAPIC, &s->lapic) == 0)
		s->flags |= VCPU_STATE_LAPIC;
	return 0;
fail_errno:
	r = -errno;
fail:
	snprintf(err, errlen, "%s: %s", what, strerror(-r));
	return r;
}

int vcpu_state_set(struct vcpu *v, const struct vcpu_state *s, char *err, size_t errlen)
{
	const char *what = "KVM_SET_SREGS";
	if (ioctl(v->fd, KVM_SET_SREGS, &s->sregs) < 0)
		goto fail_errno;
	/*
	 * After the APIC base (sregs: x2APIC mode) and before the MSRs: the
	 * TSC-deadline MSR arms the timer only once the LVT timer is in that mode.
	 */
	what = "KVM_SET_LAPIC";
	/* A KVM without the split irqchip (vcpu_create: detected, never required): the guest stays cooperative. */
	if ((s->flags & VCPU_STATE_LAPIC) && ioctl(v->fd, KVM_SET_LAPIC, &s->lapic) < 0 && errno != ENXIO)
		goto fail_errno;
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[1];
	} one = { .h.nmsrs = 1 };
	struct kvm_msrs *all = calloc(1, sizeof(*all) + (size_t)s->nmsrs * sizeof(struct kvm_msr_entry));
	if (!all) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* One KVM_SET_MSRS per run of accepted MSRs (~100 one at a time cost ~0.2 ms): KVM stops at a refusal. */
	for (unsigned i = 0; i < s->nmsrs;) {
		all->nmsrs = s->nmsrs - i;
		memcpy(all->entries, s->msrs + i, all->nmsrs * sizeof(struct kvm_msr_entry));
		int n = ioctl(v->fd, KVM_SET_MSRS, all);
		if (n < 0) {
			free(all);
			what = "KVM_SET_MSRS";
			goto fail_errno;
		}
		i += (unsigned)n;
		if (i == s->nmsrs)
			break;
		/* Refused (PVM refuses some it lists): fine only when the fresh vCPU already holds that value. */
		uint64_t cur;
		if (vcpu_get_msr(v, s->msrs[i].index, &cur) || cur != s->msrs[i].data) {
			snprintf(err, errlen, "KVM_SET_MSRS: MSR 0x%x = 0x%llx refused", s->msrs[i].index,
				 (unsigned long long)s->msrs[i].data);
			free(all);
			return -EINVAL;
		}
		i++;
	}
	free(all);
	what = "KVM_SET_REGS";
	if (ioctl(v->fd, KVM_SET_REGS, &s->regs) < 0)
		goto fail_errno;
	if (s->flags & VCPU_STATE_XSAVE) {
		what = "KVM_SET_XSAVE";
		if (ioctl(v->fd, KVM_SET_XSAVE, &s->xsave) < 0)
			goto fail_errno;
	} else {
		what = "KVM_SET_FPU";
		if (ioctl(v->fd, KVM_SET_FPU, &s->fpu) < 0)
			goto fail_errno;
	}
	what = "KVM_SET_XCRS";
	if ((s->flags & VCPU_STATE_XCRS) && ioctl(v->fd, KVM_SET_XCRS, &s->xcrs) < 0)
		goto fail_errno;
	what = "KVM_SET_VCPU_EVENTS";
	struct kvm_vcpu_events ev = s->events;
	ev.flags &= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR | KVM_VCPUEVENT_VALID_SHADOW;
	if (ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
		goto fail_errno;
	if (s->pv_state) {
		/* Last, as at boot (vcpu_setup): registering the VIF switches the vCPU into PV mode. */
		one.e[0] = (struct kvm_msr_entry){ .index = MSR_PVM_STATE, .data = s->pv_state };
		if (ioctl(v->fd, KVM_SET_MSRS, &one) != 1) {
			snprintf(err, errlen, "KVM_SET_MSRS: the PV state MSR 0x%x was refused", MSR_PVM_STATE);
			return -EINVAL;
		}
	}
	return 0;
fail_errno:
	snprintf(err, errlen, "%s: %s", what, strerror(errno));
	return -errno;
}

/* ------------------------------------------------------------- running and kicking */

static void vcpu_kick_noop(int sig)
{
	(void)sig;
}

int vcpu_run_begin(struct vcpu *v, sigset_t *saved, sigset_t *wait_mask)
{
	struct sigaction old;
	if (sigaction(v->kick_signal, NULL, &old) == 0 && old.sa_handler == SIG_DFL &&
	    !(old.sa_flags & SA_SIGINFO)) {
		struct sigaction sa = { .sa_handler = vcpu_kick_noop, .sa_flags = SA_RESTART };
		sigemptyset(&sa.sa_mask);
		sigaction(v->kick_signal, &sa, NULL);
	}
	sigset_t kick;
	sigemptyset(&kick);
	sigaddset(&kick, v->kick_signal);
	int r = pthread_sigmask(SIG_BLOCK, &kick, saved);
	if (r)
		return -r;
	*wait_mask = *saved;
	sigdelset(wait_mask, v->kick_signal);
	struct {
		struct kvm_signal_mask h;
		uint8_t set[8]; /* the kernel's sigset_t is 64 bits on x86-64 */
	} m = { .h.len = 8 };
	memcpy(m.set, wait_mask, 8);
	if (ioctl(v->fd, KVM_SET_SIGNAL_MASK, &m) < 0) {
		r = -errno;
		pthread_sigmask(SIG_SETMASK, saved, NULL);
		return r;
	}
	atomic_store(&v->tid, (int)gettid());
	return 0;
}

int vcpu_run_once(struct vcpu *v)
{
	return ioctl(v->fd, KVM_RUN, 0) < 0 ? -errno : 0;
}

void vcpu_drain_kick(const struct vcpu *v)
{
	sigset_t kick;
	struct timespec zero = { 0, 0 };
	/*
	 * Taken: the next KVM_RUN runs the guest again (a run that goes on
	 * after a kick, ukvm_signal's, must not spin on EINTR). A kick after
	 * this sets it again; a stop is seen at the run loop's top.
	 */
	if (v->run)
		v->run->immediate_exit = 0;
	sigemptyset(&kick);
	sigaddset(&kick, v->kick_signal);
	while (sigtimedwait(&kick, NULL, &zero) > 0)
		;
}

void vcpu_run_end(struct vcpu *v, const sigset_t *saved)
{
	atomic_store(&v->tid, 0);
	vcpu_drain_kick(v);
	pthread_sigmask(SIG_SETMASK, saved, NULL);
}

void vcpu_kick(struct vcpu *v)
{
	/*
	 * Only async-signal-safe steps: a store to the run page, write(2),
	 * tgkill(2). errno is restored: a handler that changes it breaks the
	 * interrupted code's error check.
	 */
	int saved_errno = errno;
	if (v->run)
		v->run->immediate_exit = 1;
	if (v->wake_fd >= 0) {
		uint64_t one = 1;
		ssize_t w = write(v->wake_fd, &one, sizeof(one));
		(void)w;
	}
	int tid = atomic_load(&v->tid);
	if (tid)
		syscall(SYS_tgkill, v->pid, tid, v->kick_signal);
	errno = saved_errno;
}
