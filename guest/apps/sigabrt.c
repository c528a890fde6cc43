/* sigabrt.c: abort() with a SIGABRT handler that returns: the handler runs once, then abort still ends the app (134). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void on_abrt(int sig)
{
	(void)sig;
	static const char msg[] = "SIGABRT handler ran\n";
	write(1, msg, sizeof(msg) - 1);
}

int main(void)
{
	signal(SIGABRT, on_abrt);
	abort();
}
