/* futex_pi.c: priority-inheritance futexes (FUTEX_LOCK_PI, TRYLOCK_PI, UNLOCK_PI) and the robust futex list a thread leaves at exit. */
#include <linux/errno.h>

#include "futex.h"
#include "k.h"
#include "sig.h"
#include "thread.h"
#include "wait.h"

/*
 * A PI futex word holds its owner's tid (Linux's FUTEX_TID_MASK), plus
 * FUTEX_WAITERS while the kernel has waiters (the owner's unlock must then
 * come here) and FUTEX_OWNER_DIED when its owner exited holding it. There
 * are no priorities on one cooperative vCPU, so nothing is inherited; what
 * is kept is Linux's ownership protocol: the unlock hands the lock straight
 * to the oldest waiter (its tid in the word, with FUTEX_WAITERS), a lock of
 * one's own lock is EDEADLK, an unlock of someone else's EPERM, an owner
 * tid that names no thread ESRCH.
 */
#define PI_WAITERS 0x80000000u
#define PI_OWNER_DIED 0x40000000u
#define PI_TID_MASK 0x3fffffffu
#define ROBUST_LIST_LIMIT 2048 /* Linux's: a list longer than this (or circular) is not walked further */

static bool pi_cas(uint32_t *u, uint32_t old, uint32_t nu)
{
	return __atomic_compare_exchange_n(u, &old, nu, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

long k_futex_lock_pi(uint32_t *u, uint64_t deadline, bool trylock)
{
	uint32_t me = (uint32_t)k_thr_tid();
	bool waited = false;

	if (!k_user_ok(u, sizeof(*u)))
		return -EFAULT;
	for (;;) {
		uint32_t v = __atomic_load_n(u, __ATOMIC_SEQ_CST), owner = v & PI_TID_MASK;
		if (owner == me)
			return waited ? 0 : -EDEADLK; /* handed over by the unlock, or our own lock */
		if (!owner) {
			/* Free (maybe left by a dead owner: OWNER_DIED stays for the C library to see). */
			uint32_t nv = (v & PI_OWNER_DIED) | me | (waited || k_wait_has(u) ? PI_WAITERS : 0);
			if (pi_cas(u, v, nv))
				return 0;
			continue;
		}
		if (!k_thr_exists((int)owner))
			return -ESRCH;
		if (trylock)
			return -EAGAIN;
		if (!(v & PI_WAITERS) && !pi_cas(u, v, v | PI_WAITERS))
			continue;
		long rc = k_wait_on(u, ~0u, deadline, K_WAIT_INTR);
		if (rc == -ETIMEDOUT)
			return rc;
		/* Linux: ERESTARTNOINTR, the lock is tried again after a handler. */
		if (rc == -EINTR)
			return -K_ERESTARTNOINTR;
		waited = true;
	}
}

long k_futex_unlock_pi(uint32_t *u)
{
	uint32_t me = (uint32_t)k_thr_tid();

	if (!k_user_ok(u, sizeof(*u)))
		return -EFAULT;
	uint32_t v = __atomic_load_n(u, __ATOMIC_SEQ_CST);
	if ((v & PI_TID_MASK) != me)
		return -EPERM;
	/* The woken thread runs only once we block or yield: the word is its before it looks. */
	struct k_thread *next = k_wait_wake_first(u);
	__atomic_store_n(u, next ? ((uint32_t)k_thr_tid_of(next) | PI_WAITERS) : 0u, __ATOMIC_SEQ_CST);
	return 0;
}

/* Linux's handle_futex_death: the dead owner's lock gets OWNER_DIED and one waiter is woken to take it. */
static void robust_death(uint64_t addr, uint32_t tid, bool pi, bool pending)
{
	uint32_t *u = (uint32_t *)(uintptr_t)addr;

	if ((addr & 3) || !k_user_ok(u, sizeof(*u)))
		return;
	uint32_t v = __atomic_load_n(u, __ATOMIC_SEQ_CST);
	/* Died between taking the lock in user space and listing it: a waiter may need the wake. */
	if (pending && !pi && !v) {
		k_thr_wake(u, ~0u, 1);
		return;
	}
	if ((v & PI_TID_MASK) != tid)
		return;
	__atomic_store_n(u, (v & PI_WAITERS) | PI_OWNER_DIED, __ATOMIC_SEQ_CST);
	if (v & PI_WAITERS)
		k_thr_wake(u, ~0u, 1);
}

/* Reads the app's list word at addr: the next entry, its low bit the PI flag. */
static bool robust_fetch(uint64_t addr, uint64_t *entry, bool *pi)
{
	if ((addr & 7) || !k_user_ok((const void *)(uintptr_t)addr, sizeof(uint64_t)))
		return false;
	uint64_t w = *(const volatile uint64_t *)(uintptr_t)addr;
	*entry = w & ~1ull;
	*pi = w & 1;
	return true;
}

void k_futex_exit_robust(uint64_t head, uint32_t tid)
{
	uint64_t entry, pending;
	bool pi, ppi;

	/* struct robust_list_head { next; long futex_offset; list_op_pending; } */
	if (!head || !robust_fetch(head, &entry, &pi) || !k_user_ok((const void *)(uintptr_t)(head + 8), 16))
		return;
	int64_t off = *(const volatile int64_t *)(uintptr_t)(head + 8);
	if (!robust_fetch(head + 16, &pending, &ppi))
		return;
	for (int n = 0; entry != head && n < ROBUST_LIST_LIMIT; n++) {
		uint64_t next;
		bool npi;
		/* Fetched first: releasing this lock lets another thread reuse its entry. */
		bool more = robust_fetch(entry, &next, &npi);
		if (entry != pending)
			robust_death(entry + (uint64_t)off, tid, pi, false);
		if (!more)
			return;
		entry = next;
		pi = npi;
	}
	if (pending)
		robust_death(pending + (uint64_t)off, tid, ppi, true);
}
