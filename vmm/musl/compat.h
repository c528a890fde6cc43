/*
 * compat.h: what Debian 12's musl 1.2.3 lacks and the monitor uses,
 * force-included (-include) only when ukvm-run's objects are compiled with
 * musl (vmm/build.mk). Each wrapper issues the very syscall glibc's does, so
 * both libcs pass the same seccomp allowlist (vmm/sandbox.c). musl 1.2.5 has
 * them all (pwritev2, preadv2 would then clash here: drop this file).
 */
#ifndef VMM_MUSL_COMPAT_H
#define VMM_MUSL_COMPAT_H

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* madvise advice (Linux 5.14), mem.c and snapvm.c. */
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x00000008
#endif

/*
 * pwritev2, preadv2 (hcall.c, net.c): offset -1 only (the file's own
 * position). On x86-64 the kernel takes the offset whole in its low word.
 */
#if !defined(SYS_pwritev2) || !defined(SYS_preadv2)
#error "compat.h: no pwritev2/preadv2 syscall numbers"
#endif
static inline ssize_t musl_compat_pwritev2(int fd, const struct iovec *iov, int n, off_t off, int flags)
{
	return syscall(SYS_pwritev2, fd, iov, n, (long)off, 0L, flags);
}
static inline ssize_t musl_compat_preadv2(int fd, const struct iovec *iov, int n, off_t off, int flags)
{
	return syscall(SYS_preadv2, fd, iov, n, (long)off, 0L, flags);
}
#define pwritev2 musl_compat_pwritev2
#define preadv2 musl_compat_preadv2

/* statx (blk.c: STATX_DIOALIGN): the kernel's struct and constants. */
#ifndef STATX_BASIC_STATS
#include <linux/stat.h>
static inline int musl_compat_statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *sx)
{
	return (int)syscall(SYS_statx, dirfd, path, flags, mask, sx);
}
#define statx(d, p, f, m, s) musl_compat_statx(d, p, f, m, s)
#endif
#ifndef STATX_DIOALIGN
#define STATX_DIOALIGN 0x00002000U
#endif

#endif
