/* ocicgroup.c: joining and removing a container's cgroup, v2 or v1 (ocicgroup.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ocicgroup.h"
#include "ocipath.h"

bool ocicgroup_is_systemd(const char *path)
{
	return path[0] != '/' && strchr(path, ':') != NULL;
}

/* mkdir -p of base + path, mode 0755. */
static int cg_mkdirs(const char *base, const char *path)
{
	char p[PATH_MAX];

	if ((size_t)snprintf(p, sizeof(p), "%s%s", base, path) >= sizeof(p))
		return -ENAMETOOLONG;
	return ocipath_mkdir_p(p, 0755);
}

/* Writes "0" (the writer itself) to DIR/cgroup.procs. */
static int cg_enter(const char *base, const char *path)
{
	char p[PATH_MAX];

	if ((size_t)snprintf(p, sizeof(p), "%s%s/cgroup.procs", base, path) >= sizeof(p))
		return -ENAMETOOLONG;
	int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = write(fd, "0", 1) == 1 ? 0 : -errno;
	close(fd);
	return rc;
}

/*
 * Calls fn(base, path) for the v2 root, or else for each v1 hierarchy under root (a real directory
 * holding cgroup.procs: the cpu,cpuacct-style links name one twice; the hybrid "unified" one is
 * not where runc puts a v1 container). 0, the first error, or -ENOENT for none.
 */
static int cg_each(const char *root, const char *path, int (*fn)(const char *, const char *))
{
	char base[PATH_MAX];

	if ((size_t)snprintf(base, sizeof(base), "%s/cgroup.controllers", root) < sizeof(base) &&
	    access(base, F_OK) == 0)
		return fn(root, path);
	DIR *d = opendir(root);
	if (!d)
		return -errno;
	int rc = -ENOENT;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "unified") ||
		    (size_t)snprintf(base, sizeof(base), "%s/%s", root, e->d_name) >= sizeof(base) ||
		    lstat(base, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		char procs[PATH_MAX + 16];
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", base);
		if (access(procs, F_OK) != 0)
			continue;
		if ((rc = fn(base, path)) < 0)
			break;
	}
	closedir(d);
	return rc;
}

/* Reads path (at most len bytes): the byte count, or -1. */
static ssize_t cg_read(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len);

	if (fd >= 0)
		close(fd);
	return n;
}

/* Copies parent/name into dir/name when dir's is empty (a new v1 cpuset cgroup has no CPUs or nodes). */
static int cg_inherit(const char *parent, const char *dir, const char *name)
{
	char p[PATH_MAX + 32], buf[4096];
	ssize_t n;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if ((n = cg_read(p, buf, sizeof(buf))) < 0)
		return -errno;
	if (n > 1) /* already set ("\n" alone: empty) */
		return 0;
	char pp[PATH_MAX + 32];
	snprintf(pp, sizeof(pp), "%s/%s", parent, name);
	if ((n = cg_read(pp, buf, sizeof(buf))) <= 0)
		return -EIO;
	int fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC);
	int rc = fd < 0 ? -errno : write(fd, buf, (size_t)n) == n ? 0 : -errno;
	if (fd >= 0)
		close(fd);
	return rc;
}

/* v1's cpuset: every level made for path inherits cpus and mems, top down, as runc's cpuset group does. */
static int cg_cpuset(const char *base, const char *path)
{
	char dir[PATH_MAX];
	int rc = 0;

	if ((size_t)snprintf(dir, sizeof(dir), "%s%s", base, path) >= sizeof(dir))
		return -ENAMETOOLONG;
	for (char *s = dir + strlen(base) + 1; rc == 0; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s, parent[PATH_MAX];
		*s = '\0';
		snprintf(parent, sizeof(parent), "%s", dir);
		*strrchr(parent, '/') = '\0';
		if ((rc = cg_inherit(parent, dir, "cpuset.cpus")) == 0)
			rc = cg_inherit(parent, dir, "cpuset.mems");
		*s = c;
		if (!c)
			break;
	}
	return rc;
}

static int cg_join_one(const char *base, const char *path)
{
	char p[PATH_MAX + 32];
	int rc = cg_mkdirs(base, path);

	snprintf(p, sizeof(p), "%s/cpuset.mems", base);
	if (!rc && access(p, F_OK) == 0) {
		snprintf(p, sizeof(p), "%s/cgroup.controllers", base);
		if (access(p, F_OK) != 0)
			rc = cg_cpuset(base, path);
	}
	return rc ? rc : cg_enter(base, path);
}

int ocicgroup_join(const char *root, const char *path, char *err, size_t errlen)
{
	int rc = cg_each(root, path, cg_join_one);

	if (rc < 0)
		snprintf(err, errlen, "joining cgroup %.2000s under %s: %s", path, root,
			 rc == -ENOENT ? "no cgroup file system there" : strerror(-rc));
	return rc;
}

/* rmdir of base + path, the leaf only (runc leaves the parents too). */
static int cg_rmdir(const char *base, const char *path)
{
	char p[PATH_MAX];

	if ((size_t)snprintf(p, sizeof(p), "%s%s", base, path) >= sizeof(p))
		return 0;
	/* The container process's exit may not have left the cgroup yet: a few tries, 1 s at most. */
	for (int i = 0; i < 100 && rmdir(p) < 0 && errno == EBUSY; i++)
		usleep(10000);
	return 0;
}

void ocicgroup_remove(const char *root, const char *path)
{
	(void)cg_each(root, path, cg_rmdir);
}
