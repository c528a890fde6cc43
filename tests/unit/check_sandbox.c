/*
 * check_sandbox.c: unit suite "sandbox" (vmm/sandbox.c): each thread's
 * allowlist lets its calls through with the arguments it pins, and kills
 * the process (SIGSYS) on another call or another argument. Each case runs
 * in a child.
 */
#include <check.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/io_uring.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox.h"

enum { EVENT, VCPU, VCPU_SNAP, VCPU_HELPERS };

/* The fds a filter is pinned to: numbers only (the calls made fail with EBADF or EINVAL, or do nothing). */
enum { FD_VCPU = 50, FD_WAKE = 51, FD_OUT = 52, FD_ERR = 53, FD_IN = 54, FD_DEV = 55, FD_SNAP = 56,
       FD_PAGEMAP = 57, FD_RING = 60, FD_FILE = 61, FD_NEWS = 62, FD_OWN = 63, FD_OTHER = 70 };

static int install(int list)
{
	if (list == EVENT) {
		static const int files[] = { FD_FILE }, news[] = { FD_NEWS };
		struct sandbox_event p = { .ring_fd = FD_RING, .files = files, .nfiles = 1, .write_fds = news,
					   .nwrite_fds = 1 };
		return sandbox_event_install(&p);
	}
	static const int dev[] = { FD_DEV }, own[] = { FD_VCPU, FD_OWN };
	bool helpers = list == VCPU_HELPERS; /* a user-mode NIC: close stays open (sandbox.h) */
	struct sandbox_vcpu p = { .vcpu_fd = FD_VCPU, .pid = getpid(), .kick_signal = SIGUSR2, .wake_fd = FD_WAKE,
				  .out_fds = { FD_OUT, FD_ERR }, .in_fd = FD_IN, .dev_fds = dev, .ndev_fds = 1,
				  .snap_fd = list == VCPU_SNAP ? FD_SNAP : -1,
				  .pagemap_fd = list == VCPU_SNAP ? FD_PAGEMAP : -1, .helpers = helpers,
				  .own_fds = helpers ? NULL : own, .nown_fds = helpers ? 0 : 2 };
	return sandbox_vcpu_install_for(&p);
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

START_TEST(test_event_thread)
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
END_TEST

START_TEST(test_vcpu_thread)
{
	static const struct timespec zero;
	survives(VCPU, SYS_ppoll, 0, 0, (long)&zero);
	survives(VCPU, SYS_ioctl, FD_VCPU, KVM_RUN, 0, 0); /* on its vCPU fd (fails: no vCPU here) */
	survives(VCPU, SYS_ioctl, FD_VCPU, KVM_GET_REGS, 0, 0);
	survives(VCPU, SYS_ioctl, FD_IN, FIONREAD, 0, 0);
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
	/* forbidden calls */
	killed(VCPU, SYS_io_uring_enter, FD_RING, 0, 0, 0);     /* the event thread's, not this one's */
	killed(VCPU, SYS_openat, AT_FDCWD, (long)"/etc/passwd", 0, 0);
	killed(VCPU, SYS_newfstatat, AT_FDCWD, (long)"/etc/passwd", 0, 0);
	killed(VCPU, SYS_kill, getpid(), 0);
	killed(VCPU, SYS_mprotect, 0, 4096, 0, 0);
	/* forbidden arguments */
	killed(VCPU, SYS_ioctl, FD_OTHER, KVM_RUN, 0, 0);     /* another fd */
	killed(VCPU, SYS_ioctl, FD_VCPU, KVM_SET_REGS, 0, 0); /* another request */
	killed(VCPU, SYS_ioctl, FD_VCPU, KVM_GET_MSRS, 0, 0); /* a snapshot's, in a run that takes none */
	killed(VCPU, SYS_ioctl, FD_IN, TIOCSTI, 0, 0);
	killed(VCPU, SYS_write, FD_OTHER, 0, 0, 0);
	killed(VCPU, SYS_write, FD_IN, 0, 0, 0);
	killed(VCPU, SYS_read, FD_OUT, 0, 0, 0);
	killed(VCPU, SYS_pwritev2, FD_DEV, 0, 0, 0);
	killed(VCPU, SYS_preadv2, FD_WAKE, 0, 0, 0);
	killed(VCPU, SYS_tgkill, getpid(), getpid(), SIGUSR2);    /* another process */
	killed(VCPU, SYS_tgkill, SELF, 1 << 30, SIGKILL);          /* another signal */
	killed(VCPU, SYS_close, FD_OTHER, 0, 0, 0);             /* an fd the VM does not own */
	killed(VCPU, SYS_close, STDIN_FILENO, 0, 0, 0);
	killed(VCPU, SYS_pidfd_send_signal, FD_OTHER, SIGKILL, 0, 0); /* no helper process in this VM */
	killed(VCPU, SYS_waitid, P_PIDFD, FD_OTHER, 0, WEXITED);
	killed(VCPU, SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, FD_OUT);          /* a file, shared */
	killed(VCPU, SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS);
	killed(VCPU, SYS_madvise, 0, 4096, MADV_DONTFORK, 0);
	killed(VCPU, SYS_pwrite64, FD_SNAP, 0, 0, 0); /* no snapshot in this run */
}
END_TEST

START_TEST(test_vcpu_thread_snapshot)
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
END_TEST

/* A VM with a user-mode NIC: its helper is killed and reaped by pidfd, with those arguments only. */
START_TEST(test_vcpu_thread_helpers)
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
	tcase_add_test(c, test_vcpu_thread_stderr);
	tcase_add_test(c, test_vcpu_thread_snapshot);
	tcase_add_test(c, test_sanitizer_reports_under_filter);
	tcase_add_test(h, test_event_thread);
	tcase_add_test(h, test_vcpu_thread);
	tcase_add_test(h, test_vcpu_thread_helpers);
	suite_add_tcase(s, c);
	suite_add_tcase(s, h);
	return s;
}
