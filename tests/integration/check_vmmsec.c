/* check_vmmsec.c: ukvm-run under its seccomp filters against guests and signals that reach rarely used monitor paths. */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
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
	setenv("ASAN_OPTIONS", "detect_leaks=1", 1); /* leaks fail it: LSan runs under the sanitizer build's filter */
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

static double mono_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/*
 * Console floods into a pipe nobody reads (stalled) or whose reader is gone
 * (closed). Once the monitor blocked in write() past --timeout and SIGTERM,
 * then died of SIGPIPE (141) without a word. Now --timeout 1 ends it within
 * 1 s more, SIGTERM within 1 s, and a closed console ends the run with one
 * line and UKVM_EXIT_CONSOLE. _i picks a case; "uflood" writes through the
 * 16550 instead of the console hypercall. The 0.5 s on top of each bound
 * absorbs a loaded host.
 */
static const struct {
	const char *mode;
	bool closed;
	bool term;
	bool tty; /* a terminal nobody reads instead of a pipe (no RWF_NOWAIT there) */
} console_cases[] = {
	{ "flood", false, false, false }, { "flood", false, true, false }, { "flood", true, false, false },
	{ "uflood", false, false, false }, { "uflood", false, true, false }, { "uflood", true, false, false },
	{ "flood", false, false, true },
};

START_TEST(console_stalled_or_closed)
{
	const char *mode = console_cases[_i].mode;
	bool closed = console_cases[_i].closed, term = console_cases[_i].term, tty = console_cases[_i].tty;
	char prog[4096], img[4096];
	snprintf(prog, sizeof(prog), "%s", it_path("ukvm-run"));
	snprintf(img, sizeof(img), "%s", it_path("apps/blkhostile.img"));
	int out[2], err[2];
	ck_assert_int_eq(pipe2(err, O_CLOEXEC), 0);
	if (tty) {
		out[0] = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		ck_assert_int_ge(out[0], 0);
		ck_assert_int_eq(grantpt(out[0]), 0);
		ck_assert_int_eq(unlockpt(out[0]), 0);
		out[1] = open(ptsname(out[0]), O_RDWR | O_NOCTTY | O_CLOEXEC);
		ck_assert_int_ge(out[1], 0);
	} else {
		ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
		/* One page: the UART's byte per exit fills it in ~0.25 s (64 KiB would take seconds on PVM). */
		ck_assert_int_ge(fcntl(out[1], F_SETPIPE_SZ, 4096), 4096);
	}
	double t0 = mono_ms();
	int pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		/* --pv off: the 16550's ports are open to the app through the TSS I/O bitmap of base mode only */
		execl(prog, prog, "--pv", mode[0] == 'u' ? "off" : "auto", "--timeout", term ? "30" : "1", img, "--",
		      mode, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	if (closed)
		close(out[0]); /* the reader is gone before the first byte */
	double sent = 0;
	if (term) {
		usleep(500 * 1000); /* long enough to fill the pipe and block */
		sent = mono_ms();
		kill(pid, SIGTERM);
	}
	int st = 0;
	double end;
	for (;;) {
		int w = waitpid(pid, &st, WNOHANG);
		ck_assert_int_ge(w, 0);
		end = mono_ms();
		if (w == pid)
			break;
		if (end - t0 > 20000) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			ck_abort_msg("%s: still running after 20 s", mode);
		}
		usleep(5000);
	}
	char msg[4096];
	ssize_t n = read(err[0], msg, sizeof(msg) - 1);
	msg[n > 0 ? n : 0] = 0;
	close(err[0]);
	if (!closed)
		close(out[0]);
	ck_assert_msg(WIFEXITED(st), "%s: killed by signal %d\nerr: %s", mode, WTERMSIG(st), msg);
	int code = WEXITSTATUS(st);
	if (closed) {
		ck_assert_msg(code == UKVM_EXIT_CONSOLE, "%s, closed: status %d\nerr: %s", mode, code, msg);
		ck_assert_msg(strstr(msg, "console closed") && strchr(msg, '\n') == msg + strlen(msg) - 1,
			      "%s, closed: want one line naming the closed console:\n%s", mode, msg);
	} else if (term) {
		ck_assert_msg(code == 128 + SIGTERM, "%s, SIGTERM: status %d\nerr: %s", mode, code, msg);
		ck_assert_msg(end - sent < 1500, "%s: ended %.0f ms after SIGTERM (want < 1 s)", mode, end - sent);
	} else {
		ck_assert_msg(code == UKVM_EXIT_TIMEOUT, "%s, stalled: status %d\nerr: %s", mode, code, msg);
		ck_assert_msg(end - t0 < 2500, "%s: --timeout 1 took %.0f ms (want < 2 s)", mode, end - t0);
	}
	fprintf(stderr, "vmmsec: console %s %s %s: status %d after %.0f ms%s\n", mode, tty ? "tty" : "pipe",
		closed ? "closed" : "stalled", code, term ? end - sent : end - t0, term ? " from SIGTERM" : "");
}
END_TEST

/* A FIFO as the image or as a read-only disk used to block ukvm-run in open() forever, waiting for a writer. */
START_TEST(fifo_image_or_disk)
{
	char fifo[64];
	snprintf(fifo, sizeof(fifo), "/tmp/ukvm-fifo-%d", (int)getpid());
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	char disk[80];
	snprintf(disk, sizeof(disk), "%s,ro", fifo);
	char hello[4096];
	snprintf(hello, sizeof(hello), "%s", it_path("apps/hello.img")); /* it_path's buffer is reused */
	const char *img_args[] = {fifo, NULL};
	const char *disk_args[] = {"--disk", disk, hello, NULL};
	const char *const *cases[] = {img_args, disk_args};
	for (unsigned i = 0; i < 2; i++) {
		struct it_result r;
		ck_assert_int_eq(it_run(&r, 10, cases[i]), 0);
		ck_assert_msg(r.status != 0 && r.status < 128, "case %u: status %d (killed after the limit?)", i,
			      r.status);
		ck_assert_msg(strstr(r.err, "not a regular file"), "case %u: stderr \"%s\"", i, r.err);
		it_result_free(&r);
	}
	unlink(fifo);
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
	tcase_add_test(th, fifo_image_or_disk);
	tcase_add_loop_test(th, console_stalled_or_closed, 0, (int)(sizeof(console_cases) / sizeof(console_cases[0])));
	suite_add_tcase(s, th);
	return s;
}
