/* ocicmd.c: create, start, kill, delete, state, ps and the refused verbs, on the state under --root. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ocicache.h"
#include "ocicgroup.h"
#include "ocicmd.h"
#include "ocipack.h"
#include "ocipath.h"
#include "ocispec.h"
#include "ocistate.h"
#include "ocivm.h"
#include "pack.h"
#include "ukvm.h"

/* Notices from packing kept in the log: enough to see what happened, never one line per file of a big tree. */
#define CMD_WARN_MAX 20

int ocicmd_fail(struct ocicmd *c, const char *fmt, ...)
{
	char msg[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ocilog_write(&c->log, "error", msg);
	if (!c->quiet_stderr || !c->log.path)
		fprintf(stderr, "ukvm-oci: %s\n", msg);
	return 1;
}

int ocicmd_refuse(struct ocicmd *c, const char *verb)
{
	return ocicmd_fail(c, "%s is not supported: a ukvm container is one microVM running one process", verb);
}

int ocicmd_signal(const char *s)
{
	char *end;

	if (*s >= '0' && *s <= '9') {
		long n = strtol(s, &end, 10);
		return *end || n < 1 || n > SIGRTMAX ? -1 : (int)n;
	}
	if (strncmp(s, "SIG", 3) == 0)
		s += 3;
	for (int n = 1; n < SIGRTMIN; n++) {
		const char *name = sigabbrev_np(n);
		if (name && strcmp(name, s) == 0)
			return n;
	}
	return -1;
}

static long long cmd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ROOT/ID opened as a directory: fd, or -errno (-ENOENT: no such container). */
static int cmd_dir(struct ocicmd *c, const char *id)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", c->root, id) >= sizeof(path))
		return -ENAMETOOLONG;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

/* The state of id with its directory open in *dirfd; on failure the message is logged and 1 returned. */
static int cmd_load(struct ocicmd *c, const char *id, int *dirfd, struct ocistate *st)
{
	char err[512];

	*dirfd = -1;
	if (!ocistate_id_valid(id))
		return ocicmd_fail(c, "invalid container id \"%.100s\"", id);
	int fd = cmd_dir(c, id);
	if (fd < 0)
		return fd == -ENOENT ? ocicmd_fail(c, "container \"%s\" does not exist", id)
				     : ocicmd_fail(c, "%s/%s: %s", c->root, id, strerror(-fd));
	if (ocistate_load(fd, st, err, sizeof(err)) < 0) {
		close(fd);
		return ocicmd_fail(c, "container \"%s\": %s", id, err);
	}
	*dirfd = fd;
	return 0;
}

/* Removes ROOT/ID and what ukvm-oci put in it (only those names: nothing else is ours to delete). */
static int cmd_remove(struct ocicmd *c, const char *id)
{
	static const char *const files[] = { OCISTATE_FILE, OCISTATE_FIFO, OCISTATE_IMAGE, "." OCISTATE_FILE ".tmp" };
	char path[PATH_MAX];
	int fd = cmd_dir(c, id);

	if (fd >= 0) {
		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
			unlinkat(fd, files[i], 0);
		unlinkat(fd, OCISTATE_EMPTY, AT_REMOVEDIR);
		/* pack_write's temporary image, should a create have died while writing it. */
		DIR *d = fdopendir(dup(fd));
		struct dirent *e;
		while (d && (e = readdir(d)))
			if (strncmp(e->d_name, "." OCISTATE_IMAGE, sizeof(OCISTATE_IMAGE)) == 0)
				unlinkat(fd, e->d_name, 0);
		if (d)
			closedir(d);
		close(fd);
	}
	snprintf(path, sizeof(path), "%s/%s", c->root, id);
	return rmdir(path) < 0 && errno != ENOENT ? -errno : 0;
}

struct cmd_warn {
	struct ocicmd *c;
	unsigned n;
};

static void cmd_warn(void *ctx, const char *msg)
{
	struct cmd_warn *w = ctx;

	if (w->n++ < CMD_WARN_MAX)
		ocilog_write(&w->c->log, "warning", msg);
}

static void cmd_note(void *ctx, const char *msg)
{
	ocilog_write(&((struct cmd_warn *)ctx)->c->log, "info", msg);
}

/*
 * The rootfs image cache: UKVM_OCI_CACHE names its directory ("off": none;
 * default OCICACHE_DIR_DEFAULT), UKVM_OCI_CACHE_MAX_MB its size. The
 * shim passes containerd's environment on, so containerd's unit sets them.
 */
static void cmd_cache(struct ocipack_args *pa)
{
	const char *dir = getenv("UKVM_OCI_CACHE"), *max = getenv("UKVM_OCI_CACHE_MAX_MB");
	char *end;

	pa->cache_dir = !dir || !*dir ? OCICACHE_DIR_DEFAULT : strcmp(dir, "off") == 0 ? NULL : dir;
	pa->cache_max = OCICACHE_MAX_DEFAULT;
	if (max && *max) {
		unsigned long long mb = strtoull(max, &end, 10);
		if (!*end && mb < (1ull << 40))
			pa->cache_max = mb << 20;
	}
}

/* Connects to the console socket and sends it the terminal's master (SCM_RIGHTS), as runc does. */
static int cmd_send_console(const char *sock, int master)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char name[] = "/dev/ptmx";
	struct iovec iov = { name, sizeof(name) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	int fd, rc = 0;

	if (strlen(sock) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(u.buf, 0, sizeof(u.buf));
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &master, sizeof(int));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || sendmsg(fd, &msg, MSG_NOSIGNAL) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Reads the container process's setup report until it closes the pipe; "ok" or the reason in buf. */
static void cmd_read_ready(int fd, char *buf, size_t n)
{
	size_t len = 0;

	/* ukvm_create is bounded in time; the child exiting closes the pipe too. */
	while (len + 1 < n) {
		ssize_t r = read(fd, buf + len, n - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
}

static enum ukvm_pv cmd_pv(void)
{
	const char *v = getenv("UKVM_OCI_PV");

	return v && !strcmp(v, "off") ? UKVM_PV_OFF : v && !strcmp(v, "on") ? UKVM_PV_ON : UKVM_PV_AUTO;
}

/*
 * Moves this process into the container's cgroup (linux.cgroupsPath) so the container process, forked
 * next, is in it before it makes the VM: its memory is charged there from the first page (this
 * process exits right after). A cgroup that cannot be joined is a warning, not a failed create: the
 * container runs unaccounted, as a rootless runc's does. Whether it joined.
 */
static bool cmd_cgroup(struct ocicmd *c, const char *path)
{
	char err[2300];

	if (!path)
		return false;
	if (ocicgroup_is_systemd(path)) {
		ocilog_write(&c->log, "warning", "linux.cgroupsPath in systemd's slice:prefix:name form: not joined "
			     "(ukvm-oci places cgroupfs paths only)");
		return false;
	}
	if (ocicgroup_join(OCICGROUP_ROOT, path, err, sizeof(err)) < 0) {
		ocilog_write(&c->log, "warning", err);
		return false;
	}
	return true;
}

/* Everything of create after the state directory exists; on failure the caller removes it. */
static int cmd_create_in(struct ocicmd *c, const struct ocicmd_create *a, const char *bundle,
			 struct ocispec_plan *plan, int dirfd, const char *dir)
{
	/* dir is shorter than PATH_MAX: room for the longest name in it. */
	char kernel[PATH_MAX], image[PATH_MAX + 16], fifo[PATH_MAX + 16], empty[PATH_MAX + 16], err[8192], ready[600];
	struct cmd_warn w = { c, 0 };
	int master = -1, slave = -1, pipefd[2] = { -1, -1 }, rc = 1;

	if (pack_default_kernel(kernel, sizeof(kernel)) < 0)
		return ocicmd_fail(c, "no guest kernel next to ukvm-oci (../lib/ukvm/ukvm-kernel.elf)");
	snprintf(image, sizeof(image), "%s/%s", dir, OCISTATE_IMAGE);
	snprintf(fifo, sizeof(fifo), "%s/%s", dir, OCISTATE_FIFO);
	snprintf(empty, sizeof(empty), "%s/%s", dir, OCISTATE_EMPTY);
	if (mkdirat(dirfd, OCISTATE_EMPTY, 0755) < 0)
		return ocicmd_fail(c, "%s: %s", empty, strerror(errno));
	/* The payload is loaded into guest RAM: half of it for files leaves the app the rest. */
	uint64_t mem = plan->mem_size ? plan->mem_size : UKVM_MEM_DEFAULT;
	struct ocipack_args pa = { .plan = plan, .kernel = kernel, .image = image, .empty_dir = empty,
				   .cap = mem / 2, .warn = cmd_warn, .warn_ctx = &w, .note = cmd_note };
	cmd_cache(&pa);
	if (!plan->sandbox && ocipack_build(&pa, err, sizeof(err)) < 0)
		return ocicmd_fail(c, "%s", err);
	if (w.n > CMD_WARN_MAX) {
		snprintf(err, sizeof(err), "%u more notices like these", w.n - CMD_WARN_MAX);
		ocilog_write(&c->log, "warning", err);
	}
	if (mkfifoat(dirfd, OCISTATE_FIFO, 0600) < 0)
		return ocicmd_fail(c, "%s: %s", fifo, strerror(errno));
	if (plan->terminal) {
		if (!a->console_socket)
			return ocicmd_fail(c, "process.terminal is set but no --console-socket was given");
		if (openpty(&master, &slave, NULL, NULL, NULL) < 0)
			return ocicmd_fail(c, "openpty: %s", strerror(errno));
		fcntl(master, F_SETFD, FD_CLOEXEC);
		int e = cmd_send_console(a->console_socket, master);
		close(master);
		if (e < 0) {
			close(slave);
			return ocicmd_fail(c, "console socket %s: %s", a->console_socket, strerror(-e));
		}
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		rc = ocicmd_fail(c, "pipe: %s", strerror(errno));
		goto out;
	}
	bool in_cgroup = cmd_cgroup(c, plan->cgroup);
	pid_t pid = fork();
	if (pid < 0) {
		rc = ocicmd_fail(c, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		close(pipefd[0]);
		close(dirfd);
		struct ocivm_args va = { .plan = plan, .image = image, .fifo = fifo, .ready_fd = pipefd[1],
					 .pty_slave = slave, .pv = cmd_pv() };
		ocivm_main(&va);
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	cmd_read_ready(pipefd[0], ready, sizeof(ready));
	struct ocistate st = { .id = (char *)a->id, .pid = pid, .bundle = (char *)bundle, .rootfs = plan->rootfs,
			       .annotations = plan->annotations, .cgroup = in_cgroup ? plan->cgroup : NULL };
	char created[64];
	ocistate_now_rfc3339(created, sizeof(created));
	st.created = created;
	if (strcmp(ready, "ok") != 0 || ocistate_proc_start(pid, &st.start) < 0) {
		int status = 0;
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		rc = ocicmd_fail(c, "%s", ready[0] && strcmp(ready, "ok") ? ready : "the container process died during setup");
		goto out;
	}
	int e = ocistate_save(dirfd, &st);
	if (e == 0 && a->pid_file)
		e = ocistate_pidfile(a->pid_file, pid);
	if (e < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		rc = ocicmd_fail(c, "saving the state: %s", strerror(-e));
		goto out;
	}
	rc = 0;
out:
	if (slave >= 0)
		close(slave);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	return rc;
}

int ocicmd_create(struct ocicmd *c, const struct ocicmd_create *a)
{
	char bundle[PATH_MAX], dir[PATH_MAX], err[8192];
	struct ocispec_plan plan;
	int rc;

	if (!ocistate_id_valid(a->id))
		return ocicmd_fail(c, "invalid container id \"%.100s\"", a->id);
	if (!realpath(a->bundle ? a->bundle : ".", bundle))
		return ocicmd_fail(c, "bundle %s: %s", a->bundle ? a->bundle : ".", strerror(errno));
	if (ocispec_load(bundle, &plan, err, sizeof(err)) < 0)
		return ocicmd_fail(c, "%s", err);
	if ((rc = ocipath_mkdir_p(c->root, 0700)) < 0) {
		rc = ocicmd_fail(c, "--root %s: %s", c->root, strerror(-rc));
		goto out;
	}
	snprintf(dir, sizeof(dir), "%s/%s", c->root, a->id);
	if (mkdir(dir, 0700) < 0) {
		rc = errno == EEXIST ? ocicmd_fail(c, "container with id exists: %s", a->id)
				     : ocicmd_fail(c, "%s: %s", dir, strerror(errno));
		goto out;
	}
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dirfd < 0) {
		rc = ocicmd_fail(c, "%s: %s", dir, strerror(errno));
		cmd_remove(c, a->id);
		goto out;
	}
	rc = cmd_create_in(c, a, bundle, &plan, dirfd, dir);
	close(dirfd);
	if (rc)
		cmd_remove(c, a->id);
out:
	ocispec_free(&plan);
	return rc;
}

int ocicmd_start(struct ocicmd *c, const char *id)
{
	struct ocistate st;
	int dirfd, rc = cmd_load(c, id, &dirfd, &st);

	if (rc)
		return rc;
	switch (ocistate_status(&st, dirfd)) {
	case OCISTATE_STOPPED:
		rc = ocicmd_fail(c, "cannot start a container that has stopped");
		goto out;
	case OCISTATE_RUNNING:
		rc = ocicmd_fail(c, "cannot start an already running container");
		goto out;
	case OCISTATE_CREATED:
		break;
	}
	/* Non-blocking: the process may be gone, and an open for reading would then wait for a writer forever. */
	int fd = openat(dirfd, OCISTATE_FIFO, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		rc = ocicmd_fail(c, "%s: %s", OCISTATE_FIFO, strerror(errno));
		goto out;
	}
	long long deadline = cmd_now_ms() + OCICMD_START_WAIT_MS;
	char b;
	rc = -1;
	while (rc < 0) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		if (poll(&pfd, 1, 50) > 0 && read(fd, &b, 1) == 1)
			rc = 0;
		else if (!ocistate_alive(st.pid, st.start))
			rc = ocicmd_fail(c, "the container process exited before start");
		else if (cmd_now_ms() > deadline)
			rc = ocicmd_fail(c, "the container process did not take the start within %d s",
					 OCICMD_START_WAIT_MS / 1000);
	}
	close(fd);
	if (rc == 0)
		unlinkat(dirfd, OCISTATE_FIFO, 0);
out:
	close(dirfd);
	ocistate_free(&st);
	return rc;
}

int ocicmd_kill(struct ocicmd *c, const char *id, const char *sigtext, bool all)
{
	struct ocistate st;
	int sig = ocicmd_signal(sigtext ? sigtext : "TERM");
	int dirfd, rc;

	(void)all; /* one process per container: --all signals the same one */
	if (sig < 0)
		return ocicmd_fail(c, "invalid signal \"%.32s\"", sigtext);
	if ((rc = cmd_load(c, id, &dirfd, &st)))
		return rc;
	int e = ocistate_status(&st, dirfd) == OCISTATE_STOPPED ? -ESRCH : ocistate_signal(st.pid, st.start, sig);
	if (e == -ESRCH)
		rc = ocicmd_fail(c, "container not running");
	else if (e < 0)
		rc = ocicmd_fail(c, "kill %d: %s", st.pid, strerror(-e));
	close(dirfd);
	ocistate_free(&st);
	return rc;
}

/* SIGKILL and wait (bounded) until the process is gone or a zombie for its reaper; 0 or the failure status. */
static int cmd_kill_wait(struct ocicmd *c, const struct ocistate *st)
{
	long long deadline = cmd_now_ms() + OCICMD_KILL_WAIT_MS;

	int e = ocistate_signal(st->pid, st->start, SIGKILL);
	if (e < 0 && e != -ESRCH)
		return ocicmd_fail(c, "kill %d: %s", st->pid, strerror(-e));
	while (ocistate_alive(st->pid, st->start)) {
		if (cmd_now_ms() > deadline)
			return ocicmd_fail(c, "container process %d did not die within %d s", st->pid,
					   OCICMD_KILL_WAIT_MS / 1000);
		usleep(5000);
	}
	return 0;
}

int ocicmd_delete(struct ocicmd *c, const char *id, bool force)
{
	struct ocistate st;
	char err[512];
	int rc = 0;

	if (!ocistate_id_valid(id))
		return ocicmd_fail(c, "invalid container id \"%.100s\"", id);
	int dirfd = cmd_dir(c, id);
	if (dirfd < 0) {
		/* The shim's final delete comes after the container is gone: not an error with --force. */
		if (dirfd == -ENOENT && force)
			return 0;
		return dirfd == -ENOENT ? ocicmd_fail(c, "container \"%s\" does not exist", id)
					: ocicmd_fail(c, "%s/%s: %s", c->root, id, strerror(-dirfd));
	}
	if (ocistate_load(dirfd, &st, err, sizeof(err)) < 0) {
		close(dirfd);
		if (!force)
			return ocicmd_fail(c, "container \"%s\": %s (delete --force removes it)", id, err);
		/* A create that died before it saved its state: nothing runs, the directory goes. */
	} else {
		enum ocistate_status s = ocistate_status(&st, dirfd);
		close(dirfd);
		if (s == OCISTATE_RUNNING && !force)
			rc = ocicmd_fail(c, "cannot delete container %s that is not stopped: running", id);
		else if (s != OCISTATE_STOPPED)
			rc = cmd_kill_wait(c, &st); /* runc deletes a created container without --force too */
		if (!rc && st.cgroup)
			ocicgroup_remove(OCICGROUP_ROOT, st.cgroup);
		ocistate_free(&st);
		if (rc)
			return rc;
	}
	int e = cmd_remove(c, id);
	return e < 0 ? ocicmd_fail(c, "removing %s/%s: %s", c->root, id, strerror(-e)) : 0;
}

int ocicmd_state(struct ocicmd *c, const char *id)
{
	struct ocistate st;
	int dirfd, rc = cmd_load(c, id, &dirfd, &st);

	if (rc)
		return rc;
	char *text = ocistate_json(&st, ocistate_status(&st, dirfd));
	if (text)
		fprintf(c->out, "%s\n", text);
	else
		rc = ocicmd_fail(c, "out of memory");
	free(text);
	close(dirfd);
	ocistate_free(&st);
	return rc;
}

int ocicmd_ps(struct ocicmd *c, const char *id, bool json)
{
	struct ocistate st;
	int dirfd, rc = cmd_load(c, id, &dirfd, &st);

	if (rc)
		return rc;
	bool live = ocistate_status(&st, dirfd) != OCISTATE_STOPPED;
	if (json)
		live ? fprintf(c->out, "[%d]\n", st.pid) : fprintf(c->out, "[]\n");
	else
		live ? fprintf(c->out, "PID\n%d\n", st.pid) : fprintf(c->out, "PID\n");
	close(dirfd);
	ocistate_free(&st);
	return 0;
}
