/*
 * shmap.c: shared memory with Linux's answers (the same binary passes natively): MAP_SHARED file
 * mappings (file), POSIX shm_open/sem_open on /dev/shm (shm), SysV shmget/shmat (sysv). Prints "shmap ok".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "t_check.h"

#define PG 4096

static char path[64];

static int file_new(long size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(ftruncate(fd, size) == 0);
	return fd;
}

static int zeros(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* Stores through a mapping are read(); write() is seen through every mapping; private mappings are copies. */
static void coherence(void)
{
	char buf[16] = {0};
	int fd = file_new(2 * PG);
	char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED);
	strcpy(p, "hello");
	CHECK(pread(fd, buf, 5, 0) == 5 && !memcmp(buf, "hello", 5));
	CHECK(pwrite(fd, "world", 5, PG) == 5 && !memcmp(p + PG, "world", 5));
	/* A second mapping of the second page is the same memory. */
	char *q = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, PG);
	CHECK(q != MAP_FAILED && !memcmp(q, "world", 5));
	q[1] = 'X';
	CHECK(p[PG + 1] == 'X');
	/* A private mapping is a copy: its stores never reach the file. */
	char *r = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(r != MAP_FAILED && !memcmp(r, "hello", 5));
	r[0] = 'J';
	CHECK(p[0] == 'h' && pread(fd, buf, 1, 0) == 1 && buf[0] == 'h');
	/* A read-only shared mapping sees later writes too. */
	char *ro = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(ro != MAP_FAILED);
	CHECK(pwrite(fd, "H", 1, 0) == 1 && ro[0] == 'H' && p[0] == 'H');
	/* Unmapped before the halves below: in ukvm ro and p are one address, so p's first page stays mapped while ro does. */
	CHECK(munmap(ro, PG) == 0);
	/* msync: flags and range as Linux checks them. */
	CHECK(msync(p, 2 * PG, MS_SYNC) == 0 && msync(p, 2 * PG, MS_ASYNC) == 0);
	CHECK(msync(p, 1, MS_INVALIDATE) == 0 && msync(p, 0, MS_SYNC) == 0);
	CHECK_ERR(msync(p, PG, MS_SYNC | MS_ASYNC), EINVAL);
	CHECK_ERR(msync(p, PG, 8), EINVAL);
	CHECK_ERR(msync(p + 1, PG, MS_SYNC), EINVAL);
	/* madvise(DONTNEED) on a shared mapping drops nothing: the file's bytes are still there. */
	CHECK(madvise(p, 2 * PG, MADV_DONTNEED) == 0 && p[0] == 'H' && p[PG] == 'w');
	CHECK(mprotect(p, 2 * PG, PROT_READ) == 0 && mprotect(p, 2 * PG, PROT_READ | PROT_WRITE) == 0);
	/* One unmapped half of a mapping leaves the other working, and the others. */
	CHECK(munmap(p, PG) == 0);
	CHECK(p[PG] == 'w' && q[0] == 'w');
	p[PG + 2] = 'Y';
	CHECK(q[2] == 'Y');
	CHECK(munmap(p + PG, PG) == 0 && munmap(q, PG) == 0 && munmap(r, PG) == 0);
	close(fd);
	/* The bytes outlive every mapping and the fd. */
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0 && pread(fd, buf, 5, PG) == 5 && !memcmp(buf, "wXYld", 5));
	close(fd);
}

/* ftruncate while mapped: growth shows zeros, a cut zeroes the page's tail and the cut pages. */
static void truncate_mapped(void)
{
	char buf[8];
	int fd = file_new(PG + 100);
	char *p = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED);
	memset(p, 'a', PG + 100);
	CHECK(zeros(p + PG + 100, PG - 100)); /* past EOF in the last page: zeros */
	CHECK(ftruncate(fd, 3 * PG) == 0);
	CHECK(zeros(p + PG + 100, 2 * PG - 100));
	p[2 * PG + 5] = 'Q';
	CHECK(pread(fd, buf, 1, 2 * PG + 5) == 1 && buf[0] == 'Q');
	CHECK(ftruncate(fd, 50) == 0);
	CHECK(p[49] == 'a' && zeros(p + 50, PG - 50));
	CHECK(pread(fd, buf, 8, 40) == 8);
	CHECK(pread(fd, buf, 8, 45) == 5);
	CHECK(ftruncate(fd, 3 * PG) == 0);
	CHECK(zeros(p + 50, 3 * PG - 50));
	CHECK(pread(fd, buf, 1, 2 * PG + 5) == 1 && buf[0] == 0);
	CHECK(munmap(p, 3 * PG) == 0);
	close(fd);
}

/*
 * Two mappings of one range: unmapping one (whole, or a page of it) leaves the
 * other the file's memory, through a truncation and regrowth too.
 */
static void alias_unmap(void)
{
	char buf[1];
	int fd = file_new(2 * PG);
	char *a = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *b = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(a != MAP_FAILED && b != MAP_FAILED);
	CHECK(munmap(a, 2 * PG) == 0);
	b[PG] = 'B';
	CHECK(pread(fd, buf, 1, PG) == 1 && buf[0] == 'B');
	CHECK(ftruncate(fd, 0) == 0 && ftruncate(fd, 2 * PG) == 0);
	CHECK(zeros(b, 2 * PG));
	b[PG] = 'C';
	CHECK(pread(fd, buf, 1, PG) == 1 && buf[0] == 'C');
	a = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(a != MAP_FAILED);
	CHECK(munmap(a + PG, PG) == 0);
	CHECK(ftruncate(fd, 0) == 0 && ftruncate(fd, 2 * PG) == 0);
	b[PG] = 'D';
	a[0] = 'E';
	CHECK(pread(fd, buf, 1, PG) == 1 && buf[0] == 'D');
	CHECK(pread(fd, buf, 1, 0) == 1 && buf[0] == 'E' && b[0] == 'E');
	CHECK(munmap(a, PG) == 0 && munmap(b, 2 * PG) == 0);
	close(fd);
}

/* A file written in small pieces, mapped whole; a mapping at a fixed place; unlink while mapped. */
static void layout(void)
{
	char piece[100];
	int fd = file_new(0);
	for (int i = 0; i < 700; i++) {
		memset(piece, 'A' + i % 26, sizeof(piece));
		CHECK(write(fd, piece, sizeof(piece)) == (long)sizeof(piece));
	}
	char *p = mmap(NULL, 70000, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED);
	int same = 1;
	for (int i = 0; i < 70000; i++)
		same &= p[i] == 'A' + (i / 100) % 26;
	CHECK(same);
	CHECK(munmap(p, 70000) == 0);
	/* A region reserved PROT_NONE, the file mapped into its middle (what allocators and LMDB do). */
	char *res = mmap(NULL, 6 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(res != MAP_FAILED);
	char *f = mmap(res + 2 * PG, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, PG);
	CHECK(f == res + 2 * PG);
	CHECK(f[0] == 'A' + (PG / 100) % 26);
	f[1] = '!';
	char c;
	CHECK(pread(fd, &c, 1, PG + 1) == 1 && c == '!');
	/* Unlinked while mapped: the mapping keeps the file. */
	CHECK(unlink(path) == 0);
	f[2] = '?';
	CHECK(pread(fd, &c, 1, PG + 2) == 1 && c == '?');
	CHECK(munmap(res, 6 * PG) == 0);
	close(fd);
}

static void errors(void)
{
	int fd = file_new(PG);
	int ro = open(path, O_RDONLY), wo = open(path, O_WRONLY), ap = open(path, O_RDWR | O_APPEND);
	CHECK(ro >= 0 && wo >= 0 && ap >= 0);
	CHECK(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0) == MAP_FAILED && errno == EACCES);
	CHECK(mmap(NULL, PG, PROT_READ, MAP_SHARED, wo, 0) == MAP_FAILED && errno == EACCES);
	/* O_APPEND is no bar (only the inode's append-only attribute is). */
	void *m = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, ap, 0);
	CHECK(m != MAP_FAILED && munmap(m, PG) == 0);
	CHECK(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, 555, 0) == MAP_FAILED && errno == EBADF);
	CHECK(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 100) == MAP_FAILED && errno == EINVAL);
	m = mmap(NULL, PG, PROT_READ, MAP_SHARED, ro, 0);
	CHECK(m != MAP_FAILED && munmap(m, PG) == 0);
	close(ro), close(wo), close(ap), close(fd);
	unlink(path);
}

static void file_tests(void)
{
	snprintf(path, sizeof(path), "/tmp/shmap-%d", (int)getpid());
	coherence();
	truncate_mapped();
	alias_unmap();
	layout();
	errors();
}

/* POSIX shared memory: shm_open names files under /dev/shm; two mappings of one object are one memory. */
static void shm_tests(void)
{
	char name[64];
	snprintf(name, sizeof(name), "/shmap-%d", (int)getpid());
	struct stat st;
	CHECK(stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 01777);
	int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0 && ftruncate(fd, 3 * PG) == 0);
	CHECK_ERR(shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST);
	char *a = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(a != MAP_FAILED);
	close(fd);
	strcpy(a + PG, "shared");
	int fd2 = shm_open(name, O_RDWR, 0);
	CHECK(fd2 >= 0 && fstat(fd2, &st) == 0 && st.st_size == 3 * PG);
	char *b = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
	CHECK(b != MAP_FAILED && !strcmp(b + PG, "shared"));
	b[2 * PG] = 'z';
	CHECK(a[2 * PG] == 'z');
	close(fd2);
	CHECK(shm_unlink(name) == 0);
	CHECK_ERR(shm_open(name, O_RDWR, 0), ENOENT);
	CHECK_ERR(shm_unlink(name), ENOENT);
	/* The object lives on in its mappings. */
	a[0] = 'k';
	CHECK(b[0] == 'k');
	CHECK(munmap(a, 3 * PG) == 0 && munmap(b, 3 * PG) == 0);
}

/* Named semaphores: musl and glibc keep them in /dev/shm files mapped MAP_SHARED. */
static void sem_tests(void)
{
	char name[64];
	snprintf(name, sizeof(name), "/shmap-sem-%d", (int)getpid());
	sem_t *s = sem_open(name, O_CREAT | O_EXCL, 0600, 2);
	CHECK(s != SEM_FAILED);
	if (s == SEM_FAILED)
		return;
	sem_t *t = sem_open(name, 0);
	CHECK(t != SEM_FAILED);
	int v = -1;
	CHECK(sem_wait(s) == 0 && sem_getvalue(t, &v) == 0 && v == 1);
	CHECK(sem_post(t) == 0 && sem_post(t) == 0 && sem_getvalue(s, &v) == 0 && v == 3);
	CHECK(sem_trywait(t) == 0 && sem_trywait(t) == 0 && sem_trywait(t) == 0);
	CHECK_ERR(sem_trywait(s), EAGAIN);
	CHECK(sem_close(t) == 0 && sem_close(s) == 0 && sem_unlink(name) == 0);
	CHECK(sem_open(name, 0) == SEM_FAILED && errno == ENOENT);
}

/* SysV shared memory: keys, IPC_PRIVATE, attaches that share one memory, IPC_STAT, IPC_RMID while attached. */
static void sysv_tests(void)
{
	key_t key = (key_t)(0x5a000000 | (getpid() & 0xffffff));
	struct shmid_ds ds;
	CHECK_ERR(shmget(key, 10000, 0600), ENOENT);
	int id = shmget(key, 10000, IPC_CREAT | IPC_EXCL | 0600);
	CHECK(id >= 0);
	CHECK_ERR(shmget(key, 10000, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
	CHECK(shmget(key, 0, 0) == id && shmget(key, 5000, IPC_CREAT | 0600) == id);
	CHECK_ERR(shmget(key, 20000, 0), EINVAL); /* bigger than the segment */
	CHECK_ERR(shmget(IPC_PRIVATE, 0, IPC_CREAT | 0600), EINVAL);
	CHECK(shmctl(id, IPC_STAT, &ds) == 0);
	CHECK(ds.shm_segsz == 10000 && ds.shm_nattch == 0 && ds.shm_perm.__key == key && (ds.shm_perm.mode & 0777) == 0600);
	CHECK(ds.shm_cpid == getpid() && ds.shm_atime == 0);
	char *a = shmat(id, NULL, 0), *b = shmat(id, NULL, 0);
	CHECK(a != (void *)-1 && b != (void *)-1);
	CHECK(zeros(a, 10000));
	strcpy(a, "sysv");
	a[9999] = 'e';
	CHECK(!strcmp(b, "sysv") && b[9999] == 'e');
	CHECK(shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_nattch == 2 && ds.shm_lpid == getpid() && ds.shm_atime != 0);
	CHECK(shmdt(b) == 0); /* (in ukvm b is a: a segment's pages live at one address) */
	CHECK_ERR(shmdt(a + 1), EINVAL);
	CHECK(shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_nattch == 1);
	/* IPC_SET changes the mode bits only. */
	ds.shm_perm.mode = 0640 | 01000;
	CHECK(shmctl(id, IPC_SET, &ds) == 0 && shmctl(id, IPC_STAT, &ds) == 0 && (ds.shm_perm.mode & 07777) == 0640);
	/* Removed while attached: the key is free at once, the attach keeps the memory. */
	CHECK(shmctl(id, IPC_RMID, NULL) == 0);
	CHECK_ERR(shmget(key, 10000, 0600), ENOENT);
	CHECK(shmctl(id, IPC_STAT, &ds) == 0 && (ds.shm_perm.mode & 01000) && ds.shm_perm.__key == IPC_PRIVATE);
	CHECK(!strcmp(a, "sysv"));
	int id2 = shmget(key, 4096, IPC_CREAT | 0600);
	CHECK(id2 >= 0 && id2 != id);
	CHECK(shmdt(a) == 0);
	CHECK_ERR(shmdt(a), EINVAL);
	CHECK_ERR(shmctl(id, IPC_STAT, &ds), EINVAL); /* gone with its last attach */
	CHECK_ERR(shmat(id, NULL, 0), EINVAL);
	/* An attach at a given address: aligned, or rounded with SHM_RND. */
	char *res = mmap(NULL, 4 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(res != MAP_FAILED && munmap(res, 4 * PG) == 0);
	CHECK_ERR(shmat(id2, res + 1, 0), EINVAL);
	char *c = shmat(id2, res + 1, SHM_RND);
	CHECK(c == res);
	c[0] = 'c';
	char *d = shmat(id2, NULL, SHM_RDONLY);
	CHECK(d != (void *)-1 && d[0] == 'c');
	CHECK(shmdt(c) == 0 && shmdt(d) == 0);
	CHECK(shmctl(id2, IPC_RMID, NULL) == 0);
	CHECK_ERR(shmctl(id2, IPC_RMID, NULL), EINVAL);
	CHECK_ERR(shmctl(-1, IPC_STAT, &ds), EINVAL);
	CHECK_ERR(shmctl(id2, 999, &ds), EINVAL);
	/* A private segment is not found by key; two are two. */
	int p1 = shmget(IPC_PRIVATE, 100, 0600), p2 = shmget(IPC_PRIVATE, 100, 0600);
	CHECK(p1 >= 0 && p2 >= 0 && p1 != p2);
	char *x = shmat(p1, NULL, 0), *y = shmat(p2, NULL, 0);
	CHECK(x != (void *)-1 && y != (void *)-1 && x != y);
	x[0] = 1;
	CHECK(y[0] == 0);
	CHECK(shmctl(p1, IPC_RMID, NULL) == 0 && shmctl(p2, IPC_RMID, NULL) == 0);
	CHECK(shmdt(x) == 0 && shmdt(y) == 0);
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "file";
	if (!strcmp(what, "file"))
		file_tests();
	else if (!strcmp(what, "shm"))
		shm_tests();
	else if (!strcmp(what, "sem"))
		sem_tests();
	else if (!strcmp(what, "sysv"))
		sysv_tests();
	else
		return fprintf(stderr, "usage: shmap file|shm|sem|sysv\n"), 2;
	return t_done("shmap");
}
