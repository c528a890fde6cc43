/* check_ktimer.c: interval and POSIX timers (guest/sys/sys_timer.c) on host fakes of the clock, the threads and the signal state. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linux_abi.h"
#include "sig.h"
#include "sys.h"
#include "thread.h"
#include "timer.h"
#include "wait.h"

#define L(p) ((long)(uintptr_t)(p))
#define MS 1000000ull

/* --- fakes: clock, allocator, user checks, wait core, threads, signals ---------------------- */
static uint64_t fake_mono = 1000 * MS;
static int fake_posts, fake_post_tid, fake_post_sig, fake_acted;
static bool fake_pending; /* the posted signal is still pending */
static struct k_poller *fake_poller;
struct sig_state k_sig;

uint64_t k_clock_monotonic_ns(void) { return fake_mono; }
uint64_t k_clock_realtime_ns(void) { return 1700000000ull * 1000000000ull + fake_mono; }
void *k_malloc(size_t n) { return malloc(n); }
void k_free(void *p) { free(p); }

bool k_user_ok(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p;
	return a >= 4096 && a + len >= a;
}

void k_wait_poller_add(struct k_poller *p) { fake_poller = p; }
int k_thr_pick(int sig) { (void)sig; return 1; }
bool k_thr_exists(int tid) { return tid == 1 || tid == 2; }
bool k_thr_sig_pending(int tid, int sig) { (void)tid, (void)sig; return fake_pending; }
bool k_sig_ignored(int sig) { return k_sig.act[sig].handler == LX_SIG_IGN; }
bool k_sig_act_on(int sig) { (void)sig; fake_acted++; return true; }

long k_thr_post(int tid, int sig)
{
	fake_posts++;
	fake_post_tid = tid;
	fake_post_sig = sig;
	fake_pending = true;
	return 0;
}

static void setup(void)
{
	fake_posts = fake_acted = 0;
	fake_pending = false;
	memset(&k_sig, 0, sizeof(k_sig));
	for (int s = 1; s <= LX_NSIG; s++)
		k_sig.act[s].handler = 0x1000; /* a handler everywhere: nothing terminates */
}

struct itv { struct lx_timeval interval, value; };
struct its { struct lx_timespec interval, value; };

START_TEST(itimer_core)
{
	struct itv v = { { 0, 10000 }, { 0, 10000 } }, o;
	ck_assert_int_eq(sys_setitimer(0, L(&v), 0, 0, 0, 0), 0);
	ck_assert_uint_eq(k_timer_next, fake_mono + 10 * MS);
	/* Nothing before the expiry; at the syscall return after it, SIGALRM with SI_KERNEL. */
	fake_mono += 9 * MS;
	k_timer_check();
	ck_assert_int_eq(fake_posts, 0);
	fake_mono += 96 * MS; /* 105 ms: ten periods gone, one signal */
	k_timer_check();
	ck_assert_int_eq(fake_posts, 1);
	ck_assert_int_eq(fake_post_sig, 14);
	ck_assert_int_eq(k_sig.code[14], LX_SI_KERNEL);
	ck_assert_uint_eq(k_timer_next, 1000 * MS + 110 * MS);
	/* The scheduler's poller sees the same expiries and bounds the idle WAIT by the next. */
	ck_assert_ptr_nonnull(fake_poller);
	fake_pending = false;
	fake_mono += 5 * MS;
	ck_assert_uint_eq(fake_poller->poll(fake_poller, K_WAIT_POLLED), 1000 * MS + 120 * MS);
	ck_assert_int_eq(fake_posts, 2);
	ck_assert_int_eq(sys_getitimer(0, L(&o), 0, 0, 0, 0), 0);
	ck_assert_int_eq(o.value.tv_sec, 0);
	ck_assert_int_eq(o.value.tv_usec, 10000); /* it just fired at 1110 ms: the next period is whole */
	ck_assert_int_eq(o.interval.tv_usec, 10000);
	/* NULL disarms, as Linux takes it. */
	ck_assert_int_eq(sys_setitimer(0, 0, L(&o), 0, 0, 0), 0);
	ck_assert_uint_eq(k_timer_next, 0);
	ck_assert_int_eq(sys_getitimer(0, L(&o), 0, 0, 0, 0), 0);
	ck_assert_int_eq(o.value.tv_usec, 0);
}
END_TEST

START_TEST(alarm_rounding)
{
	/* Linux's alarm_setitimer: whole seconds left, a half or more rounds up, never 0 while armed. */
	static const struct { uint64_t after_ms; long want; } cases[] = {
		{ 4400, 1 }, { 4700, 1 }, { 3400, 2 }, { 3600, 1 }, { 4999, 1 },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(sys_alarm(5, 0, 0, 0, 0, 0), 0);
		fake_mono += cases[i].after_ms * MS;
		ck_assert_int_eq(sys_alarm(0, 0, 0, 0, 0, 0), cases[i].want);
	}
	ck_assert_int_eq(sys_alarm(0, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(fake_posts, 0);
}
END_TEST

START_TEST(posix_core)
{
	int id = -1, id2 = -1;
	struct { uint64_t value; int32_t signo, notify, tid, pad[11]; } ev = { 42, 10, 0, 0, { 0 } };
	struct its v = { { 0, 10 * MS }, { 0, 10 * MS } }, cur;

	ck_assert_int_eq(sys_timer_create(1, L(&ev), L(&id), 0, 0, 0), 0);
	ck_assert_int_eq(sys_timer_create(1, L(&ev), L(&id2), 0, 0, 0), 0);
	ck_assert_int_ne(id, id2);
	ck_assert_int_eq(sys_timer_delete(id2, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_timer_delete(id2, 0, 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_timer_settime(id, 0, L(&v), 0, 0, 0), 0);
	/* Blocked (still pending) while it fires again and again: overruns, given to the delivered signal. */
	fake_mono += 10 * MS;
	k_timer_check();
	ck_assert_int_eq(fake_posts, 1);
	ck_assert_int_eq(k_sig.code[10], K_SI_TIMER);
	ck_assert_uint_eq(k_sig.info24[10], 42);
	fake_mono += 35 * MS;
	k_timer_check();
	ck_assert_int_eq(fake_posts, 1);
	uint64_t w = k_timer_delivered(id);
	ck_assert_uint_eq((uint32_t)w, (uint32_t)id);
	ck_assert_uint_eq(w >> 32, 3);
	ck_assert_int_eq(sys_timer_getoverrun(id, 0, 0, 0, 0, 0), 3);
	ck_assert_int_eq(sys_timer_gettime(id, L(&cur), 0, 0, 0, 0), 0);
	ck_assert_int_eq(cur.value.tv_nsec, 5 * MS);
	/* settime resets the overrun; an absolute time already gone fires at once. */
	fake_pending = false;
	struct its past = { { 0, 0 }, { 0, 1 } };
	ck_assert_int_eq(sys_timer_settime(id, LX_TIMER_ABSTIME, L(&past), 0, 0, 0), 0);
	ck_assert_int_eq(sys_timer_getoverrun(id, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(fake_posts, 2);
	ck_assert_int_eq(sys_timer_gettime(id, L(&cur), 0, 0, 0, 0), 0);
	ck_assert_int_eq(cur.value.tv_sec, 0);
	ck_assert_int_eq(cur.value.tv_nsec, 0);
	ck_assert_int_eq(sys_timer_delete(id, 0, 0, 0, 0, 0), 0);
	ck_assert_uint_eq(k_timer_next, 0);
}
END_TEST

START_TEST(posix_none_and_thread)
{
	int id;
	struct { uint64_t value; int32_t signo, notify, tid, pad[11]; } ev = { 0, 10, 1 /* SIGEV_NONE */, 0, { 0 } };
	struct its v = { { 0, 0 }, { 0, 20 * MS } }, cur;

	/* SIGEV_NONE: counts down, never sends, never keeps the scheduler awake. */
	ck_assert_int_eq(sys_timer_create(1, L(&ev), L(&id), 0, 0, 0), 0);
	ck_assert_int_eq(sys_timer_settime(id, 0, L(&v), 0, 0, 0), 0);
	ck_assert_uint_eq(k_timer_next, 0);
	fake_mono += 30 * MS;
	k_timer_check();
	ck_assert_int_eq(sys_timer_gettime(id, L(&cur), 0, 0, 0, 0), 0);
	ck_assert_int_eq(cur.value.tv_nsec, 0);
	ck_assert_int_eq(fake_posts, 0);
	sys_timer_delete(id, 0, 0, 0, 0, 0);
	/* SIGEV_THREAD_ID: the thread must exist; the signal goes to it. */
	ev.notify = 4;
	ev.tid = 7;
	ck_assert_int_eq(sys_timer_create(1, L(&ev), L(&id), 0, 0, 0), -EINVAL);
	ev.tid = 2;
	ck_assert_int_eq(sys_timer_create(1, L(&ev), L(&id), 0, 0, 0), 0);
	ck_assert_int_eq(sys_timer_settime(id, 0, L(&v), 0, 0, 0), 0);
	fake_mono += 20 * MS;
	k_timer_check();
	ck_assert_int_eq(fake_post_tid, 2);
	sys_timer_delete(id, 0, 0, 0, 0, 0);
	/* No handler and not blocked: the default action acts (the fake records it). */
	k_sig.act[14].handler = LX_SIG_DFL;
	fake_pending = false;
	ck_assert_int_eq(sys_alarm(1, 0, 0, 0, 0, 0), 0);
	fake_mono += 1000 * MS;
	k_timer_check();
	ck_assert_int_eq(fake_acted, 1);
	/* An ignored signal is not sent at all. */
	k_sig.act[14].handler = LX_SIG_IGN;
	int posts = fake_posts;
	ck_assert_int_eq(sys_alarm(1, 0, 0, 0, 0, 0), 0);
	fake_mono += 1000 * MS;
	k_timer_check();
	ck_assert_int_eq(fake_posts, posts);
}
END_TEST

START_TEST(timer_limits)
{
	static int ids[1024];
	struct { uint64_t value; int32_t signo, notify, tid, pad[11]; } ev = { 0, 10, 0, 0, { 0 } };
	for (int i = 0; i < 1024; i++)
		ck_assert_int_eq(sys_timer_create(1, L(&ev), L(&ids[i]), 0, 0, 0), 0);
	int extra;
	ck_assert_int_eq(sys_timer_create(1, L(&ev), L(&extra), 0, 0, 0), -EAGAIN);
	/* Absurd times saturate: no wrap into the past, no overflow of periods. */
	struct its huge = { { INT64_MAX, 999999999 }, { INT64_MAX, 999999999 } };
	ck_assert_int_eq(sys_timer_settime(ids[0], 0, L(&huge), 0, 0, 0), 0);
	ck_assert_uint_gt(k_timer_next, fake_mono + 1000000000ull * 1000000000ull);
	struct its tiny = { { 0, 1 }, { 0, 1 } };
	ck_assert_int_eq(sys_timer_settime(ids[1], 0, L(&tiny), 0, 0, 0), 0);
	fake_mono += 1000000000ull * 1000000000ull / 4; /* ~8 years of 1 ns periods */
	k_timer_check();
	ck_assert_int_eq(fake_posts, 1);
	ck_assert_uint_eq(k_timer_delivered(ids[1]) >> 32, INT32_MAX);
	for (int i = 0; i < 1024; i++)
		ck_assert_int_eq(sys_timer_delete(ids[i], 0, 0, 0, 0, 0), 0);
}
END_TEST

START_TEST(timer_hostile)
{
	struct itv v = { { 0, 0 }, { 0, 1000000 } };
	ck_assert_int_eq(sys_setitimer(3, L(&v), 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_setitimer(0, L(&v), 0, 0, 0, 0), -EINVAL);
	v.value = (struct lx_timeval){ -1, 0 };
	ck_assert_int_eq(sys_setitimer(0, L(&v), 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_setitimer(0, 8, 0, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_getitimer(-1, L(&v), 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_getitimer(0, 8, 0, 0, 0, 0), -EFAULT);
	int id;
	struct { uint64_t value; int32_t signo, notify, tid, pad[11]; } ev = { 0, 65, 0, 0, { 0 } };
	ck_assert_int_eq(sys_timer_create(1, L(&ev), L(&id), 0, 0, 0), -EINVAL);
	ev.signo = 10;
	ev.notify = 99;
	ck_assert_int_eq(sys_timer_create(1, L(&ev), L(&id), 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_timer_create(99, 0, L(&id), 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_timer_create(1, 8, L(&id), 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_timer_create(1, 0, 8, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_timer_create(1, 0, L(&id), 0, 0, 0), 0);
	struct its bad = { { 0, 0 }, { 0, 1000000000 } };
	ck_assert_int_eq(sys_timer_settime(id, 0, L(&bad), 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_timer_settime(id, 0, 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_timer_settime(id, 0, 8, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_timer_settime(-1, 0, L(&bad), 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_timer_settime(1L << 40, 0, L(&bad), 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_timer_gettime(id, 8, 0, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_timer_getoverrun(-5, 0, 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_timer_delete(id, 0, 0, 0, 0, 0), 0);
}
END_TEST

Suite *ktimer_suite(void)
{
	Suite *s = suite_create("ktimer");
	TCase *c = tcase_create("core");
	tcase_add_checked_fixture(c, setup, NULL);
	tcase_add_test(c, itimer_core);
	tcase_add_test(c, alarm_rounding);
	tcase_add_test(c, posix_core);
	tcase_add_test(c, posix_none_and_thread);
	suite_add_tcase(s, c);
	TCase *l = tcase_create("limits");
	tcase_add_checked_fixture(l, setup, NULL);
	tcase_add_test(l, timer_limits);
	suite_add_tcase(s, l);
	TCase *h = tcase_create("hostile");
	tcase_add_checked_fixture(h, setup, NULL);
	tcase_add_test(h, timer_hostile);
	suite_add_tcase(s, h);
	return s;
}
