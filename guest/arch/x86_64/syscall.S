/* syscall.S: the SYSCALL entry at LSTAR; returns with popfq + jmp (SYSRET kills the VM on PVM), in PV mode with int $0x19. */
#include "uregs.h"

#define SYS_STACK_SIZE 65536

	.bss
	.balign 16
sys_stack:
	.skip SYS_STACK_SIZE
sys_stack_top:
	.balign 8
	.globl k_sys_user_rsp
k_sys_user_rsp:                 /* the app's RSP at the last SYSCALL (for reports) */
	.skip 8
resume_rip:                     /* k_user_resume's jump target: no register is left free for it */
	.skip 8
resume_rsp:
	.skip 8

/*
 * On entry RCX = return RIP, R11 = RFLAGS, RSP = the app's stack whose 128
 * bytes below RSP are its red zone: nothing is pushed before the switch.
 * Linux preserves every register but RAX, RCX and R11 across a syscall.
 * The whole register state is saved (struct k_uregs): a signal frame or
 * rt_sigreturn needs it; the C code keeps RBX, RBP and R12-R15 anyway.
 */
	.data
	.balign 8
	.globl k_kstack_top
k_kstack_top:                   /* the running thread's kernel stack (guest/kernel/thread.c switches it) */
	.quad sys_stack_top

	.text
	.balign 16
	.globl k_syscall_entry
k_syscall_entry:
	mov %rsp, k_sys_user_rsp(%rip)
	mov k_kstack_top(%rip), %rsp
	/* struct k_uregs, lowest address first: rdi rsi rdx r10 r8 r9 rax rbx rbp r12-r15 rcx r11 rip cs rflags rsp ss */
	pushq $0x2b             /* ss, cs: UKVM_PV_SEL_UDATA/UCODE (the host forces them in PV mode anyway) */
	pushq k_sys_user_rsp(%rip)
	push %r11
	pushq $0x33
	push %rcx
	UREGS_PUSH_GPRS %rax
	mov %rsp, %rdi          /* 20 pushes: still 16-byte aligned */
	call k_syscall          /* guest/kernel/syscall.c: 1 when the frame was rewritten */
	test %rax, %rax
	jnz 2f
	pop %rdi
	pop %rsi
	pop %rdx
	pop %r10
	pop %r8
	pop %r9
	pop %rax                /* the result, stored by k_syscall */
	add $64, %rsp           /* rbx rbp r12-r15 (callee-saved: unchanged) rcx r11 */
	pop %rcx                /* return RIP */
	add $8, %rsp            /* cs */
	pop %r11                /* RFLAGS, also left in R11 as SYSCALL does */
	cmpq $0, k_pv_vif(%rip)
	jne 1f
	push %r11               /* still on the kernel stack, never the app's red zone */
	popfq
	mov k_sys_user_rsp(%rip), %rsp
	jmp *%rcx
	/* PV mode: the host's direct switch to user mode (RIP <- RCX, RFLAGS <- R11, RSP kept), no exit. */
1:	mov k_sys_user_rsp(%rip), %rsp
	int $0x19
	ud2                     /* not reached */
2:	mov %rsp, %rdi
	jmp k_user_resume

/*
 * k_user_resume(r): every GPR from r. Base mode: RFLAGS with popfq while
 * still on kernel memory, then RSP and RIP from memory slots, as no
 * register is left free. PV mode: ERETU (`int $0x17`) with r's iret frame,
 * which keeps every GPR.
 */
	.globl k_user_resume
k_user_resume:
	mov %rdi, %rsp
	mov 120(%rsp), %rax
	mov %rax, resume_rip(%rip)
	mov 144(%rsp), %rax
	mov %rax, resume_rsp(%rip)
	mov %rax, k_sys_user_rsp(%rip)
	pop %rdi
	pop %rsi
	pop %rdx
	pop %r10
	pop %r8
	pop %r9
	pop %rax
	pop %rbx
	pop %rbp
	pop %r12
	pop %r13
	pop %r14
	pop %r15
	pop %rcx
	pop %r11
	cmpq $0, k_pv_vif(%rip)
	jne 3f
	add $16, %rsp           /* rip cs */
	popfq
	mov resume_rsp(%rip), %rsp
	jmp *resume_rip(%rip)
3:	int $0x17               /* RSP at rip cs rflags rsp ss */
	ud2                     /* not reached */

/*
 * k_thr_swap(save_ksp, ksp): saves the callee-saved registers on this
 * kernel stack and its RSP in *save_ksp, then continues the thread whose
 * stack is at ksp (returning from its own k_thr_swap, or into a new
 * thread's first function). Everything else is the C caller's business.
 */
	.globl k_thr_swap
k_thr_swap:
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, (%rdi)
	mov %rsi, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret
	.section .note.GNU-stack, "", @progbits
