/*
 * preemptbench.c: make bench-preempt: the cost of time slices. Two threads each spin a fixed amount of
 * work (guest/apps/preempt.c "work": no syscall), natively and in ukvm in pvm-pv mode (preempted every
 * 10 ms slice: timer interrupts) and in base mode (cooperative: one thread after the other, no
 * interrupt), alternating; all on one CPU (this bench pins itself: natively the two threads would
 * otherwise run on two cores, the VM has one vCPU). The app times its own work (boot not included).
 * Prints the medians, the ratios and the interrupts one pv run took.
 */
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define RUNS 7
#define WORK "500" /* million iterations per thread: ~0.2-0.5 s each */

extern char **environ;

/* Runs argv, stdout and stderr into files; the app's "work ns" (ms), -1 unless status 0. *irqs: from --stats, or -1. */
static double run_once(char *const argv[], const char *out, const char *err, long *irqs)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st = -1;
	char line[512];
	double ms = -1;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	FILE *f = fopen(out, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "work ns ", 8))
			ms = strtod(line + 8, NULL) / 1e6;
	if (f)
		fclose(f);
	*irqs = -1;
	f = fopen(err, "r");
	while (f && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, " interrupts\n");
		if (strstr(line, "ukvm-run: KVM: ") && p) {
			while (p > line && p[-1] != ' ')
				p--;
			*irqs = strtol(p, NULL, 10);
		}
	}
	if (f)
		fclose(f);
	return ms;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v)
{
	qsort(v, RUNS, sizeof(v[0]), cmp_double);
	return v[RUNS / 2];
}

int main(int argc, char **argv)
{
	const char *build = argc > 1 ? argv[1] : "build";
	char native[4096], run[4096], img[4096], out[] = "/tmp/ukvm-preemptbench-XXXXXX", err[64];
	snprintf(native, sizeof(native), "%s/apps/preempt", build);
	snprintf(run, sizeof(run), "%s/ukvm-run", build);
	snprintf(img, sizeof(img), "%s/apps/preempt.img", build);
	int fd = mkstemp(out);
	if (fd < 0)
		return perror("mkstemp"), 1;
	close(fd);
	snprintf(err, sizeof(err), "%s.err", out);

	/* One CPU for everything: the CPU this bench started on. */
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		perror("sched_setaffinity");

	char *nat_argv[] = { native, "work", WORK, NULL };
	char *pv_argv[] = { run, "--pv", "auto", "--stats", img, "work", WORK, NULL };
	char *base_argv[] = { run, "--pv", "off", "--stats", img, "work", WORK, NULL };
	double nv[RUNS], pv[RUNS], bv[RUNS], irq[RUNS];
	long irqs = -1, b_irqs = -1, n_irqs;
	bool pvm = false;
	int rc = 0;
	for (int i = 0; i < RUNS; i++) {
		nv[i] = run_once(nat_argv, out, err, &n_irqs);
		pv[i] = run_once(pv_argv, out, err, &irqs);
		irq[i] = (double)irqs;
		FILE *f = fopen(err, "r");
		char line[256];
		while (f && fgets(line, sizeof(line), f))
			pvm |= strstr(line, "ukvm-run: pv mode") != NULL;
		if (f)
			fclose(f);
		bv[i] = run_once(base_argv, out, err, &b_irqs);
		if (nv[i] < 0 || pv[i] < 0 || bv[i] < 0) {
			fprintf(stderr, "bench-preempt: a run failed (native %.1f, pv %.1f, base %.1f ms)\n", nv[i], pv[i],
				bv[i]);
			rc = 1;
			goto out;
		}
	}
	double n = median(nv), p = median(pv), b = median(bv), ir = median(irq);
	printf("bench-preempt: 2 threads x %s M spin iterations, no syscall, one CPU, median of %d runs\n", WORK, RUNS);
	printf("  native          %8.1f ms\n", n);
	printf("  ukvm %-10s %8.1f ms  %.0f interrupts (%.0f per s)  ratio to native %.3fx\n",
	       pvm ? "pvm-pv" : "auto=base", p, ir, ir / (p / 1e3), p / n);
	printf("  ukvm base       %8.1f ms  %ld interrupts (cooperative: one thread after the other)  ratio %.3fx\n", b,
	       b_irqs, b / n);
	printf("  pv / base       %8.3fx  (the time slices' cost)\n", p / b);
out:
	unlink(out);
	unlink(err);
	return rc;
}
