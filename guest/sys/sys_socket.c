/* sys_socket.c: the socket syscalls (socket ... getsockopt) and sendfile, checking the app's arguments before the socket layer sees them. */
#include <string.h>
#include "k.h"
#include "fs.h"
#include "sig.h"
#include "sock.h"
#include "sys.h"

#define SYS_SOCK_TYPE_MAX 11 /* Linux's SOCK_MAX: a type at or above it is -EINVAL */
#define SYS_SOCK_OPT_MAX  64 /* the largest option value we read or write (struct timeval, linger, int) */
#define SYS_SENDFILE_CHUNK (64u * 1024)

/* The socket at fd with a reference on its file (the call may block while another thread closes fd). */
static long sys_sock_get(long fd, struct fs_file **fp, struct sock **sp)
{
	struct fs_file *f = (fd < 0 || fd >= FS_MAX_FDS) ? NULL : fs_fd_file((int)fd);
	if (!f || (f->flags & O_PATH))
		return -EBADF;
	struct sock *s = sock_of(f);
	if (!s)
		return -ENOTSOCK;
	fs_file_get(f);
	*fp = f;
	*sp = s;
	return 0;
}

/* Linux's move_addr_to_kernel: 0 and the copy in buf, -EINVAL (length), -EFAULT. */
static int sys_sock_addr_in(long uaddr, long ulen, void *buf, uint32_t *len)
{
	if ((int)ulen < 0 || (uint64_t)(uint32_t)ulen > LX_SOCKADDR_MAX)
		return -EINVAL;
	*len = (uint32_t)ulen;
	if (!*len)
		return 0;
	if (!k_user_ok((const void *)uaddr, *len))
		return -EFAULT;
	memset(buf, 0, LX_SOCKADDR_MAX);
	memcpy(buf, (const void *)uaddr, *len);
	return 0;
}

/* Reads the room an app offers for an address (its *ulen): 0, -EFAULT, -EINVAL (negative). */
static int sys_sock_addr_room(long uaddr, long ulen, uint32_t *room)
{
	int *lp = (int *)ulen;
	if (!k_user_ok(lp, sizeof(int)))
		return -EFAULT;
	if (*lp < 0)
		return -EINVAL;
	*room = (uint32_t)*lp;
	if (*room && !k_user_ok((void *)uaddr, *room < LX_SOCKADDR_MAX ? *room : LX_SOCKADDR_MAX))
		return -EFAULT;
	return 0;
}

/* Linux's move_addr_to_user: copies what fits of the klen-byte address and stores klen. */
static void sys_sock_addr_out(long uaddr, long ulen, uint32_t room, const void *kaddr, uint32_t klen)
{
	uint32_t n = klen < room ? klen : room;
	if (n)
		memcpy((void *)uaddr, kaddr, n);
	*(int *)ulen = (int)klen;
}

long sys_socket(SYS_ARGS)
{
	int family = (int)a0, type = (int)a1 & LX_SOCK_TYPE_MASK, flags = (int)a1 & ~LX_SOCK_TYPE_MASK;
	struct sock *s;
	int rc;
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	if (family < 0 || family >= LX_AF_MAX)
		return -EAFNOSUPPORT;
	if (type >= SYS_SOCK_TYPE_MAX)
		return -EINVAL;
	if (family == AF_UNIX)
		rc = unix_create(type, (int)a2, &s);
	else if (family == AF_INET)
		rc = inet_create(type, (int)a2, &s);
	else
		return -EAFNOSUPPORT; /* AF_INET6, netlink, packet ... are not implemented */
	if (rc)
		return rc;
	return sock_fd_new(s, flags);
}

long sys_socketpair(SYS_ARGS)
{
	int family = (int)a0, type = (int)a1 & LX_SOCK_TYPE_MASK, flags = (int)a1 & ~LX_SOCK_TYPE_MASK;
	int *sv = (int *)a3;
	struct sock *x, *y;
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	if (family < 0 || family >= LX_AF_MAX)
		return -EAFNOSUPPORT;
	if (type >= SYS_SOCK_TYPE_MAX)
		return -EINVAL;
	if (family == AF_INET) {
		int rc = inet_create(type, (int)a2, &x);
		if (rc)
			return rc;
		x->ops->release(x);
		return -EOPNOTSUPP; /* Linux's sock_no_socketpair */
	}
	if (family != AF_UNIX)
		return -EAFNOSUPPORT;
	if (!k_user_ok(sv, 2 * sizeof(int)))
		return -EFAULT;
	int rc = unix_pair(type, (int)a2, &x, &y);
	if (rc)
		return rc;
	int fx = sock_fd_new(x, flags);
	if (fx < 0) {
		y->ops->release(y);
		return fx;
	}
	int fy = sock_fd_new(y, flags);
	if (fy < 0) {
		fs_fd_close(fx);
		return fy;
	}
	sv[0] = fx;
	sv[1] = fy;
	return 0;
}

long sys_bind(SYS_ARGS)
{
	uint8_t addr[LX_SOCKADDR_MAX];
	uint32_t len;
	struct fs_file *f;
	struct sock *s;
	long rc = sys_sock_get(a0, &f, &s);
	if (rc)
		return rc;
	rc = sys_sock_addr_in(a1, a2, addr, &len);
	if (!rc)
		rc = s->ops->bind ? s->ops->bind(s, addr, len) : -EOPNOTSUPP;
	fs_file_put(f);
	return rc;
}

long sys_connect(SYS_ARGS)
{
	uint8_t addr[LX_SOCKADDR_MAX];
	uint32_t len;
	struct fs_file *f;
	struct sock *s;
	long rc = sys_sock_get(a0, &f, &s);
	if (rc)
		return rc;
	rc = sys_sock_addr_in(a1, a2, addr, &len);
	if (!rc)
		rc = s->ops->connect(s, addr, len, f->flags & O_NONBLOCK);
	fs_file_put(f);
	return rc;
}

long sys_listen(SYS_ARGS)
{
	struct fs_file *f;
	struct sock *s;
	long rc = sys_sock_get(a0, &f, &s);
	if (rc)
		return rc;
	rc = s->ops->listen ? s->ops->listen(s, (int)a1) : -EOPNOTSUPP;
	fs_file_put(f);
	return rc;
}

long sys_accept4(SYS_ARGS)
{
	int flags = (int)a3;
	uint32_t room = 0;
	struct fs_file *f;
	struct sock *s, *ns;
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	long rc = sys_sock_get(a0, &f, &s);
	if (rc)
		return rc;
	if (!s->ops->accept) {
		rc = -EOPNOTSUPP;
		goto out;
	}
	/* Checked before a connection is taken, so a bad pointer does not lose it. */
	if (a1) {
		rc = sys_sock_addr_room(a1, a2, &room);
		if (rc)
			goto out;
	}
	rc = s->ops->accept(s, &ns, f->flags & O_NONBLOCK);
	if (rc)
		goto out;
	uint8_t addr[LX_SOCKADDR_MAX];
	uint32_t klen = sizeof(addr);
	if (a1 && ns->ops->getname(ns, addr, &klen, true))
		klen = 0; /* the peer is already gone: Linux reports an empty address */
	rc = sock_fd_new(ns, flags);
	if (rc >= 0 && a1)
		sys_sock_addr_out(a1, a2, room, addr, klen);
out:
	fs_file_put(f);
	return rc;
}

long sys_accept(SYS_ARGS)
{
	return sys_accept4(a0, a1, a2, 0, 0, 0);
}

static long sys_sock_name(long fd, long uaddr, long ulen, bool peer)
{
	struct fs_file *f;
	struct sock *s;
	uint32_t room;
	long rc = sys_sock_get(fd, &f, &s);
	if (rc)
		return rc;
	rc = sys_sock_addr_room(uaddr, ulen, &room);
	if (!rc) {
		uint8_t addr[LX_SOCKADDR_MAX];
		uint32_t klen = sizeof(addr);
		rc = s->ops->getname(s, addr, &klen, peer);
		if (!rc)
			sys_sock_addr_out(uaddr, ulen, room, addr, klen);
	}
	fs_file_put(f);
	return rc;
}

long sys_getsockname(SYS_ARGS)
{
	return sys_sock_name(a0, a1, a2, false);
}

long sys_getpeername(SYS_ARGS)
{
	return sys_sock_name(a0, a1, a2, true);
}

long sys_shutdown(SYS_ARGS)
{
	struct fs_file *f;
	struct sock *s;
	long rc = sys_sock_get(a0, &f, &s);
	if (rc)
		return rc;
	if (a1 < SHUT_RD || a1 > SHUT_RDWR)
		rc = -EINVAL;
	else
		rc = s->ops->shutdown(s, (int)a1);
	fs_file_put(f);
	return rc;
}

/* A send that fails with EPIPE on a stream raises SIGPIPE unless MSG_NOSIGNAL (Linux's sk_stream_error). */
static long sys_sock_send(struct fs_file *f, struct sock *s, struct sock_msg *m)
{
	long rc = sock_file_send(f, s, m);
	if (rc == -EPIPE && s->type == SOCK_STREAM && !(m->flags & MSG_NOSIGNAL))
		k_sig_raise(LX_SIGPIPE);
	return rc;
}

long sys_sendto(SYS_ARGS)
{
	uint8_t addr[LX_SOCKADDR_MAX];
	struct iovec v;
	struct sock_msg m;
	struct fs_file *f;
	struct sock *s;
	long rc = sys_sock_get(a0, &f, &s);
	if (rc)
		return rc;
	sock_msg_buf(&m, &v, (void *)a1, (size_t)a2, (int)a3);
	m.addr = addr;
	if (v.iov_len && !k_user_ok(v.iov_base, v.iov_len))
		rc = -EFAULT;
	else if (a4)
		rc = sys_sock_addr_in(a4, a5, addr, &m.addrlen);
	if (!rc)
		rc = sys_sock_send(f, s, &m);
	fs_file_put(f);
	return rc;
}

long sys_recvfrom(SYS_ARGS)
{
	uint8_t addr[LX_SOCKADDR_MAX];
	struct iovec v;
	struct sock_msg m;
	struct fs_file *f;
	struct sock *s;
	uint32_t room = 0;
	long rc = sys_sock_get(a0, &f, &s);
	if (rc)
		return rc;
	sock_msg_buf(&m, &v, (void *)a1, (size_t)a2, (int)a3);
	m.addr = addr;
	if (v.iov_len && !k_user_ok(v.iov_base, v.iov_len))
		rc = -EFAULT;
	else if (a4)
		rc = sys_sock_addr_room(a4, a5, &room);
	if (rc)
		goto out;
	m.addrlen = a4 ? sizeof(addr) : 0;
	rc = sock_file_recv(f, s, &m);
	if (rc >= 0 && a4)
		sys_sock_addr_out(a4, a5, room, addr, m.addrlen);
out:
	fs_file_put(f);
	return rc;
}

long sys_send(SYS_ARGS)
{
	return sys_sendto(a0, a1, a2, a3, 0, 0);
}

long sys_recv(SYS_ARGS)
{
	return sys_recvfrom(a0, a1, a2, a3, 0, 0);
}

/* Copies and checks the app's msghdr and its vector (Linux's copy_msghdr_from_user + import_iovec). */
static long sys_sock_msghdr(long umsg, struct lx_msghdr *h, struct sock_io *io)
{
	if (!k_user_ok((void *)umsg, sizeof(*h)))
		return -EFAULT;
	memcpy(h, (void *)umsg, sizeof(*h));
	if (h->msg_iovlen > LINUX_UIO_MAXIOV)
		return -EMSGSIZE;
	if (h->msg_iovlen && !k_user_ok(h->msg_iov, h->msg_iovlen * sizeof(struct iovec)))
		return -EFAULT;
	size_t sum = 0;
	for (uint64_t i = 0; i < h->msg_iovlen; i++) {
		size_t l = h->msg_iov[i].iov_len;
		if (l > (size_t)INT64_MAX - sum)
			return -EINVAL;
		sum += l;
		if (l && !k_user_ok(h->msg_iov[i].iov_base, l))
			return -EFAULT;
	}
	io->iov = h->msg_iov;
	io->cnt = h->msg_iovlen;
	io->len = sum > SOCK_IO_MAX ? SOCK_IO_MAX : sum;
	return 0;
}

/*
 * The control data of a sendmsg. AF_UNIX (Linux's __scm_send): SCM_RIGHTS fds
 * become file references in *out, SCM_CREDENTIALS must name the guest's own
 * process. AF_INET (sock_cmsg_send, ip_cmsg_send): SCM_RIGHTS and
 * SCM_CREDENTIALS are ignored, as Linux does; IP-level data on UDP
 * (IP_PKTINFO, IP_TTL ...) is not implemented: -EOPNOTSUPP rather than
 * ignored. Any other type at SOL_SOCKET is -EINVAL; other levels are skipped.
 */
static long sys_sock_cmsg_send(struct sock *s, const struct lx_msghdr *h, struct sock_scm **out)
{
	const uint8_t *ctl = h->msg_control;
	uint64_t len = h->msg_controllen;
	bool unix_ = s->family == AF_UNIX;
	*out = NULL;
	if (len == 0)
		return 0;
	if (len > INT32_MAX)
		return -ENOBUFS; /* Linux's optmem cap, well before this */
	if (!k_user_ok(ctl, len))
		return -EFAULT;
	/* Count first: one set holds every SCM_RIGHTS header's fds, at most SCM_MAX_FD. */
	uint32_t nfds = 0;
	for (uint64_t off = 0; len - off >= sizeof(struct lx_cmsghdr);) {
		struct lx_cmsghdr c;
		memcpy(&c, ctl + off, sizeof(c));
		if (c.cmsg_len < sizeof(c) || c.cmsg_len > len - off)
			return -EINVAL;
		if (!unix_ && c.cmsg_level == IPPROTO_IP && s->type == SOCK_DGRAM)
			return -EOPNOTSUPP;
		if (c.cmsg_level == SOL_SOCKET && !unix_) {
			if (c.cmsg_type != SCM_RIGHTS && c.cmsg_type != SCM_CREDENTIALS)
				return -EINVAL;
		} else if (c.cmsg_level == SOL_SOCKET) {
			if (c.cmsg_type == SCM_RIGHTS) {
				uint64_t n = (c.cmsg_len - sizeof(c)) / sizeof(int32_t);
				if (n > LX_SCM_MAX_FD - nfds)
					return -EINVAL;
				nfds += (uint32_t)n;
			} else if (c.cmsg_type == SCM_CREDENTIALS) {
				struct lx_ucred u;
				if (c.cmsg_len != LX_CMSG_LEN(sizeof(u)))
					return -EINVAL;
				memcpy(&u, ctl + off + sizeof(c), sizeof(u));
				if (u.pid != SOCK_CRED_PID || u.uid != SOCK_CRED_UID || u.gid != SOCK_CRED_GID)
					return -EPERM; /* root may claim other ids on Linux; there are none here */
			} else {
				return -EINVAL;
			}
		}
		uint64_t step = LX_CMSG_ALIGN(c.cmsg_len);
		if (step > len - off)
			break;
		off += step;
	}
	if (!nfds)
		return 0;
	struct sock_scm *set = sock_scm_new(nfds);
	if (!set)
		return -ENOMEM;
	uint32_t k = 0;
	for (uint64_t off = 0; k < nfds;) {
		struct lx_cmsghdr c;
		memcpy(&c, ctl + off, sizeof(c));
		if (c.cmsg_level == SOL_SOCKET && c.cmsg_type == SCM_RIGHTS) {
			uint64_t n = (c.cmsg_len - sizeof(c)) / sizeof(int32_t);
			for (uint64_t i = 0; i < n; i++) {
				int32_t fd;
				memcpy(&fd, ctl + off + sizeof(c) + i * sizeof(fd), sizeof(fd));
				struct fs_file *f = fd >= 0 ? fs_fd_file(fd) : NULL;
				if (!f) {
					sock_scm_free(set);
					return -EBADF;
				}
				fs_file_get(f);
				set->files[k++] = f;
			}
		}
		off += LX_CMSG_ALIGN(c.cmsg_len);
	}
	*out = set;
	return 0;
}

/*
 * Delivers the files that came with a message (Linux's scm_detach_fds): as
 * many new fds as the app's control buffer has room for, one SCM_RIGHTS
 * header; MSG_CTRUNC when any did not fit (those are closed). Returns the
 * control bytes used.
 */
static uint64_t sys_sock_cmsg_recv(const struct lx_msghdr *h, struct sock_scm *set, int flags, int *oflags)
{
	uint8_t *ctl = h->msg_control;
	uint64_t room = ctl ? h->msg_controllen : 0, used = 0;
	uint32_t fit = room > sizeof(struct lx_cmsghdr) ? (uint32_t)((room - sizeof(struct lx_cmsghdr)) / sizeof(int32_t)) : 0;
	uint32_t i = 0;
	if (fit > set->n)
		fit = set->n;
	if (fit && k_user_ok(ctl, LX_CMSG_LEN(fit * sizeof(int32_t)))) {
		for (; i < fit; i++) {
			int fd = fs_fd_install(set->files[i], 0, flags & MSG_CMSG_CLOEXEC);
			if (fd < 0)
				break;
			set->files[i] = NULL; /* the fd holds the reference now */
			int32_t v = fd;
			memcpy(ctl + sizeof(struct lx_cmsghdr) + i * sizeof(v), &v, sizeof(v));
		}
		if (i) {
			struct lx_cmsghdr c = { LX_CMSG_LEN(i * sizeof(int32_t)), SOL_SOCKET, SCM_RIGHTS };
			memcpy(ctl, &c, sizeof(c));
			used = LX_CMSG_SPACE(i * sizeof(int32_t));
			if (used > room)
				used = room;
		}
	}
	if (i < set->n)
		*oflags |= MSG_CTRUNC;
	sock_scm_free(set);
	return used;
}

long sys_sendmsg(SYS_ARGS)
{
	uint8_t addr[LX_SOCKADDR_MAX];
	struct lx_msghdr h;
	struct sock_msg m = { .addr = addr, .flags = (int)a2 };
	struct fs_file *f;
	struct sock *s;
	long rc = sys_sock_get(a0, &f, &s);
	if (rc)
		return rc;
	rc = sys_sock_msghdr(a1, &h, &m.io);
	if (!rc && h.msg_name)
		rc = sys_sock_addr_in((long)h.msg_name, (long)h.msg_namelen, addr, &m.addrlen);
	if (!rc)
		rc = sys_sock_cmsg_send(s, &h, &m.scm);
	if (!rc)
		rc = sys_sock_send(f, s, &m);
	sock_scm_free(m.scm); /* what the family did not take */
	fs_file_put(f);
	return rc;
}

long sys_recvmsg(SYS_ARGS)
{
	uint8_t addr[LX_SOCKADDR_MAX];
	struct lx_msghdr h;
	struct sock_msg m = { .addr = addr, .flags = (int)a2, .want_scm = true };
	struct fs_file *f;
	struct sock *s;
	long rc = sys_sock_get(a0, &f, &s);
	if (rc)
		return rc;
	rc = sys_sock_msghdr(a1, &h, &m.io);
	if (rc)
		goto out;
	if ((int)h.msg_namelen < 0) {
		rc = -EINVAL;
		goto out;
	}
	uint32_t room = h.msg_name ? h.msg_namelen : 0;
	if (room && !k_user_ok(h.msg_name, room < LX_SOCKADDR_MAX ? room : LX_SOCKADDR_MAX)) {
		rc = -EFAULT;
		goto out;
	}
	m.addrlen = h.msg_name ? sizeof(addr) : 0;
	rc = sock_file_recv(f, s, &m);
	if (rc < 0)
		goto out;
	struct lx_msghdr *uh = (struct lx_msghdr *)a1;
	if (h.msg_name) {
		uint32_t n = m.addrlen < room ? m.addrlen : room;
		memcpy(h.msg_name, addr, n);
	}
	uh->msg_namelen = h.msg_name ? m.addrlen : 0;
	uh->msg_controllen = m.scm ? sys_sock_cmsg_recv(&h, m.scm, (int)a2, &m.oflags) : 0;
	m.scm = NULL;
	uh->msg_flags = (uint32_t)m.oflags;
out:
	sock_scm_free(m.scm);
	fs_file_put(f);
	return rc;
}

long sys_setsockopt(SYS_ARGS)
{
	uint8_t val[SYS_SOCK_OPT_MAX];
	struct fs_file *f;
	struct sock *s;
	long rc = sys_sock_get(a0, &f, &s);
	if (rc)
		return rc;
	if ((int)a4 < 0) {
		rc = -EINVAL;
		goto out;
	}
	uint32_t len = (uint32_t)a4 < sizeof(val) ? (uint32_t)a4 : sizeof(val);
	if (len && !k_user_ok((void *)a3, len)) {
		rc = -EFAULT;
		goto out;
	}
	memset(val, 0, sizeof(val));
	memcpy(val, (void *)a3, len);
	rc = sock_setopt(s, (int)a1, (int)a2, val, len);
out:
	fs_file_put(f);
	return rc;
}

long sys_getsockopt(SYS_ARGS)
{
	uint8_t val[SYS_SOCK_OPT_MAX];
	int *lp = (int *)a4;
	struct fs_file *f;
	struct sock *s;
	long rc = sys_sock_get(a0, &f, &s);
	if (rc)
		return rc;
	if (!k_user_ok(lp, sizeof(int))) {
		rc = -EFAULT;
		goto out;
	}
	if (*lp < 0) {
		rc = -EINVAL;
		goto out;
	}
	uint32_t room = (uint32_t)*lp < sizeof(val) ? (uint32_t)*lp : sizeof(val);
	if (room && !k_user_ok((void *)a3, room)) {
		rc = -EFAULT;
		goto out;
	}
	uint32_t len = room;
	rc = sock_getopt(s, (int)a1, (int)a2, val, &len);
	if (!rc) {
		memcpy((void *)a3, val, len);
		*lp = (int)len;
	}
out:
	fs_file_put(f);
	return rc;
}

/*
 * sendfile(out, in, offset, count): through a kernel buffer, chunk by chunk,
 * until count, the end of in, or a short write (a full non-blocking socket).
 * With offset the file position of in is left alone and *offset advances.
 */
long sys_sendfile(SYS_ARGS)
{
	struct fs_file *out = (a0 < 0 || a0 >= FS_MAX_FDS) ? NULL : fs_fd_file((int)a0);
	struct fs_file *in = (a1 < 0 || a1 >= FS_MAX_FDS) ? NULL : fs_fd_file((int)a1);
	int64_t *uoff = (int64_t *)a2;
	uint64_t off = 0;
	if (!in || !out || (in->flags & O_PATH) || (out->flags & O_PATH))
		return -EBADF;
	if ((in->flags & O_ACCMODE) == O_WRONLY || (out->flags & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	/* Linux's do_splice_direct: no appending output, and a directory has nothing to splice. */
	if ((out->flags & O_APPEND) || (in->node->mode & S_IFMT) == S_IFDIR)
		return -EINVAL;
	if (uoff) {
		if (!k_user_ok(uoff, sizeof(*uoff)))
			return -EFAULT;
		if (*uoff < 0)
			return -EINVAL;
		off = (uint64_t)*uoff;
	}
	size_t count = (size_t)a3 > SOCK_IO_MAX ? SOCK_IO_MAX : (size_t)a3;
	if (!count)
		return 0;
	size_t chunk = count < SYS_SENDFILE_CHUNK ? count : SYS_SENDFILE_CHUNK;
	uint8_t *buf = k_malloc(chunk);
	if (!buf)
		return -ENOMEM;
	fs_file_get(in);
	fs_file_get(out);
	size_t done = 0;
	long rc = 0;
	while (done < count) {
		size_t want = count - done < chunk ? count - done : chunk;
		long r = fs_file_read(in, buf, want, uoff ? &off : NULL); /* a positional read leaves off alone */
		if (r <= 0) {
			rc = r;
			break;
		}
		long w = fs_file_write(out, buf, (size_t)r, NULL);
		long sent = w < 0 ? 0 : w;
		if (uoff)
			off += (uint64_t)sent;
		else if (sent < r && in->ops->lseek)
			fs_file_lseek(in, -(int64_t)(r - sent), SEEK_CUR); /* what was read and not sent stays unread */
		done += (size_t)sent;
		if (w < 0)
			rc = w;
		if (sent < r)
			break; /* an error, or the rest did not fit (a full non-blocking socket) */
	}
	fs_file_put(out);
	fs_file_put(in);
	k_free(buf);
	if (uoff)
		*uoff = (int64_t)off;
	if (rc == -EPIPE && !done)
		k_sig_raise(LX_SIGPIPE);
	return done ? (long)done : rc;
}
