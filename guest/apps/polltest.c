/* polltest.c: guest test app: poll, ppoll, select and pselect on pipes, the console, files and /dev/null (and, with "sock", on TCP and UDP sockets), with the output Linux gives. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "say.h"

/*
 * Run natively (stdin from /dev/null, stdout a pipe or file) and in ukvm
 * (stdin the console, which reads end of file): the same lines, ending with
 * "polltest ok". Each line names a case and what the calls returned.
 */

static int fails;

static void check(int ok, const char *what)
{
	if (!ok) {
		say("FAIL %s (errno %d)\n", what, errno);
		fails++;
	}
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* revents of one fd polled for events with timeout 0 (-1 when poll itself failed). */
static int poll1(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n = poll(&p, 1, 0);
	return n < 0 ? -1 : p.revents;
}

static void case_console_files(void)
{
	say("stdin: %#x\n", poll1(0, POLLIN));
	say("stdout: %#x\n", poll1(1, POLLOUT));
	int fd = open("/tmp/polltest.txt", O_RDWR | O_CREAT | O_TRUNC, 0600);
	check(fd >= 0, "open file");
	say("file: %#x\n", poll1(fd, POLLIN | POLLOUT | POLLPRI));
	close(fd);
	unlink("/tmp/polltest.txt");
	fd = open("/dev/null", O_RDWR);
	say("null: %#x\n", poll1(fd, POLLIN | POLLOUT));
	close(fd);
	say("closed fd: %#x\n", poll1(fd, POLLIN));
	struct pollfd p[2] = { { .fd = -1, .events = POLLIN, .revents = 7 }, { .fd = 1, .events = POLLOUT } };
	int n = poll(p, 2, 0);
	say("negative fd: n=%d revents %#x %#x\n", n, p[0].revents, p[1].revents);
}

static void case_pipe(void)
{
	int pf[2];
	check(pipe(pf) == 0, "pipe");
	say("pipe empty: r %#x w %#x\n", poll1(pf[0], POLLIN | POLLOUT), poll1(pf[1], POLLIN | POLLOUT));
	check(write(pf[1], "x", 1) == 1, "write");
	say("pipe 1 byte: r %#x rdnorm %#x\n", poll1(pf[0], POLLIN | POLLOUT), poll1(pf[0], POLLRDNORM));
	close(pf[1]);
	say("pipe writer gone, data left: r %#x\n", poll1(pf[0], POLLIN));
	char c;
	check(read(pf[0], &c, 1) == 1, "read");
	say("pipe writer gone, drained: r %#x (no events asked: %#x)\n", poll1(pf[0], POLLIN), poll1(pf[0], 0));
	close(pf[0]);
	check(pipe(pf) == 0, "pipe");
	close(pf[0]);
	say("pipe reader gone: w %#x\n", poll1(pf[1], POLLOUT));
	close(pf[1]);

	/* Full pipe: not writable until a PIPE_BUF of room is back. */
	check(pipe(pf) == 0, "pipe");
	fcntl(pf[1], F_SETFL, O_NONBLOCK);
	static char big[65536];
	long put = 0, r;
	while ((r = write(pf[1], big, sizeof(big))) > 0)
		put += r;
	say("pipe full after %ld bytes: w %#x\n", put, poll1(pf[1], POLLOUT));
	check(read(pf[0], big, 4096) == 4096, "read 4096");
	say("pipe 4096 free: w %#x\n", poll1(pf[1], POLLOUT));
	close(pf[0]);
	close(pf[1]);
}

static int late_fd;

static void *late_writer(void *arg)
{
	(void)arg;
	usleep(30000);
	if (write(late_fd, "y", 1) != 1)
		say("late write failed\n");
	return NULL;
}

static pthread_t main_thread;
static volatile int handled;

static void on_sig(int sig)
{
	(void)sig;
	handled++;
}

static void *late_signal(void *arg)
{
	(void)arg;
	usleep(30000);
	pthread_kill(main_thread, SIGUSR2);
	return NULL;
}

static void case_blocking(void)
{
	int pf[2];
	struct timespec t0;
	check(pipe(pf) == 0, "pipe");

	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct pollfd p = { .fd = pf[0], .events = POLLIN };
	int n = poll(&p, 1, 50);
	long ms = ms_since(&t0);
	say("poll timeout: n=%d revents %#x waited>=50ms %d\n", n, p.revents, ms >= 50 && ms < 1000);

	n = poll(NULL, 0, 20);
	say("poll no fds: n=%d\n", n);

	late_fd = pf[1];
	pthread_t t;
	pthread_create(&t, NULL, late_writer, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	n = poll(&p, 1, -1);
	ms = ms_since(&t0);
	say("poll forever, written later: n=%d revents %#x waited %d\n", n, p.revents, ms >= 20 && ms < 1000);
	pthread_join(t, NULL);
	char c;
	check(read(pf[0], &c, 1) == 1, "read");

	/* A handler interrupts poll with EINTR even with SA_RESTART (signal(7): never restarted). */
	struct sigaction sa = { .sa_handler = on_sig, .sa_flags = SA_RESTART };
	sigaction(SIGUSR2, &sa, NULL);
	main_thread = pthread_self();
	pthread_create(&t, NULL, late_signal, NULL);
	errno = 0;
	n = poll(&p, 1, 5000);
	int e = errno;
	pthread_join(t, NULL);
	say("poll signal: n=%d %s handled %d\n", n, e == EINTR ? "EINTR" : strerror(e), handled);

	fd_set rd;
	FD_ZERO(&rd);
	FD_SET(pf[0], &rd);
	pthread_create(&t, NULL, late_signal, NULL);
	errno = 0;
	n = select(pf[0] + 1, &rd, NULL, NULL, NULL);
	e = errno;
	pthread_join(t, NULL);
	say("select signal: n=%d %s handled %d\n", n, e == EINTR ? "EINTR" : strerror(e), handled);
	close(pf[0]);
	close(pf[1]);
}

static void case_select(void)
{
	int pf[2];
	check(pipe(pf) == 0, "pipe");
	fd_set rd, wr, ex;
	FD_ZERO(&rd);
	FD_ZERO(&wr);
	FD_ZERO(&ex);
	FD_SET(pf[0], &rd);
	FD_SET(pf[1], &rd);
	FD_SET(pf[1], &wr);
	FD_SET(pf[0], &ex);
	struct timeval tv = { 0, 0 };
	int n = select(pf[1] + 1, &rd, &wr, &ex, &tv);
	say("select empty pipe: n=%d rd %d%d wr %d ex %d\n", n, FD_ISSET(pf[0], &rd), FD_ISSET(pf[1], &rd),
	    FD_ISSET(pf[1], &wr), FD_ISSET(pf[0], &ex));
	check(write(pf[1], "z", 1) == 1, "write");
	FD_ZERO(&rd);
	FD_ZERO(&wr);
	FD_SET(pf[0], &rd);
	FD_SET(pf[1], &wr);
	FD_SET(0, &rd);
	n = select(pf[1] + 1, &rd, &wr, NULL, &tv);
	say("select 1 byte: n=%d rd %d stdin %d wr %d\n", n, FD_ISSET(pf[0], &rd), FD_ISSET(0, &rd), FD_ISSET(pf[1], &wr));

	char c;
	check(read(pf[0], &c, 1) == 1, "read");
	FD_ZERO(&rd);
	FD_SET(pf[0], &rd);
	tv = (struct timeval){ 0, 30000 };
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	n = select(pf[0] + 1, &rd, NULL, NULL, &tv);
	long ms = ms_since(&t0);
	say("select timeout: n=%d rd %d tv %ld.%06ld waited>=30ms %d\n", n, FD_ISSET(pf[0], &rd), (long)tv.tv_sec,
	    (long)tv.tv_usec, ms >= 30 && ms < 1000);

	/* A hang-up is not an exception: select on exceptfds alone waits out its timeout. */
	int hp[2];
	check(pipe(hp) == 0, "pipe");
	close(hp[1]);
	FD_ZERO(&ex);
	FD_SET(hp[0], &ex);
	tv = (struct timeval){ 0, 20000 };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	n = select(hp[0] + 1, NULL, NULL, &ex, &tv);
	ms = ms_since(&t0);
	say("select hang-up in exceptfds: n=%d ex %d waited>=20ms %d\n", n, FD_ISSET(hp[0], &ex), ms >= 20 && ms < 1000);
	close(hp[0]);

	FD_ZERO(&rd);
	FD_SET(pf[0], &rd);
	FD_SET(pf[1] + 5, &rd); /* not open */
	errno = 0;
	n = select(pf[1] + 6, &rd, NULL, NULL, &(struct timeval){ 0, 0 });
	say("select closed fd: n=%d %s\n", n, errno == EBADF ? "EBADF" : strerror(errno));
	errno = 0;
	n = select(-1, NULL, NULL, NULL, &(struct timeval){ 0, 0 });
	say("select nfds -1: n=%d %s\n", n, errno == EINVAL ? "EINVAL" : strerror(errno));
	errno = 0;
	n = select(0, NULL, NULL, NULL, &(struct timeval){ 0, -1 });
	say("select bad timeval: n=%d %s\n", n, errno == EINVAL ? "EINVAL" : strerror(errno));
	close(pf[0]);
	close(pf[1]);
}

static volatile int usr1;

static void on_usr1(int sig)
{
	(void)sig;
	usr1++;
}

/* ppoll/pselect with a sigmask: a pending blocked signal the wait mask lets through ends the wait at once. */
static void case_sigmask(void)
{
	int pf[2];
	check(pipe(pf) == 0, "pipe");
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigaction(SIGUSR1, &sa, NULL);
	sigset_t block, none, now;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigemptyset(&none);
	sigprocmask(SIG_BLOCK, &block, NULL);
	raise(SIGUSR1);
	say("usr1 pending, blocked: handled %d\n", usr1);

	struct pollfd p = { .fd = pf[0], .events = POLLIN };
	struct timespec ts = { 5, 0 };
	errno = 0;
	int n = ppoll(&p, 1, &ts, &none);
	int e = errno;
	sigprocmask(SIG_BLOCK, NULL, &now);
	say("ppoll empty mask: n=%d %s handled %d usr1 blocked again %d\n", n, e == EINTR ? "EINTR" : strerror(e),
	    usr1, sigismember(&now, SIGUSR1));

	/* The wait mask blocks nothing new here: ppoll times out and the old mask stays. */
	ts = (struct timespec){ 0, 20000000 };
	n = ppoll(&p, 1, &ts, &block);
	sigprocmask(SIG_BLOCK, NULL, &now);
	say("ppoll timeout: n=%d ts %ld.%09ld usr1 blocked %d\n", n, (long)ts.tv_sec, ts.tv_nsec,
	    sigismember(&now, SIGUSR1));

	raise(SIGUSR1);
	fd_set rd;
	FD_ZERO(&rd);
	FD_SET(pf[0], &rd);
	errno = 0;
	n = pselect(pf[0] + 1, &rd, NULL, NULL, &(struct timespec){ 5, 0 }, &none);
	e = errno;
	sigprocmask(SIG_BLOCK, NULL, &now);
	say("pselect empty mask: n=%d %s handled %d usr1 blocked again %d\n", n, e == EINTR ? "EINTR" : strerror(e),
	    usr1, sigismember(&now, SIGUSR1));

	/* With data ready the call succeeds; the pending signal stays pending under the old mask. */
	check(write(pf[1], "w", 1) == 1, "write");
	raise(SIGUSR1);
	n = ppoll(&p, 1, &(struct timespec){ 0, 0 }, &block);
	say("ppoll ready, usr1 pending: n=%d revents %#x handled %d\n", n, p.revents, usr1);
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	say("usr1 unblocked: handled %d\n", usr1);

	errno = 0;
	n = (int)syscall(SYS_ppoll, &p, 1, NULL, &none, 4);
	say("ppoll sigsetsize 4: n=%d %s\n", n, errno == EINVAL ? "EINVAL" : strerror(errno));
	errno = 0;
	n = poll(&p, 1u << 20, 0);
	say("poll nfds 1M: n=%d %s\n", n, errno == EINVAL ? "EINVAL" : strerror(errno));
	errno = 0;
	n = poll((struct pollfd *)16, 1, 0);
	say("poll bad pointer: n=%d %s\n", n, errno == EFAULT ? "EFAULT" : strerror(errno));
	close(pf[0]);
	close(pf[1]);
}

/* ---- sock: select and pselect over TCP and UDP sockets (polltest sock) ---- */

static struct sockaddr_in lo_addr(unsigned short port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/* select with a 0 or 5 s timeout on fd for reading and/or writing and exceptions: "n=N r w x". */
static void sel(const char *what, int fd, int rd, int wr, int wait)
{
	fd_set r, w, x;
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_ZERO(&x);
	if (rd)
		FD_SET(fd, &r);
	if (wr)
		FD_SET(fd, &w);
	FD_SET(fd, &x);
	struct timeval tv = { wait ? 5 : 0, 0 };
	int n = select(fd + 1, &r, &w, &x, &tv);
	say("select %s: n=%d r %d w %d x %d\n", what, n, FD_ISSET(fd, &r), FD_ISSET(fd, &w), FD_ISSET(fd, &x));
}

/* The same through the raw pselect6 (its sixth argument is {sigset, size}), with a timespec left in place. */
static void psel(const char *what, int fd, int rd, int wr, int wait)
{
	fd_set r, w;
	FD_ZERO(&r);
	FD_ZERO(&w);
	if (rd)
		FD_SET(fd, &r);
	if (wr)
		FD_SET(fd, &w);
	struct timespec ts = { wait ? 5 : 0, 0 };
	sigset_t none;
	sigemptyset(&none);
	struct { const sigset_t *ss; size_t len; } sm = { &none, 8 };
	int n = (int)syscall(SYS_pselect6, fd + 1, &r, &w, NULL, &ts, &sm);
	say("pselect6 %s: n=%d r %d w %d\n", what, n, FD_ISSET(fd, &r), FD_ISSET(fd, &w));
}

static struct {
	int fd;
	const char *data;
} late;

/* After a short pause (so that the main thread is blocked in select), writes late.data to late.fd. */
static void *late_send(void *arg)
{
	(void)arg;
	usleep(30000);
	if (late.data)
		check(write(late.fd, late.data, strlen(late.data)) == (long)strlen(late.data), "late write");
	else
		check(shutdown(late.fd, SHUT_WR) == 0, "late shutdown");
	return NULL;
}

static void case_sock_select(void)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = lo_addr(0);
	socklen_t al = sizeof(a);
	check(!bind(l, (struct sockaddr *)&a, sizeof(a)) && !listen(l, 4) && !getsockname(l, (struct sockaddr *)&a, &al),
	      "listener");
	sel("listener idle", l, 1, 1, 0);
	psel("listener idle", l, 1, 0, 0);
	/* A non-blocking connect: writable once connected; the listener readable (accept). */
	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int rc = connect(c, (struct sockaddr *)&a, sizeof(a));
	say("connect: %s\n", rc == 0 ? "0" : errno == EINPROGRESS ? "EINPROGRESS" : strerror(errno));
	sel("connecting, for writing", c, 0, 1, 1);
	sel("listener with a connection", l, 1, 0, 1);
	psel("listener with a connection", l, 1, 0, 1);
	int s = accept(l, NULL, NULL);
	check(s >= 0, "accept");
	sel("listener after accept", l, 1, 0, 0);
	fcntl(c, F_SETFL, 0);
	sel("accepted, idle", s, 1, 1, 0);
	psel("accepted, idle", s, 1, 1, 0);
	/* Data: readable, through a select that blocks until it comes. */
	pthread_t th;
	late.fd = c;
	late.data = "hello";
	pthread_create(&th, NULL, late_send, NULL);
	sel("blocked until data", s, 1, 0, 1);
	pthread_join(th, NULL);
	char buf[16];
	check(read(s, buf, sizeof(buf)) == 5, "read");
	late.data = "again";
	pthread_create(&th, NULL, late_send, NULL);
	psel("blocked until data", s, 1, 0, 1);
	pthread_join(th, NULL);
	check(read(s, buf, sizeof(buf)) == 5, "read");
	psel("drained", s, 1, 0, 0);
	/* The peer's FIN: readable (read gives end of file), still writable. */
	late.data = NULL;
	pthread_create(&th, NULL, late_send, NULL);
	sel("blocked until EOF", s, 1, 0, 1);
	pthread_join(th, NULL);
	sel("after EOF", s, 1, 1, 0);
	psel("after EOF", s, 1, 1, 0);
	say("read at EOF: %d\n", (int)read(s, buf, sizeof(buf)));
	close(s);
	close(c);
	close(l);
	/* A refused connect: the pending error makes the socket readable and writable, not exceptional. */
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	rc = connect(c, (struct sockaddr *)&a, sizeof(a));
	say("connect to a closed port: %s\n", rc == 0 ? "0" : errno == EINPROGRESS ? "EINPROGRESS" : strerror(errno));
	sel("refused, for writing", c, 0, 1, 1);
	sel("refused", c, 1, 1, 0);
	int err = 0;
	socklen_t el = sizeof(err);
	check(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el) == 0, "SO_ERROR");
	say("SO_ERROR %s\n", err == ECONNREFUSED ? "ECONNREFUSED" : strerror(err));
	close(c);

	/* UDP: writable at once, readable when a datagram waits. */
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	a = lo_addr(0);
	al = sizeof(a);
	check(!bind(u, (struct sockaddr *)&a, sizeof(a)) && !getsockname(u, (struct sockaddr *)&a, &al), "udp bind");
	sel("udp idle", u, 1, 1, 0);
	psel("udp idle", u, 1, 1, 0);
	int uc = socket(AF_INET, SOCK_DGRAM, 0);
	check(!connect(uc, (struct sockaddr *)&a, sizeof(a)), "udp connect");
	late.fd = uc;
	late.data = "dgram";
	pthread_create(&th, NULL, late_send, NULL);
	sel("udp blocked until a datagram", u, 1, 0, 1);
	pthread_join(th, NULL);
	psel("udp datagram waiting", u, 1, 0, 0);
	check(recv(u, buf, sizeof(buf), 0) == 5, "udp recv");
	sel("udp drained", u, 1, 0, 0);
	close(uc);
	close(u);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "sock")) {
		case_sock_select();
		if (fails)
			return 1;
		say("polltest sock ok\n");
		return 0;
	}
	case_console_files();
	case_pipe();
	case_blocking();
	case_select();
	case_sigmask();
	if (fails)
		return 1;
	say("polltest ok\n");
	return 0;
}
