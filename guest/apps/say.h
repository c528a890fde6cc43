/* say.h: the test apps' unbuffered printf: each line goes straight to fd 1, so a test sees how far an app got. */
#ifndef APPS_SAY_H
#define APPS_SAY_H

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static inline void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	if (write(1, line, (size_t)n) < 0)
		_exit(2);
}

#endif
