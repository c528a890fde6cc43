/* panic_fake.c: k_panic for the test groups whose guest code may panic: the message on stderr, then the group's own k_hypercall_crash(SIGABRT), as in the guest. */
#include <stdarg.h>
#include <stdio.h>

#include "hypercall.h"
#include "panic.h"

_Noreturn void k_panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	k_hypercall_crash(6);
}
