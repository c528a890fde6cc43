/* udpecho.c: UDP echo server: `udpecho PORT [DATAGRAMS]` (DATAGRAMS > 0: exit 0 after echoing that many). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netpat.h"
#include "say.h"

int main(int argc, char **argv)
{
	if (argc < 2) {
		say("usage: udpecho PORT [DATAGRAMS]\n");
		return 2;
	}
	int port = atoi(argv[1]);
	long max = argc > 2 ? atol(argv[2]) : 0;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a))) {
		say("udpecho: bind %d: %s\n", port, netpat_errname(errno));
		return 1;
	}
	say("udpecho: listening on %d\n", port);
	static char buf[65536];
	for (long n = 0; max == 0 || n < max;) {
		struct sockaddr_in from;
		socklen_t flen = sizeof(from);
		ssize_t k = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			say("udpecho: recvfrom: %s\n", netpat_errname(errno));
			return 1;
		}
		if (sendto(s, buf, (size_t)k, 0, (struct sockaddr *)&from, flen) != k)
			say("udpecho: sendto %zd bytes: %s\n", k, netpat_errname(errno));
		n++;
	}
	say("udpecho: echoed %ld\n", max);
	return 0;
}
