/* virtq_dev.c: device side of the split virtqueue (runs in the monitor); every guest-written field is hostile. */
#include "virtq.h"

/* Ring field offsets in bytes (spec 2.7.6, 2.7.8). */
#define AVAIL_IDX_OFF 2u
#define AVAIL_RING_OFF(i) (4u + 2u * (uint32_t)(i))
#define USED_IDX_OFF 2u
#define USED_ELEM_OFF(i) (4u + 8u * (uint32_t)(i))

static uint16_t ld16(const volatile void *base, uint32_t off)
{
	return vq_le16(*(const volatile uint16_t *)((const volatile uint8_t *)base + off));
}

static void st16(volatile void *base, uint32_t off, uint16_t v)
{
	*(volatile uint16_t *)((volatile uint8_t *)base + off) = vq_le16(v);
}

static void st32(volatile void *base, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)((volatile uint8_t *)base + off) = vq_le32(v);
}

/* Little-endian load byte by byte: indirect tables may sit at any address, and each byte is read exactly once. */
static uint64_t ld_bytes(const volatile uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = n; i-- > 0;)
		v = (v << 8) | p[i];
	return v;
}

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

static void desc_load(const volatile uint8_t *p, struct desc *d)
{
	d->addr = ld_bytes(p, 8);
	d->len = (uint32_t)ld_bytes(p + 8, 4);
	d->flags = (uint16_t)ld_bytes(p + 12, 2);
	d->next = (uint16_t)ld_bytes(p + 14, 2);
}

/* Translates [gpa, gpa+len), len > 0, refusing ranges that wrap before asking the provider. */
static void *map_range(const struct vq_mem *mem, uint64_t gpa, uint64_t len, int *err)
{
	void *p;

	if (len > UINT64_MAX - gpa) {
		*err = -VQ_E_OVERFLOW;
		return NULL;
	}
	if (len > SIZE_MAX)
		p = NULL;
	else
		p = mem->map(mem->ctx, gpa, (size_t)len);
	*err = p ? 0 : -VQ_E_BUF_ADDR;
	return p;
}

int vq_dev_init(struct vq_dev *q, const struct vq_mem *mem, uint32_t size, uint64_t desc_gpa,
		uint64_t avail_gpa, uint64_t used_gpa, uint64_t features)
{
	int err;

	*q = (struct vq_dev){ 0 };
	if (size == 0 || size > VIRTQ_MAX_SIZE || (size & (size - 1)) != 0)
		return -VQ_E_SIZE;
	if (desc_gpa % VIRTQ_DESC_ALIGN || avail_gpa % VIRTQ_AVAIL_ALIGN || used_gpa % VIRTQ_USED_ALIGN)
		return -VQ_E_ALIGN;
	q->mem = *mem;
	q->size = (uint16_t)size;
	q->event_idx = (features & VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX)) != 0;
	q->indirect = (features & VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC)) != 0;
	q->desc_gpa = desc_gpa;
	q->avail_gpa = avail_gpa;
	q->used_gpa = used_gpa;
	/* Map each area once, event-idx fields included: the provider guarantees contiguity of a mapped range. */
	q->desc = map_range(mem, desc_gpa, VIRTQ_DESC_BYTES(size), &err);
	q->avail = map_range(mem, avail_gpa, VIRTQ_AVAIL_BYTES(size), &err);
	q->used = map_range(mem, used_gpa, VIRTQ_USED_BYTES(size), &err);
	if (!q->desc || !q->avail || !q->used) {
		*q = (struct vq_dev){ 0 };
		return -VQ_E_RING_ADDR;
	}
	return 0;
}

int vq_dev_pop(struct vq_dev *q, struct vq_chain *c)
{
	uint16_t avail_idx, pending, head;

	if (q->broken)
		return q->broken;
	avail_idx = ld16(q->avail, AVAIL_IDX_OFF);
	pending = (uint16_t)(avail_idx - q->last_avail);
	if (pending == 0)
		return 0;
	/* More than size entries cannot be outstanding (spec 2.7.13.3): the ring content is garbage. */
	if (pending > q->size) {
		q->broken = -VQ_E_AVAIL_IDX;
		return q->broken;
	}
	/*
	 * Pairs with the driver's vq_wmb() between filling descriptors and
	 * avail.ring[] and storing avail.idx (vq_drv_add): what we read below is
	 * only meaningful once we saw the idx that published it.
	 */
	vq_rmb();
	head = ld16(q->avail, AVAIL_RING_OFF(q->last_avail & (q->size - 1)));
	if (head >= q->size) {
		q->broken = -VQ_E_HEAD_RANGE;
		return q->broken;
	}
	q->last_avail++;
	*c = (struct vq_chain){
		.q = q,
		.head = head,
		.next = head,
		.ttl = q->size,
		.table_n = q->size,
		.table = q->desc,
	};
	return 1;
}

void vq_dev_unpop(struct vq_dev *q)
{
	q->last_avail--;
}

static int chain_fail(struct vq_chain *c, int err)
{
	c->err = err;
	return err;
}

/* Switches the iterator into the indirect table d describes (spec 2.7.5.3.1 rules). */
static int chain_enter_indirect(struct vq_chain *c, const struct desc *d)
{
	const struct vq_dev *q = c->q;
	const volatile uint8_t *table;
	int err;

	if (!q->indirect)
		return -VQ_E_INDIRECT_FEAT;
	if (c->in_indirect)
		return -VQ_E_INDIRECT_NESTED;
	if (d->flags & VIRTQ_DESC_F_NEXT)
		return -VQ_E_INDIRECT_NEXT;
	/* Bounded like a direct chain: no more entries than the queue size, whole descriptors only. */
	if (d->len == 0 || d->len % sizeof(struct virtq_desc) != 0 ||
	    d->len / sizeof(struct virtq_desc) > q->size)
		return -VQ_E_INDIRECT_LEN;
	table = map_range(&q->mem, d->addr, d->len, &err);
	if (!table)
		return err;
	c->table = table;
	c->table_n = d->len / (uint32_t)sizeof(struct virtq_desc);
	c->next = 0; /* an indirect chain starts at entry 0 */
	/* A separate budget: the table cannot hold a longer chain without a loop. */
	c->ttl = c->table_n;
	c->in_indirect = true;
	return 0;
}

int vq_chain_next(struct vq_chain *c, struct vq_seg *seg)
{
	struct desc d;
	int err;

	for (;;) {
		if (c->err)
			return c->err;
		if (c->done)
			return 0;
		if (c->next >= c->table_n)
			return chain_fail(c, -VQ_E_NEXT_RANGE);
		if (c->ttl == 0)
			return chain_fail(c, -VQ_E_LOOP);
		c->ttl--;
		desc_load(c->table + (size_t)c->next * sizeof(struct virtq_desc), &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/* The WRITE flag of the indirect descriptor itself is ignored (spec 2.7.5.3.2). */
			err = chain_enter_indirect(c, &d);
			if (err)
				return chain_fail(c, err);
			continue;
		}
		if (d.flags & VIRTQ_DESC_F_WRITE)
			c->seen_write = true;
		else if (c->seen_write)
			return chain_fail(c, -VQ_E_ORDER); /* spec 2.7.4: readable parts precede writable */
		if (d.flags & VIRTQ_DESC_F_NEXT)
			c->next = d.next; /* range-checked when visited */
		else
			c->done = true;
		/* Zero-length buffers are not forbidden by the split-ring rules and carry nothing: skip. */
		if (d.len == 0)
			continue;
		c->total += d.len;
		if (c->total > UINT32_MAX)
			return chain_fail(c, -VQ_E_CHAIN_LEN); /* used.len is 32 bits (spec 2.7.13.1) */
		seg->ptr = map_range(&c->q->mem, d.addr, d.len, &err);
		if (!seg->ptr)
			return chain_fail(c, err);
		seg->gpa = d.addr;
		seg->len = d.len;
		seg->writable = (d.flags & VIRTQ_DESC_F_WRITE) != 0;
		if (seg->writable)
			c->write_len += d.len;
		return 1;
	}
}

int vq_chain_collect(struct vq_chain *c, struct vq_seg *segs, unsigned max)
{
	struct vq_seg extra;
	unsigned n = 0;
	int r;

	for (;;) {
		r = vq_chain_next(c, n < max ? &segs[n] : &extra);
		if (r <= 0)
			return r < 0 ? r : (int)n;
		if (n == max)
			return chain_fail(c, -VQ_E_TOO_MANY_SEGS);
		n++;
	}
}

int vq_dev_push_used(struct vq_dev *q, uint16_t id, uint32_t written)
{
	uint32_t off;

	if (id >= q->size)
		return -VQ_E_BAD_ID;
	off = USED_ELEM_OFF(q->used_idx & (q->size - 1));
	st32(q->used, off, id);
	st32(q->used, off + 4, written);
	/* Pairs with the driver's vq_rmb() after it reads used.idx (vq_drv_get_used): elem before index. */
	vq_wmb();
	q->used_idx++;
	st16(q->used, USED_IDX_OFF, q->used_idx);
	return 0;
}

bool vq_dev_should_notify(struct vq_dev *q)
{
	uint16_t old = q->signalled_used, cur = q->used_idx;

	/*
	 * Pairs with the driver's vq_mb() in vq_drv_enable_cb between writing
	 * used_event/flags and re-reading used.idx: either it sees our used.idx
	 * store above or we see its new used_event here, so no wake-up is lost.
	 */
	vq_mb();
	q->signalled_used = cur;
	if (cur == old)
		return false;
	if (q->event_idx)
		return vq_need_event(ld16(q->avail, AVAIL_RING_OFF(q->size)), cur, old);
	return !(ld16(q->avail, 0) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

void vq_dev_disable_notify(struct vq_dev *q)
{
	/* With EVENT_IDX avail_event stays where it was: avail.idx crosses it at most once more. */
	if (!q->event_idx)
		st16(q->used, 0, VIRTQ_USED_F_NO_NOTIFY);
}

bool vq_dev_enable_notify(struct vq_dev *q)
{
	if (q->broken)
		return false;
	if (q->event_idx)
		st16(q->used, USED_ELEM_OFF(q->size), q->last_avail); /* avail_event: kick me at the next one */
	else
		st16(q->used, 0, 0);
	/*
	 * Pairs with the driver's vq_mb() in vq_drv_kick_prepare between storing
	 * avail.idx and reading avail_event/flags: either it sees our request
	 * and kicks, or we see its new avail.idx here and keep working.
	 */
	vq_mb();
	return ld16(q->avail, AVAIL_IDX_OFF) != q->last_avail;
}
