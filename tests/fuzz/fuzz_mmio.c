/* fuzz_mmio.c: harness for the virtio-mmio register state machine (devices/mmio.c) with an invariant-checking fake device. */
#include <stdbool.h>

#include "fuzz.h"
#include "mmio.h"
#include "virtio_mmio.h"

/*
 * Input: a flag byte, guest RAM (size and image, at gpa 0), then operations
 * as a guest and the event thread would do them: register reads and writes
 * (any offset, any width), config space accesses, kicks and polls of the
 * event thread, guest stores into RAM, and a well-behaved driver's setup
 * sequence with fuzzed choices (so the fuzzer reaches live devices fast).
 * The fake device checks what the transport promises its hooks; the harness
 * checks the transport's state after every operation.
 */
#define FM_RAM_MAX 0x10000u
#define FM_F_TEST 3 /* a device feature bit the fake offers */
#define FM_CFG 12

static struct fm {
	uint8_t *ram;
	uint64_t ram_size;
	uint8_t cfg[FM_CFG];
	int activate_ret;
	unsigned activations; /* since the last reset */
	unsigned resets;
} fm;

static void *fm_map(void *ctx, uint64_t gpa, size_t len)
{
	(void)ctx;
	FUZZ_CHECK(len != 0);
	return gpa > fm.ram_size || len > fm.ram_size - gpa ? NULL : fm.ram + gpa;
}

static uint64_t fm_features(const struct mmio_dev *d)
{
	(void)d;
	return VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) |
	       VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(FM_F_TEST);
}

/* What every config hook may assume: a naturally aligned 1/2/4/8-byte access inside config_size. */
static void fm_config_ok(uint32_t off, uint32_t len)
{
	FUZZ_CHECK(len == 1 || len == 2 || len == 4 || len == 8);
	FUZZ_CHECK(off % len == 0 && off + len <= FM_CFG);
}

static void fm_config_read(struct mmio_dev *d, uint32_t off, void *buf, uint32_t len)
{
	(void)d;
	fm_config_ok(off, len);
	memcpy(buf, fm.cfg + off, len);
}

static void fm_config_write(struct mmio_dev *d, uint32_t off, const void *buf, uint32_t len)
{
	fm_config_ok(off, len);
	memcpy(fm.cfg + off, buf, len);
	mmio_config_changed(d);
}

static int fm_activate(struct mmio_dev *d)
{
	/* Spec 3.1.1, the transport's contract: activate sees the status it activates into, once per life. */
	FUZZ_CHECK((d->status & VIRTIO_STATUS_FEATURES_OK) && (d->status & VIRTIO_STATUS_DRIVER_OK));
	FUZZ_CHECK(!(d->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET));
	FUZZ_CHECK(!(d->status & VIRTIO_STATUS_FAILED));
	FUZZ_CHECK(d->features & VIRTIO_BIT(VIRTIO_F_VERSION_1));
	FUZZ_CHECK(++fm.activations == 1);
	return fm.activate_ret;
}

static void fm_reset(struct mmio_dev *d)
{
	FUZZ_CHECK(d->inflight == 0); /* the transport drains before it resets the device */
	fm.activations = 0;
	fm.resets++;
}

/* The event thread's work: only for a live device's ready queue; every chain is served synchronously. */
static void fm_notify(struct mmio_dev *d, unsigned q, struct io_uring *ring)
{
	struct vq_chain c;
	struct vq_seg s;
	int r;

	(void)ring;
	FUZZ_CHECK(q < d->ops->nqueues && d->q[q].ready && mmio_live(d));
	FUZZ_CHECK(d->q[q].vq.size == d->q[q].num);
	for (unsigned n = 0; n < 2u * d->q[q].num && (r = vq_dev_pop(&d->q[q].vq, &c)) != 0; n++) {
		if (r < 0) {
			mmio_queue_error(d, q, vq_err_str(r));
			return;
		}
		uint32_t written = 0;

		while ((r = vq_chain_next(&c, &s)) == 1) {
			FUZZ_CHECK((uint8_t *)s.ptr >= fm.ram && s.gpa + s.len <= fm.ram_size);
			if (s.writable) {
				s.ptr = memset(s.ptr, 0x5a, s.len > 16 ? 16 : s.len);
				written += s.len > 16 ? 16 : s.len;
			}
		}
		(void)mmio_push_used(d, q, c.head, r < 0 ? 0 : written);
		(void)mmio_used_pushed(d, q);
	}
}

static const struct dev_ops fm_ops = {
	.name = "fuzz",
	.device_id = 42,
	.nqueues = 2,
	.queue_max = 64,
	.features = fm_features,
	.config_size = FM_CFG,
	.config_read = fm_config_read,
	.config_write = fm_config_write,
	.activate = fm_activate,
	.reset = fm_reset,
	.notify = fm_notify,
};

/* The transport's own state, after every operation. */
static void fm_check(struct mmio_dev *d)
{
	const uint32_t defined = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
				 VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FAILED | VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	uint32_t st;

	FUZZ_CHECK((d->status & ~defined) == 0);
	/* Spec 3.1.1: DRIVER_OK only after FEATURES_OK, and FEATURES_OK only for features offered, VERSION_1 in. */
	if (d->status & VIRTIO_STATUS_DRIVER_OK)
		FUZZ_CHECK(d->status & VIRTIO_STATUS_FEATURES_OK);
	if (d->status & VIRTIO_STATUS_FEATURES_OK)
		FUZZ_CHECK((d->features & ~fm_features(d)) == 0 && (d->features & VIRTIO_BIT(VIRTIO_F_VERSION_1)));
	if (!(d->status & VIRTIO_STATUS_DRIVER_OK))
		FUZZ_CHECK(fm.activations == 0);
	for (unsigned q = 0; q < MMIO_MAX_QUEUES; q++) {
		const struct mmio_queue *mq = &d->q[q];

		if (!mq->ready)
			continue;
		FUZZ_CHECK(q < d->ops->nqueues && (d->status & VIRTIO_STATUS_FEATURES_OK));
		FUZZ_CHECK(mq->num && !(mq->num & (mq->num - 1)) && mq->num <= d->ops->queue_max);
		FUZZ_CHECK(mq->vq.size == mq->num && mq->vq.desc_gpa == mq->desc);
	}
	mmio_read(d, VIRTIO_MMIO_STATUS, &st, 4);
	FUZZ_CHECK(st == d->status);
	mmio_read(d, VIRTIO_MMIO_MAGIC_VALUE, &st, 4);
	FUZZ_CHECK(st == VIRTIO_MMIO_MAGIC);
}

static void wr(struct mmio_dev *d, uint64_t off, uint32_t v)
{
	mmio_write(d, off, &v, 4);
}

/* Registers by index, so most fuzzed accesses hit one; the rest take the offset as it comes. */
static const uint16_t fm_regs[] = {
	VIRTIO_MMIO_MAGIC_VALUE, VIRTIO_MMIO_VERSION_REG, VIRTIO_MMIO_DEVICE_ID, VIRTIO_MMIO_VENDOR_ID,
	VIRTIO_MMIO_DEVICE_FEATURES, VIRTIO_MMIO_DEVICE_FEATURES_SEL, VIRTIO_MMIO_DRIVER_FEATURES,
	VIRTIO_MMIO_DRIVER_FEATURES_SEL, VIRTIO_MMIO_QUEUE_SEL, VIRTIO_MMIO_QUEUE_NUM_MAX, VIRTIO_MMIO_QUEUE_NUM,
	VIRTIO_MMIO_QUEUE_READY, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_MMIO_INTERRUPT_STATUS, VIRTIO_MMIO_INTERRUPT_ACK,
	VIRTIO_MMIO_STATUS, VIRTIO_MMIO_QUEUE_DESC_LOW, VIRTIO_MMIO_QUEUE_DESC_HIGH, VIRTIO_MMIO_QUEUE_DRIVER_LOW,
	VIRTIO_MMIO_QUEUE_DRIVER_HIGH, VIRTIO_MMIO_QUEUE_DEVICE_LOW, VIRTIO_MMIO_QUEUE_DEVICE_HIGH,
	VIRTIO_MMIO_SHM_SEL, VIRTIO_MMIO_SHM_LEN_LOW, VIRTIO_MMIO_QUEUE_RESET, VIRTIO_MMIO_CONFIG_GENERATION,
};

static uint64_t fm_reg(struct fuzz_in *in)
{
	uint8_t i = fuzz_u8(in);

	return i & 0x80 ? fuzz_u16(in) : fm_regs[i % (sizeof(fm_regs) / sizeof(fm_regs[0]))];
}

/*
 * A driver's initialisation (spec 3.1.1) with fuzzed choices: which features,
 * queue sizes and ring addresses, whether FEATURES_OK and DRIVER_OK share one
 * write, whether a step is skipped.
 */
static void fm_driver_init(struct mmio_dev *d, struct fuzz_in *in)
{
	uint8_t how = fuzz_u8(in);
	uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	wr(d, VIRTIO_MMIO_STATUS, 0);
	wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(d, VIRTIO_MMIO_STATUS, st);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, fuzz_u32(in));
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, how & 1 ? fuzz_u32(in) : 1u); /* VERSION_1 is bit 32 */
	if (how & 2) { /* FEATURES_OK and DRIVER_OK in one write, before any queue */
		wr(d, VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
		return;
	}
	st |= VIRTIO_STATUS_FEATURES_OK;
	wr(d, VIRTIO_MMIO_STATUS, st);
	for (unsigned q = 0; q < 2; q++) {
		if (how & (4u << q))
			continue;
		wr(d, VIRTIO_MMIO_QUEUE_SEL, q);
		wr(d, VIRTIO_MMIO_QUEUE_NUM, fuzz_u8(in));
		wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, fuzz_u16(in));
		wr(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, fuzz_u16(in));
		wr(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, fuzz_u16(in));
		wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
	}
	if (!(how & 16))
		wr(d, VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_DRIVER_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct mmio_dev d;
	uint8_t flags = fuzz_u8(&in);
	size_t got;

	memset(&fm, 0, sizeof(fm));
	fm.activate_ret = flags & 1 ? -EIO : 0;
	fm.ram_size = fuzz_u16(&in) % FM_RAM_MAX + 1;
	fm.ram = calloc(1, fm.ram_size);
	FUZZ_CHECK(fm.ram != NULL);
	const uint8_t *img = fuzz_bytes(&in, fm.ram_size, &got);
	memcpy(fm.ram, img, got);

	struct vq_mem mem = { fm_map, NULL };
	FUZZ_CHECK(mmio_init(&d, &fm_ops, NULL, &mem, -1, "fuzz") == 0);
	d.warn_budget = 0; /* a hostile guest's warnings are rate-limited anyway; keep the output quiet */
	for (unsigned ops = 0; in.n && ops < 512; ops++) {
		uint8_t op = fuzz_u8(&in);
		uint8_t buf[8];

		switch (op % 8) {
		case 0: { /* a register store, mostly 32-bit */
			uint64_t off = fm_reg(&in);
			uint64_t v = fuzz_u32(&in); /* 8 bytes: an odd width may read all of them */
			unsigned resets = fm.resets;

			mmio_write(&d, off, &v, op & 0x80 ? op % 9 : 4);
			if (off == VIRTIO_MMIO_STATUS && v == 0 && !(op & 0x80)) {
				/* Spec 2.4: a reset forgets everything the driver set up. */
				FUZZ_CHECK(fm.resets == resets + 1 && d.status == 0 && d.features == 0);
				FUZZ_CHECK(!d.q[0].ready && !d.q[1].ready && d.int_status == 0);
			}
			break;
		}
		case 1:
			mmio_read(&d, fm_reg(&in), buf, op & 0x80 ? op % 9 : 4);
			break;
		case 2:
			mmio_notify(&d, fuzz_u8(&in) % 3, NULL);
			break;
		case 3:
			(void)mmio_poll(&d, fuzz_u8(&in) % 3, NULL, fuzz_u64(&in));
			break;
		case 4: { /* the guest stores into RAM between exits */
			uint16_t off = fuzz_u16(&in);
			fm.ram[off % fm.ram_size] = fuzz_u8(&in);
			break;
		}
		case 5:
			mmio_read(&d, VIRTIO_MMIO_CONFIG + fuzz_u8(&in) % 24, buf, fuzz_u8(&in) % 9);
			break;
		case 6: {
			uint64_t off = VIRTIO_MMIO_CONFIG + fuzz_u8(&in) % 24;
			uint64_t v = fuzz_u64(&in);

			mmio_write(&d, off, &v, fuzz_u8(&in) % 9);
			break;
		}
		case 7:
			fm_driver_init(&d, &in);
			break;
		}
		fm_check(&d);
	}
	mmio_destroy(&d);
	free(fm.ram);
	return 0;
}
