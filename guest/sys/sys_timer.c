/* sys_timer.c: interval timers (setitimer/getitimer/alarm) and POSIX timers (timer_create ...): signals sent at their expiry. */
#include <linux/errno.h>
#include <string.h>

#include "k.h"
#include "kmalloc.h"
#include "linux_abi.h"
#include "sig.h"
#include "sys.h"
#include "thread.h"
#include "timer.h"
#include "wait.h"

/*
 * The guest takes no interrupts (docs/design.md), so an expiry is noticed
 * when someone looks, as for timerfd (guest/fs/timerfd.c):
 *
 * - at every syscall's return (k_timer_check from guest/kernel/syscall.c):
 *   one comparison while a timer is armed, nothing otherwise; its signal
 *   is then delivered on that same return, as on Linux's next return to
 *   user mode;
 * - by the scheduler, through a wait-core poller: it runs at every thread
 *   switch and bounds the idle WAIT by the earliest expiry, so a thread
 *   blocked in a syscall (sleep, read, futex, pause) is interrupted in time
 *   (EINTR, or a restart under SA_RESTART as Linux does), and a wait with
 *   an armed timer is never taken for a deadlock.
 *
 * A thread that computes without syscalls sees its signal at its next
 * syscall: threads are cooperative (README: preemption).
 *
 * Timers run on the monotonic clock; realtime ones convert at settime (the
 * guest's wall clock never jumps), and the CPU-time clocks are the
 * monotonic one here (guest/sys/sys_time.c: the vCPU runs nothing else), so
 * ITIMER_VIRTUAL and ITIMER_PROF count like ITIMER_REAL.
 */
#define NS_PER_S 1000000000ull
#define NS_PER_US 1000ull
#define TMR_MAX 1024 /* POSIX timers of the process */
#define TMR_FOREVER K_WAIT_FOREVER

#define TMR_SIGEV_SIGNAL 0
#define TMR_SIGEV_NONE 1
#define TMR_SIGEV_THREAD 2
#define TMR_SIGEV_THREAD_ID 4
#define TMR_ITIMER_REAL 0
#define TMR_ITIMER_VIRTUAL 1
#define TMR_ITIMER_PROF 2
#define TMR_SIGALRM 14
#define TMR_SIGVTALRM 26
#define TMR_SIGPROF 27

struct tmr {
	int id;           /* timer_create's id; -1 for the interval timers */
	int notify;       /* SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD_ID */
	int sig, tid;     /* the signal and its thread (0: the process) */
	uint64_t value;   /* sigev_value, the siginfo's si_value */
	uint64_t next;    /* monotonic ns of the next expiry; 0: disarmed */
	uint64_t interval;
	int overrun;      /* expirations while its signal was still pending */
	int overrun_last; /* timer_getoverrun: the count its last delivered signal carried */
	bool queued;      /* its signal was sent and not yet delivered */
	bool realtime;    /* CLOCK_REALTIME (absolute settime) */
};

/* The sigevent the app passes (Linux's struct sigevent, 64 bytes). */
struct tmr_sigevent {
	uint64_t value;
	int32_t signo;
	int32_t notify;
	int32_t tid;
	int32_t pad[11];
};

struct lx_itimerspec {
	struct lx_timespec interval, value;
};
struct lx_itimerval {
	struct lx_timeval interval, value;
};

static struct tmr tmr_itimer[3] = {
	{ .id = -1, .sig = TMR_SIGALRM }, { .id = -1, .sig = TMR_SIGVTALRM }, { .id = -1, .sig = TMR_SIGPROF },
};
static struct tmr *tmr_posix[TMR_MAX];
static int tmr_next_id;

uint64_t k_timer_next;
static struct k_poller tmr_poller;
static bool tmr_poller_on;

/* Recomputes k_timer_next, the earliest expiry that sends a signal (0: none). */
static void tmr_earliest(void)
{
	uint64_t e = 0;

	for (int i = 0; i < 3; i++)
		if (tmr_itimer[i].next && (!e || tmr_itimer[i].next < e))
			e = tmr_itimer[i].next;
	for (int i = 0; i < TMR_MAX; i++) {
		struct tmr *t = tmr_posix[i];
		if (t && t->next && t->notify != TMR_SIGEV_NONE && (!e || t->next < e))
			e = t->next;
	}
	k_timer_next = e;
}

/* Sends t's signal, or counts an overrun while the last one is still pending (Linux's one queued signal per timer). */
static void tmr_send(struct tmr *t)
{
	int sig = t->sig;

	if (t->notify == TMR_SIGEV_NONE)
		return;
	int tid = t->tid ? t->tid : k_thr_pick(sig);
	if (!tid || !k_thr_exists(tid))
		return; /* its thread is gone */
	if (t->queued && k_thr_sig_pending(tid, sig)) {
		if (t->overrun < INT32_MAX)
			t->overrun++;
		return;
	}
	t->queued = false;
	/* A standard signal is pending at most once: another sender's stays (Linux's legacy_queue). */
	if (k_thr_sig_pending(tid, sig) || k_sig_ignored(sig))
		return;
	k_sig.code[sig] = t->id >= 0 ? K_SI_TIMER : LX_SI_KERNEL;
	k_sig.info16[sig] = t->id >= 0 ? (uint32_t)t->id : 0;
	k_sig.info24[sig] = t->id >= 0 ? t->value : 0;
	long rc = k_thr_post(tid, sig);
	if (rc < 0)
		return;
	t->queued = t->id >= 0;
	/* Not blocked and no handler: a default "terminate" ends the app now, as on Linux. */
	if (rc == 0 && k_sig.act[sig].handler == LX_SIG_DFL)
		k_sig_act_on(sig);
}

/* Counts t's expirations up to now: sends its signal once, the periods it missed are overruns. */
static void tmr_expire(struct tmr *t, uint64_t now)
{
	if (!t->next || now < t->next)
		return;
	uint64_t missed = 0;
	if (t->interval) {
		uint64_t n = (now - t->next) / t->interval + 1;
		missed = n - 1;
		t->next = n > (TMR_FOREVER - t->next) / t->interval ? TMR_FOREVER : t->next + n * t->interval;
	} else {
		t->next = 0;
	}
	tmr_send(t);
	if (t->queued)
		t->overrun = missed > (uint64_t)(INT32_MAX - t->overrun) ? INT32_MAX : t->overrun + (int)missed;
}

static void tmr_expire_all(uint64_t now)
{
	for (int i = 0; i < 3; i++)
		tmr_expire(&tmr_itimer[i], now);
	for (int i = 0; i < TMR_MAX; i++)
		if (tmr_posix[i] && tmr_posix[i]->notify != TMR_SIGEV_NONE)
			tmr_expire(tmr_posix[i], now);
	tmr_earliest();
}

void k_timer_fire(void)
{
	tmr_expire_all(k_clock_monotonic_ns());
}

/* The scheduler's look (wait.h): sends what expired, returns the earliest expiry ahead (0: none). */
static uint64_t tmr_poll(struct k_poller *p, enum k_wait_news news)
{
	(void)p, (void)news;
	if (k_timer_next && k_clock_monotonic_ns() >= k_timer_next)
		k_timer_fire();
	return k_timer_next;
}

static void tmr_armed(void)
{
	if (!tmr_poller_on) {
		tmr_poller.poll = tmr_poll;
		k_wait_poller_add(&tmr_poller);
		tmr_poller_on = true;
	}
	tmr_earliest();
}

static struct tmr *tmr_find(long id)
{
	if (id < 0 || id > INT32_MAX)
		return NULL;
	for (int i = 0; i < TMR_MAX; i++)
		if (tmr_posix[i] && tmr_posix[i]->id == id)
			return tmr_posix[i];
	return NULL;
}

uint64_t k_timer_delivered(int timerid)
{
	struct tmr *t = tmr_find(timerid);

	if (!t)
		return (uint32_t)timerid;
	t->overrun_last = t->overrun;
	t->overrun = 0;
	t->queued = false;
	return (uint32_t)timerid | (uint64_t)(uint32_t)t->overrun_last << 32;
}

/* Time left until t's next expiry (0: disarmed), after counting what already expired. */
static uint64_t tmr_left(struct tmr *t, uint64_t now)
{
	if (t->notify == TMR_SIGEV_NONE && t->next && now >= t->next) {
		/* Nothing to send: the expiries only move the timer on. */
		if (!t->interval)
			t->next = 0;
		else
			t->next += ((now - t->next) / t->interval + 1) * t->interval;
	} else {
		tmr_expire(t, now);
	}
	return t->next ? t->next - now : 0;
}

/* Reads an interval or value in ns: -EINVAL for a negative or denormal one (Linux's timespec64_valid). */
static int64_t tmr_ts_ns(const struct lx_timespec *ts)
{
	if (ts->tv_sec < 0 || ts->tv_nsec < 0 || (uint64_t)ts->tv_nsec >= NS_PER_S)
		return -EINVAL;
	if ((uint64_t)ts->tv_sec >= (TMR_FOREVER - NS_PER_S) / NS_PER_S)
		return (int64_t)(TMR_FOREVER - NS_PER_S);
	return (int64_t)((uint64_t)ts->tv_sec * NS_PER_S + (uint64_t)ts->tv_nsec);
}

static int64_t tmr_tv_ns(const struct lx_timeval *tv)
{
	if (tv->tv_sec < 0 || tv->tv_usec < 0 || (uint64_t)tv->tv_usec >= NS_PER_S / NS_PER_US)
		return -EINVAL;
	if ((uint64_t)tv->tv_sec >= (TMR_FOREVER - NS_PER_S) / NS_PER_S)
		return (int64_t)(TMR_FOREVER - NS_PER_S);
	return (int64_t)((uint64_t)tv->tv_sec * NS_PER_S + (uint64_t)tv->tv_usec * NS_PER_US);
}

static void tmr_to_ts(uint64_t ns, struct lx_timespec *ts)
{
	ts->tv_sec = (long)(ns / NS_PER_S);
	ts->tv_nsec = (long)(ns % NS_PER_S);
}

/* Linux's itimer_get_remtime and put_itimerval: microseconds truncated, but a running timer never reads as zero. */
static void tmr_to_tv(uint64_t ns, bool running, struct lx_timeval *tv)
{
	uint64_t us = ns / NS_PER_US;
	if (running && !us)
		us = 1;
	tv->tv_sec = (long)(us / 1000000u);
	tv->tv_usec = (long)(us % 1000000u);
}

/* Arms t to expire after rel ns (0: disarms), then every interval ns. */
static void tmr_set(struct tmr *t, uint64_t rel, uint64_t interval, uint64_t now)
{
	t->next = rel ? (rel >= TMR_FOREVER - now ? TMR_FOREVER : now + rel) : 0;
	t->interval = rel ? interval : 0;
	tmr_armed();
}

static void itimer_get(int which, struct lx_itimerval *v, uint64_t now)
{
	struct tmr *t = &tmr_itimer[which];
	uint64_t left = tmr_left(t, now);
	tmr_to_tv(left, t->next != 0, &v->value);
	tmr_to_tv(t->interval, false, &v->interval);
}

long sys_getitimer(SYS_ARGS)
{
	struct lx_itimerval *v = (struct lx_itimerval *)a1;

	if (a0 < TMR_ITIMER_REAL || a0 > TMR_ITIMER_PROF)
		return -EINVAL;
	if (!k_user_ok(v, sizeof(*v)))
		return -EFAULT;
	itimer_get((int)a0, v, k_clock_monotonic_ns());
	tmr_earliest();
	return 0;
}

/* setitimer(which, new, old): Linux takes a NULL new as a zero one (disarms). */
long sys_setitimer(SYS_ARGS)
{
	const struct lx_itimerval *nu = (const struct lx_itimerval *)a1;
	struct lx_itimerval *old = (struct lx_itimerval *)a2, v = { { 0, 0 }, { 0, 0 } };

	if (nu) {
		if (!k_user_ok(nu, sizeof(*nu)))
			return -EFAULT;
		v = *nu;
	}
	if (a0 < TMR_ITIMER_REAL || a0 > TMR_ITIMER_PROF)
		return -EINVAL;
	int64_t val = tmr_tv_ns(&v.value), iv = tmr_tv_ns(&v.interval);
	if (val < 0 || iv < 0)
		return -EINVAL;
	if (old && !k_user_ok(old, sizeof(*old)))
		return -EFAULT;
	uint64_t now = k_clock_monotonic_ns();
	if (old)
		itimer_get((int)a0, old, now);
	tmr_set(&tmr_itimer[a0], (uint64_t)val, (uint64_t)iv, now);
	return 0;
}

/* alarm(seconds): the seconds left of the previous alarm, rounded as Linux's alarm_setitimer does. */
long sys_alarm(SYS_ARGS)
{
	uint64_t now = k_clock_monotonic_ns();
	struct tmr *t = &tmr_itimer[TMR_ITIMER_REAL];
	uint64_t left = tmr_left(t, now);
	unsigned long secs = (unsigned long)(unsigned int)a0;

	tmr_set(t, (uint64_t)secs * NS_PER_S, 0, now);
	long s = (long)(left / NS_PER_S);
	uint64_t frac = left % NS_PER_S;
	if ((!s && frac) || frac >= NS_PER_S / 2)
		s++;
	return s;
}

static bool tmr_clock_ok(long clk)
{
	return clk == LX_CLOCK_REALTIME || clk == LX_CLOCK_MONOTONIC || clk == LX_CLOCK_BOOTTIME ||
	       clk == LX_CLOCK_PROCESS_CPUTIME_ID || clk == LX_CLOCK_THREAD_CPUTIME_ID;
}

/* timer_create(clock, sevp, timerid) */
long sys_timer_create(SYS_ARGS)
{
	const struct tmr_sigevent *ev = (const struct tmr_sigevent *)a1;
	int *idp = (int *)a2;
	struct tmr nu = { .notify = TMR_SIGEV_SIGNAL, .sig = TMR_SIGALRM, .realtime = a0 == LX_CLOCK_REALTIME };

	if (!tmr_clock_ok(a0))
		return -EINVAL;
	if (ev) {
		if (!k_user_ok(ev, sizeof(*ev)))
			return -EFAULT;
		struct tmr_sigevent e = *ev;
		nu.notify = e.notify;
		nu.sig = e.signo;
		nu.value = e.value;
		/* Linux's good_sigevent: SIGEV_THREAD is the C library's business, a plain signal to the kernel. */
		switch (e.notify) {
		case TMR_SIGEV_THREAD_ID | TMR_SIGEV_SIGNAL:
			if (e.tid <= 0 || !k_thr_exists(e.tid))
				return -EINVAL;
			nu.tid = e.tid;
			/* fall through */
		case TMR_SIGEV_SIGNAL:
		case TMR_SIGEV_THREAD:
			if (e.signo <= 0 || e.signo > LX_NSIG)
				return -EINVAL;
			nu.notify = nu.tid ? TMR_SIGEV_THREAD_ID : TMR_SIGEV_SIGNAL;
			break;
		case TMR_SIGEV_NONE:
			break;
		default:
			return -EINVAL;
		}
	}
	if (!k_user_ok(idp, sizeof(*idp)))
		return -EFAULT;
	int slot = 0;
	while (slot < TMR_MAX && tmr_posix[slot])
		slot++;
	if (slot == TMR_MAX)
		return -EAGAIN;
	struct tmr *t = k_malloc(sizeof(*t));
	if (!t)
		return -EAGAIN;
	/* Ids count up (Linux's posix_timer_add), skipping any still in use after a wrap. */
	do {
		nu.id = tmr_next_id;
		tmr_next_id = tmr_next_id == INT32_MAX ? 0 : tmr_next_id + 1;
	} while (tmr_find(nu.id));
	if (!ev)
		nu.value = (uint64_t)(uint32_t)nu.id; /* Linux: si_value is the id when sevp is NULL */
	*t = nu;
	tmr_posix[slot] = t;
	*idp = nu.id;
	return 0;
}

/* timer_settime(id, flags, new, old): TIMER_ABSTIME takes new's value as a time on the timer's clock. */
long sys_timer_settime(SYS_ARGS)
{
	struct tmr *t = tmr_find(a0);
	const struct lx_itimerspec *nu = (const struct lx_itimerspec *)a2;
	struct lx_itimerspec *old = (struct lx_itimerspec *)a3;

	if (!nu)
		return -EINVAL;
	if (!k_user_ok(nu, sizeof(*nu)))
		return -EFAULT;
	struct lx_itimerspec v = *nu;
	if (old && !k_user_ok(old, sizeof(*old)))
		return -EFAULT;
	if (!t)
		return -EINVAL;
	int64_t val = tmr_ts_ns(&v.value), iv = tmr_ts_ns(&v.interval);
	if (val < 0 || iv < 0)
		return -EINVAL;
	uint64_t now = k_clock_monotonic_ns();
	if (old) {
		tmr_to_ts(tmr_left(t, now), &old->value);
		tmr_to_ts(t->interval, &old->interval);
	}
	uint64_t rel = (uint64_t)val;
	bool past = false;
	if ((a1 & LX_TIMER_ABSTIME) && val) {
		uint64_t clk = t->realtime ? k_clock_realtime_ns() : now;
		past = (uint64_t)val <= clk;
		rel = past ? 1 : (uint64_t)val - clk;
	}
	t->overrun = t->overrun_last = 0; /* Linux's common_timer_set */
	t->queued = false;
	tmr_set(t, rel, (uint64_t)iv, now);
	if (past) {
		/* An absolute time already gone expires now: the signal is there when this call returns. */
		t->next = now;
		k_timer_fire();
	}
	return 0;
}

long sys_timer_gettime(SYS_ARGS)
{
	struct tmr *t = tmr_find(a0);
	struct lx_itimerspec *cur = (struct lx_itimerspec *)a1;

	if (!t)
		return -EINVAL;
	if (!k_user_ok(cur, sizeof(*cur)))
		return -EFAULT;
	uint64_t now = k_clock_monotonic_ns();
	uint64_t left = tmr_left(t, now);
	tmr_earliest();
	/* Linux never reports a running timer as zero: that would read as disarmed. */
	tmr_to_ts(t->next && !left ? 1 : left, &cur->value);
	tmr_to_ts(t->interval, &cur->interval);
	return 0;
}

long sys_timer_getoverrun(SYS_ARGS)
{
	struct tmr *t = tmr_find(a0);

	return t ? t->overrun_last : -EINVAL;
}

long sys_timer_delete(SYS_ARGS)
{
	for (int i = 0; i < TMR_MAX; i++) {
		struct tmr *t = tmr_posix[i];
		if (t && t->id == a0 && a0 >= 0 && a0 <= INT32_MAX) {
			tmr_posix[i] = NULL;
			k_free(t);
			tmr_earliest();
			return 0;
		}
	}
	return -EINVAL;
}
