/* conout.h: console output, the app's writes to fds 1 and 2 coalesced in the monitor's console buffer (guest/fs/conout.c). */
#ifndef CONOUT_H
#define CONOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The console buffer the monitor offered (/chosen/ukvm,conbuf: proto/ukvm_abi.h,
 * "Console buffer"), reached through the identity mapping; never called:
 * every write goes through the console ports.
 */
void fs_conout_init(uint64_t gpa, uint64_t size);

/* Whether stream (K_CONSOLE_OUT or K_CONSOLE_ERR) is buffered: only when its host fd is not a terminal. */
void fs_conout_buffered(unsigned stream, bool on);

/*
 * Writes buf to stream (K_CONSOLE_OUT or K_CONSOLE_ERR): appended to the
 * console buffer when the stream is buffered and it fits (no exit; the
 * monitor writes it out at the guest's next hypercall or when the run ends),
 * else one console hypercall per UKVM_CONSOLE_MAX bytes, which the monitor
 * serves after draining the buffer. Returns bytes written or -errno.
 */
long fs_conout_write(unsigned stream, const void *buf, size_t len);

#endif
