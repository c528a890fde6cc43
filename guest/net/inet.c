/* inet.c: AF_INET socket(2): the type and protocol checks of Linux's inet_create, then TCP or UDP on lwIP. */
#include "k.h"
#include "sock.h"

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
