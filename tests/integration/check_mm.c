/* check_mm.c: memory semantics (shared mappings, /dev/shm, SysV shm) as on Linux: each app natively, then in ukvm in both CPU modes. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_util.h"

/* One run of prog (NULL: ukvm-run) with args; its stdout (malloc'd) and status. */
static char *run_one(const char *prog, const char *const *args, int *status, char **err)
{
	struct it_result r;
	ck_assert_int_eq(it_run_prog(&r, 60, prog, args), 0);
	*status = r.status;
	char *out = strdup(r.out);
	*err = strdup(r.err);
	it_result_free(&r);
	return out;
}

/*
 * The cases: an app and its argument (NULL: none) with the last line Linux prints and its exit
 * status. shmap's parts (guest/apps/shmap.c: file mappings, shm_open, SysV, sem_open) each in its own run; sqlwal: SQLite (glibc, Debian's
 * library) in WAL mode; mprot: protections and guard pages, and a main stack overflow that dies of
 * SIGSEGV at the kernel's guard.
 */
static const struct {
	const char *app, *arg, *last;
	int status;
} mm_cases[] = {
	{ "shmap", "file", "shmap ok\n", 0 },
	{ "shmap", "shm", "shmap ok\n", 0 },
	{ "shmap", "sysv", "shmap ok\n", 0 },
	{ "shmap", "sem", "shmap ok\n", 0 },
	{ "sqlwal", NULL, "sqlwal ok\n", 0 },
	{ "mprot", NULL, "mprot ok\n", 0 },
	{ "mprot", "overflow", "overflowing the main stack\n", 128 + 11 },
};

START_TEST(like_linux)
{
	const char *app = mm_cases[_i].app, *arg = mm_cases[_i].arg, *last = mm_cases[_i].last;
	int status = mm_cases[_i].status;
	char rel[64];
	snprintf(rel, sizeof(rel), "apps/%s.img", app);
	char *img = strdup(it_path(rel)); /* it_path's buffer is reused by it_start */
	snprintf(rel, sizeof(rel), "apps/%s", app);
	const char *nat[] = { arg, NULL };
	int st;
	char *err;
	char *want = run_one(it_path(rel), nat, &st, &err);
	size_t wl = strlen(want), ll = strlen(last);
	ck_assert_msg(st == status && wl >= ll && !strcmp(want + wl - ll, last), "native %s %s: status %d\n%s%s", app,
		      arg ? arg : "", st, want, err);
	free(err);
	const char *pvs[] = { "off", "auto" };
	for (int k = 0; k < 2; k++) {
		const char *vm[] = { "--pv", pvs[k], img, arg, NULL };
		char *got = run_one(NULL, vm, &st, &err);
		ck_assert_msg(st == status && !strcmp(got, want), "ukvm --pv %s, %s %s: status %d\n%s%s\nLinux:\n%s", pvs[k], app,
			      arg ? arg : "", st, got, err, want);
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
	tcase_add_loop_test(c, like_linux, 0, (int)(sizeof(mm_cases) / sizeof(mm_cases[0])));
	suite_add_tcase(s, c);
	return s;
}
