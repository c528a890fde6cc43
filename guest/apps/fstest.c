/* fstest.c: guest test app: symbolic and hard links, FIFOs, mknod, statfs, fadvise, sendfile and tmpfs-like sizes, printing each call's result or errno so Linux and ukvm transcripts compare line by line. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define TRANSCRIPT_SAY
#include "transcript.h"

/* <linux/magic.h> (musl-gcc sees no kernel headers). */
#define TMPFS_MAGIC         0x01021994
#define PIPEFS_MAGIC        0x50495045
#define SOCKFS_MAGIC        0x534F434B
#define ANON_INODE_FS_MAGIC 0x09041934

/*
 * Usage: fstest DIR. Works in a fresh directory made under DIR, which must
 * be a tmpfs natively (the integration test uses /dev/shm) so that sizes and
 * block counts are tmpfs's. Every line is host-independent: no inode
 * numbers, times or absolute paths, only comparisons of them. The last line
 * is "fstest ok" or "fstest FAILED n" (a line that cannot be printed the
 * same way on both sides counts as a failure).
 */

static int fails;


static void need(int ok, const char *what)
{
	if (!ok) {
		say("FAILED: %s (errno %s)\n", what, errname(errno));
		fails++;
	}
}

static void put(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	need(fd >= 0, path);
	if (fd >= 0) {
		need(write(fd, data, strlen(data)) == (ssize_t)strlen(data), path);
		close(fd);
	}
}

/* The file's contents (up to 63 bytes) as a string, or "-1 ERRNO". */
static const char *get(const char *path)
{
	static char buf[64];
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		snprintf(buf, sizeof(buf), "-1 %s", errname(errno));
		return buf;
	}
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static void show_readlink(const char *what, int dirfd, const char *path, size_t size)
{
	char buf[128];
	memset(buf, '#', sizeof(buf));
	ssize_t n = readlinkat(dirfd, path, buf, size);
	if (n < 0)
		say("%s: -1 %s\n", what, errname(errno));
	else
		say("%s: %zd \"%.*s\" next %c\n", what, n, (int)n, buf, buf[n]);
}

/* What lstat/stat show that both hosts agree on. */
static void show_stat(const char *what, const char *path, int follow)
{
	struct stat st;
	int rc = follow ? stat(path, &st) : lstat(path, &st);
	if (rc < 0) {
		say("%s: -1 %s\n", what, errname(errno));
		return;
	}
	const char *type = S_ISLNK(st.st_mode) ? "link" : S_ISDIR(st.st_mode) ? "dir" : S_ISREG(st.st_mode) ? "file"
			   : S_ISFIFO(st.st_mode) ? "fifo" : S_ISSOCK(st.st_mode) ? "sock" : "other";
	say("%s: %s mode %04o size %lld blocks %lld nlink %lu\n", what, type, st.st_mode & 07777,
	    (long long)st.st_size, (long long)st.st_blocks, (unsigned long)st.st_nlink);
}

static ino_t ino_of(const char *path, int follow)
{
	struct stat st;
	if ((follow ? stat(path, &st) : lstat(path, &st)) < 0)
		return 0;
	return st.st_ino;
}

static void symlinks(void)
{
	say("== symlinks\n");
	put("f", "hello");
	T(symlink("target", "l1"));
	T(symlink("", "l0"));
	T(symlink("x", "l1"));
	T(symlink("x", "nodir/l"));
	T(symlink("x", "lslash/"));
	T(symlink("x", "f/l"));
	show_readlink("readlink l1", AT_FDCWD, "l1", 100);
	show_readlink("readlink l1 size 3", AT_FDCWD, "l1", 3);
	show_readlink("readlink l1 size 0", AT_FDCWD, "l1", 0);
	show_readlink("readlink file", AT_FDCWD, "f", 100);
	show_readlink("readlink missing", AT_FDCWD, "missing", 100);
	show_readlink("readlink empty path", AT_FDCWD, "", 100);
	show_readlink("readlink dir", AT_FDCWD, ".", 100);
	show_stat("lstat l1", "l1", 0);
	show_stat("stat l1 (dangling)", "l1", 1);
	T(access("l1", F_OK));
	T(faccessat(AT_FDCWD, "l1", F_OK, AT_SYMLINK_NOFOLLOW));

	T(symlink("f", "lf"));
	show_stat("stat lf", "lf", 1);
	show_stat("lstat lf", "lf", 0);
	say("read through lf: %s\n", get("lf"));
	T(open("lf", O_RDONLY | O_NOFOLLOW));
	T(open("lf", O_RDONLY | O_NOFOLLOW | O_DIRECTORY));
	int pfd = T(open("lf", O_PATH | O_NOFOLLOW));
	if (pfd >= 0) {
		struct stat st;
		int rc = fstat(pfd, &st);
		say("fstat O_PATH link: %d islink %d\n", rc, S_ISLNK(st.st_mode));
		show_readlink("readlinkat(fd, \"\")", pfd, "", 100);
		char c;
		T(read(pfd, &c, 1));
		close(pfd);
	}
	pfd = T(open("f", O_PATH));
	if (pfd >= 0) {
		show_readlink("readlinkat(file fd, \"\")", pfd, "", 100);
		close(pfd);
	}

	T(mkdir("d", 0755));
	T(symlink("d", "ld"));
	show_stat("stat ld/", "ld/", 1);
	show_stat("lstat ld/", "ld/", 0);
	show_stat("lstat ld", "ld", 0);
	show_stat("stat lf/", "lf/", 1);
	show_stat("stat l1/", "l1/", 1);
	put("ld/x", "via link");
	say("d/x: %s\n", get("d/x"));
	T(mkdir("ld", 0755));
	T(mkdir("ld/sub", 0755));
	T(symlink("d/sub", "lsub"));
	say("lsub/.. is d: %d\n", ino_of("lsub/..", 1) == ino_of("d", 1));
	T(rmdir("ld"));
	T(unlink("ld/"));
	T(symlink("/", "root"));
	say("root/ is /: %d, root/.. is /: %d\n", ino_of("root/", 1) == ino_of("/", 1), ino_of("root/..", 1) == ino_of("/", 1));
	T(symlink("..", "up"));
	say("d/../up is ..: %d\n", ino_of("d/../up", 1) == ino_of("..", 1));

	/* Loops and the 40-link limit. */
	T(symlink("loop2", "loop1"));
	T(symlink("loop1", "loop2"));
	show_stat("stat loop1", "loop1", 1);
	show_stat("lstat loop1", "loop1", 0);
	T(open("loop1", O_RDONLY));
	T(open("loop1", O_RDONLY | O_CREAT, 0644));
	T(symlink("self/x", "self"));
	show_stat("stat self", "self", 1);
	char a[16], b[16];
	T(symlink("f", "c0"));
	for (int i = 1; i <= 41; i++) {
		snprintf(a, sizeof(a), "c%d", i);
		snprintf(b, sizeof(b), "c%d", i - 1);
		need(symlink(b, a) == 0, "chain");
	}
	show_stat("stat c39 (40 links)", "c39", 1);
	show_stat("stat c40 (41 links)", "c40", 1);
	show_stat("stat c39/ ", "c39/", 1);
	T(symlink("c38", "dchain"));
	say("c39 as a directory component: %s\n", get("c39/x"));

	/* open(O_CREAT) through a dangling link creates the target. */
	T(symlink("created", "dl"));
	int fd = T(open("dl", O_WRONLY | O_CREAT, 0600));
	if (fd >= 0)
		close(fd);
	show_stat("stat created", "created", 1);
	T(open("dl", O_WRONLY | O_CREAT | O_EXCL, 0600));
	T(open("dl", O_WRONLY | O_CREAT | O_NOFOLLOW, 0600));
	T(symlink("nodir/x", "dl2"));
	T(open("dl2", O_WRONLY | O_CREAT, 0600));
	T(symlink("d/", "dl3"));
	T(open("dl3", O_WRONLY | O_CREAT, 0600));

	/* Names of links: unlink, rename, getdents. */
	T(rename("lf", "lf2"));
	say("lf2 still reads: %s\n", get("lf2"));
	T(unlink("lf2"));
	say("f after unlinking its link: %s\n", get("f"));
	DIR *dir = opendir(".");
	int types = 0;
	for (struct dirent *e; dir && (e = readdir(dir));)
		if (strcmp(e->d_name, "l1") == 0)
			types = e->d_type;
	if (dir)
		closedir(dir);
	say("d_type of l1: %d (DT_LNK %d)\n", types, DT_LNK);

	/* Times of the link itself. */
	struct timespec ts[2] = { { 1000, 0 }, { 2000, 0 } };
	T(utimensat(AT_FDCWD, "l1", ts, AT_SYMLINK_NOFOLLOW));
	struct stat st;
	say("lstat l1 mtime: %lld\n", lstat("l1", &st) ? -1LL : (long long)st.st_mtime);
	T(utimensat(AT_FDCWD, "c0", ts, AT_SYMLINK_NOFOLLOW));
	say("f mtime untouched: %d\n", stat("f", &st) == 0 && st.st_mtime != 2000);

	/* chdir through a link: getcwd is the directory's own path. */
	T(chdir("ld"));
	char cwd[4096];
	say("cwd ends in /d: %d\n", getcwd(cwd, sizeof(cwd)) && strlen(cwd) > 2 && strcmp(cwd + strlen(cwd) - 2, "/d") == 0);
	T(chdir(".."));

	/* Long targets: up to PATH_MAX - 1 bytes; tmpfs gives a long one a page. */
	static char target[4200];
	memset(target, 'a', sizeof(target));
	target[200] = '\0';
	T(symlink(target, "long200"));
	show_stat("lstat long200", "long200", 0);
	static const int lens[] = { 127, 128, 129 };
	for (int i = 0; i < 3; i++) {
		char name[16];
		memset(target, 'a', sizeof(target));
		target[lens[i]] = '\0';
		snprintf(name, sizeof(name), "long%d", lens[i]);
		T(symlink(target, name));
		show_stat(name, name, 0);
	}
	memset(target, 'a', sizeof(target));
	target[4095] = '\0';
	T(symlink(target, "long4095"));
	show_stat("lstat long4095", "long4095", 0);
	target[4095] = 'a';
	target[4096] = '\0';
	T(symlink(target, "long4096"));
}

static void hardlinks(void)
{
	say("== hard links\n");
	put("h", "one");
	T(link("h", "h2"));
	show_stat("stat h", "h", 1);
	say("same inode: %d\n", ino_of("h", 1) == ino_of("h2", 1));
	put("h2", "two");
	say("h after writing h2: %s\n", get("h"));
	T(link("h", "h2"));
	T(link("missing", "h3"));
	T(link("h", "nodir/h3"));
	T(link("h", "h3/"));
	T(link("d", "d2"));
	T(link("h/", "h3"));
	T(linkat(AT_FDCWD, "h", AT_FDCWD, "h3", 0x1000));
	T(link("l1", "l1hard"));
	show_stat("lstat l1hard", "l1hard", 0);
	show_stat("lstat l1", "l1", 0);
	T(linkat(AT_FDCWD, "c0", AT_FDCWD, "c0hard", AT_SYMLINK_FOLLOW));
	show_stat("lstat c0hard", "c0hard", 0);
	T(unlink("h"));
	show_stat("stat h2 after unlink h", "h2", 1);
	int fd = open("h2", O_RDONLY);
	T(unlink("h2"));
	struct stat st;
	say("open unlinked: fstat nlink %lu\n", fstat(fd, &st) ? 99ul : (unsigned long)st.st_nlink);
	close(fd);
}

static void sizes(void)
{
	say("== sizes\n");
	T(mkdir("z", 0755));
	show_stat("stat z", "z", 1);
	put("z/a", "");
	put("z/bb", "x");
	show_stat("stat z with 2", "z", 1);
	T(mkdir("z/sub", 0755));
	show_stat("stat z with sub", "z", 1);
	T(unlink("z/a"));
	show_stat("stat z less one", "z", 1);
	show_stat("stat z/bb", "z/bb", 1);
	static char page[8193];
	memset(page, 'p', sizeof(page));
	int fd = open("z/big", O_WRONLY | O_CREAT, 0644);
	for (size_t len = 0; fd >= 0 && len < 3; len++) {
		size_t sz = len == 0 ? 4096 : len == 1 ? 4097 : 8193;
		need(pwrite(fd, page, sz, 0) == (ssize_t)sz, "pwrite");
		char what[32];
		snprintf(what, sizeof(what), "stat %zu bytes", sz);
		show_stat(what, "z/big", 1);
	}
	if (fd >= 0)
		close(fd);
	show_stat("stat 1 byte", "z/bb", 1);
	fd = open("z/sparse", O_RDWR | O_CREAT, 0644);
	T(ftruncate(fd, 1 << 20));
	show_stat("stat 1 MiB hole", "z/sparse", 1);
	T(pwrite(fd, "x", 1, 500000));
	show_stat("stat 1 byte in the hole", "z/sparse", 1);
	close(fd);
}

static void *fifo_writer(void *arg)
{
	(void)arg;
	struct timespec t = { 0, 20 * 1000 * 1000 };
	nanosleep(&t, NULL);
	int fd = open("p", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "xyz", 3) != 3)
			fd = -2;
		close(fd);
	}
	return (void *)(long)(fd >= 0);
}

static void *fifo_reader(void *arg)
{
	(void)arg;
	struct timespec t = { 0, 20 * 1000 * 1000 };
	nanosleep(&t, NULL);
	int fd = open("p", O_RDONLY);
	char buf[8] = "";
	long n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
	if (fd >= 0)
		close(fd);
	return (void *)n;
}

static void fifos(void)
{
	say("== fifos\n");
	umask(022);
	T(mkfifo("p", 0666));
	show_stat("stat p", "p", 1);
	T(mkfifo("p", 0666));
	T(mknod("m_dir", S_IFDIR | 0755, 0));
	T(mknod("m_bad", 0170000 | 0644, 0));
	T(mknod("m_reg", S_IFREG | 0644, 0));
	T(mknod("m_zero", 0644, 0));
	show_stat("stat m_zero", "m_zero", 1);
	T(mknod("m_sock", S_IFSOCK | 0644, 0));
	show_stat("stat m_sock", "m_sock", 1);
	T(open("m_sock", O_RDONLY));
	T(mknod("p/", S_IFIFO | 0644, 0));
	T(mknod("newfifo/", S_IFIFO | 0644, 0));

	T(open("p", O_WRONLY | O_NONBLOCK));
	int r = T(open("p", O_RDONLY | O_NONBLOCK));
	struct pollfd pf = { r, POLLIN, 0 };
	int pn = poll(&pf, 1, 0);
	say("poll reader, no writer yet: n=%d revents 0x%x\n", pn, pf.revents);
	char buf[16];
	T(read(r, buf, sizeof(buf)));
	int w = T(open("p", O_WRONLY | O_NONBLOCK));
	T(write(w, "abc", 3));
	long n = T(read(r, buf, sizeof(buf)));
	say("read back: %.*s\n", (int)(n > 0 ? n : 0), buf);
	T(read(r, buf, sizeof(buf)));
	T(fcntl(w, F_GETPIPE_SZ));
	T(lseek(r, 0, SEEK_SET));
	T(pread(r, buf, 1, 0));
	say("posix_fadvise fifo: %s\n", errname(posix_fadvise(r, 0, 0, POSIX_FADV_DONTNEED)));
	T(close(w));
	pf.revents = 0;
	pn = poll(&pf, 1, 0);
	say("poll reader, writer gone: n=%d revents 0x%x\n", pn, pf.revents);
	T(read(r, buf, sizeof(buf)));
	T(close(r));

	/* O_RDWR opens at once; the data goes with the last close. */
	int rw = T(open("p", O_RDWR));
	T(write(rw, "zz", 2));
	struct stat st;
	int rc = fstat(rw, &st);
	say("fstat fifo: %d fifo %d size %lld\n", rc, S_ISFIFO(st.st_mode), (long long)st.st_size);
	T(close(rw));
	rw = T(open("p", O_RDWR | O_NONBLOCK));
	T(read(rw, buf, sizeof(buf)));
	T(close(rw));

	/* A blocking reader waits for a writer; a blocking writer for a reader. */
	pthread_t t;
	void *res;
	pthread_create(&t, NULL, fifo_writer, NULL);
	r = T(open("p", O_RDONLY));
	n = T(read(r, buf, sizeof(buf)));
	say("blocking reader got: %.*s\n", (int)(n > 0 ? n : 0), buf);
	pthread_join(t, &res);
	say("writer thread ok: %ld\n", (long)res);
	T(read(r, buf, sizeof(buf)));
	T(close(r));
	pthread_create(&t, NULL, fifo_reader, NULL);
	w = T(open("p", O_WRONLY));
	T(write(w, "hi", 2));
	T(close(w));
	pthread_join(t, &res);
	say("reader thread read: %ld\n", (long)res);

	/* An open FIFO keeps working after its name goes. */
	rw = T(open("p", O_RDWR));
	T(unlink("p"));
	T(write(rw, "q", 1));
	T(read(rw, buf, 1));
	T(close(rw));
}

static void statfs_fadvise(void)
{
	say("== statfs fadvise\n");
	struct statfs sf;
	int rc = T(statfs(".", &sf));
	if (rc == 0) {
		say("tmpfs %d bsize %ld frsize %ld namelen %ld valid %d\n", sf.f_type == TMPFS_MAGIC, (long)sf.f_bsize,
		    (long)sf.f_frsize, (long)sf.f_namelen, !!(sf.f_flags & 0x20));
		say("blocks>0 %d bfree<=blocks %d bavail<=bfree %d files>0 %d ffree<=files %d\n", sf.f_blocks > 0,
		    sf.f_bfree <= sf.f_blocks, sf.f_bavail <= sf.f_bfree, sf.f_files > 0, sf.f_ffree <= sf.f_files);
	}
	T(statfs("missing", &sf));
	T(statfs("l1", &sf));
	T(statfs("ld", &sf));
	T(statfs("f/", &sf));
	T(syscall(SYS_statfs, ".", (void *)16));
	int p[2];
	need(pipe(p) == 0, "pipe");
	rc = fstatfs(p[0], &sf);
	say("fstatfs pipe: %d pipefs %d\n", rc, sf.f_type == PIPEFS_MAGIC);
	int e = eventfd(0, 0);
	rc = fstatfs(e, &sf);
	say("fstatfs eventfd: %d anon %d\n", rc, sf.f_type == ANON_INODE_FS_MAGIC);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	rc = fstatfs(s, &sf);
	say("fstatfs socket: %d sockfs %d\n", rc, sf.f_type == SOCKFS_MAGIC);
	int o = open(".", O_PATH);
	rc = fstatfs(o, &sf);
	say("fstatfs O_PATH: %d tmpfs %d\n", rc, sf.f_type == TMPFS_MAGIC);
	T(fstatfs(-1, &sf));
	T(fstatfs(999, &sf));

	int fd = open("f", O_RDONLY);
	for (int adv = 0; adv <= 6; adv++) {
		char what[48];
		snprintf(what, sizeof(what), "fadvise advice %d", adv);
		show(what, syscall(SYS_fadvise64, fd, 0, 0, adv));
	}
	T(syscall(SYS_fadvise64, fd, 0, -1, POSIX_FADV_WILLNEED));
	T(syscall(SYS_fadvise64, fd, -5, 10, POSIX_FADV_WILLNEED));
	T(syscall(SYS_fadvise64, fd, 1L << 62, 1L << 62, POSIX_FADV_WILLNEED));
	T(syscall(SYS_fadvise64, p[1], 0, 0, POSIX_FADV_NORMAL));
	T(syscall(SYS_fadvise64, o, 0, 0, POSIX_FADV_NORMAL));
	T(syscall(SYS_fadvise64, 999, 0, 0, POSIX_FADV_NORMAL));
	T(syscall(SYS_fadvise64, e, 0, 0, POSIX_FADV_NORMAL));
	int dfd = open(".", O_RDONLY | O_DIRECTORY);
	T(syscall(SYS_fadvise64, dfd, 0, 0, POSIX_FADV_NORMAL));
	close(dfd);
	close(fd);
	close(p[0]);
	close(p[1]);
	close(e);
	close(s);
	close(o);
}

/* The link text of /proc/self/fd/fd: whether it starts (or, with end, ends) with s. */
static int fd_link_is(int fd, const char *s, int end)
{
	char p[64], t[4096];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(p, t, sizeof(t) - 1);
	if (n < 0)
		return -1;
	t[n] = '\0';
	size_t k = strlen(s);
	return end ? (size_t)n >= k && strcmp(t + n - k, s) == 0 : strncmp(t, s, k) == 0;
}

static void procfs(void)
{
	say("== proc\n");
	int f = open("pf", O_RDWR | O_CREAT | O_TRUNC, 0644);
	say("fd link of a file ends in /pf: %d\n", fd_link_is(f, "/pf", 1));
	int p[2];
	need(pipe(p) == 0, "pipe");
	say("fd link of a pipe: %d\n", fd_link_is(p[0], "pipe:[", 0));
	int e = eventfd(0, 0), s = socket(AF_UNIX, SOCK_STREAM, 0);
	say("eventfd: %d socket: %d\n", fd_link_is(e, "anon_inode:[eventfd]", 0), fd_link_is(s, "socket:[", 0));
	char path[64], buf[16] = "";
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p[0]);
	int w = T(open(path, O_WRONLY));
	T(write(w, "via", 3));
	T(read(p[0], buf, sizeof(buf)));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", e);
	T(open(path, O_RDONLY));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", s);
	T(open(path, O_RDONLY));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", f);
	int f2 = T(open(path, O_RDWR));
	T(write(f2, "second open", 11));
	T(lseek(f, 0, SEEK_CUR));
	T(unlink("pf"));
	say("unlinked: %d\n", fd_link_is(f, "/pf (deleted)", 1));
	struct stat st;
	int rc = lstat(path, &st);
	say("lstat fd link: %d link %d mode %04o\n", rc, S_ISLNK(st.st_mode), st.st_mode & 07777);
	show_readlink("readlink /dev/stdin", AT_FDCWD, "/dev/stdin", 100);
	show_readlink("readlink /proc/self/fd/1 via /dev/fd", AT_FDCWD, "/dev/fd/1", 0);
	rc = stat("/proc/self/exe", &st);
	say("exe: %d regular %d size>0 %d\n", rc, S_ISREG(st.st_mode), st.st_size > 0);
	struct statfs sf;
	rc = statfs("/proc/self", &sf);
	say("statfs /proc: %d proc %d\n", rc, sf.f_type == 0x9fa0);
	rc = statfs("/sys/devices/system/cpu", &sf);
	say("statfs /sys: %d sysfs %d\n", rc, sf.f_type == 0x62656572);
	T(mkdir("/proc/fstest", 0755));
	T(unlink("/proc/cpuinfo"));
	T(link("/proc/cpuinfo", "pcpu"));
	T(rename("/proc/uptime", "up"));
	T(symlink("x", "/proc/self/fd/999"));
	int u = open("/proc/uptime", O_RDONLY);
	char a[64] = "", b[64] = "";
	double up = -1, idle = -1;
	ssize_t n = pread(u, a, sizeof(a) - 1, 0);
	say("uptime: two numbers %d\n", n > 0 && sscanf(a, "%lf %lf", &up, &idle) == 2 && up >= 0 && idle >= 0);
	n = read(u, b, 4);
	say("uptime read from 0: %d\n", n == 4 && memcmp(a, b, 4) == 0);
	say("online: %s", get("/sys/devices/system/cpu/online")[0] == '0' ? "starts 0\n" : "other\n");
	close(u);
	close(f);
	close(f2);
	close(w);
	close(p[0]);
	close(p[1]);
	close(e);
	close(s);
}

static void sendfiles(void)
{
	say("== sendfile\n");
	static char data[100000], back[102000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7 + (i >> 8));
	int src = open("src", O_RDWR | O_CREAT | O_TRUNC, 0644);
	need(src >= 0 && write(src, data, sizeof(data)) == (ssize_t)sizeof(data), "src");
	T(lseek(src, 0, SEEK_SET));
	int dst = open("dst", O_RDWR | O_CREAT | O_TRUNC, 0644);
	T(sendfile(dst, src, NULL, 200000));
	T(lseek(src, 0, SEEK_CUR));
	off_t off = 99000;
	T(sendfile(dst, src, &off, 5000));
	say("off now %lld, src pos %lld\n", (long long)off, (long long)lseek(src, 0, SEEK_CUR));
	ssize_t n = pread(dst, back, sizeof(back), 0);
	say("dst %zd bytes, first 100000 equal %d, tail equal %d\n", n, n >= 101000 && memcmp(back, data, sizeof(data)) == 0,
	    memcmp(back + 100000, data + 99000, 1000) == 0);
	T(sendfile(dst, src, NULL, 10));
	int ap = open("dst", O_WRONLY | O_APPEND);
	off = 0;
	T(sendfile(ap, src, &off, 10));
	int dfd = open(".", O_RDONLY | O_DIRECTORY);
	T(sendfile(dst, dfd, NULL, 10));
	int ro = open("dst", O_RDONLY);
	off = 0;
	T(sendfile(ro, src, &off, 10));
	off = -1;
	T(sendfile(dst, src, &off, 10));
	close(ro);
	close(dfd);
	close(ap);
	close(src);
	close(dst);
}

int main(int argc, char **argv)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/fstest-XXXXXX", argc > 1 ? argv[1] : "/tmp");
	if (!mkdtemp(dir) || chdir(dir)) {
		say("cannot make a directory in %s\n", argc > 1 ? argv[1] : "/tmp");
		return 2;
	}
	umask(022);
	/* Descriptors a parent left open would shift every fd number printed below. */
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	/* In this order: later parts use names the earlier ones made. The caller removes DIR's tree. */
	symlinks();
	hardlinks();
	sizes();
	fifos();
	statfs_fadvise();
	sendfiles();
	procfs();
	if (fails)
		say("fstest FAILED %d\n", fails);
	else
		say("fstest ok\n");
	return fails ? 1 : 0;
}
