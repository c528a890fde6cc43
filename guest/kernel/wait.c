/* wait.c: the wait core: keyed waiters in a hash table, device pollers, the idle WAIT (guest/include/wait.h). */
#include <linux/errno.h>

#include "arch.h"
#include "k.h"
#include "conin.h"
#include "fs.h"
#include "krandom.h"
#include "lapic.h"
#include "restore.h"
#include "thread.h"
#include "wait.h"

/*
 * Waiters hang in chains hashed by key, so a wake looks only at the
 * waiters that may share its key: pipes and futexes wake on every change,
 * and a poll(2) of many files registers one waiter per file.
 */
#define WAIT_HASH_BITS 6
#define WAIT_HASH_SIZE (1u << WAIT_HASH_BITS)

static struct k_waiter *wait_hash[WAIT_HASH_SIZE];
static struct k_poller *wait_pollers;

static struct k_waiter **wait_chain(const void *key)
{
	/* Fibonacci hashing of the address; its low 3 bits are mostly alignment. */
	uint64_t h = ((uint64_t)(uintptr_t)key >> 3) * 0x9e3779b97f4a7c15ull;
	return &wait_hash[h >> (64 - WAIT_HASH_BITS)];
}

/* Appends w to its chain: wakes go first come, first served (a FUTEX_WAKE of 1 wakes the oldest waiter, as Linux does). */
static void wait_link(struct k_waiter *w, const void *key)
{
	struct k_waiter **pp = wait_chain(key);
	while (*pp)
		pp = &(*pp)->next;
	w->key = key;
	w->next = NULL;
	w->pprev = pp;
	*pp = w;
}

void k_wait_del(struct k_waiter *w)
{
	if (!w->pprev)
		return;
	*w->pprev = w->next;
	if (w->next)
		w->next->pprev = w->pprev;
	w->next = NULL;
	w->pprev = NULL;
}

void k_wait_add(struct k_waiter *w, const void *key, uint32_t bits, k_wait_fn fn, void *ctx)
{
	w->bits = bits;
	w->thr = fn ? NULL : k_thr_self();
	w->fn = fn;
	w->ctx = ctx;
	w->pprev = NULL;
	wait_link(w, key);
}

int k_wait_wake(const void *key, uint32_t bits, int n)
{
	int woken = 0;

	if (!key)
		return 0;
	struct k_waiter *w = *wait_chain(key);
	while (w && woken < n) {
		struct k_waiter *next = w->next; /* w may be unregistered below, or by its callback */
		if (w->key == key && (w->bits & bits)) {
			if (w->fn) {
				w->fn(w);
				woken++;
				/*
				 * The callback may wake another key (epoll wakes its own waiters),
				 * which unregisters the threads it wakes: maybe the one saved in
				 * next. w itself stays registered, so its link is the live one.
				 */
				if (w->pprev)
					next = w->next;
			} else if (k_thr_unblock(w->thr, 0)) {
				/* Unregistered at once, so a second wake before the thread runs counts someone else (FUTEX_WAKE). */
				k_wait_del(w);
				woken++;
			}
		}
		w = next;
	}
	return woken;
}

bool k_wait_has(const void *key)
{
	for (struct k_waiter *w = key ? *wait_chain(key) : NULL; w; w = w->next)
		if (w->key == key && !w->fn)
			return true;
	return false;
}

struct k_thread *k_wait_wake_first(const void *key)
{
	for (struct k_waiter *w = key ? *wait_chain(key) : NULL; w; w = w->next) {
		if (w->key == key && !w->fn && k_thr_unblock(w->thr, 0)) {
			struct k_thread *t = w->thr;
			k_wait_del(w);
			return t;
		}
	}
	return NULL;
}

int k_wait_requeue(const void *from, const void *to, int nwake, int nmove)
{
	int done = k_wait_wake(from, ~0u, nwake), moved = 0;
	struct k_waiter *w = *wait_chain(from);

	while (w && moved < nmove) {
		/* A waiter relinked onto to's chain (maybe this one) no longer matches from: each moves once. */
		struct k_waiter *next = w->next;
		if (w->key == from && !w->fn) {
			if (from != to) {
				k_wait_del(w);
				wait_link(w, to);
			}
			moved++;
		}
		w = next;
	}
	return done + moved;
}

long k_wait_block(uint64_t deadline, unsigned flags)
{
	return k_thr_block(deadline, flags);
}

long k_wait_on(const void *key, uint32_t bits, uint64_t deadline, unsigned flags)
{
	struct k_waiter w;

	if (!key)
		return k_thr_block(deadline, flags);
	k_wait_add(&w, key, bits, NULL, NULL);
	long rc = k_thr_block(deadline, flags);
	k_wait_del(&w);
	return rc;
}

void k_wait_poller_add(struct k_poller *p)
{
	p->next = wait_pollers;
	wait_pollers = p;
}

static uint64_t wait_awaited; /* k_wait_poll's last answer without housekeeping pollers */

uint64_t k_wait_poll(enum k_wait_news news)
{
	uint64_t earliest = 0, awaited = 0;

	for (struct k_poller *p = wait_pollers; p; p = p->next) {
		p->housekeeping = false;
		uint64_t t = p->poll(p, news);
		if (t && (!earliest || t < earliest))
			earliest = t;
		if (t && !p->housekeeping && (!awaited || t < awaited))
			awaited = t;
	}
	wait_awaited = awaited;
	return earliest;
}

uint64_t k_wait_awaited(void)
{
	return wait_awaited;
}

static uint64_t wait_idle; /* ns in WAIT hypercalls (k_wait_idle_ns) */

void k_wait_restored(const uint8_t *seed, size_t len, const struct ukvm_tty *tty)
{
	k_lapic_restored(); /* the monitor restores the APIC (snapshot version 3); set up again anyway: a few WRMSRs */
	k_random_reseed(seed, len);
	/* The restoring run's console: what isatty and TIOCGWINSZ answer, which streams are buffered. */
	for (unsigned i = 0; i < 3; i++) {
		bool t = (tty[i].flags & UKVM_TTY_TERMINAL) != 0;
		fs_dev_console_tty(i, &(struct fs_console_tty){ t, t ? tty[i].rows : 0, t ? tty[i].cols : 0 });
	}
	fs_conin_restored(); /* the console input is the restoring embedder's now */
}

enum k_wait_news k_wait_idle(uint64_t deadline)
{
	return k_wait_idle_sched(deadline, false);
}

enum k_wait_news k_wait_idle_sched(uint64_t deadline, bool quiet)
{
	for (struct k_poller *p = wait_pollers; p; p = p->next)
		if (p->idle && p->idle(p, deadline))
			return K_WAIT_NEWS;
	uint64_t now = k_clock_monotonic_ns();
	uint64_t t = deadline > now ? deadline - now : 0;
	struct ukvm_wait w;
	/* Taken before the exit: a restored VM's monotonic clock resumes from here (k_clock_restored). */
	uint64_t tsc = k_rdtsc();
	int rc = k_hypercall_wait_flags(t, quiet && t >= UKVM_WAIT_IDLE_MIN_NS ? UKVM_WAIT_IDLE : 0, &w);

	if (rc == UKVM_WAIT_RESTORED) {
		if (k_restore_answered(w.seed))
			return K_WAIT_NEWS; /* a snapshot taken running: fixed up from the restore block already */
		k_clock_restored(tsc, w.realtime_ns);
		k_wait_restored(w.seed, sizeof(w.seed), w.tty);
		return K_WAIT_NEWS; /* the devices' state is the snapshot's: look at the rings */
	}
	if (rc < 0)
		k_panic("WAIT hypercall failed (%d)", rc);
	wait_idle += k_clock_monotonic_ns() - now;
	return rc ? K_WAIT_NEWS : K_WAIT_QUIET;
}

uint64_t k_wait_idle_ns(void)
{
	return wait_idle;
}
