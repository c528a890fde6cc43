/* virtio.h: virtio 1.x constants and split-virtqueue layouts (spec 2.1, 2.7, 6), shared by monitor and guest. */
#ifndef PROTO_VIRTIO_H
#define PROTO_VIRTIO_H

#include <stdint.h>

/* Device status bits (spec 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED 128u

/* Device ids (spec 5). */
#define VIRTIO_ID_NET 1u
#define VIRTIO_ID_BLOCK 2u
#define VIRTIO_ID_CONSOLE 3u
#define VIRTIO_ID_RNG 4u

/* Reserved (transport-independent) feature bit numbers (spec 6); use VIRTIO_BIT() to make a mask. */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_ACCESS_PLATFORM 33
#define VIRTIO_F_RING_PACKED 34
#define VIRTIO_F_IN_ORDER 35
#define VIRTIO_F_ORDER_PLATFORM 36
#define VIRTIO_F_SR_IOV 37
#define VIRTIO_F_NOTIFICATION_DATA 38
#define VIRTIO_F_NOTIF_CONFIG_DATA 39
#define VIRTIO_F_RING_RESET 40
#define VIRTIO_BIT(nr) (1ull << (nr))

/* Split virtqueue (spec 2.7). All multi-byte fields are little-endian in guest memory. */
#define VIRTQ_MAX_SIZE 32768u /* spec 2.7: queue size is a power of two no larger than 32768 */

#define VIRTQ_DESC_F_NEXT 1u     /* the chain continues at .next */
#define VIRTQ_DESC_F_WRITE 2u    /* device writes (otherwise device reads) */
#define VIRTQ_DESC_F_INDIRECT 4u /* .addr/.len is a table of descriptors (spec 2.7.5.3) */

#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u /* driver -> device hint, only without EVENT_IDX */
#define VIRTQ_USED_F_NO_NOTIFY 1u     /* device -> driver hint, only without EVENT_IDX */

struct virtq_desc {
	uint64_t addr; /* guest physical */
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* Driver area. With EVENT_IDX, ring[size] is used_event. */
struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct virtq_used_elem {
	uint32_t id; /* head index of the chain (uint32 for padding, spec 2.7.8) */
	uint32_t len; /* bytes written into the chain's writable buffers */
};

/* Device area. With EVENT_IDX, a uint16 avail_event follows ring[size]. */
struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[];
};

_Static_assert(sizeof(struct virtq_desc) == 16, "virtq_desc layout");
_Static_assert(sizeof(struct virtq_used_elem) == 8, "virtq_used_elem layout");
_Static_assert(sizeof(struct virtq_avail) == 4 && sizeof(struct virtq_used) == 4, "ring header layout");

/* Alignment the spec requires of each area (spec 2.7, table "Virtqueue Part Alignment"). */
#define VIRTQ_DESC_ALIGN 16u
#define VIRTQ_AVAIL_ALIGN 2u
#define VIRTQ_USED_ALIGN 4u

/* Bytes of each area for a queue of n entries, event-idx fields included (always reserved). */
#define VIRTQ_DESC_BYTES(n) (16ull * (uint64_t)(n))
#define VIRTQ_AVAIL_BYTES(n) (6ull + 2ull * (uint64_t)(n))
#define VIRTQ_USED_BYTES(n) (6ull + 8ull * (uint64_t)(n))

/* Rounds x up to a power-of-two alignment a. */
#define VIRTQ_ALIGN_UP(x, a) (((uint64_t)(x) + ((uint64_t)(a) - 1)) & ~((uint64_t)(a) - 1))

/* One contiguous layout: desc at 0, avail right after, used at the next 4-byte boundary. */
#define VIRTQ_LAYOUT_AVAIL_OFF(n) VIRTQ_DESC_BYTES(n)
#define VIRTQ_LAYOUT_USED_OFF(n) VIRTQ_ALIGN_UP(VIRTQ_DESC_BYTES(n) + VIRTQ_AVAIL_BYTES(n), VIRTQ_USED_ALIGN)
#define VIRTQ_LAYOUT_BYTES(n) (VIRTQ_LAYOUT_USED_OFF(n) + VIRTQ_USED_BYTES(n))

#endif
