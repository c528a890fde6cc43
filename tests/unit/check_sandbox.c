/*
 * check_sandbox.c: unit suite "sandbox" (vmm/sandbox.c): each thread's
 * allowlist lets its calls through with the arguments it pins, and kills
 * the process (SIGSYS) on another call or another argument. Each case runs
 * in a child, with the filter built by libseccomp and again patched from a
 * kept shape (sbcache.h), which must be the same program byte for byte.
 */
#include <check.h>
#include <fcntl.h>
#include <errno.h>
#include <linux/futex.h>
#include <linux/if_tun.h>
#include <linux/io_uring.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox.h"
#include "sbcache.h"

enum { EVENT, VCPU, VCPU_SNAP, VCPU_HELPERS };

/* The fds a filter is pinned to: numbers only (the calls made fail with EBADF or EINVAL, or do nothing). */
enum { FD_VCPU = 50, FD_WAKE = 51, FD_OUT = 52, FD_ERR = 53, FD_IN = 54, FD_DEV = 55, FD_SNAP = 56,
       FD_PAGEMAP = 57, FD_RING = 60, FD_FILE = 61, FD_NEWS = 62, FD_OWN = 63, FD_OTHER = 70 };

/* Set: install() takes its filters from this cache (primed by the parent: the child must find its shape). */
static struct sbcache *cache;

static const int ev_files[] = { FD_FILE }, ev_news[] = { FD_NEWS }, vc_dev[] = { FD_DEV },
		 vc_own[] = { FD_VCPU, FD_OWN };

static struct sandbox_event event_params(void)
{
	return (struct sandbox_event){ .ring_fd = FD_RING, .files = ev_files, .nfiles = 1, .write_fds = ev_news,
				       .nwrite_fds = 1, .cache = cache };
}

static struct sandbox_vcpu vcpu_params(int list)
{
	bool helpers = list == VCPU_HELPERS; /* a user-mode NIC: close stays open (sandbox.h) */
	return (struct sandbox_vcpu){ .vcpu_fd = FD_VCPU, .pid = getpid(), .kick_signal = SIGUSR2, .wake_fd = FD_WAKE,
				      .out_fds = { FD_OUT, FD_ERR }, .in_fd = FD_IN, .dev_fds = vc_dev, .ndev_fds = 1,
				      .snap_fd = list == VCPU_SNAP ? FD_SNAP : -1,
				      .pagemap_fd = list == VCPU_SNAP ? FD_PAGEMAP : -1, .helpers = helpers,
				      .own_fds = helpers ? NULL : vc_own, .nown_fds = helpers ? 0 : 2, .cache = cache };
}

static int install(int list)
{
	struct sbcache_counts before, after;
	sbcache_get_counts(cache, &before);
	struct sandbox_event e = event_params();
	struct sandbox_vcpu v = vcpu_params(list);
	int r = list == EVENT ? sandbox_event_install(&e) : sandbox_vcpu_install_for(&v);
	sbcache_get_counts(cache, &after);
	if (!r && cache && after.hits != before.hits + 1)
		return -ESTALE; /* built, not patched: this run would not test the patched filter */
	return r;
}

/* Runs body with filters built by libseccomp, then patched from a cache primed here for each list. */
static void both_ways(void (*body)(void))
{
	cache = NULL;
	body();
	cache = sbcache_new(SBCACHE_BASE_A, SBCACHE_BASE_B);
	ck_assert_ptr_nonnull(cache);
	for (int list = EVENT; list <= VCPU_HELPERS; list++) {
		/* the child's pid differs: it is a slot of its own, so the shape is the same */
		struct sandbox_event e = event_params();
		struct sandbox_vcpu v = vcpu_params(list);
		struct sock_filter *prog;
		unsigned len;
		ck_assert_int_eq(list == EVENT ? sandbox_event_prog(&e, &prog, &len) : sandbox_vcpu_prog(&v, &prog, &len),
				 0);
		free(prog);
	}
	struct sbcache_counts n;
	sbcache_get_counts(cache, &n);
	ck_assert_uint_eq(n.shapes, 4);
	ck_assert_uint_eq(n.refused, 0);
	body();
	sbcache_free(cache);
	cache = NULL;
}

/* An argument the child replaces with its own pid (the filter pins tgkill to the process it is in). */
#define SELF (-0x5e1fL)

/*
 * Installs list in a child, makes call nr (a raw syscall: libc wrappers may
 * use others) and exits 7. Returns the child's wait status.
 */
static int in_child(int list, long nr, const long a[6])
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (install(list))
			syscall(SYS_exit_group, 3);
		long b[6];
		for (int i = 0; i < 6; i++)
			b[i] = a[i] == SELF ? getpid() : a[i];
		syscall(nr, b[0], b[1], b[2], b[3], b[4], b[5]);
		syscall(SYS_exit_group, 7);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return st;
}

/* list, syscall, then its arguments (missing ones 0). */
#define survives(list, nr, ...) \
	ck_assert_msg(ok(in_child(list, nr, (const long[6]){ __VA_ARGS__ })), "%s did not survive", #nr " " #__VA_ARGS__)
#define killed(list, nr, ...) \
	ck_assert_msg(sigsys(in_child(list, nr, (const long[6]){ __VA_ARGS__ })), "%s not killed", #nr " " #__VA_ARGS__)

static bool ok(int st)
{
	return WIFEXITED(st) && WEXITSTATUS(st) == 7;
}

static bool sigsys(int st)
{
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS;
}

static void event_thread_body(void)
{
	survives(EVENT, SYS_sched_yield, 0, 0, 0, 0);
	survives(EVENT, SYS_write, STDERR_FILENO, 0, 0, 0); /* allowed (fails: no buffer) */
	survives(EVENT, SYS_write, FD_NEWS, 0, 0, 0);
	survives(EVENT, SYS_io_uring_enter, FD_RING, 0, 0, 0);
	survives(EVENT, SYS_io_uring_register, FD_RING, IORING_UNREGISTER_FILES, 0, 0);
	survives(EVENT, SYS_pwritev2, FD_FILE, 0, 0, 0);
	survives(EVENT, SYS_preadv2, FD_FILE, 0, 0, 0);
	survives(EVENT, SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	survives(EVENT, SYS_madvise, 0, 4096, MADV_DONTNEED, 0);
	survives(EVENT, SYS_madvise, 0, 4096, MADV_FREE, 0);
	survives(EVENT, SYS_futex, 0, FUTEX_WAKE_PRIVATE, 1, 0);
	/* forbidden calls */
	killed(EVENT, SYS_getppid, 0, 0, 0, 0);
	killed(EVENT, SYS_openat, AT_FDCWD, (long)"/etc/passwd", 0, 0);
	killed(EVENT, SYS_ioctl, FD_VCPU, KVM_RUN, 0, 0); /* no KVM at all on the event thread */
	killed(EVENT, SYS_mprotect, 0, 4096, 0, 0);
	killed(EVENT, SYS_read, FD_FILE, 0, 0, 0);       /* reads go through the ring */
	/* forbidden arguments */
	killed(EVENT, SYS_write, FD_OTHER, 0, 0, 0);
	killed(EVENT, SYS_write, FD_FILE, 0, 0, 0);       /* a disk is written through the ring or pwritev */
	killed(EVENT, SYS_pwritev2, FD_OTHER, 0, 0, 0);
	killed(EVENT, SYS_preadv2, FD_NEWS, 0, 0, 0);
	killed(EVENT, SYS_io_uring_enter, FD_OTHER, 0, 0, 0);
	killed(EVENT, SYS_io_uring_register, FD_RING, IORING_REGISTER_FILES, 0, 0);
	killed(EVENT, SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, FD_FILE);         /* a file */
	killed(EVENT, SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS); /* code */
	killed(EVENT, SYS_madvise, 0, 4096, MADV_DODUMP, 0);
	killed(EVENT, SYS_futex, 0, FUTEX_LOCK_PI_PRIVATE, 0, 0);
}

START_TEST(test_event_thread)
{
	both_ways(event_thread_body);
}
END_TEST

static void vcpu_thread_body(void)
{
	static const struct timespec zero;
	survives(VCPU, SYS_ppoll, 0, 0, (long)&zero);
	survives(VCPU, SYS_ioctl, FD_VCPU, KVM_RUN, 0, 0); /* on its vCPU fd (fails: no vCPU here) */
	survives(VCPU, SYS_ioctl, FD_VCPU, KVM_GET_REGS, 0, 0);
	survives(VCPU, SYS_ioctl, FD_VCPU, KVM_GET_MSRS, 0, 0); /* any run: ukvm_snapshot may ask for one */
	survives(VCPU, SYS_ioctl, FD_VCPU, (long)(int)KVM_GET_MSRS, 0, 0);
	survives(VCPU, SYS_ioctl, FD_VCPU, KVM_GET_LAPIC, 0, 0); /* a snapshot keeps the APIC (time-slice timer) */
	/* musl's ioctl sign-extends its int request: bit 31 (an _IOR) fills the upper half; the kernel reads 32 bits */
	survives(VCPU, SYS_ioctl, FD_VCPU, (long)(int)KVM_GET_SREGS, 0, 0);
	survives(VCPU, SYS_ioctl, FD_IN, FIONREAD, 0, 0);
	/* musl's raise (abort): tkill of the thread itself with SIGABRT (ignored here, so the child goes on) */
	signal(SIGABRT, SIG_IGN);
	survives(VCPU, SYS_tkill, SELF, SIGABRT);
	signal(SIGABRT, SIG_DFL);
	survives(VCPU, SYS_write, FD_OUT, 0, 0, 0);
	survives(VCPU, SYS_write, FD_ERR, 0, 0, 0);
	survives(VCPU, SYS_write, STDERR_FILENO, 0, 0, 0);
	survives(VCPU, SYS_write, FD_WAKE, 0, 0, 0);
	survives(VCPU, SYS_write, FD_DEV, 0, 0, 0);
	survives(VCPU, SYS_pwritev2, FD_OUT, 0, 0, 0);
	survives(VCPU, SYS_read, FD_WAKE, 0, 0, 0);
	survives(VCPU, SYS_read, FD_IN, 0, 0, 0);
	survives(VCPU, SYS_preadv2, FD_IN, 0, 0, 0);
	survives(VCPU, SYS_tgkill, SELF, 1 << 30, SIGUSR2); /* no such thread: ESRCH */
	survives(VCPU, SYS_close, FD_OWN, 0, 0, 0); /* the VM's own fds (nothing open there: EBADF) */
	survives(VCPU, SYS_close, FD_VCPU, 0, 0, 0);
	survives(VCPU, SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	survives(VCPU, SYS_madvise, 0, 4096, MADV_DONTNEED, 0);
	survives(VCPU, SYS_madvise, 0, 4096, MADV_FREE, 0);
	/* glibc's first arena trim (check_may_shrink_heap): refused with EACCES, not killed */
	survives(VCPU, SYS_openat, AT_FDCWD, (long)"/proc/sys/vm/overcommit_memory", O_RDONLY | O_CLOEXEC, 0);
	/* forbidden calls */
	killed(VCPU, SYS_io_uring_enter, FD_RING, 0, 0, 0);     /* the event thread's, not this one's */
	killed(VCPU, SYS_openat, AT_FDCWD, (long)"/etc/passwd", 0, 0);
	killed(VCPU, SYS_openat, AT_FDCWD, (long)"/etc/passwd", O_RDWR | O_CLOEXEC, 0);
	killed(VCPU, SYS_openat, AT_FDCWD, (long)"/tmp/x", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	killed(VCPU, SYS_newfstatat, AT_FDCWD, (long)"/etc/passwd", 0, 0);
	killed(VCPU, SYS_kill, getpid(), 0);
	killed(VCPU, SYS_mprotect, 0, 4096, 0, 0);
	/* forbidden arguments */
	killed(VCPU, SYS_ioctl, FD_OTHER, KVM_RUN, 0, 0);     /* another fd */
	killed(VCPU, SYS_ioctl, FD_VCPU, KVM_SET_REGS, 0, 0); /* another request */
	killed(VCPU, SYS_ioctl, FD_VCPU, KVM_SET_MSRS, 0, 0); /* a snapshot reads the vCPU, never sets it */
	killed(VCPU, SYS_ioctl, FD_IN, TIOCSTI, 0, 0);
	killed(VCPU, SYS_write, FD_OTHER, 0, 0, 0);
	killed(VCPU, SYS_write, FD_IN, 0, 0, 0);
	killed(VCPU, SYS_read, FD_OUT, 0, 0, 0);
	killed(VCPU, SYS_pwritev2, FD_DEV, 0, 0, 0);
	killed(VCPU, SYS_preadv2, FD_WAKE, 0, 0, 0);
	killed(VCPU, SYS_tgkill, getpid(), getpid(), SIGUSR2);    /* another process */
	killed(VCPU, SYS_tgkill, SELF, 1 << 30, SIGKILL);          /* another signal */
	killed(VCPU, SYS_tkill, SELF, SIGUSR2);                    /* tkill: SIGABRT only */
	killed(VCPU, SYS_tkill, 1 << 30, SIGABRT);                 /* another thread */
	killed(VCPU, SYS_ioctl, FD_VCPU, (long)(int)KVM_GET_DEBUGREGS, 0, 0); /* sign-extended: still the allowed ones only */
	killed(VCPU, SYS_close, FD_OTHER, 0, 0, 0);             /* an fd the VM does not own */
	killed(VCPU, SYS_close, STDIN_FILENO, 0, 0, 0);
	killed(VCPU, SYS_pidfd_send_signal, FD_OTHER, SIGKILL, 0, 0); /* no helper process in this VM */
	killed(VCPU, SYS_waitid, P_PIDFD, FD_OTHER, 0, WEXITED);
	killed(VCPU, SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, FD_OUT);          /* a file, shared */
	killed(VCPU, SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS);
	killed(VCPU, SYS_madvise, 0, 4096, MADV_DONTFORK, 0);
	killed(VCPU, SYS_pwrite64, FD_SNAP, 0, 0, 0); /* no snapshot in this run */
}

START_TEST(test_vcpu_thread)
{
	both_ways(vcpu_thread_body);
}
END_TEST

static void vcpu_thread_snapshot_body(void)
{
	survives(VCPU_SNAP, SYS_ioctl, FD_VCPU, KVM_GET_MSRS, 0, 0);
	survives(VCPU_SNAP, SYS_pwrite64, FD_SNAP, 0, 0, 0);
	survives(VCPU_SNAP, SYS_ftruncate, FD_SNAP, -1, 0, 0);
	survives(VCPU_SNAP, SYS_pread64, FD_PAGEMAP, 0, 0, 0);
	killed(VCPU_SNAP, SYS_ioctl, FD_OTHER, KVM_GET_MSRS, 0, 0);
	killed(VCPU_SNAP, SYS_pwrite64, FD_OUT, 0, 0, 0);
	killed(VCPU_SNAP, SYS_ftruncate, FD_OTHER, 0, 0, 0);
	killed(VCPU_SNAP, SYS_pread64, FD_SNAP, 0, 0, 0);
}

START_TEST(test_vcpu_thread_snapshot)
{
	both_ways(vcpu_thread_snapshot_body);
}
END_TEST

/* A VM with a user-mode NIC: its helper is killed and reaped by pidfd, with those arguments only. */
static void vcpu_thread_helpers_body(void)
{
	survives(VCPU_HELPERS, SYS_pidfd_send_signal, FD_OTHER, SIGKILL, 0, 0);
	survives(VCPU_HELPERS, SYS_waitid, P_PIDFD, FD_OTHER, 0, WEXITED, 0);
	survives(VCPU_HELPERS, SYS_close, FD_OTHER, 0, 0, 0); /* the helper's fds are private to net_user.c */
	killed(VCPU_HELPERS, SYS_pidfd_send_signal, FD_OTHER, SIGTERM, 0, 0);             /* another signal */
	killed(VCPU_HELPERS, SYS_pidfd_send_signal, FD_OTHER, SIGKILL, 0x1000, 0);        /* a siginfo */
	killed(VCPU_HELPERS, SYS_pidfd_send_signal, FD_OTHER, SIGKILL, 0, 1);             /* flags */
	killed(VCPU_HELPERS, SYS_waitid, P_ALL, 0, 0, WEXITED, 0);                        /* any child */
	killed(VCPU_HELPERS, SYS_waitid, P_PID, 1, 0, WEXITED, 0);
	killed(VCPU_HELPERS, SYS_waitid, P_PIDFD, FD_OTHER, 0, WEXITED | WNOWAIT, 0);     /* other options */
	killed(VCPU_HELPERS, SYS_waitid, P_PIDFD, FD_OTHER, 0, WEXITED, 0x1000);          /* an rusage */
	killed(VCPU_HELPERS, SYS_kill, 1, SIGKILL, 0, 0);
}

START_TEST(test_vcpu_thread_helpers)
{
	both_ways(vcpu_thread_helpers_body);
}
END_TEST

/* A small generator (the cases must be the same on every run). */
static unsigned rnd(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* An fd as a filter may see one: none, a standard stream, or (mostly) one of a few dozen, often repeated. */
static int rnd_fd(unsigned *s)
{
	unsigned k = rnd(s) % 24;
	return k == 0 ? -1 : k < 3 ? (int)(rnd(s) % 3) : k == 3 ? (int)(rnd(s) % 1000000) + 3 : 3 + (int)(rnd(s) % 40);
}

/* fds moved by d where > 2 (their order and equalities kept: the same shape). */
static void shift(int *fds, unsigned n, int d)
{
	for (unsigned i = 0; i < n; i++)
		fds[i] += fds[i] > 2 ? d : 0;
}

/* The program from c equals the one libseccomp builds for the same p, byte for byte. */
static void same_prog(const struct sandbox_vcpu *v, const struct sandbox_event *e, struct sbcache *c, unsigned i)
{
	struct sock_filter *a = NULL, *b = NULL;
	unsigned la = 0, lb = 0;
	if (v) {
		struct sandbox_vcpu x = *v, y = *v;
		x.cache = c, y.cache = NULL;
		ck_assert_int_eq(sandbox_vcpu_prog(&x, &a, &la), 0);
		ck_assert_int_eq(sandbox_vcpu_prog(&y, &b, &lb), 0);
	} else {
		struct sandbox_event x = *e, y = *e;
		x.cache = c, y.cache = NULL;
		ck_assert_int_eq(sandbox_event_prog(&x, &a, &la), 0);
		ck_assert_int_eq(sandbox_event_prog(&y, &b, &lb), 0);
	}
	ck_assert_uint_eq(la, lb);
	ck_assert_msg(!memcmp(a, b, la * sizeof(*a)), "case %u: the patched program differs from a fresh build", i);
	free(a);
	free(b);
}

/*
 * Random fd sets (repeats, standard streams, -1, large numbers, any order)
 * for both filters: the patched program is libseccomp's own for those fds.
 * Each set again with its fds moved (same order, same repeats): found in
 * the cache, not built.
 */
START_TEST(test_patched_equals_built)
{
	struct sbcache *c = sbcache_new(SBCACHE_BASE_A, SBCACHE_BASE_B);
	ck_assert_ptr_nonnull(c);
	unsigned seed = 12345;
	static const int sigs[] = { SIGUSR1, SIGUSR2, SIGABRT, 40 };
	for (unsigned i = 0; i < 120; i++) {
		int dev[6], own[10], files[8], news[4];
		for (unsigned k = 0; k < 6; k++)
			dev[k] = rnd_fd(&seed);
		for (unsigned k = 0; k < 10; k++)
			own[k] = rnd_fd(&seed);
		for (unsigned k = 0; k < 8; k++)
			files[k] = rnd_fd(&seed);
		for (unsigned k = 0; k < 4; k++)
			news[k] = rnd_fd(&seed);
		bool helpers = rnd(&seed) % 4 == 0, snap = rnd(&seed) % 2;
		struct sandbox_vcpu v = {
			.vcpu_fd = rnd_fd(&seed), .pid = rnd(&seed) % 3 ? getpid() : (pid_t)(rnd(&seed) % 4194300) + 1,
			.kick_signal = sigs[rnd(&seed) % 4], .wake_fd = rnd_fd(&seed),
			.out_fds = { rnd_fd(&seed), rnd_fd(&seed) }, .in_fd = rnd_fd(&seed), .dev_fds = dev,
			.ndev_fds = rnd(&seed) % 7, .snap_fd = snap ? rnd_fd(&seed) : -1, .pagemap_fd = snap ? rnd_fd(&seed) : -1,
			.stats_fd = rnd(&seed) % 2 ? rnd_fd(&seed) : -1, .helpers = helpers, .own_fds = helpers ? NULL : own,
			.nown_fds = helpers ? 0 : rnd(&seed) % 11,
		};
		struct sandbox_event e = { .ring_fd = rnd_fd(&seed), .files = files, .nfiles = rnd(&seed) % 9,
					   .write_fds = news, .nwrite_fds = rnd(&seed) % 5 };
		same_prog(&v, NULL, c, i);
		same_prog(NULL, &e, c, i);
		struct sbcache_counts n0, n1;
		sbcache_get_counts(c, &n0);
		shift(&v.vcpu_fd, 1, 1000), shift(&v.wake_fd, 1, 1000), shift(v.out_fds, 2, 1000), shift(&v.in_fd, 1, 1000);
		shift(dev, 6, 1000), shift(own, 10, 1000), shift(&v.snap_fd, 1, 1000), shift(&v.pagemap_fd, 1, 1000);
		shift(&v.stats_fd, 1, 1000), shift(&e.ring_fd, 1, 1000), shift(files, 8, 1000), shift(news, 4, 1000);
		same_prog(&v, NULL, c, i);
		same_prog(NULL, &e, c, i);
		sbcache_get_counts(c, &n1);
		if (n0.shapes < SBCACHE_SHAPES - 1) /* kept, so found */
			ck_assert_uint_eq(n1.hits, n0.hits + 2);
	}
	struct sbcache_counts n;
	sbcache_get_counts(c, &n);
	ck_assert_uint_eq(n.refused, 0);
	ck_assert_uint_ge(n.shapes, SBCACHE_SHAPES);
	sbcache_free(c);
}
END_TEST

/*
 * Sentinels that collide with a constant of the filter (an ioctl request, a
 * signal number): the shape is refused, and the program is libseccomp's
 * own build, still the same.
 */
START_TEST(test_patched_sentinel_collision)
{
	static const uint32_t bases[][2] = {
		{ KVM_RUN, SBCACHE_BASE_B },       /* sentinel 0 of the first build is KVM_RUN */
		{ SBCACHE_BASE_A, FIONREAD - 3 },  /* sentinel 3 of the second is FIONREAD */
		{ 4, SBCACHE_BASE_B },             /* sentinel 2 is SIGABRT (tgkill) */
		{ SBCACHE_BASE_A, TUNSETOFFLOAD }, /* the event thread's ioctl */
	};
	static const int dev[] = { 40, 41 }, own[] = { 30, 31, 40 }, files[] = { 20, 21 }, news[] = { 22 };
	for (unsigned i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		struct sbcache *c = sbcache_new(bases[i][0], bases[i][1]);
		ck_assert_ptr_nonnull(c);
		struct sandbox_vcpu v = { .vcpu_fd = 30, .pid = getpid(), .kick_signal = SIGUSR2, .wake_fd = 31,
					  .out_fds = { 32, 33 }, .in_fd = 34, .dev_fds = dev, .ndev_fds = 2,
					  .snap_fd = -1, .pagemap_fd = -1, .own_fds = own, .nown_fds = 3 };
		struct sandbox_event e = { .ring_fd = 19, .files = files, .nfiles = 2, .write_fds = news, .nwrite_fds = 1 };
		if (i == 3)
			same_prog(NULL, &e, c, i);
		else
			same_prog(&v, NULL, c, i);
		struct sbcache_counts n;
		sbcache_get_counts(c, &n);
		ck_assert_msg(n.refused == 1 && n.shapes == 0, "case %u: refused %lu, kept %lu", i, n.refused, n.shapes);
		sbcache_free(c);
	}
}
END_TEST

/* The monitor's own messages on the vCPU thread: stderr works under the filter with nothing lazily set up. */
START_TEST(test_vcpu_thread_stderr)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null < 0 || dup2(null, STDERR_FILENO) < 0 || install(VCPU))
			syscall(SYS_exit_group, 3);
		fprintf(stderr, "ukvm: %s: %d %llu %.3f\n", "a warning", -3, 12345678901234ull, 1.5);
		syscall(SYS_exit_group, 7);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(ok(st), "status 0x%x", st);
}
END_TEST

/*
 * Sanitizer builds (UKVM_SANITIZER: the runner's own copy of sandbox.c, under
 * its real name; the cases above test the release build's): a report made on
 * a filtered thread comes out whole, and LeakSanitizer's check runs under the
 * filter (at ukvm-run's exit it runs on the vCPU thread). Both were killed
 * by the filter before they could say anything.
 */
#undef sandbox_vcpu_install_for
int sandbox_vcpu_install_for(const struct sandbox_vcpu *p);
#include <sanitizer/lsan_interface.h>
#include <stdlib.h>
#include <string.h>

static void *volatile san_keep;

/* Runs what in a child under the sanitizer build's vCPU filter, its stderr into out. Returns the wait status. */
static int san_child(void (*what)(void), char *out, size_t len)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		struct sandbox_vcpu f = { .vcpu_fd = FD_VCPU, .pid = getpid(), .kick_signal = SIGUSR2, .wake_fd = -1,
					  .out_fds = { -1, -1 }, .in_fd = -1, .snap_fd = -1, .pagemap_fd = -1 };
		if (dup2(p[1], STDERR_FILENO) < 0 || sandbox_vcpu_install_for(&f))
			syscall(SYS_exit_group, 3);
		what();
		syscall(SYS_exit_group, 7);
	}
	close(p[1]);
	size_t n = 0;
	ssize_t k;
	while (n + 1 < len && (k = read(p[0], out + n, len - 1 - n)) > 0)
		n += (size_t)k;
	out[n] = 0;
	close(p[0]);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return st;
}

static void san_leak(void)
{
	san_keep = malloc(1234);
	memset(san_keep, 1, 1234);
	san_keep = NULL;
	/* 1 when it found leaks; the report went to stderr */
	syscall(SYS_exit_group, __lsan_do_recoverable_leak_check() ? 9 : 8);
}

static void san_overflow(void)
{
	void *(*volatile alloc)(size_t) = malloc; /* out of UBSan's object-size sight: ASan's to report */
	volatile char *b = alloc(8);
	san_keep = (void *)b;
	b[8] = 1; /* ASan reports and exits 1 */
}

START_TEST(test_sanitizer_reports_under_filter)
{
	static char out[65536];
	int st = san_child(san_leak, out, sizeof(out));
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 9, "leak check: status 0x%x\n%s", st, out);
	ck_assert_msg(strstr(out, "detected memory leaks") && strstr(out, "1234 byte(s) leaked"), "%s", out);
	st = san_child(san_overflow, out, sizeof(out));
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "overflow: status 0x%x\n%s", st, out);
	ck_assert_msg(strstr(out, "heap-buffer-overflow") && strstr(out, "SUMMARY: AddressSanitizer"), "%s", out);
}
END_TEST

Suite *sandbox_suite(void)
{
	Suite *s = suite_create("sandbox");
	TCase *c = tcase_create("core"), *h = tcase_create("hostile");
	/* Each hostile case forks ~50 children (ASan runner) that build or patch a filter, twice: ~0.5 s each alone,
	 * past Check's 4 s default when make check shares the machine's 2 cores (timed out in 2 full runs). */
	tcase_set_timeout(h, 30);
	tcase_add_test(c, test_vcpu_thread_stderr);
	tcase_add_test(c, test_vcpu_thread_snapshot);
	tcase_add_test(c, test_sanitizer_reports_under_filter);
	tcase_add_test(h, test_event_thread);
	tcase_add_test(h, test_vcpu_thread);
	tcase_add_test(h, test_vcpu_thread_helpers);
	tcase_add_test(c, test_patched_equals_built);
	tcase_add_test(h, test_patched_sentinel_collision);
	suite_add_tcase(s, c);
	suite_add_tcase(s, h);
	return s;
}
