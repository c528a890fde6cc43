/*
 * sandbox.h: the monitor's seccomp allowlists, one per thread (vCPU thread,
 * event thread), and the slirp helper process's, all in sandbox.c. Not "seccomp.h": under -Ivmm that name
 * would hide libseccomp's <seccomp.h>, and seccomp_* is libseccomp's prefix.
 */
#ifndef VMM_SANDBOX_H
#define VMM_SANDBOX_H

#include <linux/filter.h>
#include <stdbool.h>
#include <sys/types.h>

struct sbcache;

/* What the vCPU thread's filter pins arguments to (-1: none). */
struct sandbox_vcpu {
	int vcpu_fd;            /* ioctl: KVM_RUN and register reads on this fd only */
	pid_t pid;              /* tgkill: to this process only ... */
	int kick_signal;        /* ... with this signal (or SIGABRT: abort()) */
	int wake_fd;            /* read and write: the WAIT's eventfd */
	int out_fds[2];         /* write, pwritev2: the console streams */
	int in_fd;              /* read, preadv2, FIONREAD: console input */
	const int *dev_fds;     /* write: the eventfds the transports kick on this thread */
	unsigned ndev_fds;
	int snap_fd;            /* >= 0: the run may snapshot: pwrite64, ftruncate on it, the vCPU's state */
	int pagemap_fd;         /* pread64: /proc/self/pagemap for the snapshot */
	int stats_fd;           /* read: KVM's binary stats of the vCPU (run.c, config.kvm_stats), once at the
				   run's end; only when > 2, so a zeroed field allows nothing */
	const int *own_fds;     /* close: only these, the fds ukvm_destroy and the embedder close on this
				   thread after the run (the VM's own, its host's, its NICs' fds);
				   NULL: any fd (a VM with a user-mode NIC, whose helper's fds are private
				   to devices/net_user.c) */
	unsigned nown_fds;
	bool helpers;           /* the VM has helper processes (ukvm-slirp): net_user_close's SIGKILL by
				   pidfd and waitid(P_PIDFD); none without */
	struct sbcache *cache;  /* the host's kept filter shapes (sbcache.h): the same filter, patched
				   instead of built; NULL: built by libseccomp */
};

/*
 * Installs the vCPU thread's allowlist on the calling thread (after setup,
 * before the first KVM_RUN), its arguments pinned to p. Returns 0 or -errno.
 */
int sandbox_vcpu_install_for(const struct sandbox_vcpu *p);

/* sandbox_vcpu_install_for with the vCPU fd only (no console, wake or device fds; kick SIGUSR2). */
int sandbox_vcpu_install(int vcpu_fd);

/* What the event thread's filter pins arguments to. */
struct sandbox_event {
	int ring_fd;            /* io_uring_enter, io_uring_register(IORING_UNREGISTER_FILES) */
	const int *files;       /* the ring's registered files: pwritev, pwritev2, preadv2 */
	unsigned nfiles;
	const int *write_fds;   /* write: eventfds this thread signals (a WAITing vCPU's news) */
	unsigned nwrite_fds;
	struct sbcache *cache;  /* as in struct sandbox_vcpu */
};

/* Installs the event thread's allowlist on the calling thread (vmm/event.c). Returns 0 or -errno. */
int sandbox_event_install(const struct sandbox_event *p);

/*
 * The BPF program sandbox_*_install would install for p (from p->cache when
 * set): *prog malloc'd, *len instructions. For tests: a patched filter must
 * equal a fresh one. Returns 0 or -errno.
 */
int sandbox_vcpu_prog(const struct sandbox_vcpu *p, struct sock_filter **prog, unsigned *len);
int sandbox_event_prog(const struct sandbox_event *p, struct sock_filter **prog, unsigned *len);

/*
 * Installs the ukvm-slirp helper's allowlist on the calling process
 * (devices/slirp/helper.c). files_confined: Landlock already limits what may
 * be opened, so read-only openat is allowed; else openat fails with EACCES.
 * Returns 0 or -errno.
 */
int sandbox_slirp_install(bool files_confined);

#endif
