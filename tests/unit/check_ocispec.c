/* check_ocispec.c: config.json -> run plan (tools/oci/ocispec.c): a valid config's every field, and hostile ones refused by name. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ocispec.h"

#define MIB (1ull << 20)

static struct ocispec_plan plan;
static char err[1024];

static int parse(const char *json)
{
	err[0] = '\0';
	return ocispec_parse(json, strlen(json), "/bundles/b1", &plan, err, sizeof(err));
}

static void teardown(void)
{
	ocispec_free(&plan);
}

/* containerd's shape: process, root, the default mounts plus a bind-mounted file, a memory limit, annotations. */
START_TEST(test_full)
{
	static const char cfg[] =
		"{\"ociVersion\":\"1.0.2-dev\",\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"terminal\":true,"
		"\"args\":[\"hello\",\"a b\",\"\"],\"env\":[\"PATH=/usr/bin:/bin\",\"EMPTY=\",\"A=b=c\"],"
		"\"cwd\":\"//srv//app/\",\"capabilities\":{\"bounding\":[\"CAP_KILL\"]},\"noNewPrivileges\":true},"
		"\"root\":{\"path\":\"rootfs\",\"readonly\":true},\"hostname\":\"h\","
		"\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
		"{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\"]},"
		"{\"destination\":\"/run\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"},"
		"{\"destination\":\"/etc/hosts\",\"type\":\"bind\",\"source\":\"/var/lib/x/hosts\",\"options\":[\"rbind\",\"ro\"]},"
		"{\"destination\":\"/data\",\"source\":\"/srv/vol\",\"options\":[\"rbind\"]}],"
		"\"linux\":{\"resources\":{\"memory\":{\"limit\":105000000}},\"namespaces\":[{\"type\":\"pid\"},"
		"{\"type\":\"network\",\"path\":\"/var/run/netns/cni-1\"},{\"type\":\"ipc\",\"path\":\"/proc/1/ns/ipc\"}],"
		"\"cgroupsPath\":\"/default/c1\"},"
		"\"annotations\":{\"io.kubernetes.cri.container-type\":\"container\",\"b\":\"2\"}}";

	ck_assert_int_eq(parse(cfg), 0);
	ck_assert_str_eq(plan.rootfs, "/bundles/b1/rootfs");
	ck_assert(plan.rootfs_ro);
	ck_assert_uint_eq(plan.nargs, 3);
	ck_assert_str_eq(plan.args[0], "hello");
	ck_assert_str_eq(plan.args[1], "a b");
	ck_assert_str_eq(plan.args[2], "");
	ck_assert_ptr_null(plan.args[3]);
	ck_assert_uint_eq(plan.nenv, 3);
	ck_assert_str_eq(plan.env[2], "A=b=c");
	ck_assert_ptr_null(plan.env[3]);
	ck_assert_str_eq(ocispec_getenv(plan.env, "PATH"), "/usr/bin:/bin");
	ck_assert_str_eq(ocispec_getenv(plan.env, "EMPTY"), "");
	ck_assert_ptr_null(ocispec_getenv(plan.env, "PAT"));
	ck_assert_str_eq(plan.cwd, "/srv/app");
	ck_assert(plan.terminal);
	ck_assert_uint_eq(plan.mem_size, 100 * MIB); /* 105000000 bytes rounded down to 2 MiB */
	ck_assert_uint_eq(plan.nhidden, 3);
	ck_assert_str_eq(plan.hidden[0], "/proc");
	ck_assert_str_eq(plan.hidden[2], "/run");
	ck_assert_uint_eq(plan.nbinds, 2);
	ck_assert_str_eq(plan.binds[0].src, "/var/lib/x/hosts");
	ck_assert_str_eq(plan.binds[0].dest, "/etc/hosts");
	ck_assert_str_eq(plan.binds[1].dest, "/data");
	ck_assert_str_eq(plan.annotations, "{\"b\":\"2\",\"io.kubernetes.cri.container-type\":\"container\"}");
	ck_assert(!plan.sandbox);
	ck_assert_str_eq(plan.netns, "/var/run/netns/cni-1");
}
END_TEST

/* The least a config needs: args and root. cwd "/", no env, no limit, no mounts. */
START_TEST(test_minimal)
{
	ck_assert_int_eq(parse("{\"process\":{\"args\":[\"/app\"]},\"root\":{\"path\":\"/abs/root\"}}"), 0);
	ck_assert_str_eq(plan.rootfs, "/abs/root");
	ck_assert_str_eq(plan.cwd, "/");
	ck_assert_uint_eq(plan.nenv, 0);
	ck_assert_ptr_nonnull(plan.env);
	ck_assert_ptr_null(plan.env[0]);
	ck_assert_uint_eq(plan.mem_size, 0);
	ck_assert_uint_eq(plan.nbinds + plan.nhidden, 0);
	ck_assert_str_eq(plan.annotations, "{}");
	ck_assert(!plan.terminal && !plan.rootfs_ro);
	ck_assert_ptr_null(plan.netns);
	ocispec_free(&plan);
	ck_assert(!plan.netns_new);
	/* A new network namespace without a path (ctr run, with or without --cni): made by the container process. */
	ck_assert_int_eq(parse("{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},"
			       "\"linux\":{\"namespaces\":[{\"type\":\"network\"}]}}"), 0);
	ck_assert_ptr_null(plan.netns);
	ck_assert(plan.netns_new);
	ocispec_free(&plan);
	/* linux.cgroupsPath: cgroupfs paths made absolute, systemd's form kept as it is, none when empty. */
	static const struct { const char *in, *out; } cgs[] = {
		{ "\"/default/c1\"", "/default/c1" }, { "\"kubepods//pod1/c1/\"", "/kubepods/pod1/c1" },
		{ "\"system.slice:cri-containerd:c1\"", "system.slice:cri-containerd:c1" }, { "\"\"", NULL } };
	for (size_t i = 0; i < sizeof(cgs) / sizeof(cgs[0]); i++) {
		char cfg[256];
		snprintf(cfg, sizeof(cfg), "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},"
			 "\"linux\":{\"cgroupsPath\":%s}}", cgs[i].in);
		ck_assert_int_eq(parse(cfg), 0);
		if (cgs[i].out)
			ck_assert_str_eq(plan.cgroup, cgs[i].out);
		else
			ck_assert_ptr_null(plan.cgroup);
		ocispec_free(&plan);
	}
	/* A pod's sandbox (pause) container, as the CRI plugin marks it. */
	ck_assert_int_eq(parse("{\"process\":{\"args\":[\"/pause\"]},\"root\":{\"path\":\"r\"},"
			       "\"annotations\":{\"io.kubernetes.cri.container-type\":\"sandbox\"}}"), 0);
	ck_assert(plan.sandbox);
	/* -1 and null: no limit. */
	ocispec_free(&plan);
	ck_assert_int_eq(parse("{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},"
			       "\"linux\":{\"resources\":{\"memory\":{\"limit\":-1}}}}"), 0);
	ck_assert_uint_eq(plan.mem_size, 0);
}
END_TEST

START_TEST(test_mem_rule)
{
	static const struct { uint64_t limit, mem; } t[] = {
		{ 8 * MIB, 8 * MIB },
		{ 8 * MIB + 1, 8 * MIB },
		{ 10 * MIB - 1, 8 * MIB },
		{ 10 * MIB, 10 * MIB },
		{ 8 * MIB - 1, 0 },            /* too small for a guest: refused by the caller */
		{ 0, 0 },
		{ 64ull << 30, 64ull << 30 },
		{ (64ull << 30) + 3 * MIB, 64ull << 30 }, /* ukvm's largest guest */
		{ UINT64_MAX, 64ull << 30 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(ocispec_mem_for_limit(t[i].limit) == t[i].mem, "limit %llu",
			      (unsigned long long)t[i].limit);
}
END_TEST

/* Hostile and malformed configs: each refused, and the message names what is wrong. */
static const struct {
	const char *json;
	int rc;
	const char *msg;
} bad[] = {
	{ "", -EINVAL, "malformed JSON" },
	{ "{\"process\":", -EINVAL, "malformed JSON" },
	{ "[1,2]", -EINVAL, "not a JSON object" },
	{ "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"root\":{\"path\":\"/\"}}", -EINVAL, "duplicate" },
	{ "{\"root\":{\"path\":\"r\"}}", -EINVAL, "process is missing" },
	{ "{\"process\":7,\"root\":{\"path\":\"r\"}}", -EINVAL, "process is missing or not an object" },
	{ "{\"process\":{\"args\":\"sh\"},\"root\":{\"path\":\"r\"}}", -EINVAL, "process.args is not an array" },
	{ "{\"process\":{\"args\":[]},\"root\":{\"path\":\"r\"}}", -EINVAL, "process.args is missing or empty" },
	{ "{\"process\":{},\"root\":{\"path\":\"r\"}}", -EINVAL, "process.args is missing or empty" },
	{ "{\"process\":{\"args\":[\"\"]},\"root\":{\"path\":\"r\"}}", -EINVAL, "nothing to run" },
	{ "{\"process\":{\"args\":[\"a\",3]},\"root\":{\"path\":\"r\"}}", -EINVAL, "process.args[1] is not a string" },
	/* jansson refuses \u0000 itself; ocispec checks again (strlen against the JSON length). */
	{ "{\"process\":{\"args\":[\"a\\u0000b\"]},\"root\":{\"path\":\"r\"}}", -EINVAL, "\\u0000 is not allowed" },
	{ "{\"process\":{\"args\":[\"a\"],\"env\":[\"NOEQUALS\"]},\"root\":{\"path\":\"r\"}}", -EINVAL,
	  "process.env[0] \"NOEQUALS\" is not KEY=VALUE" },
	{ "{\"process\":{\"args\":[\"a\"],\"env\":[\"=v\"]},\"root\":{\"path\":\"r\"}}", -EINVAL, "is not KEY=VALUE" },
	{ "{\"process\":{\"args\":[\"a\"],\"env\":{\"A\":\"b\"}},\"root\":{\"path\":\"r\"}}", -EINVAL,
	  "process.env is not an array" },
	{ "{\"process\":{\"args\":[\"a\"],\"cwd\":\"srv\"},\"root\":{\"path\":\"r\"}}", -EINVAL,
	  "process.cwd \"srv\" is not an absolute path" },
	{ "{\"process\":{\"args\":[\"a\"],\"cwd\":\"/a/../../b\"},\"root\":{\"path\":\"r\"}}", -EINVAL, "'..' part" },
	{ "{\"process\":{\"args\":[\"a\"],\"cwd\":5},\"root\":{\"path\":\"r\"}}", -EINVAL, "process.cwd is not a string" },
	{ "{\"process\":{\"args\":[\"a\"],\"terminal\":\"yes\"},\"root\":{\"path\":\"r\"}}", -EINVAL,
	  "process.terminal is not a boolean" },
	{ "{\"process\":{\"args\":[\"a\"]}}", -EINVAL, "root is missing" },
	{ "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":1}}", -EINVAL, "root.path is not a string" },
	{ "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"\"}}", -EINVAL, "root.path is empty" },
	{ "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\",\"readonly\":1}}", -EINVAL, "root.readonly" },
	{ "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"mounts\":{}}", -EINVAL, "mounts is not an array" },
	{ "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"mounts\":[7]}", -EINVAL, "mounts[0] is not an object" },
	{ "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"mounts\":[{\"destination\":\"etc/hosts\","
	  "\"type\":\"bind\",\"source\":\"/h\"}]}", -EINVAL, "mounts[0].destination \"etc/hosts\" is not an absolute path" },
	{ "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"mounts\":[{\"destination\":\"/etc/../../x\","
	  "\"type\":\"bind\",\"source\":\"/h\"}]}", -EINVAL, "'..' part" },
	{ "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"mounts\":[{\"destination\":\"//\","
	  "\"type\":\"bind\",\"source\":\"/h\"}]}", -EINVAL, "a mount over / is not supported" },
	{ "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"mounts\":[{\"destination\":\"/x\","
	  "\"type\":\"bind\",\"source\":\"rel\"}]}", -EINVAL, "mounts[0].source \"rel\" is not an absolute path" },
	{ "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"mounts\":[{\"type\":\"proc\"}]}", -EINVAL,
	  "mounts[0].destination is not a string" },
	{ "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"linux\":{\"resources\":{\"memory\":"
	  "{\"limit\":\"1G\"}}}}", -EINVAL, "linux.resources.memory.limit is not an integer" },
	{ "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"linux\":{\"resources\":{\"memory\":"
	  "{\"limit\":1048576}}}}", -EINVAL, "below the 8 MiB a ukvm guest needs" },
	{ "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"linux\":[]}", -EINVAL, "linux is not an object" },
	{ "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"annotations\":{\"k\":1}}", -EINVAL,
	  "annotations[\"k\"] is not a string" },
	{ "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"annotations\":[]}", -EINVAL,
	  "annotations is not an object" },
	{ "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"linux\":{\"namespaces\":{}}}", -EINVAL,
	  "linux.namespaces is not an array" },
	{ "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"linux\":{\"namespaces\":[{\"type\":\"network\","
	  "\"path\":\"netns/x\"}]}}", -EINVAL, "linux.namespaces[0].path \"netns/x\" is not an absolute path" },
	{ "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"linux\":{\"namespaces\":[{\"type\":\"network\","
	  "\"path\":\"/a\"},{\"type\":\"network\",\"path\":\"/b\"}]}}", -EINVAL, "a second network namespace" },
	{ "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"linux\":{\"namespaces\":[{\"type\":\"network\"},"
	  "{\"type\":\"network\",\"path\":\"/b\"}]}}", -EINVAL, "linux.namespaces[1]: a second network namespace" },
	{ "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"linux\":{\"cgroupsPath\":\"/a/../b\"}}", -EINVAL,
	  "linux.cgroupsPath \"/a/../b\" has a '.' or '..' part" },
	{ "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"linux\":{\"cgroupsPath\":7}}", -EINVAL,
	  "linux.cgroupsPath" },
	{ "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"linux\":{\"namespaces\":[3]}}", -EINVAL,
	  "linux.namespaces[0] is not an object" },
	{ "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"linux\":{\"namespaces\":[{\"type\":7}]}}", -EINVAL,
	  "linux.namespaces[0].type is not a string" },
	{ "{\"ociVersion\":1,\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"}}", -EINVAL, "ociVersion is not a string" },
};

START_TEST(test_refused)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse(bad[i].json);
		ck_assert_msg(rc == bad[i].rc, "case %zu: rc %d, expected %d (%s)", i, rc, bad[i].rc, err);
		ck_assert_msg(strncmp(err, "config.json: ", 13) == 0 && strstr(err, bad[i].msg),
			      "case %zu: \"%s\" lacks \"%s\"", i, err, bad[i].msg);
		ck_assert_ptr_null(plan.args); /* nothing half-built is left behind */
		ck_assert_ptr_null(plan.rootfs);
	}
}
END_TEST

/* Sizes: the config itself, the number of args, env and mounts, one string's length, nesting depth. */
START_TEST(test_limits)
{
	size_t n = OCISPEC_CONFIG_MAX + 1;
	char *big = malloc(n + 1);
	ck_assert_ptr_nonnull(big);
	memset(big, ' ', n);
	big[n] = '\0';
	memcpy(big, "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"}}", 46);
	ck_assert_int_eq(ocispec_parse(big, n, "/b", &plan, err, sizeof(err)), -E2BIG);
	ck_assert_ptr_nonnull(strstr(err, "more than the"));
	free(big);

	static const char *const arrays[] = { "args", "env" };
	for (int k = 0; k < 2; k++) {
		size_t cnt = (k ? OCISPEC_ENV_MAX : OCISPEC_ARGS_MAX) + 1;
		char *j = malloc(cnt * 8 + 200), *p = j;
		p += sprintf(p, "{\"process\":{\"args\":[\"a\"%s", k ? "],\"env\":[" : "");
		for (size_t i = 0; i < cnt; i++)
			p += sprintf(p, "%s\"A=%zu\"", i || !k ? "," : "", i % 10);
		sprintf(p, "]},\"root\":{\"path\":\"r\"}}");
		ck_assert_int_eq(parse(j), -E2BIG);
		ck_assert_msg(strstr(err, arrays[k]) && strstr(err, "entries, more than"), "%s", err);
		free(j);
	}

	char *mounts = malloc((OCISPEC_MOUNTS_MAX + 1) * 64 + 100), *p = mounts;
	p += sprintf(p, "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":\"r\"},\"mounts\":[");
	for (int i = 0; i <= OCISPEC_MOUNTS_MAX; i++)
		p += sprintf(p, "%s{\"destination\":\"/m%d\",\"type\":\"tmpfs\"}", i ? "," : "", i);
	sprintf(p, "]}");
	ck_assert_int_eq(parse(mounts), -E2BIG);
	ck_assert_ptr_nonnull(strstr(err, "mounts"));
	free(mounts);

	char *longarg = malloc(OCISPEC_STR_MAX + 200);
	p = longarg + sprintf(longarg, "{\"process\":{\"args\":[\"");
	memset(p, 'x', OCISPEC_STR_MAX + 1);
	sprintf(p + OCISPEC_STR_MAX + 1, "\"]},\"root\":{\"path\":\"r\"}}");
	ck_assert_int_eq(parse(longarg), -E2BIG);
	ck_assert_ptr_nonnull(strstr(err, "process.args[0] is longer than"));
	free(longarg);

	/* 100,000 nested arrays: jansson's depth limit, an error, never a stack overflow. */
	size_t depth = 100000;
	char *deep = malloc(depth + 1);
	memset(deep, '[', depth);
	deep[depth] = '\0';
	ck_assert_int_eq(parse(deep), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "malformed JSON"));
	free(deep);
}
END_TEST

/* ocispec_load: config.json from the bundle, a directory or missing file named, a too-large file refused unread. */
START_TEST(test_load)
{
	char dir[] = "/tmp/ukvm-ocispec-XXXXXX", path[128];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(ocispec_load(dir, &plan, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "config.json"));
	snprintf(path, sizeof(path), "%s/config.json", dir);
	FILE *f = fopen(path, "w");
	fputs("{\"process\":{\"args\":[\"/bin/app\"]},\"root\":{\"path\":\"rootfs\"}}", f);
	fclose(f);
	ck_assert_int_eq(ocispec_load(dir, &plan, err, sizeof(err)), 0);
	char want[128];
	snprintf(want, sizeof(want), "%s/rootfs", dir);
	ck_assert_str_eq(plan.rootfs, want);
	ocispec_free(&plan);
	ck_assert_int_eq(truncate(path, OCISPEC_CONFIG_MAX + 1), 0);
	ck_assert_int_eq(ocispec_load(dir, &plan, err, sizeof(err)), -E2BIG);
	unlink(path);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ck_assert_int_eq(ocispec_load(dir, &plan, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
	rmdir(path);
	rmdir(dir);
}
END_TEST

Suite *ocispec_suite(void)
{
	Suite *s = suite_create("ocispec");
	TCase *c = tcase_create("core"), *l = tcase_create("limits"), *h = tcase_create("hostile");
	tcase_add_checked_fixture(c, NULL, teardown);
	tcase_add_checked_fixture(l, NULL, teardown);
	tcase_add_checked_fixture(h, NULL, teardown);
	tcase_add_test(c, test_full);
	tcase_add_test(c, test_minimal);
	tcase_add_test(c, test_load);
	tcase_add_test(l, test_mem_rule);
	tcase_add_test(l, test_limits);
	tcase_add_test(h, test_refused);
	suite_add_tcase(s, c);
	suite_add_tcase(s, l);
	suite_add_tcase(s, h);
	return s;
}
