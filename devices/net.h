/* net.h: virtio-net device model on one backend fd carrying whole frames behind a 12-byte virtio_net_hdr (tap, user-mode, embedder's fd). */
#ifndef DEVICES_NET_H
#define DEVICES_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "dev.h"
#include "mmio.h"
#include "ukvm.h"
#include "virtio_net.h"

#define NET_QUEUE_MAX 256      /* QueueNumMax of both queues */
#define NET_HDR_LEN ((uint32_t)sizeof(struct virtio_net_hdr)) /* 12 with VERSION_1 (spec 5.1.6) */
#define NET_ETH_HLEN 14u
#define NET_VLAN_HLEN 4u       /* a TX frame may carry one 802.1Q tag on top of the MTU */
#define NET_MTU_DEFAULT 1500u
/*
 * Descriptors of one frame we accept (header included). A guest stack
 * hands over a frame in a few pieces (header, then its buffer chain); 64
 * pieces for at most 9018 bytes is already absurd, and it bounds the iovec
 * scratch we keep per read or write.
 */
#define NET_MAX_SEGS 64
/*
 * Reads (RX) in flight per NIC: a read holds one posted RX chain until a
 * frame arrives. One: io_uring arms a read on an idle backend with a
 * non-exclusive poll, so every frame wakes every armed read and all but
 * one re-arm. Measured on a socketpair, one frame at a time: 0.9 us of
 * event-thread CPU per frame with 1 read armed, 1.2 with 2, 1.7 with 4,
 * 3.5 with 16, 6.1 with 64; frames already queued cost ~0.9 us each
 * whatever the count (a read submitted with data waiting completes at
 * once). Frames stay in order either way.
 */
#define NET_RX_INFLIGHT 1
/*
 * Writes (TX) in flight per NIC: one, so frames leave in the guest's order.
 * Writes waiting on a full socket (the user-mode backend) are woken in no
 * particular order (check_devnet's tx_flood saw frames reordered with 64);
 * a tap takes a write at once, so there a write costs one io_uring round
 * trip of the event thread: ~1.1 us of CPU per 1000-byte frame on a
 * socketpair, the reader's recv included (64 chains waiting in the ring).
 * Linked SQEs (IOSQE_IO_LINK) could batch them in order; not worth it
 * against the guest's own cost per frame.
 */
#define NET_TX_INFLIGHT 1
/*
 * Frames the event thread moves with plain preadv2/pwritev2 (RWF_NOWAIT:
 * never blocks) per pass, before a frame goes through io_uring again. A
 * frame already queued on the backend costs one syscall this way instead
 * of an io_uring round trip, and a batch of them raises one news for the
 * guest, not one each: under a stream the guest then wakes to many frames
 * per WAIT. The bound keeps one queue from holding the event thread (and
 * the device lock) for long.
 */
#define NET_SYNC_BATCH 64
/*
 * TSO (HOST_TSO4, GUEST_TSO4): a frame carries at most one IPv4 datagram,
 * 65535 bytes, behind its Ethernet header. The smallest segment size a
 * guest may ask for is Linux's own floor (net.ipv4.tcp_min_snd_mss, 48):
 * it bounds what one TSO frame makes the host kernel send to ~1400 segments.
 */
#define NET_GSO_IP_MAX 65535u
#define NET_GSO_SIZE_MIN 48u
/* Consecutive failed backend reads (other than "try again") after which RX gives up rather than spin. */
#define NET_RX_ERR_MAX 1000

struct net;
struct net_user;

/* One read or write in flight. op first: a CQE's user_data is the request. */
struct net_req {
	struct event_op op;
	struct net *n;
	struct net_req *next_free;
	uint16_t head;              /* the guest's chain */
	uint32_t cap;               /* RX: bytes the read may return (header + buffer); TX: bytes to write */
	unsigned niov;
	struct virtio_net_hdr hdr;  /* the backend's header lives here, never in guest memory (see net.c) */
	unsigned nghdr;             /* RX: pieces of the guest's 12 header bytes */
	struct iovec ghdr[NET_HDR_LEN];
	uint8_t spill;              /* RX: one byte past the buffer, so a frame too big shows (see net.c) */
	struct iovec iov[NET_MAX_SEGS + 2]; /* hdr, the guest's frame bytes, RX: spill */
};

/* Counters of one NIC (under dev.lock). */
struct net_stats {
	uint64_t rx_packets, rx_bytes, rx_dropped; /* frames delivered to the guest (bytes without header) */
	uint64_t tx_packets, tx_bytes, tx_dropped; /* frames the backend took from the guest */
};

struct net {
	struct mmio_dev dev;        /* transport; dev.priv == this */
	int fd;                     /* the backend: whole frames, each behind a 12-byte virtio_net_hdr */
	bool own_fd;                /* closed by net_close (not an embedder's UKVM_NET_FD) */
	int file;                   /* fd's registered index on the event ring; -1 before net_attach */
	struct ukvm_net cfg;        /* resolved: MAC chosen, defaults of the kind applied; no fwds */
	uint16_t mtu;
	bool offload;               /* the backend takes and gives offloaded frames: CSUM, GUEST_CSUM, *_TSO4 offered */
	bool tap;                   /* fd is a tap: the offloads the driver accepted are set on it (TUNSETOFFLOAD) */
	unsigned tap_offload;       /* TUN_F_* now set on the tap */
	bool rx_dead;               /* the backend ended or failed: RX reads no more */
	bool rx_sync, tx_sync;      /* the backend takes RWF_NOWAIT reads / writes (net_rx_fill, net_tx_run) */
	unsigned rx_errs;           /* consecutive failed reads */
	struct net_req rx[NET_RX_INFLIGHT], tx[NET_TX_INFLIGHT];
	struct net_req *rx_free, *tx_free;
	struct net_stats st;
	struct net_user *user;      /* UKVM_NET_USER's backend, else NULL */
	struct vq_seg segs[NET_MAX_SEGS]; /* scratch of the chain being parsed */
};

extern const struct dev_ops net_ops;

/* The class of struct ukvm_config.nets: device i is eth<i>. */
extern const struct dev_class net_class;

/*
 * Sets up n as eth<index> on backend fd (whole frames behind a 12-byte
 * virtio_net_hdr; a blocking fd: io_uring gives -EAGAIN instead of waiting
 * on an O_NONBLOCK one) with the resolved configuration cfg (its MAC used
 * as is; cfg->fwds is not kept), on guest memory mem, signalling news_fd
 * (may be -1). own_fd: net_close closes fd. Returns 0 or -errno with one
 * line in err; fd is left open on failure.
 */
int net_open(struct net *n, int fd, bool own_fd, const struct ukvm_net *cfg, unsigned index,
	     const struct vq_mem *mem, int news_fd, char *err, size_t errlen);

/*
 * Offers the vnet-header offloads (CSUM, GUEST_CSUM, HOST_TSO4, GUEST_TSO4)
 * on n, whose backend must then take frames with partial checksums and TSO
 * headers and may hand back such frames once the driver accepted them. tap:
 * fd is a tap whose TUNSETOFFLOAD is set from what the driver accepted, at
 * each DRIVER_OK (event thread). Before the guest starts.
 */
void net_offer_offloads(struct net *n, bool tap);

/*
 * A TX header h (the device's own copy) for a frame of frame_len bytes,
 * checked against the negotiated features and the MTU (spec 5.1.6.2.1):
 * flags only NEEDS_CSUM (with CSUM), the checksum field inside the frame,
 * hdr_len inside the frame, a frame past the MTU only as TCPv4 TSO (with
 * HOST_TSO4) whose segments fit the MTU, gso_size at least
 * NET_GSO_SIZE_MIN, at most NET_GSO_IP_MAX bytes of IP. Fields the backend
 * must not see (gso_size without GSO, num_buffers) are zeroed. 0, or
 * -EINVAL with *why set.
 */
int net_hdr_tx_check(struct virtio_net_hdr *h, uint32_t frame_len, uint64_t features, uint32_t mtu,
		     const char **why);

/*
 * The backend's header h for a received frame of frame_len bytes, made fit
 * for the driver: all zero without GUEST_CSUM; else flags NEEDS_CSUM (its
 * field inside the frame) or DATA_VALID, GSO only TCPv4 with GUEST_TSO4.
 * num_buffers set to 1. 0, or -EINVAL: the frame must be dropped.
 */
int net_hdr_rx_check(struct virtio_net_hdr *h, uint32_t frame_len, uint64_t features);

/*
 * Sets the tap's offloads (TUNSETOFFLOAD, TUN_F_* flags). 0 or -errno.
 * Needs the event thread's filter (vmm/sandbox.c) once the guest runs.
 */
int net_tap_offload(int fd, unsigned flags);

/* Closes what net_open made (the fd when owned, the user-mode backend); the device must be idle. */
void net_close(struct net *n);

/* The device's counters, read under its lock. */
void net_stats(struct net *n, struct net_stats *out);

/*
 * Opens tap ifname on /dev/net/tun (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR,
 * created when it does not exist and we may), with a 12-byte vnet header
 * and no offloads. Returns the fd (blocking, close-on-exec) or -errno with
 * one line in err ("cannot attach: ... (need CAP_NET_ADMIN or a tap owned
 * by you)"), without the name.
 */
int net_tap_open(const char *ifname, char *err, size_t errlen);

/*
 * cfg with the kind's defaults applied (into *out): a MAC when cfg has
 * none (random, locally administered, unicast), QEMU's user-mode addresses
 * for UKVM_NET_USER, prefix 24 for an address without one. fwds dropped.
 * Returns 0 or -errno (getrandom failed) with one line in err.
 */
int net_resolve(const struct ukvm_net *cfg, struct ukvm_net *out, char *err, size_t errlen);

#endif
