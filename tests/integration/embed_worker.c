/*
 * embed_worker.c: an embedder of libukvm as ukvm-serve is one: each VM runs
 * with seccomp on a worker thread of its own, one after another in one
 * process. Built without sanitizers (tests/build.mk): glibc's malloc, whose
 * per-thread arenas are what the vCPU thread's filter must survive (ASan's
 * allocator would hide them). Run by check_snapshot.
 *
 * usage: embed-worker IMAGE SNAPSHOT RUNS PV(off|auto)
 * Each run snapshots IMAGE when idle into SNAPSHOT. Exit 0 when every run
 * ended UKVM_SNAPSHOTTED; 3 create failed, 4 a run ended otherwise, 2 usage.
 *
 * usage: embed-worker --trim IMAGE PV(off|auto)
 * One run of IMAGE to its exit on a worker thread that has grown its malloc
 * arena beforehand and frees it after ukvm_destroy, still under the vCPU
 * filter: glibc trims the arena's heap then, and its first trim in a process
 * opens /proc/sys/vm/overcommit_memory. Exit 0 when the process lives.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ukvm.h"

static const char *img, *snap;
static enum ukvm_pv pv;
/* The guests' stdin, open and empty: they wait on it, the idle point. Made by main: the vCPU filter lets a worker close only the VM's fds. */
static int idle_in[2];

static void *embed_worker_run(void *arg)
{
	(void)arg;
	char err[256];
	struct ukvm_config cfg = { .size = sizeof(cfg), .image = img, .pv = pv, .console_fd = -1,
				   .console_err_fd = -1, .console_in_fd = idle_in[0], .seccomp = true, .snapshot_when_idle = snap };
	struct ukvm_vm *vm;
	if (ukvm_create(&cfg, &vm, err, sizeof(err)) != UKVM_OK) {
		fprintf(stderr, "embed-worker: %s\n", err);
		exit(3);
	}
	struct ukvm_result res = { .size = sizeof(res) };
	if (ukvm_run(vm, &res) || res.kind != UKVM_SNAPSHOTTED) {
		fprintf(stderr, "embed-worker: run ended %d: %s\n", res.kind, res.msg);
		exit(4);
	}
	ukvm_destroy(vm);
	return NULL;
}

/* Chunks under glibc's mmap threshold (128 KiB), so they come from the thread's arena, and past its trim threshold in all. */
#define TRIM_CHUNKS 32
#define TRIM_CHUNK (64u << 10)

static void *embed_worker_trim(void *arg)
{
	(void)arg;
	char err[256];
	void *chunk[TRIM_CHUNKS];
	for (int i = 0; i < TRIM_CHUNKS; i++)
		if (!(chunk[i] = malloc(TRIM_CHUNK)))
			exit(3);
	struct ukvm_config cfg = { .size = sizeof(cfg), .image = img, .pv = pv, .console_fd = -1,
				   .console_err_fd = -1, .seccomp = true };
	struct ukvm_vm *vm;
	if (ukvm_create(&cfg, &vm, err, sizeof(err)) != UKVM_OK) {
		fprintf(stderr, "embed-worker: %s\n", err);
		exit(3);
	}
	struct ukvm_result res = { .size = sizeof(res) };
	if (ukvm_run(vm, &res) || res.kind != UKVM_EXITED) {
		fprintf(stderr, "embed-worker: run ended %d: %s\n", res.kind, res.msg);
		exit(4);
	}
	ukvm_destroy(vm);
	for (int i = TRIM_CHUNKS - 1; i >= 0; i--) /* the top chunk grows past the trim threshold */
		free(chunk[i]);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--trim")) {
		img = argv[2];
		pv = strcmp(argv[3], "off") ? UKVM_PV_AUTO : UKVM_PV_OFF;
		pthread_t t;
		return pthread_create(&t, NULL, embed_worker_trim, NULL) || pthread_join(t, NULL) ? 5 : 0;
	}
	if (argc != 5)
		return 2;
	img = argv[1];
	snap = argv[2];
	pv = strcmp(argv[4], "off") ? UKVM_PV_AUTO : UKVM_PV_OFF;
	if (pipe(idle_in))
		return 5;
	for (int i = 0, n = atoi(argv[3]); i < n; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, embed_worker_run, NULL) || pthread_join(t, NULL))
			return 5;
	}
	return 0;
}
