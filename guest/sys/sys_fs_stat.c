/* sys_fs_stat.c: file syscalls that report on nodes: stat family, statx, getdents64, access, readlink. */
#include <string.h>
#include "k.h"
#include "fs.h"
#include "sys.h"

/*
 * st_dev: the file system a node belongs to (fs_node.st_dev; 0 is the
 * memory file system, which Linux would number like this).
 */
#define STAT_DEV_FS LINUX_MKDEV(0, 1)
/* tmpfs's SHORT_SYMLINK_LEN: a target with its NUL up to this long lives in the inode, a longer one in a page. */
#define STAT_SHORT_LINK 128

static uint64_t stat_dev(const struct fs_node *n)
{
	return n->st_dev ? n->st_dev : STAT_DEV_FS;
}

/*
 * tmpfs's BOGO_DIRENT_SIZE: a directory's st_size is 20 per entry, "." and
 * ".." included, and it has no blocks.
 */
#define STAT_DIRENT_SIZE 20

/*
 * Memory files, symbolic links (the target's length) and disks have a size
 * (a disk reports its capacity; Linux says 0, but programs want it); a
 * directory has tmpfs's.
 */
static uint64_t stat_size(const struct fs_node *n)
{
	if (fs_is_dir(n))
		return (2 + (uint64_t)n->nents) * STAT_DIRENT_SIZE;
	return n->size;
}

/*
 * st_blocks (512-byte units) as tmpfs counts them: the pages a memory file
 * holds (holes take none), none for directories, devices and FIFOs; a
 * symbolic link's target shorter than 128 bytes lives in the inode, a
 * longer one takes a page. Other files (a disk) count their size.
 */
static uint64_t stat_blocks(const struct fs_node *n)
{
	uint32_t type = n->mode & S_IFMT;
	if (type == S_IFLNK)
		return n->size >= STAT_SHORT_LINK ? FS_BLKSIZE / 512 : 0;
	if (type != S_IFREG)
		return 0;
	if (fs_reg_is_mem(n))
		return fs_reg_blocks(n) * (FS_BLKSIZE / 512);
	return (n->size + 511) / 512;
}

static void stat_fill(const struct fs_node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = stat_dev(n);
	st->st_ino = n->ino;
	st->st_nlink = fs_node_nlink(n);
	st->st_mode = n->mode;
	st->st_uid = n->uid;
	st->st_gid = n->gid;
	st->st_rdev = n->dev ? LINUX_MKDEV(n->dev->major, n->dev->minor) : 0;
	st->st_size = (long)stat_size(n);
	st->st_blksize = FS_BLKSIZE;
	st->st_blocks = (long)stat_blocks(n);
	st->st_atime = n->atime / 1000000000u;
	st->st_atime_nsec = n->atime % 1000000000u;
	st->st_mtime = n->mtime / 1000000000u;
	st->st_mtime_nsec = n->mtime % 1000000000u;
	st->st_ctime = n->ctime / 1000000000u;
	st->st_ctime_nsec = n->ctime % 1000000000u;
}

/*
 * The node a *stat*(dirfd, path, flags) call names. AT_EMPTY_PATH with ""
 * (or NULL, as Linux 6.11 allows) names dirfd itself. AT_SYMLINK_NOFOLLOW:
 * a symbolic link as the last component is the answer (lstat).
 */
static int stat_resolve(long dirfd, long upath, long flags, struct fs_node **out)
{
	const char *path = "";
	if (!(flags & AT_EMPTY_PATH) || upath) {
		int rc = fs_user_path(upath, &path);
		if (rc)
			return rc;
	}
	if (path[0] == '\0') {
		if (!(flags & AT_EMPTY_PATH))
			return -ENOENT;
		return fs_dirfd_node(dirfd, out);
	}
	struct fs_node *start;
	int rc = fs_at_start((int)dirfd, path, &start);
	if (rc)
		return rc;
	return flags & AT_SYMLINK_NOFOLLOW ? fs_lookup_nofollow(start, path, out) : fs_lookup(start, path, out);
}

static long stat_to_user(const struct fs_node *n, long ubuf)
{
	struct stat *st = (struct stat *)ubuf;
	if (!k_user_ok(st, sizeof(*st)))
		return -EFAULT;
	stat_fill(n, st);
	return 0;
}

long sys_newfstatat(SYS_ARGS)
{
	if (a3 & ~(long)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT))
		return -EINVAL;
	struct fs_node *n;
	int rc = stat_resolve(a0, a1, a3, &n);
	if (rc)
		return rc;
	return stat_to_user(n, a2);
}

long sys_stat(SYS_ARGS)
{
	return sys_newfstatat(AT_FDCWD, a0, a1, 0, 0, 0);
}

long sys_lstat(SYS_ARGS)
{
	return sys_newfstatat(AT_FDCWD, a0, a1, AT_SYMLINK_NOFOLLOW, 0, 0);
}

long sys_fstat(SYS_ARGS)
{
	struct fs_file *f = a0 < 0 || a0 >= FS_MAX_FDS ? NULL : fs_fd_file((int)a0);
	if (!f)
		return -EBADF;
	return stat_to_user(f->node, a1);
}

static void statx_time(struct statx_timestamp *t, uint64_t ns)
{
	t->tv_sec = (int64_t)(ns / 1000000000u);
	t->tv_nsec = (uint32_t)(ns % 1000000000u);
}

long sys_statx(SYS_ARGS)
{
	long allowed = AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE;
	if ((a2 & ~allowed) || (a2 & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE)
		return -EINVAL;
	if ((uint32_t)a3 & STATX__RESERVED)
		return -EINVAL;
	struct fs_node *n;
	int rc = stat_resolve(a0, a1, a2, &n);
	if (rc)
		return rc;
	struct statx *sx = (struct statx *)a4;
	if (!k_user_ok(sx, sizeof(*sx)))
		return -EFAULT;
	memset(sx, 0, sizeof(*sx));
	sx->stx_mask = STATX_BASIC_STATS;
	sx->stx_blksize = FS_BLKSIZE;
	sx->stx_nlink = (uint32_t)fs_node_nlink(n);
	sx->stx_mode = (uint16_t)n->mode;
	sx->stx_uid = n->uid;
	sx->stx_gid = n->gid;
	sx->stx_ino = n->ino;
	sx->stx_size = stat_size(n);
	sx->stx_blocks = stat_blocks(n);
	statx_time(&sx->stx_atime, n->atime);
	statx_time(&sx->stx_mtime, n->mtime);
	statx_time(&sx->stx_ctime, n->ctime);
	if (n->dev) {
		sx->stx_rdev_major = n->dev->major;
		sx->stx_rdev_minor = n->dev->minor;
	}
	sx->stx_dev_major = (uint32_t)(stat_dev(n) >> 8);
	sx->stx_dev_minor = (uint32_t)(stat_dev(n) & 0xff);
	return 0;
}

/* Linux's S_DT(): the file type bits are the d_type (DT_FIFO 1, DT_CHR 2, DT_DIR 4, DT_BLK 6, DT_REG 8 ...). */
static uint8_t dirent_type(const struct fs_node *n)
{
	return (uint8_t)((n->mode & S_IFMT) >> 12);
}

/* Positions: 0 is ".", 1 is "..", 2 + i is entry i; d_off is the next position. */
long sys_getdents64(SYS_ARGS)
{
	struct fs_file *f = a0 < 0 || a0 >= FS_MAX_FDS ? NULL : fs_fd_file((int)a0);
	if (!f || (f->flags & O_PATH))
		return -EBADF;
	struct fs_node *dir = f->node;
	if ((dir->mode & S_IFMT) != S_IFDIR)
		return -ENOTDIR;
	size_t count = (size_t)(unsigned int)a2;
	uint8_t *out = (uint8_t *)a1;
	if (!k_user_ok(out, count))
		return -EFAULT;
	size_t used = 0;
	if (dir->refresh && f->off == 0)
		dir->refresh(dir);
	/* A removed directory lists nothing, as on Linux. */
	uint64_t end = dir == fs_root || dir->nlink ? 2 + (uint64_t)dir->nents : 0;
	for (uint64_t pos = f->off; pos < end; pos++) {
		const char *name;
		const struct fs_node *n;
		if (pos == 0) {
			name = ".";
			n = dir;
		} else if (pos == 1) {
			name = "..";
			n = dir->parent ? dir->parent : dir;
		} else {
			name = dir->ents[pos - 2].name;
			n = dir->ents[pos - 2].node;
		}
		size_t nlen = strlen(name);
		size_t hdr = offsetof(struct linux_dirent64, d_name);
		size_t reclen = (hdr + nlen + 1 + 7) & ~(size_t)7;
		if (reclen > count - used) {
			if (used == 0)
				return -EINVAL; /* buffer too small for one entry */
			break;
		}
		struct linux_dirent64 d = {
			.d_ino = n->ino, .d_off = (int64_t)(pos + 1), .d_reclen = (uint16_t)reclen, .d_type = dirent_type(n),
		};
		memcpy(out + used, &d, hdr);
		memcpy(out + used + hdr, name, nlen);
		memset(out + used + hdr + nlen, 0, reclen - hdr - nlen);
		used += reclen;
		f->off = pos + 1;
	}
	dir->atime = k_clock_realtime_ns();
	return (long)used;
}

long sys_faccessat2(SYS_ARGS)
{
	if (a2 & ~(long)(F_OK | R_OK | W_OK | X_OK))
		return -EINVAL;
	if (a3 & ~(long)(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	struct fs_node *n;
	int rc = stat_resolve(a0, a1, a3, &n);
	if (rc)
		return rc;
	/* We are root: reading and writing are always allowed, executing needs some x bit on a non-directory. */
	if ((a2 & X_OK) && (n->mode & S_IFMT) != S_IFDIR && !(n->mode & 0111))
		return -EACCES;
	return 0;
}

long sys_faccessat(SYS_ARGS)
{
	return sys_faccessat2(a0, a1, a2, 0, 0, 0);
}

long sys_access(SYS_ARGS)
{
	return sys_faccessat2(AT_FDCWD, a0, a1, 0, 0, 0);
}

/*
 * readlinkat(dirfd, path, buf, size): the target, truncated to size, no NUL.
 * An empty path names dirfd itself (an O_PATH | O_NOFOLLOW file of a link);
 * anything but a link is -EINVAL (-ENOENT for an empty path, as Linux 6.x).
 */
long sys_readlinkat(SYS_ARGS)
{
	if ((int)a3 <= 0)
		return -EINVAL;
	if (!a1)
		return -EFAULT;
	struct fs_node *n;
	int rc = stat_resolve(a0, a1, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH, &n);
	if (rc)
		return rc;
	if (!fs_is_link(n))
		return a1 && k_user_ok((const char *)a1, 1) && *(const char *)a1 == '\0' ? -ENOENT : -EINVAL;
	size_t len = n->size < (size_t)(int)a3 ? n->size : (size_t)(int)a3;
	if (!k_user_ok((void *)a2, len))
		return -EFAULT;
	memcpy((void *)a2, n->link, len);
	n->atime = k_clock_realtime_ns();
	return (long)len;
}

long sys_readlink(SYS_ARGS)
{
	return sys_readlinkat(AT_FDCWD, a0, a1, a2, 0, 0);
}
