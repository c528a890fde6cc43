/* socket.c: the generic socket layer: sockets as VFS files (read/write/poll/ioctl/close), blocking, the SOL_SOCKET options. */
#include <string.h>
#include "k.h"
#include "fs.h"
#include "sock.h"
#include "wait.h"
#include "deadline.h"

/*
 * A socket is an anonymous S_IFSOCK node whose priv is the family's struct
 * sock; its file ops turn read/write into the family's recv/send, so
 * read(2), write(2), readv(2), poll(2) and (later) epoll behave as on a
 * socket. The wait key of a socket is the struct sock itself: a family
 * calls sock_wake after every change that may change its readiness, and
 * blocked callers re-check their condition after each wake.
 */
#define NS_PER_S  1000000000ull
#define NS_PER_US 1000ull

static const struct fs_file_ops sock_fops, sock_inet_fops;

/* An inet socket's input comes from outside the VM: a wait on it for input is idle (K_WAIT_INPUT). */
static bool sock_outside(const struct sock *s)
{
	return s->family == AF_INET;
}

void sock_init(struct sock *s, const struct sock_ops *ops, int family, int type, int protocol)
{
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->family = family;
	s->type = type;
	s->protocol = protocol;
	s->rcvbuf = SOCK_BUF_DEFAULT;
	s->sndbuf = SOCK_BUF_DEFAULT;
}

int sock_file_new(struct sock *s, uint32_t flags, struct fs_file **out)
{
	struct fs_node *n = fs_node_new(S_IFSOCK | 0777, sock_outside(s) ? &sock_inet_fops : &sock_fops);
	if (!n) {
		s->ops->release(s);
		return -ENOMEM;
	}
	n->priv = s;
	n->st_dev = FS_DEV_SOCK;
	struct fs_file *f = fs_file_new(n, O_RDWR | (flags & O_NONBLOCK));
	if (!f) {
		fs_node_get(n);
		fs_node_put(n); /* the unnamed node goes; its release never ran */
		s->ops->release(s);
		return -ENOMEM;
	}
	*out = f;
	return 0;
}

int sock_fd_new(struct sock *s, int flags)
{
	struct fs_file *f;
	int rc = sock_file_new(s, (flags & SOCK_NONBLOCK) ? O_NONBLOCK : 0, &f);
	if (rc)
		return rc;
	int fd = fs_fd_install(f, 0, flags & SOCK_CLOEXEC);
	if (fd < 0)
		fs_file_put(f); /* releases s */
	return fd;
}

struct sock *sock_of(struct fs_file *f)
{
	return f->ops == &sock_fops || f->ops == &sock_inet_fops ? f->node->priv : NULL;
}

void sock_wake(struct sock *s)
{
	k_wait_wake(s, ~0u, 0x7fffffff);
}

void sock_wake_bits(struct sock *s, uint32_t bits)
{
	k_wait_wake(s, bits, 0x7fffffff);
}

uint64_t sock_deadline(uint64_t timeo)
{
	return timeo ? k_deadline_after(timeo) : K_WAIT_FOREVER;
}

/* sock_wait_key with the wait's flags. */
static long sock_wait_flags(const void *key, uint64_t deadline, unsigned flags)
{
	long rc = k_wait_on(key, ~0u, deadline, K_WAIT_INTR | flags);
	if (rc == -ETIMEDOUT)
		return -EAGAIN;
	if (rc == -EINTR)
		return deadline == K_WAIT_FOREVER ? -K_ERESTARTSYS : -EINTR;
	return rc;
}

long sock_wait_key(const void *key, uint64_t deadline)
{
	return sock_wait_flags(key, deadline, 0);
}

long sock_wait(struct sock *s, uint64_t deadline)
{
	/*
	 * An inet socket waits on its peer: input from outside (an accept, a
	 * recv; a send or connect waits on TCP data in flight, which keeps the
	 * VM from idling by itself).
	 */
	return sock_wait_flags(s, deadline, sock_outside(s) ? K_WAIT_INPUT : 0);
}

int sock_wait_accept(struct sock *s, const uint32_t *qlen, bool nonblock)
{
	uint64_t deadline = sock_deadline(s->rcvtimeo);
	while (!*qlen) {
		if (nonblock)
			return -EAGAIN;
		if (s->accept_shut)
			return -EINVAL; /* Linux: the wait for a connection sees the receive side shut */
		long rc = sock_wait(s, deadline);
		if (rc)
			return (int)rc;
		if (!s->ops->listening(s))
			return -EINVAL;
	}
	return 0;
}

long sock_recv_wait(struct sock *s, struct sock_msg *m, bool rcv_shut, uint64_t deadline)
{
	if (s->err) {
		int e = s->err;
		s->err = 0;
		return -e;
	}
	if (rcv_shut) {
		m->addrlen = 0;
		return 0;
	}
	if (m->flags & MSG_DONTWAIT)
		return -EAGAIN;
	long rc = sock_wait(s, deadline);
	return rc ? rc : 1;
}

void sock_msg_buf(struct sock_msg *m, struct iovec *v, void *buf, size_t len, int flags)
{
	if (len > SOCK_IO_MAX)
		len = SOCK_IO_MAX;
	*v = (struct iovec){ .iov_base = buf, .iov_len = len };
	*m = (struct sock_msg){ .io = { .iov = v, .cnt = 1, .len = len }, .flags = flags };
}

struct sock_scm *sock_scm_new(uint32_t n)
{
	struct sock_scm *c = k_calloc(1, sizeof(*c) + n * sizeof(c->files[0]));
	if (c)
		c->n = n;
	return c;
}

void sock_scm_free(struct sock_scm *c)
{
	if (!c)
		return;
	for (uint32_t i = 0; i < c->n; i++)
		if (c->files[i])
			fs_file_put(c->files[i]);
	k_free(c);
}

struct sock_scm *sock_scm_dup(const struct sock_scm *c)
{
	struct sock_scm *d = sock_scm_new(c->n);
	if (!d)
		return NULL;
	d->pos = c->pos;
	d->end = c->end;
	for (uint32_t i = 0; i < c->n; i++) {
		d->files[i] = c->files[i];
		if (d->files[i])
			fs_file_get(d->files[i]);
	}
	return d;
}

long sock_file_send(struct fs_file *f, struct sock *s, struct sock_msg *m)
{
	if (f->flags & O_NONBLOCK)
		m->flags |= MSG_DONTWAIT;
	return s->ops->send(s, m);
}

long sock_file_recv(struct fs_file *f, struct sock *s, struct sock_msg *m)
{
	if (f->flags & O_NONBLOCK)
		m->flags |= MSG_DONTWAIT;
	long rc = s->ops->recv(s, m);
	if (!m->want_scm && m->scm) { /* read(2), recv(2): files that came along are closed, as Linux's scm_destroy */
		sock_scm_free(m->scm);
		m->scm = NULL;
	}
	return rc;
}

void sock_io_put(struct sock_io *io, const void *src, size_t n)
{
	const uint8_t *p = src;
	while (n) {
		const struct iovec *v = &io->iov[io->idx];
		size_t room = v->iov_len - io->off;
		if (!room) {
			io->idx++;
			io->off = 0;
			continue;
		}
		size_t c = n < room ? n : room;
		memcpy((uint8_t *)v->iov_base + io->off, p, c);
		io->off += c;
		io->done += c;
		p += c;
		n -= c;
	}
}

void sock_io_get(struct sock_io *io, void *dst, size_t n)
{
	uint8_t *p = dst;
	while (n) {
		const struct iovec *v = &io->iov[io->idx];
		size_t room = v->iov_len - io->off;
		if (!room) {
			io->idx++;
			io->off = 0;
			continue;
		}
		size_t c = n < room ? n : room;
		memcpy(p, (const uint8_t *)v->iov_base + io->off, c);
		io->off += c;
		io->done += c;
		p += c;
		n -= c;
	}
}

size_t sock_io_piece(struct sock_io *io, void **p, size_t max)
{
	while (io->done < io->len) {
		const struct iovec *v = &io->iov[io->idx];
		size_t room = v->iov_len - io->off;
		if (!room) {
			io->idx++;
			io->off = 0;
			continue;
		}
		size_t left = io->len - io->done;
		size_t n = room < left ? room : left;
		*p = (uint8_t *)v->iov_base + io->off;
		return n < max ? n : max;
	}
	return 0;
}

void sock_io_skip(struct sock_io *io, size_t n)
{
	while (n) {
		void *p;
		size_t c = sock_io_piece(io, &p, n);
		io->off += c;
		io->done += c;
		n -= c;
	}
}

/* Linux's inet_bind/tcp_v4_connect order: the length first, then the family. */
int sock_in_check(const void *addr, uint32_t len, bool for_connect)
{
	const struct lx_sockaddr_in *in = addr;
	if (len < sizeof(*in))
		return -EINVAL;
	if (in->sin_family == AF_INET)
		return 0;
	/* Old binaries bind AF_UNSPEC to INADDR_ANY; Linux lets that one pass. */
	if (!for_connect && in->sin_family == AF_UNSPEC && in->sin_addr == 0)
		return 0;
	return -EAFNOSUPPORT;
}

void sock_in_put(void *addr, uint32_t *len, uint32_t ip_be, uint16_t port_be)
{
	struct lx_sockaddr_in in = { .sin_family = AF_INET, .sin_port = port_be, .sin_addr = ip_be };
	memcpy(addr, &in, *len < sizeof(in) ? *len : sizeof(in));
	*len = sizeof(in);
}

/* ---- file operations ---- */

static long sock_read(struct fs_file *f, void *buf, size_t len, uint64_t *off)
{
	struct iovec v;
	struct sock_msg m;
	(void)off;
	sock_msg_buf(&m, &v, buf, len, 0);
	return sock_file_recv(f, f->node->priv, &m);
}

static long sock_write(struct fs_file *f, const void *buf, size_t len, uint64_t *off)
{
	struct iovec v;
	struct sock_msg m;
	(void)off;
	sock_msg_buf(&m, &v, (void *)buf, len, 0);
	return sock_file_send(f, f->node->priv, &m);
}

/* readv/writev: one recv or send over the whole vector (one datagram each, as Linux's sock_read_iter). */
static long sock_rwv(struct fs_file *f, const struct iovec *iov, size_t cnt, size_t total, bool wr)
{
	struct sock_msg m = { .io = { .iov = iov, .cnt = cnt, .len = total } };
	return wr ? sock_file_send(f, f->node->priv, &m) : sock_file_recv(f, f->node->priv, &m);
}

/* FIONREAD (SIOCINQ); FIONBIO is the VFS's. Linux answers other requests on a socket with ENOTTY. */
static long sock_ioctl(struct fs_file *f, unsigned long req, long arg)
{
	struct sock *s = f->node->priv;
	int *ip = (int *)arg;
	if (req != FIONREAD || !s->ops->inq)
		return -ENOTTY;
	long n = s->ops->inq(s);
	if (n < 0)
		return n;
	if (!k_user_ok(ip, sizeof(int)))
		return -EFAULT;
	*ip = (int)n;
	return 0;
}

static uint32_t sock_poll(struct fs_file *f, const void **key)
{
	struct sock *s = f->node->priv;
	*key = s;
	return s->ops->poll(s);
}

static void sock_release(struct fs_file *f)
{
	struct sock *s = f->node->priv;
	f->node->priv = NULL;
	sock_wake(s); /* a poll or epoll watching the key re-scans and drops it */
	s->ops->release(s);
}

/* One table per kind: an inet socket's says FS_CAP_INPUT (poll, select and epoll on it wait on input from outside). */
#define SOCK_FOPS(name, caps_)                                                                                        \
	static const struct fs_file_ops name = {                                                                      \
		.caps = (caps_),                                                                                      \
		.read = sock_read,                                                                                    \
		.write = sock_write,                                                                                  \
		.ioctl = sock_ioctl,                                                                                  \
		.poll = sock_poll,                                                                                    \
		.release = sock_release,                                                                              \
		.rwv = sock_rwv, /* a readv or writev is one recv or send: one datagram, one segment train */        \
	}
SOCK_FOPS(sock_fops, 0);
SOCK_FOPS(sock_inet_fops, FS_CAP_INPUT);

/* ---- SOL_SOCKET options (Linux's sk_setsockopt/sk_getsockopt) ---- */

static int sock_set_timeo(uint64_t *timeo, const void *val, uint32_t len)
{
	struct lx_timeval tv;
	if (len < sizeof(tv))
		return -EINVAL;
	memcpy(&tv, val, sizeof(tv));
	if (tv.tv_usec < 0 || tv.tv_usec >= 1000000)
		return -EDOM;
	if (tv.tv_sec < 0) {
		*timeo = 1; /* Linux: a negative time is "time out at once" */
		return 0;
	}
	if (tv.tv_sec == 0 && tv.tv_usec == 0) {
		*timeo = 0; /* forever */
		return 0;
	}
	uint64_t max_s = (uint64_t)K_WAIT_FOREVER / NS_PER_S - 1;
	*timeo = (uint64_t)tv.tv_sec > max_s ? 0 : (uint64_t)tv.tv_sec * NS_PER_S + (uint64_t)tv.tv_usec * NS_PER_US;
	return 0;
}

/* Linux clamps to the sysctl maximum, doubles (for its bookkeeping overhead) and applies a floor. */
static int sock_buf_size(uint32_t v, int floor)
{
	if (v > SOCK_BUF_MAX)
		v = SOCK_BUF_MAX;
	int d = (int)v * 2;
	return d < floor ? floor : d;
}

int sock_setopt(struct sock *s, int level, int name, const void *val, uint32_t len)
{
	if (level != SOL_SOCKET)
		return s->ops->setopt ? s->ops->setopt(s, level, name, val, len) : -EOPNOTSUPP;
	if (len < sizeof(int))
		return -EINVAL;
	int v;
	memcpy(&v, val, sizeof(v));
	int rc = 0;
	switch (name) {
	case SO_REUSEADDR:
		s->reuseaddr = v != 0;
		break;
	case SO_REUSEPORT:
		s->reuseport = v != 0;
		break;
	case SO_KEEPALIVE:
		s->keepalive = v != 0;
		break;
	case SO_SNDBUF:
		s->sndbuf = sock_buf_size((uint32_t)v, SOCK_MIN_SNDBUF);
		break;
	case SO_RCVBUF:
		s->rcvbuf = sock_buf_size((uint32_t)v, SOCK_MIN_RCVBUF);
		break;
	case SO_LINGER: {
		struct lx_linger l;
		if (len < sizeof(l))
			return -EINVAL;
		memcpy(&l, val, sizeof(l));
		s->linger_on = l.l_onoff != 0;
		s->linger_secs = l.l_linger < 0 ? 0 : l.l_linger;
		break;
	}
	case SO_RCVTIMEO_OLD:
		rc = sock_set_timeo(&s->rcvtimeo, val, len);
		break;
	case SO_SNDTIMEO_OLD:
		rc = sock_set_timeo(&s->sndtimeo, val, len);
		break;
	default:
		return -ENOPROTOOPT;
	}
	if (!rc && s->ops->sol_changed)
		s->ops->sol_changed(s, name);
	return rc;
}

static void sock_get_timeo(uint64_t timeo, struct lx_timeval *tv)
{
	tv->tv_sec = (int64_t)(timeo / NS_PER_S);
	tv->tv_usec = (int64_t)(timeo % NS_PER_S / NS_PER_US);
}

int sock_getopt(struct sock *s, int level, int name, void *val, uint32_t *len)
{
	if (level != SOL_SOCKET)
		return s->ops->getopt ? s->ops->getopt(s, level, name, val, len) : -EOPNOTSUPP;
	union {
		int i;
		struct lx_linger l;
		struct lx_timeval tv;
		struct lx_ucred c;
	} u;
	uint32_t size = sizeof(int);
	memset(&u, 0, sizeof(u));
	switch (name) {
	case SO_TYPE:
		u.i = s->type;
		break;
	case SO_DOMAIN:
		u.i = s->family;
		break;
	case SO_PROTOCOL:
		u.i = s->protocol;
		break;
	case SO_ERROR:
		u.i = s->err;
		s->err = 0;
		sock_wake(s); /* POLLERR may clear */
		break;
	case SO_ACCEPTCONN:
		u.i = s->ops->listening && s->ops->listening(s);
		break;
	case SO_REUSEADDR:
		u.i = s->reuseaddr;
		break;
	case SO_REUSEPORT:
		u.i = s->reuseport;
		break;
	case SO_KEEPALIVE:
		u.i = s->keepalive;
		break;
	case SO_SNDBUF:
		u.i = s->sndbuf;
		break;
	case SO_RCVBUF:
		u.i = s->rcvbuf;
		break;
	case SO_LINGER:
		u.l.l_onoff = s->linger_on;
		u.l.l_linger = s->linger_secs;
		size = sizeof(u.l);
		break;
	case SO_PEERCRED: /* Linux's cred_to_ucred: pid 0 and uid/gid -1 without a peer */
		u.c = s->peercred ? (struct lx_ucred){ SOCK_CRED_PID, SOCK_CRED_UID, SOCK_CRED_GID }
				  : (struct lx_ucred){ 0, (uint32_t)-1, (uint32_t)-1 };
		size = sizeof(u.c);
		break;
	case SO_RCVTIMEO_OLD:
	case SO_SNDTIMEO_OLD:
		sock_get_timeo(name == SO_RCVTIMEO_OLD ? s->rcvtimeo : s->sndtimeo, &u.tv);
		size = sizeof(u.tv);
		break;
	default:
		return -ENOPROTOOPT;
	}
	memcpy(val, &u, *len < size ? *len : size);
	*len = *len < size ? *len : size;
	return 0;
}

static bool sock_exit_begun;

bool sock_exiting(void)
{
	return sock_exit_begun;
}

void sock_exit(void)
{
	sock_exit_begun = true;
	for (int fd = 0; fd < FS_MAX_FDS; fd++) {
		struct fs_file *f = fs_fd_file(fd);
		if (f && sock_of(f))
			fs_fd_close(fd);
	}
	inet_tcp_drain(k_clock_monotonic_ns() + SOCK_EXIT_LINGER_NS);
}
