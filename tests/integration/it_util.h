/* it_util.h: helpers for integration tests that run ukvm-run on real images under KVM. */
#ifndef IT_UTIL_H
#define IT_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "ukvm.h"

/* True when /dev/kvm can create a VM; otherwise why[] says what is missing. */
bool it_kvm_usable(char *why, size_t len);

struct it_result {
	int status;      /* exit status, or 128 + signal if killed */
	char *out;       /* everything written to stdout, NUL-terminated (malloc'd) */
	size_t out_len;  /* bytes in out (it may hold NULs) */
	char *err;       /* stderr */
	double wall_ms;  /* wall time of the whole process */
	double cpu_ms;   /* user + system CPU time of the process */
	long maxrss_kib; /* its peak resident memory (wait4's ru_maxrss) */
};

/*
 * Runs build/ukvm-run (or $UKVM_BUILD/ukvm-run) with args (NULL-terminated,
 * not including the program name), capturing stdout/stderr, killing it after
 * limit_s seconds. Returns 0, or -1 if it could not be started.
 */
int it_run(struct it_result *r, double limit_s, const char *const *args);

/*
 * The PV mode the environment asks for (UKVM_TEST_PV=auto|off|on, default
 * auto). it_run and it_start pass it to ukvm-run as --pv; embedding tests
 * put it in ukvm_config.pv.
 */
enum ukvm_pv it_pv_mode(void);

/* Whether ukvm-run --pv auto runs hello in pvm-pv mode on this host (asked once per process). */
bool it_host_has_pv(void);

/*
 * Path of a build output, e.g. it_path("apps/hello.img"), in a per-thread
 * buffer valid for the thread's next IT_PATH_SLOTS - 1 calls, so one
 * argument list may hold several.
 */
#define IT_PATH_SLOTS 8
const char *it_path(const char *rel);

void it_result_free(struct it_result *r);

/* Creates an empty (sparse) temp disk file of size bytes, its path in path[len]. 0 or -1. */
int it_disk_new(char *path, size_t len, long size);

/* Deletes it (path[0] == 0: nothing) and clears path. */
void it_disk_remove(char *path);

/*
 * A program started in the background whose output is collected as it
 * arrives, so a test can act at a given moment (e.g. SIGKILL the monitor
 * right after the guest printed "synced").
 */
struct it_proc {
	int pid;
	int out_fd, err_fd; /* -1 once at EOF */
	double t0;          /* start, CLOCK_MONOTONIC ms */
	struct it_result r; /* out/err so far (NUL-terminated, never NULL after it_start) */
	size_t err_len;
};

/* Starts prog (NULL: it_path("ukvm-run")) with args (NULL-terminated, without argv[0]), stdin /dev/null. 0, or -1. */
int it_start(struct it_proc *p, const char *prog, const char *const *args);

/* it_start with in_fd as the program's stdin (-1: /dev/null); the caller keeps in_fd. */
int it_start_in(struct it_proc *p, const char *prog, const char *const *args, int in_fd);

/*
 * Collects output until stdout holds needle (returns 1), or both outputs hit
 * EOF or limit_s seconds since the start passed (returns 0). Kills nothing.
 */
int it_wait_output(struct it_proc *p, const char *needle, double limit_s);

/*
 * Sends sig (0: none), then collects the rest of the output until the process
 * exits, SIGKILLing it once limit_s seconds since the start have passed.
 * Moves the output into *r (free with it_result_free); status as in it_run.
 * *termsig (may be NULL) is the signal that ended it, 0 if it exited.
 * Returns 0, or -1 if waiting failed.
 */
int it_finish(struct it_proc *p, int sig, double limit_s, struct it_result *r, int *termsig);

/* Where the transcripts native (Linux) and ukvm first differ: 'line N: linux "..." ukvm "..."' into msg. */
void it_first_diff(const char *native, const char *ukvm, char *msg, size_t len);

/* How many of this process's open fds link to target ("/dev/kvm", "anon_inode:kvm-vm", ...). */
unsigned it_fds_to(const char *target);

/* it_start then it_finish with no signal: prog (NULL: ukvm-run, no --pv added) run to its end. 0, or -1. */
int it_run_prog(struct it_result *r, double limit_s, const char *prog, const char *const *args);

/*
 * it_run_prog of ukvm-run (--pv as it_run) with stdin a pipe held open and
 * empty for the whole run: a guest reading it waits there, as a function
 * waits for its request, the idle point of --snapshot-when-idle. 0, or -1.
 */
int it_run_waiting(struct it_result *r, double limit_s, const char *const *args);

/* Runs the formatted command with sh -c: its wait status; a failure (not 0) names the command on stderr. */
int it_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* it_sh in a Check test: the test fails unless the command exits 0. */
#define IT_SH(...) ck_assert_int_eq(it_sh(__VA_ARGS__), 0)

#endif
