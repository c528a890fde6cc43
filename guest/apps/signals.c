/* signals.c: signal handlers like Linux: raise/kill, SA_SIGINFO, masks, SA_RESETHAND/NODEFER, registers, faults, sigaltstack. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "t_check.h"

static volatile sig_atomic_t hits, last_sig, last_code, last_pid;
static volatile uint64_t in_mask;
static volatile uintptr_t last_addr, handler_sp;
static volatile int handler_ss_flags;
static sigjmp_buf jb;

static uint64_t cur_mask(void)
{
	sigset_t s;
	uint64_t m;
	sigprocmask(SIG_BLOCK, NULL, &s);
	memcpy(&m, &s, sizeof(m));
	return m;
}

#define BIT(s) (1ull << ((s) - 1))

static void on_plain(int sig)
{
	hits++;
	last_sig = sig;
	in_mask = cur_mask();
}

static void on_info(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	hits++;
	last_sig = sig;
	last_code = si->si_code;
	last_pid = si->si_pid;
	in_mask = cur_mask();
}

static void on_alt(int sig)
{
	char here;
	stack_t ss;
	(void)sig;
	hits++;
	handler_sp = (uintptr_t)&here;
	sigaltstack(NULL, &ss);
	handler_ss_flags = ss.ss_flags;
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	last_sig = sig;
	last_code = si->si_code;
	last_addr = (uintptr_t)si->si_addr;
	in_mask = cur_mask();
	siglongjmp(jb, 1);
}

static void set(int sig, void *fn, int flags, uint64_t mask)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	if (flags & SA_SIGINFO)
		sa.sa_sigaction = (void (*)(int, siginfo_t *, void *))fn;
	else
		sa.sa_handler = (void (*)(int))fn;
	sa.sa_flags = flags;
	memcpy(&sa.sa_mask, &mask, sizeof(mask));
	CHECK(sigaction(sig, &sa, NULL) == 0);
}

/* Registers around a syscall that delivers SIGUSR1 (rdi = out, esi = tid) or a ud2 fault (out only). */
struct regs { uint64_t g[16]; uint64_t x[32]; };
enum { R_RAX, R_RBX, R_RCX, R_RDX, R_RSI, R_RDI, R_RBP, R_R8, R_R9, R_R10, R_R11, R_R12, R_R13, R_R14, R_R15 };
void regs_syscall(struct regs *out, int tid);
void regs_ud2(struct regs *out);
__asm__(".text\n"
	".macro LOADPAT\n"
	"movabs $0x0202020202020202, %rbx\n movabs $0x0404040404040404, %rdx\n"
	"movabs $0x0707070707070707, %rbp\n movabs $0x0808080808080808, %r8\n"
	"movabs $0x0909090909090909, %r9\n movabs $0x0a0a0a0a0a0a0a0a, %r10\n"
	"movabs $0x0c0c0c0c0c0c0c0c, %r12\n movabs $0x0d0d0d0d0d0d0d0d, %r13\n"
	"movabs $0x0e0e0e0e0e0e0e0e, %r14\n movabs $0x0f0f0f0f0f0f0f0f, %r15\n"
	".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n movdqu xpat+16*\\i(%rip), %xmm\\i\n .endr\n"
	".endm\n"
	".macro SAVE\n"
	"push %rax\n mov 8(%rsp), %rax\n"
	"mov %rbx, 8(%rax)\n mov %rcx, 16(%rax)\n mov %rdx, 24(%rax)\n mov %rsi, 32(%rax)\n"
	"mov %rdi, 40(%rax)\n mov %rbp, 48(%rax)\n mov %r8, 56(%rax)\n mov %r9, 64(%rax)\n"
	"mov %r10, 72(%rax)\n mov %r11, 80(%rax)\n mov %r12, 88(%rax)\n mov %r13, 96(%rax)\n"
	"mov %r14, 104(%rax)\n mov %r15, 112(%rax)\n"
	".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n movdqu %xmm\\i, 128+16*\\i(%rax)\n .endr\n"
	"pop %rcx\n mov %rcx, 0(%rax)\n"
	"pop %rdi\n pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n ret\n"
	".endm\n"
	".globl regs_syscall\nregs_syscall:\n"
	"push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n push %rdi\n"
	"mov %esi, %edi\n mov $10, %esi\n mov $200, %eax\n LOADPAT\n syscall\n SAVE\n"
	".globl regs_ud2\nregs_ud2:\n"
	"push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n push %rdi\n"
	"LOADPAT\n movabs $0x0101010101010101, %rax\n movabs $0x0303030303030303, %rcx\n"
	"movabs $0x0505050505050505, %rsi\n movabs $0x0606060606060606, %rdi\n"
	"movabs $0x0b0b0b0b0b0b0b0b, %r11\n ud2\n SAVE\n"
	".section .rodata\n.balign 16\nxpat:\n"
	".irp i,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16\n .quad 0x1111111111111111*\\i, 0x7777777777777777+\\i\n .endr\n"
	".text\n");

/* Clobbers every caller-saved register the kernel must give back. */
static void clobber(void)
{
	__asm__ volatile(".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n pxor %%xmm\\i, %%xmm\\i\n .endr\n"
			 "xor %%r8d, %%r8d\n xor %%r9d, %%r9d\n xor %%r10d, %%r10d\n xor %%r11d, %%r11d\n"
			 "xor %%edi, %%edi\n xor %%esi, %%esi\n xor %%edx, %%edx\n xor %%ecx, %%ecx\n"
			 ::: "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "xmm0", "xmm1", "xmm2", "xmm3",
			 "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
			 "xmm14", "xmm15", "memory");
}

static void on_usr1_clobber(int sig)
{
	(void)sig;
	hits++;
	clobber();
}

static void on_ill_skip(int sig, siginfo_t *si, void *uc)
{
	ucontext_t *u = uc;
	hits++;
	last_sig = sig;
	last_code = si->si_code;
	u->uc_mcontext.gregs[REG_RIP] += 2; /* past the ud2 */
	clobber();
}

static void check_xmm(const struct regs *r)
{
	for (int i = 0; i < 16; i++) {
		CHECK(r->x[2 * i] == 0x1111111111111111ull * (uint64_t)(i + 1));
		CHECK(r->x[2 * i + 1] == 0x7777777777777777ull + (uint64_t)(i + 1));
	}
}

static int *volatile null_ptr;
static volatile int zero;

int main(void)
{
	int tid = (int)syscall(SYS_gettid);
	uint64_t m0 = cur_mask();

	/* raise: the handler runs before raise returns; mask = the signal while inside, restored after. */
	set(SIGUSR1, on_plain, 0, 0);
	CHECK(raise(SIGUSR1) == 0);
	CHECK(hits == 1 && last_sig == SIGUSR1);
	CHECK(in_mask == (m0 | BIT(SIGUSR1)));
	CHECK(cur_mask() == m0);

	/* SA_SIGINFO from tkill (raise) and kill; sa_mask joins the handler's mask. */
	set(SIGUSR2, on_info, SA_SIGINFO, BIT(SIGTERM));
	CHECK(raise(SIGUSR2) == 0);
	CHECK(hits == 2 && last_sig == SIGUSR2 && last_code == SI_TKILL);
	CHECK(in_mask == (m0 | BIT(SIGUSR2) | BIT(SIGTERM)));
	CHECK(kill(getpid(), SIGUSR2) == 0);
	CHECK(hits == 3 && last_code == SI_USER && last_pid == getpid());
	CHECK(cur_mask() == m0);

	/* Blocked: pending until unblocked, then delivered by the unblocking call. */
	sigset_t s, old;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigprocmask(SIG_BLOCK, &s, &old);
	raise(SIGUSR1);
	CHECK(hits == 3);
	sigprocmask(SIG_SETMASK, &old, NULL);
	CHECK(hits == 4 && last_sig == SIGUSR1);

	/* SA_NODEFER leaves the signal unblocked; SA_RESETHAND runs once then SIG_DFL. */
	set(SIGUSR1, on_plain, SA_NODEFER | SA_RESETHAND, 0);
	raise(SIGUSR1);
	CHECK(hits == 5 && in_mask == m0);
	struct sigaction q;
	CHECK(sigaction(SIGUSR1, NULL, &q) == 0 && q.sa_handler == SIG_DFL);

	/* Every register but RCX/R11 (and RAX: the result) survives a handler run at a syscall. */
	struct regs r;
	memset(&r, 0, sizeof(r));
	set(SIGUSR1, on_usr1_clobber, 0, 0);
	regs_syscall(&r, tid);
	CHECK(hits == 6);
	CHECK(r.g[R_RAX] == 0);
	CHECK(r.g[R_RBX] == 0x0202020202020202ull && r.g[R_RDX] == 0x0404040404040404ull);
	CHECK(r.g[R_RSI] == SIGUSR1 && r.g[R_RDI] == (uint64_t)tid && r.g[R_RBP] == 0x0707070707070707ull);
	CHECK(r.g[R_R8] == 0x0808080808080808ull && r.g[R_R9] == 0x0909090909090909ull);
	CHECK(r.g[R_R10] == 0x0a0a0a0a0a0a0a0aull && r.g[R_R12] == 0x0c0c0c0c0c0c0c0cull);
	CHECK(r.g[R_R13] == 0x0d0d0d0d0d0d0d0dull && r.g[R_R14] == 0x0e0e0e0e0e0e0e0eull);
	CHECK(r.g[R_R15] == 0x0f0f0f0f0f0f0f0full);
	check_xmm(&r);

	/* A fault's handler that moves RIP on: every register, RCX and R11 too, comes back. */
	memset(&r, 0, sizeof(r));
	set(SIGILL, on_ill_skip, SA_SIGINFO, 0);
	regs_ud2(&r);
	CHECK(hits == 7 && last_sig == SIGILL && last_code == ILL_ILLOPN);
	for (int i = R_RAX; i <= R_R15; i++)
		CHECK(r.g[i] == 0x0101010101010101ull * (uint64_t)(i + 1));
	check_xmm(&r);

	/* SIGSEGV on a NULL store: the handler siglongjmps out; the mask comes back. */
	set(SIGSEGV, on_fault, SA_SIGINFO, 0);
	if (sigsetjmp(jb, 1) == 0) {
		*null_ptr = 1;
		CHECK(!"store through NULL went on");
	}
	CHECK(last_sig == SIGSEGV && last_code == SEGV_MAPERR && last_addr == 0);
	CHECK(in_mask == (m0 | BIT(SIGSEGV)));
	CHECK(cur_mask() == m0);

	/* SIGFPE on integer division by zero. */
	set(SIGFPE, on_fault, SA_SIGINFO, 0);
	if (sigsetjmp(jb, 1) == 0) {
		volatile int q2 = 7 / zero;
		(void)q2;
		CHECK(!"division by zero went on");
	}
	CHECK(last_sig == SIGFPE && last_code == FPE_INTDIV);
	CHECK(cur_mask() == m0);

	/* sigaltstack + SA_ONSTACK: the handler runs on it and sees SS_ONSTACK. */
	static char alt[65536];
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof(alt), .ss_flags = 0 };
	CHECK(sigaltstack(&ss, NULL) == 0);
	set(SIGUSR2, on_alt, SA_ONSTACK, 0);
	raise(SIGUSR2);
	CHECK(hits == 8);
	CHECK(handler_sp > (uintptr_t)alt && handler_sp < (uintptr_t)alt + sizeof(alt));
	CHECK(handler_ss_flags == SS_ONSTACK);
	stack_t now;
	CHECK(sigaltstack(NULL, &now) == 0 && now.ss_flags == 0);
	return t_done("signals");
}
