/* check_serve.c: ukvm-serve on loopback: functions answered over HTTP in boot and restore mode, errors as status codes, the pool, metrics, a clean stop. */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "it_util.h"

static const char *path(const char *rel)
{
	static __thread char slot[4][4096];
	static __thread int n;
	n = (n + 1) % 4;
	snprintf(slot[n], sizeof(slot[n]), "%s", it_path(rel));
	return slot[n];
}

/* A running ukvm-serve: its process, port and private directory. */
struct server {
	struct it_proc p;
	int port;
	char dir[256];
};

static void server_start(struct server *s, const char *const *args)
{
	ck_assert_int_eq(it_start(&s->p, path("ukvm-serve"), args), 0);
	ck_assert_msg(it_wait_output(&s->p, "\n", 60), "ukvm-serve did not start: %s%s", s->p.r.out, s->p.r.err);
	const char *l = strstr(s->p.r.out, "listening on 127.0.0.1:");
	ck_assert_msg(l, "%s%s", s->p.r.out, s->p.r.err);
	s->port = atoi(l + strlen("listening on 127.0.0.1:"));
	const char *d = strstr(l, "files in ");
	ck_assert_ptr_nonnull(d);
	sscanf(d + 9, "%255s", s->dir);
	ck_assert_int_gt(s->port, 0);
}

/* SIGTERM: the server stops cleanly (0) and leaves no file behind. */
static void server_stop(struct server *s)
{
	struct it_result r;
	int sig;
	ck_assert_int_eq(it_finish(&s->p, SIGTERM, 60, &r, &sig), 0);
	ck_assert_msg(sig == 0 && r.status == 0 && strstr(r.out, "stopped by SIGTERM"), "sig %d status %d: %s%s", sig,
		      r.status, r.out, r.err);
	struct stat st;
	ck_assert_msg(stat(s->dir, &st) < 0 && errno == ENOENT, "%s left behind", s->dir);
	it_result_free(&r);
}

/* One HTTP/1.1 request on a connection of its own: the status, the body in *body (malloc'd, NUL-terminated). */
static int http(int port, const char *method, const char *url, const char *data, size_t len, char **body)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	char head[512];
	int hl = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
			  method, url, len);
	/* MSG_NOSIGNAL: a server that died shows as a failed request, not as this test killed by SIGPIPE. */
	ck_assert_int_eq(send(fd, head, (size_t)hl, MSG_NOSIGNAL), hl);
	for (size_t done = 0; done < len;) {
		ssize_t n = send(fd, data + done, len - done, MSG_NOSIGNAL);
		if (n <= 0)
			break; /* the server may answer (413) and close before taking it all */
		done += (size_t)n;
	}
	size_t cap = 65536, got = 0;
	char *buf = malloc(cap + 1);
	ssize_t n;
	while ((n = read(fd, buf + got, cap - got)) > 0) {
		got += (size_t)n;
		if (got == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
		}
	}
	close(fd);
	buf[got] = 0;
	int status = 0;
	sscanf(buf, "HTTP/1.1 %d", &status);
	char *b = strstr(buf, "\r\n\r\n");
	*body = strdup(b ? b + 4 : "");
	free(buf);
	return status;
}

/* FNV-1a 64 as stdinio sum prints it. */
static void sum_line(const char *data, size_t len, char *out, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)data[i]) * 0x100000001b3ull;
	snprintf(out, n, "bytes %zu fnv %016llx\n", len, (unsigned long long)h);
}

struct client {
	int port, id, n, ok;
};

/* n requests, each with its own body, each answer checked. */
static void *client_run(void *arg)
{
	struct client *c = arg;
	for (int i = 0; i < c->n; i++) {
		char data[64], want[64], *body;
		int len = snprintf(data, sizeof(data), "client %d request %d", c->id, i);
		sum_line(data, (size_t)len, want, sizeof(want));
		int st = http(c->port, "POST", "/fn/sum", data, (size_t)len, &body);
		if (st == 200 && !strcmp(body, want))
			c->ok++;
		else
			fprintf(stderr, "serve: client %d request %d: %d %s", c->id, i, st, body);
		free(body);
	}
	return NULL;
}

static int count_dir(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	ck_assert_ptr_nonnull(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int count_lines(const char *file)
{
	FILE *f = fopen(file, "r");
	int n = 0, ch;
	ck_assert_ptr_nonnull(f);
	while ((ch = fgetc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

/* Samples the server's open fds while requests run: the most seen. */
struct fd_watch {
	const char *dir;
	volatile int stop;
	int max;
};

static void *fd_watch_run(void *arg)
{
	struct fd_watch *w = arg;
	while (!w->stop) {
		int n = count_dir(w->dir);
		w->max = n > w->max ? n : w->max;
		usleep(10000);
	}
	return NULL;
}

/*
 * Open fds a server may hold above its idle count while 8 connections run
 * (measured: ~110 in boot mode, ~220 in restore mode with its warm VMs): the
 * VMs running, warm and waiting for the reaper (HOSTPOOL_REAP_MAX), their
 * consoles, the connections. Unbounded, the reaper's queue took boot mode past
 * 1,024 (3,938).
 */
#define SERVE_FDS_MAX_ABOVE 512

/* One batch of per_client requests on each of 8 connections at once, all answered right; the most fds seen. */
static int request_batch(struct server *s, int per_client, int first_id, const char *fddir)
{
	struct client c[8];
	pthread_t t[8], wt;
	struct fd_watch w = { .dir = fddir };
	ck_assert_int_eq(pthread_create(&wt, NULL, fd_watch_run, &w), 0);
	for (int i = 0; i < 8; i++) {
		c[i] = (struct client){ .port = s->port, .id = first_id + i, .n = per_client };
		ck_assert_int_eq(pthread_create(&t[i], NULL, client_run, &c[i]), 0);
	}
	int ok = 0;
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		ok += c[i].ok;
	}
	w.stop = 1;
	pthread_join(wt, NULL);
	ck_assert_int_eq(ok, 8 * per_client);
	return w.max;
}

/* Waits (5 s at most) for the server's fds and threads to come back to fds0 and tasks0: false if they do not. */
static bool settle(const char *fddir, const char *taskdir, int fds0, int tasks0, int *fds, int *tasks)
{
	/* Connection threads end as their connections close, the reaper frees the last VMs: give them a moment. */
	for (int k = 0; k < 100; k++) {
		*fds = count_dir(fddir), *tasks = count_dir(taskdir);
		if (*fds == fds0 && *tasks == tasks0)
			return true;
		usleep(50000);
	}
	return false;
}

/*
 * 8 * per_client requests over 8 connections at once, in two batches, all
 * answered right; the server's fds stay bounded meanwhile, and after each
 * batch its fds and threads are back where they were, its mappings after
 * the second where they were after the first (the first may leave malloc
 * arenas for the connection threads, made once).
 */
static void many_requests(struct server *s, int per_client)
{
	char fddir[64], taskdir[64], maps[64];
	snprintf(fddir, sizeof(fddir), "/proc/%d/fd", s->p.pid);
	snprintf(taskdir, sizeof(taskdir), "/proc/%d/task", s->p.pid);
	snprintf(maps, sizeof(maps), "/proc/%d/maps", s->p.pid);
	char *b;
	ck_assert_int_eq(http(s->port, "GET", "/fns", NULL, 0, &b), 200); /* warm-up */
	free(b);
	usleep(200000);
	int fds0 = count_dir(fddir), tasks0 = count_dir(taskdir), fds, tasks, maps1 = 0;
	for (int half = 0; half < 2; half++) {
		int n = half ? per_client / 2 : per_client - per_client / 2;
		int most = request_batch(s, n, half * 8, fddir);
		ck_assert_msg(most <= fds0 + SERVE_FDS_MAX_ABOVE, "%d fds open during the requests (%d idle)", most, fds0);
		ck_assert_msg(settle(fddir, taskdir, fds0, tasks0, &fds, &tasks), "fds %d -> %d, threads %d -> %d", fds0,
			      fds, tasks0, tasks);
		int m = count_lines(maps);
		if (half)
			ck_assert_msg(m <= maps1 + 4, "mappings %d after %d requests, %d after the next %d", maps1,
				      8 * (per_client - per_client / 2), m, 8 * (per_client / 2));
		maps1 = half ? maps1 : m;
	}
}

START_TEST(boot_mode)
{
	char sum[4200], crash[4200], spin[4200];
	snprintf(sum, sizeof(sum), "sum=%s,arg=sum", path("apps/stdinio.img"));
	snprintf(crash, sizeof(crash), "crash=%s", path("apps/nullderef.img"));
	snprintf(spin, sizeof(spin), "spin=%s,timeout=0.5", path("apps/spin.img"));
	/* A plain host here (--levers off); restore_mode runs on the default UKVM_HOST_FAST one. */
	const char *args[] = { "--listen", "127.0.0.1:0", "--mode", "boot", "--fn", sum, "--fn", crash, "--fn", spin,
			       "--max-vms", "2", "--queue-wait", "60000", "--max-body", "1K", "--levers", "off", NULL };
	struct server s;
	server_start(&s, args);
	char *b;
	ck_assert_int_eq(http(s.port, "POST", "/fn/sum", "abc", 3, &b), 200);
	ck_assert_str_eq(b, "bytes 3 fnv e71fa2190541574b\n");
	free(b);
	ck_assert_int_eq(http(s.port, "POST", "/fn/sum", NULL, 0, &b), 200); /* no body: end of file at once */
	ck_assert_str_eq(b, "bytes 0 fnv cbf29ce484222325\n");
	free(b);
	/* A crashing function: 500 with the monitor's line; the server lives on. */
	ck_assert_int_eq(http(s.port, "POST", "/fn/crash", "x", 1, &b), 500);
	ck_assert_msg(strstr(b, "crash: guest crashed (SIGSEGV"), "%s", b);
	free(b);
	ck_assert_int_eq(http(s.port, "POST", "/fn/spin", "x", 1, &b), 504);
	ck_assert_msg(strstr(b, "spin: timeout after 500 ms"), "%s", b);
	free(b);
	static char big[2048];
	memset(big, 'b', sizeof(big));
	ck_assert_int_eq(http(s.port, "POST", "/fn/sum", big, sizeof(big), &b), 413);
	free(b);
	ck_assert_int_eq(http(s.port, "POST", "/fn/nope", "x", 1, &b), 404);
	free(b);
	ck_assert_int_eq(http(s.port, "GET", "/fns", NULL, 0, &b), 200);
	ck_assert_msg(strstr(b, "{\"name\":\"sum\"") && strstr(b, "\"name\":\"spin\"") && strstr(b, "\"timeout_ms\":500"),
		      "%s", b);
	free(b);
	many_requests(&s, 8);
	ck_assert_int_eq(http(s.port, "GET", "/metrics", NULL, 0, &b), 200);
	ck_assert_msg(strstr(b, "ukvm_serve_invocations_total{fn=\"sum\"} 67\n") &&
			      strstr(b, "ukvm_serve_responses_total{fn=\"crash\",code=\"500\"} 1\n") &&
			      strstr(b, "ukvm_serve_responses_total{fn=\"spin\",code=\"504\"} 1\n") &&
			      strstr(b, "ukvm_serve_responses_total{fn=\"sum\",code=\"413\"} 1\n") &&
			      strstr(b, "ukvm_serve_request_seconds_count{fn=\"sum\"} 67\n") &&
			      strstr(b, "ukvm_serve_vms_running 0\n"),
		      "%s", b);
	free(b);
	server_stop(&s);
	fprintf(stderr, "serve: boot mode: 64 requests over 8 connections, 500, 504, 413, 404, /fns, /metrics\n");
}
END_TEST

/*
 * Boot mode on the default host (UKVM_HOST_FAST: its reaper frees the
 * destroyed VMs): 1,000 requests over 8 connections, the server's fds
 * bounded meanwhile (the reaper's queue once grew them past 1,024).
 */
START_TEST(boot_mode_fast_host)
{
	char sum[4200];
	snprintf(sum, sizeof(sum), "sum=%s,arg=sum", path("apps/stdinio.img"));
	const char *args[] = { "--listen", "127.0.0.1:0", "--mode", "boot", "--fn", sum, NULL };
	struct server s;
	server_start(&s, args);
	many_requests(&s, 125);
	char *b;
	ck_assert_int_eq(http(s.port, "GET", "/metrics", NULL, 0, &b), 200);
	ck_assert_msg(strstr(b, "ukvm_serve_invocations_total{fn=\"sum\"} 1000\n") &&
			      strstr(b, "ukvm_serve_vms_running 0\n"), "%s", b);
	free(b);
	server_stop(&s);
	fprintf(stderr, "serve: boot mode, fast host: 1,000 requests over 8 connections\n");
}
END_TEST

static void *spin_once(void *arg)
{
	char *b;
	int *port = arg;
	int st = http(*port, "POST", "/fn/spin", "x", 1, &b);
	free(b);
	return (void *)(intptr_t)st;
}

/* --max-vms 1: while one request runs, another waits --queue-wait ms and gets 503. */
START_TEST(pool_full_gives_503)
{
	char spin[4200];
	snprintf(spin, sizeof(spin), "spin=%s,timeout=3", path("apps/spin.img"));
	const char *args[] = { "--listen", "127.0.0.1:0", "--fn", spin, "--max-vms", "1", "--queue-wait", "50", NULL };
	struct server s;
	server_start(&s, args);
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, spin_once, &s.port), 0);
	char *b = NULL;
	for (int k = 0; k < 200; k++) { /* until the first one holds the VM */
		free(b);
		http(s.port, "GET", "/metrics", NULL, 0, &b);
		if (strstr(b, "ukvm_serve_vms_running 1\n"))
			break;
		usleep(10000);
	}
	ck_assert_msg(strstr(b, "ukvm_serve_vms_running 1\n"), "%s", b);
	free(b);
	ck_assert_int_eq(http(s.port, "POST", "/fn/spin", "x", 1, &b), 503);
	ck_assert_msg(strstr(b, "all 1 VMs busy"), "%s", b);
	free(b);
	void *st;
	pthread_join(t, &st);
	ck_assert_int_eq((int)(intptr_t)st, 504);
	server_stop(&s);
}
END_TEST

/*
 * Restore mode: each function boots once, is snapshotted when it blocks
 * reading its stdin, and every request restores a fresh VM from that
 * snapshot with the body as its stdin. A function that never waits for
 * input cannot be snapshotted: the server refuses to start, with one line.
 */
START_TEST(restore_mode)
{
	char sum[4200], hello[4200];
	snprintf(sum, sizeof(sum), "sum=%s,arg=sum", path("apps/stdinio.img"));
	const char *args[] = { "--listen", "127.0.0.1:0", "--mode", "restore", "--fn", sum, NULL };
	struct server s;
	server_start(&s, args);
	char *b;
	ck_assert_int_eq(http(s.port, "POST", "/fn/sum", "abc", 3, &b), 200);
	ck_assert_str_eq(b, "bytes 3 fnv e71fa2190541574b\n");
	free(b);
	many_requests(&s, 125);
	/* Warm VMs (worker.h) answered some: they take the body through a pipe, here well past its 64 KiB. */
	size_t big = 1 << 20;
	char *data = malloc(big), want[64];
	for (size_t i = 0; i < big; i++)
		data[i] = (char)(i * 131 + (i >> 9));
	sum_line(data, big, want, sizeof(want));
	for (int k = 0; k < 3; k++) { /* the first ones are warm (started before the server listened) */
		ck_assert_int_eq(http(s.port, "POST", "/fn/sum", data, big, &b), 200);
		ck_assert_str_eq(b, want);
		free(b);
		usleep(100000);
	}
	free(data);
	ck_assert_int_eq(http(s.port, "GET", "/metrics", NULL, 0, &b), 200);
	unsigned long long warm = 0;
	const char *w = strstr(b, "ukvm_serve_warm_total{fn=\"sum\"} ");
	ck_assert_msg(w && sscanf(w + strlen("ukvm_serve_warm_total{fn=\"sum\"} "), "%llu", &warm) == 1 && warm >= 3,
		      "%s", b);
	free(b);
	server_stop(&s);

	snprintf(hello, sizeof(hello), "hello=%s", path("apps/hello.img"));
	const char *bad[] = { "--listen", "127.0.0.1:0", "--mode", "restore", "--fn", hello, NULL };
	struct it_proc p;
	struct it_result r;
	ck_assert_int_eq(it_start(&p, path("ukvm-serve"), bad), 0);
	ck_assert_int_eq(it_finish(&p, 0, 60, &r, NULL), 0);
	ck_assert_msg(r.status == UKVM_EXIT_IMAGE && strstr(r.err, "hello: never idle waiting for its input"),
		      "status %d: %s%s", r.status, r.out, r.err);
	it_result_free(&r);
	fprintf(stderr, "serve: restore mode: 1,000 requests over 8 connections from one snapshot\n");
}
END_TEST

/*
 * Restore mode's timeout: a function that takes its input and never
 * answers gets 504 within its timeout, a warm VM as a restored one, and the
 * server goes on (the next request too); stopped with VMs still warm, it
 * ends cleanly.
 */
START_TEST(restore_mode_timeout)
{
	char spin[4200];
	snprintf(spin, sizeof(spin), "spin=%s,arg=spin,timeout=0.5", path("apps/stdinio.img"));
	const char *args[] = { "--listen", "127.0.0.1:0", "--mode", "restore", "--fn", spin, NULL };
	struct server s;
	server_start(&s, args);
	for (int k = 0; k < 4; k++) { /* warm, warm, then whatever is ready */
		char *b;
		ck_assert_int_eq(http(s.port, "POST", "/fn/spin", "abc", 3, &b), 504);
		ck_assert_msg(strstr(b, "spin: timeout after 500 ms"), "%s", b);
		free(b);
	}
	server_stop(&s);
	fprintf(stderr, "serve: restore mode: 504 for a function that never answers\n");
}
END_TEST

/*
 * --mode native (bench-serve's baseline): the same functions as plain child processes: the body on stdin, stdout
 * answered; a crash is 500 naming the signal, a timeout 504; fds and threads flat; a program that cannot start is
 * 500 naming it.
 */
START_TEST(native_mode)
{
	char sum[4200], crash[4200], spin[4200], gone[4200];
	snprintf(sum, sizeof(sum), "sum=%s,arg=sum,native=%s", path("apps/stdinio.img"), path("apps/stdinio"));
	snprintf(crash, sizeof(crash), "crash=%s,native=%s", path("apps/nullderef.img"), path("apps/nullderef"));
	snprintf(spin, sizeof(spin), "spin=%s,timeout=0.5,native=%s", path("apps/spin.img"), path("apps/spin"));
	snprintf(gone, sizeof(gone), "gone=%s,native=/nonexistent/prog", path("apps/hello.img"));
	const char *args[] = { "--listen", "127.0.0.1:0", "--mode", "native", "--fn", sum, "--fn", crash, "--fn", spin,
			       "--fn", gone, NULL };
	struct server s;
	server_start(&s, args);
	char *b;
	ck_assert_int_eq(http(s.port, "POST", "/fn/sum", "abc", 3, &b), 200);
	ck_assert_str_eq(b, "bytes 3 fnv e71fa2190541574b\n");
	free(b);
	ck_assert_int_eq(http(s.port, "POST", "/fn/sum", NULL, 0, &b), 200);
	ck_assert_str_eq(b, "bytes 0 fnv cbf29ce484222325\n");
	free(b);
	ck_assert_int_eq(http(s.port, "POST", "/fn/crash", "x", 1, &b), 500);
	ck_assert_msg(strstr(b, "crash: killed by signal 11"), "%s", b);
	free(b);
	ck_assert_int_eq(http(s.port, "POST", "/fn/spin", "x", 1, &b), 504);
	ck_assert_msg(strstr(b, "spin: timeout after 500 ms"), "%s", b);
	free(b);
	ck_assert_int_eq(http(s.port, "POST", "/fn/gone", "x", 1, &b), 500);
	ck_assert_msg(strstr(b, "gone: /nonexistent/prog: No such file"), "%s", b);
	free(b);
	many_requests(&s, 4);
	server_stop(&s);
}
END_TEST

Suite *serve_suite(void)
{
	Suite *s = suite_create("serve");
	TCase *c = tcase_create("core");
	tcase_set_timeout(c, 300);
	tcase_add_test(c, boot_mode);
	tcase_add_test(c, boot_mode_fast_host);
	tcase_add_test(c, pool_full_gives_503);
	tcase_add_test(c, restore_mode);
	tcase_add_test(c, restore_mode_timeout);
	tcase_add_test(c, native_mode);
	suite_add_tcase(s, c);
	return s;
}
