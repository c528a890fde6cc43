/* ocinet.c: netns join, rtnetlink reads of the CNI interface, the tap and the tc redirects between them. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ocinet.h"

/* A dump's replies: at most this much per recv (the kernel's own NLMSG_GOODSIZE is a page or two). */
#define NET_BUF 32768
/* A dump may not run forever: bounded message count. */
#define NET_MSGS_MAX 100000

int ocinet_join(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		int e = errno;
		snprintf(err, errlen, "network namespace %.3000s: %s", path, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	close(fd);
	return 0;
}

/* Sends one dump request of type with the family's header body; the socket's replies follow. */
static int net_dump(int s, uint16_t type, const void *body, size_t blen, uint32_t seq)
{
	struct {
		struct nlmsghdr h;
		char body[64];
	} req = { .h = { .nlmsg_len = (uint32_t)NLMSG_LENGTH(blen), .nlmsg_type = type,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = seq } };
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

	memcpy(req.body, body, blen);
	return sendto(s, &req, req.h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0 ? -errno : 0;
}

typedef void (*net_msg_fn)(const struct nlmsghdr *h, void *ctx);

/* Reads a dump's replies to the end (NLMSG_DONE), calling fn for each of seq; every length checked. 0 or -errno. */
static int net_read(int s, uint32_t seq, net_msg_fn fn, void *ctx)
{
	char *buf = malloc(NET_BUF);
	int rc = -EIO, msgs = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = recv(s, buf, NET_BUF, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		size_t left = (size_t)n; /* NLMSG_NEXT counts it down */
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
			if (++msgs > NET_MSGS_MAX)
				goto out;
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE) {
				rc = 0;
				goto out;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				rc = h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error ? e->error : -EIO;
				goto out;
			}
			fn(h, ctx);
		}
	}
out:
	free(buf);
	return rc;
}

/* Candidate interfaces from the link dump; the first of them with an IPv4 address is the one. */
#define NET_LINKS_MAX 16
struct net_scan {
	struct ocinet_if links[NET_LINKS_MAX];
	int nlinks;
	struct ocinet_if *chosen;
};

static void net_link(const struct nlmsghdr *h, void *ctx)
{
	struct net_scan *sc = ctx;
	const struct ifinfomsg *ifi = NLMSG_DATA(h);
	int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*ifi));
	struct ocinet_if i = { .index = ifi->ifi_index };
	bool mac = false;

	if (h->nlmsg_type != RTM_NEWLINK || len < 0 || sc->nlinks == NET_LINKS_MAX || ifi->ifi_type != ARPHRD_ETHER ||
	    (ifi->ifi_flags & IFF_LOOPBACK))
		return;
	for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		size_t alen = RTA_PAYLOAD(a);
		if (a->rta_type == IFLA_IFNAME && alen > 1 && alen <= sizeof(i.name)) {
			memcpy(i.name, RTA_DATA(a), alen);
			i.name[alen - 1] = '\0';
		} else if (a->rta_type == IFLA_ADDRESS && alen == 6) {
			memcpy(i.mac, RTA_DATA(a), 6);
			mac = true;
		} else if (a->rta_type == IFLA_MTU && alen == 4) {
			memcpy(&i.mtu, RTA_DATA(a), 4);
		}
	}
	/* Our own tap of an earlier try is not the CNI interface. */
	if (mac && i.name[0] && strcmp(i.name, OCINET_TAP) != 0)
		sc->links[sc->nlinks++] = i;
}

static void net_addr(const struct nlmsghdr *h, void *ctx)
{
	struct net_scan *sc = ctx;
	const struct ifaddrmsg *ifa = NLMSG_DATA(h);
	int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*ifa));
	struct ocinet_if *c = NULL;

	if (h->nlmsg_type != RTM_NEWADDR || len < 0 || ifa->ifa_family != AF_INET || sc->chosen || ifa->ifa_prefixlen > 32)
		return;
	for (int k = 0; k < sc->nlinks; k++)
		if (sc->links[k].index == (int)ifa->ifa_index)
			c = &sc->links[k];
	if (!c)
		return;
	for (const struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len))
		if ((a->rta_type == IFA_LOCAL || a->rta_type == IFA_ADDRESS) && RTA_PAYLOAD(a) == 4) {
			memcpy(&c->ipv4, RTA_DATA(a), 4);
			c->prefix = ifa->ifa_prefixlen;
			sc->chosen = c;
		}
}

static void net_route(const struct nlmsghdr *h, void *ctx)
{
	struct ocinet_if *c = ((struct net_scan *)ctx)->chosen;
	const struct rtmsg *rt = NLMSG_DATA(h);
	int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*rt));
	uint32_t gw = 0;
	int oif = 0;

	if (h->nlmsg_type != RTM_NEWROUTE || len < 0 || rt->rtm_family != AF_INET || rt->rtm_dst_len != 0 ||
	    rt->rtm_table != RT_TABLE_MAIN || c->gw)
		return;
	for (const struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == RTA_GATEWAY && RTA_PAYLOAD(a) == 4)
			memcpy(&gw, RTA_DATA(a), 4);
		else if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) == 4)
			memcpy(&oif, RTA_DATA(a), 4);
	}
	if (oif == c->index)
		c->gw = gw;
}

int ocinet_discover(struct ocinet_if *out, char *err, size_t errlen)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct ifaddrmsg ifa = { .ifa_family = AF_INET };
	struct rtmsg rt = { .rtm_family = AF_INET };
	struct net_scan *sc = calloc(1, sizeof(*sc));
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	int rc;

	memset(out, 0, sizeof(*out));
	if (s < 0 || !sc) {
		rc = s < 0 ? -errno : -ENOMEM;
		goto fail;
	}
	if ((rc = net_dump(s, RTM_GETLINK, &ifi, sizeof(ifi), 1)) || (rc = net_read(s, 1, net_link, sc)) ||
	    (rc = net_dump(s, RTM_GETADDR, &ifa, sizeof(ifa), 2)) || (rc = net_read(s, 2, net_addr, sc)))
		goto fail;
	if (sc->chosen && ((rc = net_dump(s, RTM_GETROUTE, &rt, sizeof(rt), 3)) || (rc = net_read(s, 3, net_route, sc))))
		goto fail;
	rc = sc->chosen ? 1 : 0;
	if (sc->chosen)
		*out = *sc->chosen;
	close(s);
	free(sc);
	return rc;
fail:
	snprintf(err, errlen, "reading the network namespace's interfaces (rtnetlink): %s", strerror(-rc));
	if (s >= 0)
		close(s);
	free(sc);
	return rc;
}

/* Runs tc with args (NULL-ended) to completion, its output on our stderr; 0 or -EIO. */
static int net_tc(char *err, size_t errlen, const char *const *args)
{
	static const char *const progs[] = { "/usr/sbin/tc", "/sbin/tc" };
	const char *prog = "tc";
	const char *argv[24] = { "tc" };
	int n = 1, status;

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++)
		if (access(progs[i], X_OK) == 0) {
			prog = progs[i];
			break;
		}
	for (; args[n - 1] && n < 23; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid == 0) {
		execvp(prog, (char *const *)argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char cmd[256] = "";
		for (int i = 0; argv[i]; i++)
			snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), "%s%s", i ? " " : "", argv[i]);
		snprintf(err, errlen, "`%s` failed (iproute2's tc and the kernel's cls_u32 and act_mirred are needed)",
			 cmd);
		return -EIO;
	}
	return 0;
}

/* One direction: every frame arriving on from leaves through to. */
static int net_redirect(const char *from, const char *to, char *err, size_t errlen)
{
	const char *qdisc[] = { "qdisc", "add", "dev", from, "ingress", NULL };
	/* u32 matching every frame, as Kata's tcfilter: cls_matchall is missing from some kernels (this host's). */
	const char *filter[] = { "filter", "add", "dev", from, "parent", "ffff:", "protocol", "all", "u32", "match", "u8",
				 "0", "0", "action", "mirred", "egress", "redirect", "dev", to, NULL };
	int rc = net_tc(err, errlen, qdisc);
	return rc ? rc : net_tc(err, errlen, filter);
}

int ocinet_wire(const struct ocinet_if *veth, char *err, size_t errlen)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int hdr = 12; /* struct virtio_net_hdr_v1: what ukvm's virtio-net passes through */
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), s = -1, rc;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", OCINET_TAP);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		rc = -errno;
		snprintf(err, errlen, "tap %s: %s", OCINET_TAP, strerror(errno));
		goto fail;
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq up = { .ifr_mtu = (int)veth->mtu };
	snprintf(up.ifr_name, sizeof(up.ifr_name), "%s", OCINET_TAP);
	if (s < 0 || (veth->mtu && ioctl(s, SIOCSIFMTU, &up) < 0) || ioctl(s, SIOCGIFFLAGS, &up) < 0) {
		rc = -errno;
		snprintf(err, errlen, "tap %s: %s", OCINET_TAP, strerror(errno));
		goto fail;
	}
	up.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &up) < 0) {
		rc = -errno;
		snprintf(err, errlen, "tap %s up: %s", OCINET_TAP, strerror(errno));
		goto fail;
	}
	close(s);
	s = -1;
	if ((rc = net_redirect(veth->name, OCINET_TAP, err, errlen)) || (rc = net_redirect(OCINET_TAP, veth->name, err, errlen)))
		goto fail;
	return fd;
fail:
	if (s >= 0)
		close(s);
	if (fd >= 0)
		close(fd);
	return rc;
}
