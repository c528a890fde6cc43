/* pack_util.c: the packer's growable buffer, error formatting, whole-file reader and default kernel. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pack_int.h"

long long pk_put(struct pk_buf *b, const void *data, size_t n)
{
	size_t need, off = b->len;

	if (__builtin_add_overflow(b->len, n, &need) || need > (1ull << 40))
		return -ENOMEM;
	if (need > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *p;

		while (cap < need)
			cap *= 2;
		p = realloc(b->p, cap);
		if (p == NULL)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	if (data)
		memcpy(b->p + off, data, n);
	else
		memset(b->p + off, 0, n);
	b->len = need;
	return (long long)off;
}

int pk_align(struct pk_buf *b, size_t a)
{
	size_t pad = (a - (b->len & (a - 1))) & (a - 1);

	return pk_put(b, NULL, pad) < 0 ? -ENOMEM : 0;
}

int pk_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

int pk_read_file(const char *path, uint8_t **data, size_t *len, char *err, size_t errlen)
{
	return pk_read_file_at(AT_FDCWD, path, path, false, data, len, err, errlen);
}

int pk_read_file_at(int dirfd, const char *name, const char *path, bool nofollow, uint8_t **data, size_t *len,
		    char *err, size_t errlen)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	int fd, rc;

	/*
	 * O_NONBLOCK: opening a FIFO must not wait for a writer (the type is
	 * checked on the opened fd next); it changes nothing for a regular file.
	 */
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (nofollow ? O_NOFOLLOW : 0));
	if (fd < 0)
		return pk_fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		rc = pk_fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
		goto err_fd;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = pk_fail(err, errlen, -EINVAL, "%s: not a regular file", path);
		goto err_fd;
	}
	if ((unsigned long long)st.st_size > PK_MAX_INPUT) {
		rc = pk_fail(err, errlen, -EFBIG, "%s: larger than %llu bytes", path, PK_MAX_INPUT);
		goto err_fd;
	}
	/* aligned_alloc so ELF headers can be read in place (elf_parse wants 8-byte alignment). */
	buf = aligned_alloc(16, ((size_t)st.st_size + 16) & ~(size_t)15);
	if (buf == NULL) {
		rc = pk_fail(err, errlen, -ENOMEM, "%s: out of memory", path);
		goto err_fd;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = pk_fail(err, errlen, -errno, "%s: read: %s", path, strerror(errno));
			goto err_buf;
		}
		if (n == 0) {
			rc = pk_fail(err, errlen, -EIO, "%s: file shrank while reading", path);
			goto err_buf;
		}
		got += (size_t)n;
	}
	close(fd);
	*data = buf;
	*len = got;
	return 0;

err_buf:
	free(buf);
err_fd:
	close(fd);
	return rc;
}

int pack_write(const char *path, const void *buf, size_t len, char *err, size_t errlen)
{
	size_t plen = strlen(path), done = 0;
	char *tmp = malloc(plen + 16);
	int fd, rc;

	if (tmp == NULL)
		return pk_fail(err, errlen, -ENOMEM, "%s: out of memory", path);
	snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = pk_fail(err, errlen, -errno, "%s: cannot create temporary file: %s", path, strerror(errno));
		goto err_tmp;
	}
	if (fchmod(fd, 0644) < 0)
		goto err_io;
	while (done < len) {
		ssize_t n = write(fd, (const uint8_t *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto err_io;
		done += (size_t)n;
	}
	if (fsync(fd) < 0)
		goto err_io;
	if (close(fd) < 0) {
		fd = -1;
		goto err_io;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto err_io;
	free(tmp);
	return 0;

err_io:
	rc = pk_fail(err, errlen, -errno, "%s: write: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
err_tmp:
	free(tmp);
	return rc;
}

/* The kernel next to this executable (ukvm-build, ukvm-oci): installed or in the build tree, pack.h. */
int pack_default_kernel(char *out, size_t n)
{
	static const char *const rel[] = {"../lib/ukvm/ukvm-kernel.elf", "guest/ukvm-kernel.elf"};
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const char *dir;
	size_t i;

	if (len < 0)
		return -errno;
	exe[len] = '\0';
	dir = dirname(exe); /* cuts exe in place: call once */
	for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++)
		if ((size_t)snprintf(out, n, "%s/%s", dir, rel[i]) < n && access(out, R_OK) == 0)
			return 0;
	return -ENOENT;
}
