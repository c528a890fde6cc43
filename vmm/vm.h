/* vm.h: the VM object shared by libukvm's internal modules (vm.c, vcpu.c, run.c). */
#ifndef VMM_VM_H
#define VMM_VM_H

#include <linux/kvm.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "host.h"
#include "loader.h"
#include "mem.h"
#include "uart.h"
#include "ukvm.h"

struct dev_class;
struct mmio_dev;
struct event_loop;

/* One virtio-mmio device of the VM, of any class (devices/dev.h). */
struct vm_dev {
	const struct dev_class *cls;
	struct mmio_dev *d;
};

struct ukvm_vm {
	struct ukvm_config cfg;
	const char *image;         /* cfg.image, for messages */
	struct ukvm_host *host;    /* holds a reference: /dev/kvm, cached CPUID (host.h) */
	int vm_fd, vcpu_fd;
	struct kvm_run *run;       /* the vCPU's shared page */
	size_t run_size;
	struct mem mem;
	struct loader_image img;
	struct uart uart;
	int wake_fd;               /* eventfd: ukvm_stop and device news wake a WAITing vCPU */
	int kick_signal;
	atomic_int stop;           /* ukvm_stop was called */
	atomic_int vcpu_tid;       /* thread in ukvm_run, 0 when none: ukvm_stop kicks it */
	pid_t pid;
	bool ran;
	bool pv;                   /* the vCPU runs in pvm-pv mode (proto/ukvm_abi.h "PV mode") */
	uint64_t phase_ns[UKVM_PHASE_COUNT];
	struct vm_dev devs[UKVM_MMIO_MAX_DEVS]; /* device i at UKVM_MMIO_BASE + i * STRIDE */
	unsigned ndevs;
	struct event_loop *ev;     /* NULL without devices */
};

/* Fills the per-device counters of res (after the event thread stopped). */
void vm_dev_stats(struct ukvm_vm *vm, struct ukvm_result *res);

/* Stops the event thread once in-flight I/O is done; idempotent. */
void vm_devices_stop(struct ukvm_vm *vm);

/* CLOCK_MONOTONIC in ns. */
uint64_t vm_now_ns(void);

/*
 * Sets CPUID, special registers (tables, CR0/CR3/CR4/EFER at CPL3),
 * STAR/LSTAR/FMASK and the entry registers of the boot contract. Returns 0,
 * or -errno with one line in err.
 */
int vcpu_setup(struct ukvm_vm *vm, uint64_t cr3, char *err, size_t errlen);

/*
 * True when KVM offers this host's paravirtual interface ("pvm-pv": MSR
 * 0x4b564d11 reads "PVM" and 0x4b564d12 has every flag of UKVM_PV_FLAGS).
 * False on hardware KVM and other PVM builds (KVM refuses those MSRs).
 */
bool vcpu_pv_detect(struct ukvm_vm *vm);

#endif
