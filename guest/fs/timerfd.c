/* timerfd.c: timerfd(2) files: a timer on a clock whose expirations a read collects, pollable like any file. */
#include <string.h>
#include "k.h"
#include "epoll.h"
#include "fs.h"
#include "linux_abi.h"
#include "sys.h"
#include "thread.h"
#include "wait.h"

/*
 * The guest takes no interrupts, so nothing fires at an expiry by itself.
 * A timer is a monotonic time (next) and an interval; its expirations are
 * counted from the clock whenever someone looks (read, the poll hook,
 * gettime), so the count is right however late the look comes. What makes
 * someone look in time is the deadline:
 *
 * - a read that blocks sleeps with the expiry as its own deadline;
 * - a poll/select/epoll waiter sleeps on the timer's key with no deadline
 *   of its own that knows about the timer. For those, timerfd is a device
 *   poller (wait.h): the scheduler runs it at every pick and before and
 *   after every idle WAIT; it wakes the key of each timer that has expired
 *   and returns the earliest expiry still ahead, which the scheduler makes
 *   the idle WAIT's deadline. So the one WAIT of a VM whose only waiter is
 *   an epoll_wait on a timerfd ends at the expiry, and a thread blocked
 *   forever on a timer is not taken for a deadlock.
 *
 * Armed timers are on one list; the poller costs one comparison per armed
 * timer per scheduler pick and nothing when none is armed. A periodic timer
 * that nobody reads still ends a WAIT each period, as its hrtimer fires on
 * Linux. Realtime timers are kept in monotonic time: the guest's realtime
 * clock is the monotonic one plus a constant (guest/include/clock.h) and
 * cannot be set, so TFD_TIMER_CANCEL_ON_SET is accepted and never fires.
 */
#define NS_PER_S 1000000000ull

struct tfd {
	uint64_t next;     /* monotonic ns of the next expiry, while armed */
	uint64_t interval; /* ns; 0: one-shot */
	uint64_t ticks;    /* expirations not yet read */
	bool armed, realtime;
	struct tfd *arm_next, **arm_pprev; /* on tfd_armed while armed */
};

static struct tfd *tfd_armed;
static struct k_poller tfd_poller;
static bool tfd_poller_on;

static void tfd_arm(struct tfd *t, uint64_t next, uint64_t interval)
{
	t->next = next;
	t->interval = interval;
	if (t->armed)
		return;
	t->armed = true;
	t->arm_next = tfd_armed;
	if (tfd_armed)
		tfd_armed->arm_pprev = &t->arm_next;
	t->arm_pprev = &tfd_armed;
	tfd_armed = t;
}

static void tfd_disarm(struct tfd *t)
{
	if (!t->armed)
		return;
	*t->arm_pprev = t->arm_next;
	if (t->arm_next)
		t->arm_next->arm_pprev = t->arm_pprev;
	t->armed = false;
	t->next = t->interval = 0;
}

/* Counts the expirations up to now (a one-shot timer disarms): true when there were any. */
static bool tfd_update(struct tfd *t, uint64_t now)
{
	if (!t->armed || now < t->next)
		return false;
	if (t->interval) {
		uint64_t n = (now - t->next) / t->interval + 1;
		t->ticks += n;
		t->next += n * t->interval;
	} else {
		t->ticks++;
		tfd_disarm(t);
	}
	return true;
}

/* The scheduler's look (see the top): wakes expired timers' waiters, returns the earliest expiry ahead (0: none). */
static uint64_t tfd_poll_timers(struct k_poller *p, enum k_wait_news news)
{
	uint64_t now = k_clock_monotonic_ns(), earliest = 0;
	(void)p, (void)news;
	for (struct tfd *t = tfd_armed, *next; t; t = next) {
		next = t->arm_next; /* a one-shot timer leaves the list in tfd_update */
		if (tfd_update(t, now))
			k_wait_wake(t, ~0u, K_THR_ALL);
		if (t->armed && (!earliest || t->next < earliest))
			earliest = t->next;
	}
	return earliest;
}

static long tfd_read(struct fs_file *f, void *buf, size_t len, uint64_t *off)
{
	struct tfd *t = f->priv;
	(void)off;
	if (len < sizeof(uint64_t))
		return -EINVAL;
	for (;;) {
		tfd_update(t, k_clock_monotonic_ns());
		if (t->ticks)
			break;
		if (f->flags & O_NONBLOCK)
			return -EAGAIN;
		/* Until the expiry itself, or a settime/close by another thread (the key); disarmed: until woken. */
		long rc = k_wait_on(t, ~0u, t->armed ? t->next : K_WAIT_FOREVER, K_WAIT_INTR);
		if (rc == -EINTR)
			return -K_ERESTARTSYS;
	}
	/* The app may have unmapped the buffer while this thread slept. */
	if (!k_user_ok(buf, sizeof(uint64_t)))
		return -EFAULT;
	memcpy(buf, &t->ticks, sizeof(t->ticks));
	t->ticks = 0;
	return sizeof(uint64_t);
}

static uint32_t tfd_poll(struct fs_file *f, const void **key)
{
	struct tfd *t = f->priv;
	*key = t;
	tfd_update(t, k_clock_monotonic_ns());
	return t->ticks ? POLLIN | POLLRDNORM : 0;
}

static void tfd_release(struct fs_file *f)
{
	struct tfd *t = f->priv;
	tfd_disarm(t);
	k_wait_wake(t, ~0u, K_THR_ALL); /* nobody should sleep on a closed timer's key */
	k_free(t);
}

static const struct fs_file_ops tfd_fops = {
	.anon_name = "[timerfd]",
	.read = tfd_read,
	.poll = tfd_poll,
	.release = tfd_release,
};

/* timerfd_create(clockid, flags): the alarm clocks are their plain twins (a VM does not suspend). */
long sys_timerfd_create(SYS_ARGS)
{
	int clock = (int)a0, flags = (int)a1;
	if (flags & ~(LX_TFD_CLOEXEC | LX_TFD_NONBLOCK))
		return -EINVAL;
	if (clock != LX_CLOCK_MONOTONIC && clock != LX_CLOCK_REALTIME && clock != LX_CLOCK_BOOTTIME &&
	    clock != LX_CLOCK_REALTIME_ALARM && clock != LX_CLOCK_BOOTTIME_ALARM)
		return -EINVAL;
	struct tfd *t = k_calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->realtime = clock == LX_CLOCK_REALTIME || clock == LX_CLOCK_REALTIME_ALARM;
	int fd = fs_anon_fd(0600, &tfd_fops, t, O_RDWR | (flags & O_NONBLOCK), flags & LX_TFD_CLOEXEC);
	if (fd < 0) {
		k_free(t);
		return fd;
	}
	if (!tfd_poller_on) {
		tfd_poller.poll = tfd_poll_timers;
		k_wait_poller_add(&tfd_poller);
		tfd_poller_on = true;
	}
	return fd;
}

/* A valid timespec (Linux's timespec64_valid) in ns; false when invalid. */
static bool tfd_ts_ns(int64_t sec, int64_t nsec, uint64_t *ns)
{
	if (sec < 0 || nsec < 0 || nsec >= (int64_t)NS_PER_S)
		return false;
	/* Centuries out are "never" in practice: saturate below K_WAIT_FOREVER, keeping sums overflow-free. */
	*ns = (uint64_t)sec >= K_WAIT_FOREVER / 4 / NS_PER_S ? K_WAIT_FOREVER / 4 : (uint64_t)sec * NS_PER_S + (uint64_t)nsec;
	return true;
}

/* The timer f names: 0 and *out, -EBADF, -EINVAL (not a timerfd). */
static long tfd_get(long fd, struct tfd **out)
{
	struct fs_file *f = fs_fd_file((int)fd);
	if (!f || (f->flags & O_PATH))
		return -EBADF;
	if (f->ops != &tfd_fops)
		return -EINVAL;
	*out = f->priv;
	return 0;
}

/* What is left and the interval, as timerfd_gettime reports them. */
static struct lx_itimerspec tfd_value(struct tfd *t)
{
	uint64_t now = k_clock_monotonic_ns();
	tfd_update(t, now);
	uint64_t left = t->armed ? t->next - now : 0;
	return (struct lx_itimerspec){
		.interval_sec = (int64_t)(t->interval / NS_PER_S),
		.interval_nsec = (int64_t)(t->interval % NS_PER_S),
		.value_sec = (int64_t)(left / NS_PER_S),
		.value_nsec = (int64_t)(left % NS_PER_S),
	};
}

/* timerfd_settime(fd, flags, new, old): arms (relative or TFD_TIMER_ABSTIME) or disarms, resetting the count. */
long sys_timerfd_settime(SYS_ARGS)
{
	const struct lx_itimerspec *un = (const struct lx_itimerspec *)a2;
	struct lx_itimerspec *uo = (struct lx_itimerspec *)a3;
	if (!k_user_ok(un, sizeof(*un)))
		return -EFAULT;
	struct lx_itimerspec it = *un;
	uint64_t value, interval;
	if (((int)a1 & ~(LX_TFD_TIMER_ABSTIME | LX_TFD_TIMER_CANCEL_ON_SET)) ||
	    !tfd_ts_ns(it.value_sec, it.value_nsec, &value) || !tfd_ts_ns(it.interval_sec, it.interval_nsec, &interval))
		return -EINVAL;
	struct tfd *t;
	long rc = tfd_get(a0, &t);
	if (rc)
		return rc;
	struct lx_itimerspec old = tfd_value(t);
	t->ticks = 0;
	tfd_disarm(t);
	if (value) {
		uint64_t mono = k_clock_monotonic_ns(), next;
		if (!((int)a1 & LX_TFD_TIMER_ABSTIME))
			next = mono + value;
		else if (t->realtime) /* realtime - monotonic is the constant boot time (see the top) */
			next = value + mono > k_clock_realtime_ns() ? value + mono - k_clock_realtime_ns() : 1;
		else
			next = value;
		tfd_arm(t, next, interval);
	}
	k_wait_wake(t, ~0u, K_THR_ALL); /* a reader sleeping until the old expiry looks again */
	if (uo) {
		if (!k_user_ok(uo, sizeof(*uo)))
			return -EFAULT;
		*uo = old;
	}
	return 0;
}

long sys_timerfd_gettime(SYS_ARGS)
{
	struct lx_itimerspec *uo = (struct lx_itimerspec *)a1;
	struct tfd *t;
	long rc = tfd_get(a0, &t);
	if (rc)
		return rc;
	if (!k_user_ok(uo, sizeof(*uo)))
		return -EFAULT;
	*uo = tfd_value(t);
	return 0;
}
