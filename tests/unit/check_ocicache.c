/* check_ocicache.c: the rootfs image cache (tools/oci/ocicache.c): which mounts get a key, entries kept, damaged, evicted. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "it_util.h"
#include "ocicache.h"

static char tmp[64], mi[128], rootfs[PATH_MAX], cache[128], key[OCICACHE_KEY_MAX], why[1200];

static void setup(void)
{
	strcpy(tmp, "/tmp/ukvm-ocicache-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(mi, sizeof(mi), "%s/mountinfo", tmp);
	snprintf(cache, sizeof(cache), "%s/cache", tmp);
	snprintf(rootfs, sizeof(rootfs), "%s/root fs", tmp); /* a space: mountinfo escapes it */
	IT_SH("mkdir -p '%s' %s/l1 %s/l2 %s/upper %s/work", rootfs, tmp, tmp, tmp, tmp);
}

static void teardown(void)
{
	IT_SH("rm -rf %s", tmp);
}

/* A mount table with one line for the rootfs: root field, fstype, super options (%T stands for the temp dir). */
static void table(const char *root, const char *fstype, const char *opts)
{
	char o[2048], *w = o;
	for (const char *r = opts; *r && w < o + sizeof(o) - 64; r++) {
		if (r[0] == '%' && r[1] == 'T') {
			w += sprintf(w, "%s", tmp);
			r++;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	FILE *f = fopen(mi, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n");
	fprintf(f, "88 22 0:41 %s %s/root\\040fs rw,relatime shared:40 - %s overlay %s\n", root, tmp, fstype, o);
	fclose(f);
}

static const char *const excl[] = { "/proc", "/etc/hosts" };

static int get_key(void)
{
	key[0] = why[0] = '\0';
	return ocicache_key(mi, rootfs, excl, 2, key, sizeof(key), why, sizeof(why));
}

START_TEST(test_overlay_key)
{
	table("/", "overlay", "rw,lowerdir=%T/l1:%T/l2,upperdir=%T/upper,workdir=%T/work,uuid=on");
	ck_assert_msg(get_key() == 0, "%s", why);
	char l1[200], l2[200];
	snprintf(l1, sizeof(l1), "lower %zu:%s/l1 ", strlen(tmp) + 3, tmp);
	snprintf(l2, sizeof(l2), "lower %zu:%s/l2 ", strlen(tmp) + 3, tmp);
	ck_assert_msg(strstr(key, l1) && strstr(key, l2) && strstr(l1, "l1") && strstr(key, "exclude 5:/proc\n") &&
		      strstr(key, "exclude 10:/etc/hosts\n") && strstr(key, "abi "), "%s", key);
	char k1[OCICACHE_KEY_MAX];
	strcpy(k1, key);
	ck_assert_int_eq(get_key(), 0);
	ck_assert_str_eq(key, k1); /* stable */
	/* The same path refilled (a wiped snapshot store): another inode and ctime, another key. */
	IT_SH("rm -rf %s/l2 && mkdir %s/l2", tmp, tmp);
	ck_assert_int_eq(get_key(), 0);
	ck_assert_str_ne(key, k1);
	/* A read-only overlay (no upper layer) is all lower layers: certain too. */
	table("/", "overlay", "ro,lowerdir=%T/l1:%T/l2");
	ck_assert_msg(get_key() == 0, "%s", why);
}
END_TEST

START_TEST(test_uncertain_roots)
{
	table("/", "overlay", "rw,lowerdir=%T/l1,upperdir=%T/upper,workdir=%T/work");
	IT_SH("touch %s/upper/written", tmp);
	ck_assert_int_eq(get_key(), -ENOTSUP);
	ck_assert_msg(strstr(why, "upper layer") && strstr(why, "not empty"), "%s", why);
	IT_SH("rm %s/upper/written", tmp);
	ck_assert_int_eq(get_key(), 0);

	table("/", "ext4", "rw");
	ck_assert_int_eq(get_key(), -ENOTSUP);
	ck_assert_msg(strstr(why, "a ext4 mount, not containerd's overlay"), "%s", why);
	table("/snapshots/7", "overlay", "rw,lowerdir=%T/l1");
	ck_assert_int_eq(get_key(), -ENOTSUP);
	ck_assert_msg(strstr(why, "part of a mounted file system"), "%s", why);
	table("/", "overlay", "rw,lowerdir=1/fs:2/fs,upperdir=%T/upper,workdir=%T/work");
	ck_assert_int_eq(get_key(), -ENOTSUP);
	ck_assert_msg(strstr(why, "not an absolute path"), "%s", why);
	table("/", "overlay", "rw,lowerdir=%T/l1::%T/l2");
	ck_assert_int_eq(get_key(), -ENOTSUP);
	table("/", "overlay", "rw,lowerdir=%T/l\\0541,upperdir=%T/upper");
	ck_assert_int_eq(get_key(), -ENOTSUP);
	ck_assert_msg(strstr(why, "escaped"), "%s", why);
	table("/", "overlay", "rw,lowerdir=%T/gone,upperdir=%T/upper");
	ck_assert_int_eq(get_key(), -ENOTSUP);
	ck_assert_msg(strstr(why, "not a directory here"), "%s", why);
	table("/", "overlay", "rw,upperdir=%T/upper");
	ck_assert_int_eq(get_key(), -ENOTSUP);
	/* A plain directory: not in the table at all. */
	FILE *f = fopen(mi, "w");
	fprintf(f, "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n");
	fclose(f);
	ck_assert_int_eq(get_key(), -ENOTSUP);
	ck_assert_msg(strstr(why, "is not a mount"), "%s", why);
	/* Malformed lines are skipped, never read past. */
	f = fopen(mi, "w");
	fprintf(f, "88 22 0:41 / %s/root\\040fs\n88 22 0:41 / %s/root\\040fs rw - overlay\n"
		   "88 22 0:41 / %s/root\\9fs rw - overlay x y\n", tmp, tmp, tmp);
	fclose(f);
	ck_assert_int_eq(get_key(), -ENOTSUP);
}
END_TEST

/* The one entry file in the cache, its name in out. */
static void entry(char *out, size_t n)
{
	DIR *d = opendir(cache);
	struct dirent *e;
	int found = 0;
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.') {
			snprintf(out, n, "%s/%s", cache, e->d_name);
			found++;
		}
	closedir(d);
	ck_assert_int_eq(found, 1);
}

START_TEST(test_put_get)
{
	uint8_t *d = NULL;
	size_t n = 0;
	ck_assert_int_eq(ocicache_get(cache, "k1", &d, &n), -ENOENT);
	ck_assert_int_eq(ocicache_put(cache, "k1", (const uint8_t *)"records", 7, 1 << 20), 0);
	struct stat st;
	ck_assert_int_eq(stat(cache, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	ck_assert_int_eq(ocicache_get(cache, "k1", &d, &n), 0);
	ck_assert_uint_eq(n, 7);
	ck_assert_int_eq(memcmp(d, "records", 7), 0);
	free(d);
	ck_assert_int_eq(ocicache_get(cache, "k2", &d, &n), -ENOENT);
	/* Empty records (an empty rootfs) are an entry too. */
	ck_assert_int_eq(ocicache_put(cache, "empty", (const uint8_t *)"", 0, 1 << 20), 0);
	ck_assert_int_eq(ocicache_get(cache, "empty", &d, &n), 0);
	ck_assert_uint_eq(n, 0);
	free(d);
	/* Bigger than the whole cache: not kept. */
	ck_assert_int_eq(ocicache_put(cache, "big", (const uint8_t *)"x", 1, 8), -EFBIG);
}
END_TEST

START_TEST(test_damaged_entries)
{
	char path[PATH_MAX], other[PATH_MAX];
	uint8_t *d = NULL;
	size_t n;

	ck_assert_int_eq(ocicache_put(cache, "k1", (const uint8_t *)"records", 7, 1 << 20), 0);
	entry(path, sizeof(path));
	ck_assert_int_eq(truncate(path, 30), 0); /* shorter than it says */
	ck_assert_int_eq(ocicache_get(cache, "k1", &d, &n), -ENOENT);
	ck_assert_int_eq(access(path, F_OK), -1); /* removed */
	ck_assert_int_eq(ocicache_put(cache, "k1", (const uint8_t *)"records", 7, 1 << 20), 0);
	IT_SH("printf 'garbage' >> '%s'", path); /* longer than it says */
	ck_assert_int_eq(ocicache_get(cache, "k1", &d, &n), -ENOENT);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(ocicache_put(cache, "k1", (const uint8_t *)"records", 7, 1 << 20), 0);
	IT_SH("printf 'XXXX' | dd of='%s' bs=1 seek=0 conv=notrunc status=none", path); /* bad magic */
	ck_assert_int_eq(ocicache_get(cache, "k1", &d, &n), -ENOENT);
	ck_assert_int_eq(access(path, F_OK), -1);
	/* Another key under this key's name (a hash collision): a miss, and the entry stays. */
	ck_assert_int_eq(ocicache_put(cache, "k2", (const uint8_t *)"theirs", 6, 1 << 20), 0);
	entry(other, sizeof(other));
	ck_assert_int_eq(rename(other, path), 0);
	ck_assert_int_eq(ocicache_get(cache, "k1", &d, &n), -ENOENT);
	ck_assert_int_eq(access(path, F_OK), 0);
	/* A symbolic link in its place is not followed. */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(symlink("/etc/passwd", path), 0);
	ck_assert_int_eq(ocicache_get(cache, "k1", &d, &n), -ENOENT);
}
END_TEST

/* The least recently used go first; a hit counts as a use. */
START_TEST(test_eviction)
{
	char k[16];
	uint8_t data[1000] = { 0 }, *d;
	size_t n;
	struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };
	/* Room for three entries of ~1 KiB, not four. */
	uint64_t max = 3 * (1000 + 24 + 2) + 100;

	for (int i = 0; i < 3; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		ck_assert_int_eq(ocicache_put(cache, k, data, sizeof(data), max), 0);
	}
	/* Age them: k0 oldest, then k1, then k2. */
	for (int i = 0; i < 3; i++) {
		char path[PATH_MAX];
		DIR *dd = opendir(cache);
		struct dirent *e;
		snprintf(k, sizeof(k), "k%d", i);
		/* Find k's file by reading each entry's key. */
		while ((e = readdir(dd)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", cache, e->d_name);
			FILE *f = fopen(path, "rb");
			char buf[32] = { 0 };
			ck_assert_uint_eq(fread(buf, 1, 26, f), 26);
			fclose(f);
			if (memcmp(buf + 24, k, 2) == 0) {
				old[0].tv_sec = old[1].tv_sec = 1000 + i;
				ck_assert_int_eq(utimensat(AT_FDCWD, path, old, 0), 0);
			}
		}
		closedir(dd);
	}
	ck_assert_int_eq(ocicache_get(cache, "k0", &d, &n), 0); /* k0 used now: k1 is the oldest */
	free(d);
	ck_assert_int_eq(ocicache_put(cache, "k3", data, sizeof(data), max), 0);
	ck_assert_int_eq(ocicache_get(cache, "k1", &d, &n), -ENOENT);
	const char *kept[] = { "k0", "k2", "k3" };
	for (int i = 0; i < 3; i++) {
		ck_assert_msg(ocicache_get(cache, kept[i], &d, &n) == 0, "%s", kept[i]);
		free(d);
	}
}
END_TEST

START_TEST(test_unsafe_dir)
{
	IT_SH("mkdir -m 0777 %s && chmod 0777 %s", cache, cache);
	ck_assert_int_eq(ocicache_put(cache, "k1", (const uint8_t *)"r", 1, 1 << 20), -EPERM);
	IT_SH("chmod 0700 %s && ln -s %s %s/link", cache, cache, tmp);
	char link[160];
	snprintf(link, sizeof(link), "%s/link", tmp);
	ck_assert_int_eq(ocicache_put(cache, "k1", (const uint8_t *)"r", 1, 1 << 20), 0);
	ck_assert_int_eq(ocicache_put(link, "k1", (const uint8_t *)"r", 1, 1 << 20), -EPERM);
}
END_TEST

Suite *ocicache_suite(void)
{
	Suite *s = suite_create("ocicache");
	TCase *k = tcase_create("key"), *e = tcase_create("entries");
	tcase_add_checked_fixture(k, setup, teardown);
	tcase_add_checked_fixture(e, setup, teardown);
	tcase_add_test(k, test_overlay_key);
	tcase_add_test(k, test_uncertain_roots);
	tcase_add_test(e, test_put_get);
	tcase_add_test(e, test_damaged_entries);
	tcase_add_test(e, test_eviction);
	tcase_add_test(e, test_unsafe_dir);
	suite_add_tcase(s, k);
	suite_add_tcase(s, e);
	return s;
}
