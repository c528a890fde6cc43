/*
 * jail.h: ukvm-run --jail: the monitor confined before it reads any guest
 * input, as Firecracker's jailer does (docs/jail.md): new mount, PID, IPC,
 * UTS and network namespaces, an empty read-only root holding only the
 * image and disks, an unprivileged uid/gid without capabilities,
 * no_new_privs, resource limits and optionally a cgroup v2.
 */
#ifndef VMM_JAIL_H
#define VMM_JAIL_H

#include <stddef.h>
#include <sys/types.h>

#include "ukvm.h"

#define JAIL_ID_DEFAULT 65534 /* nobody / nogroup */

struct jail_opts {
	uid_t uid;              /* the monitor's uid and gid inside (JAIL_ID_DEFAULT: nobody) */
	gid_t gid;
	const char *cgroup;     /* a cgroup v2 directory to create (if missing) and join; NULL: none */
};

/* Where the jail keeps what it rewrote in the config (paths inside the new root). */
struct jail {
	struct ukvm_disk disks[UKVM_MAX_DISKS];
	char disk_paths[UKVM_MAX_DISKS][16];
	struct ukvm_host *host;
};

/*
 * Confines the process (root only). It forks: the parent stays outside,
 * passes SIGINT/SIGTERM/SIGHUP on, and returns the child's exit code (> 0, or
 * 0 for a child that exited 0: *in_child tells them apart); the child, pid 1
 * of the new PID namespace, returns 0 with *in_child set, confined, cfg
 * rewritten to the jail's paths (image /image, disks /disk0 ...) and
 * cfg->host opened (/dev/kvm) before the root went away. Refuses what it
 * cannot jail yet (NICs, snapshots). Returns -errno with one line in err.
 */
int jail_enter(const struct jail_opts *o, struct jail *j, struct ukvm_config *cfg, int *in_child, char *err,
	       size_t errlen);

#endif
