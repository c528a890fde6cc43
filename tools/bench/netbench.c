/*
 * netbench.c: make bench-net's TCP load, one source for both sides: the server runs natively (in a
 * namespace) or in ukvm; the client runs on the host. One connection per measurement.
 *   netbench server PORT            serves connections one after another, forever
 *   netbench rr ADDR PORT SECS      1 byte each way, one transaction at a time: rr_tps, rr_p50_us, rr_p99_us
 *   netbench send ADDR PORT BYTES [SECS]  client -> server stream, timed to the server's ack: send_mbps
 *   netbench recv ADDR PORT BYTES [SECS]  server -> client stream, timed to the last byte: recv_mbps
 * A stream stops at BYTES or after SECS (0: no limit), whichever comes first; the rate is over what moved.
 * Results are "RESULT key value" lines (MB = 10^6 bytes). In ukvm the server prints, after each
 * connection, "STACK lwip_peak_bytes N": the most lwIP's heap has held since boot, from the guest's
 * /proc/net/sockstat (its LWIP line; Linux has none, so natively nothing is printed).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF (256 * 1024)

/* The request a client opens with: what to do and how many bytes. */
struct nb_hdr {
	char op; /* 'r' request/response, 's' sink (then ack with the count), 'g' generate (until the client closes) */
	char pad[7];
	uint64_t bytes;
};

static char buf[BUF];

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int write_all(int fd, const void *b, size_t n)
{
	for (const char *p = b; n;) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, void *b, size_t n)
{
	for (char *p = b; n;) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void serve(int fd)
{
	struct nb_hdr h;
	if (read_all(fd, &h, sizeof(h)))
		return;
	if (h.op == 'r') {
		char c;
		while (read_all(fd, &c, 1) == 0 && write_all(fd, &c, 1) == 0)
			;
	} else if (h.op == 's') {
		uint64_t got = 0;
		while (got < h.bytes) { /* to the count, or to the client's early half-close */
			ssize_t r = read(fd, buf, h.bytes - got < BUF ? (size_t)(h.bytes - got) : BUF);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return;
			if (r == 0)
				break;
			got += (uint64_t)r;
		}
		write_all(fd, &got, sizeof(got));
	} else if (h.op == 'g') {
		for (uint64_t left = h.bytes; left;) {
			size_t n = left < BUF ? (size_t)left : BUF;
			if (write_all(fd, buf, n))
				return;
			left -= n;
		}
	}
}

/* The guest stack's peak memory (ukvm's /proc/net/sockstat "LWIP: heap N peak P ..."), when there is one. */
static void stack_report(void)
{
	FILE *f = fopen("/proc/net/sockstat", "r");
	char line[256];
	unsigned long heap, peak;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "LWIP: heap %lu peak %lu", &heap, &peak) == 2) {
			printf("STACK lwip_peak_bytes %lu\n", peak);
			fflush(stdout);
		}
	if (f)
		fclose(f);
}

static int server(int port)
{
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 16)) {
		printf("netbench: listen on %d: %s\n", port, strerror(errno));
		return 1;
	}
	memset(buf, 'x', sizeof(buf));
	signal(SIGPIPE, SIG_IGN); /* a client that stops reading early closes: write fails, the next one is served */
	printf("netbench: listening on %d\n", port);
	fflush(stdout);
	for (;;) {
		int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			printf("netbench: accept: %s\n", strerror(errno));
			return 1;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		serve(fd);
		close(fd);
		stack_report();
	}
}

static int dial(const char *addr, int port, char op, uint64_t bytes)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	struct nb_hdr h = {.op = op, .bytes = bytes};
	if (inet_pton(AF_INET, addr, &a.sin_addr) != 1 || fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		fprintf(stderr, "netbench: connect %s:%d: %s\n", addr, port, strerror(errno));
		exit(1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (write_all(fd, &h, sizeof(h))) {
		fprintf(stderr, "netbench: write: %s\n", strerror(errno));
		exit(1);
	}
	return fd;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int rr(const char *addr, int port, double secs)
{
	int fd = dial(addr, port, 'r', 0);
	size_t cap = 1 << 16, n = 0;
	double *lat = malloc(cap * sizeof(*lat));
	double t0 = now_s(), t = t0;
	while (lat && t - t0 < secs) {
		char c = 'q';
		if (write_all(fd, &c, 1) || read_all(fd, &c, 1)) {
			fprintf(stderr, "netbench: rr after %zu transactions: %s\n", n, errno ? strerror(errno) : "EOF");
			return 1;
		}
		double t1 = now_s();
		if (n == cap)
			lat = realloc(lat, (cap *= 2) * sizeof(*lat));
		if (lat)
			lat[n++] = (t1 - t) * 1e6;
		t = t1;
	}
	if (!lat || !n)
		return 1;
	qsort(lat, n, sizeof(*lat), cmp_d);
	printf("RESULT rr_tps %.1f\nRESULT rr_p50_us %.1f\nRESULT rr_p99_us %.1f\nRESULT rr_count %zu\n",
	       (double)n / (t - t0), lat[n / 2], lat[n * 99 / 100], n);
	close(fd);
	free(lat);
	return 0;
}

static int stream(const char *addr, int port, int send, uint64_t bytes, double secs)
{
	memset(buf, 'y', sizeof(buf));
	double t0 = now_s();
	int fd = dial(addr, port, send ? 's' : 'g', bytes);
	uint64_t moved = 0;
	while (moved < bytes && (secs <= 0 || now_s() - t0 < secs)) {
		size_t n = bytes - moved < BUF ? (size_t)(bytes - moved) : BUF;
		ssize_t r = send ? write(fd, buf, n) : read(fd, buf, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fprintf(stderr, "netbench: %s after %llu bytes: %s\n", send ? "send" : "recv",
				(unsigned long long)moved, r ? strerror(errno) : "EOF");
			return 1;
		}
		moved += (uint64_t)r;
	}
	if (send) { /* the time runs to the server's count of what arrived */
		uint64_t got = 0;
		if ((moved < bytes && shutdown(fd, SHUT_WR)) || read_all(fd, &got, sizeof(got)) || got != moved) {
			fprintf(stderr, "netbench: no ack for %llu bytes\n", (unsigned long long)moved);
			return 1;
		}
	}
	double dt = now_s() - t0;
	const char *k = send ? "send" : "recv";
	printf("RESULT %s_mbps %.1f\nRESULT %s_bytes %llu\nRESULT %s_secs %.3f\n", k, (double)moved / dt / 1e6, k,
	       (unsigned long long)moved, k, dt);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "server"))
		return server(atoi(argv[2]));
	if (argc == 5 && !strcmp(argv[1], "rr"))
		return rr(argv[2], atoi(argv[3]), atof(argv[4]));
	if ((argc == 5 || argc == 6) && (!strcmp(argv[1], "send") || !strcmp(argv[1], "recv")))
		return stream(argv[2], atoi(argv[3]), argv[1][0] == 's', strtoull(argv[4], NULL, 0),
			      argc == 6 ? atof(argv[5]) : 0);
	fprintf(stderr, "usage: netbench server PORT | rr ADDR PORT SECS | send|recv ADDR PORT BYTES [SECS]\n");
	return 2;
}
