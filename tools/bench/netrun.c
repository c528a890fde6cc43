/*
 * netrun.c: make bench-net: the same servers (netbench, httpd) natively in a namespace joined to the
 * client's namespace by a veth pair, and in ukvm on a tap there; the clients (netbench, wrk) run in the
 * client's namespace. Rounds alternate the two sides; medians and ratios are printed, with the
 * monitor's exits and notifications per transaction from --stats.
 *   netrun BUILD_DIR     env NET_BENCH_ROUNDS (3), NET_BENCH_SECS (3), NET_BENCH_BYTES (1073741824),
 *                        NET_BENCH_STREAM_SECS (10: a stream stops there if its bytes are not through yet),
 *                        NET_BENCH_PV (the monitor's --pv: auto, off), NET_BENCH_PHASES (rr,send,recv,http,idle: all),
 *                        NET_BENCH_MTU (both links' MTU and the guest's mtu=; default 1500)
 * Beside each figure, the server's CPU time (the monitor's every thread, or the native server) per
 * transaction or per request, over its whole life (start-up included): what a spinning poller costs
 * shows there. And its peak resident memory per phase and at rest (started and stopped, no client):
 * for ukvm that is the guest RAM touched plus the monitor (RAM the guest once touched stays
 * counted). What the guest's stack itself holds is the next figure: lwIP's peak heap, which the
 * netbench server reads from the guest's /proc/net/sockstat after each connection (rr, send, recv).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "it_util.h"
#include "netns.h"

#define MAX_ROUNDS 9
#define NATIVE_IP  "10.77.0.2"
#define GUEST_IP   "10.77.1.2"

enum side { NATIVE, UKVM, NSIDE };
enum phase { RR, SEND, RECV, HTTP, IDLE, NPHASE }; /* IDLE: the netbench server started and stopped, no client */
static const char *const side_name[NSIDE] = {"native", "ukvm"};

/* A phase's figures, from the client's RESULT lines (or wrk's) and the monitor's --stats. */
enum { K_TPS, K_P50, K_P99, K_COUNT, K_SEND, K_RECV, K_RPS, K_REQS, NKEYS };
static const char *const keys[NKEYS] = {"rr_tps", "rr_p50_us", "rr_p99_us", "rr_count", "send_mbps", "recv_mbps",
					"http_rps", "http_requests"};

struct run {
	int ok;
	double v[NKEYS];
	double exits, notifies, packets; /* from --stats; -1 if absent */
	double cpu_ms;                   /* the server's user + system CPU time */
	double maxrss_kib;               /* the server's peak resident memory: for ukvm, guest RAM touched + the monitor */
	double stack_kib;                /* ukvm: lwIP's peak heap (netbench's last STACK line); -1 if absent */
	char stats[1024];                /* the raw device lines */
};

static struct run runs[MAX_ROUNDS][NPHASE][NSIDE];
static struct netns ns;
static double secs = 3, stream_secs = 10;
static unsigned long long bytes = 1ull << 30;
static int have_ukvm = 1, have_wrk = 1;
static const char *pv_mode;    /* NET_BENCH_PV: the monitor's --pv, NULL for its default */
static const char *phases_env; /* NET_BENCH_PHASES: the phases to run, NULL for all */
static const char *mtu_env;    /* NET_BENCH_MTU: both links and the guest, NULL for 1500 */
static char net_arg[96];       /* the monitor's --net */

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static const char *ip_prog(void)
{
	return access("/usr/sbin/ip", X_OK) ? "/sbin/ip" : "/usr/sbin/ip";
}

/*
 * The --stats lines: "N exits:" gives the total; on the device lines every "<number> <word>" pair
 * counts toward notifies (word starting "notif") or packets (word containing "packet"), whatever
 * the device's exact wording.
 */
static void parse_stats(struct run *r, const char *err)
{
	r->exits = r->notifies = r->packets = -1;
	r->stats[0] = 0;
	for (const char *l = err; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		size_t len = strcspn(l, "\n");
		if (strncmp(l, "ukvm-run: ", 10))
			continue;
		const char *x = strstr(l, " exits:");
		if (x && x < l + len) {
			r->exits = atof(l + 10);
			continue;
		}
		if (!memchr(l, ':', len) || !strstr(l, "packet") || strstr(l, "packet") > l + len)
			continue;
		size_t sl = strlen(r->stats);
		snprintf(r->stats + sl, sizeof(r->stats) - sl, "%s%.*s", sl ? "; " : "", (int)(len - 10), l + 10);
		for (const char *p = l + 10; p < l + len;) {
			char *end;
			double v = strtod(p, &end);
			if (end == p) {
				p++;
				continue;
			}
			while (*end == ' ')
				end++;
			if (!strncmp(end, "notif", 5))
				r->notifies = (r->notifies < 0 ? 0 : r->notifies) + v;
			else if (!strncmp(end, "packet", 6) || !strncmp(end, "pkts", 4))
				r->packets = (r->packets < 0 ? 0 : r->packets) + v;
			p = end;
		}
	}
}

/* Starts the server of a phase on a side; 0 when it listens. */
static int server_start(struct it_proc *p, enum side s, enum phase ph)
{
	char prog[4096], img[4096];
	const char *cmd[16];
	int n = 0;
	const char *app = ph == HTTP ? "httpd" : "netbench";
	if (s == NATIVE) {
		snprintf(prog, sizeof(prog), "apps/%s", app);
		snprintf(prog, sizeof(prog), "%s", it_path(prog));
		cmd[n++] = prog;
	} else {
		snprintf(prog, sizeof(prog), "%s", it_path("ukvm-run"));
		snprintf(img, sizeof(img), "apps/%s.img", app);
		snprintf(img, sizeof(img), "%s", it_path(img));
		cmd[n++] = prog;
		cmd[n++] = "--stats";
		if (pv_mode) {
			cmd[n++] = "--pv";
			cmd[n++] = pv_mode;
		}
		cmd[n++] = "--net";
		cmd[n++] = net_arg;
		cmd[n++] = img;
		cmd[n++] = "--";
	}
	if (ph == HTTP) {
		cmd[n++] = "8080";
		cmd[n++] = "1024";
		cmd[n++] = "et";
	} else {
		cmd[n++] = "server";
		cmd[n++] = "5001";
	}
	cmd[n] = NULL;
	const char *argv[24];
	netns_exec_argv(&ns, s == NATIVE, cmd, argv, 24);
	/*
	 * A monitor releases its tap before it exits (vmm/event.c, event_release_files); another
	 * holder of tap0 (EBUSY) still gets a few tries, 300 ms apart.
	 */
	for (int try = 0;; try++) {
		if (it_start(p, ip_prog(), argv + 1))
			return -1;
		if (it_wait_output(p, "listening on", 15))
			return 0;
		struct it_result r;
		it_finish(p, SIGKILL, 5, &r, NULL);
		int busy = strstr(r.err, "busy") != NULL;
		if (!busy || try == 4)
			fprintf(stderr, "bench-net: %s %s did not start:\n%s%s", side_name[s], app, r.out, r.err);
		it_result_free(&r);
		if (!busy || try == 4)
			return -1;
		usleep(300000);
	}
}

/* Runs the client of a phase against addr from the driver's namespace; fills r->v. 0 or -1. */
static int client_run(struct run *r, enum phase ph, const char *addr)
{
	char prog[4096], arg[64], arg2[32], url[64];
	struct it_proc p;
	struct it_result res;
	const char *args[12];
	int n = 0;
	if (ph == HTTP) {
		snprintf(prog, sizeof(prog), "%s", access("/usr/bin/wrk", X_OK) ? "/usr/local/bin/wrk" : "/usr/bin/wrk");
		snprintf(arg, sizeof(arg), "%.0fs", secs);
		snprintf(url, sizeof(url), "http://%s:8080/", addr);
		args[n++] = "-t2";
		args[n++] = "-c50";
		args[n++] = "-d";
		args[n++] = arg;
		args[n++] = url;
	} else {
		snprintf(prog, sizeof(prog), "%s", it_path("apps/netbench"));
		args[n++] = ph == RR ? "rr" : ph == SEND ? "send" : "recv";
		args[n++] = addr;
		args[n++] = "5001";
		if (ph == RR)
			snprintf(arg, sizeof(arg), "%g", secs);
		else
			snprintf(arg, sizeof(arg), "%llu", bytes);
		args[n++] = arg;
		snprintf(arg2, sizeof(arg2), "%g", stream_secs);
		if (ph != RR)
			args[n++] = arg2;
	}
	args[n] = NULL;
	if (it_start(&p, prog, args) || it_finish(&p, 0, secs + 120, &res, NULL))
		return -1;
	int ok = res.status == 0;
	for (const char *l = res.out; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "") {
		char key[64];
		double v;
		if (sscanf(l, "RESULT %63s %lf", key, &v) == 2)
			for (int k = 0; k < NKEYS; k++)
				if (!strcmp(key, keys[k]))
					r->v[k] = v;
		if (sscanf(l, "Requests/sec: %lf", &v) == 1)
			r->v[K_RPS] = v;
		if (sscanf(l, " %lf requests in", &v) == 1)
			r->v[K_REQS] = v;
	}
	if (ph == HTTP && !r->v[K_REQS])
		ok = 0;
	if (!ok)
		fprintf(stderr, "bench-net: client %s failed (status %d):\n%s%s", prog, res.status, res.out, res.err);
	it_result_free(&res);
	return ok ? 0 : -1;
}

static void one(struct run *r, enum side s, enum phase ph)
{
	struct it_proc p;
	struct it_result res;
	memset(r, 0, sizeof(*r));
	if (server_start(&p, s, ph))
		return;
	int c = ph == IDLE ? 0 : client_run(r, ph, s == NATIVE ? NATIVE_IP : GUEST_IP);
	/* The guest server reports its stack's memory once the connection closed: let it, before the stop. */
	if (s == UKVM && ph != IDLE && ph != HTTP)
		it_wait_output(&p, "STACK lwip_peak_bytes ", 2);
	/* SIGTERM ends either side (the monitor prints --stats on the way out); SIGKILL 10 s later. */
	it_finish(&p, SIGTERM, (now_ms() - p.t0) / 1e3 + 10, &res, NULL);
	parse_stats(r, res.err);
	r->cpu_ms = res.cpu_ms;
	r->maxrss_kib = (double)res.maxrss_kib;
	r->stack_kib = -1;
	for (const char *k = res.out ? strstr(res.out, "STACK lwip_peak_bytes ") : NULL; k;
	     k = strstr(k + 1, "STACK lwip_peak_bytes "))
		r->stack_kib = atof(k + 22) / 1024;
	r->ok = c == 0;
	it_result_free(&res);
}

/* Whether NET_BENCH_PHASES (a comma-separated list of phase_key names) names ph; unset: every phase. */
static int phase_wanted(enum phase ph)
{
	static const char *const phase_key[NPHASE] = {"rr", "send", "recv", "http", "idle"};
	if (!phases_env)
		return 1;
	size_t len = strlen(phase_key[ph]);
	for (const char *p = phases_env; *p; p += strcspn(p, ","), p += *p == ',')
		if (strcspn(p, ",") == len && !strncmp(p, phase_key[ph], len))
			return 1;
	return 0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Median over the successful rounds of f(run); -1 when none. */
static double med(int rounds, enum phase ph, enum side s, double (*f)(const struct run *, int), int k)
{
	double v[MAX_ROUNDS];
	int n = 0;
	for (int i = 0; i < rounds; i++)
		if (runs[i][ph][s].ok && f(&runs[i][ph][s], k) >= 0)
			v[n++] = f(&runs[i][ph][s], k);
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n ? (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : -1;
}

static double key(const struct run *r, int k)
{
	return r->v[k];
}

/* Per app operation (k: the key counting them): exits, or notifies (k + NKEYS). */
static double per_op(const struct run *r, int k)
{
	double what = k >= NKEYS ? r->notifies : r->exits;
	double ops = r->v[k % NKEYS];
	return what < 0 || ops <= 0 ? -1 : what / ops;
}

/* Server CPU us per app operation (k: the key counting them). */
static double cpu_per_op(const struct run *r, int k)
{
	return r->v[k] <= 0 ? -1 : r->cpu_ms * 1e3 / r->v[k];
}

static double stack_kib(const struct run *r, int k)
{
	(void)k;
	return r->stack_kib;
}

static double rss_mib(const struct run *r, int k)
{
	(void)k;
	return r->maxrss_kib <= 0 ? -1 : r->maxrss_kib / 1024;
}

static double per_packet(const struct run *r, int notif)
{
	double what = notif ? r->notifies : r->exits;
	return what < 0 || r->packets <= 0 ? -1 : what / r->packets;
}

static void row(const char *name, double nat, double vm)
{
	char a[32] = "n/a", b[32] = "n/a", c[32] = "";
	if (nat >= 0)
		snprintf(a, sizeof(a), "%.1f", nat);
	if (vm >= 0)
		snprintf(b, sizeof(b), "%.1f", vm);
	if (nat > 0 && vm >= 0)
		snprintf(c, sizeof(c), "%.2f", vm / nat);
	printf("%-38s %12s %12s %10s\n", name, a, b, c);
}

static void row1(const char *name, double vm)
{
	char b[32] = "n/a";
	if (vm >= 0)
		snprintf(b, sizeof(b), "%.3f", vm);
	printf("%-38s %12s %12s\n", name, "", b);
}

int main(int argc, char **argv)
{
	char why[512];
	if (argc != 2) {
		fprintf(stderr, "usage: netrun BUILD_DIR\n");
		return 2;
	}
	setenv("UKVM_BUILD", argv[1], 1);
	int rounds = getenv("NET_BENCH_ROUNDS") ? atoi(getenv("NET_BENCH_ROUNDS")) : 3;
	if (rounds < 1 || rounds > MAX_ROUNDS)
		rounds = 3;
	if (getenv("NET_BENCH_SECS"))
		secs = atof(getenv("NET_BENCH_SECS"));
	if (getenv("NET_BENCH_STREAM_SECS"))
		stream_secs = atof(getenv("NET_BENCH_STREAM_SECS"));
	if (getenv("NET_BENCH_BYTES"))
		bytes = strtoull(getenv("NET_BENCH_BYTES"), NULL, 0);
	pv_mode = getenv("NET_BENCH_PV");
	phases_env = getenv("NET_BENCH_PHASES");
	mtu_env = getenv("NET_BENCH_MTU");
	if (mtu_env && (atoi(mtu_env) < 576 || atoi(mtu_env) > 9000)) {
		fprintf(stderr, "bench-net: NET_BENCH_MTU=%s: 576..9000\n", mtu_env);
		return 2;
	}
	snprintf(net_arg, sizeof(net_arg), "tap:tap0,ip=" GUEST_IP "/24%s%s", mtu_env ? ",mtu=" : "", mtu_env ? mtu_env : "");
	if (!netns_usable(why, sizeof(why))) {
		printf("bench-net: SKIPPED: %s\n", why);
		return 0;
	}
	char kwhy[256];
	if (!it_kvm_usable(kwhy, sizeof(kwhy))) {
		printf("bench-net: ukvm side SKIPPED: %s\n", kwhy);
		have_ukvm = 0;
	}
	if (access("/usr/bin/wrk", X_OK) && access("/usr/local/bin/wrk", X_OK)) {
		printf("bench-net: HTTP SKIPPED: wrk is not installed (apt-get install wrk)\n");
		have_wrk = 0;
	}
	if (netns_create(&ns, why, sizeof(why)) ||
	    netns_add_veth(&ns, "veth0", "10.77.0.1/24", "eth0", NATIVE_IP "/24", why, sizeof(why)) ||
	    netns_add_tap(&ns, "tap0", "10.77.1.1/24", why, sizeof(why)) ||
	    (mtu_env && (netns_ip(why, sizeof(why), "-n", ns.name, "link", "set", "tap0", "mtu", mtu_env, NULL) ||
			 netns_ip(why, sizeof(why), "-n", ns.name, "link", "set", "veth0", "mtu", mtu_env, NULL) ||
			 netns_ip(why, sizeof(why), "-n", ns.peer, "link", "set", "eth0", "mtu", mtu_env, NULL))) ||
	    netns_enter(&ns, false)) {
		fprintf(stderr, "bench-net: namespaces: %s\n", why);
		netns_destroy(&ns);
		return 1;
	}
	printf("bench-net: %d rounds, %g s per timed phase, streams of %llu bytes or %g s; native = the same program\n"
	       "in a namespace over veth, ukvm = in the guest over a tap (--pv %s, MTU %s); medians; ratio = ukvm / native\n",
	       rounds, secs, bytes, stream_secs, pv_mode ? pv_mode : "default", mtu_env ? mtu_env : "1500");
	fflush(stdout);
	for (int i = 0; i < rounds; i++)
		for (int ph = 0; ph < NPHASE; ph++)
			for (int k = 0; k < NSIDE; k++) {
				enum side s = (enum side)((k + i) % NSIDE); /* alternate who goes first */
				if ((s == UKVM && !have_ukvm) || (ph == HTTP && !have_wrk) || !phase_wanted((enum phase)ph))
					continue;
				one(&runs[i][ph][s], s, (enum phase)ph);
				if (s == UKVM && !runs[i][ph][s].ok && i == 0 && ph == RR) {
					printf("bench-net: ukvm side failed; native figures only\n");
					have_ukvm = 0;
				}
			}
	printf("%-38s %12s %12s %10s\n", "figure", "native", "ukvm", "ratio");
	row("tcp rr 1 byte: transactions/s", med(rounds, RR, NATIVE, key, K_TPS), med(rounds, RR, UKVM, key, K_TPS));
	row("tcp rr 1 byte: p50 latency us", med(rounds, RR, NATIVE, key, K_P50), med(rounds, RR, UKVM, key, K_P50));
	row("tcp rr 1 byte: p99 latency us", med(rounds, RR, NATIVE, key, K_P99), med(rounds, RR, UKVM, key, K_P99));
	row("tcp stream host->guest MB/s", med(rounds, SEND, NATIVE, key, K_SEND), med(rounds, SEND, UKVM, key, K_SEND));
	row("tcp stream guest->host MB/s", med(rounds, RECV, NATIVE, key, K_RECV), med(rounds, RECV, UKVM, key, K_RECV));
	row("http keep-alive, 50 conns: requests/s", med(rounds, HTTP, NATIVE, key, K_RPS),
	    med(rounds, HTTP, UKVM, key, K_RPS));
	row("server CPU us per rr transaction", med(rounds, RR, NATIVE, cpu_per_op, K_COUNT),
	    med(rounds, RR, UKVM, cpu_per_op, K_COUNT));
	row("server CPU us per http request", med(rounds, HTTP, NATIVE, cpu_per_op, K_REQS),
	    med(rounds, HTTP, UKVM, cpu_per_op, K_REQS));
	/* What the guest's stack holds shows as the growth over the server at rest (ukvm: RAM it touched). */
	static const char *const pn[NPHASE] = {"rr", "host->guest", "guest->host", "http", "at rest"};
	for (int ph = 0; ph < NPHASE; ph++) {
		char l[64];
		snprintf(l, sizeof(l), "server peak memory MiB, %s", pn[ph]);
		row(l, med(rounds, (enum phase)ph, NATIVE, rss_mib, 0), med(rounds, (enum phase)ph, UKVM, rss_mib, 0));
	}
	if (have_ukvm) {
		for (int ph = 0; ph < HTTP; ph++) {
			char l[64];
			snprintf(l, sizeof(l), "guest lwIP peak heap KiB, %s", pn[ph]);
			row1(l, med(rounds, (enum phase)ph, UKVM, stack_kib, 0));
		}
		row1("ukvm exits per rr transaction", med(rounds, RR, UKVM, per_op, K_COUNT));
		row1("ukvm notifies per rr transaction", med(rounds, RR, UKVM, per_op, K_COUNT + NKEYS));
		row1("ukvm exits per http request", med(rounds, HTTP, UKVM, per_op, K_REQS));
		for (int ph = 0; ph < IDLE; ph++) {
			char l[64];
			snprintf(l, sizeof(l), "ukvm exits per packet, %s", pn[ph]);
			row1(l, med(rounds, (enum phase)ph, UKVM, per_packet, 0));
			snprintf(l, sizeof(l), "ukvm notifies per packet, %s", pn[ph]);
			row1(l, med(rounds, (enum phase)ph, UKVM, per_packet, 1));
		}
		for (int ph = 0; ph < IDLE; ph++)
			if (runs[rounds - 1][ph][UKVM].stats[0])
				printf("  last round, %s: %s\n", pn[ph], runs[rounds - 1][ph][UKVM].stats);
	}
	netns_destroy(&ns);
	return 0;
}
