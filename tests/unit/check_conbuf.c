/* check_conbuf.c: unit suite "conbuf" (vmm/conbuf.c): the monitor's drain of the guest's console buffer, in order, resumable, and safe from hostile contents. */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "conbuf.h"
#include "ukvm_abi.h"

/* What the fake console got: every byte with its stream, in order. */
static struct {
	uint8_t bytes[1 << 16];
	uint8_t streams[1 << 16];
	size_t len;
	size_t writes;
	size_t stop_after; /* != 0: the write that would pass this many bytes in all stops there with -EINTR */
	int fail;          /* != 0: every write fails with this, nothing written */
} got;

static ssize_t fake_write(void *ctx, unsigned stream, const void *buf, size_t len, size_t *sent)
{
	(void)ctx;
	got.writes++;
	*sent = 0;
	if (got.fail)
		return got.fail;
	size_t n = len;
	bool stop = got.stop_after && got.len + len > got.stop_after;
	if (stop)
		n = got.stop_after - got.len;
	ck_assert_uint_le(got.len + n, sizeof(got.bytes));
	memcpy(got.bytes + got.len, buf, n);
	memset(got.streams + got.len, (int)stream, n);
	got.len += n;
	*sent = n;
	return stop ? -EINTR : (ssize_t)len;
}

static struct mem m;
static struct conbuf cb;
static uint8_t *hdr;
static char why[200];

static void setup(void)
{
	memset(&got, 0, sizeof(got));
	ck_assert_int_eq(mem_init(&m, UKVM_MEM_MIN), 0);
	ck_assert_int_eq(conbuf_init(&cb, &m, UKVM_CONBUF_GPA, UKVM_CONBUF_SIZE), 0);
	hdr = mem_ptr(&m, UKVM_CONBUF_GPA, UKVM_CONBUF_SIZE);
	ck_assert_ptr_nonnull(hdr);
	why[0] = 0;
}

static void teardown(void)
{
	mem_free(&m);
}

static uint64_t used_get(void)
{
	uint64_t u;
	memcpy(&u, hdr, sizeof(u));
	return u;
}

static void used_set(uint64_t u)
{
	memcpy(hdr, &u, sizeof(u));
}

/* Appends a record as the guest does (unaligned headers included). */
static void put(uint32_t stream, const char *s)
{
	uint64_t u = used_get();
	struct ukvm_conrec r = { stream, (uint32_t)strlen(s) };
	memcpy(hdr + sizeof(struct ukvm_conbuf) + u, &r, sizeof(r));
	memcpy(hdr + sizeof(struct ukvm_conbuf) + u + sizeof(r), s, r.len);
	used_set(u + sizeof(r) + r.len);
}

static int drain(void)
{
	return conbuf_drain(&cb, &m, fake_write, NULL, why, sizeof(why));
}

START_TEST(records_in_order)
{
	put(1, "out one\n");
	put(2, "err");
	put(1, "out two\n");
	ck_assert_int_eq(drain(), 0);
	ck_assert_uint_eq(got.len, 19);
	ck_assert_int_eq(memcmp(got.bytes, "out one\nerrout two\n", 19), 0);
	ck_assert_uint_eq(got.streams[0], 1);
	ck_assert_uint_eq(got.streams[8], 2);
	ck_assert_uint_eq(got.streams[11], 1);
	ck_assert_uint_eq(got.writes, 3);
	ck_assert_uint_eq(used_get(), 0); /* emptied: the guest appends from the start */
	/* Empty: nothing written, still 0. */
	ck_assert_int_eq(drain(), 0);
	ck_assert_uint_eq(got.writes, 3);
	/* The next round starts at the beginning again. */
	put(2, "again");
	ck_assert_int_eq(drain(), 0);
	ck_assert_int_eq(memcmp(got.bytes + 19, "again", 5), 0);
}
END_TEST

/*
 * A flush tick stops the guest anywhere, here in the middle of extending its
 * last record (length raised, used not yet): what lies below used goes out,
 * the buffer stays the guest's, and the next drain writes only the rest.
 */
START_TEST(flush_mid_append_writes_below_used_only)
{
	put(2, "err\n");
	put(1, "out ");
	uint64_t u = used_get();
	uint8_t *recs = hdr + sizeof(struct ukvm_conbuf);
	uint64_t last = u - 4 - sizeof(struct ukvm_conrec);
	memcpy(recs + u, "more\n", 5);
	struct ukvm_conrec r = { 1, 4 + 5 };
	memcpy(recs + last, &r, sizeof(r)); /* the guest stopped here: used still u */
	ck_assert_int_eq(conbuf_flush(&cb, &m, fake_write, NULL), 0);
	ck_assert_uint_eq(got.len, 8);
	ck_assert_int_eq(memcmp(got.bytes, "err\nout ", 8), 0);
	ck_assert_uint_eq(used_get(), u); /* untouched */
	/* Nothing new: a second tick writes nothing. */
	size_t writes = got.writes;
	ck_assert_int_eq(conbuf_flush(&cb, &m, fake_write, NULL), 0);
	ck_assert_uint_eq(got.writes, writes);
	/* The guest publishes, appends one more record, then makes a hypercall: the rest, once. */
	used_set(u + 5);
	put(2, "e2");
	ck_assert_int_eq(drain(), 0);
	ck_assert_uint_eq(got.len, 8 + 5 + 2);
	ck_assert_int_eq(memcmp(got.bytes, "err\nout more\ne2", 15), 0);
	ck_assert_uint_eq(got.streams[8], 1);
	ck_assert_uint_eq(got.streams[13], 2);
	ck_assert_uint_eq(used_get(), 0);
}
END_TEST

/* A tick judges nothing and empties nothing: a hostile state is the next hypercall's drain's to refuse. */
START_TEST(flush_leaves_hostile_state_to_the_drain)
{
	put(1, "ok");
	struct ukvm_conrec bad = { 7, 3 };
	uint64_t u = used_get();
	memcpy(hdr + sizeof(struct ukvm_conbuf) + u, &bad, sizeof(bad));
	used_set(u + sizeof(bad) + 3);
	ck_assert_int_eq(conbuf_flush(&cb, &m, fake_write, NULL), 0);
	ck_assert_uint_eq(got.len, 2);
	ck_assert_uint_eq(used_get(), u + sizeof(bad) + 3);
	ck_assert_int_eq(drain(), -EPROTO);
	ck_assert_uint_eq(got.len, 2); /* "ok" once */
	ck_assert_uint_eq(used_get(), 0);
	used_set(UINT64_MAX);
	ck_assert_int_eq(conbuf_flush(&cb, &m, fake_write, NULL), 0);
	ck_assert_uint_eq(used_get(), UINT64_MAX);
}
END_TEST

START_TEST(no_buffer_is_a_no_op)
{
	struct conbuf none = { 0 };
	put(1, "x");
	ck_assert_int_eq(conbuf_drain(&none, &m, fake_write, NULL, why, sizeof(why)), 0);
	ck_assert_uint_eq(got.writes, 0);
}
END_TEST

START_TEST(full_buffer_and_empty_records)
{
	/* One record filling the buffer exactly, then a zero-length record is also fine. */
	static char big[UKVM_CONBUF_SIZE];
	size_t n = UKVM_CONBUF_SIZE - sizeof(struct ukvm_conbuf) - 2 * sizeof(struct ukvm_conrec);
	memset(big, 'z', n);
	big[n] = 0;
	put(1, big);
	put(2, "");
	ck_assert_uint_eq(used_get(), UKVM_CONBUF_SIZE - sizeof(struct ukvm_conbuf));
	ck_assert_int_eq(drain(), 0);
	ck_assert_uint_eq(got.len, n);
	ck_assert_uint_eq(used_get(), 0);
}
END_TEST

START_TEST(resumes_after_a_stop_without_repeating)
{
	put(1, "abcdef");
	put(2, "ghij");
	put(1, "klm");
	got.stop_after = 8; /* inside the second record */
	ck_assert_int_eq(drain(), -EINTR);
	ck_assert_uint_eq(used_get(), 13 + 3 * sizeof(struct ukvm_conrec)); /* kept for the last drain */
	got.stop_after = 0;
	ck_assert_int_eq(drain(), 0);
	ck_assert_uint_eq(got.len, 13);
	ck_assert_int_eq(memcmp(got.bytes, "abcdefghijklm", 13), 0);
	ck_assert_uint_eq(got.streams[7], 2);
	ck_assert_uint_eq(got.streams[8], 2);
	ck_assert_uint_eq(got.streams[10], 1);
	ck_assert_uint_eq(used_get(), 0);
}
END_TEST

START_TEST(write_error_drops_the_buffer)
{
	put(1, "lost");
	got.fail = -ENOSPC;
	ck_assert_int_eq(drain(), -ENOSPC);
	ck_assert_uint_eq(used_get(), 0);
	got.fail = 0;
	ck_assert_int_eq(drain(), 0);
	ck_assert_uint_eq(got.len, 0);
}
END_TEST

START_TEST(init_refuses_outside_ram)
{
	struct conbuf b;
	ck_assert_int_eq(conbuf_init(&b, &m, m.size - 4096, 8192), -EINVAL);
	ck_assert_int_eq(conbuf_init(&b, &m, UINT64_MAX - 100, 4096), -EINVAL);
	ck_assert_int_eq(conbuf_init(&b, &m, UKVM_CONBUF_GPA, sizeof(struct ukvm_conbuf)), -EINVAL);
	ck_assert_int_eq(conbuf_init(&b, &m, m.size - 4096, 4096), 0);
	/* The boot area's buffer starts where the FDT ends, its header in the boot block, below the kernel. */
	ck_assert_uint_eq(UKVM_CONBUF_GPA, UKVM_FDT_END);
	ck_assert_uint_ge(UKVM_CONBUF_GPA, UKVM_BOOT_BLOCK);
	ck_assert_uint_lt(UKVM_CONBUF_GPA, UKVM_BOOT_BLOCK + 0x8000);
	ck_assert_uint_le(UKVM_CONBUF_GPA + UKVM_CONBUF_SIZE, UKVM_KERNEL_PHYS);
}
END_TEST

/* Hostile states: (used, records) and what must have gone out before the refusal. */
static const struct {
	uint64_t used_delta_or_abs; /* used after the good record "ok": used + delta, or absolute when abs */
	bool abs;
	uint32_t bad_stream, bad_len; /* with add_bad: a second record with this header and 3 bytes */
	bool add_bad;
} hostile[] = {
	{ UINT64_MAX, true, 0, 0, false },                                  /* used wraps everything */
	{ UKVM_CONBUF_SIZE - sizeof(struct ukvm_conbuf) + 1, true, 0, 0, false }, /* one past the buffer */
	{ UKVM_CONBUF_SIZE, true, 0, 0, false },
	{ 5, false, 0, 0, false },                          /* a header cut off at the end */
	{ 0, false, 0, 3, true },                           /* stream 0 */
	{ 0, false, 3, 3, true },                           /* stream 3 */
	{ 0, false, UINT32_MAX, 3, true },                  /* stream -1 */
	{ 0, false, 1, 4, true },                           /* one byte past used */
	{ 0, false, 2, UINT32_MAX, true },                  /* length wraps a 32-bit sum */
};

START_TEST(hostile_contents)
{
	put(1, "ok");
	uint64_t u = used_get();
	if (hostile[_i].add_bad) {
		struct ukvm_conrec r = { hostile[_i].bad_stream, hostile[_i].bad_len };
		memcpy(hdr + sizeof(struct ukvm_conbuf) + u, &r, sizeof(r));
		memcpy(hdr + sizeof(struct ukvm_conbuf) + u + sizeof(r), "abc", 3);
		used_set(u + sizeof(r) + 3);
	} else {
		used_set(hostile[_i].abs ? hostile[_i].used_delta_or_abs : u + hostile[_i].used_delta_or_abs);
	}
	ck_assert_int_eq(drain(), -EPROTO);
	ck_assert_str_ne(why, "");
	ck_assert_ptr_nonnull(strstr(why, "guest console buffer"));
	/* The good record before a bad one went out; a bad used sends nothing. */
	if (hostile[_i].abs) {
		ck_assert_uint_eq(got.len, 0);
	} else {
		ck_assert_uint_eq(got.len, 2);
		ck_assert_int_eq(memcmp(got.bytes, "ok", 2), 0);
	}
	ck_assert_uint_eq(used_get(), 0); /* emptied: a guest that goes on starts clean */
	ck_assert_int_eq(drain(), 0);
}
END_TEST

START_TEST(hostile_record_headers_everywhere)
{
	/* Every (stream, len) header pattern at every short used: never more than used bytes out, never a crash. */
	static const uint32_t lens[] = { 0, 1, 7, 8, 9, 0x7fff, 0x8000, 0xffffffffu, 0x80000000u };
	for (uint32_t s = 0; s < 4; s++)
		for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
			for (uint64_t u = 1; u < 40; u++) {
				memset(hdr + sizeof(struct ukvm_conbuf), 0xa5, 64);
				struct ukvm_conrec r = { s, lens[l] };
				memcpy(hdr + sizeof(struct ukvm_conbuf), &r, sizeof(r));
				used_set(u);
				size_t before = got.len;
				int rc = drain();
				ck_assert(rc == 0 || rc == -EPROTO);
				ck_assert_uint_le(got.len - before, u);
				ck_assert_uint_eq(used_get(), 0);
			}
}
END_TEST

Suite *conbuf_suite(void)
{
	Suite *s = suite_create("conbuf");
	TCase *c = tcase_create("core");
	tcase_add_checked_fixture(c, setup, teardown);
	tcase_add_test(c, records_in_order);
	tcase_add_test(c, no_buffer_is_a_no_op);
	tcase_add_test(c, resumes_after_a_stop_without_repeating);
	tcase_add_test(c, write_error_drops_the_buffer);
	tcase_add_test(c, flush_mid_append_writes_below_used_only);
	tcase_add_test(c, flush_leaves_hostile_state_to_the_drain);
	suite_add_tcase(s, c);
	TCase *l = tcase_create("limits");
	tcase_add_checked_fixture(l, setup, teardown);
	tcase_add_test(l, full_buffer_and_empty_records);
	tcase_add_test(l, init_refuses_outside_ram);
	suite_add_tcase(s, l);
	TCase *h = tcase_create("hostile");
	tcase_add_checked_fixture(h, setup, teardown);
	tcase_add_loop_test(h, hostile_contents, 0, (int)(sizeof(hostile) / sizeof(hostile[0])));
	tcase_add_test(h, hostile_record_headers_everywhere);
	suite_add_tcase(s, h);
	return s;
}
