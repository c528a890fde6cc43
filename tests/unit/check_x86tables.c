/* check_x86tables.c: unit tests of the GDT/TSS/IDT builder in base and PV mode (vmm/x86tables.c). */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "mem.h"
#include "ukvm_abi.h"
#include "x86tables.h"

#define STUBS (UKVM_KERNEL_VBASE + 0x123450ull)

static struct mem xt_mem;

static void xt_setup(void)
{
	ck_assert_int_eq(mem_init(&xt_mem, UKVM_MEM_MIN), 0);
}

static void xt_teardown(void)
{
	mem_free(&xt_mem);
}

static uint64_t xt_get64(uint64_t gpa)
{
	uint64_t v;
	memcpy(&v, mem_ptr(&xt_mem, gpa, 8), 8);
	return v;
}

static uint64_t xt_desc(uint16_t sel)
{
	return xt_get64(UKVM_GDT_GPA + (sel & ~7u));
}

/* DPL and L bit of a code/data descriptor. */
static unsigned xt_dpl(uint64_t d)
{
	return (unsigned)(d >> 45) & 3;
}

static int xt_long(uint64_t d)
{
	return (int)(d >> 53) & 1;
}

static uint64_t xt_tss_base(uint16_t sel)
{
	uint64_t lo = xt_desc(sel), hi = xt_get64(UKVM_GDT_GPA + sel + 8);
	ck_assert_uint_eq((lo >> 40) & 0x9f, 0x89); /* present, available 64-bit TSS */
	return ((lo >> 16) & 0xffffff) | (((lo >> 56) & 0xff) << 24) | (hi << 32);
}

static void xt_gate(unsigned v, uint16_t *sel, uint64_t *target)
{
	uint64_t lo = xt_get64(UKVM_IDT_GPA + v * 16), hi = xt_get64(UKVM_IDT_GPA + v * 16 + 8);
	*sel = (uint16_t)(lo >> 16);
	*target = (lo & 0xffff) | (((lo >> 48) & 0xffff) << 16) | (hi << 32);
	ck_assert_uint_eq((lo >> 40) & 0xff, 0x8e); /* present DPL0 interrupt gate */
	ck_assert_uint_eq((lo >> 32) & 7, 1);       /* IST1 */
}

START_TEST(test_base_layout)
{
	uint16_t sel;
	uint64_t t;
	ck_assert_int_eq(x86_tables_build(&xt_mem, STUBS, false), 0);
	ck_assert(xt_long(xt_desc(UKVM_SEL_KCODE)) && xt_dpl(xt_desc(UKVM_SEL_KCODE)) == 0);
	ck_assert(xt_long(xt_desc(UKVM_SEL_UCODE)) && xt_dpl(xt_desc(UKVM_SEL_UCODE)) == 3);
	ck_assert_uint_eq(xt_dpl(xt_desc(UKVM_SEL_UDATA)), 3);
	ck_assert_uint_eq(xt_tss_base(UKVM_SEL_TSS), UKVM_TSS_GPA);
	xt_gate(14, &sel, &t);
	ck_assert_uint_eq(sel, UKVM_SEL_KCODE);
	ck_assert_uint_eq(t, STUBS + 14 * UKVM_EXC_STUB_SIZE);
	ck_assert(x86_port_open(&xt_mem, UKVM_PORT_EXIT));
	ck_assert(!x86_port_open(&xt_mem, 0x80));
}
END_TEST

/* PV mode: the host's selectors (STAR 0x23/0x10 -> user 0x33/0x2b), TSS at 0x40 with a kernel-alias base. */
START_TEST(test_pv_layout)
{
	uint16_t sel;
	uint64_t t;
	ck_assert_int_eq(x86_tables_build(&xt_mem, STUBS, true), 0);
	ck_assert(xt_long(xt_desc(UKVM_PV_SEL_KCODE)) && xt_dpl(xt_desc(UKVM_PV_SEL_KCODE)) == 0);
	ck_assert_uint_eq(xt_dpl(xt_desc(UKVM_PV_SEL_KDATA)), 0);
	ck_assert(!xt_long(xt_desc(UKVM_PV_SEL_KDATA)));
	ck_assert(xt_long(xt_desc(UKVM_PV_SEL_UCODE)) && xt_dpl(xt_desc(UKVM_PV_SEL_UCODE)) == 3);
	ck_assert(!xt_long(xt_desc(UKVM_PV_SEL_UDATA)) && xt_dpl(xt_desc(UKVM_PV_SEL_UDATA)) == 3);
	/* SYSRET's layout: user data at STAR[63:48] + 8, user code 64 at + 16. */
	ck_assert_uint_eq(0x23 + 8, UKVM_PV_SEL_UDATA);
	ck_assert_uint_eq(0x23 + 16, UKVM_PV_SEL_UCODE);
	ck_assert_uint_eq(xt_tss_base(UKVM_PV_SEL_TSS), UKVM_KERNEL_VBASE + UKVM_TSS_GPA);
	ck_assert_uint_le(UKVM_PV_SEL_TSS + 16, X86_GDT_LIMIT + 1);
	for (unsigned v = 0; v < 256; v += 51) {
		xt_gate(v, &sel, &t);
		ck_assert_uint_eq(sel, UKVM_PV_SEL_KCODE);
		ck_assert_uint_eq(t, STUBS + v * UKVM_EXC_STUB_SIZE);
	}
	/* RSP0 and IST1 are kernel-half addresses: the host triple-faults otherwise. */
	ck_assert_uint_ge(xt_get64(UKVM_TSS_GPA + 4), UKVM_KERNEL_VBASE);
	ck_assert_uint_ge(xt_get64(UKVM_TSS_GPA + 36), UKVM_KERNEL_VBASE);
	/* The VIF page lies in the free part of the boot area, clear of the TSS's I/O bitmap. */
	ck_assert_uint_ge(UKVM_VIF_GPA, UKVM_TSS_GPA + X86_TSS_LIMIT + 1);
	ck_assert_uint_le(UKVM_VIF_GPA + 4096, UKVM_PT_GPA);
	ck_assert_uint_eq(UKVM_VIF_GPA % 4096, 0);
}
END_TEST

/* A base build after a PV one leaves no PV descriptor behind (and the reverse). */
START_TEST(test_rebuild_clears)
{
	ck_assert_int_eq(x86_tables_build(&xt_mem, STUBS, true), 0);
	ck_assert_int_eq(x86_tables_build(&xt_mem, STUBS, false), 0);
	ck_assert_uint_eq(xt_desc(UKVM_PV_SEL_TSS), 0);
	ck_assert_int_eq(x86_tables_build(&xt_mem, STUBS, true), 0);
	ck_assert_uint_eq(xt_desc(0x08), 0);
}
END_TEST

START_TEST(test_small_mem)
{
	struct mem tiny = { .base = xt_mem.base, .size = 0x2000 };
	ck_assert_int_eq(x86_tables_build(&tiny, STUBS, true), -EFAULT);
}
END_TEST

Suite *x86tables_suite(void)
{
	Suite *s = suite_create("x86tables");
	TCase *c = tcase_create("core"), *l = tcase_create("limits");
	tcase_add_checked_fixture(c, xt_setup, xt_teardown);
	tcase_add_checked_fixture(l, xt_setup, xt_teardown);
	tcase_add_test(c, test_base_layout);
	tcase_add_test(c, test_pv_layout);
	tcase_add_test(c, test_rebuild_clears);
	tcase_add_test(l, test_small_mem);
	suite_add_tcase(s, c);
	suite_add_tcase(s, l);
	return s;
}
