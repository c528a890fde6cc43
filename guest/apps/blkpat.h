/* blkpat.h: the position-dependent test pattern of the blk guest apps, shared with the host side of bench-blk (tools/bench/blkrun.c) and check_blk.c. */
#ifndef BLKPAT_H
#define BLKPAT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Byte i of pattern `seed` depends only on (seed, i), so a writer and a
 * reader may use different chunk sizes and offsets and still agree: 8-byte
 * words of splitmix64(seed, word index), little-endian.
 */
static inline uint64_t blkpat_word(uint64_t seed, uint64_t word)
{
	uint64_t z = seed * 0x9e3779b97f4a7c15ull + word * 0xbf58476d1ce4e5b9ull + 1;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Fills buf with the len pattern bytes that belong at offsets off .. off + len - 1. */
static inline void blkpat_fill(void *buf, uint64_t off, size_t len, uint64_t seed)
{
	unsigned char *b = buf;
	size_t i = 0;

	while (i < len) {
		uint64_t pos = off + i, w = blkpat_word(seed, pos >> 3);
		unsigned sh = (unsigned)(pos & 7);
		if (sh == 0 && len - i >= 8) {
			for (unsigned k = 0; k < 8; k++)
				b[i + k] = (unsigned char)(w >> (8 * k));
			i += 8;
			continue;
		}
		b[i++] = (unsigned char)(w >> (8 * sh));
	}
}

/* Index of the first byte of buf that differs from the pattern, or len if all match. */
static inline size_t blkpat_check(const void *buf, uint64_t off, size_t len, uint64_t seed)
{
	const unsigned char *b = buf;

	for (size_t i = 0; i < len; i++) {
		uint64_t pos = off + i;
		if (b[i] != (unsigned char)(blkpat_word(seed, pos >> 3) >> (8 * (pos & 7))))
			return i;
	}
	return len;
}

#endif
