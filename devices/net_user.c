/* net_user.c: the monitor's side of the user-mode network backend: spawns ukvm-slirp, configures, starts and stops it. */
#include "net_user.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net_user_msg.h"

struct net_user {
	pid_t pid;
	int pidfd;   /* the helper, for a bounded wait and kill that cannot hit a reused pid */
	int ctl;     /* our end of the control socketpair; closing it tells the helper to exit */
	int dev_fd;  /* the device's end of the frame socketpair */
};

static void nu_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* QEMU's user-mode addressing for what cfg leaves 0; refuses what libslirp cannot serve. */
static int nu_config_build(const struct ukvm_net *cfg, struct nu_config *m, char *err, size_t errlen)
{
	memset(m, 0, sizeof(*m));
	m->magic = NU_MAGIC;
	uint32_t guest = cfg->ipv4 ? ntohl(cfg->ipv4) : 0x0a00020f; /* 10.0.2.15 */
	unsigned prefix = cfg->ipv4 && cfg->prefix ? cfg->prefix : 24;
	if (prefix < 1 || prefix > 30) {
		nu_err(err, errlen, "user network: prefix /%u: needs 1..30", prefix);
		return -EINVAL;
	}
	uint32_t mask = ~0u << (32 - prefix);
	uint32_t net = guest & mask;
	uint32_t host = cfg->gw ? ntohl(cfg->gw) : net | 2;
	uint32_t dns = cfg->dns[0] ? ntohl(cfg->dns[0]) : net | 3;
	/* libslirp answers ARP and DNS for its aliases only inside the network. */
	if ((host & mask) != net || (dns & mask) != net || host == guest || dns == guest ||
	    (guest & ~mask) == 0 || (guest & ~mask) == ~mask) {
		nu_err(err, errlen, "user network: guest, gateway and DNS need distinct host addresses in one /%u",
		       prefix);
		return -EINVAL;
	}
	if (cfg->nfwds > NU_MAX_FWDS || (cfg->nfwds && !cfg->fwds)) {
		nu_err(err, errlen, "user network: at most %d hostfwds", NU_MAX_FWDS);
		return -E2BIG;
	}
	m->net = htonl(net);
	m->mask = htonl(mask);
	m->host = htonl(host);
	m->dns = htonl(dns);
	m->guest = htonl(guest);
	m->mtu = cfg->mtu ? cfg->mtu : 1500;
	m->nfwds = cfg->nfwds;
	for (unsigned i = 0; i < cfg->nfwds; i++) {
		const struct ukvm_hostfwd *f = &cfg->fwds[i];
		if (!f->host_port || !f->guest_port) {
			nu_err(err, errlen, "hostfwd %u: port 0", i);
			return -EINVAL;
		}
		m->fwds[i] = (struct nu_fwd){ .udp = f->udp, .host_port = f->host_port, .guest_port = f->guest_port,
					      .host_addr = f->host_addr, .guest_addr = f->guest_addr };
	}
	return 0;
}

/* $UKVM_SLIRP_HELPER, else next to the running executable when it is there, else the bare name for $PATH. */
static void nu_helper_path(char *path, size_t len)
{
	const char *env = getenv("UKVM_SLIRP_HELPER");
	if (env && *env) {
		snprintf(path, len, "%s", env);
		return;
	}
	char exe[PATH_MAX - sizeof(NET_USER_HELPER) - 1];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0 && len >= PATH_MAX) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(path, len, "%s/%s", exe, NET_USER_HELPER);
			if (access(path, X_OK) == 0)
				return;
		}
	}
	snprintf(path, len, "%s", NET_USER_HELPER);
}

/*
 * Starts the helper with frames on NU_FD_FRAMES and ctl on NU_FD_CTL (both
 * first moved to 10 and up so dup2 never meets its own source), stdin and
 * stdout on /dev/null (stdout may be the guest console), stderr shared for
 * warnings, an empty environment and signal mask.
 */
static int nu_spawn(int frames, int ctl, pid_t *pid, char *err, size_t errlen)
{
	char path[PATH_MAX];
	nu_helper_path(path, sizeof(path));
	int hi_frames = fcntl(frames, F_DUPFD_CLOEXEC, 10);
	int hi_ctl = fcntl(ctl, F_DUPFD_CLOEXEC, 10);
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	int r = hi_frames < 0 || hi_ctl < 0 ? errno : 0;
	if (r)
		goto out_fds;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, hi_frames, NU_FD_FRAMES);
	posix_spawn_file_actions_adddup2(&fa, hi_ctl, NU_FD_CTL);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	char *argv[] = { (char *)NET_USER_HELPER, NULL };
	char *envp[] = { NULL };
	r = posix_spawnp(pid, path, &fa, &at, argv, envp);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
out_fds:
	if (r)
		nu_err(err, errlen, "user network: cannot start %s: %s", path, strerror(r));
	if (hi_frames >= 0)
		close(hi_frames);
	if (hi_ctl >= 0)
		close(hi_ctl);
	return -r;
}

/* Sends msg and waits (bounded) for the helper's reply; its error line goes to err. */
static int nu_call(struct net_user *u, const void *msg, size_t len, char *err, size_t errlen)
{
	if (send(u->ctl, msg, len, MSG_NOSIGNAL) != (ssize_t)len) {
		nu_err(err, errlen, "user network: helper gone: %s", strerror(errno));
		return -EPIPE;
	}
	struct pollfd p = { .fd = u->ctl, .events = POLLIN };
	int n = poll(&p, 1, NET_USER_REPLY_MS);
	struct nu_reply rep;
	ssize_t got = n == 1 ? recv(u->ctl, &rep, sizeof(rep), MSG_DONTWAIT) : -1;
	if (n == 0) {
		nu_err(err, errlen, "user network: helper did not answer in %d ms", NET_USER_REPLY_MS);
		return -ETIMEDOUT;
	}
	if (got != (ssize_t)sizeof(rep)) {
		nu_err(err, errlen, "user network: helper %s failed (see its message above)", NET_USER_HELPER);
		return -EPIPE;
	}
	rep.msg[sizeof(rep.msg) - 1] = '\0';
	if (rep.err)
		nu_err(err, errlen, "%s", rep.msg);
	return rep.err < 0 && rep.err > -4096 ? rep.err : (rep.err ? -EIO : 0);
}

int net_user_open(const struct ukvm_net *cfg, struct net_user **out, int *fd, char *err, size_t errlen)
{
	struct nu_config m;
	int frames[2], ctl[2];
	int r = nu_config_build(cfg, &m, err, errlen);
	if (r)
		return r;
	struct net_user *u = calloc(1, sizeof(*u));
	if (!u) {
		nu_err(err, errlen, "user network: out of memory");
		return -ENOMEM;
	}
	u->pidfd = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, frames) < 0)
		goto err_errno;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0) {
		close(frames[0]);
		close(frames[1]);
		goto err_errno;
	}
	u->dev_fd = frames[0];
	u->ctl = ctl[0];
	r = nu_spawn(frames[1], ctl[1], &u->pid, err, errlen);
	close(frames[1]);
	close(ctl[1]);
	if (r)
		goto err_fds;
	/* Our unreaped child: its pid cannot be reused before we wait for it. */
	u->pidfd = (int)syscall(SYS_pidfd_open, u->pid, 0);
	r = nu_call(u, &m, sizeof(m), err, errlen);
	if (r)
		goto err_helper;
	*out = u;
	*fd = u->dev_fd;
	return 0;

err_helper:
	net_user_close(u);
	return r;
err_fds:
	close(u->dev_fd);
	close(u->ctl);
	free(u);
	return r;
err_errno:
	r = -errno;
	nu_err(err, errlen, "user network: socketpair: %s", strerror(errno));
	free(u);
	return r;
}

int net_user_start(struct net_user *u, bool seccomp)
{
	struct nu_start s = { .magic = NU_MAGIC, .seccomp = seccomp };
	char err[sizeof(((struct nu_reply *)0)->msg)];
	int r = nu_call(u, &s, sizeof(s), err, sizeof(err));
	if (r)
		fprintf(stderr, "ukvm: %s\n", err);
	return r;
}

/* Waits up to ms for the helper to exit (its pidfd turns readable). */
static bool nu_exited(int pidfd, int ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	return ppoll(&p, 1, &ts, NULL) == 1;
}

void net_user_close(struct net_user *u)
{
	if (!u)
		return;
	close(u->ctl);
	close(u->dev_fd);
	if (u->pidfd >= 0) {
		if (!nu_exited(u->pidfd, NET_USER_EXIT_MS))
			syscall(SYS_pidfd_send_signal, u->pidfd, SIGKILL, NULL, 0);
		siginfo_t si;
		/* Reaps it; an embedder's SIGCHLD handler may have already (ECHILD). */
		syscall(SYS_waitid, P_PIDFD, u->pidfd, &si, WEXITED, NULL);
		close(u->pidfd);
	} else {
		kill(u->pid, SIGKILL);
		waitpid(u->pid, NULL, 0);
	}
	free(u);
}
