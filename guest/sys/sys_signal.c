/* sys_signal.c: signal dispositions, the signal mask, the alternate stack and kill/tkill/tgkill to the app itself. */
#include <linux/errno.h>

#include "arch.h"
#include "k.h"
#include "linux_abi.h"
#include "sig.h"
#include "sys.h"
#include "thread.h"

/*
 * A signal comes from the app itself (kill/tkill/tgkill), a fault
 * (guest/sys/sig_frame.c), a timer, or from outside the VM (sig_host.c). A
 * raised signal is acted on at once or, if it was blocked, when
 * rt_sigprocmask unblocks it: default "terminate" actions end the VM with
 * the signal (status 128 + N); ignored signals are dropped; a signal with
 * a handler stays pending until the syscall returns, where the exit path
 * builds its frame and the app continues in the handler (like Linux, which
 * delivers on the way back to user mode). musl's abort() raises SIGABRT
 * once (a handler runs and may return), then resets it to SIG_DFL and
 * raises it again: "ukvm: app killed by signal 6 (SIGABRT)", status 134.
 */
struct sig_state k_sig = { .altstack = { 0, LX_SS_DISABLE, 0, 0 } };

/*
 * Default action "ignore" (SIGCHLD, SIGURG, SIGWINCH), "continue", or "stop":
 * there is no job control and nobody could ever continue a stopped app, so
 * stops are ignored rather than hanging the VM.
 */
static bool sig_default_ignored(int sig)
{
	switch (sig) {
	case LX_SIGCHLD:
	case LX_SIGURG:
	case LX_SIGWINCH:
	case LX_SIGCONT:
	case LX_SIGSTOP:
	case LX_SIGTSTP:
	case LX_SIGTTIN:
	case LX_SIGTTOU:
		return true;
	default:
		return false;
	}
}

/* True when raising sig now would be dropped anyway: ignored explicitly or by default. */
bool k_sig_ignored(int sig)
{
	uint64_t h = k_sig.act[sig].handler;

	if (sig == LX_SIGKILL)
		return false;
	return h == LX_SIG_IGN || (h == LX_SIG_DFL && sig_default_ignored(sig));
}

bool k_sig_act_on(int sig)
{
	if (k_sig_ignored(sig))
		return false;
	if (sig == LX_SIGKILL || k_sig.act[sig].handler == LX_SIG_DFL) {
		k_printf("ukvm: app killed by signal %d (%s)\n", sig, ukvm_signal_name((uint32_t)sig));
		k_hypercall_crash(sig);
	}
	return true;
}

/* Raises sig at the app (si_code code): pending while blocked or until the syscall returns to a handler. */
static long sig_raise(long sig, int code)
{
	if (sig < 0 || sig > LX_NSIG)
		return -EINVAL;
	if (sig == 0)
		return 0;
	if (k_sig_ignored((int)sig))
		return 0;
	k_sig.code[sig] = code;
	k_sig.info16[sig] = 1; /* si_pid 1 (the app), si_uid 0 */
	k_sig.info24[sig] = 0;
	if ((k_sig.mask & SIG_BIT(sig)) || k_sig_act_on((int)sig))
		k_sig.pending |= SIG_BIT(sig);
	return 0;
}

void k_sig_raise(int sig)
{
	(void)sig_raise(sig, LX_SI_USER);
}

/* Acts on every pending signal the mask no longer blocks, lowest first like Linux's standard signals. */
static void sig_deliver_pending(void)
{
	uint64_t ready = k_sig.pending & ~k_sig.mask;

	for (int sig = 1; ready; sig++, ready >>= 1) {
		if ((ready & 1) && !k_sig_act_on(sig))
			k_sig.pending &= ~SIG_BIT(sig);
	}
}

bool k_sig_on_altstack(uint64_t sp)
{
	const struct lx_stack *a = &k_sig.altstack;

	/* Linux's on_sig_stack(): the stack grows down, so its top is still "on" it. */
	return !(a->ss_flags & LX_SS_DISABLE) && sp > a->ss_sp && sp - a->ss_sp <= a->ss_size;
}

/* rt_sigaction(sig, act, oact, sigsetsize) */
long sys_rt_sigaction(SYS_ARGS)
{
	const struct lx_sigaction *act = (const struct lx_sigaction *)a1;
	struct lx_sigaction *oact = (struct lx_sigaction *)a2, nu;

	if (a3 != 8 || a0 < 1 || a0 > LX_NSIG)
		return -EINVAL;
	if (act && (a0 == LX_SIGKILL || a0 == LX_SIGSTOP))
		return -EINVAL;
	if (act) {
		if (!k_user_ok(act, sizeof(*act)))
			return -EFAULT;
		nu = *act;
	}
	if (oact) {
		if (!k_user_ok(oact, sizeof(*oact)))
			return -EFAULT;
		*oact = k_sig.act[a0];
	}
	if (act) {
		nu.mask &= ~SIG_UNBLOCKABLE;
		k_sig.act[a0] = nu;
		/* POSIX: setting a pending signal to be ignored discards it. */
		if (k_sig_ignored((int)a0))
			k_sig.pending &= ~SIG_BIT(a0);
		k_sig_host_caught();
	}
	return 0;
}

/* rt_sigprocmask(how, set, oset, sigsetsize) */
long sys_rt_sigprocmask(SYS_ARGS)
{
	const uint64_t *set = (const uint64_t *)a1;
	uint64_t *oset = (uint64_t *)a2, nu = 0;

	if (a3 != 8)
		return -EINVAL;
	if (set) {
		if (a0 != LX_SIG_BLOCK && a0 != LX_SIG_UNBLOCK && a0 != LX_SIG_SETMASK)
			return -EINVAL;
		if (!k_user_ok(set, sizeof(*set)))
			return -EFAULT;
		nu = *set;
	}
	if (oset) {
		if (!k_user_ok(oset, sizeof(*oset)))
			return -EFAULT;
		*oset = k_sig.mask;
	}
	if (!set)
		return 0;
	if (a0 == LX_SIG_BLOCK)
		k_sig.mask |= nu;
	else if (a0 == LX_SIG_UNBLOCK)
		k_sig.mask &= ~nu;
	else
		k_sig.mask = nu;
	k_sig.mask &= ~SIG_UNBLOCKABLE;
	sig_deliver_pending();
	return 0;
}

/* sigaltstack(ss, oss): used by handlers installed with SA_ONSTACK; cannot change while the app runs on it. */
long sys_sigaltstack(SYS_ARGS)
{
	const struct lx_stack *ss = (const struct lx_stack *)a0;
	struct lx_stack *oss = (struct lx_stack *)a1, nu;

	if (ss) {
		if (!k_user_ok(ss, sizeof(*ss)))
			return -EFAULT;
		nu = *ss;
		int mode = nu.ss_flags & ~(int)LX_SS_AUTODISARM;
		/* Linux takes SS_ONSTACK as a synonym of 0 for old programs. */
		if (mode != 0 && mode != LX_SS_ONSTACK && mode != LX_SS_DISABLE)
			return -EINVAL;
		if (mode == LX_SS_DISABLE) {
			nu.ss_sp = 0;
			nu.ss_size = 0;
			nu.ss_flags = LX_SS_DISABLE;
		} else {
			if (nu.ss_size < LX_MINSIGSTKSZ)
				return -ENOMEM;
			nu.ss_flags &= (int)LX_SS_AUTODISARM;
		}
	}
	bool on = k_sig_on_altstack(k_sys_user_rsp);
	if (ss && on)
		return -EPERM;
	if (oss) {
		if (!k_user_ok(oss, sizeof(*oss)))
			return -EFAULT;
		*oss = k_sig.altstack;
		if (on)
			oss->ss_flags |= LX_SS_ONSTACK;
	}
	if (ss)
		k_sig.altstack = nu;
	return 0;
}

static long sig_post(int tid, int sig, int code, uint32_t pid);

/*
 * kill(pid, sig): pid 0 (our process group) and 1 (us) reach the app; there
 * is nobody else. A process-directed signal goes to a thread that does not
 * block it, the caller first, as Linux's complete_signal picks; when every
 * thread blocks it, it waits in the caller's pending set.
 */
long sys_kill(SYS_ARGS)
{
	if (a1 < 0 || a1 > LX_NSIG)
		return -EINVAL;
	if (a0 != 0 && a0 != 1)
		return -ESRCH;
	if (a1 > 0 && (k_sig.mask & SIG_BIT(a1)) && !k_sig_ignored((int)a1)) {
		long rc = sig_post(0, (int)a1, LX_SI_USER, 1);
		if (rc != -ESRCH)
			return rc;
	}
	return sig_raise(a1, LX_SI_USER);
}

/*
 * A signal for one thread. The running one takes it like any raise; another
 * (blocked in a syscall, as every non-running thread is) gets it pending in
 * its own set, which interrupts its wait with EINTR unless it blocks the
 * signal; its handler runs when that syscall returns. Default actions act on
 * the whole process at once, as in Linux, but only once the target does not
 * block the signal (sigprocmask acts on it then; it dies with the thread).
 */
static long sig_post(int tid, int sig, int code, uint32_t pid)
{
	k_sig.code[sig] = code;
	k_sig.info16[sig] = pid; /* si_pid, si_uid 0 */
	k_sig.info24[sig] = 0;
	long rc = k_thr_post(tid, sig);
	if (rc == 0 && (sig == LX_SIGKILL || k_sig.act[sig].handler == LX_SIG_DFL))
		k_sig_act_on(sig);
	return rc < 0 ? rc : 0;
}

static long sig_thread(long tid, long sig, int code)
{
	if (sig < 0 || sig > LX_NSIG)
		return -EINVAL;
	if (tid == k_thr_tid())
		return sig_raise(sig, code);
	if (!k_thr_exists((int)tid))
		return -ESRCH;
	if (sig == 0 || k_sig_ignored((int)sig))
		return 0;
	return sig_post((int)tid, (int)sig, code, 1);
}

long k_sig_process(int sig, uint32_t pid)
{
	if (sig < 1 || sig > LX_NSIG)
		return -EINVAL;
	if (k_sig_ignored(sig))
		return 0;
	int tid = k_thr_pick(sig);
	return tid ? sig_post(tid, sig, LX_SI_USER, pid) : -ESRCH;
}

long sys_tkill(SYS_ARGS)
{
	if (a0 <= 0)
		return -EINVAL;
	return sig_thread(a0, a1, LX_SI_TKILL);
}

long sys_tgkill(SYS_ARGS)
{
	if (a0 <= 0 || a1 <= 0)
		return -EINVAL;
	if (a0 != 1)
		return -ESRCH;
	return sig_thread(a1, a2, LX_SI_TKILL);
}
