/*
 * snapbench.c: make bench-snap: a hello function restored from a snapshot vs booted vs run as a native process
 * (fork+exec), alternating, in one libukvm process on a shared ukvm_host; medians, p99, ratios.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ukvm.h"

#define RUNS_DEFAULT 100
/* The function idles in a sleep this long: just past UKVM_WAIT_IDLE_MIN_NS (50 ms), where the snapshot is taken. */
#define SLEEP_MS "51"

enum { M_RESTORE_CREATE, M_RESTORE_RUNNING, M_RESTORE_EXIT, M_BOOT_RUNNING, M_BOOT_EXIT, M_NATIVE_EXIT,
       M_HELLO_BOOT, M_HELLO_NATIVE, M_COUNT };
static const char *const names[M_COUNT] = {
	"restore: ukvm_create", "restore-to-running", "restore-to-exit", "boot-to-running (first exit)",
	"boot-to-exit", "fork+exec native to exit", "hello.img boot-to-exit", "hello fork+exec native",
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
static double *phases[P_COUNT];
static int nphase;

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
	if (cfg->restore && phases[0]) {
		double c = (double)res.phase_ns[UKVM_PHASE_CREATE] / 1e6;
		phases[P_KVM][nphase] = (double)res.phase_ns[UKVM_PHASE_KVM_READY] / 1e6 - c;
		phases[P_LOADED][nphase] = (double)(res.phase_ns[UKVM_PHASE_IMAGE_LOADED] -
						    res.phase_ns[UKVM_PHASE_KVM_READY]) / 1e6;
		phases[P_RUN][nphase] = (double)(res.phase_ns[UKVM_PHASE_FIRST_RUN] -
						 res.phase_ns[UKVM_PHASE_IMAGE_LOADED]) / 1e6;
		phases[P_EXIT][nphase] = (double)(res.first_exit_ns - res.phase_ns[UKVM_PHASE_FIRST_RUN]) / 1e6;
		nphase++;
	}
	if (exit_ms)
		*exit_ms = t2 - t0;
	return 0;
}

/* fork+exec of a native program to its exit, stdout to /dev/null; ms. */
static double native(char *const *argv)
{
	double t0 = now_ms();
	pid_t p = fork();
	if (p == 0) {
		if (!freopen("/dev/null", "w", stdout))
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
	char img[512], hello[512], nat[512], nhello[512], snap[] = "/tmp/ukvm-snapbench-XXXXXX";
	char err[512];
	snprintf(img, sizeof(img), "%s/apps/snapfn.img", build);
	snprintf(hello, sizeof(hello), "%s/apps/hello.img", build);
	snprintf(nat, sizeof(nat), "%s/apps/snapfn", build);
	snprintf(nhello, sizeof(nhello), "%s/apps/hello", build);
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
	struct ukvm_config idle_cfg = { .size = sizeof(idle_cfg), .host = host, .image = hello, .console_fd = -1 };
	struct ukvm_vm *idle;
	if (ukvm_create(&idle_cfg, &idle, err, sizeof(err))) {
		fprintf(stderr, "snapbench: %s\n", err);
		return 1;
	}
	struct ukvm_config snap_cfg = { .size = sizeof(snap_cfg), .host = host, .pv = pv, .image = img, .argv = fn_args,
					.console_fd = -1, .console_err_fd = -1, .snapshot_when_idle = snap,
					.timeout_ms = 10000 };
	if (one_vm(&snap_cfg, UKVM_SNAPSHOTTED, NULL, NULL, NULL))
		return 1;
	struct ukvm_config rcfg = { .size = sizeof(rcfg), .host = host, .pv = pv, .restore = snap, .console_fd = -1,
				    .console_err_fd = -1, .timeout_ms = 10000 };
	struct ukvm_config bcfg = { .size = sizeof(bcfg), .host = host, .pv = pv, .image = img, .argv = fn_args,
				    .console_fd = -1, .console_err_fd = -1, .timeout_ms = 10000 };
	struct ukvm_config hcfg = { .size = sizeof(hcfg), .host = host, .pv = pv, .image = hello, .console_fd = -1,
				    .timeout_ms = 10000 };
	char *nargv[] = { nat, SLEEP_MS, NULL }, *hargv[] = { nhello, NULL };
	double *m[M_COUNT];
	for (int k = 0; k < M_COUNT; k++)
		m[k] = calloc((size_t)runs, sizeof(double));
	for (int k = 0; k < P_COUNT; k++)
		phases[k] = calloc((size_t)runs, sizeof(double));
	for (int i = 0; i < runs; i++) {
		/* Alternating, so the machine's swings (other tenants, frequency) hit every kind alike. */
		if (one_vm(&rcfg, UKVM_EXITED, &m[M_RESTORE_CREATE][i], &m[M_RESTORE_RUNNING][i], &m[M_RESTORE_EXIT][i]) ||
		    one_vm(&bcfg, UKVM_EXITED, NULL, &m[M_BOOT_RUNNING][i], &m[M_BOOT_EXIT][i]) ||
		    one_vm(&hcfg, UKVM_EXITED, NULL, NULL, &m[M_HELLO_BOOT][i]))
			return 1;
		m[M_NATIVE_EXIT][i] = native(nargv);
		m[M_HELLO_NATIVE][i] = native(hargv);
	}
	printf("bench-snap (%s mode): %d runs each, alternating; one shared ukvm_host and one idle VM open; the function\n"
	       "(guest/apps/snapfn %s) idles in a %s ms sleep, where the snapshot is taken, and still sleeps it\n"
	       "after a restore (its monotonic clock resumes where it stopped), as it does booted or native\n",
	       pv == UKVM_PV_OFF ? "base" : "default pv", runs, SLEEP_MS, SLEEP_MS);
	printf("%-32s %10s %10s %10s\n", "ms", "median", "p99", "min");
	double med[M_COUNT];
	for (int k = 0; k < M_COUNT; k++) {
		double p99 = pct(m[k], runs, 0.99);
		med[k] = pct(m[k], runs, 0.5);
		printf("%-32s %10.3f %10.3f %10.3f\n", names[k], med[k], p99, m[k][0]);
	}
	printf("restore-to-running, where it goes (medians): VM+vCPU+memory mapped (KVM ready) %.3f, vCPU state + "
	       "pages copied %.3f, ukvm_run to KVM_RUN %.3f, guest back from its WAIT to its next exit %.3f\n",
	       pct(phases[P_KVM], nphase, 0.5), pct(phases[P_LOADED], nphase, 0.5), pct(phases[P_RUN], nphase, 0.5),
	       pct(phases[P_EXIT], nphase, 0.5));
	double s = atof(SLEEP_MS);
	printf("without the function's own %s ms sleep (median - %s): restore %.3f, boot %.3f, native %.3f\n", SLEEP_MS,
	       SLEEP_MS, med[M_RESTORE_EXIT] - s, med[M_BOOT_EXIT] - s, med[M_NATIVE_EXIT] - s);
	printf("ratios of those: restore/native %.2f, boot/native %.2f, boot/restore %.2f; "
	       "restore-to-running/boot-to-running %.2f\n",
	       (med[M_RESTORE_EXIT] - s) / (med[M_NATIVE_EXIT] - s), (med[M_BOOT_EXIT] - s) / (med[M_NATIVE_EXIT] - s),
	       (med[M_BOOT_EXIT] - s) / (med[M_RESTORE_EXIT] - s), med[M_RESTORE_RUNNING] / med[M_BOOT_RUNNING]);
	ukvm_destroy(idle);
	ukvm_host_close(host);
	unlink(snap);
	return 0;
}
