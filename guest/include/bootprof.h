/* bootprof.h: the boot profile of `make guest-bootprof` (guest/kernel/bootprof.c), absent from ordinary builds. */
#ifndef BOOTPROF_H
#define BOOTPROF_H

#ifdef UKVM_BOOTPROF
/* Prints every function entered so far, one "ukvm-bootprof: ADDRESS" line each, on the console's stderr. */
void k_bootprof_dump(void);
#else
static inline void k_bootprof_dump(void)
{
}
#endif

#endif
