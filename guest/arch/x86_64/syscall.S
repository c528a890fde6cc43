/* syscall.S: the SYSCALL entry at LSTAR; returns with popfq + jmp (SYSRET kills the VM on PVM), in PV mode with int $0x19. */
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

/*
 * On entry RCX = return RIP, R11 = RFLAGS, RSP = the app's stack whose 128
 * bytes below RSP are its red zone: nothing is pushed before the switch.
 * Linux preserves every register but RAX, RCX and R11 across a syscall.
 */
	.text
	.balign 16
	.globl k_syscall_entry
k_syscall_entry:
	mov %rsp, k_sys_user_rsp(%rip)
	lea sys_stack_top(%rip), %rsp
	/* struct sys_frame, lowest address first: rdi rsi rdx r10 r8 r9 nr rflags rip */
	push %rcx
	push %r11
	push %rax
	push %r9
	push %r8
	push %r10
	push %rdx
	push %rsi
	push %rdi
	mov %rsp, %rdi
	sub $8, %rsp            /* 9 pushes: realign to 16 for the call */
	call sys_dispatch
	add $8, %rsp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %r10
	pop %r8
	pop %r9
	add $8, %rsp            /* nr */
	pop %r11                /* RFLAGS, also left in R11 as SYSCALL does */
	pop %rcx                /* return RIP */
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
	.section .note.GNU-stack, "", @progbits
