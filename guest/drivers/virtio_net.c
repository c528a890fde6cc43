/* virtio_net.c: the guest's virtio-net driver: an lwIP Ethernet interface on polled RX/TX queues, checksum and TSO offloads when offered, no register access on the data path. */
#include <asm-generic/errno.h>
#include <string.h>

#include "k.h"
#include "net.h"
#include "vdev.h"
#include "virtio_net.h"
#include "vnet_spin.h"
#include "wait.h"
#include "lwip/etharp.h"
#include "lwip/ip4_frag.h"
#include "lwip/pbuf.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/tcp.h"

/*
 * Features we use. Offloads when the device offers them (a tap): the
 * device checksums what we send (CSUM) and vouches for what we receive
 * (GUEST_CSUM), and TCP moves in 64 KiB segments both ways (HOST_TSO4,
 * GUEST_TSO4): one ring entry, one copy and one pass through lwIP per
 * 64 KiB instead of per MTU. No MRG_RXBUF: with GUEST_TSO4 each RX buffer
 * holds a whole 64 KiB frame (VNET_RX_BIG_LEN), so a frame is one pbuf.
 */
#define VNET_WANT                                                                                   \
	(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) | VIRTIO_BIT(VIRTIO_NET_F_MAC) | \
	 VIRTIO_BIT(VIRTIO_NET_F_STATUS) | VIRTIO_BIT(VIRTIO_NET_F_MTU) | VIRTIO_BIT(VIRTIO_NET_F_CSUM) |        \
	 VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4))
/*
 * Spec 5.1.3.1: a driver must not accept HOST_TSO4 without CSUM nor
 * GUEST_TSO4 without GUEST_CSUM; given the accepted set f, the TSO bits a
 * device offered without their checksum feature.
 */
#define VNET_TSO_NEEDS_CSUM(f)                                                                               \
	((((f) & VIRTIO_BIT(VIRTIO_NET_F_CSUM)) ? 0 : VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4)) |                     \
	 (((f) & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM)) ? 0 : VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4)))
/*
 * GUEST_TSO4 RX buffers: the largest pbuf lwIP has (its lengths are u16).
 * The spec asks for 65562 (5.1.6.3.1); a frame past 65523 bytes is dropped
 * by the device, and Linux builds none (its TSO frames stay below 64 KiB:
 * tcp_xmit_size_goal keeps MAX_TCP_HEADER of gso_max_size 65536 free).
 */
#define VNET_RX_BIG_LEN 65535u
/*
 * Big RX buffers posted at once: 1 MiB of guest memory, the TCP window
 * lwIP advertises (lwipopts.h), so a stream never waits for buffers (32,
 * with a 2 MiB window, measured no faster). Small frames are copied out of them (VNET_RX_COPY_MAX) and the
 * buffer goes straight back: a socket never holds 64 KiB for a 1-byte message.
 */
#define VNET_RX_BIG_BUFS 16u
#define VNET_RX_COPY_MAX 2048u
/* IPv4 carries at most this many bytes: a TSO segment's limit. */
#define VNET_IP_MAX 65535u
/*
 * TCP segments go out in place (vnet_tx_zc): the header in the headroom
 * lwIP keeps in front of every frame (PBUF_LINK_ENCAPSULATION_HLEN,
 * lwipopts.h), then one descriptor per pbuf of the chain, the chain held
 * (pbuf_ref) until the device is done; lwIP retransmits no segment whose
 * pbuf is still held (tcp_output_segment_busy). Saves a 64 KiB copy per
 * TSO segment. Longer chains are copied. A TX cookie with bit 0 set is
 * such a pbuf, else a buffer of ours.
 */
#define VNET_TX_ZC_SEGS 8u
#define VNET_TX_ZC_TAG ((uintptr_t)1)

/* Every buffer on both queues starts with the header; with VERSION_1 it always has num_buffers (12 bytes). */
#define VNET_HDR sizeof(struct virtio_net_hdr)
/* Ethernet header plus one VLAN tag the device may pass through: a frame is at most this + MTU bytes. */
#define VNET_ETH_MAX_HLEN 18u
#define VNET_ETH_HLEN 14u

/*
 * A full TX ring means the device is behind; waiting for it beats dropping
 * (a dropped TCP segment costs a retransmission timeout). The wait is a
 * WAIT hypercall, not a thread switch: linkoutput runs inside lwIP, which
 * a poller must not re-enter. Bounded: after this long the frame is dropped
 * and counted, and the device's Status is read.
 */
#define VNET_TX_WAIT_NS 200000000ull
/* RX buffers could not be allocated: look again this soon (without buffers no news would ever come). */
#define VNET_RX_RETRY_NS 10000000ull
/* Reap/refill rounds per poll before letting threads run: bounds one poll under a flood. */
#define VNET_POLL_ROUNDS 4
struct vnet {
	struct vd_mmio *mmio;
	const char *name;  /* "eth0" ...: what messages call it */
	struct netif netif;
	struct net_cfg cfg;
	struct vd_queue rxq, txq;
	uint32_t rx_len;   /* bytes per RX buffer: header + largest frame */
	uint32_t rx_bufs;  /* RX buffers kept posted (each one descriptor) */
	uint32_t frame_max; /* largest frame on the wire: Ethernet header, one VLAN tag, MTU */
	uint32_t mtu;       /* the wire's */
	bool csum_tx, csum_rx, tso_tx, tso_rx; /* offloads negotiated (tso_* imply csum_*) */
	uint8_t mac[6];
	bool link, dead;
	bool started;      /* probe done: from now on frames count as traffic (net_eth_activity) */
	uint64_t tx_last_progress;
	unsigned idle_news; /* see vd_wait_check_status */
	uint64_t rx_dropped, tx_dropped, rx_bad_csum;
	uint64_t rx_last;    /* when the last frame came (vnet_spin_window) */
	struct vnet_spin spin; /* the spin before an idle WAIT (vnet_idle) */
	struct k_poller poller;
};

/* A TX cookie's memory: a held pbuf chain (VNET_TX_ZC_TAG) or a copy of ours. */
static void vnet_tx_free(void *cookie)
{
	if ((uintptr_t)cookie & VNET_TX_ZC_TAG)
		pbuf_free((struct pbuf *)((uintptr_t)cookie & ~VNET_TX_ZC_TAG));
	else
		k_free(cookie);
}

/* Frees the buffers of every chain still on q (after a reset the device no longer owns them). */
static void vnet_free_inflight(struct vd_queue *q, bool rx)
{
	if (!q->slots)
		return;
	for (uint32_t i = 0; i < q->vq.size; i++) {
		void *c = q->slots[i].cookie;
		if (!c)
			continue;
		q->slots[i].cookie = NULL;
		if (rx)
			pbuf_free(c);
		else
			vnet_tx_free(c);
	}
}

/*
 * The device misbehaved or died: reset it (it forgets our rings and
 * buffers), free what it held, and take the link down so lwIP routes
 * nothing more to it. The NIC stays disabled; the guest goes on.
 */
static void vnet_die(struct vnet *v, const char *why, int vq_err)
{
	if (v->dead)
		return;
	if (vq_err)
		k_printf("ukvm: %s: %s: %s, NIC disabled\n", v->name, why, vq_err_str(vq_err));
	else
		k_printf("ukvm: %s: %s, NIC disabled\n", v->name, why);
	vd_mmio_kill(v->mmio);
	v->dead = true;
	vnet_free_inflight(&v->rxq, true);
	vnet_free_inflight(&v->txq, false);
	netif_set_link_down(&v->netif);
}

/* Slow path only (no TX progress after a WAIT): reads Status, one exit. True when the NIC is (now) disabled. */
static bool vnet_check_dead(struct vnet *v)
{
	uint32_t st = vd_mmio_status(v->mmio);
	if (vd_status_stopped(st)) {
		char why[40];
		k_snprintf(why, sizeof(why), "device stopped (status 0x%x)", st);
		vnet_die(v, why, 0);
	}
	return v->dead;
}

/* Keeps every free RX descriptor holding an empty buffer; one notify for the batch, when the device asks. */
static void vnet_rx_fill(struct vnet *v)
{
	bool added = false;

	while (!v->dead && v->rxq.vq.num_free && (uint32_t)(v->rxq.vq.size - v->rxq.vq.num_free) < v->rx_bufs) {
		struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)v->rx_len, PBUF_RAM); /* one contiguous block */
		if (!p)
			break; /* out of memory: vnet_poll retries */
		struct vq_sg sg = { .gpa = vd_gpa(p->payload), .len = v->rx_len, .writable = true };
		if (vq_drv_add(&v->rxq.vq, &sg, 1, p)) {
			pbuf_free(p);
			break;
		}
		added = true;
	}
	if (added)
		vd_queue_kick(&v->rxq);
}

/* The 16-bit one's complement sum s folded (not inverted). */
static uint16_t vnet_fold(uint32_t s)
{
	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
	return (uint16_t)s;
}

/* The IPv4 pseudo header's sum for ip's addresses, proto and an L4 length, as words in memory order. */
static uint32_t vnet_pseudo(const uint8_t *ip, uint8_t proto, uint16_t l4len)
{
	uint8_t b[12];
	uint16_t w[6];
	uint32_t s = 0;

	memcpy(b, ip + 12, 8); /* source and destination */
	b[8] = 0;
	b[9] = proto;
	b[10] = (uint8_t)(l4len >> 8);
	b[11] = (uint8_t)l4len;
	memcpy(w, b, sizeof(w));
	for (int i = 0; i < 6; i++)
		s += w[i];
	return s;
}

/*
 * An IPv4 packet in frame (len bytes from the Ethernet header): the IP
 * header length into *ihl and the total length into *tot, both checked
 * against len. False for anything else (ARP, VLAN, a bad header).
 */
static bool vnet_ip4(const uint8_t *frame, uint32_t len, uint32_t *ihl, uint32_t *tot)
{
	if (len < VNET_ETH_HLEN + IP_HLEN || frame[12] != 0x08 || frame[13] != 0x00)
		return false;
	const uint8_t *ip = frame + VNET_ETH_HLEN;
	*ihl = (uint32_t)(ip[0] & 0x0f) * 4u;
	*tot = (uint32_t)ip[2] << 8 | ip[3];
	return (ip[0] >> 4) == 4 && *ihl >= IP_HLEN && *tot >= *ihl && *tot <= len - VNET_ETH_HLEN;
}

/*
 * With GUEST_CSUM lwIP checks no TCP or UDP checksum on this interface
 * (vnet_netif_init): the device vouches for a frame with NEEDS_CSUM (it
 * came from the host's own stack, its checksum never computed) or
 * DATA_VALID; one without either is checked here. An IP fragment is left
 * to lwIP's reassembly unchecked (its parts carry no L4 header to check).
 */
static bool vnet_rx_csum_ok(const uint8_t *frame, uint32_t len)
{
	uint32_t ihl, tot;
	if (!vnet_ip4(frame, len, &ihl, &tot))
		return true;
	const uint8_t *ip = frame + VNET_ETH_HLEN;
	uint8_t proto = ip[9];
	if ((proto != IP_PROTO_TCP && proto != IP_PROTO_UDP) || (((uint32_t)ip[6] << 8 | ip[7]) & 0x3fffu))
		return true; /* not ours to check, or a fragment */
	uint32_t l4 = tot - ihl;
	if (proto == IP_PROTO_UDP && (l4 < 8 || (ip[ihl + 6] == 0 && ip[ihl + 7] == 0)))
		return l4 >= 8; /* a UDP checksum of 0: none sent */
	uint32_t s = vnet_pseudo(ip, proto, (uint16_t)l4) + net_port_chksum(ip + ihl, (int)l4);
	return vnet_fold(s) == 0xffffu;
}

/*
 * The device's header on a frame of len bytes (header included): only what
 * we accepted (offloads, GSO TCPv4), and a checksum we must check is right.
 */
static bool vnet_rx_ok(struct vnet *v, const uint8_t *buf, uint32_t len)
{
	struct virtio_net_hdr h;
	memcpy(&h, buf, sizeof(h));
	if (!v->csum_rx)
		return h.flags == 0 && h.gso_type == VIRTIO_NET_HDR_GSO_NONE;
	if (h.flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
		return false;
	if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE && (h.gso_type != VIRTIO_NET_HDR_GSO_TCPV4 || !v->tso_rx))
		return false;
	if (h.flags || vnet_rx_csum_ok(buf + VNET_HDR, len - VNET_HDR))
		return true;
	v->rx_bad_csum++;
	return false;
}

/*
 * Hands every received frame to lwIP. vq_drv has checked the id and that
 * the used length is within what we posted; here the frame must hold at
 * least an Ethernet header and carry no offload we never accepted. 1 when
 * something came back, 0 when nothing, -EIO when the NIC was disabled.
 */
static int vnet_rx_reap(struct vnet *v)
{
	int got = 0;
	bool resumed = false, reposted = false;

	while (!v->dead) {
		void *cookie;
		uint32_t len;
		int rc = vq_drv_get_used(&v->rxq.vq, &cookie, &len);
		if (rc == 0)
			break;
		if (rc < 0) {
			vnet_die(v, "RX queue", rc);
			return -EIO;
		}
		struct pbuf *p = cookie;
		got = 1;
		if (len < VNET_HDR + VNET_ETH_HLEN || !vnet_rx_ok(v, p->payload, len)) {
			v->rx_dropped++;
			pbuf_free(p);
			continue;
		}
		if (v->rx_len > VNET_RX_COPY_MAX && len <= VNET_RX_COPY_MAX) {
			/* A small frame in a big buffer: copied out, the buffer posted again at once. */
			struct pbuf *q = pbuf_alloc(PBUF_RAW, (u16_t)(len - VNET_HDR), PBUF_RAM);
			if (q)
				pbuf_take(q, (const uint8_t *)p->payload + VNET_HDR, (u16_t)(len - VNET_HDR));
			struct vq_sg sg = { .gpa = vd_gpa(p->payload), .len = v->rx_len, .writable = true };
			if (vq_drv_add(&v->rxq.vq, &sg, 1, p))
				pbuf_free(p);
			else
				reposted = true;
			if (!q) {
				v->rx_dropped++;
				continue;
			}
			p = q;
		} else {
			pbuf_realloc(p, (u16_t)len); /* len <= rx_len < 64 KiB: checked by vq_drv against the posted length */
			pbuf_remove_header(p, VNET_HDR);
		}
		if (!resumed)
			net_eth_resume(); /* before lwIP sees the first frame: ARP's missed ticks, outside its code */
		resumed = true;
		if (v->netif.input(p, &v->netif) != ERR_OK)
			pbuf_free(p);
	}
	if (reposted)
		vd_queue_kick(&v->rxq);
	if (got > 0) {
		net_eth_activity();
		v->rx_last = k_clock_monotonic_ns();
	}
	return v->dead ? -EIO : got;
}

/*
 * Sent frames are no news: a completed TX buffer only returns memory, and
 * a guest waiting on RX should not be woken for it (each such wake-up is a
 * WAIT exit, ~30 us on PVM). TX completions are therefore never signalled
 * (used_event kept half the index space ahead, vq_drv_disable_cb) and the
 * buffers are reclaimed lazily: before each frame sent, at every poll, and
 * within a WAIT slice when the NIC goes quiet (vnet_poll's deadline while
 * frames are in flight). Only a full ring asks to hear (vnet_tx_wait).
 * Measured in bench-net's 1-byte request/response: 2 news per transaction
 * before, 1 after.
 */
static void vnet_tx_quiet(struct vnet *v)
{
	vq_drv_disable_cb(&v->txq.vq);
}

/* Frees the buffers of sent frames. 1 when some came back, 0 when none, -EIO when the NIC was disabled. */
static int vnet_tx_reap(struct vnet *v)
{
	int got = 0;

	while (!v->dead) {
		void *cookie;
		uint32_t len;
		int rc = vq_drv_get_used(&v->txq.vq, &cookie, &len);
		if (rc == 0)
			break;
		if (rc < 0) {
			vnet_die(v, "TX queue", rc);
			return -EIO;
		}
		vnet_tx_free(cookie);
		got = 1;
	}
	if (got > 0) {
		v->tx_last_progress = k_clock_monotonic_ns();
		v->idle_news = 0;
		if (v->txq.vq.cb_disabled)
			vnet_tx_quiet(v); /* moves used_event along with last_used: it stays out of reach */
	}
	return v->dead ? -EIO : got;
}

/* The TX ring is full: WAIT (bounded, see VNET_TX_WAIT_NS) until a descriptor is free. 0, or -EAGAIN/-EIO. */
static int vnet_tx_wait(struct vnet *v)
{
	uint64_t end = k_clock_monotonic_ns() + VNET_TX_WAIT_NS;
	int rc;

	for (;;) {
		if (vnet_tx_reap(v) < 0) {
			rc = -EIO;
			break;
		}
		if (v->txq.vq.num_free) {
			rc = 0;
			break;
		}
		if (vd_queue_rearm(&v->txq))
			continue; /* pushed just now */
		uint64_t now = k_clock_monotonic_ns();
		if (now >= end) {
			rc = vnet_check_dead(v) ? -EIO : -EAGAIN;
			break;
		}
		uint64_t slice = now + VD_WAIT_SLICE_NS;
		k_wait_idle(slice < end ? slice : end);
	}
	vnet_tx_quiet(v); /* rearm asked for this ring's news: completions are no news again */
	return rc;
}

/*
 * Fills the header in front of frame (len bytes): a TCP segment over IPv4
 * gets its checksum from the device (CSUM: lwIP left the field 0, see
 * vnet_netif_init; it must hold the pseudo header's sum, as Linux's
 * CHECKSUM_PARTIAL) and, past the wire's MTU, is cut by the device into
 * segments of the wire's MSS (TSO). frame holds len bytes, the first
 * contig of them contiguous. 0, or -1 when the frame cannot go (or its
 * headers are not contiguous).
 */
static int vnet_tx_offload(struct vnet *v, struct virtio_net_hdr *h, uint8_t *frame, uint32_t len, uint32_t contig)
{
	uint32_t ihl, tot;

	if (!v->csum_tx || contig < VNET_ETH_HLEN + IP_HLEN || !vnet_ip4(frame, len, &ihl, &tot) ||
	    frame[VNET_ETH_HLEN + 9] != IP_PROTO_TCP ||
	    (((uint32_t)frame[VNET_ETH_HLEN + 6] << 8 | frame[VNET_ETH_HLEN + 7]) & 0x3fffu))
		return len > v->frame_max ? -1 : 0; /* only TCP goes past the MTU (vnet_output fragments the rest) */
	uint8_t *ip = frame + VNET_ETH_HLEN, *tcp = ip + ihl;
	uint32_t l4 = tot - ihl;
	if (l4 < TCP_HLEN || contig < VNET_ETH_HLEN + ihl + TCP_HLEN)
		return -1;
	uint32_t thl = (uint32_t)(tcp[12] >> 4) * 4u;
	if (thl < TCP_HLEN || thl > l4 || contig < VNET_ETH_HLEN + ihl + thl)
		return -1;
	uint16_t sum = vnet_fold(vnet_pseudo(ip, IP_PROTO_TCP, (uint16_t)l4));
	memcpy(tcp + 16, &sum, 2);
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->csum_start = (uint16_t)(VNET_ETH_HLEN + ihl);
	h->csum_offset = 16;
	h->hdr_len = (uint16_t)(VNET_ETH_HLEN + ihl + thl);
	if (len > v->frame_max) {
		if (!v->tso_tx || v->mtu <= ihl + thl)
			return -1;
		h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		h->gso_size = (uint16_t)(v->mtu - ihl - thl);
	}
	return 0;
}

/*
 * A TCP segment in place (VNET_TX_ZC_SEGS): true when it went on the ring,
 * false when it must be copied (not TCP, not all heap pbufs, a long chain,
 * no headroom, its headers split, too few descriptors).
 */
static bool vnet_tx_zc(struct vnet *v, struct pbuf *p)
{
	struct vq_sg sg[VNET_TX_ZC_SEGS];
	unsigned k = 0;

	if (p->len < VNET_ETH_HLEN + IP_HLEN + TCP_HLEN) /* the IPv4 and TCP headers in the first pbuf */
		return false;
	const uint8_t *f = p->payload;
	if (f[12] != 0x08 || f[13] != 0x00 || f[VNET_ETH_HLEN + 9] != IP_PROTO_TCP)
		return false;
	for (const struct pbuf *q = p; q; q = q->next) {
		if (pbuf_get_allocsrc(q) != PBUF_TYPE_ALLOC_SRC_MASK_STD_HEAP || k == VNET_TX_ZC_SEGS)
			return false; /* PBUF_REF/ROM may point at memory lwIP reuses at once */
		if (q->len)
			k++;
	}
	if (k + 1 > v->txq.vq.num_free || pbuf_add_header(p, VNET_HDR))
		return false;
	struct virtio_net_hdr *h = p->payload;
	memset(h, 0, VNET_HDR);
	bool ok = !vnet_tx_offload(v, h, (uint8_t *)p->payload + VNET_HDR, p->tot_len - VNET_HDR, p->len - VNET_HDR);
	k = 0;
	for (struct pbuf *q = p; ok && q; q = q->next)
		if (q->len)
			sg[k++] = (struct vq_sg){ .gpa = vd_gpa(q->payload), .len = q->len, .writable = false };
	ok = ok && !vq_drv_add(&v->txq.vq, sg, k, (void *)((uintptr_t)p | VNET_TX_ZC_TAG));
	pbuf_remove_header(p, VNET_HDR); /* lwIP's view of its pbuf unchanged; the device reads the bytes */
	if (ok)
		pbuf_ref(p);
	return ok;
}

/* lwIP's linkoutput: a TCP segment in place (vnet_tx_zc), else copied behind its header into one buffer. */
static err_t vnet_linkoutput(struct netif *n, struct pbuf *p)
{
	struct vnet *v = n->state;

	if (v->dead || !v->link)
		return ERR_IF;
	if (p->tot_len > v->frame_max && !v->tso_tx) {
		v->tx_dropped++;
		return ERR_IF;
	}
	if (vnet_tx_reap(v) < 0)
		return ERR_IF;
	if (!v->txq.vq.num_free) {
		int rc = vnet_tx_wait(v);
		if (rc) {
			v->tx_dropped++;
			return rc == -EIO ? ERR_IF : ERR_MEM;
		}
	}
	bool idle = v->txq.vq.inflight == 0;
	if (vnet_tx_zc(v, p))
		goto sent;
	uint32_t len = VNET_HDR + p->tot_len;
	uint8_t *buf = k_malloc(len);
	if (!buf) {
		v->tx_dropped++;
		return ERR_MEM;
	}
	memset(buf, 0, VNET_HDR); /* no offload: flags 0, GSO_NONE */
	pbuf_copy_partial(p, buf + VNET_HDR, p->tot_len, 0);
	if (vnet_tx_offload(v, (struct virtio_net_hdr *)buf, buf + VNET_HDR, p->tot_len, p->tot_len)) {
		k_free(buf);
		v->tx_dropped++;
		return ERR_IF;
	}
	struct vq_sg sg = { .gpa = vd_gpa(buf), .len = len, .writable = false };
	int rc = vq_drv_add(&v->txq.vq, &sg, 1, buf);
	if (rc) {
		k_free(buf);
		v->tx_dropped++;
		return ERR_MEM;
	}
sent:
	if (idle)
		v->tx_last_progress = k_clock_monotonic_ns(); /* the stall budget starts with a frame on an idle queue */
	vd_queue_kick(&v->txq);
	if (v->started)
		net_eth_activity();
	return ERR_OK;
}

/* Whether the device returned RX buffers we have not collected (no barrier, no arming: a peek). */
static bool vnet_rx_pending(const struct vnet *v)
{
	const struct vq_drv *q = &v->rxq.vq;

	return q->used[1] != q->last_used; /* used.idx; the guest is little-endian like the ring */
}

/*
 * The NIC's poller (wait.h): delivers received frames, refills RX, frees
 * sent buffers. A live NIC always awaits incoming frames (K_WAIT_FOREVER:
 * a thread blocked on a socket is not deadlocked); while frames are in
 * flight it looks at least once a slice, reads Status after a quiet WAIT
 * and gives up on a device that completes nothing for VD_STALL_NS.
 */
static uint64_t vnet_poll(struct k_poller *pl, enum k_wait_news news)
{
	struct vnet *v = (struct vnet *)((char *)pl - offsetof(struct vnet, poller));
	int tx = 0, progress = 0;

	/* RX news is armed only for an idle WAIT (vnet_idle): frames that come while the vCPU runs cost no news. */
	vq_drv_disable_cb(&v->rxq.vq);
	for (int round = 0; !v->dead; round++) {
		int rx = vnet_rx_reap(v);
		int t = vnet_tx_reap(v);
		if (rx < 0 || t < 0)
			return 0;
		tx |= t;
		progress |= rx | t;
		vnet_rx_fill(v);
		if (!vnet_rx_pending(v))
			break;
		if (round + 1 == VNET_POLL_ROUNDS)
			return k_clock_monotonic_ns(); /* a flood: let the woken threads run, then come back */
	}
	if (v->dead)
		return 0;
	uint64_t now = k_clock_monotonic_ns();
	if (v->txq.vq.inflight) {
		/*
		 * Frames received are the device at work too: the sent ones will
		 * follow (it completes TX on its own time). Only news with no
		 * progress at all is worth a Status read (an exit).
		 */
		if (progress)
			v->idle_news = 0;
		else if (vd_wait_check_status(news, &v->idle_news) && vnet_check_dead(v))
			return 0;
		if (!tx && now - v->tx_last_progress >= VD_STALL_NS) {
			vnet_die(v, "TX: no answer from the device", 0);
			return 0;
		}
		uint64_t stall = v->tx_last_progress + VD_STALL_NS, slice = now + VD_WAIT_SLICE_NS;
		return stall < slice ? stall : slice;
	}
	if (v->rxq.vq.num_free == v->rxq.vq.size)
		return now + VNET_RX_RETRY_NS;
	return K_WAIT_FOREVER;
}

/*
 * netif->output: an IP packet routed to us, before etharp_output looks it
 * up (net_eth_resume's ticks are safe here). With TSO the interface's MTU
 * is IPv4's limit, so lwIP fragments nothing: a TCP segment past the wire's
 * MTU goes to the device whole (vnet_tx_offload); anything else is
 * fragmented here to the wire's MTU (ip4_frag sends each fragment back
 * through this function).
 */
static err_t vnet_output(struct netif *n, struct pbuf *p, const ip4_addr_t *ip)
{
	struct vnet *v = n->state;

	net_eth_resume();
	if (p->tot_len > v->mtu && p->len >= IP_HLEN && IPH_PROTO((struct ip_hdr *)p->payload) != IP_PROTO_TCP) {
		u16_t mtu = n->mtu;
		n->mtu = (u16_t)v->mtu;
		err_t e = ip4_frag(p, n, ip);
		n->mtu = mtu;
		return e;
	}
	return etharp_output(n, p, ip);
}

/*
 * The poller's idle hook (wait.h): no thread can run. Watches the RX ring
 * for a while when frames have been coming (vnet_spin.h), then arms RX
 * news for the WAIT.
 */
static bool vnet_idle(struct k_poller *pl, uint64_t deadline)
{
	struct vnet *v = (struct vnet *)((char *)pl - offsetof(struct vnet, poller));

	if (v->dead)
		return false;
	if (vnet_rx_pending(v))
		return true; /* came meanwhile: no spin, nothing to learn */
	uint64_t t0 = k_clock_monotonic_ns(), now = t0;
	uint64_t w = vnet_spin_window(&v->spin, now, v->rx_last, deadline);
	if (w) {
		for (;;) {
			if (vnet_rx_pending(v)) {
				vnet_spin_hit(&v->spin, now - t0);
				return true;
			}
			if (now - t0 >= w)
				break;
			__asm__ volatile("pause");
			now = k_clock_monotonic_ns();
		}
		vnet_spin_miss(&v->spin, now);
	}
	/* Arms used_event at last_used with a full barrier, then looks once more: either we see it or it tells us. */
	if (vd_queue_rearm(&v->rxq)) {
		vq_drv_disable_cb(&v->rxq.vq);
		return true;
	}
	return false;
}

static err_t vnet_netif_init(struct netif *n)
{
	struct vnet *v = n->state;

	n->name[0] = 'e';
	n->name[1] = 'n';
	n->hwaddr_len = ETH_HWADDR_LEN;
	memcpy(n->hwaddr, v->mac, ETH_HWADDR_LEN);
	n->mtu = (u16_t)(v->tso_tx ? VNET_IP_MAX : v->mtu);
	n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
	/* What the device checksums for us (TCP out) and vouches for (TCP and UDP in, see vnet_rx_csum_ok). */
	u16_t ck = NETIF_CHECKSUM_ENABLE_ALL;
	if (v->csum_tx)
		ck &= (u16_t)~NETIF_CHECKSUM_GEN_TCP;
	if (v->csum_rx)
		ck &= (u16_t)~(NETIF_CHECKSUM_CHECK_TCP | NETIF_CHECKSUM_CHECK_UDP);
	NETIF_SET_CHECKSUM_CTRL(n, ck);
	n->output = vnet_output;
	n->linkoutput = vnet_linkoutput;
	return ERR_OK;
}

/* MAC, link and MTU from the device's config space and the FDT's interface configuration. */
static void vnet_config(struct vnet *v)
{
	struct vd_mmio *d = v->mmio;
	uint32_t w[3];
	uint8_t raw[12];

	/* mac[6], status, max_virtqueue_pairs, mtu: words 0-2, one consistent snapshot. */
	vd_mmio_config(d, 0, w, 3);
	memcpy(raw, w, sizeof(raw));
	if ((d->features & VIRTIO_BIT(VIRTIO_NET_F_MAC)) && !(raw[0] & 1))
		memcpy(v->mac, raw, 6);
	else if (v->cfg.has_mac)
		memcpy(v->mac, v->cfg.mac, 6);
	else {
		k_random_bytes(v->mac, 6);
		v->mac[0] = (uint8_t)((v->mac[0] & 0xfe) | 0x02); /* unicast, locally administered */
	}
	v->link = true;
	if (d->features & VIRTIO_BIT(VIRTIO_NET_F_STATUS))
		v->link = ((uint16_t)(raw[6] | raw[7] << 8) & VIRTIO_NET_S_LINK_UP) != 0;
	uint32_t mtu = v->cfg.mtu;
	if (d->features & VIRTIO_BIT(VIRTIO_NET_F_MTU)) {
		uint32_t dev_mtu = (uint32_t)(raw[10] | raw[11] << 8);
		/* Spec 5.1.6.3.1: the device's MTU is the largest it takes; an FDT value above it is lowered. */
		if (dev_mtu >= UKVM_NET_MTU_MIN && dev_mtu <= UKVM_NET_MTU_MAX && (!v->cfg.has_mtu || dev_mtu < mtu))
			mtu = dev_mtu;
	}
	v->frame_max = VNET_ETH_MAX_HLEN + mtu;
	v->mtu = mtu;
	/* Spec 5.1.3.1: each TSO feature needs its checksum feature. */
	v->csum_tx = (d->features & VIRTIO_BIT(VIRTIO_NET_F_CSUM)) != 0;
	v->csum_rx = (d->features & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM)) != 0;
	v->tso_tx = v->csum_tx && (d->features & VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4));
	v->tso_rx = v->csum_rx && (d->features & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4));
	/* Receive buffers fit a standard frame even when the MTU is smaller: a device may not shrink its frames. */
	v->rx_len = VNET_HDR + VNET_ETH_MAX_HLEN + (mtu > NET_MTU_DEFAULT ? mtu : NET_MTU_DEFAULT);
	v->rx_bufs = VD_QUEUE_MAX;
	if (v->tso_rx) {
		v->rx_len = VNET_RX_BIG_LEN;
		v->rx_bufs = VNET_RX_BIG_BUFS;
	}
}

int vd_net_probe(struct vd_mmio *d, const void *fdt, int node)
{
	const char *name = net_eth_next_name();
	struct vnet *v = NULL;
	int rc = -ENOSPC;

	if (!name)
		goto err;
	rc = -ENOMEM;
	v = k_calloc(1, sizeof(*v));
	if (!v)
		goto err;
	v->mmio = d;
	v->name = name;
	net_cfg_read(fdt, node, name, &v->cfg);
	rc = vd_mmio_begin(d, VNET_WANT);
	if (!rc && (d->features & VNET_TSO_NEEDS_CSUM(d->features)))
		rc = vd_mmio_begin(d, VNET_WANT & ~VNET_TSO_NEEDS_CSUM(d->features)); /* again, without them */
	if (rc)
		goto err_free;
	vnet_config(v);
	rc = vd_queue_setup(d, &v->rxq, VIRTIO_NET_RXQ, VD_QUEUE_MAX);
	if (!rc)
		rc = vd_queue_setup(d, &v->txq, VIRTIO_NET_TXQ, VD_QUEUE_MAX);
	if (rc)
		goto err_fail;
	vnet_tx_quiet(v);
	vd_mmio_driver_ok(d);
	rc = net_eth_add(&v->netif, &v->cfg, v, vnet_netif_init);
	if (rc)
		goto err_fail;
	if (v->tso_tx)
		net_eth_set_tso(&v->netif, (uint16_t)v->mtu);
	if (v->link)
		netif_set_link_up(&v->netif);
	vnet_rx_fill(v);
	/*
	 * Only now does traffic start ARP's timer: the gratuitous ARP that
	 * link-up sent creates no ARP entry, so an idle VM stays without
	 * periodic wake-ups from boot on.
	 */
	v->started = true;
	v->poller.poll = vnet_poll;
	v->poller.idle = vnet_idle;
	k_wait_poller_add(&v->poller);
	return 0;
err_fail:
	vd_mmio_kill(d); /* reset first: after it the device no longer owns the rings */
	for (struct vd_queue *q = &v->rxq; q <= &v->txq; q++) {
		if (q->ring)
			k_pages_free(q->ring, q->ring_pages);
		k_free(q->slots);
	}
err_free:
	k_free(v);
err:
	k_printf("ukvm: virtio-net@%lx: not started (%d)\n", (unsigned long)d->gpa, rc);
	return rc;
}
