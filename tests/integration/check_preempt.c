/*
 * check_preempt.c: time slices. In pvm-pv mode the guest kernel preempts a thread that runs without
 * syscalls (guest/apps/preempt.c, checked natively first); base mode is cooperative (README), so those
 * cases are skipped there, loudly. The timer must cost nothing where it is not needed: a lone spinning
 * thread (with no app timer) and threads that block take no interrupt (KVM's count from ukvm-run --stats,
 * never timing).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "it_util.h"
#include "snap.h"
#include "ukvm.h"

static const char *const pv_modes[] = { "off", "auto" };

/* The interrupts KVM injected, from --stats' "KVM: ..." line; -1 when this KVM has no binary stats. */
static long interrupts(const struct it_result *r)
{
	const char *k = strstr(r->err, "ukvm-run: KVM: ");
	const char *e = k ? strchr(k, '\n') : NULL;
	for (const char *p = k; p && p < e; p++)
		if (*p == ',' && strncmp(p, ", ", 2) == 0 && strstr(p, " interrupts") && strstr(p, " interrupts") < e &&
		    !strchr(p + 1, ','))
			return strtol(p + 2, NULL, 10);
	return -1;
}

/* The app natively: its verdict line, so a broken app cannot pass in ukvm. */
static void native(const char *mode, const char *want)
{
	struct it_result n;
	const char *args[] = { mode, NULL };
	ck_assert_int_eq(it_run_prog(&n, 60, it_path("apps/preempt"), args), 0);
	ck_assert_msg(n.status == 0 && strcmp(n.out, want) == 0, "preempt %s natively: status %d:\n%s%s", mode, n.status,
		      n.out, n.err);
	it_result_free(&n);
}

/*
 * preempt MODE in ukvm under --pv pv with --stats: false, and nothing run, when pv_only and the VM would
 * not be in PV mode (there such a mode spins until the run's time limit: a minute for nothing).
 */
static bool guest(struct it_result *r, const char *pv, const char *mode, bool pv_only)
{
	bool base = !strcmp(pv, "off");
	if (pv_only && (base || !it_host_has_pv())) {
		fprintf(stderr, "SKIPPED: preempt %s --pv %s: %s\n", mode, pv,
			!base ? "this host has no pvm-pv interface (timer interrupts)"
			      : "base mode is cooperative: a thread spinning without syscalls keeps the CPU (README)");
		return false;
	}
	const char *args[] = { "--pv", pv, "--stats", it_path("apps/preempt.img"), mode, NULL };
	ck_assert_int_eq(it_run_prog(r, 60, NULL, args), 0);
	ck_assert_msg(!pv_only || strstr(r->err, "ukvm-run: pv mode"), "preempt %s --pv %s: not in pv mode:\n%s", mode,
		      pv, r->err);
	return true;
}

static const char *const pv_cases[] = { "flag", "cancel", "alarm" };

/*
 * PV mode only: the main thread spins with no syscall until a sleeping thread sets a flag; asynchronous
 * pthread_cancel of a thread spinning with no syscall (both need the other thread to get the CPU); a
 * lone thread spins until its SIGALRM handler runs (the signal must interrupt the loop, as on Linux).
 */
START_TEST(spinning_thread_preempted)
{
	const char *mode = pv_cases[_i / 2], *pv = pv_modes[_i % 2];
	char want[64];
	struct it_result r;

	snprintf(want, sizeof(want), "%s ok\n", mode);
	native(mode, want);
	if (!guest(&r, pv, mode, true))
		return;
	ck_assert_msg(r.status == 0 && strcmp(r.out, want) == 0, "preempt %s --pv %s: status %d:\n%s%s", mode, pv,
		      r.status, r.out, r.err);
	long n = interrupts(&r);
	ck_assert_msg(n != 0, "preempt %s --pv %s: done without a timer interrupt?\n%s", mode, pv, r.err);
	fprintf(stderr, "preempt: %s --pv %s: ok, %ld interrupts\n", mode, pv, n);
	it_result_free(&r);
}
END_TEST

/*
 * Two threads spin with live XMM registers (then: upper halves of YMM registers, where the CPU and OS offer
 * AVX, as in PV mode where the app sees the host's CPUID), each its own pattern: preempted mid-SSE/AVX in
 * PV mode, in turn in base mode.
 */
START_TEST(fpu_kept)
{
	const char *mode = _i / 2 ? "avx" : "sse", *pv = pv_modes[_i % 2];
	char want[64];
	struct it_result r;

	snprintf(want, sizeof(want), "%s ok\n", mode);
	native(mode, want);
	guest(&r, pv, mode, false);
	ck_assert_msg(r.status == 0 && strcmp(r.out, want) == 0, "%s --pv %s: status %d:\n%s%s", mode, pv, r.status,
		      r.out, r.err);
	it_result_free(&r);
}
END_TEST

/*
 * Zero cost where nobody waits for the CPU: one thread spinning ~0.1-0.5 s takes no interrupt; a thread
 * sleeping 20 x 10 ms while the other waits in pthread_join takes none either, but for one allowed
 * around pthread_create (the creator returns to the app with two threads runnable and arms a slice: a
 * host preemption of over 10 ms right there fires it). A timer left running would show tens.
 */
START_TEST(no_tick_unneeded)
{
	static const struct {
		const char *mode;
		long max;
	} cases[] = { { "solo", 0 }, { "sleepers", 1 } };
	const char *mode = cases[_i / 2].mode, *pv = pv_modes[_i % 2];
	char want[64];
	struct it_result r;

	snprintf(want, sizeof(want), "%s ok\n", mode);
	native(mode, want);
	guest(&r, pv, mode, false);
	ck_assert_msg(r.status == 0 && strcmp(r.out, want) == 0, "preempt %s --pv %s: status %d:\n%s%s", mode, pv,
		      r.status, r.out, r.err);
	long n = interrupts(&r);
	if (n < 0)
		fprintf(stderr, "SKIPPED: preempt %s --pv %s: interrupt count: this KVM has no binary stats\n", mode, pv);
	else
		ck_assert_msg(n <= cases[_i / 2].max, "preempt %s --pv %s: %ld timer interrupts, want at most %ld:\n%s",
			      mode, pv, n, cases[_i / 2].max, r.err);
	it_result_free(&r);
}
END_TEST

/*
 * PV mode: a VM that took slice ticks, snapshotted in its idle wait on stdin (the timer is disarmed before every
 * idle WAIT) and restored on a fresh vCPU, whose APIC the guest sets up again: the spinning thread
 * still gives way after the restore.
 */
START_TEST(after_restore)
{
	char snap[] = "/tmp/ukvm-preempt-XXXXXX";
	int fd = mkstemp(snap);
	struct it_result w, r;

	ck_assert_msg(fd >= 0, "mkstemp: %s", strerror(errno));
	close(fd);
	const char *wargs[] = { "--stats", "--snapshot-when-idle", snap, it_path("apps/preempt.img"), "snap", NULL };
	ck_assert_int_eq(it_run_waiting(&w, 60, wargs), 0); /* preempt snap idles waiting on its stdin */
	if (!strstr(w.err, "ukvm-run: pv mode")) {
		fprintf(stderr, "SKIPPED: preempt snap: this host has no pvm-pv interface (timer interrupts)\n");
		unlink(snap);
		it_result_free(&w);
		return;
	}
	ck_assert_msg(w.status == 0 && strcmp(w.out, "round 1\n") == 0 && strstr(w.err, "snapshot written"),
		      "snapshot run: status %d:\n%s%s", w.status, w.out, w.err);
	const char *rargs[] = { "--stats", "--restore", snap, NULL };
	ck_assert_int_eq(it_run_prog(&r, 60, NULL, rargs), 0);
	unlink(snap);
	ck_assert_msg(r.status == 0 && strcmp(r.out, "round 2\nsnap ok\n") == 0, "restored: status %d:\n%s%s", r.status,
		      r.out, r.err);
	ck_assert_msg(interrupts(&r) != 0, "restored: done without a timer interrupt?\n%s", r.err);
	it_result_free(&w);
	it_result_free(&r);
}
END_TEST

struct api_vm {
	struct ukvm_vm *vm;
	struct ukvm_result res;
	pthread_t t;
};

static void *api_run(void *p)
{
	struct api_vm *a = p;
	a->res = (struct ukvm_result){ .size = sizeof(a->res) };
	(void)ukvm_run(a->vm, &a->res);
	return NULL;
}

/* What the console memfd holds, NUL-terminated into buf. */
static const char *memfd_text(int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

/*
 * PV mode, libukvm: ukvm_snapshot while the main thread spins with no syscall on a flag a sleeping
 * thread sets in 2 s (so the guest is running, not in a WAIT), then a restore. The spinner gives way
 * only at a time-slice tick: the restored vCPU needs the APIC the guest armed (saved with the vCPU),
 * or it spins until the timeout, since a spinning guest never WAITs (where it would set one up again).
 */
START_TEST(after_running_restore)
{
	char snap[] = "/tmp/ukvm-preempt-XXXXXX", err[256], buf[256];
	int fd = mkstemp(snap);
	ck_assert_msg(fd >= 0, "mkstemp: %s", strerror(errno));
	close(fd);
	static const char *const args[] = { "flag", "2000", NULL };
	int out = memfd_create("out", 0);
	struct ukvm_config cfg = { .size = sizeof(cfg), .pv = it_pv_mode(), .image = it_path("apps/preempt.img"),
				   .argv = args, .console_fd = out, .console_err_fd = -1, .timeout_ms = 60000,
				   .seccomp = true };
	struct api_vm a = { 0 };
	ck_assert_msg(ukvm_create(&cfg, &a.vm, err, sizeof(err)) == UKVM_OK, "%s", err);
	ck_assert_int_eq(pthread_create(&a.t, NULL, api_run, &a), 0);
	for (int i = 0; i < 2000 && !strstr(memfd_text(out, buf, sizeof(buf)), "flag: spinning"); i++)
		usleep(10000);
	ck_assert_msg(strstr(buf, "flag: spinning"), "the guest never spun: %s", buf);
	usleep(100000); /* well inside the 2 s spin */
	int rc = ukvm_snapshot(a.vm, snap, UKVM_SNAPSHOT_STOP, err, sizeof(err));
	pthread_join(a.t, NULL);
	ukvm_destroy(a.vm);
	close(out);
	ck_assert_msg(rc == 0, "ukvm_snapshot: %d: %s", rc, err);
	if (!a.res.pv) {
		fprintf(stderr, "SKIPPED: preempt after_running_restore: %s\n",
			it_pv_mode() == UKVM_PV_OFF ? "base mode is cooperative (README)"
						    : "this host has no pvm-pv interface (timer interrupts)");
		unlink(snap);
		return;
	}
	ck_assert_msg(a.res.kind == UKVM_SNAPSHOTTED, "kind %d: %s", a.res.kind, a.res.msg);
	struct {
		struct snap_hdr h;
		struct snap_meta m;
	} f;
	fd = open(snap, O_RDONLY | O_CLOEXEC);
	ck_assert_int_eq(pread(fd, &f, sizeof(f), 0), (ssize_t)sizeof(f));
	close(fd);
	ck_assert_msg((f.m.vcpu_flags & (SNAP_VCPU_RUNNING | SNAP_VCPU_LAPIC)) == (SNAP_VCPU_RUNNING | SNAP_VCPU_LAPIC),
		      "vCPU flags 0x%x: not taken running, or without the APIC", f.m.vcpu_flags);

	out = memfd_create("out", 0);
	struct ukvm_config rcfg = { .size = sizeof(rcfg), .pv = it_pv_mode(), .restore = snap, .console_fd = out,
				    .console_err_fd = -1, .timeout_ms = 20000, .seccomp = true, .kvm_stats = true };
	a = (struct api_vm){ 0 };
	ck_assert_msg(ukvm_create(&rcfg, &a.vm, err, sizeof(err)) == UKVM_OK, "%s", err);
	ck_assert_int_eq(pthread_create(&a.t, NULL, api_run, &a), 0);
	pthread_join(a.t, NULL);
	ukvm_destroy(a.vm);
	unlink(snap);
	memfd_text(out, buf, sizeof(buf));
	close(out);
	ck_assert_msg(a.res.kind == UKVM_EXITED && a.res.status == 0 && !strcmp(buf, "flag ok\n"),
		      "restored: kind %d status %d (%s): %s", a.res.kind, a.res.status, a.res.msg, buf);
	ck_assert_msg(!a.res.kvm_stats || a.res.kvm_irqs > 0, "restored: no timer interrupt?");
}
END_TEST

Suite *preempt_suite(void)
{
	Suite *s = suite_create("preempt");
	TCase *c = tcase_create("slices");
	tcase_set_timeout(c, 120);
	tcase_add_loop_test(c, spinning_thread_preempted, 0, 6);
	tcase_add_loop_test(c, fpu_kept, 0, 4);
	tcase_add_loop_test(c, no_tick_unneeded, 0, 4);
	tcase_add_test(c, after_restore);
	tcase_add_test(c, after_running_restore);
	suite_add_tcase(s, c);
	return s;
}
