/* glibcproc.c: a glibc static program (built with gcc, not musl-gcc): threads through clone3, and posix_spawn's fork-like clone3 and clone. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>

extern char **environ;

static void *work(void *arg)
{
	return (void *)((long)arg * 2);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "spawn")) {
		/* ukvm only: no new process, ENOSYS from clone3 and then from glibc's clone fallback. */
		pid_t pid;
		char *args[] = { "/bin/true", NULL };
		int e = posix_spawn(&pid, "/bin/true", NULL, NULL, args, environ);
		printf("posix_spawn: %s\n", e == ENOSYS ? "ENOSYS" : strerror(e));
		return 0;
	}
	long sum = 0;
	pthread_t t[4];
	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, work, (void *)(i + 1));
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		sum += (long)r;
	}
	printf("glibc threads: 4 joined, sum %ld\n", sum);
	return 0;
}
