/* vmdev.c: the VM's virtio-mmio devices: opening disks, KVM ioeventfds for QueueNotify, the event thread, MMIO exits. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "blk.h"
#include "event.h"
#include "run.h"
#include "virtio_mmio.h"
#include "vmdev.h"

_Static_assert(UKVM_MAX_DISKS == UKVM_MMIO_MAX_DEVS, "ukvm.h and ukvm_abi.h disagree on the device count");
_Static_assert(UKVM_MMIO_MAX_DEVS * UKVM_MMIO_STRIDE <= (2ull << 20), "devices overflow the 2 MiB MMIO window");

/* The vq_mem provider: proto/ reaches guest memory only through the checked translation. */
static void *vmdev_map(void *ctx, uint64_t gpa, size_t len)
{
	return mem_ptr(ctx, gpa, len);
}

uint64_t vmdev_addr(unsigned i)
{
	return UKVM_MMIO_BASE + (uint64_t)i * UKVM_MMIO_STRIDE;
}

/* QueueNotify of queue q written with value q goes to its eventfd inside KVM: no exit to us. */
static int vmdev_ioeventfd(struct ukvm_vm *vm, unsigned i, unsigned q)
{
	struct kvm_ioeventfd io = {
		.datamatch = q,
		.addr = vmdev_addr(i) + VIRTIO_MMIO_QUEUE_NOTIFY,
		.len = 4,
		.fd = vm->devs[i]->q[q].notify_fd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};
	return ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

int vmdev_create(struct ukvm_vm *vm, char *err, size_t errlen)
{
	const struct ukvm_config *cfg = &vm->cfg;
	if (cfg->ndisks > UKVM_MAX_DISKS || (cfg->ndisks && !cfg->disks)) {
		snprintf(err, errlen, "%u disks: at most %u", cfg->ndisks, UKVM_MAX_DISKS);
		return UKVM_ERR_CONFIG;
	}
	struct vq_mem mem = { .map = vmdev_map, .ctx = &vm->mem };
	for (unsigned i = 0; i < cfg->ndisks; i++) {
		const struct ukvm_disk *dk = &cfg->disks[i];
		struct blk *b = calloc(1, sizeof(*b));
		char why[160];
		if (!b) {
			snprintf(err, errlen, "out of memory");
			return UKVM_ERR_INTERNAL;
		}
		if (!dk->path || blk_open(b, dk->path, dk->ro, dk->direct, i, &mem, vm->wake_fd, why, sizeof(why))) {
			snprintf(err, errlen, "%s: %s", dk->path ? dk->path : "(null)",
				 dk->path ? why : "cannot open disk: no path");
			free(b);
			return UKVM_ERR_CONFIG;
		}
		vm->disks[i] = b;
		vm->devs[i] = &b->dev;
		vm->ndevs = i + 1;
	}
	if (!vm->ndevs)
		return 0;
	vm->ev = calloc(1, sizeof(*vm->ev));
	if (!vm->ev) {
		snprintf(err, errlen, "out of memory");
		return UKVM_ERR_INTERNAL;
	}
	int r = event_start(vm->ev, vm->devs, vm->ndevs, cfg->seccomp);
	if (r) {
		snprintf(err, errlen, "starting the event thread: %s", strerror(-r));
		return UKVM_ERR_INTERNAL;
	}
	for (unsigned i = 0; i < vm->ndevs; i++)
		for (unsigned q = 0; q < vm->devs[i]->ops->nqueues; q++)
			if ((r = vmdev_ioeventfd(vm, i, q))) {
				snprintf(err, errlen, "KVM_IOEVENTFD: %s", strerror(-r));
				return UKVM_ERR_KVM;
			}
	return 0;
}

void vm_devices_stop(struct ukvm_vm *vm)
{
	if (vm->ev)
		event_stop(vm->ev);
}

void vmdev_free(struct ukvm_vm *vm)
{
	if (vm->ev) {
		event_free(vm->ev); /* joins the thread only after in-flight I/O completed */
		free(vm->ev);
		vm->ev = NULL;
	}
	for (unsigned i = 0; i < vm->ndevs; i++) {
		blk_close(vm->disks[i]);
		free(vm->disks[i]);
		vm->disks[i] = NULL;
		vm->devs[i] = NULL;
	}
	vm->ndevs = 0;
}

void vm_dev_stats(struct ukvm_vm *vm, struct ukvm_result *res)
{
	res->ndisks = vm->ndevs;
	for (unsigned i = 0; i < vm->ndevs; i++) {
		struct mmio_dev *d = vm->devs[i];
		pthread_mutex_lock(&d->lock);
		res->disks[i].notifies = 0;
		for (unsigned q = 0; q < d->ops->nqueues; q++)
			res->disks[i].notifies += d->q[q].notifies;
		res->disks[i].requests = vm->disks[i]->requests;
		res->disks[i].news = d->news;
		pthread_mutex_unlock(&d->lock);
	}
}

bool vmdev_mmio_exit(struct run_ctx *c)
{
	struct kvm_run *run = c->vm->run;
	uint64_t a = run->mmio.phys_addr;
	/* The whole 2 MiB window the page tables map is ours: nothing in it can end the run. */
	if (a < UKVM_MMIO_BASE || a - UKVM_MMIO_BASE >= (2ull << 20))
		return false;
	unsigned i = (unsigned)((a - UKVM_MMIO_BASE) / UKVM_MMIO_STRIDE);
	uint64_t off = (a - UKVM_MMIO_BASE) % UKVM_MMIO_STRIDE;
	unsigned len = run->mmio.len <= 8 ? run->mmio.len : 8;
	c->res->exits[UKVM_STAT_MMIO]++;
	if (i >= c->vm->ndevs) {
		/* An empty slot (or past the last one): MagicValue reads 0, a probing driver sees no device. */
		if (!run->mmio.is_write)
			memset(run->mmio.data, 0, sizeof(run->mmio.data));
		return true;
	}
	if (run->mmio.is_write)
		mmio_write(c->vm->devs[i], off, run->mmio.data, len);
	else
		mmio_read(c->vm->devs[i], off, run->mmio.data, len);
	return true;
}
