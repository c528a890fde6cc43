/* vcpu.c: the vCPU's entry state of the boot contract: CPUID, descriptor tables, control registers, MSRs, registers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vm.h"
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
#define MSR_PVM_STATE 0x4b564d10u /* pvm-pv: VIF gpa | flags | PVM_STATE_KERNEL */
#define MSR_PVM_SIG   0x4b564d11u /* pvm-pv: reads PVM_SIG */
#define MSR_PVM_FEAT  0x4b564d12u /* pvm-pv: supported flags */
#define PVM_SIG 0x4d5650ull      /* "PVM" */
#define PVM_STATE_KERNEL 0x400ull /* valid, vCPU in kernel mode */
/* PV mode's FMASK also clears IF and IOPL, as the guide's probe does. */
#define FMASK_PV (FMASK_BITS | (1ull << 9) | (3ull << 12))
#define MSR_LSTAR 0xc0000082u
#define MSR_FMASK 0xc0000084u
/* SYSCALL clears these RFLAGS bits: TF, DF, AC, NT (IF is already 0: the guest takes no interrupts). */
#define FMASK_BITS ((1ull << 8) | (1ull << 10) | (1ull << 18) | (1ull << 14))

/*
 * KVM's supported CPUID, read and checked once by the host (host.c), passed
 * through as is. KVM_SET_CPUID2 only reads the table, so VMs on several
 * threads share it.
 */
static int vcpu_cpuid(struct ukvm_vm *vm, char *err, size_t errlen)
{
	if (ioctl(vm->vcpu_fd, KVM_SET_CPUID2, vm->host->cpuid) < 0) {
		snprintf(err, errlen, "KVM_SET_CPUID2: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int vcpu_get_msr(struct ukvm_vm *vm, uint32_t index, uint64_t *v)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[1];
	} m = { .h.nmsrs = 1, .e[0].index = index };
	if (ioctl(vm->vcpu_fd, KVM_GET_MSRS, &m) != 1)
		return -ENOENT; /* KVM refuses MSRs it does not know: 0 entries read */
	*v = m.e[0].data;
	return 0;
}

bool vcpu_pv_detect(struct ukvm_vm *vm)
{
	uint64_t sig, feat;
	if (vcpu_get_msr(vm, MSR_PVM_SIG, &sig) || (sig & 0xffffffffull) != PVM_SIG)
		return false;
	return !vcpu_get_msr(vm, MSR_PVM_FEAT, &feat) && (feat & UKVM_PV_FLAGS) == UKVM_PV_FLAGS;
}

static void vcpu_seg(struct kvm_segment *s, uint16_t sel, uint8_t type, uint8_t dpl, bool code64)
{
	*s = (struct kvm_segment){ .base = 0, .limit = 0xfffff, .selector = sel, .type = type,
				   .present = 1, .dpl = dpl, .db = !code64, .s = 1, .l = code64,
				   .g = 1 };
}

static int vcpu_sregs(struct ukvm_vm *vm, uint64_t cr3, char *err, size_t errlen)
{
	struct kvm_sregs s;
	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &s) < 0)
		goto fail;
	/* PV mode: kernel mode at virtual CPL0 (the host runs it natively); tables at the kernel alias. */
	uint64_t tb = vm->pv ? UKVM_KERNEL_VBASE : 0;
	if (vm->pv) {
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
				     .selector = vm->pv ? UKVM_PV_SEL_TSS : UKVM_SEL_TSS,
				     .type = 11 /* busy 64-bit TSS */, .present = 1 };
	s.ldt = (struct kvm_segment){ .type = 2, .present = 1, .unusable = 1 };
	s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	s.cr3 = cr3;
	s.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_FSGSBASE;
	if (!vm->pv)
		s.cr4 |= CR4_PGE; /* PV mode: the guide's CR4 (the host flips CR3 on every switch) */
	s.efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &s) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "KVM_SET_SREGS: %s", strerror(errno));
	return -errno;
}

/* Sets STAR/LSTAR/FMASK; the host checked KVM_GET_MSR_INDEX_LIST lists them (PLATFORM.md). */
static int vcpu_msrs(struct ukvm_vm *vm, char *err, size_t errlen)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[3];
	} m = { .h.nmsrs = 3 };
	uint64_t star = vm->pv ? (0x23ull << 48) | ((uint64_t)UKVM_PV_SEL_KCODE << 32)
			       : (0x18ull << 48) | ((uint64_t)UKVM_SEL_KCODE << 32);
	m.e[0] = (struct kvm_msr_entry){ .index = MSR_STAR, .data = star };
	m.e[1] = (struct kvm_msr_entry){ .index = MSR_LSTAR, .data = vm->img.note.syscall_entry };
	m.e[2] = (struct kvm_msr_entry){ .index = MSR_FMASK, .data = vm->pv ? FMASK_PV : FMASK_BITS };
	int n = ioctl(vm->vcpu_fd, KVM_SET_MSRS, &m);
	if (n != 3) {
		int r = n < 0 ? -errno : -EINVAL;
		snprintf(err, errlen, "KVM_SET_MSRS: set %d of 3 (STAR, LSTAR, FMASK)", n);
		return r;
	}
	return 0;
}

int vcpu_setup(struct ukvm_vm *vm, uint64_t cr3, char *err, size_t errlen)
{
	int r = vcpu_cpuid(vm, err, errlen);
	if (!r)
		r = vcpu_sregs(vm, cr3, err, errlen);
	if (!r)
		r = vcpu_msrs(vm, err, errlen);
	if (r)
		return r;
	struct kvm_regs g = { .rip = vm->img.entry,
			      .rsp = UKVM_KERNEL_VBASE + UKVM_BOOT_STACK_TOP,
			      .rdi = UKVM_FDT_GPA,
			      .rflags = 0x2 };
	if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &g) < 0) {
		snprintf(err, errlen, "KVM_SET_REGS: %s", strerror(errno));
		return -errno;
	}
	if (!vm->pv)
		return 0;
	/* Last: registering the VIF switches the vCPU into PV kernel mode with the state above. */
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[1];
	} m = { .h.nmsrs = 1 };
	m.e[0] = (struct kvm_msr_entry){ .index = MSR_PVM_STATE,
					 .data = UKVM_VIF_GPA | UKVM_PV_FLAGS | PVM_STATE_KERNEL };
	if (ioctl(vm->vcpu_fd, KVM_SET_MSRS, &m) != 1) {
		snprintf(err, errlen, "KVM_SET_MSRS: the PV state MSR 0x%x was refused", MSR_PVM_STATE);
		return -EINVAL;
	}
	return 0;
}
