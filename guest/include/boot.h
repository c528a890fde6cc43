/* boot.h: what the kernel learnt at boot from the FDT (guest/kernel/boot.c) and the payload it carries. */
#ifndef BOOT_H
#define BOOT_H

#include <stdbool.h>
#include <stdint.h>

#include "payload.h"
#include "pmem.h"

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
	const uint8_t *cpuid;    /* /chosen ukvm,cpuid: 24-byte big-endian entries (NULL if absent) */
	int cpuid_len;
};

/* Filled by k_boot before anything else runs. */
extern struct k_boot_info k_boot_info;

/* The physical page allocator over all RAM (guest/kernel/mem.c). */
extern struct pmem k_pmem;

/* Builds k_pmem from RAM size and the FDT reserve map (also reserves the kernel image). 0 or -errno. */
int k_mem_init(const void *fdt, uint64_t mem_size);

/* Loads the app from the payload, builds its stack and jumps to it (guest/kernel/loader.c). Returns -errno on failure only. */
int k_load_app(void);

/* The app's program break state (guest/sys/sys_mm.c): brk starts at start (page-aligned). */
void mm_brk_init(uint64_t start);

/* The payload's parts and symbols, validated at boot (empty for a bare kernel). */
extern struct payload_view k_boot_payload;

#endif
