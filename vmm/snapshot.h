/* snapshot.h: ukvm_snapshot's two sides: the embedder's thread asks, the vCPU thread holds the guest at a consistent point (snapvm.h writes the file). */
#ifndef VMM_SNAPSHOT_H
#define VMM_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

struct ukvm_vm;
struct run_ctx;

/* The VM's request slot and run phase (vm.h: snap_lock, snap_cond); at ukvm_create and vm_free. */
int snapshot_init(struct ukvm_vm *vm);
void snapshot_fini(struct ukvm_vm *vm);

/*
 * ukvm_run's vCPU thread: from begin (the kick reaches it, before the first
 * KVM_RUN) to end, ukvm_snapshot may post requests; end refuses a request
 * still waiting (-ESRCH) and every later one.
 */
void snapshot_run_begin(struct ukvm_vm *vm);
void snapshot_run_end(struct ukvm_vm *vm);

/* Whether a request waits for the vCPU thread (a cheap read: for loops that must not sleep on one). */
bool snapshot_pending(struct ukvm_vm *vm);

/*
 * vCPU thread, out of KVM_RUN: inside the guest's WAIT with its block at
 * wait_gpa, or (wait_gpa 0) kicked out of running guest code, the console
 * buffer drained. Takes a posted request: waits (bounded) for the devices
 * to be quiet, reads the vCPU and devices, and holds the guest until the
 * asking thread wrote the file. Returns true when the run ends here
 * (UKVM_SNAPSHOT_STOP, written: run_finish was called).
 */
bool snapshot_take(struct run_ctx *c, uint64_t wait_gpa);

#endif
