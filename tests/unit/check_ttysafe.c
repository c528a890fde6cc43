/* check_ttysafe.c: unit suite "ttysafe" (vmm/ttysafe.c): what a host terminal gets of guest console bytes. */
#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ttysafe.h"

static uint8_t out[TTYSAFE_OUT_MAX + 1];

/* Filters s (n bytes) as one write on a fresh stream; returns out as a string. */
static const char *filt(const void *s, size_t n)
{
	struct ttysafe st = { 0 };
	size_t o = ttysafe_filter(&st, s, n, out);
	ck_assert_uint_le(o, TTYSAFE_OUT_MAX);
	out[o] = 0;
	return (const char *)out;
}

#define F(lit) filt(lit, sizeof(lit) - 1)

/*
 * What a terminal could obey in s: a C0 control other than \n \r \t \b, DEL,
 * or a C1 control, raw or UTF-8 encoded; or bytes that are not UTF-8.
 */
static bool obeyable(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint8_t b = s[i];
		if (b < 0x80) {
			if ((b < 0x20 && b != '\n' && b != '\r' && b != '\t' && b != '\b') || b == 0x7f)
				return true;
			i++;
			continue;
		}
		unsigned l = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 0;
		if (!l || i + l > n || b < 0xc2 || b > 0xf4)
			return true;
		uint32_t cp = b & (0x7f >> l);
		for (unsigned k = 1; k < l; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return true;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((l == 2 && cp < 0xa0) || (l == 3 && cp < 0x800) || (l == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return true;
		i += l;
	}
	return false;
}

START_TEST(test_plain_text_passes)
{
	ck_assert_str_eq(F("hello, world\n"), "hello, world\n");
	ck_assert_str_eq(F("a\tb\r\nc\bd"), "a\tb\r\nc\bd");
	ck_assert_str_eq(F("gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xa0"),
			 "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xa0"); /* U+00A0 is the first after C1 */
	ck_assert_str_eq(F("\xf4\x8f\xbf\xbf"), "\xf4\x8f\xbf\xbf");                 /* U+10FFFF */
}
END_TEST

/* A UTF-8 character cut between two writes comes out whole, once. */
START_TEST(test_split_sequences)
{
	const char *s = "x\xf0\x9f\x98\x80y\xe2\x82\xacz";
	size_t n = strlen(s);
	for (size_t cut = 0; cut <= n; cut++) {
		for (size_t cut2 = cut; cut2 <= n; cut2++) {
			struct ttysafe st = { 0 };
			size_t o = ttysafe_filter(&st, (const uint8_t *)s, cut, out);
			o += ttysafe_filter(&st, (const uint8_t *)s + cut, cut2 - cut, out + o);
			o += ttysafe_filter(&st, (const uint8_t *)s + cut2, n - cut2, out + o);
			out[o] = 0;
			ck_assert_str_eq((const char *)out, s);
		}
	}
	/* Cut and never completed: shown byte by byte when the next write breaks it off. */
	struct ttysafe st = { 0 };
	size_t o = ttysafe_filter(&st, (const uint8_t *)"\xe2\x82", 2, out);
	ck_assert_uint_eq(o, 0);
	o += ttysafe_filter(&st, (const uint8_t *)"A", 1, out + o);
	out[o] = 0;
	ck_assert_str_eq((const char *)out, "\\xe2\\x82A");
}
END_TEST

START_TEST(test_controls_made_visible)
{
	ck_assert_str_eq(F("\x1b[2J\x1b[H"), "^[[2J^[[H");                         /* CSI: clear screen */
	ck_assert_str_eq(F("\x1b]0;owned\x07"), "^[]0;owned^G");                    /* OSC: window title */
	ck_assert_str_eq(F("\x1b]52;c;ZXZpbA==\x1b\\"), "^[]52;c;ZXZpbA==^[\\");      /* OSC 52: clipboard */
	ck_assert_str_eq(F("\x1bP+q544e\x1b\\"), "^[P+q544e^[\\");                   /* DCS: terminfo query */
	ck_assert_str_eq(F("\x00\x01\x05\x0e\x0f\x7f"), "^@^A^E^N^O^?");            /* NUL, ENQ (answerback), SO/SI */
	ck_assert_str_eq(F("\x9b" "2J"), "\\x9b2J");                                /* 8-bit CSI */
	ck_assert_str_eq(F("\xc2\x9b" "2J"), "\\xc2\\x9b2J");                       /* U+009B, CSI as UTF-8 */
	ck_assert_str_eq(F("\xc2\x85\xc2\x90"), "\\xc2\\x85\\xc2\\x90");             /* NEL, DCS */
}
END_TEST

START_TEST(test_malformed_utf8)
{
	ck_assert_str_eq(F("\xc0\xaf"), "\\xc0\\xaf");                 /* overlong '/' */
	ck_assert_str_eq(F("\xe0\x80\xaf"), "\\xe0\\x80\\xaf");        /* overlong, 3 bytes */
	ck_assert_str_eq(F("\xed\xa0\x80"), "\\xed\\xa0\\x80");        /* a surrogate */
	ck_assert_str_eq(F("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80"); /* past U+10FFFF */
	ck_assert_str_eq(F("\xf5\xff\x80"), "\\xf5\\xff\\x80");
	ck_assert_str_eq(F("\xe2\x82\x1b[m"), "\\xe2\\x82^[[m");       /* an escape inside a sequence */
}
END_TEST

/* Every byte value alone, and the worst case for the output's size. */
START_TEST(test_limits)
{
	for (int b = 0; b < 256; b++) {
		uint8_t c = (uint8_t)b;
		struct ttysafe st = { 0 };
		size_t o = ttysafe_filter(&st, &c, 1, out);
		ck_assert_uint_le(o, 4);
		ck_assert(!obeyable(out, o));
	}
	static uint8_t in[TTYSAFE_IN_MAX];
	memset(in, 0xff, sizeof(in));
	struct ttysafe st = { .pend = { 0xf0, 0x9f, 0x98 }, .npend = 3, .need = 4 };
	ck_assert_uint_eq(ttysafe_filter(&st, in, sizeof(in), out), TTYSAFE_OUT_MAX);
}
END_TEST

/* Random bytes, random cuts: nothing a terminal could obey ever comes out. */
START_TEST(test_hostile_random)
{
	srand(1234);
	static uint8_t in[TTYSAFE_IN_MAX], all[16 * TTYSAFE_OUT_MAX];
	for (int round = 0; round < 300; round++) {
		struct ttysafe st = { 0 };
		size_t total = 0;
		for (int w = 0; w < 16; w++) {
			size_t n = (size_t)rand() % (TTYSAFE_IN_MAX + 1);
			for (size_t i = 0; i < n; i++) /* biased toward the interesting bytes */
				in[i] = (uint8_t)(rand() % 3 ? rand() % 256 : "\x1b\x9b\xc2\xe2\xf0\x80\x9f[]"[rand() % 9]);
			total += ttysafe_filter(&st, in, n, all + total);
		}
		ck_assert(!obeyable(all, total) || st.npend); /* bytes held at the end are not out yet */
		if (!st.npend)
			continue;
		/* Held bytes are a valid prefix; once broken off they come out as \xNN. */
		total += ttysafe_filter(&st, (const uint8_t *)"\n", 1, all + total);
		ck_assert(!obeyable(all, total));
	}
}
END_TEST

Suite *ttysafe_suite(void)
{
	Suite *s = suite_create("ttysafe");
	TCase *c = tcase_create("core"), *l = tcase_create("limits"), *h = tcase_create("hostile");
	tcase_add_test(c, test_plain_text_passes);
	tcase_add_test(c, test_split_sequences);
	tcase_add_test(l, test_limits);
	tcase_add_test(h, test_controls_made_visible);
	tcase_add_test(h, test_malformed_utf8);
	tcase_add_test(h, test_hostile_random);
	suite_add_tcase(s, c);
	suite_add_tcase(s, l);
	suite_add_tcase(s, h);
	return s;
}
