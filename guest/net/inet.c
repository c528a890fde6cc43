/* inet.c: AF_INET socket(2) (the type and protocol checks of Linux's inet_create, then TCP or UDP on lwIP) and what TCP and UDP share. */
#include "k.h"
#include "sock.h"
#include "lwip/netif.h"

int inet_create(int type, int protocol, struct sock **out)
{
	switch (type) {
	case SOCK_STREAM:
		if (protocol && protocol != IPPROTO_TCP)
			return -EPROTONOSUPPORT;
		return inet_tcp_create(out);
	case SOCK_DGRAM:
		if (protocol && protocol != IPPROTO_UDP)
			return -EPROTONOSUPPORT;
		return inet_udp_create(out);
	default:
		return -ESOCKTNOSUPPORT; /* raw sockets are not implemented */
	}
}

bool inet_local_ip(uint32_t ip_be)
{
	struct netif *n;
	if (ip_be == 0)
		return true;
	NETIF_FOREACH(n)
		if (ip4_addr_get_u32(netif_ip4_addr(n)) == ip_be)
			return true;
	return false;
}

/* Linux's inet_bind order: the length and family, then the address must be ours. */
int inet_bind_check(const void *addr, uint32_t len)
{
	int rc = sock_in_check(addr, len, false);
	if (rc)
		return rc;
	const struct lx_sockaddr_in *in = addr;
	return inet_local_ip(in->sin_addr) ? 0 : -EADDRNOTAVAIL;
}
