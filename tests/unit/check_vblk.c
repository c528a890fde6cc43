/* check_vblk.c: unit tests of the block device files (guest/fs/blkdev.c) on a RAM disk and of virtio-blk request planning. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../guest/include/fs.h"
#include "../../guest/include/sys.h"
#include "../../guest/include/blkdev.h"
#include "../../guest/include/vdev.h"
#include "../../proto/virtio.h"
#include "../../proto/virtio_blk.h"
#include "fs_shim.h"

#define L(p) ((long)(uintptr_t)(p))
#define BAD_PTR 16L
#define SECT 512
#define A_SECTORS 64 /* /dev/vda: 32 KiB, read-write */
#define B_SECTORS 8  /* /dev/vdb: 4 KiB, read-only */

/* A RAM disk standing in for the driver; it records what it was asked. */
struct ramdisk {
	uint8_t *data;
	uint64_t sectors;
	unsigned calls, writes, flushes;
	int fail;               /* nonzero: every rw returns this */
	const void *last_buf;
	uint64_t last_sector, last_nsect;
};

static struct ramdisk rd_a, rd_b;

static int rd_rw(void *ctx, bool write, uint64_t sector, void *buf, uint64_t nsect)
{
	struct ramdisk *d = ctx;
	ck_assert_uint_ge(nsect, 1);
	ck_assert_uint_le(sector + nsect, d->sectors); /* the block layer never asks past the end */
	d->calls++;
	d->last_buf = buf;
	d->last_sector = sector;
	d->last_nsect = nsect;
	if (d->fail)
		return d->fail;
	if (write) {
		d->writes++;
		memcpy(d->data + sector * SECT, buf, nsect * SECT);
	} else {
		memcpy(buf, d->data + sector * SECT, nsect * SECT);
	}
	return 0;
}

static int rd_flush(void *ctx)
{
	struct ramdisk *d = ctx;
	d->flushes++;
	return d->fail;
}

static const struct fs_blk_ops rd_ops = { .rw = rd_rw, .flush = rd_flush };

static void rd_init(struct ramdisk *d, uint64_t sectors)
{
	memset(d, 0, sizeof(*d));
	d->sectors = sectors;
	d->data = malloc(sectors * SECT);
	for (uint64_t i = 0; i < sectors * SECT; i++)
		d->data[i] = (uint8_t)(i * 7 + 3);
}

static void setup(void)
{
	fs_shim_reset();
	fs_blk_reset();
	rd_init(&rd_a, A_SECTORS);
	rd_init(&rd_b, B_SECTORS);
	ck_assert_int_eq(fs_blk_register(&rd_ops, &rd_a, A_SECTORS, false), 0);
	ck_assert_int_eq(fs_blk_register(&rd_ops, &rd_b, B_SECTORS, true), 1);
	ck_assert_int_eq(fs_init(NULL, 0), 0);
}

static void teardown(void)
{
	fs_reset();
	fs_blk_reset();
	free(rd_a.data);
	free(rd_b.data);
}

static long xopen(const char *p, long flags)
{
	return sys_openat(AT_FDCWD, L(p), flags, 0, 0, 0);
}

/* ---------------- core ---------------- */

START_TEST(test_nodes_and_stat)
{
	struct stat st;
	ck_assert_int_eq(sys_stat(L("/dev/vda"), L(&st), 0, 0, 0, 0), 0);
	ck_assert_uint_eq(st.st_mode & S_IFMT, S_IFBLK);
	ck_assert_uint_eq(st.st_rdev, LINUX_MKDEV(254, 0));
	ck_assert_int_eq(st.st_size, A_SECTORS * SECT);
	ck_assert_int_eq(st.st_blksize, 4096);
	ck_assert_int_eq(sys_stat(L("/dev/vdb"), L(&st), 0, 0, 0, 0), 0);
	ck_assert_uint_eq(st.st_rdev, LINUX_MKDEV(254, 16));
	ck_assert_int_eq(st.st_size, B_SECTORS * SECT);
	ck_assert_int_eq(sys_stat(L("/dev/vdc"), L(&st), 0, 0, 0, 0), -ENOENT);
	long fd = xopen("/dev/vda", O_RDWR | 040000 /* O_DIRECT: accepted, we keep no cache */);
	ck_assert_int_ge(fd, 3);
	ck_assert_int_eq(sys_fstat(fd, L(&st), 0, 0, 0, 0), 0);
	ck_assert_uint_eq(st.st_mode & S_IFMT, S_IFBLK);
}
END_TEST

START_TEST(test_aligned_rw_goes_straight_through)
{
	static uint8_t buf[4096] __attribute__((aligned(4096)));
	long fd = xopen("/dev/vda", O_RDWR);
	memset(buf, 0x5a, sizeof(buf));
	ck_assert_int_eq(sys_pwrite64(fd, L(buf), sizeof(buf), 8 * SECT, 0, 0), (long)sizeof(buf));
	/* One driver call, on the caller's own buffer: no bounce copy. */
	ck_assert_uint_eq(rd_a.calls, 1);
	ck_assert_ptr_eq(rd_a.last_buf, buf);
	ck_assert_uint_eq(rd_a.last_sector, 8);
	ck_assert_uint_eq(rd_a.last_nsect, 8);
	for (int i = 0; i < 4096; i++)
		ck_assert_uint_eq(rd_a.data[8 * SECT + i], 0x5a);
	ck_assert_uint_eq(rd_a.data[8 * SECT - 1], (uint8_t)((8 * SECT - 1) * 7 + 3));
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(sys_pread64(fd, L(buf), sizeof(buf), 0, 0, 0), (long)sizeof(buf));
	for (int i = 0; i < 4096; i++)
		ck_assert_uint_eq(buf[i], (uint8_t)(i * 7 + 3));
	/* pread/pwrite leave the offset alone; read/write advance it. */
	ck_assert_int_eq(sys_lseek(fd, 0, SEEK_CUR, 0, 0, 0), 0);
	ck_assert_int_eq(sys_read(fd, L(buf), 1024, 0, 0, 0), 1024);
	ck_assert_int_eq(sys_lseek(fd, 0, SEEK_CUR, 0, 0, 0), 1024);
	ck_assert_int_eq(sys_write(fd, L(buf), 512, 0, 0, 0), 512);
	ck_assert_int_eq(sys_lseek(fd, 0, SEEK_CUR, 0, 0, 0), 1536);
}
END_TEST

START_TEST(test_unaligned_read_modify_write)
{
	uint8_t before[A_SECTORS * SECT], buf[1500];
	memcpy(before, rd_a.data, sizeof(before));
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(0x80 | i);
	long fd = xopen("/dev/vda", O_RDWR);
	/* Head edge (100..512), two whole sectors, tail edge: every other byte must survive. */
	ck_assert_int_eq(sys_pwrite64(fd, L(buf), sizeof(buf), 100, 0, 0), (long)sizeof(buf));
	memcpy(before + 100, buf, sizeof(buf));
	ck_assert_int_eq(memcmp(before, rd_a.data, sizeof(before)), 0);
	/* Inside one sector. */
	ck_assert_int_eq(sys_pwrite64(fd, L("xyz"), 3, 5000, 0, 0), 3);
	memcpy(before + 5000, "xyz", 3);
	ck_assert_int_eq(memcmp(before, rd_a.data, sizeof(before)), 0);
	uint8_t out[2000];
	ck_assert_int_eq(sys_pread64(fd, L(out), sizeof(out), 77, 0, 0), (long)sizeof(out));
	ck_assert_int_eq(memcmp(out, before + 77, sizeof(out)), 0);
	ck_assert_int_eq(sys_pread64(fd, L(out), 1, 5001, 0, 0), 1);
	ck_assert_uint_eq(out[0], 'y');
}
END_TEST

START_TEST(test_size_seek_ioctl_sync)
{
	long fd = xopen("/dev/vda", O_RDWR);
	uint64_t size64 = 0;
	unsigned long nsect = 0;
	int ssz = 0, ro = -1;
	ck_assert_int_eq(sys_ioctl(fd, 0x80081272, L(&size64), 0, 0, 0), 0);
	ck_assert_uint_eq(size64, A_SECTORS * SECT);
	ck_assert_int_eq(sys_ioctl(fd, 0x1260, L(&nsect), 0, 0, 0), 0);
	ck_assert_uint_eq(nsect, A_SECTORS);
	ck_assert_int_eq(sys_ioctl(fd, 0x1268, L(&ssz), 0, 0, 0), 0);
	ck_assert_int_eq(ssz, 512);
	ck_assert_int_eq(sys_ioctl(fd, 0x125e, L(&ro), 0, 0, 0), 0);
	ck_assert_int_eq(ro, 0);
	ck_assert_int_eq(sys_lseek(fd, 0, SEEK_END, 0, 0, 0), A_SECTORS * SECT);
	ck_assert_int_eq(sys_lseek(fd, -10, SEEK_END, 0, 0, 0), A_SECTORS * SECT - 10);
	ck_assert_int_eq(sys_fsync(fd, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_fdatasync(fd, 0, 0, 0, 0, 0), 0);
	ck_assert_uint_eq(rd_a.flushes, 2);
	long fdb = xopen("/dev/vdb", O_RDONLY);
	ck_assert_int_eq(sys_ioctl(fdb, 0x125e, L(&ro), 0, 0, 0), 0);
	ck_assert_int_eq(ro, 1);
	ck_assert_int_eq(sys_ioctl(fdb, 0x80081272, L(&size64), 0, 0, 0), 0);
	ck_assert_uint_eq(size64, B_SECTORS * SECT);
}
END_TEST

START_TEST(test_vectors)
{
	uint8_t a[300], b[724], back[1024];
	memset(a, 1, sizeof(a));
	memset(b, 2, sizeof(b));
	struct iovec iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	long fd = xopen("/dev/vda", O_RDWR);
	ck_assert_int_eq(sys_writev(fd, L(iov), 2, 0, 0, 0), 1024);
	ck_assert_int_eq(sys_pread64(fd, L(back), sizeof(back), 0, 0, 0), 1024);
	ck_assert_uint_eq(back[299], 1);
	ck_assert_uint_eq(back[300], 2);
	ck_assert_uint_eq(back[1023], 2);
	ck_assert_int_eq(sys_lseek(fd, 0, SEEK_SET, 0, 0, 0), 0);
	struct iovec riov[2] = { { back, 10 }, { back + 10, 20 } };
	ck_assert_int_eq(sys_readv(fd, L(riov), 2, 0, 0, 0), 30);
}
END_TEST

/* The one read/write path (fs_file_read/write) serves disks: positional, seekable, access mode checked once. */
START_TEST(test_file_layer_dispatch)
{
	static uint8_t buf[1024];
	long fd = xopen("/dev/vda", O_RDWR | O_APPEND);
	struct fs_file *f = fs_fd_file((int)fd);
	ck_assert_ptr_nonnull(f);
	uint64_t off = 3 * SECT + 5;
	ck_assert_int_eq(fs_file_read(f, buf, 100, &off), 100);
	ck_assert_uint_eq(off, 3 * SECT + 5); /* positional: neither off nor the file offset moves */
	ck_assert_uint_eq(f->off, 0);
	for (int i = 0; i < 100; i++)
		ck_assert_uint_eq(buf[i], (uint8_t)((3 * SECT + 5 + i) * 7 + 3));
	ck_assert_int_eq(fs_file_read(f, buf, 10, NULL), 10);
	ck_assert_uint_eq(f->off, 10);
	/* O_APPEND means nothing to a disk (Linux): the write lands at the offset, not past the end. */
	memset(buf, 0xc3, 20);
	ck_assert_int_eq(fs_file_write(f, buf, 20, NULL), 20);
	ck_assert_uint_eq(f->off, 30);
	ck_assert_uint_eq(rd_a.data[10], 0xc3);
	ck_assert_uint_eq(rd_a.data[29], 0xc3);
	ck_assert_uint_eq(rd_a.data[30], (uint8_t)(30 * 7 + 3));
	ck_assert_int_eq(fs_fd_pread((int)fd, buf, 4, 10), 4); /* the mmap path */
	ck_assert_uint_eq(buf[3], 0xc3);
	/* Access mode and O_PATH are checked by the file layer, before any device call. */
	long ro = xopen("/dev/vda", O_RDONLY), wo = xopen("/dev/vda", O_WRONLY), pa = xopen("/dev/vda", O_PATH);
	unsigned calls = rd_a.calls;
	ck_assert_int_eq(fs_file_write(fs_fd_file((int)ro), buf, 4, NULL), -EBADF);
	ck_assert_int_eq(fs_file_read(fs_fd_file((int)wo), buf, 4, NULL), -EBADF);
	ck_assert_int_eq(fs_file_read(fs_fd_file((int)pa), buf, 4, NULL), -EBADF);
	ck_assert_uint_eq(rd_a.calls, calls);
	/* A character device is still a stream. */
	long nul = xopen("/dev/null", O_RDWR);
	off = 0;
	ck_assert_int_eq(fs_file_read(fs_fd_file((int)nul), buf, 4, &off), -ESPIPE);
}
END_TEST

/* ---------------- limits ---------------- */

START_TEST(test_end_of_disk)
{
	uint8_t buf[2048];
	long fd = xopen("/dev/vda", O_RDWR);
	long end = A_SECTORS * SECT;
	ck_assert_int_eq(sys_pread64(fd, L(buf), sizeof(buf), end, 0, 0), 0);
	ck_assert_int_eq(sys_pread64(fd, L(buf), sizeof(buf), end + 4096, 0, 0), 0);
	ck_assert_int_eq(sys_pread64(fd, L(buf), sizeof(buf), end - 100, 0, 0), 100);
	ck_assert_int_eq(sys_pwrite64(fd, L(buf), sizeof(buf), end, 0, 0), -ENOSPC);
	ck_assert_int_eq(sys_pwrite64(fd, L(buf), sizeof(buf), end - 1000, 0, 0), 1000);
	ck_assert_int_eq(sys_pwrite64(fd, L(buf), 0, end, 0, 0), 0);
	/* Like Linux's blkdev_llseek: no seeking past the end. */
	ck_assert_int_eq(sys_lseek(fd, end, SEEK_SET, 0, 0, 0), end);
	ck_assert_int_eq(sys_lseek(fd, end + 1, SEEK_SET, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_read(fd, L(buf), sizeof(buf), 0, 0, 0), 0);
	ck_assert_int_eq(sys_write(fd, L(buf), sizeof(buf), 0, 0, 0), -ENOSPC);
}
END_TEST

START_TEST(test_request_limits)
{
	struct vd_blk_limits l;
	/* Nothing advertised: bounded by the queue and 128 KiB per request. */
	ck_assert_int_eq(vd_blk_limits(&l, false, 0, false, 0, 256), 0);
	ck_assert_uint_eq(l.seg_max, 254);
	ck_assert_uint_eq(l.req_max_sectors, 256);
	/* SEG_MAX 1 with SIZE_MAX 4096: 8 sectors per request. */
	ck_assert_int_eq(vd_blk_limits(&l, true, 1, true, 4096, 256), 0);
	ck_assert_uint_eq(l.req_max_sectors, 8);
	ck_assert_uint_eq(l.size_max, 4096);
	/* SEG_MAX larger than the queue allows is cut to the queue. */
	ck_assert_int_eq(vd_blk_limits(&l, true, 1000, false, 0, 16), 0);
	ck_assert_uint_eq(l.seg_max, 14);
	/* Unusable: no segment, segments of 0 bytes, not even one sector per request, a queue too short. */
	ck_assert_int_eq(vd_blk_limits(&l, true, 0, false, 0, 256), -EINVAL);
	ck_assert_int_eq(vd_blk_limits(&l, false, 0, true, 0, 256), -EINVAL);
	ck_assert_int_eq(vd_blk_limits(&l, true, 3, true, 100, 256), -EINVAL);
	ck_assert_int_eq(vd_blk_limits(&l, false, 0, false, 0, 2), -EINVAL);
	/* Odd but legal: 3 segments of 200 bytes carry one sector. */
	ck_assert_int_eq(vd_blk_limits(&l, true, 3, true, 200, 256), 0);
	ck_assert_uint_eq(l.req_max_sectors, 1);
}
END_TEST

START_TEST(test_build_sg)
{
	struct vd_blk_limits l;
	struct vq_sg sg[40];
	ck_assert_int_eq(vd_blk_limits(&l, true, 32, true, 4096, 256), 0);
	ck_assert_uint_eq(l.req_max_sectors, 256);
	int n = vd_blk_build_sg(&l, sg, 34, 0x1000, 0x200000, 256, true, 0x1010);
	ck_assert_int_eq(n, 34);
	ck_assert_uint_eq(sg[0].gpa, 0x1000);
	ck_assert_uint_eq(sg[0].len, 16);
	ck_assert(!sg[0].writable);
	uint64_t total = 0;
	for (int i = 1; i < 33; i++) {
		ck_assert_uint_eq(sg[i].gpa, 0x200000 + total);
		ck_assert_uint_le(sg[i].len, 4096);
		ck_assert(sg[i].writable);
		total += sg[i].len;
	}
	ck_assert_uint_eq(total, 256 * 512);
	ck_assert_uint_eq(sg[33].gpa, 0x1010);
	ck_assert_uint_eq(sg[33].len, 1);
	ck_assert(sg[33].writable);
	/* OUT: data readable by the device. FLUSH: header and status only. */
	n = vd_blk_build_sg(&l, sg, 34, 0x1000, 0x200000, 3, false, 0x1010);
	ck_assert_int_eq(n, 3);
	ck_assert(!sg[1].writable);
	ck_assert_uint_eq(sg[1].len, 1536);
	ck_assert_int_eq(vd_blk_build_sg(&l, sg, 34, 0x1000, 0, 0, false, 0x1010), 2);
	/* Too long a request, too small an array, a data range wrapping 2^64. */
	ck_assert_int_eq(vd_blk_build_sg(&l, sg, 34, 0x1000, 0x200000, 257, true, 0x1010), -EINVAL);
	ck_assert_int_eq(vd_blk_build_sg(&l, sg, 20, 0x1000, 0x200000, 256, true, 0x1010), -EINVAL);
	ck_assert_int_eq(vd_blk_build_sg(&l, sg, 34, 0x1000, UINT64_MAX - 511, 2, true, 0x1010), -EINVAL);
}
END_TEST

/* ---------------- hostile ---------------- */

START_TEST(test_read_only_disk)
{
	uint8_t before[B_SECTORS * SECT], buf[512] = { 0 };
	memcpy(before, rd_b.data, sizeof(before));
	long fd = xopen("/dev/vdb", O_RDWR);
	ck_assert_int_ge(fd, 3);
	ck_assert_int_eq(sys_pwrite64(fd, L(buf), sizeof(buf), 0, 0, 0), -EROFS);
	ck_assert_int_eq(sys_write(fd, L(buf), 7, 0, 0, 0), -EROFS);
	ck_assert_uint_eq(rd_b.writes, 0);
	ck_assert_int_eq(memcmp(before, rd_b.data, sizeof(before)), 0);
	ck_assert_int_eq(sys_pread64(fd, L(buf), sizeof(buf), 0, 0, 0), (long)sizeof(buf));
	ck_assert_int_eq(memcmp(buf, before, sizeof(buf)), 0);
}
END_TEST

START_TEST(test_device_errors_and_bad_args)
{
	uint8_t buf[1024];
	long fd = xopen("/dev/vda", O_RDWR);
	rd_a.fail = -EIO;
	ck_assert_int_eq(sys_pread64(fd, L(buf), sizeof(buf), 0, 0, 0), -EIO);
	ck_assert_int_eq(sys_pwrite64(fd, L(buf), 10, 3, 0, 0), -EIO);
	ck_assert_int_eq(sys_fsync(fd, 0, 0, 0, 0, 0), -EIO);
	ck_assert_int_eq(sys_write(fd, L(buf), 512, 0, 0, 0), -EIO);
	ck_assert_int_eq(sys_lseek(fd, 0, SEEK_CUR, 0, 0, 0), 0); /* a failed write does not move the offset */
	rd_a.fail = 0;
	ck_assert_int_eq(sys_pread64(fd, BAD_PTR, 512, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_pread64(fd, L(buf), 512, -1, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_ioctl(fd, 0x80081272, BAD_PTR, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_ioctl(fd, 0x5401 /* TCGETS */, L(buf), 0, 0, 0), -ENOTTY);
	long ro = xopen("/dev/vda", O_RDONLY);
	ck_assert_int_eq(sys_write(ro, L(buf), 512, 0, 0, 0), -EBADF);
	long wo = xopen("/dev/vda", O_WRONLY);
	ck_assert_int_eq(sys_read(wo, L(buf), 512, 0, 0, 0), -EBADF);
	long path = xopen("/dev/vda", O_PATH);
	ck_assert_int_eq(sys_read(path, L(buf), 512, 0, 0, 0), -EBADF);
	/* The registry is bounded: vdc .. vdz, then no more. */
	for (int i = 2; i < FS_BLK_MAX; i++)
		ck_assert_int_eq(fs_blk_register(&rd_ops, &rd_a, 1, false), i);
	ck_assert_int_eq(fs_blk_register(&rd_ops, &rd_a, 1, false), -ENOSPC);
	/* A capacity whose byte size overflows off_t is clamped, not wrapped. */
	fs_blk_reset();
	ck_assert_int_eq(fs_blk_register(&rd_ops, &rd_a, UINT64_MAX, false), 0);
	fs_reset();
	ck_assert_int_eq(fs_init(NULL, 0), 0);
	struct stat st;
	ck_assert_int_eq(sys_stat(L("/dev/vda"), L(&st), 0, 0, 0, 0), 0);
	ck_assert_int_gt(st.st_size, 0);
}
END_TEST

/* When the driver reads Status, and what Status means the device will never answer. */
START_TEST(test_device_stop_policy)
{
	const uint32_t live = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			      VIRTIO_STATUS_DRIVER_OK;
	ck_assert(!vd_status_stopped(live));
	ck_assert(vd_status_stopped(live | VIRTIO_STATUS_DEVICE_NEEDS_RESET));
	ck_assert(vd_status_stopped(live | VIRTIO_STATUS_FAILED));
	ck_assert(vd_status_stopped(0));    /* reset behind our back */
	ck_assert(vd_status_stopped(0x8f)); /* blkhostile regs: everything set */
	ck_assert(vd_status_stopped(live & ~VIRTIO_STATUS_DRIVER_OK));
	ck_assert(vd_status_stopped(VIRTIO_STATUS_FAILED));
	ck_assert(!vd_status_stopped(live | 0x30)); /* undefined bits alone say nothing */

	unsigned idle = 0;
	ck_assert(!vd_wait_check_status(K_WAIT_POLLED, &idle)); /* a thread switch without a WAIT */
	ck_assert_uint_eq(idle, 0);
	ck_assert(vd_wait_check_status(K_WAIT_QUIET, &idle)); /* a quiet WAIT always asks */
	ck_assert(!vd_wait_check_status(K_WAIT_NEWS, &idle)); /* first empty news: probably stale */
	ck_assert(vd_wait_check_status(K_WAIT_NEWS, &idle));
	ck_assert(vd_wait_check_status(K_WAIT_NEWS, &idle));
	idle = 0; /* the driver zeroes it on progress */
	ck_assert(!vd_wait_check_status(K_WAIT_NEWS, &idle));
	ck_assert(!vd_wait_check_status(K_WAIT_POLLED, &idle));
}
END_TEST

Suite *vblk_suite(void)
{
	Suite *s = suite_create("vblk");
	TCase *core = tcase_create("core");
	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_test(core, test_nodes_and_stat);
	tcase_add_test(core, test_aligned_rw_goes_straight_through);
	tcase_add_test(core, test_unaligned_read_modify_write);
	tcase_add_test(core, test_size_seek_ioctl_sync);
	tcase_add_test(core, test_vectors);
	tcase_add_test(core, test_file_layer_dispatch);
	suite_add_tcase(s, core);
	TCase *limits = tcase_create("limits");
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_add_test(limits, test_end_of_disk);
	tcase_add_test(limits, test_request_limits);
	tcase_add_test(limits, test_build_sg);
	suite_add_tcase(s, limits);
	TCase *hostile = tcase_create("hostile");
	tcase_add_checked_fixture(hostile, setup, teardown);
	tcase_add_test(hostile, test_read_only_disk);
	tcase_add_test(hostile, test_device_errors_and_bad_args);
	tcase_add_test(hostile, test_device_stop_policy);
	suite_add_tcase(s, hostile);
	return s;
}
