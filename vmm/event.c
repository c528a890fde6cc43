/* event.c: the event thread: one io_uring reaping counter fds, timers and device I/O, and a polling pass over its clients. */
#include "event.h"

#include <errno.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "sandbox.h"

/* SQ entries; CQ gets twice that, and IORING_FEAT_NODROP keeps overflowing completions in the kernel. */
#define EVENT_RING_ENTRIES 512
/* While stopping, how often the loop looks at its clients without a completion to wake it. */
#define EVENT_STOP_TICK_NS 10000000L

static struct io_uring_sqe *event_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	if (!sqe) {
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
	}
	return sqe;
}

/*
 * The opcodes the ring takes (event_lock); anything else fails with EACCES.
 * A device that submits a new kind of I/O adds its opcode here.
 */
static const uint8_t event_ops[] = {
	IORING_OP_READ,         /* counter sources (eventfds); blk.c: O_DIRECT bounce reads */
	IORING_OP_WRITE,        /* blk.c: O_DIRECT bounce writes */
	IORING_OP_READV,        /* blk.c: reads into guest memory */
	IORING_OP_WRITEV,       /* blk.c: writes from guest memory */
	IORING_OP_FSYNC,        /* blk.c: FLUSH (IORING_FSYNC_DATASYNC) */
	IORING_OP_TIMEOUT,      /* timer sources */
	IORING_OP_ASYNC_CANCEL, /* event_stop_fn: cancel what is in flight */
};

/*
 * An SQE without a file (timer, cancel): the ring requires IOSQE_FIXED_FILE
 * on every SQE (event_lock), and opcodes without a file ignore it.
 */
static void event_sqe_nofile(struct io_uring_sqe *sqe)
{
	sqe->flags |= IOSQE_FIXED_FILE;
}

static int event_arm(struct event_src *s, struct io_uring *ring)
{
	struct io_uring_sqe *sqe = event_sqe(ring);
	if (!sqe) {
		fprintf(stderr, "ukvm: event thread: submission queue full, %s stops\n", s->what);
		return -EBUSY;
	}
	if (s->fd >= 0) {
		io_uring_prep_read(sqe, s->fd, &s->val, sizeof(s->val), 0);
		event_sqe_file(sqe, s->file);
	} else {
		io_uring_prep_timeout(sqe, &s->period, 0, 0);
		event_sqe_nofile(sqe);
	}
	io_uring_sqe_set_data(sqe, &s->op);
	return 0;
}

static void event_src_done(struct event_op *op, struct io_uring *ring, int res)
{
	struct event_src *s = (struct event_src *)op;
	if (s->loop->stopping || res == -ECANCELED)
		return;
	if (s->fd < 0) {
		if (res != -ETIME) { /* a pure timeout completes with -ETIME when it expires */
			fprintf(stderr, "ukvm: event thread: timer %s: %s\n", s->what, strerror(res < 0 ? -res : EIO));
			return;
		}
		s->fn(s->ctx, ring, 1);
	} else if (res == (int)sizeof(s->val)) {
		s->fn(s->ctx, ring, s->val);
	} else if (res != -EINTR && res != -EAGAIN) {
		fprintf(stderr, "ukvm: event thread: reading %s: %s\n", s->what, strerror(res < 0 ? -res : EIO));
		return; /* do not spin on a broken fd */
	}
	(void)event_arm(s, ring);
}

int event_add_file(struct event_loop *l, int fd)
{
	if (fd < 0)
		return -EBADF;
	if (l->locked)
		return -EBUSY; /* the ring's restrictions allow no registration once enabled */
	for (unsigned i = 0; i < l->nfiles; i++)
		if (l->files[i] == fd)
			return (int)i;
	if (l->nfiles == EVENT_FILES_MAX)
		return -ENOSPC;
	l->files[l->nfiles] = fd;
	return (int)l->nfiles++;
}

int event_stop_fd(const struct event_loop *l)
{
	return l->stop_fd;
}

unsigned event_fds(const struct event_loop *l, int *fds, unsigned max)
{
	unsigned n = 0;
	if (l->ring_ok && n < max)
		fds[n++] = l->ring.ring_fd;
	if (l->stop_fd >= 0 && n < max)
		fds[n++] = l->stop_fd;
	for (unsigned i = 0; i < l->nfiles && n < max; i++)
		fds[n++] = l->files[i];
	for (unsigned i = 0; i < l->nwrite_fds && n < max; i++)
		fds[n++] = l->write_fds[i];
	return n;
}

int event_add_write_fd(struct event_loop *l, int fd)
{
	if (fd < 0)
		return -EBADF;
	if (l->running)
		return -EBUSY; /* the thread's filter is in place */
	for (unsigned i = 0; i < l->nwrite_fds; i++)
		if (l->write_fds[i] == fd)
			return 0;
	if (l->nwrite_fds == EVENT_WRITE_FDS_MAX)
		return -ENOSPC;
	l->write_fds[l->nwrite_fds++] = fd;
	return 0;
}

static int event_add(struct event_loop *l, struct event_src *s, int fd, event_fn fn, void *ctx, const char *what)
{
	s->op.done = event_src_done;
	s->loop = l;
	s->fn = fn;
	s->ctx = ctx;
	s->what = what;
	s->fd = fd;
	s->file = -1;
	if (fd >= 0 && (s->file = event_add_file(l, fd)) < 0)
		return s->file;
	int r = event_arm(s, &l->ring);
	if (r)
		return r;
	s->next = l->srcs;
	l->srcs = s;
	return 0;
}

int event_add_counter(struct event_loop *l, struct event_src *s, int fd, event_fn fn, void *ctx,
		      const char *what)
{
	if (fd < 0)
		return -EBADF;
	return event_add(l, s, fd, fn, ctx, what);
}

int event_add_timer(struct event_loop *l, struct event_src *s, uint64_t period_ns, event_fn fn, void *ctx,
		    const char *what)
{
	if (!period_ns)
		return -EINVAL;
	s->period = (struct __kernel_timespec){ .tv_sec = (long long)(period_ns / 1000000000ull),
						.tv_nsec = (long long)(period_ns % 1000000000ull) };
	return event_add(l, s, -1, fn, ctx, what);
}

void event_add_client(struct event_loop *l, struct event_client *c)
{
	c->next = l->clients;
	l->clients = c;
}

static void event_stop_fn(void *ctx, struct io_uring *ring, uint64_t val)
{
	struct event_loop *l = ctx;
	(void)val;
	l->stopping = true;
	/*
	 * Cancel everything in flight (Linux 5.19+; older kernels fail the
	 * cancel itself, harmlessly): I/O still queued for io-wq ends at once
	 * with -ECANCELED, armed reads and timers too. An I/O already moving data
	 * finishes; devices bound those (BLK_INFLIGHT_MAX), so the wait for idle
	 * clients below is short. Its own completion has no op.
	 */
	struct io_uring_sqe *sqe = event_sqe(ring);
	if (sqe) {
		io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
		event_sqe_nofile(sqe);
		io_uring_sqe_set_data(sqe, NULL);
	}
}

/* One polling step of every client; true while any still polls. */
static bool event_poll(struct event_loop *l, struct io_uring *ring)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	uint64_t now = (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
	bool polling = false;
	for (struct event_client *c = l->clients; c; c = c->next)
		if (c->poll)
			polling |= c->poll(c->ctx, ring, now);
	return polling;
}

static bool event_idle(struct event_loop *l)
{
	for (struct event_client *c = l->clients; c; c = c->next)
		if (c->idle && !c->idle(c->ctx))
			return false;
	return true;
}

static void event_loop_run(struct event_loop *l)
{
	struct io_uring *ring = &l->ring;
	for (;;) {
		/*
		 * While a client polls (mmio_poll), only submit and reap, never
		 * block: a buffered read from the page cache completes inside the
		 * submit, so its used entry goes out on this same pass.
		 */
		bool polling = event_poll(l, ring);
		/*
		 * Our PVM hosts pack threads onto few CPUs (sched_vcpu_pack): a
		 * poller sharing the vCPU thread's CPU steals the guest's time (QD1
		 * reads with a 400 us window: 2 runs of 3 at p50 127 us instead of
		 * 41 us), so each polling pass offers the CPU first; with the yield
		 * 3 of 3 ran at 41 us. Alone on its CPU, it is just a syscall.
		 */
		if (polling)
			sched_yield();
		int r;
		if (polling) {
			r = io_uring_submit(ring);
		} else if (l->stopping) {
			/*
			 * The stop cancelled the armed reads (event_stop_fn): a client that
			 * turns idle without a completion of ours is seen at the next tick.
			 */
			struct __kernel_timespec ts = { 0, EVENT_STOP_TICK_NS };
			struct io_uring_cqe *cqe;
			r = io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, NULL);
			if (r == -ETIME)
				r = 0;
		} else {
			r = io_uring_submit_and_wait(ring, 1);
		}
		if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
			fprintf(stderr, "ukvm: event thread: io_uring_enter: %s\n", strerror(-r));
			break;
		}
		struct io_uring_cqe *cqe;
		while (io_uring_peek_cqe(ring, &cqe) == 0) {
			struct event_op *op = io_uring_cqe_get_data(cqe);
			int res = cqe->res;
			io_uring_cqe_seen(ring, cqe);
			if (op)
				op->done(op, ring, res);
		}
		if (l->stopping && event_idle(l))
			break;
	}
}

struct event_boot {
	struct event_loop *l;
	bool seccomp;
	sem_t started;              /* event thread -> event_start: seccomp installed (or start_err) */
};

/*
 * Drops the ring's references to the registered files, once nothing is in
 * flight. Closing the ring releases them too, but later, from a kernel
 * worker (io_uring's exit work, then the delayed fput): a tap whose last
 * reference goes that way stays attached for a moment after the monitor
 * exited, and the next monitor on it gets EBUSY (check_netdev's
 * tap_quick_restart saw it on the second of two back-to-back runs). Here
 * the references go on this thread, so the device's own close (net_close)
 * is the last one and releases the tap before ukvm_destroy returns.
 */
static void event_release_files(struct event_loop *l)
{
	if (l->locked && l->nfiles && io_uring_unregister_files(&l->ring) == 0)
		l->nfiles = 0;
}

static void *event_main(void *arg)
{
	struct event_boot *b = arg;
	struct event_loop *l = b->l;
	l->self = pthread_self(); /* before the semaphore: event_on_thread may run from here on */
	l->self_set = true;
	/* Seccomp filters are per thread: this one installs its own before touching guest input. */
	struct sandbox_event sb = { .ring_fd = l->ring.ring_fd, .files = l->files, .nfiles = l->nfiles,
				    .write_fds = l->write_fds, .nwrite_fds = l->nwrite_fds,
				    .cache = l->sandbox_cache };
	l->start_err = b->seccomp ? sandbox_event_install(&sb) : 0;
	sem_post(&b->started); /* b is gone after this */
	if (!l->start_err)
		event_loop_run(l);
	event_release_files(l);
	return NULL;
}

int event_init(struct event_loop *l)
{
	memset(l, 0, sizeof(*l));
	l->stop_fd = -1;
	/* Disabled until event_lock restricted it: no SQE runs on an unrestricted ring. */
	int r = io_uring_queue_init(EVENT_RING_ENTRIES, &l->ring, IORING_SETUP_R_DISABLED);
	if (r < 0)
		return r;
	l->ring_ok = true;
	/* Blocking eventfd: io_uring would return -EAGAIN on a nonblocking one instead of waiting. */
	if ((l->stop_fd = eventfd(0, EFD_CLOEXEC)) < 0)
		return -errno;
	/*
	 * Nothing is submitted here: the event thread's first pass does it.
	 * io_uring runs a request's task work on the thread that submitted it,
	 * and this is the embedder's thread, where pending task work makes a
	 * later KVM_CREATE_VM fail with EINTR (tests/integration/check_embed.c).
	 */
	return event_add_counter(l, &l->stop, l->stop_fd, event_stop_fn, l, "the stop eventfd");
}

/*
 * Firecracker's io_uring lockdown: the files registered, every SQE must name
 * one of them (IOSQE_FIXED_FILE required, no other flag), only event_ops'
 * opcodes, no io_uring_register after this (none is allowed), then the ring
 * is enabled. The event thread's seccomp filter allows io_uring_enter
 * whatever the SQEs say: this is what keeps the ring from opening or reading
 * any host file. liburing 2.3 (Debian 12) declares
 * io_uring_register_restrictions and io_uring_enable_rings but does not
 * export them: the raw io_uring_register it does export does the same.
 */
static int event_lock(struct event_loop *l)
{
	struct io_uring_restriction res[sizeof(event_ops) + 3];
	unsigned n = 0;
	int r;
	if (l->nfiles && (r = io_uring_register_files(&l->ring, l->files, l->nfiles)) < 0)
		return r;
	memset(res, 0, sizeof(res));
	for (unsigned i = 0; i < sizeof(event_ops); i++)
		res[n++] = (struct io_uring_restriction){ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = event_ops[i] };
	res[n++] = (struct io_uring_restriction){ .opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED,
						  .sqe_flags = IOSQE_FIXED_FILE };
	res[n++] = (struct io_uring_restriction){ .opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED,
						  .sqe_flags = IOSQE_FIXED_FILE };
	/* The one register call allowed: dropping the files at the end (event_release_files). */
	res[n++] = (struct io_uring_restriction){ .opcode = IORING_RESTRICTION_REGISTER_OP,
						  .register_op = IORING_UNREGISTER_FILES };
	if ((r = io_uring_register(l->ring.ring_fd, IORING_REGISTER_RESTRICTIONS, res, n)) < 0 ||
	    (r = io_uring_register(l->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0)) < 0)
		return r;
	l->locked = true;
	return 0;
}

int event_start(struct event_loop *l, bool seccomp)
{
	struct event_boot b = { .l = l, .seccomp = seccomp };
	pthread_attr_t at;
	int r;
	if (!l->locked && (r = event_lock(l)))
		return r;
	if (sem_init(&b.started, 0, 0))
		return -errno;
	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, 256 << 10);
	/*
	 * The thread is libukvm's, not the host's: it inherits a mask blocking
	 * every signal, so no process signal's handler (e.g. ukvm-run's, which
	 * calls ukvm_stop and so tgkill, outside this thread's allowlist) ever
	 * runs on it (tests/integration/check_vmmsec.c, check_embed.c).
	 */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&l->thread, &at, event_main, &b);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&at);
	if (r) {
		sem_destroy(&b.started);
		return -r;
	}
	/* Wait for the thread's own seccomp install: its filter is in place before any guest input. */
	while (sem_wait(&b.started) && errno == EINTR)
		;
	sem_destroy(&b.started);
	if (l->start_err) {
		pthread_join(l->thread, NULL);
		return l->start_err;
	}
	l->running = true;
	return 0;
}

bool event_on_thread(const struct event_loop *l)
{
	return l->self_set && pthread_equal(pthread_self(), l->self);
}

void event_stop(struct event_loop *l)
{
	if (!l->running)
		return;
	for (struct event_client *c = l->clients; c; c = c->next)
		if (c->quiesce)
			c->quiesce(c->ctx);
	uint64_t one = 1;
	ssize_t w = write(l->stop_fd, &one, sizeof(one));
	(void)w;
	pthread_join(l->thread, NULL);
	l->running = false;
}

void event_free(struct event_loop *l)
{
	event_stop(l);
	/* Exiting the ring cancels the reads and timers still armed; their buffers live in the sources. */
	if (l->ring_ok)
		io_uring_queue_exit(&l->ring);
	l->ring_ok = false;
	l->srcs = NULL;
	l->clients = NULL;
	if (l->stop_fd >= 0)
		close(l->stop_fd);
	l->stop_fd = -1;
}
