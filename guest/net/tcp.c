/* tcp.c: AF_INET SOCK_STREAM sockets on lwIP's raw TCP API, with Linux's states, errno values and readiness. */
#include <string.h>
#include "k.h"
#include "net.h"
#include "sock.h"
#include "lwip/tcp.h"
#include "lwip/netif.h"
#include "lwip/priv/tcp_priv.h" /* tcp_active_pcbs: what is left to send at exit; tcp_fasttmr */
#include "lwip/timeouts.h"
#include "lwiphooks.h"
#include "wait.h"

/*
 * lwIP's callbacks (recv, sent, err, connected, accept) run inside lwIP
 * calls made by a syscall or by the network poller, never while another
 * socket call is half done (one vCPU, cooperative threads): they only
 * queue what arrived and wake the socket's key. A blocked call re-checks
 * its condition after each wake.
 *
 * Received data stays in lwIP's pbufs (one copy, pbuf -> app) and the
 * window opens again (tcp_recved) only as the app reads, so a slow reader
 * throttles the peer and at most TCP_WND bytes wait per connection. Sends
 * copy the app's bytes into lwIP (tcp_write with COPY) and push once per
 * call (tcp_output + net_flush), not once per piece.
 *
 * SO_SNDBUF and SO_RCVBUF, once set (Linux's SOCK_SNDBUF_LOCK and
 * SOCK_RCVBUF_LOCK), bound the stack's buffers, which otherwise stay at
 * their fixed sizes (TCP_SND_BUF, TCP_WND) as Linux's autotuning would
 * grow them: see tso_snd_room and tso_rcv_cap.
 *
 * A socket closed by the app detaches from its pcb (lwIP then finishes the
 * close itself) and is freed at once: lwIP keeps no pointer to it.
 */
#define TSO_SOMAXCONN 4096
#define TSO_RCVBUF_DEFAULT 131072 /* Linux tcp_rmem[1] */
#define TSO_SNDBUF_DEFAULT 16384  /* Linux tcp_wmem[1] */

enum tso_state { TSO_CLOSED, TSO_LISTEN, TSO_CONNECTING, TSO_CONNECTED };

struct tso {
	struct sock s;
	struct tcp_pcb *pcb;      /* NULL once lwIP freed it (reset, abort, clean end) */
	enum tso_state state;
	bool reported;            /* a non-blocking connect's success was seen by connect(2) (Linux's SS_CONNECTED) */
	bool connect_failed;      /* the last connect attempt ended in an error (a second connect() reports it) */
	uint16_t wire_mss;        /* the wire's MSS when lwIP sends TSO segments (net_tcp_tso), else 0 */
	bool was_connected;       /* a connection existed; once it ended, connect(2) says EISCONN as Linux's SS_CONNECTED */
	bool rcv_shut, snd_shut;  /* Linux's sk_shutdown: FIN received / SHUT_RD, SHUT_WR / connection over */
	bool fin_rcvd;            /* the peer's FIN came: with our side still open, Linux's CLOSE_WAIT */
	bool nodelay;
	bool cork;                /* TCP_CORK: hold partial segments until uncorked (full ones still go) */
	bool snd_locked, rcv_locked; /* SO_SNDBUF / SO_RCVBUF were set: they bound the send queue / the window */
	bool port_auto;           /* the stack picked the port (bind to port 0, listen without bind) */
	bool name_kept;           /* a listener stopped and gave its port back: getsockname still names it, as Linux's inet_sport */
	uint32_t bind_ip;         /* the address bind(2) named (network order; 0: any) */
	int keepidle, keepintvl, keepcnt; /* seconds, seconds, probes */
	struct pbuf *rxq;         /* received, not yet read (a chain) */
	uint32_t rx_len;
	uint32_t local_ip, remote_ip; /* network order, kept for getsockname/getpeername after the pcb is gone */
	uint16_t local_port, remote_port; /* host order */
	/* listener: accepted by lwIP, not yet by the app */
	struct tso **acq;
	uint32_t acq_head, acq_len, acq_cap;
	int backlog;
};

static const struct sock_ops tso_ops;

static struct tso *tso_of(struct sock *s)
{
	return (struct tso *)s;
}

static void tso_wake(struct tso *t)
{
	sock_wake(&t->s);
}

/* lwIP's errors as Linux's. */
static int tso_errno(err_t e)
{
	switch (e) {
	case ERR_OK:
		return 0;
	case ERR_MEM:
	case ERR_BUF:
		return -ENOBUFS;
	case ERR_RTE:
		return -ENETUNREACH;
	case ERR_USE:
		return -EADDRINUSE;
	case ERR_ISCONN:
		return -EISCONN;
	case ERR_ALREADY:
	case ERR_INPROGRESS:
		return -EALREADY;
	case ERR_RST:
		return -ECONNRESET;
	case ERR_ABRT:
		return -ECONNABORTED;
	case ERR_CLSD:
		return -ENOTCONN;
	case ERR_VAL:
	case ERR_ARG:
		return -EINVAL;
	default:
		return -EIO;
	}
}

static void tso_save_addrs(struct tso *t)
{
	if (!t->pcb || t->name_kept)
		return;
	t->local_ip = ip4_addr_get_u32(ip_2_ip4(&t->pcb->local_ip));
	t->local_port = t->pcb->local_port;
	t->remote_ip = ip4_addr_get_u32(ip_2_ip4(&t->pcb->remote_ip));
	t->remote_port = t->pcb->remote_port;
}

#define TSO_SOF_REUSEPORT 0x80u /* see SO_REUSEPORT below */

/* The pcb carries the socket's SO_REUSEPORT (in a listening pcb too). */
static void tso_rp_mark(struct tso *t)
{
	if (t->pcb && t->s.reuseport)
		ip_set_option(t->pcb, TSO_SOF_REUSEPORT);
	else if (t->pcb)
		ip_reset_option(t->pcb, TSO_SOF_REUSEPORT);
}

/* Applies the options kept in the socket to its pcb (a new pcb, or an option just set). */
static void tso_apply(struct tso *t)
{
	struct tcp_pcb *p = t->pcb;
	if (!p || p->state == LISTEN)
		return;
	if (t->nodelay)
		tcp_nagle_disable(p);
	else
		tcp_nagle_enable(p);
	if (t->s.keepalive)
		ip_set_option(p, SOF_KEEPALIVE);
	else
		ip_reset_option(p, SOF_KEEPALIVE);
	tso_rp_mark(t);
	p->keep_idle = (u32_t)t->keepidle * 1000;
	p->keep_intvl = (u32_t)t->keepintvl * 1000;
	p->keep_cnt = (u32_t)t->keepcnt;
}

/*
 * Bytes queued and not yet acknowledged: lwIP's send buffer starts at
 * TCP_SND_BUF and shrinks by what is written (snd_buf itself: tcp_sndbuf
 * says at most 64 KiB, what one tcp_write takes).
 */
static uint32_t tso_snd_held(const struct tcp_pcb *p)
{
	return p->snd_buf < TCP_SND_BUF ? TCP_SND_BUF - p->snd_buf : 0;
}

/* What SO_SNDBUF lets the socket hold, within the stack's TCP_SND_BUF. */
static uint32_t tso_snd_limit(const struct tso *t)
{
	return (uint32_t)t->s.sndbuf < TCP_SND_BUF ? (uint32_t)t->s.sndbuf : TCP_SND_BUF;
}

/*
 * Bytes a send may queue now: lwIP's room, and with SO_SNDBUF set what its
 * limit leaves. Linux stops queueing at sk_wmem_queued >= sk_sndbuf (the
 * doubled value) counting its buffers' overhead too; here the payload
 * alone counts, which on Linux's loopback is within ~25% of it.
 */
static uint32_t tso_snd_room(const struct tso *t)
{
	uint32_t room = tcp_sndbuf(t->pcb);
	if (t->snd_locked) {
		uint32_t held = tso_snd_held(t->pcb), lim = tso_snd_limit(t);
		uint32_t left = held < lim ? lim - held : 0;
		room = left < room ? left : room;
	}
	return room;
}

/*
 * Whether writers hear of room: lwIP's own test (its sockets' select: the
 * send buffer has TCP_SNDLOWAT free and few segments queued); with
 * SO_SNDBUF set, once at most half its limit is held (what Linux's
 * sk_stream_is_writeable comes to on its loopback, measured: POLLOUT came
 * back with 8 of 16 KiB, 66 of 128 KiB queued).
 */
static bool tso_writable(const struct tso *t)
{
	const struct tcp_pcb *p = t->pcb;
	if (tcp_sndqueuelen(p) >= TCP_SNDQUEUELOWAT)
		return false;
	if (t->snd_locked)
		return tso_snd_held(p) * 2 <= tso_snd_limit(t) && tcp_sndbuf(p) >= TCP_SNDLOWAT;
	return tcp_sndbuf(p) >= TCP_SNDLOWAT;
}

/*
 * The receive window SO_RCVBUF allows, 0 when it was never set (the
 * stack's TCP_WND then). Linux advertises about half the doubled value
 * (tcp_adv_win_scale 1: measured, SO_RCVBUF 4096 holds 4096 unread bytes);
 * never less than a segment here, since lwIP opens a window again only by
 * whole segments (tcp_update_rcv_ann_wnd), nor more than the window lwIP
 * may announce on this connection.
 */
static uint32_t tso_rcv_cap(const struct tso *t, const struct tcp_pcb *p)
{
	if (!t->rcv_locked)
		return 0;
	uint32_t w = (uint32_t)t->s.rcvbuf / 2;
	if (w < p->mss)
		w = p->mss;
	return w < TCP_WND_MAX(p) ? w : TCP_WND_MAX(p);
}

/*
 * A connection just established gets the window SO_RCVBUF allows: lwIP
 * opened it to TCP_WND when it read the SYN's window scale option, and the
 * peer has heard no more than the SYN's unscaled window yet (which
 * inet_tcp_syn_wnd lowered too).
 */
static void tso_rcv_limit(struct tso *t)
{
	struct tcp_pcb *p = t->pcb;
	uint32_t cap = p ? tso_rcv_cap(t, p) : 0;
	if (!cap || p->rcv_wnd + t->rx_len <= cap)
		return;
	p->rcv_wnd = p->rcv_ann_wnd = cap > t->rx_len ? cap - t->rx_len : 0;
	p->rcv_ann_right_edge = p->rcv_nxt + p->rcv_ann_wnd;
}

void inet_tcp_syn_wnd(const struct tcp_pcb *pcb, struct tcp_hdr *hdr)
{
	const struct tso *t = NULL;
	if (pcb->state == SYN_SENT)
		t = pcb->callback_arg;
	else if (pcb->state == SYN_RCVD && pcb->listener) /* NULL once the listener closed */
		t = pcb->listener->callback_arg;
	uint32_t cap = t ? tso_rcv_cap(t, pcb) : 0;
	if (cap && cap < lwip_ntohs(hdr->wnd))
		hdr->wnd = lwip_htons((u16_t)cap);
}

/*
 * Opens the window again by n bytes the app read, so that window plus
 * unread data stays within what SO_RCVBUF allows (a lowered SO_RCVBUF takes
 * effect as the app reads: the window never shrinks).
 */
static void tso_credit(struct tso *t, uint32_t n)
{
	struct tcp_pcb *p = t->pcb;
	if (!p || p->state == LISTEN)
		return;
	uint32_t cap = tso_rcv_cap(t, p);
	int32_t seen = (int32_t)(p->rcv_ann_right_edge - p->rcv_nxt); /* the window the peer last heard of */
	if (cap) {
		uint32_t have = p->rcv_wnd + t->rx_len;
		n = have >= cap ? 0 : n < cap - have ? n : cap - have;
	}
	for (uint32_t left = n; left;) {
		u16_t c = left > 0xffff ? 0xffff : (u16_t)left;
		tcp_recved(p, c);
		left -= c;
	}
	/*
	 * lwIP sends a window update by itself only once the window grew by
	 * TCP_WND_UPDATE_THRESHOLD (35 KiB), more than a small SO_RCVBUF's whole
	 * window: the peer would wait for its persist timer. Tell it as soon as
	 * a window that had closed to less than half opens again.
	 */
	if (cap && n && (int32_t)p->rcv_ann_wnd > seen && seen < (int32_t)(cap / 2)) {
		tcp_ack_now(p);
		tcp_output(p);
	}
}

/* ---- lwIP callbacks ---- */

/*
 * Delayed ACKs: lwIP sends a pending one at its next fast timer, up to
 * 250 ms (TCP_TMR_INTERVAL) after the data, where Linux's delayed-ACK timer
 * waits ~40 ms at its shortest (TCP_ATO_MIN) and a peer's Nagle holds its
 * next small write until the ACK comes (a request written in two parts
 * stalled that long). A segment that leaves an ACK pending arms a one-shot
 * timer of TSO_DELACK_MS that runs lwIP's fast timer, which sends every
 * pending ACK; an answer sent before then carries the ACK as usual.
 */
#define TSO_DELACK_MS 40
static bool tso_delack_armed;

static void tso_delack(void *arg)
{
	(void)arg;
	tso_delack_armed = false;
	tcp_fasttmr();
}

static void tso_delack_arm(const struct tcp_pcb *pcb)
{
	if ((pcb->flags & TF_ACK_DELAY) && !tso_delack_armed) {
		tso_delack_armed = true;
		sys_timeout(TSO_DELACK_MS, tso_delack, NULL);
	}
}

static err_t tso_recv_cb(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct tso *t = arg;
	(void)err; /* always ERR_OK in lwIP 2.1 */
	tso_delack_arm(pcb);
	if (!p) {
		t->rcv_shut = true; /* FIN */
		t->fin_rcvd = true;
	} else {
		if (t->rxq)
			pbuf_cat(t->rxq, p);
		else
			t->rxq = p;
		t->rx_len += p->tot_len;
		sock_wake_bits(&t->s, SOCK_WAKE_IN);
		return ERR_OK;
	}
	tso_wake(t);
	return ERR_OK;
}

static err_t tso_sent_cb(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct tso *t = arg;
	(void)len;
	/*
	 * Like Linux's sk_stream_write_space: writers hear of room only once a
	 * good part of the buffer is free (or everything is acknowledged), not
	 * at every ACK, so a blocked writer wakes for a large write, not a sliver.
	 */
	if (tso_writable(t) || !pcb->unacked)
		sock_wake_bits(&t->s, SOCK_WAKE_OUT);
	return ERR_OK;
}

/* The pcb is gone (lwIP freed it): a reset, an abort (timeouts), or the clean end of a closed connection. */
static void tso_err_cb(void *arg, err_t err)
{
	struct tso *t = arg;
	t->pcb = NULL;
	if (err == ERR_CLSD) {
		t->rcv_shut = t->snd_shut = true;
	} else {
		bool connecting = t->state == TSO_CONNECTING;
		/* Linux's tcp_reset: a reset in CLOSE_WAIT (the peer's FIN came, ours did not go) is EPIPE. */
		bool close_wait = t->fin_rcvd && !t->snd_shut;
		t->s.err = err == ERR_RST ? (connecting ? ECONNREFUSED : close_wait ? EPIPE : ECONNRESET) : ETIMEDOUT;
		t->rcv_shut = t->snd_shut = true;
		if (connecting)
			t->connect_failed = true;
	}
	if (t->state != TSO_LISTEN)
		t->state = TSO_CLOSED;
	tso_wake(t);
}

static err_t tso_connected_cb(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct tso *t = arg;
	(void)pcb, (void)err;
	t->state = TSO_CONNECTED;
	t->was_connected = true;
	t->wire_mss = net_tcp_tso(pcb);
	tso_rcv_limit(t);
	tso_save_addrs(t);
	tso_wake(t);
	return ERR_OK;
}

static void tso_hook(struct tso *t)
{
	tcp_arg(t->pcb, t);
	tcp_recv(t->pcb, tso_recv_cb);
	tcp_sent(t->pcb, tso_sent_cb);
	tcp_err(t->pcb, tso_err_cb);
}

static struct tso *tso_alloc(void)
{
	struct tso *t = k_calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	sock_init(&t->s, &tso_ops, AF_INET, SOCK_STREAM, IPPROTO_TCP);
	t->s.rcvbuf = TSO_RCVBUF_DEFAULT;
	t->s.sndbuf = TSO_SNDBUF_DEFAULT;
	t->keepidle = 7200; /* Linux's tcp_keepalive_time, _intvl, _probes */
	t->keepintvl = 75;
	t->keepcnt = 9;
	return t;
}

/* ---- SO_REUSEPORT ---- */

/*
 * lwIP knows no SO_REUSEPORT: its tcp_bind lets two pcbs share a port only
 * when both carry SOF_REUSEADDR, and it hands every SYN to the first
 * listening pcb that matches. So the socket layer applies Linux's rule
 * itself (a port is shared only when every socket on it set SO_REUSEPORT),
 * lends SOF_REUSEADDR for the one tcp_bind, and the listener lwIP picks
 * passes each new connection on to the group's listeners in turn (Linux
 * hashes the 4-tuple; any fair choice serves): every connection is queued
 * on exactly one listener. The group is found, not kept: the listening pcbs
 * with the same port and address whose sockets set SO_REUSEPORT. A pcb
 * carries the socket's SO_REUSEPORT in a so_options bit lwIP leaves alone,
 * so that connections the app closed (lwIP finishing them, no socket left)
 * still count as the group's, as Linux's orphans keep sk_reuseport.
 */
static struct tso *tso_arg(const struct tcp_pcb *p)
{
	return p->callback_arg;
}

/* True when pcb p holds port on an address overlapping ip (network order; 0 is any). */
static bool tso_rp_overlap(const struct tcp_pcb *p, uint32_t ip, uint16_t port)
{
	uint32_t pip = ip4_addr_get_u32(ip_2_ip4(&p->local_ip));
	return p->local_port == port && (pip == ip || !pip || !ip);
}

/* Whether socket me (SO_REUSEPORT set) may bind ip:port: every other pcb on it belongs to a SO_REUSEPORT socket. */
static bool tso_rp_shareable(const struct tso *me, uint32_t ip, uint16_t port)
{
	struct tcp_pcb *lists[] = { tcp_bound_pcbs, tcp_listen_pcbs.pcbs, tcp_active_pcbs };
	bool any = false;
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		for (struct tcp_pcb *p = lists[i]; p; p = p->next) {
			if (p == me->pcb || !tso_rp_overlap(p, ip, port))
				continue;
			if (!ip_get_option(p, TSO_SOF_REUSEPORT))
				return false;
			any = true;
		}
	return any;
}

#define TSO_SOF_LENT 0x40u /* SOF_REUSEADDR set only for one tcp_bind */

/* Lends SOF_REUSEADDR to every pcb holding ip:port (on) or takes back what was lent. */
static void tso_rp_lend(uint32_t ip, uint16_t port, bool on)
{
	struct tcp_pcb *lists[] = { tcp_bound_pcbs, tcp_listen_pcbs.pcbs, tcp_active_pcbs };
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		for (struct tcp_pcb *p = lists[i]; p; p = p->next) {
			if (!tso_rp_overlap(p, ip, port))
				continue;
			if (on && !ip_get_option(p, SOF_REUSEADDR))
				ip_set_option(p, SOF_REUSEADDR | TSO_SOF_LENT);
			else if (!on && ip_get_option(p, TSO_SOF_LENT))
				ip_reset_option(p, SOF_REUSEADDR | TSO_SOF_LENT);
		}
}

/* tcp_bind of ip:port past the pcbs that hold it already: lwIP's check passes with SOF_REUSEADDR lent to all. */
static err_t tso_bind_lent(struct tso *t, const ip_addr_t *ip, uint16_t port)
{
	uint32_t ip4 = ip4_addr_get_u32(ip_2_ip4(ip));
	tso_rp_lend(ip4, port, true);
	ip_set_option(t->pcb, SOF_REUSEADDR);
	err_t e = tcp_bind(t->pcb, ip, port);
	tso_rp_lend(ip4, port, false);
	if (!t->s.reuseaddr)
		ip_reset_option(t->pcb, SOF_REUSEADDR);
	return e;
}

/* Whether a listener holds ip:port. */
static bool tso_listened(uint32_t ip, uint16_t port)
{
	for (struct tcp_pcb *p = tcp_listen_pcbs.pcbs; p; p = p->next)
		if (tso_rp_overlap(p, ip, port))
			return true;
	return false;
}

/*
 * tcp_bind, with Linux's rules where lwIP's differ: a SO_REUSEPORT socket
 * joins the group that holds its port; SO_REUSEADDR shares a port with no
 * listener (Linux's inet_csk_bind_conflict; lwIP's tcp_bind lets two
 * SOF_REUSEADDR pcbs share it whatever their state, failing only listen).
 */
static err_t tso_bind_linux(struct tso *t, const ip_addr_t *ip, uint16_t port)
{
	uint32_t ip4 = ip4_addr_get_u32(ip_2_ip4(ip));
	if (port && t->s.reuseport && tso_rp_shareable(t, ip4, port))
		return tso_bind_lent(t, ip, port);
	if (port && t->s.reuseaddr && tso_listened(ip4, port))
		return ERR_USE;
	return tcp_bind(t->pcb, ip, port);
}

static uint32_t tso_rp_turn;

/* Whether listening pcb lp is in the SO_REUSEPORT group of l (Linux's: the same port and the same address). */
static bool tso_rp_peer(const struct tcp_pcb *lp, const struct tso *l)
{
	return tso_arg(lp) && tso_arg(lp)->s.reuseport && lp->local_port == l->pcb->local_port &&
	       ip_addr_cmp(&lp->local_ip, &l->pcb->local_ip);
}

/* The listener of l's group that takes the next connection (l itself without SO_REUSEPORT). */
static struct tso *tso_rp_pick(struct tso *l)
{
	if (!l->s.reuseport || !l->pcb)
		return l;
	uint32_t n = 0;
	struct tcp_pcb *lp;
	for (lp = tcp_listen_pcbs.pcbs; lp; lp = lp->next)
		n += tso_rp_peer(lp, l);
	if (n < 2)
		return l;
	uint32_t k = tso_rp_turn++ % n;
	for (lp = tcp_listen_pcbs.pcbs; lp; lp = lp->next)
		if (tso_rp_peer(lp, l) && !k--)
			break;
	return lp ? tso_arg(lp) : l;
}

/* Linux refuses listen(2) where a socket outside the SO_REUSEPORT group already listens on the port. */
static bool tso_rp_listen_ok(const struct tso *t)
{
	for (struct tcp_pcb *lp = tcp_listen_pcbs.pcbs; lp; lp = lp->next)
		if (tso_rp_overlap(lp, t->local_ip, t->local_port) &&
		    (!t->s.reuseport || !ip_get_option(lp, TSO_SOF_REUSEPORT)))
			return false;
	return true;
}

static err_t tso_accept_cb(void *arg, struct tcp_pcb *newpcb, err_t err)
{
	struct tso *l = arg;
	if (err != ERR_OK || !newpcb || !l)
		return ERR_VAL;
	l = tso_rp_pick(l);
	struct tso *t = tso_alloc();
	if (t && l->acq_len == l->acq_cap) {
		uint32_t cap = l->acq_cap ? l->acq_cap * 2 : 8;
		struct tso **q = k_malloc(cap * sizeof(*q));
		if (q) {
			for (uint32_t i = 0; i < l->acq_len; i++)
				q[i] = l->acq[(l->acq_head + i) % l->acq_cap];
			k_free(l->acq);
			l->acq = q;
			l->acq_cap = cap;
			l->acq_head = 0;
		}
	}
	if (!t || l->acq_len == l->acq_cap) {
		k_free(t);
		tcp_abort(newpcb);
		return ERR_ABRT;
	}
	/* Linux's accepted socket inherits the listener's options. */
	struct sock s = l->s;
	t->s.rcvbuf = s.rcvbuf;
	t->s.sndbuf = s.sndbuf;
	t->s.rcvtimeo = s.rcvtimeo;
	t->s.sndtimeo = s.sndtimeo;
	t->s.keepalive = s.keepalive;
	t->s.reuseaddr = s.reuseaddr;
	t->s.reuseport = s.reuseport;
	t->s.linger_on = s.linger_on;
	t->s.linger_secs = s.linger_secs;
	t->snd_locked = l->snd_locked;
	t->rcv_locked = l->rcv_locked;
	t->nodelay = l->nodelay;
	t->keepidle = l->keepidle;
	t->keepintvl = l->keepintvl;
	t->keepcnt = l->keepcnt;
	t->pcb = newpcb;
	t->state = TSO_CONNECTED;
	t->reported = true;
	t->was_connected = true;
	t->wire_mss = net_tcp_tso(newpcb);
	tso_hook(t);
	tso_apply(t);
	tso_rcv_limit(t);
	tso_save_addrs(t);
	l->acq[(l->acq_head + l->acq_len) % l->acq_cap] = t;
	l->acq_len++;
	tso_wake(l);
	return ERR_OK;
}

/* ---- socket operations ---- */

int inet_tcp_create(struct sock **out)
{
	struct tso *t = tso_alloc();
	if (!t)
		return -ENOMEM;
	t->pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
	if (!t->pcb) {
		k_free(t);
		return -ENOBUFS;
	}
	tso_hook(t);
	tso_apply(t);
	*out = &t->s;
	return 0;
}

/* A fresh pcb for a socket whose last one lwIP freed (connect again after a failure). */
static int tso_renew(struct tso *t)
{
	if (t->pcb)
		return 0;
	t->pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
	if (!t->pcb)
		return -ENOBUFS;
	tso_hook(t);
	tso_apply(t);
	if (t->s.reuseaddr)
		ip_set_option(t->pcb, SOF_REUSEADDR);
	return 0;
}

static int tso_bind(struct sock *s, const void *addr, uint32_t len)
{
	struct tso *t = tso_of(s);
	int rc = inet_bind_check(addr, len);
	if (rc)
		return rc;
	const struct lx_sockaddr_in *in = addr;
	if (t->state != TSO_CLOSED || !t->pcb || t->pcb->local_port)
		return -EINVAL;
	if (s->reuseaddr)
		ip_set_option(t->pcb, SOF_REUSEADDR);
	ip_addr_t ip;
	ip_addr_set_ip4_u32(&ip, in->sin_addr);
	rc = tso_errno(tso_bind_linux(t, &ip, lwip_ntohs(in->sin_port)));
	if (!rc) {
		t->port_auto = !in->sin_port; /* Linux's SOCK_BINDPORT_LOCK unset */
		t->bind_ip = in->sin_addr;
		t->name_kept = false;
	}
	tso_save_addrs(t);
	return rc;
}

/*
 * The backlog: Linux's listener takes a SYN while its accept queue holds at
 * most backlog connections (sk_acceptq_is_full), so backlog + 1 wait, up
 * to somaxconn + 1. lwIP's own count (accepts_pending) is 8 bits, so the
 * socket layer keeps the count (tso_syn_ok, from lwIP's input hook): the
 * connections queued for accept(2) plus those lwIP holds half open, whose
 * number alone lwIP's check bounds at TSO_HALF_OPEN_MAX per listener (a
 * SYN flood's bound, where Linux answers with SYN cookies).
 */
#define TSO_HALF_OPEN_MAX 255

/* (In a SO_REUSEPORT group the listener lwIP found is asked, though tso_rp_pick may queue on another.) */
static bool tso_syn_ok(const struct tcp_pcb_listen *lp)
{
	const struct tso *l = lp->callback_arg;
	return !l || l->acq_len + lp->accepts_pending <= (uint32_t)l->backlog;
}

int inet_tcp_inpacket(struct tcp_pcb *pcb, struct tcp_hdr *hdr)
{
	/* A SYN for a listener beyond its backlog is dropped, as Linux's tcp_conn_request: the peer sends it again. */
	if (pcb->state == LISTEN && (TCPH_FLAGS(hdr) & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN &&
	    !tso_syn_ok((const struct tcp_pcb_listen *)(void *)pcb))
		return ERR_ABRT;
	return ERR_OK;
}

static int tso_listen(struct sock *s, int backlog)
{
	struct tso *t = tso_of(s);
	if ((unsigned)backlog > TSO_SOMAXCONN)
		backlog = TSO_SOMAXCONN;
	if (t->state == TSO_LISTEN) {
		t->backlog = backlog;
		return 0;
	}
	if (t->state != TSO_CLOSED || !t->pcb)
		return -EINVAL;
	if (!t->pcb->local_port) {
		/* Linux binds an ephemeral port, on the address bind(2) named if it did (kept when a listener stopped). */
		ip_addr_t ip;
		ip_addr_set_ip4_u32(&ip, t->bind_ip);
		int rc = tso_errno(tcp_bind(t->pcb, &ip, 0));
		if (rc)
			return rc;
		t->port_auto = true;
		t->name_kept = false;
	}
	tso_save_addrs(t);
	if (t->s.reuseport) {
		if (!tso_rp_listen_ok(t))
			return -EADDRINUSE;
		ip_reset_option(t->pcb, SOF_REUSEADDR); /* lwIP's own check would refuse the group's second listener */
	}
	err_t e = ERR_OK;
	struct tcp_pcb *lp = tcp_listen_with_backlog_and_err(t->pcb, TSO_HALF_OPEN_MAX, &e);
	if (t->s.reuseaddr)
		ip_set_option(lp ? lp : t->pcb, SOF_REUSEADDR);
	if (!lp)
		return tso_errno(e);
	t->pcb = lp; /* lwIP freed the old pcb */
	t->state = TSO_LISTEN;
	t->backlog = backlog;
	tcp_arg(lp, t);
	tcp_accept(lp, tso_accept_cb);
	tso_save_addrs(t);
	tso_wake(t);
	return 0;
}

static int tso_accept(struct sock *s, struct sock **out, bool nonblock)
{
	struct tso *t = tso_of(s);
	if (t->state != TSO_LISTEN)
		return -EINVAL;
	int rc = sock_wait_accept(s, &t->acq_len, nonblock);
	if (rc)
		return rc;
	struct tso *c = t->acq[t->acq_head];
	t->acq_head = (t->acq_head + 1) % t->acq_cap;
	t->acq_len--;
	*out = &c->s;
	return 0;
}

/* Linux's inet_stream_connect, including a second call after a non-blocking one. */
static int tso_connect(struct sock *s, const void *addr, uint32_t len, bool nonblock)
{
	struct tso *t = tso_of(s);
	const struct lx_sockaddr_in *in = addr;
	if (len < sizeof(in->sin_family))
		return -EINVAL;
	switch (t->state) {
	case TSO_CONNECTED:
		if (t->reported)
			return -EISCONN;
		t->reported = true;
		return 0;
	case TSO_CONNECTING:
		if (nonblock)
			return -EALREADY;
		break; /* wait for it below */
	case TSO_LISTEN:
		return -EISCONN;
	case TSO_CLOSED:
		if (t->connect_failed) { /* a non-blocking connect failed: this call reports it */
			t->connect_failed = false;
			int e = s->err;
			s->err = 0;
			return e ? -e : -ECONNABORTED;
		}
		if (t->was_connected)
			return -EISCONN; /* a connection was here and ended; Linux wants a new socket */
		int rc = sock_in_check(addr, len, true);
		if (rc)
			return rc;
		rc = tso_renew(t);
		if (rc)
			return rc;
		ip_addr_t ip;
		ip_addr_set_ip4_u32(&ip, in->sin_addr);
		t->name_kept = false;
		t->state = TSO_CONNECTING;
		t->reported = false;
		err_t e = tcp_connect(t->pcb, &ip, lwip_ntohs(in->sin_port), tso_connected_cb);
		if (e != ERR_OK) {
			t->state = TSO_CLOSED;
			return e == ERR_USE ? -EADDRNOTAVAIL : tso_errno(e);
		}
		tso_save_addrs(t);
		net_flush();
		if (nonblock)
			return -EINPROGRESS;
		break;
	}
	uint64_t deadline = sock_deadline(s->sndtimeo);
	while (t->state == TSO_CONNECTING) {
		long rc = sock_wait(s, deadline);
		if (rc == -EAGAIN)
			return -EINPROGRESS; /* SO_SNDTIMEO passed: Linux leaves the attempt running */
		if (rc)
			return (int)rc;
	}
	if (t->state == TSO_CONNECTED) {
		t->reported = true;
		return 0;
	}
	t->connect_failed = false;
	int e = s->err;
	s->err = 0;
	return e ? -e : -ECONNABORTED;
}

/* Room for more data in lwIP's send queue and within SO_SNDBUF. */
static bool tso_can_queue(const struct tso *t)
{
	return tso_snd_room(t) > 0 && tcp_sndqueuelen(t->pcb) < TCP_SND_QUEUELEN;
}

/*
 * Sends what lwIP may. lwIP's Nagle test holds a last segment shorter than
 * pcb->mss while data is unacknowledged; with TSO (t->wire_mss) that is
 * 64 KiB, where Linux holds only less than one wire MSS: so do we.
 */
static void tso_push(struct tso *t)
{
	struct tcp_pcb *p = t->pcb;
	if (p && t->wire_mss && !t->nodelay && p->unsent && p->unsent->len >= t->wire_mss) {
		tcp_nagle_disable(p);
		tcp_output(p);
		tcp_nagle_enable(p);
	} else if (p) {
		tcp_output(p);
	}
	net_flush();
}

/* Linux's sk_stream_error: a pending error first, else EPIPE. */
static long tso_send_error(struct tso *t)
{
	if (t->s.err) {
		int e = t->s.err;
		t->s.err = 0;
		return -e;
	}
	return -EPIPE;
}

static long tso_send(struct sock *s, struct sock_msg *m)
{
	struct tso *t = tso_of(s);
	if (m->flags & MSG_OOB)
		return -EOPNOTSUPP;
	uint64_t deadline = sock_deadline(s->sndtimeo);
	/* Linux's sk_stream_wait_connect. */
	while (t->state == TSO_CONNECTING) {
		if (m->flags & MSG_DONTWAIT)
			return -EAGAIN;
		long rc = sock_wait(s, deadline);
		if (rc)
			return rc;
	}
	if (t->state != TSO_CONNECTED) {
		if (s->err)
			return tso_send_error(t);
		return -EPIPE;
	}
	size_t total = sock_io_left(&m->io), done = 0;
	while (done < total) {
		if (s->err || t->snd_shut || !t->pcb)
			return done ? (long)done : tso_send_error(t);
		void *p;
		size_t n = t->pcb && tso_can_queue(t) ? sock_io_piece(&m->io, &p, tso_snd_room(t)) : 0;
		if (n) {
			bool more = done + n < total || (m->flags & MSG_MORE) || t->cork;
			err_t e = tcp_write(t->pcb, p, (u16_t)n, TCP_WRITE_FLAG_COPY | (more ? TCP_WRITE_FLAG_MORE : 0));
			if (e == ERR_OK) {
				sock_io_skip(&m->io, n);
				done += n;
				continue;
			}
			if (e != ERR_MEM)
				return done ? (long)done : tso_errno(e);
		}
		/* The send queue is full: push what is queued, then wait for acknowledgements. */
		tso_push(t);
		if (t->pcb && tso_can_queue(t))
			continue; /* the flush delivered and acknowledged on loopback */
		if (m->flags & MSG_DONTWAIT)
			return done ? (long)done : -EAGAIN;
		long rc = sock_wait(s, deadline);
		if (rc)
			return done ? (long)done : rc;
	}
	if (t->cork || (m->flags & MSG_MORE)) {
		/* Corked: push only once a full segment waits (a hint, as Linux's cork: the tail may go with it). */
		if (t->pcb && t->pcb->snd_lbb - t->pcb->snd_nxt >= tcp_mss(t->pcb))
			tso_push(t);
		return (long)done;
	}
	tso_push(t);
	return (long)done;
}

/* Copies n bytes from offset skip of the receive chain into io. */
static void tso_copy_out(struct tso *t, struct sock_io *io, uint32_t skip, uint32_t n)
{
	for (struct pbuf *q = t->rxq; q && n; q = q->next) {
		if (skip >= q->len) {
			skip -= q->len;
			continue;
		}
		uint32_t c = q->len - skip < n ? q->len - skip : n;
		sock_io_put(io, (uint8_t *)q->payload + skip, c);
		skip = 0;
		n -= c;
	}
}

/* Drops n read bytes from the chain and opens the window by as much (tso_credit). */
static void tso_consume(struct tso *t, uint32_t n)
{
	t->rx_len -= n;
	uint32_t left = n;
	while (left) {
		u16_t c = left > 0xffff ? 0xffff : (u16_t)left;
		t->rxq = pbuf_free_header(t->rxq, c);
		left -= c;
	}
	if (!t->rx_len && t->rxq) { /* empty pbufs left at the head */
		pbuf_free(t->rxq);
		t->rxq = NULL;
	}
	tso_credit(t, n);
}

static long tso_recv(struct sock *s, struct sock_msg *m)
{
	struct tso *t = tso_of(s);
	if (m->flags & MSG_OOB)
		return -EINVAL; /* no urgent data is ever kept */
	if (m->flags & MSG_ERRQUEUE)
		return -EAGAIN;
	if (t->state == TSO_LISTEN)
		return -ENOTCONN;
	bool peek = m->flags & MSG_PEEK;
	size_t want = sock_io_left(&m->io);
	size_t target = (m->flags & MSG_WAITALL) && !peek ? want : 1;
	uint64_t deadline = sock_deadline(s->rcvtimeo);
	size_t done = 0;
	if (m->addrlen) /* a stream has no per-message address */
		m->addrlen = 0;
	if (!want)
		return 0;
	for (;;) {
		uint32_t avail = t->rx_len - (peek ? (uint32_t)done : 0);
		if (avail) {
			uint32_t n = (uint32_t)(want - done < avail ? want - done : avail);
			tso_copy_out(t, &m->io, peek ? (uint32_t)done : 0, n);
			if (!peek)
				tso_consume(t, n);
			done += n;
		}
		if (done >= target || (peek && done))
			break;
		if (s->err) {
			if (done)
				break;
			int e = s->err;
			s->err = 0;
			tso_wake(t);
			return -e;
		}
		if (t->rcv_shut)
			break;
		if (t->state == TSO_CLOSED)
			return done ? (long)done : -ENOTCONN;
		if (m->flags & MSG_DONTWAIT)
			return done ? (long)done : -EAGAIN;
		long rc = sock_wait(s, deadline);
		if (rc)
			return done ? (long)done : rc;
	}
	if (done && !peek)
		net_flush(); /* window updates tcp_recved queued */
	return (long)done;
}

/* Linux's inet_shutdown for TCP. */
static void tso_acq_reset(struct tso *t);
static void tso_drop_pcb(struct tso *t, bool reset);
static void tso_free(struct tso *t, bool reset);

/*
 * shutdown(SHUT_RD or SHUT_RDWR) of a listener, Linux's tcp_disconnect of
 * it: it stops listening. The connections queued and never accepted are
 * reset, accept(2), blocked or later, fails with EINVAL, new connections are
 * refused. A fresh pcb takes the closed listener's place. A port the app
 * bound stays the socket's, as Linux keeps it (SOCK_BINDPORT_LOCK): the
 * pcb is bound to it again, past the connections accepted on that port. A
 * port the stack picked goes back, as Linux's inet_put_port: getsockname
 * still names it (Linux's inet_sport), another socket may bind it, this
 * one may bind again, and listen(2) picks a new port.
 */
static void tso_listen_stop(struct tso *t)
{
	ip_addr_t ip = t->pcb->local_ip;
	uint16_t port = t->pcb->local_port;
	tso_save_addrs(t);
	tso_acq_reset(t);
	tso_drop_pcb(t, false);
	t->state = TSO_CLOSED;
	t->name_kept = t->port_auto;
	/* Without memory for a pcb the socket is left without one: bind and listen say EINVAL. */
	if (!tso_renew(t) && !t->port_auto)
		(void)tso_bind_lent(t, &ip, port); /* the port was the listener's a moment ago */
	tso_wake(t);
}

static int tso_shutdown(struct sock *s, int how)
{
	struct tso *t = tso_of(s);
	int rc = 0;
	if (t->state == TSO_LISTEN) {
		if (how != SHUT_WR)
			tso_listen_stop(t);
		return 0;
	}
	if (t->state == TSO_CLOSED && !t->rcv_shut && !t->snd_shut)
		rc = -ENOTCONN; /* never connected: Linux still records the shutdown */
	if (how != SHUT_WR)
		t->rcv_shut = true;
	if (how != SHUT_RD && !t->snd_shut) {
		t->snd_shut = true;
		if (t->pcb && t->state == TSO_CONNECTED) {
			tcp_shutdown(t->pcb, 0, 1); /* FIN after the queued data */
			tso_push(t);
		}
	}
	tso_wake(t);
	return rc;
}

static int tso_getname(struct sock *s, void *addr, uint32_t *len, bool peer)
{
	struct tso *t = tso_of(s);
	tso_save_addrs(t);
	if (peer) {
		if (t->state != TSO_CONNECTED)
			return -ENOTCONN;
		sock_in_put(addr, len, t->remote_ip, lwip_htons(t->remote_port));
	} else {
		sock_in_put(addr, len, t->local_ip, lwip_htons(t->local_port));
	}
	return 0;
}

static int tso_int_opt(const void *val, uint32_t len, int *v)
{
	if (len < sizeof(int))
		return -EINVAL;
	memcpy(v, val, sizeof(*v));
	return 0;
}

static int tso_setopt(struct sock *s, int level, int name, const void *val, uint32_t len)
{
	struct tso *t = tso_of(s);
	int v;
	if (level != IPPROTO_TCP)
		return -ENOPROTOOPT; /* IPPROTO_IP options are not implemented */
	int rc = tso_int_opt(val, len, &v);
	if (rc)
		return rc;
	switch (name) {
	case TCP_NODELAY:
		t->nodelay = v != 0;
		break;
	case TCP_CORK:
		t->cork = v != 0;
		break;
	case TCP_KEEPIDLE:
		if (v < 1 || v > 32767)
			return -EINVAL;
		t->keepidle = v;
		break;
	case TCP_KEEPINTVL:
		if (v < 1 || v > 32767)
			return -EINVAL;
		t->keepintvl = v;
		break;
	case TCP_KEEPCNT:
		if (v < 1 || v > 127)
			return -EINVAL;
		t->keepcnt = v;
		break;
	default:
		return -ENOPROTOOPT;
	}
	tso_apply(t);
	if ((name == TCP_NODELAY && t->nodelay) || (name == TCP_CORK && !t->cork))
		tso_push(t); /* Linux pushes what Nagle or the cork held back */
	return 0;
}

static int tso_getopt(struct sock *s, int level, int name, void *val, uint32_t *len)
{
	struct tso *t = tso_of(s);
	int v;
	if (level != IPPROTO_TCP)
		return -ENOPROTOOPT;
	switch (name) {
	case TCP_NODELAY:
		v = t->nodelay;
		break;
	case TCP_CORK:
		v = t->cork;
		break;
	case TCP_KEEPIDLE:
		v = t->keepidle;
		break;
	case TCP_KEEPINTVL:
		v = t->keepintvl;
		break;
	case TCP_KEEPCNT:
		v = t->keepcnt;
		break;
	case TCP_MAXSEG:
		v = t->pcb && t->state == TSO_CONNECTED ? tcp_mss(t->pcb) : TCP_MSS;
		break;
	default:
		return -ENOPROTOOPT;
	}
	memcpy(val, &v, *len < sizeof(v) ? *len : sizeof(v));
	*len = *len < sizeof(v) ? *len : sizeof(v);
	return 0;
}

static void tso_sol_changed(struct sock *s, int name)
{
	struct tso *t = tso_of(s);
	if (name == SO_KEEPALIVE)
		tso_apply(t);
	if (name == SO_SNDBUF) {
		t->snd_locked = true;
		tso_wake(t); /* a larger buffer may have made room */
	}
	if (name == SO_RCVBUF) {
		t->rcv_locked = true;
		if (t->pcb && t->state == TSO_CONNECTED) {
			tso_credit(t, TCP_WND); /* a larger one opens the window now, a smaller one as the app reads */
			net_flush();
		}
	}
	if (name == SO_REUSEPORT)
		tso_rp_mark(t);
	if (name == SO_REUSEADDR && t->pcb) {
		if (s->reuseaddr)
			ip_set_option(t->pcb, SOF_REUSEADDR);
		else
			ip_reset_option(t->pcb, SOF_REUSEADDR);
	}
}

static long tso_inq(struct sock *s)
{
	struct tso *t = tso_of(s);
	return t->state == TSO_LISTEN ? -EINVAL : (long)t->rx_len;
}

static bool tso_listening(struct sock *s)
{
	return tso_of(s)->state == TSO_LISTEN;
}

/* Linux's tcp_poll. */
static uint32_t tso_poll(struct sock *s)
{
	struct tso *t = tso_of(s);
	if (t->state == TSO_LISTEN)
		return t->acq_len ? POLLIN | POLLRDNORM : 0;
	uint32_t mask = 0;
	if ((t->rcv_shut && t->snd_shut) || t->state == TSO_CLOSED)
		mask |= POLLHUP;
	if (t->rcv_shut)
		mask |= POLLIN | POLLRDNORM | POLLRDHUP;
	if (t->state != TSO_CONNECTING) {
		if (t->rx_len)
			mask |= POLLIN | POLLRDNORM;
		if (t->snd_shut || !t->pcb || t->state != TSO_CONNECTED || tso_writable(t))
			mask |= POLLOUT | POLLWRNORM;
	}
	if (s->err)
		mask |= POLLERR;
	return mask;
}

/* Detaches from the pcb and lets lwIP finish: FIN, or RST when data was left unread or SO_LINGER is 0. */
static void tso_drop_pcb(struct tso *t, bool reset)
{
	struct tcp_pcb *p = t->pcb;
	if (!p)
		return;
	t->pcb = NULL;
	tcp_arg(p, NULL);
	if (p->state == LISTEN) {
		tcp_accept(p, NULL);
		tcp_close(p); /* a listening pcb always closes */
		return;
	}
	tcp_recv(p, NULL);
	tcp_sent(p, NULL);
	tcp_err(p, NULL);
	if (reset || t->rx_len || (t->s.linger_on && t->s.linger_secs == 0) || tcp_close(p) != ERR_OK)
		tcp_abort(p);
}

/* Resets the connections queued on listener t and never accepted, as Linux's inet_csk_listen_stop. */
static void tso_acq_reset(struct tso *t)
{
	while (t->acq_len) {
		struct tso *c = t->acq[t->acq_head];
		t->acq_head = (t->acq_head + 1) % t->acq_cap;
		t->acq_len--;
		tso_free(c, true);
	}
}

static void tso_free(struct tso *t, bool reset)
{
	tso_acq_reset(t);
	tso_drop_pcb(t, reset);
	if (t->rxq)
		pbuf_free(t->rxq);
	k_free(t->acq);
	k_free(t);
}

/*
 * Linux's tcp_close with SO_LINGER on (l_linger > 0): the FIN goes now and
 * close waits, at most l_linger seconds, until the peer has acknowledged
 * everything and the FIN (sk_stream_wait_close); then the socket closes as
 * usual. Not at the app's exit (Linux's PF_EXITING: sock_exit drains instead).
 */
static void tso_linger(struct tso *t)
{
	if (!t->s.linger_on || t->s.linger_secs <= 0 || sock_exiting() || !t->pcb || t->state != TSO_CONNECTED ||
	    t->rx_len)
		return;
	uint64_t deadline = sock_deadline((uint64_t)t->s.linger_secs * 1000000000ull);
	if (!t->snd_shut && tcp_shutdown(t->pcb, 0, 1) != ERR_OK)
		return;
	t->snd_shut = true;
	net_flush();
	while (t->pcb && (t->pcb->unsent || t->pcb->unacked || t->pcb->state == FIN_WAIT_1 ||
			  t->pcb->state == CLOSING || t->pcb->state == LAST_ACK)) {
		/* lwIP wakes writers only at its writable mark: look again every 10 ms as well. */
		uint64_t now = k_clock_monotonic_ns(), slice = now + 10000000ull;
		if (now >= deadline || sock_wait(&t->s, slice < deadline ? slice : deadline) == -EINTR)
			break;
	}
}

static void tso_release(struct sock *s)
{
	struct tso *t = tso_of(s);
	tso_linger(t);
	tso_free(t, false);
	net_flush();
}

static const struct sock_ops tso_ops = {
	.bind = tso_bind,
	.connect = tso_connect,
	.listen = tso_listen,
	.accept = tso_accept,
	.send = tso_send,
	.recv = tso_recv,
	.shutdown = tso_shutdown,
	.getname = tso_getname,
	.setopt = tso_setopt,
	.getopt = tso_getopt,
	.sol_changed = tso_sol_changed,
	.inq = tso_inq,
	.listening = tso_listening,
	.poll = tso_poll,
	.release = tso_release,
};

/* True while a connection still has data to send or to see acknowledged. */
static bool tso_unsent(void)
{
	for (struct tcp_pcb *p = tcp_active_pcbs; p; p = p->next)
		if (p->unsent || p->unacked)
			return true;
	return false;
}

void inet_tcp_drain(uint64_t deadline)
{
	net_flush();
	while (tso_unsent() && k_clock_monotonic_ns() < deadline) {
		uint64_t next = k_wait_poll(K_WAIT_POLLED);
		if (!tso_unsent())
			break;
		uint64_t until = next && next < deadline ? next : deadline;
		k_wait_poll(k_wait_idle(until));
	}
}
