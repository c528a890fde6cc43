/* boot.c: the kernel's C entry: kernel TLS, FDT parsing, clock, memory, then the app. */
#include <libfdt.h>

#include "arch.h"
#include "boot.h"
#include "k.h"
#include "vdev.h"

struct k_boot_info k_boot_info;
uint64_t k_pv_vif;
struct payload_view k_boot_payload;

/*
 * Kernel TLS until the app installs its own: Debian's libfdt is built with
 * -fstack-protector and reads its canary at %fs:0x28; offset 0 points to
 * the block itself as the x86-64 TLS ABI wants.
 */
static uint64_t k_tls[8] __attribute__((aligned(64)));

void k_boot(uint64_t fdt_gpa) __attribute__((noreturn));

static uint64_t boot_be64(const void *p)
{
	const uint8_t *b = p;
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	return v;
}

static uint32_t boot_be32(const void *p)
{
	const uint8_t *b = p;
	return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

/* RAM size from /memory@0 reg = <0 size> (2 address cells, 2 size cells). */
static uint64_t boot_mem_size(const void *fdt)
{
	int node = fdt_path_offset(fdt, "/memory@0");
	if (node < 0)
		node = fdt_path_offset(fdt, "/memory");
	if (node < 0)
		return 0;
	int len;
	const uint8_t *reg = fdt_getprop(fdt, node, "reg", &len);
	if (!reg || len < 16 || boot_be64(reg) != 0)
		return 0;
	return boot_be64(reg + 8);
}

static void boot_chosen(const void *fdt, struct k_boot_info *bi, uint64_t *boot_ns)
{
	int node = fdt_path_offset(fdt, "/chosen");
	int len;
	const uint8_t *p;

	if (node < 0)
		return;
	bi->trace = fdt_getprop(fdt, node, "ukvm,trace-boot", NULL) != NULL;
	bi->argv = fdt_getprop(fdt, node, "ukvm,argv", &bi->argv_len);
	if (bi->argv && (bi->argv_len <= 0 || bi->argv[bi->argv_len - 1] != 0))
		bi->argv = NULL; /* a stringlist ends with NUL */
	bi->env = fdt_getprop(fdt, node, "ukvm,env", &bi->env_len);
	if (bi->env && (bi->env_len <= 0 || bi->env[bi->env_len - 1] != 0))
		bi->env = NULL;
	p = fdt_getprop(fdt, node, "ukvm,tsc-khz", &len);
	if (p && len == 4)
		bi->tsc_khz = boot_be32(p);
	p = fdt_getprop(fdt, node, "ukvm,boot-time-ns", &len);
	if (p && len == 8)
		*boot_ns = boot_be64(p);
	bi->rng_seed = fdt_getprop(fdt, node, "rng-seed", &bi->rng_seed_len);
	if (!bi->rng_seed || bi->rng_seed_len <= 0) {
		bi->rng_seed = NULL;
		bi->rng_seed_len = 0;
	}
	bi->cpuid = fdt_getprop(fdt, node, "ukvm,cpuid", &bi->cpuid_len);
	if (!bi->cpuid || bi->cpuid_len <= 0 || bi->cpuid_len % 24) {
		bi->cpuid = NULL;
		bi->cpuid_len = 0;
	}
	p = fdt_getprop(fdt, node, "ukvm,payload", &len);
	if (p && len == 16) {
		bi->payload_gpa = boot_be64(p);
		bi->payload_size = boot_be64(p + 8);
	}
}

void k_cpuid_query(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	const struct k_boot_info *bi = &k_boot_info;
	for (int off = 0; off + 24 <= bi->cpuid_len; off += 24) {
		const uint8_t *e = bi->cpuid + off;
		if (boot_be32(e) != leaf || boot_be32(e + 4) != sub)
			continue;
		for (int i = 0; i < 4; i++)
			r[i] = boot_be32(e + 8 + 4 * i);
		return;
	}
	k_cpuid(leaf, sub, r);
}

void k_boot(uint64_t fdt_gpa)
{
	struct k_boot_info *bi = &k_boot_info;
	uint64_t boot_ns = 0;

	k_tls[0] = (uint64_t)(uintptr_t)k_tls;
	k_tls[5] = k_rdtsc() * 0x9e3779b97f4a7c15ull; /* %fs:0x28: any unpredictable-enough value */
	k_wrfsbase((uint64_t)(uintptr_t)k_tls);

	const void *fdt = (const void *)(uintptr_t)fdt_gpa; /* identity-mapped */
	if (fdt_gpa < UKVM_FDT_GPA || fdt_gpa >= UKVM_KERNEL_PHYS || fdt_check_header(fdt) != 0 ||
	    fdt_totalsize(fdt) > UKVM_FDT_MAX)
		k_panic("bad FDT at 0x%lx", (unsigned long)fdt_gpa);
	bi->fdt = fdt;
	/* The mode first: the fault and CPUID paths depend on it. The VIF is in the boot area. */
	int chosen = fdt_path_offset(fdt, "/chosen");
	int pvlen;
	const uint8_t *pv = chosen >= 0 ? fdt_getprop(fdt, chosen, "ukvm,pv", &pvlen) : NULL;
	if (pv && pvlen == 8 && boot_be64(pv) && boot_be64(pv) + 16 <= UKVM_FDT_GPA)
		k_pv_vif = UKVM_KERNEL_VBASE + boot_be64(pv);
	else if (pv)
		k_panic("bad /chosen/ukvm,pv");
	boot_chosen(fdt, bi, &boot_ns);
	k_hypercall_mark_enable(bi->trace);
	k_hypercall_mark(UKVM_MARK_KERNEL_ENTRY);
	k_clock_init(bi->tsc_khz, boot_ns);
	k_random_init(bi->rng_seed, (size_t)bi->rng_seed_len);

	bi->mem_size = boot_mem_size(fdt);
	if (bi->mem_size < UKVM_MEM_MIN || bi->mem_size > UKVM_MEM_MAX)
		k_panic("bad memory size %lu in the FDT", (unsigned long)bi->mem_size);
	int rc = k_mem_init(fdt, bi->mem_size);
	if (rc)
		k_panic("memory init failed (%d)", rc);

	if (bi->payload_size) {
		if (bi->payload_gpa < UKVM_KERNEL_PHYS || bi->payload_gpa >= bi->mem_size ||
		    bi->payload_size > bi->mem_size - bi->payload_gpa)
			k_panic("payload [0x%lx, +0x%lx) outside RAM", (unsigned long)bi->payload_gpa,
				(unsigned long)bi->payload_size);
		if (payload_parse((const void *)(uintptr_t)bi->payload_gpa, bi->payload_size, &k_boot_payload))
			k_panic("malformed payload header");
	}
	/* Drivers before the app: fs_init (in k_load_app) creates /dev/vdX for the disks found here. */
	vd_probe_all(fdt);
	k_hypercall_mark(UKVM_MARK_KERNEL_READY);
	rc = k_load_app();
	k_panic("cannot start the app (%d)", rc);
}
