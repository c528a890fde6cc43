/* check_kpanic.c: crash-report backtraces (guest/kernel/panic.c): the frame-pointer walk and the stack-scan guess. */
#include <check.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "hypercall.h"
#include "panic.h"
#include "user.h"

/* --- the kernel around panic.c (tests/build.mk, group gpanic) --- */

uint64_t k_exc_busy;
struct payload_view k_boot_payload;
/* No kernel text here: the code under test lies in app text (k_boot_payload.app_text_lo/hi). */
const char _kernel_start[1], _kernel_text_end[1];

static char console[8192];
static size_t console_len;
static jmp_buf crashed;
static int crash_sig;

static unsigned console_stream;

long k_hypercall_console(unsigned stream, const void *buf, size_t len)
{
	console_stream = stream;
	size_t n = len < sizeof(console) - 1 - console_len ? len : sizeof(console) - 1 - console_len;
	memcpy(console + console_len, buf, n);
	console_len += n;
	console[console_len] = 0;
	return (long)len;
}

_Noreturn void k_hypercall_crash(int sig)
{
	crash_sig = sig;
	longjmp(crashed, 1);
}

/* Memory the kernel may read: only the buffers a test registers (ASan then catches any read past them). */
static struct { const void *p; size_t len; } readable[4];

bool k_user_ok(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p;
	for (int i = 0; i < 4; i++) {
		uintptr_t lo = (uintptr_t)readable[i].p;
		if (readable[i].p && a >= lo && len <= readable[i].len && a - lo <= readable[i].len - len)
			return true;
	}
	return false;
}

/* --- fixtures --- */

#define CODE_SIZE 256
static uint8_t *code;   /* fake app text: calls of each form end at known offsets */
static uint64_t *stack; /* fake stack, STACK_WORDS long */
#define STACK_WORDS 1100

static void setup(void)
{
	code = calloc(1, CODE_SIZE);
	stack = calloc(STACK_WORDS, 8);
	ck_assert(code && stack);
	memset(code, 0x90, CODE_SIZE); /* nop: never mistaken for a call */
	memset(readable, 0, sizeof(readable));
	readable[0].p = code, readable[0].len = CODE_SIZE;
	readable[1].p = stack, readable[1].len = STACK_WORDS * 8;
	memset(&k_boot_payload, 0, sizeof(k_boot_payload));
	k_boot_payload.app_text_lo = (uintptr_t)code;
	k_boot_payload.app_text_hi = (uintptr_t)code + CODE_SIZE;
	console_len = 0;
	console[0] = 0;
	console_stream = 0;
}

static void teardown(void)
{
	free(code);
	free(stack);
}

/* Places instruction bytes so that they end at code + end; returns that return address. */
static uint64_t put_call(size_t end, const uint8_t *insn, size_t len)
{
	memcpy(code + end - len, insn, len);
	return (uint64_t)(uintptr_t)(code + end);
}

/* Runs k_panic_backtrace and ends the report; returns the console text. */
static const char *trace(uint64_t rbp, uint64_t rsp)
{
	if (setjmp(crashed) == 0) {
		k_panic_backtrace(rbp, rsp);
		k_panic_end(11);
	}
	ck_assert_int_eq(crash_sig, 11);
	ck_assert_uint_eq(console_stream, 2); /* crash reports go to the host's stderr */
	return console;
}

static int count(const char *s, const char *what)
{
	int n = 0;
	for (const char *p = strstr(s, what); p; p = strstr(p + 1, what))
		n++;
	return n;
}

START_TEST(frame_chain_is_walked)
{
	uint64_t ret_a = (uint64_t)(uintptr_t)(code + 10), ret_b = (uint64_t)(uintptr_t)(code + 20);
	/* Two frames growing up: [saved rbp, return address]; the outer one ends the chain with a 0 return. */
	stack[100] = (uint64_t)(uintptr_t)&stack[104];
	stack[101] = ret_a;
	stack[104] = (uint64_t)(uintptr_t)&stack[108];
	stack[105] = ret_b;
	stack[108] = 0;
	stack[109] = 0;
	const char *out = trace((uint64_t)(uintptr_t)&stack[100], (uint64_t)(uintptr_t)stack);
	ck_assert_msg(strstr(out, "ukvm: backtrace:\n  #0 0x") && count(out, "  #") == 2, "%s", out);
	ck_assert_msg(!strstr(out, "guess"), "%s", out);
}
END_TEST

START_TEST(stack_scan_finds_return_addresses)
{
	static const uint8_t call_rel[] = { 0xe8, 1, 2, 3, 4 };
	static const uint8_t call_reg[] = { 0xff, 0xd0 };  /* call *%rax */
	static const uint8_t jmp_reg[] = { 0xff, 0xe0 };   /* jmp *%rax: no return address */
	uint64_t r1 = put_call(40, call_rel, sizeof(call_rel));
	uint64_t r2 = put_call(60, call_reg, sizeof(call_reg));
	uint64_t r3 = put_call(80, jmp_reg, sizeof(jmp_reg));
	static const char strs[] = "\0caller";
	const struct ukvm_sym sym = { .addr = (uintptr_t)code, .size = CODE_SIZE, .flags = UKVM_SYM_APP, .name_off = 1 };
	k_boot_payload.syms = &sym;
	k_boot_payload.syms_count = 1;
	k_boot_payload.strs = strs;
	k_boot_payload.strs_size = sizeof(strs);

	stack[0] = 12345;           /* data */
	stack[1] = r1;
	stack[2] = r3;              /* after a jmp: not a return address */
	stack[3] = r1 + 1;          /* not after a call */
	stack[5] = r2;
	stack[6] = (uint64_t)(uintptr_t)(code + CODE_SIZE + 64); /* outside text */
	/* rbp 0: no chain (code without frame pointers, like musl's memset). */
	const char *out = trace(0, (uint64_t)(uintptr_t)stack);
	ck_assert_msg(!strstr(out, "ukvm: backtrace:\n"), "%s", out);
	ck_assert_msg(strstr(out, "ukvm: backtrace (guess, from the stack):\n"), "%s", out);
	ck_assert_msg(count(out, "  #") == 2, "%s", out);
	ck_assert_msg(strstr(out, " <caller+0x28>\n") && strstr(out, " <caller+0x3c>\n"), "%s", out);
	ck_assert_msg(strstr(out, "caller+0x28") < strstr(out, "caller+0x3c"), "innermost first: %s", out);
}
END_TEST

/* Every encoding of a near call: e8 rel32 and ff /2 with each ModRM/SIB/displacement form. */
START_TEST(every_call_form_counts)
{
	static const uint8_t forms[][8] = {
		{ 5, 0xe8, 0, 0, 0, 0 },                  /* call rel32 */
		{ 2, 0xff, 0xd3 },                        /* call *%rbx */
		{ 2, 0xff, 0x10 },                        /* call *(%rax) */
		{ 3, 0xff, 0x14, 0x24 },                  /* call *(%rsp) */
		{ 3, 0xff, 0x50, 0x08 },                  /* call *8(%rax) */
		{ 4, 0xff, 0x54, 0x24, 0x08 },            /* call *8(%rsp) */
		{ 6, 0xff, 0x15, 1, 2, 3, 4 },            /* call *disp32(%rip) */
		{ 6, 0xff, 0x90, 1, 2, 3, 4 },            /* call *disp32(%rax) */
		{ 7, 0xff, 0x94, 0x24, 1, 2, 3, 4 },      /* call *disp32(%rsp) */
		{ 7, 0xff, 0x14, 0x25, 1, 2, 3, 4 },      /* call *disp32 (SIB, no base) */
	};
	const int n = (int)(sizeof(forms) / sizeof(forms[0]));
	for (int i = 0; i < n; i++)
		stack[i] = put_call(16 + 16 * (size_t)i, &forms[i][1], forms[i][0]);
	const char *out = trace(0, (uint64_t)(uintptr_t)stack);
	ck_assert_msg(count(out, "  #") == n, "%s", out);
}
END_TEST

START_TEST(scan_is_bounded)
{
	static const uint8_t call_rel[] = { 0xe8, 0, 0, 0, 0 };
	uint64_t r = put_call(40, call_rel, sizeof(call_rel));
	/* 16 lines at most, however many candidates. */
	for (int i = 0; i < 40; i++)
		stack[i] = r;
	const char *out = trace(0, (uint64_t)(uintptr_t)stack);
	ck_assert_msg(count(out, "  #") == 16, "%s", out);

	/* 1024 words from RSP at most: the 1024th is read, the 1025th is not. */
	memset(stack, 0, STACK_WORDS * 8);
	console_len = 0;
	stack[1023] = r;
	stack[1024] = r;
	out = trace(0, (uint64_t)(uintptr_t)stack);
	ck_assert_msg(count(out, "  #") == 1, "%s", out);
}
END_TEST

/* The scan stops where readable memory ends and never reads code before a readable byte. */
START_TEST(scan_stays_in_readable_memory)
{
	/* A return address 3 bytes into the code: the 7 bytes before it are not all readable. */
	code[0] = 0xff;
	code[1] = 0xd0;
	stack[0] = (uint64_t)(uintptr_t)(code + 2);
	/* Only 8 stack words readable; a candidate past them must not be seen (ASan would catch the read). */
	static const uint8_t call_rel[] = { 0xe8, 0, 0, 0, 0 };
	stack[9] = put_call(40, call_rel, sizeof(call_rel));
	readable[1].len = 8 * 8;
	const char *out = trace(0, (uint64_t)(uintptr_t)stack);
	ck_assert_msg(strstr(out, "(guess, from the stack):\n") && count(out, "  #") == 0, "%s", out);

	/* A hostile RSP: unaligned, at the very top of the address space: nothing read, no wrap. */
	console_len = 0;
	out = trace(0, UINT64_MAX - 3);
	ck_assert_msg(count(out, "  #") == 0, "%s", out);
}
END_TEST

Suite *kpanic_suite(void)
{
	Suite *s = suite_create("kpanic");
	TCase *core = tcase_create("core");
	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_test(core, frame_chain_is_walked);
	tcase_add_test(core, stack_scan_finds_return_addresses);
	suite_add_tcase(s, core);
	TCase *limits = tcase_create("limits");
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_add_test(limits, every_call_form_counts);
	tcase_add_test(limits, scan_is_bounded);
	suite_add_tcase(s, limits);
	TCase *hostile = tcase_create("hostile");
	tcase_add_checked_fixture(hostile, setup, teardown);
	tcase_add_test(hostile, scan_stays_in_readable_memory);
	suite_add_tcase(s, hostile);
	return s;
}
