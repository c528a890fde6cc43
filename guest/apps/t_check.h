/* t_check.h: the tiny check harness the libc test apps share (CHECK prints what failed, t_done the verdict). */
#ifndef T_CHECK_H
#define T_CHECK_H

#include <errno.h>
#include <stdio.h>

static int t_fails;

/* Records a failure with its line and the errno at that moment; never stops the program. */
#define CHECK(cond)                                                                              \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "FAIL %s:%d: %s (errno %d)\n", __FILE__, __LINE__, #cond, errno); \
			t_fails++;                                                               \
		}                                                                                \
	} while (0)

/* A call that must fail with err: result -1 and errno err. */
#define CHECK_ERR(call, err)                                                                           \
	do {                                                                                           \
		errno = 0;                                                                             \
		long r_ = (long)(call);                                                                \
		if (r_ != -1 || errno != (err)) {                                                      \
			fprintf(stderr, "FAIL %s:%d: %s = %ld errno %d, want -1 errno %d\n", __FILE__, \
				__LINE__, #call, r_, errno, (err));                                    \
			t_fails++;                                                                     \
		}                                                                                      \
	} while (0)

/* Prints "<name> ok" (exit 0) or the failure count (exit 1). */
static inline int t_done(const char *name)
{
	fflush(stderr);
	if (t_fails) {
		printf("%s: %d failures\n", name, t_fails);
		return 1;
	}
	printf("%s ok\n", name);
	return 0;
}

#endif
