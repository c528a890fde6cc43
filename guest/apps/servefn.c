/*
 * servefn.c: functions for ukvm-serve's tests (tests/integration/check_serve.c): each reads its whole stdin (the
 * request; in restore mode the snapshot is taken there), then by argv[1]: "crash" (a null dereference), "sleep MS"
 * (then answers), "flood MIB" (writes MIB MiB to stdout), "alloc MIB" (mallocs and touches MIB MiB).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The request: its length; the bytes are not needed. */
static size_t servefn_request(void)
{
	static char buf[1 << 16];
	size_t total = 0;
	ssize_t n;
	while ((n = read(0, buf, sizeof(buf))) > 0)
		total += (size_t)n;
	return total;
}

/* Writes all of len bytes; 0, or 1 when a write fails (as the server's bounded output makes it). */
static int servefn_write(const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(1, p, len);
		if (n <= 0)
			return 1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	unsigned long arg = argc > 2 ? strtoul(argv[2], NULL, 10) : 0;
	size_t len = servefn_request();
	if (!strcmp(mode, "crash")) {
		volatile int *p = (volatile int *)(uintptr_t)(len & 0); /* 0, unknown to the compiler */
		return *p;
	}
	if (!strcmp(mode, "sleep")) {
		struct timespec ts = { (time_t)(arg / 1000), (long)(arg % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		printf("slept %lu ms after %zu bytes\n", arg, len);
		return 0;
	}
	if (!strcmp(mode, "flood")) {
		static char block[1 << 16];
		memset(block, 'f', sizeof(block));
		for (unsigned long i = 0; i < arg * 16; i++)
			if (servefn_write(block, sizeof(block)))
				return 0; /* a hostile function: it says it succeeded all the same */
		return 0;
	}
	if (!strcmp(mode, "alloc")) {
		size_t size = (size_t)arg << 20;
		unsigned char *p = malloc(size);
		if (!p) {
			printf("alloc %lu MiB: no memory\n", arg);
			return 1;
		}
		for (size_t i = 0; i < size; i += 4096)
			p[i] = (unsigned char)(i >> 12);
		size_t bad = 0;
		for (size_t i = 0; i < size; i += 4096)
			bad += p[i] != (unsigned char)(i >> 12);
		printf("alloc %lu MiB: %s\n", arg, bad ? "bad" : "ok");
		return bad != 0;
	}
	fprintf(stderr, "usage: servefn crash|sleep MS|flood MIB|alloc MIB\n");
	return 2;
}
