/* check_kvmcheck.c: unit suite "kvmcheck" (vmm/kvmcheck.c): the /etc/group lookup behind the permission message. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm.h"

static char path[64];

static void group_file(const char *text)
{
	strcpy(path, "/tmp/check_kvmcheck.XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
	close(fd);
}

static void teardown(void)
{
	if (path[0])
		unlink(path);
	path[0] = 0;
}

START_TEST(test_lookup)
{
	group_file("root:x:0:\nkvm:x:104:alice,bob\nlongname-group:x:1000:\n");
	char n[32];
	ck_assert_int_eq(vm_group_name(path, 104, n, sizeof(n)), 0);
	ck_assert_str_eq(n, "kvm");
	ck_assert_int_eq(vm_group_name(path, 0, n, sizeof(n)), 0);
	ck_assert_str_eq(n, "root");
	ck_assert_int_eq(vm_group_name(path, 1000, n, sizeof(n)), 0);
	ck_assert_str_eq(n, "longname-group");
	ck_assert_int_eq(vm_group_name(path, 105, n, sizeof(n)), -ENOENT);
	ck_assert_int_eq(vm_group_name("/nonexistent/group", 104, n, sizeof(n)), -ENOENT);
}
END_TEST

START_TEST(test_limits)
{
	/* Names are truncated to the buffer; an over-long member list does not confuse the parser. */
	static char text[8192];
	strcpy(text, "averyveryverylonggroupname:x:7:");
	for (int i = 0; i < 600; i++)
		strcat(text, "u1234,");
	strcat(text, "\nkvm:x:9:\n");
	group_file(text);
	char n[8];
	ck_assert_int_eq(vm_group_name(path, 7, n, sizeof(n)), 0);
	ck_assert_str_eq(n, "averyve");
	ck_assert_int_eq(vm_group_name(path, 9, n, sizeof(n)), 0);
	ck_assert_str_eq(n, "kvm");
}
END_TEST

START_TEST(test_hostile)
{
	/* Malformed lines never match: missing fields, empty name, non-numeric or trailing-junk gid. */
	group_file("nogid\n:x:5:\nbad:x:5x:\nneg:x:-5:\nempty:x::\nwrap:x:4294967301:\nok:x:5:\n");
	char n[16];
	ck_assert_int_eq(vm_group_name(path, 5, n, sizeof(n)), 0);
	ck_assert_str_eq(n, "ok");
	ck_assert_int_eq(vm_group_name(path, 0, n, sizeof(n)), -ENOENT);
}
END_TEST

Suite *kvmcheck_suite(void)
{
	Suite *s = suite_create("kvmcheck");
	TCase *c = tcase_create("core"), *l = tcase_create("limits"), *h = tcase_create("hostile");
	tcase_add_checked_fixture(c, NULL, teardown);
	tcase_add_checked_fixture(l, NULL, teardown);
	tcase_add_checked_fixture(h, NULL, teardown);
	tcase_add_test(c, test_lookup);
	tcase_add_test(l, test_limits);
	tcase_add_test(h, test_hostile);
	suite_add_tcase(s, c);
	suite_add_tcase(s, l);
	suite_add_tcase(s, h);
	return s;
}
