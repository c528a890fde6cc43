/* embedbench.c: make bench-embed: create+run+destroy hello.img in one process, alone vs on a shared ukvm_host, alternating. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ukvm.h"

#define RUNS_DEFAULT 200

enum { T_CREATE, T_RUN, T_DESTROY, T_TOTAL, T_COUNT };

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

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One VM on host (NULL: alone); phase times in t[]. 0, or -1 with a message on stderr. */
static int one_vm(struct ukvm_host *host, const char *img, double t[T_COUNT])
{
	struct ukvm_config cfg = { .size = sizeof(cfg), .host = host, .image = img, .console_fd = -1, .timeout_ms = 10000 };
	struct ukvm_vm *vm;
	struct ukvm_result res = { .size = sizeof(res) };
	char err[512];
	double t0 = now_ms();
	if (ukvm_create(&cfg, &vm, err, sizeof(err))) {
		fprintf(stderr, "embedbench: %s\n", err);
		return -1;
	}
	double t1 = now_ms();
	ukvm_run(vm, &res);
	double t2 = now_ms();
	ukvm_destroy(vm);
	double t3 = now_ms();
	if (res.kind != UKVM_EXITED || res.status != 0) {
		fprintf(stderr, "embedbench: %s: %s\n", img, res.msg);
		return -1;
	}
	t[T_CREATE] = t1 - t0, t[T_RUN] = t2 - t1, t[T_DESTROY] = t3 - t2, t[T_TOTAL] = t3 - t0;
	return 0;
}

int main(int argc, char **argv)
{
	const char *build = argc > 1 ? argv[1] : "build";
	int runs = argc > 2 ? atoi(argv[2]) : RUNS_DEFAULT;
	static const char *const names[T_COUNT] = { "create", "run", "destroy", "total" };
	char img[512], err[512];
	struct ukvm_host *host;

	if (runs < 1 || runs > 100000) {
		fprintf(stderr, "usage: embedbench [BUILD_DIR] [RUNS 1..100000]\n");
		return 2;
	}
	snprintf(img, sizeof(img), "%s/apps/hello.img", build);
	double *v[2][T_COUNT];
	for (int m = 0; m < 2; m++)
		for (int k = 0; k < T_COUNT; k++)
			if (!(v[m][k] = calloc((size_t)runs, sizeof(double))))
				return 1;
	double t0 = now_ms();
	if (ukvm_host_open(&host, err, sizeof(err))) {
		fprintf(stderr, "embedbench: %s\n", err);
		return 1;
	}
	double open_ms = now_ms() - t0;

	/* Warm-up (page cache, libc, the kick handler), then alternate so load changes hit both alike. */
	double t[T_COUNT];
	if (one_vm(NULL, img, t) || one_vm(host, img, t))
		return 1;
	for (int i = 0; i < runs; i++) {
		for (int m = 0; m < 2; m++) {
			int mode = (i + m) % 2; /* alternate which goes first, too */
			if (one_vm(mode ? host : NULL, img, t))
				return 1;
			for (int k = 0; k < T_COUNT; k++)
				v[mode][k][i] = t[k];
		}
	}
	ukvm_host_close(host);

	printf("bench-embed: %s, %d VMs each way in one process (median ms per VM)\n", img, runs);
	printf("  ukvm_host_open once: %.3f ms\n", open_ms);
	printf("  %-8s %10s %10s %8s\n", "phase", "alone", "on host", "ratio");
	for (int k = 0; k < T_COUNT; k++) {
		double a = median(v[0][k], runs), h = median(v[1][k], runs);
		printf("  %-8s %10.3f %10.3f %8.3f\n", names[k], a, h, a > 0 ? h / a : 0.0);
	}
	for (int m = 0; m < 2; m++)
		for (int k = 0; k < T_COUNT; k++)
			free(v[m][k]);
	return 0;
}
