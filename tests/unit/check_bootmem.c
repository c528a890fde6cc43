/* check_bootmem.c: the guest pages backed ahead of boot (bootmem_populate): exactly those, contents kept. */
#include <check.h>
#include <stdint.h>
#include <sys/mman.h>

#include "bootmem.h"
#include "ukvm_abi.h"

#define SZ (UKVM_MEM_MIN)

/* 1 when the host page holding gpa is backed (mincore), else 0. */
static int resident(const struct mem *m, uint64_t gpa)
{
	unsigned char v = 0;
	ck_assert_int_eq(mincore(m->base + (gpa & ~0xfffull), 4096, &v), 0);
	return v & 1;
}

START_TEST(test_backs_boot_pages)
{
	struct mem m;
	ck_assert_int_eq(mem_init(&m, SZ), 0);
	*(uint8_t *)mem_ptr(&m, SZ - 8, 1) = 0x5c;
	bootmem_populate(&m);
	ck_assert_int_eq(resident(&m, UKVM_BOOT_STACK_TOP - 8), 1);
	ck_assert_int_eq(resident(&m, UKVM_CONBUF_GPA), 1);
	for (uint64_t a = SZ - BOOTMEM_TOP; a < SZ; a += 4096)
		ck_assert_int_eq(resident(&m, a), 1);
	ck_assert_uint_eq(*(uint8_t *)mem_ptr(&m, SZ - 8, 1), 0x5c); /* contents kept */
	ck_assert_uint_eq(*(uint8_t *)mem_ptr(&m, SZ - BOOTMEM_TOP, 1), 0);
	mem_free(&m);
}
END_TEST

/* Nothing else: every backed page is host memory a VM holds until it ends. */
START_TEST(test_backs_nothing_else)
{
	struct mem m;
	ck_assert_int_eq(mem_init(&m, SZ), 0);
	bootmem_populate(&m);
	ck_assert_int_eq(resident(&m, UKVM_BOOT_STACK_TOP - 4096 - 8), 0);
	ck_assert_int_eq(resident(&m, UKVM_CONBUF_GPA + 4096), 0);
	ck_assert_int_eq(resident(&m, SZ - BOOTMEM_TOP - 8), 0);
	ck_assert_int_eq(resident(&m, SZ / 2), 0);
	mem_free(&m);
}
END_TEST

/* An unmapped mem (a failed mem_init): nothing to back, no crash. */
START_TEST(test_unmapped)
{
	struct mem m = { 0 };
	bootmem_populate(&m);
	ck_assert_ptr_null(m.base);
}
END_TEST

Suite *bootmem_suite(void)
{
	Suite *s = suite_create("bootmem");
	TCase *c = tcase_create("core"), *l = tcase_create("limits"), *h = tcase_create("hostile");
	tcase_add_test(c, test_backs_boot_pages);
	tcase_add_test(l, test_backs_nothing_else);
	tcase_add_test(h, test_unmapped);
	suite_add_tcase(s, c);
	suite_add_tcase(s, l);
	suite_add_tcase(s, h);
	return s;
}
