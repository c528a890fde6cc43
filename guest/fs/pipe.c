/* pipe.c: in-kernel pipes and named pipes (FIFOs), a 64 KiB ring buffer between read ends and write ends. */
#include <string.h>
#include "k.h"
#include "fs.h"
#include "sig.h"
#include "thread.h"
#include "wait.h"

/*
 * Blocking: a read of an empty pipe whose write end is open, or a write to
 * a full pipe, blocks the thread (k_wait_on the pipe) while other app
 * threads exist that could make progress; every change wakes the pipe's
 * waiters, which re-check. When every thread ends up blocked forever the
 * scheduler stops the app as deadlocked. A lone thread could never be
 * woken, so it gets -EAGAIN as for O_NONBLOCK rather than hang the VM; a
 * write that fits partly returns the short count, which a blocking writer
 * sees as progress and retries. Writes of at most PIPE_BUF bytes are
 * all-or-nothing as POSIX requires.
 *
 * A signal for a blocked thread ends its wait with ERESTARTSYS: SA_RESTART
 * handlers restart the call, others see EINTR. A write with no reader
 * returns -EPIPE without raising SIGPIPE.
 *
 * A FIFO is a node whose pipe exists while some file has it open (the
 * data goes with the last close, as on Linux). Its open follows Linux's
 * fifo_open: O_RDWR never waits; a reader waits for a writer unless
 * O_NONBLOCK; a writer waits for a reader, or with O_NONBLOCK fails ENXIO
 * when there is none. A wait ends when the other side's open count moves,
 * so a partner that came and went already still releases it.
 */
#define PIPE_BUF_ATOMIC 4096

struct fs_pipe {
	uint8_t *buf;
	uint32_t head; /* index of the oldest byte */
	uint32_t len;  /* bytes buffered */
	uint32_t readers, writers;
	uint32_t r_counter, w_counter; /* opens of each side so far (a FIFO open waits for a change) */
};

static const struct fs_file_ops pipe_fops;

/* Whether f is a read end / a write end (an O_RDWR FIFO file is both). */
static bool pipe_reads(const struct fs_file *f)
{
	return (f->flags & O_ACCMODE) != O_WRONLY;
}

static bool pipe_writes(const struct fs_file *f)
{
	return (f->flags & O_ACCMODE) != O_RDONLY;
}

/* An empty pipe with its buffer, no ends; NULL when out of memory. */
static struct fs_pipe *pipe_alloc(void)
{
	struct fs_pipe *p = k_calloc(1, sizeof(*p));
	uint8_t *buf = k_malloc(FS_PIPE_SIZE);
	if (!p || !buf) {
		k_free(p);
		k_free(buf);
		return NULL;
	}
	p->buf = buf;
	return p;
}

int fs_pipe_new(uint32_t flags, struct fs_file **rd, struct fs_file **wr)
{
	struct fs_node *n = fs_node_new(S_IFIFO | 0600, &pipe_fops);
	struct fs_pipe *p = pipe_alloc();
	struct fs_file *r = NULL, *w = NULL;
	if (!n || !p)
		goto err;
	p->r_counter = p->w_counter = 1; /* as Linux's get_pipe_inode: a pipe's reader has seen its writer */
	n->pipe = p;
	n->st_dev = FS_DEV_PIPE;
	r = fs_file_new(n, O_RDONLY | flags);
	if (!r)
		goto err;
	p->readers = 1;
	w = fs_file_new(n, O_WRONLY | flags);
	if (!w)
		goto err_r;
	p->writers = 1;
	*rd = r;
	*wr = w;
	return 0;
err_r:
	fs_file_put(r); /* the only end and the last reference to n: frees p, buf and n */
	return -ENOMEM;
err:
	if (p)
		k_free(p->buf);
	k_free(p);
	k_free(n);
	return -ENOMEM;
}

struct fs_node *fs_fifo_new(uint32_t mode)
{
	return fs_node_new(mode, &pipe_fops);
}

/* One end goes: the other side learns it (EOF, EPIPE, a hang-up); the last end frees the buffer. */
static void pipe_drop(struct fs_node *n, bool rd, bool wr)
{
	struct fs_pipe *p = n->pipe;
	if (rd)
		p->readers--;
	if (wr)
		p->writers--;
	k_wait_wake(p, ~0u, K_THR_ALL); /* a blocked reader sees EOF, a blocked writer EPIPE, poll a hang-up */
	if (p->readers || p->writers)
		return;
	k_free(p->buf);
	k_free(p);
	n->pipe = NULL;
}

/* Waits until *count is nonzero or *counter moves past seen: 0, or -ERESTARTSYS for a signal. */
static int fifo_wait(struct fs_pipe *p, const uint32_t *count, const uint32_t *counter, uint32_t seen)
{
	while (*count == 0 && *counter == seen) {
		long rc = k_wait_on(p, ~0u, K_WAIT_FOREVER, K_WAIT_INTR);
		if (rc < 0)
			return rc == -EINTR ? -K_ERESTARTSYS : (int)rc;
	}
	return 0;
}

static int fifo_open(struct fs_file *f)
{
	struct fs_node *n = f->node;
	bool rd = pipe_reads(f), wr = pipe_writes(f), nb = f->flags & O_NONBLOCK;
	/* Linux: a non-blocking writer with nobody reading fails before it counts as a writer. */
	if (wr && !rd && nb && (!n->pipe || !n->pipe->readers))
		return -ENXIO;
	if (!n->pipe && !(n->pipe = pipe_alloc()))
		return -ENOMEM;
	struct fs_pipe *p = n->pipe;
	uint32_t seen_r = p->r_counter, seen_w = p->w_counter;
	if (rd) {
		p->readers++;
		p->r_counter++;
	}
	if (wr) {
		p->writers++;
		p->w_counter++;
	}
	k_wait_wake(p, ~0u, K_THR_ALL); /* the other side's opens waiting for us */
	int rc = 0;
	if (rd && !wr && nb)
		f->priv = (void *)(uintptr_t)p->w_counter; /* no hang-up until a writer comes and goes (pipe_poll) */
	else if (rd && !wr)
		rc = fifo_wait(p, &p->writers, &p->w_counter, seen_w);
	else if (wr && !rd)
		rc = fifo_wait(p, &p->readers, &p->r_counter, seen_r);
	if (rc)
		pipe_drop(n, rd, wr);
	return rc;
}

static long pipe_read(struct fs_file *f, void *buf, size_t len, uint64_t *off)
{
	struct fs_pipe *p = f->node->pipe;
	(void)off; /* a stream: the VFS refused pread */
	if (len == 0)
		return 0;
	while (p->len == 0) {
		if (!p->writers)
			return 0;
		if ((f->flags & O_NONBLOCK) || k_thr_count() < 2)
			return -EAGAIN;
		long rc = k_wait_on(p, ~0u, K_WAIT_FOREVER, K_WAIT_INTR);
		if (rc < 0) /* only a signal ends a wait forever: restartable, like Linux's pipe_read/pipe_write */
			return rc == -EINTR ? -K_ERESTARTSYS : rc;
	}
	size_t n = len < p->len ? len : p->len;
	size_t first = FS_PIPE_SIZE - p->head;
	if (first > n)
		first = n;
	memcpy(buf, p->buf + p->head, first);
	memcpy((uint8_t *)buf + first, p->buf, n - first);
	p->head = (uint32_t)((p->head + n) % FS_PIPE_SIZE);
	p->len -= (uint32_t)n;
	f->node->atime = k_clock_realtime_ns();
	/* Only room appeared: an edge-triggered reader must not hear it (Linux wakes with EPOLLOUT here). */
	k_wait_wake(p, POLLOUT | POLLWRNORM, K_THR_ALL);
	return (long)n;
}

/* Copies up to len bytes into the ring and wakes readers; returns how many fit. */
static size_t pipe_put(struct fs_file *f, struct fs_pipe *p, const uint8_t *buf, size_t len)
{
	size_t space = FS_PIPE_SIZE - p->len;
	size_t n = len < space ? len : space;
	size_t tail = (p->head + p->len) % FS_PIPE_SIZE;
	size_t first = FS_PIPE_SIZE - tail;
	if (first > n)
		first = n;
	memcpy(p->buf + tail, buf, first);
	memcpy(p->buf, buf + first, n - first);
	p->len += (uint32_t)n;
	fs_node_touch(f->node);
	k_wait_wake(p, POLLIN | POLLRDNORM, K_THR_ALL);
	return n;
}

/*
 * Like Linux, a blocking write returns only when all of it is in the pipe
 * (writes up to PIPE_BUF_ATOMIC in one piece); it ends early with what was
 * written when it cannot wait any more: O_NONBLOCK, no other thread to
 * drain the pipe, a signal, or the readers gone.
 */
static long pipe_write(struct fs_file *f, const void *buf, size_t len, uint64_t *off)
{
	struct fs_pipe *p = f->node->pipe;
	(void)off;
	const uint8_t *b = buf;
	size_t done = 0;
	if (p->readers == 0)
		return -EPIPE;
	if (len == 0)
		return 0;
	for (;;) {
		size_t space = FS_PIPE_SIZE - p->len;
		bool atomic = len <= PIPE_BUF_ATOMIC;
		if (space && (!atomic || space >= len)) {
			done += pipe_put(f, p, b + done, len - done);
			if (done == len || (f->flags & O_NONBLOCK))
				return (long)done;
			continue; /* the rest waits for room below */
		}
		if ((f->flags & O_NONBLOCK) || k_thr_count() < 2)
			return done ? (long)done : -EAGAIN;
		long rc = k_wait_on(p, ~0u, K_WAIT_FOREVER, K_WAIT_INTR);
		if (rc < 0) /* only a signal ends a wait forever: restartable, like Linux's pipe_read/pipe_write */
			return done ? (long)done : (rc == -EINTR ? -K_ERESTARTSYS : rc);
		if (p->readers == 0)
			return done ? (long)done : -EPIPE;
	}
}

static long pipe_ioctl(struct fs_file *f, unsigned long req, long arg)
{
	int *ip = (int *)arg;
	if (!f->node->pipe || (f->flags & O_PATH))
		return -EBADF; /* an O_PATH file of a FIFO */
	if (req != FIONREAD)
		return -ENOTTY;
	if (!k_user_ok(ip, sizeof(int)))
		return -EFAULT;
	*ip = (int)f->node->pipe->len;
	return 0;
}

/*
 * Linux's pipe_poll: the read end is readable with data buffered and hung up
 * once no writer is left; the write end is writable with room for an atomic
 * write (PIPE_BUF) and in error once no reader is left. Every change of
 * these wakes the pipe's key. A FIFO reader opened O_NONBLOCK hears no
 * hang-up before a writer has come (the w_counter it saw, in priv).
 */
static uint32_t pipe_poll(struct fs_file *f, const void **key)
{
	struct fs_pipe *p = f->node->pipe;
	uint32_t mask = 0;
	if (!p || (f->flags & O_PATH))
		return FS_POLL_DEFAULT; /* an O_PATH file of a FIFO: Linux's empty file operations */
	*key = p;
	if (pipe_reads(f)) {
		if (p->len)
			mask |= POLLIN | POLLRDNORM;
		if (!p->writers && (uint32_t)(uintptr_t)f->priv != p->w_counter)
			mask |= POLLHUP;
	}
	if (pipe_writes(f)) {
		if (FS_PIPE_SIZE - p->len >= PIPE_BUF_ATOMIC)
			mask |= POLLOUT | POLLWRNORM;
		if (!p->readers)
			mask |= POLLERR;
	}
	return mask;
}

static void pipe_release(struct fs_file *f)
{
	if (!(f->flags & O_PATH))
		pipe_drop(f->node, pipe_reads(f), pipe_writes(f));
}

/* Pipes and FIFOs alike: a pipe opened again through /proc/self/fd opens as a FIFO does, as on Linux. */
static const struct fs_file_ops pipe_fops = {
	.caps = FS_CAP_GATHER,
	.read = pipe_read,
	.write = pipe_write,
	.ioctl = pipe_ioctl,
	.poll = pipe_poll,
	.open = fifo_open,
	.release = pipe_release,
};

long fs_pipe_size(const struct fs_file *f)
{
	return f->ops == &pipe_fops ? (long)FS_PIPE_SIZE : -EBADF;
}
