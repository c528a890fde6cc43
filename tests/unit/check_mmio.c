/* check_mmio.c: the virtio-mmio transport's register state machine against a fake device. */

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "mmio.h"
#include "virtio_mmio.h"

#define GMEM (1u << 20)
#define F_TEST 3 /* a device feature bit the fake offers */

static uint8_t *gmem;
static struct mmio_dev dev;
static int n_activate, n_reset, n_notify, activate_ret;
static int news_fd;

static void *fake_map(void *ctx, uint64_t gpa, size_t len)
{
	(void)ctx;
	return gpa > GMEM || len > GMEM - gpa ? NULL : gmem + gpa;
}

static uint64_t fake_features(const struct mmio_dev *d)
{
	(void)d;
	return VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) | VIRTIO_BIT(F_TEST);
}

static void fake_config_read(struct mmio_dev *d, uint32_t off, void *buf, uint32_t len)
{
	(void)d;
	static const uint8_t cfg[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	memcpy(buf, cfg + off, len);
}

static uint32_t activate_status; /* d->status as fake_activate saw it */
static bool activate_q0_ready;

static int fake_activate(struct mmio_dev *d)
{
	n_activate++;
	activate_status = d->status;
	activate_q0_ready = d->q[0].ready;
	return activate_ret;
}

static void fake_reset(struct mmio_dev *d)
{
	ck_assert_uint_eq(d->inflight, 0); /* the transport drains before it resets the device */
	n_reset++;
}

static bool fake_pops; /* fake_notify takes every available chain (else it leaves them, like a full device) */
static bool race_add;  /* fake_notify, once, makes a chain available after looking: a driver racing us */
static void add_chain(void);

static void fake_notify(struct mmio_dev *d, unsigned q, struct io_uring *ring)
{
	(void)ring;
	n_notify++;
	struct vq_chain c;
	while (fake_pops && vq_dev_pop(&d->q[q].vq, &c) > 0)
		;
	if (race_add) {
		race_add = false;
		add_chain();
	}
}

static const struct dev_ops fake_ops = {
	.name = "fake",
	.device_id = 42,
	.nqueues = 2,
	.queue_max = 64,
	.features = fake_features,
	.config_size = 12,
	.config_read = fake_config_read,
	.activate = fake_activate,
	.reset = fake_reset,
	.notify = fake_notify,
};

/* ---- a device with a start hook, attached to a real event loop ---- */
static int n_start, start_ret, start_on_thread, start_saw_driver_ok, start_notifies_before;

static int fake_start(struct mmio_dev *d, struct io_uring *ring)
{
	ck_assert_ptr_nonnull(ring);
	__atomic_store_n(&start_on_thread, event_on_thread(d->loop), __ATOMIC_SEQ_CST);
	__atomic_store_n(&start_saw_driver_ok, !!(d->status & VIRTIO_STATUS_DRIVER_OK), __ATOMIC_SEQ_CST);
	__atomic_store_n(&start_notifies_before, __atomic_load_n(&n_notify, __ATOMIC_SEQ_CST), __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&n_start, 1, __ATOMIC_SEQ_CST);
	return start_ret;
}

static struct dev_ops start_ops; /* fake_ops plus fake_start */

/* Waits up to 2 s for *v to reach at least want. */
static int wait_at_least(int *v, int want)
{
	for (int i = 0; i < 2000 && __atomic_load_n(v, __ATOMIC_SEQ_CST) < want; i++) {
		struct timespec d = { 0, 1000 * 1000 };
		nanosleep(&d, NULL);
	}
	return __atomic_load_n(v, __ATOMIC_SEQ_CST);
}

static void setup(void)
{
	gmem = calloc(1, GMEM);
	ck_assert_ptr_nonnull(gmem);
	news_fd = eventfd(0, EFD_NONBLOCK);
	ck_assert_int_ge(news_fd, 0);
	struct vq_mem m = { fake_map, NULL };
	ck_assert_int_eq(mmio_init(&dev, &fake_ops, NULL, &m, news_fd, "fake"), 0);
	dev.warn_budget = 0; /* hostile tests would flood stderr */
	n_activate = n_reset = n_notify = activate_ret = 0;
	n_start = start_ret = start_on_thread = start_saw_driver_ok = 0;
	start_notifies_before = -1;
	fake_pops = race_add = false;
}

static void teardown(void)
{
	mmio_destroy(&dev);
	close(news_fd);
	free(gmem);
}

static uint32_t rd(uint64_t off)
{
	uint32_t v = 0xdeadbeef;
	mmio_read(&dev, off, &v, 4);
	return v;
}

static void wr(uint64_t off, uint32_t v)
{
	mmio_write(&dev, off, &v, 4);
}

static void features(uint64_t f)
{
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
}

/* Queue q of num entries laid out contiguously at gpa. */
static void queue(unsigned q, uint32_t num, uint64_t gpa)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, q);
	wr(VIRTIO_MMIO_QUEUE_NUM, num);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)gpa);
	wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(gpa >> 32));
	uint64_t av = gpa + VIRTQ_LAYOUT_AVAIL_OFF(num), us = gpa + VIRTQ_LAYOUT_USED_OFF(num);
	wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)av);
	wr(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(av >> 32));
	wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)us);
	wr(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(us >> 32));
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
}

static const uint32_t S_ACK = VIRTIO_STATUS_ACKNOWLEDGE, S_DRV = VIRTIO_STATUS_DRIVER,
		      S_FEAT = VIRTIO_STATUS_FEATURES_OK, S_OK = VIRTIO_STATUS_DRIVER_OK,
		      S_RESET = VIRTIO_STATUS_DEVICE_NEEDS_RESET;

/* The whole driver init of spec 3.1.1; returns the final status. */
static uint32_t bring_up(void)
{
	wr(VIRTIO_MMIO_STATUS, S_ACK);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	features(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FEAT);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FEAT);
	queue(0, 64, 0x10000);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FEAT | S_OK);
	return rd(VIRTIO_MMIO_STATUS);
}

START_TEST(test_ident)
{
	ck_assert_uint_eq(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_VERSION_REG), 2);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_ID), 42);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR_UKVM);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), (1u << 29) | (1u << F_TEST));
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), 1);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 7);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 64);
	wr(VIRTIO_MMIO_QUEUE_SEL, 2);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0); /* no such queue */
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
	ck_assert_uint_eq(rd(0x0fc), 0); /* config generation */
}
END_TEST

START_TEST(test_bring_up)
{
	ck_assert_uint_eq(bring_up(), S_ACK | S_DRV | S_FEAT | S_OK);
	ck_assert_int_eq(n_activate, 1);
	/* activate sees the status it is activated into, with the queue ready */
	ck_assert_uint_eq(activate_status, S_ACK | S_DRV | S_FEAT | S_OK);
	ck_assert(activate_q0_ready);
	ck_assert_uint_eq(dev.features, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 1);
	ck_assert(dev.q[0].vq.event_idx);
	mmio_notify(&dev, 0, NULL);
	ck_assert_int_eq(n_notify, 1);
	mmio_notify(&dev, 1, NULL); /* queue 1 never made ready */
	mmio_notify(&dev, 9, NULL); /* no such queue */
	ck_assert_int_eq(n_notify, 1);
	/* A failed activation is reported as DEVICE_NEEDS_RESET. */
	wr(VIRTIO_MMIO_STATUS, 0);
	activate_ret = -12;
	ck_assert_uint_eq(bring_up(), S_ACK | S_DRV | S_FEAT | S_OK | S_RESET); /* live never */
	mmio_notify(&dev, 0, NULL);
	ck_assert_int_eq(n_notify, 1);
}
END_TEST

/* dev_ops.start runs on the event thread once per DRIVER_OK, before any notify; kicks reach notify there. */
START_TEST(test_start_on_event_thread)
{
	struct event_loop loop;
	struct vq_mem m = { fake_map, NULL };
	start_ops = fake_ops;
	start_ops.start = fake_start;
	mmio_destroy(&dev);
	ck_assert_int_eq(mmio_init(&dev, &start_ops, NULL, &m, news_fd, "fake"), 0);
	dev.warn_budget = 0;
	ck_assert_int_eq(event_init(&loop), 0);
	ck_assert_int_eq(mmio_attach(&dev, &loop), 0);
	ck_assert_int_ge(mmio_notify_fd(&dev, 0), 0);
	ck_assert_int_ge(mmio_notify_fd(&dev, 1), 0);
	ck_assert_int_eq(mmio_notify_fd(&dev, 2), -1); /* the fake has two queues */
	ck_assert_int_eq(event_start(&loop, false), 0);
	ck_assert(!event_on_thread(&loop));

	struct timespec d = { 0, 20 * 1000 * 1000 };
	wr(VIRTIO_MMIO_STATUS, S_ACK);
	nanosleep(&d, NULL);
	ck_assert_int_eq(__atomic_load_n(&n_start, __ATOMIC_SEQ_CST), 0); /* nothing before DRIVER_OK */
	ck_assert_uint_eq(bring_up(), S_ACK | S_DRV | S_FEAT | S_OK);
	ck_assert_int_eq(wait_at_least(&n_start, 1), 1);
	ck_assert_int_eq(start_on_thread, 1);
	ck_assert_int_eq(start_saw_driver_ok, 1);
	ck_assert_int_eq(start_notifies_before, 0);

	/* A QueueNotify the ioeventfd did not catch goes to the queue's eventfd: the loop counts it and notifies. */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	ck_assert_int_ge(wait_at_least(&n_notify, 1), 1);
	struct mmio_stats st;
	for (int i = 0; i < 2000; i++) {
		mmio_stats(&dev, &st);
		if (st.notifies)
			break;
		nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
	}
	ck_assert_uint_ge(st.notifies, 1);
	ck_assert_uint_gt(st.exits, 10); /* every register access above */

	/* After a reset, the next DRIVER_OK starts the device again; a failing start needs a reset. */
	wr(VIRTIO_MMIO_STATUS, 0);
	start_ret = -5;
	ck_assert_uint_eq(bring_up(), S_ACK | S_DRV | S_FEAT | S_OK);
	ck_assert_int_eq(wait_at_least(&n_start, 2), 2);
	for (int i = 0; i < 2000 && !(rd(VIRTIO_MMIO_STATUS) & S_RESET); i++)
		nanosleep(&(struct timespec){ 0, 1000 * 1000 }, NULL);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FEAT | S_OK | S_RESET);

	/* Stopping the loop quiesces the device. */
	event_free(&loop);
	ck_assert(dev.stopped);
	ck_assert(mmio_idle(&dev));
	ck_assert_int_eq(__atomic_load_n(&n_start, __ATOMIC_SEQ_CST), 2);
}
END_TEST

START_TEST(test_config)
{
	uint8_t b = 0;
	uint16_t h = 0;
	uint64_t q = 0;
	mmio_read(&dev, 0x100 + 3, &b, 1);
	ck_assert_uint_eq(b, 4);
	mmio_read(&dev, 0x100 + 2, &h, 2);
	ck_assert_uint_eq(h, 0x0403);
	ck_assert_uint_eq(rd(0x104), 0x08070605);
	mmio_read(&dev, 0x100, &q, 8);
	ck_assert_uint_eq(q, 0x0807060504030201ull);
	uint32_t gen = rd(VIRTIO_MMIO_CONFIG_GENERATION);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), gen); /* stable while nothing changes */
	pthread_mutex_lock(&dev.lock);
	mmio_config_changed(&dev);
	pthread_mutex_unlock(&dev.lock);
	ck_assert_uint_ne(rd(VIRTIO_MMIO_CONFIG_GENERATION), gen);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
}
END_TEST

START_TEST(test_used_pushed)
{
	ck_assert_uint_eq(bring_up(), S_ACK | S_DRV | S_FEAT | S_OK);
	/* used_event (avail ring slot num) = 0: the first used entry crosses it. */
	pthread_mutex_lock(&dev.lock);
	ck_assert_int_eq(vq_dev_push_used(&dev.q[0].vq, 0, 1), 0);
	ck_assert(mmio_used_pushed(&dev, 0));
	ck_assert_int_eq(mmio_push_used(&dev, 0, 1, 1), 0);
	ck_assert(!mmio_used_pushed(&dev, 0)); /* driver did not move used_event: no news */
	pthread_mutex_unlock(&dev.lock);
	struct mmio_stats st;
	mmio_stats(&dev, &st);
	ck_assert_uint_eq(st.requests, 1); /* mmio_push_used counts, vq_dev_push_used alone does not */
	ck_assert_uint_eq(st.news, 1);
	uint64_t v = 0;
	ck_assert_int_eq(read(news_fd, &v, 8), 8);
	ck_assert_uint_eq(v, 1);
	ck_assert_uint_eq(dev.news, 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
}
END_TEST

/* Ring words of queue 0 as bring_up lays it out (64 entries at 0x10000). */
static volatile uint16_t *avail16(void)
{
	return (volatile uint16_t *)(gmem + 0x10000 + VIRTQ_LAYOUT_AVAIL_OFF(64));
}

static volatile uint16_t *used16(void)
{
	return (volatile uint16_t *)(gmem + 0x10000 + VIRTQ_LAYOUT_USED_OFF(64));
}

/* Makes one chain (descriptor 0, 512 writable bytes) available, as a driver would. */
static void add_chain(void)
{
	struct virtq_desc *desc = (struct virtq_desc *)(gmem + 0x10000);
	desc[0] = (struct virtq_desc){ .addr = 0x80000, .len = 512, .flags = VIRTQ_DESC_F_WRITE };
	uint16_t idx = avail16()[1];
	avail16()[2 + (idx & 63)] = 0;
	avail16()[1] = (uint16_t)(idx + 1);
}

/* avail_event: the used ring's last word (EVENT_IDX). */
#define AVAIL_EVENT() (used16()[2 + 4 * 64])

/* A fresh transport on the same guest memory, as a restore opens one. */
static void reopen(void)
{
	mmio_destroy(&dev);
	struct vq_mem m = { fake_map, NULL };
	ck_assert_int_eq(mmio_init(&dev, &fake_ops, NULL, &m, news_fd, "fake"), 0);
	dev.warn_budget = 0;
	n_activate = n_notify = 0;
}

/* Snapshots: a quiet device's state saved, then loaded into a fresh transport, which carries on the same rings. */
START_TEST(test_snapshot_state)
{
	ck_assert_uint_eq(bring_up(), S_ACK | S_DRV | S_FEAT | S_OK);
	ck_assert(mmio_quiet(&dev));
	fake_pops = true;
	add_chain();
	ck_assert(!mmio_quiet(&dev)); /* a request waits in the ring */
	mmio_notify(&dev, 0, NULL);
	pthread_mutex_lock(&dev.lock);
	ck_assert_int_eq(mmio_push_used(&dev, 0, 0, 512), 0);
	dev.inflight = 1;
	pthread_mutex_unlock(&dev.lock);
	ck_assert(!mmio_quiet(&dev)); /* one in flight */
	pthread_mutex_lock(&dev.lock);
	dev.inflight = 0;
	pthread_mutex_unlock(&dev.lock);
	ck_assert(mmio_quiet(&dev));
	mmio_queue_busy(&dev, 0); /* polling: notifications off when the snapshot is taken */
	struct mmio_state s;
	mmio_save(&dev, &s);
	ck_assert_uint_eq(s.status, S_ACK | S_DRV | S_FEAT | S_OK);
	ck_assert_uint_eq(s.q[0].last_avail, 1);
	ck_assert_uint_eq(s.q[0].used_idx, 1);
	ck_assert_uint_eq(s.q[0].ready, 1);
	ck_assert_uint_eq(s.q[1].ready, 0);
	reopen();
	char err[200];
	ck_assert_int_eq(mmio_load(&dev, &s, err, sizeof(err)), 0);
	ck_assert_int_eq(n_activate, 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FEAT | S_OK);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 1);
	ck_assert_uint_eq(dev.q[0].vq.last_avail, 1);
	ck_assert_uint_eq(dev.q[0].vq.used_idx, 1);
	ck_assert_uint_eq(dev.features, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
	ck_assert_uint_eq(AVAIL_EVENT(), 1); /* notifications back on at the next index */
	/* The next request is the restored device's. */
	add_chain();
	mmio_notify(&dev, 0, NULL);
	ck_assert_uint_eq(dev.q[0].vq.last_avail, 2);
	/* A device the driver never set up restores as such. */
	reopen();
	struct mmio_state zero = { 0 };
	ck_assert_int_eq(mmio_load(&dev, &zero, err, sizeof(err)), 0);
	ck_assert_int_eq(n_activate, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
}
END_TEST

/* A snapshot's transport state is checked as the registers would be: features offered, queues valid. */
START_TEST(test_hostile_snapshot_state)
{
	ck_assert_uint_eq(bring_up(), S_ACK | S_DRV | S_FEAT | S_OK);
	struct mmio_state good, s;
	char err[200];
	mmio_save(&dev, &good);
	s = good;
	s.features |= VIRTIO_BIT(40); /* never offered */
	reopen();
	ck_assert_int_eq(mmio_load(&dev, &s, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "does not offer"));
	s = good;
	s.q[0].num = 48; /* not a power of two */
	reopen();
	ck_assert_int_eq(mmio_load(&dev, &s, err, sizeof(err)), -EINVAL);
	s = good;
	s.q[0].num = 128; /* above QueueNumMax */
	reopen();
	ck_assert_int_eq(mmio_load(&dev, &s, err, sizeof(err)), -EINVAL);
	s = good;
	s.q[0].device = GMEM - 8; /* used ring past guest memory */
	reopen();
	ck_assert_int_eq(mmio_load(&dev, &s, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "queue 0 is invalid"));
	s = good;
	s.q[3] = s.q[0]; /* a queue the device does not have */
	reopen();
	ck_assert_int_eq(mmio_load(&dev, &s, err, sizeof(err)), -EINVAL);
	s = good;
	s.status |= 0x1000; /* bits the spec does not define are dropped */
	reopen();
	ck_assert_int_eq(mmio_load(&dev, &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FEAT | S_OK);
}
END_TEST

/* Polling: a kick starts it, new chains extend it, a quiet window ends it with notifications back on. */
START_TEST(test_poll_window)
{
	ck_assert_uint_eq(bring_up(), S_ACK | S_DRV | S_FEAT | S_OK);
	fake_pops = true;
	ck_assert(!mmio_poll(&dev, 0, NULL, 0)); /* not polling before any activity */
	add_chain();
	mmio_notify(&dev, 0, NULL);
	ck_assert_uint_eq(dev.q[0].vq.last_avail, 1);
	ck_assert(dev.q[0].polling);
	uint64_t t = dev.q[0].poll_until - MMIO_POLL_NS;
	/* A chain added inside the window is found by polling, and extends it. */
	ck_assert(mmio_poll(&dev, 0, NULL, t + MMIO_POLL_NS / 2));
	add_chain();
	ck_assert(mmio_poll(&dev, 0, NULL, t + MMIO_POLL_NS - 1));
	ck_assert_uint_eq(dev.q[0].vq.last_avail, 2);
	ck_assert_uint_eq(dev.q[0].poll_until, t + MMIO_POLL_NS - 1 + MMIO_POLL_NS);
	/* Quiet for the whole window: notifications back on (kick at the next index), polling stops. */
	ck_assert(mmio_poll(&dev, 0, NULL, t + 2 * MMIO_POLL_NS - 2));
	ck_assert(!mmio_poll(&dev, 0, NULL, t + 2 * MMIO_POLL_NS));
	ck_assert(!dev.q[0].polling);
	ck_assert_uint_eq(AVAIL_EVENT(), 2);
	int before = n_notify;
	ck_assert(!mmio_poll(&dev, 0, NULL, t + 3 * MMIO_POLL_NS)); /* sleeping: no work done */
	ck_assert_int_eq(n_notify, before);
	/* Used entries pushed start a new window. */
	pthread_mutex_lock(&dev.lock);
	ck_assert_int_eq(vq_dev_push_used(&dev.q[0].vq, 0, 0), 0);
	mmio_used_pushed(&dev, 0);
	pthread_mutex_unlock(&dev.lock);
	ck_assert(dev.q[0].polling);
}
END_TEST

/* Without EVENT_IDX polling raises VIRTQ_USED_F_NO_NOTIFY and clears it when it stops. */
START_TEST(test_poll_flags)
{
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	features(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FEAT);
	queue(0, 64, 0x10000);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FEAT | S_OK);
	fake_pops = true;
	mmio_notify(&dev, 0, NULL);
	ck_assert_uint_eq(used16()[0], VIRTQ_USED_F_NO_NOTIFY);
	uint64_t t = dev.q[0].poll_until;
	ck_assert(!mmio_poll(&dev, 0, NULL, t));
	ck_assert_uint_eq(used16()[0], 0);
}
END_TEST

/* A chain that raced the re-enable is taken and keeps polling; one the device leaves does not. */
START_TEST(test_poll_race)
{
	ck_assert_uint_eq(bring_up(), S_ACK | S_DRV | S_FEAT | S_OK);
	fake_pops = true;
	mmio_notify(&dev, 0, NULL);
	uint64_t end = dev.q[0].poll_until;
	race_add = true; /* the chain lands after the poll pass looked: only the re-check sees it */
	ck_assert(mmio_poll(&dev, 0, NULL, end));
	ck_assert_int_eq(n_notify, 3);
	ck_assert_uint_eq(dev.q[0].vq.last_avail, 1);
	/* A device with no free slot leaves the chain: polling stops anyway (its completions come back). */
	fake_pops = false;
	add_chain();
	end = dev.q[0].poll_until;
	ck_assert(!mmio_poll(&dev, 0, NULL, end));
	ck_assert(!mmio_poll(&dev, 0, NULL, end + 1));
	ck_assert_uint_eq(dev.q[0].vq.last_avail, 1);
}
END_TEST

/* Polling ends with the device: FAILED, reset and shutdown stop it; it never spins past a window. */
START_TEST(test_hostile_poll_stops)
{
	ck_assert_uint_eq(bring_up(), S_ACK | S_DRV | S_FEAT | S_OK);
	fake_pops = true;
	mmio_notify(&dev, 0, NULL);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FEAT | S_OK | VIRTIO_STATUS_FAILED);
	int before = n_notify;
	ck_assert(!mmio_poll(&dev, 0, NULL, 0));
	ck_assert_int_eq(n_notify, before);
	wr(VIRTIO_MMIO_STATUS, 0);
	ck_assert(!dev.q[0].polling);
	ck_assert_uint_eq(bring_up(), S_ACK | S_DRV | S_FEAT | S_OK);
	mmio_notify(&dev, 0, NULL);
	pthread_mutex_lock(&dev.lock);
	dev.stopped = true;
	pthread_mutex_unlock(&dev.lock);
	ck_assert(!mmio_poll(&dev, 0, NULL, 0));
	ck_assert(!mmio_poll(&dev, 9, NULL, 0)); /* no such queue */
	ck_assert(!mmio_poll(&dev, MMIO_MAX_QUEUES + 1, NULL, 0));
}
END_TEST

START_TEST(test_limits_width)
{
	uint16_t h = 0xffff;
	uint8_t b = 0xff;
	uint64_t q = ~0ull;
	mmio_read(&dev, VIRTIO_MMIO_MAGIC_VALUE, &h, 2); /* registers are 32-bit only */
	ck_assert_uint_eq(h, 0);
	mmio_read(&dev, VIRTIO_MMIO_MAGIC_VALUE + 1, &b, 1);
	ck_assert_uint_eq(b, 0);
	mmio_read(&dev, VIRTIO_MMIO_MAGIC_VALUE, &q, 8);
	ck_assert_uint_eq(q, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_MAGIC_VALUE + 2), 0);
	ck_assert_uint_eq(rd(0x0f0), 0);           /* unknown register */
	ck_assert_uint_eq(rd(0x100 + 12), 0);      /* past config_size */
	ck_assert_uint_eq(rd(0x100 + 10), 0);      /* straddles the end */
	mmio_read(&dev, 0x100 + 9, &h, 2);         /* misaligned config read */
	ck_assert_uint_eq(h, 0);
	ck_assert_uint_eq(rd(0xffc), 0);
	ck_assert_uint_eq(rd(0x1000), 0);          /* beyond the window */
	mmio_read(&dev, 0xfff, &h, 2);
	ck_assert_uint_eq(h, 0);
	mmio_read(&dev, ~0ull - 1, &h, 2);         /* offset + len wraps */
	ck_assert_uint_eq(h, 0);
	mmio_read(&dev, 0, &q, 0);                 /* zero and oversized lengths are no-ops */
	mmio_read(&dev, 0, &q, 9);
	/* A 2-byte status write is ignored, so is an 8-byte one. */
	h = S_ACK;
	mmio_write(&dev, VIRTIO_MMIO_STATUS, &h, 2);
	q = S_ACK;
	mmio_write(&dev, VIRTIO_MMIO_STATUS, &q, 8);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
	wr(0x100, 5); /* read-only config */
	ck_assert_uint_eq(rd(0x100), 0x04030201);
	wr(0x0f0, 1); /* unknown register */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 77); /* no such queue, no fd */
}
END_TEST

START_TEST(test_hostile_features)
{
	wr(VIRTIO_MMIO_STATUS, S_ACK);
	features(VIRTIO_BIT(VIRTIO_F_VERSION_1)); /* before DRIVER: ignored */
	ck_assert_uint_eq(dev.drv_features, 0);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	/* A bit never offered: FEATURES_OK refused. */
	features(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FEAT);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV);
	/* Legacy driver (no VERSION_1): refused. */
	features(VIRTIO_BIT(F_TEST));
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FEAT);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV);
	/* Word 2 does not exist. */
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, ~0u);
	/* DRIVER_OK without FEATURES_OK: not set, device needs reset, nothing activated. */
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_OK);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_RESET);
	ck_assert_int_eq(n_activate, 0);
	/*
	 * FEATURES_OK and DRIVER_OK in one write (found by fuzzing): spec 3.1.1
	 * has the driver re-read FEATURES_OK and set up its queues in between, so
	 * no queue can be ready. FEATURES_OK is taken, DRIVER_OK refused, nothing
	 * activated.
	 */
	wr(VIRTIO_MMIO_STATUS, 0);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	features(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FEAT | S_OK);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FEAT | S_RESET);
	ck_assert_int_eq(n_activate, 0);
	ck_assert(!mmio_live(&dev));
	/* DRIVER_OK with FAILED in one write (found by fuzzing): the driver gave up, nothing is activated. */
	wr(VIRTIO_MMIO_STATUS, 0);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	features(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FEAT);
	queue(0, 64, 0x10000);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FEAT | S_OK | VIRTIO_STATUS_FAILED);
	ck_assert_int_eq(n_activate, 0);
	ck_assert(!mmio_live(&dev));
	/* Now correct: reset, then the good sequence; features are frozen after FEATURES_OK. */
	wr(VIRTIO_MMIO_STATUS, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
	ck_assert_uint_eq(bring_up(), S_ACK | S_DRV | S_FEAT | S_OK);
	features(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(F_TEST));
	ck_assert_uint_eq(dev.features, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
	/* Clearing bits without a reset is ignored; NEEDS_RESET cannot be set by the driver. */
	wr(VIRTIO_MMIO_STATUS, S_ACK);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FEAT | S_OK | S_RESET);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FEAT | S_OK);
	/* Garbage: undefined bits are dropped, FAILED sticks, the device stops. */
	wr(VIRTIO_MMIO_STATUS, 0xae9743bf);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FEAT | S_OK | VIRTIO_STATUS_FAILED);
	mmio_notify(&dev, 0, NULL);
	ck_assert_int_eq(n_notify, 0);
}
END_TEST

START_TEST(test_hostile_queue)
{
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	features(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	queue(0, 64, 0x10000); /* before FEATURES_OK */
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	ck_assert(rd(VIRTIO_MMIO_STATUS) & S_RESET);
	wr(VIRTIO_MMIO_STATUS, 0);

	static const uint32_t bad_num[] = { 0, 3, 48, 128, 65536 };
	for (unsigned i = 0; i < sizeof(bad_num) / sizeof(bad_num[0]); i++) {
		wr(VIRTIO_MMIO_STATUS, 0);
		wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
		features(VIRTIO_BIT(VIRTIO_F_VERSION_1));
		wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FEAT);
		queue(0, bad_num[i], 0x10000);
		ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
		ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), S_ACK | S_DRV | S_FEAT | S_RESET);
	}
	/* Rings outside guest RAM, misaligned rings. */
	static const uint64_t bad_gpa[] = { GMEM - 16, 0x10008, ~0ull - 0xfff, 1ull << 40 };
	for (unsigned i = 0; i < sizeof(bad_gpa) / sizeof(bad_gpa[0]); i++) {
		wr(VIRTIO_MMIO_STATUS, 0);
		wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
		features(VIRTIO_BIT(VIRTIO_F_VERSION_1));
		wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FEAT);
		queue(0, 16, bad_gpa[i]);
		ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
		ck_assert(rd(VIRTIO_MMIO_STATUS) & S_RESET);
	}
	/* Queue registers of a live queue cannot be changed. */
	wr(VIRTIO_MMIO_STATUS, 0);
	ck_assert_uint_eq(bring_up(), S_ACK | S_DRV | S_FEAT | S_OK);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(VIRTIO_MMIO_QUEUE_NUM, 8);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x40000);
	wr(VIRTIO_MMIO_QUEUE_READY, 0);
	ck_assert_uint_eq(dev.q[0].num, 64);
	ck_assert_uint_eq(dev.q[0].desc, 0x10000);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 1);
	wr(VIRTIO_MMIO_QUEUE_SEL, 1000);
	wr(VIRTIO_MMIO_QUEUE_NUM, 8); /* no such queue */
	ck_assert_uint_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
}
END_TEST

START_TEST(test_hostile_notify_early)
{
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
	features(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FEAT);
	mmio_notify(&dev, 0, NULL); /* queue not ready */
	queue(0, 64, 0x10000);
	mmio_notify(&dev, 0, NULL); /* ready, but no DRIVER_OK */
	ck_assert_int_eq(n_notify, 0);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FEAT | S_OK);
	mmio_notify(&dev, 0, NULL);
	ck_assert_int_eq(n_notify, 1);
	wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FEAT | S_OK | VIRTIO_STATUS_FAILED);
	mmio_notify(&dev, 0, NULL); /* FAILED */
	ck_assert_int_eq(n_notify, 1);
}
END_TEST

/* Status keeps only the bits spec 2.1 defines, whatever the driver writes, in every state. */
START_TEST(test_hostile_status_garbage)
{
	const uint32_t defined = S_ACK | S_DRV | S_FEAT | S_OK | S_RESET | VIRTIO_STATUS_FAILED;
	static const uint32_t fixed[] = { 0xae9743bf, 0xffffffff, 0xffffff00, 0x30, 0x40, 0x70, 0x80000000,
					  0x100, 0x0fffffff };
	uint32_t x = 0x12345678;
	for (unsigned state = 0; state < 5; state++)
		for (unsigned i = 0; i < sizeof(fixed) / sizeof(fixed[0]) + 200; i++) {
			wr(VIRTIO_MMIO_STATUS, 0);
			if (state >= 1)
				wr(VIRTIO_MMIO_STATUS, S_ACK);
			if (state >= 2) {
				wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV);
				features(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
			}
			if (state == 3)
				wr(VIRTIO_MMIO_STATUS, S_ACK | S_DRV | S_FEAT);
			if (state == 4)
				ck_assert_uint_eq(bring_up(), S_ACK | S_DRV | S_FEAT | S_OK);
			x = x * 1103515245u + 12345u;
			uint32_t g = i < sizeof(fixed) / sizeof(fixed[0]) ? fixed[i] : x;
			wr(VIRTIO_MMIO_STATUS, g);
			uint32_t st = rd(VIRTIO_MMIO_STATUS);
			ck_assert_msg(!(st & ~defined), "state %u: wrote 0x%x, status reads 0x%x", state, g, st);
			wr(VIRTIO_MMIO_STATUS, g); /* twice: a second write starts from the garbage state */
			st = rd(VIRTIO_MMIO_STATUS);
			ck_assert_msg(!(st & ~defined), "state %u: wrote 0x%x twice, status reads 0x%x", state, g, st);
		}
	wr(VIRTIO_MMIO_STATUS, 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
}
END_TEST

static volatile int reset_returned;

static void *do_reset(void *arg)
{
	(void)arg;
	wr(VIRTIO_MMIO_STATUS, 0);
	__atomic_store_n(&reset_returned, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

START_TEST(test_hostile_reset_inflight)
{
	ck_assert_uint_eq(bring_up(), S_ACK | S_DRV | S_FEAT | S_OK);
	pthread_mutex_lock(&dev.lock);
	dev.inflight = 2; /* two requests whose I/O has not completed */
	pthread_mutex_unlock(&dev.lock);
	reset_returned = 0;
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, do_reset, NULL), 0);
	struct timespec d = { 0, 50 * 1000 * 1000 };
	nanosleep(&d, NULL);
	ck_assert_int_eq(__atomic_load_n(&reset_returned, __ATOMIC_SEQ_CST), 0); /* still waiting */
	pthread_mutex_lock(&dev.lock);
	ck_assert(dev.resetting);
	ck_assert(!mmio_live(&dev)); /* completions must not touch the rings now */
	mmio_inflight_done(&dev);
	pthread_mutex_unlock(&dev.lock);
	nanosleep(&d, NULL);
	ck_assert_int_eq(__atomic_load_n(&reset_returned, __ATOMIC_SEQ_CST), 0);
	pthread_mutex_lock(&dev.lock);
	mmio_inflight_done(&dev);
	pthread_mutex_unlock(&dev.lock);
	pthread_join(t, NULL);
	ck_assert_int_eq(reset_returned, 1);
	ck_assert_int_eq(n_reset, 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
	ck_assert_uint_eq(dev.features, 0);
	ck_assert(!dev.q[0].ready);
	ck_assert_uint_eq(dev.q[0].desc, 0);
	/* The device comes back up after the reset. */
	ck_assert_uint_eq(bring_up(), S_ACK | S_DRV | S_FEAT | S_OK);
	ck_assert_int_eq(n_activate, 2);
}
END_TEST

static int stop_now;

static bool test_stop_check(void *ctx)
{
	ck_assert_ptr_eq(ctx, &stop_now);
	return __atomic_load_n(&stop_now, __ATOMIC_SEQ_CST);
}

/*
 * A reset waiting for requests that do not complete gives up once the stop
 * check says the VM is ending (ukvm_stop, the deadline): the vCPU thread
 * must not hang in it (one reset once blocked it 23.8 s). The reset stays
 * pending: the device is not live, and a later reset still waits.
 */
START_TEST(test_hostile_reset_gives_up_on_stop)
{
	ck_assert_uint_eq(bring_up(), S_ACK | S_DRV | S_FEAT | S_OK);
	mmio_set_stop_check(&dev, test_stop_check, &stop_now);
	pthread_mutex_lock(&dev.lock);
	dev.inflight = 1; /* a request whose I/O never completes */
	pthread_mutex_unlock(&dev.lock);
	stop_now = 0;
	reset_returned = 0;
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, do_reset, NULL), 0);
	nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
	ck_assert_int_eq(__atomic_load_n(&reset_returned, __ATOMIC_SEQ_CST), 0); /* waits while the VM runs */
	__atomic_store_n(&stop_now, 1, __ATOMIC_SEQ_CST);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_join(t, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	ck_assert_msg(ms < 200, "the reset returned %.0f ms after the stop", ms);
	ck_assert_int_eq(n_reset, 0);
	ck_assert(!mmio_live(&dev));
	wr(VIRTIO_MMIO_STATUS, 0); /* returns at once: still stopping */
	ck_assert_int_eq(n_reset, 0);
	pthread_mutex_lock(&dev.lock);
	mmio_inflight_done(&dev);
	pthread_mutex_unlock(&dev.lock);
	mmio_set_stop_check(&dev, NULL, NULL);
}
END_TEST

static int n_cancel, cancel_on_thread;

/* Cancels the one request "in flight": it completes at once, as a cancelled I/O would. */
static void fake_cancel(struct mmio_dev *d, struct io_uring *ring)
{
	ck_assert_ptr_nonnull(ring);
	__atomic_store_n(&cancel_on_thread, event_on_thread(d->loop), __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&n_cancel, 1, __ATOMIC_SEQ_CST);
	ck_assert(d->resetting);
	mmio_inflight_done(d); /* the transport holds the lock */
}

/*
 * A reset with requests in flight has the event thread cancel them
 * (dev_ops.cancel, IORING_OP_ASYNC_CANCEL for a disk) instead of only
 * waiting for their I/O: here nothing else would ever complete them.
 */
START_TEST(test_hostile_reset_cancels_inflight)
{
	struct event_loop loop;
	struct vq_mem m = { fake_map, NULL };
	static struct dev_ops cancel_ops;
	cancel_ops = fake_ops;
	cancel_ops.cancel = fake_cancel;
	mmio_destroy(&dev);
	ck_assert_int_eq(mmio_init(&dev, &cancel_ops, NULL, &m, news_fd, "fake"), 0);
	dev.warn_budget = 0;
	n_cancel = cancel_on_thread = 0;
	ck_assert_int_eq(event_init(&loop), 0);
	ck_assert_int_eq(mmio_attach(&dev, &loop), 0);
	ck_assert_int_eq(event_start(&loop, false), 0);
	ck_assert_uint_eq(bring_up(), S_ACK | S_DRV | S_FEAT | S_OK);
	wr(VIRTIO_MMIO_STATUS, 0); /* nothing in flight: nothing to cancel */
	ck_assert_int_eq(n_cancel, 0);
	ck_assert_uint_eq(bring_up(), S_ACK | S_DRV | S_FEAT | S_OK);
	pthread_mutex_lock(&dev.lock);
	dev.inflight = 1;
	pthread_mutex_unlock(&dev.lock);
	wr(VIRTIO_MMIO_STATUS, 0); /* before cancel: waited forever */
	ck_assert_int_eq(n_cancel, 1);
	ck_assert_int_eq(cancel_on_thread, 1);
	ck_assert_int_eq(n_reset, 2);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_STATUS), 0);
	event_free(&loop);
}
END_TEST

/*
 * The event thread re-arms a queue's notify read from its source without the
 * device lock; a reset must never change what it reads (it once zeroed the
 * fd with the queue, and a re-arm in that window read fd 0, host stdin). The
 * fd lives in the kick source, outside the state a reset clears: kicks racing
 * resets keep reaching the same eventfd, and the last one still notifies.
 */
START_TEST(test_hostile_reset_keeps_kick_fd)
{
	struct event_loop loop;
	ck_assert_int_eq(event_init(&loop), 0);
	ck_assert_int_eq(mmio_attach(&dev, &loop), 0);
	int fd0 = mmio_notify_fd(&dev, 0), fd1 = mmio_notify_fd(&dev, 1);
	ck_assert_int_ge(fd0, 0);
	ck_assert_int_ge(fd1, 0);
	ck_assert_int_eq(event_start(&loop, false), 0);
	for (int i = 0; i < 200; i++) {
		ck_assert_uint_eq(bring_up(), S_ACK | S_DRV | S_FEAT | S_OK);
		wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
		wr(VIRTIO_MMIO_STATUS, 0);
		ck_assert_int_eq(mmio_notify_fd(&dev, 0), fd0);
		ck_assert_int_eq(dev.kick[0].src.fd, fd0);
		ck_assert_int_eq(dev.kick[1].src.fd, fd1);
	}
	ck_assert_uint_eq(bring_up(), S_ACK | S_DRV | S_FEAT | S_OK);
	int before = __atomic_load_n(&n_notify, __ATOMIC_SEQ_CST);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	ck_assert_int_gt(wait_at_least(&n_notify, before + 1), before);
	event_free(&loop);
}
END_TEST

Suite *mmio_suite(void)
{
	Suite *s = suite_create("mmio");
	TCase *c = tcase_create("core"), *l = tcase_create("limits"), *h = tcase_create("hostile");
	tcase_add_checked_fixture(c, setup, teardown);
	tcase_add_checked_fixture(l, setup, teardown);
	tcase_add_checked_fixture(h, setup, teardown);
	tcase_add_test(c, test_ident);
	tcase_add_test(c, test_bring_up);
	tcase_add_test(c, test_start_on_event_thread);
	tcase_add_test(c, test_config);
	tcase_add_test(c, test_used_pushed);
	tcase_add_test(c, test_poll_window);
	tcase_add_test(c, test_poll_flags);
	tcase_add_test(c, test_poll_race);
	tcase_add_test(c, test_snapshot_state);
	tcase_add_test(h, test_hostile_snapshot_state);
	tcase_add_test(l, test_limits_width);
	tcase_add_test(h, test_hostile_features);
	tcase_add_test(h, test_hostile_queue);
	tcase_add_test(h, test_hostile_notify_early);
	tcase_add_test(h, test_hostile_status_garbage);
	tcase_add_test(h, test_hostile_poll_stops);
	tcase_add_test(h, test_hostile_reset_inflight);
	tcase_add_test(h, test_hostile_reset_keeps_kick_fd);
	tcase_add_test(h, test_hostile_reset_gives_up_on_stop);
	tcase_add_test(h, test_hostile_reset_cancels_inflight);
	suite_add_tcase(s, c);
	suite_add_tcase(s, l);
	suite_add_tcase(s, h);
	return s;
}
