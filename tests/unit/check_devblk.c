/* check_devblk.c: unit suite "devblk" (devices/blk.c): requests on a temp file via real rings (proto driver side) and a real io_uring. */

#include <check.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "blk.h"
#include "virtio_mmio.h"

#define GMEM (16u << 20)
#define QSZ 64
#define QSZ_BIG 256 /* BLK_QUEUE_MAX: room for a chain of seg_max data segments */
#define RING_GPA 0x10000ull
#define HDR_GPA 0x20000ull   /* headers, 32 bytes apart */
#define STAT_GPA 0x28000ull  /* status bytes, one per request */
#define DATA_GPA 0x40000ull  /* data, 64 KiB per request slot */
#define DISK_SECTORS 128ull

static uint8_t *gmem;
static struct blk b;
static struct vq_drv drv;
static struct vq_drv_slot slots[QSZ_BIG];
static uint32_t qsz = QSZ; /* the queue size open_disk sets up */
static struct io_uring ring;
static char path[64];
static int news_fd;

static void *g_map(void *ctx, uint64_t gpa, size_t len)
{
	(void)ctx;
	return gpa > GMEM || len > GMEM - gpa ? NULL : gmem + gpa;
}

static uint8_t pat(uint64_t off)
{
	return (uint8_t)(off * 7 + (off >> 9));
}

static void wr(uint64_t off, uint32_t v)
{
	mmio_write(&b.dev, off, &v, 4);
}

static uint32_t rd(uint64_t off)
{
	uint32_t v;
	mmio_read(&b.dev, off, &v, 4);
	return v;
}

static void open_disk_dio(bool ro, bool direct)
{
	struct vq_mem m = { g_map, NULL };
	char err[128];
	ck_assert_msg(blk_open(&b, path, ro, direct, 0, &m, news_fd, err, sizeof(err)) == 0, "%s", err);
	b.dev.warn_budget = 0;
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) |
		     VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	wr(VIRTIO_MMIO_STATUS, 0xb);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0xb);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), BLK_QUEUE_MAX);
	wr(VIRTIO_MMIO_QUEUE_NUM, qsz);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, RING_GPA);
	wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, RING_GPA + VIRTQ_LAYOUT_AVAIL_OFF(qsz));
	wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, RING_GPA + VIRTQ_LAYOUT_USED_OFF(qsz));
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	wr(VIRTIO_MMIO_STATUS, 0xf);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0xf);
	ck_assert_int_eq(vq_drv_init(&drv, qsz, gmem + RING_GPA, gmem + RING_GPA + VIRTQ_LAYOUT_AVAIL_OFF(qsz),
				     gmem + RING_GPA + VIRTQ_LAYOUT_USED_OFF(qsz), slots, f),
			 0);
}

static void open_disk(bool ro)
{
	open_disk_dio(ro, false);
}

static void setup(void)
{
	gmem = aligned_alloc(4096, GMEM);
	ck_assert_ptr_nonnull(gmem);
	memset(gmem, 0, GMEM);
	strcpy(path, "/tmp/check_blk.XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	static uint8_t img[DISK_SECTORS * 512 + 100]; /* 100 stray bytes past the last sector */
	for (size_t i = 0; i < sizeof(img); i++)
		img[i] = pat(i);
	ck_assert_int_eq(write(fd, img, sizeof(img)), (int)sizeof(img));
	close(fd);
	news_fd = eventfd(0, EFD_NONBLOCK);
	ck_assert_int_eq(io_uring_queue_init(64, &ring, 0), 0);
	qsz = QSZ;
}

static void teardown(void)
{
	blk_close(&b);
	io_uring_queue_exit(&ring);
	close(news_fd);
	unlink(path);
	free(gmem);
}

/*
 * The event thread's part after a notify: complete until nothing is in
 * flight. edit (may be NULL) may change what a completion claims.
 */
static void drain(int (*edit)(int res))
{
	for (;;) {
		pthread_mutex_lock(&b.dev.lock);
		unsigned n = b.dev.inflight;
		pthread_mutex_unlock(&b.dev.lock);
		if (!n)
			break;
		ck_assert_int_ge(io_uring_submit_and_wait(&ring, 1), 0);
		struct io_uring_cqe *cqe;
		while (io_uring_peek_cqe(&ring, &cqe) == 0) {
			struct event_op *op = io_uring_cqe_get_data(cqe);
			int res = cqe->res;
			io_uring_cqe_seen(&ring, cqe);
			op->done(op, &ring, edit ? edit(res) : res);
		}
	}
}

/* The event thread's part, synchronously: notify, then complete until nothing is in flight. */
static void kick_and_drain(void)
{
	mmio_notify(&b.dev, 0, &ring);
	drain(NULL);
}

static void hdr(unsigned slot, uint32_t type, uint64_t sector)
{
	struct virtio_blk_req_hdr h = { .type = type, .sector = sector };
	memcpy(gmem + HDR_GPA + slot * 32, &h, sizeof(h));
	gmem[STAT_GPA + slot] = 0xee;
}

/* Collects one used entry: returns its len, asserts the cookie. */
static uint32_t used(unsigned slot)
{
	void *cookie;
	uint32_t len;
	ck_assert_int_eq(vq_drv_get_used(&drv, &cookie, &len), 1);
	ck_assert_ptr_eq(cookie, (void *)(uintptr_t)(slot + 1));
	return len;
}

/* A standard three-part request in slot: header, data (len bytes, writable for IN), status. */
static void add3(unsigned slot, uint32_t type, uint64_t sector, uint32_t len, bool data_writable)
{
	hdr(slot, type, sector);
	struct vq_sg sg[3] = {
		{ HDR_GPA + slot * 32, 16, false },
		{ DATA_GPA + slot * 0x10000ull, len, data_writable },
		{ STAT_GPA + slot, 1, true },
	};
	if (len)
		ck_assert_int_eq(vq_drv_add(&drv, sg, 3, (void *)(uintptr_t)(slot + 1)), 0);
	else
		ck_assert_int_eq(vq_drv_add(&drv, (struct vq_sg[]){ sg[0], sg[2] }, 2, (void *)(uintptr_t)(slot + 1)), 0);
}

static uint8_t status(unsigned slot)
{
	return gmem[STAT_GPA + slot];
}

static void file_read(uint64_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

START_TEST(test_config)
{
	open_disk(false);
	uint64_t cap;
	mmio_read(&b.dev, 0x100, &cap, 8);
	ck_assert_uint_eq(cap, DISK_SECTORS); /* the 100 stray bytes are not a sector */
	ck_assert_uint_eq(rd(0x108), BLK_SIZE_MAX);
	ck_assert_uint_eq(rd(0x10c), BLK_SEG_MAX);
	ck_assert_uint_eq(rd(0x114), 512);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint32_t f = rd(VIRTIO_MMIO_DEVICE_FEATURES);
	ck_assert(f & (1u << VIRTIO_BLK_F_FLUSH));
	ck_assert(f & (1u << VIRTIO_BLK_F_SEG_MAX));
	ck_assert(!(f & (1u << VIRTIO_BLK_F_RO)));
}
END_TEST

START_TEST(test_read_write_flush_id)
{
	open_disk(false);
	add3(0, VIRTIO_BLK_T_IN, 2, 1024, true);
	memset(gmem + DATA_GPA + 0x10000, 0xab, 512);
	add3(1, VIRTIO_BLK_T_OUT, 4, 512, false);
	add3(2, VIRTIO_BLK_T_FLUSH, 0, 0, false);
	add3(3, VIRTIO_BLK_T_GET_ID, 0, 64, true);
	ck_assert(vq_drv_kick_prepare(&drv));
	kick_and_drain();
	bool seen[4] = { false };
	for (int i = 0; i < 4; i++) { /* completions may come in any order */
		void *cookie;
		uint32_t len;
		ck_assert_int_eq(vq_drv_get_used(&drv, &cookie, &len), 1);
		unsigned s = (unsigned)(uintptr_t)cookie - 1;
		ck_assert_uint_lt(s, 4);
		seen[s] = true;
		ck_assert_uint_eq(status(s), VIRTIO_BLK_S_OK);
		ck_assert_uint_eq(len, s == 0 ? 1025 : s == 3 ? 21 : 1);
	}
	ck_assert(seen[0] && seen[1] && seen[2] && seen[3]);
	for (unsigned i = 0; i < 1024; i++)
		ck_assert_uint_eq(gmem[DATA_GPA + i], pat(1024 + i));
	uint8_t w[512];
	file_read(4 * 512, w, sizeof(w));
	for (unsigned i = 0; i < 512; i++)
		ck_assert_uint_eq(w[i], 0xab);
	ck_assert_str_eq((char *)gmem + DATA_GPA + 3 * 0x10000, "ukvm-vda");
	ck_assert_uint_eq(b.dev.requests, 4);
	uint64_t v;
	ck_assert_int_eq(read(news_fd, &v, 8), 8); /* the driver asked for news (used_event 0) */
}
END_TEST

/* A small OUT alone on the disk is written in place: used before any io_uring completion, data in the file. */
START_TEST(test_sync_out)
{
	open_disk(false);
	b.sync_out = true;
	memset(gmem + DATA_GPA, 0x5a, 4096);
	add3(0, VIRTIO_BLK_T_OUT, 8, 4096, false);
	ck_assert(vq_drv_kick_prepare(&drv));
	mmio_notify(&b.dev, 0, &ring);
	ck_assert_uint_eq(b.dev.inflight, 0); /* nothing went to io_uring */
	ck_assert_uint_eq(used(0), 1);
	ck_assert_uint_eq(status(0), VIRTIO_BLK_S_OK);
	uint8_t w[4096];
	file_read(8 * 512, w, sizeof(w));
	for (unsigned i = 0; i < sizeof(w); i++)
		ck_assert_uint_eq(w[i], 0x5a);
	/* Two at once: the first sees the second waiting in the ring and both go to io_uring. */
	add3(1, VIRTIO_BLK_T_OUT, 16, 512, false);
	add3(2, VIRTIO_BLK_T_OUT, 17, 512, false);
	vq_drv_kick_prepare(&drv);
	mmio_notify(&b.dev, 0, &ring);
	ck_assert_uint_ge(b.dev.inflight, 1);
	kick_and_drain();
	ck_assert_uint_eq(status(1), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(status(2), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(b.dev.requests, 3);
}
END_TEST

/* In-place writes keep the limits: the whole disk (BLK_SYNC_OUT_MAX) in place, past the end fails. */
START_TEST(test_limits_sync_out)
{
	_Static_assert(DISK_SECTORS * 512 == BLK_SYNC_OUT_MAX, "the test disk is one in-place write");
	open_disk(false);
	b.sync_out = true;
	add3(0, VIRTIO_BLK_T_OUT, 0, BLK_SYNC_OUT_MAX, false);
	vq_drv_kick_prepare(&drv);
	mmio_notify(&b.dev, 0, &ring);
	ck_assert_uint_eq(b.dev.inflight, 0);
	ck_assert_uint_eq(used(0), 1);
	ck_assert_uint_eq(status(0), VIRTIO_BLK_S_OK);
	add3(1, VIRTIO_BLK_T_OUT, DISK_SECTORS - 1, 1024, false);
	vq_drv_kick_prepare(&drv);
	mmio_notify(&b.dev, 0, &ring);
	ck_assert_uint_eq(used(1), 1);
	ck_assert_uint_eq(status(1), VIRTIO_BLK_S_IOERR);
}
END_TEST

START_TEST(test_any_framing)
{
	open_disk(false);
	/* Header split 5 + 11, data in three pieces, the status byte sharing the last data buffer. */
	hdr(0, VIRTIO_BLK_T_IN, 1);
	struct vq_sg sg[5] = {
		{ HDR_GPA, 5, false },
		{ HDR_GPA + 5, 11, false },
		{ DATA_GPA, 100, true },
		{ DATA_GPA + 0x1000, 312, true },
		{ DATA_GPA + 0x2000, 101, true }, /* 100 data bytes + status */
	};
	ck_assert_int_eq(vq_drv_add(&drv, sg, 5, (void *)1), 0);
	kick_and_drain();
	ck_assert_uint_eq(used(0), 513);
	ck_assert_uint_eq(gmem[DATA_GPA + 0x2000 + 100], VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(gmem[DATA_GPA], pat(512));
	ck_assert_uint_eq(gmem[DATA_GPA + 0x1000], pat(612));
	ck_assert_uint_eq(gmem[DATA_GPA + 0x2000 + 99], pat(1023));
}
END_TEST

START_TEST(test_many_in_flight)
{
	open_disk(false);
	for (int round = 0; round < 20; round++) { /* 100 requests: indices wrap the 64-entry ring */
		for (unsigned s = 0; s < 5; s++)
			add3(s, VIRTIO_BLK_T_IN, s * 8 + (unsigned)round % 8, 4096, true);
		kick_and_drain();
		for (unsigned s = 0; s < 5; s++) {
			void *cookie;
			uint32_t len;
			ck_assert_int_eq(vq_drv_get_used(&drv, &cookie, &len), 1);
			ck_assert_uint_eq(len, 4097);
		}
		for (unsigned s = 0; s < 5; s++) {
			uint64_t off = (s * 8 + (unsigned)round % 8) * 512ull;
			ck_assert_uint_eq(gmem[DATA_GPA + s * 0x10000ull + 4095], pat(off + 4095));
			ck_assert_uint_eq(status(s), VIRTIO_BLK_S_OK);
		}
	}
	ck_assert_uint_eq(b.dev.requests, 100);
}
END_TEST

START_TEST(test_limits_capacity)
{
	open_disk(false);
	add3(0, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, 512, true);  /* last sector: fine */
	add3(1, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, 1024, true); /* runs past the end */
	add3(2, VIRTIO_BLK_T_IN, DISK_SECTORS, 512, true);      /* starts at the end */
	add3(3, VIRTIO_BLK_T_OUT, DISK_SECTORS, 0, false);      /* empty, at the end: nothing to do */
	kick_and_drain();
	for (unsigned s = 0; s < 4; s++) { /* slot 0 does I/O and completes last */
		void *cookie;
		uint32_t len;
		ck_assert_int_eq(vq_drv_get_used(&drv, &cookie, &len), 1);
		ck_assert_uint_eq(len, cookie == (void *)1 ? 513 : 1);
	}
	ck_assert_uint_eq(status(0), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(status(1), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(status(2), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(status(3), VIRTIO_BLK_S_OK);
}
END_TEST

START_TEST(test_hostile_headers)
{
	open_disk(false);
	/* 0: short header (8 readable bytes). */
	hdr(0, VIRTIO_BLK_T_IN, 0);
	ck_assert_int_eq(vq_drv_add(&drv, (struct vq_sg[]){ { HDR_GPA, 8, false }, { STAT_GPA, 1, true } }, 2,
				    (void *)1), 0);
	/* 1: status byte not writable: nothing can be reported but used len 0. */
	hdr(1, VIRTIO_BLK_T_IN, 0);
	ck_assert_int_eq(vq_drv_add(&drv, (struct vq_sg[]){ { HDR_GPA + 32, 16, false }, { STAT_GPA + 1, 1, false } },
				    2, (void *)2), 0);
	/* 2: IN with device-readable data. */
	hdr(2, VIRTIO_BLK_T_IN, 0);
	ck_assert_int_eq(vq_drv_add(&drv, (struct vq_sg[]){ { HDR_GPA + 64, 16, false }, { DATA_GPA, 512, false },
						       { STAT_GPA + 2, 1, true } }, 3, (void *)3), 0);
	/* 3: OUT with device-writable data. */
	add3(3, VIRTIO_BLK_T_OUT, 0, 512, true);
	/* 4, 5: sector overflow: 2^64 - 1, and sector + len wrapping. */
	add3(4, VIRTIO_BLK_T_IN, UINT64_MAX, 512, true);
	add3(5, VIRTIO_BLK_T_OUT, UINT64_MAX - 1, 1024, false);
	/* 6: length not a multiple of the sector. */
	add3(6, VIRTIO_BLK_T_IN, 0, 700, true);
	/* 7, 8: unsupported types. */
	add3(7, VIRTIO_BLK_T_DISCARD, 0, 16, false);
	add3(8, 0x12345678, 0, 0, false);
	/* 9: FLUSH carrying data. */
	add3(9, VIRTIO_BLK_T_FLUSH, 0, 512, false);
	/* 10: a buffer outside guest RAM: the chain is malformed, used len 0. */
	hdr(10, VIRTIO_BLK_T_IN, 0);
	ck_assert_int_eq(vq_drv_add(&drv, (struct vq_sg[]){ { HDR_GPA + 320, 16, false }, { GMEM - 256, 512, true },
						       { STAT_GPA + 10, 1, true } }, 3, (void *)11), 0);
	kick_and_drain();
	static const int want[] = { VIRTIO_BLK_S_IOERR, -1, VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_IOERR,
				    VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_IOERR,
				    VIRTIO_BLK_S_UNSUPP, VIRTIO_BLK_S_UNSUPP, VIRTIO_BLK_S_IOERR, -1 };
	for (unsigned s = 0; s < 11; s++) {
		uint32_t len = used(s); /* all complete at once, in order */
		if (want[s] < 0) {
			ck_assert_uint_eq(len, 0);
			ck_assert_uint_eq(status(s), 0xee); /* untouched */
		} else {
			ck_assert_uint_eq(len, 1);
			ck_assert_msg(status(s) == want[s], "slot %u: status %u", s, status(s));
		}
	}
	uint8_t w[512];
	file_read(0, w, sizeof(w)); /* nothing was written */
	for (unsigned i = 0; i < 512; i++)
		ck_assert_uint_eq(w[i], pat(i));
	/* The queue still works after all that. */
	add3(0, VIRTIO_BLK_T_IN, 3, 512, true);
	kick_and_drain();
	ck_assert_uint_eq(used(0), 513);
	ck_assert_uint_eq(status(0), VIRTIO_BLK_S_OK);
	ck_assert(!(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET));
}
END_TEST

START_TEST(test_hostile_ro)
{
	open_disk(true);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	ck_assert(rd(VIRTIO_MMIO_DEVICE_FEATURES) & (1u << VIRTIO_BLK_F_RO));
	memset(gmem + DATA_GPA, 0x55, 512);
	add3(0, VIRTIO_BLK_T_OUT, 0, 512, false);
	add3(1, VIRTIO_BLK_T_IN, 0, 512, true);
	kick_and_drain();
	ck_assert_uint_eq(used(0), 1);
	ck_assert_uint_eq(used(1), 513);
	ck_assert_uint_eq(status(0), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(status(1), VIRTIO_BLK_S_OK);
	uint8_t w[512];
	file_read(0, w, sizeof(w));
	for (unsigned i = 0; i < 512; i++)
		ck_assert_uint_eq(w[i], pat(i));
}
END_TEST

START_TEST(test_hostile_avail_idx)
{
	open_disk(false);
	/* The driver claims 1000 new buffers on a 16-entry ring: the queue breaks, the device needs reset. */
	volatile uint16_t *avail_idx = (volatile uint16_t *)(gmem + RING_GPA + VIRTQ_LAYOUT_AVAIL_OFF(QSZ) + 2);
	*avail_idx = 1000;
	kick_and_drain();
	ck_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	/* Reset and bring it up again: it works. */
	wr(VIRTIO_MMIO_STATUS, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
	blk_close(&b);
	memset(gmem + RING_GPA, 0, 0x10000);
	open_disk(false);
	add3(0, VIRTIO_BLK_T_IN, 0, 512, true);
	kick_and_drain();
	ck_assert_uint_eq(used(0), 513);
}
END_TEST

/*
 * O_DIRECT with misaligned guest buffers bounces through host memory. Eight
 * 3 MiB reads that all name the same guest buffer would take 24 MiB of host
 * memory at once: the disk holds at most BLK_BOUNCE_MAX in flight and the
 * rest wait in the ring until a bounce completes; all finish OK.
 */
START_TEST(test_limits_bounce_budget)
{
	ck_assert_int_eq(truncate(path, 8 << 20), 0);
	open_disk_dio(false, true);
	const uint32_t len = 3u << 20;
	for (unsigned i = 0; i < 8; i++) {
		hdr(i, VIRTIO_BLK_T_IN, 0);
		struct vq_sg sg[3] = {
			{ HDR_GPA + i * 32, 16, false },
			{ DATA_GPA + 1, len, true }, /* one byte past a page: never O_DIRECT-aligned */
			{ STAT_GPA + i, 1, true },
		};
		ck_assert_int_eq(vq_drv_add(&drv, sg, 3, (void *)(uintptr_t)(i + 1)), 0);
	}
	mmio_notify(&b.dev, 0, &ring);
	pthread_mutex_lock(&b.dev.lock);
	unsigned inflight = b.dev.inflight;
	uint64_t bounced = b.bounce_bytes;
	pthread_mutex_unlock(&b.dev.lock);
	ck_assert_uint_eq(inflight, BLK_BOUNCE_MAX / len);
	ck_assert_uint_le(bounced, BLK_BOUNCE_MAX);
	kick_and_drain();
	unsigned seen = 0;
	for (unsigned i = 0; i < 8; i++) { /* completions come in any order */
		void *cookie;
		uint32_t l;
		ck_assert_int_eq(vq_drv_get_used(&drv, &cookie, &l), 1);
		unsigned k = (unsigned)(uintptr_t)cookie - 1;
		ck_assert_uint_lt(k, 8);
		ck_assert_uint_eq(l, len + 1);
		ck_assert_uint_eq(status(k), VIRTIO_BLK_S_OK);
		seen |= 1u << k;
	}
	ck_assert_uint_eq(seen, 0xff);
	ck_assert_uint_eq(b.bounce_bytes, 0);
	ck_assert_uint_eq(gmem[DATA_GPA + 1], pat(0)); /* the data really arrived */
}
END_TEST

/* A request of n data segments of seg bytes, segment i at DATA_GPA + i * stride, the status byte apart. */
static void add_segs(unsigned slot, uint32_t type, uint64_t sector, unsigned n, uint32_t seg, uint32_t stride)
{
	static struct vq_sg sg[QSZ_BIG + 2];
	ck_assert_uint_le(n + 2, QSZ_BIG);
	hdr(slot, type, sector);
	sg[0] = (struct vq_sg){ HDR_GPA + slot * 32, 16, false };
	for (unsigned i = 1; i <= n; i++)
		sg[i] = (struct vq_sg){ DATA_GPA + (uint64_t)(i - 1) * stride, seg, type == VIRTIO_BLK_T_IN };
	sg[n + 1] = (struct vq_sg){ STAT_GPA + slot, 1, true };
	ck_assert_int_eq(vq_drv_add(&drv, sg, n + 2, (void *)(uintptr_t)(slot + 1)), 0);
}

/*
 * The advertised limits hold (spec 5.2.4: seg_max data segments, size_max
 * bytes each): one byte more of either is an I/O error, exactly the limit
 * works. Unchecked, a guest had 255 requests of ~4 GiB each in flight.
 */
START_TEST(test_limits_advertised)
{
	ck_assert_int_eq(truncate(path, 2 * BLK_SIZE_MAX), 0);
	qsz = QSZ_BIG;
	open_disk(false);
	add_segs(0, VIRTIO_BLK_T_IN, 0, 1, BLK_SIZE_MAX + 512, 0);
	kick_and_drain();
	ck_assert_uint_eq(used(0), 1);
	ck_assert_uint_eq(status(0), VIRTIO_BLK_S_IOERR);
	add_segs(1, VIRTIO_BLK_T_IN, 0, 1, BLK_SIZE_MAX, 0);
	kick_and_drain();
	ck_assert_uint_eq(used(1), BLK_SIZE_MAX + 1);
	ck_assert_uint_eq(status(1), VIRTIO_BLK_S_OK);
	/* seg_max + 1 data segments: the status byte shares the last one, so the chain fits the queue. */
	hdr(2, VIRTIO_BLK_T_IN, 0);
	static struct vq_sg sg[QSZ_BIG];
	sg[0] = (struct vq_sg){ HDR_GPA + 64, 16, false };
	for (unsigned i = 1; i <= BLK_SEG_MAX; i++)
		sg[i] = (struct vq_sg){ DATA_GPA, 512, true };
	sg[BLK_SEG_MAX + 1] = (struct vq_sg){ DATA_GPA + 0x100000, 513, true }; /* 512 data bytes + status */
	ck_assert_int_eq(vq_drv_add(&drv, sg, BLK_SEG_MAX + 2, (void *)3), 0);
	kick_and_drain();
	ck_assert_uint_eq(used(2), 1);
	ck_assert_uint_eq(gmem[DATA_GPA + 0x100000 + 512], VIRTIO_BLK_S_IOERR);
	add_segs(3, VIRTIO_BLK_T_IN, 0, BLK_SEG_MAX, 512, 0);
	kick_and_drain();
	ck_assert_uint_eq(used(3), BLK_SEG_MAX * 512 + 1);
	ck_assert_uint_eq(status(3), VIRTIO_BLK_S_OK);
}
END_TEST

/*
 * Bytes in flight per disk stay within BLK_INFLIGHT_MAX, however large the
 * requests: each moves in pieces of at most BLK_CHUNK_MAX, and a request
 * waits in the ring while its first piece would pass the budget. Sixteen
 * 12 MiB reads all complete, every byte where it belongs.
 */
START_TEST(test_limits_inflight_budget)
{
	const size_t len = 3 * BLK_SIZE_MAX;
	static uint8_t pbuf[3 * BLK_SIZE_MAX];
	for (size_t i = 0; i < len; i++)
		pbuf[i] = pat(i);
	int fd = open(path, O_WRONLY);
	ck_assert_int_eq(pwrite(fd, pbuf, len, 0), (ssize_t)len);
	close(fd);
	qsz = QSZ_BIG;
	open_disk(false);
	for (unsigned i = 0; i < 16; i++)
		add_segs(i, VIRTIO_BLK_T_IN, 0, 3, BLK_SIZE_MAX, BLK_SIZE_MAX);
	mmio_notify(&b.dev, 0, &ring);
	pthread_mutex_lock(&b.dev.lock);
	ck_assert_uint_le(b.inflight_bytes, BLK_INFLIGHT_MAX);
	ck_assert_uint_eq(b.dev.inflight, BLK_INFLIGHT_MAX / BLK_CHUNK_MAX);
	pthread_mutex_unlock(&b.dev.lock);
	kick_and_drain();
	for (unsigned i = 0; i < 16; i++) {
		void *cookie;
		uint32_t l;
		ck_assert_int_eq(vq_drv_get_used(&drv, &cookie, &l), 1);
		ck_assert_uint_eq(l, len + 1);
		ck_assert_uint_eq(status((unsigned)(uintptr_t)cookie - 1), VIRTIO_BLK_S_OK);
	}
	ck_assert_uint_eq(b.inflight_bytes, 0);
	ck_assert_int_eq(memcmp(gmem + DATA_GPA, pbuf, len), 0);
}
END_TEST

static bool short_done;

/* The first completion claims a short read, and undoes what it did past that. */
static int short_once(int res)
{
	if (short_done)
		return res;
	short_done = true;
	ck_assert_int_eq(res, 8192);
	memset(gmem + DATA_GPA + 3000, 0, 8192 - 3000);
	return 3000;
}

/*
 * A transfer that moves less than asked (Linux moves at most 0x7ffff000
 * bytes per call; a file may also return short) goes on from where it
 * stopped: the completion here claims half, the request still reads all.
 */
START_TEST(test_limits_short_transfer)
{
	open_disk(false);
	add3(0, VIRTIO_BLK_T_IN, 0, 8192, true);
	mmio_notify(&b.dev, 0, &ring);
	memset(gmem + DATA_GPA, 0, 8192);
	short_done = false;
	drain(short_once);
	ck_assert(short_done);
	ck_assert_uint_eq(used(0), 8193);
	ck_assert_uint_eq(status(0), VIRTIO_BLK_S_OK);
	for (unsigned i = 0; i < 8192; i++)
		ck_assert_uint_eq(gmem[DATA_GPA + i], pat(i));
}
END_TEST

/*
 * Once the VM stops (mmio_quiesce), a request in flight moves no further
 * piece: a 1016 MiB read ends after at most BLK_CHUNK_MAX with an I/O
 * error instead of running to the end (which kept a stopping monitor busy
 * for tens of seconds with many of them).
 */
START_TEST(test_hostile_stop_midway)
{
	ck_assert_int_eq(truncate(path, (off_t)BLK_SEG_MAX * BLK_SIZE_MAX), 0);
	qsz = QSZ_BIG;
	open_disk(false);
	add_segs(0, VIRTIO_BLK_T_IN, 0, BLK_SEG_MAX, BLK_SIZE_MAX, 0);
	mmio_notify(&b.dev, 0, &ring);
	mmio_quiesce(&b.dev);
	kick_and_drain();
	ck_assert_uint_le(used(0), BLK_CHUNK_MAX + 1);
	ck_assert_uint_eq(status(0), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_le(b.reqs[0].done, BLK_CHUNK_MAX); /* the only request used the first slot */
	ck_assert_uint_eq(b.inflight_bytes, 0);
}
END_TEST

Suite *devblk_suite(void)
{
	Suite *s = suite_create("devblk");
	TCase *c = tcase_create("core"), *l = tcase_create("limits"), *h = tcase_create("hostile");
	tcase_add_checked_fixture(c, setup, teardown);
	tcase_add_checked_fixture(l, setup, teardown);
	tcase_add_checked_fixture(h, setup, teardown);
	tcase_add_test(c, test_config);
	tcase_add_test(c, test_read_write_flush_id);
	tcase_add_test(c, test_any_framing);
	tcase_add_test(c, test_many_in_flight);
	tcase_add_test(c, test_sync_out);
	tcase_add_test(l, test_limits_capacity);
	tcase_add_test(l, test_limits_bounce_budget);
	tcase_add_test(l, test_limits_sync_out);
	tcase_add_test(l, test_limits_advertised);
	tcase_add_test(l, test_limits_inflight_budget);
	tcase_add_test(l, test_limits_short_transfer);
	tcase_add_test(h, test_hostile_headers);
	tcase_add_test(h, test_hostile_ro);
	tcase_add_test(h, test_hostile_avail_idx);
	tcase_add_test(h, test_hostile_stop_midway);
	suite_add_tcase(s, c);
	suite_add_tcase(s, l);
	suite_add_tcase(s, h);
	return s;
}
