/* file.c: open file descriptions, the fd table, and the calls into each file's operations. */
#include <string.h>
#include "k.h"
#include "epoll.h"
#include "fs.h"

struct fd_slot {
	struct fs_file *file;
	bool cloexec;
};

static struct fd_slot fd_table[FS_MAX_FDS];
/* RLIMIT_NOFILE's soft limit, capped at the table's size: no new fd at or above it. */
static int fd_limit = FS_MAX_FDS;

void fs_fd_set_limit(uint64_t n)
{
	fd_limit = n < FS_MAX_FDS ? (int)n : FS_MAX_FDS;
}

int fs_fd_limit(void)
{
	return fd_limit;
}

/* What a reserved slot holds (fs_fd_reserve): taken for fs_fd_install, no file for anyone else. */
static struct fs_file fd_reserved;

struct fs_file *fs_file_new(struct fs_node *node, uint32_t flags)
{
	struct fs_file *f = k_calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->ops = node->fops;
	f->node = node;
	f->flags = flags;
	f->refs = 1;
	fs_node_get(node);
	return f;
}

int fs_file_open(struct fs_node *node, uint32_t flags, struct fs_file **out)
{
	struct fs_file *f = fs_file_new(node, flags);
	if (!f)
		return -ENOMEM;
	int rc = f->ops->open ? f->ops->open(f) : 0;
	if (rc) {
		/* Nobody else saw f (not installed): the hook undid its part, so no release. */
		fs_node_put(node);
		k_free(f);
		return rc;
	}
	*out = f;
	return 0;
}

void fs_file_get(struct fs_file *f)
{
	f->refs++;
}

void fs_file_put(struct fs_file *f)
{
	if (--f->refs)
		return;
	if (f->ep_items)
		fs_epoll_file_gone(f); /* Linux's eventpoll_release: epoll items go with the description, not an fd */
	if (f->ops->release)
		f->ops->release(f);
	fs_node_put(f->node);
	k_free(f);
}

int fs_fd_install(struct fs_file *f, int min, bool cloexec)
{
	/* Linux: F_DUPFD at or above the limit is EINVAL, running out below it EMFILE. */
	if (min < 0 || min >= FS_MAX_FDS || (min > 0 && min >= fd_limit))
		return -EINVAL;
	for (int fd = min; fd < fd_limit; fd++) {
		if (!fd_table[fd].file) {
			fd_table[fd].file = f;
			fd_table[fd].cloexec = cloexec;
			return fd;
		}
	}
	return -EMFILE;
}

struct fs_file *fs_fd_file(int fd)
{
	if (fd < 0 || fd >= FS_MAX_FDS || fd_table[fd].file == &fd_reserved)
		return NULL;
	return fd_table[fd].file;
}

int fs_fd_reserve(int min)
{
	return fs_fd_install(&fd_reserved, min, false);
}

void fs_fd_commit(int fd, struct fs_file *f, bool cloexec)
{
	fd_table[fd].file = f;
	fd_table[fd].cloexec = f && cloexec;
}

int fs_fd_close(int fd)
{
	struct fs_file *f = fs_fd_file(fd);
	if (!f)
		return -EBADF;
	fd_table[fd].file = NULL;
	fd_table[fd].cloexec = false;
	fs_file_put(f);
	return 0;
}

int fs_fd_dup2(int oldfd, int newfd, bool cloexec)
{
	struct fs_file *f = fs_fd_file(oldfd);
	if (!f || newfd < 0 || newfd >= fd_limit)
		return -EBADF;
	if (fd_table[newfd].file == &fd_reserved)
		return -EBUSY; /* Linux: an fd an open in progress has claimed */
	fs_file_get(f);
	struct fs_file *old = fd_table[newfd].file;
	fd_table[newfd].file = f;
	fd_table[newfd].cloexec = cloexec;
	if (old)
		fs_file_put(old); /* after the swap: oldfd == newfd must not free f */
	return newfd;
}

int fs_fd_cloexec(int fd)
{
	if (!fs_fd_file(fd))
		return -EBADF;
	return fd_table[fd].cloexec ? 1 : 0;
}

int fs_fd_set_cloexec(int fd, bool on)
{
	if (!fs_fd_file(fd))
		return -EBADF;
	fd_table[fd].cloexec = on;
	return 0;
}

void fs_fd_close_all(void)
{
	for (int fd = 0; fd < FS_MAX_FDS; fd++) {
		if (fd_table[fd].file == &fd_reserved)
			fd_table[fd].file = NULL;
		if (fd_table[fd].file)
			fs_fd_close(fd);
	}
}

long fs_file_read(struct fs_file *f, void *buf, size_t len, uint64_t *off)
{
	if ((f->flags & O_PATH) || (f->flags & O_ACCMODE) == O_WRONLY)
		return -EBADF;
	if (off && !(f->ops->caps & FS_CAP_PIO))
		return -ESPIPE;
	return f->ops->read ? f->ops->read(f, buf, len, off) : -EINVAL;
}

long fs_file_write(struct fs_file *f, const void *buf, size_t len, uint64_t *off)
{
	if ((f->flags & O_PATH) || (f->flags & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	if (off && !(f->ops->caps & FS_CAP_PIO))
		return -ESPIPE;
	return f->ops->write ? f->ops->write(f, buf, len, off) : -EINVAL;
}

long fs_file_lseek(struct fs_file *f, int64_t off, int whence)
{
	return f->ops->lseek ? f->ops->lseek(f, off, whence) : -ESPIPE;
}

long fs_file_ioctl(struct fs_file *f, unsigned long req, long arg)
{
	return f->ops->ioctl ? f->ops->ioctl(f, req, arg) : -ENOTTY;
}

int fs_file_fsync(struct fs_file *f)
{
	return f->ops->fsync ? f->ops->fsync(f) : -EINVAL;
}

uint32_t fs_file_poll(struct fs_file *f, const void **key)
{
	const void *k = NULL;
	uint32_t mask = f->ops->poll ? f->ops->poll(f, &k) : FS_POLL_DEFAULT;
	if (key)
		*key = k;
	return mask;
}

long fs_file_seek_to(struct fs_file *f, int64_t off, int whence, uint64_t end, uint64_t max)
{
	int64_t base, pos;
	switch (whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = (int64_t)f->off;
		break;
	case SEEK_END:
		base = (int64_t)end;
		break;
	default:
		return -EINVAL;
	}
	/* Linux adds with wrap-around and then refuses the negative result: EINVAL either way. */
	if (__builtin_add_overflow(base, off, &pos) || pos < 0 || (uint64_t)pos > max)
		return -EINVAL;
	f->off = (uint64_t)pos;
	return (long)pos;
}

int fs_dirfd_node(long dirfd, struct fs_node **out)
{
	if ((int)dirfd == AT_FDCWD) {
		*out = fs_cwd;
		return 0;
	}
	struct fs_file *f = dirfd < 0 || dirfd >= FS_MAX_FDS ? NULL : fs_fd_file((int)dirfd);
	if (!f)
		return -EBADF;
	*out = f->node;
	return 0;
}

int fs_at_start(int dirfd, const char *path, struct fs_node **start)
{
	if (path[0] == '/') {
		*start = fs_cwd;
		return 0;
	}
	int rc = fs_dirfd_node(dirfd, start);
	if (rc)
		return rc;
	return fs_is_dir(*start) ? 0 : -ENOTDIR;
}

int fs_user_at(long dirfd, long upath, const char **path, struct fs_node **start)
{
	int rc = fs_user_path(upath, path);
	return rc ? rc : fs_at_start((int)dirfd, *path, start);
}

int fs_user_path(long uptr, const char **out)
{
	const char *s = (const char *)uptr;
	long len = k_user_strlen(s, LINUX_PATH_MAX);
	if (len < 0)
		return (int)len;
	*out = s;
	return 0;
}
