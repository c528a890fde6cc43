/* check_kstring.c: the guest's string functions (built on the host as *) and k_printf/k_snprintf. */
#include <check.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "misc_stubs.h"

/*
 * memcpy, strlen ... here are the guest's own (guest/kernel/string.c, built with -fno-builtin): the
 * group this suite is linked in binds them to that file (tests/build.mk, group gcore).
 */
#include "k.h"

/* k_snprintf without the format attribute, so the tests can feed it formats gcc would reject. */
static int raw_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = k_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

static int sgn(int v)
{
	return (v > 0) - (v < 0);
}

START_TEST(test_mem_basic)
{
	char a[64], b[64];

	for (int i = 0; i < 64; i++)
		a[i] = (char)(i * 7 + 1);
	ck_assert_ptr_eq(memcpy(b, a, 64), b);
	ck_assert_int_eq(memcmp(a, b, 64), 0);
	ck_assert_ptr_eq(memset(b + 3, 0xab, 10), b + 3);
	for (int i = 0; i < 64; i++)
		ck_assert_int_eq((unsigned char)b[i], i >= 3 && i < 13 ? 0xab : (unsigned char)a[i]);
	ck_assert_int_eq(memcmp(a, a, 64), 0);
	ck_assert_int_lt(memcmp("ab\x01", "ab\xff", 3), 0); /* unsigned compare */
	ck_assert_int_gt(memcmp("b", "a", 1), 0);
	ck_assert_int_eq(memcmp("x", "y", 0), 0);
	const char *h = "hello";
	ck_assert_ptr_eq(memchr(h, 'l', 5), h + 2);
	ck_assert_ptr_null(memchr(h, 'l', 2));
	const char *hi = "a\xff";
	ck_assert_ptr_eq(memchr(hi, -1, 2), hi + 1); /* c converts to unsigned char */
}
END_TEST

START_TEST(test_memmove_overlap)
{
	char buf[32], want[32];

	for (int shift = -5; shift <= 5; shift++) {
		for (int i = 0; i < 32; i++)
			buf[i] = want[i] = (char)('a' + i % 26);
		memmove(want + 10 + shift, want + 10, 12);
		ck_assert_ptr_eq(memmove(buf + 10 + shift, buf + 10, 12), buf + 10 + shift);
		ck_assert_int_eq(memcmp(buf, want, 32), 0);
	}
}
END_TEST

START_TEST(test_str_basic)
{
	char d[16];

	ck_assert_uint_eq(strlen(""), 0);
	ck_assert_uint_eq(strlen("abc"), 3);
	ck_assert_uint_eq(strnlen("abcdef", 4), 4);
	ck_assert_uint_eq(strnlen("ab", 4), 2);
	ck_assert_int_eq(strcmp("abc", "abc"), 0);
	ck_assert_int_lt(strcmp("abc", "abd"), 0);
	ck_assert_int_gt(strcmp("abc", "ab"), 0);
	ck_assert_int_eq(sgn(strcmp("\xe9", "a")), 1); /* bytes compare unsigned */
	ck_assert_int_eq(strncmp("abcX", "abcY", 3), 0);
	ck_assert_int_lt(strncmp("abcX", "abcY", 4), 0);
	ck_assert_int_eq(strncmp("ab", "ab\0zz", 5), 0);
	ck_assert_int_eq(strncmp("a", "b", 0), 0);
	const char *s = "a/b/c";
	ck_assert_ptr_eq(strchr(s, '/'), s + 1);
	ck_assert_ptr_eq(strrchr(s, '/'), s + 3);
	ck_assert_ptr_eq(strchr(s, '\0'), s + 5);
	ck_assert_ptr_eq(strrchr(s, '\0'), s + 5);
	ck_assert_ptr_null(strchr(s, 'z'));
	ck_assert_ptr_null(strrchr(s, 'z'));
	ck_assert_ptr_eq(strcpy(d, "copy me"), d);
	ck_assert_str_eq(d, "copy me");
}
END_TEST

START_TEST(test_strtoul)
{
	char *end;

	ck_assert_uint_eq(strtoul("  42xyz", &end, 10), 42);
	ck_assert_str_eq(end, "xyz");
	ck_assert_uint_eq(strtoul("0x1F", &end, 0), 31);
	ck_assert_uint_eq(strtoul("0x1F", &end, 16), 31);
	ck_assert_uint_eq(strtoul("017", &end, 0), 15);
	ck_assert_uint_eq(strtoul("z", &end, 36), 35);
	ck_assert_uint_eq(strtoul("-1", &end, 10), ULONG_MAX);
	ck_assert_uint_eq(strtoul("+7", &end, 10), 7);
	/* "0x" with no hex digit after it is the number 0 followed by "x" (C11 7.22.1.4). */
	ck_assert_uint_eq(strtoul("0xg", &end, 0), 0);
	ck_assert_str_eq(end, "xg");
}
END_TEST

START_TEST(test_strtoul_limits)
{
	char *end;
	const char *none = "  xyz";

	ck_assert_uint_eq(strtoul("18446744073709551615", &end, 10), ULONG_MAX);
	ck_assert_str_eq(end, "");
	ck_assert_uint_eq(strtoul("18446744073709551616", &end, 10), ULONG_MAX);
	ck_assert_uint_eq(strtoul("99999999999999999999999999", &end, 10), ULONG_MAX);
	ck_assert_str_eq(end, "");
	ck_assert_uint_eq(strtoul(none, &end, 10), 0);
	ck_assert_ptr_eq(end, none);
	ck_assert_uint_eq(strtoul("12", &end, 1), 0);
	ck_assert_uint_eq(strtoul("12", &end, 37), 0);
	ck_assert_uint_eq(strtoul("12", NULL, 10), 12);
}
END_TEST

START_TEST(test_printf_conv)
{
	char b[128];

	k_snprintf(b, sizeof(b), "%d %i %u %x %X %c %% %s", -42, 7, 3000000000u, 0xbeef, 0xbeef, 'q', "str");
	ck_assert_str_eq(b, "-42 7 3000000000 beef BEEF q % str");
	k_snprintf(b, sizeof(b), "%ld %lu %lx %lld %llx %zu %zd", -1L, ULONG_MAX, 0xdeadbeefcafeUL, LLONG_MIN,
		   0x1ULL << 63, (size_t)12345, (ssize_t)-5);
	ck_assert_str_eq(b, "-1 18446744073709551615 deadbeefcafe -9223372036854775808 8000000000000000 12345 -5");
	k_snprintf(b, sizeof(b), "%hd %hu %hhx %d", (short)-3, (unsigned short)65535, 0x1ff, INT_MIN);
	ck_assert_str_eq(b, "-3 65535 ff -2147483648");
	k_snprintf(b, sizeof(b), "%p %p", (void *)0x1234, (void *)0);
	ck_assert_str_eq(b, "0x1234 0x0");
	raw_snprintf(b, sizeof(b), "%s", (char *)NULL);
	ck_assert_str_eq(b, "(null)");
}
END_TEST

START_TEST(test_printf_width)
{
	char b[128];

	raw_snprintf(b, sizeof(b), "[%5d][%-5d][%05d][%05d][%-05d]", 42, 42, 42, -42, 7);
	ck_assert_str_eq(b, "[   42][42   ][00042][-0042][7    ]");
	raw_snprintf(b, sizeof(b), "[%8x][%08lx][%016p]", 0xabu, 0xabUL, (void *)0xab);
	ck_assert_str_eq(b, "[      ab][000000ab][0x000000000000ab]");
	k_snprintf(b, sizeof(b), "[%6s][%-6s][%.2s][%6.2s][%.*s][%*d]", "abc", "abc", "abcdef", "abcdef", 3, "xyzzy", 4, 9);
	ck_assert_str_eq(b, "[   abc][abc   ][ab][    ab][xyz][   9]");
	k_snprintf(b, sizeof(b), "[%3c][%-3c]", 'a', 'b');
	ck_assert_str_eq(b, "[  a][b  ]");
}
END_TEST

START_TEST(test_printf_one_write)
{
	stub_reset();
	int n = k_printf("hello %s %d\n", "world", 7);
	ck_assert_int_eq(n, 14);
	ck_assert_int_eq(stub_console_calls, 1);
	ck_assert_uint_eq(stub_console_stream, 2); /* kernel messages never go into the app's stdout */
	ck_assert_str_eq(stub_console, "hello world 7\n");
}
END_TEST

START_TEST(test_notice_quiet)
{
	stub_reset();
	ck_assert_int_eq(k_notice("ukvm: note %d\n", 1), 13);
	ck_assert_uint_eq(stub_console_stream, 2);
	ck_assert_str_eq(stub_console, "ukvm: note 1\n");
	k_notice_quiet(true);
	ck_assert_int_eq(k_notice("ukvm: note %d\n", 2), 0);
	ck_assert_int_eq(k_printf("ukvm: error\n"), 12); /* errors and reports stay */
	k_notice_quiet(false);
	ck_assert_int_eq(stub_console_calls, 2);
	ck_assert_str_eq(stub_console, "ukvm: note 1\nukvm: error\n");
}
END_TEST

START_TEST(test_printf_truncate)
{
	char b[8];
	char big[1000];

	memset(b, 'Z', sizeof(b));
	ck_assert_int_eq(k_snprintf(b, sizeof(b), "%s", "0123456789"), 10);
	ck_assert_str_eq(b, "0123456");
	ck_assert_int_eq(k_snprintf(b, 1, "abc"), 3);
	ck_assert_str_eq(b, "");
	ck_assert_int_eq(k_snprintf(NULL, 0, "%d", 12345), 5);
	/* k_printf truncates to its line buffer but still makes exactly one write. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	stub_reset();
	int n = k_printf("%s", big);
	ck_assert_int_eq(stub_console_calls, 1);
	ck_assert_int_eq(n, 511);
	ck_assert_uint_eq(stub_console_len, 511);
}
END_TEST

START_TEST(test_printf_hostile)
{
	char b[64];
	char unterminated[4] = { 'a', 'b', 'c', 'd' };

	/* Unknown conversions and a trailing '%' are echoed, not interpreted. */
	raw_snprintf(b, sizeof(b), "%q|%");
	ck_assert_str_eq(b, "%q|%");
	/* Precision bounds the read of a non-terminated buffer (ASan would catch an overrun). */
	k_snprintf(b, sizeof(b), "%.4s", unterminated);
	ck_assert_str_eq(b, "abcd");
	/* A huge width is clamped, output truncated to the buffer, return value stays sane. */
	int n = raw_snprintf(b, sizeof(b), "%999999999d", 1);
	ck_assert_int_gt(n, 0);
	ck_assert_uint_eq(strlen(b), sizeof(b) - 1);
	n = raw_snprintf(b, sizeof(b), "%*d", INT_MIN, 5);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(b[0], '5');
}
END_TEST

Suite *kstring_suite(void)
{
	Suite *s = suite_create("kstring");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_mem_basic);
	tcase_add_test(tc, test_memmove_overlap);
	tcase_add_test(tc, test_str_basic);
	tcase_add_test(tc, test_strtoul);
	tcase_add_test(tc, test_printf_conv);
	tcase_add_test(tc, test_printf_width);
	tcase_add_test(tc, test_printf_one_write);
	tcase_add_test(tc, test_notice_quiet);
	suite_add_tcase(s, tc);
	tc = tcase_create("limits");
	tcase_add_test(tc, test_strtoul_limits);
	tcase_add_test(tc, test_printf_truncate);
	suite_add_tcase(s, tc);
	tc = tcase_create("hostile");
	tcase_add_test(tc, test_printf_hostile);
	suite_add_tcase(s, tc);
	return s;
}
