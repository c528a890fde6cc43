/* fuzz_virtq.c: harness for the device-side virtqueue (proto/virtq_dev.c) over a fuzzed guest memory image and queue state. */
#include <stdbool.h>

#include "fuzz.h"
#include "virtq.h"

/*
 * Input: a header (queue size, features, guest RAM base and size, the three
 * ring offsets), the RAM image, then operations until the input ends: pop and
 * walk a chain, collect one, unpop, push used ids, the notification calls, a
 * re-init, and guest stores into RAM between them (a hostile driver changing
 * the rings under the device).
 */
#define FV_MEM_MAX 0x10000u /* 64 KiB: room for a 4096-entry descriptor table */

struct fv_ram {
	uint8_t *host;  /* exactly size bytes: ASan flags any access past them */
	uint64_t base;  /* guest physical address of host[0] */
	uint64_t size;
	unsigned maps;
};

/* The provider: every map is checked here, so proto/ cannot reach outside the RAM it was given. */
static void *fv_map(void *ctx, uint64_t gpa, size_t len)
{
	struct fv_ram *r = ctx;

	r->maps++;
	FUZZ_CHECK(len != 0); /* proto_env.h: proto/ never asks for 0 bytes */
	if (gpa < r->base || gpa - r->base > r->size || len > r->size - (gpa - r->base))
		return NULL;
	return r->host + (gpa - r->base);
}

static bool fv_ram_has(const struct fv_ram *r, uint64_t gpa, uint64_t len)
{
	return gpa >= r->base && gpa - r->base <= r->size && len <= r->size - (gpa - r->base);
}

static uint16_t fv_ld16(const struct fv_ram *r, uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, r->host + (gpa - r->base), 2);
	return v;
}

static uint32_t fv_ld32(const struct fv_ram *r, uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, r->host + (gpa - r->base), 4);
	return v;
}

/* The harness's own model of the queue, checked against what vq_dev does. */
struct fv_queue {
	struct vq_dev q;
	bool up;          /* vq_dev_init succeeded */
	uint16_t last_avail, used_idx;
	int broken;
};

static bool fv_init(struct fv_queue *m, struct fv_ram *ram, uint32_t size, uint64_t d, uint64_t a,
		    uint64_t u, uint64_t features)
{
	struct vq_mem mem = { fv_map, ram };
	int r = vq_dev_init(&m->q, &mem, size, d, a, u, features);
	int want = 0;

	if (size == 0 || size > VIRTQ_MAX_SIZE || (size & (size - 1)))
		want = -VQ_E_SIZE;
	else if (d % VIRTQ_DESC_ALIGN || a % VIRTQ_AVAIL_ALIGN || u % VIRTQ_USED_ALIGN)
		want = -VQ_E_ALIGN;
	else if (!fv_ram_has(ram, d, VIRTQ_DESC_BYTES(size)) || !fv_ram_has(ram, a, VIRTQ_AVAIL_BYTES(size)) ||
		 !fv_ram_has(ram, u, VIRTQ_USED_BYTES(size)))
		want = -VQ_E_RING_ADDR;
	FUZZ_CHECK(r == want);
	*m = (struct fv_queue){ .q = m->q, .up = r == 0 };
	return r == 0;
}

/* Pops one chain, checking the avail-ring rules against the RAM image. 1 with *c, 0 empty, <0 error. */
static int fv_pop(struct fv_queue *m, struct fv_ram *ram, struct vq_chain *c)
{
	uint16_t size = m->q.size;
	uint16_t idx = fv_ld16(ram, m->q.avail_gpa + 2);
	uint16_t head = fv_ld16(ram, m->q.avail_gpa + 4 + 2u * (m->last_avail & (size - 1)));
	int r = vq_dev_pop(&m->q, c);

	if (m->broken) {
		FUZZ_CHECK(r == m->broken); /* sticky until re-init */
		return r;
	}
	if (idx == m->last_avail) {
		FUZZ_CHECK(r == 0);
	} else if ((uint16_t)(idx - m->last_avail) > size) {
		FUZZ_CHECK(r == -VQ_E_AVAIL_IDX);
	} else if (head >= size) {
		FUZZ_CHECK(r == -VQ_E_HEAD_RANGE);
	} else {
		FUZZ_CHECK(r == 1 && c->head == head);
		m->last_avail++;
	}
	if (r < 0)
		m->broken = r;
	return r;
}

/*
 * Walks the chain: every segment inside RAM at its gpa, readable before
 * writable, at most size direct plus size indirect descriptors (the TTLs),
 * at most 2^32 - 1 bytes, and an error sticks. Returns the writable bytes.
 */
static uint32_t fv_walk(const struct fv_queue *m, struct fv_ram *ram, struct vq_chain *c)
{
	uint64_t total = 0, written = 0;
	bool seen_write = false;
	unsigned calls = 0;
	struct vq_seg s;
	int r;

	while ((r = vq_chain_next(c, &s)) == 1) {
		FUZZ_CHECK(++calls <= 2u * m->q.size);
		FUZZ_CHECK(s.len > 0 && fv_ram_has(ram, s.gpa, s.len));
		FUZZ_CHECK((uint8_t *)s.ptr == ram->host + (s.gpa - ram->base));
		FUZZ_CHECK(s.writable || !seen_write);
		seen_write |= s.writable;
		total += s.len;
		FUZZ_CHECK(total <= UINT32_MAX);
		if (s.writable) {
			written += s.len;
			memset(s.ptr, 0xd5, s.len > 64 ? 64 : s.len); /* the device writes what it may */
		} else {
			volatile uint8_t sink = ((uint8_t *)s.ptr)[s.len - 1];
			(void)sink;
		}
	}
	FUZZ_CHECK(r <= 0 && r > -VQ_E_COUNT);
	FUZZ_CHECK(vq_chain_next(c, &s) == r); /* the end, or the error, is sticky */
	if (r == 0)
		FUZZ_CHECK(c->write_len == written);
	return (uint32_t)written;
}

static void fv_push(struct fv_queue *m, struct fv_ram *ram, uint16_t id, uint32_t len)
{
	int r = vq_dev_push_used(&m->q, id, len);

	if (id >= m->q.size) {
		FUZZ_CHECK(r == -VQ_E_BAD_ID);
		return;
	}
	FUZZ_CHECK(r == 0);
	uint64_t elem = m->q.used_gpa + 4 + 8u * (m->used_idx & (m->q.size - 1));
	FUZZ_CHECK(fv_ld32(ram, elem) == id && fv_ld32(ram, elem + 4) == len);
	m->used_idx++;
	FUZZ_CHECK(fv_ld16(ram, m->q.used_gpa + 2) == m->used_idx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t szsel = fuzz_u8(&in), feat = fuzz_u8(&in);
	/* Mostly powers of two (the interesting queues), sometimes any value (the size check). */
	uint32_t qsize = szsel & 0x80 ? fuzz_u16(&in) : 1u << (szsel % 16);
	uint64_t features = (feat & 1 ? VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) : 0) |
			    (feat & 2 ? VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) : 0);
	struct fv_ram ram = { 0 };
	/* RAM anywhere in the 64-bit space (descriptors near 2^64 test the wrap checks), never wrapping itself. */
	ram.base = feat & 4 ? fuzz_u64(&in) & ~0xfffull : 0;
	ram.size = fuzz_u16(&in) % FV_MEM_MAX + 1;
	if (ram.base > UINT64_MAX - ram.size)
		ram.base = UINT64_MAX - ram.size + 1 - 0x1000;
	uint64_t d = ram.base + fuzz_u16(&in), a = ram.base + fuzz_u16(&in), u = ram.base + fuzz_u16(&in);
	size_t got;
	const uint8_t *img = fuzz_bytes(&in, ram.size, &got);

	ram.host = calloc(1, ram.size);
	FUZZ_CHECK(ram.host != NULL);
	memcpy(ram.host, img, got);

	struct fv_queue m = { 0 };
	if (!fv_init(&m, &ram, qsize, d, a, u, features))
		goto out;
	for (unsigned ops = 0; in.n && ops < 256; ops++) {
		struct vq_chain c;
		struct vq_seg segs[8];
		uint8_t op = fuzz_u8(&in);

		switch (op % 8) {
		case 0: /* a device serving one request */
			if (fv_pop(&m, &ram, &c) == 1)
				fv_push(&m, &ram, c.head, fv_walk(&m, &ram, &c));
			break;
		case 1: { /* collect first, as blk does */
			unsigned max = fuzz_u8(&in) % 9;

			if (fv_pop(&m, &ram, &c) == 1) {
				int n = vq_chain_collect(&c, segs, max);

				FUZZ_CHECK(n < 0 ? n > -VQ_E_COUNT : (unsigned)n <= max);
				for (int i = 0; i < n; i++)
					FUZZ_CHECK(fv_ram_has(&ram, segs[i].gpa, segs[i].len) &&
						   (uint8_t *)segs[i].ptr == ram.host + (segs[i].gpa - ram.base));
				fv_push(&m, &ram, c.head, 0);
			}
			break;
		}
		case 2: /* not now: the same slot comes back */
			if (fv_pop(&m, &ram, &c) == 1) {
				vq_dev_unpop(&m.q);
				m.last_avail--;
			}
			break;
		case 3: { /* the guest stores into RAM between device steps */
			uint16_t off = fuzz_u16(&in);
			ram.host[off % ram.size] = fuzz_u8(&in);
			break;
		}
		case 4:
			(void)vq_dev_should_notify(&m.q);
			break;
		case 5: {
			bool more = vq_dev_enable_notify(&m.q);

			FUZZ_CHECK(more == (!m.broken && fv_ld16(&ram, m.q.avail_gpa + 2) != m.last_avail));
			break;
		}
		case 6:
			vq_dev_disable_notify(&m.q);
			break;
		case 7: /* a device reset and the driver setting the queue up again, or a stray used id */
			if (op & 0x80) {
				if (!fv_init(&m, &ram, qsize, d, a, u, features))
					goto out;
			} else {
				fv_push(&m, &ram, fuzz_u16(&in), fuzz_u32(&in));
			}
			break;
		}
	}
out:
	free(ram.host);
	return 0;
}
