/* krandom.h: the kernel CSPRNG (guest/kernel/random.c): ChaCha20 with fast key erasure. */
#ifndef KRANDOM_H
#define KRANDOM_H

#include <stddef.h>
#include <stdint.h>

/* Sources k_random_init may mix in besides the seed: the CPU's RDRAND / RDSEED, as CPUID reports them. */
#define K_RANDOM_HW_RDRAND 1u
#define K_RANDOM_HW_RDSEED 2u

/*
 * (Re)seeds the generator: a key derived from seed (any length; NULL when
 * len is 0) and, for each K_RANDOM_HW_* bit in hw, 256 bits from that
 * instruction (bounded retries). Boot calls it once before anything reads
 * random bytes; hw = 0 gives a deterministic stream (tests).
 */
void k_random_init(const void *seed, size_t len, unsigned hw);

/* Fills buf with len CSPRNG bytes. Panics when called before k_random_init. */
void k_random_bytes(void *buf, size_t len);

/*
 * Mixes len bytes of fresh entropy (and the CPU's, when k_random_init was
 * given any) into the key: a VM restored from a snapshot calls it with the
 * monitor's seed, so VMs from one snapshot never share output.
 */
void k_random_reseed(const void *seed, size_t len);

/* The ChaCha20 block function of RFC 8439 section 2.3: 64 bytes of keystream for (key, counter, nonce). */
void k_random_chacha20_block(const uint8_t key[32], uint32_t counter, const uint8_t nonce[12], uint8_t out[64]);

#endif
