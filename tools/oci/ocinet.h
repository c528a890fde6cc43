/* ocinet.h: a container's network namespace wired to its microVM: the CNI veth's settings read with netlink, a tap, tc redirects. */
#ifndef OCI_OCINET_H
#define OCI_OCINET_H

#include <stddef.h>
#include <stdint.h>

/* What CNI gave the namespace's interface: the guest's NIC takes all of it (its MAC too, as Kata's tcfilter does). */
struct ocinet_if {
	char name[16];   /* IFNAMSIZ */
	int index;
	uint8_t mac[6];
	uint32_t mtu;
	uint32_t ipv4;   /* network order */
	uint8_t prefix;
	uint32_t gw;     /* network order; 0: no default route */
};

/* The tap made next to the veth. */
#define OCINET_TAP "tap0_ukvm"

/* Moves the calling process (single-threaded) into the network namespace at path. 0 or -errno with err set. */
int ocinet_join(const char *path, char *err, size_t errlen);

/*
 * Reads, with rtnetlink in the current namespace (not /sys/class/net, which
 * shows the mounter's namespace), the first Ethernet interface that has an
 * IPv4 address: name, index, MAC, MTU, address, prefix and the default
 * route's gateway. 1 with *out, 0 when there is none (nothing to wire), or
 * -errno with err set.
 */
int ocinet_discover(struct ocinet_if *out, char *err, size_t errlen);

/*
 * Creates the tap (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, blocking, as ukvm's
 * UKVM_NET_FD wants), sets it up with the veth's MTU, and redirects every
 * frame between veth and tap both ways (ingress qdisc + u32 match-all +
 * mirred egress redirect, tc from iproute2), so the namespace's own stack never
 * sees the container's traffic. Returns the tap fd, or -errno with err set.
 */
int ocinet_wire(const struct ocinet_if *veth, char *err, size_t errlen);

#endif
