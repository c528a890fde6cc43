/* node.c: inodes, directory entries, symbolic links and regular-file data (copy-on-write over the archive). */
#include <string.h>
#include "k.h"
#include "fs.h"

static uint64_t node_next_ino = 1;

struct fs_node *fs_node_new(uint32_t mode, const struct fs_file_ops *fops)
{
	struct fs_node *n = k_calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->mode = mode;
	n->fops = fops;
	n->ino = node_next_ino++;
	n->atime = n->mtime = n->ctime = k_clock_realtime_ns();
	return n;
}

static void node_free(struct fs_node *n)
{
	fs_reg_release(n); /* a memory file's pages (none for every other node) */
	if (!n->borrowed)
		k_free(n->data); /* NULL unless some kind of node keeps its own bytes there */
	for (uint32_t i = 0; i < n->nents; i++)
		k_free(n->ents[i].name);
	k_free(n->ents);
	k_free(n->link);
	if (n->jump)
		fs_node_put(n->jump);
	k_free(n);
}

void fs_node_get(struct fs_node *n)
{
	n->refs++;
}

void fs_node_put(struct fs_node *n)
{
	if (--n->refs == 0 && n->nlink == 0 && n != fs_root)
		node_free(n);
}

/* Drops every magic link's target in n's subtree first, so none is put after the tree freed it. */
static void node_unjump(struct fs_node *n)
{
	for (uint32_t i = 0; i < n->nents; i++)
		node_unjump(n->ents[i].node);
	if (n->jump)
		fs_node_put(n->jump);
	n->jump = NULL;
}

static void node_destroy(struct fs_node *n)
{
	for (uint32_t i = 0; i < n->nents; i++)
		node_destroy(n->ents[i].node);
	node_free(n);
}

void fs_node_destroy(struct fs_node *n)
{
	node_unjump(n);
	node_destroy(n);
}

void fs_node_touch(struct fs_node *n)
{
	n->mtime = n->ctime = k_clock_realtime_ns();
}

static struct fs_node *dir_find(const struct fs_node *dir, const char *name, size_t len)
{
	for (uint32_t i = 0; i < dir->nents; i++) {
		const char *e = dir->ents[i].name;
		if (strncmp(e, name, len) == 0 && e[len] == '\0')
			return dir->ents[i].node;
	}
	return NULL;
}

struct fs_node *fs_dir_find(struct fs_node *dir, const char *name, size_t len)
{
	if (dir->refresh)
		dir->refresh(dir); /* a directory made when looked at (procfs's fd/) */
	return dir_find(dir, name, len);
}

int fs_dir_add(struct fs_node *dir, const char *name, size_t len, struct fs_node *child)
{
	if (len > LINUX_NAME_MAX)
		return -ENAMETOOLONG;
	if (dir_find(dir, name, len))
		return -EEXIST;
	if (dir->nents == dir->ents_cap) {
		uint32_t cap = dir->ents_cap ? dir->ents_cap * 2 : 8;
		struct fs_dirent *e = k_realloc(dir->ents, (size_t)cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		dir->ents = e;
		dir->ents_cap = cap;
	}
	char *copy = k_malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, name, len);
	copy[len] = '\0';
	dir->ents[dir->nents].name = copy;
	dir->ents[dir->nents].node = child;
	dir->nents++;
	child->nlink++;
	if ((child->mode & S_IFMT) == S_IFDIR)
		child->parent = dir;
	fs_node_touch(dir);
	return 0;
}

int fs_dir_remove(struct fs_node *dir, struct fs_node *child)
{
	for (uint32_t i = 0; i < dir->nents; i++) {
		if (dir->ents[i].node != child)
			continue;
		k_free(dir->ents[i].name);
		/* Keep insertion order so getdents positions of the others move by at most one. */
		memmove(&dir->ents[i], &dir->ents[i + 1], (dir->nents - i - 1) * sizeof(dir->ents[0]));
		dir->nents--;
		fs_node_touch(dir);
		child->ctime = dir->mtime;
		if ((child->mode & S_IFMT) == S_IFDIR)
			child->parent = NULL;
		child->nlink--;
		if (child->nlink == 0 && child->refs == 0)
			node_free(child);
		return 0;
	}
	return -ENOENT;
}

const char *fs_dir_name_of(const struct fs_node *dir, const struct fs_node *child)
{
	for (uint32_t i = 0; i < dir->nents; i++)
		if (dir->ents[i].node == child)
			return dir->ents[i].name;
	return NULL;
}

uint64_t fs_node_nlink(const struct fs_node *n)
{
	if ((n->mode & S_IFMT) != S_IFDIR)
		return n->nlink;
	if (n != fs_root && n->nlink == 0)
		return 0; /* removed directory */
	uint64_t links = 2;
	for (uint32_t i = 0; i < n->nents; i++)
		if ((n->ents[i].node->mode & S_IFMT) == S_IFDIR)
			links++;
	return links;
}

/* ---- file operations of memory files and directories ---- */

static long reg_read(struct fs_file *f, void *buf, size_t len, uint64_t *off)
{
	long r = fs_reg_read(f->node, buf, len, off ? *off : f->off);
	if (r > 0 && !off)
		f->off += (uint64_t)r;
	return r;
}

static long reg_write(struct fs_file *f, const void *buf, size_t len, uint64_t *off)
{
	struct fs_node *n = f->node;
	/* Linux: pwrite on an O_APPEND file appends too. */
	uint64_t pos = (f->flags & O_APPEND) ? n->size : off ? *off : f->off;
	long r = fs_reg_write(n, buf, len, pos);
	if (r > 0 && !off)
		f->off = pos + (uint64_t)r;
	return r;
}

static long reg_lseek(struct fs_file *f, int64_t off, int whence)
{
	struct fs_node *n = f->node;
	if (whence == SEEK_DATA || whence == SEEK_HOLE) {
		/* Memory files have no holes: data runs from 0 to size, the only hole is at size. */
		if (off < 0 || (uint64_t)off >= n->size)
			return -ENXIO;
		f->off = whence == SEEK_DATA ? (uint64_t)off : n->size;
		return (long)f->off;
	}
	return fs_file_seek_to(f, off, whence, n->size, INT64_MAX);
}

static long reg_ioctl(struct fs_file *f, unsigned long req, long arg)
{
	int *ip = (int *)arg;
	if (req != FIONREAD)
		return -ENOTTY;
	uint64_t avail = f->off < f->node->size ? f->node->size - f->off : 0;
	if (!k_user_ok(ip, sizeof(int)))
		return -EFAULT;
	*ip = avail > INT32_MAX ? INT32_MAX : (int)avail;
	return 0;
}

/* Memory files are always "on disk": syncing them is done. */
static int reg_fsync(struct fs_file *f)
{
	(void)f;
	return 0;
}

/* No poll hook: a memory file is always ready, as Linux's regular files are. */
static const struct fs_file_ops reg_fops = {
	.caps = FS_CAP_PIO | FS_CAP_MMAP,
	.read = reg_read,
	.write = reg_write,
	.lseek = reg_lseek,
	.ioctl = reg_ioctl,
	.fsync = reg_fsync,
};

static long dir_read(struct fs_file *f, void *buf, size_t len, uint64_t *off)
{
	(void)f, (void)buf, (void)len, (void)off;
	return -EISDIR;
}

static long dir_write(struct fs_file *f, const void *buf, size_t len, uint64_t *off)
{
	(void)f, (void)buf, (void)len, (void)off;
	return -EISDIR;
}

/* The offset is a getdents64 position; SEEK_END counts from 0 as Linux's memory file systems do. */
static long dir_lseek(struct fs_file *f, int64_t off, int whence)
{
	return fs_file_seek_to(f, off, whence, f->node->size, INT64_MAX);
}

static const struct fs_file_ops dir_fops = {
	.caps = FS_CAP_PIO,
	.read = dir_read,
	.write = dir_write,
	.lseek = dir_lseek,
	.fsync = reg_fsync,
};

bool fs_reg_is_mem(const struct fs_node *n)
{
	return n->fops == &reg_fops;
}

struct fs_node *fs_reg_new(uint32_t mode)
{
	return fs_node_new(mode, &reg_fops);
}

struct fs_node *fs_dir_new(uint32_t mode)
{
	return fs_node_new(mode, &dir_fops);
}

/* Only an O_PATH | O_NOFOLLOW open reaches a symbolic link, and the VFS refuses I/O on O_PATH files. */
static const struct fs_file_ops link_fops = { .caps = 0 };

struct fs_node *fs_symlink_new(const char *target, size_t len)
{
	char *t = k_malloc(len + 1);
	struct fs_node *n = t ? fs_node_new(S_IFLNK | 0777, &link_fops) : NULL;
	if (!n) {
		k_free(t);
		return NULL;
	}
	memcpy(t, target, len);
	t[len] = '\0';
	n->link = t;
	n->size = len;
	return n;
}
