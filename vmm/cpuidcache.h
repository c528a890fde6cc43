/* cpuidcache.h: a per-user file cache of KVM_GET_SUPPORTED_CPUID, valid for one boot and one /dev/kvm node. */
#ifndef VMM_CPUIDCACHE_H
#define VMM_CPUIDCACHE_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

/* Most entries a cache file may hold: host.c's own query limit. */
#define CPUIDCACHE_MAX_ENTRIES 4096

/*
 * The file: this header, then nent struct kvm_cpuid_entry2 as KVM returned
 * them. sum is FNV-1a 64 over the header (sum 0) and the entries.
 */
struct cpuidcache_hdr {
	uint64_t magic;      /* CPUIDCACHE_MAGIC */
	uint32_t version;    /* CPUIDCACHE_VERSION */
	uint32_t nent;
	uint64_t kvm_ino, kvm_rdev;     /* the opened /dev/kvm node ... */
	int64_t kvm_ctime, kvm_ctime_ns; /* ... recreated (new ctime) by a module reload */
	uint32_t api;        /* KVM_API_VERSION */
	uint32_t pad;
	char boot_id[40];    /* /proc/sys/kernel/random/boot_id, NUL-padded */
	uint64_t sum;
};

/*
 * The default cache file of this effective user: /dev/shm/ukvm-cpuid-<euid>.
 * Returns 0, or -ENAMETOOLONG.
 */
int cpuidcache_default_path(char *buf, size_t len);

/*
 * The table cached at path for the KVM instance behind kvm_fd, or NULL
 * (malloc'd; the caller frees) when there is none that is safe to use: the
 * file must be a regular file of ours, not group/other writable, not a
 * symlink, exactly as long as its header says, with the right magic,
 * version, checksum and key (boot id, kvm_fd's inode/rdev/ctime, API
 * version). Never fails loudly: any doubt means NULL. The caller checks the
 * entries exactly as it would check a fresh KVM answer.
 */
struct kvm_cpuid2 *cpuidcache_load(const char *path, int kvm_fd);

/*
 * Writes c for kvm_fd's KVM instance to path atomically (a 0600 O_EXCL
 * temp file in the same directory, renamed over path). Returns 0 or -errno;
 * callers ignore failure (it is a cache).
 */
int cpuidcache_store(const char *path, int kvm_fd, const struct kvm_cpuid2 *c);

/* FNV-1a 64 of len bytes, continuing from h (start: CPUIDCACHE_FNV_INIT). */
#define CPUIDCACHE_FNV_INIT 0xcbf29ce484222325ull
uint64_t cpuidcache_fnv(uint64_t h, const void *p, size_t len);

/* The checksum a file of header hd (its sum ignored) and entries e should carry. */
uint64_t cpuidcache_sum(const struct cpuidcache_hdr *hd, const struct kvm_cpuid_entry2 *e);

#endif
