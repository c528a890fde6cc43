/* ocilog.h: runc's --log file: one JSON object per line ({"level","msg","time"}), which containerd's shim reads back. */
#ifndef OCI_OCILOG_H
#define OCI_OCILOG_H

#include <stdbool.h>
#include <stddef.h>

struct ocilog {
	const char *path; /* --log FILE; NULL: none */
	bool json;        /* --log-format json (else text, logrus's: time="..." level=error msg="...") */
};

/*
 * One log line for level ("error", "warning") and msg at time (RFC 3339),
 * newline included: {"level":"error","msg":"...","time":"..."} with msg
 * escaped as JSON, or the text form. malloc'ed, or NULL.
 */
char *ocilog_format(bool json, const char *level, const char *msg, const char *time);

/*
 * Appends one line to the log file (O_APPEND, one write: lines of
 * concurrent writers do not interleave). Without a file it does nothing.
 * 0 or -errno.
 */
int ocilog_write(const struct ocilog *log, const char *level, const char *msg);

#endif
