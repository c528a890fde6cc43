/* netidle.c: a guest that only stays up (for ping from the host): prints its /etc files, sleeps argv[1] seconds (default 30), exits 0. */
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "say.h"

static void show(const char *path)
{
	char buf[1024];
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		say("netidle: %s: none\n", path);
		return;
	}
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	say("netidle: %s:\n%s", path, buf);
}

int main(int argc, char **argv)
{
	long secs = argc > 1 ? strtol(argv[1], NULL, 10) : 30;
	show("/etc/hosts");
	show("/etc/resolv.conf");
	say("netidle: up for %ld s\n", secs);
	struct timespec ts = { .tv_sec = secs };
	while (nanosleep(&ts, &ts) != 0)
		;
	say("netidle: done\n");
	return 0;
}
