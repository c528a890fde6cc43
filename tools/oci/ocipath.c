/* ocipath.c: rootfs-confined path resolution (openat2 RESOLVE_IN_ROOT) and execvp's PATH search inside a rootfs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ocipath.h"

/*
 * The kernel confines the walk (Linux 5.6): a component swapped for a
 * symlink while we look cannot lead out, which a userspace walk with
 * lstat + open would allow between its two calls.
 */
int ocipath_open(int rootfd, const char *path, int flags)
{
	/* openat2 refuses O_PATH with any flag but O_DIRECTORY, O_NOFOLLOW and O_CLOEXEC. */
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC | (flags & O_PATH ? 0 : O_NOCTTY)),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

/* fd opened for candidate when it is a regular file with an execute bit; else -EACCES / -ENOENT / -errno. */
static int path_try(int rootfd, const char *candidate)
{
	struct stat st;
	/* O_NONBLOCK: a FIFO planted at the name must not hang us before the check. */
	int fd = ocipath_open(rootfd, candidate, O_RDONLY | O_NONBLOCK);

	if (fd < 0)
		return fd == -ELOOP || fd == -ENOTDIR || fd == -EXDEV ? -ENOENT : fd;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111)) {
		close(fd);
		return -EACCES;
	}
	return fd;
}

/* dir + "/" + name into out, dir taken from cwd when relative. false when it does not fit. */
static bool path_join(char *out, size_t n, const char *cwd, const char *dir, size_t dlen, const char *name)
{
	int k;

	if (dlen == 0)
		k = snprintf(out, n, "%s/%s", cwd, name);
	else if (dir[0] == '/')
		k = snprintf(out, n, "%.*s/%s", (int)dlen, dir, name);
	else
		k = snprintf(out, n, "%s/%.*s/%s", cwd, (int)dlen, dir, name);
	return k >= 0 && (size_t)k < n;
}

int ocipath_find_exe(int rootfd, const char *arg0, const char *path_env, const char *cwd, char *found,
		     size_t foundlen, char *err, size_t errlen)
{
	int fd, seen = -ENOENT;

	if (strchr(arg0, '/')) {
		bool fits = arg0[0] == '/' ? (size_t)snprintf(found, foundlen, "%s", arg0) < foundlen
					   : path_join(found, foundlen, cwd, "", 0, arg0);
		if (!fits) {
			snprintf(err, errlen, "args[0] \"%.200s\": path too long", arg0);
			return -ENAMETOOLONG;
		}
		fd = path_try(rootfd, found);
		if (fd >= 0)
			return fd;
		snprintf(err, errlen, "args[0] \"%.200s\": %s inside the rootfs", arg0,
			 fd == -EACCES ? "not an executable regular file" : strerror(-fd));
		return fd;
	}
	if (!path_env)
		path_env = OCIPATH_DEFAULT_PATH;
	for (const char *p = path_env;;) {
		const char *e = strchr(p, ':');
		size_t dlen = e ? (size_t)(e - p) : strlen(p);

		if (path_join(found, foundlen, cwd, p, dlen, arg0)) {
			fd = path_try(rootfd, found);
			if (fd >= 0)
				return fd;
			if (fd != -ENOENT)
				seen = fd; /* as execvp: EACCES when some candidate existed but could not run */
		}
		if (!e)
			break;
		p = e + 1;
	}
	snprintf(err, errlen, "args[0] \"%.200s\": %s in PATH %.300s inside the rootfs", arg0,
		 seen == -EACCES ? "no executable regular file" : "not found", path_env);
	return seen;
}

int ocipath_mkdir_p(const char *path, mode_t mode)
{
	char p[PATH_MAX];

	if ((size_t)snprintf(p, sizeof(p), "%s", path) >= sizeof(p))
		return -ENAMETOOLONG;
	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, mode) < 0 && errno != EEXIST)
				return -errno;
			*s = c;
			if (!c)
				return 0;
		}
	}
}
