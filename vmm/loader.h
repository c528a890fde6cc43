/* loader.h: reads, validates and loads the ukvm image (an ELF64 kernel carrying the ukvm note) into guest RAM. */
#ifndef VMM_LOADER_H
#define VMM_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "elf.h"
#include "mem.h"
#include "ukvm_abi.h"

struct loader_sym {
	uint64_t addr, size;
	const char *name; /* into loader_image.strs */
};

struct loader_seg {
	uint64_t paddr, memsz;
};

struct loader_image {
	uint64_t entry;
	struct ukvm_note note;
	struct loader_seg segs[ELF_MAX_PHNUM]; /* PT_LOAD segments, for the FDT reserve map */
	unsigned nsegs;
	struct loader_sym *syms; /* sorted by addr; may be empty; collected by loader_syms */
	size_t nsyms;
	char *strs;
	uint8_t *elf;             /* the image's headers and symbol tables (elf_len bytes, the rest zero) until
				     loader_syms collects them; NULL after */
	size_t elf_len;
};

/*
 * Validates buf[0, len) as a ukvm image for mem_size bytes of RAM: elf_parse()
 * then the monitor's own rules (ET_EXEC; every PT_LOAD at p_paddr >=
 * UKVM_KERNEL_PHYS and inside RAM; p_vaddr == p_paddr or p_paddr +
 * UKVM_KERNEL_VBASE, the alias only below 2 GiB; the ukvm note present, of
 * the right size, known ABI version, only known flags; syscall_entry and the 256
 * exception stubs inside an executable segment; the payload inside one
 * segment's file bytes or 0/0). Fills entry, note and segs of *img. Returns
 * 0 or -EINVAL with one line "NAME: <field>: <reason>" in err.
 */
int loader_check(const void *buf, size_t len, uint64_t mem_size, const char *name,
		 struct loader_image *img, char *err, size_t errlen);

/*
 * Reads the headers of the file at path, checks them with loader_check,
 * reads each segment's file bytes straight into guest RAM (the rest stays
 * zero: m must be fresh) and keeps the symbol tables for loader_syms.
 * Returns 0, -EINVAL (rejected), -errno of open/read (missing, unreadable),
 * always with one line in err naming path.
 */
int loader_load(const char *path, const struct mem *m, struct loader_image *img, char *err,
		size_t errlen);

/* Frees the symbols; img may be zeroed. */
void loader_free(struct loader_image *img);

/*
 * Collects the function symbols kept by loader_load into syms (sorted),
 * once: only a crash report needs them (~65 us a boot saves). Needs no
 * system call but memory allocation (runs under the vCPU's seccomp filter).
 */
void loader_syms(struct loader_image *img);

/*
 * Writes "name+0xoff" for the function containing (or nearest below) addr,
 * or "?" when there is none, into buf. Returns buf.
 */
const char *loader_symbolize(struct loader_image *img, uint64_t addr, char *buf, size_t len);

#endif
