/*
 * bootprof.c: `make guest-bootprof` only (built with -finstrument-functions
 * -DUKVM_BOOTPROF): records every kernel function entered, for
 * tools/bootorder.sh, which writes guest/kernel-boot.ld from it.
 */
#ifdef UKVM_BOOTPROF
#include <stdint.h>

#include "bootprof.h"
#include "kprintf.h"

/* An open-addressed set of function addresses; far more slots than the kernel has functions. */
#define BOOTPROF_SLOTS 8192
static uint64_t bootprof_fn[BOOTPROF_SLOTS];
static int bootprof_off;

__attribute__((no_instrument_function)) void __cyg_profile_func_enter(void *fn, void *site);
__attribute__((no_instrument_function)) void __cyg_profile_func_exit(void *fn, void *site);

void __cyg_profile_func_enter(void *fn, void *site)
{
	(void)site;
	if (bootprof_off)
		return;
	uint64_t a = (uint64_t)(uintptr_t)fn, h = ((a >> 4) * 0x9e3779b97f4a7c15ull) >> 51;
	for (unsigned i = 0; i < BOOTPROF_SLOTS; i++) {
		uint64_t *e = &bootprof_fn[(h + i) & (BOOTPROF_SLOTS - 1)];
		if (*e == a)
			return;
		if (!*e) {
			*e = a;
			return;
		}
	}
}

void __cyg_profile_func_exit(void *fn, void *site)
{
	(void)fn;
	(void)site;
}

__attribute__((no_instrument_function)) void k_bootprof_dump(void)
{
	bootprof_off = 1; /* what printing calls is not boot's */
	for (unsigned i = 0; i < BOOTPROF_SLOTS; i++)
		if (bootprof_fn[i])
			k_printf("ukvm-bootprof: %lx\n", (unsigned long)bootprof_fn[i]);
}
#endif
