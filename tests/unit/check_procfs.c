/* check_procfs.c: unit tests of /proc and /sys (guest/fs/procfs.c) through the file syscalls, on fs_shim.c's kernel state. */
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
#define BAD_PTR 16L

static void setup(void)
{
	fs_shim_reset();
	memset(fs_shim_cpuid, 0, sizeof(fs_shim_cpuid));
	ck_assert_int_eq(fs_init(NULL, 0), 0);
}

static void teardown(void)
{
	fs_reset();
}

static long xopen(const char *p, long flags)
{
	return sys_openat(AT_FDCWD, L(p), flags, 0644, 0, 0);
}

/* The whole text of a /proc file (static buffer), read in small pieces to cross the offsets. */
static const char *slurp(const char *path)
{
	static char buf[16384];
	long fd = xopen(path, O_RDONLY);
	ck_assert_msg(fd >= 0, "%s: %ld", path, fd);
	size_t len = 0;
	for (;;) {
		long n = sys_read(fd, L(buf + len), 7, 0, 0, 0);
		ck_assert_int_ge(n, 0);
		if (n == 0)
			break;
		len += (size_t)n;
		ck_assert_uint_lt(len, sizeof(buf) - 8);
	}
	buf[len] = '\0';
	ck_assert_int_eq(sys_close(fd, 0, 0, 0, 0, 0), 0);
	return buf;
}

/* ---------------- core ---------------- */

START_TEST(test_proc_files)
{
	fs_shim_cpuid[3] = 1u << 26 | 1u << 25; /* edx: sse2, sse */
	fs_shim_cpuid[0] = 0x000a0671;          /* family 6, model 0xa7, stepping 1 */
	const char *t = slurp("/proc/cpuinfo");
	ck_assert_ptr_nonnull(strstr(t, "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 167\n"));
	ck_assert_ptr_nonnull(strstr(t, "cpu MHz\t\t: 2600.000\n"));
	ck_assert_ptr_nonnull(strstr(t, "flags\t\t: sse sse2\n"));
	ck_assert_ptr_nonnull(strstr(t, "model name\t: unknown\n"));
	t = slurp("/proc/meminfo");
	ck_assert_ptr_nonnull(strstr(t, "MemTotal:          65536 kB\nMemFree:           49152 kB\n"));
	t = slurp("/proc/uptime");
	ck_assert_ptr_nonnull(strchr(t, ' '));
	ck_assert_str_eq(t + strlen(t) - 1, "\n");
	t = slurp("/proc/stat");
	ck_assert_int_eq(strncmp(t, "cpu  ", 5), 0);
	ck_assert_ptr_nonnull(strstr(t, "\ncpu0 "));
	ck_assert_str_eq(slurp("/sys/devices/system/cpu/online"), "0\n");
	t = slurp("/proc/self/status");
	ck_assert_ptr_nonnull(strstr(t, "Name:\tapp\nUmask:\t0022\nState:\tR (running)\nTgid:\t1\n"));
	ck_assert_ptr_nonnull(strstr(t, "Threads:\t1\n"));
	/* Files are read-only, have size 0, and their text is a snapshot per open. */
	ck_assert_int_eq(xopen("/proc/meminfo", O_WRONLY), -EACCES);
	struct stat st;
	ck_assert_int_eq(sys_stat(L("/proc/meminfo"), L(&st), 0, 0, 0, 0), 0);
	ck_assert_int_eq(st.st_size, 0);
	ck_assert_uint_eq(st.st_mode, S_IFREG | 0444);
	long fd = xopen("/proc/meminfo", O_RDONLY);
	char b[9] = "";
	ck_assert_int_eq(sys_pread64(fd, L(b), 8, 9, 0, 0), 8);
	ck_assert_str_eq(b, "        ");
	ck_assert_int_eq(sys_lseek(fd, 0, SEEK_END, 0, 0, 0), (long)strlen(slurp("/proc/meminfo")));
	ck_assert_int_eq(sys_write(fd, L("x"), 1, 0, 0, 0), -EBADF);
}
END_TEST

START_TEST(test_proc_links)
{
	char buf[64];
	ck_assert_int_eq(sys_readlink(L("/proc/self"), L(buf), sizeof(buf), 0, 0, 0), 1);
	ck_assert_int_eq(buf[0], '1');
	/* /dev's links into it: cat /dev/stdin reads fd 0. */
	ck_assert_int_eq(sys_readlink(L("/dev/stdout"), L(buf), sizeof(buf), 0, 0, 0), 15);
	ck_assert_int_eq(memcmp(buf, "/proc/self/fd/1", 15), 0);
	struct stat s1, s2;
	ck_assert_int_eq(sys_stat(L("/dev/stdin"), L(&s1), 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_fstat(0, L(&s2), 0, 0, 0, 0), 0);
	ck_assert_uint_eq(s1.st_ino, s2.st_ino);
	ck_assert_int_eq(sys_stat(L("/dev/fd/2"), L(&s1), 0, 0, 0, 0), 0);
	ck_assert_uint_eq(s1.st_ino, s2.st_ino);
	/* No app in this boot: no exe. */
	ck_assert_int_eq(sys_readlink(L("/proc/self/exe"), L(buf), sizeof(buf), 0, 0, 0), -ENOENT);
	ck_assert_int_eq(sys_mkdir(L("/tmp/d"), 0755, 0, 0, 0, 0), 0);
	long f = xopen("/tmp/d/file", O_CREAT | O_RDWR);
	ck_assert_int_eq(f, 3);
	ck_assert_int_eq(sys_write(f, L("abc"), 3, 0, 0, 0), 3);
	long n = sys_readlink(L("/proc/self/fd/3"), L(buf), sizeof(buf), 0, 0, 0);
	ck_assert_int_eq(n, 11);
	ck_assert_int_eq(memcmp(buf, "/tmp/d/file", 11), 0);
	/* Opening an fd's link opens its file anew (its own offset). */
	long g = xopen("/proc/self/fd/3", O_RDONLY);
	ck_assert_int_eq(g, 4);
	ck_assert_int_eq(sys_read(g, L(buf), sizeof(buf), 0, 0, 0), 3);
	struct stat a, b;
	ck_assert_int_eq(sys_fstat(f, L(&a), 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_lstat(L("/proc/self/fd/3"), L(&b), 0, 0, 0, 0), 0);
	ck_assert_uint_eq(b.st_mode, S_IFLNK | 0700);
	ck_assert_int_eq(sys_stat(L("/proc/self/fd/4"), L(&b), 0, 0, 0, 0), 0);
	ck_assert_uint_eq(a.st_ino, b.st_ino);
	ck_assert_int_eq(sys_lstat(L("/proc/self/fd/4"), L(&b), 0, 0, 0, 0), 0);
	ck_assert_uint_eq(b.st_mode, S_IFLNK | 0500);
	/* Unlinked: no path, still opens. */
	ck_assert_int_eq(sys_unlink(L("/tmp/d/file"), 0, 0, 0, 0, 0), 0);
	n = sys_readlink(L("/proc/self/fd/3"), L(buf), sizeof(buf), 0, 0, 0);
	ck_assert_int_eq(n, 21);
	ck_assert_int_eq(memcmp(buf, "/tmp/d/file (deleted)", 21), 0);
	ck_assert_int_ge(xopen("/proc/self/fd/3", O_RDONLY), 0);
	/* A directory's fd goes on through its link. */
	long d = xopen("/tmp/d", O_RDONLY | O_DIRECTORY);
	char p[32];
	snprintf(p, sizeof(p), "/proc/self/fd/%ld/new", d);
	ck_assert_int_ge(xopen(p, O_CREAT | O_WRONLY), 0);
	ck_assert_int_eq(sys_stat(L("/tmp/d/new"), L(&b), 0, 0, 0, 0), 0);
	/* A pipe reopens like a FIFO; a closed fd is gone. */
	int pfd[2];
	ck_assert_int_eq(sys_pipe(L(pfd), 0, 0, 0, 0, 0), 0);
	snprintf(p, sizeof(p), "/proc/self/fd/%d", pfd[0]);
	n = sys_readlink(L(p), L(buf), sizeof(buf), 0, 0, 0);
	ck_assert_int_gt(n, 6);
	ck_assert_int_eq(memcmp(buf, "pipe:[", 6), 0);
	long w = xopen(p, O_WRONLY);
	ck_assert_int_ge(w, 0);
	ck_assert_int_eq(sys_write(w, L("z"), 1, 0, 0, 0), 1);
	ck_assert_int_eq(sys_read(pfd[0], L(buf), 4, 0, 0, 0), 1);
	ck_assert_int_eq(sys_close(w, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_close(pfd[1], 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_read(pfd[0], L(buf), 4, 0, 0, 0), 0); /* both writers gone */
	ck_assert_int_eq(sys_close(pfd[0], 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(xopen(p, O_RDONLY), -ENOENT);
	/* An eventfd's link names it but does not open. */
	long e = sys_eventfd2(0, 0, 0, 0, 0, 0);
	snprintf(p, sizeof(p), "/proc/self/fd/%ld", e);
	n = sys_readlink(L(p), L(buf), sizeof(buf), 0, 0, 0);
	ck_assert_int_eq(n, 20);
	ck_assert_int_eq(memcmp(buf, "anon_inode:[eventfd]", 20), 0);
	ck_assert_int_eq(xopen(p, O_RDONLY), -ENXIO);
}
END_TEST

START_TEST(test_proc_listing)
{
	uint8_t buf[4096];
	long dfd = xopen("/proc/self/fd", O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(dfd, 0);
	long n = sys_getdents64(dfd, L(buf), sizeof(buf), 0, 0, 0);
	ck_assert_int_gt(n, 0);
	/* ".", "..", 0, 1, 2 and the directory's own fd 3. */
	int names = 0;
	for (long off = 0; off < n;) {
		struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
		names++;
		if (names > 2)
			ck_assert_int_eq(d->d_type, 10);
		off += d->d_reclen;
	}
	ck_assert_int_eq(names, 6);
	ck_assert_int_eq(sys_getdents64(dfd, L(buf), sizeof(buf), 0, 0, 0), 0);
}
END_TEST

/* An image with its own /proc keeps it. */
START_TEST(test_proc_image_wins)
{
	fs_reset();
	uint8_t arch[64] = { 0 };
	struct ukvm_file_rec r = { S_IFDIR | 0700, 6, 0 };
	memcpy(arch, &r, sizeof(r));
	memcpy(arch + sizeof(r), "/proc", 6);
	ck_assert_int_eq(fs_init(arch, sizeof(r) + 6), 0);
	struct stat st;
	ck_assert_int_eq(sys_stat(L("/proc"), L(&st), 0, 0, 0, 0), 0);
	ck_assert_uint_eq(st.st_mode, S_IFDIR | 0700);
	ck_assert_int_eq(sys_stat(L("/proc/meminfo"), L(&st), 0, 0, 0, 0), -ENOENT);
	ck_assert_int_eq(sys_stat(L("/sys/devices/system/cpu/online"), L(&st), 0, 0, 0, 0), 0);
}
END_TEST

/* ---------------- limits ---------------- */

START_TEST(test_proc_many_fds)
{
	long last = 0;
	for (;;) {
		long fd = xopen("/proc/uptime", O_RDONLY);
		if (fd < 0) {
			ck_assert_int_eq(fd, -EMFILE);
			break;
		}
		last = fd;
	}
	ck_assert_int_eq(last, FS_MAX_FDS - 1);
	char p[32], buf[32];
	snprintf(p, sizeof(p), "/proc/self/fd/%ld", last);
	ck_assert_int_eq(sys_readlink(L(p), L(buf), sizeof(buf), 0, 0, 0), 12);
	ck_assert_int_eq(memcmp(buf, "/proc/uptime", 12), 0);
	/* A generated file needs memory at open: with none, -ENOMEM and no fd. */
	ck_assert_int_eq(sys_close(last, 0, 0, 0, 0, 0), 0);
	fs_shim_fail_alloc_after = 1;
	ck_assert_int_eq(xopen("/proc/cpuinfo", O_RDONLY), -ENOMEM);
	fs_shim_fail_alloc_after = 0;
	ck_assert_int_eq(xopen("/proc/cpuinfo", O_RDONLY), last);
}
END_TEST

/* ---------------- hostile ---------------- */

START_TEST(test_proc_bad_pointers)
{
	long fd = xopen("/proc/stat", O_RDONLY);
	ck_assert_int_eq(sys_read(fd, BAD_PTR, 10, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_readlink(L("/proc/self/fd/0"), BAD_PTR, 10, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_readlink(L("/proc/self/fd/99999999999999999999"), L(&(char[8]){0}), 8, 0, 0, 0), -ENOENT);
	/* Loops through magic links end like any walk. */
	ck_assert_int_eq(xopen("/proc/self/fd/0/x", O_RDONLY), -ENOTDIR);
	struct stat st;
	ck_assert_int_eq(sys_stat(L("/proc/self/fd/../fd/../fd/1"), L(&st), 0, 0, 0, 0), 0);
	/* Only the kernel makes names in /proc and /sys, as Linux's (root included). */
	ck_assert_int_eq(sys_rename(L("/proc/self/fd/0"), L("/proc/self/fd/1"), 0, 0, 0, 0), -ENOENT);
	ck_assert_int_eq(sys_rename(L("/proc/self/fd/2"), L("/proc/self/fd/x"), 0, 0, 0, 0), -ENOENT);
	ck_assert_int_eq(sys_rename(L("/proc/meminfo"), L("/tmp/m"), 0, 0, 0, 0), -EXDEV);
	ck_assert_int_eq(sys_rename(L("/tmp"), L("/proc/tmp"), 0, 0, 0, 0), -EXDEV);
	ck_assert_int_eq(sys_unlink(L("/proc/cpuinfo"), 0, 0, 0, 0, 0), -EPERM);
	ck_assert_int_eq(sys_rmdir(L("/proc/self/fd"), 0, 0, 0, 0, 0), -EPERM);
	ck_assert_int_eq(sys_mkdir(L("/proc/new"), 0755, 0, 0, 0, 0), -ENOENT);
	ck_assert_int_eq(sys_mkdir(L("/sys/devices/x"), 0755, 0, 0, 0, 0), -ENOENT);
	ck_assert_int_eq(xopen("/proc/self/fd/77", O_CREAT | O_WRONLY), -ENOENT);
	ck_assert_int_eq(sys_symlink(L("x"), L("/proc/self/fd/99"), 0, 0, 0, 0), -ENOENT);
	ck_assert_int_eq(sys_mknod(L("/proc/p"), S_IFIFO | 0600, 0, 0, 0, 0), -ENOENT);
	ck_assert_int_eq(sys_link(L("/proc/meminfo"), L("/tmp/m"), 0, 0, 0, 0), -EXDEV); /* another file system */
	struct lx_statfs sf;
	ck_assert_int_eq(sys_statfs(L("/proc/self/fd"), L(&sf), 0, 0, 0, 0), 0);
	ck_assert_int_eq(sf.f_type, 0x9fa0);
	ck_assert_int_eq(sys_statfs(L("/sys/devices"), L(&sf), 0, 0, 0, 0), 0);
	ck_assert_int_eq(sf.f_type, 0x62656572);
	ck_assert_int_eq(sys_stat(L("/proc/self/fd/2"), L(&st), 0, 0, 0, 0), 0);
	/* Writing through /dev/stderr (O_CREAT, as a shell's >) reaches the console's stderr. */
	long efd = xopen("/dev/stderr", O_WRONLY | O_CREAT | O_TRUNC);
	ck_assert_int_ge(efd, 0);
	fs_shim_console_len = 0;
	ck_assert_int_eq(sys_write(efd, L("err"), 3, 0, 0, 0), 3);
	ck_assert_uint_eq(fs_shim_console_stream, 2);
	ck_assert_int_eq(xopen("/proc/self/fd/1", O_WRONLY | O_CREAT | O_EXCL), -EEXIST);
}
END_TEST

Suite *procfs_suite(void)
{
	Suite *s = suite_create("procfs");
	TCase *core = tcase_create("core");
	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_test(core, test_proc_files);
	tcase_add_test(core, test_proc_links);
	tcase_add_test(core, test_proc_listing);
	tcase_add_test(core, test_proc_image_wins);
	suite_add_tcase(s, core);
	TCase *limits = tcase_create("limits");
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_add_test(limits, test_proc_many_fds);
	suite_add_tcase(s, limits);
	TCase *hostile = tcase_create("hostile");
	tcase_add_checked_fixture(hostile, setup, teardown);
	tcase_add_test(hostile, test_proc_bad_pointers);
	suite_add_tcase(s, hostile);
	return s;
}
