/* fs_shim.h: what the host shim of k.h (fs_shim.c) exposes to the file-system tests. */
#ifndef FS_SHIM_H
#define FS_SHIM_H

#include <stddef.h>

/* Everything k_hypercall_console received since the last reset, and how many calls it took. */
extern char fs_shim_console[65536];
extern size_t fs_shim_console_len;
extern unsigned fs_shim_console_calls;
void fs_shim_reset(void);

/* When nonzero, the next k_malloc/k_realloc/k_calloc calls fail after this many successes (1 = next fails). */
extern int fs_shim_fail_alloc_after;

/* How many times a poll/select blocked (the shim's k_wait_block: its deadline has passed) since the last reset. */
extern unsigned fs_shim_blocks;

#endif
