/* misc_stubs.h: the controls of the host fakes of the guest core (misc_stubs.c) for the kstring/krandom/ksys suites. */
#ifndef MISC_STUBS_H
#define MISC_STUBS_H

#include <stddef.h>
#include <stdint.h>

/* Everything our code wrote to the console (k_hypercall_console) since the last stub_reset(), NUL-terminated, and the number of calls. */
extern char stub_console[8192];
extern size_t stub_console_len;
extern int stub_console_calls;
/* The stream of the last console call (1 stdout, 2 stderr; 0 none since stub_reset). */
extern unsigned stub_console_stream;

/* The fake clocks: the monotonic clock is stub_mono_ns, the realtime one stub_epoch_ns + stub_mono_ns. */
extern uint64_t stub_mono_ns;
extern uint64_t stub_epoch_ns;
/* Last deadline given to the sleep service (which advances the monotonic clock to it), UINT64_MAX if none. */
extern uint64_t stub_sleep_deadline;

/* When set, a crash(sig) exits the process with stub_crash_hook(sig); otherwise with 128 + sig; an exit exits with its status. */
extern int (*stub_crash_hook)(int sig);

/* The last RLIMIT_NOFILE given to the fd table (fs_fd_set_limit). */
extern uint64_t stub_fd_limit;

/* What sys_futex passed to the PI futex calls last (misc_stubs.c counts them in stub_pi_calls). */
extern const uint32_t *stub_pi_word;
extern uint64_t stub_pi_deadline;
extern int stub_pi_calls;

/* Clears the console capture and the sleep record. */
void stub_reset(void);

#endif
