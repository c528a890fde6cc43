/* arch.h: x86-64 services of the guest kernel core (guest/arch/x86_64): hypercalls, TSC, FS base, fault reports. */
#ifndef ARCH_H
#define ARCH_H

#include <stdbool.h>
#include <stdint.h>

#include "ukvm_abi.h"

/* Guest physical address of a kernel-image object (linked at UKVM_KERNEL_VBASE + phys). */
#define K_GPA(p) ((uint64_t)(uintptr_t)(p) - UKVM_KERNEL_VBASE)

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

static inline void k_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

/* Sends a boot-phase mark (one exit) when the FDT asked for them (ukvm,trace-boot); else nothing. */
void k_mark(enum ukvm_mark m);

/* Enables k_mark (boot, once /chosen was read). */
void k_mark_enable(bool on);

/* Starts the clock: TSC frequency in kHz (0: assume 1 GHz) and host realtime at launch. */
void k_clock_init(uint32_t tsc_khz, uint64_t boot_realtime_ns);

/* Saved by the exception stubs (guest/arch/x86_64/exc.S; offsets are fixed there). */
struct k_exc_state {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t vector, error, rip, cs, rflags, rsp, ss, cr2;
};

/* CPL3 target of the stubs' iretq: prints the fault report and crashes. */
_Noreturn void k_exc_report(void);

/* Prints "  #i addr symbol+0xoff" for up to 16 frame-pointer frames from rbp, validating each frame. */
void k_backtrace(uint64_t rbp);

/* Appends "<symbol+0xoff>" for addr to buf (or nothing when unknown). */
void k_symbolize(uint64_t addr, char *buf, unsigned long size);

/* Jumps to the app at entry with RSP = sp and every other GPR zero (guest/arch/x86_64/entry.S). */
_Noreturn void k_enter_app(uint64_t entry, uint64_t sp);

/* LSTAR target (guest/arch/x86_64/syscall.S). */
void k_syscall_entry(void);

#endif
