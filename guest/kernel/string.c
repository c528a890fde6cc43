/* string.c: the guest kernel's memory and string functions (guest/include/string.h, stdlib.h); libfdt links against them. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * memcpy/memset/memmove use `rep movsb`/`rep stosb`: fast at CPL3 on ERMS
 * CPUs, and written in asm so that GCC cannot turn a byte loop back into a
 * call to the very function it sits in (-ftree-loop-distribute-patterns).
 */
void *memcpy(void *restrict d, const void *restrict s, size_t n)
{
	void *ret = d;

	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	return ret;
}

void *memset(void *d, int c, size_t n)
{
	void *ret = d;

	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return ret;
}

void *memmove(void *d, const void *s, size_t n)
{
	uintptr_t du = (uintptr_t)d, su = (uintptr_t)s;

	/* Forward copy is safe unless the destination starts inside the source. */
	if (du - su >= n)
		return memcpy(d, s, n);
	if (n == 0)
		return d;
	/* Backward with DF set; DF must be clear again for the ABI. */
	const char *sl = (const char *)s + n - 1;
	char *dl = (char *)d + n - 1;
	__asm__ volatile("std\n\trep movsb\n\tcld" : "+D"(dl), "+S"(sl), "+c"(n) : : "memory");
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

void *memchr(const void *s, int c, size_t n)
{
	const unsigned char *p = s;

	for (size_t i = 0; i < n; i++)
		if (p[i] == (unsigned char)c)
			return (void *)(p + i);
	return NULL;
}

size_t strlen(const char *s)
{
	const char *p = s;

	while (*p)
		p++;
	return (size_t)(p - s);
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;

	while (*x && *x == *y) {
		x++;
		y++;
	}
	return (*x > *y) - (*x < *y);
}

int strncmp(const char *a, const char *b, size_t n)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;

	for (; n; n--, x++, y++) {
		if (*x != *y)
			return (*x > *y) - (*x < *y);
		if (!*x)
			break;
	}
	return 0;
}

char *strchr(const char *s, int c)
{
	/* C11 7.24.5.2: the terminating NUL is part of the string, so strchr(s, 0) finds it. */
	for (;; s++) {
		if (*s == (char)c)
			return (char *)s;
		if (!*s)
			return NULL;
	}
}

char *strrchr(const char *s, int c)
{
	const char *last = NULL;

	for (;; s++) {
		if (*s == (char)c)
			last = s;
		if (!*s)
			return (char *)last;
	}
}

char *strcpy(char *restrict d, const char *restrict s)
{
	char *ret = d;

	while ((*d++ = *s++))
		;
	return ret;
}

static int string_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A' + 10;
	return 99;
}

/*
 * C11 7.22.1.4 without errno (the kernel has none): leading space, optional
 * sign, base 0 autodetects 0x/0, overflow saturates to ULONG_MAX. *end is s
 * when no digits were converted.
 */
unsigned long strtoul(const char *s, char **end, int base)
{
	const char *p = s;
	unsigned long v = 0;
	bool neg = false, any = false, over = false;

	if (base < 0 || base == 1 || base > 36)
		goto out;
	while (*p == ' ' || (*p >= '\t' && *p <= '\r'))
		p++;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if ((base == 0 || base == 16) && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') &&
	    string_digit(p[2]) < 16) {
		p += 2;
		base = 16;
	} else if (base == 0) {
		base = *p == '0' ? 8 : 10;
	}
	for (;; p++) {
		int dg = string_digit(*p);
		if (dg >= base)
			break;
		any = true;
		if (v > (~0ul - (unsigned long)dg) / (unsigned long)base)
			over = true;
		else
			v = v * (unsigned long)base + (unsigned long)dg;
	}
out:
	if (end)
		*end = (char *)(any ? p : s);
	if (over)
		return ~0ul;
	return neg ? -v : v;
}
