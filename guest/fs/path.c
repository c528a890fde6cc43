/* path.c: path resolution (absolute, relative, ".", "..", repeated and trailing slashes, symbolic links) and getcwd's reverse walk. */
#include <string.h>
#include "k.h"
#include "fs.h"

struct fs_node *fs_root;
struct fs_node *fs_cwd;

bool fs_name_is_dot(const char *name, size_t len)
{
	return (len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.');
}

bool fs_path_next(const char **p, const char **comp, size_t *len)
{
	const char *s = *p;
	while (*s == '/')
		s++;
	*comp = s;
	while (*s && *s != '/')
		s++;
	*len = (size_t)(s - *comp);
	*p = s;
	while (*s == '/')
		s++;
	return *s == '\0';
}

/* One step from dir along name[0..len). */
static int path_step(struct fs_node *dir, const char *name, size_t len, struct fs_node **out)
{
	if (!fs_is_dir(dir))
		return -ENOTDIR;
	if (len > LINUX_NAME_MAX)
		return -ENAMETOOLONG;
	if (fs_name_is_dot(name, len)) {
		/* "..": the root is its own parent; a removed directory has none. */
		struct fs_node *to = len == 1 || dir == fs_root ? dir : dir->parent;
		if (!to)
			return -ENOENT;
		*out = to;
		return 0;
	}
	struct fs_node *n = fs_dir_find(dir, name, len);
	if (!n)
		return -ENOENT;
	*out = n;
	return 0;
}

/*
 * Symbolic links followed during one resolution, across nested links as
 * Linux counts them (MAXSYMLINKS is a total since 4.2, not a nesting depth):
 * more is -ELOOP. It also bounds the recursion below.
 */
struct walk {
	unsigned links;
	struct fs_file *via; /* the fd's file when the last step jumped through /proc/self/fd/N */
};

static int walk_path(struct fs_node *start, const char *path, struct walk *w, bool follow, struct fs_node **out);

/* The node symlink link (held by dir) leads to: its target resolved from dir, itself followed to the end. */
static int walk_link(struct fs_node *dir, struct fs_node *link, struct walk *w, struct fs_node **out)
{
	if (++w->links > FS_MAX_LINKS)
		return -ELOOP;
	if (link->jump) {
		*out = link->jump;
		struct fs_file *f = link->jump_fd ? fs_fd_file(link->jump_fd - 1) : NULL;
		w->via = f && f->node == link->jump ? f : NULL;
		return 0;
	}
	/* Held while its text is walked: a directory remade on the way (procfs) may unlink it. */
	fs_node_get(link);
	int rc = walk_path(dir, link->link, w, true, out);
	fs_node_put(link);
	return rc;
}

static int walk_parent(struct fs_node *start, const char *path, struct walk *w, struct fs_last *out)
{
	if (path[0] == '\0')
		return -ENOENT;
	struct fs_node *cur = path[0] == '/' ? fs_root : start;
	const char *p = path, *comp;
	size_t clen;
	while (!fs_path_next(&p, &comp, &clen)) {
		struct fs_node *next;
		int rc = path_step(cur, comp, clen, &next);
		if (!rc && fs_is_link(next))
			rc = walk_link(cur, next, w, &next);
		if (rc)
			return rc;
		cur = next;
	}
	/* comp is the last component (empty only for "/" itself). */
	if (clen > LINUX_NAME_MAX)
		return -ENAMETOOLONG;
	if (!fs_is_dir(cur))
		return -ENOTDIR;
	*out = (struct fs_last){ .dir = cur, .name = comp, .len = clen, .slash = *p == '/' };
	return 0;
}

/* follow: a symlink as the last component is followed; a trailing slash follows it anyway (Linux: "link/" is the directory). */
static int walk_path(struct fs_node *start, const char *path, struct walk *w, bool follow, struct fs_node **out)
{
	struct fs_last l;
	struct fs_node *n;
	int rc = walk_parent(start, path, w, &l);
	if (rc)
		return rc;
	if (l.len == 0) {
		*out = l.dir; /* "/" */
		return 0;
	}
	w->via = NULL;
	rc = path_step(l.dir, l.name, l.len, &n);
	if (!rc && fs_is_link(n) && (follow || l.slash))
		rc = walk_link(l.dir, n, w, &n);
	if (rc)
		return rc;
	if (l.slash && !fs_is_dir(n))
		return -ENOTDIR;
	*out = n;
	return 0;
}

int fs_lookup_parent(struct fs_node *start, const char *path, struct fs_last *out)
{
	struct walk w = { 0 };
	return walk_parent(start, path, &w, out);
}

int fs_lookup(struct fs_node *start, const char *path, struct fs_node **out)
{
	struct walk w = { 0 };
	return walk_path(start, path, &w, true, out);
}

int fs_lookup_nofollow(struct fs_node *start, const char *path, struct fs_node **out)
{
	struct walk w = { 0 };
	return walk_path(start, path, &w, false, out);
}

int fs_lookup_via(struct fs_node *start, const char *path, bool follow, struct fs_node **out, struct fs_file **via)
{
	struct walk w = { 0 };
	int rc = walk_path(start, path, &w, follow, out);
	*via = rc ? NULL : w.via;
	return rc;
}

long fs_path_of(const struct fs_node *dir, char *buf, size_t size)
{
	/* Build right to left at the end of buf, then move it to the front. */
	if (size < 2)
		return -ERANGE;
	size_t pos = size - 1;
	buf[pos] = '\0';
	const struct fs_node *n = dir;
	while (n != fs_root) {
		if (!n->parent)
			return -ENOENT;
		const char *name = fs_dir_name_of(n->parent, n);
		if (!name)
			return -ENOENT;
		size_t len = strlen(name);
		if (len + 1 > pos)
			return -ERANGE;
		pos -= len;
		memcpy(buf + pos, name, len);
		buf[--pos] = '/';
		n = n->parent;
	}
	if (pos == size - 1)
		buf[--pos] = '/';
	size_t total = size - pos;
	memmove(buf, buf + pos, total);
	return (long)total;
}

/* Where n is named: the directory holding it and its index there, by a walk of the tree without recursion. */
static bool path_find(const struct fs_node *n, const struct fs_node **dir, uint32_t *idx)
{
	const struct fs_node *d = fs_root;
	uint32_t i = 0;
	for (;;) {
		if (i < d->nents) {
			const struct fs_node *c = d->ents[i].node;
			if (c == n) {
				*dir = d;
				*idx = i;
				return true;
			}
			if (fs_is_dir(c) && c->nents && c->parent == d) {
				d = c;
				i = 0;
			} else {
				i++;
			}
			continue;
		}
		if (d == fs_root || !d->parent)
			return false;
		const struct fs_node *up = d->parent;
		uint32_t j = 0;
		while (j < up->nents && up->ents[j].node != d)
			j++;
		d = up;
		i = j + 1;
	}
}

long fs_node_path(const struct fs_node *n, char *buf, size_t size)
{
	if (fs_is_dir(n))
		return fs_path_of(n, buf, size);
	const struct fs_node *dir;
	uint32_t idx;
	if (!path_find(n, &dir, &idx))
		return -ENOENT;
	long len = fs_path_of(dir, buf, size);
	if (len < 0)
		return len;
	const char *name = dir->ents[idx].name;
	size_t at = (size_t)len - 1, nlen = strlen(name), sep = dir != fs_root;
	if (at + sep + nlen + 1 > size)
		return -ERANGE;
	if (sep)
		buf[at++] = '/';
	memcpy(buf + at, name, nlen + 1);
	return (long)(at + nlen + 1);
}

bool fs_is_ancestor(const struct fs_node *d, const struct fs_node *a)
{
	for (const struct fs_node *n = a; n; n = n->parent)
		if (n == d)
			return true;
	return false;
}
