/*
 * preempt.c: threads that run without syscalls (tests/integration/check_preempt.c runs it natively and in
 * ukvm). In pvm-pv mode the guest kernel preempts a thread whose time slice is over; base mode is
 * cooperative (a spinning thread keeps the CPU), so the suite runs "flag" and "cancel" in PV mode only.
 *   flag [MS] the main thread spins, with no syscall, on a flag another thread sets after sleeping 50 ms
 *            (MS: that long, and "flag: spinning" said first: check_preempt snapshots it there)
 *   cancel   asynchronous pthread_cancel of a thread spinning with no syscall
 *   alarm    one thread spins, with no syscall, until its SIGALRM handler (setitimer, 50 ms) sets a flag
 *   sse      two threads spin with live SSE registers: a switch in the middle keeps each one's values
 *   avx      the same with the upper halves of YMM registers, where the CPU and OS offer AVX (in pvm-pv
 *            mode the app sees the host's CPUID and XCR0, as glibc's AVX2 string functions do)
 *   solo     one thread spins a fixed amount of work (it must take no timer interrupt)
 *   sleepers a thread sleeps 20 x 10 ms while the first waits in pthread_join (no interrupt either)
 *   work N   two threads each spin N million iterations (bench-preempt's fixed amount of work)
 *   snap     "flag" twice around a 200 ms poll of stdin, where ukvm-run --snapshot-when-idle takes the VM: the
 *            restored VM (a fresh vCPU and APIC) preempts too
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "t_check.h"

static atomic_int flag;
static useconds_t setter_us = 50000;

static void *setter(void *arg)
{
	(void)arg;
	usleep(setter_us);
	atomic_store(&flag, 1);
	return NULL;
}

/* No syscall in the loop: only a time slice ends it before the flag is set. */
static void flag_round(void)
{
	pthread_t t;
	unsigned long spins = 0;

	atomic_store(&flag, 0);
	CHECK(pthread_create(&t, NULL, setter, NULL) == 0);
	if (setter_us != 50000)
		printf("flag: spinning\n");
	while (!atomic_load_explicit(&flag, memory_order_relaxed))
		spins++;
	CHECK(pthread_join(t, NULL) == 0);
	CHECK(spins > 0);
}

static int t_flag(void)
{
	flag_round();
	return t_done("flag");
}

static volatile sig_atomic_t rang;

static void on_alarm(int sig)
{
	(void)sig;
	rang = 1;
}

static int t_alarm(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { .it_value = { .tv_usec = 50000 } };
	unsigned long spins = 0;

	CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
	while (!rang)
		spins++;
	CHECK(spins > 0);
	return t_done("alarm");
}

static int t_snap(void)
{
	flag_round();
	printf("round 1\n");
	fflush(stdout);
	/* The idle point: waiting on stdin (open and empty in the snapshot run) for 200 ms. */
	struct pollfd p = { .fd = 0, .events = POLLIN };
	CHECK(poll(&p, 1, 200) >= 0);
	flag_round();
	printf("round 2\n");
	return t_done("snap");
}

static atomic_int started;

static void *spinner(void *arg)
{
	(void)arg;
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
	atomic_store(&started, 1);
	for (;;)
		__asm__ volatile("" ::: "memory");
	return NULL;
}

static int t_cancel(void)
{
	pthread_t t;
	void *res = NULL;

	CHECK(pthread_create(&t, NULL, spinner, NULL) == 0);
	while (!atomic_load(&started))
		usleep(1000);
	usleep(20000);
	CHECK(pthread_cancel(t) == 0);
	CHECK(pthread_join(t, &res) == 0);
	CHECK(res == PTHREAD_CANCELED);
	return t_done("cancel");
}

/* Each thread keeps its own pattern in xmm8-xmm15 across a spin long enough for several slices. */
static void *sse_spin(void *arg)
{
	uint64_t seed = (uint64_t)(uintptr_t)arg, bad = 0;

	for (int round = 0; round < 40; round++) {
		uint64_t want = seed * 0x9e3779b97f4a7c15ull + (uint64_t)round, got[2];
		__asm__ volatile("movq %0, %%xmm8\n\tpshufd $0x44, %%xmm8, %%xmm8\n\tmovdqa %%xmm8, %%xmm15" : : "r"(want)
				 : "xmm8", "xmm15");
		for (volatile unsigned long i = 0; i < 2000000; i++)
			;
		__asm__ volatile("movdqu %%xmm15, %0" : "=m"(got) : : "xmm15");
		bad += got[0] != want || got[1] != want;
	}
	return (void *)(uintptr_t)bad;
}

static int t_sse(void)
{
	pthread_t a, b;
	void *ra, *rb;

	CHECK(pthread_create(&a, NULL, sse_spin, (void *)1) == 0);
	CHECK(pthread_create(&b, NULL, sse_spin, (void *)2) == 0);
	CHECK(pthread_join(a, &ra) == 0);
	CHECK(pthread_join(b, &rb) == 0);
	CHECK(ra == NULL);
	CHECK(rb == NULL);
	return t_done("sse");
}

/* AVX usable: CPUID.1:ECX OSXSAVE and AVX, and XCR0 enables SSE and AVX state. */
static int avx_usable(void)
{
	unsigned a, b, c, d, lo, hi;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	if (!(c & (1u << 27)) || !(c & (1u << 28)))
		return 0;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (lo & 6) == 6;
}

/* Each thread keeps its own pattern in the upper half of ymm15 across a spin long enough for several slices. */
static void *avx_spin(void *arg)
{
	uint64_t seed = (uint64_t)(uintptr_t)arg, bad = 0;

	for (int round = 0; round < 40; round++) {
		uint64_t want = seed * 0x9e3779b97f4a7c15ull + (uint64_t)round, got[2];
		__asm__ volatile("movq %0, %%xmm14\n\tpshufd $0x44, %%xmm14, %%xmm14\n\t"
				 "vinsertf128 $1, %%xmm14, %%ymm15, %%ymm15" : : "r"(want) : "xmm14", "xmm15");
		for (volatile unsigned long i = 0; i < 2000000; i++)
			;
		__asm__ volatile("vextractf128 $1, %%ymm15, %%xmm14\n\tmovdqu %%xmm14, %0" : "=m"(got) : : "xmm14");
		bad += got[0] != want || got[1] != want;
	}
	__asm__ volatile("vzeroupper");
	return (void *)(uintptr_t)bad;
}

static int t_avx(void)
{
	pthread_t a, b;
	void *ra, *rb;

	if (!avx_usable()) {
		fprintf(stderr, "avx: not offered here (CPUID/XCR0): nothing to check\n");
		return t_done("avx");
	}
	CHECK(pthread_create(&a, NULL, avx_spin, (void *)1) == 0);
	CHECK(pthread_create(&b, NULL, avx_spin, (void *)2) == 0);
	CHECK(pthread_join(a, &ra) == 0);
	CHECK(pthread_join(b, &rb) == 0);
	CHECK(ra == NULL);
	CHECK(rb == NULL);
	return t_done("avx");
}

static volatile unsigned long sink;

static void spin_work(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		sink = i;
}

static int t_solo(void)
{
	spin_work(300000000ul);
	return t_done("solo");
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20; i++)
		usleep(10000);
	return NULL;
}

static int t_sleepers(void)
{
	pthread_t t;

	CHECK(pthread_create(&t, NULL, sleeper, NULL) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	return t_done("sleepers");
}

static void *worker(void *arg)
{
	spin_work((unsigned long)(uintptr_t)arg);
	return NULL;
}

static int t_work(unsigned long millions)
{
	pthread_t a, b;
	struct timespec t0, t1;
	unsigned long n = millions * 1000000ul;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(pthread_create(&a, NULL, worker, (void *)(uintptr_t)n) == 0);
	CHECK(pthread_create(&b, NULL, worker, (void *)(uintptr_t)n) == 0);
	CHECK(pthread_join(a, NULL) == 0);
	CHECK(pthread_join(b, NULL) == 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("work ns %lld\n", (long long)(t1.tv_sec - t0.tv_sec) * 1000000000ll + (t1.tv_nsec - t0.tv_nsec));
	return t_done("work");
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(m, "flag")) {
		if (argc > 2)
			setter_us = (useconds_t)strtoul(argv[2], NULL, 10) * 1000;
		return t_flag();
	}
	if (!strcmp(m, "cancel"))
		return t_cancel();
	if (!strcmp(m, "sse"))
		return t_sse();
	if (!strcmp(m, "alarm"))
		return t_alarm();
	if (!strcmp(m, "snap"))
		return t_snap();
	if (!strcmp(m, "avx"))
		return t_avx();
	if (!strcmp(m, "solo"))
		return t_solo();
	if (!strcmp(m, "sleepers"))
		return t_sleepers();
	if (!strcmp(m, "work") && argc > 2)
		return t_work(strtoul(argv[2], NULL, 10));
	fprintf(stderr, "usage: preempt flag [MS]|cancel|alarm|sse|avx|solo|sleepers|snap|work MILLIONS\n");
	return 2;
}
