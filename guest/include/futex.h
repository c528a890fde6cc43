/* futex.h: priority-inheritance futexes and robust futex lists (guest/sys/futex_pi.c), for sys_futex and thread exit. */
#ifndef FUTEX_H
#define FUTEX_H

#include <stdbool.h>
#include <stdint.h>

/*
 * FUTEX_LOCK_PI (trylock false: blocks until the monotonic deadline) and
 * FUTEX_TRYLOCK_PI on the app's word u: 0 when the caller owns it, else
 * -EDEADLK (its own), -EAGAIN (trylock of a held lock), -ESRCH (the owner tid
 * names no thread), -ETIMEDOUT, -EFAULT, or a restart request after a signal.
 */
long k_futex_lock_pi(uint32_t *u, uint64_t deadline, bool trylock);

/* FUTEX_UNLOCK_PI: hands the lock to the oldest waiter, or frees it; -EPERM when the caller is not the owner. */
long k_futex_unlock_pi(uint32_t *u);

/*
 * The exiting thread tid's robust list (set_robust_list's head, in app
 * memory, read with care): every lock it still holds gets FUTEX_OWNER_DIED
 * and wakes a waiter, as Linux's exit_robust_list.
 */
void k_futex_exit_robust(uint64_t head, uint32_t tid);

#endif
