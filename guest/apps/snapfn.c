/* snapfn.c: a function for snapshot tests: computes, waits for its request on stdin with a thread sleeping beside it (where --snapshot-when-idle takes it), computes again, reports its clocks, random bytes and disk. */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long ns(clockid_t c)
{
	struct timespec t;
	clock_gettime(c, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* A deterministic computation whose state lives in memory across the idle point. */
static uint64_t mix(uint64_t *v, size_t n, int rounds)
{
	uint64_t h = 1469598103934665603ull;
	for (int r = 0; r < rounds; r++)
		for (size_t i = 0; i < n; i++) {
			v[i] = v[i] * 6364136223846793005ull + 1442695040888963407ull + h;
			h = (h ^ v[i]) * 1099511628211ull;
		}
	return h;
}

/* Writes a pattern to /dev/vda at off, reads it back: 0 when it matches. */
static int disk_rw(int fd, off_t off, unsigned char tag)
{
	static unsigned char w[4096], r[4096];
	memset(w, tag, sizeof(w));
	if (pwrite(fd, w, sizeof(w), off) != (ssize_t)sizeof(w) || pread(fd, r, sizeof(r), off) != (ssize_t)sizeof(r))
		return -1;
	return memcmp(w, r, sizeof(w)) ? -1 : 0;
}

/* A hello function: initialised, it waits for its request on stdin (the idle point), answers, exits. */
static int hello_stdin(void)
{
	char req[256];
	size_t n = fread(req, 1, sizeof(req) - 1, stdin);
	req[n] = '\0';
	req[strcspn(req, "\n")] = '\0';
	printf("hello, %s\n", req);
	return 0;
}

static void *late_sleeper(void *arg)
{
	(void)arg;
	struct timespec d = { 0, 300000000L };
	nanosleep(&d, NULL);
	static const char msg[] = "slept\n";
	if (write(1, msg, sizeof(msg) - 1) < 0)
		return arg;
	return NULL;
}

/*
 * A function whose initialisation sleeps 150 ms (a pure sleep: not idle),
 * says "ready", then waits for its request on stdin, the idle point, by how:
 * read (a plain read), poll (poll(2) on fd 0 first), epoll (epoll_wait on
 * fd 0 first) or thread (a thread sleeps 300 ms beside the reader, then
 * writes "slept" unbuffered: sleeping beside the reader, it does not keep
 * the VM from being idle). Answers "hello, REQ" and exits with status.
 */
static int late(const char *how, int status)
{
	struct timespec d = { 0, 150000000L };
	nanosleep(&d, NULL);
	printf("ready\n");
	fflush(stdout);
	pthread_t t;
	bool thread = !strcmp(how, "thread");
	if (thread && pthread_create(&t, NULL, late_sleeper, NULL))
		return 2;
	if (!strcmp(how, "poll")) {
		struct pollfd p = { .fd = 0, .events = POLLIN };
		if (poll(&p, 1, -1) != 1)
			return 2;
	} else if (!strcmp(how, "epoll")) {
		struct epoll_event e = { .events = EPOLLIN }, got;
		int ep = epoll_create1(0);
		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, 0, &e) || epoll_wait(ep, &got, 1, -1) != 1)
			return 2;
		close(ep);
	}
	char req[256];
	size_t n = fread(req, 1, sizeof(req) - 1, stdin);
	req[n] = '\0';
	req[strcspn(req, "\n")] = '\0';
	if (thread)
		pthread_join(t, NULL);
	printf("hello, %s\n", req);
	return status;
}

/* Sleeps *(long *)arg ms. */
static void *sleeper(void *arg)
{
	long ms = *(long *)arg;
	struct timespec d = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&d, NULL);
	return NULL;
}

/* The lines every run ends with: 16 fresh random bytes (restored VMs must differ) and the realtime clock. 0, or 3. */
static int rand_and_time(void)
{
	unsigned char rnd[16];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return 3;
	printf("rand ");
	for (int i = 0; i < 16; i++)
		printf("%02x", rnd[i]);
	printf("\ntime %lld\n", ns(CLOCK_REALTIME));
	return 0;
}

/* "start", then rounds of mix, long enough to be snapshotted in the middle (ukvm_snapshot): the result. */
static uint64_t compute_rounds(long rounds)
{
	static uint64_t v[4096];
	for (size_t i = 0; i < 4096; i++)
		v[i] = i;
	printf("start\n");
	fflush(stdout);
	return mix(v, 4096, (int)rounds);
}

/*
 * The computation, the result, then a short sleep (the monotonic clock
 * must count it, across a restore too), then random bytes and the time.
 */
static int compute(long rounds)
{
	long long m0 = ns(CLOCK_MONOTONIC);
	uint64_t h = compute_rounds(rounds);
	long long m1 = ns(CLOCK_MONOTONIC);
	printf("result %016llx\n", (unsigned long long)h);
	struct timespec d = { 0, 1000000 };
	nanosleep(&d, NULL);
	long long m2 = ns(CLOCK_MONOTONIC);
	printf("mono %s\n", m1 >= m0 && m2 >= m1 + 1000000 ? "ok" : "backwards");
	return rand_and_time();
}

/*
 * compute(), but the random bytes and the realtime clock come right after
 * the result, before any blocking call: a VM restored from a snapshot taken
 * in the computation must have its own at once, not at its first WAIT.
 * "time" is the vDSO's clock_gettime, "stime" the syscall's.
 */
static int compute_now(long rounds)
{
	uint64_t h = compute_rounds(rounds);
	unsigned char rnd[16];
	struct timespec sys;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return 3;
	long long t = ns(CLOCK_REALTIME);
	if (syscall(SYS_clock_gettime, CLOCK_REALTIME, &sys))
		return 3;
	printf("result %016llx\nrand ", (unsigned long long)h);
	for (int i = 0; i < 16; i++)
		printf("%02x", rnd[i]);
	printf("\ntime %lld\nstime %lld\n", t, sys.tv_sec * 1000000000LL + sys.tv_nsec);
	return 0;
}

/*
 * The computation, then 4 bytes of stdin by one read(2) (the kernel keeps
 * the rest of what it took), a 1 ms sleep (a restored VM's first WAIT) and
 * the next read: a VM restored from a snapshot taken in the computation
 * reads its own input, and nothing of it is lost at that WAIT.
 */
static int compute_read(long rounds)
{
	uint64_t h = compute_rounds(rounds);
	char a[4], b[64];
	ssize_t na = read(0, a, sizeof(a));
	struct timespec d = { 0, 1000000 };
	nanosleep(&d, NULL);
	ssize_t nb = read(0, b, sizeof(b));
	printf("result %016llx\nfirst %.*s\nsecond %.*s\n", (unsigned long long)h, na > 0 ? (int)na - 1 : 0, a,
	       nb > 0 ? (int)nb - 1 : 0, b);
	return 0;
}

/*
 * usage: snapfn [SLEEP_MS [DISK]]: the idle point is a read of stdin to its end (the request) while a thread
 * sleeps SLEEP_MS (default 60) beside it; the snapshot lands in that sleep when it outlasts
 * UKVM_WAIT_IDLE_MIN_NS (50 ms), and the restored VM's sleeper keeps the time it had left;
 * snapfn stdin: the hello function;
 * snapfn late read|poll|epoll|thread [STATUS]: late();
 * snapfn compute ROUNDS: compute(); snapfn compute-now ROUNDS: compute_now();
 * snapfn compute-read ROUNDS: compute_read().
 */
int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "stdin"))
		return hello_stdin();
	if (argc > 2 && !strcmp(argv[1], "late"))
		return late(argv[2], argc > 3 ? atoi(argv[3]) : 0);
	if (argc > 2 && !strcmp(argv[1], "compute-read"))
		return compute_read(atol(argv[2]));
	if (argc > 2 && !strcmp(argv[1], "compute-now"))
		return compute_now(atol(argv[2]));
	if (argc > 2 && !strcmp(argv[1], "compute"))
		return compute(atol(argv[2]));
	long ms = argc > 1 ? atol(argv[1]) : 60;
	const char *disk = argc > 2 ? argv[2] : NULL;
	static uint64_t v[4096];
	int fd = -1;

	for (size_t i = 0; i < 4096; i++)
		v[i] = i;
	printf("before %016llx\n", (unsigned long long)mix(v, 4096, 8));
	if (disk) {
		fd = open(disk, O_RDWR);
		if (fd < 0 || disk_rw(fd, 0, 0x5a)) {
			printf("disk before failed\n");
			return 2;
		}
	}
	fflush(stdout);
	long long m0 = ns(CLOCK_MONOTONIC);
	pthread_t t;
	if (pthread_create(&t, NULL, sleeper, &ms))
		return 2;
	char req[256]; /* the idle point: waiting for the request, the sleeper beside */
	while (read(0, req, sizeof(req)) > 0)
		;
	pthread_join(t, NULL);
	long long m1 = ns(CLOCK_MONOTONIC);
	printf("after %016llx\n", (unsigned long long)mix(v, 4096, 8));
	printf("mono %s\n", m1 >= m0 + ms * 1000000LL ? "ok" : "backwards");
	if (disk) {
		unsigned char r[4096];
		int ok = pread(fd, r, sizeof(r), 0) == (ssize_t)sizeof(r) && r[0] == 0x5a && r[4095] == 0x5a &&
			 !disk_rw(fd, 4096, 0xa5);
		printf("disk %s\n", ok ? "ok" : "failed");
		close(fd);
	}
	return rand_and_time();
}
