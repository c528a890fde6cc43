/* linux_sock_abi.h: the Linux x86-64 socket ABI (families, types, MSG_* flags, addresses, msghdr) that uapi headers lack. */
#ifndef LINUX_SOCK_ABI_H
#define LINUX_SOCK_ABI_H

#include <stdint.h>
#include <stddef.h>
#include <asm-generic/socket.h> /* SOL_SOCKET, SO_* */
#include "linux_abi.h"          /* struct lx_timeval */

/*
 * include/linux/socket.h is not uapi. Guarded: host unit tests may see
 * libc's identical definitions first. Structs carry an lx_ prefix so they
 * never meet libc's or lwIP's own sockaddr types.
 */
#ifndef AF_UNIX
#define AF_UNSPEC 0
#define AF_UNIX   1
#define AF_LOCAL  AF_UNIX
#define AF_INET   2
#define AF_INET6  10
#define AF_NETLINK 16
#define AF_PACKET 17
#endif
#define LX_AF_MAX 46 /* Linux's AF_MAX: families at or above it are -EAFNOSUPPORT */

#ifndef SOCK_STREAM
#define SOCK_STREAM    1
#define SOCK_DGRAM     2
#define SOCK_RAW       3
#define SOCK_RDM       4
#define SOCK_SEQPACKET 5
#endif
#ifndef SOCK_NONBLOCK
#define SOCK_NONBLOCK 04000   /* O_NONBLOCK */
#define SOCK_CLOEXEC  02000000 /* O_CLOEXEC */
#endif
#define LX_SOCK_TYPE_MASK 0xf

#ifndef MSG_OOB
#define MSG_OOB          0x1
#define MSG_PEEK         0x2
#define MSG_DONTROUTE    0x4
#define MSG_CTRUNC       0x8
#define MSG_TRUNC        0x20
#define MSG_DONTWAIT     0x40
#define MSG_EOR          0x80
#define MSG_WAITALL      0x100
#define MSG_NOSIGNAL     0x4000
#define MSG_MORE         0x8000
#define MSG_CMSG_CLOEXEC 0x40000000
#endif
#ifndef MSG_ERRQUEUE
#define MSG_ERRQUEUE 0x2000
#define MSG_CONFIRM  0x800
#endif

#ifndef SHUT_RD
#define SHUT_RD   0
#define SHUT_WR   1
#define SHUT_RDWR 2
#endif

#ifndef IPPROTO_IP
#define IPPROTO_IP  0
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#endif
#ifndef SOL_TCP
#define SOL_TCP IPPROTO_TCP
#endif

/* <linux/tcp.h> options (that header drags in more than we want). */
#ifndef TCP_NODELAY
#define TCP_NODELAY   1
#define TCP_MAXSEG    2
#define TCP_CORK      3
#define TCP_KEEPIDLE  4
#define TCP_KEEPINTVL 5
#define TCP_KEEPCNT   6
#endif

struct lx_sockaddr {
	uint16_t sa_family;
	char sa_data[14];
};

struct lx_sockaddr_in {
	uint16_t sin_family;
	uint16_t sin_port;   /* network order */
	uint32_t sin_addr;   /* network order */
	uint8_t sin_zero[8];
};

#define LX_UNIX_PATH_MAX 108
struct lx_sockaddr_un {
	uint16_t sun_family;
	char sun_path[LX_UNIX_PATH_MAX];
};

#define LX_SOCKADDR_MAX 128 /* sizeof(struct sockaddr_storage): the longest address bind/connect accept */

struct lx_msghdr {
	void *msg_name;
	uint32_t msg_namelen;
	struct iovec *msg_iov;
	uint64_t msg_iovlen;
	void *msg_control;
	uint64_t msg_controllen;
	uint32_t msg_flags;
};

/* Ancillary data (include/linux/socket.h): headers 8-byte aligned, at most SCM_MAX_FD fds in flight per message. */
#ifndef SCM_RIGHTS
#define SCM_RIGHTS      1
#define SCM_CREDENTIALS 2
#endif
#define LX_SCM_MAX_FD 253
struct lx_cmsghdr {
	uint64_t cmsg_len; /* header and data, unpadded */
	int32_t cmsg_level;
	int32_t cmsg_type;
};
#define LX_CMSG_ALIGN(n) (((n) + 7) & ~(uint64_t)7)
#define LX_CMSG_LEN(n)   (sizeof(struct lx_cmsghdr) + (n))
#define LX_CMSG_SPACE(n) (sizeof(struct lx_cmsghdr) + LX_CMSG_ALIGN(n))
/* SO_PEERCRED's answer and SCM_CREDENTIALS' payload. */
struct lx_ucred {
	int32_t pid;
	uint32_t uid, gid;
};

struct lx_linger {
	int32_t l_onoff;
	int32_t l_linger;
};


#endif
