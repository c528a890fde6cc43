/* check_cpuidcache.c: unit suite "cpuidcache" (vmm/cpuidcache.c and its use in vmm/host.c): what the cache trusts and what it ignores. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cpuidcache.h"
#include "host.h"

#define HDR sizeof(struct cpuidcache_hdr)
#define ESZ sizeof(struct kvm_cpuid_entry2)

static char dir[64], cache[96], fake[96];
static int kfd = -1; /* stands in for /dev/kvm: its inode and ctime are the key */

static struct {
	struct kvm_cpuid2 h;
	struct kvm_cpuid_entry2 e[8];
} tab;

static void table(uint32_t tag)
{
	memset(&tab, 0, sizeof(tab));
	tab.e[0] = (struct kvm_cpuid_entry2){ .function = 0, .eax = 0x1b, .ebx = 0x756e6547 };
	tab.e[1] = (struct kvm_cpuid_entry2){ .function = 1, .eax = tag, .edx = (1u << 3) | (1u << 25) };
	tab.e[2] = (struct kvm_cpuid_entry2){ .function = 7, .ebx = 0x7b };
	tab.e[3] = (struct kvm_cpuid_entry2){ .function = 0x80000001, .edx = (1u << 29) | (1u << 20) };
	tab.e[4] = (struct kvm_cpuid_entry2){ .function = 0xd, .index = 1, .flags = 1 };
	tab.h.nent = 5;
}

static void setup(void)
{
	strcpy(dir, "/tmp/check_cpuidcache.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	snprintf(fake, sizeof(fake), "%s/kvm", dir);
	kfd = open(fake, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(kfd, 0);
	table(0x806c1);
}

static void teardown(void)
{
	if (kfd >= 0)
		close(kfd);
	kfd = -1;
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *de;
		char p[512];
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
				snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
				unlink(p);
			}
		closedir(d);
	}
	rmdir(dir);
}

/* Files in dir besides "kvm" (the key stand-in). */
static int dir_files(void)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "kvm");
	closedir(d);
	return n;
}

/* Loads and checks the result equals tab (or is NULL when !ok). */
static void expect(bool ok, const char *what)
{
	struct kvm_cpuid2 *c = cpuidcache_load(cache, kfd);
	if (!ok) {
		ck_assert_msg(c == NULL, "%s: trusted", what);
		return;
	}
	ck_assert_msg(c != NULL, "%s: not loaded", what);
	ck_assert_uint_eq(c->nent, tab.h.nent);
	ck_assert_int_eq(memcmp(c->entries, tab.e, tab.h.nent * ESZ), 0);
	free(c);
}

static void read_file(unsigned char *buf, size_t *len)
{
	int fd = open(cache, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ssize_t n = read(fd, buf, 4096);
	ck_assert_int_gt(n, 0);
	*len = (size_t)n;
	close(fd);
}

static void write_file(const unsigned char *buf, size_t len)
{
	int fd = open(cache, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

START_TEST(test_round_trip)
{
	expect(false, "no file yet");
	ck_assert_int_eq(cpuidcache_store(cache, kfd, &tab.h), 0);
	expect(true, "stored");
	struct stat st;
	ck_assert_int_eq(stat(cache, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(st.st_size, (off_t)(HDR + 5 * ESZ));
	ck_assert_int_eq(dir_files(), 1); /* no temp file left */
	/* Rewriting replaces. */
	table(0x12345);
	ck_assert_int_eq(cpuidcache_store(cache, kfd, &tab.h), 0);
	expect(true, "rewritten");
	char p[64];
	ck_assert_int_eq(cpuidcache_default_path(p, sizeof(p)), 0);
	ck_assert_ptr_nonnull(strstr(p, "/dev/shm/ukvm-cpuid-"));
	ck_assert_int_eq(cpuidcache_default_path(p, 8), -ENAMETOOLONG);
}
END_TEST

/* Another KVM node (another inode), or the same one recreated (new ctime), is another key. */
START_TEST(test_other_kvm)
{
	ck_assert_int_eq(cpuidcache_store(cache, kfd, &tab.h), 0);
	char other[128];
	snprintf(other, sizeof(other), "%s/kvm2", dir);
	int ofd = open(other, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(ofd, 0);
	struct kvm_cpuid2 *c = cpuidcache_load(cache, ofd);
	ck_assert_ptr_null(c);
	close(ofd);
	unlink(other);
	expect(true, "own key");
	usleep(20000); /* past the coarse timestamp granularity */
	ck_assert_int_eq(fchmod(kfd, 0640), 0);
	expect(false, "ctime changed");
}
END_TEST

/*
 * KVM_GET_SUPPORTED_CPUID answers with the APIC ID of the host CPU that ran
 * the ioctl (leaf 1 EBX[31:24], leaves 0xb and 0x1f EDX): the table, the
 * guest's CPUID and the boot FDT depended on where the thread ran, and the
 * cache's table could differ from a fresh one (test_kvm_round_trip failed
 * under load). Asked on the last CPU, the table names vCPU 0's ID, 0.
 */
START_TEST(test_kvm_apic_id_is_vcpu0)
{
	int probe = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (probe < 0) {
		fprintf(stderr, "cpuidcache: /dev/kvm unusable (%s): APIC ID check skipped\n", strerror(errno));
		return;
	}
	close(probe);
	cpu_set_t old, last;
	ck_assert_int_eq(sched_getaffinity(0, sizeof(old), &old), 0);
	int cpu = -1;
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &old))
			cpu = i;
	CPU_ZERO(&last);
	CPU_SET(cpu, &last);
	ck_assert_int_eq(sched_setaffinity(0, sizeof(last), &last), 0);
	char err[256] = "";
	struct ukvm_host *h;
	int r = host_open_dev("/dev/kvm", &h, err, sizeof(err));
	ck_assert_int_eq(sched_setaffinity(0, sizeof(old), &old), 0);
	ck_assert_msg(r == 0, "%s", err);
	for (uint32_t i = 0; i < h->cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &h->cpuid->entries[i];
		if (e->function == 1)
			ck_assert_msg(e->ebx >> 24 == 0, "CPU %d: leaf 1 EBX %08x", cpu, e->ebx);
		if (e->function == 0xb || e->function == 0x1f)
			ck_assert_msg(e->edx == 0, "CPU %d: leaf %#x.%u EDX %08x", cpu, e->function, e->index, e->edx);
	}
	for (unsigned i = 0; i < h->ncpuid_boot; i++)
		if (h->cpuid_boot[i][0] == 1)
			ck_assert_uint_eq(h->cpuid_boot[i][3] >> 24, 0);
	ukvm_host_close(h);
}
END_TEST

/* With /dev/kvm: the cached table is what KVM says, the second open uses it, a bad table is requeried. */
START_TEST(test_kvm_round_trip)
{
	int probe = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (probe < 0) {
		fprintf(stderr, "cpuidcache: /dev/kvm unusable (%s): KVM round trip skipped\n", strerror(errno));
		return;
	}
	char err[256] = "";
	struct ukvm_host *fresh, *h1, *h2, *h3;
	ck_assert_msg(host_open_dev("/dev/kvm", &fresh, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(host_open_cached("/dev/kvm", cache, &h1, err, sizeof(err)) == 0, "%s", err);
	struct kvm_cpuid2 *c = cpuidcache_load(cache, probe);
	ck_assert_ptr_nonnull(c); /* written by the miss */
	ck_assert_uint_eq(c->nent, fresh->cpuid->nent);
	free(c);
	ck_assert_msg(host_open_cached("/dev/kvm", cache, &h2, err, sizeof(err)) == 0, "%s", err);
	uint32_t n = fresh->cpuid->nent;
	ck_assert_uint_eq(h1->cpuid->nent, n);
	ck_assert_uint_eq(h2->cpuid->nent, n);
	ck_assert_int_eq(memcmp(h1->cpuid->entries, fresh->cpuid->entries, n * ESZ), 0);
	ck_assert_int_eq(memcmp(h2->cpuid->entries, fresh->cpuid->entries, n * ESZ), 0);
	ck_assert_int_eq(memcmp(h2->cpuid_boot, fresh->cpuid_boot, sizeof(fresh->cpuid_boot)), 0);
	ck_assert_uint_eq(h2->ncpuid_boot, fresh->ncpuid_boot);
	/* A valid file whose table fails the host check is a miss: KVM is asked and the file rewritten. */
	tab.h.nent = 1;
	ck_assert_int_eq(cpuidcache_store(cache, probe, &tab.h), 0);
	ck_assert_msg(host_open_cached("/dev/kvm", cache, &h3, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(h3->cpuid->nent, n);
	ck_assert_int_eq(memcmp(h3->cpuid->entries, fresh->cpuid->entries, n * ESZ), 0);
	c = cpuidcache_load(cache, probe);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->nent, n);
	free(c);
	ukvm_host_close(fresh);
	ukvm_host_close(h1);
	ukvm_host_close(h2);
	ukvm_host_close(h3);
	close(probe);
}
END_TEST

START_TEST(test_truncated)
{
	ck_assert_int_eq(cpuidcache_store(cache, kfd, &tab.h), 0);
	const off_t full = (off_t)(HDR + 5 * ESZ);
	const off_t sizes[] = { full - 1, full - (off_t)ESZ, (off_t)HDR, (off_t)HDR - 1, 0, full + (off_t)ESZ };
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		ck_assert_int_eq(cpuidcache_store(cache, kfd, &tab.h), 0);
		ck_assert_int_eq(truncate(cache, sizes[i]), 0);
		expect(false, "truncated or extended");
	}
	/* An empty table round-trips (the host check, not the cache, rejects it). */
	tab.h.nent = 0;
	ck_assert_int_eq(cpuidcache_store(cache, kfd, &tab.h), 0);
	expect(true, "empty table");
}
END_TEST

/* A header claiming more entries than the limit is refused before anything is read or allocated. */
START_TEST(test_too_many)
{
	ck_assert_int_eq(cpuidcache_store(cache, kfd, &tab.h), 0);
	unsigned char buf[4096];
	size_t len;
	read_file(buf, &len);
	struct cpuidcache_hdr hd;
	memcpy(&hd, buf, HDR);
	hd.nent = CPUIDCACHE_MAX_ENTRIES + 1;
	hd.sum = 0; /* the sum is over a sparse file's zeros: compute it the long way */
	uint64_t s = cpuidcache_fnv(CPUIDCACHE_FNV_INIT, &hd, HDR);
	static const struct kvm_cpuid_entry2 zero;
	for (unsigned i = 0; i < hd.nent; i++)
		s = cpuidcache_fnv(s, &zero, ESZ);
	hd.sum = s;
	write_file((unsigned char *)&hd, HDR);
	ck_assert_int_eq(truncate(cache, (off_t)(HDR + hd.nent * ESZ)), 0);
	expect(false, "nent over the limit");
	tab.h.nent = CPUIDCACHE_MAX_ENTRIES + 1;
	ck_assert_int_eq(cpuidcache_store(cache, kfd, &tab.h), -E2BIG);
}
END_TEST

/* Any flipped byte is caught, by the checksum or the key; a key change with a fixed-up sum too. */
START_TEST(test_corrupted)
{
	ck_assert_int_eq(cpuidcache_store(cache, kfd, &tab.h), 0);
	unsigned char good[4096], buf[4096];
	size_t len;
	read_file(good, &len);
	ck_assert_uint_eq(len, HDR + 5 * ESZ);
	for (size_t off = 0; off < len; off += 7) {
		memcpy(buf, good, len);
		buf[off] ^= 0x10;
		write_file(buf, len);
		expect(false, "flipped byte");
	}
	/* Correct checksum, wrong boot id / inode / version: the key decides. */
	for (int k = 0; k < 3; k++) {
		struct cpuidcache_hdr hd;
		memcpy(&hd, good, HDR);
		if (k == 0)
			hd.boot_id[0] ^= 1;
		else if (k == 1)
			hd.kvm_ino++;
		else
			hd.version++;
		hd.sum = cpuidcache_sum(&hd, (const struct kvm_cpuid_entry2 *)(good + HDR));
		memcpy(buf, good, len);
		memcpy(buf, &hd, HDR);
		write_file(buf, len);
		expect(false, "other key, good sum");
	}
	write_file(good, len);
	expect(true, "restored");
}
END_TEST

/* Group/other-writable or foreign files, symlinks, FIFOs and directories are never trusted. */
START_TEST(test_foreign_files)
{
	ck_assert_int_eq(cpuidcache_store(cache, kfd, &tab.h), 0);
	ck_assert_int_eq(chmod(cache, 0620), 0);
	expect(false, "group-writable");
	ck_assert_int_eq(chmod(cache, 0602), 0);
	expect(false, "other-writable");
	ck_assert_int_eq(chmod(cache, 0644), 0);
	expect(true, "readable by others is fine");
	if (chown(cache, geteuid() + 1, (gid_t)-1) == 0)
		expect(false, "another owner");
	else
		fprintf(stderr, "cpuidcache: cannot chown (not root): owner case skipped\n");
	/* A symlink to a good file is not followed; storing replaces the link, not its target. */
	char real[128];
	snprintf(real, sizeof(real), "%s/real", dir);
	ck_assert_int_eq(cpuidcache_store(real, kfd, &tab.h), 0);
	unlink(cache);
	ck_assert_int_eq(symlink(real, cache), 0);
	expect(false, "symlink");
	table(0x777);
	ck_assert_int_eq(cpuidcache_store(cache, kfd, &tab.h), 0);
	struct stat st;
	ck_assert_int_eq(lstat(cache, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	expect(true, "link replaced");
	struct kvm_cpuid2 *c = cpuidcache_load(real, kfd);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->entries[1].eax, 0x806c1); /* target untouched */
	free(c);
	/* A FIFO must not block the open; a directory is no file. */
	unlink(cache);
	ck_assert_int_eq(mkfifo(cache, 0600), 0);
	expect(false, "fifo");
	unlink(cache);
	ck_assert_int_eq(mkdir(cache, 0700), 0);
	expect(false, "directory");
	ck_assert_int_ne(cpuidcache_store(cache, kfd, &tab.h), 0); /* rename over a directory fails */
	rmdir(cache);
	ck_assert_int_eq(dir_files(), 1); /* "real"; the failed store left no temp file */
	/* A directory that does not exist: store fails quietly, load misses. */
	char gone[160];
	snprintf(gone, sizeof(gone), "%s/nodir/cache", dir);
	ck_assert_int_eq(cpuidcache_store(gone, kfd, &tab.h), -ENOENT);
	ck_assert_ptr_null(cpuidcache_load(gone, kfd));
}
END_TEST

/* Writers in several processes at once: every load meanwhile and afterwards sees one whole table. */
START_TEST(test_concurrent_writers)
{
	enum { WRITERS = 6, ROUNDS = 300 };
	ck_assert_int_eq(cpuidcache_store(cache, kfd, &tab.h), 0);
	pid_t pids[WRITERS];
	for (int w = 0; w < WRITERS; w++) {
		pids[w] = fork();
		ck_assert_int_ge(pids[w], 0);
		if (pids[w] == 0) {
			table(0x1000 + (uint32_t)w);
			int bad = 0;
			for (int i = 0; i < ROUNDS; i++)
				bad += cpuidcache_store(cache, kfd, &tab.h) != 0;
			_exit(bad ? 1 : 0);
		}
	}
	int loads = 0, misses = 0;
	for (int i = 0; i < ROUNDS; i++, loads++) {
		struct kvm_cpuid2 *c = cpuidcache_load(cache, kfd);
		if (!c) {
			misses++;
			continue;
		}
		uint32_t t = c->entries[1].eax;
		ck_assert_msg(c->nent == 5 && (t == 0x806c1 || (t >= 0x1000 && t < 0x1000 + WRITERS)),
			      "torn table: nent %u tag %x", c->nent, t);
		free(c);
	}
	for (int w = 0; w < WRITERS; w++) {
		int st;
		ck_assert_int_eq(waitpid(pids[w], &st, 0), pids[w]);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer %d failed", w);
	}
	ck_assert_int_eq(misses, 0);
	struct kvm_cpuid2 *c = cpuidcache_load(cache, kfd);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_ge(c->entries[1].eax, 0x1000);
	free(c);
	ck_assert_int_eq(dir_files(), 1);
	(void)loads;
}
END_TEST

Suite *cpuidcache_suite(void)
{
	Suite *s = suite_create("cpuidcache");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits"), *hostile = tcase_create("hostile");
	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_add_checked_fixture(hostile, setup, teardown);
	tcase_add_test(core, test_round_trip);
	tcase_add_test(core, test_other_kvm);
	tcase_add_test(core, test_kvm_round_trip);
	tcase_add_test(core, test_kvm_apic_id_is_vcpu0);
	tcase_add_test(limits, test_truncated);
	tcase_add_test(limits, test_too_many);
	tcase_add_test(hostile, test_corrupted);
	tcase_add_test(hostile, test_foreign_files);
	tcase_add_test(hostile, test_concurrent_writers);
	tcase_set_timeout(hostile, 30);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	suite_add_tcase(s, hostile);
	return s;
}
