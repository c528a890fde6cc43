/* hostpool.h: a host's background levers: an idle VM kept open, a pool of ready VM shells, a reaper of destroyed VMs. */
#ifndef VMM_HOSTPOOL_H
#define VMM_HOSTPOOL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "mem.h"
#include "vcpu.h"

struct ukvm_host;
struct ukvm_vm;

/* Shells the pool keeps ready (UKVM_HOST_POOL). */
#define HOSTPOOL_DEPTH 4
/* Snapshots (the most recently restored) with restore shells kept ready, and how many each. */
#define HOSTPOOL_SNAPS 4
#define HOSTPOOL_SNAP_DEPTH 2
/* Most populate ranges kept per snapshot (past them the guest's faults fill the rest). */
#define HOSTPOOL_SNAP_RANGES 64

/*
 * A VM shell: KVM_CREATE_VM and vCPU 0 with its run page and wake eventfd
 * (vcpu_create), the host's CPUID set and pvm-pv asked, and UKVM_MEM_DEFAULT
 * of fresh anonymous RAM registered as slot 0 (a VM of another size drops
 * it; a restore shell has its snapshot's memory instead, below). Never used
 * twice: a shell is built fresh and handed out once.
 */
struct host_shell {
	int vm_fd;
	struct vcpu vcpu;
	struct mem mem;
};

/* A range of a snapshot's guest memory to copy in ahead (gpa, bytes). */
struct hostpool_range {
	uint64_t gpa, len;
};

/*
 * A restore shell (UKVM_HOST_POOL): a shell whose RAM is a snapshot's memory,
 * mapped copy-on-write from the file (mem_init_file) and registered, with
 * its touched pages already copied in (the populate ranges). Built for the
 * snapshots a host restored last, told by hostpool_note_snap; handed out
 * only for the same file unchanged (path, device, inode, size, mtime and
 * ctime all equal, and the header's checksum: timestamps are coarse, a
 * rewrite within a clock tick keeps them), never twice.
 *
 * hostpool_take_snap: a ready restore shell for the snapshot at path whose
 * fstat is st and header checksum crc, with memory of mem_size bytes from
 * mem_off: true, or false (none ready; the caller builds its own and then
 * notes the snapshot).
 */
bool hostpool_take_snap(struct ukvm_host *h, const char *path, const struct stat *st, uint32_t crc, uint64_t mem_off,
			uint64_t mem_size, struct host_shell *s);

/*
 * Tells the pool a snapshot was restored: it keeps HOSTPOOL_SNAP_DEPTH restore
 * shells ready for it from now on (the least recently restored of
 * HOSTPOOL_SNAPS snapshots gives its place up). ranges: what to copy in
 * (at most HOSTPOOL_SNAP_RANGES are kept). A no-op without UKVM_HOST_POOL.
 */
void hostpool_note_snap(struct ukvm_host *h, const char *path, const struct stat *st, uint32_t crc, uint64_t mem_off,
			uint64_t mem_size, const struct hostpool_range *ranges, unsigned nranges);

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
 * frees it. When HOSTPOOL_REAP_MAX VMs already wait, it first waits for
 * the reaper to free one.
 */
bool hostpool_reap(struct ukvm_host *h, struct ukvm_vm *vm);

/*
 * A VM on h starts (+1: ukvm_create) or ends (-1: its run ended, or it is
 * destroyed unrun) its busy part: the background threads wait for no VM to
 * be busy (up to 50 ms) before they build or reap. A no-op without a pool.
 * A run's WAIT of HOSTPOOL_QUIET_WAIT_MIN_NS or more (hcall.c) is not busy
 * (-1 then +1 around it): a VM waiting for its input (ukvm-serve's warm
 * VMs wait for their request) would otherwise hold the builder and the
 * reaper to one shell or VM per 50 ms for as long as it waits.
 */
void hostpool_busy(struct ukvm_host *h, int delta);

/*
 * Destroyed VMs waiting for the reaper, at most: past it ukvm_destroy waits
 * for the reaper to free one (hostpool_reap). A dead VM holds
 * its fds (~5) and its guest's RAM until freed; an embedder destroying VMs
 * faster than the one reaper frees them (ukvm-serve in boot mode, 8
 * connections on 2 cores: the reaper got too little CPU) grew the queue
 * without bound, to thousands of VMs (3,938 fds). The destroyer waiting
 * for the reaper's ~0.3-1 ms per VM then is the backpressure.
 */
#define HOSTPOOL_REAP_MAX 16

/* A guest's wait this long or longer lets the host's background threads work (hostpool_busy). */
#define HOSTPOOL_QUIET_WAIT_MIN_NS 5000000ull

/* Waits until the reaper has nothing left and the pool is full (or cannot be filled). */
void hostpool_quiesce(struct ukvm_host *h);

#endif
