/* bigmem.c: big things ordinary programs do: MiBs of .bss, ~1 MiB of stack, a 32 MiB (or MIB argument) malloc touched page by page, a 1 MiB write() ("out"); prints "bigmem ok". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t_check.h"

#define BSS_SIZE (6u << 20)
#define BIG_MALLOC (32u << 20)
#define OUT_SIZE (1u << 20)

static unsigned char bss[BSS_SIZE];

/* ~1 KiB of frame per level: 1000 levels are ~1 MiB of stack, each frame checked on the way back. */
static uint64_t recurse(int n)
{
	volatile uint64_t frame[120];
	for (int i = 0; i < 120; i++)
		frame[i] = (uint64_t)n * 1000 + (uint64_t)i;
	uint64_t below = n ? recurse(n - 1) : 0;
	uint64_t sum = 0;
	for (int i = 0; i < 120; i++)
		sum += frame[i] == (uint64_t)n * 1000 + (uint64_t)i;
	return below + sum;
}

int main(int argc, char **argv)
{
	/* .bss is zero, every byte of it, and writable. */
	size_t nz = 0;
	for (size_t i = 0; i < BSS_SIZE; i += 64)
		nz += bss[i] != 0 || bss[i + 63] != 0;
	CHECK(nz == 0);
	memset(bss, 0xa5, BSS_SIZE);
	CHECK(bss[BSS_SIZE - 1] == 0xa5);

	CHECK(recurse(999) == 1000u * 120u);

	size_t big = BIG_MALLOC;
	int out = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "out"))
			out = 1;
		else
			big = (size_t)strtoul(argv[i], NULL, 10) << 20;
	}
	CHECK(big > 0);
	unsigned char *p = calloc(1, big);
	CHECK(p != NULL);
	if (p) {
		CHECK(p[0] == 0 && p[big / 2] == 0 && p[big - 1] == 0);
		for (size_t i = 0; i < big; i += 4096)
			p[i] = (unsigned char)(i >> 12);
		size_t bad = 0;
		for (size_t i = 0; i < big; i += 4096)
			bad += p[i] != (unsigned char)(i >> 12);
		CHECK(bad == 0);
		free(p);
		p = malloc(big); /* freed and reused: must come back, zeroed pages or not */
		CHECK(p != NULL);
		free(p);
	}
	CHECK(bss[12345] == 0xa5); /* the malloc did not land on .bss */

	/* One write() of 1 MiB to stdout: all of it arrives (the caller counts the bytes). */
	if (out) {
		char *o = malloc(OUT_SIZE);
		CHECK(o != NULL);
		if (o) {
			for (size_t i = 0; i < OUT_SIZE; i++)
				o[i] = (i % 64 == 63) ? '\n' : (char)('a' + i % 26);
			ssize_t n = write(1, o, OUT_SIZE);
			CHECK(n == (ssize_t)OUT_SIZE);
			free(o);
		}
	}
	return t_done("bigmem");
}
