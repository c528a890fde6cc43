/* check_console.c: the console as programs see it: stdout and stderr apart, kernel messages on stderr only, --quiet, isatty like Linux, argv[0]. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "it_util.h"

#define RUN(r, ...)                                                    \
	do {                                                           \
		const char *a_[] = {__VA_ARGS__, NULL};                \
		ck_assert_int_eq(it_run((r), 50, a_), 0);              \
	} while (0)

/* Where the child's stdout or stderr goes: what conio's isatty answers depend on. */
enum sink_kind { SINK_FILE, SINK_PIPE, SINK_PTY };
static const char *const sink_names[] = { "file", "pipe", "pty" };

struct sink {
	enum sink_kind kind;
	int wr; /* the child's end */
	int rd; /* ours: the file, the pipe's read end, the pty's master */
};

/* The terminal size the test gives its ptys, so a guest answering 24x80 by habit shows. */
#define SINK_ROWS 33
#define SINK_COLS 101

static void sink_open(struct sink *s, enum sink_kind kind)
{
	s->kind = kind;
	if (kind == SINK_FILE) {
		char tmpl[] = "/tmp/ukvm-console-XXXXXX";
		s->wr = mkostemp(tmpl, O_CLOEXEC);
		ck_assert_int_ge(s->wr, 0);
		unlink(tmpl);
		s->rd = dup(s->wr);
	} else if (kind == SINK_PIPE) {
		int p[2];
		ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
		s->rd = p[0], s->wr = p[1];
	} else {
		s->rd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		ck_assert_int_ge(s->rd, 0);
		ck_assert_int_eq(grantpt(s->rd), 0);
		ck_assert_int_eq(unlockpt(s->rd), 0);
		s->wr = open(ptsname(s->rd), O_RDWR | O_NOCTTY | O_CLOEXEC);
		ck_assert_int_ge(s->wr, 0);
		struct winsize ws = { .ws_row = SINK_ROWS, .ws_col = SINK_COLS };
		ck_assert_int_eq(ioctl(s->wr, TIOCSWINSZ, &ws), 0);
	}
}

/* Everything the child wrote (read after it exited), NUL-terminated; closes the sink. */
static char *sink_collect(struct sink *s)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap + 1);
	ck_assert_ptr_nonnull(buf);
	if (s->kind == SINK_FILE) {
		ssize_t n = pread(s->rd, buf, cap, 0);
		len = n > 0 ? (size_t)n : 0;
	} else {
		/* A pty's output reaches the master through a work queue: read until it stays quiet. */
		struct pollfd p = { .fd = s->rd, .events = POLLIN };
		while (len < cap && poll(&p, 1, s->kind == SINK_PTY ? 300 : 2000) > 0) {
			ssize_t n = read(s->rd, buf + len, cap - len);
			if (n <= 0)
				break;
			len += (size_t)n;
		}
	}
	buf[len] = 0;
	close(s->rd);
	if (s->wr >= 0)
		close(s->wr);
	return buf;
}

/*
 * Runs prog with args (NULL-terminated, without argv[0]), stdin from in's
 * child end (NULL: /dev/null), stdout to out and stderr to err; returns the
 * exit status.
 */
static int run_into_in(const char *prog, const char *const *args, struct sink *in, struct sink *out, struct sink *err)
{
	const char *argv[16] = { prog };
	for (int i = 0; args[i] && i < 14; i++)
		argv[i + 1] = args[i];
	int pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		dup2(in ? in->wr : null, 0);
		dup2(out->wr, 1);
		dup2(err->wr, 2);
		execv(prog, (char *const *)argv);
		_exit(127);
	}
	/* Pipes: our copy of the write end would keep the reader from seeing the end. A pty's stays open. */
	if (out->kind == SINK_PIPE) {
		close(out->wr);
		out->wr = -1;
	}
	if (err->kind == SINK_PIPE) {
		close(err->wr);
		err->wr = -1;
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* run_into_in with stdin /dev/null. */
static int run_into(const char *prog, const char *const *args, struct sink *out, struct sink *err)
{
	return run_into_in(prog, args, NULL, out, err);
}

static const char *pv_arg(void)
{
	enum ukvm_pv pv = it_pv_mode();
	return pv == UKVM_PV_OFF ? "off" : pv == UKVM_PV_ON ? "on" : "auto";
}

/* stdout and stderr of conio info, natively and in ukvm, for the same sinks: the answers must be Linux's. */
static const struct {
	enum sink_kind out, err;
} tty_cases[] = {
	{ SINK_FILE, SINK_PIPE }, { SINK_PIPE, SINK_PIPE }, { SINK_PTY, SINK_PIPE },
	{ SINK_PIPE, SINK_PTY },  { SINK_FILE, SINK_PTY },  { SINK_PTY, SINK_PTY },
};

START_TEST(isatty_like_linux)
{
	const char *what[2] = { "native", "ukvm" };
	char *got[2], *errs[2];
	for (int k = 0; k < 2; k++) {
		struct sink out, err;
		sink_open(&out, tty_cases[_i].out);
		sink_open(&err, tty_cases[_i].err);
		const char *nat[] = { "info", NULL };
		const char *vm[] = { "--pv", pv_arg(), it_path("apps/conio.img"), "info", NULL };
		int st = k ? run_into(it_path("ukvm-run"), vm, &out, &err) : run_into(it_path("apps/conio"), nat, &out, &err);
		got[k] = sink_collect(&out);
		errs[k] = sink_collect(&err);
		ck_assert_msg(st == 0, "%s: status %d\n%s%s", what[k], st, got[k], errs[k]);
	}
	ck_assert_msg(strcmp(got[0], got[1]) == 0, "stdout %s, stderr %s:\nnative:\n%s\nukvm:\n%s\nukvm stderr:\n%s",
		      sink_names[tty_cases[_i].out], sink_names[tty_cases[_i].err], got[0], got[1], errs[1]);
	/* Not vacuous: a pty answers with its size, a file or pipe with ENOTTY. */
	char want1[64], want2[64];
	snprintf(want1, sizeof(want1), "fd 1: tty=%s", tty_cases[_i].out == SINK_PTY ? "1 winsz=33x101 tcgets=ok" : "0 winsz=ENOTTY tcgets=ENOTTY");
	snprintf(want2, sizeof(want2), "fd 2: tty=%s", tty_cases[_i].err == SINK_PTY ? "1 winsz=33x101 tcgets=ok" : "0 winsz=ENOTTY tcgets=ENOTTY");
	ck_assert_msg(strstr(got[1], want1) && strstr(got[1], want2) && strstr(got[1], "fd 0: tty=0 winsz=ENOTTY"),
		      "want '%s' and '%s':\n%s", want1, want2, got[1]);
	fprintf(stderr, "console: isatty stdout %s, stderr %s: same as Linux\n", sink_names[tty_cases[_i].out],
		sink_names[tty_cases[_i].err]);
	for (int k = 0; k < 2; k++) {
		free(got[k]);
		free(errs[k]);
	}
}
END_TEST

/*
 * A VM restored from a snapshot answers isatty, TCGETS and TIOCGWINSZ for
 * the restoring run's fds 0-2, not the snapshotted run's: the same lines as
 * conio run natively on the restoring run's sinks. Loop index: case * 2 +
 * mode (--pv off, auto). The snapshotted run's terminals are 20x70, the
 * restoring run's 33x101 (SINK_ROWS x SINK_COLS).
 */
static const struct {
	bool snap_tty, restore_tty;
} restore_tty_cases[] = { { true, false }, { false, true }, { true, true } };

/* The three sinks of one run: all ptys of rows x cols, or stdin /dev/null, stdout a file, stderr a pipe. */
static void sinks_open(struct sink s[3], bool tty, unsigned short rows, unsigned short cols)
{
	if (!tty) {
		s[0] = (struct sink){ SINK_FILE, -1, -1 }; /* unused: stdin /dev/null */
		sink_open(&s[1], SINK_FILE);
		sink_open(&s[2], SINK_PIPE);
		return;
	}
	for (int i = 0; i < 3; i++) {
		sink_open(&s[i], SINK_PTY);
		struct winsize ws = { .ws_row = rows, .ws_col = cols };
		ck_assert_int_eq(ioctl(s[i].wr, TIOCSWINSZ, &ws), 0);
	}
}

/* Runs prog on the sinks, returns its stdout (malloc'd) and status; closes the sinks. */
static char *sinks_run(const char *prog, const char *const *args, struct sink s[3], int *status, char **err_text)
{
	*status = run_into_in(prog, args, s[0].wr >= 0 ? &s[0] : NULL, &s[1], &s[2]);
	if (s[0].wr >= 0) {
		close(s[0].rd);
		close(s[0].wr);
	}
	char *out = sink_collect(&s[1]);
	*err_text = sink_collect(&s[2]);
	for (char *p; (p = strchr(out, '\r'));) /* a pty writes \n as \r\n: compare lines */
		memmove(p, p + 1, strlen(p));
	return out;
}

START_TEST(restored_sees_restoring_console)
{
	const char *mode = _i % 2 ? "auto" : "off";
	bool snap_tty = restore_tty_cases[_i / 2].snap_tty, restore_tty = restore_tty_cases[_i / 2].restore_tty;
	char snap[] = "/tmp/ukvm-console-snap-XXXXXX";
	int fd = mkstemp(snap);
	ck_assert_int_ge(fd, 0);
	close(fd);
	struct sink s[3];
	int st;
	char *out, *err;

	/* Linux first: what conio answers natively on the restoring run's sinks. */
	sinks_open(s, restore_tty, SINK_ROWS, SINK_COLS);
	const char *nat[] = { "sleep-info", NULL };
	char *native = sinks_run(it_path("apps/conio"), nat, s, &st, &err);
	ck_assert_msg(st == 0, "native: status %d: %s", st, err);
	free(err);
	const char *want = restore_tty ? "fd 0: tty=1 winsz=33x101 tcgets=ok\nfd 1: tty=1 winsz=33x101 tcgets=ok\n"
					 "fd 2: tty=1 winsz=33x101 tcgets=ok\n"
				       : "fd 0: tty=0 winsz=ENOTTY tcgets=ENOTTY\nfd 1: tty=0 winsz=ENOTTY tcgets=ENOTTY\n"
					 "fd 2: tty=0 winsz=ENOTTY tcgets=ENOTTY\n";
	ck_assert_str_eq(native, want);

	sinks_open(s, snap_tty, 20, 70);
	if (!snap_tty) { /* stdin open and empty, not /dev/null: conio waits on it there, the idle point */
		int p[2];
		ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
		s[0] = (struct sink){ SINK_PIPE, p[0], p[1] };
	}
	const char *sargs[] = { "--pv", mode, "--snapshot-when-idle", snap, it_path("apps/conio.img"), "sleep-info", NULL };
	out = sinks_run(it_path("ukvm-run"), sargs, s, &st, &err);
	ck_assert_msg(st == 0 && strstr(err, "snapshot written to"), "snapshot: status %d: %s%s", st, out, err);
	ck_assert_str_eq(out, ""); /* taken in the wait on stdin, before the answers */
	free(out);
	free(err);

	sinks_open(s, restore_tty, SINK_ROWS, SINK_COLS);
	const char *rargs[] = { "--pv", mode, "--restore", snap, NULL };
	out = sinks_run(it_path("ukvm-run"), rargs, s, &st, &err);
	unlink(snap);
	ck_assert_msg(st == 0, "restore: status %d: %s%s", st, out, err);
	ck_assert_msg(strcmp(out, native) == 0, "--pv %s, snapshot %s, restore %s: native:\n%sukvm:\n%s", mode,
		      snap_tty ? "on ptys 20x70" : "on a file and a pipe", restore_tty ? "on ptys 33x101" : "on a file and a pipe",
		      native, out);
	fprintf(stderr, "console: --pv %s: snapshotted %s, restored %s: isatty/TCGETS/TIOCGWINSZ as Linux there\n", mode,
		snap_tty ? "on terminals" : "off terminals", restore_tty ? "on terminals" : "off terminals");
	free(out);
	free(err);
	free(native);
}
END_TEST

/* The guest writes to fd 1 and fd 2: each arrives on its own host stream. */
START_TEST(stdout_and_stderr_apart)
{
	struct it_result r;
	RUN(&r, it_path("apps/conio.img"), "streams");
	ck_assert_msg(r.status == 0, "status %d: %s%s", r.status, r.out, r.err);
	ck_assert_msg(strcmp(r.out, "to stdout\n") == 0, "stdout:\n%s", r.out);
	ck_assert_msg(strstr(r.err, "to stderr\n"), "stderr:\n%s", r.err);
	ck_assert_msg(!strstr(r.err, "to stdout"), "stderr:\n%s", r.err);
	it_result_free(&r);
}
END_TEST

/* Notices go to stderr with the ukvm: prefix, never into stdout; --quiet drops them and nothing else. */
START_TEST(notices_on_stderr_and_quiet)
{
	struct it_result r, q;
	struct sink out, err;
	sink_open(&out, SINK_PIPE);
	sink_open(&err, SINK_PIPE);
	const char *nargs[] = { "notice", NULL };
	ck_assert_int_eq(run_into(it_path("apps/conio"), nargs, &out, &err), 0);
	char *native = sink_collect(&out), *nerr = sink_collect(&err);
	ck_assert_str_eq(native, "syscall 999: -1 ENOSYS\n");

	RUN(&r, it_path("apps/conio.img"), "notice");
	ck_assert_msg(r.status == 0, "status %d: %s%s", r.status, r.out, r.err);
	ck_assert_msg(strcmp(r.out, native) == 0, "stdout differs from Linux's:\n%s", r.out);
	ck_assert_msg(strstr(r.err, "ukvm: unimplemented syscall 999"), "stderr:\n%s", r.err);

	RUN(&q, "--quiet", it_path("apps/conio.img"), "notice");
	ck_assert_msg(q.status == 0, "status %d: %s%s", q.status, q.out, q.err);
	ck_assert_msg(strcmp(q.out, native) == 0, "stdout differs from Linux's:\n%s", q.out);
	ck_assert_msg(!strstr(q.err, "unimplemented"), "--quiet, stderr:\n%s", q.err);
	free(native);
	free(nerr);
	it_result_free(&r);
	it_result_free(&q);
}
END_TEST

/* --quiet silences notices, not crash reports. */
START_TEST(quiet_keeps_crash_reports)
{
	struct it_result r;
	RUN(&r, "--quiet", it_path("apps/nullderef.img"));
	ck_assert_msg(r.status == 128 + 11, "status %d: %s%s", r.status, r.out, r.err);
	ck_assert_msg(strstr(r.err, "ukvm: page fault") && strstr(r.err, "crash_here"), "stderr:\n%s", r.err);
	ck_assert_msg(strcmp(r.out, "about to dereference NULL\n") == 0, "stdout:\n%s", r.out);
	it_result_free(&r);
}
END_TEST

/* A copy of src at dst. */
static void copy_file(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC), out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	ck_assert_int_ge(in, 0);
	ck_assert_int_ge(out, 0);
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
}

/*
 * argv[0] is the app's own name as ukvm-build recorded it, whatever the
 * image is called (busybox in bb.img must still find its applets); --argv0
 * sets it.
 */
START_TEST(argv0_default_and_override)
{
	char dir[] = "/tmp/ukvm-argv0-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char bb[4096], app[4096], img[4096];
	snprintf(bb, sizeof(bb), "%s/bb.img", dir);
	copy_file(it_path("apps/args.img"), bb);
	struct it_result r;
	RUN(&r, bb, "x");
	ck_assert_msg(r.status == 0 && strstr(r.out, "argc=2\nargv[0]=args\nargv[1]=x\n"), "%s%s", r.out, r.err);
	it_result_free(&r);
	RUN(&r, "--argv0", "busybox", bb, "x");
	ck_assert_msg(r.status == 0 && strstr(r.out, "argc=2\nargv[0]=busybox\nargv[1]=x\n"), "%s%s", r.out, r.err);
	it_result_free(&r);
	RUN(&r, "--argv0=", bb);
	ck_assert_msg(r.status == 0 && strstr(r.out, "argc=1\nargv[0]=\n"), "%s%s", r.out, r.err);
	it_result_free(&r);

	/* The name is the app file's as given to ukvm-build, not the image's. */
	snprintf(app, sizeof(app), "%s/myname", dir);
	snprintf(img, sizeof(img), "%s/other.img", dir);
	copy_file(it_path("apps/args"), app);
	struct sink out, err;
	sink_open(&out, SINK_PIPE);
	sink_open(&err, SINK_PIPE);
	const char *bargs[] = { "-o", img, app, NULL };
	int st = run_into(it_path("ukvm-build"), bargs, &out, &err);
	char *o = sink_collect(&out), *e = sink_collect(&err);
	ck_assert_msg(st == 0, "ukvm-build: status %d\n%s%s", st, o, e);
	free(o);
	free(e);
	RUN(&r, img);
	ck_assert_msg(r.status == 0 && strstr(r.out, "argv[0]=myname\n"), "%s%s", r.out, r.err);
	it_result_free(&r);
	unlink(bb);
	unlink(app);
	unlink(img);
	rmdir(dir);
}
END_TEST

/* /etc/passwd and /etc/group at boot: root and nobody resolve as on Debian; an image's own /etc/passwd wins. */
START_TEST(etc_users)
{
	struct sink out, err;
	sink_open(&out, SINK_PIPE);
	sink_open(&err, SINK_PIPE);
	const char *nargs[] = { "users", NULL };
	ck_assert_int_eq(run_into(it_path("apps/conio"), nargs, &out, &err), 0);
	char *native = sink_collect(&out), *nerr = sink_collect(&err);
	ck_assert_str_eq(native, "root: 0 0 /root\nnobody: 65534\ngroup 0: root\n");
	struct it_result r;
	RUN(&r, it_path("apps/conio.img"), "users");
	ck_assert_msg(r.status == 0 && strcmp(r.out, native) == 0, "status %d, not Linux's:\n%s%s", r.status, r.out, r.err);
	it_result_free(&r);
	free(native);
	free(nerr);

	char dir[] = "/tmp/ukvm-etc-XXXXXX", pw[4096], img[4096], spec[8192];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(pw, sizeof(pw), "%s/passwd", dir);
	snprintf(img, sizeof(img), "%s/cat.img", dir);
	snprintf(spec, sizeof(spec), "%s:/etc/passwd", pw);
	FILE *f = fopen(pw, "w");
	ck_assert_ptr_nonnull(f);
	fputs("app:x:1000:1000::/:/bin/false\n", f);
	fclose(f);
	sink_open(&out, SINK_PIPE);
	sink_open(&err, SINK_PIPE);
	const char *bargs[] = { "-o", img, "--file", spec, it_path("apps/cat"), NULL };
	int st = run_into(it_path("ukvm-build"), bargs, &out, &err);
	char *o = sink_collect(&out), *e = sink_collect(&err);
	ck_assert_msg(st == 0, "ukvm-build: status %d\n%s%s", st, o, e);
	free(o);
	free(e);
	RUN(&r, img, "/etc/passwd");
	ck_assert_msg(r.status == 0 && strcmp(r.out, "app:x:1000:1000::/:/bin/false\n") == 0, "%s%s", r.out, r.err);
	it_result_free(&r);
	RUN(&r, img, "/etc/group");
	ck_assert_msg(r.status == 0 && strstr(r.out, "root:x:0:\n"), "%s%s", r.out, r.err);
	it_result_free(&r);
	unlink(pw);
	unlink(img);
	rmdir(dir);
}
END_TEST

/* A closed stderr ends the run like a closed stdout: UKVM_EXIT_CONSOLE, and the monitor is not killed by SIGPIPE. */
START_TEST(closed_stderr_ends_the_run)
{
	struct sink out, err;
	sink_open(&out, SINK_PIPE);
	sink_open(&err, SINK_PIPE);
	close(err.rd);
	err.rd = open("/dev/null", O_RDONLY | O_CLOEXEC); /* for sink_collect */
	const char *args[] = { "--pv", pv_arg(), "--timeout", "20", it_path("apps/conio.img"), "streams", NULL };
	int st = run_into(it_path("ukvm-run"), args, &out, &err);
	char *o = sink_collect(&out);
	close(err.rd);
	ck_assert_msg(st == UKVM_EXIT_CONSOLE, "status %d, stdout:\n%s", st, o);
	ck_assert_str_eq(o, "to stdout\n");
	free(o);
}
END_TEST

/*
 * libukvm: console_err_fd gets the guest's stderr and the kernel's messages;
 * 0 keeps the behaviour from before the field (all on console_fd); quiet and
 * argv0 are config fields too.
 */
static char *embed_run(const char *rel, const char *const *argv, int err_fd_kind, bool quiet, const char *argv0,
		       char **err_text)
{
	int o[2], e[2];
	ck_assert_int_eq(pipe2(o, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(e, O_CLOEXEC), 0);
	char img[4096], msg[512];
	snprintf(img, sizeof(img), "%s", it_path(rel));
	struct ukvm_config cfg = { .size = sizeof(cfg), .pv = it_pv_mode(), .image = img, .argv = argv,
				   .console_fd = o[1], .timeout_ms = 20000, .quiet = quiet, .argv0 = argv0 };
	cfg.console_err_fd = err_fd_kind == 0 ? 0 : err_fd_kind < 0 ? -1 : e[1];
	struct ukvm_vm *vm;
	int r = ukvm_create(&cfg, &vm, msg, sizeof(msg));
	ck_assert_msg(r == UKVM_OK, "ukvm_create: %s", msg);
	struct ukvm_result res = { .size = sizeof(res) };
	ck_assert_int_eq(ukvm_run(vm, &res), 0);
	ck_assert_msg(res.kind == UKVM_EXITED && res.status == 0, "kind %d status %d: %s", res.kind, res.status,
		      res.msg);
	ukvm_destroy(vm);
	close(o[1]);
	close(e[1]);
	struct sink so = { SINK_PIPE, -1, o[0] }, se = { SINK_PIPE, -1, e[0] };
	*err_text = sink_collect(&se);
	return sink_collect(&so);
}

START_TEST(embed_console_fields)
{
	static const char *const streams[] = { "streams", NULL }, *const notice[] = { "notice", NULL };
	char *err, *out = embed_run("apps/conio.img", streams, 1, false, NULL, &err);
	ck_assert_str_eq(out, "to stdout\n");
	ck_assert_str_eq(err, "to stderr\n");
	free(out), free(err);
	out = embed_run("apps/conio.img", streams, 0, false, NULL, &err); /* 0: one stream, as before */
	ck_assert_str_eq(out, "to stdout\nto stderr\n");
	ck_assert_str_eq(err, "");
	free(out), free(err);
	out = embed_run("apps/conio.img", streams, -1, false, NULL, &err); /* -1: stderr discarded */
	ck_assert_str_eq(out, "to stdout\n");
	ck_assert_str_eq(err, "");
	free(out), free(err);
	out = embed_run("apps/conio.img", notice, 1, false, NULL, &err);
	ck_assert_str_eq(out, "syscall 999: -1 ENOSYS\n");
	ck_assert_ptr_nonnull(strstr(err, "ukvm: unimplemented syscall 999"));
	free(out), free(err);
	out = embed_run("apps/conio.img", notice, 1, true, NULL, &err);
	ck_assert_str_eq(out, "syscall 999: -1 ENOSYS\n");
	ck_assert_str_eq(err, "");
	free(out), free(err);
	out = embed_run("apps/args.img", NULL, 1, false, "given", &err);
	ck_assert_msg(strstr(out, "argc=1\nargv[0]=given\n"), "%s", out);
	free(out), free(err);
	out = embed_run("apps/args.img", NULL, 1, false, NULL, &err);
	ck_assert_msg(strstr(out, "argc=1\nargv[0]=args\n"), "%s", out);
	free(out), free(err);
}
END_TEST

/*
 * A guest's escape sequences reach a host terminal shown, not obeyed (ESC
 * as ^[, a C1 CSI as \xc2\x9b); --raw-console, a pipe and a file get them
 * as they are. args echoes its argument on stdout.
 */
START_TEST(terminal_escapes_neutralised)
{
	static const char evil[] = "t\x1b]0;owned\x07\x1b[2J\xc2\x9b" "5n\x05 gr\xc3\xbc\xc3\x9f";
	static const char shown[] = "t^[]0;owned^G^[[2J\\xc2\\x9b5n^E gr\xc3\xbc\xc3\x9f";
	for (int k = 0; k < 4; k++) {
		bool raw = k == 1;
		enum sink_kind kind = k == 2 ? SINK_PIPE : k == 3 ? SINK_FILE : SINK_PTY;
		struct sink out, err;
		sink_open(&out, kind);
		sink_open(&err, SINK_PIPE);
		const char *args[] = { "--pv", pv_arg(), raw ? "--raw-console" : "--quiet", it_path("apps/args.img"), evil,
				       NULL };
		int st = run_into(it_path("ukvm-run"), args, &out, &err);
		char *o = sink_collect(&out), *e = sink_collect(&err);
		ck_assert_msg(st == 0, "status %d: %s", st, e);
		bool safe = kind == SINK_PTY && !raw;
		ck_assert_msg(strstr(o, safe ? shown : evil), "%s %s: %s", sink_names[kind], raw ? "raw" : "", o);
		ck_assert(safe ? !strchr(o, '\x1b') : strchr(o, '\x1b') != NULL);
		free(o);
		free(e);
	}
}
END_TEST

Suite *console_suite(void)
{
	Suite *s = suite_create("console");
	TCase *c = tcase_create("core");
	tcase_set_timeout(c, 120);
	tcase_add_test(c, stdout_and_stderr_apart);
	tcase_add_test(c, notices_on_stderr_and_quiet);
	tcase_add_test(c, quiet_keeps_crash_reports);
	tcase_add_test(c, argv0_default_and_override);
	tcase_add_test(c, embed_console_fields);
	tcase_add_test(c, etc_users);
	suite_add_tcase(s, c);
	TCase *t = tcase_create("tty");
	tcase_set_timeout(t, 120);
	tcase_add_loop_test(t, isatty_like_linux, 0, (int)(sizeof(tty_cases) / sizeof(tty_cases[0])));
	tcase_add_loop_test(t, restored_sees_restoring_console, 0,
			    (int)(2 * sizeof(restore_tty_cases) / sizeof(restore_tty_cases[0])));
	tcase_add_test(t, closed_stderr_ends_the_run);
	tcase_add_test(t, terminal_escapes_neutralised);
	suite_add_tcase(s, t);
	return s;
}
