/* procmisc.c: groups, setuid/setgid to root, process group and session, prctl, sysinfo, waits without children, RLIMIT_NOFILE: a transcript that must read the same natively and in ukvm. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#include "transcript.h"

/* A tid surely not in use: above Linux's largest pid_max (4194304). */
#define NO_SUCH_PID 0x3ffffff0

static pid_t thread_tid;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int stage;

static void *named_thread(void *arg)
{
	char name[16] = "";
	(void)arg;
	prctl(PR_GET_NAME, name);
	printf("thread inherits name: %s\n", name);
	show("thread set name", prctl(PR_SET_NAME, "worker-abcdefghijklmnop"));
	prctl(PR_GET_NAME, name);
	printf("thread name (truncated to 15): %s\n", name);
	int sig = -1;
	prctl(PR_GET_PDEATHSIG, &sig);
	printf("thread pdeathsig (not inherited): %d\n", sig);
	pthread_mutex_lock(&mu);
	thread_tid = (pid_t)syscall(SYS_gettid);
	stage = 1;
	pthread_cond_broadcast(&cv);
	while (stage != 2)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void groups(void)
{
	gid_t set[3] = { 5, 0, 3 }, got[8];
	show("setgroups 3", setgroups(3, set));
	show("getgroups 0", getgroups(0, NULL));
	show("getgroups 2 (too small)", getgroups(2, got));
	long n = getgroups(8, got);
	printf("getgroups 8: %ld sorted %u %u %u\n", n, got[0], got[1], got[2]);
	show("setgroups -1", setgroups((size_t)-1, set));
	show("setgroups 65537", setgroups(65537, set));
	show("setgroups bad pointer", setgroups(2, (gid_t *)8));
	show("setgroups 0", setgroups(0, NULL));
	show("getgroups after 0", getgroups(8, got));
}

/* Root keeping its identity (what memcached -u root does): setgid/setuid to 0 succeed; -1 is no id. */
static void identity(void)
{
	show("setgid 0", setgid(0));
	show("setuid 0", setuid(0));
	show("setgid -1", syscall(SYS_setgid, -1));
	show("setuid -1", syscall(SYS_setuid, -1));
	printf("still root: %d %d %d %d\n", getuid(), geteuid(), getgid(), getegid());
}

static void session(pid_t tid)
{
	pid_t me = getpid();
	printf("getpgrp == pid: %d\n", getpgrp() == me);
	printf("getpgid(0) == pid: %d\n", getpgid(0) == me);
	printf("getsid(0) == pid: %d\n", getsid(0) == me);
	printf("getpgid(tid) == pid: %d\n", getpgid(tid) == me);
	printf("getsid(tid) == pid: %d\n", getsid(tid) == me);
	show("getpgid(no such)", getpgid(NO_SUCH_PID));
	show("getsid(no such)", getsid(NO_SUCH_PID));
	show("setsid (leader)", setsid());
	show("setpgid(0, 0) (session leader)", setpgid(0, 0));
	show("setpgid(0, -1)", setpgid(0, -1));
	show("setpgid(no such, 0)", setpgid(NO_SUCH_PID, 0));
	show("setpgid(tid, 0)", setpgid(tid, 0));
}

static void prctls(void)
{
	char name[16];
	int v = -1;
	show("PR_GET_DUMPABLE", prctl(PR_GET_DUMPABLE));
	show("PR_SET_DUMPABLE 2", prctl(PR_SET_DUMPABLE, 2));
	show("PR_SET_DUMPABLE 0", prctl(PR_SET_DUMPABLE, 0));
	show("PR_GET_DUMPABLE", prctl(PR_GET_DUMPABLE));
	prctl(PR_SET_DUMPABLE, 1);
	show("PR_GET_PDEATHSIG", prctl(PR_GET_PDEATHSIG, &v));
	printf("pdeathsig: %d\n", v);
	show("PR_SET_PDEATHSIG 65", prctl(PR_SET_PDEATHSIG, 65));
	show("PR_SET_PDEATHSIG SIGTERM", prctl(PR_SET_PDEATHSIG, SIGTERM));
	prctl(PR_GET_PDEATHSIG, &v);
	printf("pdeathsig: %d\n", v);
	show("PR_GET_PDEATHSIG bad pointer", prctl(PR_GET_PDEATHSIG, (int *)8));
	show("PR_SET_NAME", prctl(PR_SET_NAME, "main-thread"));
	prctl(PR_GET_NAME, name);
	printf("name: %s\n", name);
	show("PR_SET_NAME bad pointer", prctl(PR_SET_NAME, (char *)8));
	show("PR_GET_NAME bad pointer", prctl(PR_GET_NAME, (char *)8));
	show("PR_GET_NO_NEW_PRIVS", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	show("PR_SET_NO_NEW_PRIVS 2", prctl(PR_SET_NO_NEW_PRIVS, 2, 0, 0, 0));
	show("PR_GET_KEEPCAPS", prctl(PR_GET_KEEPCAPS));
	show("PR_SET_KEEPCAPS 5", prctl(PR_SET_KEEPCAPS, 5));
	show("PR_GET_TIMERSLACK", prctl(PR_GET_TIMERSLACK));
	show("PR_SET_CHILD_SUBREAPER", prctl(PR_SET_CHILD_SUBREAPER, 1));
	v = -1;
	prctl(PR_GET_CHILD_SUBREAPER, &v);
	printf("subreaper: %d\n", v);
	show("prctl 12345 (unknown)", prctl(12345, 0, 0, 0, 0));
}

static void waits(void)
{
	int st;
	siginfo_t si;
	show("wait4(-1)", wait4(-1, &st, 0, NULL));
	show("wait4(-1, WNOHANG)", wait4(-1, &st, WNOHANG, NULL));
	show("wait4 bad options", wait4(-1, &st, 0x100, NULL));
	show("waitpid(5)", waitpid(5, &st, 0));
	show("waitid(P_ALL, WEXITED)", waitid(P_ALL, 0, &si, WEXITED));
	show("waitid(P_ALL, WNOHANG|WEXITED)", waitid(P_ALL, 0, &si, WNOHANG | WEXITED));
	show("waitid no WEXITED", waitid(P_ALL, 0, &si, WNOHANG));
	show("waitid P_PID 0", waitid(P_PID, 0, &si, WEXITED));
	show("waitid P_PGID -1", waitid(P_PGID, (id_t)-1, &si, WEXITED));
	show("waitid P_PIDFD 0", waitid(P_PIDFD, 0, &si, WEXITED));
	show("waitid type 9", waitid((idtype_t)9, 0, &si, WEXITED));
}

static void sysinfos(void)
{
	struct sysinfo s;
	show("sysinfo", sysinfo(&s));
	printf("sysinfo: totalram>0 %d freeram<=totalram %d mem_unit %u procs>=2 %d\n", s.totalram > 0,
	       s.freeram <= s.totalram, s.mem_unit, s.procs >= 2);
	show("sysinfo bad pointer", sysinfo((struct sysinfo *)8));
}

static void nofile(void)
{
	struct rlimit rl = { 16, 4096 }, got;
	int fds[2];
	/* Whatever the parent left open natively: the same fds 0-2 as in ukvm. */
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	show("setrlimit NOFILE 16/4096", setrlimit(RLIMIT_NOFILE, &rl));
	getrlimit(RLIMIT_NOFILE, &got);
	printf("getrlimit NOFILE: %lu %lu\n", (unsigned long)got.rlim_cur, (unsigned long)got.rlim_max);
	/* Fill every fd below 16 (0-2 are open). */
	int last = -1, n = 0;
	for (;;) {
		int fd = open("/", O_RDONLY);
		if (fd < 0)
			break;
		last = fd;
		n++;
	}
	printf("opened %d, last fd %d, then: %s\n", n, last, errname(errno));
	show("dup", dup(0));
	show("socket", socket(AF_UNIX, SOCK_STREAM, 0));
	show("pipe", pipe(fds));
	show("dup2 to 16", dup2(0, 16));
	show("dup2 to 15", dup2(0, 15));
	show("F_DUPFD 16", fcntl(0, F_DUPFD, 16));
	show("F_DUPFD 10", fcntl(0, F_DUPFD, 10));
	close(10);
	show("F_DUPFD 10 after close", fcntl(0, F_DUPFD, 10));
	/* Lowering below fds in use keeps them and allows none above. */
	rl.rlim_cur = 5;
	show("setrlimit NOFILE 5 (fds up to 15 open)", setrlimit(RLIMIT_NOFILE, &rl));
	show("read fd 15 still open", fcntl(15, F_GETFD));
	close(3);
	show("open after closing 3", open("/", O_RDONLY));
	close(12);
	show("open after closing 12", open("/", O_RDONLY));
	show("dup2 to 12", dup2(0, 12));
	rl.rlim_cur = 5000;
	show("setrlimit cur > max", setrlimit(RLIMIT_NOFILE, &rl));
	rl = (struct rlimit){ 64, 1 << 21 };
	show("setrlimit max > nr_open", setrlimit(RLIMIT_NOFILE, &rl));
	/* (Raising the hard limit needs CAP_SYS_RESOURCE, which a container's root may lack: not compared.) */
	rl = (struct rlimit){ 64, 4096 };
	show("setrlimit NOFILE 64", setrlimit(RLIMIT_NOFILE, &rl));
	/* poll takes at most RLIMIT_NOFILE entries (Linux: EINVAL before it reads any). */
	struct pollfd pfds[65];
	for (int i = 0; i < 65; i++)
		pfds[i] = (struct pollfd){ .fd = -1 };
	show("poll 65 entries over NOFILE 64", poll(pfds, 65, 0));
	show("poll 64 entries", poll(pfds, 64, 0));
	show("prlimit64 no such pid", prlimit(NO_SUCH_PID, RLIMIT_NOFILE, NULL, &got));
	show("getrlimit 99", getrlimit(99, &got));
	for (int fd = 3; fd < 64; fd++)
		close(fd);
	show("open after raising", open("/", O_RDONLY));
}

/*
 * ukvm only (a new process cannot exist there): every way to make one
 * fails with ENOSYS, creates no thread, and each syscall's notice is
 * printed once on stderr.
 */
static int spawn(void)
{
	pid_t pid = 0;
	char *argv[] = { "/bin/true", NULL };
	extern char **environ;
	for (int i = 0; i < 2; i++) {
		int e = posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ);
		printf("posix_spawn: %s\n", e ? errname(e) : "0");
		printf("system: %d\n", system("true"));
		errno = 0;
		FILE *f = popen("true", "r");
		printf("popen: %s %s\n", f ? "FILE" : "NULL", errname(errno));
		show("fork", fork());
		show("vfork", syscall(SYS_vfork));
		show("clone(SIGCHLD)", syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0));
		show("clone(CLONE_VM|CLONE_VFORK|SIGCHLD)", syscall(SYS_clone, CLONE_VM | CLONE_VFORK | SIGCHLD, 0, 0, 0, 0));
	}
	struct sysinfo s;
	sysinfo(&s);
	printf("threads: %d\n", s.procs);
	return 0;
}

int main(int argc, char **argv)
{
	pthread_t t;

	if (argc > 1 && !strcmp(argv[1], "spawn"))
		return spawn();

	/* Natively, become a session leader like ukvm's process 1 (there it is one already: EPERM). */
	setsid();
	prctl(PR_SET_PDEATHSIG, SIGUSR1);
	pthread_create(&t, NULL, named_thread, NULL);
	pthread_mutex_lock(&mu);
	while (stage != 1)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	groups();
	identity();
	session(thread_tid);
	prctls();
	waits();
	sysinfos();
	pthread_mutex_lock(&mu);
	stage = 2;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(t, NULL);
	nofile();
	printf("procmisc done\n");
	return 0;
}
