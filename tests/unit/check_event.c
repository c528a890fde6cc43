/* check_event.c: unit suite "event" (vmm/event.c): counter and timer sources and clients, on a real event thread. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "event.h"

static struct event_loop loop;
static int counted, on_thread, ticks, polls, released, quiesced, stop_returned;
static uint64_t counted_sum;

static void sleep_ms(long ms)
{
	struct timespec d = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&d, NULL);
}

static int wait_at_least(int *v, int want)
{
	for (int i = 0; i < 2000 && __atomic_load_n(v, __ATOMIC_SEQ_CST) < want; i++)
		sleep_ms(1);
	return __atomic_load_n(v, __ATOMIC_SEQ_CST);
}

static void count_fn(void *ctx, struct io_uring *ring, uint64_t val)
{
	(void)ctx;
	(void)ring;
	__atomic_store_n(&on_thread, event_on_thread(&loop), __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&counted_sum, val, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&counted, 1, __ATOMIC_SEQ_CST);
}

static void tick_fn(void *ctx, struct io_uring *ring, uint64_t val)
{
	(void)ctx;
	(void)ring;
	ck_assert_uint_eq(val, 1);
	__atomic_add_fetch(&ticks, 1, __ATOMIC_SEQ_CST);
}

static bool poll_fn(void *ctx, struct io_uring *ring, uint64_t now_ns)
{
	(void)ctx;
	(void)ring;
	ck_assert_uint_gt(now_ns, 0);
	return __atomic_add_fetch(&polls, 1, __ATOMIC_SEQ_CST) < 5; /* polls a few passes, then sleeps */
}

static void quiesce_fn(void *ctx)
{
	(void)ctx;
	__atomic_store_n(&quiesced, 1, __ATOMIC_SEQ_CST);
}

/* "In flight" until the test releases it. */
static bool idle_fn(void *ctx)
{
	(void)ctx;
	return __atomic_load_n(&released, __ATOMIC_SEQ_CST);
}

static void *stopper(void *arg)
{
	(void)arg;
	event_stop(&loop);
	__atomic_store_n(&stop_returned, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void setup(void)
{
	counted = on_thread = ticks = polls = quiesced = released = stop_returned = 0;
	counted_sum = 0;
	ck_assert_int_eq(event_init(&loop), 0);
}

static void teardown(void)
{
	event_free(&loop);
}

START_TEST(test_counter)
{
	int fd = eventfd(0, EFD_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	struct event_src s;
	ck_assert_int_eq(event_add_counter(&loop, &s, fd, count_fn, NULL, "test counter"), 0);
	ck_assert_int_eq(event_start(&loop, false), 0);
	uint64_t three = 3;
	ck_assert_int_eq(write(fd, &three, 8), 8);
	ck_assert_int_eq(wait_at_least(&counted, 1), 1);
	ck_assert_int_eq(on_thread, 1);
	ck_assert_uint_eq(counted_sum, 3);
	/* Re-armed after each callback. */
	ck_assert_int_eq(write(fd, &three, 8), 8);
	ck_assert_int_eq(wait_at_least(&counted, 2), 2);
	ck_assert_uint_eq(counted_sum, 6);
	event_free(&loop);
	close(fd);
}
END_TEST

START_TEST(test_timer_and_client)
{
	struct event_src t, k;
	struct event_client c = { .poll = poll_fn, .quiesce = quiesce_fn, .idle = idle_fn };
	int fd = eventfd(0, EFD_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(event_add_timer(&loop, &t, 2 * 1000 * 1000, tick_fn, NULL, "test timer"), 0);
	ck_assert_int_eq(event_add_counter(&loop, &k, fd, count_fn, NULL, "test counter"), 0);
	event_add_client(&loop, &c);
	ck_assert_int_eq(event_start(&loop, false), 0);
	ck_assert_int_ge(wait_at_least(&ticks, 3), 3); /* periodic: re-armed after each expiry */
	ck_assert_int_ge(polls, 5);
	sleep_ms(20);
	ck_assert_int_lt(__atomic_load_n(&polls, __ATOMIC_SEQ_CST), 5 + 20); /* done polling: timer passes only */

	/* event_stop quiesces the clients and returns only once they are idle. */
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, stopper, NULL), 0);
	sleep_ms(30);
	ck_assert_int_eq(__atomic_load_n(&quiesced, __ATOMIC_SEQ_CST), 1);
	ck_assert_int_eq(__atomic_load_n(&stop_returned, __ATOMIC_SEQ_CST), 0);
	__atomic_store_n(&released, 1, __ATOMIC_SEQ_CST);
	uint64_t one = 1;
	ck_assert_int_eq(write(fd, &one, 8), 8); /* a completion: the loop looks again (the I/O coming back) */
	pthread_join(th, NULL);
	ck_assert_int_eq(stop_returned, 1);
	event_free(&loop);
	close(fd);
}
END_TEST

static int pipefd[2], pipe_file, read_res;
static char pipebuf[8];

static void read_done(struct event_op *op, struct io_uring *ring, int res)
{
	(void)op;
	(void)ring;
	__atomic_store_n(&read_res, res, __ATOMIC_SEQ_CST);
	__atomic_store_n(&released, 1, __ATOMIC_SEQ_CST);
}

static struct event_op read_op = { read_done };

/* A client's I/O that never completes on its own: a read of a pipe nobody writes. */
static void submit_fn(void *ctx, struct io_uring *ring, uint64_t val)
{
	(void)ctx;
	(void)val;
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	ck_assert_ptr_nonnull(sqe);
	io_uring_prep_read(sqe, pipefd[0], pipebuf, sizeof(pipebuf), 0);
	event_sqe_file(sqe, pipe_file);
	io_uring_sqe_set_data(sqe, &read_op);
	__atomic_add_fetch(&counted, 1, __ATOMIC_SEQ_CST);
}

/* A stop cancels what is in flight (IORING_OP_ASYNC_CANCEL): it need not wait for I/O that may never end. */
START_TEST(test_stop_cancels_inflight)
{
	struct event_src k;
	struct event_client c = { .quiesce = quiesce_fn, .idle = idle_fn };
	ck_assert_int_eq(pipe(pipefd), 0);
	ck_assert_int_ge(pipe_file = event_add_file(&loop, pipefd[0]), 0);
	read_res = 1;
	int fd = eventfd(0, EFD_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(event_add_counter(&loop, &k, fd, submit_fn, NULL, "test submitter"), 0);
	event_add_client(&loop, &c);
	ck_assert_int_eq(event_start(&loop, false), 0);
	uint64_t one = 1;
	ck_assert_int_eq(write(fd, &one, 8), 8);
	ck_assert_int_eq(wait_at_least(&counted, 1), 1);
	sleep_ms(20); /* the read is in the kernel's hands */
	ck_assert_int_eq(__atomic_load_n(&released, __ATOMIC_SEQ_CST), 0);
	event_stop(&loop); /* before the cancel: never returned */
	ck_assert_int_eq(read_res, -ECANCELED);
	event_free(&loop);
	close(fd);
	close(pipefd[0]);
	close(pipefd[1]);
}
END_TEST

/* What the locked-down ring answers: a registered file and an allowed opcode work, nothing else does. */
enum { TRY_FIXED, TRY_RAW_FD, TRY_UNREGISTERED, TRY_OPENAT, TRY_N };
static int try_res[TRY_N];
static int dev_null_file;
static char try_buf[8];

static void try_done(struct event_op *op, struct io_uring *ring, int res);
static struct event_op try_ops[TRY_N] = { { try_done }, { try_done }, { try_done }, { try_done } };

static void try_done(struct event_op *op, struct io_uring *ring, int res)
{
	(void)ring;
	__atomic_store_n(&try_res[op - try_ops], res, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&released, 1, __ATOMIC_SEQ_CST);
}

/* On the event thread: one SQE of each kind. */
static void try_fn(void *ctx, struct io_uring *ring, uint64_t val)
{
	int *dev_null = ctx;
	(void)val;
	for (int i = 0; i < TRY_N; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
		ck_assert_ptr_nonnull(sqe);
		switch (i) {
		case TRY_FIXED: /* /dev/null, registered: reads 0 bytes */
			io_uring_prep_read(sqe, *dev_null, try_buf, sizeof(try_buf), 0);
			event_sqe_file(sqe, dev_null_file);
			break;
		case TRY_RAW_FD: /* the same file by its plain fd */
			io_uring_prep_read(sqe, *dev_null, try_buf, sizeof(try_buf), 0);
			break;
		case TRY_UNREGISTERED: /* an index past the registered files */
			io_uring_prep_read(sqe, 0, try_buf, sizeof(try_buf), 0);
			event_sqe_file(sqe, EVENT_FILES_MAX - 1);
			break;
		case TRY_OPENAT: /* an opcode the devices do not use: open a host file */
			io_uring_prep_openat(sqe, AT_FDCWD, "/etc/passwd", O_RDONLY, 0);
			event_sqe_file(sqe, dev_null_file);
			break;
		}
		io_uring_sqe_set_data(sqe, &try_ops[i]);
	}
}

/*
 * The event ring is locked down (event_lock): code that gets to submit on it
 * (the event thread may call io_uring_enter whatever an SQE says) can reach
 * only the registered files with the devices' opcodes: a plain fd, an
 * unregistered index or openat fail. Before, the ring read /etc/shadow
 * under the event thread's own seccomp filter (issue 10).
 */
START_TEST(test_ring_restricted)
{
	int dev_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(dev_null, 0);
	ck_assert_int_ge(dev_null_file = event_add_file(&loop, dev_null), 0);
	int fd = eventfd(0, EFD_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	struct event_src k;
	ck_assert_int_eq(event_add_counter(&loop, &k, fd, try_fn, &dev_null, "test submitter"), 0);
	ck_assert_int_eq(event_start(&loop, false), 0);
	ck_assert_int_eq(event_add_file(&loop, 2), -EBUSY); /* nothing joins the ring after the lockdown */
	uint64_t one = 1;
	ck_assert_int_eq(write(fd, &one, 8), 8);
	ck_assert_int_eq(wait_at_least(&released, TRY_N), TRY_N);
	ck_assert_int_eq(try_res[TRY_FIXED], 0);
	ck_assert_int_eq(try_res[TRY_RAW_FD], -EACCES);
	ck_assert_int_lt(try_res[TRY_UNREGISTERED], 0);
	ck_assert_int_eq(try_res[TRY_OPENAT], -EACCES);
	/* Nor can the ring be given new files or rules. */
	ck_assert_int_lt(io_uring_register_files_update(&loop.ring, 0, &dev_null, 1), 0);
	event_free(&loop);
	close(fd);
	close(dev_null);
}
END_TEST

START_TEST(test_limits)
{
	struct event_src s;
	ck_assert_int_eq(event_add_counter(&loop, &s, -1, count_fn, NULL, "bad"), -EBADF);
	ck_assert_int_eq(event_add_timer(&loop, &s, 0, tick_fn, NULL, "bad"), -EINVAL);
	event_stop(&loop); /* not running: a no-op */
	ck_assert(!event_on_thread(&loop));
}
END_TEST

Suite *event_suite(void)
{
	Suite *s = suite_create("event");
	TCase *c = tcase_create("core"), *l = tcase_create("limits");
	tcase_add_checked_fixture(c, setup, teardown);
	tcase_add_checked_fixture(l, setup, teardown);
	tcase_add_test(c, test_counter);
	tcase_add_test(c, test_timer_and_client);
	tcase_add_test(c, test_stop_cancels_inflight);
	tcase_add_test(c, test_ring_restricted);
	tcase_add_test(l, test_limits);
	suite_add_tcase(s, c);
	suite_add_tcase(s, l);
	return s;
}
