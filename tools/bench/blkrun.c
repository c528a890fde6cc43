/* blkrun.c: make bench-blk: runs blkbench in the guest and on the host alternately against one 1 GiB file and prints medians. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blkpat.h"

/*
 * Usage: blkrun BUILD_DIR   (env BLK_BENCH_ROUNDS, default 3; BLK_BENCH_SECS per phase, default 3)
 * The file BUILD_DIR/bench/blk-1g.img is created once (sparse, then filled
 * with a pattern so no read hits a hole) and reused. Host caches are not
 * dropped: guest and host both run warm, under the same conditions.
 */

#define FILE_SIZE (1ull << 30)
#define MAX_ROUNDS 15

enum { SEQ, RAND, WRITE, SYS, NPHASE };
static const char *const phase_name[NPHASE] = {"seqread", "randread", "randwrite", "randsys"};

enum { K_SEQ_MBPS, K_SEQ_REQS, K_RAND_IOPS, K_RAND_P50, K_RAND_P99, K_RAND_REQS, K_WRITE_IOPS, K_WRITE_REQS,
       K_WRITE_P50, K_WRITE_P99, K_SYNC_MEAN, K_SYS_IOPS, K_SYS_P50, K_SYS_P90, K_SYS_P99, K_SYS_REQS, NKEYS };

/* One run's parsed output. */
struct run {
	double v[NKEYS];      /* values by key index below */
	long long exits;      /* total from --stats, -1 if absent */
	long long wait_exits; /* the "wait N" part */
	long long dev_reqs;   /* virtio requests from the "vda: N requests" line, -1 if absent */
	long long notifies;   /* "M notifies" on that line: ioeventfd writes, in-kernel exits (~12 us on PVM) */
	char stats[1024];     /* the raw --stats lines, joined */
};
static const char *const keys[NKEYS] = {"seq_mbps", "seq_reqs", "rand_iops", "rand_p50_us", "rand_p99_us",
					"rand_reqs", "write_iops", "write_reqs", "write_p50_us", "write_p99_us",
					"sync_mean_us", "sys_iops", "sys_p50_us", "sys_p90_us", "sys_p99_us",
					"sys_reqs"};

static int make_file(const char *path)
{
	struct stat st;
	if (!stat(path, &st) && (uint64_t)st.st_size == FILE_SIZE)
		return 0;
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fprintf(stderr, "blkrun: creating %s (1 GiB, once)\n", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)FILE_SIZE))
		goto err;
	static unsigned char b[1 << 20];
	for (uint64_t off = 0; off < FILE_SIZE; off += sizeof(b)) {
		blkpat_fill(b, off, sizeof(b), 1);
		if (pwrite(fd, b, sizeof(b), (off_t)off) != (ssize_t)sizeof(b))
			goto err;
	}
	if (fsync(fd) || close(fd) || rename(tmp, path))
		goto err;
	return 0;
err:
	fprintf(stderr, "blkrun: %s: %s\n", tmp, strerror(errno));
	unlink(tmp);
	return -1;
}

/* Runs argv with stdout/stderr to temp files; parses RESULT lines and the --stats line. */
static int run(const char *label, char *const argv[], struct run *r)
{
	char outp[] = "/tmp/blkrun-out-XXXXXX", errp[] = "/tmp/blkrun-err-XXXXXX";
	int ofd = mkstemp(outp), efd = mkstemp(errp);
	memset(r, 0, sizeof(*r));
	r->exits = r->wait_exits = r->dev_reqs = r->notifies = -1;
	if (ofd < 0 || efd < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(ofd, 1);
		dup2(efd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	FILE *f = fdopen(ofd, "r");
	char line[1024];
	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		char key[64];
		double v;
		if (sscanf(line, "RESULT %63s %lf", key, &v) == 2)
			for (int k = 0; k < NKEYS; k++)
				if (!strcmp(key, keys[k]))
					r->v[k] = v;
	}
	fclose(f);
	f = fdopen(efd, "r");
	rewind(f);
	int bad = !WIFEXITED(st) || WEXITSTATUS(st);
	while (fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, " exits:");
		if (!strncmp(line, "ukvm-run: ", 10) && p) {
			r->exits = atoll(line + 10);
			const char *w = strstr(p, " wait ");
			r->wait_exits = w ? atoll(w + 6) : 0;
			snprintf(r->stats, sizeof(r->stats), "%s", line + 10);
			r->stats[strcspn(r->stats, "\n")] = 0;
		} else if (!strncmp(line, "ukvm-run: vda: ", 15) && strstr(line, " requests")) {
			r->dev_reqs = atoll(line + 15);
			const char *nt = strstr(line, " requests, ");
			r->notifies = nt ? atoll(nt + 11) : -1;
			size_t l = strlen(r->stats);
			snprintf(r->stats + l, sizeof(r->stats) - l, "; %.*s", (int)strcspn(line + 10, "\n"), line + 10);
		} else if (bad) {
			fprintf(stderr, "  | %s", line);
		}
	}
	fclose(f);
	unlink(outp);
	unlink(errp);
	if (bad)
		fprintf(stderr, "blkrun: %s: exit status %d\n", label,
			WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return bad ? -1 : 0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n ? (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : 0;
}

static struct run guest[MAX_ROUNDS][NPHASE], host[MAX_ROUNDS][NPHASE], base[MAX_ROUNDS];

/* Median over rounds of key k of phase p, from the guest or host runs. */
static double med(struct run (*runs)[NPHASE], int rounds, int p, int k)
{
	double v[MAX_ROUNDS];
	for (int i = 0; i < rounds; i++)
		v[i] = runs[i][p].v[k];
	return median(v, rounds);
}

/* Median over rounds of (exits of phase p - exits of the baseline) / requests. */
static double exits_per_req(int rounds, int p, int kreq, int wait_only)
{
	double v[MAX_ROUNDS];
	int n = 0;
	for (int i = 0; i < rounds; i++) {
		const struct run *g = &guest[i][p], *b = &base[i];
		long long e = wait_only ? g->wait_exits - b->wait_exits : g->exits - b->exits;
		if (g->exits < 0 || b->exits < 0 || g->v[kreq] <= 0)
			continue;
		v[n++] = (double)e / g->v[kreq];
	}
	return n ? median(v, n) : -1;
}

/* Median over rounds of (exits of phase p - baseline) / (virtio requests of p - baseline). */
static double exits_per_vreq(int rounds, int p)
{
	double v[MAX_ROUNDS];
	int n = 0;
	for (int i = 0; i < rounds; i++) {
		const struct run *g = &guest[i][p], *b = &base[i];
		long long q = g->dev_reqs - (b->dev_reqs > 0 ? b->dev_reqs : 0);
		if (g->exits < 0 || b->exits < 0 || g->dev_reqs < 0 || q <= 0)
			continue;
		v[n++] = (double)(g->exits - b->exits) / (double)q;
	}
	return n ? median(v, n) : -1;
}

/* Median over rounds of QueueNotify writes (ioeventfd, no user-space exit) per app operation. */
static double notifies_per_op(int rounds, int p, int kreq)
{
	double v[MAX_ROUNDS];
	int n = 0;
	for (int i = 0; i < rounds; i++) {
		const struct run *g = &guest[i][p], *b = &base[i];
		if (g->notifies < 0 || g->v[kreq] <= 0)
			continue;
		v[n++] = (double)(g->notifies - (b->notifies > 0 ? b->notifies : 0)) / g->v[kreq];
	}
	return n ? median(v, n) : -1;
}

/* Median over rounds of virtio requests per app operation (how the driver split them). */
static double vreqs_per_op(int rounds, int p, int kreq)
{
	double v[MAX_ROUNDS];
	int n = 0;
	for (int i = 0; i < rounds; i++) {
		const struct run *g = &guest[i][p], *b = &base[i];
		if (g->dev_reqs < 0 || g->v[kreq] <= 0)
			continue;
		v[n++] = (double)(g->dev_reqs - (b->dev_reqs > 0 ? b->dev_reqs : 0)) / g->v[kreq];
	}
	return n ? median(v, n) : -1;
}

static void row(const char *name, double g, double h, int higher_better)
{
	double ratio = h > 0 ? g / h : 0;
	printf("  %-40s %12.1f %12.1f %8.2f%s\n", name, g, h, ratio, higher_better ? "" : "  (lower is better)");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: blkrun BUILD_DIR\n");
		return 2;
	}
	const char *b = argv[1];
	int rounds = getenv("BLK_BENCH_ROUNDS") ? atoi(getenv("BLK_BENCH_ROUNDS")) : 3;
	const char *secs = getenv("BLK_BENCH_SECS") ? getenv("BLK_BENCH_SECS") : "3";
	if (rounds < 1 || rounds > MAX_ROUNDS)
		rounds = 3;
	char file[4096], mon[4096], img[4096], hostbin[4096], disk[4200];
	snprintf(file, sizeof(file), "%s/bench/blk-1g.img", b);
	snprintf(mon, sizeof(mon), "%s/ukvm-run", b);
	snprintf(img, sizeof(img), "%s/apps/blkbench.img", b);
	snprintf(hostbin, sizeof(hostbin), "%s/bench/blkbench-host", b);
	snprintf(disk, sizeof(disk), "%s", file);
	if (make_file(file))
		return 1;
	/* UKVM_BENCH_PV=auto|off|on: the monitor's --pv, to compare the base and the PV mode. */
	char *pv = getenv("UKVM_BENCH_PV") ? getenv("UKVM_BENCH_PV") : "auto";
	printf("blkrun: ukvm-run --pv %s\n", pv);
	int failed = 0;
	for (int i = 0; i < rounds; i++) {
		char *bargv[] = {mon, "--pv", pv, "--stats", "--disk", disk, img, "--", "/dev/vda", "none", (char *)secs, NULL};
		failed |= run("guest none", bargv, &base[i]);
		for (int p = 0; p < NPHASE; p++) {
			char *gargv[] = {mon, "--pv", pv, "--stats", "--disk", disk, img, "--", "/dev/vda", (char *)phase_name[p],
					 (char *)secs, NULL};
			char *hargv[] = {hostbin, file, (char *)phase_name[p], (char *)secs, NULL};
			char label[64];
			snprintf(label, sizeof(label), "guest %s", phase_name[p]);
			failed |= run(label, gargv, &guest[i][p]);
			snprintf(label, sizeof(label), "host %s", phase_name[p]);
			failed |= run(label, hargv, &host[i][p]);
		}
	}
	printf("bench-blk: %s (1 GiB), %d rounds alternating guest/host, up to %s s per phase.\n", file, rounds, secs);
	printf("  Host page cache NOT dropped: guest (ukvm-run --disk, no ,direct) and host both run warm.\n");
	printf("  %-40s %12s %12s %8s\n", "figure (median over rounds)", "guest", "host", "g/h");
	row("4 KiB random read QD1, IOPS", med(guest, rounds, RAND, K_RAND_IOPS), med(host, rounds, RAND, K_RAND_IOPS), 1);
	row("4 KiB random read p50, us", med(guest, rounds, RAND, K_RAND_P50), med(host, rounds, RAND, K_RAND_P50), 0);
	row("4 KiB random read p99, us", med(guest, rounds, RAND, K_RAND_P99), med(host, rounds, RAND, K_RAND_P99), 0);
	row("1 MiB sequential read, MB/s", med(guest, rounds, SEQ, K_SEQ_MBPS), med(host, rounds, SEQ, K_SEQ_MBPS), 1);
	row("4 KiB random write+fdatasync/64, IOPS", med(guest, rounds, WRITE, K_WRITE_IOPS),
	    med(host, rounds, WRITE, K_WRITE_IOPS), 1);
	row("4 KiB write p50 (pwrite alone), us", med(guest, rounds, WRITE, K_WRITE_P50),
	    med(host, rounds, WRITE, K_WRITE_P50), 0);
	row("4 KiB write p99 (pwrite alone), us", med(guest, rounds, WRITE, K_WRITE_P99),
	    med(host, rounds, WRITE, K_WRITE_P99), 0);
	row("fdatasync after 64 writes, mean us", med(guest, rounds, WRITE, K_SYNC_MEAN),
	    med(host, rounds, WRITE, K_SYNC_MEAN), 0);
	row("4 KiB rand read + 3 getppid, IOPS", med(guest, rounds, SYS, K_SYS_IOPS), med(host, rounds, SYS, K_SYS_IOPS), 1);
	row("  its read p50, us", med(guest, rounds, SYS, K_SYS_P50), med(host, rounds, SYS, K_SYS_P50), 0);
	row("  its read p90, us", med(guest, rounds, SYS, K_SYS_P90), med(host, rounds, SYS, K_SYS_P90), 0);
	row("  its read p99, us", med(guest, rounds, SYS, K_SYS_P99), med(host, rounds, SYS, K_SYS_P99), 0);
	printf("  exits per request (guest; minus a baseline run that does no I/O; from --stats):\n");
	printf("    %-24s %12s %12s %12s %14s %12s\n", "", "per app op", "(wait only)", "virtio reqs", "per virtio req",
	       "notifies/op");
	static const int kreq[NPHASE] = {K_SEQ_REQS, K_RAND_REQS, K_WRITE_REQS, K_SYS_REQS};
	static const char *const what[NPHASE] = {"1 MiB sequential read", "4 KiB random read QD1",
						 "4 KiB write (+FLUSH/64)", "4 KiB read + 3 getppid"};
	for (int p = 0; p < NPHASE; p++)
		printf("    %-24s %12.2f %12.2f %12.2f %14.2f %12.2f\n", what[p], exits_per_req(rounds, p, kreq[p], 0),
		       exits_per_req(rounds, p, kreq[p], 1), vreqs_per_op(rounds, p, kreq[p]), exits_per_vreq(rounds, p),
		       notifies_per_op(rounds, p, kreq[p]));
	printf("    (virtio reqs = requests per app op: a 1 MiB read() is split by the driver into that many\n"
	       "     requests in flight at once; per virtio req is the figure at that queue depth;\n"
	       "     exits = KVM_RUN returns seen by the monitor; notifies are ioeventfd writes, which\n"
	       "     cost an in-kernel exit each (~12 us on PVM) but never reach the monitor)\n");
	printf("  raw --stats, last round: none: %s\n", base[rounds - 1].stats[0] ? base[rounds - 1].stats : "(none)");
	for (int p = 0; p < NPHASE; p++)
		printf("    %s: %s\n", phase_name[p], guest[rounds - 1][p].stats[0] ? guest[rounds - 1][p].stats : "(none)");
	if (failed)
		printf("bench-blk: some runs FAILED (see stderr above); figures from them are 0\n");
	return failed ? 1 : 0;
}
