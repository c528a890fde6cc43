/* regs.c: what a syscall must leave alone: every GPR but rax/rcx/r11, the red zone, XMM/x87/MXCSR state; prints "regs ok". */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "t_check.h"

/*
 * regs_probe(nr, a0, a1, a2): fills the 128-byte red zone below RSP, every
 * callee- and caller-saved GPR the syscall ABI preserves, and xmm0-15 with
 * patterns, issues SYSCALL nr(a0, a1, a2) with nothing pushed, then returns
 * a bit mask of what changed: bit 0 red zone, bit 1 GPRs, bit 2 XMM.
 */
uint64_t regs_probe(long nr, long a0, long a1, long a2);
__asm__(
	".text\n"
	".globl regs_probe\n"
	"regs_probe:\n"
	"	push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
	"	mov %rdi, %rax\n mov %rsi, %rdi\n mov %rdx, %rsi\n mov %rcx, %rdx\n"
	/* red zone: 16 words of 0x5a5a...+i */
	"	mov $0x5a5a5a5a5a5a5a00, %r11\n"
	"	mov $16, %ecx\n"
	"1:	mov %r11, %rbx\n add %rcx, %rbx\n neg %rcx\n mov %rbx, (%rsp,%rcx,8)\n neg %rcx\n dec %ecx\n jnz 1b\n"
	"	mov $0x1111111111111111, %rbx\n mov $0x2222222222222222, %rbp\n"
	"	mov $0x8888888888888888, %r8\n mov $0x9999999999999999, %r9\n mov $0xaaaaaaaaaaaaaaaa, %r10\n"
	"	mov $0xcccccccccccccccc, %r12\n mov $0xdddddddddddddddd, %r13\n"
	"	mov $0xeeeeeeeeeeeeeeee, %r14\n mov $0xffffffffffffff0f, %r15\n"
	/* xmm i = bytes (i + 1) * 0x11 */
	"	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
	"	mov $((\\i + 1) * 0x0101010101010101), %r11\n movq %r11, %xmm\\i\n pinsrq $1, %r11, %xmm\\i\n"
	"	.endr\n"
	"	mov %rdi, -136(%rsp)\n" /* keep a0/a1/a2 below the red zone for the compare (not pushed: would move RSP) */
	"	syscall\n"
	"	xor %eax, %eax\n"
	/* red zone */
	"	mov $0x5a5a5a5a5a5a5a00, %r11\n"
	"	mov $16, %ecx\n"
	"2:	lea (%r11,%rcx), %rdx\n neg %rcx\n cmp %rdx, (%rsp,%rcx,8)\n je 3f\n or $1, %eax\n"
	"3:	neg %rcx\n dec %ecx\n jnz 2b\n"
	"	mov $0x1111111111111111, %rdx\n cmp %rdx, %rbx\n jne 4f\n"
	"	mov $0x2222222222222222, %rdx\n cmp %rdx, %rbp\n jne 4f\n"
	"	mov $0x8888888888888888, %rdx\n cmp %rdx, %r8\n jne 4f\n"
	"	mov $0x9999999999999999, %rdx\n cmp %rdx, %r9\n jne 4f\n"
	"	mov $0xaaaaaaaaaaaaaaaa, %rdx\n cmp %rdx, %r10\n jne 4f\n"
	"	mov $0xcccccccccccccccc, %rdx\n cmp %rdx, %r12\n jne 4f\n"
	"	mov $0xdddddddddddddddd, %rdx\n cmp %rdx, %r13\n jne 4f\n"
	"	mov $0xeeeeeeeeeeeeeeee, %rdx\n cmp %rdx, %r14\n jne 4f\n"
	"	mov $0xffffffffffffff0f, %rdx\n cmp %rdx, %r15\n jne 4f\n"
	"	cmp -136(%rsp), %rdi\n jne 4f\n"
	"	jmp 5f\n"
	"4:	or $2, %eax\n"
	"5:\n"
	"	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
	"	mov $((\\i + 1) * 0x0101010101010101), %r11\n movq %xmm\\i, %rdx\n cmp %r11, %rdx\n jne 6f\n"
	"	pextrq $1, %xmm\\i, %rdx\n cmp %r11, %rdx\n jne 6f\n"
	"	.endr\n"
	"	jmp 7f\n"
	"6:	or $4, %eax\n"
	"7:	pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n"
	"	ret\n");

static const char msg[] = "regs: write from the probe\n";

int main(void)
{
	/* A cheap syscall, a console write, a failing one and a sleep: all go through the same entry. */
	uint64_t r;
	r = regs_probe(SYS_getpid, 0, 0, 0);
	CHECK(r == 0);
	r = regs_probe(SYS_write, 1, (long)msg, sizeof(msg) - 1);
	CHECK(r == 0);
	r = regs_probe(SYS_close, 12345, 0, 0);
	CHECK(r == 0);
	r = regs_probe(SYS_nanosleep, (long)&(struct timespec){ 0, 1000000 }, 0, 0);
	CHECK(r == 0);
	r = regs_probe(SYS_read, 0, (long)msg, 0);
	CHECK(r == 0);
	if (t_fails)
		fprintf(stderr, "last probe mask %lu\n", (unsigned long)r);

	/* Double arithmetic kept in registers across write() calls: any clobber changes the sum. */
	double acc = 0.0, x = 1.0;
	char line[32];
	for (int i = 1; i <= 200; i++) {
		x *= 1.0001;
		acc += x / i;
		if (i % 20 == 0) {
			int n = snprintf(line, sizeof(line), "step %d\n", i);
			CHECK(write(1, line, (size_t)n) == n);
		}
	}
	double want = 0.0, y = 1.0;
	for (int i = 1; i <= 200; i++) {
		y *= 1.0001;
		want += y / i;
	}
	CHECK(acc == want);
	printf("sum %.12f\n", acc);

	/* MXCSR and the x87 control word: rounding modes set by the app stay set. */
	uint32_t mx = 0, mx2 = 0;
	__asm__ volatile("stmxcsr %0" : "=m"(mx));
	uint32_t mxset = (mx & ~0x6000u) | 0x6000u; /* round toward zero */
	__asm__ volatile("ldmxcsr %0" : : "m"(mxset));
	getppid();
	__asm__ volatile("stmxcsr %0" : "=m"(mx2));
	__asm__ volatile("ldmxcsr %0" : : "m"(mx));
	CHECK(mx2 == mxset);
	uint16_t cw = 0, cw2 = 0, cwset;
	__asm__ volatile("fnstcw %0" : "=m"(cw));
	cwset = (uint16_t)(cw | 0x0c00); /* x87 round toward zero */
	__asm__ volatile("fldcw %0" : : "m"(cwset));
	getppid();
	__asm__ volatile("fnstcw %0" : "=m"(cw2));
	__asm__ volatile("fldcw %0" : : "m"(cw));
	CHECK(cw2 == cwset);
	return t_done("regs");
}
