/* conio.c: what a program sees of its console (isatty and terminal requests on fds 0-2, also after a snapshot's idle sleep, a line to each stream, a notice, many lines) and of its users. */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ukvm_abi.h"

/* The few errno names these answers can have (musl has no conio_errname). */
static const char *conio_errname(int e)
{
	switch (e) {
	case ENOTTY: return "ENOTTY";
	case EINVAL: return "EINVAL";
	case EBADF: return "EBADF";
	case ENOSYS: return "ENOSYS";
	case EFAULT: return "EFAULT";
	}
	return "other";
}

/* fd N: tty=0|1 winsz=RxC|errno tcgets=ok|errno: the same line natively and in ukvm. */
static void conio_info(int fd)
{
	struct winsize ws;
	struct termios t;
	char wbuf[32];
	int tty = isatty(fd);
	if (ioctl(fd, TIOCGWINSZ, &ws) == 0)
		snprintf(wbuf, sizeof(wbuf), "%ux%u", ws.ws_row, ws.ws_col);
	else
		snprintf(wbuf, sizeof(wbuf), "%s", conio_errname(errno));
	int g = tcgetattr(fd, &t);
	printf("fd %d: tty=%d winsz=%s tcgets=%s\n", fd, tty, wbuf, g == 0 ? "ok" : conio_errname(errno));
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "info";
	if (!strcmp(mode, "info")) {
		for (int fd = 0; fd < 3; fd++)
			conio_info(fd);
		return 0;
	}
	if (!strcmp(mode, "sleep-info")) {
		/*
		 * A 60 ms wait on stdin first: with no device and stdin open and
		 * empty, that is an idle WAIT (waiting on input, at least
		 * UKVM_WAIT_IDLE_MIN_NS), where --snapshot-when-idle takes it, so a
		 * restored VM answers for the restoring run's fds 0-2.
		 */
		struct pollfd p = { .fd = 0, .events = POLLIN };
		if (poll(&p, 1, 60) < 0)
			return 1;
		for (int fd = 0; fd < 3; fd++)
			conio_info(fd);
		return 0;
	}
	if (!strcmp(mode, "streams")) {
		/* Unbuffered writes, so the order inside each stream is the program's. */
		static const char out[] = "to stdout\n", err[] = "to stderr\n";
		if (write(1, out, sizeof(out) - 1) < 0 || write(2, err, sizeof(err) - 1) < 0)
			return 1;
		return 0;
	}
	if (!strcmp(mode, "notice")) {
		/* A syscall number nobody implements: ENOSYS on Linux, and ukvm's one-time notice. */
		long r = syscall(999);
		printf("syscall 999: %ld %s\n", r, r < 0 ? conio_errname(errno) : "");
		return 0;
	}
	if (!strcmp(mode, "users")) {
		/* What servers that look users up see (memcached -u nobody): root and nobody, group 0. */
		/* Each lookup reuses libc's static entry: print before the next one. */
		struct passwd *r = getpwnam("root");
		printf("root: %s\n", r ? (r->pw_uid == 0 && r->pw_gid == 0 && !strcmp(r->pw_dir, "/root") ? "0 0 /root" : "odd") : "missing");
		struct passwd *n = getpwnam("nobody");
		printf("nobody: %s\n", n ? (n->pw_uid == 65534 ? "65534" : "odd") : "missing");
		struct group *g = getgrgid(0);
		printf("group 0: %s\n", g ? g->gr_name : "missing");
		return 0;
	}
	if (!strcmp(mode, "lines") && argc > 2) {
		/* What `seq N` does: one printf per line, stdio's buffering decides the writes. */
		long n = strtol(argv[2], NULL, 10);
		for (long i = 1; i <= n; i++)
			printf("%ld\n", i);
		return 0;
	}
	if (!strcmp(mode, "mixed") && argc > 2) {
		/*
		 * stdout through stdio (fully buffered to a file, flushed in its
		 * 1 KiB pieces) interleaved with unbuffered stderr and raw writes of
		 * every size up to past the console buffer: with `2>&1` the file
		 * shows the exact order of the program's write()s.
		 */
		long n = strtol(argv[2], NULL, 10);
		static char big[100000];
		for (size_t i = 0; i < sizeof(big); i++)
			big[i] = (char)('a' + i % 26);
		for (long i = 1; i <= n; i++) {
			printf("out %ld\n", i);
			if (i % 7 == 0)
				fprintf(stderr, "err %ld\n", i);
			if (i % 97 == 0) {
				fflush(stdout);
				size_t len = (size_t)(i * 331) % sizeof(big);
				if (write(i % 2 ? 1 : 2, big, len) != (ssize_t)len)
					return 1;
				if (write(1, "\n", 1) != 1)
					return 1;
			}
		}
		return 0;
	}
	if (!strcmp(mode, "spin") && argc > 2) {
		/* Writes n lines (stdio, then flushed: write()s) and spins without a syscall until it is killed. */
		long n = strtol(argv[2], NULL, 10);
		for (long i = 1; i <= n; i++)
			printf("line %ld\n", i);
		printf("end\n");
		fflush(stdout);
		for (volatile unsigned long x = 0;; x++)
			;
	}
	if (!strcmp(mode, "trickle")) {
		/* A line, 100 ms of computing without a syscall but the clock, another line, then spinning until killed. */
		struct timespec t0, t;
		if (write(1, "line 1\n", 7) != 7)
			return 1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		do
			clock_gettime(CLOCK_MONOTONIC, &t);
		while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 100000000L);
		if (write(1, "line 2\n", 7) != 7)
			return 1;
		for (volatile unsigned long x = 0;; x++)
			;
	}
	if (!strcmp(mode, "crash") && argc > 2) {
		/* Writes n lines to stdout (stdio, flushed), then dies of SIGSEGV: the lines come before the report. */
		long n = strtol(argv[2], NULL, 10);
		for (long i = 1; i <= n; i++)
			printf("line %ld\n", i);
		fflush(stdout);
		*(volatile int *)(uintptr_t)argc = 0; /* page 0: unmapped in ukvm and on Linux */
		return 0;
	}
	if (!strcmp(mode, "conbuf-hostile") && argc > 2) {
		/*
		 * ukvm only: the app shares the kernel's address space, so it can
		 * scribble on the console buffer (proto/ukvm_abi.h UKVM_CONBUF_GPA:
		 * header, then records {u32 stream, u32 len}). Writes a good line
		 * first, then breaks the buffer as case says; the monitor must end
		 * the run as a guest error after the good line went out.
		 */
		if (write(1, "good\n", 5) != 5)
			return 1;
		volatile uint64_t *used = (volatile uint64_t *)UKVM_CONBUF_GPA;
		volatile uint32_t *rec = (volatile uint32_t *)(UKVM_CONBUF_GPA + 8);
		uint64_t u = *used; /* the good record: {1, 5} "good\n" = 13 bytes */
		long c = strtol(argv[2], NULL, 10);
		if (c == 0)
			*used = ~0ull; /* far past the buffer */
		else if (c == 1)
			*used = UKVM_CONBUF_SIZE - 8 + 1; /* one byte past it */
		else if (c == 2)
			rec[0] = 7; /* the first record names stream 7 */
		else if (c == 3)
			rec[1] = 0xffffffffu; /* the first record's length runs past used */
		else
			*used = u + 5; /* a header cut off at the end */
		return 0; /* the exit hypercall drains first */
	}
	fprintf(stderr, "usage: conio [info|sleep-info|streams|notice|users|lines N|mixed N|spin N|trickle|crash N|conbuf-hostile CASE]\n");
	return 2;
}
