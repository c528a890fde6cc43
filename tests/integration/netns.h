/*
 * netns.h: throwaway network namespaces for the network tests and bench-net. Each has a unique
 * name, lo up, and what the test adds (a tap with an address, veth pairs into a peer namespace);
 * a reaper process kills what runs inside and deletes them when their owner dies for any reason (a
 * failed assertion, a Check timeout), so none outlives a run. No traffic touches the root namespace.
 */
#ifndef NETNS_H
#define NETNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct netns {
	char name[32];   /* "ukvmt-<pid>-<n>": ip netns NAME */
	char peer[32];   /* a second namespace for veth pairs ("" until netns_add_veth) */
	int reaper_pid;  /* deletes both when keep_fd closes; 0 before netns_create */
	int keep_fd;     /* write end of the reaper's pipe, held by the owner only (O_CLOEXEC) */
	int home_fd;     /* the calling thread's own namespace while entered, else -1 */
};

/*
 * Whether namespaced network tests can run here: root, /dev/net/tun, and `ip netns add` working.
 * False with the reason in why[len] (the caller SKIPs with it, never passes).
 */
bool netns_usable(char *why, size_t len);

/* Creates namespace ns->name with lo up and its reaper. 0 or -errno; why[len] says what failed. */
int netns_create(struct netns *ns, char *why, size_t len);

/* Adds tap device ifname inside ns with address cidr ("10.77.0.1/24", NULL: none), up. 0 or -errno. */
int netns_add_tap(struct netns *ns, const char *ifname, const char *cidr, char *why, size_t len);

/*
 * Adds a veth pair: ifname with cidr inside ns, peer_ifname with peer_cidr inside the peer
 * namespace ns->peer (created, with lo up, on first use), both up. 0 or -errno.
 */
int netns_add_veth(struct netns *ns, const char *ifname, const char *cidr, const char *peer_ifname,
		   const char *peer_cidr, char *why, size_t len);

/*
 * Moves the calling thread into ns (peer: into ns->peer): its sockets, and the children it
 * starts from then on, live there. netns_leave returns it home. 0 or -errno.
 */
int netns_enter(struct netns *ns, bool peer);
int netns_leave(struct netns *ns);

/* argv for running a command inside ns (or its peer): out = {"ip", "netns", "exec", NAME, cmd...}, NULL-ended. */
void netns_exec_argv(const struct netns *ns, bool peer, const char *const *cmd, const char **out, size_t max);

/* Runs `ip ARGS...` (NULL-ended) to completion; 0 or -EIO with its output in why[len]. */
int netns_ip(char *why, size_t len, ...) __attribute__((sentinel));

/* Where the `ip` program is (/usr/sbin/ip ...), or "ip" for a PATH lookup. */
const char *netns_ip_prog(void);

/* The Internet checksum (RFC 1071) of n bytes, ready to store (network order). */
uint16_t netns_icmp_sum(const void *d, size_t n);

/*
 * Sends count ICMP echo requests of size bytes (8..2048, the ICMP header included) to ip from a
 * raw socket in the calling thread's namespace, one at a time, waiting up to 1 s for each reply
 * (a later one still counts, and the last ones get 3 s more); returns how many distinct echoes came
 * back matching (type, id, sequence, payload), or -errno.
 */
int netns_ping(const char *ip, int count, size_t size);

/* Deletes both namespaces (leaving first if entered) and reaps the reaper. Safe to call twice. */
void netns_destroy(struct netns *ns);

#endif
