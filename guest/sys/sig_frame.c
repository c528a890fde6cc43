/* sig_frame.c: runs the app's signal handlers: builds Linux's rt_sigframe at syscall exit or on a fault, and rt_sigreturn. */
#include <linux/errno.h>

#include "arch.h"
#include "k.h"
#include "linux_abi.h"
#include "sig.h"
#include "sys.h"

/* RFLAGS bits the app may set through rt_sigreturn (Linux's FIX_EFLAGS without TF, RF and NT). */
#define SIG_USER_FLAGS 0x40dd5ull /* CF PF AF ZF SF DF OF AC */
#define SIG_FLAG_TF 0x100ull
#define SIG_FLAG_DF 0x400ull
#define SIG_FLAG_RF 0x10000ull
#define SIG_RED_ZONE 128
#define SIG_USER_TOP (1ull << 47) /* the app's half: the kernel image and its alias lie above */

/* rt_sigreturn's FPU image goes through here: fxrstor64 needs 16-byte alignment and a sane MXCSR. */
static uint8_t sig_fx[LX_FXSAVE_SIZE] __attribute__((aligned(16)));
static uint32_t sig_mxcsr_mask;

/* Everything the frame holds, lowest address first on the app's stack: frame, then the fxsave area. */
static bool sig_range_ok(uint64_t lo, uint64_t hi)
{
	return lo < hi && hi <= SIG_USER_TOP && k_user_ok((const void *)(uintptr_t)lo, hi - lo);
}

static void sig_fxsave(void *p)
{
	__asm__ volatile("fxsave64 %0" : "=m"(*(uint8_t(*)[LX_FXSAVE_SIZE])p));
}

/* MXCSR bits the CPU accepts (fxsave's MXCSR_MASK; 0 there means the architectural 0xffbf). */
static uint32_t sig_mxcsr_ok(void)
{
	if (!sig_mxcsr_mask) {
		uint32_t m;
		sig_fxsave(sig_fx);
		__builtin_memcpy(&m, sig_fx + 28, 4);
		sig_mxcsr_mask = m ? m : 0xffbf;
	}
	return sig_mxcsr_mask;
}

/*
 * Turns r (the app's state at a syscall or fault) into a call of sig's
 * handler on a Linux rt_sigframe; fault = { err, trapno, cr2 }. False when
 * the frame does not fit in the app's memory (the caller kills it).
 */
static bool sig_build(struct k_uregs *r, int sig, const struct lx_siginfo *info, const uint64_t fault[3])
{
	struct lx_sigaction *a = &k_sig.act[sig];
	struct lx_stack old_ss = k_sig.altstack;
	bool on = k_sig_on_altstack(r->rsp);
	uint64_t sp = r->rsp - SIG_RED_ZONE;

	/* x86-64 Linux needs SA_RESTORER: without a return path the handler could only crash. */
	if (!(a->flags & LX_SA_RESTORER) || !a->restorer)
		return false;
	if (old_ss.ss_flags & LX_SS_DISABLE)
		old_ss.ss_flags = LX_SS_DISABLE;
	else
		old_ss.ss_flags = (on ? LX_SS_ONSTACK : 0) | (old_ss.ss_flags & (int)LX_SS_AUTODISARM);
	bool use_alt = (a->flags & LX_SA_ONSTACK) && !(k_sig.altstack.ss_flags & LX_SS_DISABLE) && !on;
	if (use_alt)
		sp = k_sig.altstack.ss_sp + k_sig.altstack.ss_size;
	uint64_t fp = (sp - LX_FXSAVE_SIZE) & ~63ull;
	uint64_t top = fp + LX_FXSAVE_SIZE;
	/* At handler entry (RSP + 8) % 16 == 0, as after a call. */
	sp = ((fp - sizeof(struct lx_rt_sigframe)) & ~15ull) - 8;
	if (sp > fp || !sig_range_ok(sp, top))
		return false;

	struct lx_rt_sigframe *f = (struct lx_rt_sigframe *)(uintptr_t)sp;
	struct lx_sigcontext *m = &f->uc.uc_mcontext;
	sig_fxsave((void *)(uintptr_t)fp);
	__builtin_memset(f, 0, sizeof(*f));
	f->pretcode = a->restorer;
	f->uc.uc_stack = old_ss;
	m->r8 = r->r8, m->r9 = r->r9, m->r10 = r->r10, m->r11 = r->r11;
	m->r12 = r->r12, m->r13 = r->r13, m->r14 = r->r14, m->r15 = r->r15;
	m->rdi = r->rdi, m->rsi = r->rsi, m->rbp = r->rbp, m->rbx = r->rbx;
	m->rdx = r->rdx, m->rax = r->rax, m->rcx = r->rcx, m->rsp = r->rsp;
	m->rip = r->rip, m->eflags = r->rflags;
	m->cs = 0x33, m->ss = 0x2b;
	m->err = fault[0], m->trapno = fault[1], m->cr2 = fault[2];
	m->oldmask = k_sig.mask_saved ? k_sig.saved_mask : k_sig.mask;
	m->fpstate = fp;
	f->uc.uc_sigmask = m->oldmask;
	f->info = *info;

	if (use_alt && (k_sig.altstack.ss_flags & (int)LX_SS_AUTODISARM)) {
		k_sig.altstack.ss_sp = 0;
		k_sig.altstack.ss_size = 0;
		k_sig.altstack.ss_flags = LX_SS_DISABLE;
	}
	uint64_t handler = a->handler;
	k_sig.mask |= a->mask | (a->flags & LX_SA_NODEFER ? 0 : SIG_BIT(sig));
	k_sig.mask &= ~SIG_UNBLOCKABLE;
	if (a->flags & LX_SA_RESETHAND) {
		a->handler = LX_SIG_DFL;
		a->flags &= ~LX_SA_SIGINFO;
		k_sig_host_caught();
	}
	/* handler(sig, &info, &uc) returns to pretcode (musl's __restore_rt: rt_sigreturn). */
	r->rdi = (uint64_t)sig;
	r->rsi = (uint64_t)(uintptr_t)&f->info;
	r->rdx = (uint64_t)(uintptr_t)&f->uc;
	r->rax = 0;
	r->rsp = sp;
	r->rip = handler;
	r->rflags &= ~(SIG_FLAG_DF | SIG_FLAG_TF | SIG_FLAG_RF);
	return true;
}

/* Re-executes the interrupted SYSCALL (2 bytes) with its number: Linux's restart of ERESTARTSYS. */
static void sig_restart(struct k_uregs *f, uint64_t nr)
{
	f->rax = nr;
	f->rip -= 2;
}

/* A ppoll/pselect6 wait mask ends with its syscall when no handler frame took the saved one (sig.h). */
static void sig_unsave_mask(void)
{
	if (k_sig.mask_saved)
		k_sig.mask = k_sig.saved_mask;
	k_sig.mask_saved = false;
}

void k_sig_info(int sig, struct lx_siginfo *info)
{
	__builtin_memset(info, 0, sizeof(*info));
	info->si_signo = sig;
	info->si_code = k_sig.code[sig];
	info->si_addr_or_pid_uid = k_sig.info16[sig];
	if (info->si_code == K_SI_TIMER)
		info->si_addr_or_pid_uid = k_timer_delivered((int)(uint32_t)k_sig.info16[sig]);
	__builtin_memcpy(info->rest, &k_sig.info24[sig], sizeof(uint64_t));
}

long k_sig_syscall_exit(struct k_uregs *f, long ret)
{
	long full = k_sig.restored;
	uint64_t ready, nr = f->rax;

	k_sig_host_take();
	/* rt_sigreturn's "result" is the app's RAX, which may be anything: never a restart request. */
	bool restart = !full && (ret == -K_ERESTARTSYS || ret == -K_ERESTARTNOINTR || ret == -K_ERESTARTNOHAND);

	f->rax = (uint64_t)(restart ? -EINTR : ret);
	k_sig.restored = false;
	ready = k_sig.pending & ~k_sig.mask;
	if (__builtin_expect(!ready, 1)) {
		sig_unsave_mask();
		if (restart)
			sig_restart(f, nr);
		return full;
	}
	/* One signal per return: its handler's rt_sigreturn comes back here for the next. */
	int sig = __builtin_ctzll(ready) + 1;
	k_sig.pending &= ~SIG_BIT(sig);
	if (!k_sig_act_on(sig)) {
		sig_unsave_mask();
		if (restart)
			sig_restart(f, nr);
		return full;
	}
	/* With a handler to run: ERESTARTSYS restarts under SA_RESTART, ERESTARTNOINTR always, ERESTARTNOHAND never. */
	if (restart && (ret == -K_ERESTARTNOINTR || (ret == -K_ERESTARTSYS && (k_sig.act[sig].flags & LX_SA_RESTART))))
		sig_restart(f, nr); /* the handler's frame saves the restart point */
	struct lx_siginfo info;
	k_sig_info(sig, &info);
	const uint64_t none[3] = { 0, 0, 0 };
	if (!sig_build(f, sig, &info, none)) {
		k_printf("ukvm: cannot build the frame of signal %d (%s) below RSP 0x%lx (no room, or no SA_RESTORER): killed by SIGSEGV\n",
			 sig, ukvm_signal_name((uint32_t)sig), (unsigned long)f->rsp);
		k_hypercall_crash(LX_SIGSEGV);
	}
	k_sig.mask_saved = false; /* the frame holds it */
	return 1;
}

long k_sig_return(struct k_uregs *f)
{
	/* The handler's `ret` popped pretcode: the ucontext starts at the RSP of this syscall. */
	uint64_t sp = f->rsp;
	const struct lx_ucontext *uc = (const struct lx_ucontext *)(uintptr_t)sp;
	const struct lx_sigcontext *m = &uc->uc_mcontext;

	if (!sig_range_ok(sp, sp + sizeof(*uc)) || m->rip >= SIG_USER_TOP)
		goto bad;
	if (m->fpstate) {
		if (m->fpstate & 15 || !sig_range_ok(m->fpstate, m->fpstate + LX_FXSAVE_SIZE))
			goto bad;
		uint32_t ok = sig_mxcsr_ok(), mxcsr;
		__builtin_memcpy(sig_fx, (const void *)(uintptr_t)m->fpstate, LX_FXSAVE_SIZE);
		__builtin_memcpy(&mxcsr, sig_fx + 24, 4);
		mxcsr &= ok; /* a reserved bit would make fxrstor64 fault in the kernel */
		__builtin_memcpy(sig_fx + 24, &mxcsr, 4);
		__asm__ volatile("fxrstor64 %0" : : "m"(*(const uint8_t(*)[LX_FXSAVE_SIZE])sig_fx));
	}
	f->r8 = m->r8, f->r9 = m->r9, f->r10 = m->r10, f->r11 = m->r11;
	f->r12 = m->r12, f->r13 = m->r13, f->r14 = m->r14, f->r15 = m->r15;
	f->rdi = m->rdi, f->rsi = m->rsi, f->rbp = m->rbp, f->rbx = m->rbx;
	f->rdx = m->rdx, f->rcx = m->rcx, f->rsp = m->rsp, f->rip = m->rip;
	f->rflags = (f->rflags & ~SIG_USER_FLAGS) | (m->eflags & SIG_USER_FLAGS);
	k_sig.mask = uc->uc_sigmask & ~SIG_UNBLOCKABLE;
	/* SS_AUTODISARM turned the alternate stack off for the handler; it comes back now. */
	if (!(uc->uc_stack.ss_flags & LX_SS_DISABLE) && (uc->uc_stack.ss_flags & (int)LX_SS_AUTODISARM) &&
	    uc->uc_stack.ss_size >= LX_MINSIGSTKSZ && !k_sig_on_altstack(f->rsp)) {
		k_sig.altstack = uc->uc_stack;
		k_sig.altstack.ss_flags = (int)LX_SS_AUTODISARM;
	}
	k_sig.restored = true;
	return (long)m->rax;
bad:
	k_printf("ukvm: rt_sigreturn with a bad frame at RSP 0x%lx: killed by SIGSEGV\n", (unsigned long)sp);
	k_hypercall_crash(LX_SIGSEGV);
}

/* si_code and si_addr of a fault, as Linux's trap handlers fill them. */
static void sig_fault_info(const struct k_exc_state *s, struct lx_siginfo *info)
{
	info->si_code = LX_SI_KERNEL;
	switch (s->vector) {
	case 14:
		/* A protected page (not present) of a mapping is an access error too, as Linux's vma check says. */
		info->si_code = (s->error & 1) || sys_mm_mapped_at(s->cr2) ? LX_SEGV_ACCERR : LX_SEGV_MAPERR;
		info->si_addr_or_pid_uid = s->cr2;
		break;
	case 0:
		info->si_code = LX_FPE_INTDIV;
		info->si_addr_or_pid_uid = s->rip;
		break;
	case 16: case 19:
		info->si_code = LX_FPE_FLTINV;
		info->si_addr_or_pid_uid = s->rip;
		break;
	case 6:
		info->si_code = LX_ILL_ILLOPN;
		info->si_addr_or_pid_uid = s->rip;
		break;
	case 17:
		info->si_code = LX_BUS_ADRALN;
		info->si_addr_or_pid_uid = s->cr2;
		break;
	case 1:
		info->si_code = LX_TRAP_BRKPT;
		break;
	default:
		break; /* #GP and #BP: SI_KERNEL, no address */
	}
}

void k_sig_fault(const struct k_exc_state *s, int sig)
{
	static struct k_uregs r;
	const struct lx_sigaction *a = &k_sig.act[sig];

	/* Only the app's own faults; a blocked or defaulted fault signal kills like Linux's force_sig. */
	if (s->rip >= SIG_USER_TOP || (k_sig.mask & SIG_BIT(sig)))
		return;
	if (a->handler == LX_SIG_DFL || a->handler == LX_SIG_IGN)
		return;
	r = (struct k_uregs){
		.rdi = s->rdi, .rsi = s->rsi, .rdx = s->rdx, .r10 = s->r10, .r8 = s->r8, .r9 = s->r9,
		.rax = s->rax, .rbx = s->rbx, .rbp = s->rbp, .r12 = s->r12, .r13 = s->r13,
		.r14 = s->r14, .r15 = s->r15, .rcx = s->rcx, .r11 = s->r11,
		.rip = s->rip, .cs = 0x33, .rflags = s->rflags, .rsp = s->rsp, .ss = 0x2b,
	};
	struct lx_siginfo info = { .si_signo = sig };
	sig_fault_info(s, &info);
	const uint64_t fault[3] = { s->error, s->vector, s->cr2 };
	if (!sig_build(&r, sig, &info, fault))
		return;
	k_exc_busy = 0; /* the handler may fault in turn: that is a new report */
	k_user_resume(&r);
}
