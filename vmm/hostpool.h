/* hostpool.h: a host's background levers: an idle VM kept open, a pool of ready VM shells, a reaper of destroyed VMs. */
#ifndef VMM_HOSTPOOL_H
#define VMM_HOSTPOOL_H

#include <stdbool.h>

#include "mem.h"
#include "vcpu.h"

struct ukvm_host;
struct ukvm_vm;

/* Shells the pool keeps ready (UKVM_HOST_POOL). */
#define HOSTPOOL_DEPTH 4

/*
 * A VM shell: KVM_CREATE_VM and vCPU 0 with its run page and wake eventfd
 * (vcpu_create), the host's CPUID set and pvm-pv asked, and UKVM_MEM_DEFAULT
 * of fresh anonymous RAM registered as slot 0 (a VM of another size drops
 * it; a restore maps its snapshot over it, mem_map_file_over). Never used
 * twice: a shell is built fresh and handed out once.
 */
struct host_shell {
	int vm_fd;
	struct vcpu vcpu;
	struct mem mem;
};

/* Frees a shell (or what a half-built one holds). */
void hostpool_shell_free(struct host_shell *s);

/*
 * Starts what flags ask for (UKVM_HOST_IDLE_VM, _POOL, _REAPER) on h, whose
 * KVM work is done. Returns 0 or -errno with one line in err; on failure
 * nothing is left running.
 */
int hostpool_start(struct ukvm_host *h, unsigned flags, char *err, size_t errlen);

/*
 * Stops the threads (the reaper first finishes every VM handed to it),
 * frees the pool's shells and the idle VM. Called by ukvm_host_close before
 * the opener's reference is dropped; VMs destroyed afterwards are freed on
 * their caller's thread (the pool struct stays until hostpool_free, so a
 * racing ukvm_destroy finds it stopped). Idempotent.
 */
void hostpool_stop(struct ukvm_host *h);

/* hostpool_stop, then frees the pool itself (the host's last reference is going). */
void hostpool_free(struct ukvm_host *h);

/* Takes a ready shell into *s without waiting: true, or false when the pool is off or empty. */
bool hostpool_take(struct ukvm_host *h, struct host_shell *s);

/*
 * Hands vm (its devices already stopped, vmdev_free) to the reaper, which
 * calls vm_free on it. true, or false when there is no reaper: the caller
 * frees it.
 */
bool hostpool_reap(struct ukvm_host *h, struct ukvm_vm *vm);

/* Waits until the reaper has nothing left and the pool is full (or cannot be filled). */
void hostpool_quiesce(struct ukvm_host *h);

#endif
