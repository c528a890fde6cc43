/* stdiofs.c: what ordinary programs do with files: stdio streams, directories, stat, cwd, errno after failures; prints "stdiofs ok". */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "t_check.h"

static void stdio_streams(void)
{
	FILE *f = fopen("/tmp/s.txt", "w+");
	CHECK(f != NULL);
	if (!f)
		return;
	for (int i = 0; i < 100; i++)
		CHECK(fprintf(f, "line %03d %s\n", i, i % 2 ? "odd" : "even") > 0);
	CHECK(fflush(f) == 0);
	long end = ftell(f);
	CHECK(end == 100 * 13 + 50);
	rewind(f);
	char buf[64];
	CHECK(fgets(buf, sizeof(buf), f) && strcmp(buf, "line 000 even\n") == 0);
	CHECK(fseek(f, 135, SEEK_SET) == 0);
	CHECK(fgets(buf, sizeof(buf), f) && strcmp(buf, "line 010 even\n") == 0);
	CHECK(ftell(f) == 135 + 14);
	CHECK(fseek(f, -13, SEEK_END) == 0);
	CHECK(fgets(buf, sizeof(buf), f) && strcmp(buf, "line 099 odd\n") == 0);
	CHECK(fgets(buf, sizeof(buf), f) == NULL && feof(f));
	/* Overwrite in the middle, read it back through a second stream. */
	CHECK(fseek(f, 5, SEEK_SET) == 0);
	CHECK(fputs("XYZ", f) >= 0);
	CHECK(fclose(f) == 0);
	f = fopen("/tmp/s.txt", "r");
	CHECK(f && fgets(buf, sizeof(buf), f) && strcmp(buf, "line XYZ even\n") == 0);
	if (f)
		fclose(f);

	/* Append mode writes at the end whatever the position. */
	f = fopen("/tmp/s.txt", "a");
	CHECK(f && fputs("tail\n", f) >= 0 && fclose(f) == 0);
	struct stat st;
	CHECK(stat("/tmp/s.txt", &st) == 0 && st.st_size == end + 5 && S_ISREG(st.st_mode));
	CHECK(st.st_blksize > 0 && st.st_nlink == 1);

	/* Binary fread/fwrite of a block bigger than stdio's buffer. */
	static unsigned char big[200000], back[200000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 7 + (i >> 9));
	f = fopen("/tmp/b.bin", "wb");
	CHECK(f && fwrite(big, 1, sizeof(big), f) == sizeof(big) && fclose(f) == 0);
	f = fopen("/tmp/b.bin", "rb");
	CHECK(f && fread(back, 1, sizeof(back), f) == sizeof(back) && fgetc(f) == EOF);
	if (f)
		fclose(f);
	CHECK(memcmp(big, back, sizeof(big)) == 0);

	/* tmpfile() and mkstemp(): create, unlink, still usable. */
	f = tmpfile();
	CHECK(f != NULL);
	if (f) {
		CHECK(fputs("temp", f) >= 0 && fflush(f) == 0);
		rewind(f);
		CHECK(fgets(buf, sizeof(buf), f) && strcmp(buf, "temp") == 0);
		fclose(f);
	}
	char tmpl[] = "/tmp/mkXXXXXX";
	int fd = mkstemp(tmpl);
	CHECK(fd >= 0 && strncmp(tmpl, "/tmp/mk", 7) == 0 && strcmp(tmpl + 7, "XXXXXX") != 0);
	CHECK(unlink(tmpl) == 0 && write(fd, "x", 1) == 1 && close(fd) == 0);
	CHECK_ERR(access(tmpl, F_OK), ENOENT);

	/* fdopen / fileno / dprintf on a raw descriptor. */
	fd = open("/tmp/d.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 3);
	CHECK(dprintf(fd, "%d-%s", 42, "x") == 4);
	f = fdopen(fd, "r+");
	CHECK(f && fileno(f) == fd);
	if (f) {
		rewind(f);
		int v = 0;
		CHECK(fscanf(f, "%d", &v) == 1 && v == 42);
		fclose(f);
	}
	CHECK_ERR(close(fd), EBADF); /* fclose closed it */
}

static void directories(void)
{
	CHECK(mkdir("/tmp/dir", 0755) == 0);
	CHECK_ERR(mkdir("/tmp/dir", 0755), EEXIST);
	const char *names[] = { "alpha", "beta", "gamma" };
	for (int i = 0; i < 3; i++) {
		char p[64];
		snprintf(p, sizeof(p), "/tmp/dir/%s", names[i]);
		FILE *f = fopen(p, "w");
		CHECK(f && fprintf(f, "%*s", (i + 1) * 10, "") == (i + 1) * 10 && fclose(f) == 0);
	}
	CHECK(mkdir("/tmp/dir/sub", 0700) == 0);
	DIR *d = opendir("/tmp/dir");
	CHECK(d != NULL);
	int seen = 0, dots = 0;
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) {
				dots++;
				CHECK(e->d_type == DT_DIR);
				continue;
			}
			seen++;
			char p[300];
			struct stat st;
			snprintf(p, sizeof(p), "/tmp/dir/%s", e->d_name);
			CHECK(stat(p, &st) == 0 && st.st_ino == e->d_ino);
			if (!strcmp(e->d_name, "sub"))
				CHECK(e->d_type == DT_DIR && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
			else if (!strcmp(e->d_name, "beta"))
				CHECK(e->d_type == DT_REG && st.st_size == 20);
		}
		/* rewinddir starts over. */
		rewinddir(d);
		int again = 0;
		while (readdir(d))
			again++;
		CHECK(again == 6);
		closedir(d);
	}
	CHECK(seen == 4 && dots == 2);
	CHECK_ERR(rmdir("/tmp/dir"), ENOTEMPTY);
	CHECK_ERR(opendir("/tmp/dir/alpha") ? 0 : -1, ENOTDIR);

	/* cwd: chdir, relative paths, getcwd, "..". */
	char cwd[PATH_MAX];
	CHECK(chdir("/tmp/dir/sub") == 0);
	CHECK(getcwd(cwd, sizeof(cwd)) && strcmp(cwd, "/tmp/dir/sub") == 0);
	CHECK(access("../alpha", R_OK | W_OK) == 0);
	CHECK(chdir("..") == 0 && getcwd(cwd, sizeof(cwd)) && strcmp(cwd, "/tmp/dir") == 0);
	CHECK(getcwd(cwd, 4) == NULL && errno == ERANGE);
	CHECK(rename("alpha", "sub/moved") == 0);
	CHECK_ERR(open("alpha", O_RDONLY), ENOENT);
	CHECK(access("/tmp/dir/sub/moved", F_OK) == 0);
	CHECK(chdir("/") == 0);
}

static void errnos(void)
{
	char buf[16];
	CHECK(fopen("/no/such/file", "r") == NULL && errno == ENOENT);
	CHECK_ERR(open("/tmp/none", O_RDONLY), ENOENT);
	CHECK_ERR(open("", O_RDONLY), ENOENT);
	CHECK_ERR(open("/tmp/s.txt/x", O_RDONLY), ENOTDIR);
	CHECK_ERR(open("/tmp/s.txt", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
	CHECK_ERR(open("/tmp", O_WRONLY), EISDIR);
	CHECK_ERR(open((const char *)1, O_RDONLY), EFAULT);
	char longname[NAME_MAX + 10];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	CHECK_ERR(open(longname, O_RDONLY), ENAMETOOLONG);
	CHECK_ERR(read(-1, buf, 1), EBADF);
	CHECK_ERR(read(999, buf, 1), EBADF);
	CHECK_ERR(write(12345678, buf, 1), EBADF);
	CHECK_ERR(close(77), EBADF);
	int fd = open("/tmp/s.txt", O_RDONLY);
	CHECK(fd >= 0);
	CHECK_ERR(write(fd, "x", 1), EBADF);
	CHECK_ERR(read(fd, (void *)8, 4), EFAULT);
	CHECK_ERR(lseek(fd, -1, SEEK_SET), EINVAL);
	CHECK_ERR(lseek(fd, 0, 42), EINVAL);
	CHECK_ERR(pread(fd, buf, 1, -5), EINVAL);
	CHECK(pread(fd, buf, 4, 1) == 4 && memcmp(buf, "ine ", 4) == 0);
	CHECK(lseek(fd, 0, SEEK_CUR) == 0); /* pread leaves the offset alone */
	CHECK_ERR(syscall(SYS_fstat, fd, 16), EFAULT); /* raw: musl may stat into its own buffer first */
	CHECK_ERR(ftruncate(fd, 0), EINVAL);
	CHECK_ERR(fcntl(fd, 9999), EINVAL);
	CHECK(close(fd) == 0);
	int p[2];
	CHECK(pipe(p) == 0);
	CHECK_ERR(lseek(p[0], 0, SEEK_SET), ESPIPE);
	CHECK(write(p[1], "ab", 2) == 2 && read(p[0], buf, sizeof(buf)) == 2);
	CHECK(close(p[0]) == 0 && close(p[1]) == 0);
	CHECK_ERR(unlink("/tmp/none"), ENOENT);
	CHECK_ERR(unlink("/tmp"), EISDIR);
	CHECK_ERR(rmdir("/tmp/s.txt"), ENOTDIR);
	CHECK_ERR(chdir("/tmp/s.txt"), ENOTDIR);
	CHECK_ERR(stat("/tmp/none", &(struct stat){0}), ENOENT);
	CHECK_ERR(dup2(555, 3), EBADF);
	/* A non-canonical pointer: Linux refuses it before copying anything. */
	struct iovec iov[2] = { { buf, 4 }, { (void *)0xffff800000000000ul, 4 } };
	fd = open("/tmp/s.txt", O_RDONLY);
	CHECK_ERR(readv(fd, iov, 2), EFAULT);
	CHECK_ERR(readv(fd, iov, -1), EINVAL);
	close(fd);
	/* errno survives successful calls untouched (C: only failures set it). */
	errno = 1234;
	CHECK(getpid() > 0 && errno == 1234);
	CHECK(strcmp(strerror(ENOENT), "No such file or directory") == 0);
}

static void environment(void)
{
	CHECK(getenv("HOME") && strcmp(getenv("HOME"), "/") == 0);
	CHECK(getenv("UKVM_NOPE") == NULL);
	CHECK(setenv("UKVM_T", "one", 0) == 0 && strcmp(getenv("UKVM_T"), "one") == 0);
	CHECK(setenv("UKVM_T", "two", 0) == 0 && strcmp(getenv("UKVM_T"), "one") == 0);
	CHECK(setenv("UKVM_T", "three", 1) == 0 && strcmp(getenv("UKVM_T"), "three") == 0);
	CHECK(unsetenv("UKVM_T") == 0 && getenv("UKVM_T") == NULL);
	CHECK(putenv("UKVM_P=pp") == 0 && strcmp(getenv("UKVM_P"), "pp") == 0);
	CHECK_ERR(setenv("A=B", "x", 1), EINVAL);
}

int main(void)
{
	stdio_streams();
	directories();
	errnos();
	environment();
	return t_done("stdiofs");
}
