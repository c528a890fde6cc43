/* misc_stubs.c: host stand-ins (mt_*) for the guest core services that the kstring/krandom/ksys code under test calls. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "misc_stubs.h"

char stub_console[8192];
size_t stub_console_len;
int stub_console_calls;
uint64_t stub_mono_ns = 5000000000ull;
uint64_t stub_epoch_ns = 1700000000ull * 1000000000ull;
uint64_t stub_sleep_deadline = UINT64_MAX;
int (*stub_crash_hook)(int sig);
/* The app's RSP at its last syscall (guest/arch/x86_64/syscall.S): never on an alternate stack here. */
uint64_t k_sys_user_rsp;

/*
 * tests/build.mk builds our guest files for the host with k_hypercall_console ->
 * mt_hypercall_console and so on, so these capture exactly what our code does
 * even when another suite's weak k_* stand-ins win the link. The prototypes
 * repeat guest/include/k.h, which cannot sit next to the host's libc headers.
 */
long mt_hypercall_console(const void *buf, size_t len);
_Noreturn void mt_hypercall_exit(int status);
_Noreturn void mt_hypercall_crash(int sig);
uint64_t mt_clock_monotonic_ns(void);
uint64_t mt_clock_realtime_ns(void);
void mt_sleep_until(uint64_t deadline_ns);
bool mt_user_ok(const void *p, size_t len);
void mt_pages_stats(uint64_t *total, uint64_t *free);
_Noreturn void mt_panic(const char *fmt, ...);
long k_hypercall_console(const void *buf, size_t len);

void stub_reset(void)
{
	stub_console_len = 0;
	stub_console[0] = '\0';
	stub_console_calls = 0;
	stub_sleep_deadline = UINT64_MAX;
}

long mt_hypercall_console(const void *buf, size_t len)
{
	size_t room = sizeof(stub_console) - 1 - stub_console_len;
	size_t n = len < room ? len : room;

	memcpy(stub_console + stub_console_len, buf, n);
	stub_console_len += n;
	stub_console[stub_console_len] = '\0';
	stub_console_calls++;
	/* Other suites watch the console through their own k_hypercall_console stand-in: pass it on. */
	k_hypercall_console(buf, len);
	return (long)len;
}

/* Used only when no other suite provides one. */
__attribute__((weak)) long k_hypercall_console(const void *buf, size_t len)
{
	(void)buf;
	return (long)len;
}

_Noreturn void mt_hypercall_exit(int status)
{
	exit(status);
}

_Noreturn void mt_hypercall_crash(int sig)
{
	exit(stub_crash_hook ? stub_crash_hook(sig) : 128 + sig);
}

uint64_t mt_clock_monotonic_ns(void)
{
	return stub_mono_ns;
}

uint64_t mt_clock_realtime_ns(void)
{
	return stub_epoch_ns + stub_mono_ns;
}

void mt_sleep_until(uint64_t deadline_ns)
{
	stub_sleep_deadline = deadline_ns;
	if (deadline_ns > stub_mono_ns)
		stub_mono_ns = deadline_ns;
}

/* Like the guest's: no NULL page, no wrap-around. Tests pass small addresses to get -EFAULT. */
bool mt_user_ok(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p;

	return a >= 4096 && a + len >= a;
}

void mt_pages_stats(uint64_t *total, uint64_t *free)
{
	*total = 64ull << 20;
	*free = 48ull << 20;
}

/* A kernel bug in the code under test: say so and end like the guest (SIGABRT). */
_Noreturn void mt_panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	mt_hypercall_crash(6);
}

/*
 * guest/include/thread.h for one thread (k_thr_* -> mt_thr_* as above): a
 * wait can only end by its deadline; a wait without one is the
 * scheduler's deadlock stop.
 */
#define THR_STUB
#define THR_STUB_FOREVER ((uint64_t)INT64_MAX)
THR_STUB int mt_thr_tid(void) { return 1; }
THR_STUB int mt_thr_count(void) { return 1; }
THR_STUB bool mt_thr_exists(int tid) { return tid == 1; }
THR_STUB void mt_thr_set_clear_tid(uint64_t addr) { (void)addr; }
THR_STUB void mt_thr_yield(void) {}
THR_STUB int mt_thr_wake(const void *key, uint32_t bitset, int n) { (void)key, (void)bitset, (void)n; return 0; }
THR_STUB int mt_thr_requeue(const void *from, const void *to, int nwake, int nmove)
{
	(void)from, (void)to, (void)nwake, (void)nmove;
	return 0;
}
THR_STUB long mt_thr_post(int tid, int sig) { (void)tid, (void)sig; return -3; /* ESRCH */ }
THR_STUB _Noreturn void mt_thr_exit(int status) { mt_hypercall_exit(status); }
THR_STUB long mt_thr_wait(const void *key, uint32_t bitset, uint64_t deadline)
{
	static const char msg[] = "ukvm: deadlock: every thread is blocked with no timeout (stub)\n";
	(void)bitset;
	if (key && deadline >= THR_STUB_FOREVER) {
		mt_hypercall_console(msg, sizeof(msg) - 1);
		mt_hypercall_crash(6);
	}
	mt_sleep_until(deadline);
	return -110; /* ETIMEDOUT */
}
