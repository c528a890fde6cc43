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
	for (uint64_t a = UKVM_BOOT_BLOCK; a < UKVM_BOOT_BLOCK + (32u << 10); a += 4096)
		ck_assert_int_eq(resident(&m, a), 1);
	ck_assert_int_eq(resident(&m, UKVM_CONBUF_GPA), 1);
	ck_assert_int_eq(resident(&m, UKVM_FDT_END - 8), 1);
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
	ck_assert_int_eq(resident(&m, UKVM_BOOT_BLOCK - 8), 0);
	ck_assert_int_eq(resident(&m, UKVM_BOOT_BLOCK + (32u << 10)), 0);
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

/* The stack guard's place: below the room and the top, for a kernel that reads the offer, clear of the image. */
START_TEST(test_stack_guard_place)
{
	struct loader_image img = { .note = { .flags = UKVM_NOTE_STACK_GUARD } };
	uint64_t mem = 128ull << 20, g = mem - UKVM_STACK_GUARD_TOP - UKVM_STACK_GUARD_ROOM - UKVM_STACK_GUARD_SIZE;
	img.segs[img.nsegs++] = (struct loader_seg){ UKVM_KERNEL_PHYS, 0x80000 };
	img.segs[img.nsegs++] = (struct loader_seg){ 0x400000, 0x5000 };
	ck_assert_uint_eq(bootmem_stack_guard(mem, &img), g);
	ck_assert_uint_eq(g % UKVM_STACK_GUARD_SIZE, 0);
	ck_assert_uint_eq(bootmem_stack_guard(UKVM_STACK_GUARD_MIN_MEM, &img),
			  UKVM_STACK_GUARD_MIN_MEM - UKVM_STACK_GUARD_TOP - UKVM_STACK_GUARD_ROOM - UKVM_STACK_GUARD_SIZE);
	/* A segment that ends right where the guard starts is fine; one byte more is not. */
	img.segs[img.nsegs++] = (struct loader_seg){ 0x600000, g - 0x600000 };
	ck_assert_uint_eq(bootmem_stack_guard(mem, &img), g);
	img.segs[img.nsegs - 1].memsz++;
	ck_assert_uint_eq(bootmem_stack_guard(mem, &img), 0);
	/* In the room above the guard: none; above the room (the top of RAM) it stands. */
	img.segs[img.nsegs - 1] = (struct loader_seg){ mem - UKVM_STACK_GUARD_TOP - 0x1000, 0x1000 };
	ck_assert_uint_eq(bootmem_stack_guard(mem, &img), 0);
	img.segs[img.nsegs - 1] = (struct loader_seg){ mem - UKVM_STACK_GUARD_TOP, 0x1000 };
	ck_assert_uint_eq(bootmem_stack_guard(mem, &img), g);
}
END_TEST

/* No offer to a kernel that would not read it (its page would just vanish), nor in small RAM. */
START_TEST(test_stack_guard_none)
{
	struct loader_image img = { 0 };
	ck_assert_uint_eq(bootmem_stack_guard(128ull << 20, &img), 0);
	img.note.flags = UKVM_NOTE_STACK_GUARD;
	ck_assert_uint_eq(bootmem_stack_guard(UKVM_STACK_GUARD_MIN_MEM - (2ull << 20), &img), 0);
	ck_assert_uint_eq(bootmem_stack_guard(UKVM_MEM_MIN, &img), 0);
}
END_TEST

Suite *bootmem_suite(void)
{
	Suite *s = suite_create("bootmem");
	TCase *c = tcase_create("core"), *l = tcase_create("limits"), *h = tcase_create("hostile");
	tcase_add_test(c, test_backs_boot_pages);
	tcase_add_test(c, test_stack_guard_place);
	tcase_add_test(l, test_backs_nothing_else);
	tcase_add_test(l, test_stack_guard_none);
	tcase_add_test(h, test_unmapped);
	suite_add_tcase(s, c);
	suite_add_tcase(s, l);
	suite_add_tcase(s, h);
	return s;
}
