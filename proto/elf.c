/* elf.c: freestanding ELF64 x86-64 validation (header, program headers, notes, symbols); never reads outside the buffer. */
#include "elf.h"

#define EHDR_SIZE ((uint64_t)sizeof(struct elf64_ehdr))
#define PHDR_SIZE ((uint64_t)sizeof(struct elf64_phdr))
#define SHDR_SIZE ((uint64_t)sizeof(struct elf64_shdr))
#define SYM_SIZE ((uint64_t)sizeof(struct elf64_sym))
#define NOTE_HDR 12u /* namesz, descsz, type: three 32-bit words */

/* True when [off, off + size) lies inside a buffer of len bytes, without overflow. */
static bool elf_range_ok(uint64_t off, uint64_t size, uint64_t len)
{
	uint64_t end;

	if (__builtin_add_overflow(off, size, &end))
		return false;
	return end <= len;
}

/* The structs are read in place, so the buffer must be aligned for them (UBSan and strict platforms care). */
static bool elf_aligned(const void *p, uint64_t a)
{
	return ((uintptr_t)p & (a - 1)) == 0;
}

static bool elf_pow2(uint64_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

static uint32_t elf_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static enum elf_err elf_check_ehdr(const struct elf64_ehdr *eh, uint64_t len)
{
	uint64_t tbl;

	if (eh->e_ident[0] != 0x7f || eh->e_ident[1] != 'E' || eh->e_ident[2] != 'L' ||
	    eh->e_ident[3] != 'F')
		return ELF_E_MAGIC;
	if (eh->e_ident[4] != 2) /* ELFCLASS64 */
		return ELF_E_CLASS;
	if (eh->e_ident[5] != 1) /* ELFDATA2LSB */
		return ELF_E_DATA;
	if (eh->e_ident[6] != 1 || eh->e_version != 1)
		return ELF_E_VERSION;
	if (eh->e_machine != ELF64_EM_X86_64)
		return ELF_E_MACHINE;
	if (eh->e_type != ELF64_ET_EXEC && eh->e_type != ELF64_ET_DYN)
		return ELF_E_TYPE;
	if (eh->e_ehsize < EHDR_SIZE)
		return ELF_E_EHSIZE;
	if (eh->e_phentsize != PHDR_SIZE)
		return ELF_E_PHENTSIZE;
	if (eh->e_phnum == 0 || eh->e_phnum > ELF_MAX_PHNUM)
		return ELF_E_PHNUM;
	/* phnum <= 64 keeps the product small, but keep the overflow check honest anyway. */
	if (__builtin_mul_overflow((uint64_t)eh->e_phnum, PHDR_SIZE, &tbl) ||
	    !elf_range_ok(eh->e_phoff, tbl, len) || (eh->e_phoff & 7) != 0)
		return ELF_E_PHOFF;
	return ELF_OK;
}

/*
 * Walks the notes of one PT_NOTE segment. In a segment aligned to 8 (GNU
 * property notes) the name and the descriptor start on 8-byte boundaries,
 * otherwise on 4 (gABI); positions are aligned relative to the segment start.
 * With want_name set, stops at the first match and reports it.
 */
static int elf_walk_notes(const uint8_t *buf, const struct elf64_phdr *ph, const char *want_name,
			  uint32_t want_type, const void **desc, size_t *desc_len)
{
	const uint8_t *seg = buf + ph->p_offset; /* p_offset + p_filesz checked by the caller */
	uint64_t pad = ph->p_align == 8 ? 8 : 4, size = ph->p_filesz, pos = 0;

	while (pos < size) {
		uint64_t namesz, descsz, name_at, desc_at, next;
		uint32_t type;

		if (size - pos < NOTE_HDR)
			return -2;
		namesz = elf_rd32(seg + pos);
		descsz = elf_rd32(seg + pos + 4);
		type = elf_rd32(seg + pos + 8);
		name_at = pos + NOTE_HDR;
		/* All terms < 2^33 + size, and size <= the buffer length: no overflow. */
		if (namesz > size - name_at)
			return -2;
		desc_at = (name_at + namesz + pad - 1) & ~(pad - 1);
		if (desc_at > size || descsz > size - desc_at)
			return -2;
		next = (desc_at + descsz + pad - 1) & ~(pad - 1);
		if (want_name && type == want_type) {
			uint64_t i = 0;

			while (want_name[i] != '\0' && i < namesz && seg[name_at + i] == (uint8_t)want_name[i])
				i++;
			if (want_name[i] == '\0' && i + 1 == namesz && seg[name_at + i] == '\0') {
				*desc = seg + desc_at;
				*desc_len = (size_t)descsz;
				return 0;
			}
		}
		pos = next; /* may pass size when the last descriptor omits its padding: the loop ends */
	}
	return -1;
}

static enum elf_err elf_check_phdr(const uint8_t *buf, const struct elf64_phdr *ph, uint64_t len)
{
	uint64_t end;

	if (!elf_range_ok(ph->p_offset, ph->p_filesz, len))
		return ELF_E_SEG_FILE;
	if (ph->p_memsz < ph->p_filesz)
		return ELF_E_SEG_MEMSZ;
	if (ph->p_type == ELF64_PT_LOAD) {
		if (__builtin_add_overflow(ph->p_vaddr, ph->p_memsz, &end) ||
		    __builtin_add_overflow(ph->p_paddr, ph->p_memsz, &end))
			return ELF_E_SEG_WRAP;
		if (ph->p_align > 1 && (!elf_pow2(ph->p_align) ||
					(ph->p_vaddr & (ph->p_align - 1)) != (ph->p_offset & (ph->p_align - 1))))
			return ELF_E_SEG_ALIGN;
	}
	if (ph->p_type == ELF64_PT_NOTE) {
		const void *d;
		size_t dl;

		if (elf_walk_notes(buf, ph, NULL, 0, &d, &dl) == -2)
			return ELF_E_NOTE;
	}
	return ELF_OK;
}

/* Half-open ranges [a, a + an) and [b, b + bn) intersect; the ends were checked not to wrap. */
static bool elf_overlap(uint64_t a, uint64_t an, uint64_t b, uint64_t bn)
{
	return an != 0 && bn != 0 && a < b + bn && b < a + an;
}

enum elf_err elf_parse(const void *buf, size_t len, struct elf_info *out, int *bad_index)
{
	const struct elf64_ehdr *eh = buf;
	const struct elf64_phdr *ph;
	struct elf_info info = {0};
	bool have_load = false, entry_ok = false;
	enum elf_err err;
	unsigned i, j;

	*bad_index = -1;
	if (buf == NULL || len < EHDR_SIZE)
		return ELF_E_SHORT;
	if (!elf_aligned(buf, 8))
		return ELF_E_PHOFF;
	err = elf_check_ehdr(eh, len);
	if (err != ELF_OK)
		return err;
	ph = (const struct elf64_phdr *)((const uint8_t *)buf + eh->e_phoff);
	info.lo = UINT64_MAX;
	for (i = 0; i < eh->e_phnum; i++) {
		err = elf_check_phdr(buf, &ph[i], len);
		if (err != ELF_OK) {
			*bad_index = (int)i;
			return err;
		}
		if (ph[i].p_type == ELF64_PT_INTERP)
			info.interp = true;
		if (ph[i].p_type == ELF64_PT_DYNAMIC)
			info.dynamic = true;
		if (ph[i].p_type != ELF64_PT_LOAD)
			continue;
		have_load = true;
		for (j = 0; j < i; j++) {
			if (ph[j].p_type != ELF64_PT_LOAD)
				continue;
			if (elf_overlap(ph[i].p_vaddr, ph[i].p_memsz, ph[j].p_vaddr, ph[j].p_memsz) ||
			    elf_overlap(ph[i].p_paddr, ph[i].p_memsz, ph[j].p_paddr, ph[j].p_memsz)) {
				*bad_index = (int)i;
				return ELF_E_SEG_OVERLAP;
			}
		}
		if (ph[i].p_vaddr < info.lo)
			info.lo = ph[i].p_vaddr;
		if (ph[i].p_vaddr + ph[i].p_memsz > info.hi)
			info.hi = ph[i].p_vaddr + ph[i].p_memsz;
		if ((ph[i].p_flags & ELF64_PF_X) && eh->e_entry >= ph[i].p_vaddr &&
		    eh->e_entry - ph[i].p_vaddr < ph[i].p_memsz)
			entry_ok = true;
	}
	if (!have_load)
		return ELF_E_NO_LOAD;
	if (!entry_ok)
		return ELF_E_ENTRY;
	info.eh = eh;
	info.ph = ph;
	info.phnum = eh->e_phnum;
	info.entry = eh->e_entry;
	info.pie = eh->e_type == ELF64_ET_DYN;
	*out = info;
	return ELF_OK;
}

const char *elf_strerror(enum elf_err err)
{
	static const char *const msg[ELF_E_COUNT] = {
		[ELF_OK] = "ok",
		[ELF_E_SHORT] = "file smaller than an ELF header",
		[ELF_E_MAGIC] = "not an ELF file (bad magic)",
		[ELF_E_CLASS] = "not a 64-bit ELF (ELFCLASS64 required)",
		[ELF_E_DATA] = "not little-endian",
		[ELF_E_VERSION] = "unknown ELF version",
		[ELF_E_MACHINE] = "not an x86-64 ELF",
		[ELF_E_TYPE] = "not an executable (ET_EXEC or ET_DYN required)",
		[ELF_E_EHSIZE] = "ELF header size too small",
		[ELF_E_PHENTSIZE] = "wrong program header entry size",
		[ELF_E_PHNUM] = "no program headers or too many",
		[ELF_E_PHOFF] = "program header table outside the file or misaligned",
		[ELF_E_SEG_FILE] = "segment file bytes outside the file",
		[ELF_E_SEG_MEMSZ] = "segment memory size smaller than its file size",
		[ELF_E_SEG_WRAP] = "segment address range overflows",
		[ELF_E_SEG_ALIGN] = "segment alignment invalid",
		[ELF_E_SEG_OVERLAP] = "loadable segments overlap",
		[ELF_E_NO_LOAD] = "no loadable segment",
		[ELF_E_ENTRY] = "entry point outside any executable segment",
		[ELF_E_NOTE] = "malformed note segment",
	};

	if ((unsigned)err >= ELF_E_COUNT)
		return "unknown ELF error";
	return msg[err];
}

int elf_find_note(const void *buf, size_t len, const struct elf_info *info, const char *name,
		  uint32_t type, const void **desc, size_t *desc_len)
{
	unsigned i;
	int malformed = 0;

	for (i = 0; i < info->phnum; i++) {
		const struct elf64_phdr *ph = &info->ph[i];
		int r;

		if (ph->p_type != ELF64_PT_NOTE)
			continue;
		/* elf_parse checked this already; recheck because info is the caller's to keep. */
		if (!elf_range_ok(ph->p_offset, ph->p_filesz, len))
			return -2;
		r = elf_walk_notes(buf, ph, name, type, desc, desc_len);
		if (r == 0)
			return 0;
		if (r == -2)
			malformed = 1;
	}
	return malformed ? -2 : -1;
}

long elf_for_each_func(const void *buf, size_t len,
		       int (*fn)(void *ctx, const char *name, uint64_t value, uint64_t size), void *ctx)
{
	const struct elf64_ehdr *eh = buf;
	const struct elf64_shdr *sh, *symtab = NULL, *strtab;
	const struct elf64_sym *syms;
	const char *strs;
	uint64_t tbl, nsyms, i;
	long visited = 0;
	unsigned k;

	if (buf == NULL || len < EHDR_SIZE || !elf_aligned(buf, 8))
		return -1;
	if (eh->e_shnum == 0)
		return 0;
	if (eh->e_shentsize != SHDR_SIZE || (eh->e_shoff & 7) != 0 ||
	    __builtin_mul_overflow((uint64_t)eh->e_shnum, SHDR_SIZE, &tbl) ||
	    !elf_range_ok(eh->e_shoff, tbl, len))
		return -1;
	sh = (const struct elf64_shdr *)((const uint8_t *)buf + eh->e_shoff);
	for (k = 0; k < eh->e_shnum; k++) {
		if (sh[k].sh_type == ELF64_SHT_SYMTAB) {
			symtab = &sh[k];
			break;
		}
	}
	if (symtab == NULL)
		return 0;
	if (symtab->sh_link >= eh->e_shnum || symtab->sh_entsize != SYM_SIZE ||
	    symtab->sh_size % SYM_SIZE != 0 || (symtab->sh_offset & 7) != 0 ||
	    !elf_range_ok(symtab->sh_offset, symtab->sh_size, len))
		return -1;
	strtab = &sh[symtab->sh_link];
	/* A string table ending in NUL makes every in-range name terminated. */
	if (strtab->sh_type != ELF64_SHT_STRTAB || strtab->sh_size == 0 ||
	    !elf_range_ok(strtab->sh_offset, strtab->sh_size, len))
		return -1;
	strs = (const char *)buf + strtab->sh_offset;
	if (strs[strtab->sh_size - 1] != '\0')
		return -1;
	syms = (const struct elf64_sym *)((const uint8_t *)buf + symtab->sh_offset);
	nsyms = symtab->sh_size / SYM_SIZE;
	for (i = 0; i < nsyms; i++) {
		if ((syms[i].st_info & 0xf) != ELF64_STT_FUNC || syms[i].st_value == 0)
			continue;
		if (syms[i].st_name >= strtab->sh_size)
			return -1;
		visited++;
		if (fn(ctx, strs + syms[i].st_name, syms[i].st_value, syms[i].st_size) != 0)
			break;
	}
	return visited;
}
