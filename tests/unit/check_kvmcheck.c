/* check_kvmcheck.c: unit suite "kvmcheck" (vmm/kvmcheck.c, vmm/host.c): the /etc/group lookup, the host's CPUID/MSR checks, open errors, references. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"
#include "kvmcheck.h"

static char path[64];

static void group_file(const char *text)
{
	strcpy(path, "/tmp/check_kvmcheck.XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
	close(fd);
}

static void teardown(void)
{
	if (path[0])
		unlink(path);
	path[0] = 0;
}

START_TEST(test_lookup)
{
	group_file("root:x:0:\nkvm:x:104:alice,bob\nlongname-group:x:1000:\n");
	char n[32];
	ck_assert_int_eq(kvmcheck_group_name(path, 104, n, sizeof(n)), 0);
	ck_assert_str_eq(n, "kvm");
	ck_assert_int_eq(kvmcheck_group_name(path, 0, n, sizeof(n)), 0);
	ck_assert_str_eq(n, "root");
	ck_assert_int_eq(kvmcheck_group_name(path, 1000, n, sizeof(n)), 0);
	ck_assert_str_eq(n, "longname-group");
	ck_assert_int_eq(kvmcheck_group_name(path, 105, n, sizeof(n)), -ENOENT);
	ck_assert_int_eq(kvmcheck_group_name("/nonexistent/group", 104, n, sizeof(n)), -ENOENT);
}
END_TEST

START_TEST(test_limits)
{
	/* Names are truncated to the buffer; an over-long member list does not confuse the parser. */
	static char text[8192];
	strcpy(text, "averyveryverylonggroupname:x:7:");
	for (int i = 0; i < 600; i++)
		strcat(text, "u1234,");
	strcat(text, "\nkvm:x:9:\n");
	group_file(text);
	char n[8];
	ck_assert_int_eq(kvmcheck_group_name(path, 7, n, sizeof(n)), 0);
	ck_assert_str_eq(n, "averyve");
	ck_assert_int_eq(kvmcheck_group_name(path, 9, n, sizeof(n)), 0);
	ck_assert_str_eq(n, "kvm");
}
END_TEST

START_TEST(test_hostile)
{
	/* Malformed lines never match: missing fields, empty name, non-numeric or trailing-junk gid. */
	group_file("nogid\n:x:5:\nbad:x:5x:\nneg:x:-5:\nempty:x::\nwrap:x:4294967301:\nok:x:5:\n");
	char n[16];
	ck_assert_int_eq(kvmcheck_group_name(path, 5, n, sizeof(n)), 0);
	ck_assert_str_eq(n, "ok");
	ck_assert_int_eq(kvmcheck_group_name(path, 0, n, sizeof(n)), -ENOENT);
}
END_TEST

/* A supported-CPUID table with the leaves ukvm needs: 0, 1 (PSE, SSE), 7, 0x80000001 (LM, NX). */
static struct {
	struct kvm_cpuid2 h;
	struct kvm_cpuid_entry2 e[8];
} cpuid;

static void cpuid_good(void)
{
	memset(&cpuid, 0, sizeof(cpuid));
	cpuid.e[0] = (struct kvm_cpuid_entry2){ .function = 0x80000001, .edx = (1u << 29) | (1u << 20) };
	cpuid.e[1] = (struct kvm_cpuid_entry2){ .function = 7, .index = 1, .ebx = 0xdead };
	cpuid.e[2] = (struct kvm_cpuid_entry2){ .function = 7, .index = 0, .ebx = 0x7b };
	cpuid.e[3] = (struct kvm_cpuid_entry2){ .function = 1, .eax = 0x806c1, .edx = (1u << 3) | (1u << 25) };
	cpuid.e[4] = (struct kvm_cpuid_entry2){ .function = 0, .eax = 0x1b, .ebx = 0x756e6547 };
	cpuid.h.nent = 5;
}

static struct {
	struct kvm_msr_list h;
	uint32_t idx[8];
} msrs;

START_TEST(test_host_checks)
{
	char err[128] = "";
	cpuid_good();
	ck_assert_int_eq(host_cpuid_check(&cpuid.h, err, sizeof(err)), 0);
	uint32_t leaves[HOST_BOOT_LEAVES][6];
	/* In the order 0, 1, 7.0 whatever the table's order; 7.1 is not taken for 7.0. */
	ck_assert_uint_eq(host_boot_leaves(&cpuid.h, leaves), 3);
	ck_assert_uint_eq(leaves[0][0], 0);
	ck_assert_uint_eq(leaves[0][2], 0x1b);
	ck_assert_uint_eq(leaves[0][3], 0x756e6547);
	ck_assert_uint_eq(leaves[1][0], 1);
	ck_assert_uint_eq(leaves[1][2], 0x806c1);
	ck_assert_uint_eq(leaves[2][0], 7);
	ck_assert_uint_eq(leaves[2][1], 0);
	ck_assert_uint_eq(leaves[2][3], 0x7b);

	msrs.h.nmsrs = 4;
	msrs.idx[0] = 0x10, msrs.idx[1] = 0xc0000084, msrs.idx[2] = 0xc0000081, msrs.idx[3] = 0xc0000082;
	ck_assert_int_eq(host_msrs_check(&msrs.h, err, sizeof(err)), 0);
}
END_TEST

/* Each feature the entry state needs, removed in turn, is named; a missing leaf is a missing feature. */
START_TEST(test_host_cpuid_missing)
{
	static const struct {
		unsigned ent;
		uint32_t bit;
		const char *name;
	} cases[] = {
		{ 3, 1u << 3, "PSE" }, { 3, 1u << 25, "SSE" }, { 0, 1u << 29, "long mode" }, { 0, 1u << 20, "NX" },
	};
	char err[128];
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cpuid_good();
		cpuid.e[cases[i].ent].edx &= ~cases[i].bit;
		err[0] = 0;
		ck_assert_int_eq(host_cpuid_check(&cpuid.h, err, sizeof(err)), -ENOTSUP);
		ck_assert_msg(strstr(err, cases[i].name), "case %u: %s", i, err);
	}
	cpuid_good();
	cpuid.h.nent = 0;
	ck_assert_int_eq(host_cpuid_check(&cpuid.h, err, sizeof(err)), -ENOTSUP);
	uint32_t leaves[HOST_BOOT_LEAVES][6];
	ck_assert_uint_eq(host_boot_leaves(&cpuid.h, leaves), 0);
	cpuid_good();
	cpuid.e[0].function = 0x80000002; /* no 0x80000001 leaf at all */
	ck_assert_int_eq(host_cpuid_check(&cpuid.h, err, sizeof(err)), -ENOTSUP);
	ck_assert_ptr_nonnull(strstr(err, "long mode"));
}
END_TEST

START_TEST(test_host_msrs_missing)
{
	char err[128];
	msrs.h.nmsrs = 2;
	msrs.idx[0] = 0xc0000081, msrs.idx[1] = 0xc0000082;
	/* FMASK is only in the array past nmsrs: KVM's count is what counts. */
	msrs.idx[2] = 0xc0000084;
	ck_assert_int_eq(host_msrs_check(&msrs.h, err, sizeof(err)), -ENOTSUP);
	ck_assert_str_eq(err, "/dev/kvm: MSR 0xc0000084 not supported");
	msrs.h.nmsrs = 0;
	ck_assert_int_eq(host_msrs_check(&msrs.h, err, sizeof(err)), -ENOTSUP);
	ck_assert_str_eq(err, "/dev/kvm: MSR 0xc0000081 not supported");
}
END_TEST

/* Open errors come back as -errno with the device's name (ukvm_host_open makes them UKVM_ERR_KVM), and leave nothing behind. */
START_TEST(test_host_open_errors)
{
	struct ukvm_host *h = (struct ukvm_host *)&h;
	char err[256] = "";
	ck_assert_int_eq(host_open_dev("/nonexistent/kvm", &h, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_null(h);
	ck_assert_msg(strstr(err, "/nonexistent/kvm: not found"), "%s", err);
	/* Not KVM: KVM_GET_API_VERSION fails (ENOTTY) and the fd is closed again. */
	int probe = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(probe, 0);
	close(probe);
	ck_assert_int_eq(host_open_dev("/dev/null", &h, err, sizeof(err)), -ENOTSUP);
	ck_assert_ptr_null(h);
	ck_assert_msg(strstr(err, "/dev/null: KVM API version -1"), "%s", err);
	int next = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_eq(next, probe); /* the lowest free fd again: nothing leaked */
	close(next);
	ukvm_host_close(NULL); /* harmless, like ukvm_destroy(NULL) */
}
END_TEST

/* The last reference frees, whoever holds it: the opener (ukvm_host_close) or a VM (host_unref). */
START_TEST(test_host_refs)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	close(p[1]);
	struct ukvm_host *h = calloc(1, sizeof(*h));
	ck_assert_ptr_nonnull(h);
	atomic_init(&h->refs, 1);
	h->kvm_fd = p[0];
	h->cpuid = calloc(1, sizeof(struct kvm_cpuid2));
	ck_assert_ptr_eq(host_ref(h), h);
	ck_assert_ptr_eq(host_ref(h), h);
	ukvm_host_close(h); /* the opener goes first: two VMs still hold it */
	ck_assert_uint_eq(atomic_load(&h->refs), 2);
	ck_assert_int_ge(fcntl(p[0], F_GETFD), 0);
	host_unref(h);
	ck_assert_int_ge(fcntl(p[0], F_GETFD), 0);
	host_unref(h); /* the last VM: fd closed, memory freed (ASan: no leak, no double free) */
	ck_assert_int_eq(fcntl(p[0], F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

Suite *kvmcheck_suite(void)
{
	Suite *s = suite_create("kvmcheck");
	TCase *c = tcase_create("core"), *l = tcase_create("limits"), *h = tcase_create("hostile");
	tcase_add_checked_fixture(c, NULL, teardown);
	tcase_add_checked_fixture(l, NULL, teardown);
	tcase_add_checked_fixture(h, NULL, teardown);
	tcase_add_test(c, test_lookup);
	tcase_add_test(c, test_host_checks);
	tcase_add_test(c, test_host_refs);
	tcase_add_test(l, test_limits);
	tcase_add_test(l, test_host_open_errors);
	tcase_add_test(h, test_hostile);
	tcase_add_test(h, test_host_cpuid_missing);
	tcase_add_test(h, test_host_msrs_missing);
	suite_add_tcase(s, c);
	suite_add_tcase(s, l);
	suite_add_tcase(s, h);
	return s;
}
