/* check_fs.c: the guest's file system against Linux's tmpfs: fstest's transcript in ukvm (both CPU modes) must equal the same binary's on a host tmpfs. */
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "it_util.h"

#define FS_TMPFS_MAGIC 0x01021994

/*
 * guest/apps/fstest prints one line per call (its result or errno name) and
 * nothing that differs between hosts: symbolic and hard links, FIFOs,
 * mknod, statfs, fadvise, sendfile between files and tmpfs's sizes and
 * block counts. It runs natively in a fresh directory under /dev/shm (a
 * tmpfs, so the sizes are tmpfs's), then in ukvm under /tmp; any difference
 * is a deviation from Linux.
 */

static const char *const pv_modes[] = { "auto", "off" };

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

/* The first line where a and b differ, for the failure message. */
static void first_diff(const char *a, const char *b, char *msg, size_t len)
{
	int line = 1;
	const char *la = a, *lb = b;
	while (*a && *a == *b) {
		if (*a == '\n') {
			line++;
			la = a + 1;
			lb = b + 1;
		}
		a++;
		b++;
	}
	snprintf(msg, len, "line %d: linux \"%.*s\" ukvm \"%.*s\"", line, (int)strcspn(la, "\n"), la,
		 (int)strcspn(lb, "\n"), lb);
}

/* fstest's transcript on the host's tmpfs (malloc'd), or NULL when /dev/shm is no tmpfs (said loudly). */
static char *native_transcript(void)
{
	struct statfs sf;
	if (statfs("/dev/shm", &sf) != 0 || sf.f_type != FS_TMPFS_MAGIC) {
		fprintf(stderr, "fs: SKIPPED: /dev/shm is not a tmpfs, no Linux transcript to compare with\n");
		return NULL;
	}
	char dir[] = "/dev/shm/ukvm-fs-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	struct it_proc p;
	struct it_result r;
	const char *args[] = { dir, NULL };
	ck_assert_int_eq(it_start(&p, it_path("apps/fstest"), args), 0);
	ck_assert_int_eq(it_finish(&p, 0, 60, &r, NULL), 0);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	ck_assert_msg(r.status == 0, "native fstest failed (%d):\n%s%s", r.status, r.out, r.err);
	char *out = strdup(r.out);
	it_result_free(&r);
	return out;
}

START_TEST(fs_calls_as_on_linux_tmpfs)
{
	const char *pv = pv_modes[_i];
	char *want = native_transcript();
	if (!want)
		return;
	struct it_result r;
	char *img = strdup(it_path("apps/fstest.img")); /* it_path's buffer is reused by it_run */
	const char *args[] = { "--pv", pv, img, "/tmp", NULL };
	ck_assert_int_eq(it_run(&r, 60, args), 0);
	free(img);
	char msg[600];
	first_diff(want, r.out, msg, sizeof(msg));
	ck_assert_msg(strcmp(want, r.out) == 0, "--pv %s: fstest differs from Linux at %s\nstderr: %s", pv, msg, r.err);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "fstest ok\n"));
	it_result_free(&r);
	free(want);
}
END_TEST

Suite *fs_suite(void)
{
	Suite *s = suite_create("fs");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, fs_calls_as_on_linux_tmpfs, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
