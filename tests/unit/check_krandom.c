/* check_krandom.c: the guest CSPRNG (ChaCha20 block against RFC 8439, seeding, key erasure) and getrandom(2). */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "misc_stubs.h"

#include "krandom.h"
#include "sys.h"

/* RFC 8439 section 2.3.2: key 00..1f, nonce 00 00 00 09 00 00 00 4a 00 00 00 00, counter 1. */
static const uint8_t rfc_serialized[64] = {
	0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15, 0x50, 0x0f, 0xdd, 0x1f, 0xa3, 0x20, 0x71, 0xc4,
	0xc7, 0xd1, 0xf4, 0xc7, 0x33, 0xc0, 0x68, 0x03, 0x04, 0x22, 0xaa, 0x9a, 0xc3, 0xd4, 0x6c, 0x4e,
	0xd2, 0x82, 0x64, 0x46, 0x07, 0x9f, 0xaa, 0x09, 0x14, 0xc2, 0xd7, 0x05, 0xd9, 0x8b, 0x02, 0xa2,
	0xb5, 0x12, 0x9c, 0xd1, 0xde, 0x16, 0x4e, 0xb9, 0xcb, 0xd0, 0x83, 0xe8, 0xa2, 0x50, 0x3c, 0x4e,
};

START_TEST(test_chacha20_rfc8439)
{
	uint8_t key[32], out[64];
	const uint8_t nonce[12] = { 0, 0, 0, 0x09, 0, 0, 0, 0x4a, 0, 0, 0, 0 };

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	k_random_chacha20_block(key, 1, nonce, out);
	ck_assert_mem_eq(out, rfc_serialized, 64);
	/* The counter matters: block 2 of the same key is different. */
	k_random_chacha20_block(key, 2, nonce, out);
	ck_assert_int_ne(memcmp(out, rfc_serialized, 64), 0);
}
END_TEST

/* RFC 8439 A.1 test vector #1: all-zero key and nonce, counter 0. */
START_TEST(test_chacha20_zero)
{
	uint8_t key[32] = { 0 }, nonce[12] = { 0 }, out[64];
	static const uint8_t want[16] = { 0x76, 0xb8, 0xe0, 0xad, 0xa0, 0xf1, 0x3d, 0x90,
					  0x40, 0x5d, 0x6a, 0xe5, 0x53, 0x86, 0xbd, 0x28 };

	k_random_chacha20_block(key, 0, nonce, out);
	ck_assert_mem_eq(out, want, 16);
}
END_TEST

/* Two VMs restored from one snapshot share the generator's state: a different reseed makes their output differ. */
START_TEST(test_reseed_after_restore)
{
	uint8_t a[64], b[64], c[64];
	uint8_t s1[32], s2[32];

	memset(s1, 1, sizeof(s1));
	memset(s2, 2, sizeof(s2));
	k_random_init("snapshot", 8, 0);
	k_random_reseed(s1, sizeof(s1));
	k_random_bytes(a, sizeof(a));
	k_random_init("snapshot", 8, 0);
	k_random_reseed(s2, sizeof(s2));
	k_random_bytes(b, sizeof(b));
	ck_assert_int_ne(memcmp(a, b, sizeof(a)), 0);
	k_random_init("snapshot", 8, 0);
	k_random_bytes(c, sizeof(c));
	ck_assert_int_ne(memcmp(a, c, sizeof(a)), 0); /* the reseed changed the stream */
	k_random_init("snapshot", 8, 0);
	k_random_reseed(s1, sizeof(s1));
	k_random_bytes(c, sizeof(c));
	ck_assert_mem_eq(a, c, sizeof(a)); /* a deterministic mix (hw = 0) */
}
END_TEST

START_TEST(test_seed_determinism)
{
	uint8_t a[100], b[100], c[100];

	k_random_init("seed-one", 8, 0);
	k_random_bytes(a, sizeof(a));
	k_random_init("seed-one", 8, 0);
	k_random_bytes(b, sizeof(b));
	ck_assert_mem_eq(a, b, sizeof(a));
	k_random_init("seed-two", 8, 0);
	k_random_bytes(c, sizeof(c));
	ck_assert_int_ne(memcmp(a, c, sizeof(a)), 0);
	/* Seeds that differ only past the first 32 bytes still give different streams. */
	uint8_t s1[40] = { 0 }, s2[40] = { 0 };
	s2[39] = 1;
	k_random_init(s1, sizeof(s1), 0);
	k_random_bytes(a, sizeof(a));
	k_random_init(s2, sizeof(s2), 0);
	k_random_bytes(c, sizeof(c));
	ck_assert_int_ne(memcmp(a, c, sizeof(a)), 0);
}
END_TEST

/*
 * Fast key erasure, recomputed by hand: seeding with "x" (no hardware) sets
 * K0 = block(0 ^ "x", 0, "ukvm-absorb")[0..32]; a request returns blocks 1..
 * under K0 with nonce 0 and replaces the key by block 0 under K0.
 */
START_TEST(test_key_erasure)
{
	uint8_t got1[64], got2[64], blk[64], k0[32] = { 'x' }, k1[32];
	const uint8_t zero_nonce[12] = { 0 };

	k_random_chacha20_block(k0, 0, (const uint8_t *)"ukvm-absorb", blk);
	memcpy(k0, blk, 32);
	k_random_init("x", 1, 0);
	k_random_bytes(got1, sizeof(got1));
	k_random_bytes(got2, sizeof(got2));
	k_random_chacha20_block(k0, 1, zero_nonce, blk);
	ck_assert_mem_eq(got1, blk, 64);
	k_random_chacha20_block(k0, 0, zero_nonce, blk);
	memcpy(k1, blk, 32);
	k_random_chacha20_block(k1, 1, zero_nonce, blk);
	ck_assert_mem_eq(got2, blk, 64);
	/* The second request is not the first key's next block: the old key is gone. */
	k_random_chacha20_block(k0, 2, zero_nonce, blk);
	ck_assert_int_ne(memcmp(got2, blk, 64), 0);
}
END_TEST

START_TEST(test_hw_seed_mixes)
{
	uint8_t a[32], b[32];

	/* Only meaningful where the CPU has RDRAND/RDSEED; otherwise both streams are equal by design. */
	unsigned int eax = 1, ebx, ecx, edx;
	__asm__("cpuid" : "+a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx));
	unsigned hw = ecx & (1u << 30) ? K_RANDOM_HW_RDRAND : 0;
	k_random_init("same", 4, hw);
	k_random_bytes(a, sizeof(a));
	k_random_init("same", 4, hw);
	k_random_bytes(b, sizeof(b));
	if (hw)
		ck_assert_int_ne(memcmp(a, b, sizeof(a)), 0);
	else
		ck_assert_mem_eq(a, b, sizeof(a));
}
END_TEST

START_TEST(test_large_request)
{
	static uint8_t big[(1u << 20) + 200];
	size_t zeros = 0;

	k_random_init("big", 3, 0);
	memset(big, 0, sizeof(big));
	k_random_bytes(big, sizeof(big));
	/* Crossing the per-key chunk: the tail must be filled too (a run of zeros there means a bug). */
	for (size_t i = sizeof(big) - 200; i < sizeof(big); i++)
		zeros += big[i] == 0;
	ck_assert_uint_lt(zeros, 20);
	ck_assert_int_ne(memcmp(big, big + (1u << 20), 64), 0);
}
END_TEST

START_TEST(test_getrandom_flags)
{
	uint8_t buf[16];

	k_random_init("g", 1, 0);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(sys_getrandom((long)buf, sizeof(buf), 0, 0, 0, 0), 16);
	ck_assert_int_ne(memcmp(buf, (uint8_t[16]){ 0 }, 16), 0);
	ck_assert_int_eq(sys_getrandom((long)buf, 5, 1, 0, 0, 0), 5);  /* GRND_NONBLOCK */
	ck_assert_int_eq(sys_getrandom((long)buf, 5, 2, 0, 0, 0), 5);  /* GRND_RANDOM */
	ck_assert_int_eq(sys_getrandom((long)buf, 5, 4, 0, 0, 0), 5);  /* GRND_INSECURE */
	ck_assert_int_eq(sys_getrandom((long)buf, 5, 5, 0, 0, 0), 5);
	ck_assert_int_eq(sys_getrandom((long)buf, 5, 6, 0, 0, 0), -EINVAL); /* INSECURE|RANDOM */
	ck_assert_int_eq(sys_getrandom((long)buf, 5, 8, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_getrandom((long)buf, 5, -1, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_getrandom((long)buf, 0, 0, 0, 0, 0), 0);
}
END_TEST

START_TEST(test_getrandom_limits)
{
	/* Linux returns at most 33554431 bytes per call: a short count, not an error. */
	size_t n = 33554431;
	k_random_init("l", 1, 0); /* boot seeds it before any app runs */
	uint8_t *p = malloc(n + 1);
	ck_assert_ptr_nonnull(p);
	p[n] = 0x5a;
	ck_assert_int_eq(sys_getrandom((long)p, (long)n + 1, 0, 0, 0, 0), 33554431);
	ck_assert_int_eq(p[n], 0x5a);
	free(p);
}
END_TEST

START_TEST(test_getrandom_hostile)
{
	ck_assert_int_eq(sys_getrandom(0, 16, 0, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_getrandom(8, 16, 0, 0, 0, 0), -EFAULT);
	/* A range that wraps around the address space. */
	ck_assert_int_eq(sys_getrandom(-4096L, 8192, 0, 0, 0, 0), -EFAULT);
}
END_TEST

/* Output from a generator nobody seeded would be predictable: the kernel stops instead (SIGABRT). */
START_TEST(test_bytes_before_init_panic)
{
	uint8_t b[4];

	k_random_bytes(b, sizeof(b));
}
END_TEST

Suite *krandom_suite(void)
{
	Suite *s = suite_create("krandom");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_chacha20_rfc8439);
	tcase_add_test(tc, test_chacha20_zero);
	tcase_add_test(tc, test_seed_determinism);
	tcase_add_test(tc, test_reseed_after_restore);
	tcase_add_test(tc, test_key_erasure);
	tcase_add_test(tc, test_hw_seed_mixes);
	tcase_add_test(tc, test_getrandom_flags);
	suite_add_tcase(s, tc);
	tc = tcase_create("limits");
	tcase_add_test(tc, test_large_request);
	tcase_add_test(tc, test_getrandom_limits);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	tc = tcase_create("hostile");
	tcase_add_test(tc, test_getrandom_hostile);
	tcase_add_exit_test(tc, test_bytes_before_init_panic, 128 + 6);
	suite_add_tcase(s, tc);
	return s;
}
