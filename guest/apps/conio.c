/* conio.c: what a program sees of its console (isatty and terminal requests on fds 0-2, a line to each stream, a notice, many lines) and of its users. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

/* The few errno names these answers can have (musl has no conio_errname). */
static const char *conio_errname(int e)
{
	switch (e) {
	case ENOTTY: return "ENOTTY";
	case EINVAL: return "EINVAL";
	case EBADF: return "EBADF";
	case ENOSYS: return "ENOSYS";
	case EFAULT: return "EFAULT";
	}
	return "other";
}

/* fd N: tty=0|1 winsz=RxC|errno tcgets=ok|errno: the same line natively and in ukvm. */
static void conio_info(int fd)
{
	struct winsize ws;
	struct termios t;
	char wbuf[32];
	int tty = isatty(fd);
	if (ioctl(fd, TIOCGWINSZ, &ws) == 0)
		snprintf(wbuf, sizeof(wbuf), "%ux%u", ws.ws_row, ws.ws_col);
	else
		snprintf(wbuf, sizeof(wbuf), "%s", conio_errname(errno));
	int g = tcgetattr(fd, &t);
	printf("fd %d: tty=%d winsz=%s tcgets=%s\n", fd, tty, wbuf, g == 0 ? "ok" : conio_errname(errno));
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "info";
	if (!strcmp(mode, "info")) {
		for (int fd = 0; fd < 3; fd++)
			conio_info(fd);
		return 0;
	}
	if (!strcmp(mode, "streams")) {
		/* Unbuffered writes, so the order inside each stream is the program's. */
		static const char out[] = "to stdout\n", err[] = "to stderr\n";
		if (write(1, out, sizeof(out) - 1) < 0 || write(2, err, sizeof(err) - 1) < 0)
			return 1;
		return 0;
	}
	if (!strcmp(mode, "notice")) {
		/* A syscall number nobody implements: ENOSYS on Linux, and ukvm's one-time notice. */
		long r = syscall(999);
		printf("syscall 999: %ld %s\n", r, r < 0 ? conio_errname(errno) : "");
		return 0;
	}
	if (!strcmp(mode, "users")) {
		/* What servers that look users up see (memcached -u nobody): root and nobody, group 0. */
		/* Each lookup reuses libc's static entry: print before the next one. */
		struct passwd *r = getpwnam("root");
		printf("root: %s\n", r ? (r->pw_uid == 0 && r->pw_gid == 0 && !strcmp(r->pw_dir, "/root") ? "0 0 /root" : "odd") : "missing");
		struct passwd *n = getpwnam("nobody");
		printf("nobody: %s\n", n ? (n->pw_uid == 65534 ? "65534" : "odd") : "missing");
		struct group *g = getgrgid(0);
		printf("group 0: %s\n", g ? g->gr_name : "missing");
		return 0;
	}
	if (!strcmp(mode, "lines") && argc > 2) {
		/* What `seq N` does: one printf per line, stdio's buffering decides the writes. */
		long n = strtol(argv[2], NULL, 10);
		for (long i = 1; i <= n; i++)
			printf("%ld\n", i);
		return 0;
	}
	fprintf(stderr, "usage: conio [info|streams|notice|users|lines N]\n");
	return 2;
}
