/* ocipack.c: the create-time image of a container: rootfs + bind mounts + program, bounded, through ukvm-build's packer. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ocicache.h"
#include "ocipack.h"
#include "ocipath.h"
#include "pack.h"

/* Mount points a container gets from its runtime, never from its image; the guest kernel makes its own /dev. */
static const char *const pack_system_dirs[] = { "/proc", "/sys", "/dev" };
#define PACK_NSYS (sizeof(pack_system_dirs) / sizeof(pack_system_dirs[0]))

/* A destination the guest keeps for itself: under /proc, /sys or /dev. */
static bool pack_is_system(const char *dest)
{
	for (size_t i = 0; i < PACK_NSYS; i++) {
		size_t n = strlen(pack_system_dirs[i]);
		if (strncmp(dest, pack_system_dirs[i], n) == 0 && (dest[n] == '\0' || dest[n] == '/'))
			return true;
	}
	return false;
}

static void pack_say(void (*say)(void *, const char *), void *ctx, const char *fmt, const char *s1, const char *s2)
{
	char msg[8400];

	if (!say)
		return;
	snprintf(msg, sizeof(msg), fmt, s1, s2);
	say(ctx, msg);
}

static void pack_warn(const struct ocipack_args *a, const char *fmt, const char *s1, const char *s2)
{
	pack_say(a->warn, a->warn_ctx, fmt, s1, s2);
}

/* What the cache did: information, not a warning. */
static void pack_note(const struct ocipack_args *a, const char *fmt, const char *s1, const char *s2)
{
	pack_say(a->note, a->warn_ctx, fmt, s1, s2);
}

/* The program must be an ELF file: a script's interpreter would need a fork and exec the guest does not have. */
static int pack_check_elf(int fd, const char *arg0, char *err, size_t errlen)
{
	unsigned char m[4] = { 0 };

	if (pread(fd, m, sizeof(m), 0) < 2 || memcmp(m, "\x7f" "ELF", 4) != 0) {
		snprintf(err, errlen, "args[0] \"%.200s\": %s", arg0,
			 m[0] == '#' && m[1] == '!'
				 ? "a script (#!): ukvm runs one static Linux ELF program, set the entrypoint to one"
				 : "not an ELF program");
		return -ENOEXEC;
	}
	return 0;
}

/* The records of p's rootfs without excl: kept in the cache, or walked (and kept when their key is certain). */
static int pack_rootfs(const struct ocipack_args *a, const char *const *excl, size_t nexcl, uint64_t max,
		       struct pack_result *out, char *err, size_t errlen)
{
	const char *rootfs = a->plan->rootfs;
	char *key = a->cache_dir ? malloc(OCICACHE_KEY_MAX) : NULL, why[1200], perr[8400];
	bool keyed = false;
	int rc;

	if (a->cache_dir) {
		keyed = key && ocicache_key(a->mountinfo ? a->mountinfo : "/proc/self/mountinfo", rootfs, excl, nexcl, key, OCICACHE_KEY_MAX, why,
					    sizeof(why)) == 0;
		if (keyed && ocicache_get(a->cache_dir, key, &out->image, &out->size) == 0) {
			pack_note(a, "rootfs %s: packed files taken from the image cache %s", rootfs, a->cache_dir);
			rc = out->size > max ? -EFBIG : 0;
			goto out;
		}
		if (!keyed)
			pack_note(a, "rootfs %s: not cached: %s", rootfs, key ? why : "out of memory");
	}
	struct pack_spec spec = { rootfs, "/", true };
	struct pack_input in = { .specs = &spec, .nspecs = 1, .exclude = excl, .nexclude = nexcl, .warn = a->warn,
				 .warn_ctx = a->warn_ctx, .files_max = max };
	if ((rc = pack_files(&in, out, perr, sizeof(perr))) < 0) {
		if (rc != -EFBIG)
			snprintf(err, errlen, "root.path %.2000s: %.3000s", rootfs, perr);
		goto out;
	}
	if (keyed && (rc = ocicache_put(a->cache_dir, key, out->image, out->size, a->cache_max)) < 0)
		pack_note(a, "rootfs %s: not kept in the image cache: %s", rootfs,
			  rc == -EPERM ? "its directory is not this user's alone" : strerror(-rc));
	rc = 0;
out:
	free(key);
	return rc;
}

int ocipack_build(const struct ocipack_args *a, char *err, size_t errlen)
{
	const struct ocispec_plan *p = a->plan;
	size_t nexcl = PACK_NSYS + p->nhidden + p->nbinds, nspecs = 0;
	const char **excl = calloc(nexcl, sizeof(*excl));
	struct pack_spec *specs = calloc(p->nbinds + 1, sizeof(*specs));
	char found[4096], app[64], perr[8400];
	struct pack_result res = { 0 }, base = { 0 };
	struct stat st;
	uint64_t max;
	int rootfd = -1, exefd = -1, rc;

	err[0] = '\0';
	if (!excl || !specs) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	nexcl = 0;
	for (size_t i = 0; i < PACK_NSYS; i++)
		excl[nexcl++] = pack_system_dirs[i];
	for (size_t i = 0; i < p->nhidden; i++)
		excl[nexcl++] = p->hidden[i];
	rootfd = open(p->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		rc = -errno;
		snprintf(err, errlen, "root.path %.3000s: %s", p->rootfs, strerror(errno));
		goto out;
	}
	exefd = ocipath_find_exe(rootfd, p->args[0], ocispec_getenv(p->env, "PATH"), p->cwd, found, sizeof(found), err,
				 errlen);
	if (exefd < 0) {
		rc = exefd;
		goto out;
	}
	if ((rc = pack_check_elf(exefd, p->args[0], err, errlen)))
		goto out;
	for (size_t i = 0; i < p->nbinds; i++) {
		const struct ocispec_bind *b = &p->binds[i];
		if (pack_is_system(b->dest)) {
			pack_warn(a, "mount %s on %s: the guest has its own, not packed", b->src, b->dest);
			continue;
		}
		if (stat(b->src, &st) < 0) {
			rc = -errno;
			snprintf(err, errlen, "bind mount source %.2000s: %s", b->src, strerror(errno));
			goto out;
		}
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
			pack_warn(a, "mount %s on %s: not a regular file or directory, not packed", b->src, b->dest);
			continue;
		}
		excl[nexcl++] = b->dest;
		specs[nspecs++] = (struct pack_spec){ b->src, b->dest, S_ISDIR(st.st_mode) };
	}
	/* The program rides again as the app: what is left of the cap is for the records. */
	max = fstat(exefd, &st) == 0 && (uint64_t)st.st_size < a->cap ? a->cap - (uint64_t)st.st_size : 1;
	if ((rc = pack_rootfs(a, excl, nexcl, max, &base, err, errlen)) < 0)
		goto out;
	/* runc makes a missing cwd; here it is an empty directory in the image. */
	int cfd = ocipath_open(rootfd, p->cwd, O_PATH | O_DIRECTORY);
	if (cfd >= 0)
		close(cfd);
	else if (cfd == -ENOENT)
		specs[nspecs++] = (struct pack_spec){ a->empty_dir, p->cwd, true };
	else {
		rc = cfd;
		snprintf(err, errlen, "process.cwd %.2000s: %s inside the rootfs", p->cwd, strerror(-cfd));
		goto out;
	}
	char exe_path[64];
	const char *slash = strrchr(p->args[0], '/');
	snprintf(exe_path, sizeof(exe_path), "/proc/self/fd/%d", exefd);
	snprintf(app, sizeof(app), "%.63s", slash ? slash + 1 : p->args[0]);
	struct pack_input in = { .kernel_path = a->kernel, .app_path = exe_path, .specs = specs, .nspecs = nspecs,
				 .app_name = app, .exclude = excl, .nexclude = nexcl, .warn = a->warn,
				 .warn_ctx = a->warn_ctx, .files_base = base.image, .files_base_size = base.size,
				 .files_max = max };
	if ((rc = pack_build(&in, &res, perr, sizeof(perr))) < 0) {
		/* The packer names the app by its fd: say which program it was. */
		if (rc != -EFBIG)
			snprintf(err, errlen, "packing the image (program %.1000s): %.3000s", found, perr);
		goto out;
	}
	if ((rc = pack_write(a->image, res.image, res.size, perr, sizeof(perr))) < 0)
		snprintf(err, errlen, "%.3000s", perr);
out:
	if (rc == -EFBIG && !err[0])
		snprintf(err, errlen,
			 "rootfs %.2000s: files of more than the %llu MiB this container's image may hold (half its "
			 "memory): give it more memory (linux.resources.memory.limit) or a smaller image",
			 p->rootfs, (unsigned long long)(a->cap >> 20));
	pack_result_free(&res);
	pack_result_free(&base);
	if (exefd >= 0)
		close(exefd);
	if (rootfd >= 0)
		close(rootfd);
	free(excl);
	free(specs);
	return rc;
}
