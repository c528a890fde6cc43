/* sys_fs.c: file syscalls on descriptors: read/write and vectors, open, close, lseek, ioctl, fcntl, dup, pipe. */
#include <string.h>
#include "k.h"
#include "fs.h"
#include "sys.h"
#include "linux_abi.h"

/* Linux MAX_RW_COUNT: one transfer moves at most this much (INT_MAX rounded down to a page). */
#define SYS_FS_RW_MAX 0x7ffff000ul
/* A vectored write to a pipe or device is gathered into one buffer up to this size: one console exit per writev. */
#define SYS_FS_GATHER_MAX (1ul << 20)

static struct fs_file *sys_fs_file(long fd)
{
	if (fd < 0 || fd >= FS_MAX_FDS)
		return NULL;
	return fs_fd_file((int)fd);
}

/* One transfer either way: read/write and the vector paths share their code. */
static long sys_fs_xfer(struct fs_file *f, void *buf, size_t len, uint64_t *off, bool wr)
{
	return wr ? fs_file_write(f, buf, len, off) : fs_file_read(f, buf, len, off);
}

static long sys_fs_rw_on(struct fs_file *f, long ubuf, long count, uint64_t *off, bool wr)
{
	size_t len = (size_t)count;
	if (len > SYS_FS_RW_MAX)
		len = SYS_FS_RW_MAX;
	void *buf = (void *)ubuf;
	if (len && !(wr ? k_user_rok(buf, len) : k_user_ok(buf, len)))
		return -EFAULT;
	return sys_fs_xfer(f, buf, len, off, wr);
}

/* Linux sends SIGPIPE with EPIPE from a write to a pipe nobody reads (its default action ends the app). */
static long sys_fs_epipe(long rc)
{
	if (rc == -EPIPE)
		k_sig_raise(LX_SIGPIPE);
	return rc;
}

/*
 * A transfer may block (pipes) while another thread closes the fd: like
 * Linux it keeps its own reference to the open file, so neither the file
 * nor the pipe end goes away under it.
 */
static long sys_fs_rw(long fd, long ubuf, long count, uint64_t *off, bool wr)
{
	struct fs_file *f = sys_fs_file(fd);
	if (!f)
		return -EBADF;
	fs_file_get(f);
	long rc = sys_fs_rw_on(f, ubuf, count, off, wr);
	fs_file_put(f);
	return sys_fs_epipe(rc);
}

long sys_read(SYS_ARGS)
{
	return sys_fs_rw(a0, a1, a2, NULL, false);
}

long sys_write(SYS_ARGS)
{
	return sys_fs_rw(a0, a1, a2, NULL, true);
}

long sys_pread64(SYS_ARGS)
{
	if (a3 < 0)
		return -EINVAL;
	uint64_t off = (uint64_t)a3;
	return sys_fs_rw(a0, a1, a2, &off, false);
}

long sys_pwrite64(SYS_ARGS)
{
	if (a3 < 0)
		return -EINVAL;
	uint64_t off = (uint64_t)a3;
	return sys_fs_rw(a0, a1, a2, &off, true);
}

/* Checks the whole vector before moving a byte: -EINVAL for bad counts or an overflowing total, -EFAULT for bad memory. */
static long sys_fs_iov_check(const struct iovec *iov, long cnt, size_t *total)
{
	if (cnt < 0 || cnt > LINUX_UIO_MAXIOV)
		return -EINVAL;
	if (cnt && !k_user_ok(iov, (size_t)cnt * sizeof(*iov)))
		return -EFAULT;
	size_t sum = 0;
	for (long i = 0; i < cnt; i++) {
		size_t len = iov[i].iov_len;
		if (len > (size_t)INT64_MAX - sum)
			return -EINVAL;
		sum += len;
		if (len && !k_user_ok(iov[i].iov_base, len))
			return -EFAULT;
	}
	*total = sum;
	return 0;
}

static long sys_fs_rwv_on(struct fs_file *f, long uiov, long cnt, bool wr)
{
	const struct iovec *iov = (const struct iovec *)uiov;
	size_t total;
	long rc = sys_fs_iov_check(iov, cnt, &total);
	if (rc)
		return rc;
	if (total > SYS_FS_RW_MAX)
		total = SYS_FS_RW_MAX;
	if (f->ops->rwv)
		return f->ops->rwv(f, iov, (size_t)cnt, total, wr);
	if (wr && cnt > 1 && (f->ops->caps & FS_CAP_GATHER) && total <= SYS_FS_GATHER_MAX) {
		uint8_t *g = k_malloc(total ? total : 1);
		if (g) {
			size_t pos = 0;
			for (long i = 0; i < cnt && pos < total; i++) {
				size_t n = iov[i].iov_len < total - pos ? iov[i].iov_len : total - pos;
				memcpy(g + pos, iov[i].iov_base, n);
				pos += n;
			}
			rc = sys_fs_xfer(f, g, total, NULL, true);
			k_free(g);
			return rc;
		}
		/* Out of memory: fall back to one transfer per element. */
	}
	size_t done = 0;
	for (long i = 0; i < cnt && done < total; i++) {
		size_t n = iov[i].iov_len < total - done ? iov[i].iov_len : total - done;
		if (n == 0)
			continue;
		long r = sys_fs_xfer(f, iov[i].iov_base, n, NULL, wr);
		if (r < 0)
			return done ? (long)done : r;
		done += (size_t)r;
		if ((size_t)r < n)
			break;
	}
	return (long)done;
}

/* Holds a reference across a transfer that may block, as sys_fs_rw does. */
static long sys_fs_rwv(long fd, long uiov, long cnt, bool wr)
{
	struct fs_file *f = sys_fs_file(fd);
	if (!f)
		return -EBADF;
	fs_file_get(f);
	long rc = sys_fs_rwv_on(f, uiov, cnt, wr);
	fs_file_put(f);
	return sys_fs_epipe(rc);
}

long sys_readv(SYS_ARGS)
{
	return sys_fs_rwv(a0, a1, a2, false);
}

long sys_writev(SYS_ARGS)
{
	return sys_fs_rwv(a0, a1, a2, true);
}

/*
 * Finds or creates the target of an O_CREAT open. A symbolic link as the
 * last component is followed (and a missing target created) unless O_EXCL
 * (-EEXIST) or O_NOFOLLOW (-ELOOP), as Linux's open_last_lookups.
 */
static int sys_fs_open_create(struct fs_node *start, const char *path, uint32_t flags, uint32_t mode,
			      struct fs_node **out, struct fs_file **via)
{
	struct fs_last l;
	struct fs_node *n;
	bool dot;
	for (unsigned links = 0;; links++) {
		int rc = fs_lookup_parent(start, path, &l);
		if (rc)
			return rc;
		dot = l.len == 0 || fs_name_is_dot(l.name, l.len);
		n = dot ? NULL : fs_dir_find(l.dir, l.name, l.len);
		if (!n || !fs_is_link(n) || (flags & O_EXCL))
			break;
		if ((flags & O_NOFOLLOW) || links >= FS_MAX_LINKS)
			return -ELOOP;
		if (n->jump) {
			/* /proc's magic links name an existing node: an open of it (echo > /dev/stderr). */
			int rc = fs_lookup_via(start, path, true, &n, via);
			if (rc)
				return rc;
			if (fs_is_dir(n))
				return -EISDIR;
			*out = n;
			return 0;
		}
		start = l.dir;
		path = n->link;
	}
	if (dot || n) {
		if (flags & O_EXCL)
			return -EEXIST;
		if (dot || fs_is_dir(n) || l.slash)
			return -EISDIR;
		*out = n;
		return 0;
	}
	if (l.slash)
		return -EISDIR;
	if ((l.dir != fs_root && l.dir->nlink == 0) || l.dir->fixed)
		return -ENOENT; /* the directory was removed (e.g. a deleted cwd), or it is /proc's */
	n = fs_reg_new(S_IFREG | (mode & 07777 & ~fs_umask));
	if (!n)
		return -ENOMEM;
	int rc = fs_dir_add(l.dir, l.name, l.len, n);
	if (rc) {
		fs_node_destroy(n);
		return rc;
	}
	*out = n;
	return 0;
}

long sys_openat(SYS_ARGS)
{
	uint32_t flags = (uint32_t)a2;
	const char *path;
	struct fs_node *start, *n;
	struct fs_file *via = NULL;
	/* Flags first, as Linux's build_open_flags: a bad flag wins over a bad path. */
	if ((flags & __O_TMPFILE) == __O_TMPFILE)
		return -EOPNOTSUPP;
	uint32_t acc = flags & O_ACCMODE;
	if (acc == O_ACCMODE)
		return -EINVAL;
	/* Linux >= 6.4: the pair is ambiguous and refused before anything is created (it used to make a file, then fail). */
	if ((flags & (O_CREAT | O_DIRECTORY)) == (O_CREAT | O_DIRECTORY))
		return -EINVAL;
	int rc = fs_user_at(a0, a1, &path, &start);
	if (rc)
		return rc;
	if ((flags & O_CREAT) && !(flags & O_PATH))
		rc = sys_fs_open_create(start, path, flags, (uint32_t)a3, &n, &via);
	else
		rc = fs_lookup_via(start, path, !(flags & O_NOFOLLOW), &n, &via);
	if (rc)
		return rc;
	uint32_t type = n->mode & S_IFMT;
	if ((flags & O_DIRECTORY) && type != S_IFDIR)
		return -ENOTDIR;
	/* Only O_PATH | O_NOFOLLOW opens the link itself (Linux's may_open). */
	if (type == S_IFLNK && !(flags & O_PATH))
		return -ELOOP;
	/* A socket (or an anonymous file, through /proc/self/fd) cannot be opened again. */
	if (!(flags & O_PATH) && (type == S_IFSOCK || n->st_dev == FS_DEV_ANON))
		return -ENXIO;
	if (!(flags & O_PATH)) {
		if (type == S_IFDIR && acc != O_RDONLY)
			return -EISDIR;
		if ((flags & O_TRUNC) && type == S_IFREG) {
			rc = fs_reg_truncate(n, 0);
			if (rc)
				return rc;
		}
	}
	uint32_t keep = flags & ~(uint32_t)(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC);
	struct fs_file *f = NULL;
	int fd = fs_fd_reserve(0);
	if (fd < 0)
		return fd;
	if (flags & O_PATH) {
		f = fs_file_new(n, keep); /* no open hook: an O_PATH file of a FIFO does not wait nor count */
		rc = f ? 0 : -ENOMEM;
	} else {
		rc = fs_file_open(n, keep, &f);
	}
	if (!rc && via && f->ops->reopen)
		f->ops->reopen(f, via);
	fs_fd_commit(fd, rc ? NULL : f, flags & O_CLOEXEC);
	return rc ? rc : fd;
}

long sys_open(SYS_ARGS)
{
	return sys_openat(AT_FDCWD, a0, a1, a2, 0, 0);
}

long sys_close(SYS_ARGS)
{
	if (a0 < 0 || a0 >= FS_MAX_FDS)
		return -EBADF;
	return fs_fd_close((int)a0);
}

long sys_lseek(SYS_ARGS)
{
	struct fs_file *f = sys_fs_file(a0);
	if (!f)
		return -EBADF;
	return fs_file_lseek(f, a1, (int)a2);
}

long sys_ioctl(SYS_ARGS)
{
	struct fs_file *f = sys_fs_file(a0);
	if (!f)
		return -EBADF;
	unsigned long req = (unsigned int)a1;
	int *ip = (int *)a2;
	switch (req) {
	case FIOCLEX:
	case FIONCLEX:
		return fs_fd_set_cloexec((int)a0, req == FIOCLEX);
	case FIONBIO:
		if (!k_user_ok(ip, sizeof(int)))
			return -EFAULT;
		if (*ip)
			f->flags |= O_NONBLOCK;
		else
			f->flags &= ~(uint32_t)O_NONBLOCK;
		return 0;
	}
	return fs_file_ioctl(f, req, a2);
}

static long sys_fs_lock(struct fs_file *f, long cmd, long arg);

long sys_fcntl(SYS_ARGS)
{
	struct fs_file *f = sys_fs_file(a0);
	if (!f)
		return -EBADF;
	int fd = (int)a0;
	switch (a1) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC: {
		if (a2 < 0 || a2 >= FS_MAX_FDS)
			return -EINVAL;
		fs_file_get(f);
		int nfd = fs_fd_install(f, (int)a2, a1 == F_DUPFD_CLOEXEC);
		if (nfd < 0)
			fs_file_put(f);
		return nfd;
	}
	case F_GETFD:
		return fs_fd_cloexec(fd) == 1 ? FD_CLOEXEC : 0;
	case F_SETFD:
		return fs_fd_set_cloexec(fd, a2 & FD_CLOEXEC);
	case F_GETFL:
		return f->flags;
	case F_SETFL: {
		/* Linux silently ignores the other bits (access mode, creation flags). */
		uint32_t changeable = O_APPEND | O_NONBLOCK;
		f->flags = (f->flags & ~changeable) | ((uint32_t)a2 & changeable);
		return 0;
	}
	case F_GETPIPE_SZ:
		return fs_pipe_size(f);
	case F_GETLK:
	case F_SETLK:
	case F_SETLKW:
	case F_OFD_GETLK:
	case F_OFD_SETLK:
	case F_OFD_SETLKW:
		return sys_fs_lock(f, a1, a2);
	}
	return -EINVAL;
}

/*
 * Record locks (fcntl F_*LK, F_OFD_*LK). One process: every lock it asks for
 * is granted at once (no other owner can hold a conflicting one), so a lock
 * is checked as Linux checks it and then needs no record; F_GETLK finds
 * nothing in the way. Wrongly-typed requests fail with Linux's errors.
 */
static long sys_fs_lock(struct fs_file *f, long cmd, long arg)
{
	struct flock *fl = (struct flock *)arg;
	bool ofd = cmd == F_OFD_GETLK || cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW;
	if (f->flags & O_PATH)
		return -EBADF;
	if (!k_user_ok(fl, sizeof(*fl)))
		return -EFAULT;
	if (fl->l_whence != SEEK_SET && fl->l_whence != SEEK_CUR && fl->l_whence != SEEK_END)
		return -EINVAL;
	if (ofd && fl->l_pid != 0)
		return -EINVAL;
	bool get = cmd == F_GETLK || cmd == F_OFD_GETLK;
	uint32_t acc = f->flags & O_ACCMODE;
	switch (fl->l_type) {
	case F_RDLCK:
		if (!get && acc == O_WRONLY)
			return -EBADF;
		break;
	case F_WRLCK:
		if (!get && acc == O_RDONLY)
			return -EBADF;
		break;
	case F_UNLCK:
		if (get)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (get)
		fl->l_type = F_UNLCK; /* nobody else holds a lock */
	return 0;
}

/* flock(fd, op): whole-file locks, granted at once for the same reason as the record locks above. */
long sys_flock(SYS_ARGS)
{
	struct fs_file *f = sys_fs_file(a0);
	if (!f || (f->flags & O_PATH))
		return -EBADF;
	long op = a1 & ~(long)LOCK_NB;
	if (op != LOCK_SH && op != LOCK_EX && op != LOCK_UN)
		return -EINVAL;
	return 0;
}

long sys_dup(SYS_ARGS)
{
	struct fs_file *f = sys_fs_file(a0);
	if (!f)
		return -EBADF;
	fs_file_get(f);
	int fd = fs_fd_install(f, 0, false);
	if (fd < 0)
		fs_file_put(f);
	return fd;
}

long sys_dup2(SYS_ARGS)
{
	if (!sys_fs_file(a0))
		return -EBADF;
	if (a1 < 0 || a1 >= FS_MAX_FDS)
		return -EBADF;
	if (a0 == a1)
		return a1;
	return fs_fd_dup2((int)a0, (int)a1, false);
}

long sys_dup3(SYS_ARGS)
{
	if ((uint64_t)a2 & ~(uint64_t)O_CLOEXEC)
		return -EINVAL;
	if (a0 == a1)
		return -EINVAL;
	if (!sys_fs_file(a0))
		return -EBADF;
	if (a1 < 0 || a1 >= FS_MAX_FDS)
		return -EBADF;
	return fs_fd_dup2((int)a0, (int)a1, a2 & O_CLOEXEC);
}

long sys_pipe2(SYS_ARGS)
{
	int *ufds = (int *)a0;
	if ((uint64_t)a1 & ~(uint64_t)(O_CLOEXEC | O_NONBLOCK))
		return -EINVAL; /* O_DIRECT (packet mode) is not implemented */
	if (!k_user_ok(ufds, 2 * sizeof(int)))
		return -EFAULT;
	struct fs_file *r, *w;
	int rc = fs_pipe_new((uint32_t)a1 & O_NONBLOCK, &r, &w);
	if (rc)
		return rc;
	bool cloexec = a1 & O_CLOEXEC;
	int rfd = fs_fd_install(r, 0, cloexec);
	if (rfd < 0) {
		fs_file_put(r);
		fs_file_put(w);
		return rfd;
	}
	int wfd = fs_fd_install(w, 0, cloexec);
	if (wfd < 0) {
		fs_fd_close(rfd);
		fs_file_put(w);
		return wfd;
	}
	ufds[0] = rfd;
	ufds[1] = wfd;
	return 0;
}

long sys_pipe(SYS_ARGS)
{
	return sys_pipe2(a0, 0, 0, 0, 0, 0);
}

long fs_fd_pread(int fd, void *buf, size_t len, uint64_t off)
{
	struct fs_file *f = fs_fd_file(fd);
	if (!f || (f->flags & O_PATH))
		return -EBADF;
	/* mmap's errors, not read's: a mapping needs read access, and only files and disks can be mapped. */
	if ((f->flags & O_ACCMODE) == O_WRONLY)
		return -EACCES;
	if (!(f->ops->caps & FS_CAP_MMAP))
		return -ENODEV;
	return fs_file_read(f, buf, len, &off);
}
