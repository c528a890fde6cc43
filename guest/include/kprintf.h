/* kprintf.h: the kernel's formatted output (guest/kernel/printf.c). */
#ifndef KPRINTF_H
#define KPRINTF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Formats into buf (size bytes incl. NUL, truncating; size 0 counts only):
 * %d %i %u %x %lx %llx %p %s %c %zu %ld %lu, width, precision and 0-pad.
 * Returns the length the whole output has, like vsnprintf.
 */
int k_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int k_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Prints to the host's stderr (never into the app's stdout) in one
 * hypercall (up to 511 bytes; longer output is truncated): for errors and
 * reports that must be seen. Bytes written or -errno.
 */
int k_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Like k_printf, for notices the user may silence (--quiet): then prints nothing and returns 0. */
int k_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Silences k_notice (boot, from /chosen/ukvm,quiet). */
void k_notice_quiet(bool on);

#endif
