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
#define MSR_LSTAR 0xc0000082u
#define MSR_FMASK 0xc0000084u
/* SYSCALL clears these RFLAGS bits: TF, DF, AC, NT (IF is already 0: the guest takes no interrupts). */
#define FMASK_BITS ((1ull << 8) | (1ull << 10) | (1ull << 18) | (1ull << 14))

#define VCPU_MAX_CPUID 256
#define VCPU_MAX_MSRS 1024

static const struct kvm_cpuid_entry2 *vcpu_leaf(const struct kvm_cpuid2 *c, uint32_t fn)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == 0)
			return &c->entries[i];
	return NULL;
}

/*
 * Keeps leaves 0, 1 and 7.0 for the FDT: the guest reads them there instead
 * of executing CPUID, an exit of ~5-25 us on PVM, at boot.
 */
static void vcpu_boot_leaves(struct ukvm_vm *vm, const struct kvm_cpuid2 *c)
{
	static const uint32_t want[] = { 0, 1, 7 };
	vm->ncpuid_boot = 0;
	for (unsigned w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
		for (uint32_t i = 0; i < c->nent; i++) {
			const struct kvm_cpuid_entry2 *e = &c->entries[i];
			if (e->function != want[w] || e->index != 0)
				continue;
			uint32_t *o = vm->cpuid_boot[vm->ncpuid_boot++];
			o[0] = e->function, o[1] = e->index, o[2] = e->eax, o[3] = e->ebx, o[4] = e->ecx, o[5] = e->edx;
			break;
		}
	}
}

/* Passes KVM's supported CPUID through and checks what the entry state relies on. */
static int vcpu_cpuid(struct ukvm_vm *vm, char *err, size_t errlen)
{
	size_t sz = sizeof(struct kvm_cpuid2) + VCPU_MAX_CPUID * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *c = calloc(1, sz);
	int r = 0;
	if (!c)
		return -ENOMEM;
	c->nent = VCPU_MAX_CPUID;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		r = -errno;
		snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-r));
		goto out;
	}
	/*
	 * FSGSBASE is not checked: PVM does not list it in leaf 7, yet accepts
	 * CR4.FSGSBASE and runs WRFSBASE at CPL3 (PLATFORM.md); KVM_SET_SREGS
	 * fails clearly where CR4.FSGSBASE is really unsupported.
	 */
	const struct kvm_cpuid_entry2 *l1 = vcpu_leaf(c, 1), *e1 = vcpu_leaf(c, 0x80000001);
	const char *missing = NULL;
	if (!l1 || !(l1->edx & (1u << 3)))
		missing = "PSE (2 MiB pages)";
	else if (!(l1->edx & (1u << 25)))
		missing = "SSE";
	else if (!e1 || !(e1->edx & (1u << 29)))
		missing = "long mode";
	else if (!(e1->edx & (1u << 20)))
		missing = "NX";
	if (missing) {
		r = -ENOTSUP;
		snprintf(err, errlen, "/dev/kvm: guest CPU lacks %s", missing);
		goto out;
	}
	/* 1 GiB pages (0x80000001 EDX bit 26) are never used: PVM lacks them and the tables need none. */
	vcpu_boot_leaves(vm, c);
	if (ioctl(vm->vcpu_fd, KVM_SET_CPUID2, c) < 0) {
		r = -errno;
		snprintf(err, errlen, "KVM_SET_CPUID2: %s", strerror(-r));
	}
out:
	free(c);
	return r;
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
	vcpu_seg(&s.cs, UKVM_SEL_UCODE, 11, 3, true);
	vcpu_seg(&s.ss, UKVM_SEL_UDATA, 3, 3, false);
	s.ds = s.es = s.fs = s.gs = s.ss;
	s.gdt.base = UKVM_GDT_GPA;
	s.gdt.limit = X86_GDT_LIMIT;
	s.idt.base = UKVM_IDT_GPA;
	s.idt.limit = X86_IDT_LIMIT;
	s.tr = (struct kvm_segment){ .base = UKVM_TSS_GPA, .limit = X86_TSS_LIMIT,
				     .selector = UKVM_SEL_TSS, .type = 11 /* busy 64-bit TSS */,
				     .present = 1 };
	s.ldt = (struct kvm_segment){ .type = 2, .present = 1, .unusable = 1 };
	s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	s.cr3 = cr3;
	s.cr4 = CR4_PAE | CR4_PGE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_FSGSBASE;
	s.efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &s) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "KVM_SET_SREGS: %s", strerror(errno));
	return -errno;
}

/* Sets STAR/LSTAR/FMASK, but only after KVM_GET_MSR_INDEX_LIST says KVM knows them (PLATFORM.md). */
static int vcpu_msrs(struct ukvm_vm *vm, char *err, size_t errlen)
{
	static const uint32_t need[3] = { MSR_STAR, MSR_LSTAR, MSR_FMASK };
	struct kvm_msr_list *l = calloc(1, sizeof(*l) + VCPU_MAX_MSRS * sizeof(uint32_t));
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[3];
	} m = { .h.nmsrs = 3 };
	int r = 0;
	if (!l)
		return -ENOMEM;
	l->nmsrs = VCPU_MAX_MSRS;
	if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		r = -errno;
		snprintf(err, errlen, "KVM_GET_MSR_INDEX_LIST: %s", strerror(-r));
		goto out;
	}
	for (unsigned i = 0; i < 3; i++) {
		bool found = false;
		for (uint32_t j = 0; j < l->nmsrs && !found; j++)
			found = l->indices[j] == need[i];
		if (!found) {
			r = -ENOTSUP;
			snprintf(err, errlen, "/dev/kvm: MSR 0x%x not supported", need[i]);
			goto out;
		}
	}
	m.e[0] = (struct kvm_msr_entry){ .index = MSR_STAR,
					 .data = (0x18ull << 48) | ((uint64_t)UKVM_SEL_KCODE << 32) };
	m.e[1] = (struct kvm_msr_entry){ .index = MSR_LSTAR, .data = vm->img.note.syscall_entry };
	m.e[2] = (struct kvm_msr_entry){ .index = MSR_FMASK, .data = FMASK_BITS };
	int n = ioctl(vm->vcpu_fd, KVM_SET_MSRS, &m);
	if (n != 3) {
		r = n < 0 ? -errno : -EINVAL;
		snprintf(err, errlen, "KVM_SET_MSRS: set %d of 3 (STAR, LSTAR, FMASK)", n);
	}
out:
	free(l);
	return r;
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
	return 0;
}
