/* clock.c: the kernel's monotonic and realtime clocks from the TSC, and the vDSO's copy of their parameters. */
#include "arch.h"
#include "clock.h"
#include "vdso.h"

/*
 * ns = (ticks * clk_mult) >> 32, so no division at run time. The kernel's
 * copy; the same values go to the vDSO's clock page (k_vvar), which the app
 * can overwrite, so deadlines here never read that one.
 */
static uint64_t clk_tsc0, clk_mult, clk_boot_ns;
static uint32_t clk_khz;

void k_clock_init(uint32_t tsc_khz, uint64_t boot_realtime_ns)
{
	if (tsc_khz == 0)
		tsc_khz = 1000000; /* no frequency given: assume 1 GHz rather than divide by zero */
	clk_khz = tsc_khz;
	clk_tsc0 = k_rdtsc();
	clk_mult = (1000000ull << 32) / tsc_khz;
	clk_boot_ns = boot_realtime_ns;
	k_vvar = (struct k_vvar){ .tsc0 = clk_tsc0, .mult = clk_mult, .boot_ns = clk_boot_ns };
}

uint64_t k_clock_monotonic_ns(void)
{
	uint64_t d = k_rdtsc() - clk_tsc0;
	return (uint64_t)(((unsigned __int128)d * clk_mult) >> 32);
}

void k_clock_restored(uint64_t tsc_then, uint64_t realtime_ns)
{
	/* Modulo 2^64: now - new tsc0 == tsc_then - old tsc0, whichever way the TSC moved. */
	clk_tsc0 += k_rdtsc() - tsc_then;
	clk_boot_ns = realtime_ns - k_clock_monotonic_ns();
	k_vvar.tsc0 = clk_tsc0;
	k_vvar.boot_ns = clk_boot_ns;
}

void k_clock_set_realtime(uint64_t realtime_ns, uint64_t tsc)
{
	/* Monotonic ns at tsc; a tsc before tsc0 (never from a sane monitor) counts as 0. */
	int64_t d = (int64_t)(tsc - clk_tsc0);
	uint64_t mono = d > 0 ? (uint64_t)(((unsigned __int128)(uint64_t)d * clk_mult) >> 32) : 0;
	clk_boot_ns = realtime_ns - mono;
	k_vvar.boot_ns = clk_boot_ns; /* one aligned store: a vDSO reader sees the old value or the new */
}

uint64_t k_clock_realtime_ns(void)
{
	return clk_boot_ns + k_clock_monotonic_ns();
}

uint64_t k_clock_tsc_of_ns(uint64_t ns)
{
	return (uint64_t)(((unsigned __int128)ns * clk_khz) / 1000000u);
}

uint64_t k_clock_tsc_at(uint64_t ns)
{
	return clk_tsc0 + k_clock_tsc_of_ns(ns);
}
