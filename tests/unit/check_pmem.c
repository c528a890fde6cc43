/* check_pmem.c: unit tests of the guest's extent page allocator (guest/kernel/pmem.c). */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../guest/include/pmem.h"

#define MB (1ull << 20)
#define PG PMEM_PAGE

static struct pmem *pm;
static uint64_t zeroed; /* bytes the allocator asked to clear */
static uint64_t zero_last;

static void t_zero(void *ctx, uint64_t addr, uint64_t len)
{
	(void)ctx;
	zeroed += len;
	zero_last = addr;
}

static void setup(void)
{
	pm = calloc(1, sizeof(*pm));
	zeroed = 0;
	pmem_init(pm, 64 * MB, t_zero, NULL);
	ck_assert_int_eq(pmem_reserve(pm, 0, MB), 0);
}

static void teardown(void)
{
	free(pm);
}

/* Invariants: sorted, gap-free cover of [0, size), neighbours differ. */
static void check_invariants(void)
{
	ck_assert_uint_ge(pm->n, 1);
	ck_assert_uint_eq(pm->ext[0].start, 0);
	ck_assert_uint_eq(pm->ext[pm->n - 1].end, pm->size);
	for (unsigned i = 0; i < pm->n; i++) {
		ck_assert_uint_lt(pm->ext[i].start, pm->ext[i].end);
		if (i) {
			ck_assert_uint_eq(pm->ext[i - 1].end, pm->ext[i].start);
			ck_assert_uint_ne(pm->ext[i - 1].state, pm->ext[i].state);
		}
	}
}

START_TEST(alloc_top_down_pristine_not_zeroed)
{
	uint64_t a, b;
	ck_assert_int_eq(pmem_alloc(pm, 2, PMEM_KERNEL, &a), 0);
	ck_assert_uint_eq(a, 64 * MB - 2 * PG);
	ck_assert_int_eq(pmem_alloc(pm, 1, PMEM_APP, &b), 0);
	ck_assert_uint_eq(b, 64 * MB - 3 * PG);
	ck_assert_uint_eq(zeroed, 0); /* pristine memory is never touched */
	ck_assert(pmem_range_is(pm, a, 2 * PG, PMEM_BIT(PMEM_KERNEL)));
	ck_assert(!pmem_range_is(pm, b, 2 * PG, PMEM_BIT(PMEM_APP)));
	ck_assert_uint_eq(pmem_free_bytes(pm), 63 * MB - 3 * PG);
	check_invariants();
}
END_TEST

START_TEST(free_then_realloc_zeroes_dirty_only)
{
	uint64_t a, b;
	ck_assert_int_eq(pmem_alloc(pm, 4, PMEM_KERNEL, &a), 0);
	ck_assert_int_eq(pmem_free(pm, a, 4, PMEM_KERNEL), 0);
	check_invariants();
	ck_assert_uint_eq(pmem_free_bytes(pm), 63 * MB);
	/* 6 pages: the top 4 are dirty, the 2 below pristine. */
	ck_assert_int_eq(pmem_alloc(pm, 6, PMEM_KERNEL, &b), 0);
	ck_assert_uint_eq(b, 64 * MB - 6 * PG);
	ck_assert_uint_eq(zeroed, 4 * PG);
	ck_assert_uint_eq(zero_last, a);
	check_invariants();
}
END_TEST

START_TEST(claim_at_and_conflicts)
{
	ck_assert_int_eq(pmem_claim(pm, 4 * MB, 16, PMEM_APP, false, false), 0);
	/* overlapping claim fails unless the owner may re-take its pages */
	ck_assert_int_eq(pmem_claim(pm, 4 * MB + 8 * PG, 16, PMEM_APP, false, false), -ENOMEM);
	ck_assert_int_eq(pmem_claim(pm, 4 * MB + 8 * PG, 16, PMEM_APP, true, true), 0);
	ck_assert_uint_eq(zeroed, 8 * PG); /* the 8 re-taken pages were cleared */
	/* reserved memory is never claimable */
	ck_assert_int_eq(pmem_claim(pm, 0, 1, PMEM_APP, true, false), -ENOMEM);
	ck_assert_int_eq(pmem_claim(pm, MB - PG, 2, PMEM_APP, true, false), -ENOMEM);
	/* kernel pages are not the app's */
	uint64_t k;
	ck_assert_int_eq(pmem_alloc(pm, 1, PMEM_KERNEL, &k), 0);
	ck_assert_int_eq(pmem_claim(pm, k, 1, PMEM_APP, true, false), -ENOMEM);
	check_invariants();
}
END_TEST

START_TEST(free_only_owner_pages)
{
	uint64_t k;
	ck_assert_int_eq(pmem_claim(pm, 2 * MB, 4, PMEM_APP, false, false), 0);
	ck_assert_int_eq(pmem_alloc(pm, 1, PMEM_KERNEL, &k), 0);
	/* freeing a range spanning reserved, app and free memory frees only the app's pages */
	ck_assert_int_eq(pmem_free(pm, 0, (4 * MB) / PG, PMEM_APP), 0);
	ck_assert(pmem_range_is(pm, 0, MB, PMEM_BIT(PMEM_RESERVED)));
	ck_assert(pmem_range_is(pm, 2 * MB, 4 * PG, PMEM_BIT(PMEM_DIRTY)));
	ck_assert(pmem_range_is(pm, k, PG, PMEM_BIT(PMEM_KERNEL)));
	check_invariants();
}
END_TEST

/* A placed app's pages come in reserved; adopting them for the app makes them its own, unzeroed. */
START_TEST(adopt_reserved_for_app)
{
	ck_assert_int_eq(pmem_reserve(pm, 4 * MB, 3 * PG), 0);
	ck_assert_int_eq(pmem_adopt(pm, 4 * MB, 2, PMEM_BIT(PMEM_RESERVED), PMEM_APP), 0);
	/* the second segment shares a page with the first: already the app's */
	ck_assert_int_eq(pmem_adopt(pm, 4 * MB + PG, 2, PMEM_BIT(PMEM_RESERVED) | PMEM_BIT(PMEM_APP), PMEM_APP), 0);
	ck_assert_uint_eq(zeroed, 0);
	ck_assert(pmem_range_is(pm, 4 * MB, 3 * PG, PMEM_BIT(PMEM_APP)));
	check_invariants();
	/* a free page in the range refuses the whole adoption, changing nothing */
	ck_assert_int_eq(pmem_adopt(pm, 4 * MB, 4, PMEM_BIT(PMEM_APP), PMEM_APP), -ENOMEM);
	ck_assert(pmem_range_is(pm, 4 * MB + 3 * PG, PG, PMEM_FREE_MASK));
	ck_assert_int_eq(pmem_adopt(pm, 4 * MB + 1, 1, PMEM_BIT(PMEM_APP), PMEM_APP), -EINVAL);
	ck_assert_int_eq(pmem_adopt(pm, 4 * MB, 1, PMEM_BIT(PMEM_APP), PMEM_PRISTINE), -EINVAL);
	/* now the app may free them like any of its pages */
	ck_assert_int_eq(pmem_free(pm, 4 * MB, 3, PMEM_APP), 0);
	ck_assert(pmem_range_is(pm, 4 * MB, 3 * PG, PMEM_BIT(PMEM_DIRTY)));
	check_invariants();
}
END_TEST

START_TEST(merge_back_to_one)
{
	uint64_t a[8];
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(pmem_alloc(pm, 1 + i, PMEM_KERNEL, &a[i]), 0);
	for (int i = 7; i >= 0; i -= 2)
		ck_assert_int_eq(pmem_free(pm, a[i], 1 + i, PMEM_KERNEL), 0);
	for (int i = 6; i >= 0; i -= 2)
		ck_assert_int_eq(pmem_free(pm, a[i], 1 + i, PMEM_KERNEL), 0);
	check_invariants();
	/* reserved, pristine, dirty */
	ck_assert_uint_eq(pm->n, 3);
}
END_TEST

START_TEST(out_of_memory)
{
	uint64_t a;
	ck_assert_int_eq(pmem_alloc(pm, (64 * MB) / PG, PMEM_APP, &a), -ENOMEM);
	ck_assert_int_eq(pmem_alloc(pm, (63 * MB) / PG, PMEM_APP, &a), 0);
	ck_assert_uint_eq(a, MB);
	ck_assert_int_eq(pmem_alloc(pm, 1, PMEM_APP, &a), -ENOMEM);
	ck_assert_uint_eq(pmem_free_bytes(pm), 0);
}
END_TEST

START_TEST(fragmented_run_across_states)
{
	/* A free run made of dirty and pristine pieces is one run for the allocator. */
	uint64_t a;
	ck_assert_int_eq(pmem_claim(pm, 10 * MB, 1, PMEM_APP, false, false), 0);
	ck_assert_int_eq(pmem_free(pm, 10 * MB, 1, PMEM_APP), 0);
	ck_assert_int_eq(pmem_claim(pm, MB, 1, PMEM_APP, false, false), 0);
	ck_assert_int_eq(pmem_alloc(pm, (63 * MB) / PG - 1, PMEM_APP, &a), 0);
	ck_assert_uint_eq(a, MB + PG);
	ck_assert_uint_eq(zeroed, PG);
}
END_TEST

START_TEST(extent_table_full)
{
	/* Alternating app pages split RAM into many extents: the table fills and says so, cleanly. */
	int rc = 0;
	uint64_t addr = 2 * MB;
	unsigned i;
	for (i = 0; i < PMEM_MAX_EXT; i++, addr += 2 * PG) {
		rc = pmem_claim(pm, addr, 1, PMEM_APP, false, false);
		if (rc)
			break;
	}
	ck_assert_int_eq(rc, -ENOMEM);
	ck_assert_uint_le(pm->n, PMEM_MAX_EXT);
	check_invariants();
	/* freeing still works when it merges */
	ck_assert_int_eq(pmem_free(pm, 2 * MB, 1, PMEM_APP), 0);
	check_invariants();
}
END_TEST

START_TEST(bad_ranges)
{
	uint64_t a;
	ck_assert_int_eq(pmem_claim(pm, 4 * MB + 1, 1, PMEM_APP, false, false), -EINVAL);
	ck_assert_int_eq(pmem_claim(pm, 64 * MB, 1, PMEM_APP, false, false), -EINVAL);
	ck_assert_int_eq(pmem_claim(pm, 64 * MB - PG, 2, PMEM_APP, false, false), -EINVAL);
	ck_assert_int_eq(pmem_claim(pm, UINT64_MAX & ~(PG - 1), 2, PMEM_APP, false, false), -EINVAL);
	ck_assert_int_eq(pmem_claim(pm, 4 * MB, UINT64_MAX / PG, PMEM_APP, false, false), -EINVAL);
	ck_assert_int_eq(pmem_claim(pm, 4 * MB, 0, PMEM_APP, false, false), -EINVAL);
	ck_assert_int_eq(pmem_free(pm, UINT64_MAX - PG + 1, 1, PMEM_APP), -EINVAL);
	ck_assert_int_eq(pmem_free(pm, MB, 1, PMEM_RESERVED), -EINVAL);
	ck_assert_int_eq(pmem_alloc(pm, 0, PMEM_APP, &a), -EINVAL);
	ck_assert_int_eq(pmem_alloc(pm, UINT64_MAX, PMEM_APP, &a), -EINVAL);
	ck_assert_int_eq(pmem_alloc(pm, 1, PMEM_DIRTY, &a), -EINVAL);
	ck_assert(!pmem_range_is(pm, 64 * MB - PG, 2 * PG, PMEM_FREE_MASK));
	ck_assert(!pmem_range_is(pm, UINT64_MAX, 2, PMEM_FREE_MASK));
	ck_assert(!pmem_range_is(pm, MB, 0, PMEM_FREE_MASK));
	/* a reserve past RAM is clipped, one overflowing is too */
	ck_assert_int_eq(pmem_reserve(pm, 63 * MB, UINT64_MAX), 0);
	ck_assert(pmem_range_is(pm, 63 * MB, MB, PMEM_BIT(PMEM_RESERVED)));
	ck_assert_uint_eq(pmem_free_bytes(pm), 62 * MB);
	check_invariants();
}
END_TEST

Suite *pmem_suite(void)
{
	Suite *s = suite_create("pmem");
	TCase *c = tcase_create("core");
	tcase_add_checked_fixture(c, setup, teardown);
	tcase_add_test(c, alloc_top_down_pristine_not_zeroed);
	tcase_add_test(c, free_then_realloc_zeroes_dirty_only);
	tcase_add_test(c, claim_at_and_conflicts);
	tcase_add_test(c, free_only_owner_pages);
	tcase_add_test(c, merge_back_to_one);
	tcase_add_test(c, adopt_reserved_for_app);
	suite_add_tcase(s, c);
	TCase *l = tcase_create("limits");
	tcase_add_checked_fixture(l, setup, teardown);
	tcase_add_test(l, out_of_memory);
	tcase_add_test(l, fragmented_run_across_states);
	tcase_add_test(l, extent_table_full);
	suite_add_tcase(s, l);
	TCase *h = tcase_create("hostile");
	tcase_add_checked_fixture(h, setup, teardown);
	tcase_add_test(h, bad_ranges);
	suite_add_tcase(s, h);
	return s;
}
