/* check_epoll.c: unit tests of epoll, eventfd and timerfd (guest/fs/epoll.c, eventfd.c, timerfd.c) through their syscalls. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../guest/include/epoll.h"
#include "../../guest/include/fs.h"
#include "../../guest/include/k.h"
#include "../../guest/include/sys.h"
#include "../../guest/include/thread.h"
#include "../../guest/include/wait.h"
#include "../../guest/include/linux_abi.h"
#include "../../proto/ukvm_abi.h"
#include "fs_shim.h"

#define L(p) ((long)(uintptr_t)(p))
#define BAD_PTR 16L /* inside the unmapped page 0 */

static void setup(void)
{
	fs_shim_reset();
	ck_assert_int_eq(fs_init(NULL, 0), 0);
}

static void teardown(void)
{
	fs_reset();
}

static int xpipe(int p[2], long flags)
{
	return (int)sys_pipe2(L(p), flags, 0, 0, 0, 0);
}

static long ctl(long ep, long op, long fd, uint32_t events, uint64_t data)
{
	struct epoll_event e = { .events = events, .data = data };
	return sys_epoll_ctl(ep, op, fd, L(&e), 0, 0);
}

/* epoll_wait with timeout 0 into ev[max]. */
static long wait0(long ep, struct epoll_event *ev, long max)
{
	return sys_epoll_wait(ep, L(ev), max, 0, 0, 0);
}

static void put(int fd, const char *s)
{
	ck_assert_int_eq(sys_write(fd, L(s), (long)strlen(s), 0, 0, 0), (long)strlen(s));
}

static void take(int fd, long n)
{
	char b[64];
	ck_assert_int_eq(sys_read(fd, L(b), n, 0, 0, 0), n);
}

START_TEST(test_modes)
{
	int p[2];
	struct epoll_event ev[4];
	long ep = sys_epoll_create1(0, 0, 0, 0, 0, 0);
	ck_assert_int_ge(ep, 0);
	ck_assert_int_eq(xpipe(p, 0), 0);
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 0x1122334455667788ull), 0);
	ck_assert_int_eq(wait0(ep, ev, 4), 0);
	/* Level-triggered: reported while it holds, with the data as given. */
	put(p[1], "ab");
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(wait0(ep, ev, 4), 1);
		ck_assert_uint_eq(ev[0].events, EPOLLIN);
		ck_assert_uint_eq(ev[0].data, 0x1122334455667788ull);
	}
	take(p[0], 2);
	ck_assert_int_eq(wait0(ep, ev, 4), 0);
	/* Edge-triggered: once per wake. */
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLET, 7), 0);
	put(p[1], "c");
	ck_assert_int_eq(wait0(ep, ev, 4), 1);
	ck_assert_int_eq(wait0(ep, ev, 4), 0);
	put(p[1], "d");
	ck_assert_int_eq(wait0(ep, ev, 4), 1);
	take(p[0], 2);
	/* One-shot: disarmed after one report, its wakes ignored, until MOD. */
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLONESHOT, 8), 0);
	put(p[1], "e");
	ck_assert_int_eq(wait0(ep, ev, 4), 1);
	put(p[1], "f");
	ck_assert_int_eq(wait0(ep, ev, 4), 0);
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLONESHOT, 9), 0);
	ck_assert_int_eq(wait0(ep, ev, 4), 1);
	ck_assert_uint_eq(ev[0].data, 9);
	/* Hang-up is reported unasked; DEL forgets the item. */
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_MOD, p[0], 0, 10), 0);
	ck_assert_int_eq(sys_close(p[1], 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(wait0(ep, ev, 4), 1);
	ck_assert_uint_eq(ev[0].events, EPOLLHUP);
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_DEL, p[0], 0, 0), 0);
	ck_assert_int_eq(wait0(ep, ev, 4), 0);
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_DEL, p[0], 0, 0), -ENOENT);
	sys_close(p[0], 0, 0, 0, 0, 0);
	sys_close(ep, 0, 0, 0, 0, 0);
}
END_TEST

/* Items live as long as the open file description (not the fd), and go with it even while queued. */
START_TEST(test_lifetime)
{
	int p[2];
	struct epoll_event ev[4];
	long ep = sys_epoll_create(1, 0, 0, 0, 0, 0);
	ck_assert_int_eq(xpipe(p, 0), 0);
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 1), 0);
	long d = sys_dup(p[0], 0, 0, 0, 0, 0);
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_ADD, d, EPOLLIN, 2), 0);
	put(p[1], "x");
	ck_assert_int_eq(sys_close(p[0], 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(wait0(ep, ev, 4), 2);
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_DEL, p[0], 0, 0), -EBADF);
	/* Queued (level-triggered, just reported) when its file goes: ASan would see a stale item. */
	ck_assert_int_eq(sys_close(d, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(wait0(ep, ev, 4), 0);
	/* Closing the epoll fd with items on live files unhooks them from the files' keys. */
	ck_assert_int_eq(xpipe(p, 0), 0);
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 3), 0);
	ck_assert_int_eq(sys_close(ep, 0, 0, 0, 0, 0), 0);
	put(p[1], "z");
	sys_close(p[0], 0, 0, 0, 0, 0);
	sys_close(p[1], 0, 0, 0, 0, 0);
}
END_TEST

/* epoll in epoll and in poll(2): the inner instance's readiness reaches both; a cycle is refused. */
START_TEST(test_nested)
{
	int p[2];
	struct epoll_event ev[2];
	long inner = sys_epoll_create1(0, 0, 0, 0, 0, 0), outer = sys_epoll_create1(0, 0, 0, 0, 0, 0);
	ck_assert_int_eq(xpipe(p, 0), 0);
	ck_assert_int_eq(ctl(inner, EPOLL_CTL_ADD, p[0], EPOLLIN, 1), 0);
	ck_assert_int_eq(ctl(outer, EPOLL_CTL_ADD, inner, EPOLLIN, 2), 0);
	ck_assert_int_eq(ctl(inner, EPOLL_CTL_ADD, outer, EPOLLIN, 3), -ELOOP);
	ck_assert_int_eq(wait0(outer, ev, 2), 0);
	put(p[1], "x");
	ck_assert_int_eq(wait0(outer, ev, 2), 1);
	ck_assert_uint_eq(ev[0].data, 2);
	struct pollfd pf = { .fd = (int)inner, .events = POLLIN };
	ck_assert_int_eq(sys_poll(L(&pf), 1, 0, 0, 0, 0), 1);
	ck_assert_int_eq(pf.revents, POLLIN);
	take(p[0], 1);
	ck_assert_int_eq(wait0(outer, ev, 2), 0);
	ck_assert_int_eq(sys_poll(L(&pf), 1, 0, 0, 0, 0), 0);
	/* The inner instance closed: the outer item goes with it. */
	sys_close(inner, 0, 0, 0, 0, 0);
	put(p[1], "y");
	ck_assert_int_eq(wait0(outer, ev, 2), 0);
	sys_close(outer, 0, 0, 0, 0, 0);
	sys_close(p[0], 0, 0, 0, 0, 0);
	sys_close(p[1], 0, 0, 0, 0, 0);
}
END_TEST

static int blk_wr_fd;
static void write_during_block(void)
{
	put(blk_wr_fd, "w");
}

static void signal_during_block(void)
{
	k_thr_unblock(fs_shim_cur, -EINTR);
}

static long blk_close_fd;
static void close_then_write_during_block(void)
{
	ck_assert_int_eq(sys_close(blk_close_fd, 0, 0, 0, 0, 0), 0);
	put(blk_wr_fd, "q");
}

/* Another thread closes the epoll fd under a blocked epoll_wait: the instance lives until the call ends (ASan). */
START_TEST(test_close_while_waiting)
{
	int p[2];
	struct epoll_event ev[2];
	long ep = sys_epoll_create1(0, 0, 0, 0, 0, 0);
	ck_assert_int_eq(xpipe(p, 0), 0);
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 11), 0);
	blk_close_fd = ep;
	blk_wr_fd = p[1];
	fs_shim_during_block = close_then_write_during_block;
	ck_assert_int_eq(sys_epoll_wait(ep, L(ev), 2, -1, 0, 0), 1);
	ck_assert_uint_eq(ev[0].data, 11);
	fs_shim_during_block = NULL;
	ck_assert_int_eq(sys_epoll_wait(ep, L(ev), 2, 0, 0, 0), -EBADF);
	put(p[1], "r"); /* the instance is gone with its items: nobody's callback runs */
	sys_close(p[0], 0, 0, 0, 0, 0);
	sys_close(p[1], 0, 0, 0, 0, 0);
}
END_TEST

/* A blocked epoll_wait: woken through the item's callback (another thread's write), or by a signal. */
START_TEST(test_blocking)
{
	int p[2];
	struct epoll_event ev[2];
	long ep = sys_epoll_create1(0, 0, 0, 0, 0, 0);
	ck_assert_int_eq(xpipe(p, 0), 0);
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 5), 0);
	blk_wr_fd = p[1];
	fs_shim_during_block = write_during_block;
	ck_assert_int_eq(sys_epoll_wait(ep, L(ev), 2, -1, 0, 0), 1);
	ck_assert_uint_eq(fs_shim_blocks, 1);
	ck_assert_uint_eq(fs_shim_block_flags, K_WAIT_INTR);
	ck_assert_uint_eq(ev[0].data, 5);
	take(p[0], 1);
	fs_shim_during_block = signal_during_block;
	ck_assert_int_eq(sys_epoll_wait(ep, L(ev), 2, -1, 0, 0), -EINTR);
	/* A timeout: the shim's block ends with -ETIMEDOUT, then one last look. */
	fs_shim_during_block = NULL;
	ck_assert_int_eq(sys_epoll_wait(ep, L(ev), 2, 50, 0, 0), 0);
	/* epoll_pwait's mask holds during the wait and is back after it. */
	uint64_t mask = ~0ull, before = k_sig.mask;
	ck_assert_int_eq(sys_epoll_pwait(ep, L(ev), 2, 0, L(&mask), 8), 0);
	ck_assert_uint_eq(k_sig.mask, before);
	ck_assert_int_eq(sys_epoll_pwait(ep, L(ev), 2, 0, L(&mask), 4), -EINVAL);
	struct lx_timespec ts = { 0, 1000 };
	ck_assert_int_eq(sys_epoll_pwait2(ep, L(ev), 2, L(&ts), 0, 0), 0);
	ts.tv_nsec = 1000000000;
	ck_assert_int_eq(sys_epoll_pwait2(ep, L(ev), 2, L(&ts), 0, 0), -EINVAL);
	sys_close(ep, 0, 0, 0, 0, 0);
	sys_close(p[0], 0, 0, 0, 0, 0);
	sys_close(p[1], 0, 0, 0, 0, 0);
}
END_TEST

/* A file kind whose poll hook counts its calls: what epoll_wait costs per idle item. */
struct cnt_file {
	uint32_t mask;
};
static unsigned cnt_polls;
static uint32_t cnt_poll(struct fs_file *f, const void **key)
{
	struct cnt_file *c = f->priv;
	cnt_polls++;
	*key = c;
	return c->mask;
}
static void cnt_release(struct fs_file *f)
{
	free(f->priv);
}
static const struct fs_file_ops cnt_fops = { .poll = cnt_poll, .release = cnt_release };

START_TEST(test_cost_is_ready_items)
{
	enum { N = 1000 };
	static int fds[N];
	static struct cnt_file *cf[N];
	struct epoll_event ev[8];
	long ep = sys_epoll_create1(0, 0, 0, 0, 0, 0);
	for (int i = 0; i < N; i++) {
		cf[i] = calloc(1, sizeof(*cf[i]));
		fds[i] = fs_anon_fd(0600, &cnt_fops, cf[i], O_RDWR, false);
		ck_assert_int_ge(fds[i], 0);
		ck_assert_int_eq(ctl(ep, EPOLL_CTL_ADD, fds[i], EPOLLIN, (uint64_t)i), 0);
	}
	cnt_polls = 0;
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(wait0(ep, ev, 8), 0);
	ck_assert_uint_eq(cnt_polls, 0); /* idle items cost nothing */
	cf[10]->mask = cf[900]->mask = POLLIN;
	k_wait_wake(cf[10], ~0u, K_THR_ALL);
	k_wait_wake(cf[900], ~0u, K_THR_ALL);
	k_wait_wake(cf[500], ~0u, K_THR_ALL); /* spurious: asked once, then forgotten */
	ck_assert_int_eq(wait0(ep, ev, 8), 2);
	ck_assert_uint_eq(ev[0].data + ev[1].data, 910);
	ck_assert_uint_eq(cnt_polls, 3);
	/* Level-triggered: the two stay queued, so each call asks exactly them; maxevents 1 goes round robin. */
	cnt_polls = 0;
	ck_assert_int_eq(wait0(ep, ev, 1), 1);
	uint64_t first = ev[0].data;
	ck_assert_int_eq(wait0(ep, ev, 1), 1);
	ck_assert_uint_ne(ev[0].data, first);
	ck_assert_uint_eq(cnt_polls, 2);
	cf[10]->mask = cf[900]->mask = 0;
	ck_assert_int_eq(wait0(ep, ev, 8), 0);
	cnt_polls = 0;
	ck_assert_int_eq(wait0(ep, ev, 8), 0);
	ck_assert_uint_eq(cnt_polls, 0);
	for (int i = 0; i < N; i++)
		sys_close(fds[i], 0, 0, 0, 0, 0);
	sys_close(ep, 0, 0, 0, 0, 0);
}
END_TEST

/*
 * The wait core under epoll: a callback that wakes another key unregisters
 * the threads it wakes; when one of them was the next waiter in the chain
 * being walked, the walk must go on (keys chosen to collide in the hash).
 */
static int nest_keys[70];
static void wake_other(struct k_waiter *w)
{
	k_wait_wake(w->ctx, ~0u, K_THR_ALL);
}

START_TEST(test_wait_nested_wake)
{
	struct k_thread *B = &fs_shim_threads[1], *C = &fs_shim_threads[2];
	/* 70 keys in 64 chains: some pairs share a chain, whichever the hash. */
	for (int i = 0; i < 70; i++)
		for (int j = 0; j < 70; j++) {
			if (i == j)
				continue;
			struct k_waiter cb, wb, wc;
			k_wait_add(&cb, &nest_keys[i], ~0u, wake_other, &nest_keys[j]);
			fs_shim_cur = B;
			k_wait_add(&wb, &nest_keys[j], ~0u, NULL, NULL);
			fs_shim_cur = C;
			k_wait_add(&wc, &nest_keys[i], ~0u, NULL, NULL);
			fs_shim_cur = &fs_shim_threads[0];
			B->blocked = C->blocked = true;
			ck_assert_int_eq(k_wait_wake(&nest_keys[i], ~0u, K_THR_ALL), 2);
			ck_assert_msg(!B->blocked && !C->blocked, "keys %d %d: a waiter was missed", i, j);
			k_wait_del(&cb);
			k_wait_del(&wb);
			k_wait_del(&wc);
		}
}
END_TEST

/*
 * What makes a wait idle (K_WAIT_INPUT): fd 0 polled for input, or an epoll
 * instance that watches it for input, directly or nested; counted as items
 * come, change and go, never for a pipe or output.
 */
START_TEST(test_awaits_input)
{
	int p[2];
	ck_assert_int_eq(xpipe(p, 0), 0);
	ck_assert(fs_file_awaits_input(fs_fd_file(0), POLLIN));
	ck_assert(fs_file_awaits_input(fs_fd_file(0), POLLRDNORM));
	ck_assert(!fs_file_awaits_input(fs_fd_file(0), POLLOUT));
	ck_assert(!fs_file_awaits_input(fs_fd_file(1), POLLIN));
	ck_assert(!fs_file_awaits_input(fs_fd_file(p[0]), POLLIN));
	ck_assert(!fs_file_awaits_input(NULL, POLLIN));
	long ep = sys_epoll_create1(0, 0, 0, 0, 0, 0), outer = sys_epoll_create1(0, 0, 0, 0, 0, 0);
	ck_assert_int_ge(ep, 0);
	ck_assert_int_ge(outer, 0);
	struct fs_file *ef = fs_fd_file((int)ep), *of = fs_fd_file((int)outer);
	ck_assert_int_eq(ctl(outer, EPOLL_CTL_ADD, ep, EPOLLIN, 0), 0);
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 0), 0);
	ck_assert(!fs_file_awaits_input(ef, EPOLLIN));
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_ADD, 0, EPOLLOUT, 0), 0);
	ck_assert(!fs_file_awaits_input(ef, EPOLLIN)); /* fd 0 for output only */
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_MOD, 0, EPOLLIN, 0), 0);
	ck_assert(fs_file_awaits_input(ef, EPOLLIN));
	ck_assert(!fs_file_awaits_input(ef, EPOLLOUT)); /* an epoll fd polled for output waits on nothing */
	ck_assert(fs_file_awaits_input(of, EPOLLIN)); /* through the nested instance */
	ck_assert_int_eq(ctl(outer, EPOLL_CTL_MOD, ep, EPOLLOUT, 0), 0);
	ck_assert(!fs_file_awaits_input(of, EPOLLIN)); /* the nested one watched for output only */
	ck_assert_int_eq(ctl(outer, EPOLL_CTL_MOD, ep, EPOLLIN, 0), 0);
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_DEL, 0, 0, 0), 0);
	ck_assert(!fs_file_awaits_input(ef, EPOLLIN));
	ck_assert(!fs_file_awaits_input(of, EPOLLIN));
	/* Closing fd 0 removes its item: the count follows. */
	long d = sys_dup(0, 0, 0, 0, 0, 0);
	ck_assert_int_ge(d, 0);
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_ADD, d, EPOLLIN, 0), 0);
	ck_assert(fs_file_awaits_input(of, EPOLLIN));
	ck_assert_int_eq(sys_close(d, 0, 0, 0, 0, 0), 0);
	ck_assert(fs_file_awaits_input(ef, EPOLLIN)); /* fd 0 still holds the description: Linux keeps the item */
}
END_TEST

START_TEST(test_eventfd)
{
	uint64_t v = 0;
	long e = sys_eventfd2(3, LX_EFD_NONBLOCK, 0, 0, 0, 0);
	ck_assert_int_ge(e, 0);
	ck_assert_int_eq(sys_read(e, L(&v), 8, 0, 0, 0), 8);
	ck_assert_uint_eq(v, 3);
	ck_assert_int_eq(sys_read(e, L(&v), 8, 0, 0, 0), -EAGAIN);
	ck_assert_int_eq(sys_read(e, L(&v), 7, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_write(e, L(&v), 4, 0, 0, 0), -EINVAL);
	/* Polled and in epoll: readable with a count, writable while 1 more fits. */
	long ep = sys_epoll_create1(0, 0, 0, 0, 0, 0);
	struct epoll_event ev[2];
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_ADD, e, EPOLLIN | EPOLLET, 4), 0);
	ck_assert_int_eq(wait0(ep, ev, 2), 0);
	v = 2;
	ck_assert_int_eq(sys_write(e, L(&v), 8, 0, 0, 0), 8);
	ck_assert_int_eq(wait0(ep, ev, 2), 1);
	ck_assert_uint_eq(ev[0].events, EPOLLIN);
	ck_assert_int_eq(wait0(ep, ev, 2), 0);
	sys_close(e, 0, 0, 0, 0, 0);
	/* EFD_SEMAPHORE reads 1 at a time. */
	e = sys_eventfd2(2, LX_EFD_SEMAPHORE | LX_EFD_NONBLOCK | LX_EFD_CLOEXEC, 0, 0, 0, 0);
	ck_assert_int_eq(sys_fcntl(e, F_GETFD, 0, 0, 0, 0), FD_CLOEXEC);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(sys_read(e, L(&v), 8, 0, 0, 0), 8);
		ck_assert_uint_eq(v, 1);
	}
	ck_assert_int_eq(sys_read(e, L(&v), 8, 0, 0, 0), -EAGAIN);
	sys_close(e, 0, 0, 0, 0, 0);
	/* A read wakes only writers (POLLOUT): an edge-triggered reader is not told again, though 1 is left. */
	e = sys_eventfd2(2, LX_EFD_SEMAPHORE | LX_EFD_NONBLOCK, 0, 0, 0, 0);
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_ADD, e, EPOLLIN | EPOLLET, 5), 0);
	ck_assert_int_eq(wait0(ep, ev, 2), 1);
	ck_assert_int_eq(sys_read(e, L(&v), 8, 0, 0, 0), 8);
	ck_assert_int_eq(wait0(ep, ev, 2), 0);
	/* ... while a writer's item hears it, and so does a blocked thread (any bits). */
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_MOD, e, EPOLLOUT | EPOLLET, 6), 0);
	ck_assert_int_eq(wait0(ep, ev, 2), 1);
	ck_assert_int_eq(sys_read(e, L(&v), 8, 0, 0, 0), 8);
	ck_assert_int_eq(wait0(ep, ev, 2), 1);
	ck_assert_uint_eq(ev[0].events, EPOLLOUT);
	sys_close(e, 0, 0, 0, 0, 0);
	sys_close(ep, 0, 0, 0, 0, 0);
}
END_TEST

/* The timer's expiry is the scheduler's deadline through the poller; its wake reaches epoll. */
START_TEST(test_timerfd_deadline)
{
	long t = sys_timerfd_create(LX_CLOCK_MONOTONIC, LX_TFD_NONBLOCK, 0, 0, 0, 0);
	ck_assert_int_ge(t, 0);
	long ep = sys_epoll_create1(0, 0, 0, 0, 0, 0);
	struct epoll_event ev[2];
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_ADD, t, EPOLLIN, 6), 0);
	ck_assert_int_eq(k_wait_poll(K_WAIT_POLLED), 0); /* disarmed: no deadline */
	struct lx_itimerspec it = { 0, 0, 1, 0 }, old;
	uint64_t before = k_clock_monotonic_ns();
	ck_assert_int_eq(sys_timerfd_settime(t, 0, L(&it), 0, 0, 0), 0);
	uint64_t dl = k_wait_poll(K_WAIT_POLLED);
	ck_assert_uint_gt(dl, before + 1000000000ull);
	ck_assert_uint_lt(dl, k_clock_monotonic_ns() + 1000000000ull);
	ck_assert_int_eq(wait0(ep, ev, 2), 0);
	ck_assert_int_eq(sys_timerfd_gettime(t, L(&old), 0, 0, 0, 0), 0);
	ck_assert(old.value_sec == 0 && old.value_nsec > 900000000 && old.interval_sec == 0 && old.interval_nsec == 0);
	/* 20 us, every 10 us: the shim's clock moves 1 us per look. */
	struct lx_itimerspec per = { 0, 10000, 0, 20000 };
	ck_assert_int_eq(sys_timerfd_settime(t, 0, L(&per), L(&old), 0, 0), 0);
	ck_assert(old.value_sec == 0 && old.value_nsec > 900000000);
	/* Only the scheduler's look at the timers (the poller) tells epoll: the item is not queued otherwise. */
	uint64_t n = 0;
	long got = 0;
	for (int i = 0; i < 1000 && !got; i++) {
		ck_assert_uint_gt(k_wait_poll(K_WAIT_POLLED), 0);
		got = wait0(ep, ev, 2);
	}
	ck_assert_int_eq(got, 1);
	ck_assert_uint_eq(ev[0].data, 6);
	ck_assert_int_eq(sys_read(t, L(&n), 8, 0, 0, 0), 8);
	ck_assert_uint_ge(n, 1);
	/* A reset: the count starts again, a disarm ends the deadline. */
	struct lx_itimerspec off = { 0 };
	ck_assert_int_eq(sys_timerfd_settime(t, 0, L(&off), 0, 0, 0), 0);
	ck_assert_int_eq(sys_read(t, L(&n), 8, 0, 0, 0), -EAGAIN);
	ck_assert_int_eq(k_wait_poll(K_WAIT_POLLED), 0);
	/* Absolute, in the past: one expiration at once. */
	struct lx_itimerspec past = { 0, 0, 0, 1 };
	ck_assert_int_eq(sys_timerfd_settime(t, LX_TFD_TIMER_ABSTIME, L(&past), 0, 0, 0), 0);
	ck_assert_int_eq(sys_read(t, L(&n), 8, 0, 0, 0), 8);
	ck_assert_uint_eq(n, 1);
	sys_close(t, 0, 0, 0, 0, 0);
	ck_assert_int_eq(k_wait_poll(K_WAIT_POLLED), 0);
	sys_close(ep, 0, 0, 0, 0, 0);
}
END_TEST

/* A blocking timerfd read sleeps until the expiry itself: the block's deadline is the timer's. */
START_TEST(test_timerfd_blocking_read)
{
	long t = sys_timerfd_create(LX_CLOCK_BOOTTIME, 0, 0, 0, 0, 0);
	struct lx_itimerspec it = { 0, 0, 0, 3000 };
	ck_assert_int_eq(sys_timerfd_settime(t, 0, L(&it), 0, 0, 0), 0);
	uint64_t n = 0;
	/* The shim's block returns -ETIMEDOUT at once; the clock moves on until the expiry. */
	ck_assert_int_eq(sys_read(t, L(&n), 8, 0, 0, 0), 8);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_ge(fs_shim_blocks, 1);
	sys_close(t, 0, 0, 0, 0, 0);
}
END_TEST

START_TEST(test_limits)
{
	struct epoll_event ev[2];
	long ep = sys_epoll_create1(0, 0, 0, 0, 0, 0);
	ck_assert_int_eq(sys_epoll_create(0, 0, 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_epoll_create(-1, 0, 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_epoll_create1(1, 0, 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_epoll_wait(ep, L(ev), 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_epoll_wait(ep, L(ev), -1, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_epoll_wait(ep, L(ev), 0x7fffffff, 0, 0, 0), -EINVAL);
	/* Nesting deeper than Linux's 5 levels is refused like a loop. */
	long eps[7];
	for (int i = 0; i < 7; i++)
		eps[i] = sys_epoll_create1(0, 0, 0, 0, 0, 0);
	int i = 1;
	while (i < 7 && ctl(eps[i], EPOLL_CTL_ADD, eps[i - 1], EPOLLIN, 0) == 0)
		i++;
	ck_assert_int_lt(i, 7);
	ck_assert_int_eq(ctl(eps[i], EPOLL_CTL_ADD, eps[i - 1], EPOLLIN, 0), -ELOOP);
	for (int k = 0; k < 7; k++)
		sys_close(eps[k], 0, 0, 0, 0, 0);
	/* eventfd's counter stops below 2^64-1. */
	long e = sys_eventfd2(0, LX_EFD_NONBLOCK, 0, 0, 0, 0);
	uint64_t v = ~0ull;
	ck_assert_int_eq(sys_write(e, L(&v), 8, 0, 0, 0), -EINVAL);
	v = ~0ull - 1;
	ck_assert_int_eq(sys_write(e, L(&v), 8, 0, 0, 0), 8);
	v = 1;
	ck_assert_int_eq(sys_write(e, L(&v), 8, 0, 0, 0), -EAGAIN);
	struct pollfd pf = { .fd = (int)e, .events = POLLIN | POLLOUT };
	ck_assert_int_eq(sys_poll(L(&pf), 1, 0, 0, 0, 0), 1);
	ck_assert_int_eq(pf.revents, POLLIN);
	ck_assert_int_eq(sys_eventfd2(0, 0x10, 0, 0, 0, 0), -EINVAL);
	sys_close(e, 0, 0, 0, 0, 0);
	/* timerfd: bad clocks and flags, timespecs out of range, centuries saturate. */
	ck_assert_int_eq(sys_timerfd_create(LX_CLOCK_PROCESS_CPUTIME_ID, 0, 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_timerfd_create(LX_CLOCK_MONOTONIC, 1, 0, 0, 0, 0), -EINVAL);
	long t = sys_timerfd_create(LX_CLOCK_REALTIME, LX_TFD_NONBLOCK, 0, 0, 0, 0);
	struct lx_itimerspec bad = { 0, 0, 0, 1000000000 }, neg = { 0, 0, -1, 0 }, huge = { INT64_MAX, 999999999, INT64_MAX, 0 };
	ck_assert_int_eq(sys_timerfd_settime(t, 0, L(&bad), 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_timerfd_settime(t, 0, L(&neg), 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_timerfd_settime(t, 4, L(&huge), 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_timerfd_settime(t, 0, L(&huge), 0, 0, 0), 0);
	ck_assert_int_eq(sys_timerfd_settime(t, LX_TFD_TIMER_ABSTIME, L(&huge), 0, 0, 0), 0);
	uint64_t n;
	ck_assert_int_eq(sys_read(t, L(&n), 8, 0, 0, 0), -EAGAIN);
	ck_assert_uint_gt(k_wait_poll(K_WAIT_POLLED), k_clock_monotonic_ns());
	sys_close(t, 0, 0, 0, 0, 0);
	sys_close(ep, 0, 0, 0, 0, 0);
}
END_TEST

START_TEST(test_ctl_errors)
{
	int p[2];
	long ep = sys_epoll_create1(0, 0, 0, 0, 0, 0);
	ck_assert_int_eq(xpipe(p, 0), 0);
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_ADD, 999, EPOLLIN, 0), -EBADF);
	ck_assert_int_eq(ctl(999, EPOLL_CTL_ADD, p[0], EPOLLIN, 0), -EBADF);
	ck_assert_int_eq(ctl(p[1], EPOLL_CTL_ADD, p[0], EPOLLIN, 0), -EINVAL);
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_ADD, ep, EPOLLIN, 0), -EINVAL);
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_ADD, 1, EPOLLIN, 0), -EPERM); /* the console has no poll hook */
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 0), 0);
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 0), -EEXIST);
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_MOD, p[1], EPOLLIN, 0), -ENOENT);
	ck_assert_int_eq(ctl(ep, 0, p[0], EPOLLIN, 0), -EINVAL);
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLEXCLUSIVE, 0), -EINVAL);
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_ADD, p[1], EPOLLOUT | EPOLLEXCLUSIVE | EPOLLRDHUP, 0), -EINVAL);
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_ADD, p[1], EPOLLOUT | EPOLLEXCLUSIVE, 0), 0);
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_MOD, p[1], EPOLLOUT, 0), -EINVAL);
	ck_assert_int_eq(sys_epoll_ctl(ep, EPOLL_CTL_DEL, p[1], 0, 0, 0), 0);
	sys_close(p[0], 0, 0, 0, 0, 0);
	sys_close(p[1], 0, 0, 0, 0, 0);
	sys_close(ep, 0, 0, 0, 0, 0);
}
END_TEST

START_TEST(test_hostile)
{
	int p[2];
	struct epoll_event ev[2];
	long ep = sys_epoll_create1(0, 0, 0, 0, 0, 0);
	ck_assert_int_eq(xpipe(p, 0), 0);
	ck_assert_int_eq(sys_epoll_ctl(ep, EPOLL_CTL_ADD, p[0], BAD_PTR, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_epoll_wait(ep, BAD_PTR, 2, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_epoll_wait(ep, L(ev), 2, 0, 0, 0), 0);
	/* An array whose end wraps around the address space. */
	ck_assert_int_eq(sys_epoll_wait(ep, -4096L, 0x1000000, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_epoll_pwait(ep, L(ev), 2, 0, BAD_PTR, 8), -EFAULT);
	ck_assert_int_eq(sys_epoll_pwait2(ep, L(ev), 2, BAD_PTR, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_epoll_wait(p[0], L(ev), 2, 0, 0, 0), -EINVAL);
	long t = sys_timerfd_create(LX_CLOCK_MONOTONIC, 0, 0, 0, 0, 0);
	struct lx_itimerspec it = { 0 };
	ck_assert_int_eq(sys_timerfd_settime(t, 0, BAD_PTR, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_timerfd_settime(t, 0, L(&it), BAD_PTR, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_timerfd_gettime(t, BAD_PTR, 0, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_timerfd_gettime(p[0], L(&it), 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_timerfd_gettime(999, L(&it), 0, 0, 0, 0), -EBADF);
	sys_close(t, 0, 0, 0, 0, 0);
	/* Out of memory at each allocation: nothing leaks (ASan) and the error is -ENOMEM. */
	for (int k = 1; k <= 3; k++) {
		fs_shim_fail_alloc_after = k;
		long r = sys_epoll_create1(0, 0, 0, 0, 0, 0);
		fs_shim_fail_alloc_after = 0;
		ck_assert(r == -ENOMEM || r >= 0);
		if (r >= 0)
			sys_close(r, 0, 0, 0, 0, 0);
		fs_shim_fail_alloc_after = k;
		r = sys_eventfd2(0, 0, 0, 0, 0, 0);
		fs_shim_fail_alloc_after = 0;
		ck_assert(r == -ENOMEM || r >= 0);
		if (r >= 0)
			sys_close(r, 0, 0, 0, 0, 0);
		fs_shim_fail_alloc_after = k;
		r = sys_timerfd_create(LX_CLOCK_MONOTONIC, 0, 0, 0, 0, 0);
		fs_shim_fail_alloc_after = 0;
		ck_assert(r == -ENOMEM || r >= 0);
		if (r >= 0)
			sys_close(r, 0, 0, 0, 0, 0);
	}
	fs_shim_fail_alloc_after = 1;
	ck_assert_int_eq(ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 0), -ENOMEM);
	fs_shim_fail_alloc_after = 0;
	/* The fd table full: the instance's memory goes back. */
	long fds[FS_MAX_FDS];
	int n = 0;
	long r;
	while ((r = sys_eventfd2(0, 0, 0, 0, 0, 0)) >= 0)
		fds[n++] = r;
	ck_assert_int_eq(r, -EMFILE);
	ck_assert_int_eq(sys_epoll_create1(0, 0, 0, 0, 0, 0), -EMFILE);
	ck_assert_int_eq(sys_timerfd_create(LX_CLOCK_MONOTONIC, 0, 0, 0, 0, 0), -EMFILE);
	while (n)
		sys_close(fds[--n], 0, 0, 0, 0, 0);
	sys_close(p[0], 0, 0, 0, 0, 0);
	sys_close(p[1], 0, 0, 0, 0, 0);
	sys_close(ep, 0, 0, 0, 0, 0);
}
END_TEST

Suite *epoll_suite(void)
{
	Suite *s = suite_create("epoll");
	TCase *core = tcase_create("core");
	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_test(core, test_modes);
	tcase_add_test(core, test_lifetime);
	tcase_add_test(core, test_nested);
	tcase_add_test(core, test_blocking);
	tcase_add_test(core, test_close_while_waiting);
	tcase_add_test(core, test_cost_is_ready_items);
	tcase_add_test(core, test_wait_nested_wake);
	tcase_add_test(core, test_eventfd);
	tcase_add_test(core, test_awaits_input);
	tcase_add_test(core, test_timerfd_deadline);
	tcase_add_test(core, test_timerfd_blocking_read);
	suite_add_tcase(s, core);
	TCase *limits = tcase_create("limits");
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_add_test(limits, test_limits);
	suite_add_tcase(s, limits);
	TCase *hostile = tcase_create("hostile");
	tcase_add_checked_fixture(hostile, setup, teardown);
	tcase_add_test(hostile, test_ctl_errors);
	tcase_add_test(hostile, test_hostile);
	suite_add_tcase(s, hostile);
	return s;
}
