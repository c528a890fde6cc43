/*
 * httpd.c: a small epoll HTTP/1.1 server: every GET (or HEAD) answers a fixed-size body with
 * Content-Length, keep-alive by default (HTTP/1.0 and "Connection: close" close), non-blocking
 * accept4, many connections, edge- or level-triggered.
 *   httpd PORT [BODY_BYTES (default 1024)] [et|lt (default et)]
 */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "netpat.h"
#include "say.h"

#define MAX_BODY (16u << 20)
#define REQ_MAX  8192

struct conn {
	int fd;
	bool close_after; /* the response being sent is the last */
	bool want_out;    /* level-triggered: EPOLLOUT is registered */
	size_t in_len;
	char in[REQ_MAX];
	char hdr[256];
	size_t hdr_len;
	size_t resp_len; /* header + body of the response in flight; 0 = none */
	size_t sent;
};

static char *body;
static size_t body_len;
static bool edge = true;
static int ep;
static unsigned long long requests;

static void conn_close(struct conn *c)
{
	close(c->fd); /* also leaves the epoll set */
	free(c);
}

/* Case-insensitive search for needle in the request head h[0..n). */
static bool head_has(const char *h, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	for (size_t i = 0; i + k <= n; i++)
		if (!strncasecmp(h + i, needle, k))
			return true;
	return false;
}

/* Parses one complete request at the front of c->in and queues its response. False: none complete yet. */
static bool conn_parse(struct conn *c)
{
	char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
	if (!end)
		return false;
	size_t head = (size_t)(end - c->in) + 4;
	bool get = c->in_len >= 4 && !memcmp(c->in, "GET ", 4);
	bool headreq = c->in_len >= 5 && !memcmp(c->in, "HEAD ", 5);
	char *eol = memchr(c->in, '\r', head);
	bool v10 = eol && eol - c->in >= 8 && !memcmp(eol - 8, "HTTP/1.0", 8);
	c->close_after = v10 ? !head_has(c->in, head, "\nconnection: keep-alive")
			     : head_has(c->in, head, "\nconnection: close");
	int code = get || headreq ? 200 : 405;
	if (code != 200)
		c->close_after = true;
	size_t blen = code == 200 ? body_len : 0;
	int n = snprintf(c->hdr, sizeof(c->hdr),
			 "HTTP/1.1 %d %s\r\nServer: ukvm-httpd\r\nContent-Length: %zu\r\nConnection: %s\r\n\r\n", code,
			 code == 200 ? "OK" : "Method Not Allowed", blen, c->close_after ? "close" : "keep-alive");
	c->hdr_len = (size_t)n;
	c->resp_len = c->hdr_len + (headreq ? 0 : blen);
	c->sent = 0;
	memmove(c->in, c->in + head, c->in_len - head);
	c->in_len -= head;
	requests++;
	return true;
}

/* Sends what it can of the response in flight; 1 done, 0 would block, -1 error. */
static int conn_send(struct conn *c)
{
	while (c->sent < c->resp_len) {
		struct iovec v[2];
		int nv = 0;
		if (c->sent < c->hdr_len)
			v[nv++] = (struct iovec){c->hdr + c->sent, c->hdr_len - c->sent};
		size_t boff = c->sent > c->hdr_len ? c->sent - c->hdr_len : 0;
		if (c->resp_len > c->hdr_len)
			v[nv++] = (struct iovec){body + boff, c->resp_len - c->hdr_len - boff};
		ssize_t w = writev(c->fd, v, nv);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		c->sent += (size_t)w;
	}
	c->resp_len = 0;
	return 1;
}

/* Level-triggered only: EPOLLOUT while a response is blocked, so the loop does not spin. */
static void conn_want_out(struct conn *c, bool on)
{
	if (edge || c->want_out == on)
		return;
	struct epoll_event e = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
	c->want_out = on;
}

/* Runs the connection as far as it goes without blocking; false when it is finished (closed). */
static bool conn_run(struct conn *c)
{
	for (;;) {
		if (c->resp_len) {
			int r = conn_send(c);
			if (r < 0)
				return false;
			if (r == 0) {
				conn_want_out(c, true);
				return true;
			}
			conn_want_out(c, false);
			if (c->close_after)
				return false;
		}
		if (conn_parse(c))
			continue;
		if (c->in_len == sizeof(c->in))
			return false; /* a request head larger than REQ_MAX */
		ssize_t n = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK;
		if (n == 0)
			return false;
		c->in_len += (size_t)n;
	}
}

static void accept_all(int ls)
{
	for (;;) {
		int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
				say("httpd: accept4: %s\n", netpat_errname(errno));
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct conn *c = calloc(1, sizeof(*c));
		struct epoll_event e = {.events = EPOLLIN | (edge ? EPOLLOUT | EPOLLET : 0), .data.ptr = c};
		if (!c || (c->fd = fd, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e))) {
			say("httpd: new connection: %s\n", netpat_errname(c ? errno : ENOMEM));
			close(fd);
			free(c);
			continue;
		}
		/* Edge-triggered: a request may already be waiting, and its edge has passed. */
		if (edge && !conn_run(c))
			conn_close(c);
	}
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		say("usage: httpd PORT [BODY_BYTES] [et|lt]\n");
		return 2;
	}
	int port = atoi(argv[1]);
	body_len = argc > 2 ? strtoul(argv[2], NULL, 0) : 1024;
	edge = !(argc > 3 && !strcmp(argv[3], "lt"));
	if (body_len > MAX_BODY) {
		say("httpd: body at most %u bytes\n", MAX_BODY);
		return 2;
	}
	body = malloc(body_len + 1);
	for (size_t i = 0; body && i < body_len; i++)
		body[i] = (char)('a' + i % 26);

	int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event le = {.events = EPOLLIN, .data.ptr = NULL};
	if (!body || ls < 0 || ep < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 1024) || epoll_ctl(ep, EPOLL_CTL_ADD, ls, &le)) {
		say("httpd: listen on %d: %s\n", port, netpat_errname(errno));
		return 1;
	}
	say("httpd: listening on %d (%zu-byte body, %s-triggered)\n", port, body_len, edge ? "edge" : "level");

	struct epoll_event ev[64];
	for (;;) {
		int n = epoll_wait(ep, ev, 64, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			say("httpd: epoll_wait: %s\n", netpat_errname(errno));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = ev[i].data.ptr;
			if (!c)
				accept_all(ls);
			else if (!conn_run(c))
				conn_close(c);
		}
	}
}
