/* check_virtq.c: proto/ split virtqueue: a driver and a device on one buffer, normal traffic, suppression, and every hostile case. */

#include <check.h>
#include <stdint.h>
#include <string.h>

#include "virtq.h"

#define RAM_SIZE (2u << 20)
#define DATA_GPA (1u << 20) /* rings below, buffers above */
#define QMAX 32768u

/* "Guest RAM": gpa = offset into ram. */
static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));
/* Lenient mode maps any range to ram: for chains too large to back with memory (the device never touches buffers). */
static bool map_lenient;

static void *test_map(void *ctx, uint64_t gpa, size_t len)
{
	(void)ctx;
	ck_assert_uint_gt(len, 0); /* proto/ promises never to ask for 0 bytes */
	if (map_lenient)
		return ram;
	if (gpa > RAM_SIZE || len > RAM_SIZE - gpa)
		return NULL;
	return ram + gpa;
}

static const struct vq_mem test_mem = { .map = test_map, .ctx = NULL };

struct rig {
	uint32_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	struct vq_drv drv;
	struct vq_dev dev;
};

static struct vq_drv_slot slots[QMAX];
static struct rig R;

static void rig_setup(uint32_t size, uint64_t features)
{
	memset(ram, 0, DATA_GPA);
	map_lenient = false;
	R.size = size;
	R.desc_gpa = 0;
	R.avail_gpa = VIRTQ_LAYOUT_AVAIL_OFF(size);
	R.used_gpa = VIRTQ_LAYOUT_USED_OFF(size);
	ck_assert_uint_le(VIRTQ_LAYOUT_BYTES(size), DATA_GPA);
	ck_assert_int_eq(vq_drv_init(&R.drv, size, ram + R.desc_gpa, ram + R.avail_gpa, ram + R.used_gpa, slots,
				     features),
			 0);
	ck_assert_int_eq(vq_dev_init(&R.dev, &test_mem, size, R.desc_gpa, R.avail_gpa, R.used_gpa, features), 0);
}

static void fill(uint64_t gpa, uint32_t len, uint32_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		ram[gpa + i] = (uint8_t)(seed * 31u + i * 7u + 1u);
}

static bool check_fill(const uint8_t *p, uint32_t len, uint32_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		if (p[i] != (uint8_t)(seed * 31u + i * 7u + 1u))
			return false;
	return true;
}

/* ------------------------------------------------ forging, as a hostile driver would */

static void forge_desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct virtq_desc d = { .addr = addr, .len = len, .flags = flags, .next = next };

	memcpy(ram + R.desc_gpa + 16u * i, &d, sizeof(d));
}

static void forge_table_desc(uint64_t table_gpa, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
			     uint16_t next)
{
	struct virtq_desc d = { .addr = addr, .len = len, .flags = flags, .next = next };

	memcpy(ram + table_gpa + 16u * i, &d, sizeof(d));
}

static uint16_t *avail_idx_p(void) { return (uint16_t *)(ram + R.avail_gpa + 2); }
static uint16_t *avail_ring_p(uint32_t i) { return (uint16_t *)(ram + R.avail_gpa + 4 + 2 * i); }
static uint16_t *used_idx_p(void) { return (uint16_t *)(ram + R.used_gpa + 2); }
static struct virtq_used_elem *used_elem_p(uint32_t i)
{
	return (struct virtq_used_elem *)(ram + R.used_gpa + 4 + 8 * i);
}

/* Publishes head as the next available entry. */
static void forge_publish(uint16_t head)
{
	uint16_t idx = *avail_idx_p();

	*avail_ring_p(idx & (R.size - 1)) = head;
	*avail_idx_p() = (uint16_t)(idx + 1);
}

/* Pops the forged chain and walks it; returns the first error (or segment count). */
static int pop_walk(struct vq_chain *c)
{
	struct vq_seg segs[64];

	ck_assert_int_eq(vq_dev_pop(&R.dev, c), 1);
	return vq_chain_collect(c, segs, 64);
}

/* ------------------------------------------------ core */

/* Device side of one request: read the readable segments, fill the writable ones, complete. */
static void device_serve(uint32_t seed_in, uint32_t seed_out, unsigned want_segs)
{
	struct vq_chain c;
	struct vq_seg segs[16];
	uint32_t written = 0;
	int n;

	ck_assert_int_eq(vq_dev_pop(&R.dev, &c), 1);
	n = vq_chain_collect(&c, segs, 16);
	ck_assert_int_eq(n, (int)want_segs);
	for (int i = 0; i < n; i++) {
		if (segs[i].writable) {
			for (uint32_t k = 0; k < segs[i].len; k++)
				((uint8_t *)segs[i].ptr)[k] = (uint8_t)(seed_out * 31u + k * 7u + 1u);
			written += segs[i].len;
		} else {
			ck_assert(check_fill(segs[i].ptr, segs[i].len, seed_in));
			ck_assert_ptr_eq(segs[i].ptr, ram + segs[i].gpa);
		}
	}
	ck_assert_int_eq(vq_dev_push_used(&R.dev, c.head, written), 0);
}

START_TEST(test_roundtrip)
{
	static int cookies[8];
	rig_setup(32, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	/* 8 requests in flight: 64 readable bytes then 2 writable buffers each. */
	for (int i = 0; i < 8; i++) {
		uint64_t base = DATA_GPA + 0x1000u * (unsigned)i;
		struct vq_sg sg[3] = {
			{ .gpa = base, .len = 64, .writable = false },
			{ .gpa = base + 0x100, .len = 200, .writable = true },
			{ .gpa = base + 0x400, .len = 1, .writable = true },
		};
		fill(base, 64, (uint32_t)i);
		ck_assert_int_eq(vq_drv_add(&R.drv, sg, 3, &cookies[i]), 0);
	}
	ck_assert(vq_drv_kick_prepare(&R.drv));
	for (int i = 0; i < 8; i++)
		device_serve((uint32_t)i, 100u + (uint32_t)i, 3);
	ck_assert(vq_dev_should_notify(&R.dev));
	for (int i = 0; i < 8; i++) {
		void *cookie = NULL;
		uint32_t len = 0;
		uint64_t base = DATA_GPA + 0x1000u * (unsigned)i;

		ck_assert_int_eq(vq_drv_get_used(&R.drv, &cookie, &len), 1);
		ck_assert_ptr_eq(cookie, &cookies[i]);
		ck_assert_uint_eq(len, 201);
		ck_assert(check_fill(ram + base + 0x100, 200, 100u + (uint32_t)i));
		ck_assert(check_fill(ram + base + 0x400, 1, 100u + (uint32_t)i));
	}
	ck_assert_int_eq(vq_drv_get_used(&R.drv, &(void *){ NULL }, &(uint32_t){ 0 }), 0);
	ck_assert_uint_eq(R.drv.num_free, 32);
}
END_TEST

/* Out-of-order completion must return each chain's own cookie and recycle its descriptors. */
START_TEST(test_out_of_order)
{
	static int cookies[4];
	struct vq_chain c[4];
	rig_setup(8, 0);
	for (int i = 0; i < 4; i++) {
		struct vq_sg sg[2] = { { DATA_GPA, 16, false }, { DATA_GPA + 64u * (unsigned)i, 8, true } };
		ck_assert_int_eq(vq_drv_add(&R.drv, sg, 2, &cookies[i]), 0);
	}
	ck_assert_int_eq(vq_drv_add(&R.drv, (struct vq_sg[]){ { DATA_GPA, 1, false } }, 1, &cookies[0]),
			 -VQ_E_NOSPC);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(vq_dev_pop(&R.dev, &c[i]), 1);
	for (int i = 3; i >= 0; i--) {
		void *cookie;
		uint32_t len;

		ck_assert_int_eq(vq_dev_push_used(&R.dev, c[i].head, (uint32_t)i), 0);
		ck_assert_int_eq(vq_drv_get_used(&R.drv, &cookie, &len), 1);
		ck_assert_ptr_eq(cookie, &cookies[i]);
		ck_assert_uint_eq(len, (uint32_t)i);
	}
	ck_assert_uint_eq(R.drv.num_free, 8);
	ck_assert_uint_eq(R.drv.inflight, 0);
}
END_TEST

/* 100k operations on a small ring: the 16-bit indices wrap many times over. */
START_TEST(test_wraparound)
{
	static int cookies[8];
	uint32_t done = 0, issued = 0, bad = 0, first_bad = UINT32_MAX;
	int r;
	rig_setup(8, VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
	/* Plain checks in the loop, one ck_assert at the end: Check records every assertion (slow in fork mode). */
	while (done < 100000 && bad == 0) {
		struct vq_chain c;
		void *cookie;
		uint32_t len;

		/* Fill the ring with 1..3-descriptor chains; the last descriptor of each is writable. */
		for (;;) {
			unsigned nseg = 1 + issued % 3;
			struct vq_sg sg[3];

			for (unsigned k = 0; k < nseg; k++)
				sg[k] = (struct vq_sg){ DATA_GPA + 32u * k, 4, k == nseg - 1 };
			if (vq_drv_add(&R.drv, sg, nseg, &cookies[issued % 8]) != 0)
				break;
			issued++;
		}
		while ((r = vq_dev_pop(&R.dev, &c)) == 1) {
			struct vq_seg segs[4];
			int n = vq_chain_collect(&c, segs, 4);

			if (n < 1 || !segs[n - 1].writable || vq_dev_push_used(&R.dev, c.head, (uint32_t)n) != 0)
				bad++;
		}
		if (r != 0)
			bad++;
		while ((r = vq_drv_get_used(&R.drv, &cookie, &len)) == 1) {
			/* The device wrote one byte per segment. */
			if (cookie != &cookies[done % 8] || len != 1 + done % 3)
				bad++;
			done++;
		}
		if (r != 0)
			bad++;
		if (bad && first_bad == UINT32_MAX)
			first_bad = done;
	}
	ck_assert_msg(bad == 0, "%u bad operations, first near op %u", bad, first_bad);
	ck_assert_uint_eq(done, issued);
	ck_assert_uint_gt(issued, 65536u);
	ck_assert_uint_eq(R.drv.avail_idx, (uint16_t)issued);
	ck_assert_uint_eq(R.dev.used_idx, (uint16_t)issued);
	ck_assert_uint_eq(R.drv.num_free, 8);
}
END_TEST

/* EVENT_IDX, driver -> device: a busy device gets no kicks; it must re-check before sleeping. */
START_TEST(test_event_idx_kicks)
{
	static int ck;
	struct vq_sg sg = { DATA_GPA, 8, false };
	struct vq_chain c;
	rig_setup(16, VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
	ck_assert(!vq_dev_enable_notify(&R.dev)); /* idle and asking for a kick */
	ck_assert_int_eq(vq_drv_add(&R.drv, &sg, 1, &ck), 0);
	ck_assert(vq_drv_kick_prepare(&R.drv));
	ck_assert(!vq_drv_kick_prepare(&R.drv)); /* nothing new since */
	/* The device wakes up and works with notifications off. */
	vq_dev_disable_notify(&R.dev);
	ck_assert_int_eq(vq_dev_pop(&R.dev, &c), 1);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(vq_drv_add(&R.drv, &sg, 1, &ck), 0);
		ck_assert(!vq_drv_kick_prepare(&R.drv)); /* known busy: no exit needed */
	}
	/* Before sleeping the device finds the 5 that came without a kick. */
	ck_assert(vq_dev_enable_notify(&R.dev));
	vq_dev_disable_notify(&R.dev);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(vq_dev_pop(&R.dev, &c), 1);
	ck_assert_int_eq(vq_dev_pop(&R.dev, &c), 0);
	ck_assert(!vq_dev_enable_notify(&R.dev));
	/* Asleep again: the next add must kick, a batch of adds kicks once. */
	ck_assert_int_eq(vq_drv_add(&R.drv, &sg, 1, &ck), 0);
	ck_assert_int_eq(vq_drv_add(&R.drv, &sg, 1, &ck), 0);
	ck_assert(vq_drv_kick_prepare(&R.drv));
	ck_assert_int_eq(vq_drv_add(&R.drv, &sg, 1, &ck), 0);
	ck_assert(!vq_drv_kick_prepare(&R.drv));
}
END_TEST

/* EVENT_IDX, device -> driver: interrupts only when the driver asked, and only once per request for one. */
START_TEST(test_event_idx_interrupts)
{
	static int ck;
	struct vq_sg sg = { DATA_GPA, 8, true };
	struct vq_chain c;
	void *cookie;
	uint32_t len;
	rig_setup(16, VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(vq_drv_add(&R.drv, &sg, 1, &ck), 0);
	vq_drv_disable_cb(&R.drv);
	ck_assert_int_eq(vq_dev_pop(&R.dev, &c), 1);
	ck_assert_int_eq(vq_dev_push_used(&R.dev, c.head, 0), 0);
	ck_assert(!vq_dev_should_notify(&R.dev)); /* driver suppressed interrupts */
	/* Polling with callbacks off does not re-arm them. */
	ck_assert_int_eq(vq_drv_get_used(&R.drv, &cookie, &len), 1);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(vq_dev_pop(&R.dev, &c), 1);
		ck_assert_int_eq(vq_dev_push_used(&R.dev, c.head, 0), 0);
		ck_assert(!vq_dev_should_notify(&R.dev));
	}
	/* Re-enabling with work pending says so. */
	ck_assert(vq_drv_enable_cb(&R.drv));
	while (vq_drv_get_used(&R.drv, &cookie, &len) == 1)
		;
	ck_assert(!vq_drv_enable_cb(&R.drv));
	ck_assert_int_eq(vq_dev_pop(&R.dev, &c), 1);
	ck_assert_int_eq(vq_dev_push_used(&R.dev, c.head, 0), 0);
	ck_assert(vq_dev_should_notify(&R.dev));
	/* The driver has not consumed yet: a second completion needs no second interrupt. */
	ck_assert_int_eq(vq_dev_pop(&R.dev, &c), 1);
	ck_assert_int_eq(vq_dev_push_used(&R.dev, c.head, 0), 0);
	ck_assert(!vq_dev_should_notify(&R.dev));
	ck_assert(!vq_dev_should_notify(&R.dev)); /* nothing new */
}
END_TEST

/* The driver consumes completions before the device checks, then disables: still no interrupt. */
START_TEST(test_event_idx_disable_after_poll)
{
	static int ck;
	struct vq_sg sg = { DATA_GPA, 8, true };
	struct vq_chain c;
	void *cookie;
	uint32_t len;
	rig_setup(16, VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(vq_drv_add(&R.drv, &sg, 1, &ck), 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(vq_dev_pop(&R.dev, &c), 1);
		ck_assert_int_eq(vq_dev_push_used(&R.dev, c.head, 0), 0);
	}
	ck_assert_int_eq(vq_drv_get_used(&R.drv, &cookie, &len), 1);
	ck_assert_int_eq(vq_drv_get_used(&R.drv, &cookie, &len), 1);
	vq_drv_disable_cb(&R.drv);
	ck_assert(!vq_dev_should_notify(&R.dev));
	ck_assert_int_eq(vq_dev_pop(&R.dev, &c), 1);
	ck_assert_int_eq(vq_dev_push_used(&R.dev, c.head, 0), 0);
	ck_assert(!vq_dev_should_notify(&R.dev));
}
END_TEST

/* Without EVENT_IDX the flags do the same job. */
START_TEST(test_flags_suppression)
{
	static int ck;
	struct vq_sg sg = { DATA_GPA, 8, true };
	struct vq_chain c;
	rig_setup(16, 0);
	ck_assert_int_eq(vq_drv_add(&R.drv, &sg, 1, &ck), 0);
	ck_assert(vq_drv_kick_prepare(&R.drv));
	vq_dev_disable_notify(&R.dev);
	ck_assert_int_eq(vq_drv_add(&R.drv, &sg, 1, &ck), 0);
	ck_assert(!vq_drv_kick_prepare(&R.drv));
	ck_assert(vq_dev_enable_notify(&R.dev));
	ck_assert_int_eq(vq_drv_add(&R.drv, &sg, 1, &ck), 0);
	ck_assert(vq_drv_kick_prepare(&R.drv));
	vq_drv_disable_cb(&R.drv);
	ck_assert_int_eq(vq_dev_pop(&R.dev, &c), 1);
	ck_assert_int_eq(vq_dev_push_used(&R.dev, c.head, 8), 0);
	ck_assert(!vq_dev_should_notify(&R.dev));
	ck_assert(vq_drv_enable_cb(&R.drv));
	ck_assert_int_eq(vq_dev_pop(&R.dev, &c), 1);
	ck_assert_int_eq(vq_dev_push_used(&R.dev, c.head, 8), 0);
	ck_assert(vq_dev_should_notify(&R.dev));
	ck_assert(!vq_dev_should_notify(&R.dev)); /* nothing new since the last interrupt */
}
END_TEST

/* A well-formed indirect table (after a direct descriptor), and zero-length descriptors skipped. */
START_TEST(test_indirect_and_zero_len)
{
	const uint64_t table = DATA_GPA + 0x8000 + 8; /* deliberately only 8-aligned */
	struct vq_chain c;
	struct vq_seg segs[8];
	rig_setup(8, VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
	fill(DATA_GPA, 32, 5);
	forge_desc(2, DATA_GPA, 16, VIRTQ_DESC_F_NEXT, 5);
	forge_desc(5, table, 4 * 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE /* ignored */, 0);
	forge_table_desc(table, 0, DATA_GPA + 16, 16, VIRTQ_DESC_F_NEXT, 3);
	forge_table_desc(table, 3, DATA_GPA + 0x100, 0, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	forge_table_desc(table, 1, DATA_GPA + 0x200, 100, VIRTQ_DESC_F_WRITE, 0);
	forge_publish(2);
	ck_assert_int_eq(vq_dev_pop(&R.dev, &c), 1);
	ck_assert_int_eq(vq_chain_collect(&c, segs, 8), 3);
	ck_assert(!segs[0].writable && segs[0].len == 16 && segs[0].ptr == ram + DATA_GPA);
	ck_assert(!segs[1].writable && segs[1].len == 16 && segs[1].ptr == ram + DATA_GPA + 16);
	ck_assert(segs[2].writable && segs[2].len == 100 && segs[2].gpa == DATA_GPA + 0x200);
	ck_assert_uint_eq(c.write_len, 100);
	ck_assert_int_eq(vq_chain_next(&c, segs), 0);
	/* A chain of only zero-length buffers yields no segment at all. */
	forge_desc(0, 0, 0, VIRTQ_DESC_F_NEXT, 1);
	forge_desc(1, RAM_SIZE + 12345, 0, 0, 0); /* never translated */
	forge_publish(0);
	ck_assert_int_eq(pop_walk(&c), 0);
}
END_TEST

START_TEST(test_err_str)
{
	ck_assert_str_eq(vq_err_str(-VQ_E_LOOP), "descriptor loop");
	ck_assert_str_eq(vq_err_str(VQ_E_LOOP), "descriptor loop");
	ck_assert_str_eq(vq_err_str(-VQ_E_COUNT), "unknown");
	ck_assert_str_eq(vq_err_str(-1000000), "unknown");
	for (int e = 0; e < VQ_E_COUNT; e++)
		ck_assert_str_ne(vq_err_str(-e), "unknown");
}
END_TEST

/* ------------------------------------------------ limits */

START_TEST(test_dev_init_limits)
{
	struct vq_dev q;
	uint32_t bad[] = { 0, 3, 6, 100, 32769, 65536, 0x80000000u };

	memset(ram, 0, DATA_GPA);
	map_lenient = false;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(vq_dev_init(&q, &test_mem, bad[i], 0, 0x1000, 0x2000, 0), -VQ_E_SIZE);
	ck_assert_int_eq(vq_dev_init(&q, &test_mem, 1, 0, 0x1000, 0x2000, 0), 0);
	ck_assert_int_eq(vq_dev_init(&q, &test_mem, 32768, 0, VIRTQ_LAYOUT_AVAIL_OFF(32768),
				     VIRTQ_LAYOUT_USED_OFF(32768), 0),
			 0);
	ck_assert_int_eq(vq_dev_init(&q, &test_mem, 8, 8, 0x1000, 0x2000, 0), -VQ_E_ALIGN);
	ck_assert_int_eq(vq_dev_init(&q, &test_mem, 8, 0, 0x1001, 0x2000, 0), -VQ_E_ALIGN);
	ck_assert_int_eq(vq_dev_init(&q, &test_mem, 8, 0, 0x1000, 0x2002, 0), -VQ_E_ALIGN);
	/* Each area must fit entirely in RAM, including its event-idx field. */
	ck_assert_int_eq(vq_dev_init(&q, &test_mem, 8, RAM_SIZE - 16 * 8, 0x1000, 0x2000, 0), 0);
	ck_assert_int_eq(vq_dev_init(&q, &test_mem, 8, RAM_SIZE - 16 * 7, 0x1000, 0x2000, 0), -VQ_E_RING_ADDR);
	ck_assert_int_eq(vq_dev_init(&q, &test_mem, 8, 0, RAM_SIZE - 20, 0x2000, 0), -VQ_E_RING_ADDR);
	ck_assert_int_eq(vq_dev_init(&q, &test_mem, 8, 0, 0x1000, RAM_SIZE - 68, 0), -VQ_E_RING_ADDR);
	ck_assert_int_eq(vq_dev_init(&q, &test_mem, 8, 0, 0x1000, UINT64_MAX - 3, 0), -VQ_E_RING_ADDR);
	ck_assert_int_eq(vq_dev_init(&q, &test_mem, 8, UINT64_MAX - 15, 0x1000, 0x2000, 0), -VQ_E_RING_ADDR);
}
END_TEST

START_TEST(test_drv_init_limits)
{
	struct vq_drv q;

	ck_assert_int_eq(vq_drv_init(&q, 0, ram, ram + 0x1000, ram + 0x2000, slots, 0), -VQ_E_SIZE);
	ck_assert_int_eq(vq_drv_init(&q, 12, ram, ram + 0x1000, ram + 0x2000, slots, 0), -VQ_E_SIZE);
	ck_assert_int_eq(vq_drv_init(&q, 65536, ram, ram + 0x1000, ram + 0x2000, slots, 0), -VQ_E_SIZE);
	ck_assert_int_eq(vq_drv_init(&q, 8, ram + 8, ram + 0x1000, ram + 0x2000, slots, 0), -VQ_E_ALIGN);
	ck_assert_int_eq(vq_drv_init(&q, 8, ram, ram + 0x1001, ram + 0x2000, slots, 0), -VQ_E_ALIGN);
	ck_assert_int_eq(vq_drv_init(&q, 8, ram, ram + 0x1000, ram + 0x2002, slots, 0), -VQ_E_ALIGN);
	ck_assert_int_eq(vq_drv_init(&q, 8, ram, ram + 0x1000, ram + 0x2000, NULL, 0), -VQ_E_INVAL);
	ck_assert_int_eq(vq_drv_init(&q, 8, ram, ram + 0x1000, ram + 0x2000, slots, 0), 0);
}
END_TEST

START_TEST(test_drv_add_limits)
{
	static int ck;
	struct vq_sg three[3] = { { DATA_GPA, 1, false }, { DATA_GPA, 1, false }, { DATA_GPA, 1, true } };
	struct vq_sg bad_order[2] = { { DATA_GPA, 1, true }, { DATA_GPA, 1, false } };
	struct vq_sg too_long[2] = { { DATA_GPA, UINT32_MAX, false }, { DATA_GPA, 1, true } };
	void *cookie;
	uint32_t len;
	struct vq_chain c;
	rig_setup(4, 0);
	ck_assert_int_eq(vq_drv_add(&R.drv, three, 0, &ck), -VQ_E_INVAL);
	ck_assert_int_eq(vq_drv_add(&R.drv, three, 1, NULL), -VQ_E_INVAL);
	ck_assert_int_eq(vq_drv_add(&R.drv, bad_order, 2, &ck), -VQ_E_INVAL);
	ck_assert_int_eq(vq_drv_add(&R.drv, too_long, 2, &ck), -VQ_E_INVAL);
	ck_assert_int_eq(vq_drv_add(&R.drv, three, 5, &ck), -VQ_E_NOSPC);
	ck_assert_int_eq(vq_drv_add(&R.drv, three, 3, &ck), 0);
	ck_assert_int_eq(vq_drv_add(&R.drv, three, 2, &ck), -VQ_E_NOSPC);
	ck_assert_int_eq(vq_drv_add(&R.drv, three, 1, &ck), 0);
	ck_assert_int_eq(vq_drv_add(&R.drv, three, 1, &ck), -VQ_E_NOSPC);
	ck_assert_int_eq(vq_dev_pop(&R.dev, &c), 1);
	ck_assert_int_eq(vq_dev_push_used(&R.dev, c.head, 1), 0);
	ck_assert_int_eq(vq_drv_get_used(&R.drv, &cookie, &len), 1);
	ck_assert_int_eq(vq_drv_add(&R.drv, three, 3, &ck), 0); /* the 3 came back */
}
END_TEST

/* A chain exactly as long as the queue, and a full-size indirect table, are legal: no false loop. */
START_TEST(test_max_chain)
{
	const uint64_t table = DATA_GPA + 0x10000;
	struct vq_chain c;
	struct vq_seg one;
	int n = 0, r;
	rig_setup(256, VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
	for (uint16_t i = 0; i < 256; i++)
		forge_desc(i, DATA_GPA + i, 1, i < 255 ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	forge_publish(0);
	ck_assert_int_eq(vq_dev_pop(&R.dev, &c), 1);
	while ((r = vq_chain_next(&c, &one)) == 1)
		n++;
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(n, 256);
	for (uint16_t i = 0; i < 256; i++)
		forge_table_desc(table, i, DATA_GPA + i, 1, i < 255 ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	forge_desc(7, table, 256 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	forge_publish(7);
	ck_assert_int_eq(vq_dev_pop(&R.dev, &c), 1);
	for (n = 0; (r = vq_chain_next(&c, &one)) == 1;)
		n++;
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(n, 256);
	forge_desc(7, table, 257 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	forge_publish(7);
	ck_assert_int_eq(pop_walk(&c), -VQ_E_INDIRECT_LEN);
}
END_TEST

START_TEST(test_collect_limit)
{
	struct vq_chain c;
	struct vq_seg segs[2];
	rig_setup(8, 0);
	for (uint16_t i = 0; i < 3; i++)
		forge_desc(i, DATA_GPA, 4, i < 2 ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	forge_publish(0);
	forge_publish(0);
	ck_assert_int_eq(vq_dev_pop(&R.dev, &c), 1);
	ck_assert_int_eq(vq_chain_collect(&c, segs, 2), -VQ_E_TOO_MANY_SEGS);
	ck_assert_int_eq(vq_dev_pop(&R.dev, &c), 1);
	ck_assert_int_eq(vq_chain_collect(&c, segs, 0), -VQ_E_TOO_MANY_SEGS);
	ck_assert_int_eq(vq_dev_push_used(&R.dev, 8, 0), -VQ_E_BAD_ID);
	ck_assert_int_eq(vq_dev_push_used(&R.dev, 7, 0), 0);
}
END_TEST

/* ------------------------------------------------ hostile driver (device side must refuse) */

START_TEST(test_h_avail_idx_ahead)
{
	struct vq_chain c;
	rig_setup(8, 0);
	forge_desc(0, DATA_GPA, 4, 0, 0);
	*avail_idx_p() = 8; /* exactly size outstanding: legal */
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(vq_dev_pop(&R.dev, &c), 1);
	*avail_idx_p() = 8 + 9;
	ck_assert_int_eq(vq_dev_pop(&R.dev, &c), -VQ_E_AVAIL_IDX);
	*avail_idx_p() = 9; /* sticky even if the guest "fixes" it */
	ck_assert_int_eq(vq_dev_pop(&R.dev, &c), -VQ_E_AVAIL_IDX);
	ck_assert(!vq_dev_enable_notify(&R.dev));
	/* Going backwards is the same as running far ahead. */
	rig_setup(8, 0);
	*avail_idx_p() = 0xffff;
	ck_assert_int_eq(vq_dev_pop(&R.dev, &c), -VQ_E_AVAIL_IDX);
}
END_TEST

START_TEST(test_h_head_range)
{
	struct vq_chain c;
	rig_setup(8, 0);
	forge_publish(8);
	ck_assert_int_eq(vq_dev_pop(&R.dev, &c), -VQ_E_HEAD_RANGE);
	rig_setup(8, 0);
	forge_publish(0xffff);
	ck_assert_int_eq(vq_dev_pop(&R.dev, &c), -VQ_E_HEAD_RANGE);
	ck_assert_int_eq(vq_dev_pop(&R.dev, &c), -VQ_E_HEAD_RANGE);
}
END_TEST

/* A device that cannot take a chain yet gives it back: the next pop re-reads the same slot. */
START_TEST(test_unpop)
{
	struct vq_chain c;
	rig_setup(8, 0);
	forge_desc(3, 0x1000, 16, 0, 0);
	forge_publish(3);
	ck_assert_int_eq(pop_walk(&c), 1);
	ck_assert_uint_eq(c.head, 3);
	vq_dev_unpop(&R.dev);
	*avail_ring_p(0) = 9; /* re-read and re-checked, not remembered */
	ck_assert_int_eq(vq_dev_pop(&R.dev, &c), -VQ_E_HEAD_RANGE);
	rig_setup(8, 0);
	forge_desc(3, 0x1000, 16, 0, 0);
	forge_publish(3);
	ck_assert_int_eq(pop_walk(&c), 1);
	vq_dev_unpop(&R.dev);
	ck_assert_int_eq(pop_walk(&c), 1);
	ck_assert_uint_eq(c.head, 3);
	ck_assert_int_eq(vq_dev_pop(&R.dev, &c), 0);
}
END_TEST

START_TEST(test_h_next_range)
{
	struct vq_chain c;
	struct vq_seg s;
	rig_setup(8, 0);
	forge_desc(0, DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 8);
	forge_publish(0);
	ck_assert_int_eq(vq_dev_pop(&R.dev, &c), 1);
	ck_assert_int_eq(vq_chain_next(&c, &s), 1);
	ck_assert_int_eq(vq_chain_next(&c, &s), -VQ_E_NEXT_RANGE);
	ck_assert_int_eq(vq_chain_next(&c, &s), -VQ_E_NEXT_RANGE); /* stays failed */
	/* The request can be failed and the queue goes on. */
	ck_assert_int_eq(vq_dev_push_used(&R.dev, c.head, 0), 0);
	forge_desc(1, DATA_GPA, 4, 0, 0);
	forge_publish(1);
	ck_assert_int_eq(pop_walk(&c), 1);
}
END_TEST

START_TEST(test_h_loop)
{
	struct vq_chain c;
	rig_setup(8, 0);
	forge_desc(0, DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 1);
	forge_desc(1, DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 0);
	forge_publish(0);
	ck_assert_int_eq(pop_walk(&c), -VQ_E_LOOP);
	forge_desc(3, DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 3); /* self loop */
	forge_publish(3);
	ck_assert_int_eq(pop_walk(&c), -VQ_E_LOOP);
	/* A loop of zero-length descriptors yields nothing but must still end. */
	forge_desc(4, DATA_GPA, 0, VIRTQ_DESC_F_NEXT, 5);
	forge_desc(5, DATA_GPA, 0, VIRTQ_DESC_F_NEXT, 4);
	forge_publish(4);
	ck_assert_int_eq(pop_walk(&c), -VQ_E_LOOP);
}
END_TEST

START_TEST(test_h_indirect_loop_and_range)
{
	const uint64_t table = DATA_GPA + 0x4000;
	struct vq_chain c;
	rig_setup(8, VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
	forge_table_desc(table, 0, DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 1);
	forge_table_desc(table, 1, DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 0);
	forge_desc(0, table, 32, VIRTQ_DESC_F_INDIRECT, 0);
	forge_publish(0);
	ck_assert_int_eq(pop_walk(&c), -VQ_E_LOOP);
	/* next must stay inside the table, even though 5 < queue size. */
	forge_table_desc(table, 1, DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 5);
	forge_publish(0);
	ck_assert_int_eq(pop_walk(&c), -VQ_E_NEXT_RANGE);
}
END_TEST

START_TEST(test_h_indirect_feature)
{
	struct vq_chain c;
	rig_setup(8, 0);
	forge_table_desc(DATA_GPA, 0, DATA_GPA, 4, 0, 0);
	forge_desc(0, DATA_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	forge_publish(0);
	ck_assert_int_eq(pop_walk(&c), -VQ_E_INDIRECT_FEAT);
}
END_TEST

START_TEST(test_h_indirect_len)
{
	struct vq_chain c;
	uint32_t bad[] = { 0, 8, 24, 17, 9 * 16, UINT32_MAX & ~15u };
	rig_setup(8, VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		forge_desc(0, DATA_GPA, bad[i], VIRTQ_DESC_F_INDIRECT, 0);
		forge_publish(0);
		ck_assert_int_eq(pop_walk(&c), -VQ_E_INDIRECT_LEN);
	}
}
END_TEST

START_TEST(test_h_indirect_nested)
{
	const uint64_t t1 = DATA_GPA + 0x1000, t2 = DATA_GPA + 0x2000;
	struct vq_chain c;
	rig_setup(8, VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
	forge_table_desc(t2, 0, DATA_GPA, 4, 0, 0);
	forge_table_desc(t1, 0, DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 1);
	forge_table_desc(t1, 1, t2, 16, VIRTQ_DESC_F_INDIRECT, 0);
	forge_desc(0, t1, 32, VIRTQ_DESC_F_INDIRECT, 0);
	forge_publish(0);
	ck_assert_int_eq(pop_walk(&c), -VQ_E_INDIRECT_NESTED);
	/* A table pointing at itself is nesting too. */
	forge_table_desc(t1, 0, t1, 16, VIRTQ_DESC_F_INDIRECT, 0);
	forge_publish(0);
	ck_assert_int_eq(pop_walk(&c), -VQ_E_INDIRECT_NESTED);
}
END_TEST

START_TEST(test_h_indirect_next)
{
	struct vq_chain c;
	rig_setup(8, VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
	forge_table_desc(DATA_GPA, 0, DATA_GPA, 4, 0, 0);
	forge_desc(0, DATA_GPA, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	forge_desc(1, DATA_GPA, 4, 0, 0);
	forge_publish(0);
	ck_assert_int_eq(pop_walk(&c), -VQ_E_INDIRECT_NEXT);
}
END_TEST

START_TEST(test_h_indirect_outside)
{
	struct vq_chain c;
	rig_setup(8, VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
	forge_desc(0, RAM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	forge_publish(0);
	ck_assert_int_eq(pop_walk(&c), -VQ_E_BUF_ADDR);
	forge_desc(0, UINT64_MAX - 15, 32, VIRTQ_DESC_F_INDIRECT, 0);
	forge_publish(0);
	ck_assert_int_eq(pop_walk(&c), -VQ_E_OVERFLOW);
}
END_TEST

START_TEST(test_h_overflow)
{
	struct vq_chain c;
	rig_setup(8, 0);
	forge_desc(0, UINT64_MAX - 10, 100, 0, 0);
	forge_publish(0);
	ck_assert_int_eq(pop_walk(&c), -VQ_E_OVERFLOW);
	forge_desc(0, UINT64_MAX, 1, 0, 0); /* ends exactly at 2^64: still wraps */
	forge_publish(0);
	ck_assert_int_eq(pop_walk(&c), -VQ_E_OVERFLOW);
}
END_TEST

START_TEST(test_h_outside_ram)
{
	struct vq_chain c;
	rig_setup(8, 0);
	forge_desc(0, RAM_SIZE - 8, 16, 0, 0);
	forge_publish(0);
	ck_assert_int_eq(pop_walk(&c), -VQ_E_BUF_ADDR);
	forge_desc(0, RAM_SIZE - 8, 8, 0, 0); /* the last 8 bytes are fine */
	forge_publish(0);
	ck_assert_int_eq(pop_walk(&c), 1);
	forge_desc(0, DATA_GPA, 4, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	forge_desc(1, 1ull << 40, 4, VIRTQ_DESC_F_WRITE, 0);
	forge_publish(0);
	ck_assert_int_eq(pop_walk(&c), -VQ_E_BUF_ADDR);
}
END_TEST

START_TEST(test_h_order)
{
	struct vq_chain c;
	rig_setup(8, 0);
	forge_desc(0, DATA_GPA, 4, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	forge_desc(1, DATA_GPA, 4, 0, 0);
	forge_publish(0);
	ck_assert_int_eq(pop_walk(&c), -VQ_E_ORDER);
	/* Zero-length descriptors obey the order rule as well. */
	forge_desc(1, DATA_GPA, 0, 0, 0);
	forge_publish(0);
	ck_assert_int_eq(pop_walk(&c), -VQ_E_ORDER);
}
END_TEST

START_TEST(test_h_chain_len)
{
	struct vq_chain c;
	rig_setup(8, 0);
	map_lenient = true; /* 4 GiB of "RAM" that nobody touches */
	forge_desc(0, 0x1000, UINT32_MAX, VIRTQ_DESC_F_NEXT, 1);
	forge_desc(1, 0x1000, 1, 0, 0);
	forge_publish(0);
	ck_assert_int_eq(pop_walk(&c), -VQ_E_CHAIN_LEN);
	forge_desc(0, 0x1000, UINT32_MAX - 1, VIRTQ_DESC_F_NEXT, 1); /* 2^32 - 1 in total: allowed */
	forge_publish(0);
	ck_assert_int_eq(pop_walk(&c), 2);
}
END_TEST

/* ------------------------------------------------ hostile device (driver side must refuse) */

/* One request in flight, completed by the device; then the test corrupts the used ring. */
static void one_in_flight(void)
{
	static int ck;
	struct vq_sg sg[2] = { { DATA_GPA, 16, false }, { DATA_GPA + 64, 32, true } };
	struct vq_chain c;

	rig_setup(8, 0);
	ck_assert_int_eq(vq_drv_add(&R.drv, sg, 2, &ck), 0);
	ck_assert_int_eq(vq_dev_pop(&R.dev, &c), 1);
	ck_assert_int_eq(vq_dev_push_used(&R.dev, c.head, 32), 0);
}

static void assert_broken(int first_err)
{
	void *cookie = NULL;
	uint32_t len;
	static int ck;

	ck_assert_int_eq(vq_drv_get_used(&R.drv, &cookie, &len), first_err);
	ck_assert_ptr_null(cookie);
	ck_assert_int_eq(vq_drv_get_used(&R.drv, &cookie, &len), -VQ_E_BROKEN);
	ck_assert_int_eq(vq_drv_add(&R.drv, (struct vq_sg[]){ { DATA_GPA, 1, false } }, 1, &ck), -VQ_E_BROKEN);
	ck_assert(!vq_drv_kick_prepare(&R.drv));
}

START_TEST(test_hd_used_idx)
{
	one_in_flight();
	*used_idx_p() = 2; /* two completions for one request */
	assert_broken(-VQ_E_USED_IDX);
}
END_TEST

START_TEST(test_hd_used_id_range)
{
	one_in_flight();
	used_elem_p(0)->id = 8;
	assert_broken(-VQ_E_USED_ID);
	one_in_flight();
	used_elem_p(0)->id = 0x10000; /* would alias id 0 if truncated to 16 bits */
	assert_broken(-VQ_E_USED_ID);
}
END_TEST

START_TEST(test_hd_used_id_not_in_flight)
{
	one_in_flight();
	used_elem_p(0)->id = 1; /* second descriptor of the chain, not a head */
	assert_broken(-VQ_E_USED_ID);
	/* The same head returned twice while another request is in flight. */
	one_in_flight();
	ck_assert_int_eq(vq_drv_add(&R.drv, (struct vq_sg[]){ { DATA_GPA, 1, true } }, 1, &R), 0);
	ck_assert_int_eq(vq_drv_get_used(&R.drv, &(void *){ NULL }, &(uint32_t){ 0 }), 1);
	*used_elem_p(1) = *used_elem_p(0);
	*used_idx_p() = 2;
	assert_broken(-VQ_E_USED_ID);
}
END_TEST

START_TEST(test_hd_used_len)
{
	one_in_flight();
	used_elem_p(0)->len = 33; /* only 32 writable bytes were given */
	assert_broken(-VQ_E_USED_LEN);
}
END_TEST

/* The device scribbling over the descriptor table cannot corrupt the driver's free list. */
START_TEST(test_hd_desc_scribble)
{
	static int cookies[8];
	one_in_flight();
	memset(ram + R.desc_gpa, 0xff, VIRTQ_DESC_BYTES(8));
	ck_assert_int_eq(vq_drv_get_used(&R.drv, &(void *){ NULL }, &(uint32_t){ 0 }), 1);
	for (int round = 0; round < 50; round++) {
		struct vq_sg sg[2] = { { DATA_GPA, 4, false }, { DATA_GPA + 8, 4, true } };
		struct vq_chain c;
		void *cookie;
		uint32_t len;

		for (int i = 0; i < 4; i++)
			ck_assert_int_eq(vq_drv_add(&R.drv, sg, 2, &cookies[i]), 0);
		for (int i = 0; i < 4; i++) {
			ck_assert_int_eq(vq_dev_pop(&R.dev, &c), 1);
			ck_assert_int_eq(vq_chain_collect(&c, (struct vq_seg[2]){ 0 }, 2), 2);
			ck_assert_int_eq(vq_dev_push_used(&R.dev, c.head, 4), 0);
		}
		/* Scribble the next fields while chains are in flight-and-used. */
		for (int i = 0; i < 8; i++)
			((struct virtq_desc *)(ram + R.desc_gpa))[i].next = (uint16_t)(7 - i);
		for (int i = 0; i < 4; i++) {
			ck_assert_int_eq(vq_drv_get_used(&R.drv, &cookie, &len), 1);
			ck_assert_ptr_eq(cookie, &cookies[i]);
		}
		ck_assert_uint_eq(R.drv.num_free, 8);
	}
}
END_TEST

Suite *virtq_suite(void)
{
	Suite *s = suite_create("virtq");
	TCase *core = tcase_create("core");
	TCase *limits = tcase_create("limits");
	TCase *hostile = tcase_create("hostile");

	tcase_add_test(core, test_roundtrip);
	tcase_add_test(core, test_unpop);
	tcase_add_test(core, test_out_of_order);
	tcase_add_test(core, test_wraparound);
	tcase_add_test(core, test_event_idx_kicks);
	tcase_add_test(core, test_event_idx_interrupts);
	tcase_add_test(core, test_event_idx_disable_after_poll);
	tcase_add_test(core, test_flags_suppression);
	tcase_add_test(core, test_indirect_and_zero_len);
	tcase_add_test(core, test_err_str);
	tcase_add_test(limits, test_dev_init_limits);
	tcase_add_test(limits, test_drv_init_limits);
	tcase_add_test(limits, test_drv_add_limits);
	tcase_add_test(limits, test_max_chain);
	tcase_add_test(limits, test_collect_limit);
	tcase_add_test(hostile, test_h_avail_idx_ahead);
	tcase_add_test(hostile, test_h_head_range);
	tcase_add_test(hostile, test_h_next_range);
	tcase_add_test(hostile, test_h_loop);
	tcase_add_test(hostile, test_h_indirect_loop_and_range);
	tcase_add_test(hostile, test_h_indirect_feature);
	tcase_add_test(hostile, test_h_indirect_len);
	tcase_add_test(hostile, test_h_indirect_nested);
	tcase_add_test(hostile, test_h_indirect_next);
	tcase_add_test(hostile, test_h_indirect_outside);
	tcase_add_test(hostile, test_h_overflow);
	tcase_add_test(hostile, test_h_outside_ram);
	tcase_add_test(hostile, test_h_order);
	tcase_add_test(hostile, test_h_chain_len);
	tcase_add_test(hostile, test_hd_used_idx);
	tcase_add_test(hostile, test_hd_used_id_range);
	tcase_add_test(hostile, test_hd_used_id_not_in_flight);
	tcase_add_test(hostile, test_hd_used_len);
	tcase_add_test(hostile, test_hd_desc_scribble);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	suite_add_tcase(s, hostile);
	return s;
}
