/* fs_shim.h: what the host shim of k.h (fs_shim.c) exposes to the file-system tests. */
#ifndef FS_SHIM_H
#define FS_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Everything k_hypercall_console received since the last reset, and how many calls it took. */
extern char fs_shim_console[65536];
extern size_t fs_shim_console_len;
extern unsigned fs_shim_console_calls;
/* The stream of the last console call (1 stdout, 2 stderr). */
extern unsigned fs_shim_console_stream;
void fs_shim_reset(void);

/* Moves the fake monotonic clock (1 us per look otherwise) ns ahead: timers (lwIP's) come due. */
void fs_shim_clock_forward(uint64_t ns);
/* Bytes of the fake k_pages arena in use (memory files' data). */
uint64_t fs_shim_pages_used(void);
/* When nonzero, the next k_malloc/k_realloc/k_calloc/k_pages_alloc calls fail after this many successes (1 = next fails). */
extern int fs_shim_fail_alloc_after;

/* The fake threads of fs_shim.c's scheduler side (thread.h) under guest/kernel/wait.c. */
struct k_thread {
	bool blocked; /* a k_thr_unblock takes effect only then */
	long rc;      /* what the block returns */
};
extern struct k_thread fs_shim_threads[4];
extern struct k_thread *fs_shim_cur;     /* k_thr_self */
extern unsigned fs_shim_blocks;          /* k_thr_block calls since the last reset */
extern unsigned fs_shim_block_flags;     /* the last one's flags */
extern void (*fs_shim_during_block)(void); /* run inside each block */
/* The WAIT hypercall's last timeout and what it answers. */
extern uint64_t fs_shim_wait_timeout;
extern int fs_shim_wait_rc;
/* The console input hypercalls: k_hypercall_input calls fs_shim_input (NULL: end of file) and counts. */
extern long (*fs_shim_input)(void *buf, size_t len);
extern unsigned fs_shim_input_calls;
extern bool fs_shim_input_wanted;   /* the last k_hypercall_input_want */
extern bool fs_shim_input_is_ready; /* what k_hypercall_input_ready answers */
extern bool fs_shim_input_hup;      /* an end of file is a hang-up */
extern uint64_t fs_shim_wait_flags;
extern uint64_t fs_shim_restored_tsc, fs_shim_restored_realtime;
extern uint8_t fs_shim_reseed[32];
extern int fs_shim_lapic_restored;

/* CPUID's answer for every leaf but 0 (guest/fs/procfs.c's cpuinfo). */
extern uint32_t fs_shim_cpuid[4];

#endif
