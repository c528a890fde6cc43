/* fs_shim.c: host stand-ins for the guest core services in k.h, so guest/fs runs under ASan in the unit tests. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <malloc.h>
#include "../../guest/include/k.h"
#include "../../guest/include/pages.h"
#include "../../guest/include/boot.h"
#include "../../guest/include/cpuid.h"
#include "../../guest/include/sys.h"
#include "../../guest/include/thread.h"
#include "../../guest/include/restore.h"
#include "../../guest/include/wait.h"
#include "fs_shim.h"


char fs_shim_console[65536];
size_t fs_shim_console_len;
unsigned fs_shim_console_calls;
unsigned fs_shim_console_stream;
int fs_shim_fail_alloc_after;

void fs_shim_reset(void)
{
	fs_shim_console_len = 0;
	fs_shim_console_calls = 0;
	fs_shim_fail_alloc_after = 0;
	fs_shim_blocks = 0;
	fs_shim_block_flags = 0;
	fs_shim_during_block = NULL;
	memset(fs_shim_threads, 0, sizeof(fs_shim_threads));
	fs_shim_cur = &fs_shim_threads[0];
	fs_shim_wait_rc = 0;
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

/* The heap's footprint of a block: malloc's usable size (the guest's counts its size class). */
size_t k_malloc_size(const void *p)
{
	return p ? malloc_usable_size((void *)(uintptr_t)p) : 0;
}

/*
 * Memory files keep their data in k_pages: an arena run by the real extent
 * allocator, so a partial free, a double free or a free of foreign pages is
 * caught as in the guest (k_panic there, abort here).
 */
#define SHIM_ARENA (32u << 20)
static _Alignas(4096) uint8_t shim_arena[SHIM_ARENA];
struct pmem k_pages;
static bool shim_pages_ready;

static void shim_pages_zero(void *ctx, uint64_t addr, uint64_t len)
{
	(void)ctx;
	memset(shim_arena + addr, 0, len);
}

void *k_pages_alloc(size_t npages)
{
	uint64_t a;
	if (!shim_pages_ready) {
		pmem_init(&k_pages, SHIM_ARENA, shim_pages_zero, NULL);
		shim_pages_ready = true;
	}
	if (shim_alloc_fails() || pmem_alloc(&k_pages, npages, PMEM_KERNEL, &a))
		return NULL;
	return shim_arena + a;
}

void k_pages_free(void *p, size_t npages)
{
	uint8_t *b = p;
	if (!p)
		return;
	if (b < shim_arena || b >= shim_arena + SHIM_ARENA ||
	    pmem_free(&k_pages, (uint64_t)(b - shim_arena), npages, PMEM_KERNEL) ||
	    !shim_pages_ready) {
		fprintf(stderr, "k_pages_free(%p, %zu): bad range\n", p, npages);
		abort();
	}
}

uint64_t fs_shim_pages_used(void)
{
	return shim_pages_ready ? SHIM_ARENA - pmem_free_bytes(&k_pages) : 0;
}

/* The vfs suite counts console calls. */
long k_hypercall_console(unsigned stream, const void *buf, size_t len)
{
	fs_shim_console_stream = stream;
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

/* Host memory has no protections the kernel must respect: readable is what k_user_ok says. */
bool k_user_rok(const void *p, size_t len)
{
	return k_user_ok(p, len);
}

long k_user_strlen(const char *s, size_t max)
{
	if (!k_user_ok(s, 1))
		return -EFAULT;
	size_t n = strnlen(s, max);
	return n == max ? -ENAMETOOLONG : (long)n;
}

/* A monotonic clock that moves 1 us per look: the poll timeouts' arithmetic sees time pass. */
static uint64_t shim_mono = 1000000000ull;
uint64_t k_clock_monotonic_ns(void)
{
	return shim_mono += 1000;
}

void fs_shim_clock_forward(uint64_t ns)
{
	shim_mono += ns;
}

/*
 * The scheduler side of guest/kernel/wait.c (thread.h) for host tests: fake
 * threads whose "blocked" flag a test sets; a block runs fs_shim_during_block
 * (what other threads and pollers would do meanwhile) and then returns what
 * an unblock gave, else -ETIMEDOUT (a poll's deadline passes at once).
 */
struct k_thread fs_shim_threads[4];
struct k_thread *fs_shim_cur = &fs_shim_threads[0];
unsigned fs_shim_blocks;
unsigned fs_shim_block_flags;
void (*fs_shim_during_block)(void);

int k_thr_count(void) { return 1; } /* one thread: pipes never block in the unit tests */
int k_thr_tid(void) { return 1; }
bool k_thr_exists(int tid) { return tid == 1; }
long k_thr_post(int tid, int sig) { (void)tid, (void)sig; return -ESRCH; }
void k_sig_host_caught(void) {}
int k_thr_pick(int sig) { (void)sig; return 0; }
struct k_thread *k_thr_self(void) { return fs_shim_cur; }

long k_thr_block(uint64_t deadline, unsigned flags)
{
	struct k_thread *t = fs_shim_cur;
	(void)deadline;
	fs_shim_blocks++;
	fs_shim_block_flags = flags;
	t->blocked = true;
	t->rc = -ETIMEDOUT;
	if (fs_shim_during_block)
		fs_shim_during_block();
	t->blocked = false;
	return t->rc;
}

bool k_thr_unblock(struct k_thread *t, long rc)
{
	if (!t->blocked)
		return false;
	t->blocked = false;
	t->rc = rc;
	return true;
}

/* The WAIT hypercall: records its timeout, answers fs_shim_wait_rc (0 quiet, 1 news, < 0 failed). */
uint64_t fs_shim_wait_timeout;
int fs_shim_wait_rc;
int k_hypercall_wait(uint64_t timeout_ns)
{
	fs_shim_wait_timeout = timeout_ns;
	return fs_shim_wait_rc;
}

/* The console input hypercalls (guest/fs/conin.c): answers from fs_shim_input, else end of file. */
long (*fs_shim_input)(void *buf, size_t len);
unsigned fs_shim_input_calls;
bool fs_shim_input_wanted, fs_shim_input_is_ready, fs_shim_input_hup;
long k_hypercall_input(void *buf, size_t len, bool *hup)
{
	fs_shim_input_calls++;
	long n = fs_shim_input ? fs_shim_input(buf, len) : 0;
	*hup = n == 0 && fs_shim_input_hup;
	return n;
}
void k_hypercall_input_want(bool on)
{
	fs_shim_input_wanted = on;
}
bool k_hypercall_input_ready(void)
{
	return fs_shim_input_is_ready;
}

/* With flags: recorded too; a restored answer (UKVM_WAIT_RESTORED) carries realtime 42 s and seed bytes 7. */
uint64_t fs_shim_wait_flags;
int k_hypercall_wait_flags(uint64_t timeout_ns, uint64_t flags, struct ukvm_wait *out)
{
	fs_shim_wait_timeout = timeout_ns;
	fs_shim_wait_flags = flags;
	if (out) {
		memset(out, 0, sizeof(*out));
		out->ret = fs_shim_wait_rc;
		if (fs_shim_wait_rc == UKVM_WAIT_RESTORED) {
			out->realtime_ns = 42000000000ull;
			memset(out->seed, 7, sizeof(out->seed));
		}
	}
	return fs_shim_wait_rc;
}

/* A restore's fix-ups (guest/kernel/clock.c, random.c): recorded. */
uint64_t fs_shim_restored_tsc, fs_shim_restored_realtime;
uint8_t fs_shim_reseed[32];
void k_clock_restored(uint64_t tsc_then, uint64_t realtime_ns)
{
	fs_shim_restored_tsc = tsc_then;
	fs_shim_restored_realtime = realtime_ns;
}
int fs_shim_lapic_restored; /* guest/arch/x86_64/lapic.c: the fresh vCPU's APIC is set up again */
void k_lapic_restored(void)
{
	fs_shim_lapic_restored++;
}
/* guest/kernel/restore.c: no restore block here, so no WAIT answer is one it applied already. */
bool k_restore_answered(const uint8_t seed[32])
{
	(void)seed;
	return false;
}
void k_random_reseed(const void *seed, size_t len)
{
	memcpy(fs_shim_reseed, seed, len < sizeof(fs_shim_reseed) ? len : sizeof(fs_shim_reseed));
}

/* The signal code (guest/sys/sys_signal.c) for a pipe's SIGPIPE: a default action ends the test process like the VM. */
uint64_t k_sys_user_rsp;
_Noreturn void k_hypercall_crash(int sig)
{
	exit(128 + sig);
}

/* guest/include/pages.h: statfs's figures (a 64 MiB guest with 48 MiB free). */
void k_pages_stats(uint64_t *total, uint64_t *free)
{
	*total = 64ull << 20;
	*free = 48ull << 20;
}

/* What /proc (guest/fs/procfs.c) reads of the kernel: a boot with no app, a 2.6 GHz TSC, CPUID from fs_shim_cpuid. */
struct k_boot_info k_boot_info = { .tsc_khz = 2600000 };
struct payload_view k_boot_payload;
uint32_t fs_shim_cpuid[4];

void k_cpuid_query(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	(void)sub;
	if (leaf == 0)
		memcpy(r, (const uint32_t[4]){ 7, 0x756e6547, 0x6c65746e, 0x49656e69 }, 16); /* GenuineIntel */
	else
		memcpy(r, fs_shim_cpuid, 16);
}

long sys_getpid(long a0, long a1, long a2, long a3, long a4, long a5)
{
	(void)a0, (void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	return 1;
}

/* The guest's printf takes a subset of libc's formats with the same meaning. */
int k_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	return vsnprintf(buf, size, fmt, ap);
}

int k_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
