/*
 * mmioapp.h: register access for the hostile NIC apps (netflood, nethostile). The kernel and
 * the app share one address space and every page has the user bit, so an app reaches device 0's
 * virtio-mmio registers (identity-mapped at UKVM_MMIO_BASE) and can give the device rings in its
 * own memory (guest virtual == guest physical): what only the kernel's driver should do.
 */
#ifndef APPS_MMIOAPP_H
#define APPS_MMIOAPP_H

#include <stdint.h>

#include "ukvm_abi.h"
#include "virtio.h"
#include "virtio_mmio.h"

#define MMIOAPP_DEV0 ((uintptr_t)UKVM_MMIO_BASE)

static inline uint32_t mm_rd(unsigned off)
{
	return *(volatile uint32_t *)(MMIOAPP_DEV0 + off);
}

static inline void mm_wr(unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(MMIOAPP_DEV0 + off) = v;
}

static inline void mm_wr64(unsigned lo, uint64_t v)
{
	mm_wr(lo, (uint32_t)v);
	mm_wr(lo + 4, (uint32_t)(v >> 32));
}

/* Queue q of n entries in ring (desc, avail, used laid out as VIRTQ_LAYOUT_*), then QueueReady. */
static inline void mm_queue(uint32_t q, uint8_t *ring, uint32_t n)
{
	uint64_t g = (uintptr_t)ring;
	mm_wr(VIRTIO_MMIO_QUEUE_SEL, q);
	mm_wr(VIRTIO_MMIO_QUEUE_NUM, n);
	mm_wr64(VIRTIO_MMIO_QUEUE_DESC_LOW, g);
	mm_wr64(VIRTIO_MMIO_QUEUE_DRIVER_LOW, g + VIRTQ_LAYOUT_AVAIL_OFF(n));
	mm_wr64(VIRTIO_MMIO_QUEUE_DEVICE_LOW, g + VIRTQ_LAYOUT_USED_OFF(n));
	mm_wr(VIRTIO_MMIO_QUEUE_READY, 1);
}

/* Resets device 0 and accepts the feature bits in want (both 32-bit halves) that it offers; FEATURES_OK. */
static inline void mm_negotiate(uint64_t want)
{
	mm_wr(VIRTIO_MMIO_STATUS, 0);
	mm_wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	for (uint32_t sel = 0; sel < 2; sel++) {
		mm_wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, sel);
		uint32_t offered = mm_rd(VIRTIO_MMIO_DEVICE_FEATURES);
		mm_wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, sel);
		mm_wr(VIRTIO_MMIO_DRIVER_FEATURES, offered & (uint32_t)(want >> (32 * sel)));
	}
	mm_wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
}

/* DRIVER_OK after the queues; returns the status the device shows then. */
static inline uint32_t mm_driver_ok(void)
{
	mm_wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
					  VIRTIO_STATUS_DRIVER_OK);
	return mm_rd(VIRTIO_MMIO_STATUS);
}

#endif
