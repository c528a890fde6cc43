/* ocispec.h: an OCI bundle's config.json turned into ukvm-oci's run plan (what one microVM runs, and with what). */
#ifndef OCI_OCISPEC_H
#define OCI_OCISPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * config.json is hostile input (an image's entrypoint, env and mounts are
 * the image author's): a config larger than this, or with more strings
 * than the limits below, is refused before anything is built from it.
 * containerd's configs are a few KiB; the guest's boot info holds at most
 * 64 KiB of argv and env together (UKVM_FDT_MAX) anyway.
 */
#define OCISPEC_CONFIG_MAX (1u << 20)
#define OCISPEC_ARGS_MAX   1024  /* process.args entries */
#define OCISPEC_ENV_MAX    1024  /* process.env entries */
#define OCISPEC_MOUNTS_MAX 256   /* mounts entries */
#define OCISPEC_NS_MAX     16    /* linux.namespaces entries */
#define OCISPEC_STR_MAX    4095  /* bytes of any one path or string we keep */

/* The smallest guest ukvm boots (proto/ukvm_abi.h UKVM_MEM_MIN) and its granule. */
#define OCISPEC_MEM_MIN (8ull << 20)
#define OCISPEC_MEM_STEP (2ull << 20)
#define OCISPEC_MEM_MAX (64ull << 30)

/* A bind-mounted host path containerd adds (/etc/hosts, resolv.conf, hostname): packed at dest. */
struct ocispec_bind {
	char *src;  /* absolute host path */
	char *dest; /* absolute container path */
};

struct ocispec_plan {
	char *rootfs;      /* root.path, absolute (a relative one is taken from the bundle) */
	bool rootfs_ro;    /* root.readonly: the guest's copy is writable either way (its own RAM) */
	char **args;       /* process.args, NULL-terminated; args[0] as given (it becomes argv[0]) */
	size_t nargs;
	char **env;        /* process.env "K=V", NULL-terminated (may be empty) */
	size_t nenv;
	char *cwd;         /* process.cwd, absolute; "/" when absent */
	bool terminal;     /* process.terminal */
	uint64_t mem_size; /* guest RAM from linux.resources.memory.limit; 0: none given (ukvm's default) */
	struct ocispec_bind *binds; /* bind mounts of host paths, packed into the image */
	size_t nbinds;
	char **hidden;     /* destinations of the other mounts (proc, tmpfs, sysfs ...): left out of the rootfs */
	size_t nhidden;
	char *netns;       /* linux.namespaces' network path: joined at start, and the interface CNI put there
			      (if any) wired to the guest; NULL: none given */
	bool netns_new;    /* a network namespace without a path: the container process makes its own at create
			      (as runc does; `ctr run --cni` wires it before start); neither: the host's, no NIC */
	char *cgroup;      /* linux.cgroupsPath: absolute, or systemd's "slice:prefix:name"; NULL: none */
	char *annotations; /* the annotations object as compact JSON ("{}" when absent), for `state` */
	bool sandbox;      /* annotation io.kubernetes.cri.container-type = sandbox (a pod's pause container) */
};

/*
 * Parses config.json text (len bytes, need not be NUL-terminated) of the
 * bundle at bundle (absolute; relative root.path is taken from it) into
 * *plan. Checks every field it uses: types, absolute paths without ".."
 * parts where a path must stay put, no NUL inside strings, the limits
 * above. Touches no file. Returns 0, or -EINVAL (-E2BIG for a limit,
 * -ENOMEM) with one line naming the field in err, e.g.
 * "config.json: process.args[1] is not a string". *plan is then empty.
 */
int ocispec_parse(const char *json, size_t len, const char *bundle, struct ocispec_plan *plan, char *err,
		  size_t errlen);

/* Reads BUNDLE/config.json (a regular file of at most OCISPEC_CONFIG_MAX bytes) and parses it as above. */
int ocispec_load(const char *bundle, struct ocispec_plan *plan, char *err, size_t errlen);

/*
 * Guest RAM for a memory limit in bytes: rounded down to OCISPEC_MEM_STEP,
 * at most OCISPEC_MEM_MAX. Returns it, or 0 when limit is below
 * OCISPEC_MEM_MIN (too small for any guest: the caller refuses it).
 */
uint64_t ocispec_mem_for_limit(uint64_t limit);

/* The value of name in a "K=V" list (NULL-terminated), or NULL. The last one wins, as in execve's env. */
const char *ocispec_getenv(char *const *env, const char *name);

/* Frees what *plan holds and zeroes it; harmless on a zeroed plan. */
void ocispec_free(struct ocispec_plan *plan);

#endif
