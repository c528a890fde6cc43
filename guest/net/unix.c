/* unix.c: AF_UNIX stream and datagram sockets inside the guest: path-bound (a socket node in the VFS), abstract, socketpair. */
#include <string.h>
#include "k.h"
#include "fs.h"
#include "sock.h"
#include "wait.h"

/*
 * Linux's af_unix, in one address space. A stream sender copies into its
 * peer's receive ring; the bytes there are charged to the sender (Linux's
 * sk_wmem_alloc) and bounded by its SO_SNDBUF, so a slow reader blocks the
 * writer instead of growing memory. A datagram is one allocation queued
 * on the receiver and charged to its sender until read; a receiver that is
 * not the sender's own pair also holds at most UNIX_DGRAM_QLEN of them
 * (net.unix.max_dgram_qlen). Every change wakes the keys of both ends.
 *
 * Lifetime: a unix_sock is referenced by its file (until release), by a
 * peer's pointer, by queued datagrams it sent and by a listener's queue
 * (not yet accepted connections). Release marks it dead and disconnects;
 * the memory goes with the last reference.
 */
#define UNIX_RCV_SHUT 1
#define UNIX_SND_SHUT 2
#define UNIX_DGRAM_QLEN 10      /* Linux's default net.unix.max_dgram_qlen */
#define UNIX_DGRAM_OVERHEAD 256 /* charged per datagram besides its bytes: empty ones are not free */
#define UNIX_SOMAXCONN 4096
#define UNIX_RING_MIN 4096
#define UNIX_PATH_OFF 2 /* offsetof(struct sockaddr_un, sun_path) */

enum unix_state { UNIX_UNCONN, UNIX_LISTEN, UNIX_CONNECTED };

struct unix_addr {
	uint32_t len; /* of the sockaddr: 2 + path incl. its NUL, or 2 + abstract name bytes */
	union {
		struct lx_sockaddr_un sa;
		uint8_t raw[LX_SOCKADDR_MAX]; /* a full 108-byte path gets its NUL past sun_path, as in Linux */
	};
};

struct unix_dgram {
	struct unix_dgram *next;
	struct unix_sock *from; /* charged until read (a reference) */
	uint32_t len, charge;
	struct unix_addr *addr; /* the sender's name when it had one */
	struct sock_scm *scm;   /* SCM_RIGHTS files sent with it, or NULL */
	uint8_t data[];
};

struct unix_sock {
	struct sock s;
	uint32_t refs;
	enum unix_state state;
	bool dead;
	uint8_t shut;             /* UNIX_RCV_SHUT | UNIX_SND_SHUT */
	struct unix_sock *peer;   /* stream: the other end; dgram: the connected target (a reference) */
	struct unix_addr *addr;   /* bound name, or NULL */
	struct fs_node *node;     /* the VFS node of a path name (a reference) */
	struct unix_sock *all_next, **all_pprev; /* every live socket: abstract lookup, dgram writers */
	size_t wmem;              /* bytes charged to us in others' queues (dgram) */
	/* stream: received bytes */
	uint8_t *ring;
	uint32_t cap, head, len;
	uint64_t rx_in, rx_out;   /* bytes ever put into / taken from the ring: stream positions */
	struct sock_scm *scm_head, **scm_tail; /* SCM_RIGHTS sets riding with ring bytes, by position */
	/* dgram: received datagrams */
	struct unix_dgram *dq_head, **dq_tail;
	uint32_t dq_count;
	/* listener: connections not yet accepted (embryos, with their references) */
	struct unix_sock **acq;
	uint32_t acq_head, acq_len, acq_max, acq_cap;
};

static struct unix_sock *unix_all;
static uint32_t unix_autobind_next;
static const struct sock_ops unix_stream_ops, unix_dgram_ops;
static const struct fs_file_ops unix_name_fops; /* open(2) of a socket's name reads nothing */

static struct unix_sock *unix_sk(struct sock *s)
{
	return (struct unix_sock *)s;
}

static void unix_wake(struct unix_sock *u)
{
	sock_wake(&u->s);
}

static void unix_get(struct unix_sock *u)
{
	u->refs++;
}

static void unix_put(struct unix_sock *u)
{
	if (--u->refs)
		return;
	k_free(u->addr);
	k_free(u->acq);
	k_free(u);
}

static struct unix_sock *unix_new(int type)
{
	struct unix_sock *u = k_calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	sock_init(&u->s, type == SOCK_STREAM ? &unix_stream_ops : &unix_dgram_ops, AF_UNIX, type, 0);
	u->refs = 1;
	u->dq_tail = &u->dq_head;
	u->scm_tail = &u->scm_head;
	u->all_next = unix_all;
	if (unix_all)
		unix_all->all_pprev = &u->all_next;
	u->all_pprev = &unix_all;
	unix_all = u;
	return u;
}

int unix_create(int type, int protocol, struct sock **out)
{
	if (type != SOCK_STREAM && type != SOCK_DGRAM)
		return -ESOCKTNOSUPPORT; /* SOCK_SEQPACKET is not implemented */
	if (protocol && protocol != AF_UNIX)
		return -EPROTONOSUPPORT;
	struct unix_sock *u = unix_new(type);
	if (!u)
		return -ENOMEM;
	*out = &u->s;
	return 0;
}

int unix_pair(int type, int protocol, struct sock **a, struct sock **b)
{
	int rc = unix_create(type, protocol, a);
	if (rc)
		return rc;
	rc = unix_create(type, protocol, b);
	if (rc) {
		(*a)->ops->release(*a);
		return rc;
	}
	struct unix_sock *ua = unix_sk(*a), *ub = unix_sk(*b);
	ua->peer = ub;
	ub->peer = ua;
	unix_get(ua);
	unix_get(ub);
	ua->state = ub->state = UNIX_CONNECTED;
	ua->s.peercred = ub->s.peercred = true;
	return 0;
}

/* ---- names ---- */

/* Linux's unix_validate_addr. */
static int unix_addr_check(const void *addr, uint32_t len)
{
	const struct lx_sockaddr_un *sa = addr;
	if (len <= UNIX_PATH_OFF || len > sizeof(*sa))
		return -EINVAL;
	if (sa->sun_family != AF_UNIX)
		return -EINVAL;
	return 0;
}

/* The kernel form of an app's address: a path is cut at its NUL (Linux's unix_mkname_bsd). */
static void unix_addr_make(const void *addr, uint32_t len, struct unix_addr *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->raw, addr, len);
	if (out->sa.sun_path[0]) {
		size_t n = strnlen(out->sa.sun_path, len - UNIX_PATH_OFF);
		out->raw[UNIX_PATH_OFF + n] = 0;
		len = (uint32_t)(UNIX_PATH_OFF + n + 1);
	}
	out->len = len;
}

static bool unix_is_abstract(const struct unix_addr *a)
{
	return a->sa.sun_path[0] == 0;
}

static struct unix_sock *unix_find_abstract(const struct unix_addr *a)
{
	for (struct unix_sock *u = unix_all; u; u = u->all_next)
		if (u->addr && !u->node && u->addr->len == a->len && !memcmp(u->addr->raw, a->raw, a->len))
			return u;
	return NULL;
}

/* Linux's unix_find_other: the live socket bound at addr (referenced), or -ENOENT/-ECONNREFUSED/-EPROTOTYPE. */
static int unix_find(const struct unix_addr *a, int type, struct unix_sock **out)
{
	struct unix_sock *o;
	if (unix_is_abstract(a)) {
		o = unix_find_abstract(a);
		if (!o)
			return -ECONNREFUSED;
	} else {
		struct fs_node *n;
		int rc = fs_lookup(fs_cwd, a->sa.sun_path, &n);
		if (rc)
			return rc;
		if ((n->mode & S_IFMT) != S_IFSOCK || !n->priv || n->fops != &unix_name_fops)
			return -ECONNREFUSED;
		o = n->priv;
	}
	if (o->s.type != type)
		return -EPROTOTYPE;
	unix_get(o);
	*out = o;
	return 0;
}

/* An unused abstract name "\0xxxxx" (Linux's unix_autobind). */
static int unix_autobind(struct unix_sock *u)
{
	struct unix_addr *a = k_calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->sa.sun_family = AF_UNIX;
	a->len = UNIX_PATH_OFF + 6;
	for (uint32_t tries = 0; tries < 0x100000; tries++) {
		uint32_t n = unix_autobind_next++ & 0xfffff;
		static const char hex[] = "0123456789abcdef";
		for (int i = 0; i < 5; i++)
			a->sa.sun_path[5 - i] = hex[(n >> (4 * i)) & 0xf];
		if (!unix_find_abstract(a)) {
			u->addr = a;
			return 0;
		}
	}
	k_free(a);
	return -ENOSPC;
}

static int unix_bind_path(struct unix_sock *u, struct unix_addr *a)
{
	struct fs_last l;
	int rc = fs_lookup_parent(fs_cwd, a->sa.sun_path, &l);
	if (rc)
		return rc;
	if (l.len == 0 || fs_name_is_dot(l.name, l.len) || fs_dir_find(l.dir, l.name, l.len))
		return -EADDRINUSE;
	if (l.slash)
		return -ENOENT;
	if (l.dir != fs_root && l.dir->nlink == 0)
		return -ENOENT;
	if (u->addr)
		return -EINVAL;
	struct fs_node *n = fs_node_new(S_IFSOCK | (0777 & ~fs_umask), &unix_name_fops);
	if (!n)
		return -ENOMEM;
	rc = fs_dir_add(l.dir, l.name, l.len, n);
	if (rc) {
		fs_node_destroy(n);
		return rc;
	}
	fs_node_get(n);
	n->priv = u;
	u->node = n;
	return 0;
}

static int unix_bind(struct sock *s, const void *addr, uint32_t len)
{
	struct unix_sock *u = unix_sk(s);
	const struct lx_sockaddr_un *sa = addr;
	if (len == UNIX_PATH_OFF && sa->sun_family == AF_UNIX)
		return u->addr ? -EINVAL : unix_autobind(u);
	int rc = unix_addr_check(addr, len);
	if (rc)
		return rc;
	struct unix_addr *a = k_malloc(sizeof(*a));
	if (!a)
		return -ENOMEM;
	unix_addr_make(addr, len, a);
	if (unix_is_abstract(a)) {
		rc = u->addr ? -EINVAL : unix_find_abstract(a) ? -EADDRINUSE : 0;
	} else {
		rc = unix_bind_path(u, a);
	}
	if (rc) {
		k_free(a);
		return rc;
	}
	u->addr = a;
	return 0;
}

static void unix_name_put(const struct unix_addr *a, void *addr, uint32_t *len)
{
	struct lx_sockaddr_un unnamed = { .sun_family = AF_UNIX };
	const void *src = a ? (const void *)a->raw : &unnamed;
	uint32_t full = a ? a->len : UNIX_PATH_OFF;
	memcpy(addr, src, *len < full ? *len : full);
	*len = full;
}

static int unix_getname(struct sock *s, void *addr, uint32_t *len, bool peer)
{
	struct unix_sock *u = unix_sk(s);
	if (peer && !u->peer)
		return -ENOTCONN;
	unix_name_put(peer ? u->peer->addr : u->addr, addr, len);
	return 0;
}

/* ---- lifetime ---- */

static void unix_dgram_free(struct unix_dgram *d)
{
	struct unix_sock *from = d->from;
	from->wmem -= d->charge;
	sock_wake_bits(&from->s, SOCK_WAKE_OUT);
	unix_put(from);
	sock_scm_free(d->scm);
	k_free(d->addr);
	k_free(d);
}

/* Linux's unix_release_sock: the peer sees a hang-up (and a reset when data was lost). */
static void unix_kill(struct unix_sock *u, bool embryo)
{
	u->dead = true;
	u->shut = UNIX_RCV_SHUT | UNIX_SND_SHUT;
	*u->all_pprev = u->all_next;
	if (u->all_next)
		u->all_next->all_pprev = u->all_pprev;
	if (u->node) {
		u->node->priv = NULL;
		fs_node_put(u->node);
		u->node = NULL;
	}
	while (u->acq_len) {
		struct unix_sock *e = u->acq[u->acq_head];
		u->acq_head = (u->acq_head + 1) % u->acq_cap;
		u->acq_len--;
		unix_kill(e, true);
	}
	struct unix_sock *p = u->peer;
	if (p) {
		if (u->s.type == SOCK_STREAM) {
			p->shut = UNIX_RCV_SHUT | UNIX_SND_SHUT;
			if (u->len || embryo)
				p->s.err = ECONNRESET;
		}
		u->peer = NULL;
		unix_wake(p);
		unix_put(p);
	}
	/* Datagram writers connected to us find out at their next send; wake their polls now. */
	for (struct unix_sock *o = unix_all; o; o = o->all_next)
		if (o->peer == u)
			unix_wake(o);
	k_free(u->ring);
	u->ring = NULL;
	u->len = 0;
	while (u->scm_head) {
		struct sock_scm *c = u->scm_head;
		u->scm_head = c->next;
		sock_scm_free(c);
	}
	u->scm_tail = &u->scm_head;
	while (u->dq_head) {
		struct unix_dgram *d = u->dq_head;
		u->dq_head = d->next;
		unix_dgram_free(d);
	}
	u->dq_tail = &u->dq_head;
	u->dq_count = 0;
	unix_wake(u);
	unix_put(u);
}

static void unix_release(struct sock *s)
{
	unix_kill(unix_sk(s), false);
}

/* ---- stream ---- */

/* Makes room for need bytes in the ring (doubling, unwrapping): false when out of memory. */
static bool unix_ring_reserve(struct unix_sock *u, uint32_t need)
{
	if (u->cap - u->len >= need)
		return true;
	uint32_t cap = u->cap ? u->cap : UNIX_RING_MIN;
	while (cap - u->len < need)
		cap *= 2;
	uint8_t *r = k_malloc(cap);
	if (!r)
		return false;
	uint32_t first = u->cap - u->head < u->len ? u->cap - u->head : u->len;
	if (u->len) {
		memcpy(r, u->ring + u->head, first);
		memcpy(r + first, u->ring, u->len - first);
	}
	k_free(u->ring);
	u->ring = r;
	u->cap = cap;
	u->head = 0;
	return true;
}

static void unix_ring_put(struct unix_sock *u, struct sock_io *io, uint32_t n)
{
	uint32_t tail = (u->head + u->len) % u->cap;
	uint32_t first = u->cap - tail < n ? u->cap - tail : n;
	sock_io_get(io, u->ring + tail, first);
	sock_io_get(io, u->ring, n - first);
	u->len += n;
	u->rx_in += n;
}

/* Copies n bytes starting skip bytes into the ring out to io; consumes them unless peeking. */
static void unix_ring_take(struct unix_sock *u, struct sock_io *io, uint32_t skip, uint32_t n, bool peek)
{
	uint32_t at = (u->head + skip) % u->cap;
	uint32_t first = u->cap - at < n ? u->cap - at : n;
	sock_io_put(io, u->ring + at, first);
	sock_io_put(io, u->ring, n - first);
	if (peek)
		return;
	u->head = (u->head + n) % u->cap;
	u->len -= n;
	u->rx_out += n;
}

static long unix_stream_send(struct sock *s, struct sock_msg *m)
{
	struct unix_sock *u = unix_sk(s);
	if (m->flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (m->addrlen)
		return u->state == UNIX_CONNECTED ? -EISCONN : -EOPNOTSUPP;
	if (u->state != UNIX_CONNECTED || !u->peer)
		return -ENOTCONN;
	if (u->shut & UNIX_SND_SHUT)
		return -EPIPE;
	uint64_t deadline = sock_deadline(s->sndtimeo);
	size_t total = sock_io_left(&m->io), done = 0;
	struct sock_scm *scm = NULL; /* ours once queued on the peer: extended as more bytes go */
	for (;;) {
		struct unix_sock *p = u->peer;
		if (scm && p && p->scm_tail != &scm->next)
			scm = NULL; /* another message queued after it (or the peer went): it keeps its bytes */
		if (!p || p->dead || (p->shut & UNIX_RCV_SHUT))
			return done ? (long)done : -EPIPE;
		if (done == total)
			return (long)done;
		uint32_t limit = (uint32_t)s->sndbuf;
		if (p->len < limit) {
			size_t left = total - done;
			uint32_t n = (uint32_t)(left < limit - p->len ? left : limit - p->len);
			if (!unix_ring_reserve(p, n))
				return done ? (long)done : -ENOBUFS;
			if (m->scm) { /* the files ride with this call's first byte on (Linux: its first skb) */
				m->scm->pos = p->rx_in;
				m->scm->end = p->rx_in;
				m->scm->next = NULL;
				*p->scm_tail = m->scm;
				p->scm_tail = &m->scm->next;
				scm = m->scm;
				m->scm = NULL;
			}
			unix_ring_put(p, &m->io, n);
			if (scm)
				scm->end = p->rx_in; /* the bytes of this call so far; p->scm_head frees it if p goes */
			done += n;
			sock_wake_bits(&p->s, SOCK_WAKE_IN);
			continue;
		}
		if (m->flags & MSG_DONTWAIT)
			return done ? (long)done : -EAGAIN;
		long rc = sock_wait(s, deadline);
		if (rc)
			return done ? (long)done : rc;
	}
}

/*
 * The SCM_RIGHTS set a read of n bytes at stream position at reaches, with n
 * cut at the end of that set's bytes (Linux's reader stops after the skb that
 * carried fds), or NULL.
 */
static struct sock_scm *unix_scm_at(struct unix_sock *u, uint64_t at, size_t *n)
{
	struct sock_scm *c = u->scm_head;
	if (!c || c->pos >= at + *n)
		return NULL;
	if (c->end - at < *n)
		*n = (size_t)(c->end - at);
	return c;
}

static long unix_stream_recv(struct sock *s, struct sock_msg *m)
{
	struct unix_sock *u = unix_sk(s);
	if (m->flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (u->state != UNIX_CONNECTED)
		return -EINVAL;
	bool peek = m->flags & MSG_PEEK;
	size_t want = sock_io_left(&m->io);
	size_t target = (m->flags & MSG_WAITALL) ? want : 1;
	uint64_t deadline = sock_deadline(s->rcvtimeo);
	size_t done = 0;
	if (m->addrlen) /* the sender's name: the peer's (Linux copies the skb owner's address) */
		unix_name_put(u->peer ? u->peer->addr : NULL, m->addr, &m->addrlen);
	if (m->addrlen == UNIX_PATH_OFF)
		m->addrlen = 0; /* an unnamed sender: no address at all */
	if (!want)
		return 0;
	for (;;) {
		uint32_t avail = u->len - (peek ? (uint32_t)done : 0);
		if (avail) {
			size_t n = want - done < avail ? want - done : avail;
			struct sock_scm *c = unix_scm_at(u, u->rx_out + (peek ? done : 0), &n);
			unix_ring_take(u, &m->io, peek ? (uint32_t)done : 0, (uint32_t)n, peek);
			done += n;
			if (!peek && u->peer)
				sock_wake_bits(&u->peer->s, SOCK_WAKE_OUT); /* its SO_SNDBUF room grew */
			if (c) { /* the files go to this read, which ends with their bytes */
				if (peek) {
					m->scm = sock_scm_dup(c);
				} else {
					u->scm_head = c->next;
					if (!u->scm_head)
						u->scm_tail = &u->scm_head;
					m->scm = c;
				}
				return (long)done;
			}
		}
		if (done >= target)
			return (long)done;
		if (s->err) {
			int e = s->err;
			s->err = 0;
			return done ? (long)done : -e;
		}
		if (u->shut & UNIX_RCV_SHUT)
			return (long)done;
		if (m->flags & MSG_DONTWAIT)
			return done ? (long)done : -EAGAIN;
		long rc = sock_wait(s, deadline);
		if (rc)
			return done ? (long)done : rc;
	}
}

static int unix_stream_connect(struct sock *s, const void *addr, uint32_t len, bool nonblock)
{
	struct unix_sock *u = unix_sk(s), *l = NULL, *e = NULL;
	struct unix_addr a;
	int rc = unix_addr_check(addr, len);
	if (rc)
		return rc;
	unix_addr_make(addr, len, &a);
	uint64_t deadline = sock_deadline(s->sndtimeo);
	for (;;) {
		rc = unix_find(&a, SOCK_STREAM, &l);
		if (rc)
			return rc;
		if (l->state != UNIX_LISTEN || l->dead || (l->shut & UNIX_RCV_SHUT)) {
			rc = -ECONNREFUSED;
			goto out;
		}
		if (l->acq_len <= l->acq_max)
			break;
		if (nonblock) {
			rc = -EAGAIN;
			goto out;
		}
		rc = (int)sock_wait(&l->s, deadline);
		unix_put(l);
		if (rc)
			return rc;
	}
	if (u->state != UNIX_UNCONN) {
		rc = u->state == UNIX_CONNECTED ? -EISCONN : -EINVAL;
		goto out;
	}
	e = unix_new(SOCK_STREAM);
	if (!e) {
		rc = -ENOMEM;
		goto out;
	}
	if (l->addr) {
		e->addr = k_malloc(sizeof(*e->addr));
		if (!e->addr) {
			rc = -ENOMEM;
			goto out;
		}
		*e->addr = *l->addr;
	}
	/* Queue e on the listener (the ring grows as the backlog needs). */
	if (l->acq_len == l->acq_cap) {
		uint32_t cap = l->acq_cap ? l->acq_cap * 2 : 8;
		struct unix_sock **q = k_malloc(cap * sizeof(*q));
		if (!q) {
			rc = -ENOMEM;
			goto out;
		}
		for (uint32_t i = 0; i < l->acq_len; i++)
			q[i] = l->acq[(l->acq_head + i) % l->acq_cap];
		k_free(l->acq);
		l->acq = q;
		l->acq_cap = cap;
		l->acq_head = 0;
	}
	l->acq[(l->acq_head + l->acq_len) % l->acq_cap] = e;
	l->acq_len++;
	e->state = u->state = UNIX_CONNECTED;
	e->s.peercred = u->s.peercred = true;
	e->s.sndbuf = l->s.sndbuf;
	e->s.rcvbuf = l->s.rcvbuf;
	e->peer = u;
	unix_get(u);
	u->peer = e;
	unix_get(e);
	unix_wake(l);
	unix_wake(u);
	unix_put(l);
	return 0;
out:
	if (e)
		unix_kill(e, false);
	unix_put(l);
	return rc;
}

static int unix_listen(struct sock *s, int backlog)
{
	struct unix_sock *u = unix_sk(s);
	if (!u->addr)
		return -EINVAL;
	if (u->state != UNIX_UNCONN && u->state != UNIX_LISTEN)
		return -EINVAL;
	if ((unsigned)backlog > UNIX_SOMAXCONN)
		backlog = UNIX_SOMAXCONN;
	u->acq_max = (uint32_t)backlog;
	u->state = UNIX_LISTEN;
	u->s.peercred = true; /* Linux's unix_listen records the listener's own credentials */
	unix_wake(u); /* connectors waiting for room re-check */
	return 0;
}

static int unix_accept(struct sock *s, struct sock **out, bool nonblock)
{
	struct unix_sock *u = unix_sk(s);
	if (u->state != UNIX_LISTEN)
		return -EINVAL;
	int rc = sock_wait_accept(s, &u->acq_len, nonblock);
	if (rc)
		return rc;
	struct unix_sock *e = u->acq[u->acq_head];
	u->acq_head = (u->acq_head + 1) % u->acq_cap;
	u->acq_len--;
	sock_wake_bits(&u->s, SOCK_WAKE_OUT); /* a connector may wait for backlog room (it hears any wake) */
	*out = &e->s;  /* the queue's reference becomes the file's */
	return 0;
}

static int unix_shutdown(struct sock *s, int how)
{
	struct unix_sock *u = unix_sk(s);
	uint8_t mode = (uint8_t)(how + 1); /* SHUT_RD -> RCV, SHUT_WR -> SND, SHUT_RDWR -> both */
	u->shut |= mode;
	/* A listener shut for reading hands out what is queued; then a blocking accept fails, as Linux's. */
	u->s.accept_shut = u->state == UNIX_LISTEN && (u->shut & UNIX_RCV_SHUT);
	unix_wake(u);
	struct unix_sock *p = u->peer;
	if (p && s->type == SOCK_STREAM) {
		p->shut |= (uint8_t)(((mode & UNIX_RCV_SHUT) ? UNIX_SND_SHUT : 0) | ((mode & UNIX_SND_SHUT) ? UNIX_RCV_SHUT : 0));
		unix_wake(p);
	}
	return 0;
}

static long unix_inq(struct sock *s)
{
	struct unix_sock *u = unix_sk(s);
	if (u->state == UNIX_LISTEN)
		return -EINVAL;
	if (s->type == SOCK_STREAM)
		return u->len;
	return u->dq_head ? u->dq_head->len : 0;
}

static bool unix_listening(struct sock *s)
{
	return unix_sk(s)->state == UNIX_LISTEN;
}

/* Linux's unix_writable: not listening, and at most a quarter of SO_SNDBUF in flight. */
static bool unix_writable(struct unix_sock *u)
{
	size_t inflight = u->s.type == SOCK_STREAM ? (u->peer ? u->peer->len : 0) : u->wmem;
	return u->state != UNIX_LISTEN && inflight * 4 <= (size_t)u->s.sndbuf;
}

/* Linux's unix_poll (stream) and unix_dgram_poll. */
static uint32_t unix_poll(struct sock *s)
{
	struct unix_sock *u = unix_sk(s);
	uint32_t mask = 0;
	if (s->err)
		mask |= POLLERR;
	if (u->shut == (UNIX_RCV_SHUT | UNIX_SND_SHUT))
		mask |= POLLHUP;
	if (u->shut & UNIX_RCV_SHUT)
		mask |= POLLRDHUP | POLLIN | POLLRDNORM;
	if (u->len || u->dq_head || u->acq_len)
		mask |= POLLIN | POLLRDNORM;
	if (s->type == SOCK_STREAM && u->state == UNIX_UNCONN)
		mask |= POLLHUP;
	bool writable = unix_writable(u);
	struct unix_sock *o = u->peer;
	if (writable && s->type == SOCK_DGRAM && o && o->peer != u && o->dq_count > UNIX_DGRAM_QLEN)
		writable = false;
	if (writable)
		mask |= POLLOUT | POLLWRNORM | POLLWRBAND;
	return mask;
}

/* ---- datagram ---- */

static int unix_dgram_connect(struct sock *s, const void *addr, uint32_t len, bool nonblock)
{
	struct unix_sock *u = unix_sk(s), *o;
	const struct lx_sockaddr *sa = addr;
	(void)nonblock;
	if (len < sizeof(sa->sa_family))
		return -EINVAL;
	if (sa->sa_family == AF_UNSPEC) { /* dissolve the association */
		if (u->peer) {
			unix_wake(u->peer);
			unix_put(u->peer);
		}
		u->peer = NULL;
		u->state = UNIX_UNCONN;
		return 0;
	}
	int rc = unix_addr_check(addr, len);
	if (rc)
		return rc;
	struct unix_addr a;
	unix_addr_make(addr, len, &a);
	rc = unix_find(&a, SOCK_DGRAM, &o);
	if (rc)
		return rc;
	if (o->peer && o->peer != u) { /* Linux's unix_may_send */
		unix_put(o);
		return -EPERM;
	}
	if (u->peer)
		unix_put(u->peer);
	u->peer = o;
	u->state = UNIX_CONNECTED;
	unix_wake(u);
	return 0;
}

/* Waits for room at o (its queue length) and for our own SO_SNDBUF charge: 0 or the wait's error. */
static long unix_dgram_wait(struct unix_sock *u, struct unix_sock *o, uint64_t deadline)
{
	struct k_waiter wu, wo;
	k_wait_add(&wu, &u->s, ~0u, NULL, NULL);
	k_wait_add(&wo, &o->s, ~0u, NULL, NULL);
	long rc = k_wait_block(deadline, K_WAIT_INTR);
	k_wait_del(&wu);
	k_wait_del(&wo);
	if (rc == -ETIMEDOUT)
		return -EAGAIN;
	if (rc == -EINTR)
		return deadline == K_WAIT_FOREVER ? -K_ERESTARTSYS : -EINTR;
	return rc;
}

static long unix_dgram_send_to(struct unix_sock *u, struct unix_sock *o, struct sock_msg *m, size_t len)
{
	uint64_t deadline = sock_deadline(u->s.sndtimeo);
	uint32_t charge = (uint32_t)len + UNIX_DGRAM_OVERHEAD;
	for (;;) {
		if (o->dead) {
			if (u->peer != o)
				return -ECONNREFUSED; /* Linux retries the lookup; the name is gone with the socket */
			u->peer = NULL;
			u->state = UNIX_UNCONN;
			unix_put(o);
			return -ECONNREFUSED;
		}
		if (o->peer && o->peer != u)
			return -EPERM;
		if (o->shut & UNIX_RCV_SHUT)
			return -EPIPE;
		bool qfull = o->peer != u && o->dq_count > UNIX_DGRAM_QLEN;
		bool wfull = u->wmem && u->wmem + charge > (size_t)u->s.sndbuf;
		if (!qfull && !wfull)
			break;
		if (m->flags & MSG_DONTWAIT)
			return -EAGAIN;
		long rc = unix_dgram_wait(u, o, deadline);
		if (rc)
			return rc;
	}
	struct unix_dgram *d = k_malloc(sizeof(*d) + len);
	if (!d)
		return -ENOBUFS;
	d->next = NULL;
	d->len = (uint32_t)len;
	d->charge = charge;
	d->addr = NULL;
	d->scm = NULL;
	if (u->addr) {
		d->addr = k_malloc(sizeof(*d->addr));
		if (!d->addr) {
			k_free(d);
			return -ENOBUFS;
		}
		*d->addr = *u->addr;
	}
	sock_io_get(&m->io, d->data, len);
	d->scm = m->scm; /* the files travel with the datagram */
	m->scm = NULL;
	d->from = u;
	unix_get(u);
	u->wmem += charge;
	*o->dq_tail = d;
	o->dq_tail = &d->next;
	o->dq_count++;
	sock_wake_bits(&o->s, SOCK_WAKE_IN);
	return (long)len;
}

static long unix_dgram_send(struct sock *s, struct sock_msg *m)
{
	struct unix_sock *u = unix_sk(s), *o;
	if (m->flags & MSG_OOB)
		return -EOPNOTSUPP;
	size_t len = sock_io_left(&m->io);
	if (len > (size_t)s->sndbuf - 32)
		return -EMSGSIZE;
	if (m->addrlen) {
		int rc = unix_addr_check(m->addr, m->addrlen);
		if (rc)
			return rc;
		struct unix_addr a;
		unix_addr_make(m->addr, m->addrlen, &a);
		rc = unix_find(&a, SOCK_DGRAM, &o);
		if (rc)
			return rc;
	} else {
		o = u->peer;
		if (!o)
			return -ENOTCONN;
		unix_get(o);
	}
	long rc = unix_dgram_send_to(u, o, m, len);
	unix_put(o);
	return rc;
}

static long unix_dgram_recv(struct sock *s, struct sock_msg *m)
{
	struct unix_sock *u = unix_sk(s);
	if (m->flags & MSG_OOB)
		return -EOPNOTSUPP;
	uint64_t deadline = sock_deadline(s->rcvtimeo);
	while (!u->dq_head) {
		long rc = sock_recv_wait(s, m, u->shut & UNIX_RCV_SHUT, deadline);
		if (rc <= 0)
			return rc;
	}
	struct unix_dgram *d = u->dq_head;
	size_t room = sock_io_left(&m->io);
	size_t n = d->len < room ? d->len : room;
	sock_io_put(&m->io, d->data, n);
	if (n < d->len)
		m->oflags |= MSG_TRUNC;
	if (m->addrlen) {
		if (d->addr)
			unix_name_put(d->addr, m->addr, &m->addrlen);
		else
			m->addrlen = 0;
	}
	long ret = (m->flags & MSG_TRUNC) ? (long)d->len : (long)n;
	if (m->flags & MSG_PEEK) {
		if (d->scm)
			m->scm = sock_scm_dup(d->scm);
		return ret;
	}
	m->scm = d->scm;
	d->scm = NULL;
	u->dq_head = d->next;
	if (!u->dq_head)
		u->dq_tail = &u->dq_head;
	u->dq_count--;
	unix_dgram_free(d);
	sock_wake_bits(&u->s, SOCK_WAKE_OUT); /* senders waiting for queue room wait on our key */
	return ret;
}

static const struct sock_ops unix_stream_ops = {
	.bind = unix_bind,
	.connect = unix_stream_connect,
	.listen = unix_listen,
	.accept = unix_accept,
	.send = unix_stream_send,
	.recv = unix_stream_recv,
	.shutdown = unix_shutdown,
	.getname = unix_getname,
	.inq = unix_inq,
	.listening = unix_listening,
	.poll = unix_poll,
	.release = unix_release,
};

static const struct sock_ops unix_dgram_ops = {
	.bind = unix_bind,
	.connect = unix_dgram_connect,
	.send = unix_dgram_send,
	.recv = unix_dgram_recv,
	.shutdown = unix_shutdown,
	.getname = unix_getname,
	.inq = unix_inq,
	.listening = unix_listening,
	.poll = unix_poll,
	.release = unix_release,
};

static const struct fs_file_ops unix_name_fops = { 0 };
