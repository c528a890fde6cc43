/*
 * exc.S: the 256 IDT stubs and their common path. They run at CPL0, which
 * PVM emulates one instruction at a time (and where SSE, int3, cmpxchg16b
 * kill the VM): save the state with plain moves and iretq to the CPL3
 * report (k_fault_entry, guest/kernel/fault.c), which runs natively.
 * PV mode: they run natively at virtual CPL0 already, where `mov %cr2`
 * traps and an iretq to CPL0 would be emulated: CR2 comes from the VIF page
 * (VIF + 8) and the report is called on its stack directly.
 */
#include "uregs.h"

#define SEL_UCODE 0x2b          /* UKVM_SEL_UCODE */
#define SEL_UDATA 0x23          /* UKVM_SEL_UDATA */
#define PORT_CRASH 0x501        /* UKVM_PORT_CRASH */
#define REPORT_STACK_SIZE 32768

	.bss
	.balign 16
	.globl k_exc_state
k_exc_state:                    /* struct k_exc_state (guest/include/arch.h) */
	.skip 184
	.globl k_exc_busy
k_exc_busy:                     /* set while a report is in progress */
	.skip 8
irq_rax:                        /* irq_entry's scratch: it is never entered twice */
	.skip 8
irq_vec:
	.skip 8
	.balign 16
exc_report_stack:
	.skip REPORT_STACK_SIZE
exc_report_stack_top:

/* Vector v -> k_exc_stubs + 16 * v. The CPU pushes an error code for 8, 10-14, 17, 21, 29, 30 only. */
	.section .text.exc, "ax"
	.balign 16
	.globl k_exc_stubs
k_exc_stubs:
	vec = 0
	.rept 256
	.balign 16
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq $0
	.endif
	pushq $vec
	.if (vec == 0x40) || (vec == 0xff)
	jmp irq_entry           /* K_VEC_TICK, K_VEC_SPURIOUS (guest/include/lapic.h) */
	.else
	jmp exc_common
	.endif
	vec = vec + 1
	.endr

	.balign 16
/*
 * PV mode's interrupts: the time-slice timer (and the APIC's spurious
 * vector). They reach the guest only in user mode: the kernel keeps the
 * VIF's interrupt flag clear (so it is never entered twice; a deadline
 * passing in the kernel stays pending until the return to the app). The
 * app's whole state (every GPR and the iret frame, as struct k_uregs) goes
 * on the running thread's kernel stack, empty while it is in user mode, as
 * a SYSCALL's does; k_thr_irq (guest/kernel/thread.c) may switch threads
 * there as a blocking syscall would, and resumes with k_user_resume. The
 * app's FPU/SSE registers are untouched until a switch saves them. Base
 * mode takes no interrupts: one there is a fault, as is one in kernel mode.
 */
irq_entry:
	cmpq $0, k_pv_vif(%rip)
	je exc_common
	testb $3, 24(%rsp)      /* the frame's CS (after vector and error): user mode's is 0x33 */
	jz exc_common
	mov %rax, irq_rax(%rip) /* no nesting: the flag stays clear until the app runs again */
	mov (%rsp), %rax
	mov %rax, irq_vec(%rip)
	lea 16(%rsp), %rax      /* the CPU's frame: rip cs rflags rsp ss */
	mov k_kstack_top(%rip), %rsp
	pushq 32(%rax)
	pushq 24(%rax)
	pushq 16(%rax)
	pushq 8(%rax)
	pushq 0(%rax)
	UREGS_PUSH_GPRS irq_rax(%rip)
	mov %rsp, %rdi          /* 20 pushes: 16-byte aligned, as the SYSCALL entry's */
	mov irq_vec(%rip), %rsi
	xor %ebp, %ebp          /* ends the kernel's backtraces here */
	cld
	call k_thr_irq          /* never returns: k_user_resume */
	ud2

exc_common:
	/*
	 * The #UD of k_tlb_flush_list (RDI list of addresses, RSI their count;
	 * 0: all): invlpg each, or reload CR3 (flushes and syncs the whole
	 * shadow MMU, and the app re-faults its pages: dear), then step over.
	 */
	cmpq $6, (%rsp)
	jne exc_fault
	push %rax
	lea k_tlb_flush_ud(%rip), %rax
	cmp %rax, 24(%rsp)      /* the saved RIP: vector, error, then the CPU's frame */
	jne 3f
	test %rsi, %rsi
	jz 2f
1:	mov (%rdi), %rax
	invlpg (%rax)
	add $8, %rdi
	dec %rsi
	jnz 1b
	jmp 4f
2:	mov %cr3, %rax
	mov %rax, %cr3
4:	addq $2, 24(%rsp)
	pop %rax
	add $16, %rsp
	iretq
3:	pop %rax
exc_fault:
	cmpq $0, k_exc_busy(%rip)
	jne exc_again
	movq $1, k_exc_busy(%rip)
	mov %rax, k_exc_state+0(%rip)
	mov %rbx, k_exc_state+8(%rip)
	mov %rcx, k_exc_state+16(%rip)
	mov %rdx, k_exc_state+24(%rip)
	mov %rsi, k_exc_state+32(%rip)
	mov %rdi, k_exc_state+40(%rip)
	mov %rbp, k_exc_state+48(%rip)
	mov %r8, k_exc_state+56(%rip)
	mov %r9, k_exc_state+64(%rip)
	mov %r10, k_exc_state+72(%rip)
	mov %r11, k_exc_state+80(%rip)
	mov %r12, k_exc_state+88(%rip)
	mov %r13, k_exc_state+96(%rip)
	mov %r14, k_exc_state+104(%rip)
	mov %r15, k_exc_state+112(%rip)
	/* stack: vector, error, rip, cs, rflags, rsp, ss */
	pop %rax
	mov %rax, k_exc_state+120(%rip)
	pop %rax
	mov %rax, k_exc_state+128(%rip)
	pop %rax
	mov %rax, k_exc_state+136(%rip)
	pop %rax
	mov %rax, k_exc_state+144(%rip)
	pop %rax
	mov %rax, k_exc_state+152(%rip)
	pop %rax
	mov %rax, k_exc_state+160(%rip)
	pop %rax
	mov %rax, k_exc_state+168(%rip)
	mov k_pv_vif(%rip), %rax
	test %rax, %rax
	jnz exc_pv
	mov %cr2, %rax          /* privileged: only possible here */
	mov %rax, k_exc_state+176(%rip)
	/* iretq to the report at CPL3 on its own stack, RFLAGS 0x2 (IF and DF clear) */
	pushq $SEL_UDATA
	lea exc_report_stack_top(%rip), %rax
	push %rax
	pushq $0x2
	pushq $SEL_UCODE
	lea k_fault_entry(%rip), %rax
	push %rax
	iretq

exc_pv:
	mov 8(%rax), %rax       /* struct pvm_vif.cr2 */
	mov %rax, k_exc_state+176(%rip)
	lea exc_report_stack_top(%rip), %rsp
	cld
	call k_fault_entry      /* never returns */
	ud2

/*
 * k_tlb_flush_list(va, n) (guest/include/ptab.h): page-table edits at the n
 * addresses va[0..n) take effect (n 0: all). PV mode: the host's
 * FLUSH_TLB_ONE hypercall for each (0x1008, RBX = address) or FLUSH_TLB
 * (0x1007), `int $0x1b` from kernel mode. Base mode runs at CPL3, where
 * invlpg and CR3 are out of reach: the ud2 traps to the CPL0 stub above,
 * which does it (one exception, no exit to the monitor).
 */
	.text
	.globl k_tlb_flush_list
k_tlb_flush_list:
	mov k_pv_vif(%rip), %rax
	test %rax, %rax
	jnz 1f
	.globl k_tlb_flush_ud
k_tlb_flush_ud:
	ud2
	ret
1:	push %rbx
	test %rsi, %rsi
	jz 3f
2:	mov (%rdi), %rbx
	mov $0x1008, %eax
	int $0x1b
	add $8, %rdi
	dec %rsi
	jnz 2b
	pop %rbx
	ret
3:	mov $0x1007, %eax
	int $0x1b
	pop %rbx
	ret

	.section .text.exc, "ax"
/* A fault while reporting: no second report, crash straight away (SIGSEGV). */
exc_again:
	mov k_exc_state+136(%rip), %rdi /* first fault's RIP, for the monitor's register dump */
	mov (%rsp), %rsi                /* this fault's vector */
	mov $11, %eax
	mov $PORT_CRASH, %edx
	out %eax, %dx
1:	hlt
	jmp 1b
	.section .note.GNU-stack, "", @progbits
