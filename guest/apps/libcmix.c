/* libcmix.c: libc beyond files: floats through printf/strtod, qsort, setjmp/longjmp, time and strftime, atexit and exit status. */
#define _GNU_SOURCE
#include <math.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "t_check.h"

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void numbers(void)
{
	char buf[128];
	char *end;
	double d = strtod("3.14159265358979", &end);
	CHECK(*end == 0 && fabs(d - M_PI) < 1e-14);
	snprintf(buf, sizeof(buf), "%.3f %e %g %g %.0f", d, 12345.678, 1e-5, 0.5, 2.5e10);
	CHECK(strcmp(buf, "3.142 1.234568e+04 1e-05 0.5 25000000000") == 0);
	CHECK(strtod("1e400", NULL) == HUGE_VAL && errno == ERANGE);
	CHECK(strtol("0x7fffffffffffffff", NULL, 16) == INT64_MAX);
	errno = 0;
	CHECK(strtol("99999999999999999999", NULL, 10) == INT64_MAX && errno == ERANGE);
	CHECK(atoi("-42") == -42 && atof("2.5") == 2.5);
	CHECK(sqrt(2.0) > 1.41421356 && sqrt(2.0) < 1.41421357);
	CHECK(fabs(sin(M_PI / 6) - 0.5) < 1e-12 && fabs(exp(log(10.0)) - 10.0) < 1e-12);
	float f = 1.0f / 3.0f;
	snprintf(buf, sizeof(buf), "%.6f", f);
	CHECK(strcmp(buf, "0.333333") == 0);
	long double ld = 1.0L / 3.0L; /* x87: its registers must survive syscalls too */
	write(1, "", 0);
	snprintf(buf, sizeof(buf), "%.15Lf", ld);
	CHECK(strcmp(buf, "0.333333333333333") == 0);

	int v[1000];
	uint32_t s = 1;
	for (int i = 0; i < 1000; i++) {
		s = s * 1103515245u + 12345u;
		v[i] = (int)(s >> 8) - (1 << 22);
	}
	qsort(v, 1000, sizeof(int), cmp_int);
	int sorted = 1;
	for (int i = 1; i < 1000; i++)
		sorted &= v[i - 1] <= v[i];
	CHECK(sorted);
	const char *w[] = { "pear", "apple", "fig", "banana", "cherry" };
	qsort(w, 5, sizeof(w[0]), cmp_str);
	CHECK(!strcmp(w[0], "apple") && !strcmp(w[2], "cherry") && !strcmp(w[4], "pear"));
	int key = v[500];
	CHECK(bsearch(&key, v, 1000, sizeof(int), cmp_int) != NULL);
}

static jmp_buf jb;
static int depth_reached;
static volatile int dive_limit = 50;

static void dive(int n)
{
	volatile char pad[256];
	pad[0] = (char)n;
	if (n >= dive_limit) {
		depth_reached = n + pad[0] - n;
		longjmp(jb, 7);
	}
	if (n < 1000)
		dive(n + 1);
	pad[1] = 0;
}

static void jumps(void)
{
	volatile int local = 1;
	int r = setjmp(jb);
	if (r == 0) {
		local = 2;
		dive(0);
		CHECK(0); /* not reached */
	}
	CHECK(r == 7 && local == 2 && depth_reached == 50);
	sigjmp_buf sj;
	r = sigsetjmp(sj, 1); /* saves and restores the signal mask: rt_sigprocmask */
	if (r == 0)
		siglongjmp(sj, 3);
	CHECK(r == 3);
}

static void times(void)
{
	time_t t = time(NULL);
	CHECK(t > 1600000000); /* the host's clock, not the epoch */
	struct timeval tv;
	CHECK(gettimeofday(&tv, NULL) == 0 && tv.tv_sec - t <= 1 && tv.tv_usec >= 0 && tv.tv_usec < 1000000);
	struct tm tm;
	CHECK(localtime_r(&t, &tm) != NULL && tm.tm_year >= 120);
	char buf[64];
	CHECK(strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm) == 19);
	struct tm g;
	gmtime_r(&t, &g);
	CHECK(g.tm_hour == tm.tm_hour && g.tm_min == tm.tm_min); /* no zoneinfo: the guest is UTC */
	time_t t0 = 86400 * 365;
	CHECK(strftime(buf, sizeof(buf), "%Y-%m-%d %a", gmtime(&t0)) && strcmp(buf, "1971-01-01 Fri") == 0);
	CHECK(mktime(&tm) == t);
	struct timespec a, b;
	CHECK(clock_gettime(CLOCK_MONOTONIC, &a) == 0);
	usleep(2000);
	CHECK(clock_gettime(CLOCK_MONOTONIC, &b) == 0);
	long ns = (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec);
	CHECK(ns >= 2000000 && ns < 1000000000L);
	CHECK(clock() >= 0);
}

static void bye3(void) { printf("atexit 3\n"); }
static void bye2(void) { printf("atexit 2\n"); }
static void bye1(void) { printf("atexit 1 (last)\n"); fflush(stdout); }

int main(int argc, char **argv)
{
	numbers();
	jumps();
	times();
	CHECK(atexit(bye1) == 0 && atexit(bye2) == 0 && atexit(bye3) == 0);
	int rc = t_done("libcmix");
	/* exit() runs the handlers in reverse and flushes stdio; the status is the app's argument. */
	exit(rc ? rc : argc > 1 ? atoi(argv[1]) : 0);
}
