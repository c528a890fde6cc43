/* check_abi.c: unit tests of the rules proto/ukvm_abi.h states once for monitor and guest (size rule, exit status, signal names). */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "ukvm_abi.h"

START_TEST(test_mem_size_ok)
{
	ck_assert_ptr_null(ukvm_mem_size_invalid(UKVM_MEM_MIN));
	ck_assert_ptr_null(ukvm_mem_size_invalid(64ull << 20));
	ck_assert_ptr_null(ukvm_mem_size_invalid(512ull << 20));
	ck_assert_ptr_null(ukvm_mem_size_invalid(UKVM_MEM_MAX));
}
END_TEST

START_TEST(test_mem_size_bad)
{
	ck_assert_str_eq(ukvm_mem_size_invalid(0), "below the minimum 8M");
	ck_assert_str_eq(ukvm_mem_size_invalid(UKVM_MEM_MIN - UKVM_MEM_ALIGN), "below the minimum 8M");
	ck_assert_str_eq(ukvm_mem_size_invalid(UKVM_MEM_MAX + UKVM_MEM_ALIGN), "above the maximum 64G");
	ck_assert_str_eq(ukvm_mem_size_invalid(UINT64_MAX), "above the maximum 64G");
	ck_assert_str_eq(ukvm_mem_size_invalid(65ull << 20), "not a multiple of 2M");
	ck_assert_str_eq(ukvm_mem_size_invalid(UKVM_MEM_MIN + 4096), "not a multiple of 2M");
}
END_TEST

START_TEST(test_exit_status)
{
	ck_assert_int_eq(ukvm_exit_status(0), 0);
	ck_assert_int_eq(ukvm_exit_status(42), 42);
	ck_assert_int_eq(ukvm_exit_status(255), 255);
	ck_assert_int_eq(ukvm_exit_status(256), 0);   /* exit(256) ends with 0, as on Linux */
	ck_assert_int_eq(ukvm_exit_status(0xffffffffu), 255); /* exit(-1) */
}
END_TEST

START_TEST(test_signal_names)
{
	ck_assert_str_eq(ukvm_signal_name(6), "SIGABRT");
	ck_assert_str_eq(ukvm_signal_name(11), "SIGSEGV");
	ck_assert_str_eq(ukvm_signal_name(13), "SIGPIPE");
	ck_assert_str_eq(ukvm_signal_name(31), "SIGSYS");
	ck_assert_str_eq(ukvm_signal_name(17), "SIGCHLD");
	ck_assert_str_eq(ukvm_signal_name(34), "SIGRT");
	ck_assert_str_eq(ukvm_signal_name(64), "SIGRT");
	ck_assert_str_eq(ukvm_signal_name(0), "signal");
	ck_assert_str_eq(ukvm_signal_name(65), "signal");
	ck_assert_str_eq(ukvm_signal_name(UINT32_MAX), "signal");
}
END_TEST

Suite *abi_suite(void)
{
	Suite *s = suite_create("abi");
	TCase *c = tcase_create("core");
	TCase *l = tcase_create("limits");
	tcase_add_test(c, test_mem_size_ok);
	tcase_add_test(c, test_signal_names);
	tcase_add_test(l, test_mem_size_bad);
	tcase_add_test(l, test_exit_status);
	suite_add_tcase(s, c);
	suite_add_tcase(s, l);
	return s;
}
