/* hypercall.h: the guest's calls to the monitor (guest/arch/x86_64/hypercall.c): console, input, exit, crash, WAIT, boot marks. */
#ifndef HYPERCALL_H
#define HYPERCALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ukvm_abi.h"

/* The console's streams, numbered like the app's fds they stand for. */
#define K_CONSOLE_OUT 1 /* the host's stdout (UKVM_PORT_CONSOLE) */
#define K_CONSOLE_ERR 2 /* the host's stderr (UKVM_PORT_CONSOLE_ERR): also notices and crash reports */

/*
 * Writes buf to console stream (K_CONSOLE_OUT or K_CONSOLE_ERR): one exit
 * per UKVM_CONSOLE_MAX bytes. Returns bytes written or -errno.
 */
long k_hypercall_console(unsigned stream, const void *buf, size_t len);

/*
 * Reads what the console input (the host's stdin) holds now into buf, at
 * most len (<= UKVM_INPUT_MAX) bytes, in one exit: bytes read, 0 at end of
 * file (*hup: the input hung up, UKVM_INPUT_HUP), -EAGAIN when nothing is
 * there yet, or -errno.
 */
long k_hypercall_input(void *buf, size_t len, bool *hup);

/*
 * on: the following WAITs also end when the console input becomes readable
 * (UKVM_WAIT_INPUT); k_hypercall_input_ready() then says so until the next
 * WAIT.
 */
void k_hypercall_input_want(bool on);
bool k_hypercall_input_ready(void);

/* Ends the VM with the app's status (exit hypercall). */
_Noreturn void k_hypercall_exit(int status);

/* Ends the VM as if killed by signal sig (UKVM_PORT_CRASH); the caller has printed the report. */
_Noreturn void k_hypercall_crash(int sig);

/*
 * One WAIT hypercall: blocks until timeout_ns passed or a device has news
 * (used buffers pushed), or the input is readable (k_hypercall_input_want).
 * Returns 0 (timeout), non-zero (news: UKVM_WAIT_RET_* bits) or -errno.
 * Drivers poll their used rings afterwards either way.
 */
int k_hypercall_wait(uint64_t timeout_ns);

/*
 * k_hypercall_wait with UKVM_WAIT_* flags; also returns UKVM_WAIT_RESTORED
 * (a VM restored from a snapshot taken in this call), and copies the block
 * (realtime_ns, seed) to *out when out is not NULL.
 */
int k_hypercall_wait_flags(uint64_t timeout_ns, uint64_t flags, struct ukvm_wait *out);

/* Sends a boot-phase mark (one exit) when k_hypercall_mark_enable(true) was called; else nothing. */
void k_hypercall_mark(enum ukvm_mark m);

/* Enables k_hypercall_mark (boot, once the FDT asked for marks: ukvm,trace-boot). */
void k_hypercall_mark_enable(bool on);

#endif
