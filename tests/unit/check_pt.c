/* check_pt.c: unit suite "pt" (vmm/pt.c): walks the tables pt_build made and checks every mapping the ABI promises. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pt.h"
#include "ukvm_abi.h"

#define PT_LEN (UKVM_PT_END - UKVM_PT_GPA)
#define GUARD 0x2000
#define NONE UINT64_MAX

static uint8_t *pt_region; /* GUARD | tables | GUARD */
static uint64_t pt_cr3;
static uint64_t pt_guard; /* build()'s stack guard: 0 none */

static uint64_t *tbl(uint64_t gpa)
{
	/* The walk only follows pointers into the page-table region. */
	ck_assert_uint_ge(gpa, UKVM_PT_GPA);
	ck_assert_uint_lt(gpa, UKVM_PT_END);
	ck_assert_uint_eq(gpa & 0xfff, 0);
	return (uint64_t *)(pt_region + GUARD + (gpa - UKVM_PT_GPA));
}

/*
 * Translates va like the MMU; asserts the user and accessed bits on every
 * level and dirty on the leaf (preset so a shadow MMU maps pages writable
 * and with their neighbours on the first fault).
 */
static uint64_t walk(uint64_t va)
{
	uint64_t e = tbl(pt_cr3)[(va >> 39) & 511];
	if (!(e & PT_P))
		return NONE;
	ck_assert(e & PT_US);
	ck_assert(e & PT_A);
	e = tbl(e & PT_ADDR_MASK)[(va >> 30) & 511];
	if (!(e & PT_P))
		return NONE;
	ck_assert(e & PT_US);
	ck_assert(e & PT_A);
	ck_assert(!(e & PT_PS)); /* never 1 GiB pages */
	e = tbl(e & PT_ADDR_MASK)[(va >> 21) & 511];
	if (!(e & PT_P))
		return NONE;
	ck_assert(e & PT_US);
	ck_assert(e & PT_A);
	if (e & PT_PS) {
		ck_assert(e & PT_D);
		return (e & PT_ADDR_MASK & ~0x1fffffull) | (va & 0x1fffff);
	}
	e = tbl(e & PT_ADDR_MASK)[(va >> 12) & 511];
	if (!(e & PT_P))
		return NONE;
	ck_assert(e & PT_US);
	ck_assert(e & PT_A);
	ck_assert(e & PT_D);
	return (e & PT_ADDR_MASK) | (va & 0xfff);
}

static void build(uint64_t mem)
{
	free(pt_region);
	pt_region = malloc(PT_LEN + 2 * GUARD);
	ck_assert_ptr_nonnull(pt_region);
	memset(pt_region, 0x5a, GUARD);
	memset(pt_region + GUARD, 0, PT_LEN);
	memset(pt_region + GUARD + PT_LEN, 0x5a, GUARD);
	ck_assert_int_eq(pt_build(pt_region + GUARD, PT_LEN, mem, pt_guard, &pt_cr3), 0);
	for (size_t i = 0; i < GUARD; i++) {
		ck_assert_uint_eq(pt_region[i], 0x5a);
		ck_assert_uint_eq(pt_region[GUARD + PT_LEN + i], 0x5a);
	}
}

static void teardown(void)
{
	free(pt_region);
	pt_region = NULL;
	pt_guard = 0;
}

START_TEST(test_64m)
{
	uint64_t mem = 64ull << 20;
	build(mem);
	ck_assert_uint_eq(pt_cr3, UKVM_PT_GPA);
	ck_assert_uint_eq(walk(0), NONE);                 /* page 0 absent */
	ck_assert_uint_eq(walk(0xfff), NONE);
	ck_assert_uint_eq(walk(0x1000), 0x1000);
	ck_assert_uint_eq(walk(0x1fffff), 0x1fffff);      /* end of the 4 KiB region */
	ck_assert_uint_eq(walk(0x200000), 0x200000);      /* first 2 MiB page */
	ck_assert_uint_eq(walk(0x123456), 0x123456);
	ck_assert_uint_eq(walk(mem - 1), mem - 1);        /* last byte of RAM */
	ck_assert_uint_eq(walk(mem), NONE);
	ck_assert_uint_eq(walk(1ull << 30), NONE);
	ck_assert_uint_eq(walk(UKVM_KERNEL_VBASE), NONE); /* alias of page 0 absent too */
	ck_assert_uint_eq(walk(UKVM_KERNEL_VBASE + UKVM_KERNEL_PHYS), UKVM_KERNEL_PHYS);
	ck_assert_uint_eq(walk(UKVM_KERNEL_VBASE + UKVM_FDT_END - 8), UKVM_FDT_END - 8); /* the boot stack's top */
	ck_assert_uint_eq(walk(UKVM_KERNEL_VBASE + UKVM_BOOT_STACK_LO), UKVM_BOOT_STACK_LO);
	ck_assert_uint_eq(walk(UKVM_KERNEL_VBASE + mem - 1), mem - 1);
	ck_assert_uint_eq(walk(UKVM_KERNEL_VBASE + mem), NONE);
	ck_assert_uint_eq(tbl(pt_cr3)[256], 0);           /* slot 256 unused */
	ck_assert_uint_eq(walk(0xffff800000000000ull), NONE);
	/* The virtio-mmio window: identity, one 2 MiB page, cache disabled, nothing around it. */
	ck_assert_uint_eq(walk(UKVM_MMIO_BASE), UKVM_MMIO_BASE);
	ck_assert_uint_eq(walk(UKVM_MMIO_BASE + 0x1050), UKVM_MMIO_BASE + 0x1050);
	ck_assert_uint_eq(walk(UKVM_MMIO_BASE + (2ull << 20) - 1), UKVM_MMIO_BASE + (2ull << 20) - 1);
	ck_assert_uint_eq(walk(UKVM_MMIO_BASE + (2ull << 20)), NONE);
	ck_assert_uint_eq(walk(UKVM_MMIO_BASE - 1), NONE);
	uint64_t pd = tbl(tbl(pt_cr3)[0] & PT_ADDR_MASK)[UKVM_MMIO_BASE >> 30] & PT_ADDR_MASK;
	uint64_t e = tbl(pd)[(UKVM_MMIO_BASE >> 21) & 511];
	ck_assert(e & PT_PS);
	ck_assert(e & PT_PCD);
}
END_TEST

START_TEST(test_large)
{
	uint64_t mem = 4ull << 30;
	build(mem);
	ck_assert_uint_eq(walk(3ull << 30), 3ull << 30);
	ck_assert_uint_eq(walk(mem - 1), mem - 1);
	ck_assert_uint_eq(walk(mem), NONE);
	ck_assert_uint_eq(walk(UKVM_KERNEL_VBASE + (2ull << 30) - 1), (2ull << 30) - 1); /* alias: 2 GiB */
	ck_assert_uint_eq(walk(UKVM_KERNEL_VBASE + (1ull << 30)), 1ull << 30);
	build(UKVM_MEM_MAX);
	ck_assert_uint_eq(walk(UKVM_MEM_MAX - 1), UKVM_MEM_MAX - 1);
	ck_assert_uint_eq(walk(UKVM_MMIO_BASE + 8), UKVM_MMIO_BASE + 8); /* window right above 64 GiB of RAM */
	ck_assert_uint_eq(walk(UKVM_MEM_MAX), UKVM_MMIO_BASE); /* RAM ends where the MMIO window starts */
	ck_assert_uint_eq(walk(UKVM_MMIO_BASE + (2ull << 20)), NONE);
	ck_assert_uint_eq(tbl(pt_cr3)[256], 0);
	build(UKVM_MEM_MIN + (2ull << 20)); /* odd number of 2 MiB pages */
	ck_assert_uint_eq(walk(UKVM_MEM_MIN + (2ull << 20) - 1), UKVM_MEM_MIN + (2ull << 20) - 1);
	ck_assert_uint_eq(walk(UKVM_MEM_MIN + (2ull << 20)), NONE);
}
END_TEST

/* PV mode's KPTI pair: CR3 8 KiB aligned, the user PML4 right after it and identical. */
START_TEST(test_pv_pml4_pair)
{
	build(64ull << 20);
	ck_assert_uint_eq(pt_cr3 % 0x2000, 0);
	ck_assert_int_eq(memcmp(tbl(pt_cr3), tbl(pt_cr3 + 0x1000), 4096), 0);
	ck_assert_uint_ne(tbl(pt_cr3 + 0x1000)[0], 0);
	ck_assert_uint_ne(tbl(pt_cr3 + 0x1000)[511], 0);
	ck_assert_uint_eq(tbl(pt_cr3 + 0x1000)[256], 0);
	/* No table of the tree is the user PML4's page (it would be shared state). */
	for (int i = 0; i < 512; i++)
		ck_assert_uint_ne(tbl(pt_cr3)[i] & PT_ADDR_MASK, pt_cr3 + 0x1000);
}
END_TEST

/* The stack guard: its 2 MiB page is absent in both views, everything around it mapped. */
START_TEST(test_stack_guard)
{
	uint64_t mem = 128ull << 20, g = mem - (12ull << 20);
	pt_guard = g;
	build(mem);
	ck_assert_uint_eq(walk(g), NONE);
	ck_assert_uint_eq(walk(g + (2ull << 20) - 1), NONE);
	ck_assert_uint_eq(walk(UKVM_KERNEL_VBASE + g + 8), NONE);
	ck_assert_uint_eq(walk(g - 1), g - 1);
	ck_assert_uint_eq(walk(g + (2ull << 20)), g + (2ull << 20));
	ck_assert_uint_eq(walk(UKVM_KERNEL_VBASE + g - 8), g - 8);
	ck_assert_uint_eq(walk(mem - 1), mem - 1);
	ck_assert_uint_eq(walk(0x1000), 0x1000);
	pt_guard = mem - (2ull << 20); /* the last page of RAM is a guard too */
	build(mem);
	ck_assert_uint_eq(walk(mem - 1), NONE);
	ck_assert_uint_eq(walk(mem - (2ull << 20) - 1), mem - (2ull << 20) - 1);
}
END_TEST

START_TEST(test_bad_guard)
{
	uint64_t cr3 = 7, mem = 64ull << 20;
	uint8_t *b = calloc(1, PT_LEN);
	ck_assert_int_eq(pt_build(b, PT_LEN, mem, (8ull << 20) + 4096, &cr3), -EINVAL); /* not 2 MiB aligned */
	ck_assert_int_eq(pt_build(b, PT_LEN, mem, 4096, &cr3), -EINVAL);                /* the first 2 MiB */
	ck_assert_int_eq(pt_build(b, PT_LEN, mem, mem, &cr3), -EINVAL);                 /* past RAM */
	ck_assert_int_eq(pt_build(b, PT_LEN, mem, UINT64_MAX & ~((2ull << 20) - 1), &cr3), -EINVAL);
	ck_assert_uint_eq(cr3, 7);
	for (size_t i = 0; i < PT_LEN; i++)
		ck_assert_uint_eq(b[i], 0);
	free(b);
}
END_TEST

START_TEST(test_bad_args)
{
	uint64_t cr3 = 7;
	uint8_t *b = calloc(1, PT_LEN);
	ck_assert_int_eq(pt_build(b, PT_LEN, UKVM_MEM_MIN - (2ull << 20), 0, &cr3), -EINVAL);
	ck_assert_int_eq(pt_build(b, PT_LEN, UKVM_MEM_MAX + (2ull << 20), 0, &cr3), -EINVAL);
	ck_assert_int_eq(pt_build(b, PT_LEN, (64ull << 20) + 4096, 0, &cr3), -EINVAL);
	ck_assert_int_eq(pt_build(b, PT_LEN - 1, 64ull << 20, 0, &cr3), -EINVAL);
	ck_assert_uint_eq(cr3, 7);
	for (size_t i = 0; i < PT_LEN; i++)
		ck_assert_uint_eq(b[i], 0);
	free(b);
}
END_TEST

Suite *pt_suite(void)
{
	Suite *s = suite_create("pt");
	TCase *c = tcase_create("core"), *l = tcase_create("limits"), *h = tcase_create("hostile");
	tcase_add_checked_fixture(c, NULL, teardown);
	tcase_add_checked_fixture(l, NULL, teardown);
	tcase_add_test(c, test_64m);
	tcase_add_test(c, test_pv_pml4_pair);
	tcase_add_test(c, test_stack_guard);
	tcase_add_test(l, test_large);
	tcase_add_test(l, test_bad_args);
	tcase_add_test(h, test_bad_guard);
	suite_add_tcase(s, c);
	suite_add_tcase(s, l);
	suite_add_tcase(s, h);
	return s;
}
