/* arch.h: x86-64 plumbing of the guest kernel (guest/arch/x86_64): registers, TSC, FS/GS base, CPUID, entry and exception stubs. */
#ifndef ARCH_H
#define ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ukvm_abi.h"

/* Guest physical address of a kernel-image object (linked at UKVM_KERNEL_VBASE + phys). */
#define K_GPA(p) ((uint64_t)(uintptr_t)(p) - UKVM_KERNEL_VBASE)

/*
 * PV mode (proto/ukvm_abi.h): the kernel address of the host's VIF page when
 * the monitor started the vCPU in pvm-pv kernel mode (/chosen/ukvm,pv), else
 * 0. Set first thing in k_boot; read by the entry, syscall and fault paths.
 */
extern uint64_t k_pv_vif;

static inline void k_outl(uint16_t port, uint32_t val)
{
	__asm__ volatile("outl %0, %1" : : "a"(val), "Nd"(port) : "memory");
}

static inline uint64_t k_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void k_wrfsbase(uint64_t v)
{
	__asm__ volatile("wrfsbase %0" : : "r"(v) : "memory");
}

static inline uint64_t k_rdfsbase(void)
{
	uint64_t v;
	__asm__ volatile("rdfsbase %0" : "=r"(v));
	return v;
}

/*
 * The app's GS base. In PV mode the host swaps GS on every switch (flag
 * "preflip"): in kernel mode the app's base is in MSR_KERNEL_GS_BASE, which
 * only an (emulated, ~3 us) rdmsr/wrmsr reaches; rdgsbase/wrgsbase would
 * see the kernel's own. Base mode: one GS for both.
 */
#define K_MSR_KERNEL_GS_BASE 0xc0000102u
static inline void k_set_user_gs(uint64_t v)
{
	if (k_pv_vif)
		__asm__ volatile("wrmsr" : : "c"(K_MSR_KERNEL_GS_BASE), "a"((uint32_t)v),
				 "d"((uint32_t)(v >> 32)) : "memory");
	else
		__asm__ volatile("wrgsbase %0" : : "r"(v) : "memory");
}

static inline uint64_t k_user_gs(void)
{
	uint32_t lo, hi;
	uint64_t v;
	if (!k_pv_vif) {
		__asm__ volatile("rdgsbase %0" : "=r"(v));
		return v;
	}
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(K_MSR_KERNEL_GS_BASE));
	return ((uint64_t)hi << 32) | lo;
}

/* In PV mode bare CPUID is not virtualized (it answers the host's leaves): `int $0x1a` is. */
static inline void k_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	if (k_pv_vif)
		__asm__ volatile("int $0x1a"
				 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
				 : "a"(leaf), "c"(sub)
				 : "memory");
	else
		__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

/*
 * The app's whole register state at a syscall (pushed by k_syscall_entry,
 * lowest address first) or rebuilt for a signal handler or rt_sigreturn.
 * rip, cs, rflags, rsp, ss end it as an iret frame (PV mode's ERETU).
 */
struct k_uregs {
	uint64_t rdi, rsi, rdx, r10, r8, r9, rax, rbx, rbp, r12, r13, r14, r15, rcx, r11;
	uint64_t rip, cs, rflags, rsp, ss;
};

/* Resumes the app with every register of r (RCX and R11 included); r may be on the kernel stack. */
_Noreturn void k_user_resume(const struct k_uregs *r);

/* Saved by the exception stubs (guest/arch/x86_64/exc.S; offsets are fixed there). */
struct k_exc_state {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t vector, error, rip, cs, rflags, rsp, ss, cr2;
};

/* The state of the fault being handled, and the stubs' guard: nonzero while a report is in progress (a fault then crashes at once). */
extern struct k_exc_state k_exc_state;
extern uint64_t k_exc_busy;

/* Linux's signal for an exception vector: what a native process would have died of. */
int k_exc_signal(uint64_t vector);

/* Writes the fault's description and registers (several lines) to buf, with rip_sym after the RIP; truncated to size. */
void k_exc_describe(const struct k_exc_state *s, const char *rip_sym, char *buf, size_t size);

/* Jumps to the app at entry with RSP = sp and every other GPR zero (guest/arch/x86_64/entry.S). */
_Noreturn void k_enter_app(uint64_t entry, uint64_t sp);

/* The app's RSP at its last SYSCALL (guest/arch/x86_64/syscall.S). */
extern uint64_t k_sys_user_rsp;

/* LSTAR target (guest/arch/x86_64/syscall.S). */
void k_syscall_entry(void);

#endif
