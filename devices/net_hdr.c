/* net_hdr.c: virtio-net header checks both ways: what a guest may ask of the backend (checksum, TSO) and what the backend may hand the guest. */
#include "net.h"

#include <errno.h>
#include <string.h>

/*
 * Spec 5.1.6.2.1 (driver requirements on TX), checked against the features
 * the driver accepted. Every field is a u16 from the guest: the sums below
 * are done in 32 bits and cannot wrap. The kernel checks the header again
 * (tun_get_user, virtio_net_hdr_to_skb); ours is the one the monitor relies on.
 */
int net_hdr_tx_check(struct virtio_net_hdr *h, uint32_t frame_len, uint64_t features, uint32_t mtu,
		     const char **why)
{
	bool csum = features & VIRTIO_BIT(VIRTIO_NET_F_CSUM);
	/* Spec 5.1.3.1: HOST_TSO4 needs CSUM; a driver that took one without the other gets neither on TSO. */
	bool tso4 = csum && (features & VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4));
	uint16_t start = vq_le16(h->csum_start), off = vq_le16(h->csum_offset);
	uint16_t hdr_len = vq_le16(h->hdr_len), gso_size = vq_le16(h->gso_size);

	if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		*why = "flags other than NEEDS_CSUM"; /* DATA_VALID and RSC_INFO are the device's (spec 5.1.6.2.1) */
		return -EINVAL;
	}
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !csum) {
		*why = "NEEDS_CSUM without CSUM negotiated";
		return -EINVAL;
	}
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		/* The checksum field lies inside the frame, after the Ethernet header (skb_partial_csum_set). */
		if (start < NET_ETH_HLEN || (uint32_t)start + off + 2 > frame_len) {
			*why = "csum_start + csum_offset outside the frame";
			return -EINVAL;
		}
	}
	if (hdr_len > frame_len) {
		*why = "hdr_len past the frame";
		return -EINVAL;
	}
	if (h->gso_type == VIRTIO_NET_HDR_GSO_NONE) {
		if (frame_len > NET_ETH_HLEN + NET_VLAN_HLEN + mtu) {
			*why = "a frame past the MTU without GSO";
			return -EINVAL;
		}
		h->gso_size = 0;
		h->num_buffers = 0;
		return 0;
	}
	if (h->gso_type != VIRTIO_NET_HDR_GSO_TCPV4 || !tso4) {
		*why = "a GSO type not negotiated"; /* only TCPv4 is offered; ECN (0x80) needs HOST_ECN */
		return -EINVAL;
	}
	/* TSO: the device segments, so it needs the checksum's place and a segment size that fits the MTU. */
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
		*why = "TSO without NEEDS_CSUM";
		return -EINVAL;
	}
	if (hdr_len < (uint32_t)start + off + 2 || hdr_len <= NET_ETH_HLEN) {
		*why = "TSO hdr_len short of the checksum field";
		return -EINVAL;
	}
	if (gso_size < NET_GSO_SIZE_MIN || (uint32_t)hdr_len - NET_ETH_HLEN + gso_size > mtu + NET_VLAN_HLEN) {
		*why = "TSO gso_size below the minimum or segments past the MTU";
		return -EINVAL;
	}
	if (frame_len > NET_ETH_HLEN + NET_VLAN_HLEN + NET_GSO_IP_MAX) {
		*why = "a TSO frame past 64 KiB";
		return -EINVAL;
	}
	h->num_buffers = 0;
	return 0;
}

/*
 * The backend's header for a frame of frame_len bytes the guest is about to
 * get: passed on only when it asks for what the driver accepted (a tap's
 * queue may still hold frames built before a renegotiation). num_buffers 1.
 */
int net_hdr_rx_check(struct virtio_net_hdr *h, uint32_t frame_len, uint64_t features)
{
	bool gcsum = features & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM);
	bool gtso4 = gcsum && (features & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4));
	uint16_t start = vq_le16(h->csum_start), off = vq_le16(h->csum_offset);

	if (!gcsum) {
		memset(h, 0, sizeof(*h)); /* no offloads: a tap set to none fills nothing in */
		h->num_buffers = vq_le16(1);
		return 0;
	}
	if (h->flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
		return -EINVAL;
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && (start < NET_ETH_HLEN || (uint32_t)start + off + 2 > frame_len))
		return -EINVAL;
	if (h->gso_type == VIRTIO_NET_HDR_GSO_NONE) {
		h->gso_size = 0;
	} else if (h->gso_type != VIRTIO_NET_HDR_GSO_TCPV4 || !gtso4 || !h->gso_size) {
		return -EINVAL;
	}
	h->num_buffers = vq_le16(1);
	return 0;
}
