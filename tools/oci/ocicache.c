/* ocicache.c: a rootfs's packed file records kept across creates (ocicache.h), keyed by containerd's immutable layers. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ocicache.h"
#include "ocipath.h"
#include "ukvm_abi.h"

#define CACHE_MOUNTINFO_MAX (4u << 20) /* a mount table bigger than this is not read: no key */
#define CACHE_FIELDS 64
#define CACHE_ENTRIES_MAX 4096 /* entries looked at by one eviction */
static const char cache_magic[8] = { 'U', 'K', 'V', 'M', 'O', 'C', 'I', '1' };

/* An entry: magic, key length, data length, the key, the records. */
struct cache_hdr {
	char magic[8];
	uint32_t key_len, pad;
	uint64_t data_len;
};

static int cache_why(char *reason, size_t rlen, int rc, const char *fmt, const char *s)
{
	snprintf(reason, rlen, fmt, s);
	return rc;
}

/* Reads a whole small file into a NUL-terminated malloc'ed buffer: 0 or -errno (-EFBIG beyond max). */
static int cache_slurp(const char *path, size_t max, char **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0, cap = 65536;
	char *buf = NULL;
	int rc = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		if (len + 1 >= cap || !buf) {
			char *nb = len + 1 >= max ? NULL : realloc(buf, cap = buf ? cap * 2 : cap);
			if (!nb) {
				rc = len + 1 >= max ? -EFBIG : -ENOMEM;
				break;
			}
			buf = nb;
		}
		ssize_t r = read(fd, buf + len, cap - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			rc = -errno;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

/* mountinfo's octal escapes (\040 space, \011, \012, \134) undone in place; false on a malformed escape. */
static bool cache_unescape(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (*r != '\\') {
			*w++ = *r;
			continue;
		}
		if (r[1] < '0' || r[1] > '3' || r[2] < '0' || r[2] > '7' || r[3] < '0' || r[3] > '7')
			return false;
		*w++ = (char)((r[1] - '0') << 6 | (r[2] - '0') << 3 | (r[3] - '0'));
		r += 3;
	}
	*w = '\0';
	return true;
}

/* Points *lower and *upper at the lowerdir= and upperdir= values of an option list it cuts in place (NULL: absent). */
static void cache_options(char *opts, char **lower, char **upper)
{
	char *save = NULL;

	*lower = *upper = NULL;
	for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		if (strncmp(o, "lowerdir=", 9) == 0)
			*lower = o + 9;
		else if (strncmp(o, "upperdir=", 9) == 0)
			*upper = o + 9;
	}
}

/*
 * The super options of the mount at mnt (the last such line: the top of a
 * stack), copied into opts, with its fstype: 0, -ENOENT, or -ENOTSUP for a
 * mount of a subdirectory (a bind of part of a file system).
 */
static int cache_mount(char *table, const char *mnt, char *fstype, size_t flen, char *opts, size_t olen)
{
	int rc = -ENOENT;

	for (char *line = table, *next; line && *line; line = next) {
		char *f[CACHE_FIELDS], *save = NULL;
		size_t n = 0, dash = 0;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		for (char *t = strtok_r(line, " ", &save); t && n < CACHE_FIELDS; t = strtok_r(NULL, " ", &save))
			f[n++] = t;
		for (size_t i = 6; i < n && !dash; i++)
			if (strcmp(f[i], "-") == 0)
				dash = i;
		if (!dash || dash + 3 >= n || !cache_unescape(f[4]) || strcmp(f[4], mnt) != 0)
			continue;
		rc = strcmp(f[3], "/") == 0 ? 0 : -ENOTSUP;
		snprintf(fstype, flen, "%s", f[dash + 1]);
		if ((size_t)snprintf(opts, olen, "%s", f[dash + 3]) >= olen)
			rc = -ENOTSUP;
	}
	return rc;
}

/* Is the directory at path empty? 1, 0, or -errno. */
static int cache_dir_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int empty = 1;

	if (!d)
		return -errno;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			empty = 0;
			break;
		}
	closedir(d);
	return empty;
}

/* Appends to key[*off]: false when it no longer fits. */
static bool cache_add(char *key, size_t keylen, size_t *off, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static bool cache_add(char *key, size_t keylen, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(key + *off, keylen - *off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= keylen - *off)
		return false;
	*off += (size_t)n;
	return true;
}

/* The lower layers (colon-separated absolute paths) as key lines: 0, or -ENOTSUP with reason. */
static int cache_lowers(char *lowers, char *key, size_t keylen, size_t *off, char *reason, size_t rlen)
{
	for (char *l = lowers, *colon; l; l = colon) {
		struct stat st;

		colon = strchr(l, ':');
		if (colon)
			*colon++ = '\0';
		/* Relative layers (containerd's form for long option strings) name nothing certain from here. */
		if (l[0] != '/')
			return cache_why(reason, rlen, -ENOTSUP, "lower layer \"%.200s\" is not an absolute path", l);
		if (stat(l, &st) < 0 || !S_ISDIR(st.st_mode))
			return cache_why(reason, rlen, -ENOTSUP, "lower layer %.1000s is not a directory here", l);
		if (!cache_add(key, keylen, off, "lower %zu:%s %llu %llu %lld.%09ld\n", strlen(l), l,
			       (unsigned long long)st.st_dev, (unsigned long long)st.st_ino, (long long)st.st_ctim.tv_sec,
			       st.st_ctim.tv_nsec))
			return cache_why(reason, rlen, -ENOTSUP, "%s", "too many lower layers");
	}
	return 0;
}

int ocicache_key(const char *mountinfo, const char *rootfs, const char *const *excl, size_t nexcl, char *key,
		 size_t keylen, char *reason, size_t rlen)
{
	char mnt[PATH_MAX], fstype[64], *table = NULL, *opts = NULL, *lowers, *upper;
	size_t off = 0;
	int rc;

	if (!realpath(rootfs, mnt))
		return cache_why(reason, rlen, -errno, "root.path: %s", strerror(errno));
	if ((rc = cache_slurp(mountinfo, CACHE_MOUNTINFO_MAX, &table)) < 0)
		return cache_why(reason, rlen, rc, "the mount table: %s", strerror(-rc));
	size_t olen = strlen(table) + 1; /* no line's options are longer than the table */
	opts = malloc(olen);
	rc = opts ? cache_mount(table, mnt, fstype, sizeof(fstype), opts, olen) : -ENOMEM;
	if (rc < 0) {
		rc = cache_why(reason, rlen, -ENOTSUP,
			       rc == -ENOENT ? "root.path %.1000s is not a mount (a plain directory can change)"
					     : "root.path %.1000s is part of a mounted file system",
			       mnt);
		goto out;
	}
	if (strcmp(fstype, "overlay") != 0) {
		rc = cache_why(reason, rlen, -ENOTSUP, "root.path is a %s mount, not containerd's overlay", fstype);
		goto out;
	}
	/* Escaped commas or colons in a layer path: not worth the ambiguity. */
	if (strchr(opts, '\\')) {
		rc = cache_why(reason, rlen, -ENOTSUP, "%s", "escaped characters in the overlay's layer paths");
		goto out;
	}
	cache_options(opts, &lowers, &upper);
	if (!lowers) {
		rc = cache_why(reason, rlen, -ENOTSUP, "%s", "the overlay names no lower layer");
		goto out;
	}
	/* The container's own layer: a file in it (a restarted container's) is content no key names. */
	if (upper && (rc = cache_dir_empty(upper)) != 1) {
		rc = cache_why(reason, rlen, -ENOTSUP, rc == 0 ? "the upper layer %.1000s is not empty"
							     : "the upper layer %.1000s cannot be read here", upper);
		goto out;
	}
	rc = cache_add(key, keylen, &off, "ukvm-oci rootfs records, abi %u\n", UKVM_ABI_VERSION)
		     ? cache_lowers(lowers, key, keylen, &off, reason, rlen)
		     : cache_why(reason, rlen, -ENOTSUP, "%s", "no room for the key");
	for (size_t i = 0; i < nexcl && rc == 0; i++)
		if (!cache_add(key, keylen, &off, "exclude %zu:%s\n", strlen(excl[i]), excl[i]))
			rc = cache_why(reason, rlen, -ENOTSUP, "%s", "too many excluded paths");
out:
	free(opts);
	free(table);
	return rc;
}

/* dir/HASH.rec, HASH a 64-bit FNV-1a of the key: the entry itself holds the whole key, so a collision is a miss. */
static int cache_path(const char *dir, const char *key, char *out, size_t n)
{
	uint64_t h = 14695981039346656037ull;

	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return (size_t)snprintf(out, n, "%s/%016llx.rec", dir, (unsigned long long)h) < n ? 0 : -ENAMETOOLONG;
}

static int cache_read_all(int fd, void *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t r = pread(fd, buf, len, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		buf = (char *)buf + r;
		len -= (size_t)r;
		off += r;
	}
	return 0;
}

int ocicache_get(const char *dir, const char *key, uint8_t **data, size_t *len)
{
	char path[PATH_MAX], *k = NULL;
	size_t klen = strlen(key);
	struct cache_hdr h;
	struct stat st;
	uint8_t *d = NULL;
	int fd, rc;

	if ((rc = cache_path(dir, key, path, sizeof(path))) < 0)
		return rc;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	rc = -EINVAL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || cache_read_all(fd, &h, sizeof(h), 0) < 0 ||
	    memcmp(h.magic, cache_magic, sizeof(h.magic)) != 0 || h.key_len > OCICACHE_KEY_MAX ||
	    h.data_len > (uint64_t)st.st_size || (uint64_t)st.st_size != sizeof(h) + h.key_len + h.data_len)
		goto bad;
	rc = -ENOENT;
	if (h.key_len != klen || !(k = malloc(klen ? klen : 1)) || cache_read_all(fd, k, klen, sizeof(h)) < 0 ||
	    memcmp(k, key, klen) != 0)
		goto out; /* another key with the same hash: a miss, the entry is someone's */
	rc = -ENOMEM;
	if (!(d = malloc(h.data_len ? h.data_len : 1)))
		goto out;
	rc = -EINVAL;
	if (cache_read_all(fd, d, h.data_len, (off_t)(sizeof(h) + klen)) < 0)
		goto bad;
	futimens(fd, NULL); /* used now: the last to be evicted */
	*data = d;
	*len = h.data_len;
	d = NULL;
	rc = 0;
	goto out;
bad:
	unlink(path);
	rc = -ENOENT;
out:
	free(d);
	free(k);
	close(fd);
	return rc;
}

static int cache_write_all(int fd, const void *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		buf = (const char *)buf + w;
		len -= (size_t)w;
	}
	return 0;
}

/* The cache directory, made if missing; refused when it is not this user's alone to write. */
static int cache_dir_ok(const char *dir)
{
	struct stat st;
	int rc = ocipath_mkdir_p(dir, 0700);

	if (rc < 0)
		return rc;
	if (lstat(dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
		return -EPERM;
	return 0;
}

struct cache_ent {
	char name[32];
	struct timespec used;
	uint64_t size;
};

static int cache_ent_cmp(const void *a, const void *b)
{
	const struct cache_ent *x = a, *y = b;

	if (x->used.tv_sec != y->used.tv_sec)
		return x->used.tv_sec < y->used.tv_sec ? -1 : 1;
	return x->used.tv_nsec < y->used.tv_nsec ? -1 : x->used.tv_nsec > y->used.tv_nsec;
}

/* Removes the least recently used entries (never keep, just written) until at most max bytes remain. */
static void cache_evict(const char *dir, const char *keep, uint64_t max)
{
	struct cache_ent *v = calloc(CACHE_ENTRIES_MAX, sizeof(*v));
	DIR *d = opendir(dir);
	struct dirent *e;
	uint64_t total = 0;
	size_t n = 0;

	if (!v || !d)
		goto out;
	while ((e = readdir(d)) != NULL && n < CACHE_ENTRIES_MAX) {
		struct stat st;
		size_t l = strlen(e->d_name);

		if (l != 20 || strcmp(e->d_name + 16, ".rec") != 0 ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		memcpy(v[n].name, e->d_name, l + 1);
		v[n].used = st.st_mtim;
		v[n].size = (uint64_t)st.st_size;
		total += v[n++].size;
	}
	qsort(v, n, sizeof(*v), cache_ent_cmp);
	for (size_t i = 0; i < n && total > max; i++)
		if (strcmp(v[i].name, keep) != 0 && unlinkat(dirfd(d), v[i].name, 0) == 0)
			total -= v[i].size;
out:
	if (d)
		closedir(d);
	free(v);
}

int ocicache_put(const char *dir, const char *key, const uint8_t *data, size_t len, uint64_t max)
{
	struct cache_hdr h = { .key_len = (uint32_t)strlen(key), .data_len = len };
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	int fd, rc;

	memcpy(h.magic, cache_magic, sizeof(h.magic));
	if (strlen(key) > OCICACHE_KEY_MAX)
		return -EINVAL;
	if (sizeof(h) + h.key_len + (uint64_t)len > max)
		return -EFBIG;
	if ((rc = cache_dir_ok(dir)) < 0 || (rc = cache_path(dir, key, path, sizeof(path))) < 0)
		return rc;
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if ((rc = cache_write_all(fd, &h, sizeof(h))) == 0 && (rc = cache_write_all(fd, key, h.key_len)) == 0)
		rc = cache_write_all(fd, data, len);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return rc;
	}
	cache_evict(dir, strrchr(path, '/') + 1, max);
	return 0;
}
