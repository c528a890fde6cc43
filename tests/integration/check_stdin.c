/* check_stdin.c: console input: the guest's fd 0 reads ukvm-run's stdin (pipes, files, terminals), a buffer per exit, readiness, blocking, stops. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "it_util.h"
#include "ukvm_abi.h"

/* The two CPU modes every case runs in: the CPL3 base mode and the default (pvm-pv where the host has it). */
static const char *const pv_modes[] = { "off", "auto" };

/* A pipe whose write end is ours (close-on-exec: the child must not keep it open). */
static void pipe_open(int p[2])
{
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
}

/* A child process writing len bytes of data into fd, then exiting: input bigger than a pipe holds. */
static int writer_start(int fd, const void *data, size_t len)
{
	int pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		size_t done = 0;
		while (done < len) {
			ssize_t n = write(fd, (const char *)data + done, len - done);
			if (n <= 0)
				_exit(1);
			done += (size_t)n;
		}
		_exit(0);
	}
	return pid;
}

/* Runs prog (NULL: ukvm-run) with args and stdin in_fd (-1: /dev/null) to the end; closes nothing of ours. */
static void run_in(struct it_result *r, const char *prog, const char *const *args, int in_fd, double limit_s)
{
	struct it_proc p;
	ck_assert_int_eq(it_start_in(&p, prog, args, in_fd), 0);
	ck_assert_int_eq(it_finish(&p, 0, limit_s, r, NULL), 0);
}

/* stdin from a pipe already holding data (whose writer has left) or empty with the writer left: bytes, then EOF. */
START_TEST(piped_bytes_and_eof)
{
	const char *pv = pv_modes[_i];
	static const char text[] = "hello\nworld\n";
	const char *vm[] = { "--pv", pv, it_path("apps/stdinio.img"), "lines", NULL };
	const char *nat[] = { "lines", NULL };
	struct it_result r, n;
	for (int k = 0; k < 2; k++) {
		int p[2];
		pipe_open(p);
		ck_assert_int_eq(write(p[1], text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
		close(p[1]);
		run_in(k ? &r : &n, k ? NULL : it_path("apps/stdinio"), k ? vm : nat, p[0], 30);
		close(p[0]);
	}
	ck_assert_str_eq(n.out, "read 12: hello|world|\neof\n");
	ck_assert_msg(r.status == 0 && strcmp(r.out, n.out) == 0, "--pv %s: status %d\n%s%s", pv, r.status, r.out,
		      r.err);
	it_result_free(&r);
	it_result_free(&n);

	/* Empty, the writer gone: end of file at once; no input at all (/dev/null) likewise. */
	int p[2];
	pipe_open(p);
	close(p[1]);
	const char *sum[] = { "--pv", pv, it_path("apps/stdinio.img"), "sum", NULL };
	run_in(&r, NULL, sum, p[0], 30);
	close(p[0]);
	ck_assert_msg(r.status == 0 && strcmp(r.out, "bytes 0 fnv cbf29ce484222325\n") == 0, "%s%s", r.out, r.err);
	it_result_free(&r);
	run_in(&r, NULL, sum, -1, 30);
	ck_assert_msg(r.status == 0 && strcmp(r.out, "bytes 0 fnv cbf29ce484222325\n") == 0, "%s%s", r.out, r.err);
	it_result_free(&r);
	fprintf(stderr, "stdin: --pv %s: piped bytes and EOF as on Linux\n", pv);
}
END_TEST

/* "ukvm-run: N exits: ..." of --stats. */
static long stats_exits(const char *err)
{
	const char *s = strstr(err, "ukvm-run: ");
	while (s) {
		char *end;
		long n = strtol(s + 10, &end, 10);
		if (end != s + 10 && strncmp(end, " exits", 6) == 0)
			return n;
		s = strstr(s + 1, "ukvm-run: ");
	}
	return -1;
}

#define BIG (10 << 20)

/*
 * 10 MiB of random bytes read in 1 KiB reads (musl stdio's size), from a
 * pipe fed by another process and from a file: byte-exact (the same
 * checksum as the program run natively), and a buffer per exit, not a read
 * per exit: fewer than one exit per 4 KiB (a read per exit would be 10240).
 */
START_TEST(ten_mib_checksum_and_exits)
{
	const char *pv = pv_modes[_i];
	char *data = malloc(BIG);
	ck_assert_ptr_nonnull(data);
	int rnd = open("/dev/urandom", O_RDONLY);
	ck_assert_int_ge(rnd, 0);
	for (size_t got = 0; got < BIG;) {
		ssize_t n = read(rnd, data + got, BIG - got);
		ck_assert_int_gt(n, 0);
		got += (size_t)n;
	}
	close(rnd);
	char file[] = "/tmp/ukvm-stdin-XXXXXX";
	int f = mkostemp(file, O_CLOEXEC);
	ck_assert_int_ge(f, 0);
	unlink(file);
	ck_assert_int_eq(write(f, data, BIG), BIG);

	struct it_result nat;
	const char *nargs[] = { "sum", NULL };
	ck_assert_int_eq(lseek(f, 0, SEEK_SET), 0);
	run_in(&nat, it_path("apps/stdinio"), nargs, f, 60);
	ck_assert_msg(nat.status == 0 && strncmp(nat.out, "bytes 10485760 fnv ", 19) == 0, "native: %s", nat.out);

	const char *vm[] = { "--pv", pv, "--stats", it_path("apps/stdinio.img"), "sum", NULL };
	for (int k = 0; k < 2; k++) {
		struct it_result r;
		int p[2] = { -1, -1 }, wpid = -1;
		if (k == 0) {
			pipe_open(p);
			wpid = writer_start(p[1], data, BIG);
			close(p[1]);
		} else {
			ck_assert_int_eq(lseek(f, 0, SEEK_SET), 0);
		}
		run_in(&r, NULL, vm, k == 0 ? p[0] : f, 120);
		if (k == 0) {
			close(p[0]);
			int st;
			ck_assert_int_eq(waitpid(wpid, &st, 0), wpid);
		}
		const char *what = k == 0 ? "pipe" : "file";
		ck_assert_msg(r.status == 0 && strcmp(r.out, nat.out) == 0, "--pv %s, %s: status %d\nukvm: %snative: %s%s", pv,
			      what, r.status, r.out, nat.out, r.err);
		long exits = stats_exits(r.err);
		ck_assert_msg(exits > 0 && exits < BIG / 4096, "--pv %s, %s: %ld exits for 10 MiB\n%s", pv, what, exits,
			      r.err);
		fprintf(stderr, "stdin: --pv %s: 10 MiB from a %s checksum-exact, %ld exits (%.1f per MiB)\n", pv, what,
			exits, exits / 10.0);
		it_result_free(&r);
	}
	it_result_free(&nat);
	close(f);
	free(data);
}
END_TEST

/* A pty's slave end (its master in *master), canonical mode as a fresh terminal is. */
static int pty_open(int *master)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_ge(m, 0);
	ck_assert_int_eq(grantpt(m), 0);
	ck_assert_int_eq(unlockpt(m), 0);
	int s = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_ge(s, 0);
	*master = m;
	return s;
}

/* A terminal gives a line per read, as read(2) of it does: two lines typed at once are two reads; ^D ends. */
START_TEST(terminal_line_by_line)
{
	const char *pv = pv_modes[_i];
	const char *vm[] = { "--pv", pv, it_path("apps/stdinio.img"), "lines", NULL };
	const char *nat[] = { "lines", NULL };
	char *out[2];
	for (int k = 0; k < 2; k++) {
		int m, s = pty_open(&m);
		struct it_proc p;
		ck_assert_int_eq(it_start_in(&p, k ? NULL : it_path("apps/stdinio"), k ? vm : nat, s), 0);
		ck_assert_int_eq(write(m, "one\ntwo\n", 8), 8);
		ck_assert_msg(it_wait_output(&p, "read 4: two|\n", 30), "%s: %s%s", k ? "ukvm" : "native", p.r.out,
			      p.r.err);
		ck_assert_int_eq(write(m, "\x04", 1), 1); /* VEOF at the start of a line: the read returns 0 */
		struct it_result r;
		ck_assert_int_eq(it_finish(&p, 0, 30, &r, NULL), 0);
		ck_assert_msg(r.status == 0, "status %d: %s%s", r.status, r.out, r.err);
		out[k] = strdup(r.out);
		it_result_free(&r);
		close(s);
		close(m);
	}
	ck_assert_str_eq(out[0], "read 4: one|\nread 4: two|\neof\n");
	ck_assert_msg(strcmp(out[0], out[1]) == 0, "--pv %s: native:\n%sukvm:\n%s", pv, out[0], out[1]);
	free(out[0]);
	free(out[1]);
	fprintf(stderr, "stdin: --pv %s: a terminal line by line, ^D as end of file\n", pv);
}
END_TEST

/*
 * poll, select and epoll on fd 0 through the input's life: not readable
 * before data, poll(-1) woken by a byte, select(-1) by the next, epoll by
 * the writer closing; at the end readable (with poll's POLLHUP, as a pipe
 * gives). The same lines as the program run natively on the same pipe.
 */
START_TEST(readiness_poll_select_epoll)
{
	const char *pv = pv_modes[_i];
	const char *vm[] = { "--pv", pv, it_path("apps/stdinio.img"), "poll", NULL };
	const char *nat[] = { "poll", NULL };
	char *out[2];
	for (int k = 0; k < 2; k++) {
		int p[2];
		pipe_open(p);
		struct it_proc pr;
		ck_assert_int_eq(it_start_in(&pr, k ? NULL : it_path("apps/stdinio"), k ? vm : nat, p[0]), 0);
		ck_assert_msg(it_wait_output(&pr, "ready\n", 30), "%s%s", pr.r.out, pr.r.err);
		ck_assert_int_eq(write(p[1], "x", 1), 1);
		ck_assert_msg(it_wait_output(&pr, "read1 1\n", 30), "%s%s", pr.r.out, pr.r.err);
		ck_assert_int_eq(write(p[1], "y", 1), 1);
		ck_assert_msg(it_wait_output(&pr, "read2 1\n", 30), "%s%s", pr.r.out, pr.r.err);
		close(p[1]);
		struct it_result r;
		ck_assert_int_eq(it_finish(&pr, 0, 30, &r, NULL), 0);
		close(p[0]);
		ck_assert_msg(r.status == 0, "status %d: %s%s", r.status, r.out, r.err);
		out[k] = strdup(r.out);
		it_result_free(&r);
	}
	ck_assert_msg(strstr(out[0], "before: poll=0 select=0 epoll=0 hup=0\n") &&
			      strstr(out[0], "with data: poll=1 select=1 epoll=1 hup=0\n") &&
			      strstr(out[0], "at eof: poll=1 select=1 epoll=1 hup=1\nread3 0\n"),
		      "native:\n%s", out[0]);
	ck_assert_msg(strcmp(out[0], out[1]) == 0, "--pv %s: native:\n%sukvm:\n%s", pv, out[0], out[1]);
	free(out[0]);
	free(out[1]);
	fprintf(stderr, "stdin: --pv %s: poll, select, epoll on fd 0 as on Linux\n", pv);
}
END_TEST

/* A thread blocked reading an empty stdin lets the others run: main sleeps, prints, finishes, then input comes. */
START_TEST(blocked_reader_lets_threads_run)
{
	const char *pv = pv_modes[_i];
	const char *vm[] = { "--pv", pv, "--stats", it_path("apps/stdinio.img"), "thread", NULL };
	int p[2];
	pipe_open(p);
	struct it_proc pr;
	ck_assert_int_eq(it_start_in(&pr, NULL, vm, p[0]), 0);
	ck_assert_msg(it_wait_output(&pr, "main done\n", 30), "%s%s", pr.r.out, pr.r.err);
	ck_assert_int_eq(write(p[1], "hi\n", 3), 3);
	struct it_result r;
	ck_assert_int_eq(it_finish(&pr, 0, 30, &r, NULL), 0);
	close(p[0]);
	close(p[1]);
	ck_assert_msg(r.status == 0 && strcmp(r.out, "main tick 0\nmain tick 1\nmain tick 2\nmain done\nreader got 3\n") == 0,
		      "--pv %s: status %d\n%s%s", pv, r.status, r.out, r.err);
	/* No spinning while it waited: a handful of WAITs, not one per poll of the input. */
	long exits = stats_exits(r.err);
	ck_assert_msg(exits > 0 && exits < 200, "--pv %s: %ld exits\n%s", pv, exits, r.err);
	it_result_free(&r);
}
END_TEST

/*
 * --timeout and SIGTERM end a guest blocked on a silent stdin: a pipe whose
 * writer stays (nonblocking reads) and a terminal nobody types on (poll,
 * then read). _i: bit 0 the CPU mode, bit 1 terminal, bit 2 SIGTERM.
 */
START_TEST(stop_while_blocked_on_silent_stdin)
{
	const char *pv = pv_modes[_i & 1];
	bool tty = _i & 2, term = _i & 4;
	const char *vm[] = { "--pv", pv, "--timeout", term ? "60" : "1", it_path("apps/stdinio.img"), "block", NULL };
	int in, keep;
	if (tty) {
		in = pty_open(&keep);
	} else {
		int p[2];
		pipe_open(p);
		in = p[0], keep = p[1];
	}
	struct it_proc pr;
	struct it_result r;
	ck_assert_int_eq(it_start_in(&pr, NULL, vm, in), 0);
	ck_assert_msg(it_wait_output(&pr, "reading\n", 30), "%s%s", pr.r.out, pr.r.err);
	int sig;
	ck_assert_int_eq(it_finish(&pr, term ? SIGTERM : 0, 30, &r, &sig), 0);
	ck_assert_msg(sig == 0, "killed by signal %d: %s", sig, r.err);
	if (term)
		ck_assert_msg(r.status == 128 + SIGTERM && strstr(r.err, "stopped by SIGTERM"), "status %d: %s", r.status,
			      r.err);
	else
		ck_assert_msg(r.status == UKVM_EXIT_TIMEOUT && strstr(r.err, "timeout"), "status %d: %s", r.status, r.err);
	ck_assert_msg(!strstr(r.out, "read "), "the read returned: %s", r.out);
	fprintf(stderr, "stdin: --pv %s: %s ends a guest blocked on a silent %s\n", pv, term ? "SIGTERM" : "--timeout",
		tty ? "terminal" : "pipe");
	it_result_free(&r);
	close(in);
	close(keep);
}
END_TEST

/*
 * libukvm: console_in_fd feeds fd 0; 0 (the default) and -1 mean none: end
 * of file at once. No seccomp here: the filter would stay on the test's
 * thread (ukvm-run, filtered, reads pipes and terminals above).
 */
START_TEST(embed_console_in_fd)
{
	char img[4096], msg[512];
	snprintf(img, sizeof(img), "%s", it_path("apps/stdinio.img"));
	static const char *const argv[] = { "sum", NULL };
	for (int k = 0; k < 3; k++) {
		int o[2], p[2];
		pipe_open(o);
		pipe_open(p);
		ck_assert_int_eq(write(p[1], "abc", 3), 3);
		close(p[1]);
		struct ukvm_config cfg = { .size = sizeof(cfg), .pv = it_pv_mode(), .image = img, .argv = argv,
					   .console_fd = o[1], .console_err_fd = -1, .timeout_ms = 20000,
					   .console_in_fd = k == 0 ? p[0] : k == 1 ? 0 : -1 };
		struct ukvm_vm *vm;
		ck_assert_msg(ukvm_create(&cfg, &vm, msg, sizeof(msg)) == UKVM_OK, "ukvm_create: %s", msg);
		struct ukvm_result res = { .size = sizeof(res) };
		ck_assert_int_eq(ukvm_run(vm, &res), 0);
		ck_assert_msg(res.kind == UKVM_EXITED && res.status == 0, "kind %d status %d: %s", res.kind, res.status,
			      res.msg);
		ukvm_destroy(vm);
		close(o[1]);
		char buf[256] = "";
		ssize_t n = read(o[0], buf, sizeof(buf) - 1);
		ck_assert_int_gt(n, 0);
		buf[n] = 0;
		const char *want = k == 0 ? "bytes 3 fnv e71fa2190541574b\n" : "bytes 0 fnv cbf29ce484222325\n";
		ck_assert_msg(strcmp(buf, want) == 0, "console_in_fd %s: %s", k == 0 ? "a pipe" : k == 1 ? "0" : "-1", buf);
		ck_assert_msg(k != 0 || (res.stdin_reads >= 1 && res.stdin_bytes == 3), "reads %llu bytes %llu",
			      (unsigned long long)res.stdin_reads, (unsigned long long)res.stdin_bytes);
		close(o[0]);
		close(p[0]);
	}
}
END_TEST

/*
 * A real program nobody here wrote: Debian's busybox-static (glibc, static)
 * hashes and counts a piped 1 MiB input, in ukvm as natively. Skipped,
 * loudly, without /bin/busybox (tools/deps.sh installs it).
 */
START_TEST(busybox_reads_a_pipe)
{
	const char *pv = pv_modes[_i];
	if (access("/bin/busybox", X_OK) != 0) {
		fprintf(stderr, "stdin: SKIPPED busybox test: /bin/busybox missing (Debian's busybox-static)\n");
		return;
	}
	char dir[] = "/tmp/ukvm-bb-XXXXXX", img[4096];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(img, sizeof(img), "%s/bb.img", dir);
	const char *bargs[] = { "-o", img, "/bin/busybox", NULL };
	struct it_result r, n;
	run_in(&r, it_path("ukvm-build"), bargs, -1, 60);
	ck_assert_msg(r.status == 0, "ukvm-build: %s%s", r.out, r.err);
	it_result_free(&r);
	static char data[1 << 20];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 2654435761u >> 13);
	static const char *const applets[] = { "sha256sum", "wc" };
	for (int a = 0; a < 2; a++) {
		const char *vm[] = { "--pv", pv, "--quiet", img, applets[a], a ? "-c" : NULL, NULL };
		const char *nat[] = { applets[a], a ? "-c" : NULL, NULL };
		for (int k = 0; k < 2; k++) {
			int p[2];
			pipe_open(p);
			int w = writer_start(p[1], data, sizeof(data));
			close(p[1]);
			run_in(k ? &r : &n, k ? NULL : "/bin/busybox", k ? vm : nat, p[0], 60);
			close(p[0]);
			int st;
			ck_assert_int_eq(waitpid(w, &st, 0), w);
		}
		ck_assert_msg(n.status == 0 && n.out[0], "native busybox %s: %s%s", applets[a], n.out, n.err);
		ck_assert_msg(r.status == 0 && strcmp(r.out, n.out) == 0, "--pv %s busybox %s: ukvm %s native %s%s", pv,
			      applets[a], r.out, n.out, r.err);
		it_result_free(&r);
		it_result_free(&n);
	}
	unlink(img);
	rmdir(dir);
	fprintf(stderr, "stdin: --pv %s: busybox sha256sum and wc -c of a pipe as on Linux\n", pv);
}
END_TEST

/* The SQLite shell (tools/build.mk: Debian's shell.c, static); false, with the SKIPPED line, without it. */
static bool sqlite_present(const char *what)
{
	if (access(it_path("apps/sqlite3.img"), R_OK) == 0 && access(it_path("apps/sqlite3"), X_OK) == 0)
		return true;
	fprintf(stderr, "stdin: SKIPPED sqlite3 %s: %s missing (SQLite's shell.c not fetched: run tools/deps.sh, then "
		"make)\n", what, it_path("apps/sqlite3.img"));
	return false;
}

/* Runs the static sqlite3 natively (k 0) or in ukvm (k 1), no --quiet: its stdin the pipe or file in_fd. */
static void sqlite_run(struct it_result *r, int k, const char *pv, int in_fd)
{
	const char *vm[] = { "--pv", pv, it_path("apps/sqlite3.img"), NULL };
	const char *nat[] = { NULL };
	run_in(r, k ? NULL : it_path("apps/sqlite3"), k ? vm : nat, in_fd, 60);
}

/* stdout, stderr and status of a native and a ukvm run the same, byte for byte; msg names the run. */
static void sqlite_same(const struct it_result *n, const struct it_result *r, const char *msg)
{
	char diff[512];
	it_first_diff(n->out, r->out, diff, sizeof(diff));
	ck_assert_msg(r->out_len == n->out_len && memcmp(r->out, n->out, n->out_len) == 0, "%s: stdout: %s", msg, diff);
	it_first_diff(n->err, r->err, diff, sizeof(diff));
	ck_assert_msg(strcmp(r->err, n->err) == 0, "%s: stderr: %s", msg, diff);
	ck_assert_msg(r->status == n->status, "%s: status %d, natively %d", msg, r->status, n->status);
}

/*
 * README's example, `echo 'select 1;' | ukvm-run sqlite3.img`, with SQLite's
 * own shell (Debian's source, glibc static): "1", and nothing else on
 * stderr (no kernel notice either: glibc's rseq at start is ENOSYS quietly).
 */
START_TEST(sqlite_select_1_from_a_pipe)
{
	const char *pv = pv_modes[_i];
	if (!sqlite_present("select 1"))
		return;
	struct it_result r[2];
	for (int k = 0; k < 2; k++) {
		int p[2];
		pipe_open(p);
		ck_assert_int_eq(write(p[1], "select 1;\n", 10), 10);
		close(p[1]);
		sqlite_run(&r[k], k, pv, p[0]);
		close(p[0]);
	}
	ck_assert_msg(r[0].status == 0 && strcmp(r[0].out, "1\n") == 0 && !r[0].err[0], "native: %d %s%s", r[0].status,
		      r[0].out, r[0].err);
	sqlite_same(&r[0], &r[1], pv);
	it_result_free(&r[0]);
	it_result_free(&r[1]);
	fprintf(stderr, "stdin: --pv %s: echo 'select 1;' | ukvm-run sqlite3.img prints 1, as on Linux\n", pv);
}
END_TEST

/* Tables, a join, group by, printf(), CSV with headers (rows end in \r\n, RFC 4180), a syntax and a runtime error. */
static const char sqlite_script[] =
	"create table dept(id integer primary key, name text not null);\n"
	"create table emp(id integer primary key, name text, dept integer references dept(id), salary real);\n"
	"insert into dept values (1,'eng'),(2,'ops'),(3,'sales');\n"
	"insert into emp(name,dept,salary) values ('ada',1,120.5),('bob',1,99),('cy',2,80.25),('di',3,70),('ed',3,NULL);\n"
	"select e.name, d.name from emp e join dept d on d.id = e.dept order by e.id;\n"
	"select d.name, count(*), sum(e.salary), printf('%.2f', avg(e.salary)) from emp e join dept d on d.id = e.dept\n"
	"  group by d.name order by d.name;\n"
	"selec oops;\n"
	"select printf('%5d|%-6s|%08.3f|%x', 42, 'ab', 3.14159, 255);\n"
	".mode csv\n"
	".headers on\n"
	"select id, name, printf('\"%s\"', name) as quoted from emp where salary > 75 order by salary desc;\n"
	".mode list\n"
	".headers off\n"
	"with recursive c(x) as (select 1 union all select x+1 from c where x < 20000)\n"
	"  select count(*), sum(x), group_concat(x*x, ',') filter (where x <= 10) from c;\n"
	"select * from nosuchtable;\n"
	".schema\n"
	"select 'end';\n";

/*
 * A longer SQL script into the SQLite shell, from a pipe fed by another
 * process and from a file (`ukvm-run sqlite3.img < file.sql`): stdout,
 * stderr (the shell's error lines) and exit status (1: errors happened)
 * byte-identical with the same binary run natively.
 */
START_TEST(sqlite_script_as_on_linux)
{
	const char *pv = pv_modes[_i];
	if (!sqlite_present("script"))
		return;
	char file[] = "/tmp/ukvm-sql-XXXXXX";
	int f = mkostemp(file, O_CLOEXEC);
	ck_assert_int_ge(f, 0);
	unlink(file);
	ck_assert_int_eq(write(f, sqlite_script, sizeof(sqlite_script) - 1), (ssize_t)sizeof(sqlite_script) - 1);
	struct it_result n, r;
	ck_assert_int_eq(lseek(f, 0, SEEK_SET), 0);
	sqlite_run(&n, 0, pv, f);
	/* What the shell itself says, so a broken native run cannot make the comparison pass. */
	ck_assert_msg(n.status == 1 && strstr(n.out, "ada|eng\n") && strstr(n.out, "sales|2|70.0|70.00\n") &&
			      strstr(n.out, "   42|ab    |0003.142|ff\n") && strstr(n.out, "id,name,quoted\r\n1,ada,\"\"\"ada\"\"\"\r\n") &&
			      strstr(n.out, "20000|200010000|1,4,9,16,25,36,49,64,81,100\n") &&
			      strstr(n.out, "CREATE TABLE dept(") && strstr(n.out, "\nend\n") &&
			      strstr(n.err, "Parse error near line 8: near \"selec\": syntax error\n") &&
			      strstr(n.err, "no such table: nosuchtable\n"),
		      "native: status %d\n%s%s", n.status, n.out, n.err);
	for (int k = 0; k < 2; k++) {
		int p[2] = { -1, -1 }, wpid = -1;
		if (k == 0) {
			pipe_open(p);
			wpid = writer_start(p[1], sqlite_script, sizeof(sqlite_script) - 1);
			close(p[1]);
		} else {
			ck_assert_int_eq(lseek(f, 0, SEEK_SET), 0);
		}
		sqlite_run(&r, 1, pv, k == 0 ? p[0] : f);
		if (k == 0) {
			close(p[0]);
			int st;
			ck_assert_int_eq(waitpid(wpid, &st, 0), wpid);
		}
		char msg[64];
		snprintf(msg, sizeof(msg), "--pv %s, %s", pv, k == 0 ? "pipe" : "file");
		sqlite_same(&n, &r, msg);
		it_result_free(&r);
	}
	fprintf(stderr, "stdin: --pv %s: a %zu-byte SQL script from a pipe and a file: %zu bytes out, stderr and "
		"status %d as on Linux\n", pv, sizeof(sqlite_script) - 1, n.out_len, n.status);
	it_result_free(&n);
	close(f);
}
END_TEST

/*
 * A function blocked reading stdin is idle: --snapshot-when-idle snapshots
 * it there, and each VM restored from that snapshot reads its own stdin
 * (what the booted VM's stdin held is not inherited).
 */
START_TEST(snapshot_while_reading_then_restore_with_new_input)
{
	const char *pv = pv_modes[_i];
	char snap[] = "/tmp/ukvm-stdin-snap-XXXXXX";
	int sf = mkstemp(snap);
	ck_assert_int_ge(sf, 0);
	close(sf);
	int p[2];
	pipe_open(p); /* silent while the guest boots: it blocks reading, idle */
	const char *boot[] = { "--pv", pv, "--snapshot-when-idle", snap, it_path("apps/stdinio.img"), "lines", NULL };
	struct it_result r;
	run_in(&r, NULL, boot, p[0], 60);
	close(p[0]);
	close(p[1]);
	ck_assert_msg(r.status == 0 && strstr(r.err, "snapshot written"), "--pv %s: status %d: %s%s", pv, r.status, r.out,
		      r.err);
	it_result_free(&r);
	static const char *const inputs[] = { "first\n", "second one\n" };
	static const char *const want[] = { "read 6: first|\neof\n", "read 11: second one|\neof\n" };
	for (int k = 0; k < 2; k++) {
		pipe_open(p);
		ck_assert_int_eq(write(p[1], inputs[k], strlen(inputs[k])), (ssize_t)strlen(inputs[k]));
		close(p[1]);
		const char *res[] = { "--pv", pv, "--restore", snap, NULL };
		run_in(&r, NULL, res, p[0], 60);
		close(p[0]);
		ck_assert_msg(r.status == 0 && strcmp(r.out, want[k]) == 0, "--pv %s restore %d: status %d\n%s%s", pv, k,
			      r.status, r.out, r.err);
		it_result_free(&r);
	}
	unlink(snap);
	fprintf(stderr, "stdin: --pv %s: snapshot while blocked on stdin, restored twice with new input\n", pv);
}
END_TEST

/* One VM of a test guest with console_in_fd in_fd: its result. */
static void embed_tg(const char *rel, int in_fd, struct ukvm_result *res)
{
	char img[4096], msg[512];
	snprintf(img, sizeof(img), "%s", it_path(rel));
	struct ukvm_config cfg = { .size = sizeof(cfg), .pv = it_pv_mode(), .image = img, .console_fd = -1,
				   .console_err_fd = -1, .timeout_ms = 1000, .console_in_fd = in_fd };
	struct ukvm_vm *vm;
	ck_assert_msg(ukvm_create(&cfg, &vm, msg, sizeof(msg)) == UKVM_OK, "ukvm_create: %s", msg);
	res->size = sizeof(*res);
	ck_assert_int_eq(ukvm_run(vm, res), 0);
	ukvm_destroy(vm);
}

/*
 * Hostile input hypercalls end the run with a guest error and one line; a
 * WAIT for input with no input and no device is refused (it could never
 * end), with an input it ends when the input is readable; unknown WAIT
 * flags are refused.
 */
START_TEST(hostile_input_hypercalls)
{
	struct ukvm_result res;
	int p[2];
	pipe_open(p);
	embed_tg("vmm/testguest-badin.elf", p[0], &res);
	ck_assert_msg(res.kind == UKVM_FAILED && res.status == UKVM_EXIT_GUESTERR &&
			      strstr(res.msg, "console read buffer 0xfffffffffffff000+0x10 is outside guest memory"),
		      "%d %d %s", res.kind, res.status, res.msg);
	embed_tg("vmm/testguest-bigin.elf", p[0], &res);
	ck_assert_msg(res.kind == UKVM_FAILED && res.status == UKVM_EXIT_GUESTERR &&
			      strstr(res.msg, "exceeds the 1048576-byte limit"),
		      "%d %d %s", res.kind, res.status, res.msg);
	embed_tg("vmm/testguest-waitbad.elf", p[0], &res);
	ck_assert_msg(res.kind == UKVM_EXITED && res.status == (-EINVAL & 0xff), "%d %d %s", res.kind, res.status,
		      res.msg);
	embed_tg("vmm/testguest-waitin.elf", 0, &res);
	ck_assert_msg(res.kind == UKVM_EXITED && res.status == (-EDEADLK & 0xff), "%d %d %s", res.kind, res.status,
		      res.msg);
	/* A silent pipe: the wait lasts until the timeout ends the run ... */
	embed_tg("vmm/testguest-waitin.elf", p[0], &res);
	ck_assert_msg(res.kind == UKVM_TIMEOUT, "%d %d %s", res.kind, res.status, res.msg);
	/* ... and ends with UKVM_WAIT_RET_INPUT once the pipe holds a byte. */
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	embed_tg("vmm/testguest-waitin.elf", p[0], &res);
	ck_assert_msg(res.kind == UKVM_EXITED && res.status == UKVM_WAIT_RET_INPUT, "%d %d %s", res.kind, res.status, res.msg);
	close(p[0]);
	close(p[1]);
}
END_TEST

Suite *stdin_suite(void)
{
	Suite *s = suite_create("stdin");
	TCase *c = tcase_create("core");
	tcase_set_timeout(c, 300);
	tcase_add_loop_test(c, piped_bytes_and_eof, 0, 2);
	tcase_add_loop_test(c, ten_mib_checksum_and_exits, 0, 2);
	tcase_add_loop_test(c, terminal_line_by_line, 0, 2);
	tcase_add_loop_test(c, readiness_poll_select_epoll, 0, 2);
	tcase_add_loop_test(c, blocked_reader_lets_threads_run, 0, 2);
	tcase_add_loop_test(c, stop_while_blocked_on_silent_stdin, 0, 8);
	tcase_add_loop_test(c, busybox_reads_a_pipe, 0, 2);
	tcase_add_loop_test(c, sqlite_select_1_from_a_pipe, 0, 2);
	tcase_add_loop_test(c, sqlite_script_as_on_linux, 0, 2);
	tcase_add_loop_test(c, snapshot_while_reading_then_restore_with_new_input, 0, 2);
	tcase_add_test(c, embed_console_in_fd);
	tcase_add_test(c, hostile_input_hypercalls);
	suite_add_tcase(s, c);
	return s;
}
