/* tg_dio.c: test guest (C part of testguest-dio): drives virtio-blk device 0 itself with misaligned buffers, so a ,direct disk bounces them all. */
#include <stdint.h>

#include "ukvm_abi.h"
#include "virtio.h"
#include "virtio_blk.h"
#include "virtio_mmio.h"

/*
 * Exit status: 0 when every request completed with VIRTIO_BLK_S_OK, 10 +
 * round when a status was not OK, 20 + round when a round did not complete
 * within ~5 s, 30 when the device refused setup. The rounds are what a
 * monitor's allocator sees: one 1 MiB bounce (mmap'd, and its free raises
 * glibc's mmap threshold), then bounces the event thread's own malloc
 * arena must grow for, then more bounce bytes at once than a disk may hold.
 */
#define QN 64
#define DATA_GPA (16ull << 20) /* guest RAM the device writes into; never touched here */

static struct {
	struct virtq_desc desc[QN];
	uint16_t avail[2 + QN + 1];
	uint8_t pad[4096 - 16 * QN % 4096 - 2 * (QN + 3)];
	uint32_t used[1 + 2 * QN + 1];
} __attribute__((aligned(4096))) R;
static struct virtio_blk_req_hdr hdr[QN] __attribute__((aligned(16)));
static volatile uint8_t st[QN];
static struct ukvm_wait waitb __attribute__((aligned(8)));
static uint16_t avail_idx;

static uint64_t gpa(const volatile void *p)
{
	return (uint64_t)(uintptr_t)p - UKVM_KERNEL_VBASE;
}

static void wr(unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)(UKVM_MMIO_BASE + off) = v;
}

static uint32_t rd(unsigned off)
{
	return *(volatile uint32_t *)(uintptr_t)(UKVM_MMIO_BASE + off);
}

static void out(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static void wr64(unsigned lo, uint64_t v)
{
	wr(lo, (uint32_t)v);
	wr(lo + 4, (uint32_t)(v >> 32));
}

static int setup(void)
{
	wr(VIRTIO_MMIO_STATUS, 0);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VIRTIO_F_VERSION_1 only */
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(VIRTIO_MMIO_QUEUE_NUM, QN);
	wr64(VIRTIO_MMIO_QUEUE_DESC_LOW, gpa(R.desc));
	wr64(VIRTIO_MMIO_QUEUE_DRIVER_LOW, gpa(R.avail));
	wr64(VIRTIO_MMIO_QUEUE_DEVICE_LOW, gpa(R.used));
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
				       VIRTIO_STATUS_DRIVER_OK);
	avail_idx = 0;
	return rd(VIRTIO_MMIO_STATUS) == 0xf ? 0 : -1;
}

/* n reads of len bytes each (n <= QN / 3) into buffers that start one byte past a page. */
static int round_run(unsigned n, uint32_t len)
{
	volatile uint16_t *av = R.avail;
	volatile uint32_t *used = R.used;
	uint16_t want = (uint16_t)(avail_idx + n);
	for (unsigned i = 0; i < n; i++) {
		unsigned d = 3 * i;
		hdr[i] = (struct virtio_blk_req_hdr){ .type = VIRTIO_BLK_T_IN, .sector = 0 };
		st[i] = 0xee;
		R.desc[d] = (struct virtq_desc){ gpa(&hdr[i]), 16, VIRTQ_DESC_F_NEXT, (uint16_t)(d + 1) };
		R.desc[d + 1] = (struct virtq_desc){ DATA_GPA + i * (len + 4096ull) + 1, len,
						     VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, (uint16_t)(d + 2) };
		R.desc[d + 2] = (struct virtq_desc){ gpa(&st[i]), 1, VIRTQ_DESC_F_WRITE, 0 };
		av[2 + (uint16_t)(avail_idx + i) % QN] = (uint16_t)d;
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* entries before idx: pairs with the device's rmb after reading idx */
	av[1] = avail_idx = want;
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	for (unsigned t = 0; t < 5000 && (uint16_t)(used[0] >> 16) != want; t++) {
		waitb = (struct ukvm_wait){ .timeout_ns = 1000000 };
		out(UKVM_PORT_WAIT, (uint32_t)gpa(&waitb));
	}
	if ((uint16_t)(used[0] >> 16) != want)
		return 2;
	for (unsigned i = 0; i < n; i++)
		if (st[i] != VIRTIO_BLK_S_OK)
			return 1;
	return 0;
}

int tg_main(void)
{
	static const struct {
		unsigned n;
		uint32_t len;
	} rounds[] = { { 1, 1u << 20 }, { 8, 512u << 10 }, { 16, 1u << 20 }, { 4, 4096 } };
	if (setup())
		return 30;
	for (unsigned r = 0; r < sizeof(rounds) / sizeof(rounds[0]); r++) {
		int e = round_run(rounds[r].n, rounds[r].len);
		if (e)
			return (e == 1 ? 10 : 20) + (int)r;
	}
	return 0;
}
