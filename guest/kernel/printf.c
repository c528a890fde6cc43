/* printf.c: k_vsnprintf/k_snprintf/k_printf, the kernel's formatted output (one console write per k_printf). */
#include <stdbool.h>
#include <stdint.h>

#include "hypercall.h"
#include "kprintf.h"

/* Longest k_printf line; longer output is truncated (kernel messages are short, the stack is not). */
#define PRINTF_LINE_MAX 512

struct printf_out {
	char *buf;
	size_t size; /* capacity incl. NUL; 0 means count only */
	size_t len;  /* characters produced so far, even past size */
};

static void printf_putc(struct printf_out *o, char c)
{
	if (o->size && o->len < o->size - 1)
		o->buf[o->len] = c;
	o->len++;
}

static void printf_pad(struct printf_out *o, char c, int n)
{
	while (n-- > 0)
		printf_putc(o, c);
}

struct printf_spec {
	bool left, zero;
	int width;
	int prec; /* -1: none */
};

/* Emits s[0..n) padded to the spec's width; zero-padding goes after any sign/prefix of length pre. */
static void printf_field(struct printf_out *o, const struct printf_spec *sp, const char *s, int n, int pre)
{
	int pad = sp->width > n ? sp->width - n : 0;

	if (sp->left) {
		for (int i = 0; i < n; i++)
			printf_putc(o, s[i]);
		printf_pad(o, ' ', pad);
		return;
	}
	if (sp->zero) {
		for (int i = 0; i < pre; i++)
			printf_putc(o, s[i]);
		printf_pad(o, '0', pad);
		s += pre;
		n -= pre;
	} else {
		printf_pad(o, ' ', pad);
	}
	for (int i = 0; i < n; i++)
		printf_putc(o, s[i]);
}

/* Formats v in base (10 or 16) with an optional sign or 0x prefix into the field. */
static void printf_num(struct printf_out *o, const struct printf_spec *sp, uint64_t v, bool neg,
		       unsigned base, bool upper, bool prefix)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	char out[32];
	int n = 0, len = 0, pre = 0;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (neg)
		out[len++] = '-';
	if (prefix) {
		out[len++] = '0';
		out[len++] = 'x';
	}
	pre = len;
	while (n)
		out[len++] = tmp[--n];
	printf_field(o, sp, out, len, pre);
}

/* Reads a decimal width/precision, clamped so hostile formats cannot overflow int. */
static int printf_atoi(const char **fmt)
{
	int v = 0;

	while (**fmt >= '0' && **fmt <= '9') {
		if (v < 100000)
			v = v * 10 + (**fmt - '0');
		(*fmt)++;
	}
	return v;
}

int k_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct printf_out o = { buf, size, 0 };

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			printf_putc(&o, *fmt);
			continue;
		}
		const char *start = fmt++;
		struct printf_spec sp = { false, false, 0, -1 };
		for (;; fmt++) {
			if (*fmt == '-')
				sp.left = true;
			else if (*fmt == '0')
				sp.zero = true;
			else
				break;
		}
		if (*fmt == '*') {
			sp.width = va_arg(ap, int);
			if (sp.width < 0) {
				sp.left = true;
				sp.width = sp.width < -100000 ? 100000 : -sp.width;
			}
			fmt++;
		} else {
			sp.width = printf_atoi(&fmt);
		}
		if (*fmt == '.') {
			fmt++;
			if (*fmt == '*') {
				sp.prec = va_arg(ap, int);
				fmt++;
			} else {
				sp.prec = printf_atoi(&fmt);
			}
		}
		if (sp.left)
			sp.zero = false;
		int lng = 0; /* -2 hh, -1 h, 0 int, 1 long, 2 long long */
		for (;; fmt++) {
			if (*fmt == 'l' || *fmt == 'z')
				lng = lng < 2 ? lng + 1 : 2;
			else if (*fmt == 'h')
				lng = lng > -2 ? lng - 1 : -2;
			else
				break;
		}
		if (fmt[-1] == 'z')
			lng = 1; /* size_t is long on x86-64 */
		char c = *fmt;
		switch (c) {
		case 'd':
		case 'i': {
			int64_t v = lng >= 1 ? (lng == 2 ? (int64_t)va_arg(ap, long long) : va_arg(ap, long))
					     : va_arg(ap, int);
			if (lng == -1)
				v = (short)v;
			else if (lng == -2)
				v = (signed char)v;
			uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
			printf_num(&o, &sp, mag, v < 0, 10, false, false);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			uint64_t v = lng >= 1 ? (lng == 2 ? (uint64_t)va_arg(ap, unsigned long long)
						: va_arg(ap, unsigned long))
					      : va_arg(ap, unsigned int);
			if (lng == -1)
				v = (unsigned short)v;
			else if (lng == -2)
				v = (unsigned char)v;
			printf_num(&o, &sp, v, false, c == 'u' ? 10 : 16, c == 'X', false);
			break;
		}
		case 'p':
			printf_num(&o, &sp, (uintptr_t)va_arg(ap, void *), false, 16, false, true);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			int n = 0;
			/* Precision bounds the read too: %.*s may name a non-terminated buffer. */
			while ((sp.prec < 0 || n < sp.prec) && s[n] && n < 0x7fffffff)
				n++;
			sp.zero = false;
			printf_field(&o, &sp, s, n, 0);
			break;
		}
		case 'c': {
			char ch = (char)va_arg(ap, int);
			sp.zero = false;
			printf_field(&o, &sp, &ch, 1, 0);
			break;
		}
		case '%':
			printf_putc(&o, '%');
			break;
		default:
			/* Unknown or truncated conversion: print it as written so the bug is visible. */
			for (const char *q = start; q <= fmt && *q; q++)
				printf_putc(&o, *q);
			if (!c)
				fmt--;
			break;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len > 0x7fffffff ? 0x7fffffff : (int)o.len;
}

int k_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = k_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

static bool printf_quiet;

void k_notice_quiet(bool on)
{
	printf_quiet = on;
}

static int printf_err(const char *fmt, va_list ap)
{
	char line[PRINTF_LINE_MAX];
	int n = k_vsnprintf(line, sizeof(line), fmt, ap);
	size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	long r = k_hypercall_console(K_CONSOLE_ERR, line, len);
	return r < 0 ? (int)r : (int)len;
}

int k_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = printf_err(fmt, ap);
	va_end(ap);
	return n;
}

int k_notice(const char *fmt, ...)
{
	va_list ap;

	if (printf_quiet)
		return 0;
	va_start(ap, fmt);
	int n = printf_err(fmt, ap);
	va_end(ap);
	return n;
}
