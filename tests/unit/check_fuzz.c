/* check_fuzz.c: the fuzz harnesses of tests/fuzz as regression tests: each one over its seed corpus and saved reproducers. */
#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FUZZ_DIR
#error "FUZZ_DIR (absolute path of tests/fuzz) must be defined by tests/build.mk"
#endif

/*
 * tests/build.mk compiles tests/fuzz/fuzz_<name>.c into this runner with gcc
 * under the runner's ASan+UBSan flags, renaming LLVMFuzzerTestOneInput to
 * fuzz_one_<name>, and passes the names as FUZZ_LIST, X(elf) X(virtq) ...:
 * the regression needs no clang.
 */
#ifndef FUZZ_LIST
#error "FUZZ_LIST (X(name) per harness) must be defined by tests/build.mk"
#endif

#define X(n) int fuzz_one_##n(const uint8_t *data, size_t size);
FUZZ_LIST
#undef X

enum {
#define X(n) FZ_##n,
	FUZZ_LIST
#undef X
	FZ_COUNT
};

#define FUZZ_MAX_FILES 256

/* The inputs of one harness from one folder: corpus/ and repro/ (regression) or pending/ (known bugs). */
struct fuzz_set {
	char *paths[FUZZ_MAX_FILES];
	int n;
};

static const struct fuzz_harness {
	const char *name;
	int (*one)(const uint8_t *data, size_t size);
} fuzz_harness[FZ_COUNT] = {
#define X(n) [FZ_##n] = { #n, fuzz_one_##n },
	FUZZ_LIST
#undef X
};

static struct fuzz_set fuzz_regress[FZ_COUNT], fuzz_pending[FZ_COUNT];

static int fuzz_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends the regular files of FUZZ_DIR/<kind>/<harness>/ (absent is empty) to set, sorted. */
static void fuzz_scan(struct fuzz_set *set, const char *kind, const char *harness)
{
	char dir[512];
	DIR *d;
	struct dirent *e;
	int first = set->n;

	snprintf(dir, sizeof(dir), "%s/%s/%s", FUZZ_DIR, kind, harness);
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		char path[1024];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (e->d_name[0] == '.' || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (set->n == FUZZ_MAX_FILES) {
			fprintf(stderr, "check_fuzz: %s: more than %d files, the rest skipped: keep corpora small\n",
				dir, FUZZ_MAX_FILES);
			break;
		}
		set->paths[set->n++] = strdup(path);
	}
	closedir(d);
	qsort(set->paths + first, (size_t)(set->n - first), sizeof(char *), fuzz_cmp);
}

static uint8_t *fuzz_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	/* Exactly n bytes, as libFuzzer hands them over: ASan sees a read past the end. */
	buf = malloc(n ? (size_t)n : 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Names the input when a harness aborts (FUZZ_CHECK) or ASan reports: Check itself shows only the signal. */
static const char *fuzz_current;

static void fuzz_name_current(void)
{
	if (fuzz_current)
		fprintf(stderr, "check_fuzz: failing input: %s\n", fuzz_current);
}

static void fuzz_on_abort(int sig)
{
	fuzz_name_current();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* ASan's report hook (a weak symbol of its runtime): runs before the report is printed. */
void __asan_on_error(void);
void __asan_on_error(void)
{
	fuzz_name_current();
}

static void fuzz_run(int h, const struct fuzz_set *set, int i)
{
	size_t len;
	uint8_t *data = fuzz_read(set[h].paths[i], &len);

	fuzz_current = set[h].paths[i];
	signal(SIGABRT, fuzz_on_abort);
	ck_assert_int_eq(fuzz_harness[h].one(data, len), 0);
	fuzz_current = NULL;
	free(data);
}

/* Per harness, one loop test over its seeds and saved reproducers, and one over its pending reproducers. */
#define X(name)                                                                                     \
	START_TEST(test_##name)                                                                     \
	{                                                                                           \
		ck_assert_msg(_i < fuzz_regress[FZ_##name].n, "no seeds in tests/fuzz/corpus/%s", #name); \
		fuzz_run(FZ_##name, fuzz_regress, _i);                                              \
	}                                                                                           \
	END_TEST                                                                                    \
	/* A known bug's reproducer must still abort: once it stops, the fix landed and the file */   \
	/* moves from pending/ to repro/ (the message says so). */                                    \
	START_TEST(test_pending_##name)                                                             \
	{                                                                                           \
		fprintf(stderr, "check_fuzz: %s: a known bug, expected to abort now; once this test "    \
			"fails, the bug is fixed: git mv the file to tests/fuzz/repro/%s/ and make its "   \
			"FUZZ_PENDING a FUZZ_CHECK\n", fuzz_pending[FZ_##name].paths[_i], #name);         \
		fuzz_run(FZ_##name, fuzz_pending, _i);                                              \
	}                                                                                           \
	END_TEST

FUZZ_LIST
#undef X

Suite *fuzz_suite(void)
{
#define X(n) [FZ_##n] = test_##n,
	const TTest *regress[FZ_COUNT] = { FUZZ_LIST };
#undef X
#define X(n) [FZ_##n] = test_pending_##n,
	const TTest *pending[FZ_COUNT] = { FUZZ_LIST };
#undef X
	Suite *s = suite_create("fuzz");

	for (int h = 0; h < FZ_COUNT; h++) {
		TCase *tc = tcase_create(fuzz_harness[h].name);

		fuzz_scan(&fuzz_regress[h], "corpus", fuzz_harness[h].name);
		fuzz_scan(&fuzz_regress[h], "repro", fuzz_harness[h].name);
		fuzz_scan(&fuzz_pending[h], "pending", fuzz_harness[h].name);
		/* At least one iteration: a harness without seeds fails instead of passing with nothing. */
		tcase_add_loop_test(tc, regress[h], 0, fuzz_regress[h].n ? fuzz_regress[h].n : 1);
		if (fuzz_pending[h].n)
			tcase_add_loop_test_raise_signal(tc, pending[h], SIGABRT, 0, fuzz_pending[h].n);
		suite_add_tcase(s, tc);
	}
	return s;
}
