/* krandom.h: internals of the guest CSPRNG (guest/kernel/random.c) exposed for its unit tests. */
#ifndef KRANDOM_H
#define KRANDOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The ChaCha20 block function of RFC 8439 section 2.3: 64 bytes of keystream for (key, counter, nonce). */
void k_chacha20_block(const uint8_t key[32], uint32_t counter, const uint8_t nonce[12], uint8_t out[64]);

/*
 * Resets the generator to a key derived from seed (any length, may be NULL
 * when len is 0) and, when hw is true, from RDSEED/RDRAND output where CPUID
 * reports them. k_random_init(seed, len) is k_random_seed(seed, len, true);
 * tests pass hw = false to get a deterministic stream.
 */
void k_random_seed(const void *seed, size_t len, bool hw);

#endif
