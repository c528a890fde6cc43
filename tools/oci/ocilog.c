/* ocilog.c: log lines in runc's formats (logrus JSON or text) appended to the --log file. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ocilog.h"
#include "ocistate.h"

/* msg with every byte outside ASCII as '?': JSON needs UTF-8, and a path in a message may be any bytes. */
static char *log_ascii(const char *msg)
{
	char *c = strdup(msg);

	for (char *p = c; p && *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	return c;
}

static char *log_format(bool json, const char *level, const char *msg, const char *time)
{
	char *line = NULL;

	if (json) {
		/* Key order as logrus writes it; JSON_PRESERVE_ORDER keeps it. */
		json_t *o = json_pack("{s:s, s:s, s:s}", "level", level, "msg", msg, "time", time);
		char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		json_decref(o);
		if (text && asprintf(&line, "%s\n", text) < 0)
			line = NULL;
		free(text);
		return line;
	}
	json_t *s = json_string(msg);
	char *quoted = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
	json_decref(s);
	if (quoted && asprintf(&line, "time=\"%s\" level=%s msg=%s\n", time, level, quoted) < 0)
		line = NULL;
	free(quoted);
	return line;
}

char *ocilog_format(bool json, const char *level, const char *msg, const char *time)
{
	char *line = log_format(json, level, msg, time), *ascii;

	if (line)
		return line;
	ascii = log_ascii(msg);
	line = ascii ? log_format(json, level, ascii, time) : NULL;
	free(ascii);
	return line;
}

int ocilog_write(const struct ocilog *log, const char *level, const char *msg)
{
	char now[64];
	char *line;
	int fd, rc = 0;

	if (!log->path)
		return 0;
	ocistate_now_rfc3339(now, sizeof(now));
	line = ocilog_format(log->json, level, msg, now);
	if (!line)
		return -ENOMEM;
	fd = open(log->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0)
		rc = -errno;
	else {
		size_t len = strlen(line);
		if (write(fd, line, len) != (ssize_t)len)
			rc = -EIO;
		close(fd);
	}
	free(line);
	return rc;
}
