/* sockstat.c: /proc/net/sockstat from lwIP's PCB lists and its heap (net_mem_stats), in Linux's format plus an lwIP line. */
#include "k.h"
#include "net.h"
#include "sock.h"
#include "lwip/priv/tcp_priv.h" /* tcp_active_pcbs, tcp_listen_pcbs, tcp_bound_pcbs, tcp_tw_pcbs */
#include "lwip/udp.h"

#define SOCKSTAT_PAGE 4096u /* Linux counts protocol memory in pages */

static unsigned sockstat_count(const struct tcp_pcb *p, bool orphans)
{
	unsigned n = 0;
	for (; p; p = p->next)
		n += !orphans || !p->callback_arg;
	return n;
}

/*
 * Linux's fields as near as lwIP tells them: inuse counts listeners and
 * connections an app holds, orphan the connections the app closed that
 * lwIP is still finishing (tcp.c detaches its socket: no callback_arg), tw
 * TIME-WAIT, alloc those plus bound sockets (a socket never bound has no
 * PCB on a list and is not counted; Linux counts it). TCP's mem is all of
 * lwIP's heap but UDP's queued datagrams: PCBs, segments and every TCP
 * buffer come from it. No "sockets: used" line (AF_UNIX sockets are not
 * counted here) and no FRAG line (lwIP keeps reassembly to itself; its
 * memory is in the heap figure).
 */
int net_sockstat(char *buf, size_t size)
{
	struct net_mem m;
	net_mem_stats(&m);
	unsigned active = sockstat_count(tcp_active_pcbs, false), orphan = sockstat_count(tcp_active_pcbs, true);
	unsigned listen = sockstat_count(tcp_listen_pcbs.pcbs, false), bound = sockstat_count(tcp_bound_pcbs, false);
	unsigned tw = sockstat_count(tcp_tw_pcbs, false), udp = 0;
	for (struct udp_pcb *u = udp_pcbs; u; u = u->next)
		udp++;
	uint64_t udp_bytes = inet_udp_queued();
	uint64_t tcp_bytes = m.now > udp_bytes ? m.now - udp_bytes : 0;
	int n = k_snprintf(buf, size,
			   "TCP: inuse %u orphan %u tw %u alloc %u mem %lu\n"
			   "UDP: inuse %u mem %lu\n"
			   "UDPLITE: inuse 0\n"
			   "RAW: inuse 0\n"
			   "LWIP: heap %lu peak %lu blocks %lu\n",
			   listen + active - orphan, orphan, tw, listen + active + bound,
			   (unsigned long)((tcp_bytes + SOCKSTAT_PAGE - 1) / SOCKSTAT_PAGE), udp,
			   (unsigned long)((udp_bytes + SOCKSTAT_PAGE - 1) / SOCKSTAT_PAGE), (unsigned long)m.now,
			   (unsigned long)m.peak, (unsigned long)m.allocs);
	return n < 0 ? 0 : (size_t)n < size ? n : (int)size - 1;
}
