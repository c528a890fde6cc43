/*
 * transcript.h: the compat test apps' transcript lines, "what: rc" or "what: -1 ERRNO". errno goes by
 * name so that a run on Linux and one in ukvm compare as text (tests/integration diff the two).
 * show() prints with printf (an app whose other lines are printf's keeps their order); an app that
 * prints with say() defines TRANSCRIPT_SAY before including this.
 */
#ifndef APPS_TRANSCRIPT_H
#define APPS_TRANSCRIPT_H

#include <errno.h>
#include <stdio.h>

#ifdef TRANSCRIPT_SAY
#include "say.h"
#define TRANSCRIPT_OUT say
#else
#define TRANSCRIPT_OUT printf
#endif

static inline const char *errname(int e)
{
	switch (e) {
	case 0: return "0";
#define E(x) case x: return #x;
	E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(ENXIO) E(EBADF) E(ECHILD) E(EAGAIN) E(ENOMEM) E(EACCES)
	E(EFAULT) E(EBUSY) E(EEXIST) E(EXDEV) E(ENOTDIR) E(EISDIR) E(EINVAL) E(EMFILE) E(ENOTTY) E(EFBIG)
	E(ESPIPE) E(EMLINK) E(EPIPE) E(EDOM) E(ERANGE) E(EDEADLK) E(ENAMETOOLONG) E(ENOSYS) E(ENOTEMPTY)
	E(ELOOP) E(ENOMSG) E(EIDRM) E(ENOTSOCK) E(EDESTADDRREQ) E(EMSGSIZE) E(EPROTOTYPE) E(ENOPROTOOPT)
	E(EPROTONOSUPPORT) E(ESOCKTNOSUPPORT) E(EOPNOTSUPP) E(EAFNOSUPPORT) E(EADDRINUSE) E(EADDRNOTAVAIL)
	E(ECONNRESET) E(EISCONN) E(ENOTCONN) E(ETIMEDOUT) E(ECONNREFUSED) E(EALREADY) E(EINPROGRESS)
	E(EOWNERDEAD) E(ENOTRECOVERABLE)
#undef E
	}
	static char buf[32];
	snprintf(buf, sizeof(buf), "errno%d", e);
	return buf;
}

/* Prints "what: rc" or "what: -1 ERRNO" and returns rc. */
static inline long show(const char *what, long rc)
{
	if (rc < 0)
		TRANSCRIPT_OUT("%s: -1 %s\n", what, errname(errno));
	else
		TRANSCRIPT_OUT("%s: %ld\n", what, rc);
	return rc;
}

#define T(call) show(#call, (long)(call))

#endif
