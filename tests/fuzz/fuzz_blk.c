/* fuzz_blk.c: harness for the virtio-blk device (devices/blk.c) over a real io_uring and a temporary disk file. */
#include <fcntl.h>
#include <liburing.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blk.h"
#include "fuzz.h"
#include "virtio_mmio.h"

/*
 * Input: a flag byte (read-only disk, EVENT_IDX, INDIRECT_DESC, FLUSH), the
 * queue size and ring addresses, the guest RAM image, then operations:
 * stores into RAM (bytes, whole descriptors, headers, avail entries the way a
 * driver publishes them, a driver's whole request), kicks and polls followed
 * by what the event thread does with the completions, device resets and
 * config reads. The disk file is rewritten
 * before each input. Checked: every request completes (nothing stays in
 * flight), the bytes past the last sector and the file size never change, a
 * read-only disk never changes, and every buffer the device maps lies in RAM.
 */
#define FB_RAM 0x10000u
#define FB_SECTORS 64u
#define FB_STRAY 100u /* bytes past the last whole sector: not part of the disk */
#define FB_FILE (FB_SECTORS * 512u + FB_STRAY)
#define FB_DRAIN_MAX 10000 /* completion rounds: far more than any request takes */

static struct fb_host {
	char path[256];
	int fd;
	struct io_uring ring;
	uint8_t disk[FB_FILE];
} fb;

static uint8_t *fb_ram;

static void *fb_map(void *ctx, uint64_t gpa, size_t len)
{
	(void)ctx;
	FUZZ_CHECK(len != 0);
	return gpa > FB_RAM || len > FB_RAM - gpa ? NULL : fb_ram + gpa;
}

/* Once per process: the disk file and the ring; removed at exit (the Check runner forks per input). */
static void fb_cleanup(void)
{
	unlink(fb.path);
	io_uring_queue_exit(&fb.ring);
}

static void fb_setup(void)
{
	if (fb.path[0])
		return;
	snprintf(fb.path, sizeof(fb.path), "%s/ukvm-fuzz-blk-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	fb.fd = mkstemp(fb.path);
	FUZZ_CHECK(fb.fd >= 0);
	FUZZ_CHECK(io_uring_queue_init(64, &fb.ring, 0) == 0);
	for (size_t i = 0; i < FB_FILE; i++)
		fb.disk[i] = (uint8_t)(i * 7 + (i >> 9));
	atexit(fb_cleanup);
}

static void fb_disk_check(bool ro)
{
	uint8_t now[FB_FILE + 1];
	struct stat st;

	FUZZ_CHECK(fstat(fb.fd, &st) == 0 && st.st_size == FB_FILE);
	FUZZ_CHECK(pread(fb.fd, now, sizeof(now), 0) == FB_FILE);
	FUZZ_CHECK(memcmp(now + FB_SECTORS * 512, fb.disk + FB_SECTORS * 512, FB_STRAY) == 0);
	if (ro)
		FUZZ_CHECK(memcmp(now, fb.disk, FB_FILE) == 0);
}

static void wr(struct blk *b, uint64_t off, uint32_t v)
{
	mmio_write(&b->dev, off, &v, 4);
}

/* The event thread's part, synchronously: completions until nothing is in flight. */
static void fb_drain(struct blk *b)
{
	for (int round = 0;; round++) {
		pthread_mutex_lock(&b->dev.lock);
		unsigned n = b->dev.inflight;
		pthread_mutex_unlock(&b->dev.lock);
		if (!n)
			return;
		FUZZ_CHECK(round < FB_DRAIN_MAX); /* a request that never completes: a stop would hang on it */
		FUZZ_CHECK(io_uring_submit_and_wait(&fb.ring, 1) >= 0);
		struct io_uring_cqe *cqe;

		while (io_uring_peek_cqe(&fb.ring, &cqe) == 0) {
			struct event_op *op = io_uring_cqe_get_data(cqe);
			int res = cqe->res;

			io_uring_cqe_seen(&fb.ring, cqe);
			op->done(op, &fb.ring, res);
		}
	}
}

struct fb_queue {
	uint32_t num;
	uint16_t desc, avail, used, avail_idx;
	uint64_t features;
};

/* A driver's setup (spec 3.1.1): status, features, queue 0, DRIVER_OK. */
static void fb_driver_init(struct blk *b, const struct fb_queue *q)
{
	wr(b, VIRTIO_MMIO_STATUS, 0);
	wr(b, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(b, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(b, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)q->features);
	wr(b, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(b, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(q->features >> 32));
	wr(b, VIRTIO_MMIO_STATUS, 0xb);
	wr(b, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(b, VIRTIO_MMIO_QUEUE_NUM, q->num);
	wr(b, VIRTIO_MMIO_QUEUE_DESC_LOW, q->desc);
	wr(b, VIRTIO_MMIO_QUEUE_DRIVER_LOW, q->avail);
	wr(b, VIRTIO_MMIO_QUEUE_DEVICE_LOW, q->used);
	wr(b, VIRTIO_MMIO_QUEUE_READY, 1);
	wr(b, VIRTIO_MMIO_STATUS, 0xf);
}

/* Publishes head in the avail ring, as vq_drv_add does (a ring outside RAM is left alone). */
static void fb_publish(struct fb_queue *q, uint16_t head)
{
	uint32_t slot = q->avail + 4u + 2u * (q->avail_idx % q->num);

	q->avail_idx++;
	if (slot + 2 <= FB_RAM && q->avail + 4u <= FB_RAM) {
		memcpy(fb_ram + slot, &head, 2);
		memcpy(fb_ram + q->avail + 2, &q->avail_idx, 2);
	}
}

static void fb_desc(const struct fb_queue *q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint32_t at = q->desc + 16u * (i % q->num);
	uint8_t d[16];

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	if (at + 16 <= FB_RAM)
		memcpy(fb_ram + at, d, 16);
}

/*
 * Request slot r (of 4): header at 0xe000, data at 0xa000 (up to 4 KiB each),
 * status at 0xe100; descriptors 3r..3r+2. The sector is near the disk's end
 * unless told otherwise: where the bounds checks matter.
 */
static void fb_request(struct fb_queue *q, struct fuzz_in *in)
{
	uint8_t how = fuzz_u8(in);
	unsigned r = how % 4, d = 3 * r;
	static const uint32_t types[] = { VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID };
	struct virtio_blk_req_hdr h = { .type = types[how / 4 % 4] };
	uint32_t len = 512u * (fuzz_u8(in) % 9);

	h.sector = how & 0x40 ? fuzz_u64(in) : FB_SECTORS + 2 - fuzz_u8(in) % 8;
	if (how & 0x80)
		len = fuzz_u16(in) % 0x1001;
	memcpy(fb_ram + 0xe000 + 16 * r, &h, sizeof(h));
	fb_desc(q, d, 0xe000 + 16 * r, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(d + 1));
	fb_desc(q, d + 1, 0xa000 + 0x1000 * r, len,
		VIRTQ_DESC_F_NEXT | (h.type == VIRTIO_BLK_T_OUT ? 0 : VIRTQ_DESC_F_WRITE), (uint16_t)(d + 2));
	fb_desc(q, d + 2, 0xe100 + r, 1, VIRTQ_DESC_F_WRITE, 0);
	fb_publish(q, (uint16_t)(d % q->num));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	static struct blk b;
	struct fb_queue q;
	char err[128];
	size_t got;

	fb_setup();
	FUZZ_CHECK(pwrite(fb.fd, fb.disk, FB_FILE, 0) == FB_FILE);
	uint8_t flags = fuzz_u8(&in);
	bool ro = flags & 1;

	q.features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | (flags & 2 ? VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) : 0) |
		     (flags & 4 ? VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) : 0) | (flags & 8 ? 1u << VIRTIO_BLK_F_FLUSH : 0);
	q.num = 1u << (fuzz_u8(&in) % 9); /* up to BLK_QUEUE_MAX */
	q.desc = fuzz_u16(&in);
	q.avail = fuzz_u16(&in);
	q.used = fuzz_u16(&in);
	q.avail_idx = 0;
	fb_ram = calloc(1, FB_RAM);
	FUZZ_CHECK(fb_ram != NULL);
	const uint8_t *img = fuzz_bytes(&in, fuzz_u16(&in), &got);
	memcpy(fb_ram, img, got);

	struct vq_mem mem = { fb_map, NULL };
	FUZZ_CHECK(blk_open(&b, fb.path, ro, false, 0, &mem, -1, err, sizeof(err)) == 0);
	b.dev.warn_budget = 0;
	fb_driver_init(&b, &q);
	for (unsigned ops = 0; in.n && ops < 256; ops++) {
		uint8_t op = fuzz_u8(&in);

		switch (op % 9) {
		case 0: { /* a guest store */
			uint16_t off = fuzz_u16(&in);
			fb_ram[off] = fuzz_u8(&in);
			break;
		}
		case 1: { /* a descriptor: addr, len (mostly whole sectors), flags, next */
			unsigned i = fuzz_u8(&in);
			uint64_t addr = fuzz_u16(&in);
			uint32_t len = op & 0x80 ? fuzz_u32(&in) : 512u * (fuzz_u8(&in) % 9);
			uint16_t fl = fuzz_u8(&in) & 7;

			fb_desc(&q, i, addr, len, fl, fuzz_u8(&in));
			break;
		}
		case 2: { /* a request header where descriptor k points: type, a sector near or past the end */
			uint32_t at = q.desc + 16u * (fuzz_u8(&in) % q.num);
			uint64_t hat;
			struct virtio_blk_req_hdr h = { .type = fuzz_u8(&in) % 12 };

			h.sector = op & 0x80 ? fuzz_u64(&in) : FB_SECTORS + 2 - fuzz_u8(&in) % 8;
			if (at + 8 > FB_RAM)
				break;
			memcpy(&hat, fb_ram + at, 8);
			if (hat <= FB_RAM - sizeof(h))
				memcpy(fb_ram + hat, &h, sizeof(h));
			break;
		}
		case 3: /* publish any head */
			fb_publish(&q, fuzz_u8(&in));
			break;
		case 4: /* a kick */
			mmio_notify(&b.dev, 0, &fb.ring);
			fb_drain(&b);
			break;
		case 5: /* the event thread polling */
			(void)mmio_poll(&b.dev, 0, &fb.ring, fuzz_u64(&in));
			fb_drain(&b);
			break;
		case 6: /* a reset (nothing in flight: drained above) and the driver again */
			q.avail_idx = 0;
			fb_driver_init(&b, &q);
			break;
		case 8: /* a driver's whole request, with fuzzed type, sector and length */
			fb_request(&q, &in);
			break;
		case 7: {
			uint64_t v;

			mmio_read(&b.dev, VIRTIO_MMIO_CONFIG + fuzz_u8(&in) % 0x40, &v, 1u << (fuzz_u8(&in) % 4));
			break;
		}
		}
		FUZZ_CHECK(b.dev.inflight == 0);
	}
	blk_close(&b);
	fb_disk_check(ro);
	free(fb_ram);
	return 0;
}
