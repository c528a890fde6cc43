/* jail.c: ukvm_jail_enter (ukvm.h, docs/jail.md): namespaces, an empty root, no privileges, limits, before any guest input is read. */
#include "jail.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
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
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../devices/net.h"
#include "host.h"

/* Address space beyond guest RAM: the monitor's code, heap, thread stacks, the rings (measured ~60 MiB). */
#define JAIL_AS_SLACK (1ull << 30)
/* Open files: KVM's (3), eventfds (2 per queue), the ring, disks (<= 32), taps (<= 8), stdio: ~110 at most. */
#define JAIL_NOFILE 256
/* cgroup memory.max beyond guest RAM. */
#define JAIL_CG_MEM_SLACK (512ull << 20)
/* Names inside the jail's root. */
#define JAIL_IMAGE "image"
#define JAIL_RESTORE "restore"
#define JAIL_SNAPSHOT "snapshot"

struct ukvm_jailed {
	struct ukvm_disk disks[UKVM_MAX_DISKS];
	char disk_paths[UKVM_MAX_DISKS][16];
	struct ukvm_net nets[UKVM_MAX_NICS];
	int tap_fds[UKVM_MAX_NICS]; /* taps the jail opened (closed by ukvm_jail_free), else -1 */
	struct ukvm_host *host;
};

/* What a jail process tells the caller through the pipe: kind 0 = confined, else the error and its line. */
struct jail_msg {
	int kind;
	char text[512];
};

/* Where errors go while the jail is being built: one line, and the error kind it maps to. */
struct jail_ctx {
	const struct ukvm_jail *o;
	uid_t uid;
	gid_t gid;
	struct ukvm_config *cfg;
	struct ukvm_jailed *j;
	char text[512];
};

static pid_t jail_child;

static void jail_forward(int sig)
{
	if (jail_child > 0)
		kill(jail_child, sig);
}

static int jail_fail(struct jail_ctx *c, int e, const char *what, const char *path)
{
	snprintf(c->text, sizeof(c->text), "jail: %s%s%s: %s", what, path ? " " : "", path ? path : "", strerror(e));
	return e == EPERM || e == EACCES || e == EINVAL || e == ENOTSUP ? UKVM_ERR_CONFIG : UKVM_ERR_INTERNAL;
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

/* Guest RAM the jail budgets for: the config's, or a restored snapshot's size (its RAM is most of it). */
static uint64_t jail_mem(const struct ukvm_config *cfg)
{
	uint64_t mem = cfg->mem_size ? cfg->mem_size : UKVM_MEM_DEFAULT;
	struct stat st;
	if (cfg->restore && stat(cfg->restore, &st) == 0 && (uint64_t)st.st_size > mem)
		mem = (uint64_t)st.st_size;
	return mem;
}

int jail_cg1_mount(const char *path, const char *want, char *mnt, size_t len)
{
	char line[1024];
	size_t best = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char m[512], opts[512];
		const char *sep = strstr(line, " - cgroup ");
		/* mountinfo: id parent dev root MOUNTPOINT ... " - " fstype source SUPER-OPTIONS */
		if (!sep || sscanf(line, "%*s %*s %*s %*s %511s", m) != 1 || sscanf(sep, " - cgroup %*s %511s", opts) != 1)
			continue;
		size_t n = strlen(m);
		bool hit = false;
		if (want) {
			for (char *t = strtok(opts, ","); t && !hit; t = strtok(NULL, ","))
				hit = !strcmp(t, want);
		} else {
			hit = !strncmp(path, m, n) && path[n] == '/' && n > best;
		}
		if (hit && n < len) {
			memcpy(mnt, m, n + 1);
			best = n;
			if (want)
				break;
		}
	}
	fclose(f);
	return best ? 0 : -ENOENT;
}

/* One v1 hierarchy's directory for the jail: made, a limit written, the process in it. */
static int jail_cg1_join(struct jail_ctx *c, const char *ctl, const char *rel, const char *const *files,
			 const char *const *vals, unsigned n, char *made, size_t madelen)
{
	char mnt[512], dir[1024], v[32];
	int r = jail_cg1_mount(NULL, ctl, mnt, sizeof(mnt));
	if (r)
		return jail_fail(c, -r, "cgroup v1 hierarchy with the controller", ctl);
	snprintf(dir, sizeof(dir), "%s%s", mnt, rel);
	if (mkdir(dir, 0755) == 0)
		snprintf(made, madelen, "%s", dir);
	else if (errno != EEXIST)
		return jail_fail(c, errno, "cgroup", dir);
	for (unsigned i = 0; i < n; i++)
		if ((r = jail_write(dir, files[i], vals[i])))
			return jail_fail(c, -r, files[i], dir);
	snprintf(v, sizeof(v), "%d", (int)getpid());
	if ((r = jail_write(dir, "cgroup.procs", v)))
		return jail_fail(c, -r, "joining cgroup", dir);
	return 0;
}

/*
 * cgroup v1 (memory and cpu mounted as hierarchies of their own, as on this
 * project's hosts; Firecracker's jailer serves both versions): dir lies in
 * one of them, and the same path below each hierarchy's mount is made in
 * the memory one (memory.limit_in_bytes) and the cpu one (a quota of two
 * CPUs), the process joining both.
 */
static int jail_cgroup_v1(struct jail_ctx *c, const char *dir, uint64_t mem)
{
	char mnt[512], limit[32], made[2][1024] = { "", "" };
	if (jail_cg1_mount(dir, NULL, mnt, sizeof(mnt)))
		return jail_fail(c, ENOTSUP, "not in a cgroup v1 or v2 hierarchy:", dir);
	const char *rel = dir + strlen(mnt);
	snprintf(limit, sizeof(limit), "%llu", (unsigned long long)(mem + JAIL_CG_MEM_SLACK));
	static const char *const mem_files[] = { "memory.limit_in_bytes" };
	static const char *const cpu_files[] = { "cpu.cfs_period_us", "cpu.cfs_quota_us" };
	const char *mem_vals[] = { limit }, *cpu_vals[] = { "100000", "200000" };
	int r = jail_cg1_join(c, "memory", rel, mem_files, mem_vals, 1, made[0], sizeof(made[0]));
	if (!r)
		r = jail_cg1_join(c, "cpu", rel, cpu_files, cpu_vals, 2, made[1], sizeof(made[1]));
	if (r)
		for (int i = 1; i >= 0; i--)
			if (*made[i])
				rmdir(made[i]); /* empty: a failed join leaves nothing in it */
	return r;
}

/*
 * Creates (if missing) and joins the cgroup dir: on cgroup v2, memory.max
 * guest RAM + slack and cpu.max two CPUs (vCPU, event thread); on v1 the
 * same limits through the memory and cpu hierarchies (jail_cgroup_v1). A
 * directory it created is removed again when that fails. A cgroup that
 * cannot be set is the host's configuration, as a disk that cannot be
 * opened: UKVM_ERR_CONFIG.
 */
static int jail_cgroup(struct jail_ctx *c, uint64_t mem)
{
	const char *dir = c->o->cgroup;
	char parent[4096];
	struct statfs sf;
	snprintf(parent, sizeof(parent), "%s", dir);
	*strrchr(parent, '/') = '\0'; /* absolute: checked by the caller */
	if (statfs(*parent ? parent : "/", &sf) == 0 && sf.f_type == CGROUP_SUPER_MAGIC)
		return jail_cgroup_v1(c, dir, mem) ? UKVM_ERR_CONFIG : 0;
	bool made = mkdir(dir, 0755) == 0;
	if (!made && errno != EEXIST) {
		jail_fail(c, errno, "cgroup", dir);
		return UKVM_ERR_CONFIG;
	}
	char v[64];
	int r;
	snprintf(v, sizeof(v), "%llu", (unsigned long long)(mem + JAIL_CG_MEM_SLACK));
	if ((r = jail_write(dir, "memory.max", v)))
		jail_fail(c, -r, "cgroup memory.max (memory controller enabled in the parent?)", dir);
	else if ((r = jail_write(dir, "cpu.max", "200000 100000")))
		jail_fail(c, -r, "cgroup cpu.max (cpu controller enabled in the parent?)", dir);
	else if (snprintf(v, sizeof(v), "%d", (int)getpid()), (r = jail_write(dir, "cgroup.procs", v)))
		jail_fail(c, -r, "joining cgroup", dir);
	if (!r)
		return 0;
	if (made)
		rmdir(dir);
	return UKVM_ERR_CONFIG;
}

/* The NICs as fds: taps opened here, in the caller's network namespace, before the jail leaves it. */
static int jail_taps(struct jail_ctx *c)
{
	struct ukvm_jailed *j = c->j;
	for (unsigned i = 0; i < c->cfg->nnets; i++) {
		j->nets[i] = c->cfg->nets[i];
		if (j->nets[i].kind != UKVM_NET_TAP)
			continue;
		char why[256];
		int fd = net_tap_open(j->nets[i].ifname, why, sizeof(why));
		if (fd < 0) {
			snprintf(c->text, sizeof(c->text), "jail: %s: %s", j->nets[i].ifname, why);
			return UKVM_ERR_CONFIG;
		}
		j->tap_fds[i] = fd;
		j->nets[i].kind = UKVM_NET_FD;
		j->nets[i].fd = fd;
		j->nets[i].ifname = NULL;
	}
	c->cfg->nets = c->cfg->nnets ? j->nets : NULL;
	return 0;
}

/*
 * The snapshot file the jailed monitor will write: created here, as the
 * caller, and given to the jail's ids (the jailer's way: files in its root
 * belong to the jailed user); an existing one must already be writable by them.
 */
static int jail_snapshot_file(struct jail_ctx *c)
{
	const char *path = c->cfg->snapshot_when_idle;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? 0 : jail_fail(c, errno, "cannot create snapshot", path);
	int r = fchown(fd, c->uid, c->gid) < 0 ? jail_fail(c, errno, "chown", path) : 0;
	close(fd);
	return r;
}

/* Bind-mounts host file src onto root/name (created), read-only when ro, never suid/dev/exec. */
static int jail_bind(struct jail_ctx *c, const char *root, const char *name, const char *src, bool ro)
{
	char dst[4096];
	snprintf(dst, sizeof(dst), "%s/%s", root, name);
	int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return jail_fail(c, errno, "creating", dst);
	close(fd);
	if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
		return jail_fail(c, errno, "bind-mounting", src);
	unsigned long fl = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC | (ro ? MS_RDONLY : 0);
	if (mount(NULL, dst, NULL, fl, NULL) < 0)
		return jail_fail(c, errno, "remounting", dst);
	return 0;
}

/* The files of the VM into the new root, and the config rewritten to their names there. */
static int jail_files(struct jail_ctx *c, const char *root)
{
	struct ukvm_config *cfg = c->cfg;
	struct ukvm_jailed *j = c->j;
	int r;
	if (cfg->image) {
		if ((r = jail_bind(c, root, JAIL_IMAGE, cfg->image, true)))
			return r;
		cfg->image = "/" JAIL_IMAGE;
	}
	if (cfg->restore) {
		if ((r = jail_bind(c, root, JAIL_RESTORE, cfg->restore, true)))
			return r;
		cfg->restore = "/" JAIL_RESTORE;
	}
	if (cfg->snapshot_when_idle) {
		if ((r = jail_bind(c, root, JAIL_SNAPSHOT, cfg->snapshot_when_idle, false)))
			return r;
		cfg->snapshot_when_idle = "/" JAIL_SNAPSHOT;
	}
	for (unsigned i = 0; i < cfg->ndisks; i++) {
		snprintf(j->disk_paths[i], sizeof(j->disk_paths[i]), "disk%u", i);
		if ((r = jail_bind(c, root, j->disk_paths[i], cfg->disks[i].path, cfg->disks[i].ro)))
			return r;
		j->disks[i] = cfg->disks[i];
		snprintf(j->disk_paths[i], sizeof(j->disk_paths[i]), "/disk%u", i);
		j->disks[i].path = j->disk_paths[i];
	}
	cfg->disks = cfg->ndisks ? j->disks : NULL;
	return 0;
}

/* The empty root: a small tmpfs with the VM's files, pivoted into; the host's tree unmounted. */
static int jail_root(struct jail_ctx *c)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return jail_fail(c, errno, "making mounts private", NULL);
	char root[] = "/tmp/ukvm-jail-XXXXXX";
	if (!mkdtemp(root))
		return jail_fail(c, errno, "mkdtemp", root);
	int r;
	if (mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,nr_inodes=64,mode=0755") < 0) {
		r = jail_fail(c, errno, "mounting a tmpfs on", root);
		rmdir(root);
		return r;
	}
	if ((r = jail_files(c, root)))
		return r;
	char old[4096];
	snprintf(old, sizeof(old), "%s/.old", root);
	if (mkdir(old, 0700) < 0)
		return jail_fail(c, errno, "mkdir", old);
	if (syscall(SYS_pivot_root, root, old) < 0)
		return jail_fail(c, errno, "pivot_root into", root);
	if (chdir("/") < 0)
		return jail_fail(c, errno, "chdir", "/");
	char host_dir[4096];
	snprintf(host_dir, sizeof(host_dir), "/.old%s", root);
	rmdir(host_dir); /* the host's empty mkdtemp directory, now that nothing is mounted on it */
	if (umount2("/.old", MNT_DETACH) < 0)
		return jail_fail(c, errno, "unmounting the host's tree", NULL);
	if (rmdir("/.old") < 0)
		return jail_fail(c, errno, "rmdir", "/.old");
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return jail_fail(c, errno, "remounting the root read-only", NULL);
	return 0;
}

/*
 * /proc/self/pagemap for the snapshot writer (which pages the guest
 * touched), opened while the host's /proc is still there. Without
 * CAP_SYS_ADMIN in the opener's credentials the kernel hides frame numbers
 * from every read of the fd (pagemap_open), so it is opened with that
 * capability lowered for the moment: the jailed monitor gets the present and
 * swapped bits only, as an unprivileged one does.
 */
static int jail_pagemap(struct jail_ctx *c)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2], low[2];
	if (syscall(SYS_capget, &h, d) < 0)
		return jail_fail(c, errno, "capget", NULL);
	memcpy(low, d, sizeof(d));
	low[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	if (syscall(SYS_capset, &h, low) < 0)
		return jail_fail(c, errno, "capset", NULL);
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	int e = errno;
	if (syscall(SYS_capset, &h, d) < 0) {
		if (fd >= 0)
			close(fd);
		return jail_fail(c, errno, "capset", NULL);
	}
	if (fd < 0)
		return jail_fail(c, e, "opening", "/proc/self/pagemap");
	int hi = fcntl(fd, F_DUPFD_CLOEXEC, 3); /* 0 means "none" in the host */
	close(fd);
	if (hi < 0)
		return jail_fail(c, errno, "dup", NULL);
	c->j->host->pagemap_fd = hi;
	return 0;
}

/* No capability left in any set, no way to gain one back, the unprivileged ids. */
static int jail_drop(struct jail_ctx *c)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return jail_fail(c, errno, "no_new_privs", NULL);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return jail_fail(c, errno, "clearing ambient capabilities", NULL);
	for (int cap = 0; cap < 64; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return jail_fail(c, errno, "dropping the bounding set", NULL);
	if (setgroups(0, NULL) < 0 || setresgid(c->gid, c->gid, c->gid) < 0)
		return jail_fail(c, errno, "setting the group ids", NULL);
	/* From uid 0 to another without SECBIT_KEEP_CAPS: the kernel clears permitted and effective. */
	if (setresuid(c->uid, c->uid, c->uid) < 0)
		return jail_fail(c, errno, "setting the user ids", NULL);
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) < 0)
		return jail_fail(c, errno, "capget", NULL);
	for (int i = 0; i < 2; i++)
		if (d[i].effective || d[i].permitted || d[i].inheritable)
			return jail_fail(c, EPERM, "capabilities still held after dropping them", NULL);
	return 0;
}

static int jail_limits(struct jail_ctx *c, uint64_t mem)
{
	(void)mem; /* sanitizer builds leave the address space alone */
	struct rlimit nofile = { JAIL_NOFILE, JAIL_NOFILE }, core = { 0, 0 };
	if (setrlimit(RLIMIT_NOFILE, &nofile) < 0 || setrlimit(RLIMIT_CORE, &core) < 0)
		return jail_fail(c, errno, "setrlimit", NULL);
#ifndef UKVM_SANITIZER /* ASan reserves terabytes of shadow address space */
	struct rlimit as = { mem + JAIL_AS_SLACK, mem + JAIL_AS_SLACK };
	if (setrlimit(RLIMIT_AS, &as) < 0)
		return jail_fail(c, errno, "setrlimit RLIMIT_AS", NULL);
#endif
	return 0;
}

/* One message to the caller: atomic (shorter than PIPE_BUF). */
static void jail_tell(int fd, int kind, const char *text)
{
	struct jail_msg m = { .kind = kind };
	snprintf(m.text, sizeof(m.text), "%s", text);
	ssize_t n;
	do
		n = write(fd, &m, sizeof(m));
	while (n < 0 && errno == EINTR);
}

static int jail_int_cmp(const void *a, const void *b)
{
	return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

/*
 * Every fd but stdio and those the VM is given (console, NICs) and the
 * message pipe: what the caller had open (a server's listening socket,
 * other VMs' files) stays out of the jail, as the jailer closes all but
 * stdio before it execs Firecracker.
 */
static int jail_close_fds(struct jail_ctx *c, int msg_fd)
{
	int keep[4 + UKVM_MAX_NICS], n = 0;
	int given[] = { msg_fd, c->cfg->console_fd, c->cfg->console_err_fd, c->cfg->console_in_fd };
	for (unsigned i = 0; i < 4; i++)
		if (given[i] > 2)
			keep[n++] = given[i];
	for (unsigned i = 0; i < c->cfg->nnets; i++)
		if (c->cfg->nets[i].kind == UKVM_NET_FD && c->cfg->nets[i].fd > 2)
			keep[n++] = c->cfg->nets[i].fd;
	qsort(keep, (size_t)n, sizeof(keep[0]), jail_int_cmp);
	unsigned lo = 3;
	for (int i = 0; i <= n; i++) {
		unsigned hi = i < n ? (unsigned)keep[i] : ~0u; /* close [lo, hi) */
		if (hi > lo && syscall(SYS_close_range, lo, hi - (i < n), 0) < 0)
			return jail_fail(c, errno, "close_range", NULL);
		if (i < n)
			lo = (unsigned)keep[i] + 1;
	}
	return 0;
}

/* The jailed monitor (pid 1 of the new PID namespace): confined, then back to the embedder's code. */
static int jail_inner(struct jail_ctx *c, uint64_t mem, int msg_fd)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* the monitor never outlives the process waiting for it */
	int r;
	if ((r = jail_close_fds(c, msg_fd)))
		return r;
	if (sethostname("ukvm", 4) < 0)
		return jail_fail(c, errno, "sethostname", NULL);
	/* /dev/kvm (and the CPUID cache in /dev/shm) before the host's tree goes away. */
	char herr[256];
	r = ukvm_host_open_flags(&c->j->host, c->cfg->no_cpuid_cache ? UKVM_HOST_NO_CPUID_CACHE : 0, herr,
				     sizeof(herr));
	if (r) {
		snprintf(c->text, sizeof(c->text), "jail: %s", herr);
		return r;
	}
	c->cfg->host = c->j->host;
	if (c->cfg->snapshot_when_idle && (r = jail_pagemap(c)))
		return r;
	if ((r = jail_root(c)) || (r = jail_limits(c, mem)) || (r = jail_drop(c)))
		return r;
	return 0;
}

int ukvm_jail_wait(int pid)
{
	/* What a user sends a monitor, and --signals forward passes to the app, reaches the one in the jail. */
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 };
	struct sigaction sa = { .sa_handler = jail_forward };
	int st;

	jail_child = pid;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return UKVM_EXIT_INTERNAL;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * The first child: joins the cgroup, opens the taps and the snapshot file in
 * the caller's namespaces, makes the new ones and forks the monitor into
 * them. Returns only in the monitor, confined (0); never in itself.
 */
static int jail_outer(struct jail_ctx *c, pid_t caller, int msg_fd)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* the caller's thread gone: the jail goes too */
	if (getppid() != caller)
		_exit(UKVM_EXIT_INTERNAL);
	uint64_t mem = jail_mem(c->cfg);
	int r = 0;
	if (c->o->cgroup)
		r = jail_cgroup(c, mem);
	if (!r)
		r = jail_taps(c);
	if (!r && c->cfg->snapshot_when_idle)
		r = jail_snapshot_file(c);
	/* The monitor needs no network but its NICs' fds: a namespace with only a down lo. */
	if (!r && unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET) < 0)
		r = jail_fail(c, errno, "unshare", NULL);
	pid_t pid = r ? -1 : fork(); /* the child is pid 1 of the new PID namespace */
	if (!r && pid < 0)
		r = jail_fail(c, errno, "fork", NULL);
	if (r) {
		jail_tell(msg_fd, r, c->text);
		_exit(UKVM_EXIT_INTERNAL);
	}
	if (pid == 0) {
		if ((r = jail_inner(c, mem, msg_fd))) {
			jail_tell(msg_fd, r, c->text);
			_exit(UKVM_EXIT_INTERNAL);
		}
		jail_tell(msg_fd, 0, "");
		close(msg_fd);
		return 0;
	}
	/* It only waits: none of the caller's fds (a pipe's write end would keep its reader from EOF). */
	syscall(SYS_close_range, 3u, ~0u, 0);
	_exit(ukvm_jail_wait(pid)); /* the monitor's code, as a shell reports it */
}

/* What the jail refuses before forking anything. */
static int jail_check(struct jail_ctx *c, const struct ukvm_jail *o, const struct ukvm_config *cfg)
{
	if (!o || o->size < UKVM_JAIL_SIZE_0_2 || !cfg)
		return jail_fail(c, EINVAL, "no struct ukvm_jail (size unset?)", NULL);
	for (size_t i = sizeof(*o); i < o->size; i++)
		if (((const unsigned char *)o)[i])
			return jail_fail(c, EINVAL, "a struct ukvm_jail field this libukvm does not know is set", NULL);
	if (geteuid() != 0)
		return jail_fail(c, EPERM, "needs root (namespaces, mounts, then it drops to an unprivileged uid)", NULL);
	if (cfg->host)
		return jail_fail(c, EINVAL, "config.host must be NULL: the jail opens /dev/kvm itself", NULL);
	if (!cfg->image && !cfg->restore)
		return jail_fail(c, EINVAL, "no image", NULL);
	if (cfg->ndisks > UKVM_MAX_DISKS || cfg->nnets > UKVM_MAX_NICS)
		return jail_fail(c, EINVAL, "too many disks or NICs", NULL);
	for (unsigned i = 0; i < cfg->nnets; i++)
		if (cfg->nets[i].kind == UKVM_NET_USER) {
			snprintf(c->text, sizeof(c->text),
				 "jail: user networking is not jailed (its helper ukvm-slirp is a program the empty "
				 "root does not hold): use a tap");
			return UKVM_ERR_CONFIG;
		}
	return 0;
}

int ukvm_jail_enter(const struct ukvm_jail *o, struct ukvm_config *cfg, struct ukvm_jailed **out, char *err,
		    size_t errlen)
{
	struct jail_ctx c = { .o = o, .cfg = cfg };
	int r, p[2];
	*out = NULL;
	if ((r = jail_check(&c, o, cfg)))
		goto fail;
	c.uid = o->uid ? o->uid : JAIL_ID_DEFAULT;
	c.gid = o->gid ? o->gid : JAIL_ID_DEFAULT;
	if (!(c.j = calloc(1, sizeof(*c.j)))) {
		r = jail_fail(&c, ENOMEM, "allocating", NULL);
		goto fail;
	}
	for (unsigned i = 0; i < UKVM_MAX_NICS; i++)
		c.j->tap_fds[i] = -1;
	if (pipe2(p, O_CLOEXEC) < 0) {
		r = jail_fail(&c, errno, "pipe", NULL);
		goto fail_j;
	}
	pid_t caller = getpid();
	fflush(NULL); /* else buffered output would be written again by the jail */
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		jail_outer(&c, caller, p[1]); /* returns in the jailed monitor only */
		*out = c.j;
		return UKVM_OK;
	}
	close(p[1]);
	if (pid < 0) {
		r = jail_fail(&c, errno, "fork", NULL);
		close(p[0]);
		goto fail_j;
	}
	struct jail_msg m;
	ssize_t n;
	do
		n = read(p[0], &m, sizeof(m));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	free(c.j); /* the jail has its own copy */
	if (n == (ssize_t)sizeof(m) && m.kind == 0)
		return pid;
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof(m)) {
		m.text[sizeof(m.text) - 1] = 0;
		snprintf(err, errlen, "%s", m.text);
		return m.kind < 0 ? m.kind : UKVM_ERR_INTERNAL;
	}
	snprintf(err, errlen, "jail: its process died while setting up (%s %d)",
		 WIFSIGNALED(st) ? "signal" : "status", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	return UKVM_ERR_INTERNAL;
fail_j:
	free(c.j);
fail:
	snprintf(err, errlen, "%s", c.text);
	return r;
}

void ukvm_jail_free(struct ukvm_jailed *j)
{
	if (!j)
		return;
	for (unsigned i = 0; i < UKVM_MAX_NICS; i++)
		if (j->tap_fds[i] >= 0)
			close(j->tap_fds[i]);
	ukvm_host_close(j->host);
	free(j);
}
