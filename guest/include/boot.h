/* boot.h: the boot sequence (guest/kernel/boot.c): what the kernel learnt from the FDT and the payload it carries. */
#ifndef BOOT_H
#define BOOT_H

#include <stdbool.h>
#include <stdint.h>

#include "payload.h"

struct k_boot_info {
	const void *fdt;
	uint64_t mem_size;
	const char *argv; /* /chosen ukvm,argv stringlist (NULL if absent) */
	int argv_len;
	const char *env;  /* /chosen ukvm,env stringlist (NULL if absent) */
	int env_len;
	uint64_t payload_gpa, payload_size; /* 0/0 for a bare kernel */
	const uint8_t *rng_seed; /* /chosen rng-seed (NULL if absent), for k_random_bytes */
	int rng_seed_len;
	uint32_t tsc_khz;
	bool trace;
	bool argv0_set;   /* /chosen ukvm,argv0-set: argv[0] was chosen by the user */
	const char *argv0; /* replaces argv[0] when not NULL: the payload's app name unless argv0_set */
	const char *cwd;   /* /chosen ukvm,cwd (NULL if absent or not a NUL-terminated string) */
	const uint8_t *cpuid;    /* /chosen ukvm,cpuid: 24-byte big-endian entries (NULL if absent) */
	int cpuid_len;
	uint64_t env_start, env_end; /* set by exec: the app's initial environment strings on its stack
					(/proc/self/environ) */
	uint64_t stack_guard; /* /chosen ukvm,stack-guard: a 2 MiB page the page tables leave out (0 if absent) */
};

/* Filled by k_boot before anything else runs. */
extern struct k_boot_info k_boot_info;

/*
 * The kernel's C entry (from _start, guest/arch/x86_64/entry.S) with the
 * FDT's gpa: reads the FDT, then brings the kernel up in order (clock and
 * randomness, memory, drivers, file system) and starts the app. Never returns.
 */
_Noreturn void k_boot(uint64_t fdt_gpa);

/* The payload's parts and symbols, validated at boot (empty for a bare kernel). */
extern struct payload_view k_boot_payload;

#endif
