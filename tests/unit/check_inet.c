/* check_inet.c: unit tests of the guest's AF_INET sockets (guest/net/inet.c, tcp.c, udp.c under socket.c and sys_socket.c) on lwIP's loopback, no VM. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../guest/include/fs.h"
#include "../../guest/include/net.h"
#include "../../guest/include/sys.h"
#include "../../guest/include/sock.h"
#include "../../guest/include/wait.h"
#include "fs_shim.h"

/*
 * One thread, non-blocking sockets: every lwIP output to 127.0.0.1 is
 * delivered inside the call that queued it (net_flush), so a connect, a
 * send or a close has reached the peer when the syscall returns, and each
 * step can be checked at once. A blocking wait would end at once with
 * EAGAIN (fs_shim.c's k_thr_block), so the tests never rely on one.
 * Every expected value below is what Linux 6.1 gives for the same calls
 * (checked natively with an equivalent C program).
 */

#define L(p) ((long)(uintptr_t)(p))
#define BAD_PTR 16L /* inside the unmapped page 0 */
#define LOOPBACK 0x0100007fu /* 127.0.0.1 in network order */
/* The events asked for: what Linux's revents then shows (POLLERR and POLLHUP always come). */
#define EV (POLLIN | POLLPRI | POLLOUT | POLLRDHUP)

static uint16_t be16(uint16_t v)
{
	return (uint16_t)(v << 8 | v >> 8);
}

static struct lx_sockaddr_in sin_lo(uint16_t port)
{
	struct lx_sockaddr_in a = { .sin_family = AF_INET, .sin_port = be16(port), .sin_addr = LOOPBACK };
	return a;
}

static void setup(void)
{
	fs_shim_reset();
	static const uint8_t none[8];
	ck_assert_int_eq(fs_init(none, 0), 0);
	/* SIGPIPE would end the test process: ignore it as the apps do (MSG_NOSIGNAL is tested as well). */
	uint64_t ign[4] = { 1 /* SIG_IGN */, 0, 0, 0 };
	ck_assert_int_eq(sys_rt_sigaction(13, L(ign), 0, 8, 0, 0), 0);
	net_init();
}

/* Lets ms of time pass and runs the pollers once: lwIP's due timers (delayed ACKs, retransmissions) fire. */
static void net_tick(unsigned ms)
{
	fs_shim_clock_forward((uint64_t)ms * 1000000u);
	k_wait_poll(K_WAIT_QUIET);
}

static int sock_new(int type)
{
	long fd = sys_socket(AF_INET, type, 0, 0, 0, 0);
	ck_assert_int_ge(fd, 0);
	return (int)fd;
}

static uint32_t poll1(int fd)
{
	struct pollfd p = { .fd = fd, .events = EV };
	ck_assert_int_eq(sys_poll(L(&p), 1, 0, 0, 0, 0), p.revents ? 1 : 0);
	return (uint16_t)p.revents;
}

/* getsockname (peer false) or getpeername: the result, the address in *a. */
static long name_of(int fd, bool peer, struct lx_sockaddr_in *a)
{
	int len = sizeof(*a);
	memset(a, 0xee, sizeof(*a));
	long rc = peer ? sys_getpeername(fd, L(a), L(&len), 0, 0, 0) : sys_getsockname(fd, L(a), L(&len), 0, 0, 0);
	if (rc == 0)
		ck_assert_int_eq(len, sizeof(*a));
	return rc;
}

static int sockopt_int(int fd, int name)
{
	int v = -1, len = sizeof(v);
	ck_assert_int_eq(sys_getsockopt(fd, SOL_SOCKET, name, L(&v), L(&len), 0), 0);
	ck_assert_int_eq(len, sizeof(v));
	return v;
}

static int inq(int fd)
{
	int n = -1;
	ck_assert_int_eq(sys_ioctl(fd, FIONREAD, L(&n), 0, 0, 0), 0);
	return n;
}

/* A listener on 127.0.0.1 and an ephemeral port (returned in *port); flags go to socket(2). */
static int listener(int flags, uint16_t *port)
{
	int l = sock_new(SOCK_STREAM | flags);
	struct lx_sockaddr_in a = sin_lo(0);
	ck_assert_int_eq(sys_bind(l, L(&a), sizeof(a), 0, 0, 0), 0);
	ck_assert_int_eq(sys_listen(l, 4, 0, 0, 0, 0), 0);
	ck_assert_int_eq(name_of(l, false, &a), 0);
	*port = be16(a.sin_port);
	return l;
}

/* A connected pair through listener l on port: the connecting end in *c (non-blocking), the accepted in *s (non-blocking). */
static void tcp_pair(int l, uint16_t port, int *c, int *s)
{
	*c = sock_new(SOCK_STREAM | SOCK_NONBLOCK);
	struct lx_sockaddr_in a = sin_lo(port);
	ck_assert_int_eq(sys_connect(*c, L(&a), sizeof(a), 0, 0, 0), -EINPROGRESS);
	long fd = sys_accept4(l, 0, 0, SOCK_NONBLOCK, 0, 0);
	ck_assert_int_ge(fd, 0);
	*s = (int)fd;
}

static long send_s(int fd, const char *s, int flags)
{
	return sys_sendto(fd, L(s), strlen(s), flags, 0, 0);
}

/* ---------------- core ---------------- */

/* socket, bind, listen, a non-blocking connect (EINPROGRESS, then SO_ERROR), accept4's flags, the names. */
START_TEST(test_tcp_connect_accept)
{
	struct lx_sockaddr_in a;
	int l = sock_new(SOCK_STREAM | SOCK_NONBLOCK);
	ck_assert_int_eq(sockopt_int(l, SO_TYPE), SOCK_STREAM);
	ck_assert_int_eq(sockopt_int(l, SO_ACCEPTCONN), 0);
	ck_assert_int_eq(name_of(l, false, &a), 0); /* unbound: 0.0.0.0:0 */
	ck_assert_uint_eq(a.sin_family, AF_INET);
	ck_assert_uint_eq(a.sin_addr, 0);
	ck_assert_uint_eq(a.sin_port, 0);
	ck_assert_int_eq(name_of(l, true, &a), -ENOTCONN);
	a = sin_lo(0);
	ck_assert_int_eq(sys_bind(l, L(&a), sizeof(a), 0, 0, 0), 0);
	ck_assert_int_eq(sys_bind(l, L(&a), sizeof(a), 0, 0, 0), -EINVAL); /* bound already */
	ck_assert_uint_eq(poll1(l), POLLOUT | POLLHUP); /* Linux's tcp_poll of a closed socket */
	ck_assert_int_eq(sys_listen(l, 4, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sockopt_int(l, SO_ACCEPTCONN), 1);
	ck_assert_uint_eq(poll1(l), 0);
	ck_assert_int_eq(name_of(l, false, &a), 0);
	ck_assert_uint_eq(a.sin_addr, LOOPBACK);
	uint16_t port = be16(a.sin_port);
	ck_assert_uint_ne(port, 0);
	ck_assert_int_eq(sys_accept4(l, 0, 0, 0, 0, 0), -EAGAIN);
	int n;
	ck_assert_int_eq(sys_ioctl(l, FIONREAD, L(&n), 0, 0, 0), -EINVAL); /* a listener has no queue to count */

	int c = sock_new(SOCK_STREAM | SOCK_NONBLOCK);
	ck_assert_uint_eq(poll1(c), POLLOUT | POLLHUP);
	ck_assert_int_eq(name_of(c, true, &a), -ENOTCONN);
	a = sin_lo(port);
	ck_assert_int_eq(sys_connect(c, L(&a), sizeof(a), 0, 0, 0), -EINPROGRESS);
	ck_assert_uint_eq(poll1(c), POLLOUT);
	ck_assert_uint_eq(poll1(l), POLLIN);
	ck_assert_int_eq(sockopt_int(c, SO_ERROR), 0);
	ck_assert_int_eq(sys_connect(c, L(&a), sizeof(a), 0, 0, 0), 0);        /* the second call reports success */
	ck_assert_int_eq(sys_connect(c, L(&a), sizeof(a), 0, 0, 0), -EISCONN); /* the third, that it is connected */

	ck_assert_int_eq(sys_accept4(l, 0, 0, 0x1234, 0, 0), -EINVAL);
	struct lx_sockaddr_in from;
	int flen = sizeof(from);
	long s = sys_accept4(l, L(&from), L(&flen), SOCK_NONBLOCK | SOCK_CLOEXEC, 0, 0);
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(sys_fcntl(s, F_GETFL, 0, 0, 0, 0), O_RDWR | O_NONBLOCK);
	ck_assert_int_eq(sys_fcntl(s, F_GETFD, 0, 0, 0, 0), FD_CLOEXEC);
	ck_assert_int_eq(sys_accept4(l, 0, 0, 0, 0, 0), -EAGAIN);
	ck_assert_uint_eq(poll1(l), 0);
	ck_assert_int_eq(sockopt_int((int)s, SO_ACCEPTCONN), 0);

	/* The names: c's local end is the accepted socket's peer (accept's address too), and the other way round. */
	struct lx_sockaddr_in cl, cp, sl, sp;
	ck_assert_int_eq(name_of(c, false, &cl), 0);
	ck_assert_int_eq(name_of(c, true, &cp), 0);
	ck_assert_int_eq(name_of((int)s, false, &sl), 0);
	ck_assert_int_eq(name_of((int)s, true, &sp), 0);
	ck_assert_int_eq(flen, sizeof(from));
	ck_assert_mem_eq(&from, &cl, 8);
	ck_assert_mem_eq(&sp, &cl, 8);
	ck_assert_mem_eq(&cp, &sl, 8);
	ck_assert_uint_eq(cl.sin_addr, LOOPBACK);
	ck_assert_uint_ne(cl.sin_port, 0);
	ck_assert_uint_eq(cp.sin_port, be16(port));

	/* accept4 without flags: a blocking socket, no FD_CLOEXEC. */
	int c2 = sock_new(SOCK_STREAM | SOCK_NONBLOCK);
	ck_assert_int_eq(sys_connect(c2, L(&a), sizeof(a), 0, 0, 0), -EINPROGRESS);
	long s2 = sys_accept4(l, 0, 0, 0, 0, 0);
	ck_assert_int_ge(s2, 0);
	ck_assert_int_eq(sys_fcntl(s2, F_GETFL, 0, 0, 0, 0), O_RDWR);
	ck_assert_int_eq(sys_fcntl(s2, F_GETFD, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_close(c2, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_close(s2, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_close(c, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_close(s, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_close(l, 0, 0, 0, 0, 0), 0);
}
END_TEST

/* send and recv: FIONREAD, MSG_PEEK, MSG_DONTWAIT (on a blocking socket too: it must not wait). */
START_TEST(test_tcp_data)
{
	uint16_t port;
	int l = listener(SOCK_NONBLOCK, &port), c, s;
	tcp_pair(l, port, &c, &s);
	char buf[64];
	ck_assert_uint_eq(poll1(s), POLLOUT);
	ck_assert_int_eq(inq(s), 0);
	ck_assert_int_eq(send_s(c, "hello", 0), 5);
	ck_assert_uint_eq(poll1(s), POLLIN | POLLOUT);
	ck_assert_int_eq(inq(s), 5);
	ck_assert_int_eq(sys_recvfrom(s, L(buf), 3, MSG_PEEK, 0, 0), 3);
	ck_assert_mem_eq(buf, "hel", 3);
	ck_assert_int_eq(inq(s), 5);
	ck_assert_int_eq(sys_recvfrom(s, L(buf), 2, 0, 0, 0), 2);
	ck_assert_mem_eq(buf, "he", 2);
	ck_assert_int_eq(sys_read(s, L(buf), sizeof(buf), 0, 0, 0), 3);
	ck_assert_mem_eq(buf, "llo", 3);
	ck_assert_int_eq(sys_recvfrom(s, L(buf), sizeof(buf), MSG_DONTWAIT, 0, 0), -EAGAIN);
	ck_assert_int_eq(sys_read(s, L(buf), sizeof(buf), 0, 0, 0), -EAGAIN); /* O_NONBLOCK */
	ck_assert_uint_eq(poll1(s), POLLOUT);

	/* A blocking socket: MSG_DONTWAIT answers at once, without a wait. */
	ck_assert_int_eq(sys_fcntl(c, F_SETFL, 0, 0, 0, 0), 0);
	fs_shim_blocks = 0;
	ck_assert_int_eq(sys_recvfrom(c, L(buf), sizeof(buf), MSG_DONTWAIT, 0, 0), -EAGAIN);
	ck_assert_uint_eq(fs_shim_blocks, 0);
	/* Both ways, and a recvfrom's address is left alone on a stream (Linux writes no length). */
	ck_assert_int_eq(send_s(s, "back", 0), 4);
	struct lx_sockaddr_in from;
	int flen = 99;
	ck_assert_int_eq(sys_recvfrom(c, L(buf), sizeof(buf), 0, L(&from), L(&flen)), 4);
	ck_assert_mem_eq(buf, "back", 4);
	ck_assert_int_eq(flen, 0);
	ck_assert_int_eq(sys_close(c, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_close(s, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_close(l, 0, 0, 0, 0, 0), 0);
}
END_TEST

/* shutdown each way: the peer's EOF and readiness, EPIPE (MSG_NOSIGNAL) after SHUT_WR, reading after SHUT_RD. */
START_TEST(test_tcp_shutdown)
{
	uint16_t port;
	int l = listener(SOCK_NONBLOCK, &port), c, s;
	char buf[64];
	tcp_pair(l, port, &c, &s);
	ck_assert_int_eq(sys_shutdown(c, 3, 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_shutdown(c, SHUT_WR, 0, 0, 0, 0), 0);
	ck_assert_uint_eq(poll1(s), POLLIN | POLLOUT | POLLRDHUP);
	ck_assert_uint_eq(poll1(c), POLLOUT);
	ck_assert_int_eq(sys_read(s, L(buf), sizeof(buf), 0, 0, 0), 0);
	ck_assert_int_eq(sys_read(s, L(buf), sizeof(buf), 0, 0, 0), 0);
	ck_assert_int_eq(send_s(c, "x", MSG_NOSIGNAL), -EPIPE);
	ck_assert_int_eq(sys_write(c, L("x"), 1, 0, 0, 0), -EPIPE); /* SIGPIPE ignored */
	/* The other direction still works. */
	ck_assert_int_eq(send_s(s, "back", 0), 4);
	ck_assert_int_eq(sys_read(c, L(buf), sizeof(buf), 0, 0, 0), 4);
	/* SHUT_RD: reads end, writes go on. */
	ck_assert_int_eq(sys_shutdown(s, SHUT_RD, 0, 0, 0, 0), 0);
	ck_assert_uint_eq(poll1(s), POLLIN | POLLOUT | POLLRDHUP);
	ck_assert_int_eq(sys_read(s, L(buf), sizeof(buf), 0, 0, 0), 0);
	ck_assert_int_eq(send_s(s, "y", 0), 1);
	/*
	 * Nagle holds "y" until "back" is acknowledged. That ACK is delayed at
	 * most 40 ms, as Linux's delayed-ACK timer at its shortest
	 * (TCP_ATO_MIN); lwIP alone waits for its next fast timer, up to 250 ms.
	 * (Linux's quick-ack mode at the start of a connection sends it at once.)
	 */
	net_tick(41);
	ck_assert_int_eq(sys_read(c, L(buf), sizeof(buf), 0, 0, 0), 1);
	ck_assert_int_eq(buf[0], 'y');
	/* Both closed for writing: both hang up. */
	ck_assert_int_eq(sys_shutdown(s, SHUT_WR, 0, 0, 0, 0), 0);
	ck_assert_uint_eq(poll1(c), POLLIN | POLLOUT | POLLHUP | POLLRDHUP);
	ck_assert_int_eq(sys_read(c, L(buf), sizeof(buf), 0, 0, 0), 0);
	ck_assert_uint_eq(poll1(s), POLLIN | POLLOUT | POLLHUP | POLLRDHUP);
	ck_assert_int_eq(sys_close(c, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_close(s, 0, 0, 0, 0, 0), 0);

	/* A socket never connected: each call says so (Linux). */
	int x = sock_new(SOCK_STREAM | SOCK_NONBLOCK);
	ck_assert_int_eq(send_s(x, "a", MSG_NOSIGNAL), -EPIPE);
	ck_assert_int_eq(sys_recvfrom(x, L(buf), 1, MSG_DONTWAIT, 0, 0), -ENOTCONN);
	ck_assert_int_eq(sys_shutdown(x, SHUT_WR, 0, 0, 0, 0), -ENOTCONN);
	ck_assert_int_eq(sys_recvfrom(l, L(buf), 1, MSG_DONTWAIT, 0, 0), -ENOTCONN);
	ck_assert_int_eq(sys_close(x, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_close(l, 0, 0, 0, 0, 0), 0);
}
END_TEST

/* A send after SHUT_WR without MSG_NOSIGNAL raises SIGPIPE, whose default action ends the app (exit 128 + 13). */
START_TEST(test_tcp_sigpipe)
{
	uint16_t port;
	int l = listener(SOCK_NONBLOCK, &port), c, s;
	tcp_pair(l, port, &c, &s);
	ck_assert_int_eq(sys_shutdown(c, SHUT_WR, 0, 0, 0, 0), 0);
	ck_assert_int_eq(send_s(c, "x", MSG_NOSIGNAL), -EPIPE); /* MSG_NOSIGNAL: no signal, the process lives */
	uint64_t dfl[4] = { 0 /* SIG_DFL */, 0, 0, 0 };
	ck_assert_int_eq(sys_rt_sigaction(13, L(dfl), 0, 8, 0, 0), 0);
	send_s(c, "x", 0);
	ck_abort_msg("SIGPIPE did not end the process");
}
END_TEST

/* A close with unread data resets the peer: its data first, then ECONNRESET once, then EOF and EPIPE. */
START_TEST(test_tcp_reset)
{
	uint16_t port;
	int l = listener(SOCK_NONBLOCK, &port), c, s;
	char buf[64];
	tcp_pair(l, port, &c, &s);
	ck_assert_int_eq(send_s(c, "unread", 0), 6);
	ck_assert_int_eq(send_s(s, "kept", 0), 4);
	ck_assert_int_eq(sys_close(c, 0, 0, 0, 0, 0), 0);
	ck_assert_uint_eq(poll1(s), POLLIN | POLLOUT | POLLERR | POLLHUP | POLLRDHUP);
	ck_assert_int_eq(sys_read(s, L(buf), sizeof(buf), 0, 0, 0), 6);
	ck_assert_mem_eq(buf, "unread", 6);
	ck_assert_int_eq(sys_read(s, L(buf), sizeof(buf), 0, 0, 0), -ECONNRESET);
	ck_assert_uint_eq(poll1(s), POLLIN | POLLOUT | POLLHUP | POLLRDHUP);
	ck_assert_int_eq(sys_read(s, L(buf), sizeof(buf), 0, 0, 0), 0);
	ck_assert_int_eq(send_s(s, "z", MSG_NOSIGNAL), -EPIPE);
	ck_assert_int_eq(sockopt_int(s, SO_ERROR), 0);
	ck_assert_int_eq(sys_close(s, 0, 0, 0, 0, 0), 0);

	/* The reset seen first through SO_ERROR, which takes it. */
	tcp_pair(l, port, &c, &s);
	ck_assert_int_eq(send_s(s, "kept", 0), 4);
	ck_assert_int_eq(sys_close(c, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sockopt_int(s, SO_ERROR), ECONNRESET);
	ck_assert_int_eq(sockopt_int(s, SO_ERROR), 0);
	ck_assert_int_eq(sys_read(s, L(buf), sizeof(buf), 0, 0, 0), 0);
	ck_assert_int_eq(sys_close(s, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_close(l, 0, 0, 0, 0, 0), 0);
}
END_TEST

/* A connect to a port nobody listens on: ECONNREFUSED, blocking or through SO_ERROR; then ECONNABORTED once. */
START_TEST(test_tcp_refused)
{
	uint16_t port;
	int l = listener(0, &port);
	ck_assert_int_eq(sys_close(l, 0, 0, 0, 0, 0), 0); /* the port is free again */
	struct lx_sockaddr_in a = sin_lo(port);
	int c = sock_new(SOCK_STREAM | SOCK_NONBLOCK);
	ck_assert_int_eq(sys_connect(c, L(&a), sizeof(a), 0, 0, 0), -EINPROGRESS);
	ck_assert_uint_eq(poll1(c), POLLIN | POLLOUT | POLLERR | POLLHUP | POLLRDHUP);
	ck_assert_int_eq(sockopt_int(c, SO_ERROR), ECONNREFUSED);
	ck_assert_int_eq(sockopt_int(c, SO_ERROR), 0);
	ck_assert_int_eq(sys_connect(c, L(&a), sizeof(a), 0, 0, 0), -ECONNABORTED);
	ck_assert_int_eq(sys_close(c, 0, 0, 0, 0, 0), 0);
	/* Blocking: the refusal is the answer, and again on a second try. */
	c = sock_new(SOCK_STREAM);
	ck_assert_int_eq(sys_connect(c, L(&a), sizeof(a), 0, 0, 0), -ECONNREFUSED);
	ck_assert_int_eq(sys_connect(c, L(&a), sizeof(a), 0, 0, 0), -ECONNREFUSED);
	ck_assert_int_eq(sys_close(c, 0, 0, 0, 0, 0), 0);
}
END_TEST

/* EADDRINUSE: a second bind of a bound or listening port, with and without SO_REUSEADDR; a foreign address. */
START_TEST(test_tcp_addrinuse)
{
	int one = 1;
	int l = sock_new(SOCK_STREAM);
	ck_assert_int_eq(sys_setsockopt(l, SOL_SOCKET, SO_REUSEADDR, L(&one), sizeof(one), 0), 0);
	struct lx_sockaddr_in a = sin_lo(0);
	ck_assert_int_eq(sys_bind(l, L(&a), sizeof(a), 0, 0, 0), 0);
	ck_assert_int_eq(name_of(l, false, &a), 0);
	/* Both with SO_REUSEADDR, neither listening: the bind is allowed, the second listen is not. */
	int x = sock_new(SOCK_STREAM);
	ck_assert_int_eq(sys_setsockopt(x, SOL_SOCKET, SO_REUSEADDR, L(&one), sizeof(one), 0), 0);
	ck_assert_int_eq(sys_bind(x, L(&a), sizeof(a), 0, 0, 0), 0);
	ck_assert_int_eq(sys_listen(l, 1, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_listen(x, 1, 0, 0, 0, 0), -EADDRINUSE);
	ck_assert_int_eq(sys_close(x, 0, 0, 0, 0, 0), 0);
	/* Linux refuses a port a listener holds even when both set SO_REUSEADDR (lwIP's tcp_bind let it). */
	x = sock_new(SOCK_STREAM);
	ck_assert_int_eq(sys_setsockopt(x, SOL_SOCKET, SO_REUSEADDR, L(&one), sizeof(one), 0), 0);
	ck_assert_int_eq(sys_bind(x, L(&a), sizeof(a), 0, 0, 0), -EADDRINUSE);
	struct lx_sockaddr_in any = a;
	any.sin_addr = 0; /* INADDR_ANY overlaps it too */
	ck_assert_int_eq(sys_bind(x, L(&any), sizeof(any), 0, 0, 0), -EADDRINUSE);
	ck_assert_int_eq(sys_close(x, 0, 0, 0, 0, 0), 0);
	/* Without SO_REUSEADDR a bound port is taken. */
	int y = sock_new(SOCK_STREAM);
	struct lx_sockaddr_in b = sin_lo(0);
	ck_assert_int_eq(sys_bind(y, L(&b), sizeof(b), 0, 0, 0), 0);
	ck_assert_int_eq(name_of(y, false, &b), 0);
	x = sock_new(SOCK_STREAM);
	ck_assert_int_eq(sys_bind(x, L(&b), sizeof(b), 0, 0, 0), -EADDRINUSE);
	/* An address that is not ours. */
	struct lx_sockaddr_in far = sin_lo(0);
	far.sin_addr = 0x0d0c0b0au; /* 10.11.12.13 */
	ck_assert_int_eq(sys_bind(x, L(&far), sizeof(far), 0, 0, 0), -EADDRNOTAVAIL);
	ck_assert_int_eq(sys_close(x, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_close(y, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_close(l, 0, 0, 0, 0, 0), 0);
}
END_TEST

/* UDP: sendto/recvfrom with addresses, FIONREAD of the first datagram, truncation, connected UDP and its ICMP error. */
START_TEST(test_udp)
{
	char buf[64];
	int u = sock_new(SOCK_DGRAM | SOCK_NONBLOCK), c = sock_new(SOCK_DGRAM | SOCK_NONBLOCK);
	ck_assert_int_eq(sockopt_int(u, SO_TYPE), SOCK_DGRAM);
	struct lx_sockaddr_in a = sin_lo(0);
	ck_assert_int_eq(sys_bind(u, L(&a), sizeof(a), 0, 0, 0), 0);
	ck_assert_int_eq(name_of(u, false, &a), 0);
	ck_assert_uint_eq(a.sin_addr, LOOPBACK);
	ck_assert_uint_eq(poll1(u), POLLOUT);
	ck_assert_int_eq(inq(u), 0);
	ck_assert_int_eq(sys_recvfrom(u, L(buf), sizeof(buf), 0, 0, 0), -EAGAIN);
	ck_assert_int_eq(sys_sendto(c, L("dgram1"), 6, 0, L(&a), sizeof(a)), 6);
	ck_assert_int_eq(sys_sendto(c, L("dg2"), 3, 0, L(&a), sizeof(a)), 3);
	ck_assert_uint_eq(poll1(u), POLLIN | POLLOUT);
	ck_assert_int_eq(inq(u), 6); /* the first datagram's size */
	/* c got an ephemeral port at its first send; the datagram names it. */
	struct lx_sockaddr_in cn, from;
	ck_assert_int_eq(name_of(c, false, &cn), 0);
	ck_assert_uint_ne(cn.sin_port, 0);
	ck_assert_uint_eq(cn.sin_addr, 0);
	int flen = sizeof(from);
	ck_assert_int_eq(sys_recvfrom(u, L(buf), 3, MSG_PEEK | MSG_TRUNC, L(&from), L(&flen)), 6);
	ck_assert_int_eq(sys_recvfrom(u, L(buf), 3, 0, L(&from), L(&flen)), 3); /* the rest is lost */
	ck_assert_mem_eq(buf, "dgr", 3);
	ck_assert_int_eq(flen, sizeof(from));
	ck_assert_uint_eq(from.sin_family, AF_INET);
	ck_assert_uint_eq(from.sin_port, cn.sin_port);
	ck_assert_uint_eq(from.sin_addr, LOOPBACK);
	ck_assert_int_eq(sys_recvfrom(u, L(buf), sizeof(buf), 0, 0, 0), 3);
	ck_assert_mem_eq(buf, "dg2", 3);
	ck_assert_int_eq(sys_recvfrom(u, L(buf), sizeof(buf), 0, 0, 0), -EAGAIN);
	/* An empty datagram is one. */
	ck_assert_int_eq(sys_sendto(c, L(""), 0, 0, L(&a), sizeof(a)), 0);
	ck_assert_uint_eq(poll1(u), POLLIN | POLLOUT);
	ck_assert_int_eq(inq(u), 0);
	ck_assert_int_eq(sys_recvfrom(u, L(buf), sizeof(buf), 0, 0, 0), 0);
	ck_assert_uint_eq(poll1(u), POLLOUT);

	/* Connected: send needs no address, datagrams from others are filtered out. */
	ck_assert_int_eq(send_s(u, "x", 0), -EDESTADDRREQ);
	ck_assert_int_eq(name_of(u, true, &from), -ENOTCONN);
	cn.sin_addr = LOOPBACK;
	ck_assert_int_eq(sys_connect(u, L(&cn), sizeof(cn), 0, 0, 0), 0);
	ck_assert_int_eq(name_of(u, true, &from), 0);
	ck_assert_mem_eq(&from, &cn, 8);
	ck_assert_int_eq(send_s(u, "c1", 0), 2);
	ck_assert_int_eq(sys_recvfrom(c, L(buf), sizeof(buf), MSG_DONTWAIT, 0, 0), 2);
	int o = sock_new(SOCK_DGRAM);
	ck_assert_int_eq(sys_sendto(o, L("zz"), 2, 0, L(&a), sizeof(a)), 2);
	ck_assert_int_eq(sys_recvfrom(u, L(buf), sizeof(buf), MSG_DONTWAIT, 0, 0), -EAGAIN);
	/* The peer goes: its port unreachable comes back as ECONNREFUSED, once, on the next call. */
	ck_assert_int_eq(sys_close(c, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(send_s(u, "c2", 0), 2);
	ck_assert_uint_eq(poll1(u), POLLOUT | POLLERR);
	ck_assert_int_eq(sys_recvfrom(u, L(buf), sizeof(buf), MSG_DONTWAIT, 0, 0), -ECONNREFUSED);
	ck_assert_uint_eq(poll1(u), POLLOUT);
	ck_assert_int_eq(send_s(u, "c3", 0), 2);
	ck_assert_int_eq(send_s(u, "c4", 0), -ECONNREFUSED); /* c3's error, reported by the send after it */
	ck_assert_int_eq(send_s(u, "c5", 0), 2);
	ck_assert_int_eq(sockopt_int(u, SO_ERROR), ECONNREFUSED);
	ck_assert_int_eq(sockopt_int(u, SO_ERROR), 0);
	ck_assert_int_eq(sys_shutdown(o, SHUT_RDWR, 0, 0, 0, 0), -ENOTCONN);
	ck_assert_int_eq(sys_shutdown(o, 7, 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_close(o, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_close(u, 0, 0, 0, 0, 0), 0);
}
END_TEST

/* /proc/net/sockstat's text, parsed: the TCP and UDP fields and the LWIP line. */
struct sockstat {
	unsigned inuse, orphan, tw, alloc, udp_inuse;
	unsigned long mem, udp_mem, heap, peak, blocks;
};

static struct sockstat sockstat(void)
{
	static char text[1024];
	long fd = sys_openat(AT_FDCWD, L("/proc/net/sockstat"), O_RDONLY, 0, 0, 0);
	ck_assert_int_ge(fd, 0);
	long n = sys_read(fd, L(text), sizeof(text) - 1, 0, 0, 0);
	ck_assert_int_gt(n, 0);
	text[n] = 0;
	ck_assert_int_eq(sys_close(fd, 0, 0, 0, 0, 0), 0);
	struct sockstat s;
	ck_assert_msg(sscanf(text, "TCP: inuse %u orphan %u tw %u alloc %u mem %lu\nUDP: inuse %u mem %lu\n"
				   "UDPLITE: inuse 0\nRAW: inuse 0\nLWIP: heap %lu peak %lu blocks %lu\n",
			     &s.inuse, &s.orphan, &s.tw, &s.alloc, &s.mem, &s.udp_inuse, &s.udp_mem, &s.heap, &s.peak,
			     &s.blocks) == 10,
		      "/proc/net/sockstat:\n%s", text);
	ck_assert_uint_le(s.heap, s.peak);
	return s;
}

/* /proc/net/sockstat follows the sockets (Linux's counts) and lwIP's heap: data held unread is memory held. */
START_TEST(test_sockstat)
{
	struct sockstat s0 = sockstat();
	ck_assert_uint_eq(s0.inuse + s0.orphan + s0.tw + s0.alloc + s0.udp_inuse + s0.udp_mem, 0);
	uint16_t port;
	int l = listener(SOCK_NONBLOCK, &port), c, s;
	tcp_pair(l, port, &c, &s);
	struct sockstat s1 = sockstat();
	ck_assert_uint_eq(s1.inuse, 3); /* the listener and both ends */
	ck_assert_uint_eq(s1.alloc, 3);
	ck_assert_uint_eq(s1.orphan + s1.tw, 0);
	ck_assert_uint_gt(s1.heap, s0.heap); /* three PCBs */
	ck_assert_uint_gt(s1.blocks, s0.blocks);
	/* 128 KiB written and not read: lwIP holds it (s's receive queue), in pages as Linux counts. */
	static char big[128 << 10];
	memset(big, 'b', sizeof(big));
	ck_assert_int_eq(sys_write(c, L(big), sizeof(big), 0, 0, 0), sizeof(big));
	struct sockstat s2 = sockstat();
	ck_assert_uint_ge(s2.heap, s1.heap + sizeof(big));
	ck_assert_uint_ge(s2.mem, (s1.heap + sizeof(big)) / 4096);
	ck_assert_uint_le(s2.mem, (s2.heap + 4095) / 4096);
	for (long n; (n = sys_read(s, L(big), sizeof(big), 0, 0, 0)) > 0;)
		;
	net_tick(250); /* the ACKs that free the sender's copy */
	struct sockstat s3 = sockstat();
	ck_assert_uint_lt(s3.heap, s1.heap + 16384); /* given back */
	ck_assert_uint_ge(s3.peak, s2.heap);
	/* Closed: c waits for s's FIN without its app (an orphan), then s closes and c is in TIME-WAIT. */
	ck_assert_int_eq(sys_close(c, 0, 0, 0, 0, 0), 0);
	struct sockstat s4 = sockstat();
	ck_assert_uint_eq(s4.orphan, 1);
	ck_assert_uint_eq(s4.inuse, 2);
	ck_assert_uint_eq(s4.alloc, 3);
	ck_assert_int_eq(sys_close(s, 0, 0, 0, 0, 0), 0);
	struct sockstat s5 = sockstat();
	ck_assert_uint_eq(s5.tw, 1);
	ck_assert_uint_eq(s5.orphan, 0);
	ck_assert_uint_eq(s5.inuse, 1);
	ck_assert_uint_eq(s5.alloc, 1);
	/* UDP: a bound socket is in use; a queued datagram is UDP's memory, not TCP's. */
	int u = sock_new(SOCK_DGRAM | SOCK_NONBLOCK);
	struct lx_sockaddr_in a = sin_lo(0);
	ck_assert_int_eq(sys_bind(u, L(&a), sizeof(a), 0, 0, 0), 0);
	ck_assert_int_eq(name_of(u, false, &a), 0);
	ck_assert_int_eq(sys_sendto(u, L(big), 6000, 0, L(&a), sizeof(a)), 6000);
	struct sockstat s6 = sockstat();
	ck_assert_uint_eq(s6.udp_inuse, 1);
	ck_assert_uint_eq(s6.udp_mem, 2); /* 6000 bytes: two pages */
	ck_assert_int_eq(sys_recvfrom(u, L(big), sizeof(big), 0, 0, 0), 6000);
	ck_assert_uint_eq(sockstat().udp_mem, 0);
	ck_assert_int_eq(sys_close(u, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_close(l, 0, 0, 0, 0, 0), 0);
	struct sockstat s7 = sockstat();
	ck_assert_uint_eq(s7.inuse + s7.udp_inuse, 0);
	ck_assert_uint_eq(s7.tw, 1);
	ck_assert_uint_lt(s7.heap, s0.heap + 1024); /* the TIME-WAIT PCB: every other block came back */
}
END_TEST

/* ---------------- limits ---------------- */

/*
 * 2 MiB through one connection in non-blocking rounds, checksum-exact:
 * the sender meets a full send buffer (EAGAIN, POLLOUT off), the reader's
 * reads reopen the window, and nothing is lost or reordered.
 */
START_TEST(test_tcp_stream)
{
	uint16_t port;
	int l = listener(SOCK_NONBLOCK, &port), c, s;
	tcp_pair(l, port, &c, &s);
	enum { TOTAL = 2 << 20 };
	static uint8_t out[65536], in[65536];
	uint64_t sent = 0, got = 0;
	bool saw_full = false;
	for (int round = 0; got < TOTAL; round++) {
		ck_assert_msg(round < 10000, "no progress: sent %llu, received %llu", (unsigned long long)sent,
			      (unsigned long long)got);
		while (sent < TOTAL) {
			size_t n = TOTAL - sent < sizeof(out) ? TOTAL - sent : sizeof(out);
			for (size_t i = 0; i < n; i++)
				out[i] = (uint8_t)((sent + i) * 7 + ((sent + i) >> 13));
			long r = sys_write(c, L(out), n, 0, 0, 0);
			if (r == -EAGAIN) {
				saw_full = true;
				ck_assert_uint_eq(poll1(c) & POLLOUT, 0);
				break;
			}
			ck_assert_int_gt(r, 0);
			sent += (uint64_t)r;
		}
		for (;;) {
			long r = sys_read(s, L(in), sizeof(in), 0, 0, 0);
			if (r == -EAGAIN)
				break;
			ck_assert_int_gt(r, 0);
			for (long i = 0; i < r; i++)
				if (in[i] != (uint8_t)((got + (uint64_t)i) * 7 + ((got + (uint64_t)i) >> 13)))
					ck_abort_msg("byte %llu differs", (unsigned long long)(got + (uint64_t)i));
			got += (uint64_t)r;
		}
	}
	ck_assert(saw_full);
	ck_assert_uint_eq(sent, TOTAL);
	ck_assert_int_eq(sys_close(c, 0, 0, 0, 0, 0), 0);
	char b;
	ck_assert_int_eq(sys_read(s, L(&b), 1, 0, 0, 0), 0);
	ck_assert_int_eq(sys_close(s, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_close(l, 0, 0, 0, 0, 0), 0);
}
END_TEST

/* UDP's size limits: 65507 bytes go, one more is EMSGSIZE; a datagram is read whole into a large buffer. */
START_TEST(test_udp_sizes)
{
	static char big[65508];
	int u = sock_new(SOCK_DGRAM | SOCK_NONBLOCK);
	struct lx_sockaddr_in a = sin_lo(0);
	ck_assert_int_eq(sys_bind(u, L(&a), sizeof(a), 0, 0, 0), 0);
	ck_assert_int_eq(name_of(u, false, &a), 0);
	memset(big, 'q', sizeof(big));
	ck_assert_int_eq(sys_sendto(u, L(big), 65507, 0, L(&a), sizeof(a)), 65507);
	ck_assert_int_eq(sys_sendto(u, L(big), 65508, 0, L(&a), sizeof(a)), -EMSGSIZE);
	memset(big, 0, sizeof(big));
	ck_assert_int_eq(inq(u), 65507);
	ck_assert_int_eq(sys_recvfrom(u, L(big), sizeof(big), 0, 0, 0), 65507);
	ck_assert_int_eq(big[0], 'q');
	ck_assert_int_eq(big[65506], 'q');
	ck_assert_int_eq(sys_close(u, 0, 0, 0, 0, 0), 0);
}
END_TEST

/* ---------------- hostile ---------------- */

/* Bad arguments from the app: the checks and errno values of Linux's inet layer, and bad pointers. */
START_TEST(test_bad_args)
{
	ck_assert_int_eq(sys_socket(AF_INET, SOCK_STREAM, IPPROTO_UDP, 0, 0, 0), -EPROTONOSUPPORT);
	ck_assert_int_eq(sys_socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP, 0, 0, 0), -EPROTONOSUPPORT);
	ck_assert_int_eq(sys_socket(AF_INET, SOCK_STREAM | 0x100000, 0, 0, 0, 0), -EINVAL);
	int x = sock_new(SOCK_STREAM), u = sock_new(SOCK_DGRAM);
	uint16_t port;
	int l = listener(0, &port);
	struct lx_sockaddr_in a = sin_lo(port), uf = a;
	uf.sin_family = AF_UNIX;
	ck_assert_int_eq(sys_connect(x, L(&a), 4, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_connect(x, L(&uf), sizeof(uf), 0, 0, 0), -EAFNOSUPPORT);
	ck_assert_int_eq(sys_connect(x, BAD_PTR, sizeof(a), 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_bind(x, BAD_PTR, sizeof(a), 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_bind(x, L(&a), 4, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_sendto(u, L("x"), 1, 0, L(&a), 4), -EINVAL);
	ck_assert_int_eq(sys_sendto(u, BAD_PTR, 1, 0, L(&a), sizeof(a)), -EFAULT);
	int len = sizeof(a);
	ck_assert_int_eq(sys_getsockname(x, BAD_PTR, L(&len), 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_getsockname(x, L(&a), BAD_PTR, 0, 0, 0), -EFAULT);
	/* A short room: the name is cut, the full length reported. */
	len = 4;
	struct lx_sockaddr_in cut;
	memset(&cut, 0xee, sizeof(cut));
	ck_assert_int_eq(sys_getsockname(l, L(&cut), L(&len), 0, 0, 0), 0);
	ck_assert_int_eq(len, sizeof(cut));
	ck_assert_uint_eq(cut.sin_port, be16(port));
	ck_assert_uint_eq(cut.sin_addr, 0xeeeeeeeeu);
	ck_assert_int_eq(sys_close(x, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_close(u, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_close(l, 0, 0, 0, 0, 0), 0);
}
END_TEST

/* Memory runs out while sockets are made: the call fails cleanly (ASan: no leak, no use after free). */
START_TEST(test_no_memory)
{
	long rc = -1;
	for (int i = 1; i < 8 && rc < 0; i++) {
		fs_shim_fail_alloc_after = i;
		rc = sys_socket(AF_INET, SOCK_STREAM, 0, 0, 0, 0);
		fs_shim_fail_alloc_after = 0;
		if (rc < 0)
			ck_assert_msg(rc == -ENOMEM || rc == -ENOBUFS || rc == -EMFILE, "socket: %ld", rc);
	}
	ck_assert_int_ge(rc, 0);
	ck_assert_int_eq(sys_close(rc, 0, 0, 0, 0, 0), 0);
}
END_TEST

Suite *inet_suite(void)
{
	Suite *s = suite_create("inet");
	TCase *core = tcase_create("core");
	tcase_add_checked_fixture(core, setup, NULL);
	tcase_add_test(core, test_tcp_connect_accept);
	tcase_add_test(core, test_tcp_data);
	tcase_add_test(core, test_tcp_shutdown);
	tcase_add_test(core, test_tcp_reset);
	tcase_add_exit_test(core, test_tcp_sigpipe, 128 + 13);
	tcase_add_test(core, test_tcp_refused);
	tcase_add_test(core, test_tcp_addrinuse);
	tcase_add_test(core, test_udp);
	tcase_add_test(core, test_sockstat);
	suite_add_tcase(s, core);
	TCase *limits = tcase_create("limits");
	tcase_add_checked_fixture(limits, setup, NULL);
	tcase_add_test(limits, test_tcp_stream);
	tcase_add_test(limits, test_udp_sizes);
	suite_add_tcase(s, limits);
	TCase *hostile = tcase_create("hostile");
	tcase_add_checked_fixture(hostile, setup, NULL);
	tcase_add_test(hostile, test_bad_args);
	tcase_add_test(hostile, test_no_memory);
	suite_add_tcase(s, hostile);
	return s;
}
