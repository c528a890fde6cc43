/* check_vmmsec.c: ukvm-run under its seccomp filters against guests and signals that reach rarely used monitor paths. */
#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "it_util.h"

static char disk_path[64];

static void disk_setup(void)
{
	ck_assert_int_eq(it_disk_new(disk_path, sizeof(disk_path), 4 << 20), 0);
}

static void disk_teardown(void)
{
	it_disk_remove(disk_path);
}

/*
 * testguest-dio drives the disk itself with buffers one byte past a page: on
 * a ,direct disk every request goes through an O_DIRECT bounce buffer that
 * the event thread allocates. After one large bounce is freed glibc raises
 * its mmap threshold, and the next ones come from the event thread's malloc
 * arena, which grows with mprotect: a syscall the filter must allow, or a
 * guest kills the monitor with SIGSYS. _i: 0 = ukvm-run, 1 = the ASan build.
 */
START_TEST(direct_disk_bounce_buffers)
{
	char prog[4096], img[4096], disk[128];
	snprintf(prog, sizeof(prog), "%s", it_path(_i ? "asan/ukvm-run" : "ukvm-run"));
	snprintf(img, sizeof(img), "%s", it_path("vmm/testguest-dio.elf"));
	snprintf(disk, sizeof(disk), "%s,direct", disk_path);
	ck_assert_msg(access(prog, X_OK) == 0, "%s missing", prog);
	setenv("ASAN_OPTIONS", "detect_leaks=0", 1); /* LSan's stop-the-world is (rightly) not in the filter */
	const char *args[] = { "--timeout", "20", "--disk", disk, img, NULL };
	struct it_proc p;
	struct it_result r;
	int sig;
	ck_assert_int_eq(it_start(&p, prog, args), 0);
	ck_assert_int_eq(it_finish(&p, 0, 30, &r, &sig), 0);
	ck_assert_msg(sig == 0, "%s killed by signal %d\nerr: %s", prog, sig, r.err);
	ck_assert_msg(r.status == 0, "%s: status %d (tg_dio.c: 1x = bad status, 2x = no completion)\nerr: %s", prog,
		      r.status, r.err);
	fprintf(stderr, "vmmsec: direct-disk bounce rounds (%s): %.0f ms\n", _i ? "asan" : "plain", r.wall_ms);
	it_result_free(&r);
}
END_TEST

/* Thread ids of pid other than pid itself, once there are at least want of them (or after ~2 s). */
static int other_tids(int pid, int *tids, int max, int want)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	int n = 0;
	for (int tries = 0; tries < 200; tries++) {
		n = 0;
		DIR *d = opendir(path);
		if (!d)
			return 0;
		for (struct dirent *e; (e = readdir(d));) {
			int tid = atoi(e->d_name);
			if (tid > 0 && tid != pid && n < max)
				tids[n++] = tid;
		}
		closedir(d);
		if (n >= want)
			break;
		usleep(10000);
	}
	return n;
}

/*
 * ukvm-run's SIGINT/SIGTERM handler calls ukvm_stop (tgkill). A process
 * signal may be delivered to any thread that does not block it; on the
 * event thread that handler would be killed by the thread's own filter. The
 * signal is aimed at the event thread here: it must stay blocked there, and
 * the process, signalled as a whole, still stops cleanly (128 + SIGTERM).
 */
START_TEST(sigterm_on_event_thread)
{
	char img[4096];
	snprintf(img, sizeof(img), "%s", it_path("vmm/testguest-loop.elf"));
	const char *args[] = { "--timeout", "20", "--disk", disk_path, img, NULL };
	struct it_proc p;
	struct it_result r;
	int sig, tids[8];
	ck_assert_int_eq(it_start(&p, NULL, args), 0);
	int n = other_tids(p.pid, tids, 8, 1);
	ck_assert_msg(n >= 1, "no event thread in ukvm-run");
	for (int i = 0; i < n; i++)
		syscall(SYS_tgkill, p.pid, tids[i], SIGTERM);
	usleep(300000);
	ck_assert_int_eq(it_finish(&p, SIGTERM, 20, &r, &sig), 0);
	ck_assert_msg(sig == 0, "ukvm-run killed by signal %d\nerr: %s", sig, r.err);
	ck_assert_msg(r.status == 128 + SIGTERM, "status %d\nerr: %s", r.status, r.err);
	it_result_free(&r);
}
END_TEST

Suite *vmmsec_suite(void)
{
	Suite *s = suite_create("vmmsec");
	TCase *th = tcase_create("hostile");
	tcase_add_checked_fixture(th, disk_setup, disk_teardown);
	tcase_set_timeout(th, 60);
	tcase_add_loop_test(th, direct_disk_bounce_buffers, 0, 2);
	tcase_add_test(th, sigterm_on_event_thread);
	suite_add_tcase(s, th);
	return s;
}
