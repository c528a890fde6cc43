/* check_regdata.c: unit tests of memory-file data in pages and its shared mappings (guest/fs/regdata.c). */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../guest/include/fs.h"
#include "../../guest/include/k.h"
#include "../../guest/include/linux_abi.h"
#include "fs_shim.h"

#define PG 4096u

static uint64_t base_used;

static void setup(void)
{
	fs_shim_reset();
	base_used = fs_shim_pages_used();
}

static struct fs_node *file_new(void)
{
	struct fs_node *n = fs_reg_new(S_IFREG | 0644);
	ck_assert_ptr_nonnull(n);
	return n;
}

static void file_free(struct fs_node *n)
{
	fs_reg_release(n);
	k_free(n);
	ck_assert_uint_eq(fs_shim_pages_used(), base_used); /* every page back */
}

static int all(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

START_TEST(test_pages_holes_and_blocks)
{
	struct fs_node *n = file_new();
	uint8_t buf[3 * PG];
	memset(buf, 'x', sizeof(buf));
	ck_assert_int_eq(fs_reg_write(n, "abc", 3, 5 * PG - 1), 3); /* straddles pages 4 and 5 */
	ck_assert_uint_eq(n->size, 5 * PG + 2);
	ck_assert_uint_eq(fs_reg_blocks(n), 2); /* pages 0-3 are a hole */
	ck_assert_int_eq(fs_reg_read(n, buf, sizeof(buf), 2 * PG - 1), (long)sizeof(buf));
	ck_assert(all(buf, sizeof(buf), 0)); /* pages 1-3 and page 4 up to the write */
	ck_assert_int_eq(fs_reg_read(n, buf, 10, 5 * PG - 1), 3);
	ck_assert(!memcmp(buf, "abc", 3));
	/* A cut inside page 4 frees page 5 and zeroes page 4's tail: growth reads zeros. */
	ck_assert_int_eq(fs_reg_truncate(n, 5 * PG - 1), 0);
	ck_assert_uint_eq(fs_reg_blocks(n), 1);
	ck_assert_int_eq(fs_reg_truncate(n, 6 * PG), 0);
	ck_assert_int_eq(fs_reg_read(n, buf, 3, 5 * PG - 1), 3);
	ck_assert(all(buf, 3, 0));
	ck_assert_int_eq(fs_reg_write(n, "x", 1, FS_MAX_FILE), -EFBIG);
	ck_assert_int_eq(fs_reg_truncate(n, FS_MAX_FILE + 1), -EFBIG);
	file_free(n);
}
END_TEST

/* Pages written one by one are scattered; a shared map gathers them into one run, and every store is the file's. */
START_TEST(test_map_gathers_and_shares)
{
	struct fs_node *n = file_new();
	uint8_t page[PG];
	for (int i = 0; i < 4; i++) {
		memset(page, 'a' + i, PG);
		ck_assert_int_eq(fs_reg_write(n, page, PG, (uint64_t)i * PG), PG);
	}
	uint64_t a, b;
	ck_assert_int_eq(fs_reg_map(n, 0, 4, 0, &a), 0);
	ck_assert_uint_eq(fs_reg_where(n, 0, 4), a);
	uint8_t *m = (uint8_t *)(uintptr_t)a;
	for (int i = 0; i < 4; i++)
		ck_assert(all(m + i * PG, PG, (uint8_t)('a' + i)));
	ck_assert_uint_eq(fs_reg_blocks(n), 4);
	/* A second mapping of part of it is the same memory; stores and writes meet. */
	ck_assert_int_eq(fs_reg_map(n, 1, 2, 0, &b), 0);
	ck_assert_uint_eq(b, a + PG);
	m[PG + 7] = 'Z';
	ck_assert_int_eq(fs_reg_read(n, page, 1, PG + 7), 1);
	ck_assert_int_eq(page[0], 'Z');
	ck_assert_int_eq(fs_reg_write(n, "Q", 1, 3 * PG), 1);
	ck_assert_int_eq(m[3 * PG], 'Q');
	/* Mapped pages cannot move: a run that would need to is refused. */
	ck_assert_int_eq(fs_reg_write(n, "tail", 4, 6 * PG), 4);
	ck_assert_int_eq(fs_reg_map(n, 3, 4, 0, &b), -ENOMEM);
	fs_reg_unmap(n, 1, 2);
	fs_reg_unmap(n, 0, 4);
	ck_assert_int_eq(fs_reg_map(n, 3, 4, 0, &b), 0); /* nothing mapped: moved into one run */
	ck_assert_int_eq(((uint8_t *)(uintptr_t)b)[0], 'Q');
	ck_assert(!memcmp((uint8_t *)(uintptr_t)b + 3 * PG, "tail", 4));
	fs_reg_unmap(n, 3, 4);
	ck_assert_int_eq(fs_reg_map(n, UINT64_MAX / PG, 2, 0, &b), -EOVERFLOW);
	ck_assert_int_eq(fs_reg_map(n, FS_MAX_FILE / PG, 1, 0, &b), -EOVERFLOW);
	file_free(n);
}
END_TEST

/* Mapped past EOF, cut and regrown: what a mapping left past EOF never shows through read or after growth. */
START_TEST(test_truncate_while_mapped)
{
	struct fs_node *n = file_new();
	uint8_t buf[PG];
	ck_assert_int_eq(fs_reg_truncate(n, 100), 0);
	uint64_t a;
	ck_assert_int_eq(fs_reg_map(n, 0, 3, 0, &a), 0);
	uint8_t *m = (uint8_t *)(uintptr_t)a;
	ck_assert(all(m, 3 * PG, 0));
	memset(m, 'm', 3 * PG); /* scribbles past EOF too */
	ck_assert_int_eq(fs_reg_read(n, buf, PG, 0), 100);
	ck_assert_int_eq(fs_reg_write(n, "w", 1, 2 * PG), 1); /* growth zeroes the gap in mapped pages */
	ck_assert(all(m + 100, 2 * PG - 100, 0));
	ck_assert_int_eq(m[2 * PG], 'w');
	ck_assert(all(m + 2 * PG + 1, PG - 1, 'm')); /* past the new EOF: still the mapping's bytes */
	ck_assert_int_eq(fs_reg_truncate(n, 10), 0); /* a cut zeroes the page's tail and the mapped pages after it */
	ck_assert(all(m, 10, 'm') && all(m + 10, 3 * PG - 10, 0));
	ck_assert_uint_eq(fs_reg_blocks(n), 3);
	memset(m + 10, 'p', 3 * PG - 10);
	fs_reg_unmap(n, 0, 3); /* the last mapping goes: pages past EOF are freed, the tail cleared */
	ck_assert_uint_eq(fs_reg_blocks(n), 1);
	ck_assert_int_eq(fs_reg_truncate(n, PG), 0);
	ck_assert_int_eq(fs_reg_read(n, buf, PG, 0), PG);
	ck_assert(all(buf, 10, 'm') && all(buf + 10, PG - 10, 0));
	file_free(n);
}
END_TEST

/* A borrowed (archive) file mapped shared gets its own copy; the archive's bytes are never written. */
START_TEST(test_borrowed_and_fixed)
{
	static const char archive[] = "archive bytes, read-only";
	struct fs_node *n = file_new();
	n->data = (uint8_t *)(uintptr_t)archive;
	n->size = sizeof(archive) - 1;
	n->borrowed = true;
	ck_assert_uint_eq(fs_reg_where(n, 0, 1), 0);
	/* want: the caller's zeroed pages become the file's. */
	uint8_t *want = k_pages_alloc(2);
	ck_assert_ptr_nonnull(want);
	uint64_t a;
	ck_assert_int_eq(fs_reg_map(n, 0, 2, (uint64_t)(uintptr_t)want, &a), 0);
	ck_assert_uint_eq(a, (uint64_t)(uintptr_t)want);
	ck_assert(!n->borrowed && !memcmp(want, archive, sizeof(archive) - 1));
	want[0] = 'A';
	ck_assert_int_eq(archive[0], 'a');
	char c;
	ck_assert_int_eq(fs_reg_read(n, &c, 1, 0), 1);
	ck_assert_int_eq(c, 'A');
	fs_reg_unmap(n, 0, 2);
	file_free(n);
}
END_TEST

/* Out of pages: the write fails whole and the file is as it was. */
START_TEST(test_out_of_pages)
{
	struct fs_node *n = file_new();
	ck_assert_int_eq(fs_reg_write(n, "keep", 4, 0), 4);
	fs_shim_fail_alloc_after = 1;
	ck_assert_int_eq(fs_reg_write(n, "x", 1, 10 * PG), -ENOSPC); /* the entry array cannot grow */
	fs_shim_fail_alloc_after = 0;
	ck_assert_uint_eq(n->size, 4);
	file_free(n);
}
END_TEST

Suite *regdata_suite(void)
{
	Suite *s = suite_create("regdata");
	TCase *c = tcase_create("core");
	tcase_add_checked_fixture(c, setup, NULL);
	tcase_add_test(c, test_pages_holes_and_blocks);
	tcase_add_test(c, test_map_gathers_and_shares);
	tcase_add_test(c, test_truncate_while_mapped);
	tcase_add_test(c, test_borrowed_and_fixed);
	tcase_add_test(c, test_out_of_pages);
	suite_add_tcase(s, c);
	return s;
}
