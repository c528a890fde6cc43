/*
 * servebench.c: make bench-serve: whole requests through ukvm-serve (restore mode with warm VMs, without them
 * (--warm 0), without libukvm's host levers; boot mode) against the same program run as a native child process per request (ukvm-serve --mode
 * native), alternating round by round; wrk when installed (tools/deps.sh), else a small client of our own.
 * Medians over the rounds of requests/s and p50/p99 latency, and the ratios to native.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { C_RESTORE, C_RESTORE_COLD, C_RESTORE_PLAIN, C_BOOT, C_NATIVE, C_COUNT };
static const char *const cname[C_COUNT] = { "restore (levers on)", "restore, --warm 0", "restore, --levers off",
					    "boot", "native process" };
static const char *const cmode[C_COUNT] = { "restore", "restore", "restore", "boot", "native" };

#define MAX_ROUNDS 20
#define MAX_CONNS 64

struct figures {
	double rps, p50_ms, p99_ms;
	double cpu_ms; /* the server's CPU per request: its threads and its waited-for children */
	long non2xx;
};

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A running ukvm-serve. */
struct server {
	pid_t pid;
	int port;
};

/* Starts ukvm-serve in configuration c; its port from its first line. 0 or -1. */
static int server_start(const char *build, int c, struct server *s)
{
	char serve[512], fn[2048];
	snprintf(serve, sizeof(serve), "%s/ukvm-serve", build);
	snprintf(fn, sizeof(fn), "hello=%s/apps/snapfn.img,arg=stdin,timeout=10,native=%s/apps/snapfn", build, build);
	char *pv = getenv("SERVE_PV") ? getenv("SERVE_PV") : "auto"; /* every VM's CPU mode (ukvm-serve --pv) */
	int p[2];
	if (pipe(p))
		return -1;
	s->pid = fork();
	if (s->pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		char *argv[] = { serve, "--listen", "127.0.0.1:0", "--fn", fn, "--mode", (char *)cmode[c], "--levers",
				 c == C_RESTORE_PLAIN ? "off" : "on", "--max-vms", "8", "--queue-wait", "10000", "--warm",
				 c == C_RESTORE_COLD ? "0" : "2", "--pv", pv, NULL };
		execv(serve, argv);
		_exit(127);
	}
	close(p[1]);
	char line[1024];
	size_t n = 0;
	while (n < sizeof(line) - 1) {
		ssize_t k = read(p[0], line + n, 1);
		if (k <= 0 || line[n] == '\n')
			break;
		n++;
	}
	line[n] = 0;
	close(p[0]);
	const char *l = strstr(line, "listening on 127.0.0.1:");
	if (s->pid < 0 || !l) {
		fprintf(stderr, "servebench: ukvm-serve --mode %s did not start: %s\n", cmode[c], line);
		return -1;
	}
	s->port = atoi(l + strlen("listening on 127.0.0.1:"));
	return 0;
}

/* The server's user+system CPU so far, its waited-for children's included (native mode), ms. */
static double server_cpu_ms(const struct server *s)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)s->pid);
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = 0;
	const char *p = strrchr(buf, ')'); /* past the command name, which may hold spaces */
	unsigned long long t[4] = { 0 };
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu", &t[0], &t[1], &t[2],
			 &t[3]) != 4)
		return 0;
	return (double)(t[0] + t[1] + t[2] + t[3]) * 1e3 / (double)sysconf(_SC_CLK_TCK);
}

static void server_stop(struct server *s)
{
	int st;
	kill(s->pid, SIGTERM);
	waitpid(s->pid, &st, 0);
}

/* "9.10ms" -> ms. */
static double wrk_ms(const char *v)
{
	char *end;
	double d = strtod(v, &end);
	if (!strncmp(end, "us", 2))
		return d / 1e3;
	if (!strncmp(end, "ms", 2))
		return d;
	if (!strncmp(end, "s", 1))
		return d * 1e3;
	if (!strncmp(end, "m", 1))
		return d * 60e3;
	return d;
}

/* wrk --latency against the server for secs with conns connections. 0 or -1. */
static int run_wrk(const struct server *s, const char *script, int conns, int secs, struct figures *f)
{
	char cmd[1024], line[512];
	snprintf(cmd, sizeof(cmd), "wrk --latency -t %d -c %d -d %ds -s %s http://127.0.0.1:%d/fn/hello 2>&1",
		 conns < 2 ? 1 : 2, conns, secs, script, s->port);
	FILE *w = popen(cmd, "r");
	if (!w)
		return -1;
	*f = (struct figures){ 0 };
	while (fgets(line, sizeof(line), w)) {
		char v[64];
		if (sscanf(line, " 50%% %63s", v) == 1)
			f->p50_ms = wrk_ms(v);
		else if (sscanf(line, " 99%% %63s", v) == 1)
			f->p99_ms = wrk_ms(v);
		else if (!strncmp(line, "Requests/sec:", 13))
			f->rps = atof(line + 13);
		else if (strstr(line, "Non-2xx or 3xx responses:"))
			f->non2xx += atol(strchr(line, ':') + 1);
		else if (strstr(line, "Socket errors:"))
			f->non2xx += 1;
	}
	return pclose(w) == 0 && f->rps > 0 ? 0 : -1;
}

/* ---- without wrk: each connection thread POSTs one request per connection, back to back, until the end */
struct client {
	int port;
	double until;
	double *lat;
	int n, cap;
	long bad;
};

static int one_request(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	static const char req[] = "POST /fn/hello HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 6\r\n"
				  "Connection: close\r\n\r\nworld\n";
	char buf[4096];
	int code = -1;
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && write(fd, req, sizeof(req) - 1) == sizeof(req) - 1) {
		size_t n = 0;
		ssize_t k;
		while (n < sizeof(buf) - 1 && (k = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
			n += (size_t)k;
		buf[n] = 0;
		if (sscanf(buf, "HTTP/1.%*d %d", &code) != 1)
			code = -1;
	}
	close(fd);
	return code;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	while (now_s() < c->until && c->n < c->cap) {
		double t0 = now_s();
		int code = one_request(c->port);
		c->lat[c->n++] = (now_s() - t0) * 1e3;
		c->bad += code != 200;
	}
	return NULL;
}

static int run_own(const struct server *s, int conns, int secs, struct figures *f)
{
	struct client c[MAX_CONNS];
	pthread_t t[MAX_CONNS];
	double t0 = now_s();
	for (int i = 0; i < conns; i++) {
		c[i] = (struct client){ .port = s->port, .until = t0 + secs, .cap = 200000 };
		if (!(c[i].lat = malloc((size_t)c[i].cap * sizeof(double))))
			return -1;
		pthread_create(&t[i], NULL, client_main, &c[i]);
	}
	int total = 0;
	for (int i = 0; i < conns; i++) {
		pthread_join(t[i], NULL);
		total += c[i].n;
	}
	double secs_run = now_s() - t0;
	double *all = malloc((size_t)(total ? total : 1) * sizeof(double));
	int k = 0;
	*f = (struct figures){ .rps = total / secs_run };
	for (int i = 0; i < conns; i++) {
		memcpy(all + k, c[i].lat, (size_t)c[i].n * sizeof(double));
		k += c[i].n;
		f->non2xx += c[i].bad;
		free(c[i].lat);
	}
	qsort(all, (size_t)total, sizeof(double), cmp_double);
	if (total) {
		f->p50_ms = all[(int)(0.50 * (total - 1) + 0.5)];
		f->p99_ms = all[(int)(0.99 * (total - 1) + 0.5)];
	}
	free(all);
	return total ? 0 : -1;
}

/*
 * BUILD/bench/serve-<N>conn.dat for tools/bench/plots.sh: one row per configuration, its name quoted, then the
 * medians req/s, p50 ms, p99 ms, CPU ms per request.
 */
static void write_dat(const char *build, int conns, double med[C_COUNT][4])
{
	char path[512];
	snprintf(path, sizeof(path), "%s/bench/serve-%dconn.dat", build, conns);
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "servebench: %s: %s\n", path, strerror(errno));
		return;
	}
	fprintf(f, "# configuration req/s p50_ms p99_ms cpu_ms_per_req (medians, %d connection%s)\n", conns,
		conns > 1 ? "s" : "");
	for (int c = 0; c < C_COUNT; c++)
		fprintf(f, "\"%s\" %.1f %.3f %.3f %.3f\n", cname[c], med[c][0], med[c][1], med[c][2], med[c][3]);
	fclose(f);
}

int main(int argc, char **argv)
{
	const char *build = argc > 1 ? argv[1] : "build";
	int rounds = getenv("SERVE_ROUNDS") ? atoi(getenv("SERVE_ROUNDS")) : 3;
	int secs = getenv("SERVE_SECS") ? atoi(getenv("SERVE_SECS")) : 2;
	static const int conns[2] = { 1, 8 };
	if (rounds < 1 || rounds > MAX_ROUNDS || secs < 1 || secs > 60) {
		fprintf(stderr, "servebench: SERVE_ROUNDS 1..%d, SERVE_SECS 1..60\n", MAX_ROUNDS);
		return 2;
	}
	bool wrk = system("command -v wrk >/dev/null 2>&1") == 0;
	char script[] = "/tmp/ukvm-servebench-XXXXXX";
	int sfd = mkstemp(script);
	static const char lua[] = "wrk.method = \"POST\"\nwrk.body = \"world\\n\"\n";
	if (sfd < 0 || write(sfd, lua, sizeof(lua) - 1) != sizeof(lua) - 1) {
		perror("servebench: script");
		return 1;
	}
	close(sfd);
	signal(SIGPIPE, SIG_IGN);
	static struct figures fig[2][C_COUNT][MAX_ROUNDS];
	long non2xx = 0;
	for (int r = 0; r < rounds; r++)
		for (int j = 0; j < C_COUNT; j++) {
			int c = (r + j) % C_COUNT; /* the order rotates round by round */
			struct server s;
			if (server_start(build, c, &s))
				return 1;
			for (int k = 0; k < 2; k++) {
				struct figures *f = &fig[k][c][r];
				double cpu0 = server_cpu_ms(&s);
				int rc = wrk ? run_wrk(&s, script, conns[k], secs, f) : run_own(&s, conns[k], secs, f);
				f->cpu_ms = f->rps > 0 ? (server_cpu_ms(&s) - cpu0) / (f->rps * secs) : 0;
				if (rc) {
					fprintf(stderr, "servebench: %s, %d connections: no answer\n", cname[c], conns[k]);
					server_stop(&s);
					return 1;
				}
				non2xx += f->non2xx;
			}
			server_stop(&s);
		}
	unlink(script);
	printf("bench-serve: POST /fn/hello (guest/apps/snapfn stdin: reads \"world\", answers), %d rounds of %d s per\n"
	       "configuration and connection count, the configurations alternating; client: %s; medians over rounds;\n"
	       "ukvm-serve --pv %s\n",
	       rounds, secs, wrk ? "wrk" : "servebench's own (wrk not installed)",
	       getenv("SERVE_PV") ? getenv("SERVE_PV") : "auto");
	for (int k = 0; k < 2; k++) {
		double med[C_COUNT][4];
		printf("%d connection%s      %12s %10s %10s %14s %14s %12s\n", conns[k], conns[k] > 1 ? "s" : " ", "req/s",
		       "p50 ms", "p99 ms", "req/s /native", "p50 /native", "CPU ms/req");
		for (int c = 0; c < C_COUNT; c++) {
			double v[4][MAX_ROUNDS];
			for (int r = 0; r < rounds; r++)
				v[0][r] = fig[k][c][r].rps, v[1][r] = fig[k][c][r].p50_ms, v[2][r] = fig[k][c][r].p99_ms,
				v[3][r] = fig[k][c][r].cpu_ms;
			for (int m = 0; m < 4; m++)
				med[c][m] = median(v[m], rounds);
		}
		for (int c = 0; c < C_COUNT; c++)
			printf("  %-22s %10.1f %10.3f %10.3f %14.2f %14.2f %12.3f\n", cname[c], med[c][0], med[c][1],
			       med[c][2], med[c][0] / med[C_NATIVE][0], med[c][1] / med[C_NATIVE][1], med[c][3]);
		write_dat(build, conns[k], med);
	}
	printf("CPU ms/req: the server process's user+system time (all its threads, and the children it waited for)\n"
	       "per answered request\n");
	printf("aim (issue 8): restore mode >= 0.5x the native mode's req/s (whole request within 2x)%s\n",
	       non2xx ? "" : "; every answer 200");
	if (non2xx)
		printf("WARNING: %ld answers were not 200 (or socket errors): the figures include failures\n", non2xx);
	return 0;
}
