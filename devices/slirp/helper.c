/*
 * helper.c: ukvm-slirp, the user-mode network backend's process: libslirp
 * between the device's frame socket and the host's sockets (devices/net_user.h
 * says why a process). Started only by devices/net_user.c, with the frame
 * socket on NU_FD_FRAMES and the control socket on NU_FD_CTL.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <poll.h>
#include <signal.h>
#include <slirp/libslirp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "net_user_msg.h"
#include "sandbox.h"
#include "ukvm_abi.h"
#include "virtio_net.h"

/*
 * Descriptors the process may hold: slirp opens one host socket per guest
 * connection, so this bounds what a guest can make it hold (and the pollfd
 * array below).
 */
#define HP_MAX_FDS 1024
#define HP_MAX_TIMERS 16     /* libslirp makes one or two (IPv6 router adverts); not guest-driven */
#define HP_BATCH 64          /* frames taken from the device per poll round */
#define HP_FRAME_MAX (14 + 4 + UKVM_NET_MTU_MAX) /* Ethernet, a VLAN tag, the largest MTU */
#define HP_WARN_MAX 20       /* guest_error lines printed, then silence */

struct hp_timer {
	bool used, armed;
	int64_t expire_ms;
	SlirpTimerId id;
	void *cb_opaque;
};

struct hp {
	Slirp *slirp;
	uint32_t mtu;
	struct pollfd pfd[HP_MAX_FDS + 2];
	int npfd;
	struct hp_timer timers[HP_MAX_TIMERS];
	unsigned warned;
	uint8_t buf[sizeof(struct virtio_net_hdr) + HP_FRAME_MAX];
};

static struct hp hp;

static int64_t hp_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* slirp -> guest: header + frame as one datagram, never waiting (full = dropped, like a congested link). */
static ssize_t hp_send_packet(const void *buf, size_t len, void *opaque)
{
	(void)opaque;
	struct virtio_net_hdr h = { 0 };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)buf, len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	sendmsg(NU_FD_FRAMES, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	return (ssize_t)len;
}

static void hp_guest_error(const char *msg, void *opaque)
{
	(void)opaque;
	if (hp.warned < HP_WARN_MAX && ++hp.warned)
		fprintf(stderr, "ukvm-slirp: guest error: %s\n", msg);
}

static int64_t hp_clock_get_ns(void *opaque)
{
	(void)opaque;
	return hp_now_ns();
}

static void *hp_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	(void)opaque;
	for (int i = 0; i < HP_MAX_TIMERS; i++)
		if (!hp.timers[i].used) {
			hp.timers[i] = (struct hp_timer){ .used = true, .id = id, .cb_opaque = cb_opaque };
			return &hp.timers[i];
		}
	fprintf(stderr, "ukvm-slirp: out of timers\n");
	_exit(1); /* libslirp cannot take NULL; not reachable from the guest (a fixed few timers) */
}

static void hp_timer_free(void *t, void *opaque)
{
	(void)opaque;
	((struct hp_timer *)t)->used = false;
}

static void hp_timer_mod(void *t, int64_t expire_ms, void *opaque)
{
	(void)opaque;
	((struct hp_timer *)t)->expire_ms = expire_ms;
	((struct hp_timer *)t)->armed = true;
}

static void hp_fd_noop(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

static void hp_notify(void *opaque)
{
	(void)opaque; /* the loop polls slirp's sockets every round anyway */
}

static const SlirpCb hp_cb = {
	.send_packet = hp_send_packet,
	.guest_error = hp_guest_error,
	.clock_get_ns = hp_clock_get_ns,
	.timer_free = hp_timer_free,
	.timer_mod = hp_timer_mod,
	.register_poll_fd = hp_fd_noop,
	.unregister_poll_fd = hp_fd_noop,
	.notify = hp_notify,
	.timer_new_opaque = hp_timer_new_opaque,
};

static int hp_reply(int err, const char *fmt, ...)
{
	struct nu_reply r = { .err = err };
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r.msg, sizeof(r.msg), fmt, ap);
	va_end(ap);
	return send(NU_FD_CTL, &r, sizeof(r), MSG_NOSIGNAL) == sizeof(r) ? 0 : -1;
}

/* Reads one control message of exactly len bytes with the magic; anything else (EOF included) ends us. */
static bool hp_ctl_read(void *msg, size_t len)
{
	ssize_t n;
	do
		n = recv(NU_FD_CTL, msg, len, 0);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)len && *(uint32_t *)msg == NU_MAGIC;
}

static const char *hp_ip(uint32_t a, char *s)
{
	return inet_ntop(AF_INET, &a, s, INET_ADDRSTRLEN);
}

/*
 * libslirp listens on a TCP forward's host port with a backlog of 1, so a
 * burst of clients (200 connecting at once) overflowed the accept queue:
 * their SYNs were dropped and retried after 1, 3, 7... s, and 25 of the
 * 200 got through in 30 s. Linux takes a second listen() on a listening
 * socket as a new backlog: each forward's socket, found among the fds
 * libslirp polls, gets the system's maximum.
 */
static int hp_backlog_fd(int fd, int events, void *opaque)
{
	(void)events;
	(void)opaque;
	int on = 0;
	socklen_t len = sizeof(on);
	if (!getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) && on)
		(void)listen(fd, SOMAXCONN);
	return -1; /* no index: nothing is polled here */
}

/* Makes the Slirp and its forwards; replies either way. 0 or -errno. */
static int hp_setup(const struct nu_config *c)
{
	char s1[INET_ADDRSTRLEN];
	if (c->nfwds > NU_MAX_FWDS || c->mtu < UKVM_NET_MTU_MIN || c->mtu > UKVM_NET_MTU_MAX) {
		hp_reply(-EINVAL, "user network: bad config");
		return -EINVAL;
	}
	hp.mtu = c->mtu;
	SlirpConfig sc = {
		.version = 4,
		.restricted = 0, /* the guest may connect out: that is the point */
		.in_enabled = true,
		.vnetwork.s_addr = c->net,
		.vnetmask.s_addr = c->mask,
		.vhost.s_addr = c->host,
		.in6_enabled = false,
		.vdhcp_start.s_addr = c->guest,
		.vnameserver.s_addr = c->dns,
		.if_mtu = c->mtu,
		.if_mru = c->mtu,
		.enable_emu = false, /* libslirp: "this code isn't safe" */
	};
	hp.slirp = slirp_new(&sc, &hp_cb, NULL);
	if (!hp.slirp) {
		hp_reply(-EINVAL, "user network: libslirp refused the configuration");
		return -EINVAL;
	}
	for (uint32_t i = 0; i < c->nfwds; i++) {
		const struct nu_fwd *f = &c->fwds[i];
		struct in_addr ha = { f->host_addr }, ga = { f->guest_addr ? f->guest_addr : c->guest };
		errno = 0;
		if (slirp_add_hostfwd(hp.slirp, f->udp, ha, f->host_port, ga, f->guest_port) < 0) {
			int e = errno ? errno : EADDRINUSE;
			hp_reply(-e, "hostfwd %s %s:%u: %s", f->udp ? "udp" : "tcp", hp_ip(f->host_addr, s1),
				 f->host_port, strerror(e));
			return -e;
		}
	}
	uint32_t timeout = 0;
	slirp_pollfds_fill(hp.slirp, &timeout, hp_backlog_fd, NULL);
	return hp_reply(0, "") ? -EPIPE : 0;
}

/*
 * Landlock: of the file system, only /etc/resolv.conf stays readable
 * (libslirp reads it on a guest's DNS query and stats it at most once a
 * second after). Rights this kernel's ABI knows: 1..3 cover the files.
 */
static int hp_landlock(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1)
		return -EOPNOTSUPP;
	uint64_t fs = (1ull << 13) - 1;           /* ABI 1: execute .. make_sym */
	if (abi >= 2)
		fs |= 1ull << 13;                     /* refer */
	if (abi >= 3)
		fs |= 1ull << 14;                     /* truncate */
	if (abi >= 5)
		fs |= 1ull << 15;                     /* ioctl_dev */
	struct landlock_ruleset_attr ra = { .handled_access_fs = fs };
	int rs = (int)syscall(SYS_landlock_create_ruleset, &ra, sizeof(ra), 0);
	if (rs < 0)
		return -errno;
	int f = open("/etc/resolv.conf", O_PATH | O_CLOEXEC);
	if (f >= 0) {
		struct landlock_path_beneath_attr pb = { .allowed_access = LANDLOCK_ACCESS_FS_READ_FILE, .parent_fd = f };
		syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
		close(f);
	}
	int r = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ? -errno : 0;
	if (!r && syscall(SYS_landlock_restrict_self, rs, 0))
		r = -errno;
	close(rs);
	return r;
}

/* Landlock, then the seccomp allowlist; without Landlock no file can be opened at all. */
static int hp_sandbox(void)
{
	int r = hp_landlock();
	bool confined = r == 0;
	if (r == -EOPNOTSUPP || r == -ENOSYS) {
		fprintf(stderr, "ukvm-slirp: no Landlock here: /etc/resolv.conf unreadable, DNS goes to the host's 127.0.0.1\n");
		r = 0;
	}
	return r ? r : sandbox_slirp_install(confined);
}

static int hp_add_poll(int fd, int events, void *opaque)
{
	(void)opaque;
	if (hp.npfd >= HP_MAX_FDS + 2)
		return -1; /* cannot happen: RLIMIT_NOFILE is HP_MAX_FDS */
	short ev = 0;
	ev |= events & SLIRP_POLL_IN ? POLLIN : 0;
	ev |= events & SLIRP_POLL_OUT ? POLLOUT : 0;
	ev |= events & SLIRP_POLL_PRI ? POLLPRI : 0;
	hp.pfd[hp.npfd] = (struct pollfd){ .fd = fd, .events = ev };
	return hp.npfd++;
}

static int hp_get_revents(int idx, void *opaque)
{
	(void)opaque;
	if (idx < 2 || idx >= hp.npfd)
		return 0;
	short re = hp.pfd[idx].revents;
	return (re & POLLIN ? SLIRP_POLL_IN : 0) | (re & POLLOUT ? SLIRP_POLL_OUT : 0) |
	       (re & POLLPRI ? SLIRP_POLL_PRI : 0) | (re & POLLERR ? SLIRP_POLL_ERR : 0) |
	       (re & POLLHUP ? SLIRP_POLL_HUP : 0);
}

/* One datagram from the device: a zero header and one Ethernet frame, else dropped. */
static void hp_frame_in(ssize_t n)
{
	const size_t hl = sizeof(struct virtio_net_hdr);
	struct virtio_net_hdr h;
	if (n < (ssize_t)(hl + 14) || (size_t)n > hl + 14 + 4 + hp.mtu)
		return; /* runt, or larger than the MTU allows (MSG_TRUNC reports the real size) */
	memcpy(&h, hp.buf, hl);
	if (h.flags || h.gso_type)
		return; /* no offloads were offered: a checksum to fill or a GSO frame is a broken device */
	slirp_input(hp.slirp, hp.buf + hl, (int)(n - hl));
}

/*
 * Up to HP_BATCH datagrams. A 0 is an empty datagram as well as the end:
 * the loop tells them apart by POLLHUP. False on a socket error.
 */
static bool hp_frames_in(void)
{
	for (int i = 0; i < HP_BATCH; i++) {
		ssize_t n = recv(NU_FD_FRAMES, hp.buf, sizeof(hp.buf), MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		hp_frame_in(n);
	}
	return true;
}

static int hp_timers_next(int timeout_ms)
{
	int64_t now = hp_now_ns() / 1000000;
	for (int i = 0; i < HP_MAX_TIMERS; i++) {
		struct hp_timer *t = &hp.timers[i];
		if (t->used && t->armed) {
			int64_t d = t->expire_ms - now;
			if (d < 0)
				d = 0;
			if (d < timeout_ms)
				timeout_ms = (int)d;
		}
	}
	return timeout_ms;
}

static void hp_timers_run(void)
{
	int64_t now = hp_now_ns() / 1000000;
	for (int i = 0; i < HP_MAX_TIMERS; i++) {
		struct hp_timer *t = &hp.timers[i];
		if (t->used && t->armed && t->expire_ms <= now) {
			t->armed = false;
			slirp_handle_timer(hp.slirp, t->id, t->cb_opaque);
		}
	}
}

/* Until the monitor closes the control socket or the device's frame socket. */
static void hp_loop(void)
{
	/*
	 * libslirp's clock (curtime) is set only by slirp_pollfds_poll: frames
	 * read before it ever ran found it at 0, and a UDP flow made then (a DNS
	 * query) expired at once (test_dns). One round with no sockets sets it.
	 */
	slirp_pollfds_poll(hp.slirp, 1, hp_get_revents, NULL);
	for (;;) {
		hp.pfd[0] = (struct pollfd){ .fd = NU_FD_CTL, .events = POLLIN };
		hp.pfd[1] = (struct pollfd){ .fd = NU_FD_FRAMES, .events = POLLIN };
		hp.npfd = 2;
		uint32_t timeout = 1000;
		slirp_pollfds_fill(hp.slirp, &timeout, hp_add_poll, NULL);
		int n = poll(hp.pfd, (nfds_t)hp.npfd, hp_timers_next((int)(timeout > 1000 ? 1000 : timeout)));
		if (n < 0 && errno != EINTR)
			return;
		if (hp.pfd[0].revents)
			return; /* the monitor sends nothing after start: any event is its close */
		if (n > 0 && (hp.pfd[1].revents & POLLIN) && !hp_frames_in())
			return;
		if (hp.pfd[1].revents & (POLLHUP | POLLERR))
			return;
		/*
		 * After the frames: it ends by sending what waited for them, e.g. a
		 * SYN queued until the guest answered slirp's ARP request (before
		 * them, that SYN waited a whole poll timeout: 2.7 s for a first
		 * hostfwd connection).
		 */
		slirp_pollfds_poll(hp.slirp, n < 0, hp_get_revents, NULL);
		hp_timers_run();
	}
}

int main(void)
{
	struct nu_config c;
	struct nu_start s;
	signal(SIGPIPE, SIG_IGN);
	/* Nothing but our two sockets and stdio: whatever the monitor's spawn let through. */
	syscall(SYS_close_range, NU_FD_CTL + 1, ~0u, 0);
	struct rlimit rl = { HP_MAX_FDS, HP_MAX_FDS };
	setrlimit(RLIMIT_NOFILE, &rl);
	if (!hp_ctl_read(&c, sizeof(c)) || hp_setup(&c) < 0)
		return 1;
	if (!hp_ctl_read(&s, sizeof(s)))
		return 1;
	int r = s.seccomp ? hp_sandbox() : 0;
	if (hp_reply(r, "user network: sandbox: %s", strerror(-r)) < 0 || r)
		return 1;
	hp_loop();
	return 0;
}
