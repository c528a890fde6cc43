/* net.h: the guest's TCP/IP stack (guest/net): lwIP on the kernel, its interfaces, timers and boot files. */
#ifndef NET_H
#define NET_H

#include <stdbool.h>
#include <stdint.h>

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
 * For the NIC driver: a frame went out or came in on an Ethernet interface.
 * ARP and IP reassembly need lwIP's 1 s timer only while there is traffic:
 * it runs until NET_SLOW_IDLE_MS after the last frame, then stops (an idle
 * VM takes no periodic WAIT wake-ups), and the ticks it missed are caught up
 * when traffic resumes, so ARP entries still age.
 */
void net_eth_activity(void);
#define NET_SLOW_IDLE_MS 20000u

#endif
