/* vmdev.h: wiring of the virtio-mmio devices into a VM (create, MMIO exits, stop, free). */
#ifndef VMM_VMDEV_H
#define VMM_VMDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "run.h"

/* Guest physical address of device i's register window. */
uint64_t vmdev_addr(unsigned i);

/* Device i's NIC configuration for its FDT node (MAC chosen, defaults applied), NULL when it is no NIC. */
const struct ukvm_net *vmdev_nic(struct ukvm_vm *vm, unsigned i);

/*
 * Opens the config's devices of every class (devices/dev.h: dev_classes
 * order gives slots 0..n-1), attaches each transport to a new event loop,
 * registers one KVM ioeventfd per queue (QueueNotify, datamatch = queue
 * index) and starts the event thread. Needs vm->mem, vm->vm_fd and
 * vm->vcpu.wake_fd. Returns 0 or -errno with one line in err, and *kind
 * says whose fault: UKVM_ERR_CONFIG for a device that cannot be opened from
 * its config (e.g. "PATH: cannot open disk: ..."), UKVM_ERR_KVM for a
 * refused ioeventfd, UKVM_ERR_INTERNAL for the event loop. On failure
 * vmdev_free cleans up.
 */
int vmdev_create(struct ukvm_vm *vm, enum ukvm_error *kind, char *err, size_t errlen);

/*
 * vCPU thread, around the run loop: a device wait on this thread (a reset
 * draining requests) gives up once ukvm_stop was called or c's deadline
 * passed; vmdev_run_end forgets c before it goes away.
 */
void vmdev_run_begin(struct run_ctx *c);
void vmdev_run_end(struct ukvm_vm *vm);

/* True when every device is quiet (mmio_quiet): nothing in flight or waiting in a ring. */
bool vmdev_quiet(struct ukvm_vm *vm);

/*
 * The eventfds the vCPU thread writes for the devices (mmio_vcpu_fds of
 * each, and the event loop's stop eventfd), at most max into fds: for its seccomp filter. Returns how many.
 */
unsigned vmdev_vcpu_fds(struct ukvm_vm *vm, int *fds, unsigned max);

/* Stops the event thread (after in-flight I/O), closes and frees the devices. */
void vmdev_free(struct ukvm_vm *vm);

/*
 * vCPU thread: a KVM_EXIT_MMIO. Returns false when the address is outside
 * the 2 MiB device window (the caller reports it); otherwise handles the
 * access (slots without a device read as 0, writes are dropped) and returns
 * true. Never ends the run.
 */
bool vmdev_mmio_exit(struct run_ctx *c);

#endif
