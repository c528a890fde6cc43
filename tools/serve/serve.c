/* serve.c: ukvm-serve, an HTTP front end on libukvm and libmicrohttpd: one fresh microVM per request, the body its stdin, its stdout the response. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "servecfg.h"
#include "ukvm.h"
#include "worker.h"

/*
 * libmicrohttpd (Debian's libmicrohttpd-dev): a small, long-kept C library
 * made to embed an HTTP/1.1 server, with its own thread per connection, so
 * a request's VM runs in its connection's thread without an event loop of
 * ours. Each VM runs on a thread of its own, a worker started ahead
 * (worker.h): ukvm_run's seccomp filter stays on the thread that ran it,
 * and the connection's thread must go on speaking HTTP. In restore mode a
 * request takes a warm VM when one is ready: restored and running ahead,
 * waiting for its stdin.
 */

/* Latency histogram bounds, seconds (Prometheus's le labels). */
static const double serve_buckets[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
#define SERVE_NBUCKETS (sizeof(serve_buckets) / sizeof(serve_buckets[0]))

/* What each function has done, for GET /metrics. */
struct serve_stats {
	uint64_t invocations;         /* requests that reached the function (any outcome) */
	uint64_t by_code[6];          /* 200, 500, 503, 504, 413, other */
	uint64_t hist[SERVE_NBUCKETS + 1];
	uint64_t warm;                /* requests answered by a warm VM (worker.h) */
	uint64_t pv;                  /* requests whose VM ran in pvm-pv mode (ukvm_result.pv; --pv) */
	double sum_s;
};
static const int serve_codes[] = { 200, 500, 503, 504, 413, 0 };

/* A function's start hook: how its VMs begin (SERVE_MODE_RESTORE: from snap, taken at registration). */
struct serve_fnstate {
	const struct serve_fn *fn;
	char snap[4096]; /* the snapshot file, restore mode; empty: each request boots the function */
};

/* Whether function fi's requests restore its snapshot (else they boot it). */
static bool serve_restores(unsigned fi);

static struct {
	struct serve_opts o;
	struct serve_fnstate fs[SERVE_MAX_FNS];
	struct ukvm_host *host;
	pthread_mutex_t lock; /* stats, running */
	struct serve_stats stats[SERVE_MAX_FNS];
	unsigned running;     /* requests in a VM (or, native mode, a child process) now */
	unsigned active;      /* POSTs begun and not yet answered in full (serve_handler to serve_done) */
	bool stopping;        /* SIGTERM: requests not yet begun are answered 503 */
	char dir[64];         /* the server's private directory (snapshots); removed at exit */
} S;

static double serve_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void serve_count(unsigned fi, int code, double secs)
{
	pthread_mutex_lock(&S.lock);
	struct serve_stats *st = &S.stats[fi];
	st->invocations++;
	unsigned k = 0;
	while (serve_codes[k] && serve_codes[k] != code)
		k++;
	st->by_code[k]++;
	unsigned b = 0;
	while (b < SERVE_NBUCKETS && secs > serve_buckets[b])
		b++;
	st->hist[b]++;
	st->sum_s += secs;
	pthread_mutex_unlock(&S.lock);
}

extern char **environ;

/*
 * --mode native: the function's native= program as a plain child process, no VM (bench-serve's baseline): stdin
 * the body (or /dev/null), stdout the output memfd, stderr dropped; the function's timeout kills it (SIGKILL).
 * Fills j as a VM's run would: create_rc for a program that cannot start, res for how it ended.
 */
static void serve_native(struct serve_job *j)
{
	const struct serve_fn *fn = j->fn;
	char *argv[SERVE_MAX_ARGS + 2] = { fn->native };
	for (unsigned i = 0; fn->argv[i]; i++)
		argv[i + 1] = (char *)fn->argv[i];
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (j->in_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, j->in_fd, 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, j->out_fd, 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	/* The server blocks SIGTERM/SIGINT for its sigwait: the child starts with an empty mask. */
	posix_spawnattr_t at;
	sigset_t none;
	sigemptyset(&none);
	posix_spawnattr_init(&at);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
	pid_t pid;
	int r = posix_spawn(&pid, fn->native, &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	j->res = (struct ukvm_result){ .size = sizeof(j->res) };
	if (r) {
		j->create_rc = UKVM_ERR_IMAGE;
		snprintf(j->err, sizeof(j->err), "%s: %s", fn->native, strerror(r));
		return;
	}
	j->create_rc = UKVM_OK;
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd >= 0 && fn->timeout_ms) {
		struct pollfd p = { .fd = pfd, .events = POLLIN };
		int n;
		while ((n = poll(&p, 1, fn->timeout_ms > INT32_MAX ? -1 : (int)fn->timeout_ms)) < 0 && errno == EINTR)
			;
		if (n == 0) {
			kill(pid, SIGKILL);
			j->res.kind = UKVM_TIMEOUT;
			snprintf(j->res.msg, sizeof(j->res.msg), "timeout after %llu ms", (unsigned long long)fn->timeout_ms);
		}
	}
	if (pfd >= 0)
		close(pfd);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (j->res.kind == UKVM_TIMEOUT)
		return;
	if (WIFEXITED(st)) {
		j->res.kind = UKVM_EXITED;
		j->res.status = WEXITSTATUS(st);
	} else {
		j->res.kind = UKVM_CRASHED;
		j->res.status = 128 + WTERMSIG(st);
		snprintf(j->res.msg, sizeof(j->res.msg), "killed by signal %d", WTERMSIG(st));
	}
}

/* Runs j on a worker and waits for it (native mode: here): 0, or -errno when no thread could start. */
static int serve_job_run(struct serve_job *j)
{
	if (S.o.mode == SERVE_MODE_NATIVE) {
		serve_native(j);
		return 0;
	}
	return worker_run(j);
}

/* A memfd holding len bytes of data, at offset 0; -errno. */
static int serve_memfd_with(const char *name, const void *data, size_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (size_t done = 0; done < len;) {
		ssize_t n = write(fd, (const char *)data + done, len - done);
		if (n <= 0) {
			close(fd);
			return -EIO;
		}
		done += (size_t)n;
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static enum MHD_Result serve_reply(struct MHD_Connection *c, unsigned code, const char *type, void *buf, size_t len,
				   enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, buf, mode);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	pthread_mutex_lock(&S.lock);
	bool stopping = S.stopping;
	pthread_mutex_unlock(&S.lock);
	if (stopping) /* no next request on this connection: the stop waits for no one who would send one */
		MHD_add_response_header(r, "Connection", "close");
	enum MHD_Result ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result serve_text(struct MHD_Connection *c, unsigned code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static enum MHD_Result serve_text(struct MHD_Connection *c, unsigned code, const char *fmt, ...)
{
	char line[768];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	return serve_reply(c, code, "text/plain", line, (size_t)n, MHD_RESPMEM_MUST_COPY);
}

/* POST /fn/NAME with the whole body: the function's answer. */
static enum MHD_Result serve_invoke(struct MHD_Connection *c, unsigned fi, const char *body, size_t len)
{
	double t0 = serve_now();
	const struct serve_fn *fn = S.fs[fi].fn;
	/* A warm VM comes with its slot of --max-vms; else the request's own VM needs one. */
	struct worker_warm *warm = serve_restores(fi) ? worker_warm_take(fi) : NULL;
	if (!warm && worker_slot_take(S.o.queue_ms) < 0) {
		serve_count(fi, 503, serve_now() - t0);
		return serve_text(c, 503, "%s: all %u VMs busy", fn->name, S.o.max_vms);
	}
	pthread_mutex_lock(&S.lock);
	S.running++;
	pthread_mutex_unlock(&S.lock);

	struct serve_job j = { .fn = fn, .host = S.host, .in_fd = -1, .out_fd = -1,
			       .restore = serve_restores(fi) ? S.fs[fi].snap : NULL };
	unsigned code;
	char *out = NULL;
	size_t outlen = 0;
	char why[600] = "";
	if (warm) {
		pthread_mutex_lock(&S.lock);
		S.stats[fi].warm++;
		pthread_mutex_unlock(&S.lock);
		j.create_rc = UKVM_OK;
		worker_warm_run(warm, body, len, fn->timeout_ms, &j.res, &j.out_fd);
	} else {
		j.in_fd = len ? serve_memfd_with("stdin", body, len) : -1; /* no body: stdin reads end of file */
		j.out_fd = worker_out_fd();
	}
	if (!warm && ((len && j.in_fd < 0) || j.out_fd < 0)) {
		code = 500;
		snprintf(why, sizeof(why), "%s: out of host resources", fn->name);
	} else if (!warm && serve_job_run(&j) < 0) {
		code = 500;
		snprintf(why, sizeof(why), "%s: cannot start a thread", fn->name);
	} else if (j.create_rc != UKVM_OK) {
		code = 500;
		snprintf(why, sizeof(why), "%s: %s", fn->name, j.err);
	} else if (j.res.kind == UKVM_TIMEOUT) {
		code = 504;
		snprintf(why, sizeof(why), "%s: %s", fn->name, j.res.msg);
	} else if (j.res.kind == UKVM_EXITED && lseek(j.out_fd, 0, SEEK_CUR) > (off_t)WORKER_OUT_MAX) {
		/* Cut at the bound (its writes past it failed): not its answer, however it exited. */
		code = 500;
		snprintf(why, sizeof(why), "%s: output beyond %u MiB", fn->name, WORKER_OUT_MAX >> 20);
	} else if (j.res.kind == UKVM_EXITED && j.res.status == 0) {
		code = 200;
	} else {
		code = 500;
		if (j.res.kind == UKVM_EXITED)
			snprintf(why, sizeof(why), "%s: exit status %d", fn->name, j.res.status);
		else
			snprintf(why, sizeof(why), "%s: %s", fn->name, j.res.msg);
	}
	if (code == 200) {
		off_t n = lseek(j.out_fd, 0, SEEK_CUR);
		outlen = n > 0 ? (size_t)n : 0;
		out = malloc(outlen ? outlen : 1);
		if (!out || pread(j.out_fd, out, outlen, 0) != (ssize_t)outlen) {
			free(out);
			out = NULL;
			code = 500;
			snprintf(why, sizeof(why), "%s: cannot read its output", fn->name);
		}
	}
	if (j.in_fd >= 0)
		close(j.in_fd);
	if (j.out_fd >= 0)
		close(j.out_fd);
	pthread_mutex_lock(&S.lock);
	S.running--;
	S.stats[fi].pv += j.create_rc == UKVM_OK && j.res.pv;
	pthread_mutex_unlock(&S.lock);
	worker_slot_give();
	serve_count(fi, (int)code, serve_now() - t0);
	if (code == 200)
		return serve_reply(c, 200, "application/octet-stream", out, outlen, MHD_RESPMEM_MUST_FREE);
	return serve_text(c, code, "%s", why);
}

/* GET /fns: the functions as JSON (names are [A-Za-z0-9_.-]; image paths escaped). */
static enum MHD_Result serve_fns(struct MHD_Connection *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		return serve_text(c, 500, "out of memory");
	fputc('[', m);
	for (unsigned i = 0; i < S.o.nfns; i++) {
		const struct serve_fn *f = &S.o.fns[i];
		fprintf(m, "%s{\"name\":\"%s\",\"image\":\"", i ? "," : "", f->name);
		for (const char *p = f->image; *p; p++) {
			if (*p == '"' || *p == '\\')
				fprintf(m, "\\%c", *p);
			else if ((unsigned char)*p < 0x20)
				fprintf(m, "\\u%04x", (unsigned char)*p);
			else
				fputc(*p, m);
		}
		fprintf(m, "\",\"mem\":%llu,\"timeout_ms\":%llu,\"mode\":\"%s\"}", (unsigned long long)f->mem,
			(unsigned long long)f->timeout_ms,
			serve_restores(i) ? "restore" : S.o.mode == SERVE_MODE_NATIVE ? "native" : "boot");
	}
	fputs("]\n", m);
	fclose(m);
	return serve_reply(c, 200, "application/json", buf, len, MHD_RESPMEM_MUST_FREE);
}

/* GET /metrics: Prometheus text format 0.0.4. */
static enum MHD_Result serve_metrics(struct MHD_Connection *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		return serve_text(c, 500, "out of memory");
	pthread_mutex_lock(&S.lock);
	fputs("# HELP ukvm_serve_invocations_total Requests to a function, any outcome.\n"
	      "# TYPE ukvm_serve_invocations_total counter\n", m);
	for (unsigned i = 0; i < S.o.nfns; i++)
		fprintf(m, "ukvm_serve_invocations_total{fn=\"%s\"} %llu\n", S.o.fns[i].name,
			(unsigned long long)S.stats[i].invocations);
	fputs("# HELP ukvm_serve_responses_total Responses by HTTP status.\n"
	      "# TYPE ukvm_serve_responses_total counter\n", m);
	for (unsigned i = 0; i < S.o.nfns; i++)
		for (unsigned k = 0; serve_codes[k]; k++)
			fprintf(m, "ukvm_serve_responses_total{fn=\"%s\",code=\"%d\"} %llu\n", S.o.fns[i].name,
				serve_codes[k], (unsigned long long)S.stats[i].by_code[k]);
	fputs("# HELP ukvm_serve_errors_total Requests not answered 200.\n# TYPE ukvm_serve_errors_total counter\n", m);
	for (unsigned i = 0; i < S.o.nfns; i++)
		fprintf(m, "ukvm_serve_errors_total{fn=\"%s\"} %llu\n", S.o.fns[i].name,
			(unsigned long long)(S.stats[i].invocations - S.stats[i].by_code[0]));
	fputs("# HELP ukvm_serve_warm_total Requests given to a VM restored and running ahead (restore mode).\n"
	      "# TYPE ukvm_serve_warm_total counter\n", m);
	for (unsigned i = 0; i < S.o.nfns; i++)
		fprintf(m, "ukvm_serve_warm_total{fn=\"%s\"} %llu\n", S.o.fns[i].name, (unsigned long long)S.stats[i].warm);
	fputs("# HELP ukvm_serve_pv_total Requests whose VM ran in pvm-pv mode (--pv; the rest ran in base mode).\n"
	      "# TYPE ukvm_serve_pv_total counter\n", m);
	for (unsigned i = 0; i < S.o.nfns; i++)
		fprintf(m, "ukvm_serve_pv_total{fn=\"%s\"} %llu\n", S.o.fns[i].name, (unsigned long long)S.stats[i].pv);
	fputs("# HELP ukvm_serve_request_seconds Time from request to answer.\n"
	      "# TYPE ukvm_serve_request_seconds histogram\n", m);
	for (unsigned i = 0; i < S.o.nfns; i++) {
		uint64_t cum = 0;
		for (unsigned b = 0; b <= SERVE_NBUCKETS; b++) {
			cum += S.stats[i].hist[b];
			if (b < SERVE_NBUCKETS)
				fprintf(m, "ukvm_serve_request_seconds_bucket{fn=\"%s\",le=\"%g\"} %llu\n", S.o.fns[i].name,
					serve_buckets[b], (unsigned long long)cum);
			else
				fprintf(m, "ukvm_serve_request_seconds_bucket{fn=\"%s\",le=\"+Inf\"} %llu\n",
					S.o.fns[i].name, (unsigned long long)cum);
		}
		fprintf(m, "ukvm_serve_request_seconds_sum{fn=\"%s\"} %.6f\n", S.o.fns[i].name, S.stats[i].sum_s);
		fprintf(m, "ukvm_serve_request_seconds_count{fn=\"%s\"} %llu\n", S.o.fns[i].name,
			(unsigned long long)cum);
	}
	unsigned vms, warm;
	worker_pool_counts(&vms, &warm);
	fprintf(m, "# HELP ukvm_serve_vms_running VMs running now, warm ones included (at most --max-vms).\n"
		   "# TYPE ukvm_serve_vms_running gauge\nukvm_serve_vms_running %u\n", vms);
	fprintf(m, "# HELP ukvm_serve_vms_warm VMs restored ahead and waiting for a request (restore mode).\n"
		   "# TYPE ukvm_serve_vms_warm gauge\nukvm_serve_vms_warm %u\n", warm);
	fprintf(m, "# HELP ukvm_serve_requests_running Requests in their VM (native mode: process) now.\n"
		   "# TYPE ukvm_serve_requests_running gauge\nukvm_serve_requests_running %u\n", S.running);
	fprintf(m, "# HELP ukvm_serve_requests_in_flight POSTs begun (their head read) and not yet answered in full.\n"
		   "# TYPE ukvm_serve_requests_in_flight gauge\nukvm_serve_requests_in_flight %u\n", S.active);
	pthread_mutex_unlock(&S.lock);
	fclose(m);
	return serve_reply(c, 200, "text/plain; version=0.0.4", buf, len, MHD_RESPMEM_MUST_FREE);
}

/* A POST's body as it arrives. */
struct serve_req {
	char *buf;
	size_t len, cap;
	bool too_big;
	bool late;      /* begun after SIGTERM: answered 503 */
};

static enum MHD_Result serve_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				     const char *version, const char *data, size_t *data_size, void **con_cls)
{
	(void)cls, (void)version;
	bool post = !strcmp(method, "POST");
	if (!post) {
		if (strcmp(method, "GET"))
			return serve_text(c, 405, "only GET and POST");
		if (!strcmp(url, "/fns"))
			return serve_fns(c);
		if (!strcmp(url, "/metrics"))
			return serve_metrics(c);
		return serve_text(c, 404, "%s: not found (POST /fn/NAME, GET /fns, GET /metrics)", url);
	}
	struct serve_req *q = *con_cls;
	if (!q) {
		if (!(q = calloc(1, sizeof(*q))))
			return MHD_NO;
		*con_cls = q;
		pthread_mutex_lock(&S.lock);
		q->late = S.stopping;
		S.active += !q->late; /* until serve_done: the stop waits for its answer (not a late one's 503) */
		pthread_mutex_unlock(&S.lock);
		return MHD_YES;
	}
	if (*data_size) {
		size_t n = *data_size;
		*data_size = 0;
		if (q->too_big || n > S.o.max_body - q->len) {
			q->too_big = true; /* the rest is read and dropped, so the answer can be sent */
			return MHD_YES;
		}
		if (q->len + n > q->cap) {
			size_t cap = q->cap ? q->cap : 4096;
			while (cap < q->len + n)
				cap *= 2;
			char *b = realloc(q->buf, cap);
			if (!b)
				return MHD_NO;
			q->buf = b, q->cap = cap;
		}
		memcpy(q->buf + q->len, data, n);
		q->len += n;
		return MHD_YES;
	}
	if (strncmp(url, "/fn/", 4))
		return serve_text(c, 404, "%s: not found (POST /fn/NAME)", url);
	const struct serve_fn *fn = serve_find(&S.o, url + 4, strlen(url + 4));
	if (!fn)
		return serve_text(c, 404, "%s: no such function", url + 4);
	unsigned fi = (unsigned)(fn - S.o.fns);
	if (q->late) { /* a request begun on a kept-alive connection after SIGTERM */
		serve_count(fi, 503, 0);
		return serve_text(c, 503, "%s: the server is stopping", fn->name);
	}
	if (q->too_big) {
		serve_count(fi, 413, 0);
		return serve_text(c, 413, "%s: body beyond %llu bytes", fn->name, (unsigned long long)S.o.max_body);
	}
	return serve_invoke(c, fi, q->buf, q->len);
}

static void serve_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)c, (void)toe;
	struct serve_req *q = *con_cls;
	if (q) {
		bool late = q->late;
		free(q->buf);
		free(q);
		*con_cls = NULL;
		pthread_mutex_lock(&S.lock);
		S.active -= !late;
		pthread_mutex_unlock(&S.lock);
	}
}

/*
 * The start hook of restore mode, run once per function at registration:
 * boot it with an input that stays open and silent, so it blocks reading
 * its stdin, the point a function is ready; libukvm snapshots it there.
 * Each request then restores a VM from that snapshot with its own stdin.
 * The boot runs in a child process (its VM on a worker thread, as every
 * job's: the vCPU thread's seccomp filter stays on that thread).
 */
static int serve_prepare(struct serve_fnstate *f, char *err, size_t errlen)
{
	if (S.o.mode != SERVE_MODE_RESTORE)
		return 0;
	snprintf(f->snap, sizeof(f->snap), "%s/%s.snap", S.dir, f->fn->name);
	int p[2], m[2];
	if (pipe2(p, O_CLOEXEC) || pipe2(m, O_CLOEXEC))
		return snprintf(err, errlen, "%s: pipe: %s", f->fn->name, strerror(errno)), -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		struct serve_job j = { .fn = f->fn, .in_fd = p[0], .out_fd = -1, .snapshot_to = f->snap };
		char line[600] = "";
		/* On a worker: the filter stays on it, and this thread still writes the answer. */
		if (serve_job_run(&j))
			_exit(1);
		if (j.create_rc != UKVM_OK)
			snprintf(line, sizeof(line), "%s: %s", f->fn->name, j.err);
		else if (j.res.kind != UKVM_SNAPSHOTTED)
			snprintf(line, sizeof(line), "%s: never idle waiting for its input, no snapshot (%s)", f->fn->name,
				 j.res.kind == UKVM_EXITED ? "it exited" : j.res.msg);
		ssize_t w = write(m[1], line, strlen(line));
		(void)w;
		_exit(line[0] ? 1 : 0);
	}
	close(p[0]);
	close(m[1]);
	int st = 0;
	char line[600] = "";
	ssize_t n = pid < 0 ? -1 : read(m[0], line, sizeof(line) - 1);
	if (pid > 0)
		waitpid(pid, &st, 0);
	close(p[1]);
	close(m[0]);
	if (pid < 0)
		return snprintf(err, errlen, "%s: fork: %s", f->fn->name, strerror(errno)), -1;
	line[n > 0 ? n : 0] = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return snprintf(err, errlen, "%s", line[0] ? line : "the snapshot boot died"), -1;
	return 0;
}

static bool serve_restores(unsigned fi)
{
	return S.o.mode == SERVE_MODE_RESTORE && S.fs[fi].snap[0];
}

/*
 * Registers function f: in restore mode its snapshot. One it cannot take
 * (the function exits, crashes or loops before it waits for input) stops
 * the server when --mode restore was asked for; by default (restore, not
 * asked for) the function is booted per request instead, as --mode boot
 * would, and a line on stderr says so and why: a function that needs no
 * input (or is broken) still gets its answers (or its 500 with the reason).
 */
static int serve_register(struct serve_fnstate *f, char *err, size_t errlen)
{
	int r = serve_prepare(f, err, errlen);
	if (!r || S.o.mode_given)
		return r;
	unlink(f->snap); /* what a failed snapshot may have left */
	f->snap[0] = 0;
	fprintf(stderr, "ukvm-serve: %s; booted per request instead\n", err);
	return 0;
}

static void serve_cleanup(void)
{
	for (unsigned i = 0; i < S.o.nfns; i++)
		if (S.fs[i].snap[0])
			unlink(S.fs[i].snap);
	if (S.dir[0])
		rmdir(S.dir);
}

int main(int argc, char **argv)
{
	char err[768];
	int code = 0;
	if (serve_parse(argc, argv, &S.o, err, sizeof(err))) {
		fprintf(stderr, "ukvm-serve: %s\n%s", err, serve_usage());
		serve_opts_free(&S.o);
		return UKVM_EXIT_USAGE;
	}
	if (S.o.help) {
		fputs(serve_usage(), stdout);
		return 0;
	}
	/* SIGTERM and SIGINT are taken by sigwait below; every thread inherits them blocked. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	pthread_mutex_init(&S.lock, NULL);
	worker_pool_init(S.o.max_vms);
	snprintf(S.dir, sizeof(S.dir), "/tmp/ukvm-serve-XXXXXX");
	if (!mkdtemp(S.dir)) {
		fprintf(stderr, "ukvm-serve: %s: %s\n", S.dir, strerror(errno));
		S.dir[0] = 0;
		code = UKVM_EXIT_INTERNAL;
		goto out;
	}
	for (unsigned i = 0; i < S.o.nfns; i++) {
		S.fs[i].fn = &S.o.fns[i];
		if (serve_register(&S.fs[i], err, sizeof(err))) {
			fprintf(stderr, "ukvm-serve: %s\n", err);
			code = UKVM_EXIT_IMAGE;
			goto out;
		}
	}
	/*
	 * The host after the snapshot boots: they run in forked children, where
	 * the pool's and the reaper's threads would not exist. UKVM_HOST_FAST
	 * unless --levers off; none in native mode.
	 */
	if (S.o.mode != SERVE_MODE_NATIVE) {
		int r = ukvm_host_open_flags(&S.host, S.o.plain_host ? 0 : UKVM_HOST_FAST, err, sizeof(err));
		if (r) {
			fprintf(stderr, "ukvm-serve: %s\n", err);
			code = ukvm_error_exit_code(r);
			goto out;
		}
		/* After the snapshot boots' forks (a child would have no spawner: it starts its own worker). */
		static const char *snaps[SERVE_MAX_FNS];
		for (unsigned i = 0; i < S.o.nfns; i++)
			snaps[i] = serve_restores(i) ? S.fs[i].snap : NULL;
		worker_start(S.host, S.o.fns, snaps, S.o.nfns, S.o.max_vms < S.o.warm ? S.o.max_vms : S.o.warm);
	}
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(S.o.port) };
	inet_pton(AF_INET, S.o.host, &sa.sin_addr);
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG, 0,
		NULL, NULL,
		serve_handler, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, serve_done,
		NULL, MHD_OPTION_CONNECTION_LIMIT, (unsigned)(S.o.max_vms * 4 + 64), MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)120, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "ukvm-serve: cannot listen on %s:%u\n", S.o.host, S.o.port);
		code = UKVM_EXIT_USAGE;
		goto out;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	static const char *const mode_names[] = { "boot", "restore", "native" };
	printf("ukvm-serve: listening on %s:%u, %u functions, mode %s, files in %s\n", S.o.host,
	       info ? info->port : S.o.port, S.o.nfns, mode_names[S.o.mode], S.dir);
	fflush(stdout);
	int sig;
	sigwait(&stop, &sig);
	/*
	 * Graceful: no new connections, and no new request on a kept-alive one
	 * (503); the requests begun (in a VM, waiting for one, or still sending
	 * their body) finish and their answers are sent in full (serve_done),
	 * then the connections close and their threads are joined. Bounded:
	 * a client can keep a request going (a body sent a byte at a time, an
	 * answer read as slowly) and a function's timeout may be longer, so past
	 * --stop-wait the files go and the process exits with its VMs (the
	 * kernel tears them down): nothing is left behind either way.
	 */
	pthread_mutex_lock(&S.lock);
	S.stopping = true; /* first: a client that finds the port closed knows a new request gets 503 */
	unsigned inflight = S.active;
	pthread_mutex_unlock(&S.lock);
	/* Refused from now on; closed only after MHD_stop_daemon (its thread may still hold the fd). */
	MHD_socket ls = MHD_quiesce_daemon(d);
	if (ls != MHD_INVALID_SOCKET)
		shutdown(ls, SHUT_RDWR);
	for (double end = serve_now() + S.o.stop_wait_ms / 1e3;;) {
		pthread_mutex_lock(&S.lock);
		unsigned busy = S.active;
		pthread_mutex_unlock(&S.lock);
		if (!busy)
			break;
		if (serve_now() >= end) {
			printf("ukvm-serve: stopped by %s, %u request%s still in flight after %u s: not answered\n",
			       sig == SIGTERM ? "SIGTERM" : "SIGINT", busy, busy == 1 ? "" : "s", S.o.stop_wait_ms / 1000);
			fflush(stdout);
			serve_cleanup();
			_exit(UKVM_EXIT_INTERNAL);
		}
		usleep(10000);
	}
	MHD_stop_daemon(d);
	if (ls != MHD_INVALID_SOCKET)
		close(ls);
	printf("ukvm-serve: stopped by %s, %u request%s in flight answered first\n", sig == SIGTERM ? "SIGTERM" : "SIGINT",
	       inflight, inflight == 1 ? "" : "s");
out:
	worker_stop();
	serve_cleanup();
	ukvm_host_close(S.host);
	serve_opts_free(&S.o);
	return code;
}
