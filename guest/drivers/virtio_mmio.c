/* virtio_mmio.c: the guest's virtio-mmio v2 transport: FDT discovery, init sequence, polled queues. */
#include <asm-generic/errno.h>
#include <libfdt.h>
#include <string.h>

#include "k.h"
#include "ukvm_abi.h"
#include "vdev.h"
#include "virtio_mmio.h"

uint64_t vd_gpa(const void *p)
{
	uint64_t a = (uint64_t)(uintptr_t)p;
	return a >= UKVM_KERNEL_VBASE ? a - UKVM_KERNEL_VBASE : a;
}

uint32_t vd_mmio_read(const struct vd_mmio *d, uint32_t off)
{
	return vq_le32(*(volatile uint32_t *)(d->regs + off));
}

void vd_mmio_write(const struct vd_mmio *d, uint32_t off, uint32_t val)
{
	*(volatile uint32_t *)(d->regs + off) = vq_le32(val);
}

int vd_mmio_probe(struct vd_mmio *d, uint64_t gpa, unsigned index)
{
	d->regs = (volatile uint8_t *)(uintptr_t)gpa; /* identity-mapped by the monitor's page tables */
	d->gpa = gpa;
	d->index = index;
	d->features = 0;
	if (vd_mmio_read(d, VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC)
		return -ENODEV;
	if (vd_mmio_read(d, VIRTIO_MMIO_VERSION_REG) != VIRTIO_MMIO_VERSION)
		return -ENODEV; /* legacy (1) devices are not supported */
	d->device_id = vd_mmio_read(d, VIRTIO_MMIO_DEVICE_ID);
	return 0;
}

static void vd_status_set(struct vd_mmio *d, uint32_t bits)
{
	vd_mmio_write(d, VIRTIO_MMIO_STATUS, bits);
}

int vd_mmio_begin(struct vd_mmio *d, uint64_t want)
{
	uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	uint64_t offered;

	vd_status_set(d, 0); /* reset: spec 4.2.3.1, the device forgets any earlier driver */
	if (vd_mmio_read(d, VIRTIO_MMIO_STATUS) != 0)
		goto fail; /* reset not finished: a v2 device resets synchronously, so it is broken */
	vd_status_set(d, VIRTIO_STATUS_ACKNOWLEDGE);
	vd_status_set(d, st);
	vd_mmio_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	offered = (uint64_t)vd_mmio_read(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	vd_mmio_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	offered |= vd_mmio_read(d, VIRTIO_MMIO_DEVICE_FEATURES);
	if (!(offered & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
		k_printf("ukvm: virtio@%lx: no VERSION_1, not a modern device\n", (unsigned long)d->gpa);
		vd_status_set(d, st | VIRTIO_STATUS_FAILED);
		return -ENODEV;
	}
	d->features = offered & want;
	vd_mmio_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vd_mmio_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(d->features >> 32));
	vd_mmio_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vd_mmio_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)d->features);
	st |= VIRTIO_STATUS_FEATURES_OK;
	vd_status_set(d, st);
	/* Spec 3.1.1 step 6: the device clears FEATURES_OK when it refuses the subset. */
	if (!(vd_mmio_read(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK))
		goto fail;
	return 0;
fail:
	k_printf("ukvm: virtio@%lx: device refused initialisation\n", (unsigned long)d->gpa);
	vd_status_set(d, VIRTIO_STATUS_FAILED);
	return -EIO;
}

void vd_mmio_config(const struct vd_mmio *d, uint32_t off, uint32_t *words, unsigned n)
{
	uint32_t gen;
	unsigned tries = 0;

	/*
	 * Spec 4.2.2.2: re-read while the generation moves. One generation read
	 * on each side of the whole batch (every read is an exit); a device that
	 * never settles gets its last values.
	 */
	do {
		gen = vd_mmio_read(d, VIRTIO_MMIO_CONFIG_GENERATION);
		for (unsigned i = 0; i < n; i++)
			words[i] = vd_mmio_read(d, VIRTIO_MMIO_CONFIG + off + 4 * i);
	} while (vd_mmio_read(d, VIRTIO_MMIO_CONFIG_GENERATION) != gen && ++tries < 8);
}

static void vd_queue_addr(struct vd_mmio *d, uint32_t lo_reg, const void *p)
{
	uint64_t gpa = vd_gpa(p);
	vd_mmio_write(d, lo_reg, (uint32_t)gpa);
	vd_mmio_write(d, lo_reg + 4, (uint32_t)(gpa >> 32));
}

int vd_queue_setup(struct vd_mmio *d, struct vd_queue *q, uint16_t index, uint32_t max)
{
	vd_mmio_write(d, VIRTIO_MMIO_QUEUE_SEL, index);
	if (vd_mmio_read(d, VIRTIO_MMIO_QUEUE_READY) != 0)
		return -ENODEV; /* spec 4.2.3.2: the queue must not be in use */
	uint32_t size = vd_mmio_read(d, VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (size == 0)
		return -ENODEV;
	if (size > max)
		size = max;
	while (size & (size - 1))
		size &= size - 1; /* round down to a power of two: the split ring wants one */

	q->dev = d;
	q->index = index;
	q->ring_pages = (size_t)((VIRTQ_LAYOUT_BYTES(size) + 4095) / 4096);
	q->ring = k_pages_alloc(q->ring_pages);
	q->slots = k_calloc(size, sizeof(*q->slots));
	int rc = -ENOMEM;
	if (!q->ring || !q->slots)
		goto err;
	uint8_t *base = q->ring;
	void *desc = base, *avail = base + VIRTQ_LAYOUT_AVAIL_OFF(size), *used = base + VIRTQ_LAYOUT_USED_OFF(size);
	rc = vq_drv_init(&q->vq, size, desc, avail, used, q->slots, d->features);
	if (rc) {
		k_printf("ukvm: virtio@%lx: queue %u: %s\n", (unsigned long)d->gpa, index, vq_err_str(rc));
		rc = -EINVAL;
		goto err;
	}
	vd_mmio_write(d, VIRTIO_MMIO_QUEUE_NUM, size);
	vd_queue_addr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, desc);
	vd_queue_addr(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, avail);
	vd_queue_addr(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, used);
	/*
	 * used_event stays at last_used (vq_drv_init zeroes it, vq_drv_get_used
	 * advances it and we never disable callbacks): the device signals news for
	 * every batch it completes, which is what wakes our WAIT.
	 */
	vd_mmio_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	return 0;
err:
	if (q->ring)
		k_pages_free(q->ring, q->ring_pages);
	k_free(q->slots);
	q->ring = NULL;
	q->slots = NULL;
	return rc;
}

void vd_mmio_driver_ok(struct vd_mmio *d)
{
	vd_status_set(d, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			       VIRTIO_STATUS_DRIVER_OK);
}

void vd_mmio_kill(struct vd_mmio *d)
{
	vd_status_set(d, 0); /* reset: the device drops our rings, so nothing it does later lands in memory we reuse */
	/*
	 * Then FAILED (spec 3.1.1: the driver gave up), which stays visible. Not
	 * before the reset: a status write may only add bits, and the reset
	 * would erase it anyway.
	 */
	vd_status_set(d, VIRTIO_STATUS_FAILED);
}

void vd_queue_kick(struct vd_queue *q)
{
	/* vq_drv_kick_prepare has the barrier that orders our avail.idx store before reading the device's avail_event. */
	if (vq_drv_kick_prepare(&q->vq))
		vd_mmio_write(q->dev, VIRTIO_MMIO_QUEUE_NOTIFY, q->index); /* ioeventfd: no exit to the monitor */
}

bool vd_queue_rearm(struct vd_queue *q)
{
	/* Re-arms used_event at last_used (no-op here, see vd_queue_setup) and re-reads used.idx after a full barrier. */
	return vq_drv_enable_cb(&q->vq);
}

bool vd_queue_spin(struct vd_queue *q, uint64_t spin_ns)
{
	uint64_t now = k_clock_monotonic_ns(), end = now + spin_ns;

	for (;;) {
		if (vd_queue_rearm(q))
			return true;
		if (now >= end)
			return false;
		__asm__ volatile("pause");
		now = k_clock_monotonic_ns();
	}
}

uint32_t vd_mmio_status(const struct vd_mmio *d)
{
	return vd_mmio_read(d, VIRTIO_MMIO_STATUS);
}

static uint64_t vd_be64(const uint8_t *b)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	return v;
}

/* reg = <addr 0x1000> (2 address cells, 2 size cells), inside the window the monitor maps. 0 or -EINVAL. */
static int vd_probe_reg(const void *fdt, int node, uint64_t *gpa)
{
	int len;
	const uint8_t *reg = fdt_getprop(fdt, node, "reg", &len);
	if (!reg || len < 16)
		return -EINVAL;
	uint64_t a = vd_be64(reg), size = vd_be64(reg + 8);
	if (a < UKVM_MMIO_BASE || a >= UKVM_MMIO_BASE + UKVM_MMIO_MAX_DEVS * UKVM_MMIO_STRIDE ||
	    (a - UKVM_MMIO_BASE) % UKVM_MMIO_STRIDE || size < VIRTIO_MMIO_REGION_SIZE)
		return -EINVAL;
	*gpa = a;
	return 0;
}

void vd_probe_all(const void *fdt)
{
	unsigned index = 0;
	int node;

	fdt_for_each_subnode(node, fdt, 0) {
		const char *name = fdt_get_name(fdt, node, NULL);
		if (!name || strncmp(name, "virtio_mmio@", 12) != 0)
			continue;
		if (fdt_node_check_compatible(fdt, node, UKVM_FDT_VIRTIO_MMIO) != 0)
			continue;
		unsigned i = index++;
		uint64_t gpa;
		if (vd_probe_reg(fdt, node, &gpa)) {
			k_printf("ukvm: /%s: reg outside the virtio-mmio window, skipped\n", name);
			continue;
		}
		/* Static: a registered driver keeps pointing at it for the VM's lifetime. */
		static struct vd_mmio devs[UKVM_MMIO_MAX_DEVS];
		struct vd_mmio *d = &devs[(gpa - UKVM_MMIO_BASE) / UKVM_MMIO_STRIDE];
		if (vd_mmio_probe(d, gpa, i)) {
			k_printf("ukvm: /%s: no virtio-mmio v2 device there, skipped\n", name);
			continue;
		}
		switch (d->device_id) {
		case 0:
			break; /* an empty slot (spec 4.2.2) */
		case VIRTIO_ID_NET:
			vd_net_probe(d, fdt, node); /* prints its own failure */
			break;
		case VIRTIO_ID_BLOCK:
			vd_blk_probe(d); /* prints its own failure */
			break;
		default:
			k_printf("ukvm: /%s: virtio device id %u has no driver, skipped\n", name, d->device_id);
			break;
		}
	}
}
