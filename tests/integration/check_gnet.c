/*
 * check_gnet.c: the guest's network foundation end to end: the virtio-net driver, lwIP and the
 * interfaces configured from the FDT, on a tap inside a throwaway network namespace (netns.h).
 * The guest (apps/netidle) only stays up; ICMP echo is answered by the kernel's stack. The test
 * thread joins the namespace: its sockets never touch the root namespace.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "it_util.h"
#include "netns.h"

#define HOST_IP   "10.79.0.1"
#define GUEST_IP  "10.79.0.2"
#define HOST2_IP  "10.80.0.1"
#define GUEST2_IP "10.80.0.2"

static struct netns ns;

/*
 * The namespace with ntaps taps (tap0 HOST_IP/24, tap1 HOST2_IP/24) and IPv6 off, so the host
 * sends the guest nothing by itself (no router or multicast listener solicitations): what the
 * guest receives is what the test sends. Joins it.
 */
static void env_up(int ntaps)
{
	char why[768];
	ck_assert_msg(netns_create(&ns, why, sizeof(why)) == 0, "%s", why);
	for (int i = 0; i < 2; i++) {
		static const char *const key[] = {"net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"};
		ck_assert_msg(netns_ip(why, sizeof(why), "netns", "exec", ns.name, "sysctl", "-qw", key[i], NULL) == 0,
			      "%s", why);
	}
	static const char *const host[] = {HOST_IP "/24", HOST2_IP "/24"};
	for (int i = 0; i < ntaps; i++) {
		static const char *const name[] = {"tap0", "tap1"};
		ck_assert_msg(netns_add_tap(&ns, name[i], host[i], why, sizeof(why)) == 0, "%s", why);
	}
	ck_assert_int_eq(netns_enter(&ns, false), 0);
}

/* Boots apps/netidle for secs seconds in the namespace with the given --net specs (NULL-ended); waits for it to be up. */
static void guest_start(struct it_proc *p, const char *secs, const char *const *nets)
{
	const char *cmd[32];
	size_t n = 0;
	char mon[4096], img[4096];
	snprintf(mon, sizeof(mon), "%s", it_path("ukvm-run"));
	snprintf(img, sizeof(img), "%s", it_path("apps/netidle.img"));
	cmd[n++] = mon;
	cmd[n++] = "--pv";
	cmd[n++] = it_pv_mode() == UKVM_PV_OFF ? "off" : it_pv_mode() == UKVM_PV_ON ? "on" : "auto";
	cmd[n++] = "--timeout";
	cmd[n++] = "60"; /* a backstop: every test ends the guest itself */
	cmd[n++] = "--stats";
	for (size_t i = 0; nets[i] && n < 24; i++) {
		cmd[n++] = "--net";
		cmd[n++] = nets[i];
	}
	cmd[n++] = img;
	cmd[n++] = "--";
	cmd[n++] = secs;
	cmd[n] = NULL;
	const char *argv[40];
	netns_exec_argv(&ns, false, cmd, argv, 40);
	ck_assert_int_eq(it_start(p, netns_ip_prog(), argv + 1), 0);
	if (!it_wait_output(p, "netidle: up", 20)) {
		struct it_result r;
		it_finish(p, SIGKILL, 5, &r, NULL);
		ck_abort_msg("the guest never came up\nout: %s\nerr: %s", r.out, r.err);
	}
}

/* "ukvm-run: N exits: ... wait W ..." from --stats: W, or -1. */
static long wait_exits(const char *err)
{
	const char *p = strstr(err, " exits: ");
	const char *w = p ? strstr(p, " wait ") : NULL;
	return w ? strtol(w + 6, NULL, 10) : -1;
}

START_TEST(ping_eth0)
{
	struct it_proc p;
	struct it_result r;
	env_up(1);
	const char *nets[] = {"tap:tap0,ip=" GUEST_IP "/24,gw=" HOST_IP ",dns=" HOST_IP ",dns=10.79.0.53", NULL};
	guest_start(&p, "30", nets);
	int got = netns_ping(GUEST_IP, 5, 64);
	ck_assert_msg(got == 5, "%d of 5 pings answered", got);
	got = netns_ping(GUEST_IP, 3, 1472); /* a full 1500-byte IP packet each way */
	ck_assert_msg(got == 3, "%d of 3 large pings answered", got);
	ck_assert_msg(netns_ping("10.79.0.99", 1, 64) == 0, "an address nobody holds answered"); /* the check can fail */
	ck_assert_int_eq(it_finish(&p, SIGTERM, 30, &r, NULL), 0);
	/* The /etc files the kernel wrote from the FDT (the image has none). */
	ck_assert_msg(strstr(r.out, "127.0.0.1\tlocalhost\n::1\tlocalhost\n" GUEST_IP "\tukvm\n"), "hosts: %s", r.out);
	ck_assert_msg(strstr(r.out, "resolv.conf:\nnameserver " HOST_IP "\nnameserver 10.79.0.53\n"), "resolv: %s", r.out);
	ck_assert_msg(!strstr(r.out, "NIC disabled") && !strstr(r.err, "NIC disabled"), "%s%s", r.out, r.err);
	it_result_free(&r);
	netns_destroy(&ns);
}
END_TEST

/* eth0 and eth1 in the FDT's order, each with its own address; both answer. */
START_TEST(two_nics)
{
	struct it_proc p;
	struct it_result r;
	env_up(2);
	const char *nets[] = {"tap:tap0,ip=" GUEST_IP "/24", "tap:tap1,ip=" GUEST2_IP "/24", NULL};
	guest_start(&p, "30", nets);
	ck_assert_int_eq(netns_ping(GUEST_IP, 2, 64), 2);
	ck_assert_int_eq(netns_ping(GUEST2_IP, 2, 64), 2);
	ck_assert_int_eq(it_finish(&p, SIGTERM, 30, &r, NULL), 0);
	ck_assert_msg(strstr(r.out, GUEST_IP "\tukvm\n"), "hosts: %s", r.out); /* the first NIC names the guest */
	ck_assert_msg(strstr(r.out, "/etc/resolv.conf: none"), "no DNS given, no resolv.conf: %s", r.out);
	it_result_free(&r);
	netns_destroy(&ns);
}
END_TEST

/*
 * An idle guest with a NIC sleeps: after a ping (ARP entries, the 1 s ARP timer running for
 * NET_SLOW_IDLE_MS), then nothing, it makes no periodic WAIT. A 250 ms TCP timer left running
 * alone would cost 4 wake-ups a second.
 */
START_TEST(idle_no_wakeups)
{
	struct it_proc p;
	struct it_result r;
	env_up(1);
	const char *nets[] = {"tap:tap0,ip=" GUEST_IP "/24", NULL};
	guest_start(&p, "3", nets);
	ck_assert_int_eq(netns_ping(GUEST_IP, 1, 64), 1);
	ck_assert_int_eq(it_finish(&p, 0, 20, &r, NULL), 0);
	ck_assert_msg(r.status == 0 && strstr(r.out, "netidle: done"), "status %d\nout: %s\nerr: %s", r.status, r.out, r.err);
	long w = wait_exits(r.err);
	/* The sleep, a ping and its ARP, the ARP timer's ticks for the ~3 s left: a few; never dozens. */
	ck_assert_msg(w >= 1 && w <= 12, "%ld WAIT exits in 3 s\n%s", w, r.err);
	it_result_free(&r);
	netns_destroy(&ns);
}
END_TEST

/*
 * A guest that spins on its RX ring before WAITing (virtio_net.c, vnet_spin.h) does so only while
 * frames keep coming: after 200 pings back to back (each one a spin, maybe a WAIT), the ~3 s left
 * idle cost next to no CPU (~15 ms for the whole run; spinning on up to the next timer cost ~400).
 * Measured as the monitor's CPU time, never as elapsed time.
 */
START_TEST(idle_after_traffic_sleeps)
{
	struct it_proc p;
	struct it_result r;
	env_up(1);
	const char *nets[] = {"tap:tap0,ip=" GUEST_IP "/24", NULL};
	guest_start(&p, "3", nets);
	int got = netns_ping(GUEST_IP, 200, 64);
	ck_assert_msg(got == 200, "%d of 200 pings answered", got);
	ck_assert_int_eq(it_finish(&p, 0, 20, &r, NULL), 0);
	ck_assert_msg(r.status == 0 && strstr(r.out, "netidle: done"), "status %d\nout: %s\nerr: %s", r.status, r.out, r.err);
	long w = wait_exits(r.err);
	ck_assert_msg(w >= 1 && w <= 2 * 200 + 12, "%ld WAIT exits\n%s", w, r.err);
	ck_assert_msg(r.cpu_ms < 200, "the monitor used %.0f ms of CPU in %.0f ms\n%s", r.cpu_ms, r.wall_ms, r.err);
	it_result_free(&r);
	netns_destroy(&ns);
}
END_TEST

Suite *gnet_suite(void)
{
	Suite *s = suite_create("gnet");
	char why[512];
	if (!netns_usable(why, sizeof(why))) {
		printf("SKIPPED: integration suite gnet: %s\n", why);
		return s;
	}
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, ping_eth0);
	tcase_add_test(tc, two_nics);
	tcase_add_test(tc, idle_no_wakeups);
	tcase_add_test(tc, idle_after_traffic_sleeps);
	suite_add_tcase(s, tc);
	return s;
}
