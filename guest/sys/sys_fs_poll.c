/* sys_fs_poll.c: poll, ppoll, select and pselect6 over the files' poll hooks, blocking through the wait core. */
#include <string.h>
#include "k.h"
#include "fs.h"
#include "sig.h"
#include "sys.h"
#include "wait.h"
#include "deadline.h"

/*
 * One mechanism for every kind of file: a file's poll hook reports its
 * POLL* mask and the wait key woken when the mask may change (fs.h). A scan
 * asks every file; when none is ready and the call may wait, the thread
 * registers one waiter per key and blocks until a key is woken (then scans
 * again), the deadline (then scans once more, as Linux does) or a signal
 * (-EINTR: signal(7), these calls are never restarted after a handler).
 * Files without a key (memory files, the console) are always ready.
 */

/* Linux's select masks (fs/select.c). */
#define POLL_IN_SET  (POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR)
#define POLL_OUT_SET (POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR)
#define POLL_EX_SET  POLLPRI


/* One polled fd's readiness: revents for events, *key its wait key. An fd < 0 is skipped (0); a bad one is POLLNVAL. */
static uint32_t poll_fd(int fd, uint32_t events, const void **key)
{
	*key = NULL;
	if (fd < 0)
		return 0;
	struct fs_file *f = fs_fd_file(fd);
	if (!f || (f->flags & O_PATH))
		return POLLNVAL; /* Linux: an O_PATH file cannot be polled (fdget refuses it) */
	return fs_file_poll(f, key) & (events | POLLERR | POLLHUP);
}

/*
 * Scans pf[0..n) into revents; with none ready and deadline in the future,
 * blocks and scans again (deadline K_WAIT_FOREVER: until ready or a
 * signal). An fd is ready with any revents for poll, with revents it asked
 * for when only_asked (select: a hang-up alone does not end its wait). The
 * number of ready fds, -EINTR or -ENOMEM.
 */
static long poll_run(struct pollfd *pf, unsigned n, uint64_t deadline, bool only_asked)
{
	struct k_waiter *w = NULL;
	const void *key;
	bool last = false;
	long rc = 0;

	for (;;) {
		long ready = 0;
		for (unsigned i = 0; i < n; i++) {
			pf[i].revents = (short)poll_fd(pf[i].fd, (uint16_t)pf[i].events, &key);
			ready += (only_asked ? pf[i].revents & pf[i].events : pf[i].revents) != 0;
		}
		if (ready || last || deadline <= k_clock_monotonic_ns()) {
			rc = ready;
			break;
		}
		if (!w && n) {
			w = k_calloc(n, sizeof(*w));
			if (!w) {
				rc = -ENOMEM;
				break;
			}
		}
		/* Nothing can change between the scan and the block: threads switch only inside it. */
		unsigned flags = K_WAIT_INTR;
		for (unsigned i = 0; i < n; i++) {
			poll_fd(pf[i].fd, (uint16_t)pf[i].events, &key);
			if (!key)
				continue;
			k_wait_add(&w[i], key, ~0u, NULL, NULL);
			/* Waiting on fd 0 or an inet socket for input: the VM is idle if nothing else runs. */
			if (fs_file_awaits_input(fs_fd_file(pf[i].fd), (uint16_t)pf[i].events))
				flags |= K_WAIT_INPUT;
		}
		long b = k_wait_block(deadline, flags);
		for (unsigned i = 0; i < n; i++)
			k_wait_del(&w[i]);
		if (b == -EINTR) {
			rc = -EINTR;
			break;
		}
		last = b == -ETIMEDOUT;
	}
	k_free(w);
	return rc;
}

/* What is left of deadline, in ns (0 once passed). */
static uint64_t poll_left(uint64_t deadline)
{
	uint64_t now = k_clock_monotonic_ns();
	return deadline > now ? deadline - now : 0;
}

/* Like Linux, ppoll and pselect6 write the time left back into their timespec (unless the call faulted). */
static void poll_ts_left(struct lx_timespec *ts, uint64_t deadline, long rc)
{
	if (!ts || rc == -EFAULT || !k_user_ok(ts, sizeof(*ts)))
		return;
	uint64_t left = poll_left(deadline);
	*ts = (struct lx_timespec){ (long)(left / K_NS_PER_S), (long)(left % K_NS_PER_S) };
}

/*
 * The sigmask argument of ppoll/pselect6 (NULL: none). The new mask holds
 * for the wait; *old gets the one to restore. 0, -EINVAL (size), -EFAULT.
 */
long poll_mask_set(const uint64_t *mask, size_t size, uint64_t *old)
{
	*old = k_sig.mask;
	if (!mask)
		return 0;
	if (size != sizeof(uint64_t))
		return -EINVAL;
	if (!k_user_ok(mask, sizeof(*mask)))
		return -EFAULT;
	k_sig.mask = *mask & ~SIG_UNBLOCKABLE;
	return 0;
}

/*
 * After the wait, as Linux's restore_saved_sigmask_unless: when the call
 * ends with -EINTR and a signal the wait mask let through is pending, its
 * handler runs under the wait mask and the old one comes back with
 * rt_sigreturn (sig.h: saved_mask); otherwise the old mask is back now.
 */
void poll_mask_restore(const uint64_t *mask, uint64_t old, long rc)
{
	if (!mask)
		return;
	if (rc == -EINTR && (k_sig.pending & ~k_sig.mask)) {
		k_sig.saved_mask = old;
		k_sig.mask_saved = true;
		return;
	}
	k_sig.mask = old;
}

/* Copies the app's pollfd array in, runs the poll, copies revents back. */
static long poll_user(long ufds, long nfds, uint64_t deadline, const uint64_t *mask, size_t masksize)
{
	struct pollfd *u = (struct pollfd *)ufds;
	if ((unsigned long)nfds > (unsigned long)fs_fd_limit())
		return -EINVAL; /* Linux: more than RLIMIT_NOFILE (here also at most FS_MAX_FDS) */
	size_t bytes = (size_t)nfds * sizeof(*u);
	if (bytes && !k_user_ok(u, bytes))
		return -EFAULT;
	struct pollfd *pf = NULL;
	if (nfds) {
		pf = k_malloc(bytes);
		if (!pf)
			return -ENOMEM;
		memcpy(pf, u, bytes);
	}
	uint64_t old;
	long rc = poll_mask_set(mask, masksize, &old);
	if (rc == 0) {
		rc = poll_run(pf, (unsigned)nfds, deadline, false);
		poll_mask_restore(mask, old, rc);
	}
	/* Another thread may have freed the array meanwhile: check again before writing. */
	if (rc >= 0 && bytes && !k_user_ok(u, bytes))
		rc = -EFAULT;
	for (long i = 0; rc >= 0 && i < nfds; i++)
		u[i].revents = pf[i].revents;
	k_free(pf);
	return rc;
}

/* poll(fds, nfds, timeout_ms): a negative timeout waits forever, 0 never. */
long sys_poll(SYS_ARGS)
{
	int ms = (int)a2;
	uint64_t deadline = ms < 0 ? K_WAIT_FOREVER : k_deadline_after((uint64_t)ms * 1000000u);
	return poll_user(a0, a1, deadline, NULL, 0);
}

/* ppoll(fds, nfds, tmo, sigmask, sigsetsize): like Linux, the timeout is updated with the time left. */
long sys_ppoll(SYS_ARGS)
{
	struct lx_timespec *ts = (struct lx_timespec *)a2;
	uint64_t deadline;
	long rc = k_ts_deadline(ts, &deadline);
	if (rc)
		return rc;
	rc = poll_user(a0, a1, deadline, (const uint64_t *)a3, (size_t)a4);
	poll_ts_left(ts, deadline, rc);
	return rc;
}

/*
 * select on nfds fds: the three sets (each may be NULL) become pollfd
 * entries for the fds in any of them, with Linux's masks; an fd in a set
 * that is not open is -EBADF. On return each set keeps only its ready fds;
 * the result counts set bits.
 */
static long select_run(long nfds, long urd, long uwr, long uex, uint64_t deadline, const uint64_t *mask,
		       size_t masksize)
{
	if (nfds < 0)
		return -EINVAL;
	if (nfds > FS_MAX_FDS)
		nfds = FS_MAX_FDS; /* Linux clamps to the fd table's size */
	size_t words = ((size_t)nfds + 63) / 64;
	uint64_t *sets[3] = { (uint64_t *)urd, (uint64_t *)uwr, (uint64_t *)uex };
	static const uint32_t ev[3] = { POLL_IN_SET, POLL_OUT_SET, POLL_EX_SET };
	uint64_t in[3][FS_MAX_FDS / 64];
	for (int s = 0; s < 3; s++) {
		memset(in[s], 0, sizeof(in[s]));
		if (!sets[s])
			continue;
		if (words && !k_user_ok(sets[s], words * 8))
			return -EFAULT;
		memcpy(in[s], sets[s], words * 8);
	}
	unsigned n = 0;
	for (long fd = 0; fd < nfds; fd++)
		if ((in[0][fd / 64] | in[1][fd / 64] | in[2][fd / 64]) >> (fd % 64) & 1)
			n++;
	struct pollfd *pf = n ? k_malloc(n * sizeof(*pf)) : NULL;
	if (n && !pf)
		return -ENOMEM;
	unsigned i = 0;
	long rc = 0;
	for (long fd = 0; fd < nfds && rc == 0; fd++) {
		uint32_t e = 0;
		for (int s = 0; s < 3; s++)
			if (in[s][fd / 64] >> (fd % 64) & 1)
				e |= ev[s];
		if (!e)
			continue;
		struct fs_file *f = fs_fd_file((int)fd);
		if (!f || (f->flags & O_PATH))
			rc = -EBADF;
		pf[i++] = (struct pollfd){ .fd = (int)fd, .events = (short)e };
	}
	uint64_t old;
	if (rc == 0)
		rc = poll_mask_set(mask, masksize, &old);
	if (rc == 0) {
		rc = poll_run(pf, n, deadline, true);
		poll_mask_restore(mask, old, rc);
	}
	if (rc >= 0) {
		long bits = 0;
		/* An fd counts in a set only if it was in that set: the masks overlap (POLLERR is in all three). */
		for (i = 0; i < n; i++)
			for (int s = 0; s < 3; s++) {
				int fd = pf[i].fd;
				uint64_t bit = 1ull << (fd % 64);
				if ((in[s][fd / 64] & bit) && !(pf[i].revents & ev[s]))
					in[s][fd / 64] &= ~bit;
				else if (in[s][fd / 64] & bit)
					bits++;
			}
		for (int s = 0; s < 3 && nfds % 64; s++)
			in[s][nfds / 64] &= (1ull << (nfds % 64)) - 1; /* bits past nfds come back clear */
		for (int s = 0; s < 3; s++) {
			if (!sets[s] || !words)
				continue;
			if (!k_user_ok(sets[s], words * 8)) {
				bits = -EFAULT;
				break;
			}
			memcpy(sets[s], in[s], words * 8);
		}
		rc = bits;
	}
	k_free(pf);
	return rc;
}

/* select(nfds, rd, wr, ex, timeval): the timeout is updated with the time left, as Linux does. */
long sys_select(SYS_ARGS)
{
	struct lx_timeval *tv = (struct lx_timeval *)a4;
	uint64_t deadline = K_WAIT_FOREVER;
	if (tv) {
		if (!k_user_ok(tv, sizeof(*tv)))
			return -EFAULT;
		struct lx_timeval t = *tv;
		if (t.tv_sec < 0 || t.tv_usec < 0)
			return -EINVAL;
		/* Linux normalises a tv_usec of a second or more rather than refusing it. */
		uint64_t sec = (uint64_t)t.tv_sec + (uint64_t)t.tv_usec / 1000000u;
		uint64_t ns = sec >= K_WAIT_FOREVER / K_NS_PER_S ? K_WAIT_FOREVER
							     : sec * K_NS_PER_S + (uint64_t)t.tv_usec % 1000000u * 1000u;
		deadline = k_deadline_after(ns);
	}
	long rc = select_run(a0, a1, a2, a3, deadline, NULL, 0);
	if (tv && rc != -EFAULT && k_user_ok(tv, sizeof(*tv))) {
		uint64_t left = poll_left(deadline);
		*tv = (struct lx_timeval){ (long)(left / K_NS_PER_S), (long)(left % K_NS_PER_S / 1000u) };
	}
	return rc;
}

/* pselect6(nfds, rd, wr, ex, timespec, {sigmask pointer, size}). */
long sys_pselect6(SYS_ARGS)
{
	struct lx_timespec *ts = (struct lx_timespec *)a4;
	uint64_t deadline;
	long rc = k_ts_deadline(ts, &deadline);
	if (rc)
		return rc;
	const uint64_t *mask = NULL;
	size_t masksize = 0;
	if (a5) {
		const uint64_t *arg = (const uint64_t *)a5;
		if (!k_user_ok(arg, 2 * sizeof(uint64_t)))
			return -EFAULT;
		mask = (const uint64_t *)arg[0];
		masksize = (size_t)arg[1];
	}
	rc = select_run(a0, a1, a2, a3, deadline, mask, masksize);
	poll_ts_left(ts, deadline, rc);
	return rc;
}
