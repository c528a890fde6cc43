/*
 * check_jailvm.c: the jail with what a VM holds besides its image and disks (docs/jail.md): a tap
 * (inside a network namespace the test creates), snapshots written and restored, a cgroup v2, and
 * libukvm's own entry point, ukvm_jail_enter.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "it_util.h"
#include "jail.h"
#include "netns.h"

#define HOST_CIDR "10.83.0.1/24"
#define GUEST_IP "10.83.0.2"

/* The jail needs root: said loudly, once per case, when the suite cannot run it. */
static bool jail_possible(void)
{
	if (geteuid() == 0)
		return true;
	fprintf(stderr, "SKIPPED: jailvm: the jail needs root (euid %d)\n", (int)geteuid());
	return false;
}

static void ms_sleep(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

/* The jailed monitor under the jail's outer process, ukvm-run's child: its pid once it runs under seccomp, or 0. */
static int jailed_monitor(int ukvm_run_pid)
{
	for (int i = 0; i < 400; i++) { /* <= 20 s */
		char path[160];
		int outer = 0, mon = 0;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", ukvm_run_pid, ukvm_run_pid);
		FILE *f = fopen(path, "r");
		if (f) {
			if (fscanf(f, "%d", &outer) != 1)
				outer = 0;
			fclose(f);
		}
		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", outer, outer);
		if (outer && (f = fopen(path, "r"))) {
			if (fscanf(f, "%d", &mon) != 1)
				mon = 0;
			fclose(f);
		}
		char st[160], line[256];
		snprintf(st, sizeof(st), "/proc/%d/status", mon);
		if (mon && (f = fopen(st, "r"))) {
			bool sec = false;
			while (fgets(line, sizeof(line), f))
				if (!strcmp(line, "Seccomp:\t2\n"))
					sec = true;
			fclose(f);
			if (sec)
				return mon;
		}
		ms_sleep(50);
	}
	return 0;
}

static bool same_ns(int pid_a, int pid_b, const char *ns)
{
	char pa[64], pb[64], a[64], b[64];
	snprintf(pa, sizeof(pa), "/proc/%d/ns/%s", pid_a, ns);
	snprintf(pb, sizeof(pb), "/proc/%d/ns/%s", pid_b, ns);
	ssize_t na = readlink(pa, a, sizeof(a) - 1), nb = readlink(pb, b, sizeof(b) - 1);
	ck_assert_msg(na > 0 && nb > 0, "%s", pa);
	a[na] = b[nb] = 0;
	return !strcmp(a, b);
}

/*
 * A tap in the test's namespace: the jail opens it there and leaves for a network namespace of its
 * own; the guest still answers pings through it, and SIGTERM ends the run with 143.
 */
START_TEST(jailed_tap)
{
	if (!jail_possible())
		return;
	char why[768];
	if (!netns_usable(why, sizeof(why))) {
		fprintf(stderr, "SKIPPED: jailvm jailed_tap: %s\n", why);
		return;
	}
	struct netns ns;
	ck_assert_msg(netns_create(&ns, why, sizeof(why)) == 0, "%s", why);
	ck_assert_msg(netns_add_tap(&ns, "tap0", HOST_CIDR, why, sizeof(why)) == 0, "%s", why);
	char mon[4096], img[4096];
	snprintf(mon, sizeof(mon), "%s", it_path("ukvm-run"));
	snprintf(img, sizeof(img), "%s", it_path("apps/netidle.img"));
	const char *cmd[] = { mon, "--jail", "--net", "tap:tap0,ip=" GUEST_IP "/24", "--timeout", "60", img, "--", "60",
			      NULL };
	const char *argv[40];
	netns_exec_argv(&ns, false, cmd, argv, 40);
	struct it_proc p;
	ck_assert_int_eq(it_start(&p, netns_ip_prog(), argv + 1), 0);
	if (!it_wait_output(&p, "netidle: up", 30)) {
		struct it_result r;
		it_finish(&p, SIGKILL, 5, &r, NULL);
		ck_abort_msg("the guest never came up\nout: %s\nerr: %s", r.out, r.err);
	}
	/* `ip netns exec` runs ukvm-run itself (exec): its child is the jail's outer process. */
	int monitor = jailed_monitor(p.pid);
	ck_assert_msg(monitor > 0, "no jailed monitor under %d", p.pid);
	ck_assert_msg(!same_ns(monitor, p.pid, "net"), "the jailed monitor kept the tap's network namespace");
	ck_assert_int_eq(netns_enter(&ns, false), 0);
	int replies = netns_ping(GUEST_IP, 5, 64);
	ck_assert_int_eq(netns_leave(&ns), 0);
	struct it_result r;
	ck_assert_int_eq(it_finish(&p, SIGTERM, 30, &r, NULL), 0);
	ck_assert_msg(replies >= 4, "%d of 5 pings answered\nerr: %s", replies, r.err);
	ck_assert_msg(r.status == 143, "status %d\nerr: %s", r.status, r.err);
	it_result_free(&r);
	/* A tap that cannot be opened: one line naming it, 120, as without the jail. */
	const char *bad[] = { mon, "--jail", "--net", "tap:no/such", img, NULL };
	netns_exec_argv(&ns, false, bad, argv, 40);
	ck_assert_int_eq(it_run_prog(&r, 30, netns_ip_prog(), argv + 1), 0);
	ck_assert_msg(r.status == 120, "status %d\nerr: %s", r.status, r.err);
	it_result_free(&r);
	netns_destroy(&ns);
}
END_TEST

/* A temp path that does not exist yet (the jail creates it). */
static void tmp_path(char *buf, size_t len, const char *what)
{
	static int n;
	snprintf(buf, len, "/tmp/ukvm-jailvm-%d-%d-%s", (int)getpid(), n++, what);
	unlink(buf);
}

/* snapfn's output line starting with key, or "". */
static const char *line(const char *out, const char *key, char *buf, size_t len)
{
	const char *p = strstr(out, key);
	size_t n = p ? strcspn(p, "\n") : 0;
	snprintf(buf, len, "%.*s", (int)n, p ? p : "");
	return buf;
}

/*
 * A snapshot written by a jailed monitor (the file created for the jail's uid before the root went
 * away, /proc/self/pagemap opened before /proc did) restores in another jail and without one.
 */
START_TEST(jailed_snapshot_restore)
{
	if (!jail_possible())
		return;
	char snap[256], app[4096], a[128], b[128];
	tmp_path(snap, sizeof(snap), "snap");
	snprintf(app, sizeof(app), "%s", it_path("apps/snapfn.img"));
	struct it_result full, s, r1, r2;
	const char *fargs[] = { app, NULL };
	ck_assert_int_eq(it_run(&full, 60, fargs), 0);
	ck_assert_msg(full.status == 0, "status %d: %s", full.status, full.err);
	const char *sargs[] = { "--jail", "--snapshot-when-idle", snap, app, NULL };
	ck_assert_int_eq(it_run_waiting(&s, 60, sargs), 0); /* snapfn idles waiting on its stdin */
	char said[300];
	snprintf(said, sizeof(said), "snapshot written to %s\n", snap); /* the user's path, not the jail's */
	ck_assert_msg(s.status == 0 && strstr(s.err, said), "status %d\nout: %s\nerr: %s", s.status, s.out, s.err);
	struct stat st;
	ck_assert_int_eq(stat(snap, &st), 0);
	ck_assert_msg(st.st_uid == 65534 && st.st_gid == 65534 && (st.st_mode & 0777) == 0600,
		      "snapshot owned %d:%d mode %o", (int)st.st_uid, (int)st.st_gid, (unsigned)(st.st_mode & 0777));
	ck_assert_ptr_null(strstr(s.out, "after"));
	const char *jr[] = { "--jail", "--restore", snap, NULL };
	ck_assert_int_eq(it_run(&r1, 60, jr), 0);
	ck_assert_msg(r1.status == 0, "jailed restore: status %d\nout: %s\nerr: %s", r1.status, r1.out, r1.err);
	ck_assert_ptr_null(strstr(r1.out, "before")); /* resumed, not rebooted */
	ck_assert_str_eq(line(r1.out, "after", a, sizeof(a)), line(full.out, "after", b, sizeof(b)));
	ck_assert_str_eq(line(r1.out, "mono", a, sizeof(a)), "mono ok");
	const char *pr[] = { "--restore", snap, NULL };
	ck_assert_int_eq(it_run(&r2, 60, pr), 0);
	ck_assert_msg(r2.status == 0, "restore: status %d\nerr: %s", r2.status, r2.err);
	ck_assert_str_eq(line(r2.out, "after", a, sizeof(a)), line(full.out, "after", b, sizeof(b)));
	it_result_free(&full);
	it_result_free(&s);
	it_result_free(&r1);
	it_result_free(&r2);
	unlink(snap);
}
END_TEST

/* The cgroup v2 hierarchy's mount point and this process's cgroup in it ("" when none). */
static bool cg2_own(char *dir, size_t len)
{
	char mnt[256] = "", line[1024], cg[256] = "";
	FILE *f = fopen("/proc/self/mountinfo", "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - cgroup2 ");
		if (!sep)
			continue;
		char m[256];
		if (sscanf(line, "%*s %*s %*s %*s %255s", m) == 1) /* the 5th field: the mount point */
			snprintf(mnt, sizeof(mnt), "%s", m);
		break;
	}
	fclose(f);
	if (!*mnt || !(f = fopen("/proc/self/cgroup", "r")))
		return false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			snprintf(cg, sizeof(cg), "%.250s", line + 3);
			cg[strcspn(cg, "\n")] = 0;
		}
	fclose(f);
	if ((size_t)snprintf(dir, len, "%s%s", mnt, strcmp(cg, "/") ? cg : "") >= len)
		return false;
	return true;
}

/* Whether file dir/name holds word (a controller list). */
static bool cg_has(const char *dir, const char *name, const char *word)
{
	char p[1024], buf[512] = "";
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "r");
	if (!f)
		return false;
	bool ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	if (!ok)
		return false;
	for (char *t = strtok(buf, " \n"); t; t = strtok(NULL, " \n"))
		if (!strcmp(t, word))
			return true;
	return false;
}

static void cg_read(const char *dir, const char *name, char *buf, size_t len)
{
	char p[1024];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	buf[0] = 0;
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, len - 1);
	buf[n > 0 ? n : 0] = 0;
	close(fd);
}

/* rmdir of a cgroup whose last process is exiting: EBUSY until the kernel lets go (bounded, 5 s). */
static int cg_remove(const char *dir)
{
	for (int i = 0; i < 100; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		ms_sleep(50);
	}
	return -errno;
}

/*
 * --jail-cgroup DIR on cgroup v1 (memory and cpu as hierarchies of their own, as on this project's
 * machines): DIR in the memory one, the same path made in the cpu one; the limits, the jailed
 * monitor in both.
 */
START_TEST(jail_cgroup_v1)
{
	if (!jail_possible())
		return;
	char memmnt[512], cpumnt[512];
	if (jail_cg1_mount(NULL, "memory", memmnt, sizeof(memmnt)) || jail_cg1_mount(NULL, "cpu", cpumnt, sizeof(cpumnt)) ||
	    access(memmnt, W_OK) != 0 || access(cpumnt, W_OK) != 0) {
		fprintf(stderr, "SKIPPED: jailvm jail_cgroup_v1: no writable cgroup v1 memory and cpu hierarchies\n");
		return;
	}
	char dir[700], cpudir[700], mon[4096], img[4096], buf[4096], want[32];
	snprintf(dir, sizeof(dir), "%s/ukvm-jailvm-%d", memmnt, (int)getpid());
	snprintf(cpudir, sizeof(cpudir), "%s/ukvm-jailvm-%d", cpumnt, (int)getpid());
	snprintf(mon, sizeof(mon), "%s", it_path("ukvm-run"));
	snprintf(img, sizeof(img), "%s", it_path("apps/spin.img"));
	const char *args[] = { "--jail", "--jail-cgroup", dir, "--mem", "64M", "--timeout", "60", img, NULL };
	struct it_proc p;
	struct it_result r;
	ck_assert_int_eq(it_start(&p, mon, args), 0);
	int monitor = jailed_monitor(p.pid);
	ck_assert_msg(monitor > 0, "no jailed monitor under %d", p.pid);
	snprintf(want, sizeof(want), "%d\n", monitor);
	cg_read(dir, "memory.limit_in_bytes", buf, sizeof(buf));
	ck_assert_str_eq(buf, "603979776\n"); /* 64 MiB + 512 MiB */
	cg_read(dir, "cgroup.procs", buf, sizeof(buf));
	ck_assert_msg(strstr(buf, want), "monitor %d not in %s/cgroup.procs: %s", monitor, dir, buf);
	cg_read(cpudir, "cpu.cfs_quota_us", buf, sizeof(buf));
	ck_assert_str_eq(buf, "200000\n");
	cg_read(cpudir, "cgroup.procs", buf, sizeof(buf));
	ck_assert_msg(strstr(buf, want), "monitor %d not in %s/cgroup.procs: %s", monitor, cpudir, buf);
	ck_assert_int_eq(it_finish(&p, SIGTERM, 30, &r, NULL), 0);
	ck_assert_msg(r.status == 143, "status %d\nerr: %s", r.status, r.err);
	it_result_free(&r);
	ck_assert_int_eq(cg_remove(dir), 0);
	ck_assert_int_eq(cg_remove(cpudir), 0);
}
END_TEST

/*
 * --jail-cgroup DIR: created, memory.max guest RAM + 512 MiB, cpu.max 2 CPUs, the jailed monitor in
 * it. Where the cgroup v2 hierarchy lacks the memory or cpu controller (a host mounting them as v1,
 * like this project's machines), the success case SKIPs loudly and the failure case runs: one line
 * naming the controller, and the directory the jail created is gone again.
 */
START_TEST(jail_cgroup)
{
	if (!jail_possible())
		return;
	char own[512], dir[700];
	if (!cg2_own(own, sizeof(own)) || access(own, W_OK) != 0) {
		fprintf(stderr, "SKIPPED: jailvm jail_cgroup: no writable cgroup v2 hierarchy\n");
		return;
	}
	snprintf(dir, sizeof(dir), "%s/ukvm-jailvm-%d", own, (int)getpid());
	char mon[4096], img[4096], buf[4096];
	snprintf(mon, sizeof(mon), "%s", it_path("ukvm-run"));
	snprintf(img, sizeof(img), "%s", it_path("apps/spin.img"));
	const char *args[] = { "--jail", "--jail-cgroup", dir, "--mem", "64M", "--timeout", "60", img, NULL };
	struct it_result r;
	if (!cg_has(own, "cgroup.subtree_control", "memory") || !cg_has(own, "cgroup.subtree_control", "cpu")) {
		fprintf(stderr, "SKIPPED: jailvm jail_cgroup: the cgroup v2 at %s has no memory and cpu controllers "
				"enabled for its children (controllers: ", own);
		cg_read(own, "cgroup.controllers", buf, sizeof(buf));
		buf[strcspn(buf, "\n")] = 0;
		fprintf(stderr, "%s); only the refusal is tested\n", buf);
		ck_assert_int_eq(it_run(&r, 30, args), 0);
		ck_assert_msg(r.status != 0 && strstr(r.err, "controller enabled in the parent"), "status %d\nerr: %s",
			      r.status, r.err);
		ck_assert_msg(access(dir, F_OK) != 0, "%s left behind", dir);
		it_result_free(&r);
		return;
	}
	struct it_proc p;
	ck_assert_int_eq(it_start(&p, mon, args), 0);
	int monitor = jailed_monitor(p.pid);
	ck_assert_msg(monitor > 0, "no jailed monitor under %d", p.pid);
	cg_read(dir, "memory.max", buf, sizeof(buf));
	ck_assert_str_eq(buf, "603979776\n"); /* 64 MiB + 512 MiB */
	cg_read(dir, "cpu.max", buf, sizeof(buf));
	ck_assert_str_eq(buf, "200000 100000\n");
	cg_read(dir, "cgroup.procs", buf, sizeof(buf));
	char want[32];
	snprintf(want, sizeof(want), "%d\n", monitor);
	ck_assert_msg(strstr(buf, want), "monitor %d not in %s/cgroup.procs: %s", monitor, dir, buf);
	ck_assert_int_eq(it_finish(&p, SIGTERM, 30, &r, NULL), 0);
	ck_assert_msg(r.status == 143, "status %d\nerr: %s", r.status, r.err);
	it_result_free(&r);
	ck_assert_int_eq(cg_remove(dir), 0);
}
END_TEST

/*
 * libukvm's entry point: ukvm_jail_enter forks the jail, the caller keeps its own ids and
 * namespaces and waits on the pid it returns for the VM's exit code; the jailed process creates
 * and runs the VM from the rewritten config.
 */
START_TEST(embedder_jail)
{
	if (!jail_possible())
		return;
	char why[256];
	if (!it_kvm_usable(why, sizeof(why))) {
		fprintf(stderr, "SKIPPED: jailvm embedder_jail: %s\n", why);
		return;
	}
	char img[4096];
	snprintf(img, sizeof(img), "%s", it_path("apps/exit.img"));
	const char *argv[] = { "42", NULL };
	int out[2];
	ck_assert_int_eq(pipe(out), 0);
	struct ukvm_config cfg = { .size = sizeof(cfg), .image = img, .argv = argv, .console_fd = out[1], .console_err_fd = out[1],
				   .seccomp = true, .pv = it_pv_mode() };
	struct ukvm_jail j = { .size = sizeof(j) };
	struct ukvm_jailed *jailed;
	char err[512];
	char ns_before[64], ns_after[64];
	ssize_t nb = readlink("/proc/self/ns/mnt", ns_before, sizeof(ns_before));
	int other = open("/dev/null", O_RDONLY); /* an fd of the caller's that the VM is not given */
	ck_assert_int_gt(other, 2);
	int pid = ukvm_jail_enter(&j, &cfg, &jailed, err, sizeof(err));
	if (pid == 0) { /* the jailed process */
		struct ukvm_vm *vm;
		int code = UKVM_EXIT_INTERNAL;
		if (strcmp(cfg.image, "/image") || geteuid() != 65534)
			_exit(111);
		if (fcntl(other, F_GETFD) >= 0 || errno != EBADF || fcntl(out[1], F_GETFD) < 0)
			_exit(112); /* the caller's other fds stay out, the console stays in */
		if (ukvm_create(&cfg, &vm, err, sizeof(err)) == 0) {
			struct ukvm_result res = { .size = sizeof(res) };
			ukvm_run(vm, &res);
			code = ukvm_exit_code(&res);
			ukvm_destroy(vm);
		} else {
			dprintf(out[1], "create: %s\n", err);
		}
		ukvm_jail_free(jailed);
		_exit(code);
	}
	close(out[1]);
	close(other);
	ck_assert_msg(pid > 0, "%d: %s", pid, err);
	ssize_t na = readlink("/proc/self/ns/mnt", ns_after, sizeof(ns_after));
	ck_assert(nb > 0 && na == nb && !memcmp(ns_before, ns_after, (size_t)nb)); /* the caller was not moved */
	ck_assert_int_eq(geteuid(), 0);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	char text[4096];
	ssize_t n = read(out[0], text, sizeof(text) - 1);
	text[n > 0 ? n : 0] = 0;
	close(out[0]);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 42, "status %#x, output: %s", st, text);
	/* What the jail refuses comes back as one line, with no process left. */
	struct ukvm_net user = { .kind = UKVM_NET_USER };
	cfg.nets = &user;
	cfg.nnets = 1;
	ck_assert_int_eq(ukvm_jail_enter(&j, &cfg, &jailed, err, sizeof(err)), UKVM_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(err, "user networking is not jailed"));
	cfg.nnets = 0;
	j.size = 0;
	ck_assert_int_eq(ukvm_jail_enter(&j, &cfg, &jailed, err, sizeof(err)), UKVM_ERR_CONFIG);
	ck_assert_int_eq(waitpid(-1, &st, WNOHANG), -1);
}
END_TEST

Suite *jailvm_suite(void)
{
	Suite *s = suite_create("jailvm");
	TCase *c = tcase_create("core");
	tcase_set_timeout(c, 120);
	tcase_add_test(c, jailed_tap);
	tcase_add_test(c, jailed_snapshot_restore);
	tcase_add_test(c, jail_cgroup);
	tcase_add_test(c, jail_cgroup_v1);
	tcase_add_test(c, embedder_jail);
	suite_add_tcase(s, c);
	return s;
}
