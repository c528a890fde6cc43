/* virtq_drv.c: driver side of the split virtqueue (runs in the guest); distrusts what the device writes. */
#include "virtq.h"

/* Ring field offsets in bytes (spec 2.7.6, 2.7.8). */
#define AVAIL_IDX_OFF 2u
#define AVAIL_RING_OFF(i) (4u + 2u * (uint32_t)(i))
#define USED_IDX_OFF 2u
#define USED_ELEM_OFF(i) (4u + 8u * (uint32_t)(i))

/* used_event value that suppresses interrupts: half the index space away from last_used (see vq_drv_disable_cb). */
#define USED_EVENT_FAR 0x8000u

static uint16_t ld16(const volatile void *base, uint32_t off)
{
	return vq_le16(*(const volatile uint16_t *)((const volatile uint8_t *)base + off));
}

static uint32_t ld32(const volatile void *base, uint32_t off)
{
	return vq_le32(*(const volatile uint32_t *)((const volatile uint8_t *)base + off));
}

static void st16(volatile void *base, uint32_t off, uint16_t v)
{
	*(volatile uint16_t *)((volatile uint8_t *)base + off) = vq_le16(v);
}

static void zero(volatile void *p, uint64_t len)
{
	volatile uint8_t *b = p;

	for (uint64_t i = 0; i < len; i++)
		b[i] = 0;
}

int vq_drv_init(struct vq_drv *q, uint32_t size, void *desc, void *avail, void *used,
		struct vq_drv_slot *slots, uint64_t features)
{
	if (!q || !desc || !avail || !used || !slots)
		return -VQ_E_INVAL;
	if (size == 0 || size > VIRTQ_MAX_SIZE || (size & (size - 1)) != 0)
		return -VQ_E_SIZE;
	if ((uintptr_t)desc % VIRTQ_DESC_ALIGN || (uintptr_t)avail % VIRTQ_AVAIL_ALIGN ||
	    (uintptr_t)used % VIRTQ_USED_ALIGN)
		return -VQ_E_ALIGN;
	q->size = (uint16_t)size;
	q->free_head = 0;
	q->num_free = (uint16_t)size; /* 32768 fits */
	q->avail_idx = 0;
	q->kicked_idx = 0;
	q->last_used = 0;
	q->event_idx = (features & VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX)) != 0;
	q->cb_disabled = false;
	q->broken = 0;
	q->inflight = 0;
	q->desc = desc;
	q->avail = avail;
	q->used = used;
	q->slots = slots;
	/* The device starts from zeroed rings (spec 2.7: indices begin at 0; used_event 0 asks for the first). */
	zero(avail, VIRTQ_AVAIL_BYTES(size));
	zero(used, VIRTQ_USED_BYTES(size));
	for (uint32_t i = 0; i < size; i++) {
		slots[i].cookie = NULL;
		slots[i].write_len = 0;
		slots[i].next = (uint16_t)(i + 1); /* last one points nowhere; num_free stops us first */
		slots[i].ndesc = 0;
	}
	return 0;
}

/* Checks an sg list: readable before writable (spec 2.7.4), total under 2^32 (used.len is 32 bits). */
static int sg_check(const struct vq_sg *sg, unsigned n, uint32_t *write_len)
{
	uint64_t total = 0, wlen = 0;
	bool seen_write = false;

	for (unsigned i = 0; i < n; i++) {
		if (sg[i].writable)
			seen_write = true;
		else if (seen_write)
			return -VQ_E_INVAL;
		total += sg[i].len;
		if (sg[i].writable)
			wlen += sg[i].len;
	}
	if (total > UINT32_MAX)
		return -VQ_E_INVAL;
	*write_len = (uint32_t)wlen;
	return 0;
}

int vq_drv_add(struct vq_drv *q, const struct vq_sg *sg, unsigned n, void *cookie)
{
	uint16_t head, i;
	uint32_t write_len;
	int err;

	if (q->broken)
		return -VQ_E_BROKEN;
	if (n == 0 || !cookie || !sg)
		return -VQ_E_INVAL;
	if (n > q->num_free)
		return -VQ_E_NOSPC;
	err = sg_check(sg, n, &write_len);
	if (err)
		return err;
	head = i = q->free_head;
	for (unsigned k = 0; k < n; k++) {
		volatile struct virtq_desc *d = &q->desc[i];
		uint16_t flags = sg[k].writable ? VIRTQ_DESC_F_WRITE : 0;

		if (k + 1 < n)
			flags |= VIRTQ_DESC_F_NEXT;
		d->addr = vq_le64(sg[k].gpa);
		d->len = vq_le32(sg[k].len);
		d->flags = vq_le16(flags);
		d->next = vq_le16(q->slots[i].next);
		i = q->slots[i].next;
	}
	q->free_head = i;
	q->num_free = (uint16_t)(q->num_free - n);
	q->slots[head].cookie = cookie;
	q->slots[head].ndesc = (uint16_t)n;
	q->slots[head].write_len = write_len;
	q->inflight++;
	st16(q->avail, AVAIL_RING_OFF(q->avail_idx & (q->size - 1)), head);
	/* Pairs with the device's vq_rmb() in vq_dev_pop after it reads avail.idx: descriptors and entry first. */
	vq_wmb();
	q->avail_idx++;
	st16(q->avail, AVAIL_IDX_OFF, q->avail_idx);
	return 0;
}

bool vq_drv_kick_prepare(struct vq_drv *q)
{
	uint16_t old = q->kicked_idx, cur = q->avail_idx;

	/*
	 * Pairs with the device's vq_mb() in vq_dev_enable_notify between storing
	 * avail_event/flags and re-reading avail.idx: either it sees our avail.idx
	 * or we see its request for a kick.
	 */
	vq_mb();
	q->kicked_idx = cur;
	if (cur == old || q->broken)
		return false;
	if (q->event_idx)
		return vq_need_event(ld16(q->used, USED_ELEM_OFF(q->size)), cur, old);
	return !(ld16(q->used, 0) & VIRTQ_USED_F_NO_NOTIFY);
}

static int drv_break(struct vq_drv *q, int err)
{
	q->broken = err;
	return err;
}

int vq_drv_get_used(struct vq_drv *q, void **cookie, uint32_t *len)
{
	uint16_t used_idx, id, last;
	uint32_t raw_id, ulen;
	struct vq_drv_slot *s;

	if (q->broken)
		return -VQ_E_BROKEN;
	used_idx = ld16(q->used, USED_IDX_OFF);
	if (used_idx == q->last_used)
		return 0;
	/* The device cannot have completed more chains than we gave it. */
	if ((uint16_t)(used_idx - q->last_used) > q->inflight)
		return drv_break(q, -VQ_E_USED_IDX);
	/* Pairs with the device's vq_wmb() in vq_dev_push_used: read the elem only after the idx publishing it. */
	vq_rmb();
	raw_id = ld32(q->used, USED_ELEM_OFF(q->last_used & (q->size - 1)));
	ulen = ld32(q->used, USED_ELEM_OFF(q->last_used & (q->size - 1)) + 4);
	if (raw_id >= q->size || !q->slots[raw_id].cookie)
		return drv_break(q, -VQ_E_USED_ID);
	id = (uint16_t)raw_id;
	s = &q->slots[id];
	if (ulen > s->write_len)
		return drv_break(q, -VQ_E_USED_LEN);
	*cookie = s->cookie;
	*len = ulen;
	/* Return the chain to the free list by our own links, never the device-visible desc.next. */
	last = id;
	for (uint16_t k = 1; k < s->ndesc; k++)
		last = q->slots[last].next;
	q->slots[last].next = q->free_head;
	q->free_head = id;
	q->num_free = (uint16_t)(q->num_free + s->ndesc);
	s->cookie = NULL;
	s->ndesc = 0;
	q->inflight--;
	q->last_used++;
	if (q->event_idx && !q->cb_disabled) {
		st16(q->avail, AVAIL_RING_OFF(q->size), q->last_used); /* used_event: interrupt at the next */
		/*
		 * Pairs with the device's vq_mb() in vq_dev_should_notify: our
		 * used_event store is visible before our next used.idx read, so a
		 * caller that sees no more work and waits will be woken.
		 */
		vq_mb();
	}
	return 1;
}

void vq_drv_disable_cb(struct vq_drv *q)
{
	q->cb_disabled = true;
	if (!q->event_idx) {
		st16(q->avail, 0, VIRTQ_AVAIL_F_NO_INTERRUPT);
		return;
	}
	/*
	 * NO_INTERRUPT is ignored with EVENT_IDX, so move used_event out of the
	 * device's reach: the device fires when used.idx passes it, and with at
	 * most size (<= 0x8000) chains outstanding it cannot get 0x8000 ahead of
	 * last_used; a value behind last_used could still lie in the window the
	 * device checks next.
	 */
	st16(q->avail, AVAIL_RING_OFF(q->size), (uint16_t)(q->last_used + USED_EVENT_FAR));
}

bool vq_drv_enable_cb(struct vq_drv *q)
{
	q->cb_disabled = false;
	if (q->event_idx)
		st16(q->avail, AVAIL_RING_OFF(q->size), q->last_used);
	else
		st16(q->avail, 0, 0);
	/* Pairs with the device's vq_mb() in vq_dev_should_notify (see vq_drv_get_used). */
	vq_mb();
	return ld16(q->used, USED_IDX_OFF) != q->last_used;
}
