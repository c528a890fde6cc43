/*
 * netflood.c: a hostile guest app for the NIC: resets virtio-net device 0 (the kernel's driver
 * loses it), gives the device no receive buffers at all, and floods the transmit queue with
 * broadcast frames as fast as the device completes them. The monitor must stay bounded in memory
 * and CPU, keep dropping what arrives for the guest, and stop on SIGTERM or --timeout at once.
 * Like blkhostile it reaches the registers (UKVM_MMIO_BASE) and uses identity-mapped app memory
 * as rings: kernel and app share one address space.
 *   netflood [SECONDS (0: until stopped)]
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mmioapp.h"
#include "virtio_net.h"
#include "say.h"

#define N    256
#define FRAME 1514

static uint8_t txq[VIRTQ_LAYOUT_BYTES(N)] __attribute__((aligned(4096)));
static uint8_t rxq[VIRTQ_LAYOUT_BYTES(N)] __attribute__((aligned(4096)));
static uint8_t pkt[sizeof(struct virtio_net_hdr) + FRAME] __attribute__((aligned(64)));

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 0;
	if (mm_rd(VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC || mm_rd(VIRTIO_MMIO_DEVICE_ID) != VIRTIO_ID_NET) {
		say("netflood: device 0 is not virtio-net\n");
		return 1;
	}
	/* Reset, then VERSION_1 and nothing else: a 12-byte header, no offloads. */
	mm_negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	mm_queue(VIRTIO_NET_RXQ, rxq, N); /* ready, and never a buffer in it */
	mm_queue(VIRTIO_NET_TXQ, txq, N);
	uint32_t st = mm_driver_ok();
	if (!(st & VIRTIO_STATUS_DRIVER_OK) || (st & VIRTIO_STATUS_FAILED)) {
		say("netflood: device refused the setup, status %#x\n", st);
		return 1;
	}

	/* A broadcast frame of a local experimental ethertype: the host's stack drops it. */
	uint8_t *eth = pkt + sizeof(struct virtio_net_hdr);
	memset(eth, 0xff, 6);
	memcpy(eth + 6, "\x02\x00\x00\x00\x00\x01\x88\xb5", 8);
	memset(eth + 14, 0x5a, FRAME - 14);
	struct virtq_desc *d = (struct virtq_desc *)txq;
	volatile uint16_t *av = (volatile uint16_t *)(txq + VIRTQ_LAYOUT_AVAIL_OFF(N));
	volatile uint16_t *used_idx = (volatile uint16_t *)(txq + VIRTQ_LAYOUT_USED_OFF(N) + 2);
	for (unsigned i = 0; i < N; i++)
		d[i] = (struct virtq_desc){(uintptr_t)pkt, sizeof(pkt), 0, 0};
	say("netflood: flooding\n");

	uint16_t idx = 0;
	unsigned long long sent = 0;
	double t0 = now_s(), next = t0 + 1;
	for (;;) {
		uint16_t used = *used_idx;
		uint16_t room = (uint16_t)(N - (uint16_t)(idx - used));
		for (uint16_t k = 0; k < room; k++, idx++)
			av[2 + idx % N] = idx % N; /* heads by position: a device completing out of order sees reuse */
		__atomic_thread_fence(__ATOMIC_SEQ_CST); /* ring entries before idx, as the device reads them */
		av[1] = idx;
		mm_wr(VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_NET_TXQ);
		sent += room;
		if (!room) {
			struct timespec ts = {0, 100000};
			nanosleep(&ts, NULL);
		}
		double t = now_s();
		if (t >= next) {
			say("netflood: %llu frames queued, used %u, status %#x\n", sent, *used_idx, mm_rd(VIRTIO_MMIO_STATUS));
			next = t + 1;
		}
		if (secs > 0 && t - t0 >= secs)
			break;
	}
	say("netflood: done, %llu frames\n", sent);
	return 0;
}
