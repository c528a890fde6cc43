/* clock.h: the kernel's clocks (guest/kernel/clock.c): TSC-based, no exit to read them. */
#ifndef CLOCK_H
#define CLOCK_H

#include <stdint.h>

/*
 * Starts the clocks at boot: TSC frequency in kHz (0: assume 1 GHz) and the
 * host's realtime at launch in ns. Also fills the vDSO's clock page (k_vvar).
 */
void k_clock_init(uint32_t tsc_khz, uint64_t boot_realtime_ns);

/* Nanoseconds since k_clock_init (TSC). */
uint64_t k_clock_monotonic_ns(void);

/*
 * A VM restored from a snapshot (UKVM_WAIT_RESTORED): tsc_then is the TSC
 * read just before the WAIT the snapshot was taken in. The monotonic clock
 * resumes from its value at tsc_then (never backwards, whatever the new
 * vCPU's TSC), the realtime clock reads realtime_ns now; the vDSO's clock
 * page follows. Runs while no app code can (inside the scheduler's WAIT).
 */
void k_clock_restored(uint64_t tsc_then, uint64_t realtime_ns);

/*
 * Restored from a snapshot taken running (guest/kernel/restore.c): the
 * monotonic clock runs on from the restored TSC; the realtime clock (and
 * the vDSO's) is realtime_ns at the TSC value tsc.
 */
void k_clock_set_realtime(uint64_t realtime_ns, uint64_t tsc);

/* TSC cycles in ns nanoseconds (the rate given to k_clock_init). */
uint64_t k_clock_tsc_of_ns(uint64_t ns);

/* The TSC value at monotonic time ns (for a TSC-deadline timer). */
uint64_t k_clock_tsc_at(uint64_t ns);

/* Nanoseconds since the epoch: host launch time + k_clock_monotonic_ns(). */
uint64_t k_clock_realtime_ns(void);

#endif
