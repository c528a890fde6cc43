/* virtio_blk.c: the guest's virtio-blk driver: many requests in flight, one notify per batch, completion by polling; only the issuing thread waits. */
#include <asm-generic/errno.h>

#include "blkdev.h"
#include "k.h"
#include "thread.h"
#include "wait.h"
#include "vdev.h"
#include "virtio_blk.h"
#include "virtio_mmio.h"

/* Features we use; everything else the device offers is declined. */
#define VBLK_WANT                                                                                   \
	(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) |                        \
	 VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) |                        \
	 VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) | VIRTIO_BIT(VIRTIO_BLK_F_RO) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE))

/*
 * How long to poll the used ring before a WAIT exit (~30 us on PVM, plus the
 * wake-up). A 4 KiB request usually completes within the base; a large one
 * needs time for the host to copy it (assumed >= 2 bytes/ns). Measured with
 * blkbench (1 MiB reads): WAIT exits per read() fell from ~1.0 to ~0.2. The
 * cap bounds the vCPU time we burn when the host is slower than that.
 */
#define VBLK_SPIN_BASE_NS 20000ull
/*
 * A small write is done by the device's pwritev (~10-70 us, bimodal) once
 * its poller picks it up: a 20 us spin missed ~55% of them and each miss is
 * a WAIT exit. blkbench randwrite: 100 us, 6.0k -> 8.6k IOPS, WAIT exits per
 * write 0.7 -> 0.3 (a device without that fast path makes us stop spinning,
 * see VBLK_SPIN_FAILS_MAX).
 */
#define VBLK_SPIN_OUT_NS 100000ull
#define VBLK_SPIN_BYTES_PER_NS 2u
#define VBLK_SPIN_MAX_NS 300000ull

/*
 * Spinning only pays when the device completes while we spin. When the host
 * runs the device's event thread on the vCPU's own CPU (a loaded host packs
 * threads), it makes no progress until we WAIT: every spin is lost time
 * (blkbench randread, host busy: p50 110 us with a 20 us spin, 190 us with
 * 100 us). After this many requests in a row that needed a WAIT anyway we
 * WAIT at once, spinning again on one request in VBLK_SPIN_PROBE to notice
 * when the device is quick again.
 */
#define VBLK_SPIN_FAILS_MAX 4u
#define VBLK_SPIN_PROBE 16u

/* Status value no device writes: a request that comes back with it was never answered. */
#define VBLK_STATUS_UNSET 0xffu

/*
 * Device-visible part of one request: the header it reads and the status
 * byte it writes. The pool lives in pages from k_pages_alloc (guest physical
 * memory at a known address); bookkeeping stays in the driver's own fields.
 */
struct vblk_req {
	struct virtio_blk_req_hdr hdr;
	uint8_t status;
	uint8_t pad[7];
};
_Static_assert(sizeof(struct vblk_req) == 24, "vblk_req layout");
_Static_assert(offsetof(struct virtio_blk_config, size_max) == 8 && offsetof(struct virtio_blk_config, seg_max) == 12,
	       "vd_blk_probe reads capacity, size_max, seg_max as words 0-3");

/*
 * One thread's transfer, on its kernel stack while it runs: what is left to
 * submit, and what its requests in flight came back with. Completions are
 * collected by whoever polls first: the thread itself while it spins, or the
 * disk's poller when the scheduler runs (the thread blocked on &xfer, other
 * threads running meanwhile).
 */
struct vblk_xfer {
	uint32_t type;
	uint64_t sector, data_gpa, nsect; /* left to submit */
	bool pending;                     /* requests left to submit (a FLUSH has one, of no sectors) */
	unsigned inflight;
	int err;
	struct vblk_xfer *next;           /* the disk's active transfers */
};

struct vblk {
	struct vd_mmio *mmio;
	char name[4]; /* "vda" ... once registered: what messages call the disk */
	struct vd_queue q;
	struct vd_blk_limits lim;
	uint64_t sectors;
	bool ro, has_flush, dead;
	struct vblk_req *reqs;
	size_t req_pages;
	uint16_t nreq;
	uint16_t *free_list; /* stack of free request indices */
	uint16_t nfree;
	struct vblk_xfer **owner; /* per request: the transfer it serves */
	struct vq_sg *sg;    /* scratch chain of seg_max + 2 entries */
	unsigned sg_max;
	unsigned spin_fails; /* transfers in a row whose spin ended in a WAIT (saturates) */
	unsigned spin_probe; /* counts transfers skipping the spin, see VBLK_SPIN_PROBE */
	struct vblk_xfer *active; /* transfers with requests in flight or waiting to submit */
	struct k_poller poller;
	uint64_t last_progress; /* monotonic ns of the last completion or submission: the stall budget's start */
	unsigned idle_news;     /* see vd_wait_check_status */
};

static bool vblk_get_req(struct vblk *b, struct vblk_req **r)
{
	if (!b->nfree)
		return false;
	*r = &b->reqs[b->free_list[--b->nfree]];
	return true;
}

static void vblk_put_req(struct vblk *b, struct vblk_req *r)
{
	b->free_list[b->nfree++] = (uint16_t)(r - b->reqs);
}

/* Wakes the transfers that can move on: all their requests are back, or they wait to submit and requests are free. */
static void vblk_wake(struct vblk *b)
{
	for (struct vblk_xfer *x = b->active; x; x = x->next)
		if (!x->inflight || (x->pending && !x->err && b->nfree))
			k_wait_wake(x, ~0u, 1);
}

/*
 * The device misbehaved or stopped answering: fail every transfer in flight
 * (their threads return our -EIO) and every later one at once. The reset
 * makes the device drop our rings, so no late answer lands in a buffer that
 * is the app's again. The caller has printed why, ending ", disk disabled".
 */
static int vblk_disable(struct vblk *b)
{
	vd_mmio_kill(b->mmio);
	b->dead = true;
	for (struct vblk_xfer *x = b->active; x; x = x->next) {
		x->err = -EIO;
		x->inflight = 0;
		x->pending = false;
	}
	vblk_wake(b);
	return -EIO;
}

static int vblk_die(struct vblk *b, const char *why)
{
	k_printf("ukvm: %s: %s, disk disabled\n", b->name, why);
	return vblk_disable(b);
}

/*
 * Slow path only (no progress after a WAIT): reads Status, one exit. The app
 * shares our address space and can reset the device, set FAILED or break a
 * queue so that it wants a reset; none of that ever completes our requests.
 */
static int vblk_check_alive(struct vblk *b)
{
	uint32_t st = vd_mmio_status(b->mmio);
	if (!vd_status_stopped(st))
		return 0;
	k_printf("ukvm: %s: device stopped (status 0x%x), disk disabled\n", b->name, st);
	return vblk_disable(b);
}

/*
 * Collects every used request into the transfer it serves and wakes those
 * that can move on: 1 when at least one came back, 0 when none, -EIO when
 * the device broke the ring (the disk is then disabled).
 */
static int vblk_reap(struct vblk *b)
{
	int got = 0;

	for (;;) {
		void *cookie;
		uint32_t len;
		int rc = vq_drv_get_used(&b->q.vq, &cookie, &len);
		if (rc == 0)
			break;
		if (rc < 0)
			return vblk_die(b, vq_err_str(rc));
		struct vblk_req *r = cookie; /* vq_drv checked it is a chain we added */
		struct vblk_xfer *x = b->owner[r - b->reqs];
		if (r->status != VIRTIO_BLK_S_OK && !x->err)
			x->err = -EIO; /* IOERR, UNSUPP, or never written (VBLK_STATUS_UNSET) */
		vblk_put_req(b, r);
		x->inflight--;
		got = 1;
	}
	if (got) {
		b->last_progress = k_clock_monotonic_ns();
		b->idle_news = 0;
		vblk_wake(b);
	}
	return got;
}

/* Submits as many of x's requests as the queue takes, one notify for the batch. */
static void vblk_submit(struct vblk *b, struct vblk_xfer *x)
{
	bool added = false, idle = b->nfree == b->nreq;
	struct vblk_req *r;

	while (x->pending && !x->err && vblk_get_req(b, &r)) {
		uint64_t n = x->nsect < b->lim.req_max_sectors ? x->nsect : b->lim.req_max_sectors;
		r->hdr.type = vq_le32(x->type);
		r->hdr.reserved = 0;
		r->hdr.sector = vq_le64(x->type == VIRTIO_BLK_T_FLUSH ? 0 : x->sector);
		r->status = VBLK_STATUS_UNSET;
		int cnt = vd_blk_build_sg(&b->lim, b->sg, b->sg_max, vd_gpa(&r->hdr), x->data_gpa, n,
					  x->type == VIRTIO_BLK_T_IN, vd_gpa(&r->status));
		int rc = cnt < 0 ? cnt : vq_drv_add(&b->q.vq, b->sg, (unsigned)cnt, r);
		if (rc) {
			vblk_put_req(b, r);
			if (rc == -VQ_E_NOSPC && b->nfree < b->nreq)
				break; /* the ring is full: wait for some to come back */
			x->err = -EIO;
			break;
		}
		b->owner[r - b->reqs] = x;
		x->inflight++;
		added = true;
		x->sector += n;
		x->data_gpa += n << VIRTIO_BLK_SECTOR_SHIFT;
		x->nsect -= n;
		x->pending = x->nsect > 0;
	}
	if (!added)
		return;
	vd_queue_kick(&b->q); /* one notify for the whole batch, if the device wants one at all */
	if (idle)
		b->last_progress = k_clock_monotonic_ns(); /* the stall budget starts with a request on an idle queue */
}

/*
 * The disk's poller (wait.h): collects completions for blocked threads;
 * while requests are in flight it asks to run again within a slice, checks
 * a device that stays silent and gives up on one that stalls.
 */
static uint64_t vblk_poll(struct k_poller *p, enum k_wait_news news)
{
	struct vblk *b = (struct vblk *)((char *)p - offsetof(struct vblk, poller));

	if (!b->active || b->dead)
		return 0;
	int got = vblk_reap(b);
	if (!got && vd_queue_rearm(&b->q))
		got = vblk_reap(b); /* pushed just now: no WAIT for it */
	if (got < 0)
		return 0;
	uint64_t now = k_clock_monotonic_ns();
	if (!got && vd_wait_check_status(news, &b->idle_news) && vblk_check_alive(b))
		return 0;
	if (!got && now - b->last_progress >= VD_STALL_NS) {
		k_printf("ukvm: %s: no answer for %u s, disk disabled\n", b->name, (unsigned)(VD_STALL_NS / 1000000000u));
		vblk_disable(b);
		return 0;
	}
	uint64_t stall = b->last_progress + VD_STALL_NS, slice = now + VD_WAIT_SLICE_NS;
	return stall < slice ? stall : slice;
}

/*
 * Runs one transfer: [sector, sector + nsect) to or from data_gpa (type IN
 * or OUT), or one FLUSH (nsect 0). Submits as many requests as the queue
 * takes and collects their answers: by polling the used ring for a short
 * spin when no other thread could use the vCPU (most requests complete
 * within it, at no exit), else by blocking this thread alone until the
 * poller has collected them. The block is not interruptible: the device owns
 * the buffer until it answers, as in Linux's uninterruptible disk sleep.
 */
static int vblk_run(struct vblk *b, uint32_t type, uint64_t sector, uint64_t data_gpa, uint64_t nsect)
{
	struct vblk_xfer x = { .type = type, .sector = sector, .data_gpa = data_gpa, .nsect = nsect, .pending = true };
	uint64_t spin = (type == VIRTIO_BLK_T_OUT ? VBLK_SPIN_OUT_NS : VBLK_SPIN_BASE_NS) +
			(nsect << VIRTIO_BLK_SECTOR_SHIFT) / VBLK_SPIN_BYTES_PER_NS;
	if (spin > VBLK_SPIN_MAX_NS)
		spin = VBLK_SPIN_MAX_NS;
	if (b->spin_fails >= VBLK_SPIN_FAILS_MAX && ++b->spin_probe % VBLK_SPIN_PROBE)
		spin = 0;
	bool first_wait = true;

	if (b->dead)
		return -EIO;
	x.next = b->active;
	b->active = &x;
	while ((x.pending && !x.err) || x.inflight) {
		vblk_submit(b, &x);
		int got = vblk_reap(b);
		if (got < 0)
			break; /* disabled: x.err is set */
		if (!x.inflight && (!x.pending || x.err))
			break;
		if (got) {
			if (first_wait)
				b->spin_fails = 0; /* answered before we even had to spin */
			first_wait = false;
			continue;
		}
		/* Spin only when nobody else could run: another thread would make better use of the vCPU. */
		bool used = x.inflight && spin && !k_thr_others_runnable() && vd_queue_spin(&b->q, spin);
		if (first_wait && x.inflight) {
			/* Did the spin catch the first completion, or do we block for it? */
			first_wait = false;
			if (used)
				b->spin_fails = 0;
			else if (b->spin_fails < VBLK_SPIN_FAILS_MAX)
				b->spin_fails++;
		}
		if (used)
			continue;
		/* Until vblk_wake: all back, or free requests for the rest; the poller disables a dead disk. */
		k_wait_on(&x, ~0u, K_WAIT_FOREVER, 0);
	}
	struct vblk_xfer **pp = &b->active;
	while (*pp != &x)
		pp = &(*pp)->next;
	*pp = x.next;
	return x.err;
}

static int vblk_rw(void *ctx, bool write, uint64_t sector, void *buf, uint64_t nsect)
{
	struct vblk *b = ctx;
	if (write && b->ro)
		return -EROFS;
	if (sector > b->sectors || nsect > b->sectors - sector)
		return -EIO;
	/* Guest RAM is physically contiguous and identity-mapped: the buffer's gpa range is the buffer. */
	return vblk_run(b, write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, sector, vd_gpa(buf), nsect);
}

static int vblk_flush(void *ctx)
{
	struct vblk *b = ctx;
	if (!b->has_flush)
		return 0; /* spec 5.2.6.2: without FLUSH the device has no volatile cache to flush */
	return vblk_run(b, VIRTIO_BLK_T_FLUSH, 0, 0, 0);
}

static const struct fs_blk_ops vblk_ops = { .rw = vblk_rw, .flush = vblk_flush };

int vd_blk_probe(struct vd_mmio *d)
{
	struct vblk *b = k_calloc(1, sizeof(*b));
	int rc = -ENOMEM;

	if (!b)
		goto err;
	b->mmio = d;
	rc = vd_mmio_begin(d, VBLK_WANT);
	if (rc)
		goto err_free;
	/* capacity, size_max, seg_max in one snapshot; a field whose feature was not negotiated is ignored. */
	uint32_t cfg[4];
	vd_mmio_config(d, 0, cfg, 4);
	b->sectors = ((uint64_t)cfg[1] << 32) | cfg[0];
	bool has_size = d->features & VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX);
	bool has_seg = d->features & VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX);
	uint32_t size_max = has_size ? cfg[2] : 0;
	uint32_t seg_max = has_seg ? cfg[3] : 0;
	b->ro = d->features & VIRTIO_BIT(VIRTIO_BLK_F_RO);
	b->has_flush = d->features & VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);

	rc = vd_queue_setup(d, &b->q, 0, VD_QUEUE_MAX);
	if (rc)
		goto err_fail;
	rc = vd_blk_limits(&b->lim, has_seg, seg_max, has_size, size_max, b->q.vq.size);
	if (rc) {
		k_printf("ukvm: virtio-blk@%lx: unusable limits (seg_max %u, size_max %u)\n", (unsigned long)d->gpa,
			 seg_max, size_max);
		goto err_fail;
	}
	/* Each request takes at least 2 descriptors (header, status): more requests could never be in flight. */
	b->nreq = (uint16_t)(b->q.vq.size / 2);
	b->req_pages = (b->nreq * sizeof(struct vblk_req) + 4095) / 4096;
	b->reqs = k_pages_alloc(b->req_pages);
	b->free_list = k_calloc(b->nreq, sizeof(*b->free_list));
	b->owner = k_calloc(b->nreq, sizeof(*b->owner));
	b->sg_max = b->lim.seg_max + 2;
	b->sg = k_calloc(b->sg_max, sizeof(*b->sg));
	rc = -ENOMEM;
	if (!b->reqs || !b->free_list || !b->owner || !b->sg)
		goto err_fail;
	for (uint16_t i = 0; i < b->nreq; i++)
		b->free_list[b->nfree++] = (uint16_t)(b->nreq - 1 - i);
	vd_mmio_driver_ok(d);

	rc = fs_blk_register(&vblk_ops, b, b->sectors, b->ro);
	if (rc < 0) {
		k_printf("ukvm: virtio-blk@%lx: too many disks, skipped\n", (unsigned long)d->gpa);
		vd_mmio_kill(d);
		return rc;
	}
	b->poller.poll = vblk_poll;
	k_wait_poller_add(&b->poller);
	/* The name blkdev gave it (requests come only once the app runs, after this). */
	b->name[0] = 'v';
	b->name[1] = 'd';
	b->name[2] = (char)('a' + rc);
	return 0;
err_fail:
	vd_mmio_kill(d); /* reset first: after it the device no longer owns the rings */
	if (b->reqs)
		k_pages_free(b->reqs, b->req_pages);
	k_free(b->free_list);
	k_free(b->owner);
	k_free(b->sg);
	if (b->q.ring)
		k_pages_free(b->q.ring, b->q.ring_pages);
	k_free(b->q.slots);
err_free:
	k_free(b);
err:
	k_printf("ukvm: virtio-blk@%lx: not started (%d)\n", (unsigned long)d->gpa, rc);
	return rc;
}
