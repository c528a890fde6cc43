/*
 * netclient.c: connects out to ADDR:PORT, sends BYTES of the netpat stream SEED in chunks, reads each
 * chunk's echo back and checks it, then half-closes and expects EOF. Any failure prints the call and
 * the errno's name ("netclient: connect: ECONNREFUSED") and exits 1: the refused/reset tests match it.
 *   netclient ADDR PORT BYTES [SEED]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netpat.h"
#include "say.h"

#define CHUNK 16384 /* below any socket buffer: a chunk's echo never waits on our own unsent bytes */

static int fail(const char *what)
{
	say("netclient: %s: %s\n", what, netpat_errname(errno));
	return 1;
}

static int write_all(int fd, const uint8_t *b, size_t n)
{
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads exactly n bytes; 0, -1 with errno, or 1 at a premature EOF. */
static int read_all(int fd, uint8_t *b, size_t n)
{
	while (n) {
		ssize_t r = read(fd, b, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -1 : 1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		say("usage: netclient ADDR PORT BYTES [SEED]\n");
		return 2;
	}
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
	if (inet_pton(AF_INET, argv[1], &a.sin_addr) != 1) {
		say("netclient: bad address %s\n", argv[1]);
		return 2;
	}
	uint64_t bytes = strtoull(argv[3], NULL, 0);
	uint64_t seed = argc > 4 ? strtoull(argv[4], NULL, 0) : 1;

	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail("socket");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
		return fail("connect");
	say("netclient: connected to %s:%s\n", argv[1], argv[2]);

	static uint8_t out[CHUNK], in[CHUNK];
	for (uint64_t off = 0; off < bytes;) {
		size_t n = bytes - off < CHUNK ? (size_t)(bytes - off) : CHUNK;
		netpat_fill(out, off, n, seed);
		if (write_all(fd, out, n))
			return fail("write");
		int r = read_all(fd, in, n);
		if (r < 0)
			return fail("read");
		if (r > 0) {
			say("netclient: EOF after %llu of %llu bytes\n", (unsigned long long)off,
			    (unsigned long long)bytes);
			return 1;
		}
		size_t bad = netpat_check(in, off, n, seed);
		if (bad != n) {
			say("netclient: mismatch at byte %llu\n", (unsigned long long)(off + bad));
			return 1;
		}
		off += n;
	}
	if (shutdown(fd, SHUT_WR))
		return fail("shutdown");
	uint8_t c;
	ssize_t r = read(fd, &c, 1);
	if (r < 0)
		return fail("read at end");
	if (r > 0) {
		say("netclient: unexpected byte after the echo\n");
		return 1;
	}
	close(fd);
	say("netclient: ok %llu bytes\n", (unsigned long long)bytes);
	return 0;
}
