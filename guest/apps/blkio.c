/* blkio.c: guest test tool for /dev/vdX: fill/verify patterns, size queries, sync, past-end and read-only probes. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blkpat.h"
#include "say.h"

/* musl-gcc has no kernel headers: the <linux/fs.h> values. */
#ifndef BLKSSZGET
#define BLKSSZGET _IO(0x12, 104)
#endif
#ifndef BLKGETSIZE64
#define BLKGETSIZE64 _IOR(0x12, 114, size_t)
#endif

/*
 * Usage: blkio CMD ARGS [CMD ARGS]...   (commands run in order; first failure exits 1)
 *   fill DEV SIZE SEED        pattern bytes [0, SIZE) in chunks of varying, unaligned sizes, then fsync
 *   verify DEV SIZE SEED      read them back (read and pread, varying sizes), print "ok DEV"
 *   size DEV                  print BLKGETSIZE64, BLKSSZGET, lseek(SEEK_END), fstat size and S_ISBLK
 *   write-sync DEV SIZE SEED  fill, fdatasync, print "synced", then sleep 10 s (the test kills us)
 *   past-end DEV              reads/writes at and across the end; prints each result
 *   ro DEV                    a write must fail: prints the errno name
 * SIZE takes K/M suffixes. Output goes straight to fd 1 (no stdio buffering) so a
 * watcher sees each line when it is written.
 */

#define BUF_MAX (1u << 20)
static unsigned char buf[BUF_MAX + 4096];

/* Chunk sizes cycled through by fill/verify: sub-sector, unaligned, page, multi-page, large. */
static const size_t chunks[] = {4096, 1, 511, 513, 65536, 4097, 131072 + 3, 1u << 20, 12288, 7, 262144, 1000};


static const char *ename(int e)
{
	switch (e) {
	case 0: return "0";
	case EIO: return "EIO";
	case EROFS: return "EROFS";
	case ENOSPC: return "ENOSPC";
	case EINVAL: return "EINVAL";
	case EBADF: return "EBADF";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case EFBIG: return "EFBIG";
	case ENOSYS: return "ENOSYS";
	case ENXIO: return "ENXIO";
	case ENOENT: return "ENOENT";
	default: return "other";
	}
}

static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);
	if (*end == 'K' || *end == 'k')
		v <<= 10;
	else if (*end == 'M' || *end == 'm')
		v <<= 20;
	else if (*end == 'G' || *end == 'g')
		v <<= 30;
	return v;
}

static int open_dev(const char *dev, int flags)
{
	int fd = open(dev, flags);
	if (fd < 0)
		say("open %s: %s (%s)\n", dev, strerror(errno), ename(errno));
	return fd;
}

/* Writes all of [p, p+n) at off with pwrite or write (alternating per call); -1 on error. */
static int put(int fd, const void *p, size_t n, uint64_t off, int use_pwrite)
{
	const unsigned char *c = p;
	while (n) {
		ssize_t w = use_pwrite ? pwrite(fd, c, n, (off_t)off) : write(fd, c, n);
		if (w <= 0) {
			say("write at %llu (%zu bytes): %s (%s)\n", (unsigned long long)off, n,
			    w < 0 ? strerror(errno) : "returned 0", ename(w < 0 ? errno : 0));
			return -1;
		}
		c += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

static int do_fill(const char *dev, uint64_t size, uint64_t seed, int sync_only)
{
	int fd = open_dev(dev, O_RDWR);
	if (fd < 0)
		return -1;
	uint64_t off = 0;
	unsigned k = 0;
	while (off < size) {
		size_t n = chunks[k % (sizeof(chunks) / sizeof(chunks[0]))];
		int usep = (k++ / 3) & 1;
		if (n > size - off)
			n = (size_t)(size - off);
		blkpat_fill(buf, off, n, seed);
		/* write() continues at the file offset: keep it in step with off for the mix. */
		if (!usep && lseek(fd, (off_t)off, SEEK_SET) != (off_t)off) {
			say("lseek %llu: %s\n", (unsigned long long)off, strerror(errno));
			close(fd);
			return -1;
		}
		if (put(fd, buf, n, off, usep)) {
			close(fd);
			return -1;
		}
		off += n;
	}
	int r = sync_only ? fdatasync(fd) : fsync(fd);
	if (r) {
		say("%s %s: %s (%s)\n", sync_only ? "fdatasync" : "fsync", dev, strerror(errno), ename(errno));
		close(fd);
		return -1;
	}
	close(fd);
	say("filled %s %llu\n", dev, (unsigned long long)size);
	return 0;
}

static int do_verify(const char *dev, uint64_t size, uint64_t seed)
{
	int fd = open_dev(dev, O_RDONLY);
	if (fd < 0)
		return -1;
	uint64_t off = 0;
	unsigned k = 5;
	while (off < size) {
		size_t n = chunks[k % (sizeof(chunks) / sizeof(chunks[0]))], got = 0;
		int usep = (k++ / 2) & 1;
		if (n > size - off)
			n = (size_t)(size - off);
		if (!usep && lseek(fd, (off_t)off, SEEK_SET) != (off_t)off) {
			say("lseek %llu: %s\n", (unsigned long long)off, strerror(errno));
			close(fd);
			return -1;
		}
		/* Read into an odd address too: a driver must not assume aligned user buffers. */
		unsigned char *dst = buf + (k & 1 ? 3 : 0);
		while (got < n) {
			ssize_t r = usep ? pread(fd, dst + got, n - got, (off_t)(off + got)) : read(fd, dst + got, n - got);
			if (r <= 0) {
				say("read at %llu: %s\n", (unsigned long long)(off + got),
				    r < 0 ? strerror(errno) : "unexpected EOF");
				close(fd);
				return -1;
			}
			got += (size_t)r;
		}
		size_t bad = blkpat_check(dst, off, n, seed);
		if (bad != n) {
			say("mismatch %s at %llu\n", dev, (unsigned long long)(off + bad));
			close(fd);
			return -1;
		}
		off += n;
	}
	close(fd);
	say("ok %s %llu\n", dev, (unsigned long long)size);
	return 0;
}

static int do_size(const char *dev)
{
	int fd = open_dev(dev, O_RDONLY);
	if (fd < 0)
		return -1;
	uint64_t sz64 = 0;
	int ssz = 0;
	struct stat st;
	int r1 = ioctl(fd, BLKGETSIZE64, &sz64);
	int e1 = errno;
	int r2 = ioctl(fd, BLKSSZGET, &ssz);
	int e2 = errno;
	off_t end = lseek(fd, 0, SEEK_END);
	int r3 = fstat(fd, &st);
	say("size %s getsize64=%lld(%s) sszget=%d(%s) seekend=%lld fstat=%lld(%d) isblk=%d\n", dev,
	    r1 ? -1LL : (long long)sz64, r1 ? ename(e1) : "0", r2 ? -1 : ssz, r2 ? ename(e2) : "0",
	    (long long)end, r3 ? -1LL : (long long)st.st_size, r3, r3 ? -1 : (int)S_ISBLK(st.st_mode));
	close(fd);
	return 0;
}

static int do_write_sync(const char *dev, uint64_t size, uint64_t seed)
{
	if (do_fill(dev, size, seed, 1))
		return -1;
	say("synced\n");
	sleep(10);
	say("woke\n");
	return 0;
}

static void report(const char *what, ssize_t r)
{
	say("%s=%lld %s\n", what, (long long)r, r < 0 ? ename(errno) : "0");
}

static int do_past_end(const char *dev)
{
	int fd = open_dev(dev, O_RDWR);
	if (fd < 0)
		return -1;
	off_t s = lseek(fd, 0, SEEK_END);
	if (s <= 4096) {
		say("past-end: size %lld too small\n", (long long)s);
		close(fd);
		return -1;
	}
	memset(buf, 0xa5, 8192);
	errno = 0;
	report("pread_at_end", pread(fd, buf, 4096, s));
	report("pread_across_end", pread(fd, buf, 4096, s - 2048));
	report("pread_far", pread(fd, buf, 4096, s + (1LL << 30)));
	report("pread_huge", pread(fd, buf, 4096, INT64_MAX - 4096));
	report("pwrite_at_end", pwrite(fd, buf, 4096, s));
	report("pwrite_far", pwrite(fd, buf, 4096, s + (1LL << 30)));
	report("pwrite_huge", pwrite(fd, buf, 4096, INT64_MAX - 4096));
	blkpat_fill(buf, (uint64_t)s - 512, 4096, 99);
	report("pwrite_across_end", pwrite(fd, buf, 4096, s - 512));
	report("lseek_past", lseek(fd, s + 4096, SEEK_SET));
	report("read_past", read(fd, buf, 4096));
	report("pread_negative", pread(fd, buf, 4096, -4096));
	report("fsync", fsync(fd));
	close(fd);
	say("past-end done\n");
	return 0;
}

static int do_ro(const char *dev)
{
	int fd = open(dev, O_RDWR);
	if (fd < 0) {
		say("ro open-rdwr %s\n", ename(errno));
		fd = open_dev(dev, O_RDONLY);
		if (fd < 0)
			return -1;
		errno = 0;
		ssize_t w = write(fd, "x", 1);
		say("ro write-rdonly-fd=%lld %s\n", (long long)w, w < 0 ? ename(errno) : "0");
	} else {
		memset(buf, 0x5a, 4096);
		ssize_t w = pwrite(fd, buf, 4096, 0);
		say("ro pwrite=%lld %s\n", (long long)w, w < 0 ? ename(errno) : "0");
		int e = w < 0 ? 0 : fsync(fd);
		say("ro fsync-after=%d %s\n", e, e < 0 ? ename(errno) : "0");
	}
	ssize_t r = pread(fd, buf, 4096, 0);
	say("ro pread=%lld %s\n", (long long)r, r < 0 ? ename(errno) : "0");
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	int i = 1;
	while (i < argc) {
		const char *cmd = argv[i];
		int need = !strcmp(cmd, "fill") || !strcmp(cmd, "verify") || !strcmp(cmd, "write-sync") ? 3
			   : !strcmp(cmd, "size") || !strcmp(cmd, "past-end") || !strcmp(cmd, "ro") ? 1
			   : -1;
		if (need < 0 || i + need > argc - 1) {
			say("usage: blkio {fill|verify|write-sync} DEV SIZE SEED | {size|past-end|ro} DEV ...\n");
			return 2;
		}
		const char *dev = argv[i + 1];
		int r;
		if (!strcmp(cmd, "fill"))
			r = do_fill(dev, parse_size(argv[i + 2]), parse_size(argv[i + 3]), 0);
		else if (!strcmp(cmd, "verify"))
			r = do_verify(dev, parse_size(argv[i + 2]), parse_size(argv[i + 3]));
		else if (!strcmp(cmd, "write-sync"))
			r = do_write_sync(dev, parse_size(argv[i + 2]), parse_size(argv[i + 3]));
		else if (!strcmp(cmd, "size"))
			r = do_size(dev);
		else if (!strcmp(cmd, "past-end"))
			r = do_past_end(dev);
		else
			r = do_ro(dev);
		if (r)
			return 1;
		i += need + 1;
	}
	return 0;
}
