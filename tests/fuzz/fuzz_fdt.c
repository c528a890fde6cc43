/* fuzz_fdt.c: harness for the boot-info FDT builder (vmm/fdtbuild.c): fuzzed argv/env/cpuid/devices, parsed back with libfdt. */
#include <errno.h>
#include <libfdt.h>
#include <stdbool.h>

#include "fdtbuild.h"
#include "fuzz.h"
#include "ukvm_abi.h"

/*
 * Input: flags, the output buffer size, the scalar fields, cpuid leaves,
 * reserve entries and devices (counts may exceed the limits), then strings
 * separated by NUL: argv0, the arguments up to an empty string, then the
 * environment. A tree built without error must read back, with libfdt, as
 * exactly what was asked; one refused for size must fit a large buffer.
 */
#define FF_MAX_STRS 64
#define FF_BIG (4 * UKVM_FDT_MAX) /* room for anything fdtb_build accepts at all */

struct ff_case {
	struct fdtb_args a;
	uint32_t cpuid[FDTB_MAX_CPUID + 2][6];
	struct fdtb_range rsv[8];
	const char *argv[FF_MAX_STRS + 1], *env[FF_MAX_STRS + 1];
	uint64_t argv_len, env_len; /* bytes of the stringlists, NULs included */
	size_t buf_len;
};

/*
 * Takes up to max NUL-terminated strings from the input into list (NULL
 * after the last); an empty string ends the list early. The input's last
 * string may lack its NUL: it is copied into *owned. Adds their bytes, NULs
 * included, to *total.
 */
static void ff_strings(struct fuzz_in *in, const char **list, unsigned max, uint64_t *total, char **owned)
{
	unsigned k = 0;

	while (in->n && k < max) {
		const uint8_t *nul = memchr(in->p, 0, in->n);
		size_t l = nul ? (size_t)(nul - in->p) : in->n;

		if (l == 0) {
			in->p++;
			in->n--;
			break;
		}
		if (nul) {
			list[k] = (const char *)in->p;
		} else {
			*owned = strndup((const char *)in->p, l);
			FUZZ_CHECK(*owned != NULL);
			list[k] = *owned;
		}
		*total += l + 1;
		k++;
		in->p += nul ? l + 1 : l;
		in->n -= nul ? l + 1 : l;
	}
	list[k] = NULL;
}

static void ff_read(struct ff_case *c, struct fuzz_in *in, char **owned)
{
	struct fdtb_args *a = &c->a;
	uint8_t flags = fuzz_u8(in);
	size_t got;

	c->buf_len = flags & 1 ? UKVM_FDT_MAX : fuzz_u16(in);
	a->trace_boot = flags & 2;
	a->mem_size = fuzz_u64(in);
	a->tsc_khz = fuzz_u32(in);
	const uint8_t *seed = fuzz_bytes(in, sizeof(a->rng_seed), &got);

	memcpy(a->rng_seed, seed, got);
	a->payload_gpa = fuzz_u64(in);
	a->payload_size = fuzz_u64(in);
	a->pv_vif = flags & 4 ? fuzz_u64(in) : 0;
	a->ncpuid = fuzz_u8(in) % (FDTB_MAX_CPUID + 2);
	for (unsigned i = 0; i < a->ncpuid; i++)
		for (unsigned j = 0; j < 6; j++)
			c->cpuid[i][j] = fuzz_u32(in);
	a->cpuid = c->cpuid;
	a->nreserve = fuzz_u8(in) % 8;
	for (unsigned i = 0; i < a->nreserve; i++)
		c->rsv[i] = (struct fdtb_range){ fuzz_u64(in), fuzz_u64(in) };
	a->reserve = c->rsv;
	a->ndevs = fuzz_u8(in) % (FDTB_MAX_DEVS + 2);
	for (unsigned i = 0; i < a->ndevs && i < FDTB_MAX_DEVS; i++)
		a->devs[i] = (struct fdtb_dev){ fuzz_u64(in), fuzz_u64(in), fuzz_u32(in) };
	/* argv0 (NULL means ""), the arguments, the environment. */
	const char *first[2];
	uint64_t first_len = 0;

	ff_strings(in, first, 1, &first_len, &owned[0]);
	a->argv0 = first[0];
	c->argv_len = first[0] ? first_len : 1; /* NULL is written as "" */
	ff_strings(in, c->argv, FF_MAX_STRS, &c->argv_len, &owned[1]);
	a->argv = c->argv;
	ff_strings(in, c->env, FF_MAX_STRS, &c->env_len, &owned[2]);
	a->env = c->env;
}

static const void *ff_prop(const void *fdt, const char *path, const char *name, int *len)
{
	int off = fdt_path_offset(fdt, path);

	FUZZ_CHECK(off >= 0);
	return fdt_getprop(fdt, off, name, len);
}

/* The stringlist property equals first (if any) and list, NULs included. */
static void ff_check_list(const void *fdt, const char *name, const char *first, const char *const *list,
			  uint64_t total)
{
	int len;
	const char *v = ff_prop(fdt, UKVM_FDT_CHOSEN_PATH, name, &len);

	FUZZ_CHECK(v != NULL && (uint64_t)len == total);
	if (first) {
		FUZZ_CHECK(strcmp(v, first) == 0);
		v += strlen(first) + 1;
	}
	for (const char *const *p = list; *p; p++) {
		FUZZ_CHECK(strcmp(v, *p) == 0);
		v += strlen(*p) + 1;
	}
}

static uint64_t ff_u64(const void *p)
{
	fdt64_t v;

	memcpy(&v, p, sizeof(v));
	return fdt64_to_cpu(v);
}

static void ff_check_tree(const void *fdt, const struct ff_case *c)
{
	const struct fdtb_args *a = &c->a;
	int len;
	const uint8_t *v;

	FUZZ_CHECK(fdt_check_header(fdt) == 0 && fdt_totalsize(fdt) <= c->buf_len);
	FUZZ_CHECK(fdt_node_check_compatible(fdt, 0, UKVM_FDT_COMPATIBLE) == 0);
	v = ff_prop(fdt, UKVM_FDT_MEMORY_PATH, "reg", &len);
	FUZZ_CHECK(v && len == 16 && ff_u64(v) == 0 && ff_u64(v + 8) == a->mem_size);
	ff_check_list(fdt, UKVM_FDT_ARGV, a->argv0 ? a->argv0 : "", a->argv, c->argv_len);
	ff_check_list(fdt, UKVM_FDT_ENV, NULL, a->env, c->env_len);
	v = ff_prop(fdt, UKVM_FDT_CHOSEN_PATH, UKVM_FDT_TSC_KHZ, &len);
	FUZZ_CHECK(v && len == 4 && fdt32_ld((const fdt32_t *)v) == a->tsc_khz);
	v = ff_prop(fdt, UKVM_FDT_CHOSEN_PATH, UKVM_FDT_RNG_SEED, &len);
	FUZZ_CHECK(v && len == 32 && memcmp(v, a->rng_seed, 32) == 0);
	v = ff_prop(fdt, UKVM_FDT_CHOSEN_PATH, UKVM_FDT_PAYLOAD, &len);
	FUZZ_CHECK(v && len == 16 && ff_u64(v) == a->payload_gpa && ff_u64(v + 8) == a->payload_size);
	FUZZ_CHECK(!ff_prop(fdt, UKVM_FDT_CHOSEN_PATH, UKVM_FDT_TRACE_BOOT, &len) == !a->trace_boot);
	v = ff_prop(fdt, UKVM_FDT_CHOSEN_PATH, UKVM_FDT_PV, &len);
	FUZZ_CHECK(a->pv_vif ? v && len == 8 && ff_u64(v) == a->pv_vif : !v);
	v = ff_prop(fdt, UKVM_FDT_CHOSEN_PATH, UKVM_FDT_CPUID, &len);
	FUZZ_CHECK(a->ncpuid ? v && len == (int)(a->ncpuid * UKVM_FDT_CPUID_CELLS * 4) : !v);
	for (unsigned i = 0; i < a->ncpuid * 6; i++)
		FUZZ_CHECK(fdt32_ld((const fdt32_t *)v + i) == a->cpuid[i / 6][i % 6]);
	FUZZ_CHECK(fdt_num_mem_rsv(fdt) == (int)a->nreserve);
	for (unsigned i = 0; i < a->nreserve; i++) {
		uint64_t addr, size;

		FUZZ_CHECK(fdt_get_mem_rsv(fdt, (int)i, &addr, &size) == 0);
		FUZZ_CHECK(addr == a->reserve[i].addr && size == a->reserve[i].size);
	}
	/* The device nodes, in order after /memory and /chosen (equal addresses give equal names: order decides). */
	int node, i = 0;

	fdt_for_each_subnode(node, fdt, 0) {
		const char *name = fdt_get_name(fdt, node, NULL);
		char want[40];

		if (strcmp(name, UKVM_FDT_MEMORY_NODE) == 0 || strcmp(name, UKVM_FDT_CHOSEN_NODE) == 0)
			continue;
		FUZZ_CHECK(i < (int)a->ndevs);
		snprintf(want, sizeof(want), UKVM_FDT_VIRTIO_NODE, (unsigned long long)a->devs[i].addr);
		FUZZ_CHECK(strcmp(name, want) == 0);
		FUZZ_CHECK(fdt_node_check_compatible(fdt, node, UKVM_FDT_VIRTIO_MMIO) == 0);
		v = fdt_getprop(fdt, node, "reg", &len);
		FUZZ_CHECK(v && len == 16 && ff_u64(v) == a->devs[i].addr && ff_u64(v + 8) == a->devs[i].size);
		v = fdt_getprop(fdt, node, "interrupts", &len);
		FUZZ_CHECK(v && len == 4 && fdt32_ld((const fdt32_t *)v) == a->devs[i].irq);
		i++;
	}
	FUZZ_CHECK(i == (int)a->ndevs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct ff_case c = { 0 };
	char *owned[3] = { NULL, NULL, NULL };

	ff_read(&c, &in, owned);
	bool invalid = c.a.ndevs > FDTB_MAX_DEVS || c.a.ncpuid > FDTB_MAX_CPUID;

	for (unsigned i = 0; i < c.a.nreserve; i++)
		invalid |= c.rsv[i].size == 0; /* would end the reserve map early: refused */
	bool too_long = c.argv_len > UKVM_FDT_MAX || c.env_len > UKVM_FDT_MAX;
	/* Exactly buf_len bytes: ASan flags a write past the size fdtb_build was given. */
	uint8_t *buf = malloc(c.buf_len ? c.buf_len : 1);
	FUZZ_CHECK(buf != NULL);
	int r = fdtb_build(buf, c.buf_len, &c.a);
	if (invalid)
		FUZZ_CHECK(r == -EINVAL);
	else if (too_long)
		FUZZ_CHECK(r == -E2BIG);
	else
		FUZZ_CHECK(r == 0 || r == -E2BIG);
	if (r == -E2BIG && !too_long) {
		/* Refused for this buffer only: a large one takes it. */
		c.buf_len = FF_BIG;
		free(buf);
		buf = malloc(c.buf_len);
		FUZZ_CHECK(buf != NULL);
		r = fdtb_build(buf, c.buf_len, &c.a);
		FUZZ_CHECK(r == 0);
	}
	if (r == 0) {
		ff_check_tree(buf, &c);
		uint32_t total = fdt_totalsize(buf);
		uint64_t ns = c.a.payload_gpa ^ c.a.mem_size; /* any value: the property keeps its size */

		FUZZ_CHECK(fdtb_set_boot_time(buf, ns) == 0 && fdt_totalsize(buf) == total);
		const uint8_t *v;
		int len;

		v = ff_prop(buf, UKVM_FDT_CHOSEN_PATH, UKVM_FDT_BOOT_TIME_NS, &len);
		FUZZ_CHECK(v && len == 8 && ff_u64(v) == ns);
	}
	free(buf);
	for (int i = 0; i < 3; i++)
		free(owned[i]);
	return 0;
}
