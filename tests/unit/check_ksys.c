/* check_ksys.c: the misc syscalls (guest/sys/sys_misc.c, sys_time.c, sys_signal.c) against stubbed core services. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "misc_stubs.h"
/* Only stdint types and lx_-prefixed names: safe next to libc. */
#include "sig.h"
#include "sys.h"

#define L(p) ((long)(p))

struct ts { long sec, nsec; };
struct rl { uint64_t cur, max; };
struct sa { uint64_t handler, flags, restorer, mask; };
struct ss { uint64_t sp; int flags, pad; uint64_t size; };
struct uts { char f[6][65]; };
struct si { long uptime; unsigned long loads[3], totalram, freeram, sh, buf, ts, fs; unsigned short procs, pad;
	    unsigned long th, fh; unsigned int mem_unit; };

static void setup(void)
{
	stub_reset();
	stub_mono_ns = 5000000000ull;
	stub_crash_hook = NULL;
}

START_TEST(test_identity)
{
	struct uts u;
	uint64_t mask = 0;

	ck_assert_int_eq(sys_uname(L(&u), 0, 0, 0, 0, 0), 0);
	ck_assert_str_eq(u.f[0], "Linux");
	ck_assert_str_eq(u.f[1], "ukvm");
	ck_assert_str_eq(u.f[2], "6.1.0-ukvm");
	ck_assert_str_eq(u.f[4], "x86_64");
	ck_assert_int_eq(sys_getpid(0, 0, 0, 0, 0, 0), 1);
	ck_assert_int_eq(sys_gettid(0, 0, 0, 0, 0, 0), 1);
	ck_assert_int_eq(sys_getppid(0, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_getuid(0, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_set_tid_address(L(&mask), 0, 0, 0, 0, 0), 1);
	ck_assert_int_eq(sys_set_robust_list(L(&mask), 24, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_set_robust_list(L(&mask), 23, 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_sched_getaffinity(0, 128, L(&mask), 0, 0, 0), 8);
	ck_assert_uint_eq(mask, 1);
	ck_assert_int_eq(sys_sched_getaffinity(0, 4, L(&mask), 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_sched_getaffinity(7, 8, L(&mask), 0, 0, 0), -ESRCH);
}
END_TEST

START_TEST(test_rlimit_sysinfo)
{
	struct rl r, nr;
	struct si s;

	ck_assert_int_eq(sys_getrlimit(3, L(&r), 0, 0, 0, 0), 0); /* RLIMIT_STACK */
	ck_assert_uint_eq(r.cur, 8u << 20);
	ck_assert_int_eq(sys_prlimit64(0, 7, 0, L(&r), 0, 0), 0); /* RLIMIT_NOFILE */
	ck_assert_uint_eq(r.cur, 1024);
	nr = (struct rl){ 100, 1024 };
	ck_assert_int_eq(sys_prlimit64(1, 7, L(&nr), L(&r), 0, 0), 0);
	ck_assert_uint_eq(r.cur, 1024); /* old value returned */
	ck_assert_int_eq(sys_getrlimit(7, L(&r), 0, 0, 0, 0), 0);
	ck_assert_uint_eq(r.cur, 100);
	ck_assert_uint_eq(stub_fd_limit, 100); /* enforced by the fd table */
	/* Root may raise a hard limit (CAP_SYS_RESOURCE), RLIMIT_NOFILE's up to fs.nr_open. */
	nr = (struct rl){ 100, 5000 };
	ck_assert_int_eq(sys_prlimit64(0, 7, L(&nr), 0, 0, 0), 0);
	nr = (struct rl){ 100, 2u << 20 };
	ck_assert_int_eq(sys_prlimit64(0, 7, L(&nr), 0, 0, 0), -EPERM);
	nr = (struct rl){ 1024, 1024 };
	ck_assert_int_eq(sys_setrlimit(7, L(&nr), 0, 0, 0, 0), 0);
	ck_assert_uint_eq(stub_fd_limit, 1024);
	nr = (struct rl){ 200, 100 };
	ck_assert_int_eq(sys_prlimit64(0, 7, L(&nr), 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_prlimit64(0, 16, 0, L(&r), 0, 0), -EINVAL);
	ck_assert_int_eq(sys_prlimit64(2, 7, 0, L(&r), 0, 0), -ESRCH);
	stub_mono_ns = 2500000000ull;
	ck_assert_int_eq(sys_sysinfo(L(&s), 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(s.uptime, 3);
	ck_assert_uint_eq(s.totalram, 64u << 20);
	ck_assert_uint_eq(s.freeram, 48u << 20);
	ck_assert_uint_eq(s.procs, 1);
	ck_assert_uint_eq(s.mem_unit, 1);
}
END_TEST

/* getrusage: CPU time is the time since boot, all user time; children used nothing; maxrss is RAM in use. */
START_TEST(test_getrusage)
{
	struct { long ut_s, ut_us, st_s, st_us, rest[14]; } ru;
	_Static_assert(sizeof(ru) == 144, "struct rusage");

	stub_mono_ns = 3000004500ull;
	memset(&ru, 0xff, sizeof(ru));
	ck_assert_int_eq(sys_getrusage(0, L(&ru), 0, 0, 0, 0), 0);
	ck_assert_int_eq(ru.ut_s, 3);
	ck_assert_int_eq(ru.ut_us, 4);
	ck_assert_int_eq(ru.st_s, 0);
	ck_assert_int_eq(ru.st_us, 0);
	ck_assert_int_eq(ru.rest[0], (16 << 20) >> 10); /* stubs: 64 MiB total, 48 MiB free */
	ck_assert_int_eq(ru.rest[13], 0);
	memset(&ru, 0xff, sizeof(ru));
	ck_assert_int_eq(sys_getrusage(-1, L(&ru), 0, 0, 0, 0), 0);
	ck_assert_int_eq(ru.ut_s, 0);
	ck_assert_int_eq(ru.rest[0], 0);
	ck_assert_int_eq(sys_getrusage(1, L(&ru), 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_getrusage(2, L(&ru), 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_getrusage(0, 8, 0, 0, 0, 0), -EFAULT);
}
END_TEST

START_TEST(test_clocks)
{
	struct ts t;
	long tv[2];

	stub_mono_ns = 7000000123ull;
	for (long c = 0; c <= 7; c++)
		ck_assert_int_eq(sys_clock_gettime(c, L(&t), 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_clock_gettime(1, L(&t), 0, 0, 0, 0), 0);
	ck_assert_int_eq(t.sec, 7);
	ck_assert_int_eq(t.nsec, 123);
	ck_assert_int_eq(sys_clock_gettime(0, L(&t), 0, 0, 0, 0), 0);
	ck_assert_int_eq(t.sec, 1700000007);
	ck_assert_int_eq(sys_clock_gettime(8, L(&t), 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_clock_gettime(-6, L(&t), 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_clock_getres(1, L(&t), 0, 0, 0, 0), 0);
	ck_assert_int_eq(t.sec, 0);
	ck_assert_int_eq(t.nsec, 1);
	ck_assert_int_eq(sys_clock_getres(1, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_gettimeofday(L(tv), 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(tv[0], 1700000007);
	ck_assert_int_eq(tv[1], 0);
	ck_assert_int_eq(sys_time(0, 0, 0, 0, 0, 0), 1700000007);
}
END_TEST

START_TEST(test_sleep)
{
	struct ts req = { 0, 100000000 }, rem = { 9, 9 };

	ck_assert_int_eq(sys_nanosleep(L(&req), L(&rem), 0, 0, 0, 0), 0);
	ck_assert_uint_eq(stub_sleep_deadline, 5100000000ull);
	ck_assert_int_eq(rem.sec, 0);
	ck_assert_int_eq(rem.nsec, 0);
	/* TIMER_ABSTIME on MONOTONIC: until 6 s. */
	req = (struct ts){ 6, 0 };
	ck_assert_int_eq(sys_clock_nanosleep(1, 1, L(&req), 0, 0, 0), 0);
	ck_assert_uint_eq(stub_sleep_deadline, 6000000000ull);
	/* TIMER_ABSTIME on REALTIME 2 s ahead of the wall clock. */
	req = (struct ts){ 1700000008, 0 };
	ck_assert_int_eq(sys_clock_nanosleep(0, 1, L(&req), 0, 0, 0), 0);
	ck_assert_uint_eq(stub_sleep_deadline, 8000000000ull);
	/* A deadline in the past returns at once (deadline not after now). */
	req = (struct ts){ 1, 0 };
	ck_assert_int_eq(sys_clock_nanosleep(1, 1, L(&req), 0, 0, 0), 0);
	ck_assert_uint_le(stub_sleep_deadline, 8000000000ull);
	ck_assert_int_eq(sys_clock_nanosleep(3, 0, L(&req), 0, 0, 0), -EINVAL);
}
END_TEST

START_TEST(test_sleep_hostile)
{
	struct ts req = { 0, 1000000000 };

	ck_assert_int_eq(sys_nanosleep(L(&req), 0, 0, 0, 0, 0), -EINVAL);
	req = (struct ts){ -1, 0 };
	ck_assert_int_eq(sys_nanosleep(L(&req), 0, 0, 0, 0, 0), -EINVAL);
	req = (struct ts){ 0, -1 };
	ck_assert_int_eq(sys_nanosleep(L(&req), 0, 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_nanosleep(16, 0, 0, 0, 0, 0), -EFAULT);
	ck_assert_uint_eq(stub_sleep_deadline, UINT64_MAX); /* none of these slept */
	/* An absurd duration saturates instead of wrapping into the past or into "forever". */
	req = (struct ts){ INT64_MAX, 999999999 };
	ck_assert_int_eq(sys_nanosleep(L(&req), 0, 0, 0, 0, 0), 0);
	ck_assert_uint_eq(stub_sleep_deadline, (uint64_t)INT64_MAX);
}
END_TEST

START_TEST(test_futex)
{
	uint32_t word = 5;
	struct ts to = { 0, 1000 };

	ck_assert_int_eq(sys_futex(L(&word), 128, 4, 0, 0, 0), -EAGAIN); /* WAIT_PRIVATE, mismatch */
	ck_assert_int_eq(sys_futex(L(&word), 0, 5, L(&to), 0, 0), -ETIMEDOUT);
	ck_assert_uint_eq(stub_sleep_deadline, 5000001000ull);
	to = (struct ts){ 9, 0 }; /* WAIT_BITSET takes an absolute monotonic deadline */
	ck_assert_int_eq(sys_futex(L(&word), 9 | 128, 5, L(&to), 0, -1), -ETIMEDOUT);
	ck_assert_uint_eq(stub_sleep_deadline, 9000000000ull);
	ck_assert_int_eq(sys_futex(L(&word), 9, 5, L(&to), 0, 0), -EINVAL); /* empty bitset */
	ck_assert_int_eq(sys_futex(L(&word), 1 | 128, 1, 0, 0, 0), 0);      /* WAKE: nobody */
	/* The PI forms: LOCK_PI's deadline is absolute realtime, LOCK_PI2's absolute monotonic, both made monotonic. */
	stub_pi_calls = 0;
	ck_assert_int_eq(sys_futex(L(&word), 6, 0, 0, 0, 0), 0); /* LOCK_PI, no timeout */
	ck_assert_ptr_eq(stub_pi_word, &word);
	ck_assert_uint_eq(stub_pi_deadline, (uint64_t)INT64_MAX);
	stub_mono_ns = 20000000000ull;
	to = (struct ts){ (int64_t)((stub_epoch_ns + stub_mono_ns) / 1000000000u) + 2, 0 }; /* realtime now + 2 s */
	ck_assert_int_eq(sys_futex(L(&word), 6 | 128, 0, L(&to), 0, 0), 0);
	ck_assert_uint_eq(stub_pi_deadline, 22000000000ull);
	to = (struct ts){ 31, 0 };
	ck_assert_int_eq(sys_futex(L(&word), 13, 0, L(&to), 0, 0), 0); /* LOCK_PI2 */
	ck_assert_uint_eq(stub_pi_deadline, 31000000000ull);
	ck_assert_int_eq(sys_futex(L(&word), 8, 0, 0, 0, 0), 0);     /* TRYLOCK_PI */
	ck_assert_int_eq(sys_futex(L(&word), 7 | 128, 0, 0, 0, 0), 0); /* UNLOCK_PI */
	ck_assert_int_eq(stub_pi_calls, 10103); /* 3 locks, 1 trylock, 1 unlock */
	/* FUTEX_CLOCK_REALTIME only with WAIT_BITSET and LOCK_PI2 (LOCK_PI is realtime already), as on Linux. */
	ck_assert_int_eq(sys_futex(L(&word), 6 | 256, 0, 0, 0, 0), -ENOSYS);
	ck_assert_int_eq(sys_futex(L(&word), 1 | 256, 1, 0, 0, 0), -ENOSYS);
	ck_assert_int_eq(sys_futex(L(&word), 13 | 256, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_futex(L(&word) + 2, 7, 0, 0, 0, 0), -EINVAL); /* unaligned */
	to = (struct ts){ 0, 1000 };
	ck_assert_int_eq(sys_futex(L(&word) + 1, 1, 1, 0, 0, 0), -EINVAL);   /* unaligned */
	ck_assert_int_eq(sys_futex(16, 0, 0, 0, 0, 0), -EFAULT);
	to = (struct ts){ 0, 2000000000 };
	ck_assert_int_eq(sys_futex(L(&word), 0, 5, L(&to), 0, 0), -EINVAL);
}
END_TEST

static int expect_deadlock(int sig)
{
	return sig == 6 && strstr(stub_console, "deadlock: every thread is blocked with no timeout") ? 134 : 1;
}

START_TEST(test_futex_deadlock)
{
	uint32_t word = 0;

	stub_crash_hook = expect_deadlock;
	sys_futex(L(&word), 128, 0, 0, 0, 0);
}
END_TEST

START_TEST(test_sigaction)
{
	struct sa act = { 0x401000, 0x04000000, 0x402000, ~0ull }, old;

	ck_assert_int_eq(sys_rt_sigaction(10, L(&act), 0, 8, 0, 0), 0);
	ck_assert_int_eq(sys_rt_sigaction(10, 0, L(&old), 8, 0, 0), 0);
	ck_assert_uint_eq(old.handler, 0x401000);
	ck_assert_uint_eq(old.restorer, 0x402000);
	ck_assert_uint_eq(old.mask, ~0ull & ~((1ull << 8) | (1ull << 18))); /* KILL/STOP never blocked */
	ck_assert_int_eq(sys_rt_sigaction(9, L(&act), 0, 8, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_rt_sigaction(19, L(&act), 0, 8, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_rt_sigaction(9, 0, L(&old), 8, 0, 0), 0);
	ck_assert_int_eq(sys_rt_sigaction(0, 0, L(&old), 8, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_rt_sigaction(65, 0, L(&old), 8, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_rt_sigaction(10, L(&act), 0, 16, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_rt_sigaction(10, 16, 0, 8, 0, 0), -EFAULT);
	/* A handler runs when the syscall returns (k_sig_syscall_exit): until then the signal is pending, quietly. */
	ck_assert_int_eq(sys_kill(1, 10, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_kill(1, 10, 0, 0, 0, 0), 0);
	ck_assert_uint_eq(k_sig.pending & (1ull << 9), 1ull << 9);
	ck_assert_int_eq(k_sig.code[10], 0); /* SI_USER */
	ck_assert_int_eq(sys_tkill(1, 10, 0, 0, 0, 0), 0);
	ck_assert_int_eq(k_sig.code[10], -6); /* SI_TKILL */
	ck_assert_int_eq(stub_console_calls, 0);
}
END_TEST

START_TEST(test_sigmask_kill)
{
	uint64_t set = ~0ull, old = 1;
	struct ss st = { 0x10000, 0, 0, 8192 }, ost;

	ck_assert_int_eq(sys_rt_sigprocmask(0, L(&set), L(&old), 8, 0, 0), 0);
	ck_assert_uint_eq(old, 0);
	ck_assert_int_eq(sys_rt_sigprocmask(0, 0, L(&old), 8, 0, 0), 0);
	ck_assert_uint_eq(old, ~0ull & ~((1ull << 8) | (1ull << 18)));
	ck_assert_int_eq(sys_rt_sigprocmask(7, L(&set), 0, 8, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_rt_sigprocmask(0, L(&set), 0, 4, 0, 0), -EINVAL);
	/* Blocked SIGTERM stays pending; ignoring it discards it so unblocking is harmless. */
	ck_assert_int_eq(sys_kill(0, 15, 0, 0, 0, 0), 0);
	struct sa ign = { 1, 0, 0, 0 };
	ck_assert_int_eq(sys_rt_sigaction(15, L(&ign), 0, 8, 0, 0), 0);
	set = 0;
	ck_assert_int_eq(sys_rt_sigprocmask(2, L(&set), 0, 8, 0, 0), 0);
	ck_assert_int_eq(sys_kill(1, 0, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_kill(1, 17, 0, 0, 0, 0), 0); /* SIGCHLD: default ignore */
	ck_assert_int_eq(sys_kill(1, 28, 0, 0, 0, 0), 0); /* SIGWINCH */
	ck_assert_int_eq(sys_kill(2, 15, 0, 0, 0, 0), -ESRCH);
	ck_assert_int_eq(sys_kill(1, 65, 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_tkill(2, 6, 0, 0, 0, 0), -ESRCH);
	ck_assert_int_eq(sys_tkill(0, 6, 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_tgkill(1, 2, 6, 0, 0, 0), -ESRCH);
	ck_assert_int_eq(sys_sigaltstack(L(&st), L(&ost), 0, 0, 0, 0), 0);
	ck_assert_int_eq(ost.flags, 2); /* SS_DISABLE before */
	ck_assert_int_eq(sys_sigaltstack(0, L(&ost), 0, 0, 0, 0), 0);
	ck_assert_uint_eq(ost.sp, 0x10000);
	st.size = 100;
	ck_assert_int_eq(sys_sigaltstack(L(&st), 0, 0, 0, 0, 0), -ENOMEM);
	st.flags = 77;
	ck_assert_int_eq(sys_sigaltstack(L(&st), 0, 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(stub_console_calls, 0);
}
END_TEST

static int expect_sigabrt(int sig)
{
	return sig == 6 && strstr(stub_console, "ukvm: app killed by signal 6 (SIGABRT)\n") ? 134 : 1;
}

/* musl's raise(): block app signals around tkill, then restore the mask, which delivers it. */
static void musl_raise(int sig)
{
	uint64_t app = 0xfffffffc7fffffffull, old;

	sys_rt_sigprocmask(0, L(&app), L(&old), 8, 0, 0);
	sys_tkill(1, sig, 0, 0, 0, 0);
	sys_rt_sigprocmask(2, L(&old), 0, 8, 0, 0);
}

START_TEST(test_abort_default)
{
	stub_crash_hook = expect_sigabrt;
	musl_raise(6);
}
END_TEST

/* musl's abort() with a handler that returns: raise, block all, SIG_DFL, tkill, unblock SIGABRT. */
START_TEST(test_abort_with_handler)
{
	struct sa h = { 0x401000, 0, 0, 0 }, dfl = { 0, 0, 0, 0 };
	uint64_t all = ~0ull, abrt = 1ull << 5;

	stub_crash_hook = expect_sigabrt;
	sys_rt_sigaction(6, L(&h), 0, 8, 0, 0);
	musl_raise(6);
	/* Pending for the handler the syscall's return would run; the rest of abort() still kills. */
	ck_assert_uint_eq(k_sig.pending & abrt, abrt);
	k_sig.pending &= ~abrt;
	sys_rt_sigprocmask(0, L(&all), 0, 8, 0, 0);
	sys_rt_sigaction(6, L(&dfl), 0, 8, 0, 0);
	sys_tkill(1, 6, 0, 0, 0, 0);
	sys_rt_sigprocmask(1, L(&abrt), 0, 8, 0, 0);
}
END_TEST

START_TEST(test_kill_term)
{
	sys_kill(1, 15, 0, 0, 0, 0);
}
END_TEST

START_TEST(test_exit_status)
{
	sys_exit_group(256 + 42, 0, 0, 0, 0, 0);
}
END_TEST

START_TEST(test_ksys_hostile)
{
	ck_assert_int_eq(sys_uname(0, 0, 0, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_uname(-16, 0, 0, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_clock_gettime(1, 8, 0, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_sysinfo(0, 0, 0, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_getrlimit(3, 0, 0, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_prlimit64(0, -1, 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_prlimit64(0, 3, 8, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_rt_sigaction(-5, 0, 0, 8, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_rt_sigprocmask(0, 8, 0, 8, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_kill(1, -1, 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_time(8, 0, 0, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_gettimeofday(8, 0, 0, 0, 0, 0), -EFAULT);
}
END_TEST

Suite *ksys_suite(void)
{
	Suite *s = suite_create("ksys");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_identity);
	tcase_add_test(tc, test_rlimit_sysinfo);
	tcase_add_test(tc, test_clocks);
	tcase_add_test(tc, test_getrusage);
	tcase_add_test(tc, test_sleep);
	tcase_add_test(tc, test_futex);
	tcase_add_exit_test(tc, test_futex_deadlock, 134);
	tcase_add_test(tc, test_sigaction);
	tcase_add_test(tc, test_sigmask_kill);
	tcase_add_exit_test(tc, test_abort_default, 134);
	tcase_add_exit_test(tc, test_abort_with_handler, 134);
	tcase_add_exit_test(tc, test_kill_term, 143);
	tcase_add_exit_test(tc, test_exit_status, 42);
	suite_add_tcase(s, tc);
	tc = tcase_create("hostile");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_sleep_hostile);
	tcase_add_test(tc, test_ksys_hostile);
	suite_add_tcase(s, tc);
	return s;
}
