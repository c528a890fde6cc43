/*
 * mprot.c: memory protection with Linux's answers (the same binary passes natively): mprotect and
 * mmap protections raise SIGSEGV with si_code and si_addr as Linux's, syscalls on protected memory
 * give EFAULT, guard pages below thread stacks (the library's) and the main stack (the kernel's).
 * Prints "mprot ok"; "mprot overflow" dies of SIGSEGV like Linux; "mprot bench N" times N mprotects.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "t_check.h"

#define PG 4096

static __thread sigjmp_buf *jb;
static __thread volatile uintptr_t f_addr;
static __thread volatile int f_code, f_sig;

static void on_fault(int sig, siginfo_t *si, void *u)
{
	(void)u;
	f_sig = sig;
	f_addr = (uintptr_t)si->si_addr;
	f_code = si->si_code;
	siglongjmp(*jb, 1);
}

/* 1 when *p can be read (0: it faulted, f_* say how). */
static int can_read(volatile char *p)
{
	sigjmp_buf b;
	jb = &b;
	f_sig = 0;
	if (sigsetjmp(b, 1))
		return 0;
	(void)*p;
	return 1;
}

static int can_write(volatile char *p)
{
	sigjmp_buf b;
	jb = &b;
	f_sig = 0;
	if (sigsetjmp(b, 1))
		return 0;
	*p = *p;
	return 1;
}

/*
 * 9 MiB below main's frame lies unmapped memory on Linux (under the 8 MiB
 * stack limit; mappings start far lower) and the main stack's 2 MiB guard
 * gap in ukvm, when RAM is large enough for an 8 MiB stack (64 MiB; the
 * default is 128): the kernel answers EFAULT. Checked first, while the app
 * has protected nothing (the guard the monitor made is known without tables).
 */
static void stack_gap(void)
{
	int p[2];
	char here = 0;
	struct sysinfo si;
	if (sysinfo(&si) || (uint64_t)si.totalram * si.mem_unit < (64u << 20))
		return;
	CHECK(pipe(p) == 0);
	CHECK_ERR(write(p[1], (char *)((uintptr_t)&here - (9u << 20)), 16), EFAULT);
	CHECK(write(p[1], &here, 1) == 1);
	close(p[0]);
	close(p[1]);
}

static void protections(void)
{
	char *m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED);
	memset(m, 'm', 4 * PG);
	CHECK_ERR(syscall(SYS_mprotect, m + 1, PG, PROT_READ), EINVAL); /* (musl's mprotect rounds down itself) */
	CHECK_ERR(mprotect(m, PG, 0x1000), EINVAL);
	CHECK(mprotect(m, 0, PROT_NONE) == 0);
	/* PROT_NONE: any access is SEGV_ACCERR at the exact address. */
	CHECK(mprotect(m + PG, PG, PROT_NONE) == 0);
	CHECK(!can_read(m + PG + 123) && f_sig == SIGSEGV && f_code == SEGV_ACCERR && f_addr == (uintptr_t)(m + PG + 123));
	CHECK(!can_write(m + 2 * PG - 1) && f_code == SEGV_ACCERR && f_addr == (uintptr_t)(m + 2 * PG - 1));
	CHECK(can_read(m) && can_write(m + 2 * PG)); /* the neighbours are untouched */
	/* Read-only: reads work, writes fault. */
	CHECK(mprotect(m + 2 * PG, 2 * PG, PROT_READ) == 0);
	CHECK(can_read(m + 3 * PG) && m[3 * PG] == 'm');
	CHECK(!can_write(m + 3 * PG + 8) && f_code == SEGV_ACCERR && f_addr == (uintptr_t)(m + 3 * PG + 8));
	/* The kernel answers EFAULT instead of touching what the app may not. */
	int fd = open("/dev/zero", O_RDONLY), p[2];
	CHECK(fd >= 0 && pipe(p) == 0);
	CHECK_ERR(read(fd, m + PG, 10), EFAULT);
	CHECK_ERR(read(fd, m + 2 * PG, 10), EFAULT);
	CHECK_ERR(write(p[1], m + PG, 10), EFAULT);
	CHECK(write(p[1], m + 2 * PG, 10) == 10); /* read-only memory can be written out */
	CHECK(read(fd, m, 10) == 10 && m[0] == 0);
	close(fd), close(p[0]), close(p[1]);
	/* Back to RW: the bytes are still there. */
	CHECK(mprotect(m, 4 * PG, PROT_READ | PROT_WRITE) == 0);
	CHECK(can_write(m + PG) && m[PG + 5] == 'm' && can_write(m + 3 * PG));
	/* DONTNEED on a read-only page: zeros after. */
	CHECK(mprotect(m + 3 * PG, PG, PROT_READ) == 0 && madvise(m + 3 * PG, PG, MADV_DONTNEED) == 0 && m[3 * PG] == 0);
	/* Unmapped and mapped again: a fresh page, whatever protection it had. */
	CHECK(mprotect(m, 4 * PG, PROT_NONE) == 0 && munmap(m, 4 * PG) == 0);
	char *n = mmap(m, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(n == m && can_write(n + PG) && can_write(n + 3 * PG) && n[PG] == 0);
	CHECK(munmap(n, 4 * PG) == 0);
	/* mmap's own protection: a PROT_NONE reservation opened later. */
	char *r = mmap(NULL, 2 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(r != MAP_FAILED && !can_read(r) && f_code == SEGV_ACCERR);
	CHECK(mprotect(r, 2 * PG, PROT_READ | PROT_WRITE) == 0 && can_write(r + PG) && r[PG] == 0);
	CHECK(munmap(r, 2 * PG) == 0);
	/* (Unmapped memory is SEGV_MAPERR on Linux; in ukvm freed pages stay mapped, and are zeroed when handed out again.) */
}

static volatile int depth;
static uintptr_t lowest;

static int recurse(int n)
{
	volatile char pad[512];
	if (n < 0)
		return 0; /* never: the stack ends first (keeps the compiler from calling it infinite) */
	pad[0] = (char)n;
	lowest = (uintptr_t)pad;
	depth++;
	return recurse(n + 1) + pad[0];
}

/* A thread overflowing its stack hits the library's guard page: SIGSEGV on the thread's alternate stack. */
static void *guard_check_thread(void *arg)
{
	(void)arg;
	static char alt[65536];
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof(alt) };
	sigaltstack(&ss, NULL);
	sigjmp_buf b;
	jb = &b;
	f_sig = 0;
	if (!sigsetjmp(b, 1))
		recurse(0);
	/* The fault was an access error just below the deepest frame. */
	CHECK(f_sig == SIGSEGV && f_code == SEGV_ACCERR && f_addr < lowest && lowest - f_addr < 16 * PG);
	if (f_code != SEGV_ACCERR || f_addr >= lowest || lowest - f_addr >= 16 * PG)
		fprintf(stderr, "thread overflow: sig %d code %d addr %#lx lowest frame %#lx depth %d\n", f_sig, f_code,
			(unsigned long)f_addr, (unsigned long)lowest, depth);
	return NULL;
}

static int bench(long n)
{
	char *m = mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++) {
		mprotect(m + (i % 32) * PG, 2 * PG, PROT_READ);
		mprotect(m + (i % 32) * PG, 2 * PG, PROT_READ | PROT_WRITE);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / 1e3;
	printf("mprotect: %ld calls, %.2f us each\n", 2 * n, us / (double)(2 * n));
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO | SA_ONSTACK };
	if (argc > 1 && !strcmp(argv[1], "overflow")) {
		printf("overflowing the main stack\n");
		fflush(stdout);
		return recurse(0); /* no handler: killed by SIGSEGV */
	}
	if (argc > 2 && !strcmp(argv[1], "bench"))
		return bench(atol(argv[2]));
	sigaction(SIGSEGV, &sa, NULL);
	stack_gap();
	protections();
	pthread_attr_t a;
	pthread_t t;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 128 * 1024);
	CHECK(pthread_create(&t, &a, guard_check_thread, NULL) == 0 && pthread_join(t, NULL) == 0);
	CHECK(depth > 50);
	return t_done("mprot");
}
