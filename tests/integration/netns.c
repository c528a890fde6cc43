/* netns.c: throwaway network namespaces (netns.h): `ip` does the work, a reaper process guarantees the deletion. */
#include "netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define IP_MAX_ARGS 24

/* Runs argv (argv[0] looked up in PATH) with its output to why[len] (or /dev/null); its exit status or -errno. */
static int run_quiet(const char *const *argv, char *why, size_t len)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return -e;
	}
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	size_t got = 0;
	char sink[512];
	for (;;) {
		char *dst = why && got + 1 < len ? why + got : sink;
		size_t room = why && got + 1 < len ? len - 1 - got : sizeof(sink);
		ssize_t n = read(p[0], dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (dst != sink)
			got += (size_t)n;
	}
	close(p[0]);
	if (why && len)
		why[got] = 0;
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int netns_ip(char *why, size_t len, ...)
{
	const char *argv[IP_MAX_ARGS + 2] = {"ip"};
	size_t n = 1;
	va_list ap;
	va_start(ap, len);
	for (const char *a; (a = va_arg(ap, const char *)) && n <= IP_MAX_ARGS;)
		argv[n++] = a;
	va_end(ap);
	char out[512] = "";
	int r = run_quiet(argv, out, sizeof(out));
	if (r == 0)
		return 0;
	if (why && len) {
		int k = snprintf(why, len, "`ip");
		for (size_t i = 1; i < n && k >= 0 && (size_t)k < len; i++)
			k += snprintf(why + k, len - (size_t)k, " %s", argv[i]);
		if (k >= 0 && (size_t)k < len)
			snprintf(why + k, len - (size_t)k, "` failed (%d): %s", r, out);
	}
	return r < 0 ? r : -EIO;
}

/*
 * SIGKILLs every process inside namespace name (`ip netns pids`): an app a failed test left
 * running must not outlive it (the namespace itself lives on while a process is inside).
 */
static void kill_inside(const char *name)
{
	const char *argv[] = {"ip", "netns", "pids", name, NULL};
	char out[4096];
	if (run_quiet(argv, out, sizeof(out)) != 0)
		return;
	for (char *s = out, *end; *s; s = end) {
		long pid = strtol(s, &end, 10);
		if (end == s) {
			end = s + 1;
			continue;
		}
		if (pid > 1 && pid != (long)getpid())
			kill((pid_t)pid, SIGKILL);
	}
}

/* Kills what runs inside both namespaces, then deletes them. */
static void delete_both(const char *name, const char *peer)
{
	const char *del1[] = {"ip", "netns", "del", name, NULL};
	const char *del2[] = {"ip", "netns", "del", peer, NULL};
	kill_inside(name);
	kill_inside(peer);
	run_quiet(del1, NULL, 0);
	run_quiet(del2, NULL, 0);
}

/*
 * The reaper: its own session (a Check timeout kills the test's whole process group, a ^C the
 * terminal's), no inherited descriptors but the pipe; when the last write end closes (the owner
 * exited, died or called netns_destroy) it deletes both namespaces, which frees their devices.
 */
static void reaper(int rfd, const char *name, const char *peer)
{
	setsid();
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	int null = open("/dev/null", O_RDWR);
	dup2(null, 0);
	dup2(null, 1);
	dup2(null, 2);
	dup2(rfd, 3);
	close_range(4, ~0u, 0);
	char c;
	while (read(3, &c, 1) != 0 && errno == EINTR)
		;
	delete_both(name, peer);
	_exit(0);
}

bool netns_usable(char *why, size_t len)
{
	if (geteuid() != 0) {
		snprintf(why, len, "not root (network namespaces and tap devices need CAP_NET_ADMIN)");
		return false;
	}
	if (access("/dev/net/tun", R_OK | W_OK)) {
		snprintf(why, len, "/dev/net/tun: %s", strerror(errno));
		return false;
	}
	struct netns ns;
	if (netns_create(&ns, why, len))
		return false;
	netns_destroy(&ns);
	return true;
}

int netns_create(struct netns *ns, char *why, size_t len)
{
	static int seq;
	int p[2];

	memset(ns, 0, sizeof(*ns));
	ns->keep_fd = ns->home_fd = -1;
	snprintf(ns->name, sizeof(ns->name), "ukvmt-%d-%d", (int)getpid(), seq);
	snprintf(ns->peer, sizeof(ns->peer), "ukvmt-%d-%dp", (int)getpid(), seq++);
	if (pipe2(p, O_CLOEXEC)) {
		snprintf(why, len, "pipe: %s", strerror(errno));
		return -errno;
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		snprintf(why, len, "fork: %s", strerror(e));
		return -e;
	}
	if (pid == 0) {
		close(p[1]);
		reaper(p[0], ns->name, ns->peer);
	}
	close(p[0]);
	ns->reaper_pid = pid;
	ns->keep_fd = p[1];
	int r = netns_ip(why, len, "netns", "add", ns->name, NULL);
	if (!r)
		r = netns_ip(why, len, "-n", ns->name, "link", "set", "lo", "up", NULL);
	if (r)
		netns_destroy(ns);
	return r;
}

/* `ip -n NS addr add CIDR dev IF` (cidr NULL: none) and `link set IF up`. */
static int if_up(const char *ns, const char *ifname, const char *cidr, char *why, size_t len)
{
	int r = cidr ? netns_ip(why, len, "-n", ns, "addr", "add", cidr, "dev", ifname, NULL) : 0;
	return r ? r : netns_ip(why, len, "-n", ns, "link", "set", ifname, "up", NULL);
}

int netns_add_tap(struct netns *ns, const char *ifname, const char *cidr, char *why, size_t len)
{
	int r = netns_ip(why, len, "-n", ns->name, "tuntap", "add", "dev", ifname, "mode", "tap", NULL);
	return r ? r : if_up(ns->name, ifname, cidr, why, len);
}

int netns_add_veth(struct netns *ns, const char *ifname, const char *cidr, const char *peer_ifname,
		   const char *peer_cidr, char *why, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/run/netns/%s", ns->peer);
	int r = 0;
	if (access(path, F_OK)) {
		r = netns_ip(why, len, "netns", "add", ns->peer, NULL);
		if (!r)
			r = netns_ip(why, len, "-n", ns->peer, "link", "set", "lo", "up", NULL);
	}
	if (!r)
		r = netns_ip(why, len, "-n", ns->name, "link", "add", ifname, "type", "veth", "peer", "name",
			     peer_ifname, "netns", ns->peer, NULL);
	if (!r)
		r = if_up(ns->name, ifname, cidr, why, len);
	return r ? r : if_up(ns->peer, peer_ifname, peer_cidr, why, len);
}

int netns_enter(struct netns *ns, bool peer)
{
	char path[64];
	snprintf(path, sizeof(path), "/run/netns/%s", peer ? ns->peer : ns->name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ns->home_fd < 0) {
		ns->home_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (ns->home_fd < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
	}
	int r = setns(fd, CLONE_NEWNET) ? -errno : 0;
	close(fd);
	return r;
}

int netns_leave(struct netns *ns)
{
	if (ns->home_fd < 0)
		return 0;
	int r = setns(ns->home_fd, CLONE_NEWNET) ? -errno : 0;
	close(ns->home_fd);
	ns->home_fd = -1;
	return r;
}

void netns_exec_argv(const struct netns *ns, bool peer, const char *const *cmd, const char **out, size_t max)
{
	size_t n = 0;
	const char *pre[] = {"ip", "netns", "exec", peer ? ns->peer : ns->name};
	for (size_t i = 0; i < 4 && n + 1 < max; i++)
		out[n++] = pre[i];
	for (size_t i = 0; cmd[i] && n + 1 < max; i++)
		out[n++] = cmd[i];
	out[n] = NULL;
}

void netns_destroy(struct netns *ns)
{
	if (!ns->reaper_pid)
		return;
	netns_leave(ns);
	/* Deleting here, not only in the reaper, lets the caller reuse addresses right away. */
	delete_both(ns->name, ns->peer);
	close(ns->keep_fd);
	ns->keep_fd = -1;
	while (waitpid(ns->reaper_pid, NULL, 0) < 0 && errno == EINTR)
		;
	ns->reaper_pid = 0;
}

const char *netns_ip_prog(void)
{
	static const char *const where[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"};
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++)
		if (!access(where[i], X_OK))
			return where[i];
	return "ip";
}

uint16_t netns_icmp_sum(const void *d, size_t n)
{
	const uint8_t *b = d;
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return htons((uint16_t)~s);
}

static double mono_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The echo payload of sequence seq: bytes a reply must carry back. */
static void ping_payload(uint8_t *p, size_t size, int seq)
{
	for (size_t i = sizeof(struct icmphdr); i < size; i++)
		p[i] = (uint8_t)(i * 7 + (size_t)seq);
}

/* Reads one datagram from s (waiting up to wait_s): the sequence of a valid reply to us, or -1. */
static int ping_reply(int s, uint16_t id, size_t size, int count, double wait_s)
{
	uint8_t in[2048 + 60], want[2048];
	struct pollfd pf = {s, POLLIN, 0};
	if (poll(&pf, 1, (int)(wait_s * 1e3) + 1) != 1)
		return -1;
	ssize_t n = recv(s, in, sizeof(in), 0);
	if (n < 20)
		return -1;
	size_t hl = (size_t)(in[0] & 15) * 4;
	const struct icmphdr *r = (const struct icmphdr *)(in + hl);
	int seq = ntohs(r->un.echo.sequence);
	if ((size_t)n != hl + size || r->type != ICMP_ECHOREPLY || r->un.echo.id != htons(id) || seq >= count)
		return -1;
	ping_payload(want, size, seq);
	return memcmp(in + hl + sizeof(*r), want + sizeof(*r), size - sizeof(*r)) ? -1 : seq;
}

int netns_ping(const char *ip, int count, size_t size)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	uint8_t pkt[2048];
	if (size < sizeof(struct icmphdr) || size > sizeof(pkt) || count < 0 || count > 65536 ||
	    inet_pton(AF_INET, ip, &a.sin_addr) != 1)
		return -EINVAL;
	int s = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
	if (s < 0)
		return -errno;
	uint8_t *seen = calloc((size_t)count + 1, 1);
	if (!seen) {
		close(s);
		return -ENOMEM;
	}
	uint16_t id = (uint16_t)(getpid() ^ 0x4e54);
	int replies = 0;
	/*
	 * One echo at a time, each waited for up to 1 s; a reply that comes later
	 * (a loaded host) still counts when it comes, and the last ones get 3 s
	 * more: only an echo never answered is lost.
	 */
	for (int seq = 0; seq <= count; seq++) {
		if (seq < count) {
			struct icmphdr *h = (struct icmphdr *)pkt;
			memset(pkt, 0, size);
			h->type = ICMP_ECHO;
			h->un.echo.id = htons(id);
			h->un.echo.sequence = htons((uint16_t)seq);
			ping_payload(pkt, size, seq);
			h->checksum = netns_icmp_sum(pkt, size);
			if (sendto(s, pkt, size, 0, (struct sockaddr *)&a, sizeof(a)) != (ssize_t)size) {
				int e = errno;
				free(seen);
				close(s);
				return -e;
			}
		}
		for (double end = mono_s() + (seq < count ? 1 : 3), left;
		     (left = end - mono_s()) > 0 && (seq < count ? !seen[seq] : replies < count);) {
			int r = ping_reply(s, id, size, count, left);
			if (r >= 0 && !seen[r]) {
				seen[r] = 1;
				replies++;
			}
		}
	}
	free(seen);
	close(s);
	return replies;
}
