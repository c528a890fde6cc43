/* vmdev.c: the VM's virtio-mmio devices, of every class: opening them, KVM ioeventfds for QueueNotify, the event thread, MMIO exits. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "dev.h"
#include "event.h"
#include "run.h"
#include "virtio_mmio.h"
#include "vmdev.h"

_Static_assert(UKVM_MAX_DEVS == UKVM_MMIO_MAX_DEVS, "ukvm.h and ukvm_abi.h disagree on the device count");
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

const struct ukvm_net *vmdev_nic(struct ukvm_vm *vm, unsigned i)
{
	const struct dev_class *c = vm->devs[i].cls;
	return c->nic ? c->nic(vm->devs[i].d) : NULL;
}

/* QueueNotify of queue q written with value q goes to its eventfd inside KVM: no exit to us. */
static int vmdev_ioeventfd(struct ukvm_vm *vm, unsigned i, unsigned q)
{
	struct kvm_ioeventfd io = {
		.datamatch = q,
		.addr = vmdev_addr(i) + VIRTIO_MMIO_QUEUE_NOTIFY,
		.len = 4,
		.fd = mmio_notify_fd(vm->devs[i].d, q),
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};
	return ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

/* Opens the devices of every class, in slot order. Returns 0 or -errno. */
static int vmdev_open(struct ukvm_vm *vm, char *err, size_t errlen)
{
	const struct ukvm_config *cfg = &vm->cfg;
	unsigned total = 0;
	for (unsigned c = 0; c < dev_nclasses; c++) {
		int n = dev_classes[c]->count(cfg, err, errlen);
		if (n < 0)
			return n;
		total += (unsigned)n;
	}
	if (total > UKVM_MMIO_MAX_DEVS) {
		snprintf(err, errlen, "%u devices: at most %u", total, UKVM_MMIO_MAX_DEVS);
		return -EINVAL;
	}
	struct vq_mem mem = { .map = vmdev_map, .ctx = &vm->mem };
	for (unsigned c = 0; c < dev_nclasses; c++) {
		int n = dev_classes[c]->count(cfg, err, errlen); /* a pure function of cfg: as above */
		for (int i = 0; i < n; i++) {
			struct dev_env env = { .mem = &mem, .news_fd = vm->vcpu.wake_fd, .index = (unsigned)i };
			struct mmio_dev *d;
			int r = dev_classes[c]->open(cfg, (unsigned)i, &env, &d, err, errlen);
			if (r)
				return r;
			vm->devs[vm->ndevs++] = (struct vm_dev){ dev_classes[c], d };
		}
	}
	return 0;
}

int vmdev_create(struct ukvm_vm *vm, enum ukvm_error *kind, char *err, size_t errlen)
{
	*kind = UKVM_ERR_CONFIG; /* a device its config cannot open: "PATH: cannot open disk: ..." */
	int r = vmdev_open(vm, err, errlen);
	if (r || !vm->ndevs)
		return r;
	*kind = UKVM_ERR_INTERNAL;
	vm->ev = calloc(1, sizeof(*vm->ev));
	if (!vm->ev) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if ((r = event_init(vm->ev))) {
		snprintf(err, errlen, "creating the event loop: %s", strerror(-r));
		return r;
	}
	for (unsigned i = 0; i < vm->ndevs; i++)
		if ((r = mmio_attach(vm->devs[i].d, vm->ev))) {
			snprintf(err, errlen, "%s: attaching to the event loop: %s", vm->devs[i].d->tag, strerror(-r));
			return r;
		}
	for (unsigned i = 0; i < vm->ndevs; i++)
		for (unsigned q = 0; q < vm->devs[i].d->ops->nqueues; q++)
			if ((r = vmdev_ioeventfd(vm, i, q))) {
				*kind = UKVM_ERR_KVM;
				snprintf(err, errlen, "KVM_IOEVENTFD: %s", strerror(-r));
				return r;
			}
	vm->ev->sandbox_cache = vm->host->seccomp;
	if ((r = event_start(vm->ev, vm->cfg.seccomp))) {
		snprintf(err, errlen, "starting the event thread: %s", strerror(-r));
		return r;
	}
	return 0;
}

/* The run's answer to a device wait on the vCPU thread (mmio_set_stop_check): ukvm_stop or the deadline. */
static bool vmdev_stop_check(void *ctx)
{
	return run_ending(ctx);
}

void vmdev_run_begin(struct run_ctx *c)
{
	for (unsigned i = 0; i < c->vm->ndevs; i++)
		mmio_set_stop_check(c->vm->devs[i].d, vmdev_stop_check, c);
}

void vmdev_run_end(struct ukvm_vm *vm)
{
	for (unsigned i = 0; i < vm->ndevs; i++)
		mmio_set_stop_check(vm->devs[i].d, NULL, NULL);
}

bool vmdev_quiet(struct ukvm_vm *vm)
{
	for (unsigned i = 0; i < vm->ndevs; i++) {
		const struct vm_dev *d = &vm->devs[i];
		if (!(d->cls->quiet ? d->cls->quiet(d->d) : mmio_quiet(d->d)))
			return false;
	}
	return true;
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
		vm->devs[i].cls->close(vm->devs[i].d);
		vm->devs[i] = (struct vm_dev){ 0 };
	}
	vm->ndevs = 0;
}

void vm_dev_stats(struct ukvm_vm *vm, struct ukvm_result *res)
{
	res->ndevs = vm->ndevs;
	for (unsigned i = 0; i < vm->ndevs; i++) {
		struct ukvm_dev_stats *o = &res->devs[i];
		struct mmio_stats s;
		mmio_stats(vm->devs[i].d, &s);
		snprintf(o->name, sizeof(o->name), "%s", vm->devs[i].d->tag);
		snprintf(o->kind, sizeof(o->kind), "%s", vm->devs[i].cls->name);
		o->notifies = s.notifies;
		o->requests = s.requests;
		o->news = s.news;
		o->exits = s.exits;
		if (vm->devs[i].cls->nic_stats && res->nnets < UKVM_MAX_NICS) {
			struct ukvm_net_stats *ns = &res->nets[res->nnets++];
			snprintf(ns->name, sizeof(ns->name), "%s", vm->devs[i].d->tag);
			ns->dev = i;
			vm->devs[i].cls->nic_stats(vm->devs[i].d, ns);
			ns->notifies = s.notifies;
			ns->news = s.news;
			ns->exits = s.exits;
		}
	}
}

unsigned vmdev_vcpu_fds(struct ukvm_vm *vm, int *fds, unsigned max)
{
	unsigned n = 0;
	for (unsigned i = 0; i < vm->ndevs; i++)
		n += mmio_vcpu_fds(vm->devs[i].d, fds + n, max - n);
	/* vm_devices_stop (event_stop) asks the event thread to finish from this thread. */
	if (vm->ev && n < max && event_stop_fd(vm->ev) >= 0)
		fds[n++] = event_stop_fd(vm->ev);
	return n;
}

bool vmdev_mmio_exit(struct run_ctx *c)
{
	struct kvm_run *run = c->vm->vcpu.run;
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
		mmio_write(c->vm->devs[i].d, off, run->mmio.data, len);
	else
		mmio_read(c->vm->devs[i].d, off, run->mmio.data, len);
	return true;
}
