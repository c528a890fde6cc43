/*
 * snapbench.c: make bench-snap: a hello function restored from a snapshot vs booted vs run as a native process
 * (fork+exec), alternating, in one libukvm process on a shared ukvm_host; medians, p99, ratios.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ukvm.h"

#define RUNS_DEFAULT 100
/*
 * The sleeper's thread sleeps this long beside its wait on stdin: just past UKVM_WAIT_IDLE_MIN_NS (50 ms), so the
 * snapshot is taken in the sleep (a pure sleep alone is not idle).
 */
#define SLEEP_MS "51"

enum { M_RESTORE_CREATE, M_RESTORE_RUNNING, M_RESTORE_EXIT, M_BOOT_RUNNING, M_BOOT_EXIT, M_NATIVE_EXIT,
       M_FN_RESTORE_RUNNING, M_FN_RESTORE_EXIT, M_FN_BOOT_EXIT, M_FN_NATIVE_EXIT, M_FN_POOL_RUNNING,
       M_FN_POOL_EXIT, M_FN_FAST_RUNNING, M_FN_FAST_EXIT, M_FN_FAST_CALLER, M_FN_PLAIN_CALLER, M_COUNT };
static const char *const names[M_COUNT] = {
	"sleeper: restore ukvm_create", "sleeper: restore-to-running", "sleeper: restore-to-exit",
	"sleeper: boot-to-running", "sleeper: boot-to-exit", "sleeper: fork+exec native",
	"hello fn: restore-to-running", "hello fn: restore-to-exit", "hello fn: boot-to-exit",
	"hello fn: fork+exec native", "hello fn: pooled, req-to-running", "hello fn: pooled, req-to-exit",
	"hello fn FAST: restore-to-running", "hello fn FAST: restore-to-exit", "hello fn FAST: +destroy",
	"hello fn: restore-to-exit+destroy",
};

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	int i = (int)(p * (n - 1) + 0.5);
	return v[i];
}

/* One VM from cfg, run to its end: times in ms from before ukvm_create. 0 or -1 with a message. */
/* Restore phases (ms, per run): KVM ready, state and devices loaded, first KVM_RUN, first exit. */
enum { P_KVM, P_LOADED, P_RUN, P_EXIT, P_COUNT };
static double *phases[2][P_COUNT];
static int nphase[2];
static const struct ukvm_config *phase_cfg[2]; /* the runs whose phases are kept: sleeper restores, FAST hello fn */

static double last_destroyed; /* ms from before ukvm_create to ukvm_destroy's return: the caller's whole path */

static int one_vm(const struct ukvm_config *cfg, int want_kind, double *create, double *running, double *exit_ms)
{
	struct ukvm_vm *vm;
	struct ukvm_result res = { .size = sizeof(res) };
	char err[512];
	double t0 = now_ms();
	if (ukvm_create(cfg, &vm, err, sizeof(err))) {
		fprintf(stderr, "snapbench: %s\n", err);
		return -1;
	}
	double t1 = now_ms();
	ukvm_run(vm, &res);
	double t2 = now_ms();
	ukvm_destroy(vm);
	last_destroyed = now_ms() - t0;
	if ((int)res.kind != want_kind || res.status != 0) {
		fprintf(stderr, "snapbench: %s: kind %d status %d: %s\n", cfg->restore ? cfg->restore : cfg->image,
			res.kind, res.status, res.msg);
		return -1;
	}
	/* Both clocks are CLOCK_MONOTONIC: the first exit against the ms taken before ukvm_create. */
	if (create)
		*create = t1 - t0;
	if (running)
		*running = (double)res.first_exit_ns / 1e6 - t0;
	for (int w = 0; w < 2; w++) {
		if (cfg != phase_cfg[w])
			continue;
		double c = (double)res.phase_ns[UKVM_PHASE_CREATE] / 1e6;
		int n = nphase[w]++;
		phases[w][P_KVM][n] = (double)res.phase_ns[UKVM_PHASE_KVM_READY] / 1e6 - c;
		phases[w][P_LOADED][n] = (double)(res.phase_ns[UKVM_PHASE_IMAGE_LOADED] -
						  res.phase_ns[UKVM_PHASE_KVM_READY]) / 1e6;
		phases[w][P_RUN][n] = (double)(res.phase_ns[UKVM_PHASE_FIRST_RUN] -
					       res.phase_ns[UKVM_PHASE_IMAGE_LOADED]) / 1e6;
		phases[w][P_EXIT][n] = (double)(res.first_exit_ns - res.phase_ns[UKVM_PHASE_FIRST_RUN]) / 1e6;
	}
	if (exit_ms)
		*exit_ms = t2 - t0;
	return 0;
}

/*
 * The hello function's latency distributions, for tools/bench/plots.sh: BUILD/bench/snap-MODE.dat, one row per
 * quantile, columns restore (FAST host), restore (plain host), boot, native process, each sorted (pct sorted them).
 */
static void write_samples(const char *build, const char *mode, double *const *m, int runs)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/bench/snap-%s.dat", build, mode);
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "snapbench: %s: %s\n", path, strerror(errno));
		return;
	}
	fprintf(f, "# quantile  restore-FAST  restore  boot  native  (ms, hello fn request to exit, %d runs)\n", runs);
	for (int i = 0; i < runs; i++)
		fprintf(f, "%.4f %.4f %.4f %.4f %.4f\n", (i + 0.5) / runs, m[M_FN_FAST_EXIT][i], m[M_FN_RESTORE_EXIT][i],
			m[M_FN_BOOT_EXIT][i], m[M_FN_NATIVE_EXIT][i]);
	fclose(f);
}

/* A pipe holding the request "world\n", its write end closed: the function's stdin. Returns the read end. */
static int request(void)
{
	int p[2];
	if (pipe(p) || write(p[1], "world\n", 6) != 6) {
		perror("snapbench: pipe");
		exit(1);
	}
	close(p[1]);
	return p[0];
}

/*
 * A VM restored ahead of its request, as a pool would hold it: the request
 * (written to the stdin pipe it already has) to its first exit and its exit.
 */
static int pooled(struct ukvm_config *cfg, double *running, double *exit_ms)
{
	int p[2];
	struct ukvm_vm *vm;
	struct ukvm_result res = { .size = sizeof(res) };
	char err[512];
	if (pipe(p)) {
		perror("snapbench: pipe");
		return -1;
	}
	cfg->console_in_fd = p[0];
	if (ukvm_create(cfg, &vm, err, sizeof(err))) {
		fprintf(stderr, "snapbench: %s\n", err);
		return -1;
	}
	double t0 = now_ms();
	if (write(p[1], "world\n", 6) != 6)
		return -1;
	close(p[1]);
	ukvm_run(vm, &res);
	double t1 = now_ms();
	ukvm_destroy(vm);
	close(p[0]);
	if (res.kind != UKVM_EXITED || res.status) {
		fprintf(stderr, "snapbench: pooled: %s\n", res.msg);
		return -1;
	}
	*running = (double)res.first_exit_ns / 1e6 - t0;
	*exit_ms = t1 - t0;
	return 0;
}

/* fork+exec of a native program to its exit, stdout to /dev/null, stdin in_fd (-1: inherited); ms. */
static double native(char *const *argv, int in_fd)
{
	double t0 = now_ms();
	pid_t p = fork();
	if (p == 0) {
		if (!freopen("/dev/null", "w", stdout) || (in_fd >= 0 && dup2(in_fd, 0) < 0))
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	int st;
	waitpid(p, &st, 0);
	double t = now_ms() - t0;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "snapbench: %s failed\n", argv[0]);
		exit(1);
	}
	return t;
}

int main(int argc, char **argv)
{
	const char *build = argc > 1 ? argv[1] : "build";
	int runs = argc > 2 ? atoi(argv[2]) : RUNS_DEFAULT;
	/* argv[3] "off": the CPL3 base mode (default: pvm-pv where the host has it). */
	enum ukvm_pv pv = argc > 3 && !strcmp(argv[3], "off") ? UKVM_PV_OFF : UKVM_PV_AUTO;
	char img[512], hello[512], nat[512], snap[] = "/tmp/ukvm-snapbench-XXXXXX";
	char err[512];
	snprintf(img, sizeof(img), "%s/apps/snapfn.img", build);
	snprintf(hello, sizeof(hello), "%s/apps/hello.img", build);
	snprintf(nat, sizeof(nat), "%s/apps/snapfn", build);
	int fd = mkstemp(snap);
	if (fd < 0 || runs < 1) {
		fprintf(stderr, "snapbench: mkstemp: %s\n", strerror(errno));
		return 1;
	}
	close(fd);
	/* A serverless host's setting: one ukvm_host, and an idle VM kept open (PLATFORM.md: KVM's static keys). */
	struct ukvm_host *host;
	if (ukvm_host_open(&host, err, sizeof(err))) {
		fprintf(stderr, "snapbench: %s\n", err);
		return 1;
	}
	static const char *const fn_args[] = { SLEEP_MS, NULL };
	/* The same host with the background levers (idle VM, pool of ready shells, reaper: ukvm.h UKVM_HOST_FAST). */
	struct ukvm_host *fast;
	if (ukvm_host_open_flags(&fast, UKVM_HOST_FAST, err, sizeof(err))) {
		fprintf(stderr, "snapbench: %s\n", err);
		return 1;
	}
	struct ukvm_config idle_cfg = { .size = sizeof(idle_cfg), .host = host, .image = hello, .console_fd = -1 };
	struct ukvm_vm *idle;
	if (ukvm_create(&idle_cfg, &idle, err, sizeof(err))) {
		fprintf(stderr, "snapbench: %s\n", err);
		return 1;
	}
	/* Both functions are snapshotted waiting for their request on stdin (a pipe nobody writes yet): the idle point. */
	int idle_in[2], null_in = open("/dev/null", O_RDONLY);
	if (pipe(idle_in) || null_in < 0) {
		perror("snapbench");
		return 1;
	}
	/* The sleeper: its thread sleeps SLEEP_MS beside the wait, where the snapshot lands. */
	struct ukvm_config snap_cfg = { .size = sizeof(snap_cfg), .host = host, .pv = pv, .image = img, .argv = fn_args,
					.console_fd = -1, .console_err_fd = -1, .console_in_fd = idle_in[0],
					.snapshot_when_idle = snap, .timeout_ms = 10000 };
	if (one_vm(&snap_cfg, UKVM_SNAPSHOTTED, NULL, NULL, NULL))
		return 1;
	struct ukvm_config rcfg = { .size = sizeof(rcfg), .host = host, .pv = pv, .restore = snap, .console_fd = -1,
				    .console_err_fd = -1, .timeout_ms = 10000 };
	struct ukvm_config bcfg = { .size = sizeof(bcfg), .host = host, .pv = pv, .image = img, .argv = fn_args,
				    .console_fd = -1, .console_err_fd = -1, .timeout_ms = 10000 };
	char *nargv[] = { nat, SLEEP_MS, NULL }, *fargv[] = { nat, "stdin", NULL };
	/* The hello function. */
	static const char *const fn_stdin[] = { "stdin", NULL };
	char fsnap[] = "/tmp/ukvm-snapbench-fn-XXXXXX";
	int ffd = mkstemp(fsnap);
	if (ffd < 0) {
		perror("snapbench");
		return 1;
	}
	close(ffd);
	struct ukvm_config fsnap_cfg = { .size = sizeof(fsnap_cfg), .host = host, .pv = pv, .image = img,
					 .argv = fn_stdin, .console_fd = -1, .console_err_fd = -1,
					 .console_in_fd = idle_in[0], .snapshot_when_idle = fsnap, .timeout_ms = 10000 };
	if (one_vm(&fsnap_cfg, UKVM_SNAPSHOTTED, NULL, NULL, NULL))
		return 1;
	close(idle_in[0]);
	close(idle_in[1]);
	struct ukvm_config frcfg = { .size = sizeof(frcfg), .host = host, .pv = pv, .restore = fsnap, .console_fd = -1,
				     .console_err_fd = -1, .timeout_ms = 10000 };
	struct ukvm_config ffcfg = frcfg;
	ffcfg.host = fast;
	struct ukvm_config fbcfg = { .size = sizeof(fbcfg), .host = host, .pv = pv, .image = img, .argv = fn_stdin,
				     .console_fd = -1, .console_err_fd = -1, .timeout_ms = 10000 };
	double *m[M_COUNT];
	for (int k = 0; k < M_COUNT; k++)
		m[k] = calloc((size_t)runs, sizeof(double));
	for (int w = 0; w < 2; w++)
		for (int k = 0; k < P_COUNT; k++)
			phases[w][k] = calloc((size_t)runs, sizeof(double));
	phase_cfg[0] = &rcfg;
	phase_cfg[1] = &ffcfg;
	for (int i = 0; i < runs; i++) {
		/* Alternating, so the machine's swings (other tenants, frequency) hit every kind alike. */
		if (one_vm(&rcfg, UKVM_EXITED, &m[M_RESTORE_CREATE][i], &m[M_RESTORE_RUNNING][i], &m[M_RESTORE_EXIT][i]) ||
		    one_vm(&bcfg, UKVM_EXITED, NULL, &m[M_BOOT_RUNNING][i], &m[M_BOOT_EXIT][i]))
			return 1;
		m[M_NATIVE_EXIT][i] = native(nargv, null_in); /* its request read to the end at once, as the VMs' */
		int in = request();
		frcfg.console_in_fd = in;
		if (one_vm(&frcfg, UKVM_EXITED, NULL, &m[M_FN_RESTORE_RUNNING][i], &m[M_FN_RESTORE_EXIT][i]))
			return 1;
		m[M_FN_PLAIN_CALLER][i] = last_destroyed;
		close(in);
		ffcfg.console_in_fd = in = request();
		if (one_vm(&ffcfg, UKVM_EXITED, NULL, &m[M_FN_FAST_RUNNING][i], &m[M_FN_FAST_EXIT][i]))
			return 1;
		m[M_FN_FAST_CALLER][i] = last_destroyed;
		close(in);
		fbcfg.console_in_fd = in = request();
		if (one_vm(&fbcfg, UKVM_EXITED, NULL, NULL, &m[M_FN_BOOT_EXIT][i]))
			return 1;
		close(in);
		in = request();
		m[M_FN_NATIVE_EXIT][i] = native(fargv, in);
		close(in);
		if (pooled(&frcfg, &m[M_FN_POOL_RUNNING][i], &m[M_FN_POOL_EXIT][i]))
			return 1;
	}
	printf("bench-snap (%s mode): %d runs each, alternating; one shared ukvm_host and one idle VM open.\n"
	       "hello fn (guest/apps/snapfn stdin): snapshotted waiting for its request on stdin; each run gets\n"
	       "\"world\" on a pipe, answers, exits. sleeper (snapfn %s): snapshotted waiting on stdin in its thread's\n"
	       "%s ms sleep, which it\n"
	       "still sleeps after a restore (its monotonic clock resumes where it stopped), as booted or native\n",
	       pv == UKVM_PV_OFF ? "base" : "default pv", runs, SLEEP_MS, SLEEP_MS);
	printf("%-30s %10s %10s %10s\n", "ms", "median", "p99", "min");
	double med[M_COUNT];
	for (int k = 0; k < M_COUNT; k++) {
		double p99 = pct(m[k], runs, 0.99);
		med[k] = pct(m[k], runs, 0.5);
		printf("%-30s %10.3f %10.3f %10.3f\n", names[k], med[k], p99, m[k][0]);
	}
	for (int w = 0; w < 2; w++)
		printf("restore-to-running, where it goes (medians, %s): VM+vCPU+memory mapped (KVM ready) %.3f, vCPU "
		       "state + pages copied %.3f, ukvm_run to KVM_RUN %.3f, guest back from its WAIT to its next exit "
		       "%.3f\n", w ? "hello fn, FAST host" : "sleeper, plain host",
		       pct(phases[w][P_KVM], nphase[w], 0.5), pct(phases[w][P_LOADED], nphase[w], 0.5),
		       pct(phases[w][P_RUN], nphase[w], 0.5), pct(phases[w][P_EXIT], nphase[w], 0.5));
	double s = atof(SLEEP_MS);
	printf("without the function's own %s ms sleep (median - %s): restore %.3f, boot %.3f, native %.3f\n", SLEEP_MS,
	       SLEEP_MS, med[M_RESTORE_EXIT] - s, med[M_BOOT_EXIT] - s, med[M_NATIVE_EXIT] - s);
	printf("ratios of those: restore/native %.2f, boot/native %.2f, boot/restore %.2f; "
	       "restore-to-running/boot-to-running %.2f\n",
	       (med[M_RESTORE_EXIT] - s) / (med[M_NATIVE_EXIT] - s), (med[M_BOOT_EXIT] - s) / (med[M_NATIVE_EXIT] - s),
	       (med[M_BOOT_EXIT] - s) / (med[M_RESTORE_EXIT] - s), med[M_RESTORE_RUNNING] / med[M_BOOT_RUNNING]);
	printf("hello fn ratios: restore-to-exit/native %.2f, boot/native %.2f, boot/restore %.2f\n",
	       med[M_FN_RESTORE_EXIT] / med[M_FN_NATIVE_EXIT], med[M_FN_BOOT_EXIT] / med[M_FN_NATIVE_EXIT],
	       med[M_FN_BOOT_EXIT] / med[M_FN_RESTORE_EXIT]);
	printf("hello fn on a UKVM_HOST_FAST host vs the plain host: restore-to-running %.2f, restore-to-exit %.2f, "
	       "with destroy %.2f; FAST restore-to-exit+destroy/native %.2f\n",
	       med[M_FN_FAST_RUNNING] / med[M_FN_RESTORE_RUNNING], med[M_FN_FAST_EXIT] / med[M_FN_RESTORE_EXIT],
	       med[M_FN_FAST_CALLER] / med[M_FN_PLAIN_CALLER], med[M_FN_FAST_CALLER] / med[M_FN_NATIVE_EXIT]);
	write_samples(build, pv == UKVM_PV_OFF ? "base" : "pv", m, runs);
	ukvm_destroy(idle);
	ukvm_host_close(host);
	ukvm_host_close(fast);
	unlink(snap);
	unlink(fsnap);
	return 0;
}
