/*
 * check_net.c: networking end to end, every test inside throwaway network namespaces (netns.h).
 * Each test runs first against the app NATIVELY (in a peer namespace joined by a veth pair: this
 * proves the test itself) and then in ukvm (the monitor on a tap in the test's namespace); the same
 * addresses on both, so the checks are the same code. The test thread joins the host-side namespace:
 * its sockets never touch the root namespace.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <net/if.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "it_net.h"
#include "it_util.h"
#include "netns.h"
#include "netpat.h"

/* Where an app runs: _i of every loop test. */
enum target { NATIVE, UKVM };
static const char *const target_name[] = {"native", "ukvm"};

/*
 * Loop ends: the ukvm half of a test is enabled (UKVM + 1) once the stack it needs is on main and
 * it passes; NATIVE + 1 runs only the native half (the test proven, the guest not there yet).
 */
#define T_TCP   (UKVM + 1) /* virtio-net + tap, lwIP, sockets, threads */
#define T_HTTP  (UKVM + 1) /* + epoll, accept4 */
#define T_UDP   (UKVM + 1)
#define T_PING  (UKVM + 1)
#define T_USER  (UKVM + 1) /* --net user (libslirp) */
#define T_FLOOD (UKVM + 1) /* ukvm only: the app drives the virtio device itself */
#define T_ECHO  (UKVM + 1)
#define T_2NIC  (UKVM + 1)
/* tcpecho CLIENTS exits right after its last close(): the kernel's exit path lets TCP finish sending. */
#define T_EXIT  (UKVM + 1)

#define HOST_IP   "10.77.0.1"
#define GUEST_IP  "10.77.0.2"
#define HOST2_IP  "10.78.0.1"
#define GUEST2_IP "10.78.0.2"

static struct netns ns;

/* ---- environment: namespaces and the app -------------------------------------- */

/*
 * The test's namespace with nics links: native, veth pairs to the peer namespace where the app
 * runs; ukvm, taps the monitor opens. nics 0: lo only (user-mode networking). Joins it.
 */
static void env_up(enum target t, int nics)
{
	char why[768];
	ck_assert_msg(netns_create(&ns, why, sizeof(why)) == 0, "%s", why);
	static const char *const host[] = {HOST_IP "/24", HOST2_IP "/24"};
	static const char *const guest[] = {GUEST_IP "/24", GUEST2_IP "/24"};
	for (int i = 0; i < nics; i++) {
		char hif[16], gif[16];
		int r;
		if (t == NATIVE) {
			snprintf(hif, sizeof(hif), "veth%d", i);
			snprintf(gif, sizeof(gif), "eth%d", i);
			r = netns_add_veth(&ns, hif, host[i], gif, guest[i], why, sizeof(why));
		} else {
			snprintf(hif, sizeof(hif), "tap%d", i);
			r = netns_add_tap(&ns, hif, host[i], why, sizeof(why));
		}
		ck_assert_msg(r == 0, "%s", why);
	}
	ck_assert_int_eq(netns_enter(&ns, false), 0);
}

static void env_down(void)
{
	netns_destroy(&ns);
}

/*
 * Starts a program with args (NULL-ended) under `ip netns exec`: natively the program `native`
 * in the peer namespace, in ukvm the monitor with image `img` in the test's namespace with a NIC
 * per tap (or --net user when nics is 0 and user_net is given); waits until it prints `ready`.
 */
static void app_start_as(struct it_proc *p, enum target t, int nics, const char *user_net, const char *native,
			 const char *img, const char *const *args, const char *ready)
{
	const char *cmd[48];
	size_t n = 0;
	char path[4096], net[2][96];
	static const char *const guest[] = {GUEST_IP "/24," "gw=" HOST_IP, GUEST2_IP "/24"};
	const char *app = t == NATIVE ? native : img;

	if (t == NATIVE) {
		cmd[n++] = native;
	} else {
		snprintf(path, sizeof(path), "%s", it_path("ukvm-run"));
		cmd[n++] = path;
		const char *pv = getenv("UKVM_TEST_PV");
		if (pv && *pv) {
			cmd[n++] = "--pv";
			cmd[n++] = pv;
		}
		cmd[n++] = "--timeout";
		cmd[n++] = "120"; /* a backstop only: every test stops it itself */
		cmd[n++] = "--stats";
		for (int i = 0; i < nics; i++) {
			snprintf(net[i], sizeof(net[i]), "tap:tap%d,ip=%s", i, guest[i]);
			cmd[n++] = "--net";
			cmd[n++] = net[i];
		}
		if (user_net) {
			cmd[n++] = "--net";
			cmd[n++] = user_net;
		}
		cmd[n++] = img;
		cmd[n++] = "--";
	}
	for (size_t i = 0; args[i] && n < 40; i++)
		cmd[n++] = args[i];
	cmd[n] = NULL;
	const char *argv[56];
	netns_exec_argv(&ns, t == NATIVE && nics > 0, cmd, argv, 56);
	ck_assert_int_eq(it_start(p, netns_ip_prog(), argv + 1), 0);
	if (ready && !it_wait_output(p, ready, 20)) {
		struct it_result r;
		it_finish(p, SIGKILL, 5, &r, NULL);
		ck_abort_msg("%s %s never printed \"%s\"\nout: %s\nerr: %s", target_name[t], app, ready, r.out, r.err);
	}
}

/* app_start_as for one of our apps: apps/APP natively, apps/APP.img in ukvm. */
static void app_start(struct it_proc *p, enum target t, int nics, const char *user_net, const char *app,
		      const char *const *args, const char *ready)
{
	char native[4096], img[4096];
	snprintf(native, sizeof(native), "apps/%s", app);
	snprintf(native, sizeof(native), "%s", it_path(native));
	snprintf(img, sizeof(img), "apps/%s.img", app);
	snprintf(img, sizeof(img), "%s", it_path(img));
	app_start_as(p, t, nics, user_net, native, img, args, ready);
}

/* The usual start of a test: the environment (env_up), then the app in it (app_start). */
static void app_up(struct it_proc *p, enum target t, int nics, const char *user_net, const char *app,
		   const char *const *args, const char *ready)
{
	env_up(t, nics);
	app_start(p, t, nics, user_net, app, args, ready);
}

/* The usual end, once the test has checked the app's result: frees it and the environment. */
static void app_down(struct it_result *r)
{
	it_result_free(r);
	env_down();
}

/* Stops the app (SIGTERM; SIGKILL after 5 s) and returns its result. */
static void app_stop(struct it_proc *p, struct it_result *r)
{
	ck_assert_int_eq(it_finish(p, SIGTERM, (it_now_s() * 1e3 - p->t0) / 1e3 + 5, r, NULL), 0);
}

/* Waits for the app to exit by itself within limit_s more seconds. */
static void app_wait(struct it_proc *p, struct it_result *r, double limit_s)
{
	ck_assert_int_eq(it_finish(p, 0, (it_now_s() * 1e3 - p->t0) / 1e3 + limit_s, r, NULL), 0);
}

/* ---- host-side sockets ---------------------------------------------------------- */

/* A connected TCP socket to ip:port (non-blocking when nb), or asserts. */
static int tcp_connect(const char *ip, int port, int nb)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nb ? SOCK_NONBLOCK : 0), 0);
	ck_assert_int_ge(fd, 0);
	struct sockaddr_in a = it_sin(ip, port);
	int r = connect(fd, (struct sockaddr *)&a, sizeof(a));
	ck_assert_msg(r == 0 || (nb && errno == EINPROGRESS), "connect %s:%d: %s", ip, port, strerror(errno));
	return fd;
}

static int tcp_listen(const char *ip, int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_in a = it_sin(ip, port);
	ck_assert_int_ge(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_msg(!bind(fd, (struct sockaddr *)&a, sizeof(a)) && !listen(fd, 16), "listen: %s", strerror(errno));
	return fd;
}

/* accept with a deadline, or asserts. */
static int tcp_accept(int ls, double limit_s)
{
	struct pollfd p = {ls, POLLIN, 0};
	ck_assert_msg(poll(&p, 1, (int)(limit_s * 1e3)) == 1, "no connection within %.0f s", limit_s);
	int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	struct timeval tv = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* One TCP stream through an echo server: what was sent, what came back and was checked. */
struct echo_st {
	int fd;
	uint64_t seed, sent, got;
	int eof;
};

/*
 * Pushes bytes of stream seed through each of n echo connections at once and checks every byte
 * that comes back; half-closes each after its last byte and expects EOF right after its echo.
 */
static void echo_streams(struct echo_st *s, int n, uint64_t bytes, double limit_s)
{
	static uint8_t buf[65536];
	double end = it_now_s() + limit_s;
	int open = n;
	for (int i = 0; i < n; i++)
		fcntl(s[i].fd, F_SETFL, O_NONBLOCK);
	while (open > 0) {
		struct pollfd p[8];
		ck_assert_int_le(n, 8);
		for (int i = 0; i < n; i++)
			p[i] = (struct pollfd){s[i].eof ? -1 : s[i].fd, POLLIN | (s[i].sent < bytes ? POLLOUT : 0), 0};
		double left = end - it_now_s();
		if (left <= 0) {
			char m[512];
			int k = 0;
			for (int i = 0; i < n && k >= 0 && (size_t)k < sizeof(m); i++)
				k += snprintf(m + k, sizeof(m) - (size_t)k, " [stream %d: sent %llu, got %llu%s]", i,
					      (unsigned long long)s[i].sent, (unsigned long long)s[i].got,
					      s[i].eof ? ", EOF" : "");
			ck_abort_msg("echo: timed out after %.0f s, %llu bytes each:%s", limit_s, (unsigned long long)bytes, m);
		}
		if (poll(p, (nfds_t)n, (int)(left * 1e3) + 1) <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			struct echo_st *e = &s[i];
			if (p[i].revents & POLLOUT) {
				size_t k = bytes - e->sent < sizeof(buf) ? (size_t)(bytes - e->sent) : sizeof(buf);
				netpat_fill(buf, e->sent, k, e->seed);
				ssize_t w = write(e->fd, buf, k);
				ck_assert_msg(w > 0 || errno == EAGAIN, "echo write: %s", strerror(errno));
				if (w > 0 && (e->sent += (uint64_t)w) == bytes)
					ck_assert_int_eq(shutdown(e->fd, SHUT_WR), 0);
			}
			if (p[i].revents & (POLLIN | POLLHUP | POLLERR)) {
				ssize_t r = read(e->fd, buf, sizeof(buf));
				ck_assert_msg(r >= 0 || errno == EAGAIN, "echo read after %llu bytes: %s",
					      (unsigned long long)e->got, strerror(errno));
				if (r == 0) {
					ck_assert_msg(e->got == bytes, "echo: EOF after %llu of %llu bytes",
						      (unsigned long long)e->got, (unsigned long long)bytes);
					e->eof = 1;
					open--;
				} else if (r > 0) {
					ck_assert_msg(e->got + (uint64_t)r <= bytes, "echo: more back than sent");
					size_t bad = netpat_check(buf, e->got, (size_t)r, e->seed);
					ck_assert_msg(bad == (size_t)r, "echo: byte %llu differs",
						      (unsigned long long)(e->got + bad));
					e->got += (uint64_t)r;
				}
			}
		}
	}
}

/* ---- TCP echo: 64 MiB each way; data queued at exit ----------------------------------- */

START_TEST(echo_64m)
{
	struct it_proc p;
	struct it_result r;
	const char *args[] = {"7000", NULL};
	app_up(&p, _i, 1, NULL, "tcpecho", args, "listening on 7000");
	double t0 = it_now_s();
	struct echo_st s = {.fd = tcp_connect(GUEST_IP, 7000, 0), .seed = 3};
	echo_streams(&s, 1, 64ull << 20, 60);
	double dt = it_now_s() - t0;
	close(s.fd);
	app_stop(&p, &r);
	fprintf(stderr, "net: %s echo 64 MiB each way in %.2f s (%.0f MB/s each way)\n", target_name[_i], dt,
		64 * 1.048576 / dt);
	app_down(&r);
}
END_TEST

/* The server exits right after its last close(): the echo's tail must still arrive, as on Linux. */
START_TEST(echo_then_exit)
{
	struct it_proc p;
	struct it_result r;
	const char *args[] = {"7000", "1", NULL};
	app_up(&p, _i, 1, NULL, "tcpecho", args, "listening on 7000");
	struct echo_st s = {.fd = tcp_connect(GUEST_IP, 7000, 0), .seed = 8};
	echo_streams(&s, 1, 16ull << 20, 30);
	close(s.fd);
	app_wait(&p, &r, 10);
	ck_assert_msg(r.status == 0 && strstr(r.out, "served 1"), "%s: status %d\nout: %s\nerr: %s", target_name[_i],
		      r.status, r.out, r.err);
	app_down(&r);
}
END_TEST

/* ---- epoll HTTP: 200 concurrent connections -------------------------------------- */

struct hconn {
	int fd;
	int connected, reqs_sent, answered;
	size_t len, need; /* bytes of the current response read; its full size once the head is in */
	char buf[2048];
};

/* nconn connections to ip:port at once, each makes `per` keep-alive GETs of a body_len body; all must be answered. */
static int http_many(const char *ip, int port, int nconn, int per, size_t body_len, double limit_s)
{
	static struct hconn c[256];
	static const char req[] = "GET / HTTP/1.1\r\nHost: guest\r\n\r\n";
	struct pollfd p[256];
	int done = 0, total = 0;
	double end = it_now_s() + limit_s;
	ck_assert_int_le(nconn, 256);
	memset(c, 0, sizeof(c));
	for (int i = 0; i < nconn; i++)
		c[i].fd = tcp_connect(ip, port, 1);
	while (done < nconn && it_now_s() < end) {
		for (int i = 0; i < nconn; i++) {
			short ev = !c[i].connected || c[i].reqs_sent == c[i].answered ? POLLOUT : POLLIN;
			p[i] = (struct pollfd){c[i].answered == per ? -1 : c[i].fd, ev, 0};
		}
		if (poll(p, (nfds_t)nconn, 100) <= 0)
			continue;
		for (int i = 0; i < nconn; i++) {
			struct hconn *h = &c[i];
			if (!p[i].revents)
				continue;
			if (!h->connected) {
				int err = 0;
				socklen_t l = sizeof(err);
				getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &err, &l);
				ck_assert_msg(err == 0, "http connect %d: %s", i, strerror(err));
				h->connected = 1;
			}
			if (h->reqs_sent == h->answered) {
				ck_assert_int_eq(write(h->fd, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
				h->reqs_sent++;
				h->len = h->need = 0;
				continue;
			}
			/* A whole response (head + 1 KiB body) fits in buf. */
			ck_assert_msg(h->len < sizeof(h->buf) - 1, "http: response larger than %zu", sizeof(h->buf));
			ssize_t r = read(h->fd, h->buf + h->len, sizeof(h->buf) - 1 - h->len);
			ck_assert_msg(r > 0 || (r < 0 && errno == EAGAIN), "http conn %d read: %s", i,
				      r ? strerror(errno) : "EOF");
			if (r < 0)
				continue;
			h->len += (size_t)r;
			if (!h->need) {
				h->buf[h->len] = 0;
				char *e = strstr(h->buf, "\r\n\r\n");
				if (e) {
					ck_assert_msg(!strncmp(h->buf, "HTTP/1.1 200", 12), "http: %s", h->buf);
					char *cl = strstr(h->buf, "Content-Length: ");
					ck_assert_ptr_nonnull(cl);
					ck_assert_uint_eq(strtoul(cl + 16, NULL, 10), body_len);
					h->need = (size_t)(e - h->buf) + 4 + body_len;
				}
			}
			ck_assert_msg(!h->need || h->len <= h->need, "http: longer response than announced");
			if (h->need && h->len == h->need) {
				total++;
				if (++h->answered == per)
					done++;
			}
		}
	}
	for (int i = 0; i < nconn; i++)
		close(c[i].fd);
	return total;
}

START_TEST(http_200_connections)
{
	static const char *const mode[] = {"et", "lt"};
	for (int m = 0; m < 2; m++) {
		struct it_proc p;
		struct it_result r;
		const char *args[] = {"8080", "1024", mode[m], NULL};
		app_up(&p, _i, 1, NULL, "httpd", args, "listening on 8080");
		double t0 = it_now_s();
		int answered = http_many(GUEST_IP, 8080, 200, 3, 1024, 30);
		double dt = it_now_s() - t0;
		app_stop(&p, &r);
		ck_assert_msg(answered == 600, "%s %s: %d of 600 requests answered\nout: %s\nerr: %s", target_name[_i],
			      mode[m], answered, r.out, r.err);
		fprintf(stderr, "net: %s httpd (%s) 200 connections x 3 requests in %.2f s\n", target_name[_i], mode[m], dt);
		app_down(&r);
	}
}
END_TEST

/* ---- the guest connects out; refused; reset ---------------------------------------- */

/*
 * netclient connects out from the guest to dest:9000 (a listener on listen_ip in the test's
 * namespace), sends bytes and checks their echo; nics/user_net as app_start.
 */
static void connects_out(enum target t, int nics, const char *user_net, const char *listen_ip, const char *dest,
			 long bytes, const char *seed)
{
	struct it_proc p;
	struct it_result r;
	char n[24], want[64];
	snprintf(n, sizeof(n), "%ld", bytes);
	snprintf(want, sizeof(want), "netclient: ok %ld bytes", bytes);
	env_up(t, nics);
	int ls = tcp_listen(listen_ip, 9000);
	const char *args[] = {dest, "9000", n, seed, NULL};
	app_start(&p, t, nics, user_net, "netclient", args, NULL);
	int fd = tcp_accept(ls, 20);
	static char buf[65536];
	long long echoed = 0;
	for (ssize_t k; (k = read(fd, buf, sizeof(buf))) > 0; echoed += k)
		ck_assert_int_eq(write(fd, buf, (size_t)k), k);
	close(fd);
	close(ls);
	app_wait(&p, &r, 20);
	ck_assert_msg(r.status == 0 && strstr(r.out, want), "%s: status %d, %lld echoed\nout: %s\nerr: %s",
		      target_name[t], r.status, echoed, r.out, r.err);
	ck_assert_int_eq(echoed, bytes);
	app_down(&r);
}

START_TEST(guest_connects_out)
{
	connects_out(_i, 1, NULL, HOST_IP, HOST_IP, 1048576, "5");
}
END_TEST

START_TEST(connection_refused)
{
	struct it_proc p;
	struct it_result r;
	const char *args[] = {HOST_IP, "9001", "100", NULL}; /* nothing listens on 9001 */
	app_up(&p, _i, 1, NULL, "netclient", args, NULL);
	app_wait(&p, &r, 20);
	ck_assert_msg(r.status == 1 && strstr(r.out, "netclient: connect: ECONNREFUSED"), "%s: status %d\nout: %s\nerr: %s",
		      target_name[_i], r.status, r.out, r.err);
	app_down(&r);
}
END_TEST

START_TEST(connection_reset)
{
	struct it_proc p;
	struct it_result r;
	env_up(_i, 1);
	int ls = tcp_listen(HOST_IP, 9002);
	const char *args[] = {HOST_IP, "9002", "1048576", NULL};
	app_start(&p, _i, 1, NULL, "netclient", args, NULL);
	int fd = tcp_accept(ls, 20);
	/* Read netclient's whole first chunk (16 KiB), then reset instead of echoing it. */
	static char buf[16384];
	for (size_t got = 0; got < sizeof(buf);) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - got);
		ck_assert_msg(n > 0, "reset: read: %s", n ? strerror(errno) : "EOF");
		got += (size_t)n;
	}
	struct linger lg = {1, 0};
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	close(fd);
	close(ls);
	app_wait(&p, &r, 20);
	ck_assert_msg(r.status == 1 && strstr(r.out, "netclient: read: ECONNRESET"), "%s: status %d\nout: %s\nerr: %s",
		      target_name[_i], r.status, r.out, r.err);
	app_down(&r);
}
END_TEST

/* ---- UDP echo; ping ------------------------------------------------------------------- */

/* Sends 200 datagrams of 1..1472 bytes to ip:port, each until its exact echo comes back (5 tries). */
static void udp_exchange(enum target t, const char *ip, int port)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = it_sin(ip, port);
	ck_assert_int_eq(connect(s, (struct sockaddr *)&a, sizeof(a)), 0);
	static uint8_t out[1472], in[2048]; /* 1472: the largest unfragmented payload at MTU 1500 */
	int lost = 0;
	for (int i = 0; i < 200; i++) {
		size_t len = 1 + (size_t)(i * 37) % sizeof(out);
		netpat_fill(out, (uint64_t)i << 12, len, 9);
		int ok = 0;
		for (int try = 0; try < 5 && !ok; try++, lost += !ok) {
			ck_assert_int_eq(send(s, out, len, 0), (ssize_t)len);
			for (;;) { /* skip late echoes of earlier tries */
				struct pollfd pf = {s, POLLIN, 0};
				if (poll(&pf, 1, 500) != 1)
					break;
				ssize_t n = recv(s, in, sizeof(in), 0);
				ck_assert_msg(n >= 0, "udp recv: %s", strerror(errno));
				if ((size_t)n == len && !memcmp(in, out, len)) {
					ok = 1;
					break;
				}
			}
		}
		ck_assert_msg(ok, "%s: datagram %d (%zu bytes) never echoed", target_name[t], i, len);
	}
	ck_assert_msg(lost <= 5, "%s: %d datagrams lost of 200", target_name[t], lost);
	close(s);
}

START_TEST(udp_echo)
{
	struct it_proc p;
	struct it_result r;
	const char *args[] = {"7001", NULL};
	app_up(&p, _i, 1, NULL, "udpecho", args, "listening on 7001");
	udp_exchange(_i, GUEST_IP, 7001);
	app_stop(&p, &r);
	app_down(&r);
}
END_TEST

START_TEST(ping_guest)
{
	struct it_proc p;
	struct it_result r;
	const char *args[] = {"7001", NULL}; /* any app: the stack answers while it runs */
	app_up(&p, _i, 1, NULL, "udpecho", args, "listening on 7001");
	int got = netns_ping(GUEST_IP, 5, 64);
	ck_assert_msg(got >= 4, "%s: %d of 5 pings answered", target_name[_i], got);
	ck_assert_msg(netns_ping("10.77.0.99", 1, 64) == 0, "an address nobody holds answered"); /* the check can fail */
	app_stop(&p, &r);
	app_down(&r);
}
END_TEST

/* ---- two NICs at once ---------------------------------------------------------------- */

/*
 * The --stats line of NIC name: its exits per packet must be its own (its notifies and mmio
 * exits over its packets), not the VM's; returns its packets.
 */
static unsigned long long nic_exits_check(const char *err, const char *name)
{
	char head[32];
	snprintf(head, sizeof(head), "ukvm-run: %s: rx ", name);
	const char *l = strstr(err, head);
	unsigned long long rxp, rxb, rxd, txp, txb, txd, notifies, news, exits;
	double per = -1;
	ck_assert_msg(l && sscanf(l + strlen(head) - 3, "rx %llu packets %llu bytes (%llu dropped), tx %llu packets %llu "
				  "bytes (%llu dropped), %llu notifies, %llu wake-ups, %llu mmio exits, %lf exits per packet "
				  "(notifies and mmio exits)", &rxp, &rxb, &rxd, &txp, &txb, &txd, &notifies, &news, &exits,
				  &per) == 10,
		      "no full %s line in --stats:\n%s", name, err);
	double want = (double)(notifies + exits) / (double)(rxp + txp);
	fprintf(stderr, "net: %s: %llu packets, %llu notifies, %llu mmio exits: %.3f exits per packet\n", name, rxp + txp,
		notifies, exits, per);
	ck_assert_msg(per >= want - 0.0006 && per <= want + 0.0006, "%s: %.3f exits per packet, its counters say %.4f\n%s",
		      name, per, want, err);
	return rxp + txp;
}

START_TEST(two_nics)
{
	struct it_proc p;
	struct it_result r;
	const char *args[] = {"7000", NULL};
	app_up(&p, _i, 2, NULL, "tcpecho", args, "listening on 7000");
	struct echo_st s[2] = {{.fd = tcp_connect(GUEST_IP, 7000, 0), .seed = 1},
			       {.fd = tcp_connect(GUEST2_IP, 7000, 0), .seed = 2}};
	echo_streams(s, 2, 4 << 20, 30);
	close(s[0].fd);
	close(s[1].fd);
	app_stop(&p, &r);
	/* Both connections were served, each by its own thread. */
	const char *d1 = strstr(r.out, "done, 4194304 bytes");
	ck_assert_msg(d1 && strstr(d1 + 1, "done, 4194304 bytes"), "%s: out: %s\nerr: %s", target_name[_i], r.out, r.err);
	/* --stats: each NIC's exits per packet from its own counters (4 MiB each way in 64 KiB TSO frames or less). */
	if (_i == UKVM) {
		ck_assert_uint_gt(nic_exits_check(r.err, "eth0"), 100);
		ck_assert_uint_gt(nic_exits_check(r.err, "eth1"), 100);
	}
	app_down(&r);
}
END_TEST

/* ---- user-mode networking: hostfwd inside a namespace with only lo ------------------------ */

START_TEST(user_hostfwd)
{
	struct it_proc p;
	struct it_result r;
	/* Native: the app itself on the forwarded port; ukvm: slirp forwards 127.0.0.1:18080 to the guest's 8080. */
	const char *args[] = {_i == NATIVE ? "18080" : "8080", "512", "et", NULL};
	app_up(&p, _i, 0, "user,hostfwd=tcp:127.0.0.1:18080-:8080", "httpd", args, "listening on");
	/* The forward may need a moment after the guest listens: retry the first connect briefly. */
	struct echo_st e = {.fd = it_tcp_connect_retry("127.0.0.1", 18080, 5)};
	ck_assert_msg(e.fd >= 0, "%s: 127.0.0.1:18080 never accepted", target_name[_i]);
	static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	ck_assert_int_eq(write(e.fd, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
	static char buf[4096];
	size_t got = 0;
	struct timeval tv = {10, 0};
	setsockopt(e.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (ssize_t n; got < sizeof(buf) - 1 && (n = read(e.fd, buf + got, sizeof(buf) - 1 - got)) > 0;)
		got += (size_t)n;
	buf[got] = 0;
	close(e.fd);
	app_stop(&p, &r);
	char *body = strstr(buf, "\r\n\r\n");
	ck_assert_msg(!strncmp(buf, "HTTP/1.1 200", 12) && strstr(buf, "Content-Length: 512") && body &&
			      strlen(body + 4) == 512,
		      "%s: response %s\nout: %s\nerr: %s", target_name[_i], buf, r.out, r.err);
	app_down(&r);
}
END_TEST

/*
 * The tap tests' loads through user-mode networking: 64 MiB each way through the echo server
 * (127.0.0.1:17000 forwarded to the guest's 7000) and 200 concurrent keep-alive connections
 * to httpd (18080 to 8080), checked as on the tap; native: the apps on the forwarded ports.
 */
START_TEST(user_echo_64m)
{
	struct it_proc p;
	struct it_result r;
	const char *args[] = {_i == NATIVE ? "17000" : "7000", NULL};
	app_up(&p, _i, 0, "user,hostfwd=tcp:127.0.0.1:17000-:7000", "tcpecho", args, "listening on");
	double t0 = it_now_s();
	struct echo_st s = {.fd = it_tcp_connect_retry("127.0.0.1", 17000, 5), .seed = 13};
	ck_assert_msg(s.fd >= 0, "%s: 127.0.0.1:17000 never accepted", target_name[_i]);
	echo_streams(&s, 1, 64ull << 20, 60);
	double dt = it_now_s() - t0;
	close(s.fd);
	app_stop(&p, &r);
	fprintf(stderr, "net: %s user-mode echo 64 MiB each way in %.2f s (%.0f MB/s each way)\n", target_name[_i],
		dt, 64 * 1.048576 / dt);
	app_down(&r);
}
END_TEST

START_TEST(user_http_200_connections)
{
	struct it_proc p;
	struct it_result r;
	const char *args[] = {_i == NATIVE ? "18080" : "8080", "1024", "et", NULL};
	app_up(&p, _i, 0, "user,hostfwd=tcp:127.0.0.1:18080-:8080", "httpd", args, "listening on");
	int fd = it_tcp_connect_retry("127.0.0.1", 18080, 5); /* the forward may need a moment after the guest listens */
	ck_assert_msg(fd >= 0, "%s: 127.0.0.1:18080 never accepted", target_name[_i]);
	close(fd);
	double t0 = it_now_s();
	int answered = http_many("127.0.0.1", 18080, 200, 3, 1024, 30);
	double dt = it_now_s() - t0;
	app_stop(&p, &r);
	ck_assert_msg(answered == 600, "%s: %d of 600 requests answered\nout: %s\nerr: %s", target_name[_i], answered,
		      r.out, r.err);
	fprintf(stderr, "net: %s user-mode httpd 200 connections x 3 requests in %.2f s\n", target_name[_i], dt);
	app_down(&r);
}
END_TEST

/* UDP through a user-mode forward: 127.0.0.1:17001 to the guest's 7001 (native: the app on 17001). */
START_TEST(user_udp_hostfwd)
{
	struct it_proc p;
	struct it_result r;
	const char *args[] = {_i == NATIVE ? "17001" : "7001", NULL};
	app_up(&p, _i, 0, "user,hostfwd=udp:127.0.0.1:17001-:7001", "udpecho", args, "listening on");
	udp_exchange(_i, "127.0.0.1", 17001);
	app_stop(&p, &r);
	app_down(&r);
}
END_TEST

/* The guest connects out through user-mode networking: 10.0.2.2 is the host's loopback (QEMU's rule). */
START_TEST(user_connects_out)
{
	connects_out(_i, 0, "user", "127.0.0.1", _i == NATIVE ? "127.0.0.1" : "10.0.2.2", 262144, "6");
}
END_TEST

/* ---- a server nobody here wrote: Debian's busybox ------------------------------------------ */

/*
 * Debian's busybox-static (a static glibc binary, tools/deps.sh) runs unchanged: `nc -l -p 7000`
 * takes one connection and copies what arrives to its stdout until EOF. 1 MiB goes in and must
 * come out byte-exact, natively and in ukvm. (busybox httpd cannot run in ukvm: it forks a child
 * per connection, and the guest has one process.)
 */
START_TEST(busybox_nc_server)
{
	static const char bb[] = "/bin/busybox";
	if (access(bb, X_OK)) {
		fprintf(stderr, "net: busybox_nc_server SKIPPED: no %s (tools/deps.sh installs busybox-static)\n", bb);
		return;
	}
	struct it_proc p;
	struct it_result r;
	char dir[] = "/tmp/ukvm-bbnc-XXXXXX", img[64];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(img, sizeof(img), "%s/busybox.img", dir);
	if (_i == UKVM) {
		const char *bargs[] = {"-o", img, bb, NULL};
		ck_assert_int_eq(it_start(&p, it_path("ukvm-build"), bargs), 0);
		ck_assert_int_eq(it_finish(&p, 0, 60, &r, NULL), 0);
		ck_assert_msg(r.status == 0, "ukvm-build %s: status %d\n%s", bb, r.status, r.err);
		it_result_free(&r);
	}
	/* nc also copies its stdin to the connection: from /dev/null it sends nothing and half-closes. */
	int nul = open("/dev/null", O_RDONLY);
	ck_assert_int_eq(dup2(nul, 0), 0);
	close(nul);
	env_up(_i, 1);
	const char *args[] = {"nc", "-l", "-p", "7000", NULL};
	app_start_as(&p, _i, 1, NULL, bb, img, args, NULL);
	int fd = it_tcp_connect_retry(GUEST_IP, 7000, 20); /* nc prints nothing when it listens */
	ck_assert_msg(fd >= 0, "%s: nc never listened", target_name[_i]);
	static uint8_t buf[1 << 20];
	netpat_fill(buf, 0, sizeof(buf), 11);
	/* Its stdout is a pipe to us: keep draining it while writing, or both ends stall. */
	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (size_t put = 0; put < sizeof(buf);) {
		ssize_t n = write(fd, buf + put, sizeof(buf) - put);
		ck_assert_msg(n > 0 || errno == EAGAIN, "write after %zu: %s", put, strerror(errno));
		if (n > 0)
			put += (size_t)n;
		else
			it_wait_output(&p, "\x01never printed\x02", (it_now_s() * 1e3 - p.t0) / 1e3 + 0.02);
	}
	fcntl(fd, F_SETFL, 0);
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	struct timeval tv = {20, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 0); /* nc sends nothing back, then EOF */
	close(fd);
	app_wait(&p, &r, 20);
	ck_assert_msg(r.status == 0 && r.out_len == sizeof(buf), "%s: status %d, %zu bytes out\nerr: %s", target_name[_i],
		      r.status, r.out_len, r.err);
	size_t good = netpat_check((const uint8_t *)r.out, 0, r.out_len, 11);
	ck_assert_msg(good == r.out_len, "%s: byte %zu differs", target_name[_i], good);
	app_down(&r);
	unlink(img);
	rmdir(dir);
}
END_TEST

/* ---- hostile: TX flood with no RX buffers ------------------------------------------------- */

/* The process's resident memory in KiB (/proc/PID/status VmRSS), -1 if unreadable. */
static long rss_kib(int pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	long kib = -1;
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kib = atol(line + 6);
	if (f)
		fclose(f);
	return kib;
}

/*
 * Frames straight into tap0, for a guest whose stack is gone (no ARP): full-size broadcasts of a
 * local experimental ethertype, which the host's own stack drops.
 */
struct tap_inject {
	int fd;
	struct sockaddr_ll ll;
	uint8_t frame[1514];
};

static struct tap_inject tap_inject_open(void)
{
	struct tap_inject in = {.fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0)};
	ck_assert_int_ge(in.fd, 0);
	in.ll = (struct sockaddr_ll){.sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex("tap0"), .sll_halen = 6};
	memset(in.ll.sll_addr, 0xff, 6);
	memset(in.frame, 0xff, 6);
	memcpy(in.frame + 6, "\x02\x00\x00\x00\x00\x02\x88\xb5", 8);
	memset(in.frame + 14, 0xa5, sizeof(in.frame) - 14);
	return in;
}

/* 1 if one frame went into the tap, else 0 (never blocks). */
static int tap_inject_one(struct tap_inject *in)
{
	return sendto(in->fd, in->frame, sizeof(in->frame), MSG_DONTWAIT, (struct sockaddr *)&in->ll,
		      sizeof(in->ll)) > 0;
}

/*
 * netflood resets the NIC, posts no receive buffer and floods TX while the test floods the tap
 * with frames for the guest: the monitor's memory stays flat, and SIGTERM ends it within 1 s.
 */
START_TEST(tx_flood_no_rx_buffers)
{
	struct it_proc p;
	struct it_result r;
	const char *args[] = {"0", NULL};
	app_up(&p, _i, 1, NULL, "netflood", args, "netflood: flooding");
	struct tap_inject in = tap_inject_open();
	usleep(300000);
	long rss0 = rss_kib(p.pid);
	unsigned long injected = 0;
	for (double end = it_now_s() + 3; it_now_s() < end;)
		for (int k = 0; k < 64; k++)
			injected += tap_inject_one(&in);
	long rss1 = rss_kib(p.pid);
	close(in.fd);
	double t = it_now_s();
	app_stop(&p, &r);
	double stop_ms = (it_now_s() - t) * 1e3;
	fprintf(stderr, "net: tx flood: RSS %ld -> %ld KiB, %lu frames injected, stopped %.0f ms after SIGTERM\n", rss0,
		rss1, injected, stop_ms);
	const char *last = NULL;
	for (const char *q = r.out; (q = strstr(q, "netflood: ")) && strstr(q, "frames queued"); q++)
		last = q;
	unsigned long long frames = last ? strtoull(last + 10, NULL, 10) : 0;
	ck_assert_msg(frames > 1000, "the flood never got going\nout: %s\nerr: %s", r.out, r.err);
	ck_assert_msg(rss0 > 0 && rss1 > 0 && rss1 - rss0 < 32 * 1024, "monitor RSS grew %ld -> %ld KiB", rss0, rss1);
	ck_assert_msg(stop_ms < 1000, "SIGTERM took %.0f ms", stop_ms);
	ck_assert_msg(r.status == 143, "status %d\nerr: %s", r.status, r.err);
	app_down(&r);
}
END_TEST

/* ---- hostile: a driver handing the NIC garbage ------------------------------------------- */

/*
 * nethostile takes the NIC from the guest's kernel and submits garbage TX and RX chains and
 * headers (guest/apps/nethostile.c). Each refused chain must come back unused and be counted as
 * dropped, a broken queue must ask for a reset (DEVICE_NEEDS_RESET), the device must work again
 * after each (a valid frame out, one in), and the monitor must say what it refused and live.
 */
START_TEST(hostile_driver)
{
	static const char *const expect[] = {
		"tx valid                  returned",
		"tx writable-buffer        returned",
		"tx header-only            returned",
		"tx past-mtu-no-gso        returned",
		"tx hdr-flags-data-valid   returned",
		"tx hdr-gso-garbage        returned",
		"tx hdr-csum-outside       returned",
		"tx hdr-csum-start-0       returned",
		"tx hdr-len-past-frame     returned",
		"tx hdr-gso-ecn            returned",
		"tx hdr-gso-udp            returned",
		"tx hdr-tso-no-csum        returned",
		"tx hdr-tso-size-0         returned",
		"tx hdr-tso-seg-past-mtu   returned",
		"tx tso-past-64k           returned",
		"tx len-4g                 returned",
		"tx outside-ram            returned",
		"tx wraps                  returned",
		"tx in-mmio-window         returned",
		"tx loop                   returned",
		"tx next-out-of-range      returned",
		"tx zero-lengths           returned",
		"tx indirect-not-offered   returned",
		"tx chain-loops-all        returned",
		"tx head-out-of-range      reset",
		"tx avail-idx-ahead        reset",
		"tx valid-after            returned (status 0xf,",
		"rx short                  returned (status 0xf, used len 0)",
		"rx read-only              returned (status 0xf, used len 0)",
		"rx in-mmio-window         returned (status 0xf, used len 0)",
		"rx outside-ram            returned (status 0xf, used len 0)",
		"rx loop                   returned (status 0xf, used len 0)",
		"rx head-out-of-range      reset",
	};
	const unsigned n_refused = 23; /* the tx lines above from writable-buffer to chain-loops-all */
	struct it_proc p;
	struct it_result r;
	const char *args[] = {NULL};
	app_up(&p, UKVM, 1, NULL, "nethostile", args, "nethostile: rx waiting for a frame");
	struct tap_inject in = tap_inject_open();
	for (double end = it_now_s() + 20; it_now_s() < end && !it_wait_output(&p, "nethostile: done", 0.05);)
		tap_inject_one(&in);
	close(in.fd);
	app_wait(&p, &r, 10);
	ck_assert_msg(r.status == 0, "status %d\nout: %s\nerr: %s", r.status, r.out, r.err);
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		char line[128];
		snprintf(line, sizeof(line), "nethostile: %s", expect[i]);
		ck_assert_msg(strstr(r.out, line), "missing \"%s\"\nout: %s\nerr: %s", line, r.out, r.err);
	}
	static const char rx_ok[] = "rx valid-after            returned (status 0xf, used len ";
	const char *rx = strstr(r.out, rx_ok);
	ck_assert_msg(rx && atoi(rx + strlen(rx_ok)) > 12 + 14, "no frame reached the guest after the attacks\n%s",
		      r.out);
	const char *done = strstr(r.out, "nethostile: done, ");
	ck_assert_msg(done && strtoul(done + 18, NULL, 10) == n_refused, "%s", r.out);
	/* --stats: every refused chain counted as dropped, the two valid frames (and the kernel's) sent. */
	unsigned long long rxp, rxb, rxd, txp, txb, txd;
	const char *st = strstr(r.err, "ukvm-run: eth0: rx ");
	ck_assert_msg(st && sscanf(st, "ukvm-run: eth0: rx %llu packets %llu bytes (%llu dropped), tx %llu packets "
				       "%llu bytes (%llu dropped)", &rxp, &rxb, &rxd, &txp, &txb, &txd) == 6,
		      "%s", r.err);
	ck_assert_msg(txd == n_refused && txp >= 2 && rxp >= 1, "%s", r.err);
	/* What the monitor said: the first refusals in order, then its warning budget ran out. */
	const char *w1 = strstr(r.err, "ukvm: eth0: tx 0: a device-writable buffer in a TX chain");
	const char *w2 = w1 ? strstr(w1, "12 bytes: header and frame must be") : NULL;
	const char *w3 = w2 ? strstr(w2, "a frame past the MTU without GSO") : NULL;
	ck_assert_msg(w3 && strstr(w3, "(further warnings suppressed)"), "%s", r.err);
	app_down(&r);
}
END_TEST

Suite *net_suite(void)
{
	Suite *s = suite_create("net");
	char why[512];
	if (!netns_usable(why, sizeof(why))) {
		printf("SKIPPED: integration suite net: %s\n", why);
		return s;
	}
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 90);
	tcase_add_loop_test(tc, echo_64m, NATIVE, T_ECHO);
	tcase_add_loop_test(tc, echo_then_exit, NATIVE, T_EXIT);
	tcase_add_loop_test(tc, http_200_connections, NATIVE, T_HTTP);
	tcase_add_loop_test(tc, guest_connects_out, NATIVE, T_TCP);
	tcase_add_loop_test(tc, udp_echo, NATIVE, T_UDP);
	tcase_add_loop_test(tc, ping_guest, NATIVE, T_PING);
	tcase_add_loop_test(tc, two_nics, NATIVE, T_2NIC);
	tcase_add_loop_test(tc, user_hostfwd, NATIVE, T_USER);
	tcase_add_loop_test(tc, user_connects_out, NATIVE, T_USER);
	tcase_add_loop_test(tc, user_udp_hostfwd, NATIVE, T_USER);
	tcase_add_loop_test(tc, user_echo_64m, NATIVE, T_USER);
	tcase_add_loop_test(tc, user_http_200_connections, NATIVE, T_USER);
	tcase_add_loop_test(tc, busybox_nc_server, NATIVE, T_TCP);
	suite_add_tcase(s, tc);

	TCase *tl = tcase_create("limits");
	tcase_set_timeout(tl, 30);
	tcase_add_loop_test(tl, connection_refused, NATIVE, T_TCP);
	tcase_add_loop_test(tl, connection_reset, NATIVE, T_TCP);
	suite_add_tcase(s, tl);

	TCase *th = tcase_create("hostile");
	tcase_set_timeout(th, 60); /* hostile_driver: up to 20 s of frames, 10 s to exit, and the boot */
	tcase_add_loop_test(th, tx_flood_no_rx_buffers, UKVM, T_FLOOD);
	tcase_add_test(th, hostile_driver);
	suite_add_tcase(s, th);
	return s;
}
