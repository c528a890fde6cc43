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

#include "ocipack.h"
#include "ocipath.h"
#include "pack.h"

/* Mount points a container gets from its runtime, never from its image; the guest kernel makes its own /dev. */
static const char *const pack_system_dirs[] = { "/proc", "/sys", "/dev" };
#define PACK_NSYS (sizeof(pack_system_dirs) / sizeof(pack_system_dirs[0]))

struct pack_walk {
	const char *const *exclude;
	size_t nexclude;
	uint64_t bytes;
	size_t entries;
};

static bool pack_excluded(const struct pack_walk *w, const char *guest)
{
	for (size_t i = 0; i < w->nexclude; i++)
		if (strcmp(w->exclude[i], guest) == 0)
			return true;
	return false;
}

/* Adds up the regular files of the tree at dfd (guest path guest) as the packer will see them: no symlink followed. */
static int pack_size(struct pack_walk *w, int dfd, const char *guest, int depth)
{
	int fd = dup(dfd), rc = 0;
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	if (depth > OCIPACK_DEPTH_MAX) {
		closedir(d);
		return -ELOOP;
	}
	while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
		char gpath[4096];
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (++w->entries > OCIPACK_ENTRIES_MAX) {
			rc = -EMFILE;
			break;
		}
		if ((size_t)snprintf(gpath, sizeof(gpath), "%s/%s", strcmp(guest, "/") ? guest : "", e->d_name) >=
		    sizeof(gpath))
			continue; /* the packer refuses it with its own message */
		if (pack_excluded(w, gpath) || fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISREG(st.st_mode)) {
			w->bytes += (uint64_t)st.st_size;
		} else if (S_ISDIR(st.st_mode)) {
			int cfd = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd >= 0) {
				rc = pack_size(w, cfd, gpath, depth + 1);
				close(cfd);
			}
		}
	}
	if (rc == 0 && errno)
		rc = -errno;
	closedir(d);
	return rc;
}

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

static void pack_warn(const struct ocipack_args *a, const char *fmt, const char *s1, const char *s2)
{
	char msg[8400];

	if (!a->warn)
		return;
	snprintf(msg, sizeof(msg), fmt, s1, s2);
	a->warn(a->warn_ctx, msg);
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

int ocipack_build(const struct ocipack_args *a, char *err, size_t errlen)
{
	const struct ocispec_plan *p = a->plan;
	size_t nexcl = PACK_NSYS + p->nhidden + p->nbinds, nspecs = 0;
	const char **excl = calloc(nexcl, sizeof(*excl));
	struct pack_spec *specs = calloc(p->nbinds + 2, sizeof(*specs));
	char found[4096], app[64], perr[8400];
	struct pack_result res = { 0 };
	struct stat st;
	int rootfd = -1, exefd = -1, rc;

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
	specs[nspecs++] = (struct pack_spec){ p->rootfs, "/", true };
	struct pack_walk w = { .exclude = excl, .nexclude = nexcl };
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
		if (S_ISREG(st.st_mode)) {
			w.bytes += (uint64_t)st.st_size;
		} else {
			int dfd = open(b->src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd < 0 || (rc = pack_size(&w, dfd, b->dest, 0)) < 0) {
				rc = dfd < 0 ? -errno : rc;
				if (dfd >= 0)
					close(dfd);
				snprintf(err, errlen, "bind mount source %.2000s: %s", b->src, strerror(-rc));
				goto out;
			}
			close(dfd);
		}
	}
	w.nexclude = nexcl;
	if ((rc = pack_size(&w, rootfd, "/", 0)) < 0) {
		snprintf(err, errlen, "root.path %.2000s: %s", p->rootfs,
			 rc == -EMFILE ? "more than 200000 entries" : rc == -ELOOP ? "deeper than 64 directories"
										    : strerror(-rc));
		goto out;
	}
	if (fstat(exefd, &st) == 0)
		w.bytes += (uint64_t)st.st_size; /* the program rides again as the app */
	if (w.bytes > a->cap) {
		rc = -EFBIG;
		snprintf(err, errlen,
			 "rootfs %.2000s: %llu MiB of files, more than the %llu MiB this container's image may hold "
			 "(half its memory): give it more memory (linux.resources.memory.limit) or a smaller image",
			 p->rootfs, (unsigned long long)((w.bytes + (1 << 20) - 1) >> 20),
			 (unsigned long long)(a->cap >> 20));
		goto out;
	}
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
				 .warn_ctx = a->warn_ctx };
	if ((rc = pack_build(&in, &res, perr, sizeof(perr))) < 0) {
		/* The packer names the app by its fd: say which program it was. */
		snprintf(err, errlen, "packing the image (program %.1000s): %.3000s", found, perr);
		goto out;
	}
	if ((rc = pack_write(a->image, res.image, res.size, perr, sizeof(perr))) < 0)
		snprintf(err, errlen, "%.3000s", perr);
out:
	pack_result_free(&res);
	if (exefd >= 0)
		close(exefd);
	if (rootfd >= 0)
		close(rootfd);
	free(excl);
	free(specs);
	return rc;
}
