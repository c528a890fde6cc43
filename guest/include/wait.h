/* wait.h: the kernel's wait core (guest/kernel/wait.c): wait keys that threads block on and pollers or threads wake, device pollers, the one idle WAIT. */
#ifndef WAIT_H
#define WAIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * docs/design.md: the guest takes no interrupts. A thread that must wait blocks
 * on a wait key (any kernel address naming what it waits for: a pipe, a
 * futex word, a disk request) with an optional deadline; whoever changes that
 * thing wakes the key. Drivers register a poller; the scheduler runs the
 * pollers whenever it picks a thread, and when no thread can run it makes
 * ONE WAIT hypercall until the earliest deadline (sleepers, timeouts, a
 * poller's next look) or device news, then runs the pollers again.
 */

struct k_thread;
struct k_waiter;
struct ukvm_tty;

/* Block flags (k_wait_block, k_wait_on). */
#define K_WAIT_INTR  1u /* a signal for the thread ends the wait with -EINTR (pipes, futex, sleep, poll; not a disk) */
#define K_WAIT_SLEEP 2u /* a plain sleep: ends by itself even "forever", so it is never a deadlock */
/*
 * Waits for input from outside the VM: a read, poll, select or epoll_wait
 * that includes fd 0 (the console's input) or an inet socket (accept,
 * recv). Only while a thread waits so, with none runnable and no driver
 * request in flight, is the VM idle (UKVM_WAIT_IDLE): a function waiting
 * for its request. A pure sleep is not; a sleeper beside such a waiter
 * does not prevent it.
 */
#define K_WAIT_INPUT 4u

/* A deadline that never comes (the WAIT hypercall reads UINT64_MAX as "none", so stay below it). */
#define K_WAIT_FOREVER ((uint64_t)INT64_MAX)

/* What a poller is told about the moment it runs (its news argument). */
enum k_wait_news {
	K_WAIT_POLLED = -1, /* the scheduler is switching threads; no WAIT happened */
	K_WAIT_QUIET = 0,   /* a WAIT just ended at its deadline without device news */
	K_WAIT_NEWS = 1,    /* a WAIT just ended with device news (maybe news polling already collected) */
};

/* Called by k_wait_wake instead of waking a thread (epoll's readiness callback); it may wake other keys but must not unregister waiters. */
typedef void (*k_wait_fn)(struct k_waiter *w);

/* One registration on a wait key; lives with its owner (a blocked thread's stack, an epoll item). */
struct k_waiter {
	const void *key;
	uint32_t bits;         /* k_wait_wake's bits must meet these (futex bitsets); ~0u: any */
	struct k_thread *thr;  /* the thread woken, when fn is NULL */
	k_wait_fn fn;
	void *ctx;             /* for fn */
	struct k_waiter *next, **pprev; /* hash chain; pprev NULL while not registered */
};

/*
 * Registers w on key: a wake wakes the current thread (fn NULL) or calls fn.
 * w must stay valid until k_wait_del, or until a wake that woke its thread
 * (that unregisters it, as Linux's autoremove wake does).
 */
void k_wait_add(struct k_waiter *w, const void *key, uint32_t bits, k_wait_fn fn, void *ctx);

/* Unregisters w (no-op when it is not registered). */
void k_wait_del(struct k_waiter *w);

/*
 * Wakes up to n waiters of key whose bits meet bits: blocked threads become
 * runnable (they run once the caller blocks or yields) and are unregistered;
 * callbacks are called. Returns how many were woken. key NULL: none.
 */
int k_wait_wake(const void *key, uint32_t bits, int n);

/* True when a thread waits on key (a futex word's owner must then come to the kernel to unlock). */
bool k_wait_has(const void *key);

/* Wakes the oldest blocked thread waiting on key (as k_wait_wake with n 1) and returns it; NULL when none. */
struct k_thread *k_wait_wake_first(const void *key);

/* Wakes up to nwake waiters of from, moves up to nmove of the other blocked ones to wait on to: woken + moved. */
int k_wait_requeue(const void *from, const void *to, int nwake, int nmove);

/*
 * Blocks the current thread (its waiters registered) until one of them is
 * woken (0), the monotonic deadline passes (-ETIMEDOUT), or, with
 * K_WAIT_INTR, a signal arrives for it (-EINTR; also before blocking when one
 * is already pending). Other threads run meanwhile.
 */
long k_wait_block(uint64_t deadline, unsigned flags);

/* The one-key wait: registers a waiter on key (none when key is NULL), blocks, unregisters. Same results. */
long k_wait_on(const void *key, uint32_t bits, uint64_t deadline, unsigned flags);

/* A device driver's poller. */
struct k_poller {
	/*
	 * Collects the device's completions and wakes the keys of the threads
	 * they finish; news says what preceded the call. Returns the monotonic
	 * time by which it must run again while it awaits the device (the idle
	 * WAIT ends no later; the awaited device also means its waiters are not
	 * deadlocked), or 0 when it awaits nothing. K_WAIT_FOREVER: it awaits
	 * input from outside (console input) with nothing in flight, so its
	 * waiters are not deadlocked and the VM is still quiet. Runs on
	 * whichever thread is scheduling: it must not block.
	 */
	uint64_t (*poll)(struct k_poller *p, enum k_wait_news news);
	/*
	 * Optional (NULL: none). Called by k_wait_idle(_sched) before the WAIT
	 * hypercall (an exit): may watch its device for news a little while
	 * (bounded, never past deadline) and returns true when news came, so
	 * the WAIT is skipped and the pollers run again. Returning false it
	 * must have armed its device's news, so the WAIT ends on it.
	 */
	bool (*idle)(struct k_poller *p, uint64_t deadline);
	/*
	 * Set by poll: the time it returned only keeps housekeeping timers
	 * ticking (the network stack's ARP and reassembly timer with no
	 * connection open), not anything a thread awaits: the VM still counts
	 * as quiet, a snapshot point (k_wait_awaited).
	 */
	bool housekeeping;
	struct k_poller *next;
};

/* Registers a poller (boot, from a driver's probe); it runs until the VM ends. */
void k_wait_poller_add(struct k_poller *p);

/* Runs every poller (the scheduler, at each pick): the earliest time one must run again, or 0 when none awaits anything. */
uint64_t k_wait_poll(enum k_wait_news news);

/* The last k_wait_poll's answer without the pollers that said housekeeping: what threads await (quiet when 0 or K_WAIT_FOREVER). */
uint64_t k_wait_awaited(void);

/*
 * The idle path, when no thread can run: one WAIT hypercall until deadline
 * (monotonic; K_WAIT_FOREVER for a sleep of centuries) or device news.
 * Returns K_WAIT_QUIET or K_WAIT_NEWS for the next k_wait_poll; a failed
 * hypercall is a kernel panic (nothing could ever wake us).
 */
enum k_wait_news k_wait_idle(uint64_t deadline);

/*
 * k_wait_idle for the scheduler: quiet says no thread can run, no
 * driver has a request in flight and a thread waits for input from
 * outside (K_WAIT_INPUT); with a wait of at least
 * UKVM_WAIT_IDLE_MIN_NS the WAIT then carries UKVM_WAIT_IDLE (a point
 * where the monitor may snapshot the VM). A VM restored from a snapshot
 * taken there sees UKVM_WAIT_RESTORED: its clocks and random generator are
 * fixed up here (k_clock_restored, k_random_reseed) and it returns
 * K_WAIT_NEWS.
 */
enum k_wait_news k_wait_idle_sched(uint64_t deadline, bool quiet);

/*
 * The fix-ups of a restore but the clock's (the WAIT answer's and the
 * restore block's, guest/kernel/restore.c): the pvm-pv APIC set up again,
 * the random generator reseeded with seed[len], the console's terminals
 * tty[0..2] (three struct ukvm_tty), the snapshotted run's console input dropped.
 */
void k_wait_restored(const uint8_t *seed, size_t len, const struct ukvm_tty *tty);

/* Monotonic ns the vCPU spent idle in WAIT hypercalls since boot (/proc/uptime, /proc/stat). */
uint64_t k_wait_idle_ns(void);

#endif
