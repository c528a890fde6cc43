/* check_kmalloc.c: the guest kernel heap (guest/kernel/kmalloc.c) on host pages (tests/build.mk, group gheap). */
#include <check.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "k.h"

#define PAGE 4096

static unsigned pages_given;
static unsigned pages_limit = ~0u;

/* The page allocator kmalloc sits on: zeroed, page-aligned, counted. */
void *k_pages_alloc(size_t npages)
{
	if (pages_given + npages > pages_limit)
		return NULL;
	void *p = aligned_alloc(PAGE, npages * PAGE);
	if (p) {
		memset(p, 0, npages * PAGE);
		pages_given += (unsigned)npages;
	}
	return p;
}

void k_pages_free(void *p, size_t npages)
{
	(void)npages;
	free(p);
}

_Noreturn void k_panic(const char *fmt, ...)
{
	(void)fmt;
	abort();
}

/* Small blocks of every size class share pages: the first boot allocations touch one page, not one per class. */
START_TEST(classes_share_a_page)
{
	unsigned before = pages_given;
	size_t sizes[] = {8, 40, 100, 200, 500, 1000, 2000};
	void *p[7];
	for (int i = 0; i < 7; i++) {
		p[i] = k_malloc(sizes[i]);
		ck_assert_ptr_nonnull(p[i]);
		ck_assert_uint_eq((uintptr_t)p[i] % 16, 0);
		memset(p[i], i, sizes[i]);
	}
	ck_assert_uint_le(pages_given - before, 2);
	for (int i = 0; i < 7; i++) {
		for (size_t j = 0; j < sizes[i]; j++)
			ck_assert_uint_eq(((unsigned char *)p[i])[j], (unsigned)i);
		k_free(p[i]);
	}
}
END_TEST

START_TEST(many_blocks_no_overlap)
{
	enum { N = 3000 };
	static unsigned char *b[N];
	for (int i = 0; i < N; i++) {
		size_t n = 1 + (size_t)(i * 7919) % 2000;
		b[i] = k_malloc(n);
		ck_assert_ptr_nonnull(b[i]);
		memset(b[i], (unsigned char)i, n);
	}
	for (int i = 0; i < N; i++) {
		size_t n = 1 + (size_t)(i * 7919) % 2000;
		for (size_t j = 0; j < n; j += 97)
			ck_assert_uint_eq(b[i][j], (unsigned char)i);
	}
	for (int i = 0; i < N; i += 2)
		k_free(b[i]);
	for (int i = 0; i < N; i += 2) {
		b[i] = k_calloc(1, 64);
		ck_assert_ptr_nonnull(b[i]);
		for (int j = 0; j < 64; j++)
			ck_assert_uint_eq(b[i][j], 0);
	}
}
END_TEST

START_TEST(realloc_and_big_blocks)
{
	char *p = k_malloc(10);
	memcpy(p, "0123456789", 10);
	p = k_realloc(p, 50000);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(memcmp(p, "0123456789", 10), 0);
	ck_assert_uint_eq((uintptr_t)p % 16, 0);
	k_free(p);
	ck_assert_ptr_null(k_calloc(SIZE_MAX / 2, 4));
}
END_TEST

/* k_malloc_size: a block's whole footprint, its power-of-two class or its pages, never less than asked. */
START_TEST(block_sizes)
{
	ck_assert_uint_eq(k_malloc_size(NULL), 0);
	size_t sizes[] = {1, 16, 17, 100, 1000, 2000, 5000, 50000};
	for (int i = 0; i < 8; i++) {
		void *p = k_malloc(sizes[i]);
		size_t n = k_malloc_size(p);
		ck_assert_uint_gt(n, sizes[i]);                          /* the header too */
		ck_assert_msg(!(n & (n - 1)) || n % PAGE == 0, "%zu", n); /* a class or whole pages */
		ck_assert_uint_le(n, sizes[i] <= PAGE / 2 ? 2 * sizes[i] + 32 : sizes[i] + PAGE + 32);
		k_free(p);
	}
	void *a = k_malloc(100), *b = k_malloc(110); /* 16-byte header: both fit 128 */
	ck_assert_uint_eq(k_malloc_size(a), k_malloc_size(b)); /* one class */
	k_free(a);
	k_free(b);
}
END_TEST

START_TEST(out_of_pages_is_null)
{
	pages_limit = pages_given;
	ck_assert_ptr_null(k_malloc(100000));
	void *last = NULL;
	for (int i = 0; i < 1000; i++) { /* the current page runs out, then NULL */
		void *q = k_malloc(2000);
		if (!q)
			break;
		last = q;
	}
	ck_assert_ptr_null(k_malloc(2000));
	pages_limit = ~0u;
	(void)last;
}
END_TEST

START_TEST(double_free_panics)
{
	void *p = k_malloc(32);
	k_free(p);
	k_free(p);
}
END_TEST

Suite *kmalloc_suite(void)
{
	Suite *s = suite_create("kmalloc");
	TCase *c = tcase_create("core");
	tcase_add_test(c, classes_share_a_page);
	tcase_add_test(c, many_blocks_no_overlap);
	tcase_add_test(c, realloc_and_big_blocks);
	tcase_add_test(c, block_sizes);
	suite_add_tcase(s, c);
	TCase *l = tcase_create("limits");
	tcase_add_test(l, out_of_pages_is_null);
	suite_add_tcase(s, l);
	TCase *h = tcase_create("hostile");
	tcase_add_test_raise_signal(h, double_free_panics, SIGABRT);
	suite_add_tcase(s, h);
	return s;
}
