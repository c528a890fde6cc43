/* clock.c: checks that both clocks advance and that nanosleep(argv[1] ms, default 100) sleeps at least that long. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long long ns(clockid_t c)
{
	struct timespec t;

	if (clock_gettime(c, &t) != 0) {
		perror("clock_gettime");
		exit(1);
	}
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv)
{
	long ms = argc > 1 ? atol(argv[1]) : 100;
	struct timespec req = {ms / 1000, (ms % 1000) * 1000000L};
	long long m0, m1, r0, r1;
	time_t now;
	struct tm tm;

	m0 = ns(CLOCK_MONOTONIC);
	r0 = ns(CLOCK_REALTIME);
	if (nanosleep(&req, NULL) != 0) {
		perror("nanosleep");
		return 1;
	}
	m1 = ns(CLOCK_MONOTONIC);
	r1 = ns(CLOCK_REALTIME);
	printf("slept %lld ms\n", (m1 - m0) / 1000000);
	if (m1 <= m0 || r1 <= r0) {
		fprintf(stderr, "clock: a clock did not advance\n");
		return 1;
	}
	if (m1 - m0 < ms * 1000000LL) {
		fprintf(stderr, "clock: slept %lld ns, asked %ld ms\n", m1 - m0, ms);
		return 1;
	}
	now = (time_t)(r1 / 1000000000LL);
	gmtime_r(&now, &tm);
	if (tm.tm_year + 1900 < 2024) {
		fprintf(stderr, "clock: realtime year %d < 2024\n", tm.tm_year + 1900);
		return 1;
	}
	return 0;
}
