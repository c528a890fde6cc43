/* vblk_plan.c: the drivers' pure, host-tested decisions: request and segment planning, when to suspect the device. */
#include <asm-generic/errno.h>

#include "vdev.h"
#include "virtio.h"
#include "virtio_blk.h"

/* Larger requests gain nothing on the host (io_uring splits them anyway) and keep fewer requests in flight. */
#define VBLK_REQ_MAX_BYTES (128u * 1024)

int vd_blk_limits(struct vd_blk_limits *l, bool has_seg_max, uint32_t seg_max, bool has_size_max,
		  uint32_t size_max, uint32_t queue_size)
{
	/* A request is header + data segments + status: it must fit the queue (no indirect descriptors). */
	if (queue_size < 3)
		return -EINVAL;
	uint32_t segs = queue_size - 2;
	if (has_seg_max && seg_max < segs)
		segs = seg_max;
	if (segs == 0)
		return -EINVAL; /* the device offered SEG_MAX = 0: no request can carry data */
	uint32_t seg_bytes = VBLK_REQ_MAX_BYTES;
	if (has_size_max && size_max < seg_bytes)
		seg_bytes = size_max;
	if (seg_bytes == 0)
		return -EINVAL;
	uint64_t bytes = (uint64_t)segs * seg_bytes;
	if (bytes > VBLK_REQ_MAX_BYTES)
		bytes = VBLK_REQ_MAX_BYTES;
	if (bytes < VIRTIO_BLK_SECTOR_SIZE)
		return -EINVAL; /* segments too small and too few to carry one sector */
	l->seg_max = segs;
	l->size_max = seg_bytes;
	l->req_max_sectors = (uint32_t)(bytes >> VIRTIO_BLK_SECTOR_SHIFT);
	return 0;
}

int vd_blk_build_sg(const struct vd_blk_limits *l, struct vq_sg *sg, unsigned max, uint64_t hdr_gpa,
		    uint64_t data_gpa, uint64_t nsect, bool dev_writes, uint64_t status_gpa)
{
	unsigned n = 0;

	if (nsect > l->req_max_sectors || max < 2)
		return -EINVAL;
	uint64_t left = nsect << VIRTIO_BLK_SECTOR_SHIFT;
	if (data_gpa + left < data_gpa)
		return -EINVAL;
	sg[n++] = (struct vq_sg){ .gpa = hdr_gpa, .len = sizeof(struct virtio_blk_req_hdr), .writable = false };
	while (left) {
		uint32_t len = left < l->size_max ? (uint32_t)left : l->size_max;
		if (n - 1 >= l->seg_max || n + 1 >= max)
			return -EINVAL; /* cannot happen when nsect <= req_max_sectors and max >= seg_max + 2 */
		sg[n++] = (struct vq_sg){ .gpa = data_gpa, .len = len, .writable = dev_writes };
		data_gpa += len;
		left -= len;
	}
	sg[n++] = (struct vq_sg){ .gpa = status_gpa, .len = 1, .writable = true };
	return (int)n;
}

bool vd_status_stopped(uint32_t status)
{
	return (status & (VIRTIO_STATUS_DEVICE_NEEDS_RESET | VIRTIO_STATUS_FAILED)) ||
	       !(status & VIRTIO_STATUS_DRIVER_OK);
}

bool vd_wait_check_status(enum k_wait_news news, unsigned *idle_news)
{
	switch (news) {
	case K_WAIT_QUIET:
		return true;
	case K_WAIT_NEWS:
		return ++*idle_news >= 2;
	default:
		return false; /* no WAIT happened: nothing to suspect yet */
	}
}
