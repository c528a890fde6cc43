/* host.h: struct ukvm_host, the per-host KVM context: /dev/kvm opened and checked once, CPUID and MSRs cached, shared by reference. */
#ifndef VMM_HOST_H
#define VMM_HOST_H

#include <linux/kvm.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "ukvm.h"

struct sbcache;

/* Leaves handed to the guest in the FDT (/chosen/ukvm,cpuid): 0, 1 and 7.0. */
#define HOST_BOOT_LEAVES 3

/*
 * Everything but refs is written once by host_open_dev and never again: VMs
 * on several threads read it without a lock. refs counts the opener's
 * reference plus one per live VM; the last host_unref frees it.
 */
struct ukvm_host {
	atomic_uint refs;
	int kvm_fd;                 /* /dev/kvm: KVM_CREATE_VM for every VM */
	size_t vcpu_mmap_size;      /* KVM_GET_VCPU_MMAP_SIZE */
	struct kvm_cpuid2 *cpuid;   /* KVM_GET_SUPPORTED_CPUID, checked; given to every vCPU as is */
	uint32_t cpuid_boot[HOST_BOOT_LEAVES][6]; /* function, index, eax, ebx, ecx, edx */
	unsigned ncpuid_boot;
	uint32_t *msrs;             /* KVM_GET_MSR_INDEX_LIST sorted ascending: what a restored snapshot's MSRs
				       must be among (snap_check_msrs) */
	uint32_t nmsrs;
	struct hostpool *pool;      /* UKVM_HOST_IDLE_VM/_POOL/_REAPER (hostpool.h); NULL: none asked */
	struct sbcache *seccomp;    /* the filter shapes its VMs' threads install, kept (sbcache.h); NULL:
				       built by libseccomp each time */
	int pagemap_fd;             /* > 0: /proc/self/pagemap opened by the jail (jail.c) before /proc went
				       away, for the snapshot writer; 0: none, the writer opens its own */
};

/* Orders two MSR indexes (uint32_t): qsort's and bsearch's comparator for struct ukvm_host's msrs. */
static inline int host_msr_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/*
 * ukvm_host_open on device dev (tests pass other paths to reach the error
 * paths without KVM). Returns 0 and *out with one reference, or -errno with
 * one line in err (ukvm_host_open maps it to an enum ukvm_error).
 */
int host_open_dev(const char *dev, struct ukvm_host **out, char *err, size_t errlen);

/*
 * host_open_dev, first trying the KVM_GET_SUPPORTED_CPUID cache file cache
 * (cpuidcache.h; NULL = none) and rewriting it after a miss. The result is
 * the same with or without the cache; only the time differs.
 */
int host_open_cached(const char *dev, const char *cache, struct ukvm_host **out, char *err, size_t errlen);

/*
 * /dev/kvm with the user's default cache unless flags has
 * UKVM_HOST_NO_CPUID_CACHE, and the background levers flags asks for
 * (hostpool.h). -EINVAL for a flag ukvm.h does not define.
 */
int host_open_default(unsigned flags, struct ukvm_host **out, char *err, size_t errlen);

/* Takes a reference (a VM being created). Returns h. */
struct ukvm_host *host_ref(struct ukvm_host *h);

/* Drops a reference; the last one closes the fd and frees. h may be NULL. */
void host_unref(struct ukvm_host *h);

/*
 * Checks what the vCPU entry state relies on in a supported-CPUID table:
 * PSE, SSE, long mode, NX. Returns 0 or -ENOTSUP with
 * "/dev/kvm: guest CPU lacks ..." in err.
 */
int host_cpuid_check(const struct kvm_cpuid2 *c, char *err, size_t errlen);

/* Copies leaves 0, 1, 7.0 (those present, in that order) into out; returns how many. */
unsigned host_boot_leaves(const struct kvm_cpuid2 *c, uint32_t out[HOST_BOOT_LEAVES][6]);

/*
 * Checks that KVM lists STAR, LSTAR and FMASK (docs/design.md: set them only
 * then). Returns 0 or -ENOTSUP with "/dev/kvm: MSR 0x... not supported".
 */
int host_msrs_check(const struct kvm_msr_list *l, char *err, size_t errlen);

#endif
