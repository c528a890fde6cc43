/* sysloop.c: syscall round-trip cost (getppid loop) and what must survive the syscall path: FS/GS bases, TLS; prints "sysloop ok". */
#define _GNU_SOURCE
#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "t_check.h"

static __thread volatile long tls_word = 7;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rdgsbase(void)
{
	uint64_t v;
	__asm__ volatile("rdgsbase %0" : "=r"(v));
	return v;
}

static uint64_t rdfsbase(void)
{
	uint64_t v;
	__asm__ volatile("rdfsbase %0" : "=r"(v));
	return v;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	uint64_t fs0 = rdfsbase();

	/* The syscall path must leave the app's FS base (musl's TLS) alone. */
	uint64_t t0 = now_ns();
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
	uint64_t t1 = now_ns();
	CHECK(rdfsbase() == fs0);
	tls_word++;
	CHECK(tls_word == 8);
	uint64_t fs1 = 0;
	CHECK(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs1) == 0 && fs1 == fs0);

	/* GS: set through the kernel, seen in user mode, read back; and set in user mode, kept across syscalls. */
	static char gsarea[64];
	uint64_t g = (uint64_t)(uintptr_t)gsarea, g1 = 0;
	CHECK(syscall(SYS_arch_prctl, ARCH_SET_GS, g) == 0);
	CHECK(rdgsbase() == g);
	CHECK(syscall(SYS_arch_prctl, ARCH_GET_GS, &g1) == 0 && g1 == g);
	__asm__ volatile("wrgsbase %0" : : "r"(g + 8));
	syscall(SYS_getppid);
	CHECK(rdgsbase() == g + 8);
	CHECK(syscall(SYS_arch_prctl, ARCH_GET_GS, &g1) == 0 && g1 == g + 8);

	printf("sysloop: %ld syscalls, %.0f ns each\n", n, n ? (double)(t1 - t0) / (double)n : 0.0);
	if (t_fails)
		return 1;
	printf("sysloop ok\n");
	return 0;
}
