/* check_fdtbuild.c: builds the boot-info FDT, parses it back with libfdt and compares every field. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdtbuild.h"
#include "ukvm.h"
#include "ukvm_abi.h"

static _Alignas(8) uint8_t fdt[UKVM_FDT_MAX];

static const uint32_t sample_cpuid[2][6] = { { 0, 0, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69 },
					       { 1, 0, 0x306a9, 0x800, 0x7fbae3ff, 0xbfebfbff } };

static struct fdtb_args sample(const struct fdtb_range *res, unsigned nres)
{
	static const char *const argv[] = { "one", "two words", "", NULL };
	static const char *const env[] = { "A=1", "HOME=/x", NULL };
	struct fdtb_args a = { .mem_size = 64ull << 20, .argv0 = "app.img", .argv = argv, .env = env,
			       .tsc_khz = 2600123, .payload_gpa = 0x200000, .payload_size = 0x1234,
			       .trace_boot = true, .pv_vif = UKVM_VIF_GPA, .reserve = res, .nreserve = nres,
			       .cpuid = sample_cpuid, .ncpuid = 2 };
	for (int i = 0; i < 32; i++)
		a.rng_seed[i] = (uint8_t)(i * 7 + 1);
	return a;
}

/* FDT properties are only 4-byte aligned: read 64-bit cells with memcpy. */
static uint64_t u64at(const void *p, int i)
{
	fdt64_t v;
	memcpy(&v, (const uint8_t *)p + 8 * i, 8);
	return fdt64_to_cpu(v);
}

static const void *prop(const char *path, const char *name, int *len)
{
	int off = fdt_path_offset(fdt, path);
	ck_assert_int_ge(off, 0);
	return fdt_getprop(fdt, off, name, len);
}

START_TEST(test_too_many_cpuid_leaves)
{
	struct fdtb_args a = sample(NULL, 0);
	a.ncpuid = FDTB_MAX_CPUID + 1;
	ck_assert_int_lt(fdtb_build(fdt, sizeof(fdt), &a), 0);
}
END_TEST

START_TEST(test_roundtrip)
{
	struct fdtb_range res[2] = { { 0, UKVM_KERNEL_PHYS }, { 0x100000, 0x3000 } };
	struct fdtb_args a = sample(res, 2);
	int len;
	ck_assert_int_eq(fdtb_build(fdt, sizeof(fdt), &a), 0);
	ck_assert_int_eq(fdt_check_header(fdt), 0);
	ck_assert_uint_eq(fdt_version(fdt), 17);

	ck_assert_int_eq(fdt_num_mem_rsv(fdt), 2);
	uint64_t addr, size;
	ck_assert_int_eq(fdt_get_mem_rsv(fdt, 1, &addr, &size), 0);
	ck_assert_uint_eq(addr, 0x100000);
	ck_assert_uint_eq(size, 0x3000);

	const fdt32_t *cells = prop("/", "#address-cells", &len);
	ck_assert_int_eq(len, 4);
	ck_assert_uint_eq(fdt32_to_cpu(*cells), 2);
	ck_assert_str_eq(prop("/", "compatible", &len), "ukvm");
	ck_assert_str_eq(prop("/memory@0", "device_type", &len), "memory");
	const fdt64_t *reg = prop("/memory@0", "reg", &len);
	ck_assert_int_eq(len, 16);
	ck_assert_uint_eq(u64at(reg, 0), 0);
	ck_assert_uint_eq(u64at(reg, 1), 64ull << 20);

	int off = fdt_path_offset(fdt, "/chosen");
	ck_assert_int_eq(fdt_stringlist_count(fdt, off, "ukvm,argv"), 4);
	ck_assert_str_eq(fdt_stringlist_get(fdt, off, "ukvm,argv", 0, NULL), "app.img");
	ck_assert_str_eq(fdt_stringlist_get(fdt, off, "ukvm,argv", 2, NULL), "two words");
	ck_assert_str_eq(fdt_stringlist_get(fdt, off, "ukvm,argv", 3, NULL), "");
	ck_assert_int_eq(fdt_stringlist_count(fdt, off, "ukvm,env"), 2);
	ck_assert_str_eq(fdt_stringlist_get(fdt, off, "ukvm,env", 1, NULL), "HOME=/x");
	const fdt32_t *khz = prop("/chosen", "ukvm,tsc-khz", &len);
	ck_assert_int_eq(len, 4);
	ck_assert_uint_eq(fdt32_to_cpu(*khz), 2600123);
	const uint8_t *seed = prop("/chosen", "rng-seed", &len);
	ck_assert_int_eq(len, 32);
	ck_assert_mem_eq(seed, a.rng_seed, 32);
	const fdt64_t *pay = prop("/chosen", "ukvm,payload", &len);
	ck_assert_int_eq(len, 16);
	ck_assert_uint_eq(u64at(pay, 0), 0x200000);
	ck_assert_uint_eq(u64at(pay, 1), 0x1234);
	ck_assert_ptr_nonnull(prop("/chosen", "ukvm,trace-boot", &len));
	ck_assert_int_eq(len, 0);
	const fdt64_t *pv = prop("/chosen", "ukvm,pv", &len);
	ck_assert_int_eq(len, 8);
	ck_assert_uint_eq(u64at(pv, 0), UKVM_VIF_GPA);
	const fdt32_t *cpuid = prop("/chosen", "ukvm,cpuid", &len);
	ck_assert_int_eq(len, 2 * 6 * 4);
	for (int i = 0; i < 12; i++)
		ck_assert_uint_eq(fdt32_to_cpu(cpuid[i]), sample_cpuid[i / 6][i % 6]);

	const fdt64_t *bt = prop("/chosen", "ukvm,boot-time-ns", &len);
	ck_assert_int_eq(len, 8);
	ck_assert_uint_eq(u64at(bt, 0), 0);
	ck_assert_int_eq(fdtb_set_boot_time(fdt, 1700000000123456789ull), 0);
	bt = prop("/chosen", "ukvm,boot-time-ns", &len);
	ck_assert_uint_eq(u64at(bt, 0), 1700000000123456789ull);
}
END_TEST

START_TEST(test_minimal)
{
	struct fdtb_args a = { .mem_size = UKVM_MEM_MIN, .argv0 = "k" };
	int len;
	ck_assert_int_eq(fdtb_build(fdt, sizeof(fdt), &a), 0);
	int off = fdt_path_offset(fdt, "/chosen");
	ck_assert_int_eq(fdt_stringlist_count(fdt, off, "ukvm,argv"), 1);
	ck_assert_ptr_null(fdt_getprop(fdt, off, "ukvm,trace-boot", &len));
	ck_assert_ptr_null(fdt_getprop(fdt, off, "ukvm,pv", &len)); /* base mode: no PV property */
	ck_assert_ptr_null(fdt_getprop(fdt, off, UKVM_FDT_ARGV0_SET, &len));
	ck_assert_ptr_null(fdt_getprop(fdt, off, UKVM_FDT_QUIET, &len));
	ck_assert_ptr_null(fdt_getprop(fdt, off, UKVM_FDT_STDIN_TTY, &len)); /* no terminals */
	ck_assert_ptr_null(fdt_getprop(fdt, off, UKVM_FDT_STDOUT_TTY, &len));
	ck_assert_ptr_null(fdt_getprop(fdt, off, UKVM_FDT_STDERR_TTY, &len));
	ck_assert_ptr_null(fdt_getprop(fdt, off, UKVM_FDT_CONBUF, &len)); /* no console buffer offered */
	ck_assert_ptr_null(fdt_getprop(fdt, off, UKVM_FDT_STACK_GUARD, &len)); /* no stack guard made */
	ck_assert_int_eq(fdt_num_mem_rsv(fdt), 0);
}
END_TEST

/* The console buffer's offer: <u64 gpa, u64 size>, what the guest's conout.c reads. */
START_TEST(test_conbuf)
{
	struct fdtb_args a = { .mem_size = UKVM_MEM_MIN, .argv0 = "k", .conbuf_gpa = UKVM_CONBUF_GPA,
			       .conbuf_size = UKVM_CONBUF_SIZE };
	int len;
	ck_assert_int_eq(fdtb_build(fdt, sizeof(fdt), &a), 0);
	const void *p = prop("/chosen", UKVM_FDT_CONBUF, &len);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(len, 16);
	ck_assert_uint_eq(u64at(p, 0), UKVM_CONBUF_GPA);
	ck_assert_uint_eq(u64at(p, 1), UKVM_CONBUF_SIZE);
}
END_TEST

/* The monitor's stack guard: one u64, the gpa of the unmapped 2 MiB page. */
START_TEST(test_stack_guard)
{
	struct fdtb_args a = { .mem_size = 128ull << 20, .argv0 = "k", .stack_guard = 116ull << 20 };
	int len;
	ck_assert_int_eq(fdtb_build(fdt, sizeof(fdt), &a), 0);
	const void *p = prop("/chosen", UKVM_FDT_STACK_GUARD, &len);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(len, 8);
	ck_assert_uint_eq(u64at(p, 0), 116ull << 20);
}
END_TEST

/* The console's properties: which streams are terminals (with their size), --quiet, a chosen argv[0]. */
START_TEST(test_console)
{
	struct fdtb_args a = { .mem_size = UKVM_MEM_MIN, .argv0 = "busybox", .argv0_set = true, .quiet = true };
	a.tty[1] = (struct fdtb_tty){ true, 33, 101 };
	a.tty[2] = (struct fdtb_tty){ true, 0, 0 };
	int len;
	ck_assert_int_eq(fdtb_build(fdt, sizeof(fdt), &a), 0);
	int off = fdt_path_offset(fdt, "/chosen");
	ck_assert_str_eq(fdt_stringlist_get(fdt, off, UKVM_FDT_ARGV, 0, NULL), "busybox");
	ck_assert_ptr_nonnull(fdt_getprop(fdt, off, UKVM_FDT_ARGV0_SET, &len));
	ck_assert_int_eq(len, 0);
	ck_assert_ptr_nonnull(fdt_getprop(fdt, off, UKVM_FDT_QUIET, &len));
	ck_assert_int_eq(len, 0);
	ck_assert_ptr_null(fdt_getprop(fdt, off, UKVM_FDT_STDIN_TTY, &len));
	const fdt32_t *ws = fdt_getprop(fdt, off, UKVM_FDT_STDOUT_TTY, &len);
	ck_assert_int_eq(len, 8);
	ck_assert_uint_eq(fdt32_to_cpu(ws[0]), 33);
	ck_assert_uint_eq(fdt32_to_cpu(ws[1]), 101);
	ws = fdt_getprop(fdt, off, UKVM_FDT_STDERR_TTY, &len);
	ck_assert_int_eq(len, 8);
	ck_assert_uint_eq(fdt32_to_cpu(ws[0]) | fdt32_to_cpu(ws[1]), 0); /* a terminal of unknown size */
	ck_assert_ptr_null(fdt_getprop(fdt, off, UKVM_FDT_CWD, &len)); /* no cwd: the guest starts in / */
}
END_TEST

/* OCI's process.cwd: a string property the guest chdirs to before main. */
START_TEST(test_cwd)
{
	struct fdtb_args a = { .mem_size = UKVM_MEM_MIN, .argv0 = "k", .cwd = "/srv/app data" };
	int len;
	ck_assert_int_eq(fdtb_build(fdt, sizeof(fdt), &a), 0);
	int off = fdt_path_offset(fdt, "/chosen");
	const char *cwd = fdt_getprop(fdt, off, UKVM_FDT_CWD, &len);
	ck_assert_ptr_nonnull(cwd);
	ck_assert_int_eq(len, (int)sizeof("/srv/app data"));
	ck_assert_str_eq(cwd, "/srv/app data");
}
END_TEST

START_TEST(test_devices)
{
	struct fdtb_args a = { .mem_size = UKVM_MEM_MIN, .argv0 = "k", .ndevs = 3 };
	for (unsigned i = 0; i < 3; i++)
		a.devs[i] = (struct fdtb_dev){ UKVM_MMIO_BASE + i * UKVM_MMIO_STRIDE, UKVM_MMIO_STRIDE,
					       UKVM_MMIO_IRQ_BASE + i };
	ck_assert_int_eq(fdtb_build(fdt, sizeof(fdt), &a), 0);
	/* The guest finds them by compatible, in order. */
	int off = -1;
	for (unsigned i = 0; i < 3; i++) {
		off = fdt_node_offset_by_compatible(fdt, off, "virtio,mmio");
		ck_assert_int_ge(off, 0);
		char name[40];
		snprintf(name, sizeof(name), "virtio_mmio@%llx",
			 (unsigned long long)(UKVM_MMIO_BASE + i * UKVM_MMIO_STRIDE));
		ck_assert_str_eq(fdt_get_name(fdt, off, NULL), name);
		int len;
		const void *reg = fdt_getprop(fdt, off, "reg", &len);
		ck_assert_int_eq(len, 16); /* 2 address cells + 2 size cells */
		ck_assert_uint_eq(u64at(reg, 0), UKVM_MMIO_BASE + i * UKVM_MMIO_STRIDE);
		ck_assert_uint_eq(u64at(reg, 1), 0x1000);
		const fdt32_t *irq = fdt_getprop(fdt, off, "interrupts", &len);
		ck_assert_int_eq(len, 4);
		ck_assert_uint_eq(fdt32_to_cpu(*irq), UKVM_MMIO_IRQ_BASE + i);
		ck_assert_int_eq(fdt_parent_offset(fdt, off), 0); /* children of the root */
	}
	ck_assert_int_lt(fdt_node_offset_by_compatible(fdt, off, "virtio,mmio"), 0);
	/* None without devices; too many is refused. */
	a.ndevs = 0;
	ck_assert_int_eq(fdtb_build(fdt, sizeof(fdt), &a), 0);
	ck_assert_int_lt(fdt_node_offset_by_compatible(fdt, -1, "virtio,mmio"), 0);
	a.ndevs = FDTB_MAX_DEVS + 1;
	ck_assert_int_eq(fdtb_build(fdt, sizeof(fdt), &a), -EINVAL);
	a.ndevs = FDTB_MAX_DEVS;
	ck_assert_int_eq(fdtb_build(fdt, sizeof(fdt), &a), 0);
}
END_TEST

/* A NIC's node carries its interface configuration; unset parts are absent; other devices get none of it. */
START_TEST(test_nics)
{
	struct ukvm_net full = { .kind = UKVM_NET_TAP, .mac = { 0x52, 0x54, 0, 1, 2, 3 }, .ipv4 = htonl(0x0a000002),
				 .prefix = 16, .gw = htonl(0x0a000001), .dns = { htonl(0x01010101), htonl(0x09090909) },
				 .mtu = 9000 };
	struct ukvm_net bare = { .kind = UKVM_NET_TAP, .mac = { 0x02, 9, 8, 7, 6, 5 } };
	struct fdtb_args a = { .mem_size = UKVM_MEM_MIN, .argv0 = "k", .ndevs = 3 };
	for (unsigned i = 0; i < 3; i++)
		a.devs[i] = (struct fdtb_dev){ UKVM_MMIO_BASE + i * UKVM_MMIO_STRIDE, UKVM_MMIO_STRIDE,
					       UKVM_MMIO_IRQ_BASE + i };
	a.nets[1] = &full; /* device 0 is a disk */
	a.nets[2] = &bare;
	ck_assert_int_eq(fdtb_build(fdt, sizeof(fdt), &a), 0);
	int off[3], len;
	const uint8_t *p;
	off[0] = fdt_node_offset_by_compatible(fdt, -1, UKVM_FDT_VIRTIO_MMIO);
	off[1] = fdt_node_offset_by_compatible(fdt, off[0], UKVM_FDT_VIRTIO_MMIO);
	off[2] = fdt_node_offset_by_compatible(fdt, off[1], UKVM_FDT_VIRTIO_MMIO);
	ck_assert(off[0] >= 0 && off[1] >= 0 && off[2] >= 0);
	const char *props[] = { UKVM_FDT_NET_MAC, UKVM_FDT_NET_IPV4, UKVM_FDT_NET_PREFIX, UKVM_FDT_NET_GW,
				UKVM_FDT_NET_DNS, UKVM_FDT_NET_MTU };
	for (unsigned k = 0; k < 6; k++)
		ck_assert_ptr_null(fdt_getprop(fdt, off[0], props[k], &len));
	p = fdt_getprop(fdt, off[1], UKVM_FDT_NET_MAC, &len);
	ck_assert_int_eq(len, 6);
	ck_assert_mem_eq(p, full.mac, 6);
	p = fdt_getprop(fdt, off[1], UKVM_FDT_NET_IPV4, &len);
	ck_assert_int_eq(len, 4);
	ck_assert_mem_eq(p, ((uint8_t[]){ 10, 0, 0, 2 }), 4); /* network order */
	p = fdt_getprop(fdt, off[1], UKVM_FDT_NET_PREFIX, &len);
	ck_assert_int_eq(len, 4);
	ck_assert_uint_eq(fdt32_ld((const fdt32_t *)p), 16);
	p = fdt_getprop(fdt, off[1], UKVM_FDT_NET_GW, &len);
	ck_assert_int_eq(len, 4);
	ck_assert_mem_eq(p, ((uint8_t[]){ 10, 0, 0, 1 }), 4);
	p = fdt_getprop(fdt, off[1], UKVM_FDT_NET_DNS, &len);
	ck_assert_int_eq(len, 8);
	ck_assert_mem_eq(p, ((uint8_t[]){ 1, 1, 1, 1, 9, 9, 9, 9 }), 8);
	p = fdt_getprop(fdt, off[1], UKVM_FDT_NET_MTU, &len);
	ck_assert_int_eq(len, 4);
	ck_assert_uint_eq(fdt32_ld((const fdt32_t *)p), 9000);
	p = fdt_getprop(fdt, off[2], UKVM_FDT_NET_MAC, &len);
	ck_assert_int_eq(len, 6);
	ck_assert_mem_eq(p, bare.mac, 6);
	for (unsigned k = 1; k < 6; k++)
		ck_assert_ptr_null(fdt_getprop(fdt, off[2], props[k], &len));
	/* Three DNS servers: all of them. */
	full.dns[2] = htonl(0x08080808);
	ck_assert_int_eq(fdtb_build(fdt, sizeof(fdt), &a), 0);
	off[1] = fdt_node_offset_by_compatible(fdt, fdt_node_offset_by_compatible(fdt, -1, UKVM_FDT_VIRTIO_MMIO),
					       UKVM_FDT_VIRTIO_MMIO);
	ck_assert_ptr_nonnull(fdt_getprop(fdt, off[1], UKVM_FDT_NET_DNS, &len));
	ck_assert_int_eq(len, 4 * UKVM_NET_MAX_DNS);
}
END_TEST

START_TEST(test_too_big)
{
	size_t n = 70000;
	char *big = malloc(n + 1);
	memset(big, 'x', n);
	big[n] = '\0';
	const char *argv[] = { big, NULL };
	struct fdtb_args a = { .mem_size = UKVM_MEM_MIN, .argv0 = "k", .argv = argv };
	ck_assert_int_eq(fdtb_build(fdt, sizeof(fdt), &a), -E2BIG);
	/* Many small ones that add up too. */
	const char **many = calloc(20001, sizeof(*many));
	for (int i = 0; i < 20000; i++)
		many[i] = "K=VVVV";
	a.argv = NULL;
	a.env = many;
	ck_assert_int_eq(fdtb_build(fdt, sizeof(fdt), &a), -E2BIG);
	ck_assert_int_eq(fdtb_build(fdt, 64, &(struct fdtb_args){ .mem_size = UKVM_MEM_MIN }), -E2BIG);
	free(many);
	free(big);
}
END_TEST

Suite *fdtbuild_suite(void)
{
	Suite *s = suite_create("fdtbuild");
	TCase *c = tcase_create("core"), *l = tcase_create("limits");
	tcase_add_test(c, test_roundtrip);
	tcase_add_test(c, test_minimal);
	tcase_add_test(c, test_console);
	tcase_add_test(c, test_conbuf);
	tcase_add_test(c, test_stack_guard);
	tcase_add_test(c, test_cwd);
	tcase_add_test(c, test_devices);
	tcase_add_test(c, test_nics);
	tcase_add_test(l, test_too_big);
	tcase_add_test(l, test_too_many_cpuid_leaves);
	suite_add_tcase(s, c);
	suite_add_tcase(s, l);
	return s;
}
