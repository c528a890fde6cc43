/* pack.h: ukvm-build's packer: kernel ELF + static app ELF + host files -> one bootable image (proto/ukvm_abi.h). */
#ifndef IMGBUILD_PACK_H
#define IMGBUILD_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One --file HOST:GUEST (dir = false) or --dir HOSTDIR:GUESTDIR (dir = true). */
struct pack_spec {
	const char *host;
	const char *guest; /* absolute guest path; NULL means "/" + basename(host) */
	bool dir;
};

struct pack_input {
	const char *kernel_path; /* the guest kernel ELF, carrying a ukvm note */
	const char *app_path;    /* static (or static-PIE) x86-64 Linux ELF */
	const struct pack_spec *specs;
	size_t nspecs;
	/* Optional, 0/NULL = as before these fields (ukvm-oci packs a container's rootfs with them): */
	const char *app_name;    /* the app's recorded name; NULL: app_path's last component */
	/*
	 * Guest paths left out of every --dir tree, with what lies below them
	 * (a container's /proc, /dev, /sys; its bind-mounted files, which a
	 * --file spec then provides instead).
	 */
	const char *const *exclude;
	size_t nexclude;
	/* Where notices go ("HOST: not a regular file or directory, skipped"); NULL: stderr. */
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
	/*
	 * File records pack_files made earlier (ukvm-oci's rootfs cache): they
	 * come first and their paths count as packed, so specs may add files
	 * beside them but not over them. Checked like any input (-EINVAL).
	 */
	const uint8_t *files_base;
	size_t files_base_size;
	/*
	 * Most bytes of file records, files_base included; 0: no limit. A file
	 * that would go beyond it is refused (-EFBIG) before it is read.
	 */
	uint64_t files_max;
};

/* Entries (files, directories, links) one image may hold: a bigger tree is refused (-EMFILE). */
#define PACK_ENTRIES_MAX 200000

struct pack_result {
	uint8_t *image; /* malloc'ed output image */
	size_t size;
	uint64_t payload_gpa, payload_size;
};

/*
 * Splits "HOST:GUEST" at its last ':' into spec (pointing into arg, which it
 * modifies); without ':' the guest path defaults to "/" + basename(HOST).
 * Returns 0 or -EINVAL (empty host).
 */
int pack_parse_spec(char *arg, bool dir, struct pack_spec *spec);

/*
 * Builds the image in memory. Image layout: the kernel's ELF header and
 * PT_LOAD segments unchanged (vaddr, paddr, flags, align); for a non-PIE app,
 * each of its non-empty PT_LOAD segments placed at its own address (p_vaddr =
 * p_paddr = the app's p_vaddr, same flags/filesz/memsz and file bytes, p_align
 * 4 KiB) and UKVM_PAYLOAD_APP_PLACED in the payload header, so the monitor
 * loads the app and the guest need not copy it; one read-only
 * PT_LOAD holding the payload at payload_gpa = align_up(max(kernel physical
 * end, non-PIE app end), 2 MiB), one PT_NOTE with the kernel's ukvm note
 * whose payload_gpa/payload_size are filled in, and .symtab/.strtab/.shstrtab
 * sections naming the kernel's and (non-PIE) the app's functions.
 * Payload: struct ukvm_payload_hdr; the app (whole, also when placed: the
 * guest validates it and reads its headers) at the first 16-aligned offset
 * after the header, so its ELF headers share the header's page; file
 * records (8-aligned; each is struct ukvm_file_rec, name_len name bytes, size
 * data bytes right after the name, zero padding to a multiple of 8; every
 * parent directory precedes its children); struct ukvm_sym[] sorted kernel
 * group first, then app group, each by (addr, name); the name strings.
 * Returns 0, or -errno with a one-line reason in err (no "ukvm-build:" prefix).
 */
int pack_build(const struct pack_input *in, struct pack_result *out, char *err, size_t errlen);

/*
 * Only the file records of in's specs (files_base, exclude, warn and
 * files_max apply; kernel and app are not used), e.g. to keep a tree's
 * records for a later pack_build's files_base. 0 with out->image/size set
 * to the records, or -errno with err set as pack_build's.
 */
int pack_files(const struct pack_input *in, struct pack_result *out, char *err, size_t errlen);

/*
 * The guest kernel next to the running executable: PREFIX/lib/ukvm/ukvm-kernel.elf
 * for an installed PREFIX/bin/TOOL, build/guest/ukvm-kernel.elf for build/TOOL.
 * 0 with out set, or -ENOENT (or -errno).
 */
int pack_default_kernel(char *out, size_t n);

/* Frees out->image. */
void pack_result_free(struct pack_result *out);

/* Writes buf to path atomically (temporary file in the same directory, then rename), mode 0644. Returns 0 or -errno with err set. */
int pack_write(const char *path, const void *buf, size_t len, char *err, size_t errlen);

#endif
