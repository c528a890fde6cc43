/* blk.h: virtio-blk device model on a host file, its I/O submitted to io_uring straight into guest memory. */
#ifndef DEVICES_BLK_H
#define DEVICES_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "dev.h"
#include "mmio.h"
#include "virtio_blk.h"

#define BLK_QUEUE_MAX 256      /* QueueNumMax: bounds requests in flight per disk */
#define BLK_MAX_SEGS 256       /* descriptors of one request we accept (header + data + status) */
#define BLK_SEG_MAX 254        /* advertised config.seg_max: data segments per request (enforced) */
#define BLK_SIZE_MAX (4u << 20) /* advertised config.size_max: bytes per data segment (enforced) */
/*
 * A request moves in pieces of at most this many bytes, one at a time, each
 * of whole segments (a segment is at most BLK_SIZE_MAX, so one always fits).
 * Linux moves at most 0x7ffff000 bytes per read or write; and once the VM
 * stops or the driver resets, a request moves no further piece, so what is
 * still to finish is bounded (BLK_INFLIGHT_MAX).
 */
#define BLK_CHUNK_MAX BLK_SIZE_MAX
/*
 * Bytes a disk moves at once: a request waits in the ring while its first
 * piece would pass this. It bounds what a stop or reset must still wait for
 * (32 MiB: ~0.3 s on a 100 MB/s disk, ms from the page cache) while 256
 * requests of the guest's 128 KiB still fit at once.
 */
#define BLK_INFLIGHT_MAX (32u << 20)
#define BLK_BOUNCE_MAX (16u << 20) /* O_DIRECT bounce bytes in flight per disk (so also the largest request bounced) */
#define BLK_DEFER (-1)             /* internal: a chain waits in the ring for bounce or budget room */
#define BLK_DONE (-2)              /* internal: the I/O completed in place, status OK */
/*
 * OUT requests up to this size are written with pwritev(2) on the event
 * thread when nothing else is in flight or waiting on the disk (struct
 * blk.sync_out). io_uring cannot write a buffered ext4 file without
 * blocking, so it hands each write to an io-wq worker: ~129 us per 4 KiB on
 * PVM against ~26 us for pwritev in place.
 */
#define BLK_SYNC_OUT_MAX (64u << 10)
/* Default of blk.sync_out (pwritev and pwritev2 are in the event thread's seccomp allowlist, vmm/sandbox.c). */
#define BLK_SYNC_OUT_DEFAULT true

struct blk;

/* One request in flight. Lives in blk.reqs; op first so a CQE's user_data is the request. */
struct blk_req {
	struct event_op op;
	struct blk *b;
	struct blk_req *next_free;
	uint8_t *status;      /* the guest's status byte */
	uint32_t type;
	uint32_t data_len;    /* bytes the I/O must move */
	uint32_t done;        /* bytes moved so far */
	uint32_t resv;        /* its share of blk.inflight_bytes: its largest piece */
	uint32_t piece;       /* bytes the piece in flight asked for */
	uint64_t off;         /* disk byte offset of the data */
	uint16_t head;        /* chain id for vq_dev_push_used */
	unsigned niov;
	struct iovec *iov;    /* BLK_MAX_SEGS entries reserved for this request */
	unsigned pos;         /* iov[pos] holds the next byte to move, pos_off bytes into it */
	size_t pos_off;
	struct iovec cut;     /* iov[pos] as it was, while the piece in flight starts inside it */
	void *bounce;         /* O_DIRECT bounce buffer (aligned, inside bounce_map), else NULL */
	void *bounce_map;     /* its mapping */
	size_t bounce_map_len;
};

struct blk {
	struct mmio_dev dev;  /* transport; dev.priv == this */
	int fd;
	int file;             /* fd's index among the event ring's registered files; -1 before blk_attach */
	bool ro, direct;
	bool sync_out;        /* small OUT requests alone on the disk: pwritev in place (BLK_SYNC_OUT_MAX) */
	uint64_t capacity;    /* 512-byte sectors (file size rounded down) */
	uint32_t dio_mem_align, dio_off_align; /* O_DIRECT constraints of the host file */
	char id[VIRTIO_BLK_ID_BYTES];
	struct blk_req *reqs; /* BLK_QUEUE_MAX slots, allocated at open (never by the guest's actions);
				 activation links the queue size first ones into the free list */
	struct iovec *iovs;
	struct blk_req *free;
	uint64_t bounce_bytes; /* O_DIRECT bounce bytes in flight, <= BLK_BOUNCE_MAX */
	uint64_t inflight_bytes; /* sum of the requests' resv, <= BLK_INFLIGHT_MAX */
	struct vq_seg segs[BLK_MAX_SEGS]; /* scratch of the request being parsed */
};

extern const struct dev_ops blk_ops;

/* The class of struct ukvm_config.disks: device i is /dev/vd<'a' + i> on disks[i]. */
extern const struct dev_class blk_class;

/*
 * Opens path (O_RDONLY with ro, O_RDWR otherwise; O_DIRECT with direct) and
 * sets up the device as /dev/vd<'a' + index> on guest memory mem, signalling
 * news_fd (may be -1) when the driver should look at its used ring. On
 * failure returns -errno with "cannot open disk: <reason>"-style text in err
 * (without the path). A file shorter than 512 bytes has capacity 0.
 *
 * O_DIRECT: guest buffers must be aligned to the file's direct-I/O memory
 * alignment (usually 512) and lengths to its offset alignment; a request
 * whose buffers are not is copied through a bounce buffer (up to
 * BLK_BOUNCE_MAX bytes, else it fails with IOERR; requests wait in the ring
 * while the disk's bounce buffers in flight would exceed BLK_BOUNCE_MAX, so a
 * guest cannot make the monitor allocate more). A sector not aligned to the
 * offset alignment fails with IOERR.
 */
int blk_open(struct blk *b, const char *path, bool ro, bool direct, unsigned index,
	     const struct vq_mem *mem, int news_fd, char *err, size_t errlen);

/* Closes the file and frees everything; the device must be idle. */
void blk_close(struct blk *b);

#endif
