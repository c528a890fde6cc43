/* entry.S: kernel entry (_start, CPL3) and the jump into the app. */
	.section .text.entry, "ax"
	.globl _start
/* RDI = FDT gpa, RSP = boot stack (kernel alias), RFLAGS = 0x2. */
_start:
	xor %ebp, %ebp
	and $-16, %rsp
	call k_boot             /* k_boot(fdt): never returns */
1:	ud2
	jmp 1b

/* k_enter_app(entry, sp): clears every GPR (rdx = 0: no atexit hook) and jumps. */
	.text
	.globl k_enter_app
k_enter_app:
	mov %rsi, %rsp
	mov %rdi, %rcx
	xor %eax, %eax
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
	jmp *%rcx
	.section .note.GNU-stack, "", @progbits
