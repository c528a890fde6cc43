/* vdso_blob.S: the vDSO image (built from guest/vdso/) in the kernel, right after its clock page (struct k_vvar). */
	.section .data.vdso, "aw"
	.balign 4096
	.globl k_vvar
k_vvar:                 /* written once by k_clock_init; the vDSO finds it 4096 bytes below itself */
	.skip 4096
	.globl k_vdso_start
k_vdso_start:
	.incbin VDSO_IMAGE
	.globl k_vdso_end
k_vdso_end:
	.balign 4096
	.section .note.GNU-stack, "", @progbits
