/*
 * deadline.h: an app's timeout as an absolute monotonic deadline for the wait
 * core (wait.h), saturating at K_WAIT_FOREVER: the one conversion poll,
 * epoll, select, semtimedop, sigtimedwait and the socket timeouts share.
 */
#ifndef DEADLINE_H
#define DEADLINE_H

#include <linux/errno.h>
#include <stdint.h>

#include "clock.h"
#include "linux_abi.h"
#include "user.h"
#include "wait.h"

#define K_NS_PER_S 1000000000u

/* The deadline ns from now. */
static inline uint64_t k_deadline_after(uint64_t ns)
{
	uint64_t now = k_clock_monotonic_ns();
	return ns >= K_WAIT_FOREVER - now ? K_WAIT_FOREVER : now + ns;
}

/* Reads an app timespec timeout (NULL: forever) as a deadline: 0, -EFAULT or -EINVAL. */
static inline long k_ts_deadline(const struct lx_timespec *ts, uint64_t *deadline)
{
	if (!ts) {
		*deadline = K_WAIT_FOREVER;
		return 0;
	}
	if (!k_user_ok(ts, sizeof(*ts)))
		return -EFAULT;
	struct lx_timespec t = *ts;
	if (t.tv_sec < 0 || t.tv_nsec < 0 || t.tv_nsec >= (int64_t)K_NS_PER_S)
		return -EINVAL;
	uint64_t ns = (uint64_t)t.tv_sec >= K_WAIT_FOREVER / K_NS_PER_S ? K_WAIT_FOREVER
									 : (uint64_t)t.tv_sec * K_NS_PER_S + (uint64_t)t.tv_nsec;
	*deadline = k_deadline_after(ns);
	return 0;
}

#endif
