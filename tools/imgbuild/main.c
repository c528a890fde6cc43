/* main.c: the ukvm-build command line: parses arguments, finds the kernel, packs and writes the image. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pack.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: ukvm-build -o OUT.img [--kernel KERNEL.elf] [--file HOST[:GUEST]]...\n"
		   "                  [--dir HOSTDIR[:GUESTDIR]]... APP_ELF\n"
		   "Packs the ukvm guest kernel, a static x86-64 Linux program (musl-gcc -static)\n"
		   "and files into one bootable image for ukvm-run.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'}, {"kernel", required_argument, NULL, 'k'},
		{"file", required_argument, NULL, 'f'},   {"dir", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	struct pack_spec *specs = calloc((size_t)argc, sizeof(*specs));
	struct pack_input in = {.specs = specs};
	struct pack_result res;
	char kernel[PATH_MAX], err[PATH_MAX + 256];
	const char *outp = NULL;
	int c;

	if (specs == NULL)
		return 1;
	while ((c = getopt_long(argc, argv, "o:k:f:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			outp = optarg;
			break;
		case 'k':
			in.kernel_path = optarg;
			break;
		case 'f':
		case 'd':
			if (pack_parse_spec(optarg, c == 'd', &specs[in.nspecs]) < 0) {
				fprintf(stderr, "ukvm-build: --%s needs HOST[:GUEST]\n", c == 'd' ? "dir" : "file");
				return 2;
			}
			in.nspecs++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (outp == NULL || optind != argc - 1) {
		fprintf(stderr, "ukvm-build: %s\n", outp ? "exactly one APP_ELF expected" : "-o OUT.img is required");
		usage(stderr);
		return 2;
	}
	in.app_path = argv[optind];
	if (in.kernel_path == NULL) {
		if (pack_default_kernel(kernel, sizeof(kernel)) < 0) {
			fprintf(stderr, "ukvm-build: no guest kernel found next to this program "
					"(../lib/ukvm/ukvm-kernel.elf or guest/ukvm-kernel.elf); use --kernel\n");
			return 1;
		}
		in.kernel_path = kernel;
	}
	if (pack_build(&in, &res, err, sizeof(err)) < 0) {
		fprintf(stderr, "ukvm-build: %s\n", err);
		return 1;
	}
	if (pack_write(outp, res.image, res.size, err, sizeof(err)) < 0) {
		fprintf(stderr, "ukvm-build: %s\n", err);
		pack_result_free(&res);
		return 1;
	}
	pack_result_free(&res);
	free(specs);
	return 0;
}
