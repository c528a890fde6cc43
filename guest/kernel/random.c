/* random.c: the kernel CSPRNG: ChaCha20 (RFC 8439) with fast key erasure, seeded by boot (FDT seed, RDSEED/RDRAND). */
#include <stdbool.h>
#include <string.h>

#include "krandom.h"
#include "restore.h"
#include "panic.h"

/*
 * Design (Bernstein's "fast-key-erasure" RNG): the state is one 256-bit key.
 * A request runs ChaCha20 under that key with nonce 0: block 0 becomes the
 * next key, blocks 1.. are the output, and the old key is wiped before
 * returning, so a later compromise of the state cannot reveal earlier output.
 */
static uint8_t random_key[32];
static bool random_ready;
static uint32_t random_absorbs;
static unsigned random_hw; /* k_random_init's hw, for k_random_reseed */

/* Largest output per key, so the 32-bit block counter never wraps. */
#define RANDOM_CHUNK (1u << 20)
/* Bounded retries: RDRAND/RDSEED may fail transiently (CF = 0); never spin on a broken one. */
#define RANDOM_HW_TRIES 16

static const uint8_t random_absorb_nonce[12] = "ukvm-absorb";
static const uint8_t random_out_nonce[12];

static uint32_t random_rotl(uint32_t v, int c)
{
	return (v << c) | (v >> (32 - c));
}

static uint32_t random_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* RFC 8439 2.1: the quarter round on four words of the state. */
#define RANDOM_QR(x, a, b, c, d)                                                   \
	do {                                                                       \
		x[a] += x[b]; x[d] = random_rotl(x[d] ^ x[a], 16);                 \
		x[c] += x[d]; x[b] = random_rotl(x[b] ^ x[c], 12);                 \
		x[a] += x[b]; x[d] = random_rotl(x[d] ^ x[a], 8);                  \
		x[c] += x[d]; x[b] = random_rotl(x[b] ^ x[c], 7);                  \
	} while (0)

/* Compiler barrier after wiping, so the stores to a dying buffer are kept. */
static void random_wipe(void *p, size_t n)
{
	memset(p, 0, n);
	__asm__ volatile("" : : "r"(p) : "memory");
}

void k_random_chacha20_block(const uint8_t key[32], uint32_t counter, const uint8_t nonce[12], uint8_t out[64])
{
	uint32_t in[16], x[16];

	/* RFC 8439 2.3: constants "expand 32-byte k", key, counter, nonce; all little-endian words. */
	in[0] = 0x61707865;
	in[1] = 0x3320646e;
	in[2] = 0x79622d32;
	in[3] = 0x6b206574;
	for (int i = 0; i < 8; i++)
		in[4 + i] = random_le32(key + 4 * i);
	in[12] = counter;
	for (int i = 0; i < 3; i++)
		in[13 + i] = random_le32(nonce + 4 * i);
	memcpy(x, in, sizeof(x));
	for (int i = 0; i < 10; i++) {
		RANDOM_QR(x, 0, 4, 8, 12);
		RANDOM_QR(x, 1, 5, 9, 13);
		RANDOM_QR(x, 2, 6, 10, 14);
		RANDOM_QR(x, 3, 7, 11, 15);
		RANDOM_QR(x, 0, 5, 10, 15);
		RANDOM_QR(x, 1, 6, 11, 12);
		RANDOM_QR(x, 2, 7, 8, 13);
		RANDOM_QR(x, 3, 4, 9, 14);
	}
	for (int i = 0; i < 16; i++) {
		uint32_t v = x[i] + in[i];
		out[4 * i] = (uint8_t)v;
		out[4 * i + 1] = (uint8_t)(v >> 8);
		out[4 * i + 2] = (uint8_t)(v >> 16);
		out[4 * i + 3] = (uint8_t)(v >> 24);
	}
	random_wipe(x, sizeof(x));
	random_wipe(in, sizeof(in));
}

/* Mixes data into the key: XOR each 32-byte chunk in, then replace the key by a ChaCha20 block under it. */
static void random_absorb(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint8_t blk[64];

	do {
		size_t n = len < 32 ? len : 32;
		for (size_t i = 0; i < n; i++)
			random_key[i] ^= p[i];
		k_random_chacha20_block(random_key, random_absorbs++, random_absorb_nonce, blk);
		memcpy(random_key, blk, 32);
		p += n;
		len -= n;
	} while (len);
	random_wipe(blk, sizeof(blk));
}

/* One 64-bit value from RDSEED (preferred: true entropy) or RDRAND; false when neither delivers. */
static bool random_hw64(bool seed_ok, bool rand_ok, uint64_t *v)
{
	for (int i = 0; seed_ok && i < RANDOM_HW_TRIES; i++) {
		unsigned char ok;
		__asm__ volatile("rdseed %0; setc %1" : "=r"(*v), "=qm"(ok) : : "cc");
		if (ok)
			return true;
	}
	for (int i = 0; rand_ok && i < RANDOM_HW_TRIES; i++) {
		unsigned char ok;
		__asm__ volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok) : : "cc");
		if (ok)
			return true;
	}
	return false;
}

/* Absorbs 256 bits from the CPU's generator: hw says which of RDSEED/RDRAND it has (K_RANDOM_HW_*). */
static void random_absorb_hw(unsigned hw)
{
	uint64_t v[4];
	size_t n = 0;

	while (n < 4 && random_hw64(hw & K_RANDOM_HW_RDSEED, hw & K_RANDOM_HW_RDRAND, &v[n]))
		n++;
	if (n)
		random_absorb(v, n * sizeof(v[0]));
	random_wipe(v, sizeof(v));
}

void k_random_init(const void *seed, size_t len, unsigned hw)
{
	random_wipe(random_key, sizeof(random_key));
	random_absorbs = 0;
	random_absorb(seed ? seed : "", seed ? len : 0);
	if (hw)
		random_absorb_hw(hw);
	random_hw = hw;
	random_ready = true;
}

void k_random_reseed(const void *seed, size_t len)
{
	random_absorb(seed, len);
	if (random_hw)
		random_absorb_hw(random_hw);
}

void k_random_bytes(void *buf, size_t len)
{
	uint8_t *out = buf;
	uint8_t key[32], blk[64];

	if (!random_ready)
		k_panic("k_random_bytes before k_random_init"); /* boot seeds it before anything can ask */
	k_restore_check(); /* restored from a snapshot taken running: reseeded before the first byte */
	do {
		size_t n = len < RANDOM_CHUNK ? len : RANDOM_CHUNK;
		memcpy(key, random_key, sizeof(key));
		k_random_chacha20_block(key, 0, random_out_nonce, blk);
		memcpy(random_key, blk, 32);
		for (uint32_t ctr = 1; n; ctr++) {
			size_t m = n < 64 ? n : 64;
			k_random_chacha20_block(key, ctr, random_out_nonce, blk);
			memcpy(out, blk, m);
			out += m;
			n -= m;
			len -= m;
		}
	} while (len);
	random_wipe(key, sizeof(key));
	random_wipe(blk, sizeof(blk));
}
