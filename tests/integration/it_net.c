/* it_net.c: host-side TCP helpers shared by the net and memcached suites. */
#include "it_net.h"

#include <arpa/inet.h>
#include <check.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

double it_now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct sockaddr_in it_sin(const char *ip, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	ck_assert_int_eq(inet_pton(AF_INET, ip, &a.sin_addr), 1);
	return a;
}

int it_tcp_connect_retry(const char *ip, int port, double limit_s)
{
	struct sockaddr_in a = it_sin(ip, port);
	for (double end = it_now_s() + limit_s; it_now_s() < end; usleep(50000)) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(fd, 0);
		if (!connect(fd, (struct sockaddr *)&a, sizeof(a)))
			return fd;
		close(fd);
	}
	return -1;
}
