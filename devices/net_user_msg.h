/*
 * net_user_msg.h: the control messages between the monitor (devices/net_user.c)
 * and the ukvm-slirp helper (devices/slirp/helper.c), one SOCK_SEQPACKET
 * message each. Both are built from the same tree, so no versioning beyond
 * a magic number; the helper still checks every field (a config it cannot
 * use is refused, never trusted).
 */
#ifndef DEVICES_NET_USER_MSG_H
#define DEVICES_NET_USER_MSG_H

#include <stdint.h>

#define NU_MAGIC 0x75736c31u /* "usl1" */
#define NU_MAX_FWDS 64       /* hostfwds per NIC: each is a listening host socket */
#define NU_FD_FRAMES 3       /* the helper's descriptors, set up by the monitor's spawn */
#define NU_FD_CTL 4

struct nu_fwd {
	uint8_t udp;
	uint8_t pad;
	uint16_t host_port;   /* host order */
	uint16_t guest_port;
	uint16_t pad2;
	uint32_t host_addr;   /* network order, 0 = any */
	uint32_t guest_addr;  /* network order, 0 = the guest's address */
};

/* Monitor -> helper, first: the addressing (network order, defaults already applied) and the forwards. */
struct nu_config {
	uint32_t magic;
	uint32_t net;         /* the network, host bits clear */
	uint32_t mask;
	uint32_t host;        /* the gateway, which is slirp's host alias */
	uint32_t dns;         /* the DNS alias, forwarded to /etc/resolv.conf's server */
	uint32_t guest;       /* DHCP's first (and in practice only) lease */
	uint32_t mtu;
	uint32_t nfwds;
	struct nu_fwd fwds[NU_MAX_FWDS];
};

/* Monitor -> helper, second: run (the guest is about to start). */
struct nu_start {
	uint32_t magic;
	uint32_t seccomp;     /* 1: sandbox before the first frame */
};

/* Helper -> monitor, after each of the two: 0 or -errno, and a line saying why. */
struct nu_reply {
	int32_t err;
	char msg[200];
};

#endif
