/* k.h: core guest-kernel services (guest/kernel) that the rest of the kernel calls; includes the clock, hypercall and panic headers. */
#ifndef K_H
#define K_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "hypercall.h"
#include "panic.h"

/* Kernel heap (guest/kernel/kmalloc.c). Memory is not zeroed except by k_calloc. NULL when out of memory. */
void *k_malloc(size_t n);
void *k_calloc(size_t count, size_t n);
void *k_realloc(void *p, size_t n);
void k_free(void *p);

/* Whole pages from the physical page allocator; identity-mapped, zeroed. */
void *k_pages_alloc(size_t npages);
void k_pages_free(void *p, size_t npages);

/* printf-style output to the console (%d %i %u %x %lx %llx %p %s %c %zu %ld %lu, width and 0-pad). */
int k_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int k_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int k_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * CPUID leaf/subleaf: from the monitor's copy in the FDT when it has it (no
 * exit), else by executing CPUID. Bits computed at run time (APIC id,
 * OSXSAVE) may be stale in the copy: do not use them.
 */
void k_cpuid_query(uint32_t leaf, uint32_t sub, uint32_t r[4]);

/*
 * Raises signal sig on the current thread, as the kernel does for a write to
 * a pipe nobody reads (SIGPIPE): acted on at syscall exit like tkill on self.
 */
void k_sig_raise(int sig);

/* CSPRNG output (seeded from the FDT seed and RDRAND/RDSEED when present). */
void k_random_bytes(void *buf, size_t len);

/*
 * True when [p, p + len) is memory the app may hand to a syscall: inside
 * guest RAM, not the unmapped page 0, no overflow. Syscalls return -EFAULT
 * otherwise instead of faulting in the kernel.
 */
bool k_user_ok(const void *p, size_t len);

/* Same for a NUL-terminated string of at most max bytes (incl. NUL): its length, or -EFAULT / -ENAMETOOLONG. */
long k_user_strlen(const char *s, size_t max);

/* Seeds the CSPRNG (guest/kernel/random.c) from the FDT rng-seed plus RDSEED/RDRAND when CPUID has them; call once at boot. */
void k_random_init(const void *seed, size_t len);

/* Guest RAM figures for sysinfo(2): total usable bytes and bytes the page allocator has free. */
void k_mem_stats(uint64_t *total, uint64_t *free);

#endif
