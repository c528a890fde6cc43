/* check_vcpu.c: unit suite "vcpu" (vmm/vcpu.c): the kick, without KVM: run page, wake eventfd, signal to the vCPU thread. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "vcpu.h"

static struct vcpu v;
static struct kvm_run *run;
static volatile sig_atomic_t got_kick;
static int thread_tid, thread_go;

static void on_kick(int sig)
{
	(void)sig;
	got_kick = 1;
}

static void setup(void)
{
	run = calloc(1, sizeof(*run));
	ck_assert_ptr_nonnull(run);
	v = (struct vcpu){ .fd = -1, .wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), .run = run,
			   .kick_signal = SIGUSR1, .pid = getpid() };
	ck_assert_int_ge(v.wake_fd, 0);
	got_kick = 0;
}

static void teardown(void)
{
	close(v.wake_fd);
	free(run);
}

START_TEST(test_kick_wakes)
{
	errno = 77;
	vcpu_kick(&v);
	ck_assert_int_eq(errno, 77);
	ck_assert_uint_eq(run->immediate_exit, 1); /* the next KVM_RUN returns at once */
	uint64_t n = 0;
	ck_assert_int_eq(read(v.wake_fd, &n, 8), 8); /* a WAIT in ppoll wakes */
	ck_assert_uint_eq(n, 1);
}
END_TEST

static void *kicked_thread(void *arg)
{
	(void)arg;
	__atomic_store_n(&thread_tid, (int)gettid(), __ATOMIC_SEQ_CST);
	for (int i = 0; i < 2000 && !got_kick; i++)
		nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
	__atomic_store_n(&thread_go, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* The thread in vcpu_run_begin gets the kick signal (it ends KVM_RUN with EINTR there). */
START_TEST(test_kick_signals_the_vcpu_thread)
{
	struct sigaction sa = { .sa_handler = on_kick }, old;
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, &old), 0);
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, kicked_thread, NULL), 0);
	while (!__atomic_load_n(&thread_tid, __ATOMIC_SEQ_CST))
		nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
	atomic_store(&v.tid, thread_tid);
	vcpu_kick(&v);
	pthread_join(t, NULL);
	ck_assert_int_eq(got_kick, 1);
	atomic_store(&v.tid, 0);
	sigaction(SIGUSR1, &old, NULL);
}
END_TEST

/* vcpu_kick runs in signal handlers (ukvm_stop): a failing step must not change errno. */
START_TEST(test_hostile_kick_keeps_errno)
{
	/* An eventfd at its maximum count refuses the wake-up write with EAGAIN. */
	uint64_t max = 0xfffffffffffffffeull;
	ck_assert_int_eq(write(v.wake_fd, &max, sizeof(max)), (ssize_t)sizeof(max));
	uint64_t one = 1;
	ck_assert_int_eq(write(v.wake_fd, &one, sizeof(one)), -1);
	ck_assert_int_eq(errno, EAGAIN); /* the step fails, as the kick's will */
	/* And a tid that is no thread of ours: tgkill fails with ESRCH. */
	atomic_store(&v.tid, 0x3fffffff);
	errno = 1234;
	vcpu_kick(&v);
	ck_assert_int_eq(errno, 1234);
	atomic_store(&v.tid, 0);
	/* No run page, no wake fd: nothing to do, nothing breaks. */
	struct vcpu none = { .fd = -1, .wake_fd = -1, .kick_signal = SIGUSR1 };
	vcpu_kick(&none);
	ck_assert_int_eq(errno, 1234);
	vcpu_destroy(&none);
}
END_TEST

Suite *vcpu_suite(void)
{
	Suite *s = suite_create("vcpu");
	TCase *c = tcase_create("core"), *h = tcase_create("hostile");
	tcase_add_checked_fixture(c, setup, teardown);
	tcase_add_checked_fixture(h, setup, teardown);
	tcase_add_test(c, test_kick_wakes);
	tcase_add_test(c, test_kick_signals_the_vcpu_thread);
	tcase_add_test(h, test_hostile_kick_keeps_errno);
	suite_add_tcase(s, c);
	suite_add_tcase(s, h);
	return s;
}
