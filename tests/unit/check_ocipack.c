/* check_ocipack.c: a container's image at create (tools/oci/ocipack.c): what goes in, the size cap, programs refused. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "it_util.h"
#include "ocipack.h"
#include "ocispec.h"

#if !defined(ELF_TEST_STATIC) || !defined(OCI_TEST_KERNEL)
#error "ELF_TEST_STATIC and OCI_TEST_KERNEL must be defined by tests/build.mk"
#endif

static char tmp[64], rootfs[128], image[160], empty[160], warned[4096], noted[4096], cache[160], mountinfo[160];
static bool cached; /* build() with the image cache, rootfs looked up in the test's mount table */
static struct ocispec_plan plan;

static void warn(void *ctx, const char *msg)
{
	(void)ctx;
	strncat(warned, msg, sizeof(warned) - strlen(warned) - 2);
	strcat(warned, "\n");
}

static void note(void *ctx, const char *msg)
{
	(void)ctx;
	strncat(noted, msg, sizeof(noted) - strlen(noted) - 2);
	strcat(noted, "\n");
}

static void setup(void)
{
	strcpy(tmp, "/tmp/ukvm-ocipack-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", tmp);
	snprintf(image, sizeof(image), "%s/app.img", tmp);
	snprintf(empty, sizeof(empty), "%s/empty", tmp);
	IT_SH("mkdir -p %s/bin %s/etc %s/proc/1 %s/dev %s && cp %s %s/bin/hello && ln -s hello %s/bin/hi && "
	   "echo image-hosts-file > %s/etc/hosts && echo mounted-hosts-file > %s/hosts && mkfifo %s/etc/fifo",
	   rootfs, rootfs, rootfs, rootfs, empty, ELF_TEST_STATIC, rootfs, rootfs, rootfs, tmp, rootfs);
	warned[0] = noted[0] = '\0';
	cached = false;
}

static void teardown(void)
{
	ocispec_free(&plan);
	IT_SH("rm -rf %s", tmp);
}

static int build(const char *args0, uint64_t cap, char *err, size_t errlen)
{
	char cfg[1024];
	ocispec_free(&plan);
	snprintf(cfg, sizeof(cfg),
		 "{\"process\":{\"args\":[\"%s\"],\"env\":[\"PATH=/bin\"],\"cwd\":\"/work\"},\"root\":{\"path\":\"rootfs\"},"
		 "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\"},{\"destination\":\"/etc/hosts\","
		 "\"type\":\"bind\",\"source\":\"%s/hosts\",\"options\":[\"rbind\"]},{\"destination\":\"/dev/shm\","
		 "\"type\":\"bind\",\"source\":\"/dev/shm\"}]}", args0, tmp);
	char e[512];
	ck_assert_msg(ocispec_parse(cfg, strlen(cfg), tmp, &plan, e, sizeof(e)) == 0, "%s", e);
	struct ocipack_args a = { .plan = &plan, .kernel = OCI_TEST_KERNEL, .image = image, .empty_dir = empty,
				  .cap = cap, .warn = warn, .note = note };
	if (cached) {
		snprintf(cache, sizeof(cache), "%s/cache", tmp);
		snprintf(mountinfo, sizeof(mountinfo), "%s/mountinfo", tmp);
		a.cache_dir = cache;
		a.cache_max = 64 << 20;
		a.mountinfo = mountinfo;
	}
	warned[0] = noted[0] = err[0] = '\0';
	return ocipack_build(&a, err, errlen);
}

/* Does the image hold these bytes (a packed file's content or a path name)? */
static bool image_has(const char *needle)
{
	FILE *f = fopen(image, "rb");
	ck_assert_ptr_nonnull(f);
	static char buf[16 << 20];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return memmem(buf, n, needle, strlen(needle)) != NULL;
}

START_TEST(test_pack)
{
	char err[1024];
	ck_assert_msg(build("hi", 64 << 20, err, sizeof(err)) == 0, "%s", err);
	struct stat st;
	ck_assert_int_eq(stat(image, &st), 0);
	ck_assert_int_gt(st.st_size, 4096);
	ck_assert(image_has("/etc/hosts"));
	ck_assert(image_has("mounted-hosts-file\n"));    /* the bind-mounted file, not the image's */
	ck_assert(!image_has("image-hosts-file"));
	ck_assert(!image_has("/proc/1"));  /* under a mount the guest provides */
	ck_assert(image_has("/work"));     /* process.cwd, missing from the rootfs: an empty directory */
	ck_assert(image_has("/bin/hello"));
	ck_assert(image_has("/bin/hi"));   /* a symbolic link, packed as one */
	ck_assert_msg(!strstr(warned, "/bin/hi"), "%s", warned);
	ck_assert_msg(strstr(warned, "/etc/fifo: not a regular file"), "%s", warned);
	ck_assert_msg(strstr(warned, "mount /dev/shm on /dev/shm: the guest has its own"), "%s", warned);
}
END_TEST

/* The cap counts every file packed, the program included; the message says what to change. */
START_TEST(test_cap)
{
	char err[1024];
	ck_assert_int_eq(build("hello", 4096, err, sizeof(err)), -EFBIG);
	ck_assert_msg(strstr(err, "files of more than the 0 MiB this container's image may hold") &&
		      strstr(err, "linux.resources.memory.limit"), "%s", err);
	ck_assert_int_eq(access(image, F_OK), -1);
}
END_TEST

static void save_image(const char *name)
{
	IT_SH("cp %s %s/%s", image, tmp, name);
}

static bool same_image(const char *name)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "cmp -s %s %s/%s", image, tmp, name);
	return system(cmd) == 0;
}

/*
 * The cache keys a rootfs by its mount (here a mount table naming it an
 * overlay of one lower layer): a hit gives the walked image byte for byte,
 * without looking at the tree again; a written upper layer is walked.
 */
START_TEST(test_cache)
{
	char err[1024];
	cached = true;
	IT_SH("mkdir %s/lower %s/upper && printf '22 1 8:1 / / rw - ext4 /dev/sda1 rw\\n"
	   "88 22 0:41 / %s rw,relatime - overlay overlay rw,lowerdir=%s/lower,upperdir=%s/upper,workdir=%s/w\\n' > %s/mountinfo",
	   tmp, tmp, rootfs, tmp, tmp, tmp, tmp);
	ck_assert_msg(build("hi", 64 << 20, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(!strstr(noted, "image cache") && !strstr(noted, "not cached"), "%s", noted);
	save_image("walked.img");
	ck_assert_msg(build("hi", 64 << 20, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(strstr(noted, "packed files taken from the image cache"), "%s", noted);
	ck_assert(same_image("walked.img"));
	ck_assert_msg(!strstr(warned, "/etc/fifo"), "%s", warned); /* the hit did not walk the tree */
	/* The key is the layers' identity, not the tree's: this change is not seen (a real lower layer never changes). */
	IT_SH("echo later-content > %s/etc/motd", rootfs);
	ck_assert_msg(build("hi", 64 << 20, err, sizeof(err)) == 0, "%s", err);
	ck_assert(same_image("walked.img"));
	ck_assert(!image_has("later-content"));
	/* The bind-mounted file is packed afresh each time, over the cached records. */
	IT_SH("echo other-mounted-file > %s/hosts", tmp);
	ck_assert_msg(build("hi", 64 << 20, err, sizeof(err)) == 0, "%s", err);
	ck_assert(image_has("other-mounted-file") && !image_has("mounted-hosts-file"));
	/* The cap holds for cached records too. */
	ck_assert_int_eq(build("hi", 4096, err, sizeof(err)), -EFBIG);
	ck_assert_msg(strstr(err, "files of more than"), "%s", err);
	/* A written upper layer: walked, and the change is there. */
	IT_SH("touch %s/upper/written", tmp);
	ck_assert_msg(build("hi", 64 << 20, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(strstr(noted, "not cached: the upper layer"), "%s", noted);
	ck_assert(image_has("later-content"));
}
END_TEST

START_TEST(test_refused_programs)
{
	char err[1024];
	IT_SH("printf '#!/bin/sh\\necho hi\\n' > %s/bin/script && chmod 755 %s/bin/script", rootfs, rootfs);
	ck_assert_int_eq(build("script", 64 << 20, err, sizeof(err)), -ENOEXEC);
	ck_assert_msg(strstr(err, "args[0] \"script\": a script (#!)"), "%s", err);
	IT_SH("printf 'MZ junk' > %s/bin/junk && chmod 755 %s/bin/junk", rootfs, rootfs);
	ck_assert_int_eq(build("junk", 64 << 20, err, sizeof(err)), -ENOEXEC);
	ck_assert_ptr_nonnull(strstr(err, "not an ELF program"));
	ck_assert_int_eq(build("nothere", 64 << 20, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "not found in PATH /bin inside the rootfs"));
	if (access("/bin/true", R_OK) == 0) { /* a dynamically linked host program */
		IT_SH("cp /bin/true %s/bin/dyn", rootfs);
		ck_assert_int_lt(build("dyn", 64 << 20, err, sizeof(err)), 0);
		ck_assert_msg(strstr(err, "program /bin/dyn") && strstr(err, "dynamically linked"), "%s", err);
	}
	IT_SH("rm %s/hosts", tmp);
	ck_assert_int_eq(build("hello", 64 << 20, err, sizeof(err)), -ENOENT);
	ck_assert_msg(strstr(err, "bind mount source") && strstr(err, "/hosts"), "%s", err);
}
END_TEST

Suite *ocipack_suite(void)
{
	Suite *s = suite_create("ocipack");
	TCase *c = tcase_create("core"), *l = tcase_create("limits"), *h = tcase_create("hostile");
	tcase_add_checked_fixture(c, setup, teardown);
	tcase_add_checked_fixture(l, setup, teardown);
	tcase_add_checked_fixture(h, setup, teardown);
	tcase_add_test(c, test_pack);
	tcase_add_test(c, test_cache);
	tcase_add_test(l, test_cap);
	tcase_add_test(h, test_refused_programs);
	suite_add_tcase(s, c);
	suite_add_tcase(s, l);
	suite_add_tcase(s, h);
	return s;
}
