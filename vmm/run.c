/* run.c: ukvm_run: the vCPU loop in the caller's thread, its timeout timer and kick signal, and fatal-exit reports. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "fdtbuild.h"
#include "mmio.h"
#include "run.h"
#include "sandbox.h"
#include "snapshot.h"
#include "snapvm.h"
#include "vmdev.h"

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

void run_finish(struct run_ctx *c, int kind, int status, bool with_regs, const char *fmt, ...)
{
	struct ukvm_result *res = c->res;
	va_list ap;
	if (c->done)
		return;
	c->done = true;
	res->kind = kind;
	res->status = status;
	va_start(ap, fmt);
	vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
	va_end(ap);
	if (!with_regs)
		return;
	struct kvm_regs r;
	struct kvm_sregs s;
	if (vcpu_get_regs(&c->vm->vcpu, &r, &s))
		return;
	char sym[96];
	size_t l = strlen(res->msg);
	snprintf(res->msg + l, sizeof(res->msg) - l,
		 " at RIP 0x%llx (%s) CPL%u CR2 0x%llx RSP 0x%llx RAX 0x%llx RDI 0x%llx",
		 (unsigned long long)r.rip, loader_symbolize(&c->vm->img, r.rip, sym, sizeof(sym)),
		 s.cs.selector & 3, (unsigned long long)s.cr2, (unsigned long long)r.rsp,
		 (unsigned long long)r.rax, (unsigned long long)r.rdi);
}

static void run_io(struct run_ctx *c)
{
	struct kvm_run *run = c->vm->vcpu.run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;
	uint16_t port = run->io.port;

	if (uart_owns(port)) {
		c->res->exits[UKVM_STAT_SERIAL]++;
		/* `rep outsb` arrives with count > 1; wider accesses touch only their first byte. */
		uint8_t tx[256];
		size_t ntx = 0;
		for (uint32_t i = 0; i < run->io.count; i++) {
			uint8_t *d = data + (size_t)i * run->io.size;
			if (run->io.size != 1 && !out)
				memset(d, 0xff, run->io.size);
			if (uart_io(&c->vm->uart, port, out, d))
				tx[ntx++] = *d;
			/* Transmitted bytes go out in batches; write errors are the guest's to ignore (uart.h). */
			if ((ntx == sizeof(tx) || i + 1 == run->io.count) && ntx) {
				ssize_t n = hcall_console_out(c, RUN_CON_OUT, tx, ntx); /* the UART is console_fd's (vm.c) */
				if (n == -EINTR || n == -EPIPE)
					return; /* the run ends */
				ntx = 0;
			}
		}
		return;
	}
	if (port >= UKVM_PORT_BASE && port < UKVM_PORT_BASE + UKVM_PORT_COUNT) {
		if (!out || run->io.size != 4 || run->io.count != 1) {
			c->res->exits[UKVM_STAT_OTHER]++;
			run_finish(c, UKVM_FAILED, UKVM_EXIT_GUESTERR, true,
				   "guest used hypercall port 0x%x with %s of size %u count %u (want outl)",
				   port, out ? "out" : "in", run->io.size, run->io.count);
			return;
		}
		uint32_t v;
		memcpy(&v, data, 4);
		hcall_handle(c, port, v);
		return;
	}
	c->res->exits[UKVM_STAT_OTHER]++;
	run_finish(c, UKVM_FAILED, UKVM_EXIT_GUESTERR, true, "guest %s unexpected port 0x%x",
		   out ? "wrote to" : "read from", port);
}

static void run_exit(struct run_ctx *c)
{
	struct kvm_run *run = c->vm->vcpu.run;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		run_io(c);
		return;
	case KVM_EXIT_MMIO:
		if (vmdev_mmio_exit(c))
			return;
		run_finish(c, UKVM_FAILED, UKVM_EXIT_GUESTERR, true, "guest %s unexpected MMIO 0x%llx (%u bytes)",
			   run->mmio.is_write ? "wrote to" : "read from",
			   (unsigned long long)run->mmio.phys_addr, run->mmio.len);
		break;
	case KVM_EXIT_SHUTDOWN:
		run_finish(c, UKVM_FAILED, UKVM_EXIT_GUESTERR, true, "guest triple fault");
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		run_finish(c, UKVM_FAILED, UKVM_EXIT_GUESTERR, true, "KVM internal error (suberror %u)",
			   run->internal.suberror);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		run_finish(c, UKVM_FAILED, UKVM_EXIT_GUESTERR, true, "vCPU entry failed (reason 0x%llx)",
			   (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_HLT:
		run_finish(c, UKVM_FAILED, UKVM_EXIT_GUESTERR, true, "guest halted (it takes no interrupts)");
		break;
	default:
		run_finish(c, UKVM_FAILED, UKVM_EXIT_GUESTERR, true, "unexpected KVM exit reason %u",
			   run->exit_reason);
		break;
	}
	c->res->exits[UKVM_STAT_OTHER]++;
}

bool run_ending(const struct run_ctx *c)
{
	return atomic_load(&c->vm->stop) || (c->deadline_ns && vm_now_ns() >= c->deadline_ns);
}

static int run_timer(struct run_ctx *c, timer_t *t)
{
	struct sigevent ev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = c->vm->vcpu.kick_signal };
	ev.sigev_notify_thread_id = gettid();
	if (timer_create(CLOCK_MONOTONIC, &ev, t) < 0)
		return -errno;
	struct itimerspec its = { .it_value = { (time_t)(c->deadline_ns / 1000000000ull),
						(long)(c->deadline_ns % 1000000000ull) } };
	if (timer_settime(*t, TIMER_ABSTIME, &its, NULL) < 0) {
		int e = errno;
		timer_delete(*t);
		return -e;
	}
	return 0;
}

/*
 * Output the guest buffered (proto/ukvm_abi.h, "Console buffer") and then
 * computed on without a hypercall would wait for its next one, which may be
 * its last (a progress line flushed before an hour of work). So while the
 * guest runs, a kick every RUN_FLUSH_MS takes the vCPU out of KVM_RUN and
 * the loop writes what is there: output shows within that time, for one exit
 * per tick (~30 us in 50 ms). Only when a stream is buffered (its host fd is
 * not a terminal, as vm.c told the guest) or signals are forwarded (the tick
 * looks at the ones a computing guest has not taken, run_hostsig); paused
 * while the guest WAITs.
 */
#define RUN_FLUSH_MS 50

static void run_flush_begin(struct run_ctx *c)
{
	bool buffered = false;
	for (unsigned i = 0; i < 2; i++)
		buffered |= c->con[i].fd >= 0 && !isatty(c->con[i].fd);
	/* Forwarded signals want it too: a computing guest's untaken ones are looked at each tick. */
	if ((!c->conbuf.size || !buffered) && !c->vm->cfg.forward_signals)
		return;
	struct sigevent ev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = c->vm->vcpu.kick_signal };
	ev.sigev_notify_thread_id = gettid();
	if (timer_create(CLOCK_MONOTONIC, &ev, &c->flush) < 0)
		return; /* output then waits for the guest's next hypercall, as it would without this */
	c->has_flush = true;
	run_flush_pause(c, false);
}

void run_flush_pause(struct run_ctx *c, bool paused)
{
	static const struct timespec tick = { 0, RUN_FLUSH_MS * 1000000L };
	struct itimerspec its = { .it_interval = tick, .it_value = tick };
	if (paused)
		its = (struct itimerspec){ 0 };
	if (c->has_flush)
		(void)timer_settime(c->flush, 0, &its, NULL);
}

/* Signals whose default action ends a process (terminate or core): all but CHLD, CONT, stops, URG, WINCH. */
#define RUN_SIG_FATAL (~0ull & ~((1ull << (SIGCHLD - 1)) | (1ull << (SIGCONT - 1)) | (1ull << (SIGSTOP - 1)) | \
				 (1ull << (SIGTSTP - 1)) | (1ull << (SIGTTIN - 1)) | (1ull << (SIGTTOU - 1)) | \
				 (1ull << (SIGURG - 1)) | (1ull << (SIGWINCH - 1))))

bool run_hostsig(struct run_ctx *c, bool running)
{
	struct ukvm_hostsig h;
	uint8_t *w;

	if (!c->vm->cfg.forward_signals || !(w = mem_ptr(&c->vm->mem, UKVM_HOSTSIG_GPA, sizeof(h))))
		return false;
	/* The vCPU is out of KVM_RUN: nothing else writes pending now; caught is the guest's, whatever it holds. */
	memcpy(&h, w, sizeof(h));
	uint64_t bits = atomic_exchange(&c->vm->hostsig, 0);
	if (bits) {
		h.pending |= bits;
		memcpy(w + offsetof(struct ukvm_hostsig, pending), &h.pending, sizeof(h.pending));
	}
	if (!h.pending) {
		c->hostsig_since = 0;
		return false;
	}
	uint64_t now = vm_now_ns(), fatal = h.pending & ~h.caught & RUN_SIG_FATAL;
	if (!c->hostsig_since)
		c->hostsig_since = now;
	/* Computing without a syscall: it would never take it, and its default action is to die. */
	if (running && fatal && now - c->hostsig_since >= UKVM_HOSTSIG_GRACE_MS * 1000000ull) {
		uint32_t sig = (uint32_t)__builtin_ctzll(fatal) + 1;
		run_finish(c, UKVM_CRASHED, 128 + (int)sig, false, "app killed by signal %u (%s) from outside",
			   sig, ukvm_signal_name(sig));
	}
	return true;
}

static void run_loop(struct run_ctx *c)
{
	struct ukvm_vm *vm = c->vm;
	while (!c->done) {
		if (atomic_load(&vm->stop)) {
			run_finish(c, UKVM_STOPPED, UKVM_EXIT_INTERNAL, false, "stopped by request");
			break;
		}
		if (c->deadline_ns && vm_now_ns() >= c->deadline_ns) {
			run_finish(c, UKVM_TIMEOUT, UKVM_EXIT_TIMEOUT, false, "timeout after %llu ms",
				   (unsigned long long)vm->cfg.timeout_ms);
			break;
		}
		int r = vcpu_run_once(&vm->vcpu);
		if (r == -EINTR || r == -EAGAIN) {
			c->res->exits_total++;
			c->res->exits[UKVM_STAT_INTR]++;
			vcpu_drain_kick(&vm->vcpu);
			hcall_conbuf_flush(c); /* a flush tick, or a stop: what the guest buffered goes out now */
			run_hostsig(c, true);
			if (!c->done && snapshot_take(c, 0)) /* ukvm_snapshot: the guest is between two instructions */
				break;
			continue;
		}
		if (r) {
			run_finish(c, UKVM_FAILED, UKVM_EXIT_INTERNAL, false, "KVM_RUN: %s", strerror(-r));
			break;
		}
		if (!c->res->first_exit_ns)
			c->res->first_exit_ns = vm_now_ns();
		c->res->exits_total++;
		run_exit(c);
	}
}

/* The vCPU thread's seccomp filter, its arguments pinned to the fds this run uses (vmm/sandbox.h). */
/*
 * The fds ukvm_destroy, and an embedder after it, close on the vCPU thread
 * (sandbox.h own_fds): the VM's, its devices' and loop's, the run's, its
 * host's (closed by the VM holding the last reference, or by the jail), and
 * the NIC fds its config handed over (UKVM_NET_FD: the jail's taps).
 */
static unsigned run_own_fds(struct run_ctx *c, int stats_fd, int *fds, unsigned max)
{
	struct ukvm_vm *vm = c->vm;
	unsigned n = vmdev_vcpu_fds(vm, fds, max);
	if (vm->ev)
		n += event_fds(vm->ev, fds + n, max - n);
	int more[] = { vm->vm_fd, vm->vcpu.fd, vm->vcpu.wake_fd, vm->host->kvm_fd, vm->host->pagemap_fd, stats_fd,
		       c->snap ? snapvm_writer_fd(c->snap) : -1, c->snap ? snapvm_writer_pagemap_fd(c->snap) : -1 };
	for (unsigned i = 0; i < sizeof(more) / sizeof(more[0]) && n < max; i++)
		if (more[i] > 0)
			fds[n++] = more[i];
	for (unsigned i = 0; i < vm->cfg.nnets && n < max; i++)
		if (vm->cfg.nets[i].kind == UKVM_NET_FD)
			fds[n++] = vm->cfg.nets[i].fd;
	return n;
}

static int run_sandbox(struct run_ctx *c, int stats_fd)
{
	struct ukvm_vm *vm = c->vm;
	int dev_fds[UKVM_MMIO_MAX_DEVS * (MMIO_MAX_QUEUES + 1) + 1];
	int own[sizeof(dev_fds) / sizeof(dev_fds[0]) + EVENT_FILES_MAX + EVENT_WRITE_FDS_MAX + 16 + UKVM_MAX_NICS];
	bool helpers = false;
	for (unsigned i = 0; i < vm->cfg.nnets; i++)
		helpers |= vm->cfg.nets[i].kind == UKVM_NET_USER;
	struct sandbox_vcpu p = {
		.vcpu_fd = vm->vcpu.fd, .pid = vm->vcpu.pid, .kick_signal = vm->vcpu.kick_signal,
		.wake_fd = vm->vcpu.wake_fd, .out_fds = { c->con[RUN_CON_OUT].fd, c->con[RUN_CON_ERR].fd },
		.in_fd = c->in.fd, .dev_fds = dev_fds,
		.ndev_fds = vmdev_vcpu_fds(vm, dev_fds, sizeof(dev_fds) / sizeof(dev_fds[0])),
		.snap_fd = c->snap ? snapvm_writer_fd(c->snap) : -1,
		.pagemap_fd = c->snap ? snapvm_writer_pagemap_fd(c->snap) : -1,
		.stats_fd = stats_fd,
		.helpers = helpers,
		/* A user-mode NIC's helper has fds only devices/net_user.c knows: close stays open then. */
		.own_fds = helpers ? NULL : own,
		.nown_fds = helpers ? 0 : run_own_fds(c, stats_fd, own, sizeof(own) / sizeof(own[0])),
		.cache = vm->host->seccomp,
	};
	return sandbox_vcpu_install_for(&p);
}

/* ukvm_run into this library's own struct ukvm_result. */
static int run_vm(struct ukvm_vm *vm, struct ukvm_result *res)
{
	struct run_ctx c = { .vm = vm, .res = res };
	sigset_t saved;
	timer_t timer;
	bool have_timer = false;
	int r;

	memset(res, 0, sizeof(*res));
	if (vm->ran) {
		run_finish(&c, UKVM_FAILED, UKVM_EXIT_INTERNAL, false, "VM has already run");
		return -EALREADY;
	}
	vm->ran = true;
	/*
	 * A console whose reader went away makes write() raise SIGPIPE at this
	 * thread, which would kill an embedder's process (or ukvm-run, with no
	 * word): blocked for the whole run, KVM_RUN and ppoll included, and taken
	 * back where the write failed (hcall_console_out ends the run).
	 */
	sigset_t outer, pipe_set;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &outer);
	if ((r = vcpu_run_begin(&vm->vcpu, &saved, &c.wait_mask))) {
		run_finish(&c, UKVM_FAILED, UKVM_EXIT_INTERNAL, false, "KVM_SET_SIGNAL_MASK: %s", strerror(-r));
		pthread_sigmask(SIG_SETMASK, &outer, NULL);
		return 0;
	}
	hcall_console_init(&c, RUN_CON_OUT, vm->cfg.console_fd);
	hcall_console_init(&c, RUN_CON_ERR, vm->cfg.console_err_fd);
	hcall_input_init(&c, vm->cfg.console_in_fd);
	hcall_conbuf_init(&c);
	c.conbuf.sent = snapvm_conbuf_sent(vm); /* what a snapshot taken running had written already */
	run_flush_begin(&c);
	if (vm->cfg.timeout_ms) {
		/* From now, not from ukvm_create: an embedder may create VMs ahead and run them later. */
		uint64_t now = vm_now_ns();
		c.deadline_ns = vm->cfg.timeout_ms > (UINT64_MAX - now) / 1000000ull ? UINT64_MAX
							: now + vm->cfg.timeout_ms * 1000000ull;
		if ((r = run_timer(&c, &timer))) {
			run_finish(&c, UKVM_FAILED, UKVM_EXIT_INTERNAL, false, "timer_create: %s", strerror(-r));
			goto out;
		}
		have_timer = true;
	}
	if (vm->cfg.snapshot_when_idle) {
		char why[200];
		if ((r = snapvm_writer_open(vm, vm->cfg.snapshot_when_idle, &c.snap, why, sizeof(why)))) {
			run_finish(&c, UKVM_FAILED, UKVM_EXIT_USAGE, false, "%s", why);
			goto out;
		}
	}
	/* Opened before the filter (an ioctl it does not allow); read at the end with one read() it allows on it. */
	int stats_fd = vm->cfg.kvm_stats ? vcpu_stats_open(&vm->vcpu) : -1;
	if (vm->cfg.seccomp && (r = run_sandbox(&c, stats_fd))) {
		run_finish(&c, UKVM_FAILED, UKVM_EXIT_INTERNAL, false, "seccomp: %s", strerror(-r));
		goto out_stats;
	}
	if (vm->snap) {
		snapvm_resume(vm); /* the guest's WAIT answers "restored", with the host's time and a fresh seed */
	} else {
		struct timespec wall;
		clock_gettime(CLOCK_REALTIME, &wall);
		fdtb_set_boot_time(mem_ptr(&vm->mem, vm->fdt_gpa, UKVM_FDT_END - vm->fdt_gpa),
				   (uint64_t)wall.tv_sec * 1000000000ull + (uint64_t)wall.tv_nsec);
	}
	vm->phase_ns[UKVM_PHASE_FIRST_RUN] = vm_now_ns();
	vmdev_run_begin(&c);
	snapshot_run_begin(vm);
	run_loop(&c);
	run_flush_pause(&c, true);
	hcall_conbuf_final(&c); /* before anything reports how the run ended: the guest's output comes first */
out_stats:
	if (stats_fd >= 0) {
		struct vcpu_kvm_stats ks;
		if (vcpu_stats_read(stats_fd, &ks) == 0) {
			res->kvm_stats = true;
			res->kvm_pf_taken = ks.pf_taken;
			res->kvm_pf_fixed = ks.pf_fixed;
			res->kvm_exits = ks.exits;
			res->kvm_irqs = ks.irq_injections;
		}
		close(stats_fd);
	}
out:
	snapshot_run_end(vm); /* every way out: a request still waiting is refused, later ones too */
	vmdev_run_end(vm);
	vm->phase_ns[UKVM_PHASE_EXIT] = vm_now_ns();
	/* The guest is gone: let in-flight I/O finish (nothing new starts), then read the counters. */
	vm_devices_stop(vm);
	vm_dev_stats(vm, res);
	res->stdin_reads = c.in.reads;
	res->stdin_bytes = c.in.bytes;
	snapvm_writer_close(c.snap);
	if (have_timer)
		timer_delete(timer);
	if (c.has_flush)
		timer_delete(c.flush);
	vcpu_run_end(&vm->vcpu, &saved);
	if (!sigismember(&outer, SIGPIPE)) { /* ours, from a console write or a warning on a closed stderr */
		struct timespec zero = { 0, 0 };
		while (sigtimedwait(&pipe_set, NULL, &zero) > 0)
			;
	}
	pthread_sigmask(SIG_SETMASK, &outer, NULL);
	vm_quiet(vm); /* the host's background threads may build and reap again */
	memcpy(res->phase_ns, vm->phase_ns, sizeof(res->phase_ns));
	res->pv = vm->pv;
	return 0;
}

/* Largest result size taken as one: a garbage size would have ukvm_run write past the caller's struct. */
#define RUN_RESULT_SIZE_MAX 65536

int ukvm_run(struct ukvm_vm *vm, struct ukvm_result *res)
{
	uint32_t size = res->size;
	if (size < UKVM_RESULT_SIZE_0_2 || size > RUN_RESULT_SIZE_MAX)
		return -EINVAL;
	struct ukvm_result full;
	int r = run_vm(vm, &full);
	/* An older caller's struct gets the fields it has; a newer one's fields unknown here read 0. */
	memcpy(res, &full, size < sizeof(full) ? size : sizeof(full));
	if (size > sizeof(full))
		memset((unsigned char *)res + sizeof(full), 0, size - sizeof(full));
	res->size = size;
	return r;
}
