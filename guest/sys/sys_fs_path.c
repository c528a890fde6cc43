/* sys_fs_path.c: file syscalls that change the tree or the cwd: mkdir, rmdir, unlink, rename, truncate, chdir, getcwd, umask, fsync. */
#include <string.h>
#include "k.h"
#include "fs.h"
#include "sys.h"
#include "blkdev.h"

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

long sys_mkdirat(SYS_ARGS)
{
	struct fs_last l;
	int rc = path_parent(a0, a1, &l);
	if (rc)
		return rc;
	if (l.len == 0 || fs_name_is_dot(l.name, l.len) || fs_dir_find(l.dir, l.name, l.len))
		return -EEXIST;
	if (l.dir != fs_root && l.dir->nlink == 0)
		return -ENOENT; /* parent was removed */
	struct fs_node *n = fs_node_new(S_IFDIR | ((uint32_t)a2 & 07777 & ~fs_umask));
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
	struct fs_node *src = fs_dir_find(o.dir, o.name, o.len);
	if (!src)
		return -ENOENT;
	if (t.len > LINUX_NAME_MAX)
		return -ENAMETOOLONG;
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
	src->ctime = k_realtime_ns();
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

/* Memory files are always "on disk": syncing them is done; pipes and the tty cannot be synced (Linux: EINVAL). */
long sys_fsync(SYS_ARGS)
{
	struct fs_file *f = a0 < 0 || a0 >= FS_MAX_FDS ? NULL : fs_fd_file((int)a0);
	if (!f)
		return -EBADF;
	uint32_t type = f->node->mode & S_IFMT;
	if (type == S_IFBLK)
		return fs_blk_sync(f); /* virtio-blk FLUSH: durable on the host before we return */
	return type == S_IFREG || type == S_IFDIR ? 0 : -EINVAL;
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
