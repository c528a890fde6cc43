/* eventfd.c: eventfd(2) files, a 64-bit counter that write adds to and read takes (all of it, or 1 with EFD_SEMAPHORE). */
#include <string.h>
#include "k.h"
#include "epoll.h"
#include "fs.h"
#include "sig.h"
#include "sys.h"
#include "thread.h"
#include "wait.h"

/*
 * Linux's fs/eventfd.c: the counter never reaches 2^64-1 (a write that
 * would pass 0xfffffffffffffffe blocks, or -EAGAIN); a read of 0 blocks
 * (or -EAGAIN). Transfers are exactly 8 bytes (shorter: -EINVAL; longer
 * moves 8). Every change wakes the counter's key, which is what the poll
 * hook names, so poll/select/epoll hear about it. A signal ends a blocked
 * read or write with ERESTARTSYS, as Linux's eventfd_read/write.
 */
#define EFD_MAX (~0ull - 1)

struct efd {
	uint64_t count;
	bool semaphore;
};

/* Blocks on the counter until it changes: 0, or -ERESTARTSYS for a signal. */
static long efd_wait(struct efd *e)
{
	long rc = k_wait_on(e, ~0u, K_WAIT_FOREVER, K_WAIT_INTR);
	return rc == -EINTR ? -K_ERESTARTSYS : 0;
}

static long efd_read(struct fs_file *f, void *buf, size_t len, uint64_t *off)
{
	struct efd *e = f->priv;
	(void)off;
	if (len < sizeof(uint64_t))
		return -EINVAL;
	while (e->count == 0) {
		if (f->flags & O_NONBLOCK)
			return -EAGAIN;
		long rc = efd_wait(e);
		if (rc)
			return rc;
	}
	/* The app may have unmapped the buffer while this thread slept. */
	if (!k_user_ok(buf, sizeof(uint64_t)))
		return -EFAULT;
	uint64_t v = e->semaphore ? 1 : e->count;
	e->count -= v;
	memcpy(buf, &v, sizeof(v));
	k_wait_wake(e, POLLOUT | POLLWRNORM, K_THR_ALL); /* room for writers; epoll items waiting for POLLIN need not look */
	return sizeof(v);
}

static long efd_write(struct fs_file *f, const void *buf, size_t len, uint64_t *off)
{
	struct efd *e = f->priv;
	uint64_t v;
	(void)off;
	if (len < sizeof(v))
		return -EINVAL;
	memcpy(&v, buf, sizeof(v));
	if (v == ~0ull)
		return -EINVAL;
	while (EFD_MAX - e->count < v) {
		if (f->flags & O_NONBLOCK)
			return -EAGAIN;
		long rc = efd_wait(e);
		if (rc)
			return rc;
	}
	e->count += v;
	k_wait_wake(e, POLLIN | POLLRDNORM, K_THR_ALL);
	return sizeof(v);
}

/* Linux's eventfd_poll: readable with a count, writable while 1 more fits. */
static uint32_t efd_poll(struct fs_file *f, const void **key)
{
	struct efd *e = f->priv;
	uint32_t mask = 0;
	*key = e;
	if (e->count)
		mask |= POLLIN | POLLRDNORM;
	if (e->count < EFD_MAX)
		mask |= POLLOUT | POLLWRNORM;
	return mask;
}

static void efd_release(struct fs_file *f)
{
	k_free(f->priv);
}

static const struct fs_file_ops efd_fops = {
	.anon_name = "[eventfd]",
	.read = efd_read,
	.write = efd_write,
	.poll = efd_poll,
	.release = efd_release,
};

/* eventfd2(initval, flags). */
long sys_eventfd2(SYS_ARGS)
{
	uint32_t flags = (uint32_t)a1;
	if (flags & ~(uint32_t)(LX_EFD_SEMAPHORE | LX_EFD_CLOEXEC | LX_EFD_NONBLOCK))
		return -EINVAL;
	struct efd *e = k_calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->count = (uint32_t)a0;
	e->semaphore = flags & LX_EFD_SEMAPHORE;
	int fd = fs_anon_fd(0600, &efd_fops, e, O_RDWR | (flags & O_NONBLOCK), flags & LX_EFD_CLOEXEC);
	if (fd < 0)
		k_free(e);
	return fd;
}

long sys_eventfd(SYS_ARGS)
{
	return sys_eventfd2(a0, 0, 0, 0, 0, 0);
}
