/* kvmcheck.h: opens /dev/kvm and says exactly why when it cannot be used. */
#ifndef VMM_KVMCHECK_H
#define VMM_KVMCHECK_H

#include <stddef.h>

/*
 * Opens the KVM device dev ("/dev/kvm"; tests pass other paths to reach the
 * error paths without KVM) and checks its API version and the capabilities
 * ukvm needs. Returns the fd, or -errno with one line naming dev in err:
 * not found, permission denied (with the group to join), wrong API version
 * or a missing capability (-ENOTSUP).
 */
int kvmcheck_open(const char *dev, char *err, size_t errlen);

/*
 * Looks gid up in group_file (/etc/group format) and copies its name into
 * name (NUL-terminated, truncated to len). Returns 0, or -ENOENT when the
 * file has no such group or cannot be read. A plain parser rather than
 * getgrgid: ukvm-run is linked statically and glibc's NSS would need its
 * shared libraries at run time.
 */
int kvmcheck_group_name(const char *group_file, unsigned gid, char *name, size_t len);

#endif
