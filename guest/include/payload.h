/* payload.h: validation of the image payload (struct ukvm_payload_hdr) and symbol lookup in it; pure, host-testable. */
#ifndef PAYLOAD_H
#define PAYLOAD_H

#include <stdint.h>

#include "ukvm_abi.h"

/* The payload's parts, each checked to lie inside the payload. */
struct payload_view {
	const uint8_t *app;
	uint64_t app_size;
	const uint8_t *files;
	uint64_t files_size;
	const struct ukvm_sym *syms; /* NULL when count is 0 or the table is unusable */
	uint64_t syms_count;
	const char *strs;
	uint64_t strs_size;
	uint64_t app_syms;  /* index of the first UKVM_SYM_APP symbol (== syms_count when none) */
	uint64_t app_base;  /* load base of a static-PIE app (set by the loader), else 0 */
};

/*
 * Checks p[0, size): magic and every offset/size pair inside the payload
 * without overflow, the symbol table 8-byte aligned. A bad symbol or string
 * table only disables symbols (reports still work). 0, or -EINVAL for a bad
 * header / app / files section.
 */
int payload_parse(const void *p, uint64_t size, struct payload_view *out);

/*
 * Nearest symbol at or below addr in the right run (kernel symbols for
 * kernel-alias addresses, app symbols otherwise, PIE ones shifted by
 * app_base) whose size covers addr (or size 0 and within 64 KiB). Returns the
 * NUL-terminated name and *off, or NULL.
 */
const char *payload_sym(const struct payload_view *v, uint64_t addr, uint64_t *off);

#endif
