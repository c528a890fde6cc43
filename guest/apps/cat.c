/* cat.c: copies the file named by argv[1] to stdout byte-exact (the packed-file test). */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static char buf[65536];
	ssize_t n;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: cat FILE\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(1, buf + done, (size_t)(n - done));

			if (w < 0) {
				perror("write");
				return 1;
			}
			done += w;
		}
	}
	if (n < 0) {
		perror("read");
		return 1;
	}
	close(fd);
	return 0;
}
