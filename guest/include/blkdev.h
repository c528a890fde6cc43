/* blkdev.h: block device files /dev/vda, /dev/vdb ... (guest/fs/blkdev.c) over sector drivers (guest/drivers). */
#ifndef BLKDEV_H
#define BLKDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fs_file;
struct fs_node;

#define FS_BLK_MAX 26       /* vda .. vdz */
#define FS_BLK_MAJOR 254    /* what Linux's virtio_blk usually gets (dynamic major) */
#define FS_BLK_MINORS 16    /* minor = 16 * index, as virtio_blk numbers whole disks */
#define FS_BLK_SECTOR 512u

/* What a driver provides. Both are synchronous: they return once the device has answered. */
struct fs_blk_ops {
	/*
	 * Moves nsect (>= 1) 512-byte sectors starting at sector between the
	 * device and buf (any kernel or app address inside guest RAM; the range
	 * lies inside the capacity). 0 or -EIO, -EROFS.
	 */
	int (*rw)(void *ctx, bool write, uint64_t sector, void *buf, uint64_t nsect);
	/* Makes completed writes durable (virtio-blk FLUSH); 0 when the device has no cache to flush. 0 or -EIO. */
	int (*flush)(void *ctx);
};

/*
 * Registers a disk (boot, before the file system starts): it becomes
 * /dev/vd<'a' + index> in registration order. sectors is the capacity
 * (clamped so its byte size fits an off_t). Returns the index or -ENOSPC.
 */
int fs_blk_register(const struct fs_blk_ops *ops, void *ctx, uint64_t sectors, bool ro);

/* Forgets every registered disk (unit tests). */
void fs_blk_reset(void);

/* Creates the S_IFBLK nodes of the registered disks in dir (/dev; called by fs_dev_init). 0 or -errno. */
int fs_blk_nodes(struct fs_node *dir);

/* True when n is one of our block device nodes. */
bool fs_blk_is(const struct fs_node *n);

/*
 * read/write/pread/pwrite on a block device file, for fs_file_read/write
 * (which have checked O_PATH and the access mode). off NULL means the file
 * offset (advanced). Offsets and lengths need not be sector multiples (the
 * edges go through a read-modify-write of one sector). Linux semantics: a
 * read at or past the end returns 0, a read across it is short; a write at
 * or past the end is -ENOSPC, across it short; -EROFS on a read-only disk;
 * -ENXIO for a node of no registered disk; -EIO when the device failed.
 */
long fs_blk_read(struct fs_file *f, void *buf, size_t len, uint64_t *off);
long fs_blk_write(struct fs_file *f, const void *buf, size_t len, uint64_t *off);

/* fsync/fdatasync: 0 or -EIO. */
int fs_blk_sync(struct fs_file *f);

/* BLKGETSIZE64, BLKGETSIZE, BLKSSZGET, BLKPBSZGET, BLKROGET, BLKFLSBUF; else -ENOTTY. */
long fs_blk_ioctl(struct fs_file *f, unsigned long req, long arg);

#endif
