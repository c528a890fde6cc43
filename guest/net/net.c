/* net.c: lwIP's bring-up, the loopback interface and the poller that runs lwIP's timeouts and loopback queues. */
#include "k.h"
#include "net.h"
#include "wait.h"
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/ip4_frag.h"
#include "lwip/netif.h"
#include "lwip/sys.h"
#include "lwip/timeouts.h"

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

void net_eth_activity(void)
{
	u32_t now = sys_now();

	net_eth_last = now;
	if (net_slow_on)
		return;
	u32_t missed = (now - net_slow_last) / NET_SLOW_TICK_MS;
	if (missed > NET_SLOW_CATCHUP_MAX)
		missed = NET_SLOW_CATCHUP_MAX;
	for (u32_t i = 0; i < missed; i++)
		net_slow_tick();
	net_slow_last += missed * NET_SLOW_TICK_MS;
	net_slow_on = true;
	sys_timeout(NET_SLOW_TICK_MS, net_slow_tmr, NULL);
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
	(void)p;
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
	net_poller.poll = net_poll;
	k_wait_poller_add(&net_poller);
}
