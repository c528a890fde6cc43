/* sys_fs_path.c: file syscalls that change the tree or the cwd: mkdir, rmdir, unlink, rename, truncate, chdir, getcwd, umask, fsync. */
#include <string.h>
#include "k.h"
#include "fs.h"
#include "sys.h"
#include "blkdev.h"

static bool path_is_dot(const char *name, size_t len)
{
	return (len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.');
}

/* Resolves a path argument to its parent directory and last component. */
static int path_parent(long dirfd, long upath, struct fs_node **dir, const char **name, size_t *len, bool *slash)
{
	const char *path;
	struct fs_node *start;
	int rc = fs_user_path(upath, &path);
	if (rc)
		return rc;
	rc = fs_at_start((int)dirfd, path, &start);
	if (rc)
		return rc;
	return fs_lookup_parent(start, path, dir, name, len, slash);
}

static int path_node(long dirfd, long upath, struct fs_node **out)
{
	const char *path;
	struct fs_node *start;
	int rc = fs_user_path(upath, &path);
	if (rc)
		return rc;
	rc = fs_at_start((int)dirfd, path, &start);
	if (rc)
		return rc;
	return fs_lookup(start, path, out);
}

static bool path_isdir(const struct fs_node *n)
{
	return (n->mode & S_IFMT) == S_IFDIR;
}

long sys_mkdirat(SYS_ARGS)
{
	struct fs_node *dir;
	const char *name;
	size_t len;
	bool slash;
	int rc = path_parent(a0, a1, &dir, &name, &len, &slash);
	if (rc)
		return rc;
	if (len == 0 || path_is_dot(name, len) || fs_dir_find(dir, name, len))
		return -EEXIST;
	if (dir != fs_root && dir->nlink == 0)
		return -ENOENT; /* parent was removed */
	struct fs_node *n = fs_node_new(S_IFDIR | ((uint32_t)a2 & 07777 & ~fs_umask));
	if (!n)
		return -ENOMEM;
	rc = fs_dir_add(dir, name, len, n);
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
	struct fs_node *dir;
	const char *name;
	size_t len;
	bool slash;
	int rc = path_parent(dirfd, upath, &dir, &name, &len, &slash);
	if (rc)
		return rc;
	if (len == 0)
		return -EBUSY; /* "/" */
	if (len == 1 && name[0] == '.')
		return -EINVAL;
	if (path_is_dot(name, len))
		return -ENOTEMPTY;
	struct fs_node *n = fs_dir_find(dir, name, len);
	if (!n)
		return -ENOENT;
	if (!path_isdir(n))
		return -ENOTDIR;
	if (n->nents)
		return -ENOTEMPTY;
	return fs_dir_remove(dir, n);
}

static long path_unlink(long dirfd, long upath)
{
	struct fs_node *dir;
	const char *name;
	size_t len;
	bool slash;
	int rc = path_parent(dirfd, upath, &dir, &name, &len, &slash);
	if (rc)
		return rc;
	if (len == 0 || path_is_dot(name, len))
		return -EISDIR;
	struct fs_node *n = fs_dir_find(dir, name, len);
	if (!n)
		return -ENOENT;
	if (path_isdir(n))
		return -EISDIR;
	if (slash)
		return -ENOTDIR;
	return fs_dir_remove(dir, n);
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
	struct fs_node *odir, *ndir;
	const char *oname, *nname;
	size_t olen, nlen;
	bool oslash, nslash;
	int rc = path_parent(a0, a1, &odir, &oname, &olen, &oslash);
	if (rc)
		return rc;
	rc = path_parent(a2, a3, &ndir, &nname, &nlen, &nslash);
	if (rc)
		return rc;
	if (olen == 0 || nlen == 0 || path_is_dot(oname, olen) || path_is_dot(nname, nlen))
		return -EBUSY;
	struct fs_node *src = fs_dir_find(odir, oname, olen);
	if (!src)
		return -ENOENT;
	if (nlen > LINUX_NAME_MAX)
		return -ENAMETOOLONG;
	if ((oslash || nslash) && !path_isdir(src))
		return -ENOTDIR;
	struct fs_node *dst = fs_dir_find(ndir, nname, nlen);
	if (dst == src)
		return 0;
	if (path_isdir(src)) {
		if (dst && !path_isdir(dst))
			return -ENOTDIR;
		if (dst && dst->nents)
			return -ENOTEMPTY;
		if (fs_is_ancestor(src, ndir))
			return -EINVAL; /* a directory cannot move into itself */
	} else if (dst && path_isdir(dst)) {
		return -EISDIR;
	}
	if (ndir != fs_root && ndir->nlink == 0)
		return -ENOENT;
	/* Hold src while it has no name so the removal below cannot free it. */
	fs_node_get(src);
	if (dst)
		fs_dir_remove(ndir, dst);
	fs_dir_remove(odir, src);
	rc = fs_dir_add(ndir, nname, nlen, src);
	if (rc && fs_dir_add(odir, oname, olen, src) != 0)
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
	if (path_isdir(n))
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
	if (!path_isdir(n))
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
