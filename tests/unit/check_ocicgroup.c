/*
 * check_ocicgroup.c: placing a container in its cgroup (tools/oci/ocicgroup.c) over fake cgroup roots:
 * a v2 root (cgroup.controllers) and a v1 one (hierarchies with cgroup.procs, a cpu,cpuacct-style link
 * and the hybrid "unified" one left alone). The kernel makes cgroup.procs in a new cgroup; here the
 * test makes it first, and what the process wrote ("0": itself) is read back.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ocicgroup.h"

static char root[64];

static void setup(void)
{
	strcpy(root, "/tmp/ukvm-ocicgroup-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	ck_assert_int_eq(system(cmd), 0);
}

/* Runs cmd in root. */
static void sh(const char *cmd)
{
	char full[512];
	snprintf(full, sizeof(full), "cd %s && %s", root, cmd);
	ck_assert_msg(system(full) == 0, "%s", full);
}

static bool holds(const char *rel, const char *text)
{
	char p[256], buf[64] = "";
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n >= 0 && strcmp(buf, text) == 0;
}

START_TEST(test_systemd_form)
{
	ck_assert(ocicgroup_is_systemd("system.slice:cri-containerd:c1"));
	ck_assert(!ocicgroup_is_systemd("/default/c1"));
	ck_assert(!ocicgroup_is_systemd("/a:b"));
}
END_TEST

START_TEST(test_v2)
{
	char err[256];
	sh("touch cgroup.controllers && mkdir -p default/c1 && touch default/c1/cgroup.procs");
	ck_assert_int_eq(ocicgroup_join(root, "/default/c1", err, sizeof(err)), 0);
	ck_assert(holds("default/c1/cgroup.procs", "0"));
	/* A cgroup that cannot be entered fails the create, with the reason. */
	ck_assert_int_eq(ocicgroup_join(root, "/default/c2", err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "joining cgroup /default/c2 under"));
	sh("test -d default/c2"); /* made before the join failed */
	ocicgroup_remove(root, "/default/c2");
	sh("test ! -e default/c2 && test -d default");
}
END_TEST

START_TEST(test_v1)
{
	char err[256];
	sh("mkdir -p memory/default/c1 cpu,cpuacct/default/c1 unified && ln -s cpu,cpuacct cpu");
	sh("touch memory/cgroup.procs memory/default/c1/cgroup.procs cpu,cpuacct/cgroup.procs "
	   "cpu,cpuacct/default/c1/cgroup.procs unified/cgroup.procs");
	ck_assert_int_eq(ocicgroup_join(root, "/default/c1", err, sizeof(err)), 0);
	ck_assert(holds("memory/default/c1/cgroup.procs", "0"));
	ck_assert(holds("cpu,cpuacct/default/c1/cgroup.procs", "0"));
	sh("test ! -e unified/default");

	/* cpuset: each new level gets its parent's CPUs and nodes first (else the kernel says ENOSPC). */
	sh("mkdir -p cpuset/default/c2 && cd cpuset && printf '0-1\\n' > cpuset.cpus && printf '0\\n' > cpuset.mems && "
	   "touch cgroup.procs default/cgroup.procs default/c2/cgroup.procs && "
	   "for d in default default/c2; do echo > $d/cpuset.cpus; echo > $d/cpuset.mems; done && cd .. && "
	   "mkdir -p memory/default/c2 cpu,cpuacct/default/c2 && "
	   "touch memory/default/c2/cgroup.procs cpu,cpuacct/default/c2/cgroup.procs");
	ck_assert_int_eq(ocicgroup_join(root, "/default/c2", err, sizeof(err)), 0);
	ck_assert(holds("cpuset/default/cpuset.cpus", "0-1\n") && holds("cpuset/default/c2/cpuset.cpus", "0-1\n"));
	ck_assert(holds("cpuset/default/c2/cpuset.mems", "0\n"));
	ck_assert(holds("cpuset/default/c2/cgroup.procs", "0"));
}
END_TEST

START_TEST(test_no_cgroupfs)
{
	char err[256];
	ck_assert_int_eq(ocicgroup_join(root, "/default/c1", err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "no cgroup file system there"));
}
END_TEST

Suite *ocicgroup_suite(void)
{
	Suite *s = suite_create("ocicgroup");
	TCase *c = tcase_create("core");
	tcase_add_checked_fixture(c, setup, teardown);
	tcase_add_test(c, test_systemd_form);
	tcase_add_test(c, test_v2);
	tcase_add_test(c, test_v1);
	tcase_add_test(c, test_no_cgroupfs);
	suite_add_tcase(s, c);
	return s;
}
