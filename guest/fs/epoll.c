/* epoll.c: epoll instances over the files' poll hooks: a ready list fed by wait-core callbacks, so a wait costs O(ready). */
#include "k.h"
#include "epoll.h"
#include "deadline.h"
#include "fs.h"
#include "sys.h"
#include "thread.h"
#include "wait.h"

/*
 * Each item (a file description and the fd it was added under, as in
 * Linux) keeps a callback waiter (wait.h) on the wait key its file's poll
 * hook names. A wake of that key means "the readiness may have changed":
 * the callback queues the item on its instance's ready list (once) and
 * wakes the instance's own key, where epoll_wait sleeps and where whoever
 * polls the epoll fd (poll, an outer epoll) listens. epoll_wait then asks
 * only the queued items' hooks, never the idle ones: a spurious wake costs
 * one hook call and is forgotten; a level-triggered item that was reported
 * goes back on the list, so the next call asks again (Linux's ep_send_events);
 * an edge-triggered one waits for its next wake; a one-shot one is disarmed
 * until EPOLL_CTL_MOD. Invariant: a thread blocks only after a scan emptied
 * the list of items that are not ready, so every wake that matters finds
 * its item off the list and wakes the instance.
 */

/* Linux's limits: nesting depth of epoll in epoll, and the most events one call may return. */
#define EP_MAX_NESTS  4
#define EP_MAX_EVENTS (0x7fffffff / (int)sizeof(struct epoll_event))

/* Which events EPOLLEXCLUSIVE may come with (Linux's EPOLLEXCLUSIVE_OK_BITS). */
#define EP_EXCLUSIVE_OK (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE)

struct ep_item;

/* One epoll instance: its items and the queued ones. Its own address is the key its waiters sleep on. */
struct ep {
	struct fs_file *file;                /* its own description (what outer instances watch) */
	struct ep_item *items;               /* every item, for close (doubly linked) */
	struct ep_item *rd_head, *rd_tail;   /* the ready list, oldest first */
	unsigned ninput;  /* items waiting on input from outside the VM (ep_item_count) */
	unsigned nnested; /* items that are epoll instances (asked when epoll_wait blocks) */
};

struct ep_item {
	struct ep *ep;
	struct fs_file *file; /* not a reference: the item goes when the file does (fs_epoll_file_gone) */
	int fd;
	uint32_t events;      /* as added (with EPOLLERR | EPOLLHUP); EP_PRIVATE_BITS only while one-shot disarmed */
	uint64_t data;
	struct k_waiter w;    /* on the file's wait key */
	struct ep_item *next, *prev;        /* in ep->items */
	struct ep_item *f_next;             /* in file->ep_items */
	struct ep_item *rd_next, *rd_prev;  /* in ep->rd_head's list while queued */
	bool queued;
};

static const struct fs_file_ops ep_fops;

static bool ep_is_epoll(const struct fs_file *f)
{
	return f->ops == &ep_fops;
}

static void ep_rd_push(struct ep *ep, struct ep_item *it)
{
	it->rd_next = NULL;
	it->rd_prev = ep->rd_tail;
	if (ep->rd_tail)
		ep->rd_tail->rd_next = it;
	else
		ep->rd_head = it;
	ep->rd_tail = it;
	it->queued = true;
}

static void ep_rd_remove(struct ep *ep, struct ep_item *it)
{
	if (it->rd_prev)
		it->rd_prev->rd_next = it->rd_next;
	else
		ep->rd_head = it->rd_next;
	if (it->rd_next)
		it->rd_next->rd_prev = it->rd_prev;
	else
		ep->rd_tail = it->rd_prev;
	it->rd_next = it->rd_prev = NULL;
	it->queued = false;
}

/* Queues it (once) and tells the instance's waiters. */
static void ep_item_queue(struct ep_item *it)
{
	if (it->queued)
		return; /* its waiters were told when it was queued */
	ep_rd_push(it->ep, it);
	k_wait_wake(it->ep, ~0u, K_THR_ALL);
}

/* The wait-core callback on the item's file key: its readiness may have changed. */
static void ep_item_wake(struct k_waiter *w)
{
	struct ep_item *it = w->ctx;
	if (!(it->events & ~EP_PRIVATE_BITS))
		return; /* a disarmed one-shot item hears nothing until EPOLL_CTL_MOD */
	ep_item_queue(it);
}

/*
 * Which wakes the item hears: a file that wakes its key with the POLL*
 * bits of what changed (eventfd: POLLIN on a write, POLLOUT on a read)
 * reaches only the items asking for them, as Linux's ep_poll_callback
 * filters by the wake's key; most files wake with ~0u, which meets all.
 */
static uint32_t ep_wake_bits(const struct ep_item *it)
{
	return it->events & ~(uint32_t)EP_PRIVATE_BITS;
}

/*
 * The item's events that hold now. Also follows the file's wait key should
 * the hook name a new one (the hooks keep one key for a file's life; this
 * only makes a change harmless for items the scan looks at).
 */
static uint32_t ep_item_poll(struct ep_item *it)
{
	const void *key;
	uint32_t mask = fs_file_poll(it->file, &key) & it->events;
	if (key != it->w.key || !it->w.pprev) {
		k_wait_del(&it->w);
		if (key)
			k_wait_add(&it->w, key, ep_wake_bits(it), ep_item_wake, it);
	}
	return mask;
}

/* The item's events that ask for input (an armed item's; a disarmed one-shot keeps only private bits). */
#define EP_INPUT_EVENTS (EPOLLIN | EPOLLRDNORM | EPOLLPRI)

/*
 * Counts it in (d 1) or out (d -1) of its instance's ninput/nnested, as
 * its events are now: call with -1 before its events change or it goes,
 * with 1 after they changed, so epoll_wait knows without a scan whether it
 * waits on input from outside (fs_file_awaits_input).
 */
static void ep_item_count(struct ep_item *it, int d)
{
	if (ep_is_epoll(it->file))
		it->ep->nnested += (unsigned)d;
	else if ((it->file->ops->caps & FS_CAP_INPUT) && (it->events & EP_INPUT_EVENTS))
		it->ep->ninput += (unsigned)d;
}

/* fs_file_awaits_input, depth levels of epoll down (Linux's nesting limit bounds it). */
static bool ep_awaits_input(const struct fs_file *f, uint32_t events, int depth)
{
	if (!(events & EP_INPUT_EVENTS))
		return false;
	if (f->ops->caps & FS_CAP_INPUT)
		return true;
	if (!ep_is_epoll(f) || depth > EP_MAX_NESTS)
		return false;
	const struct ep *ep = f->priv;
	if (ep->ninput)
		return true;
	for (const struct ep_item *it = ep->nnested ? ep->items : NULL; it; it = it->next)
		if (ep_is_epoll(it->file) && ep_awaits_input(it->file, it->events, depth + 1))
			return true;
	return false;
}

bool fs_file_awaits_input(const struct fs_file *f, uint32_t events)
{
	return f && ep_awaits_input(f, events, 0);
}

static void ep_item_free(struct ep_item *it)
{
	struct ep *ep = it->ep;
	ep_item_count(it, -1);
	k_wait_del(&it->w);
	if (it->queued)
		ep_rd_remove(ep, it);
	if (it->prev)
		it->prev->next = it->next;
	else
		ep->items = it->next;
	if (it->next)
		it->next->prev = it->prev;
	struct ep_item **pp = &it->file->ep_items;
	while (*pp != it)
		pp = &(*pp)->f_next;
	*pp = it->f_next;
	k_free(it);
}

void fs_epoll_file_gone(struct fs_file *f)
{
	while (f->ep_items)
		ep_item_free(f->ep_items);
}

/*
 * Moves up to max ready events into ev (the app's checked array): each
 * queued item is asked once; what is not ready leaves the list. Returns how
 * many were written.
 */
static int ep_collect(struct ep *ep, struct epoll_event *ev, int max)
{
	/* Take the list: a level-triggered item goes back at the tail, so this pass sees each item once. */
	struct ep_item *it = ep->rd_head;
	ep->rd_head = ep->rd_tail = NULL;
	int n = 0;
	while (it && n < max) {
		struct ep_item *next = it->rd_next;
		it->queued = false;
		it->rd_next = it->rd_prev = NULL;
		if (next)
			next->rd_prev = NULL;
		uint32_t mask = ep_item_poll(it);
		if (mask) {
			ev[n].events = mask;
			ev[n].data = it->data;
			n++;
			if (it->events & EPOLLONESHOT) {
				ep_item_count(it, -1);
				it->events &= EP_PRIVATE_BITS;
				ep_item_count(it, 1);
			}
			else if (!(it->events & EPOLLET))
				ep_rd_push(ep, it);
		}
		it = next;
	}
	/* What was not looked at stays first in line, ahead of the re-queued ones. */
	if (it) {
		struct ep_item *last = it;
		while (last->rd_next)
			last = last->rd_next;
		last->rd_next = ep->rd_head;
		if (ep->rd_head)
			ep->rd_head->rd_prev = last;
		else
			ep->rd_tail = last;
		ep->rd_head = it;
	}
	return n;
}

/*
 * The epoll fd itself polled (poll, select, an outer epoll): readable when
 * a queued item is ready. Items found not ready leave the list here too, so
 * their next wake tells this poller (the invariant above).
 */
static uint32_t ep_poll(struct fs_file *f, const void **key)
{
	struct ep *ep = f->priv;
	*key = ep;
	for (struct ep_item *it = ep->rd_head, *next; it; it = next) {
		next = it->rd_next;
		if (ep_item_poll(it))
			return POLLIN | POLLRDNORM;
		ep_rd_remove(ep, it);
	}
	return 0;
}

static void ep_release(struct fs_file *f)
{
	struct ep *ep = f->priv;
	while (ep->items)
		ep_item_free(ep->items);
	k_free(ep);
}

/* No read or write: Linux's eventpoll_fops has neither (-EINVAL). */
static const struct fs_file_ops ep_fops = {
	.anon_name = "[eventpoll]",
	.poll = ep_poll,
	.release = ep_release,
};

static long ep_create(bool cloexec)
{
	struct ep *ep = k_calloc(1, sizeof(*ep));
	if (!ep)
		return -ENOMEM;
	int fd = fs_anon_fd(0600, &ep_fops, ep, O_RDWR, cloexec);
	if (fd < 0) {
		k_free(ep);
		return fd;
	}
	ep->file = fs_fd_file(fd);
	return fd;
}

/* epoll_create(size): size is a hint Linux ignores, but it must be positive. */
long sys_epoll_create(SYS_ARGS)
{
	if ((int)a0 <= 0)
		return -EINVAL;
	return ep_create(false);
}

long sys_epoll_create1(SYS_ARGS)
{
	if ((int)a0 & ~EPOLL_CLOEXEC)
		return -EINVAL;
	return ep_create((int)a0 & EPOLL_CLOEXEC);
}

/* How deep ep sits inside other instances (0: in none), stopping past the limit. */
static int ep_depth_up(const struct ep *ep, int depth)
{
	int max = depth;
	if (depth > EP_MAX_NESTS)
		return depth;
	for (const struct ep_item *it = ep->file->ep_items; it; it = it->f_next) {
		int d = ep_depth_up(it->ep, depth + 1);
		if (d > max)
			max = d;
	}
	return max;
}

/*
 * True when target can be reached from ep through nested epoll items, or
 * the nesting is deeper than Linux allows (ep_loop_check: the depth counts
 * from the top of the tree target sits in). Besides Linux's answers, this
 * bounds the recursion of the wake callbacks (ep_item_queue) on the kernel stack.
 */
static bool ep_reaches(const struct ep *ep, const struct ep *target, int depth)
{
	if (depth > EP_MAX_NESTS)
		return true;
	for (const struct ep_item *it = ep->items; it; it = it->next) {
		if (!ep_is_epoll(it->file))
			continue;
		const struct ep *in = it->file->priv;
		if (in == target || ep_reaches(in, target, depth + 1))
			return true;
	}
	return false;
}

static struct ep_item *ep_find(struct ep *ep, struct fs_file *tf, int fd)
{
	for (struct ep_item *it = tf->ep_items; it; it = it->f_next)
		if (it->ep == ep && it->fd == fd)
			return it;
	return NULL;
}

/* The item reports what holds now: a ready file is queued at once (Linux's ep_insert/ep_modify). */
static void ep_item_arm(struct ep_item *it)
{
	if (ep_item_poll(it))
		ep_item_queue(it);
}

static long ep_insert(struct ep *ep, struct fs_file *tf, int fd, const struct epoll_event *e)
{
	if (ep_is_epoll(tf) && ep_reaches(tf->priv, ep, ep_depth_up(ep, 0) + 1))
		return -ELOOP;
	struct ep_item *it = k_calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->ep = ep;
	it->file = tf;
	it->fd = fd;
	it->events = e->events;
	it->data = e->data;
	it->next = ep->items;
	if (ep->items)
		ep->items->prev = it;
	ep->items = it;
	it->f_next = tf->ep_items;
	tf->ep_items = it;
	ep_item_count(it, 1);
	ep_item_arm(it);
	return 0;
}

/* epoll_ctl(epfd, op, fd, event), with Linux's checks in Linux's order (do_epoll_ctl). */
long sys_epoll_ctl(SYS_ARGS)
{
	int op = (int)a1, fd = (int)a2;
	struct epoll_event e = { 0 };
	if (op != EPOLL_CTL_DEL) {
		if (!k_user_ok((const void *)a3, sizeof(e)))
			return -EFAULT;
		e = *(const struct epoll_event *)a3;
	}
	struct fs_file *f = fs_fd_file((int)a0), *tf = fs_fd_file(fd);
	if (!f || !tf || (f->flags & O_PATH) || (tf->flags & O_PATH))
		return -EBADF;
	if (!tf->ops->poll)
		return -EPERM; /* regular files and directories cannot be polled */
	if (f == tf || !ep_is_epoll(f))
		return -EINVAL;
	if (e.events & EPOLLEXCLUSIVE) {
		if (op == EPOLL_CTL_MOD)
			return -EINVAL;
		if (op == EPOLL_CTL_ADD && (ep_is_epoll(tf) || (e.events & ~EP_EXCLUSIVE_OK)))
			return -EINVAL;
	}
	struct ep *ep = f->priv;
	struct ep_item *it = ep_find(ep, tf, fd);
	e.events |= EPOLLERR | EPOLLHUP; /* always reported, asked or not */
	switch (op) {
	case EPOLL_CTL_ADD:
		return it ? -EEXIST : ep_insert(ep, tf, fd, &e);
	case EPOLL_CTL_DEL:
		if (!it)
			return -ENOENT;
		ep_item_free(it);
		return 0;
	case EPOLL_CTL_MOD:
		if (!it)
			return -ENOENT;
		if (it->events & EPOLLEXCLUSIVE)
			return -EINVAL;
		ep_item_count(it, -1);
		it->events = e.events;
		ep_item_count(it, 1);
		it->data = e.data;
		it->w.bits = ep_wake_bits(it);
		ep_item_arm(it);
		return 0;
	default:
		return -EINVAL;
	}
}

/*
 * The wait of epoll_wait and friends: collects, and with nothing ready
 * sleeps on the instance's key until an item's wake, the deadline (then
 * one last look, as Linux) or a signal (-EINTR: epoll_wait is never
 * restarted, signal(7)).
 */
static long ep_wait_on(long epfd, long uev, long maxevents, uint64_t deadline)
{
	struct epoll_event *ev = (struct epoll_event *)uev;
	if (maxevents <= 0 || maxevents > EP_MAX_EVENTS)
		return -EINVAL;
	if (!k_user_ok(ev, (size_t)maxevents * sizeof(*ev)))
		return -EFAULT;
	struct fs_file *f = fs_fd_file((int)epfd);
	if (!f || (f->flags & O_PATH))
		return -EBADF;
	if (!ep_is_epoll(f))
		return -EINVAL;
	fs_file_get(f); /* another thread may close epfd meanwhile: the instance lives until this call ends */
	struct ep *ep = f->priv;
	bool last = false;
	long rc;
	for (;;) {
		/* Another thread may have unmapped the array while this one slept. */
		if (!k_user_ok(ev, (size_t)maxevents * sizeof(*ev))) {
			rc = -EFAULT;
			break;
		}
		rc = ep_collect(ep, ev, (int)maxevents);
		if (rc || last || deadline <= k_clock_monotonic_ns())
			break;
		/* Watching fd 0 or an inet socket for input: the VM is idle if nothing else runs. */
		long b = k_wait_on(ep, ~0u, deadline, K_WAIT_INTR | (fs_file_awaits_input(f, EPOLLIN) ? K_WAIT_INPUT : 0));
		if (b == -EINTR) {
			rc = -EINTR;
			break;
		}
		last = b == -ETIMEDOUT;
	}
	fs_file_put(f);
	return rc;
}

/* The sigmask argument first, as Linux's do_epoll_pwait: a bad one fails before anything else is looked at. */
static long ep_wait(long epfd, long uev, long maxevents, uint64_t deadline, const uint64_t *mask, size_t masksize)
{
	uint64_t old;
	long rc = poll_mask_set(mask, masksize, &old);
	if (rc)
		return rc;
	rc = ep_wait_on(epfd, uev, maxevents, deadline);
	poll_mask_restore(mask, old, rc);
	return rc;
}

/* A timeout in ms as epoll_wait takes it: negative waits forever, 0 never. */
static uint64_t ep_ms_deadline(long ms)
{
	return (int)ms < 0 ? K_WAIT_FOREVER : k_deadline_after((uint64_t)(int)ms * 1000000u);
}

long sys_epoll_wait(SYS_ARGS)
{
	return ep_wait(a0, a1, (int)a2, ep_ms_deadline(a3), NULL, 0);
}

/* epoll_pwait(epfd, events, maxevents, timeout, sigmask, sigsetsize): the mask holds for the wait, as ppoll's. */
long sys_epoll_pwait(SYS_ARGS)
{
	return ep_wait(a0, a1, (int)a2, ep_ms_deadline(a3), (const uint64_t *)a4, (size_t)a5);
}

/* epoll_pwait2: the same with a timespec timeout (NULL: forever), which Linux does not write back. */
long sys_epoll_pwait2(SYS_ARGS)
{
	uint64_t deadline;
	long rc = k_ts_deadline((const struct lx_timespec *)a3, &deadline);
	if (rc)
		return rc;
	return ep_wait(a0, a1, (int)a2, deadline, (const uint64_t *)a4, (size_t)a5);
}
