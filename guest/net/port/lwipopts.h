/* lwipopts.h: lwIP's configuration for the guest kernel: raw API only (the socket layer is ours), heap-backed, no fixed pools. */
#ifndef NET_PORT_LWIPOPTS_H
#define NET_PORT_LWIPOPTS_H

/*
 * Threading: none inside lwIP. The kernel's threads are cooperative and the
 * guest takes no interrupts, so lwIP runs only from kernel code that does
 * not block (syscalls of the socket layer, the NIC and timer pollers): one
 * caller at a time, no locks, no lwIP threads, timers from a poller.
 */
#define NO_SYS 1
#define SYS_LIGHTWEIGHT_PROT 0
#define LWIP_TIMERS 1
/*
 * In 2.1.3 this only makes timeouts.c export lwip_cyclic_timer (checked:
 * nothing else tests it), which net.c needs to cancel the ARP and IP
 * reassembly cyclic timers: they would wake an idle VM every second.
 */
#define LWIP_TESTMODE 1
#define LWIP_SOCKET 0
#define LWIP_NETCONN 0
#define LWIP_NETIF_API 0

/*
 * Memory: every lwIP allocation (pbufs, PCBs, segments, timeouts) comes from
 * the kernel heap, so there is no fixed pool to run out of: 200+ concurrent
 * TCP connections are limited by RAM only. The MEMP_NUM_* values below are
 * then no limits; they only satisfy lwIP's own consistency checks.
 */
#define MEM_LIBC_MALLOC 1
#define MEMP_MEM_MALLOC 1
#define MEM_ALIGNMENT 8
#include <stddef.h>
/* The kernel heap, counted (guest/net/port.c: net_mem_stats, /proc/net/sockstat). */
void *net_port_malloc(size_t n);
void *net_port_calloc(size_t count, size_t n);
void net_port_free(void *p);
#define mem_clib_malloc net_port_malloc
#define mem_clib_free net_port_free
#define mem_clib_calloc net_port_calloc
#define MEMP_NUM_TCP_PCB 1024
#define MEMP_NUM_TCP_PCB_LISTEN 256
#define MEMP_NUM_UDP_PCB 256
#define MEMP_NUM_RAW_PCB 64
#define MEMP_NUM_TCP_SEG 4096
#define MEMP_NUM_SYS_TIMEOUT 64
#define MEMP_NUM_REASSDATA 64
#define MEMP_NUM_FRAG_PBUF 64
#define MEMP_NUM_ARP_QUEUE 64
#define PBUF_POOL_SIZE 64

/* Protocols: IPv4 with ARP, ICMP (echo answered), UDP, TCP, raw PCBs (ICMP datagram sockets). */
#define LWIP_IPV4 1
#define LWIP_IPV6 0
#define LWIP_ARP 1
#define LWIP_ETHERNET 1
#define LWIP_ICMP 1
#define LWIP_RAW 1
#define LWIP_UDP 1
#define LWIP_TCP 1
#define IP_REASSEMBLY 1
#define IP_FRAG 1
#define ARP_TABLE_SIZE 32
#define ARP_QUEUEING 1
#define ETH_PAD_SIZE 0
/* Headroom for the virtio-net header in front of every frame: the NIC sends TCP segments in place (virtio_net.c). */
#define PBUF_LINK_ENCAPSULATION_HLEN 12
/* Not ours: addresses come from the FDT, names are resolved by the app's libc over UDP (/etc/resolv.conf). */
#define LWIP_DHCP 0
#define LWIP_AUTOIP 0
#define LWIP_IGMP 0
#define LWIP_DNS 0

/*
 * TCP sized for throughput: a 1 MiB receive window (window scaling, shift
 * 5: up to 2 MiB) and a 256 KiB send buffer. The window is what a host
 * sender may have in flight towards us: with 256 KiB the guest ran dry
 * between a sender's bursts and WAITed (an exit) every few frames; bench-net
 * host->guest, same runs alternating, 256 KiB -> 1 MiB: base mode 300-465
 * -> 600-630 MB/s (exits per packet 0.16-0.22 -> 0.07-0.09), pvm-pv
 * 650-740 -> 455-1230 (2 of 3 runs ~1.7x). 2 MiB (with 32 RX buffers) was
 * no faster again. The window is only what we advertise; memory is taken
 * as data arrives, up to the window per connection whose app does not read.
 * TCP_MSS is the largest segment, for the largest MTU a NIC may have
 * (UKVM_NET_MTU_MAX 9000); lwIP sends and advertises segments that fit the
 * interface's MTU (tcp_eff_send_mss_netif), so a 1500-byte link still gets
 * 1460.
 */
#define TCP_MSS (9000 - 40)
#define LWIP_WND_SCALE 1
#define TCP_RCV_SCALE 5
#define TCP_WND (1024 * 1024)
#define TCP_SND_BUF (256 * 1024)
/* Segments queued: as many as 1460-byte ones fill the buffer four times (the common MTU's, not TCP_MSS's). */
#define TCP_SND_QUEUELEN ((4 * TCP_SND_BUF + 1460 - 1) / 1460)
/* lwIP keeps the writable threshold in a u16 (init.c: at least 4 TCP_MSS below its overflow). */
#define TCP_SNDLOWAT (28 * 1024)
#define TCP_QUEUE_OOSEQ 1
/* lwIP's backlog count bounds half-open connections only (guest/net/tcp.c, tso_syn_ok). */
#define TCP_LISTEN_BACKLOG 1
#define TCP_DEFAULT_LISTEN_BACKLOG 0xff
#define LWIP_TCP_KEEPALIVE 1
#define SO_REUSE 1
/*
 * No checksum while copying in tcp_write: where it counts (a tap, bulk
 * data) the device checksums TCP (CSUM offload, guest/drivers/virtio_net.c)
 * and the sum would be thrown away; elsewhere the segment is summed once
 * when sent.
 */
#define LWIP_CHECKSUM_ON_COPY 0
/*
 * The hooks (port/lwiphooks.h): a SYN's MSS is the wire's, not that of a TSO
 * interface's 64 KiB MTU, and its window SO_RCVBUF's; a listener's backlog
 * is the socket layer's.
 */
#define LWIP_HOOK_FILENAME "lwiphooks.h"
#define LWIP_HOOK_TCP_OUT_ADD_TCPOPTS(p, hdr, pcb, opts) net_tcp_opts(p, hdr, pcb, opts)
#define LWIP_HOOK_IP4_INPUT(p, inp) uso_icmp_input(p, inp)
#define LWIP_HOOK_TCP_INPACKET_PCB(pcb, hdr, optlen, opt1len, opt2, p) inet_tcp_inpacket(pcb, hdr)
/* Checksums eight bytes at a time (guest/net/port.c): lwIP's own routine takes two. */
#include <stdint.h>
uint16_t net_port_chksum(const void *data, int len);
#define LWIP_CHKSUM net_port_chksum

/* Interfaces: 127.0.0.1 on lo, loopback to our own addresses, delivered by the timer poller (net.c). */
#define LWIP_NETIF_LOOPBACK 1
#define LWIP_HAVE_LOOPIF 1
#define LWIP_LOOPBACK_MAX_PBUFS 0
#define LWIP_NETIF_LOOPBACK_MULTITHREADING 0
#define LWIP_CHECKSUM_CTRL_PER_NETIF 1 /* lo skips checksums: its packets never leave the guest */
#define LWIP_NETIF_STATUS_CALLBACK 0
#define LWIP_NETIF_LINK_CALLBACK 0
#define LWIP_SINGLE_NETIF 0

/* No statistics, no debug output (LWIP_DEBUG stays undefined: lwIP tests it with #ifdef); errno is the kernel's business (LWIP_PROVIDE_ERRNO stays undefined). */
#define LWIP_STATS 0
#define LWIP_DONT_PROVIDE_BYTEORDER_FUNCTIONS 1

#endif
