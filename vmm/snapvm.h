/* snapvm.h: snapshots of a live VM (writing one at an idle WAIT) and restoring a VM from one (vmm/snap.h is the file format). */
#ifndef VMM_SNAPVM_H
#define VMM_SNAPVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm.h"

struct snapvm_writer;

/* 0 when every device of vm can be snapshotted, else -ENOTSUP with one line in err naming the device. */
int snapvm_can_save(struct ukvm_vm *vm, char *err, size_t errlen);

/*
 * Before the run's seccomp filter: creates (truncates) path and gets what a
 * snapshot needs from KVM (MSR list, TSC rate) and memory for its buffers.
 * Returns 0 and *out, or -errno with one line in err.
 */
int snapvm_writer_open(struct ukvm_vm *vm, const char *path, struct snapvm_writer **out, char *err, size_t errlen);

/* The file's fd and /proc/self/pagemap's (-1 when it could not be opened), for the seccomp filter. */
int snapvm_writer_fd(const struct snapvm_writer *w);
int snapvm_writer_pagemap_fd(const struct snapvm_writer *w);

/*
 * vCPU thread, inside the guest's WAIT with argument block wait_gpa, the
 * devices quiet (vmdev_quiet): writes the snapshot (vCPU state after
 * completing the WAIT's exit, devices, configuration, touched guest pages).
 * Returns 0 or -errno with one line in err.
 */
int snapvm_save(struct snapvm_writer *w, struct ukvm_vm *vm, uint64_t wait_gpa, char *err, size_t errlen);

/*
 * snapvm_save in two steps, for ukvm_snapshot (snapshot.c): on the vCPU
 * thread, out of KVM_RUN with the devices quiet, snapvm_capture reads the
 * vCPU and the devices into w (wait_gpa 0: the guest was running, not in a
 * WAIT; conbuf_sent: how much of the guest's console buffer this run wrote
 * out, run.h's conbuf.sent); then, the guest still held, snapvm_write (any thread) finds the
 * touched pages and writes the file. Each returns 0 or -errno with one line;
 * snapvm_write (and snapvm_save) -EAGAIN when a device completed a request
 * while the file was written (a NIC's frame): the file has no valid header,
 * a later attempt may succeed.
 */
int snapvm_capture(struct snapvm_writer *w, struct ukvm_vm *vm, uint64_t wait_gpa, uint64_t conbuf_sent, char *err,
		   size_t errlen);
int snapvm_write(struct snapvm_writer *w, struct ukvm_vm *vm, char *err, size_t errlen);

/* Closes the file and frees w (NULL: nothing). */
void snapvm_writer_close(struct snapvm_writer *w);

/*
 * ukvm_create for cfg.restore: reads and validates the snapshot, creates
 * the VM with the snapshot's memory mapped copy-on-write, restores the vCPU
 * and the devices (disks re-opened from the config). Returns 0 or -errno
 * with one line in err and *kind the public error kind (UKVM_ERR_IMAGE for a
 * bad or foreign snapshot).
 */
int snapvm_restore(struct ukvm_vm *vm, enum ukvm_error *kind, char *err, size_t errlen);

/*
 * Just before a restored VM's first KVM_RUN: answers the WAIT it was
 * snapshotted in with UKVM_WAIT_RESTORED, the host's realtime now and a
 * fresh seed; a VM snapshotted running gets them in the restore block
 * (proto/ukvm_abi.h) instead, at once (and at its first WAIT too, for a
 * kernel that does not read the block). Nothing for a booted VM.
 */
void snapvm_resume(struct ukvm_vm *vm);

/*
 * vCPU thread, at the start of every WAIT (block at gpa, hostile: checked
 * here): a VM restored from a snapshot taken running (SNAP_VCPU_RUNNING)
 * gets its restore answer at its first WAIT too, since it was in none (a
 * kernel that reads the restore block has applied it already and knows
 * the seed). Returns true when it answered (the WAIT is over).
 */
bool snapvm_wait_restored(struct ukvm_vm *vm, uint64_t gpa);

/*
 * Where a restored run's console buffer drain starts (struct conbuf.sent):
 * the snapshotted run had written that much of it (taken running, the
 * buffer is not empty); 0 for a booted VM.
 */
uint64_t snapvm_conbuf_sent(const struct ukvm_vm *vm);

/* Frees what snapvm_restore kept (vm->snap; NULL: nothing). */
void snapvm_free(struct ukvm_vm *vm);

#endif
