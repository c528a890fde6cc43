/* event.h: the VM's event thread: one io_uring that waits on queue-notify ioeventfds and on device I/O completions. */
#ifndef VMM_EVENT_H
#define VMM_EVENT_H

#include <liburing.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>

#include "mmio.h"
#include "ukvm_abi.h"

/* One armed read of a queue's notify eventfd; the value read is the number of kicks since the last. */
struct event_notify {
	struct dev_op op;
	struct event_loop *loop;
	struct mmio_dev *d;
	unsigned q;
	uint64_t val;
};

struct event_loop {
	struct io_uring ring;
	bool ring_ok;
	pthread_t thread;
	bool running;               /* thread started and not joined */
	int stop_fd;                /* eventfd: event_stop asks the thread to finish */
	struct dev_op stop_op;
	uint64_t stop_val;
	bool stopping;              /* event thread only */
	bool seccomp;
	sem_t started;              /* event thread -> event_start: seccomp installed (or start_err) */
	int start_err;
	struct mmio_dev **devs;
	unsigned ndevs;
	struct event_notify notes[UKVM_MMIO_MAX_DEVS * MMIO_MAX_QUEUES];
	unsigned nnotes;
};

/*
 * Creates the ring and one blocking eventfd per queue of every device
 * (stored in d->q[i].notify_fd, to be registered as KVM ioeventfds by the
 * caller), then starts the thread; with seccomp it installs its own
 * allowlist first and event_start fails if that fails. Returns 0 or -errno.
 * On failure call event_free.
 */
int event_start(struct event_loop *l, struct mmio_dev **devs, unsigned ndevs, bool seccomp);

/*
 * Stops the thread: devices start no new request, the thread runs until
 * every request in flight has completed (and been acknowledged to the guest
 * ring), then exits and is joined. Idempotent; a no-op when not running.
 */
void event_stop(struct event_loop *l);

/* Stops if needed, then closes the notify eventfds and the ring. */
void event_free(struct event_loop *l);

#endif
