/* blk.c: virtio-blk (IN, OUT, FLUSH, GET_ID) on a host file: requests parsed from hostile chains, I/O on io_uring. */
#include "blk.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLK_SECTOR VIRTIO_BLK_SECTOR_SIZE

static uint64_t blk_features(const struct mmio_dev *d)
{
	const struct blk *b = d->priv;
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) |
		     VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
		     VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |
		     VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE);
	return b->ro ? f | VIRTIO_BIT(VIRTIO_BLK_F_RO) : f;
}

static void blk_config_read(struct mmio_dev *d, uint32_t off, void *buf, uint32_t len)
{
	const struct blk *b = d->priv;
	struct virtio_blk_config c;
	memset(&c, 0, sizeof(c));
	c.capacity = vq_le64(b->capacity);
	c.size_max = vq_le32(BLK_SIZE_MAX);
	c.seg_max = vq_le32(BLK_SEG_MAX);
	c.blk_size = vq_le32(BLK_SECTOR);
	memcpy(buf, (const uint8_t *)&c + off, len); /* the transport checked off + len <= config_size */
}

static void blk_done(struct event_op *op, struct io_uring *ring, int res);

static int blk_activate(struct mmio_dev *d)
{
	struct blk *b = d->priv;
	uint32_t n = d->q[0].num;
	if (!d->q[0].ready || n > BLK_QUEUE_MAX)
		return -EINVAL;
	/*
	 * One slot per queue entry: in-flight requests are bounded by the queue
	 * size. The slots were made at blk_open: nothing a guest does allocates
	 * on the vCPU thread (see vmm/sandbox.c).
	 */
	b->free = NULL;
	for (uint32_t i = n; i-- > 0;) {
		struct blk_req *r = &b->reqs[i];
		r->op.done = blk_done;
		r->b = b;
		r->iov = &b->iovs[(size_t)i * BLK_MAX_SEGS];
		r->next_free = b->free;
		b->free = r;
	}
	return 0;
}

static void blk_reset(struct mmio_dev *d)
{
	struct blk *b = d->priv;
	b->free = NULL; /* inflight is 0 here: no CQE can still name a request */
}

/* Returns the request to the driver; status is written first (the used-ring write publishes it). */
static void blk_push(struct blk *b, uint16_t head, uint8_t *status, uint8_t st, uint32_t written)
{
	if (status)
		*(volatile uint8_t *)status = st;
	(void)mmio_push_used(&b->dev, 0, head, written); /* counts the request; a broken ring needs a reset */
}

/* Copies bytes [off, off + len) of the chain's readable part out of guest memory. */
static void blk_gather(const struct vq_seg *s, int n, uint64_t off, void *dst, size_t len)
{
	uint8_t *o = dst;
	for (int i = 0; i < n && len && !s[i].writable; i++) {
		if (off >= s[i].len) {
			off -= s[i].len;
			continue;
		}
		size_t k = s[i].len - off < len ? s[i].len - off : len;
		memcpy(o, (uint8_t *)s[i].ptr + off, k);
		o += k;
		len -= k;
		off = 0;
	}
}

/*
 * Fills iov with the data part of the chain: for OUT the readable bytes
 * after the 16-byte header, for IN the writable bytes before the status
 * byte. Any framing is accepted (spec 5.2.6: the driver may split or merge).
 */
static unsigned blk_data_iov(const struct vq_seg *s, int n, bool writable, uint64_t skip, uint64_t len,
			     struct iovec *iov)
{
	unsigned k = 0;
	for (int i = 0; i < n && len; i++) {
		if (s[i].writable != writable)
			continue;
		if (skip >= s[i].len) {
			skip -= s[i].len;
			continue;
		}
		uint64_t l = s[i].len - skip < len ? s[i].len - skip : len;
		iov[k].iov_base = (uint8_t *)s[i].ptr + skip;
		iov[k].iov_len = l;
		k++;
		len -= l;
		skip = 0;
	}
	return k;
}

static bool blk_dio_aligned(const struct blk *b, const struct blk_req *r)
{
	for (unsigned i = 0; i < r->niov; i++)
		if ((uintptr_t)r->iov[i].iov_base % b->dio_mem_align || r->iov[i].iov_len % b->dio_off_align)
			return false;
	return true;
}

/*
 * An O_DIRECT bounce buffer of r->data_len bytes aligned for the file. Its own
 * anonymous mapping, not malloc: glibc would grow and trim the event thread's
 * arena with syscalls outside its seccomp allowlist (vmm/sandbox.c). Returns 0,
 * BLK_DEFER when the disk's bounce bytes in flight would pass BLK_BOUNCE_MAX
 * (a completion makes room), or VIRTIO_BLK_S_IOERR.
 */
static int blk_bounce_get(struct blk *b, struct blk_req *r)
{
	size_t align = b->dio_mem_align > 4096 ? b->dio_mem_align : 4096;
	if (r->data_len > BLK_BOUNCE_MAX)
		return VIRTIO_BLK_S_IOERR;
	if (b->bounce_bytes + r->data_len > BLK_BOUNCE_MAX)
		return BLK_DEFER; /* bounce_bytes > 0 here: an in-flight bounce completes and retries us */
	size_t len = (size_t)r->data_len + align - 4096; /* mmap gives 4096; room to align further */
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return VIRTIO_BLK_S_IOERR;
	r->bounce_map = p;
	r->bounce_map_len = len;
	r->bounce = (void *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
	b->bounce_bytes += r->data_len;
	return 0;
}

static void blk_bounce_put(struct blk *b, struct blk_req *r)
{
	if (!r->bounce)
		return;
	munmap(r->bounce_map, r->bounce_map_len);
	b->bounce_bytes -= r->data_len;
	r->bounce = r->bounce_map = NULL;
}

/*
 * A small buffered OUT that is alone on the disk (nothing in flight, nothing
 * more in the avail ring: a synchronous guest waiting for just this one) is
 * cheaper written in place than through io_uring's io-wq punt; see
 * BLK_SYNC_OUT_MAX. More requests at once keep io_uring: the workers write
 * them in parallel while this thread serves other queues.
 */
static bool blk_sync_out(const struct blk *b, const struct blk_req *r)
{
	const struct vq_dev *q = &b->dev.q[0].vq;
	return b->sync_out && !b->direct && r->type == VIRTIO_BLK_T_OUT && r->data_len <= BLK_SYNC_OUT_MAX &&
	       !b->dev.inflight && vq_le16(q->avail[1]) == q->last_avail; /* hostile idx: only a hint */
}

_Static_assert(BLK_CHUNK_MAX >= BLK_SIZE_MAX && BLK_CHUNK_MAX <= 0x7ffff000u,
	       "a piece holds a whole segment, and one read or write moves all of it");
_Static_assert(BLK_INFLIGHT_MAX >= BLK_CHUNK_MAX, "a request's first piece fits an idle disk");

/*
 * Prepares the SQE of r's next piece: from r->done, at most r->resv bytes of
 * whole iovecs (the first may start inside one: it is cut and restored by
 * blk_advance). Returns 0, or -EBUSY when the SQ has no room.
 */
static int blk_piece(struct blk *b, struct blk_req *r, struct io_uring *ring)
{
	uint64_t off = r->off + r->done;
	uint32_t want = r->data_len - r->done < r->resv ? r->data_len - r->done : r->resv;
	unsigned k = 0;
	if (r->type != VIRTIO_BLK_T_FLUSH && !r->bounce) {
		struct iovec *v = &r->iov[r->pos];
		uint32_t len = 0;
		/* Every iovec is at most BLK_SIZE_MAX <= resv and inside what is left: k >= 1. */
		for (; r->pos + k < r->niov; k++) {
			size_t l = v[k].iov_len - (k ? 0 : r->pos_off);
			if (l > want - len)
				break;
			len += (uint32_t)l;
		}
		if (!k)
			return -EINVAL;
		want = len;
	}
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	if (!sqe) {
		io_uring_submit(ring); /* SQ full: hand the batch to the kernel and take a fresh slot */
		sqe = io_uring_get_sqe(ring);
	}
	if (!sqe)
		return -EBUSY;
	if (r->type == VIRTIO_BLK_T_FLUSH) {
		io_uring_prep_fsync(sqe, b->fd, IORING_FSYNC_DATASYNC);
		want = 0;
	} else if (r->bounce) {
		uint8_t *p = (uint8_t *)r->bounce + r->done;
		if (r->type == VIRTIO_BLK_T_OUT)
			io_uring_prep_write(sqe, b->fd, p, want, off);
		else
			io_uring_prep_read(sqe, b->fd, p, want, off);
	} else {
		struct iovec *v = &r->iov[r->pos];
		if (r->pos_off) {
			r->cut = *v;
			v->iov_base = (uint8_t *)v->iov_base + r->pos_off;
			v->iov_len -= r->pos_off;
		}
		if (r->type == VIRTIO_BLK_T_OUT)
			io_uring_prep_writev(sqe, b->fd, v, k, off);
		else
			io_uring_prep_readv(sqe, b->fd, v, k, off);
	}
	event_sqe_file(sqe, b->file); /* the event ring takes registered files only (blk_attach) */
	r->piece = want;
	io_uring_sqe_set_data(sqe, &r->op);
	return 0;
}

/* Accounts a piece that returned res; true when more is left to move and nothing failed. */
static bool blk_advance(struct blk_req *r, int res)
{
	if (r->type == VIRTIO_BLK_T_FLUSH)
		return false;
	if (!r->bounce && r->pos_off)
		r->iov[r->pos] = r->cut; /* the kernel copied the iovecs at submission; ours are whole again */
	/* Nothing moved (past the end of a file that shrank) or an error: stop, do not spin. */
	if (res <= 0 || (uint32_t)res > r->piece)
		return false;
	r->done += (uint32_t)res;
	if (!r->bounce) {
		r->pos_off += (size_t)res;
		while (r->pos < r->niov && r->pos_off >= r->iov[r->pos].iov_len)
			r->pos_off -= r->iov[r->pos++].iov_len;
	}
	return r->done < r->data_len;
}

/*
 * Starts r's I/O; returns 0 (in flight), BLK_DEFER (leave the chain in the
 * ring), BLK_DONE (written in place) or a VIRTIO_BLK_S_* status to complete
 * with at once.
 */
static int blk_submit(struct blk *b, struct blk_req *r, uint64_t sector, struct io_uring *ring)
{
	uint64_t off = sector * BLK_SECTOR;
	if (blk_sync_out(b, r)) {
		/* Acknowledged only once the data is in the host file (page cache), like an io_uring write. */
		ssize_t n = pwritev(b->fd, r->iov, (int)r->niov, (off_t)off);
		return n == (ssize_t)r->data_len ? BLK_DONE : (int)VIRTIO_BLK_S_IOERR;
	}
	r->resv = r->data_len < BLK_CHUNK_MAX ? r->data_len : BLK_CHUNK_MAX;
	if (b->inflight_bytes + r->resv > BLK_INFLIGHT_MAX)
		return BLK_DEFER; /* inflight_bytes > 0 here: a completion retries us */
	if (b->direct && r->type != VIRTIO_BLK_T_FLUSH && r->data_len) {
		if (off % b->dio_off_align)
			return VIRTIO_BLK_S_IOERR;
		if (!blk_dio_aligned(b, r)) {
			int st = blk_bounce_get(b, r);
			if (st)
				return st;
		}
	}
	r->off = off;
	r->done = 0;
	r->pos = 0;
	r->pos_off = 0;
	if (r->bounce && r->type == VIRTIO_BLK_T_OUT) {
		uint8_t *o = r->bounce;
		for (unsigned i = 0; i < r->niov; i++) {
			memcpy(o, r->iov[i].iov_base, r->iov[i].iov_len);
			o += r->iov[i].iov_len;
		}
	}
	if (blk_piece(b, r, ring)) {
		blk_bounce_put(b, r);
		return VIRTIO_BLK_S_IOERR;
	}
	b->inflight_bytes += r->resv;
	b->dev.inflight++;
	return 0;
}

/*
 * Spec 5.2.4/5.2.6.1: the driver keeps to the seg_max and size_max it
 * negotiated. Unchecked, a guest kept 255 requests of ~4 GiB each in flight.
 */
static bool blk_within_limits(struct blk *b, const struct blk_req *r, uint16_t head)
{
	if (r->niov > BLK_SEG_MAX) {
		mmio_warn(&b->dev, "request %u: %u data segments, seg_max is %u", head, r->niov, BLK_SEG_MAX);
		return false;
	}
	for (unsigned i = 0; i < r->niov; i++)
		if (r->iov[i].iov_len > BLK_SIZE_MAX) {
			mmio_warn(&b->dev, "request %u: a segment of %zu bytes, size_max is %u", head,
				  r->iov[i].iov_len, BLK_SIZE_MAX);
			return false;
		}
	return true;
}

/*
 * Parses one popped chain and either submits its I/O (the request stays in
 * flight) or completes it at once. Returns 1 when it pushed a used entry, 0
 * when not, BLK_DEFER when the chain must go back to the ring for later.
 */
static int blk_start(struct blk *b, struct vq_chain *c, struct io_uring *ring)
{
	struct vq_seg *s = b->segs;
	int n = vq_chain_collect(c, s, BLK_MAX_SEGS);
	if (n < 0) {
		/* Without a well-formed chain there is no status byte to write: used len 0 says failure. */
		mmio_warn(&b->dev, "request %u: %s", c->head, vq_err_str(n));
		blk_push(b, c->head, NULL, 0, 0);
		return 1;
	}
	uint64_t rlen = 0, wlen = 0;
	for (int i = 0; i < n; i++)
		*(s[i].writable ? &wlen : &rlen) += s[i].len;
	if (!wlen) {
		mmio_warn(&b->dev, "request %u: no writable status byte", c->head);
		blk_push(b, c->head, NULL, 0, 0);
		return 1;
	}
	/* vq_chain_next skips zero-length buffers, so the last segment is writable and non-empty. */
	uint8_t *status = (uint8_t *)s[n - 1].ptr + s[n - 1].len - 1;
	if (rlen < sizeof(struct virtio_blk_req_hdr)) {
		mmio_warn(&b->dev, "request %u: header of %llu bytes", c->head, (unsigned long long)rlen);
		blk_push(b, c->head, status, VIRTIO_BLK_S_IOERR, 1);
		return 1;
	}
	struct virtio_blk_req_hdr h;
	blk_gather(s, n, 0, &h, sizeof(h)); /* one copy: the guest cannot change it under our checks */
	uint32_t type = vq_le32(h.type);
	uint64_t sector = vq_le64(h.sector);
	uint64_t rdata = rlen - sizeof(h), wdata = wlen - 1;

	switch (type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT: {
		bool in = type == VIRTIO_BLK_T_IN;
		uint64_t len = in ? wdata : rdata;
		/* Data must flow one way only, in whole sectors, inside the disk (overflow-safe). */
		if ((in ? rdata : wdata) || len % BLK_SECTOR || sector > b->capacity ||
		    len / BLK_SECTOR > b->capacity - sector || (!in && b->ro)) {
			blk_push(b, c->head, status, VIRTIO_BLK_S_IOERR, 1);
			return 1;
		}
		if (!len) {
			blk_push(b, c->head, status, VIRTIO_BLK_S_OK, 1);
			return 1;
		}
		struct blk_req *r = b->free;
		r->type = type;
		r->head = c->head;
		r->status = status;
		r->data_len = (uint32_t)len; /* chains are at most 2^32 - 1 bytes (vq_chain_next) */
		r->niov = blk_data_iov(s, n, in, in ? 0 : sizeof(h), len, r->iov);
		r->bounce = NULL;
		if (!blk_within_limits(b, r, c->head)) {
			blk_push(b, c->head, status, VIRTIO_BLK_S_IOERR, 1);
			return 1;
		}
		int st = blk_submit(b, r, sector, ring);
		if (st == BLK_DEFER)
			return BLK_DEFER;
		if (st == BLK_DONE) {
			blk_push(b, c->head, status, VIRTIO_BLK_S_OK, 1);
			return 1;
		}
		if (st) {
			blk_push(b, c->head, status, (uint8_t)st, 1);
			return 1;
		}
		b->free = r->next_free;
		return 0;
	}
	case VIRTIO_BLK_T_FLUSH: {
		if (rdata || wdata) {
			blk_push(b, c->head, status, VIRTIO_BLK_S_IOERR, 1);
			return 1;
		}
		struct blk_req *r = b->free;
		r->type = type;
		r->head = c->head;
		r->status = status;
		r->data_len = 0;
		r->niov = 0;
		r->bounce = NULL;
		int st = blk_submit(b, r, 0, ring);
		if (st) {
			blk_push(b, c->head, status, (uint8_t)st, 1);
			return 1;
		}
		b->free = r->next_free;
		return 0;
	}
	case VIRTIO_BLK_T_GET_ID: {
		if (rdata) {
			blk_push(b, c->head, status, VIRTIO_BLK_S_IOERR, 1);
			return 1;
		}
		struct iovec iov[BLK_MAX_SEGS];
		uint64_t want = wdata < VIRTIO_BLK_ID_BYTES ? wdata : VIRTIO_BLK_ID_BYTES;
		unsigned k = blk_data_iov(s, n, true, 0, want, iov);
		size_t o = 0;
		for (unsigned i = 0; i < k; o += iov[i].iov_len, i++)
			memcpy(iov[i].iov_base, b->id + o, iov[i].iov_len);
		blk_push(b, c->head, status, VIRTIO_BLK_S_OK, (uint32_t)want + 1);
		return 1;
	}
	default:
		blk_push(b, c->head, status, VIRTIO_BLK_S_UNSUPP, 1);
		return 1;
	}
}

/*
 * Pops and starts requests while request slots are free. Notification
 * suppression is the transport's (mmio_notify/mmio_poll): with every slot
 * busy, chains left in the ring are taken when a completion frees a slot
 * (blk_done runs this again), so none is stranded.
 */
static bool blk_run(struct blk *b, struct io_uring *ring)
{
	struct mmio_dev *d = &b->dev;
	struct vq_dev *q = &d->q[0].vq;
	bool pushed = false;
	while (b->free && mmio_live(d)) {
		struct vq_chain c;
		int r = vq_dev_pop(q, &c);
		if (r == 0)
			break;
		if (r < 0) {
			mmio_queue_error(d, 0, vq_err_str(r));
			break;
		}
		int st = blk_start(b, &c, ring);
		if (st == BLK_DEFER) {
			vq_dev_unpop(q); /* taken again when an in-flight bounce completes (blk_done) */
			break;
		}
		pushed |= st;
	}
	return pushed;
}

static void blk_notify(struct mmio_dev *d, unsigned q, struct io_uring *ring)
{
	struct blk *b = d->priv;
	if (q == 0 && blk_run(b, ring))
		mmio_used_pushed(d, 0);
}

static void blk_done(struct event_op *op, struct io_uring *ring, int res)
{
	struct blk_req *r = (struct blk_req *)op;
	struct blk *b = r->b;
	struct mmio_dev *d = &b->dev;
	pthread_mutex_lock(&d->lock);
	/* A stop or reset moves no further piece: what it waits for is bounded (BLK_INFLIGHT_MAX). */
	if (blk_advance(r, res) && mmio_live(d) && !blk_piece(b, r, ring)) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	bool pushed = false;
	if (!d->resetting) {
		/* Acknowledged only now that all of the I/O (or fdatasync) returned. */
		bool ok = r->type == VIRTIO_BLK_T_FLUSH ? res == 0 : r->done == r->data_len;
		uint32_t written = 1;
		if (r->type == VIRTIO_BLK_T_IN) {
			written += r->done;
			if (r->bounce) {
				size_t o = 0;
				for (unsigned i = 0; i < r->niov && o < r->done; o += r->iov[i].iov_len, i++)
					memcpy(r->iov[i].iov_base, (uint8_t *)r->bounce + o,
					       r->iov[i].iov_len < r->done - o ? r->iov[i].iov_len : r->done - o);
			}
		}
		blk_push(b, r->head, r->status, ok ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR, written);
		pushed = true;
	}
	blk_bounce_put(b, r);
	b->inflight_bytes -= r->resv;
	r->resv = 0;
	r->next_free = b->free;
	b->free = r;
	mmio_inflight_done(d);
	if (!d->resetting && d->q[0].ready && mmio_live(d))
		pushed |= blk_run(b, ring); /* a slot and budget are free again: take what queued meanwhile */
	if (pushed)
		mmio_used_pushed(d, 0);
	pthread_mutex_unlock(&d->lock);
}

static int blk_attach(struct mmio_dev *d, struct event_loop *l)
{
	struct blk *b = d->priv;
	int file = event_add_file(l, b->fd);
	if (file < 0)
		return file;
	b->file = file;
	return 0;
}

/*
 * A reset waits for the requests in flight: cancel every I/O on the disk
 * (what io-wq has not started ends at once; a piece already moving data
 * finishes, and blk_done starts no further one while resetting).
 */
static void blk_cancel(struct mmio_dev *d, struct io_uring *ring)
{
	struct blk *b = d->priv;
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	if (!sqe) {
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
	}
	if (!sqe)
		return; /* the reset waits for the completions instead */
	io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ALL);
	sqe->fd = b->fd;
	event_sqe_file(sqe, b->file); /* with IOSQE_FIXED_FILE the key is the registered file */
	io_uring_sqe_set_data(sqe, NULL); /* its own completion concerns nobody */
}

const struct dev_ops blk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.nqueues = 1,
	.queue_max = BLK_QUEUE_MAX,
	.features = blk_features,
	.config_size = sizeof(struct virtio_blk_config),
	.config_read = blk_config_read,
	.config_write = NULL, /* writeback is only writable with CONFIG_WCE, not offered */
	.activate = blk_activate,
	.reset = blk_reset,
	.notify = blk_notify,
	.attach = blk_attach,
	.cancel = blk_cancel,
};

/* O_DIRECT alignment from statx(STATX_DIOALIGN) (Linux 6.1); 512 when the kernel or fs does not say. */
static void blk_dio_align(struct blk *b)
{
	struct statx sx;
	b->dio_mem_align = b->dio_off_align = BLK_SECTOR;
	if (statx(b->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) || !(sx.stx_mask & STATX_DIOALIGN))
		return;
	/* Both are powers of two per statx(2); anything else from a strange fs keeps the default. */
	if (sx.stx_dio_mem_align && !(sx.stx_dio_mem_align & (sx.stx_dio_mem_align - 1)))
		b->dio_mem_align = sx.stx_dio_mem_align;
	if (sx.stx_dio_offset_align && !(sx.stx_dio_offset_align & (sx.stx_dio_offset_align - 1)))
		b->dio_off_align = sx.stx_dio_offset_align;
}

int blk_open(struct blk *b, const char *path, bool ro, bool direct, unsigned index,
	     const struct vq_mem *mem, int news_fd, char *err, size_t errlen)
{
	memset(b, 0, sizeof(*b));
	b->ro = ro;
	b->direct = direct;
	b->file = -1;
	b->sync_out = BLK_SYNC_OUT_DEFAULT;
	/* O_NONBLOCK until the type is checked: opening a FIFO read-only would wait for a writer forever. */
	b->fd = open(path, (ro ? O_RDONLY : O_RDWR) | (direct ? O_DIRECT : 0) | O_CLOEXEC | O_NONBLOCK);
	int e;
	if (b->fd < 0) {
		e = errno;
		goto err;
	}
	struct stat st;
	if (fstat(b->fd, &st) < 0) {
		e = errno;
		goto err_fd;
	}
	uint64_t size = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode) && ioctl(b->fd, BLKGETSIZE64, &size) < 0) {
		e = errno;
		goto err_fd;
	}
	if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode)) {
		e = EINVAL;
		snprintf(err, errlen, "cannot open disk: not a regular file or block device");
		goto err_fd_msg;
	}
	/* io_uring fails a request on an O_NONBLOCK file with -EAGAIN instead of waiting for the disk. */
	int fl = fcntl(b->fd, F_GETFL);
	if (fl < 0 || fcntl(b->fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		e = errno;
		goto err_fd;
	}
	b->capacity = size / BLK_SECTOR;
	if (direct)
		blk_dio_align(b);
	snprintf(b->id, sizeof(b->id), "ukvm-vd%c", 'a' + (int)(index % 26));
	char tag[8];
	snprintf(tag, sizeof(tag), "vd%c", 'a' + (int)(index % 26));
	b->reqs = calloc(BLK_QUEUE_MAX, sizeof(*b->reqs));
	b->iovs = calloc((size_t)BLK_QUEUE_MAX * BLK_MAX_SEGS, sizeof(*b->iovs));
	if (!b->reqs || !b->iovs) {
		e = ENOMEM;
		goto err_fd;
	}
	if ((e = -mmio_init(&b->dev, &blk_ops, b, mem, news_fd, tag)))
		goto err_fd;
	return 0;
err_fd:
	snprintf(err, errlen, "cannot open disk: %s", strerror(e));
err_fd_msg:
	free(b->reqs);
	free(b->iovs);
	b->reqs = NULL;
	b->iovs = NULL;
	close(b->fd);
	b->fd = -1;
	return -e;
err:
	snprintf(err, errlen, "cannot open disk: %s", strerror(e));
	b->fd = -1;
	return -e;
}

void blk_close(struct blk *b)
{
	mmio_destroy(&b->dev);
	free(b->reqs);
	free(b->iovs);
	b->reqs = NULL;
	b->iovs = NULL;
	b->free = NULL;
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}

/* ------------------------------------------------------------- the class */

static int blk_class_count(const struct ukvm_config *cfg, char *err, size_t errlen)
{
	if (cfg->ndisks > UKVM_MAX_DISKS || (cfg->ndisks && !cfg->disks)) {
		snprintf(err, errlen, "%u disks: at most %u", cfg->ndisks, UKVM_MAX_DISKS);
		return -EINVAL;
	}
	return (int)cfg->ndisks;
}

static int blk_class_open(const struct ukvm_config *cfg, unsigned i, const struct dev_env *env,
			  struct mmio_dev **out, char *err, size_t errlen)
{
	const struct ukvm_disk *dk = &cfg->disks[i];
	char why[160];
	if (!dk->path) {
		snprintf(err, errlen, "(null): cannot open disk: no path");
		return -EINVAL;
	}
	struct blk *b = calloc(1, sizeof(*b));
	if (!b) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int r = blk_open(b, dk->path, dk->ro, dk->direct, env->index, env->mem, env->news_fd, why, sizeof(why));
	if (r) {
		snprintf(err, errlen, "%s: %s", dk->path, why);
		free(b);
		return r;
	}
	*out = &b->dev;
	return 0;
}

static void blk_class_close(struct mmio_dev *d)
{
	struct blk *b = d->priv;
	blk_close(b);
	free(b);
}

static void blk_class_save(struct mmio_dev *d, struct dev_state *s)
{
	const struct blk *b = d->priv;
	s->kind = DEV_KIND_BLK;
	s->flags = b->ro ? DEV_STATE_RO : 0;
	s->size = b->capacity * BLK_SECTOR;
}

/* The disk attached for a restore must look like the one the guest knew: same capacity, same read-only bit. */
static int blk_class_load(struct mmio_dev *d, const struct dev_state *s, char *err, size_t errlen)
{
	const struct blk *b = d->priv;
	if (s->kind != DEV_KIND_BLK) {
		snprintf(err, errlen, "%s: the snapshot has another kind of device in this slot", d->tag);
		return -EINVAL;
	}
	if (s->size != b->capacity * BLK_SECTOR) {
		snprintf(err, errlen, "%s: disk has %llu bytes, the snapshot's had %llu", d->tag,
			 (unsigned long long)(b->capacity * BLK_SECTOR), (unsigned long long)s->size);
		return -EINVAL;
	}
	if (!!(s->flags & DEV_STATE_RO) != b->ro) {
		snprintf(err, errlen, "%s: disk is %s, the snapshot's was %s", d->tag, b->ro ? "read-only" : "writable",
			 b->ro ? "writable" : "read-only");
		return -EINVAL;
	}
	return 0;
}

const struct dev_class blk_class = {
	.name = "blk",
	.count = blk_class_count,
	.open = blk_class_open,
	.close = blk_class_close,
	.save = blk_class_save,
	.load = blk_class_load,
};
