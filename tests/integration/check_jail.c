/* check_jail.c: ukvm-run --jail: the guest runs as without it, and the monitor is confined as docs/jail.md promises. */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "it_util.h"

/* The jail needs root: said loudly, once per case, when the suite cannot run it. */
static bool jail_possible(void)
{
	if (geteuid() == 0)
		return true;
	fprintf(stderr, "SKIPPED: jail: ukvm-run --jail needs root (euid %d)\n", (int)geteuid());
	return false;
}

START_TEST(jailed_run_as_without)
{
	if (!jail_possible())
		return;
	char disk[64], img[4096];
	ck_assert_int_eq(it_disk_new(disk, sizeof(disk), 1 << 20), 0);
	ck_assert_int_eq(chmod(disk, 0644), 0); /* the jailed monitor is uid 65534 */
	snprintf(img, sizeof(img), "%s,ro", disk);
	char hello[4096]; /* it_path's buffer is reused by it_run */
	snprintf(hello, sizeof(hello), "%s", it_path("apps/hello.img"));
	const char *args[] = { "--jail", "--disk", img, hello, NULL };
	struct it_result r;
	ck_assert_int_eq(it_run(&r, 30, args), 0);
	ck_assert_msg(r.status == 0, "status %d: %s", r.status, r.err);
	ck_assert_ptr_nonnull(strstr(r.out, "Hello from ukvm!"));
	it_result_free(&r);
	it_disk_remove(disk);
}
END_TEST

START_TEST(jail_refuses_what_it_cannot_jail)
{
	if (!jail_possible())
		return;
	char hello[4096];
	snprintf(hello, sizeof(hello), "%s", it_path("apps/hello.img"));
	const char *args[] = { "--jail", "--net", "user", hello, NULL };
	struct it_result r;
	ck_assert_int_eq(it_run(&r, 30, args), 0);
	ck_assert_msg(r.status == 120 && strstr(r.err, "ukvm-run: --jail: user networking is not jailed"), "status %d: %s",
		      r.status, r.err);
	ck_assert_msg(!strchr(r.err, '\n') || !strchr(r.err, '\n')[1], "more than one line: %s", r.err);
	it_result_free(&r);
}
END_TEST

/* The first line of /proc/PID/FILE starting with key, after the key; "" when none. */
static const char *proc_field(int pid, const char *file, const char *key, char *buf, size_t len)
{
	char p[64], line[512];
	snprintf(p, sizeof(p), "/proc/%d/%s", pid, file);
	buf[0] = 0;
	FILE *f = fopen(p, "r");
	if (!f)
		return buf;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key))) {
			snprintf(buf, len, "%s", line + strlen(key));
			buf[strcspn(buf, "\n")] = 0;
			break;
		}
	fclose(f);
	return buf;
}

static bool same_ns(int pid, const char *ns)
{
	char a[64], b[64], pa[64], pb[64];
	snprintf(pa, sizeof(pa), "/proc/%d/ns/%s", pid, ns);
	snprintf(pb, sizeof(pb), "/proc/self/ns/%s", ns);
	ssize_t na = readlink(pa, a, sizeof(a) - 1), nb = readlink(pb, b, sizeof(b) - 1);
	ck_assert_msg(na > 0 && nb > 0, "%s", pa);
	a[na] = b[nb] = 0;
	return !strcmp(a, b);
}

/*
 * While a jailed guest runs: the monitor (the jail's outer process forked it
 * into the new PID namespace) is uid/gid 65534 with no capability in any set,
 * no_new_privs, seccomp, in mount/PID/IPC/UTS/net namespaces of its own,
 * its root holding only the image, its open files limited. SIGTERM to
 * ukvm-run stops it as without the jail (143).
 */
START_TEST(jailed_monitor_confined)
{
	if (!jail_possible())
		return;
	char spin[4096], prog[4096];
	snprintf(spin, sizeof(spin), "%s", it_path("apps/spin.img"));
	snprintf(prog, sizeof(prog), "%s", it_path("ukvm-run"));
	const char *args[] = { "--jail", "--timeout", "60", spin, NULL };
	struct it_proc p;
	ck_assert_int_eq(it_start(&p, prog, args), 0);
	int child = 0;
	char buf[256], key[64];
	for (int i = 0; i < 400; i++) { /* its children, then its ids as the drop leaves them (<= 20 s) */
		/* ukvm-run's child is the jail's outer process; the monitor is its child. */
		int outer = 0;
		snprintf(key, sizeof(key), "task/%d/children", p.pid);
		char path[160];
		snprintf(path, sizeof(path), "/proc/%d/%s", p.pid, key);
		FILE *f = fopen(path, "r");
		if (f) {
			if (fscanf(f, "%d", &outer) != 1)
				outer = 0;
			fclose(f);
		}
		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", outer, outer);
		child = 0;
		if (outer && (f = fopen(path, "r"))) {
			if (fscanf(f, "%d", &child) != 1)
				child = 0;
			fclose(f);
		}
		if (child && !strcmp(proc_field(child, "status", "Seccomp:\t", buf, sizeof(buf)), "2"))
			break;
		struct timespec ts = { 0, 50000000 };
		nanosleep(&ts, NULL);
	}
	ck_assert_msg(child > 0, "no jailed monitor under ukvm-run %d", p.pid);
	ck_assert_str_eq(proc_field(child, "status", "Seccomp:\t", buf, sizeof(buf)), "2");
	ck_assert_str_eq(proc_field(child, "status", "Uid:\t", buf, sizeof(buf)), "65534\t65534\t65534\t65534");
	ck_assert_str_eq(proc_field(child, "status", "Gid:\t", buf, sizeof(buf)), "65534\t65534\t65534\t65534");
	proc_field(child, "status", "Groups:\t", buf, sizeof(buf));
	ck_assert_msg(strspn(buf, " ") == strlen(buf), "groups %s", buf); /* none */
	static const char *const caps[] = { "CapInh:\t", "CapPrm:\t", "CapEff:\t", "CapBnd:\t", "CapAmb:\t" };
	for (int i = 0; i < 5; i++)
		ck_assert_msg(!strcmp(proc_field(child, "status", caps[i], buf, sizeof(buf)), "0000000000000000"),
			      "%s%s", caps[i], buf);
	ck_assert_str_eq(proc_field(child, "status", "NoNewPrivs:\t", buf, sizeof(buf)), "1");
	proc_field(child, "status", "NSpid:\t", buf, sizeof(buf)); /* its pid here, then in its namespace: 1 */
	ck_assert_str_eq(buf + strcspn(buf, "\t"), "\t1");
	static const char *const nss[] = { "mnt", "pid", "ipc", "uts", "net" };
	for (int i = 0; i < 5; i++)
		ck_assert_msg(!same_ns(child, nss[i]), "%s namespace shared with the host", nss[i]);
	ck_assert_ptr_nonnull(strstr(proc_field(child, "limits", "Max open files", buf, sizeof(buf)), "256"));
	/* Its root: the image and nothing else. */
	char root[64];
	snprintf(root, sizeof(root), "/proc/%d/root", child);
	DIR *d = opendir(root);
	ck_assert_ptr_nonnull(d);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			ck_assert_str_eq(e->d_name, "image");
			n++;
		}
	closedir(d);
	ck_assert_int_eq(n, 1);
	kill(p.pid, SIGTERM);
	struct it_result r;
	int sig;
	ck_assert_int_eq(it_finish(&p, 0, 30, &r, &sig), 0);
	ck_assert_msg(r.status == 143, "status %d: %s", r.status, r.err);
	it_result_free(&r);
}
END_TEST

Suite *jail_suite(void)
{
	Suite *s = suite_create("jail");
	TCase *c = tcase_create("core");
	tcase_set_timeout(c, 90);
	tcase_add_test(c, jailed_run_as_without);
	tcase_add_test(c, jail_refuses_what_it_cannot_jail);
	tcase_add_test(c, jailed_monitor_confined);
	suite_add_tcase(s, c);
	return s;
}
