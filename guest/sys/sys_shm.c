/*
 * sys_shm.c: SysV shared memory (shmget, shmat, shmdt, shmctl) inside the VM. A segment is an
 * unnamed memory file (guest/fs/regdata.c); shmat maps it as a shared mapping (sys_mm.c), so an
 * attach keeps the pages alive after IPC_RMID until its detach, as on Linux.
 */
#include <asm-generic/errno.h>
#include <asm/shmbuf.h>
#include <linux/ipc.h>
#include <linux/shm.h>
#include <string.h>

#include "fs.h"
#include "k.h"
#include "sys.h"

#define SHM_PAGE   PMEM_PAGE
#define SHM_SLOTS  128u                 /* segments at once (Linux's SHMMNI is 4096) */
#define SHM_SEQ_SHIFT 15                /* id = seq << 15 | slot, as Linux builds ids */
#define SHM_MAXSZ  (1ull << 36)         /* SHMMAX here: 64 GiB, more than any guest RAM */
#define SHM_PID    1                    /* the app is pid 1 (sys_misc.c) */
#define SHM_DEST_MODE 01000             /* Linux's SHM_DEST in shm_perm.mode after IPC_RMID */

struct shm_seg {
	struct fs_node *node; /* NULL: a free slot */
	int32_t key;
	uint32_t mode, uid, gid;
	uint16_t seq;
	bool dest;
	uint64_t size;
	int64_t atime, dtime, ctime;
	int32_t lpid;
};

static struct shm_seg shm_segs[SHM_SLOTS];
static uint16_t shm_seq; /* wraps: 65535 << 15 | slot is still a positive int */

static int64_t shm_now(void)
{
	return (int64_t)(k_clock_realtime_ns() / 1000000000ull);
}

static int shm_id(unsigned slot)
{
	return (int)((unsigned)shm_segs[slot].seq << SHM_SEQ_SHIFT | slot);
}

static void shm_destroy(struct shm_seg *s)
{
	fs_node_put(s->node); /* attaches hold their own references */
	s->node = NULL;
}

/* Segments removed with IPC_RMID go when their last attach does (a munmap detaches too). */
static void shm_reap(void)
{
	for (unsigned i = 0; i < SHM_SLOTS; i++)
		if (shm_segs[i].node && shm_segs[i].dest && !sys_mm_share_count(shm_segs[i].node))
			shm_destroy(&shm_segs[i]);
}

/* The segment named by id, or NULL. */
static struct shm_seg *shm_lookup(long id)
{
	if (id < 0 || id > INT32_MAX)
		return NULL;
	unsigned slot = (unsigned)id & ((1u << SHM_SEQ_SHIFT) - 1);
	if (slot >= SHM_SLOTS || !shm_segs[slot].node || shm_id(slot) != (int)id)
		return NULL;
	return &shm_segs[slot];
}

long sys_shmget(SYS_ARGS)
{
	int32_t key = (int32_t)a0;
	uint64_t size = (uint64_t)a1;
	long flg = a2;

	shm_reap();
	if (key != IPC_PRIVATE) {
		for (unsigned i = 0; i < SHM_SLOTS; i++) {
			struct shm_seg *s = &shm_segs[i];
			if (!s->node || s->dest || s->key != key)
				continue;
			if ((flg & IPC_CREAT) && (flg & IPC_EXCL))
				return -EEXIST;
			if (size > s->size)
				return -EINVAL;
			return shm_id(i);
		}
		if (!(flg & IPC_CREAT))
			return -ENOENT;
	}
	if (size < 1 || size > SHM_MAXSZ)
		return -EINVAL;
	unsigned slot = 0;
	while (slot < SHM_SLOTS && shm_segs[slot].node)
		slot++;
	if (slot == SHM_SLOTS)
		return -ENOSPC;
	/* An unnamed memory file of the segment's size: its pages come on first touch of a mapping. */
	struct fs_node *n = fs_reg_new(S_IFREG | (uint32_t)(flg & 0777));
	if (!n)
		return -ENOMEM;
	int rc = fs_reg_truncate(n, size);
	if (rc) {
		fs_node_get(n);
		fs_node_put(n); /* nlink 0, no reference left: freed */
		return rc == -EFBIG ? -EINVAL : -ENOMEM;
	}
	fs_node_get(n);
	shm_segs[slot] = (struct shm_seg){ .node = n, .key = key, .mode = (uint32_t)(flg & 0777), .seq = shm_seq++,
					   .size = size, .ctime = shm_now() };
	return shm_id(slot);
}

long sys_shmat(SYS_ARGS)
{
	uint64_t addr = (uint64_t)a1;
	long flg = a2;

	shm_reap();
	struct shm_seg *s = shm_lookup(a0);
	if (!s)
		return -EINVAL;
	if (addr & (SHM_PAGE - 1)) {
		if (!(flg & SHM_RND))
			return -EINVAL;
		addr &= ~(SHM_PAGE - 1);
	}
	if (!addr && (flg & SHM_REMAP) && (flg & SHM_RND))
		return -EINVAL;
	uint64_t np = (s->size + SHM_PAGE - 1) / SHM_PAGE;
	long r = sys_mm_share(s->node, addr, np, addr != 0, flg & SHM_REMAP);
	if (r == -EEXIST)
		return -EINVAL; /* Linux: the range meets a mapping and SHM_REMAP was not given */
	if (r < 0)
		return r;
	s->atime = shm_now();
	s->lpid = SHM_PID;
	return r;
}

long sys_shmdt(SYS_ARGS)
{
	uint64_t addr = (uint64_t)a0;

	if (addr & (SHM_PAGE - 1))
		return -EINVAL;
	struct fs_node *n = sys_mm_share_node(addr);
	struct shm_seg *s = NULL;
	for (unsigned i = 0; n && i < SHM_SLOTS; i++)
		if (shm_segs[i].node == n)
			s = &shm_segs[i];
	if (!s)
		return -EINVAL;
	int rc = sys_mm_unshare(n, addr, (s->size + SHM_PAGE - 1) / SHM_PAGE);
	if (rc)
		return rc;
	s->dtime = shm_now();
	s->lpid = SHM_PID;
	shm_reap();
	return 0;
}

static void shm_stat(const struct shm_seg *s, struct shmid64_ds *d)
{
	memset(d, 0, sizeof(*d));
	d->shm_perm.key = s->dest ? IPC_PRIVATE : s->key;
	d->shm_perm.uid = d->shm_perm.cuid = s->uid;
	d->shm_perm.gid = d->shm_perm.cgid = s->gid;
	d->shm_perm.mode = s->mode | (s->dest ? SHM_DEST_MODE : 0);
	d->shm_perm.seq = s->seq;
	d->shm_segsz = s->size;
	d->shm_atime = s->atime;
	d->shm_dtime = s->dtime;
	d->shm_ctime = s->ctime;
	d->shm_cpid = SHM_PID;
	d->shm_lpid = s->lpid;
	d->shm_nattch = sys_mm_share_count(s->node);
}

long sys_shmctl(SYS_ARGS)
{
	long cmd = a1 & ~(long)IPC_64; /* x86-64 has only the 64-bit layout; libcs pass IPC_64 */
	void *ubuf = (void *)a2;

	shm_reap();
	if (a0 < 0 || cmd < 0)
		return -EINVAL;
	if (cmd == IPC_INFO || cmd == SHM_INFO) {
		unsigned used = 0, high = 0;
		uint64_t pages = 0;
		for (unsigned i = 0; i < SHM_SLOTS; i++) {
			if (!shm_segs[i].node)
				continue;
			used++;
			high = i;
			pages += fs_reg_blocks(shm_segs[i].node);
		}
		if (cmd == IPC_INFO) {
			struct shminfo64 in = { .shmmax = SHM_MAXSZ, .shmmin = 1, .shmmni = SHM_SLOTS, .shmseg = SHM_SLOTS,
						.shmall = SHM_MAXSZ / SHM_PAGE };
			if (!k_user_ok(ubuf, sizeof(in)))
				return -EFAULT;
			memcpy(ubuf, &in, sizeof(in));
		} else {
			struct shm_info in = { .used_ids = (int)used, .shm_tot = pages, .shm_rss = pages };
			if (!k_user_ok(ubuf, sizeof(in)))
				return -EFAULT;
			memcpy(ubuf, &in, sizeof(in));
		}
		return high;
	}
	struct shm_seg *s;
	if (cmd == SHM_STAT || cmd == SHM_STAT_ANY) /* these take a slot index, and answer its id */
		s = a0 < SHM_SLOTS && shm_segs[a0].node ? &shm_segs[a0] : NULL;
	else
		s = shm_lookup(a0);
	if (!s)
		return -EINVAL;
	switch (cmd) {
	case IPC_STAT:
	case SHM_STAT:
	case SHM_STAT_ANY: {
		struct shmid64_ds d;
		shm_stat(s, &d);
		if (!k_user_ok(ubuf, sizeof(d)))
			return -EFAULT;
		memcpy(ubuf, &d, sizeof(d));
		return cmd == IPC_STAT ? 0 : shm_id((unsigned)(s - shm_segs));
	}
	case IPC_SET: {
		struct shmid64_ds d;
		if (!k_user_ok(ubuf, sizeof(d)))
			return -EFAULT;
		memcpy(&d, ubuf, sizeof(d));
		s->uid = d.shm_perm.uid;
		s->gid = d.shm_perm.gid;
		s->mode = d.shm_perm.mode & 0777;
		s->ctime = shm_now();
		return 0;
	}
	case IPC_RMID:
		/* The key is free at once; the memory goes with the last attach. */
		s->dest = true;
		s->ctime = shm_now();
		shm_reap();
		return 0;
	case SHM_LOCK:
	case SHM_UNLOCK:
		return 0; /* guest memory is never swapped by the guest */
	default:
		return -EINVAL;
	}
}
