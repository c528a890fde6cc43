/* sig.h: the app's signal state, shared by the signal syscalls (guest/sys/sys_signal.c) and frame delivery (guest/sys/sig_frame.c). */
#ifndef SIG_H
#define SIG_H

#include <stdbool.h>
#include <stdint.h>

#include "linux_abi.h"

#define SIG_BIT(s) (1ull << ((s) - 1))
#define SIG_UNBLOCKABLE (SIG_BIT(LX_SIGKILL) | SIG_BIT(LX_SIGSTOP))

/*
 * Linux's ERESTARTSYS, never seen by the app: a blocking syscall a signal
 * interrupted returns it; k_sig_syscall_exit restarts the syscall when the
 * handler has SA_RESTART (or no handler runs) and turns it into EINTR otherwise.
 */
#define K_ERESTARTSYS 512

/*
 * One process: one disposition table. mask, pending and altstack are the
 * running thread's (guest/kernel/thread.c swaps them at a thread switch). A signal with
 * a handler that is raised (or unblocked) during a syscall stays in
 * pending until that syscall returns, where k_sig_syscall_exit builds its
 * frame; si_code remembers how each pending signal was sent.
 */
struct sig_state {
	struct lx_sigaction act[LX_NSIG + 1];
	uint64_t mask;
	uint64_t pending;
	int code[LX_NSIG + 1];
	struct lx_stack altstack;
	bool restored; /* rt_sigreturn rewrote the syscall frame: resume it whole */
};
extern struct sig_state k_sig;

/*
 * Acts on an unblocked signal: returns true when it has a handler to run
 * (the caller makes it pending), false when it was ignored; terminates the
 * VM for a default "terminate" action (status 128 + sig).
 */
bool sig_act_on(int sig);

/* True when the app's stack pointer sp lies on the alternate signal stack. */
bool sig_on_altstack(uint64_t sp);

#endif
