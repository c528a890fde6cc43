/* fuzz_net.c: harness for the virtio-net device (devices/net.c) over a real io_uring and a datagram socketpair backend. */
#include <errno.h>
#include <liburing.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "net.h"
#include "virtio_mmio.h"

/*
 * Input: a flag byte (EVENT_IDX, a 9000-byte MTU), both queues' sizes and
 * ring addresses, the guest RAM image, then operations: stores into RAM
 * (bytes, whole descriptors, avail entries the way a driver publishes
 * them, a driver's whole TX frame or RX buffer), kicks and polls followed
 * by what the event thread does with the completions, frames arriving from
 * the network, device resets and config reads. Checked: the reads and
 * writes in flight stay within the device's bounds, a write never stays
 * in flight once the network took everything, what reaches the network is
 * a frame of a legal length behind an all-zero header, a stop cancels every
 * read in bounded time, and every buffer the device maps lies in RAM.
 */
#define FN_RAM 0x10000u
#define FN_ROUNDS 64          /* completion rounds per pump: far more than one operation needs */
#define FN_STOP_ROUNDS 1000   /* rounds a stop may take to see every read cancelled */

static struct fn_host {
	bool ready;
	int sv[2]; /* sv[0] the device's backend, sv[1] the network */
	struct io_uring ring;
} fn;

static uint8_t *fn_ram;
static uint32_t fn_mtu;

static void *fn_map(void *ctx, uint64_t gpa, size_t len)
{
	(void)ctx;
	FUZZ_CHECK(len != 0);
	return gpa > FN_RAM || len > FN_RAM - gpa ? NULL : fn_ram + gpa;
}

static void fn_cleanup(void)
{
	close(fn.sv[0]);
	close(fn.sv[1]);
	io_uring_queue_exit(&fn.ring);
}

/* Once per process (the Check runner forks per input): the backend pair and the ring. */
static void fn_setup(void)
{
	if (fn.ready)
		return;
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fn.sv) == 0);
	FUZZ_CHECK(io_uring_queue_init(64, &fn.ring, 0) == 0);
	fn.ready = true;
	atexit(fn_cleanup);
}

static void wr(struct net *n, uint64_t off, uint32_t v)
{
	mmio_write(&n->dev, off, &v, 4);
}

/* Everything the device sent: each a legal frame behind an all-zero header (no guest header byte leaks). */
static void fn_network_take(void)
{
	static uint8_t buf[16384];
	static const uint8_t zero[NET_HDR_LEN];
	ssize_t r;
	while ((r = recv(fn.sv[1], buf, sizeof(buf), MSG_DONTWAIT)) >= 0) {
		FUZZ_CHECK(r >= (ssize_t)(NET_HDR_LEN + NET_ETH_HLEN));
		FUZZ_CHECK(r <= (ssize_t)(NET_HDR_LEN + NET_ETH_HLEN + NET_VLAN_HLEN + fn_mtu));
		FUZZ_CHECK(memcmp(buf, zero, NET_HDR_LEN) == 0);
	}
	FUZZ_CHECK(errno == EAGAIN);
}

static unsigned fn_inflight(struct net *n)
{
	pthread_mutex_lock(&n->dev.lock);
	unsigned k = n->dev.inflight;
	pthread_mutex_unlock(&n->dev.lock);
	return k;
}

/* The event thread's part: completions until a round brings none (reads may wait for frames forever). */
static void fn_pump(struct net *n)
{
	for (int round = 0; round < FN_ROUNDS; round++) {
		struct __kernel_timespec ts = { 0, 100000 };
		struct io_uring_cqe *cqe;
		int got = 0;
		io_uring_submit_and_wait_timeout(&fn.ring, &cqe, 1, &ts, NULL);
		while (io_uring_peek_cqe(&fn.ring, &cqe) == 0) {
			struct event_op *op = io_uring_cqe_get_data(cqe);
			int res = cqe->res;
			io_uring_cqe_seen(&fn.ring, cqe);
			if (op)
				op->done(op, &fn.ring, res);
			got++;
		}
		fn_network_take();
		if (!got)
			break;
	}
	FUZZ_CHECK(fn_inflight(n) <= NET_RX_INFLIGHT + NET_TX_INFLIGHT);
}

/* A stop or reset: cancel what is in flight (as the event thread does); every read ends in bounded time. */
static void fn_cancel_all(struct net *n)
{
	for (int round = 0; fn_inflight(n); round++) {
		FUZZ_CHECK(round < FN_STOP_ROUNDS);
		pthread_mutex_lock(&n->dev.lock);
		net_ops.cancel(&n->dev, &fn.ring);
		pthread_mutex_unlock(&n->dev.lock);
		fn_pump(n);
	}
}

struct fn_queue {
	uint32_t num;
	uint16_t desc, avail, used, avail_idx;
};

static void fn_queue_init(struct net *n, unsigned i, const struct fn_queue *q)
{
	wr(n, VIRTIO_MMIO_QUEUE_SEL, i);
	wr(n, VIRTIO_MMIO_QUEUE_NUM, q->num);
	wr(n, VIRTIO_MMIO_QUEUE_DESC_LOW, q->desc);
	wr(n, VIRTIO_MMIO_QUEUE_DRIVER_LOW, q->avail);
	wr(n, VIRTIO_MMIO_QUEUE_DEVICE_LOW, q->used);
	wr(n, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* A driver's setup (spec 3.1.1): reset, status, features, both queues, DRIVER_OK. */
static void fn_driver_init(struct net *n, uint64_t features, struct fn_queue *q)
{
	fn_cancel_all(n); /* a reset waits for what is in flight: the event thread cancels it */
	wr(n, VIRTIO_MMIO_STATUS, 0);
	wr(n, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(n, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(n, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(n, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(n, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(n, VIRTIO_MMIO_STATUS, 0xb);
	fn_queue_init(n, VIRTIO_NET_RXQ, &q[0]);
	fn_queue_init(n, VIRTIO_NET_TXQ, &q[1]);
	wr(n, VIRTIO_MMIO_STATUS, 0xf);
	q[0].avail_idx = q[1].avail_idx = 0;
}

/* Publishes head in queue q's avail ring, as vq_drv_add does (a ring outside RAM is left alone). */
static void fn_publish(struct fn_queue *q, uint16_t head)
{
	uint32_t slot = q->avail + 4u + 2u * (q->avail_idx % q->num);
	q->avail_idx++;
	if (slot + 2 <= FN_RAM && q->avail + 4u <= FN_RAM) {
		memcpy(fn_ram + slot, &head, 2);
		memcpy(fn_ram + q->avail + 2, &q->avail_idx, 2);
	}
}

static void fn_desc(const struct fn_queue *q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint32_t at = q->desc + 16u * (i % q->num);
	uint8_t d[16];
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	if (at + 16 <= FN_RAM)
		memcpy(fn_ram + at, d, 16);
}

/* A driver's TX frame in slot r (of 4): header then frame at 0x8000 + 0x800 r, descriptors 2r, 2r+1. */
static void fn_tx_frame(struct fn_queue *q, struct fuzz_in *in)
{
	uint8_t how = fuzz_u8(in);
	unsigned r = how % 4, d = 2 * r;
	uint32_t len = fuzz_u16(in) % 0x7f4, at = 0x8000 + 0x800 * r;
	memset(fn_ram + at, 0, NET_HDR_LEN);
	if (how & 0x80)
		fn_ram[at + (how >> 2) % NET_HDR_LEN] = fuzz_u8(in); /* a header field set */
	fn_desc(q, d, at, NET_HDR_LEN, VIRTQ_DESC_F_NEXT, (uint16_t)(d + 1));
	fn_desc(q, d + 1, at + NET_HDR_LEN, len, how & 0x40 ? VIRTQ_DESC_F_WRITE : 0, 0);
	fn_publish(q, (uint16_t)(d % q->num));
}

/* A driver's RX buffer in slot r (of 4): one writable descriptor 8 + r at 0xa000 + 0x600 r (room for 1526 bytes). */
static void fn_rx_buffer(struct fn_queue *q, struct fuzz_in *in)
{
	uint8_t how = fuzz_u8(in);
	unsigned r = how % 4, d = 8 + r;
	uint32_t len = how & 0x80 ? fuzz_u16(in) : NET_HDR_LEN + NET_ETH_HLEN + 1500;
	fn_desc(q, d, 0xa000 + 0x600 * r, len, VIRTQ_DESC_F_WRITE, 0);
	fn_publish(q, (uint16_t)(d % q->num));
}

/* The network sends a datagram of a fuzzed length (runts and giants included). */
static void fn_network_send(struct fuzz_in *in)
{
	static uint8_t buf[12000];
	uint32_t len = fuzz_u16(in) % sizeof(buf);
	memset(buf, fuzz_u8(in), len);
	(void)send(fn.sv[1], buf, len, MSG_DONTWAIT); /* a full backend drops it, as a tap would */
}

/* Both directions of the pair empty: nothing of a previous input is left in them. */
static void fn_flush(void)
{
	static uint8_t buf[16384];
	while (recv(fn.sv[0], buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		;
	while (recv(fn.sv[1], buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	static struct net n;
	struct fn_queue q[2];
	char err[128];
	size_t got;

	fn_setup();
	fn_flush();
	uint8_t flags = fuzz_u8(&in);
	uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MAC) |
			    (flags & 1 ? VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) : 0) | (flags & 2 ? VIRTIO_BIT(VIRTIO_NET_F_MTU) : 0);
	fn_mtu = flags & 4 ? 9000 : 1500;
	for (int i = 0; i < 2; i++) {
		q[i].num = 1u << (fuzz_u8(&in) % 9); /* up to NET_QUEUE_MAX */
		q[i].desc = fuzz_u16(&in);
		q[i].avail = fuzz_u16(&in);
		q[i].used = fuzz_u16(&in);
		q[i].avail_idx = 0;
	}
	fn_ram = calloc(1, FN_RAM);
	FUZZ_CHECK(fn_ram != NULL);
	const uint8_t *img = fuzz_bytes(&in, fuzz_u16(&in), &got);
	memcpy(fn_ram, img, got);

	struct vq_mem mem = { fn_map, NULL };
	struct ukvm_net cfg = { .kind = UKVM_NET_FD, .fd = fn.sv[0], .mac = { 2, 0, 0, 0, 0, 1 },
				.mtu = fn_mtu == 1500 ? 0 : fn_mtu };
	FUZZ_CHECK(net_open(&n, fn.sv[0], false, &cfg, 0, &mem, -1, err, sizeof(err)) == 0);
	n.dev.warn_budget = 0;
	fn_driver_init(&n, features, q);
	for (unsigned ops = 0; in.n && ops < 256; ops++) {
		uint8_t op = fuzz_u8(&in);
		struct fn_queue *fq = &q[op >> 7];
		switch (op % 10) {
		case 0: { /* a guest store */
			uint16_t off = fuzz_u16(&in);
			fn_ram[off] = fuzz_u8(&in);
			break;
		}
		case 1: { /* a descriptor: addr (anywhere, with a flag), len, flags, next */
			unsigned i = fuzz_u8(&in);
			uint64_t addr = op & 0x40 ? fuzz_u64(&in) : fuzz_u16(&in);
			uint32_t len = op & 0x20 ? fuzz_u32(&in) : fuzz_u16(&in) % 0x800;
			uint16_t fl = fuzz_u8(&in) & 7;
			fn_desc(fq, i, addr, len, fl, fuzz_u8(&in));
			break;
		}
		case 2: /* publish any head */
			fn_publish(fq, fuzz_u8(&in));
			break;
		case 3: /* a kick */
			mmio_notify(&n.dev, op >> 7, &fn.ring);
			fn_pump(&n);
			break;
		case 4: /* the event thread polling */
			(void)mmio_poll(&n.dev, op >> 7, &fn.ring, fuzz_u64(&in));
			fn_pump(&n);
			break;
		case 5: /* frames from the network */
			fn_network_send(&in);
			fn_pump(&n);
			break;
		case 6: /* a reset and the driver again */
			fn_driver_init(&n, features, q);
			break;
		case 7: {
			uint64_t v;
			mmio_read(&n.dev, VIRTIO_MMIO_CONFIG + fuzz_u8(&in) % 0x20, &v, 1u << (fuzz_u8(&in) % 4));
			break;
		}
		case 8:
			fn_tx_frame(&q[1], &in);
			break;
		case 9:
			fn_rx_buffer(&q[0], &in);
			break;
		}
		/* Once the network took everything, no write waits: TX never holds a chain the backend could take. */
		for (int k = 0; k < 100 && n.tx[0].op.done && !n.tx_free && mmio_live(&n.dev); k++)
			fn_pump(&n);
		FUZZ_CHECK(!n.tx[0].op.done || n.tx_free || !mmio_live(&n.dev));
	}
	fn_cancel_all(&n);
	net_close(&n);
	free(fn_ram);
	return 0;
}
