/* net_tap.c: the tap backend of virtio-net: /dev/net/tun attached to a named tap with a 12-byte vnet header. */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Why TUNSETIFF failed, in words a user can act on. */
static const char *net_tap_hint(int e)
{
	switch (e) {
	case EPERM:
	case EACCES: return " (need CAP_NET_ADMIN or a tap owned by you)";
	case EBUSY: return " (another process holds the tap)";
	case EINVAL: return " (an interface of another kind, or a multiqueue tap, has that name)";
	default: return "";
	}
}

/*
 * The fd stays blocking, although nothing ever blocks on it: the device
 * reads and writes it only through io_uring, which waits for a frame by
 * polling a blocking file but fails at once with EAGAIN on an O_NONBLOCK
 * one (as the event loop's eventfds, vmm/event.c).
 */
int net_tap_open(const char *ifname, char *err, size_t errlen)
{
	int fd, e;
	if (!*ifname || strlen(ifname) >= IFNAMSIZ) {
		snprintf(err, errlen, "cannot attach: not an interface name (1..%d bytes)", IFNAMSIZ - 1);
		return -EINVAL;
	}
	if ((fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC)) < 0) {
		e = errno;
		snprintf(err, errlen, "cannot attach: /dev/net/tun: %s%s", strerror(e),
			 e == ENOENT || e == ENODEV ? " (no tun driver on this host)" : net_tap_hint(e));
		return -e;
	}
	/* Attaches to the tap of that name, or creates it (non-persistent, down) when we may. */
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		snprintf(err, errlen, "cannot attach: %s%s", strerror(e), net_tap_hint(e));
		goto err_fd;
	}
	/* Every frame both ways behind struct virtio_net_hdr with VERSION_1's num_buffers (12 bytes). */
	int hdr = NET_HDR_LEN;
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		e = errno;
		snprintf(err, errlen, "cannot attach: TUNSETVNETHDRSZ: %s", strerror(e));
		goto err_fd;
	}
	/*
	 * No offloads until a driver accepts some (net_start): the host stack
	 * hands the tap fully checksummed, unsegmented frames meanwhile.
	 */
	if (ioctl(fd, TUNSETOFFLOAD, 0ul) < 0) {
		e = errno;
		snprintf(err, errlen, "cannot attach: TUNSETOFFLOAD: %s", strerror(e));
		goto err_fd;
	}
	return fd;
err_fd:
	close(fd);
	return -e;
}

int net_tap_offload(int fd, unsigned flags)
{
	return ioctl(fd, TUNSETOFFLOAD, (unsigned long)flags) < 0 ? -errno : 0;
}
