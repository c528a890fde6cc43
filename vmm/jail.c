/* jail.c: ukvm-run --jail: namespaces, an empty root, no privileges, limits, before any guest input is read. */
#include "jail.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Address space beyond guest RAM: the monitor's code, heap, thread stacks, the rings (measured ~60 MiB). */
#define JAIL_AS_SLACK (1ull << 30)
/* Open files: KVM's (3), eventfds (2 per queue), the ring, disks (<= 32), stdio: ~100 at most. */
#define JAIL_NOFILE 256
/* cgroup memory.max beyond guest RAM. */
#define JAIL_CG_MEM_SLACK (512ull << 20)

static pid_t jail_child;

static void jail_forward(int sig)
{
	if (jail_child > 0)
		kill(jail_child, sig);
}

static int jail_fail(char *err, size_t errlen, int e, const char *what, const char *path)
{
	snprintf(err, errlen, "--jail: %s%s%s: %s", what, path ? " " : "", path ? path : "", strerror(e));
	return -e;
}

static int jail_write(const char *dir, const char *file, const char *val)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", dir, file);
	int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, val, strlen(val));
	int e = n < 0 ? errno : 0;
	close(fd);
	return -e;
}

/* Creates (if missing) and joins the cgroup v2 dir: memory.max guest RAM + slack, cpu.max two CPUs (vCPU, event thread). */
static int jail_cgroup(const char *dir, uint64_t mem, char *err, size_t errlen)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return jail_fail(err, errlen, errno, "cgroup", dir);
	char v[64];
	int r;
	snprintf(v, sizeof(v), "%llu", (unsigned long long)(mem + JAIL_CG_MEM_SLACK));
	if ((r = jail_write(dir, "memory.max", v)))
		return jail_fail(err, errlen, -r, "cgroup memory.max (memory controller enabled in the parent?)", dir);
	if ((r = jail_write(dir, "cpu.max", "200000 100000")))
		return jail_fail(err, errlen, -r, "cgroup cpu.max (cpu controller enabled in the parent?)", dir);
	snprintf(v, sizeof(v), "%d", (int)getpid());
	if ((r = jail_write(dir, "cgroup.procs", v)))
		return jail_fail(err, errlen, -r, "joining cgroup", dir);
	return 0;
}

/* Bind-mounts host file src onto root/name (created), read-only when ro, never suid/dev/exec. */
static int jail_bind(const char *root, const char *name, const char *src, bool ro, char *err, size_t errlen)
{
	char dst[4096];
	snprintf(dst, sizeof(dst), "%s/%s", root, name);
	int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return jail_fail(err, errlen, errno, "creating", dst);
	close(fd);
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
		return jail_fail(err, errlen, errno, "bind-mounting", src);
	unsigned long fl = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC | (ro ? MS_RDONLY : 0);
	if (mount(NULL, dst, NULL, fl, NULL) < 0)
		return jail_fail(err, errlen, errno, "remounting", dst);
	return 0;
}

/* The empty root: a small tmpfs with the image and disks, pivoted into; the host's tree unmounted. */
static int jail_root(struct jail *j, struct ukvm_config *cfg, char *err, size_t errlen)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return jail_fail(err, errlen, errno, "making mounts private", NULL);
	char root[] = "/tmp/ukvm-jail-XXXXXX";
	if (!mkdtemp(root))
		return jail_fail(err, errlen, errno, "mkdtemp", root);
	int r;
	if (mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,nr_inodes=64,mode=0755") < 0) {
		r = jail_fail(err, errlen, errno, "mounting a tmpfs on", root);
		rmdir(root);
		return r;
	}
	if ((r = jail_bind(root, "image", cfg->image, true, err, errlen)))
		return r;
	cfg->image = "/image";
	for (unsigned i = 0; i < cfg->ndisks; i++) {
		snprintf(j->disk_paths[i], sizeof(j->disk_paths[i]), "disk%u", i);
		if ((r = jail_bind(root, j->disk_paths[i], cfg->disks[i].path, cfg->disks[i].ro, err, errlen)))
			return r;
		j->disks[i] = cfg->disks[i];
		snprintf(j->disk_paths[i], sizeof(j->disk_paths[i]), "/disk%u", i);
		j->disks[i].path = j->disk_paths[i];
	}
	cfg->disks = cfg->ndisks ? j->disks : NULL;
	char old[4096];
	snprintf(old, sizeof(old), "%s/.old", root);
	if (mkdir(old, 0700) < 0)
		return jail_fail(err, errlen, errno, "mkdir", old);
	if (syscall(SYS_pivot_root, root, old) < 0)
		return jail_fail(err, errlen, errno, "pivot_root into", root);
	if (chdir("/") < 0)
		return jail_fail(err, errlen, errno, "chdir", "/");
	char host_dir[4096];
	snprintf(host_dir, sizeof(host_dir), "/.old%s", root);
	rmdir(host_dir); /* the host's empty mkdtemp directory, now that nothing is mounted on it */
	if (umount2("/.old", MNT_DETACH) < 0)
		return jail_fail(err, errlen, errno, "unmounting the host's tree", NULL);
	if (rmdir("/.old") < 0)
		return jail_fail(err, errlen, errno, "rmdir", "/.old");
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return jail_fail(err, errlen, errno, "remounting the root read-only", NULL);
	return 0;
}

/* No capability left in any set, no way to gain one back, the unprivileged ids. */
static int jail_drop(const struct jail_opts *o, char *err, size_t errlen)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return jail_fail(err, errlen, errno, "no_new_privs", NULL);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return jail_fail(err, errlen, errno, "clearing ambient capabilities", NULL);
	for (int c = 0; c < 64; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return jail_fail(err, errlen, errno, "dropping the bounding set", NULL);
	if (setgroups(0, NULL) < 0 || setresgid(o->gid, o->gid, o->gid) < 0)
		return jail_fail(err, errlen, errno, "setting the group ids", NULL);
	/* From uid 0 to another without SECBIT_KEEP_CAPS: the kernel clears permitted and effective. */
	if (setresuid(o->uid, o->uid, o->uid) < 0)
		return jail_fail(err, errlen, errno, "setting the user ids", NULL);
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) < 0)
		return jail_fail(err, errlen, errno, "capget", NULL);
	for (int i = 0; i < 2; i++)
		if (d[i].effective || d[i].permitted || d[i].inheritable)
			return jail_fail(err, errlen, EPERM, "capabilities still held after dropping them", NULL);
	return 0;
}

static int jail_limits(const struct ukvm_config *cfg, char *err, size_t errlen)
{
	(void)cfg; /* sanitizer builds leave the address space alone */
	struct rlimit nofile = { JAIL_NOFILE, JAIL_NOFILE }, core = { 0, 0 };
	if (setrlimit(RLIMIT_NOFILE, &nofile) < 0 || setrlimit(RLIMIT_CORE, &core) < 0)
		return jail_fail(err, errlen, errno, "setrlimit", NULL);
#ifndef UKVM_SANITIZER /* ASan reserves terabytes of shadow address space */
	uint64_t mem = cfg->mem_size ? cfg->mem_size : 128ull << 20;
	struct rlimit as = { mem + JAIL_AS_SLACK, mem + JAIL_AS_SLACK };
	if (setrlimit(RLIMIT_AS, &as) < 0)
		return jail_fail(err, errlen, errno, "setrlimit RLIMIT_AS", NULL);
#endif
	return 0;
}

/* Parent: waits for the jailed monitor, passing stop signals on; its exit code, as a shell reports it. */
static int jail_wait(pid_t pid)
{
	jail_child = pid;
	struct sigaction sa = { .sa_handler = jail_forward };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return UKVM_EXIT_INTERNAL;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int jail_enter(const struct jail_opts *o, struct jail *j, struct ukvm_config *cfg, int *in_child, char *err,
	       size_t errlen)
{
	*in_child = 0;
	memset(j, 0, sizeof(*j));
	if (geteuid() != 0)
		return jail_fail(err, errlen, EPERM, "needs root (namespaces, mounts, then it drops to --jail-uid)",
				 NULL);
	if (cfg->nnets || cfg->snapshot_when_idle || cfg->restore || cfg->host)
		return jail_fail(err, errlen, ENOTSUP, "NICs and snapshots are not jailed yet", NULL);
	if (!cfg->image)
		return jail_fail(err, errlen, EINVAL, "no image", NULL);
	if (cfg->ndisks > UKVM_MAX_DISKS)
		return jail_fail(err, errlen, EINVAL, "too many disks", NULL);
	int r;
	uint64_t mem = cfg->mem_size ? cfg->mem_size : 128ull << 20;
	if (o->cgroup && (r = jail_cgroup(o->cgroup, mem, err, errlen)))
		return r;
	/* No NIC: nothing needs the host's network, so none at all (a new namespace has only a down lo). */
	if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET) < 0)
		return jail_fail(err, errlen, errno, "unshare", NULL);
	fflush(NULL);
	pid_t pid = fork(); /* the child is pid 1 of the new PID namespace */
	if (pid < 0)
		return jail_fail(err, errlen, errno, "fork", NULL);
	if (pid > 0)
		return jail_wait(pid);
	*in_child = 1;
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* the monitor never outlives the ukvm-run that waits for it */
	if (sethostname("ukvm", 4) < 0)
		return jail_fail(err, errlen, errno, "sethostname", NULL);
	/* /dev/kvm (and the CPUID cache in /dev/shm) before the host's tree goes away. */
	char herr[256];
	if (ukvm_host_open_flags(&j->host, cfg->no_cpuid_cache ? UKVM_HOST_NO_CPUID_CACHE : 0, herr, sizeof(herr))) {
		snprintf(err, errlen, "--jail: %s", herr);
		return -ENODEV;
	}
	cfg->host = j->host;
	if ((r = jail_root(j, cfg, err, errlen)) || (r = jail_limits(cfg, err, errlen)) ||
	    (r = jail_drop(o, err, errlen)))
		return r;
	return 0;
}
