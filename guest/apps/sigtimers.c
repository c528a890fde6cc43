/* sigtimers.c: alarm, interval timers and POSIX timers whose signals interrupt blocked syscalls: a transcript that must read the same natively and in ukvm. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "transcript.h"

static volatile int alrm, usr1, usr1_code, usr1_value, usr1_timerid, usr1_overrun;
static volatile pid_t usr1_tid;

static void on_alrm(int sig)
{
	(void)sig;
	alrm++;
}

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	usr1++;
	usr1_code = si->si_code;
	usr1_value = si->si_value.sival_int;
	usr1_timerid = si->si_timerid;
	usr1_overrun = si->si_overrun;
	usr1_tid = (pid_t)syscall(SYS_gettid);
}

static void handle(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa = { .sa_handler = fn, .sa_flags = flags };
	sigaction(sig, &sa, NULL);
}

static void block(int sig, int how)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(how, &s, NULL);
}

/* Waits for a blocked signal: sigsuspend with it unblocked (no race with its arrival). */
static int suspend(void)
{
	sigset_t none;
	sigemptyset(&none);
	int r = sigsuspend(&none);
	return r == -1 && errno == EINTR;
}

static void ms_sleep_(long ms)
{
	struct timespec t = { ms / 1000, ms % 1000 * 1000000 };
	nanosleep(&t, NULL);
}

static void ms_itimer(int which, long value_ms, long interval_ms)
{
	struct itimerval v = { { interval_ms / 1000, interval_ms % 1000 * 1000 }, { value_ms / 1000, value_ms % 1000 * 1000 } };
	setitimer(which, &v, NULL);
}

static void itimers(void)
{
	struct itimerval v, o;
	show("alarm(0) first", alarm(0));
	alarm(5);
	show("alarm(0) after alarm(5)", alarm(0));
	alarm(1);
	getitimer(ITIMER_REAL, &v);
	printf("getitimer REAL after alarm(1): running %d interval %ld.%06ld\n",
	       (v.it_value.tv_sec == 0 && v.it_value.tv_usec > 0) || (v.it_value.tv_sec == 1 && v.it_value.tv_usec == 0),
	       (long)v.it_interval.tv_sec, (long)v.it_interval.tv_usec);
	alarm(0);
	getitimer(ITIMER_REAL, &v);
	printf("getitimer REAL disarmed: %ld.%06ld\n", (long)v.it_value.tv_sec, (long)v.it_value.tv_usec);
	v = (struct itimerval){ { 0, 0 }, { 1, 0 } };
	show("setitimer which 5", setitimer(5, &v, NULL));
	show("getitimer which -1", getitimer(-1, &v));
	v.it_value.tv_usec = 1000000;
	show("setitimer usec 1000000", setitimer(ITIMER_REAL, &v, NULL));
	v.it_value = (struct timeval){ -1, 0 };
	show("setitimer sec -1", setitimer(ITIMER_REAL, &v, NULL));
	show("getitimer bad pointer", getitimer(ITIMER_REAL, (struct itimerval *)8));
	for (int which = ITIMER_VIRTUAL; which <= ITIMER_PROF; which++) {
		v = (struct itimerval){ { 2, 500000 }, { 10, 0 } };
		show(which == ITIMER_VIRTUAL ? "setitimer VIRTUAL" : "setitimer PROF", setitimer(which, &v, NULL));
		getitimer(which, &v);
		/* Linux adds a tick to a CPU-time timer: only a loose range is the same everywhere. */
		printf("  armed: value in [9,11) s %d interval %ld.%06ld\n", v.it_value.tv_sec == 9 || v.it_value.tv_sec == 10,
		       (long)v.it_interval.tv_sec, (long)v.it_interval.tv_usec);
		v = (struct itimerval){ { 0, 0 }, { 0, 0 } };
		setitimer(which, &v, &o);
		printf("  disarmed, old interval %ld.%06ld\n", (long)o.it_interval.tv_sec, (long)o.it_interval.tv_usec);
	}
}

static void itimer_signals(void)
{
	handle(SIGALRM, on_alrm, 0);
	/* pause() until the alarm: its handler runs, pause fails with EINTR. */
	ms_itimer(ITIMER_REAL, 50, 0);
	errno = 0;
	int r = pause();
	printf("pause: %d %s handled %d\n", r, errname(errno), alrm);
	/* A sleep interrupted by SIGALRM: EINTR with time left. */
	ms_itimer(ITIMER_REAL, 30, 0);
	struct timespec req = { 3, 0 }, rem = { 0, 0 };
	r = nanosleep(&req, &rem);
	printf("nanosleep 3 s: %d %s handled %d rem>1s %d\n", r, errname(errno), alrm, rem.tv_sec >= 1);
	/* A periodic timer: three signals, then disarmed. */
	block(SIGALRM, SIG_BLOCK);
	ms_itimer(ITIMER_REAL, 10, 10);
	int waits = 0;
	while (alrm < 5)
		waits += suspend();
	ms_itimer(ITIMER_REAL, 0, 0);
	block(SIGALRM, SIG_UNBLOCK);
	printf("periodic: handled %d, every sigsuspend ended with EINTR %d\n", alrm, waits == 3);
}

/* SA_RESTART: a read interrupted by the alarm restarts and gets what a thread writes after the handler ran. */
static int pipefd[2];
static void *late_writer(void *arg)
{
	(void)arg;
	struct timespec t = { 0, 5000000 };
	while (alrm == 0)
		nanosleep(&t, NULL);
	write(pipefd[1], "x", 1);
	return NULL;
}

static void restart(void)
{
	for (int sa = 0; sa < 2; sa++) {
		pthread_t t;
		char c = 0;
		alrm = 0;
		handle(SIGALRM, on_alrm, sa ? SA_RESTART : 0);
		pipe(pipefd);
		pthread_create(&t, NULL, late_writer, NULL);
		ms_itimer(ITIMER_REAL, 30, 0);
		errno = 0;
		long n = read(pipefd[0], &c, 1);
		printf("read with SA_RESTART %d: %ld %s handled %d\n", sa, n, n < 0 ? errname(errno) : (c == 'x' ? "x" : "?"),
		       alrm);
		pthread_join(t, NULL);
		close(pipefd[0]);
		close(pipefd[1]);
	}
}

/* A process-directed SIGALRM goes to the thread that does not block it, interrupting its sleep there. */
static volatile pid_t alrm_tid;
static void on_alrm_tid(int sig)
{
	(void)sig;
	alrm_tid = (pid_t)syscall(SYS_gettid);
}
static volatile pid_t sleeper_tid;
static volatile int sleeper_intr;
static void *sleeper(void *arg)
{
	(void)arg;
	block(SIGALRM, SIG_UNBLOCK); /* a new thread starts with its creator's mask */
	sleeper_tid = (pid_t)syscall(SYS_gettid);
	struct timespec req = { 3, 0 };
	sleeper_intr = nanosleep(&req, NULL) == -1 && errno == EINTR;
	return NULL;
}

static void to_thread(void)
{
	pthread_t t;
	handle(SIGALRM, on_alrm_tid, 0);
	block(SIGALRM, SIG_BLOCK);
	pthread_create(&t, NULL, sleeper, NULL);
	ms_itimer(ITIMER_REAL, 50, 0);
	pthread_join(t, NULL);
	block(SIGALRM, SIG_UNBLOCK);
	printf("process SIGALRM, main blocks it: handled in the sleeper %d, its sleep EINTR %d\n", alrm_tid == sleeper_tid,
	       sleeper_intr);
}

/* struct sigevent as the kernel reads it, for SIGEV_THREAD_ID (the C library has no call for it). */
struct ksigevent {
	union sigval value;
	int signo, notify, tid, pad[11];
};

static void posix_timers(void)
{
	timer_t a, b;
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1, .sigev_value.sival_int = 42 };
	struct itimerspec its = { { 0, 0 }, { 0, 20000000 } }, cur;
	struct sigaction sa = { .sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO };
	sigaction(SIGUSR1, &sa, NULL);

	show("timer_create bad clock", timer_create(99, &ev, &a));
	ev.sigev_notify = 99;
	show("timer_create notify 99", timer_create(CLOCK_MONOTONIC, &ev, &a));
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = 0;
	show("timer_create signo 0", timer_create(CLOCK_MONOTONIC, &ev, &a));
	ev.sigev_signo = 65;
	show("timer_create signo 65", timer_create(CLOCK_MONOTONIC, &ev, &a));
	ev.sigev_signo = SIGUSR1;
	show("timer_create", timer_create(CLOCK_MONOTONIC, &ev, &a));
	show("timer_create NULL sevp", timer_create(CLOCK_REALTIME, NULL, &b));
	printf("ids differ: %d\n", a != b);
	show("timer_delete NULL-sevp timer", timer_delete(b));
	/* (musl's timer_delete returns the raw -errno: ask the kernel directly.) */
	show("timer_delete again", syscall(SYS_timer_delete, (long)b));
	show("timer_gettime deleted", timer_gettime(b, &cur));
	show("timer_getoverrun deleted", timer_getoverrun(b));

	/* One shot: blocked until sigsuspend, handler with SI_TIMER, the value and the id. */
	block(SIGUSR1, SIG_BLOCK);
	show("timer_settime 20 ms", timer_settime(a, 0, &its, NULL));
	timer_gettime(a, &cur);
	printf("gettime armed: running %d interval %ld\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0,
	       (long)cur.it_interval.tv_nsec);
	int e = suspend();
	printf("one shot: EINTR %d handled %d SI_TIMER %d value %d timerid ok %d overrun %d\n", e, usr1,
	       usr1_code == SI_TIMER, usr1_value, usr1_timerid == (int)(long)a, usr1_overrun);
	timer_gettime(a, &cur);
	printf("gettime expired: %ld.%09ld\n", (long)cur.it_value.tv_sec, cur.it_value.tv_nsec);

	/* Periodic while the signal is blocked: one signal, the rest are overruns. */
	its = (struct itimerspec){ { 0, 10000000 }, { 0, 10000000 } };
	timer_settime(a, 0, &its, NULL);
	struct timespec t = { 0, 120000000 };
	nanosleep(&t, NULL);
	e = suspend();
	int over = timer_getoverrun(a);
	its = (struct itimerspec){ { 0, 0 }, { 0, 0 } };
	timer_settime(a, 0, &its, NULL);
	printf("periodic, blocked 120 ms: EINTR %d handled %d si_overrun>=4 %d getoverrun same %d, after settime %d\n", e,
	       usr1, usr1_overrun >= 4, over == usr1_overrun, timer_getoverrun(a));

	/* An absolute time already past expires at once. */
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	its = (struct itimerspec){ { 0, 0 }, now };
	show("timer_settime ABSTIME past", timer_settime(a, TIMER_ABSTIME, &its, NULL));
	e = suspend();
	printf("abstime past: EINTR %d handled %d\n", e, usr1);

	its.it_value.tv_nsec = 1000000000;
	show("timer_settime nsec 1e9", timer_settime(a, 0, &its, NULL));
	show("timer_settime NULL", syscall(SYS_timer_settime, (long)a, 0, NULL, NULL));
	show("timer_settime bad id", syscall(SYS_timer_settime, 12345, 0, &its, NULL));
	show("timer_gettime bad pointer", syscall(SYS_timer_gettime, (long)a, 8));
	show("timer_delete", timer_delete(a));
	block(SIGUSR1, SIG_UNBLOCK);
}

/* SIGEV_THREAD_ID: the signal goes to one thread, interrupting its sleep there. */
static void *sleeper2(void *arg)
{
	(void)arg;
	sleeper_tid = (pid_t)syscall(SYS_gettid);
	struct timespec req = { 3, 0 };
	sleeper_intr = nanosleep(&req, NULL) == -1 && errno == EINTR;
	return NULL;
}

static void thread_id(void)
{
	pthread_t t;
	int id = -1;
	struct ksigevent kev = { .signo = SIGUSR1, .notify = 4 /* SIGEV_THREAD_ID */, .tid = 0x3ffffff0 };
	struct itimerspec its = { { 0, 0 }, { 0, 40000000 } };

	show("timer_create THREAD_ID no such tid", syscall(SYS_timer_create, CLOCK_MONOTONIC, &kev, &id));
	sleeper_tid = 0;
	sleeper_intr = 0;
	usr1_tid = 0;
	pthread_create(&t, NULL, sleeper2, NULL);
	while (!sleeper_tid)
		sched_yield();
	kev.tid = sleeper_tid;
	show("timer_create THREAD_ID", syscall(SYS_timer_create, CLOCK_MONOTONIC, &kev, &id));
	syscall(SYS_timer_settime, id, 0, &its, NULL);
	pthread_join(t, NULL);
	printf("thread-directed: handled in the target %d, its sleep EINTR %d\n", usr1_tid == sleeper_tid, sleeper_intr);
	show("timer_delete THREAD_ID", syscall(SYS_timer_delete, id));
}

/* sigwait and friends: signals taken without a handler or a default action, also from a timer's SIGEV_THREAD. */
static volatile pid_t main_tid;
static void *kill_later(void *arg)
{
	ms_sleep_(20);
	syscall(SYS_tgkill, getpid(), main_tid, (int)(long)arg);
	return NULL;
}

static volatile int notified, notify_value;
static void on_notify(union sigval v)
{
	notify_value = v.sival_int;
	notified++;
}

static void sigwaits(void)
{
	sigset_t set, pend;
	siginfo_t si;
	pthread_t t;
	int sig = 0;

	main_tid = (pid_t)syscall(SYS_gettid);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	pthread_create(&t, NULL, kill_later, (void *)(long)SIGUSR2);
	int e = sigwait(&set, &sig);
	pthread_join(t, NULL);
	printf("sigwait: %d sig %d\n", e, sig);
	/* SIGTERM's default action would end us: waited for, it is just taken. */
	pthread_create(&t, NULL, kill_later, (void *)(long)SIGTERM);
	errno = 0;
	int r = sigwaitinfo(&set, &si);
	pthread_join(t, NULL);
	printf("sigwaitinfo: %d si_signo %d si_code SI_TKILL %d\n", r, si.si_signo, si.si_code == SI_TKILL);
	struct timespec to = { 0, 20000000 };
	errno = 0;
	r = sigtimedwait(&set, &si, &to);
	printf("sigtimedwait 20 ms, nothing: %d %s\n", r, errname(errno));
	raise(SIGUSR2);
	sigpending(&pend);
	printf("sigpending: USR2 %d TERM %d\n", sigismember(&pend, SIGUSR2), sigismember(&pend, SIGTERM));
	to.tv_nsec = 0;
	r = sigtimedwait(&set, &si, &to);
	printf("sigtimedwait 0, USR2 pending: %d code SI_TKILL %d\n", r, si.si_code == SI_TKILL);
	to.tv_nsec = 1000000000;
	errno = 0;
	show("sigtimedwait bad timeout", sigtimedwait(&set, &si, &to));
	/* A handled signal outside the set ends the wait with EINTR. */
	handle(SIGALRM, on_alrm, SA_RESTART);
	ms_itimer(ITIMER_REAL, 20, 0);
	errno = 0;
	alrm = 0;
	/* (musl's sigwaitinfo retries after EINTR: ask the kernel directly.) */
	r = (int)syscall(SYS_rt_sigtimedwait, &set, &si, NULL, 8);
	printf("rt_sigtimedwait, SIGALRM handled: %d %s handler ran %d\n", r, errname(errno), alrm);
	sigprocmask(SIG_UNBLOCK, &set, NULL);

	/* SIGEV_THREAD: the C library's thread waits for the timer's signal and calls the function. */
	timer_t tm;
	struct sigevent ev = { .sigev_notify = SIGEV_THREAD, .sigev_notify_function = on_notify,
			       .sigev_value.sival_int = 77 };
	show("timer_create SIGEV_THREAD", timer_create(CLOCK_MONOTONIC, &ev, &tm));
	struct itimerspec its = { { 0, 10000000 }, { 0, 10000000 } };
	timer_settime(tm, 0, &its, NULL);
	for (int i = 0; i < 2000 && notified < 3; i++)
		ms_sleep_(1);
	timer_delete(tm);
	printf("SIGEV_THREAD: notified 3 times %d value %d\n", notified >= 3, notify_value);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc > 1 && !strcmp(argv[1], "kill")) {
		/* No handler: SIGALRM's default action ends the process (status 142). */
		printf("waiting for the alarm\n");
		alarm(1);
		pause();
		printf("not reached\n");
		return 1;
	}
	itimers();
	itimer_signals();
	restart();
	to_thread();
	posix_timers();
	thread_id();
	sigwaits();
	printf("sigtimers done\n");
	return 0;
}
