/*
 * check_netdev.c: integration suite "netdev": the host's virtio-net device under real guests, on a
 * tap inside a throwaway network namespace (netns.h): attach errors and exit codes, and --stats
 * counters against the tap's own. The network tests proper are suite "net" (check_net.c).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "it_util.h"
#include "netns.h"
#include "ukvm.h"

#define HOST_CIDR "10.81.0.1/24"

static struct netns ns;

static const char *ip_prog(void)
{
	static const char *const where[] = { "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip" };
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++)
		if (!access(where[i], X_OK))
			return where[i];
	return "ip";
}

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

/* Runs ukvm-run ARGS... inside the namespace to completion (limit_s), into *r. No arg may be it_path's buffer. */
static void run_in_ns(struct it_result *r, double limit_s, const char *const *args)
{
	const char *cmd[32];
	size_t n = 0;
	char pv[8], mon[4096];
	snprintf(mon, sizeof(mon), "%s", it_path("ukvm-run"));
	cmd[n++] = mon;
	snprintf(pv, sizeof(pv), "%s", it_pv_mode() == UKVM_PV_OFF ? "off" : it_pv_mode() == UKVM_PV_ON ? "on" : "auto");
	cmd[n++] = "--pv";
	cmd[n++] = pv;
	for (size_t i = 0; args[i] && n < 30; i++)
		cmd[n++] = args[i];
	cmd[n] = NULL;
	const char *argv[40];
	netns_exec_argv(&ns, false, cmd, argv, 40);
	struct it_proc p;
	ck_assert_int_eq(it_start(&p, ip_prog(), argv + 1), 0);
	ck_assert_int_eq(it_finish(&p, 0, limit_s, r, NULL), 0);
}

/* The tap's own counter NAME (rx_packets ...) from its namespace's sysfs. */
static unsigned long long tap_stat(const char *name)
{
	char cmd[256], line[64];
	snprintf(cmd, sizeof(cmd), "%s netns exec %s cat /sys/class/net/tap0/statistics/%s", ip_prog(), ns.name, name);
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
	ck_assert_str_eq(r.err, "ukvm-run: tap0: cannot attach: Device or resource busy (another process holds the tap)\n");
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
	tcase_add_test(tc, tx_counts_match_tap);
	suite_add_tcase(s, tc);
	return s;
}
