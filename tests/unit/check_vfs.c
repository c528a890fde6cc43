/* check_vfs.c: unit tests of the guest file system (guest/fs, guest/sys/sys_fs*.c) through its syscall handlers. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../guest/include/fs.h"
#include "../../guest/include/sys.h"
#include "../../guest/include/linux_abi.h"
#include "../../proto/ukvm_abi.h"
#include "fs_shim.h"

#define L(p) ((long)(uintptr_t)(p))
#define BAD_PTR 16L /* inside the unmapped page 0 */

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

static const char hello[] = "hello, packed world\n";

static void setup(void)
{
	fs_shim_reset();
	memset(arch, 0, sizeof(arch));
	arch_len = 0;
	arch_rec(S_IFDIR | 0750, "/etc", NULL, 0);
	arch_rec(S_IFREG | 0644, "/etc/hello.txt", hello, sizeof(hello) - 1);
	arch_rec(S_IFREG | 0755, "/bin/tool", "\x7f" "ELF", 4);
	arch_rec(S_IFREG | 0600, "/empty", NULL, 0);
	ck_assert_int_eq(fs_init(arch, arch_len), 0);
}

static void teardown(void)
{
	fs_reset();
}

static long xopen(const char *p, long flags, long mode)
{
	return sys_openat(AT_FDCWD, L(p), flags, mode, 0, 0);
}

static struct stat xstat(const char *p)
{
	struct stat st;
	ck_assert_int_eq(sys_stat(L(p), L(&st), 0, 0, 0, 0), 0);
	return st;
}

/* ---------------- core ---------------- */

START_TEST(test_read_packed_file)
{
	char buf[64] = { 0 };
	long fd = xopen("/etc/hello.txt", O_RDONLY, 0);
	ck_assert_int_eq(fd, 3); /* 0, 1, 2 are the console */
	ck_assert_int_eq(sys_read(fd, L(buf), sizeof(buf), 0, 0, 0), (long)sizeof(hello) - 1);
	ck_assert_str_eq(buf, hello);
	ck_assert_int_eq(sys_read(fd, L(buf), sizeof(buf), 0, 0, 0), 0);
	ck_assert_int_eq(sys_pread64(fd, L(buf), 5, 7, 0, 0), 5);
	ck_assert_int_eq(memcmp(buf, "packe", 5), 0);
	ck_assert_int_eq(sys_write(fd, L("x"), 1, 0, 0, 0), -EBADF);
	ck_assert_int_eq(sys_close(fd, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_close(fd, 0, 0, 0, 0, 0), -EBADF);
}
END_TEST

START_TEST(test_copy_on_write)
{
	uint8_t before[sizeof(arch)];
	memcpy(before, arch, sizeof(arch));
	long fd = xopen("/etc/hello.txt", O_RDWR, 0);
	ck_assert_int_eq(sys_write(fd, L("HELLO"), 5, 0, 0, 0), 5);
	ck_assert_int_eq(memcmp(before, arch, sizeof(arch)), 0);
	char buf[64] = { 0 };
	ck_assert_int_eq(sys_pread64(fd, L(buf), sizeof(buf), 0, 0, 0), (long)sizeof(hello) - 1);
	ck_assert_str_eq(buf, "HELLO, packed world\n");
	/* Truncating a still-borrowed file must not touch the archive either. */
	long fd2 = xopen("/bin/tool", O_WRONLY | O_TRUNC, 0);
	ck_assert_int_ge(fd2, 0);
	ck_assert_int_eq(xstat("/bin/tool").st_size, 0);
	ck_assert_int_eq(memcmp(before, arch, sizeof(arch)), 0);
}
END_TEST

START_TEST(test_lseek_append_trunc_creat)
{
	long fd = xopen("/tmp/f", O_CREAT | O_EXCL | O_RDWR, 0666);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(xstat("/tmp/f").st_mode, S_IFREG | 0644); /* umask 022 */
	ck_assert_int_eq(xopen("/tmp/f", O_CREAT | O_EXCL | O_RDWR, 0666), -EEXIST);
	ck_assert_int_eq(sys_write(fd, L("abcdef"), 6, 0, 0, 0), 6);
	ck_assert_int_eq(sys_lseek(fd, -2, SEEK_CUR, 0, 0, 0), 4);
	ck_assert_int_eq(sys_lseek(fd, 10, SEEK_END, 0, 0, 0), 16);
	ck_assert_int_eq(sys_write(fd, L("Z"), 1, 0, 0, 0), 1);
	ck_assert_int_eq(xstat("/tmp/f").st_size, 17);
	char buf[32];
	ck_assert_int_eq(sys_pread64(fd, L(buf), 32, 0, 0, 0), 17);
	ck_assert_int_eq(memcmp(buf, "abcdef\0\0\0\0\0\0\0\0\0\0Z", 17), 0);
	ck_assert_int_eq(sys_lseek(fd, -100, SEEK_CUR, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_lseek(fd, 0, 42, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_lseek(fd, 3, SEEK_DATA, 0, 0, 0), 3);
	ck_assert_int_eq(sys_lseek(fd, 3, SEEK_HOLE, 0, 0, 0), 17);
	ck_assert_int_eq(sys_lseek(fd, 17, SEEK_DATA, 0, 0, 0), -ENXIO);

	long ap = xopen("/tmp/f", O_WRONLY | O_APPEND, 0);
	ck_assert_int_eq(sys_lseek(ap, 0, SEEK_SET, 0, 0, 0), 0);
	ck_assert_int_eq(sys_write(ap, L("!!"), 2, 0, 0, 0), 2);
	ck_assert_int_eq(xstat("/tmp/f").st_size, 19);
	ck_assert_int_eq(sys_lseek(ap, 0, SEEK_CUR, 0, 0, 0), 19);

	long tr = xopen("/tmp/f", O_RDWR | O_TRUNC, 0);
	ck_assert_int_ge(tr, 0);
	ck_assert_int_eq(xstat("/tmp/f").st_size, 0);
	ck_assert_int_eq(sys_ftruncate(tr, 5000, 0, 0, 0, 0), 0);
	ck_assert_int_eq(xstat("/tmp/f").st_size, 5000);
	/* As tmpfs: the pages held, and growth by ftruncate is a hole. */
	ck_assert_int_eq(xstat("/tmp/f").st_blocks, 0);
	ck_assert_int_eq(sys_pread64(tr, L(buf), 4, 4000, 0, 0), 4);
	ck_assert_int_eq(memcmp(buf, "\0\0\0\0", 4), 0);
	ck_assert_int_eq(sys_truncate(L("/tmp/f"), 3, 0, 0, 0, 0), 0);
	ck_assert_int_eq(xstat("/tmp/f").st_size, 3);
	ck_assert_int_eq(sys_truncate(L("/tmp"), 3, 0, 0, 0, 0), -EISDIR);
	ck_assert_int_eq(sys_ftruncate(xopen("/etc/hello.txt", O_RDONLY, 0), 1, 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_fsync(tr, 0, 0, 0, 0, 0), 0);
}
END_TEST

static int list_dir(long fd, char names[][32], unsigned char *types, size_t bufsize)
{
	static uint8_t buf[4096];
	int n = 0;
	long r;
	while ((r = sys_getdents64(fd, L(buf), (long)bufsize, 0, 0, 0)) > 0) {
		for (long off = 0; off < r;) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
			ck_assert_int_eq(d->d_reclen % 8, 0);
			strcpy(names[n], d->d_name);
			types[n++] = d->d_type;
			off += d->d_reclen;
		}
	}
	ck_assert_int_eq(r, 0);
	return n;
}

START_TEST(test_dirs_getdents)
{
	ck_assert_int_eq(sys_mkdir(L("/d"), 0777, 0, 0, 0, 0), 0);
	ck_assert_int_eq(xstat("/d").st_mode, S_IFDIR | 0755);
	ck_assert_int_eq(sys_mkdir(L("/d"), 0777, 0, 0, 0, 0), -EEXIST);
	ck_assert_int_eq(sys_mkdir(L("/d/sub/"), 0700, 0, 0, 0, 0), 0);
	ck_assert_int_ge(xopen("/d/file", O_CREAT | O_WRONLY, 0600), 0);
	ck_assert_int_eq(xstat("/d").st_nlink, 3);
	long fd = xopen("/d", O_RDONLY | O_DIRECTORY, 0);
	char names[8][32];
	unsigned char types[8];
	int n = list_dir(fd, names, types, 4096);
	ck_assert_int_eq(n, 4);
	ck_assert_str_eq(names[0], ".");
	ck_assert_str_eq(names[1], "..");
	ck_assert_str_eq(names[2], "sub");
	ck_assert_int_eq(types[2], LINUX_DT_DIR);
	ck_assert_str_eq(names[3], "file");
	ck_assert_int_eq(types[3], LINUX_DT_REG);
	/* A buffer for one entry at a time still lists everything after a rewind. */
	ck_assert_int_eq(sys_lseek(fd, 0, SEEK_SET, 0, 0, 0), 0);
	ck_assert_int_eq(list_dir(fd, names, types, 24), 4);
	/* /dev lists character devices with DT_CHR (6 is DT_BLK, 1 DT_FIFO: the type bits of st_mode). */
	long dev = xopen("/dev", O_RDONLY | O_DIRECTORY, 0);
	char dnames[16][32]; /* console, null, zero, random, urandom, shm, fd, stdin, stdout, stderr */
	unsigned char dtypes[16];
	ck_assert_int_ge(list_dir(dev, dnames, dtypes, 4096), 7);
	ck_assert_str_eq(dnames[2], "console");
	ck_assert_int_eq(dtypes[2], LINUX_DT_CHR);
	ck_assert_int_eq(dtypes[1], LINUX_DT_DIR);
	ck_assert_int_eq(sys_close(dev, 0, 0, 0, 0, 0), 0);
	uint8_t tiny[16];
	ck_assert_int_eq(sys_lseek(fd, 0, SEEK_SET, 0, 0, 0), 0);
	ck_assert_int_eq(sys_getdents64(fd, L(tiny), 16, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_read(fd, L(tiny), 1, 0, 0, 0), -EISDIR);
	ck_assert_int_eq(sys_getdents64(1, L(tiny), 16, 0, 0, 0), -ENOTDIR);
	ck_assert_int_eq(xopen("/d", O_WRONLY, 0), -EISDIR);
	ck_assert_int_eq(xopen("/d/file", O_RDONLY | O_DIRECTORY, 0), -ENOTDIR);

	ck_assert_int_eq(sys_rmdir(L("/d"), 0, 0, 0, 0, 0), -ENOTEMPTY);
	ck_assert_int_eq(sys_rmdir(L("/d/file"), 0, 0, 0, 0, 0), -ENOTDIR);
	ck_assert_int_eq(sys_unlink(L("/d/sub"), 0, 0, 0, 0, 0), -EISDIR);
	ck_assert_int_eq(sys_unlinkat(AT_FDCWD, L("/d/sub"), AT_REMOVEDIR, 0, 0, 0), 0);
	ck_assert_int_eq(sys_unlink(L("/d/file"), 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_unlink(L("/d/file"), 0, 0, 0, 0, 0), -ENOENT);
	ck_assert_int_eq(sys_rmdir(L("/d"), 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_rmdir(L("/"), 0, 0, 0, 0, 0), -EBUSY);
	ck_assert_int_eq(sys_close(fd, 0, 0, 0, 0, 0), 0);
}
END_TEST

START_TEST(test_unlink_open_file_and_rename)
{
	long fd = xopen("/etc/hello.txt", O_RDONLY, 0);
	ck_assert_int_eq(sys_unlink(L("/etc/hello.txt"), 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(xopen("/etc/hello.txt", O_RDONLY, 0), -ENOENT);
	char buf[8];
	ck_assert_int_eq(sys_read(fd, L(buf), 5, 0, 0, 0), 5); /* still readable through the open fd */
	struct stat st;
	ck_assert_int_eq(sys_fstat(fd, L(&st), 0, 0, 0, 0), 0);
	ck_assert_int_eq(st.st_nlink, 0);
	ck_assert_int_eq(sys_close(fd, 0, 0, 0, 0, 0), 0);

	ck_assert_int_eq(sys_rename(L("/bin/tool"), L("/etc/tool2"), 0, 0, 0, 0), 0);
	ck_assert_int_eq(xopen("/bin/tool", O_RDONLY, 0), -ENOENT);
	ck_assert_int_eq(xstat("/etc/tool2").st_size, 4);
	ck_assert_int_eq(sys_rename(L("/etc/tool2"), L("/empty"), 0, 0, 0, 0), 0); /* replaces */
	ck_assert_int_eq(xstat("/empty").st_size, 4);
	ck_assert_int_eq(sys_rename(L("/etc"), L("/etc/x"), 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_rename(L("/empty"), L("/bin"), 0, 0, 0, 0), -EISDIR);
	ck_assert_int_eq(sys_rename(L("/bin"), L("/empty"), 0, 0, 0, 0), -ENOTDIR);
	ck_assert_int_eq(sys_rename(L("/bin"), L("/etc/bin2"), 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_chdir(L("/etc/bin2"), 0, 0, 0, 0, 0), 0);
	char cwd[64];
	ck_assert_int_eq(sys_getcwd(L(cwd), sizeof(cwd), 0, 0, 0, 0), 10);
	ck_assert_str_eq(cwd, "/etc/bin2");
	ck_assert_int_eq(sys_rename(L("/nope"), L("/x"), 0, 0, 0, 0), -ENOENT);
}
END_TEST

START_TEST(test_dup_fcntl)
{
	long fd = xopen("/etc/hello.txt", O_RDONLY | O_CLOEXEC, 0);
	ck_assert_int_eq(sys_fcntl(fd, F_GETFD, 0, 0, 0, 0), FD_CLOEXEC);
	long d = sys_dup(fd, 0, 0, 0, 0, 0);
	ck_assert_int_eq(d, fd + 1);
	ck_assert_int_eq(sys_fcntl(d, F_GETFD, 0, 0, 0, 0), 0);
	char c;
	ck_assert_int_eq(sys_read(fd, L(&c), 1, 0, 0, 0), 1);
	ck_assert_int_eq(sys_lseek(d, 0, SEEK_CUR, 0, 0, 0), 1); /* shared offset */
	ck_assert_int_eq(sys_dup2(fd, 100, 0, 0, 0, 0), 100);
	ck_assert_int_eq(sys_dup2(fd, fd, 0, 0, 0, 0), fd);
	ck_assert_int_eq(sys_dup3(fd, fd, 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_dup3(fd, 101, O_CLOEXEC, 0, 0, 0), 101);
	ck_assert_int_eq(sys_fcntl(101, F_GETFD, 0, 0, 0, 0), FD_CLOEXEC);
	ck_assert_int_eq(sys_dup3(fd, 102, 0x4, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_fcntl(fd, F_DUPFD, 50, 0, 0, 0), 50);
	ck_assert_int_eq(sys_fcntl(fd, F_DUPFD_CLOEXEC, 50, 0, 0, 0), 51);
	ck_assert_int_eq(sys_fcntl(51, F_GETFD, 0, 0, 0, 0), FD_CLOEXEC);
	ck_assert_int_eq(sys_fcntl(51, F_SETFD, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_fcntl(51, F_GETFD, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_fcntl(fd, F_GETFL, 0, 0, 0, 0), O_RDONLY);
	ck_assert_int_eq(sys_fcntl(fd, F_SETFL, O_NONBLOCK | O_APPEND | O_WRONLY, 0, 0, 0), 0);
	ck_assert_int_eq(sys_fcntl(d, F_GETFL, 0, 0, 0, 0), O_RDONLY | O_NONBLOCK | O_APPEND);
	ck_assert_int_eq(sys_fcntl(fd, F_SETLK, 0, 0, 0, 0), -EFAULT); /* a lock request needs its struct flock */
	ck_assert_int_eq(sys_fcntl(999, F_GETFD, 0, 0, 0, 0), -EBADF);
	/* Closing the original leaves the dups working. */
	ck_assert_int_eq(sys_close(fd, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_read(100, L(&c), 1, 0, 0, 0), 1);
	ck_assert_int_eq(c, 'e');
	ck_assert_int_eq(sys_dup(100, 0, 0, 0, 0, 0), fd); /* lowest free */
}
END_TEST

START_TEST(test_pipes)
{
	int p[2];
	ck_assert_int_eq(sys_pipe(L(p), 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(p[0], 3);
	ck_assert_int_eq(p[1], 4);
	char c;
	ck_assert_int_eq(sys_read(p[0], L(&c), 1, 0, 0, 0), -EAGAIN);
	ck_assert_int_eq(sys_lseek(p[0], 0, SEEK_SET, 0, 0, 0), -ESPIPE);
	ck_assert_int_eq(sys_pwrite64(p[1], L("x"), 1, 0, 0, 0), -ESPIPE);
	static uint8_t big[70000], out[70000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	ck_assert_int_eq(sys_write(p[1], L(big), 60000, 0, 0, 0), 60000);
	int avail;
	ck_assert_int_eq(sys_ioctl(p[0], FIONREAD, L(&avail), 0, 0, 0), 0);
	ck_assert_int_eq(avail, 60000);
	ck_assert_int_eq(sys_read(p[0], L(out), 50000, 0, 0, 0), 50000);
	/* Wraps around the end of the ring. */
	ck_assert_int_eq(sys_write(p[1], L(big + 60000), 10000, 0, 0, 0), 10000);
	ck_assert_int_eq(sys_read(p[0], L(out + 50000), 70000, 0, 0, 0), 20000);
	ck_assert_int_eq(memcmp(big, out, 70000), 0);
	/* Full: a short write, then EAGAIN. */
	ck_assert_int_eq(sys_write(p[1], L(big), 70000, 0, 0, 0), 65536);
	ck_assert_int_eq(sys_write(p[1], L(big), 1, 0, 0, 0), -EAGAIN);
	ck_assert_int_eq(sys_read(p[0], L(out), 70000, 0, 0, 0), 65536);
	ck_assert_int_eq(memcmp(big, out, 65536), 0);
	struct stat st;
	ck_assert_int_eq(sys_fstat(p[0], L(&st), 0, 0, 0, 0), 0);
	ck_assert_int_eq(st.st_mode & S_IFMT, S_IFIFO);
	ck_assert_uint_eq(st.st_dev, LINUX_MKDEV(0, 12)); /* pipefs, as on Linux; files say (0, 1) */
	ck_assert_uint_eq(st.st_size, 0);
	ck_assert_uint_eq(xstat("/etc/hello.txt").st_dev, LINUX_MKDEV(0, 1));
	ck_assert_int_eq(sys_close(p[1], 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_read(p[0], L(&c), 1, 0, 0, 0), 0); /* EOF */
	ck_assert_int_eq(sys_close(p[0], 0, 0, 0, 0, 0), 0);

	ck_assert_int_eq(sys_pipe2(L(p), O_CLOEXEC | O_NONBLOCK, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_fcntl(p[0], F_GETFD, 0, 0, 0, 0), FD_CLOEXEC);
	ck_assert_int_eq(sys_fcntl(p[1], F_GETFL, 0, 0, 0, 0), O_WRONLY | O_NONBLOCK);
	ck_assert_int_eq(sys_read(p[1], L(&c), 1, 0, 0, 0), -EBADF);
	ck_assert_int_eq(sys_close(p[0], 0, 0, 0, 0, 0), 0);
	/* SIGPIPE comes with EPIPE and would end the test process: ignore it, as the app in edge.c does. */
	uint64_t ign[4] = { 1 /* SIG_IGN */, 0, 0, 0 }, old[4];
	ck_assert_int_eq(sys_rt_sigaction(13, L(ign), L(old), 8, 0, 0), 0);
	ck_assert_int_eq(sys_write(p[1], L("x"), 1, 0, 0, 0), -EPIPE);
	ck_assert_int_eq(sys_rt_sigaction(13, L(old), 0, 8, 0, 0), 0);
	ck_assert_int_eq(sys_pipe2(L(p), O_DIRECT, 0, 0, 0, 0), -EINVAL);
}
END_TEST

START_TEST(test_devices)
{
	/* stdout a terminal of 24x80, stdin and stderr not (as `app 2>log </dev/null` on a terminal). */
	struct fs_console_tty tty = { true, 24, 80 }, none = { false, 0, 0 };
	fs_dev_console_tty(0, &none);
	fs_dev_console_tty(1, &tty);
	fs_dev_console_tty(2, &none);
	ck_assert_int_eq(sys_write(1, L("hi\n"), 3, 0, 0, 0), 3);
	ck_assert_int_eq(fs_shim_console_calls, 1);
	ck_assert_uint_eq(fs_shim_console_stream, 1);
	struct iovec iov[3] = { { "a", 1 }, { "bc", 2 }, { "def\n", 4 } };
	ck_assert_int_eq(sys_writev(2, L(iov), 3, 0, 0, 0), 7);
	ck_assert_int_eq(fs_shim_console_calls, 2); /* gathered: one console exit */
	ck_assert_uint_eq(fs_shim_console_stream, 2); /* fd 2 is the host's stderr */
	ck_assert_int_eq(fs_shim_console_len, 10);
	ck_assert_int_eq(memcmp(fs_shim_console, "hi\nabcdef\n", 10), 0);
	char buf[16];
	ck_assert_int_eq(sys_read(0, L(buf), 16, 0, 0, 0), 0);
	struct linux_winsize ws;
	ck_assert_int_eq(sys_ioctl(1, TIOCGWINSZ, L(&ws), 0, 0, 0), 0);
	ck_assert_int_eq(ws.ws_col, 80);
	ck_assert_int_eq(ws.ws_row, 24);
	/* Not terminals: every terminal request fails as on a file or pipe; FIONREAD still answers. */
	ck_assert_int_eq(sys_ioctl(2, TIOCGWINSZ, L(&ws), 0, 0, 0), -ENOTTY);
	struct termios t;
	ck_assert_int_eq(sys_ioctl(0, TCGETS, L(&t), 0, 0, 0), -ENOTTY);
	ck_assert_int_eq(sys_ioctl(2, TCSETS, L(&t), 0, 0, 0), -ENOTTY);
	int nread = -1;
	ck_assert_int_eq(sys_ioctl(0, FIONREAD, L(&nread), 0, 0, 0), 0);
	ck_assert_int_eq(nread, 0);
	ck_assert_int_eq(sys_ioctl(1, TCGETS, L(&t), 0, 0, 0), 0);
	ck_assert_uint_ne(t.c_lflag & ICANON, 0);
	/* The stream goes with the description: after 2>&1 fd 2 writes to stdout. */
	ck_assert_int_eq(sys_dup2(1, 2, 0, 0, 0, 0), 2);
	ck_assert_int_eq(sys_write(2, L("x"), 1, 0, 0, 0), 1);
	ck_assert_uint_eq(fs_shim_console_stream, 1);
	ck_assert_int_eq(sys_ioctl(2, TIOCGWINSZ, L(&ws), 0, 0, 0), 0);
	ck_assert_int_eq(sys_lseek(1, 0, SEEK_CUR, 0, 0, 0), -ESPIPE);

	long z = xopen("/dev/zero", O_RDONLY, 0);
	memset(buf, 1, sizeof(buf));
	ck_assert_int_eq(sys_read(z, L(buf), 16, 0, 0, 0), 16);
	ck_assert_int_eq(buf[0] | buf[15], 0);
	ck_assert_int_eq(sys_ioctl(z, TIOCGWINSZ, L(&ws), 0, 0, 0), -ENOTTY);
	long nul = xopen("/dev/null", O_RDWR, 0);
	ck_assert_int_eq(sys_write(nul, L("junk"), 4, 0, 0, 0), 4);
	ck_assert_int_eq(sys_read(nul, L(buf), 16, 0, 0, 0), 0);
	long r = xopen("/dev/urandom", O_RDONLY, 0);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(sys_read(r, L(buf), 16, 0, 0, 0), 16);
	static const char zeros[16];
	ck_assert_int_ne(memcmp(buf, zeros, 16), 0); /* k_random_bytes filled it */
	ck_assert_int_ge(xopen("/dev/random", O_RDONLY, 0), 0);
	long f = xopen("/etc/hello.txt", O_RDONLY, 0);
	ck_assert_int_eq(sys_ioctl(f, TCGETS, L(&t), 0, 0, 0), -ENOTTY);
	int avail;
	ck_assert_int_eq(sys_ioctl(f, FIONREAD, L(&avail), 0, 0, 0), 0);
	ck_assert_int_eq(avail, (int)sizeof(hello) - 1);
	struct stat st = xstat("/dev/null");
	ck_assert_int_eq(st.st_mode, S_IFCHR | 0666);
	ck_assert_uint_eq(st.st_rdev, LINUX_MKDEV(1, 3));
	ck_assert_uint_eq(xstat("/dev/console").st_rdev, LINUX_MKDEV(5, 1));
	ck_assert_uint_eq(fs_shim_console_calls, 3);
}
END_TEST

START_TEST(test_stat_fields)
{
	struct stat a = xstat("/etc/hello.txt"), b = xstat("/bin/tool");
	ck_assert_int_eq(a.st_mode, S_IFREG | 0644);
	ck_assert_int_eq(a.st_size, (long)sizeof(hello) - 1);
	ck_assert_int_eq(a.st_nlink, 1);
	ck_assert_int_eq(a.st_blksize, 4096);
	ck_assert_int_eq(a.st_blocks, 8); /* one page, as tmpfs */
	ck_assert_uint_ne(a.st_ino, b.st_ino);
	ck_assert_uint_gt(a.st_mtime, 1600000000u);
	ck_assert_int_eq(xstat("/etc").st_mode, S_IFDIR | 0750);
	ck_assert_int_eq(xstat("/bin").st_mode, S_IFDIR | 0755); /* implied by /bin/tool */
	struct stat c;
	long fd = xopen("/bin/tool", O_RDONLY, 0);
	ck_assert_int_eq(sys_newfstatat(fd, L(""), L(&c), AT_EMPTY_PATH, 0, 0), 0);
	ck_assert_uint_eq(c.st_ino, b.st_ino);
	ck_assert_int_eq(sys_newfstatat(fd, L(""), L(&c), 0, 0, 0), -ENOENT);
	long dfd = xopen("/etc", O_RDONLY | O_DIRECTORY, 0);
	ck_assert_int_eq(sys_newfstatat(dfd, L("hello.txt"), L(&c), 0, 0, 0), 0);
	ck_assert_uint_eq(c.st_ino, a.st_ino);
	ck_assert_int_eq(sys_newfstatat(fd, L("hello.txt"), L(&c), 0, 0, 0), -ENOTDIR);
	ck_assert_int_eq(sys_newfstatat(AT_FDCWD, L("/etc"), L(&c), 0x8000, 0, 0), -EINVAL);
	struct statx sx;
	ck_assert_int_eq(sys_statx(AT_FDCWD, L("/etc/hello.txt"), 0, STATX_BASIC_STATS, L(&sx), 0), 0);
	ck_assert_uint_eq(sx.stx_ino, a.st_ino);
	ck_assert_uint_eq(sx.stx_size, sizeof(hello) - 1);
	ck_assert_uint_eq(sx.stx_mode, S_IFREG | 0644);
	ck_assert_uint_eq(sx.stx_mask & STATX_BASIC_STATS, STATX_BASIC_STATS);
	ck_assert_uint_eq(sx.stx_mtime.tv_sec, a.st_mtime);
	ck_assert_int_eq(sys_statx(AT_FDCWD, L("/dev/zero"), 0, STATX_BASIC_STATS, L(&sx), 0), 0);
	ck_assert_uint_eq(sx.stx_rdev_major, 1);
	ck_assert_uint_eq(sx.stx_rdev_minor, 5);
	/* access: root may read/write anything, X_OK needs an x bit. */
	ck_assert_int_eq(sys_access(L("/bin/tool"), X_OK, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_access(L("/etc/hello.txt"), X_OK, 0, 0, 0, 0), -EACCES);
	ck_assert_int_eq(sys_access(L("/etc/hello.txt"), R_OK | W_OK, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_access(L("/nope"), F_OK, 0, 0, 0, 0), -ENOENT);
	ck_assert_int_eq(sys_faccessat(AT_FDCWD, L("/etc"), X_OK, 0, 0, 0), 0);
	ck_assert_int_eq(sys_access(L("/etc"), 8, 0, 0, 0, 0), -EINVAL);
	char lb[16];
	ck_assert_int_eq(sys_readlink(L("/etc/hello.txt"), L(lb), 16, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_readlink(L("/nope"), L(lb), 16, 0, 0, 0), -ENOENT);
	ck_assert_int_eq(sys_umask(077, 0, 0, 0, 0, 0), 022);
	ck_assert_int_ge(xopen("/tmp/m", O_CREAT | O_WRONLY, 0666), 0);
	ck_assert_int_eq(xstat("/tmp/m").st_mode, S_IFREG | 0600);
}
END_TEST

START_TEST(test_path_edges)
{
	struct stat st;
	ck_assert_uint_eq(xstat("//etc///hello.txt").st_size, sizeof(hello) - 1);
	ck_assert_uint_eq(xstat("/etc/./../etc/hello.txt").st_size, sizeof(hello) - 1);
	ck_assert_uint_eq(xstat("/..").st_ino, xstat("/").st_ino);
	ck_assert_uint_eq(xstat("/etc/").st_ino, xstat("/etc").st_ino);
	ck_assert_int_eq(sys_stat(L("/etc/hello.txt/"), L(&st), 0, 0, 0, 0), -ENOTDIR);
	ck_assert_int_eq(sys_stat(L("/etc/hello.txt/x"), L(&st), 0, 0, 0, 0), -ENOTDIR);
	ck_assert_int_eq(sys_stat(L("/etc/nope/x"), L(&st), 0, 0, 0, 0), -ENOENT);
	ck_assert_int_eq(sys_stat(L(""), L(&st), 0, 0, 0, 0), -ENOENT);
	ck_assert_int_eq(xopen("/etc/new/", O_CREAT | O_WRONLY, 0644), -EISDIR);
	ck_assert_int_eq(xopen("/etc/hello.txt/", O_RDONLY, 0), -ENOTDIR);
	static char longp[5000];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	ck_assert_int_eq(sys_stat(L(longp), L(&st), 0, 0, 0, 0), -ENAMETOOLONG);
	longp[256 + 1] = '\0'; /* one 256-byte component */
	ck_assert_int_eq(sys_stat(L(longp), L(&st), 0, 0, 0, 0), -ENAMETOOLONG);
	ck_assert_int_eq(xopen(longp, O_CREAT | O_WRONLY, 0644), -ENAMETOOLONG);
	longp[255 + 1] = '\0';
	ck_assert_int_ge(xopen(longp, O_CREAT | O_WRONLY, 0644), 0);
	/* Relative paths and cwd. */
	ck_assert_int_eq(sys_chdir(L("etc"), 0, 0, 0, 0, 0), 0);
	ck_assert_uint_eq(xstat("hello.txt").st_size, sizeof(hello) - 1);
	ck_assert_uint_eq(xstat("../bin/tool").st_size, 4);
	char cwd[16];
	ck_assert_int_eq(sys_getcwd(L(cwd), sizeof(cwd), 0, 0, 0, 0), 5);
	ck_assert_str_eq(cwd, "/etc");
	ck_assert_int_eq(sys_getcwd(L(cwd), 4, 0, 0, 0, 0), -ERANGE);
	ck_assert_int_eq(sys_chdir(L("hello.txt"), 0, 0, 0, 0, 0), -ENOTDIR);
	long root = xopen("/", O_RDONLY | O_DIRECTORY, 0);
	ck_assert_int_eq(sys_fchdir(root, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_getcwd(L(cwd), sizeof(cwd), 0, 0, 0, 0), 2);
	ck_assert_str_eq(cwd, "/");
	/* A removed cwd: getcwd fails, ".." does not resolve. */
	ck_assert_int_eq(sys_mkdir(L("/gone"), 0755, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_chdir(L("/gone"), 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_rmdir(L("/gone"), 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_getcwd(L(cwd), sizeof(cwd), 0, 0, 0, 0), -ENOENT);
	ck_assert_int_eq(sys_stat(L(".."), L(&st), 0, 0, 0, 0), -ENOENT);
	ck_assert_int_eq(sys_mkdir(L("x"), 0755, 0, 0, 0, 0), -ENOENT);
	ck_assert_int_eq(xopen("x", O_CREAT | O_WRONLY, 0644), -ENOENT);
}
END_TEST

/* The splitter that path lookup and the archive loader share, and the "."/".." test. */
START_TEST(test_path_split)
{
	const char *p = "//a//bb/", *c;
	size_t n;
	ck_assert(!fs_path_next(&p, &c, &n));
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(c[0], 'a');
	ck_assert(fs_path_next(&p, &c, &n)); /* only slashes follow "bb" */
	ck_assert_uint_eq(n, 2);
	ck_assert(!strncmp(c, "bb", 2));
	ck_assert_int_eq(*p, '/'); /* just past it: a trailing slash shows */
	p = "///";
	ck_assert(fs_path_next(&p, &c, &n));
	ck_assert_uint_eq(n, 0);
	p = "x";
	ck_assert(fs_path_next(&p, &c, &n));
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(*p, '\0');
	ck_assert(fs_name_is_dot(".", 1) && fs_name_is_dot("..", 2));
	ck_assert(!fs_name_is_dot("...", 3) && !fs_name_is_dot(".a", 2) && !fs_name_is_dot("", 0));
	struct fs_last l;
	ck_assert_int_eq(fs_lookup_parent(fs_root, "/etc//hello.txt//", &l), 0);
	ck_assert_uint_eq(l.len, 9);
	ck_assert(!strncmp(l.name, "hello.txt", 9));
	ck_assert(l.slash);
	ck_assert_ptr_eq(l.dir, fs_dir_find(fs_root, "etc", 3));
	ck_assert_int_eq(fs_lookup_parent(fs_root, "/etc/hello.txt/x", &l), -ENOTDIR);
}
END_TEST

/* Locks are granted (one process), but checked as Linux checks them; chmod/chown/utimensat change the node. */
START_TEST(test_locks_modes_times)
{
	long ro = xopen("/etc/hello.txt", O_RDONLY, 0);
	long wo = xopen("/etc/hello.txt", O_WRONLY, 0);
	ck_assert_int_ge(ro, 0);
	ck_assert_int_ge(wo, 0);
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
	ck_assert_int_eq(sys_fcntl(ro, F_SETLK, L(&fl), 0, 0, 0), 0);
	ck_assert_int_eq(sys_fcntl(wo, F_SETLKW, L(&fl), 0, 0, 0), -EBADF); /* read lock needs read access */
	fl.l_type = F_WRLCK;
	ck_assert_int_eq(sys_fcntl(ro, F_SETLK, L(&fl), 0, 0, 0), -EBADF);
	ck_assert_int_eq(sys_fcntl(wo, F_SETLK, L(&fl), 0, 0, 0), 0);
	ck_assert_int_eq(sys_fcntl(ro, F_GETLK, L(&fl), 0, 0, 0), 0);
	ck_assert_int_eq(fl.l_type, F_UNLCK);
	ck_assert_int_eq(sys_fcntl(ro, F_GETLK, L(&fl), 0, 0, 0), -EINVAL); /* F_UNLCK is no query */
	fl.l_type = 7;
	ck_assert_int_eq(sys_fcntl(ro, F_SETLK, L(&fl), 0, 0, 0), -EINVAL);
	fl = (struct flock){ .l_type = F_RDLCK, .l_whence = 3 };
	ck_assert_int_eq(sys_fcntl(ro, F_SETLK, L(&fl), 0, 0, 0), -EINVAL);
	fl = (struct flock){ .l_type = F_RDLCK, .l_pid = 5 };
	ck_assert_int_eq(sys_fcntl(ro, F_OFD_SETLK, L(&fl), 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_flock(ro, LOCK_EX | LOCK_NB, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_flock(ro, LOCK_UN, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_flock(ro, 0, 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_flock(999, LOCK_SH, 0, 0, 0, 0), -EBADF);

	/* chmod keeps the type; fchmod and chown work on fds; uid -1 leaves it. */
	ck_assert_int_eq(sys_chmod(L("/etc/hello.txt"), 04711, 0, 0, 0, 0), 0);
	struct stat st = xstat("/etc/hello.txt");
	ck_assert_uint_eq(st.st_mode, S_IFREG | 04711);
	ck_assert_int_eq(sys_fchmod(ro, 0600, 0, 0, 0, 0), 0);
	ck_assert_uint_eq(xstat("/etc/hello.txt").st_mode, S_IFREG | 0600);
	ck_assert_int_eq(sys_chmod(L("/nope"), 0600, 0, 0, 0, 0), -ENOENT);
	ck_assert_int_eq(sys_fchmod(77, 0600, 0, 0, 0, 0), -EBADF);
	ck_assert_int_eq(sys_chown(L("/etc"), 1000, 100, 0, 0, 0), 0);
	ck_assert_int_eq(sys_fchown(ro, -1, 5, 0, 0, 0), 0);
	st = xstat("/etc");
	ck_assert_uint_eq(st.st_uid, 1000);
	ck_assert_uint_eq(st.st_gid, 100);
	st = xstat("/etc/hello.txt");
	ck_assert_uint_eq(st.st_uid, 0);
	ck_assert_uint_eq(st.st_gid, 5);

	/* utimensat: explicit times, UTIME_OMIT, NULL path = the fd (futimens), bad nsec. */
	struct { long sec, nsec; } ts[2] = { { 1000000000, 5 }, { 1200000000, 7 } };
	ck_assert_int_eq(sys_utimensat(AT_FDCWD, L("/etc/hello.txt"), L(ts), 0, 0, 0), 0);
	st = xstat("/etc/hello.txt");
	ck_assert_int_eq(st.st_atime, 1000000000);
	ck_assert_int_eq(st.st_mtime, 1200000000);
	ck_assert_int_eq(st.st_mtime_nsec, 7);
	ts[0].nsec = (1l << 30) - 2; /* UTIME_OMIT */
	ts[1].sec = 1300000000;
	ck_assert_int_eq(sys_utimensat(ro, 0, L(ts), 0, 0, 0), 0);
	st = xstat("/etc/hello.txt");
	ck_assert_int_eq(st.st_atime, 1000000000);
	ck_assert_int_eq(st.st_mtime, 1300000000);
	ts[1].nsec = 1000000000;
	ck_assert_int_eq(sys_utimensat(ro, 0, L(ts), 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_utimensat(AT_FDCWD, 0, 0, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_utimensat(AT_FDCWD, L("/etc"), BAD_PTR, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_utimensat(AT_FDCWD, L("/etc"), 0, 0x8000, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_utimensat(AT_FDCWD, L("/etc"), 0, 0, 0, 0), 0); /* now */

	/* O_CREAT | O_DIRECTORY is refused before anything is created (Linux >= 6.4). */
	ck_assert_int_eq(xopen("/etc/newdir", O_CREAT | O_DIRECTORY | O_RDWR, 0644), -EINVAL);
	ck_assert_int_eq(sys_access(L("/etc/newdir"), F_OK, 0, 0, 0, 0), -ENOENT);
}
END_TEST

/* ---------------- limits ---------------- */

START_TEST(test_fd_limit)
{
	int n = 0;
	long fd;
	while ((fd = xopen("/dev/null", O_RDONLY, 0)) >= 0)
		n++;
	ck_assert_int_eq(fd, -EMFILE);
	ck_assert_int_eq(n, FS_MAX_FDS - 3);
	ck_assert_int_eq(sys_dup(0, 0, 0, 0, 0, 0), -EMFILE);
	ck_assert_int_eq(sys_close(500, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(xopen("/dev/null", O_RDONLY, 0), 500);
	ck_assert_int_eq(sys_dup2(0, FS_MAX_FDS, 0, 0, 0, 0), -EBADF);
	ck_assert_int_eq(sys_fcntl(0, F_DUPFD, FS_MAX_FDS, 0, 0, 0), -EINVAL);
	int p[2];
	ck_assert_int_eq(sys_pipe(L(p), 0, 0, 0, 0, 0), -EMFILE);
	ck_assert_int_eq(sys_close(FS_MAX_FDS, 0, 0, 0, 0, 0), -EBADF);
	ck_assert_int_eq(sys_close(-1, 0, 0, 0, 0, 0), -EBADF);
}
END_TEST

START_TEST(test_iov_limits)
{
	static struct iovec iov[LINUX_UIO_MAXIOV + 1];
	char b = 'x';
	for (int i = 0; i <= LINUX_UIO_MAXIOV; i++)
		iov[i] = (struct iovec){ &b, 1 };
	long fd = xopen("/tmp/v", O_CREAT | O_RDWR, 0644);
	ck_assert_int_eq(sys_writev(fd, L(iov), LINUX_UIO_MAXIOV + 1, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_writev(fd, L(iov), -1, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_writev(fd, L(iov), LINUX_UIO_MAXIOV, 0, 0, 0), LINUX_UIO_MAXIOV);
	ck_assert_int_eq(sys_writev(fd, L(iov), 0, 0, 0, 0), 0);
	iov[0].iov_len = SIZE_MAX / 2;
	iov[1].iov_len = SIZE_MAX / 2;
	ck_assert_int_eq(sys_writev(fd, L(iov), 2, 0, 0, 0), -EINVAL);
	/* readv scatters across elements. */
	char a[3], c[5];
	struct iovec rv[2] = { { a, 3 }, { c, 5 } };
	ck_assert_int_eq(sys_pwrite64(fd, L("12345678"), 8, 0, 0, 0), 8);
	ck_assert_int_eq(sys_lseek(fd, 0, SEEK_SET, 0, 0, 0), 0);
	ck_assert_int_eq(sys_readv(fd, L(rv), 2, 0, 0, 0), 8);
	ck_assert_int_eq(memcmp(a, "123", 3), 0);
	ck_assert_int_eq(memcmp(c, "45678", 5), 0);
	/* Past FS_MAX_FILE writes are refused, not allocated. */
	ck_assert_int_eq(sys_pwrite64(fd, L("x"), 1, (long)FS_MAX_FILE, 0, 0), -EFBIG);
	ck_assert_int_eq(sys_ftruncate(fd, (long)FS_MAX_FILE + 1, 0, 0, 0, 0), -EFBIG);
	ck_assert_int_eq(sys_pwrite64(fd, L("x"), 1, -1, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_lseek(fd, INT64_MAX, SEEK_SET, 0, 0, 0), INT64_MAX);
	ck_assert_int_eq(sys_lseek(fd, 1, SEEK_CUR, 0, 0, 0), -EINVAL); /* Linux: the wrapped sum is negative */
	ck_assert_int_eq(sys_lseek(fd, 0, SEEK_CUR, 0, 0, 0), INT64_MAX);
	char ch;
	ck_assert_int_eq(sys_read(fd, L(&ch), 1, 0, 0, 0), 0);
	ck_assert_int_eq(sys_write(fd, L(&ch), 1, 0, 0, 0), -EFBIG);
}
END_TEST

START_TEST(test_alloc_failure)
{
	fs_shim_fail_alloc_after = 1;
	ck_assert_int_eq(sys_mkdir(L("/nomem"), 0755, 0, 0, 0, 0), -ENOMEM);
	fs_shim_fail_alloc_after = 1;
	long fd = xopen("/etc/hello.txt", O_RDWR, 0);
	ck_assert_int_eq(fd, -ENOMEM);
	fd = xopen("/etc/hello.txt", O_RDWR, 0);
	fs_shim_fail_alloc_after = 1;
	ck_assert_int_eq(sys_write(fd, L("x"), 1, 0, 0, 0), -ENOSPC); /* the copy-on-write copy failed */
	ck_assert_int_eq(xstat("/etc/hello.txt").st_size, (long)sizeof(hello) - 1);
	fs_shim_fail_alloc_after = 2;
	int p[2];
	ck_assert_int_eq(sys_pipe(L(p), 0, 0, 0, 0, 0), -ENOMEM);
	fs_shim_fail_alloc_after = 0;
}
END_TEST

/* Reads a whole small file into buf (NUL-terminated); its length. */
static long slurp(const char *p, char *buf, size_t size)
{
	long fd = xopen(p, O_RDONLY, 0);
	ck_assert_int_ge(fd, 0);
	long n = sys_read(fd, L(buf), size - 1, 0, 0, 0);
	ck_assert_int_ge(n, 0);
	buf[n] = 0;
	ck_assert_int_eq(sys_close(fd, 0, 0, 0, 0, 0), 0);
	return n;
}

/* /etc/passwd and /etc/group with root and nobody at boot; the image's own copies win; /etc made when missing. */
START_TEST(test_etc_users)
{
	char buf[256];
	fs_etc_users();
	slurp("/etc/passwd", buf, sizeof(buf));
	ck_assert_str_eq(buf, "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
	slurp("/etc/group", buf, sizeof(buf));
	ck_assert_str_eq(buf, "root:x:0:\nnogroup:x:65534:\n");
	ck_assert_int_eq(xstat("/etc/passwd").st_mode, S_IFREG | 0644);
	ck_assert_int_eq(fs_etc_create("passwd", "x", 1), 1); /* exists: left alone */
	slurp("/etc/hello.txt", buf, sizeof(buf));
	ck_assert_str_eq(buf, hello); /* the image's /etc is kept */

	/* An image with its own passwd and no group: its passwd wins, group is added. */
	static const char mine[] = "app:x:1000:1000::/:/bin/false\n";
	fs_reset();
	arch_len = 0;
	arch_rec(S_IFDIR | 0755, "/etc", NULL, 0);
	arch_rec(S_IFREG | 0644, "/etc/passwd", mine, sizeof(mine) - 1);
	ck_assert_int_eq(fs_init(arch, arch_len), 0);
	fs_etc_users();
	slurp("/etc/passwd", buf, sizeof(buf));
	ck_assert_str_eq(buf, mine);
	slurp("/etc/group", buf, sizeof(buf));
	ck_assert_str_eq(buf, "root:x:0:\nnogroup:x:65534:\n");

	/* No /etc at all: made. */
	fs_reset();
	ck_assert_int_eq(fs_init(NULL, 0), 0);
	fs_etc_users();
	ck_assert_int_eq(xstat("/etc").st_mode, S_IFDIR | 0755);
	ck_assert_int_gt(slurp("/etc/passwd", buf, sizeof(buf)), 0);
}
END_TEST

/* ---------------- hostile ---------------- */

static int init_with(const void *a, size_t len)
{
	fs_reset();
	return fs_init(a, len);
}

START_TEST(test_archive_hostile)
{
	struct { struct ukvm_file_rec r; char name[24]; } rec;
	/* Valid baseline first, so the cases below fail for their own reason. */
	memset(&rec, 0, sizeof(rec));
	rec.r = (struct ukvm_file_rec){ S_IFREG | 0644, 4, 0 };
	memcpy(rec.name, "/ok", 4);
	ck_assert_int_eq(init_with(&rec, 24), 0);
	ck_assert_int_eq(init_with(&rec, 20), 0); /* last record unpadded */
	ck_assert_int_eq(init_with(&rec, 10), -EINVAL); /* truncated header */
	ck_assert_int_eq(init_with(&rec, 18), -EINVAL); /* truncated name */
	rec.name[3] = 'X';
	ck_assert_int_eq(init_with(&rec, 24), -EINVAL); /* name not NUL-terminated */
	memcpy(rec.name, "/o\0\0", 4);
	ck_assert_int_eq(init_with(&rec, 24), -EINVAL); /* NUL inside the name */
	memcpy(rec.name, "ok\0", 4);
	rec.r.name_len = 3;
	ck_assert_int_eq(init_with(&rec, 24), -EINVAL); /* relative path */
	memcpy(rec.name, "/ok", 4);
	rec.r.name_len = 0xffffffffu;
	ck_assert_int_eq(init_with(&rec, 24), -EINVAL); /* huge name_len */
	rec.r.name_len = 0;
	ck_assert_int_eq(init_with(&rec, 24), -EINVAL);
	rec.r.name_len = 4;
	rec.r.size = 5;
	ck_assert_int_eq(init_with(&rec, 24), -EINVAL); /* data past the end */
	rec.r.size = UINT64_MAX - 10;
	ck_assert_int_eq(init_with(&rec, 24), -EINVAL); /* size that would wrap */
	rec.r.size = 0;
	rec.r.mode = S_IFCHR | 0644;
	ck_assert_int_eq(init_with(&rec, 24), -EINVAL); /* not a file or directory */
	rec.r.mode = S_IFDIR | 0755;
	rec.r.size = 4;
	ck_assert_int_eq(init_with(&rec, 24), -EINVAL); /* directory with data */
	rec.r = (struct ukvm_file_rec){ S_IFREG | 0644, 7, 0 };
	memcpy(rec.name, "/a/../b", 8);
	rec.r.name_len = 8;
	ck_assert_int_eq(init_with(&rec, 24), -EINVAL); /* dot-dot component */
	memcpy(rec.name, "/dev/nul", 8);
	memcpy(rec.name, "/dev/zer", 8);
	char z[] = "/dev/zero";
	struct { struct ukvm_file_rec r; char name[16]; } dup = { { S_IFREG | 0644, sizeof(z), 0 }, { 0 } };
	memcpy(dup.name, z, sizeof(z));
	ck_assert_int_eq(init_with(&dup, sizeof(dup)), -EINVAL); /* collides with a device */

	/* A file used as a directory, and a duplicate file. */
	arch_len = 0;
	arch_rec(S_IFREG | 0644, "/f", "x", 1);
	arch_rec(S_IFREG | 0644, "/f/g", "y", 1);
	ck_assert_int_eq(init_with(arch, arch_len), -EINVAL);
	arch_len = 0;
	arch_rec(S_IFREG | 0644, "/f", "x", 1);
	arch_rec(S_IFREG | 0644, "/f", "y", 1);
	ck_assert_int_eq(init_with(arch, arch_len), -EINVAL);
	ck_assert_int_eq(init_with(NULL, 8), -EINVAL);
	ck_assert_int_eq(init_with(NULL, 0), 0); /* bare kernel: just /dev and stdio */
	ck_assert_int_eq(sys_write(1, L("ok"), 2, 0, 0, 0), 2);
	ck_assert_int_eq(fs_init(NULL, 0), -EBUSY);
}
END_TEST

START_TEST(test_bad_pointers)
{
	struct stat st;
	char buf[8];
	ck_assert_int_eq(sys_read(0, BAD_PTR, 8, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_write(1, BAD_PTR, 8, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_read(0, BAD_PTR, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_open(BAD_PTR, O_RDONLY, 0, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_stat(L("/etc"), BAD_PTR, 0, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_fstat(0, BAD_PTR, 0, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_stat(BAD_PTR, L(&st), 0, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_statx(AT_FDCWD, L("/"), 0, 0, BAD_PTR, 0), -EFAULT);
	ck_assert_int_eq(sys_pipe(BAD_PTR, 0, 0, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_getcwd(BAD_PTR, 64, 0, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_ioctl(1, TIOCGWINSZ, BAD_PTR, 0, 0, 0), -ENOTTY); /* not a terminal: Linux checks that first */
	fs_dev_console_tty(1, &(struct fs_console_tty){ true, 24, 80 });
	ck_assert_int_eq(sys_ioctl(1, TIOCGWINSZ, BAD_PTR, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_ioctl(1, TCSETS, BAD_PTR, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_writev(1, BAD_PTR, 2, 0, 0, 0), -EFAULT);
	struct iovec iov[2] = { { buf, 1 }, { (void *)BAD_PTR, 4 } };
	ck_assert_int_eq(sys_writev(1, L(iov), 2, 0, 0, 0), -EFAULT);
	ck_assert_uint_eq(fs_shim_console_calls, 0); /* nothing written before the check */
	ck_assert_int_eq(sys_read(-1, L(buf), 1, 0, 0, 0), -EBADF);
	ck_assert_int_eq(sys_read(1L << 40, L(buf), 1, 0, 0, 0), -EBADF);
	ck_assert_int_eq(sys_openat(77, L("x"), O_RDONLY, 0, 0, 0), -EBADF);
	ck_assert_int_eq(sys_openat(77, L("/etc"), O_RDONLY, 0, 0, 0), 3); /* absolute ignores dirfd */
	ck_assert_int_eq(sys_open(L("/etc"), O_ACCMODE, 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_readlink(L("/etc"), L(buf), 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_lseek(-5, 0, SEEK_SET, 0, 0, 0), -EBADF);
	ck_assert_int_eq(sys_getdents64(1L << 33, L(buf), 8, 0, 0, 0), -EBADF);
	ck_assert_int_eq(sys_fcntl(0, F_GETLK, BAD_PTR, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_chmod(BAD_PTR, 0600, 0, 0, 0, 0), -EFAULT);
}
END_TEST

/* revents of one fd polled with timeout 0 (or poll's error). */
static long poll1(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events, .revents = 0x7777 };
	long n = sys_poll(L(&p), 1, 0, 0, 0, 0);
	return n < 0 ? n : p.revents;
}

/* Readiness through the ops' poll hooks: pipes by state, the console and files always ready (Linux's answers). */
START_TEST(test_poll_readiness)
{
	int p[2];
	ck_assert_int_eq(sys_pipe(L(p), 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(poll1(p[0], POLLIN | POLLOUT), 0);
	ck_assert_int_eq(poll1(p[1], POLLIN | POLLOUT), POLLOUT);
	ck_assert_int_eq(sys_write(p[1], L("ab"), 2, 0, 0, 0), 2);
	ck_assert_int_eq(poll1(p[0], POLLIN | POLLRDNORM), POLLIN | POLLRDNORM);
	ck_assert_int_eq(sys_close(p[1], 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(poll1(p[0], POLLIN), POLLIN | POLLHUP);
	char c[2];
	ck_assert_int_eq(sys_read(p[0], L(c), 2, 0, 0, 0), 2);
	ck_assert_int_eq(poll1(p[0], 0), POLLHUP); /* hang-up is reported unasked */
	ck_assert_int_eq(sys_close(p[0], 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(poll1(p[0], POLLIN), POLLNVAL);
	ck_assert_int_eq(sys_pipe(L(p), 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_close(p[0], 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(poll1(p[1], POLLOUT), POLLOUT | POLLERR);
	ck_assert_int_eq(sys_close(p[1], 0, 0, 0, 0, 0), 0);

	/* Console (fds 0-2), files and devices have no poll hook: readable and writable. */
	ck_assert_int_eq(poll1(0, POLLIN), POLLIN);
	ck_assert_int_eq(poll1(1, POLLOUT | POLLPRI), POLLOUT);
	long fd = sys_open(L("/etc/hello.txt"), O_RDONLY, 0, 0, 0, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(poll1((int)fd, POLLIN | POLLOUT), POLLIN | POLLOUT);
	struct pollfd two[2] = { { .fd = -1, .events = POLLIN, .revents = 5 }, { .fd = (int)fd, .events = POLLIN } };
	ck_assert_int_eq(sys_poll(L(two), 2, 0, 0, 0, 0), 1);
	ck_assert_int_eq(two[0].revents, 0); /* a negative fd is skipped */
	ck_assert_int_eq(sys_close(fd, 0, 0, 0, 0, 0), 0);
	ck_assert_uint_eq(fs_shim_blocks, 0); /* something was ready, or the timeout was 0: no wait */

	/* select: Linux's masks per set, a count of set bits, only ready bits kept. */
	ck_assert_int_eq(sys_pipe(L(p), 0, 0, 0, 0, 0), 0);
	uint64_t rd = (1ull << p[0]) | (1ull << p[1]), wr = 1ull << p[1], ex = 1ull << p[0];
	struct lx_timeval tv = { 0, 0 };
	ck_assert_int_eq(sys_select(p[1] + 1, L(&rd), L(&wr), L(&ex), L(&tv), 0), 1);
	ck_assert_uint_eq(rd, 0);
	ck_assert_uint_eq(wr, 1ull << p[1]);
	ck_assert_uint_eq(ex, 0);
	ck_assert_int_eq(sys_write(p[1], L("x"), 1, 0, 0, 0), 1);
	rd = (1ull << p[0]) | 1;
	wr = 1ull << p[1];
	ck_assert_int_eq(sys_select(p[1] + 1, L(&rd), L(&wr), 0, L(&tv), 0), 3);
	ck_assert_uint_eq(rd, (1ull << p[0]) | 1);
	rd = 1ull << 40; /* not open */
	ck_assert_int_eq(sys_select(41, L(&rd), 0, 0, L(&tv), 0), -EBADF);
	ck_assert_int_eq(sys_close(p[1], 0, 0, 0, 0, 0), 0);
	/* A hang-up is no exception: select waits out its timeout (Linux's POLLEX_SET is POLLPRI alone). */
	ex = 1ull << p[0];
	tv = (struct lx_timeval){ 1, 0 };
	ck_assert_int_eq(sys_select(p[0] + 1, 0, 0, L(&ex), L(&tv), 0), 0);
	ck_assert_uint_eq(ex, 0);
	ck_assert_uint_eq(fs_shim_blocks, 1);
	ck_assert_int_eq(sys_close(p[0], 0, 0, 0, 0, 0), 0);
}
END_TEST

/* Nothing ready: a timed wait blocks once, scans again at its deadline and returns 0; a zero timeout never blocks. */
START_TEST(test_poll_timeouts_limits)
{
	int p[2];
	ck_assert_int_eq(sys_pipe(L(p), 0, 0, 0, 0, 0), 0);
	struct pollfd pf = { .fd = p[0], .events = POLLIN };
	ck_assert_int_eq(sys_poll(L(&pf), 1, 0, 0, 0, 0), 0);
	ck_assert_uint_eq(fs_shim_blocks, 0);
	ck_assert_int_eq(sys_poll(L(&pf), 1, 50, 0, 0, 0), 0);
	ck_assert_uint_eq(fs_shim_blocks, 1);
	struct lx_timespec ts = { 1, 0 };
	ck_assert_int_eq(sys_ppoll(L(&pf), 1, L(&ts), 0, 0, 0), 0);
	ck_assert_uint_eq(fs_shim_blocks, 2);
	ck_assert(ts.tv_sec == 0 && ts.tv_nsec < 1000000000); /* the time left, as Linux writes it back */
	ck_assert_int_eq(sys_poll(0, 0, 10, 0, 0, 0), 0); /* no fds: a sleep */
	ck_assert_uint_eq(fs_shim_blocks, 3);
	uint64_t rd = 1ull << p[0];
	struct lx_timeval tv = { 0, 2500000 }; /* 2.5 s: Linux normalises tv_usec */
	ck_assert_int_eq(sys_select(p[0] + 1, L(&rd), 0, 0, L(&tv), 0), 0);
	ck_assert_uint_eq(rd, 0);
	ck_assert(tv.tv_sec < 3 && tv.tv_usec < 1000000);

	/* Limits: Linux's errors. */
	ck_assert_int_eq(sys_poll(L(&pf), FS_MAX_FDS + 1, 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_select(-1, 0, 0, 0, L(&tv), 0), -EINVAL);
	tv = (struct lx_timeval){ 0, -1 };
	ck_assert_int_eq(sys_select(0, 0, 0, 0, L(&tv), 0), -EINVAL);
	ts = (struct lx_timespec){ 0, 1000000000 };
	ck_assert_int_eq(sys_ppoll(L(&pf), 1, L(&ts), 0, 0, 0), -EINVAL);
	uint64_t mask = 0;
	ts = (struct lx_timespec){ 0, 0 };
	ck_assert_int_eq(sys_ppoll(L(&pf), 1, L(&ts), L(&mask), 4, 0), -EINVAL);
	uint64_t sel_mask[2] = { (uint64_t)L(&mask), 4 };
	ck_assert_int_eq(sys_pselect6(0, 0, 0, 0, L(&ts), L(sel_mask)), -EINVAL);
	/* select clamps nfds to the fd table like Linux; fds past it are not looked at. */
	ck_assert_int_eq(sys_select(FS_MAX_FDS + 100, 0, 0, 0, L(&ts), 0), 0);
	ck_assert_int_eq(sys_close(p[0], 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_close(p[1], 0, 0, 0, 0, 0), 0);
}
END_TEST

START_TEST(test_poll_bad_pointers)
{
	struct lx_timespec ts = { 0, 0 };
	ck_assert_int_eq(sys_poll(BAD_PTR, 1, 0, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_poll(BAD_PTR, 0, 0, 0, 0, 0), 0); /* nothing to read */
	ck_assert_int_eq(sys_ppoll(0, 0, BAD_PTR, 0, 0, 0), -EFAULT);
	struct pollfd pf = { .fd = 0, .events = POLLIN };
	ck_assert_int_eq(sys_ppoll(L(&pf), 1, L(&ts), BAD_PTR, 8, 0), -EFAULT);
	ck_assert_int_eq(sys_select(1, BAD_PTR, 0, 0, L(&ts), 0), -EFAULT);
	ck_assert_int_eq(sys_select(1, 0, 0, 0, BAD_PTR, 0), -EFAULT);
	ck_assert_int_eq(sys_pselect6(1, 0, 0, 0, L(&ts), BAD_PTR), -EFAULT);
	uint64_t sel_mask[2] = { (uint64_t)BAD_PTR, 8 };
	ck_assert_int_eq(sys_pselect6(1, 0, 0, 0, L(&ts), L(sel_mask)), -EFAULT);
	ck_assert_uint_eq(fs_shim_blocks, 0);
}
END_TEST

Suite *vfs_suite(void)
{
	Suite *s = suite_create("vfs");
	TCase *core = tcase_create("core");
	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_test(core, test_read_packed_file);
	tcase_add_test(core, test_etc_users);
	tcase_add_test(core, test_copy_on_write);
	tcase_add_test(core, test_lseek_append_trunc_creat);
	tcase_add_test(core, test_dirs_getdents);
	tcase_add_test(core, test_unlink_open_file_and_rename);
	tcase_add_test(core, test_dup_fcntl);
	tcase_add_test(core, test_pipes);
	tcase_add_test(core, test_devices);
	tcase_add_test(core, test_stat_fields);
	tcase_add_test(core, test_path_edges);
	tcase_add_test(core, test_path_split);
	tcase_add_test(core, test_locks_modes_times);
	tcase_add_test(core, test_poll_readiness);
	suite_add_tcase(s, core);
	TCase *limits = tcase_create("limits");
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_add_test(limits, test_fd_limit);
	tcase_add_test(limits, test_iov_limits);
	tcase_add_test(limits, test_alloc_failure);
	tcase_add_test(limits, test_poll_timeouts_limits);
	suite_add_tcase(s, limits);
	TCase *hostile = tcase_create("hostile");
	tcase_add_checked_fixture(hostile, setup, teardown);
	tcase_add_test(hostile, test_archive_hostile);
	tcase_add_test(hostile, test_bad_pointers);
	tcase_add_test(hostile, test_poll_bad_pointers);
	suite_add_tcase(s, hostile);
	return s;
}
