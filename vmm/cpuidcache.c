/* cpuidcache.c: KVM_GET_SUPPORTED_CPUID kept in a per-user file so each ukvm-run need not ask KVM (~0.4 ms on PVM). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpuidcache.h"

#define CPUIDCACHE_MAGIC 0x3155504344564b55ull /* "UKVDCPU1" little-endian */
#define CPUIDCACHE_VERSION 1u
#define CPUIDCACHE_BOOT_ID "/proc/sys/kernel/random/boot_id"

int cpuidcache_default_path(char *buf, size_t len)
{
	/*
	 * /dev/shm: a tmpfs, so the file dies with the boot it describes, and
	 * on every Linux host. It is world-writable (sticky): others can
	 * squat the name, which load's owner/mode checks and O_NOFOLLOW turn
	 * into a miss, never into trust.
	 */
	int n = snprintf(buf, len, "/dev/shm/ukvm-cpuid-%u", (unsigned)geteuid());
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

uint64_t cpuidcache_fnv(uint64_t h, const void *p, size_t len)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

uint64_t cpuidcache_sum(const struct cpuidcache_hdr *hd, const struct kvm_cpuid_entry2 *e)
{
	struct cpuidcache_hdr c = *hd;
	c.sum = 0;
	uint64_t h = cpuidcache_fnv(CPUIDCACHE_FNV_INIT, &c, sizeof(c));
	return cpuidcache_fnv(h, e, (size_t)hd->nent * sizeof(*e));
}

/* The key of kvm_fd's KVM instance in this boot into hd. 0 or -errno (then nothing is cached). */
static int cpuidcache_key(int kvm_fd, struct cpuidcache_hdr *hd)
{
	struct stat st;
	if (fstat(kvm_fd, &st))
		return -errno;
	memset(hd, 0, sizeof(*hd));
	hd->magic = CPUIDCACHE_MAGIC;
	hd->version = CPUIDCACHE_VERSION;
	hd->kvm_ino = st.st_ino;
	hd->kvm_rdev = st.st_rdev;
	hd->kvm_ctime = st.st_ctim.tv_sec;
	hd->kvm_ctime_ns = st.st_ctim.tv_nsec;
	/* kvmcheck_open accepts no other API version, so no second ioctl to ask again. */
	hd->api = KVM_API_VERSION;
	int fd = open(CPUIDCACHE_BOOT_ID, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, hd->boot_id, sizeof(hd->boot_id) - 1);
	close(fd);
	/* A UUID: 36 characters and a newline. Anything else is no key. */
	if (n != 37 || hd->boot_id[36] != '\n')
		return -EINVAL;
	hd->boot_id[36] = 0;
	return 0;
}

static bool cpuidcache_same_key(const struct cpuidcache_hdr *a, const struct cpuidcache_hdr *b)
{
	return a->magic == b->magic && a->version == b->version && a->kvm_ino == b->kvm_ino &&
	       a->kvm_rdev == b->kvm_rdev && a->kvm_ctime == b->kvm_ctime &&
	       a->kvm_ctime_ns == b->kvm_ctime_ns && a->api == b->api &&
	       memcmp(a->boot_id, b->boot_id, sizeof(a->boot_id)) == 0;
}

struct kvm_cpuid2 *cpuidcache_load(const char *path, int kvm_fd)
{
	const size_t esz = sizeof(struct kvm_cpuid_entry2);
	struct cpuidcache_hdr key, *hd;
	struct kvm_cpuid2 *c = NULL;
	unsigned char *buf = NULL;
	struct stat st;
	if (cpuidcache_key(kvm_fd, &key))
		return NULL;
	/* O_NONBLOCK: a FIFO squatting the name must not hang us in open (fstat then rejects it). */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022) ||
	    st.st_size < (off_t)sizeof(*hd) ||
	    st.st_size > (off_t)(sizeof(*hd) + CPUIDCACHE_MAX_ENTRIES * esz))
		goto out;
	size_t size = (size_t)st.st_size, got = 0;
	buf = malloc(size);
	if (!buf)
		goto out;
	while (got < size) {
		ssize_t n = pread(fd, buf + got, size - got, (off_t)got);
		if (n <= 0)
			goto out; /* error or shrunk under us */
		got += (size_t)n;
	}
	hd = (struct cpuidcache_hdr *)buf;
	const struct kvm_cpuid_entry2 *e = (const struct kvm_cpuid_entry2 *)(buf + sizeof(*hd));
	if (hd->nent > CPUIDCACHE_MAX_ENTRIES || size != sizeof(*hd) + hd->nent * esz ||
	    !cpuidcache_same_key(hd, &key) || hd->sum != cpuidcache_sum(hd, e))
		goto out;
	c = calloc(1, sizeof(*c) + hd->nent * esz);
	if (!c)
		goto out;
	c->nent = hd->nent;
	memcpy(c->entries, e, hd->nent * esz);
out:
	free(buf);
	close(fd);
	return c;
}

static int cpuidcache_write_all(int fd, const void *p, size_t len)
{
	const char *b = p;
	while (len) {
		ssize_t n = write(fd, b, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		b += n, len -= (size_t)n;
	}
	return 0;
}

int cpuidcache_store(const char *path, int kvm_fd, const struct kvm_cpuid2 *c)
{
	struct cpuidcache_hdr hd;
	char tmp[4096];
	if (c->nent > CPUIDCACHE_MAX_ENTRIES)
		return -E2BIG;
	int r = cpuidcache_key(kvm_fd, &hd);
	if (r)
		return r;
	hd.nent = c->nent;
	hd.sum = cpuidcache_sum(&hd, c->entries);
	/* The thread id is unique among live threads of all processes: no two writers share a temp name. */
	int n = snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)gettid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	/* O_EXCL|O_NOFOLLOW: never write through a name someone else put there. No fsync: a cache. */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST && unlink(tmp) == 0) /* a crashed writer's leftover (the sticky dir lets us remove only ours) */
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = cpuidcache_write_all(fd, &hd, sizeof(hd));
	if (!r)
		r = cpuidcache_write_all(fd, c->entries, c->nent * sizeof(c->entries[0]));
	if (close(fd) && !r)
		r = -errno;
	/* rename: readers see the old file or the new one, never a torn one. */
	if (!r && rename(tmp, path))
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}
