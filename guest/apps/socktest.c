/* socktest.c: guest test app: AF_UNIX and AF_INET sockets, printing each call's result or errno so Linux and ukvm transcripts compare line by line. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define TRANSCRIPT_SAY
#include "transcript.h"

/*
 * Usage: socktest [unix] [inet] [msg] [more] [limits] (default: all), socktest etc
 * NAME... (the /etc files and names resolved), socktest keepalive IP PORT. Every line is host-independent: no addresses or ports that differ between runs (ports are compared, not
 * printed; unix names are relative to a fresh directory). The last line is
 * "socktest ok" or "socktest FAILED n".
 */

static int fails;


static void check(int ok, const char *what)
{
	if (!ok) {
		say("FAIL %s (errno %s)\n", what, errname(errno));
		fails++;
	}
}

static const char *pollname(int r)
{
	static char buf[96];
	buf[0] = 0;
	if (r < 0)
		return "poll failed";
	static const struct { int bit; const char *name; } b[] = {
		{POLLIN, "IN"}, {POLLPRI, "PRI"}, {POLLOUT, "OUT"}, {POLLERR, "ERR"}, {POLLHUP, "HUP"},
		{POLLNVAL, "NVAL"}, {POLLRDHUP, "RDHUP"},
	};
	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++)
		if (r & b[i].bit) {
			strcat(buf, buf[0] ? "|" : "");
			strcat(buf, b[i].name);
		}
	return buf[0] ? buf : "0";
}

static void showpoll(const char *what, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT | POLLRDHUP | POLLPRI };
	int n = poll(&p, 1, 0);
	say("poll %s: %s\n", what, pollname(n < 0 ? -1 : p.revents));
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static int sigpipes;
static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

/* ---- argument checks, options ---- */

static void case_args(void)
{
	int p[2];
	check(pipe(p) == 0, "pipe");
	T(socket(12345, SOCK_STREAM, 0));
	T(socket(AF_UNIX, 99, 0));
	T(socket(AF_UNIX, SOCK_STREAM | 0x100, 0));
	T(socket(AF_UNIX, SOCK_STREAM, 7));
	T(socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
	T(socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP));
	T(socket(AF_INET, SOCK_SEQPACKET, 0));
	T(listen(p[0], 1));
	T(shutdown(p[0], SHUT_RD));
	T(listen(-1, 1));
	T(listen(999, 1));
	T(getsockopt(p[0], SOL_SOCKET, SO_TYPE, &(int){0}, &(socklen_t){4}));
	close(p[0]);
	close(p[1]);
	int sp[2] = { -1, -1 };
	T(socketpair(AF_UNIX, SOCK_STREAM, 0, sp));
	T(sendto(sp[0], (void *)8, 10, 0, NULL, 0));
	T(write(sp[1], "z", 1));
	T(recv(sp[0], (void *)8, 10, MSG_DONTWAIT));
	T(recv(sp[0], &(char){0}, 1, MSG_DONTWAIT));
	int *volatile badv = (int *)8;
	T(socketpair(AF_UNIX, SOCK_STREAM, 0, badv));
	close(sp[0]);
	close(sp[1]);

	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	check(s >= 0, "socket");
	T(fcntl(s, F_GETFD));
	T(fcntl(s, F_GETFL) & O_NONBLOCK);
	T(fcntl(s, F_SETFL, 0));
	T(fcntl(s, F_GETFL) & O_NONBLOCK);
	struct stat st;
	T(fstat(s, &st));
	say("S_ISSOCK: %d\n", S_ISSOCK(st.st_mode));
	int v = -1;
	socklen_t l = sizeof(v);
	T(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l));
	say("SO_TYPE %d len %u\n", v, l);
	T(getsockopt(s, SOL_SOCKET, SO_DOMAIN, &v, &l));
	say("SO_DOMAIN %d\n", v);
	T(getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &v, &l));
	say("SO_ACCEPTCONN %d\n", v);
	T(getsockopt(s, SOL_SOCKET, SO_ERROR, &v, &l));
	say("SO_ERROR %d\n", v);
	T(getsockopt(s, SOL_SOCKET, 9999, &v, &l));
	T(setsockopt(s, SOL_SOCKET, 9999, &v, sizeof(v)));
	T(setsockopt(s, SOL_SOCKET, SO_TYPE, &v, sizeof(v)));
	v = 1;
	T(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, 2));
	T(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v)));
	T(getsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, &l));
	say("SO_REUSEADDR %d\n", v);
	v = 1;
	T(setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v)));
	T(getsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, &l));
	say("SO_KEEPALIVE %d\n", v);
	v = 65536;
	T(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)));
	T(getsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, &l));
	say("SO_RCVBUF %d\n", v);
	v = 100;
	T(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)));
	T(getsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, &l));
	say("SO_SNDBUF %d\n", v);
	char small = 0x55;
	socklen_t sl = 1;
	T(getsockopt(s, SOL_SOCKET, SO_TYPE, &small, &sl));
	say("SO_TYPE short: %d len %u\n", small, sl);
	sl = (socklen_t)-1;
	T(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &sl));
	T(getsockopt(s, SOL_SOCKET, SO_TYPE, (void *)8, &l));
	T(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, (void *)8));
	T(setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, (void *)8, 4));
	struct linger lg = { 1, 5 };
	T(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	memset(&lg, 0, sizeof(lg));
	l = sizeof(lg);
	T(getsockopt(s, SOL_SOCKET, SO_LINGER, &lg, &l));
	say("SO_LINGER %d %d len %u\n", lg.l_onoff, lg.l_linger, l);
	T(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, 4));
	struct timeval tv = { 0, 2000000 };
	T(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	T(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, 8));
	tv = (struct timeval){ 1, 500000 };
	T(setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)));
	memset(&tv, 0, sizeof(tv));
	l = sizeof(tv);
	T(getsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, &l));
	say("SO_SNDTIMEO %ld.%06ld len %u\n", (long)tv.tv_sec, (long)tv.tv_usec, l);
	T(setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v)));
	T(ioctl(s, FIONREAD, &v));
	T(ioctl(s, TCGETS, &v));
	T(send(s, "x", 1, 0));
	T(recv(s, &v, 1, 0));
	T(accept(s, NULL, NULL));
	T(listen(s, 1));
	T(shutdown(s, 7));
	T(shutdown(s, SHUT_RDWR));
	struct sockaddr_un un;
	socklen_t ul = sizeof(un);
	T(getsockname(s, (struct sockaddr *)&un, &ul));
	say("unbound name len %u family %d\n", ul, un.sun_family);
	T(getpeername(s, (struct sockaddr *)&un, &ul));
	ul = (socklen_t)-1;
	T(getsockname(s, (struct sockaddr *)&un, &ul));
	T(getsockname(s, (struct sockaddr *)&un, (void *)8));
	T(bind(s, (struct sockaddr *)&un, 1));
	T(bind(s, (struct sockaddr *)&un, 200));
	T(bind(s, (void *)8, sizeof(un)));
	un.sun_family = AF_INET;
	T(bind(s, (struct sockaddr *)&un, sizeof(un)));
	T(connect(s, (struct sockaddr *)&un, sizeof(un)));
	T(accept4(s, NULL, NULL, 0x4));
	T(close(s));
	T(close(s));
	T(send(s, "x", 1, 0));
	T(accept(p[0], NULL, NULL));
}

/* ---- AF_UNIX stream ---- */

static void case_unix_pair(void)
{
	int sv[2];
	char buf[64];
	T(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	showpoll("pair fresh", sv[0]);
	T(write(sv[0], "hello", 5));
	showpoll("pair readable", sv[1]);
	int n = -1;
	T(ioctl(sv[1], FIONREAD, &n));
	say("FIONREAD %d\n", n);
	T(recv(sv[1], buf, 3, MSG_PEEK));
	say("peeked %.3s\n", buf);
	T(recv(sv[1], buf, sizeof(buf), 0));
	say("got %.5s\n", buf);
	T(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT));
	struct sockaddr_un un;
	socklen_t ul = sizeof(un);
	T(getpeername(sv[0], (struct sockaddr *)&un, &ul));
	say("pair peer len %u\n", ul);
	/* A vector in and out. */
	struct iovec wv[3] = { { "ab", 2 }, { "", 0 }, { "cdef", 4 } };
	struct msghdr mh = { .msg_iov = wv, .msg_iovlen = 3 };
	T(sendmsg(sv[0], &mh, 0));
	char r1[3], r2[8];
	struct iovec rv[2] = { { r1, 3 }, { r2, 8 } };
	struct msghdr rh = { .msg_iov = rv, .msg_iovlen = 2 };
	T(recvmsg(sv[1], &rh, 0));
	say("recvmsg %.3s|%.3s flags %d\n", r1, r2, rh.msg_flags);
	T(writev(sv[0], wv, 3));
	T(readv(sv[1], rv, 2));
	/* MSG_WAITALL gathers across writes. */
	T(write(sv[0], "12", 2));
	T(write(sv[0], "34", 2));
	T(recv(sv[1], buf, 4, MSG_WAITALL));
	/* Half close: the peer reads EOF and sees RDHUP; its writes still arrive. */
	T(shutdown(sv[0], SHUT_WR));
	showpoll("after SHUT_WR (self)", sv[0]);
	showpoll("after SHUT_WR (peer)", sv[1]);
	T(recv(sv[1], buf, sizeof(buf), 0));
	T(write(sv[0], "x", 1));
	T(send(sv[0], "x", 1, MSG_NOSIGNAL));
	T(write(sv[1], "back", 4));
	T(read(sv[0], buf, sizeof(buf)));
	T(close(sv[1]));
	showpoll("peer closed", sv[0]);
	T(read(sv[0], buf, sizeof(buf)));
	T(close(sv[0]));

	/* Close with unread data: the peer's next read says ECONNRESET, once. */
	T(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	T(write(sv[0], "lost", 4));
	T(write(sv[1], "kept", 4));
	T(close(sv[1]));
	showpoll("reset", sv[0]);
	T(read(sv[0], buf, sizeof(buf)));
	T(read(sv[0], buf, sizeof(buf)));
	T(read(sv[0], buf, sizeof(buf)));
	T(close(sv[0]));

	/* SIGPIPE: raised by write and send, not with MSG_NOSIGNAL. */
	signal(SIGPIPE, on_sigpipe);
	T(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	T(close(sv[1]));
	T(write(sv[0], "x", 1));
	say("sigpipes %d\n", sigpipes);
	T(send(sv[0], "x", 1, MSG_NOSIGNAL));
	say("sigpipes %d\n", sigpipes);
	T(send(sv[0], "x", 1, 0));
	say("sigpipes %d\n", sigpipes);
	T(close(sv[0]));
	signal(SIGPIPE, SIG_IGN);

	/* Edge-triggered epoll: a partial read brings no new event, new data does; the writer hears room. */
	T(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u32 = 7 };
	T(epoll_ctl(ep, EPOLL_CTL_ADD, sv[1], &ev));
	T(write(sv[0], "abcdef", 6));
	T(epoll_wait(ep, &ev, 1, 0));
	T(read(sv[1], buf, 2));
	T(epoll_wait(ep, &ev, 1, 0));
	T(write(sv[0], "g", 1));
	T(epoll_wait(ep, &ev, 1, 0));
	T(close(ep));
	T(close(sv[0]));
	T(close(sv[1]));

	/* Non-blocking fill: a short write, then EAGAIN; poll drops OUT. */
	T(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv));
	static char big[1 << 20];
	long w = write(sv[0], big, sizeof(big));
	say("big write partial: %d\n", w > 0 && w < (long)sizeof(big));
	T(write(sv[0], big, 10));
	showpoll("full writer", sv[0]);
	long got = 0, r;
	while ((r = read(sv[1], big, sizeof(big))) > 0)
		got += r;
	say("drained all: %d (%s)\n", got == w, errname(errno));
	showpoll("drained writer", sv[0]);
	T(close(sv[0]));
	T(close(sv[1]));
}

static void case_unix_dgram(void)
{
	int sv[2];
	char buf[64];
	T(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	showpoll("dgram fresh", sv[0]);
	T(send(sv[0], "one", 3, 0));
	T(send(sv[0], "", 0, 0));
	T(send(sv[0], "three33", 7, 0));
	int n = -1;
	T(ioctl(sv[1], FIONREAD, &n));
	say("FIONREAD %d\n", n);
	T(recv(sv[1], buf, sizeof(buf), 0));
	T(recv(sv[1], buf, sizeof(buf), 0));
	T(recv(sv[1], buf, 2, MSG_PEEK | MSG_TRUNC));
	char small[2];
	struct iovec v = { small, 2 };
	struct msghdr mh = { .msg_iov = &v, .msg_iovlen = 1 };
	T(recvmsg(sv[1], &mh, 0));
	say("trunc flags %d MSG_TRUNC %d\n", mh.msg_flags == MSG_TRUNC, MSG_TRUNC);
	T(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT));
	struct timeval tv = { 0, 50000 };
	T(setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	T(recv(sv[1], buf, sizeof(buf), 0));
	long ms = ms_since(&t0);
	say("rcvtimeo waited: %d\n", ms >= 40 && ms < 2000);
	T(close(sv[0]));
	T(send(sv[1], "x", 1, 0));
	T(send(sv[1], "x", 1, 0));
	T(close(sv[1]));
}

static void case_unix_named(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	strcpy(a.sun_path, "srv.sock");
	socklen_t alen = offsetof(struct sockaddr_un, sun_path) + strlen(a.sun_path) + 1;
	char buf[64];

	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	T(listen(l, 4));
	T(bind(l, (struct sockaddr *)&a, alen));
	struct stat st;
	T(stat("srv.sock", &st));
	say("name is socket: %d\n", S_ISSOCK(st.st_mode));
	T(bind(l, (struct sockaddr *)&a, alen));
	int l2 = socket(AF_UNIX, SOCK_STREAM, 0);
	T(bind(l2, (struct sockaddr *)&a, alen));
	T(close(l2));
	T(listen(l, 4));
	showpoll("listener idle", l);
	int v = 0;
	socklen_t vl = sizeof(v);
	T(getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl));
	say("SO_ACCEPTCONN %d\n", v);
	fcntl(l, F_SETFL, O_NONBLOCK);
	T(accept(l, NULL, NULL));
	fcntl(l, F_SETFL, 0);

	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	T(connect(c, (struct sockaddr *)&a, alen));
	showpoll("listener pending", l);
	T(write(c, "early", 5));
	struct sockaddr_un pa;
	socklen_t pl = sizeof(pa);
	int s = accept4(l, (struct sockaddr *)&pa, &pl, SOCK_CLOEXEC);
	check(s >= 0, "accept4");
	say("accepted peer len %u\n", pl);
	T(fcntl(s, F_GETFD));
	showpoll("listener drained", l);
	T(read(s, buf, sizeof(buf)));
	pl = sizeof(pa);
	T(getsockname(s, (struct sockaddr *)&pa, &pl));
	say("server name %s len %u\n", pa.sun_path, pl);
	pl = sizeof(pa);
	T(getpeername(c, (struct sockaddr *)&pa, &pl));
	say("client peer %s len %u\n", pa.sun_path, pl);
	pl = sizeof(pa);
	T(recvfrom(c, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&pa, &pl));
	T(write(s, "hi", 2));
	pl = sizeof(pa);
	T(recvfrom(c, buf, sizeof(buf), 0, (struct sockaddr *)&pa, &pl));
	say("recvfrom server: %s len %u\n", pa.sun_path, pl);
	T(connect(c, (struct sockaddr *)&a, alen));
	T(connect(l, (struct sockaddr *)&a, alen));
	T(close(s));
	T(close(c));

	/* Wrong type, missing name, a name that is no socket, a listener gone. */
	int d = socket(AF_UNIX, SOCK_DGRAM, 0);
	T(connect(d, (struct sockaddr *)&a, alen));
	T(listen(d, 1));
	T(accept(d, NULL, NULL));
	T(close(d));
	struct sockaddr_un m = { .sun_family = AF_UNIX };
	strcpy(m.sun_path, "missing.sock");
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	T(connect(c, (struct sockaddr *)&m, sizeof(m)));
	int fd = open("plain", O_CREAT | O_RDWR, 0600);
	close(fd);
	strcpy(m.sun_path, "plain");
	T(connect(c, (struct sockaddr *)&m, sizeof(m)));
	T(unlink("plain"));
	T(close(l));
	T(connect(c, (struct sockaddr *)&a, alen));
	T(unlink("srv.sock"));
	T(close(c));

	/* Backlog: listen(0) takes one pending connection, then a non-blocking connect gets EAGAIN. */
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	T(bind(l, (struct sockaddr *)&a, alen));
	T(listen(l, 0));
	int c1 = socket(AF_UNIX, SOCK_STREAM, 0), c2 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	T(connect(c1, (struct sockaddr *)&a, alen));
	T(connect(c2, (struct sockaddr *)&a, alen));
	T(close(l));
	T(read(c1, buf, sizeof(buf)));
	T(read(c1, buf, sizeof(buf)));
	T(close(c1));
	T(close(c2));
	T(unlink("srv.sock"));

	/* Abstract names and datagrams with a sender name. */
	struct sockaddr_un ab = { .sun_family = AF_UNIX };
	memcpy(ab.sun_path, "\0socktest-abs", 13);
	socklen_t ablen = offsetof(struct sockaddr_un, sun_path) + 13;
	int r = socket(AF_UNIX, SOCK_DGRAM, 0);
	T(bind(r, (struct sockaddr *)&ab, ablen));
	int r2 = socket(AF_UNIX, SOCK_DGRAM, 0);
	T(bind(r2, (struct sockaddr *)&ab, ablen));
	struct sockaddr_un sn = { .sun_family = AF_UNIX };
	strcpy(sn.sun_path, "snd.sock");
	T(bind(r2, (struct sockaddr *)&sn, sizeof(sn)));
	T(sendto(r2, "dg", 2, 0, (struct sockaddr *)&ab, ablen));
	T(send(r2, "dg", 2, 0));
	pl = sizeof(pa);
	memset(&pa, 0, sizeof(pa));
	T(recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&pa, &pl));
	say("from %s len %u\n", pa.sun_path, pl);
	int anon = socket(AF_UNIX, SOCK_DGRAM, 0);
	T(sendto(anon, "an", 2, 0, (struct sockaddr *)&ab, ablen));
	pl = sizeof(pa);
	T(recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&pa, &pl));
	say("anonymous from len %u\n", pl);
	T(connect(anon, (struct sockaddr *)&ab, ablen));
	T(send(anon, "c1", 2, 0));
	pl = sizeof(pa);
	T(getpeername(anon, (struct sockaddr *)&pa, &pl));
	say("dgram peer len %u abstract %d\n", pl, pa.sun_path[0] == 0 && !memcmp(pa.sun_path + 1, "socktest-abs", 12));
	T(recv(r, buf, sizeof(buf), 0));
	T(close(r));
	T(send(anon, "c2", 2, 0));
	T(send(anon, "c3", 2, 0));
	T(sendto(anon, "c4", 2, 0, (struct sockaddr *)&ab, ablen));
	T(close(anon));
	T(close(r2));
	T(unlink("snd.sock"));
}

/* 1 MiB through a unix stream to an echo thread and back, byte-exact. */
#define ECHO_BYTES (1 << 20)

static void *echo_thread(void *arg)
{
	int fd = *(int *)arg;
	static char buf[65536];
	long n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (long o = 0; o < n;) {
			long w = write(fd, buf + o, (size_t)(n - o));
			if (w <= 0)
				return NULL;
			o += w;
		}
	close(fd);
	return NULL;
}

static void *feed_thread(void *arg)
{
	int fd = *(int *)arg;
	static unsigned char out[ECHO_BYTES];
	for (long i = 0; i < ECHO_BYTES; i++)
		out[i] = (unsigned char)(i * 7 + (i >> 11));
	long o = 0;
	while (o < ECHO_BYTES) {
		long n = ECHO_BYTES - o < 100000 ? ECHO_BYTES - o : 100000;
		long w = write(fd, out + o, (size_t)n);
		if (w <= 0)
			break;
		o += w;
	}
	shutdown(fd, SHUT_WR);
	return (void *)o;
}

/* Echoes through fds a (our end) and b (the echo thread's end). */
static void echo_1mib(const char *what, int a, int b)
{
	pthread_t te, tf;
	static unsigned char in[ECHO_BYTES];
	pthread_create(&te, NULL, echo_thread, &b);
	pthread_create(&tf, NULL, feed_thread, &a);
	long got = 0, n;
	while (got < ECHO_BYTES && (n = read(a, in + got, ECHO_BYTES - got)) > 0)
		got += n;
	void *sent;
	pthread_join(tf, &sent);
	pthread_join(te, NULL);
	long bad = -1;
	for (long i = 0; i < got; i++)
		if (in[i] != (unsigned char)(i * 7 + (i >> 11))) {
			bad = i;
			break;
		}
	say("%s echo: sent %ld got %ld first bad %ld\n", what, (long)sent, got, bad);
	T(read(a, in, 1));
	close(a);
}

static void case_unix_echo(void)
{
	int sv[2];
	T(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	echo_1mib("unix", sv[0], sv[1]);
}

/* ---- AF_INET ---- */

static struct sockaddr_in lo(unsigned short port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/* A listening TCP socket on 127.0.0.1 at an ephemeral port (returned in *port). */
static int tcp_listener(unsigned short *port, int backlog)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = lo(0);
	socklen_t al = sizeof(a);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, backlog) ||
	    getsockname(l, (struct sockaddr *)&a, &al)) {
		say("FAIL tcp listener (%s)\n", errname(errno));
		fails++;
		return -1;
	}
	*port = ntohs(a.sin_port);
	return l;
}

static void case_tcp_basic(void)
{
	unsigned short port;
	char buf[64];
	int sp[2] = { -1, -1 };
	T(socketpair(AF_INET, SOCK_STREAM, 0, sp));
	int s0 = socket(AF_INET, SOCK_STREAM, 0);
	showpoll("tcp fresh", s0);
	T(recv(s0, buf, 1, MSG_DONTWAIT));
	T(send(s0, "x", 1, MSG_NOSIGNAL));
	struct sockaddr_in gn;
	socklen_t gl = sizeof(gn);
	T(getpeername(s0, (struct sockaddr *)&gn, &gl));
	T(shutdown(s0, SHUT_WR));
	T(accept(s0, NULL, NULL));
	struct sockaddr_in bad = lo(0);
	T(bind(s0, (struct sockaddr *)&bad, sizeof(bad) - 1));
	bad.sin_family = AF_INET6;
	T(bind(s0, (struct sockaddr *)&bad, sizeof(bad)));
	T(connect(s0, (struct sockaddr *)&bad, sizeof(bad)));
	T(close(s0));

	int l = tcp_listener(&port, 8);
	int v = 0;
	socklen_t vl = sizeof(v);
	T(getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl));
	say("SO_ACCEPTCONN %d\n", v);
	showpoll("tcp listener", l);
	/* EADDRINUSE: the same port again, even with SO_REUSEADDR while it listens. */
	int l2 = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = lo(port);
	T(bind(l2, (struct sockaddr *)&a, sizeof(a)));
	v = 1;
	T(setsockopt(l2, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v)));
	T(bind(l2, (struct sockaddr *)&a, sizeof(a)));
	T(close(l2));

	int c = socket(AF_INET, SOCK_STREAM, 0);
	T(connect(c, (struct sockaddr *)&a, sizeof(a)));
	T(connect(c, (struct sockaddr *)&a, sizeof(a)));
	struct pollfd p = { .fd = l, .events = POLLIN };
	T(poll(&p, 1, 5000));
	showpoll("tcp listener pending", l);
	struct sockaddr_in pa;
	socklen_t pl = sizeof(pa);
	int s = accept(l, (struct sockaddr *)&pa, &pl);
	check(s >= 0, "accept");
	struct sockaddr_in cn;
	socklen_t cl = sizeof(cn);
	T(getsockname(c, (struct sockaddr *)&cn, &cl));
	say("accept peer is the client: %d len %u\n", pa.sin_port == cn.sin_port && pa.sin_addr.s_addr == cn.sin_addr.s_addr, pl);
	pl = sizeof(pa);
	T(getpeername(c, (struct sockaddr *)&pa, &pl));
	say("client peer is the listener: %d len %u\n", ntohs(pa.sin_port) == port && pa.sin_addr.s_addr == htonl(INADDR_LOOPBACK), pl);
	showpoll("tcp connected", c);
	v = 1;
	T(setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v)));
	v = 0;
	T(getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, &vl));
	say("TCP_NODELAY %d\n", v);
	v = 1;
	T(setsockopt(c, IPPROTO_TCP, TCP_CORK, &v, sizeof(v)));
	v = 0;
	T(getsockopt(c, IPPROTO_TCP, TCP_CORK, &v, &vl));
	say("TCP_CORK %d\n", v);
	v = 0;
	T(setsockopt(c, IPPROTO_TCP, TCP_CORK, &v, sizeof(v)));
	v = 30;
	T(setsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof(v)));
	T(getsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &v, &vl));
	say("TCP_KEEPIDLE %d\n", v);
	v = 0;
	T(setsockopt(c, IPPROTO_TCP, TCP_KEEPINTVL, &v, sizeof(v)));
	T(getsockopt(c, IPPROTO_TCP, 9999, &v, &vl));
	T(getsockopt(c, SOL_SOCKET, SO_TYPE, &v, &vl));
	say("SO_TYPE %d\n", v);

	T(write(c, "ping", 4));
	p = (struct pollfd){ .fd = s, .events = POLLIN };
	T(poll(&p, 1, 5000));
	int n = -1;
	T(ioctl(s, FIONREAD, &n));
	say("FIONREAD %d\n", n);
	T(recv(s, buf, 2, MSG_PEEK));
	T(recv(s, buf, sizeof(buf), 0));
	say("got %.4s\n", buf);
	T(recv(s, buf, sizeof(buf), MSG_DONTWAIT));
	T(write(s, "pong!", 5));
	T(recv(c, buf, 5, MSG_WAITALL));
	/* Half close: the server reads EOF and RDHUP, still writes. */
	T(shutdown(c, SHUT_WR));
	p = (struct pollfd){ .fd = s, .events = POLLRDHUP };
	T(poll(&p, 1, 5000));
	showpoll("tcp peer SHUT_WR", s);
	T(read(s, buf, sizeof(buf)));
	T(write(c, "x", 1));
	T(write(s, "after", 5));
	T(recv(c, buf, 5, MSG_WAITALL));
	T(close(s));
	p = (struct pollfd){ .fd = c, .events = POLLIN };
	T(poll(&p, 1, 5000));
	showpoll("tcp both closed", c);
	T(read(c, buf, sizeof(buf)));
	T(close(c));
	T(close(l));

	/* ECONNREFUSED: the port nobody listens on any more (a RST to our SYN). */
	c = socket(AF_INET, SOCK_STREAM, 0);
	T(connect(c, (struct sockaddr *)&a, sizeof(a)));
	vl = sizeof(v);
	T(getsockopt(c, SOL_SOCKET, SO_ERROR, &v, &vl));
	say("SO_ERROR %d\n", v);
	T(close(c));
	/* Non-blocking: EINPROGRESS, then POLLOUT|ERR|HUP and SO_ERROR ECONNREFUSED. */
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	T(connect(c, (struct sockaddr *)&a, sizeof(a)));
	p = (struct pollfd){ .fd = c, .events = POLLOUT };
	T(poll(&p, 1, 5000));
	say("refused revents %s\n", pollname(p.revents));
	vl = sizeof(v);
	T(getsockopt(c, SOL_SOCKET, SO_ERROR, &v, &vl));
	say("SO_ERROR %s\n", v ? errname(v) : "0");
	T(close(c));
}

static void case_tcp_nonblock(void)
{
	unsigned short port;
	char buf[16];
	int l = tcp_listener(&port, 4);
	struct sockaddr_in a = lo(port);
	fcntl(l, F_SETFL, O_NONBLOCK);
	T(accept(l, NULL, NULL));
	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	long rc = connect(c, (struct sockaddr *)&a, sizeof(a));
	say("nonblocking connect: %s\n", rc == 0 ? "0" : errname(errno));
	struct pollfd p = { .fd = c, .events = POLLOUT };
	T(poll(&p, 1, 5000));
	say("connected revents %s\n", pollname(p.revents));
	int v = -1;
	socklen_t vl = sizeof(v);
	T(getsockopt(c, SOL_SOCKET, SO_ERROR, &v, &vl));
	say("SO_ERROR %d\n", v);
	T(connect(c, (struct sockaddr *)&a, sizeof(a)));
	p = (struct pollfd){ .fd = l, .events = POLLIN };
	T(poll(&p, 1, 5000));
	int s = accept4(l, NULL, NULL, SOCK_NONBLOCK);
	check(s >= 0, "accept4");
	T(fcntl(s, F_GETFL) & O_NONBLOCK);
	T(read(s, buf, sizeof(buf)));
	/* Fill until EAGAIN: the peer reads nothing, so flow control must stop us. */
	static char big[65536];
	long total = 0, w;
	for (int i = 0; i < 1000 && (w = write(c, big, sizeof(big))) > 0; i++)
		total += w;
	say("filled: %d (%s)\n", total > 0 && total < 64l << 20, errname(errno));
	showpoll("tcp full writer", c);
	/* Drain on the other side, then the writer is writable again. */
	long got = 0, r;
	for (int i = 0; i < 100000 && got < total; i++) {
		p = (struct pollfd){ .fd = s, .events = POLLIN };
		poll(&p, 1, 1000);
		while ((r = read(s, big, sizeof(big))) > 0)
			got += r;
	}
	say("drained: %d\n", got == total);
	p = (struct pollfd){ .fd = c, .events = POLLOUT };
	T(poll(&p, 1, 5000));
	/* Reset: close with unread data sends RST; the peer sees ECONNRESET and EPIPE. */
	T(write(s, "unread", 6));
	p = (struct pollfd){ .fd = c, .events = POLLIN };
	T(poll(&p, 1, 5000));
	T(close(c));
	for (int i = 0; i < 500; i++) {
		p = (struct pollfd){ .fd = s, .events = POLLIN };
		poll(&p, 1, 10);
		if (p.revents & POLLERR)
			break;
	}
	showpoll("tcp reset", s);
	T(read(s, buf, sizeof(buf)));
	T(read(s, buf, sizeof(buf)));
	T(send(s, "x", 1, MSG_NOSIGNAL));
	T(close(s));
	T(close(l));
}

static void case_tcp_echo(void)
{
	unsigned short port;
	int l = tcp_listener(&port, 4);
	struct sockaddr_in a = lo(port);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	T(connect(c, (struct sockaddr *)&a, sizeof(a)));
	int s = accept(l, NULL, NULL);
	check(s >= 0, "accept");
	close(l);
	echo_1mib("tcp", c, s);
}

static void case_tcp_sendfile(void)
{
	unsigned short port;
	int l = tcp_listener(&port, 4);
	struct sockaddr_in a = lo(port);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	T(connect(c, (struct sockaddr *)&a, sizeof(a)));
	int s = accept(l, NULL, NULL);
	close(l);
	int fd = open("sf.dat", O_CREAT | O_RDWR | O_TRUNC, 0600);
	static char data[200000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i % 251);
	T(write(fd, data, sizeof(data)));
	off_t off = 1000;
	T(sendfile(c, fd, &off, 100000));
	say("offset now %ld\n", (long)off);
	T(lseek(fd, 0, SEEK_CUR));
	T(lseek(fd, 0, SEEK_SET));
	T(sendfile(c, fd, NULL, 300000));
	T(lseek(fd, 0, SEEK_CUR));
	shutdown(c, SHUT_WR);
	static char in[400000];
	long got = 0, n;
	while ((n = read(s, in + got, sizeof(in) - got)) > 0)
		got += n;
	say("sendfile got %ld exact %d\n", got,
	    got == 300000 && !memcmp(in, data + 1000, 100000) && !memcmp(in + 100000, data, 200000));
	close(fd);
	unlink("sf.dat");
	close(c);
	close(s);
}

/* epoll over sockets: the listener, data, the peer's half close, a reset; edge-triggered readiness. */
static const char *evname(unsigned e)
{
	return pollname((int)(e & (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDHUP | EPOLLPRI)));
}

static void epoll_show(const char *what, int ep)
{
	struct epoll_event ev[4];
	int n = epoll_wait(ep, ev, 4, 2000);
	if (n < 0) {
		say("epoll %s: -1 %s\n", what, errname(errno));
		return;
	}
	say("epoll %s: %d", what, n);
	for (int i = 0; i < n; i++)
		say(" [%u %s]", ev[i].data.u32, evname(ev[i].events));
	say("\n");
}

static void case_tcp_epoll(void)
{
	unsigned short port;
	char buf[16];
	int l = tcp_listener(&port, 4);
	struct sockaddr_in a = lo(port);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event e = { .events = EPOLLIN, .data.u32 = 1 };
	T(epoll_ctl(ep, EPOLL_CTL_ADD, l, &e));
	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	long rc = connect(c, (struct sockaddr *)&a, sizeof(a));
	say("connect: %s\n", rc == 0 ? "0" : errname(errno));
	e = (struct epoll_event){ .events = EPOLLOUT | EPOLLET, .data.u32 = 2 };
	T(epoll_ctl(ep, EPOLL_CTL_ADD, c, &e));
	epoll_show("listener+connect", ep);
	int s = accept(l, NULL, NULL);
	T(epoll_ctl(ep, EPOLL_CTL_DEL, l, NULL));
	e = (struct epoll_event){ .events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.u32 = 3 };
	T(epoll_ctl(ep, EPOLL_CTL_ADD, s, &e));
	T(epoll_wait(ep, &e, 1, 0));
	T(write(c, "abc", 3));
	epoll_show("data", ep);
	T(epoll_wait(ep, &e, 1, 0));
	T(read(s, buf, 1)); /* a partial read: edge-triggered, no new event */
	T(epoll_wait(ep, &e, 1, 0));
	T(read(s, buf, sizeof(buf)));
	T(shutdown(c, SHUT_WR));
	epoll_show("half close", ep);
	T(read(s, buf, sizeof(buf)));
	T(write(s, "x", 1));
	T(close(c));
	epoll_show("reset", ep);
	T(close(s));
	T(close(ep));
	T(close(l));
}

static void case_udp(void)
{
	char buf[64];
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = lo(0);
	T(bind(u, (struct sockaddr *)&a, sizeof(a)));
	socklen_t al = sizeof(a);
	T(getsockname(u, (struct sockaddr *)&a, &al));
	showpoll("udp idle", u);
	int v = sizeof(buf);
	socklen_t vl = sizeof(v);
	T(getsockopt(u, SOL_SOCKET, SO_TYPE, &v, &vl));
	say("SO_TYPE %d\n", v);
	int c = socket(AF_INET, SOCK_DGRAM, 0);
	T(send(c, "x", 1, 0));
	T(sendto(c, "d1", 2, 0, (struct sockaddr *)&a, sizeof(a)));
	T(sendto(c, "d22", 3, 0, (struct sockaddr *)&a, sizeof(a)));
	T(sendto(c, "", 0, 0, (struct sockaddr *)&a, sizeof(a)));
	struct pollfd p = { .fd = u, .events = POLLIN };
	T(poll(&p, 1, 5000));
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	T(recvfrom(u, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl));
	struct sockaddr_in cn;
	socklen_t cl = sizeof(cn);
	T(getsockname(c, (struct sockaddr *)&cn, &cl));
	say("from the sender: %d len %u\n", from.sin_port == cn.sin_port && from.sin_addr.s_addr == htonl(INADDR_LOOPBACK), fl);
	int n = -1;
	T(ioctl(u, FIONREAD, &n));
	say("FIONREAD %d\n", n);
	T(recv(u, buf, 1, MSG_TRUNC));
	p = (struct pollfd){ .fd = u, .events = POLLIN };
	T(poll(&p, 1, 5000));
	T(recv(u, buf, sizeof(buf), 0));
	T(recv(u, buf, sizeof(buf), MSG_DONTWAIT));
	T(connect(c, (struct sockaddr *)&a, sizeof(a)));
	T(send(c, "conn", 4, 0));
	p = (struct pollfd){ .fd = u, .events = POLLIN };
	T(poll(&p, 1, 5000));
	T(recv(u, buf, sizeof(buf), 0));
	struct sockaddr_in pa;
	socklen_t pl = sizeof(pa);
	T(getpeername(c, (struct sockaddr *)&pa, &pl));
	T(getpeername(u, (struct sockaddr *)&pa, &pl));
	struct sockaddr_in un = { .sin_family = AF_UNSPEC };
	T(connect(c, (struct sockaddr *)&un, sizeof(un)));
	T(send(c, "x", 1, 0));
	T(close(c));
	T(close(u));
}

/* ---- msg: datagram vectors and MSG_TRUNC, SO_PEERCRED, SCM_RIGHTS, SO_LINGER ---- */

/* A datagram pair: UDP on 127.0.0.1 (connected both ways) or an AF_UNIX socketpair. */
static void dgram_pair(bool udp, int sv[2])
{
	if (!udp) {
		T(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
		return;
	}
	struct sockaddr_in a = lo(0), b = lo(0);
	socklen_t l = sizeof(a);
	sv[0] = socket(AF_INET, SOCK_DGRAM, 0);
	sv[1] = socket(AF_INET, SOCK_DGRAM, 0);
	check(!bind(sv[0], (struct sockaddr *)&a, sizeof(a)) && !getsockname(sv[0], (struct sockaddr *)&a, &l), "udp bind 0");
	l = sizeof(b);
	check(!bind(sv[1], (struct sockaddr *)&b, sizeof(b)) && !getsockname(sv[1], (struct sockaddr *)&b, &l), "udp bind 1");
	check(!connect(sv[0], (struct sockaddr *)&b, sizeof(b)) && !connect(sv[1], (struct sockaddr *)&a, sizeof(a)), "udp connect");
}

/* Waits (5 s at most) until fd is readable. */
static void wait_in(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	check(poll(&p, 1, 5000) == 1, "readable");
}

static void case_dgram_vectors(bool udp)
{
	int sv[2];
	dgram_pair(udp, sv);
	struct iovec out[3] = { { "ab", 2 }, { "cde", 3 }, { "fghij", 5 } };
	struct msghdr m = { .msg_iov = out, .msg_iovlen = 3 };
	T(sendmsg(sv[0], &m, 0));
	char b1[2], b2[4], b3[10];
	memset(b3, 0, sizeof(b3));
	struct iovec in[3] = { { b1, 2 }, { b2, 4 }, { b3, sizeof(b3) } };
	struct msghdr r = { .msg_iov = in, .msg_iovlen = 3 };
	wait_in(sv[1]);
	T(recvmsg(sv[1], &r, 0));
	say("iov: %.2s|%.4s|%s flags %#x\n", b1, b2, b3, r.msg_flags);
	/* readv across two elements; then a short vector: the rest of the datagram is dropped, MSG_TRUNC says so. */
	T(send(sv[0], "0123456789", 10, 0));
	char c1[3] = {0}, c2[20] = {0};
	struct iovec rv[2] = { { c1, 3 }, { c2, sizeof(c2) } };
	wait_in(sv[1]);
	T(readv(sv[1], rv, 2));
	say("readv: %.3s|%s\n", c1, c2);
	T(send(sv[0], "0123456789", 10, 0));
	memset(c2, 0, sizeof(c2));
	struct iovec sh[2] = { { c1, 3 }, { c2, 4 } };
	r = (struct msghdr){ .msg_iov = sh, .msg_iovlen = 2 };
	wait_in(sv[1]);
	T(recvmsg(sv[1], &r, 0));
	say("short: %.3s|%s flags %s\n", c1, c2, r.msg_flags & MSG_TRUNC ? "TRUNC" : "-");
	T(recv(sv[1], c2, 4, MSG_DONTWAIT)); /* the rest went with it */
	/* MSG_TRUNC as an input flag: the datagram's real length; with MSG_PEEK it stays queued. */
	T(send(sv[0], "0123456789ABC", 13, 0));
	wait_in(sv[1]);
	T(recv(sv[1], c2, 4, MSG_TRUNC | MSG_PEEK));
	T(recvfrom(sv[1], c2, 4, MSG_TRUNC, NULL, NULL));
	T(recv(sv[1], c2, 4, MSG_DONTWAIT));
	/* Zero-length element arrays and empty elements in the middle. */
	T(send(sv[0], "xyz", 3, 0));
	struct iovec ev[3] = { { c1, 0 }, { NULL, 0 }, { c2, 8 } };
	memset(c2, 0, sizeof(c2));
	r = (struct msghdr){ .msg_iov = ev, .msg_iovlen = 3 };
	wait_in(sv[1]);
	T(recvmsg(sv[1], &r, 0));
	say("empty elements: %s flags %#x\n", c2, r.msg_flags);
	close(sv[0]);
	close(sv[1]);
}

/* readv on a stream returns what is there, without waiting to fill every element. */
static void case_stream_readv(void)
{
	int sp[2];
	T(socketpair(AF_UNIX, SOCK_STREAM, 0, sp));
	T(write(sp[0], "0123456789", 10));
	char a[10] = {0}, b[10] = {0};
	struct iovec v[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	T(readv(sp[1], v, 2));
	say("readv: %.10s|%s\n", a, b);
	struct iovec w[3] = { { "ab", 2 }, { "", 0 }, { "cd", 2 } };
	T(writev(sp[0], w, 3));
	memset(a, 0, sizeof(a));
	T(readv(sp[1], v, 2));
	say("writev+readv: %s\n", a);
	close(sp[0]);
	close(sp[1]);
}

static void show_cred(const char *what, int fd)
{
	struct ucred c = { 77, 77, 77 };
	socklen_t l = sizeof(c);
	if (show(what, getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c, &l)) < 0)
		return;
	if (c.pid == 0)
		say("  len %u pid 0 uid %d gid %d\n", l, (int)c.uid, (int)c.gid);
	else
		say("  len %u pid %s uid %s gid %s\n", l, c.pid == getpid() ? "self" : "other",
		    c.uid == getuid() ? "self" : "other", c.gid == getgid() ? "self" : "other");
}

static void case_peercred(void)
{
	int sp[2];
	T(socketpair(AF_UNIX, SOCK_STREAM, 0, sp));
	show_cred("pair stream 0", sp[0]);
	show_cred("pair stream 1", sp[1]);
	close(sp[0]);
	close(sp[1]);
	T(socketpair(AF_UNIX, SOCK_DGRAM, 0, sp));
	show_cred("pair dgram", sp[0]);
	close(sp[0]);
	close(sp[1]);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	show_cred("unconnected", l);
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	strcpy(un.sun_path, "cred.sock");
	T(bind(l, (struct sockaddr *)&un, sizeof(un)));
	T(listen(l, 4));
	show_cred("listener", l);
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	T(connect(c, (struct sockaddr *)&un, sizeof(un)));
	show_cred("connector", c);
	int a = accept(l, NULL, NULL);
	check(a >= 0, "accept");
	show_cred("accepted", a);
	struct ucred cr;
	socklen_t cl = 4;
	T(getsockopt(a, SOL_SOCKET, SO_PEERCRED, &cr, &cl));
	say("  short len %u\n", cl);
	T(setsockopt(a, SOL_SOCKET, SO_PEERCRED, &cr, sizeof(cr)));
	close(a);
	close(c);
	close(l);
	unlink("cred.sock");
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	show_cred("udp", u);
	close(u);
}

/* Sends data with n fds in SCM_RIGHTS; the sendmsg result. */
static long send_fds(int s, const char *data, size_t len, const int *fds, int n)
{
	union { char buf[CMSG_SPACE(8 * sizeof(int))]; struct cmsghdr align; } u;
	memset(&u, 0, sizeof(u));
	struct iovec v = { (void *)data, len };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = CMSG_SPACE(n * sizeof(int)) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	return sendmsg(s, &m, 0);
}

/*
 * recvmsg with room for `room` bytes of control data: prints the data, the flags and each fd
 * received (whether it is the same file as want[i], its FD_CLOEXEC), then closes them.
 */
static void recv_fds(const char *what, int s, size_t room, int flags, const int *want, int nwant)
{
	union { char buf[CMSG_SPACE(8 * sizeof(int))]; struct cmsghdr align; } u;
	char data[16] = {0};
	struct iovec v = { data, sizeof(data) - 1 };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = room ? u.buf : NULL, .msg_controllen = room };
	memset(&u, 0xee, sizeof(u));
	if (show(what, recvmsg(s, &m, flags)) < 0)
		return;
	say("  data \"%s\" flags%s%s controllen %zu\n", data, m.msg_flags & MSG_CTRUNC ? " CTRUNC" : "",
	    m.msg_flags & MSG_TRUNC ? " TRUNC" : "", (size_t)m.msg_controllen);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		say("  cmsg level %d type %d len %zu fds %d\n", c->cmsg_level, c->cmsg_type, (size_t)c->cmsg_len, n);
		for (int i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			struct stat a, b;
			int same = i < nwant && !fstat(fd, &a) && !fstat(want[i], &b) && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
			say("  fd %d: %s cloexec %d\n", i, same ? "same file" : "other", (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
			close(fd);
		}
	}
}

static void case_scm_rights(void)
{
	int pp[2], sp[2];
	check(!pipe(pp), "pipe");
	T(socketpair(AF_UNIX, SOCK_STREAM, 0, sp));
	T(send_fds(sp[0], "x", 1, pp, 1));
	recv_fds("stream one fd", sp[1], CMSG_SPACE(sizeof(int)), 0, pp, 1);
	T(send_fds(sp[0], "yz", 2, pp, 2));
	recv_fds("stream two fds, cloexec", sp[1], CMSG_SPACE(2 * sizeof(int)), MSG_CMSG_CLOEXEC, pp, 2);
	/* The fd travels: what is written through the received copy comes out of the pipe. */
	int pw[1] = { pp[1] };
	T(send_fds(sp[0], "w", 1, pw, 1));
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
	char d;
	struct iovec v = { &d, 1 };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	T(recvmsg(sp[1], &m, 0));
	int got = -1;
	if (CMSG_FIRSTHDR(&m))
		memcpy(&got, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof(got));
	T(write(got, "via", 3));
	close(got);
	char pb[8] = {0};
	T(read(pp[0], pb, sizeof(pb) - 1));
	say("pipe got \"%s\"\n", pb);
	/* Too little room: MSG_CTRUNC and only the fds that fit; no room at all: none. */
	T(send_fds(sp[0], "t", 1, pp, 2));
	recv_fds("room for one", sp[1], CMSG_LEN(sizeof(int)), 0, pp, 2);
	T(send_fds(sp[0], "u", 1, pp, 2));
	recv_fds("no control", sp[1], 0, 0, pp, 2);
	T(send_fds(sp[0], "v", 1, pp, 1));
	recv_fds("header only", sp[1], sizeof(struct cmsghdr), 0, pp, 1);
	/* A stream read stops after the data that carried fds. */
	T(send(sp[0], "ab", 2, 0));
	T(send_fds(sp[0], "cd", 2, pp, 1));
	T(send(sp[0], "ef", 2, 0));
	recv_fds("stream ab+cd", sp[1], CMSG_SPACE(sizeof(int)), 0, pp, 1);
	recv_fds("stream ef", sp[1], CMSG_SPACE(sizeof(int)), 0, pp, 1);
	/* read(2) of data with fds drops them. */
	T(send_fds(sp[0], "r", 1, pp, 1));
	T(read(sp[1], &d, 1));
	/* Errors: a bad fd, a bad cmsg_len, an unknown type. */
	int bad[1] = { 999 };
	T(send_fds(sp[0], "e", 1, bad, 1));
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } e;
	memset(&e, 0, sizeof(e));
	m = (struct msghdr){ .msg_iov = &v, .msg_iovlen = 1, .msg_control = e.buf, .msg_controllen = sizeof(e.buf) };
	e.align.cmsg_level = SOL_SOCKET;
	e.align.cmsg_type = SCM_RIGHTS;
	e.align.cmsg_len = sizeof(e.buf) + 8;
	T(sendmsg(sp[0], &m, 0));
	e.align.cmsg_len = CMSG_LEN(sizeof(int));
	e.align.cmsg_type = 77;
	T(sendmsg(sp[0], &m, 0));
	T(recv(sp[1], &d, 1, MSG_DONTWAIT));
	close(sp[0]);
	close(sp[1]);
	/* Datagrams carry fds too. */
	T(socketpair(AF_UNIX, SOCK_DGRAM, 0, sp));
	T(send_fds(sp[0], "dg", 2, pp, 2));
	recv_fds("dgram two fds", sp[1], CMSG_SPACE(2 * sizeof(int)), 0, pp, 2);
	T(send_fds(sp[0], "d1", 2, pp, 1));
	T(send_fds(sp[0], "d2", 2, pp + 1, 1));
	recv_fds("dgram first", sp[1], CMSG_SPACE(sizeof(int)), 0, pp, 1);
	recv_fds("dgram second", sp[1], CMSG_SPACE(sizeof(int)), 0, pp + 1, 1);
	close(sp[0]);
	close(sp[1]);
	/* AF_INET ignores SCM_RIGHTS; another SOL_SOCKET type or a bad length is EINVAL. */
	int u4 = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = lo(9);
	T(connect(u4, (struct sockaddr *)&a, sizeof(a)));
	T(send_fds(u4, "i", 1, pp, 1));
	m = (struct msghdr){ .msg_iov = &v, .msg_iovlen = 1, .msg_control = e.buf, .msg_controllen = sizeof(e.buf) };
	T(sendmsg(u4, &m, 0));
	e.align.cmsg_type = SCM_RIGHTS;
	e.align.cmsg_len = sizeof(e.buf) + 8;
	T(sendmsg(u4, &m, 0));
	close(u4);
	close(pp[0]);
	close(pp[1]);
}

/* The far end of the linger test: reads everything after a pause, counting under a lock. */
struct linger_reader {
	int fd;
	pthread_mutex_t mu;
	long got;
};

static void *linger_read(void *arg)
{
	struct linger_reader *r = arg;
	static char buf[65536];
	struct timespec pause = { 0, 100 * 1000 * 1000 };
	nanosleep(&pause, NULL); /* long enough that the writer's close finds its data unacknowledged */
	for (;;) {
		pthread_mutex_lock(&r->mu);
		ssize_t n = read(r->fd, buf, sizeof(buf));
		if (n > 0)
			r->got += n;
		pthread_mutex_unlock(&r->mu);
		if (n <= 0)
			return NULL;
	}
}

/*
 * SO_LINGER: a lingering close returns once the peer has acknowledged all the data (what the
 * peer read plus what it holds is everything written); l_linger 0 resets.
 */
static void case_linger(void)
{
	unsigned short port;
	int l = tcp_listener(&port, 4);
	struct sockaddr_in a = lo(port);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	int small = 16384; /* Linux's buffers would take the whole megabyte otherwise */
	setsockopt(l, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	T(connect(c, (struct sockaddr *)&a, sizeof(a)));
	struct linger_reader r = { .fd = accept(l, NULL, NULL), .mu = PTHREAD_MUTEX_INITIALIZER };
	check(r.fd >= 0, "accept");
	pthread_t th;
	check(!pthread_create(&th, NULL, linger_read, &r), "reader thread");
	/* More than either side takes: ukvm's lwIP has a fixed 1 MiB window (lwipopts.h) and a 256 KiB send buffer. */
	static char big[4 << 20];
	memset(big, 'L', sizeof(big));
	struct linger lg = { 1, 30 };
	T(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	/* As much as the connection takes before the reader reads: the peer's window full, our buffer full. */
	fcntl(c, F_SETFL, O_NONBLOCK);
	long put = 0;
	for (ssize_t n; put < (long)sizeof(big) && (n = write(c, big + put, sizeof(big) - put)) > 0;)
		put += n;
	fcntl(c, F_SETFL, 0);
	say("a full pipe: %d\n", put > 0 && put < (long)sizeof(big));
	T(close(c));
	pthread_mutex_lock(&r.mu);
	int held = -1;
	ioctl(r.fd, FIONREAD, &held);
	say("at close's return the peer has all of it: %d\n", r.got + held == put);
	pthread_mutex_unlock(&r.mu);
	pthread_join(th, NULL);
	say("the peer read all: %d\n", r.got == put);
	close(r.fd);
	/* l_linger 0: close sends RST; the peer's read says ECONNRESET. */
	c = socket(AF_INET, SOCK_STREAM, 0);
	T(connect(c, (struct sockaddr *)&a, sizeof(a)));
	int s = accept(l, NULL, NULL);
	check(s >= 0, "accept");
	lg = (struct linger){ 1, 0 };
	T(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	T(close(c));
	wait_in(s);
	T(read(s, big, sizeof(big)));
	close(s);
	close(l);
}

/* ---- more: FIONBIO, SIGPIPE on TCP, MSG_WAITALL across writes, keepalive options, SO_REUSEPORT ---- */

/* A connected TCP pair over 127.0.0.1: *c the client, *s the accepted end. */
static void tcp_pair(int *c, int *s)
{
	unsigned short port;
	int l = tcp_listener(&port, 4);
	struct sockaddr_in a = lo(port);
	*c = socket(AF_INET, SOCK_STREAM, 0);
	check(connect(*c, (struct sockaddr *)&a, sizeof(a)) == 0, "connect");
	*s = accept(l, NULL, NULL);
	check(*s >= 0, "accept");
	close(l);
}

struct writes {
	int fd;
	int n;        /* pieces */
	size_t len;   /* bytes each */
	bool close_after;
};

/* Writes n pieces of len bytes ('a' + i), yielding between them so that each is its own segment. */
static void *pieces_thread(void *arg)
{
	struct writes *w = arg;
	char buf[256];
	for (int i = 0; i < w->n; i++) {
		memset(buf, 'a' + i, w->len);
		if (write(w->fd, buf, w->len) != (long)w->len)
			break;
		usleep(20000);
	}
	if (w->close_after)
		shutdown(w->fd, SHUT_WR);
	return NULL;
}

/* ioctl(FIONBIO) on a socket: EAGAIN while set, blocking again once cleared (a thread's late write ends the read). */
static void case_fionbio(void)
{
	int c, s;
	char buf[16];
	tcp_pair(&c, &s);
	int on = 1, off = 0;
	T(ioctl(s, FIONBIO, &on));
	say("O_NONBLOCK after FIONBIO 1: %d\n", !!(fcntl(s, F_GETFL) & O_NONBLOCK));
	T(read(s, buf, sizeof(buf)));
	T(recv(s, buf, sizeof(buf), 0));
	T(ioctl(s, FIONBIO, &off));
	say("O_NONBLOCK after FIONBIO 0: %d\n", !!(fcntl(s, F_GETFL) & O_NONBLOCK));
	struct writes w = { .fd = c, .n = 1, .len = 3 };
	pthread_t th;
	pthread_create(&th, NULL, pieces_thread, &w);
	T(read(s, buf, sizeof(buf))); /* blocks until the thread wrote */
	pthread_join(th, NULL);
	T(ioctl(s, FIONBIO, (int *)8));
	close(c);
	close(s);
	/* A listener: accept says EAGAIN while FIONBIO is on. */
	unsigned short port;
	int l = tcp_listener(&port, 4);
	T(ioctl(l, FIONBIO, &on));
	T(accept(l, NULL, NULL));
	T(ioctl(l, FIONBIO, &off));
	say("listener O_NONBLOCK: %d\n", !!(fcntl(l, F_GETFL) & O_NONBLOCK));
	close(l);
	/* UDP */
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = lo(0);
	T(bind(u, (struct sockaddr *)&a, sizeof(a)));
	T(ioctl(u, FIONBIO, &on));
	T(recv(u, buf, sizeof(buf), 0));
	close(u);
}

/* Waits (5 s at most) until poll reports POLLERR on fd: the peer's reset arrived. */
static void wait_err(int fd)
{
	for (int i = 0; i < 500; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		poll(&p, 1, 10);
		if (p.revents & POLLERR)
			return;
	}
	check(0, "POLLERR");
}

/*
 * A TCP peer that closed: the first send goes (the peer answers it with a reset), the next
 * ones fail with EPIPE and raise SIGPIPE (Linux's tcp_reset in CLOSE_WAIT: EPIPE, not
 * ECONNRESET); with SIGPIPE ignored, EPIPE only.
 */
static void case_tcp_sigpipe(void)
{
	for (int ign = 0; ign < 2; ign++) {
		int c, s;
		char buf[8];
		tcp_pair(&c, &s);
		signal(SIGPIPE, ign ? SIG_IGN : on_sigpipe);
		sigpipes = 0;
		T(close(s));
		wait_in(c);
		T(read(c, buf, sizeof(buf)));
		T(send(c, "x", 1, 0));
		wait_err(c);
		showpoll("tcp reset in CLOSE_WAIT", c);
		T(send(c, "y", 1, 0));
		say("sigpipes %d\n", sigpipes);
		T(write(c, "z", 1));
		say("sigpipes %d\n", sigpipes);
		T(send(c, "w", 1, MSG_NOSIGNAL));
		say("sigpipes %d\n", sigpipes);
		T(read(c, buf, sizeof(buf)));
		close(c);
	}
	signal(SIGPIPE, SIG_IGN);
	/* Our own SHUT_WR: EPIPE and SIGPIPE at once. */
	int c, s;
	tcp_pair(&c, &s);
	signal(SIGPIPE, on_sigpipe);
	sigpipes = 0;
	T(shutdown(c, SHUT_WR));
	T(send(c, "x", 1, 0));
	say("sigpipes %d\n", sigpipes);
	signal(SIGPIPE, SIG_IGN);
	close(c);
	close(s);
}

/* MSG_WAITALL gathers what the peer wrote in several pieces; an end of file or a timeout returns what came. */
static void case_tcp_waitall(void)
{
	int c, s;
	char buf[512];
	tcp_pair(&c, &s);
	int one = 1;
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct writes w = { .fd = c, .n = 4, .len = 100 };
	pthread_t th;
	pthread_create(&th, NULL, pieces_thread, &w);
	memset(buf, 0, sizeof(buf));
	T(recv(s, buf, 400, MSG_WAITALL));
	pthread_join(th, NULL);
	bool exact = true;
	for (int i = 0; i < 400; i++)
		exact &= buf[i] == 'a' + i / 100;
	say("waitall gathered in order: %d\n", exact);
	/* Into an iovec of three pieces, through recvmsg. */
	w = (struct writes){ .fd = c, .n = 3, .len = 50 };
	pthread_create(&th, NULL, pieces_thread, &w);
	char v1[20], v2[100], v3[30];
	struct iovec iov[3] = { { v1, sizeof(v1) }, { v2, sizeof(v2) }, { v3, sizeof(v3) } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 3 };
	T(recvmsg(s, &mh, MSG_WAITALL));
	pthread_join(th, NULL);
	char flat[150];
	memcpy(flat, v1, sizeof(v1));
	memcpy(flat + 20, v2, sizeof(v2));
	memcpy(flat + 120, v3, sizeof(v3));
	exact = true;
	for (int i = 0; i < 150; i++)
		exact &= flat[i] == 'a' + i / 50;
	say("waitall iovec in order: %d\n", exact);
	/* The peer ends after 2 pieces of 100: MSG_WAITALL for 400 returns 200. */
	w = (struct writes){ .fd = c, .n = 2, .len = 100, .close_after = true };
	pthread_create(&th, NULL, pieces_thread, &w);
	T(recv(s, buf, 400, MSG_WAITALL));
	pthread_join(th, NULL);
	T(recv(s, buf, 400, MSG_WAITALL));
	close(c);
	close(s);
	/* SO_RCVTIMEO ends a MSG_WAITALL short: what came is returned. */
	tcp_pair(&c, &s);
	struct timeval tv = { 0, 200000 };
	T(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	T(write(c, "part", 4));
	T(recv(s, buf, 400, MSG_WAITALL));
	T(recv(s, buf, 400, MSG_WAITALL));
	close(c);
	close(s);
}

static void showopt(const char *what, int fd, int level, int name)
{
	int v = -1;
	socklen_t l = sizeof(v);
	if (getsockopt(fd, level, name, &v, &l))
		say("%s: -1 %s\n", what, errname(errno));
	else
		say("%s: %d (len %u)\n", what, v, l);
}

#define SETI(fd, level, name, val) show("set " #name " " #val, setsockopt(fd, level, name, &(int){ val }, sizeof(int)))

/* SO_KEEPALIVE and TCP_KEEPIDLE/INTVL/CNT: Linux's ranges, values read back, on a listener, its accepted socket and UDP. */
static void case_keepalive_opts(void)
{
	int c, s;
	tcp_pair(&c, &s);
	SETI(c, SOL_SOCKET, SO_KEEPALIVE, 1);
	showopt("SO_KEEPALIVE", c, SOL_SOCKET, SO_KEEPALIVE);
	SETI(c, SOL_SOCKET, SO_KEEPALIVE, 7);
	showopt("SO_KEEPALIVE", c, SOL_SOCKET, SO_KEEPALIVE);
	SETI(c, SOL_SOCKET, SO_KEEPALIVE, 0);
	showopt("SO_KEEPALIVE", c, SOL_SOCKET, SO_KEEPALIVE);
	SETI(c, IPPROTO_TCP, TCP_KEEPCNT, 5);
	showopt("TCP_KEEPCNT", c, IPPROTO_TCP, TCP_KEEPCNT);
	SETI(c, IPPROTO_TCP, TCP_KEEPCNT, 127);
	SETI(c, IPPROTO_TCP, TCP_KEEPCNT, 128);
	SETI(c, IPPROTO_TCP, TCP_KEEPCNT, 0);
	SETI(c, IPPROTO_TCP, TCP_KEEPCNT, -1);
	showopt("TCP_KEEPCNT", c, IPPROTO_TCP, TCP_KEEPCNT);
	SETI(c, IPPROTO_TCP, TCP_KEEPINTVL, 1);
	showopt("TCP_KEEPINTVL", c, IPPROTO_TCP, TCP_KEEPINTVL);
	SETI(c, IPPROTO_TCP, TCP_KEEPINTVL, 32767);
	showopt("TCP_KEEPINTVL", c, IPPROTO_TCP, TCP_KEEPINTVL);
	SETI(c, IPPROTO_TCP, TCP_KEEPINTVL, 32768);
	SETI(c, IPPROTO_TCP, TCP_KEEPINTVL, 0);
	SETI(c, IPPROTO_TCP, TCP_KEEPIDLE, 1);
	SETI(c, IPPROTO_TCP, TCP_KEEPIDLE, 32768);
	showopt("TCP_KEEPIDLE", c, IPPROTO_TCP, TCP_KEEPIDLE);
	T(setsockopt(c, IPPROTO_TCP, TCP_KEEPCNT, &(char){ 3 }, 1));
	/* A listener's keepalive settings pass to what it accepts. */
	unsigned short port;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	SETI(l, SOL_SOCKET, SO_KEEPALIVE, 1);
	SETI(l, IPPROTO_TCP, TCP_KEEPCNT, 4);
	SETI(l, IPPROTO_TCP, TCP_KEEPINTVL, 2);
	struct sockaddr_in a = lo(0);
	socklen_t al = sizeof(a);
	check(!bind(l, (struct sockaddr *)&a, sizeof(a)) && !listen(l, 4) && !getsockname(l, (struct sockaddr *)&a, &al),
	      "listener");
	port = ntohs(a.sin_port);
	int c2 = socket(AF_INET, SOCK_STREAM, 0);
	a = lo(port);
	T(connect(c2, (struct sockaddr *)&a, sizeof(a)));
	int s2 = accept(l, NULL, NULL);
	showopt("accepted SO_KEEPALIVE", s2, SOL_SOCKET, SO_KEEPALIVE);
	showopt("accepted TCP_KEEPCNT", s2, IPPROTO_TCP, TCP_KEEPCNT);
	showopt("accepted TCP_KEEPINTVL", s2, IPPROTO_TCP, TCP_KEEPINTVL);
	/* Keepalive on with short times on a live connection changes nothing visible. */
	SETI(c, SOL_SOCKET, SO_KEEPALIVE, 1);
	SETI(c, IPPROTO_TCP, TCP_KEEPIDLE, 1);
	T(write(s, "live", 4));
	wait_in(c);
	char buf[8];
	T(read(c, buf, sizeof(buf)));
	close(c2);
	close(s2);
	close(l);
	close(c);
	close(s);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	SETI(u, SOL_SOCKET, SO_KEEPALIVE, 1);
	showopt("udp SO_KEEPALIVE", u, SOL_SOCKET, SO_KEEPALIVE);
	T(setsockopt(u, IPPROTO_TCP, TCP_KEEPCNT, &(int){ 3 }, sizeof(int)));
	close(u);
}

/* A socket of type at 127.0.0.1:port with SO_REUSEPORT as asked, bound (its bind's result printed). */
static int rp_sock(int type, unsigned short port, int reuseport, const char *what)
{
	int fd = socket(AF_INET, type, 0);
	if (reuseport)
		check(!setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &(int){ 1 }, sizeof(int)), "SO_REUSEPORT");
	struct sockaddr_in a = lo(port);
	show(what, bind(fd, (struct sockaddr *)&a, sizeof(a)));
	return fd;
}

static unsigned short port_of(int fd)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	check(!getsockname(fd, (struct sockaddr *)&a, &l), "getsockname");
	return ntohs(a.sin_port);
}

#define RP_CONNS 12

/*
 * Accepts from the listeners until want connections came (each client sent its index byte):
 * prints how many, whether each index came exactly once, and whether each accepted socket
 * reads its client's byte. Bounded: 500 polls of 10 ms with nothing new ends it.
 */
static void rp_accept_all(const int *ls, int nl, int want, int first)
{
	int seen[RP_CONNS + 4] = { 0 }, got = 0, idle = 0, dup = 0;
	while (got < want && idle < 500) {
		struct pollfd p[4];
		for (int i = 0; i < nl; i++)
			p[i] = (struct pollfd){ .fd = ls[i], .events = POLLIN };
		if (poll(p, (nfds_t)nl, 10) <= 0) {
			idle++;
			continue;
		}
		for (int i = 0; i < nl; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			int s = accept4(ls[i], NULL, NULL, SOCK_NONBLOCK);
			if (s < 0)
				continue;
			unsigned char b = 0xff;
			struct pollfd q = { .fd = s, .events = POLLIN };
			poll(&q, 1, 5000);
			if (read(s, &b, 1) == 1 && b >= first && b < first + want) {
				dup += seen[b - first]++ > 0;
			}
			got++;
			close(s);
		}
	}
	int all = 1;
	for (int i = 0; i < want; i++)
		all &= seen[i] == 1;
	say("accepted %d of %d, each once %d, duplicates %d\n", got, want, all, dup);
}

/* An accept(2) on fd, blocked until a shutdown ends it: its result for the main thread to print. */
struct ls_accept {
	int fd;
	long rc;
};

static void *ls_accept_thread(void *p)
{
	struct ls_accept *a = p;
	int fd = accept(a->fd, NULL, NULL);
	a->rc = fd < 0 ? -errno : 0;
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* Starts an accept on fd in a thread, lets it block, shuts fd down (how) and prints what the accept got. */
static void ls_shut_blocked(int fd, int how, const char *what)
{
	struct ls_accept a = { .fd = fd };
	pthread_t t;
	pthread_create(&t, NULL, ls_accept_thread, &a);
	usleep(100000);
	show(what, shutdown(fd, how));
	pthread_join(t, NULL);
	say("blocked accept: %s\n", a.rc < 0 ? errname((int)-a.rc) : "a connection");
}

/*
 * shutdown of a listener. TCP: SHUT_WR changes nothing; SHUT_RD stops it (a blocked accept and
 * the later ones fail with EINVAL, new connections are refused, getsockname keeps the address, a
 * second shutdown is ENOTCONN) and SHUT_RDWR resets the connection it had queued. AF_UNIX: a
 * blocked accept fails with EINVAL, a non-blocking one with EAGAIN, connect is refused.
 */
static void case_listen_shutdown(void)
{
	int l = rp_sock(SOCK_STREAM, 0, 0, "tcp listener bind");
	unsigned short port = port_of(l);
	struct sockaddr_in a = lo(port);
	T(listen(l, 4));
	int c = socket(AF_INET, SOCK_STREAM, 0);
	show("connect", connect(c, (struct sockaddr *)&a, sizeof(a)));
	show("listener shutdown SHUT_WR", shutdown(l, SHUT_WR));
	int x = accept(l, NULL, NULL);
	show("accept after SHUT_WR", x < 0 ? x : 0);
	close(x);
	close(c);
	ls_shut_blocked(l, SHUT_RD, "listener shutdown SHUT_RD");
	show("accept after SHUT_RD", accept(l, NULL, NULL));
	showpoll("listener after SHUT_RD", l);
	c = socket(AF_INET, SOCK_STREAM, 0);
	show("connect after SHUT_RD", connect(c, (struct sockaddr *)&a, sizeof(a)));
	close(c);
	say("getsockname keeps the port %d\n", port_of(l) == port);
	show("listener shutdown again", shutdown(l, SHUT_RDWR));
	close(l);

	l = rp_sock(SOCK_STREAM, 0, 0, "tcp listener 2 bind");
	a = lo(port_of(l));
	T(listen(l, 4));
	c = socket(AF_INET, SOCK_STREAM, 0);
	show("connect, queued", connect(c, (struct sockaddr *)&a, sizeof(a)));
	usleep(50000);
	show("listener 2 shutdown SHUT_RDWR", shutdown(l, SHUT_RDWR));
	char b;
	show("read of the queued connection", read(c, &b, 1));
	close(c);
	close(l);

	struct sockaddr_un ua = { .sun_family = AF_UNIX };
	strcpy(ua.sun_path, "lshut.sock");
	int u = socket(AF_UNIX, SOCK_STREAM, 0);
	T(bind(u, (struct sockaddr *)&ua, sizeof(ua)));
	T(listen(u, 4));
	int uc = socket(AF_UNIX, SOCK_STREAM, 0);
	show("unix connect, queued", connect(uc, (struct sockaddr *)&ua, sizeof(ua)));
	show("unix listener shutdown SHUT_WR", shutdown(u, SHUT_WR));
	x = accept(u, NULL, NULL);
	show("unix accept after SHUT_WR", x < 0 ? x : 0);
	close(x);
	close(uc);
	ls_shut_blocked(u, SHUT_RD, "unix listener shutdown SHUT_RD");
	show("unix nonblocking accept after SHUT_RD", accept4(u, NULL, NULL, SOCK_NONBLOCK) < 0 ? -1 : 0);
	int fl = fcntl(u, F_GETFL);
	fcntl(u, F_SETFL, fl | O_NONBLOCK);
	show("unix O_NONBLOCK accept after SHUT_RD", accept(u, NULL, NULL));
	fcntl(u, F_SETFL, fl);
	uc = socket(AF_UNIX, SOCK_STREAM, 0);
	show("unix connect after SHUT_RD", connect(uc, (struct sockaddr *)&ua, sizeof(ua)));
	close(uc);
	close(u);
	unlink("lshut.sock");
	/* Shut down before it listens: the same. */
	u = socket(AF_UNIX, SOCK_STREAM, 0);
	T(bind(u, (struct sockaddr *)&ua, sizeof(ua)));
	show("unix shutdown SHUT_RD before listen", shutdown(u, SHUT_RD));
	T(listen(u, 4));
	ls_shut_blocked(u, SHUT_WR, "unix listener shutdown SHUT_WR after");
	close(u);
	unlink("lshut.sock");
}

/*
 * UDP to a port nobody holds: the ICMP port unreachable that comes back makes a connected
 * socket's next call fail with ECONNREFUSED, once (poll says ERR until then; SO_ERROR reads and
 * clears it too); an unconnected socket hears nothing of it.
 */
static void case_udp_refused(void)
{
	int h = rp_sock(SOCK_DGRAM, 0, 0, "udp bind, to find a free port");
	unsigned short port = port_of(h);
	close(h);
	struct sockaddr_in a = lo(port);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	T(connect(u, (struct sockaddr *)&a, sizeof(a)));
	char b = 'x';
	show("connected send to a closed port", send(u, &b, 1, 0));
	usleep(50000);
	showpoll("connected udp after the ICMP", u);
	show("recv", recv(u, &b, 1, MSG_DONTWAIT));
	show("recv again", recv(u, &b, 1, MSG_DONTWAIT));
	show("send again", send(u, &b, 1, 0));
	usleep(50000);
	int e = -1;
	socklen_t l = sizeof(e);
	T(getsockopt(u, SOL_SOCKET, SO_ERROR, &e, &l));
	say("SO_ERROR %s\n", e ? errname(e) : "0");
	T(getsockopt(u, SOL_SOCKET, SO_ERROR, &e, &l));
	say("SO_ERROR again %s\n", e ? errname(e) : "0");
	show("send after SO_ERROR", send(u, &b, 1, 0));
	usleep(50000);
	show("send once more", send(u, &b, 1, 0));
	close(u);
	int v = socket(AF_INET, SOCK_DGRAM, 0);
	show("unconnected sendto a closed port", sendto(v, &b, 1, 0, (struct sockaddr *)&a, sizeof(a)));
	usleep(50000);
	showpoll("unconnected udp after the ICMP", v);
	show("unconnected recv", recv(v, &b, 1, MSG_DONTWAIT));
	close(v);
	/* A datagram queued, then the error: recv reports the error first, then the datagram. */
	int w = rp_sock(SOCK_DGRAM, 0, 0, "udp peer bind");
	a = lo(port_of(w));
	u = socket(AF_INET, SOCK_DGRAM, 0);
	T(connect(u, (struct sockaddr *)&a, sizeof(a)));
	struct sockaddr_in ua;
	socklen_t ul = sizeof(ua);
	T(getsockname(u, (struct sockaddr *)&ua, &ul));
	show("peer sends to the connected socket", sendto(w, &b, 1, 0, (struct sockaddr *)&ua, sizeof(ua)));
	close(w);
	show("send to the closed peer", send(u, &b, 1, 0));
	usleep(50000);
	show("recv with a datagram queued and an error", recv(u, &b, 1, MSG_DONTWAIT));
	show("recv then", recv(u, &b, 1, MSG_DONTWAIT));
	close(u);
}

#define RP_FLOWS 32

/*
 * Reads the 1-byte datagrams base..base+want-1 from the two sockets u (10 ms polls, 5 s at most):
 * owner[i] is the socket (0 or 1) that got byte base + i, -1 if it never came. Returns the count.
 */
static int rp_udp_take(const int u[2], int base, int want, int *owner)
{
	int got = 0, idle = 0;
	for (int i = 0; i < want; i++)
		owner[i] = -1;
	while (got < want && idle < 500) {
		struct pollfd p[2] = { { .fd = u[0], .events = POLLIN }, { .fd = u[1], .events = POLLIN } };
		if (poll(p, 2, 10) <= 0) {
			idle++;
			continue;
		}
		for (int i = 0; i < 2; i++) {
			unsigned char b;
			while (recv(u[i], &b, 1, MSG_DONTWAIT) == 1) {
				got++;
				if (b >= base && b < base + want)
					owner[b - base] = i;
			}
		}
	}
	return got;
}

/*
 * SO_REUSEPORT: sockets that all set it share a port (TCP and UDP); each listens; every
 * connection is accepted by exactly one of them; one closed, the others take the rest.
 */
static void case_reuseport(void)
{
	int r1 = rp_sock(SOCK_STREAM, 0, 1, "tcp bind reuseport 1");
	unsigned short port = port_of(r1);
	int r2 = rp_sock(SOCK_STREAM, port, 1, "tcp bind reuseport 2");
	int r3 = rp_sock(SOCK_STREAM, port, 1, "tcp bind reuseport 3");
	showopt("SO_REUSEPORT", r2, SOL_SOCKET, SO_REUSEPORT);
	int x = rp_sock(SOCK_STREAM, port, 0, "tcp bind without reuseport");
	close(x);
	x = socket(AF_INET, SOCK_STREAM, 0);
	SETI(x, SOL_SOCKET, SO_REUSEADDR, 1);
	struct sockaddr_in a = lo(port);
	T(bind(x, (struct sockaddr *)&a, sizeof(a)));
	close(x);
	T(listen(r1, RP_CONNS));
	T(listen(r2, RP_CONNS));
	T(listen(r3, RP_CONNS));
	x = rp_sock(SOCK_STREAM, port, 1, "tcp bind reuseport 4 while 3 listen");
	close(x);
	int cs[RP_CONNS + 2];
	for (int i = 0; i < RP_CONNS; i++) {
		cs[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(cs[i], (struct sockaddr *)&a, sizeof(a)) || write(cs[i], &(unsigned char){ (unsigned char)i }, 1) != 1)
			say("connect %d: %s\n", i, errname(errno));
	}
	int ls[3] = { r1, r2, r3 };
	rp_accept_all(ls, 3, RP_CONNS, 0);
	for (int i = 0; i < RP_CONNS; i++)
		close(cs[i]);
	/* The closed connections on the port (still closing) belong to the group too. */
	x = rp_sock(SOCK_STREAM, port, 1, "tcp bind reuseport 5 after connections closed");
	close(x);
	x = rp_sock(SOCK_STREAM, port, 0, "tcp bind without reuseport after connections closed");
	close(x);
	/* One listener goes: the others take every new connection. */
	T(close(r1));
	for (int i = 0; i < 2; i++) {
		cs[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(cs[i], (struct sockaddr *)&a, sizeof(a)) || write(cs[i], &(unsigned char){ (unsigned char)i }, 1) != 1)
			say("connect after close %d: %s\n", i, errname(errno));
	}
	rp_accept_all(ls + 1, 2, 2, 0);
	for (int i = 0; i < 2; i++)
		close(cs[i]);
	T(close(r2));
	T(close(r3));
	/* A port held without SO_REUSEPORT stays its own. */
	int n1 = rp_sock(SOCK_STREAM, 0, 0, "tcp bind plain");
	port = port_of(n1);
	x = rp_sock(SOCK_STREAM, port, 1, "tcp bind reuseport on a plain port");
	close(x);
	close(n1);

	/* UDP: both bind; each datagram reaches exactly one of them. */
	int u1 = rp_sock(SOCK_DGRAM, 0, 1, "udp bind reuseport 1");
	port = port_of(u1);
	int u2 = rp_sock(SOCK_DGRAM, port, 1, "udp bind reuseport 2");
	x = rp_sock(SOCK_DGRAM, port, 0, "udp bind without reuseport");
	close(x);
	int c = socket(AF_INET, SOCK_DGRAM, 0);
	a = lo(port);
	for (int i = 0; i < 6; i++)
		check(sendto(c, &(unsigned char){ (unsigned char)i }, 1, 0, (struct sockaddr *)&a, sizeof(a)) == 1, "sendto");
	int seen[6] = { 0 }, got = 0, idle = 0;
	while (got < 6 && idle < 500) {
		struct pollfd p[2] = { { .fd = u1, .events = POLLIN }, { .fd = u2, .events = POLLIN } };
		if (poll(p, 2, 10) <= 0) {
			idle++;
			continue;
		}
		for (int i = 0; i < 2; i++) {
			unsigned char b;
			while (recv(p[i].fd, &b, 1, MSG_DONTWAIT) == 1) {
				if (b < 6)
					seen[b]++;
				got++;
			}
		}
	}
	int once = 1;
	for (int i = 0; i < 6; i++)
		once &= seen[i] == 1;
	say("udp datagrams %d each once %d\n", got, once);
	close(c);
	/* Many flows (source ports): spread over the group by a hash of the flow, each flow kept on its socket. */
	int us[2] = { u1, u2 }, cl[RP_FLOWS], owner[2 * RP_FLOWS], on[2] = { 0, 0 }, kept = 1;
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < RP_FLOWS; i++) {
			if (!round)
				cl[i] = socket(AF_INET, SOCK_DGRAM, 0);
			unsigned char b = (unsigned char)(round * RP_FLOWS + i);
			check(sendto(cl[i], &b, 1, 0, (struct sockaddr *)&a, sizeof(a)) == 1, "sendto flow");
		}
		got = rp_udp_take(us, round * RP_FLOWS, RP_FLOWS, owner + round * RP_FLOWS);
		say("udp flows round %d: %d datagrams\n", round, got);
	}
	for (int i = 0; i < RP_FLOWS; i++) {
		if (owner[i] >= 0)
			on[owner[i]] = 1;
		kept &= owner[i] >= 0 && owner[i] == owner[RP_FLOWS + i];
		close(cl[i]);
	}
	say("udp %d flows: spread over both sockets %d, each flow kept on its socket %d\n", RP_FLOWS, on[0] && on[1], kept);
	close(u1);
	close(u2);
}

/* ---- buffer sizes, backlogs, a listener's port (part "limits") ---- */

/* Non-blocking sends on c until EAGAIN holds for 20 tries 10 ms apart (so ACKs in flight land): the bytes taken. */
static long fill_nb(int c)
{
	static char buf[65536];
	long total = 0;
	int again = 0, fl = fcntl(c, F_GETFL);
	fcntl(c, F_SETFL, fl | O_NONBLOCK);
	while (again < 20 && total < (64l << 20)) {
		ssize_t n = send(c, buf, sizeof(buf), 0);
		if (n > 0) {
			total += n;
			again = 0;
			continue;
		}
		if (n < 0 && errno != EAGAIN) {
			check(0, "send");
			break;
		}
		again++;
		usleep(10000);
	}
	fcntl(c, F_SETFL, fl);
	return total;
}

static int inq(int fd)
{
	int n = -1;
	check(ioctl(fd, FIONREAD, &n) == 0, "FIONREAD");
	return n;
}

/* Reads what s receives until c (the sender) polls writable again, at most 5 s: whether it did. */
static int read_until_writable(int s, int c)
{
	static char buf[65536];
	for (int i = 0; i < 500; i++) {
		while (recv(s, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
		struct pollfd p = { .fd = c, .events = POLLOUT };
		if (poll(&p, 1, 10) == 1 && (p.revents & POLLOUT))
			return 1;
	}
	return 0;
}

/*
 * SO_SNDBUF and SO_RCVBUF on TCP: values as Linux reports them (doubled, floors, an accepted
 * socket inheriting the listener's), and their effect, as relations only (Linux counts its
 * buffers' overhead, lwIP does not): against a peer that does not read, non-blocking sends take
 * about the sender's SO_SNDBUF plus the peer's SO_RCVBUF, far less than with the defaults; the
 * sender polls writable again once the peer reads. Both ways: the listener's SO_RCVBUF (set before
 * listen, inherited) and a client's (set before connect); SO_SNDBUF before connect and on an
 * established socket.
 */
static void case_bufs(void)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	showopt("tcp SO_SNDBUF default", l, SOL_SOCKET, SO_SNDBUF);
	showopt("tcp SO_RCVBUF default", l, SOL_SOCKET, SO_RCVBUF);
	SETI(l, SOL_SOCKET, SO_SNDBUF, 1);
	showopt("SO_SNDBUF 1", l, SOL_SOCKET, SO_SNDBUF);
	SETI(l, SOL_SOCKET, SO_RCVBUF, 1);
	showopt("SO_RCVBUF 1", l, SOL_SOCKET, SO_RCVBUF);
	SETI(l, SOL_SOCKET, SO_RCVBUF, 4096);
	showopt("SO_RCVBUF 4096", l, SOL_SOCKET, SO_RCVBUF);
	struct sockaddr_in a = lo(0);
	socklen_t al = sizeof(a);
	check(!bind(l, (struct sockaddr *)&a, sizeof(a)) && !listen(l, 4) && !getsockname(l, (struct sockaddr *)&a, &al),
	      "listener");
	int c = socket(AF_INET, SOCK_STREAM, 0);
	SETI(c, SOL_SOCKET, SO_SNDBUF, 8192);
	T(connect(c, (struct sockaddr *)&a, sizeof(a)));
	int s = accept(l, NULL, NULL);
	showopt("accepted SO_RCVBUF", s, SOL_SOCKET, SO_RCVBUF);
	showopt("accepted SO_SNDBUF", s, SOL_SOCKET, SO_SNDBUF);
	long small = fill_nb(c);
	int held = inq(s);
	showpoll("sender, peer not reading", c);
	say("SO_SNDBUF 8192 to SO_RCVBUF 4096: sends took 8 KiB..64 KiB %d, the peer holds 1..16 KiB %d\n",
	    small >= 8192 && small <= 65536, held > 0 && held <= 16384);
	say("writable again once the peer reads %d\n", read_until_writable(s, c));
	close(c);
	close(s);

	/* The defaults take far more. */
	tcp_pair(&c, &s);
	long big = fill_nb(c);
	int big_held = inq(s);
	say("defaults: sends took 8x more %d, the peer holds 4x more %d\n", big > 8 * small, big_held > 4 * held);
	close(c);
	close(s);

	/* The other way: the client's SO_RCVBUF set before connect, the server's SO_SNDBUF on the established socket. */
	c = socket(AF_INET, SOCK_STREAM, 0);
	SETI(c, SOL_SOCKET, SO_RCVBUF, 4096);
	T(connect(c, (struct sockaddr *)&a, sizeof(a)));
	s = accept(l, NULL, NULL);
	SETI(s, SOL_SOCKET, SO_SNDBUF, 8192);
	showopt("server SO_SNDBUF", s, SOL_SOCKET, SO_SNDBUF);
	small = fill_nb(s);
	held = inq(c);
	say("server to client: sends took 8 KiB..64 KiB %d, the client holds 1..16 KiB %d\n",
	    small >= 8192 && small <= 65536, held > 0 && held <= 16384);
	say("writable again once the client reads %d\n", read_until_writable(c, s));
	close(c);
	close(s);
	close(l);
}

/*
 * Non-blocking connects to a listener that does not accept: Linux completes backlog + 1 handshakes
 * and drops the SYNs beyond (those connects stay in progress). Waits until every connect is done or
 * wait_ms passed, then accepts what is queued.
 */
static void backlog_try(int backlog, int n, int wait_ms)
{
	unsigned short port;
	int l = tcp_listener(&port, backlog);
	struct sockaddr_in a = lo(port);
	int *c = calloc((size_t)n, sizeof(int));
	struct pollfd *p = calloc((size_t)n, sizeof(*p));
	int started = 0;
	for (int i = 0; i < n; i++) {
		c[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		int rc = connect(c[i], (struct sockaddr *)&a, sizeof(a));
		started += rc == 0 || errno == EINPROGRESS;
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int connected = 0;
	do {
		usleep(10000);
		for (int i = 0; i < n; i++)
			p[i] = (struct pollfd){ .fd = c[i], .events = POLLOUT };
		poll(p, (nfds_t)n, 0);
		connected = 0;
		for (int i = 0; i < n; i++) {
			int e = -1;
			socklen_t el = sizeof(e);
			connected += (p[i].revents & POLLOUT) && !getsockopt(c[i], SOL_SOCKET, SO_ERROR, &e, &el) && !e;
		}
	} while (connected < n && ms_since(&t0) < wait_ms);
	int accepted = 0, s;
	fcntl(l, F_SETFL, O_NONBLOCK);
	while ((s = accept(l, NULL, NULL)) >= 0) {
		accepted++;
		close(s);
	}
	say("listen(%d), %d connects started %d: connected %d, accepted %d\n", backlog, n, started, connected, accepted);
	for (int i = 0; i < n; i++)
		close(c[i]);
	close(l);
	free(c);
	free(p);
}

static void case_backlog(void)
{
	backlog_try(0, 4, 300);
	backlog_try(2, 6, 300);
	backlog_try(1000, 600, 5000);
}

/*
 * shutdown(SHUT_RD) of a listener whose port Linux picked (listen without bind, bind to port 0)
 * gives the port back: getsockname still names it, another socket may bind it, and the socket
 * may bind again or listen on a new port. A port the app chose stays the socket's.
 */
static void case_listen_port(void)
{
	for (int bound = 0; bound < 2; bound++) {
		say("listener %s\n", bound ? "bound to 127.0.0.1:0" : "without bind");
		int l = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = lo(0);
		if (bound)
			T(bind(l, (struct sockaddr *)&a, sizeof(a)));
		T(listen(l, 4));
		unsigned short port = port_of(l);
		T(shutdown(l, SHUT_RD));
		say("getsockname keeps the port %d\n", port_of(l) == port);
		a = lo(port);
		int c = socket(AF_INET, SOCK_STREAM, 0);
		show("connect to it", connect(c, (struct sockaddr *)&a, sizeof(a)));
		close(c);
		int o = socket(AF_INET, SOCK_STREAM, 0);
		show("another socket binds the port", bind(o, (struct sockaddr *)&a, sizeof(a)));
		if (bound) {
			a = lo(0);
			T(bind(l, (struct sockaddr *)&a, sizeof(a)));
		}
		T(listen(l, 4));
		unsigned short again = port_of(l);
		say("listens on a new port %d\n", again != port && again != 0);
		a = lo(again);
		c = socket(AF_INET, SOCK_STREAM, 0);
		show("connect to the new port", connect(c, (struct sockaddr *)&a, sizeof(a)));
		close(c);
		close(o);
		close(l);
	}
	say("listener bound to a port it chose\n");
	int t = rp_sock(SOCK_STREAM, 0, 0, "find a free port");
	unsigned short port = port_of(t);
	close(t);
	int l = rp_sock(SOCK_STREAM, port, 0, "bind the port");
	T(listen(l, 4));
	T(shutdown(l, SHUT_RD));
	say("getsockname keeps the port %d\n", port_of(l) == port);
	int o = rp_sock(SOCK_STREAM, port, 0, "another socket binds the port");
	T(listen(l, 4));
	say("listens on the same port %d\n", port_of(l) == port);
	close(o);
	close(l);
}

/*
 * socktest keepalive IP PORT: connects, turns keepalive on with idle 1 s, interval 1 s and 2
 * probes, says "keepalive: connected", then waits in recv: when the peer vanishes (the test
 * drops its packets) the connection times out: ETIMEDOUT once, then end of file and EPIPE.
 */
static int keepalive_client(const char *ip, const char *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port)) };
	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1)
		return 2;
	int c = socket(AF_INET, SOCK_STREAM, 0);
	T(connect(c, (struct sockaddr *)&a, sizeof(a)));
	SETI(c, SOL_SOCKET, SO_KEEPALIVE, 1);
	SETI(c, IPPROTO_TCP, TCP_KEEPIDLE, 1);
	SETI(c, IPPROTO_TCP, TCP_KEEPINTVL, 1);
	SETI(c, IPPROTO_TCP, TCP_KEEPCNT, 2);
	char b[8];
	T(recv(c, b, sizeof(b), 0)); /* the peer's hello: the connection works */
	say("keepalive: connected\n");
	T(recv(c, b, sizeof(b), 0));
	showopt("SO_ERROR", c, SOL_SOCKET, SO_ERROR);
	T(recv(c, b, sizeof(b), 0));
	T(send(c, "x", 1, MSG_NOSIGNAL));
	T(close(c));
	return 0;
}

/* socktest etc NAME...: /etc/hosts and /etc/resolv.conf as the app sees them, then each NAME through getaddrinfo. */
static int etc_names(int n, char **names)
{
	static const char *const files[] = { "/etc/hosts", "/etc/resolv.conf" };
	for (int i = 0; i < 2; i++) {
		FILE *f = fopen(files[i], "r");
		say("%s:%s\n", files[i], f ? "" : " none");
		char line[256];
		while (f && fgets(line, sizeof(line), f))
			say("%s%s", line, strchr(line, '\n') ? "" : "\n");
		if (f)
			fclose(f);
	}
	for (int i = 0; i < n; i++) {
		struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res = NULL;
		int rc = getaddrinfo(names[i], "80", &hints, &res);
		say("getaddrinfo %s:", names[i]);
		if (rc)
			say(" %s", rc == EAI_NONAME ? "EAI_NONAME" : rc == EAI_AGAIN ? "EAI_AGAIN" : gai_strerror(rc));
		for (struct addrinfo *a = res; a; a = a->ai_next) {
			char ip[INET_ADDRSTRLEN];
			const struct sockaddr_in *in = (const struct sockaddr_in *)a->ai_addr;
			say(" %s:%u", inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip)), ntohs(in->sin_port));
		}
		say("\n");
		if (res)
			freeaddrinfo(res);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "etc"))
		return etc_names(argc - 2, argv + 2);
	if (argc == 4 && !strcmp(argv[1], "keepalive"))
		return keepalive_client(argv[2], argv[3]);
	bool unix_ = argc < 2, inet = argc < 2, msg = argc < 2, more = argc < 2, limits = argc < 2;
	for (int i = 1; i < argc; i++) {
		unix_ |= !strcmp(argv[i], "unix");
		inet |= !strcmp(argv[i], "inet");
		msg |= !strcmp(argv[i], "msg");
		more |= !strcmp(argv[i], "more");
		limits |= !strcmp(argv[i], "limits");
	}
	signal(SIGPIPE, SIG_IGN);
	/* A fresh directory for the unix names, so the transcript never names the host's paths. */
	mkdir("/tmp", 0777);
	char dir[] = "/tmp/socktest.XXXXXX";
	if (!mkdtemp(dir) || chdir(dir)) {
		say("FAIL no scratch directory\n");
		return 1;
	}
	if (unix_) {
		say("== args\n");
		case_args();
		say("== unix pair\n");
		case_unix_pair();
		say("== unix dgram\n");
		case_unix_dgram();
		say("== unix named\n");
		case_unix_named();
		say("== unix echo\n");
		case_unix_echo();
	}
	if (inet) {
		say("== tcp basic\n");
		case_tcp_basic();
		say("== tcp nonblock\n");
		case_tcp_nonblock();
		say("== tcp echo\n");
		case_tcp_echo();
		say("== tcp sendfile\n");
		case_tcp_sendfile();
		say("== tcp epoll\n");
		case_tcp_epoll();
		say("== udp\n");
		case_udp();
	}
	if (msg) {
		say("== udp vectors\n");
		case_dgram_vectors(true);
		say("== unix dgram vectors\n");
		case_dgram_vectors(false);
		say("== stream readv\n");
		case_stream_readv();
		say("== peercred\n");
		case_peercred();
		say("== scm rights\n");
		case_scm_rights();
		say("== linger\n");
		case_linger();
	}
	if (more) {
		say("== fionbio\n");
		case_fionbio();
		say("== tcp sigpipe\n");
		case_tcp_sigpipe();
		say("== tcp waitall\n");
		case_tcp_waitall();
		say("== keepalive options\n");
		case_keepalive_opts();
		say("== reuseport\n");
		case_reuseport();
		say("== listener shutdown\n");
		case_listen_shutdown();
		say("== udp refused\n");
		case_udp_refused();
	}
	if (limits) {
		say("== buffer sizes\n");
		case_bufs();
		say("== backlog\n");
		case_backlog();
		say("== listener port\n");
		case_listen_port();
	}
	if (chdir("/") == 0)
		rmdir(dir);
	if (fails) {
		say("socktest FAILED %d\n", fails);
		return 1;
	}
	say("socktest ok\n");
	return 0;
}
