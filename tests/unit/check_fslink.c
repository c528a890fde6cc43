/* check_fslink.c: unit tests of symbolic and hard links, FIFOs, mknod, statfs and fadvise (guest/fs/path.c, pipe.c, guest/sys/sys_fs_link.c). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../guest/include/fs.h"
#include "../../guest/include/sys.h"
#include "../../guest/include/linux_abi.h"
#include "../../proto/ukvm_abi.h"
#include "fs_shim.h"

#define L(p) ((long)(uintptr_t)(p))
#define BAD_PTR 16L /* inside the unmapped page 0 */
#define LX_TMPFS_MAGIC 0x01021994

static void setup(void)
{
	fs_shim_reset();
	ck_assert_int_eq(fs_init(NULL, 0), 0);
	ck_assert_int_eq(sys_chdir(L("/tmp"), 0, 0, 0, 0, 0), 0);
}

static void teardown(void)
{
	fs_reset();
}

static long xopen(const char *p, long flags)
{
	return sys_openat(AT_FDCWD, L(p), flags, 0644, 0, 0);
}

static long xstat(const char *p, struct stat *st, bool follow)
{
	return follow ? sys_stat(L(p), L(st), 0, 0, 0, 0) : sys_lstat(L(p), L(st), 0, 0, 0, 0);
}

static long xsymlink(const char *target, const char *name)
{
	return sys_symlink(L(target), L(name), 0, 0, 0, 0);
}

/* ---------------- core ---------------- */

START_TEST(test_symlink_walk)
{
	struct stat st;
	char buf[16];
	ck_assert_int_ge(xopen("f", O_CREAT | O_WRONLY), 0);
	ck_assert_int_eq(sys_mkdir(L("d"), 0755, 0, 0, 0, 0), 0);
	ck_assert_int_eq(xsymlink("f", "lf"), 0);
	ck_assert_int_eq(xsymlink("d", "ld"), 0);
	ck_assert_int_eq(xsymlink("/tmp/d", "abs"), 0);
	ck_assert_int_eq(xsymlink("nowhere", "dang"), 0);
	ck_assert_int_eq(xstat("lf", &st, true), 0);
	ck_assert_uint_eq(st.st_mode & S_IFMT, S_IFREG);
	ck_assert_int_eq(xstat("lf", &st, false), 0);
	ck_assert_uint_eq(st.st_mode, S_IFLNK | 0777);
	ck_assert_int_eq(st.st_size, 1);
	ck_assert_int_eq(xstat("dang", &st, true), -ENOENT);
	ck_assert_int_eq(xstat("dang/", &st, false), -ENOENT);
	ck_assert_int_eq(xstat("lf/", &st, false), -ENOTDIR);
	/* A trailing slash follows even for lstat; components always follow. */
	ck_assert_int_eq(xstat("ld/", &st, false), 0);
	ck_assert_uint_eq(st.st_mode & S_IFMT, S_IFDIR);
	ck_assert_int_ge(xopen("abs/x", O_CREAT | O_WRONLY), 0);
	ck_assert_int_eq(xstat("/tmp/d/x", &st, true), 0);
	ck_assert_int_eq(sys_readlink(L("abs"), L(buf), sizeof(buf), 0, 0, 0), 6);
	ck_assert_int_eq(memcmp(buf, "/tmp/d", 6), 0);
	ck_assert_int_eq(sys_readlink(L("f"), L(buf), sizeof(buf), 0, 0, 0), -EINVAL);
	/* O_NOFOLLOW, O_PATH, O_CREAT through a dangling link. */
	ck_assert_int_eq(xopen("lf", O_RDONLY | O_NOFOLLOW), -ELOOP);
	long pfd = xopen("lf", O_PATH | O_NOFOLLOW);
	ck_assert_int_ge(pfd, 0);
	ck_assert_int_eq(sys_readlinkat(pfd, L(""), L(buf), sizeof(buf), 0, 0), 1);
	ck_assert_int_eq(sys_read(pfd, L(buf), 1, 0, 0, 0), -EBADF);
	ck_assert_int_ge(xopen("dang", O_CREAT | O_WRONLY), 0);
	ck_assert_int_eq(xstat("nowhere", &st, false), 0);
	ck_assert_int_eq(xopen("dang", O_CREAT | O_EXCL | O_WRONLY), -EEXIST);
	/* Names of links: unlink removes the link, rmdir refuses it. */
	ck_assert_int_eq(sys_rmdir(L("ld"), 0, 0, 0, 0, 0), -ENOTDIR);
	ck_assert_int_eq(sys_unlink(L("ld"), 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(xstat("d", &st, true), 0);
	ck_assert_int_eq(xsymlink("", "empty"), -ENOENT);
	ck_assert_int_eq(xsymlink("x", "f"), -EEXIST);
	ck_assert_int_eq(xsymlink("x", "new/"), -ENOENT);
}
END_TEST

START_TEST(test_hard_links)
{
	struct stat a, b;
	long fd = xopen("h", O_CREAT | O_RDWR);
	ck_assert_int_eq(sys_write(fd, L("abc"), 3, 0, 0, 0), 3);
	ck_assert_int_eq(sys_link(L("h"), L("h2"), 0, 0, 0, 0), 0);
	ck_assert_int_eq(xstat("h", &a, true), 0);
	ck_assert_int_eq(xstat("h2", &b, true), 0);
	ck_assert_uint_eq(a.st_ino, b.st_ino);
	ck_assert_int_eq(a.st_nlink, 2);
	ck_assert_int_eq(sys_unlink(L("h"), 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(xstat("h2", &b, true), 0);
	ck_assert_int_eq(b.st_nlink, 1);
	ck_assert_int_eq(b.st_size, 3);
	ck_assert_int_eq(sys_mkdir(L("d"), 0755, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_link(L("d"), L("d2"), 0, 0, 0, 0), -EPERM);
	ck_assert_int_eq(sys_link(L("h2"), L("h2"), 0, 0, 0, 0), -EEXIST);
	ck_assert_int_eq(sys_linkat(AT_FDCWD, L("h2"), AT_FDCWD, L("h3"), 0x8000, 0), -EINVAL);
	/* The last name of an open file goes: no new name for it. */
	ck_assert_int_eq(sys_unlink(L("h2"), 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_linkat(fd, L(""), AT_FDCWD, L("back"), AT_EMPTY_PATH, 0), -ENOENT);
}
END_TEST

START_TEST(test_fifo_and_mknod)
{
	struct stat st;
	char buf[8];
	ck_assert_int_eq(sys_mknod(L("p"), S_IFIFO | 0666, 0, 0, 0, 0), 0);
	ck_assert_int_eq(xstat("p", &st, true), 0);
	ck_assert_uint_eq(st.st_mode, S_IFIFO | 0644); /* umask 022 */
	ck_assert_int_eq(xopen("p", O_WRONLY | O_NONBLOCK), -ENXIO);
	long r = xopen("p", O_RDONLY | O_NONBLOCK);
	ck_assert_int_ge(r, 0);
	ck_assert_int_eq(sys_read(r, L(buf), sizeof(buf), 0, 0, 0), 0); /* no writer: end of file */
	long w = xopen("p", O_WRONLY | O_NONBLOCK);
	ck_assert_int_ge(w, 0);
	ck_assert_int_eq(sys_write(w, L("hey"), 3, 0, 0, 0), 3);
	ck_assert_int_eq(sys_fcntl(w, F_GETPIPE_SZ, 0, 0, 0, 0), FS_PIPE_SIZE);
	ck_assert_int_eq(sys_read(r, L(buf), sizeof(buf), 0, 0, 0), 3);
	ck_assert_int_eq(sys_lseek(r, 0, SEEK_SET, 0, 0, 0), -ESPIPE);
	ck_assert_int_eq(sys_fadvise64(r, 0, 0, 0, 0, 0), -ESPIPE);
	ck_assert_int_eq(sys_close(w, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_close(r, 0, 0, 0, 0, 0), 0);
	/* O_RDWR needs no partner; the data goes with the last close. */
	long rw = xopen("p", O_RDWR | O_NONBLOCK);
	ck_assert_int_eq(sys_write(rw, L("x"), 1, 0, 0, 0), 1);
	ck_assert_int_eq(sys_close(rw, 0, 0, 0, 0, 0), 0);
	rw = xopen("p", O_RDWR | O_NONBLOCK);
	ck_assert_int_eq(sys_read(rw, L(buf), 1, 0, 0, 0), -EAGAIN);
	/* An O_PATH file counts as no end at all. */
	long o = xopen("p", O_PATH);
	ck_assert_int_ge(o, 0);
	ck_assert_int_eq(sys_close(o, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_write(rw, L("y"), 1, 0, 0, 0), 1);
	ck_assert_int_eq(sys_close(rw, 0, 0, 0, 0, 0), 0);
	/* Other types. */
	ck_assert_int_eq(sys_mknod(L("r"), 0644, 0, 0, 0, 0), 0);
	ck_assert_int_eq(xstat("r", &st, true), 0);
	ck_assert_uint_eq(st.st_mode, S_IFREG | 0644);
	ck_assert_int_eq(sys_mknod(L("s"), S_IFSOCK | 0644, 0, 0, 0, 0), 0);
	ck_assert_int_eq(xopen("s", O_RDONLY), -ENXIO);
	ck_assert_int_eq(sys_mknod(L("dd"), S_IFDIR | 0755, 0, 0, 0, 0), -EPERM);
	ck_assert_int_eq(sys_mknod(L("c"), S_IFCHR | 0644, 0x103, 0, 0, 0), -EPERM);
	ck_assert_int_eq(sys_mknod(L("x"), 0170000, 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_mknod(L("p"), S_IFIFO | 0644, 0, 0, 0, 0), -EEXIST);
}
END_TEST

START_TEST(test_statfs_fadvise_sizes)
{
	struct lx_statfs sf;
	ck_assert_int_eq(sys_statfs(L("/tmp"), L(&sf), 0, 0, 0, 0), 0);
	ck_assert_int_eq(sf.f_type, LX_TMPFS_MAGIC);
	ck_assert_int_eq(sf.f_bsize, 4096);
	ck_assert_int_eq(sf.f_blocks, (64 << 20) / 4096); /* fs_shim's k_pages_stats */
	ck_assert_int_eq(sf.f_bfree, (48 << 20) / 4096);
	ck_assert_int_eq(sf.f_namelen, 255);
	ck_assert_int_eq(sys_fstatfs(1, L(&sf), 0, 0, 0, 0), 0);
	long fd = xopen("f", O_CREAT | O_RDWR);
	for (long adv = 0; adv <= 5; adv++)
		ck_assert_int_eq(sys_fadvise64(fd, 0, 0, adv, 0, 0), 0);
	ck_assert_int_eq(sys_fadvise64(fd, 0, 0, 6, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_fadvise64(fd, 0, -1, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_fadvise64(77, 0, 0, 0, 0, 0), -EBADF);
	/* tmpfs's sizes: 20 per directory entry, whole pages for files. */
	struct stat st;
	ck_assert_int_eq(sys_mkdir(L("z"), 0755, 0, 0, 0, 0), 0);
	ck_assert_int_eq(xstat("z", &st, true), 0);
	ck_assert_int_eq(st.st_size, 40);
	ck_assert_int_eq(st.st_blocks, 0);
	ck_assert_int_ge(xopen("z/a", O_CREAT | O_WRONLY), 0);
	ck_assert_int_eq(xstat("z", &st, true), 0);
	ck_assert_int_eq(st.st_size, 60);
	ck_assert_int_eq(sys_write(fd, L("x"), 1, 0, 0, 0), 1);
	ck_assert_int_eq(xstat("f", &st, true), 0);
	ck_assert_int_eq(st.st_blocks, 8);
}
END_TEST

/* An archive of records (struct ukvm_file_rec) built by arch_rec. */
static uint8_t arch[8192];
static size_t arch_len;

static void arch_rec(uint32_t mode, const char *name, const void *data, uint64_t size)
{
	struct ukvm_file_rec r = { mode, (uint32_t)strlen(name) + 1, size };
	memcpy(arch + arch_len, &r, sizeof(r));
	arch_len += sizeof(r);
	memcpy(arch + arch_len, name, r.name_len);
	arch_len += r.name_len;
	if (size)
		memcpy(arch + arch_len, data, size);
	arch_len += size;
	while (arch_len % 8)
		arch[arch_len++] = 0;
}

/* An image's symbolic links (ukvm-build packs them): the target is the record's data. */
START_TEST(test_archive_links)
{
	fs_reset();
	arch_len = 0;
	arch_rec(S_IFREG | 0755, "/bin/busybox", "\x7f" "ELF", 4);
	arch_rec(S_IFLNK | 0777, "/bin/sh", "busybox", 7);
	arch_rec(S_IFLNK | 0644, "/etc/dangling", "/nowhere", 8);
	ck_assert_int_eq(fs_init(arch, arch_len), 0);
	struct stat st;
	char buf[16];
	ck_assert_int_eq(xstat("/bin/sh", &st, false), 0);
	ck_assert_uint_eq(st.st_mode, S_IFLNK | 0777);
	ck_assert_int_eq(st.st_size, 7);
	ck_assert_int_eq(xstat("/bin/sh", &st, true), 0);
	ck_assert_int_eq(st.st_size, 4);
	ck_assert_int_eq(sys_readlink(L("/etc/dangling"), L(buf), sizeof(buf), 0, 0, 0), 8);
	ck_assert_int_eq(xstat("/etc/dangling", &st, true), -ENOENT);
}
END_TEST

/* Link records the guest refuses: no target, one with a NUL, one too long, a trailing slash, a link in a path. */
START_TEST(test_archive_bad_links)
{
	static char longt[4097];
	memset(longt, 'a', sizeof(longt));
	static const struct {
		const char *name, *target;
		size_t len;
	} bad[] = {
		{ "/l", "", 0 }, { "/l", "a\0b", 3 }, { "/l", longt, 4096 }, { "/l/", "x", 1 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fs_reset();
		arch_len = 0;
		arch_rec(S_IFLNK | 0777, bad[i].name, bad[i].target, bad[i].len);
		ck_assert_msg(fs_init(arch, arch_len) == -EINVAL, "case %zu", i);
	}
	fs_reset();
	arch_len = 0;
	arch_rec(S_IFLNK | 0777, "/d", "/tmp", 4);
	arch_rec(S_IFREG | 0644, "/d/f", "x", 1); /* never through a link: a record names its own path */
	ck_assert_int_eq(fs_init(arch, arch_len), -EINVAL);
	fs_reset();
	arch_len = 0;
	arch_rec(S_IFLNK | 0777, "/l", "x", 1);
	arch_rec(S_IFLNK | 0777, "/l", "y", 1);
	ck_assert_int_eq(fs_init(arch, arch_len), -EINVAL);
	/* The fixture's teardown resets whatever is left. */
	ck_assert_int_eq(fs_init(NULL, 0), 0);
}
END_TEST

/* ---------------- limits ---------------- */

START_TEST(test_link_limits)
{
	struct stat st;
	char a[16], b[16];
	ck_assert_int_ge(xopen("f", O_CREAT | O_WRONLY), 0);
	ck_assert_int_eq(xsymlink("f", "c0"), 0);
	for (int i = 1; i <= 41; i++) {
		snprintf(a, sizeof(a), "c%d", i);
		snprintf(b, sizeof(b), "c%d", i - 1);
		ck_assert_int_eq(xsymlink(b, a), 0);
	}
	ck_assert_int_eq(xstat("c39", &st, true), 0); /* 40 links followed */
	ck_assert_int_eq(xstat("c40", &st, true), -ELOOP);
	ck_assert_int_eq(xstat("c40", &st, false), 0);
	ck_assert_int_eq(xopen("c40", O_RDONLY), -ELOOP);
	ck_assert_int_eq(xopen("c41", O_CREAT | O_WRONLY), -ELOOP);
	ck_assert_int_eq(xsymlink("self/x", "self"), 0);
	ck_assert_int_eq(xstat("self", &st, true), -ELOOP);
	ck_assert_int_eq(xsymlink("loop", "loop"), 0);
	ck_assert_int_eq(xsymlink("loop", "loop"), -EEXIST);
	ck_assert_int_eq(xstat("loop", &st, true), -ELOOP);
	ck_assert_int_eq(xsymlink("loop", "loop2"), 0);
	ck_assert_int_eq(sys_rename(L("loop2"), L("loop"), 0, 0, 0, 0), 0);
	ck_assert_int_eq(xstat("loop", &st, true), -ELOOP);
	/* Targets: PATH_MAX - 1 bytes, then too long. */
	static char t[4200];
	memset(t, 'a', sizeof(t));
	t[4095] = '\0';
	ck_assert_int_eq(xsymlink(t, "l4095"), 0);
	ck_assert_int_eq(xstat("l4095", &st, false), 0);
	ck_assert_int_eq(st.st_size, 4095);
	ck_assert_int_eq(xstat("l4095", &st, true), -ENAMETOOLONG);
	t[4095] = 'a';
	t[4096] = '\0';
	ck_assert_int_eq(xsymlink(t, "l4096"), -ENAMETOOLONG);
	char small[4];
	ck_assert_int_eq(sys_readlink(L("l4095"), L(small), sizeof(small), 0, 0, 0), 4);
	ck_assert_int_eq(sys_readlink(L("l4095"), L(small), 0, 0, 0, 0), -EINVAL);
}
END_TEST

/* ---------------- hostile ---------------- */

START_TEST(test_link_bad_pointers)
{
	ck_assert_int_eq(sys_symlink(BAD_PTR, L("x"), 0, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_symlink(L("t"), BAD_PTR, 0, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(xsymlink("target", "l"), 0);
	ck_assert_int_eq(sys_readlink(L("l"), BAD_PTR, 10, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_readlink(BAD_PTR, L(&(char[8]){0}), 8, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_readlinkat(AT_FDCWD, 0, L(&(char[8]){0}), 8, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_readlink(L("l"), L(&(char[8]){0}), -1, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_link(BAD_PTR, L("y"), 0, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_link(L("l"), BAD_PTR, 0, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_mknod(BAD_PTR, S_IFIFO | 0600, 0, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_statfs(L("/"), BAD_PTR, 0, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_statfs(BAD_PTR, L(&(struct lx_statfs){0}), 0, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_fstatfs(-5, L(&(struct lx_statfs){0}), 0, 0, 0, 0), -EBADF);
	ck_assert_int_eq(sys_fstatfs(1 << 20, L(&(struct lx_statfs){0}), 0, 0, 0, 0), -EBADF);
	ck_assert_int_eq(sys_fadvise64(-1, 0, 0, 0, 0, 0), -EBADF);
	ck_assert_int_eq(sys_linkat(-7, L("l"), AT_FDCWD, L("z"), 0, 0), -EBADF);
	ck_assert_int_eq(sys_symlinkat(L("t"), 1 << 20, L("z"), 0, 0, 0), -EBADF);
}
END_TEST

Suite *fslink_suite(void)
{
	Suite *s = suite_create("fslink");
	TCase *core = tcase_create("core");
	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_test(core, test_symlink_walk);
	tcase_add_test(core, test_hard_links);
	tcase_add_test(core, test_fifo_and_mknod);
	tcase_add_test(core, test_statfs_fadvise_sizes);
	tcase_add_test(core, test_archive_links);
	suite_add_tcase(s, core);
	TCase *limits = tcase_create("limits");
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_add_test(limits, test_link_limits);
	suite_add_tcase(s, limits);
	TCase *hostile = tcase_create("hostile");
	tcase_add_checked_fixture(hostile, setup, teardown);
	tcase_add_test(hostile, test_link_bad_pointers);
	tcase_add_test(hostile, test_archive_bad_links);
	suite_add_tcase(s, hostile);
	return s;
}
