/* sys_signal.c: signal dispositions, the signal mask, the alternate stack and kill/tkill/tgkill to the app itself. */
#include <linux/errno.h>

#include "k.h"
#include "linux_abi.h"
#include "sys.h"

/*
 * There is no asynchronous delivery and no signal frame: a signal only ever
 * comes from the app itself (kill/tkill/tgkill) and is acted on when it is
 * raised or, if it was blocked, when rt_sigprocmask unblocks it. Default
 * "terminate" actions end the VM with the signal (status 128 + N); ignored
 * signals are dropped; a signal whose handler the app installed is dropped
 * with a one-time warning because running a handler needs a signal frame
 * the syscall path does not build. musl's abort() copes: it raises SIGABRT
 * (blocked around the tkill, so delivered at the unblock), then resets
 * SIGABRT to SIG_DFL, raises it again blocked and unblocks it: it always
 * ends here with "ukvm: app killed by signal 6 (SIGABRT)" and status 134.
 */
static struct lx_sigaction sig_act[LX_NSIG + 1];
static uint64_t sig_mask;
static uint64_t sig_pending;
static uint64_t sig_warned;
static struct lx_stack sig_altstack = { 0, LX_SS_DISABLE, 0, 0 };

#define SIG_BIT(s) (1ull << ((s) - 1))
#define SIG_UNBLOCKABLE (SIG_BIT(LX_SIGKILL) | SIG_BIT(LX_SIGSTOP))

static const char *const sig_names[32] = {
	"?", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS",
	"SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM",
	"SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG",
	"SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
};

static const char *sig_name(int sig)
{
	return sig > 0 && sig < 32 ? sig_names[sig] : "SIGRT";
}

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
static bool sig_ignored(int sig)
{
	uint64_t h = sig_act[sig].handler;

	if (sig == LX_SIGKILL)
		return false;
	return h == LX_SIG_IGN || (h == LX_SIG_DFL && sig_default_ignored(sig));
}

/* Acts on an unblocked signal: terminate (does not return), drop, or warn that a handler cannot run. */
static void sig_act_on(int sig)
{
	if (sig_ignored(sig))
		return;
	if (sig == LX_SIGKILL || sig_act[sig].handler == LX_SIG_DFL) {
		k_printf("ukvm: app killed by signal %d (%s)\n", sig, sig_name(sig));
		k_crash(sig);
	}
	if (!(sig_warned & SIG_BIT(sig))) {
		sig_warned |= SIG_BIT(sig);
		k_printf("ukvm: signal %d (%s) has a handler but ukvm cannot run signal handlers: dropped\n",
			 sig, sig_name(sig));
	}
}

/* Raises sig at the app: pending while blocked, else acted on at once. */
static long sig_raise(long sig)
{
	if (sig < 0 || sig > LX_NSIG)
		return -EINVAL;
	if (sig == 0)
		return 0;
	if (sig_ignored((int)sig))
		return 0;
	if (sig_mask & SIG_BIT(sig))
		sig_pending |= SIG_BIT(sig);
	else
		sig_act_on((int)sig);
	return 0;
}

/* Acts on every pending signal the mask no longer blocks, lowest first like Linux's standard signals. */
static void sig_deliver_pending(void)
{
	uint64_t ready = sig_pending & ~sig_mask;

	for (int sig = 1; ready; sig++, ready >>= 1) {
		if (ready & 1) {
			sig_pending &= ~SIG_BIT(sig);
			sig_act_on(sig);
		}
	}
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
		*oact = sig_act[a0];
	}
	if (act) {
		nu.mask &= ~SIG_UNBLOCKABLE;
		sig_act[a0] = nu;
		/* POSIX: setting a pending signal to be ignored discards it. */
		if (sig_ignored((int)a0))
			sig_pending &= ~SIG_BIT(a0);
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
		*oset = sig_mask;
	}
	if (!set)
		return 0;
	if (a0 == LX_SIG_BLOCK)
		sig_mask |= nu;
	else if (a0 == LX_SIG_UNBLOCK)
		sig_mask &= ~nu;
	else
		sig_mask = nu;
	sig_mask &= ~SIG_UNBLOCKABLE;
	sig_deliver_pending();
	return 0;
}

/* sigaltstack(ss, oss): remembered and reported; never used since handlers never run. */
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
	if (oss) {
		if (!k_user_ok(oss, sizeof(*oss)))
			return -EFAULT;
		*oss = sig_altstack;
	}
	if (ss)
		sig_altstack = nu;
	return 0;
}

/* kill(pid, sig): pid 0 (our process group) and 1 (us) reach the app; there is nobody else. */
long sys_kill(SYS_ARGS)
{
	if (a1 < 0 || a1 > LX_NSIG)
		return -EINVAL;
	if (a0 != 0 && a0 != 1)
		return -ESRCH;
	return sig_raise(a1);
}

long sys_tkill(SYS_ARGS)
{
	if (a0 <= 0)
		return -EINVAL;
	if (a0 != 1)
		return -ESRCH;
	return sig_raise(a1);
}

long sys_tgkill(SYS_ARGS)
{
	if (a0 <= 0 || a1 <= 0)
		return -EINVAL;
	if (a0 != 1 || a1 != 1)
		return -ESRCH;
	return sig_raise(a2);
}
