/* vm.h: the VM object shared by libukvm's internal modules (vm.c, vmdev.c, run.c, hcall.c). */
#ifndef VMM_VM_H
#define VMM_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "host.h"
#include "loader.h"
#include "mem.h"
#include "uart.h"
#include "ukvm.h"
#include "ukvm_abi.h"
#include "vcpu.h"

struct dev_class;
struct snapvm;
struct snapshot_req;
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
	int vm_fd;
	struct vcpu vcpu;          /* the one vCPU (vcpu.h) */
	struct mem mem;
	struct loader_image img;
	struct uart uart;
	atomic_int stop;           /* ukvm_stop was called */
	_Atomic uint64_t hostsig;  /* ukvm_signal's signals not yet in the guest's word: bit n - 1 for n */
	bool ran;
	bool pv;                   /* the vCPU runs in pvm-pv mode (proto/ukvm_abi.h "PV mode") */
	uint64_t stack_guard;      /* the 2 MiB page the page tables leave out for the app's stack (0: none) */
	uint64_t fdt_gpa;          /* where the boot-info FDT starts (the boot block, proto/ukvm_abi.h) */
	uint64_t phase_ns[UKVM_PHASE_COUNT];
	struct vm_dev devs[UKVM_MMIO_MAX_DEVS]; /* device i at UKVM_MMIO_BASE + i * STRIDE */
	unsigned ndevs;
	struct event_loop *ev;     /* NULL without devices */
	struct snapvm *snap;       /* restored from a snapshot (snapvm.h); NULL: booted */
	struct ukvm_vm *reap_next; /* the host's reaper queue (hostpool.c) */
	bool busy;                 /* counted busy on cfg.host's pool (hostpool_busy) until vm_quiet */
	/* ukvm_snapshot (snapshot.c): a request from another thread, taken by the vCPU thread */
	pthread_mutex_t snap_lock;
	pthread_cond_t snap_cond;  /* CLOCK_MONOTONIC */
	bool snap_sync;            /* snap_lock and snap_cond are initialised */
	struct snapshot_req *snap_req; /* under snap_lock */
	int run_phase;             /* under snap_lock: not yet run, running, ended */
	atomic_int snap_posted;    /* snap_req is posted: read without the lock by the vCPU thread */
	unsigned snap_callers;     /* under snap_lock: threads inside ukvm_snapshot (vm_free waits for none) */
};

/* The VM's busy part is over (its run ended, or it is being destroyed): once per VM. */
void vm_quiet(struct ukvm_vm *vm);

struct host_shell;

/* vm_kvm's outcome from a restore shell of cfg.host's pool (hostpool.h): VM, vCPU and RAM are the shell's. */
void vm_adopt_shell(struct ukvm_vm *vm, struct host_shell *s);

/* The end of ukvm_destroy once the devices are stopped: vCPU, VM, RAM, image, host reference, vm itself. */
void vm_free(struct ukvm_vm *vm);

/*
 * ukvm_create's first steps, shared with a restore (snapvm.c): the VM and
 * vCPU on the config's host (or one of its own), guest RAM of
 * cfg.mem_size mapped (from fd at off when fd >= 0: a snapshot's memory,
 * copy-on-write; else anonymous) and registered. *kind as ukvm_create's.
 */
int vm_kvm(struct ukvm_vm *vm, int fd, uint64_t off, enum ukvm_error *kind, char *err, size_t errlen);

/* KVM_CREATE_VM on kvm_fd (retried on EINTR, vm.c says why): the VM's fd, or -errno. */
int vm_kvm_create(int kvm_fd);

/* Registers m as the VM's memory slot 0, or deletes the slot when m is NULL. 0 or -errno. */
int vm_kvm_ram(int vm_fd, const struct mem *m);

/* Fills the per-device counters of res (after the event thread stopped). */
void vm_dev_stats(struct ukvm_vm *vm, struct ukvm_result *res);

/* Stops the event thread once in-flight I/O is done; idempotent. */
void vm_devices_stop(struct ukvm_vm *vm);

/*
 * What the host fds behind the guest's fds 0-2 are now: 0 is this
 * process's stdin when cfg.stdin_tty (else not a terminal), 1 console_fd,
 * 2 console_err_fd; a terminal with its window size (0 0 when it cannot
 * say). The boot FDT's ukvm,std*-tty and a restore's WAIT answer both come
 * from here.
 */
void vm_console_tty(const struct ukvm_vm *vm, struct ukvm_tty tty[3]);

/* CLOCK_MONOTONIC in ns. */
uint64_t vm_now_ns(void);

/*
 * The public error kind (ukvm.h) of -errno err from a step of kind kind of
 * ukvm_create or ukvm_host_open: kind, except that running out of memory
 * (-ENOMEM) is always UKVM_ERR_INTERNAL, whichever step hit it.
 */
int vm_error(enum ukvm_error kind, int err);

#endif
