/* misc_stubs.c: host fakes of the guest core services that the kstring/krandom/ksys code under test calls (tests/build.mk, group gcore). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "misc_stubs.h"

/* The prototypes come from the guest's own headers: a fake that drifts from them does not compile. */
#include "arch.h"
#include "k.h"
#include "restore.h"
#include "fs.h"
#include "futex.h"
#include "thread.h"

char stub_console[8192];
size_t stub_console_len;
int stub_console_calls;
unsigned stub_console_stream;
uint64_t stub_mono_ns = 5000000000ull;
uint64_t stub_epoch_ns = 1700000000ull * 1000000000ull;
uint64_t stub_sleep_deadline = UINT64_MAX;
int (*stub_crash_hook)(int sig);
/* The app's RSP at its last syscall (guest/arch/x86_64/syscall.S): never on an alternate stack here. */
uint64_t k_sys_user_rsp;

/* guest/kernel/restore.c reads the restore block at a guest physical address: no restore here. */
void k_restore_check(void)
{
}

void stub_reset(void)
{
	stub_console_len = 0;
	stub_console[0] = '\0';
	stub_console_calls = 0;
	stub_console_stream = 0;
	stub_sleep_deadline = UINT64_MAX;
}

long k_hypercall_console(unsigned stream, const void *buf, size_t len)
{
	stub_console_stream = stream;
	size_t room = sizeof(stub_console) - 1 - stub_console_len;
	size_t n = len < room ? len : room;

	memcpy(stub_console + stub_console_len, buf, n);
	stub_console_len += n;
	stub_console[stub_console_len] = '\0';
	stub_console_calls++;
	return (long)len;
}

_Noreturn void k_hypercall_exit(int status)
{
	exit(status);
}

_Noreturn void k_hypercall_crash(int sig)
{
	exit(stub_crash_hook ? stub_crash_hook(sig) : 128 + sig);
}

uint64_t k_clock_monotonic_ns(void)
{
	return stub_mono_ns;
}

uint64_t k_clock_realtime_ns(void)
{
	return stub_epoch_ns + stub_mono_ns;
}

/* Where a sleep ends: the fake monotonic clock jumps to the deadline. */
static void stub_sleep_until(uint64_t deadline_ns)
{
	stub_sleep_deadline = deadline_ns;
	if (deadline_ns > stub_mono_ns)
		stub_mono_ns = deadline_ns;
}

/* Like the guest's: no NULL page, no wrap-around. Tests pass small addresses to get -EFAULT. */
bool k_user_ok(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p;

	return a >= 4096 && a + len >= a;
}

void k_pages_stats(uint64_t *total, uint64_t *free)
{
	*total = 64ull << 20;
	*free = 48ull << 20;
}

/*
 * guest/include/thread.h for one thread: a wait can only end by its
 * deadline; a wait without one is the scheduler's deadlock stop.
 */
#define THR_STUB_FOREVER ((uint64_t)INT64_MAX)
int k_thr_tid(void) { return 1; }
int k_thr_count(void) { return 1; }
bool k_thr_exists(int tid) { return tid == 1; }
void k_thr_set_clear_tid(uint64_t addr) { (void)addr; }
void k_thr_yield(void) {}
int k_thr_wake(const void *key, uint32_t bitset, int n) { (void)key, (void)bitset, (void)n; return 0; }
int k_thr_requeue(const void *from, const void *to, int nwake, int nmove)
{
	(void)from, (void)to, (void)nwake, (void)nmove;
	return 0;
}
long k_thr_post(int tid, int sig) { (void)tid, (void)sig; return -3; /* ESRCH */ }
void k_sig_host_caught(void) {}
int k_thr_pick(int sig) { (void)sig; return 0; }
static struct k_thr_attr stub_attr = { .comm = "app" };
struct k_thr_attr *k_thr_attr(int tid) { return tid == 0 || tid == 1 ? &stub_attr : NULL; }
uint64_t stub_fd_limit = 1024;
void fs_fd_set_limit(uint64_t n) { stub_fd_limit = n; }
/* guest/include/futex.h: the PI protocol itself is tested in the guest (tests/integration/check_proc.c); here what sys_futex passes. */
const uint32_t *stub_pi_word;
uint64_t stub_pi_deadline;
int stub_pi_calls; /* +1 per lock, +100 per trylock, +10000 per unlock */
long k_futex_lock_pi(uint32_t *u, uint64_t deadline, bool trylock)
{
	stub_pi_word = u;
	stub_pi_deadline = deadline;
	stub_pi_calls += trylock ? 100 : 1;
	return 0;
}
long k_futex_unlock_pi(uint32_t *u)
{
	stub_pi_word = u;
	stub_pi_calls += 10000;
	return 0;
}
_Noreturn void k_thr_exit(int status) { k_hypercall_exit(status); }
_Noreturn void k_exit(int status) { k_hypercall_exit(status); }
long k_thr_wait(const void *key, uint32_t bitset, uint64_t deadline)
{
	static const char msg[] = "ukvm: deadlock: every thread is blocked with no timeout (stub)\n";
	(void)bitset;
	if (key && deadline >= THR_STUB_FOREVER) {
		k_hypercall_console(2, msg, sizeof(msg) - 1);
		k_hypercall_crash(6);
	}
	stub_sleep_until(deadline);
	return -110; /* ETIMEDOUT */
}
