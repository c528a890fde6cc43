/*
 * sigterm.c: a server's graceful stop. Installs handlers for SIGTERM, SIGINT,
 * SIGHUP, SIGQUIT and SIGUSR1, says "ready", then waits for one: blocked in
 * pause() ("wait"), making syscalls ("busy") or computing without any
 * ("compute"). Prints which signal came and from whom, and exits 0.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got, code, pid;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	code = si->si_code;
	pid = si->si_pid;
	got = sig;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "wait";
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO;
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	printf("ready\n");
	fflush(stdout);
	if (!strcmp(mode, "busy")) {
		while (!got)
			getppid();
	} else if (!strcmp(mode, "compute")) {
		while (!got)
			__asm__ volatile("" ::: "memory");
	} else {
		while (!got)
			pause();
	}
	printf("got signal %d (%s) si_code %d si_pid %d\n", (int)got, strsignal(got), (int)code, (int)pid);
	return 0;
}
