/* panic.h: crash reports (guest/kernel/panic.c): k_panic, and the report buffer, symbols and backtraces the fault path uses. */
#ifndef PANIC_H
#define PANIC_H

#include <stdint.h>

/* Prints "ukvm: panic: ..." with a backtrace and ends the VM (crash, SIGABRT). */
_Noreturn void k_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Appends to the pending crash report (4 KiB, truncated beyond), written in one console hypercall by k_panic_end. */
void k_panic_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes " <symbol+0xoff>" for addr to buf (kernel or app symbols from the image), or "" when unknown. */
void k_panic_symbol(uint64_t addr, char *buf, unsigned long size);

/*
 * Appends "ukvm: backtrace:" and up to 16 "  #i addr <symbol+0xoff>" frames
 * from the frame-pointer chain at rbp, each frame validated. When that chain
 * yields nothing (code built without frame pointers, like musl's string
 * functions), scans at most 8 KiB of the stack upwards from rsp instead, only
 * through RAM the kernel may read, for values pointing just after a call
 * instruction in kernel or app text, under "ukvm: backtrace (guess, from the
 * stack):". Never faults.
 */
void k_panic_backtrace(uint64_t rbp, uint64_t rsp);

/* Writes the pending report (one console hypercall) and ends the VM as killed by signal sig. */
_Noreturn void k_panic_end(int sig);

#endif
