/*
 * net_user.h: the user-mode network backend (--net user): libslirp in its own
 * process, ukvm-slirp (devices/slirp/helper.c), which the monitor starts and
 * talks to over two socketpairs. Its own process, not a thread: ukvm-run is
 * static-pie and Debian ships libslirp (and glib) as shared libraries only;
 * and libslirp, which parses every guest frame, then cannot read or write
 * guest memory or the monitor's state even when compromised (it runs under a
 * seccomp allowlist, vmm/sandbox.c, and Landlock with only /etc/resolv.conf
 * readable).
 */
#ifndef DEVICES_NET_USER_H
#define DEVICES_NET_USER_H

#include <stdbool.h>
#include <stddef.h>

#include "ukvm.h"

/*
 * The helper's file name, found in this order: $UKVM_SLIRP_HELPER (a path),
 * next to the running executable (/proc/self/exe: ukvm-run's directory),
 * then in $PATH.
 */
#define NET_USER_HELPER "ukvm-slirp"
/* How long open and start wait for the helper's answer, and close for its exit before SIGKILL. */
#define NET_USER_REPLY_MS 5000
#define NET_USER_EXIT_MS 1000

struct net_user;

/*
 * Starts user-mode networking (libslirp) for cfg (kind UKVM_NET_USER, its
 * hostfwds): 0 and *out plus *fd, the device's end of a SOCK_SEQPACKET
 * socketpair carrying frames prefixed by the 12-byte virtio_net_hdr (all
 * zero from the backend; one with flags or gso_type set is dropped), or
 * -errno with one line in err ("hostfwd tcp 127.0.0.1:8080: Address already
 * in use"). The fd is close-on-exec and blocking; the backend never blocks on
 * it: a frame the device end has no room for is dropped, as on a congested
 * link. Call before any seccomp filter (it spawns the helper).
 */
int net_user_open(const struct ukvm_net *cfg, struct net_user **out, int *fd, char *err, size_t errlen);

/*
 * Lets the backend run (before the guest first runs); with seccomp, the
 * helper installs its own allowlist and Landlock ruleset first. 0 or -errno
 * (the helper could not sandbox itself or is gone).
 */
int net_user_start(struct net_user *u, bool seccomp);

/*
 * Stops the backend and frees everything, the device's fd included: the
 * helper sees its control socket close and exits; past NET_USER_EXIT_MS it
 * is killed. Bounded whatever the guest or the network does. Safe on the
 * vCPU thread's allowlist (close, ppoll, pidfd_send_signal, waitid). NULL is
 * a no-op.
 */
void net_user_close(struct net_user *u);

#endif
