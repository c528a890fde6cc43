/* sys_fs_link.c: file syscalls that add names (symlink, link, mknod for FIFOs) and whole-file-system answers (statfs, fadvise64). */
#include <string.h>
#include <linux/magic.h>
#include "k.h"
#include "fs.h"
#include "pages.h"
#include "sys.h"
#include "linux_abi.h"

static struct fs_file *link_file(long fd)
{
	return fd < 0 || fd >= FS_MAX_FDS ? NULL : fs_fd_file((int)fd);
}

/*
 * Where a new name goes (Linux's filename_create): its parent and last
 * component. -EEXIST when the name exists (or is "/", "." or ".."),
 * -ENOENT for a trailing slash (a name that asks for a directory) or a
 * removed parent, or a lookup error.
 */
static int link_new_name(long dirfd, long upath, struct fs_last *l)
{
	const char *path;
	struct fs_node *start;
	int rc = fs_user_at(dirfd, upath, &path, &start);
	if (!rc)
		rc = fs_lookup_parent(start, path, l);
	if (rc)
		return rc;
	if (l->len == 0 || fs_name_is_dot(l->name, l->len) || fs_dir_find(l->dir, l->name, l->len))
		return -EEXIST;
	if (l->slash || (l->dir != fs_root && l->dir->nlink == 0) || l->dir->fixed)
		return -ENOENT;
	return 0;
}

/* Names n (a new node) at l; frees it when that fails. */
static long link_add_new(const struct fs_last *l, struct fs_node *n)
{
	if (!n)
		return -ENOMEM;
	int rc = fs_dir_add(l->dir, l->name, l->len, n);
	if (rc)
		fs_node_destroy(n);
	return rc;
}

/* symlinkat(target, newdirfd, linkpath): the target is any non-empty string, never looked at now. */
long sys_symlinkat(SYS_ARGS)
{
	const char *target;
	int rc = fs_user_path(a0, &target);
	if (rc)
		return rc;
	if (target[0] == '\0')
		return -ENOENT;
	struct fs_last l;
	rc = link_new_name(a1, a2, &l);
	if (rc)
		return rc;
	return link_add_new(&l, fs_symlink_new(target, strlen(target)));
}

long sys_symlink(SYS_ARGS)
{
	return sys_symlinkat(a0, AT_FDCWD, a1, 0, 0, 0);
}

/*
 * linkat(olddirfd, oldpath, newdirfd, newpath, flags): another name for a
 * node. A symbolic link is linked itself unless AT_SYMLINK_FOLLOW;
 * AT_EMPTY_PATH links olddirfd's node. Errors in Linux's order (do_linkat,
 * vfs_link): the old name's, the new name's, -EPERM for a directory,
 * -ENOENT for a node no directory names any more.
 */
long sys_linkat(SYS_ARGS)
{
	if (a4 & ~(long)(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	const char *path;
	int rc = fs_user_path(a1, &path);
	if (rc)
		return rc;
	struct fs_node *old, *start;
	if (path[0] == '\0' && (a4 & AT_EMPTY_PATH)) {
		rc = fs_dirfd_node(a0, &old);
	} else {
		rc = fs_at_start((int)a0, path, &start);
		if (!rc)
			rc = a4 & AT_SYMLINK_FOLLOW ? fs_lookup(start, path, &old) : fs_lookup_nofollow(start, path, &old);
	}
	if (rc)
		return rc;
	struct fs_last l;
	rc = link_new_name(a2, a3, &l);
	if (rc)
		return rc;
	if (old->st_dev != l.dir->st_dev)
		return -EXDEV;
	if (fs_is_dir(old))
		return -EPERM;
	if (old->nlink == 0)
		return -ENOENT;
	rc = fs_dir_add(l.dir, l.name, l.len, old);
	if (!rc)
		old->ctime = l.dir->mtime;
	return rc;
}

long sys_link(SYS_ARGS)
{
	return sys_linkat(AT_FDCWD, a0, AT_FDCWD, a1, 0, 0);
}

/* Opening a socket's name is -ENXIO, as on Linux (a socket is reached by connect). */
static int link_sock_open(struct fs_file *f)
{
	(void)f;
	return -ENXIO;
}

static const struct fs_file_ops link_sock_fops = { .open = link_sock_open };

/*
 * mknodat(dirfd, path, mode, dev): regular files, FIFOs and socket names.
 * Character and block devices are refused with -EPERM: the devices are
 * /dev's, there is no driver behind another number. The type is checked
 * before the path, as Linux's may_mknod.
 */
long sys_mknodat(SYS_ARGS)
{
	uint32_t mode = (uint32_t)a2, type = mode & S_IFMT;
	switch (type) {
	case 0:
	case S_IFREG:
	case S_IFIFO:
	case S_IFSOCK:
	case S_IFCHR:
	case S_IFBLK:
		break;
	case S_IFDIR:
		return -EPERM;
	default:
		return -EINVAL;
	}
	struct fs_last l;
	int rc = link_new_name(a0, a1, &l);
	if (rc)
		return rc;
	uint32_t perm = mode & 07777 & ~fs_umask;
	switch (type) {
	case 0:
	case S_IFREG:
		return link_add_new(&l, fs_reg_new(S_IFREG | perm));
	case S_IFIFO:
		return link_add_new(&l, fs_fifo_new(S_IFIFO | perm));
	case S_IFSOCK:
		return link_add_new(&l, fs_node_new(S_IFSOCK | perm, &link_sock_fops));
	}
	return -EPERM;
}

long sys_mknod(SYS_ARGS)
{
	return sys_mknodat(AT_FDCWD, a0, a1, a2, 0, 0);
}

/*
 * statfs(2)'s answer for the file system n lives in. The memory file
 * system answers as tmpfs: its blocks are guest RAM's pages and the free
 * ones what the page allocator has free (files live in kernel memory, so
 * that is what they can still grow into); it has as many inodes as
 * blocks (an inode takes less than a page). The kernel's internal file
 * systems (pipes, sockets, anonymous files, /proc, /sys) answer as Linux's
 * simple_statfs.
 */
static void link_statfs_fill(const struct fs_node *n, struct lx_statfs *sf)
{
	memset(sf, 0, sizeof(*sf));
	sf->f_bsize = sf->f_frsize = FS_BLKSIZE;
	sf->f_namelen = LINUX_NAME_MAX;
	sf->f_flags = LX_ST_VALID;
	switch (n->st_dev) {
	case FS_DEV_PIPE:
		sf->f_type = PIPEFS_MAGIC;
		return;
	case FS_DEV_SOCK:
		sf->f_type = SOCKFS_MAGIC;
		return;
	case FS_DEV_ANON:
		sf->f_type = ANON_INODE_FS_MAGIC;
		return;
	case FS_DEV_PROC:
		sf->f_type = PROC_SUPER_MAGIC;
		return;
	case FS_DEV_SYS:
		sf->f_type = SYSFS_MAGIC;
		return;
	}
	uint64_t total, free;
	k_pages_stats(&total, &free);
	sf->f_type = TMPFS_MAGIC;
	sf->f_blocks = sf->f_files = (long)(total / FS_BLKSIZE);
	sf->f_bfree = sf->f_bavail = sf->f_ffree = (long)(free / FS_BLKSIZE);
	sf->f_flags |= LX_ST_RELATIME;
}

static long link_statfs_to_user(const struct fs_node *n, long ubuf)
{
	struct lx_statfs *sf = (struct lx_statfs *)ubuf;
	if (!k_user_ok(sf, sizeof(*sf)))
		return -EFAULT;
	link_statfs_fill(n, sf);
	return 0;
}

long sys_statfs(SYS_ARGS)
{
	const char *path;
	struct fs_node *start, *n;
	int rc = fs_user_at(AT_FDCWD, a0, &path, &start);
	if (!rc)
		rc = fs_lookup(start, path, &n);
	return rc ? rc : link_statfs_to_user(n, a1);
}

/* An O_PATH file will do, as on Linux. */
long sys_fstatfs(SYS_ARGS)
{
	struct fs_file *f = link_file(a0);
	return f ? link_statfs_to_user(f->node, a1) : -EBADF;
}

/*
 * fadvise64(fd, offset, len, advice): memory files are always in memory,
 * so every valid advice is taken and does nothing (as on tmpfs, whose
 * mapping has no readahead); the checks are Linux's generic_fadvise.
 */
long sys_fadvise64(SYS_ARGS)
{
	struct fs_file *f = link_file(a0);
	if (!f || (f->flags & O_PATH))
		return -EBADF;
	if ((f->node->mode & S_IFMT) == S_IFIFO)
		return -ESPIPE;
	if (a2 < 0 || a3 < 0 || a3 > LX_POSIX_FADV_NOREUSE)
		return -EINVAL;
	return 0;
}
