/* check_devnet.c: unit suite "devnet" (devices/net.c, net_tap.c): frames both ways between proto's driver-side rings and a socketpair backend on a real io_uring. */

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_tun.h>
#include <liburing.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "net.h"
#include "ukvm_abi.h"
#include "virtio_mmio.h"

#define GMEM (16u << 20)
#define QSZ 256
#define RXR_GPA 0x10000ull
#define TXR_GPA 0x20000ull
#define RXB_GPA 0x100000ull /* RX buffers, 16 KiB apart */
#define TXB_GPA 0x800000ull /* TX frames, 16 KiB apart */
#define BUF_STRIDE 0x4000ull
#define MMIO_GPA (64ull << 30) /* UKVM_MMIO_BASE: the device window, never RAM */

static uint8_t *gmem;
static struct net n0;
static struct net *np = &n0; /* the device under test: n0, or one the class opened */
static struct vq_drv rxq, txq;
static struct vq_drv_slot rxs[QSZ], txs[QSZ];
static struct io_uring ring;
static int sv[2] = { -1, -1 }; /* sv[0] the device's backend, sv[1] the "network" */
static int news_fd = -1;
static bool opened;

static void *g_map(void *ctx, uint64_t gpa, size_t len)
{
	(void)ctx;
	return gpa > GMEM || len > GMEM - gpa ? NULL : gmem + gpa;
}

static void wr(uint64_t off, uint32_t v)
{
	mmio_write(&np->dev, off, &v, 4);
}

static uint32_t rd(uint64_t off)
{
	uint32_t v;
	mmio_read(&np->dev, off, &v, 4);
	return v;
}

static uint64_t drv_feat = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) |
			   VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS) | VIRTIO_BIT(VIRTIO_NET_F_MTU);

static void queue_setup(unsigned q, uint64_t gpa)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, q);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), NET_QUEUE_MAX);
	wr(VIRTIO_MMIO_QUEUE_NUM, QSZ);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)gpa);
	wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(gpa + VIRTQ_LAYOUT_AVAIL_OFF(QSZ)));
	wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(gpa + VIRTQ_LAYOUT_USED_OFF(QSZ)));
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
}

/* The driver's bring-up (spec 3.1.1), without DRIVER_OK. */
static void negotiate(void)
{
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)drv_feat);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(drv_feat >> 32));
	wr(VIRTIO_MMIO_STATUS, 0xb);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0xb);
	queue_setup(VIRTIO_NET_RXQ, RXR_GPA);
	queue_setup(VIRTIO_NET_TXQ, TXR_GPA);
	ck_assert_int_eq(vq_drv_init(&rxq, QSZ, gmem + RXR_GPA, gmem + RXR_GPA + VIRTQ_LAYOUT_AVAIL_OFF(QSZ),
				     gmem + RXR_GPA + VIRTQ_LAYOUT_USED_OFF(QSZ), rxs, drv_feat),
			 0);
	ck_assert_int_eq(vq_drv_init(&txq, QSZ, gmem + TXR_GPA, gmem + TXR_GPA + VIRTQ_LAYOUT_AVAIL_OFF(QSZ),
				     gmem + TXR_GPA + VIRTQ_LAYOUT_USED_OFF(QSZ), txs, drv_feat),
			 0);
}

static void open_nic_on(int fd, uint32_t mtu)
{
	struct vq_mem m = { g_map, NULL };
	struct ukvm_net cfg = { .kind = UKVM_NET_FD, .fd = fd, .mac = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 },
				.mtu = mtu };
	char err[128];
	ck_assert_msg(net_open(np, fd, true, &cfg, 0, &m, news_fd, err, sizeof(err)) == 0, "%s", err);
	opened = true;
	np->dev.warn_budget = 0; /* hostile cases warn by design */
	negotiate();
	wr(VIRTIO_MMIO_STATUS, 0xf);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0xf);
}

#define OFFLOADS                                                                                                  \
	(VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | \
	 VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4))

/* A NIC whose backend takes offloads (net_offer_offloads), the driver accepting extra of them. */
static void open_nic_offload(uint64_t extra)
{
	struct vq_mem m = { g_map, NULL };
	struct ukvm_net cfg = { .kind = UKVM_NET_FD, .fd = sv[0], .mac = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 } };
	char err[128];
	ck_assert_msg(net_open(np, sv[0], true, &cfg, 0, &m, news_fd, err, sizeof(err)) == 0, "%s", err);
	opened = true;
	net_offer_offloads(np, false);
	np->dev.warn_budget = 0;
	drv_feat |= extra;
	negotiate();
	wr(VIRTIO_MMIO_STATUS, 0xf);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0xf);
}

static void open_nic_mtu(uint32_t mtu)
{
	open_nic_on(sv[0], mtu);
}

static void open_nic(void)
{
	open_nic_mtu(0);
}

static void setup_type(int type)
{
	gmem = aligned_alloc(4096, GMEM);
	ck_assert_ptr_nonnull(gmem);
	memset(gmem, 0, GMEM);
	ck_assert_int_eq(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	news_fd = eventfd(0, EFD_NONBLOCK);
	ck_assert_int_eq(io_uring_queue_init(64, &ring, 0), 0);
	opened = false;
}

static void setup(void)
{
	setup_type(SOCK_DGRAM);
}

static void teardown(void)
{
	drv_feat &= ~(uint64_t)OFFLOADS;
	if (np != &n0) {
		net_class.close(&np->dev);
		np = &n0;
	}
	if (opened)
		net_close(np); /* closes sv[0] */
	else
		close(sv[0]);
	close(sv[1]);
	io_uring_queue_exit(&ring);
	close(news_fd);
	free(gmem);
}

static uint64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* The event thread's part: submit, then hand completions to the device for up to ms. */
static void pump(unsigned ms)
{
	uint64_t end = now_ms() + ms;
	do {
		struct __kernel_timespec ts = { 0, 1000000 };
		struct io_uring_cqe *cqe;
		io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, NULL);
		while (io_uring_peek_cqe(&ring, &cqe) == 0) {
			struct event_op *op = io_uring_cqe_get_data(cqe);
			int res = cqe->res;
			io_uring_cqe_seen(&ring, cqe);
			if (op)
				op->done(op, &ring, res);
		}
	} while (now_ms() < end);
}

/* Pumps until the driver queue q has a used entry (at most 2 s): returns its length and cookie. */
static uint32_t wait_used(struct vq_drv *q, void **cookie)
{
	uint32_t len;
	uint64_t end = now_ms() + 2000;
	for (;;) {
		int r = vq_drv_get_used(q, cookie, &len);
		ck_assert_int_ge(r, 0);
		if (r == 1)
			return len;
		ck_assert_msg(now_ms() < end, "no used entry within 2 s");
		pump(1);
	}
}

static bool no_used(struct vq_drv *q)
{
	void *cookie;
	uint32_t len;
	return vq_drv_get_used(q, &cookie, &len) == 0;
}

static unsigned inflight(void)
{
	pthread_mutex_lock(&np->dev.lock);
	unsigned k = np->dev.inflight;
	pthread_mutex_unlock(&np->dev.lock);
	return k;
}

static uint8_t pat(unsigned frame, unsigned i)
{
	return (uint8_t)(frame * 31 + i * 7 + (i >> 8));
}

/* len bytes at gpa g as descriptors: the first of first bytes, then pieces of at most piece bytes. */
static unsigned split(struct vq_sg *sg, uint64_t g, uint32_t len, uint32_t first, uint32_t piece, bool w)
{
	unsigned k = 0;
	for (uint32_t o = 0, p = first; o < len; o += p, p = piece) {
		uint32_t l = len - o < p ? len - o : p;
		sg[k++] = (struct vq_sg){ g + o, l, w };
		ck_assert_uint_le(k, NET_MAX_SEGS);
	}
	return k;
}

/* Frame number f of len bytes (after the 12-byte header) into TX slot s, split as split() does. */
static void tx_frame_split(unsigned s, unsigned f, uint32_t len, uint32_t first, uint32_t piece)
{
	uint64_t g = TXB_GPA + s * BUF_STRIDE;
	memset(gmem + g, 0, NET_HDR_LEN);
	for (uint32_t i = 0; i < len; i++)
		gmem[g + NET_HDR_LEN + i] = pat(f, i);
	struct vq_sg sg[NET_MAX_SEGS];
	unsigned k = split(sg, g, NET_HDR_LEN + len, first, piece, false);
	ck_assert_int_eq(vq_drv_add(&txq, sg, k, (void *)(uintptr_t)(s + 1)), 0);
}

static void tx_frame(unsigned s, unsigned f, uint32_t len, uint32_t piece)
{
	tx_frame_split(s, f, len, piece, piece);
}

/* An RX buffer of len bytes in slot s, split as split() does. */
static void rx_buf_split(unsigned s, uint32_t len, uint32_t first, uint32_t piece)
{
	uint64_t g = RXB_GPA + s * BUF_STRIDE;
	memset(gmem + g, 0xee, len);
	struct vq_sg sg[NET_MAX_SEGS];
	unsigned k = split(sg, g, len, first, piece, true);
	ck_assert_int_eq(vq_drv_add(&rxq, sg, k, (void *)(uintptr_t)(s + 1)), 0);
}

static void rx_buf(unsigned s, uint32_t len, uint32_t piece)
{
	rx_buf_split(s, len, piece, piece);
}

/* The network sends frame f of len bytes, behind a header full of junk the guest must never see. */
static void net_send(unsigned f, uint32_t len)
{
	uint8_t buf[16384];
	memset(buf, 0xa5, NET_HDR_LEN);
	for (uint32_t i = 0; i < len; i++)
		buf[NET_HDR_LEN + i] = pat(f, i);
	ck_assert_int_eq(send(sv[1], buf, NET_HDR_LEN + len, 0), (ssize_t)(NET_HDR_LEN + len));
}

/* RX slot s holds frame f of len bytes behind the header the device writes. */
static void check_rx(unsigned s, unsigned f, uint32_t len)
{
	const uint8_t *b = gmem + RXB_GPA + s * BUF_STRIDE;
	struct virtio_net_hdr want = { .num_buffers = 1 };
	ck_assert_mem_eq(b, &want, NET_HDR_LEN);
	for (uint32_t i = 0; i < len; i++)
		ck_assert_uint_eq(b[NET_HDR_LEN + i], pat(f, i));
}

/* The network received frame f of len bytes behind an all-zero header. */
static void check_net_recv(unsigned f, uint32_t len)
{
	uint8_t buf[16384];
	uint64_t end = now_ms() + 2000;
	ssize_t r;
	while ((r = recv(sv[1], buf, sizeof(buf), 0)) < 0 && errno == EAGAIN && now_ms() < end)
		pump(1);
	ck_assert_int_eq(r, (ssize_t)(NET_HDR_LEN + len));
	static const uint8_t zero[NET_HDR_LEN];
	ck_assert_mem_eq(buf, zero, NET_HDR_LEN);
	for (uint32_t i = 0; i < len; i++)
		ck_assert_uint_eq(buf[NET_HDR_LEN + i], pat(f, i));
}

static bool net_quiet(void)
{
	uint8_t b[16];
	return recv(sv[1], b, sizeof(b), MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

START_TEST(test_config)
{
	open_nic();
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint32_t f = rd(VIRTIO_MMIO_DEVICE_FEATURES);
	ck_assert(f & (1u << VIRTIO_NET_F_MAC));
	ck_assert(f & (1u << VIRTIO_NET_F_STATUS));
	ck_assert(f & (1u << VIRTIO_NET_F_MTU));
	ck_assert(f & (1u << VIRTIO_F_RING_EVENT_IDX));
	/* No offloads, no merged buffers, no control queue. */
	ck_assert(!(f & ((1u << VIRTIO_NET_F_CSUM) | (1u << VIRTIO_NET_F_GUEST_CSUM) | (1u << VIRTIO_NET_F_MRG_RXBUF) |
			 (1u << VIRTIO_NET_F_HOST_TSO4) | (1u << VIRTIO_NET_F_GUEST_TSO4) | (1u << VIRTIO_NET_F_CTRL_VQ))));
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), 1); /* VERSION_1 */
	uint8_t mac[6];
	for (int i = 0; i < 6; i++)
		mmio_read(&np->dev, 0x100 + i, &mac[i], 1);
	ck_assert_mem_eq(mac, ((uint8_t[]){ 0x52, 0x54, 0, 0x12, 0x34, 0x56 }), 6);
	uint16_t st, mtu;
	mmio_read(&np->dev, 0x106, &st, 2);
	mmio_read(&np->dev, 0x10a, &mtu, 2);
	ck_assert_uint_eq(st, VIRTIO_NET_S_LINK_UP);
	ck_assert_uint_eq(mtu, 1500);
}
END_TEST

/* Frames leave byte-exact whatever the framing, behind a zero header; TX used entries say 0 bytes written. */
START_TEST(test_tx)
{
	open_nic();
	tx_frame(0, 0, 60, 4096);       /* header and frame in one descriptor */
	tx_frame_split(1, 1, 1514, NET_HDR_LEN, 4096); /* header alone, then the frame (Linux's way) */
	tx_frame_split(2, 2, 200, 5, 30);  /* the header split across descriptors, the frame in pieces */
	ck_assert(vq_drv_kick_prepare(&txq));
	mmio_notify(&np->dev, VIRTIO_NET_TXQ, &ring);
	check_net_recv(0, 60);
	check_net_recv(1, 1514);
	check_net_recv(2, 200);
	for (unsigned i = 0; i < 3; i++) {
		void *cookie;
		ck_assert_uint_eq(wait_used(&txq, &cookie), 0);
	}
	struct net_stats s;
	net_stats(np, &s);
	ck_assert_uint_eq(s.tx_packets, 3);
	ck_assert_uint_eq(s.tx_bytes, 60 + 1514 + 200);
	ck_assert_uint_eq(s.tx_dropped, 0);
	ck_assert_uint_eq(inflight(), 0);
}
END_TEST

/* Frames arrive byte-exact, in order, behind the device's own header (the backend's junk header is never seen). */
START_TEST(test_rx)
{
	open_nic();
	rx_buf(0, NET_HDR_LEN + 1514, 4096);
	rx_buf_split(1, NET_HDR_LEN + 1514, 5, 700); /* the header split across descriptors */
	rx_buf_split(2, NET_HDR_LEN + 1514, NET_HDR_LEN, 4096); /* header alone, then the frame */
	mmio_notify(&np->dev, VIRTIO_NET_RXQ, &ring);
	pump(5);
	ck_assert_uint_eq(inflight(), NET_RX_INFLIGHT < 3 ? NET_RX_INFLIGHT : 3);
	ck_assert(no_used(&rxq)); /* nothing to read yet: the reads wait */
	net_send(0, 100);
	net_send(1, 600);
	net_send(2, 1514);
	uint32_t want[3] = { 100, 600, 1514 };
	for (unsigned i = 0; i < 3; i++) {
		void *cookie;
		uint32_t len = wait_used(&rxq, &cookie);
		unsigned s = (unsigned)(uintptr_t)cookie - 1;
		ck_assert_uint_eq(len, NET_HDR_LEN + want[i]); /* frames in order, whichever buffer took them */
		check_rx(s, i, want[i]);
	}
	struct net_stats st;
	net_stats(np, &st);
	ck_assert_uint_eq(st.rx_packets, 3);
	ck_assert_uint_eq(st.rx_bytes, 100 + 600 + 1514);
	uint64_t v;
	ck_assert_int_eq(read(news_fd, &v, 8), 8); /* the driver asked for news */
}
END_TEST

/* Many frames through few buffers that the driver keeps posting again: all arrive, in order. */
START_TEST(test_rx_stream)
{
	open_nic();
	for (unsigned s = 0; s < 8; s++)
		rx_buf(s, NET_HDR_LEN + 1514, 4096);
	mmio_notify(&np->dev, VIRTIO_NET_RXQ, &ring);
	unsigned sent = 0;
	for (unsigned got = 0; got < 200; got++) {
		while (sent < 200 && sent < got + 8)
			net_send(sent, 64 + sent), sent++;
		void *cookie;
		uint32_t len = wait_used(&rxq, &cookie);
		unsigned s = (unsigned)(uintptr_t)cookie - 1;
		ck_assert_uint_eq(len, NET_HDR_LEN + 64 + got);
		check_rx(s, got, 64 + got);
		rx_buf(s, NET_HDR_LEN + 1514, 4096);
		mmio_notify(&np->dev, VIRTIO_NET_RXQ, &ring);
	}
	struct net_stats st;
	net_stats(np, &st);
	ck_assert_uint_eq(st.rx_packets, 200);
}
END_TEST

/* Without RX buffers the device reads nothing: frames wait in the backend, then flow once buffers come. */
START_TEST(test_limits_backpressure)
{
	open_nic();
	mmio_notify(&np->dev, VIRTIO_NET_RXQ, &ring);
	unsigned sent = 0;
	uint8_t frame[NET_HDR_LEN + 60];
	memset(frame, 0, sizeof(frame));
	/* The network floods until the backend's (kernel-bounded) queue is full. */
	while (sent < 100000 && send(sv[1], frame, sizeof(frame), MSG_DONTWAIT) == (ssize_t)sizeof(frame))
		sent++;
	ck_assert_uint_lt(sent, 100000);
	ck_assert_uint_gt(sent, 0);
	pump(20);
	ck_assert_uint_eq(inflight(), 0);
	struct net_stats st;
	net_stats(np, &st);
	ck_assert_uint_eq(st.rx_packets + st.rx_dropped, 0);
	/* Now buffers: the device reads at most one frame per buffer, and every frame waited. */
	for (unsigned s = 0; s < 4; s++)
		rx_buf(s, NET_HDR_LEN + 1514, 4096);
	mmio_notify(&np->dev, VIRTIO_NET_RXQ, &ring);
	for (unsigned s = 0; s < 4; s++) {
		void *cookie;
		ck_assert_uint_eq(wait_used(&rxq, &cookie), sizeof(frame));
	}
	pump(5);
	net_stats(np, &st);
	ck_assert_uint_eq(st.rx_packets, 4);
	ck_assert(no_used(&rxq));
}
END_TEST

/*
 * A guest floods TX while the network reads nothing: writes in flight stop
 * at NET_TX_INFLIGHT, the rest waits in the ring (no host buffering); once
 * the network reads, every frame goes out, in order.
 */
START_TEST(test_limits_tx_flood)
{
	open_nic();
	for (unsigned i = 0; i < QSZ; i++)
		tx_frame(i, i, 1000, 4096);
	mmio_notify(&np->dev, VIRTIO_NET_TXQ, &ring);
	pump(20);
	ck_assert_uint_le(inflight(), NET_TX_INFLIGHT);
	unsigned done = 0;
	void *cookie;
	uint32_t len;
	while (vq_drv_get_used(&txq, &cookie, &len) == 1)
		done++;
	ck_assert_uint_lt(done, QSZ); /* the backend's queue filled: the guest is held back */
	for (unsigned i = 0; i < QSZ; i++) {
		check_net_recv(i, 1000);
		while (vq_drv_get_used(&txq, &cookie, &len) == 1)
			done++;
	}
	uint64_t end = now_ms() + 2000;
	while (done < QSZ && now_ms() < end) {
		pump(1);
		while (vq_drv_get_used(&txq, &cookie, &len) == 1)
			done++;
	}
	ck_assert_uint_eq(done, QSZ);
	ck_assert(net_quiet());
}
END_TEST

/* A larger MTU: offered in config, and RX buffers and TX frames are measured against it. */
START_TEST(test_limits_mtu)
{
	open_nic_mtu(9000);
	uint16_t mtu;
	mmio_read(&np->dev, 0x10a, &mtu, 2);
	ck_assert_uint_eq(mtu, 9000);
	rx_buf(0, NET_HDR_LEN + 14 + 1500, 4096);  /* too short for this MTU: refused */
	rx_buf(1, NET_HDR_LEN + 14 + 9000, 4096);
	mmio_notify(&np->dev, VIRTIO_NET_RXQ, &ring);
	void *cookie;
	ck_assert_uint_eq(wait_used(&rxq, &cookie), 0);
	ck_assert_ptr_eq(cookie, (void *)1);
	net_send(7, 9014);
	ck_assert_uint_eq(wait_used(&rxq, &cookie), NET_HDR_LEN + 9014);
	check_rx(1, 7, 9014);
	tx_frame(0, 0, 9000 + 14 + 4, 4096);       /* the largest: MTU, Ethernet header, one VLAN tag */
	tx_frame(1, 1, 9000 + 14 + 5, 4096);       /* one byte more: refused */
	mmio_notify(&np->dev, VIRTIO_NET_TXQ, &ring);
	check_net_recv(0, 9018);
	pump(5);
	ck_assert(net_quiet());
	struct net_stats st;
	net_stats(np, &st);
	ck_assert_uint_eq(st.tx_packets, 1);
	ck_assert_uint_eq(st.tx_dropped, 1);
}
END_TEST

/* A driver that did not accept VIRTIO_NET_F_MTU keeps to 1500 both ways, whatever the NIC's MTU. */
START_TEST(test_limits_mtu_not_negotiated)
{
	drv_feat &= ~VIRTIO_BIT(VIRTIO_NET_F_MTU);
	open_nic_mtu(9000);
	rx_buf(0, NET_HDR_LEN + 14 + 1500, 4096); /* what such a driver posts: taken */
	mmio_notify(&np->dev, VIRTIO_NET_RXQ, &ring);
	net_send(1, 9014);                        /* larger than it can take: dropped, not cut */
	net_send(2, 1514);
	void *cookie;
	ck_assert_uint_eq(wait_used(&rxq, &cookie), NET_HDR_LEN + 1514);
	check_rx(0, 2, 1514);
	tx_frame(0, 0, 1518, 4096);
	tx_frame(1, 1, 1519, 4096);
	mmio_notify(&np->dev, VIRTIO_NET_TXQ, &ring);
	check_net_recv(0, 1518);
	pump(5);
	ck_assert(net_quiet());
	struct net_stats st;
	net_stats(np, &st);
	ck_assert_uint_eq(st.rx_dropped, 1);
	ck_assert_uint_eq(st.tx_dropped, 1);
}
END_TEST

/* A frame bigger than the buffer is dropped (not delivered cut), and the buffer takes the next frame. */
START_TEST(test_limits_rx_too_big)
{
	open_nic();
	rx_buf(0, NET_HDR_LEN + 1514, 4096);
	mmio_notify(&np->dev, VIRTIO_NET_RXQ, &ring);
	net_send(1, 1515);
	net_send(2, 1514); /* exactly fits */
	void *cookie;
	ck_assert_uint_eq(wait_used(&rxq, &cookie), NET_HDR_LEN + 1514);
	check_rx(0, 2, 1514);
	struct net_stats st;
	net_stats(np, &st);
	ck_assert_uint_eq(st.rx_dropped, 1);
	ck_assert_uint_eq(st.rx_packets, 1);
}
END_TEST

/* Reads in flight stop at NET_RX_INFLIGHT however many buffers the driver posts; all get used in time. */
START_TEST(test_limits_rx_inflight)
{
	open_nic();
	for (unsigned s = 0; s < QSZ; s++)
		rx_buf(s, NET_HDR_LEN + 1514, 4096);
	mmio_notify(&np->dev, VIRTIO_NET_RXQ, &ring);
	pump(5);
	ck_assert_uint_eq(inflight(), NET_RX_INFLIGHT);
	for (unsigned f = 0; f < QSZ; f++) {
		net_send(f, 100);
		void *cookie;
		ck_assert_uint_eq(wait_used(&rxq, &cookie), NET_HDR_LEN + 100);
		check_rx((unsigned)(uintptr_t)cookie - 1, f, 100);
	}
}
END_TEST

/* Broken TX chains are returned with 0 bytes and nothing reaches the network; the device keeps working. */
START_TEST(test_hostile_tx)
{
	open_nic();
	uint64_t g = TXB_GPA;
	memset(gmem + g, 0, 4 * BUF_STRIDE);
	unsigned k = 0;
	/* shorter than the header */
	ck_assert_int_eq(vq_drv_add(&txq, (struct vq_sg[]){ { g, 11, false } }, 1, (void *)(uintptr_t)++k), 0);
	/* a header and no Ethernet header */
	ck_assert_int_eq(vq_drv_add(&txq, (struct vq_sg[]){ { g, 12 + 13, false } }, 1, (void *)(uintptr_t)++k), 0);
	/* a frame past the MTU */
	ck_assert_int_eq(vq_drv_add(&txq, (struct vq_sg[]){ { g, 12 + 1519, false } }, 1, (void *)(uintptr_t)++k), 0);
	/* a writable part */
	ck_assert_int_eq(vq_drv_add(&txq, (struct vq_sg[]){ { g, 12, false }, { g + 64, 64, true } }, 2,
				    (void *)(uintptr_t)++k), 0);
	/* into the MMIO window, past RAM, and wrapping: buffers outside guest RAM */
	ck_assert_int_eq(vq_drv_add(&txq, (struct vq_sg[]){ { g, 12, false }, { MMIO_GPA, 64, false } }, 2,
				    (void *)(uintptr_t)++k), 0);
	ck_assert_int_eq(vq_drv_add(&txq, (struct vq_sg[]){ { GMEM - 32, 64, false } }, 1, (void *)(uintptr_t)++k), 0);
	ck_assert_int_eq(vq_drv_add(&txq, (struct vq_sg[]){ { ~0ull - 8, 64, false } }, 1, (void *)(uintptr_t)++k), 0);
	/* a header asking for offloads never negotiated: checksum, then GSO */
	gmem[g + BUF_STRIDE] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	ck_assert_int_eq(vq_drv_add(&txq, (struct vq_sg[]){ { g + BUF_STRIDE, 12 + 60, false } }, 1,
				    (void *)(uintptr_t)++k), 0);
	gmem[g + 2 * BUF_STRIDE + 1] = VIRTIO_NET_HDR_GSO_TCPV4;
	ck_assert_int_eq(vq_drv_add(&txq, (struct vq_sg[]){ { g + 2 * BUF_STRIDE, 12 + 60, false } }, 1,
				    (void *)(uintptr_t)++k), 0);
	/* more segments than NET_MAX_SEGS */
	struct vq_sg many[NET_MAX_SEGS + 1];
	for (unsigned i = 0; i <= NET_MAX_SEGS; i++)
		many[i] = (struct vq_sg){ g + 3 * BUF_STRIDE + i * 16, 16, false };
	ck_assert_int_eq(vq_drv_add(&txq, many, NET_MAX_SEGS + 1, (void *)(uintptr_t)++k), 0);
	mmio_notify(&np->dev, VIRTIO_NET_TXQ, &ring);
	for (unsigned i = 0; i < k; i++) {
		void *cookie;
		ck_assert_uint_eq(wait_used(&txq, &cookie), 0);
	}
	pump(5);
	ck_assert(net_quiet());
	struct net_stats st;
	net_stats(np, &st);
	ck_assert_uint_eq(st.tx_dropped, k);
	ck_assert_uint_eq(st.tx_packets, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0xf); /* chain errors fail the chain, not the device */
	tx_frame(5, 5, 300, 4096);
	mmio_notify(&np->dev, VIRTIO_NET_TXQ, &ring);
	check_net_recv(5, 300);
}
END_TEST

/* Broken RX chains are returned with 0 bytes without reading a frame; the frame waits for a good buffer. */
START_TEST(test_hostile_rx)
{
	open_nic();
	uint64_t g = RXB_GPA;
	unsigned k = 0;
	/* shorter than header + MTU + 14 */
	ck_assert_int_eq(vq_drv_add(&rxq, (struct vq_sg[]){ { g, NET_HDR_LEN + 1513, true } }, 1, (void *)(uintptr_t)++k), 0);
	/* a device-readable part */
	ck_assert_int_eq(vq_drv_add(&rxq, (struct vq_sg[]){ { g, 12, false }, { g + 64, 2000, true } }, 2,
				    (void *)(uintptr_t)++k), 0);
	/* into the MMIO window, past RAM */
	ck_assert_int_eq(vq_drv_add(&rxq, (struct vq_sg[]){ { MMIO_GPA, 2048, true } }, 1, (void *)(uintptr_t)++k), 0);
	ck_assert_int_eq(vq_drv_add(&rxq, (struct vq_sg[]){ { g, 12, true }, { GMEM - 1000, 2000, true } }, 2,
				    (void *)(uintptr_t)++k), 0);
	/* absurd length: a 4 GiB - 1 buffer */
	ck_assert_int_eq(vq_drv_add(&rxq, (struct vq_sg[]){ { g, 0xffffffffu, true } }, 1, (void *)(uintptr_t)++k), 0);
	net_send(9, 100);
	mmio_notify(&np->dev, VIRTIO_NET_RXQ, &ring);
	for (unsigned i = 0; i < k; i++) {
		void *cookie;
		ck_assert_uint_eq(wait_used(&rxq, &cookie), 0);
	}
	ck_assert_uint_eq(inflight(), 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0xf);
	rx_buf(0, NET_HDR_LEN + 1514, 4096);
	mmio_notify(&np->dev, VIRTIO_NET_RXQ, &ring);
	void *cookie;
	ck_assert_uint_eq(wait_used(&rxq, &cookie), NET_HDR_LEN + 100);
	check_rx(0, 9, 100);
}
END_TEST

/* An avail index far ahead breaks the ring: the device needs a reset, the monitor goes on. */
START_TEST(test_hostile_avail_idx)
{
	open_nic();
	volatile uint16_t *avail = (volatile uint16_t *)(gmem + RXR_GPA + VIRTQ_LAYOUT_AVAIL_OFF(QSZ));
	avail[1] = 1000;
	mmio_notify(&np->dev, VIRTIO_NET_RXQ, &ring);
	ck_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	ck_assert_uint_eq(inflight(), 0);
}
END_TEST

/* The backend's end of file (a seqpacket peer gone): RX gives up once, returns the buffer, does not spin. */
START_TEST(test_hostile_backend_closed)
{
	teardown();
	setup_type(SOCK_SEQPACKET);
	open_nic();
	rx_buf(0, NET_HDR_LEN + 1514, 4096);
	rx_buf(1, NET_HDR_LEN + 1514, 4096);
	mmio_notify(&np->dev, VIRTIO_NET_RXQ, &ring);
	pump(5);
	close(sv[1]);
	sv[1] = socket(AF_UNIX, SOCK_DGRAM, 0); /* for teardown */
	void *cookie;
	for (unsigned i = 0; i < (NET_RX_INFLIGHT < 2 ? NET_RX_INFLIGHT : 2); i++) /* the chains of the reads */
		ck_assert_uint_eq(wait_used(&rxq, &cookie), 0);
	ck_assert_uint_eq(inflight(), 0);
	rx_buf(2, NET_HDR_LEN + 1514, 4096);
	mmio_notify(&np->dev, VIRTIO_NET_RXQ, &ring);
	pump(5);
	ck_assert_uint_eq(inflight(), 0); /* no more reads; the chains not taken stay the driver's, in the ring */
	ck_assert(no_used(&rxq));
}
END_TEST

/*
 * With the real event thread: a driver reset while reads wait on an idle
 * backend (which never completes them on its own) returns promptly: the
 * reads are cancelled. Then the device works again after a new bring-up.
 */
START_TEST(test_hostile_reset_inflight)
{
	struct vq_mem m = { g_map, NULL };
	struct ukvm_net cfg = { .kind = UKVM_NET_FD, .fd = sv[0], .mac = { 2, 0, 0, 0, 0, 1 } };
	char err[128];
	ck_assert_msg(net_open(np, sv[0], true, &cfg, 0, &m, news_fd, err, sizeof(err)) == 0, "%s", err);
	opened = true;
	np->dev.warn_budget = 0;
	struct event_loop loop;
	ck_assert_int_eq(event_init(&loop), 0);
	ck_assert_int_eq(mmio_attach(&np->dev, &loop), 0);
	ck_assert_int_eq(event_start(&loop, false), 0);
	for (int round = 0; round < 2; round++) {
		negotiate();
		for (unsigned s = 0; s < 16; s++)
			rx_buf(s, NET_HDR_LEN + 1514, 4096);
		wr(VIRTIO_MMIO_STATUS, 0xf); /* DRIVER_OK: the event thread starts the device, which arms reads */
		uint64_t end = now_ms() + 2000;
		unsigned want = NET_RX_INFLIGHT < 16 ? NET_RX_INFLIGHT : 16;
		while (inflight() < want && now_ms() < end)
			usleep(1000);
		ck_assert_uint_eq(inflight(), want);
		uint64_t t0 = now_ms();
		wr(VIRTIO_MMIO_STATUS, 0);
		ck_assert_uint_lt(now_ms() - t0, 500);
		ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
		ck_assert_uint_eq(inflight(), 0);
	}
	/* Once more alive: a frame gets through the event thread. */
	negotiate();
	rx_buf(0, NET_HDR_LEN + 1514, 4096);
	wr(VIRTIO_MMIO_STATUS, 0xf);
	net_send(3, 77);
	void *cookie;
	uint32_t len;
	uint64_t end = now_ms() + 2000;
	int r;
	while ((r = vq_drv_get_used(&rxq, &cookie, &len)) == 0 && now_ms() < end)
		usleep(1000);
	ck_assert_int_eq(r, 1);
	ck_assert_uint_eq(len, NET_HDR_LEN + 77);
	check_rx(0, 3, 77);
	/* A stop with reads in flight ends in bounded time too. */
	rx_buf(1, NET_HDR_LEN + 1514, 4096);
	uint64_t one = 1;
	ck_assert_int_eq(write(mmio_notify_fd(&np->dev, VIRTIO_NET_RXQ), &one, 8), 8);
	uint64_t t0 = now_ms();
	event_free(&loop);
	ck_assert_uint_lt(now_ms() - t0, 500);
	ck_assert_uint_eq(inflight(), 0);
}
END_TEST

/* Defaults: a random locally administered unicast MAC (x2:...), QEMU's user-mode addresses, prefix 24. */
START_TEST(test_resolve)
{
	char err[128];
	struct ukvm_net in = { .kind = UKVM_NET_TAP }, out, out2;
	ck_assert_int_eq(net_resolve(&in, &out, err, sizeof(err)), 0);
	ck_assert_uint_eq(out.mac[0] & 0x0f, 0x02);
	ck_assert_int_eq(net_resolve(&in, &out2, err, sizeof(err)), 0);
	ck_assert(memcmp(out.mac, out2.mac, 6) != 0);
	ck_assert_uint_eq(out.ipv4, 0);
	ck_assert_uint_eq(out.gw, 0);
	in.kind = UKVM_NET_USER;
	ck_assert_int_eq(net_resolve(&in, &out, err, sizeof(err)), 0);
	ck_assert_uint_eq(out.ipv4, htonl(0x0a00020f));
	ck_assert_uint_eq(out.prefix, 24);
	ck_assert_uint_eq(out.gw, htonl(0x0a000202));
	ck_assert_uint_eq(out.dns[0], htonl(0x0a000203));
	ck_assert_uint_eq(out.dns[1], 0);
	struct ukvm_net t = { .kind = UKVM_NET_TAP, .ipv4 = htonl(0x0a000001), .mac = { 0x02, 1, 2, 3, 4, 5 } };
	ck_assert_int_eq(net_resolve(&t, &out, err, sizeof(err)), 0);
	ck_assert_uint_eq(out.prefix, 24);
	ck_assert_mem_eq(out.mac, t.mac, 6);
	t.mtu = 100;
	ck_assert_int_eq(net_resolve(&t, &out, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "mtu 100 is outside 576..9000");
	t.mtu = 0;
	t.mac[0] = 1;
	ck_assert_int_eq(net_resolve(&t, &out, err, sizeof(err)), -EINVAL);
	t.mac[0] = 2;
	t.prefix = 33;
	ck_assert_int_eq(net_resolve(&t, &out, err, sizeof(err)), -EINVAL);
}
END_TEST

/* The class: an embedder's fd used as is and not closed; one it cannot use gets one line. */
START_TEST(test_class_fd)
{
	struct vq_mem m = { g_map, NULL };
	struct dev_env env = { .mem = &m, .news_fd = -1, .index = 1 };
	struct ukvm_net nets[1] = { { .kind = UKVM_NET_FD, .fd = sv[0] } };
	struct ukvm_config cfg = { .size = sizeof(cfg), .nets = nets, .nnets = 1 };
	char err[256];
	ck_assert_int_eq(net_class.count(&cfg, err, sizeof(err)), 1);
	struct mmio_dev *d;
	ck_assert_msg(net_class.open(&cfg, 0, &env, &d, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(d->tag, "eth1");
	const struct ukvm_net *c = net_class.nic(d);
	ck_assert_uint_eq(c->mac[0] & 0x0f, 2);
	net_class.close(d);
	ck_assert_int_ge(fcntl(sv[0], F_GETFD), 0); /* still open: the embedder's */
	ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(net_class.open(&cfg, 0, &env, &d, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "eth0: fd") && strstr(err, "O_NONBLOCK"), "%s", err);
	cfg.nnets = UKVM_MAX_NICS + 1;
	ck_assert_int_eq(net_class.count(&cfg, err, sizeof(err)), -EINVAL);
}
END_TEST

/*
 * The user-mode backend (devices/net_user.h, a SOCK_SEQPACKET pair to the
 * ukvm-slirp helper) under the device: an ARP request for the gateway
 * 10.0.2.2 goes out through TX, libslirp's answer comes back through RX.
 */
START_TEST(test_user)
{
	setenv("UKVM_SLIRP_HELPER", NETUSER_HELPER, 1);
	struct vq_mem m = { g_map, NULL };
	struct dev_env env = { .mem = &m, .news_fd = -1, .index = 0 };
	struct ukvm_net nets[1] = { { .kind = UKVM_NET_USER, .mac = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 } } };
	struct ukvm_config cfg = { .size = sizeof(cfg), .nets = nets, .nnets = 1 };
	char err[256];
	struct mmio_dev *d;
	ck_assert_msg(net_class.open(&cfg, 0, &env, &d, err, sizeof(err)) == 0, "%s", err);
	const struct ukvm_net *c = net_class.nic(d);
	ck_assert_uint_eq(c->ipv4, htonl(0x0a00020f));
	np = d->priv; /* the suite's helpers drive it; teardown closes it through the class */
	/* libslirp checks every checksum and segments nothing: no offloads offered, the guest computes them. */
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES) & (uint32_t)OFFLOADS, 0);
	negotiate();
	wr(VIRTIO_MMIO_STATUS, 0xf);
	rx_buf(0, NET_HDR_LEN + 1514, 4096);
	mmio_notify(&np->dev, VIRTIO_NET_RXQ, &ring);
	uint8_t arp[42] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x08, 0x06,
			    0, 1, 0x08, 0, 6, 4, 0, 1, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 10, 0, 2, 15,
			    0, 0, 0, 0, 0, 0, 10, 0, 2, 2 };
	uint64_t g = TXB_GPA;
	memset(gmem + g, 0, NET_HDR_LEN);
	memcpy(gmem + g + NET_HDR_LEN, arp, sizeof(arp));
	ck_assert_int_eq(vq_drv_add(&txq, (struct vq_sg[]){ { g, NET_HDR_LEN + sizeof(arp), false } }, 1, (void *)1), 0);
	mmio_notify(&np->dev, VIRTIO_NET_TXQ, &ring);
	void *cookie;
	ck_assert_uint_eq(wait_used(&txq, &cookie), 0);
	uint32_t len = wait_used(&rxq, &cookie);
	ck_assert_uint_ge(len, NET_HDR_LEN + 42);
	const uint8_t *f = gmem + RXB_GPA + NET_HDR_LEN;
	ck_assert_mem_eq(f, arp + 6, 6);                    /* to us */
	ck_assert_uint_eq(f[12] << 8 | f[13], 0x0806);      /* ARP */
	ck_assert_uint_eq(f[20] << 8 | f[21], 2);           /* reply */
	ck_assert_mem_eq(f + 28, ((uint8_t[]){ 10, 0, 2, 2 }), 4); /* from the gateway */
	struct net_stats st;
	net_stats(np, &st);
	ck_assert_uint_eq(st.tx_packets, 1);
	ck_assert_uint_eq(st.rx_packets, 1);
}
END_TEST

/* A tap in a network namespace of this test's own (it vanishes with the process): attach, busy, framing. */
START_TEST(test_tap)
{
	if (unshare(CLONE_NEWNET) != 0) {
		printf("SKIPPED: devnet tap: unshare(CLONE_NEWNET): %s (needs root)\n", strerror(errno));
		return;
	}
	if (access("/dev/net/tun", R_OK | W_OK) != 0) {
		printf("SKIPPED: devnet tap: /dev/net/tun: %s\n", strerror(errno));
		return;
	}
	char err[256];
	int fd = net_tap_open("ukvmt0", err, sizeof(err));
	ck_assert_msg(fd >= 0, "%s", err);
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	int hdr = 0;
	ck_assert_int_eq(ioctl(fd, TUNGETVNETHDRSZ, &hdr), 0);
	ck_assert_int_eq(hdr, NET_HDR_LEN);
	ck_assert_int_eq(net_tap_open("ukvmt0", err, sizeof(err)), -EBUSY);
	ck_assert_str_eq(err, "cannot attach: Device or resource busy (another process holds the tap)");
	ck_assert_int_eq(net_tap_open("a/b", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(net_tap_open("0123456789abcdef", err, sizeof(err)), -EINVAL);
	/* A persistent tap another user owns, then this (forked) test without CAP_NET_ADMIN: refused, told why. */
	ck_assert_int_eq(ioctl(fd, TUNSETOWNER, 12345ul), 0);
	ck_assert_int_eq(ioctl(fd, TUNSETPERSIST, 1ul), 0);
	close(fd);
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct none[2];
	memset(none, 0, sizeof(none));
	ck_assert_int_eq(syscall(SYS_capset, &h, none), 0);
	ck_assert_int_eq(net_tap_open("ukvmt0", err, sizeof(err)), -EPERM);
	ck_assert_str_eq(err, "cannot attach: Operation not permitted (need CAP_NET_ADMIN or a tap owned by you)");
	ck_assert_int_eq(net_tap_open("ukvmt1", err, sizeof(err)), -EPERM); /* nor may it create one */
}
END_TEST

/* TX frame f: header h, then an Ethernet + IPv4 + TCP frame of len bytes (pattern after the 54 header bytes), in slot s. */
static void tx_frame_hdr(unsigned s, unsigned f, const struct virtio_net_hdr *h, uint32_t len)
{
	uint64_t g = TXB_GPA + s * BUF_STRIDE * 5; /* 80 KiB apart: a TSO frame is up to 64 KiB */
	ck_assert_uint_le(g + NET_HDR_LEN + len, GMEM);
	memcpy(gmem + g, h, NET_HDR_LEN);
	for (uint32_t i = 0; i < len; i++)
		gmem[g + NET_HDR_LEN + i] = pat(f, i);
	struct vq_sg sg[2] = { { g, NET_HDR_LEN, false }, { g + NET_HDR_LEN, len, false } };
	ck_assert_int_eq(vq_drv_add(&txq, sg, 2, (void *)(uintptr_t)(s + 1)), 0);
}

/* The network received frame f of len bytes behind header want. */
static void check_net_recv_hdr(unsigned f, uint32_t len, const struct virtio_net_hdr *want)
{
	static uint8_t buf[NET_HDR_LEN + 70000];
	uint64_t end = now_ms() + 2000;
	ssize_t r;
	while ((r = recv(sv[1], buf, sizeof(buf), 0)) < 0 && errno == EAGAIN && now_ms() < end)
		pump(1);
	ck_assert_int_eq(r, (ssize_t)(NET_HDR_LEN + len));
	ck_assert_mem_eq(buf, want, NET_HDR_LEN);
	for (uint32_t i = 0; i < len; i++)
		ck_assert_uint_eq(buf[NET_HDR_LEN + i], pat(f, i));
}

static struct virtio_net_hdr tso_hdr(uint16_t gso_size)
{
	struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
				    .hdr_len = 54, .gso_size = gso_size, .csum_start = 34, .csum_offset = 16 };
	return h;
}

/* Offloads are offered only where the backend takes them (net_offer_offloads: a tap). */
START_TEST(test_offload_features)
{
	open_nic_offload(0);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint32_t f = rd(VIRTIO_MMIO_DEVICE_FEATURES);
	ck_assert_uint_eq(f & (uint32_t)OFFLOADS, (uint32_t)OFFLOADS);
	ck_assert(!(f & (1u << VIRTIO_NET_F_MRG_RXBUF))); /* big buffers instead (net.c) */
}
END_TEST

/* Checked headers reach the backend as the guest wrote them (num_buffers zeroed): a checksum request, a 64 KiB TSO frame. */
START_TEST(test_offload_tx)
{
	open_nic_offload(OFFLOADS);
	struct virtio_net_hdr csum = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .hdr_len = 54, .csum_start = 34,
				       .csum_offset = 16, .num_buffers = 7 };
	struct virtio_net_hdr tso = tso_hdr(1460);
	uint32_t big = 65535 + 14; /* IPv4's largest datagram */
	tx_frame_hdr(0, 0, &csum, 1514);
	tx_frame_hdr(1, 1, &tso, big);
	tx_frame_hdr(2, 2, &(struct virtio_net_hdr){ .gso_size = 1000, .num_buffers = 3 }, 60);
	mmio_notify(&np->dev, VIRTIO_NET_TXQ, &ring);
	csum.num_buffers = 0;
	check_net_recv_hdr(0, 1514, &csum);
	check_net_recv_hdr(1, big, &tso);
	check_net_recv_hdr(2, 60, &(struct virtio_net_hdr){ 0 }); /* gso_size means nothing without GSO */
	struct net_stats st;
	net_stats(np, &st);
	ck_assert_uint_eq(st.tx_packets, 3);
	ck_assert_uint_eq(st.tx_dropped, 0);
}
END_TEST

/* The backend's offload header reaches the driver once it accepted the offloads; GSO it did not accept is dropped. */
START_TEST(test_offload_rx)
{
	open_nic_offload(VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM));
	uint8_t buf[NET_HDR_LEN + 200];
	struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34, .csum_offset = 16,
				    .hdr_len = 54, .num_buffers = 9 };
	struct virtio_net_hdr g = tso_hdr(1460);
	memcpy(buf, &g, NET_HDR_LEN); /* TSO without GUEST_TSO4: dropped */
	for (unsigned i = 0; i < 200; i++)
		buf[NET_HDR_LEN + i] = pat(4, i);
	ck_assert_int_eq(send(sv[1], buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	memcpy(buf, &h, NET_HDR_LEN);
	ck_assert_int_eq(send(sv[1], buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	rx_buf(0, NET_HDR_LEN + 1514, 4096);
	mmio_notify(&np->dev, VIRTIO_NET_RXQ, &ring);
	void *cookie;
	ck_assert_uint_eq(wait_used(&rxq, &cookie), NET_HDR_LEN + 200);
	h.num_buffers = 1;
	ck_assert_mem_eq(gmem + RXB_GPA, &h, NET_HDR_LEN);
	for (unsigned i = 0; i < 200; i++)
		ck_assert_uint_eq(gmem[RXB_GPA + NET_HDR_LEN + i], pat(4, i));
	struct net_stats st;
	net_stats(np, &st);
	ck_assert_uint_eq(st.rx_packets, 1);
	ck_assert_uint_eq(st.rx_dropped, 1);
}
END_TEST

/* Hostile offload headers: each one refused (0 bytes, counted), nothing reaches the network, the device lives. */
START_TEST(test_hostile_offload_tx)
{
	open_nic_offload(OFFLOADS & ~VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4));
	struct {
		struct virtio_net_hdr h;
		uint32_t len;
	} bad[] = {
		{ { .flags = VIRTIO_NET_HDR_F_DATA_VALID }, 60 },                          /* the device's flag */
		{ { .flags = 0x80 }, 60 },                                                 /* undefined flag */
		{ { .flags = 1, .csum_start = 50, .csum_offset = 9 }, 60 },                /* field past the end: 61 > 60 */
		{ { .flags = 1, .csum_start = 0xffff, .csum_offset = 0xffff }, 60 },       /* sums that overflow 16 bits */
		{ { .flags = 1, .csum_start = 4, .csum_offset = 0 }, 60 },                 /* inside the Ethernet header */
		{ { .hdr_len = 61 }, 60 },                                                 /* hdr_len past the frame */
		{ { .hdr_len = 0xffff }, 60 },
		{ { .gso_type = VIRTIO_NET_HDR_GSO_NONE }, 1519 },                         /* past MTU + VLAN tag without TSO */
		{ tso_hdr(1460), 3000 },                                                   /* TSO not negotiated here */
	};
	unsigned k = sizeof(bad) / sizeof(bad[0]);
	for (unsigned i = 0; i < k; i++) {
		uint64_t g = TXB_GPA + i * BUF_STRIDE;
		memcpy(gmem + g, &bad[i].h, NET_HDR_LEN);
		ck_assert_int_eq(vq_drv_add(&txq, (struct vq_sg[]){ { g, NET_HDR_LEN + bad[i].len, false } }, 1,
					    (void *)(uintptr_t)(i + 1)), 0);
	}
	mmio_notify(&np->dev, VIRTIO_NET_TXQ, &ring);
	for (unsigned i = 0; i < k; i++) {
		void *cookie;
		ck_assert_uint_eq(wait_used(&txq, &cookie), 0);
	}
	pump(5);
	ck_assert(net_quiet());
	struct net_stats st;
	net_stats(np, &st);
	ck_assert_uint_eq(st.tx_dropped, k);
	ck_assert_uint_eq(st.tx_packets, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0xf);
}
END_TEST

/* Hostile TSO headers with HOST_TSO4 negotiated: absurd sizes and types refused, a good one then passes. */
START_TEST(test_hostile_tso)
{
	open_nic_offload(OFFLOADS);
	struct virtio_net_hdr nocsum = tso_hdr(1460), small = tso_hdr(NET_GSO_SIZE_MIN - 1), zero = tso_hdr(0);
	struct virtio_net_hdr fat = tso_hdr(1465) /* 40 + 1465: past MTU + VLAN tag */, udp = tso_hdr(1460), v6 = tso_hdr(1460), ecn = tso_hdr(1460);
	struct virtio_net_hdr shorth = tso_hdr(1460), longh = tso_hdr(1460), huge = tso_hdr(0xffff);
	nocsum.flags = 0;
	udp.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	v6.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	ecn.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
	shorth.hdr_len = 40;   /* short of the checksum field at 50..51 */
	longh.hdr_len = 1000;  /* segments of 986 + 1460 bytes of IP: past the MTU */
	struct {
		struct virtio_net_hdr *h;
		uint32_t len;
	} bad[] = { { &nocsum, 3000 }, { &small, 3000 }, { &zero, 3000 }, { &fat, 3000 }, { &udp, 3000 },
		    { &v6, 3000 },     { &ecn, 3000 },   { &shorth, 3000 }, { &longh, 3000 }, { &huge, 3000 },
		    { &(struct virtio_net_hdr){ 0 }, 3000 } /* past the MTU without GSO */ };
	unsigned k = sizeof(bad) / sizeof(bad[0]);
	for (unsigned i = 0; i < k; i++)
		tx_frame_hdr(i, i, bad[i].h, bad[i].len);
	/* Past IPv4's limit: one byte more than the largest datagram (not with tx_frame_hdr's 80 KiB slots: in one). */
	struct virtio_net_hdr over = tso_hdr(1460);
	uint64_t g = TXB_GPA + (uint64_t)k * BUF_STRIDE * 5;
	memcpy(gmem + g, &over, NET_HDR_LEN);
	ck_assert_int_eq(vq_drv_add(&txq, (struct vq_sg[]){ { g, NET_HDR_LEN + 65535 + 14 + 4 + 1, false } }, 1,
				    (void *)(uintptr_t)(k + 1)), 0);
	k++;
	mmio_notify(&np->dev, VIRTIO_NET_TXQ, &ring);
	for (unsigned i = 0; i < k; i++) {
		void *cookie;
		ck_assert_uint_eq(wait_used(&txq, &cookie), 0);
	}
	pump(5);
	ck_assert(net_quiet());
	struct net_stats st;
	net_stats(np, &st);
	ck_assert_uint_eq(st.tx_dropped, k);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0xf);
	struct virtio_net_hdr good = tso_hdr(NET_GSO_SIZE_MIN);
	tx_frame_hdr(0, 7, &good, 5000);
	mmio_notify(&np->dev, VIRTIO_NET_TXQ, &ring);
	check_net_recv_hdr(7, 5000, &good);
}
END_TEST

/* The header checks alone, at their edges. */
START_TEST(test_limits_hdr)
{
	uint64_t all = OFFLOADS;
	const char *why = NULL;
	struct virtio_net_hdr h = { .flags = 1, .csum_start = 14, .csum_offset = 44 };
	ck_assert_int_eq(net_hdr_tx_check(&h, 60, all, 1500, &why), 0); /* the field's last byte is the frame's */
	h.csum_offset = 45;
	ck_assert_int_eq(net_hdr_tx_check(&h, 60, all, 1500, &why), -EINVAL);
	ck_assert_ptr_nonnull(why);
	h = tso_hdr(1460);
	ck_assert_int_eq(net_hdr_tx_check(&h, 65535 + 14 + 4, all, 1500, &why), 0);
	ck_assert_int_eq(net_hdr_tx_check(&h, 65535 + 14 + 5, all, 1500, &why), -EINVAL);
	h = tso_hdr(1460);
	h.hdr_len = 58; /* 44 bytes of headers + 1460: 1504, within the VLAN tag's slack */
	ck_assert_int_eq(net_hdr_tx_check(&h, 3000, all, 1500, &why), 0);
	h.hdr_len = 59;
	ck_assert_int_eq(net_hdr_tx_check(&h, 3000, all, 1500, &why), -EINVAL);
	h = tso_hdr(1460);
	ck_assert_int_eq(net_hdr_tx_check(&h, 3000, all & ~VIRTIO_BIT(VIRTIO_NET_F_CSUM), 1500, &why), -EINVAL);
	/* RX: what the driver did not accept is dropped; without GUEST_CSUM the header is zeros. */
	struct virtio_net_hdr r = tso_hdr(1460);
	ck_assert_int_eq(net_hdr_rx_check(&r, 3000, VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM)), -EINVAL);
	r = tso_hdr(1460);
	ck_assert_int_eq(net_hdr_rx_check(&r, 3000, all), 0);
	ck_assert_uint_eq(r.num_buffers, 1);
	r = (struct virtio_net_hdr){ .flags = 0x55, .gso_type = 3, .hdr_len = 9 };
	ck_assert_int_eq(net_hdr_rx_check(&r, 3000, 0), 0);
	ck_assert_mem_eq(&r, (&(struct virtio_net_hdr){ .num_buffers = 1 }), NET_HDR_LEN);
	r = (struct virtio_net_hdr){ .flags = 1, .csum_start = 2990, .csum_offset = 9 };
	ck_assert_int_eq(net_hdr_rx_check(&r, 3000, all), -EINVAL);
}
END_TEST

Suite *devnet_suite(void)
{
	Suite *s = suite_create("devnet");
	TCase *c = tcase_create("core"), *l = tcase_create("limits"), *h = tcase_create("hostile");
	tcase_add_checked_fixture(c, setup, teardown);
	tcase_add_checked_fixture(l, setup, teardown);
	tcase_add_checked_fixture(h, setup, teardown);
	tcase_add_test(c, test_config);
	tcase_add_test(c, test_tx);
	tcase_add_test(c, test_rx);
	tcase_add_test(c, test_rx_stream);
	tcase_add_test(c, test_resolve);
	tcase_add_test(c, test_class_fd);
	tcase_add_test(c, test_tap);
	tcase_add_test(c, test_user);
	tcase_add_test(c, test_offload_features);
	tcase_add_test(c, test_offload_tx);
	tcase_add_test(c, test_offload_rx);
	tcase_add_test(l, test_limits_hdr);
	tcase_add_test(h, test_hostile_offload_tx);
	tcase_add_test(h, test_hostile_tso);
	tcase_add_test(l, test_limits_backpressure);
	tcase_add_test(l, test_limits_tx_flood);
	tcase_add_test(l, test_limits_mtu);
	tcase_add_test(l, test_limits_mtu_not_negotiated);
	tcase_add_test(l, test_limits_rx_too_big);
	tcase_add_test(l, test_limits_rx_inflight);
	tcase_add_test(h, test_hostile_tx);
	tcase_add_test(h, test_hostile_rx);
	tcase_add_test(h, test_hostile_avail_idx);
	tcase_add_test(h, test_hostile_backend_closed);
	tcase_add_test(h, test_hostile_reset_inflight);
	suite_add_tcase(s, c);
	suite_add_tcase(s, l);
	suite_add_tcase(s, h);
	return s;
}
