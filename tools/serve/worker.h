/*
 * worker.h: ukvm-serve's VM threads: each VM runs on a thread of its own (a
 * worker), because ukvm_run's seccomp filter stays on the thread that ran
 * it. Workers are started ahead; in restore mode some are further ahead
 * still: their VM already restored and running, waiting for its input.
 */
#ifndef SERVE_WORKER_H
#define SERVE_WORKER_H

#include <semaphore.h>
#include <stdbool.h>
#include <stddef.h>

#include "servecfg.h"
#include "ukvm.h"

/* One VM's run: what it starts from, its console, and how it ended. */
struct serve_job {
	const struct serve_fn *fn;
	struct ukvm_host *host;
	const char *restore;     /* the snapshot to restore; NULL: boot fn's image */
	const char *snapshot_to; /* the start hook of restore mode: snapshot when idle into this file */
	int in_fd, out_fd;       /* the guest's stdin (-1: none) and stdout */
	int create_rc;
	char err[512];
	struct ukvm_result res;
	sem_t done;              /* worker -> requester: create_rc, err and res are set */
};

/* A request's stdout is kept up to this many bytes; a function that writes more is answered 500. */
#define WORKER_OUT_MAX (16u << 20)

/*
 * A memfd for a request's stdout: bounded (the guest's writes past the bound fail), sealed; -errno. Its
 * offset after the run is the bytes written: more than WORKER_OUT_MAX says the output went past the bound.
 */
int worker_out_fd(void);

/* Creates, runs and destroys j's VM on the calling thread. */
void worker_job(struct serve_job *j);

/*
 * Runs j on a worker (one kept ready, or a new one) and waits for it: 0, or
 * -EAGAIN when no thread could start.
 */
int worker_run(struct serve_job *j);

/*
 * Starts the spawner, which keeps workers ready and, for each function of
 * fns with a snapshot (snaps[i] not empty), warm VMs: restored on host and
 * running, their guest blocked reading stdin. Waits (a few seconds at
 * most) until the first are ready, so the server starts with them.
 */
void worker_start(struct ukvm_host *host, const struct serve_fn *fns, const char *const *snaps, unsigned nfns,
		  unsigned warm_per_fn);

/* A warm VM of function fi taken for one request (worker_warm_take), or NULL when none is ready. */
struct worker_warm;
struct worker_warm *worker_warm_take(unsigned fi);

/*
 * Gives w its request: body as its stdin (then end of file), and waits for
 * its run to end, at most timeout_ms (0: no limit; past it the VM is
 * stopped and res says UKVM_TIMEOUT). Then res (a run that ended without
 * reading all of the body is answered as it ended, as a process's would
 * be), and its stdout as *out_fd (the caller closes it). Frees w.
 */
void worker_warm_run(struct worker_warm *w, const char *body, size_t len, uint64_t timeout_ms,
		    struct ukvm_result *res, int *out_fd);

/*
 * The pool of --max-vms slots: each VM alive holds one, a warm VM too (its
 * slot passes to the request that takes it), and in native mode each child
 * process. Set before worker_start (or alone, with no worker_start: native
 * mode).
 */
void worker_pool_init(unsigned max_vms);

/*
 * A slot for a request's own VM (not a warm one's): a free one, else one
 * a warm VM gives up (evicted: stopped before its request came), else the
 * first returned within wait_ms; warm VMs do not start while a request
 * waits. 0, or -EBUSY when none came in time.
 */
int worker_slot_take(unsigned wait_ms);

/* A request's slot back (from worker_slot_take, or the warm VM it took). */
void worker_slot_give(void);

/* Slots in use now (VMs alive, warm ones included), and of them the warm VMs waiting for a request. */
void worker_pool_counts(unsigned *in_use, unsigned *warm);

/* Stops the spawner, the ready workers and the warm VMs; waits until every worker has ended. */
void worker_stop(void);

#endif
