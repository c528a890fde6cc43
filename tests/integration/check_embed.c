/* check_embed.c: libukvm embedded in one long-lived process: many VMs (alone or on a shared host object), flat resources, stop/timeout. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
size_t __sanitizer_get_current_allocated_bytes(void); /* <sanitizer/allocator_interface.h>, not installed here */
#else
#include <malloc.h>
#endif

#include "hostpool.h"
#include "it_util.h"
#include "ukvm.h"

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
 * The threads of this process once want is reached, waiting at most 2 s: a
 * joined thread (its tid cleared) can still be listed for a moment while the
 * kernel finishes its exit.
 */
static unsigned task_count(unsigned want)
{
	unsigned n = dir_count("/proc/self/task");
	for (int i = 0; i < 200 && n != want; i++) {
		usleep(10000);
		n = dir_count("/proc/self/task");
	}
	return n;
}

/*
 * Mappings a VM makes: guest RAM (UKVM_MEM_DEFAULT, anonymous), the vCPU's run page and
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
		/* Guest RAM mappings side by side (a host's pool of shells) may merge into one: counted per 128 MiB. */
		if (sscanf(line, "%llx-%llx", &lo, &hi) == 2 && (hi - lo) % UKVM_MEM_DEFAULT == 0 &&
		    hi - lo <= 64 * UKVM_MEM_DEFAULT)
			n += (unsigned)((hi - lo) / UKVM_MEM_DEFAULT);
		else if (strstr(line, "anon_inode:"))
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

/*
 * One VM on host (NULL: a host of its own): image (relative to the build dir),
 * optional read-only disk; returns the result kind and fills *res.
 */
static int vm_on(struct ukvm_host *host, const char *rel, bool disk, bool seccomp, uint64_t timeout_ms,
		 struct ukvm_result *res)
{
	char img[4096], err[512];
	snprintf(img, sizeof(img), "%s", it_path(rel));
	/* Read-only: worker threads share the one disk file. */
	struct ukvm_disk dk = { .path = disk_path, .ro = true };
	struct ukvm_config cfg = { .size = sizeof(cfg), .pv = it_pv_mode(), .host = host, .image = img, .console_fd = -1, .timeout_ms = timeout_ms,
				   .seccomp = seccomp, .disks = disk ? &dk : NULL, .ndisks = disk ? 1 : 0 };
	struct ukvm_vm *vm;
	int r = ukvm_create(&cfg, &vm, err, sizeof(err));
	ck_assert_msg(r == UKVM_OK, "ukvm_create %s: %s", rel, err);
	ck_assert_int_eq(ukvm_run(vm, res), 0);
	ukvm_destroy(vm);
	return res->kind;
}

static int vm_once(const char *rel, bool disk, bool seccomp, uint64_t timeout_ms, struct ukvm_result *res)
{
	return vm_on(NULL, rel, disk, seccomp, timeout_ms, res);
}

/*
 * A serverless host creates, runs and destroys VMs for as long as it lives:
 * fds, mappings, threads and heap must come back to where they were; the
 * same on a shared host object, which adds no fd per VM.
 */
static void many_vms(struct ukvm_host *host)
{
	struct ukvm_result res = { .size = sizeof(res) };
	/* Warm-up: one-time allocations (stdio, the kick handler, libc caches) happen here. */
	for (int i = 0; i < 3; i++) {
		vm_on(host, "apps/hello.img", true, false, 0, &res);
		vm_on(host, "vmm/testguest.elf", false, false, 0, &res);
	}
	ukvm_host_quiesce(host); /* a pooled host's threads idle, its pool full: counts compare like with like */
	unsigned fds0 = dir_count("/proc/self/fd"), maps0 = maps_count(), tasks0 = dir_count("/proc/self/task");
	unsigned kvm0 = it_fds_to("/dev/kvm");
	size_t heap0 = heap_bytes();
	double t0 = now_ms();
	const int n = 150;
	for (int i = 0; i < n; i++) {
		ck_assert_int_eq(vm_on(host, i % 2 ? "apps/hello.img" : "vmm/testguest.elf", i % 3 != 0, false, 0, &res),
				 UKVM_EXITED);
		ck_assert_int_eq(res.status, i % 2 ? 0 : 42);
	}
	double ms = now_ms() - t0;
	ukvm_host_quiesce(host);
	unsigned fds1 = dir_count("/proc/self/fd"), maps1 = maps_count(), tasks1 = task_count(tasks0);
	size_t heap1 = heap_bytes();
	fprintf(stderr, "embed%s: %d VMs in %.0f ms; fds %u -> %u, mappings %u -> %u, threads %u -> %u, heap %zu -> %zu\n",
		host ? " (host object)" : "", n, ms, fds0, fds1, maps0, maps1, tasks0, tasks1, heap0, heap1);
	ck_assert_uint_eq(fds1, fds0);
	ck_assert_uint_eq(it_fds_to("/dev/kvm"), kvm0);
	ck_assert_uint_eq(kvm0, host ? 1 : 0);
	ck_assert_uint_eq(tasks1, tasks0);
	ck_assert_uint_eq(maps1, maps0);
	ck_assert_uint_le(heap1, heap0 + 64 * 1024);
}

START_TEST(many_vms_resources_flat)
{
	many_vms(NULL);
}
END_TEST

/* The same on one host object; closing it after its VMs are gone gives its /dev/kvm fd back. */
START_TEST(many_vms_on_host_resources_flat)
{
	unsigned kvm0 = it_fds_to("/dev/kvm"), fds0 = dir_count("/proc/self/fd");
	struct ukvm_host *h;
	char err[512];
	ck_assert_msg(ukvm_host_open(&h, err, sizeof(err)) == UKVM_OK, "%s", err);
	ck_assert_uint_eq(it_fds_to("/dev/kvm"), kvm0 + 1);
	many_vms(h);
	ukvm_host_close(h);
	ck_assert_uint_eq(it_fds_to("/dev/kvm"), kvm0); /* every VM gave its reference back: the host went with the close */
	ck_assert_uint_eq(dir_count("/proc/self/fd"), fds0);
}
END_TEST

/*
 * The same on a host with the background levers (UKVM_HOST_FAST: idle VM, pool of shells, reaper); closing it stops
 * its threads and frees its shells: threads and fds back to where they were before the open.
 */
START_TEST(many_vms_on_fast_host_resources_flat)
{
	unsigned kvm0 = it_fds_to("/dev/kvm"), fds0 = dir_count("/proc/self/fd"), tasks0 = dir_count("/proc/self/task");
	struct ukvm_host *h;
	char err[512];
	ck_assert_msg(ukvm_host_open_flags(&h, UKVM_HOST_FAST, err, sizeof(err)) == UKVM_OK, "%s", err);
	ck_assert_uint_eq(dir_count("/proc/self/task"), tasks0 + 2); /* the pool's builder and the reaper */
	many_vms(h);
	ukvm_host_close(h);
	ck_assert_uint_eq(it_fds_to("/dev/kvm"), kvm0);
	ck_assert_uint_eq(dir_count("/proc/self/fd"), fds0);
	ck_assert_uint_eq(task_count(tasks0), tasks0);
}
END_TEST

/*
 * The reaper's queue is bounded: 64 VMs destroyed in a row, faster than the reaper frees them (each close of a
 * VM costs it ~0.3-1 ms), leave at most HOSTPOOL_REAP_MAX of them waiting (and the one it frees); past that the
 * destroyer waits for the reaper. Unbounded, ukvm-serve in boot mode at 8 connections held thousands of dead VMs'
 * fds (3,938 open, past a 1,024 limit) and their RAM.
 */
START_TEST(fast_host_reaper_backlog_bounded)
{
	enum { N = 64 };
	struct ukvm_host *h;
	char err[512], img[4096];
	ck_assert_msg(ukvm_host_open_flags(&h, UKVM_HOST_FAST, err, sizeof(err)) == UKVM_OK, "%s", err);
	ukvm_host_quiesce(h);
	unsigned vms0 = it_fds_to("anon_inode:kvm-vm"); /* the idle VM and the pool's shells: the pool never holds more */
	snprintf(img, sizeof(img), "%s", it_path("apps/hello.img"));
	static struct ukvm_vm *vm[N];
	for (int i = 0; i < N; i++) {
		struct ukvm_config cfg = { .size = sizeof(cfg), .pv = it_pv_mode(), .host = h, .image = img,
					   .console_fd = -1 };
		ck_assert_msg(ukvm_create(&cfg, &vm[i], err, sizeof(err)) == UKVM_OK, "%s", err);
	}
	for (int i = 0; i < N; i++)
		ukvm_destroy(vm[i]);
	unsigned left = it_fds_to("anon_inode:kvm-vm");
	ck_assert_msg(left <= vms0 + HOSTPOOL_REAP_MAX + 1, "%u VM fds after %d destroys (%u before, bound %u)", left,
		      N, vms0, vms0 + HOSTPOOL_REAP_MAX + 1);
	ukvm_host_quiesce(h);
	ukvm_host_close(h);
}
END_TEST

/*
 * A pooled shell carries UKVM_MEM_DEFAULT of RAM: a VM of another size drops it and maps its own (several sizes,
 * pool and fallback alike, each run right). Each flag works alone; an undefined flag is refused. Closing a fast
 * host with VMs alive: they run, and their destroy (no reaper any more) frees them on the caller's thread.
 */
START_TEST(fast_host_sizes_flags_and_close)
{
	unsigned kvm0 = it_fds_to("/dev/kvm"), fds0 = dir_count("/proc/self/fd"), tasks0 = dir_count("/proc/self/task");
	struct ukvm_host *h;
	char err[512], img[4096];
	ck_assert_int_eq(ukvm_host_open_flags(&h, 1u << 20, err, sizeof(err)), UKVM_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(err, "host flags"));
	ck_assert_ptr_null(h);
	snprintf(img, sizeof(img), "%s", it_path("apps/hello.img"));
	static const unsigned flags[] = { UKVM_HOST_IDLE_VM, UKVM_HOST_POOL, UKVM_HOST_REAPER, UKVM_HOST_FAST };
	static const uint64_t sizes[] = { 0, 64ull << 20, UKVM_MEM_DEFAULT, 256ull << 20, 0 };
	for (unsigned f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
		ck_assert_msg(ukvm_host_open_flags(&h, flags[f], err, sizeof(err)) == UKVM_OK, "%s", err);
		for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			struct ukvm_config cfg = { .size = sizeof(cfg), .pv = it_pv_mode(), .host = h, .image = img,
						   .console_fd = -1, .mem_size = sizes[i] };
			struct ukvm_vm *vm;
			struct ukvm_result res = { .size = sizeof(res) };
			ck_assert_msg(ukvm_create(&cfg, &vm, err, sizeof(err)) == UKVM_OK, "flags %u size %llu: %s",
				      flags[f], (unsigned long long)sizes[i], err);
			ck_assert_int_eq(ukvm_run(vm, &res), 0);
			ck_assert_msg(res.kind == UKVM_EXITED && res.status == 0, "flags %u size %llu: %d %s", flags[f],
				      (unsigned long long)sizes[i], res.kind, res.msg);
			ukvm_destroy(vm);
		}
		struct ukvm_config cfg = { .size = sizeof(cfg), .pv = it_pv_mode(), .host = h, .image = img, .console_fd = -1 };
		struct ukvm_vm *vm[2];
		for (int i = 0; i < 2; i++)
			ck_assert_msg(ukvm_create(&cfg, &vm[i], err, sizeof(err)) == UKVM_OK, "%s", err);
		ukvm_host_close(h);
		ck_assert_uint_eq(task_count(tasks0), tasks0); /* the host's threads are gone */
		for (int i = 0; i < 2; i++) {
			struct ukvm_result res = { .size = sizeof(res) };
			ck_assert_int_eq(ukvm_run(vm[i], &res), 0);
			ck_assert_int_eq(res.kind, UKVM_EXITED);
			ukvm_destroy(vm[i]);
		}
		ck_assert_uint_eq(it_fds_to("/dev/kvm"), kvm0);
		ck_assert_uint_eq(dir_count("/proc/self/fd"), fds0);
	}
}
END_TEST

/* One hello VM with kvm_stats as asked, seccomp on in a thread of its own (the filter stays on its thread). */
struct stats_run {
	bool stats, seccomp;
	struct ukvm_result res;
	char err[512];
	int rc;
};

static void *stats_run_main(void *arg)
{
	struct stats_run *s = arg;
	char img[4096];
	snprintf(img, sizeof(img), "%s", it_path("apps/hello.img"));
	struct ukvm_config cfg = { .size = sizeof(cfg), .pv = it_pv_mode(), .image = img, .console_fd = -1,
				   .seccomp = s->seccomp, .kvm_stats = s->stats };
	struct ukvm_vm *vm;
	s->res = (struct ukvm_result){ .size = sizeof(s->res) };
	if ((s->rc = ukvm_create(&cfg, &vm, s->err, sizeof(s->err))) == UKVM_OK) {
		ukvm_run(vm, &s->res);
		ukvm_destroy(vm);
	}
	return NULL;
}

/*
 * kvm_stats: KVM's own counters of the vCPU, read at the end of the run, under the seccomp filter too (one read()
 * of a fd opened before it). A boot touches guest pages (pf_taken) and KVM's exits include the monitor's. Without
 * the flag nothing is read.
 */
/*
 * A worker thread's malloc arena trimmed under the vCPU filter (embed-worker
 * --trim, glibc's malloc): glibc's first trim in a process opens
 * /proc/sys/vm/overcommit_memory read-only, and the filter killed the
 * process for it (SIGSYS: ukvm-serve at 8 connections, twice, and a
 * snapshot writer's buffers). It gets EACCES now, and glibc trims anyway.
 */
START_TEST(arena_trim_under_vcpu_filter)
{
	char img[512], prog[512];
	snprintf(img, sizeof(img), "%s", it_path("apps/hello.img"));
	snprintf(prog, sizeof(prog), "%s", it_path("tests/embed-worker"));
	const char *args[] = { "--trim", img, it_pv_mode() == UKVM_PV_OFF ? "off" : "auto", NULL };
	struct it_result r;
	ck_assert_int_eq(it_run_prog(&r, 60, prog, args), 0);
	ck_assert_msg(r.status == 0, "embed-worker --trim: status %d: %s", r.status, r.err);
	it_result_free(&r);
}
END_TEST

START_TEST(kvm_stats)
{
	for (int i = 0; i < 3; i++) {
		struct stats_run s = { .stats = i != 1, .seccomp = i == 2 };
		pthread_t t;
		ck_assert_int_eq(pthread_create(&t, NULL, stats_run_main, &s), 0);
		ck_assert_int_eq(pthread_join(t, NULL), 0);
		ck_assert_msg(s.rc == UKVM_OK, "%s", s.err);
		ck_assert_int_eq(s.res.kind, UKVM_EXITED);
		if (i == 1) {
			ck_assert(!s.res.kvm_stats);
			ck_assert_uint_eq(s.res.kvm_exits, 0);
			continue;
		}
		ck_assert_msg(s.res.kvm_stats, "KVM_GET_STATS_FD: this KVM has binary stats (Linux >= 5.14)");
		ck_assert_uint_gt(s.res.kvm_pf_taken, 0);
		ck_assert_uint_le(s.res.kvm_pf_fixed, s.res.kvm_pf_taken);
		ck_assert_uint_ge(s.res.kvm_exits, s.res.exits_total);
		fprintf(stderr, "embed: kvm_stats%s: %llu page faults, %llu exits (%llu to the monitor)\n",
			i == 2 ? " under seccomp" : "", (unsigned long long)s.res.kvm_pf_taken,
			(unsigned long long)s.res.kvm_exits, (unsigned long long)s.res.exits_total);
	}
}
END_TEST

/*
 * A triple fault's report names the function at RIP: the image's symbols, collected only now that a report needs
 * them (loader_syms), under the vCPU thread's seccomp filter too (its own thread: the filter stays on it).
 */
static void *triple_main(void *arg)
{
	struct stats_run *s = arg;
	char img[4096];
	snprintf(img, sizeof(img), "%s", it_path("vmm/testguest-triple.elf"));
	struct ukvm_config cfg = { .size = sizeof(cfg), .pv = it_pv_mode(), .image = img, .console_fd = -1,
				   .seccomp = s->seccomp };
	struct ukvm_vm *vm;
	s->res = (struct ukvm_result){ .size = sizeof(s->res) };
	if ((s->rc = ukvm_create(&cfg, &vm, s->err, sizeof(s->err))) == UKVM_OK) {
		ukvm_run(vm, &s->res);
		ukvm_destroy(vm);
	}
	return NULL;
}

START_TEST(crash_report_symbols)
{
	for (int i = 0; i < 2; i++) {
		struct stats_run s = { .seccomp = i == 1 };
		pthread_t t;
		ck_assert_int_eq(pthread_create(&t, NULL, triple_main, &s), 0);
		ck_assert_int_eq(pthread_join(t, NULL), 0);
		ck_assert_msg(s.rc == UKVM_OK, "%s", s.err);
		ck_assert_int_eq(s.res.kind, UKVM_FAILED);
		ck_assert_msg(strstr(s.res.msg, "triple fault at RIP 0xffffffff801000") && strstr(s.res.msg, "(_start+0x"),
			      "%s", s.res.msg);
	}
}
END_TEST

/*
 * A child forked after a UKVM_HOST_FAST host was opened has none of its threads and cannot use its shells (their
 * KVM fds belong to the parent's address space): VMs it creates on the host are made and freed the plain way, and
 * it may close the host. The parent's host goes on.
 */
START_TEST(fast_host_forked_child)
{
	struct ukvm_host *h;
	char err[512];
	struct ukvm_result res = { .size = sizeof(res) };
	ck_assert_msg(ukvm_host_open_flags(&h, UKVM_HOST_FAST, err, sizeof(err)) == UKVM_OK, "%s", err);
	ukvm_host_quiesce(h); /* shells ready: the child would find them */
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		int ok = 0;
		for (int i = 0; i < 3; i++)
			ok += vm_on(h, "apps/hello.img", false, false, 10000, &res) == UKVM_EXITED && res.status == 0;
		ukvm_host_quiesce(h); /* no threads to wait for here: returns */
		ukvm_host_close(h);
		_exit(ok == 3 ? 0 : 1);
	}
	ck_assert_int_gt(pid, 0);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child: status 0x%x", st);
	ck_assert_int_eq(vm_on(h, "apps/hello.img", false, false, 10000, &res), UKVM_EXITED);
	ck_assert_int_eq(res.status, 0);
	ukvm_host_close(h);
}
END_TEST

struct host_worker {
	struct ukvm_host *host;
	pthread_barrier_t *go;
	int runs, ok;
	char fail[1024];
};

/* Creates, runs and destroys VMs on the shared host; counts those that ended as expected. */
static void *host_worker_main(void *arg)
{
	struct host_worker *w = arg;
	char img[4096], err[512];
	pthread_barrier_wait(w->go);
	for (int i = 0; i < w->runs; i++) {
		bool hello = i % 2;
		snprintf(img, sizeof(img), "%s", it_path(hello ? "apps/hello.img" : "vmm/testguest.elf"));
		struct ukvm_disk dk = { .path = disk_path, .ro = true };
		struct ukvm_config cfg = { .size = sizeof(cfg), .pv = it_pv_mode(), .host = w->host, .image = img, .console_fd = -1, .timeout_ms = 20000,
					   .disks = &dk, .ndisks = i % 3 != 0 };
		struct ukvm_vm *vm;
		struct ukvm_result res = { .size = sizeof(res) };
		int r = ukvm_create(&cfg, &vm, err, sizeof(err));
		if (r) {
			snprintf(w->fail, sizeof(w->fail), "run %d: ukvm_create: %s", i, err);
			break;
		}
		ukvm_run(vm, &res);
		ukvm_destroy(vm);
		if (res.kind != UKVM_EXITED || res.status != (hello ? 0 : 42)) {
			snprintf(w->fail, sizeof(w->fail), "run %d: kind %d status %d: %s", i, res.kind, res.status,
				 res.msg);
			break;
		}
		w->ok++;
	}
	return NULL;
}

/* Four threads create VMs on one host at the same moment: all run right, nothing leaks. */
START_TEST(concurrent_create_on_host)
{
	enum { NT = 4, RUNS = 25 };
	struct ukvm_result res = { .size = sizeof(res) };
	struct ukvm_host *h;
	char err[512];
	unsigned kvm0 = it_fds_to("/dev/kvm");
	ck_assert_msg(ukvm_host_open(&h, err, sizeof(err)) == UKVM_OK, "%s", err);
	vm_on(h, "apps/hello.img", true, false, 0, &res); /* warm-up, as above */
	unsigned fds0 = dir_count("/proc/self/fd"), tasks0 = dir_count("/proc/self/task");
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, NT);
	pthread_t t[NT];
	struct host_worker w[NT];
	double t0 = now_ms();
	for (int i = 0; i < NT; i++) {
		w[i] = (struct host_worker){ .host = h, .go = &go, .runs = RUNS };
		ck_assert_int_eq(pthread_create(&t[i], NULL, host_worker_main, &w[i]), 0);
	}
	for (int i = 0; i < NT; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	double ms = now_ms() - t0;
	pthread_barrier_destroy(&go);
	for (int i = 0; i < NT; i++)
		ck_assert_msg(w[i].ok == RUNS, "thread %d: %d of %d ok; %s", i, w[i].ok, RUNS, w[i].fail);
	fprintf(stderr, "embed: %d threads x %d VMs on one host in %.0f ms\n", NT, RUNS, ms);
	ck_assert_uint_eq(dir_count("/proc/self/fd"), fds0);
	ck_assert_uint_eq(task_count(tasks0), tasks0);
	ukvm_host_close(h);
	ck_assert_uint_eq(it_fds_to("/dev/kvm"), kvm0); /* no VM kept a reference */
}
END_TEST

/*
 * Closing the host while its VMs live is safe: they hold references, run
 * normally afterwards, and the last ukvm_destroy closes /dev/kvm. A failed
 * ukvm_create gives its reference back.
 */
START_TEST(host_close_with_live_vms)
{
	unsigned kvm0 = it_fds_to("/dev/kvm");
	struct ukvm_host *h;
	char err[512], img[4096];
	ck_assert_msg(ukvm_host_open(&h, err, sizeof(err)) == UKVM_OK, "%s", err);
	struct ukvm_config bad = { .size = sizeof(bad), .pv = it_pv_mode(), .host = h, .image = "/nonexistent.img", .console_fd = -1 };
	struct ukvm_vm *vm[2];
	ck_assert_int_eq(ukvm_create(&bad, &vm[0], err, sizeof(err)), UKVM_ERR_IMAGE);
	ck_assert_ptr_null(vm[0]); /* its reference given back: the final kvm_fds check sees a leak */
	snprintf(img, sizeof(img), "%s", it_path("vmm/testguest.elf"));
	struct ukvm_config cfg = { .size = sizeof(cfg), .pv = it_pv_mode(), .host = h, .image = img, .console_fd = -1 };
	for (int i = 0; i < 2; i++)
		ck_assert_msg(ukvm_create(&cfg, &vm[i], err, sizeof(err)) == UKVM_OK, "%s", err);
	ck_assert_uint_eq(it_fds_to("/dev/kvm"), kvm0 + 1); /* one /dev/kvm fd for the host, none per VM */
	ukvm_host_close(h);
	for (int i = 0; i < 2; i++) {
		struct ukvm_result res = { .size = sizeof(res) };
		ck_assert_int_eq(ukvm_run(vm[i], &res), 0);
		ck_assert_int_eq(res.kind, UKVM_EXITED);
		ck_assert_int_eq(res.status, 42);
		ck_assert_uint_eq(it_fds_to("/dev/kvm"), kvm0 + 1);
		ukvm_destroy(vm[i]);
	}
	ck_assert_uint_eq(it_fds_to("/dev/kvm"), kvm0);
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
	struct ukvm_config cfg = { .size = sizeof(cfg), .pv = it_pv_mode(), .image = img, .console_fd = -1, .disks = &dk, .ndisks = 1 };
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

/* The result names each device and its class, with the transport's counters. */
START_TEST(device_stats)
{
	struct ukvm_result res = { .size = sizeof(res) };
	ck_assert_int_eq(vm_once("apps/hello.img", true, false, 0, &res), UKVM_EXITED);
	ck_assert_uint_eq(res.ndevs, 1);
	ck_assert_str_eq(res.devs[0].name, "vda");
	ck_assert_str_eq(res.devs[0].kind, "blk");
	ck_assert_uint_gt(res.devs[0].exits, 0); /* the driver probed and set it up */
	ck_assert_uint_le(res.devs[0].exits, res.exits[UKVM_STAT_MMIO]);
	ck_assert_int_eq(vm_once("apps/hello.img", false, false, 0, &res), UKVM_EXITED);
	ck_assert_uint_eq(res.ndevs, 0);
}
END_TEST

/*
 * ukvm_stop is documented async-signal-safe: then it must leave errno alone
 * (a failing step inside is covered by the vcpu unit suite's kick tests), and
 * a stop before the run ends it at once.
 */
START_TEST(stop_preserves_errno)
{
	char img[4096], err[512];
	snprintf(img, sizeof(img), "%s", it_path("vmm/testguest.elf"));
	struct ukvm_config cfg = { .size = sizeof(cfg), .pv = it_pv_mode(), .image = img, .console_fd = -1 };
	struct ukvm_vm *vm;
	ck_assert_msg(ukvm_create(&cfg, &vm, err, sizeof(err)) == UKVM_OK, "%s", err);
	errno = 1234;
	ukvm_stop(vm);
	ck_assert_int_eq(errno, 1234);
	ukvm_stop(vm); /* twice: harmless */
	ck_assert_int_eq(errno, 1234);
	struct ukvm_result res = { .size = sizeof(res) };
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
	struct ukvm_config cfg = { .size = sizeof(cfg), .pv = it_pv_mode(), .image = img, .console_fd = -1 };
	struct ukvm_vm *vm;
	struct ukvm_result res = { .size = sizeof(res) };
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

/*
 * The timeout counts from ukvm_run, not from ukvm_create: a VM created ahead
 * (a pool) and run later gets its whole budget; a spinning one still stops.
 */
START_TEST(timeout_counts_from_run)
{
	char img[4096], err[512];
	struct ukvm_config cfg = { .size = sizeof(cfg), .pv = it_pv_mode(), .image = img, .console_fd = -1,
				   .timeout_ms = 300 };
	struct ukvm_vm *vm;
	struct ukvm_result res = { .size = sizeof(res) };
	const struct timespec wait = { 0, 600 * 1000000L };
	snprintf(img, sizeof(img), "%s", it_path("apps/hello.img"));
	ck_assert_msg(ukvm_create(&cfg, &vm, err, sizeof(err)) == UKVM_OK, "%s", err);
	nanosleep(&wait, NULL);
	ck_assert_int_eq(ukvm_run(vm, &res), 0);
	ck_assert_msg(res.kind == UKVM_EXITED && res.status == 0, "kind %d status %d: %s", res.kind, res.status,
		      res.msg);
	ukvm_destroy(vm);

	snprintf(img, sizeof(img), "%s", it_path("vmm/testguest-loop.elf"));
	ck_assert_msg(ukvm_create(&cfg, &vm, err, sizeof(err)) == UKVM_OK, "%s", err);
	nanosleep(&wait, NULL);
	double t0 = now_ms();
	ck_assert_int_eq(ukvm_run(vm, &res), 0);
	double ms = now_ms() - t0;
	ck_assert_int_eq(res.kind, UKVM_TIMEOUT);
	ck_assert_msg(ms >= 290 && ms < 2000, "timeout after %.0f ms of running", ms);
	ukvm_destroy(vm);
}
END_TEST

/*
 * ukvm_run writes only as much of the result as the caller says it has: an
 * unset size is refused before the VM runs, a newer (larger) struct's
 * fields unknown to this library come back 0.
 */
START_TEST(result_size)
{
	char img[4096], err[512];
	snprintf(img, sizeof(img), "%s", it_path("apps/hello.img"));
	struct ukvm_config cfg = { .size = sizeof(cfg), .pv = it_pv_mode(), .image = img, .console_fd = -1 };
	struct ukvm_vm *vm;
	struct {
		struct ukvm_result r;
		unsigned char tail[64];
	} big;
	memset(&big, 0xa5, sizeof(big));
	big.r.size = 0;
	ck_assert_msg(ukvm_create(&cfg, &vm, err, sizeof(err)) == UKVM_OK, "%s", err);
	ck_assert_int_eq(ukvm_run(vm, &big.r), -EINVAL);
	ck_assert_uint_eq(big.r.size, 0);
	ck_assert_uint_eq(big.tail[0], 0xa5); /* nothing written */
	big.r.size = sizeof(big);
	ck_assert_int_eq(ukvm_run(vm, &big.r), 0); /* the refused call did not count as the VM's run */
	ck_assert_int_eq(big.r.kind, UKVM_EXITED);
	ck_assert_int_eq(big.r.status, 0);
	ck_assert_uint_eq(big.r.size, sizeof(big));
	for (unsigned i = 0; i < sizeof(big.tail); i++)
		ck_assert_uint_eq(big.tail[i], 0);
	ukvm_destroy(vm);
}
END_TEST

struct runner {
	int kind, status;
};

/*
 * No ck_assert on this thread once ukvm_run installed its filter: Check
 * reports every assertion's location down a pipe, a write the vCPU thread's
 * filter kills (its write is pinned to the VM's own fds).
 */
static void *runner_main(void *arg)
{
	struct runner *r = arg;
	char img[4096], err[512];
	snprintf(img, sizeof(img), "%s", it_path("apps/hello.img"));
	struct ukvm_disk dk = { .path = disk_path, .ro = true };
	struct ukvm_config cfg = { .size = sizeof(cfg), .pv = it_pv_mode(), .image = img, .console_fd = -1,
				   .timeout_ms = 10000, .seccomp = true, .disks = &dk, .ndisks = 1 };
	struct ukvm_vm *vm;
	struct ukvm_result res = { .size = sizeof(res) };
	if (ukvm_create(&cfg, &vm, err, sizeof(err)) != UKVM_OK)
		return NULL;
	if (ukvm_run(vm, &res) == 0) {
		r->kind = res.kind;
		r->status = res.status;
	}
	ukvm_destroy(vm);
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
	tcase_add_test(tc, device_stats);
	tcase_add_test(tc, kvm_stats);
	tcase_add_test(tc, arena_trim_under_vcpu_filter);
	tcase_add_test(tc, crash_report_symbols);
	tcase_add_test(tc, event_thread_blocks_signals);
	tcase_add_test(tc, stop_preserves_errno);
	tcase_add_test(tc, stop_and_timeout_of_a_spinning_guest);
	tcase_add_test(tc, timeout_counts_from_run);
	tcase_add_test(tc, result_size);
	tcase_add_test(tc, seccomp_worker_threads);
	tcase_add_test(tc, host_close_with_live_vms);
	suite_add_tcase(s, tc);

	TCase *tl = tcase_create("limits");
	tcase_add_checked_fixture(tl, disk_setup, disk_teardown);
	tcase_set_timeout(tl, 120);
	tcase_add_test(tl, many_vms_resources_flat);
	tcase_add_test(tl, many_vms_on_host_resources_flat);
	tcase_add_test(tl, concurrent_create_on_host);
	tcase_add_test(tl, many_vms_on_fast_host_resources_flat);
	tcase_add_test(tl, fast_host_reaper_backlog_bounded);
	tcase_add_test(tl, fast_host_sizes_flags_and_close);
	tcase_add_test(tl, fast_host_forked_child);
	suite_add_tcase(s, tl);
	return s;
}
