/* sig.h: the app's signal state, shared by the signal syscalls (guest/sys/sys_signal.c) and frame delivery (guest/sys/sig_frame.c). */
#ifndef SIG_H
#define SIG_H

#include <stdbool.h>
#include <stdint.h>

#include "arch.h"
#include "linux_abi.h"

#define SIG_BIT(s) (1ull << ((s) - 1))
#define SIG_UNBLOCKABLE (SIG_BIT(LX_SIGKILL) | SIG_BIT(LX_SIGSTOP))

/*
 * Linux's ERESTARTSYS, never seen by the app: a blocking syscall a signal
 * interrupted returns it; k_sig_syscall_exit restarts the syscall when the
 * handler has SA_RESTART (or no handler runs) and turns it into EINTR otherwise.
 */
#define K_ERESTARTSYS 512
/* Linux's ERESTARTNOINTR: always restarted, handler or not (FUTEX_LOCK_PI). */
#define K_ERESTARTNOINTR 513
/* Linux's ERESTARTNOHAND: restarted only when no handler runs, else EINTR (pause, sigsuspend, SysV IPC waits). */
#define K_ERESTARTNOHAND 514

/* si_code of a POSIX timer's signal (guest/sys/sys_timer.c). */
#define K_SI_TIMER (-2)

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
	/*
	 * The siginfo union's first two words per pending signal: offset 16
	 * (si_pid/si_uid, or a timer's id/overrun) and 24 (a timer's si_value).
	 */
	uint64_t info16[LX_NSIG + 1], info24[LX_NSIG + 1];
	struct lx_stack altstack;
	bool restored; /* rt_sigreturn rewrote the syscall frame: resume it whole */
	/*
	 * Linux's saved_sigmask: ppoll/pselect6 interrupted under their own
	 * mask. The handler's frame carries saved_mask as uc_sigmask (so
	 * rt_sigreturn restores it); with no handler to run, the syscall exit
	 * restores it at once.
	 */
	uint64_t saved_mask;
	bool mask_saved;
};
extern struct sig_state k_sig;

/*
 * Acts on an unblocked signal: returns true when it has a handler to run
 * (the caller makes it pending), false when it was ignored; terminates the
 * VM for a default "terminate" action (status 128 + sig).
 */
bool k_sig_act_on(int sig);

/* True when sig raised now would be dropped: ignored explicitly or by default (SIGCHLD, SIGURG, SIGWINCH, stops). */
bool k_sig_ignored(int sig);

/*
 * Called after a syscall's handler with its result: stores it in f->rax,
 * then returns 1 when f was rewritten (a signal frame was built or
 * rt_sigreturn restored one) so the entry resumes with k_user_resume, else
 * 0 for the fast return (guest/sys/sig_frame.c).
 */
long k_sig_syscall_exit(struct k_uregs *f, long ret);

/* rt_sigreturn: restores f from the frame at the app's RSP (or kills it with SIGSEGV); returns the restored RAX. */
long k_sig_return(struct k_uregs *f);

/* A fault in the app: enters its handler for the signal when it has one (does not return), else returns. */
void k_sig_fault(const struct k_exc_state *s, int sig);

/*
 * Raises signal sig on the current thread, as the kernel does for a write to
 * a pipe nobody reads (SIGPIPE): acted on at syscall exit like tkill on self.
 */
void k_sig_raise(int sig);

/*
 * Raises sig at the process as a kill(2) from process pid would (si_pid
 * pid, SI_USER): at a thread that does not block it, as Linux's
 * complete_signal picks, whose blocked syscall it interrupts; also from the
 * scheduler, whose current thread may be the blocked one. 0 or -errno.
 */
long k_sig_process(int sig, uint32_t pid);

/* Signals from outside the VM (proto/ukvm_abi.h, "Host signals"; guest/sys/sig_host.c). */
/* From the FDT: the monitor's word at gpa (boot area). */
void k_sig_host_init(uint64_t gpa);
/* Whether the monitor forwards signals: a WAIT with nothing else to end it is then no deadlock. */
bool k_sig_host_on(void);
/* Raises at the app what the word holds, and clears it: at every return to the app and after every WAIT. */
void k_sig_host_take(void);
/* Tells the monitor which signals the app catches or ignores: after every change of a disposition. */
void k_sig_host_caught(void);

/*
 * A POSIX timer's signal is being delivered (guest/sys/sys_timer.c): its
 * overruns since it was sent become timer_getoverrun's answer. Returns the
 * siginfo word at offset 16: the timer id, and the overrun count above it.
 */
uint64_t k_timer_delivered(int timerid);

/* The siginfo of pending signal sig as it is taken now (a handler's frame, rt_sigtimedwait). */
void k_sig_info(int sig, struct lx_siginfo *info);

/* True when the app's stack pointer sp lies on the alternate signal stack. */
bool k_sig_on_altstack(uint64_t sp);

#endif
