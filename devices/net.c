/* net.c: virtio-net (queue 0 RX, queue 1 TX, checksum and TSO offloads on a tap) on a frame fd: guest chains read and written in place on io_uring. */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "net_user.h"
#include "ukvm_abi.h"


#define RXQ VIRTIO_NET_RXQ
#define TXQ VIRTIO_NET_TXQ

/*
 * Offloads only where the backend takes them (net_offer_offloads: a tap):
 * checksums both ways (CSUM, GUEST_CSUM) and TCPv4 segmentation both ways
 * (HOST_TSO4, GUEST_TSO4), so a stream moves 64 KiB per frame, per ring
 * entry and per write or read instead of one MTU. A header the guest writes
 * reaches the host kernel only after net_hdr_tx_check. The user-mode
 * backend (libslirp checks every checksum itself and segments nothing) and
 * an embedder's fd get none: the guest stack computes every checksum and
 * sends frames of at most its MTU.
 * No MRG_RXBUF: with GUEST_TSO4 the driver posts buffers that hold a whole
 * 64 KiB frame (spec 5.1.6.3.1), so a frame is still one chain and one
 * read; a frame larger than its buffer is dropped, never cut.
 * RING_EVENT_IDX is the transport's business (notification suppression).
 */
#define NET_OFFLOADS                                                                                              \
	(VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | \
	 VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4))

static uint64_t net_features(const struct mmio_dev *d)
{
	const struct net *n = d->priv;
	return VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) | VIRTIO_BIT(VIRTIO_NET_F_MAC) |
	       VIRTIO_BIT(VIRTIO_NET_F_STATUS) | VIRTIO_BIT(VIRTIO_NET_F_MTU) | (n->offload ? NET_OFFLOADS : 0);
}

/* Whether the driver may send offloaded frames (a header to check and pass on). */
static bool net_tx_offload(const struct net *n)
{
	return n->dev.features & (VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4));
}

/* mac, status, max_virtqueue_pairs, mtu: what the offered features define (spec 5.1.4). */
#define NET_CONFIG_SIZE ((uint32_t)offsetof(struct virtio_net_config, speed))

static void net_config_read(struct mmio_dev *d, uint32_t off, void *buf, uint32_t len)
{
	const struct net *n = d->priv;
	struct virtio_net_config c;
	memset(&c, 0, sizeof(c));
	memcpy(c.mac, n->cfg.mac, sizeof(c.mac));
	c.status = vq_le16(VIRTIO_NET_S_LINK_UP); /* the backend is there from open to close */
	c.max_virtqueue_pairs = vq_le16(1);
	c.mtu = vq_le16(n->mtu);
	memcpy(buf, (const uint8_t *)&c + off, len); /* the transport checked off + len <= config_size */
}

/*
 * The MTU both sides keep to: ours once the driver accepted
 * VIRTIO_NET_F_MTU, else the 1500 a driver assumes without it (spec
 * 5.1.6.3.1: its buffers then hold 1526 bytes). A larger frame from the
 * backend is dropped, not cut (net_rx_parse).
 */
static uint32_t net_mtu(const struct net *n)
{
	return n->dev.features & VIRTIO_BIT(VIRTIO_NET_F_MTU) ? n->mtu : NET_MTU_DEFAULT;
}

static void net_rx_done(struct event_op *op, struct io_uring *ring, int res);
static void net_tx_done(struct event_op *op, struct io_uring *ring, int res);

static struct net_req *net_free_list(struct net *n, struct net_req *r, unsigned count,
				     void (*done)(struct event_op *, struct io_uring *, int))
{
	struct net_req *head = NULL;
	for (unsigned i = count; i-- > 0;) {
		r[i].op.done = done;
		r[i].n = n;
		r[i].next_free = head;
		head = &r[i];
	}
	return head;
}

static int net_activate(struct mmio_dev *d)
{
	struct net *n = d->priv;
	/* Spec 5.1.5: both queues exist without MQ; a driver that set up only one cannot use us. */
	if (!d->q[RXQ].ready || !d->q[TXQ].ready)
		return -EINVAL;
	/* The slots live in struct net: nothing a guest does allocates (vmm/sandbox.c). */
	n->rx_free = net_free_list(n, n->rx, NET_RX_INFLIGHT, net_rx_done);
	n->tx_free = net_free_list(n, n->tx, NET_TX_INFLIGHT, net_tx_done);
	n->rx_errs = 0;
	n->rx_sync = n->tx_sync = true; /* until the backend says it cannot (EOPNOTSUPP) */
	return 0;
}

static void net_reset(struct mmio_dev *d)
{
	struct net *n = d->priv;
	n->rx_free = n->tx_free = NULL; /* inflight is 0 here: no CQE can still name a request */
}

static struct io_uring_sqe *net_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	if (!sqe) {
		io_uring_submit(ring); /* SQ full: hand the batch to the kernel and take a fresh slot */
		sqe = io_uring_get_sqe(ring);
	}
	return sqe;
}

/* Queues r's read (rx) or write on the backend. 0, or -EBUSY when the SQ has no room. */
static int net_prep(struct net *n, struct net_req *r, bool rx, struct io_uring *ring)
{
	struct io_uring_sqe *sqe = net_sqe(ring);
	if (!sqe)
		return -EBUSY;
	/* Offset 0: the backend is a stream or datagram file, which has none. */
	if (rx)
		io_uring_prep_readv(sqe, n->fd, r->iov, r->niov, 0);
	else
		io_uring_prep_writev(sqe, n->fd, r->iov, r->niov, 0);
	event_sqe_file(sqe, n->file); /* the event ring takes registered files only (net_attach) */
	io_uring_sqe_set_data(sqe, &r->op);
	return 0;
}

/*
 * Frame bytes of a chain into r->iov after the host-side header: the
 * chain's first NET_HDR_LEN bytes are the guest's header, which the backend
 * never sees (RX: r->ghdr keeps where they are, written once the frame is
 * in). Any framing is accepted (spec 5.1.6.2: header and data may share or
 * split descriptors).
 */
static void net_split(struct net_req *r, const struct vq_seg *s, int k)
{
	uint32_t skip = NET_HDR_LEN;
	memset(&r->hdr, 0, sizeof(r->hdr));
	r->iov[0] = (struct iovec){ &r->hdr, NET_HDR_LEN };
	r->niov = 1;
	r->nghdr = 0;
	for (int i = 0; i < k; i++) {
		uint32_t h = s[i].len < skip ? s[i].len : skip;
		if (h)
			r->ghdr[r->nghdr++] = (struct iovec){ s[i].ptr, h };
		skip -= h;
		if (s[i].len > h)
			r->iov[r->niov++] = (struct iovec){ (uint8_t *)s[i].ptr + h, s[i].len - h };
	}
}

/* Returns a chain with nothing written: the driver's sign that the device refused it. */
static void net_refuse(struct net *n, unsigned q, uint16_t head)
{
	(void)mmio_push_used(&n->dev, q, head, 0); /* a broken ring sets DEVICE_NEEDS_RESET */
}

/*
 * Spec 5.1.6.2: a TX chain is the header then the frame, device-readable.
 * Checks c and sets r up to write it; false (warned) when it is refused.
 */
static bool net_tx_parse(struct net *n, struct net_req *r, struct vq_chain *c)
{
	struct mmio_dev *d = &n->dev;
	int k = vq_chain_collect(c, n->segs, NET_MAX_SEGS);
	if (k < 0) {
		mmio_warn(d, "tx %u: %s", c->head, vq_err_str(k));
		return false;
	}
	uint64_t total = 0;
	for (int i = 0; i < k; i++) {
		if (n->segs[i].writable) {
			mmio_warn(d, "tx %u: a device-writable buffer in a TX chain", c->head);
			return false;
		}
		total += n->segs[i].len;
	}
	/*
	 * Spec 5.1.6.2.1: frames up to the MTU we offered (plus one VLAN tag),
	 * each behind its header; with TSO up to 64 KiB of IP (net_hdr_tx_check
	 * then holds frames past the MTU to TSO).
	 */
	uint64_t max = NET_HDR_LEN + NET_ETH_HLEN + NET_VLAN_HLEN +
		       (net_tx_offload(n) ? NET_GSO_IP_MAX : net_mtu(n));
	if (total < NET_HDR_LEN + NET_ETH_HLEN || total > max) {
		mmio_warn(d, "tx %u: %llu bytes: header and frame must be %u..%llu", c->head,
			  (unsigned long long)total, NET_HDR_LEN + NET_ETH_HLEN, (unsigned long long)max);
		return false;
	}
	net_split(r, n->segs, k);
	/*
	 * One copy of the guest's header, checked: without CSUM and HOST_TSO it
	 * asks for nothing (spec 5.1.6.2.1) and the backend gets zeros; with
	 * them the checked copy is what the backend gets (r->iov[0]), so the
	 * guest cannot change it after the check.
	 */
	struct virtio_net_hdr h;
	uint8_t *o = (uint8_t *)&h;
	for (unsigned i = 0; i < r->nghdr; o += r->ghdr[i].iov_len, i++)
		memcpy(o, r->ghdr[i].iov_base, r->ghdr[i].iov_len);
	if (net_tx_offload(n)) {
		const char *why;
		if (net_hdr_tx_check(&h, (uint32_t)total - NET_HDR_LEN, d->features, net_mtu(n), &why)) {
			mmio_warn(d, "tx %u: header (flags 0x%x, gso %u, hdr_len %u, gso_size %u, csum %u+%u): %s",
				  c->head, h.flags, h.gso_type, vq_le16(h.hdr_len), vq_le16(h.gso_size),
				  vq_le16(h.csum_start), vq_le16(h.csum_offset), why);
			return false;
		}
		r->hdr = h;
	} else if (h.flags || h.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		mmio_warn(d, "tx %u: header asks for offloads (flags 0x%x, gso %u), none negotiated", c->head, h.flags,
			  h.gso_type);
		return false;
	}
	r->head = c->head;
	r->cap = (uint32_t)total; /* <= max */
	return true;
}

/* A write's result res for r: counts it (one message for the first refusal). */
static void net_tx_count(struct net *n, struct net_req *r, int res)
{
	if (res == (int)r->cap) {
		n->st.tx_packets++;
		n->st.tx_bytes += r->cap - NET_HDR_LEN;
		return;
	}
	/* A tap that is down fails every write with EIO: say it once, count them all. */
	if (!n->st.tx_dropped && res != -ECANCELED)
		fprintf(stderr, "ukvm: %s: backend refused a frame: %s\n", n->dev.tag,
			res < 0 ? strerror(-res) : "short write");
	n->st.tx_dropped++;
}

/*
 * Writes r at once if the backend takes it without blocking (NET_SYNC_BATCH):
 * the write's result, or -EAGAIN when it must go through io_uring.
 */
static int net_tx_sync(struct net *n, struct net_req *r)
{
	if (!n->tx_sync)
		return -EAGAIN;
	ssize_t k = pwritev2(n->fd, r->iov, (int)r->niov, -1, RWF_NOWAIT);
	if (k >= 0)
		return (int)k;
	if (errno == EOPNOTSUPP) {
		n->tx_sync = false; /* an embedder's fd without RWF_NOWAIT: io_uring from now on */
		return -EAGAIN;
	}
	return errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

/* Pops TX chains and writes them while write slots are free; true when it pushed used entries. */
static bool net_tx_run(struct net *n, struct io_uring *ring)
{
	struct mmio_dev *d = &n->dev;
	struct vq_dev *q = &d->q[TXQ].vq;
	bool pushed = false;
	unsigned sync = 0;
	while (n->tx_free && mmio_live(d)) {
		struct vq_chain c;
		int r = vq_dev_pop(q, &c);
		if (r == 0)
			break;
		if (r < 0) {
			mmio_queue_error(d, TXQ, vq_err_str(r));
			break;
		}
		struct net_req *req = n->tx_free;
		if (!net_tx_parse(n, req, &c)) {
			n->st.tx_dropped++;
			net_refuse(n, TXQ, c.head);
			pushed = true;
			continue;
		}
		int res = sync < NET_SYNC_BATCH ? net_tx_sync(n, req) : -EAGAIN;
		if (res != -EAGAIN) {
			sync++;
			net_tx_count(n, req, res);
			(void)mmio_push_used(d, TXQ, c.head, 0); /* TX buffers are only read: 0 bytes written */
			pushed = true;
			continue;
		}
		if (net_prep(n, req, false, ring)) {
			n->st.tx_dropped++;
			net_refuse(n, TXQ, c.head);
			pushed = true;
			continue;
		}
		n->tx_free = req->next_free;
		d->inflight++;
	}
	return pushed;
}

/*
 * Spec 5.1.6.3: an RX chain is device-writable and, without MRG_RXBUF or
 * GUEST_TSO, holds the header and a whole frame of the MTU we offered.
 * Checks c and sets r up to read into it; false (warned) when refused.
 */
static bool net_rx_parse(struct net *n, struct net_req *r, struct vq_chain *c)
{
	struct mmio_dev *d = &n->dev;
	int k = vq_chain_collect(c, n->segs, NET_MAX_SEGS);
	if (k < 0) {
		mmio_warn(d, "rx %u: %s", c->head, vq_err_str(k));
		return false;
	}
	uint64_t total = 0;
	for (int i = 0; i < k; i++) {
		if (!n->segs[i].writable) {
			mmio_warn(d, "rx %u: a device-readable buffer in an RX chain", c->head);
			return false;
		}
		total += n->segs[i].len;
	}
	uint64_t min = NET_HDR_LEN + NET_ETH_HLEN + net_mtu(n);
	if (total < min) {
		mmio_warn(d, "rx %u: %llu bytes, below header + MTU + 14 = %llu", c->head, (unsigned long long)total,
			  (unsigned long long)min);
		return false;
	}
	net_split(r, n->segs, k);
	/*
	 * A datagram socket cuts a frame that does not fit and returns the
	 * length it kept, indistinguishable from a frame that fitted exactly;
	 * one more byte of our own makes the cut one longer than the buffer
	 * (a tap returns the frame's whole length anyway): dropped, not
	 * delivered truncated.
	 */
	r->iov[r->niov++] = (struct iovec){ &r->spill, 1 };
	r->head = c->head;
	r->cap = (uint32_t)total; /* chains are at most 2^32 - 1 bytes (vq_chain_next) */
	return true;
}

static int net_rx_result(struct net *n, struct net_req *r, int res);

/* Reads into r at once if a frame waits (NET_SYNC_BATCH): the read's result, or -EAGAIN when it must wait on io_uring. */
static int net_rx_sync(struct net *n, struct net_req *r)
{
	if (!n->rx_sync)
		return -EAGAIN;
	ssize_t k = preadv2(n->fd, r->iov, (int)r->niov, -1, RWF_NOWAIT);
	if (k >= 0)
		return (int)k;
	if (errno == EOPNOTSUPP) {
		n->rx_sync = false; /* an embedder's fd without RWF_NOWAIT: io_uring from now on */
		return -EAGAIN;
	}
	return errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

/*
 * Pops RX chains while read slots are free: fills each at once with a frame
 * the backend has queued (NET_SYNC_BATCH per call), else arms a backend
 * read on it. No chain, no read: a guest that posts no buffers leaves
 * frames in the backend (whose own queue is bounded), never in the monitor.
 */
static bool net_rx_fill(struct net *n, struct io_uring *ring)
{
	struct mmio_dev *d = &n->dev;
	struct vq_dev *q = &d->q[RXQ].vq;
	bool pushed = false;
	unsigned sync = 0;
	while (n->rx_free && !n->rx_dead && mmio_live(d)) {
		struct vq_chain c;
		int r = vq_dev_pop(q, &c);
		if (r == 0)
			break;
		if (r < 0) {
			mmio_queue_error(d, RXQ, vq_err_str(r));
			break;
		}
		struct net_req *req = n->rx_free;
		if (!net_rx_parse(n, req, &c)) {
			net_refuse(n, RXQ, c.head);
			pushed = true;
			continue;
		}
		int st = 0; /* net_rx_result's: 1 delivered, 0 read again, -1 the backend is gone */
		while (st == 0 && sync < NET_SYNC_BATCH) {
			int res = net_rx_sync(n, req);
			if (res == -EAGAIN)
				break;
			sync++;
			st = net_rx_result(n, req, res);
		}
		if (st > 0) {
			pushed = true; /* delivered: the slot is free for the next chain */
			continue;
		}
		if (st < 0 || net_prep(n, req, true, ring)) {
			net_refuse(n, RXQ, c.head);
			pushed = true;
			continue;
		}
		n->rx_free = req->next_free;
		d->inflight++;
	}
	return pushed;
}

static void net_notify(struct mmio_dev *d, unsigned q, struct io_uring *ring)
{
	struct net *n = d->priv;
	if (q == RXQ && net_rx_fill(n, ring))
		mmio_used_pushed(d, RXQ);
	if (q == TXQ && net_tx_run(n, ring))
		mmio_used_pushed(d, TXQ);
}

/*
 * Event thread, after DRIVER_OK: a tap hands us the offloads the driver
 * accepted (spec 5.1.6.4: never GSO or partial checksums it cannot take),
 * then read into whatever RX buffers the driver posted already.
 */
static int net_start(struct mmio_dev *d, struct io_uring *ring)
{
	struct net *n = d->priv;
	if (n->tap && n->offload) {
		unsigned want = 0;
		if (d->features & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM)) {
			want |= TUN_F_CSUM;
			if (d->features & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4))
				want |= TUN_F_TSO4;
		}
		if (want != n->tap_offload) {
			int r = net_tap_offload(n->fd, want);
			if (r)
				return r;
			n->tap_offload = want;
		}
	}
	if (net_rx_fill(n, ring))
		mmio_used_pushed(d, RXQ);
	return 0;
}

/* Writes the header the driver gets in front of a received frame (spec 5.1.6.4: r->hdr as checked, one buffer). */
static void net_rx_header(struct net_req *r)
{
	const uint8_t *s = (const uint8_t *)&r->hdr;
	for (unsigned i = 0; i < r->nghdr; s += r->ghdr[i].iov_len, i++)
		memcpy(r->ghdr[i].iov_base, s, r->ghdr[i].iov_len);
}

/*
 * A read returned res. Returns 1 when the chain went back to the driver,
 * 0 when r must read again into the same chain, -1 when the chain goes back
 * empty (the backend is gone).
 */
static int net_rx_result(struct net *n, struct net_req *r, int res)
{
	struct mmio_dev *d = &n->dev;
	if (res >= (int)(NET_HDR_LEN + NET_ETH_HLEN) && (uint32_t)res <= r->cap &&
	    !net_hdr_rx_check(&r->hdr, (uint32_t)res - NET_HDR_LEN, d->features)) {
		net_rx_header(r);
		(void)mmio_push_used(d, RXQ, r->head, (uint32_t)res);
		n->st.rx_packets++;
		n->st.rx_bytes += (uint32_t)res - NET_HDR_LEN;
		n->rx_errs = 0;
		return 1;
	}
	if (res > 0) {
		/*
		 * A runt, a frame larger than the buffer (a tap reports its whole
		 * length, having cut it), or one whose offloads the driver did not
		 * accept (built before a renegotiation).
		 */
		n->st.rx_dropped++;
		return 0;
	}
	if (n->rx_dead)
		return -1; /* a read armed before the backend was found gone */
	if (res == 0 || res == -EBADF || res == -EBADFD || ++n->rx_errs >= NET_RX_ERR_MAX) {
		/* End of file (the peer of a socket closed), a tap taken away, or a backend that only fails. */
		fprintf(stderr, "ukvm: %s: backend %s: receiving stops\n", d->tag,
			res ? strerror(-res) : "closed");
		n->rx_dead = true;
		return -1;
	}
	return 0; /* -EAGAIN, -EINTR, a one-off error: read again */
}

static void net_rx_done(struct event_op *op, struct io_uring *ring, int res)
{
	struct net_req *r = (struct net_req *)op;
	struct net *n = r->n;
	struct mmio_dev *d = &n->dev;
	pthread_mutex_lock(&d->lock);
	bool pushed = false;
	/* Reset or stop: the chain is no longer ours to fill (spec 2.4: no ring access after reset). */
	if (!d->resetting && mmio_live(d)) {
		int st = net_rx_result(n, r, res);
		if (st == 0 && !net_prep(n, r, true, ring)) {
			pthread_mutex_unlock(&d->lock); /* still in flight on the same chain */
			return;
		}
		if (st <= 0)
			net_refuse(n, RXQ, r->head);
		pushed = true;
	}
	r->next_free = n->rx_free;
	n->rx_free = r;
	mmio_inflight_done(d);
	if (!d->resetting && mmio_live(d))
		pushed |= net_rx_fill(n, ring); /* a read slot is free: take a chain that waited for one */
	if (pushed)
		mmio_used_pushed(d, RXQ);
	pthread_mutex_unlock(&d->lock);
}

static void net_tx_done(struct event_op *op, struct io_uring *ring, int res)
{
	struct net_req *r = (struct net_req *)op;
	struct net *n = r->n;
	struct mmio_dev *d = &n->dev;
	pthread_mutex_lock(&d->lock);
	bool pushed = false;
	net_tx_count(n, r, res);
	if (!d->resetting && mmio_live(d)) {
		(void)mmio_push_used(d, TXQ, r->head, 0); /* TX buffers are only read: 0 bytes written */
		pushed = true;
	}
	r->next_free = n->tx_free;
	n->tx_free = r;
	mmio_inflight_done(d);
	if (!d->resetting && mmio_live(d))
		pushed |= net_tx_run(n, ring); /* a write slot is free: take what queued meanwhile */
	if (pushed)
		mmio_used_pushed(d, TXQ);
	pthread_mutex_unlock(&d->lock);
}

static int net_attach(struct mmio_dev *d, struct event_loop *l)
{
	struct net *n = d->priv;
	int file = event_add_file(l, n->fd);
	if (file < 0)
		return file;
	n->file = file;
	return 0;
}

/*
 * A reset waits for what is in flight: cancel every read and write on the
 * backend. A read on an idle backend never completes on its own, so
 * without this a reset (and a stop) would wait for the next frame.
 */
static void net_cancel(struct mmio_dev *d, struct io_uring *ring)
{
	struct net *n = d->priv;
	struct io_uring_sqe *sqe = net_sqe(ring);
	if (!sqe)
		return; /* the reset's wait ends with the run's stop or deadline (mmio_set_stop_check) */
	io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ALL);
	sqe->fd = n->fd;
	event_sqe_file(sqe, n->file); /* with IOSQE_FIXED_FILE the key is the registered file */
	io_uring_sqe_set_data(sqe, NULL); /* its own completion concerns nobody */
}

const struct dev_ops net_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.nqueues = 2,
	.queue_max = NET_QUEUE_MAX,
	.features = net_features,
	.config_size = NET_CONFIG_SIZE,
	.config_read = net_config_read,
	.config_write = NULL, /* the MAC is writable only with CTRL_MAC_ADDR (legacy), not offered */
	.activate = net_activate,
	.reset = net_reset,
	.notify = net_notify,
	.start = net_start,
	.attach = net_attach,
	.cancel = net_cancel,
};

int net_open(struct net *n, int fd, bool own_fd, const struct ukvm_net *cfg, unsigned index,
	     const struct vq_mem *mem, int news_fd, char *err, size_t errlen)
{
	memset(n, 0, sizeof(*n));
	n->fd = fd;
	n->own_fd = own_fd;
	n->file = -1;
	n->cfg = *cfg;
	n->cfg.fwds = NULL;
	n->cfg.nfwds = 0;
	n->cfg.ifname = NULL; /* the caller's string: not kept */
	n->mtu = (uint16_t)(cfg->mtu ? cfg->mtu : NET_MTU_DEFAULT);
	char tag[16];
	snprintf(tag, sizeof(tag), "eth%u", index);
	int r = mmio_init(&n->dev, &net_ops, n, mem, news_fd, tag);
	if (r) {
		snprintf(err, errlen, "cannot set up the device: %s", strerror(-r));
		return r;
	}
	return 0;
}

void net_offer_offloads(struct net *n, bool tap)
{
	n->offload = true;
	n->tap = tap;
}

void net_close(struct net *n)
{
	mmio_destroy(&n->dev);
	if (n->user) {
		net_user_close(n->user); /* closes fd too */
		n->user = NULL;
		n->fd = -1;
	}
	if (n->own_fd && n->fd >= 0)
		close(n->fd);
	n->fd = -1;
}

void net_stats(struct net *n, struct net_stats *out)
{
	pthread_mutex_lock(&n->dev.lock);
	*out = n->st;
	pthread_mutex_unlock(&n->dev.lock);
}

int net_resolve(const struct ukvm_net *cfg, struct ukvm_net *out, char *err, size_t errlen)
{
	static const uint8_t zero[6];
	*out = *cfg;
	out->fwds = NULL;
	out->nfwds = 0;
	if (cfg->mtu && (cfg->mtu < UKVM_NET_MTU_MIN || cfg->mtu > UKVM_NET_MTU_MAX)) {
		snprintf(err, errlen, "mtu %u is outside %u..%u", cfg->mtu, UKVM_NET_MTU_MIN, UKVM_NET_MTU_MAX);
		return -EINVAL;
	}
	if (cfg->prefix > 32) {
		snprintf(err, errlen, "prefix /%u is longer than 32", cfg->prefix);
		return -EINVAL;
	}
	if (cfg->mac[0] & 1) {
		snprintf(err, errlen, "MAC %02x:%02x:%02x:%02x:%02x:%02x is a multicast address", cfg->mac[0],
			 cfg->mac[1], cfg->mac[2], cfg->mac[3], cfg->mac[4], cfg->mac[5]);
		return -EINVAL;
	}
	if (!memcmp(out->mac, zero, sizeof(zero))) {
		if (getrandom(out->mac, sizeof(out->mac), 0) != (ssize_t)sizeof(out->mac)) {
			int e = errno;
			snprintf(err, errlen, "getrandom for a MAC: %s", strerror(e));
			return -e;
		}
		out->mac[0] = (uint8_t)((out->mac[0] & 0xf0) | 0x02); /* x2: locally administered, unicast */
	}
	if (cfg->kind == UKVM_NET_USER) {
		/* QEMU's user-mode addressing, which libslirp serves. */
		if (!out->ipv4)
			out->ipv4 = htonl(0x0a00020f); /* 10.0.2.15 */
		if (!out->gw)
			out->gw = htonl(0x0a000202); /* 10.0.2.2 */
		if (!out->dns[0])
			out->dns[0] = htonl(0x0a000203); /* 10.0.2.3 */
	}
	if (out->ipv4 && !out->prefix)
		out->prefix = 24;
	return 0;
}

/* ------------------------------------------------------------- the class */

static int net_class_count(const struct ukvm_config *cfg, char *err, size_t errlen)
{
	if (cfg->nnets > UKVM_MAX_NICS || (cfg->nnets && !cfg->nets)) {
		snprintf(err, errlen, "%u NICs: at most %u", cfg->nnets, UKVM_MAX_NICS);
		return -EINVAL;
	}
	return (int)cfg->nnets;
}

/* The backend fd of cfg's kind: 0 and *fd (*own: ours to close; *user for UKVM_NET_USER) or -errno. */
static int net_backend(const struct ukvm_config *vc, const struct ukvm_net *cfg, int *fd, bool *own,
		       struct net_user **user, char *err, size_t errlen)
{
	int fl;
	*own = false;
	*user = NULL;
	switch (cfg->kind) {
	case UKVM_NET_TAP:
		if (!cfg->ifname || !*cfg->ifname) {
			snprintf(err, errlen, "tap: no interface name");
			return -EINVAL;
		}
		*fd = net_tap_open(cfg->ifname, err, errlen);
		*own = true;
		return *fd < 0 ? *fd : 0;
	case UKVM_NET_FD:
		*fd = cfg->fd;
		if ((fl = fcntl(*fd, F_GETFL)) < 0) {
			int e = errno;
			snprintf(err, errlen, "fd %d: %s", cfg->fd, strerror(e));
			return -e;
		}
		if (fl & O_NONBLOCK) {
			/* io_uring fails reads on an O_NONBLOCK file with EAGAIN instead of waiting for a frame. */
			snprintf(err, errlen, "fd %d is O_NONBLOCK: give a blocking fd", cfg->fd);
			return -EINVAL;
		}
		return 0;
	case UKVM_NET_USER: {
		int r = net_user_open(cfg, user, fd, err, errlen);
		if (r)
			return r;
		/* The helper runs before the guest does, sandboxed as we are (devices/net_user.h). */
		if ((r = net_user_start(*user, vc->seccomp))) {
			snprintf(err, errlen, "user-mode networking: starting the helper: %s", strerror(-r));
			net_user_close(*user);
			*user = NULL;
		}
		return r;
	}
	default:
		snprintf(err, errlen, "unknown kind %d", (int)cfg->kind);
		return -EINVAL;
	}
}

static int net_class_open(const struct ukvm_config *cfg, unsigned i, const struct dev_env *env,
			  struct mmio_dev **out, char *err, size_t errlen)
{
	const struct ukvm_net *nc = &cfg->nets[i];
	const char *who = nc->kind == UKVM_NET_TAP && nc->ifname ? nc->ifname : NULL;
	char why[200];
	struct ukvm_net rc;
	int fd = -1, r;
	bool own;
	struct net_user *user;
	if ((r = net_resolve(nc, &rc, why, sizeof(why))))
		goto err;
	struct net *n = calloc(1, sizeof(*n));
	if (!n) {
		snprintf(why, sizeof(why), "out of memory");
		r = -ENOMEM;
		goto err;
	}
	if ((r = net_backend(cfg, nc, &fd, &own, &user, why, sizeof(why)))) {
		free(n);
		goto err;
	}
	if ((r = net_open(n, fd, own, &rc, env->index, env->mem, env->news_fd, why, sizeof(why)))) {
		n->fd = -1;
		if (user)
			net_user_close(user);
		else if (own)
			close(fd);
		free(n);
		goto err;
	}
	n->user = user;
	/* A tap that takes TSO takes checksum offload too (TUN_F_TSO4 needs TUN_F_CSUM); probed, then off again. */
	if (nc->kind == UKVM_NET_TAP && !net_tap_offload(fd, TUN_F_CSUM | TUN_F_TSO4) && !net_tap_offload(fd, 0))
		net_offer_offloads(n, true);
	*out = &n->dev;
	return 0;
err:
	if (who)
		snprintf(err, errlen, "%s: %s", who, why);
	else
		snprintf(err, errlen, "eth%u: %s", i, why);
	return r;
}

static void net_class_close(struct mmio_dev *d)
{
	struct net *n = d->priv;
	net_close(n);
	free(n);
}

/* ------------------------------------------------------------- snapshots */

/*
 * RX reads in flight hold chains the device took: RX_INFLIGHT reads at
 * most, the last chains taken (one read: exactly the last). Lock held.
 */
_Static_assert(NET_RX_INFLIGHT == 1, "net_snap_rx_held: the chains held are the last taken only with one read");
static unsigned net_snap_rx_held(const struct net *n)
{
	unsigned free = 0;
	for (const struct net_req *r = n->rx_free; r && free < NET_RX_INFLIGHT; r = r->next_free)
		free++;
	unsigned held = NET_RX_INFLIGHT - free;
	return held < n->dev.inflight ? held : n->dev.inflight; /* before DRIVER_OK no slot is free, none held */
}

/* Quiet for a snapshot: RX reads may wait for frames; no TX write in flight or waiting, no reset or start due. */
static bool net_class_quiet(struct mmio_dev *d)
{
	struct net *n = d->priv;
	pthread_mutex_lock(&d->lock);
	bool quiet = !d->resetting && !d->start_pending && !d->cancel_pending && d->inflight == net_snap_rx_held(n);
	const struct mmio_queue *tq = &d->q[TXQ];
	/* avail.idx (the second u16 of the avail ring) not yet consumed: a frame still to send. */
	if (quiet && tq->ready && mmio_live(d) && tq->vq.avail[1] != tq->vq.last_avail)
		quiet = false;
	pthread_mutex_unlock(&d->lock);
	return quiet;
}

/*
 * The NIC's MAC and MTU (the guest knows both), and the RX queue as if the
 * chains held by reads had never been taken: the restored device takes and
 * fills them again (spec 2.7.13.1: the driver never reuses a buffer the
 * device has not used), a frame arriving meanwhile is the live VM's only.
 */
static void net_class_save(struct mmio_dev *d, struct dev_state *s)
{
	struct net *n = d->priv;
	pthread_mutex_lock(&d->lock);
	s->kind = DEV_KIND_NET;
	s->flags = 0;
	s->size = DEV_NET_SIZE(n->cfg.mac, n->mtu);
	const struct mmio_queue *rq = &d->q[RXQ];
	if (rq->ready) {
		s->tr.q[RXQ].last_avail = (uint16_t)(rq->vq.last_avail - net_snap_rx_held(n));
		s->tr.q[RXQ].used_idx = rq->vq.used_idx;
		s->tr.q[RXQ].signalled_used = rq->vq.signalled_used;
	}
	pthread_mutex_unlock(&d->lock);
}

/*
 * A restored NIC keeps the snapshot's MAC and MTU, whatever the restore's
 * --net chose: the guest has them (its ARP peers too). The backend is the
 * restore's; the features it offers must cover the negotiated ones
 * (mmio_load: a tap's offloads are refused on a user-mode backend).
 */
static int net_class_load(struct mmio_dev *d, const struct dev_state *s, char *err, size_t errlen)
{
	struct net *n = d->priv;
	if (s->kind != DEV_KIND_NET) {
		snprintf(err, errlen, "%s: the snapshot has another kind of device in this slot", d->tag);
		return -EINVAL;
	}
	uint16_t mtu = DEV_NET_MTU(s->size);
	if (!dev_net_state_ok(s)) { /* snap_parse checked it too: this load may come from elsewhere */
		snprintf(err, errlen, "%s: bad NIC state in the snapshot (MTU %u, flags 0x%x)", d->tag, mtu, s->flags);
		return -EINVAL;
	}
	for (unsigned i = 0; i < sizeof(n->cfg.mac); i++)
		n->cfg.mac[i] = DEV_NET_MAC_BYTE(s->size, i);
	n->mtu = mtu;
	return 0;
}

static const struct ukvm_net *net_class_nic(struct mmio_dev *d)
{
	return &((struct net *)d->priv)->cfg;
}

static void net_class_stats(struct mmio_dev *d, struct ukvm_net_stats *o)
{
	struct net_stats s;
	net_stats(d->priv, &s);
	o->rx_packets = s.rx_packets;
	o->rx_bytes = s.rx_bytes;
	o->rx_dropped = s.rx_dropped;
	o->tx_packets = s.tx_packets;
	o->tx_bytes = s.tx_bytes;
	o->tx_dropped = s.tx_dropped;
}

const struct dev_class net_class = {
	.name = "net",
	.count = net_class_count,
	.open = net_class_open,
	.close = net_class_close,
	.nic = net_class_nic,
	.nic_stats = net_class_stats,
	.save = net_class_save,
	.load = net_class_load,
	.quiet = net_class_quiet,
};
