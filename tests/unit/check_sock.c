/* check_sock.c: unit tests of the guest socket layer (guest/net/socket.c, unix.c, guest/sys/sys_socket.c): AF_UNIX entirely, argument and option checks. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../guest/include/fs.h"
#include "../../guest/include/sys.h"
#include "../../guest/include/sock.h"
#include "../../guest/include/wait.h"
#include "fs_shim.h"

#define L(p) ((long)(uintptr_t)(p))
#define BAD_PTR 16L /* inside the unmapped page 0 */

/*
 * Test fake: AF_INET lives on lwIP (guest/net/inet.c and its TCP/UDP), which
 * the host tests do not build; here every AF_INET socket(2) fails the way a
 * kernel without IPv4 answers.
 */
int inet_create(int type, int protocol, struct sock **out)
{
	(void)type, (void)protocol, (void)out;
	return -EAFNOSUPPORT;
}

/* Test fake: no TCP connection exists here, so there is nothing to drain. */
void inet_tcp_drain(uint64_t deadline)
{
	(void)deadline;
}

static void setup(void)
{
	fs_shim_reset();
	static const uint8_t none[8];
	ck_assert_int_eq(fs_init(none, 0), 0);
	/* SIGPIPE would end the test process: ignore it as the apps do. */
	uint64_t ign[4] = { 1 /* SIG_IGN */, 0, 0, 0 };
	ck_assert_int_eq(sys_rt_sigaction(13, L(ign), 0, 8, 0, 0), 0);
}

static void teardown(void)
{
	uint64_t dfl[4] = { 0, 0, 0, 0 };
	sys_rt_sigaction(13, L(dfl), 0, 8, 0, 0);
	fs_reset();
}

static uint32_t poll1(int fd)
{
	struct pollfd p = { .fd = fd, .events = (short)0xffff };
	ck_assert_int_eq(sys_poll(L(&p), 1, 0, 0, 0, 0), p.revents ? 1 : 0);
	return (uint16_t)p.revents;
}

static void pair(int type, int sv[2])
{
	ck_assert_int_eq(sys_socketpair(AF_UNIX, type, 0, L(sv), 0, 0), 0);
}

/* ---------------- core ---------------- */

START_TEST(test_stream_pair)
{
	int sv[2];
	char buf[32];
	pair(SOCK_STREAM, sv);
	ck_assert_uint_eq(poll1(sv[0]), POLLOUT | POLLWRNORM | POLLWRBAND);
	ck_assert_int_eq(sys_write(sv[0], L("hello"), 5, 0, 0, 0), 5);
	ck_assert_uint_eq(poll1(sv[1]) & (POLLIN | POLLOUT), POLLIN | POLLOUT);
	int n = 0;
	ck_assert_int_eq(sys_ioctl(sv[1], FIONREAD, L(&n), 0, 0, 0), 0);
	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(sys_recvfrom(sv[1], L(buf), 3, MSG_PEEK, 0, 0), 3);
	ck_assert_int_eq(memcmp(buf, "hel", 3), 0);
	ck_assert_int_eq(sys_read(sv[1], L(buf), sizeof(buf), 0, 0, 0), 5);
	ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
	/* Empty: a blocking read waits (the shim's wait times out at once: EAGAIN), a non-blocking one does not. */
	fs_shim_blocks = 0;
	ck_assert_int_eq(sys_recvfrom(sv[1], L(buf), 1, MSG_DONTWAIT, 0, 0), -EAGAIN);
	ck_assert_uint_eq(fs_shim_blocks, 0);
	ck_assert_int_eq(sys_read(sv[1], L(buf), 1, 0, 0, 0), -EAGAIN);
	ck_assert_uint_eq(fs_shim_blocks, 1);
	ck_assert_uint_eq(fs_shim_block_flags & K_WAIT_INTR, K_WAIT_INTR);
	/* Half close and close. */
	ck_assert_int_eq(sys_shutdown(sv[0], SHUT_WR, 0, 0, 0, 0), 0);
	ck_assert_uint_eq(poll1(sv[1]) & (POLLIN | POLLRDHUP | POLLHUP), POLLIN | POLLRDHUP);
	ck_assert_int_eq(sys_read(sv[1], L(buf), 1, 0, 0, 0), 0);
	ck_assert_int_eq(sys_sendto(sv[0], L("x"), 1, MSG_NOSIGNAL, 0, 0), -EPIPE);
	ck_assert_int_eq(sys_write(sv[1], L("back"), 4, 0, 0, 0), 4);
	ck_assert_int_eq(sys_close(sv[1], 0, 0, 0, 0, 0), 0);
	ck_assert_uint_eq(poll1(sv[0]) & (POLLIN | POLLHUP | POLLRDHUP | POLLERR), POLLIN | POLLHUP | POLLRDHUP);
	ck_assert_int_eq(sys_read(sv[0], L(buf), sizeof(buf), 0, 0, 0), 4);
	ck_assert_int_eq(sys_read(sv[0], L(buf), sizeof(buf), 0, 0, 0), 0);
	struct stat st;
	ck_assert_int_eq(sys_fstat(sv[0], L(&st), 0, 0, 0, 0), 0);
	ck_assert_int_eq(st.st_mode & S_IFMT, S_IFSOCK);
	ck_assert_int_eq(sys_close(sv[0], 0, 0, 0, 0, 0), 0);

	/* Closing with unread data resets the peer: data first, then ECONNRESET once, then EOF. */
	pair(SOCK_STREAM, sv);
	ck_assert_int_eq(sys_write(sv[0], L("lost"), 4, 0, 0, 0), 4);
	ck_assert_int_eq(sys_write(sv[1], L("kept"), 4, 0, 0, 0), 4);
	ck_assert_int_eq(sys_close(sv[1], 0, 0, 0, 0, 0), 0);
	ck_assert_uint_eq(poll1(sv[0]) & POLLERR, POLLERR);
	ck_assert_int_eq(sys_read(sv[0], L(buf), sizeof(buf), 0, 0, 0), 4);
	ck_assert_int_eq(sys_read(sv[0], L(buf), sizeof(buf), 0, 0, 0), -ECONNRESET);
	ck_assert_int_eq(sys_read(sv[0], L(buf), sizeof(buf), 0, 0, 0), 0);
	ck_assert_int_eq(sys_close(sv[0], 0, 0, 0, 0, 0), 0);
}
END_TEST

START_TEST(test_msg_vectors)
{
	int sv[2];
	char buf6[6];
	pair(SOCK_STREAM, sv);
	struct iovec wv[3] = { { (void *)"ab", 2 }, { (void *)"", 0 }, { (void *)"cdef", 4 } };
	struct lx_msghdr mh = { .msg_iov = wv, .msg_iovlen = 3 };
	ck_assert_int_eq(sys_sendmsg(sv[0], L(&mh), 0, 0, 0, 0), 6);
	char r1[3], r2[8];
	struct iovec rv[2] = { { r1, 3 }, { r2, 8 } };
	struct lx_msghdr rh = { .msg_iov = rv, .msg_iovlen = 2, .msg_flags = 77, .msg_controllen = 5 };
	uint8_t ctl[8];
	rh.msg_control = ctl;
	ck_assert_int_eq(sys_recvmsg(sv[1], L(&rh), 0, 0, 0, 0), 6);
	ck_assert_int_eq(memcmp(r1, "abc", 3), 0);
	ck_assert_int_eq(memcmp(r2, "def", 3), 0);
	ck_assert_uint_eq(rh.msg_flags, 0);
	ck_assert_uint_eq(rh.msg_controllen, 0);
	/* A control area too short for a header holds no message (Linux's CMSG_FIRSTHDR); a bad cmsg_len is EINVAL. */
	mh.msg_control = ctl;
	mh.msg_controllen = sizeof(ctl);
	ck_assert_int_eq(sys_sendmsg(sv[0], L(&mh), 0, 0, 0, 0), 6);
	ck_assert_int_eq(sys_read(sv[1], L(buf6), 6, 0, 0, 0), 6);
	struct lx_cmsghdr bad = { 64, SOL_SOCKET, SCM_RIGHTS };
	mh.msg_control = &bad;
	mh.msg_controllen = sizeof(bad);
	ck_assert_int_eq(sys_sendmsg(sv[0], L(&mh), 0, 0, 0, 0), -EINVAL);
	/* MSG_WAITALL across two writes; a peek that waits for all of it. */
	ck_assert_int_eq(sys_write(sv[0], L("12"), 2, 0, 0, 0), 2);
	ck_assert_int_eq(sys_write(sv[0], L("34"), 2, 0, 0, 0), 2);
	char buf[8];
	ck_assert_int_eq(sys_recvfrom(sv[1], L(buf), 4, MSG_WAITALL | MSG_PEEK, 0, 0), 4);
	ck_assert_int_eq(sys_recvfrom(sv[1], L(buf), 4, MSG_WAITALL, 0, 0), 4);
	ck_assert_int_eq(memcmp(buf, "1234", 4), 0);
	sys_close(sv[0], 0, 0, 0, 0, 0);
	sys_close(sv[1], 0, 0, 0, 0, 0);
}
END_TEST

/* sendmsg with SCM_RIGHTS fds; n of them (in `fds`); 1 data byte. */
static long send_fds(int s, const int *fds, int n)
{
	union { uint8_t b[LX_CMSG_SPACE(4 * sizeof(int))]; struct lx_cmsghdr h; } u;
	memset(&u, 0, sizeof(u));
	u.h = (struct lx_cmsghdr){ LX_CMSG_LEN((size_t)n * sizeof(int)), SOL_SOCKET, SCM_RIGHTS };
	memcpy(u.b + sizeof(u.h), fds, (size_t)n * sizeof(int));
	struct iovec v = { (void *)"F", 1 };
	struct lx_msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = LX_CMSG_SPACE((size_t)n * sizeof(int)) };
	return sys_sendmsg(s, L(&m), 0, 0, 0, 0);
}

/* recvmsg with room bytes of control: the fds received in got[] (their count), the flags in *flags. */
static int recv_fds(int s, size_t room, int *got, uint32_t *flags)
{
	union { uint8_t b[LX_CMSG_SPACE(4 * sizeof(int))]; struct lx_cmsghdr h; } u;
	char d;
	struct iovec v = { &d, 1 };
	struct lx_msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = room };
	ck_assert_int_eq(sys_recvmsg(s, L(&m), 0, 0, 0, 0), 1);
	*flags = m.msg_flags;
	if (m.msg_controllen < sizeof(u.h))
		return 0;
	ck_assert_int_eq(u.h.cmsg_level, SOL_SOCKET);
	ck_assert_int_eq(u.h.cmsg_type, SCM_RIGHTS);
	int n = (int)((u.h.cmsg_len - sizeof(u.h)) / sizeof(int));
	memcpy(got, u.b + sizeof(u.h), (size_t)n * sizeof(int));
	return n;
}

/* SCM_RIGHTS: the passed file outlives its sender's fd, MSG_CTRUNC drops what does not fit, queued files are freed (ASan). */
START_TEST(test_scm_rights)
{
	int sv[2], xp[2], got[4];
	uint32_t fl;
	char c;
	pair(SOCK_STREAM, sv);
	pair(SOCK_STREAM, xp);
	ck_assert_int_eq(send_fds(sv[0], &xp[0], 1), 1);
	ck_assert_int_eq(sys_close(xp[0], 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(recv_fds(sv[1], LX_CMSG_SPACE(sizeof(int)), got, &fl), 1);
	ck_assert_uint_eq(fl, 0);
	ck_assert_int_eq(sys_write(got[0], L("v"), 1, 0, 0, 0), 1); /* the same socket, through the new fd */
	ck_assert_int_eq(sys_read(xp[1], L(&c), 1, 0, 0, 0), 1);
	ck_assert_int_eq(c, 'v');
	/* Three fds, room for one: the rest are closed and MSG_CTRUNC says so. */
	int three[3] = { got[0], got[0], xp[1] };
	ck_assert_int_eq(send_fds(sv[0], three, 3), 1);
	ck_assert_int_eq(recv_fds(sv[1], LX_CMSG_LEN(sizeof(int)), got + 1, &fl), 1);
	ck_assert_uint_eq(fl, MSG_CTRUNC);
	ck_assert_int_eq(sys_close(got[1], 0, 0, 0, 0, 0), 0);
	/* A bad fd refuses the whole message; read(2) drops the files that came with the data. */
	int badfd = 999;
	ck_assert_int_eq(send_fds(sv[0], &badfd, 1), -EBADF);
	ck_assert_int_eq(send_fds(sv[0], &got[0], 1), 1);
	ck_assert_int_eq(sys_read(sv[1], L(&c), 1, 0, 0, 0), 1);
	/* Datagrams, and files still queued when the receiver closes. */
	int dv[2];
	pair(SOCK_DGRAM, dv);
	ck_assert_int_eq(send_fds(dv[0], &got[0], 1), 1);
	ck_assert_int_eq(recv_fds(dv[1], LX_CMSG_SPACE(sizeof(int)), got + 2, &fl), 1);
	ck_assert_int_eq(sys_close(got[2], 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(send_fds(dv[0], &got[0], 1), 1);
	ck_assert_int_eq(send_fds(sv[0], &got[0], 1), 1);
	for (int i = 0; i < 2; i++) {
		sys_close(dv[i], 0, 0, 0, 0, 0);
		sys_close(sv[i], 0, 0, 0, 0, 0);
	}
	/* The passed socket's last references were in those queues: its peer now sees the hang-up. */
	ck_assert_int_eq(sys_close(got[0], 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_read(xp[1], L(&c), 1, 0, 0, 0), 0);
	sys_close(xp[1], 0, 0, 0, 0, 0);
}
END_TEST

/* SO_PEERCRED: the guest's process on a connected pair, none (pid 0, ids -1) on an unconnected socket. */
START_TEST(test_peercred)
{
	int sv[2];
	struct lx_ucred c;
	uint32_t l = sizeof(c);
	pair(SOCK_STREAM, sv);
	ck_assert_int_eq(sys_getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, L(&c), L(&l), 0), 0);
	ck_assert_uint_eq(l, sizeof(c));
	ck_assert_int_eq(c.pid, SOCK_CRED_PID);
	ck_assert_uint_eq(c.uid, SOCK_CRED_UID);
	int u = (int)sys_socket(AF_UNIX, SOCK_DGRAM, 0, 0, 0, 0);
	ck_assert_int_ge(u, 0);
	ck_assert_int_eq(sys_getsockopt(u, SOL_SOCKET, SO_PEERCRED, L(&c), L(&l), 0), 0);
	ck_assert_int_eq(c.pid, 0);
	ck_assert_uint_eq(c.gid, (uint32_t)-1);
	sys_close(u, 0, 0, 0, 0, 0);
	sys_close(sv[0], 0, 0, 0, 0, 0);
	sys_close(sv[1], 0, 0, 0, 0, 0);
}
END_TEST

START_TEST(test_dgram_pair)
{
	int sv[2];
	char buf[16];
	pair(SOCK_DGRAM, sv);
	ck_assert_int_eq(sys_sendto(sv[0], L("one"), 3, 0, 0, 0), 3);
	ck_assert_int_eq(sys_sendto(sv[0], L(""), 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_sendto(sv[0], L("three33"), 7, 0, 0, 0), 7);
	int n;
	ck_assert_int_eq(sys_ioctl(sv[1], FIONREAD, L(&n), 0, 0, 0), 0);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(sys_read(sv[1], L(buf), sizeof(buf), 0, 0, 0), 3);
	ck_assert_int_eq(sys_read(sv[1], L(buf), sizeof(buf), 0, 0, 0), 0);
	ck_assert_int_eq(sys_recvfrom(sv[1], L(buf), 2, MSG_PEEK | MSG_TRUNC, 0, 0), 7);
	struct iovec v = { buf, 2 };
	struct lx_msghdr mh = { .msg_iov = &v, .msg_iovlen = 1 };
	ck_assert_int_eq(sys_recvmsg(sv[1], L(&mh), 0, 0, 0, 0), 2);
	ck_assert_uint_eq(mh.msg_flags, MSG_TRUNC);
	ck_assert_int_eq(sys_recvfrom(sv[1], L(buf), 1, MSG_DONTWAIT, 0, 0), -EAGAIN);
	ck_assert_int_eq(sys_close(sv[0], 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_write(sv[1], L("x"), 1, 0, 0, 0), -ECONNREFUSED);
	ck_assert_int_eq(sys_write(sv[1], L("x"), 1, 0, 0, 0), -ENOTCONN);
	ck_assert_int_eq(sys_close(sv[1], 0, 0, 0, 0, 0), 0);
}
END_TEST

static uint32_t un_addr(const char *name, size_t len, struct lx_sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	memcpy(a->sun_path, name, len);
	return (uint32_t)(2 + len);
}

START_TEST(test_named_stream)
{
	struct lx_sockaddr_un a, pa;
	uint32_t alen = un_addr("srv.sock", 9, &a);
	int l = (int)sys_socket(AF_UNIX, SOCK_STREAM, 0, 0, 0, 0);
	ck_assert_int_ge(l, 3);
	ck_assert_int_eq(sys_listen(l, 4, 0, 0, 0, 0), -EINVAL); /* unbound */
	ck_assert_int_eq(sys_bind(l, L(&a), alen, 0, 0, 0), 0);
	struct stat st;
	ck_assert_int_eq(sys_stat(L("/srv.sock"), L(&st), 0, 0, 0, 0), 0);
	ck_assert_int_eq(st.st_mode & S_IFMT, S_IFSOCK);
	ck_assert_int_eq(sys_bind(l, L(&a), alen, 0, 0, 0), -EADDRINUSE);
	ck_assert_int_eq(sys_listen(l, 0, 0, 0, 0, 0), 0);
	ck_assert_uint_eq(poll1(l), 0);
	int c = (int)sys_socket(AF_UNIX, SOCK_STREAM, 0, 0, 0, 0);
	int c2 = (int)sys_socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, 0, 0, 0);
	ck_assert_int_eq(sys_connect(c, L(&a), alen, 0, 0, 0), 0);
	ck_assert_int_eq(sys_connect(c2, L(&a), alen, 0, 0, 0), -EAGAIN); /* backlog 0 holds one */
	ck_assert_uint_eq(poll1(l), POLLIN | POLLRDNORM);
	ck_assert_int_eq(sys_write(c, L("early"), 5, 0, 0, 0), 5);
	uint32_t pl = sizeof(pa);
	int s = (int)sys_accept4(l, L(&pa), L(&pl), SOCK_CLOEXEC, 0, 0);
	ck_assert_int_ge(s, 3);
	ck_assert_uint_eq(pl, 2); /* the client is unnamed */
	ck_assert_int_eq(sys_fcntl(s, F_GETFD, 0, 0, 0, 0), FD_CLOEXEC);
	ck_assert_int_eq(sys_accept4(l, 0, 0, SOCK_NONBLOCK, 0, 0), -EAGAIN); /* blocking listener: waited, timed out */
	char buf[8];
	ck_assert_int_eq(sys_read(s, L(buf), sizeof(buf), 0, 0, 0), 5);
	pl = sizeof(pa);
	ck_assert_int_eq(sys_getpeername(c, L(&pa), L(&pl), 0, 0, 0), 0);
	ck_assert_uint_eq(pl, 11);
	ck_assert_str_eq(pa.sun_path, "srv.sock");
	ck_assert_int_eq(sys_write(s, L("hi"), 2, 0, 0, 0), 2);
	pl = sizeof(pa);
	ck_assert_int_eq(sys_recvfrom(c, L(buf), sizeof(buf), 0, L(&pa), L(&pl)), 2);
	ck_assert_uint_eq(pl, 11);
	ck_assert_int_eq(sys_connect(c, L(&a), alen, 0, 0, 0), -EISCONN);
	ck_assert_int_eq(sys_connect(l, L(&a), alen, 0, 0, 0), -EINVAL);
	/* The listener goes: its name refuses; unlinked, it is gone. */
	ck_assert_int_eq(sys_close(l, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_connect(c2, L(&a), alen, 0, 0, 0), -ECONNREFUSED);
	ck_assert_int_eq(sys_unlink(L("srv.sock"), 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_connect(c2, L(&a), alen, 0, 0, 0), -ENOENT);
	int d = (int)sys_socket(AF_UNIX, SOCK_DGRAM, 0, 0, 0, 0);
	ck_assert_int_eq(sys_listen(d, 1, 0, 0, 0, 0), -EOPNOTSUPP);
	ck_assert_int_eq(sys_accept4(d, 0, 0, 0, 0, 0), -EOPNOTSUPP);
	sys_close(c, 0, 0, 0, 0, 0);
	sys_close(c2, 0, 0, 0, 0, 0);
	sys_close(s, 0, 0, 0, 0, 0);
	sys_close(d, 0, 0, 0, 0, 0);
}
END_TEST

START_TEST(test_abstract_dgram)
{
	struct lx_sockaddr_un ab, sn, pa;
	uint32_t ablen = un_addr("\0socktest-abs", 13, &ab);
	uint32_t snlen = un_addr("snd.sock", 9, &sn);
	char buf[8];
	int r = (int)sys_socket(AF_UNIX, SOCK_DGRAM, 0, 0, 0, 0);
	int r2 = (int)sys_socket(AF_UNIX, SOCK_DGRAM, 0, 0, 0, 0);
	ck_assert_int_eq(sys_bind(r, L(&ab), ablen, 0, 0, 0), 0);
	ck_assert_int_eq(sys_bind(r2, L(&ab), ablen, 0, 0, 0), -EADDRINUSE);
	ck_assert_int_eq(sys_bind(r2, L(&sn), snlen, 0, 0, 0), 0);
	ck_assert_int_eq(sys_bind(r2, L(&ab), 2, 0, 0, 0), -EINVAL); /* autobind of a bound socket */
	ck_assert_int_eq(sys_sendto(r2, L("dg"), 2, 0, L(&ab), ablen), 2);
	ck_assert_int_eq(sys_sendto(r2, L("dg"), 2, 0, 0, 0), -ENOTCONN);
	uint32_t pl = sizeof(pa);
	ck_assert_int_eq(sys_recvfrom(r, L(buf), sizeof(buf), 0, L(&pa), L(&pl)), 2);
	ck_assert_uint_eq(pl, 11);
	ck_assert_str_eq(pa.sun_path, "snd.sock");
	/* An unnamed sender has no address at all; autobind gives an abstract one. */
	int anon = (int)sys_socket(AF_UNIX, SOCK_DGRAM, 0, 0, 0, 0);
	ck_assert_int_eq(sys_sendto(anon, L("an"), 2, 0, L(&ab), ablen), 2);
	pl = sizeof(pa);
	ck_assert_int_eq(sys_recvfrom(r, L(buf), sizeof(buf), 0, L(&pa), L(&pl)), 2);
	ck_assert_uint_eq(pl, 0);
	ck_assert_int_eq(sys_bind(anon, L(&ab), 2, 0, 0, 0), 0);
	pl = sizeof(pa);
	ck_assert_int_eq(sys_getsockname(anon, L(&pa), L(&pl), 0, 0, 0), 0);
	ck_assert_uint_eq(pl, 8);
	ck_assert_int_eq(pa.sun_path[0], 0);
	/* Connected: another sender is refused by the target (EPERM), the target going is ECONNREFUSED then ENOTCONN. */
	ck_assert_int_eq(sys_connect(anon, L(&ab), ablen, 0, 0, 0), 0);
	ck_assert_int_eq(sys_connect(r, L(&pa), 8, 0, 0, 0), 0);
	ck_assert_int_eq(sys_sendto(r2, L("no"), 2, 0, L(&ab), ablen), -EPERM);
	ck_assert_int_eq(sys_write(anon, L("c1"), 2, 0, 0, 0), 2);
	ck_assert_int_eq(sys_close(r, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_write(anon, L("c2"), 2, 0, 0, 0), -ECONNREFUSED);
	ck_assert_int_eq(sys_write(anon, L("c3"), 2, 0, 0, 0), -ENOTCONN);
	ck_assert_int_eq(sys_sendto(anon, L("c4"), 2, 0, L(&ab), ablen), -ECONNREFUSED);
	sys_close(anon, 0, 0, 0, 0, 0);
	sys_close(r2, 0, 0, 0, 0, 0);
}
END_TEST

START_TEST(test_options)
{
	int s = (int)sys_socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, 0, 0, 0);
	ck_assert_int_eq(sys_fcntl(s, F_GETFL, 0, 0, 0, 0), O_RDWR | O_NONBLOCK);
	ck_assert_int_eq(sys_fcntl(s, F_GETFD, 0, 0, 0, 0), FD_CLOEXEC);
	int v = 0;
	uint32_t l = sizeof(v);
	ck_assert_int_eq(sys_getsockopt(s, SOL_SOCKET, SO_TYPE, L(&v), L(&l), 0), 0);
	ck_assert_int_eq(v, SOCK_STREAM);
	ck_assert_int_eq(sys_getsockopt(s, SOL_SOCKET, SO_DOMAIN, L(&v), L(&l), 0), 0);
	ck_assert_int_eq(v, AF_UNIX);
	ck_assert_int_eq(sys_getsockopt(s, SOL_SOCKET, 9999, L(&v), L(&l), 0), -ENOPROTOOPT);
	ck_assert_int_eq(sys_setsockopt(s, SOL_SOCKET, SO_TYPE, L(&v), sizeof(v), 0), -ENOPROTOOPT);
	ck_assert_int_eq(sys_setsockopt(s, SOL_SOCKET, SO_REUSEADDR, L(&v), 2, 0), -EINVAL);
	ck_assert_int_eq(sys_setsockopt(s, IPPROTO_TCP, TCP_NODELAY, L(&v), sizeof(v), 0), -EOPNOTSUPP);
	/* Buffer sizes: doubled, clamped to the maximum, floored. */
	v = 65536;
	ck_assert_int_eq(sys_setsockopt(s, SOL_SOCKET, SO_RCVBUF, L(&v), sizeof(v), 0), 0);
	ck_assert_int_eq(sys_getsockopt(s, SOL_SOCKET, SO_RCVBUF, L(&v), L(&l), 0), 0);
	ck_assert_int_eq(v, 131072);
	v = -1;
	ck_assert_int_eq(sys_setsockopt(s, SOL_SOCKET, SO_SNDBUF, L(&v), sizeof(v), 0), 0);
	ck_assert_int_eq(sys_getsockopt(s, SOL_SOCKET, SO_SNDBUF, L(&v), L(&l), 0), 0);
	ck_assert_int_eq(v, 2 * SOCK_BUF_MAX);
	v = 1;
	ck_assert_int_eq(sys_setsockopt(s, SOL_SOCKET, SO_SNDBUF, L(&v), sizeof(v), 0), 0);
	ck_assert_int_eq(sys_getsockopt(s, SOL_SOCKET, SO_SNDBUF, L(&v), L(&l), 0), 0);
	ck_assert_int_eq(v, SOCK_MIN_SNDBUF);
	/* Timeouts: EDOM for bad microseconds; a short getsockopt is truncated. */
	struct lx_timeval tv = { 0, 1000000 };
	ck_assert_int_eq(sys_setsockopt(s, SOL_SOCKET, SO_RCVTIMEO_OLD, L(&tv), sizeof(tv), 0), -EDOM);
	ck_assert_int_eq(sys_setsockopt(s, SOL_SOCKET, SO_RCVTIMEO_OLD, L(&tv), 8, 0), -EINVAL);
	tv = (struct lx_timeval){ 1, 500000 };
	ck_assert_int_eq(sys_setsockopt(s, SOL_SOCKET, SO_SNDTIMEO_OLD, L(&tv), sizeof(tv), 0), 0);
	memset(&tv, 0, sizeof(tv));
	l = sizeof(tv);
	ck_assert_int_eq(sys_getsockopt(s, SOL_SOCKET, SO_SNDTIMEO_OLD, L(&tv), L(&l), 0), 0);
	ck_assert_int_eq(tv.tv_sec, 1);
	ck_assert_int_eq(tv.tv_usec, 500000);
	ck_assert_uint_eq(l, sizeof(tv));
	char c = 0x55;
	l = 1;
	ck_assert_int_eq(sys_getsockopt(s, SOL_SOCKET, SO_TYPE, L(&c), L(&l), 0), 0);
	ck_assert_int_eq(c, SOCK_STREAM);
	ck_assert_uint_eq(l, 1);
	struct lx_linger lg = { 1, 5 };
	ck_assert_int_eq(sys_setsockopt(s, SOL_SOCKET, SO_LINGER, L(&lg), sizeof(lg), 0), 0);
	ck_assert_int_eq(sys_setsockopt(s, SOL_SOCKET, SO_LINGER, L(&lg), 4, 0), -EINVAL);
	memset(&lg, 0, sizeof(lg));
	l = sizeof(lg);
	ck_assert_int_eq(sys_getsockopt(s, SOL_SOCKET, SO_LINGER, L(&lg), L(&l), 0), 0);
	ck_assert_int_eq(lg.l_onoff, 1);
	ck_assert_int_eq(lg.l_linger, 5);
	sys_close(s, 0, 0, 0, 0, 0);
}
END_TEST

START_TEST(test_socket_args)
{
	ck_assert_int_eq(sys_socket(AF_INET6, SOCK_STREAM, 0, 0, 0, 0), -EAFNOSUPPORT);
	ck_assert_int_eq(sys_socket(12345, SOCK_STREAM, 0, 0, 0, 0), -EAFNOSUPPORT);
	ck_assert_int_eq(sys_socket(-1, SOCK_STREAM, 0, 0, 0, 0), -EAFNOSUPPORT);
	ck_assert_int_eq(sys_socket(AF_UNIX, 99, 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_socket(AF_UNIX, SOCK_STREAM | 0x100, 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_socket(AF_UNIX, SOCK_STREAM, 7, 0, 0, 0), -EPROTONOSUPPORT);
	ck_assert_int_eq(sys_socket(AF_UNIX, SOCK_SEQPACKET, 0, 0, 0, 0), -ESOCKTNOSUPPORT);
	int p[2];
	ck_assert_int_eq(sys_pipe(L(p), 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_listen(p[0], 1, 0, 0, 0, 0), -ENOTSOCK);
	ck_assert_int_eq(sys_shutdown(p[0], 0, 0, 0, 0, 0), -ENOTSOCK);
	ck_assert_int_eq(sys_listen(-1, 1, 0, 0, 0, 0), -EBADF);
	ck_assert_int_eq(sys_listen(FS_MAX_FDS, 1, 0, 0, 0, 0), -EBADF);
	ck_assert_int_eq(sys_socketpair(AF_INET, SOCK_STREAM, 0, L(p), 0, 0), -EAFNOSUPPORT);
	/* sockaddr_in checks, shared by TCP and UDP. */
	struct lx_sockaddr_in in = { .sin_family = AF_INET };
	ck_assert_int_eq(sock_in_check(&in, sizeof(in), false), 0);
	ck_assert_int_eq(sock_in_check(&in, sizeof(in) - 1, false), -EINVAL);
	in.sin_family = AF_INET6;
	ck_assert_int_eq(sock_in_check(&in, sizeof(in), true), -EAFNOSUPPORT);
	in.sin_family = AF_UNSPEC;
	ck_assert_int_eq(sock_in_check(&in, sizeof(in), false), 0); /* bind(AF_UNSPEC, INADDR_ANY) */
	ck_assert_int_eq(sock_in_check(&in, sizeof(in), true), -EAFNOSUPPORT);
	in.sin_addr = 0x0100007f;
	ck_assert_int_eq(sock_in_check(&in, sizeof(in), false), -EAFNOSUPPORT);
	uint8_t out[32];
	uint32_t ol = 4;
	memset(out, 0xee, sizeof(out));
	sock_in_put(out, &ol, 0x0100007f, 0x5000);
	ck_assert_uint_eq(ol, 16);
	ck_assert_uint_eq(out[4], 0xee); /* truncated to the room */
}
END_TEST

START_TEST(test_exit_closes_sockets)
{
	int sv[2], p[2];
	pair(SOCK_STREAM, sv);
	ck_assert_int_eq(sys_pipe(L(p), 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_write(sv[0], L("unread"), 6, 0, 0, 0), 6);
	sock_exit();
	/* Every socket fd is closed, other files are not. */
	ck_assert_int_eq(sys_close(sv[0], 0, 0, 0, 0, 0), -EBADF);
	ck_assert_int_eq(sys_close(sv[1], 0, 0, 0, 0, 0), -EBADF);
	ck_assert_int_eq(sys_close(p[0], 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_close(p[1], 0, 0, 0, 0, 0), 0);
}
END_TEST

/* ---------------- limits ---------------- */

START_TEST(test_stream_bounded)
{
	int sv[2];
	pair(SOCK_STREAM | SOCK_NONBLOCK, sv);
	static uint8_t big[1 << 20], out[1 << 20];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 13 + (i >> 9));
	long w = sys_write(sv[0], L(big), sizeof(big), 0, 0, 0);
	ck_assert_int_eq(w, SOCK_BUF_DEFAULT); /* SO_SNDBUF bounds what waits for the reader */
	ck_assert_int_eq(sys_write(sv[0], L(big), 1, 0, 0, 0), -EAGAIN);
	ck_assert_uint_eq(poll1(sv[0]) & POLLOUT, 0);
	long r = sys_read(sv[1], L(out), 100000, 0, 0, 0);
	ck_assert_int_eq(r, 100000);
	ck_assert_uint_eq(poll1(sv[0]) & POLLOUT, 0); /* writable again below a quarter */
	long w2 = sys_write(sv[0], L(big + w), 100000, 0, 0, 0); /* wraps the ring */
	ck_assert_int_eq(w2, 100000);
	long r2 = sys_read(sv[1], L(out + r), sizeof(out), 0, 0, 0);
	ck_assert_int_eq(r + r2, w + w2);
	ck_assert_int_eq(memcmp(big, out, (size_t)(w + w2)), 0);
	ck_assert_uint_eq(poll1(sv[0]) & POLLOUT, POLLOUT);
	sys_close(sv[0], 0, 0, 0, 0, 0);
	sys_close(sv[1], 0, 0, 0, 0, 0);
}
END_TEST

START_TEST(test_dgram_bounded)
{
	struct lx_sockaddr_un ab;
	uint32_t ablen = un_addr("\0q", 2, &ab);
	int r = (int)sys_socket(AF_UNIX, SOCK_DGRAM, 0, 0, 0, 0);
	int s = (int)sys_socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, 0, 0, 0);
	ck_assert_int_eq(sys_bind(r, L(&ab), ablen, 0, 0, 0), 0);
	ck_assert_int_eq(sys_connect(s, L(&ab), ablen, 0, 0, 0), 0);
	int sent = 0;
	while (sys_write(s, L("d"), 1, 0, 0, 0) == 1 && sent < 100)
		sent++;
	ck_assert_int_eq(sent, 11); /* max_dgram_qlen 10: the queue is full past it */
	ck_assert_uint_eq(poll1(s) & POLLOUT, 0);
	char c;
	ck_assert_int_eq(sys_read(r, L(&c), 1, 0, 0, 0), 1);
	ck_assert_uint_eq(poll1(s) & POLLOUT, POLLOUT);
	/* A datagram larger than SO_SNDBUF allows. */
	static uint8_t big[300000];
	ck_assert_int_eq(sys_write(s, L(big), sizeof(big), 0, 0, 0), -EMSGSIZE);
	/* A pair has no queue-length limit, only the sender's SO_SNDBUF. */
	int sv[2];
	pair(SOCK_DGRAM | SOCK_NONBLOCK, sv);
	long total = 0, w;
	while ((w = sys_write(sv[0], L(big), 10000, 0, 0, 0)) > 0 && total < 10000000)
		total += w;
	ck_assert_int_eq(w, -EAGAIN);
	ck_assert_int_gt(total, 100000);
	ck_assert_int_le(total, SOCK_BUF_DEFAULT);
	sys_close(sv[0], 0, 0, 0, 0, 0);
	sys_close(sv[1], 0, 0, 0, 0, 0);
	sys_close(r, 0, 0, 0, 0, 0);
	sys_close(s, 0, 0, 0, 0, 0);
}
END_TEST

START_TEST(test_many_connections)
{
	struct lx_sockaddr_un a;
	uint32_t alen = un_addr("m.sock", 7, &a);
	int l = (int)sys_socket(AF_UNIX, SOCK_STREAM, 0, 0, 0, 0);
	ck_assert_int_eq(sys_bind(l, L(&a), alen, 0, 0, 0), 0);
	ck_assert_int_eq(sys_listen(l, 100, 0, 0, 0, 0), 0);
	int c[50];
	for (int i = 0; i < 50; i++) {
		c[i] = (int)sys_socket(AF_UNIX, SOCK_STREAM, 0, 0, 0, 0);
		ck_assert_int_eq(sys_connect(c[i], L(&a), alen, 0, 0, 0), 0);
		ck_assert_int_eq(sys_write(c[i], L(&i), sizeof(i), 0, 0, 0), sizeof(i));
	}
	for (int i = 0; i < 25; i++) {
		int s = (int)sys_accept4(l, 0, 0, 0, 0, 0);
		int v = -1;
		ck_assert_int_eq(sys_read(s, L(&v), sizeof(v), 0, 0, 0), sizeof(v));
		ck_assert_int_eq(v, i); /* accepted in connect order */
		sys_close(s, 0, 0, 0, 0, 0);
	}
	/* The listener closes with 25 pending: their clients are reset. */
	ck_assert_int_eq(sys_close(l, 0, 0, 0, 0, 0), 0);
	char b;
	ck_assert_int_eq(sys_read(c[49], L(&b), 1, 0, 0, 0), -ECONNRESET);
	ck_assert_int_eq(sys_read(c[0], L(&b), 1, 0, 0, 0), 0);
	for (int i = 0; i < 50; i++)
		ck_assert_int_eq(sys_close(c[i], 0, 0, 0, 0, 0), 0);
}
END_TEST

/* ---------------- hostile ---------------- */

START_TEST(test_bad_pointers)
{
	int sv[2];
	pair(SOCK_STREAM, sv);
	ck_assert_int_eq(sys_socketpair(AF_UNIX, SOCK_STREAM, 0, BAD_PTR, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_write(sv[0], BAD_PTR, 4, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_sendto(sv[0], BAD_PTR, 4, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_write(sv[0], L("data"), 4, 0, 0, 0), 4);
	ck_assert_int_eq(sys_recvfrom(sv[1], BAD_PTR, 4, 0, 0, 0), -EFAULT);
	char buf[8];
	ck_assert_int_eq(sys_recvfrom(sv[1], L(buf), 4, 0, L(buf), BAD_PTR), -EFAULT);
	int neg = -1;
	ck_assert_int_eq(sys_recvfrom(sv[1], L(buf), 4, 0, L(buf), L(&neg)), -EINVAL);
	ck_assert_int_eq(sys_read(sv[1], L(buf), 4, 0, 0, 0), 4); /* none of that lost the data */
	/* Addresses: too long, negative, unreadable. */
	struct lx_sockaddr_un a;
	uint32_t alen = un_addr("x.sock", 7, &a);
	ck_assert_int_eq(sys_bind(sv[0], L(&a), 129, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_bind(sv[0], L(&a), -1, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_bind(sv[0], BAD_PTR, alen, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_connect(sv[0], BAD_PTR, alen, 0, 0, 0), -EFAULT);
	uint8_t longer[LX_SOCKADDR_MAX] = { AF_UNIX, 0, 'x' };
	ck_assert_int_eq(sys_bind(sv[0], L(longer), 111, 0, 0, 0), -EINVAL); /* longer than sockaddr_un */
	ck_assert_int_eq(sys_bind(sv[0], L(&a), 1, 0, 0, 0), -EINVAL);
	uint32_t l = sizeof(a);
	ck_assert_int_eq(sys_getsockname(sv[0], BAD_PTR, L(&l), 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_getsockname(sv[0], L(&a), BAD_PTR, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_accept4(sv[0], 0, 0, 0x4, 0, 0), -EINVAL);
	/* A full sun_path without a NUL is a 108-byte name (Linux puts the NUL past the struct). */
	memset(a.sun_path, 'p', sizeof(a.sun_path));
	int u = (int)sys_socket(AF_UNIX, SOCK_DGRAM, 0, 0, 0, 0);
	ck_assert_int_eq(sys_bind(u, L(&a), sizeof(a), 0, 0, 0), 0);
	uint8_t got[LX_SOCKADDR_MAX];
	l = sizeof(got);
	ck_assert_int_eq(sys_getsockname(u, L(got), L(&l), 0, 0, 0), 0);
	ck_assert_uint_eq(l, 111);
	ck_assert_uint_eq(got[109], 'p');
	ck_assert_uint_eq(got[110], 0);
	sys_close(u, 0, 0, 0, 0, 0);
	/* Options. */
	int v;
	ck_assert_int_eq(sys_getsockopt(sv[0], SOL_SOCKET, SO_TYPE, L(&v), BAD_PTR, 0), -EFAULT);
	l = 4;
	ck_assert_int_eq(sys_getsockopt(sv[0], SOL_SOCKET, SO_TYPE, BAD_PTR, L(&l), 0), -EFAULT);
	l = (uint32_t)-1;
	ck_assert_int_eq(sys_getsockopt(sv[0], SOL_SOCKET, SO_TYPE, L(&v), L(&l), 0), -EINVAL);
	ck_assert_int_eq(sys_setsockopt(sv[0], SOL_SOCKET, SO_KEEPALIVE, BAD_PTR, 4, 0), -EFAULT);
	ck_assert_int_eq(sys_setsockopt(sv[0], SOL_SOCKET, SO_KEEPALIVE, L(&v), -1, 0), -EINVAL);
	/* Message headers. */
	ck_assert_int_eq(sys_sendmsg(sv[0], BAD_PTR, 0, 0, 0, 0), -EFAULT);
	struct iovec iov[2] = { { buf, 4 }, { (void *)BAD_PTR, 4 } };
	struct lx_msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	ck_assert_int_eq(sys_sendmsg(sv[0], L(&mh), 0, 0, 0, 0), -EFAULT);
	mh.msg_iovlen = 1025;
	ck_assert_int_eq(sys_sendmsg(sv[0], L(&mh), 0, 0, 0, 0), -EMSGSIZE);
	struct iovec huge[2] = { { buf, (size_t)INT64_MAX }, { buf, (size_t)INT64_MAX } };
	mh = (struct lx_msghdr){ .msg_iov = huge, .msg_iovlen = 2 };
	ck_assert_int_eq(sys_sendmsg(sv[0], L(&mh), 0, 0, 0, 0), -EINVAL);
	mh = (struct lx_msghdr){ .msg_iov = iov, .msg_iovlen = 1, .msg_name = &a, .msg_namelen = 200 };
	ck_assert_int_eq(sys_sendmsg(sv[0], L(&mh), 0, 0, 0, 0), -EINVAL);
	mh = (struct lx_msghdr){ .msg_iov = iov, .msg_iovlen = 1, .msg_name = &a, .msg_namelen = (uint32_t)-5 };
	ck_assert_int_eq(sys_recvmsg(sv[1], L(&mh), 0, 0, 0, 0), -EINVAL);
	mh = (struct lx_msghdr){ .msg_iov = iov, .msg_iovlen = 1, .msg_name = (void *)BAD_PTR, .msg_namelen = 16 };
	ck_assert_int_eq(sys_recvmsg(sv[1], L(&mh), 0, 0, 0, 0), -EFAULT);
	sys_close(sv[0], 0, 0, 0, 0, 0);
	sys_close(sv[1], 0, 0, 0, 0, 0);
	ck_assert_int_eq(sys_sendto(sv[0], L(buf), 1, 0, 0, 0), -EBADF);
}
END_TEST

START_TEST(test_alloc_failure)
{
	int sv[2];
	for (int n = 1; n < 12; n++) {
		fs_shim_fail_alloc_after = n;
		long rc = sys_socketpair(AF_UNIX, SOCK_STREAM, 0, L(sv), 0, 0);
		fs_shim_fail_alloc_after = 0;
		if (rc == 0) {
			sys_close(sv[0], 0, 0, 0, 0, 0);
			sys_close(sv[1], 0, 0, 0, 0, 0);
		} else {
			ck_assert_int_eq(rc, -ENOMEM);
		}
	}
	pair(SOCK_STREAM, sv);
	fs_shim_fail_alloc_after = 1;
	ck_assert_int_eq(sys_write(sv[0], L("x"), 1, 0, 0, 0), -ENOBUFS); /* the ring could not be allocated */
	fs_shim_fail_alloc_after = 0;
	ck_assert_int_eq(sys_write(sv[0], L("x"), 1, 0, 0, 0), 1);
	sys_close(sv[0], 0, 0, 0, 0, 0);
	sys_close(sv[1], 0, 0, 0, 0, 0);
}
END_TEST

Suite *sock_suite(void)
{
	Suite *s = suite_create("sock");
	TCase *core = tcase_create("core");
	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_test(core, test_stream_pair);
	tcase_add_test(core, test_msg_vectors);
	tcase_add_test(core, test_scm_rights);
	tcase_add_test(core, test_peercred);
	tcase_add_test(core, test_dgram_pair);
	tcase_add_test(core, test_named_stream);
	tcase_add_test(core, test_abstract_dgram);
	tcase_add_test(core, test_options);
	tcase_add_test(core, test_socket_args);
	tcase_add_test(core, test_exit_closes_sockets);
	suite_add_tcase(s, core);
	TCase *limits = tcase_create("limits");
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_add_test(limits, test_stream_bounded);
	tcase_add_test(limits, test_dgram_bounded);
	tcase_add_test(limits, test_many_connections);
	tcase_add_test(limits, test_alloc_failure);
	suite_add_tcase(s, limits);
	TCase *hostile = tcase_create("hostile");
	tcase_add_checked_fixture(hostile, setup, teardown);
	tcase_add_test(hostile, test_bad_pointers);
	suite_add_tcase(s, hostile);
	return s;
}
