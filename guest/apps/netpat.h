/* netpat.h: the byte stream the net apps, tests and bench send (each byte set by its offset, so any slice is checkable) and errno names for reports. */
#ifndef APPS_NETPAT_H
#define APPS_NETPAT_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* splitmix64: cheap, and no short period a lost or repeated segment could hide in. */
static inline uint64_t netpat_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Byte `off` of stream `seed`. */
static inline uint8_t netpat_byte(uint64_t off, uint64_t seed)
{
	return (uint8_t)(netpat_mix((off >> 3) ^ (seed << 40)) >> ((off & 7) * 8));
}

/* b[0..n) = bytes off..off+n of stream seed. */
static inline void netpat_fill(uint8_t *b, uint64_t off, size_t n, uint64_t seed)
{
	size_t i = 0;
	for (; i < n && ((off + i) & 7); i++)
		b[i] = netpat_byte(off + i, seed);
	for (; i + 8 <= n; i += 8) {
		uint64_t w = netpat_mix(((off + i) >> 3) ^ (seed << 40));
		for (int k = 0; k < 8; k++)
			b[i + (size_t)k] = (uint8_t)(w >> (k * 8));
	}
	for (; i < n; i++)
		b[i] = netpat_byte(off + i, seed);
}

/* Index of the first byte of b[0..n) that is not stream seed at off; n when all match. */
static inline size_t netpat_check(const uint8_t *b, uint64_t off, size_t n, uint64_t seed)
{
	uint8_t want[256];
	for (size_t done = 0; done < n;) {
		size_t k = n - done < sizeof(want) ? n - done : sizeof(want);
		netpat_fill(want, off + done, k, seed);
		for (size_t i = 0; i < k; i++)
			if (b[done + i] != want[i])
				return done + i;
		done += k;
	}
	return n;
}

/* The errno's name ("ECONNREFUSED"): tests match names, not numbers or libc's messages. */
static inline const char *netpat_errname(int e)
{
	static const struct { int e; const char *n; } t[] = {
		{ECONNREFUSED, "ECONNREFUSED"}, {ECONNRESET, "ECONNRESET"}, {ECONNABORTED, "ECONNABORTED"},
		{ETIMEDOUT, "ETIMEDOUT"}, {EHOSTUNREACH, "EHOSTUNREACH"}, {ENETUNREACH, "ENETUNREACH"},
		{ENETDOWN, "ENETDOWN"}, {EPIPE, "EPIPE"}, {EAGAIN, "EAGAIN"}, {EINPROGRESS, "EINPROGRESS"},
		{EINTR, "EINTR"}, {EINVAL, "EINVAL"}, {ENOTCONN, "ENOTCONN"}, {EADDRINUSE, "EADDRINUSE"},
		{EADDRNOTAVAIL, "EADDRNOTAVAIL"}, {EAFNOSUPPORT, "EAFNOSUPPORT"}, {ENOSYS, "ENOSYS"},
		{ENOMEM, "ENOMEM"}, {ENOBUFS, "ENOBUFS"}, {EBADF, "EBADF"}, {EFAULT, "EFAULT"},
		{EMFILE, "EMFILE"}, {ENOTSOCK, "ENOTSOCK"}, {EOPNOTSUPP, "EOPNOTSUPP"}, {EPROTONOSUPPORT, "EPROTONOSUPPORT"},
		{EISCONN, "EISCONN"}, {EALREADY, "EALREADY"}, {EMSGSIZE, "EMSGSIZE"}, {EIO, "EIO"},
	};
	static __thread char other[16];
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].e == e)
			return t[i].n;
	snprintf(other, sizeof(other), "E%d", e);
	return other;
}

#endif
