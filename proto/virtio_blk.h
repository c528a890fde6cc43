/* virtio_blk.h: virtio-blk feature bits, config layout and request format (spec 5.2). */
#ifndef PROTO_VIRTIO_BLK_H
#define PROTO_VIRTIO_BLK_H

#include <stddef.h>
#include <stdint.h>

/* Feature bit numbers. */
#define VIRTIO_BLK_F_SIZE_MAX 1     /* config.size_max: largest segment */
#define VIRTIO_BLK_F_SEG_MAX 2      /* config.seg_max: most data segments per request */
#define VIRTIO_BLK_F_GEOMETRY 4
#define VIRTIO_BLK_F_RO 5           /* read-only: OUT requests fail */
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_TOPOLOGY 10
#define VIRTIO_BLK_F_CONFIG_WCE 11
#define VIRTIO_BLK_F_MQ 12
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14
#define VIRTIO_BLK_F_LIFETIME 15
#define VIRTIO_BLK_F_SECURE_ERASE 16

/* Capacity and sector fields count 512-byte sectors whatever blk_size says (spec 5.2.4). */
#define VIRTIO_BLK_SECTOR_SHIFT 9
#define VIRTIO_BLK_SECTOR_SIZE 512u

struct virtio_blk_geometry {
	uint16_t cylinders;
	uint8_t heads;
	uint8_t sectors;
};

struct virtio_blk_topology {
	uint8_t physical_block_exp;
	uint8_t alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
};

/* Device config space (little-endian); fields past those a feature enables read as 0. */
struct virtio_blk_config {
	uint64_t capacity;
	uint32_t size_max;
	uint32_t seg_max;
	struct virtio_blk_geometry geometry;
	uint32_t blk_size;
	struct virtio_blk_topology topology;
	uint8_t writeback;
	uint8_t unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors;
	uint32_t max_discard_seg;
	uint32_t discard_sector_alignment;
	uint32_t max_write_zeroes_sectors;
	uint32_t max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap;
	uint8_t unused1[3];
	uint32_t max_secure_erase_sectors;
	uint32_t max_secure_erase_seg;
	uint32_t secure_erase_sector_alignment;
};

_Static_assert(offsetof(struct virtio_blk_config, blk_size) == 20, "virtio_blk_config layout");
_Static_assert(offsetof(struct virtio_blk_config, writeback) == 32, "virtio_blk_config layout");
_Static_assert(offsetof(struct virtio_blk_config, max_discard_sectors) == 36, "virtio_blk_config layout");
_Static_assert(sizeof(struct virtio_blk_config) == 72, "virtio_blk_config layout");

/* Request types (virtio_blk_req_hdr.type). */
#define VIRTIO_BLK_T_IN 0u
#define VIRTIO_BLK_T_OUT 1u
#define VIRTIO_BLK_T_FLUSH 4u
#define VIRTIO_BLK_T_GET_ID 8u
#define VIRTIO_BLK_T_GET_LIFETIME 10u
#define VIRTIO_BLK_T_DISCARD 11u
#define VIRTIO_BLK_T_WRITE_ZEROES 13u
#define VIRTIO_BLK_T_SECURE_ERASE 14u

/* Status byte, the last (device-writable) byte of every request. */
#define VIRTIO_BLK_S_OK 0u
#define VIRTIO_BLK_S_IOERR 1u
#define VIRTIO_BLK_S_UNSUPP 2u

/* GET_ID answers with up to this many bytes of serial (not NUL-terminated when full). */
#define VIRTIO_BLK_ID_BYTES 20u

/*
 * A request is one chain: this header (device-readable), then data buffers
 * (readable for OUT, writable for IN/GET_ID), then one writable status byte.
 */
struct virtio_blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};
_Static_assert(sizeof(struct virtio_blk_req_hdr) == 16, "virtio_blk_req_hdr layout");

/* Payload segment of DISCARD / WRITE_ZEROES / SECURE_ERASE. */
struct virtio_blk_discard_write_zeroes {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};
#define VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP 1u

#endif
