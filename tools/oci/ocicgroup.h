/*
 * ocicgroup.h: the container's cgroup (linux.cgroupsPath), joined by the container process before it
 * makes the VM, so guest RAM and the monitor's CPU are accounted to the container as a runc one's
 * are. Placed as runc's cgroupfs manager places it: on cgroup v2, ROOT/PATH; on v1, PATH under every
 * mounted hierarchy. Limits are not written: the guest's RAM is already the memory limit, and a
 * memory.max of exactly that would kill the monitor for its own few MiB.
 */
#ifndef OCI_OCICGROUP_H
#define OCI_OCICGROUP_H

#include <stdbool.h>
#include <stddef.h>

/* Where cgroup file systems are mounted: /sys/fs/cgroup (tests point it elsewhere). */
#define OCICGROUP_ROOT "/sys/fs/cgroup"

/* systemd's "slice:prefix:name" form, which needs systemd to place (not done: a warning, no join). */
bool ocicgroup_is_systemd(const char *path);

/*
 * Creates path (absolute, checked by ocispec: no '.' or '..' parts) under root and moves the calling
 * process into it. 0, or -errno with err set; -ENOENT when root holds no cgroup file system.
 */
int ocicgroup_join(const char *root, const char *path, char *err, size_t errlen);

/* Removes path's directories under root (the container process gone, they are empty); errors ignored. */
void ocicgroup_remove(const char *root, const char *path);

#endif
