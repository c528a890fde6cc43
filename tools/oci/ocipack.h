/* ocipack.h: a container's rootfs, its bind-mounted files and its program packed into one ukvm image at create. */
#ifndef OCI_OCIPACK_H
#define OCI_OCIPACK_H

#include <stddef.h>
#include <stdint.h>

#include "ocispec.h"

/* Entries of a rootfs walked for its size: a tree of more is refused (the walk must be bounded). */
#define OCIPACK_ENTRIES_MAX 200000
#define OCIPACK_DEPTH_MAX 64

struct ocipack_args {
	const struct ocispec_plan *plan;
	const char *kernel;    /* the guest kernel ELF */
	const char *image;     /* where the image goes (written atomically) */
	const char *empty_dir; /* an empty host directory: stands for a process.cwd the rootfs lacks */
	uint64_t cap;          /* most bytes of files (rootfs, binds, program) one image may carry */
	/* Notices about what was left out (symlinks, devices, sockets, mounts the guest has no use for). */
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
};

/*
 * Finds args[0] in the rootfs (ocipath_find_exe), checks it is an ELF
 * program, sums what would be packed against cap, then packs: the rootfs
 * at / without /proc, /sys, /dev and the destinations of the plan's other
 * mounts; each bind-mounted file or directory at its destination (over
 * the rootfs's own); the program as the app, named after args[0]. Writes
 * the image. Returns 0, or -errno with one line in err, e.g. "rootfs
 * /x/rootfs: 300 MiB of files, more than the 64 MiB this container's image
 * may hold (half its memory): give it more memory or a smaller image".
 */
int ocipack_build(const struct ocipack_args *a, char *err, size_t errlen);

#endif
