/* hcall.c: hypercalls to the monitor (console, exit, crash, wait, boot marks) and the TSC clock. */
#include <asm-generic/errno.h>

#include "arch.h"
#include "k.h"
#include "vdso.h"

/* Argument blocks live in the kernel image: below 4 GiB, 8-byte aligned, passed by gpa. */
static struct ukvm_console hc_console __attribute__((aligned(8)));
static struct ukvm_wait hc_wait __attribute__((aligned(8)));
static bool hc_marks;

/*
 * Clock: ns = (ticks * clk_mult) >> 32, so no division at run time. The
 * kernel's copy; the same values go to the vDSO's clock page (k_vvar), which
 * the app can overwrite, so deadlines here never read that one.
 */
static uint64_t clk_tsc0, clk_mult, clk_boot_ns;

void k_mark_enable(bool on)
{
	hc_marks = on;
}

void k_mark(enum ukvm_mark m)
{
	if (hc_marks)
		k_outl(UKVM_PORT_MARK, (uint32_t)m);
}

long k_console_write(const void *buf, size_t len)
{
	uint64_t a = (uint64_t)(uintptr_t)buf;
	size_t done = 0;

	if (a >= UKVM_KERNEL_VBASE)
		a -= UKVM_KERNEL_VBASE; /* the kernel alias maps gpa + VBASE */
	while (done < len) {
		size_t n = len - done;
		if (n > UKVM_CONSOLE_MAX)
			n = UKVM_CONSOLE_MAX;
		hc_console.gpa = a + done;
		hc_console.len = n;
		hc_console.ret = -EIO;
		k_outl(UKVM_PORT_CONSOLE, (uint32_t)K_GPA(&hc_console));
		if (hc_console.ret < 0)
			return done ? (long)done : (long)hc_console.ret;
		done += (size_t)hc_console.ret;
		if ((size_t)hc_console.ret < n)
			break;
	}
	return (long)done;
}

_Noreturn void k_exit(int status)
{
	for (;;)
		k_outl(UKVM_PORT_EXIT, (uint32_t)status); /* the monitor keeps the low 8 bits */
}

_Noreturn void k_crash(int sig)
{
	for (;;)
		k_outl(UKVM_PORT_CRASH, (uint32_t)sig);
}

void k_clock_init(uint32_t tsc_khz, uint64_t boot_realtime_ns)
{
	if (tsc_khz == 0)
		tsc_khz = 1000000; /* no frequency given: assume 1 GHz rather than divide by zero */
	clk_tsc0 = k_rdtsc();
	clk_mult = (1000000ull << 32) / tsc_khz;
	clk_boot_ns = boot_realtime_ns;
	k_vvar = (struct k_vvar){ .tsc0 = clk_tsc0, .mult = clk_mult, .boot_ns = clk_boot_ns };
}

uint64_t k_monotonic_ns(void)
{
	uint64_t d = k_rdtsc() - clk_tsc0;
	return (uint64_t)(((unsigned __int128)d * clk_mult) >> 32);
}

uint64_t k_realtime_ns(void)
{
	return clk_boot_ns + k_monotonic_ns();
}

int k_wait_news(uint64_t timeout_ns)
{
	/* One exit: the monitor returns at the timeout or as soon as a device has (or already had) news. */
	hc_wait.timeout_ns = timeout_ns;
	hc_wait.flags = 0;
	hc_wait.ret = -EIO;
	k_outl(UKVM_PORT_WAIT, (uint32_t)K_GPA(&hc_wait));
	return (int)hc_wait.ret;
}

void k_sleep_until(uint64_t deadline_ns)
{
	for (;;) {
		uint64_t now = k_monotonic_ns();
		if (now >= deadline_ns)
			return;
		/* The monitor blocks until the timeout or device news; re-check the clock either way. */
		hc_wait.timeout_ns = deadline_ns - now;
		hc_wait.flags = 0;
		hc_wait.ret = 0;
		k_outl(UKVM_PORT_WAIT, (uint32_t)K_GPA(&hc_wait));
		if (hc_wait.ret < 0)
			k_panic("WAIT hypercall failed (%ld)", (long)hc_wait.ret);
	}
}
