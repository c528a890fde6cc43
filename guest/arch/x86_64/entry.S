/* entry.S: kernel entry (_start, CPL3), the jump into the app, and the mode every entry path reads. */
	.bss
	.balign 8
	.globl k_pv_vif
k_pv_vif:                       /* guest/include/arch.h: the VIF page in PV mode, else 0 (set by k_boot) */
	.skip 8

	.section .text.entry, "ax"
	.globl _start
/* RDI = FDT gpa, RSP = boot stack (kernel alias), RFLAGS = 0x2. */
_start:
	xor %ebp, %ebp
	and $-16, %rsp
	call k_boot             /* k_boot(fdt): never returns */
1:	ud2
	jmp 1b

/*
 * k_enter_app(entry, sp): clears every GPR (rdx = 0: no atexit hook) and jumps;
 * in PV mode enters user mode with ERETU (`int $0x17`, iret frame at RSP:
 * CS/SS are the host's user selectors 0x33/0x2b, RFLAGS 0x202 as the host's user mode has it).
 */
	.text
	.globl k_enter_app
k_enter_app:
	cmpq $0, k_pv_vif(%rip)
	jne 2f
	push %rsi               /* kept on the kernel stack: nothing is written to the app's */
	push %rdi
	call 1f
	pop %rcx
	mov (%rsp), %rsp
	jmp *%rcx
2:	pushq $0x2b             /* UKVM_PV_SEL_UDATA */
	push %rsi
	pushq $0x202
	pushq $0x33             /* UKVM_PV_SEL_UCODE */
	push %rdi
	call 1f
	xor %ecx, %ecx
	int $0x17
	ud2                     /* not reached */
1:	xor %eax, %eax
	xor %ebx, %ebx
	xor %edx, %edx
	xor %esi, %esi
	xor %edi, %edi
	xor %ebp, %ebp
	xor %r8d, %r8d
	xor %r9d, %r9d
	xor %r10d, %r10d
	xor %r11d, %r11d
	xor %r12d, %r12d
	xor %r13d, %r13d
	xor %r14d, %r14d
	xor %r15d, %r15d
	ret
	.section .note.GNU-stack, "", @progbits
