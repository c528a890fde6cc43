/* lwiphooks.h: lwIP's hooks into the guest's stack (LWIP_HOOK_FILENAME, included by lwIP's own sources). */
#ifndef NET_PORT_LWIPHOOKS_H
#define NET_PORT_LWIPHOOKS_H

struct netif;
struct pbuf;
struct tcp_hdr;
struct tcp_pcb;

/*
 * LWIP_HOOK_TCP_OUT_ADD_TCPOPTS (guest/net/net.c): a SYN's MSS option says
 * what the wire takes. With TSO the interface's MTU is IPv4's limit
 * (net_tcp_tso), from which lwIP would offer TCP_MSS, more than the wire's
 * MTU carries; the option is lowered to the wire's MSS. Adds no option.
 */
u32_t *net_tcp_opts(struct pbuf *p, struct tcp_hdr *hdr, const struct tcp_pcb *pcb, u32_t *opts);

/*
 * Called by net_tcp_opts for every SYN it sees (guest/net/tcp.c): the
 * SYN's window (never scaled) is lowered to what the socket's SO_RCVBUF
 * allows, so the peer sends no more before our first ACK tells it the
 * window (lwIP fills in its fixed TCP_WND).
 */
void inet_tcp_syn_wnd(const struct tcp_pcb *pcb, struct tcp_hdr *hdr);

/*
 * LWIP_HOOK_TCP_INPACKET_PCB (guest/net/tcp.c): a SYN for a listener whose
 * backlog is full is dropped (ERR_ABRT), as Linux does; lwIP's own backlog
 * count is 8 bits (at most 254 as a backlog) and is left to bound half-open
 * connections. ERR_OK lets lwIP go on with the segment.
 */
int inet_tcp_inpacket(struct tcp_pcb *pcb, struct tcp_hdr *hdr);

/*
 * LWIP_HOOK_IP4_INPUT (guest/net/udp.c): lwIP drops ICMP errors; an ICMP
 * destination unreachable about a datagram of a connected UDP socket sets
 * its error (ECONNREFUSED for a closed port), as Linux's __udp4_lib_err.
 * Looks only; always 0, so lwIP goes on with the packet.
 */
int uso_icmp_input(struct pbuf *p, struct netif *inp);

#endif
