/* check_embed.c: libukvm embedded in one long-lived process: many VMs, flat resources, stop/timeout from a host's point of view. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
size_t __sanitizer_get_current_allocated_bytes(void); /* <sanitizer/allocator_interface.h>, not installed here */
#else
#include <malloc.h>
#endif

#include "it_util.h"
#include "ukvm.h"
#include "vm.h"

static char disk_path[64];

static void disk_setup(void)
{
	ck_assert_int_eq(it_disk_new(disk_path, sizeof(disk_path), 4 << 20), 0);
}

static void disk_teardown(void)
{
	it_disk_remove(disk_path);
}

static unsigned dir_count(const char *path)
{
	DIR *d = opendir(path);
	unsigned n = 0;
	ck_assert_ptr_nonnull(d);
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * Mappings a VM makes: guest RAM (64 MiB, anonymous), the vCPU's run page and
 * io_uring's rings (anon_inode). ASan's own lazily mapped regions are not
 * counted: they grow in the ASan build without any leak (a plain build of the
 * same loop keeps all its mappings flat).
 */
static unsigned maps_count(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	unsigned n = 0;
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;
		if (sscanf(line, "%llx-%llx", &lo, &hi) == 2 && (hi - lo == 64ull << 20 || strstr(line, "anon_inode:")))
			n++;
	}
	fclose(f);
	return n;
}

/* Live heap bytes (ASan's own count excludes its quarantine of freed blocks). */
static size_t heap_bytes(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return __sanitizer_get_current_allocated_bytes();
#else
	return mallinfo2().uordblks;
#endif
}

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* One VM: image (relative to the build dir), optional disk; returns the result kind and fills *res. */
static int vm_once(const char *rel, bool disk, bool seccomp, uint64_t timeout_ms, struct ukvm_result *res)
{
	char img[4096], err[512];
	snprintf(img, sizeof(img), "%s", it_path(rel));
	struct ukvm_disk dk = { .path = disk_path };
	struct ukvm_config cfg = { .image = img, .console_fd = -1, .timeout_ms = timeout_ms, .seccomp = seccomp,
				   .disks = disk ? &dk : NULL, .ndisks = disk ? 1 : 0 };
	struct ukvm_vm *vm;
	int r = ukvm_create(&cfg, &vm, err, sizeof(err));
	ck_assert_msg(r == UKVM_OK, "ukvm_create %s: %s", rel, err);
	ck_assert_int_eq(ukvm_run(vm, res), 0);
	ukvm_destroy(vm);
	return res->kind;
}

/*
 * A serverless host creates, runs and destroys VMs for as long as it lives:
 * fds, mappings, threads and heap must come back to where they were.
 */
START_TEST(many_vms_resources_flat)
{
	struct ukvm_result res;
	/* Warm-up: one-time allocations (stdio, the kick handler, libc caches) happen here. */
	for (int i = 0; i < 3; i++) {
		vm_once("apps/hello.img", true, false, 0, &res);
		vm_once("vmm/testguest.elf", false, false, 0, &res);
	}
	unsigned fds0 = dir_count("/proc/self/fd"), maps0 = maps_count(), tasks0 = dir_count("/proc/self/task");
	size_t heap0 = heap_bytes();
	double t0 = now_ms();
	const int n = 150;
	for (int i = 0; i < n; i++) {
		ck_assert_int_eq(vm_once(i % 2 ? "apps/hello.img" : "vmm/testguest.elf", i % 3 != 0, false, 0, &res),
				 UKVM_EXITED);
		ck_assert_int_eq(res.status, i % 2 ? 0 : 42);
	}
	double ms = now_ms() - t0;
	unsigned fds1 = dir_count("/proc/self/fd"), maps1 = maps_count(), tasks1 = dir_count("/proc/self/task");
	size_t heap1 = heap_bytes();
	fprintf(stderr, "embed: %d VMs in %.0f ms; fds %u -> %u, mappings %u -> %u, threads %u -> %u, heap %zu -> %zu\n",
		n, ms, fds0, fds1, maps0, maps1, tasks0, tasks1, heap0, heap1);
	ck_assert_uint_eq(fds1, fds0);
	ck_assert_uint_eq(tasks1, tasks0);
	ck_assert_uint_eq(maps1, maps0);
	ck_assert_uint_le(heap1, heap0 + 64 * 1024);
}
END_TEST

/*
 * The event thread is libukvm's own: process signals meant for the host (or
 * ukvm-run's SIGINT/SIGTERM handler, which calls ukvm_stop and so tgkill,
 * not in the event thread's seccomp allowlist) must never run on it.
 */
START_TEST(event_thread_blocks_signals)
{
	char img[4096], err[512];
	snprintf(img, sizeof(img), "%s", it_path("vmm/testguest.elf"));
	struct ukvm_disk dk = { .path = disk_path };
	struct ukvm_config cfg = { .image = img, .console_fd = -1, .disks = &dk, .ndisks = 1 };
	struct ukvm_vm *vm;
	ck_assert_msg(ukvm_create(&cfg, &vm, err, sizeof(err)) == UKVM_OK, "%s", err);
	DIR *d = opendir("/proc/self/task");
	ck_assert_ptr_nonnull(d);
	int others = 0;
	for (struct dirent *e; (e = readdir(d));) {
		int tid = atoi(e->d_name);
		if (tid <= 0 || tid == gettid())
			continue;
		char path[64], line[256];
		snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		unsigned long long blk = 0;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "SigBlk: %llx", &blk) == 1)
				break;
		fclose(f);
		others++;
		static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGPIPE, SIGCHLD, SIGALRM };
		for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			ck_assert_msg(blk & (1ull << (sigs[i] - 1)), "thread %d does not block signal %d (SigBlk %llx)",
				      tid, sigs[i], blk);
	}
	closedir(d);
	ck_assert_int_ge(others, 1); /* the event thread exists */
	ukvm_destroy(vm);
}
END_TEST

/* ukvm_stop is documented async-signal-safe: then it must leave errno alone, even when a step fails. */
START_TEST(stop_preserves_errno)
{
	char img[4096], err[512];
	snprintf(img, sizeof(img), "%s", it_path("vmm/testguest.elf"));
	struct ukvm_config cfg = { .image = img, .console_fd = -1 };
	struct ukvm_vm *vm;
	ck_assert_msg(ukvm_create(&cfg, &vm, err, sizeof(err)) == UKVM_OK, "%s", err);
	/* An eventfd at its maximum count refuses the wake-up write with EAGAIN. */
	uint64_t max = 0xfffffffffffffffeull;
	ck_assert_int_eq(write(vm->wake_fd, &max, sizeof(max)), (ssize_t)sizeof(max));
	errno = 1234;
	ukvm_stop(vm);
	ck_assert_int_eq(errno, 1234);
	struct ukvm_result res;
	ck_assert_int_eq(ukvm_run(vm, &res), 0);
	ck_assert_int_eq(res.kind, UKVM_STOPPED);
	ukvm_destroy(vm);
}
END_TEST

struct stopper {
	struct ukvm_vm *vm;
	unsigned delay_ms;
};

static void *stopper_main(void *arg)
{
	struct stopper *s = arg;
	usleep(s->delay_ms * 1000);
	ukvm_stop(s->vm);
	return NULL;
}

/* A guest spinning without exits is stopped from another thread; and the timeout fires even when the
 * host ignores the kick signal (it is blocked while the VM runs, so the kernel still queues it). */
START_TEST(stop_and_timeout_of_a_spinning_guest)
{
	char img[4096], err[512];
	snprintf(img, sizeof(img), "%s", it_path("vmm/testguest-loop.elf"));
	struct ukvm_config cfg = { .image = img, .console_fd = -1 };
	struct ukvm_vm *vm;
	struct ukvm_result res;
	ck_assert_msg(ukvm_create(&cfg, &vm, err, sizeof(err)) == UKVM_OK, "%s", err);
	struct stopper s = { vm, 100 };
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, stopper_main, &s), 0);
	double t0 = now_ms();
	ck_assert_int_eq(ukvm_run(vm, &res), 0);
	double ms = now_ms() - t0;
	pthread_join(t, NULL);
	ck_assert_int_eq(res.kind, UKVM_STOPPED);
	ck_assert_msg(ms < 2000, "stop took %.0f ms", ms);
	ukvm_destroy(vm);

	signal(SIGUSR2, SIG_IGN);
	cfg.timeout_ms = 300;
	ck_assert_msg(ukvm_create(&cfg, &vm, err, sizeof(err)) == UKVM_OK, "%s", err);
	t0 = now_ms();
	ck_assert_int_eq(ukvm_run(vm, &res), 0);
	ms = now_ms() - t0;
	ck_assert_int_eq(res.kind, UKVM_TIMEOUT);
	ck_assert_msg(ms < 2000, "timeout took %.0f ms", ms);
	ukvm_destroy(vm);
	signal(SIGUSR2, SIG_DFL);
}
END_TEST

struct runner {
	int kind, status;
};

static void *runner_main(void *arg)
{
	struct runner *r = arg;
	struct ukvm_result res;
	r->kind = vm_once("apps/hello.img", true, true, 10000, &res);
	r->status = res.status;
	return NULL;
}

/* A host running each VM on a worker thread with seccomp on: the filtered thread must be able to run and exit. */
START_TEST(seccomp_worker_threads)
{
	for (int i = 0; i < 3; i++) {
		pthread_t t;
		struct runner r = { -1, -1 };
		ck_assert_int_eq(pthread_create(&t, NULL, runner_main, &r), 0);
		ck_assert_int_eq(pthread_join(t, NULL), 0);
		ck_assert_int_eq(r.kind, UKVM_EXITED);
		ck_assert_int_eq(r.status, 0);
	}
}
END_TEST

Suite *embed_suite(void)
{
	Suite *s = suite_create("embed");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, disk_setup, disk_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, event_thread_blocks_signals);
	tcase_add_test(tc, stop_preserves_errno);
	tcase_add_test(tc, stop_and_timeout_of_a_spinning_guest);
	tcase_add_test(tc, seccomp_worker_threads);
	suite_add_tcase(s, tc);

	TCase *tl = tcase_create("limits");
	tcase_add_checked_fixture(tl, disk_setup, disk_teardown);
	tcase_set_timeout(tl, 120);
	tcase_add_test(tl, many_vms_resources_flat);
	suite_add_tcase(s, tl);
	return s;
}
