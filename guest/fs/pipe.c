/* pipe.c: in-kernel pipes, a 64 KiB ring buffer between a read end and a write end. */
#include <string.h>
#include "k.h"
#include "fs.h"

/*
 * Blocking: the guest runs one app thread and k.h offers no way to wait for
 * another thread, so a read of an empty pipe whose write end is still open,
 * or a write to a full pipe, could never complete. Rather than hang the VM
 * forever (what Linux would do to a lone thread) we return -EAGAIN, as for
 * O_NONBLOCK; a write that fits partly returns the short count, which a
 * blocking writer sees as progress and retries. Writes of at most PIPE_BUF
 * bytes are all-or-nothing as POSIX requires.
 *
 * No signals: a write with no reader returns -EPIPE without raising SIGPIPE.
 */
#define PIPE_BUF_ATOMIC 4096

struct fs_pipe {
	uint8_t *buf;
	uint32_t head; /* index of the oldest byte */
	uint32_t len;  /* bytes buffered */
	uint32_t readers, writers;
};

int fs_pipe_new(uint32_t flags, struct fs_file **rd, struct fs_file **wr)
{
	struct fs_node *n = fs_node_new(S_IFIFO | 0600);
	struct fs_pipe *p = k_calloc(1, sizeof(*p));
	uint8_t *buf = k_malloc(FS_PIPE_SIZE);
	struct fs_file *r = NULL, *w = NULL;
	if (!n || !p || !buf)
		goto err;
	p->buf = buf;
	n->pipe = p;
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
	fs_file_put(r); /* last reference to n: frees n, p and buf */
	return -ENOMEM;
err:
	k_free(buf);
	k_free(p);
	if (n)
		n->pipe = NULL;
	k_free(n);
	return -ENOMEM;
}

long fs_pipe_read(struct fs_file *f, void *buf, size_t len)
{
	struct fs_pipe *p = f->node->pipe;
	if (len == 0)
		return 0;
	if (p->len == 0)
		return p->writers ? -EAGAIN : 0;
	size_t n = len < p->len ? len : p->len;
	size_t first = FS_PIPE_SIZE - p->head;
	if (first > n)
		first = n;
	memcpy(buf, p->buf + p->head, first);
	memcpy((uint8_t *)buf + first, p->buf, n - first);
	p->head = (uint32_t)((p->head + n) % FS_PIPE_SIZE);
	p->len -= (uint32_t)n;
	f->node->atime = k_realtime_ns();
	return (long)n;
}

long fs_pipe_write(struct fs_file *f, const void *buf, size_t len)
{
	struct fs_pipe *p = f->node->pipe;
	if (p->readers == 0)
		return -EPIPE;
	if (len == 0)
		return 0;
	size_t space = FS_PIPE_SIZE - p->len;
	if (space == 0 || (len <= PIPE_BUF_ATOMIC && space < len))
		return -EAGAIN;
	size_t n = len < space ? len : space;
	size_t tail = (p->head + p->len) % FS_PIPE_SIZE;
	size_t first = FS_PIPE_SIZE - tail;
	if (first > n)
		first = n;
	memcpy(p->buf + tail, buf, first);
	memcpy(p->buf, (const uint8_t *)buf + first, n - first);
	p->len += (uint32_t)n;
	fs_node_touch(f->node);
	return (long)n;
}

uint32_t fs_pipe_avail(const struct fs_node *n)
{
	return n->pipe ? n->pipe->len : 0;
}

void fs_pipe_close_end(struct fs_file *f)
{
	struct fs_pipe *p = f->node->pipe;
	if (!p)
		return;
	if ((f->flags & O_ACCMODE) == O_RDONLY)
		p->readers--;
	else
		p->writers--;
}

void fs_pipe_free(struct fs_node *n)
{
	if (!n->pipe)
		return;
	k_free(n->pipe->buf);
	k_free(n->pipe);
	n->pipe = NULL;
}
