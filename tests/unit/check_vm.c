/* check_vm.c: unit suite "vm" (vmm/vm.c without KVM): the config's size rule, the public error kinds and their exit codes. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"

static char err[256];

/* ukvm_create on cfg; a config these tests pass is refused later for its missing image, before KVM. */
static int create(const struct ukvm_config *cfg)
{
	struct ukvm_vm *vm = (struct ukvm_vm *)&vm;
	err[0] = 0;
	int r = ukvm_create(cfg, &vm, err, sizeof(err));
	ck_assert_ptr_null(vm);
	return r;
}

/* A config as a newer ukvm.h would make it: this library's struct followed by fields it does not know. */
static struct {
	struct ukvm_config c;
	unsigned char tail[64];
} big;

/* big, zeroed, with its size set. */
static struct ukvm_config *big_config(void)
{
	memset(&big, 0, sizeof(big));
	big.c.size = sizeof(big);
	return &big.c;
}

START_TEST(test_config_size_ok)
{
	struct ukvm_config cfg = { .size = sizeof(cfg) };
	ck_assert_int_eq(create(&cfg), UKVM_ERR_CONFIG);
	ck_assert_str_eq(err, "no image given"); /* past the size check */
	/* A newer caller's larger struct whose extra fields are all unset. */
	ck_assert_int_eq(create(big_config()), UKVM_ERR_CONFIG);
	ck_assert_str_eq(err, "no image given");
	/* A config's own checks still run after the size rule. */
	cfg.image = "app.img";
	cfg.mem_size = 9ull << 20;
	ck_assert_int_eq(create(&cfg), UKVM_ERR_CONFIG);
	ck_assert_msg(strstr(err, "memory size 9437184 bytes: not a multiple of 2M"), "%s", err);
	cfg.mem_size = 0;
	cfg.kick_signal = SIGKILL;
	ck_assert_int_eq(create(&cfg), UKVM_ERR_CONFIG);
	ck_assert_str_eq(err, "kick_signal 9 is not usable");
}
END_TEST

START_TEST(test_config_size_limits)
{
	/*
	 * The smallest accepted: the 0.2 struct without its tail padding, in a
	 * block of exactly that size: ASan stops a read past size.
	 */
	struct ukvm_config *small = calloc(1, UKVM_CONFIG_SIZE_0_2);
	ck_assert_ptr_nonnull(small);
	small->size = UKVM_CONFIG_SIZE_0_2;
	ck_assert_int_eq(create(small), UKVM_ERR_CONFIG);
	ck_assert_str_eq(err, "no image given");
	free(small);
	/* Unset (0), one byte short, or implausibly large: refused before anything else is read. */
	static const uint32_t bad[] = { 0, UKVM_CONFIG_SIZE_0_2 - 1, 4097, UINT32_MAX };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ukvm_config cfg = { .size = bad[i], .image = "app.img" };
		ck_assert_int_eq(create(&cfg), UKVM_ERR_CONFIG);
		ck_assert_msg(strstr(err, "set .size = sizeof(struct ukvm_config)"), "size %u: %s", bad[i], err);
	}
}
END_TEST

/* A field of a newer ukvm.h that this library does not know is refused, never ignored. */
START_TEST(test_config_newer_field_set)
{
	struct ukvm_config *c = big_config();
	c->image = "app.img";
	big.tail[5] = 1;
	ck_assert_int_eq(create(c), UKVM_ERR_CONFIG);
	char want[64];
	snprintf(want, sizeof(want), "config byte %zu is set", sizeof(struct ukvm_config) + 5);
	ck_assert_msg(strstr(err, want) && strstr(err, "newer ukvm.h"), "%s", err);
}
END_TEST

START_TEST(test_error_kinds)
{
	/* Outside -4095..-1, where every -errno lies. */
	static const int kinds[] = { UKVM_ERR_CONFIG, UKVM_ERR_IMAGE, UKVM_ERR_KVM, UKVM_ERR_INTERNAL };
	static const int codes[] = { UKVM_EXIT_USAGE, UKVM_EXIT_IMAGE, UKVM_EXIT_NOKVM, UKVM_EXIT_INTERNAL };
	for (unsigned i = 0; i < 4; i++) {
		ck_assert_int_lt(kinds[i], -4095);
		ck_assert_int_eq(ukvm_error_exit_code(kinds[i]), codes[i]);
		/* Out of memory is internal whatever the step; any other -errno takes the step's kind. */
		ck_assert_int_eq(vm_error(kinds[i], -ENOMEM), UKVM_ERR_INTERNAL);
		ck_assert_int_eq(vm_error(kinds[i], -EACCES), kinds[i]);
	}
	ck_assert_int_eq(ukvm_error_exit_code(UKVM_OK), 0);
}
END_TEST

/* -EPERM..-EINTR once were the kinds' values: a -errno passed by mistake is now an internal error. */
START_TEST(test_errno_is_not_a_kind)
{
	for (int e = 1; e <= 4095; e++)
		ck_assert_int_eq(ukvm_error_exit_code(-e), UKVM_EXIT_INTERNAL);
	ck_assert_int_eq(ukvm_error_exit_code(1), UKVM_EXIT_INTERNAL);
}
END_TEST

Suite *vm_suite(void)
{
	Suite *s = suite_create("vm");
	TCase *c = tcase_create("core"), *l = tcase_create("limits"), *h = tcase_create("hostile");
	tcase_add_test(c, test_config_size_ok);
	tcase_add_test(c, test_error_kinds);
	tcase_add_test(l, test_config_size_limits);
	tcase_add_test(h, test_config_newer_field_set);
	tcase_add_test(h, test_errno_is_not_a_kind);
	suite_add_tcase(s, c);
	suite_add_tcase(s, l);
	suite_add_tcase(s, h);
	return s;
}
