/* ocivm.c: the container process: libukvm create before start (errors reach `create`), wait on the FIFO, run. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "ocinet.h"
#include "ocivm.h"
#include "ukvm.h"

/* Tells `create` how setup went: "ok", or the reason (one line). */
static void vm_ready(int fd, const char *msg)
{
	size_t len = strlen(msg);

	while (len) {
		ssize_t w = write(fd, msg, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		msg += w;
		len -= (size_t)w;
	}
	close(fd);
}

/* Blocks until `start` opens the FIFO, then says so with one byte. 0 or -errno. */
static int vm_wait_start(const char *fifo)
{
	int fd;

	do
		fd = open(fifo, O_WRONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -errno;
	ssize_t w = write(fd, "1", 1);
	close(fd);
	return w == 1 ? 0 : -EIO;
}

/* The terminal as fds 0-2 and this session's controlling terminal, as runc sets up process.terminal. */
static int vm_terminal(int slave)
{
	if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
		return -errno;
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			return -errno;
	if (slave > 2)
		close(slave);
	return 0;
}

/*
 * Default actions and no mask for every signal: a signal the shim (or
 * whoever ran us) ignored or blocked is inherited across exec, and `kill ID
 * 15` must end the container with 143 as it would a runc one.
 */
static void vm_default_signals(void)
{
	sigset_t none;

	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* The running VM, for the signal handler; NULL while there is none (before start, between the two VMs). */
static struct ukvm_vm *volatile vm_running;

/* What `kill ID SIG` sends reaches the app, as runc's reaches the container's process (SIGKILL still ends us). */
static const int vm_forwarded[] = { SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM };

static void vm_on_signal(int sig)
{
	if (vm_running && ukvm_signal(vm_running, sig) == 0)
		return;
	/* No VM to take it: the default action, as a runc container's process not yet exec'd takes it. */
	signal(sig, SIG_DFL);
	raise(sig);
}

static void vm_forward_signals(void)
{
	struct sigaction sa = { .sa_handler = vm_on_signal };
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(vm_forwarded) / sizeof(vm_forwarded[0]); i++)
		sigaction(vm_forwarded[i], &sa, NULL);
}

_Noreturn void ocivm_main(const struct ocivm_args *a)
{
	const struct ocispec_plan *p = a->plan;
	struct ukvm_vm *vm = NULL;
	char err[512];

	vm_default_signals();
	if (a->pty_slave >= 0 && vm_terminal(a->pty_slave) < 0) {
		snprintf(err, sizeof(err), "setting up the terminal: %s", strerror(errno));
		vm_ready(a->ready_fd, err);
		_exit(UKVM_EXIT_INTERNAL);
	}
	/* Made here, before `create` returns: CNI (ctr run --cni, a CRI plugin) wires /proc/PID/ns/net before start. */
	if (p->netns_new && unshare(CLONE_NEWNET) < 0) {
		snprintf(err, sizeof(err), "a network namespace of its own: %s", strerror(errno));
		vm_ready(a->ready_fd, err);
		_exit(UKVM_EXIT_INTERNAL);
	}
	if (p->sandbox) {
		/* A pod's sandbox holds the pod's place and, made above, its network namespace: no VM. */
		vm_ready(a->ready_fd, "ok");
		if (vm_wait_start(a->fifo) < 0)
			_exit(UKVM_EXIT_INTERNAL);
		for (;;)
			pause();
	}
	/* fd 0 itself cannot be named (ukvm.h): a dup of it. /dev/null or a pipe both read as the app expects. */
	int in = dup(STDIN_FILENO);
	struct ukvm_config cfg = {
		.size = sizeof(cfg),
		.image = a->image,
		.mem_size = p->mem_size,
		.argv = (const char *const *)p->args + 1,
		.argv0 = p->args[0],
		.env = (const char *const *)p->env,
		.cwd = p->cwd,
		.console_fd = STDOUT_FILENO,
		.console_err_fd = STDERR_FILENO,
		.console_in_fd = in > 0 ? in : -1,
		.stdin_tty = isatty(STDIN_FILENO),
		.seccomp = true,
		.pv = a->pv,
		/*
		 * Not SIGUSR2 (the default): `kill ID USR2` must reach this process with its
		 * default action, as with runc, not the no-op handler ukvm_run gives the kick.
		 */
		.kick_signal = SIGRTMAX - 1,
		.forward_signals = true,
	};
	int rc = ukvm_create(&cfg, &vm, err, sizeof(err));
	if (rc != UKVM_OK) {
		vm_ready(a->ready_fd, err);
		_exit(ukvm_error_exit_code(rc));
	}
	if (p->netns || p->netns_new) {
		/*
		 * CNI wires the namespace between create and start, and the guest reads its
		 * NIC's settings at boot: this VM only proved at create that one can be made
		 * (image, memory, KVM); the real one is made at start, with the NIC.
		 */
		ukvm_destroy(vm);
		vm = NULL;
	}
	vm_ready(a->ready_fd, "ok");
	if (vm_wait_start(a->fifo) < 0) {
		ukvm_destroy(vm);
		_exit(UKVM_EXIT_INTERNAL);
	}
	if (p->netns || p->netns_new) {
		struct ocinet_if veth;
		struct ukvm_net net = { .kind = UKVM_NET_FD };
		int found = p->netns ? ocinet_join(p->netns, err, sizeof(err)) : 0;
		if (found == 0)
			found = ocinet_discover(&veth, err, sizeof(err));
		if (found > 0) {
			net.fd = ocinet_wire(&veth, err, sizeof(err));
			found = net.fd < 0 ? net.fd : 1;
		}
		if (found < 0) {
			dprintf(STDERR_FILENO, "ukvm-oci: %s\n", err);
			_exit(UKVM_EXIT_USAGE);
		}
		if (found) { /* else an empty namespace: no NIC, as a runc container there has only lo */
			memcpy(net.mac, veth.mac, sizeof(net.mac));
			net.ipv4 = veth.ipv4;
			net.prefix = veth.prefix;
			net.gw = veth.gw;
			net.mtu = veth.mtu;
			cfg.nets = &net;
			cfg.nnets = 1;
		}
		rc = ukvm_create(&cfg, &vm, err, sizeof(err));
		if (rc != UKVM_OK) {
			dprintf(STDERR_FILENO, "ukvm-oci: %s\n", err);
			_exit(ukvm_error_exit_code(rc));
		}
	}
	struct ukvm_result res = { .size = sizeof(res) };
	vm_running = vm;
	vm_forward_signals();
	if (ukvm_run(vm, &res) < 0)
		_exit(UKVM_EXIT_INTERNAL);
	vm_running = NULL;
	if (res.kind != UKVM_EXITED && res.kind != UKVM_CRASHED)
		dprintf(STDERR_FILENO, "ukvm-oci: %s\n", res.msg);
	ukvm_destroy(vm);
	_exit(ukvm_exit_code(&res));
}
