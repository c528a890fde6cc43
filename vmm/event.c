/* event.c: the event thread: queue notifications and device I/O completions from one io_uring, plus its seccomp allowlist. */
#include "event.h"

#include <errno.h>
#include <sched.h>
#include <semaphore.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* SQ entries; CQ gets twice that, and IORING_FEAT_NODROP keeps overflowing completions in the kernel. */
#define EVENT_RING_ENTRIES 512

static struct io_uring_sqe *event_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	if (!sqe) {
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
	}
	return sqe;
}

static void event_arm(struct event_notify *n, struct io_uring *ring)
{
	struct io_uring_sqe *sqe = event_sqe(ring);
	if (!sqe) {
		fprintf(stderr, "ukvm: event thread: submission queue full, %s queue %u stops\n", n->d->tag, n->q);
		return;
	}
	io_uring_prep_read(sqe, n->d->q[n->q].notify_fd, &n->val, sizeof(n->val), 0);
	io_uring_sqe_set_data(sqe, &n->op);
}

static void event_notify_done(struct dev_op *op, struct io_uring *ring, int res)
{
	struct event_notify *n = (struct event_notify *)op;
	if (n->loop->stopping || res == -ECANCELED)
		return;
	if (res == (int)sizeof(n->val)) {
		n->d->q[n->q].notifies += n->val; /* event thread only; read after the join */
		mmio_notify(n->d, n->q, ring);
	} else if (res != -EINTR && res != -EAGAIN) {
		fprintf(stderr, "ukvm: event thread: reading %s queue %u notify: %s\n", n->d->tag, n->q,
			strerror(res < 0 ? -res : EIO));
		return; /* do not spin on a broken fd */
	}
	event_arm(n, ring);
}

static void event_stop_done(struct dev_op *op, struct io_uring *ring, int res)
{
	struct event_loop *l = (struct event_loop *)((char *)op - offsetof(struct event_loop, stop_op));
	(void)ring;
	(void)res;
	l->stopping = true;
}

/* One polling step of every queue; true while any still polls. */
static bool event_poll(struct event_loop *l, struct io_uring *ring)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	uint64_t now = (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
	bool polling = false;
	for (unsigned i = 0; i < l->ndevs; i++)
		for (unsigned q = 0; q < l->devs[i]->ops->nqueues; q++)
			polling |= mmio_poll(l->devs[i], q, ring, now);
	return polling;
}

static bool event_idle(struct event_loop *l)
{
	bool idle = true;
	for (unsigned i = 0; i < l->ndevs && idle; i++) {
		pthread_mutex_lock(&l->devs[i]->lock);
		idle = l->devs[i]->inflight == 0;
		pthread_mutex_unlock(&l->devs[i]->lock);
	}
	return idle;
}

/*
 * The event thread's allowlist (the vCPU thread has its own, vmm/seccomp.c).
 * io_uring's workers are kernel threads: the file I/O they do is not
 * filtered, only what this thread calls itself.
 */
static int event_seccomp(void)
{
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r = 0;
	if (!f)
		return -ENOMEM;
#define ALLOW(sc) r = r ? r : seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(sc), 0)
	ALLOW(io_uring_enter); /* submit SQEs and wait for CQEs: the whole data path */
	ALLOW(write);          /* news eventfd for a WAITing vCPU; rate-limited warnings on stderr */
	ALLOW(writev);         /* stdio on stderr */
	ALLOW(futex);          /* device locks shared with the vCPU thread, reset's condition variable */
	/*
	 * No malloc on this thread's data path: glibc grows and trims a thread's
	 * arena with mprotect and (once) openat of /proc/sys/vm/overcommit_memory,
	 * which a guest could then reach. O_DIRECT bounce buffers are mmap'd.
	 */
	ALLOW(brk);            /* stdio */
	r = r ? r : seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)); /* bounce buffers, never executable */
	ALLOW(munmap);         /* bounce buffers */
	ALLOW(pwritev);        /* small writes done in place when the disk is otherwise idle (devices/blk.c) */
	ALLOW(pwritev2);       /* glibc's pwritev may use it */
	ALLOW(madvise);        /* thread exit releases its stack */
	ALLOW(sched_yield);    /* polling gives the CPU to a vCPU thread sharing it */
	ALLOW(clock_gettime);  /* queue polling windows, when the vDSO falls back to the syscall */
	ALLOW(newfstatat);     /* stdio's first use of stderr */
	ALLOW(fstat);
	ALLOW(rt_sigprocmask); /* thread exit */
	ALLOW(sigaltstack);    /* ASan removes its per-thread alternate signal stack at thread exit: harmless */
	ALLOW(exit);           /* thread exit */
	ALLOW(exit_group);
#undef ALLOW
	if (!r)
		r = seccomp_load(f);
	seccomp_release(f);
	return r;
}

static void *event_main(void *arg)
{
	struct event_loop *l = arg;
	struct io_uring *ring = &l->ring;
	/* Seccomp filters are per thread: this one installs its own before touching guest input. */
	l->start_err = l->seccomp ? event_seccomp() : 0;
	sem_post(&l->started);
	if (l->start_err)
		return NULL;
	for (;;) {
		/*
		 * While a queue polls (mmio_poll), only submit and reap, never
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
		int r = polling ? io_uring_submit(ring) : io_uring_submit_and_wait(ring, 1);
		if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
			fprintf(stderr, "ukvm: event thread: io_uring_enter: %s\n", strerror(-r));
			break;
		}
		struct io_uring_cqe *cqe;
		while (io_uring_peek_cqe(ring, &cqe) == 0) {
			struct dev_op *op = io_uring_cqe_get_data(cqe);
			int res = cqe->res;
			io_uring_cqe_seen(ring, cqe);
			if (op)
				op->done(op, ring, res);
		}
		if (l->stopping && event_idle(l))
			break;
	}
	return NULL;
}

int event_start(struct event_loop *l, struct mmio_dev **devs, unsigned ndevs, bool seccomp)
{
	memset(l, 0, sizeof(*l));
	l->stop_fd = -1;
	l->devs = devs;
	l->ndevs = ndevs;
	l->seccomp = seccomp;
	if (ndevs > UKVM_MMIO_MAX_DEVS)
		return -EINVAL;
	int r = io_uring_queue_init(EVENT_RING_ENTRIES, &l->ring, 0);
	if (r < 0)
		return r;
	l->ring_ok = true;
	/* Blocking eventfds: io_uring would return -EAGAIN on a nonblocking one instead of waiting. */
	if ((l->stop_fd = eventfd(0, EFD_CLOEXEC)) < 0)
		return -errno;
	for (unsigned i = 0; i < ndevs; i++)
		for (unsigned q = 0; q < devs[i]->ops->nqueues; q++) {
			int fd = eventfd(0, EFD_CLOEXEC);
			if (fd < 0)
				return -errno;
			devs[i]->q[q].notify_fd = fd;
			struct event_notify *n = &l->notes[l->nnotes++];
			*n = (struct event_notify){ .op.done = event_notify_done, .loop = l, .d = devs[i], .q = q };
			event_arm(n, &l->ring);
		}
	l->stop_op.done = event_stop_done;
	struct io_uring_sqe *sqe = event_sqe(&l->ring);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_read(sqe, l->stop_fd, &l->stop_val, sizeof(l->stop_val), 0);
	io_uring_sqe_set_data(sqe, &l->stop_op);
	/*
	 * Not submitted here: the event thread's first pass does it. io_uring
	 * runs a request's task work on the thread that submitted it, and this
	 * is the embedder's thread, where pending task work makes a later
	 * KVM_CREATE_VM fail with EINTR (tests/integration/check_embed.c).
	 */
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, 256 << 10);
	if ((r = sem_init(&l->started, 0, 0))) {
		pthread_attr_destroy(&at);
		return -errno;
	}
	/*
	 * The thread is libukvm's, not the host's: it inherits a mask blocking
	 * every signal, so no process signal's handler (e.g. ukvm-run's, which
	 * calls ukvm_stop and so tgkill, outside this thread's allowlist) ever
	 * runs on it (tests/integration/check_vmmsec.c, check_embed.c).
	 */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&l->thread, &at, event_main, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&at);
	if (r) {
		sem_destroy(&l->started);
		return -r;
	}
	/* Wait for the thread's own seccomp install: its filter is in place before any guest input. */
	while (sem_wait(&l->started) && errno == EINTR)
		;
	sem_destroy(&l->started);
	if (l->start_err) {
		pthread_join(l->thread, NULL);
		return l->start_err;
	}
	l->running = true;
	return 0;
}

void event_stop(struct event_loop *l)
{
	if (!l->running)
		return;
	for (unsigned i = 0; i < l->ndevs; i++) {
		pthread_mutex_lock(&l->devs[i]->lock);
		l->devs[i]->stopped = true;
		pthread_mutex_unlock(&l->devs[i]->lock);
	}
	uint64_t one = 1;
	ssize_t w = write(l->stop_fd, &one, sizeof(one));
	(void)w;
	pthread_join(l->thread, NULL);
	l->running = false;
}

void event_free(struct event_loop *l)
{
	event_stop(l);
	/* Exiting the ring cancels the notify reads still armed; their buffers live in l. */
	if (l->ring_ok)
		io_uring_queue_exit(&l->ring);
	l->ring_ok = false;
	for (unsigned i = 0; i < l->ndevs; i++)
		for (unsigned q = 0; q < MMIO_MAX_QUEUES; q++)
			if (l->devs[i]->q[q].notify_fd >= 0) {
				close(l->devs[i]->q[q].notify_fd);
				l->devs[i]->q[q].notify_fd = -1;
			}
	if (l->stop_fd >= 0)
		close(l->stop_fd);
	l->stop_fd = -1;
}
