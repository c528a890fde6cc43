/* fuzz.h: what every harness in tests/fuzz shares: the libFuzzer entry point, invariant checks and an input reader. */
#ifndef TESTS_FUZZ_H
#define TESTS_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The harness entry point. Under `make fuzz` libFuzzer calls it; in the Check
 * runner tests/build.mk renames it per harness (fuzz_one_<name>) and
 * tests/unit/check_fuzz.c feeds it every corpus file and reproducer.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * An invariant of the code under test: abort (libFuzzer saves the input as a
 * crash, Check reports the signal) with the condition's text. Never compiled
 * out: the checks are the point of the harness.
 */
#define FUZZ_CHECK(cond)                                                                        \
	do {                                                                                    \
		if (!(cond)) {                                                                  \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                \
		}                                                                               \
	} while (0)

/*
 * An invariant that a known, unfixed bug breaks (its reproducer waits in
 * tests/fuzz/pending/<harness>/, named after it). In the Check runner it
 * aborts like FUZZ_CHECK, so the pending test sees the bug is still there;
 * under `make fuzz` (FUZZ_LIBFUZZER) it is reported once and fuzzing goes on
 * past it. Once the fix lands it becomes a FUZZ_CHECK.
 */
#ifdef FUZZ_LIBFUZZER
#define FUZZ_PENDING(cond, bug)                                                                  \
	do {                                                                                     \
		static int said_;                                                                \
		if (!(cond) && !said_++)                                                         \
			fprintf(stderr, "%s:%d: known bug (tests/fuzz/pending): %s: %s\n", __FILE__, \
				__LINE__, bug, #cond);                                           \
	} while (0)
#else
#define FUZZ_PENDING(cond, bug) FUZZ_CHECK(cond)
#endif

/*
 * Consumes the fuzz input front to back; past the end every read yields
 * zeroes, so a short input is still a complete (if boring) test case.
 */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint64_t fuzz_uint(struct fuzz_in *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++) {
		uint8_t b = 0;

		if (in->n) {
			b = *in->p++;
			in->n--;
		}
		v |= (uint64_t)b << (8 * i);
	}
	return v;
}

static inline uint8_t fuzz_u8(struct fuzz_in *in) { return (uint8_t)fuzz_uint(in, 1); }
static inline uint16_t fuzz_u16(struct fuzz_in *in) { return (uint16_t)fuzz_uint(in, 2); }
static inline uint32_t fuzz_u32(struct fuzz_in *in) { return (uint32_t)fuzz_uint(in, 4); }
static inline uint64_t fuzz_u64(struct fuzz_in *in) { return fuzz_uint(in, 8); }

/* Up to want bytes of the input, in place; *got says how many there were. */
static inline const uint8_t *fuzz_bytes(struct fuzz_in *in, size_t want, size_t *got)
{
	const uint8_t *p = in->p;

	*got = want < in->n ? want : in->n;
	in->p += *got;
	in->n -= *got;
	return p;
}

/*
 * A malloc'ed copy of [p, p + n): 16-aligned like the buffers the code under
 * test gets in production, and exactly n bytes so ASan flags a read past the
 * end. Aborts on allocation failure (a harness bug, not a finding).
 */
static inline uint8_t *fuzz_dup(const void *p, size_t n)
{
	uint8_t *b = malloc(n ? n : 1);

	FUZZ_CHECK(b != NULL);
	if (n)
		memcpy(b, p, n);
	return b;
}

#endif
