/*
 * check_netuser.c: unit suite "netuser" (devices/net_user.c, devices/slirp/helper.c and its allowlist in
 * vmm/sandbox.c): frames written into the device's end of the backend, what comes back read from it, no
 * VM. Each test runs in Check's forked child moved into a fresh network namespace with only lo up, so
 * nothing leaves the machine; without that the suite is skipped, loudly. Debugging knobs:
 * NETUSER_HELPER_OVERRIDE=script runs the helper through it (e.g. `exec strace -o F .../ukvm-slirp`),
 * NETUSER_NOSECCOMP=1 starts it unsandboxed.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "net_user.h"
#include "sandbox.h"
#include "virtio_net.h"

#define HDR sizeof(struct virtio_net_hdr)
#define WAIT_MS 3000 /* per expected frame: slirp answers in well under a millisecond */

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
#define GUEST 0x0a00020fu /* 10.0.2.15 */
#define GW 0x0a000202u
#define DNS 0x0a000203u

/* --- the namespace -------------------------------------------------------------------- */

/* Moves the calling process into a new network namespace and brings lo up. 0, or -errno. */
static int ns_enter(void)
{
	if (unshare(CLONE_NEWNET))
		return -errno;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { .ifr_name = "lo" };
	int r = s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) ? -errno : 0;
	ifr.ifr_flags |= IFF_UP;
	if (!r && ioctl(s, SIOCSIFFLAGS, &ifr))
		r = -errno;
	if (s >= 0)
		close(s);
	return r;
}

/* Why the suite cannot run here (NULL: it can): a child tries ns_enter. */
static const char *ns_unusable(void)
{
	static char why[128];
	const char *fork_env = getenv("CK_FORK");
	if (fork_env && !strcmp(fork_env, "no"))
		return "CK_FORK=no: each test must run in its own process to enter a network namespace";
	pid_t pid = fork();
	if (pid == 0)
		_exit(-ns_enter());
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return "fork failed";
	if (WEXITSTATUS(st)) {
		snprintf(why, sizeof(why), "no network namespace (unshare(CLONE_NEWNET): %s)", strerror(WEXITSTATUS(st)));
		return why;
	}
	return NULL;
}

static void setup(void)
{
	ck_assert_int_eq(ns_enter(), 0);
	const char *h = getenv("NETUSER_HELPER_OVERRIDE");
	setenv("UKVM_SLIRP_HELPER", h ? h : NETUSER_HELPER, 1);
}

/* --- frames ------------------------------------------------------------------------------ */

static uint16_t csum(uint32_t sum, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (n & 1)
		sum += (uint32_t)b[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* Ethernet from the guest: 14 bytes. */
static size_t fb_eth(uint8_t *p, const uint8_t *dst, uint16_t type)
{
	memcpy(p, dst, 6);
	memcpy(p + 6, guest_mac, 6);
	put16(p + 12, type);
	return 14;
}

/* IPv4 header (20 bytes) with checksum, for l4 bytes after it. */
static size_t fb_ip(uint8_t *p, uint8_t proto, uint32_t src, uint32_t dst, size_t l4)
{
	memset(p, 0, 20);
	p[0] = 0x45;
	put16(p + 2, (uint16_t)(20 + l4));
	p[8] = 64;
	p[9] = proto;
	put32(p + 12, src);
	put32(p + 16, dst);
	put16(p + 10, csum(0, p, 20));
	return 20;
}

/* The TCP/UDP checksum over the pseudo header and seg. */
static uint16_t l4_csum(uint32_t src, uint32_t dst, uint8_t proto, const uint8_t *seg, size_t n)
{
	uint8_t ph[12];
	put32(ph, src);
	put32(ph + 4, dst);
	ph[8] = 0;
	ph[9] = proto;
	put16(ph + 10, (uint16_t)n);
	uint16_t c = ~csum(0, ph, sizeof(ph));
	return csum(c, seg, n);
}

/* A whole Ethernet/IPv4/TCP frame (no options) carrying data[n], to the gateway's MAC. */
static size_t fb_tcp_data(uint8_t *f, uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp, uint32_t seq,
			  uint32_t ack, uint8_t flags, const void *data, size_t n)
{
	static const uint8_t gw_mac[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };
	size_t o = fb_eth(f, gw_mac, 0x0800);
	o += fb_ip(f + o, 6, src, dst, 20 + n);
	uint8_t *t = f + o;
	memset(t, 0, 20);
	put16(t, sp);
	put16(t + 2, dp);
	put32(t + 4, seq);
	put32(t + 8, ack);
	t[12] = 5 << 4;
	t[13] = flags;
	put16(t + 14, 65535);
	if (n)
		memcpy(t + 20, data, n);
	put16(t + 16, l4_csum(src, dst, 6, t, 20 + n));
	return o + 20 + n;
}

static size_t fb_tcp(uint8_t *f, uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp, uint32_t seq, uint32_t ack,
		     uint8_t flags)
{
	return fb_tcp_data(f, src, dst, sp, dp, seq, ack, flags, NULL, 0);
}

/* A whole Ethernet/IPv4/UDP frame carrying data[n]. */
static size_t fb_udp(uint8_t *f, const uint8_t *dmac, uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp,
		     const void *data, size_t n)
{
	size_t o = fb_eth(f, dmac, 0x0800);
	o += fb_ip(f + o, 17, src, dst, 8 + n);
	uint8_t *u = f + o;
	put16(u, sp);
	put16(u + 2, dp);
	put16(u + 4, (uint16_t)(8 + n));
	put16(u + 6, 0);
	memcpy(u + 8, data, n);
	uint16_t c = l4_csum(src, dst, 17, u, 8 + n);
	put16(u + 6, c ? c : 0xffff);
	return o + 8 + n;
}

/* An ARP request from the guest for ip. */
static size_t fb_arp(uint8_t *f, uint32_t ip)
{
	size_t o = fb_eth(f, bcast, 0x0806);
	uint8_t *a = f + o;
	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, 1);
	memcpy(a + 8, guest_mac, 6);
	put32(a + 14, GUEST);
	memset(a + 18, 0, 6);
	put32(a + 24, ip);
	return o + 28;
}

/* Writes the 12-byte header (zero unless hdr) and the frame as one datagram. */
static void dev_send(int fd, const struct virtio_net_hdr *hdr, const void *frame, size_t n)
{
	static uint8_t buf[HDR + 70000];
	struct virtio_net_hdr zero = { 0 };
	ck_assert_uint_le(n, sizeof(buf) - HDR);
	memcpy(buf, hdr ? hdr : &zero, HDR);
	memcpy(buf + HDR, frame, n);
	ck_assert_int_eq(send(fd, buf, HDR + n, 0), (ssize_t)(HDR + n));
}

/*
 * Reads frames until match(frame) holds, for at most WAIT_MS; the frame's
 * length, or -1. Every frame must carry an all-zero header.
 */
static ssize_t dev_expect(int fd, bool (*match)(const uint8_t *f, size_t n, const void *arg), const void *arg,
			  uint8_t *out, size_t outlen)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 1000; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = WAIT_MS - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (left <= 0 || poll(&p, 1, (int)left) != 1)
			return -1;
		uint8_t buf[HDR + 9100];
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			return -1;
		ck_assert_int_ge(n, (ssize_t)(HDR + 14));
		static const uint8_t zero[HDR];
		ck_assert_msg(!memcmp(buf, zero, HDR), "a frame's virtio_net_hdr is not zero");
		if (match(buf + HDR, (size_t)n - HDR, arg)) {
			size_t len = (size_t)n - HDR < outlen ? (size_t)n - HDR : outlen;
			memcpy(out, buf + HDR, len);
			return n - (ssize_t)HDR;
		}
	}
	return -1;
}

static bool is_arp_reply(const uint8_t *f, size_t n, const void *arg)
{
	return n >= 42 && get16(f + 12) == 0x0806 && get16(f + 20) == 2 && get32(f + 28) == *(const uint32_t *)arg;
}

/* IPv4 frame of protocol *arg to the guest. */
static bool is_ip_to_guest(const uint8_t *f, size_t n, uint8_t proto)
{
	return n >= 34 && get16(f + 12) == 0x0800 && f[14 + 9] == proto && get32(f + 30) == GUEST &&
	       !memcmp(f, guest_mac, 6);
}

static bool is_tcp_to(const uint8_t *f, size_t n, const void *arg)
{
	return is_ip_to_guest(f, n, 6) && n >= 54 && get16(f + 36) == *(const uint16_t *)arg;
}

static bool is_udp_to(const uint8_t *f, size_t n, const void *arg)
{
	return is_ip_to_guest(f, n, 17) && n >= 42 && get16(f + 36) == *(const uint16_t *)arg;
}

/* --- the backend ------------------------------------------------------------------------ */

struct nu {
	struct net_user *u;
	int fd;
};

static struct nu nu_up_cfg(const struct ukvm_net *cfg)
{
	struct nu n;
	char err[256] = "";
	int r = net_user_open(cfg, &n.u, &n.fd, err, sizeof(err));
	ck_assert_msg(r == 0, "net_user_open: %d %s", r, err);
	ck_assert_int_eq(net_user_start(n.u, !getenv("NETUSER_NOSECCOMP")), 0);
	return n;
}

static struct nu nu_up(void)
{
	struct ukvm_net cfg = { .kind = UKVM_NET_USER };
	return nu_up_cfg(&cfg);
}

/* ARP for the gateway: checks slirp's reply, and teaches slirp the guest's MAC (it answers nothing before). */
static void nu_arp(struct nu *n, uint32_t ip)
{
	uint8_t f[64], r[64];
	dev_send(n->fd, NULL, f, fb_arp(f, ip));
	ck_assert_int_ge(dev_expect(n->fd, is_arp_reply, &ip, r, sizeof(r)), 42);
	ck_assert_mem_eq(r, guest_mac, 6);            /* to us */
	ck_assert_uint_eq(get16(r + 20), 2);          /* a reply */
	ck_assert_uint_eq(get32(r + 28), ip);         /* sender: the address asked for */
	ck_assert_mem_eq(r + 32, guest_mac, 6);       /* target: us */
	ck_assert_uint_eq(get32(r + 38), GUEST);
}

/* A TCP listener on 127.0.0.1 of the namespace (port chosen by the kernel). */
static int listener(uint16_t *port, int type)
{
	int s = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	if (type == SOCK_STREAM)
		ck_assert_int_eq(listen(s, 4), 0);
	ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &al), 0);
	*port = ntohs(a.sin_port);
	return s;
}

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static bool port_free_within(uint16_t port, int ms);

/* --- core ------------------------------------------------------------------------------- */

START_TEST(test_arp)
{
	struct nu n = nu_up();
	nu_arp(&n, GW);
	nu_arp(&n, DNS);
	net_user_close(n.u);
}
END_TEST

static bool is_udp_to_any(const uint8_t *f, size_t n, const void *arg)
{
	return n >= 42 && get16(f + 12) == 0x0800 && f[23] == 17 && get16(f + 36) == *(const uint16_t *)arg;
}

/* Sends a DHCP DISCOVER (RFC 2131) from 0.0.0.0 with xid; checks the OFFER to us, its yiaddr in r. */
static void dhcp_discover(struct nu *n, uint32_t xid, uint8_t *r, size_t rlen)
{
	uint8_t b[300] = { 1, 1, 6, 0 };                   /* BOOTREQUEST, Ethernet */
	put32(b + 4, xid);
	memcpy(b + 28, guest_mac, 6);
	static const uint8_t opts[] = { 99, 130, 83, 99, 53, 1, 1, 255 }; /* cookie, DISCOVER, end */
	memcpy(b + 236, opts, sizeof(opts));
	uint8_t f[400];
	dev_send(n->fd, NULL, f, fb_udp(f, bcast, 0, 0xffffffffu, 68, 67, b, sizeof(b)));
	static const uint16_t port = 68;
	ssize_t len = dev_expect(n->fd, is_udp_to_any, &port, r, rlen);
	ck_assert_int_ge(len, 42 + 240 + 3);
	ck_assert(!memcmp(r, guest_mac, 6) || !memcmp(r, bcast, 6));
	const uint8_t *bp = r + 42;
	ck_assert_uint_eq(bp[0], 2);                       /* BOOTREPLY */
	ck_assert_uint_eq(get32(bp + 4), xid);
	ck_assert_uint_eq(get32(bp + 236), 0x63825363);
	ck_assert_uint_eq(bp[240], 53);
	ck_assert_uint_eq(bp[242], 2);                     /* OFFER */
}

START_TEST(test_dhcp)
{
	struct nu n = nu_up();
	uint8_t r[600];
	dhcp_discover(&n, 0x12345678, r, sizeof(r));
	ck_assert_uint_eq(get32(r + 42 + 16), GUEST);      /* yiaddr: 10.0.2.15 */
	ck_assert_uint_eq(get32(r + 26), GW);              /* from the gateway */
	net_user_close(n.u);
}
END_TEST

/* The configured addressing, not the defaults: 192.168.7.20/24, gateway .1, DNS .53. */
START_TEST(test_dhcp_config)
{
	struct ukvm_net cfg = { .kind = UKVM_NET_USER, .ipv4 = htonl(0xc0a80714), .prefix = 24,
				.gw = htonl(0xc0a80701), .dns = { htonl(0xc0a80735) } };
	struct nu n = nu_up_cfg(&cfg);
	uint8_t r[600];
	dhcp_discover(&n, 0xabcd0001, r, sizeof(r));
	ck_assert_uint_eq(get32(r + 42 + 16), 0xc0a80714);
	ck_assert_uint_eq(get32(r + 26), 0xc0a80701);
	net_user_close(n.u);
}
END_TEST

/* The guest connects to 10.0.2.2:port, which slirp maps to the host's 127.0.0.1. */
START_TEST(test_tcp_out)
{
	uint16_t port;
	int l = listener(&port, SOCK_STREAM);
	struct nu n = nu_up();
	nu_arp(&n, GW);
	uint8_t f[128], r[128];
	dev_send(n.fd, NULL, f, fb_tcp(f, GUEST, GW, 40000, port, 1000, 0, 0x02));
	static const uint16_t gport = 40000;
	ssize_t len = dev_expect(n.fd, is_tcp_to, &gport, r, sizeof(r));
	ck_assert_int_ge(len, 54);
	ck_assert_uint_eq(get32(r + 26), GW);          /* from 10.0.2.2 */
	ck_assert_uint_eq(get16(r + 34), port);
	ck_assert_uint_eq(r[47] & 0x12, 0x12);         /* SYN|ACK */
	ck_assert_uint_eq(get32(r + 42), 1001);        /* acks our SYN */
	struct pollfd p = { .fd = l, .events = POLLIN };
	ck_assert_int_eq(poll(&p, 1, WAIT_MS), 1);     /* and the host side saw the connection */
	int c = accept(l, NULL, NULL);
	ck_assert_int_ge(c, 0);
	close(c);
	close(l);
	net_user_close(n.u);
}
END_TEST

/* TCP flags of a frame to the guest with data: SYN, ACK, FIN, PSH... */
struct tcp_want {
	uint16_t port;
	uint8_t flags;  /* all of these set */
	size_t min_data;
};

static bool is_tcp_want(const uint8_t *f, size_t n, const void *arg)
{
	const struct tcp_want *w = arg;
	return is_tcp_to(f, n, &w->port) && (f[47] & w->flags) == w->flags &&
	       n - 54 >= w->min_data && get16(f + 16) - 40u >= w->min_data;
}

/* A whole connection out: handshake, data both ways, the host's close reaching the guest as a FIN. */
START_TEST(test_tcp_data)
{
	uint16_t port;
	int l = listener(&port, SOCK_STREAM);
	struct nu n = nu_up();
	nu_arp(&n, GW);
	uint8_t f[256], r[256];
	dev_send(n.fd, NULL, f, fb_tcp(f, GUEST, GW, 40002, port, 5000, 0, 0x02));
	struct tcp_want w = { .port = 40002, .flags = 0x12 };
	ck_assert_int_ge(dev_expect(n.fd, is_tcp_want, &w, r, sizeof(r)), 54);
	uint32_t hseq = get32(r + 38) + 1;
	dev_send(n.fd, NULL, f, fb_tcp_data(f, GUEST, GW, 40002, port, 5001, hseq, 0x18, "hello", 5));
	struct pollfd p = { .fd = l, .events = POLLIN };
	ck_assert_int_eq(poll(&p, 1, WAIT_MS), 1);
	int c = accept(l, NULL, NULL);
	ck_assert_int_ge(c, 0);
	char got[16] = "";
	p.fd = c;
	ck_assert_int_eq(poll(&p, 1, WAIT_MS), 1);
	ck_assert_int_eq(read(c, got, sizeof(got)), 5);
	ck_assert_mem_eq(got, "hello", 5);
	ck_assert_int_eq(write(c, "world!", 6), 6);
	w = (struct tcp_want){ .port = 40002, .flags = 0x10, .min_data = 6 };
	ssize_t len = dev_expect(n.fd, is_tcp_want, &w, r, sizeof(r));
	ck_assert_int_eq(len, 54 + 6);
	ck_assert_uint_eq(get32(r + 38), hseq);
	ck_assert_uint_eq(get32(r + 42), 5006);        /* acks hello */
	ck_assert_mem_eq(r + 54, "world!", 6);
	close(c);
	w = (struct tcp_want){ .port = 40002, .flags = 0x01 };
	ck_assert_int_ge(dev_expect(n.fd, is_tcp_want, &w, r, sizeof(r)), 54);
	/* The guest's FIN: the host sees EOF... after acking it we are done. */
	close(l);
	net_user_close(n.u);
}
END_TEST

/* hostfwd=tcp:127.0.0.1:P-:80: a host connection becomes a SYN to the guest's port 80. */
START_TEST(test_hostfwd)
{
	uint16_t port;
	close(listener(&port, SOCK_STREAM)); /* a free port */
	struct ukvm_hostfwd fw = { .host_addr = htonl(INADDR_LOOPBACK), .host_port = port, .guest_port = 80 };
	struct ukvm_net cfg = { .kind = UKVM_NET_USER, .fwds = &fw, .nfwds = 1 };
	struct nu n = nu_up_cfg(&cfg);
	nu_arp(&n, GW);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int cr = connect(c, (struct sockaddr *)&a, sizeof(a));
	ck_assert(cr == 0 || errno == EINPROGRESS);
	uint8_t r[128];
	static const uint16_t gport = 80;
	ck_assert_int_ge(dev_expect(n.fd, is_tcp_to, &gport, r, sizeof(r)), 54);
	ck_assert_uint_eq(r[47] & 0x3f, 0x02);         /* a bare SYN */
	ck_assert_uint_eq(get32(r + 30), GUEST);
	close(c);
	net_user_close(n.u);
}
END_TEST

/* hostfwd=udp::P-:53: a host datagram reaches the guest's port 53 with its payload, and the guest's answer comes back. */
START_TEST(test_hostfwd_udp)
{
	uint16_t port;
	close(listener(&port, SOCK_DGRAM));
	struct ukvm_hostfwd fw = { .udp = true, .host_port = port, .guest_port = 53 };
	struct ukvm_net cfg = { .kind = UKVM_NET_USER, .fwds = &fw, .nfwds = 1 };
	struct nu n = nu_up_cfg(&cfg);
	nu_arp(&n, GW);
	int c = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	ck_assert_int_eq(sendto(c, "ping", 4, 0, (struct sockaddr *)&a, sizeof(a)), 4);
	uint8_t r[128], f[128];
	static const uint16_t gport = 53;
	ck_assert_int_eq(dev_expect(n.fd, is_udp_to, &gport, r, sizeof(r)), 42 + 4);
	ck_assert_mem_eq(r + 42, "ping", 4);
	uint32_t src = get32(r + 26);
	uint16_t sport = get16(r + 34);
	static const uint8_t gw_mac[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };
	dev_send(n.fd, NULL, f, fb_udp(f, gw_mac, GUEST, src, 53, sport, "pong", 4));
	struct pollfd p = { .fd = c, .events = POLLIN };
	ck_assert_int_eq(poll(&p, 1, WAIT_MS), 1);
	char got[8];
	ck_assert_int_eq(recv(c, got, sizeof(got), 0), 4);
	ck_assert_mem_eq(got, "pong", 4);
	close(c);
	net_user_close(n.u);
}
END_TEST

static bool is_arp_request_for_guest(const uint8_t *f, size_t n, const void *arg)
{
	(void)arg;
	return n >= 42 && get16(f + 12) == 0x0806 && get16(f + 20) == 1 && get32(f + 38) == GUEST;
}

/*
 * A hostfwd connection before slirp knows the guest's MAC: it asks by ARP and
 * holds the SYN; the answer must release the SYN at once, not a poll timeout
 * (up to 1 s) later.
 */
START_TEST(test_hostfwd_arp_first)
{
	uint16_t port;
	close(listener(&port, SOCK_STREAM));
	struct ukvm_hostfwd fw = { .host_addr = htonl(INADDR_LOOPBACK), .host_port = port, .guest_port = 80 };
	struct ukvm_net cfg = { .kind = UKVM_NET_USER, .fwds = &fw, .nfwds = 1 };
	struct nu n = nu_up_cfg(&cfg);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int cr = connect(c, (struct sockaddr *)&a, sizeof(a));
	ck_assert(cr == 0 || errno == EINPROGRESS);
	uint8_t r[128], f[64];
	ck_assert_int_ge(dev_expect(n.fd, is_arp_request_for_guest, NULL, r, sizeof(r)), 42);
	/* The guest's reply: to slirp's MAC, from ours. */
	size_t o = fb_eth(f, r + 6, 0x0806);
	memcpy(f + o, r + 14, 28);
	put16(f + o + 6, 2);
	memcpy(f + o + 8, guest_mac, 6);
	put32(f + o + 14, GUEST);
	memcpy(f + o + 18, r + 22, 10);                /* target: slirp's MAC and address */
	double t0 = now_ms();
	dev_send(n.fd, NULL, f, o + 28);
	static const uint16_t gport = 80;
	ck_assert_int_ge(dev_expect(n.fd, is_tcp_to, &gport, r, sizeof(r)), 54);
	double dt = now_ms() - t0;
	ck_assert_msg(dt < 100, "the SYN came %.1f ms after the ARP reply", dt);
	close(c);
	net_user_close(n.u);
}
END_TEST

/* DNS to 10.0.2.3 goes to resolv.conf's server (here 127.0.0.1 of the namespace, a bind mount), under the sandbox. */
START_TEST(test_dns)
{
	char tmp[] = "/tmp/ukvm-resolv-XXXXXX";
	int t = mkstemp(tmp);
	ck_assert_int_ge(t, 0);
	ck_assert_int_eq(write(t, "nameserver 127.0.0.1\n", 21), 21);
	close(t);
	ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	ck_assert_int_eq(mount(tmp, "/etc/resolv.conf", NULL, MS_BIND, NULL), 0);
	unlink(tmp);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(53), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	struct nu n = nu_up();
	nu_arp(&n, DNS);
	static const uint8_t q[] = "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x07" "example\x03"
				   "com\x00\x00\x01\x00\x01";
	uint8_t f[200], r[200], got[200];
	static const uint8_t dns_mac[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x03 };
	dev_send(n.fd, NULL, f, fb_udp(f, dns_mac, GUEST, DNS, 5353, 53, q, sizeof(q) - 1));
	struct pollfd p = { .fd = s, .events = POLLIN };
	ck_assert_int_eq(poll(&p, 1, WAIT_MS), 1);
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t qn = recvfrom(s, got, sizeof(got), 0, (struct sockaddr *)&from, &fl);
	ck_assert_int_eq(qn, (ssize_t)sizeof(q) - 1);
	ck_assert_mem_eq(got, q, sizeof(q) - 1);
	got[2] = 0x81; /* a response */
	ck_assert_int_eq(sendto(s, got, (size_t)qn, 0, (struct sockaddr *)&from, fl), qn);
	static const uint16_t gport = 5353;
	ssize_t len = dev_expect(n.fd, is_udp_to, &gport, r, sizeof(r));
	ck_assert_int_eq(len, 42 + qn);
	ck_assert_uint_eq(get32(r + 26), DNS);         /* from the DNS alias */
	ck_assert_uint_eq(get16(r + 34), 53);
	ck_assert_mem_eq(r + 42, got, (size_t)qn);
	close(s);
	net_user_close(n.u);
}
END_TEST

/* close returns promptly and the helper is gone: its hostfwd port is free again. */
START_TEST(test_close_prompt)
{
	uint16_t port;
	close(listener(&port, SOCK_STREAM));
	struct ukvm_hostfwd fw = { .host_addr = htonl(INADDR_LOOPBACK), .host_port = port, .guest_port = 80 };
	struct ukvm_net cfg = { .kind = UKVM_NET_USER, .fwds = &fw, .nfwds = 1 };
	for (int i = 0; i < 3; i++) {
		struct nu n = nu_up_cfg(&cfg);
		nu_arp(&n, GW);
		double t0 = now_ms();
		net_user_close(n.u);
		double dt = now_ms() - t0;
		ck_assert_msg(dt < 200, "close took %.1f ms", dt);
		ck_assert_int_eq(fcntl(n.fd, F_GETFD), -1); /* the device's fd is closed too */
	}
	ck_assert(port_free_within(port, 0 + 10)); /* at once: close waited for the helper's exit */
}
END_TEST

/* Binding port on 127.0.0.1 succeeds within ms: whoever held it (a helper) is gone. */
static bool port_free_within(uint16_t port, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int r = bind(s, (struct sockaddr *)&a, sizeof(a));
		close(s);
		if (r == 0)
			return true;
		usleep(10000);
	}
	return false;
}

/* ukvm_destroy runs on the vCPU thread under its allowlist: close must get by with it (pidfd, waitid). */
START_TEST(test_close_under_vcpu_filter)
{
	uint16_t port;
	close(listener(&port, SOCK_STREAM));
	struct ukvm_hostfwd fw = { .host_addr = htonl(INADDR_LOOPBACK), .host_port = port, .guest_port = 80 };
	struct ukvm_net cfg = { .kind = UKVM_NET_USER, .fwds = &fw, .nfwds = 1 };
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct net_user *u;
		int fd;
		char err[256];
		if (net_user_open(&cfg, &u, &fd, err, sizeof(err)) || net_user_start(u, true))
			_exit(3);
		if (sandbox_vcpu_install(5))
			_exit(4);
		net_user_close(u);
		syscall(SYS_exit_group, 7);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 7, "status 0x%x", st);
	ck_assert(port_free_within(port, 1000));
}
END_TEST

/* A monitor that dies without closing takes its helper along (the control socket's end). */
START_TEST(test_monitor_dies)
{
	uint16_t port;
	close(listener(&port, SOCK_STREAM));
	struct ukvm_hostfwd fw = { .host_addr = htonl(INADDR_LOOPBACK), .host_port = port, .guest_port = 80 };
	struct ukvm_net cfg = { .kind = UKVM_NET_USER, .fwds = &fw, .nfwds = 1 };
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct net_user *u;
		int fd;
		char err[256];
		if (net_user_open(&cfg, &u, &fd, err, sizeof(err)) || net_user_start(u, true))
			_exit(3);
		kill(getpid(), SIGKILL);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFSIGNALED(st));
	ck_assert(port_free_within(port, 1000));
}
END_TEST

/* --- limits ------------------------------------------------------------------------------ */

/* A port in use fails open with one line naming it. */
START_TEST(test_port_in_use)
{
	uint16_t port;
	int l = listener(&port, SOCK_STREAM);
	struct ukvm_hostfwd fw = { .host_addr = htonl(INADDR_LOOPBACK), .host_port = port, .guest_port = 80 };
	struct ukvm_net cfg = { .kind = UKVM_NET_USER, .fwds = &fw, .nfwds = 1 };
	struct net_user *u = NULL;
	int fd = -1;
	char err[256] = "", want[128];
	ck_assert_int_eq(net_user_open(&cfg, &u, &fd, err, sizeof(err)), -EADDRINUSE);
	snprintf(want, sizeof(want), "hostfwd tcp 127.0.0.1:%u: Address already in use", port);
	ck_assert_str_eq(err, want);
	close(l);
	/* UDP likewise. */
	int ul = listener(&port, SOCK_DGRAM);
	struct ukvm_hostfwd uf = { .udp = true, .host_port = port, .guest_port = 53 };
	cfg.fwds = &uf;
	ck_assert_int_eq(net_user_open(&cfg, &u, &fd, err, sizeof(err)), -EADDRINUSE);
	snprintf(want, sizeof(want), "hostfwd udp 0.0.0.0:%u: Address already in use", port);
	ck_assert_str_eq(err, want);
	close(ul);
}
END_TEST

/* Addressing libslirp cannot serve, and too many forwards, are refused before anything starts. */
START_TEST(test_bad_config)
{
	struct net_user *u = NULL;
	int fd = -1;
	char err[256];
	struct ukvm_net gw_out = { .kind = UKVM_NET_USER, .gw = htonl(0x0a000102) };
	ck_assert_int_eq(net_user_open(&gw_out, &u, &fd, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "distinct host addresses"));
	struct ukvm_net same = { .kind = UKVM_NET_USER, .ipv4 = htonl(GW) };
	ck_assert_int_eq(net_user_open(&same, &u, &fd, err, sizeof(err)), -EINVAL);
	struct ukvm_net wide = { .kind = UKVM_NET_USER, .ipv4 = htonl(GUEST), .prefix = 31 };
	ck_assert_int_eq(net_user_open(&wide, &u, &fd, err, sizeof(err)), -EINVAL);
	static struct ukvm_hostfwd many[65];
	struct ukvm_net lots = { .kind = UKVM_NET_USER, .fwds = many, .nfwds = 65 };
	ck_assert_int_eq(net_user_open(&lots, &u, &fd, err, sizeof(err)), -E2BIG);
	struct ukvm_hostfwd zero = { .guest_port = 80 };
	struct ukvm_net z = { .kind = UKVM_NET_USER, .fwds = &zero, .nfwds = 1 };
	ck_assert_int_eq(net_user_open(&z, &u, &fd, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_null(u);
}
END_TEST

/* A helper that is not there: one line, nothing left behind. */
START_TEST(test_no_helper)
{
	setenv("UKVM_SLIRP_HELPER", "/nonexistent/ukvm-slirp", 1);
	struct ukvm_net cfg = { .kind = UKVM_NET_USER };
	struct net_user *u = NULL;
	int fd = -1;
	char err[256] = "";
	ck_assert_int_eq(net_user_open(&cfg, &u, &fd, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "cannot start /nonexistent/ukvm-slirp"));
}
END_TEST

/* --- hostile ---------------------------------------------------------------------------- */

/* Runts, giants, offload flags and broken IP are dropped; the backend still answers after. */
START_TEST(test_malformed)
{
	struct nu n = nu_up();
	uint8_t f[70000];
	memset(f, 0xa5, sizeof(f));
	ck_assert_int_eq(send(n.fd, f, 0, 0), 0);              /* empty datagram */
	ck_assert_int_eq(send(n.fd, f, 5, 0), 5);              /* shorter than the header */
	dev_send(n.fd, NULL, f, 3);                            /* header + a runt */
	dev_send(n.fd, NULL, f, sizeof(f) - HDR);              /* a giant */
	struct virtio_net_hdr csum = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34, .csum_offset = 16 };
	struct virtio_net_hdr gso = { .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1448 };
	size_t len = fb_arp(f, GW);
	dev_send(n.fd, &csum, f, len);                         /* would be answered without the flag */
	dev_send(n.fd, &gso, f, len);
	uint8_t r[64];
	uint32_t gw = GW;
	struct pollfd p = { .fd = n.fd, .events = POLLIN };
	if (poll(&p, 1, 200) == 1) {
		ssize_t x = recv(n.fd, f, sizeof(f), 0);
		ck_abort_msg("answered %zd bytes type %04x", x, get16(f + HDR + 12));
	}
	/* IP with absurd lengths: total length past the frame, IHL past the packet, IHL below 5. */
	uint16_t port = 9;
	for (int k = 0; k < 4; k++) {
		size_t m = fb_tcp(f, GUEST, GW, 40001, port, 1, 0, 0x02);
		if (k == 0)
			put16(f + 16, 0xffff);
		if (k == 1)
			f[14] = 0x4f;
		if (k == 2)
			f[14] = 0x41;
		if (k == 3)
			m = 14 + 10;                           /* IP header cut short */
		dev_send(n.fd, NULL, f, m);
	}
	for (int k = 0; k < 200; k++) {                        /* random garbage as IPv4 and ARP */
		for (size_t i = 14; i < 200; i++)
			f[i] = (uint8_t)rand();
		fb_eth(f, bcast, k & 1 ? 0x0806 : 0x0800);
		dev_send(n.fd, NULL, f, 14 + (size_t)(rand() % 186));
	}
	/* Still alive and well. */
	dev_send(n.fd, NULL, f, fb_arp(f, GW));
	ck_assert_int_ge(dev_expect(n.fd, is_arp_reply, &gw, r, sizeof(r)), 42);
	net_user_close(n.u);
}
END_TEST

/* A guest flooding frames while nobody reads the device end: the backend drops, never blocks; close is prompt. */
START_TEST(test_flood)
{
	struct nu n = nu_up();
	uint8_t f[64];
	size_t len = fb_arp(f, GW);
	int fl = fcntl(n.fd, F_GETFL);
	fcntl(n.fd, F_SETFL, fl | O_NONBLOCK);
	uint8_t buf[HDR + 64] = { 0 };
	memcpy(buf + HDR, f, len);
	int sent = 0;
	double t0 = now_ms();
	while (sent < 20000 && now_ms() - t0 < 2000) {
		if (send(n.fd, buf, HDR + len, 0) > 0)
			sent++;
		else
			usleep(100);
	}
	ck_assert_int_gt(sent, 1000);
	double t1 = now_ms();
	net_user_close(n.u);
	ck_assert_msg(now_ms() - t1 < 200, "close took %.1f ms", now_ms() - t1);
}
END_TEST

/* The helper's seccomp allowlist: its calls pass, others kill (each in a child, raw syscalls). */
static int slirp_child(long nr, long a0, long a1, long a2)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (sandbox_slirp_install(true))
			syscall(SYS_exit_group, 3);
		syscall(nr, a0, a1, a2);
		syscall(SYS_exit_group, 7);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return st;
}

#define SURVIVES(st) ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 7, "status 0x%x", st)
#define KILLED(st) ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "status 0x%x", st)

START_TEST(test_sandbox)
{
	SURVIVES(slirp_child(SYS_socket, AF_INET, SOCK_STREAM, 0));
	SURVIVES(slirp_child(SYS_poll, 0, 0, 0));
	SURVIVES(slirp_child(SYS_openat, AT_FDCWD, (long)"/etc/resolv.conf", O_RDONLY)); /* Landlock decides the path */
	KILLED(slirp_child(SYS_socket, AF_UNIX, SOCK_STREAM, 0));     /* host services over unix sockets */
	KILLED(slirp_child(SYS_socket, AF_NETLINK, SOCK_RAW, 0));
	KILLED(slirp_child(SYS_socket, AF_PACKET, SOCK_RAW, 0));
	KILLED(slirp_child(SYS_openat, AT_FDCWD, (long)"/tmp/x", O_WRONLY | O_CREAT));
	KILLED(slirp_child(SYS_openat, AT_FDCWD, (long)"/etc/passwd", O_RDWR));
	KILLED(slirp_child(SYS_execve, (long)"/bin/sh", 0, 0));
	KILLED(slirp_child(SYS_ptrace, 0, 0, 0));
	KILLED(slirp_child(SYS_mprotect, 0, 4096, 7));
	KILLED(slirp_child(SYS_kill, 1, 0, 0));
	KILLED(slirp_child(SYS_ioctl, 0, 0, 0));
	KILLED(slirp_child(SYS_getppid, 0, 0, 0));
	/* PROT_EXEC mappings are refused: no code the guest wrote may run. */
	KILLED(slirp_child(SYS_mmap, 0, 4096, 7));
}
END_TEST

Suite *netuser_suite(void)
{
	Suite *s = suite_create("netuser");
	const char *why = ns_unusable();
	if (why) {
		printf("SKIPPED: unit suite netuser: %s\n", why);
		return s;
	}
	TCase *c = tcase_create("core");
	tcase_add_checked_fixture(c, setup, NULL);
	tcase_add_test(c, test_arp);
	tcase_add_test(c, test_dhcp);
	tcase_add_test(c, test_dhcp_config);
	tcase_add_test(c, test_tcp_out);
	tcase_add_test(c, test_tcp_data);
	tcase_add_test(c, test_hostfwd);
	tcase_add_test(c, test_hostfwd_arp_first);
	tcase_add_test(c, test_hostfwd_udp);
	tcase_add_test(c, test_dns);
	tcase_add_test(c, test_close_prompt);
	tcase_add_test(c, test_close_under_vcpu_filter);
	tcase_add_test(c, test_monitor_dies);
	tcase_set_timeout(c, 30);
	suite_add_tcase(s, c);
	TCase *l = tcase_create("limits");
	tcase_add_checked_fixture(l, setup, NULL);
	tcase_add_test(l, test_port_in_use);
	tcase_add_test(l, test_bad_config);
	tcase_add_test(l, test_no_helper);
	suite_add_tcase(s, l);
	TCase *h = tcase_create("hostile");
	tcase_add_checked_fixture(h, setup, NULL);
	tcase_add_test(h, test_malformed);
	tcase_add_test(h, test_flood);
	tcase_add_test(h, test_sandbox);
	tcase_set_timeout(h, 30);
	suite_add_tcase(s, h);
	return s;
}
