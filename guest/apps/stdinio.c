/* stdinio.c: what a program sees of its stdin: bytes and a checksum, reads of a terminal, readiness (poll, select, epoll), a reader blocked beside a running thread. */
#include <errno.h>
#include <stdarg.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

/* One line to stdout at once, unbuffered: the test acts on each as it arrives. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	if (write(1, line, (size_t)n) < 0)
		exit(3);
}

/* Byte count and FNV-1a of stdin read in 1 KiB reads, as musl's stdio reads: one line. */
static int stdinio_sum(size_t chunk)
{
	static char buf[1 << 16];
	uint64_t h = 0xcbf29ce484222325ull, total = 0;
	if (chunk == 0 || chunk > sizeof(buf))
		chunk = 1024;
	for (;;) {
		ssize_t n = read(0, buf, chunk);
		if (n < 0) {
			say("read: %s\n", strerror(errno));
			return 1;
		}
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			h = (h ^ (uint8_t)buf[i]) * 0x100000001b3ull;
		total += (uint64_t)n;
	}
	say("bytes %llu fnv %016llx\n", (unsigned long long)total, (unsigned long long)h);
	return 0;
}

/* Each read's bytes as the read returned them, then "eof": a terminal gives a line per read. */
static int stdinio_lines(void)
{
	char buf[4096];
	for (;;) {
		ssize_t n = read(0, buf, sizeof(buf));
		if (n < 0) {
			say("read: %s\n", strerror(errno));
			return 1;
		}
		if (n == 0) {
			say("eof\n");
			return 0;
		}
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\n')
				buf[i] = '|';
		say("read %zd: %.*s\n", n, (int)n, buf);
	}
}

/* Readable now (timeout 0) by poll, select and epoll, as three 0/1 answers; and poll's hang-up bit. */
static void stdinio_ready(const char *when, int ep)
{
	struct pollfd p = { .fd = 0, .events = POLLIN };
	int pr = poll(&p, 1, 0);
	fd_set rs;
	FD_ZERO(&rs);
	FD_SET(0, &rs);
	struct timeval tv = { 0, 0 };
	int sr = select(1, &rs, NULL, NULL, &tv);
	struct epoll_event ev;
	int er = epoll_wait(ep, &ev, 1, 0);
	say("%s: poll=%d select=%d epoll=%d hup=%d\n", when, pr == 1 && (p.revents & (POLLIN | POLLHUP)) != 0,
	    sr == 1 && FD_ISSET(0, &rs), er == 1 && (ev.events & (EPOLLIN | EPOLLHUP)) != 0,
	    pr == 1 && (p.revents & POLLHUP) != 0);
}

/*
 * Readiness through the input's life, the test feeding it step by step:
 * nothing yet; poll(-1) wakes on "x", select(-1) on "y", epoll_wait(-1)
 * on the end of the input.
 */
static int stdinio_poll(void)
{
	char c;
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = 0 };
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev) < 0) {
		say("epoll: %s\n", strerror(errno));
		return 1;
	}
	stdinio_ready("before", ep);
	say("ready\n");
	struct pollfd p = { .fd = 0, .events = POLLIN };
	int pr = poll(&p, 1, -1);
	say("poll woke: %d in=%d\n", pr, (p.revents & POLLIN) != 0);
	stdinio_ready("with data", ep);
	say("read1 %zd\n", read(0, &c, 1));
	fd_set rs;
	FD_ZERO(&rs);
	FD_SET(0, &rs);
	int sr = select(1, &rs, NULL, NULL, NULL);
	say("select woke: %d set=%d\n", sr, FD_ISSET(0, &rs) != 0);
	say("read2 %zd\n", read(0, &c, 1));
	int er = epoll_wait(ep, &ev, 1, -1);
	say("epoll woke: %d\n", er);
	stdinio_ready("at eof", ep);
	say("read3 %zd\n", read(0, &c, 1));
	return 0;
}

static void *stdinio_reader(void *arg)
{
	char buf[256];
	(void)arg;
	ssize_t n = read(0, buf, sizeof(buf));
	say("reader got %zd\n", n);
	return NULL;
}

/* A thread blocked reading stdin while another runs (sleeps, prints) and finishes first. */
static int stdinio_thread(void)
{
	pthread_t t;
	if (pthread_create(&t, NULL, stdinio_reader, NULL))
		return 1;
	for (int i = 0; i < 3; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		say("main tick %d\n", i);
	}
	say("main done\n");
	pthread_join(t, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "sum";
	if (!strcmp(mode, "sum"))
		return stdinio_sum(argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 1024);
	if (!strcmp(mode, "lines"))
		return stdinio_lines();
	if (!strcmp(mode, "poll"))
		return stdinio_poll();
	if (!strcmp(mode, "thread"))
		return stdinio_thread();
	if (!strcmp(mode, "spin")) { /* a function that takes its input, then never answers (ukvm-serve's 504) */
		char c;
		while (read(0, &c, 1) > 0)
			;
		for (volatile unsigned long i = 0;; i++)
			;
	}
	if (!strcmp(mode, "block")) {
		char c;
		say("reading\n");
		say("read %zd\n", read(0, &c, 1));
		return 0;
	}
	fprintf(stderr, "usage: stdinio [sum [CHUNK]|lines|poll|thread|block|spin]\n");
	return 2;
}
