/* sigbad.c: signal misuse that must kill like Linux (status 139): "refault" (a SIGSEGV handler faults again), "badret" (rt_sigreturn on an unmapped frame). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int *volatile null_ptr;
static volatile int handler_runs;

static void on_segv(int sig)
{
	(void)sig;
	handler_runs++;
	static const char msg[] = "in SIGSEGV handler\n";
	write(1, msg, sizeof(msg) - 1);
	*null_ptr = 2; /* SIGSEGV is blocked here: Linux kills the process */
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "refault")) {
		signal(SIGSEGV, on_segv);
		*null_ptr = 1;
		return 3;
	}
	if (argc > 1 && !strcmp(argv[1], "badret")) {
		__asm__ volatile("mov $8, %%rsp\n mov $15, %%eax\n syscall" ::: "memory");
		return 4;
	}
	fputs("usage: sigbad refault|badret\n", stderr);
	return 2;
}
