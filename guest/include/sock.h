/* sock.h: the guest's Linux socket layer (guest/net/socket.c): sockets as VFS files, the family ops table, shared helpers. */
#ifndef SOCK_H
#define SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "linux_fs_abi.h"
#include "linux_sock_abi.h"

struct fs_file;
struct sock;

/*
 * An app's transfer vector (already checked by k_user_ok) with a cursor:
 * families copy into and out of it without knowing whether it came from
 * read(2), recvfrom(2) or recvmsg(2).
 */
struct sock_io {
	const struct iovec *iov;
	size_t cnt;
	size_t len;  /* bytes the whole vector holds (capped at SOCK_IO_MAX) */
	size_t done; /* bytes moved so far */
	size_t idx, off; /* cursor: element and offset in it */
};

/*
 * Open files in flight with SCM_RIGHTS (a reference on each), from
 * sendmsg(2) to the recvmsg(2) that installs them as new fds. On a stream
 * they ride with the bytes [pos, end) of the receiver's stream.
 */
struct sock_scm {
	struct sock_scm *next; /* the family's queue */
	uint64_t pos, end;
	uint32_t n;
	struct fs_file *files[];
};

/* One send or receive: the data, the address (NULL when none) and MSG_* flags. */
struct sock_msg {
	struct sock_io io;
	void *addr;       /* send: the kernel copy of the destination; recv: where the source goes (kernel memory) */
	uint32_t addrlen; /* send: its length; recv: room in, length written out (0: none) */
	int flags;        /* MSG_*; MSG_DONTWAIT is set for an O_NONBLOCK file */
	int oflags;       /* recv: the msg_flags result (MSG_TRUNC ...) */
	/*
	 * send: files to pass (a family that takes them sets it NULL; the caller frees what is left);
	 * recv: files that came with the data (the family sets it; want_scm says the caller takes them).
	 */
	struct sock_scm *scm;
	bool want_scm;
};

/*
 * What a family does. Every hook gets the socket (and its own family state
 * around it, see container_of in the family files); results are >= 0 or
 * -errno as the syscall returns them. A NULL hook has Linux's "not
 * supported" answer (documented per hook). Hooks that block use sock_wait.
 */
struct sock_ops {
	/* bind(2) with a kernel copy of the address. */
	int (*bind)(struct sock *s, const void *addr, uint32_t len);
	/* connect(2); blocking unless nonblock (then -EINPROGRESS or done at once). */
	int (*connect)(struct sock *s, const void *addr, uint32_t len, bool nonblock);
	/* listen(2). NULL: -EOPNOTSUPP. */
	int (*listen)(struct sock *s, int backlog);
	/* accept(2): a new connected socket in *out. NULL: -EOPNOTSUPP. */
	int (*accept)(struct sock *s, struct sock **out, bool nonblock);
	/* sendmsg(2)/recvmsg(2): bytes moved. */
	long (*send)(struct sock *s, struct sock_msg *m);
	long (*recv)(struct sock *s, struct sock_msg *m);
	/* shutdown(2) with how already checked (SHUT_RD/WR/RDWR). */
	int (*shutdown)(struct sock *s, int how);
	/* getsockname(2)/getpeername(2) into addr (room *len, set to the full length). */
	int (*getname)(struct sock *s, void *addr, uint32_t *len, bool peer);
	/* Options above SOL_SOCKET (IPPROTO_TCP ...), kernel copies. NULL: -EOPNOTSUPP. */
	int (*setopt)(struct sock *s, int level, int name, const void *val, uint32_t len);
	int (*getopt)(struct sock *s, int level, int name, void *val, uint32_t *len);
	/* A SOL_SOCKET option the generic layer stored changed (SO_KEEPALIVE ...). NULL: nothing to do. */
	void (*sol_changed)(struct sock *s, int name);
	/* SIOCINQ (FIONREAD) / SIOCOUTQ: bytes. NULL: -ENOTTY... see socket.c. */
	long (*inq)(struct sock *s);
	/* SO_ACCEPTCONN. */
	bool (*listening)(struct sock *s);
	/* Readiness (POLL* bits); the key is the socket itself (sock_wake). */
	uint32_t (*poll)(struct sock *s);
	/* The last file reference went: disconnect and free (the sock may outlive it while the family holds it). */
	void (*release)(struct sock *s);
};

/* The generic part of every socket; families embed it first in their own struct. */
struct sock {
	const struct sock_ops *ops;
	int family, type, protocol;
	int err;           /* pending SO_ERROR (positive errno), 0 when none */
	int rcvbuf, sndbuf; /* SO_RCVBUF/SO_SNDBUF as getsockopt reports them (Linux doubles what is set) */
	uint64_t rcvtimeo, sndtimeo; /* ns, 0: forever */
	bool reuseaddr, reuseport, keepalive;
	bool linger_on;
	int linger_secs;
	bool peercred; /* SO_PEERCRED names the guest's process (AF_UNIX connected or listening), else none */
	bool accept_shut; /* a listener shut down for reading: a blocking accept on its empty queue is EINVAL */
};

/* The credentials SO_PEERCRED reports for a peer: the guest's one process (sys_getpid, sys_getuid, sys_getgid). */
#define SOCK_CRED_PID 1
#define SOCK_CRED_UID 0
#define SOCK_CRED_GID 0

/* The Linux defaults (net.core.[rw]mem_default) and the floors/ceilings setsockopt applies. */
#define SOCK_BUF_DEFAULT 212992
#define SOCK_BUF_MAX     212992 /* net.core.[rw]mem_max */
#define SOCK_MIN_SNDBUF  4608
#define SOCK_MIN_RCVBUF  2304
/* One transfer moves at most this (Linux MAX_RW_COUNT). */
#define SOCK_IO_MAX 0x7ffff000ul

/* ---- generic layer (guest/net/socket.c) ---- */

/* Fills the generic fields of a new socket (defaults as Linux's sock_init_data). */
void sock_init(struct sock *s, const struct sock_ops *ops, int family, int type, int protocol);

/* Wraps s in a new open file (flags: O_NONBLOCK may be set); on failure s is released. 0 and *out or -ENOMEM. */
int sock_file_new(struct sock *s, uint32_t flags, struct fs_file **out);
/* sock_file_new and an fd (SOCK_NONBLOCK/SOCK_CLOEXEC in flags): the fd or -errno (s released on failure). */
int sock_fd_new(struct sock *s, int flags);

/* The socket behind f, or NULL when f is no socket. */
struct sock *sock_of(struct fs_file *f);

/* Wakes everybody waiting on s (threads in sock_wait, poll, epoll): call after every change of readiness. */
void sock_wake(struct sock *s);
/*
 * The same for a change in one direction only: POLLIN (data arrived) or
 * POLLOUT (room appeared). Blocked threads hear it; epoll items hear only
 * what they asked for, so an edge-triggered reader is not told again after
 * a partial read (Linux's sk_data_ready/sk_write_space keys).
 */
#define SOCK_WAKE_IN  (POLLIN | POLLRDNORM)
#define SOCK_WAKE_OUT (POLLOUT | POLLWRNORM | POLLWRBAND)
void sock_wake_bits(struct sock *s, uint32_t bits);

/* The absolute deadline for a timeout in ns (0: K_WAIT_FOREVER). */
uint64_t sock_deadline(uint64_t timeo);
/*
 * Blocks on s until sock_wake(s), the deadline or a signal: 0, -EAGAIN (the
 * SO_RCVTIMEO/SO_SNDTIMEO deadline passed, Linux's answer), -ERESTARTSYS
 * for a signal without a timeout, -EINTR with one (Linux's sock_intr_errno).
 */
long sock_wait(struct sock *s, uint64_t deadline);
/*
 * accept(2)'s wait on a listening socket until *qlen (its queue of
 * established connections) is non-zero: 0, -EAGAIN (nonblock, or the
 * SO_RCVTIMEO deadline), a signal's errno, -EINVAL once s stopped listening.
 */
int sock_wait_accept(struct sock *s, const uint32_t *qlen, bool nonblock);
/*
 * A datagram recv found its queue empty (Linux's __skb_try_recv_datagram
 * order): takes a pending error, ends at SHUT_RD (0 bytes, no address),
 * -EAGAIN under MSG_DONTWAIT, or waits. 1: look at the queue again; else
 * what recv returns.
 */
long sock_recv_wait(struct sock *s, struct sock_msg *m, bool rcv_shut, uint64_t deadline);
/* One contiguous buffer as m's vector (v is its storage; len capped at SOCK_IO_MAX); flags are MSG_*. */
void sock_msg_buf(struct sock_msg *m, struct iovec *v, void *buf, size_t len, int flags);
/* A socket file's send/recv: MSG_DONTWAIT added for an O_NONBLOCK file (Linux's sock_sendmsg path). */
long sock_file_send(struct fs_file *f, struct sock *s, struct sock_msg *m);
long sock_file_recv(struct fs_file *f, struct sock *s, struct sock_msg *m);

/* A new SCM_RIGHTS set for n files (none filled in yet) or NULL; frees one, dropping its references; a copy with its own (MSG_PEEK). */
struct sock_scm *sock_scm_new(uint32_t n);
void sock_scm_free(struct sock_scm *c);
struct sock_scm *sock_scm_dup(const struct sock_scm *c);

/* Like sock_wait, but on another key (a peer's): a unix writer waits for its peer to read. */
long sock_wait_key(const void *key, uint64_t deadline);

/* Copies n bytes from src into the vector at its cursor (n <= room); advances. */
void sock_io_put(struct sock_io *io, const void *src, size_t n);
/* Copies n bytes from the vector at its cursor into dst (n <= what is left); advances. */
void sock_io_get(struct sock_io *io, void *dst, size_t n);
/* The contiguous piece of the vector at its cursor, at most max bytes: its length (0 at the end) and *p. Does not advance. */
size_t sock_io_piece(struct sock_io *io, void **p, size_t max);
/* Advances the cursor by n bytes (n <= what is left), as if they were copied. */
void sock_io_skip(struct sock_io *io, size_t n);
/* Bytes left in the vector. */
static inline size_t sock_io_left(const struct sock_io *io)
{
	return io->len - io->done;
}

/*
 * setsockopt(2)/getsockopt(2) on kernel copies: SOL_SOCKET here (as Linux's
 * sk_setsockopt/sk_getsockopt), other levels through the family. get: *len
 * is the room in val and becomes the bytes written (Linux truncates).
 */
int sock_setopt(struct sock *s, int level, int name, const void *val, uint32_t len);
int sock_getopt(struct sock *s, int level, int name, void *val, uint32_t *len);

/* Checks an AF_INET address from the app (bind/connect/sendto): 0, -EINVAL (too short), -EAFNOSUPPORT (family). */
int sock_in_check(const void *addr, uint32_t len, bool for_connect);
/* Writes a sockaddr_in (Linux truncates to the room and reports the full length). */
void sock_in_put(void *addr, uint32_t *len, uint32_t ip_be, uint16_t port_be);

/*
 * The app is ending (exit_group, the last thread's exit, a fatal default
 * signal): closes every socket fd, as Linux closes a dying process's files
 * (FIN, or RST over unread data), then lets TCP finish sending what the app
 * wrote, as Linux's kernel does after the process is gone, for at most
 * SOCK_EXIT_LINGER_NS. Other threads do not run meanwhile; without
 * pending TCP data it returns at once.
 */
#define SOCK_EXIT_LINGER_NS 2000000000ull
void sock_exit(void);
/* True once sock_exit began: closes do not block (Linux's PF_EXITING skips SO_LINGER's wait). */
bool sock_exiting(void);

/* ---- families ---- */

/* AF_UNIX (guest/net/unix.c): socket(2) and socketpair(2). 0 and *out or -errno. */
int unix_create(int type, int protocol, struct sock **out);
int unix_pair(int type, int protocol, struct sock **a, struct sock **b);

/* AF_INET (guest/net/inet.c): socket(2) for TCP and UDP on lwIP. 0 and *out or -errno. */
int inet_create(int type, int protocol, struct sock **out);
/* Internal to guest/net: the two AF_INET families (tcp.c, udp.c), type and protocol already checked. */
int inet_tcp_create(struct sock **out);
int inet_udp_create(struct sock **out);
/* Internal to guest/net: whether ip (network order) is this host's (INADDR_ANY or an interface's address). */
bool inet_local_ip(uint32_t ip_be);
/* Internal to guest/net: bind(2)'s address checks for TCP and UDP (sock_in_check, then a local address): 0 or -errno. */
int inet_bind_check(const void *addr, uint32_t len);
/* Internal to guest/net: the bytes of the datagrams queued on every UDP socket, not yet read (/proc/net/sockstat). */
uint64_t inet_udp_queued(void);
/* Internal to guest/net: runs the network (pollers, idle WAITs, no thread switch) until no TCP connection has unsent or unacknowledged data, or the deadline. */
void inet_tcp_drain(uint64_t deadline);

#endif
