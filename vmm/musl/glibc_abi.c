/*
 * glibc_abi.c: the one glibc-ABI symbol Debian's libseccomp.a needs
 * when ukvm-run is linked with musl (vmm/build.mk). Debian builds it with
 * _FORTIFY_SOURCE, so seccomp_export_pfc's printing (gen_pfc.c) calls the
 * LSB's __fprintf_chk; the monitor never calls that export, but the object
 * comes with the library's API. Only in the musl ukvm-run, never in libukvm.
 */
#include <stdarg.h>
#include <stdio.h>

int __fprintf_chk(FILE *f, int flag, const char *fmt, ...);

/* LSB: fprintf with the checks of flag > 0; %n in a writable format is what fortify refuses, and gen_pfc's are literals. */
int __fprintf_chk(FILE *f, int flag, const char *fmt, ...)
{
	(void)flag;
	va_list ap;
	va_start(ap, fmt);
	int n = vfprintf(f, fmt, ap);
	va_end(ap);
	return n;
}
