/* blkthreads.c: guest test app: one thread reads a disk while another keeps computing and printing (the read blocks only its own thread). */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blkpat.h"
#include "say.h"

/*
 * Usage: blkthreads compute DEV SIZE SEED   the main thread reads DEV's first SIZE bytes in one read()
 *                                           while a second thread computes, prints and yields; prints
 *                                           how many compute steps ran between the read's issue and
 *                                           its return, and checks the data (pattern SEED)
 *        blkthreads join DEV SIZE SEED      a second thread does that read while the main thread waits
 *                                           in pthread_join: every thread is blocked, one on the disk,
 *                                           which is not a deadlock
 *        blkthreads idle DEV SIZE SEED      a read, 6 s without I/O, then "compute" (the disk's stall
 *                                           budget counts from the new request, not the old one)
 *        blkthreads edges DEV SIZE SEED     two threads each pread 2000 small unaligned pieces (sector
 *                                           edges) of DEV's first SIZE bytes at once and check them
 * SIZE in MiB. Ends with "blkthreads ok" (status 0) or a reason (status 1). On Linux
 * DEV may be a file holding the pattern.
 */

static atomic_ulong steps;
static atomic_int done;
static const char *dev;
static size_t size;
static uint64_t seed;

/* About 100 us of arithmetic the compiler cannot drop: one "step" of the computing thread. */
static uint64_t work(uint64_t x)
{
	for (int i = 0; i < 20000; i++)
		x = x * 6364136223846793005ull + 1442695040888963407ull;
	return x;
}

static void *compute(void *arg)
{
	uint64_t x = (uintptr_t)arg;
	while (!atomic_load(&done)) {
		x = work(x);
		unsigned long n = atomic_fetch_add(&steps, 1) + 1;
		if (n % 16 == 0)
			say("compute: step %lu (%lx)\n", n, (unsigned long)(x & 0xfff));
		sched_yield(); /* cooperative threads in the guest: the reader resumes at a switch */
	}
	return NULL;
}

/* Reads the first size bytes of dev in one read(); prints the compute steps that ran meanwhile. 0 or 1. */
static int read_disk(void)
{
	unsigned char *buf = malloc(size);
	int fd = open(dev, O_RDONLY);
	if (!buf || fd < 0) {
		say("read: cannot open %s or allocate %zu bytes\n", dev, size);
		return 1;
	}
	memset(buf, 0, size); /* touch the pages first: the read's time is then the disk's */
	unsigned long before = atomic_load(&steps);
	ssize_t n = read(fd, buf, size);
	unsigned long during = atomic_load(&steps) - before;
	close(fd);
	if (n != (ssize_t)size) {
		say("read: %zd of %zu bytes\n", n, size);
		return 1;
	}
	size_t bad = blkpat_check(buf, 0, size, seed);
	free(buf);
	if (bad != size) {
		say("read: mismatch at %zu\n", bad);
		return 1;
	}
	say("read %zu bytes, compute steps during the read: %lu\n", size, during);
	return 0;
}

static void *reader(void *arg)
{
	(void)arg;
	return (void *)(uintptr_t)read_disk();
}

/* 2000 preads of 1..700 bytes at unaligned offsets, each checked against the pattern: the failures (0 = all good). */
static void *edges(void *arg)
{
	uint64_t x = (uintptr_t)arg;
	unsigned char piece[700];
	uintptr_t bad = 0;
	int fd = open(dev, O_RDONLY);
	if (fd < 0)
		return (void *)(uintptr_t)1;
	for (int i = 0; i < 2000; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		size_t len = 1 + (size_t)(x >> 33) % sizeof(piece);
		uint64_t off = (x >> 11) % (size - len);
		if (pread(fd, piece, len, (off_t)off) != (ssize_t)len || blkpat_check(piece, off, len, seed) != len)
			bad++;
	}
	close(fd);
	return (void *)bad;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		say("usage: blkthreads compute|join|idle|edges DEV SIZE_MIB SEED\n");
		return 1;
	}
	dev = argv[2];
	size = strtoul(argv[3], NULL, 0) << 20;
	seed = strtoull(argv[4], NULL, 0);
	pthread_t t;
	void *res = NULL;
	int rc;
	if (!strcmp(argv[1], "idle")) {
		size_t all = size;
		size = 1u << 20;
		if (read_disk())
			return 1;
		sleep(6);
		size = all;
		argv[1] = "compute";
	}
	if (!strcmp(argv[1], "compute")) {
		if (pthread_create(&t, NULL, compute, (void *)(uintptr_t)42) != 0)
			return 1;
		/* Let the computing thread get going, so it is runnable when the read starts. */
		while (atomic_load(&steps) < 2)
			sched_yield();
		rc = read_disk();
		atomic_store(&done, 1);
		pthread_join(t, NULL);
		say("compute: %lu steps in all\n", (unsigned long)atomic_load(&steps));
	} else if (!strcmp(argv[1], "join")) {
		if (pthread_create(&t, NULL, reader, NULL) != 0)
			return 1;
		pthread_join(t, &res);
		rc = (int)(uintptr_t)res;
	} else if (!strcmp(argv[1], "edges")) {
		if (pthread_create(&t, NULL, edges, (void *)(uintptr_t)1) != 0)
			return 1;
		uintptr_t bad = (uintptr_t)edges((void *)(uintptr_t)2);
		pthread_join(t, &res);
		say("edges: %lu + %lu bad pieces\n", (unsigned long)bad, (unsigned long)(uintptr_t)res);
		rc = bad || res;
	} else {
		say("unknown mode %s\n", argv[1]);
		return 1;
	}
	if (rc == 0)
		say("blkthreads ok\n");
	return rc;
}
