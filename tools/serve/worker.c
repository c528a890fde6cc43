/* worker.c: ukvm-serve's VM threads, started ahead, and its warm VMs, restored and running ahead of their requests. */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/*
 * Why (bench-serve, 1 connection, restore mode, this host): starting a
 * thread per request and joining it cost ~1 ms of each; a worker started
 * ahead is woken in ~10-50 us. A warm VM goes further: the restore (~0.15
 * ms), the seccomp filter and the guest's way back to its read of stdin,
 * with its first-touch faults, happen before the request; the request only
 * writes its body into the VM's stdin pipe and waits for the answer.
 *
 * A warm VM is a fresh VM all the same: restored from the function's
 * snapshot for this request alone (its own random seed, its clocks set at
 * restore), never reused. The snapshot was taken when the function blocked
 * reading stdin, so restored it blocks there again: it runs nothing of the
 * request's before the request comes. One that ends before it is taken
 * (a crash) is discarded, and its function gets no more warm VMs.
 */

/* Workers kept started and waiting for a job (more requests at once start their own). */
#define WORKER_SPARES 2
/* A body writer blocked on a full pipe looks this often whether the run ended without reading it. */
#define WORKER_POLL_MS 10
/* The snapshot boot's time limits (worker_job). */
#define WORKER_SNAP_MIN_MS 5000
/* How long worker_start waits for the first warm VMs. */
#define WORKER_START_WAIT_S 10

/*
 * A worker thread's handle, made by its starter: an ended worker puts it on
 * W.ended and the spawner (or worker_stop) joins it. Not detached: a
 * detached thread frees its own TLS block at exit, a free() into its
 * starter's malloc arena that may trim it, and glibc's first trim opens
 * /proc/sys/vm/overcommit_memory: under the vCPU filter that is SIGSYS (seen
 * in boot mode at 8 connections). A joined thread's block is freed by its
 * joiner, unfiltered.
 */
struct worker_handle {
	pthread_t t;
	struct worker_handle *next;
};

/* A worker thread: started ahead, it runs one job (NULL: none, the server stops) and ends. */
struct worker {
	sem_t go;
	struct serve_job *job;
	struct worker_handle *handle;
};

/* A warm VM, running on its worker; shared by the worker and the request that takes it. */
struct worker_warm {
	struct serve_job job;   /* console: in_fd the read end of in_w's pipe, out_fd a memfd */
	int in_w;               /* the pipe's write end: the request writes its body, then closes */
	unsigned fi;
	pthread_mutex_t lock;   /* vm and ended, between the request's ukvm_stop and the worker's destroy */
	struct ukvm_vm *vm;
	bool ended;             /* the run ended: vm is the worker's alone now */
	bool taken;             /* by a request (W.lock): its slot is the request's */
	bool evicted;           /* stopped untaken to give its slot to a request of another function (W.lock) */
	struct worker_warm *next_dead;
	struct worker_handle *handle;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t change;  /* spares or warm VMs taken, workers ended, stop */
	struct worker *spare[WORKER_SPARES];
	unsigned nspare;
	unsigned workers;       /* worker threads alive */
	bool stopping, started;
	pthread_t spawner;
	struct ukvm_host *host;
	const struct serve_fn *fns;
	const char *const *snaps;
	unsigned nfns, warm_per_fn;
	struct worker_warm *warm[SERVE_MAX_FNS][SERVE_WARM_MAX]; /* ready, per function (at most warm_per_fn) */
	unsigned nwarm[SERVE_MAX_FNS], warm_pending[SERVE_MAX_FNS];
	bool warm_broken[SERVE_MAX_FNS];
	struct worker_warm *dead; /* untaken warm VMs whose worker is done: their fds are freed here, unfiltered */
	/*
	 * --max-vms: every VM alive holds a slot, a warm one too (and in native
	 * mode each child process); a warm VM's slot passes to the request that
	 * takes it. Warm VMs start only into free slots while no request waits
	 * for one, and a request that finds none evicts a warm VM.
	 */
	unsigned slots_free, slots;
	unsigned waiters;       /* requests waiting for a slot */
	unsigned evicting;      /* evicted warm VMs whose slot is not back yet */
	struct worker_handle *ended; /* worker threads done, to be joined */
} W = { .lock = PTHREAD_MUTEX_INITIALIZER, .change = PTHREAD_COND_INITIALIZER };

/*
 * The output memfd: WORKER_OUT_MAX and a page long and sealed against
 * growing, so a function that prints forever fills it and then has its
 * writes fail (the pages exist only where written); the bytes written are
 * its offset, and the page past WORKER_OUT_MAX tells an output cut there
 * from one of exactly WORKER_OUT_MAX. A page, not a byte: a sealed memfd
 * takes a write page by page, and refuses a page that would grow it whole.
 */
int worker_out_fd(void)
{
	int fd = memfd_create("stdout", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)WORKER_OUT_MAX + 4096) || fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK)) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static struct ukvm_config worker_config(const struct serve_job *j, uint64_t timeout_ms)
{
	const struct serve_fn *fn = j->fn;
	return (struct ukvm_config){
		.size = sizeof(struct ukvm_config), .host = j->host, .image = fn->image, .mem_size = fn->mem,
		.argv = fn->argv, .console_fd = j->out_fd, .console_err_fd = -1, .console_in_fd = j->in_fd,
		.timeout_ms = timeout_ms, .seccomp = true, .quiet = true, .snapshot_when_idle = j->snapshot_to,
		.restore = j->restore, .pv = fn->pv,
	};
}

void worker_job(struct serve_job *j)
{
	/*
	 * The snapshot boot (restore mode's registration) within the function's
	 * timeout, as a boot-mode request's init must be, but never less than
	 * WORKER_SNAP_MIN_MS (a loaded host's boot).
	 */
	uint64_t timeout = j->fn->timeout_ms;
	if (j->snapshot_to && timeout < WORKER_SNAP_MIN_MS)
		timeout = WORKER_SNAP_MIN_MS;
	struct ukvm_config cfg = worker_config(j, timeout);
	struct ukvm_vm *vm;
	j->res.size = sizeof(j->res);
	j->create_rc = ukvm_create(&cfg, &vm, j->err, sizeof(j->err));
	if (j->create_rc == UKVM_OK) {
		ukvm_run(vm, &j->res);
		ukvm_destroy(vm);
	}
}

/* A worker thread ends (W.lock held when locked); h: its handle, to be joined (NULL: it never started). */
static void worker_ended(bool locked, struct worker_handle *h)
{
	if (!locked)
		pthread_mutex_lock(&W.lock);
	if (h) {
		h->next = W.ended;
		W.ended = h;
	}
	W.workers--;
	pthread_cond_broadcast(&W.change);
	if (!locked)
		pthread_mutex_unlock(&W.lock);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct worker_handle *h = w->handle;
	while (sem_wait(&w->go) < 0 && errno == EINTR)
		;
	struct serve_job *j = w->job;
	sem_destroy(&w->go);
	free(w);
	if (j) {
		worker_job(j);
		sem_post(&j->done); /* j is the requester's from here */
	}
	worker_ended(false, h);
	return NULL;
}

/*
 * Starts fn(arg), counted, with its handle h (joined once it ended, by the
 * spawner: nobody on a request's path waits for a thread's end); W.lock
 * held when locked. 0 or -errno (h freed).
 */
static int worker_thread(void *(*fn)(void *), void *arg, struct worker_handle *h, bool locked)
{
	if (!locked)
		pthread_mutex_lock(&W.lock);
	W.workers++;
	if (!locked)
		pthread_mutex_unlock(&W.lock);
	int r = pthread_create(&h->t, NULL, fn, arg);
	if (r) {
		free(h);
		worker_ended(locked, NULL);
	}
	return -r;
}

/* Joins the ended workers (W.lock held, released meanwhile). */
static void worker_join_ended(void)
{
	while (W.ended) {
		struct worker_handle *h = W.ended;
		W.ended = h->next;
		pthread_mutex_unlock(&W.lock);
		pthread_join(h->t, NULL);
		free(h);
		pthread_mutex_lock(&W.lock);
	}
}

static struct worker *worker_new(void)
{
	struct worker *w = calloc(1, sizeof(*w));
	if (!w || !(w->handle = calloc(1, sizeof(*w->handle)))) {
		free(w);
		return NULL;
	}
	sem_init(&w->go, 0, 0);
	if (worker_thread(worker_main, w, w->handle, false)) {
		sem_destroy(&w->go);
		free(w);
		return NULL;
	}
	return w;
}

int worker_run(struct serve_job *j)
{
	pthread_mutex_lock(&W.lock);
	struct worker *w = W.nspare ? W.spare[--W.nspare] : NULL;
	pthread_cond_broadcast(&W.change); /* the spawner starts the next one */
	pthread_mutex_unlock(&W.lock);
	if (!w && !(w = worker_new()))
		return -EAGAIN;
	sem_init(&j->done, 0, 0);
	w->job = j;
	sem_post(&w->go); /* w is the worker's from here */
	while (sem_wait(&j->done) < 0 && errno == EINTR)
		;
	sem_destroy(&j->done);
	return 0;
}

static void worker_warm_free(struct worker_warm *w)
{
	if (w->job.in_fd >= 0)
		close(w->job.in_fd);
	if (w->in_w >= 0)
		close(w->in_w);
	if (w->job.out_fd >= 0)
		close(w->job.out_fd);
	pthread_mutex_destroy(&w->lock);
	sem_destroy(&w->job.done);
	free(w);
}

/*
 * A warm VM's worker: restores the VM, offers it, runs it (the guest blocks
 * reading stdin until a request writes it), hands the result over. No
 * timeout while it waits: the request's is kept by worker_warm_run.
 */
static void *worker_warm_main(void *arg)
{
	struct worker_warm *w = arg;
	struct worker_handle *h = w->handle;
	struct ukvm_config cfg = worker_config(&w->job, 0);
	struct ukvm_vm *vm = NULL;
	w->job.res.size = sizeof(w->job.res);
	int rc = ukvm_create(&cfg, &vm, w->job.err, sizeof(w->job.err));
	pthread_mutex_lock(&W.lock);
	W.warm_pending[w->fi]--;
	bool offer = rc == UKVM_OK && !W.stopping && W.nwarm[w->fi] < W.warm_per_fn;
	if (offer) {
		w->vm = vm;
		W.warm[w->fi][W.nwarm[w->fi]++] = w;
	} else if (rc != UKVM_OK) {
		W.warm_broken[w->fi] = true; /* the cold path will say why, request by request */
	}
	pthread_cond_broadcast(&W.change);
	pthread_mutex_unlock(&W.lock);
	if (offer)
		ukvm_run(vm, &w->job.res);
	pthread_mutex_lock(&w->lock);
	w->ended = true; /* no ukvm_stop from the request after this */
	pthread_mutex_unlock(&w->lock);
	pthread_mutex_lock(&W.lock);
	bool taken = w->taken;
	if (offer && !taken && !w->evicted) { /* ended before any request: out of the offer, no more for it */
		for (unsigned i = 0; i < W.nwarm[w->fi]; i++)
			if (W.warm[w->fi][i] == w)
				W.warm[w->fi][i] = W.warm[w->fi][--W.nwarm[w->fi]];
		if (!W.stopping)
			W.warm_broken[w->fi] = true;
	}
	pthread_mutex_unlock(&W.lock);
	if (taken)
		sem_post(&w->job.done); /* w is the request's from here */
	if (rc == UKVM_OK)
		ukvm_destroy(vm);
	pthread_mutex_lock(&W.lock);
	if (!taken) { /* its console fds: closing them is not in this thread's filter (it pins the VM's own) */
		w->next_dead = W.dead;
		W.dead = w;
		W.slots_free++; /* destroyed: its slot is free */
		W.evicting -= w->evicted;
	}
	worker_ended(true, h);
	pthread_mutex_unlock(&W.lock);
	return NULL;
}

/* Frees the dead warm VMs (W.lock held). */
static void worker_bury(void)
{
	while (W.dead) {
		struct worker_warm *w = W.dead;
		W.dead = w->next_dead;
		worker_warm_free(w);
	}
}

/* Starts a warm VM for function fi into a free slot (W.lock held). */
static void worker_warm_new(unsigned fi)
{
	struct worker_warm *w = calloc(1, sizeof(*w));
	int p[2] = { -1, -1 };
	if (!w)
		return;
	W.slots_free--; /* back when its worker ends untaken, or below when it cannot start */
	w->fi = fi;
	w->job = (struct serve_job){ .fn = &W.fns[fi], .host = W.host, .restore = W.snaps[fi], .in_fd = -1,
				     .out_fd = -1 };
	w->in_w = -1;
	pthread_mutex_init(&w->lock, NULL);
	sem_init(&w->job.done, 0, 0);
	if (pipe2(p, O_CLOEXEC) == 0) {
		w->job.in_fd = p[0];
		w->in_w = p[1];
	}
	w->job.out_fd = worker_out_fd();
	w->handle = calloc(1, sizeof(*w->handle));
	if (w->job.in_fd < 0 || w->job.out_fd < 0 || !w->handle || worker_thread(worker_warm_main, w, w->handle, true)) {
		if (w->handle && w->job.in_fd >= 0 && w->job.out_fd >= 0)
			w->handle = NULL; /* freed by worker_thread */
		free(w->handle);
		worker_warm_free(w);
		W.slots_free++;
		return;
	}
	W.warm_pending[fi]++;
}

/* The function whose warm VMs are fewest, to start one for, or -1 when none may start now (W.lock held). */
static int worker_warm_next(void)
{
	int best = -1;
	if (!W.slots_free || W.waiters)
		return -1; /* requests first */
	for (unsigned fi = 0; fi < W.nfns; fi++) {
		unsigned have = W.nwarm[fi] + W.warm_pending[fi];
		if (W.snaps[fi] && W.snaps[fi][0] && !W.warm_broken[fi] && have < W.warm_per_fn &&
		    (best < 0 || have < W.nwarm[best] + W.warm_pending[best]))
			best = (int)fi;
	}
	return best;
}

/* Keeps WORKER_SPARES workers and each function's warm VMs ready, until the server stops. */
static void *worker_spawner(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&W.lock);
	while (!W.stopping) {
		worker_bury();
		worker_join_ended();
		if (W.stopping)
			break;
		bool did = false;
		int fi = worker_warm_next();
		if (fi >= 0) {
			worker_warm_new((unsigned)fi);
			did = true;
		}
		if (!did && W.nspare < WORKER_SPARES) {
			pthread_mutex_unlock(&W.lock);
			struct worker *w = worker_new();
			pthread_mutex_lock(&W.lock);
			if (w && W.stopping) {
				w->job = NULL;
				sem_post(&w->go);
			} else if (w) {
				W.spare[W.nspare++] = w;
				pthread_cond_broadcast(&W.change); /* worker_start waits for the first */
			}
			did = w != NULL;
		}
		if (!did)
			pthread_cond_wait(&W.change, &W.lock);
	}
	pthread_mutex_unlock(&W.lock);
	return NULL;
}

void worker_start(struct ukvm_host *host, const struct serve_fn *fns, const char *const *snaps, unsigned nfns,
		  unsigned warm_per_fn)
{
	W.host = host, W.fns = fns, W.snaps = snaps, W.nfns = nfns;
	W.warm_per_fn = warm_per_fn < SERVE_WARM_MAX ? warm_per_fn : SERVE_WARM_MAX;
	if (pthread_create(&W.spawner, NULL, worker_spawner, NULL))
		return; /* every request starts its own worker */
	W.started = true;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WORKER_START_WAIT_S;
	pthread_mutex_lock(&W.lock);
	for (;;) {
		bool ready = W.nspare == WORKER_SPARES;
		for (unsigned fi = 0; fi < nfns; fi++)
			ready &= W.warm_broken[fi] || !snaps[fi] || !snaps[fi][0] || W.nwarm[fi] == W.warm_per_fn;
		unsigned pending = 0;
		for (unsigned fi = 0; fi < nfns; fi++)
			pending += W.warm_pending[fi];
		ready |= W.nspare == WORKER_SPARES && !W.slots_free && !pending; /* the slots are all warm */
		if (ready || pthread_cond_timedwait(&W.change, &W.lock, &until) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&W.lock);
}

struct worker_warm *worker_warm_take(unsigned fi)
{
	pthread_mutex_lock(&W.lock);
	struct worker_warm *w = fi < W.nfns && W.nwarm[fi] ? W.warm[fi][--W.nwarm[fi]] : NULL;
	if (w) {
		w->taken = true;
		pthread_cond_broadcast(&W.change); /* the spawner starts the next one */
	}
	pthread_mutex_unlock(&W.lock);
	return w;
}

/* Stops w's VM unless its run already ended. */
static void worker_warm_stop(struct worker_warm *w)
{
	pthread_mutex_lock(&w->lock);
	if (!w->ended)
		ukvm_stop(w->vm);
	pthread_mutex_unlock(&w->lock);
}

static uint64_t worker_now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* Milliseconds left to deadline (worker_now_ms() based; 0: none, then -1). */
static int worker_left_ms(uint64_t deadline)
{
	if (!deadline)
		return -1;
	uint64_t now = worker_now_ms();
	return now >= deadline ? 0 : deadline - now > INT32_MAX ? INT32_MAX : (int)(deadline - now);
}

static bool worker_warm_ended(struct worker_warm *w)
{
	pthread_mutex_lock(&w->lock);
	bool e = w->ended;
	pthread_mutex_unlock(&w->lock);
	return e;
}

void worker_warm_run(struct worker_warm *w, const char *body, size_t len, uint64_t timeout_ms,
		     struct ukvm_result *res, int *out_fd)
{
	uint64_t deadline = timeout_ms ? worker_now_ms() + timeout_ms : 0;
	bool timed_out = false;
	/* The body through the pipe while the guest reads it: never blocking past the deadline. */
	fcntl(w->in_w, F_SETFL, O_NONBLOCK);
	for (size_t done = 0; done < len && !timed_out;) {
		ssize_t n = write(w->in_w, body + done, len - done);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			break; /* cannot happen while the read end is ours: the rest is not needed */
		/* Full: the guest reads it, or its run ended without (then the rest is not needed). */
		struct pollfd p = { .fd = w->in_w, .events = POLLOUT };
		int left = worker_left_ms(deadline);
		if (left == 0) {
			timed_out = true;
		} else if (poll(&p, 1, left < 0 || left > WORKER_POLL_MS ? WORKER_POLL_MS : left) == 0 &&
			   worker_warm_ended(w)) {
			break;
		}
	}
	close(w->in_w); /* end of file */
	w->in_w = -1;
	if (timed_out)
		worker_warm_stop(w);
	for (;;) {
		int left = timed_out ? -1 : worker_left_ms(deadline);
		if (left < 0) {
			while (sem_wait(&w->job.done) < 0 && errno == EINTR)
				;
			break;
		}
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += left / 1000;
		until.tv_nsec += (long)(left % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L)
			until.tv_sec++, until.tv_nsec -= 1000000000L;
		if (sem_timedwait(&w->job.done, &until) == 0)
			break;
		if (errno == ETIMEDOUT) {
			timed_out = true;
			worker_warm_stop(w); /* ukvm_run returns within ~100 ms */
		}
	}
	*res = w->job.res;
	if (timed_out && res->kind == UKVM_STOPPED) {
		res->kind = UKVM_TIMEOUT;
		snprintf(res->msg, sizeof(res->msg), "timeout after %llu ms", (unsigned long long)timeout_ms);
	}
	*out_fd = w->job.out_fd;
	w->job.out_fd = -1;
	worker_warm_free(w);
}

void worker_pool_init(unsigned max_vms)
{
	W.slots = W.slots_free = max_vms;
}

/* Stops a warm VM of the function with the most, for a waiting request (W.lock held). */
static void worker_evict(void)
{
	unsigned most = 0;
	for (unsigned fi = 1; fi < W.nfns; fi++)
		if (W.nwarm[fi] > W.nwarm[most])
			most = fi;
	if (!W.nfns || !W.nwarm[most])
		return;
	struct worker_warm *w = W.warm[most][--W.nwarm[most]];
	w->evicted = true;
	W.evicting++;
	worker_warm_stop(w); /* under W.lock, as worker_stop: w is freed only after its worker took W.lock */
}

int worker_slot_take(unsigned wait_ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L)
		until.tv_sec++, until.tv_nsec -= 1000000000L;
	int r = 0;
	pthread_mutex_lock(&W.lock);
	W.waiters++;
	while (!W.slots_free) {
		if (W.evicting < W.waiters)
			worker_evict();
		if (W.slots_free)
			break;
		if (pthread_cond_timedwait(&W.change, &W.lock, &until) == ETIMEDOUT && !W.slots_free) {
			r = -EBUSY;
			break;
		}
	}
	W.waiters--;
	if (!r)
		W.slots_free--;
	pthread_cond_broadcast(&W.change); /* no waiter left: the spawner may warm again */
	pthread_mutex_unlock(&W.lock);
	return r;
}

void worker_slot_give(void)
{
	pthread_mutex_lock(&W.lock);
	W.slots_free++;
	pthread_cond_broadcast(&W.change);
	pthread_mutex_unlock(&W.lock);
}

void worker_pool_counts(unsigned *in_use, unsigned *warm)
{
	pthread_mutex_lock(&W.lock);
	*in_use = W.slots - W.slots_free;
	*warm = 0;
	for (unsigned fi = 0; fi < W.nfns; fi++)
		*warm += W.nwarm[fi];
	pthread_mutex_unlock(&W.lock);
}

void worker_stop(void)
{
	pthread_mutex_lock(&W.lock);
	W.stopping = true;
	pthread_cond_broadcast(&W.change);
	pthread_mutex_unlock(&W.lock);
	if (W.started)
		pthread_join(W.spawner, NULL);
	W.started = false;
	pthread_mutex_lock(&W.lock);
	while (W.nspare) {
		struct worker *w = W.spare[--W.nspare];
		w->job = NULL;
		sem_post(&w->go);
	}
	for (unsigned fi = 0; fi < W.nfns; fi++)
		for (unsigned i = 0; i < W.nwarm[fi]; i++)
			worker_warm_stop(W.warm[fi][i]); /* each ends, sees it was not taken, frees itself */
	while (W.workers)
		pthread_cond_wait(&W.change, &W.lock);
	worker_join_ended();
	worker_bury();
	pthread_mutex_unlock(&W.lock);
}
