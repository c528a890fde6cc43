/* check_compat.c: real programs nobody here wrote (Debian's busybox-static and bash-static) give the same stdout, stderr and exit status in ukvm as natively. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "it_util.h"

/*
 * One table of cases, each one program run: natively with its working
 * directory a fresh copy of the data directory below, and in ukvm from an
 * image that packs the same directory at the same absolute path, which is
 * the guest's working directory (--cwd): paths, relative or absolute, name
 * the same files on both sides. The data directory is on /dev/shm, a
 * tmpfs, made in reverse name order so that tmpfs lists it in name order,
 * as the image's archive (sorted) does: find and ls print the same order. argv[0] is the native program's path on both sides
 * (--argv0). Nothing is normalised: no case prints pids, times or
 * addresses. The guest has no fork, so every case is one program: busybox
 * sh runs only its builtins (an applet would need fork), bash a script of
 * builtins. A case marked known may differ today for the reason it gives:
 * it is reported, not failed, and the report says when it starts to match.
 */

enum prog { BB, BASH };
static const char *const prog_path[] = { "/bin/busybox", "/bin/bash-static" };
static const char *const prog_pkg[] = { "busybox-static", "bash-static" };

struct compat_case {
	enum prog prog;
	const char *args[8];
	const char *in;    /* stdin; NULL: /dev/null */
	const char *known; /* NULL, or why it may differ today */
};

static const char bash_script[] =
	"# builtins only: nothing here may fork\n"
	"declare -a arr=(pear apple fig)\narr+=(kiwi)\n"
	"echo \"n=${#arr[@]} first=${arr[0]} last=${arr[-1]}\"\n"
	"declare -A m=([one]=1 [two]=2)\necho \"two=${m[two]} keys=${#m[@]}\"\n"
	"s=\"Hello, World\"\necho \"${s,,} ${s^^} ${s/World/There} ${s:7:5} ${#s}\"\n"
	"for ((i = 0; i < 5; i++)); do (( sum += i * i )); done\necho \"sum=$sum\"\n"
	"printf -v pad '%05d|%-6s|%x' 42 ab 255\necho \"$pad\"\n"
	"f() { local x=$1; echo \"f:$x:$#\"; return $((x % 7)); }\nf 10 a b; echo \"rc=$?\"\n"
	"while IFS=, read -r k v; do echo \"$v=$k\"; done <<'CSV'\na,1\nb,2\nCSV\n"
	"read -r -a words <<< \"x y  z\"\necho \"${words[2]} ${#words[@]}\"\n"
	"case \"$s\" in *World) echo matched;; *) echo no;; esac\n"
	"[[ $s =~ ^H(el+)o ]] && echo \"re=${BASH_REMATCH[1]}\"\n"
	"mapfile -t lines < words\necho \"lines=${#lines[@]} ${lines[3]}\"\n"
	"while read -r n; do (( n > 9 )) && echo \"big $n\"; done < nums\n"
	"echo \"$(( 2 ** 10 )) $(( -7 / 2 )) $(( 7 % -3 ))\"\n"
	"set -- a \"b c\" d\necho \"$# $2\"\nshift; echo \"$*\"\n"
	"[ -d sub ] && [ -f sub/z.txt ] && [ ! -e nope ] && echo tests\n"
	"trap 'echo trapped EXIT' EXIT\necho err >&2\nexit 3\n";

static const struct compat_case cases[] = {
	/* busybox sh: builtins, read, here-documents, arithmetic, functions, parameter expansion, exit status. */
	{ BB, { "sh", "-c", "read a b; echo \"$b $a\"; x=$((6*7)); echo $x; for i in 1 2 3; do printf '%s-' $i; done; echo; "
			     "case foo in f*) echo match;; esac" }, "hello world\n", NULL },
	{ BB, { "sh", "-c", "while read l; do echo \"[$l]\"; done <<EOF\none\ntwo $((1+1))\nEOF\n"
			     "read -r x <<'E2'\n$literal\\n\nE2\necho \"$x\"" }, NULL, NULL },
	{ BB, { "sh", "-c", "f() { return 3; }; f; echo $?; [ -d sub ] && echo dir; set -- a b c; echo $# ${#1}; "
			     "v=abcdef; echo ${v#ab} ${v%ef} ${v:-x} ${u:-unset}; echo to-err >&2; exit 4" }, NULL, NULL },
	{ BB, { "sh", "-c", "i=0; while [ $i -lt 5 ]; do i=$((i+1)); [ $i = 3 ] && continue; printf '%d ' $i; done; echo; "
			     "echo line > out/f; read back < out/f; echo \"$back\"; echo x > /dev/stderr" }, NULL, NULL },
	{ BB, { "sort", "-n", "nums" }, NULL, NULL },
	{ BB, { "sort", "-r", "-u", "words" }, NULL, NULL },
	{ BB, { "sort" }, "b\nc\na\n", NULL },
	{ BB, { "sed", "-e", "s/a/A/g", "-e", "2d", "words" }, NULL, NULL },
	{ BB, { "sed", "-n", "/an/p", "words" }, NULL, NULL },
	{ BB, { "sed", "-i", "s/x/X/", "table.csv" }, NULL, NULL },
	{ BB, { "awk", "{s+=$1} END {print s, NR}", "nums" }, NULL, NULL },
	{ BB, { "awk", "-F,", "{print $2 \":\" $1; print > \"/dev/stderr\"}", "table.csv" }, NULL, NULL },
	{ BB, { "grep", "-n", "an", "words" }, NULL, NULL },
	{ BB, { "grep", "-c", "apple", "words" }, NULL, NULL },
	{ BB, { "grep", "-r", "alpha", "sub" }, NULL, NULL },
	{ BB, { "grep", "zzz", "words" }, NULL, NULL },
	{ BB, { "sha256sum", "data.bin", "words" }, NULL, NULL },
	{ BB, { "md5sum", "-" }, "stdin bytes\n", NULL },
	{ BB, { "tar", "-tvf", "arc.tar" }, NULL, NULL },
	{ BB, { "tar", "-xvf", "arc.tar", "-C", "out" }, NULL, NULL },
	{ BB, { "gzip", "-dc", "gz.gz" }, NULL, NULL },
	{ BB, { "gzip", "-cn", "words" }, NULL, NULL },
	{ BB, { "gzip", "-t", "words" }, NULL, NULL },
	{ BB, { "find", ".", "-name", "*.txt" }, NULL, NULL },
	{ BB, { "find", "sub", "out", "-type", "f" }, NULL, NULL },
	{ BB, { "find", ".", "-maxdepth", "1", "-newer", "nope" }, NULL, NULL },
	{ BB, { "ln", "-s", "words", "newlink" }, NULL, NULL },
	{ BB, { "ln", "-s", "nums", "words" }, NULL, NULL },
	{ BB, { "ln", "words", "sub" }, NULL, NULL },
	{ BB, { "mkfifo", "newfifo" }, NULL, NULL },
	{ BB, { "mkfifo", "words" }, NULL, NULL },
	{ BB, { "id" }, NULL, NULL },
	{ BB, { "stat", "-c", "%n %s %F %a %h %b", "words", "sub", "out", "data.bin" }, NULL, NULL },
	{ BB, { "stat", "-f", "-c", "%T %S", "." }, NULL, NULL },
	{ BB, { "du", "-k", "words", "data.bin" }, NULL, NULL },
	{ BB, { "du", "-s", "sub" }, NULL, NULL },
	{ BB, { "wc", "-l", "words", "nums" }, NULL, NULL },
	{ BB, { "tr", "a-z", "A-Z" }, "a b c\n", NULL },
	{ BB, { "uniq", "-c", "sub/z.txt" }, NULL, NULL },
	{ BB, { "cut", "-d,", "-f2", "table.csv" }, NULL, NULL },
	{ BB, { "head", "-n", "2", "words" }, NULL, NULL },
	{ BB, { "tail", "-n", "2", "words" }, NULL, NULL },
	{ BB, { "od", "-c", "b.txt" }, NULL, NULL },
	{ BB, { "ls", "-a", "sub" }, NULL, NULL },
	{ BB, { "cat", "nope" }, NULL, NULL },
	{ BB, { "expr", "6", "*", "7" }, NULL, NULL },
	{ BB, { "seq", "-s", ",", "3" }, NULL, NULL },
	{ BB, { "cmp", "words", "nums" }, NULL, NULL },
	{ BB, { "base64", "b.txt" }, NULL, NULL },
	{ BB, { "hexdump", "-C", "a.txt" }, NULL, NULL },
	{ BB, { "sha512sum", "words" }, NULL, NULL },
	{ BB, { "nl", "words" }, NULL, NULL },
	{ BB, { "rev", "table.csv" }, NULL, NULL },
	{ BB, { "paste", "-d:", "words", "nums" }, NULL, NULL },
	{ BB, { "tac", "nums" }, NULL, NULL },
	{ BB, { "date", "-u", "-d", "@1700000000" }, NULL, NULL },
	{ BB, { "cal", "2", "2024" }, NULL, NULL },
	{ BB, { "factor", "360", "97" }, NULL, NULL },
	{ BB, { "dc", "-e", "2 10 ^ p" }, NULL, NULL },
	{ BB, { "tar", "-cvf", "out/x.tar", "sub" }, NULL, NULL },
	{ BB, { "cat", "/dev/stdin" }, "through /dev/stdin\n", NULL },
	{ BB, { "readlink", "-f", "sub/../words" }, NULL, NULL },
	/* Symbolic links the image carries (ukvm-build packs them as links). */
	{ BB, { "readlink", "link", "dangle" }, NULL, NULL },
	{ BB, { "cat", "link", "dangle" }, NULL, NULL },
	{ BB, { "stat", "-c", "%N %F %s", "link", "dangle" }, NULL, NULL },
	{ BB, { "find", ".", "-type", "l" }, NULL, NULL },
	{ BB, { "find", "-L", ".", "-name", "link" }, NULL, NULL },
	{ BB, { "sh", "-c", "[ -L link ] && echo L; [ -e dangle ] || echo dangling; [ link -ef words ] && echo same; "
			     "read w < link; echo $w" }, NULL, NULL },
	{ BB, { "realpath", "out/../sub" }, NULL, NULL },
	{ BB, { "sh", "-c", "echo \"$PWD\"; cd sub && pwd; cd ..; pwd -P; cd /nonexistent" }, NULL, NULL },
	{ BASH, { "script.sh" }, NULL, NULL },
	{ BASH, { "-c", "echo \"${BASH_VERSINFO[0]}\"; x=(1 2 3); echo ${x[@]:1}; nosuchcmd" }, NULL, NULL },
};
#define N_CASES ((int)(sizeof(cases) / sizeof(cases[0])))

/* ---- the data directory ---- */

static void put(const char *dir, const char *name, const void *data, size_t len)
{
	char p[4200];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_msg(fd >= 0, "%s: %s", p, strerror(errno));
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void sub_dir(const char *dir, const char *name)
{
	char p[4200];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	ck_assert_int_eq(mkdir(p, 0755), 0);
}

static void link_make(const char *dir, const char *target, const char *name)
{
	char p[4200];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	ck_assert_int_eq(symlink(target, p), 0);
}

/* Runs a program natively to completion: its stdout (malloc'd, *len bytes). */
static char *run_native(const char *prog, const char *const *args, size_t *len)
{
	struct it_result r;
	ck_assert_int_eq(it_run_prog(&r, 60, prog, args), 0);
	ck_assert_msg(r.status == 0, "%s: %d %s", prog, r.status, r.err);
	char *out = malloc(r.out_len + 1);
	memcpy(out, r.out, r.out_len + 1);
	*len = r.out_len;
	it_result_free(&r);
	return out;
}

/* The archives, made once by the native busybox from the data they hold. */
static char *tar_bytes, *gz_bytes;
static size_t tar_len, gz_len;

static const char words[] = "banana\napple\ncherry\napple\ndate\nfig\n";

/* Makes the data directory at dir (absent), newest name first so tmpfs lists names in order. */
static void data_make(const char *dir)
{
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	put(dir, "words", words, strlen(words));
	put(dir, "table.csv", "x,1\ny,2\nz,3\n", 12);
	sub_dir(dir, "sub");
	put(dir, "sub/z.txt", "gamma\nalpha\nbeta\nalpha\n", 23);
	put(dir, "sub/a.txt", "deep\n", 5);
	put(dir, "script.sh", bash_script, strlen(bash_script));
	sub_dir(dir, "out");
	put(dir, "nums", "10\n9\n100\n-3\n42\n7\n", 17);
	link_make(dir, "words", "link");
	if (!gz_bytes) {
		char p[4200];
		snprintf(p, sizeof(p), "%s/words", dir);
		const char *a[] = { "gzip", "-cn", p, NULL };
		gz_bytes = run_native(prog_path[BB], a, &gz_len);
	}
	put(dir, "gz.gz", gz_bytes, gz_len);
	static char data[65536];
	memset(data, 'q', sizeof(data));
	put(dir, "data.bin", data, sizeof(data));
	link_make(dir, "nowhere", "dangle");
	put(dir, "b.txt", "line one\nline two\n", 18);
	if (!tar_bytes) {
		const char *a[] = { "tar", "-cf", "-", "-C", dir, "sub", NULL };
		tar_bytes = run_native(prog_path[BB], a, &tar_len);
	}
	put(dir, "arc.tar", tar_bytes, tar_len);
	put(dir, "a.txt", "hello\n", 6);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void data_remove(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- running the cases ---- */

/* Runs prog with args, stdin fed from in (NULL: /dev/null), in cwd (NULL: ours). */
static void run_case(const char *prog, const char *const *args, const char *in, const char *cwd, struct it_result *r)
{
	int fds[2] = { -1, -1 };
	if (in) {
		ck_assert_int_eq(pipe(fds), 0);
		ck_assert_int_eq(write(fds[1], in, strlen(in)), (ssize_t)strlen(in)); /* small: fits the pipe */
		close(fds[1]);
	}
	char here[4200];
	ck_assert_ptr_nonnull(getcwd(here, sizeof(here)));
	if (cwd)
		ck_assert_int_eq(chdir(cwd), 0);
	struct it_proc p;
	ck_assert_int_eq(it_start_in(&p, prog, args, fds[0]), 0);
	ck_assert_int_eq(chdir(here), 0);
	if (fds[0] >= 0)
		close(fds[0]);
	ck_assert_int_eq(it_finish(&p, 0, 60, r, NULL), 0);
}

static void case_name(const struct compat_case *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s", c->prog == BB ? "busybox" : "bash");
	for (int i = 0; i < 8 && c->args[i]; i++) {
		size_t at = strlen(buf);
		snprintf(buf + at, len - at, " %.*s", (int)strcspn(c->args[i], "\n"), c->args[i]);
	}
	if (strlen(buf) > 70)
		strcpy(buf + 67, "...");
}

START_TEST(programs_as_on_linux)
{
	static const char *const pv_modes[] = { "auto", "off" };
	const char *pv = pv_modes[_i];
	struct statfs sf;
	for (int p = 0; p < 2; p++) {
		if (access(prog_path[p], X_OK) != 0) {
			fprintf(stderr, "compat: SKIPPED: no %s (tools/deps.sh installs %s)\n", prog_path[p], prog_pkg[p]);
			return;
		}
	}
	if (statfs("/dev/shm", &sf) != 0 || sf.f_type != 0x01021994) {
		fprintf(stderr, "compat: SKIPPED: /dev/shm is not a tmpfs (the native side's directory order)\n");
		return;
	}
	char top[] = "/dev/shm/ukvm-compat-XXXXXX", tmpl[4200], img[2][4200], cwd[4200];
	ck_assert_ptr_nonnull(mkdtemp(top));
	snprintf(tmpl, sizeof(tmpl), "%s/data", top);
	data_make(tmpl);
	char *builder = strdup(it_path("ukvm-build")), *runner = strdup(it_path("ukvm-run"));
	snprintf(cwd, sizeof(cwd), "%s/run", top);
	for (int p = 0; p < 2; p++) {
		snprintf(img[p], sizeof(img[p]), "%s/%d.img", top, p);
		char spec[8500];
		snprintf(spec, sizeof(spec), "%s:%s", tmpl, cwd);
		const char *a[] = { "-o", img[p], "--dir", spec, prog_path[p], NULL };
		struct it_result r;
		run_case(builder, a, NULL, NULL, &r);
		ck_assert_msg(r.status == 0, "ukvm-build: %s%s", r.out, r.err);
		it_result_free(&r);
	}
	int match = 0, known = 0, differ = 0;
	char fails[8192] = "";
	for (int i = 0; i < N_CASES; i++) {
		const struct compat_case *c = &cases[i];
		char name[128];
		case_name(c, name, sizeof(name));
		data_make(cwd);
		struct it_result n, v;
		run_case(prog_path[c->prog], c->args, c->in, cwd, &n);
		data_remove(cwd);
		const char *va[18] = { "--pv", pv, "--quiet", "--argv0", prog_path[c->prog], "--cwd", cwd, img[c->prog] };
		int k = 8;
		for (int j = 0; j < 8 && c->args[j]; j++)
			va[k++] = c->args[j];
		va[k] = NULL;
		run_case(runner, va, c->in, NULL, &v);
		bool same = n.status == v.status && n.out_len == v.out_len && memcmp(n.out, v.out, n.out_len) == 0 &&
			    strcmp(n.err, v.err) == 0;
		const char *verdict = same ? (c->known ? "MATCH (known no more: drop its mark)" : "MATCH")
					   : (c->known ? "KNOWN" : "DIFFER");
		fprintf(stderr, "compat: --pv %s: %-6s %-70s status %d/%d\n", pv, verdict, name, n.status, v.status);
		if (same) {
			match++;
		} else if (c->known) {
			known++;
			fprintf(stderr, "compat:     known: %s\n", c->known);
		} else {
			differ++;
			size_t at = strlen(fails);
			snprintf(fails + at, sizeof(fails) - at,
				 "%s: status %d vs %d\n native out: %.300s\n ukvm out:   %.300s\n native err: %.300s\n ukvm err:   %.300s\n",
				 name, n.status, v.status, n.out, v.out, n.err, v.err);
		}
		it_result_free(&n);
		it_result_free(&v);
	}
	fprintf(stderr, "compat: --pv %s: %d cases, %d match, %d known to differ, %d differ\n", pv, N_CASES, match, known,
		differ);
	data_remove(top);
	free(builder);
	free(runner);
	ck_assert_msg(differ == 0, "--pv %s: %d of %d cases differ from Linux:\n%s", pv, differ, N_CASES, fails);
}
END_TEST

Suite *compat_suite(void)
{
	Suite *s = suite_create("compat");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 600);
	tcase_add_loop_test(tc, programs_as_on_linux, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
