/* thread.h: cooperative app threads (guest/kernel/thread.c): clone, exit, wait queues keyed by address, switching at blocking syscalls. */
#ifndef THREAD_H
#define THREAD_H

#include <stdbool.h>
#include <stdint.h>

/* A deadline that never comes (the WAIT hypercall reads UINT64_MAX as "none", so stay below it). */
#define K_THR_FOREVER ((uint64_t)INT64_MAX)

/* Wakes every waiter of a key (k_thr_wake's n). */
#define K_THR_ALL 0x7fffffff

struct k_uregs;

/* The current thread's id (the first thread is 1, the process id) and the number of live threads. */
int k_thr_tid(void);
int k_thr_count(void);
bool k_thr_exists(int tid);

/* clone(2) from the parent's syscall frame f: only musl's thread flags (CLONE_VM|CLONE_THREAD|...); the child's tid or -errno. */
long k_thr_clone(struct k_uregs *f);

/* exit(2) of one thread: clears and futex-wakes its clear_child_tid; the last thread ends the VM with status. */
_Noreturn void k_thr_exit(int status);

/* set_tid_address(2)'s word for the current thread. */
void k_thr_set_clear_tid(uint64_t addr);

/* sched_yield(2): runs the other runnable threads first, round robin. */
void k_thr_yield(void);

/*
 * Blocks the current thread until k_thr_wake(key) with a matching bitset,
 * the monotonic deadline, or a signal for it. key NULL: only the deadline
 * or a signal ends it. Returns 0 (woken), -ETIMEDOUT or -EINTR. Other
 * threads run meanwhile; when none can run the vCPU WAITs for the earliest
 * deadline; when no thread can ever be woken the app is stopped with a
 * deadlock message and SIGABRT.
 */
long k_thr_wait(const void *key, uint32_t bitset, uint64_t deadline);

/* Makes up to n waiters of key whose bitset meets bitset runnable (they run once the caller blocks or yields); how many. */
int k_thr_wake(const void *key, uint32_t bitset, int n);

/* Wakes up to nwake waiters of from, moves up to nmove others to wait on to; the total woken + moved. */
int k_thr_requeue(const void *from, const void *to, int nwake, int nmove);

/*
 * Makes signal sig pending for thread tid (not the current one) and
 * interrupts its wait when unblocked there. tid 0: any other thread that
 * does not block sig (Linux's pick for a process-directed signal). 0 when
 * the thread does not block sig, 1 when it does, -ESRCH when none.
 */
long k_thr_post(int tid, int sig);

#endif
