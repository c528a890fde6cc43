/* check_ocipath.c: finding args[0] inside a rootfs (tools/oci/ocipath.c): PATH search, symlinks kept inside the rootfs. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ocipath.h"

static char root[64], outside[64];
static int rootfd = -1;
static char found[4096], err[1024];

static void put(const char *rel, const char *data, mode_t mode)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	ck_assert_msg(fd >= 0, "%s", p);
	ck_assert_int_eq(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
	chmod(p, mode);
}

static void dir(const char *rel)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	ck_assert_int_eq(mkdir(p, 0755), 0);
}

static void link_(const char *target, const char *rel)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	ck_assert_int_eq(symlink(target, p), 0);
}

/*
 * rootfs: /bin/app (the program), /bin/data (not executable), /usr/bin/tool
 * -> /bin/app (absolute link: the rootfs's /bin), /bin/rel -> ../bin/app,
 * /bin/out -> ../../../../<outside>/secret (climbs: clamped at the rootfs),
 * /bin/abs-out -> <outside>/secret (a host path: read inside the rootfs),
 * /sbin/app a directory, /srv/run/local a program for relative lookups.
 */
static void setup(void)
{
	strcpy(root, "/tmp/ukvm-ocipath-XXXXXX");
	strcpy(outside, "/tmp/ukvm-ocipath-out-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	ck_assert_ptr_nonnull(mkdtemp(outside));
	char secret[128];
	snprintf(secret, sizeof(secret), "%s/secret", outside);
	int fd = open(secret, O_WRONLY | O_CREAT, 0755);
	close(fd);
	dir("bin");
	dir("usr");
	dir("usr/bin");
	dir("sbin");
	dir("sbin/app");
	dir("srv");
	dir("srv/run");
	put("bin/app", "\x7f" "ELF", 0755);
	put("bin/data", "x", 0644);
	put("srv/run/local", "\x7f" "ELF", 0700);
	link_("/bin/app", "usr/bin/tool");
	link_("../bin/app", "bin/rel");
	char t[256];
	snprintf(t, sizeof(t), "../../../../../..%s/secret", outside);
	link_(t, "bin/out");
	link_(secret, "bin/abs-out");
	rootfd = open(root, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(rootfd, 0);
}

static void teardown(void)
{
	char cmd[256];
	close(rootfd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", root, outside);
	ck_assert_int_eq(system(cmd), 0);
}

/* The inode the rootfs's /bin/app is, to compare what an fd names. */
static int same_as(int fd, const char *rel)
{
	struct stat a, b;
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	ck_assert_int_eq(fstat(fd, &a), 0);
	ck_assert_int_eq(stat(p, &b), 0);
	return a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

static int find(const char *arg0, const char *path, const char *cwd)
{
	found[0] = err[0] = '\0';
	return ocipath_find_exe(rootfd, arg0, path, cwd, found, sizeof(found), err, sizeof(err));
}

START_TEST(test_path_search)
{
	int fd = find("app", "/sbin:/usr/bin:/bin", "/");
	ck_assert_int_ge(fd, 0); /* /sbin/app is a directory: skipped as execvp does */
	ck_assert_str_eq(found, "/bin/app");
	ck_assert(same_as(fd, "bin/app"));
	close(fd);
	fd = find("tool", NULL, "/"); /* the default PATH; an absolute link resolved in the rootfs */
	ck_assert_int_ge(fd, 0);
	ck_assert_str_eq(found, "/usr/bin/tool");
	ck_assert(same_as(fd, "bin/app"));
	close(fd);
	fd = find("rel", "/bin", "/");
	ck_assert_int_ge(fd, 0);
	ck_assert(same_as(fd, "bin/app"));
	close(fd);
	/* An empty or relative PATH entry is the cwd's. */
	fd = find("local", "/nope::/bin", "/srv/run");
	ck_assert_int_ge(fd, 0);
	ck_assert_str_eq(found, "/srv/run/local");
	close(fd);
	fd = find("local", "run", "/srv");
	ck_assert_int_ge(fd, 0);
	ck_assert_str_eq(found, "/srv/run/local");
	close(fd);
}
END_TEST

START_TEST(test_with_slash)
{
	int fd = find("/usr/bin/tool", "/nowhere", "/");
	ck_assert_int_ge(fd, 0);
	ck_assert(same_as(fd, "bin/app"));
	close(fd);
	fd = find("./local", NULL, "/srv/run");
	ck_assert_int_ge(fd, 0);
	ck_assert_str_eq(found, "/srv/run/./local");
	close(fd);
	ck_assert_int_eq(find("/bin/missing", NULL, "/"), -ENOENT);
	ck_assert_msg(strstr(err, "args[0] \"/bin/missing\"") && strstr(err, "inside the rootfs"), "%s", err);
	ck_assert_int_eq(find("/bin/data", NULL, "/"), -EACCES);
	ck_assert_ptr_nonnull(strstr(err, "not an executable regular file"));
	ck_assert_int_eq(find("/sbin/app", NULL, "/"), -EACCES);
}
END_TEST

START_TEST(test_not_found)
{
	ck_assert_int_eq(find("nothere", "/bin:/usr/bin", "/"), -ENOENT);
	ck_assert_msg(strstr(err, "args[0] \"nothere\": not found in PATH /bin:/usr/bin inside the rootfs"), "%s", err);
	ck_assert_int_eq(find("data", "/bin", "/"), -EACCES);
	ck_assert_ptr_nonnull(strstr(err, "no executable regular file"));
}
END_TEST

/* Links that point outside the rootfs resolve inside it (where nothing is): the host's file is never opened. */
START_TEST(test_escape)
{
	ck_assert_int_eq(find("out", "/bin", "/"), -ENOENT);
	ck_assert_int_eq(find("abs-out", "/bin", "/"), -ENOENT);
	ck_assert_int_eq(find("/../../../../..", NULL, "/"), -EACCES); /* ".." clamps at the rootfs: its / */
	char p[256];
	snprintf(p, sizeof(p), "/../../../../../..%s/secret", outside);
	ck_assert_int_eq(find(p, NULL, "/"), -ENOENT);
	int fd = ocipath_open(rootfd, "/", O_PATH | O_DIRECTORY);
	ck_assert_int_ge(fd, 0);
	close(fd);
}
END_TEST

Suite *ocipath_suite(void)
{
	Suite *s = suite_create("ocipath");
	TCase *c = tcase_create("core"), *h = tcase_create("hostile");
	tcase_add_checked_fixture(c, setup, teardown);
	tcase_add_checked_fixture(h, setup, teardown);
	tcase_add_test(c, test_path_search);
	tcase_add_test(c, test_with_slash);
	tcase_add_test(c, test_not_found);
	tcase_add_test(h, test_escape);
	suite_add_tcase(s, c);
	suite_add_tcase(s, h);
	return s;
}
