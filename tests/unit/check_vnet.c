/* check_vnet.c: unit tests of the guest's virtio-net driver (guest/drivers/virtio_net.c) and NIC configuration (guest/net/netcfg.c, also read from the monitor's FDT builder), with lwIP, against a fake, often hostile, device. */
#include <check.h>
#include <libfdt.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../devices/net.h" /* the monitor's net_resolve (the runner's copy; this group has none) */
#include "../../guest/include/net.h"
#include "../../vmm/fdtbuild.h"
#include "../../guest/include/vdev.h"
#include "../../guest/include/vnet_spin.h"
#include "../../guest/include/wait.h"
#include "../../proto/virtio_mmio.h"
#include "../../proto/virtio_net.h"
#include "lwip/etharp.h"
#include "lwip/inet_chksum.h"
#include "lwip/prot/ethernet.h"
#include "lwip/prot/icmp.h"
#include "lwip/prot/ip4.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"

/* ---- fakes of the kernel services the driver and lwIP use ---- */

static char console[8192];
static size_t console_len;
static uint64_t mono_ns = 1000000000ull;
static struct k_poller *pollers[4];
static unsigned npollers;
static unsigned idle_calls;

int k_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(console + console_len, sizeof(console) - console_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		console_len += (size_t)n < sizeof(console) - console_len ? (size_t)n : sizeof(console) - console_len - 1;
	return n;
}

int k_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

_Noreturn void k_panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	abort();
}

void *k_malloc(size_t n) { return malloc(n); }
void *k_calloc(size_t c, size_t n) { return calloc(c, n); }
void k_free(void *p) { free(p); }
size_t k_malloc_size(const void *p) { return p ? malloc_usable_size((void *)(uintptr_t)p) : 0; }
void *k_pages_alloc(size_t n) { return aligned_alloc(4096, n * 4096); }
void k_pages_free(void *p, size_t n) { (void)n; free(p); }
static uint64_t mono_step; /* added at every read: a spin's clock moves */
uint64_t k_clock_monotonic_ns(void) { return mono_ns += mono_step; }
void k_random_bytes(void *buf, size_t len) { memset(buf, 0x5a, len); }
void k_wait_poller_add(struct k_poller *p) { pollers[npollers++] = p; }
void net_etc_dns(const uint32_t *dns, unsigned n) { (void)dns; (void)n; }
/* net_init hands /proc/net/sockstat its text maker: no file system, no sockets here (check_inet tests both). */
int (*fs_proc_sockstat)(char *buf, size_t size);
int net_sockstat(char *buf, size_t size) { (void)buf; (void)size; return 0; }
/* guest/net/udp.c's ICMP hook (lwiphooks.h): no UDP sockets are built here. */
int uso_icmp_input(struct pbuf *p, struct netif *inp) { (void)p; (void)inp; return 0; }
/* guest/net/tcp.c's TCP hooks (lwiphooks.h): no TCP sockets here either; every segment goes on. */
int inet_tcp_inpacket(struct tcp_pcb *pcb, struct tcp_hdr *hdr) { (void)pcb; (void)hdr; return 0; }
void inet_tcp_syn_wnd(const struct tcp_pcb *pcb, struct tcp_hdr *hdr) { (void)pcb; (void)hdr; }

/* The idle WAIT: time passes to the deadline (the fake device does nothing meanwhile unless a test says so). */
static void (*idle_hook)(void);
enum k_wait_news k_wait_idle(uint64_t deadline)
{
	idle_calls++;
	if (deadline > mono_ns)
		mono_ns = deadline;
	if (idle_hook)
		idle_hook();
	return K_WAIT_QUIET;
}

static uint64_t run_pollers(enum k_wait_news news)
{
	uint64_t earliest = 0;
	for (unsigned i = 0; i < npollers; i++) {
		uint64_t t = pollers[i]->poll(pollers[i], news);
		if (t && (!earliest || t < earliest))
			earliest = t;
	}
	return earliest;
}

/* ---- the fake transport and device ---- */

#define QSIZE 16u
static const uint8_t dev_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static uint64_t dev_offered;
static uint32_t dev_status;
static uint32_t dev_cfg[3];
static unsigned dev_kills, dev_notifies[2];
static struct vd_queue *queues[2];
static uint16_t dev_used_idx[2], dev_last_avail[2];

uint64_t vd_gpa(const void *p) { return (uint64_t)(uintptr_t)p; }

int vd_mmio_begin(struct vd_mmio *d, uint64_t want)
{
	d->features = dev_offered & want;
	dev_status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
	return 0;
}

void vd_mmio_config(const struct vd_mmio *d, uint32_t off, uint32_t *words, unsigned n)
{
	(void)d;
	ck_assert_uint_le(off / 4 + n, 3);
	memcpy(words, dev_cfg + off / 4, n * 4);
}

int vd_queue_setup(struct vd_mmio *d, struct vd_queue *q, uint16_t index, uint32_t max)
{
	ck_assert_uint_lt(index, 2);
	ck_assert_uint_ge(max, QSIZE);
	q->dev = d;
	q->index = index;
	q->ring_pages = (VIRTQ_LAYOUT_BYTES(QSIZE) + 4095) / 4096;
	q->ring = k_pages_alloc(q->ring_pages);
	q->slots = calloc(QSIZE, sizeof(*q->slots));
	uint8_t *b = q->ring;
	ck_assert_int_eq(vq_drv_init(&q->vq, QSIZE, b, b + VIRTQ_LAYOUT_AVAIL_OFF(QSIZE), b + VIRTQ_LAYOUT_USED_OFF(QSIZE),
				     q->slots, d->features), 0);
	queues[index] = q;
	return 0;
}

void vd_mmio_driver_ok(struct vd_mmio *d) { (void)d; dev_status |= VIRTIO_STATUS_DRIVER_OK; }
void vd_mmio_kill(struct vd_mmio *d) { (void)d; dev_kills++; dev_status = VIRTIO_STATUS_FAILED; }
static unsigned dev_status_reads;
uint32_t vd_mmio_status(const struct vd_mmio *d) { (void)d; dev_status_reads++; return dev_status; }

void vd_queue_kick(struct vd_queue *q)
{
	if (vq_drv_kick_prepare(&q->vq))
		dev_notifies[q->index]++;
}

bool vd_queue_rearm(struct vd_queue *q) { return vq_drv_enable_cb(&q->vq); }

/* The device side, written by hand so a test can break every rule. */
static volatile struct virtq_desc *dev_desc(unsigned qi) { return (volatile struct virtq_desc *)queues[qi]->ring; }
static volatile uint16_t *dev_avail(unsigned qi) { return (volatile uint16_t *)((uint8_t *)queues[qi]->ring + VIRTQ_LAYOUT_AVAIL_OFF(QSIZE)); }
static volatile uint16_t *dev_used(unsigned qi) { return (volatile uint16_t *)((uint8_t *)queues[qi]->ring + VIRTQ_LAYOUT_USED_OFF(QSIZE)); }

/* Takes the next avail head of queue qi (-1 when none). */
static int dev_pop(unsigned qi)
{
	if (dev_avail(qi)[1] == dev_last_avail[qi])
		return -1;
	return dev_avail(qi)[2 + dev_last_avail[qi]++ % QSIZE];
}

/* Publishes a used entry (any id, any len). */
static void dev_push(unsigned qi, uint32_t id, uint32_t len)
{
	volatile uint32_t *e = (volatile uint32_t *)(dev_used(qi) + 2) + 2 * (dev_used_idx[qi] % QSIZE);
	e[0] = id;
	e[1] = len;
	dev_used(qi)[1] = ++dev_used_idx[qi];
}

/* Delivers frame (without the virtio header) into the next RX buffer; returns its head. */
static int dev_rx(const void *frame, uint32_t len)
{
	int head = dev_pop(VIRTIO_NET_RXQ);
	ck_assert_int_ge(head, 0);
	volatile struct virtq_desc *d = &dev_desc(VIRTIO_NET_RXQ)[head];
	ck_assert(d->flags & VIRTQ_DESC_F_WRITE);
	ck_assert_uint_ge(d->len, sizeof(struct virtio_net_hdr) + len);
	uint8_t *buf = (uint8_t *)(uintptr_t)d->addr;
	memset(buf, 0, sizeof(struct virtio_net_hdr));
	memcpy(buf + sizeof(struct virtio_net_hdr), frame, len);
	dev_push(VIRTIO_NET_RXQ, (uint32_t)head, (uint32_t)(sizeof(struct virtio_net_hdr) + len));
	return head;
}

/* Takes the next sent frame into out (without the header) and completes it unless hold; its length, -1 when none. */
static int dev_tx(uint8_t *out, size_t max, bool complete)
{
	int head = dev_pop(VIRTIO_NET_TXQ);
	if (head < 0)
		return -1;
	volatile struct virtq_desc *d = &dev_desc(VIRTIO_NET_TXQ)[head];
	ck_assert(!(d->flags & (VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT))); /* one readable buffer per frame */
	ck_assert_uint_ge(d->len, sizeof(struct virtio_net_hdr) + 14);
	const uint8_t *buf = (const uint8_t *)(uintptr_t)d->addr;
	static const uint8_t zero[12];
	ck_assert_mem_eq(buf, zero, 12); /* no offload asked */
	size_t n = d->len - sizeof(struct virtio_net_hdr);
	ck_assert_uint_le(n, max);
	memcpy(out, buf + sizeof(struct virtio_net_hdr), n);
	if (complete)
		dev_push(VIRTIO_NET_TXQ, (uint32_t)head, 0);
	return (int)n;
}

/* ---- the guest side: FDT, probe ---- */

static uint8_t fdt_buf[4096];
static int fdt_node;
static struct vd_mmio mmio = { .gpa = 0x1000000000ull, .device_id = 1 };
static struct netif *eth0;

static void fdt_begin(void)
{
	ck_assert_int_eq(fdt_create_empty_tree(fdt_buf, sizeof(fdt_buf)), 0);
	fdt_node = fdt_add_subnode(fdt_buf, 0, "virtio_mmio@1000000000");
	ck_assert_int_ge(fdt_node, 0);
}

static void fdt_u32(const char *prop, uint32_t v) { ck_assert_int_eq(fdt_setprop_u32(fdt_buf, fdt_node, prop, v), 0); }
static void fdt_bytes(const char *prop, const void *p, int len) { ck_assert_int_eq(fdt_setprop(fdt_buf, fdt_node, prop, p, len), 0); }

static const uint8_t our_ip[4] = { 10, 0, 2, 15 }, gw_ip[4] = { 10, 0, 2, 2 }, peer_ip[4] = { 10, 0, 2, 2 };
static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x99 };

static void setup(void)
{
	console_len = 0;
	console[0] = 0;
	npollers = 0;
	idle_calls = 0;
	idle_hook = NULL;
	mono_step = 0;
	dev_kills = 0;
	dev_status_reads = 0;
	memset(dev_notifies, 0, sizeof(dev_notifies));
	memset(dev_used_idx, 0, sizeof(dev_used_idx));
	memset(dev_last_avail, 0, sizeof(dev_last_avail));
	dev_offered = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) | VIRTIO_BIT(VIRTIO_NET_F_MAC) |
		      VIRTIO_BIT(VIRTIO_NET_F_STATUS) | VIRTIO_BIT(VIRTIO_NET_F_MTU) | VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
		      VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	uint8_t raw[12] = { 0 };
	memcpy(raw, dev_mac, 6);
	raw[6] = VIRTIO_NET_S_LINK_UP;
	raw[10] = 1500 & 0xff;
	raw[11] = 1500 >> 8;
	memcpy(dev_cfg, raw, sizeof(raw));
	net_init();
	fdt_begin();
	fdt_bytes(UKVM_FDT_NET_IPV4, our_ip, 4);
	fdt_u32(UKVM_FDT_NET_PREFIX, 24);
	fdt_bytes(UKVM_FDT_NET_GW, gw_ip, 4);
}

static uint64_t vnet_poll(enum k_wait_news news)
{
	ck_assert_uint_eq(npollers, 2); /* net.c's timers, then the NIC */
	return pollers[1]->poll(pollers[1], news);
}

static int dev_tx(uint8_t *out, size_t max, bool complete);

/* Probes eth0; a link that is up announces itself with a gratuitous ARP, which the device sends here. */
static void probe(void)
{
	uint8_t f[64];
	ck_assert_int_eq(vd_net_probe(&mmio, fdt_buf, fdt_node), 0);
	eth0 = netif_default ? netif_default : netif_get_by_index(2);
	ck_assert_ptr_nonnull(eth0);
	if (netif_is_link_up(eth0)) {
		ck_assert_int_eq(dev_tx(f, sizeof(f), true), 42);
		static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
		ck_assert_mem_eq(f, bcast, 6);
		ck_assert_mem_eq(f + 14 + 14, f + 14 + 24, 4); /* sender = target: gratuitous */
		vnet_poll(K_WAIT_NEWS);
	}
}

/* ---- frames ---- */

static uint16_t csum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		s += (uint32_t)b[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static size_t arp_request(uint8_t *f)
{
	memset(f, 0xff, 6);
	memcpy(f + 6, peer_mac, 6);
	f[12] = 0x08, f[13] = 0x06;
	uint8_t *a = f + 14;
	a[0] = 0, a[1] = 1, a[2] = 8, a[3] = 0, a[4] = 6, a[5] = 4, a[6] = 0, a[7] = 1;
	memcpy(a + 8, peer_mac, 6);
	memcpy(a + 14, peer_ip, 4);
	memset(a + 18, 0, 6);
	memcpy(a + 24, our_ip, 4);
	return 14 + 28;
}

static size_t echo_request(uint8_t *f, uint16_t seq)
{
	memcpy(f, dev_mac, 6);
	memcpy(f + 6, peer_mac, 6);
	f[12] = 0x08, f[13] = 0x00;
	uint8_t *ip = f + 14, *ic = ip + 20;
	memset(ip, 0, 20);
	ip[0] = 0x45, ip[3] = 20 + 8 + 32, ip[8] = 64, ip[9] = 1;
	memcpy(ip + 12, peer_ip, 4);
	memcpy(ip + 16, our_ip, 4);
	uint16_t c = csum(ip, 20);
	ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
	memset(ic, 0, 8 + 32);
	ic[0] = 8, ic[4] = 0x12, ic[5] = 0x34, ic[6] = (uint8_t)(seq >> 8), ic[7] = (uint8_t)seq;
	for (int i = 0; i < 32; i++)
		ic[8 + i] = (uint8_t)i;
	c = csum(ic, 40);
	ic[2] = (uint8_t)(c >> 8), ic[3] = (uint8_t)c;
	return 14 + 20 + 40;
}

/* ---- tests ---- */

START_TEST(test_probe_and_config)
{
	probe();
	struct vnet_q { unsigned n; };
	ck_assert_uint_eq(mmio.features, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) |
						 VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
						 VIRTIO_BIT(VIRTIO_NET_F_MTU) | VIRTIO_BIT(VIRTIO_NET_F_CSUM));
	/* No merged buffers; no GUEST_TSO4 without the GUEST_CSUM it needs (spec 5.1.3.1). */
	ck_assert_mem_eq(eth0->hwaddr, dev_mac, 6);
	ck_assert_uint_eq(eth0->mtu, 1500);
	ck_assert(netif_is_up(eth0) && netif_is_link_up(eth0));
	ck_assert_uint_eq(netif_get_index(eth0), 2); /* lo is 1 */
	ck_assert_mem_eq(&netif_ip4_addr(eth0)->addr, our_ip, 4);
	ck_assert_uint_eq(netif_ip4_netmask(eth0)->addr, lwip_htonl(0xffffff00u));
	ck_assert_mem_eq(&netif_ip4_gw(eth0)->addr, gw_ip, 4);
	char name[8];
	ck_assert_int_eq(net_if_name(eth0, name, sizeof(name)), 4);
	ck_assert_str_eq(name, "eth0");
	/* The whole RX ring holds buffers for a full frame, one notify for the batch; nothing printed. */
	ck_assert_uint_eq(dev_avail(VIRTIO_NET_RXQ)[1], QSIZE);
	for (unsigned i = 0; i < QSIZE; i++) {
		ck_assert_uint_ge(dev_desc(VIRTIO_NET_RXQ)[i].len, 12 + 1514);
		ck_assert(dev_desc(VIRTIO_NET_RXQ)[i].flags & VIRTQ_DESC_F_WRITE);
	}
	ck_assert_uint_eq(dev_notifies[VIRTIO_NET_RXQ], 1);
	ck_assert_uint_eq(console_len, 0);
	/* Idle: the NIC awaits frames (no deadlock) without a periodic wake-up; no timer runs. */
	ck_assert_uint_eq(run_pollers(K_WAIT_POLLED), K_WAIT_FOREVER);
}
END_TEST

START_TEST(test_arp_and_echo)
{
	uint8_t f[2048], out[2048];
	probe();
	dev_rx(f, arp_request(f));
	run_pollers(K_WAIT_NEWS);
	int n = dev_tx(out, sizeof(out), true);
	ck_assert_int_ge(n, 42);
	ck_assert_mem_eq(out, peer_mac, 6); /* ARP reply to the asker */
	ck_assert_uint_eq(out[12], 0x08);
	ck_assert_uint_eq(out[13], 0x06);
	ck_assert_uint_eq(out[14 + 7], 2);
	ck_assert_mem_eq(out + 14 + 14, our_ip, 4);

	for (uint16_t seq = 1; seq <= 3 * QSIZE; seq++) { /* more than a ring: buffers are refilled and freed */
		size_t len = echo_request(f, seq);
		dev_rx(f, (uint32_t)len);
		run_pollers(K_WAIT_NEWS);
		n = dev_tx(out, sizeof(out), true);
		ck_assert_int_eq(n, (int)len);
		ck_assert_mem_eq(out, peer_mac, 6);
		ck_assert_uint_eq(out[14 + 20], 0); /* echo reply */
		ck_assert_uint_eq(csum(out + 14, 20), 0);
		ck_assert_uint_eq(csum(out + 34, 40), 0);
		ck_assert_mem_eq(out + 34 + 8, f + 34 + 8, 32);
		ck_assert_uint_eq(out[34 + 7], seq & 0xff);
	}
	run_pollers(K_WAIT_NEWS);
	ck_assert_uint_eq(queues[VIRTIO_NET_TXQ]->vq.inflight, 0);
	ck_assert_uint_eq(queues[VIRTIO_NET_RXQ]->vq.num_free, 0); /* refilled */
	/* Event idx: a device that never asks for a notify gets none after the first batch. */
	ck_assert_uint_le(dev_notifies[VIRTIO_NET_TXQ], 1);
	ck_assert_uint_eq(console_len, 0);
	/* Traffic started ARP's 1 s timer; it stops after NET_SLOW_IDLE_MS without frames. */
	uint64_t t = run_pollers(K_WAIT_POLLED);
	ck_assert_uint_lt(t, K_WAIT_FOREVER);
	for (int i = 0; i < 40 && t != K_WAIT_FOREVER; i++) {
		mono_ns = t;
		t = run_pollers(K_WAIT_QUIET);
	}
	ck_assert_uint_eq(t, K_WAIT_FOREVER);
}
END_TEST

START_TEST(test_short_frames_dropped)
{
	uint8_t f[64] = { 0 };
	probe();
	int head = dev_pop(VIRTIO_NET_RXQ);
	dev_push(VIRTIO_NET_RXQ, (uint32_t)head, 12 + 13); /* shorter than an Ethernet header */
	head = dev_pop(VIRTIO_NET_RXQ);
	dev_push(VIRTIO_NET_RXQ, (uint32_t)head, 0);
	run_pollers(K_WAIT_NEWS);
	ck_assert_uint_eq(dev_kills, 0);
	ck_assert(netif_is_link_up(eth0));
	ck_assert_uint_eq(queues[VIRTIO_NET_RXQ]->vq.num_free, 0); /* both buffers posted again */
	dev_rx(f, arp_request(f));
	run_pollers(K_WAIT_NEWS);
	ck_assert_int_gt(dev_tx(f, sizeof(f), true), 0);
}
END_TEST

/* A used entry the driver must refuse: the NIC is disabled with one notice, nothing crashes, later output fails. */
static void expect_disabled(const char *what)
{
	ck_assert_uint_eq(dev_kills, 1);
	ck_assert_ptr_nonnull(strstr(console, "eth0: "));
	ck_assert_ptr_nonnull(strstr(console, what));
	ck_assert_ptr_nonnull(strstr(console, "NIC disabled"));
	ck_assert_ptr_null(strchr(strchr(console, '\n') + 1, '\n')); /* one line */
	ck_assert(!netif_is_link_up(eth0));
	ck_assert_uint_eq(vnet_poll(K_WAIT_NEWS), 0);
	uint8_t f[64];
	struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)arp_request(f), PBUF_RAM);
	pbuf_take(p, f, p->tot_len);
	ck_assert_int_eq(eth0->linkoutput(eth0, p), ERR_IF);
	pbuf_free(p);
	ck_assert_uint_eq(dev_kills, 1);
}

START_TEST(test_used_len_too_large)
{
	probe();
	int head = dev_pop(VIRTIO_NET_RXQ);
	dev_push(VIRTIO_NET_RXQ, (uint32_t)head, dev_desc(VIRTIO_NET_RXQ)[head].len + 1);
	run_pollers(K_WAIT_NEWS);
	expect_disabled("used len too large");
}
END_TEST

START_TEST(test_used_id_out_of_range)
{
	probe();
	dev_push(VIRTIO_NET_RXQ, QSIZE + 3, 60);
	run_pollers(K_WAIT_NEWS);
	expect_disabled("RX queue");
}
END_TEST

START_TEST(test_used_id_repeated)
{
	uint8_t f[64];
	probe();
	int head = dev_rx(f, arp_request(f));
	dev_push(VIRTIO_NET_RXQ, (uint32_t)head, 60); /* the same buffer again, in the same batch */
	run_pollers(K_WAIT_NEWS);
	expect_disabled("used id not in flight");
}
END_TEST

START_TEST(test_used_idx_runs_ahead)
{
	probe();
	dev_used(VIRTIO_NET_RXQ)[1] = QSIZE + 5; /* more entries than buffers in flight */
	run_pollers(K_WAIT_NEWS);
	expect_disabled("used idx too far ahead");
}
END_TEST

START_TEST(test_tx_used_len_nonzero)
{
	uint8_t f[2048];
	probe();
	dev_rx(f, arp_request(f));
	run_pollers(K_WAIT_NEWS);
	int head = dev_pop(VIRTIO_NET_TXQ);
	dev_push(VIRTIO_NET_TXQ, (uint32_t)head, 100); /* a TX buffer is read-only: the device wrote nothing */
	run_pollers(K_WAIT_NEWS);
	expect_disabled("TX queue");
}
END_TEST

/* A device that takes frames and never completes them: output waits (bounded), then drops; the poller gives up after VD_STALL_NS. */
START_TEST(test_tx_never_completes)
{
	uint8_t f[64];
	probe();
	struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)arp_request(f), PBUF_RAM);
	pbuf_take(p, f, p->tot_len);
	for (unsigned i = 0; i < QSIZE; i++)
		ck_assert_int_eq(eth0->linkoutput(eth0, p), ERR_OK);
	ck_assert_uint_eq(idle_calls, 0);
	uint64_t t0 = mono_ns;
	ck_assert_int_eq(eth0->linkoutput(eth0, p), ERR_MEM); /* full: waited, then dropped */
	ck_assert_uint_ge(idle_calls, 1);
	ck_assert_uint_ge(mono_ns - t0, 100000000ull);
	ck_assert_uint_le(mono_ns - t0, 1000000000ull);
	ck_assert_uint_eq(dev_kills, 0);
	/* Completing one while it waits lets the frame through. */
	idle_hook = NULL;
	int head = dev_pop(VIRTIO_NET_TXQ);
	dev_push(VIRTIO_NET_TXQ, (uint32_t)head, 0);
	ck_assert_int_eq(eth0->linkoutput(eth0, p), ERR_OK);
	/* Then nothing more: the poller looks every slice and disables the NIC once VD_STALL_NS pass without progress. */
	uint64_t start = mono_ns;
	for (int i = 0; i < 200 && !dev_kills; i++) {
		uint64_t t = vnet_poll(K_WAIT_QUIET);
		if (dev_kills)
			break;
		ck_assert_uint_gt(t, mono_ns);
		ck_assert_uint_le(t - mono_ns, VD_WAIT_SLICE_NS);
		mono_ns = t;
	}
	ck_assert_uint_eq(dev_kills, 1);
	ck_assert_uint_ge(mono_ns - start, VD_STALL_NS);
	ck_assert_ptr_nonnull(strstr(console, "eth0: TX: no answer from the device, NIC disabled"));
	ck_assert_int_eq(eth0->linkoutput(eth0, p), ERR_IF);
	pbuf_free(p);
}
END_TEST

START_TEST(test_device_stopped)
{
	uint8_t f[64];
	probe();
	struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)arp_request(f), PBUF_RAM);
	pbuf_take(p, f, p->tot_len);
	ck_assert_int_eq(eth0->linkoutput(eth0, p), ERR_OK);
	pbuf_free(p);
	dev_status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	ck_assert_uint_eq(vnet_poll(K_WAIT_QUIET), 0); /* a quiet WAIT with a frame in flight reads Status */
	ck_assert_uint_eq(dev_kills, 1);
	ck_assert_ptr_nonnull(strstr(console, "eth0: device stopped (status 0x"));
}
END_TEST

START_TEST(test_link_down_and_mac_fallback)
{
	uint8_t raw[12] = { 0 };
	memcpy(dev_cfg, raw, sizeof(raw)); /* link down, no MTU */
	dev_offered &= ~VIRTIO_BIT(VIRTIO_NET_F_MAC);
	static const uint8_t fdt_mac[6] = { 0x02, 1, 2, 3, 4, 5 };
	fdt_bytes(UKVM_FDT_NET_MAC, fdt_mac, 6);
	fdt_u32(UKVM_FDT_NET_MTU, 9000);
	probe();
	ck_assert_mem_eq(eth0->hwaddr, fdt_mac, 6);
	ck_assert(!netif_is_link_up(eth0));
	ck_assert_uint_eq(eth0->mtu, 9000); /* the device's MTU 0 is out of range: the FDT's stands */
	ck_assert_uint_ge(dev_desc(VIRTIO_NET_RXQ)[0].len, 12 + 14 + 9000);
	ck_assert_uint_eq(console_len, 0);
}
END_TEST

START_TEST(test_mtu_lowered_to_device)
{
	fdt_u32(UKVM_FDT_NET_MTU, 9000);
	probe(); /* the device says 1500 */
	ck_assert_uint_eq(eth0->mtu, 1500);
	uint8_t f[2048];
	struct pbuf *p = pbuf_alloc(PBUF_RAW, 1514 + 19, PBUF_RAM);
	memset(f, 0, sizeof(f));
	pbuf_take(p, f, p->tot_len);
	ck_assert_int_eq(eth0->linkoutput(eth0, p), ERR_IF); /* larger than the MTU allows: refused, not sent */
	pbuf_free(p);
	ck_assert_int_eq(dev_tx(f, sizeof(f), true), -1);
}
END_TEST

/*
 * A Status read is an exit: the data path makes none. News that brought
 * frames is progress even while a sent frame is not back yet (the device
 * completes TX on its own time): a host->guest stream read Status on every
 * other packet before (bench-net: 174k MMIO exits in 3 s).
 */
START_TEST(test_rx_news_reads_no_status)
{
	uint8_t f[2048], out[2048];
	probe();
	dev_rx(f, arp_request(f)); /* lwIP learns the peer's MAC */
	vnet_poll(K_WAIT_NEWS);
	ck_assert_int_eq(dev_tx(out, sizeof(out), true), 42);
	for (uint16_t seq = 1; seq < QSIZE; seq++) {
		size_t len = echo_request(f, seq);
		dev_rx(f, (uint32_t)len);
		vnet_poll(K_WAIT_NEWS); /* the reply goes out and stays in flight */
		ck_assert_int_eq(dev_tx(out, sizeof(out), false), (int)len);
	}
	ck_assert_uint_eq(dev_status_reads, 0);
	/* Without any progress, news twice in a row does look. */
	vnet_poll(K_WAIT_NEWS);
	vnet_poll(K_WAIT_NEWS);
	ck_assert_uint_eq(dev_status_reads, 1);
	ck_assert_uint_eq(dev_kills, 0);
}
END_TEST

/* The used_event the driver left on queue qi (VIRTQ_F_EVENT_IDX: after the avail ring). */
static uint16_t drv_used_event(unsigned qi) { return dev_avail(qi)[2 + QSIZE]; }

/*
 * Notification discipline: TX completions never ask for news (used_event out of reach), RX news
 * is armed only by the idle hook before a WAIT; the hook spins on RX while frames have been
 * coming, finds a frame without a WAIT, and pauses spinning after a spin that found nothing
 * (vnet_spin.h; the policy's own bounds: test_spin_policy).
 */
START_TEST(test_idle_spin_and_news)
{
	uint8_t f[2048], out[2048];
	probe();
	struct k_poller *nic = pollers[1];
	ck_assert_ptr_nonnull(nic->idle);
	dev_rx(f, arp_request(f));
	vnet_poll(K_WAIT_NEWS);
	ck_assert_int_eq(dev_tx(out, sizeof(out), true), 42);
	vnet_poll(K_WAIT_POLLED);
	uint16_t tx_last = queues[VIRTIO_NET_TXQ]->vq.last_used;
	ck_assert_uint_eq((uint16_t)(drv_used_event(VIRTIO_NET_TXQ) - tx_last), 0x8000); /* TX: no news */
	uint16_t rx_last = queues[VIRTIO_NET_RXQ]->vq.last_used;
	ck_assert_uint_ne(drv_used_event(VIRTIO_NET_RXQ), rx_last); /* RX: not armed while running */
	/* Idle right after a frame: a frame arriving during the spin ends it, no WAIT, nothing armed. */
	mono_step = 1000;
	dev_rx(f, (uint32_t)echo_request(f, 1));
	ck_assert(nic->idle(nic, K_WAIT_FOREVER));
	ck_assert_uint_ne(drv_used_event(VIRTIO_NET_RXQ), rx_last);
	vnet_poll(K_WAIT_POLLED);
	ck_assert_int_gt(dev_tx(out, sizeof(out), true), 0);
	/* Nothing comes: the spin lasts the longest window (no frame caught yet), then arms RX news for the WAIT. */
	uint64_t t0 = mono_ns;
	ck_assert(!nic->idle(nic, K_WAIT_FOREVER));
	ck_assert_uint_ge(mono_ns - t0, VNET_SPIN_MAX_NS);
	ck_assert_uint_lt(mono_ns - t0, VNET_SPIN_MAX_NS + 2 * mono_step);
	ck_assert_uint_eq(drv_used_event(VIRTIO_NET_RXQ), queues[VIRTIO_NET_RXQ]->vq.last_used);
	/* That spin missed: the next idles within the backoff do not spin, yet arm news. */
	uint64_t miss = mono_ns;
	for (int i = 0; i < 8; i++) {
		t0 = mono_ns;
		ck_assert(!nic->idle(nic, K_WAIT_FOREVER));
		ck_assert_uint_lt(mono_ns - t0, VNET_SPIN_MIN_NS);
		ck_assert_uint_eq(drv_used_event(VIRTIO_NET_RXQ), queues[VIRTIO_NET_RXQ]->vq.last_used);
	}
	/* After it, one spin again; it misses too, and the pause doubles. */
	mono_ns = miss + VNET_SPIN_BACKOFF_MIN_NS;
	t0 = mono_ns;
	ck_assert(!nic->idle(nic, K_WAIT_FOREVER));
	ck_assert_uint_ge(mono_ns - t0, VNET_SPIN_MIN_NS);
	miss = mono_ns;
	mono_ns = miss + VNET_SPIN_BACKOFF_MIN_NS;
	t0 = mono_ns;
	ck_assert(!nic->idle(nic, K_WAIT_FOREVER));
	ck_assert_uint_lt(mono_ns - t0, VNET_SPIN_MIN_NS);
	/* Long after the last frame: no spin at all. */
	mono_ns += 2000000000ull;
	t0 = mono_ns;
	for (int i = 0; i < 32; i++)
		ck_assert(!nic->idle(nic, K_WAIT_FOREVER));
	ck_assert_uint_lt(mono_ns - t0, 32 * 30000);
	/* A deadline in the past: no spin either, but news is armed. */
	mono_step = 0;
	ck_assert(!nic->idle(nic, 0));
	ck_assert_uint_eq(drv_used_event(VIRTIO_NET_RXQ), queues[VIRTIO_NET_RXQ]->vq.last_used);
}
END_TEST

/* The spin policy's bounds (vnet_spin.h): windows within MIN..MAX and the deadline, pauses within their bounds. */
START_TEST(test_spin_policy)
{
	struct vnet_spin s = {0};
	uint64_t now = 5000000000ull;
	/* Frames recent, nothing learned yet: the longest window, cut at the deadline. */
	ck_assert_uint_eq(vnet_spin_window(&s, now, now - 1000, K_WAIT_FOREVER), VNET_SPIN_MAX_NS);
	ck_assert_uint_eq(vnet_spin_window(&s, now, now - 1000, now + 7000), 7000);
	ck_assert_uint_eq(vnet_spin_window(&s, now, now - 1000, now), 0);
	ck_assert_uint_eq(vnet_spin_window(&s, now, now - 1000, now - 1), 0);
	/* No frame for VNET_SPIN_RECENT_NS: never a spin (an idle VM only WAITs). */
	ck_assert_uint_eq(vnet_spin_window(&s, now, now - VNET_SPIN_RECENT_NS, K_WAIT_FOREVER), 0);
	ck_assert_uint_eq(vnet_spin_window(&s, now, 0, K_WAIT_FOREVER), 0);
	/* Frames caught after ~2 us: the window shrinks to its floor, never below. */
	for (int i = 0; i < 64; i++)
		vnet_spin_hit(&s, 2000);
	ck_assert_uint_eq(vnet_spin_window(&s, now, now, K_WAIT_FOREVER), VNET_SPIN_MIN_NS);
	vnet_spin_hit(&s, 0); /* caught at once: still a hit, the window stays at the floor */
	ck_assert_uint_eq(vnet_spin_window(&s, now, now, K_WAIT_FOREVER), VNET_SPIN_MIN_NS);
	/* ~8 us: GAIN times that. */
	for (int i = 0; i < 64; i++)
		vnet_spin_hit(&s, 8000);
	uint64_t w = vnet_spin_window(&s, now, now, K_WAIT_FOREVER);
	ck_assert_uint_ge(w, 8000 * VNET_SPIN_GAIN - 1000);
	ck_assert_uint_le(w, 8000 * VNET_SPIN_GAIN);
	/* A vCPU preempted mid-spin reports absurd waits: the window stays at its ceiling. */
	for (int i = 0; i < 64; i++)
		vnet_spin_hit(&s, UINT64_MAX);
	ck_assert_uint_eq(vnet_spin_window(&s, now, now, K_WAIT_FOREVER), VNET_SPIN_MAX_NS);
	/* Misses: a pause from MIN, doubling, bounded by MAX; a hit ends it. */
	uint64_t pause = VNET_SPIN_BACKOFF_MIN_NS;
	for (int i = 0; i < 40; i++) {
		vnet_spin_miss(&s, now);
		ck_assert_uint_eq(vnet_spin_window(&s, now + pause - 1, now + pause - 1, K_WAIT_FOREVER), 0);
		ck_assert_uint_gt(vnet_spin_window(&s, now + pause, now + pause, K_WAIT_FOREVER), 0);
		pause = pause * 2 < VNET_SPIN_BACKOFF_MAX_NS ? pause * 2 : VNET_SPIN_BACKOFF_MAX_NS;
	}
	ck_assert_uint_eq(s.backoff, VNET_SPIN_BACKOFF_MAX_NS);
	vnet_spin_miss(&s, now);
	vnet_spin_hit(&s, 5000);
	ck_assert_uint_gt(vnet_spin_window(&s, now, now, K_WAIT_FOREVER), 0);
	vnet_spin_miss(&s, now);
	ck_assert_uint_eq(s.off_until, now + VNET_SPIN_BACKOFF_MIN_NS);
	/* Sustained misses cost at most one window per longest pause. */
	ck_assert_uint_le(VNET_SPIN_MAX_NS * 500, VNET_SPIN_BACKOFF_MAX_NS);
}
END_TEST

/* ---- loopback and lwIP's timers (guest/net/net.c) ---- */

static struct tcp_pcb *lo_accepted;
static bool lo_connected;
static char lo_rx[64];
static size_t lo_rx_len;

static err_t lo_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	(void)arg;
	(void)err;
	if (!p)
		return ERR_OK;
	lo_rx_len += pbuf_copy_partial(p, lo_rx + lo_rx_len, (u16_t)(sizeof(lo_rx) - lo_rx_len), 0);
	tcp_recved(pcb, p->tot_len);
	pbuf_free(p);
	return ERR_OK;
}

static err_t lo_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	ck_assert_int_eq(err, ERR_OK);
	lo_accepted = pcb;
	tcp_recv(pcb, lo_recv);
	return ERR_OK;
}

static err_t lo_connect(void *arg, struct tcp_pcb *pcb, err_t err)
{
	(void)arg;
	(void)pcb;
	ck_assert_int_eq(err, ERR_OK);
	lo_connected = true;
	return ERR_OK;
}

/*
 * 127.0.0.1 works with no NIC at all; net_flush (and the poller) deliver what lwIP looped; the
 * poller asks for lwIP's TCP timer only while a connection exists (TIME_WAIT included), and for
 * nothing once it is gone: an idle VM sleeps.
 */
START_TEST(test_loopback_tcp_and_timers)
{
	ck_assert_uint_eq(npollers, 1);
	ck_assert_uint_eq(run_pollers(K_WAIT_POLLED), 0); /* nothing pending at boot */
	ip_addr_t lo;
	IP_ADDR4(&lo, 127, 0, 0, 1);
	struct tcp_pcb *l = tcp_new();
	ck_assert_int_eq(tcp_bind(l, &lo, 7), ERR_OK);
	l = tcp_listen(l);
	ck_assert_ptr_nonnull(l);
	tcp_accept(l, lo_accept);
	ck_assert_uint_eq(run_pollers(K_WAIT_POLLED), 0); /* a listener alone needs no timer */

	struct tcp_pcb *c = tcp_new();
	ck_assert_int_eq(tcp_connect(c, &lo, 7, lo_connect), ERR_OK);
	ck_assert(!lo_connected);
	net_flush(); /* SYN, SYN-ACK, ACK bounce inside this call */
	ck_assert(lo_connected);
	ck_assert_ptr_nonnull(lo_accepted);
	ck_assert_int_eq(tcp_write(c, "hello, lo", 9, TCP_WRITE_FLAG_COPY), ERR_OK);
	ck_assert_int_eq(tcp_output(c), ERR_OK);
	ck_assert_uint_eq(lo_rx_len, 0);
	uint64_t t = run_pollers(K_WAIT_POLLED); /* the poller delivers too */
	ck_assert_uint_eq(lo_rx_len, 9);
	ck_assert_mem_eq(lo_rx, "hello, lo", 9);
	/* Connections exist: TCP's 250 ms timer, no sooner. */
	ck_assert_uint_gt(t, mono_ns);
	ck_assert_uint_le(t - mono_ns, 250000000ull);

	ck_assert_int_eq(tcp_close(c), ERR_OK);
	ck_assert_int_eq(tcp_close(lo_accepted), ERR_OK);
	ck_assert_int_eq(tcp_close(l), ERR_OK);
	net_flush();
	/* TIME_WAIT (2 MSL) keeps the timer; then nothing is left and the poller asks for nothing. */
	int ticks = 0;
	for (t = run_pollers(K_WAIT_POLLED); t && ticks < 2000; ticks++) {
		ck_assert_uint_gt(t, mono_ns);
		mono_ns = t;
		t = run_pollers(K_WAIT_QUIET);
	}
	ck_assert_uint_eq(t, 0);
	ck_assert_uint_ge(ticks, 2 * TCP_MSL / TCP_TMR_INTERVAL - 8);
	ck_assert_uint_le(ticks, 2 * TCP_MSL / TCP_TMR_INTERVAL + 8);
}
END_TEST

/* ---- the FDT configuration ---- */

START_TEST(test_cfg_good)
{
	struct net_cfg c;
	static const uint8_t dns[8] = { 10, 0, 2, 3, 1, 1, 1, 1 }, mac[6] = { 0x02, 0, 0, 0, 0, 1 };
	fdt_bytes(UKVM_FDT_NET_DNS, dns, 8);
	fdt_bytes(UKVM_FDT_NET_MAC, mac, 6);
	fdt_u32(UKVM_FDT_NET_MTU, 9000);
	net_cfg_read(fdt_buf, fdt_node, "eth0", &c);
	ck_assert(c.has_ip && c.has_gw && c.has_mac && c.has_mtu);
	ck_assert_mem_eq(&c.ip, our_ip, 4);
	ck_assert_mem_eq(&c.gw, gw_ip, 4);
	ck_assert_uint_eq(c.prefix, 24);
	ck_assert_uint_eq(c.ndns, 2);
	ck_assert_mem_eq(c.dns, dns, 8);
	ck_assert_mem_eq(c.mac, mac, 6);
	ck_assert_uint_eq(c.mtu, 9000);
	ck_assert_uint_eq(console_len, 0);

	fdt_begin(); /* nothing configured */
	net_cfg_read(fdt_buf, fdt_node, "eth1", &c);
	ck_assert(!c.has_ip && !c.has_gw && !c.has_mac && !c.has_mtu);
	ck_assert_uint_eq(c.ndns, 0);
	ck_assert_uint_eq(c.mtu, NET_MTU_DEFAULT);
	fdt_bytes(UKVM_FDT_NET_IPV4, our_ip, 4); /* an address without a prefix is a /32 */
	net_cfg_read(fdt_buf, fdt_node, "eth1", &c);
	ck_assert(c.has_ip);
	ck_assert_uint_eq(c.prefix, 32);
	ck_assert_uint_eq(console_len, 0);
}
END_TEST

START_TEST(test_cfg_bad)
{
	struct net_cfg c;
	static const uint8_t dns[16] = { 0 }, mcast[6] = { 0x01, 0, 0x5e, 0, 0, 1 };
	fdt_begin();
	fdt_bytes(UKVM_FDT_NET_IPV4, our_ip, 3);
	fdt_u32(UKVM_FDT_NET_PREFIX, 33);
	fdt_bytes(UKVM_FDT_NET_GW, gw_ip, 2);
	fdt_bytes(UKVM_FDT_NET_DNS, dns, 16); /* 4 servers: one too many */
	fdt_bytes(UKVM_FDT_NET_MAC, mcast, 6);
	fdt_u32(UKVM_FDT_NET_MTU, UKVM_NET_MTU_MAX + 1);
	net_cfg_read(fdt_buf, fdt_node, "eth0", &c);
	ck_assert(!c.has_ip && !c.has_gw && !c.has_mac && !c.has_mtu);
	ck_assert_uint_eq(c.ndns, 0);
	ck_assert_uint_eq(c.mtu, NET_MTU_DEFAULT);
	const char *want[] = { "eth0: " UKVM_FDT_NET_IPV4 " has a wrong length, ignored",
			       "eth0: " UKVM_FDT_NET_PREFIX " is over 32, ignored",
			       "eth0: " UKVM_FDT_NET_GW " has a wrong length, ignored",
			       "eth0: " UKVM_FDT_NET_DNS " has a wrong length, ignored",
			       "eth0: " UKVM_FDT_NET_MAC " is a multicast address, ignored",
			       "eth0: " UKVM_FDT_NET_MTU " is out of range, ignored" };
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(strstr(console, want[i]), "missing notice: %s\nin: %s", want[i], console);

	fdt_begin();
	fdt_u32(UKVM_FDT_NET_MTU, UKVM_NET_MTU_MIN - 1);
	fdt_bytes(UKVM_FDT_NET_DNS, dns, 0);
	fdt_bytes(UKVM_FDT_NET_PREFIX, dns, 8); /* u32 expected */
	console_len = 0;
	net_cfg_read(fdt_buf, fdt_node, "eth0", &c);
	ck_assert(!c.has_mtu);
	ck_assert_uint_eq(c.ndns, 0);
	ck_assert_ptr_nonnull(strstr(console, UKVM_FDT_NET_MTU " is out of range"));
	ck_assert_ptr_nonnull(strstr(console, UKVM_FDT_NET_DNS " has a wrong length"));
	ck_assert_ptr_nonnull(strstr(console, UKVM_FDT_NET_PREFIX " has a wrong length"));
}
END_TEST

/* The nodes of the virtio-mmio devices in a tree fdtb_build made, in device order (n of them). */
static void fdt_devs(const void *fdt, int *off, int n)
{
	int o = -1;
	for (int i = 0; i < n; i++) {
		o = fdt_node_offset_by_compatible(fdt, o, UKVM_FDT_VIRTIO_MMIO);
		ck_assert_int_ge(o, 0);
		off[i] = o;
	}
}

/*
 * The round trip of a NIC's configuration: the monitor resolves it
 * (devices/net.c's net_resolve) and writes it (vmm/fdtbuild.c's
 * fdtb_build), the guest reads it (netcfg.c): every field comes back.
 */
START_TEST(test_cfg_roundtrip)
{
	struct ukvm_net full = { .kind = UKVM_NET_TAP, .ifname = "tap0", .mac = { 0x52, 0x54, 0, 1, 2, 3 },
				 .ipv4 = lwip_htonl(0x0a000002), .prefix = 16, .gw = lwip_htonl(0x0a000001),
				 .dns = { lwip_htonl(0x01010101), lwip_htonl(0x09090909), lwip_htonl(0x08080808) },
				 .mtu = 9000 };
	struct ukvm_net bare = { .kind = UKVM_NET_TAP, .ifname = "tap1", .mac = { 0x02, 9, 8, 7, 6, 5 } };
	struct ukvm_net noprefix = { .kind = UKVM_NET_TAP, .ifname = "tap2", .ipv4 = lwip_htonl(0xc0a80105) };
	struct ukvm_net rfull, rbare, rnoprefix;
	char err[128];
	ck_assert_int_eq(net_resolve(&full, &rfull, err, sizeof(err)), 0);
	ck_assert_int_eq(net_resolve(&bare, &rbare, err, sizeof(err)), 0);
	ck_assert_int_eq(net_resolve(&noprefix, &rnoprefix, err, sizeof(err)), 0);
	struct fdtb_args a = { .mem_size = UKVM_MEM_MIN, .argv0 = "k", .ndevs = 4 };
	for (unsigned i = 0; i < a.ndevs; i++)
		a.devs[i] = (struct fdtb_dev){ UKVM_MMIO_BASE + i * UKVM_MMIO_STRIDE, UKVM_MMIO_STRIDE,
					       UKVM_MMIO_IRQ_BASE + i };
	a.nets[1] = &rfull; /* device 0 is a disk */
	a.nets[2] = &rbare;
	a.nets[3] = &rnoprefix;
	static uint8_t fdt[UKVM_FDT_MAX];
	ck_assert_int_eq(fdtb_build(fdt, sizeof(fdt), &a), 0);
	int off[4];
	fdt_devs(fdt, off, 4);

	struct net_cfg c;
	net_cfg_read(fdt, off[1], "eth0", &c);
	ck_assert(c.has_mac && c.has_ip && c.has_gw && c.has_mtu);
	ck_assert_mem_eq(c.mac, full.mac, 6);
	ck_assert_uint_eq(c.ip, full.ipv4);
	ck_assert_uint_eq(c.prefix, 16);
	ck_assert_uint_eq(c.gw, full.gw);
	ck_assert_uint_eq(c.ndns, 3);
	ck_assert_mem_eq(c.dns, full.dns, 12);
	ck_assert_uint_eq(c.mtu, 9000);

	net_cfg_read(fdt, off[2], "eth1", &c); /* a MAC and nothing else: unconfigured, Linux's default MTU */
	ck_assert(c.has_mac && !c.has_ip && !c.has_gw && !c.has_mtu);
	ck_assert_mem_eq(c.mac, bare.mac, 6);
	ck_assert_uint_eq(c.ndns, 0);
	ck_assert_uint_eq(c.mtu, NET_MTU_DEFAULT);

	net_cfg_read(fdt, off[3], "eth2", &c); /* the monitor chose the MAC (random, local, unicast) and /24 */
	ck_assert(c.has_mac && c.has_ip && !c.has_gw && !c.has_mtu);
	ck_assert_mem_eq(c.mac, rnoprefix.mac, 6);
	ck_assert_uint_eq(c.mac[0] & 3, 2);
	ck_assert_uint_eq(c.ip, noprefix.ipv4);
	ck_assert_uint_eq(c.prefix, 24);

	net_cfg_read(fdt, off[0], "disk", &c); /* not a NIC: nothing */
	ck_assert(!c.has_mac && !c.has_ip && !c.has_gw && !c.has_mtu);
	ck_assert_uint_eq(console_len, 0);

	/* DNS servers are the leading non-zero ones: a gap ends the list. */
	full.dns[1] = 0;
	ck_assert_int_eq(net_resolve(&full, &rfull, err, sizeof(err)), 0);
	ck_assert_int_eq(fdtb_build(fdt, sizeof(fdt), &a), 0);
	fdt_devs(fdt, off, 2);
	net_cfg_read(fdt, off[1], "eth0", &c);
	ck_assert_uint_eq(c.ndns, 1);
	ck_assert_uint_eq(c.dns[0], full.dns[0]);
}
END_TEST

/*
 * What the monitor refuses (net_resolve) the guest ignores too, with a
 * notice, when a tree carries it anyway (an embedder calling fdtb_build on
 * an unresolved configuration): an MTU out of range, a prefix over 32, a
 * multicast MAC, each in the builder's own encoding.
 */
START_TEST(test_cfg_roundtrip_bad)
{
	struct ukvm_net bad = { .kind = UKVM_NET_TAP, .ifname = "tap0", .mac = { 0x01, 0, 0x5e, 0, 0, 1 },
				.ipv4 = lwip_htonl(0x0a000002), .prefix = 40, .mtu = UKVM_NET_MTU_MAX + 1 };
	struct ukvm_net r;
	char err[128];
	ck_assert_int_eq(net_resolve(&bad, &r, err, sizeof(err)), -EINVAL);
	bad.mtu = UKVM_NET_MTU_MIN - 1;
	ck_assert_int_eq(net_resolve(&bad, &r, err, sizeof(err)), -EINVAL);
	bad.mtu = 0;
	ck_assert_int_eq(net_resolve(&bad, &r, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "prefix /40"));
	bad.prefix = 8;
	ck_assert_int_eq(net_resolve(&bad, &r, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "multicast"));

	bad.prefix = 40;
	bad.mtu = UKVM_NET_MTU_MAX + 1;
	struct fdtb_args a = { .mem_size = UKVM_MEM_MIN, .argv0 = "k", .ndevs = 1 };
	a.devs[0] = (struct fdtb_dev){ UKVM_MMIO_BASE, UKVM_MMIO_STRIDE, UKVM_MMIO_IRQ_BASE };
	a.nets[0] = &bad;
	static uint8_t fdt[UKVM_FDT_MAX];
	ck_assert_int_eq(fdtb_build(fdt, sizeof(fdt), &a), 0);
	int off;
	fdt_devs(fdt, &off, 1);
	struct net_cfg c;
	net_cfg_read(fdt, off, "eth0", &c);
	ck_assert(!c.has_mac && c.has_ip && !c.has_mtu);
	ck_assert_uint_eq(c.ip, bad.ipv4);
	ck_assert_uint_eq(c.prefix, 32); /* the address stays, as a /32 */
	ck_assert_uint_eq(c.mtu, NET_MTU_DEFAULT);
	const char *want[] = { "eth0: " UKVM_FDT_NET_MAC " is a multicast address, ignored",
			       "eth0: " UKVM_FDT_NET_PREFIX " is over 32, ignored",
			       "eth0: " UKVM_FDT_NET_MTU " is out of range, ignored" };
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(strstr(console, want[i]), "missing notice: %s\nin: %s", want[i], console);
}
END_TEST

/* The Internet sum byte by byte, as RFC 1071 defines it over host-order (little-endian) 16-bit words. */
static uint16_t ref_chksum(const uint8_t *p, int len)
{
	uint32_t sum = 0;
	for (int i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] | p[i + 1] << 8);
	if (len & 1)
		sum += p[len - 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* lwIP's LWIP_CHKSUM (guest/net/port.c): every length and alignment, carries, and lwIP's own users. */
START_TEST(test_chksum)
{
	static uint8_t buf[1600 + 8];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof(buf); i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	for (int off = 0; off < 8; off++)
		for (int len = 0; len <= 1600; len += len < 80 ? 1 : 37)
			ck_assert_uint_eq(net_port_chksum(buf + off, len), ref_chksum(buf + off, len));
	memset(buf, 0xff, sizeof(buf)); /* every add carries */
	for (int len = 0; len <= 1600; len += 61)
		ck_assert_uint_eq(net_port_chksum(buf + 1, len), ref_chksum(buf + 1, len));
	/* An IPv4 header whose checksum field holds the right value sums to 0xffff: lwIP's check. */
	uint8_t ip[20] = { 0x45, 0, 0, 84, 0x12, 0x34, 0x40, 0, 64, 1, 0, 0, 10, 81, 0, 2, 10, 81, 0, 1 };
	uint16_t c = (uint16_t)~net_port_chksum(ip, 20);
	memcpy(ip + 10, &c, 2);
	ck_assert_uint_eq(net_port_chksum(ip, 20), 0xffff);
	ck_assert_uint_eq(inet_chksum(ip, 20), 0);
}
END_TEST

Suite *vnet_suite(void)
{
	Suite *s = suite_create("vnet");
	TCase *core = tcase_create("core");
	tcase_add_checked_fixture(core, setup, NULL);
	tcase_add_test(core, test_probe_and_config);
	tcase_add_test(core, test_arp_and_echo);
	tcase_add_test(core, test_link_down_and_mac_fallback);
	tcase_add_test(core, test_mtu_lowered_to_device);
	tcase_add_test(core, test_loopback_tcp_and_timers);
	tcase_add_test(core, test_cfg_good);
	tcase_add_test(core, test_cfg_roundtrip);
	tcase_add_test(core, test_chksum);
	suite_add_tcase(s, core);
	TCase *limits = tcase_create("limits");
	tcase_add_checked_fixture(limits, setup, NULL);
	tcase_add_test(limits, test_short_frames_dropped);
	tcase_add_test(limits, test_rx_news_reads_no_status);
	tcase_add_test(limits, test_idle_spin_and_news);
	tcase_add_test(limits, test_spin_policy);
	tcase_add_test(limits, test_cfg_bad);
	tcase_add_test(limits, test_cfg_roundtrip_bad);
	suite_add_tcase(s, limits);
	TCase *hostile = tcase_create("hostile");
	tcase_add_checked_fixture(hostile, setup, NULL);
	tcase_add_test(hostile, test_used_len_too_large);
	tcase_add_test(hostile, test_used_id_out_of_range);
	tcase_add_test(hostile, test_used_id_repeated);
	tcase_add_test(hostile, test_used_idx_runs_ahead);
	tcase_add_test(hostile, test_tx_used_len_nonzero);
	tcase_add_test(hostile, test_tx_never_completes);
	tcase_add_test(hostile, test_device_stopped);
	suite_add_tcase(s, hostile);
	return s;
}
