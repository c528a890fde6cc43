/* testguest.S: a tiny ukvm kernel for monitor tests; the default (TG_HELLO) prints "hello\n" via the console hypercall and exits 42. */
/* Values from proto/ukvm_abi.h (a C header, not includable here). */
#define VBASE 0xffffffff80000000
#define PHYS(x) ((x) - VBASE)
#define PORT_EXIT 0x500
#define PORT_CRASH 0x501
#define PORT_CONSOLE 0x502
#define PORT_WAIT 0x503
#define PORT_MARK 0x504
#define PORT_INPUT 0x506

#define HCALL(port, val) mov $(port), %dx; mov val, %eax; out %eax, %dx

	.text
	.globl _start
	.type _start, @function
_start:
	HCALL(PORT_MARK, $1)
#if defined(TG_HELLO)
	movq $PHYS(msg), cons(%rip)
	movq $(msg_end - msg), cons+8(%rip)
	HCALL(PORT_CONSOLE, $PHYS(cons))
	HCALL(PORT_MARK, $2)
	HCALL(PORT_MARK, $3)
	HCALL(PORT_EXIT, $42)
#elif defined(TG_TRIPLE)
	/* Wipe the IDT (user-writable like all RAM): the #UD then cannot be delivered. */
	mov $0x2000, %edi
	xor %eax, %eax
	mov $512, %ecx
	rep stosq
	ud2
#elif defined(TG_UD)
	ud2
#elif defined(TG_LOOP)
1:	jmp 1b
#elif defined(TG_WAIT)
	movq $100000000, waitb(%rip) /* 100 ms */
	HCALL(PORT_WAIT, $PHYS(waitb))
	HCALL(PORT_EXIT, waitb+16(%rip)) /* exit status = wait's ret (0: timed out normally) */
#elif defined(TG_BADCON)
	movq $-4096, cons(%rip)
	movq $16, cons+8(%rip)
	HCALL(PORT_CONSOLE, $PHYS(cons))
	HCALL(PORT_EXIT, $0)
#elif defined(TG_BADIN)
	/* Console input into memory outside guest RAM: the run ends with a guest error. */
	movq $-4096, inb_(%rip)
	movq $16, inb_+8(%rip)
	HCALL(PORT_INPUT, $PHYS(inb_))
	HCALL(PORT_EXIT, $0)
#elif defined(TG_BIGIN)
	/* Console input longer than UKVM_INPUT_MAX (1 MiB): refused. */
	movq $0x200000, inb_(%rip)
	movq $0x200000, inb_+8(%rip)
	HCALL(PORT_INPUT, $PHYS(inb_))
	HCALL(PORT_EXIT, $0)
#elif defined(TG_WAITIN)
	/* WAIT forever for input (UKVM_WAIT_INPUT): exit status = the wait's ret (-EDEADLK with no input). */
	movq $-1, waitb(%rip)
	movq $2, waitb+8(%rip) /* UKVM_WAIT_INPUT */
	HCALL(PORT_WAIT, $PHYS(waitb))
	HCALL(PORT_EXIT, waitb+16(%rip))
#elif defined(TG_WAITBAD)
	/* WAIT with a flag nobody defined: -EINVAL, as exit status. */
	movq $1000, waitb(%rip)
	movq $0x8000, waitb+8(%rip)
	HCALL(PORT_WAIT, $PHYS(waitb))
	HCALL(PORT_EXIT, waitb+16(%rip))
#elif defined(TG_SERIAL)
	mov $0x3f8, %dx
	mov $'h', %al
	outb %al, %dx
	mov $'i', %al
	outb %al, %dx
	mov $'\n', %al
	outb %al, %dx
	mov $0x3fd, %dx
	inb %dx, %al
	movzbl %al, %ebx
	HCALL(PORT_EXIT, %ebx) /* LSR: 0x60 = THR and transmitter empty */
#elif defined(TG_CMAIN)
	/* A C test guest (e.g. tg_dio.c): its tg_main's return value is the exit status. */
	call tg_main
	HCALL(PORT_EXIT, %eax)
#elif defined(TG_BADPORT)
	/* Port 0x600 is closed in the TSS I/O bitmap: #GP, reported by the stub as SIGSEGV. */
	mov $0x600, %dx
	out %eax, %dx
#else
#error "no TG_ variant"
#endif
1:	jmp 1b
	.size _start, . - _start

	.globl syscall_entry
	.type syscall_entry, @function
syscall_entry:
	jmp *%rcx
	.size syscall_entry, . - syscall_entry

	/* 256 exception stubs, 16 bytes apart: report SIGILL for #UD, else SIGSEGV. Run at CPL0. */
	.balign 16
	.globl exc_stubs
	.type exc_stubs, @function
exc_stubs:
	.set v, 0
	.rept 256
	.balign 16
	mov $PORT_CRASH, %dx
	.if v == 6
	mov $4, %eax
	.else
	mov $11, %eax
	.endif
	out %eax, %dx
	hlt
	.set v, v + 1
	.endr
	.size exc_stubs, . - exc_stubs

	.section .rodata
msg:	.ascii "hello\n"
msg_end:

	.data
	.balign 8
cons:	.quad 0, 0, 0   /* struct ukvm_console */
waitb:	.quad 0, 0, 0   /* struct ukvm_wait */
inb_:	.quad 0, 0, 0, 0 /* struct ukvm_input */

	.section .note.ukvm, "a"
	.balign 4
	.long 5             /* namesz: "ukvm\0" */
	.long 40            /* descsz: struct ukvm_note */
	.long 0x554b0001    /* UKVM_NOTE_TYPE */
	.asciz "ukvm"
	.balign 4
	.long 1, 0          /* abi_version, flags */
	.quad syscall_entry
	.quad exc_stubs
	.quad 0, 0          /* no payload */

	.section .note.GNU-stack, "", @progbits
