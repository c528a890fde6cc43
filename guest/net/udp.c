/* udp.c: AF_INET SOCK_DGRAM sockets on lwIP's raw UDP API, with Linux's errno values and readiness. */
#include <string.h>
#include "k.h"
#include "net.h"
#include "sock.h"
#include "lwip/udp.h"
#include "lwip/netif.h"

/*
 * Received datagrams stay in lwIP's pbufs until read (one copy, pbuf ->
 * app); the queue is bounded by SO_RCVBUF as on Linux: a datagram that
 * would pass it is dropped. A send copies the app's bytes into one pbuf and
 * hands it to lwIP, then flushes the loopback.
 */
#define USO_MAX_PAYLOAD 65507 /* 65535 - IP header - UDP header */

struct uso_dgram {
	struct uso_dgram *next;
	struct pbuf *p;
	uint32_t ip;   /* network order */
	uint16_t port; /* host order */
};

struct uso {
	struct sock s;
	struct udp_pcb *pcb;
	bool connected;
	bool rcv_shut, snd_shut;
	struct uso_dgram *head, **tail;
	size_t queued; /* bytes waiting, against SO_RCVBUF */
};

static const struct sock_ops uso_ops;

static struct uso *uso_of(struct sock *s)
{
	return (struct uso *)s;
}

static struct uso *uso_rp_pick(struct uso *u, uint32_t ip, uint16_t port);

static void uso_recv_cb(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr, u16_t port)
{
	(void)pcb;
	struct uso *u = uso_rp_pick(arg, ip4_addr_get_u32(ip_2_ip4(addr)), port);
	struct uso_dgram *d = NULL;
	if (u->rcv_shut || u->queued + p->tot_len > (size_t)u->s.rcvbuf || !(d = k_malloc(sizeof(*d)))) {
		pbuf_free(p); /* Linux drops what does not fit the receive buffer */
		return;
	}
	d->next = NULL;
	d->p = p;
	d->ip = ip4_addr_get_u32(ip_2_ip4(addr));
	d->port = port;
	*u->tail = d;
	u->tail = &d->next;
	u->queued += p->tot_len;
	sock_wake_bits(&u->s, SOCK_WAKE_IN);
}

int inet_udp_create(struct sock **out)
{
	struct uso *u = k_calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	sock_init(&u->s, &uso_ops, AF_INET, SOCK_DGRAM, IPPROTO_UDP);
	u->tail = &u->head;
	u->pcb = udp_new_ip_type(IPADDR_TYPE_V4);
	if (!u->pcb) {
		k_free(u);
		return -ENOBUFS;
	}
	udp_recv(u->pcb, uso_recv_cb, u);
	*out = &u->s;
	return 0;
}

/*
 * SO_REUSEPORT: lwIP's udp_bind shares a port only between pcbs that all
 * carry SOF_REUSEADDR. Linux's rule is applied here (a port is shared when
 * every socket on it set SO_REUSEPORT) and SOF_REUSEADDR lent for the one
 * udp_bind. lwIP then gives each unicast datagram to the first matching pcb
 * (the last one that matched: it moves it to the front of its list), and
 * uso_rp_pick passes it on to the group member Linux would pick: one chosen
 * by a hash of the source, so a server's sockets share the flows and each
 * flow stays on one socket.
 */
static bool uso_rp_overlap(const struct udp_pcb *p, uint32_t ip, uint16_t port)
{
	uint32_t pip = ip4_addr_get_u32(ip_2_ip4(&p->local_ip));
	return p->local_port == port && (pip == ip || !pip || !ip);
}

static bool uso_rp_member(const struct udp_pcb *p)
{
	const struct uso *o = p->recv == uso_recv_cb ? p->recv_arg : NULL;
	return o && o->s.reuseport;
}

/* Whether p is in the SO_REUSEPORT group of u's unconnected pcb (Linux's: the same port and address, unconnected). */
static bool uso_rp_peer(const struct udp_pcb *p, const struct uso *u)
{
	return uso_rp_member(p) && !(p->flags & UDP_FLAGS_CONNECTED) && p->local_port == u->pcb->local_port &&
	       ip_addr_cmp(&p->local_ip, &u->pcb->local_ip);
}

/* A 64-bit mix (splitmix64's finaliser): every input bit moves every output bit. */
static uint64_t uso_rp_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/*
 * The member of u's group that takes a unicast datagram from ip:port: the
 * highest hash of the source with the member (rendezvous hashing), which
 * lwIP's reordering of its list cannot change and a member joining or
 * leaving changes only for the flows it takes or had. u itself when it is
 * connected, alone, or the datagram was broadcast or multicast (lwIP hands
 * those to every matching socket).
 */
static struct uso *uso_rp_pick(struct uso *u, uint32_t ip, uint16_t port)
{
	if (!u->s.reuseport || (u->pcb->flags & UDP_FLAGS_CONNECTED) || ip4_addr_ismulticast(ip4_current_dest_addr()) ||
	    ip4_addr_isbroadcast(ip4_current_dest_addr(), ip_current_input_netif()))
		return u;
	uint64_t flow = (uint64_t)ip << 16 | port, best_w = 0;
	struct uso *best = u;
	for (struct udp_pcb *p = udp_pcbs; p; p = p->next) {
		if (p != u->pcb && !uso_rp_peer(p, u))
			continue;
		uint64_t w = uso_rp_mix(flow ^ uso_rp_mix((uintptr_t)p->recv_arg));
		if (w >= best_w) {
			best_w = w;
			best = p->recv_arg;
		}
	}
	return best;
}

static err_t uso_rp_bind(struct uso *u, const ip_addr_t *ip, uint16_t port)
{
	uint32_t ip4 = ip4_addr_get_u32(ip_2_ip4(ip));
	bool any = false, shareable = port && u->s.reuseport;
	for (struct udp_pcb *p = udp_pcbs; p && shareable; p = p->next)
		if (p != u->pcb && uso_rp_overlap(p, ip4, port)) {
			shareable = uso_rp_member(p);
			any = true;
		}
	if (!shareable || !any)
		return udp_bind(u->pcb, ip, port);
	for (struct udp_pcb *p = udp_pcbs; p; p = p->next)
		if (uso_rp_overlap(p, ip4, port))
			ip_set_option(p, SOF_REUSEADDR);
	ip_set_option(u->pcb, SOF_REUSEADDR);
	err_t e = udp_bind(u->pcb, ip, port);
	for (struct udp_pcb *p = udp_pcbs; p; p = p->next) {
		const struct uso *o = p->recv == uso_recv_cb ? p->recv_arg : NULL;
		if (uso_rp_overlap(p, ip4, port) && o && !o->s.reuseaddr)
			ip_reset_option(p, SOF_REUSEADDR);
	}
	if (!u->s.reuseaddr)
		ip_reset_option(u->pcb, SOF_REUSEADDR);
	return e;
}

static int uso_bind(struct sock *s, const void *addr, uint32_t len)
{
	struct uso *u = uso_of(s);
	int rc = inet_bind_check(addr, len);
	if (rc)
		return rc;
	const struct lx_sockaddr_in *in = addr;
	if (u->pcb->local_port)
		return -EINVAL;
	if (s->reuseaddr)
		ip_set_option(u->pcb, SOF_REUSEADDR);
	ip_addr_t ip;
	ip_addr_set_ip4_u32(&ip, in->sin_addr);
	err_t e = uso_rp_bind(u, &ip, lwip_ntohs(in->sin_port));
	return e == ERR_OK ? 0 : e == ERR_USE ? -EADDRINUSE : -ENOBUFS;
}

/* Linux's ip4_datagram_connect; AF_UNSPEC dissolves the association. */
static int uso_connect(struct sock *s, const void *addr, uint32_t len, bool nonblock)
{
	struct uso *u = uso_of(s);
	const struct lx_sockaddr_in *in = addr;
	(void)nonblock;
	if (len < sizeof(in->sin_family))
		return -EINVAL;
	if (in->sin_family == AF_UNSPEC) {
		udp_disconnect(u->pcb);
		u->connected = false;
		return 0;
	}
	int rc = sock_in_check(addr, len, true);
	if (rc)
		return rc;
	ip_addr_t ip;
	ip_addr_set_ip4_u32(&ip, in->sin_addr);
	err_t e = udp_connect(u->pcb, &ip, lwip_ntohs(in->sin_port));
	if (e != ERR_OK)
		return e == ERR_USE ? -EADDRINUSE : -ENOBUFS;
	u->connected = true;
	sock_wake(s);
	return 0;
}

static long uso_send(struct sock *s, struct sock_msg *m)
{
	struct uso *u = uso_of(s);
	ip_addr_t ip;
	u16_t port;
	if (m->flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (m->addrlen) {
		const struct lx_sockaddr_in *in = m->addr;
		if (m->addrlen < sizeof(*in))
			return -EINVAL;
		if (in->sin_family != AF_INET && in->sin_family != AF_UNSPEC)
			return -EAFNOSUPPORT;
		if (!in->sin_port)
			return -EINVAL;
		ip_addr_set_ip4_u32(&ip, in->sin_addr);
		port = lwip_ntohs(in->sin_port);
	} else {
		if (!u->connected)
			return -EDESTADDRREQ;
		ip = u->pcb->remote_ip;
		port = u->pcb->remote_port;
	}
	if (u->snd_shut)
		return -EPIPE;
	size_t len = sock_io_left(&m->io);
	if (len > USO_MAX_PAYLOAD)
		return -EMSGSIZE;
	struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)len, PBUF_RAM);
	if (!p)
		return -ENOBUFS;
	sock_io_get(&m->io, p->payload, len); /* PBUF_RAM: one contiguous payload */
	err_t e = udp_sendto(u->pcb, p, &ip, port);
	pbuf_free(p);
	if (e != ERR_OK)
		return e == ERR_RTE ? -ENETUNREACH : e == ERR_VAL ? -EINVAL : -ENOBUFS;
	net_flush();
	return (long)len;
}

static long uso_recv(struct sock *s, struct sock_msg *m)
{
	struct uso *u = uso_of(s);
	if (m->flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (m->flags & MSG_ERRQUEUE)
		return -EAGAIN;
	uint64_t deadline = sock_deadline(s->rcvtimeo);
	while (!u->head) {
		long rc = sock_recv_wait(s, m, u->rcv_shut, deadline);
		if (rc <= 0)
			return rc;
	}
	struct uso_dgram *d = u->head;
	size_t len = d->p->tot_len, room = sock_io_left(&m->io), n = len < room ? len : room;
	size_t left = n;
	for (struct pbuf *q = d->p; q && left; q = q->next) {
		size_t c = q->len < left ? q->len : left;
		sock_io_put(&m->io, q->payload, c);
		left -= c;
	}
	if (n < len)
		m->oflags |= MSG_TRUNC;
	if (m->addrlen)
		sock_in_put(m->addr, &m->addrlen, d->ip, lwip_htons(d->port));
	long ret = (m->flags & MSG_TRUNC) ? (long)len : (long)n;
	if (m->flags & MSG_PEEK)
		return ret;
	u->head = d->next;
	if (!u->head)
		u->tail = &u->head;
	u->queued -= len;
	pbuf_free(d->p);
	k_free(d);
	return ret;
}

/* Linux's inet_shutdown on a datagram socket: ENOTCONN unless connected, the flags recorded either way. */
static int uso_shutdown(struct sock *s, int how)
{
	struct uso *u = uso_of(s);
	if (how != SHUT_WR)
		u->rcv_shut = true;
	if (how != SHUT_RD)
		u->snd_shut = true;
	sock_wake(s);
	return u->connected ? 0 : -ENOTCONN;
}

static int uso_getname(struct sock *s, void *addr, uint32_t *len, bool peer)
{
	struct uso *u = uso_of(s);
	struct udp_pcb *p = u->pcb;
	if (peer) {
		if (!u->connected)
			return -ENOTCONN;
		sock_in_put(addr, len, ip4_addr_get_u32(ip_2_ip4(&p->remote_ip)), lwip_htons(p->remote_port));
	} else {
		sock_in_put(addr, len, ip4_addr_get_u32(ip_2_ip4(&p->local_ip)), lwip_htons(p->local_port));
	}
	return 0;
}

static long uso_inq(struct sock *s)
{
	struct uso *u = uso_of(s);
	return u->head ? (long)u->head->p->tot_len : 0;
}

/* Linux's udp_poll/datagram_poll: always writable (lwIP never holds a datagram back). */
static uint32_t uso_poll(struct sock *s)
{
	struct uso *u = uso_of(s);
	uint32_t mask = POLLOUT | POLLWRNORM | POLLWRBAND;
	if (s->err)
		mask |= POLLERR;
	if (u->rcv_shut && u->snd_shut)
		mask |= POLLHUP;
	if (u->rcv_shut)
		mask |= POLLIN | POLLRDNORM | POLLRDHUP;
	if (u->head)
		mask |= POLLIN | POLLRDNORM;
	return mask;
}

static void uso_release(struct sock *s)
{
	struct uso *u = uso_of(s);
	udp_remove(u->pcb);
	while (u->head) {
		struct uso_dgram *d = u->head;
		u->head = d->next;
		pbuf_free(d->p);
		k_free(d);
	}
	k_free(u);
}

static int uso_setopt(struct sock *s, int level, int name, const void *val, uint32_t len)
{
	(void)s, (void)level, (void)name, (void)val, (void)len;
	return -ENOPROTOOPT; /* IPPROTO_IP/IPPROTO_UDP options are not implemented */
}

static int uso_getopt(struct sock *s, int level, int name, void *val, uint32_t *len)
{
	(void)s, (void)level, (void)name, (void)val, (void)len;
	return -ENOPROTOOPT;
}

static const struct sock_ops uso_ops = {
	.bind = uso_bind,
	.connect = uso_connect,
	.send = uso_send,
	.recv = uso_recv,
	.shutdown = uso_shutdown,
	.getname = uso_getname,
	.setopt = uso_setopt,
	.getopt = uso_getopt,
	.inq = uso_inq,
	.poll = uso_poll,
	.release = uso_release,
};
