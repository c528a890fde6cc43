/* thread.h: cooperative app threads (guest/kernel/thread.c): clone, exit, blocking and the scheduler; what a thread waits for is a wait key (wait.h). */
#ifndef THREAD_H
#define THREAD_H

#include <stdbool.h>
#include <stdint.h>

#include "wait.h"

/* A deadline that never comes (wait.h). */
#define K_THR_FOREVER K_WAIT_FOREVER

/* Wakes every waiter of a key (k_thr_wake's n). */
#define K_THR_ALL 0x7fffffff

struct k_uregs;

/* The current thread's id (the first thread is 1, the process id) and the number of live threads. */
int k_thr_tid(void);
int k_thr_count(void);
bool k_thr_exists(int tid);

/* clone(2) from the parent's syscall frame f: only musl's thread flags (CLONE_VM|CLONE_THREAD|...); the child's tid or -errno. */
long k_thr_clone(struct k_uregs *f);

/* clone3(2) from f (RDI: struct clone_args, RSI: its size): the same threads, glibc's way; -ENOSYS for a new process. */
long k_thr_clone3(struct k_uregs *f);

/* exit(2) of one thread: clears and futex-wakes its clear_child_tid; the last thread ends the VM with status. */
_Noreturn void k_thr_exit(int status);

/*
 * The app ends (exit_group, the last thread's exit) with status: its sockets close and TCP sends
 * what they still hold (sock_exit), as after a Linux process exits; then the VM exits (guest/kernel/exit.c).
 */
_Noreturn void k_exit(int status);

/* prctl(2)'s per-thread attributes and the robust futex list (set_robust_list(2)). */
#define K_THR_COMM_LEN 16
struct k_thr_attr {
	char comm[K_THR_COMM_LEN]; /* PR_SET_NAME: NUL-terminated; new threads inherit their creator's */
	int pdeathsig;             /* PR_SET_PDEATHSIG: kept, never sent (the VM has no parent process) */
	bool no_new_privs;         /* PR_SET_NO_NEW_PRIVS: inherited, cannot be unset */
	uint64_t robust_head;      /* set_robust_list: the app's struct robust_list_head, 0 for none */
	uint64_t robust_len;
};

/* The attributes of thread tid (0: the running one), NULL when there is no such thread. */
struct k_thr_attr *k_thr_attr(int tid);

/* The thread id of t (a waiter's thread, wait.h). */
int k_thr_tid_of(const struct k_thread *t);

/* set_tid_address(2)'s word for the current thread. */
void k_thr_set_clear_tid(uint64_t addr);

/* sched_yield(2): runs the other runnable threads first, round robin (and the device pollers). */
void k_thr_yield(void);

/* The running thread (what a wait.h waiter records). */
struct k_thread *k_thr_self(void);

/* True when a thread other than the running one is runnable: a driver then blocks rather than spin. */
bool k_thr_others_runnable(void);

/*
 * The scheduler side of k_wait_block (wait.h, which documents the results):
 * blocks the running thread until k_thr_unblock, the deadline or (flags
 * K_WAIT_INTR) a signal.
 */
long k_thr_block(uint64_t deadline, unsigned flags);

/*
 * Time slices (PV mode), on every return to the app (a syscall's, a new
 * thread's start): arms the slice timer when another thread is runnable
 * and it is not armed. Cheap otherwise: a counter and a flag.
 */
void k_thr_leave(void);

/*
 * An interrupt taken in app code (guest/arch/x86_64/exc.S: PV mode only)
 * with the app's whole state in f on the running thread's kernel stack:
 * a time-slice tick switches to another runnable thread when this one's
 * slice is over; then expired timers and pending signals are handled as
 * on a syscall's return, and the app resumes from f.
 */
_Noreturn void k_thr_irq(struct k_uregs *f, uint64_t vector);

/* Slice ticks taken and the preemptions they made, since boot. */
void k_thr_tick_stats(uint64_t *ticks, uint64_t *preemptions);

/* Makes a blocked thread runnable with rc as its k_thr_block result: false when it was not blocked. */
bool k_thr_unblock(struct k_thread *t, long rc);

/*
 * An interruptible k_wait_on (wait.h) for the syscalls that block: until
 * k_thr_wake(key) with a matching bitset, the monotonic deadline, or a
 * signal for it. key NULL: a sleep, only the deadline or a signal ends it.
 * Returns 0 (woken), -ETIMEDOUT or -EINTR. When no thread can ever be woken
 * the app is stopped with a deadlock message and SIGABRT.
 */
long k_thr_wait(const void *key, uint32_t bitset, uint64_t deadline);

/* k_wait_wake and k_wait_requeue (wait.h) under the names the futex and pipe code use. */
int k_thr_wake(const void *key, uint32_t bitset, int n);
int k_thr_requeue(const void *from, const void *to, int nwake, int nmove);

/*
 * Makes signal sig pending for thread tid and interrupts its wait when
 * unblocked there (the current thread's too: it may be blocked while the
 * scheduler runs on it). tid 0: any other thread that
 * does not block sig (Linux's pick for a process-directed signal). 0 when
 * the thread does not block sig, 1 when it does, 2 when its
 * rt_sigtimedwait takes sig (no action then), -ESRCH when none.
 */
long k_thr_post(int tid, int sig);

/* rt_sigtimedwait: the current thread waits for the signals of set (0: no longer); k_thr_post wakes it for them. */
void k_thr_sigwait(uint64_t set);

/*
 * The thread a process-directed sig goes to, as Linux's complete_signal
 * picks: the first thread (the group leader) when it does not block sig,
 * else another that does not, else one that does (sig then waits in its
 * pending set). 0 when no thread lives.
 */
int k_thr_pick(int sig);

/* True when sig is pending for thread tid. */
bool k_thr_sig_pending(int tid, int sig);

#endif
