/* check_fs.c: the guest's file system against Linux's tmpfs: fstest's transcript in ukvm (both CPU modes) must equal the same binary's on a host tmpfs. */
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include "it_util.h"

#define FS_TMPFS_MAGIC 0x01021994

/*
 * guest/apps/fstest prints one line per call (its result or errno name) and
 * nothing that differs between hosts: symbolic and hard links, FIFOs,
 * mknod, statfs, fadvise, sendfile between files and tmpfs's sizes and
 * block counts. It runs natively in a fresh directory under /dev/shm (a
 * tmpfs, so the sizes are tmpfs's), then in ukvm under /tmp; any difference
 * is a deviation from Linux.
 */

static const char *const pv_modes[] = { "auto", "off" };

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

/* fstest's transcript on the host's tmpfs (malloc'd), or NULL when /dev/shm is no tmpfs (said loudly). */
static char *native_transcript(void)
{
	struct statfs sf;
	if (statfs("/dev/shm", &sf) != 0 || sf.f_type != FS_TMPFS_MAGIC) {
		fprintf(stderr, "fs: SKIPPED: /dev/shm is not a tmpfs, no Linux transcript to compare with\n");
		return NULL;
	}
	char dir[] = "/dev/shm/ukvm-fs-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	struct it_result r;
	const char *args[] = { dir, NULL };
	ck_assert_int_eq(it_run_prog(&r, 60, it_path("apps/fstest"), args), 0);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	ck_assert_msg(r.status == 0, "native fstest failed (%d):\n%s%s", r.status, r.out, r.err);
	char *out = strdup(r.out);
	it_result_free(&r);
	return out;
}

START_TEST(fs_calls_as_on_linux_tmpfs)
{
	const char *pv = pv_modes[_i];
	char *want = native_transcript();
	if (!want)
		return;
	struct it_result r;
	char *img = strdup(it_path("apps/fstest.img")); /* it_path's buffer is reused by it_run */
	const char *args[] = { "--pv", pv, img, "/tmp", NULL };
	ck_assert_int_eq(it_run(&r, 60, args), 0);
	free(img);
	char msg[600];
	it_first_diff(want, r.out, msg, sizeof(msg));
	ck_assert_msg(strcmp(want, r.out) == 0, "--pv %s: fstest differs from Linux at %s\nstderr: %s", pv, msg, r.err);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "fstest ok\n"));
	it_result_free(&r);
	free(want);
}
END_TEST

/* ---- /proc and /sys, read by a program nobody here wrote ---- */

/* Runs ukvm-run with args, returning its stdout (malloc'd); the run must exit 0. */
static char *vm_out(const char *const *args)
{
	struct it_result r;
	ck_assert_int_eq(it_run(&r, 60, args), 0);
	ck_assert_msg(r.status == 0, "status %d: %s%s", r.status, r.out, r.err);
	char *out = strdup(r.out);
	it_result_free(&r);
	return out;
}

/* The value of "key\t: value" in the host's /proc/cpuinfo (first CPU), in buf. */
static const char *host_cpuinfo(const char *key, char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	buf[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		size_t k = strlen(key);
		if (strncmp(line, key, k) == 0 && (line[k] == '\t' || line[k] == ':')) {
			snprintf(buf, len, "%s", line);
			break;
		}
	}
	if (f)
		fclose(f);
	return buf;
}

/*
 * Debian's busybox (static glibc) reads /proc and /sys in ukvm: the figures
 * are the VM's own (its RAM, its uptime, the CPU's CPUID identity, which is
 * the host's), /proc/self/exe opens the app's own bytes.
 */
START_TEST(proc_as_programs_expect)
{
	const char *pv = pv_modes[_i];
	static const char bb[] = "/bin/busybox";
	if (access(bb, X_OK) != 0) {
		fprintf(stderr, "fs: proc_as_programs_expect SKIPPED: no %s (tools/deps.sh installs busybox-static)\n", bb);
		return;
	}
	char dir[] = "/tmp/ukvm-proc-XXXXXX", img[4096];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(img, sizeof(img), "%s/busybox.img", dir);
	struct it_result r;
	char *builder = strdup(it_path("ukvm-build"));
	const char *bargs[] = { "-o", img, bb, NULL };
	ck_assert_int_eq(it_run_prog(&r, 60, builder, bargs), 0);
	ck_assert_msg(r.status == 0, "ukvm-build: %s%s", r.out, r.err);
	it_result_free(&r);
	free(builder);

	const char *a1[] = { "--pv", pv, "--quiet", "--mem", "64M", img, "cat", "/proc/meminfo", "/proc/uptime",
			     "/sys/devices/system/cpu/online", "/proc/self/status", NULL };
	char *out = vm_out(a1);
	unsigned long total = 0;
	double up = -1;
	char *m = strstr(out, "MemTotal:");
	ck_assert_msg(m && sscanf(m, "MemTotal: %lu kB", &total) == 1, "%s", out);
	ck_assert_msg(total > 48 * 1024 && total <= 64 * 1024, "MemTotal %lu kB for a 64 MiB VM", total);
	m = strstr(out, "SwapFree:");
	ck_assert_msg(m && strchr(m, '\n') && sscanf(strchr(m, '\n') + 1, "%lf", &up) == 1, "%s", out);
	ck_assert_msg(up >= 0 && up < 30, "uptime %f", up);
	ck_assert_msg(strstr(out, "\n0\nName:\tbusybox\n"), "online CPUs, then status:\n%s", out);
	free(out);

	const char *a2[] = { "--pv", pv, "--quiet", img, "cat", "/proc/cpuinfo", NULL };
	out = vm_out(a2);
	static const char *const keys[] = { "vendor_id", "cpu family", "model\t", "stepping" };
	for (int i = 0; i < 4; i++) {
		char want[512];
		host_cpuinfo(keys[i], want, sizeof(want));
		ck_assert_msg(want[0] && strstr(out, want), "no host '%s' in the guest's cpuinfo:\n%s", want, out);
	}
	ck_assert_msg(strstr(out, " sse2"), "%s", out);
	free(out);

	const char *a3[] = { "--pv", pv, "--quiet", img, "sha256sum", "/proc/self/exe", NULL };
	out = vm_out(a3);
	const char *n3[] = { "sha256sum", bb, NULL };
	ck_assert_int_eq(it_run_prog(&r, 60, bb, n3), 0);
	ck_assert_msg(strlen(r.out) > 64 && strncmp(out, r.out, 64) == 0, "exe %s, busybox %s", out, r.out);
	it_result_free(&r);
	free(out);

	/* cmdline is argv, NUL after each; df finds / in /proc/mounts and asks statfs. */
	const char *a5[] = { "--pv", pv, "--quiet", img, "cat", "/proc/self/cmdline", NULL };
	ck_assert_int_eq(it_run(&r, 60, a5), 0);
	static const char cmd[] = "busybox\0cat\0/proc/self/cmdline";
	ck_assert_msg(r.status == 0 && r.out_len == sizeof(cmd) && memcmp(r.out, cmd, sizeof(cmd)) == 0, "%zu: %s%s",
		      r.out_len, r.out, r.err);
	it_result_free(&r);
	/* environ is the initial environment, NUL after each; stat has Linux's 52 fields; statm 7 page counts. */
	const char *a7[] = { "--pv", pv, "--quiet", "--env", "GREETING=hi there", img, "cat", "/proc/self/environ", NULL };
	ck_assert_int_eq(it_run(&r, 60, a7), 0);
	static const char env[] = "GREETING=hi there";
	ck_assert_msg(r.status == 0 && r.out_len > sizeof(env) && memmem(r.out, r.out_len, env, sizeof(env)) &&
		      r.out[r.out_len - 1] == '\0', "%zu: %s%s", r.out_len, r.out, r.err);
	it_result_free(&r);
	const char *a8[] = { "--pv", pv, "--quiet", img, "sh", "-c",
			     "read -r s < /proc/self/stat; set -- $s; echo $# $2 $3; read -r m < /proc/self/statm; echo $m", NULL };
	out = vm_out(a8);
	unsigned long sz, res, shr, text, lib, data, dt;
	const char *nl = strchr(out, '\n');
	ck_assert_msg(!strncmp(out, "52 (busybox) R\n", 15) && nl &&
		      sscanf(nl + 1, "%lu %lu %lu %lu %lu %lu %lu", &sz, &res, &shr, &text, &lib, &data, &dt) == 7 &&
		      sz > 0 && res == sz && text > 0 && text + data == sz, "%s", out);
	free(out);
	const char *a6[] = { "--pv", pv, "--quiet", img, "df", "-T", "/", NULL };
	out = vm_out(a6);
	ck_assert_msg(strstr(out, "\ntmpfs                tmpfs") && strstr(out, "% /\n"), "%s", out);
	free(out);

	const char *a4[] = { "--pv", pv, "--quiet", img, "ls", "-l", "/proc/self/", "/proc/self/fd/", NULL };
	out = vm_out(a4);
	ck_assert_msg(strstr(out, "exe -> /busybox\n") && strstr(out, " 0 -> /dev/console\n") &&
		      strstr(out, " 2 -> /dev/console\n") && strstr(out, " maps\n"), "%s", out);
	free(out);
	unlink(img);
	rmdir(dir);
	fprintf(stderr, "fs: --pv %s: /proc and /sys as busybox reads them\n", pv);
}
END_TEST

Suite *fs_suite(void)
{
	Suite *s = suite_create("fs");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, fs_calls_as_on_linux_tmpfs, 0, 2);
	tcase_add_loop_test(tc, proc_as_programs_expect, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
