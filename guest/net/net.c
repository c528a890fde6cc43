/* net.c: lwIP's bring-up, the loopback interface and the poller that runs lwIP's timeouts and loopback queues. */
#include <asm-generic/errno.h>
#include <string.h>

#include "fs.h"
#include "k.h"
#include "net.h"
#include "wait.h"
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/ip.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/tcp.h"
#include "lwip/tcp.h"
#include "lwip/ip4_frag.h"
#include "lwip/netif.h"
#include "lwip/sys.h"
#include "lwip/timeouts.h"
#include "lwiphooks.h"
#include "netif/ethernet.h"

/* ARP_TMR_INTERVAL and IP_TMR_INTERVAL: both lwIP timers tick once a second. */
#define NET_SLOW_TICK_MS 1000u
_Static_assert(ARP_TMR_INTERVAL == NET_SLOW_TICK_MS && IP_TMR_INTERVAL == NET_SLOW_TICK_MS, "slow timer period");
/*
 * An idle stretch long enough that nothing the slow timer serves is still
 * pending: ARP requests are retried for ARP_MAXPENDING ticks and fragments
 * kept IP_REASS_MAXAGE ticks.
 */
_Static_assert(NET_SLOW_IDLE_MS / NET_SLOW_TICK_MS > 5 && NET_SLOW_IDLE_MS / NET_SLOW_TICK_MS > IP_REASS_MAXAGE,
	       "slow timer idle stop");
/* Catch-up after a stop: an ARP entry is gone after ARP_MAXAGE ticks, so more ticks than that change nothing. */
#define NET_SLOW_CATCHUP_MAX 301u

/* Loopback rounds per poll: a request and its answer (data, ACK, FIN ...) bounce a few times, never forever. */
#define NET_LOOP_ROUNDS 16

static struct k_poller net_poller;
static bool net_slow_on;
static u32_t net_slow_last; /* sys_now of the last slow tick (or of boot) */
static u32_t net_eth_last;  /* sys_now of the last Ethernet frame */

static void net_slow_tick(void)
{
	etharp_tmr();
	ip_reass_tmr();
}

static void net_slow_tmr(void *arg)
{
	(void)arg;
	u32_t now = sys_now();
	net_slow_tick();
	net_slow_last = now;
	if (now - net_eth_last < NET_SLOW_IDLE_MS)
		sys_timeout(NET_SLOW_TICK_MS, net_slow_tmr, NULL);
	else
		net_slow_on = false;
}

/* Starts the slow timer (off until now). */
static void net_slow_start(void)
{
	net_slow_on = true;
	sys_timeout(NET_SLOW_TICK_MS, net_slow_tmr, NULL);
}

void net_eth_resume(void)
{
	u32_t now = sys_now();

	net_eth_last = now;
	if (net_slow_on)
		return;
	u32_t missed = (now - net_slow_last) / NET_SLOW_TICK_MS;
	if (missed > NET_SLOW_CATCHUP_MAX)
		missed = NET_SLOW_CATCHUP_MAX;
	/*
	 * On before the ticks: a tick's ARP request goes out through
	 * linkoutput, whose net_eth_activity must not start a second catch-up
	 * (it did, recursively, until the pending entry aged out: the first
	 * hostfwd connection lost its SYN-ACK, check_netdev's
	 * first_connect_no_arp_retry).
	 */
	net_slow_last += missed * NET_SLOW_TICK_MS;
	net_slow_start();
	for (u32_t i = 0; i < missed; i++)
		net_slow_tick();
}

void net_eth_activity(void)
{
	u32_t now = sys_now();

	net_eth_last = now;
	/*
	 * Never a catch-up here: a frame may go out from inside lwIP's ARP code
	 * (etharp_query sends its request before queueing the packet), where
	 * ticks would age the entry being created. net_eth_resume ran before
	 * lwIP got the work that sends this frame; if it did not (a frame sent
	 * on an interface without a route lookup), the ticks missed are lost:
	 * ARP entries then live longer, never shorter.
	 */
	if (!net_slow_on) {
		net_slow_last = now;
		net_slow_start();
	}
}

/* True while some interface has looped-back packets waiting for netif_poll. */
static bool net_loop_pending(void)
{
	struct netif *n;
	NETIF_FOREACH(n) {
		if (n->loop_first)
			return true;
	}
	return false;
}

void net_flush(void)
{
	for (int i = 0; i < NET_LOOP_ROUNDS && net_loop_pending(); i++)
		netif_poll_all();
}

/*
 * The timer poller (wait.h): runs lwIP's due timeouts and delivers looped
 * packets at every scheduler pass; asks to run again at the next timeout.
 * Nothing pending (no TCP connection, no recent traffic): 0, so an idle VM
 * sleeps in one WAIT until device news.
 */
static uint64_t net_poll(struct k_poller *p, enum k_wait_news news)
{
	(void)news;
	net_flush();
	sys_check_timeouts();
	net_flush();
	uint64_t now = k_clock_monotonic_ns();
	if (net_loop_pending())
		return now; /* more bouncing than NET_LOOP_ROUNDS: let threads run, then continue */
	u32_t ms = sys_timeouts_sleeptime();
	if (ms == SYS_TIMEOUTS_SLEEPTIME_INFINITE)
		return 0;
	/*
	 * No connection open (a server idle in accept, say): what is due is
	 * the ARP and reassembly timer, which ticks for NET_SLOW_IDLE_MS after
	 * the last frame (a host's IPv6 router solicitations keep it going
	 * ~50 s after a tap comes up): housekeeping, the VM is still idle.
	 */
	p->housekeeping = !tcp_active_pcbs && !tcp_tw_pcbs;
	/* sys_now truncates, so now + ms is never before the timeout is due. */
	return now + (uint64_t)ms * 1000000u;
}

void net_init(void)
{
	lwip_init();
	/*
	 * lwip_init started lwIP's cyclic timers; ARP and IP reassembly tick
	 * every second forever, which would wake an idle VM. They run on demand
	 * instead (net_eth_activity); TCP's starts and stops by itself.
	 */
	for (int i = 0; i < lwip_num_cyclic_timers; i++)
		sys_untimeout(lwip_cyclic_timer, (void *)(uintptr_t)&lwip_cyclic_timers[i]);
	net_slow_last = sys_now();
	struct netif *n;
	NETIF_FOREACH(n) {
		if (n->name[0] == 'l' && n->name[1] == 'o')
			NETIF_SET_CHECKSUM_CTRL(n, NETIF_CHECKSUM_DISABLE_ALL); /* never leaves the guest */
	}
	fs_proc_sockstat = net_sockstat;
	net_poller.poll = net_poll;
	k_wait_poller_add(&net_poller);
}

/* ---- Ethernet interfaces ---- */

static struct netif *net_eth[NET_ETH_MAX];
static uint16_t net_eth_wire[NET_ETH_MAX]; /* a TSO interface's wire MTU (net_eth_set_tso), else 0 */
static unsigned net_neth;
static const char *const net_eth_names[NET_ETH_MAX] = { "eth0", "eth1", "eth2", "eth3",
							 "eth4", "eth5", "eth6", "eth7" };

const char *net_eth_next_name(void)
{
	return net_neth < NET_ETH_MAX ? net_eth_names[net_neth] : NULL;
}

int net_eth_add(struct netif *n, const struct net_cfg *c, void *state, netif_init_fn init)
{
	ip4_addr_t ip = { 0 }, mask = { 0 }, gw = { 0 };

	if (net_neth >= NET_ETH_MAX)
		return -ENOSPC;
	if (c->has_ip) {
		ip.addr = c->ip;
		mask.addr = c->prefix ? lwip_htonl(~0u << (32 - c->prefix)) : 0;
	}
	if (c->has_gw)
		gw.addr = c->gw;
	if (!netif_add(n, &ip, &mask, &gw, state, init, ethernet_input))
		return -ENOMEM;
	net_eth[net_neth++] = n;
	netif_set_up(n);
	if (c->has_gw && !netif_default)
		netif_set_default(n);
	net_etc_dns(c->dns, c->ndns);
	return 0;
}

void net_eth_set_tso(struct netif *n, uint16_t wire_mtu)
{
	for (unsigned i = 0; i < net_neth; i++)
		if (net_eth[i] == n)
			net_eth_wire[i] = wire_mtu;
}

/* An IPv4 packet's limit less the IP and TCP headers: the payload a TSO segment may carry. */
#define NET_TSO_PAYLOAD_MAX (65535u - IP_HLEN - TCP_HLEN)

/* The interface a connection's segments leave by (tcp_route's choice). */
static struct netif *net_tcp_netif(const struct tcp_pcb *pcb)
{
	return pcb->netif_idx != NETIF_NO_INDEX ? netif_get_by_index(pcb->netif_idx)
						: ip_route(&pcb->local_ip, &pcb->remote_ip);
}

uint16_t net_tcp_tso(struct tcp_pcb *pcb)
{
	struct netif *n = net_tcp_netif(pcb);
	uint16_t wire = 0;
	for (unsigned i = 0; n && i < net_neth; i++)
		if (net_eth[i] == n)
			wire = net_eth_wire[i];
	if (wire <= IP_HLEN + TCP_HLEN)
		return 0;
	uint16_t mss = (uint16_t)(wire - IP_HLEN - TCP_HLEN);
	/*
	 * The device cuts at our wire's MSS; a peer that asked for less
	 * (pcb->mss is already min(its MSS, ours)) keeps segments of its size.
	 */
	if (pcb->mss < mss)
		return 0;
	pcb->mss = (u16_t)(NET_TSO_PAYLOAD_MAX / mss * mss);
	/* lwIP sends no segment larger than cwnd: the window starts at one whole segment. */
	if (pcb->cwnd < pcb->mss)
		pcb->cwnd = pcb->mss;
	return mss;
}

u32_t *net_tcp_opts(struct pbuf *p, struct tcp_hdr *hdr, const struct tcp_pcb *pcb, u32_t *opts)
{
	(void)p;
	if (pcb && (TCPH_FLAGS(hdr) & TCP_SYN))
		inet_tcp_syn_wnd(pcb, hdr);
	u32_t *mss_opt = (u32_t *)(void *)(hdr + 1); /* lwIP writes the MSS option first */
	if (!pcb || !(TCPH_FLAGS(hdr) & TCP_SYN) || (u8_t *)opts < (u8_t *)(mss_opt + 1) ||
	    (lwip_ntohl(*mss_opt) & 0xffff0000u) != 0x02040000u)
		return opts;
	struct netif *n = net_tcp_netif(pcb);
	for (unsigned i = 0; n && i < net_neth; i++) {
		if (net_eth[i] == n && net_eth_wire[i] > IP_HLEN + TCP_HLEN) {
			u16_t wire_mss = (u16_t)(net_eth_wire[i] - IP_HLEN - TCP_HLEN);
			if ((lwip_ntohl(*mss_opt) & 0xffffu) > wire_mss)
				*mss_opt = lwip_htonl(0x02040000u | wire_mss);
		}
	}
	return opts;
}

int net_if_name(const struct netif *n, char *buf, size_t size)
{
	for (unsigned i = 0; i < net_neth; i++)
		if (net_eth[i] == n)
			return k_snprintf(buf, size, "%s", net_eth_names[i]) < (int)size ? (int)strlen(buf) : -1;
	return size > 2 ? k_snprintf(buf, size, "lo") : -1;
}

/* The first Ethernet interface that has an address (the one /etc/hosts calls "ukvm"), or NULL. */
struct netif *net_eth_first_addressed(void)
{
	for (unsigned i = 0; i < net_neth; i++)
		if (!ip4_addr_isany_val(*netif_ip4_addr(net_eth[i])))
			return net_eth[i];
	return NULL;
}
