/* path.c: path resolution (absolute, relative, ".", "..", repeated and trailing slashes) and getcwd's reverse walk. */
#include <string.h>
#include "k.h"
#include "fs.h"

struct fs_node *fs_root;
struct fs_node *fs_cwd;

static bool path_is_dir(const struct fs_node *n)
{
	return (n->mode & S_IFMT) == S_IFDIR;
}

/* One step from dir along name[0..len). */
static int path_step(struct fs_node *dir, const char *name, size_t len, struct fs_node **out)
{
	if (!path_is_dir(dir))
		return -ENOTDIR;
	if (len > LINUX_NAME_MAX)
		return -ENAMETOOLONG;
	if (len == 1 && name[0] == '.') {
		*out = dir;
		return 0;
	}
	if (len == 2 && name[0] == '.' && name[1] == '.') {
		if (dir == fs_root) {
			*out = dir;
			return 0;
		}
		if (!dir->parent)
			return -ENOENT; /* dir was removed */
		*out = dir->parent;
		return 0;
	}
	struct fs_node *n = fs_dir_find(dir, name, len);
	if (!n)
		return -ENOENT;
	*out = n;
	return 0;
}

int fs_lookup_parent(struct fs_node *start, const char *path, struct fs_node **dir,
		     const char **name, size_t *len, bool *slash)
{
	if (path[0] == '\0')
		return -ENOENT;
	struct fs_node *cur = path[0] == '/' ? fs_root : start;
	const char *p = path;
	for (;;) {
		while (*p == '/')
			p++;
		const char *comp = p;
		while (*p && *p != '/')
			p++;
		size_t clen = (size_t)(p - comp);
		const char *q = p;
		while (*q == '/')
			q++;
		if (*q == '\0') {
			/* comp is the last component (empty only for "/" itself). */
			if (clen > LINUX_NAME_MAX)
				return -ENAMETOOLONG;
			if (!path_is_dir(cur))
				return -ENOTDIR;
			*dir = cur;
			*name = comp;
			*len = clen;
			*slash = *p == '/';
			return 0;
		}
		int rc = path_step(cur, comp, clen, &cur);
		if (rc)
			return rc;
	}
}

int fs_lookup(struct fs_node *start, const char *path, struct fs_node **out)
{
	struct fs_node *dir, *n;
	const char *name;
	size_t len;
	bool slash;
	int rc = fs_lookup_parent(start, path, &dir, &name, &len, &slash);
	if (rc)
		return rc;
	if (len == 0) {
		*out = dir; /* "/" */
		return 0;
	}
	rc = path_step(dir, name, len, &n);
	if (rc)
		return rc;
	if (slash && !path_is_dir(n))
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
