/*
 * embedbench.c: make bench-embed: create+run+destroy hello.img in one process, alone vs on a shared ukvm_host vs on a
 * host with the background levers (UKVM_HOST_FAST), alternating in short blocks; caller-path medians and CPU per VM.
 * With "seccomp": every VM with its seccomp filters, each on a thread of its own (the vCPU filter stays on the
 * thread that ran it, as in ukvm-serve), the thread's start and join counted in run.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "ukvm.h"

#define RUNS_DEFAULT 200
/* VMs per block: the modes alternate block by block; CPU is counted over a block and its background work. */
#define BLOCK 10

/* T_KVM, T_LOAD: the parts of create (ukvm_result phases): VM+vCPU+RAM ready; image, tables, vCPU state, FDT. */
enum { T_CREATE, T_KVM, T_LOAD, T_RUN, T_DESTROY, T_TOTAL, T_COUNT };
enum { M_ALONE, M_HOST, M_FAST, M_COUNT };

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* User + system CPU of the whole process (every thread, libukvm's own included), ms. */
static double cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
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

static bool with_seccomp;

struct run_arg {
	struct ukvm_vm *vm;
	struct ukvm_result res;
};

static void *run_thread(void *arg)
{
	struct run_arg *a = arg;
	ukvm_run(a->vm, &a->res);
	return NULL;
}

/* ukvm_run, on a thread of its own with seccomp (the filter stays there). */
static void run_vm(struct ukvm_vm *vm, struct ukvm_result *res)
{
	if (!with_seccomp) {
		ukvm_run(vm, res);
		return;
	}
	struct run_arg a = { vm, *res };
	pthread_t th;
	if (pthread_create(&th, NULL, run_thread, &a)) {
		snprintf(res->msg, sizeof(res->msg), "pthread_create failed");
		return;
	}
	pthread_join(th, NULL);
	*res = a.res;
}

/* One VM on host (NULL: alone); phase times in t[]. 0, or -1 with a message on stderr. */
static int one_vm(struct ukvm_host *host, const char *img, double t[T_COUNT])
{
	struct ukvm_config cfg = { .size = sizeof(cfg), .host = host, .image = img, .console_fd = -1, .timeout_ms = 10000,
				   .seccomp = with_seccomp };
	struct ukvm_vm *vm;
	struct ukvm_result res = { .size = sizeof(res) };
	char err[512];
	double t0 = now_ms();
	if (ukvm_create(&cfg, &vm, err, sizeof(err))) {
		fprintf(stderr, "embedbench: %s\n", err);
		return -1;
	}
	double t1 = now_ms();
	run_vm(vm, &res);
	double t2 = now_ms();
	ukvm_destroy(vm);
	double t3 = now_ms();
	if (res.kind != UKVM_EXITED || res.status != 0) {
		fprintf(stderr, "embedbench: %s: %s\n", img, res.msg);
		return -1;
	}
	t[T_KVM] = (double)(res.phase_ns[UKVM_PHASE_KVM_READY] - res.phase_ns[UKVM_PHASE_CREATE]) / 1e6;
	t[T_LOAD] = (double)(res.phase_ns[UKVM_PHASE_IMAGE_LOADED] - res.phase_ns[UKVM_PHASE_KVM_READY]) / 1e6;
	t[T_CREATE] = t1 - t0, t[T_RUN] = t2 - t1, t[T_DESTROY] = t3 - t2, t[T_TOTAL] = t3 - t0;
	return 0;
}

int main(int argc, char **argv)
{
	const char *build = argc > 1 ? argv[1] : "build";
	int runs = argc > 2 ? atoi(argv[2]) : RUNS_DEFAULT;
	with_seccomp = argc > 3 && !strcmp(argv[3], "seccomp");
	static const char *const names[T_COUNT] = { "create", "  VM+vCPU+RAM", "  image+state", "run", "destroy", "total" };
	char img[512], err[512];
	struct ukvm_host *hosts[M_COUNT] = { NULL };

	if (runs < BLOCK || runs > 100000) {
		fprintf(stderr, "usage: embedbench [BUILD_DIR] [RUNS %d..100000] [seccomp]\n", BLOCK);
		return 2;
	}
	runs -= runs % BLOCK;
	int nblocks = runs / BLOCK;
	snprintf(img, sizeof(img), "%s/apps/hello.img", build);
	double *v[M_COUNT][T_COUNT], *cpu[M_COUNT];
	for (int m = 0; m < M_COUNT; m++) {
		for (int k = 0; k < T_COUNT; k++)
			if (!(v[m][k] = calloc((size_t)runs, sizeof(double))))
				return 1;
		if (!(cpu[m] = calloc((size_t)nblocks, sizeof(double))))
			return 1;
	}
	double t0 = now_ms();
	if (ukvm_host_open(&hosts[M_HOST], err, sizeof(err))) {
		fprintf(stderr, "embedbench: %s\n", err);
		return 1;
	}
	double open_ms = now_ms() - t0;
	t0 = now_ms();
	if (ukvm_host_open_flags(&hosts[M_FAST], UKVM_HOST_FAST, err, sizeof(err))) {
		fprintf(stderr, "embedbench: %s\n", err);
		return 1;
	}
	double open_fast_ms = now_ms() - t0;
	ukvm_host_quiesce(hosts[M_FAST]);

	/*
	 * Warm-up (page cache, libc, the kick handler), then blocks of each mode in turn, the order rotating, so load
	 * changes hit all alike. The fast host's idle VM and pool stay open throughout, as a serverless host's would:
	 * its idle VM also keeps KVM's static keys on for the other two modes (PLATFORM.md), which the "alone" and
	 * "on host" columns then show at their best.
	 */
	double t[T_COUNT];
	for (int m = 0; m < M_COUNT; m++)
		if (one_vm(hosts[m], img, t))
			return 1;
	for (int b = 0; b < nblocks; b++) {
		for (int j = 0; j < M_COUNT; j++) {
			int mode = (b + j) % M_COUNT;
			ukvm_host_quiesce(hosts[M_FAST]);
			double c0 = cpu_ms();
			for (int i = b * BLOCK; i < (b + 1) * BLOCK; i++) {
				if (one_vm(hosts[mode], img, t))
					return 1;
				for (int k = 0; k < T_COUNT; k++)
					v[mode][k][i] = t[k];
			}
			ukvm_host_quiesce(hosts[M_FAST]); /* the background work this block caused is counted in it */
			cpu[mode][b] = (cpu_ms() - c0) / BLOCK;
		}
	}
	ukvm_host_close(hosts[M_HOST]);
	ukvm_host_close(hosts[M_FAST]);

	printf("bench-embed: %s, %d VMs each way in one process, alternating in blocks of %d (median ms per VM)%s\n", img,
	       runs, BLOCK, with_seccomp ? ",\n  seccomp on, each run on a thread of its own (its start and join in run)" : "");
	printf("  ukvm_host_open once: %.3f ms; with UKVM_HOST_FAST (idle VM, pool of ready shells, reaper): %.3f ms\n",
	       open_ms, open_fast_ms);
	printf("  %-22s %10s %10s %10s %10s\n", "caller's path", "alone", "on host", "host FAST", "FAST/host");
	for (int k = 0; k < T_COUNT; k++) {
		double a = median(v[M_ALONE][k], runs), h = median(v[M_HOST][k], runs), f = median(v[M_FAST][k], runs);
		printf("  %-22s %10.3f %10.3f %10.3f %10.3f\n", names[k], a, h, f, h > 0 ? f / h : 0.0);
	}
	double ca = median(cpu[M_ALONE], nblocks), ch = median(cpu[M_HOST], nblocks), cf = median(cpu[M_FAST], nblocks);
	printf("  %-22s %10.3f %10.3f %10.3f %10.3f\n", "CPU per VM (all thr.)", ca, ch, cf, ch > 0 ? cf / ch : 0.0);
	printf("  (CPU per VM: user+system of the whole process over each block of %d and the background work it\n"
	       "  caused, median of %d blocks; on this 2-core host a background thread's CPU competes with the caller)\n",
	       BLOCK, nblocks);
	for (int m = 0; m < M_COUNT; m++) {
		for (int k = 0; k < T_COUNT; k++)
			free(v[m][k]);
		free(cpu[m]);
	}
	return 0;
}
