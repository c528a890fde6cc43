/* net.h: the guest's TCP/IP stack (guest/net): lwIP on the kernel, its interfaces, timers and boot files. */
#ifndef NET_H
#define NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lwip/netif.h"
#include "ukvm_abi.h"

/*
 * Using lwIP from kernel code (the socket layer in guest/net/ and the NIC
 * driver). Every guest object is compiled with -Iguest/net/port (lwipopts.h,
 * arch/cc.h) and -isystem <lwIP>/src/include (guest/build.mk): include
 * lwIP's raw API headers directly, e.g. "lwip/tcp.h", "lwip/udp.h",
 * "lwip/raw.h", "lwip/ip_addr.h", "lwip/pbuf.h". The configuration is
 * guest/net/port/lwipopts.h: NO_SYS (raw API, callbacks), IPv4, heap
 * allocation without pool limits, TCP_LISTEN_BACKLOG, SO_REUSE, keepalive,
 * byte-order helpers as lwip_htons/lwip_htonl only (no htons macro).
 *
 * Rules: lwIP has no locks. Call it only from kernel code that does not
 * block or yield between the calls (a syscall's non-blocking part, a
 * poller); lwIP's callbacks (recv, sent, accept, err, udp recv) run inside
 * net_poll/the NIC poller or inside the caller's own lwIP call, and must not
 * block either: they record what happened and wake a wait key.
 */

/*
 * Boot, after the page allocator and before vd_probe_all (the NIC driver
 * adds its interfaces to lwIP): lwip_init, the loopback interface lo
 * (127.0.0.1/8), the timer poller.
 */
void net_init(void);

/*
 * The socket layer calls this after queueing output (tcp_output,
 * udp_sendto, raw_sendto ...) and before it blocks or returns to the app:
 * delivers what lwIP queued on the loopback interfaces (127.0.0.1 and our
 * own addresses) at once instead of at the next scheduler pass, so a
 * blocking peer in this VM sees it without a context switch. Cheap when
 * nothing is queued. Also runs from the poller, so calling it is an
 * optimisation, never needed for correctness. lwIP's callbacks for the
 * delivered packets (recv, accept, sent ...) run inside this call.
 */
void net_flush(void);

/*
 * For the NIC driver. ARP and IP reassembly need lwIP's 1 s timer only
 * while there is traffic: it runs until NET_SLOW_IDLE_MS after the last
 * frame, then stops (an idle VM takes no periodic WAIT wake-ups), and the
 * ticks it missed are caught up when traffic resumes, so ARP entries still
 * age. net_eth_resume: lwIP is about to get work from an Ethernet interface
 * (a frame received, a packet to route out); catches up, so call it outside
 * lwIP's ARP code. net_eth_activity: a frame went out or came in (from
 * linkoutput too); never ticks.
 */
void net_eth_resume(void);
void net_eth_activity(void);
#define NET_SLOW_IDLE_MS 20000u

/*
 * lwIP's memory (guest/net/port.c): every allocation lwIP makes (PCBs,
 * segments, pbufs: those queued on sockets too) is a kernel heap block;
 * bytes held now and at most since boot, as the heap spends them (whole
 * blocks, headers included), and the blocks held now.
 */
struct net_mem {
	uint64_t now, peak, allocs;
};
void net_mem_stats(struct net_mem *m);

/*
 * /proc/net/sockstat's text (guest/net/sockstat.c) into buf (at most size
 * bytes, NUL-terminated): Linux's lines from lwIP's PCB lists and net_mem,
 * then a "LWIP: heap N peak P blocks B" line in bytes. Its length.
 * net_init makes it fs_proc_sockstat.
 */
int net_sockstat(char *buf, size_t size);

/* ---- interface configuration (guest/net/netcfg.c) ---- */

#define NET_MTU_DEFAULT 1500u

/* A NIC's configuration from its FDT node; addresses in network order (as lwIP's ip4_addr_t.addr). */
struct net_cfg {
	bool has_mac, has_ip, has_gw, has_mtu;
	uint8_t mac[6];
	uint32_t ip, gw;
	uint8_t prefix;  /* 32 when the node has an address but no (valid) prefix */
	unsigned ndns;
	uint32_t dns[UKVM_NET_MAX_DNS];
	uint32_t mtu;    /* NET_MTU_DEFAULT unless the node has a valid ukvm,mtu */
};

/*
 * Pure (host-tested). Reads the UKVM_FDT_NET_* properties of node into *c.
 * Absent: not configured. Present but malformed (wrong length, prefix over
 * 32, an MTU outside UKVM_NET_MTU_MIN..MAX, a multicast MAC, too many DNS
 * servers): ignored with a one-line notice naming ifname and the property.
 */
void net_cfg_read(const void *fdt, int node, const char *ifname, struct net_cfg *c);

/* ---- interfaces (guest/net/net.c) ---- */

/* Ethernet interfaces at most (eth0 ..): more NICs are left unused with a notice. */
#define NET_ETH_MAX 8

/*
 * For the NIC driver: the name the next Ethernet interface will have
 * ("eth0", "eth1" ... in probe order, which is FDT node order), for its
 * messages; NULL when NET_ETH_MAX are in use.
 */
const char *net_eth_next_name(void);

/*
 * Adds an Ethernet interface: netif_add with c's address, prefix and
 * gateway, init (the driver's: MAC, MTU, linkoutput, flags) and
 * ethernet_input, then up; the first interface with a gateway becomes the
 * default route; c's DNS servers go to /etc/resolv.conf. lwIP's interface
 * index is netif_get_index(n): lo is 1, ethN is N + 2, as on Linux.
 * 0, or -ENOMEM/-ENOSPC (too many interfaces).
 */
int net_eth_add(struct netif *n, const struct net_cfg *c, void *state, netif_init_fn init);

/*
 * For the NIC driver, after net_eth_add: n's device segments TCP (TSO) to
 * a wire MTU of wire_mtu while n->mtu is IPv4's limit, so TCP connections
 * over n may send segments of up to 64 KiB (net_tcp_tso).
 */
void net_eth_set_tso(struct netif *n, uint16_t wire_mtu);
struct tcp_pcb;
/*
 * The socket layer, once a connection is established (connected or
 * accepted): when it goes out over a TSO interface and the peer takes
 * segments of the wire's MSS, widens pcb->mss (and cwnd to at least one
 * segment) to the largest multiple of that MSS an IPv4 packet holds.
 * Returns the wire's MSS (the unit of Nagle's test, see tcp.c), or 0 when
 * the connection keeps its MSS.
 */
uint16_t net_tcp_tso(struct tcp_pcb *pcb);
/* The Linux name of an lwIP interface ("lo", "eth0" ...) into buf; its length, or -1 when buf is too small. */
int net_if_name(const struct netif *n, char *buf, size_t size);

/* ---- boot files (guest/net/etc.c) ---- */

/*
 * After the file system exists: /etc/hosts (localhost for 127.0.0.1 and
 * ::1, "ukvm" for the first interface's address) and /etc/resolv.conf (the
 * NICs' DNS servers), each written only when the image has none of its own.
 */
void net_etc_init(void);

/* Internal to guest/net: net.c hands etc.c an interface's DNS servers (kept in order, duplicates dropped, at most UKVM_NET_MAX_DNS). */
void net_etc_dns(const uint32_t *dns, unsigned n);
/* Internal to guest/net: the first Ethernet interface with an address, or NULL. */
struct netif *net_eth_first_addressed(void);

#endif
