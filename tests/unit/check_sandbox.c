/* check_sandbox.c: unit suite "sandbox" (vmm/sandbox.c): each thread's allowlist lets its calls through and kills on others. */
#include <check.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"

enum { EVENT, VCPU };

/*
 * Installs list in a child, makes call (a raw syscall: libc wrappers may
 * use others) and exits 7. Returns the child's wait status.
 */
static int in_child(int list, long nr, long a0, long a1)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int r = list == EVENT ? sandbox_event_install() : sandbox_vcpu_install(5);
		if (r)
			syscall(SYS_exit_group, 3);
		syscall(nr, a0, a1, 0);
		syscall(SYS_exit_group, 7);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return st;
}

static void survives(int st)
{
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 7, "status 0x%x", st);
}

static void killed(int st)
{
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "status 0x%x", st);
}

START_TEST(test_event_thread)
{
	survives(in_child(EVENT, SYS_sched_yield, 0, 0));
	survives(in_child(EVENT, SYS_write, -1, 0)); /* allowed (fails with EBADF) */
	killed(in_child(EVENT, SYS_getppid, 0, 0));
	killed(in_child(EVENT, SYS_openat, AT_FDCWD, (long)"/etc/passwd"));
	killed(in_child(EVENT, SYS_ioctl, 5, KVM_RUN)); /* no KVM at all on the event thread */
	killed(in_child(EVENT, SYS_mprotect, 0, 4096));
}
END_TEST

START_TEST(test_vcpu_thread)
{
	survives(in_child(VCPU, SYS_ppoll, 0, 0));
	survives(in_child(VCPU, SYS_ioctl, 5, KVM_RUN));      /* on its vCPU fd (fails: fd 5 is no vCPU here) */
	survives(in_child(VCPU, SYS_ioctl, 5, KVM_GET_REGS));
	killed(in_child(VCPU, SYS_ioctl, 6, KVM_RUN));        /* another fd */
	killed(in_child(VCPU, SYS_ioctl, 5, KVM_SET_REGS));   /* another request */
	killed(in_child(VCPU, SYS_io_uring_enter, 0, 0));     /* the event thread's, not this one's */
	killed(in_child(VCPU, SYS_openat, AT_FDCWD, (long)"/etc/passwd"));
}
END_TEST

Suite *sandbox_suite(void)
{
	Suite *s = suite_create("sandbox");
	TCase *c = tcase_create("core");
	tcase_add_test(c, test_event_thread);
	tcase_add_test(c, test_vcpu_thread);
	suite_add_tcase(s, c);
	return s;
}
