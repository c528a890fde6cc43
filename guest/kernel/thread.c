/* thread.c: app threads on the one vCPU: clone, exit, blocking, time slices (PV mode) and the scheduler that drives the wait core. */
#include <linux/errno.h>

#include "arch.h"
#include "boot.h"
#include "futex.h"
#include "k.h"
#include "clock.h"
#include "lapic.h"
#include "linux_abi.h"
#include "sig.h"
#include "thread.h"
#include "timer.h"
#include "wait.h"

/*
 * docs/design.md: threads switch inside blocking syscalls (k_thr_wait,
 * k_thr_yield, k_thr_exit) and, in PV mode only, when a time slice ends
 * (k_thr_irq: a timer interrupt in app code, handled like a sched_yield
 * there; base mode takes no interrupts and stays cooperative). Each thread has its own
 * kernel stack: a blocked thread's kernel context (its syscall frame and the
 * C frames above it) stays there while others run. A switch saves the
 * callee-saved registers and RSP (k_thr_swap), the app's FS base, its
 * FPU/XMM state (the kernel never touches XMM, so at a switch the
 * registers still hold the outgoing app thread's values), the app RSP of
 * its SYSCALL and its signal mask, pending set and alternate stack (Linux
 * keeps those per thread; k_sig holds the running thread's).
 */
/* clone(2) flags (<linux/sched.h>, which the freestanding build does not include). */
#define LX_CLONE_VM 0x100
#define LX_CLONE_FS 0x200
#define LX_CLONE_FILES 0x400
#define LX_CLONE_SIGHAND 0x800
#define LX_CLONE_THREAD 0x10000
#define LX_CLONE_SYSVSEM 0x40000
#define LX_CLONE_SETTLS 0x80000
#define LX_CLONE_PARENT_SETTID 0x100000
#define LX_CLONE_CHILD_CLEARTID 0x200000
#define LX_CLONE_DETACHED 0x400000
#define LX_CLONE_CHILD_SETTID 0x1000000

#define THR_MAX 256
#define THR_PAGES 16 /* struct k_thread at the bottom, the rest (~63 KiB, like the first thread's) kernel stack */
#define THR_CLONE_NEED (LX_CLONE_VM | LX_CLONE_FS | LX_CLONE_FILES | LX_CLONE_SIGHAND | LX_CLONE_THREAD)
#define THR_CLONE_OK (THR_CLONE_NEED | LX_CLONE_SYSVSEM | LX_CLONE_SETTLS | LX_CLONE_PARENT_SETTID | \
		      LX_CLONE_CHILD_CLEARTID | LX_CLONE_CHILD_SETTID | LX_CLONE_DETACHED | 0xff)

enum thr_state { THR_RUN, THR_WAIT, THR_DEAD };

struct k_thread {
	uint8_t fx[512] __attribute__((aligned(16))); /* fxsave64 image of the app's FPU/XMM state */
	int tid, slot;
	enum thr_state state;
	uint64_t ksp;        /* kernel RSP while switched out (k_thr_swap) */
	uint64_t kstack_top; /* loaded by the SYSCALL entry (k_kstack_top) */
	bool own_pages;      /* the first thread lives in .bss on the boot syscall stack */
	uint64_t fsbase, user_rsp;
	uint64_t sigmask, sigpend;
	uint64_t saved_mask; /* k_sig's saved_mask and mask_saved: a blocked ppoll/sigsuspend's, per thread as in Linux */
	bool mask_saved;
	uint64_t sigwaiting; /* rt_sigtimedwait's set: taken by the wait, never acted on (Linux's real_blocked) */
	struct lx_stack altstack;
	uint64_t clear_tid;
	struct k_thr_attr attr; /* prctl's name and flags, the robust futex list */
	unsigned wait_flags; /* K_WAIT_INTR, K_WAIT_SLEEP, K_WAIT_INPUT of the current block */
	uint64_t deadline;
	long wake_rc;
	struct k_thread *dead_next;
	struct k_uregs start; /* a new thread's first user state */
};

/* syscall.S: the kernel stack the SYSCALL entry switches to, and the context switch. */
extern uint64_t k_kstack_top;
void k_thr_swap(uint64_t *save_ksp, uint64_t ksp);

static struct k_thread thr_main = { .tid = 1, .state = THR_RUN };
static struct k_thread *thr_all[THR_MAX] = { &thr_main };
static struct k_thread *thr_cur = &thr_main;
static struct k_thread *thr_dead;
static int thr_live = 1;
static int thr_nrun = 1; /* threads in THR_RUN, the running one included */
static int thr_next_tid = 2;

/*
 * Time slices (PV mode): a thread runs at most THR_SLICE_MS while another
 * is runnable, and a blocked thread's deadline (a sleep, a timeout) or a
 * driver's poll time ends on time even while another thread spins, and an
 * app timer's signal (alarm, setitimer, timer_create) interrupts a loop on
 * time as on Linux. The timer is armed only for those, when the kernel returns to the app
 * (k_thr_leave): a lone thread, and threads that block until another wakes
 * them, take no interrupt at all. It is not cancelled when the contention
 * ends (that would cost a hypercall on every block of a ping-pong pair),
 * only before the idle WAIT: at most one tick per slice. A tick costs ~4
 * KVM exits; measured with the switch it makes (make bench-preempt, a
 * quiet host): ~0.35 ms, two spinning threads 1.03-1.04x base mode's time,
 * only under contention.
 */
#define THR_SLICE_MS 10
static uint64_t thr_slice_start; /* TSC when the running thread got the CPU */
static uint64_t thr_wake_at = K_WAIT_FOREVER; /* monotonic ns: the scheduler must look again (blocked threads) */
static uint64_t thr_ticks, thr_preemptions, thr_switches;

static void thr_set_state(struct k_thread *t, enum thr_state s)
{
	int was = thr_nrun;

	thr_nrun += (s == THR_RUN) - (t->state == THR_RUN);
	t->state = s;
	/* Contention starts: the running thread ran alone so far, which took no one's turn; its slice starts now. */
	if (was == 1 && thr_nrun == 2)
		thr_slice_start = k_rdtsc();
}

int k_thr_tid(void)
{
	return thr_cur->tid;
}

int k_thr_count(void)
{
	return thr_live;
}

static struct k_thread *thr_find(int tid)
{
	for (int i = 0; i < THR_MAX; i++)
		if (thr_all[i] && thr_all[i]->tid == tid)
			return thr_all[i];
	return NULL;
}

bool k_thr_exists(int tid)
{
	return thr_find(tid) != NULL;
}

void k_thr_set_clear_tid(uint64_t addr)
{
	thr_cur->clear_tid = addr;
}

/* Linux's comm of the first thread: the basename of what was executed, at most 15 bytes. */
static void thr_main_comm(void)
{
	const char *s = k_boot_info.argv0 ? k_boot_info.argv0 : k_boot_info.argv ? k_boot_info.argv : "app";
	const char *b = s;
	size_t n = 0;

	for (const char *p = s; *p; p++)
		if (*p == '/')
			b = p + 1;
	while (b[n] && n < K_THR_COMM_LEN - 1) {
		thr_main.attr.comm[n] = b[n];
		n++;
	}
	thr_main.attr.comm[n] = 0;
}

struct k_thr_attr *k_thr_attr(int tid)
{
	struct k_thread *t = tid ? thr_find(tid) : thr_cur;

	if (t == &thr_main && !thr_main.attr.comm[0])
		thr_main_comm();
	return t ? &t->attr : NULL;
}

int k_thr_tid_of(const struct k_thread *t)
{
	return t->tid;
}

/* Frees exited threads' pages once we no longer run on their stacks. */
static void thr_reap(void)
{
	struct k_thread **pp = &thr_dead;

	while (*pp) {
		struct k_thread *t = *pp;
		if (t == thr_cur) {
			pp = &t->dead_next;
			continue;
		}
		*pp = t->dead_next;
		if (t->own_pages)
			k_pages_free(t, THR_PAGES);
	}
}

static void thr_switch_to(struct k_thread *n)
{
	struct k_thread *o = thr_cur;

	if (n == o)
		return;
	o->kstack_top = k_kstack_top;
	o->fsbase = k_rdfsbase();
	o->user_rsp = k_sys_user_rsp;
	o->sigmask = k_sig.mask;
	o->sigpend = k_sig.pending;
	o->altstack = k_sig.altstack;
	o->saved_mask = k_sig.saved_mask;
	o->mask_saved = k_sig.mask_saved;
	__asm__ volatile("fxsave64 %0" : "=m"(o->fx));
	thr_cur = n;
	k_kstack_top = n->kstack_top;
	k_wrfsbase(n->fsbase);
	k_sys_user_rsp = n->user_rsp;
	k_sig.mask = n->sigmask;
	k_sig.pending = n->sigpend;
	k_sig.altstack = n->altstack;
	k_sig.saved_mask = n->saved_mask;
	k_sig.mask_saved = n->mask_saved;
	__asm__ volatile("fxrstor64 %0" : : "m"(n->fx));
	thr_slice_start = k_rdtsc();
	thr_switches++;
	k_thr_swap(&o->ksp, n->ksp);
	/* Back in o, switched to by some other thread. */
	thr_reap();
}

static const char thr_deadlock_msg[] =
	"ukvm: deadlock: every thread is blocked with no timeout (futex, pipe or poll waits) and none can wake another: stopping the app\n";

/*
 * Picks the next thread to run after the current one (round robin), which
 * may be the current one again. Expires timeouts and runs the device
 * pollers (which wake the threads their completions finish); with nobody
 * runnable, one WAIT hypercall until the earliest deadline, a poller's or a
 * thread's. With no deadline at all (and no plain sleep, which always ends,
 * and no device at work), no thread can ever run again: a deadlock, which
 * stops the VM rather than hang.
 */
static void thr_schedule(void)
{
	enum k_wait_news news = K_WAIT_POLLED;

	for (;;) {
		uint64_t now = k_clock_monotonic_ns(), earliest = K_WAIT_FOREVER;
		bool sleeper = false; /* a plain sleep "forever" still ends, in a few centuries */
		bool input = false;   /* a thread waits for input from outside the VM */
		uint64_t dev = k_wait_poll(news);
		k_sig_host_take(); /* after a WAIT a host signal ended: it may wake a blocked thread */
		for (int i = 0; i < THR_MAX; i++) {
			struct k_thread *t = thr_all[i];
			if (!t || t->state != THR_WAIT)
				continue;
			if (t->deadline <= now) {
				thr_set_state(t, THR_RUN);
				t->wake_rc = -ETIMEDOUT;
			} else if (t->deadline < earliest) {
				earliest = t->deadline;
			}
			if (t->wait_flags & K_WAIT_SLEEP)
				sleeper = true;
			if (t->wait_flags & K_WAIT_INPUT)
				input = true;
		}
		/* For k_thr_leave: when a blocked thread or a driver needs the scheduler again (K_WAIT_FOREVER: never). */
		thr_wake_at = dev && dev < earliest ? dev : earliest;
		for (int k = 1; k <= THR_MAX; k++) {
			struct k_thread *t = thr_all[(thr_cur->slot + k) % THR_MAX];
			if (t && t->state == THR_RUN) {
				thr_switch_to(t);
				return;
			}
		}
		if (dev && dev < earliest)
			earliest = dev;
		if (earliest == K_WAIT_FOREVER && !sleeper && !dev && !k_sig_host_on()) {
			k_hypercall_console(K_CONSOLE_ERR, thr_deadlock_msg, sizeof(thr_deadlock_msg) - 1);
			k_hypercall_crash(LX_SIGABRT);
		}
		/* Nobody runnable: a pending slice tick would only cost a delivery later. */
		k_lapic_disarm();
		/*
		 * Quiet when a thread waits for input from outside (K_WAIT_INPUT:
		 * stdin, an inet socket; threads sleeping beside it do not matter)
		 * and no driver awaits anything (dev == 0) or only outside input
		 * with nothing in flight (K_WAIT_FOREVER: console input, a NIC's
		 * frames), housekeeping timers aside: a point to snapshot at
		 * (UKVM_WAIT_IDLE). A pure sleep is no such point: a function
		 * sleeping in its initialisation has not finished it.
		 */
		uint64_t awaited = k_wait_awaited();
		news = k_wait_idle_sched(earliest, input && (!awaited || awaited == K_WAIT_FOREVER));
	}
}

struct k_thread *k_thr_self(void)
{
	return thr_cur;
}

bool k_thr_others_runnable(void)
{
	if (thr_live == 1)
		return false; /* the common case, on every disk request: no scan */
	for (int i = 0; i < THR_MAX; i++) {
		struct k_thread *t = thr_all[i];
		if (t && t != thr_cur && t->state == THR_RUN)
			return true;
	}
	return false;
}

long k_thr_block(uint64_t deadline, unsigned flags)
{
	struct k_thread *c = thr_cur;

	/* A signal already waiting for its handler interrupts the wait before it starts, as in Linux. */
	if ((flags & K_WAIT_INTR) && (k_sig.pending & ~k_sig.mask))
		return -EINTR;
	if (deadline <= k_clock_monotonic_ns())
		return -ETIMEDOUT;
	c->wait_flags = flags;
	c->deadline = deadline;
	c->wake_rc = 0;
	thr_set_state(c, THR_WAIT);
	thr_schedule();
	return c->wake_rc;
}

bool k_thr_unblock(struct k_thread *t, long rc)
{
	if (t->state != THR_WAIT)
		return false;
	thr_set_state(t, THR_RUN);
	t->wake_rc = rc;
	return true;
}

long k_thr_wait(const void *key, uint32_t bitset, uint64_t deadline)
{
	return k_wait_on(key, bitset, deadline, K_WAIT_INTR | (key ? 0 : K_WAIT_SLEEP));
}

int k_thr_wake(const void *key, uint32_t bitset, int n)
{
	return k_wait_wake(key, bitset, n);
}

int k_thr_requeue(const void *from, const void *to, int nwake, int nmove)
{
	return k_wait_requeue(from, to, nwake, nmove);
}

void k_thr_yield(void)
{
	if (thr_live > 1)
		thr_schedule();
}

/* The signals t does not take now: its mask (the running thread's lives in k_sig) less those it waits for. */
static uint64_t thr_mask(const struct k_thread *t)
{
	return (t == thr_cur ? k_sig.mask : t->sigmask) & ~t->sigwaiting;
}

/* A thread other than the current one that does not block sig. */
static struct k_thread *thr_unblocked(int sig)
{
	for (int i = 0; i < THR_MAX; i++) {
		struct k_thread *t = thr_all[i];
		if (t && t != thr_cur && !(thr_mask(t) & SIG_BIT(sig)))
			return t;
	}
	return NULL;
}

long k_thr_post(int tid, int sig)
{
	struct k_thread *t = tid ? thr_find(tid) : thr_unblocked(sig);
	uint64_t bit = SIG_BIT(sig);

	if (!t)
		return -ESRCH;
	if (t == thr_cur)
		k_sig.pending |= bit;
	else
		t->sigpend |= bit;
	if (t->sigwaiting & bit) {
		k_thr_unblock(t, 0); /* its rt_sigtimedwait takes it */
		return 2;
	}
	if (thr_mask(t) & bit)
		return 1;
	/* The current thread too: a timer fires from the scheduler, which runs on a thread that may be blocked. */
	if (t->wait_flags & K_WAIT_INTR)
		k_thr_unblock(t, -EINTR);
	return 0;
}

void k_thr_sigwait(uint64_t set)
{
	thr_cur->sigwaiting = set;
}

int k_thr_pick(int sig)
{
	struct k_thread *first = NULL;

	/* Linux's complete_signal: the thread group leader when it does not block sig, else another that does not. */
	for (int i = 0; i < THR_MAX; i++) {
		struct k_thread *t = thr_all[i];
		if (!t)
			continue;
		if (!(thr_mask(t) & SIG_BIT(sig)))
			return t->tid;
		if (!first)
			first = t;
	}
	return first ? first->tid : 0;
}

bool k_thr_sig_pending(int tid, int sig)
{
	struct k_thread *t = thr_find(tid);

	if (!t)
		return false;
	return ((t == thr_cur ? k_sig.pending : t->sigpend) & SIG_BIT(sig)) != 0;
}

/* A new thread's first instructions in the kernel: k_thr_swap "returns" here on its fresh stack. */
static _Noreturn void thr_first(void)
{
	thr_reap();
	k_thr_leave();
	k_user_resume(&thr_cur->start);
}

/* A new thread from the parent's syscall frame f with clone's arguments (clone and clone3 pass them differently). */
static long thr_clone(struct k_uregs *f, uint64_t flags, uint64_t sp, uint64_t ptid, uint64_t ctid, uint64_t tls)
{
	int slot = 0;

	/* Threads only: fork, vfork and new namespaces need a second address space we do not have. */
	if ((flags & THR_CLONE_NEED) != THR_CLONE_NEED)
		return -ENOSYS;
	if (flags & ~(uint64_t)THR_CLONE_OK)
		return -EINVAL;
	if ((flags & LX_CLONE_PARENT_SETTID) && !k_user_ok((void *)(uintptr_t)ptid, 4))
		return -EFAULT;
	if ((flags & (LX_CLONE_CHILD_SETTID | LX_CLONE_CHILD_CLEARTID)) && !k_user_ok((void *)(uintptr_t)ctid, 4))
		return -EFAULT;
	if ((flags & LX_CLONE_SETTLS) && (uint64_t)((int64_t)(tls << 16) >> 16) != tls)
		return -EPERM;
	while (slot < THR_MAX && thr_all[slot])
		slot++;
	if (slot == THR_MAX || thr_next_tid >= (1 << 22))
		return -EAGAIN;
	struct k_thread *t = k_pages_alloc(THR_PAGES);
	if (!t)
		return -ENOMEM;
	__builtin_memset(t, 0, sizeof(*t));
	t->tid = thr_next_tid++;
	t->slot = slot;
	t->own_pages = true;
	t->state = THR_WAIT; /* not yet counted: runnable once in thr_all, below */
	t->kstack_top = ((uint64_t)(uintptr_t)t + THR_PAGES * 4096ull) & ~15ull;
	/* k_thr_swap pops rbp rbx r12-r15 (zero: ends backtraces) and returns to thr_first, RSP % 16 == 8 as after a call. */
	uint64_t *ks = (uint64_t *)(uintptr_t)(t->kstack_top - 64);
	__builtin_memset(ks, 0, 64);
	ks[6] = (uint64_t)(uintptr_t)thr_first;
	t->ksp = (uint64_t)(uintptr_t)ks;
	t->start = *f;
	t->start.rax = 0;
	if (sp)
		t->start.rsp = sp;
	t->fsbase = (flags & LX_CLONE_SETTLS) ? tls : k_rdfsbase();
	t->user_rsp = t->start.rsp;
	t->sigmask = k_sig.mask;
	t->altstack = (struct lx_stack){ 0, LX_SS_DISABLE, 0, 0 };
	/* Linux's copy_process: the name and no_new_privs are inherited; pdeathsig and the robust list are not. */
	const struct k_thr_attr *pa = k_thr_attr(0);
	__builtin_memcpy(t->attr.comm, pa->comm, sizeof(t->attr.comm));
	t->attr.no_new_privs = pa->no_new_privs;
	if (flags & LX_CLONE_CHILD_CLEARTID)
		t->clear_tid = ctid;
	__asm__ volatile("fxsave64 %0" : "=m"(t->fx));
	if (flags & LX_CLONE_PARENT_SETTID)
		*(volatile uint32_t *)(uintptr_t)ptid = (uint32_t)t->tid;
	if (flags & LX_CLONE_CHILD_SETTID)
		*(volatile uint32_t *)(uintptr_t)ctid = (uint32_t)t->tid;
	thr_all[slot] = t;
	thr_live++;
	thr_set_state(t, THR_RUN);
	return t->tid;
}

long k_thr_clone(struct k_uregs *f)
{
	return thr_clone(f, f->rdi, f->rsi, f->rdx, f->r10, f->r8);
}

/* struct clone_args of clone3(2), as far as its first version (64 bytes) goes. */
struct thr_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};
#define THR_CLONE_ARGS_MAX 4096 /* Linux: a bigger struct is E2BIG (PAGE_SIZE) */
#define THR_CSIGNAL 0xffull

long k_thr_clone3(struct k_uregs *f)
{
	const uint8_t *u = (const uint8_t *)(uintptr_t)f->rdi;
	uint64_t size = f->rsi;
	struct thr_clone_args a;

	if (size < sizeof(a))
		return -EINVAL;
	if (size > THR_CLONE_ARGS_MAX)
		return -E2BIG;
	if (!k_user_ok(u, size))
		return -EFAULT;
	__builtin_memcpy(&a, u, sizeof(a));
	/* Linux: fields this kernel does not know (set_tid, cgroup ...) must be zero. */
	for (uint64_t i = sizeof(a); i < size; i++)
		if (u[i])
			return -E2BIG;
	if ((a.flags & THR_CSIGNAL) || a.exit_signal > LX_NSIG)
		return -EINVAL;
	if ((a.flags & LX_CLONE_THREAD) && a.exit_signal)
		return -EINVAL;
	if (!a.stack != !a.stack_size)
		return -EINVAL;
	return thr_clone(f, a.flags, a.stack ? a.stack + a.stack_size : 0, a.parent_tid, a.child_tid, a.tls);
}

_Noreturn void k_thr_exit(int status)
{
	struct k_thread *c = thr_cur;

	if (thr_live == 1)
		k_exit(status);
	/* Linux's futex_exit_release: robust locks first (OWNER_DIED, a waiter woken), then the tid word. */
	k_futex_exit_robust(c->attr.robust_head, (uint32_t)c->tid);
	/* pthread_join waits on this word: Linux zeroes it and wakes one futex waiter. */
	if (c->clear_tid && !(c->clear_tid & 3) && k_user_ok((void *)(uintptr_t)c->clear_tid, 4)) {
		__atomic_store_n((uint32_t *)(uintptr_t)c->clear_tid, 0, __ATOMIC_SEQ_CST);
		k_thr_wake((const void *)(uintptr_t)c->clear_tid, ~0u, 1);
	}
	thr_set_state(c, THR_DEAD);
	thr_all[c->slot] = NULL;
	thr_live--;
	c->dead_next = thr_dead;
	thr_dead = c;
	thr_schedule();
	k_panic("exited thread %d ran again", c->tid);
}

void k_thr_leave(void)
{
	uint64_t at = UINT64_MAX;

	if (!k_pv_vif)
		return; /* base mode: no interrupts */
	/* More than one thread: the end of the slice, or a blocked thread's (or a driver's) next look. */
	if (thr_live > 1 && thr_nrun > 1)
		at = thr_slice_start + k_clock_tsc_of_ns(THR_SLICE_MS * 1000000ull);
	else if (thr_live > 1 && thr_wake_at != K_WAIT_FOREVER)
		at = k_clock_tsc_at(thr_wake_at);
	/* An app timer's signal (alarm, setitimer, timer_create) on time, even into a loop with no syscall. */
	if (k_timer_next && k_clock_tsc_at(k_timer_next) < at)
		at = k_clock_tsc_at(k_timer_next);
	if (at != UINT64_MAX && (!k_lapic_armed() || at < k_lapic_deadline()))
		k_lapic_arm(at);
}

_Noreturn void k_thr_irq(struct k_uregs *f, uint64_t vector)
{
	k_sys_user_rsp = f->rsp; /* as a SYSCALL's entry: a switch keeps it per thread */
	if (vector == K_VEC_TICK) {
		k_lapic_eoi();
		thr_ticks++;
		uint64_t slice = k_clock_tsc_of_ns(THR_SLICE_MS * 1000000ull);
		/*
		 * A tick armed for an earlier thread's slice gives this one the rest of
		 * its own; one for a blocked thread's deadline runs the scheduler,
		 * which expires it (and polls the drivers) and, round robin, runs
		 * another runnable thread first, as sched_yield.
		 */
		if ((thr_nrun > 1 && k_rdtsc() - thr_slice_start >= slice) ||
		    (thr_wake_at != K_WAIT_FOREVER && k_clock_monotonic_ns() >= thr_wake_at)) {
			uint64_t before = thr_switches;
			thr_schedule();
			thr_preemptions += thr_switches != before; /* back here: another thread ran meanwhile */
		}
	}
	/* The syscall return's work: expired timers, then a pending signal's handler (asynchronous pthread_cancel). */
	k_timer_check();
	k_sig.restored = true; /* f is the whole user state: resume all of it, RAX included */
	k_sig_syscall_exit(f, (long)f->rax);
	k_thr_leave();
	k_user_resume(f);
}

void k_thr_tick_stats(uint64_t *ticks, uint64_t *preemptions)
{
	*ticks = thr_ticks;
	*preemptions = thr_preemptions;
}
