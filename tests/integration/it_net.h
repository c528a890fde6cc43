/* it_net.h: host-side TCP helpers of the network integration suites (Check asserts: not for bench netrun). */
#ifndef IT_NET_H
#define IT_NET_H

#include <netinet/in.h>

/* Seconds of CLOCK_MONOTONIC. */
double it_now_s(void);

/* The IPv4 address ip:port, or asserts. */
struct sockaddr_in it_sin(const char *ip, int port);

/* A connected TCP socket to ip:port, retrying every 50 ms for limit_s while it is refused; -1 then. */
int it_tcp_connect_retry(const char *ip, int port, double limit_s);

#endif
