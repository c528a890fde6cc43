/* check_payload.c: unit tests of payload validation and symbol lookup (guest/kernel/payload.c). */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "../../guest/include/payload.h"
#include "elf.h"

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

/* Payload size for with_name's layout. */
static uint64_t named_total(void)
{
	return ((total() + 7) & ~7ull) + 32;
}

/* struct ukvm_payload_name right after the header (where the app was), the name (size bytes) after strs, then the app. */
static void with_name(const char *name, uint64_t size)
{
	uint64_t at = (total() + 7) & ~7ull;
	struct ukvm_payload_name nm = { .name_off = at, .name_size = size };
	hdr->flags |= UKVM_PAYLOAD_APP_NAME;
	memcpy((char *)buf + sizeof(*hdr), &nm, sizeof(nm));
	memset((char *)buf + at, 'x', 16);
	memcpy((char *)buf + at, name, size < 16 ? size : 16);
	hdr->app_off = at + 16;
}

START_TEST(app_name)
{
	struct payload_view v;
	build();
	ck_assert_int_eq(payload_parse(buf, total(), &v), 0);
	ck_assert_ptr_null(v.app_name); /* an older ukvm-build: argv[0] stays the image path */
	with_name("args", 5);
	ck_assert_int_eq(payload_parse(buf, named_total(), &v), 0);
	ck_assert_str_eq(v.app_name, "args");
	ck_assert_uint_eq(v.flags & UKVM_PAYLOAD_APP_NAME, UKVM_PAYLOAD_APP_NAME);
}
END_TEST

/* A name must be inside the payload, non-empty, at most UKVM_PAYLOAD_NAME_MAX and end exactly at its NUL. */
START_TEST(app_name_hostile)
{
	struct payload_view v;
	build();
	with_name("", 1);
	ck_assert_int_eq(payload_parse(buf, named_total(), &v), -EINVAL);
	build();
	with_name("abc", 3); /* no NUL at the end */
	ck_assert_int_eq(payload_parse(buf, named_total(), &v), -EINVAL);
	build();
	with_name("a\0b", 4); /* a NUL inside */
	ck_assert_int_eq(payload_parse(buf, named_total(), &v), -EINVAL);
	build();
	with_name("args", 5);
	struct ukvm_payload_name nm = { .name_off = UINT64_MAX - 2, .name_size = 5 }; /* off + size wraps */
	memcpy((char *)buf + sizeof(*hdr), &nm, sizeof(nm));
	ck_assert_int_eq(payload_parse(buf, named_total(), &v), -EINVAL);
	nm = (struct ukvm_payload_name){ .name_off = 0, .name_size = UKVM_PAYLOAD_NAME_MAX + 1 };
	memcpy((char *)buf + sizeof(*hdr), &nm, sizeof(nm));
	ck_assert_int_eq(payload_parse(buf, named_total(), &v), -EINVAL);
	/* The flag with no room for its struct after the header. */
	build();
	hdr->flags |= UKVM_PAYLOAD_APP_NAME;
	ck_assert_int_eq(payload_parse(buf, sizeof(*hdr) + 8, &v), -EINVAL);
}
END_TEST

START_TEST(parse_and_lookup)
{
	struct payload_view v;
	uint64_t off;
	build();
	ck_assert_int_eq(payload_parse(buf, named_total(), &v), 0);
	ck_assert_ptr_eq(v.app, (uint8_t *)buf + sizeof(*hdr));
	ck_assert_uint_eq(v.app_size, 16);
	ck_assert_uint_eq(v.files_size, 8);
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
	((char *)buf)[total() - 1] = 'x'; /* strings not terminated: found by the lookup, not at parse */
	ck_assert_int_eq(payload_parse(buf, total(), &v), 0);
	v.app_base = 0x800000;
	ck_assert_ptr_null(payload_sym(&v, 0x801000, &off));
	ck_assert_ptr_null(payload_sym(&v, UKVM_KERNEL_VBASE + 0x100010, &off));
	build();
	((struct ukvm_sym *)((char *)buf + hdr->syms_off))[3].name_off = 1000; /* name outside strs */
	ck_assert_int_eq(payload_parse(buf, total(), &v), 0);
	v.app_base = 0x800000;
	ck_assert_ptr_null(payload_sym(&v, 0x801100, &off));
	ck_assert_str_eq(payload_sym(&v, 0x801000, &off), "main");
}
END_TEST

START_TEST(flags)
{
	struct payload_view v;
	build();
	ck_assert_int_eq(payload_parse(buf, total(), &v), 0);
	ck_assert_uint_eq(v.flags, 0);
	hdr->flags = UKVM_PAYLOAD_APP_PLACED;
	ck_assert_int_eq(payload_parse(buf, total(), &v), 0);
	ck_assert_uint_eq(v.flags, UKVM_PAYLOAD_APP_PLACED);
	hdr->flags = UKVM_PAYLOAD_APP_PLACED | 4; /* an unknown bit: an image from a newer ukvm-build */
	ck_assert_int_eq(payload_parse(buf, total(), &v), -EINVAL);
	hdr->flags = 1ull << 63;
	ck_assert_int_eq(payload_parse(buf, total(), &v), -EINVAL);
}
END_TEST

/* A placed non-PIE app like musl's hello: four PT_LOADs (one sharing no page), a GNU_STACK, a 0-size PT_LOAD. */
static struct elf64_phdr pl_ph[6];
static struct elf_info pl_in;
static struct payload_range pl_avoid[2];
static uint64_t pl_res_lo, pl_res_hi; /* the reserved range the callback reports */
static unsigned pl_calls;
static uint64_t pl_last_start, pl_last_len;

static bool pl_reserved(void *ctx, uint64_t start, uint64_t len)
{
	ck_assert_ptr_eq(ctx, &pl_calls);
	pl_calls++;
	pl_last_start = start;
	pl_last_len = len;
	return start >= pl_res_lo && len <= pl_res_hi - start;
}

static void pl_build(void)
{
	memset(&pl_in, 0, sizeof(pl_in));
	pl_ph[0] = (struct elf64_phdr){ ELF64_PT_LOAD, ELF64_PF_R, 0, 0x400000, 0x400000, 0x190, 0x190, 0x1000 };
	pl_ph[1] = (struct elf64_phdr){ ELF64_PT_LOAD, ELF64_PF_R | ELF64_PF_X, 0x1000, 0x401000, 0x401000, 0x1061,
					0x1061, 0x1000 };
	pl_ph[2] = (struct elf64_phdr){ ELF64_PT_LOAD, ELF64_PF_R, 0x3000, 0x403000, 0x403000, 0x54, 0x54, 0x1000 };
	pl_ph[3] = (struct elf64_phdr){ ELF64_PT_LOAD, ELF64_PF_R | ELF64_PF_W, 0x3fc0, 0x404fc0, 0x404fc0, 0x150,
					0x7f8, 0x1000 };
	pl_ph[4] = (struct elf64_phdr){ ELF64_PT_GNU_STACK, ELF64_PF_R | ELF64_PF_W, 0, 0, 0, 0, 0, 16 };
	pl_ph[5] = (struct elf64_phdr){ ELF64_PT_LOAD, ELF64_PF_R, 0, 0x10, 0x10, 0, 0, 0x1000 }; /* empty: ignored */
	pl_in.ph = pl_ph;
	pl_in.phnum = 6;
	pl_in.lo = 0x10;
	pl_in.hi = 0x4057b8;
	pl_avoid[0] = (struct payload_range){ 0x100000, 0x13a000 }; /* kernel */
	pl_avoid[1] = (struct payload_range){ 0x600000, 0x60b000 }; /* payload */
	pl_res_lo = 0x400000;
	pl_res_hi = 0x406000;
	pl_calls = 0;
}

static int pl_check(int *bad)
{
	return payload_check_placed(&pl_in, 64ull << 20, pl_avoid, 2, pl_reserved, &pl_calls, bad);
}

START_TEST(placed_ok)
{
	int bad = 99;
	pl_build();
	ck_assert_int_eq(pl_check(&bad), 0);
	ck_assert_int_eq(bad, -1);
	ck_assert_uint_eq(pl_calls, 4); /* the empty PT_LOAD and GNU_STACK are not looked at */
	/* Widened to pages: [0x404000, 0x406000) for 0x404fc0 + 0x7f8. */
	ck_assert_uint_eq(pl_last_start, 0x404000);
	ck_assert_uint_eq(pl_last_len, 0x2000);
}
END_TEST

START_TEST(placed_refusals)
{
	int bad;
	pl_build();
	pl_in.pie = true; /* a PIE app is never placed */
	ck_assert_int_eq(pl_check(&bad), -ENOEXEC);
	ck_assert_int_eq(bad, -1);
	ck_assert_uint_eq(pl_calls, 0);

	pl_build();
	pl_res_hi = 0x405000; /* the reserve map misses the last bss page */
	ck_assert_int_eq(pl_check(&bad), -ENOEXEC);
	ck_assert_int_eq(bad, 3);

	pl_build();
	pl_ph[2].p_vaddr = 0xff000; /* under the boot structures */
	ck_assert_int_eq(pl_check(&bad), -ENOEXEC);
	ck_assert_int_eq(bad, 2);

	pl_build();
	pl_ph[1].p_vaddr = 0x139800; /* its first page is the kernel's last */
	ck_assert_int_eq(pl_check(&bad), -ENOEXEC);
	ck_assert_int_eq(bad, 1);

	pl_build();
	pl_ph[3].p_vaddr = 0x5ffff0; /* its bss runs into the payload */
	ck_assert_int_eq(pl_check(&bad), -ENOEXEC);
	ck_assert_int_eq(bad, 3);

	pl_build();
	ck_assert_int_eq(payload_check_placed(&pl_in, 0x405000, pl_avoid, 2, pl_reserved, &pl_calls, &bad), -ENOEXEC);
	ck_assert_int_eq(bad, 3); /* past RAM */
}
END_TEST

START_TEST(placed_wrap)
{
	int bad;
	pl_build();
	pl_ph[0].p_vaddr = UINT64_MAX - 0x100; /* ends inside the last page: the round-up would wrap */
	pl_ph[0].p_memsz = 0x80;
	ck_assert_int_eq(pl_check(&bad), -ENOEXEC);
	ck_assert_int_eq(bad, 0);
	pl_ph[0].p_vaddr = UINT64_MAX - 0x2fff; /* rounds up to 2^64 - 0x1000: past RAM */
	ck_assert_int_eq(pl_check(&bad), -ENOEXEC);
	ck_assert_int_eq(bad, 0);
}
END_TEST

Suite *payload_suite(void)
{
	Suite *s = suite_create("payload");
	TCase *c = tcase_create("core");
	tcase_add_test(c, parse_and_lookup);
	tcase_add_test(c, app_name);
	tcase_add_test(c, no_symbols_is_fine);
	tcase_add_test(c, flags);
	tcase_add_test(c, placed_ok);
	suite_add_tcase(s, c);
	TCase *l = tcase_create("limits");
	tcase_add_test(l, placed_wrap);
	suite_add_tcase(s, l);
	TCase *h = tcase_create("hostile");
	tcase_add_test(h, bad_header);
	tcase_add_test(h, app_name_hostile);
	tcase_add_test(h, bad_symbols_disable_lookup);
	tcase_add_test(h, placed_refusals);
	suite_add_tcase(s, h);
	return s;
}
