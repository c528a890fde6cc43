/* malloc.c: allocator stress: sizes 1 B..1 MiB, realloc growth and shrink, frees, content checks; 100 MiB over its life. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 64
#define TOTAL (100ull << 20)

static uint32_t seed = 0x12345678;

static uint32_t rnd(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 17;
	seed ^= seed << 5;
	return seed;
}

/* Byte i of a block tagged t: changes with both, so a block mixed up with another is caught. */
static uint8_t pat(size_t i, uint32_t t)
{
	return (uint8_t)(i * 31u + t * 7u + (i >> 8));
}

static void fill(uint8_t *p, size_t n, uint32_t t)
{
	for (size_t i = 0; i < n; i++)
		p[i] = pat(i, t);
}

static int check(const uint8_t *p, size_t n, uint32_t t)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != pat(i, t)) {
			fprintf(stderr, "malloc: mismatch at byte %zu of %zu (tag %u)\n", i, n, t);
			return -1;
		}
	return 0;
}

/* Mostly small, sometimes up to 1 MiB: the log-uniform spread exercises every size class. */
static size_t rnd_size(void)
{
	unsigned shift = rnd() % 21; /* 2^0 .. 2^20 */

	return 1 + rnd() % (1u << shift);
}

int main(void)
{
	uint8_t *p[SLOTS] = {0};
	size_t sz[SLOTS] = {0};
	uint32_t tag[SLOTS] = {0};
	unsigned long long total = 0;
	uint32_t next_tag = 1;

	while (total < TOTAL) {
		unsigned s = rnd() % SLOTS;

		if (p[s] && check(p[s], sz[s], tag[s]))
			return 1;
		switch (rnd() % 3) {
		case 0: /* free and allocate afresh */
			free(p[s]);
			sz[s] = rnd_size();
			p[s] = malloc(sz[s]);
			if (!p[s])
				return fprintf(stderr, "malloc: malloc(%zu) failed\n", sz[s]), 2;
			tag[s] = next_tag++;
			fill(p[s], sz[s], tag[s]);
			total += sz[s];
			break;
		case 1: { /* realloc: grow or shrink, the common prefix must survive */
			size_t n = rnd_size(), keep = n < sz[s] ? n : sz[s];
			uint8_t *q = realloc(p[s], n);

			if (!q)
				return fprintf(stderr, "malloc: realloc(%zu) failed\n", n), 2;
			if (check(q, keep, tag[s]))
				return 1;
			p[s] = q;
			sz[s] = n;
			tag[s] = next_tag++;
			fill(q, n, tag[s]);
			if (n > keep)
				total += n - keep;
			break;
		}
		default: /* free, leaving a hole */
			free(p[s]);
			p[s] = NULL;
			sz[s] = 0;
		}
	}
	for (unsigned s = 0; s < SLOTS; s++) {
		if (p[s] && check(p[s], sz[s], tag[s]))
			return 1;
		free(p[s]);
	}
	/* calloc must hand back zeroes even for memory that held a pattern. */
	uint8_t *z = calloc(1, 1 << 20);
	if (!z)
		return 2;
	for (size_t i = 0; i < (1 << 20); i++)
		if (z[i])
			return fprintf(stderr, "malloc: calloc byte %zu not zero\n", i), 1;
	free(z);
	printf("malloc ok\n");
	return 0;
}
