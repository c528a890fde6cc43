/* blkdev.c: block device files /dev/vda, /dev/vdb ...: byte-granular I/O over sector drivers, ioctls, sync. */
#include <string.h>
#include "k.h"
#include "fs.h"
#include "blkdev.h"

/* <linux/fs.h> ioctl numbers (that header drags in more than a freestanding build wants). */
#define BLK_IOC_ROGET 0x125eul      /* int: 1 when read-only */
#define BLK_IOC_GETSIZE 0x1260ul    /* unsigned long: capacity in 512-byte sectors */
#define BLK_IOC_FLSBUF 0x1261ul     /* drop buffers: we keep none */
#define BLK_IOC_SSZGET 0x1268ul     /* int: logical sector size */
#define BLK_IOC_GETSIZE64 0x80081272ul /* uint64: capacity in bytes */
#define BLK_IOC_PBSZGET 0x127bul    /* unsigned int: physical block size */

/* The largest capacity whose byte size still fits an off_t (lseek, st_size). */
#define BLK_MAX_SECTORS ((uint64_t)INT64_MAX / FS_BLK_SECTOR)

struct fs_blk {
	struct fs_dev dev; /* first: a node's dev pointer leads back here */
	char name[4];
	const struct fs_blk_ops *ops;
	void *ctx;
	uint64_t sectors;
	bool ro;
};

static const struct fs_file_ops blk_fops;

static struct fs_blk blk_table[FS_BLK_MAX];
static unsigned blk_count;

int fs_blk_register(const struct fs_blk_ops *ops, void *ctx, uint64_t sectors, bool ro)
{
	if (blk_count >= FS_BLK_MAX)
		return -ENOSPC;
	unsigned i = blk_count++;
	struct fs_blk *b = &blk_table[i];
	memset(b, 0, sizeof(*b));
	b->name[0] = 'v';
	b->name[1] = 'd';
	b->name[2] = (char)('a' + i);
	b->dev.name = b->name;
	b->dev.major = FS_BLK_MAJOR;
	b->dev.minor = FS_BLK_MINORS * i;
	b->dev.fops = &blk_fops;
	b->ops = ops;
	b->ctx = ctx;
	b->sectors = sectors > BLK_MAX_SECTORS ? BLK_MAX_SECTORS : sectors;
	b->ro = ro;
	return (int)i;
}

void fs_blk_reset(void)
{
	memset(blk_table, 0, sizeof(blk_table));
	blk_count = 0;
}

int fs_blk_nodes(struct fs_node *dir)
{
	for (unsigned i = 0; i < blk_count; i++) {
		struct fs_blk *b = &blk_table[i];
		struct fs_node *n = fs_node_new(S_IFBLK | 0660, &blk_fops);
		if (!n)
			return -ENOMEM;
		n->dev = &b->dev;
		n->size = b->sectors * FS_BLK_SECTOR; /* st_size and SEEK_END, like a regular file */
		int rc = fs_dir_add(dir, b->name, strlen(b->name), n);
		if (rc) {
			fs_node_destroy(n);
			return rc;
		}
	}
	return 0;
}

static struct fs_blk *blk_of(const struct fs_node *n)
{
	if ((n->mode & S_IFMT) != S_IFBLK || !n->dev)
		return NULL;
	for (unsigned i = 0; i < blk_count; i++)
		if (n->dev == &blk_table[i].dev)
			return &blk_table[i];
	return NULL;
}

bool fs_blk_is(const struct fs_node *n)
{
	return blk_of(n) != NULL;
}

/*
 * One partial sector: read it, patch or copy out [in, in + n), write it back
 * for a write. The bounce sector is the calling thread's own, on its kernel
 * stack (guest RAM, so the driver can compute its address): the driver
 * blocks this thread while another may bounce its own edge. 512-aligned so a
 * host opening the disk with O_DIRECT can use it as is.
 */
static int blk_edge(struct fs_blk *b, uint64_t sector, uint32_t in, uint8_t *p, uint32_t n, bool wr)
{
	uint8_t bounce[FS_BLK_SECTOR] __attribute__((aligned(FS_BLK_SECTOR)));
	int rc = b->ops->rw(b->ctx, false, sector, bounce, 1);
	if (rc)
		return rc;
	if (!wr) {
		memcpy(p, bounce + in, n);
		return 0;
	}
	memcpy(bounce + in, p, n);
	return b->ops->rw(b->ctx, true, sector, bounce, 1);
}

/* Moves [pos, pos + len) (inside the disk): edges through the bounce sector, the aligned middle straight from buf. */
static int blk_xfer(struct fs_blk *b, uint64_t pos, uint8_t *p, uint64_t len, bool wr)
{
	uint32_t in = (uint32_t)(pos % FS_BLK_SECTOR);
	int rc;

	if (in) {
		uint32_t n = FS_BLK_SECTOR - in;
		if (n > len)
			n = (uint32_t)len;
		rc = blk_edge(b, pos / FS_BLK_SECTOR, in, p, n, wr);
		if (rc)
			return rc;
		pos += n;
		p += n;
		len -= n;
	}
	uint64_t nsect = len / FS_BLK_SECTOR;
	if (nsect) {
		rc = b->ops->rw(b->ctx, wr, pos / FS_BLK_SECTOR, p, nsect);
		if (rc)
			return rc;
		pos += nsect * FS_BLK_SECTOR;
		p += nsect * FS_BLK_SECTOR;
		len -= nsect * FS_BLK_SECTOR;
	}
	if (len)
		return blk_edge(b, pos / FS_BLK_SECTOR, 0, p, (uint32_t)len, wr);
	return 0;
}

static long blk_io(struct fs_file *f, void *buf, size_t len, uint64_t *off, bool wr)
{
	struct fs_blk *b = blk_of(f->node);
	if (!b)
		return -ENXIO; /* an S_IFBLK node of no registered disk */
	if (wr && b->ro)
		return -EROFS;
	uint64_t pos = off ? *off : f->off;
	uint64_t size = b->sectors * FS_BLK_SECTOR;
	if (len == 0)
		return 0;
	if (pos >= size)
		return wr ? -ENOSPC : 0;
	if (len > size - pos)
		len = (size_t)(size - pos);
	int rc = blk_xfer(b, pos, buf, len, wr);
	if (rc)
		return rc;
	if (!off)
		f->off = pos + len;
	return (long)len;
}

long fs_blk_read(struct fs_file *f, void *buf, size_t len, uint64_t *off)
{
	return blk_io(f, buf, len, off, false);
}

long fs_blk_write(struct fs_file *f, const void *buf, size_t len, uint64_t *off)
{
	/* The device only reads from buf on a write; the cast serves the shared read/write path. */
	return blk_io(f, (void *)(uintptr_t)buf, len, off, true);
}

int fs_blk_sync(struct fs_file *f)
{
	struct fs_blk *b = blk_of(f->node);
	if (!b)
		return -EINVAL;
	return b->ops->flush ? b->ops->flush(b->ctx) : 0;
}

/* Stores v (size bytes) at the app's arg: 0 or -EFAULT. */
static long blk_put(long arg, const void *v, size_t size)
{
	void *p = (void *)arg;
	if (!k_user_ok(p, size))
		return -EFAULT;
	memcpy(p, v, size);
	return 0;
}

long fs_blk_ioctl(struct fs_file *f, unsigned long req, long arg)
{
	struct fs_blk *b = blk_of(f->node);
	if (!b)
		return -ENOTTY;
	switch (req) {
	case BLK_IOC_GETSIZE64: {
		uint64_t v = b->sectors * FS_BLK_SECTOR;
		return blk_put(arg, &v, sizeof(v));
	}
	case BLK_IOC_GETSIZE: {
		unsigned long v = b->sectors;
		return blk_put(arg, &v, sizeof(v));
	}
	case BLK_IOC_SSZGET: {
		int v = FS_BLK_SECTOR;
		return blk_put(arg, &v, sizeof(v));
	}
	case BLK_IOC_PBSZGET: {
		unsigned int v = FS_BLK_SECTOR;
		return blk_put(arg, &v, sizeof(v));
	}
	case BLK_IOC_ROGET: {
		int v = b->ro;
		return blk_put(arg, &v, sizeof(v));
	}
	case BLK_IOC_FLSBUF:
		return 0; /* no page cache: every read goes to the device */
	}
	return -ENOTTY;
}

/* Linux's blkdev_llseek: a disk cannot seek past its end (SEEK_DATA/SEEK_HOLE: -EINVAL). */
static long blk_lseek(struct fs_file *f, int64_t off, int whence)
{
	return fs_file_seek_to(f, off, whence, f->node->size, f->node->size);
}

/* O_APPEND means nothing to a disk, as on Linux; no poll hook: a disk is always ready. */
static const struct fs_file_ops blk_fops = {
	.caps = FS_CAP_PIO | FS_CAP_MMAP | FS_CAP_GATHER,
	.read = fs_blk_read,
	.write = fs_blk_write,
	.lseek = blk_lseek,
	.ioctl = fs_blk_ioctl,
	.fsync = fs_blk_sync,
};
