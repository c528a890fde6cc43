/* mmio.h: the generic virtio-mmio v2 transport (modern only): register decoding, status machine, queues; devices plug in a dev_ops table. */
#ifndef DEVICES_MMIO_H
#define DEVICES_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "event.h"
#include "virtq.h"

struct mmio_dev;

#define MMIO_MAX_QUEUES 4

/*
 * What a device provides; the transport alone decodes registers. Every hook
 * runs with d->lock held. activate/reset/config_* run on the vCPU thread,
 * start and notify on the event thread (the only thread that submits to the
 * ring; struct event_op routes a device's completions back to it).
 */
struct dev_ops {
	const char *name;
	uint32_t device_id;        /* VIRTIO_ID_* */
	unsigned nqueues;          /* <= MMIO_MAX_QUEUES */
	uint16_t queue_max;        /* QueueNumMax, a power of two */
	uint64_t (*features)(const struct mmio_dev *d); /* offered; must include VERSION_1 */
	uint32_t config_size;      /* bytes of config space at 0x100, <= 0x100 */
	/* Copies config bytes [off, off + len) (in range) into buf. */
	void (*config_read)(struct mmio_dev *d, uint32_t off, void *buf, uint32_t len);
	/* Driver wrote config bytes (in range); may be NULL (read-only config). */
	void (*config_write)(struct mmio_dev *d, uint32_t off, const void *buf, uint32_t len);
	/* DRIVER_OK (already in d->status; FEATURES_OK came earlier); returns 0 or -errno (then DEVICE_NEEDS_RESET). */
	int (*activate)(struct mmio_dev *d);
	/* Forget everything; called after in-flight requests drained (d->inflight == 0). */
	void (*reset)(struct mmio_dev *d);
	/*
	 * The driver kicked queue q (ready, device live), or the event thread
	 * polls it: pop and submit what is available. The transport owns the
	 * queue's notification suppression; devices do not touch it. A device
	 * that leaves chains in the ring (no free slot) must come back to them on
	 * its own, e.g. when a completion frees a slot.
	 */
	void (*notify)(struct mmio_dev *d, unsigned q, struct io_uring *ring);
	/*
	 * Event thread, after DRIVER_OK made the device live (again after each
	 * reset), before any notify of that life: arm what the device watches
	 * on its own (a NIC's tap read: d->loop, event.h). NULL when nothing.
	 * Runs only once the transport is attached to a loop (mmio_attach).
	 * Returns 0 or -errno (then DEVICE_NEEDS_RESET).
	 */
	int (*start)(struct mmio_dev *d, struct io_uring *ring);
	/*
	 * mmio_attach, before event_start: register every file the device
	 * submits I/O on (event_add_file; the ring takes no other) and keep the
	 * indexes for event_sqe_file. NULL when it submits none. Returns 0 or -errno.
	 */
	int (*attach)(struct mmio_dev *d, struct event_loop *l);
	/*
	 * Event thread: a reset waits for d->inflight requests: cancel what can
	 * be (IORING_OP_ASYNC_CANCEL); the cancelled ones complete as usual, with
	 * -ECANCELED. NULL: the reset waits for their I/O to finish.
	 */
	void (*cancel)(struct mmio_dev *d, struct io_uring *ring);
};

struct mmio_queue {
	uint32_t num;         /* QueueNum as written (checked at QueueReady) */
	bool ready;
	uint64_t desc, driver, device;
	struct vq_dev vq;     /* valid while ready */
	bool polling;         /* notifications off, the event thread polls the avail ring */
	uint64_t poll_until;  /* CLOCK_MONOTONIC ns when polling gives up without new work */
};

/* A queue's QueueNotify eventfd (a KVM ioeventfd) as an event source; survives resets. */
struct mmio_kick {
	struct event_src src;
	struct mmio_dev *d;
	unsigned q;
	int fd;               /* -1 until mmio_attach */
	char what[40];        /* "vda queue 0" */
};

/* The transport's counters, common to every device (--stats, struct ukvm_dev_stats). */
struct mmio_stats {
	uint64_t notifies;    /* QueueNotify kicks (eventfd counts, summed over queues) */
	uint64_t requests;    /* used entries pushed (mmio_push_used): requests completed, any status */
	uint64_t news;        /* times the news eventfd was signalled */
	uint64_t exits;       /* register accesses (each one MMIO exit on the vCPU thread) */
};

struct mmio_dev {
	const struct dev_ops *ops;
	void *priv;                /* the device model's state */
	pthread_mutex_t lock;      /* guards everything below: vCPU thread vs event thread */
	pthread_cond_t idle;       /* signalled when inflight drops to 0 */
	struct vq_mem mem;         /* guest memory provider for the rings and buffers */
	uint32_t status;
	uint32_t dev_feat_sel, drv_feat_sel, queue_sel;
	uint64_t drv_features;     /* as written by the driver */
	uint64_t features;         /* negotiated, fixed once FEATURES_OK */
	uint32_t int_status;
	uint32_t config_gen;
	unsigned inflight;         /* requests submitted and not completed; devices keep it */
	bool resetting;            /* a reset waits for inflight == 0: complete without touching rings */
	bool stopped;              /* quiesced (mmio_quiesce): finish what is in flight, start nothing */
	int news_fd;               /* eventfd written when the driver should look (WAIT wakes); -1 none */
	uint64_t news;             /* times news_fd was signalled */
	uint64_t notifies, requests, exits; /* struct mmio_stats */
	unsigned warn_budget;      /* rate limit of guest-error warnings */
	char tag[16];              /* "vda" etc., for messages */
	struct mmio_queue q[MMIO_MAX_QUEUES];
	/* Event loop wiring (mmio_attach); untouched by resets. */
	struct event_loop *loop;   /* NULL until attached */
	struct mmio_kick kick[MMIO_MAX_QUEUES];
	struct event_src start_src; /* start_fd: DRIVER_OK (a reset) asks the event thread for ops->start (->cancel) */
	int start_fd;              /* -1 when not attached or the device has neither hook */
	bool start_pending;        /* DRIVER_OK seen, ops->start not yet run */
	bool cancel_pending;       /* a reset waits, ops->cancel not yet run */
	struct event_client client; /* polling and shutdown (mmio_quiesce, mmio_idle) */
	/* vCPU thread waits give up once this says the VM is ending (mmio_set_stop_check); NULL: never. */
	bool (*stop_check)(void *ctx);
	void *stop_ctx;
};

/*
 * The transport's state in a snapshot (vmm/snap.h, docs/snapshot.md): fixed
 * little-endian layout, 232 bytes. The queues' ring contents are in guest
 * memory; last_avail, used_idx and signalled_used are the device side's.
 */
struct mmio_state {
	uint32_t status, dev_feat_sel, drv_feat_sel, queue_sel;
	uint32_t int_status, config_gen;
	uint64_t drv_features, features;
	struct mmio_queue_state {
		uint32_t num, ready;
		uint64_t desc, driver, device;
		uint16_t last_avail, used_idx, signalled_used, pad;
		uint32_t pad2, pad3;
	} q[MMIO_MAX_QUEUES];
};
_Static_assert(sizeof(struct mmio_state) == 232, "struct mmio_state is part of the snapshot format");

/*
 * True when the device may be snapshotted: no request in flight, none
 * waiting in an avail ring, no reset pending. Takes the lock.
 */
bool mmio_quiet(struct mmio_dev *d);

/* Copies the transport's state (a quiet device's: mmio_quiet) into *s. Takes the lock. */
void mmio_save(struct mmio_dev *d, struct mmio_state *s);

/*
 * Puts a freshly opened (reset), attached device into state s: registers,
 * negotiated features (which must be ones the device offers), queues
 * (re-validated against guest memory as at QueueReady, with their indexes),
 * then activation as at DRIVER_OK and one look at every ready queue.
 * Notifications are turned back on. Returns 0 or -EINVAL with one line in err.
 */
int mmio_load(struct mmio_dev *d, const struct mmio_state *s, char *err, size_t errlen);

/*
 * Initialises the transport for ops/priv with guest memory mem. news_fd may
 * be -1. Queue notify fds start at -1. Returns 0 or -errno.
 */
int mmio_init(struct mmio_dev *d, const struct dev_ops *ops, void *priv, const struct vq_mem *mem,
	      int news_fd, const char *tag);

/*
 * Wires the device into the event loop l (before event_start): one blocking
 * eventfd per queue for QueueNotify (mmio_notify_fd; each kick is counted,
 * then handled by mmio_notify), one for ops->start when the device has it,
 * and a client that polls the queues (mmio_poll) and quiesces the device at
 * shutdown (mmio_quiesce, mmio_idle). Returns 0 or -errno; mmio_destroy
 * closes what it made.
 */
int mmio_attach(struct mmio_dev *d, struct event_loop *l);

/*
 * The eventfds the vCPU thread writes for this device (queue kicks no
 * ioeventfd caught, the start eventfd of DRIVER_OK and resets), at most max
 * into fds: the vCPU thread's seccomp filter allows write on these only.
 * Returns how many. After mmio_attach.
 */
unsigned mmio_vcpu_fds(const struct mmio_dev *d, int *fds, unsigned max);

/* Queue q's QueueNotify eventfd (for KVM_IOEVENTFD), -1 when not attached or no such queue. */
int mmio_notify_fd(const struct mmio_dev *d, unsigned q);

/* Destroys the lock and closes the attached eventfds; the device must be idle (event loop freed). */
void mmio_destroy(struct mmio_dev *d);

/*
 * How often a reset waiting on the vCPU thread for requests in flight asks
 * stop_check whether to give up: the kick signal is blocked outside KVM_RUN,
 * so nothing else interrupts that wait; 10 ms is small against the 1 s a
 * stop may take and costs nothing while no reset waits.
 */
#define MMIO_STOP_POLL_NS 10000000ull

/*
 * Sets (fn NULL: clears) what a reset waiting on the vCPU thread for
 * requests in flight polls: once fn(ctx) returns true (the VM is stopped or
 * past its deadline) the wait gives up and the reset stays pending: the
 * device is not live until a later reset completes. The run's stop and
 * deadline then end it.
 */
void mmio_set_stop_check(struct mmio_dev *d, bool (*fn)(void *ctx), void *ctx);

/* Any thread: the VM is shutting down: requests in flight finish, nothing new starts. */
void mmio_quiesce(struct mmio_dev *d);

/* True when no request is in flight. */
bool mmio_idle(struct mmio_dev *d);

/* The device's counters, read under its lock. */
void mmio_stats(struct mmio_dev *d, struct mmio_stats *s);

/*
 * A guest load of len (1, 2, 4 or 8) bytes at register offset off within the
 * device's 0x1000 window: fills data (little-endian). Anything malformed
 * reads as 0 with a rate-limited warning. Never fails.
 */
void mmio_read(struct mmio_dev *d, uint64_t off, void *data, unsigned len);

/*
 * A guest store. Malformed or out-of-state writes are ignored (or set
 * DEVICE_NEEDS_RESET) with a rate-limited warning. Writing Status 0 resets
 * the device and returns only after in-flight requests completed, or once
 * the stop check says the VM is ending (mmio_set_stop_check). Never fails.
 */
void mmio_write(struct mmio_dev *d, uint64_t off, const void *data, unsigned len);

/*
 * How long a queue is polled after its last activity before notifications
 * are turned back on and the event thread sleeps (see mmio_poll). It must
 * outlast the guest's turnaround from a used entry to its next request:
 * measured with blkbench 4 KiB random reads at QD1 on PVM, 50-100 us for
 * 97% of requests (up to 200 us for the rest). 50 us caught none (each
 * request still kicked, p50 ~150 us), 100 us left ~3% kicking, 200 us
 * ~0.1%: p50 88 -> 41 us, 7.6k -> 11.9k IOPS. The cost is one host CPU
 * spinning (yielding, see event.c) for 200 us after the last request.
 */
#define MMIO_POLL_NS 200000ull

/*
 * Event thread: the driver kicked queue q (the ioeventfd value). Ignored
 * unless the device is live (DRIVER_OK, not failed or needing reset) and the
 * queue ready. Takes the lock, turns the queue's notifications off and
 * starts polling it (mmio_queue_busy), then calls ops->notify.
 */
void mmio_notify(struct mmio_dev *d, unsigned q, struct io_uring *ring);

/*
 * Device (lock held): queue q just did work (kicked, chains popped, used
 * entries pushed). Keeps the driver from notifying (vq_dev_disable_notify)
 * and has the event thread poll the avail ring for MMIO_POLL_NS more: a
 * driver that adds its next request within that time costs no QueueNotify.
 */
void mmio_queue_busy(struct mmio_dev *d, unsigned q);

/*
 * Event thread, now_ns = CLOCK_MONOTONIC: one polling step of queue q. When
 * the queue is polling, takes the lock and calls ops->notify to pop what the
 * driver added; new chains extend the window. Once the window passed with
 * nothing new, turns notifications back on and looks once more
 * (vq_dev_enable_notify): what raced in is handed to ops->notify and keeps
 * the queue polling only if the device took some of it, so polling never
 * outlives progress by more than one window. Returns true while polling
 * (the caller must not block), false when the queue sleeps: a kick, or the
 * device's own completions, wake it.
 */
bool mmio_poll(struct mmio_dev *d, unsigned q, struct io_uring *ring, uint64_t now_ns);

/*
 * Device (lock held): used entries were pushed on queue q. When the driver
 * wants to hear about it (vq_dev_should_notify) sets InterruptStatus bit 0
 * and writes the news eventfd; returns whether it did. Either way the queue
 * is busy (mmio_queue_busy): a synchronous driver answers with its next request.
 */
bool mmio_used_pushed(struct mmio_dev *d, unsigned q);

/*
 * Device (lock held): returns chain head to the driver with len bytes
 * written (vq_dev_push_used) and counts a completed request; a broken ring
 * sets DEVICE_NEEDS_RESET. Returns 0 or the vq error.
 */
int mmio_push_used(struct mmio_dev *d, unsigned q, uint16_t head, uint32_t len);

/* Device (lock held): one request of d->inflight finished; wakes a reset waiting for the last one. */
void mmio_inflight_done(struct mmio_dev *d);

/* Device (lock held): a guest error on queue q: sets DEVICE_NEEDS_RESET and warns. */
void mmio_queue_error(struct mmio_dev *d, unsigned q, const char *what);

/* Device (lock held): the config space changed: bumps ConfigGeneration, sets InterruptStatus bit 1. */
void mmio_config_changed(struct mmio_dev *d);

/* True when queues may be processed: DRIVER_OK set, FAILED and NEEDS_RESET clear, not resetting or quiesced. */
bool mmio_live(const struct mmio_dev *d);

/* Rate-limited warning about guest behaviour, prefixed "ukvm: <tag>: ". */
void mmio_warn(struct mmio_dev *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
