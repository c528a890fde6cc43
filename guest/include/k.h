/* k.h: core guest-kernel services (guest/kernel) that the rest of the kernel calls; includes the headers of the core modules. */
#ifndef K_H
#define K_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "hypercall.h"
#include "krandom.h"
#include "pages.h"
#include "panic.h"
#include "user.h"

/* Kernel heap (guest/kernel/kmalloc.c). Memory is not zeroed except by k_calloc. NULL when out of memory. */
void *k_malloc(size_t n);
void *k_calloc(size_t count, size_t n);
void *k_realloc(void *p, size_t n);
void k_free(void *p);

/* printf-style output to the console (%d %i %u %x %lx %llx %p %s %c %zu %ld %lu, width and 0-pad). */
int k_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int k_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int k_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Raises signal sig on the current thread, as the kernel does for a write to
 * a pipe nobody reads (SIGPIPE): acted on at syscall exit like tkill on self.
 */
void k_sig_raise(int sig);

#endif
