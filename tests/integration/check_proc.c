/* check_proc.c: processes, threads, IPC and timers: guest apps whose transcript must be Linux's, run natively and in ukvm in both CPU modes. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "it_util.h"

/* The two CPU modes every case runs in: the CPL3 base mode and the default (pvm-pv where the host has it). */
static const char *const pv_modes[] = { "off", "auto" };

/* An app and its argument (NULL: none), and a line its transcript must hold (so an app that printed nothing cannot pass). */
static const struct {
	const char *app, *arg, *last;
} linux_cases[] = {
	/* groups, process group and session, prctl per thread, sysinfo, waits with no child, RLIMIT_NOFILE enforced */
	{ "procmisc", NULL, "procmisc done\n" },
	/*
	 * alarm, setitimer/getitimer (REAL, VIRTUAL, PROF), POSIX timers (SIGEV_SIGNAL with SI_TIMER, value, id and
	 * overruns; SIGEV_THREAD_ID; TIMER_ABSTIME), whose signals interrupt pause, sigsuspend, nanosleep and read
	 * (restarted under SA_RESTART), reach the thread that does not block them; sigwait, sigwaitinfo,
	 * sigtimedwait (a waited-for SIGTERM is taken, not acted on) and sigpending; musl's SIGEV_THREAD timers;
	 * argument errors
	 */
	{ "sigtimers", NULL, "sigtimers done\n" },
	/*
	 * the PI futex protocol (ownership, hand-over to the oldest waiter, EDEADLK, EPERM, ESRCH, timeouts on
	 * either clock), robust mutexes (plain and PI, process-shared) whose owner exits holding them (EOWNERDEAD,
	 * ENOTRECOVERABLE), musl's PRIO_INHERIT mutex passed between threads, get/set_robust_list
	 */
	{ "futexpi", NULL, "futexpi done\n" },
	/*
	 * SysV message queues (types, MSG_EXCEPT, negative types, E2BIG and MSG_NOERROR, msg_qbytes, senders and
	 * receivers blocked between threads, IPC_RMID's EIDRM, EINTR) and semaphore sets (SETVAL/SETALL/GETALL,
	 * all-or-nothing semop, IPC_NOWAIT, ERANGE, EFBIG, E2BIG, GETNCNT/GETZCNT, semtimedop, EIDRM, EINTR)
	 */
	{ "sysvipc", NULL, "sysvipc done\n" },
	/* a glibc static program's threads (clone3) */
	{ "glibcproc", NULL, "glibc threads: 4 joined, sum 20\n" },
	/* SIGALRM's default action ends the process: status 142 */
	{ "sigtimers", "kill", "waiting for the alarm\n" },
};
#define N_LINUX ((int)(sizeof(linux_cases) / sizeof(linux_cases[0])))

/* Case i in mode i % 2: stdout and status natively and in ukvm must be the same. */
START_TEST(same_as_linux)
{
	const char *app = linux_cases[_i / 2].app, *arg = linux_cases[_i / 2].arg, *mode = pv_modes[_i % 2];
	char rel[256], img[4096];
	struct it_result n, u;

	snprintf(rel, sizeof(rel), "apps/%s", app);
	const char *nargs[] = { arg, NULL };
	ck_assert_int_eq(it_run_prog(&n, 50, it_path(rel), nargs), 0);
	ck_assert_msg(strstr(n.out, linux_cases[_i / 2].last), "%s natively: no '%s' (status %d):\n%s%s", app,
		      linux_cases[_i / 2].last, n.status, n.out, n.err);
	snprintf(rel, sizeof(rel), "apps/%s.img", app);
	snprintf(img, sizeof(img), "%s", it_path(rel));
	const char *uargs[] = { "--pv", mode, img, arg, NULL };
	ck_assert_int_eq(it_run_prog(&u, 50, NULL, uargs), 0);
	ck_assert_msg(n.status == u.status && strcmp(n.out, u.out) == 0,
		      "%s %s, --pv %s: status %d, Linux %d; stdout:\n%s\nLinux's:\n%s\nstderr:\n%s", app, arg ? arg : "", mode,
		      u.status, n.status, u.out, n.out, u.err);
	fprintf(stderr, "proc: %s%s%s --pv %s: same as Linux (%zu bytes)\n", app, arg ? " " : "", arg ? arg : "", mode,
		u.out_len);
	it_result_free(&n);
	it_result_free(&u);
}
END_TEST

/* Every fork-like clone, fork and vfork: ENOSYS, no thread made, one notice per syscall on stderr. */
START_TEST(no_new_process)
{
	static const char want[] = "posix_spawn: ENOSYS\n"
				   "system: -1\n"
				   "popen: NULL ENOSYS\n"
				   "fork: -1 ENOSYS\n"
				   "vfork: -1 ENOSYS\n"
				   "clone(SIGCHLD): -1 ENOSYS\n"
				   "clone(CLONE_VM|CLONE_VFORK|SIGCHLD): -1 ENOSYS\n";
	struct it_result r;
	const char *args[] = { "--pv", pv_modes[_i], it_path("apps/procmisc.img"), "spawn", NULL };
	char all[1024];

	ck_assert_int_eq(it_run_prog(&r, 50, NULL, args), 0);
	snprintf(all, sizeof(all), "%s%sthreads: 1\n", want, want);
	ck_assert_msg(r.status == 0 && strcmp(r.out, all) == 0, "--pv %s: status %d:\n%s%s", pv_modes[_i], r.status, r.out,
		      r.err);
	static const char *const notices[] = { "ukvm: unimplemented syscall 56 (clone): a new process",
					       "ukvm: unimplemented syscall 57 (fork)",
					       "ukvm: unimplemented syscall 58 (vfork)" };
	for (int i = 0; i < 3; i++) {
		const char *at = strstr(r.err, notices[i]);
		ck_assert_msg(at && !strstr(at + 1, notices[i]), "--pv %s: '%s' not exactly once:\n%s", pv_modes[_i],
			      notices[i], r.err);
	}
	it_result_free(&r);
}
END_TEST

/* glibc: threads through clone3 without a notice; posix_spawn's clone3 and its clone fallback ENOSYS, one notice each. */
START_TEST(glibc_clone3)
{
	struct it_result r, s;
	const char *args[] = { "--pv", pv_modes[_i], it_path("apps/glibcproc.img"), NULL };
	const char *sargs[] = { "--pv", pv_modes[_i], it_path("apps/glibcproc.img"), "spawn", NULL };

	ck_assert_int_eq(it_run_prog(&r, 50, NULL, args), 0);
	ck_assert_msg(r.status == 0 && strcmp(r.out, "glibc threads: 4 joined, sum 20\n") == 0 && !strstr(r.err, "clone"),
		      "--pv %s: status %d:\n%s%s", pv_modes[_i], r.status, r.out, r.err);
	ck_assert_int_eq(it_run_prog(&s, 50, NULL, sargs), 0);
	ck_assert_msg(s.status == 0 && strcmp(s.out, "posix_spawn: ENOSYS\n") == 0, "--pv %s: status %d:\n%s%s",
		      pv_modes[_i], s.status, s.out, s.err);
	ck_assert_msg(strstr(s.err, "unimplemented syscall 435 (clone3): a new process") &&
			      strstr(s.err, "unimplemented syscall 56 (clone): a new process"),
		      "--pv %s: no notices:\n%s", pv_modes[_i], s.err);
	it_result_free(&r);
	it_result_free(&s);
}
END_TEST

Suite *proc_suite(void)
{
	Suite *s = suite_create("proc");
	TCase *c = tcase_create("linux");
	tcase_set_timeout(c, 120);
	tcase_add_loop_test(c, same_as_linux, 0, 2 * N_LINUX);
	tcase_add_loop_test(c, no_new_process, 0, 2);
	tcase_add_loop_test(c, glibc_clone3, 0, 2);
	suite_add_tcase(s, c);
	return s;
}
