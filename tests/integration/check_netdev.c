/*
 * check_netdev.c: integration suite "netdev": the host's virtio-net device under real guests, on a
 * tap inside a throwaway network namespace (netns.h): attach errors and exit codes, and --stats
 * counters against the tap's own. The network tests proper are suite "net" (check_net.c).
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "it_util.h"
#include "netns.h"
#include "ukvm.h"

#define HOST_CIDR "10.81.0.1/24"
#define GUEST_IP "10.81.0.2"
#define HOST_IP "10.81.0.1"

static struct netns ns;

/* The namespace with tap0 (HOST_CIDR, up) and IPv6 off: the host sends the guest nothing by itself. */
static void env_up(void)
{
	char why[768];
	ck_assert_msg(netns_create(&ns, why, sizeof(why)) == 0, "%s", why);
	ck_assert_msg(netns_ip(why, sizeof(why), "netns", "exec", ns.name, "sysctl", "-qw",
			       "net.ipv6.conf.all.disable_ipv6=1", NULL) == 0, "%s", why);
	ck_assert_msg(netns_add_tap(&ns, "tap0", HOST_CIDR, why, sizeof(why)) == 0, "%s", why);
}

static void env_down(void)
{
	netns_destroy(&ns);
}

/*
 * Starts ukvm-run ARGS... inside the namespace; with wrap (/usr/bin/setpriv), through it with
 * CAP_NET_ADMIN dropped. No arg may be it_path's buffer.
 */
static void start_in_ns_as(struct it_proc *p, const char *wrap, const char *const *args)
{
	const char *cmd[40];
	size_t n = 0;
	char pv[8], mon[4096];
	snprintf(mon, sizeof(mon), "%s", it_path("ukvm-run"));
	if (wrap) {
		cmd[n++] = wrap;
		cmd[n++] = "--inh-caps=-net_admin";
		cmd[n++] = "--bounding-set=-net_admin";
		cmd[n++] = "--";
	}
	cmd[n++] = mon;
	snprintf(pv, sizeof(pv), "%s", it_pv_mode() == UKVM_PV_OFF ? "off" : it_pv_mode() == UKVM_PV_ON ? "on" : "auto");
	cmd[n++] = "--pv";
	cmd[n++] = pv;
	for (size_t i = 0; args[i] && n < 38; i++)
		cmd[n++] = args[i];
	cmd[n] = NULL;
	const char *argv[48];
	netns_exec_argv(&ns, false, cmd, argv, 48);
	ck_assert_int_eq(it_start(p, netns_ip_prog(), argv + 1), 0);
}

static void start_in_ns(struct it_proc *p, const char *const *args)
{
	start_in_ns_as(p, NULL, args);
}

/* Runs ukvm-run ARGS... (through wrap: start_in_ns_as) inside the namespace to completion (limit_s), into *r. */
static void run_in_ns_as(struct it_result *r, double limit_s, const char *wrap, const char *const *args)
{
	struct it_proc p;
	start_in_ns_as(&p, wrap, args);
	ck_assert_int_eq(it_finish(&p, 0, limit_s, r, NULL), 0);
}

static void run_in_ns(struct it_result *r, double limit_s, const char *const *args)
{
	run_in_ns_as(r, limit_s, NULL, args);
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The tap's own counter NAME (rx_packets ...) from its namespace's sysfs. */
static unsigned long long tap_stat(const char *name)
{
	char cmd[256], line[64];
	snprintf(cmd, sizeof(cmd), "%s netns exec %s cat /sys/class/net/tap0/statistics/%s", netns_ip_prog(), ns.name, name);
	FILE *f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	pclose(f);
	return strtoull(line, NULL, 10);
}

struct nic_stats {
	unsigned long long rxp, rxb, rxd, txp, txb, txd, notifies;
};

/* The --stats line of eth0. */
static struct nic_stats nic_stats(const char *err)
{
	struct nic_stats s;
	const char *l = strstr(err, "ukvm-run: eth0: rx ");
	ck_assert_msg(l, "no eth0 line in --stats:\n%s", err);
	ck_assert_int_eq(sscanf(l, "ukvm-run: eth0: rx %llu packets %llu bytes (%llu dropped), tx %llu packets %llu bytes "
				   "(%llu dropped), %llu notifies",
				&s.rxp, &s.rxb, &s.rxd, &s.txp, &s.txb, &s.txd, &s.notifies),
			 7);
	return s;
}

/* A tap another process holds: one line naming it and why, exit 120 (a device its config cannot open). */
START_TEST(tap_busy)
{
	env_up();
	ck_assert_int_eq(netns_enter(&ns, false), 0);
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "tap0");
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	ck_assert_int_eq(ioctl(fd, TUNSETIFF, &ifr), 0);
	ck_assert_int_eq(netns_leave(&ns), 0);
	struct it_result r;
	char img[4096];
	snprintf(img, sizeof(img), "%s", it_path("apps/hello.img"));
	const char *args[] = { "--net", "tap:tap0", img, NULL };
	run_in_ns(&r, 20, args);
	ck_assert_int_eq(r.status, UKVM_EXIT_USAGE);
	/* EBUSY in the C library's words: ukvm-run is musl ("Resource busy"), glibc says "Device or resource busy". */
	static const char head[] = "ukvm-run: tap0: cannot attach: ", tail[] = "busy (another process holds the tap)\n";
	size_t n = strlen(r.err);
	ck_assert_msg(!strncmp(r.err, head, sizeof(head) - 1) && n >= sizeof(head) - 1 + sizeof(tail) - 1 &&
			      !strcmp(r.err + n - (sizeof(tail) - 1), tail) && !strchr(r.err, '\n')[1],
		      "err: %s", r.err);
	it_result_free(&r);
	close(fd);
	/* Free again: the same VM runs. */
	const char *args2[] = { "--net", "tap:tap0", "--stats", img, NULL };
	run_in_ns(&r, 20, args2);
	ck_assert_msg(r.status == 0, "status %d\n%s", r.status, r.err);
	struct nic_stats s = nic_stats(r.err);
	ck_assert_uint_eq(s.rxp + s.txp, 0); /* hello has no network */
	it_result_free(&r);
	env_down();
}
END_TEST

/*
 * Without CAP_NET_ADMIN (root with the capability dropped, so /dev/kvm still opens; setpriv from
 * util-linux): a tap owned by another user, and a missing tap ukvm-run may not create, each get
 * one line saying what is needed, exit 120.
 */
START_TEST(tap_not_permitted)
{
	if (access("/usr/bin/setpriv", X_OK)) {
		fprintf(stderr, "SKIPPED: netdev tap_not_permitted: no /usr/bin/setpriv (util-linux)\n");
		return;
	}
	env_up();
	char why[768];
	ck_assert_msg(netns_ip(why, sizeof(why), "netns", "exec", ns.name, "ip", "tuntap", "add", "dev", "tapu", "mode",
			       "tap", "user", "4242", NULL) == 0,
		      "%s", why);
	char img[4096];
	snprintf(img, sizeof(img), "%s", it_path("apps/hello.img"));
	static const char *const taps[] = { "tapu", "tapnone" };
	for (int i = 0; i < 2; i++) {
		char spec[32], want[160];
		snprintf(spec, sizeof(spec), "tap:%s", taps[i]);
		snprintf(want, sizeof(want),
			 "ukvm-run: %s: cannot attach: Operation not permitted (need CAP_NET_ADMIN or a tap owned by you)\n",
			 taps[i]);
		const char *args[] = { "--net", spec, img, NULL };
		struct it_result r;
		run_in_ns_as(&r, 20, "/usr/bin/setpriv", args);
		ck_assert_msg(r.status == UKVM_EXIT_USAGE && !strcmp(r.err, want), "%s: status %d\nerr: %s", taps[i],
			      r.status, r.err);
		it_result_free(&r);
	}
	env_down();
}
END_TEST

/*
 * A host without the tun driver: /dev/net/tun missing (a private mount namespace with an empty
 * tmpfs on /dev/net, so the host's own stays untouched) gets one line saying so, exit 120.
 */
START_TEST(tap_no_tun_driver)
{
	char mon[4096], img[4096];
	snprintf(mon, sizeof(mon), "%s", it_path("ukvm-run"));
	snprintf(img, sizeof(img), "%s", it_path("apps/hello.img"));
	const char *args[] = { "-m", "--propagation", "private", "sh", "-c",
			       "mount -t tmpfs none /dev/net && exec \"$0\" \"$@\"", mon, "--net", "tap:tap0", img, NULL };
	struct it_proc p;
	struct it_result r;
	ck_assert_int_eq(it_start(&p, "/usr/bin/unshare", args), 0);
	ck_assert_int_eq(it_finish(&p, 0, 20, &r, NULL), 0);
	ck_assert_msg(r.status == UKVM_EXIT_USAGE &&
			      !strcmp(r.err, "ukvm-run: tap0: cannot attach: /dev/net/tun: No such file or directory "
					     "(no tun driver on this host)\n"),
		      "status %d\nerr: %s", r.status, r.err);
	it_result_free(&r);
}
END_TEST

/*
 * The same tap taken again the moment the previous monitor exited: a monitor releases its tap
 * before it exits (its io_uring's fixed-file table, released asynchronously when the ring is only
 * closed, would hold the tap for a moment: EBUSY at the next TUNSETIFF). Reads are armed on the
 * tap while each guest runs (RX buffers are posted at boot).
 */
START_TEST(tap_quick_restart)
{
	env_up();
	char img[4096];
	snprintf(img, sizeof(img), "%s", it_path("apps/hello.img"));
	const char *args[] = { "--net", "tap:tap0,ip=" GUEST_IP "/24", img, NULL };
	for (int i = 0; i < 8; i++) {
		struct it_result r;
		run_in_ns(&r, 20, args);
		ck_assert_msg(r.status == 0, "run %d: status %d\n%s", i, r.status, r.err);
		it_result_free(&r);
	}
	env_down();
}
END_TEST

/*
 * Counts, among the frames captured on tap0 (fd: an AF_PACKET socket, drained), the guest's ARP
 * requests for HOST_IP (gratuitous ones aside) and its SYN-ACKs.
 */
static void count_guest_frames(int fd, const uint8_t *mac, int *arp_req, int *synack)
{
	uint8_t f[2048];
	ssize_t n;
	struct in_addr host;
	ck_assert_int_eq(inet_pton(AF_INET, HOST_IP, &host), 1);
	*arp_req = *synack = 0;
	while ((n = recv(fd, f, sizeof(f), MSG_DONTWAIT)) > 0) {
		if (n < 14 || memcmp(f + 6, mac, 6))
			continue;
		uint16_t type = (uint16_t)(f[12] << 8 | f[13]);
		if (type == 0x0806 && n >= 42 && f[20] == 0 && f[21] == 1 && !memcmp(f + 38, &host, 4))
			++*arp_req;
		if (type == 0x0800 && n >= 54 && f[23] == IPPROTO_TCP) {
			const uint8_t *tcp = f + 14 + (f[14] & 15) * 4;
			if (tcp + 14 <= f + n && (tcp[13] & 0x12) == 0x12)
				++*synack;
		}
	}
}

/*
 * The first connection to a guest whose peer knows the guest's MAC but not the other way round
 * (as user-mode networking: libslirp learns it from the gratuitous ARP, then its hostfwd SYN comes
 * with no ARP request): the guest asks for the peer's MAC once and its SYN-ACK goes out with the
 * answer. The ARP code once caught up its idle timer ticks from inside the request it was sending:
 * five requests at once, the pending entry and the SYN-ACK queued on it dropped, the connection
 * made ~3 s later by the SYN-ACK's retransmission. Counted, not timed.
 */
START_TEST(first_connect_no_arp_retry)
{
	env_up();
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x4e, 0x50, 0x01 };
	char why[512], img[4096];
	ck_assert_msg(netns_ip(why, sizeof(why), "netns", "exec", ns.name, "ip", "neigh", "replace", GUEST_IP,
			       "lladdr", "52:54:00:4e:50:01", "dev", "tap0", "nud", "permanent", NULL) == 0, "%s", why);
	ck_assert_int_eq(netns_enter(&ns, false), 0);
	int cap = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	ck_assert_msg(cap >= 0, "packet socket: %s", strerror(errno));
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				  .sll_ifindex = (int)if_nametoindex("tap0") };
	ck_assert_int_eq(bind(cap, (struct sockaddr *)&ll, sizeof(ll)), 0);
	snprintf(img, sizeof(img), "%s", it_path("apps/tcpecho.img"));
	const char *args[] = { "--net", "tap:tap0,ip=" GUEST_IP "/24,mac=52:54:00:4e:50:01", "--timeout", "30",
			       img, "--", "7", "1", NULL };
	struct it_proc p;
	start_in_ns(&p, args);
	ck_assert_msg(it_wait_output(&p, "listening on", 20), "the guest never came up: %s", p.r.err);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(7) };
	ck_assert_int_eq(inet_pton(AF_INET, GUEST_IP, &a.sin_addr), 1);
	ck_assert_msg(connect(s, (struct sockaddr *)&a, sizeof(a)) == 0, "connect: %s", strerror(errno));
	char c = 'x';
	ck_assert_int_eq(write(s, &c, 1), 1);
	ck_assert_int_eq(read(s, &c, 1), 1);
	close(s);
	struct it_result r;
	ck_assert_int_eq(it_finish(&p, 0, 30, &r, NULL), 0);
	ck_assert_msg(r.status == 0, "status %d\n%s", r.status, r.err);
	it_result_free(&r);
	int arp_req, synack;
	count_guest_frames(cap, mac, &arp_req, &synack);
	close(cap);
	ck_assert_int_eq(netns_leave(&ns), 0);
	fprintf(stderr, "netdev: first connection: %d ARP requests for the host, %d SYN-ACKs\n", arp_req, synack);
	ck_assert_int_eq(arp_req, 1);
	ck_assert_int_eq(synack, 1);
	env_down();
}
END_TEST

/*
 * An AF_PACKET socket on tap0 of the thread's namespace, capturing both ways; vnet: each frame
 * behind the 10-byte virtio_net_hdr that says how the kernel will segment it (PACKET_VNET_HDR).
 */
static int capture_open_vnet(bool vnet)
{
	int cap = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	ck_assert_msg(cap >= 0, "packet socket: %s", strerror(errno));
	int one = 1;
	if (vnet)
		ck_assert_int_eq(setsockopt(cap, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)), 0);
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				  .sll_ifindex = (int)if_nametoindex("tap0") };
	ck_assert_int_eq(bind(cap, (struct sockaddr *)&ll, sizeof(ll)), 0);
	int big = 8 << 20;
	(void)setsockopt(cap, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	return cap;
}


/*
 * An echo through the guest at MTU mtu on both ends: the guest advertises the wire's MSS in its
 * SYN-ACK (lwIP's interface MTU is 64 KiB with TSO: net_tcp_opts lowers the option) and hands
 * the tap TSO frames (PACKET_VNET_HDR shows gso_size) whose segments fill the MTU exactly; the
 * bytes come back exact.
 */
static void tso_echo(unsigned mtu)
{
	env_up();
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x4e, 0x50, 0x02 };
	char why[512], img[4096], net[128], mtus[16];
	snprintf(mtus, sizeof(mtus), "%u", mtu);
	ck_assert_msg(netns_ip(why, sizeof(why), "-n", ns.name, "link", "set", "tap0", "mtu", mtus, NULL) == 0, "%s", why);
	ck_assert_int_eq(netns_enter(&ns, false), 0);
	int cap = capture_open_vnet(true);
	snprintf(img, sizeof(img), "%s", it_path("apps/tcpecho.img"));
	snprintf(net, sizeof(net), "tap:tap0,ip=" GUEST_IP "/24,mtu=%u,mac=52:54:00:4e:50:02", mtu);
	const char *args[] = { "--net", net, "--timeout", "30", img, "--", "7", "1", NULL };
	struct it_proc p;
	start_in_ns(&p, args);
	ck_assert_msg(it_wait_output(&p, "listening on", 20), "the guest never came up: %s", p.r.err);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(7) };
	ck_assert_int_eq(inet_pton(AF_INET, GUEST_IP, &a.sin_addr), 1);
	ck_assert_msg(connect(s, (struct sockaddr *)&a, sizeof(a)) == 0, "connect: %s", strerror(errno));
	static uint8_t data[256 << 10], back[256 << 10];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + (i >> 11));
	size_t sent = 0, got = 0;
	while (got < sizeof(back)) {
		struct pollfd pf = { s, POLLIN | (sent < sizeof(data) ? POLLOUT : 0), 0 };
		ck_assert_int_eq(poll(&pf, 1, 20000), 1);
		if (pf.revents & POLLOUT) {
			ssize_t n = send(s, data + sent, sizeof(data) - sent, MSG_DONTWAIT);
			ck_assert_int_gt(n, 0);
			sent += (size_t)n;
		}
		if (pf.revents & POLLIN) {
			ssize_t n = recv(s, back + got, sizeof(back) - got, MSG_DONTWAIT);
			ck_assert_int_gt(n, 0);
			got += (size_t)n;
		}
	}
	ck_assert_mem_eq(back, data, sizeof(data));
	close(s);
	struct it_result r;
	ck_assert_int_eq(it_finish(&p, 0, 30, &r, NULL), 0);
	ck_assert_msg(r.status == 0, "status %d\n%s", r.status, r.err);
	it_result_free(&r);
	/* The guest's frames: the largest segment on the wire, TSO frames, and the MSS its SYN-ACK offered. */
	static uint8_t b[10 + 65536];
	ssize_t n;
	size_t largest = 0, tso = 0, gso_max = 0;
	int mss = -1;
	while ((n = recv(cap, b, sizeof(b), MSG_DONTWAIT)) > 10) {
		const uint8_t *f = b + 10; /* struct virtio_net_hdr without num_buffers */
		n -= 10;
		if (n < 54 || memcmp(f + 6, mac, 6) || f[12] != 0x08 || f[13] != 0 || f[23] != IPPROTO_TCP)
			continue;
		const uint8_t *tcp = f + 14 + (f[14] & 15) * 4;
		size_t hdrs = (size_t)(tcp - f) + (size_t)(tcp[12] >> 4) * 4, wire = (size_t)n;
		uint16_t gso_size;
		memcpy(&gso_size, b + 4, 2);
		if (b[1] != 0) { /* VIRTIO_NET_HDR_GSO_TCPV4: the kernel cuts it into segments of gso_size */
			ck_assert_uint_eq(b[1], 1);
			tso++;
			if ((size_t)n > gso_max)
				gso_max = (size_t)n;
			wire = hdrs + gso_size;
		}
		if (wire > largest)
			largest = wire;
		if ((tcp[13] & 0x12) == 0x12 && tcp + 24 <= f + n && tcp[20] == 2 && tcp[21] == 4)
			mss = tcp[22] << 8 | tcp[23];
	}
	close(cap);
	ck_assert_int_eq(netns_leave(&ns), 0);
	fprintf(stderr, "netdev: mtu %u: SYN-ACK MSS %d, largest guest segment %zu bytes, %zu TSO frames (largest %zu)\n",
		mtu, mss, largest, tso, gso_max);
	ck_assert_int_eq(mss, (int)mtu - 40);
	ck_assert_uint_eq(largest, mtu + 14);
	ck_assert_uint_gt(tso, 0);
	ck_assert_uint_gt(gso_max, mtu + 14);
	env_down();
}

START_TEST(jumbo_mtu_segments)
{
	tso_echo(9000);
}
END_TEST

START_TEST(tso_segments)
{
	tso_echo(1500);
}
END_TEST

/*
 * A hostile guest (apps/netflood: no RX buffers, TX as fast as the device takes it) for 1 s:
 * under the seccomp allowlists, every frame the device counts as sent is one the tap received,
 * byte for byte, and it counts none received.
 */
START_TEST(tx_counts_match_tap)
{
	env_up();
	unsigned long long p0 = tap_stat("rx_packets"), b0 = tap_stat("rx_bytes");
	struct it_result r;
	char img[4096];
	snprintf(img, sizeof(img), "%s", it_path("apps/netflood.img"));
	const char *args[] = { "--net", "tap:tap0", "--stats", "--timeout", "30", img, "--", "1", NULL };
	run_in_ns(&r, 40, args);
	ck_assert_msg(r.status == 0, "status %d\nout: %s\nerr: %s", r.status, r.out, r.err);
	struct nic_stats s = nic_stats(r.err);
	unsigned long long p1 = tap_stat("rx_packets"), b1 = tap_stat("rx_bytes");
	fprintf(stderr, "netdev: netflood 1 s: %llu frames, %llu bytes sent; tap received %llu, %llu\n", s.txp, s.txb,
		p1 - p0, b1 - b0);
	ck_assert_uint_gt(s.txp, 1000);
	ck_assert_uint_eq(s.txd, 0);
	ck_assert_uint_eq(p1 - p0, s.txp);
	ck_assert_uint_eq(b1 - b0, s.txb);
	ck_assert_uint_eq(s.rxp, 0);
	it_result_free(&r);
	env_down();
}
END_TEST

/*
 * The guest's stack (apps/netidle) answers pings through the device; --stats counts every frame
 * each way exactly as the tap does (the tap's TX is what the device read, its RX what the device
 * wrote), and SIGTERM ends the VM with reads armed on an idle tap at once.
 */
START_TEST(ping_counts_match_tap)
{
	env_up();
	char img[4096];
	snprintf(img, sizeof(img), "%s", it_path("apps/netidle.img"));
	const char *args[] = { "--net", "tap:tap0,ip=" GUEST_IP "/24", "--stats", "--timeout", "60", img, "--", "60", NULL };
	struct it_proc p;
	start_in_ns(&p, args);
	if (!it_wait_output(&p, "netidle: up", 20)) {
		struct it_result r;
		it_finish(&p, SIGKILL, 5, &r, NULL);
		ck_abort_msg("the guest never came up\nout: %s\nerr: %s", r.out, r.err);
	}
	ck_assert_int_eq(netns_enter(&ns, false), 0);
	int replies = netns_ping(GUEST_IP, 10, 64) + netns_ping(GUEST_IP, 3, 1472); /* small, and a full 1500-byte packet */
	ck_assert_int_eq(netns_leave(&ns), 0);
	double t = now_s();
	struct it_result r;
	ck_assert_int_eq(it_finish(&p, SIGTERM, 30, &r, NULL), 0);
	double stop_ms = (now_s() - t) * 1e3;
	ck_assert_msg(replies == 13, "%d of 13 pings answered\nerr: %s", replies, r.err);
	ck_assert_msg(r.status == 143, "status %d\nerr: %s", r.status, r.err);
	ck_assert_msg(stop_ms < 1000, "SIGTERM took %.0f ms", stop_ms);
	struct nic_stats s = nic_stats(r.err);
	unsigned long long tx_p = tap_stat("tx_packets"), tx_b = tap_stat("tx_bytes");
	unsigned long long rx_p = tap_stat("rx_packets"), rx_b = tap_stat("rx_bytes");
	fprintf(stderr, "netdev: 13 pings: guest rx %llu/%llu B, tx %llu/%llu B, %llu notifies; tap tx %llu/%llu B, "
		"rx %llu/%llu B; stop %.0f ms\n", s.rxp, s.rxb, s.txp, s.txb, s.notifies, tx_p, tx_b, rx_p, rx_b, stop_ms);
	ck_assert_uint_ge(s.rxp, 13); /* the echo requests, and ARP */
	ck_assert_uint_ge(s.txp, 13);
	ck_assert_uint_eq(s.rxd + s.txd, 0);
	ck_assert_uint_eq(s.rxp, tx_p);
	ck_assert_uint_eq(s.rxb, tx_b);
	ck_assert_uint_eq(s.txp, rx_p);
	ck_assert_uint_eq(s.txb, rx_b);
	ck_assert_msg(strstr(r.err, " exits per packet (notifies and mmio exits)\n"), "%s", r.err);
	ck_assert_msg(strstr(r.err, " exits per packet, all exits of the VM\n"), "%s", r.err);
	it_result_free(&r);
	env_down();
}
END_TEST

/*
 * Embedding: a NIC on the embedder's own fd (UKVM_NET_FD, a SOCK_SEQPACKET pair) carries the
 * guest's frames; the result's per-NIC counters say so, an older (0.2-sized) result is filled
 * only up to its size, and the fd stays the embedder's. An O_NONBLOCK fd is refused in one line.
 */
START_TEST(embed_fd_nic)
{
	int sv[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	char img[4096], err[256];
	snprintf(img, sizeof(img), "%s", it_path("apps/netidle.img"));
	const char *argv[] = { "1", NULL };
	struct ukvm_net net = { .kind = UKVM_NET_FD, .fd = sv[0], .ipv4 = htonl(0x0a090902), .prefix = 24 };
	struct ukvm_config cfg = { .size = sizeof(cfg), .pv = it_pv_mode(), .image = img, .argv = argv, .console_fd = -1,
				   .timeout_ms = 20000, .nets = &net, .nnets = 1 };
	for (int old = 0; old < 2; old++) {
		struct ukvm_vm *vm;
		ck_assert_msg(ukvm_create(&cfg, &vm, err, sizeof(err)) == UKVM_OK, "%s", err);
		static struct ukvm_result res;
		memset(&res, 0xaa, sizeof(res));
		res.size = old ? (uint32_t)UKVM_RESULT_SIZE_0_2 : (uint32_t)sizeof(res);
		ck_assert_int_eq(ukvm_run(vm, &res), 0);
		ukvm_destroy(vm);
		ck_assert_msg(res.kind == UKVM_EXITED && res.status == 0, "kind %d status %d: %s", res.kind, res.status,
			      res.msg);
		ck_assert_uint_eq(res.ndevs, 1);
		ck_assert_str_eq(res.devs[0].kind, "net");
		ck_assert_str_eq(res.devs[0].name, "eth0");
		if (old) {
			const uint8_t *past = (const uint8_t *)&res + UKVM_RESULT_SIZE_0_2;
			for (size_t i = 0; i < sizeof(res) - UKVM_RESULT_SIZE_0_2; i++)
				ck_assert_uint_eq(past[i], 0xaa);
		} else {
			ck_assert_uint_eq(res.nnets, 1);
			ck_assert_str_eq(res.nets[0].name, "eth0");
			ck_assert_uint_eq(res.nets[0].dev, 0);
			ck_assert_uint_ge(res.nets[0].tx_packets, 1); /* its ARP announcement */
			ck_assert_uint_eq(res.nets[0].notifies, res.devs[0].notifies);
			ck_assert_uint_eq(res.nets[0].exits, res.devs[0].exits);
		}
		/* What the guest sent is on the embedder's end: whole frames behind a zero header. */
		uint8_t f[2048];
		ssize_t n = recv(sv[1], f, sizeof(f), MSG_DONTWAIT);
		ck_assert_int_ge(n, 12 + 42);
		static const uint8_t zero[12];
		ck_assert_mem_eq(f, zero, 12);
		ck_assert_uint_eq(f[12 + 12] << 8 | f[12 + 13], 0x0806); /* ARP */
		while (recv(sv[1], f, sizeof(f), MSG_DONTWAIT) > 0)
			;
		ck_assert_int_ge(fcntl(sv[0], F_GETFD), 0); /* not closed: the embedder's */
	}
	ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	struct ukvm_vm *vm;
	ck_assert_int_eq(ukvm_create(&cfg, &vm, err, sizeof(err)), UKVM_ERR_CONFIG);
	char want[128];
	snprintf(want, sizeof(want), "eth0: fd %d is O_NONBLOCK: give a blocking fd", sv[0]);
	ck_assert_str_eq(err, want);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/*
 * One keepalive run: socktest keepalive (in the guest on tap0, or natively in the peer namespace
 * over a veth pair) connects to a server here, which says hello; once the client says it is
 * connected, a blackhole route drops every packet to it. Returns the client's stdout (malloc'd).
 */
static char *keepalive_run(bool native)
{
	char why[512], prog[4096], port[16];
	const char *srv_ip = native ? "10.81.1.1" : HOST_IP, *cli_ip = native ? "10.81.1.2/32" : GUEST_IP "/32";
	ck_assert_int_eq(netns_enter(&ns, false), 0);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET };
	ck_assert_int_eq(inet_pton(AF_INET, srv_ip, &a.sin_addr), 1);
	socklen_t al = sizeof(a);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&a, &al), 0);
	snprintf(port, sizeof(port), "%u", ntohs(a.sin_port));
	struct it_proc p;
	if (native) {
		snprintf(prog, sizeof(prog), "%s", it_path("apps/socktest"));
		const char *cmd[] = { prog, "keepalive", srv_ip, port, NULL };
		const char *argv[16];
		netns_exec_argv(&ns, true, cmd, argv, 16);
		ck_assert_int_eq(it_start(&p, netns_ip_prog(), argv + 1), 0);
	} else {
		snprintf(prog, sizeof(prog), "%s", it_path("apps/socktest.img"));
		const char *args[] = { "--net", "tap:tap0,ip=" GUEST_IP "/24", "--timeout", "40", prog, "--", "keepalive",
				       srv_ip, port, NULL };
		start_in_ns(&p, args);
	}
	struct pollfd pf = { l, POLLIN, 0 };
	ck_assert_msg(poll(&pf, 1, 20000) == 1, "the client never connected: %s", p.r.err);
	int s = accept(l, NULL, NULL);
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(write(s, "hello", 5), 5);
	ck_assert_msg(it_wait_output(&p, "keepalive: connected", 20), "%s%s", p.r.out, p.r.err);
	ck_assert_msg(netns_ip(why, sizeof(why), "-n", ns.name, "route", "add", "blackhole", cli_ip, NULL) == 0, "%s", why);
	struct it_result r;
	ck_assert_int_eq(it_finish(&p, 0, 30, &r, NULL), 0);
	close(s);
	close(l);
	ck_assert_int_eq(netns_leave(&ns), 0);
	ck_assert_msg(r.status == 0, "%s: status %d\n%s%s", native ? "Linux" : "ukvm", r.status, r.out, r.err);
	char *out = strdup(r.out);
	it_result_free(&r);
	return out;
}

/*
 * ETIMEDOUT as on Linux: a client with keepalive on (idle 1 s, interval 1 s, 2 probes) whose
 * peer vanishes (the namespace drops every packet to it) sees recv fail with ETIMEDOUT, then end
 * of file and EPIPE; the same binary natively (over a veth pair) prints the same lines. Bounded:
 * each client ends by itself ~3 s after the cut; the waits here are backstops.
 */
START_TEST(keepalive_timeout)
{
	env_up();
	char why[512];
	ck_assert_msg(netns_add_veth(&ns, "veth0", "10.81.1.1/24", "veth1", "10.81.1.2/24", why, sizeof(why)) == 0, "%s",
		      why);
	char *linux_out = keepalive_run(true), *ukvm_out = keepalive_run(false);
	ck_assert_msg(strstr(linux_out, "keepalive: connected\nrecv(c, b, sizeof(b), 0): -1 ETIMEDOUT\n"), "Linux: %s",
		      linux_out); /* the scenario is the one meant */
	char msg[512];
	it_first_diff(linux_out, ukvm_out, msg, sizeof(msg));
	ck_assert_msg(strcmp(linux_out, ukvm_out) == 0, "ukvm differs from Linux at %s", msg);
	free(linux_out);
	free(ukvm_out);
	env_down();
}
END_TEST

Suite *netdev_suite(void)
{
	Suite *s = suite_create("netdev");
	char why[512];
	if (!netns_usable(why, sizeof(why))) {
		printf("SKIPPED: integration suite netdev: %s\n", why);
		return s;
	}
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, tap_busy);
	tcase_add_test(tc, tap_no_tun_driver);
	tcase_add_test(tc, tap_not_permitted);
	tcase_add_test(tc, tap_quick_restart);
	tcase_add_test(tc, first_connect_no_arp_retry);
	tcase_add_test(tc, jumbo_mtu_segments);
	tcase_add_test(tc, tso_segments);
	tcase_add_test(tc, tx_counts_match_tap);
	tcase_add_test(tc, ping_counts_match_tap);
	tcase_add_test(tc, embed_fd_nic);
	tcase_add_test(tc, keepalive_timeout);
	suite_add_tcase(s, tc);
	return s;
}
