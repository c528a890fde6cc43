/* virtq.h: split virtqueue, device side (monitor: vq_dev_*) and driver side (guest: vq_drv_*), hostile-input safe. */
#ifndef PROTO_VIRTQ_H
#define PROTO_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto_env.h"
#include "virtio.h"

/*
 * Errors, returned negated (-VQ_E_*). Each names what the other side did
 * wrong so a device can log it once and set DEVICE_NEEDS_RESET or fail the
 * request. No errno: proto/ is freestanding.
 */
enum vq_err {
	VQ_OK = 0,
	VQ_E_SIZE,            /* queue size 0, not a power of two or > 32768 */
	VQ_E_ALIGN,           /* ring area misaligned (desc 16, avail 2, used 4) */
	VQ_E_RING_ADDR,       /* a ring area is not inside guest RAM */
	VQ_E_AVAIL_IDX,       /* avail.idx ran ahead of us by more than the queue size */
	VQ_E_HEAD_RANGE,      /* avail ring names a head >= queue size */
	VQ_E_NEXT_RANGE,      /* desc.next >= queue size (or >= indirect table entries) */
	VQ_E_LOOP,            /* chain visits more descriptors than the queue size: a loop */
	VQ_E_INDIRECT_FEAT,   /* INDIRECT used but VIRTIO_F_INDIRECT_DESC not negotiated */
	VQ_E_INDIRECT_LEN,    /* indirect table len 0, not a multiple of 16, or > size entries */
	VQ_E_INDIRECT_NESTED, /* INDIRECT inside an indirect table */
	VQ_E_INDIRECT_NEXT,   /* INDIRECT and NEXT in the same descriptor */
	VQ_E_OVERFLOW,        /* addr + len wraps around 2^64 */
	VQ_E_BUF_ADDR,        /* a buffer (or indirect table) is not inside guest RAM */
	VQ_E_ORDER,           /* a device-readable descriptor after a device-writable one */
	VQ_E_CHAIN_LEN,       /* buffers of one chain add up to more than 2^32 - 1 bytes */
	VQ_E_TOO_MANY_SEGS,   /* vq_chain_collect: more segments than the caller's array */
	VQ_E_BAD_ID,          /* vq_dev_push_used: id >= queue size (a device bug) */
	VQ_E_NOSPC,           /* vq_drv_add: not enough free descriptors */
	VQ_E_INVAL,           /* bad argument from the caller (empty sg, NULL cookie, ...) */
	VQ_E_USED_IDX,        /* used.idx ran ahead of what the driver has in flight */
	VQ_E_USED_ID,         /* used id >= size or not the head of a chain in flight */
	VQ_E_USED_LEN,        /* used len larger than the chain's writable bytes */
	VQ_E_BROKEN,          /* the queue was marked broken by an earlier error */
	VQ_E_COUNT
};

/* Short constant description of a VQ_E_* code (negated or not), for logs. */
static inline const char *vq_err_str(int err)
{
	static const char *const names[VQ_E_COUNT] = {
		[VQ_OK] = "ok",
		[VQ_E_SIZE] = "bad queue size",
		[VQ_E_ALIGN] = "misaligned ring",
		[VQ_E_RING_ADDR] = "ring outside guest RAM",
		[VQ_E_AVAIL_IDX] = "avail idx too far ahead",
		[VQ_E_HEAD_RANGE] = "avail head out of range",
		[VQ_E_NEXT_RANGE] = "desc next out of range",
		[VQ_E_LOOP] = "descriptor loop",
		[VQ_E_INDIRECT_FEAT] = "indirect not negotiated",
		[VQ_E_INDIRECT_LEN] = "bad indirect table length",
		[VQ_E_INDIRECT_NESTED] = "nested indirect table",
		[VQ_E_INDIRECT_NEXT] = "indirect with next",
		[VQ_E_OVERFLOW] = "buffer wraps address space",
		[VQ_E_BUF_ADDR] = "buffer outside guest RAM",
		[VQ_E_ORDER] = "readable after writable",
		[VQ_E_CHAIN_LEN] = "chain longer than 4 GiB",
		[VQ_E_TOO_MANY_SEGS] = "too many segments",
		[VQ_E_BAD_ID] = "used id out of range",
		[VQ_E_NOSPC] = "no free descriptors",
		[VQ_E_INVAL] = "invalid argument",
		[VQ_E_USED_IDX] = "used idx too far ahead",
		[VQ_E_USED_ID] = "used id not in flight",
		[VQ_E_USED_LEN] = "used len too large",
		[VQ_E_BROKEN] = "queue broken",
	};
	unsigned e = err < 0 ? 0u - (unsigned)err : (unsigned)err;

	return e < VQ_E_COUNT && names[e] ? names[e] : "unknown";
}

/*
 * vring_need_event semantics (spec 2.7.10): true when the index moved from
 * old to new_idx past the other side's event index, i.e. event is in
 * [old, new_idx) modulo 2^16.
 */
static inline bool vq_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

/* ------------------------------------------------------------ device side */

struct vq_dev {
	struct vq_mem mem;
	uint16_t size;
	uint16_t last_avail;     /* next avail ring slot we will consume */
	uint16_t used_idx;       /* our copy of used.idx (we are its only writer) */
	uint16_t signalled_used; /* used_idx when vq_dev_should_notify last ran */
	bool event_idx;          /* VIRTIO_F_RING_EVENT_IDX negotiated */
	bool indirect;           /* VIRTIO_F_INDIRECT_DESC negotiated */
	int broken;              /* sticky -VQ_E_* of an avail-ring error, 0 when fine */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	const volatile uint8_t *desc;    /* host view of the descriptor table */
	volatile uint16_t *avail;        /* flags, idx, ring[size], used_event */
	volatile uint16_t *used;         /* flags, idx, then ring elems as uint32 pairs */
};

/* One buffer of a chain, already translated. */
struct vq_seg {
	void *ptr;     /* host pointer to len bytes of guest memory (NULL when len is 0) */
	uint64_t gpa;
	uint32_t len;
	bool writable; /* device writes into it */
};

/* Iterator over one popped chain; fields are private to virtq_dev.c. */
struct vq_chain {
	struct vq_dev *q;
	uint16_t head;      /* id to give vq_dev_push_used */
	uint32_t next;      /* next descriptor index in the current table */
	uint32_t ttl;       /* descriptors still allowed before we call it a loop */
	uint32_t table_n;   /* entries in the current table */
	const volatile uint8_t *table;
	bool in_indirect;
	bool done;
	bool seen_write;
	int err;            /* sticky -VQ_E_* once the chain proved malformed */
	uint64_t total;     /* bytes so far, bounded by 2^32 - 1 */
	uint64_t write_len; /* writable bytes so far */
};

/*
 * Sets up a queue after the driver made it ready: size power of two <= 32768,
 * desc/avail/used gpas aligned 16/2/4 and wholly inside guest RAM (mapped once
 * here through mem). features is the negotiated set (EVENT_IDX and
 * INDIRECT_DESC matter). Indices start at 0 (a fresh or reset queue).
 * Returns 0, -VQ_E_SIZE, -VQ_E_ALIGN or -VQ_E_RING_ADDR.
 */
int vq_dev_init(struct vq_dev *q, const struct vq_mem *mem, uint32_t size, uint64_t desc_gpa,
		uint64_t avail_gpa, uint64_t used_gpa, uint64_t features);

/*
 * Takes the next available chain. Returns 1 with *c ready to iterate, 0 when
 * the ring is empty, or a negative VQ_E_* code. -VQ_E_AVAIL_IDX and
 * -VQ_E_HEAD_RANGE break the queue: every later pop returns the same error
 * until vq_dev_init (the device should set DEVICE_NEEDS_RESET).
 */
int vq_dev_pop(struct vq_dev *q, struct vq_chain *c);

/*
 * Gives back the chain the last vq_dev_pop returned, before anything was
 * pushed for it: the next pop returns the same avail slot again (re-read
 * and re-checked). For a device that finds it cannot take a request yet.
 */
void vq_dev_unpop(struct vq_dev *q);

/*
 * Next segment of a chain: 1 with *seg filled, 0 at the end, negative VQ_E_*
 * on a malformed chain (then c->head is still valid: the device may fail
 * the request with vq_dev_push_used(q, c->head, 0) or reset). Every guest
 * field is read once and checked. Zero-length descriptors are legal per spec
 * but carry nothing: they are skipped (still counted for loops and order).
 * Device-readable segments come before writable ones (else -VQ_E_ORDER).
 */
int vq_chain_next(struct vq_chain *c, struct vq_seg *seg);

/*
 * Collects the whole remaining chain into segs[0..max). Returns the number of
 * segments, -VQ_E_TOO_MANY_SEGS when more than max, or another -VQ_E_*.
 * A device validates a whole request before acting on any of it this way.
 */
int vq_chain_collect(struct vq_chain *c, struct vq_seg *segs, unsigned max);

/*
 * Returns chain id to the driver with written = bytes the device wrote into
 * its writable buffers, and publishes the new used.idx. 0 or -VQ_E_BAD_ID.
 */
int vq_dev_push_used(struct vq_dev *q, uint16_t id, uint32_t written);

/*
 * After one or more vq_dev_push_used: whether the driver wants an interrupt
 * (used_event with EVENT_IDX, else !VIRTQ_AVAIL_F_NO_INTERRUPT). Call it
 * once per batch; it remembers where it last looked.
 */
bool vq_dev_should_notify(struct vq_dev *q);

/*
 * Tell the driver not to kick us (we are busy and will poll the ring): sets
 * VIRTQ_USED_F_NO_NOTIFY, or with EVENT_IDX leaves avail_event behind so no
 * later avail.idx crosses it.
 */
void vq_dev_disable_notify(struct vq_dev *q);

/*
 * Ask for a kick on the next buffer (before going to sleep). Returns true
 * when buffers arrived meanwhile: the caller must pop them instead of
 * sleeping, or it would miss them (no kick will come for those).
 */
bool vq_dev_enable_notify(struct vq_dev *q);

/* ------------------------------------------------------------ driver side */

/* One buffer for vq_drv_add. */
struct vq_sg {
	uint64_t gpa;
	uint32_t len;
	bool writable;
};

/* Per-descriptor driver bookkeeping, kept outside the shared ring so the device cannot corrupt it. */
struct vq_drv_slot {
	void *cookie;       /* non-NULL on the head of a chain in flight */
	uint32_t write_len; /* head only: writable bytes of the chain */
	uint16_t next;      /* next descriptor of the chain, or of the free list */
	uint16_t ndesc;     /* head only: descriptors in the chain */
};

struct vq_drv {
	uint16_t size;
	uint16_t free_head;
	uint16_t num_free;
	uint16_t avail_idx;  /* our copy of avail.idx (we are its only writer) */
	uint16_t kicked_idx; /* avail_idx at the last vq_drv_kick_prepare */
	uint16_t last_used;  /* next used ring slot we will consume */
	bool event_idx;
	bool cb_disabled;
	int broken;          /* sticky -VQ_E_* once the device misbehaved */
	uint16_t inflight;   /* chains added and not yet returned */
	volatile struct virtq_desc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[size], used_event */
	volatile uint16_t *used;  /* flags, idx, ring elems as uint32 pairs, avail_event */
	struct vq_drv_slot *slots;
};

/*
 * Initialises a driver queue on caller memory: desc (VIRTQ_DESC_BYTES(size),
 * 16-aligned), avail (VIRTQ_AVAIL_BYTES, 2-aligned), used (VIRTQ_USED_BYTES,
 * 4-aligned) and slots[size]. Zeroes the rings. features is the negotiated
 * set. Returns 0, -VQ_E_SIZE, -VQ_E_ALIGN or -VQ_E_INVAL (NULL pointer).
 */
int vq_drv_init(struct vq_drv *q, uint32_t size, void *desc, void *avail, void *used,
		struct vq_drv_slot *slots, uint64_t features);

/*
 * Queues one chain of n buffers (readable ones first, then writable) under a
 * non-NULL cookie and makes it available. Returns 0, -VQ_E_NOSPC when fewer
 * than n descriptors are free, -VQ_E_INVAL (n == 0, NULL cookie, writable
 * before readable, total length >= 2^32) or -VQ_E_BROKEN.
 */
int vq_drv_add(struct vq_drv *q, const struct vq_sg *sg, unsigned n, void *cookie);

/*
 * After a batch of vq_drv_add: whether the device wants a notify (avail_event
 * with EVENT_IDX, else !VIRTQ_USED_F_NO_NOTIFY). The caller then writes
 * QueueNotify only when true.
 */
bool vq_drv_kick_prepare(struct vq_drv *q);

/*
 * Takes the next used chain: returns 1 with *cookie and *len (bytes the
 * device wrote), 0 when none, or a negative VQ_E_* when the device returned
 * garbage; the queue is then broken and every later call fails with
 * -VQ_E_BROKEN (the chain's buffers stay owned by the device: reset it).
 */
int vq_drv_get_used(struct vq_drv *q, void **cookie, uint32_t *len);

/* Asks the device not to interrupt (a hint: the device may still do so). */
void vq_drv_disable_cb(struct vq_drv *q);

/*
 * Asks for an interrupt on the next used buffer. Returns true when used
 * buffers are already pending: the caller must collect them instead of
 * waiting for an interrupt that may never come.
 */
bool vq_drv_enable_cb(struct vq_drv *q);

#endif
