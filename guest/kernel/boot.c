/* boot.c: the kernel's C entry: reads the FDT, then brings the kernel up stage by stage and starts the app. */
#include <libfdt.h>

#include "arch.h"
#include "boot.h"
#include "conout.h"
#include "cpuid.h"
#include "exec.h"
#include "fs.h"
#include "k.h"
#include "sig.h"
#include "net.h"
#include "pages.h"
#include "restore.h"
#include "ptab.h"
#include "sys.h"
#include "vdev.h"

struct k_boot_info k_boot_info;
struct payload_view k_boot_payload;

/*
 * Kernel TLS until the app installs its own: Debian's libfdt is built with
 * -fstack-protector and reads its canary at %fs:0x28; offset 0 points to
 * the block itself as the x86-64 TLS ABI wants.
 */
static uint64_t k_tls[8] __attribute__((aligned(64)));

/* RAM size from /memory@0 reg = <0 size> (2 address cells, 2 size cells). */
static uint64_t boot_mem_size(const void *fdt)
{
	int node = fdt_path_offset(fdt, UKVM_FDT_MEMORY_PATH);
	if (node < 0)
		return 0;
	int len;
	const fdt64_t *reg = fdt_getprop(fdt, node, "reg", &len);
	if (!reg || len < 16 || fdt64_ld(&reg[0]) != 0)
		return 0;
	return fdt64_ld(&reg[1]);
}

static void boot_chosen(const void *fdt, struct k_boot_info *bi, uint64_t *boot_ns)
{
	int node = fdt_path_offset(fdt, UKVM_FDT_CHOSEN_PATH);
	int len;
	const void *p;

	if (node < 0)
		return;
	bi->trace = fdt_getprop(fdt, node, UKVM_FDT_TRACE_BOOT, NULL) != NULL;
	bi->argv = fdt_getprop(fdt, node, UKVM_FDT_ARGV, &bi->argv_len);
	if (bi->argv && (bi->argv_len <= 0 || bi->argv[bi->argv_len - 1] != 0))
		bi->argv = NULL; /* a stringlist ends with NUL */
	bi->env = fdt_getprop(fdt, node, UKVM_FDT_ENV, &bi->env_len);
	if (bi->env && (bi->env_len <= 0 || bi->env[bi->env_len - 1] != 0))
		bi->env = NULL;
	p = fdt_getprop(fdt, node, UKVM_FDT_TSC_KHZ, &len);
	if (p && len == 4)
		bi->tsc_khz = fdt32_ld(p);
	p = fdt_getprop(fdt, node, UKVM_FDT_BOOT_TIME_NS, &len);
	if (p && len == 8)
		*boot_ns = fdt64_ld(p);
	bi->rng_seed = fdt_getprop(fdt, node, UKVM_FDT_RNG_SEED, &bi->rng_seed_len);
	if (!bi->rng_seed || bi->rng_seed_len <= 0) {
		bi->rng_seed = NULL;
		bi->rng_seed_len = 0;
	}
	bi->cpuid = fdt_getprop(fdt, node, UKVM_FDT_CPUID, &bi->cpuid_len);
	if (!bi->cpuid || bi->cpuid_len <= 0 || bi->cpuid_len % (UKVM_FDT_CPUID_CELLS * 4)) {
		bi->cpuid = NULL;
		bi->cpuid_len = 0;
	}
	static const char *const ttys[3] = { UKVM_FDT_STDIN_TTY, UKVM_FDT_STDOUT_TTY, UKVM_FDT_STDERR_TTY };
	for (unsigned i = 0; i < 3; i++) {
		struct fs_console_tty t = { 0 };
		p = fdt_getprop(fdt, node, ttys[i], &len);
		t.tty = p != NULL;
		if (p && len == 8) {
			uint32_t r = fdt32_ld((const fdt32_t *)p), c = fdt32_ld((const fdt32_t *)p + 1);
			t.rows = r > 0xffff ? 0xffff : (uint16_t)r;
			t.cols = c > 0xffff ? 0xffff : (uint16_t)c;
		}
		fs_dev_console_tty(i, &t);
	}
	k_notice_quiet(fdt_getprop(fdt, node, UKVM_FDT_QUIET, NULL) != NULL);
	p = fdt_getprop(fdt, node, UKVM_FDT_CONBUF, &len);
	if (p && len == 16)
		fs_conout_init(fdt64_ld((const fdt64_t *)p), fdt64_ld((const fdt64_t *)p + 1));
	p = fdt_getprop(fdt, node, UKVM_FDT_HOSTSIG, &len);
	if (p) {
		uint64_t w = len == 8 ? fdt64_ld((const fdt64_t *)p) : 0;
		/* In the boot area, below the page tables, aligned: the one place the monitor may write it. */
		if (w < 0x1000 || w % 8 || w + 8 > UKVM_PT_GPA)
			k_panic("bad /chosen/" UKVM_FDT_HOSTSIG);
		k_sig_host_init(w);
	}
	bi->argv0_set = fdt_getprop(fdt, node, UKVM_FDT_ARGV0_SET, NULL) != NULL;
	bi->cwd = fdt_getprop(fdt, node, UKVM_FDT_CWD, &len);
	if (bi->cwd && (len < 2 || bi->cwd[len - 1] != 0 || bi->cwd[0] != '/'))
		k_panic("bad /chosen/" UKVM_FDT_CWD);
	p = fdt_getprop(fdt, node, UKVM_FDT_STACK_GUARD, &len);
	if (p && len == 8)
		bi->stack_guard = fdt64_ld((const fdt64_t *)p);
	else if (p)
		k_panic("bad /chosen/" UKVM_FDT_STACK_GUARD);
	p = fdt_getprop(fdt, node, UKVM_FDT_PAYLOAD, &len);
	if (p && len == 16) {
		bi->payload_gpa = fdt64_ld((const fdt64_t *)p);
		bi->payload_size = fdt64_ld((const fdt64_t *)p + 1);
	}
}

/* What the kernel needs from the FDT, read once: the mode first (the fault and CPUID paths depend on it). */
static void boot_read_fdt(uint64_t fdt_gpa, struct k_boot_info *bi, uint64_t *boot_ns)
{
	/*
	 * Through the kernel alias, as the boot stack next to it: a first
	 * access through the identity map would cost a fault of its own on PVM
	 * (the shadow MMU links each path to a table once).
	 */
	const void *fdt = (const void *)(uintptr_t)(UKVM_KERNEL_VBASE + fdt_gpa);
	if (fdt_gpa < UKVM_FDT_END - UKVM_FDT_MAX || fdt_gpa >= UKVM_FDT_END || fdt_check_header(fdt) != 0 ||
	    fdt_totalsize(fdt) > UKVM_FDT_END - fdt_gpa)
		k_panic("bad FDT at 0x%lx", (unsigned long)fdt_gpa);
	bi->fdt = fdt;
	/* The VIF is in the boot area. */
	int chosen = fdt_path_offset(fdt, UKVM_FDT_CHOSEN_PATH);
	int pvlen;
	const fdt64_t *pv = chosen >= 0 ? fdt_getprop(fdt, chosen, UKVM_FDT_PV, &pvlen) : NULL;
	uint64_t vif = pv && pvlen == 8 ? fdt64_ld(pv) : 0;
	if (vif && vif + 16 <= UKVM_PT_GPA)
		k_pv_vif = UKVM_KERNEL_VBASE + vif;
	else if (pv)
		k_panic("bad /chosen/ukvm,pv");
	boot_chosen(fdt, bi, boot_ns);
	bi->mem_size = boot_mem_size(fdt);
}

/* RDRAND / RDSEED as CPUID reports them (leaves from the FDT: no exit). */
static unsigned boot_random_hw(void)
{
	uint32_t r[4];
	unsigned hw = 0;

	k_cpuid_query(0, 0, r);
	uint32_t max = r[0];
	k_cpuid_query(1, 0, r);
	if (r[2] & (1u << 30))
		hw |= K_RANDOM_HW_RDRAND;
	if (max >= 7) {
		k_cpuid_query(7, 0, r);
		if (r[1] & (1u << 18))
			hw |= K_RANDOM_HW_RDSEED;
	}
	return hw;
}

/* RAM: the page allocator with boot's reservations, then the payload it protects. */
static void boot_memory(struct k_boot_info *bi)
{
	const char *bad = ukvm_mem_size_invalid(bi->mem_size);
	if (bad)
		k_panic("bad memory size %lu in the FDT: %s", (unsigned long)bi->mem_size, bad);
	int rc = k_pages_init(bi->fdt, bi->mem_size, bi->payload_gpa, bi->payload_size);
	if (rc)
		k_panic("memory init failed (%d)", rc);
	/*
	 * The monitor's stack guard is absent from the page tables: its pages are
	 * never handed out, and no user range may include it (exec puts the
	 * app's stack above it).
	 */
	uint64_t g = bi->stack_guard;
	if (g) {
		if (g % UKVM_STACK_GUARD_SIZE || g < UKVM_KERNEL_PHYS || g > bi->mem_size - UKVM_STACK_GUARD_SIZE ||
		    pmem_adopt(&k_pages, g, UKVM_STACK_GUARD_SIZE / PMEM_PAGE, PMEM_BIT(PMEM_PRISTINE), PMEM_KERNEL))
			k_panic("bad /chosen/" UKVM_FDT_STACK_GUARD " 0x%lx", (unsigned long)g);
		ptab_note_gap(g, UKVM_STACK_GUARD_SIZE);
	}
	if (bi->payload_size) {
		if (bi->payload_gpa < UKVM_KERNEL_PHYS || bi->payload_gpa >= bi->mem_size ||
		    bi->payload_size > bi->mem_size - bi->payload_gpa)
			k_panic("payload [0x%lx, +0x%lx) outside RAM", (unsigned long)bi->payload_gpa,
				(unsigned long)bi->payload_size);
		if (payload_parse((const void *)(uintptr_t)bi->payload_gpa, bi->payload_size, &k_boot_payload))
			k_panic("malformed payload header");
		/* The app's own name, so a multi-call program (busybox) in an image named otherwise finds itself. */
		if (!bi->argv0_set)
			bi->argv0 = k_boot_payload.app_name;
	}
}

/* The root file system from the payload's archive, with fds 0-2 and /dev/vdX for the disks the drivers found. */
static void boot_fs(void)
{
	int rc = fs_init(k_boot_payload.files, k_boot_payload.files_size);
	if (rc < 0) {
		k_printf("ukvm: file archive rejected (%d)\n", rc);
		k_panic("cannot start the app (%d)", rc);
	}
}

/* The app's working directory (an OCI container's process.cwd): a missing one is the config's error, never "/". */
static void boot_cwd(const char *cwd)
{
	struct fs_node *n;
	int rc = fs_lookup(fs_root, cwd, &n);
	if (rc == 0 && !fs_is_dir(n))
		rc = -ENOTDIR;
	if (rc)
		k_panic("cwd %s: %s", cwd, rc == -ENOTDIR ? "not a directory" : "not found");
	fs_node_get(n);
	fs_node_put(fs_cwd);
	fs_cwd = n;
}

void k_boot(uint64_t fdt_gpa)
{
	struct k_boot_info *bi = &k_boot_info;
	uint64_t boot_ns = 0;

	k_tls[0] = (uint64_t)(uintptr_t)k_tls;
	k_tls[5] = k_rdtsc() * 0x9e3779b97f4a7c15ull; /* %fs:0x28: any unpredictable-enough value */
	k_wrfsbase((uint64_t)(uintptr_t)k_tls);

	boot_read_fdt(fdt_gpa, bi, &boot_ns);
	k_hypercall_mark_enable(bi->trace);
	k_hypercall_mark(UKVM_MARK_KERNEL_ENTRY);
	k_clock_init(bi->tsc_khz, boot_ns);
	k_restore_init(); /* after the clock: it notes the restore block's gen in the vDSO's page */
	k_cpuid_init(bi->cpuid, bi->cpuid_len);
	k_random_init(bi->rng_seed, (size_t)bi->rng_seed_len, boot_random_hw());

	boot_memory(bi);
	net_init(); /* before the drivers: the NIC driver adds its interfaces to lwIP */
	vd_probe_all(bi->fdt); /* before the file system: fs_init makes /dev/vdX for the disks found here */
	boot_fs();
	if (bi->cwd)
		boot_cwd(bi->cwd);
	fs_etc_users(); /* /etc/passwd, /etc/group with root, unless the image has them */
	net_etc_init(); /* /etc/hosts, /etc/resolv.conf for the interfaces the drivers added, unless the image has them */
	k_hypercall_mark(UKVM_MARK_KERNEL_READY);
	int rc = k_exec_app();
	k_panic("cannot start the app (%d)", rc);
}
