/* it_util.h: helpers for integration tests that run ukvm-run on real images under KVM. */
#ifndef IT_UTIL_H
#define IT_UTIL_H

#include <stdbool.h>
#include <stddef.h>

/* True when /dev/kvm can create a VM; otherwise why[] says what is missing. */
bool it_kvm_usable(char *why, size_t len);

struct it_result {
	int status;      /* exit status, or 128 + signal if killed */
	char *out;       /* everything written to stdout, NUL-terminated (malloc'd) */
	size_t out_len;  /* bytes in out (it may hold NULs) */
	char *err;       /* stderr */
	double wall_ms;  /* wall time of the whole process */
	double cpu_ms;   /* user + system CPU time of the process */
};

/*
 * Runs build/ukvm-run (or $UKVM_BUILD/ukvm-run) with args (NULL-terminated,
 * not including the program name), capturing stdout/stderr, killing it after
 * limit_s seconds. Returns 0, or -1 if it could not be started.
 */
int it_run(struct it_result *r, double limit_s, const char *const *args);

/* Path of a build output, e.g. it_path("apps/hello.img"); static buffer, valid until the next call. */
const char *it_path(const char *rel);

void it_result_free(struct it_result *r);

#endif
