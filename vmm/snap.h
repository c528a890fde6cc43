/* snap.h: the snapshot file format (docs/snapshot.md): layout, CRC32C, building, and the validating parser. */
#ifndef VMM_SNAP_H
#define VMM_SNAP_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dev.h"
#include "ukvm_abi.h"

#define SNAP_MAGIC "UKVMSNAP"
/*
 * 4: struct ukvm_wait grew the restoring run's console (tty[3], 64 -> 88
 * bytes): a restore writes the whole block, which a version-3 guest made
 * 64 bytes long (its next 24 bytes are its own memory).
 * 3: the local APIC (lapic, SNAP_VCPU_LAPIC): a VM taken running resumes
 * with its time-slice timer armed, not at its first WAIT.
 * 2: the boot block (proto/ukvm_abi.h) moved the console buffer to
 * UKVM_CONBUF_GPA 0xf7000; a guest saved by version 1 writes its output at
 * 0x8000, where this monitor would not drain it.
 */
#define SNAP_VERSION 4u
#define SNAP_PAGE 4096ull
/* Most MSRs a snapshot carries: KVM lists ~60-120 on x86 hosts. */
#define SNAP_MAX_MSRS 512u
/* Most page extents: one per run of touched pages; a guest touches ~100-10,000 pages. */
#define SNAP_MAX_EXTENTS 65536u

/*
 * At offset 0, little-endian. crc is CRC32C (Castagnoli, reflected,
 * init and final xor 0xffffffff: iSCSI's, the one `crc32c` tools compute)
 * of this header with crc = 0, followed by the metadata.
 */
struct snap_hdr {
	char magic[8];        /* SNAP_MAGIC, no NUL */
	uint32_t version;     /* SNAP_VERSION */
	uint32_t hdr_size;    /* sizeof(struct snap_hdr) */
	uint64_t meta_off;    /* = hdr_size */
	uint64_t meta_len;    /* struct snap_meta + nmsrs MSRs + nextents extents */
	uint64_t mem_off;     /* page-aligned, past the metadata: guest physical 0 */
	uint64_t mem_size;    /* guest RAM bytes; the file is exactly mem_off + mem_size long */
	uint32_t crc;
	uint32_t flags;       /* 0 */
	uint64_t reserved;    /* 0 */
};
_Static_assert(sizeof(struct snap_hdr) == 64, "snapshot header layout");

/* CPUID words the guest may rely on, as given to the vCPU: a restoring host must have every bit. */
enum { SNAP_CPU_1_ECX, SNAP_CPU_1_EDX, SNAP_CPU_7_EBX, SNAP_CPU_7_ECX, SNAP_CPU_7_EDX, SNAP_CPU_WORDS };

#define SNAP_VCPU_XSAVE 1u /* struct snap_meta.vcpu_flags: xsave holds the FPU state (else fpu) */
#define SNAP_VCPU_XCRS  2u /* xcrs is valid */
/*
 * Taken while the guest ran (ukvm_snapshot kicked it out of KVM_RUN), not
 * inside a WAIT: wait_gpa is 0, and a restore answers the guest's next WAIT
 * with UKVM_WAIT_RESTORED instead (docs/snapshot.md, "Taken by ukvm_snapshot").
 */
#define SNAP_VCPU_RUNNING 4u
/* lapic holds the in-kernel local APIC's registers (KVM_GET_LAPIC); without it the restored vCPU's APIC is fresh. */
#define SNAP_VCPU_LAPIC 8u

/* The WAIT block this version's guests pass and a restore writes whole: another size is another version. */
_Static_assert(sizeof(struct ukvm_wait) == 88, "struct ukvm_wait changed: bump SNAP_VERSION");

/* The fixed part of the metadata: configuration, vCPU, devices. */
struct snap_meta {
	uint32_t pv;               /* 1: the vCPU runs in pvm-pv mode (pv_state is its MSR 0x4b564d10) */
	uint32_t tsc_khz;          /* the guest's clock runs at this rate: a host with another is refused */
	uint32_t ndevs, nmsrs, nextents, vcpu_flags;
	uint64_t wait_gpa;         /* the struct ukvm_wait the vCPU was in when snapshotted; 0 with SNAP_VCPU_RUNNING */
	uint64_t pv_state;
	uint32_t cpu[SNAP_CPU_WORDS];
	uint32_t conbuf_sent;      /* console buffer bytes the snapshotted run wrote out (taken running; <= UKVM_CONBUF_SIZE) */
	uint8_t uart[8];           /* ier, lcr, mcr, scr, dll, dlm */
	struct dev_state devs[UKVM_MMIO_MAX_DEVS];
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	uint32_t xsave[1024];      /* struct kvm_xsave's region (its 4 KiB legacy size; no AMX state) */
	struct kvm_xcrs xcrs;
	struct kvm_vcpu_events events;
	uint8_t lapic[1024];       /* struct kvm_lapic_state, with SNAP_VCPU_LAPIC */
};

_Static_assert(sizeof(struct snap_meta) == 14456 && offsetof(struct snap_meta, devs) == 72 &&
	       offsetof(struct snap_meta, regs) == 8008, "snapshot metadata layout (docs/snapshot.md)");

/* One MSR, as KVM_GET_MSRS gave it. */
struct snap_msr {
	uint32_t index, reserved;
	uint64_t data;
};

/* Guest pages [gpa, gpa + npages * 4 KiB) are in the file; pages outside every extent are holes (zero). */
struct snap_extent {
	uint64_t gpa, npages;
};

/* A parsed, validated snapshot's metadata (pointers into the buffer given to snap_parse). */
struct snap_view {
	const struct snap_hdr *hdr;
	const struct snap_meta *meta;
	const struct snap_msr *msrs;
	const struct snap_extent *extents;
};

/* CRC32C of len bytes, continuing from crc (start with 0). */
uint32_t snap_crc32c(uint32_t crc, const void *buf, size_t len);

/* Bytes of metadata for these counts. */
size_t snap_meta_len(uint32_t nmsrs, uint32_t nextents);

/* Where guest memory starts in a file whose metadata is meta_len bytes: the next page boundary past it. */
uint64_t snap_mem_off(uint64_t meta_len);

/*
 * Fills the header of a file whose metadata (meta_len bytes, already in
 * place right after the header in buf) is complete, and seals it with the
 * CRC. buf holds sizeof(struct snap_hdr) + meta_len bytes.
 */
void snap_seal(void *buf, uint64_t meta_len, uint64_t mem_size);

/*
 * Validates the first len bytes of a snapshot file of file_size bytes
 * (len may be less than the file; the header and metadata must be in it):
 * magic, version, sizes, offsets inside the file, checksum, memory size
 * (proto/ukvm_abi.h limits), counts, device kinds and flags, the MSR list
 * (reserved words 0, each index once, not MSR_PVM_STATE: which indexes a
 * host takes is snap_check_msrs's), extents (sorted, disjoint, inside RAM),
 * the WAIT block inside RAM. Returns 0 and
 * *v, or -EINVAL (-ENODATA when len is too short to hold what the header
 * announces: read more and call again) with one line in err.
 */
int snap_parse(const void *buf, size_t len, uint64_t file_size, struct snap_view *v, char *err, size_t errlen);

/*
 * Whether a host can run this snapshot: every CPUID bit of meta->cpu is in
 * host_cpu (the words of the host's supported CPUID), xcr0 only has
 * components in host_xcr0 (leaf 0xd.0 edx:eax), and the TSC runs at
 * meta->tsc_khz. Returns 0 or -ENOTSUP with one line in err.
 */
int snap_check_host(const struct snap_meta *meta, const uint32_t host_cpu[SNAP_CPU_WORDS], uint64_t host_xcr0,
		    uint32_t host_tsc_khz, char *err, size_t errlen);

/*
 * Whether this host takes every MSR of a parsed snapshot: each index is in
 * host (this host's KVM_GET_MSR_INDEX_LIST, n entries sorted ascending: the
 * set a snapshot taken here carries). Returns 0 or -ENOTSUP with one line
 * naming the first MSR that is not.
 */
int snap_check_msrs(const struct snap_view *v, const uint32_t *host, uint32_t n, char *err, size_t errlen);

/*
 * The touched pages from a vector of npages entries, one per page (bit 0 set:
 * resident) as extents into out (max entries). Returns how many, or -E2BIG
 * when more than max would be needed.
 */
long snap_extents(const unsigned char *vec, uint64_t npages, struct snap_extent *out, size_t max);

#endif
