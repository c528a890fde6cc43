/* check_hostsig.c: signals from outside the VM reach the app (ukvm-run --signals forward, ukvm_signal). */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "it_util.h"
#include "ukvm.h"

static const char *const pv_modes[] = { "auto", "off" };
static const char *const waits[] = { "wait", "busy" };
static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 };

/*
 * Runs ukvm-run with args, sends sig once stdout holds ready (NULL: after
 * half a second, booted), collects its result; the monitor itself must exit.
 */
static void signal_run(const char *const *args, const char *ready, int sig, struct it_result *r)
{
	struct it_proc p;
	int termsig = -1;
	ck_assert_int_eq(it_start(&p, NULL, args), 0);
	if (ready)
		ck_assert_msg(it_wait_output(&p, ready, 20), "never printed %s", ready);
	else
		it_wait_output(&p, "never printed", 0.5);
	ck_assert_int_eq(it_finish(&p, sig, 30, r, &termsig), 0);
	ck_assert_msg(termsig == 0, "monitor killed by signal %d: %s", termsig, r->err);
}

/* Runs sigterm.img MODE with --signals forward, sends sig once it is ready: its result. */
static void run_signalled(const char *pv, const char *mode, int sig, struct it_result *r)
{
	char img[4096];
	snprintf(img, sizeof(img), "%s", it_path("apps/sigterm.img"));
	const char *args[] = { "--pv", pv, "--signals", "forward", "--timeout", "30", img, mode, NULL };
	signal_run(args, "ready\n", sig, r);
}

/* A handler runs, blocked in pause() (a WAIT with no device: no deadlock) or between syscalls; both modes. */
START_TEST(forwarded_to_handler)
{
	struct it_result r;
	char want[128];
	for (unsigned m = 0; m < 2; m++) {
		run_signalled(pv_modes[_i], waits[m], SIGTERM, &r);
		ck_assert_msg(r.status == 0, "%s %s: status %d: %s", pv_modes[_i], waits[m], r.status, r.err);
		snprintf(want, sizeof(want), "got signal %d (%s) si_code 0 si_pid 0\n", SIGTERM, strsignal(SIGTERM));
		ck_assert_msg(strstr(r.out, want), "%s %s: %s", pv_modes[_i], waits[m], r.out);
		it_result_free(&r);
	}
}
END_TEST

/* Each forwarded signal arrives as itself. */
START_TEST(each_forwarded_signal)
{
	struct it_result r;
	char want[128];
	run_signalled("auto", "wait", sigs[_i], &r);
	ck_assert_msg(r.status == 0, "signal %d: status %d: %s", sigs[_i], r.status, r.err);
	snprintf(want, sizeof(want), "got signal %d (", sigs[_i]);
	ck_assert_msg(strstr(r.out, want), "signal %d: %s", sigs[_i], r.out);
	it_result_free(&r);
}
END_TEST

/* Without a handler the default action ends the app as a native one ends: 128 + N, the guest says why. */
START_TEST(default_action_ends_app)
{
	struct it_result r;
	char img[4096];
	snprintf(img, sizeof(img), "%s", it_path("apps/clock.img"));
	/* clock sleeping 20 s: blocked in a syscall, no handler. */
	const char *args[] = { "--pv", pv_modes[_i], "--signals", "forward", "--timeout", "30", img, "20000", NULL };
	signal_run(args, NULL, SIGTERM, &r);
	ck_assert_msg(r.status == 128 + SIGTERM, "status %d: %s", r.status, r.err);
	ck_assert_msg(strstr(r.err, "app killed by signal 15 (SIGTERM)"), "%s", r.err);
	it_result_free(&r);
}
END_TEST

/*
 * An app computing without syscalls never takes a signal: one it does not
 * catch ends it from the monitor after the grace, as its default action
 * would; one it catches waits for its next syscall (here none: the timeout).
 */
START_TEST(computing_app)
{
	struct it_result r;
	char img[4096];
	snprintf(img, sizeof(img), "%s", it_path("apps/spin.img"));
	const char *args[] = { "--pv", pv_modes[_i], "--signals", "forward", "--timeout", "30", img, NULL };
	signal_run(args, NULL, SIGTERM, &r);
	ck_assert_msg(r.status == 128 + SIGTERM && strstr(r.err, "app killed by signal 15 (SIGTERM) from outside"),
		      "status %d: %s", r.status, r.err);
	it_result_free(&r);

	snprintf(img, sizeof(img), "%s", it_path("apps/sigterm.img"));
	const char *caught[] = { "--pv", pv_modes[_i], "--signals", "forward", "--timeout", "1", img, "compute", NULL };
	signal_run(caught, "ready\n", SIGTERM, &r);
	ck_assert_msg(r.status == 124, "status %d: %s", r.status, r.err);
	it_result_free(&r);
}
END_TEST

/* Through --jail: its outer processes pass every forwarded signal on (SIGQUIT killed them before ukvm_jail_wait). */
START_TEST(through_the_jail)
{
	if (geteuid() != 0) {
		fprintf(stderr, "SKIPPED: hostsig through_the_jail: ukvm-run --jail needs root\n");
		return;
	}
	struct it_result r;
	char img[4096];
	snprintf(img, sizeof(img), "%s", it_path("apps/sigterm.img"));
	const char *args[] = { "--jail", "--signals", "forward", "--timeout", "30", img, NULL };
	signal_run(args, "ready\n", SIGQUIT, &r);
	ck_assert_msg(r.status == 0, "status %d: %s", r.status, r.err);
	ck_assert_msg(strstr(r.out, "got signal 3 ("), "%s", r.out);
	it_result_free(&r);
}
END_TEST

START_TEST(cli_refusals)
{
	struct it_result r;
	const char *bad[] = { "--signals", "kill", it_path("apps/hello.img"), NULL };
	ck_assert_int_eq(it_run(&r, 10, bad), 0);
	ck_assert_msg(r.status == 120 && strstr(r.err, "--signals") && strstr(r.err, "not stop or forward"), "%d %s",
		      r.status, r.err);
	it_result_free(&r);
	const char *snap[] = { "--signals", "forward", "--snapshot-when-idle", "/tmp/ukvm-hostsig-never.snap",
			       it_path("apps/hello.img"), NULL };
	ck_assert_int_eq(it_run(&r, 10, snap), 0);
	ck_assert_msg(r.status == 120 && strstr(r.err, "forward_signals does not go with snapshots"), "%d %s",
		      r.status, r.err);
	it_result_free(&r);
	unlink("/tmp/ukvm-hostsig-never.snap");
}
END_TEST

struct signaller {
	struct ukvm_vm *vm;
	int rc;
};

static void *signaller_main(void *arg)
{
	struct signaller *s = arg;
	const struct timespec d = { 0, 300 * 1000000L };
	nanosleep(&d, NULL);
	s->rc = ukvm_signal(s->vm, SIGUSR1);
	return NULL;
}

/* libukvm: ukvm_signal from another thread; refused without forward_signals and for bad numbers. */
START_TEST(embedder_signal)
{
	char img[4096], err[512];
	int out[2];
	ck_assert_int_eq(pipe(out), 0);
	snprintf(img, sizeof(img), "%s", it_path("apps/sigterm.img"));
	struct ukvm_config cfg = { .size = sizeof(cfg), .pv = it_pv_mode(), .image = img, .console_fd = out[1],
				   .console_err_fd = -1, .timeout_ms = 20000 };
	struct ukvm_vm *vm;
	struct ukvm_result res = { .size = sizeof(res) };
	ck_assert_msg(ukvm_create(&cfg, &vm, err, sizeof(err)) == UKVM_OK, "%s", err);
	ck_assert_int_eq(ukvm_signal(vm, SIGTERM), -ENOTSUP);
	ukvm_destroy(vm);
	cfg.forward_signals = true;
	ck_assert_msg(ukvm_create(&cfg, &vm, err, sizeof(err)) == UKVM_OK, "%s", err);
	ck_assert_int_eq(ukvm_signal(vm, 0), -EINVAL);
	ck_assert_int_eq(ukvm_signal(vm, 65), -EINVAL);
	struct signaller s = { vm, -1 };
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, signaller_main, &s), 0);
	ck_assert_int_eq(ukvm_run(vm, &res), 0);
	pthread_join(t, NULL);
	ck_assert_int_eq(s.rc, 0);
	ck_assert_msg(res.kind == UKVM_EXITED && res.status == 0, "kind %d status %d: %s", res.kind, res.status,
		      res.msg);
	ukvm_destroy(vm);
	close(out[1]);
	char buf[256] = { 0 };
	ck_assert_int_gt(read(out[0], buf, sizeof(buf) - 1), 0);
	close(out[0]);
	ck_assert_msg(strstr(buf, "got signal 10 ("), "%s", buf);
	cfg.restore = "/nonexistent.snap";
	ck_assert_int_eq(ukvm_create(&cfg, &vm, err, sizeof(err)), UKVM_ERR_CONFIG);
	ck_assert_msg(strstr(err, "forward_signals"), "%s", err);
}
END_TEST

Suite *hostsig_suite(void)
{
	Suite *s = suite_create("hostsig");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, forwarded_to_handler, 0, 2);
	tcase_add_loop_test(tc, each_forwarded_signal, 0, (int)(sizeof(sigs) / sizeof(sigs[0])));
	tcase_add_loop_test(tc, default_action_ends_app, 0, 2);
	tcase_add_loop_test(tc, computing_app, 0, 2);
	tcase_add_test(tc, through_the_jail);
	tcase_add_test(tc, cli_refusals);
	tcase_add_test(tc, embedder_signal);
	suite_add_tcase(s, tc);
	return s;
}
