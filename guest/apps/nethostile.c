/*
 * nethostile.c: a hostile guest driver for the NIC. It takes virtio-net device 0 from the kernel
 * (a reset), drives it with rings of its own (mmioapp.h) and hands it garbage:
 *   TX chains that loop, leave RAM, wrap, point into the MMIO window, carry device-writable
 *   buffers, are too short or too long; TX headers with flags, checksum places and GSO fields
 *   the device must refuse; RX chains too short, read-only or outside RAM; heads out of range
 *   and an avail index far ahead (those two break the queue: the device asks for a reset).
 * One line per case says what the device did: "returned" (the chain came back unused: refused
 * or, for the valid cases, sent) or "reset" (DEVICE_NEEDS_RESET, after which we reset and set
 * up again, as a driver must). A valid frame closes the TX cases, a valid RX buffer the RX cases:
 * it must be filled by a frame the test sends to the tap. The last line gives the TX chains the
 * device had to drop, which --stats must match.
 *   nethostile
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "mmioapp.h"
#include "virtio_net.h"
#include "say.h"

#define QN    16u
#define HDR   ((uint32_t)sizeof(struct virtio_net_hdr))
#define FRAME 60u /* a minimal Ethernet frame */
#define BIG   (HDR + 70000u)

struct ring {
	uint8_t mem[VIRTQ_LAYOUT_BYTES(QN)] __attribute__((aligned(4096)));
	uint16_t idx; /* avail index we published */
};

static struct ring rxr, txr;
static uint8_t pkt[BIG] __attribute__((aligned(64)));
static uint8_t rxbuf[2048] __attribute__((aligned(64)));
static unsigned long dropped; /* TX chains the device returned that were not valid frames */

static struct virtq_desc *desc(struct ring *r)
{
	return (struct virtq_desc *)r->mem;
}

static volatile uint16_t *avail(struct ring *r)
{
	return (volatile uint16_t *)(r->mem + VIRTQ_LAYOUT_AVAIL_OFF(QN));
}

static volatile uint32_t *used(struct ring *r)
{
	return (volatile uint32_t *)(r->mem + VIRTQ_LAYOUT_USED_OFF(QN));
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Reset and set up like a real driver: checksum and TSO offloads on TX, none on RX, both queues. */
static uint32_t setup(void)
{
	mm_negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
		     VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_MAC));
	memset(&rxr, 0, sizeof(rxr));
	memset(&txr, 0, sizeof(txr));
	mm_queue(VIRTIO_NET_RXQ, rxr.mem, QN);
	mm_queue(VIRTIO_NET_TXQ, txr.mem, QN);
	return mm_driver_ok();
}

static void D(struct ring *r, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	desc(r)[i] = (struct virtq_desc){.addr = addr, .len = len, .flags = flags, .next = next};
}

/*
 * Publishes head on queue q (idx_jump more than one entry when asked), kicks, and waits up to
 * limit_s for the device to return a chain or give up on the queue. Returns 1 returned, 0 nothing,
 * -1 reset (and the device is set up again).
 */
static int submit(uint32_t q, const char *name, uint16_t head, uint16_t idx_jump, double limit_s)
{
	struct ring *r = q == VIRTIO_NET_RXQ ? &rxr : &txr;
	volatile uint16_t *av = avail(r);
	uint16_t before = (uint16_t)(used(r)[0] >> 16); /* used.idx: the upper half of the first word */
	av[2 + r->idx % QN] = head;
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* the entry before idx, as the device reads them */
	r->idx = (uint16_t)(r->idx + 1 + idx_jump);
	av[1] = r->idx;
	mm_wr(VIRTIO_MMIO_QUEUE_NOTIFY, q);
	uint32_t st = 0;
	uint16_t now = before;
	for (double end = now_s() + limit_s; now_s() < end;) {
		st = mm_rd(VIRTIO_MMIO_STATUS);
		now = (uint16_t)(used(r)[0] >> 16);
		if (now != before || (st & (VIRTIO_STATUS_DEVICE_NEEDS_RESET | VIRTIO_STATUS_FAILED)))
			break;
		struct timespec ts = {0, 200000};
		nanosleep(&ts, NULL);
	}
	const char *what = now != before ? "returned" : "nothing";
	int rc = now != before;
	if (st & (VIRTIO_STATUS_DEVICE_NEEDS_RESET | VIRTIO_STATUS_FAILED) || !(st & VIRTIO_STATUS_DRIVER_OK)) {
		what = "reset";
		rc = -1;
	}
	uint32_t len = now != before ? used(r)[1 + 2 * ((uint16_t)(now - 1) % QN) + 1] : 0;
	say("nethostile: %s %-22s %s (status %#x, used len %u)\n", q == VIRTIO_NET_RXQ ? "rx" : "tx", name, what, st,
	    len);
	if (rc < 0)
		setup();
	return rc;
}

/* A TX case that must be refused: one chain at head 0, the header (if hdr) set first. */
static void tx_bad(const char *name, const struct virtio_net_hdr *hdr)
{
	if (hdr)
		memcpy(pkt, hdr, HDR);
	if (submit(VIRTIO_NET_TXQ, name, 0, 0, 2) > 0)
		dropped++;
	memset(pkt, 0, HDR);
}

/* A broadcast frame of a local experimental ethertype behind a zero header: the host's stack drops it. */
static void frame_init(void)
{
	memset(pkt, 0, sizeof(pkt));
	uint8_t *eth = pkt + HDR;
	memset(eth, 0xff, 6);
	memcpy(eth + 6, "\x02\x00\x00\x00\x00\x03\x88\xb5", 8);
	memset(eth + 14, 0x5a, sizeof(pkt) - HDR - 14);
}

static void tx_cases(void)
{
	struct ring *t = &txr;
	uintptr_t P = (uintptr_t)pkt;
	const uint16_t N = VIRTQ_DESC_F_NEXT, W = VIRTQ_DESC_F_WRITE;

	D(t, 0, P, HDR + FRAME, 0, 0);
	submit(VIRTIO_NET_TXQ, "valid", 0, 0, 2);
	/* Refused chains first: the monitor's first warnings (it says ten, then stops saying) are these. */
	D(t, 0, P, HDR + FRAME, W, 0);
	tx_bad("writable-buffer", NULL);
	D(t, 0, P, HDR, 0, 0);
	tx_bad("header-only", NULL);
	D(t, 0, P, HDR + 1600, 0, 0);
	tx_bad("past-mtu-no-gso", NULL);
	D(t, 0, P, HDR + FRAME, 0, 0);
	tx_bad("hdr-flags-data-valid", &(struct virtio_net_hdr){.flags = 2});
	tx_bad("hdr-gso-garbage", &(struct virtio_net_hdr){.gso_type = 0x77});
	tx_bad("hdr-csum-outside", &(struct virtio_net_hdr){.flags = 1, .csum_start = 50, .csum_offset = 60});
	tx_bad("hdr-csum-start-0", &(struct virtio_net_hdr){.flags = 1, .csum_start = 0, .csum_offset = 16});
	tx_bad("hdr-len-past-frame", &(struct virtio_net_hdr){.hdr_len = 0xffff});
	tx_bad("hdr-gso-ecn", &(struct virtio_net_hdr){.flags = 1, .gso_type = 0x81, .csum_start = 34,
						     .csum_offset = 16, .hdr_len = 54, .gso_size = 1448});
	tx_bad("hdr-gso-udp", &(struct virtio_net_hdr){.flags = 1, .gso_type = 3, .csum_start = 34,
						    .csum_offset = 6, .hdr_len = 42, .gso_size = 1448});
	tx_bad("hdr-tso-no-csum", &(struct virtio_net_hdr){.gso_type = 1, .hdr_len = 54, .gso_size = 1448});
	tx_bad("hdr-tso-size-0", &(struct virtio_net_hdr){.flags = 1, .gso_type = 1, .csum_start = 34,
						       .csum_offset = 16, .hdr_len = 54});
	tx_bad("hdr-tso-seg-past-mtu", &(struct virtio_net_hdr){.flags = 1, .gso_type = 1, .csum_start = 34,
							     .csum_offset = 16, .hdr_len = 54, .gso_size = 9000});
	D(t, 0, P, BIG, 0, 0);
	tx_bad("tso-past-64k", &(struct virtio_net_hdr){.flags = 1, .gso_type = 1, .csum_start = 34,
						     .csum_offset = 16, .hdr_len = 54, .gso_size = 1448});
	D(t, 0, P, 0xffffffffu, 0, 0);
	tx_bad("len-4g", NULL);
	D(t, 0, 0xffffffff00000000ull, HDR + FRAME, 0, 0);
	tx_bad("outside-ram", NULL);
	D(t, 0, 0xfffffffffffff000ull, 0x2000, 0, 0);
	tx_bad("wraps", NULL);
	D(t, 0, UKVM_MMIO_BASE, HDR + FRAME, 0, 0);
	tx_bad("in-mmio-window", NULL);
	D(t, 0, P, HDR, N, 1);
	D(t, 1, P + HDR, FRAME, N, 0);
	tx_bad("loop", NULL);
	D(t, 1, P + HDR, FRAME, N, 200);
	tx_bad("next-out-of-range", NULL);
	D(t, 0, P, 0, N, 1);
	D(t, 1, P, 0, 0, 0);
	tx_bad("zero-lengths", NULL);
	D(t, 0, P, 16 * 3, VIRTQ_DESC_F_INDIRECT, 0);
	tx_bad("indirect-not-offered", NULL);
	for (unsigned i = 0; i < QN; i++)
		D(t, i, P + HDR + i, 1, N, (uint16_t)((i + 1) % QN));
	D(t, 0, P, HDR, N, 1);
	tx_bad("chain-loops-all", NULL);
	/* The queue itself: a head past the queue, then an index far ahead of it. */
	D(t, 0, P, HDR + FRAME, 0, 0);
	submit(VIRTIO_NET_TXQ, "head-out-of-range", 0xffff, 0, 2);
	submit(VIRTIO_NET_TXQ, "avail-idx-ahead", 0, 1000, 2);
	D(t, 0, P, HDR + FRAME, 0, 0);
	submit(VIRTIO_NET_TXQ, "valid-after", 0, 0, 2);
}

static void rx_cases(void)
{
	struct ring *r = &rxr;
	uintptr_t B = (uintptr_t)rxbuf;
	const uint16_t N = VIRTQ_DESC_F_NEXT, W = VIRTQ_DESC_F_WRITE;

	D(r, 0, B, 100, W, 0);
	submit(VIRTIO_NET_RXQ, "short", 0, 0, 2);
	D(r, 0, B, sizeof(rxbuf), 0, 0);
	submit(VIRTIO_NET_RXQ, "read-only", 0, 0, 2);
	D(r, 0, UKVM_MMIO_BASE, sizeof(rxbuf), W, 0);
	submit(VIRTIO_NET_RXQ, "in-mmio-window", 0, 0, 2);
	D(r, 0, 0xffffffff00000000ull, sizeof(rxbuf), W, 0);
	submit(VIRTIO_NET_RXQ, "outside-ram", 0, 0, 2);
	D(r, 0, B, 1024, N | W, 1);
	D(r, 1, B + 1024, 1024, N | W, 0);
	submit(VIRTIO_NET_RXQ, "loop", 0, 0, 2);
	submit(VIRTIO_NET_RXQ, "head-out-of-range", 0xffff, 0, 2);
	/* A good buffer last: the device holds it until a frame comes (the test sends some). */
	D(r, 0, B, sizeof(rxbuf), W, 0);
	say("nethostile: rx waiting for a frame\n");
	submit(VIRTIO_NET_RXQ, "valid-after", 0, 0, 20);
}

int main(void)
{
	if (mm_rd(VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC || mm_rd(VIRTIO_MMIO_DEVICE_ID) != VIRTIO_ID_NET) {
		say("nethostile: device 0 is not virtio-net\n");
		return 1;
	}
	uint32_t st = setup();
	say("nethostile: setup status %#x\n", st);
	if (!(st & VIRTIO_STATUS_DRIVER_OK))
		return 1;
	frame_init();
	tx_cases();
	rx_cases();
	say("nethostile: done, %lu tx chains dropped\n", dropped);
	return 0;
}
