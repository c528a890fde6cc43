/* check_wait.c: unit tests of the guest's wait core (guest/kernel/wait.c) over fs_shim.c's fake threads. */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include "../../guest/include/k.h"
#include "../../guest/include/thread.h"
#include "../../guest/include/wait.h"
#include "fs_shim.h"

static struct k_thread *const A = &fs_shim_threads[0], *const B = &fs_shim_threads[1], *const C = &fs_shim_threads[2];

/* Registers w on key for thread t (as t itself would) and marks t blocked. */
static void wait_as(struct k_thread *t, struct k_waiter *w, const void *key, uint32_t bits)
{
	fs_shim_cur = t;
	k_wait_add(w, key, bits, NULL, NULL);
	t->blocked = true;
	t->rc = -ETIMEDOUT;
	fs_shim_cur = A;
}

static void setup(void)
{
	fs_shim_reset();
}

static int calls;
static void count_call(struct k_waiter *w)
{
	calls += *(int *)w->ctx;
}

START_TEST(test_wake_order_and_counts)
{
	static int key;
	struct k_waiter wa, wb, wc;
	wait_as(A, &wa, &key, ~0u);
	wait_as(B, &wb, &key, ~0u);
	wait_as(C, &wc, &key, ~0u);
	/* First come, first served: a FUTEX_WAKE of 1 wakes the oldest waiter. */
	ck_assert_int_eq(k_wait_wake(&key, ~0u, 1), 1);
	ck_assert(!A->blocked && B->blocked && C->blocked);
	ck_assert_int_eq(A->rc, 0);
	/* A woken waiter is unregistered at once: the next wake counts the others. */
	ck_assert_int_eq(k_wait_wake(&key, ~0u, K_THR_ALL), 2);
	ck_assert(!B->blocked && !C->blocked);
	ck_assert_int_eq(k_wait_wake(&key, ~0u, K_THR_ALL), 0);
	/* Deleting an unregistered waiter (after its wake, twice) changes nothing. */
	k_wait_del(&wa);
	k_wait_del(&wa);
	ck_assert_int_eq(k_wait_wake(NULL, ~0u, 1), 0);
}
END_TEST

START_TEST(test_bits_keys_callbacks)
{
	static int keys[200];
	static struct k_waiter w[200];
	struct k_waiter wb, cb;
	/* 200 keys in 64 chains: a wake touches only its own key's waiters. */
	for (int i = 0; i < 200; i++)
		wait_as(&fs_shim_threads[3], &w[i], &keys[i], ~0u);
	wait_as(B, &wb, &keys[7], 0x2);
	ck_assert_int_eq(k_wait_wake(&keys[7], 0x1, K_THR_ALL), 1); /* the bits 0x2 waiter stays */
	ck_assert(B->blocked);
	ck_assert_int_eq(k_wait_wake(&keys[7], 0x2, K_THR_ALL), 1);
	ck_assert(!B->blocked);
	for (int i = 0; i < 200; i++)
		k_wait_del(&w[i]);
	/* A callback waiter is called on every wake and stays registered until deleted. */
	int one = 1;
	k_wait_add(&cb, &keys[9], ~0u, count_call, &one);
	calls = 0;
	ck_assert_int_eq(k_wait_wake(&keys[9], ~0u, K_THR_ALL), 1);
	ck_assert_int_eq(k_wait_wake(&keys[9], ~0u, K_THR_ALL), 1);
	ck_assert_int_eq(calls, 2);
	k_wait_del(&cb);
	ck_assert_int_eq(k_wait_wake(&keys[9], ~0u, K_THR_ALL), 0);
}
END_TEST

static int on_key;
static void wake_during_block(void)
{
	ck_assert_int_eq(k_wait_wake(&on_key, ~0u, 1), 1);
}

START_TEST(test_wait_on_registers_for_the_block_only)
{
	fs_shim_during_block = wake_during_block;
	ck_assert_int_eq(k_wait_on(&on_key, ~0u, K_WAIT_FOREVER, K_WAIT_INTR), 0);
	ck_assert_uint_eq(fs_shim_block_flags, K_WAIT_INTR);
	fs_shim_during_block = NULL;
	ck_assert_int_eq(k_wait_wake(&on_key, ~0u, 1), 0); /* gone after the wait */
	/* Nobody wakes it: the deadline's answer, and again nothing stays registered. */
	ck_assert_int_eq(k_wait_on(&on_key, ~0u, 5, 0), -ETIMEDOUT);
	ck_assert_int_eq(k_wait_wake(&on_key, ~0u, 1), 0);
	/* No key: a plain block. */
	ck_assert_int_eq(k_wait_on(NULL, 0, 5, K_WAIT_SLEEP), -ETIMEDOUT);
	ck_assert_uint_eq(fs_shim_blocks, 3);
}
END_TEST

START_TEST(test_requeue)
{
	static int from, to;
	struct k_waiter wa, wb, wc;
	wait_as(A, &wa, &from, ~0u);
	wait_as(B, &wb, &from, ~0u);
	wait_as(C, &wc, &from, ~0u);
	/* FUTEX_REQUEUE 1, 1: A wakes, B moves, C stays. */
	ck_assert_int_eq(k_wait_requeue(&from, &to, 1, 1), 2);
	ck_assert(!A->blocked && B->blocked && C->blocked);
	ck_assert_int_eq(k_wait_wake(&to, ~0u, K_THR_ALL), 1);
	ck_assert(!B->blocked && C->blocked);
	/* Onto its own key: counted, nothing moves, and it ends however large nmove is. */
	ck_assert_int_eq(k_wait_requeue(&from, &from, 0, INT_MAX), 1);
	ck_assert_int_eq(k_wait_wake(&from, ~0u, K_THR_ALL), 1);
	ck_assert_int_eq(k_wait_requeue(&from, &to, K_THR_ALL, INT_MAX), 0);
}
END_TEST

static enum k_wait_news seen[2];
static uint64_t p0_poll(struct k_poller *p, enum k_wait_news news)
{
	(void)p;
	seen[0] = news;
	return 0; /* awaits nothing */
}
static uint64_t p1_poll(struct k_poller *p, enum k_wait_news news)
{
	(void)p;
	seen[1] = news;
	return 12345;
}

START_TEST(test_pollers_and_idle)
{
	static struct k_poller p0 = { .poll = p0_poll }, p1 = { .poll = p1_poll };
	static bool added;
	if (!added) { /* pollers stay registered for the process (the VM) */
		k_wait_poller_add(&p0);
		k_wait_poller_add(&p1);
		added = true;
	}
	ck_assert_uint_eq(k_wait_poll(K_WAIT_NEWS), 12345); /* the earliest nonzero time */
	ck_assert(seen[0] == K_WAIT_NEWS && seen[1] == K_WAIT_NEWS);
	ck_assert_uint_eq(k_wait_poll(K_WAIT_POLLED), 12345);
	ck_assert(seen[0] == K_WAIT_POLLED);
	/* The idle WAIT: a deadline already passed asks for 0 ns; the answer maps to news or quiet. */
	fs_shim_wait_rc = 1;
	ck_assert_int_eq(k_wait_idle(0), K_WAIT_NEWS);
	ck_assert_uint_eq(fs_shim_wait_timeout, 0);
	fs_shim_wait_rc = 0;
	ck_assert_int_eq(k_wait_idle(K_WAIT_FOREVER), K_WAIT_QUIET);
	ck_assert_uint_gt(fs_shim_wait_timeout, 1000000000ull * 3600 * 24 * 365 * 100); /* a sleep of centuries */
}
END_TEST

/* The scheduler's idle WAIT carries UKVM_WAIT_IDLE only when quiet and long; a restored answer fixes clocks and seed. */
START_TEST(test_idle_flag_and_restored)
{
	fs_shim_wait_rc = 0;
	k_wait_idle_sched(K_WAIT_FOREVER, true);
	ck_assert_uint_eq(fs_shim_wait_flags, UKVM_WAIT_IDLE);
	k_wait_idle_sched(K_WAIT_FOREVER, false);
	ck_assert_uint_eq(fs_shim_wait_flags, 0);
	k_wait_idle_sched(k_clock_monotonic_ns() + 1000000, true); /* 1 ms: a timer, not idle */
	ck_assert_uint_eq(fs_shim_wait_flags, 0);
	k_wait_idle(K_WAIT_FOREVER);
	ck_assert_uint_eq(fs_shim_wait_flags, 0);
	fs_shim_restored_realtime = 0;
	fs_shim_wait_rc = UKVM_WAIT_RESTORED;
	ck_assert_int_eq(k_wait_idle_sched(K_WAIT_FOREVER, true), K_WAIT_NEWS);
	ck_assert_uint_eq(fs_shim_restored_realtime, 42000000000ull);
	ck_assert_uint_ne(fs_shim_restored_tsc, 0);
	ck_assert_uint_eq(fs_shim_reseed[0], 7);
	ck_assert_uint_eq(fs_shim_reseed[31], 7);
	ck_assert_int_eq(fs_shim_lapic_restored, 1);
	fs_shim_wait_rc = 0;
}
END_TEST

/* A WAIT hypercall that fails leaves nothing that could ever wake the vCPU: a kernel panic. */
START_TEST(test_idle_hypercall_failure_panics)
{
	fs_shim_wait_rc = -5;
	k_wait_idle(K_WAIT_FOREVER);
}
END_TEST

Suite *wait_suite(void)
{
	Suite *s = suite_create("wait");
	TCase *core = tcase_create("core");
	tcase_add_checked_fixture(core, setup, NULL);
	tcase_add_test(core, test_wake_order_and_counts);
	tcase_add_test(core, test_wait_on_registers_for_the_block_only);
	tcase_add_test(core, test_requeue);
	tcase_add_test(core, test_pollers_and_idle);
	tcase_add_test(core, test_idle_flag_and_restored);
	suite_add_tcase(s, core);
	TCase *limits = tcase_create("limits");
	tcase_add_checked_fixture(limits, setup, NULL);
	tcase_add_test(limits, test_bits_keys_callbacks);
	suite_add_tcase(s, limits);
	TCase *hostile = tcase_create("hostile");
	tcase_add_checked_fixture(hostile, setup, NULL);
	tcase_add_exit_test(hostile, test_idle_hypercall_failure_panics, 134);
	suite_add_tcase(s, hostile);
	return s;
}
