/* x86tables.c: builds the descriptor tables of the boot contract (proto/ukvm_abi.h) in guest RAM. */
#include "x86tables.h"

#include <errno.h>
#include <string.h>

#include "ukvm_abi.h"

#define TSS_IOMAP_OFF 104

static void x86_put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* A flat 64-bit TSS descriptor (16 bytes) for base b. */
static void x86_tss_desc(uint8_t *d, uint64_t b)
{
	uint64_t l = X86_TSS_LIMIT;
	x86_put64(d, (l & 0xffff) | ((b & 0xffffff) << 16) | (0x89ull << 40) |
			     (((l >> 16) & 0xf) << 48) | (((b >> 24) & 0xff) << 56));
	x86_put64(d + 8, b >> 32);
}

int x86_tables_build(const struct mem *m, uint64_t exc_stubs, bool pv)
{
	uint8_t *gdt = mem_ptr(m, UKVM_GDT_GPA, X86_GDT_LIMIT + 1);
	uint8_t *idt = mem_ptr(m, UKVM_IDT_GPA, X86_IDT_LIMIT + 1);
	uint8_t *tss = mem_ptr(m, UKVM_TSS_GPA, X86_TSS_LIMIT + 1);
	if (!gdt || !idt || !tss)
		return -EFAULT;

	memset(gdt, 0, X86_GDT_LIMIT + 1);
	if (pv) {
		/* The host's own layout: STAR 0x23/0x10 yields user 0x33/0x2b, its real user selectors. */
		x86_put64(gdt + 0x10, 0x00af9a000000ffffull); /* kernel code 64, DPL0 */
		x86_put64(gdt + 0x18, 0x00cf92000000ffffull); /* kernel data */
		x86_put64(gdt + 0x20, 0x00cffa000000ffffull); /* user code 32 placeholder */
		x86_put64(gdt + 0x28, 0x00cff2000000ffffull); /* user data, DPL3 */
		x86_put64(gdt + 0x30, 0x00affa000000ffffull); /* user code 64, DPL3 */
		x86_tss_desc(gdt + UKVM_PV_SEL_TSS, UKVM_KERNEL_VBASE + UKVM_TSS_GPA);
	} else {
		/* Flat descriptors; 0x18 is STAR's SYSRET base (never used, SYSRET kills PVM guests). */
		x86_put64(gdt + 0x08, 0x00af9a000000ffffull); /* kernel code 64, DPL0 */
		x86_put64(gdt + 0x10, 0x00cf92000000ffffull); /* kernel data */
		x86_put64(gdt + 0x18, 0x00cffa000000ffffull); /* user code 32 placeholder */
		x86_put64(gdt + 0x20, 0x00cff2000000ffffull); /* user data, DPL3 */
		x86_put64(gdt + 0x28, 0x00affa000000ffffull); /* user code 64, DPL3 */
		x86_tss_desc(gdt + UKVM_SEL_TSS, UKVM_TSS_GPA);
	}

	/* 64-bit TSS: RSP0 at 4, IST1 at 36, I/O map base at 102. */
	memset(tss, 0, X86_TSS_LIMIT + 1);
	uint64_t stack = UKVM_KERNEL_VBASE + UKVM_EXC_STACK_TOP;
	x86_put64(tss + 4, stack);
	x86_put64(tss + 36, stack);
	tss[102] = TSS_IOMAP_OFF & 0xff;
	tss[103] = TSS_IOMAP_OFF >> 8;
	uint8_t *iomap = tss + TSS_IOMAP_OFF;
	memset(iomap, 0xff, 8192 + 1); /* set bit = denied; the byte after the map must be 0xff (SDM 19.5.2) */
	for (unsigned p = 0x3f8; p <= 0x3ff; p++)
		iomap[p / 8] &= (uint8_t)~(1u << (p % 8));
	/*
	 * Hypercalls are 32-bit OUTs, and the CPU checks the bits of all four
	 * bytes (SDM 19.5.2): `outl` to the last port touches 3 bytes beyond it.
	 * Those extra ports are open too; the run loop refuses them (exit 123).
	 */
	for (unsigned p = UKVM_PORT_BASE; p < UKVM_PORT_BASE + UKVM_PORT_COUNT + 3; p++)
		iomap[p / 8] &= (uint8_t)~(1u << (p % 8));

	/* Interrupt gates (type 0xe, P, DPL0) on IST1: a fault on a bad app stack still gets a good one. */
	uint64_t kcs = pv ? UKVM_PV_SEL_KCODE : UKVM_SEL_KCODE;
	for (uint64_t v = 0; v < 256; v++) {
		uint64_t h = exc_stubs + v * UKVM_EXC_STUB_SIZE;
		uint64_t lo = (h & 0xffff) | (kcs << 16) | (1ull << 32) |
			      (0x8eull << 40) | (((h >> 16) & 0xffff) << 48);
		x86_put64(idt + v * 16, lo);
		x86_put64(idt + v * 16 + 8, h >> 32);
	}
	return 0;
}

int x86_port_open(const struct mem *m, uint16_t port)
{
	const uint8_t *iomap = mem_ptr(m, UKVM_TSS_GPA + TSS_IOMAP_OFF, 8192);
	return iomap && !(iomap[port / 8] & (1u << (port % 8)));
}
