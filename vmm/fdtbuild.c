/* fdtbuild.c: the boot-info FDT, written with libfdt's sequential-write API. */
#include "fdtbuild.h"

#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <string.h>

#include "ukvm.h"
#include "ukvm_abi.h"

/* Appends a NUL-terminated stringlist property from argv0 (optional) and a NULL-terminated list. */
static int fdtb_stringlist(void *fdt, const char *prop, const char *first, const char *const *list)
{
	size_t total = first ? strlen(first) + 1 : 0;
	for (const char *const *p = list; p && *p; p++) {
		size_t l = strlen(*p) + 1;
		if (total > UKVM_FDT_MAX || l > UKVM_FDT_MAX)
			return -FDT_ERR_NOSPACE;
		total += l;
	}
	if (total > UKVM_FDT_MAX)
		return -FDT_ERR_NOSPACE;
	void *val;
	int r = fdt_property_placeholder(fdt, prop, (int)total, &val);
	if (r)
		return r;
	char *o = val;
	if (first) {
		size_t l = strlen(first) + 1;
		memcpy(o, first, l);
		o += l;
	}
	for (const char *const *p = list; p && *p; p++) {
		size_t l = strlen(*p) + 1;
		memcpy(o, *p, l);
		o += l;
	}
	return 0;
}

_Static_assert(UKVM_MAX_DNS == UKVM_NET_MAX_DNS, "ukvm.h and ukvm_abi.h disagree on DNS servers per NIC");

/* A NIC's properties inside its node (proto/ukvm_abi.h); absent ones mean "not configured". */
static int fdtb_net(void *fdt, const struct ukvm_net *n)
{
	int r;
	if ((r = fdt_property(fdt, UKVM_FDT_NET_MAC, n->mac, sizeof(n->mac))) < 0)
		return r;
	/* Addresses are kept in network order: their bytes go in as they are. */
	if (n->ipv4 && ((r = fdt_property(fdt, UKVM_FDT_NET_IPV4, &n->ipv4, 4)) < 0 ||
			(r = fdt_property_u32(fdt, UKVM_FDT_NET_PREFIX, n->prefix)) < 0))
		return r;
	if (n->gw && (r = fdt_property(fdt, UKVM_FDT_NET_GW, &n->gw, 4)) < 0)
		return r;
	unsigned ndns = 0;
	while (ndns < UKVM_MAX_DNS && n->dns[ndns])
		ndns++;
	if (ndns && (r = fdt_property(fdt, UKVM_FDT_NET_DNS, n->dns, (int)(4 * ndns))) < 0)
		return r;
	if (n->mtu && (r = fdt_property_u32(fdt, UKVM_FDT_NET_MTU, n->mtu)) < 0)
		return r;
	return 0;
}

static int fdtb_seq(void *fdt, size_t len, const struct fdtb_args *a)
{
	int r;
	if (a->ndevs > FDTB_MAX_DEVS || a->ncpuid > FDTB_MAX_CPUID)
		return -FDT_ERR_BADVALUE;
	/* A size-0 entry is the reserve map's terminator (DTSpec 5.3.2): the entries after it would vanish. */
	for (unsigned i = 0; i < a->nreserve; i++)
		if (a->reserve[i].size == 0)
			return -FDT_ERR_BADVALUE;
	if (len > INT32_MAX)
		len = INT32_MAX;
#define FDTB_TRY(x)            \
	do {                   \
		if ((r = (x)) < 0) \
			return r;  \
	} while (0)
	FDTB_TRY(fdt_create(fdt, (int)len));
	for (unsigned i = 0; i < a->nreserve; i++)
		FDTB_TRY(fdt_add_reservemap_entry(fdt, a->reserve[i].addr, a->reserve[i].size));
	FDTB_TRY(fdt_finish_reservemap(fdt));
	FDTB_TRY(fdt_begin_node(fdt, ""));
	FDTB_TRY(fdt_property_u32(fdt, "#address-cells", 2));
	FDTB_TRY(fdt_property_u32(fdt, "#size-cells", 2));
	FDTB_TRY(fdt_property_string(fdt, "compatible", UKVM_FDT_COMPATIBLE));

	FDTB_TRY(fdt_begin_node(fdt, UKVM_FDT_MEMORY_NODE));
	FDTB_TRY(fdt_property_string(fdt, "device_type", "memory"));
	fdt64_t reg[2] = { cpu_to_fdt64(0), cpu_to_fdt64(a->mem_size) };
	FDTB_TRY(fdt_property(fdt, "reg", reg, sizeof(reg)));
	FDTB_TRY(fdt_end_node(fdt));

	FDTB_TRY(fdt_begin_node(fdt, UKVM_FDT_CHOSEN_NODE));
	FDTB_TRY(fdtb_stringlist(fdt, UKVM_FDT_ARGV, a->argv0 ? a->argv0 : "", a->argv));
	FDTB_TRY(fdtb_stringlist(fdt, UKVM_FDT_ENV, NULL, a->env));
	FDTB_TRY(fdt_property_u32(fdt, UKVM_FDT_TSC_KHZ, a->tsc_khz));
	FDTB_TRY(fdt_property_u64(fdt, UKVM_FDT_BOOT_TIME_NS, 0));
	FDTB_TRY(fdt_property(fdt, UKVM_FDT_RNG_SEED, a->rng_seed, sizeof(a->rng_seed)));
	fdt64_t pay[2] = { cpu_to_fdt64(a->payload_gpa), cpu_to_fdt64(a->payload_size) };
	FDTB_TRY(fdt_property(fdt, UKVM_FDT_PAYLOAD, pay, sizeof(pay)));
	if (a->trace_boot)
		FDTB_TRY(fdt_property(fdt, UKVM_FDT_TRACE_BOOT, NULL, 0));
	if (a->argv0_set)
		FDTB_TRY(fdt_property(fdt, UKVM_FDT_ARGV0_SET, NULL, 0));
	if (a->quiet)
		FDTB_TRY(fdt_property(fdt, UKVM_FDT_QUIET, NULL, 0));
	if (a->cwd)
		FDTB_TRY(fdt_property_string(fdt, UKVM_FDT_CWD, a->cwd));
	static const char *const ttys[3] = { UKVM_FDT_STDIN_TTY, UKVM_FDT_STDOUT_TTY, UKVM_FDT_STDERR_TTY };
	for (unsigned i = 0; i < 3; i++) {
		fdt32_t ws[2] = { cpu_to_fdt32(a->tty[i].rows), cpu_to_fdt32(a->tty[i].cols) };
		if (a->tty[i].tty)
			FDTB_TRY(fdt_property(fdt, ttys[i], ws, sizeof(ws)));
	}
	if (a->pv_vif)
		FDTB_TRY(fdt_property_u64(fdt, UKVM_FDT_PV, a->pv_vif));
	if (a->conbuf_size) {
		fdt64_t cb[2] = { cpu_to_fdt64(a->conbuf_gpa), cpu_to_fdt64(a->conbuf_size) };
		FDTB_TRY(fdt_property(fdt, UKVM_FDT_CONBUF, cb, sizeof(cb)));
	}
	if (a->stack_guard)
		FDTB_TRY(fdt_property_u64(fdt, UKVM_FDT_STACK_GUARD, a->stack_guard));
	if (a->hostsig_gpa)
		FDTB_TRY(fdt_property_u64(fdt, UKVM_FDT_HOSTSIG, a->hostsig_gpa));
	if (a->ncpuid) {
		fdt32_t cells[FDTB_MAX_CPUID * 6];
		for (unsigned i = 0; i < a->ncpuid * 6; i++)
			cells[i] = cpu_to_fdt32(a->cpuid[i / 6][i % 6]);
		FDTB_TRY(fdt_property(fdt, UKVM_FDT_CPUID, cells, (int)(a->ncpuid * UKVM_FDT_CPUID_CELLS * sizeof(cells[0]))));
	}
	FDTB_TRY(fdt_end_node(fdt));

	for (unsigned i = 0; i < a->ndevs; i++) {
		char name[40];
		snprintf(name, sizeof(name), UKVM_FDT_VIRTIO_NODE, (unsigned long long)a->devs[i].addr);
		FDTB_TRY(fdt_begin_node(fdt, name));
		FDTB_TRY(fdt_property_string(fdt, "compatible", UKVM_FDT_VIRTIO_MMIO));
		fdt64_t dreg[2] = { cpu_to_fdt64(a->devs[i].addr), cpu_to_fdt64(a->devs[i].size) };
		FDTB_TRY(fdt_property(fdt, "reg", dreg, sizeof(dreg)));
		FDTB_TRY(fdt_property_u32(fdt, "interrupts", a->devs[i].irq));
		if (a->nets[i])
			FDTB_TRY(fdtb_net(fdt, a->nets[i]));
		FDTB_TRY(fdt_end_node(fdt));
	}

	FDTB_TRY(fdt_end_node(fdt));
	FDTB_TRY(fdt_finish(fdt));
#undef FDTB_TRY
	return 0;
}

int fdtb_build(void *buf, size_t len, const struct fdtb_args *a)
{
	int r = fdtb_seq(buf, len, a);
	if (r == -FDT_ERR_NOSPACE)
		return -E2BIG;
	return r < 0 ? -EINVAL : 0;
}

uint64_t fdtb_size(const void *buf)
{
	return fdt_totalsize(buf);
}

int fdtb_set_boot_time(void *buf, uint64_t ns)
{
	int off = fdt_path_offset(buf, UKVM_FDT_CHOSEN_PATH);
	if (off < 0)
		return -EINVAL;
	return fdt_setprop_inplace_u64(buf, off, UKVM_FDT_BOOT_TIME_NS, ns) ? -EINVAL : 0;
}
