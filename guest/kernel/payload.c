/* payload.c: validates the payload carried in the image and looks symbols up in it. */
#include <asm-generic/errno-base.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "../include/payload.h"
#include "elf.h"

#define PAYLOAD_PAGE 4096ull

/* [off, off + len) inside [0, size) without overflow. */
static bool payload_in(uint64_t size, uint64_t off, uint64_t len)
{
	return off <= size && len <= size - off;
}

int payload_parse(const void *p, uint64_t size, struct payload_view *out)
{
	const uint8_t *b = p;
	struct ukvm_payload_hdr h;

	memset(out, 0, sizeof(*out));
	if (!p || size < sizeof(h))
		return -EINVAL;
	memcpy(&h, p, sizeof(h));
	if (memcmp(h.magic, UKVM_PAYLOAD_MAGIC, sizeof(h.magic)) != 0)
		return -EINVAL;
	if (!payload_in(size, h.app_off, h.app_size) || h.app_size == 0 ||
	    !payload_in(size, h.files_off, h.files_size) ||
	    (h.flags & ~(UKVM_PAYLOAD_APP_PLACED | UKVM_PAYLOAD_APP_NAME)))
		return -EINVAL;
	if (h.flags & UKVM_PAYLOAD_APP_NAME) {
		struct ukvm_payload_name nm;
		if (!payload_in(size, sizeof(h), sizeof(nm)))
			return -EINVAL;
		memcpy(&nm, b + sizeof(h), sizeof(nm));
		/* A name the guest would print or pass on: bounded, NUL-terminated exactly at its end, not empty. */
		if (!payload_in(size, nm.name_off, nm.name_size) || nm.name_size < 2 ||
		    nm.name_size > UKVM_PAYLOAD_NAME_MAX || b[nm.name_off + nm.name_size - 1] != 0 ||
		    memchr(b + nm.name_off, 0, nm.name_size - 1))
			return -EINVAL;
		out->app_name = (const char *)(b + nm.name_off);
	}
	out->flags = h.flags;
	out->app = b + h.app_off;
	out->app_size = h.app_size;
	out->files = b + h.files_off;
	out->files_size = h.files_size;

	/*
	 * Symbols are only for reports: a bad table disables them instead of
	 * failing the boot. Only the header's numbers are checked here; what
	 * needs the table's bytes (the strings' final NUL, where the app's
	 * symbols start) waits for a lookup, because boot would otherwise touch
	 * two of its pages for nothing (a first touch costs ~14 us on PVM).
	 */
	if (h.syms_count == 0 || h.syms_count > UINT64_MAX / sizeof(struct ukvm_sym) || (h.syms_off & 7) ||
	    ((uintptr_t)b & 7) || !payload_in(size, h.syms_off, h.syms_count * sizeof(struct ukvm_sym)) ||
	    !payload_in(size, h.strs_off, h.strs_size) || h.strs_size == 0)
		return 0;
	out->syms = (const struct ukvm_sym *)(b + h.syms_off);
	out->syms_count = h.syms_count;
	out->strs = (const char *)(b + h.strs_off);
	out->strs_size = h.strs_size;
	return 0;
}

/* Kernel symbols come first, then the app's: the index of the first app symbol. */
static uint64_t payload_app_syms(const struct payload_view *v)
{
	uint64_t lo = 0, hi = v->syms_count;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (v->syms[mid].flags & UKVM_SYM_APP)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

const char *payload_sym(const struct payload_view *v, uint64_t addr, uint64_t *off)
{
	if (!v->syms || !v->strs_size || v->strs[v->strs_size - 1] != 0)
		return NULL; /* no table, or its strings are not terminated */
	bool kernel = addr >= UKVM_KERNEL_VBASE;
	uint64_t app_syms = payload_app_syms(v);
	uint64_t lo = kernel ? 0 : app_syms, hi = kernel ? app_syms : v->syms_count;
	if (lo >= hi)
		return NULL;
	/* PIE symbols are relative to the load base; the run shares one flag. */
	uint64_t key = addr;
	if (!kernel && (v->syms[lo].flags & UKVM_SYM_PIE)) {
		if (addr < v->app_base)
			return NULL;
		key = addr - v->app_base;
	}
	/* Last symbol with sym.addr <= key. */
	uint64_t first = lo;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (v->syms[mid].addr <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == first)
		return NULL;
	const struct ukvm_sym *s = &v->syms[lo - 1];
	uint64_t d = key - s->addr;
	if (s->size ? d >= s->size : d >= 0x10000)
		return NULL;
	if (s->name_off >= v->strs_size)
		return NULL;
	*off = d;
	return v->strs + s->name_off; /* strs ends with NUL: the name is terminated */
}

int payload_check_placed(const struct elf_info *in, uint64_t ram_size, const struct payload_range *avoid,
			 unsigned navoid, bool (*reserved)(void *ctx, uint64_t start, uint64_t len), void *ctx,
			 int *bad)
{
	*bad = -1;
	if (in->pie)
		return -ENOEXEC; /* a PIE app is relocated at a base the loader picks: it cannot be placed */
	for (unsigned i = 0; i < in->phnum; i++) {
		const struct elf64_phdr *p = &in->ph[i];
		if (p->p_type != ELF64_PT_LOAD || p->p_memsz == 0)
			continue;
		*bad = (int)i;
		/* elf_parse proved p_vaddr + p_memsz does not wrap; the page round-up is checked here. */
		uint64_t s = p->p_vaddr & ~(PAYLOAD_PAGE - 1), e = p->p_vaddr + p->p_memsz;
		if (e > UINT64_MAX - (PAYLOAD_PAGE - 1))
			return -ENOEXEC;
		e = (e + PAYLOAD_PAGE - 1) & ~(PAYLOAD_PAGE - 1);
		if (s < UKVM_KERNEL_PHYS || e > ram_size)
			return -ENOEXEC;
		for (unsigned j = 0; j < navoid; j++)
			if (s < avoid[j].end && avoid[j].start < e)
				return -ENOEXEC;
		if (!reserved(ctx, s, e - s))
			return -ENOEXEC;
	}
	*bad = -1;
	return 0;
}
