/* event.h: the VM's event thread: one io_uring whose sources (counter fds, timers, pollers) call back on that thread. */
#ifndef VMM_EVENT_H
#define VMM_EVENT_H

#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * An io_uring operation in flight: the SQE's user_data points at it and the
 * loop calls done(op, ring, cqe->res) on the event thread. Devices embed it
 * first in their request structs; sources below embed one too.
 */
struct event_op {
	void (*done)(struct event_op *op, struct io_uring *ring, int res);
};

struct event_loop;

/*
 * Called on the event thread: a counter source's fd was read (val = the
 * eventfd count since the last read) or a timer expired (val = 1). ring
 * submits the callee's own I/O.
 */
typedef void (*event_fn)(void *ctx, struct io_uring *ring, uint64_t val);

/* A source, owned by the registrant and alive until event_free; fields are the loop's. */
struct event_src {
	struct event_op op;
	struct event_loop *loop;
	event_fn fn;
	void *ctx;
	const char *what;                 /* names it in messages: "vda queue 0" */
	int fd;                           /* counter: the eventfd read; -1 for a timer */
	int file;                         /* counter: fd's registered index (event_add_file) */
	uint64_t val;                     /* counter: the read's buffer */
	struct __kernel_timespec period;  /* timer */
	struct event_src *next;           /* every source of the loop, for event_free */
};

/*
 * A participant that the loop visits on every pass and at shutdown (the
 * virtio-mmio transport registers one per device). Owned by the registrant.
 */
struct event_client {
	/* Event thread, now_ns = CLOCK_MONOTONIC: one polling step; true while it wants another
	   pass without the loop blocking. NULL: never polls. */
	bool (*poll)(void *ctx, struct io_uring *ring, uint64_t now_ns);
	/* event_stop's caller thread: start nothing new from now on (work in flight finishes). */
	void (*quiesce)(void *ctx);
	/* Event thread: true when nothing is in flight (the loop may end after quiesce). */
	bool (*idle)(void *ctx);
	void *ctx;
	struct event_client *next;
};

/* Files a loop's ring may name: every device's eventfds and disk fit (32 devices x 6 + 1). */
#define EVENT_FILES_MAX 256
/* Eventfds the thread writes itself: the VM's news eventfd, shared by its devices. */
#define EVENT_WRITE_FDS_MAX 8

struct event_loop {
	struct io_uring ring;
	bool ring_ok;
	bool locked;                /* files registered, restrictions set, ring enabled (event_start) */
	int files[EVENT_FILES_MAX]; /* registered at event_start: index i names files[i] */
	unsigned nfiles;
	int write_fds[EVENT_WRITE_FDS_MAX]; /* eventfds the thread signals with write(2) (event_add_write_fd) */
	unsigned nwrite_fds;
	pthread_t thread;
	bool running;               /* thread started and not joined */
	pthread_t self;             /* the event thread, written by itself (event_on_thread) */
	bool self_set;
	struct event_src stop;      /* counter on stop_fd: event_stop asks the thread to finish */
	int stop_fd;
	bool stopping;              /* event thread only */
	int start_err;
	struct sbcache *sandbox_cache; /* the host's kept filter shapes for the thread's filter (sandbox.h); NULL: none */
	struct event_src *srcs;
	struct event_client *clients;
};

/*
 * Creates the ring (disabled: nothing can be submitted until event_start
 * locked it down) and the stop eventfd; nothing runs yet. Register files,
 * sources and clients, then event_start. Returns 0 or -errno; on failure
 * call event_free.
 */
int event_init(struct event_loop *l);

/*
 * Registers fd for I/O submitted on the loop's ring; before event_start.
 * The ring takes only registered files (and only the opcodes of
 * event.c's table): code that gets to submit on it still cannot open or
 * reach any other host file. Returns the index that names fd in an SQE
 * (event_sqe_file), or -errno (-ENOSPC past EVENT_FILES_MAX, -EBUSY once
 * started).
 */
int event_add_file(struct event_loop *l, int fd);

/*
 * Aims sqe, prepared with any fd, at registered file index file
 * (event_add_file). file < 0 (a ring of one's own, as in unit tests) keeps
 * the plain fd.
 */
static inline void event_sqe_file(struct io_uring_sqe *sqe, int file)
{
	if (file >= 0) {
		sqe->fd = file;
		sqe->flags |= IOSQE_FIXED_FILE;
	}
}

/*
 * Names fd as one the event thread signals with write(2) itself (a
 * device's news eventfd): the thread's seccomp filter allows write on the
 * ring's files and these only. Before event_start. Returns 0 or -errno.
 */
int event_add_write_fd(struct event_loop *l, int fd);

/*
 * Registers a counter source: fd (a blocking eventfd: io_uring would see
 * -EAGAIN on a nonblocking one; registered with event_add_file) is read by
 * the loop and fn(ctx, ring, count) runs on the event thread after each
 * read, then the read is armed again. Call before event_start. Returns 0 or
 * -errno (-EBUSY: no submission slot, or started).
 */
int event_add_counter(struct event_loop *l, struct event_src *s, int fd, event_fn fn, void *ctx,
		      const char *what);

/*
 * Registers a periodic timer: fn(ctx, ring, 1) runs on the event thread
 * every period_ns (> 0), first after one period. Same calling rules and
 * returns as event_add_counter.
 */
int event_add_timer(struct event_loop *l, struct event_src *s, uint64_t period_ns, event_fn fn, void *ctx,
		    const char *what);

/* Registers a client (struct event_client). Call before event_start or on the event thread. */
void event_add_client(struct event_loop *l, struct event_client *c);

/*
 * Locks the ring down (registers the files, restricts it to them, to
 * IOSQE_FIXED_FILE and to event.c's opcodes, then enables it: Firecracker's
 * io_uring hardening), then starts the thread, signals blocked. With
 * seccomp it installs the event thread's allowlist (vmm/sandbox.h) before
 * it touches any source, and event_start fails if that fails. Returns 0 or
 * -errno.
 */
int event_start(struct event_loop *l, bool seccomp);

/* The eventfd event_stop writes (from the caller's thread: its seccomp filter must allow it); -1 none. */
int event_stop_fd(const struct event_loop *l);

/*
 * Every fd the loop holds or names (the ring, the stop eventfd, the
 * registered files, the write fds) into fds[max], for the vCPU thread's
 * filter: ukvm_destroy closes them there. Returns how many.
 */
unsigned event_fds(const struct event_loop *l, int *fds, unsigned max);

/* True when called on l's event thread (tests, and assertions of "runs on the event thread"). */
bool event_on_thread(const struct event_loop *l);

/*
 * Stops the thread: every client is quiesced, the thread runs until every
 * client is idle (what was in flight completed), then exits and is joined.
 * Idempotent; a no-op when not running.
 */
void event_stop(struct event_loop *l);

/* Stops if needed, then closes the ring (cancelling armed reads) and the stop eventfd. */
void event_free(struct event_loop *l);

#endif
