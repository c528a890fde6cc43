/*
 * check_memcached.c: an unmodified event-loop server nobody here wrote. Debian's memcached, built static
 * with musl-gcc against Debian's libevent (tools/build.mk, sources from tools/deps.sh), serves clients on
 * the host: first NATIVELY (in a peer namespace joined by a veth pair: this proves the test), then in ukvm
 * (the monitor on a tap), at the same address, driven by the same client. The client speaks memcached's
 * text protocol over several connections at once, pipelining: set/get/delete/incr/decr on thousands of
 * keys with values of 1 byte to 100 KiB (binary, CR LF inside), multi-gets, errors. Every response is
 * compared byte for byte with the one the client computed; then `stats` must agree with the native run's
 * except the fields that vary (pid, times, connection counts).
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
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

enum target { NATIVE, UKVM };
static const char *const target_name[] = {"native", "ukvm"};

#define HOST_IP  "10.77.0.1"
#define GUEST_IP "10.77.0.2"
#define MC_PORT  11211
#define MC_CONNS 4    /* client connections at once, each on its own keys */
#define MC_KEYS  800  /* keys per connection */
#define MC_NUMS  100  /* counters per connection */
#define MC_BIG   102400

static struct netns ns;

/* ---- a growable byte buffer -------------------------------------------------------------------- */

struct mc_buf {
	char *p;
	size_t len, cap;
};

static void mc_put(struct mc_buf *b, const void *d, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 4096;
		b->p = realloc(b->p, b->cap);
		ck_assert_ptr_nonnull(b->p);
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void mc_printf(struct mc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mc_printf(struct mc_buf *b, const char *fmt, ...)
{
	char tmp[8192];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	ck_assert(n >= 0 && (size_t)n < sizeof(tmp));
	mc_put(b, tmp, (size_t)n);
}

/* ---- the workload: requests and the responses they must get ------------------------------------- */

static uint64_t mc_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb3fe1a85ec53ull;
	return x ^ (x >> 33);
}

/* Value length of key i of connection c: 1 byte, 100 KiB, a few large, some medium, mostly small. */
static size_t mc_len(int c, int i)
{
	uint64_t h = mc_mix((uint64_t)c << 32 | (unsigned)i);
	if (i == 0)
		return 1;
	if (i == 1)
		return MC_BIG;
	if (i % 97 == 0)
		return MC_BIG - h % 4096;
	if (i % 10 == 0)
		return 1 + h % 16384;
	return 1 + h % 300;
}

/* Its bytes: every value, CR and LF included (memcached's data blocks are binary). */
static void mc_value(int c, int i, char *out, size_t n)
{
	uint64_t s = mc_mix((uint64_t)i << 20 | (unsigned)c) | 1;
	for (size_t k = 0; k < n; k++) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		out[k] = (char)(s >> 56);
	}
}

static void mc_expect_value(struct mc_buf *exp, int c, int i, char *tmp)
{
	size_t n = mc_len(c, i);
	mc_value(c, i, tmp, n);
	mc_printf(exp, "VALUE k%d-%d %d %zu\r\n", c, i, i, n);
	mc_put(exp, tmp, n);
	mc_put(exp, "\r\n", 2);
}

/* Connection c's whole request stream (ending with quit) and the exact bytes it must get back. */
static void mc_script(int c, struct mc_buf *req, struct mc_buf *exp)
{
	static char tmp[MC_BIG];
	/* set every key (flags: its index) */
	for (int i = 0; i < MC_KEYS; i++) {
		size_t n = mc_len(c, i);
		mc_value(c, i, tmp, n);
		mc_printf(req, "set k%d-%d %d 0 %zu\r\n", c, i, i, n);
		mc_put(req, tmp, n);
		mc_put(req, "\r\n", 2);
		mc_printf(exp, "STORED\r\n");
	}
	/* get each back */
	for (int i = 0; i < MC_KEYS; i++) {
		mc_printf(req, "get k%d-%d\r\n", c, i);
		mc_expect_value(exp, c, i, tmp);
		mc_printf(exp, "END\r\n");
	}
	/* delete every fifth; every 25th twice */
	for (int i = 0; i < MC_KEYS; i += 5) {
		mc_printf(req, "delete k%d-%d\r\n", c, i);
		mc_printf(exp, "DELETED\r\n");
		if (i % 25 == 0) {
			mc_printf(req, "delete k%d-%d\r\n", c, i);
			mc_printf(exp, "NOT_FOUND\r\n");
		}
	}
	/* multi-gets of 40 keys: the deleted ones are left out */
	for (int i = 0; i < MC_KEYS; i += 40) {
		mc_printf(req, "get");
		for (int k = i; k < i + 40 && k < MC_KEYS; k++) {
			mc_printf(req, " k%d-%d", c, k);
			if (k % 5)
				mc_expect_value(exp, c, k, tmp);
		}
		mc_printf(req, "\r\n");
		mc_printf(exp, "END\r\n");
	}
	/* counters */
	for (int j = 0; j < MC_NUMS; j++) {
		uint64_t v = mc_mix((uint64_t)c * 1000 + (unsigned)j) % 1000000;
		uint64_t d = (unsigned)j * 7919 + 1;
		int len = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
		mc_printf(req, "set n%d-%d 0 0 %d\r\n%s\r\n", c, j, len, tmp);
		mc_printf(exp, "STORED\r\n");
		mc_printf(req, "incr n%d-%d %llu\r\n", c, j, (unsigned long long)d);
		v += d;
		mc_printf(exp, "%llu\r\n", (unsigned long long)v);
		mc_printf(req, "decr n%d-%d %llu\r\n", c, j, (unsigned long long)(d * 3));
		v = v > d * 3 ? v - d * 3 : 0; /* decr stops at 0 */
		mc_printf(exp, "%llu\r\n", (unsigned long long)v);
		/* (no get: a decr that shortens the number leaves memcached's trailing-space padding) */
	}
	mc_printf(req, "incr nokey%d 1\r\n", c);
	mc_printf(exp, "NOT_FOUND\r\n");
	mc_printf(req, "incr k%d-1 1\r\n", c);
	mc_printf(exp, "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
	mc_printf(req, "quit\r\n");
}

/* ---- the client ----------------------------------------------------------------------------------- */

struct mc_conn {
	int fd;
	struct mc_buf req, exp;
	size_t sent, got;
	int eof;
};

/* Where got and expected first differ, quoted (escapes for the binary bytes), into msg. */
static void mc_diff(const struct mc_conn *k, const char *got, size_t n, size_t at, char *msg, size_t len)
{
	size_t from = at > 40 ? at - 40 : 0, o = 0;
	char e[256], g[256];
	for (int w = 0; w < 2; w++) {
		const char *src = w ? got : k->exp.p;
		size_t end = w ? n : k->exp.len;
		char *dst = w ? g : e;
		o = 0;
		for (size_t i = from; i < end && i < at + 40 && o + 5 < sizeof(e); i++) {
			unsigned char ch = (unsigned char)src[i];
			o += (size_t)snprintf(dst + o, sizeof(e) - o, ch >= 32 && ch < 127 ? "%c" : "\\x%02x", ch);
		}
		dst[o] = 0;
	}
	snprintf(msg, len, "byte %zu of this read: expected \"%s\" got \"%s\"", at, e, g);
}

/*
 * Runs the MC_CONNS scripts at once against ip:port: writes each connection's requests as fast as the
 * server takes them, checks every byte that comes back against what it must be, until the server
 * closes each (quit). Fails the test on the first difference.
 */
static void mc_drive(enum target t, const char *ip, int port, double limit_s)
{
	struct mc_conn k[MC_CONNS] = {0};
	static char buf[1 << 16];
	double end = it_now_s() + limit_s;
	size_t total = 0;
	for (int c = 0; c < MC_CONNS; c++) {
		mc_script(c, &k[c].req, &k[c].exp);
		k[c].fd = it_tcp_connect_retry(ip, port, 5);
		ck_assert_msg(k[c].fd >= 0, "%s: connection %d refused", target_name[t], c);
		fcntl(k[c].fd, F_SETFL, O_NONBLOCK);
		total += k[c].req.len + k[c].exp.len;
	}
	for (int open = MC_CONNS; open;) {
		struct pollfd p[MC_CONNS];
		for (int c = 0; c < MC_CONNS; c++) {
			p[c].fd = k[c].eof ? -1 : k[c].fd;
			p[c].events = POLLIN | (k[c].sent < k[c].req.len ? POLLOUT : 0);
		}
		double left = end - it_now_s();
		ck_assert_msg(left > 0, "%s: not done in %.0f s (connection 0: %zu of %zu bytes sent, %zu of %zu back)",
			      target_name[t], limit_s, k[0].sent, k[0].req.len, k[0].got, k[0].exp.len);
		ck_assert_int_ge(poll(p, MC_CONNS, (int)(left * 1e3) + 1), 0);
		for (int c = 0; c < MC_CONNS; c++) {
			if (p[c].revents & POLLOUT) {
				ssize_t n = write(k[c].fd, k[c].req.p + k[c].sent, k[c].req.len - k[c].sent);
				ck_assert_msg(n > 0 || errno == EAGAIN, "%s: conn %d write: %s", target_name[t], c,
					      strerror(errno));
				if (n > 0)
					k[c].sent += (size_t)n;
			}
			if (!(p[c].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(k[c].fd, buf, sizeof(buf));
			ck_assert_msg(n >= 0 || errno == EAGAIN, "%s: conn %d read after %zu bytes: %s", target_name[t], c,
				      k[c].got, strerror(errno));
			if (n < 0)
				continue;
			if (n == 0) {
				ck_assert_msg(k[c].got == k[c].exp.len, "%s: conn %d closed after %zu of %zu response bytes",
					      target_name[t], c, k[c].got, k[c].exp.len);
				k[c].eof = 1;
				open--;
				continue;
			}
			size_t m = (size_t)n, at = 0;
			if (k[c].got + m > k[c].exp.len || memcmp(buf, k[c].exp.p + k[c].got, m)) {
				while (at < m && k[c].got + at < k[c].exp.len && buf[at] == k[c].exp.p[k[c].got + at])
					at++;
				/* context: the bytes of this read around the difference */
				char msg[1024];
				struct mc_conn view = k[c];
				view.exp.p += k[c].got;
				view.exp.len -= k[c].got;
				mc_diff(&view, buf, m, at, msg, sizeof(msg));
				ck_abort_msg("%s: conn %d, response stream at %zu: %s", target_name[t], c, k[c].got + at, msg);
			}
			k[c].got += m;
		}
	}
	for (int c = 0; c < MC_CONNS; c++) {
		close(k[c].fd);
		free(k[c].req.p);
		free(k[c].exp.p);
	}
	fprintf(stderr, "memcached: %s: %d connections, %.1f MB through the protocol\n", target_name[t], MC_CONNS,
		total / 1e6);
}

/*
 * Fields of `stats` that vary from run to run (times, pid, connection and buffer bookkeeping; the LRU
 * maintainer thread's moves, which depend on when it wakes; total_items, which counts an incr's new item
 * when that thread held a reference to the old one): values masked. The counts of commands, hits and
 * misses, bytes read and written, items and their bytes must be the same.
 */
static const char *const mc_varying[] = {
	"pid", "uptime", "time", "rusage_user", "rusage_system", "max_connections", "curr_connections",
	"total_connections", "connection_structures", "reserved_fds", "lru_crawler_starts", "lru_maintainer_juggles",
	"time_in_listen_disabled_us", "response_obj_oom", "response_obj_count", "response_obj_bytes",
	"read_buf_oom", "read_buf_count", "read_buf_bytes", "read_buf_bytes_free", "rejected_connections",
	"log_worker_dropped", "log_worker_written", "log_watcher_skipped", "log_watcher_sent", "log_watchers",
	"conn_yields", "round_robin_fallback", "unexpected_napi_ids", "listen_disabled_num", "lrutail_reflocked",
	"moves_to_cold", "moves_to_warm", "moves_within_lru", "total_items",
	"slab_reassign_busy_items", "slab_reassign_rescues", "malloc_fails", NULL,
};

/* `stats` from ip:port with the varying values masked ("STAT pid *"), into out[len]. */
static void mc_stats(enum target t, const char *ip, int port, char *out, size_t len)
{
	int fd = it_tcp_connect_retry(ip, port, 5);
	ck_assert_msg(fd >= 0, "%s: stats connection refused", target_name[t]);
	struct timeval tv = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ck_assert_int_eq(write(fd, "stats\r\n", 7), 7);
	static char raw[16384];
	size_t n = 0;
	while (n < 5 || memcmp(raw + n - 5, "END\r\n", 5)) {
		ck_assert_msg(n + 1 < sizeof(raw), "%s: stats too long", target_name[t]);
		ssize_t r = read(fd, raw + n, sizeof(raw) - 1 - n);
		ck_assert_msg(r > 0, "%s: stats: read %zd (%s) after %zu bytes", target_name[t], r, strerror(errno), n);
		n += (size_t)r;
	}
	raw[n] = 0;
	close(fd);
	size_t o = 0;
	out[0] = 0;
	for (char *save = NULL, *line = strtok_r(raw, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		char name[64];
		int masked = 0;
		if (sscanf(line, "STAT %63s", name) == 1)
			for (size_t i = 0; mc_varying[i]; i++)
				masked |= !strcmp(name, mc_varying[i]);
		if (masked)
			o += (size_t)snprintf(out + o, len - o, "STAT %s *\n", name);
		else
			o += (size_t)snprintf(out + o, len - o, "%s\n", line);
		ck_assert(o < len);
	}
}

/* ---- the test ------------------------------------------------------------------------------------- */

/*
 * Runs memcached on target t (natively in the peer namespace of a veth pair, or in ukvm on a tap), drives
 * it with the client and returns its masked `stats` in stats[len].
 */
static void mc_run(enum target t, char *stats, size_t len)
{
	static const char *const args[] = {"-u", "root", "-l", GUEST_IP, "-p", "11211", "-U", "0", "-t", "2",
					   "-m", "128", "-c", "64", NULL};
	char why[768];
	ck_assert_msg(netns_create(&ns, why, sizeof(why)) == 0, "%s", why);
	int r = t == NATIVE ? netns_add_veth(&ns, "veth0", HOST_IP "/24", "eth0", GUEST_IP "/24", why, sizeof(why))
			    : netns_add_tap(&ns, "tap0", HOST_IP "/24", why, sizeof(why));
	ck_assert_msg(r == 0, "%s", why);
	ck_assert_int_eq(netns_enter(&ns, false), 0);

	const char *cmd[48], *argv[56];
	size_t n = 0;
	char run[4096], img[4096], bin[4096];
	snprintf(bin, sizeof(bin), "%s", it_path("apps/memcached"));
	snprintf(img, sizeof(img), "%s", it_path("apps/memcached.img"));
	if (t == NATIVE) {
		cmd[n++] = bin;
	} else {
		snprintf(run, sizeof(run), "%s", it_path("ukvm-run"));
		cmd[n++] = run;
		const char *pv = getenv("UKVM_TEST_PV");
		if (pv && *pv) {
			cmd[n++] = "--pv";
			cmd[n++] = pv;
		}
		cmd[n++] = "--timeout";
		cmd[n++] = "120"; /* a backstop only: the test stops it */
		cmd[n++] = "--net";
		cmd[n++] = "tap:tap0,ip=" GUEST_IP "/24,gw=" HOST_IP;
		cmd[n++] = img;
		cmd[n++] = "--";
	}
	for (size_t i = 0; args[i]; i++)
		cmd[n++] = args[i];
	cmd[n] = NULL;
	netns_exec_argv(&ns, t == NATIVE, cmd, argv, 56);
	struct it_proc p;
	struct it_result res;
	ck_assert_int_eq(it_start(&p, netns_ip_prog(), argv + 1), 0);

	double t0 = it_now_s();
	int fd = it_tcp_connect_retry(GUEST_IP, MC_PORT, 20); /* memcached prints nothing when it listens */
	if (fd < 0) {
		it_finish(&p, SIGKILL, 5, &res, NULL);
		ck_abort_msg("%s: memcached never listened\nout: %s\nerr: %s", target_name[t], res.out, res.err);
	}
	close(fd);
	mc_drive(t, GUEST_IP, MC_PORT, 60);
	mc_stats(t, GUEST_IP, MC_PORT, stats, len);
	fprintf(stderr, "memcached: %s: served in %.2f s\n", target_name[t], it_now_s() - t0);

	ck_assert_int_eq(it_finish(&p, SIGTERM, (it_now_s() * 1e3 - p.t0) / 1e3 + 10, &res, NULL), 0);
	/* ukvm's stderr names any syscall it lacks: none may be missing */
	ck_assert_msg(!strstr(res.err, "unimplemented"), "%s: %s", target_name[t], res.err);
	ck_assert_msg(strstr(stats, "STAT curr_items ") && strstr(stats, "STAT evictions 0\n"), "%s stats:\n%s",
		      target_name[t], stats);
	it_result_free(&res);
	netns_destroy(&ns);
}

/* Native first (this proves the client and its expectations), then ukvm; their stats must agree. */
START_TEST(memcached_serves)
{
	if (access(it_path("apps/memcached.img"), R_OK)) {
		fprintf(stderr, "memcached: SKIPPED: no build/apps/memcached.img (Debian's libevent and memcached "
				"sources: tools/deps.sh)\n");
		return;
	}
	static char native[16384], ukvm[16384];
	mc_run(NATIVE, native, sizeof(native));
	mc_run(UKVM, ukvm, sizeof(ukvm));
	char msg[1024];
	it_first_diff(native, ukvm, msg, sizeof(msg));
	ck_assert_msg(!strcmp(native, ukvm), "stats differ: %s", msg);
}
END_TEST

Suite *memcached_suite(void)
{
	Suite *s = suite_create("memcached");
	char why[512];
	if (!netns_usable(why, sizeof(why))) {
		printf("SKIPPED: integration suite memcached: %s\n", why);
		return s;
	}
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60); /* ~4 s: two servers, ~17 MB each through the protocol */
	tcase_add_test(tc, memcached_serves);
	suite_add_tcase(s, tc);
	return s;
}
