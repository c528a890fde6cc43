/* check_mm.c: memory semantics (shared mappings, /dev/shm, SysV shm) as on Linux: each app natively, then in ukvm in both CPU modes. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_util.h"

/* One run of prog (NULL: ukvm-run) with args; its stdout (malloc'd) and status. */
static char *run_one(const char *prog, const char *const *args, int *status, char **err)
{
	struct it_proc p;
	struct it_result r;
	ck_assert_int_eq(it_start(&p, prog, args), 0);
	ck_assert_int_eq(it_finish(&p, 0, 60, &r, NULL), 0);
	*status = r.status;
	char *out = strdup(r.out);
	*err = strdup(r.err);
	it_result_free(&r);
	return out;
}

/* shmap's parts (guest/apps/shmap.c), each in its own run. */
static const char *const shmap_modes[] = { "file", "shm" };

START_TEST(shmap_like_linux)
{
	const char *mode = shmap_modes[_i];
	const char *nat[] = { mode, NULL };
	int st;
	char *err, *img = strdup(it_path("apps/shmap.img")); /* it_path's buffer is reused by it_start */
	char *want = run_one(it_path("apps/shmap"), nat, &st, &err);
	ck_assert_msg(st == 0 && !strcmp(want, "shmap ok\n"), "native %s: status %d\n%s%s", mode, st, want, err);
	free(err);
	const char *pvs[] = { "off", "auto" };
	for (int k = 0; k < 2; k++) {
		const char *vm[] = { "--pv", pvs[k], img, mode, NULL };
		char *got = run_one(NULL, vm, &st, &err);
		ck_assert_msg(st == 0 && !strcmp(got, want), "ukvm --pv %s, %s: status %d\n%s%s", pvs[k], mode, st, got, err);
		free(got);
		free(err);
	}
	free(want);
	free(img);
}
END_TEST

Suite *mm_suite(void)
{
	Suite *s = suite_create("mm");
	TCase *c = tcase_create("shared");
	tcase_set_timeout(c, 180);
	tcase_add_loop_test(c, shmap_like_linux, 0, (int)(sizeof(shmap_modes) / sizeof(shmap_modes[0])));
	suite_add_tcase(s, c);
	return s;
}
