/* sys_sigwait.c: waiting for a signal: pause and rt_sigsuspend. */
#include <linux/errno.h>

#include "k.h"
#include "linux_abi.h"
#include "sig.h"
#include "sys.h"
#include "thread.h"
#include "wait.h"

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
