/* check_mem.c: guest-memory mapping and the checked translation mem_ptr (edges, overflow). */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "mem.h"
#include "ukvm_abi.h"

#define SZ (8ull << 20)

START_TEST(test_init_and_edges)
{
	struct mem m;
	ck_assert_int_eq(mem_init(&m, SZ), 0);
	ck_assert_uint_eq(m.size, SZ);
	uint8_t *first = mem_ptr(&m, 0, 1), *last = mem_ptr(&m, SZ - 1, 1);
	ck_assert_ptr_eq(first, m.base);
	ck_assert_ptr_eq(last, m.base + SZ - 1);
	*last = 0xab; /* really mapped and writable */
	ck_assert_uint_eq(*(uint8_t *)mem_ptr(&m, SZ - 1, 1), 0xab);
	ck_assert_uint_eq(*first, 0); /* fresh memory is zero */
	ck_assert_ptr_eq(mem_ptr(&m, 0, SZ), m.base);
	ck_assert_ptr_eq(mem_ptr(&m, SZ, 0), m.base + SZ);
	ck_assert_ptr_eq(mem_ptr(&m, 0x1000, 8), m.base + 0x1000);
	mem_free(&m);
	ck_assert_ptr_null(m.base);
	mem_free(&m); /* twice is harmless */
}
END_TEST

/* 1 when the host page holding gpa is backed (mincore), else 0. */
static int resident(const struct mem *m, uint64_t gpa)
{
	unsigned char v = 0;
	ck_assert_int_eq(mincore(m->base + (gpa & ~0xfffull), 4096, &v), 0);
	return v & 1;
}

/* The VmFlags line of the mapping that starts at base in /proc/self/smaps, or "" when not found. */
static void mem_vmflags(const void *base, char *out, size_t len)
{
	char line[512], start[32];
	snprintf(start, sizeof(start), "%lx-", (unsigned long)(uintptr_t)base);
	FILE *f = fopen("/proc/self/smaps", "re");
	bool in = false;
	out[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		if (strchr(line, '-') && strncmp(line, start, strlen(start)) == 0)
			in = true;
		else if (in && strncmp(line, "VmFlags:", 8) == 0) {
			snprintf(out, len, "%s", line + 8);
			break;
		}
	}
	if (f)
		fclose(f);
}

/* Guest RAM is left out of a monitor core dump (VmFlags "dd"). */
START_TEST(test_dontdump)
{
	struct mem m;
	char flags[512];
	ck_assert_int_eq(mem_init(&m, 16ull << 20), 0);
	mem_vmflags(m.base, flags, sizeof(flags));
	ck_assert_msg(strstr(flags, " dd"), "VmFlags:%s", flags);
	mem_free(&m);
}
END_TEST

START_TEST(test_populate)
{
	struct mem m;
	ck_assert_int_eq(mem_init(&m, SZ), 0);
	*(uint8_t *)mem_ptr(&m, 0x4010, 1) = 0x5c;
	ck_assert_int_eq(resident(&m, 0x3000), 0);
	/* Rounded out to whole pages: 0x3000..0x5fff, not 0x2000 or 0x6000. */
	ck_assert_int_eq(mem_populate(&m, 0x3ff0, 0x2000), 0);
	ck_assert_int_eq(resident(&m, 0x3000), 1);
	ck_assert_int_eq(resident(&m, 0x5000), 1);
	ck_assert_int_eq(resident(&m, 0x2000), 0);
	ck_assert_int_eq(resident(&m, 0x6000), 0);
	ck_assert_uint_eq(*(uint8_t *)mem_ptr(&m, 0x4010, 1), 0x5c); /* contents kept */
	ck_assert_uint_eq(*(uint8_t *)mem_ptr(&m, 0x3000, 1), 0);
	ck_assert_int_eq(mem_populate(&m, SZ - 1, 1), 0); /* last page */
	ck_assert_int_eq(resident(&m, SZ - 1), 1);
	ck_assert_int_eq(mem_populate(&m, SZ, 0), 0);     /* empty: nothing to do */
	mem_free(&m);
}
END_TEST

START_TEST(test_limits)
{
	struct mem m;
	ck_assert_int_eq(mem_init(&m, UKVM_MEM_MIN - (2ull << 20)), -EINVAL);
	ck_assert_int_eq(mem_init(&m, SZ + 4096), -EINVAL);
	ck_assert_int_eq(mem_init(&m, UKVM_MEM_MAX + (2ull << 20)), -EINVAL);
	ck_assert_int_eq(mem_init(&m, 0), -EINVAL);
	ck_assert_ptr_null(m.base);
	ck_assert_ptr_null(mem_ptr(&m, 0, 0)); /* unmapped mem: nothing is valid */
	ck_assert_int_eq(mem_init(&m, SZ), 0);
	ck_assert_ptr_null(mem_ptr(&m, SZ, 1));
	ck_assert_ptr_null(mem_ptr(&m, SZ - 1, 2));
	ck_assert_ptr_null(mem_ptr(&m, 0, SZ + 1));
	ck_assert_ptr_null(mem_ptr(&m, SZ + 1, 0));
	ck_assert_int_eq(mem_populate(&m, SZ - 4096, 4097), -EINVAL); /* one byte past RAM */
	ck_assert_int_eq(mem_populate(&m, SZ, 1), -EINVAL);
	mem_free(&m);
	ck_assert_int_eq(mem_populate(&m, 0, 1), -EINVAL); /* unmapped */
}
END_TEST

START_TEST(test_hostile)
{
	struct mem m;
	ck_assert_int_eq(mem_init(&m, SZ), 0);
	ck_assert_ptr_null(mem_ptr(&m, UINT64_MAX, 2));        /* gpa + len wraps to 1 */
	ck_assert_ptr_null(mem_ptr(&m, 16, UINT64_MAX - 8));   /* len wraps it to 7 */
	ck_assert_ptr_null(mem_ptr(&m, 1, UINT64_MAX));
	ck_assert_ptr_null(mem_ptr(&m, UINT64_MAX, 0));
	ck_assert_ptr_null(mem_ptr(&m, 0xfffffffffffff000ull, 0x1000));
	ck_assert_ptr_null(mem_ptr(&m, 1ull << 63, 1ull << 63));
	ck_assert_int_eq(mem_populate(&m, UINT64_MAX, 2), -EINVAL);     /* wraps */
	ck_assert_int_eq(mem_populate(&m, 0x1000, UINT64_MAX), -EINVAL);
	ck_assert_int_eq(mem_populate(&m, UINT64_MAX - 4095, 4096), -EINVAL);
	mem_free(&m);
}
END_TEST

Suite *mem_suite(void)
{
	Suite *s = suite_create("mem");
	TCase *c = tcase_create("core"), *l = tcase_create("limits"), *h = tcase_create("hostile");
	tcase_add_test(c, test_init_and_edges);
	tcase_add_test(c, test_populate);
	tcase_add_test(c, test_dontdump);
	tcase_add_test(l, test_limits);
	tcase_add_test(h, test_hostile);
	suite_add_tcase(s, c);
	suite_add_tcase(s, l);
	suite_add_tcase(s, h);
	return s;
}
