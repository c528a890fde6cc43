/* note.S: the ukvm PT_NOTE (struct ukvm_note) naming the ABI version, LSTAR target and exception stubs. */
	.section .note.ukvm, "a"
	.balign 4
	.long 5                 /* namesz: "ukvm\0" */
	.long 40                /* descsz: sizeof(struct ukvm_note) */
	.long 0x554b0001        /* UKVM_NOTE_TYPE */
	.asciz "ukvm"
	.balign 4
	.globl k_note_desc
k_note_desc:
	.long 1                 /* abi_version = UKVM_ABI_VERSION */
	.long 1                 /* flags: UKVM_NOTE_STACK_GUARD (boot.c reads ukvm,stack-guard) */
	.quad k_syscall_entry   /* syscall_entry (LSTAR) */
	.quad k_exc_stubs       /* exc_stubs */
	.quad 0                 /* payload_gpa: ukvm-build rewrites it */
	.quad 0                 /* payload_size */
	.section .note.GNU-stack, "", @progbits
