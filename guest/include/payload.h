/* payload.h: validation of the image payload (struct ukvm_payload_hdr) and symbol lookup in it; pure, host-testable. */
#ifndef PAYLOAD_H
#define PAYLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "ukvm_abi.h"

struct elf_info; /* proto/elf.h */

/* The payload's parts, each checked to lie inside the payload. */
struct payload_view {
	const uint8_t *app;
	uint64_t app_size;
	const uint8_t *files;
	uint64_t files_size;
	const struct ukvm_sym *syms; /* NULL when count is 0 or the table lies outside the payload */
	uint64_t syms_count;
	const char *strs;
	uint64_t strs_size;
	uint64_t app_base;  /* load base of a static-PIE app (set by the loader), else 0 */
	uint64_t app_text_lo, app_text_hi; /* the app's executable segments, loaded (set by the loader; crash reports) */
	uint64_t flags;     /* UKVM_PAYLOAD_* (only known bits) */
	const char *app_name; /* UKVM_PAYLOAD_APP_NAME: the app's file name, NUL-terminated, non-empty; else NULL */
};

/*
 * Checks p[0, size): magic and every offset/size pair inside the payload
 * without overflow, the symbol table 8-byte aligned. A bad symbol or string
 * table only disables symbols (reports still work); the tables' bytes are
 * not read here (payload_sym checks what it reads). 0, or -EINVAL for a bad
 * header / app / files section or an unknown flag.
 */
int payload_parse(const void *p, uint64_t size, struct payload_view *out);

/* A guest-physical range [start, end) a placed app must stay clear of. */
struct payload_range {
	uint64_t start, end;
};

/*
 * For an app the image placed (UKVM_PAYLOAD_APP_PLACED): checks that `in`
 * (its elf_parse()d headers) is non-PIE and that every non-empty PT_LOAD,
 * widened to pages, lies in [UKVM_KERNEL_PHYS, ram_size), clear of each of
 * avoid[0, navoid) (kernel image, payload), with reserved(ctx, start, len)
 * true for it: the monitor loaded it and the FDT reserve map keeps it from the
 * allocator. Touches no segment memory. 0, or -ENOEXEC with *bad set to the
 * offending program header index (-1 for a PIE app).
 */
int payload_check_placed(const struct elf_info *in, uint64_t ram_size, const struct payload_range *avoid,
			 unsigned navoid, bool (*reserved)(void *ctx, uint64_t start, uint64_t len), void *ctx,
			 int *bad);

/*
 * Nearest symbol at or below addr in the right run (kernel symbols for
 * kernel-alias addresses, app symbols otherwise, PIE ones shifted by
 * app_base) whose size covers addr (or size 0 and within 64 KiB). Returns the
 * NUL-terminated name and *off, or NULL.
 */
const char *payload_sym(const struct payload_view *v, uint64_t addr, uint64_t *off);

#endif
