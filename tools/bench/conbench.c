/*
 * conbench.c: make bench-console: 200,000 lines printed to a file by conio
 * ("lines", one printf per line, as seq does) natively and in ukvm-run,
 * alternating, in both CPU modes (--pv off, --pv auto); median wall times,
 * their ratio and the console exits it took.
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RUNS 7
#define LINES "200000"

extern char **environ;

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Runs argv with stdout truncated into out, stderr into err (NULL: /dev/null); wall ms, or -1 unless status 0. */
static double run_once(char *const argv[], const char *out, const char *err)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st = -1;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, err ? err : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	double t0 = now_ms();
	int r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	double t1 = now_ms();
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? t1 - t0 : -1;
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

static long file_size(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

/* One CPU mode (--pv off: base mode; auto: pvm-pv where the host has it): native and ukvm alternating. */
static int bench_mode(const char *build, const char *pv, const char *out, const char *err)
{
	char native[4096], run[4096], img[4096];
	snprintf(native, sizeof(native), "%s/apps/conio", build);
	snprintf(run, sizeof(run), "%s/ukvm-run", build);
	snprintf(img, sizeof(img), "%s/apps/conio.img", build);
	char *nat_argv[] = { native, "lines", LINES, NULL };
	char *vm_argv[] = { run, "--pv", (char *)pv, img, "lines", LINES, NULL };
	char *stats_argv[] = { run, "--pv", (char *)pv, "--stats", img, "lines", LINES, NULL };
	/* Alternating, so both sides see the same load (these machines are shared). */
	double nv[RUNS], uv[RUNS], n = 0, u = 0;
	long nsize = -1, usize = -1;
	for (int i = 0; i < RUNS && n >= 0 && u >= 0; i++) {
		n = nv[i] = run_once(nat_argv, out, NULL);
		nsize = file_size(out);
		u = uv[i] = run_once(vm_argv, out, NULL);
		usize = file_size(out);
	}
	if (n >= 0 && u >= 0)
		n = median(nv), u = median(uv);
	if (n < 0 || u < 0 || nsize != usize || nsize <= 0) {
		fprintf(stderr, "bench-console: --pv %s: a run failed (native %.1f ms %ld bytes, ukvm %.1f ms %ld bytes)\n",
			pv, n, nsize, u, usize);
		return 1;
	}
	/* One more run for the exit counts and the mode (--stats prints them on stderr). */
	char line[512], exits[512] = "?\n", mode[512] = "?\n";
	if (run_once(stats_argv, out, err) >= 0) {
		FILE *f = fopen(err, "r");
		while (f && fgets(line, sizeof(line), f)) {
			if (strstr(line, " exits:"))
				snprintf(exits, sizeof(exits), "%s", line);
			if (strstr(line, " mode ("))
				snprintf(mode, sizeof(mode), "%s", line);
		}
		if (f)
			fclose(f);
	}
	printf("bench-console --pv %s: %s lines to a file (%ld bytes), median of %d runs; %s", pv, LINES, nsize,
	       RUNS, mode);
	printf("  native  %8.1f ms\n", n);
	printf("  ukvm    %8.1f ms  (whole process: boot included)\n", u);
	printf("  ratio   %8.2fx (aim: within 3x)\n", u / n);
	printf("  %s", exits);
	return 0;
}

int main(int argc, char **argv)
{
	const char *build = argc > 1 ? argv[1] : "build";
	char out[] = "/tmp/ukvm-conbench-XXXXXX", err[64];
	int fd = mkstemp(out);
	if (fd < 0)
		return perror("mkstemp"), 1;
	close(fd);
	snprintf(err, sizeof(err), "%s.err", out);
	int rc = bench_mode(build, "off", out, err);
	rc |= bench_mode(build, "auto", out, err);
	unlink(out);
	unlink(err);
	return rc;
}
