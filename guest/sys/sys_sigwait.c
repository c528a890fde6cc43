/* sys_sigwait.c: waiting for a signal: pause, rt_sigsuspend, rt_sigtimedwait, and rt_sigpending. */
#include <linux/errno.h>

#include "k.h"
#include "linux_abi.h"
#include "sig.h"
#include "sys.h"
#include "thread.h"
#include "wait.h"
#include "deadline.h"

/*
 * Until a signal with a handler is ready for this thread (ignored ones are
 * dropped when sent, default actions act when sent). No deadline: when no
 * timer, device or other thread can ever send one, the scheduler stops the
 * app as deadlocked rather than hang (Linux would wait forever).
 */
static void sigwait_block(void)
{
	while (!(k_sig.pending & ~k_sig.mask))
		(void)k_wait_on(NULL, 0, K_WAIT_FOREVER, K_WAIT_INTR);
}

/* Linux: ERESTARTNOHAND, so the app sees EINTR once its handler has run. */
long sys_pause(SYS_ARGS)
{
	sigwait_block();
	return -K_ERESTARTNOHAND;
}

/* rt_sigsuspend(mask, sigsetsize): waits under mask; the handler's frame carries the old mask back (sig.h: saved_mask). */
long sys_rt_sigsuspend(SYS_ARGS)
{
	const uint64_t *set = (const uint64_t *)a0;

	if (a1 != 8)
		return -EINVAL;
	if (!k_user_ok(set, sizeof(*set)))
		return -EFAULT;
	k_sig.saved_mask = k_sig.mask;
	k_sig.mask_saved = true;
	k_sig.mask = *set & ~SIG_UNBLOCKABLE;
	sigwait_block();
	return -K_ERESTARTNOHAND;
}

/*
 * rt_sigtimedwait(set, info, timeout, sigsetsize): takes a pending signal
 * of set (lowest first) without running its handler or default action,
 * waiting for one until the relative timeout (NULL: forever). -EAGAIN when
 * the timeout passes, -EINTR when another signal's handler must run.
 */
long sys_rt_sigtimedwait(SYS_ARGS)
{
	const uint64_t *uset = (const uint64_t *)a0;
	struct lx_siginfo *uinfo = (struct lx_siginfo *)a1;
	const struct lx_timespec *uts = (const struct lx_timespec *)a2;
	uint64_t deadline = K_WAIT_FOREVER;

	if (a3 != 8)
		return -EINVAL;
	if (!k_user_ok(uset, sizeof(*uset)))
		return -EFAULT;
	uint64_t set = *uset & ~SIG_UNBLOCKABLE;
	long e = k_ts_deadline(uts, &deadline);
	if (e < 0)
		return e;
	for (;;) {
		uint64_t ready = k_sig.pending & set;
		if (ready) {
			int sig = __builtin_ctzll(ready) + 1;
			struct lx_siginfo info;
			k_sig.pending &= ~SIG_BIT(sig);
			k_sig_info(sig, &info);
			/* Like Linux: taken even when the app's buffer cannot hold its siginfo. */
			if (uinfo) {
				if (!k_user_ok(uinfo, sizeof(*uinfo)))
					return -EFAULT;
				*uinfo = info;
			}
			return sig;
		}
		if (k_sig.pending & ~k_sig.mask)
			return -EINTR;
		if (uts && deadline <= k_clock_monotonic_ns())
			return -EAGAIN;
		k_thr_sigwait(set);
		(void)k_wait_on(NULL, 0, deadline, K_WAIT_INTR);
		k_thr_sigwait(0);
	}
}

/* rt_sigpending(set, sigsetsize): the signals pending while blocked. */
long sys_rt_sigpending(SYS_ARGS)
{
	uint64_t *set = (uint64_t *)a0;

	if ((unsigned long)a1 > sizeof(*set))
		return -EINVAL;
	uint64_t v = k_sig.pending & k_sig.mask;
	if (!k_user_ok(set, (size_t)a1))
		return -EFAULT;
	__builtin_memcpy(set, &v, (size_t)a1);
	return 0;
}
