/* blkhostile.c: a hostile guest app that scribbles virtio-mmio registers and ring memory from CPL3 to test the monitor. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ukvm_abi.h"
#include "virtio.h"
#include "virtio_blk.h"
#include "virtio_mmio.h"
#include "say.h"

/*
 * The kernel and the app share one address space and every page-table entry
 * has the user bit, so an app can reach what only the kernel's driver should:
 * the MMIO register blocks (identity-mapped at UKVM_MMIO_BASE) and the rings
 * in RAM (identity-mapped: guest virtual == guest physical). The monitor must
 * survive all of it: the guest gets errors or is stopped with a clear
 * message, the monitor never crashes, hangs or trips a sanitizer.
 *
 * Usage: blkhostile MODE...  (in order)
 *   regs    garbage values into device 0's registers and config space
 *   ring    read the kernel driver's queue addresses back and scribble its live rings
 *   own     reset device 0, run our own queue in app memory, submit hostile chains
 *   beyond  accesses past the register block and to absent device slots (may end the VM)
 *   io      normal I/O on /dev/vda; prints the results
 *   huge    reset device 0 and fill a 256-entry queue of our own with reads as
 *           large as the device advertises (seg_max segments of size_max
 *           bytes, all over one buffer): hundreds of GiB to move in flight
 *   reset   reset device 0 (after huge: with all of that still in flight)
 *   hang    sleep forever (the monitor's --timeout or a signal must end us)
 *   flood   write to stdout (the console hypercall) forever, 4 KiB at a time
 *   uflood  write to the 16550's transmit register forever (rep outsb, 4 KiB at a time)
 * Lines go straight to fd 1 so a test sees how far we got.
 */


static uint64_t rng = 0x1234567887654321ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

#define DEV0 ((uintptr_t)UKVM_MMIO_BASE)

static uint32_t rd(uintptr_t dev, unsigned off)
{
	return *(volatile uint32_t *)(dev + off);
}

static void wr(uintptr_t dev, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(dev + off) = v;
}

/* Lets the device thread run: a short sleep is a WAIT hypercall with a deadline. */
static void pause_ms(long ms)
{
	struct timespec t = {0, ms * 1000000L};
	nanosleep(&t, NULL);
}

/* ---- regs ----------------------------------------------------------------- */

static void mode_regs(void)
{
	say("regs: magic %#x version %u device %u\n", rd(DEV0, VIRTIO_MMIO_MAGIC_VALUE),
	    rd(DEV0, VIRTIO_MMIO_VERSION_REG), rd(DEV0, VIRTIO_MMIO_DEVICE_ID));
	static const unsigned named[] = {
		VIRTIO_MMIO_DEVICE_FEATURES_SEL, VIRTIO_MMIO_DRIVER_FEATURES, VIRTIO_MMIO_DRIVER_FEATURES_SEL,
		VIRTIO_MMIO_QUEUE_SEL, VIRTIO_MMIO_QUEUE_NUM, VIRTIO_MMIO_QUEUE_READY, VIRTIO_MMIO_QUEUE_NOTIFY,
		VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_STATUS, VIRTIO_MMIO_QUEUE_DESC_LOW,
		VIRTIO_MMIO_QUEUE_DESC_HIGH, VIRTIO_MMIO_QUEUE_DRIVER_LOW, VIRTIO_MMIO_QUEUE_DRIVER_HIGH,
		VIRTIO_MMIO_QUEUE_DEVICE_LOW, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, VIRTIO_MMIO_SHM_SEL,
		VIRTIO_MMIO_QUEUE_RESET, VIRTIO_MMIO_MAGIC_VALUE, VIRTIO_MMIO_CONFIG_GENERATION,
	};
	/* The classic bad sequences first, then random noise. */
	wr(DEV0, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(DEV0, VIRTIO_MMIO_QUEUE_NUM, 3); /* not a power of two */
	wr(DEV0, VIRTIO_MMIO_QUEUE_DESC_LOW, 0xdeadbee0);
	wr(DEV0, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0xffffffff);
	wr(DEV0, VIRTIO_MMIO_QUEUE_DRIVER_LOW, 0x1);
	wr(DEV0, VIRTIO_MMIO_QUEUE_DEVICE_LOW, 0x3);
	wr(DEV0, VIRTIO_MMIO_QUEUE_READY, 1);
	wr(DEV0, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	wr(DEV0, VIRTIO_MMIO_QUEUE_SEL, 0xffffffff);
	wr(DEV0, VIRTIO_MMIO_QUEUE_NUM, 0xffffffff);
	wr(DEV0, VIRTIO_MMIO_QUEUE_READY, 1);
	wr(DEV0, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0xffffffff);
	wr(DEV0, VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffff);
	wr(DEV0, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(DEV0, VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffff); /* bits never offered */
	wr(DEV0, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	wr(DEV0, VIRTIO_MMIO_STATUS, 0xff);
	wr(DEV0, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0x7fffffff);
	(void)rd(DEV0, VIRTIO_MMIO_DEVICE_FEATURES);
	for (unsigned off = VIRTIO_MMIO_CONFIG; off < VIRTIO_MMIO_REGION_SIZE; off += 4)
		wr(DEV0, off, (uint32_t)rnd()); /* config writes, most past the 72-byte blk config */
	/* Narrow and wide accesses to 32-bit registers. */
	*(volatile uint8_t *)(DEV0 + VIRTIO_MMIO_STATUS) = 0x8f;
	*(volatile uint16_t *)(DEV0 + VIRTIO_MMIO_QUEUE_NUM + 1) = 0xffff;
	*(volatile uint64_t *)(DEV0 + VIRTIO_MMIO_QUEUE_DESC_LOW) = 0xfffffffffffffff0ull;
	(void)*(volatile uint8_t *)(DEV0 + VIRTIO_MMIO_MAGIC_VALUE + 1);
	(void)*(volatile uint64_t *)(DEV0 + VIRTIO_MMIO_CONFIG);
	for (int i = 0; i < 3000; i++) {
		unsigned off = (i & 1) ? named[rnd() % (sizeof(named) / sizeof(named[0]))]
				       : (unsigned)(rnd() % VIRTIO_MMIO_REGION_SIZE) & ~3u;
		uint32_t v = (uint32_t)rnd();
		if (i % 5 == 0)
			v &= 0xff; /* small values hit more state-machine paths */
		wr(DEV0, off, v);
		if (i % 7 == 0)
			(void)rd(DEV0, (unsigned)(rnd() % VIRTIO_MMIO_REGION_SIZE) & ~3u);
	}
	/* A notify flood with garbage queue numbers: ioeventfd writes, no exits. */
	for (int i = 0; i < 20000; i++)
		wr(DEV0, VIRTIO_MMIO_QUEUE_NOTIFY, (uint32_t)(i & 3 ? 0 : rnd()));
	say("regs: done, status now %#x\n", rd(DEV0, VIRTIO_MMIO_STATUS));
}

/* ---- ring ----------------------------------------------------------------- */

static uint64_t rd64(uintptr_t dev, unsigned lo)
{
	return (uint64_t)rd(dev, lo) | (uint64_t)rd(dev, lo + 4) << 32;
}

/* True when [gpa, gpa+len) is plausible RAM to scribble on (below the MMIO window, not page 0). */
static int in_ram(uint64_t gpa, uint64_t len)
{
	return gpa >= 0x100000 && len < UKVM_MMIO_BASE && gpa + len <= UKVM_MMIO_BASE && gpa + len > gpa;
}

/* Big-endian 32-bit load from the FDT. */
static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * The boot FDT (still there: reserved): it ends at UKVM_RESTORE_GPA (the
 * restore block sits above it), its start 16-byte aligned
 * (proto/ukvm_abi.h, the boot block). NULL if not found.
 */
static const uint8_t *boot_fdt(void)
{
	for (uint64_t a = UKVM_RESTORE_GPA - 16; a >= UKVM_FDT_END - UKVM_FDT_MAX; a -= 16) {
		const uint8_t *f = (const uint8_t *)(uintptr_t)a;
		if (be32(f) == 0xd00dfeedu && be32(f + 4) <= UKVM_RESTORE_GPA - a && be32(f + 4) > UKVM_RESTORE_GPA - a - 16)
			return f;
	}
	return NULL;
}

/* Guest RAM size from /memory@0 reg in the boot FDT; 64 MiB if unreadable. */
static uint64_t ram_size(void)
{
	const uint8_t *f = boot_fdt();
	if (!f)
		return 64ull << 20;
	const uint8_t *st = f + be32(f + 8), *strs = f + be32(f + 12), *end = f + be32(f + 4);
	int in_memory = 0;
	for (const uint8_t *p = st; p + 4 <= end;) {
		uint32_t tok = be32(p);
		p += 4;
		if (tok == 1) { /* BEGIN_NODE: NUL-terminated name, padded to 4 */
			in_memory = !strncmp((const char *)p, "memory", 6);
			p += (strlen((const char *)p) + 4) & ~3ul;
		} else if (tok == 3) { /* PROP: len, nameoff, value padded to 4 */
			uint32_t len = be32(p), name = be32(p + 4);
			const uint8_t *v = p + 8;
			if (in_memory && len == 16 && !strcmp((const char *)strs + name, "reg"))
				return (uint64_t)be32(v + 8) << 32 | be32(v + 12);
			p = v + ((len + 3) & ~3u);
		} else if (tok == 2 || tok == 4) {
			in_memory = 0;
		} else {
			break;
		}
	}
	return 64ull << 20;
}

/*
 * True when a page holds a split ring of size n the way the kernel's driver
 * lays it out (desc, avail, used in one allocation, VIRTQ_LAYOUT_*), with at
 * least one request published and all of them used, the last one a
 * virtio-blk chain: 16-byte readable header ... 1-byte writable status.
 */
static int looks_like_ring(const uint8_t *base, uint32_t n)
{
	const struct virtq_desc *d = (const struct virtq_desc *)base;
	const uint16_t *av = (const uint16_t *)(base + VIRTQ_LAYOUT_AVAIL_OFF(n));
	const uint16_t *us = (const uint16_t *)(base + VIRTQ_LAYOUT_USED_OFF(n));
	if (av[0] > 1 || av[1] == 0 || us[1] != av[1])
		return 0;
	uint16_t h = av[2 + (uint16_t)(av[1] - 1) % n];
	if (h >= n || d[h].len != 16 || d[h].flags != VIRTQ_DESC_F_NEXT)
		return 0;
	for (uint32_t k = 0; k < n; k++) {
		if (d[h].next >= n)
			return 0;
		h = d[h].next;
		if (!(d[h].flags & VIRTQ_DESC_F_NEXT))
			return d[h].len == 1 && d[h].flags == VIRTQ_DESC_F_WRITE;
	}
	return 0;
}

static sigjmp_buf scan_jb;
static volatile uint64_t scan_fault;

static void scan_segv(int sig, siginfo_t *si, void *u)
{
	(void)sig, (void)u;
	scan_fault = (uint64_t)(uintptr_t)si->si_addr;
	siglongjmp(scan_jb, 1);
}

/*
 * Finds the kernel's ring for /dev/vda by scanning RAM; returns its base and size in *n, or 0. Pages
 * that are not present (the main stack's guard gap: one 2 MiB page) fault: the scan skips their 2 MiB.
 */
static uint64_t find_ring(uint32_t num_max, uint32_t *n)
{
	static char b[4096];
	int fd = open("/dev/vda", O_RDONLY);
	if (fd >= 0) { /* make sure at least one request went through the ring */
		if (pread(fd, b, sizeof(b), 0) < 0)
			say("ring: pread before scan: %s\n", strerror(errno));
		close(fd);
	}
	uint64_t ram = ram_size(), found = 0;
	static volatile uint64_t pg;
	struct sigaction sa = { .sa_sigaction = scan_segv, .sa_flags = SA_SIGINFO }, old;
	sigaction(SIGSEGV, &sa, &old);
	pg = 0x100000;
	if (sigsetjmp(scan_jb, 1))
		pg = (scan_fault | ((2u << 20) - 1)) + 1;
	for (; !found && pg + 4096 <= ram; pg += 4096)
		for (uint32_t q = num_max; q >= 2; q /= 2)
			if (pg + VIRTQ_LAYOUT_BYTES(q) <= ram && looks_like_ring((const uint8_t *)(uintptr_t)pg, q)) {
				*n = q;
				found = pg;
				break;
			}
	sigaction(SIGSEGV, &old, NULL);
	return found;
}

static void mode_ring(void)
{
	wr(DEV0, VIRTIO_MMIO_QUEUE_SEL, 0);
	uint32_t num = rd(DEV0, VIRTIO_MMIO_QUEUE_NUM_MAX);
	uint64_t desc = rd64(DEV0, VIRTIO_MMIO_QUEUE_DESC_LOW);
	uint64_t avail = rd64(DEV0, VIRTIO_MMIO_QUEUE_DRIVER_LOW);
	uint64_t used = rd64(DEV0, VIRTIO_MMIO_QUEUE_DEVICE_LOW);
	uint32_t ready = rd(DEV0, VIRTIO_MMIO_QUEUE_READY);
	say("ring: ready %u num_max %u desc %#llx avail %#llx used %#llx\n", ready, num,
	    (unsigned long long)desc, (unsigned long long)avail, (unsigned long long)used);
	/*
	 * The address registers are write-only in the spec, so they may read 0:
	 * then find the ring in RAM by its shape. The queue size in use is
	 * write-only too; num_max bounds it.
	 */
	if (!in_ram(desc, 16) && num && num <= VIRTQ_MAX_SIZE && !(num & (num - 1))) {
		uint32_t n = 0;
		uint64_t base = find_ring(num, &n);
		if (base) {
			num = n;
			desc = base;
			avail = base + VIRTQ_LAYOUT_AVAIL_OFF(n);
			used = base + VIRTQ_LAYOUT_USED_OFF(n);
			say("ring: found by scan: size %u at %#llx\n", n, (unsigned long long)base);
		}
	}
	if (!num || num > VIRTQ_MAX_SIZE || !in_ram(desc, 16ull * num) || !in_ram(avail, 6 + 2ull * num)) {
		say("ring: queue addresses not found; nothing scribbled\n");
		return;
	}
	struct virtq_desc *d = (struct virtq_desc *)(uintptr_t)desc;
	volatile uint16_t *av = (volatile uint16_t *)(uintptr_t)avail;
	/* Round 1: garbage descriptors, all of them, then publish heads that name them. */
	for (uint32_t i = 0; i < num; i++) {
		switch (i % 6) {
		case 0: d[i].addr = rnd(); d[i].len = (uint32_t)rnd(); d[i].flags = (uint16_t)rnd(); d[i].next = (uint16_t)rnd(); break;
		case 1: d[i].addr = 0xfffffffffffff000ull; d[i].len = 0x2000; d[i].flags = VIRTQ_DESC_F_NEXT; d[i].next = (uint16_t)(i + 1); break;
		case 2: d[i].addr = desc; d[i].len = 16u * num; d[i].flags = VIRTQ_DESC_F_INDIRECT; d[i].next = 0; break;
		case 3: d[i].addr = 0x200000; d[i].len = 0; d[i].flags = VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE; d[i].next = (uint16_t)(i - 3); break;
		case 4: d[i].addr = UKVM_MMIO_BASE; d[i].len = 4096; d[i].flags = VIRTQ_DESC_F_WRITE; d[i].next = 0; break;
		default: d[i].addr = 0x200000; d[i].len = 0xffffffffu; d[i].flags = VIRTQ_DESC_F_NEXT; d[i].next = (uint16_t)i; break;
		}
	}
	uint16_t idx = av[1];
	for (uint32_t k = 0; k < num; k++)
		av[2 + (uint16_t)(idx + k) % num] = (uint16_t)(k % 7 == 6 ? rnd() : k);
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* ring entries before idx, as the device reads them */
	av[1] = (uint16_t)(idx + num);
	wr(DEV0, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	pause_ms(20);
	say("ring: round 1 status %#x\n", rd(DEV0, VIRTIO_MMIO_STATUS));
	/* Round 2: avail idx far ahead of anything published, and noise in the used ring. */
	av[1] = (uint16_t)(idx + 3 * num + 7);
	if (in_ram(used, 6 + 8ull * num))
		memset((void *)(uintptr_t)used, 0xff, 4 + 8ull * num);
	wr(DEV0, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	pause_ms(20);
	say("ring: round 2 status %#x\n", rd(DEV0, VIRTIO_MMIO_STATUS));
}

/* ---- own ------------------------------------------------------------------ */

#define OWN_N 16
struct own_rings {
	struct virtq_desc desc[OWN_N];
	uint16_t avail[2 + OWN_N + 1];
	uint8_t pad[4096 - 16 * OWN_N - 2 * (OWN_N + 3)];
	uint32_t used[1 + 2 * OWN_N + 1];
} __attribute__((aligned(4096)));
static struct own_rings R;
static struct virtio_blk_req_hdr hdr[4] __attribute__((aligned(16)));
static uint8_t data[8192] __attribute__((aligned(4096)));
static uint8_t status_b[4];
static struct virtq_desc ind[8] __attribute__((aligned(16)));
static uint16_t own_idx;

/* Resets device 0 and negotiates like a real driver, accepting everything offered (INDIRECT too). */
static void dev0_features(void)
{
	wr(DEV0, VIRTIO_MMIO_STATUS, 0);
	wr(DEV0, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(DEV0, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	for (uint32_t sel = 0; sel < 2; sel++) {
		wr(DEV0, VIRTIO_MMIO_DEVICE_FEATURES_SEL, sel);
		uint32_t f = rd(DEV0, VIRTIO_MMIO_DEVICE_FEATURES);
		wr(DEV0, VIRTIO_MMIO_DRIVER_FEATURES_SEL, sel);
		wr(DEV0, VIRTIO_MMIO_DRIVER_FEATURES, f);
	}
	wr(DEV0, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
}

static void wr64(uintptr_t dev, unsigned lo, uint64_t v)
{
	wr(dev, lo, (uint32_t)v);
	wr(dev, lo + 4, (uint32_t)(v >> 32));
}

/* After dev0_features: queue 0 of num entries at desc/avail/used (guest physical), then DRIVER_OK. Returns status. */
static uint32_t dev0_queue(uint32_t num, uint64_t desc, uint64_t avail, uint64_t used)
{
	wr(DEV0, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(DEV0, VIRTIO_MMIO_QUEUE_NUM, num);
	wr64(DEV0, VIRTIO_MMIO_QUEUE_DESC_LOW, desc);
	wr64(DEV0, VIRTIO_MMIO_QUEUE_DRIVER_LOW, avail);
	wr64(DEV0, VIRTIO_MMIO_QUEUE_DEVICE_LOW, used);
	wr(DEV0, VIRTIO_MMIO_QUEUE_READY, 1);
	wr(DEV0, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					     VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	return rd(DEV0, VIRTIO_MMIO_STATUS);
}

/* Resets device 0 and drives it like a real driver, with rings in our memory. Returns status. */
static uint32_t own_setup(uint32_t qnum)
{
	dev0_features();
	memset(&R, 0, sizeof(R));
	own_idx = 0;
	return dev0_queue(qnum, (uintptr_t)R.desc, (uintptr_t)R.avail, (uintptr_t)R.used);
}

static void D(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	R.desc[i] = (struct virtq_desc){.addr = addr, .len = len, .flags = flags, .next = next};
}

/* Publishes head (or a garbage head), notifies, waits, and reports what the device did. */
static void own_submit(const char *name, uint16_t head, uint16_t idx_jump)
{
	volatile uint16_t *av = R.avail;
	volatile uint32_t *used = R.used;
	uint16_t used_before = (uint16_t)(used[0] >> 16); /* used.idx is the upper half */
	status_b[0] = 0xee;
	av[2 + own_idx % OWN_N] = head;
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* entry before idx (pairs with the device's read of idx) */
	own_idx = (uint16_t)(own_idx + 1 + idx_jump);
	av[1] = own_idx;
	wr(DEV0, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	pause_ms(10);
	uint32_t st = rd(DEV0, VIRTIO_MMIO_STATUS);
	uint16_t used_idx = (uint16_t)(used[0] >> 16);
	say("own: %-18s status %#04x used_idx %u->%u blk_status %#x\n", name, st, used_before, used_idx, status_b[0]);
	/* A device that gave up on this queue wants a reset: give it one, like a driver would. */
	if (st & (VIRTIO_STATUS_DEVICE_NEEDS_RESET | VIRTIO_STATUS_FAILED) || !(st & VIRTIO_STATUS_DRIVER_OK))
		own_setup(OWN_N);
}

static void own_req(unsigned i, uint32_t type, uint64_t sector)
{
	hdr[i] = (struct virtio_blk_req_hdr){.type = type, .reserved = 0, .sector = sector};
}

static void mode_own(void)
{
	uintptr_t H = (uintptr_t)&hdr[0], B = (uintptr_t)data, S = (uintptr_t)status_b, I = (uintptr_t)ind;
	const uint16_t N = VIRTQ_DESC_F_NEXT, W = VIRTQ_DESC_F_WRITE, IND = VIRTQ_DESC_F_INDIRECT;
	uint32_t st = own_setup(OWN_N);
	say("own: setup status %#x\n", st);
	uint32_t cap_lo = rd(DEV0, VIRTIO_MMIO_CONFIG), cap_hi = rd(DEV0, VIRTIO_MMIO_CONFIG + 4);
	uint64_t cap = (uint64_t)cap_hi << 32 | cap_lo;

	own_req(0, VIRTIO_BLK_T_IN, 0); /* sanity: a well-formed read works on our own queue */
	D(0, H, 16, N, 1); D(1, B, 4096, N | W, 2); D(2, S, 1, W, 0);
	own_submit("valid-read", 0, 0);
	own_submit("head-out-of-range", 0xffff, 0);
	D(0, H, 16, N, 1); D(1, B, 4096, N | W, 200); own_submit("next-out-of-range", 0, 0);
	D(0, H, 16, N, 1); D(1, B, 512, N | W, 0); own_submit("loop", 0, 0);
	D(0, H, 16, N, 1); D(1, 0xffffffff00000000ull, 4096, N | W, 2); D(2, S, 1, W, 0);
	own_submit("buf-outside-ram", 0, 0);
	D(1, 0xfffffffffffff000ull, 0x2000, N | W, 2); own_submit("buf-wraps", 0, 0);
	D(1, UKVM_MMIO_BASE, 4096, N | W, 2); own_submit("buf-in-mmio", 0, 0);
	D(1, B, 0xffffffffu, N | W, 2); own_submit("huge-len", 0, 0);
	D(0, H, 16, N | W, 1); D(1, B, 512, N, 2); D(2, S, 1, W, 0); own_submit("write-before-read", 0, 0);
	D(0, H, 0, N, 1); D(1, B, 0, N | W, 2); D(2, S, 0, W, 0); own_submit("zero-lengths", 0, 0);
	D(0, H, 8, N, 1); D(1, B, 512, N | W, 2); D(2, S, 1, W, 0); own_submit("short-header", 0, 0);
	D(0, H, 16, N, 1); D(1, B, 512, N | W, 2); D(2, S, 1, 0, 0); own_submit("status-readonly", 0, 0);
	D(0, H, 16, 0, 0); own_submit("header-only", 0, 0);
	own_req(0, VIRTIO_BLK_T_IN, ~0ull);
	D(0, H, 16, N, 1); D(1, B, 4096, N | W, 2); D(2, S, 1, W, 0); own_submit("sector-overflow", 0, 0);
	own_req(0, VIRTIO_BLK_T_IN, cap ? cap - 1 : 0); own_submit("across-capacity", 0, 0);
	own_req(0, VIRTIO_BLK_T_IN, cap); own_submit("at-capacity", 0, 0);
	own_req(0, VIRTIO_BLK_T_OUT, (~0ull >> 9) - 1);
	D(1, B, 4096, N, 2); own_submit("write-overflow", 0, 0);
	own_req(0, 0x77, 0); own_submit("unsupported-type", 0, 0);
	own_req(0, VIRTIO_BLK_T_GET_ID, 0); D(1, B, 3, N | W, 2); own_submit("get-id-short", 0, 0);
	own_req(0, VIRTIO_BLK_T_FLUSH, 12345); D(0, H, 16, N, 2); own_submit("flush-with-sector", 0, 0);
	/* Indirect tables: bad length, nested, with NEXT, outside RAM, looping, too long. */
	own_req(0, VIRTIO_BLK_T_IN, 0);
	ind[0] = (struct virtq_desc){H, 16, N, 1};
	ind[1] = (struct virtq_desc){B, 512, N | W, 2};
	ind[2] = (struct virtq_desc){S, 1, W, 0};
	D(0, I, 3 * 16, IND, 0); own_submit("indirect-valid", 0, 0);
	D(0, I, 3 * 16 + 5, IND, 0); own_submit("indirect-bad-len", 0, 0);
	D(0, I, 0, IND, 0); own_submit("indirect-empty", 0, 0);
	D(0, I, 3 * 16, IND | N, 1); own_submit("indirect-and-next", 0, 0);
	D(0, 0xfffffffffff00000ull, 64, IND, 0); own_submit("indirect-outside", 0, 0);
	D(0, I, 0xfffffff0u, IND, 0); own_submit("indirect-huge", 0, 0);
	ind[1] = (struct virtq_desc){I, 32, IND, 0};
	D(0, I, 3 * 16, IND, 0); own_submit("indirect-nested", 0, 0);
	ind[1] = (struct virtq_desc){B, 512, N | W, 0};
	own_submit("indirect-loop", 0, 0);
	ind[1] = (struct virtq_desc){B, 512, N | W, 77};
	own_submit("indirect-next-range", 0, 0);
	/* avail idx far ahead of the queue size. */
	D(0, H, 16, N, 1); D(1, B, 512, N | W, 2); D(2, S, 1, W, 0);
	own_submit("avail-idx-ahead", 0, 1000);
	/* Every descriptor one long chain of 16 plus a loop back: longer than the queue. */
	for (unsigned i = 0; i < OWN_N; i++)
		D(i, B, 16, N | W, (uint16_t)((i + 1) % OWN_N));
	D(0, H, 16, N, 1);
	own_submit("chain-loops-all", 0, 0);
	/* Queue set up wrong: size 3, misaligned and outside-RAM rings, notify before ready. */
	own_setup(3);
	say("own: qnum-3 status %#x\n", rd(DEV0, VIRTIO_MMIO_STATUS));
	wr(DEV0, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	own_setup(OWN_N);
	wr(DEV0, VIRTIO_MMIO_QUEUE_READY, 0);
	wr(DEV0, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)((uintptr_t)R.desc + 1));
	wr(DEV0, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0xfff);
	wr(DEV0, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	wr(DEV0, VIRTIO_MMIO_QUEUE_READY, 1);
	wr(DEV0, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	pause_ms(10);
	say("own: bad-ring-addrs status %#x\n", rd(DEV0, VIRTIO_MMIO_STATUS));
	/* Reset mid-flight: submit a large read and reset right away. */
	own_setup(OWN_N);
	own_req(0, VIRTIO_BLK_T_IN, 0);
	D(0, H, 16, N, 1); D(1, B, 8192, N | W, 2); D(2, S, 1, W, 0);
	R.avail[2] = 0;
	R.avail[1] = 1;
	wr(DEV0, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	wr(DEV0, VIRTIO_MMIO_STATUS, 0);
	pause_ms(10);
	say("own: reset-mid-flight status %#x\n", rd(DEV0, VIRTIO_MMIO_STATUS));
	say("own: done\n");
}

/* ---- huge ----------------------------------------------------------------- */

#define HUGE_N 256
#define HUGE_SEGS_MAX 254
static uint8_t huge_ring[VIRTQ_LAYOUT_BYTES(HUGE_N)] __attribute__((aligned(4096)));
static struct virtq_desc huge_ind[HUGE_N][HUGE_SEGS_MAX + 2] __attribute__((aligned(16)));
static struct virtio_blk_req_hdr huge_hdr __attribute__((aligned(16)));
static uint8_t huge_status[HUGE_N];
static uint8_t huge_buf[4u << 20] __attribute__((aligned(4096)));

static void mode_huge(void)
{
	dev0_features();
	uint32_t size_max = rd(DEV0, VIRTIO_MMIO_CONFIG + 8), seg_max = rd(DEV0, VIRTIO_MMIO_CONFIG + 12);
	uint32_t qmax = rd(DEV0, VIRTIO_MMIO_QUEUE_NUM_MAX);
	uint32_t n = qmax < HUGE_N ? qmax : HUGE_N;
	uint32_t segs = seg_max < HUGE_SEGS_MAX ? seg_max : HUGE_SEGS_MAX;
	uint32_t seg = size_max < sizeof(huge_buf) ? size_max : (uint32_t)sizeof(huge_buf);
	seg &= ~511u;
	if (!n || !segs || !seg) {
		say("huge: unusable device (queue %u seg_max %u size_max %u)\n", qmax, seg_max, size_max);
		return;
	}
	struct virtq_desc *d = (struct virtq_desc *)huge_ring;
	uint16_t *av = (uint16_t *)(huge_ring + VIRTQ_LAYOUT_AVAIL_OFF(n));
	memset(huge_ring, 0, sizeof(huge_ring));
	uint64_t dg = (uintptr_t)huge_ring;
	dev0_queue(n, dg, dg + VIRTQ_LAYOUT_AVAIL_OFF(n), dg + VIRTQ_LAYOUT_USED_OFF(n));
	huge_hdr = (struct virtio_blk_req_hdr){.type = VIRTIO_BLK_T_IN, .reserved = 0, .sector = 0};
	/* Every request reads the same sectors into the same buffer: legal, and the disk needs only segs * seg bytes. */
	for (uint32_t i = 0; i < n; i++) {
		struct virtq_desc *t = huge_ind[i];
		t[0] = (struct virtq_desc){(uintptr_t)&huge_hdr, sizeof(huge_hdr), VIRTQ_DESC_F_NEXT, 1};
		for (uint32_t k = 1; k <= segs; k++)
			t[k] = (struct virtq_desc){(uintptr_t)huge_buf, seg, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE,
						   (uint16_t)(k + 1)};
		t[segs + 1] = (struct virtq_desc){(uintptr_t)&huge_status[i], 1, VIRTQ_DESC_F_WRITE, 0};
		d[i] = (struct virtq_desc){(uintptr_t)t, 16 * (segs + 2), VIRTQ_DESC_F_INDIRECT, 0};
		av[2 + i] = (uint16_t)i;
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* ring entries before idx, as the device reads them */
	av[1] = (uint16_t)n;
	wr(DEV0, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	say("huge: %u requests of %llu bytes queued, status %#x\n", n, (unsigned long long)segs * seg,
	    rd(DEV0, VIRTIO_MMIO_STATUS));
}

static void mode_reset(void)
{
	wr(DEV0, VIRTIO_MMIO_STATUS, 0);
	say("reset: returned, status %#x\n", rd(DEV0, VIRTIO_MMIO_STATUS));
}

static void mode_hang(void)
{
	say("hang: sleeping\n");
	for (;;)
		pause_ms(500);
}

/* ---- console floods -------------------------------------------------------- */

static void mode_flood(void)
{
	static char line[4096];
	memset(line, 'x', sizeof(line));
	line[sizeof(line) - 1] = '\n';
	say("flood: writing\n");
	for (;;)
		if (write(1, line, sizeof(line)) < 0)
			_exit(3); /* the monitor should end us before a write fails */
}

static void mode_uflood(void)
{
	static char line[4096];
	memset(line, 'u', sizeof(line));
	line[sizeof(line) - 1] = '\n';
	say("uflood: writing\n");
	for (;;) {
		const char *p = line;
		unsigned long n = sizeof(line);
		__asm__ volatile("rep outsb" : "+S"(p), "+c"(n) : "d"((unsigned short)0x3f8) : "memory");
	}
}

/* ---- beyond --------------------------------------------------------------- */

static void mode_beyond(void)
{
	say("beyond: writes past the register block\n");
	for (unsigned off = VIRTIO_MMIO_REGION_SIZE; off < UKVM_MMIO_STRIDE; off += 0x100)
		wr(DEV0, off, 0xffffffff);
	say("beyond: reads past the register block: %#x\n", rd(DEV0, 0xffc));
	uintptr_t last = DEV0 + (UKVM_MMIO_MAX_DEVS - 1) * UKVM_MMIO_STRIDE;
	say("beyond: absent device magic %#x\n", rd(last, VIRTIO_MMIO_MAGIC_VALUE));
	wr(last, VIRTIO_MMIO_STATUS, 0xff);
	wr(last, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	wr(DEV0 + 0x1ffffc, 0, 1); /* last word of the 2 MiB window */
	say("beyond: done\n");
}

/* ---- io ------------------------------------------------------------------- */

static void mode_io(void)
{
	static char buf[65536];
	int fd = open("/dev/vda", O_RDWR);
	if (fd < 0) {
		say("io: open: %s\n", strerror(errno));
		return;
	}
	ssize_t r = pread(fd, buf, sizeof(buf), 0);
	say("io: pread %lld %s\n", (long long)r, r < 0 ? strerror(errno) : "");
	r = pwrite(fd, buf, 4096, 4096);
	say("io: pwrite %lld %s\n", (long long)r, r < 0 ? strerror(errno) : "");
	int s = fsync(fd);
	say("io: fsync %d %s\n", s, s < 0 ? strerror(errno) : "");
	close(fd);
}

static const struct {
	const char *name;
	void (*run)(void);
} modes[] = {
	{"regs", mode_regs}, {"ring", mode_ring},   {"own", mode_own},     {"beyond", mode_beyond},
	{"io", mode_io},     {"huge", mode_huge},   {"reset", mode_reset}, {"hang", mode_hang},
	{"flood", mode_flood}, {"uflood", mode_uflood},
};

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		unsigned m = 0;
		while (m < sizeof(modes) / sizeof(modes[0]) && strcmp(argv[i], modes[m].name))
			m++;
		if (m == sizeof(modes) / sizeof(modes[0])) {
			say("usage: blkhostile {regs|ring|own|beyond|io|huge|reset|hang|flood|uflood}...\n");
			return 2;
		}
		modes[m].run();
	}
	say("hostile: finished\n");
	return 0;
}
