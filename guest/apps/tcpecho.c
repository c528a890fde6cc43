/* tcpecho.c: TCP echo server, one thread per client: `tcpecho PORT [CLIENTS]` (CLIENTS > 0: exit 0 after serving that many). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netpat.h"
#include "say.h"

#define MAX_JOIN 1024

/* Echoes until EOF; returns the bytes echoed, or -errno. */
static long long echo(int fd)
{
	static __thread char buf[65536];
	long long total = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : total;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return -errno;
			off += w;
		}
		total += n;
	}
}

static void *client(void *arg)
{
	int fd = (int)(long)arg;
	long long r = echo(fd);
	if (r < 0)
		say("tcpecho: client fd %d: %s\n", fd, netpat_errname((int)-r));
	else
		say("tcpecho: client fd %d done, %lld bytes\n", fd, r);
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		say("usage: tcpecho PORT [CLIENTS]\n");
		return 2;
	}
	int port = atoi(argv[1]);
	long clients = argc > 2 ? atol(argv[2]) : 0;
	if (clients < 0 || clients > MAX_JOIN) {
		say("tcpecho: CLIENTS must be 0..%d\n", MAX_JOIN);
		return 2;
	}
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 128)) {
		say("tcpecho: listen on %d: %s\n", port, netpat_errname(errno));
		return 1;
	}
	say("tcpecho: listening on %d\n", port);

	static pthread_t th[MAX_JOIN];
	for (long served = 0; clients == 0 || served < clients;) {
		int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			say("tcpecho: accept: %s\n", netpat_errname(errno));
			return 1;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		pthread_t t;
		int e = pthread_create(clients ? &th[served] : &t, NULL, client, (void *)(long)fd);
		if (e) {
			say("tcpecho: pthread_create: %s\n", netpat_errname(e));
			close(fd);
			continue;
		}
		if (!clients)
			pthread_detach(t);
		served++;
	}
	for (long i = 0; i < clients; i++)
		pthread_join(th[i], NULL);
	say("tcpecho: served %ld\n", clients);
	close(ls);
	return 0;
}
