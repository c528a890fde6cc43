/* check_snapshot.c: snapshot and restore under KVM, both CPU modes: same output as an uninterrupted run, many VMs from one snapshot, disks, refusals, libukvm. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "it_util.h"
#include "mmio.h"
#include "netns.h"
#include "snap.h"
#include "snapvm.h"
#include "vm.h"

enum { X_USAGE = 120, X_IMAGE = 121 };

/* Loop index 0: the base mode (--pv off); 1: the default (pvm-pv where the host has it). */
static const char *const modes[2] = { "off", "auto" };

/* Files under /tmp, removed at exit even when an assertion ends the test. */
static char files[16][64];
static int nfiles;

static void files_cleanup(void)
{
	for (int i = 0; i < nfiles; i++)
		unlink(files[i]);
	nfiles = 0;
}

static const char *tmp_file(const char *what, long size)
{
	static int registered;
	if (!registered++)
		atexit(files_cleanup);
	ck_assert_int_lt(nfiles, 16);
	char *path = files[nfiles];
	snprintf(path, sizeof(files[0]), "/tmp/ukvm-%s-XXXXXX", what);
	int fd = mkstemp(path);
	ck_assert_msg(fd >= 0, "mkstemp: %s", strerror(errno));
	nfiles++;
	if (size)
		ck_assert_int_eq(ftruncate(fd, size), 0);
	close(fd);
	return path;
}

/* The first line of out starting with prefix, copied into buf without its newline; "" when none. */
static const char *line(const char *out, const char *prefix, char *buf, size_t len)
{
	size_t pl = strlen(prefix);
	buf[0] = '\0';
	for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, prefix, pl)) {
			size_t n = strcspn(p, "\n");
			snprintf(buf, len, "%.*s", (int)n, p);
			break;
		}
	return buf;
}

/* snapfn.img's path, copied: it_path's buffer is reused by it_run. */
static const char *app_img(void)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s", it_path("apps/snapfn.img"));
	return path;
}

static double now_real_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The size of the file at path (0 when it cannot be read). */
static off_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) ? 0 : st.st_size;
}

/* Runs ukvm-run with args and input on its stdin (a pipe, then end of file). */
static void run_input(struct it_result *r, const char *const *args, const char *input)
{
	int in[2];
	struct it_proc p;
	ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
	ck_assert_int_eq(write(in[1], input, strlen(input)), (ssize_t)strlen(input));
	close(in[1]);
	ck_assert_int_eq(it_start_in(&p, NULL, args, in[0]), 0);
	close(in[0]);
	ck_assert_int_eq(it_finish(&p, 0, 60, r, NULL), 0);
}

/*
 * Boots snapfn (with args) under --snapshot-when-idle into a new file, its
 * stdin open and empty (snapfn waits there for its request, its sleeper
 * beside it: the idle point); returns its path.
 */
static const char *snapshot(const char *mode, const char *disk, const char *const *app_args, struct it_result *r)
{
	const char *snap = tmp_file("snap", 0);
	const char *args[16] = { "--pv", mode, "--snapshot-when-idle", snap };
	int n = 4;
	if (disk) {
		args[n++] = "--disk";
		args[n++] = disk;
	}
	args[n++] = app_img();
	for (int i = 0; app_args && app_args[i]; i++)
		args[n++] = app_args[i];
	ck_assert_int_eq(it_run_waiting(r, 60, args), 0);
	ck_assert_msg(r->status == 0, "snapshot run: status %d\nout: %s\nerr: %s", r->status, r->out, r->err);
	ck_assert_msg(strstr(r->err, "snapshot written to"), "err: %s", r->err);
	return snap;
}

/*
 * Idle means waiting on input (issue 8): snapfn late sleeps 150 ms in its
 * initialisation (a pure sleep, which was idle before: the snapshot run
 * printed nothing), says "ready", then waits for its request on stdin by a
 * read, a poll, an epoll_wait, or a read with a thread sleeping 300 ms
 * beside it (which does not keep the VM from idling: the snapshot is taken
 * before the sleeper wakes). The snapshot holds "ready"; its restore
 * answers the request the restoring run gives.
 */
START_TEST(idle_is_waiting_on_input)
{
	static const char *const hows[] = { "read", "poll", "epoll", "thread" };
	const char *mode = modes[_i % 2], *how = hows[_i / 2];
	bool thread = !strcmp(how, "thread");
	const char *snap = tmp_file("snap", 0);
	struct it_result r;
	const char *args[] = { "--pv", mode, "--snapshot-when-idle", snap, app_img(), "late", how, NULL };
	ck_assert_int_eq(it_run_waiting(&r, 60, args), 0);
	ck_assert_msg(r.status == 0 && strstr(r.err, "snapshot written to"), "%s: status %d\nout: %s\nerr: %s", how,
		      r.status, r.out, r.err);
	ck_assert_msg(!strcmp(r.out, "ready\n"), "%s: snapshotted before the wait for input: out \"%s\"", how, r.out);
	it_result_free(&r);
	const char *rargs[] = { "--pv", mode, "--restore", snap, NULL };
	run_input(&r, rargs, "world\n");
	ck_assert_msg(r.status == 0, "%s: restore: status %d\nout: %s\nerr: %s", how, r.status, r.out, r.err);
	ck_assert_str_eq(r.out, thread ? "slept\nhello, world\n" : "hello, world\n");
	it_result_free(&r);
}
END_TEST

/*
 * ukvm-run --snapshot-then continue: the run writes the snapshot at its
 * idle point (the guest waiting for its request), then goes on as if
 * nothing happened: the output and exit status of an uninterrupted run
 * (snapfn late read 7: "ready", "hello, world", status 7). The file
 * restores: the restored VM answers its own request, status 7.
 */
START_TEST(snapshot_then_continue)
{
	const char *mode = modes[_i];
	const char *snap = tmp_file("snap", 0);
	struct it_result full, r;
	const char *fargs[] = { "--pv", mode, app_img(), "late", "read", "7", NULL };
	run_input(&full, fargs, "world\n");
	ck_assert_msg(full.status == 7 && !strcmp(full.out, "ready\nhello, world\n"), "status %d\nout: %s\nerr: %s",
		      full.status, full.out, full.err);

	int in[2];
	struct it_proc p;
	ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
	const char *args[] = { "--pv", mode, "--snapshot-when-idle", snap, "--snapshot-then", "continue", app_img(),
			       "late", "read", "7", NULL };
	ck_assert_int_eq(it_start_in(&p, NULL, args, in[0]), 0);
	close(in[0]);
	/* The file is written in the idle WAIT: input given once it has bytes comes after the snapshot. */
	for (int i = 0; i < 30000 && !file_size(snap); i++)
		usleep(1000);
	ck_assert_msg(file_size(snap) > 0, "no snapshot written within 30 s");
	ck_assert_int_eq(write(in[1], "world\n", 6), 6);
	close(in[1]);
	ck_assert_int_eq(it_finish(&p, 0, 60, &r, NULL), 0);
	ck_assert_msg(r.status == full.status, "status %d, uninterrupted %d\nerr: %s", r.status, full.status, r.err);
	ck_assert_str_eq(r.out, full.out);
	ck_assert_ptr_null(strstr(r.err, "ukvm-run:")); /* no error, and no "snapshot written": the run went on */
	it_result_free(&r);

	const char *rargs[] = { "--pv", mode, "--restore", snap, NULL };
	run_input(&r, rargs, "again\n");
	ck_assert_msg(r.status == 7, "restore: status %d\nout: %s\nerr: %s", r.status, r.out, r.err);
	ck_assert_str_eq(r.out, "hello, again\n");
	it_result_free(&r);
	it_result_free(&full);
}
END_TEST

/* An uninterrupted run and snapshot + restore print the same, but for the random bytes and the time. */
START_TEST(restore_same_output)
{
	const char *mode = modes[_i];
	struct it_result full, snap_run, res;
	const char *args[] = { "--pv", mode, app_img(), NULL };
	ck_assert_int_eq(it_run(&full, 60, args), 0);
	ck_assert_msg(full.status == 0, "status %d: %s", full.status, full.err);
	const char *snap = snapshot(mode, NULL, NULL, &snap_run);
	char a[128], b[128];
	/* The snapshot run stopped at the idle point: only the first part was printed. */
	ck_assert_str_eq(line(snap_run.out, "before", a, sizeof(a)), line(full.out, "before", b, sizeof(b)));
	ck_assert_ptr_null(strstr(snap_run.out, "after"));
	const char *rargs[] = { "--pv", mode, "--restore", snap, NULL };
	double t0 = now_real_s();
	ck_assert_int_eq(it_run(&res, 60, rargs), 0);
	double t1 = now_real_s();
	ck_assert_msg(res.status == 0, "restore: status %d\nout: %s\nerr: %s", res.status, res.out, res.err);
	ck_assert_ptr_null(strstr(res.out, "before")); /* resumed, not rebooted */
	ck_assert_str_eq(line(res.out, "after", a, sizeof(a)), line(full.out, "after", b, sizeof(b)));
	ck_assert_str_eq(line(res.out, "mono", a, sizeof(a)), "mono ok");
	ck_assert_str_ne(line(res.out, "rand", a, sizeof(a)), line(full.out, "rand", b, sizeof(b)));
	/* The guest's realtime is the host's at restore, not the snapshot's. */
	double t = atof(line(res.out, "time ", a, sizeof(a)) + 5) / 1e9;
	ck_assert_msg(t >= t0 - 1 && t <= t1 + 1, "guest realtime %.3f outside [%.3f, %.3f]", t, t0, t1);
	it_result_free(&full);
	it_result_free(&snap_run);
	it_result_free(&res);
}
END_TEST

/*
 * 100 VMs from one snapshot, N_WINDOW running at once: each resumes, with its
 * own random numbers and a correct clock. The window keeps this 2-core host's
 * load bounded (all 100 at once: ~100 processes and 100 VMs' page tables);
 * the test takes ~1 s a mode here.
 */
#define N_VMS 100
#define N_WINDOW 20
START_TEST(restore_many_concurrently)
{
	const char *mode = modes[_i];
	struct it_result snap_run;
	const char *snap = snapshot(mode, NULL, NULL, &snap_run);
	it_result_free(&snap_run);
	static struct it_proc p[N_VMS];
	static double t0[N_VMS];
	static char rand[N_VMS][64];
	const char *rargs[] = { "--pv", mode, "--restore", snap, NULL };
	int started = 0;
	for (int i = 0; i < N_VMS; i++) {
		/* VMs i .. i + N_WINDOW - 1 run while VM i is waited for (each bounded by its own 60 s). */
		for (; started < N_VMS && started < i + N_WINDOW; started++) {
			t0[started] = now_real_s();
			ck_assert_int_eq(it_start(&p[started], NULL, rargs), 0);
		}
		struct it_result r;
		char a[128];
		ck_assert_int_eq(it_finish(&p[i], 0, 60, &r, NULL), 0);
		double t1 = now_real_s();
		ck_assert_msg(r.status == 0, "VM %d: status %d\nerr: %s", i, r.status, r.err);
		ck_assert_str_eq(line(r.out, "mono", a, sizeof(a)), "mono ok");
		ck_assert_str_ne(line(r.out, "after", a, sizeof(a)), "");
		double t = atof(line(r.out, "time ", a, sizeof(a)) + 5) / 1e9;
		ck_assert_msg(t >= t0[i] - 1 && t <= t1 + 1, "VM %d: realtime %.3f outside [%.3f, %.3f]", i, t, t0[i], t1);
		snprintf(rand[i], sizeof(rand[i]), "%s", line(r.out, "rand", a, sizeof(a)));
		ck_assert_uint_eq(strlen(rand[i]), 5 + 32);
		for (int j = 0; j < i; j++)
			ck_assert_msg(strcmp(rand[i], rand[j]), "VMs %d and %d drew the same random bytes", j, i);
		it_result_free(&r);
	}
}
END_TEST

/* The snapshot file at path parsed whole (snap_parse): 0 and v->meta valid while *map stays mapped, else < 0. */
static int race_parse(const char *path, void **map, size_t *size, struct snap_view *v)
{
	char err[256];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	*size = (size_t)st.st_size;
	*map = mmap(NULL, *size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	ck_assert_ptr_ne(*map, MAP_FAILED);
	return snap_parse(*map, *size, *size, v, err, sizeof(err));
}

/*
 * What a snapshot file holds, as CRC32C over each data region (SEEK_DATA /
 * SEEK_HOLE) with its offset and length: a page written, or a hole filled,
 * changes it. Also the bytes the file system holds in *blocks and the data
 * regions' total in *data.
 */
static uint32_t file_sum(const char *path, uint64_t *data, uint64_t *blocks)
{
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	struct stat st;
	ck_assert_int_eq(fstat(fd, &st), 0);
	static uint8_t buf[1 << 20];
	uint32_t crc = 0;
	*data = 0;
	*blocks = (uint64_t)st.st_blocks * 512;
	for (off_t at = 0; at < st.st_size;) {
		off_t d = lseek(fd, at, SEEK_DATA);
		if (d < 0) {
			ck_assert_int_eq(errno, ENXIO); /* no data past at */
			break;
		}
		off_t h = lseek(fd, d, SEEK_HOLE);
		ck_assert_int_gt(h, d);
		uint64_t ext[2] = { (uint64_t)d, (uint64_t)(h - d) };
		crc = snap_crc32c(crc, ext, sizeof(ext));
		*data += ext[1];
		for (off_t o = d; o < h;) {
			size_t n = (size_t)(h - o) < sizeof(buf) ? (size_t)(h - o) : sizeof(buf);
			ck_assert_int_eq(pread(fd, buf, n, o), (ssize_t)n);
			crc = snap_crc32c(crc, buf, n);
			o += (off_t)n;
		}
		at = h;
	}
	close(fd);
	return crc;
}

/*
 * The file is never written by a restore: MAP_PRIVATE gives each guest its
 * own copies of the pages it writes (snapfn's computation after the idle
 * point rewrites its array, pages the file holds), four VMs at once and one
 * more after them. Same bytes and holes, same mtime and ctime.
 */
START_TEST(snapshot_file_unchanged_by_restores)
{
	const char *mode = modes[_i];
	struct it_result r;
	const char *snap = snapshot(mode, NULL, NULL, &r);
	it_result_free(&r);
	struct stat before, after;
	/* Blocks are not compared: ext4's writeback may add an extent-tree block to a file nobody wrote. */
	uint64_t data, data2, blocks;
	ck_assert_int_eq(stat(snap, &before), 0);
	uint32_t sum = file_sum(snap, &data, &blocks);
	const char *rargs[] = { "--pv", mode, "--restore", snap, NULL };
	struct it_proc p[4];
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(it_start(&p[i], NULL, rargs), 0);
	for (int i = 0; i < 5; i++) {
		char a[128];
		if (i < 4)
			ck_assert_int_eq(it_finish(&p[i], 0, 60, &r, NULL), 0);
		else
			ck_assert_int_eq(it_run(&r, 60, rargs), 0);
		ck_assert_msg(r.status == 0, "restore %d: status %d\nerr: %s", i, r.status, r.err);
		ck_assert_str_ne(line(r.out, "after", a, sizeof(a)), ""); /* it computed on the restored pages */
		it_result_free(&r);
	}
	ck_assert_int_eq(stat(snap, &after), 0);
	ck_assert_uint_eq(file_sum(snap, &data2, &blocks), sum);
	ck_assert_uint_eq(data2, data);
	ck_assert_int_eq(after.st_size, before.st_size);
	ck_assert_msg(after.st_mtim.tv_sec == before.st_mtim.tv_sec && after.st_mtim.tv_nsec == before.st_mtim.tv_nsec,
		      "mtime changed");
	ck_assert_msg(after.st_ctim.tv_sec == before.st_ctim.tv_sec && after.st_ctim.tv_nsec == before.st_ctim.tv_nsec,
		      "ctime changed");
}
END_TEST

/*
 * Only the pages the guest touched are in the file: a 512 MiB VM's snapshot
 * is a sparse file of 512 MiB plus metadata whose data (the file system's
 * blocks, and its SEEK_DATA regions) is a small part of that, no more than
 * the extents name; it restores under a 512 MiB limit.
 */
#define BIG_MEM (512ull << 20)
START_TEST(snapshot_of_large_memory_is_sparse)
{
	const char *mode = modes[_i];
	const char *snap = tmp_file("snap", 0);
	const char *args[] = { "--pv", mode, "--mem", "512M", "--snapshot-when-idle", snap, app_img(), NULL };
	struct it_result r;
	ck_assert_int_eq(it_run_waiting(&r, 60, args), 0);
	ck_assert_msg(r.status == 0 && strstr(r.err, "snapshot written to"), "status %d\nerr: %s", r.status, r.err);
	it_result_free(&r);
	struct snap_view v;
	void *map;
	size_t size;
	ck_assert_int_eq(race_parse(snap, &map, &size, &v), 0);
	ck_assert_uint_eq(v.hdr->mem_size, BIG_MEM);
	ck_assert_uint_eq(size, v.hdr->mem_off + BIG_MEM);
	uint64_t pages = 0;
	for (uint32_t i = 0; i < v.meta->nextents; i++)
		pages += v.extents[i].npages;
	uint64_t mem_off = v.hdr->mem_off;
	munmap(map, size);
	uint64_t data, blocks;
	(void)file_sum(snap, &data, &blocks);
	/* ext4 and tmpfs keep 4 KiB blocks: the extents' pages plus the header and metadata, a little slack. */
	ck_assert_msg(pages * SNAP_PAGE < BIG_MEM / 16, "%llu pages touched", (unsigned long long)pages);
	ck_assert_msg(data <= mem_off + pages * SNAP_PAGE && blocks <= mem_off + pages * SNAP_PAGE + (1 << 20),
		      "%llu bytes of data, %llu in blocks, for %llu pages and %llu of metadata", (unsigned long long)data,
		      (unsigned long long)blocks, (unsigned long long)pages, (unsigned long long)mem_off);
	ck_assert_msg(blocks < BIG_MEM / 16, "%llu bytes in blocks", (unsigned long long)blocks);
	const char *rargs[] = { "--pv", mode, "--mem", "512M", "--restore", snap, NULL };
	ck_assert_int_eq(it_run(&r, 60, rargs), 0);
	char a[128];
	ck_assert_msg(r.status == 0, "restore: status %d\nout: %s\nerr: %s", r.status, r.out, r.err);
	ck_assert_str_eq(line(r.out, "mono", a, sizeof(a)), "mono ok");
	ck_assert_str_ne(line(r.out, "after", a, sizeof(a)), "");
	it_result_free(&r);
}
END_TEST

/* Copies src to a new file with f applied to its header + metadata (resealed when reseal); returns the path. */
static const char *mangle(const char *src, void (*f)(struct snap_hdr *h, struct snap_meta *m), bool reseal)
{
	const char *dst = tmp_file("bad", 0);
	int in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_TRUNC);
	ck_assert(in >= 0 && out >= 0);
	struct stat st;
	ck_assert_int_eq(fstat(in, &st), 0);
	struct snap_hdr h;
	ck_assert_int_eq(pread(in, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	size_t len = sizeof(h) + h.meta_len;
	uint8_t *buf = malloc(len);
	ck_assert_int_eq(pread(in, buf, len, 0), (ssize_t)len);
	f((struct snap_hdr *)buf, (struct snap_meta *)(buf + sizeof(h)));
	if (reseal) {
		struct snap_hdr *nh = (struct snap_hdr *)buf;
		nh->crc = 0;
		nh->crc = snap_crc32c(0, buf, len);
	}
	/* The memory part as the original has it: copy_file_range keeps the holes' cost low. */
	ck_assert_int_eq(ftruncate(out, st.st_size), 0);
	off_t io = (off_t)len, oo = (off_t)len;
	while (io < st.st_size) {
		ssize_t n = copy_file_range(in, &io, out, &oo, (size_t)(st.st_size - io), 0);
		ck_assert_int_gt(n, 0);
	}
	ck_assert_int_eq(pwrite(out, buf, len, 0), (ssize_t)len);
	free(buf);
	close(in);
	close(out);
	return dst;
}

static void m_magic(struct snap_hdr *h, struct snap_meta *m) { (void)m; h->magic[0] = 'X'; }
static void m_version(struct snap_hdr *h, struct snap_meta *m) { (void)m; h->version = 99; }
static void m_bitflip(struct snap_hdr *h, struct snap_meta *m) { (void)h; m->regs.rip ^= 1; }
static void m_cpu(struct snap_hdr *h, struct snap_meta *m) { (void)h; m->cpu[SNAP_CPU_7_EDX] = 0xffffffffu; }
static void m_tsc(struct snap_hdr *h, struct snap_meta *m) { (void)h; m->tsc_khz *= 2; }
static void m_disk_flags(struct snap_hdr *h, struct snap_meta *m) { (void)h; m->devs[0].flags |= 2; }
/* The MSR list follows the fixed metadata (a snapshot taken here has ~100 entries); its fourth entry. */
static struct snap_msr *msr3(struct snap_meta *m)
{
	ck_assert_uint_gt(m->nmsrs, 3);
	return (struct snap_msr *)(m + 1) + 3;
}
static void m_msr_reserved(struct snap_hdr *h, struct snap_meta *m) { (void)h; msr3(m)->reserved = 1; }
/* An index no KVM lists: past the architectural range 0..0x1fff, below the synthetic 0x40000000. */
static void m_msr_foreign(struct snap_hdr *h, struct snap_meta *m) { (void)h; msr3(m)->index = 0x3000; }

/* A VM snapshotted with a disk resumes its I/O on the disk attached at restore; another disk is refused. */
START_TEST(restore_with_disk)
{
	const char *mode = modes[_i];
	const char *disk = tmp_file("disk", 1 << 20);
	struct it_result snap_run, r;
	const char *app[] = { "60", "/dev/vda", NULL };
	const char *snap = snapshot(mode, disk, app, &snap_run);
	it_result_free(&snap_run);
	const char *rargs[] = { "--pv", mode, "--disk", disk, "--restore", snap, NULL };
	ck_assert_int_eq(it_run(&r, 60, rargs), 0);
	ck_assert_msg(r.status == 0, "status %d\nout: %s\nerr: %s", r.status, r.out, r.err);
	ck_assert_ptr_nonnull(strstr(r.out, "disk ok"));
	it_result_free(&r);
	/* What the restored guest wrote is in the host file, next to what the snapshotted one wrote. */
	unsigned char b[8192];
	int fd = open(disk, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, b, sizeof(b), 0), (ssize_t)sizeof(b));
	close(fd);
	ck_assert(b[0] == 0x5a && b[4095] == 0x5a && b[4096] == 0xa5 && b[8191] == 0xa5);
	/* No disk, or one of another size: refused with one line. */
	const char *none[] = { "--pv", mode, "--restore", snap, NULL };
	ck_assert_int_eq(it_run(&r, 30, none), 0);
	ck_assert_int_eq(r.status, X_USAGE);
	ck_assert_ptr_nonnull(strstr(r.err, "the snapshot has 1 disks and 0 NICs, 0 and 0 given"));
	it_result_free(&r);
	const char *other = tmp_file("disk", 2 << 20);
	const char *bigger[] = { "--pv", mode, "--disk", other, "--restore", snap, NULL };
	ck_assert_int_eq(it_run(&r, 30, bigger), 0);
	ck_assert_int_eq(r.status, X_USAGE);
	ck_assert_ptr_nonnull(strstr(r.err, "vda: disk has 2097152 bytes, the snapshot's had 1048576"));
	it_result_free(&r);
	/* A disk state flag this monitor does not know: the file is refused, not the flag ignored. */
	const char *bad = mangle(snap, m_disk_flags, true);
	const char *flagged[] = { "--pv", mode, "--disk", disk, "--restore", bad, NULL };
	ck_assert_int_eq(it_run(&r, 30, flagged), 0);
	ck_assert_msg(r.status == X_IMAGE && strstr(r.err, "disk 0: unknown flags 0x2"), "status %d, err: %s", r.status,
		      r.err);
	it_result_free(&r);
}
END_TEST

/* Each bad snapshot is refused with one clear line and the image exit code, before any guest code runs. */
START_TEST(bad_snapshots_refused)
{
	struct it_result r;
	const char *snap = snapshot("off", NULL, NULL, &r);
	it_result_free(&r);
	static const struct {
		void (*f)(struct snap_hdr *, struct snap_meta *);
		bool reseal;
		const char *want;
	} cases[] = {
		{ m_magic, true, "not a ukvm snapshot" },
		{ m_version, true, "snapshot format version 99, this ukvm reads version 4" },
		{ m_bitflip, false, "bad checksum" },
		{ m_cpu, true, "features this host lacks" },
		{ m_tsc, true, "kHz TSC" },
		{ m_msr_reserved, true, "): reserved field 0x1, must be 0" },
		{ m_msr_foreign, true, "MSR 0x3000 is not one this host's KVM saves" },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *bad = mangle(snap, cases[i].f, cases[i].reseal);
		const char *args[] = { "--pv", "off", "--restore", bad, NULL };
		ck_assert_int_eq(it_run(&r, 30, args), 0);
		ck_assert_msg(r.status == X_IMAGE && strstr(r.err, cases[i].want) && strchr(r.err, '\n') == strrchr(r.err, '\n'),
			      "case %u: status %d, err: %s", i, r.status, r.err);
		ck_assert_str_eq(r.out, "");
		it_result_free(&r);
		unlink(bad);
	}
	/* Truncated: cut inside the metadata, and inside the memory. */
	struct stat st;
	ck_assert_int_eq(stat(snap, &st), 0);
	const char *cut = tmp_file("cut", 0);
	static const off_t at[] = { 20, 5000, 0 };
	for (unsigned i = 0; i < 3; i++) {
		char cmd[256];
		snprintf(cmd, sizeof(cmd), "cp --sparse=always %s %s", snap, cut);
		ck_assert_int_eq(system(cmd), 0);
		ck_assert_int_eq(truncate(cut, at[i] ? at[i] : st.st_size - 4096), 0);
		const char *args[] = { "--pv", "off", "--restore", cut, NULL };
		ck_assert_int_eq(it_run(&r, 30, args), 0);
		ck_assert_msg(r.status == X_IMAGE && strstr(r.err, "truncated"), "cut %u: status %d, err: %s", i,
			      r.status, r.err);
		it_result_free(&r);
	}
	/* Bigger than the memory limit given; missing. */
	const char *lim[] = { "--pv", "off", "--mem", "64M", "--restore", snap, NULL };
	ck_assert_int_eq(it_run(&r, 30, lim), 0);
	ck_assert_msg(r.status == X_IMAGE && strstr(r.err, "above the limit of 64 MiB"), "err: %s", r.err);
	it_result_free(&r);
	const char *missing[] = { "--restore", "/nonexistent.snap", NULL };
	ck_assert_int_eq(it_run(&r, 30, missing), 0);
	ck_assert_msg(r.status == X_IMAGE && strstr(r.err, "cannot open snapshot"), "err: %s", r.err);
	it_result_free(&r);
}
END_TEST

/* A snapshot taken in pvm-pv mode does not restore in the base mode (and the reverse with --pv on). */
START_TEST(mode_mismatch_refused)
{
	struct it_result r;
	const char *snap = snapshot("auto", NULL, NULL, &r);
	it_result_free(&r);
	struct snap_hdr h;
	struct snap_meta m;
	int fd = open(snap, O_RDONLY);
	ck_assert_int_eq(pread(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	ck_assert_int_eq(pread(fd, &m, sizeof(m), sizeof(h)), (ssize_t)sizeof(m));
	close(fd);
	const char *args[] = { "--pv", m.pv ? "off" : "on", "--restore", snap, NULL };
	ck_assert_int_eq(it_run(&r, 30, args), 0);
	ck_assert_msg(r.status == X_USAGE && strstr(r.err, m.pv ? "--pv off was asked" : "--pv on was asked"),
		      "status %d err: %s", r.status, r.err);
	it_result_free(&r);
}
END_TEST

/*
 * The NIC tests' stage: tcpecho's image into img, and this thread inside a
 * new namespace with tap0 at 10.77.0.1/24. false (said loudly) when the host
 * has no namespaces or tun: the test is SKIPPED.
 */
static bool echo_ns(struct netns *ns, const char *test, char *img, size_t imglen)
{
	char why[512];
	if (!netns_usable(why, sizeof(why))) {
		fprintf(stderr, "SKIPPED: snapshot %s: %s\n", test, why);
		return false;
	}
	snprintf(img, imglen, "%s", it_path("apps/tcpecho.img"));
	ck_assert_msg(netns_create(ns, why, sizeof(why)) == 0, "%s", why);
	ck_assert_msg(netns_add_tap(ns, "tap0", "10.77.0.1/24", why, sizeof(why)) == 0, "%s", why);
	ck_assert_int_eq(netns_enter(ns, false), 0);
	return true;
}

/*
 * A TCP server idle in accept() with a tap NIC, in a namespace of the
 * test's own: --snapshot-when-idle takes it there (the NIC's armed RX read
 * and posted buffers are its rest); restored with the tap re-attached
 * (--net tap:tap0, no address: the guest keeps its own, and the NIC the
 * snapshot's MAC), it serves a client from the host. Then the refusals: a
 * restore without the NIC, and with a user-mode backend, which cannot take
 * the tap's offloads the driver negotiated.
 */
START_TEST(nic_snapshot_serves_after_restore)
{
	const char *mode = modes[_i];
	char img[512];
	struct netns ns;
	if (!echo_ns(&ns, "nic_snapshot_serves_after_restore", img, sizeof(img)))
		return;
	const char *snap = tmp_file("snap", 0);
	struct it_result r;
	const char *args[] = { "--pv", mode, "--net", "tap:tap0,ip=10.77.0.2/24,gw=10.77.0.1", "--snapshot-when-idle",
			       snap, img, "--", "7000", "1", NULL };
	ck_assert_int_eq(it_run(&r, 60, args), 0);
	ck_assert_msg(r.status == 0 && strstr(r.err, "snapshot written to") && strstr(r.out, "listening on 7000"),
		      "snapshot: status %d\nout: %s\nerr: %s", r.status, r.out, r.err);
	it_result_free(&r);

	struct it_proc p;
	const char *rargs[] = { "--pv", mode, "--net", "tap:tap0", "--restore", snap, NULL };
	ck_assert_int_eq(it_start(&p, NULL, rargs), 0);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(7000) };
	ck_assert_int_eq(inet_pton(AF_INET, "10.77.0.2", &sa.sin_addr), 1);
	struct timeval tv = { 30, 0 }; /* a backstop: the kernel retries the SYN until the restored guest answers */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect: %s", strerror(errno));
	static const char msg[] = "after the restore\n";
	ck_assert_int_eq(write(fd, msg, sizeof(msg) - 1), (ssize_t)sizeof(msg) - 1);
	char buf[64];
	size_t got = 0;
	while (got < sizeof(msg) - 1) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
		ck_assert_msg(n > 0, "echo: %zd after %zu bytes (%s)", n, got, n < 0 ? strerror(errno) : "EOF");
		got += (size_t)n;
	}
	buf[got] = 0;
	ck_assert_str_eq(buf, msg);
	close(fd);
	ck_assert_int_eq(it_finish(&p, 0, 30, &r, NULL), 0);
	ck_assert_msg(r.status == 0 && strstr(r.out, "served 1") && !strstr(r.out, "listening"),
		      "restore: status %d\nout: %s\nerr: %s", r.status, r.out, r.err);
	it_result_free(&r);

	const char *none[] = { "--pv", mode, "--restore", snap, NULL };
	ck_assert_int_eq(it_run(&r, 30, none), 0);
	ck_assert_msg(r.status == X_USAGE && strstr(r.err, "the snapshot has 0 disks and 1 NICs, 0 and 0 given"),
		      "status %d err: %s", r.status, r.err);
	it_result_free(&r);
	const char *user[] = { "--pv", mode, "--net", "user", "--restore", snap, NULL };
	ck_assert_int_eq(it_run(&r, 30, user), 0);
	ck_assert_msg(r.status == X_USAGE && strstr(r.err, "eth0: snapshot has features"), "status %d err: %s", r.status,
		      r.err);
	it_result_free(&r);
	netns_destroy(&ns);
}
END_TEST

/* A snapshot that cannot be created or written ends the run with one line: 120 before the guest runs, 125 after. */
START_TEST(unwritable_snapshot)
{
	struct it_result r;
	const char *nodir[] = { "--snapshot-when-idle", "/nonexistent/dir/x.snap", app_img(), NULL };
	ck_assert_int_eq(it_run(&r, 30, nodir), 0);
	ck_assert_msg(r.status == X_USAGE && strstr(r.err, "/nonexistent/dir/x.snap: cannot create snapshot"),
		      "status %d err: %s", r.status, r.err);
	ck_assert_str_eq(r.out, "");
	it_result_free(&r);
	const char *full[] = { "--snapshot-when-idle", "/dev/full", app_img(), NULL };
	ck_assert_int_eq(it_run_waiting(&r, 30, full), 0);
	ck_assert_msg(r.status == 125 && strstr(r.err, "snapshot: "), "status %d err: %s", r.status, r.err);
	ck_assert_ptr_null(strstr(r.out, "after")); /* it stopped at the idle point */
	it_result_free(&r);
}
END_TEST

/*
 * libukvm, seccomp on: snapshots taken on worker threads one after the
 * other in one process (embed-worker, built without ASan: glibc's malloc).
 * The second was killed (SIGSYS): after the first run freed the writer's
 * large buffers glibc had raised its mmap threshold, so the second run's
 * came from the thread's arena, and freeing them under the vCPU thread's
 * filter trimmed it (openat of /proc/sys/vm/overcommit_memory).
 */
START_TEST(embed_snapshots_on_worker_threads)
{
	const char *snap = tmp_file("snap", 0);
	char img[512], prog[512];
	snprintf(img, sizeof(img), "%s", app_img());
	snprintf(prog, sizeof(prog), "%s", it_path("tests/embed-worker"));
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execl(prog, prog, img, snap, "3", it_pv_mode() == UKVM_PV_OFF ? "off" : "auto", (char *)NULL);
		_exit(127);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x (signal %d)", st,
		      WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	struct stat sb;
	ck_assert_int_eq(stat(snap, &sb), 0);
	ck_assert_int_gt(sb.st_size, 0);
}
END_TEST

/* Reads all of fd (a file) from the start. */
static void slurp(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
}

/* Closes fd once the file at path has bytes (the snapshot is being written in the guest's idle WAIT); 30 s at most. */
struct closer {
	const char *path;
	int fd;
	pthread_t t;
};

static void *closer_run(void *arg)
{
	struct closer *c = arg;
	for (int i = 0; i < 30000 && !file_size(c->path); i++)
		usleep(1000);
	close(c->fd);
	return NULL;
}

/* libukvm: snapshot_continue runs the guest to its end after writing; that snapshot restores in process, twice. */
START_TEST(embed_snapshot_continue_and_restore)
{
	const char *snap = tmp_file("snap", 0);
	int out = memfd_create("out", 0), in[2];
	ck_assert_int_ge(out, 0);
	ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
	char img[512], err[256], buf[1024], a[128], b[128];
	snprintf(img, sizeof(img), "%s", app_img());
	struct ukvm_config cfg = { .size = sizeof(cfg), .pv = it_pv_mode(), .image = img, .console_fd = out,
				   .console_err_fd = -1, .console_in_fd = in[0], .snapshot_when_idle = snap,
				   .snapshot_continue = true };
	struct ukvm_vm *vm;
	ck_assert_msg(ukvm_create(&cfg, &vm, err, sizeof(err)) == UKVM_OK, "%s", err);
	/* snapfn waits on its stdin (the idle point); the end of it, after the snapshot, lets it go on. */
	struct closer cl = { .path = snap, .fd = in[1] };
	ck_assert_int_eq(pthread_create(&cl.t, NULL, closer_run, &cl), 0);
	struct ukvm_result res = { .size = sizeof(res) };
	ck_assert_int_eq(ukvm_run(vm, &res), 0);
	pthread_join(cl.t, NULL);
	close(in[0]);
	cfg.console_in_fd = -1;
	ck_assert_msg(res.kind == UKVM_EXITED && res.status == 0, "kind %d: %s", res.kind, res.msg);
	ukvm_destroy(vm);
	slurp(out, buf, sizeof(buf));
	ck_assert_str_ne(line(buf, "after", a, sizeof(a)), ""); /* it went on */
	close(out);
	/* Restored alone, then on a host whose pool maps the snapshot over a ready shell's RAM (hostpool.h). */
	struct ukvm_host *fast;
	ck_assert_msg(ukvm_host_open_flags(&fast, UKVM_HOST_FAST, err, sizeof(err)) == UKVM_OK, "%s", err);
	ukvm_host_quiesce(fast);
	for (int i = 0; i < 4; i++) {
		out = memfd_create("out", 0);
		/* Odd runs by ukvm_restore, whose snapshot replaces the config's restore. */
		struct ukvm_config rc = { .size = sizeof(rc), .pv = it_pv_mode(), .restore = i % 2 ? "/nonexistent" : snap,
					  .console_fd = out, .console_err_fd = -1, .host = i < 2 ? NULL : fast };
		int r = i % 2 ? ukvm_restore(snap, &rc, &vm, err, sizeof(err)) : ukvm_create(&rc, &vm, err, sizeof(err));
		ck_assert_msg(r == UKVM_OK, "%s", err);
		res = (struct ukvm_result){ .size = sizeof(res) };
		ck_assert_int_eq(ukvm_run(vm, &res), 0);
		ck_assert_msg(res.kind == UKVM_EXITED && res.status == 0, "kind %d: %s", res.kind, res.msg);
		ukvm_destroy(vm);
		char buf2[1024];
		slurp(out, buf2, sizeof(buf2));
		close(out);
		ck_assert_str_eq(line(buf2, "after", a, sizeof(a)), line(buf, "after", b, sizeof(b)));
		ck_assert_str_ne(line(buf2, "rand", a, sizeof(a)), line(buf, "rand", b, sizeof(b)));
	}
	ukvm_host_close(fast);
	/* A run that never gets idle (hello exits at once) writes no snapshot; UKVM_SNAPSHOTTED otherwise. */
	snprintf(img, sizeof(img), "%s", it_path("apps/hello.img"));
	cfg.snapshot_continue = false;
	cfg.console_fd = -1;
	ck_assert_msg(ukvm_create(&cfg, &vm, err, sizeof(err)) == UKVM_OK, "%s", err);
	res = (struct ukvm_result){ .size = sizeof(res) };
	ck_assert_int_eq(ukvm_run(vm, &res), 0);
	ck_assert_int_eq(res.kind, UKVM_EXITED);
	ukvm_destroy(vm);
	struct stat st;
	ck_assert_int_eq(stat(snap, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	struct ukvm_config rc = { .size = sizeof(rc), .restore = snap, .console_fd = -1 };
	ck_assert_int_eq(ukvm_create(&rc, &vm, err, sizeof(err)), UKVM_ERR_IMAGE);
	ck_assert_ptr_nonnull(strstr(err, "truncated"));
	ck_assert_int_eq(ukvm_restore(snap, &rc, &vm, err, sizeof(err)), UKVM_ERR_IMAGE);
	ck_assert_ptr_nonnull(strstr(err, "truncated"));
	/* No snapshot is a config error, never a boot of the config's image. */
	rc = (struct ukvm_config){ .size = sizeof(rc), .image = img, .console_fd = -1 };
	ck_assert_int_eq(ukvm_restore(NULL, &rc, &vm, err, sizeof(err)), UKVM_ERR_CONFIG);
	ck_assert_str_eq(err, "no snapshot given");
	ck_assert_ptr_null(vm);
}
END_TEST

/* Snapshots (mode 0600) of snapfn into path on host: the sleeper, or the hello function waiting on stdin. */
static void embed_snapshot(struct ukvm_host *host, const char *path, bool hello)
{
	static const char *const hello_args[] = { "stdin", NULL };
	char img[512], err[256];
	int in[2];
	ck_assert_int_eq(pipe(in), 0);
	snprintf(img, sizeof(img), "%s", app_img());
	struct ukvm_config cfg = { .size = sizeof(cfg), .pv = it_pv_mode(), .host = host, .image = img, .console_fd = -1,
				   .console_err_fd = -1, .console_in_fd = in[0], .argv = hello ? hello_args : NULL,
				   .snapshot_when_idle = path, .timeout_ms = 60000 };
	struct ukvm_vm *vm;
	ck_assert_msg(ukvm_create(&cfg, &vm, err, sizeof(err)) == UKVM_OK, "%s", err);
	struct ukvm_result res = { .size = sizeof(res) };
	ck_assert_int_eq(ukvm_run(vm, &res), 0);
	ck_assert_msg(res.kind == UKVM_SNAPSHOTTED, "kind %d: %s", res.kind, res.msg);
	ukvm_destroy(vm);
	close(in[0]);
	close(in[1]);
}

/* One restore of path on host with "world" on stdin: its stdout in out[len]. */
static void embed_restore(struct ukvm_host *host, const char *path, char *out, size_t len)
{
	int o = memfd_create("out", 0), in[2];
	ck_assert_int_ge(o, 0);
	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(write(in[1], "world\n", 6), 6);
	close(in[1]);
	char err[256];
	struct ukvm_config rc = { .size = sizeof(rc), .pv = it_pv_mode(), .host = host, .restore = path, .console_fd = o,
				  .console_err_fd = -1, .console_in_fd = in[0], .timeout_ms = 60000 };
	struct ukvm_vm *vm;
	ck_assert_msg(ukvm_create(&rc, &vm, err, sizeof(err)) == UKVM_OK, "%s", err);
	struct ukvm_result res = { .size = sizeof(res) };
	ck_assert_int_eq(ukvm_run(vm, &res), 0);
	ck_assert_msg(res.kind == UKVM_EXITED && res.status == 0, "kind %d: %s", res.kind, res.msg);
	ukvm_destroy(vm);
	slurp(o, out, len);
	close(o);
	close(in[0]);
}

/*
 * A UKVM_HOST_FAST host keeps restore shells (hostpool.h: the snapshot's memory mapped and copied in ahead) for a
 * snapshot it restored: they are built (two more VM fds), restores from them answer right, and a snapshot file
 * rewritten in place is never served from shells of its old version: the new one's answer comes back, and shells
 * of the new version replace the old ones. Closing the host frees them all.
 */
START_TEST(restore_shells_follow_the_file)
{
	const char *snap = tmp_file("snap", 0);
	char err[256], out[1024], a[128];
	unsigned fds0 = it_fds_to("anon_inode:kvm-vm");
	struct ukvm_host *h;
	ck_assert_msg(ukvm_host_open_flags(&h, UKVM_HOST_FAST, err, sizeof(err)) == UKVM_OK, "%s", err);
	embed_snapshot(h, snap, false);
	ukvm_host_quiesce(h);
	unsigned fds1 = it_fds_to("anon_inode:kvm-vm"); /* the idle VM and the pool's generic shells */
	embed_restore(h, snap, out, sizeof(out)); /* the first restore notes the snapshot */
	ck_assert_str_ne(line(out, "after", a, sizeof(a)), "");
	ukvm_host_quiesce(h);
	ck_assert_uint_eq(it_fds_to("anon_inode:kvm-vm"), fds1 + 2); /* HOSTPOOL_SNAP_DEPTH restore shells for it */
	for (int i = 0; i < 3; i++) {
		embed_restore(h, snap, out, sizeof(out));
		ck_assert_msg(strstr(out, "after ") && strstr(out, "mono ok"), "%s", out);
		ukvm_host_quiesce(h);
	}
	/* Rewritten in place (same path, same inode): the hello function now. */
	embed_snapshot(h, snap, true);
	embed_restore(h, snap, out, sizeof(out));
	ck_assert_msg(!strcmp(out, "hello, world\n"), "a stale restore shell answered: %s", out);
	ukvm_host_quiesce(h);
	ck_assert_uint_eq(it_fds_to("anon_inode:kvm-vm"), fds1 + 2); /* the old version's shells freed, the new one's built */
	for (int i = 0; i < 3; i++) {
		embed_restore(h, snap, out, sizeof(out));
		ck_assert_str_eq(out, "hello, world\n");
	}
	ukvm_host_close(h);
	ck_assert_uint_eq(it_fds_to("anon_inode:kvm-vm"), fds0);
}
END_TEST


/* ------------------------------------------------------------- ukvm_snapshot */

/* A VM run by ukvm_run on a thread of its own, as an embedder's worker would. */
struct api_run {
	struct ukvm_vm *vm;
	struct ukvm_result res;
	pthread_t t;
};

static void *api_runner(void *p)
{
	struct api_run *a = p;
	a->res = (struct ukvm_result){ .size = sizeof(a->res) };
	(void)ukvm_run(a->vm, &a->res);
	return NULL;
}

/* snapfn with args (NULL-terminated, argv0 not included), stdout into out, stdin from in (-1: none). */
static struct ukvm_vm *api_create(enum ukvm_pv pv, const char *snap_or_null, const char *const *args, int out, int in)
{
	char img[512], err[256];
	snprintf(img, sizeof(img), "%s", app_img());
	struct ukvm_config cfg = { .size = sizeof(cfg), .pv = pv, .image = snap_or_null ? NULL : img,
				   .restore = snap_or_null, .argv = snap_or_null ? NULL : args, .console_fd = out,
				   .console_err_fd = -1, .console_in_fd = in, .timeout_ms = 120000, .seccomp = true };
	struct ukvm_vm *vm;
	ck_assert_msg(ukvm_create(&cfg, &vm, err, sizeof(err)) == UKVM_OK, "%s", err);
	return vm;
}

/* Waits (up to 60 s) until the memfd fd holds text. */
static bool api_wait_output(int fd, const char *text)
{
	char buf[4096];
	for (int i = 0; i < 60000; i++) {
		slurp(fd, buf, sizeof(buf));
		if (strstr(buf, text))
			return true;
		usleep(1000);
	}
	return false;
}

/* The snapshot file's vCPU flags (SNAP_VCPU_*), read from its metadata. */
static uint32_t api_snap_flags(const char *path)
{
	struct {
		struct snap_hdr h;
		struct snap_meta m;
	} f;
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &f, sizeof(f), 0), (ssize_t)sizeof(f));
	close(fd);
	return f.m.vcpu_flags;
}

/* Runs vm to its end on a thread (its seccomp filter stays with that thread); its stdout (the memfd out) into buf. */
static void api_run_to_end(struct ukvm_vm *vm, int out, char *buf, size_t len)
{
	struct api_run r = { .vm = vm };
	ck_assert_int_eq(pthread_create(&r.t, NULL, api_runner, &r), 0);
	pthread_join(r.t, NULL);
	ck_assert_msg(r.res.kind == UKVM_EXITED && r.res.status == 0, "kind %d status %d: %s", r.res.kind,
		      r.res.status, r.res.msg);
	ukvm_destroy(vm);
	slurp(out, buf, len);
}

#define API_ROUNDS "100000" /* ~1 s of snapfn's mix on this host: the snapshot lands inside it */

/*
 * Runs snapfn args (a compute mode) until it prints "start", then
 * ukvm_snapshot into snap with UKVM_SNAPSHOT_STOP: taken running, inside
 * the computation (its result not printed yet).
 */
static void api_snapshot_computing(enum ukvm_pv pv, const char *const *args, const char *snap)
{
	char buf[1024], err[256];
	int out = memfd_create("out", 0);
	struct api_run r = { .vm = api_create(pv, NULL, args, out, -1) };
	ck_assert_int_eq(pthread_create(&r.t, NULL, api_runner, &r), 0);
	ck_assert_msg(api_wait_output(out, "start\n"), "the guest never started computing");
	int rc = ukvm_snapshot(r.vm, snap, UKVM_SNAPSHOT_STOP, err, sizeof(err));
	pthread_join(r.t, NULL);
	ck_assert_msg(rc == 0, "ukvm_snapshot: %d: %s", rc, err);
	ck_assert_msg(r.res.kind == UKVM_SNAPSHOTTED && r.res.status == 0, "kind %d: %s", r.res.kind, r.res.msg);
	ck_assert_ptr_nonnull(strstr(r.res.msg, snap));
	ukvm_destroy(r.vm);
	slurp(out, buf, sizeof(buf));
	close(out);
	ck_assert_msg(!strstr(buf, "result"), "the computation ended before the snapshot: %s", buf);
	ck_assert_uint_eq(api_snap_flags(snap) & SNAP_VCPU_RUNNING, SNAP_VCPU_RUNNING);
}

/*
 * libukvm, both modes: ukvm_snapshot from another thread while the guest
 * computes (no WAIT: the vCPU is kicked out of KVM_RUN), the run ends there
 * (UKVM_SNAPSHOT_STOP); two restores finish the computation with the result
 * of an uninterrupted run, each with its own random bytes and the host's
 * realtime, the monotonic clock never backwards.
 */
START_TEST(api_snapshot_mid_computation)
{
	enum ukvm_pv pv = _i ? it_pv_mode() : UKVM_PV_OFF;
	static const char *const args[] = { "compute", API_ROUNDS, NULL };
	const char *snap = tmp_file("snap", 0);
	char full[1024], buf[1024], a[128], b[128];
	int out = memfd_create("out", 0);
	api_run_to_end(api_create(pv, NULL, args, out, -1), out, full, sizeof(full));
	close(out);
	ck_assert_str_ne(line(full, "result", a, sizeof(a)), "");
	api_snapshot_computing(pv, args, snap);

	char rand0[128] = "";
	for (int i = 0; i < 2; i++) {
		out = memfd_create("out", 0);
		double t0 = now_real_s();
		api_run_to_end(api_create(pv, snap, NULL, out, -1), out, buf, sizeof(buf));
		double t1 = now_real_s();
		close(out);
		ck_assert_msg(!strstr(buf, "start"), "rebooted, not resumed: %s", buf);
		ck_assert_str_eq(line(buf, "result", a, sizeof(a)), line(full, "result", b, sizeof(b)));
		ck_assert_str_eq(line(buf, "mono", a, sizeof(a)), "mono ok");
		double t = atof(line(buf, "time ", a, sizeof(a)) + 5) / 1e9;
		ck_assert_msg(t >= t0 - 1 && t <= t1 + 1, "guest realtime %.3f outside [%.3f, %.3f]", t, t0, t1);
		line(buf, "rand", a, sizeof(a));
		ck_assert_uint_eq(strlen(a), 5 + 32);
		ck_assert_str_ne(a, line(full, "rand", b, sizeof(b)));
		ck_assert_msg(strcmp(a, rand0), "two restores drew the same random bytes: %s", a);
		snprintf(rand0, sizeof(rand0), "%s", a);
	}
}
END_TEST

/*
 * Issue 8: a VM restored from a snapshot taken running gets its fix-ups at
 * once, not at its first WAIT (proto/ukvm_abi.h, "Restore block"): snapfn
 * compute-now draws random bytes and reads the realtime clock (the vDSO's
 * and the syscall's) right after its computation, before any blocking
 * call. Two restores of one snapshot taken in the computation draw bytes
 * of their own (before: the same, the snapshot's stream), and both clocks
 * read the host's time at the restore though the snapshot is more than a
 * second older (on this PVM host the clocks read right before the fix
 * too, observed, not explained: the random bytes are what failed here).
 */
START_TEST(api_running_restore_fixed_at_once)
{
	enum ukvm_pv pv = _i ? it_pv_mode() : UKVM_PV_OFF;
	static const char *const args[] = { "compute-now", API_ROUNDS, NULL };
	const char *snap = tmp_file("snap", 0);
	char full[1024], buf[1024], a[128], b[128];
	int out = memfd_create("out", 0);
	api_run_to_end(api_create(pv, NULL, args, out, -1), out, full, sizeof(full));
	close(out);
	ck_assert_str_ne(line(full, "rand", a, sizeof(a)), "");
	api_snapshot_computing(pv, args, snap);
	usleep(1200000); /* the snapshot's realtime is now more than a second behind the host's */

	char rand0[128] = "";
	for (int i = 0; i < 2; i++) {
		out = memfd_create("out", 0);
		double t0 = now_real_s();
		api_run_to_end(api_create(pv, snap, NULL, out, -1), out, buf, sizeof(buf));
		double t1 = now_real_s();
		close(out);
		ck_assert_str_eq(line(buf, "result", a, sizeof(a)), line(full, "result", b, sizeof(b)));
		static const char *const clocks[] = { "time ", "stime " };
		for (int k = 0; k < 2; k++) {
			double t = atof(line(buf, clocks[k], a, sizeof(a)) + strlen(clocks[k])) / 1e9;
			ck_assert_msg(t >= t0 - 0.3 && t <= t1 + 0.3, "restore %d: %srealtime %.3f outside [%.3f, %.3f]", i,
				      clocks[k], t, t0, t1);
		}
		line(buf, "rand", a, sizeof(a));
		ck_assert_uint_eq(strlen(a), 5 + 32);
		ck_assert_msg(strcmp(a, rand0), "two restores drew the same random bytes: %s", a);
		snprintf(rand0, sizeof(rand0), "%s", a);
	}
}
END_TEST

/*
 * A VM restored from a snapshot taken running reads the restoring run's
 * input, and keeps what it read: snapfn compute-read reads 4 bytes after
 * its computation (the kernel's buffer takes all 8 given), sleeps (its
 * first WAIT, which the monitor answers "restored" for a kernel that does
 * not read the restore block) and reads the rest. Before, that answer
 * dropped the console input a second time, with the 4 bytes not yet read.
 */
START_TEST(api_running_restore_keeps_its_input)
{
	static const char *const args[] = { "compute-read", API_ROUNDS, NULL };
	const char *snap = tmp_file("snap", 0);
	char buf[1024], a[128];
	int in[2];
	api_snapshot_computing(it_pv_mode(), args, snap);
	int out = memfd_create("out", 0);
	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(write(in[1], "abc\ndef\n", 8), 8);
	close(in[1]);
	api_run_to_end(api_create(it_pv_mode(), snap, NULL, out, in[0]), out, buf, sizeof(buf));
	close(out);
	close(in[0]);
	ck_assert_msg(!strstr(buf, "start"), "rebooted, not resumed: %s", buf);
	ck_assert_str_eq(line(buf, "first", a, sizeof(a)), "first abc");
	ck_assert_str_eq(line(buf, "second", a, sizeof(a)), "second def");
}
END_TEST

/*
 * ukvm_snapshot of the hello function blocked on stdin, the VM going on:
 * taken inside its WAIT (retried until one lands there rather than in its
 * boot); the VM then answers its own request, and the snapshot restored
 * answers another.
 */
START_TEST(api_snapshot_at_wait_continues)
{
	static const char *const args[] = { "stdin", NULL };
	const char *snap = tmp_file("snap", 0);
	char buf[1024], err[256];
	int out = memfd_create("out", 0), in[2];
	ck_assert_int_eq(pipe(in), 0);
	struct api_run r = { .vm = api_create(it_pv_mode(), NULL, args, out, in[0]) };
	ck_assert_int_eq(pthread_create(&r.t, NULL, api_runner, &r), 0);
	int rc, tries = 0;
	do {
		usleep(20000);
		rc = ukvm_snapshot(r.vm, snap, 0, err, sizeof(err));
	} while ((rc == -EAGAIN || (rc == 0 && (api_snap_flags(snap) & SNAP_VCPU_RUNNING))) && ++tries < 500);
	ck_assert_msg(rc == 0, "ukvm_snapshot: %d: %s", rc, err);
	ck_assert_uint_eq(api_snap_flags(snap) & SNAP_VCPU_RUNNING, 0);
	ck_assert_int_eq(write(in[1], "world\n", 6), 6);
	close(in[1]);
	pthread_join(r.t, NULL);
	ck_assert_msg(r.res.kind == UKVM_EXITED && r.res.status == 0, "kind %d: %s", r.res.kind, r.res.msg);
	ukvm_destroy(r.vm);
	slurp(out, buf, sizeof(buf));
	close(out);
	close(in[0]);
	ck_assert_str_eq(buf, "hello, world\n");
	embed_restore(NULL, snap, buf, sizeof(buf));
	ck_assert_str_eq(buf, "hello, world\n");
}
END_TEST

/* ukvm_snapshot's refusals: negative errno and one line, an existing file left alone when refused early. */
START_TEST(api_snapshot_errors)
{
	static const char *const args[] = { "stdin", NULL };
	const char *snap = tmp_file("snap", 0);
	char err[256] = "", buf[64];
	int fd = open(snap, O_WRONLY);
	ck_assert_int_eq(write(fd, "keep", 4), 4);
	close(fd);
	int in[2];
	ck_assert_int_eq(pipe(in), 0);
	struct api_run r = { .vm = api_create(it_pv_mode(), NULL, args, -1, in[0]) };
	ck_assert_int_eq(ukvm_snapshot(NULL, snap, 0, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(ukvm_snapshot(r.vm, NULL, 0, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(ukvm_snapshot(r.vm, snap, 0x80, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(ukvm_snapshot(r.vm, snap, 0, err, sizeof(err)), -EAGAIN); /* not running yet */
	ck_assert_ptr_nonnull(strstr(err, "not running yet"));
	ck_assert_int_eq(pthread_create(&r.t, NULL, api_runner, &r), 0);
	int rc;
	do /* running once the refusal is the path's */
		rc = ukvm_snapshot(r.vm, "/nonexistent/dir/x.snap", 0, err, sizeof(err));
	while (rc == -EAGAIN && !usleep(1000));
	ck_assert_msg(rc == -ENOENT && strstr(err, "/nonexistent/dir/x.snap: cannot create snapshot"), "%d: %s", rc,
		      err);
	close(in[1]); /* end of file: hello answers and exits */
	pthread_join(r.t, NULL);
	ck_assert_msg(r.res.kind == UKVM_EXITED, "kind %d: %s", r.res.kind, r.res.msg);
	ck_assert_int_eq(ukvm_snapshot(r.vm, snap, UKVM_SNAPSHOT_STOP, err, sizeof(err)), -ESRCH);
	ck_assert_ptr_nonnull(strstr(err, "ended"));
	ukvm_destroy(r.vm);
	close(in[0]);
	fd = open(snap, O_RDONLY);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 4);
	close(fd);
}
END_TEST

/*
 * Connects to ip:port (the kernel retries the SYN until the guest answers; up
 * to 30 s), sends msg and reads back as many bytes into echo[len]. A call
 * that fails with EINTR (no progress made) is waited out and counted in
 * *eintr: the client shares its process with the VMs. 0 or errno.
 */
static int api_echo(const char *ip, int port, const char *msg, char *echo, size_t len, int *eintr)
{
	size_t want = strlen(msg), got = 0;
	int e = 0, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	echo[0] = 0;
	if (fd < 0)
		return errno;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, ip, &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) && (e = errno) == EINTR) {
		(*eintr)++;
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int n;
		while ((n = poll(&p, 1, 30000)) < 0 && errno == EINTR)
			(*eintr)++;
		socklen_t sl = sizeof(e);
		if (n == 0)
			e = ETIMEDOUT;
		else if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl))
			e = errno;
	}
	if (!e && write(fd, msg, want) != (ssize_t)want)
		e = errno ? errno : EIO;
	while (!e && got < want && got < len - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, 30000);
		if (n < 0 && errno == EINTR) {
			(*eintr)++;
			continue;
		}
		ssize_t k = n > 0 ? read(fd, echo + got, len - 1 - got) : -1;
		if (k < 0 && errno == EINTR) {
			(*eintr)++;
			continue;
		}
		if (k <= 0)
			e = n == 0 ? ETIMEDOUT : k == 0 ? ECONNRESET : errno;
		else
			got += (size_t)k;
	}
	echo[got] = 0;
	close(fd);
	return e;
}

/*
 * libukvm, both modes: a TCP server with a tap NIC (in a namespace of the
 * test's own) snapshotted by ukvm_snapshot while it waits in accept()
 * (retried until one lands in its WAIT, and on -EBUSY: a frame the host
 * sent on the tap completed meanwhile), the VM stopped and destroyed
 * (the tap let go), restored by config.restore with the tap re-attached
 * (no address: the guest keeps its own), serving a client of the host.
 */
START_TEST(api_nic_snapshot_serves_after_restore)
{
	enum ukvm_pv pv = _i ? it_pv_mode() : UKVM_PV_OFF;
	char img[512], err[256], buf[1024];
	struct netns ns;
	if (!echo_ns(&ns, "api_nic_snapshot_serves_after_restore", img, sizeof(img)))
		return; /* the tap is opened by this thread, in ns */
	const char *snap = tmp_file("snap", 0);
	static const char *const args[] = { "7000", "1", NULL };
	struct ukvm_net nic = { .kind = UKVM_NET_TAP, .ifname = "tap0", .prefix = 24 };
	ck_assert_int_eq(inet_pton(AF_INET, "10.77.0.2", &nic.ipv4), 1);
	ck_assert_int_eq(inet_pton(AF_INET, "10.77.0.1", &nic.gw), 1);
	int out = memfd_create("out", 0);
	struct ukvm_config cfg = { .size = sizeof(cfg), .pv = pv, .image = img, .argv = args, .console_fd = out,
				   .console_err_fd = -1, .timeout_ms = 120000, .seccomp = true, .nets = &nic,
				   .nnets = 1 };
	struct api_run r = { 0 };
	ck_assert_msg(ukvm_create(&cfg, &r.vm, err, sizeof(err)) == UKVM_OK, "%s", err);
	ck_assert_int_eq(pthread_create(&r.t, NULL, api_runner, &r), 0);
	ck_assert_msg(api_wait_output(out, "listening on 7000"), "the server never listened");
	int rc, tries = 0, busy = 0;
	do {
		rc = ukvm_snapshot(r.vm, snap, 0, err, sizeof(err));
		busy += rc == -EBUSY;
	} while ((rc == -EBUSY || (rc == 0 && (api_snap_flags(snap) & SNAP_VCPU_RUNNING))) && ++tries < 500 &&
		 !usleep(20000));
	ck_assert_msg(rc == 0, "ukvm_snapshot: %d: %s (%d tries, %d busy)", rc, err, tries, busy);
	ck_assert_uint_eq(api_snap_flags(snap) & SNAP_VCPU_RUNNING, 0);
	ukvm_stop(r.vm);
	pthread_join(r.t, NULL);
	ck_assert_msg(r.res.kind == UKVM_STOPPED, "kind %d status %d: %s", r.res.kind, r.res.status, r.res.msg);
	ukvm_destroy(r.vm);
	slurp(out, buf, sizeof(buf));
	ck_assert_msg(!strstr(buf, "served"), "served before the restore: %s", buf);
	close(out);

	out = memfd_create("out", 0);
	struct ukvm_net again = { .kind = UKVM_NET_TAP, .ifname = "tap0" };
	struct ukvm_config rcfg = { .size = sizeof(rcfg), .pv = pv, .restore = snap, .console_fd = out,
				    .console_err_fd = -1, .timeout_ms = 120000, .seccomp = true, .nets = &again,
				    .nnets = 1 };
	r = (struct api_run){ 0 };
	ck_assert_msg(ukvm_create(&rcfg, &r.vm, err, sizeof(err)) == UKVM_OK, "%s", err);
	ck_assert_int_eq(pthread_create(&r.t, NULL, api_runner, &r), 0);
	static const char msg[] = "after the API restore\n";
	char echo[64];
	int eintr = 0, e = api_echo("10.77.0.2", 7000, msg, echo, sizeof(echo), &eintr);
	if (eintr) /* a read with SO_RCVTIMEO once failed so, no signal handler run: task work on this thread? */
		fprintf(stderr, "NOTE: snapshot api_nic_snapshot_serves_after_restore: %d EINTR on the client's socket\n",
			eintr);
	if (e) {
		ukvm_stop(r.vm);
		pthread_join(r.t, NULL);
		ck_abort_msg("echo client: %s (%s); the restored VM: kind %d status %d: %s", strerror(e), echo,
			     r.res.kind, r.res.status, r.res.msg);
	}
	ck_assert_str_eq(echo, msg);
	pthread_join(r.t, NULL);
	ck_assert_msg(r.res.kind == UKVM_EXITED && r.res.status == 0, "restore: kind %d status %d: %s", r.res.kind,
		      r.res.status, r.res.msg);
	ukvm_destroy(r.vm);
	slurp(out, buf, sizeof(buf));
	close(out);
	ck_assert_msg(strstr(buf, "served 1") && !strstr(buf, "listening"), "restore's output: %s", buf);
	netns_destroy(&ns);
}
END_TEST

/*
 * The check behind ukvm_snapshot's -EBUSY and the idle snapshot's retry
 * (snapvm_write): a device that completes a request between the capture and
 * the end of the write (a NIC's armed read filled by a frame) leaves rings
 * in memory ahead of the device state captured, so the file gets no valid
 * header and the caller is told to try again (-EAGAIN). Made deterministic
 * on a created VM with a NIC (a socketpair backend) whose RX queue is given
 * a state by hand: the capture saves used index 5; the "completion" moves
 * it to 6 before the write. Back at 5, the same writer writes a valid file.
 */
START_TEST(write_refused_when_a_device_completed)
{
	char err[256] = "", img[512];
	snprintf(img, sizeof(img), "%s", app_img());
	const char *snap = tmp_file("snap", 0);
	int sp[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
	struct ukvm_net nic = { .kind = UKVM_NET_FD, .fd = sp[0] };
	static const char *const args[] = { "stdin", NULL };
	struct ukvm_config cfg = { .size = sizeof(cfg), .pv = it_pv_mode(), .image = img, .argv = args,
				   .console_fd = -1, .console_err_fd = -1, .nets = &nic, .nnets = 1 };
	struct ukvm_vm *vm;
	ck_assert_msg(ukvm_create(&cfg, &vm, err, sizeof(err)) == UKVM_OK, "%s", err);
	ck_assert_uint_eq(vm->ndevs, 1);
	struct mmio_dev *d = vm->devs[0].d;
	struct mmio_queue *rx = &d->q[0];
	pthread_mutex_lock(&d->lock);
	rx->ready = true; /* read only by the save and the check: no ring behind it is touched */
	rx->vq.last_avail = rx->vq.used_idx = rx->vq.signalled_used = 5;
	pthread_mutex_unlock(&d->lock);

	struct snapvm_writer *w;
	ck_assert_msg(snapvm_writer_open(vm, snap, &w, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(snapvm_capture(w, vm, 0, 0, err, sizeof(err)) == 0, "%s", err);
	pthread_mutex_lock(&d->lock);
	rx->vq.used_idx = 6; /* a frame filled the armed read meanwhile */
	pthread_mutex_unlock(&d->lock);
	int r = snapvm_write(w, vm, err, sizeof(err));
	ck_assert_msg(r == -EAGAIN && strstr(err, "eth0 completed a request while the snapshot was written"), "%d: %s",
		      r, err);
	void *map;
	size_t size;
	struct snap_view v;
	ck_assert_int_lt(race_parse(snap, &map, &size, &v), 0); /* no valid header: never restored */
	munmap(map, size);

	pthread_mutex_lock(&d->lock);
	rx->vq.used_idx = 5; /* as captured: nothing moved */
	pthread_mutex_unlock(&d->lock);
	err[0] = 0;
	ck_assert_msg(snapvm_write(w, vm, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(race_parse(snap, &map, &size, &v), 0);
	ck_assert_uint_eq(v.meta->ndevs, 1);
	ck_assert_uint_eq(v.meta->devs[0].tr.q[0].used_idx, 5);
	munmap(map, size);

	snapvm_writer_close(w);
	pthread_mutex_lock(&d->lock);
	rx->ready = false;
	pthread_mutex_unlock(&d->lock);
	ukvm_destroy(vm);
	close(sp[0]);
	close(sp[1]);
}
END_TEST

Suite *snapshot_suite(void)
{
	Suite *s = suite_create("snapshot");
	TCase *c = tcase_create("core");
	tcase_set_timeout(c, 120);
	tcase_add_loop_test(c, restore_same_output, 0, 2);
	tcase_add_loop_test(c, idle_is_waiting_on_input, 0, 8);
	tcase_add_loop_test(c, snapshot_then_continue, 0, 2);
	tcase_add_loop_test(c, restore_many_concurrently, 0, 2);
	tcase_add_loop_test(c, snapshot_file_unchanged_by_restores, 0, 2);
	tcase_add_loop_test(c, snapshot_of_large_memory_is_sparse, 0, 2);
	tcase_add_loop_test(c, restore_with_disk, 0, 2);
	tcase_add_test(c, embed_snapshot_continue_and_restore);
	tcase_add_test(c, restore_shells_follow_the_file);
	tcase_add_test(c, embed_snapshots_on_worker_threads);
	tcase_add_loop_test(c, api_snapshot_mid_computation, 0, 2);
	tcase_add_test(c, api_snapshot_at_wait_continues);
	tcase_add_loop_test(c, api_running_restore_fixed_at_once, 0, 2);
	tcase_add_test(c, api_running_restore_keeps_its_input);
	tcase_add_loop_test(c, nic_snapshot_serves_after_restore, 0, 2);
	tcase_add_loop_test(c, api_nic_snapshot_serves_after_restore, 0, 2);
	suite_add_tcase(s, c);
	TCase *h = tcase_create("hostile");
	tcase_set_timeout(h, 120);
	tcase_add_test(h, bad_snapshots_refused);
	tcase_add_test(h, mode_mismatch_refused);
	tcase_add_test(h, unwritable_snapshot);
	tcase_add_test(h, api_snapshot_errors);
	tcase_add_test(h, write_refused_when_a_device_completed);
	suite_add_tcase(s, h);
	return s;
}
