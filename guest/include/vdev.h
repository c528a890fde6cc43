/* vdev.h: the guest's virtio drivers (guest/drivers): virtio-mmio transport core, polled queues, virtio-blk, virtio-net. */
#ifndef VDEV_H
#define VDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtq.h"
#include "wait.h"

/*
 * One virtio-mmio v2 device. Register accesses are MMIO exits (~30 us on
 * PVM): the drivers make them at setup only; the data path touches the rings
 * and QueueNotify (a KVM ioeventfd: no exit to the monitor).
 */
struct vd_mmio {
	volatile uint8_t *regs; /* identity-mapped register block */
	uint64_t gpa;
	uint32_t device_id;
	uint64_t features; /* negotiated set, valid after vd_mmio_begin */
	unsigned index;    /* position among the /virtio_mmio@ nodes */
};

/* A polled split virtqueue on memory from k_pages_alloc. */
struct vd_queue {
	struct vq_drv vq;
	struct vd_mmio *dev;
	uint16_t index;
	void *ring;          /* desc + avail + used (VIRTQ_LAYOUT_*) */
	size_t ring_pages;
	struct vq_drv_slot *slots;
};

/* Queues are at most this long: 256 descriptors keep the rings in two pages. */
#define VD_QUEUE_MAX 256u

/*
 * While requests are in flight the driver looks at its device at least once
 * a slice: when a WAIT slice passes without news it reads the device's
 * Status (one exit), so a device the app reset or broke is noticed within
 * about a slice. A device that still claims to be live but completes nothing
 * for VD_STALL_NS (e.g. the app re-initialised it with rings of its own) is
 * given up on (-EIO): the app never stalls longer.
 */
#define VD_WAIT_SLICE_NS 100000000ull
#define VD_STALL_NS 5000000000ull

/* Guest physical address of a kernel pointer (identity or kernel-alias mapping). */
uint64_t vd_gpa(const void *p);

/* 32-bit register access (one MMIO exit each). */
uint32_t vd_mmio_read(const struct vd_mmio *d, uint32_t off);
void vd_mmio_write(const struct vd_mmio *d, uint32_t off, uint32_t val);

/*
 * Checks magic, version 2 and reads the device id of the register block at
 * gpa (which the monitor maps identity, see ukvm_abi.h). 0, or -ENODEV when
 * no (modern) virtio device answers there; device_id 0 is an empty slot.
 */
int vd_mmio_probe(struct vd_mmio *d, uint64_t gpa, unsigned index);

/*
 * Spec 3.1.1 steps 1-6: reset, ACKNOWLEDGE, DRIVER, read the device's
 * features, accept those of want it offers (VERSION_1 is required: -ENODEV
 * without it), FEATURES_OK and read it back (-EIO when refused). The
 * negotiated set lands in d->features. On error the device is left FAILED.
 */
int vd_mmio_begin(struct vd_mmio *d, uint64_t want);

/* Reads n 32-bit words of config space from off (4-aligned) as one consistent snapshot (generation, spec 4.2.2.2). */
void vd_mmio_config(const struct vd_mmio *d, uint32_t off, uint32_t *words, unsigned n);

/*
 * Sets up queue index: size = min(QueueNumMax, max) rounded down to a power
 * of two, rings zeroed and given to the device, QueueReady. 0, -ENODEV (no
 * such queue or already live), -ENOMEM.
 */
int vd_queue_setup(struct vd_mmio *d, struct vd_queue *q, uint16_t index, uint32_t max);

/* Final step: DRIVER_OK. */
void vd_mmio_driver_ok(struct vd_mmio *d);

/* Gives up on a device: reset, so it forgets our rings and buffers, then status FAILED. */
void vd_mmio_kill(struct vd_mmio *d);

/* After a batch of vq_drv_add: writes QueueNotify only when the device asked for it (event idx). */
void vd_queue_kick(struct vd_queue *q);

/*
 * Re-arms device news at the last used entry seen and re-reads used.idx
 * after a full barrier: true when used entries wait to be collected. After
 * false, anything the device pushes raises news, which ends (or skips) the
 * next idle WAIT.
 */
bool vd_queue_rearm(struct vd_queue *q);

/* Polls the used ring for up to spin_ns (at least once): true as soon as it has entries. No exit. */
bool vd_queue_spin(struct vd_queue *q, uint64_t spin_ns);

/* The device's Status register (one MMIO exit: slow paths only). */
uint32_t vd_mmio_status(const struct vd_mmio *d);

/*
 * Pure, host-tested. True when a device with this Status can no longer
 * complete our requests: it asked for a reset (DEVICE_NEEDS_RESET), someone
 * set FAILED, or DRIVER_OK is gone (it was reset behind our back).
 */
bool vd_status_stopped(uint32_t status);

/*
 * Pure, host-tested. For a poller that found no completion while requests
 * are in flight, told news by the scheduler: true when it should read Status
 * now. A quiet WAIT always asks; news without a completion asks from the
 * second time in a row (*idle_news counts them; the caller zeroes it on
 * progress), because the first one is usually news for a completion
 * polling already collected, and a Status read there would cost an exit on
 * the fast path; a scheduler pass without a WAIT never asks.
 */
bool vd_wait_check_status(enum k_wait_news news, unsigned *idle_news);

/*
 * Walks the FDT's /virtio_mmio@ nodes in order and starts a driver for each
 * device it knows (block; others get a one-line note). Call once at boot,
 * after the page allocator and before the file system (which creates the
 * /dev nodes for the block devices registered here).
 */
void vd_probe_all(const void *fdt);

/*
 * virtio-net (guest/drivers/virtio_net.c): probes d (device id 1), whose FDT
 * node is node, and adds it to lwIP as the next ethN (net.h). Call after
 * net_init. 0 or -errno (the NIC is then left reset and FAILED).
 */
int vd_net_probe(struct vd_mmio *d, const void *fdt, int node);

/* virtio-blk (guest/drivers/virtio_blk.c): probes d (device id 2) and registers /dev/vdX. 0 or -errno. */
int vd_blk_probe(struct vd_mmio *d);

/*
 * Request planning (pure, host-tested): how a transfer of nsect sectors is
 * cut into requests and each request's data into segments.
 */
struct vd_blk_limits {
	uint32_t seg_max;        /* data segments per request (>= 1) */
	uint32_t size_max;       /* bytes per segment (>= 1) */
	uint32_t req_max_sectors; /* sectors per request (>= 1) */
};

/* Computes limits from the negotiated features and config values (0 = not offered). 0 or -EINVAL (unusable). */
int vd_blk_limits(struct vd_blk_limits *l, bool has_seg_max, uint32_t seg_max, bool has_size_max,
		  uint32_t size_max, uint32_t queue_size);

/*
 * Fills sg[0..] for one request: the header at hdr_gpa, data [data_gpa,
 * data_gpa + nsect * 512) cut into segments of at most size_max bytes
 * (device-writable when write_data), the status byte at status_gpa. nsect
 * must be <= req_max_sectors. Returns the number of entries (<= seg_max + 2)
 * or -EINVAL.
 */
int vd_blk_build_sg(const struct vd_blk_limits *l, struct vq_sg *sg, unsigned max, uint64_t hdr_gpa,
		    uint64_t data_gpa, uint64_t nsect, bool write_data, uint64_t status_gpa);

#endif
