/* vm.c: VM lifecycle of the embedding API: create (KVM, RAM, image, tables, FDT), stop, destroy, names. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "bootmem.h"
#include "fdtbuild.h"
#include "hostpool.h"
#include "pt.h"
#include "snapshot.h"
#include "snapvm.h"
#include "vm.h"
#include "vmdev.h"
#include "x86tables.h"

#define VM_PAGE 4096ull

uint64_t vm_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One line "what: strerror" in err; returns -e. */
static int vm_errno(char *err, size_t errlen, const char *what, int e)
{
	snprintf(err, errlen, "%s: %s", what, strerror(e));
	return -e;
}

int vm_error(enum ukvm_error kind, int err)
{
	return err == -ENOMEM ? UKVM_ERR_INTERNAL : (int)kind;
}

void vm_console_tty(const struct ukvm_vm *vm, struct ukvm_tty tty[3])
{
	int fds[3] = { vm->cfg.stdin_tty ? STDIN_FILENO : -1, vm->cfg.console_fd, vm->cfg.console_err_fd };
	for (unsigned i = 0; i < 3; i++) {
		struct winsize ws;
		tty[i] = (struct ukvm_tty){ 0 };
		if (fds[i] < 0 || !isatty(fds[i]))
			continue;
		tty[i].flags = UKVM_TTY_TERMINAL;
		if (ioctl(fds[i], TIOCGWINSZ, &ws) == 0) {
			tty[i].rows = ws.ws_row;
			tty[i].cols = ws.ws_col;
		}
	}
}

/* The boot-info FDT; *kind: argv/env too large is the config's fault, the rest is ours. */
static int vm_fdt(struct ukvm_vm *vm, enum ukvm_error *kind, char *err, size_t errlen)
{
	struct fdtb_range res[1 + ELF_MAX_PHNUM];
	struct fdtb_args a = {
		.mem_size = vm->mem.size,
		.argv0 = vm->cfg.argv0 ? vm->cfg.argv0 : vm->image,
		.argv0_set = vm->cfg.argv0 != NULL,
		.quiet = vm->cfg.quiet,
		.argv = vm->cfg.argv,
		.env = vm->cfg.env,
		.cwd = vm->cfg.cwd,
		.tsc_khz = vcpu_tsc_khz(&vm->vcpu),
		.payload_gpa = vm->img.note.payload_gpa,
		.payload_size = vm->img.note.payload_size,
		.trace_boot = vm->cfg.trace_boot,
		.pv_vif = vm->pv ? UKVM_VIF_GPA : 0,
		.conbuf_gpa = UKVM_CONBUF_GPA, .conbuf_size = UKVM_CONBUF_SIZE, /* drained by hcall.c */
		.stack_guard = vm->stack_guard,
		.hostsig_gpa = vm->cfg.forward_signals ? UKVM_HOSTSIG_GPA : 0, /* written by run.c */
		.cpuid = (const uint32_t (*)[6])vm->host->cpuid_boot,
		.ncpuid = vm->host->ncpuid_boot,
		.reserve = res,
		.ndevs = vm->ndevs,
	};
	struct ukvm_tty tty[3];
	vm_console_tty(vm, tty);
	for (unsigned i = 0; i < 3; i++)
		a.tty[i] = (struct fdtb_tty){ tty[i].flags & UKVM_TTY_TERMINAL, tty[i].rows, tty[i].cols };
	for (unsigned i = 0; i < vm->ndevs; i++) {
		a.devs[i] = (struct fdtb_dev){ vmdev_addr(i), UKVM_MMIO_STRIDE, UKVM_MMIO_IRQ_BASE + i };
		a.nets[i] = vmdev_nic(vm, i);
	}
	res[a.nreserve++] = (struct fdtb_range){ 0, UKVM_KERNEL_PHYS };
	for (unsigned i = 0; i < vm->img.nsegs; i++) {
		/* Page-rounded; segments are inside RAM (loader_check), so this cannot wrap. */
		uint64_t lo = vm->img.segs[i].paddr & ~(VM_PAGE - 1);
		uint64_t hi = (vm->img.segs[i].paddr + vm->img.segs[i].memsz + VM_PAGE - 1) & ~(VM_PAGE - 1);
		if (hi > lo)
			res[a.nreserve++] = (struct fdtb_range){ lo, hi - lo };
	}
	*kind = UKVM_ERR_INTERNAL;
	if (getrandom(a.rng_seed, sizeof(a.rng_seed), 0) != sizeof(a.rng_seed))
		return vm_errno(err, errlen, "getrandom", errno);
	/*
	 * Built aside, then copied to end at UKVM_RESTORE_GPA, the restore
	 * block's place above it (the boot block, proto/ukvm_abi.h): its size
	 * decides where it starts.
	 */
	void *fdt = malloc(UKVM_FDT_MAX);
	if (!fdt)
		return vm_errno(err, errlen, "boot-info FDT", ENOMEM);
	int r = fdtb_build(fdt, UKVM_FDT_MAX - UKVM_RESTORE_SIZE, &a);
	if (r == -E2BIG) {
		*kind = UKVM_ERR_CONFIG;
		snprintf(err, errlen, "guest arguments and environment exceed the %llu KiB boot-info limit",
			 UKVM_FDT_MAX >> 10);
	} else if (r) {
		snprintf(err, errlen, "building the boot-info FDT failed");
	} else {
		uint64_t size = fdtb_size(fdt); /* fdtb_build kept it inside its room */
		vm->fdt_gpa = (UKVM_RESTORE_GPA - size) & ~15ull;
		memcpy(mem_ptr(&vm->mem, vm->fdt_gpa, size), fdt, size);
	}
	free(fdt);
	return r;
}

int vm_kvm_create(int kvm_fd)
{
	/*
	 * EINTR: KVM_CREATE_VM registers an MMU notifier, which gives up when
	 * signal_pending() (mm_take_all_locks). io_uring task work for this
	 * thread (the ring of a VM just destroyed, whose first reads this thread
	 * submitted) counts as pending: it runs on the return to user space,
	 * so a retry gets through. Seen once in ~300 creates under ASan.
	 */
	for (int tries = 0; tries < 100; tries++) {
		int fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
		if (fd >= 0 || errno != EINTR)
			return fd >= 0 ? fd : -errno;
	}
	return -EINTR;
}

int vm_kvm_ram(int vm_fd, const struct mem *m)
{
	struct kvm_userspace_memory_region reg = { .slot = 0 }; /* memory_size 0 deletes the slot */
	if (m) {
		reg.memory_size = m->size;
		reg.userspace_addr = (uintptr_t)m->base;
	}
	return ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &reg) < 0 ? -errno : 0;
}

/*
 * The VM and vCPU on the config's host, or on a host of its own when none is
 * given. *kind: KVM's refusals are UKVM_ERR_KVM, our own mappings internal.
 */
int vm_kvm(struct ukvm_vm *vm, int fd, uint64_t off, enum ukvm_error *kind, char *err, size_t errlen)
{
	*kind = UKVM_ERR_KVM;
	if (vm->cfg.host)
		vm->host = host_ref(vm->cfg.host);
	else {
		int r = host_open_default(vm->cfg.no_cpuid_cache ? UKVM_HOST_NO_CPUID_CACHE : 0,
					  &vm->host, err, errlen);
		if (r)
			return r;
	}
	struct host_shell shell;
	/*
	 * Not for a snapshot's memory: mapping it over a shell's registered RAM
	 * (MAP_FIXED) cost more than a new VM (the shadow MMU's invalidation of
	 * the whole old range: KVM ready 0.54 against 0.37 ms); a restore takes
	 * a restore shell of its own snapshot instead (snapvm.c).
	 */
	bool pooled = fd < 0 && hostpool_take(vm->host, &shell);
	if (pooled) {
		vm->vm_fd = shell.vm_fd;
		vm->vcpu = shell.vcpu;
		vm->vcpu.kick_signal = vm->cfg.kick_signal;
		if (shell.mem.size == vm->cfg.mem_size) {
			vm->mem = shell.mem; /* the shell's slot 0, registered ahead */
			return 0;
		}
		/* Another size: slot 0 goes (memory_size 0 deletes it) and is made below as without a shell. */
		int r = vm_kvm_ram(vm->vm_fd, NULL);
		mem_free(&shell.mem);
		if (r)
			return vm_errno(err, errlen, "KVM_SET_USER_MEMORY_REGION", -r);
	}
	if (!pooled && (vm->vm_fd = vm_kvm_create(vm->host->kvm_fd)) < 0)
		return vm_errno(err, errlen, "KVM_CREATE_VM", -vm->vm_fd);
	*kind = UKVM_ERR_INTERNAL;
	int r = fd >= 0 ? mem_init_file(&vm->mem, vm->cfg.mem_size, fd, off) : mem_init(&vm->mem, vm->cfg.mem_size);
	if (r)
		return vm_errno(err, errlen, "mapping guest memory", -r);
	*kind = UKVM_ERR_KVM;
	if ((r = vm_kvm_ram(vm->vm_fd, &vm->mem)))
		return vm_errno(err, errlen, "KVM_SET_USER_MEMORY_REGION", -r);
	if (pooled)
		return 0;
	r = vcpu_create(&vm->vcpu, vm->vm_fd, 0, vm->host->vcpu_mmap_size, vm->cfg.kick_signal, err, errlen);
	if (r && vm->vcpu.fd >= 0)
		*kind = UKVM_ERR_INTERNAL; /* KVM gave the vCPU; mapping its run page or an eventfd failed */
	return r;
}

/* Largest config size taken as one: a garbage size would have ukvm_create read past the caller's struct. */
#define VM_CONFIG_SIZE_MAX 4096

/*
 * Copies cfg (of the caller's struct size, ukvm.h) into vm->cfg with defaults and checks it; restore, when
 * not NULL, replaces cfg->restore (ukvm_restore). 0 or -errno.
 */
static int vm_config(struct ukvm_vm *vm, const struct ukvm_config *cfg, const char *restore, char *err,
		     size_t errlen)
{
	if (cfg->size < UKVM_CONFIG_SIZE_0_2 || cfg->size > VM_CONFIG_SIZE_MAX) {
		snprintf(err, errlen, "config size %u: set .size = sizeof(struct ukvm_config)", cfg->size);
		return -EINVAL;
	}
	/* An older caller's struct ends early: the fields it lacks stay 0 (vm is calloc'd), their defaults. */
	memcpy(&vm->cfg, cfg, cfg->size < sizeof(vm->cfg) ? cfg->size : sizeof(vm->cfg));
	/* A newer caller's: fine while the fields this library does not know are 0, never silently ignored. */
	for (size_t i = sizeof(vm->cfg); i < cfg->size; i++)
		if (((const unsigned char *)cfg)[i]) {
			snprintf(err, errlen, "config byte %zu is set: a field of a newer ukvm.h than this "
				 "libukvm %s (%zu bytes)", i, UKVM_VERSION, sizeof(vm->cfg));
			return -E2BIG;
		}
	vm->cfg.size = sizeof(vm->cfg);
	if (restore)
		vm->cfg.restore = restore;
	if (!vm->cfg.mem_size && !vm->cfg.restore)
		vm->cfg.mem_size = UKVM_MEM_DEFAULT; /* a restore's 0: no limit on the snapshot's size */
	if (vm->cfg.restore) {
		if (!*vm->cfg.restore) {
			snprintf(err, errlen, "no snapshot given");
			return -EINVAL;
		}
		vm->cfg.image = vm->cfg.restore; /* messages name the snapshot */
	}
	if (!vm->cfg.image || !*vm->cfg.image) {
		snprintf(err, errlen, "no image given");
		return -EINVAL;
	}
	const char *bad = vm->cfg.mem_size ? ukvm_mem_size_invalid(vm->cfg.mem_size) : NULL;
	if (bad) {
		snprintf(err, errlen, "memory size %llu bytes: %s", (unsigned long long)vm->cfg.mem_size, bad);
		return -EINVAL;
	}
	/* The guest walks it from its root: a relative one would mean nothing there. */
	if (vm->cfg.cwd && (vm->cfg.cwd[0] != '/' || strlen(vm->cfg.cwd) >= UKVM_CWD_MAX)) {
		snprintf(err, errlen, "cwd must be an absolute path shorter than %d bytes", UKVM_CWD_MAX);
		return -EINVAL;
	}
	vm->image = vm->cfg.image;
	if (!vm->cfg.console_err_fd)
		vm->cfg.console_err_fd = vm->cfg.console_fd; /* one stream, as before the field */
	/* The snapshot format does not record it: a restored guest would wait for signals nobody sends. */
	if (vm->cfg.forward_signals && (vm->cfg.restore || vm->cfg.snapshot_when_idle)) {
		snprintf(err, errlen, "forward_signals does not go with snapshots or restores yet");
		return -EINVAL;
	}
	int k = vm->cfg.kick_signal = vm->cfg.kick_signal ? vm->cfg.kick_signal : SIGUSR2;
	if (k < 1 || k >= SIGRTMAX || k == SIGKILL || k == SIGSTOP) {
		snprintf(err, errlen, "kick_signal %d is not usable", k);
		return -EINVAL;
	}
	return 0;
}

/*
 * Each step returns 0 or -errno with one line in err; kind is the public
 * error kind of the step in progress (a step made of parts of several kinds
 * updates it), and vm_error maps the pair once, on the way out.
 */
static int vm_create(const struct ukvm_config *cfg, const char *restore, struct ukvm_vm **out, char *err,
		     size_t errlen)
{
	uint64_t t0 = vm_now_ns();
	struct ukvm_vm *vm = calloc(1, sizeof(*vm));
	enum ukvm_error kind = UKVM_ERR_CONFIG;
	int r;
	*out = NULL;
	if (!vm) {
		snprintf(err, errlen, "out of memory");
		return UKVM_ERR_INTERNAL;
	}
	vm->vm_fd = -1;
	vm->vcpu = (struct vcpu){ .fd = -1, .wake_fd = -1 };
	vm->phase_ns[UKVM_PHASE_CREATE] = t0;
	if ((r = snapshot_init(vm))) {
		snprintf(err, errlen, "pthread: %s", strerror(-r));
		kind = UKVM_ERR_INTERNAL;
		goto err_vm;
	}
	if ((r = vm_config(vm, cfg, restore, err, errlen)))
		goto err_vm;
	if (vm->cfg.host) {
		hostpool_busy(vm->cfg.host, 1);
		vm->busy = true;
	}
	if (vm->cfg.restore) {
		if ((r = snapvm_restore(vm, &kind, err, errlen)))
			goto err_vm;
		*out = vm;
		return UKVM_OK;
	}
	if ((r = vm_kvm(vm, -1, 0, &kind, err, errlen)))
		goto err_vm;
	kind = UKVM_ERR_KVM;
	vm->pv = vm->cfg.pv != UKVM_PV_OFF && vcpu_pv_detect(&vm->vcpu);
	if (vm->cfg.pv == UKVM_PV_ON && !vm->pv) {
		snprintf(err, errlen, "--pv on: this KVM has no pvm-pv interface");
		r = -ENOTSUP;
		goto err_vm;
	}
	vm->phase_ns[UKVM_PHASE_KVM_READY] = vm_now_ns();

	kind = UKVM_ERR_IMAGE; /* missing, unreadable or rejected */
	if ((r = loader_load(vm->image, &vm->mem, &vm->img, err, errlen)))
		goto err_vm;
	bootmem_populate(&vm->mem);
	kind = UKVM_ERR_INTERNAL;
	uint64_t cr3;
	vm->stack_guard = bootmem_stack_guard(vm->mem.size, &vm->img);
	if ((r = pt_build(mem_ptr(&vm->mem, UKVM_PT_GPA, UKVM_PT_END - UKVM_PT_GPA),
			  UKVM_PT_END - UKVM_PT_GPA, vm->mem.size, vm->stack_guard, &cr3)) ||
	    (r = x86_tables_build(&vm->mem, vm->img.note.exc_stubs, vm->pv))) {
		snprintf(err, errlen, "building page or descriptor tables failed");
		goto err_vm;
	}
	if ((r = vmdev_create(vm, &kind, err, errlen)))
		goto err_vm;
	if (vm->cfg.snapshot_when_idle && (r = snapvm_can_save(vm, err, errlen))) {
		kind = UKVM_ERR_CONFIG;
		goto err_vm;
	}
	/* Before the registers: its size decides where it starts, and so RDI and RSP. */
	if ((r = vm_fdt(vm, &kind, err, errlen)))
		goto err_vm;
	kind = UKVM_ERR_KVM;
	struct vcpu_boot boot = { .cpuid = vm->host->cpuid, .pv = vm->pv, .cr3 = cr3, .entry = vm->img.entry,
				  .syscall_entry = vm->img.note.syscall_entry, .fdt_gpa = vm->fdt_gpa };
	if ((r = vcpu_setup(&vm->vcpu, &boot, err, errlen)))
		goto err_vm;
	uart_init(&vm->uart, vm->cfg.console_fd);
	vm->phase_ns[UKVM_PHASE_IMAGE_LOADED] = vm_now_ns();
	*out = vm;
	return UKVM_OK;
err_vm:
	ukvm_destroy(vm);
	return vm_error(kind, r);
}

int ukvm_create(const struct ukvm_config *cfg, struct ukvm_vm **out, char *err, size_t errlen)
{
	return vm_create(cfg, NULL, out, err, errlen);
}

int ukvm_restore(const char *snapshot, const struct ukvm_config *cfg, struct ukvm_vm **out, char *err,
		 size_t errlen)
{
	/* "" rather than NULL: vm_config then says "no snapshot given", never boots cfg's image instead. */
	return vm_create(cfg, snapshot ? snapshot : "", out, err, errlen);
}

void ukvm_stop(struct ukvm_vm *vm)
{
	/* Async-signal-safe: an atomic store, then vcpu_kick (which keeps errno). */
	atomic_store(&vm->stop, 1);
	vcpu_kick(&vm->vcpu);
}

int ukvm_signal(struct ukvm_vm *vm, int sig)
{
	if (sig < 1 || sig > 64)
		return -EINVAL;
	if (!vm->cfg.forward_signals)
		return -ENOTSUP;
	/* Async-signal-safe like ukvm_stop: the run loop moves the bit into guest RAM once the vCPU is out. */
	atomic_fetch_or(&vm->hostsig, 1ull << (sig - 1));
	vcpu_kick(&vm->vcpu);
	return 0;
}

void ukvm_destroy(struct ukvm_vm *vm)
{
	if (!vm)
		return;
	vm_quiet(vm);
	vmdev_free(vm); /* first: the event thread writes into guest RAM until its I/O is done */
	/* The rest touches nothing of the embedder's (its console fds are done with): a reaper may do it. */
	if (!hostpool_reap(vm->host, vm))
		vm_free(vm);
}

void vm_quiet(struct ukvm_vm *vm)
{
	/* cfg.host: held by vm->host, or by the caller of a ukvm_create failing before vm_kvm. */
	if (vm->busy)
		hostpool_busy(vm->cfg.host, -1);
	vm->busy = false;
}

void vm_adopt_shell(struct ukvm_vm *vm, struct host_shell *s)
{
	vm->host = host_ref(vm->cfg.host);
	vm->vm_fd = s->vm_fd;
	vm->vcpu = s->vcpu;
	vm->vcpu.kick_signal = vm->cfg.kick_signal;
	vm->mem = s->mem;
}

void vm_free(struct ukvm_vm *vm)
{
	vcpu_destroy(&vm->vcpu);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	mem_free(&vm->mem);
	loader_free(&vm->img);
	snapvm_free(vm);
	snapshot_fini(vm);
	host_unref(vm->host); /* the VM's reference: the host goes with its last VM after ukvm_host_close */
	free(vm);
}

int ukvm_exit_code(const struct ukvm_result *res)
{
	switch (res->kind) {
	case UKVM_EXITED: return res->status; /* 0..255: hcall.c kept the low 8 bits */
	case UKVM_CRASHED: return res->status;
	case UKVM_TIMEOUT: return UKVM_EXIT_TIMEOUT;
	case UKVM_STOPPED: return UKVM_EXIT_INTERNAL; /* the caller knows why it stopped (ukvm-run: 128+signal) */
	case UKVM_SNAPSHOTTED: return 0;
	default: return res->status ? res->status : UKVM_EXIT_INTERNAL;
	}
}

int ukvm_error_exit_code(int err)
{
	switch (err) {
	case UKVM_OK: return 0;
	case UKVM_ERR_CONFIG: return UKVM_EXIT_USAGE;
	case UKVM_ERR_IMAGE: return UKVM_EXIT_IMAGE;
	case UKVM_ERR_KVM: return UKVM_EXIT_NOKVM;
	default: return UKVM_EXIT_INTERNAL;
	}
}

const char *ukvm_phase_name(enum ukvm_phase p)
{
	static const char *const n[UKVM_PHASE_COUNT] = {
		[UKVM_PHASE_CREATE] = "monitor setup",
		[UKVM_PHASE_KVM_READY] = "KVM ready",
		[UKVM_PHASE_IMAGE_LOADED] = "image loaded",
		[UKVM_PHASE_FIRST_RUN] = "first guest instruction",
		[UKVM_PHASE_KERNEL_ENTRY] = "kernel entry",
		[UKVM_PHASE_KERNEL_READY] = "kernel init done",
		[UKVM_PHASE_APP_MAIN] = "app main",
		[UKVM_PHASE_EXIT] = "exit",
	};
	return (unsigned)p < UKVM_PHASE_COUNT ? n[p] : "?";
}

const char *ukvm_stat_name(enum ukvm_stat s)
{
	static const char *const n[UKVM_STAT_COUNT] = {
		[UKVM_STAT_SERIAL] = "serial", [UKVM_STAT_CONSOLE] = "console",
		[UKVM_STAT_WAIT] = "wait",     [UKVM_STAT_MARK] = "mark",
		[UKVM_STAT_EXIT] = "exit",     [UKVM_STAT_INTR] = "interrupted",
		[UKVM_STAT_OTHER] = "other",   [UKVM_STAT_MMIO] = "mmio",
	};
	return (unsigned)s < UKVM_STAT_COUNT ? n[s] : "?";
}
