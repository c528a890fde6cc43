/*
 * sandbox.h: the monitor's seccomp allowlists, one per thread (vCPU thread,
 * event thread), both in sandbox.c. Not "seccomp.h": under -Ivmm that name
 * would hide libseccomp's <seccomp.h>, and seccomp_* is libseccomp's prefix.
 */
#ifndef VMM_SANDBOX_H
#define VMM_SANDBOX_H

/*
 * Installs the vCPU thread's allowlist on the calling thread (after setup,
 * before the first KVM_RUN); KVM ioctls are allowed on vcpu_fd only.
 * Returns 0 or -errno.
 */
int sandbox_vcpu_install(int vcpu_fd);

/* Installs the event thread's allowlist on the calling thread (vmm/event.c). Returns 0 or -errno. */
int sandbox_event_install(void);

#endif
