/* misc_stubs.h: host stand-ins for the guest core's k_* services, used by the kstring/krandom/ksys suites. */
#ifndef MISC_STUBS_H
#define MISC_STUBS_H

#include <stddef.h>
#include <stdint.h>

/* Everything our code wrote to the console (mt_console_write) since the last stub_reset(), NUL-terminated, and the number of calls. */
extern char stub_console[8192];
extern size_t stub_console_len;
extern int stub_console_calls;

/* The fake clocks: the monotonic clock is stub_mono_ns, the realtime one stub_epoch_ns + stub_mono_ns. */
extern uint64_t stub_mono_ns;
extern uint64_t stub_epoch_ns;
/* Last deadline given to the sleep service (which advances the monotonic clock to it), UINT64_MAX if none. */
extern uint64_t stub_sleep_deadline;

/* When set, a crash(sig) exits the process with stub_crash_hook(sig); otherwise with 128 + sig; an exit exits with its status. */
extern int (*stub_crash_hook)(int sig);

/* Clears the console capture and the sleep record. */
void stub_reset(void);

#endif
