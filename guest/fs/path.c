/* path.c: path resolution (absolute, relative, ".", "..", repeated and trailing slashes) and getcwd's reverse walk. */
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

int fs_lookup_parent(struct fs_node *start, const char *path, struct fs_last *out)
{
	if (path[0] == '\0')
		return -ENOENT;
	struct fs_node *cur = path[0] == '/' ? fs_root : start;
	const char *p = path, *comp;
	size_t clen;
	while (!fs_path_next(&p, &comp, &clen)) {
		int rc = path_step(cur, comp, clen, &cur);
		if (rc)
			return rc;
	}
	/* comp is the last component (empty only for "/" itself). */
	if (clen > LINUX_NAME_MAX)
		return -ENAMETOOLONG;
	if (!fs_is_dir(cur))
		return -ENOTDIR;
	*out = (struct fs_last){ .dir = cur, .name = comp, .len = clen, .slash = *p == '/' };
	return 0;
}

int fs_lookup(struct fs_node *start, const char *path, struct fs_node **out)
{
	struct fs_last l;
	struct fs_node *n;
	int rc = fs_lookup_parent(start, path, &l);
	if (rc)
		return rc;
	if (l.len == 0) {
		*out = l.dir; /* "/" */
		return 0;
	}
	rc = path_step(l.dir, l.name, l.len, &n);
	if (rc)
		return rc;
	if (l.slash && !fs_is_dir(n))
		return -ENOTDIR;
	*out = n;
	return 0;
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

bool fs_is_ancestor(const struct fs_node *d, const struct fs_node *a)
{
	for (const struct fs_node *n = a; n; n = n->parent)
		if (n == d)
			return true;
	return false;
}
