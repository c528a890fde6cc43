/* edge.c: syscall edge cases with Linux's answers (the same binary passes natively): holes, offsets, fds, pipes, mmap, signals, limits; prints "edge ok". */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "t_check.h"

static void files(void)
{
	char buf[64];
	int fd = open("/tmp/e.bin", O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	/* A write past the end leaves a hole that reads as zeros. */
	CHECK(lseek(fd, 10000, SEEK_SET) == 10000 && write(fd, "end", 3) == 3);
	CHECK(lseek(fd, 0, SEEK_END) == 10003);
	CHECK(pread(fd, buf, 8, 5000) == 8 && memcmp(buf, "\0\0\0\0\0\0\0\0", 8) == 0);
	CHECK(pread(fd, buf, sizeof(buf), 10003) == 0);
	CHECK(pread(fd, buf, sizeof(buf), 1L << 40) == 0);
	CHECK(ftruncate(fd, 10) == 0 && lseek(fd, 0, SEEK_END) == 10);
	CHECK(ftruncate(fd, 20000) == 0 && pread(fd, buf, 4, 19996) == 4 && buf[0] == 0);
	CHECK(ftruncate(fd, 0) == 0);
	CHECK_ERR(ftruncate(fd, -1), EINVAL);
	/* lseek past the end is fine; seeking before 0 is not, and the offset stays. */
	CHECK(lseek(fd, 1 << 20, SEEK_SET) == 1 << 20);
	CHECK_ERR(lseek(fd, -(2 << 20), SEEK_CUR), EINVAL);
	CHECK(lseek(fd, 0, SEEK_CUR) == 1 << 20);
	CHECK_ERR(lseek(fd, INT64_MAX, SEEK_CUR), EINVAL); /* Linux: a wrapped sum is a negative offset */
	/* dup shares the offset; O_APPEND writes at the end whatever it is. */
	CHECK(lseek(fd, 0, SEEK_SET) == 0 && write(fd, "abcdef", 6) == 6);
	int d = dup(fd);
	CHECK(d > fd && lseek(d, 0, SEEK_CUR) == 6);
	CHECK(lseek(d, 2, SEEK_SET) == 2 && lseek(fd, 0, SEEK_CUR) == 2);
	CHECK(fcntl(fd, F_SETFL, O_APPEND) == 0 && (fcntl(d, F_GETFL) & O_APPEND));
	CHECK(write(fd, "XY", 2) == 2 && lseek(fd, 0, SEEK_CUR) == 8);
	CHECK(pread(fd, buf, 8, 0) == 8 && memcmp(buf, "abcdefXY", 8) == 0);
	CHECK(fcntl(fd, F_DUPFD, 100) == 100 && close(100) == 0);
	CHECK(fcntl(fd, F_DUPFD_CLOEXEC, 0) > 0);
	CHECK(dup2(fd, fd) == fd);
	CHECK_ERR(dup3(fd, fd, 0), EINVAL);
	/* Vectors: zero-length elements are skipped, the total is returned. */
	struct iovec iov[3] = { { "12", 2 }, { NULL, 0 }, { "345", 3 } };
	CHECK(writev(fd, iov, 3) == 5);
	CHECK(writev(fd, iov, 0) == 0);
	char a[3], b[20];
	struct iovec riov[2] = { { a, 3 }, { b, sizeof(b) } };
	CHECK(lseek(fd, 0, SEEK_SET) == 0 && readv(fd, riov, 2) == 13 && memcmp(a, "abc", 3) == 0 &&
	      memcmp(b, "defXY12345", 10) == 0);
	/* Locks: one process holds every lock it asks for. */
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
	CHECK(fcntl(fd, F_SETLK, &fl) == 0);
	CHECK(fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type == F_UNLCK);
	fl.l_type = F_UNLCK;
	CHECK(fcntl(fd, F_SETLKW, &fl) == 0);
	CHECK(flock(fd, LOCK_EX) == 0 && flock(fd, LOCK_UN) == 0);
	CHECK_ERR(flock(fd, 1234), EINVAL);
	CHECK_ERR(flock(999, LOCK_SH), EBADF);
	/* Unlinked while open: the data stays reachable through the fd. */
	CHECK(unlink("/tmp/e.bin") == 0);
	struct stat st;
	CHECK(fstat(fd, &st) == 0 && st.st_nlink == 0 && st.st_size == 13);
	CHECK(pread(fd, buf, 3, 0) == 3 && memcmp(buf, "abc", 3) == 0);
	CHECK(close(fd) == 0 && close(d) == 0);

	/* Directories and paths. */
	CHECK(mkdir("/tmp/ed/", 0755) == 0);
	CHECK_ERR(open("/tmp/ed/new", O_CREAT | O_DIRECTORY | O_RDWR, 0644), EINVAL);
	CHECK_ERR(access("/tmp/ed/new", F_OK), ENOENT); /* and nothing was created */
	CHECK_ERR(rmdir("/tmp/ed/."), EINVAL);
	CHECK_ERR(rename("/tmp/ed", "/tmp/ed/in"), EINVAL);
	fd = open("/tmp/ed/f", O_CREAT | O_WRONLY, 0644);
	CHECK(fd >= 0 && write(fd, "1", 1) == 1 && close(fd) == 0);
	CHECK_ERR(openat(fd, "x", O_RDONLY), EBADF);
	int df = open("/tmp/ed/f", O_RDONLY);
	CHECK_ERR(openat(df, "x", O_RDONLY), ENOTDIR);
	CHECK_ERR(read(open("/tmp/ed", O_RDONLY | O_DIRECTORY), buf, 1), EISDIR);
	CHECK_ERR(stat("/tmp/ed/f/", &st), ENOTDIR);
	fd = open("/tmp/ed/g", O_CREAT | O_WRONLY, 0644);
	CHECK(fd >= 0 && write(fd, "22", 2) == 2 && close(fd) == 0);
	CHECK(rename("/tmp/ed/f", "/tmp/ed/g") == 0);
	CHECK(stat("/tmp/ed/g", &st) == 0 && st.st_size == 1);
	CHECK(chmod("/tmp/ed/g", 0600) == 0 && stat("/tmp/ed/g", &st) == 0 && (st.st_mode & 07777) == 0600);
	CHECK(fchmod(df, 0644) == 0 && fstat(df, &st) == 0 && (st.st_mode & 07777) == 0644 && S_ISREG(st.st_mode));
	struct timespec ts[2] = { { 1000000000, 5 }, { 1200000000, 7 } };
	CHECK(utimensat(AT_FDCWD, "/tmp/ed/g", ts, 0) == 0);
	CHECK(stat("/tmp/ed/g", &st) == 0 && st.st_atime == 1000000000 && st.st_mtime == 1200000000 &&
	      st.st_mtim.tv_nsec == 7);
	CHECK(close(df) == 0);
	char dbuf[16];
	int dfd = open("/tmp/ed", O_RDONLY | O_DIRECTORY);
	CHECK_ERR(syscall(SYS_getdents64, dfd, dbuf, 10), EINVAL);
	close(dfd);
}

static void pipes(void)
{
	int p[2];
	char buf[8];
	CHECK(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
	CHECK(fcntl(p[0], F_GETFD) == FD_CLOEXEC);
	CHECK_ERR(read(p[0], buf, 1), EAGAIN);
	struct stat st;
	CHECK(fstat(p[0], &st) == 0 && S_ISFIFO(st.st_mode));
	CHECK(write(p[1], "hey", 3) == 3 && read(p[0], buf, sizeof(buf)) == 3);
	CHECK(close(p[1]) == 0 && read(p[0], buf, 1) == 0); /* writer gone: end of file */
	CHECK(close(p[0]) == 0);
	signal(SIGPIPE, SIG_IGN);
	CHECK(pipe(p) == 0 && close(p[0]) == 0);
	CHECK_ERR(write(p[1], "x", 1), EPIPE);
	close(p[1]);
}

static void memory(void)
{
	int fd = open("/tmp/m.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, "mapped text", 11) == 11);
	char *m = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(m != MAP_FAILED && memcmp(m, "mapped text", 11) == 0 && m[11] == 0 && m[4095] == 0);
	CHECK(munmap(m, 8192) == 0); /* the second page is past EOF: never touched (SIGBUS on Linux) */
	CHECK(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED && errno == EINVAL);
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 555, 0) == MAP_FAILED && errno == EBADF);
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 100) == MAP_FAILED && errno == EINVAL);
	int wo = open("/tmp/m.txt", O_WRONLY);
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, wo, 0) == MAP_FAILED && errno == EACCES);
	close(wo);
	close(fd);
	CHECK(mmap(NULL, 1ul << 47, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED && errno == ENOMEM);
	CHECK_ERR(syscall(SYS_mprotect, 4097, 4096, PROT_READ), EINVAL); /* raw: musl rounds the address down */
	/* The raw break (musl's sbrk only answers sbrk(0)). */
	long cur = syscall(SYS_brk, 0);
	CHECK(cur > 0 && syscall(SYS_brk, cur + 10000) == cur + 10000);
	*(volatile char *)(cur + 9999) = 1;
	CHECK(syscall(SYS_brk, cur) == cur && syscall(SYS_brk, 0) == cur);
	CHECK(syscall(SYS_brk, 4096) == cur); /* below the start: refused, the break stays */
	void *al = NULL;
	CHECK(posix_memalign(&al, 1 << 16, 100000) == 0 && ((uintptr_t)al & 0xffff) == 0);
	free(al);
}

static void process(void)
{
	struct utsname u;
	CHECK(uname(&u) == 0 && strcmp(u.sysname, "Linux") == 0 && strcmp(u.machine, "x86_64") == 0);
	CHECK(kill(getpid(), 0) == 0);
	CHECK_ERR(kill(0x7ffffff0, 0), ESRCH);
	CHECK_ERR(kill(getpid(), 99), EINVAL);
	struct sigaction sa = { .sa_handler = SIG_IGN }, old;
	CHECK(sigaction(SIGUSR2, &sa, NULL) == 0 && raise(SIGUSR2) == 0);
	CHECK(sigaction(SIGUSR2, NULL, &old) == 0 && old.sa_handler == SIG_IGN);
	CHECK_ERR(sigaction(SIGKILL, &sa, NULL), EINVAL);
	sigset_t set, oset;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	CHECK(sigprocmask(SIG_BLOCK, &set, &oset) == 0);
	CHECK(sigprocmask(SIG_SETMASK, &oset, &set) == 0 && sigismember(&set, SIGUSR1));
	struct rlimit rl;
	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= 256);
	rl.rlim_cur = 200;
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur == 200);
	CHECK(getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur >= (1 << 20));
	CHECK(sysconf(_SC_PAGESIZE) == 4096 && sysconf(_SC_NPROCESSORS_ONLN) >= 1);
	struct timespec r;
	CHECK(clock_getres(CLOCK_MONOTONIC, &r) == 0 && r.tv_sec == 0 && r.tv_nsec > 0);
	CHECK_ERR(nanosleep(&(struct timespec){ 0, 1000000000 }, NULL), EINVAL);
	CHECK_ERR(nanosleep(&(struct timespec){ -1, 0 }, NULL), EINVAL);
	CHECK_ERR(clock_gettime(12345, &r), EINVAL);
	struct rusage ru;
	CHECK(getrusage(RUSAGE_SELF, &ru) == 0 && ru.ru_utime.tv_usec < 1000000);
	unsigned char rnd[64] = { 0 };
	CHECK(getrandom(rnd, sizeof(rnd), 0) == 64);
	CHECK(syscall(SYS_write, 1, NULL, 0) == 0);
	CHECK(syscall(SYS_read, 0, NULL, 0) == 0);
}

int main(void)
{
	files();
	pipes();
	memory();
	process();
	return t_done("edge");
}
