/* fs_shim.c: host stand-ins for the guest core services in k.h, so guest/fs runs under ASan in the unit tests. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include "../../guest/include/k.h"
#include "../../guest/include/thread.h"
#include "../../guest/include/wait.h"
#include "fs_shim.h"


char fs_shim_console[65536];
size_t fs_shim_console_len;
unsigned fs_shim_console_calls;
int fs_shim_fail_alloc_after;

void fs_shim_reset(void)
{
	fs_shim_console_len = 0;
	fs_shim_console_calls = 0;
	fs_shim_fail_alloc_after = 0;
	fs_shim_blocks = 0;
}

static int shim_alloc_fails(void)
{
	if (fs_shim_fail_alloc_after <= 0)
		return 0;
	return --fs_shim_fail_alloc_after == 0;
}

void *k_malloc(size_t n)
{
	return shim_alloc_fails() ? NULL : malloc(n);
}

void *k_calloc(size_t count, size_t n)
{
	return shim_alloc_fails() ? NULL : calloc(count, n);
}

void *k_realloc(void *p, size_t n)
{
	return shim_alloc_fails() ? NULL : realloc(p, n);
}

void k_free(void *p)
{
	free(p);
}

/* The vfs suite counts console calls. */
long k_hypercall_console(const void *buf, size_t len)
{
	size_t room = sizeof(fs_shim_console) - fs_shim_console_len;
	memcpy(fs_shim_console + fs_shim_console_len, buf, len < room ? len : room);
	fs_shim_console_len += len < room ? len : room;
	fs_shim_console_calls++;
	return (long)len;
}

int k_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vfprintf(stderr, fmt, ap);
	va_end(ap);
	return r;
}

uint64_t k_clock_realtime_ns(void)
{
	static uint64_t t = 1700000000ull * 1000000000ull;
	return t += 1000;
}

void k_random_bytes(void *buf, size_t len)
{
	uint8_t *p = buf;
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(0xa5 ^ i);
}

/* Page 0 is unmapped in the guest: the tests pass small integers as bad pointers. */
bool k_user_ok(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p;
	return a >= 4096 && a + len >= a;
}

long k_user_strlen(const char *s, size_t max)
{
	if (!k_user_ok(s, 1))
		return -EFAULT;
	size_t n = strnlen(s, max);
	return n == max ? -ENAMETOOLONG : (long)n;
}

/* A monotonic clock that moves 1 us per look: the poll timeouts' arithmetic sees time pass. */
uint64_t k_clock_monotonic_ns(void)
{
	static uint64_t t = 1000000000ull;
	return t += 1000;
}

/*
 * guest/include/thread.h and wait.h for one thread: pipes never block, and
 * a poll that would block sees its deadline pass (fs_shim_blocks counts those).
 */
unsigned fs_shim_blocks;
void k_wait_add(struct k_waiter *w, const void *key, uint32_t bits, k_wait_fn fn, void *ctx)
{
	(void)w, (void)key, (void)bits, (void)fn, (void)ctx;
}
void k_wait_del(struct k_waiter *w) { (void)w; }
long k_wait_block(uint64_t deadline, unsigned flags)
{
	(void)deadline, (void)flags;
	fs_shim_blocks++;
	return -ETIMEDOUT;
}

int k_thr_count(void) { return 1; }
int k_thr_tid(void) { return 1; }
bool k_thr_exists(int tid) { return tid == 1; }
long k_thr_post(int tid, int sig) { (void)tid, (void)sig; return -ESRCH; }
int k_wait_wake(const void *key, uint32_t bits, int n) { (void)key, (void)bits, (void)n; return 0; }
long k_wait_on(const void *key, uint32_t bits, uint64_t deadline, unsigned flags)
{
	(void)key, (void)bits, (void)deadline, (void)flags;
	return -EAGAIN;
}

/* The signal code (guest/sys/sys_signal.c) for a pipe's SIGPIPE: a default action ends the test process like the VM. */
uint64_t k_sys_user_rsp;
_Noreturn void k_hypercall_crash(int sig)
{
	exit(128 + sig);
}
