/* udp.c: AF_INET SOCK_DGRAM sockets on lwIP's raw UDP API, with Linux's errno values and readiness. */
#include <string.h>
#include "k.h"
#include "net.h"
#include "sock.h"
#include "lwip/udp.h"
#include "lwip/inet_chksum.h"
#include "lwip/netif.h"
#include "lwip/ip4.h"
#include "lwip/prot/ip.h"

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

uint64_t inet_udp_queued(void)
{
	uint64_t n = 0;
	for (struct udp_pcb *p = udp_pcbs; p; p = p->next)
		if (p->recv == uso_recv_cb && p->recv_arg)
			n += ((struct uso *)p->recv_arg)->queued;
	return n;
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

/*
 * Linux's icmp_err_convert for a destination unreachable's code: the errno
 * of a "hard" error, which a connected socket without IP_RECVERR reports
 * (__udp4_lib_err); 0 for the soft ones (network or host unreachable, path
 * MTU, ...), which it does not, and for codes past the table.
 */
static int uso_icmp_errno(uint8_t code)
{
	static const uint8_t hard[16] = {
		[2] = ENOPROTOOPT, [3] = ECONNREFUSED, [6] = ENETUNREACH,   [7] = EHOSTDOWN,     [8] = ENONET,
		[9] = ENETUNREACH, [10] = EHOSTUNREACH, [13] = EHOSTUNREACH, [14] = EHOSTUNREACH, [15] = EHOSTUNREACH,
	};
	return code < 16 ? hard[code] : 0;
}

int uso_icmp_input(struct pbuf *p, struct netif *inp)
{
	const uint8_t *ip = p->payload;
	uint32_t len = p->len, ihl = (uint32_t)(ip[0] & 0x0f) * 4u;
	/* An unfragmented ICMP packet, wholly in this pbuf, holding the IP header and 8 bytes of what failed. */
	if (len < 20 || ihl < 20 || ip[9] != IP_PROTO_ICMP || (((uint32_t)ip[6] << 8 | ip[7]) & 0x3fffu))
		return 0;
	uint32_t tot = (uint32_t)ip[2] << 8 | ip[3];
	if (tot > len || tot < ihl + 8 + 20 + 8)
		return 0;
	const uint8_t *icmp = ip + ihl, *in = icmp + 8;
	uint32_t in_ihl = (uint32_t)(in[0] & 0x0f) * 4u;
	if (icmp[0] != 3 || (in[0] >> 4) != 4 || in_ihl < 20 || in[9] != IP_PROTO_UDP || tot < ihl + 8 + in_ihl + 8)
		return 0;
	/* The hook runs before lwIP checks the header or the address: only what was sent to us, about what we sent. */
	uint32_t odst, src;
	memcpy(&odst, ip + 16, 4);
	memcpy(&src, in + 12, 4);
	if (odst != ip4_addr_get_u32(netif_ip4_addr(inp)) || src != odst)
		return 0;
	IF__NETIF_CHECKSUM_ENABLED(inp, NETIF_CHECKSUM_CHECK_IP) /* lo checks none (lwipopts.h) */
	{
		if (inet_chksum(ip, (u16_t)ihl) != 0)
			return 0;
	}
	IF__NETIF_CHECKSUM_ENABLED(inp, NETIF_CHECKSUM_CHECK_ICMP)
	{
		if (inet_chksum(icmp, (u16_t)(tot - ihl)) != 0)
			return 0;
	}
	int e = uso_icmp_errno(icmp[1]);
	if (!e)
		return 0;
	const uint8_t *uh = in + in_ihl;
	uint32_t dst;
	memcpy(&dst, in + 16, 4);
	uint16_t sport = (uint16_t)(uh[0] << 8 | uh[1]), dport = (uint16_t)(uh[2] << 8 | uh[3]);
	/* Only a connected socket hears it (Linux: unconnected ones only with IP_RECVERR, not kept here). */
	for (struct udp_pcb *pcb = udp_pcbs; pcb; pcb = pcb->next) {
		uint32_t lip = ip4_addr_get_u32(ip_2_ip4(&pcb->local_ip));
		if (pcb->recv != uso_recv_cb || !(pcb->flags & UDP_FLAGS_CONNECTED) || pcb->local_port != sport ||
		    pcb->remote_port != dport || ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip)) != dst || (lip && lip != src))
			continue;
		struct uso *u = pcb->recv_arg;
		u->s.err = e;
		sock_wake(&u->s);
		break;
	}
	return 0;
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
	if (s->err) { /* an ICMP error (uso_icmp_input), reported once, as Linux's sock_alloc_send_skb does */
		int e = s->err;
		s->err = 0;
		return -e;
	}
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
	if (s->err) { /* before queued data, as Linux's __skb_recv_udp */
		int e = s->err;
		s->err = 0;
		return -e;
	}
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
		uint32_t ip = ip4_addr_get_u32(ip_2_ip4(&p->local_ip));
		if (!ip && u->connected) { /* Linux's connect picks the route's source address; lwIP picks it per datagram */
			struct netif *n = ip4_route(ip_2_ip4(&p->remote_ip));
			ip = n ? ip4_addr_get_u32(netif_ip4_addr(n)) : 0;
		}
		sock_in_put(addr, len, ip, lwip_htons(p->local_port));
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
