/* sys_fs_path.c: file syscalls that change the tree, its nodes or the cwd: mkdir, rmdir, unlink, rename, truncate, chmod, chown, utimensat, chdir, getcwd, umask, fsync. */
#include <string.h>
#include "k.h"
#include "fs.h"
#include "sys.h"
#include "linux_abi.h"

/* Resolves a path argument to its parent directory and last component. */
static int path_parent(long dirfd, long upath, struct fs_last *l)
{
	const char *path;
	struct fs_node *start;
	int rc = fs_user_at(dirfd, upath, &path, &start);
	return rc ? rc : fs_lookup_parent(start, path, l);
}

static int path_node(long dirfd, long upath, struct fs_node **out)
{
	const char *path;
	struct fs_node *start;
	int rc = fs_user_at(dirfd, upath, &path, &start);
	return rc ? rc : fs_lookup(start, path, out);
}

/* path_node, except that a symbolic link as the last component is the answer with AT_SYMLINK_NOFOLLOW in flags. */
static int path_node_flags(long dirfd, long upath, long flags, struct fs_node **out)
{
	const char *path;
	struct fs_node *start;
	if (!(flags & AT_SYMLINK_NOFOLLOW))
		return path_node(dirfd, upath, out);
	int rc = fs_user_at(dirfd, upath, &path, &start);
	return rc ? rc : fs_lookup_nofollow(start, path, out);
}

long sys_mkdirat(SYS_ARGS)
{
	struct fs_last l;
	int rc = path_parent(a0, a1, &l);
	if (rc)
		return rc;
	if (l.len == 0 || fs_name_is_dot(l.name, l.len) || fs_dir_find(l.dir, l.name, l.len))
		return -EEXIST;
	if ((l.dir != fs_root && l.dir->nlink == 0) || l.dir->fixed)
		return -ENOENT; /* parent was removed, or it is /proc's */
	struct fs_node *n = fs_dir_new(S_IFDIR | ((uint32_t)a2 & 07777 & ~fs_umask));
	if (!n)
		return -ENOMEM;
	rc = fs_dir_add(l.dir, l.name, l.len, n);
	if (rc)
		fs_node_destroy(n);
	return rc;
}

long sys_mkdir(SYS_ARGS)
{
	return sys_mkdirat(AT_FDCWD, a0, a1, 0, 0, 0);
}

static long path_rmdir(long dirfd, long upath)
{
	struct fs_last l;
	int rc = path_parent(dirfd, upath, &l);
	if (rc)
		return rc;
	if (l.len == 0)
		return -EBUSY; /* "/" */
	if (fs_name_is_dot(l.name, l.len))
		return l.len == 1 ? -EINVAL : -ENOTEMPTY;
	struct fs_node *n = fs_dir_find(l.dir, l.name, l.len);
	if (!n)
		return -ENOENT;
	if (!fs_is_dir(n))
		return -ENOTDIR;
	if (l.dir->fixed)
		return -EPERM;
	if (n->nents)
		return -ENOTEMPTY;
	return fs_dir_remove(l.dir, n);
}

static long path_unlink(long dirfd, long upath)
{
	struct fs_last l;
	int rc = path_parent(dirfd, upath, &l);
	if (rc)
		return rc;
	if (l.len == 0 || fs_name_is_dot(l.name, l.len))
		return -EISDIR;
	struct fs_node *n = fs_dir_find(l.dir, l.name, l.len);
	if (!n)
		return -ENOENT;
	if (fs_is_dir(n))
		return -EISDIR;
	if (l.slash)
		return -ENOTDIR;
	if (l.dir->fixed)
		return -EPERM;
	return fs_dir_remove(l.dir, n);
}

long sys_rmdir(SYS_ARGS)
{
	return path_rmdir(AT_FDCWD, a0);
}

long sys_unlink(SYS_ARGS)
{
	return path_unlink(AT_FDCWD, a0);
}

long sys_unlinkat(SYS_ARGS)
{
	if (a2 & ~(long)AT_REMOVEDIR)
		return -EINVAL;
	return a2 & AT_REMOVEDIR ? path_rmdir(a0, a1) : path_unlink(a0, a1);
}

long sys_renameat(SYS_ARGS)
{
	struct fs_last o, t; /* old and new names */
	int rc = path_parent(a0, a1, &o);
	if (rc)
		return rc;
	rc = path_parent(a2, a3, &t);
	if (rc)
		return rc;
	if (o.len == 0 || t.len == 0 || fs_name_is_dot(o.name, o.len) || fs_name_is_dot(t.name, t.len))
		return -EBUSY;
	if (o.dir->st_dev != t.dir->st_dev)
		return -EXDEV; /* /proc and /sys are file systems of their own */
	struct fs_node *src = fs_dir_find(o.dir, o.name, o.len);
	if (!src)
		return -ENOENT;
	if (t.len > LINUX_NAME_MAX)
		return -ENAMETOOLONG;
	if (t.dir->fixed)
		return -ENOENT; /* /proc's names are the kernel's (the source is then in /proc too: same st_dev) */
	if ((o.slash || t.slash) && !fs_is_dir(src))
		return -ENOTDIR;
	struct fs_node *dst = fs_dir_find(t.dir, t.name, t.len);
	if (dst == src)
		return 0;
	if (fs_is_dir(src)) {
		if (dst && !fs_is_dir(dst))
			return -ENOTDIR;
		if (dst && dst->nents)
			return -ENOTEMPTY;
		if (fs_is_ancestor(src, t.dir))
			return -EINVAL; /* a directory cannot move into itself */
	} else if (dst && fs_is_dir(dst)) {
		return -EISDIR;
	}
	if (t.dir != fs_root && t.dir->nlink == 0)
		return -ENOENT;
	/* Hold src while it has no name so the removal below cannot free it. */
	fs_node_get(src);
	if (dst)
		fs_dir_remove(t.dir, dst);
	fs_dir_remove(o.dir, src);
	rc = fs_dir_add(t.dir, t.name, t.len, src);
	if (rc && fs_dir_add(o.dir, o.name, o.len, src) != 0)
		k_printf("ukvm: rename: out of memory, file lost\n");
	src->ctime = k_clock_realtime_ns();
	fs_node_put(src);
	return rc;
}

long sys_rename(SYS_ARGS)
{
	return sys_renameat(AT_FDCWD, a0, AT_FDCWD, a1, 0, 0);
}

long sys_truncate(SYS_ARGS)
{
	if (a1 < 0)
		return -EINVAL;
	struct fs_node *n;
	int rc = path_node(AT_FDCWD, a0, &n);
	if (rc)
		return rc;
	if (fs_is_dir(n))
		return -EISDIR;
	if ((n->mode & S_IFMT) != S_IFREG)
		return -EINVAL;
	return fs_reg_truncate(n, (uint64_t)a1);
}

long sys_ftruncate(SYS_ARGS)
{
	if (a1 < 0)
		return -EINVAL;
	struct fs_file *f = a0 < 0 || a0 >= FS_MAX_FDS ? NULL : fs_fd_file((int)a0);
	if (!f || (f->flags & O_PATH))
		return -EBADF;
	if ((f->node->mode & S_IFMT) != S_IFREG || (f->flags & O_ACCMODE) == O_RDONLY)
		return -EINVAL;
	return fs_reg_truncate(f->node, (uint64_t)a1);
}

/* Memory files are always "on disk"; a disk FLUSHes; pipes and the tty cannot be synced (Linux: EINVAL). */
long sys_fsync(SYS_ARGS)
{
	struct fs_file *f = a0 < 0 || a0 >= FS_MAX_FDS ? NULL : fs_fd_file((int)a0);
	if (!f)
		return -EBADF;
	return fs_file_fsync(f);
}

long sys_fdatasync(SYS_ARGS)
{
	return sys_fsync(a0, 0, 0, 0, 0, 0);
}

long sys_umask(SYS_ARGS)
{
	uint32_t old = fs_umask;
	fs_umask = (uint32_t)a0 & 0777;
	return old;
}

static long path_chdir_to(struct fs_node *n)
{
	if (!fs_is_dir(n))
		return -ENOTDIR;
	fs_node_get(n);
	fs_node_put(fs_cwd);
	fs_cwd = n;
	return 0;
}

long sys_chdir(SYS_ARGS)
{
	struct fs_node *n;
	int rc = path_node(AT_FDCWD, a0, &n);
	if (rc)
		return rc;
	return path_chdir_to(n);
}

long sys_fchdir(SYS_ARGS)
{
	struct fs_file *f = a0 < 0 || a0 >= FS_MAX_FDS ? NULL : fs_fd_file((int)a0);
	if (!f)
		return -EBADF;
	return path_chdir_to(f->node);
}

long sys_getcwd(SYS_ARGS)
{
	char *buf = (char *)a0;
	size_t size = (size_t)a1;
	if (size == 0)
		return -ERANGE;
	if (size > LINUX_PATH_MAX)
		size = LINUX_PATH_MAX;
	if (!k_user_ok(buf, size))
		return -EFAULT;
	return fs_path_of(fs_cwd, buf, size);
}

/* The node an fd-or-path call names: path NULL (or "" with AT_EMPTY_PATH) means dirfd itself. */
static int path_node_at(long dirfd, long upath, long flags, struct fs_node **out)
{
	if (!upath || ((flags & AT_EMPTY_PATH) && k_user_ok((const char *)upath, 1) && *(const char *)upath == 0)) {
		if (!upath && (int)dirfd == AT_FDCWD)
			return -EFAULT; /* Linux: a NULL path needs a real fd */
		return fs_dirfd_node(dirfd, out);
	}
	return path_node_flags(dirfd, upath, flags, out);
}

/* Every user is root: any mode bits may be set; the file type stays. */
static long path_chmod(struct fs_node *n, long mode)
{
	n->mode = (n->mode & S_IFMT) | ((uint32_t)mode & 07777);
	n->ctime = k_clock_realtime_ns();
	return 0;
}

long sys_fchmodat(SYS_ARGS)
{
	struct fs_node *n;
	int rc = path_node(a0, a1, &n);
	return rc ? rc : path_chmod(n, a2);
}

long sys_chmod(SYS_ARGS)
{
	return sys_fchmodat(AT_FDCWD, a0, a1, 0, 0, 0);
}

long sys_fchmod(SYS_ARGS)
{
	struct fs_file *f = a0 < 0 || a0 >= FS_MAX_FDS ? NULL : fs_fd_file((int)a0);
	if (!f || (f->flags & O_PATH))
		return -EBADF;
	return path_chmod(f->node, a1);
}

/* uid/gid (uint32_t)-1 leave that one as it is; root may give a file to anyone. */
static long path_chown(struct fs_node *n, long uid, long gid)
{
	if ((uint32_t)uid != UINT32_MAX)
		n->uid = (uint32_t)uid;
	if ((uint32_t)gid != UINT32_MAX)
		n->gid = (uint32_t)gid;
	n->ctime = k_clock_realtime_ns();
	return 0;
}

long sys_fchownat(SYS_ARGS)
{
	if (a4 & ~(long)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	struct fs_node *n;
	int rc = a4 & AT_EMPTY_PATH ? path_node_at(a0, a1, a4, &n) : path_node_flags(a0, a1, a4, &n);
	return rc ? rc : path_chown(n, a2, a3);
}

long sys_chown(SYS_ARGS)
{
	return sys_fchownat(AT_FDCWD, a0, a1, a2, 0, 0);
}

long sys_lchown(SYS_ARGS)
{
	return sys_fchownat(AT_FDCWD, a0, a1, a2, AT_SYMLINK_NOFOLLOW, 0);
}

long sys_fchown(SYS_ARGS)
{
	struct fs_file *f = a0 < 0 || a0 >= FS_MAX_FDS ? NULL : fs_fd_file((int)a0);
	if (!f || (f->flags & O_PATH))
		return -EBADF;
	return path_chown(f->node, a1, a2);
}

#define PATH_UTIME_NOW ((1l << 30) - 1)
#define PATH_UTIME_OMIT ((1l << 30) - 2)

/* One utimensat timestamp: 0 and *ns (or *set false for UTIME_OMIT), or -EINVAL. */
static int path_utime(const struct lx_timespec *t, uint64_t now, uint64_t *ns, bool *set)
{
	*set = true;
	if (t->tv_nsec == PATH_UTIME_OMIT) {
		*set = false;
		return 0;
	}
	if (t->tv_nsec == PATH_UTIME_NOW) {
		*ns = now;
		return 0;
	}
	if (t->tv_nsec < 0 || t->tv_nsec >= 1000000000l)
		return -EINVAL;
	/* Before the epoch or beyond 2554 does not fit our unsigned ns: refuse rather than wrap. */
	if (t->tv_sec < 0 || (uint64_t)t->tv_sec > (UINT64_MAX - 999999999u) / 1000000000u)
		return -EINVAL;
	*ns = (uint64_t)t->tv_sec * 1000000000u + (uint64_t)t->tv_nsec;
	return 0;
}

/* utimensat(dirfd, path, times[2], flags): times NULL means now; a NULL path is dirfd itself (futimens). */
long sys_utimensat(SYS_ARGS)
{
	const struct lx_timespec *ts = (const struct lx_timespec *)a2;
	if (a3 & ~(long)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	uint64_t now = k_clock_realtime_ns(), at = now, mt = now;
	bool set_a = true, set_m = true;
	if (ts) {
		if (!k_user_ok(ts, 2 * sizeof(*ts)))
			return -EFAULT;
		int rc = path_utime(&ts[0], now, &at, &set_a);
		if (!rc)
			rc = path_utime(&ts[1], now, &mt, &set_m);
		if (rc)
			return rc;
	}
	struct fs_node *n;
	int rc = path_node_at(a0, a1, a3, &n);
	if (rc)
		return rc;
	if (set_a)
		n->atime = at;
	if (set_m)
		n->mtime = mt;
	n->ctime = now;
	return 0;
}
