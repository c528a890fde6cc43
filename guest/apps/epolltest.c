/* epolltest.c: guest test app: epoll, eventfd and timerfd with the answers Linux gives (results, errno names, masks, counts). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "say.h"

/*
 * Run natively and in ukvm: the same lines, ending with "epolltest ok".
 * Each line names a case and what the calls returned; times are printed
 * only as loose bounds (a 1 when they hold), so no line differs between
 * hosts. An argument runs one section: epoll, eventfd, timerfd.
 */

static int fails;

static void check(int ok, const char *what)
{
	if (!ok) {
		say("FAIL %s (errno %d)\n", what, errno);
		fails++;
	}
}

static const char *ename(int e)
{
	static const struct { int e; const char *n; } t[] = {
		{EAGAIN, "EAGAIN"}, {EBADF, "EBADF"}, {EEXIST, "EEXIST"}, {EFAULT, "EFAULT"}, {EINTR, "EINTR"},
		{EINVAL, "EINVAL"}, {ELOOP, "ELOOP"}, {ENOENT, "ENOENT"}, {EPERM, "EPERM"}, {ENOSYS, "ENOSYS"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].e == e)
			return t[i].n;
	return "E?";
}

/* A call's result as "n" or "-1 ENAME". */
static const char *res(long r)
{
	static char buf[8][32];
	static int slot;
	slot = (slot + 1) % 8;
	if (r == -1)
		snprintf(buf[slot], sizeof(buf[slot]), "-1 %s", ename(errno));
	else
		snprintf(buf[slot], sizeof(buf[slot]), "%ld", r);
	return buf[slot];
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static void now(struct timespec *t)
{
	clock_gettime(CLOCK_MONOTONIC, t);
}

static void msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static int ctl(int ep, int op, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event e = { .events = events, .data.u64 = data };
	return epoll_ctl(ep, op, fd, &e);
}

/* epoll_wait into one event; prints "n=N ev 0x.. data 0x.." into buf. */
static const char *wait1(int ep, int timeout)
{
	static char buf[4][96];
	static int slot;
	struct epoll_event e = { 0 };
	slot = (slot + 1) % 4;
	errno = 0;
	int n = epoll_wait(ep, &e, 1, timeout);
	if (n == 1)
		snprintf(buf[slot], sizeof(buf[slot]), "n=1 ev %#x data %#llx", e.events, (unsigned long long)e.data.u64);
	else
		snprintf(buf[slot], sizeof(buf[slot]), "n=%s", res(n));
	return buf[slot];
}

static void wr(int fd, const char *s)
{
	check(write(fd, s, strlen(s)) == (ssize_t)strlen(s), "write");
}

static void drain(int fd)
{
	char b[256];
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	while (read(fd, b, sizeof(b)) > 0)
		;
	fcntl(fd, F_SETFL, fl);
}

static void case_create(void)
{
	say("epoll_create(0): %s\n", res(syscall(SYS_epoll_create, 0)));
	int ep = epoll_create(1);
	say("epoll_create(1): fd>=0 %d cloexec %d\n", ep >= 0, fcntl(ep, F_GETFD) & FD_CLOEXEC);
	close(ep);
	ep = epoll_create1(EPOLL_CLOEXEC);
	say("epoll_create1(CLOEXEC): fd>=0 %d cloexec %d\n", ep >= 0, fcntl(ep, F_GETFD) & FD_CLOEXEC);
	char b[8];
	say("read epoll fd: %s\n", res(read(ep, b, sizeof(b))));
	close(ep);
	say("epoll_create1(1): %s\n", res(epoll_create1(1)));
}

static void case_ctl_errors(void)
{
	int ep = epoll_create1(0), p[2];
	check(pipe(p) == 0, "pipe");
	say("ctl bad fd: %s\n", res(ctl(ep, EPOLL_CTL_ADD, 999, EPOLLIN, 0)));
	say("ctl bad epfd: %s\n", res(ctl(999, EPOLL_CTL_ADD, p[0], EPOLLIN, 0)));
	say("ctl epfd not epoll: %s\n", res(ctl(p[1], EPOLL_CTL_ADD, p[0], EPOLLIN, 0)));
	say("ctl epfd == fd: %s\n", res(ctl(ep, EPOLL_CTL_ADD, ep, EPOLLIN, 0)));
	int dupep = dup(ep);
	say("ctl epfd into its dup: %s\n", res(ctl(ep, EPOLL_CTL_ADD, dupep, EPOLLIN, 0)));
	close(dupep);
	int file = open("/tmp/epolltest.txt", O_RDWR | O_CREAT | O_TRUNC, 0600);
	say("ctl regular file: %s\n", res(ctl(ep, EPOLL_CTL_ADD, file, EPOLLIN, 0)));
	close(file);
	unlink("/tmp/epolltest.txt");
	int dir = open("/", O_RDONLY | O_DIRECTORY);
	say("ctl directory: %s\n", res(ctl(ep, EPOLL_CTL_ADD, dir, EPOLLIN, 0)));
	close(dir);
	const char *a = res(ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 0));
	say("ctl add: %s, again: %s\n", a, res(ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 0)));
	a = res(ctl(ep, EPOLL_CTL_DEL, p[1], 0, 0));
	say("ctl del missing: %s, mod missing: %s\n", a, res(ctl(ep, EPOLL_CTL_MOD, p[1], EPOLLOUT, 0)));
	say("ctl op 99: %s\n", res(ctl(ep, 99, p[0], EPOLLIN, 0)));
	say("ctl add NULL event: %s\n", res(epoll_ctl(ep, EPOLL_CTL_ADD, p[1], NULL)));
	say("ctl del NULL event: %s\n", res(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL)));
	say("ctl mod EXCLUSIVE: %s\n", res(ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLEXCLUSIVE, 0)));
	say("ctl add EXCLUSIVE|ONESHOT: %s\n", res(ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, 0)));
	a = res(ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN | EPOLLEXCLUSIVE, 0));
	const char *b = res(ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN, 0));
	say("ctl add EXCLUSIVE: %s, then mod: %s, del: %s\n", a, b, res(ctl(ep, EPOLL_CTL_DEL, p[0], 0, 0)));
	int ep2 = epoll_create1(0);
	say("ctl add epoll EXCLUSIVE: %s\n", res(ctl(ep, EPOLL_CTL_ADD, ep2, EPOLLIN | EPOLLEXCLUSIVE, 0)));
	say("ctl add WAKEUP: %s\n", res(ctl(ep, EPOLL_CTL_ADD, p[1], EPOLLOUT | EPOLLWAKEUP, 0)));
	a = res(ctl(ep, EPOLL_CTL_ADD, ep2, EPOLLIN, 0));
	say("nest ep2 in ep: %s, ep in ep2: %s\n", a, res(ctl(ep2, EPOLL_CTL_ADD, ep, EPOLLIN, 0)));
	struct epoll_event ev[2];
	a = res(epoll_wait(ep, ev, 0, 0));
	say("wait maxevents 0: %s, -1: %s\n", a, res(epoll_wait(ep, ev, -1, 0)));
	a = res(epoll_wait(999, ev, 2, 0));
	say("wait bad epfd: %s, not epoll: %s\n", a, res(epoll_wait(p[0], ev, 2, 0)));
	say("wait bad events: %s\n", res(epoll_wait(ep, (struct epoll_event *)8, 2, 0)));
	close(ep2);
	close(ep);
	close(p[0]);
	close(p[1]);
}

/* Linux's nesting limit, built from the top and from the bottom: where the first ELOOP comes. */
static void case_nest_depth(void)
{
	for (int down = 0; down < 2; down++) {
		int e[8], first = 0;
		struct epoll_event ev = { .events = EPOLLIN };
		for (int i = 0; i < 8; i++)
			e[i] = epoll_create1(0);
		for (int i = 1; i < 8; i++) {
			int r = down ? epoll_ctl(e[i - 1], EPOLL_CTL_ADD, e[i], &ev) : epoll_ctl(e[i], EPOLL_CTL_ADD, e[i - 1], &ev);
			if (r && !first) {
				first = i;
				say("nest %s: first error at level %d: %s\n", down ? "downwards" : "upwards", i, res(r));
			}
		}
		for (int i = 0; i < 8; i++)
			close(e[i]);
	}
}

/* Level-triggered, edge-triggered and one-shot on a pipe's read end. */
static void case_modes(void)
{
	int ep = epoll_create1(0), p[2];
	check(pipe(p) == 0, "pipe");
	ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 0x1122334455667788ull);
	say("LT empty: %s\n", wait1(ep, 0));
	wr(p[1], "a");
	const char *a = wait1(ep, 0);
	say("LT 1 byte: %s, again: %s\n", a, wait1(ep, 0));
	drain(p[0]);
	say("LT drained: %s\n", wait1(ep, 0));

	ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLET, 0xe7);
	say("ET after mod, empty: %s\n", wait1(ep, 0));
	wr(p[1], "b");
	a = wait1(ep, 0);
	say("ET write: %s, again: %s\n", a, wait1(ep, 0));
	wr(p[1], "c");
	a = wait1(ep, 0);
	say("ET second write: %s, again: %s\n", a, wait1(ep, 0));
	drain(p[0]);
	wr(p[1], "fg");
	a = wait1(ep, 0);
	char c;
	check(read(p[0], &c, 1) == 1, "read 1");
	say("ET 2 bytes: %s, after reading 1: %s\n", a, wait1(ep, 0));
	drain(p[0]);

	ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLONESHOT, 0x05);
	wr(p[1], "d");
	a = wait1(ep, 0);
	say("ONESHOT: %s, again: %s\n", a, wait1(ep, 0));
	wr(p[1], "e");
	say("ONESHOT disarmed, written: %s\n", wait1(ep, 0));
	a = res(ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLONESHOT, 0x06));
	const char *b = wait1(ep, 0);
	say("ONESHOT rearm: %s -> %s, again: %s\n", a, b, wait1(ep, 0));
	drain(p[0]);

	ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLOUT, 0x07);
	say("mod to OUT on read end: %s\n", wait1(ep, 0));
	ctl(ep, EPOLL_CTL_ADD, p[1], EPOLLOUT, 0x08);
	say("write end: %s\n", wait1(ep, 0));
	ctl(ep, EPOLL_CTL_DEL, p[1], 0, 0);
	say("after del: %s\n", wait1(ep, 0));
	ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLRDHUP, 0x09);
	close(p[1]);
	say("writer gone (IN|RDHUP asked): %s\n", wait1(ep, 0));
	close(p[0]);
	say("read end closed: %s\n", wait1(ep, 0));

	check(pipe(p) == 0, "pipe");
	ctl(ep, EPOLL_CTL_ADD, p[1], EPOLLOUT, 0x0a);
	close(p[0]);
	say("reader gone: %s\n", wait1(ep, 0));
	close(p[1]);
	close(ep);
}

/* Items go when the open file description goes, not the fd: dup keeps them. */
static void case_lifetime(void)
{
	int ep = epoll_create1(0), p[2];
	check(pipe(p) == 0, "pipe");
	ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 0x10);
	wr(p[1], "x");
	close(p[0]);
	say("closed while registered: %s\n", wait1(ep, 0));
	check(pipe(p) == 0, "pipe");
	say("same fd number again: add %s\n", res(ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 0x11)));
	int d = dup(p[0]);
	close(p[0]);
	wr(p[1], "y");
	say("dup kept it: %s\n", wait1(ep, 0));
	const char *a = res(ctl(ep, EPOLL_CTL_DEL, d, 0, 0));
	say("del by dup fd: %s, by closed fd: %s\n", a, res(ctl(ep, EPOLL_CTL_DEL, p[0], 0, 0)));
	say("add the dup too: %s\n", res(ctl(ep, EPOLL_CTL_ADD, d, EPOLLIN, 0x12)));
	struct epoll_event ev[4];
	int n = epoll_wait(ep, ev, 4, 0);
	unsigned long long sum = 0;
	for (int i = 0; i < n; i++)
		sum += ev[i].data.u64;
	say("two items, one file: n=%d data sum %#llx\n", n, sum);
	close(d);
	say("last fd closed: %s\n", wait1(ep, 0));
	close(p[1]);
	close(ep);
}

static void case_nested(void)
{
	int inner = epoll_create1(0), outer = epoll_create1(0), p[2];
	check(pipe(p) == 0, "pipe");
	ctl(inner, EPOLL_CTL_ADD, p[0], EPOLLIN, 0x20);
	ctl(outer, EPOLL_CTL_ADD, inner, EPOLLIN, 0x21);
	struct pollfd pf = { .fd = inner, .events = POLLIN };
	int pn = poll(&pf, 1, 0);
	say("nested idle: outer %s, poll inner %d revents %#x\n", wait1(outer, 0), pn, pf.revents);
	wr(p[1], "z");
	pn = poll(&pf, 1, 0);
	say("nested ready: outer %s, poll inner %d revents %#x\n", wait1(outer, 0), pn, pf.revents);
	say("inner: %s\n", wait1(inner, 0));
	drain(p[0]);
	say("nested drained: outer %s\n", wait1(outer, 0));
	close(p[0]);
	close(p[1]);
	close(inner);
	close(outer);
}

static int th_fd;
static long th_delay_ms;
static void *th_writer(void *arg)
{
	(void)arg;
	msleep(th_delay_ms);
	check(write(th_fd, "w", 1) == 1, "thread write");
	return NULL;
}

static pthread_t main_thread;
static volatile int handled;
static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

static void *th_signal(void *arg)
{
	(void)arg;
	msleep(th_delay_ms);
	pthread_kill(main_thread, SIGUSR1);
	return NULL;
}

/* Blocking: a thread's write wakes epoll_wait, timeouts, signals and the sigmask of epoll_pwait. */
static void case_blocking(void)
{
	int ep = epoll_create1(0), p[2];
	check(pipe(p) == 0, "pipe");
	ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 0x30);
	struct timespec t0;
	pthread_t th;
	th_fd = p[1];
	th_delay_ms = 50;
	now(&t0);
	pthread_create(&th, NULL, th_writer, NULL);
	const char *r = wait1(ep, -1);
	long ms = ms_since(&t0);
	say("blocked until another thread wrote: %s waited>=40ms %d\n", r, ms >= 40 && ms < 5000);
	pthread_join(th, NULL);
	drain(p[0]);

	now(&t0);
	r = wait1(ep, 100);
	ms = ms_since(&t0);
	say("timeout 100ms: %s waited 90..2000ms %d\n", r, ms >= 90 && ms < 2000);

	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
	sigaction(SIGUSR1, &sa, NULL);
	main_thread = pthread_self();
	th_delay_ms = 30;
	pthread_create(&th, NULL, th_signal, NULL);
	r = wait1(ep, -1);
	say("signal during wait (SA_RESTART): %s handled %d\n", r, handled);
	pthread_join(th, NULL);

	sigset_t usr1, empty, cur;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigemptyset(&empty);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	raise(SIGUSR1);
	say("usr1 pending, blocked: handled %d\n", handled);
	struct epoll_event ev;
	long n = epoll_pwait(ep, &ev, 1, -1, &empty);
	sigprocmask(SIG_BLOCK, NULL, &cur);
	say("epoll_pwait empty mask: %s handled %d usr1 blocked again %d\n", res(n), handled, sigismember(&cur, SIGUSR1));
	n = syscall(SYS_epoll_pwait, ep, &ev, 1, 0, &empty, 4);
	say("epoll_pwait sigsetsize 4: %s\n", res(n));
	struct timespec ts = { 0, 20 * 1000000 };
	now(&t0);
	n = syscall(SYS_epoll_pwait2, ep, &ev, 1, &ts, NULL, 8);
	ms = ms_since(&t0);
	say("epoll_pwait2 20ms: %s waited>=20ms %d ts kept %d\n", res(n), ms >= 19 && ms < 2000, ts.tv_nsec == 20000000);
	ts.tv_nsec = 1000000000;
	say("epoll_pwait2 bad timespec: %s\n", res(syscall(SYS_epoll_pwait2, ep, &ev, 1, &ts, NULL, 8)));
	wr(p[1], "v");
	n = syscall(SYS_epoll_pwait2, ep, &ev, 1, NULL, NULL, 8);
	say("epoll_pwait2 ready, NULL timeout: %s ev %#x\n", res(n), ev.events);
	sigprocmask(SIG_UNBLOCK, &usr1, NULL);
	say("usr1 unblocked: handled %d\n", handled);
	close(p[0]);
	close(p[1]);
	close(ep);
}

/* Many idle items, a few ready: every ready one is reported once per call, round robin beyond maxevents. */
static void case_many(void)
{
	enum { N = 900 };
	static int fds[N];
	int ep = epoll_create1(0), made = 0;
	for (int i = 0; i < N; i++) {
		fds[i] = eventfd(0, EFD_NONBLOCK);
		if (fds[i] < 0)
			break;
		made++;
		ctl(ep, EPOLL_CTL_ADD, fds[i], EPOLLIN, (uint64_t)i);
	}
	say("many: %d eventfds added\n", made);
	uint64_t one = 1;
	check(write(fds[123], &one, 8) == 8, "write 123");
	check(write(fds[777], &one, 8) == 8, "write 777");
	struct epoll_event ev[8];
	int n = epoll_wait(ep, ev, 8, 0);
	say("many, 2 ready: n=%d data %llu %llu\n", n, n > 0 ? (unsigned long long)ev[0].data.u64 : 0ull,
	    n > 1 ? (unsigned long long)ev[1].data.u64 : 0ull);
	int a = epoll_wait(ep, ev, 1, 0);
	unsigned long long d1 = ev[0].data.u64;
	int b = epoll_wait(ep, ev, 1, 0);
	unsigned long long d2 = ev[0].data.u64;
	say("maxevents 1 twice: %d %d, both reported %d\n", a, b, d1 != d2);
	struct timespec t0;
	now(&t0);
	for (int i = 0; i < 1000; i++)
		epoll_wait(ep, ev, 8, 0);
	say("1000 waits over %d items: done\n", made);
	for (int i = 0; i < made; i++)
		close(fds[i]);
	say("all closed: %s\n", wait1(ep, 0));
	close(ep);
}

static void case_eventfd(void)
{
	uint64_t v = 0;
	int e = eventfd(3, 0);
	const char *a = res(read(e, &v, 8));
	say("eventfd(3): read %s value %llu\n", a, (unsigned long long)v);
	close(e);
	e = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	a = res(read(e, &v, 8));
	say("nonblock empty read: %s, cloexec %d, O_NONBLOCK %d\n", a, fcntl(e, F_GETFD) & FD_CLOEXEC,
	    (fcntl(e, F_GETFL) & O_NONBLOCK) != 0);
	a = res(read(e, &v, 4));
	say("short read: %s, short write: %s\n", a, res(write(e, &v, 4)));
	v = ~0ull;
	say("write 2^64-1: %s\n", res(write(e, &v, 8)));
	v = 0xfffffffffffffffeull;
	say("write max: %s\n", res(write(e, &v, 8)));
	struct pollfd pf = { .fd = e, .events = POLLIN | POLLOUT };
	poll(&pf, 1, 0);
	say("at max: poll %#x\n", pf.revents);
	v = 1;
	say("write 1 more: %s\n", res(write(e, &v, 8)));
	char big[16] = { 0 };
	a = res(read(e, big, 16));
	uint64_t got;
	memcpy(&got, big, 8);
	say("read 16 bytes: %s value %#llx\n", a, (unsigned long long)got);
	pf.revents = 0;
	poll(&pf, 1, 0);
	say("drained: poll %#x\n", pf.revents);
	v = 0;
	a = res(write(e, &v, 8));
	say("write 0: %s poll %d\n", a, poll(&pf, 1, 0));
	close(e);

	e = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
	uint64_t r[4] = { 0 };
	long rc[4];
	for (int i = 0; i < 4; i++)
		rc[i] = read(e, &r[i], 8);
	say("semaphore: %ld/%llu %ld/%llu %ld/%llu %s\n", rc[0], (unsigned long long)r[0], rc[1], (unsigned long long)r[1],
	    rc[2], (unsigned long long)r[2], res(rc[3]));
	close(e);
	say("eventfd2 bad flags: %s\n", res(syscall(SYS_eventfd2, 0, 0x10)));

	int ep = epoll_create1(0);
	e = eventfd(0, EFD_NONBLOCK);
	ctl(ep, EPOLL_CTL_ADD, e, EPOLLIN | EPOLLOUT, 0x40);
	say("eventfd in epoll, 0: %s\n", wait1(ep, 0));
	v = 5;
	write(e, &v, 8);
	say("eventfd in epoll, 5: %s\n", wait1(ep, 0));
	ctl(ep, EPOLL_CTL_MOD, e, EPOLLIN | EPOLLET, 0x41);
	a = wait1(ep, 0);
	say("ET: %s, again: %s\n", a, wait1(ep, 0));
	write(e, &v, 8);
	say("ET after write: %s\n", wait1(ep, 0));
	read(e, &v, 8);
	say("ET after read: %s\n", wait1(ep, 0));
	close(e);
	/* A read wakes only writers: an edge-triggered reader hears nothing new, though 1 is left. */
	e = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
	ctl(ep, EPOLL_CTL_ADD, e, EPOLLIN | EPOLLET, 0x42);
	a = wait1(ep, 0);
	read(e, &v, 8);
	say("ET semaphore: %s, after reading 1 of 2: %s\n", a, wait1(ep, 0));
	v = 1;
	write(e, &v, 8);
	say("ET semaphore, written: %s\n", wait1(ep, 0));
	close(e);
	close(ep);
}

static int efd_target;
static void *th_efd_writer(void *arg)
{
	(void)arg;
	msleep(th_delay_ms);
	uint64_t v = 7;
	check(write(efd_target, &v, 8) == 8, "thread eventfd write");
	return NULL;
}

static void *th_efd_reader(void *arg)
{
	(void)arg;
	msleep(th_delay_ms);
	uint64_t v;
	check(read(efd_target, &v, 8) == 8, "thread eventfd read");
	return NULL;
}

static void case_eventfd_blocking(void)
{
	efd_target = eventfd(0, 0);
	th_delay_ms = 30;
	pthread_t th;
	struct timespec t0;
	now(&t0);
	pthread_create(&th, NULL, th_efd_writer, NULL);
	uint64_t v = 0;
	long rc = read(efd_target, &v, 8);
	long ms = ms_since(&t0);
	say("blocking read: %s value %llu waited>=25ms %d\n", res(rc), (unsigned long long)v, ms >= 25 && ms < 5000);
	pthread_join(th, NULL);
	v = 0xfffffffffffffffeull;
	write(efd_target, &v, 8);
	now(&t0);
	pthread_create(&th, NULL, th_efd_reader, NULL);
	v = 1;
	rc = write(efd_target, &v, 8);
	ms = ms_since(&t0);
	say("blocking write at max: %s waited>=25ms %d\n", res(rc), ms >= 25 && ms < 5000);
	pthread_join(th, NULL);
	close(efd_target);
}

static void ts_set(struct itimerspec *it, long val_ms, long int_ms)
{
	it->it_value = (struct timespec){ val_ms / 1000, (val_ms % 1000) * 1000000 };
	it->it_interval = (struct timespec){ int_ms / 1000, (int_ms % 1000) * 1000000 };
}

static long ts_ms(const struct timespec *t)
{
	return t->tv_sec * 1000 + (t->tv_nsec + 999999) / 1000000;
}

static void case_timerfd(void)
{
	const char *a = res(timerfd_create(99, 0));
	say("timerfd bad clock: %s, bad flags: %s\n", a, res(timerfd_create(CLOCK_MONOTONIC, 0x10)));
	int t = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	say("timerfd: fd>=0 %d cloexec %d\n", t >= 0, fcntl(t, F_GETFD) & FD_CLOEXEC);
	struct itimerspec it, old;
	uint64_t n = 0;
	say("disarmed read: %s\n", res(read(t, &n, 8)));
	timerfd_gettime(t, &old);
	say("disarmed gettime: %ld %ld\n", ts_ms(&old.it_value), ts_ms(&old.it_interval));
	ts_set(&it, 10, 0);
	say("settime bad flags: %s\n", res(timerfd_settime(t, 0x10, &it, NULL)));
	it.it_value.tv_nsec = 1000000000;
	say("settime bad nsec: %s\n", res(timerfd_settime(t, 0, &it, NULL)));
	it.it_value.tv_nsec = -1;
	say("settime negative nsec: %s\n", res(timerfd_settime(t, 0, &it, NULL)));
	say("settime not a timerfd: %s\n", res(timerfd_settime(0, 0, &it, NULL)));
	say("short read: %s\n", res(read(t, &n, 4)));

	ts_set(&it, 200, 0);
	say("arm 200ms: %s\n", res(timerfd_settime(t, 0, &it, NULL)));
	timerfd_gettime(t, &old);
	say("gettime armed: value in (0,200] %d interval %ld\n", ts_ms(&old.it_value) > 0 && ts_ms(&old.it_value) <= 200,
	    ts_ms(&old.it_interval));
	say("read before expiry: %s\n", res(read(t, &n, 8)));
	ts_set(&it, 0, 0);
	a = res(timerfd_settime(t, 0, &it, &old));
	say("disarm: %s old value in (0,200] %d\n", a, ts_ms(&old.it_value) > 0 && ts_ms(&old.it_value) <= 200);
	timerfd_gettime(t, &old);
	a = res(read(t, &n, 8));
	say("disarmed: gettime %ld, read %s\n", ts_ms(&old.it_value), a);
	close(t);

	/* A blocking read: the only thread waits, the idle WAIT must end at the expiry. */
	t = timerfd_create(CLOCK_MONOTONIC, 0);
	struct timespec t0;
	ts_set(&it, 30, 0);
	now(&t0);
	timerfd_settime(t, 0, &it, NULL);
	long rc = read(t, &n, 8);
	long ms = ms_since(&t0);
	say("one-shot 30ms, blocking read: %s count %llu waited>=29ms %d\n", res(rc), (unsigned long long)n,
	    ms >= 29 && ms < 5000);
	timerfd_gettime(t, &old);
	say("expired one-shot gettime: %ld %ld\n", ts_ms(&old.it_value), ts_ms(&old.it_interval));

	/* Periodic: 10 ms, read after >= 55 ms: at least 5 expirations. */
	ts_set(&it, 10, 10);
	now(&t0);
	timerfd_settime(t, 0, &it, NULL);
	msleep(55);
	rc = read(t, &n, 8);
	ms = ms_since(&t0);
	say("periodic 10ms after 55ms: %s count>=5 %d count<=ms/10 %d\n", res(rc), n >= 5, (long)n <= ms / 10 + 1);
	rc = read(t, &n, 8);
	say("next read blocks a period: %s count>=1 %d\n", res(rc), n >= 1);
	timerfd_gettime(t, &old);
	say("periodic gettime: value in (0,10] %d interval %ld\n", ts_ms(&old.it_value) > 0 && ts_ms(&old.it_value) <= 10,
	    ts_ms(&old.it_interval));

	/* Absolute: monotonic now + 20 ms; one in the past expires at once. */
	struct timespec abs;
	clock_gettime(CLOCK_MONOTONIC, &abs);
	abs.tv_nsec += 20000000;
	if (abs.tv_nsec >= 1000000000) {
		abs.tv_sec++;
		abs.tv_nsec -= 1000000000;
	}
	it.it_value = abs;
	it.it_interval = (struct timespec){ 0, 0 };
	now(&t0);
	say("abstime monotonic: %s", res(timerfd_settime(t, TFD_TIMER_ABSTIME, &it, NULL)));
	rc = read(t, &n, 8);
	ms = ms_since(&t0);
	say(", read %s count %llu waited>=15ms %d\n", res(rc), (unsigned long long)n, ms >= 15 && ms < 5000);
	it.it_value = (struct timespec){ 0, 1 };
	timerfd_settime(t, TFD_TIMER_ABSTIME, &it, NULL);
	a = res(read(t, &n, 8));
	say("abstime in the past: read %s count %llu\n", a, (unsigned long long)n);
	close(t);

	t = timerfd_create(CLOCK_REALTIME, 0);
	clock_gettime(CLOCK_REALTIME, &abs);
	abs.tv_nsec += 20000000;
	if (abs.tv_nsec >= 1000000000) {
		abs.tv_sec++;
		abs.tv_nsec -= 1000000000;
	}
	it.it_value = abs;
	now(&t0);
	timerfd_settime(t, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &it, NULL);
	rc = read(t, &n, 8);
	ms = ms_since(&t0);
	say("abstime realtime: read %s count %llu waited>=15ms %d\n", res(rc), (unsigned long long)n, ms >= 15 && ms < 5000);
	close(t);

	/* In epoll and in poll, with nothing else to wake the thread. */
	t = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK);
	int ep = epoll_create1(0);
	ctl(ep, EPOLL_CTL_ADD, t, EPOLLIN, 0x50);
	ts_set(&it, 20, 0);
	timerfd_settime(t, 0, &it, NULL);
	say("timerfd in epoll, before: %s\n", wait1(ep, 0));
	now(&t0);
	const char *r = wait1(ep, -1);
	ms = ms_since(&t0);
	say("timerfd in epoll, wait forever: %s waited>=15ms %d\n", r, ms >= 15 && ms < 5000);
	read(t, &n, 8);
	say("after read: %s\n", wait1(ep, 0));
	ts_set(&it, 20, 20);
	timerfd_settime(t, 0, &it, NULL);
	struct pollfd pf = { .fd = t, .events = POLLIN };
	now(&t0);
	int pn = poll(&pf, 1, -1);
	ms = ms_since(&t0);
	say("timerfd in poll forever: n=%d revents %#x waited>=15ms %d\n", pn, pf.revents, ms >= 15 && ms < 5000);
	close(t);
	say("closed timerfd: %s\n", wait1(ep, 0));
	close(ep);
}

int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : "";
	if (!*only || !strcmp(only, "epoll")) {
		case_create();
		case_ctl_errors();
		case_nest_depth();
		case_modes();
		case_lifetime();
		case_nested();
		case_blocking();
		case_many();
	}
	if (!*only || !strcmp(only, "eventfd")) {
		case_eventfd();
		case_eventfd_blocking();
	}
	if (!*only || !strcmp(only, "timerfd"))
		case_timerfd();
	if (fails) {
		say("epolltest: %d failures\n", fails);
		return 1;
	}
	say("epolltest ok\n");
	return 0;
}
