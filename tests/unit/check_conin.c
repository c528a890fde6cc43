/* check_conin.c: unit tests of console input (guest/fs/conin.c): the kernel buffer, end of file, readiness, the blocked reader's wake-up, over fs_shim.c's fake hypercalls. */
#include <check.h>
#include <errno.h>
#include <string.h>
#include "../../guest/include/conin.h"
#include "../../guest/include/linux_fs_abi.h"
#include "../../guest/include/sig.h"
#include "../../guest/include/wait.h"
#include "fs_shim.h"

/* What the fake monitor answers, one entry per input hypercall: bytes (data[0..ret)) or ret <= 0 itself. */
static struct answer {
	long ret;
	const char *data;
} script[8];
static unsigned script_pos, script_len;

static long scripted(void *buf, size_t len)
{
	if (script_pos == script_len)
		return -EAGAIN;
	struct answer a = script[script_pos++];
	if (a.ret > 0)
		memcpy(buf, a.data, (size_t)a.ret < len ? (size_t)a.ret : len);
	return a.ret;
}

static void answers(const struct answer *a, unsigned n)
{
	memcpy(script, a, n * sizeof(*a));
	script_pos = 0;
	script_len = n;
}

static void setup(void)
{
	fs_shim_reset();
	fs_conin_reset();
	fs_shim_input = scripted;
	fs_shim_input_calls = 0;
	fs_shim_input_is_ready = false;
	fs_shim_input_hup = false;
	script_pos = script_len = 0;
}

/* Reads served from the buffer: one hypercall per fill, not per read; end of file stays, at no cost. */
START_TEST(test_buffered_reads_and_eof)
{
	static const struct answer a[] = { { 10, "0123456789" }, { 0, NULL } };
	answers(a, 2);
	char b[16];
	ck_assert_int_eq(fs_conin_read(b, 3, false), 3);
	ck_assert(memcmp(b, "012", 3) == 0);
	ck_assert_int_eq(fs_conin_avail(), 7);
	ck_assert_int_eq(fs_conin_read(b, 3, false), 3);
	ck_assert_int_eq(fs_conin_read(b, 3, false), 3);
	ck_assert_int_eq(fs_shim_input_calls, 1);
	ck_assert_int_eq(fs_conin_read(b, 16, false), 1); /* what is buffered, no second fill */
	ck_assert(b[0] == '9');
	ck_assert_int_eq(fs_shim_input_calls, 1);
	ck_assert_int_eq(fs_conin_read(b, 16, false), 0);
	ck_assert_int_eq(fs_conin_read(b, 16, false), 0);
	ck_assert_int_eq(fs_shim_input_calls, 2);
	const void *key;
	ck_assert_uint_eq(fs_conin_poll(&key), POLLIN | POLLRDNORM); /* a file's end (no hang-up) */
	ck_assert_ptr_nonnull(key);
}
END_TEST

/* A terminal's ^D ends one read; the next reads on. */
START_TEST(test_terminal_eof_is_one_read)
{
	static const struct answer a[] = { { 0, NULL }, { 2, "x\n" } };
	answers(a, 2);
	fs_conin_set_tty(true);
	char b[8];
	ck_assert_int_eq(fs_conin_read(b, 8, false), 0);
	ck_assert_int_eq(fs_conin_read(b, 8, false), 2);
	ck_assert_int_eq(fs_shim_input_calls, 2);
}
END_TEST

/*
 * Readiness: unknown costs one hypercall; "nothing yet" is then known (no
 * more hypercalls) until a WAIT says the input is ready, when the poller
 * refills and wakes the key. A pipe's hang-up polls POLLHUP alone.
 */
START_TEST(test_poll_readiness_and_news)
{
	static const struct answer a[] = { { -EAGAIN, NULL }, { 1, "z" }, { 0, NULL } };
	answers(a, 3);
	fs_shim_input_hup = true;
	const void *key;
	ck_assert_uint_eq(fs_conin_poll(&key), 0);
	ck_assert(fs_shim_input_wanted);
	for (int i = 0; i < 20; i++)
		ck_assert_uint_eq(fs_conin_poll(&key), 0);
	ck_assert_int_eq(fs_shim_input_calls, 1);
	/* A WAIT that ended for a device, not the input: no hypercall. */
	k_wait_poll(K_WAIT_NEWS);
	ck_assert_int_eq(fs_shim_input_calls, 1);
	fs_shim_input_is_ready = true;
	ck_assert_uint_eq(k_wait_poll(K_WAIT_NEWS), 0); /* nothing awaited any more */
	ck_assert_int_eq(fs_shim_input_calls, 2);
	ck_assert(!fs_shim_input_wanted);
	ck_assert_uint_eq(fs_conin_poll(&key), POLLIN | POLLRDNORM);
	char c;
	ck_assert_int_eq(fs_conin_read(&c, 1, true), 1);
	ck_assert_uint_eq(fs_conin_poll(&key), POLLHUP);
	ck_assert_int_eq(fs_conin_read(&c, 1, true), 0);
}
END_TEST

/* While wanted, the poller keeps the scheduler from calling it a deadlock and asks for no deadline. */
START_TEST(test_poller_awaits_input)
{
	char c;
	ck_assert_int_eq(fs_conin_read(&c, 1, true), -EAGAIN);
	ck_assert(fs_shim_input_wanted);
	ck_assert_uint_eq(k_wait_poll(K_WAIT_QUIET), K_WAIT_FOREVER);
}
END_TEST

static void input_arrives(void)
{
	static const struct answer a[] = { { 4, "data" } };
	answers(a, 1);
	fs_shim_input_is_ready = true;
	k_wait_poll(K_WAIT_NEWS); /* what the scheduler runs after the WAIT */
}

/* A blocking read with nothing there blocks (interruptibly) and is woken by the poller's fill. */
START_TEST(test_blocked_read_woken)
{
	fs_shim_during_block = input_arrives;
	char b[8];
	ck_assert_int_eq(fs_conin_read(b, 8, false), 4);
	ck_assert(memcmp(b, "data", 4) == 0);
	ck_assert_int_eq(fs_shim_blocks, 1);
	ck_assert(fs_shim_block_flags & K_WAIT_INTR);
	ck_assert_int_eq(fs_shim_input_calls, 2);
}
END_TEST

/* A restore drops what the snapshotted VM's input gave (bytes, its end): the next read asks the new input. */
START_TEST(test_restored_reads_new_input)
{
	static const struct answer a[] = { { 4, "oldd" }, { 0, NULL }, { 3, "new" } };
	answers(a, 3);
	char b[8];
	ck_assert_int_eq(fs_conin_read(b, 2, false), 2);
	fs_conin_restored();
	ck_assert_int_eq(fs_conin_read(b, 8, false), 0); /* the second answer: this input's end */
	fs_conin_restored();
	ck_assert_int_eq(fs_conin_read(b, 8, false), 3);
	ck_assert(memcmp(b, "new", 3) == 0);
}
END_TEST

/* A zero-length read asks nothing; a read bigger than what is buffered returns what is buffered. */
START_TEST(test_limits)
{
	char b[CONIN_BUF_SIZE + 16];
	ck_assert_int_eq(fs_conin_read(b, 0, false), 0);
	ck_assert_int_eq(fs_shim_input_calls, 0);
	static char full[CONIN_BUF_SIZE];
	memset(full, 'q', sizeof(full));
	struct answer a[] = { { CONIN_BUF_SIZE, full }, { 1, "r" } };
	answers(a, 2);
	ck_assert_int_eq(fs_conin_read(b, sizeof(b), false), CONIN_BUF_SIZE);
	ck_assert_int_eq(fs_conin_read(b, sizeof(b), false), 1);
}
END_TEST

/* A monitor answering more than the buffer holds is clamped; an error is returned once, then end of file. */
START_TEST(test_hostile_answers)
{
	static char big[CONIN_BUF_SIZE];
	static const struct answer a[] = { { CONIN_BUF_SIZE * 4L, big }, { -EIO, NULL } };
	answers(a, 2);
	static char b[CONIN_BUF_SIZE * 2];
	ck_assert_int_eq(fs_conin_read(b, sizeof(b), false), CONIN_BUF_SIZE);
	ck_assert_int_eq(fs_conin_read(b, sizeof(b), false), -EIO);
	ck_assert_int_eq(fs_conin_read(b, sizeof(b), false), 0);
	ck_assert_int_eq(fs_shim_input_calls, 2);
}
END_TEST

Suite *conin_suite(void)
{
	Suite *s = suite_create("conin");
	TCase *c = tcase_create("core");
	tcase_add_checked_fixture(c, setup, NULL);
	tcase_add_test(c, test_buffered_reads_and_eof);
	tcase_add_test(c, test_terminal_eof_is_one_read);
	tcase_add_test(c, test_poll_readiness_and_news);
	tcase_add_test(c, test_poller_awaits_input);
	tcase_add_test(c, test_blocked_read_woken);
	tcase_add_test(c, test_restored_reads_new_input);
	suite_add_tcase(s, c);
	TCase *l = tcase_create("limits");
	tcase_add_checked_fixture(l, setup, NULL);
	tcase_add_test(l, test_limits);
	suite_add_tcase(s, l);
	TCase *h = tcase_create("hostile");
	tcase_add_checked_fixture(h, setup, NULL);
	tcase_add_test(h, test_hostile_answers);
	suite_add_tcase(s, h);
	return s;
}
