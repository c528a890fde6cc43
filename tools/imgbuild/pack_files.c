/* pack_files.c: turns --file/--dir specs into the payload's file records, parents first, with the host files' modes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pack_int.h"
#include "ukvm_abi.h"

#define PK_PATH_MAX 4096
#define PK_NAME_MAX 255
#define PK_DEPTH_MAX 64 /* deeper host trees are refused: no unbounded recursion */

/*
 * Guest paths already recorded, to create each parent once and refuse
 * duplicates; an open-addressing hash of indexes into path[] so a tree of
 * many thousands of files costs no quadratic lookups.
 */
struct pk_seen {
	char **path;
	bool *is_dir;
	size_t n, cap;
	size_t *slot; /* index + 1 into path[], 0 = empty; nslots is a power of two */
	size_t nslots;
};

static size_t pk_hash(const char *p)
{
	size_t h = 14695981039346656037ull; /* FNV-1a */

	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return h;
}

static int pk_seen_find(const struct pk_seen *s, const char *path)
{
	if (s->nslots == 0)
		return -1;
	for (size_t i = pk_hash(path) & (s->nslots - 1);; i = (i + 1) & (s->nslots - 1)) {
		if (s->slot[i] == 0)
			return -1;
		if (strcmp(s->path[s->slot[i] - 1], path) == 0)
			return (int)(s->slot[i] - 1);
	}
}

static void pk_seen_slot(struct pk_seen *s, size_t idx)
{
	size_t i = pk_hash(s->path[idx]) & (s->nslots - 1);

	while (s->slot[i])
		i = (i + 1) & (s->nslots - 1);
	s->slot[i] = idx + 1;
}

static int pk_seen_add(struct pk_seen *s, const char *path, bool is_dir)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		char **p = realloc(s->path, cap * sizeof(*p));
		bool *d;

		if (p == NULL)
			return -ENOMEM;
		s->path = p;
		d = realloc(s->is_dir, cap * sizeof(*d));
		if (d == NULL)
			return -ENOMEM;
		s->is_dir = d;
		s->cap = cap;
	}
	if ((s->n + 1) * 2 > s->nslots) { /* keep the table at most half full */
		size_t nslots = s->nslots ? s->nslots * 2 : 64;
		size_t *slot = calloc(nslots, sizeof(*slot));

		if (slot == NULL)
			return -ENOMEM;
		free(s->slot);
		s->slot = slot;
		s->nslots = nslots;
		for (size_t i = 0; i < s->n; i++)
			pk_seen_slot(s, i);
	}
	s->path[s->n] = strdup(path);
	if (s->path[s->n] == NULL)
		return -ENOMEM;
	s->is_dir[s->n] = is_dir;
	pk_seen_slot(s, s->n++);
	return 0;
}

static void pk_seen_free(struct pk_seen *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->path[i]);
	free(s->path);
	free(s->is_dir);
	free(s->slot);
}

/* Absolute, no empty, "." or ".." components, bounded lengths. "/" itself is valid. */
static bool pk_guest_path_ok(const char *p)
{
	size_t len = strlen(p), comp = 0;

	if (p[0] != '/' || len >= PK_PATH_MAX)
		return false;
	if (len == 1)
		return true;
	if (p[len - 1] == '/')
		return false;
	for (const char *c = p + 1;; c++) {
		if (*c == '/' || *c == '\0') {
			const char *start = c - comp;

			if (comp == 0 || comp > PK_NAME_MAX || (comp == 1 && start[0] == '.') ||
			    (comp == 2 && start[0] == '.' && start[1] == '.'))
				return false;
			if (*c == '\0')
				return true;
			comp = 0;
		} else {
			comp++;
		}
	}
}

/* A packing's context: what it leaves out, where its notices go (pack.h), and where its records began in b. */
struct pk_walk {
	const struct pack_input *in;
	size_t start;
};

static bool pk_excluded(const struct pk_walk *w, const char *guest)
{
	for (size_t i = 0; i < w->in->nexclude; i++)
		if (strcmp(w->in->exclude[i], guest) == 0)
			return true;
	return false;
}

static void pk_warn(const struct pk_walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pk_warn(const struct pk_walk *w, const char *fmt, ...)
{
	char msg[PK_PATH_MAX + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (w->in->warn)
		w->in->warn(w->in->warn_ctx, msg);
	else
		fprintf(stderr, "ukvm-build: warning: %s\n", msg);
}

static int pk_record(struct pk_buf *b, const char *guest, uint32_t mode, const uint8_t *data, uint64_t size)
{
	struct ukvm_file_rec rec = {.mode = mode, .name_len = (uint32_t)strlen(guest) + 1, .size = size};

	if (pk_put(b, &rec, sizeof(rec)) < 0 || pk_put(b, guest, rec.name_len) < 0 ||
	    (size && pk_put(b, data, size) < 0) || pk_align(b, 8) < 0)
		return -ENOMEM;
	return 0;
}

/* Records every missing ancestor directory of guest (not "/" itself, which the guest always has). */
static int pk_parents(struct pk_buf *b, struct pk_seen *seen, const char *guest, char *err, size_t errlen)
{
	char tmp[PK_PATH_MAX];
	char *slash;

	snprintf(tmp, sizeof(tmp), "%s", guest);
	for (slash = strchr(tmp + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		int i;

		*slash = '\0';
		i = pk_seen_find(seen, tmp);
		if (i >= 0 && !seen->is_dir[i])
			return pk_fail(err, errlen, -EEXIST, "%s: parent %s is a file", guest, tmp);
		if (i < 0 && (pk_seen_add(seen, tmp, true) < 0 || pk_record(b, tmp, S_IFDIR | 0755, NULL, 0) < 0))
			return pk_fail(err, errlen, -ENOMEM, "out of memory");
		*slash = '/';
	}
	return 0;
}

/* Is there room for one more entry of size data bytes? Checked before a file is read, so a huge tree costs no reading. */
static int pk_room(const struct pk_walk *w, const struct pk_buf *b, const struct pk_seen *seen, const char *guest,
		   uint64_t size, char *err, size_t errlen)
{
	uint64_t max = w->in->files_max;

	if (seen->n >= PACK_ENTRIES_MAX)
		return pk_fail(err, errlen, -EMFILE, "%s: more than %d files, directories and links", guest,
			       PACK_ENTRIES_MAX);
	/* b->len - start and size are each below 2^62 (PK_MAX_INPUT bounds a file): no overflow. */
	if (max && (uint64_t)(b->len - w->start) + sizeof(struct ukvm_file_rec) + strlen(guest) + 8 + size > max)
		return pk_fail(err, errlen, -EFBIG, "%s: the files reach more than %llu bytes", guest,
			       (unsigned long long)max);
	return 0;
}

/* Packs the regular file name in dirfd (host names it in messages) as guest; nofollow inside --dir trees. */
static int pk_add_file(const struct pk_walk *w, struct pk_buf *b, struct pk_seen *seen, int dirfd, const char *name,
		       const char *host, bool nofollow, const char *guest, const struct stat *st, char *err,
		       size_t errlen)
{
	uint8_t *data;
	size_t len;
	int rc;

	if (pk_seen_find(seen, guest) >= 0)
		return pk_fail(err, errlen, -EEXIST, "%s: guest path packed twice", guest);
	if ((rc = pk_room(w, b, seen, guest, (uint64_t)st->st_size, err, errlen)) < 0)
		return rc;
	rc = pk_parents(b, seen, guest, err, errlen);
	if (rc < 0)
		return rc;
	rc = pk_read_file_at(dirfd, name, host, nofollow, &data, &len, err, errlen);
	if (rc < 0)
		return rc;
	/* The file may have grown since its stat. */
	rc = pk_room(w, b, seen, guest, len, err, errlen);
	if (rc < 0) {
		free(data);
		return rc;
	}
	rc = pk_seen_add(seen, guest, false);
	if (rc == 0)
		rc = pk_record(b, guest, S_IFREG | (st->st_mode & 07777), data, len);
	free(data);
	return rc < 0 ? pk_fail(err, errlen, rc, "out of memory") : 0;
}

/* Packs the symbolic link name in dirfd (host names it in messages) as guest: its target, never followed. */
static int pk_add_link(const struct pk_walk *w, struct pk_buf *b, struct pk_seen *seen, int dirfd, const char *name,
		       const char *host, const char *guest, char *err, size_t errlen)
{
	char target[PK_PATH_MAX];
	ssize_t len = readlinkat(dirfd, name, target, sizeof(target));
	int rc;

	if (len < 0)
		return pk_fail(err, errlen, -errno, "%s: %s", host, strerror(errno));
	if (len == 0 || len >= PK_PATH_MAX) /* the guest takes what symlink(2) takes */
		return pk_fail(err, errlen, -ENAMETOOLONG, "%s: link target too long", host);
	if (pk_seen_find(seen, guest) >= 0)
		return pk_fail(err, errlen, -EEXIST, "%s: guest path packed twice", guest);
	if ((rc = pk_room(w, b, seen, guest, (uint64_t)len, err, errlen)) < 0)
		return rc;
	rc = pk_parents(b, seen, guest, err, errlen);
	if (rc < 0)
		return rc;
	rc = pk_seen_add(seen, guest, false);
	if (rc == 0)
		rc = pk_record(b, guest, S_IFLNK | 0777, (const uint8_t *)target, (uint64_t)len);
	return rc < 0 ? pk_fail(err, errlen, rc, "out of memory") : 0;
}

static int pk_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entry names of the open directory dfd but "." and "..", sorted: 0 with *names and *n, or -errno. */
static int pk_dir_names(int dfd, char ***names, size_t *n)
{
	int fd = dup(dfd);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	char **v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *e;
	int rc = 0;

	if (d == NULL) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		return rc;
	}
	while ((errno = 0, e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			char **nv = realloc(v, ncap * sizeof(*nv));

			if (nv == NULL) {
				rc = -ENOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		if ((v[cnt] = strdup(e->d_name)) == NULL) {
			rc = -ENOMEM;
			break;
		}
		cnt++;
	}
	if (rc == 0 && errno)
		rc = -errno;
	closedir(d);
	if (rc < 0) {
		while (cnt)
			free(v[--cnt]);
		free(v);
		return rc;
	}
	/* Sorted: the same tree always gives the same image. */
	if (cnt)
		qsort(v, cnt, sizeof(*v), pk_name_cmp);
	*names = v;
	*n = cnt;
	return 0;
}

/*
 * Packs the directory open as dfd (host names it in messages) as guest, and
 * its tree. Entries are looked at and opened relative to their directory's
 * fd, never followed through a symlink: a symlink swapped into the tree
 * while it is packed cannot pull in a file from outside it.
 */
static int pk_add_dir(const struct pk_walk *w, struct pk_buf *b, struct pk_seen *seen, int dfd, const char *host,
		      const char *guest, const struct stat *st, int depth, char *err, size_t errlen)
{
	char **names = NULL;
	size_t n = 0, i;
	int rc = 0;

	if (depth > PK_DEPTH_MAX)
		return pk_fail(err, errlen, -ELOOP, "%s: directory tree deeper than %d", host, PK_DEPTH_MAX);
	if (strcmp(guest, "/") != 0) {
		int k = pk_seen_find(seen, guest);

		if (k >= 0 && !seen->is_dir[k])
			return pk_fail(err, errlen, -EEXIST, "%s: already packed as a file", guest);
		if (k < 0 && (rc = pk_room(w, b, seen, guest, 0, err, errlen)) < 0)
			return rc;
		rc = pk_parents(b, seen, guest, err, errlen);
		if (rc < 0)
			return rc;
		if (k < 0 && (pk_seen_add(seen, guest, true) < 0 ||
			      pk_record(b, guest, S_IFDIR | (st->st_mode & 07777), NULL, 0) < 0))
			return pk_fail(err, errlen, -ENOMEM, "out of memory");
	}
	rc = pk_dir_names(dfd, &names, &n);
	if (rc < 0)
		return pk_fail(err, errlen, rc, "%s: %s", host, strerror(-rc));
	for (i = 0; i < n && rc == 0; i++) {
		const char *name = names[i];
		char hpath[PK_PATH_MAX], gpath[PK_PATH_MAX];
		struct stat cst;

		if ((size_t)snprintf(hpath, sizeof(hpath), "%s/%s", host, name) >= sizeof(hpath) ||
		    (size_t)snprintf(gpath, sizeof(gpath), "%s/%s", strcmp(guest, "/") ? guest : "", name) >=
			    sizeof(gpath) || !pk_guest_path_ok(gpath)) {
			rc = pk_fail(err, errlen, -ENAMETOOLONG, "%s/%s: path too long or invalid", host, name);
			break;
		}
		if (pk_excluded(w, gpath))
			continue;
		if (fstatat(dfd, name, &cst, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = pk_fail(err, errlen, -errno, "%s: %s", hpath, strerror(errno));
			break;
		}
		if (S_ISDIR(cst.st_mode)) {
			int cfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (cfd < 0) {
				rc = pk_fail(err, errlen, -errno, "%s: %s", hpath, strerror(errno));
				break;
			}
			rc = pk_add_dir(w, b, seen, cfd, hpath, gpath, &cst, depth + 1, err, errlen);
			close(cfd);
		} else if (S_ISREG(cst.st_mode)) {
			rc = pk_add_file(w, b, seen, dfd, name, hpath, true, gpath, &cst, err, errlen);
		} else if (S_ISLNK(cst.st_mode)) {
			rc = pk_add_link(w, b, seen, dfd, name, hpath, gpath, err, errlen);
		} else { /* The archive holds files, directories and links: no FIFOs, sockets or devices. */
			pk_warn(w, "%s: not a regular file, directory or symbolic link, skipped", hpath);
		}
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* The top of a --dir spec: the path as given (a symlink the user names is followed), then pk_add_dir. */
static int pk_add_top_dir(const struct pk_walk *w, struct pk_buf *b, struct pk_seen *seen, const char *host,
			  const char *guest, const struct stat *st, char *err, size_t errlen)
{
	int dfd = open(host, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (dfd < 0)
		return pk_fail(err, errlen, -errno, "%s: %s", host, strerror(errno));
	rc = pk_add_dir(w, b, seen, dfd, host, guest, st, 0, err, errlen);
	close(dfd);
	return rc;
}

/*
 * Takes earlier records (pack_files' output) as packed: each checked as the
 * guest will (header and name in bounds, a valid absolute path, a known
 * type, its parent already there, no path twice), then appended whole.
 */
static int pk_base(struct pk_buf *b, struct pk_seen *seen, const uint8_t *base, size_t size, char *err, size_t errlen)
{
	size_t off = 0;

	while (off < size) {
		struct ukvm_file_rec rec;
		const char *name = (const char *)base + off + sizeof(rec);
		uint32_t type;
		int k;

		if (size - off < sizeof(rec))
			return pk_fail(err, errlen, -EINVAL, "file records: truncated at %zu", off);
		memcpy(&rec, base + off, sizeof(rec));
		type = rec.mode & S_IFMT;
		if (rec.name_len < 2 || rec.name_len > PK_PATH_MAX || rec.size > PK_MAX_INPUT ||
		    rec.name_len > size - off - sizeof(rec) || rec.size > size - off - sizeof(rec) - rec.name_len ||
		    name[rec.name_len - 1] != '\0' || strlen(name) != rec.name_len - 1 || !pk_guest_path_ok(name) ||
		    strcmp(name, "/") == 0 || (type != S_IFREG && type != S_IFDIR && type != S_IFLNK) ||
		    (type == S_IFDIR && rec.size != 0))
			return pk_fail(err, errlen, -EINVAL, "file records: a bad record at %zu", off);
		if (pk_seen_find(seen, name) >= 0)
			return pk_fail(err, errlen, -EINVAL, "file records: %s twice", name);
		const char *slash = strrchr(name, '/');
		if (slash != name) {
			char parent[PK_PATH_MAX];

			snprintf(parent, sizeof(parent), "%.*s", (int)(slash - name), name);
			k = pk_seen_find(seen, parent);
			if (k < 0 || !seen->is_dir[k])
				return pk_fail(err, errlen, -EINVAL, "file records: %s before its directory", name);
		}
		if (pk_seen_add(seen, name, type == S_IFDIR) < 0)
			return pk_fail(err, errlen, -ENOMEM, "out of memory");
		off += (sizeof(rec) + rec.name_len + rec.size + 7) & ~(size_t)7;
	}
	if (off != size)
		return pk_fail(err, errlen, -EINVAL, "file records: padding past the end");
	return pk_put(b, base, size) < 0 ? pk_fail(err, errlen, -ENOMEM, "out of memory") : 0;
}

int pk_files(struct pk_buf *b, const struct pack_input *in, char *err, size_t errlen)
{
	const struct pack_spec *specs = in->specs;
	size_t nspecs = in->nspecs;
	struct pk_walk w = {in, b->len};
	struct pk_seen seen = {0};
	size_t i;
	int rc = 0;

	if (in->files_base_size)
		rc = pk_base(b, &seen, in->files_base, in->files_base_size, err, errlen);
	if (rc == 0 && in->files_max && b->len - w.start > in->files_max)
		rc = pk_fail(err, errlen, -EFBIG, "the files reach more than %llu bytes",
			     (unsigned long long)in->files_max);
	for (i = 0; i < nspecs && rc == 0; i++) {
		const struct pack_spec *sp = &specs[i];
		char guest[PK_PATH_MAX];
		struct stat st;

		if (sp->guest) {
			snprintf(guest, sizeof(guest), "%s", sp->guest);
			/* "GUESTDIR/" names the same directory as "GUESTDIR". */
			while (sp->dir && strlen(guest) > 1 && guest[strlen(guest) - 1] == '/')
				guest[strlen(guest) - 1] = '\0';
		} else {
			const char *base = strrchr(sp->host, '/');

			snprintf(guest, sizeof(guest), "/%s", base ? base + 1 : sp->host);
		}
		if (!pk_guest_path_ok(guest) || (!sp->dir && strcmp(guest, "/") == 0)) {
			rc = pk_fail(err, errlen, -EINVAL,
				     "%s: guest path must be absolute without empty, '.' or '..' parts", guest);
			break;
		}
		if (stat(sp->host, &st) < 0) {
			rc = pk_fail(err, errlen, -errno, "%s: %s", sp->host, strerror(errno));
			break;
		}
		if (sp->dir && !S_ISDIR(st.st_mode))
			rc = pk_fail(err, errlen, -ENOTDIR, "%s: --dir needs a directory", sp->host);
		else if (!sp->dir && !S_ISREG(st.st_mode))
			rc = pk_fail(err, errlen, -EINVAL, "%s: --file needs a regular file", sp->host);
		else if (sp->dir)
			rc = pk_add_top_dir(&w, b, &seen, sp->host, guest, &st, err, errlen);
		else
			rc = pk_add_file(&w, b, &seen, AT_FDCWD, sp->host, sp->host, false, guest, &st, err, errlen);
	}
	pk_seen_free(&seen);
	return rc;
}

int pack_files(const struct pack_input *in, struct pack_result *out, char *err, size_t errlen)
{
	struct pk_buf b = {0};
	int rc;

	memset(out, 0, sizeof(*out));
	rc = pk_files(&b, in, err, errlen);
	if (rc < 0) {
		free(b.p);
		return rc;
	}
	out->image = b.p;
	out->size = b.len;
	return 0;
}

int pack_parse_spec(char *arg, bool dir, struct pack_spec *spec)
{
	char *colon = strrchr(arg, ':');

	spec->dir = dir;
	spec->host = arg;
	spec->guest = NULL;
	if (colon) {
		*colon = '\0';
		spec->guest = colon + 1;
	}
	return arg[0] == '\0' ? -EINVAL : 0;
}
