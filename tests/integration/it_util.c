/* it_util.c: spawns ukvm-run for integration tests and collects its output, status and times. */
#include "it_util.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

bool it_kvm_usable(char *why, size_t len)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		snprintf(why, len, "/dev/kvm: %s", strerror(errno));
		return false;
	}
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		snprintf(why, len, "KVM_CREATE_VM: %s", strerror(errno));
		close(kvm);
		return false;
	}
	close(vm);
	close(kvm);
	return true;
}

const char *it_path(const char *rel)
{
	/* Per thread (the embed suite builds paths on several), a few at once: one args array holds several. */
	static _Thread_local char buf[IT_PATH_SLOTS][4096];
	static _Thread_local unsigned n;
	const char *b = getenv("UKVM_BUILD");
	n = (n + 1) % IT_PATH_SLOTS;
	snprintf(buf[n], sizeof(buf[n]), "%s/%s", b ? b : "build", rel);
	return buf[n];
}

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Appends what is readable on fd to *buf; returns 0 at EOF, 1 if more may come. */
static int drain(int fd, char **buf, size_t *len)
{
	char tmp[65536];
	ssize_t n = read(fd, tmp, sizeof(tmp));
	if (n <= 0)
		return n < 0 && errno == EINTR;
	char *nb = realloc(*buf, *len + (size_t)n + 1);
	if (!nb)
		abort();
	memcpy(nb + *len, tmp, (size_t)n);
	*len += (size_t)n;
	nb[*len] = 0;
	*buf = nb;
	return 1;
}

/*
 * UKVM_TEST_PV=auto|off|on adds `--pv VALUE` in front of every ukvm-run
 * command line, so one host runs the suites in both modes (make check does
 * boot and blk again with off: CI keeps testing the base mode on pvm-pv hosts).
 */
static size_t it_pv_args(const char **argv)
{
	const char *pv = getenv("UKVM_TEST_PV");
	if (!pv || !*pv)
		return 0;
	argv[0] = "--pv";
	argv[1] = pv;
	return 2;
}

enum ukvm_pv it_pv_mode(void)
{
	const char *pv = getenv("UKVM_TEST_PV");
	if (pv && !strcmp(pv, "off"))
		return UKVM_PV_OFF;
	return pv && !strcmp(pv, "on") ? UKVM_PV_ON : UKVM_PV_AUTO;
}

bool it_host_has_pv(void)
{
	static int has = -1;
	if (has < 0) {
		struct it_result r = { 0 };
		const char *args[] = { "--pv", "auto", "--stats", it_path("apps/hello.img"), NULL };
		has = it_run_prog(&r, 60, NULL, args) == 0 && strstr(r.err, "ukvm-run: pv mode") != NULL;
		it_result_free(&r);
	}
	return has;
}

int it_run(struct it_result *r, double limit_s, const char *const *args)
{
	int out[2], err[2];
	memset(r, 0, sizeof(*r));
	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
		return -1;
	size_t n = 0;
	while (args[n])
		n++;
	const char **argv = calloc(n + 4, sizeof(*argv));
	char prog[4096];
	snprintf(prog, sizeof(prog), "%s", it_path("ukvm-run"));
	argv[0] = prog;
	size_t k = 1 + it_pv_args(argv + 1);
	memcpy(argv + k, args, n * sizeof(*argv));

	double t0 = now_ms();
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* stdin: /dev/null, whatever the runner's is (a terminal would have guests wait on it). */
		int null = open("/dev/null", O_RDONLY);
		dup2(null, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		execv(prog, (char *const *)argv);
		_exit(127);
	}
	free(argv);
	close(out[1]);
	close(err[1]);
	size_t olen = 0, elen = 0;
	r->out = calloc(1, 1);
	r->err = calloc(1, 1);
	struct pollfd p[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
	bool killed = false;
	while (p[0].fd >= 0 || p[1].fd >= 0) {
		double left = limit_s * 1e3 - (now_ms() - t0);
		if (left <= 0 && !killed) {
			kill(pid, SIGKILL);
			killed = true;
		}
		int k = poll(p, 2, left > 0 ? (int)left + 1 : 100);
		if (k < 0 && errno != EINTR)
			break;
		if (p[0].fd >= 0 && p[0].revents && !drain(out[0], &r->out, &olen)) {
			close(out[0]);
			p[0].fd = -1;
		}
		if (p[1].fd >= 0 && p[1].revents && !drain(err[0], &r->err, &elen)) {
			close(err[0]);
			p[1].fd = -1;
		}
	}
	int st = 0;
	struct rusage ru;
	if (wait4(pid, &st, 0, &ru) < 0)
		return -1;
	r->out_len = olen;
	r->wall_ms = now_ms() - t0;
	r->cpu_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
		    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
	r->maxrss_kib = ru.ru_maxrss;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return 0;
}

void it_result_free(struct it_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

int it_start(struct it_proc *p, const char *prog, const char *const *args)
{
	return it_start_in(p, prog, args, -1);
}

int it_start_in(struct it_proc *p, const char *prog, const char *const *args, int in_fd)
{
	int out[2], err[2];
	size_t n = 0;

	memset(p, 0, sizeof(*p));
	p->out_fd = p->err_fd = -1;
	p->r.out = calloc(1, 1);
	p->r.err = calloc(1, 1);
	if (!p->r.out || !p->r.err)
		return -1;
	if (pipe2(out, O_CLOEXEC))
		return -1;
	if (pipe2(err, O_CLOEXEC)) {
		close(out[0]);
		close(out[1]);
		return -1;
	}
	while (args[n])
		n++;
	const char **argv = calloc(n + 4, sizeof(*argv));
	char path[4096];
	snprintf(path, sizeof(path), "%s", prog ? prog : it_path("ukvm-run"));
	if (!argv)
		abort();
	argv[0] = path;
	size_t k = 1 + (prog ? 0 : it_pv_args(argv + 1));
	memcpy(argv + k, args, n * sizeof(*argv));
	p->t0 = now_ms();
	pid_t pid = fork();
	if (pid == 0) {
		int in = in_fd >= 0 ? in_fd : open("/dev/null", O_RDONLY); /* as it_run: never the runner's stdin */
		dup2(in, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	free(argv);
	close(out[1]);
	close(err[1]);
	if (pid < 0) {
		close(out[0]);
		close(err[0]);
		return -1;
	}
	p->pid = pid;
	p->out_fd = out[0];
	p->err_fd = err[0];
	return 0;
}

/* One poll round over the open outputs, waiting at most wait_ms; closes an output at EOF. */
static void it_collect(struct it_proc *p, int wait_ms)
{
	struct pollfd f[2] = {{p->out_fd, POLLIN, 0}, {p->err_fd, POLLIN, 0}};
	if (p->out_fd < 0 && p->err_fd < 0)
		return;
	if (poll(f, 2, wait_ms < 0 ? 0 : wait_ms) <= 0)
		return;
	if (p->out_fd >= 0 && f[0].revents && !drain(p->out_fd, &p->r.out, &p->r.out_len)) {
		close(p->out_fd);
		p->out_fd = -1;
	}
	if (p->err_fd >= 0 && f[1].revents && !drain(p->err_fd, &p->r.err, &p->err_len)) {
		close(p->err_fd);
		p->err_fd = -1;
	}
}

int it_wait_output(struct it_proc *p, const char *needle, double limit_s)
{
	for (;;) {
		if (memmem(p->r.out, p->r.out_len, needle, strlen(needle)))
			return 1;
		double left = limit_s * 1e3 - (now_ms() - p->t0);
		if (left <= 0 || (p->out_fd < 0 && p->err_fd < 0))
			return 0;
		it_collect(p, (int)left + 1);
	}
}

int it_finish(struct it_proc *p, int sig, double limit_s, struct it_result *r, int *termsig)
{
	bool killed = false;
	int st = 0;
	struct rusage ru;

	if (sig)
		kill(p->pid, sig);
	while (p->out_fd >= 0 || p->err_fd >= 0) {
		double left = limit_s * 1e3 - (now_ms() - p->t0);
		if (left <= 0 && !killed) {
			kill(p->pid, SIGKILL);
			killed = true;
		}
		it_collect(p, left > 0 ? (int)left + 1 : 100);
	}
	*r = p->r;
	memset(&p->r, 0, sizeof(p->r));
	if (wait4(p->pid, &st, 0, &ru) < 0)
		return -1;
	r->wall_ms = now_ms() - p->t0;
	r->cpu_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
		    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
	r->maxrss_kib = ru.ru_maxrss;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (termsig)
		*termsig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	return 0;
}

int it_disk_new(char *path, size_t len, long size)
{
	if (snprintf(path, len, "/tmp/ukvm-it-disk-XXXXXX") >= (int)len)
		return -1;
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	int r = ftruncate(fd, size);
	close(fd);
	return r ? -1 : 0;
}

void it_disk_remove(char *path)
{
	if (path[0])
		unlink(path);
	path[0] = '\0';
}

int it_run_prog(struct it_result *r, double limit_s, const char *prog, const char *const *args)
{
	struct it_proc p;
	if (it_start(&p, prog, args))
		return -1;
	return it_finish(&p, 0, limit_s, r, NULL);
}

int it_run_waiting(struct it_result *r, double limit_s, const char *const *args)
{
	struct it_proc p;
	int in[2];
	if (pipe2(in, O_CLOEXEC))
		return -1;
	int rc = it_start_in(&p, NULL, args, in[0]);
	close(in[0]);
	if (!rc)
		rc = it_finish(&p, 0, limit_s, r, NULL);
	close(in[1]); /* only now: the guest never sees the end of its input */
	return rc;
}

int it_sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd)) {
		fprintf(stderr, "it_sh: command too long: %.80s...\n", cmd);
		return -1;
	}
	int st = system(cmd);
	if (st)
		fprintf(stderr, "it_sh: %s: status %d\n", cmd, st);
	return st;
}

void it_first_diff(const char *a, const char *b, char *msg, size_t len)
{
	int line = 1;
	const char *la = a, *lb = b;
	while (*a && *a == *b) {
		if (*a == '\n') {
			line++;
			la = a + 1;
			lb = b + 1;
		}
		a++;
		b++;
	}
	snprintf(msg, len, "line %d: linux \"%.*s\" ukvm \"%.*s\"", line, (int)strcspn(la, "\n"), la,
		 (int)strcspn(lb, "\n"), lb);
}

unsigned it_fds_to(const char *target)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;
	for (struct dirent *e; d && (e = readdir(d));) {
		char p[300], t[256];
		snprintf(p, sizeof(p), "/proc/self/fd/%s", e->d_name);
		ssize_t l = readlink(p, t, sizeof(t) - 1);
		if (l > 0) {
			t[l] = 0;
			n += strcmp(t, target) == 0;
		}
	}
	if (d)
		closedir(d);
	return n;
}
