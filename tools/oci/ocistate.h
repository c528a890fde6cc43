/* ocistate.h: a container's state under --root (state.json, the start FIFO), its process's liveness, pid file, OCI state JSON. */
#ifndef OCI_OCISTATE_H
#define OCI_OCISTATE_H

#include <stdbool.h>
#include <stddef.h>

/* runc's rule for ids: [A-Za-z0-9_+.-], at most this long, never "." or "..": an id is a directory name. */
#define OCISTATE_ID_MAX 1024
/* Files in ROOT/ID/. */
#define OCISTATE_FILE  "state.json"
#define OCISTATE_FIFO  "start.fifo" /* exists from create until start released the process */
#define OCISTATE_IMAGE "app.img"
#define OCISTATE_EMPTY "empty"      /* an empty directory (ocipack's stand-in for a missing cwd) */
#define OCISTATE_JSON_MAX (1u << 20)

struct ocistate {
	char *id;
	int pid;                  /* the container process (the one waiting, then running the VM) */
	unsigned long long start; /* its start time, /proc/PID/stat field 22: a reused pid is not ours */
	char *bundle;
	char *rootfs;
	char *created;            /* RFC 3339 UTC with nanoseconds */
	char *annotations;        /* a JSON object's text */
	char *cgroup;             /* the cgroup the container process joined (removed at delete); NULL: none */
};

enum ocistate_status { OCISTATE_CREATED, OCISTATE_RUNNING, OCISTATE_STOPPED };

bool ocistate_id_valid(const char *id);

/* "created", "running", "stopped". */
const char *ocistate_status_name(enum ocistate_status s);

/*
 * Parses the text of /proc/PID/stat: the state letter and the start time
 * (field 22). The command name may hold spaces and parentheses: fields are
 * counted after its last ')'. 0, or -EINVAL for text that is not one.
 */
int ocistate_proc_parse(const char *text, char *state, unsigned long long *start);

/*
 * Whether pid is still the process that started at start and has not
 * exited (a zombie, waiting for the shim to reap it, has exited).
 */
bool ocistate_alive(int pid, unsigned long long start);

/*
 * Sends sig to the container process through a pidfd opened and then checked against its start
 * time, so a pid the kernel gave to another process since can never be signalled. 0, or -ESRCH
 * when it is gone (or a zombie), or -errno.
 */
int ocistate_signal(int pid, unsigned long long start, int sig);

/* The start time of a live pid: 0, or -errno (-ESRCH when gone). */
int ocistate_proc_start(int pid, unsigned long long *start);

/* created while the process lives and the start FIFO exists in dirfd, running while it lives, else stopped. */
enum ocistate_status ocistate_status(const struct ocistate *st, int dirfd);

/* Writes state.json into dirfd atomically (temporary file, rename). 0 or -errno. */
int ocistate_save(int dirfd, const struct ocistate *st);

/* Reads dirfd's state.json (at most OCISTATE_JSON_MAX bytes). 0, or -errno / -EINVAL with one line in err. */
int ocistate_load(int dirfd, struct ocistate *st, char *err, size_t errlen);

/*
 * The OCI state (runtime-spec "State") as runc prints it: ociVersion, id,
 * pid (0 once stopped), status, bundle, rootfs, created, owner, annotations.
 * malloc'ed, or NULL.
 */
char *ocistate_json(const struct ocistate *st, enum ocistate_status status);

/*
 * Writes pid in decimal without a newline (containerd parses the whole file
 * as a number) to path, atomically: a reader never sees it half-written.
 */
int ocistate_pidfile(const char *path, int pid);

/* RFC 3339 UTC with nanoseconds ("2026-12-03T06:13:07.123456789Z") of now into buf[n]. */
void ocistate_now_rfc3339(char *buf, size_t n);

void ocistate_free(struct ocistate *st);

#endif
