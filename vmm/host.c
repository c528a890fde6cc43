/* host.c: ukvm_host_open/close: the per-host KVM work (open, checks, supported CPUID, MSR list) done once for many VMs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cpuidcache.h"
#include "host.h"
#include "hostpool.h"
#include "kvmcheck.h"
#include "sbcache.h"
#include "vm.h"

#define MSR_STAR 0xc0000081u
#define MSR_LSTAR 0xc0000082u
#define MSR_FMASK 0xc0000084u

/* First guesses; KVM says E2BIG (and, for MSRs, the real count) when a host has more. */
#define HOST_CPUID_ENTRIES 256
#define HOST_CPUID_ENTRIES_MAX 4096
#define HOST_MSRS 1024
#define HOST_MSRS_MAX 65536

static const struct kvm_cpuid_entry2 *host_leaf(const struct kvm_cpuid2 *c, uint32_t fn)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == 0)
			return &c->entries[i];
	return NULL;
}

int host_cpuid_check(const struct kvm_cpuid2 *c, char *err, size_t errlen)
{
	/*
	 * FSGSBASE is not checked: PVM does not list it in leaf 7, yet accepts
	 * CR4.FSGSBASE and runs WRFSBASE at CPL3 (docs/design.md, platform table); KVM_SET_SREGS
	 * fails clearly where CR4.FSGSBASE is really unsupported. 1 GiB pages
	 * (0x80000001 EDX bit 26) are never used: PVM lacks them.
	 */
	const struct kvm_cpuid_entry2 *l1 = host_leaf(c, 1), *e1 = host_leaf(c, 0x80000001);
	const char *missing = NULL;
	if (!l1 || !(l1->edx & (1u << 3)))
		missing = "PSE (2 MiB pages)";
	else if (!(l1->edx & (1u << 25)))
		missing = "SSE";
	else if (!e1 || !(e1->edx & (1u << 29)))
		missing = "long mode";
	else if (!(e1->edx & (1u << 20)))
		missing = "NX";
	if (!missing)
		return 0;
	snprintf(err, errlen, "/dev/kvm: guest CPU lacks %s", missing);
	return -ENOTSUP;
}

/*
 * Leaves 0, 1 and 7.0 go into the FDT: the guest reads them there instead of
 * executing CPUID, an exit of ~5-25 us on PVM, at boot.
 */
unsigned host_boot_leaves(const struct kvm_cpuid2 *c, uint32_t out[HOST_BOOT_LEAVES][6])
{
	static const uint32_t want[HOST_BOOT_LEAVES] = { 0, 1, 7 };
	unsigned n = 0;
	for (unsigned w = 0; w < HOST_BOOT_LEAVES; w++) {
		const struct kvm_cpuid_entry2 *e = host_leaf(c, want[w]);
		if (!e)
			continue;
		uint32_t *o = out[n++];
		o[0] = e->function, o[1] = e->index, o[2] = e->eax, o[3] = e->ebx, o[4] = e->ecx, o[5] = e->edx;
	}
	return n;
}

int host_msrs_check(const struct kvm_msr_list *l, char *err, size_t errlen)
{
	static const uint32_t need[3] = { MSR_STAR, MSR_LSTAR, MSR_FMASK };
	for (unsigned i = 0; i < 3; i++) {
		bool found = false;
		for (uint32_t j = 0; j < l->nmsrs && !found; j++)
			found = l->indices[j] == need[i];
		if (!found) {
			snprintf(err, errlen, "/dev/kvm: MSR 0x%x not supported", need[i]);
			return -ENOTSUP;
		}
	}
	return 0;
}

/*
 * KVM_GET_SUPPORTED_CPUID reports the APIC ID of the host CPU that ran the
 * ioctl: leaf 1 EBX[31:24] and the x2APIC ID in leaves 0xb and 0x1f EDX. The
 * one vCPU is APIC 0 (its LAPIC says so), and the table must not depend on
 * where this thread ran (the cache, the boot FDT's leaves, what the guest's
 * CPUID says): those fields are set to vCPU 0's, as other VMMs set each
 * vCPU's own.
 */
static void host_cpuid_vcpu0(struct kvm_cpuid2 *c)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function == 1)
			e->ebx &= 0x00ffffffu;
		else if (e->function == 0xb || e->function == 0x1f)
			e->edx = 0;
	}
}

/* KVM_GET_SUPPORTED_CPUID into a table sized to fit (nent trimmed by KVM). 0 or -errno. */
static int host_get_cpuid(struct ukvm_host *h, char *err, size_t errlen)
{
	for (uint32_t n = HOST_CPUID_ENTRIES; n <= HOST_CPUID_ENTRIES_MAX; n *= 4) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));
		if (!c) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		c->nent = n;
		if (ioctl(h->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			h->cpuid = c;
			return 0;
		}
		int e = errno;
		free(c);
		if (e != E2BIG) {
			snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s", strerror(e));
			return -e;
		}
	}
	snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID: more than %d entries", HOST_CPUID_ENTRIES_MAX);
	return -E2BIG;
}

/* KVM_GET_MSR_INDEX_LIST and the check; the list is kept sorted in h->msrs. 0 or -errno. */
static int host_check_msrs(struct ukvm_host *h, char *err, size_t errlen)
{
	uint32_t n = HOST_MSRS;
	for (int tries = 0; tries < 2; tries++) {
		struct kvm_msr_list *l = calloc(1, sizeof(*l) + (size_t)n * sizeof(uint32_t));
		if (!l) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		l->nmsrs = n;
		if (ioctl(h->kvm_fd, KVM_GET_MSR_INDEX_LIST, l) == 0) {
			int r = host_msrs_check(l, err, errlen);
			if (!r && !(h->msrs = malloc((size_t)l->nmsrs * sizeof(uint32_t) + 1))) {
				snprintf(err, errlen, "out of memory");
				r = -ENOMEM;
			}
			if (!r) {
				h->nmsrs = l->nmsrs;
				memcpy(h->msrs, l->indices, (size_t)l->nmsrs * sizeof(uint32_t));
				qsort(h->msrs, h->nmsrs, sizeof(uint32_t), host_msr_cmp);
			}
			free(l);
			return r;
		}
		int e = errno;
		/* E2BIG: KVM wrote the count it needs into nmsrs; retry once with that (bounded). */
		uint32_t want = l->nmsrs;
		free(l);
		if (e != E2BIG || want <= n || want > HOST_MSRS_MAX) {
			snprintf(err, errlen, "KVM_GET_MSR_INDEX_LIST: %s", strerror(e));
			return -e;
		}
		n = want;
	}
	snprintf(err, errlen, "KVM_GET_MSR_INDEX_LIST: list keeps growing");
	return -E2BIG;
}

int host_open_dev(const char *dev, struct ukvm_host **out, char *err, size_t errlen)
{
	return host_open_cached(dev, NULL, out, err, errlen);
}

int host_open_cached(const char *dev, const char *cache, struct ukvm_host **out, char *err, size_t errlen)
{
	struct ukvm_host *h = calloc(1, sizeof(*h));
	int r;
	*out = NULL;
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	atomic_init(&h->refs, 1);
	h->kvm_fd = r = kvmcheck_open(dev, err, errlen);
	if (r < 0)
		goto fail;
	int sz = ioctl(h->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < (int)sizeof(struct kvm_run)) {
		r = sz < 0 ? -errno : -EINVAL;
		snprintf(err, errlen, "KVM_GET_VCPU_MMAP_SIZE: %s", sz < 0 ? strerror(-r) : "too small");
		goto fail;
	}
	h->vcpu_mmap_size = (size_t)sz;
	/* A cached table gets the same check as KVM's answer; one that fails it is just a miss. */
	h->cpuid = cache ? cpuidcache_load(cache, h->kvm_fd) : NULL;
	if (h->cpuid && host_cpuid_check(h->cpuid, err, errlen)) {
		free(h->cpuid);
		h->cpuid = NULL;
	}
	r = 0;
	if (!h->cpuid) {
		r = host_get_cpuid(h, err, errlen);
		if (!r)
			r = host_cpuid_check(h->cpuid, err, errlen);
		if (!r)
			host_cpuid_vcpu0(h->cpuid);
		if (!r && cache)
			(void)cpuidcache_store(cache, h->kvm_fd, h->cpuid); /* failure only costs speed */
	} else {
		host_cpuid_vcpu0(h->cpuid); /* a file an older ukvm-run wrote holds a host CPU's ID */
	}
	if (!r)
		r = host_check_msrs(h, err, errlen);
	if (r)
		goto fail;
	h->ncpuid_boot = host_boot_leaves(h->cpuid, h->cpuid_boot);
	*out = h;
	return 0;
fail:
	host_unref(h);
	return r;
}

struct ukvm_host *host_ref(struct ukvm_host *h)
{
	/* relaxed: the caller already holds a reference, so the count cannot reach 0 meanwhile. */
	atomic_fetch_add_explicit(&h->refs, 1, memory_order_relaxed);
	return h;
}

void host_unref(struct ukvm_host *h)
{
	if (!h)
		return;
	/* acq_rel: every VM's last use of h happens before the free on whichever thread drops last. */
	if (atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) != 1)
		return;
	hostpool_free(h);
	if (h->kvm_fd >= 0)
		close(h->kvm_fd);
	if (h->pagemap_fd > 0)
		close(h->pagemap_fd);
	free(h->cpuid);
	free(h->msrs);
	sbcache_free(h->seccomp);
	free(h);
}

int host_open_default(unsigned flags, struct ukvm_host **out, char *err, size_t errlen)
{
	char cache[128];
	*out = NULL;
	if (flags & ~(UKVM_HOST_NO_CPUID_CACHE | UKVM_HOST_FAST)) {
		snprintf(err, errlen, "host flags 0x%x: not defined by this libukvm %s", flags, UKVM_VERSION);
		return -EINVAL;
	}
	bool use = !(flags & UKVM_HOST_NO_CPUID_CACHE) && cpuidcache_default_path(cache, sizeof(cache)) == 0;
	int r = host_open_cached("/dev/kvm", use ? cache : NULL, out, err, errlen);
	if (!r && (r = hostpool_start(*out, flags, err, errlen))) {
		host_unref(*out);
		*out = NULL;
	}
	return r;
}

int ukvm_host_open(struct ukvm_host **out, char *err, size_t errlen)
{
	return ukvm_host_open_flags(out, 0, err, errlen);
}

int ukvm_host_open_flags(struct ukvm_host **out, unsigned flags, char *err, size_t errlen)
{
	int r = host_open_default(flags, out, err, errlen);
	/*
	 * An embedder's host runs many VMs: their filters are built once per
	 * shape and patched (sbcache.h; NULL only costs speed). Not a VM's
	 * private host (ukvm-run): one VM would pay a shape's two builds for one.
	 */
	if (!r)
		(*out)->seccomp = sbcache_new(SBCACHE_BASE_A, SBCACHE_BASE_B);
	return r ? vm_error(r == -EINVAL ? UKVM_ERR_CONFIG : UKVM_ERR_KVM, r) : UKVM_OK;
}

void ukvm_host_close(struct ukvm_host *host)
{
	if (!host)
		return;
	hostpool_stop(host); /* the reaper finishes what it holds while this reference keeps the host */
	host_unref(host);
}

void ukvm_host_quiesce(struct ukvm_host *host)
{
	hostpool_quiesce(host);
}
