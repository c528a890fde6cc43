/* ocipath.h: paths inside a container's rootfs, resolved as the container would see them and never outside it. */
#ifndef OCI_OCIPATH_H
#define OCI_OCIPATH_H

#include <stddef.h>
#include <sys/types.h>

/* PATH when process.env has none (runc's and Docker's default). */
#define OCIPATH_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/*
 * Opens path inside the rootfs open as rootfd (an O_PATH or O_DIRECTORY fd)
 * with open flags: the rootfs is the root for absolute symlinks and ".."
 * never climbs above it (openat2 RESOLVE_IN_ROOT), magic links (/proc/...)
 * are refused. A relative path starts at the rootfs too. Returns the fd or
 * -errno.
 */
int ocipath_open(int rootfd, const char *path, int flags);

/* mkdir -p of an absolute host path, each directory made with mode: 0 or -errno. */
int ocipath_mkdir_p(const char *path, mode_t mode);

/*
 * Finds the program args[0] names the way execvp would inside the
 * container: a name with a '/' as it is (relative to cwd, absolute), a
 * bare name in each directory of path_env (NULL: OCIPATH_DEFAULT_PATH;
 * an empty or relative entry is taken from cwd), the first regular file
 * with an execute bit winning. Returns an O_RDONLY fd of it and its
 * container path (before symlinks) in found[foundlen], or -errno with one
 * line in err ("args[0] \"x\" not found in PATH ... inside the rootfs").
 */
int ocipath_find_exe(int rootfd, const char *arg0, const char *path_env, const char *cwd, char *found,
		     size_t foundlen, char *err, size_t errlen);

#endif
