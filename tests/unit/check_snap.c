/* check_snap.c: the snapshot file format (vmm/snap.c): CRC32C, sealing, every refusal of the parser, host checks, page extents. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snap.h"

#define T_MEM (64ull << 20)

/* A valid header + metadata with nmsrs MSRs and nextents extents (buffer: t_buf, t_len bytes). */
static uint8_t *t_buf;
static size_t t_len;
static char err[256];

static struct snap_hdr *hdr(void)
{
	return (struct snap_hdr *)t_buf;
}

static struct snap_meta *meta(void)
{
	return (struct snap_meta *)(t_buf + sizeof(struct snap_hdr));
}

static struct snap_msr *msrs(void)
{
	return (struct snap_msr *)(meta() + 1);
}

static struct snap_extent *extents(void)
{
	return (struct snap_extent *)((struct snap_msr *)(meta() + 1) + meta()->nmsrs);
}

static void make(uint32_t nmsrs, uint32_t nextents)
{
	free(t_buf);
	size_t ml = snap_meta_len(nmsrs, nextents);
	t_len = sizeof(struct snap_hdr) + ml;
	t_buf = calloc(1, t_len);
	ck_assert_ptr_nonnull(t_buf);
	struct snap_meta *m = meta();
	m->tsc_khz = 2600000;
	m->nmsrs = nmsrs;
	m->nextents = nextents;
	m->ndevs = 1;
	m->devs[0].kind = DEV_KIND_BLK;
	m->wait_gpa = 0x10000;
	struct snap_msr *msr = (struct snap_msr *)(m + 1);
	for (uint32_t i = 0; i < nmsrs; i++)
		msr[i] = (struct snap_msr){ .index = 0xc0000080 + i, .data = i };
	for (uint32_t i = 0; i < nextents; i++)
		extents()[i] = (struct snap_extent){ .gpa = (uint64_t)i * 3 * SNAP_PAGE, .npages = 2 };
	snap_seal(t_buf, ml, T_MEM);
}

/* The file size the header promises. */
static uint64_t fsize(void)
{
	return hdr()->mem_off + hdr()->mem_size;
}

/* Re-seals after a change to the metadata or header, so the parser gets past the checksum. */
static void reseal(void)
{
	struct snap_hdr h = *hdr();
	h.crc = 0;
	memcpy(t_buf, &h, sizeof(h));
	h.crc = snap_crc32c(0, t_buf, t_len);
	memcpy(t_buf, &h, sizeof(h));
}

static int parse(void)
{
	struct snap_view v;
	err[0] = '\0';
	return snap_parse(t_buf, t_len, fsize(), &v, err, sizeof(err));
}

static void teardown(void)
{
	free(t_buf);
	t_buf = NULL;
}

START_TEST(test_crc32c)
{
	/* The check value of CRC-32C (iSCSI, RFC 3720 B.4): "123456789" -> 0xe3069283. */
	ck_assert_uint_eq(snap_crc32c(0, "123456789", 9), 0xe3069283u);
	ck_assert_uint_eq(snap_crc32c(snap_crc32c(0, "1234", 4), "56789", 5), 0xe3069283u);
	uint8_t zeros[32] = { 0 };
	ck_assert_uint_eq(snap_crc32c(0, zeros, 32), 0x8a9136aau); /* RFC 3720 B.4: 32 bytes of zeros */
	/* Whichever way snap_crc32c computes it (SSE4.2 8 bytes at a time), it is the bitwise CRC-32C: every length
	 * 0..300 at every alignment 0..7, whole and split in two. */
	static uint8_t data[320];
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 131u + 7u);
	for (unsigned off = 0; off < 8; off++)
		for (unsigned len = 0; len <= 300; len++) {
			uint32_t ref = ~0u;
			for (unsigned i = 0; i < len; i++) {
				ref ^= data[off + i];
				for (int k = 0; k < 8; k++)
					ref = (ref >> 1) ^ (0x82f63b78u & (0u - (ref & 1)));
			}
			ref = ~ref;
			ck_assert_uint_eq(snap_crc32c(0, data + off, len), ref);
			ck_assert_uint_eq(snap_crc32c(snap_crc32c(0, data + off, len / 3), data + off + len / 3, len - len / 3),
					  ref);
		}
}
END_TEST

START_TEST(test_valid)
{
	make(3, 2);
	struct snap_view v;
	ck_assert_int_eq(snap_parse(t_buf, t_len, fsize(), &v, err, sizeof(err)), 0);
	ck_assert_ptr_eq(v.meta, meta());
	ck_assert_uint_eq(v.msrs[2].index, 0xc0000082);
	ck_assert_uint_eq(v.extents[1].gpa, 3 * SNAP_PAGE);
	ck_assert_uint_eq(hdr()->mem_off % SNAP_PAGE, 0);
	ck_assert_uint_ge(hdr()->mem_off, t_len);
	ck_assert_uint_eq(hdr()->version, SNAP_VERSION);
	/* A buffer holding only the header asks for more, without judging what it cannot see. */
	ck_assert_int_eq(snap_parse(t_buf, sizeof(struct snap_hdr), fsize(), &v, err, sizeof(err)), -ENODATA);
	ck_assert_int_eq(snap_parse(t_buf, t_len - 1, fsize(), &v, err, sizeof(err)), -ENODATA);
}
END_TEST

START_TEST(test_truncated)
{
	make(1, 1);
	struct snap_view v;
	ck_assert_int_eq(snap_parse(t_buf, 10, 10, &v, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "truncated: 10 bytes, no header");
	ck_assert_int_eq(snap_parse(t_buf, t_len, t_len - 1, &v, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "truncated"));
	/* Memory cut short: the file ends before mem_off + mem_size. */
	ck_assert_int_eq(snap_parse(t_buf, t_len, fsize() - SNAP_PAGE, &v, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "truncated or padded"));
	ck_assert_int_eq(snap_parse(t_buf, t_len, fsize() + 1, &v, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_null(v.meta);
}
END_TEST

START_TEST(test_magic_version)
{
	make(0, 0);
	t_buf[0] = 'X';
	ck_assert_int_eq(parse(), -EINVAL);
	ck_assert_str_eq(err, "not a ukvm snapshot (bad magic)");
	make(0, 0);
	hdr()->version = 1; /* before the boot block moved the console buffer */
	reseal();
	ck_assert_int_eq(parse(), -EINVAL);
	ck_assert_str_eq(err, "snapshot format version 1, this ukvm reads version 4");
	make(0, 0);
	hdr()->version = 3; /* its guest's WAIT block is 64 bytes: a restore would write 24 past it */
	reseal();
	ck_assert_int_eq(parse(), -EINVAL);
	ck_assert_str_eq(err, "snapshot format version 3, this ukvm reads version 4");
	make(0, 0);
	hdr()->hdr_size = 128;
	reseal();
	ck_assert_int_eq(parse(), -EINVAL);
	make(0, 0);
	hdr()->flags = 1;
	reseal();
	ck_assert_int_eq(parse(), -EINVAL);
}
END_TEST

START_TEST(test_checksum)
{
	make(2, 2);
	meta()->tsc_khz ^= 1; /* one bit of the metadata */
	ck_assert_int_eq(parse(), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "bad checksum"));
	make(2, 2);
	hdr()->crc ^= 0x100;
	ck_assert_int_eq(parse(), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "bad checksum"));
	make(2, 2);
	extents()[1].npages++; /* the last byte range too */
	ck_assert_int_eq(parse(), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "bad checksum"));
}
END_TEST

START_TEST(test_mem_size)
{
	static const uint64_t bad[] = { 0, 4ull << 20, (8ull << 20) + 4096, 128ull << 30 };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		make(0, 0);
		hdr()->mem_size = bad[i];
		reseal();
		ck_assert_int_eq(parse(), -EINVAL);
		ck_assert_ptr_nonnull(strstr(err, "memory size"));
	}
}
END_TEST

START_TEST(test_offsets)
{
	make(1, 1);
	hdr()->mem_off += SNAP_PAGE; /* memory elsewhere than right after the metadata */
	reseal();
	ck_assert_int_eq(parse(), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "guest memory at offset"));
	make(1, 1);
	hdr()->meta_len = 1ull << 40; /* far beyond the file */
	reseal();
	struct snap_view v;
	ck_assert_int_eq(snap_parse(t_buf, t_len, 1ull << 30, &v, err, sizeof(err)), -EINVAL);
	make(1, 1);
	hdr()->meta_off = 0;
	reseal();
	ck_assert_int_eq(parse(), -EINVAL);
	/* Counts that disagree with the metadata's length. */
	make(1, 1);
	meta()->nmsrs = 2;
	reseal();
	ck_assert_int_eq(parse(), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "its counts say"));
}
END_TEST

START_TEST(test_limits)
{
	make(0, 0);
	meta()->ndevs = UKVM_MMIO_MAX_DEVS + 1;
	reseal();
	ck_assert_int_eq(parse(), -EINVAL);
	ck_assert_str_eq(err, "33 devices: at most 32");
	make(0, 0);
	meta()->pv = 2;
	reseal();
	ck_assert_int_eq(parse(), -EINVAL);
	make(0, 0);
	meta()->tsc_khz = 0;
	reseal();
	ck_assert_int_eq(parse(), -EINVAL);
	make(0, 0);
	meta()->vcpu_flags = 4;
	reseal();
	ck_assert_int_eq(parse(), -EINVAL);
	make(0, 0);
	meta()->nmsrs = SNAP_MAX_MSRS + 1;
	reseal();
	ck_assert_int_eq(parse(), -EINVAL);
}
END_TEST

START_TEST(test_unknown_device)
{
	make(0, 0);
	meta()->devs[0].kind = 3;
	reseal();
	ck_assert_int_eq(parse(), -EINVAL);
	ck_assert_str_eq(err, "device 0 is of unknown kind 3");
	make(0, 0);
	meta()->devs[0].kind = 0;
	reseal();
	ck_assert_int_eq(parse(), -EINVAL);
	/* Slots past ndevs are not devices: whatever they hold is ignored. */
	make(0, 0);
	meta()->devs[5].kind = 77;
	reseal();
	ck_assert_int_eq(parse(), 0);
}
END_TEST

/* A NIC's state: its MAC (unicast) and MTU (UKVM_NET_MTU_MIN..MAX) in size, no flags; anything else refused. */
START_TEST(test_nic_state)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 1, 2, 3 }, multicast[6] = { 0x01, 0, 0x5e, 0, 0, 1 };
	struct { const uint8_t *mac; unsigned mtu, flags; int want; } cases[] = {
		{ mac, 1500, 0, 0 }, { mac, UKVM_NET_MTU_MIN, 0, 0 }, { mac, UKVM_NET_MTU_MAX, 0, 0 },
		{ mac, UKVM_NET_MTU_MIN - 1, 0, -EINVAL }, { mac, UKVM_NET_MTU_MAX + 1, 0, -EINVAL }, { mac, 0, 0, -EINVAL },
		{ multicast, 1500, 0, -EINVAL }, { mac, 1500, 1, -EINVAL },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make(0, 0);
		meta()->devs[0] = (struct dev_state){ .kind = DEV_KIND_NET, .flags = cases[i].flags,
						      .size = DEV_NET_SIZE(cases[i].mac, cases[i].mtu) };
		reseal();
		ck_assert_msg(parse() == cases[i].want, "case %u: %d (%s)", i, parse(), err);
		if (cases[i].want)
			ck_assert_ptr_nonnull(strstr(err, "NIC 0: bad MAC, MTU"));
	}
	uint64_t s = DEV_NET_SIZE(mac, 9000);
	for (unsigned i = 0; i < 6; i++)
		ck_assert_uint_eq(DEV_NET_MAC_BYTE(s, i), mac[i]);
	ck_assert_uint_eq(DEV_NET_MTU(s), 9000);
}
END_TEST

START_TEST(test_wait_block)
{
	/* The whole block must be in RAM, the console fields (version 4) included. */
	static const uint64_t bad[] = { 0, 0x10004, T_MEM, T_MEM - 8, T_MEM - sizeof(struct ukvm_wait) + 8, UINT64_MAX - 7 };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		make(0, 0);
		meta()->wait_gpa = bad[i];
		reseal();
		ck_assert_int_eq(parse(), -EINVAL);
		ck_assert_ptr_nonnull(strstr(err, "WAIT block"));
	}
	make(0, 0);
	meta()->wait_gpa = T_MEM - sizeof(struct ukvm_wait);
	reseal();
	ck_assert_int_eq(parse(), 0);
}
END_TEST

/* Taken running (ukvm_snapshot): no WAIT block, and one named anyway is refused. */
START_TEST(test_running)
{
	make(0, 0);
	meta()->vcpu_flags |= SNAP_VCPU_RUNNING;
	meta()->wait_gpa = 0;
	reseal();
	ck_assert_int_eq(parse(), 0);
	meta()->wait_gpa = 0x10000;
	reseal();
	ck_assert_int_eq(parse(), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "taken running"));
	meta()->wait_gpa = 0;
	meta()->conbuf_sent = UKVM_CONBUF_SIZE + 1;
	reseal();
	ck_assert_int_eq(parse(), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "console buffer position"));
	meta()->conbuf_sent = UKVM_CONBUF_SIZE;
	reseal();
	ck_assert_int_eq(parse(), 0);
	make(0, 0);
	meta()->vcpu_flags |= SNAP_VCPU_LAPIC;
	reseal();
	ck_assert_int_eq(parse(), 0);
	meta()->vcpu_flags |= 16;
	reseal();
	ck_assert_int_eq(parse(), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "unknown vCPU flags"));
}
END_TEST

START_TEST(test_extents_bad)
{
	/* unaligned, empty, overlapping, unsorted, past the end, wrapping */
	static const struct snap_extent bad[][2] = {
		{ { 0, 1 }, { SNAP_PAGE + 1, 1 } },
		{ { 0, 1 }, { SNAP_PAGE, 0 } },
		{ { 0, 2 }, { SNAP_PAGE, 1 } },
		{ { 4 * SNAP_PAGE, 1 }, { 0, 1 } },
		{ { 0, 1 }, { T_MEM - SNAP_PAGE, 2 } },
		{ { 0, 1 }, { T_MEM + SNAP_PAGE, 1 } },
		{ { 0, 1 }, { SNAP_PAGE, UINT64_MAX } },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		make(0, 2);
		memcpy(extents(), bad[i], sizeof(bad[i]));
		reseal();
		ck_assert_msg(parse() == -EINVAL, "case %u accepted", i);
		ck_assert_ptr_nonnull(strstr(err, "page extent 1"));
	}
	make(0, 2);
	extents()[0] = (struct snap_extent){ 0, 1 };
	extents()[1] = (struct snap_extent){ SNAP_PAGE, T_MEM / SNAP_PAGE - 1 }; /* adjacent, up to the end */
	reseal();
	ck_assert_int_eq(parse(), 0);
}
END_TEST

/* MSR entries are {index, 0, data}, each index once, never the PV state MSR (carried in pv_state). */
START_TEST(test_msr_entries)
{
	make(3, 1);
	msrs()[1].reserved = 1;
	reseal();
	ck_assert_int_eq(parse(), -EINVAL);
	ck_assert_str_eq(err, "MSR 1 (index 0xc0000081): reserved field 0x1, must be 0");
	make(3, 1);
	msrs()[2].reserved = 0x80000000u;
	reseal();
	ck_assert_int_eq(parse(), -EINVAL);
	ck_assert_str_eq(err, "MSR 2 (index 0xc0000082): reserved field 0x80000000, must be 0");
	make(3, 1);
	msrs()[2].index = 0x4b564d10;
	reseal();
	ck_assert_int_eq(parse(), -EINVAL);
	ck_assert_str_eq(err, "MSR 2 (index 0x4b564d10): the PV state MSR, which a snapshot carries in pv_state");
	make(3, 1);
	msrs()[2].index = msrs()[0].index;
	reseal();
	ck_assert_int_eq(parse(), -EINVAL);
	ck_assert_str_eq(err, "MSR 2 (index 0xc0000080): listed twice");
	/* Any order, as KVM lists them; data is the guest's, never judged. */
	make(3, 1);
	msrs()[0].index = 0xc0000102;
	msrs()[1].index = 0x10;
	msrs()[2].data = UINT64_MAX;
	reseal();
	ck_assert_int_eq(parse(), 0);
}
END_TEST

/* A disk's state has one flag (read-only); an unknown one is refused, not ignored. */
START_TEST(test_disk_flags)
{
	make(0, 0);
	meta()->devs[0].flags = DEV_STATE_RO;
	reseal();
	ck_assert_int_eq(parse(), 0);
	static const uint32_t bad[] = { 2, DEV_STATE_RO | 4, 0x80000000u };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		make(0, 0);
		meta()->ndevs = 2;
		meta()->devs[1] = (struct dev_state){ .kind = DEV_KIND_BLK, .flags = bad[i], .size = 1 << 20 };
		reseal();
		ck_assert_int_eq(parse(), -EINVAL);
		char want[64];
		snprintf(want, sizeof(want), "disk 1: unknown flags 0x%x", bad[i] & ~DEV_STATE_RO);
		ck_assert_str_eq(err, want);
	}
}
END_TEST

/* At restore every MSR must be one this host's KVM lists: the set a snapshot taken here would carry. */
START_TEST(test_msrs_host)
{
	static const uint32_t host[] = { 0x10, 0x1b, 0xc0000080, 0xc0000081, 0xc0000082, 0xc0000102 };
	make(3, 0);
	struct snap_view v;
	ck_assert_int_eq(snap_parse(t_buf, t_len, fsize(), &v, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_check_msrs(&v, host, 6, err, sizeof(err)), 0);
	/* The host lacks one: refused, naming it. */
	static const uint32_t fewer[] = { 0x10, 0x1b, 0xc0000080, 0xc0000082, 0xc0000102 };
	ck_assert_int_eq(snap_check_msrs(&v, fewer, 5, err, sizeof(err)), -ENOTSUP);
	ck_assert_str_eq(err, "MSR 0xc0000081 is not one this host's KVM saves (taken on another host)");
	ck_assert_int_eq(snap_check_msrs(&v, host, 0, err, sizeof(err)), -ENOTSUP);
	ck_assert_str_eq(err, "MSR 0xc0000080 is not one this host's KVM saves (taken on another host)");
	/* Past either end of the host's list. */
	make(1, 0);
	msrs()[0].index = 0x1;
	reseal();
	ck_assert_int_eq(snap_parse(t_buf, t_len, fsize(), &v, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_check_msrs(&v, host, 6, err, sizeof(err)), -ENOTSUP);
	msrs()[0].index = 0xc0000103;
	ck_assert_int_eq(snap_check_msrs(&v, host, 6, err, sizeof(err)), -ENOTSUP);
	msrs()[0].index = 0xc0000102;
	ck_assert_int_eq(snap_check_msrs(&v, host, 6, err, sizeof(err)), 0);
	/* No MSRs: nothing to refuse. */
	make(0, 0);
	ck_assert_int_eq(snap_parse(t_buf, t_len, fsize(), &v, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_check_msrs(&v, host, 0, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_extents_from_mincore)
{
	unsigned char vec[16] = { 1, 1, 0, 0, 1, 0, 0x81, 1, 1, 0, 0, 0, 0, 0, 0, 1 };
	struct snap_extent e[8];
	ck_assert_int_eq(snap_extents(vec, 16, e, 8), 4);
	ck_assert_uint_eq(e[0].gpa, 0);
	ck_assert_uint_eq(e[0].npages, 2);
	ck_assert_uint_eq(e[1].gpa, 4 * SNAP_PAGE);
	ck_assert_uint_eq(e[1].npages, 1);
	ck_assert_uint_eq(e[2].gpa, 6 * SNAP_PAGE); /* only bit 0 says resident */
	ck_assert_uint_eq(e[2].npages, 3);
	ck_assert_uint_eq(e[3].gpa, 15 * SNAP_PAGE);
	ck_assert_uint_eq(e[3].npages, 1);
	ck_assert_int_eq(snap_extents(vec, 16, e, 3), -E2BIG);
	unsigned char none[4] = { 0 };
	ck_assert_int_eq(snap_extents(none, 4, e, 8), 0);
	unsigned char all[4] = { 1, 1, 1, 1 };
	ck_assert_int_eq(snap_extents(all, 4, e, 1), 1);
	ck_assert_uint_eq(e[0].npages, 4);
}
END_TEST

START_TEST(test_host_check)
{
	make(0, 0);
	struct snap_meta *m = meta();
	uint32_t host[SNAP_CPU_WORDS] = { 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff };
	m->cpu[SNAP_CPU_7_EBX] = 1u << 5; /* AVX2 */
	ck_assert_int_eq(snap_check_host(m, host, 7, 2600000, err, sizeof(err)), 0);
	host[SNAP_CPU_7_EBX] = 0;
	ck_assert_int_eq(snap_check_host(m, host, 7, 2600000, err, sizeof(err)), -ENOTSUP);
	ck_assert_str_eq(err, "taken on a CPU with features this host lacks (CPUID 7.ebx bits 0x20)");
	host[SNAP_CPU_7_EBX] = 0xffffffff;
	m->vcpu_flags = SNAP_VCPU_XCRS;
	m->xcrs.nr_xcrs = 1;
	m->xcrs.xcrs[0] = (struct kvm_xcr){ .xcr = 0, .value = 0xe7 }; /* AVX-512 state */
	ck_assert_int_eq(snap_check_host(m, host, 7, 2600000, err, sizeof(err)), -ENOTSUP);
	ck_assert_ptr_nonnull(strstr(err, "XCR0 bits 0xe0"));
	ck_assert_int_eq(snap_check_host(m, host, 0xff, 2600000, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_check_host(m, host, 0xff, 2000000, err, sizeof(err)), -ENOTSUP);
	ck_assert_ptr_nonnull(strstr(err, "kHz"));
	ck_assert_int_eq(snap_check_host(m, host, 0xff, 2600001, err, sizeof(err)), 0); /* a measured rate's jitter */
}
END_TEST

Suite *snap_suite(void)
{
	Suite *s = suite_create("snap");
	TCase *c = tcase_create("core");
	tcase_add_checked_fixture(c, NULL, teardown);
	tcase_add_test(c, test_crc32c);
	tcase_add_test(c, test_valid);
	tcase_add_test(c, test_extents_from_mincore);
	tcase_add_test(c, test_host_check);
	tcase_add_test(c, test_msrs_host);
	suite_add_tcase(s, c);
	TCase *h = tcase_create("hostile");
	tcase_add_checked_fixture(h, NULL, teardown);
	tcase_add_test(h, test_truncated);
	tcase_add_test(h, test_magic_version);
	tcase_add_test(h, test_checksum);
	tcase_add_test(h, test_mem_size);
	tcase_add_test(h, test_offsets);
	tcase_add_test(h, test_limits);
	tcase_add_test(h, test_unknown_device);
	tcase_add_test(h, test_wait_block);
	tcase_add_test(h, test_running);
	tcase_add_test(h, test_nic_state);
	tcase_add_test(h, test_extents_bad);
	tcase_add_test(h, test_msr_entries);
	tcase_add_test(h, test_disk_flags);
	suite_add_tcase(s, h);
	return s;
}
