/* mmio.c: virtio-mmio v2 transport: registers, feature negotiation, status state machine, queue setup, reset. */
#include "mmio.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "virtio_mmio.h"

#define MMIO_WARN_BUDGET 10
#define MMIO_WINDOW 0x1000u

int mmio_init(struct mmio_dev *d, const struct dev_ops *ops, void *priv, const struct vq_mem *mem,
	      int news_fd, const char *tag)
{
	memset(d, 0, sizeof(*d));
	if (!ops || ops->nqueues > MMIO_MAX_QUEUES || ops->config_size > MMIO_WINDOW - VIRTIO_MMIO_CONFIG ||
	    !ops->queue_max || (ops->queue_max & (ops->queue_max - 1)) || ops->queue_max > VIRTQ_MAX_SIZE)
		return -EINVAL;
	d->ops = ops;
	d->priv = priv;
	d->mem = *mem;
	d->news_fd = news_fd;
	d->warn_budget = MMIO_WARN_BUDGET;
	snprintf(d->tag, sizeof(d->tag), "%s", tag ? tag : ops->name);
	d->start_fd = -1;
	for (unsigned i = 0; i < MMIO_MAX_QUEUES; i++)
		d->kick[i] = (struct mmio_kick){ .d = d, .q = i, .fd = -1 };
	int r = pthread_mutex_init(&d->lock, NULL);
	if (r)
		return -r;
	/* The reset's timed wait counts on CLOCK_MONOTONIC: a wall-clock step must not stretch it. */
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	r = pthread_cond_init(&d->idle, &ca);
	pthread_condattr_destroy(&ca);
	if (r) {
		pthread_mutex_destroy(&d->lock);
		return -r;
	}
	return 0;
}

void mmio_destroy(struct mmio_dev *d)
{
	if (!d->ops)
		return;
	for (unsigned i = 0; i < MMIO_MAX_QUEUES; i++)
		if (d->kick[i].fd >= 0) {
			close(d->kick[i].fd);
			d->kick[i].fd = -1;
		}
	if (d->start_fd >= 0)
		close(d->start_fd);
	d->start_fd = -1;
	d->loop = NULL;
	pthread_cond_destroy(&d->idle);
	pthread_mutex_destroy(&d->lock);
	d->ops = NULL;
}

void mmio_warn(struct mmio_dev *d, const char *fmt, ...)
{
	va_list ap;
	if (!d->warn_budget)
		return;
	d->warn_budget--;
	char line[256];
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "ukvm: %s: %s%s\n", d->tag, line,
		d->warn_budget ? "" : " (further warnings suppressed)");
}

bool mmio_live(const struct mmio_dev *d)
{
	return (d->status & VIRTIO_STATUS_DRIVER_OK) && !d->resetting && !d->stopped &&
	       !(d->status & (VIRTIO_STATUS_FAILED | VIRTIO_STATUS_DEVICE_NEEDS_RESET));
}

void mmio_queue_error(struct mmio_dev *d, unsigned q, const char *what)
{
	/* Spec 2.1.2: the device sets DEVICE_NEEDS_RESET; the driver must reset it to recover. */
	if (!(d->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		mmio_warn(d, "queue %u: %s: device needs reset", q, what);
	d->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	d->int_status |= VIRTIO_MMIO_INT_CONFIG; /* spec 4.2.2: NEEDS_RESET is announced as a config change */
}

void mmio_inflight_done(struct mmio_dev *d)
{
	if (d->inflight)
		d->inflight--;
	if (!d->inflight)
		pthread_cond_broadcast(&d->idle);
}

int mmio_push_used(struct mmio_dev *d, unsigned q, uint16_t head, uint32_t len)
{
	int r = vq_dev_push_used(&d->q[q].vq, head, len);
	if (r)
		mmio_queue_error(d, q, vq_err_str(r));
	d->requests++;
	return r;
}

void mmio_config_changed(struct mmio_dev *d)
{
	d->config_gen++;
	d->int_status |= VIRTIO_MMIO_INT_CONFIG;
}

static void mmio_signal(struct mmio_dev *d)
{
	if (d->news_fd >= 0) {
		uint64_t one = 1;
		ssize_t w = write(d->news_fd, &one, sizeof(one));
		(void)w; /* only fails when the counter is saturated: the reader is awake anyway */
	}
	d->news++;
}

/* ------------------------------------------------------------- notifications and polling */

static uint64_t mmio_now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t); /* vDSO; the event thread's allowlist has the syscall too */
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void mmio_busy_until(struct mmio_dev *d, unsigned q, uint64_t until)
{
	if (q >= d->ops->nqueues || !d->q[q].ready)
		return;
	struct mmio_queue *mq = &d->q[q];
	if (!mq->polling) {
		/*
		 * Without EVENT_IDX this sets VIRTQ_USED_F_NO_NOTIFY. With it,
		 * avail_event stays where the last vq_dev_enable_notify put it: the
		 * driver kicks at most once more (when it crosses it), and not at
		 * all when a kick already woke us for that index.
		 */
		vq_dev_disable_notify(&mq->vq);
		mq->polling = true;
	}
	mq->poll_until = until;
}

void mmio_queue_busy(struct mmio_dev *d, unsigned q)
{
	mmio_busy_until(d, q, mmio_now_ns() + MMIO_POLL_NS);
}

bool mmio_used_pushed(struct mmio_dev *d, unsigned q)
{
	if (q >= d->ops->nqueues)
		return false;
	mmio_queue_busy(d, q);
	if (!vq_dev_should_notify(&d->q[q].vq))
		return false;
	d->int_status |= VIRTIO_MMIO_INT_VRING;
	mmio_signal(d);
	return true;
}

/* Lock held: a kick of queue q. */
static void mmio_notify_locked(struct mmio_dev *d, unsigned q, struct io_uring *ring)
{
	/* Spec 4.2.3.2 / 3.1.1: no buffers are consumed before DRIVER_OK or on a queue not ready. */
	if (q < d->ops->nqueues && d->q[q].ready && mmio_live(d) && d->ops->notify) {
		mmio_queue_busy(d, q);
		d->ops->notify(d, q, ring);
	}
}

void mmio_notify(struct mmio_dev *d, unsigned q, struct io_uring *ring)
{
	pthread_mutex_lock(&d->lock);
	mmio_notify_locked(d, q, ring);
	pthread_mutex_unlock(&d->lock);
}

bool mmio_poll(struct mmio_dev *d, unsigned q, struct io_uring *ring, uint64_t now_ns)
{
	if (q >= MMIO_MAX_QUEUES)
		return false;
	struct mmio_queue *mq = &d->q[q];
	pthread_mutex_lock(&d->lock);
	/* Reset, failure or shutdown end polling; a reset also re-initialises the ring (QueueReady). */
	if (mq->polling && !(q < d->ops->nqueues && mq->ready && mmio_live(d) && d->ops->notify))
		mq->polling = false;
	if (mq->polling) {
		uint16_t seen = mq->vq.last_avail;
		d->ops->notify(d, q, ring);
		if (mq->vq.last_avail != seen) {
			mmio_busy_until(d, q, now_ns + MMIO_POLL_NS);
		} else if (now_ns >= mq->poll_until) {
			/*
			 * Quiet for a whole window: ask for a kick before sleeping, then
			 * look once more. vq_dev_enable_notify's full barrier between its
			 * avail_event (or flags) store and its avail.idx load pairs with the
			 * one in the driver's vq_drv_kick_prepare between its avail.idx store
			 * and its avail_event load: either the driver kicks, or we see its
			 * chain here. A chain seen here that the device cannot take yet (all
			 * its slots busy) is picked up by the device's own completions, so
			 * only progress keeps us polling.
			 */
			mq->polling = false;
			if (vq_dev_enable_notify(&mq->vq)) {
				d->ops->notify(d, q, ring);
				if (mq->vq.last_avail != seen)
					mmio_busy_until(d, q, now_ns + MMIO_POLL_NS);
			}
		}
	}
	bool polling = mq->polling;
	pthread_mutex_unlock(&d->lock);
	return polling;
}

/* ------------------------------------------------------------- event loop wiring */

/*
 * Event thread, lock held: runs ops->start once per DRIVER_OK. Both the
 * start eventfd and every kick come here first, so whichever the loop reads
 * first, the device is started before its first notify. A reset since
 * DRIVER_OK cleared start_pending: the next DRIVER_OK asks again.
 */
static void mmio_start_pending(struct mmio_dev *d, struct io_uring *ring)
{
	if (!d->start_pending || !mmio_live(d))
		return;
	d->start_pending = false;
	int r = d->ops->start(d, ring);
	if (r) {
		mmio_warn(d, "start failed: %s: device needs reset", strerror(-r));
		d->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
		d->int_status |= VIRTIO_MMIO_INT_CONFIG; /* spec 4.2.2: NEEDS_RESET is announced as a config change */
	}
}

/* Event thread: queue k->q's notify eventfd was read; count is the number of kicks since the last read. */
static void mmio_kick_fn(void *ctx, struct io_uring *ring, uint64_t count)
{
	struct mmio_kick *k = ctx;
	struct mmio_dev *d = k->d;
	pthread_mutex_lock(&d->lock);
	d->notifies += count;
	mmio_start_pending(d, ring);
	mmio_notify_locked(d, k->q, ring);
	pthread_mutex_unlock(&d->lock);
}

/* Event thread: DRIVER_OK (mmio_went_live) or a waiting reset (mmio_reset) wrote the start eventfd. */
static void mmio_start_fn(void *ctx, struct io_uring *ring, uint64_t count)
{
	struct mmio_dev *d = ctx;
	(void)count;
	pthread_mutex_lock(&d->lock);
	mmio_start_pending(d, ring);
	if (d->cancel_pending) {
		d->cancel_pending = false;
		if (d->resetting && d->inflight)
			d->ops->cancel(d, ring);
	}
	pthread_mutex_unlock(&d->lock);
}

static bool mmio_poll_fn(void *ctx, struct io_uring *ring, uint64_t now_ns)
{
	struct mmio_dev *d = ctx;
	bool polling = false;
	for (unsigned q = 0; q < d->ops->nqueues; q++)
		polling |= mmio_poll(d, q, ring, now_ns);
	return polling;
}

static void mmio_quiesce_fn(void *ctx)
{
	mmio_quiesce(ctx);
}

static bool mmio_idle_fn(void *ctx)
{
	return mmio_idle(ctx);
}

int mmio_attach(struct mmio_dev *d, struct event_loop *l)
{
	int r;
	/* Blocking eventfds: io_uring would return -EAGAIN on a nonblocking one instead of waiting. */
	for (unsigned q = 0; q < d->ops->nqueues; q++) {
		struct mmio_kick *k = &d->kick[q];
		if ((k->fd = eventfd(0, EFD_CLOEXEC)) < 0)
			return -errno;
		snprintf(k->what, sizeof(k->what), "%.15s queue %u", d->tag, q);
		if ((r = event_add_counter(l, &k->src, k->fd, mmio_kick_fn, k, k->what)))
			return r;
	}
	if (d->ops->start || d->ops->cancel) {
		if ((d->start_fd = eventfd(0, EFD_CLOEXEC)) < 0)
			return -errno;
		if ((r = event_add_counter(l, &d->start_src, d->start_fd, mmio_start_fn, d, d->tag)))
			return r;
	}
	/* mmio_signal writes it from the event thread: its seccomp filter allows that fd (vmm/sandbox.c). */
	if (d->news_fd >= 0 && (r = event_add_write_fd(l, d->news_fd)))
		return r;
	if (d->ops->attach && (r = d->ops->attach(d, l)))
		return r;
	d->client = (struct event_client){ .poll = mmio_poll_fn, .quiesce = mmio_quiesce_fn,
					   .idle = mmio_idle_fn, .ctx = d };
	event_add_client(l, &d->client);
	d->loop = l;
	return 0;
}

unsigned mmio_vcpu_fds(const struct mmio_dev *d, int *fds, unsigned max)
{
	unsigned n = 0;
	for (unsigned q = 0; q < MMIO_MAX_QUEUES && n < max; q++)
		if (d->kick[q].fd >= 0)
			fds[n++] = d->kick[q].fd;
	if (d->start_fd >= 0 && n < max)
		fds[n++] = d->start_fd;
	return n;
}

int mmio_notify_fd(const struct mmio_dev *d, unsigned q)
{
	return q < MMIO_MAX_QUEUES ? d->kick[q].fd : -1;
}

void mmio_set_stop_check(struct mmio_dev *d, bool (*fn)(void *ctx), void *ctx)
{
	pthread_mutex_lock(&d->lock);
	d->stop_check = fn;
	d->stop_ctx = ctx;
	pthread_mutex_unlock(&d->lock);
}

void mmio_quiesce(struct mmio_dev *d)
{
	pthread_mutex_lock(&d->lock);
	d->stopped = true;
	pthread_mutex_unlock(&d->lock);
}

bool mmio_idle(struct mmio_dev *d)
{
	pthread_mutex_lock(&d->lock);
	bool idle = d->inflight == 0;
	pthread_mutex_unlock(&d->lock);
	return idle;
}

void mmio_stats(struct mmio_dev *d, struct mmio_stats *s)
{
	pthread_mutex_lock(&d->lock);
	*s = (struct mmio_stats){ .notifies = d->notifies, .requests = d->requests, .news = d->news,
				  .exits = d->exits };
	pthread_mutex_unlock(&d->lock);
}

/* ------------------------------------------------------------- reset */

static void mmio_kick_fd(int fd)
{
	uint64_t one = 1;
	ssize_t w = write(fd, &one, sizeof(one));
	(void)w; /* only fails when the counter is saturated: the event thread has a read pending anyway */
}

static void mmio_reset(struct mmio_dev *d)
{
	/*
	 * Spec 2.4: after reset the device must not touch the rings. Requests
	 * in flight write into guest memory when their I/O completes, so the
	 * reset completes only once they are all back (the device completes
	 * them without touching the rings while resetting is set).
	 */
	d->resetting = true;
	if (d->inflight && d->ops->cancel && d->start_fd >= 0 && !d->cancel_pending) {
		d->cancel_pending = true; /* the event thread alone submits: it cancels (mmio_start_fn) */
		mmio_kick_fd(d->start_fd);
	}
	while (d->inflight) {
		/* Devices bound what is in flight (e.g. BLK_INFLIGHT_MAX); a stop or deadline ends the wait sooner. */
		if (d->stop_check && d->stop_check(d->stop_ctx))
			return; /* still resetting: nothing starts, completions leave the rings alone */
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		uint64_t ns = (uint64_t)t.tv_nsec + MMIO_STOP_POLL_NS;
		t.tv_sec += (time_t)(ns / 1000000000ull);
		t.tv_nsec = (long)(ns % 1000000000ull);
		pthread_cond_timedwait(&d->idle, &d->lock, &t);
	}
	d->resetting = false;
	if (d->ops->reset)
		d->ops->reset(d);
	d->status = 0;
	d->dev_feat_sel = d->drv_feat_sel = d->queue_sel = 0;
	d->drv_features = d->features = 0;
	d->int_status = 0;
	d->start_pending = d->cancel_pending = false;
	memset(d->q, 0, sizeof(d->q));
}

/* ------------------------------------------------------------- snapshots */

static void mmio_went_live(struct mmio_dev *d);

bool mmio_quiet(struct mmio_dev *d)
{
	pthread_mutex_lock(&d->lock);
	bool quiet = !d->inflight && !d->resetting && !d->start_pending && !d->cancel_pending;
	for (unsigned q = 0; quiet && q < d->ops->nqueues; q++) {
		struct mmio_queue *mq = &d->q[q];
		/* avail.idx (the second u16 of the avail ring) not yet consumed: a request still to come. */
		if (mq->ready && mmio_live(d) && mq->vq.avail[1] != mq->vq.last_avail)
			quiet = false;
	}
	pthread_mutex_unlock(&d->lock);
	return quiet;
}

void mmio_save(struct mmio_dev *d, struct mmio_state *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&d->lock);
	s->status = d->status;
	s->dev_feat_sel = d->dev_feat_sel;
	s->drv_feat_sel = d->drv_feat_sel;
	s->queue_sel = d->queue_sel;
	s->int_status = d->int_status;
	s->config_gen = d->config_gen;
	s->drv_features = d->drv_features;
	s->features = d->features;
	for (unsigned q = 0; q < MMIO_MAX_QUEUES; q++) {
		const struct mmio_queue *mq = &d->q[q];
		s->q[q] = (struct mmio_queue_state){ .num = mq->num, .ready = mq->ready, .desc = mq->desc,
						     .driver = mq->driver, .device = mq->device };
		if (mq->ready) {
			s->q[q].last_avail = mq->vq.last_avail;
			s->q[q].used_idx = mq->vq.used_idx;
			s->q[q].signalled_used = mq->vq.signalled_used;
		}
	}
	pthread_mutex_unlock(&d->lock);
}

int mmio_load(struct mmio_dev *d, const struct mmio_state *s, char *err, size_t errlen)
{
	int r = -EINVAL;
	pthread_mutex_lock(&d->lock);
	if (s->features & ~d->ops->features(d)) {
		snprintf(err, errlen, "%s: snapshot has features 0x%llx this device does not offer", d->tag,
			 (unsigned long long)(s->features & ~d->ops->features(d)));
		goto out;
	}
	d->dev_feat_sel = s->dev_feat_sel;
	d->drv_feat_sel = s->drv_feat_sel;
	d->queue_sel = s->queue_sel;
	d->int_status = s->int_status;
	d->config_gen = s->config_gen;
	d->drv_features = s->drv_features;
	d->features = s->features;
	for (unsigned q = 0; q < MMIO_MAX_QUEUES; q++) {
		const struct mmio_queue_state *qs = &s->q[q];
		struct mmio_queue *mq = &d->q[q];
		*mq = (struct mmio_queue){ .num = qs->num, .desc = qs->desc, .driver = qs->driver, .device = qs->device };
		if (!qs->ready)
			continue;
		int e;
		if (q >= d->ops->nqueues || !qs->num || (qs->num & (qs->num - 1)) || qs->num > d->ops->queue_max ||
		    (e = vq_dev_init(&mq->vq, &d->mem, qs->num, qs->desc, qs->driver, qs->device, d->features))) {
			snprintf(err, errlen, "%s: snapshot queue %u is invalid", d->tag, q);
			goto out;
		}
		mq->vq.last_avail = qs->last_avail;
		mq->vq.used_idx = qs->used_idx;
		mq->vq.signalled_used = qs->signalled_used;
		mq->ready = true;
	}
	/* As mmio_status_write stores it (bits the spec does not define dropped): DRIVER_OK activates. */
	d->status = s->status & (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
				 VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FAILED | VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	if ((d->status & VIRTIO_STATUS_DRIVER_OK) && !(d->status & (VIRTIO_STATUS_FAILED |
	    VIRTIO_STATUS_DEVICE_NEEDS_RESET)) && d->ops->activate && (r = d->ops->activate(d))) {
		snprintf(err, errlen, "%s: activating the restored device: %s", d->tag, strerror(-r));
		goto out;
	}
	/*
	 * The snapshot may have been taken while a queue was polled (its
	 * notifications off): on again, so the driver's next request kicks.
	 */
	for (unsigned q = 0; q < d->ops->nqueues; q++)
		if (d->q[q].ready)
			(void)vq_dev_enable_notify(&d->q[q].vq);
	if (mmio_live(d))
		mmio_went_live(d);
	r = 0;
out:
	pthread_mutex_unlock(&d->lock);
	return r;
}

/* ------------------------------------------------------------- status */

static bool mmio_features_ok(struct mmio_dev *d)
{
	uint64_t offered = d->ops->features(d);
	if (d->drv_features & ~offered) {
		mmio_warn(d, "driver accepted features 0x%llx never offered: FEATURES_OK refused",
			  (unsigned long long)(d->drv_features & ~offered));
		return false;
	}
	if (!(d->drv_features & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
		mmio_warn(d, "driver did not accept VERSION_1 (legacy is not supported): FEATURES_OK refused");
		return false;
	}
	return true;
}

static void mmio_went_live(struct mmio_dev *d)
{
	/* ops->start runs on the event thread, before the notify of any kick below (mmio_start_pending). */
	if (d->ops->start && d->start_fd >= 0) {
		d->start_pending = true;
		mmio_kick_fd(d->start_fd);
	}
	/* Buffers made available before DRIVER_OK were not looked at: let the event thread do it now. */
	for (unsigned i = 0; i < d->ops->nqueues; i++)
		if (d->q[i].ready && d->kick[i].fd >= 0)
			mmio_kick_fd(d->kick[i].fd);
}

static void mmio_status_write(struct mmio_dev *d, uint32_t v)
{
	const uint32_t S_FEAT = VIRTIO_STATUS_FEATURES_OK, S_OK = VIRTIO_STATUS_DRIVER_OK;
	if (v == 0) {
		mmio_reset(d);
		return;
	}
	/* NEEDS_RESET is the device's bit and bits the spec does not define are dropped. */
	uint32_t keep = d->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	v &= VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
	     VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FAILED;
	uint32_t cur = d->status & ~VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	if (cur & ~v) {
		mmio_warn(d, "driver cleared status bits 0x%x without a reset: ignored", cur & ~v);
		return;
	}
	uint32_t add = v & ~cur;
	if ((add & S_FEAT) && !((v & VIRTIO_STATUS_DRIVER) && mmio_features_ok(d)))
		v &= ~S_FEAT; /* spec 3.1.1: the driver re-reads and sees FEATURES_OK missing */
	if (add & S_FEAT && (v & S_FEAT))
		d->features = d->drv_features;
	/*
	 * Spec 3.1.1: FEATURES_OK must have been accepted by an earlier write:
	 * the driver re-reads it and sets up its queues before DRIVER_OK, so
	 * both bits in one write leave no queue ready for activate.
	 */
	if ((add & S_OK) && !(cur & S_FEAT)) {
		mmio_warn(d, "DRIVER_OK without FEATURES_OK set by an earlier write");
		v &= ~S_OK;
		keep |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	}
	/* Stored first: activate sees the status it activates into (the lock keeps the event thread out). */
	d->status = v | keep;
	/* Spec 2.1: FAILED says the driver gave up on the device: nothing to activate, even in the same write. */
	if ((add & S_OK) && !keep && !(v & VIRTIO_STATUS_FAILED) && d->ops->activate) {
		int r = d->ops->activate(d);
		if (r) {
			mmio_warn(d, "activation failed: %s", strerror(-r));
			d->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
		}
	}
	if ((add & S_OK) && mmio_live(d))
		mmio_went_live(d);
}

/* ------------------------------------------------------------- queues */

static struct mmio_queue *mmio_cur_queue(struct mmio_dev *d, const char *reg)
{
	if (d->queue_sel >= d->ops->nqueues) {
		mmio_warn(d, "%s for queue %u that does not exist: ignored", reg, d->queue_sel);
		return NULL;
	}
	struct mmio_queue *mq = &d->q[d->queue_sel];
	if (mq->ready || (d->status & VIRTIO_STATUS_DRIVER_OK)) {
		mmio_warn(d, "%s for queue %u while it is live: ignored", reg, d->queue_sel);
		return NULL;
	}
	return mq;
}

static void mmio_set_half(uint64_t *v, bool high, uint32_t val)
{
	if (high)
		*v = (*v & 0xffffffffull) | ((uint64_t)val << 32);
	else
		*v = (*v & ~0xffffffffull) | val;
}

static void mmio_queue_ready(struct mmio_dev *d, uint32_t val)
{
	struct mmio_queue *mq;
	if (val == 0) {
		/* Disabling a live queue needs VIRTIO_F_RING_RESET, which we do not offer. */
		if (d->queue_sel < d->ops->nqueues && !(d->status & VIRTIO_STATUS_DRIVER_OK))
			d->q[d->queue_sel].ready = false;
		return;
	}
	if (!(mq = mmio_cur_queue(d, "QueueReady")))
		return;
	if (!(d->status & VIRTIO_STATUS_FEATURES_OK)) {
		mmio_queue_error(d, d->queue_sel, "QueueReady before FEATURES_OK");
		return;
	}
	/* Spec 4.2.2: QueueNum is a power of two no larger than QueueNumMax. */
	if (!mq->num || (mq->num & (mq->num - 1)) || mq->num > d->ops->queue_max) {
		mmio_queue_error(d, d->queue_sel, "queue size not a power of two up to QueueNumMax");
		return;
	}
	int r = vq_dev_init(&mq->vq, &d->mem, mq->num, mq->desc, mq->driver, mq->device, d->features);
	if (r) {
		mmio_queue_error(d, d->queue_sel, vq_err_str(r));
		return;
	}
	mq->ready = true;
}

static void mmio_reg_write(struct mmio_dev *d, uint64_t off, uint32_t v)
{
	struct mmio_queue *mq;
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: d->dev_feat_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: d->drv_feat_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		/* Spec 3.1.1: features are written after DRIVER and before FEATURES_OK. */
		if (!(d->status & VIRTIO_STATUS_DRIVER) || (d->status & VIRTIO_STATUS_FEATURES_OK)) {
			mmio_warn(d, "DriverFeatures written in status 0x%x: ignored", d->status);
			break;
		}
		if (d->drv_feat_sel < 2)
			mmio_set_half(&d->drv_features, d->drv_feat_sel == 1, v);
		else if (v)
			mmio_warn(d, "DriverFeatures word %u: no such features", d->drv_feat_sel);
		break;
	case VIRTIO_MMIO_QUEUE_SEL: d->queue_sel = v; break;
	case VIRTIO_MMIO_QUEUE_NUM:
		if ((mq = mmio_cur_queue(d, "QueueNum")))
			mq->num = v;
		break;
	case VIRTIO_MMIO_QUEUE_READY: mmio_queue_ready(d, v); break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* A notify the ioeventfd did not catch (no fd, or odd value): hand it to the event thread. */
		if (v < d->ops->nqueues && d->kick[v].fd >= 0) {
			mmio_kick_fd(d->kick[v].fd);
		} else {
			mmio_warn(d, "QueueNotify %u ignored", v);
		}
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK: d->int_status &= ~v; break;
	case VIRTIO_MMIO_STATUS: mmio_status_write(d, v); break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		if ((mq = mmio_cur_queue(d, "QueueDesc")))
			mmio_set_half(&mq->desc, off == VIRTIO_MMIO_QUEUE_DESC_HIGH, v);
		break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		if ((mq = mmio_cur_queue(d, "QueueDriver")))
			mmio_set_half(&mq->driver, off == VIRTIO_MMIO_QUEUE_DRIVER_HIGH, v);
		break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		if ((mq = mmio_cur_queue(d, "QueueDevice")))
			mmio_set_half(&mq->device, off == VIRTIO_MMIO_QUEUE_DEVICE_HIGH, v);
		break;
	default:
		mmio_warn(d, "write 0x%x to register 0x%llx: ignored", v, (unsigned long long)off);
		break;
	}
}

static uint32_t mmio_reg_read(struct mmio_dev *d, uint64_t off)
{
	uint64_t f;
	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE: return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION_REG: return VIRTIO_MMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID: return d->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID: return VIRTIO_MMIO_VENDOR_UKVM;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		f = d->ops->features(d);
		return d->dev_feat_sel == 0 ? (uint32_t)f : d->dev_feat_sel == 1 ? (uint32_t)(f >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return d->queue_sel < d->ops->nqueues ? d->ops->queue_max : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return d->queue_sel < d->ops->nqueues && d->q[d->queue_sel].ready;
	case VIRTIO_MMIO_INTERRUPT_STATUS: return d->int_status;
	case VIRTIO_MMIO_STATUS: return d->status;
	case VIRTIO_MMIO_CONFIG_GENERATION: return d->config_gen;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
		return 0xffffffffu; /* spec 4.2.2: length ~0 means no such shared memory region */
	case VIRTIO_MMIO_QUEUE_RESET: return 0;
	default:
		mmio_warn(d, "read of register 0x%llx: returns 0", (unsigned long long)off);
		return 0;
	}
}

/* ------------------------------------------------------------- access */

/* Config space: 1/2/4/8-byte naturally aligned accesses wholly inside config_size. */
static bool mmio_config_ok(struct mmio_dev *d, uint64_t off, unsigned len, const char *dir)
{
	uint64_t c = off - VIRTIO_MMIO_CONFIG;
	if ((len == 1 || len == 2 || len == 4 || len == 8) && c % len == 0 && c + len <= d->ops->config_size)
		return true;
	mmio_warn(d, "config %s of %u bytes at 0x%llx: out of range or misaligned", dir, len,
		  (unsigned long long)c);
	return false;
}

void mmio_read(struct mmio_dev *d, uint64_t off, void *data, unsigned len)
{
	if (len == 0 || len > 8)
		return;
	memset(data, 0, len);
	pthread_mutex_lock(&d->lock);
	d->exits++;
	if (off >= MMIO_WINDOW || off + len > MMIO_WINDOW) {
		mmio_warn(d, "read beyond the register window at 0x%llx", (unsigned long long)off);
	} else if (off >= VIRTIO_MMIO_CONFIG) {
		if (mmio_config_ok(d, off, len, "read"))
			d->ops->config_read(d, (uint32_t)(off - VIRTIO_MMIO_CONFIG), data, len);
	} else if (len != 4 || off % 4) {
		/* Spec 4.2.2.2: registers are read with 32-bit aligned loads. */
		mmio_warn(d, "%u-byte read of register 0x%llx: must be 32-bit aligned", len,
			  (unsigned long long)off);
	} else {
		uint32_t v = mmio_reg_read(d, off);
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&d->lock);
}

void mmio_write(struct mmio_dev *d, uint64_t off, const void *data, unsigned len)
{
	if (len == 0 || len > 8)
		return;
	pthread_mutex_lock(&d->lock);
	d->exits++;
	if (off >= MMIO_WINDOW || off + len > MMIO_WINDOW) {
		mmio_warn(d, "write beyond the register window at 0x%llx", (unsigned long long)off);
	} else if (off >= VIRTIO_MMIO_CONFIG) {
		if (!d->ops->config_write)
			mmio_warn(d, "write to read-only config space at 0x%llx: ignored",
				  (unsigned long long)(off - VIRTIO_MMIO_CONFIG));
		else if (mmio_config_ok(d, off, len, "write"))
			d->ops->config_write(d, (uint32_t)(off - VIRTIO_MMIO_CONFIG), data, len);
	} else if (len != 4 || off % 4) {
		mmio_warn(d, "%u-byte write to register 0x%llx: must be 32-bit aligned: ignored", len,
			  (unsigned long long)off);
	} else {
		uint32_t v;
		memcpy(&v, data, 4);
		mmio_reg_write(d, off, v);
	}
	pthread_mutex_unlock(&d->lock);
}
