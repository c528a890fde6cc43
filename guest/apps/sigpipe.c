/* sigpipe.c: a write to a pipe nobody reads kills the app with SIGPIPE (status 141), as on Linux. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	int p[2];
	if (pipe(p))
		return 1;
	close(p[0]);
	ssize_t n = write(p[1], "x", 1);
	printf("write returned %zd: SIGPIPE was not raised\n", n);
	return 2;
}
