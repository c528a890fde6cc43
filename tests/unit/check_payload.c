/* check_payload.c: unit tests of payload validation and symbol lookup (guest/kernel/payload.c). */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "../../guest/include/payload.h"

/* header | app (16 bytes) | files (8) | syms (4) | strs */
static uint64_t buf[128];
static struct ukvm_payload_hdr *hdr;
static const char strs[] = "\0k_boot\0k_other\0main\0helper";

static void build(void)
{
	memset(buf, 0, sizeof(buf));
	hdr = (struct ukvm_payload_hdr *)buf;
	memcpy(hdr->magic, UKVM_PAYLOAD_MAGIC, 8);
	hdr->app_off = sizeof(*hdr);
	hdr->app_size = 16;
	hdr->files_off = hdr->app_off + 16;
	hdr->files_size = 8;
	hdr->syms_off = hdr->files_off + 8;
	hdr->syms_count = 4;
	struct ukvm_sym *s = (struct ukvm_sym *)((char *)buf + hdr->syms_off);
	s[0] = (struct ukvm_sym){ .addr = UKVM_KERNEL_VBASE + 0x100000, .size = 0x40, .name_off = 1 };
	s[1] = (struct ukvm_sym){ .addr = UKVM_KERNEL_VBASE + 0x100100, .size = 0, .name_off = 8 };
	s[2] = (struct ukvm_sym){ .addr = 0x1000, .size = 0x20, .flags = UKVM_SYM_APP | UKVM_SYM_PIE, .name_off = 16 };
	s[3] = (struct ukvm_sym){ .addr = 0x1100, .size = 0x10, .flags = UKVM_SYM_APP | UKVM_SYM_PIE, .name_off = 21 };
	hdr->strs_off = hdr->syms_off + 4 * sizeof(struct ukvm_sym);
	hdr->strs_size = sizeof(strs);
	memcpy((char *)buf + hdr->strs_off, strs, sizeof(strs));
}

static uint64_t total(void)
{
	return hdr->strs_off + hdr->strs_size;
}

START_TEST(parse_and_lookup)
{
	struct payload_view v;
	uint64_t off;
	build();
	ck_assert_int_eq(payload_parse(buf, total(), &v), 0);
	ck_assert_ptr_eq(v.app, (uint8_t *)buf + sizeof(*hdr));
	ck_assert_uint_eq(v.app_size, 16);
	ck_assert_uint_eq(v.files_size, 8);
	ck_assert_uint_eq(v.app_syms, 2);
	ck_assert_str_eq(payload_sym(&v, UKVM_KERNEL_VBASE + 0x100010, &off), "k_boot");
	ck_assert_uint_eq(off, 0x10);
	ck_assert_ptr_null(payload_sym(&v, UKVM_KERNEL_VBASE + 0x100040, &off)); /* past k_boot's size */
	ck_assert_str_eq(payload_sym(&v, UKVM_KERNEL_VBASE + 0x100200, &off), "k_other"); /* size 0: nearest */
	v.app_base = 0x800000;
	ck_assert_str_eq(payload_sym(&v, 0x801108, &off), "helper");
	ck_assert_uint_eq(off, 8);
	ck_assert_str_eq(payload_sym(&v, 0x801000, &off), "main");
	ck_assert_ptr_null(payload_sym(&v, 0x800fff, &off));
	ck_assert_ptr_null(payload_sym(&v, 0x1000, &off)); /* below the base */
}
END_TEST

START_TEST(no_symbols_is_fine)
{
	struct payload_view v;
	uint64_t off;
	build();
	hdr->syms_count = 0;
	ck_assert_int_eq(payload_parse(buf, total(), &v), 0);
	ck_assert_ptr_null(payload_sym(&v, UKVM_KERNEL_VBASE + 0x100010, &off));
}
END_TEST

START_TEST(bad_header)
{
	struct payload_view v;
	build();
	ck_assert_int_eq(payload_parse(buf, sizeof(*hdr) - 1, &v), -EINVAL);
	ck_assert_int_eq(payload_parse(NULL, 100, &v), -EINVAL);
	hdr->magic[0] = 'X';
	ck_assert_int_eq(payload_parse(buf, total(), &v), -EINVAL);
	build();
	hdr->app_size = 0;
	ck_assert_int_eq(payload_parse(buf, total(), &v), -EINVAL);
	build();
	hdr->app_off = UINT64_MAX - 4; /* off + size wraps */
	ck_assert_int_eq(payload_parse(buf, total(), &v), -EINVAL);
	build();
	hdr->files_size = total(); /* past the end */
	ck_assert_int_eq(payload_parse(buf, total(), &v), -EINVAL);
	build();
	hdr->files_off = total() + 1;
	hdr->files_size = 0;
	ck_assert_int_eq(payload_parse(buf, total(), &v), -EINVAL);
}
END_TEST

START_TEST(bad_symbols_disable_lookup)
{
	struct payload_view v;
	uint64_t off;
	build();
	hdr->syms_count = UINT64_MAX / 8; /* count * size overflows */
	ck_assert_int_eq(payload_parse(buf, total(), &v), 0);
	ck_assert_ptr_null(v.syms);
	build();
	hdr->syms_off += 4; /* misaligned */
	ck_assert_int_eq(payload_parse(buf, total(), &v), 0);
	ck_assert_ptr_null(v.syms);
	build();
	((char *)buf)[total() - 1] = 'x'; /* strings not terminated */
	ck_assert_int_eq(payload_parse(buf, total(), &v), 0);
	ck_assert_ptr_null(v.syms);
	build();
	((struct ukvm_sym *)((char *)buf + hdr->syms_off))[3].name_off = 1000; /* name outside strs */
	ck_assert_int_eq(payload_parse(buf, total(), &v), 0);
	v.app_base = 0x800000;
	ck_assert_ptr_null(payload_sym(&v, 0x801100, &off));
	ck_assert_str_eq(payload_sym(&v, 0x801000, &off), "main");
}
END_TEST

Suite *payload_suite(void)
{
	Suite *s = suite_create("payload");
	TCase *c = tcase_create("core");
	tcase_add_test(c, parse_and_lookup);
	tcase_add_test(c, no_symbols_is_fine);
	suite_add_tcase(s, c);
	TCase *h = tcase_create("hostile");
	tcase_add_test(h, bad_header);
	tcase_add_test(h, bad_symbols_disable_lookup);
	suite_add_tcase(s, h);
	return s;
}
