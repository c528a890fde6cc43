/*
 * uregs.h: for the assembly entries (syscall.S, exc.S): the push sequence
 * that lays out struct k_uregs's general registers (guest/include/arch.h),
 * shared so the two entries cannot drift from the struct or each other.
 */
#ifndef ARCH_UREGS_H
#define ARCH_UREGS_H

/*
 * Pushes r11 rcx r15 r14 r13 r12 rbp rbx RAX r9 r8 r10 rdx rsi rdi: below the
 * iret frame (rip cs rflags rsp ss) already pushed, this completes a struct
 * k_uregs at RSP (lowest address first: rdi rsi rdx r10 r8 r9 rax rbx rbp
 * r12-r15 rcx r11). rax: the operand holding the app's RAX (it may have been
 * saved aside to free the register).
 */
	.macro UREGS_PUSH_GPRS rax:req
	push %r11
	push %rcx
	push %r15
	push %r14
	push %r13
	push %r12
	push %rbp
	push %rbx
	pushq \rax
	push %r9
	push %r8
	push %r10
	push %rdx
	push %rsi
	push %rdi
	.endm

#endif
