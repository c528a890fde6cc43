/* ocistate.c: state.json read/write (jansson), process liveness from /proc, the pid file and the OCI state document. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ocistate.h"

bool ocistate_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > OCISTATE_ID_MAX || !strcmp(id, ".") || !strcmp(id, ".."))
		return false;
	for (const char *c = id; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		      *c == '_' || *c == '+' || *c == '-' || *c == '.'))
			return false;
	return true;
}

const char *ocistate_status_name(enum ocistate_status s)
{
	return s == OCISTATE_CREATED ? "created" : s == OCISTATE_RUNNING ? "running" : "stopped";
}

int ocistate_proc_parse(const char *text, char *state, unsigned long long *start)
{
	const char *p = strrchr(text, ')');
	char *end;

	if (!p || p[1] != ' ' || !p[2] || p[3] != ' ')
		return -EINVAL;
	*state = p[2];
	p += 3;
	/* Fields 4..21 (ppid ... itrealvalue) come before starttime, field 22. */
	for (int field = 3; field < 22; field++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return -EINVAL;
		if (field == 21)
			break;
		while (*p && *p != ' ')
			p++;
	}
	errno = 0;
	*start = strtoull(p, &end, 10);
	if (errno || end == p || (*end != ' ' && *end != '\n' && *end != '\0'))
		return -EINVAL;
	return 0;
}

/* Reads /proc/PID/stat: 0 with the state letter and start time, or -errno (-ESRCH when gone). */
static int state_proc(int pid, char *st, unsigned long long *start)
{
	char path[64], buf[1024];
	ssize_t n;
	int fd;

	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	return ocistate_proc_parse(buf, st, start);
}

int ocistate_proc_start(int pid, unsigned long long *start)
{
	char st;
	int rc = state_proc(pid, &st, start);

	return rc ? rc : (st == 'Z' || st == 'X') ? -ESRCH : 0;
}

bool ocistate_alive(int pid, unsigned long long start)
{
	unsigned long long s;

	return ocistate_proc_start(pid, &s) == 0 && s == start;
}

int ocistate_signal(int pid, unsigned long long start, int sig)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (fd < 0)
		return -errno;
	/* The pid was ours after the open: then the fd is ours too (a later reuse cannot move it). */
	int rc = ocistate_alive(pid, start) ? 0 : -ESRCH;
	if (!rc && syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

enum ocistate_status ocistate_status(const struct ocistate *st, int dirfd)
{
	if (!ocistate_alive(st->pid, st->start))
		return OCISTATE_STOPPED;
	return faccessat(dirfd, OCISTATE_FIFO, F_OK, AT_SYMLINK_NOFOLLOW) == 0 ? OCISTATE_CREATED : OCISTATE_RUNNING;
}

/* Writes len bytes to name in dirfd through a temporary file and a rename. */
static int state_write_atomic(int dirfd, const char *name, const char *data, size_t len)
{
	char tmp[300];
	int fd, rc = 0;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t w = write(fd, data, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		data += w;
		len -= (size_t)w;
	}
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && renameat(dirfd, tmp, dirfd, name) < 0)
		rc = -errno;
	if (rc)
		unlinkat(dirfd, tmp, 0);
	return rc;
}

int ocistate_save(int dirfd, const struct ocistate *st)
{
	json_t *ann = json_loads(st->annotations ? st->annotations : "{}", 0, NULL);
	json_t *o = json_pack("{s:s, s:i, s:I, s:s, s:s, s:s, s:o, s:s}", "id", st->id, "pid", st->pid, "start",
			      (json_int_t)st->start, "bundle", st->bundle, "rootfs", st->rootfs, "created",
			      st->created, "annotations", ann ? ann : json_object(), "cgroup",
			      st->cgroup ? st->cgroup : "");
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	int rc = text ? state_write_atomic(dirfd, OCISTATE_FILE, text, strlen(text)) : -ENOMEM;

	free(text);
	json_decref(o);
	return rc;
}

int ocistate_load(int dirfd, struct ocistate *st, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *o = NULL, *ann = NULL;
	const char *id, *bundle, *rootfs, *created, *cgroup = "";
	json_int_t pid, start;
	char *buf = NULL;
	int fd, rc = -EINVAL;

	memset(st, 0, sizeof(*st));
	fd = openat(dirfd, OCISTATE_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", OCISTATE_FILE, strerror(errno));
		return rc;
	}
	buf = malloc(OCISTATE_JSON_MAX + 1);
	ssize_t n = buf ? read(fd, buf, OCISTATE_JSON_MAX + 1) : -1;
	close(fd);
	if (n < 0 || (size_t)n > OCISTATE_JSON_MAX) {
		snprintf(err, errlen, "%s: unreadable or too large", OCISTATE_FILE);
		goto out;
	}
	o = json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
	if (!o || json_unpack(o, "{s:s, s:I, s:I, s:s, s:s, s:s, s:o, s?s}", "id", &id, "pid", &pid, "start", &start,
			      "bundle", &bundle, "rootfs", &rootfs, "created", &created, "annotations", &ann, "cgroup",
			      &cgroup) < 0 ||
	    pid < 0 || pid > 0x7fffffff || start < 0 || !json_is_object(ann) ||
	    (*cgroup && (cgroup[0] != '/' || strstr(cgroup, "/..")))) {
		snprintf(err, errlen, "%s: damaged", OCISTATE_FILE);
		goto out;
	}
	st->id = strdup(id);
	st->pid = (int)pid;
	st->start = (unsigned long long)start;
	st->bundle = strdup(bundle);
	st->rootfs = strdup(rootfs);
	st->created = strdup(created);
	st->annotations = json_dumps(ann, JSON_COMPACT | JSON_SORT_KEYS);
	st->cgroup = *cgroup ? strdup(cgroup) : NULL;
	if (!st->id || !st->bundle || !st->rootfs || !st->created || !st->annotations || (*cgroup && !st->cgroup)) {
		ocistate_free(st);
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	json_decref(o);
	free(buf);
	return rc;
}

char *ocistate_json(const struct ocistate *st, enum ocistate_status status)
{
	json_t *ann = json_loads(st->annotations ? st->annotations : "{}", 0, NULL);
	json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:o}", "ociVersion", "1.0.2", "id", st->id, "pid",
			      status == OCISTATE_STOPPED ? 0 : st->pid, "status", ocistate_status_name(status), "bundle",
			      st->bundle, "rootfs", st->rootfs, "created", st->created, "owner", "", "annotations",
			      ann ? ann : json_object());
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return text;
}

int ocistate_pidfile(const char *path, int pid)
{
	char tmp[4200], num[16];
	const char *slash = strrchr(path, '/');
	int fd, n, rc = 0;

	if (slash)
		n = snprintf(tmp, sizeof(tmp), "%.*s/.%s.tmp", (int)(slash - path), path, slash + 1);
	else
		n = snprintf(tmp, sizeof(tmp), ".%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	n = snprintf(num, sizeof(num), "%d", pid);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, num, (size_t)n) != n)
		rc = errno ? -errno : -EIO;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

void ocistate_now_rfc3339(char *buf, size_t n)
{
	struct timespec ts;
	struct tm tm;
	char sec[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, n, "%s.%09ldZ", sec, ts.tv_nsec);
}

void ocistate_free(struct ocistate *st)
{
	free(st->id);
	free(st->bundle);
	free(st->rootfs);
	free(st->created);
	free(st->annotations);
	free(st->cgroup);
	memset(st, 0, sizeof(*st));
}
