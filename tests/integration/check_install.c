/* check_install.c: integration suite "install": `make install` into a temp DESTDIR and an embedder built only from libukvm.pc (tests/install/). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_util.h"

/*
 * The script installs with PREFIX=/opt/ukvm-check under a temp DESTDIR,
 * checks the .pc names that prefix, compiles tests/install/embed_min.c with
 * `pkg-config --static --cflags --libs libukvm` alone and boots hello.img
 * with it. Run from the repository root, like the whole runner.
 */
START_TEST(install_and_embed_with_pkg_config)
{
	const char *build = getenv("UKVM_BUILD");
	char img[4096];
	snprintf(img, sizeof(img), "%s", it_path("apps/hello.img"));
	const char *const args[] = { "tests/install/check-install.sh", img, build ? build : "build", NULL };
	struct it_proc p;
	struct it_result r;
	int termsig;
	ck_assert_int_eq(it_start(&p, "/bin/sh", args), 0);
	ck_assert_int_eq(it_finish(&p, 0, 100, &r, &termsig), 0);
	ck_assert_msg(termsig == 0 && r.status == 0, "status %d signal %d: %s%s", r.status, termsig, r.out, r.err);
	ck_assert_msg(strstr(r.out, "check-install: ok"), "%s", r.out);
	it_result_free(&r);
}
END_TEST

Suite *install_suite(void)
{
	Suite *s = suite_create("install");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, install_and_embed_with_pkg_config);
	suite_add_tcase(s, tc);
	return s;
}
