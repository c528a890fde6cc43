/*
 * sandbox.h: the monitor's seccomp allowlists, one per thread (vCPU thread,
 * event thread), and the slirp helper process's, all in sandbox.c. Not "seccomp.h": under -Ivmm that name
 * would hide libseccomp's <seccomp.h>, and seccomp_* is libseccomp's prefix.
 */
#ifndef VMM_SANDBOX_H
#define VMM_SANDBOX_H

#include <stdbool.h>

/*
 * Installs the vCPU thread's allowlist on the calling thread (after setup,
 * before the first KVM_RUN); KVM ioctls are allowed on vcpu_fd only.
 * Returns 0 or -errno.
 */
int sandbox_vcpu_install(int vcpu_fd);

/*
 * sandbox_vcpu_install for a run that may snapshot into snap_fd (-1: none):
 * also reading the vCPU's whole state, writing and sizing snap_fd only,
 * reading pagemap_fd (/proc/self/pagemap; -1: none) only, and mincore; and
 * for console input, its nonblocking read and FIONREAD on in_fd only (-1: no
 * input).
 */
int sandbox_vcpu_install_fds(int vcpu_fd, int snap_fd, int pagemap_fd, int in_fd);

/* Installs the event thread's allowlist on the calling thread (vmm/event.c). Returns 0 or -errno. */
int sandbox_event_install(void);

/*
 * Installs the ukvm-slirp helper's allowlist on the calling process
 * (devices/slirp/helper.c). files_confined: Landlock already limits what may
 * be opened, so read-only openat is allowed; else openat fails with EACCES.
 * Returns 0 or -errno.
 */
int sandbox_slirp_install(bool files_confined);

#endif
