/* blkbench.c: block I/O micro-benchmark, one source built for the guest (musl, /dev/vda) and the host (gcc, a file). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * Usage: blkbench PATH PHASE [SECONDS [GAP_CALLS]]
 *   PHASE: none      open, size, print (the baseline for counting exits)
 *          seqread   1 MiB sequential reads from offset 0 (MB/s)
 *          randread  4 KiB random reads at queue depth 1 (IOPS, p50/p99 latency)
 *          randwrite 4 KiB random writes, fdatasync every 64 (IOPS, pwrite p50/p99, fdatasync mean)
 *          randsys   randread with GAP_CALLS (default 3) getppid() between reads: an app that makes other
 *                    syscalls (~20 us each in a PVM guest) between requests, so the
 *                    device sees gaps; keys sys_*
 * Each phase stops at a fixed count or after SECONDS (default 3), whichever
 * comes first. Results are collected in memory and written with one write()
 * at the end, so in the guest the measurement itself costs no console exit.
 * Output lines: "RESULT <key> <value>".
 */

#define KIB 1024ull
#define MIB (1024ull * 1024)
#define RAND_MAX_OPS 20000
#define WRITE_MAX_OPS 4096
#define SYNC_EVERY 64

static unsigned char buf[MIB] __attribute__((aligned(4096)));
static uint32_t lat_ns[RAND_MAX_OPS];
static char out[4096];
static size_t out_len;

static void put(const char *key, double v)
{
	int n = snprintf(out + out_len, sizeof(out) - out_len, "RESULT %s %.3f\n", key, v);
	if (n > 0 && (size_t)n < sizeof(out) - out_len)
		out_len += (size_t)n;
}

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int fail(const char *what)
{
	fprintf(stderr, "blkbench: %s: %s\n", what, strerror(errno));
	return 1;
}

static int seqread(int fd, uint64_t size, uint64_t limit_ns)
{
	uint64_t t0 = now_ns(), off = 0, n = 0;
	while (off + MIB <= size && now_ns() - t0 < limit_ns) {
		ssize_t r = pread(fd, buf, MIB, (off_t)off);
		if (r != (ssize_t)MIB)
			return fail("seqread pread");
		off += MIB;
		n++;
	}
	double s = (double)(now_ns() - t0) / 1e9;
	put("seq_mbps", (double)off / MIB / s);
	put("seq_reqs", (double)n);
	return 0;
}

/* randread; with gap_calls, that many getppid() (a real syscall, not the libc cache) before each read. */
static int randread(int fd, uint64_t size, uint64_t limit_ns, int gap_calls, const char *prefix)
{
	uint64_t blocks = size / (4 * KIB), t0 = now_ns();
	int n = 0;
	char key[64];
	while (n < RAND_MAX_OPS && now_ns() - t0 < limit_ns) {
		for (int i = 0; i < gap_calls; i++)
			syscall(SYS_getppid);
		uint64_t off = (rnd() % blocks) * 4 * KIB, a = now_ns();
		if (pread(fd, buf, 4 * KIB, (off_t)off) != (ssize_t)(4 * KIB))
			return fail("randread pread");
		uint64_t d = now_ns() - a;
		lat_ns[n++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
	}
	double s = (double)(now_ns() - t0) / 1e9;
	qsort(lat_ns, (size_t)n, sizeof(lat_ns[0]), cmp_u32);
#define PUTK(k, v) (snprintf(key, sizeof(key), "%s_%s", prefix, k), put(key, v))
	PUTK("iops", n / s);
	PUTK("p50_us", lat_ns[n / 2] / 1e3);
	PUTK("p90_us", lat_ns[(size_t)n * 9 / 10] / 1e3);
	PUTK("p99_us", lat_ns[(size_t)n * 99 / 100] / 1e3);
	PUTK("reqs", n);
#undef PUTK
	return 0;
}

static int randwrite(int fd, uint64_t size, uint64_t limit_ns)
{
	uint64_t blocks = size / (4 * KIB), t0 = now_ns();
	int n = 0, syncs = 0;
	uint64_t sync_ns = 0;
	memset(buf, 0x3c, 4 * KIB);
	while (n < WRITE_MAX_OPS && now_ns() - t0 < limit_ns) {
		uint64_t off = (rnd() % blocks) * 4 * KIB, a = now_ns();
		buf[0] = (unsigned char)n;
		if (pwrite(fd, buf, 4 * KIB, (off_t)off) != (ssize_t)(4 * KIB))
			return fail("randwrite pwrite");
		uint64_t d = now_ns() - a;
		lat_ns[n] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
		if (++n % SYNC_EVERY == 0) {
			a = now_ns();
			if (fdatasync(fd))
				return fail("fdatasync");
			sync_ns += now_ns() - a;
			syncs++;
		}
	}
	if (n % SYNC_EVERY) {
		if (fdatasync(fd))
			return fail("fdatasync");
		syncs++;
	}
	double s = (double)(now_ns() - t0) / 1e9;
	put("write_iops", n / s);
	qsort(lat_ns, (size_t)n, sizeof(lat_ns[0]), cmp_u32);
	put("write_p50_us", lat_ns[n / 2] / 1e3);
	put("write_p99_us", lat_ns[(size_t)n * 99 / 100] / 1e3);
	put("sync_mean_us", syncs ? (double)sync_ns / syncs / 1e3 : 0);
	put("write_reqs", n);
	put("write_syncs", syncs);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: blkbench PATH {none|seqread|randread|randwrite|randsys} [SECONDS]\n");
		return 2;
	}
	double secs = argc > 3 ? atof(argv[3]) : 3.0;
	if (!(secs > 0 && secs < 3600))
		secs = 3.0;
	uint64_t limit_ns = (uint64_t)(secs * 1e9);
	const char *phase = argv[2];
	int fd = open(argv[1], !strcmp(phase, "randwrite") ? O_RDWR : O_RDONLY);
	if (fd < 0)
		return fail(argv[1]);
	off_t end = lseek(fd, 0, SEEK_END);
	if (end < (off_t)MIB)
		return fail("size below 1 MiB");
	put("size", (double)end);
	int r = 0;
	if (!strcmp(phase, "seqread"))
		r = seqread(fd, (uint64_t)end, limit_ns);
	else if (!strcmp(phase, "randread"))
		r = randread(fd, (uint64_t)end, limit_ns, 0, "rand");
	else if (!strcmp(phase, "randsys"))
		r = randread(fd, (uint64_t)end, limit_ns, argc > 4 ? atoi(argv[4]) : 3, "sys");
	else if (!strcmp(phase, "randwrite"))
		r = randwrite(fd, (uint64_t)end, limit_ns);
	else if (strcmp(phase, "none"))
		r = 2;
	close(fd);
	if (write(1, out, out_len) != (ssize_t)out_len)
		return 1;
	return r;
}
