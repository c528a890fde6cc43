/*
 * check_ocistate.c: ukvm-oci's state, pid file and log formats (tools/oci/ocistate.c, ocilog.c), and the verbs'
 * state transitions (ocicmd.c) with a fake container process standing in for the microVM.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ocicmd.h"
#include "ocilog.h"
#include "ocistate.h"

static char tmp[64];

static void setup(void)
{
	strcpy(tmp, "/tmp/ukvm-ocistate-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	ck_assert_int_eq(system(cmd), 0);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = calloc(1, 65536);
	size_t n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

START_TEST(test_ids)
{
	static const char *const ok[] = { "a", "c1", "my_container.v2+x-y", "0123456789abcdef0123456789abcdef" };
	static const char *const no[] = { "", ".", "..", "a/b", "../x", "a b", "a\nb", "é", "a:b", "/abs" };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		ck_assert_msg(ocistate_id_valid(ok[i]), "%s", ok[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(!ocistate_id_valid(no[i]), "%s", no[i]);
	char longid[OCISTATE_ID_MAX + 2];
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	ck_assert(!ocistate_id_valid(longid));
	longid[OCISTATE_ID_MAX] = '\0';
	ck_assert(ocistate_id_valid(longid));
}
END_TEST

/* /proc/PID/stat with a command name full of spaces and parentheses: fields count from the last ')'. */
START_TEST(test_proc_parse)
{
	char st;
	unsigned long long start;
	ck_assert_int_eq(ocistate_proc_parse("42 (a) b) c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 "
					     "987654 1000 10 18446744073709551615\n", &st, &start), 0);
	ck_assert_int_eq(st, 'S');
	ck_assert_uint_eq(start, 987654);
	ck_assert_int_eq(ocistate_proc_parse("7 (z) Z 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 5", &st, &start), 0);
	ck_assert_int_eq(st, 'Z');
	ck_assert_uint_eq(start, 5);
	static const char *const bad[] = {
		"", "42 no parens S 1", "42 (x)", "42 (x) S", "42 (x) S 1 2 3", "42 (x)S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 5",
		"7 (z) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 x5", "7 (z) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 -",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(ocistate_proc_parse(bad[i], &st, &start) == -EINVAL, "case %zu", i);
	/* Ourselves, through /proc. */
	ck_assert_int_eq(ocistate_proc_start(getpid(), &start), 0);
	ck_assert(ocistate_alive(getpid(), start));
	ck_assert(!ocistate_alive(getpid(), start + 1)); /* a reused pid is another process */
	ck_assert(!ocistate_alive(0, start));
	ck_assert_int_eq(ocistate_proc_start(-5, &start), -ESRCH);
}
END_TEST

/* containerd reads the pid file with strconv.Atoi of the whole file: digits only, no newline. */
START_TEST(test_pidfile)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/init.pid", tmp);
	ck_assert_int_eq(ocistate_pidfile(path, 123456), 0);
	char *t = slurp(path);
	ck_assert_str_eq(t, "123456");
	free(t);
	ck_assert_int_eq(ocistate_pidfile(path, 7), 0); /* replaced whole, never "756" */
	t = slurp(path);
	ck_assert_str_eq(t, "7");
	free(t);
	struct stat st;
	snprintf(path, sizeof(path), "%s/.init.pid.tmp", tmp);
	ck_assert_int_eq(stat(path, &st), -1); /* no temporary left */
	snprintf(path, sizeof(path), "%s/missing/init.pid", tmp);
	ck_assert_int_eq(ocistate_pidfile(path, 1), -ENOENT);
}
END_TEST

/* The shim's getLastRuntimeError decodes each line as JSON and takes msg of the last level=error one. */
START_TEST(test_log_format)
{
	char *l = ocilog_format(true, "error", "exec is \"not\" supported\n\\ here", "2026-12-03T06:13:07.5Z");
	ck_assert_ptr_nonnull(l);
	ck_assert_str_eq(l, "{\"level\":\"error\",\"msg\":\"exec is \\\"not\\\" supported\\n\\\\ here\","
			    "\"time\":\"2026-12-03T06:13:07.5Z\"}\n");
	json_t *o = json_loads(l, 0, NULL);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(json_string_value(json_object_get(o, "msg")), "exec is \"not\" supported\n\\ here");
	json_decref(o);
	free(l);
	/* Bytes that are not UTF-8 (a path can hold any): still one valid JSON line. */
	l = ocilog_format(true, "error", "bad \xff\xfe path", "t");
	ck_assert_ptr_nonnull(l);
	ck_assert_str_eq(l, "{\"level\":\"error\",\"msg\":\"bad ?? path\",\"time\":\"t\"}\n");
	free(l);
	l = ocilog_format(false, "warning", "a \"b\"", "t");
	ck_assert_str_eq(l, "time=\"t\" level=warning msg=\"a \\\"b\\\"\"\n");
	free(l);
	char now[64];
	ocistate_now_rfc3339(now, sizeof(now));
	ck_assert_uint_eq(strlen(now), strlen("2026-12-03T06:13:07.123456789Z"));
	ck_assert_int_eq(now[10], 'T');
	ck_assert_int_eq(now[29], 'Z');
}
END_TEST

START_TEST(test_log_file)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/log.json", tmp);
	struct ocilog log = { path, true };
	ck_assert_int_eq(ocilog_write(&log, "warning", "one"), 0);
	ck_assert_int_eq(ocilog_write(&log, "error", "two"), 0);
	char *t = slurp(path);
	char *nl = strchr(t, '\n');
	ck_assert_ptr_nonnull(nl);
	ck_assert_ptr_nonnull(strstr(t, "\"msg\":\"one\""));
	ck_assert_ptr_nonnull(strstr(nl, "{\"level\":\"error\",\"msg\":\"two\",\"time\":\""));
	ck_assert_int_eq(t[strlen(t) - 1], '\n');
	free(t);
	struct ocilog none = { NULL, true };
	ck_assert_int_eq(ocilog_write(&none, "error", "x"), 0);
}
END_TEST

/* state.json round trip; the OCI state document as go-runc's Container decodes it. */
START_TEST(test_state_roundtrip)
{
	int dfd = open(tmp, O_RDONLY | O_DIRECTORY);
	struct ocistate st = { .id = "c1", .pid = getpid(), .bundle = "/b", .rootfs = "/b/rootfs",
			       .created = "2026-12-03T06:13:07.000000001Z", .annotations = "{\"k\":\"v\"}",
			       .cgroup = "/default/c1" };
	char err[256];
	ck_assert_int_eq(ocistate_proc_start(getpid(), &st.start), 0);
	ck_assert_int_eq(ocistate_save(dfd, &st), 0);
	struct ocistate back;
	ck_assert_int_eq(ocistate_load(dfd, &back, err, sizeof(err)), 0);
	ck_assert_str_eq(back.id, "c1");
	ck_assert_int_eq(back.pid, getpid());
	ck_assert_uint_eq(back.start, st.start);
	ck_assert_str_eq(back.annotations, "{\"k\":\"v\"}");
	ck_assert_str_eq(back.cgroup, "/default/c1");
	ck_assert_int_eq(ocistate_status(&back, dfd), OCISTATE_RUNNING);
	ck_assert_int_eq(mkfifoat(dfd, OCISTATE_FIFO, 0600), 0);
	ck_assert_int_eq(ocistate_status(&back, dfd), OCISTATE_CREATED);
	back.start++;
	ck_assert_int_eq(ocistate_status(&back, dfd), OCISTATE_STOPPED);

	char *j = ocistate_json(&back, OCISTATE_STOPPED);
	json_t *o = json_loads(j, 0, NULL);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(json_string_value(json_object_get(o, "status")), "stopped");
	ck_assert_int_eq(json_integer_value(json_object_get(o, "pid")), 0);
	ck_assert_str_eq(json_string_value(json_object_get(o, "id")), "c1");
	ck_assert_str_eq(json_string_value(json_object_get(o, "bundle")), "/b");
	ck_assert_str_eq(json_string_value(json_object_get(o, "rootfs")), "/b/rootfs");
	ck_assert_str_eq(json_string_value(json_object_get(o, "created")), "2026-12-03T06:13:07.000000001Z");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(o, "annotations"), "k")), "v");
	json_decref(o);
	free(j);
	j = ocistate_json(&back, OCISTATE_RUNNING);
	ck_assert_ptr_nonnull(strstr(j, "\"status\":\"running\""));
	free(j);
	ocistate_free(&back);

	/* Damaged or foreign state files are refused, not half-read. */
	static const char *const bad[] = { "", "{", "[]", "{\"id\":\"c1\"}",
		"{\"id\":\"c1\",\"pid\":-1,\"start\":1,\"bundle\":\"/b\",\"rootfs\":\"/r\",\"created\":\"t\",\"annotations\":{}}",
		"{\"id\":\"c1\",\"pid\":1,\"start\":1,\"bundle\":\"/b\",\"rootfs\":\"/r\",\"created\":\"t\",\"annotations\":[]}",
		/* delete removes the cgroup directory: never one outside the cgroup file system */
		"{\"id\":\"c1\",\"pid\":1,\"start\":1,\"bundle\":\"/b\",\"rootfs\":\"/r\",\"created\":\"t\",\"annotations\":{},"
		"\"cgroup\":\"/a/../../etc\"}",
		"{\"id\":\"c1\",\"pid\":1,\"start\":1,\"bundle\":\"/b\",\"rootfs\":\"/r\",\"created\":\"t\",\"annotations\":{},"
		"\"cgroup\":\"a\"}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd = openat(dfd, OCISTATE_FILE, O_WRONLY | O_TRUNC);
		ck_assert_int_eq(write(fd, bad[i], strlen(bad[i])), (ssize_t)strlen(bad[i]));
		close(fd);
		ck_assert_msg(ocistate_load(dfd, &back, err, sizeof(err)) == -EINVAL, "case %zu", i);
		ck_assert_ptr_nonnull(strstr(err, "damaged"));
	}
	close(dfd);
}
END_TEST

/* A signal reaches the container process only while its pid still names it (start time), through a pidfd. */
START_TEST(test_signal_pidfd)
{
	pid_t kid = fork();
	ck_assert_int_ge(kid, 0);
	if (kid == 0) {
		for (;;)
			pause();
	}
	unsigned long long start;
	ck_assert_int_eq(ocistate_proc_start(kid, &start), 0);
	ck_assert_int_eq(ocistate_signal(kid, start + 1, SIGKILL), -ESRCH); /* another process's pid now */
	ck_assert_int_eq(ocistate_signal(kid, start, 0), 0);
	ck_assert_int_eq(ocistate_signal(kid, start, SIGUSR1), 0); /* not SIGTERM: Check's handler, inherited, passes that on to the group */
	int status;
	ck_assert_int_eq(waitpid(kid, &status, 0), kid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGUSR1);
	ck_assert_int_eq(ocistate_signal(kid, start, SIGUSR1), -ESRCH); /* reaped: gone */
}
END_TEST

START_TEST(test_signals)
{
	ck_assert_int_eq(ocicmd_signal("15"), SIGTERM);
	ck_assert_int_eq(ocicmd_signal("9"), SIGKILL);
	ck_assert_int_eq(ocicmd_signal("TERM"), SIGTERM);
	ck_assert_int_eq(ocicmd_signal("SIGKILL"), SIGKILL);
	ck_assert_int_eq(ocicmd_signal("SIGUSR1"), SIGUSR1);
	ck_assert_int_eq(ocicmd_signal("0"), -1);
	ck_assert_int_eq(ocicmd_signal("99"), -1);
	ck_assert_int_eq(ocicmd_signal("15x"), -1);
	ck_assert_int_eq(ocicmd_signal("SIGNOPE"), -1);
	ck_assert_int_eq(ocicmd_signal(""), -1);
}
END_TEST

/*
 * The fake monitor: a process that does what the container process does
 * around start (ocivm.c): open the FIFO for writing (blocks until start),
 * say so with a byte, then stay up until killed.
 */
static pid_t fake_container(const char *root, const char *id)
{
	char dir[256], fifo[300];
	snprintf(dir, sizeof(dir), "%s/%s", root, id);
	ck_assert_int_eq(mkdir(root, 0700) == 0 || errno == EEXIST, 1);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	snprintf(fifo, sizeof(fifo), "%s/%s", dir, OCISTATE_FIFO);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		signal(SIGTERM, SIG_DFL); /* Check's handler would take the whole test down with it */
		int fd = open(fifo, O_WRONLY);
		if (fd < 0 || write(fd, "1", 1) != 1)
			_exit(99);
		close(fd);
		for (;;)
			pause();
	}
	struct ocistate st = { .id = (char *)id, .pid = pid, .bundle = "/b", .rootfs = "/b/rootfs", .created = "t",
			       .annotations = "{}" };
	for (int i = 0; i < 1000 && ocistate_proc_start(pid, &st.start) < 0; i++)
		usleep(1000);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_eq(ocistate_save(dfd, &st), 0);
	close(dfd);
	return pid;
}

static char *run_state(struct ocicmd *c, const char *id)
{
	char *buf = NULL;
	size_t len = 0;
	c->out = open_memstream(&buf, &len);
	int rc = ocicmd_state(c, id);
	fclose(c->out);
	c->out = stdout;
	if (rc) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* create -> start -> running -> kill -> stopped -> delete, and what each verb says out of turn. */
START_TEST(test_transitions)
{
	char root[128], log[128];
	snprintf(root, sizeof(root), "%s/root", tmp);
	snprintf(log, sizeof(log), "%s/log.json", tmp);
	struct ocicmd c = { .root = root, .log = { log, true }, .out = stdout };
	pid_t pid = fake_container(root, "c1");

	char *s = run_state(&c, "c1");
	ck_assert_msg(s && strstr(s, "\"status\":\"created\""), "%s", s);
	free(s);
	char *out = NULL;
	size_t len = 0;
	c.out = open_memstream(&out, &len);
	ck_assert_int_eq(ocicmd_ps(&c, "c1", true), 0);
	fclose(c.out);
	c.out = stdout;
	char want[32];
	snprintf(want, sizeof(want), "[%d]\n", pid);
	ck_assert_str_eq(out, want);
	free(out);

	ck_assert_int_eq(ocicmd_start(&c, "c1"), 0);
	s = run_state(&c, "c1");
	ck_assert_msg(s && strstr(s, "\"status\":\"running\""), "%s", s);
	free(s);
	ck_assert_int_eq(ocicmd_start(&c, "c1"), 1);
	ck_assert_int_eq(ocicmd_delete(&c, "c1", false), 1); /* running: only --force deletes it */
	ck_assert_int_eq(ocicmd_kill(&c, "c1", "SIGNOPE", false), 1);
	ck_assert_int_eq(ocicmd_kill(&c, "c1", "15", true), 0);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	s = run_state(&c, "c1");
	ck_assert_msg(s && strstr(s, "\"status\":\"stopped\"") && strstr(s, "\"pid\":0"), "%s", s);
	free(s);
	ck_assert_int_eq(ocicmd_kill(&c, "c1", "9", false), 1);
	ck_assert_int_eq(ocicmd_start(&c, "c1"), 1);
	ck_assert_int_eq(ocicmd_delete(&c, "c1", false), 0);
	ck_assert_int_eq(ocicmd_delete(&c, "c1", false), 1);
	ck_assert_int_eq(ocicmd_delete(&c, "c1", true), 0); /* the shim's last delete, after the container is gone */
	ck_assert_int_eq(ocicmd_kill(&c, "c1", "9", false), 1);
	ck_assert_ptr_null(run_state(&c, "c1"));
	ck_assert_int_eq(ocicmd_refuse(&c, "exec"), 1);

	char *t = slurp(log);
	ck_assert_ptr_nonnull(strstr(t, "\"msg\":\"cannot start an already running container\""));
	ck_assert_ptr_nonnull(strstr(t, "\"msg\":\"cannot delete container c1 that is not stopped: running\""));
	ck_assert_ptr_nonnull(strstr(t, "\"msg\":\"invalid signal \\\"SIGNOPE\\\"\""));
	ck_assert_ptr_nonnull(strstr(t, "\"msg\":\"container not running\""));
	ck_assert_ptr_nonnull(strstr(t, "\"msg\":\"cannot start a container that has stopped\""));
	ck_assert_ptr_nonnull(strstr(t, "\"msg\":\"container \\\"c1\\\" does not exist\""));
	/* The exact line the issue asks for, last. */
	char *last = strrchr(t, '{');
	ck_assert_ptr_nonnull(strstr(last, "{\"level\":\"error\",\"msg\":\"exec is not supported: a ukvm container is one "
				     "microVM running one process\",\"time\":\""));
	free(t);
	char dir[200];
	snprintf(dir, sizeof(dir), "%s/c1", root);
	ck_assert_int_eq(access(dir, F_OK), -1);
}
END_TEST

/* A created container (never started) is deleted without --force, as runc does: its process is killed. */
START_TEST(test_delete_created)
{
	char root[128];
	snprintf(root, sizeof(root), "%s/root", tmp);
	struct ocicmd c = { .root = root, .out = stdout, .quiet_stderr = false };
	pid_t a = fake_container(root, "a");
	pid_t b = fake_container(root, "b");
	ck_assert_int_eq(ocicmd_start(&c, "b"), 0);
	ck_assert_int_eq(ocicmd_delete(&c, "a", false), 0);
	int status;
	ck_assert_int_eq(waitpid(a, &status, 0), a);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	ck_assert_int_eq(ocicmd_delete(&c, "b", true), 0); /* running, --force */
	ck_assert_int_eq(waitpid(b, &status, 0), b);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* start of a container whose process died before it: an error, not a wait for a writer that never comes. */
	pid_t d = fake_container(root, "d");
	kill(d, SIGKILL);
	waitpid(d, &status, 0);
	ck_assert_int_eq(ocicmd_start(&c, "d"), 1);
	ck_assert_int_eq(ocicmd_delete(&c, "d", false), 0);
	ck_assert_int_eq(ocicmd_state(&c, "../etc"), 1);
}
END_TEST

Suite *ocistate_suite(void)
{
	Suite *s = suite_create("ocistate");
	TCase *c = tcase_create("core"), *l = tcase_create("limits"), *h = tcase_create("hostile");
	tcase_add_checked_fixture(c, setup, teardown);
	tcase_add_checked_fixture(l, setup, teardown);
	tcase_add_checked_fixture(h, setup, teardown);
	tcase_add_test(c, test_pidfile);
	tcase_add_test(c, test_log_format);
	tcase_add_test(c, test_log_file);
	tcase_add_test(c, test_state_roundtrip);
	tcase_add_test(c, test_signals);
	tcase_add_test(c, test_signal_pidfd);
	tcase_add_test(c, test_transitions);
	tcase_add_test(c, test_delete_created);
	tcase_add_test(l, test_ids);
	tcase_add_test(h, test_proc_parse);
	suite_add_tcase(s, c);
	suite_add_tcase(s, l);
	suite_add_tcase(s, h);
	return s;
}
