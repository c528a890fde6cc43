/* ocipack.h: a container's rootfs, its bind-mounted files and its program packed into one ukvm image at create. */
#ifndef OCI_OCIPACK_H
#define OCI_OCIPACK_H

#include <stddef.h>
#include <stdint.h>

#include "ocispec.h"

struct ocipack_args {
	const struct ocispec_plan *plan;
	const char *kernel;    /* the guest kernel ELF */
	const char *image;     /* where the image goes (written atomically) */
	const char *empty_dir; /* an empty host directory: stands for a process.cwd the rootfs lacks */
	uint64_t cap;          /* most bytes of files (rootfs, binds, program) one image may carry */
	/* Notices about what was left out (symlinks, devices, sockets, mounts the guest has no use for). */
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
	/* What the image cache did (hit, not cacheable and why), with warn_ctx; may be NULL. */
	void (*note)(void *ctx, const char *msg);
	const char *cache_dir; /* the rootfs image cache (ocicache.h); NULL: none */
	uint64_t cache_max;    /* bytes the cache may keep */
	const char *mountinfo; /* where the rootfs mount is looked up for its key; NULL: /proc/self/mountinfo */
};

/*
 * Finds args[0] in the rootfs (ocipath_find_exe), checks it is an ELF
 * program, then packs, within cap bytes (checked before each file is
 * read): the rootfs at / without /proc, /sys, /dev and the destinations of
 * the plan's other mounts (its records from the cache when its key is
 * certain, and kept there after a walk); each bind-mounted file or
 * directory at its destination (over the rootfs's own); the program as the
 * app, named after args[0]. A cached and a walked rootfs give the same
 * image byte for byte. Writes the image. Returns 0, or -errno with one line
 * in err, e.g. "rootfs /x/rootfs: files of more than the 64 MiB this
 * container's image may hold (half its memory): give it more memory ...".
 */
int ocipack_build(const struct ocipack_args *a, char *err, size_t errlen);

#endif
