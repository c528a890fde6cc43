/*
 * jail.h: the jail's internals. Its API is public, in ukvm.h
 * (ukvm_jail_enter, ukvm_jail_free; docs/jail.md): ukvm-run --jail and
 * embedders call the same code.
 */
#ifndef VMM_JAIL_H
#define VMM_JAIL_H

#include "ukvm.h"

#define JAIL_ID_DEFAULT 65534 /* nobody / nogroup: struct ukvm_jail's uid/gid 0 */

/*
 * The mount point of the cgroup v1 hierarchy that holds path (want NULL), or
 * of the one with controller want: into mnt. 0 or -ENOENT (-errno).
 */
int jail_cg1_mount(const char *path, const char *want, char *mnt, size_t len);

#endif
