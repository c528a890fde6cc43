/* ocicmd.h: ukvm-oci's verbs with containerd-shim-runc-v2 1.6 semantics; each returns the process exit status. */
#ifndef OCI_OCICMD_H
#define OCI_OCICMD_H

#include <stdbool.h>
#include <stdio.h>

#include "ocilog.h"

#define OCICMD_ROOT_DEFAULT "/run/ukvm-oci"

/* Bounds on the waits of start and delete: a container process that does not answer is an error, not a hang. */
#define OCICMD_START_WAIT_MS 30000
#define OCICMD_KILL_WAIT_MS 10000

struct ocicmd {
	const char *root;    /* --root: ROOT/ID/ holds each container's state */
	struct ocilog log;   /* --log, --log-format */
	bool quiet_stderr;   /* create: fds 0-2 are the container's, errors go to the log only (when there is one) */
	FILE *out;           /* where state and ps print (stdout) */
};

struct ocicmd_create {
	const char *id;
	const char *bundle;         /* NULL: the cwd */
	const char *pid_file;       /* NULL: none */
	const char *console_socket; /* NULL: none; needed when process.terminal is true */
};

int ocicmd_create(struct ocicmd *c, const struct ocicmd_create *a);
int ocicmd_start(struct ocicmd *c, const char *id);
/* sig: a number, or a name with or without SIG ("TERM", "SIGKILL"). */
int ocicmd_kill(struct ocicmd *c, const char *id, const char *sig, bool all);
int ocicmd_delete(struct ocicmd *c, const char *id, bool force);
int ocicmd_state(struct ocicmd *c, const char *id);
int ocicmd_ps(struct ocicmd *c, const char *id, bool json);

/* exec, pause, resume, update, checkpoint ...: the reason in the log and on stderr, status 1. */
int ocicmd_refuse(struct ocicmd *c, const char *verb);

/* Logs msg as an error (and to stderr unless quiet_stderr with a log); returns 1, the failing exit status. */
int ocicmd_fail(struct ocicmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A signal number from "15", "TERM" or "SIGTERM"; -1 for anything else. */
int ocicmd_signal(const char *s);

#endif
