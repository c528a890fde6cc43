/*
 * check_oci.c: ukvm-oci without containerd: the create/start/state/kill/delete sequence containerd's runc v2
 * shim drives, on bundles made here, with the test as the subreaper the shim would be.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "it_util.h"
#include "netns.h"

static char tmp[64], bundle[128], root[128], logpath[160], pidf[160];

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 16);
	if (f) {
		size_t n = fread(buf, 1, (1 << 16) - 1, f);
		buf[n] = '\0';
		fclose(f);
	}
	return buf;
}

/*
 * A bundle: rootfs/bin holding the test apps (args, exit, spin) and, when
 * the host has Debian's busybox-static, busybox with pwd linked to it.
 */
static void setup(void)
{
	strcpy(tmp, "/tmp/ukvm-oci-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(bundle, sizeof(bundle), "%s/bundle", tmp);
	/* As the shim names it (ROOT/NAMESPACE): parents that do not exist yet, made by create. */
	snprintf(root, sizeof(root), "%s/state/runc/default", tmp);
	snprintf(logpath, sizeof(logpath), "%s/log.json", bundle);
	snprintf(pidf, sizeof(pidf), "%s/init.pid", bundle);
	IT_SH("mkdir -p %s/rootfs/bin %s/rootfs/etc && cp %s %s/rootfs/bin/", bundle, bundle, it_path("apps/args"), bundle);
	IT_SH("cp %s %s/rootfs/bin/", it_path("apps/exit"), bundle);
	IT_SH("cp %s %s/rootfs/bin/", it_path("apps/spin"), bundle);
	if (access("/bin/busybox", X_OK) == 0)
		IT_SH("cp /bin/busybox %s/rootfs/bin/ && ln -s busybox %s/rootfs/bin/pwd", bundle, bundle);
	/* The shim is a subreaper: the container process, orphaned when create exits, is its child. */
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
}

static void teardown(void)
{
	IT_SH("rm -rf %s", tmp);
}

static void config(const char *process, const char *extra)
{
	char path[200];
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	FILE *f = fopen(path, "w");
	fprintf(f, "{\"ociVersion\":\"1.0.2\",\"process\":{%s},\"root\":{\"path\":\"rootfs\"},"
		   "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"}]%s}",
		process, extra ? extra : "");
	fclose(f);
}

/*
 * Runs ukvm-oci --root R --log B/log.json --log-format json ARGS... with
 * the cwd the bundle, stdin /dev/null, stdout/stderr appended to
 * B/out and B/err (for create: the container's stdio), as the shim does.
 * Returns its exit status; waits for it alone.
 */
static int oci(const char *pv, ...)
{
	const char *argv[32] = { "ukvm-oci", "--root", root, "--log", logpath, "--log-format", "json" };
	int n = 7;
	va_list ap;
	va_start(ap, pv);
	for (const char *a; (a = va_arg(ap, const char *)) && n < 31;)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	char out[200], err[200], prog[4096];
	/* Absolute: the child changes into the bundle first. */
	ck_assert_ptr_nonnull(realpath(it_path("ukvm-oci"), prog));
	snprintf(out, sizeof(out), "%s/out", bundle);
	snprintf(err, sizeof(err), "%s/err", bundle);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int o = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644), e = open(err, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (in < 0 || o < 0 || e < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0 || chdir(bundle) < 0)
			_exit(126);
		setenv("UKVM_OCI_PV", pv, 1);
		execv(prog, (char *const *)argv);
		_exit(127);
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Waits (bounded) for the container process, our child now; its status as the shim reports it. */
static int reap(pid_t pid, double limit_s)
{
	int status;
	for (double waited = 0; waited < limit_s; waited += 0.01) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		ck_assert_int_ge(r, 0);
		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ck_abort_msg("container process %d still running after %.0f s", pid, limit_s);
	return -1;
}

static pid_t read_pid(void)
{
	char *t = slurp(pidf);
	ck_assert_msg(t[0] && strspn(t, "0123456789") == strlen(t), "pid file \"%s\": digits only, no newline", t);
	pid_t pid = atoi(t);
	free(t);
	return pid;
}

static void expect_state(const char *pv, const char *id, const char *status)
{
	char out[200];
	snprintf(out, sizeof(out), "%s/out", bundle);
	ck_assert_int_eq(truncate(out, 0), 0); /* the container process holds it open (O_APPEND) */
	ck_assert_int_eq(oci(pv, "state", id, NULL), 0);
	char *t = slurp(out), want[64];
	snprintf(want, sizeof(want), "\"status\":\"%s\"", status);
	ck_assert_msg(strstr(t, want) && strstr(t, "\"ociVersion\":\"1.0.2\""), "%s", t);
	free(t);
}

static const char *const pv_modes[] = { "off", "auto" };

/* args, env and argv[0] arrive; exit 0; the state goes created -> running/stopped; delete leaves nothing. */
START_TEST(test_lifecycle)
{
	const char *pv = pv_modes[_i];
	config("\"args\":[\"args\",\"x y\"],\"env\":[\"PATH=/bin\",\"GREETING=hello oci\"],\"cwd\":\"/\"", NULL);
	ck_assert_int_eq(oci(pv, "create", "--bundle", bundle, "--pid-file", pidf, "c1", NULL), 0);
	pid_t pid = read_pid();
	char path[300];
	snprintf(path, sizeof(path), "%s/out", bundle);
	char *t = slurp(path);
	ck_assert_str_eq(t, ""); /* create prints nothing of its own on the container's stdio */
	free(t);
	expect_state(pv, "c1", "created");
	ck_assert_int_eq(truncate(path, 0), 0); /* the container process holds it open (O_APPEND) */
	ck_assert_int_eq(oci(pv, "ps", "--format", "json", "c1", NULL), 0);
	t = slurp(path);
	char want[32];
	snprintf(want, sizeof(want), "[%d]\n", pid);
	ck_assert_str_eq(t, want);
	free(t);
	ck_assert_int_eq(truncate(path, 0), 0); /* the container process holds it open (O_APPEND) */
	ck_assert_int_eq(oci(pv, "start", "c1", NULL), 0);
	ck_assert_int_eq(reap(pid, 60), 0);
	t = slurp(path);
	ck_assert_msg(strstr(t, "argc=2\nargv[0]=args\nargv[1]=x y\n") && strstr(t, "env GREETING=hello oci\n"), "%s", t);
	free(t);
	expect_state(pv, "c1", "stopped");
	ck_assert_int_eq(oci(pv, "kill", "c1", "15", NULL), 1);
	t = slurp(logpath);
	ck_assert_msg(strstr(t, "{\"level\":\"error\",\"msg\":\"container not running\""), "%s", t);
	free(t);
	ck_assert_int_eq(oci(pv, "delete", "c1", NULL), 0);
	snprintf(path, sizeof(path), "%s/c1", root);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(oci(pv, "delete", "--force", "c1", NULL), 0);
	ck_assert_int_eq(oci(pv, "state", "c1", NULL), 1);
}
END_TEST

/* The guest's exit status is the container's; process.cwd (missing from the rootfs) is where it runs. */
START_TEST(test_status_and_cwd)
{
	config("\"args\":[\"/bin/exit\",\"42\"]", ",\"linux\":{\"resources\":{\"memory\":{\"limit\":33554432}}}");
	ck_assert_int_eq(oci("auto", "create", "--bundle", bundle, "--pid-file", pidf, "c42", NULL), 0);
	pid_t pid = read_pid();
	ck_assert_int_eq(oci("auto", "start", "c42", NULL), 0);
	ck_assert_int_eq(reap(pid, 60), 42);
	ck_assert_int_eq(oci("auto", "delete", "c42", NULL), 0);
	if (access("/bin/busybox", X_OK) != 0) {
		fprintf(stderr, "oci: SKIPPED cwd case: /bin/busybox missing (Debian's busybox-static)\n");
		return;
	}
	config("\"args\":[\"pwd\"],\"env\":[\"PATH=/usr/bin:/bin\"],\"cwd\":\"/srv//data/\"", NULL);
	ck_assert_int_eq(oci("auto", "create", "--bundle", bundle, "--pid-file", pidf, "cwd", NULL), 0);
	pid = read_pid();
	ck_assert_int_eq(oci("auto", "start", "cwd", NULL), 0);
	ck_assert_int_eq(reap(pid, 60), 0);
	char path[300];
	snprintf(path, sizeof(path), "%s/out", bundle);
	char *t = slurp(path);
	ck_assert_msg(strstr(t, "/srv/data\n"), "%s", t);
	free(t);
	ck_assert_int_eq(oci("auto", "delete", "cwd", NULL), 0);
}
END_TEST

/* kill ID 15 on a running guest: the container ends with SIGTERM (143 to the shim); delete of a created one kills it. */
START_TEST(test_kill_and_delete)
{
	config("\"args\":[\"spin\"],\"env\":[\"PATH=/bin\"]", NULL);
	ck_assert_int_eq(oci("auto", "create", "--bundle", bundle, "--pid-file", pidf, "s1", NULL), 0);
	pid_t pid = read_pid();
	ck_assert_int_eq(oci("auto", "start", "s1", NULL), 0);
	expect_state("auto", "s1", "running");
	ck_assert_int_eq(oci("auto", "delete", "s1", NULL), 1); /* running: needs --force */
	ck_assert_int_eq(oci("auto", "kill", "--all", "s1", "15", NULL), 0);
	ck_assert_int_eq(reap(pid, 30), 128 + SIGTERM);
	ck_assert_int_eq(oci("auto", "delete", "s1", NULL), 0);

	/* The signal reaches the app, as runc's does: its SIGTERM handler runs (a graceful stop), status 0. */
	IT_SH("cp %s %s/rootfs/bin/", it_path("apps/sigterm"), bundle);
	config("\"args\":[\"sigterm\"],\"env\":[\"PATH=/bin\"]", NULL);
	ck_assert_int_eq(oci("auto", "create", "--bundle", bundle, "--pid-file", pidf, "g1", NULL), 0);
	pid = read_pid();
	ck_assert_int_eq(oci("auto", "start", "g1", NULL), 0);
	char out[200], *o = NULL;
	snprintf(out, sizeof(out), "%s/out", bundle);
	for (int i = 0; i < 2000 && !(o && strstr(o, "ready\n")); i++) {
		free(o);
		usleep(10000);
		o = slurp(out);
	}
	ck_assert_msg(strstr(o, "ready\n"), "%s", o);
	free(o);
	ck_assert_int_eq(oci("auto", "kill", "g1", "15", NULL), 0);
	ck_assert_int_eq(reap(pid, 30), 0);
	o = slurp(out);
	ck_assert_msg(strstr(o, "got signal 15 (Terminated) si_code 0 si_pid 0\n"), "%s", o);
	free(o);
	ck_assert_int_eq(oci("auto", "delete", "g1", NULL), 0);

	ck_assert_int_eq(oci("auto", "create", "--bundle", bundle, "--pid-file", pidf, "s2", NULL), 0);
	pid = read_pid();
	ck_assert_int_eq(oci("auto", "delete", "s2", NULL), 0);
	ck_assert_int_eq(reap(pid, 30), 128 + SIGKILL);
	ck_assert_int_eq(oci("auto", "exec", "s2", NULL), 1);
	char *t = slurp(logpath);
	ck_assert_msg(strstr(t, "{\"level\":\"error\",\"msg\":\"exec is not supported: a ukvm container is one microVM "
				"running one process\""), "%s", t);
	free(t);
}
END_TEST

/* A create that cannot run: the reason in log.json (where the shim reads it), nothing on stdio, no state left. */
START_TEST(test_create_refused)
{
	config("\"args\":[\"nothere\"],\"env\":[\"PATH=/bin\"]", NULL);
	ck_assert_int_eq(oci("auto", "create", "--bundle", bundle, "--pid-file", pidf, "bad", NULL), 1);
	char *t = slurp(logpath);
	ck_assert_msg(strstr(t, "\"level\":\"error\",\"msg\":\"args[0] \\\"nothere\\\": not found in PATH /bin inside "
				"the rootfs\""), "%s", t);
	free(t);
	char path[300];
	snprintf(path, sizeof(path), "%s/err", bundle);
	t = slurp(path);
	ck_assert_str_eq(t, "");
	free(t);
	snprintf(path, sizeof(path), "%s/bad", root);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(access(pidf, F_OK), -1);
	/* A guest memory too small for the image's files: refused with the cap named. */
	config("\"args\":[\"args\"],\"env\":[\"PATH=/bin\"]",
	       ",\"linux\":{\"resources\":{\"memory\":{\"limit\":4194304}}}");
	ck_assert_int_eq(oci("auto", "create", "--bundle", bundle, "bad", NULL), 1);
	t = slurp(logpath);
	ck_assert_msg(strstr(t, "below the 8 MiB a ukvm guest needs"), "%s", t);
	free(t);
	config("\"args\":[\"args\"],\"env\":[\"PATH=/bin\"],\"terminal\":true", NULL);
	ck_assert_int_eq(oci("auto", "create", "--bundle", bundle, "bad", NULL), 1);
	t = slurp(logpath);
	ck_assert_msg(strstr(t, "process.terminal is set but no --console-socket was given"), "%s", t);
	free(t);
	ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

/* Polls file (bounded) until it holds needle. */
static bool wait_for(const char *file, const char *needle, double limit_s)
{
	for (double t = 0; t < limit_s; t += 0.05) {
		char *s = slurp(file);
		bool found = strstr(s, needle) != NULL;
		free(s);
		if (found)
			return true;
		usleep(50000);
	}
	return false;
}

/*
 * A CNI-like namespace (a veth with 10.89.0.2/24 and a default route, its peer 10.89.0.1 in a second
 * namespace): the container joins it at start, its guest takes the veth's address and MAC through a
 * tap with tc redirects, and answers pings from the peer side; the tap is gone with the container.
 */
START_TEST(test_network)
{
	char why[512];
	if (!netns_usable(why, sizeof(why))) {
		fprintf(stderr, "oci: SKIPPED network case: %s\n", why);
		return;
	}
	struct netns ns = { 0 };
	ck_assert_msg(netns_create(&ns, why, sizeof(why)) == 0, "%s", why);
	ck_assert_msg(netns_add_veth(&ns, "eth0", "10.89.0.2/24", "veth0", "10.89.0.1/24", why, sizeof(why)) == 0, "%s", why);
	ck_assert_msg(netns_ip(why, sizeof(why), "-n", ns.name, "route", "add", "default", "via", "10.89.0.1", NULL) == 0,
		      "%s", why);
	IT_SH("cp %s %s/rootfs/bin/", it_path("apps/netidle"), bundle);
	char extra[256];
	snprintf(extra, sizeof(extra), ",\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\","
		 "\"path\":\"/var/run/netns/%s\"}]}", ns.name);
	config("\"args\":[\"netidle\",\"60\"],\"env\":[\"PATH=/bin\"]", extra);
	ck_assert_int_eq(oci("auto", "create", "--bundle", bundle, "--pid-file", pidf, "n1", NULL), 0);
	pid_t pid = read_pid();
	ck_assert_int_eq(oci("auto", "start", "n1", NULL), 0);
	char out[300], err[300];
	snprintf(out, sizeof(out), "%s/out", bundle);
	snprintf(err, sizeof(err), "%s/err", bundle);
	if (!wait_for(out, "netidle: up", 30)) {
		char *o = slurp(out), *e = slurp(err);
		ck_abort_msg("the guest never came up\nout: %s\nerr: %s", o, e);
	}
	ck_assert_int_eq(netns_enter(&ns, true), 0);
	int got = netns_ping("10.89.0.2", 3, 64);
	netns_leave(&ns);
	ck_assert_msg(got == 3, "%d of 3 pings answered", got);
	ck_assert_int_eq(oci("auto", "kill", "n1", "KILL", NULL), 0);
	ck_assert_int_eq(reap(pid, 30), 128 + SIGKILL);
	ck_assert_int_eq(oci("auto", "delete", "n1", NULL), 0);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "%s -n %s link show tap0_ukvm >/dev/null 2>&1", netns_ip_prog(), ns.name);
	/* The tap goes with the container process's last reference to it: io_uring lets go of its files after the
	   process is reaped (asynchronously), so wait for it, bounded. */
	bool gone = false;
	for (int i = 0; i < 200 && !gone; i++) {
		gone = system(cmd) != 0;
		if (!gone)
			usleep(50000);
	}
	ck_assert_msg(gone, "tap0_ukvm outlived its container by 10 s");
	netns_destroy(&ns);
}
END_TEST

/* The boot-info cwd under ukvm-run --cwd: a directory of the image, and one it lacks stopping the boot with a report. */
START_TEST(test_run_cwd)
{
	struct it_result r;
	char img[4096];
	snprintf(img, sizeof(img), "%s", it_path("apps/hello.img")); /* it_path's buffer is it_run's too */
	const char *ok[] = { "--cwd", "/tmp", img, NULL };
	ck_assert_int_eq(it_run(&r, 60, ok), 0);
	ck_assert_msg(r.status == 0, "%s", r.err);
	it_result_free(&r);
	const char *missing[] = { "--cwd", "/nope/x", img, NULL };
	ck_assert_int_eq(it_run(&r, 60, missing), 0);
	ck_assert_msg(r.status != 0 && strstr(r.err, "cwd /nope/x: not found"), "%d %s", r.status, r.err);
	it_result_free(&r);
	const char *file[] = { "--cwd", "/dev/null", img, NULL };
	ck_assert_int_eq(it_run(&r, 60, file), 0);
	ck_assert_msg(r.status != 0 && strstr(r.err, "cwd /dev/null: not a directory"), "%d %s", r.status, r.err);
	it_result_free(&r);
}
END_TEST

Suite *oci_suite(void)
{
	Suite *s = suite_create("oci");
	TCase *c = tcase_create("core");
	tcase_set_timeout(c, 180);
	tcase_add_checked_fixture(c, setup, teardown);
	tcase_add_loop_test(c, test_lifecycle, 0, 2);
	tcase_add_test(c, test_status_and_cwd);
	tcase_add_test(c, test_kill_and_delete);
	tcase_add_test(c, test_create_refused);
	tcase_add_test(c, test_run_cwd);
	tcase_add_test(c, test_network);
	suite_add_tcase(s, c);
	return s;
}
