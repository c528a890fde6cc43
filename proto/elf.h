/* elf.h: freestanding ELF64 x86-64 validation shared by the monitor, the guest's app loader and ukvm-build. */
#ifndef PROTO_ELF_H
#define PROTO_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ELF64 layouts (System V gABI), spelled with an elf64_ prefix so they never clash with <elf.h>. */
struct elf64_ehdr {
	uint8_t e_ident[16];
	uint16_t e_type, e_machine;
	uint32_t e_version;
	uint64_t e_entry, e_phoff, e_shoff;
	uint32_t e_flags;
	uint16_t e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};

struct elf64_phdr {
	uint32_t p_type, p_flags;
	uint64_t p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
};

struct elf64_shdr {
	uint32_t sh_name, sh_type;
	uint64_t sh_flags, sh_addr, sh_offset, sh_size;
	uint32_t sh_link, sh_info;
	uint64_t sh_addralign, sh_entsize;
};

struct elf64_sym {
	uint32_t st_name;
	uint8_t st_info, st_other;
	uint16_t st_shndx;
	uint64_t st_value, st_size;
};

#define ELF64_ET_EXEC 2
#define ELF64_ET_DYN 3
#define ELF64_EM_X86_64 62
#define ELF64_PT_LOAD 1
#define ELF64_PT_DYNAMIC 2
#define ELF64_PT_INTERP 3
#define ELF64_PT_NOTE 4
#define ELF64_PT_TLS 7
#define ELF64_PT_GNU_STACK 0x6474e551
#define ELF64_PF_X 1
#define ELF64_PF_W 2
#define ELF64_PF_R 4
#define ELF64_SHT_SYMTAB 2
#define ELF64_SHT_STRTAB 3
#define ELF64_STT_FUNC 2

/* Why an image was refused: each names one field and one reason. */
enum elf_err {
	ELF_OK = 0,
	ELF_E_SHORT,       /* file smaller than an ELF header */
	ELF_E_MAGIC,       /* e_ident magic is not \x7fELF */
	ELF_E_CLASS,       /* not ELFCLASS64 */
	ELF_E_DATA,        /* not little-endian */
	ELF_E_VERSION,     /* e_ident[EI_VERSION] or e_version is not 1 */
	ELF_E_MACHINE,     /* not x86-64 */
	ELF_E_TYPE,        /* neither ET_EXEC nor ET_DYN */
	ELF_E_EHSIZE,      /* e_ehsize too small */
	ELF_E_PHENTSIZE,   /* e_phentsize is not sizeof(struct elf64_phdr) */
	ELF_E_PHNUM,       /* no program headers, or more than ELF_MAX_PHNUM */
	ELF_E_PHOFF,       /* program header table outside the file or misaligned */
	ELF_E_SEG_FILE,    /* a segment's file bytes lie outside the file */
	ELF_E_SEG_MEMSZ,   /* a segment's p_memsz < p_filesz */
	ELF_E_SEG_WRAP,    /* a segment's address range overflows 64 bits */
	ELF_E_SEG_ALIGN,   /* p_align not a power of two, or p_vaddr/p_offset disagree modulo it */
	ELF_E_SEG_OVERLAP, /* two PT_LOAD segments overlap */
	ELF_E_NO_LOAD,     /* no PT_LOAD segment */
	ELF_E_ENTRY,       /* e_entry is not inside an executable PT_LOAD segment */
	ELF_E_NOTE,        /* a PT_NOTE is malformed */
	ELF_E_COUNT
};

#define ELF_MAX_PHNUM 64

/* What elf_parse found; pointers point into the caller's buffer. */
struct elf_info {
	const struct elf64_ehdr *eh;
	const struct elf64_phdr *ph; /* eh->e_phnum entries, validated */
	unsigned phnum;
	uint64_t entry;
	uint64_t lo, hi;   /* lowest p_vaddr and highest p_vaddr + p_memsz over PT_LOAD */
	bool pie;          /* ET_DYN */
	bool interp;       /* has PT_INTERP (a dynamically linked program) */
	bool dynamic;      /* has PT_DYNAMIC */
};

/*
 * Validates the ELF header and every program header of buf[0, len): all the
 * checks named in enum elf_err, with overflow-safe arithmetic. On failure
 * returns the reason and, for per-segment reasons, sets *bad_index to the
 * program header index (else to -1). Never reads outside buf.
 */
enum elf_err elf_parse(const void *buf, size_t len, struct elf_info *out, int *bad_index);

/* A short fixed phrase for err, e.g. "program header table outside the file". */
const char *elf_strerror(enum elf_err err);

/*
 * Finds the first note named `name` with type `type` in the PT_NOTE segments.
 * Returns 0 and sets *desc / *desc_len (pointing into buf), -1 when absent,
 * or -2 when a note segment is malformed.
 */
int elf_find_note(const void *buf, size_t len, const struct elf_info *info, const char *name,
		  uint32_t type, const void **desc, size_t *desc_len);

/*
 * Iterates the FUNC symbols of the first SHT_SYMTAB section, validating the
 * section headers, the symbol table and each name against len. Calls fn for
 * each function symbol with a non-zero value; stops early when fn returns
 * non-zero. Returns the number of symbols visited, or -1 if the section
 * tables are malformed (no symtab at all is 0 visited, not an error).
 */
long elf_for_each_func(const void *buf, size_t len,
		       int (*fn)(void *ctx, const char *name, uint64_t value, uint64_t size), void *ctx);

#endif
