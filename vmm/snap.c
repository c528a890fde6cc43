/* snap.c: the snapshot file format: CRC32C, sealing a header, and the parser that refuses every malformed file. */
#include "snap.h"

#include <cpuid.h>
#include <errno.h>
#include <nmmintrin.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "pvm_abi.h"

/*
 * SSE4.2's CRC32 instruction computes exactly CRC32C. A snapshot's metadata
 * (~14 KiB, the xsave area and device states) is checked at every restore:
 * bitwise that took 155 us here, a tenth of restore-to-running; this takes
 * a few us.
 */
__attribute__((target("sse4.2"))) static uint32_t snap_crc32c_hw(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = ~crc;
	for (; len >= 8; len -= 8, p += 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c = _mm_crc32_u64(c, w);
	}
	uint32_t c32 = (uint32_t)c;
	while (len--)
		c32 = _mm_crc32_u8(c32, *p++);
	return ~c32;
}

/*
 * Asked at the first CRC, not with __builtin_cpu_supports: that links
 * libgcc's constructor, which runs a dozen CPUIDs at every process start
 * (ukvm-run's too), each an exit to the host on PVM (~7.5 us).
 */
static bool snap_has_sse42(void)
{
	static atomic_int known; /* 0 not asked yet, 1 no, 2 yes */
	int k = atomic_load_explicit(&known, memory_order_relaxed);
	if (!k) {
		unsigned a, b, c, d;
		k = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_2) ? 2 : 1;
		atomic_store_explicit(&known, k, memory_order_relaxed);
	}
	return k == 2;
}

uint32_t snap_crc32c(uint32_t crc, const void *buf, size_t len)
{
	if (snap_has_sse42())
		return snap_crc32c_hw(crc, buf, len);
	/* Bitwise, table-free, where the CPU lacks SSE4.2. */
	const uint8_t *p = buf;
	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
	}
	return ~crc;
}

size_t snap_meta_len(uint32_t nmsrs, uint32_t nextents)
{
	return sizeof(struct snap_meta) + (size_t)nmsrs * sizeof(struct snap_msr) +
	       (size_t)nextents * sizeof(struct snap_extent);
}

uint64_t snap_mem_off(uint64_t meta_len)
{
	return (sizeof(struct snap_hdr) + meta_len + SNAP_PAGE - 1) & ~(SNAP_PAGE - 1);
}

void snap_seal(void *buf, uint64_t meta_len, uint64_t mem_size)
{
	struct snap_hdr h = { .version = SNAP_VERSION, .hdr_size = sizeof(struct snap_hdr),
			      .meta_off = sizeof(struct snap_hdr), .meta_len = meta_len,
			      .mem_off = snap_mem_off(meta_len), .mem_size = mem_size };
	memcpy(h.magic, SNAP_MAGIC, sizeof(h.magic));
	memcpy(buf, &h, sizeof(h));
	h.crc = snap_crc32c(0, buf, sizeof(h) + meta_len);
	memcpy(buf, &h, sizeof(h));
}

static int snap_bad(char *err, size_t errlen, const char *fmt, unsigned long long a, unsigned long long b)
{
	snprintf(err, errlen, fmt, a, b);
	return -EINVAL;
}

/*
 * The MSR list as the writer makes it (vcpu_msrs_get): KVM's entries, the
 * reserved word 0, each index once (a second value would silently win), and
 * never the PV state MSR, which is pv_state and set last: set in the middle
 * of the list it would switch the vCPU into PV mode early. Which indexes
 * this host takes is snap_check_msrs's question. O(n^2) on at most
 * SNAP_MAX_MSRS entries: ~5,000 compares (a few us) for KVM's ~100.
 */
static int snap_check_msr_list(const struct snap_msr *msrs, uint32_t n, char *err, size_t errlen)
{
	for (uint32_t i = 0; i < n; i++) {
		const char *why = NULL;
		if (msrs[i].reserved) {
			snprintf(err, errlen, "MSR %u (index 0x%x): reserved field 0x%x, must be 0", i, msrs[i].index,
				 msrs[i].reserved);
			return -EINVAL;
		}
		if (msrs[i].index == MSR_PVM_STATE)
			why = "the PV state MSR, which a snapshot carries in pv_state";
		for (uint32_t j = 0; !why && j < i; j++)
			if (msrs[j].index == msrs[i].index)
				why = "listed twice";
		if (why) {
			snprintf(err, errlen, "MSR %u (index 0x%x): %s", i, msrs[i].index, why);
			return -EINVAL;
		}
	}
	return 0;
}

/* The metadata's own rules, once the checksum vouched that it is what was written. */
static int snap_check_meta(const struct snap_hdr *h, struct snap_view *v, char *err, size_t errlen)
{
	const struct snap_meta *m = v->meta;
	if (m->pv > 1)
		return snap_bad(err, errlen, "bad pv mode %llu%.0llu", m->pv, 0);
	if (!m->tsc_khz)
		return snap_bad(err, errlen, "no TSC frequency%.0llu%.0llu", 0, 0);
	if (m->ndevs > UKVM_MMIO_MAX_DEVS)
		return snap_bad(err, errlen, "%llu devices: at most %llu", m->ndevs, UKVM_MMIO_MAX_DEVS);
	if (m->nmsrs > SNAP_MAX_MSRS)
		return snap_bad(err, errlen, "%llu MSRs: at most %llu", m->nmsrs, SNAP_MAX_MSRS);
	if (m->nextents > SNAP_MAX_EXTENTS)
		return snap_bad(err, errlen, "%llu page extents: at most %llu", m->nextents, SNAP_MAX_EXTENTS);
	if (h->meta_len != snap_meta_len(m->nmsrs, m->nextents))
		return snap_bad(err, errlen, "metadata of %llu bytes, its counts say %llu", h->meta_len,
				snap_meta_len(m->nmsrs, m->nextents));
	if (m->vcpu_flags & ~(SNAP_VCPU_XSAVE | SNAP_VCPU_XCRS | SNAP_VCPU_RUNNING | SNAP_VCPU_LAPIC))
		return snap_bad(err, errlen, "unknown vCPU flags 0x%llx%.0llu", m->vcpu_flags, 0);
	for (uint32_t i = 0; i < m->ndevs; i++) {
		const struct dev_state *d = &m->devs[i];
		if (d->kind != DEV_KIND_BLK && d->kind != DEV_KIND_NET)
			return snap_bad(err, errlen, "device %llu is of unknown kind %llu", i, d->kind);
		if (d->kind == DEV_KIND_NET && !dev_net_state_ok(d))
			return snap_bad(err, errlen, "NIC %llu: bad MAC, MTU (%llu) or flags", i, DEV_NET_MTU(d->size));
		/* A flag this monitor does not know would be silently dropped at restore: refused instead. */
		if (d->kind == DEV_KIND_BLK && (d->flags & ~DEV_STATE_RO))
			return snap_bad(err, errlen, "disk %llu: unknown flags 0x%llx", i, d->flags & ~DEV_STATE_RO);
	}
	if (m->conbuf_sent > UKVM_CONBUF_SIZE)
		return snap_bad(err, errlen, "console buffer position %llu past its %llu bytes", m->conbuf_sent,
				UKVM_CONBUF_SIZE);
	/* Running: no WAIT to answer at restore, and a block named anyway would be written into. */
	if ((m->vcpu_flags & SNAP_VCPU_RUNNING) && m->wait_gpa)
		return snap_bad(err, errlen, "taken running, yet names a WAIT block at 0x%llx%.0llu", m->wait_gpa, 0);
	/* In a WAIT: the block is in RAM, aligned, and not at 0 (page 0 is never mapped in the guest). */
	if (!(m->vcpu_flags & SNAP_VCPU_RUNNING) &&
	    (!m->wait_gpa || (m->wait_gpa & 7) || m->wait_gpa > h->mem_size ||
	     sizeof(struct ukvm_wait) > h->mem_size - m->wait_gpa))
		return snap_bad(err, errlen, "WAIT block 0x%llx is outside guest memory (%llu bytes)", m->wait_gpa,
				h->mem_size);
	v->msrs = (const struct snap_msr *)(m + 1);
	v->extents = (const struct snap_extent *)(v->msrs + m->nmsrs);
	int r = snap_check_msr_list(v->msrs, m->nmsrs, err, errlen);
	if (r)
		return r;
	uint64_t end = 0, npages = h->mem_size / SNAP_PAGE;
	for (uint32_t i = 0; i < m->nextents; i++) {
		const struct snap_extent *e = &v->extents[i];
		uint64_t first = e->gpa / SNAP_PAGE;
		if (e->gpa % SNAP_PAGE || !e->npages || first < end || first > npages || e->npages > npages - first)
			return snap_bad(err, errlen, "page extent %llu (gpa 0x%llx) is misaligned, empty, unsorted "
					"or outside guest memory", i, e->gpa);
		end = first + e->npages;
	}
	return 0;
}

int snap_parse(const void *buf, size_t len, uint64_t file_size, struct snap_view *v, char *err, size_t errlen)
{
	struct snap_hdr h;
	memset(v, 0, sizeof(*v));
	if (file_size < sizeof(h) || len < sizeof(h))
		return file_size < sizeof(h) ? snap_bad(err, errlen, "truncated: %llu bytes, no header%.0llu",
							file_size, 0)
					     : -ENODATA;
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, SNAP_MAGIC, sizeof(h.magic)))
		return snap_bad(err, errlen, "not a ukvm snapshot (bad magic)%.0llu%.0llu", 0, 0);
	if (h.version != SNAP_VERSION)
		return snap_bad(err, errlen, "snapshot format version %llu, this ukvm reads version %llu", h.version,
				SNAP_VERSION);
	if (h.hdr_size != sizeof(h) || h.meta_off != sizeof(h) || h.flags || h.reserved)
		return snap_bad(err, errlen, "bad header (size %llu, metadata at %llu)", h.hdr_size, h.meta_off);
	if (h.meta_len < sizeof(struct snap_meta) || h.meta_len > snap_meta_len(SNAP_MAX_MSRS, SNAP_MAX_EXTENTS))
		return snap_bad(err, errlen, "metadata of %llu bytes: expected %llu or more", h.meta_len,
				sizeof(struct snap_meta));
	if (h.meta_off + h.meta_len > file_size)
		return snap_bad(err, errlen, "truncated: %llu bytes, the metadata ends at %llu", file_size,
				h.meta_off + h.meta_len);
	if (h.meta_off + h.meta_len > len)
		return -ENODATA;
	uint32_t want = h.crc;
	struct snap_hdr z = h;
	z.crc = 0;
	uint32_t crc = snap_crc32c(snap_crc32c(0, &z, sizeof(z)), (const uint8_t *)buf + sizeof(h), h.meta_len);
	if (crc != want)
		return snap_bad(err, errlen, "bad checksum (CRC32C 0x%08llx, header says 0x%08llx)", crc, want);
	const char *bad = ukvm_mem_size_invalid(h.mem_size);
	if (bad) {
		snprintf(err, errlen, "memory size %llu bytes: %s", (unsigned long long)h.mem_size, bad);
		return -EINVAL;
	}
	if (h.mem_off != snap_mem_off(h.meta_len))
		return snap_bad(err, errlen, "guest memory at offset %llu, expected %llu", h.mem_off,
				snap_mem_off(h.meta_len));
	if (file_size != h.mem_off + h.mem_size)
		return snap_bad(err, errlen, "truncated or padded: %llu bytes, the header says %llu", file_size,
				h.mem_off + h.mem_size);
	v->hdr = buf;
	v->meta = (const struct snap_meta *)((const uint8_t *)buf + h.meta_off);
	int r = snap_check_meta(&h, v, err, errlen);
	if (r)
		memset(v, 0, sizeof(*v));
	return r;
}

int snap_check_host(const struct snap_meta *meta, const uint32_t host_cpu[SNAP_CPU_WORDS], uint64_t host_xcr0,
		    uint32_t host_tsc_khz, char *err, size_t errlen)
{
	static const char *const names[SNAP_CPU_WORDS] = { "1.ecx", "1.edx", "7.ebx", "7.ecx", "7.edx" };
	for (int i = 0; i < SNAP_CPU_WORDS; i++)
		if (meta->cpu[i] & ~host_cpu[i]) {
			snprintf(err, errlen, "taken on a CPU with features this host lacks (CPUID %s bits 0x%x)",
				 names[i], meta->cpu[i] & ~host_cpu[i]);
			return -ENOTSUP;
		}
	if (meta->vcpu_flags & SNAP_VCPU_XCRS)
		for (uint32_t i = 0; i < meta->xcrs.nr_xcrs && i < KVM_MAX_XCRS; i++)
			if (meta->xcrs.xcrs[i].xcr == 0 && (meta->xcrs.xcrs[i].value & ~host_xcr0)) {
				snprintf(err, errlen, "taken with XSAVE components this host lacks (XCR0 bits 0x%llx)",
					 (unsigned long long)(meta->xcrs.xcrs[i].value & ~host_xcr0));
				return -ENOTSUP;
			}
	/* The guest's clocks count TSC ticks at the saved rate; a measured rate may be off by a few kHz. */
	uint64_t a = meta->tsc_khz, b = host_tsc_khz, d = a > b ? a - b : b - a;
	if (d * 1000 > a) {
		snprintf(err, errlen, "taken with a %u kHz TSC, this host's runs at %u kHz", meta->tsc_khz,
			 host_tsc_khz);
		return -ENOTSUP;
	}
	return 0;
}

int snap_check_msrs(const struct snap_view *v, const uint32_t *host, uint32_t n, char *err, size_t errlen)
{
	for (uint32_t i = 0; i < v->meta->nmsrs; i++) {
		uint32_t want = v->msrs[i].index;
		/* n == 0 may come with host NULL, which bsearch must not be given. */
		if (!n || !bsearch(&want, host, n, sizeof(*host), host_msr_cmp)) {
			snprintf(err, errlen, "MSR 0x%x is not one this host's KVM saves (taken on another host)", want);
			return -ENOTSUP;
		}
	}
	return 0;
}

long snap_extents(const unsigned char *vec, uint64_t npages, struct snap_extent *out, size_t max)
{
	size_t n = 0;
	for (uint64_t i = 0; i < npages;) {
		if (!(vec[i] & 1)) {
			i++;
			continue;
		}
		uint64_t j = i;
		while (j < npages && (vec[j] & 1))
			j++;
		if (n == max)
			return -E2BIG;
		out[n++] = (struct snap_extent){ i * SNAP_PAGE, j - i };
		i = j;
	}
	return (long)n;
}
