/* snapshot.c: ukvm_snapshot: a snapshot of a running VM, asked from another thread, taken by the vCPU thread at its next exit. */
#include "snapshot.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "run.h"
#include "snapvm.h"
#include "vmdev.h"

/*
 * How long ukvm_snapshot waits for the vCPU thread to take its request. The
 * kick takes a running guest out of KVM_RUN at once and a WAIT out of its
 * ppoll; what can hold the thread longer is a console write into a pipe
 * nobody reads (the embedder's own thread, maybe the one asking): then the
 * request is withdrawn and -ETIMEDOUT returned rather than hang both.
 */
#define SNAPSHOT_TAKE_MS 10000
/*
 * How long the vCPU thread, holding the guest, lets the event thread finish
 * requests in flight before it gives up (-EBUSY). A disk request takes
 * ~0.1-10 ms here; a device that stays busy longer is not at a point a
 * snapshot can describe (its requests are not in the format).
 */
#define SNAPSHOT_QUIET_MS 1000

enum { SNAPSHOT_IDLE, SNAPSHOT_RUNNING, SNAPSHOT_ENDED };           /* vm->run_phase */
enum snapshot_phase { REQ_POSTED, REQ_TAKEN, REQ_CAPTURED, REQ_DONE }; /* struct snapshot_req.phase */

/* One ukvm_snapshot call, on its caller's stack; vm->snap_req points at it while the vCPU thread may see it. */
struct snapshot_req {
	struct snapvm_writer *w;
	const char *path;
	unsigned flags;
	enum snapshot_phase phase; /* under snap_lock */
	int result;
	char err[200];
};

int snapshot_init(struct ukvm_vm *vm)
{
	pthread_condattr_t a;
	int r = pthread_condattr_init(&a);
	if (!r)
		r = pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	if (!r)
		r = pthread_cond_init(&vm->snap_cond, &a);
	pthread_condattr_destroy(&a);
	if (!r && (r = pthread_mutex_init(&vm->snap_lock, NULL)))
		pthread_cond_destroy(&vm->snap_cond);
	vm->snap_sync = !r;
	return -r;
}

void snapshot_fini(struct ukvm_vm *vm)
{
	if (!vm->snap_sync)
		return;
	/*
	 * A caller of ukvm_snapshot whose run just ended (UKVM_SNAPSHOT_STOP, or
	 * -ESRCH) still takes snap_lock once more on its way out, while the
	 * embedder may already destroy the VM: wait for it (it only unlocks).
	 */
	pthread_mutex_lock(&vm->snap_lock);
	while (vm->snap_callers)
		pthread_cond_wait(&vm->snap_cond, &vm->snap_lock);
	pthread_mutex_unlock(&vm->snap_lock);
	pthread_cond_destroy(&vm->snap_cond);
	pthread_mutex_destroy(&vm->snap_lock);
	vm->snap_sync = false;
}

void snapshot_run_begin(struct ukvm_vm *vm)
{
	pthread_mutex_lock(&vm->snap_lock);
	vm->run_phase = SNAPSHOT_RUNNING;
	pthread_mutex_unlock(&vm->snap_lock);
}

void snapshot_run_end(struct ukvm_vm *vm)
{
	pthread_mutex_lock(&vm->snap_lock);
	vm->run_phase = SNAPSHOT_ENDED;
	struct snapshot_req *q = vm->snap_req;
	if (q && q->phase == REQ_POSTED) { /* never taken: the guest is gone */
		q->result = -ESRCH;
		q->phase = REQ_DONE;
		vm->snap_req = NULL;
		pthread_cond_broadcast(&vm->snap_cond);
	}
	pthread_mutex_unlock(&vm->snap_lock);
}

bool snapshot_pending(struct ukvm_vm *vm)
{
	return atomic_load(&vm->snap_posted) != 0;
}

/* Under snap_lock: the request is over for the vCPU thread; its caller may return. */
static void snapshot_release(struct ukvm_vm *vm, struct snapshot_req *q, int result)
{
	if (q->phase != REQ_DONE)
		q->result = result;
	q->phase = REQ_DONE;
	vm->snap_req = NULL;
	atomic_store(&vm->snap_posted, 0);
	pthread_cond_broadcast(&vm->snap_cond);
}

/* Up to SNAPSHOT_QUIET_MS for the devices' requests in flight to finish (the event thread runs them). */
static bool snapshot_quiet(struct ukvm_vm *vm)
{
	const struct timespec ms = { 0, 1000000 };
	for (unsigned i = 0; i < SNAPSHOT_QUIET_MS; i++) {
		if (vmdev_quiet(vm))
			return true;
		(void)ppoll(NULL, 0, &ms, NULL); /* the kick stays blocked: a sleep, in the vCPU filter's allowlist */
	}
	return vmdev_quiet(vm);
}

bool snapshot_take(struct run_ctx *c, uint64_t wait_gpa)
{
	struct ukvm_vm *vm = c->vm;
	if (!snapshot_pending(vm))
		return false;
	pthread_mutex_lock(&vm->snap_lock);
	struct snapshot_req *q = vm->snap_req;
	if (!q || q->phase != REQ_POSTED) {
		pthread_mutex_unlock(&vm->snap_lock);
		return false;
	}
	q->phase = REQ_TAKEN; /* from now its caller waits for the answer: no withdrawal */
	pthread_mutex_unlock(&vm->snap_lock);

	int r = -EBUSY;
	if (!snapshot_quiet(vm))
		snprintf(q->err, sizeof(q->err), "devices still busy after %u ms", SNAPSHOT_QUIET_MS);
	else
		r = snapvm_capture(q->w, vm, wait_gpa, c->conbuf.sent, q->err, sizeof(q->err));
	pthread_mutex_lock(&vm->snap_lock);
	if (r) {
		snapshot_release(vm, q, r);
		pthread_mutex_unlock(&vm->snap_lock);
		return false;
	}
	/* The guest stays where it is (this thread holds it) while the caller writes its memory out. */
	q->phase = REQ_CAPTURED;
	pthread_cond_broadcast(&vm->snap_cond);
	while (q->phase == REQ_CAPTURED)
		pthread_cond_wait(&vm->snap_cond, &vm->snap_lock);
	bool stop = q->result == 0 && (q->flags & UKVM_SNAPSHOT_STOP);
	char path[160];
	snprintf(path, sizeof(path), "%s", q->path);
	snapshot_release(vm, q, q->result);
	pthread_mutex_unlock(&vm->snap_lock);
	if (!stop)
		return false;
	run_finish(c, UKVM_SNAPSHOTTED, 0, false, "snapshot written to %s", path);
	return true;
}

/* ukvm_snapshot with its message in q->err (empty: snapshot_why's for the errno). */
static int snapshot_ask(struct ukvm_vm *vm, struct snapshot_req *q)
{
	if (snapvm_can_save(vm, q->err, sizeof(q->err)))
		return -ENOTSUP;
	/* Checked before the file is created: a refused call leaves an existing file alone. */
	pthread_mutex_lock(&vm->snap_lock);
	int r = vm->run_phase == SNAPSHOT_IDLE ? -EAGAIN : vm->run_phase == SNAPSHOT_ENDED ? -ESRCH
		: vm->snap_req ? -EBUSY : 0;
	pthread_mutex_unlock(&vm->snap_lock);
	if (r)
		return r;
	/* This thread opens what the vCPU thread's seccomp filter would refuse: the file, pagemap, KVM's MSR list. */
	if ((r = snapvm_writer_open(vm, q->path, &q->w, q->err, sizeof(q->err))))
		return r;
	pthread_mutex_lock(&vm->snap_lock);
	r = vm->run_phase != SNAPSHOT_RUNNING ? -ESRCH : vm->snap_req ? -EBUSY : 0;
	if (!r) {
		vm->snap_req = q;
		atomic_store(&vm->snap_posted, 1);
	}
	pthread_mutex_unlock(&vm->snap_lock);
	if (r)
		return r;
	vcpu_kick(&vm->vcpu);

	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += SNAPSHOT_TAKE_MS / 1000;
	pthread_mutex_lock(&vm->snap_lock);
	/* Taken, the vCPU thread answers within SNAPSHOT_QUIET_MS and a capture: waited for without a bound. */
	for (int w = 0; q->phase == REQ_TAKEN || (q->phase == REQ_POSTED && w != ETIMEDOUT);)
		w = q->phase == REQ_POSTED ? pthread_cond_timedwait(&vm->snap_cond, &vm->snap_lock, &until)
					   : pthread_cond_wait(&vm->snap_cond, &vm->snap_lock);
	if (q->phase == REQ_POSTED) { /* not taken in time: withdrawn, the guest ran on untouched */
		vm->snap_req = NULL;
		atomic_store(&vm->snap_posted, 0);
		q->result = -ETIMEDOUT;
		q->phase = REQ_DONE;
	}
	pthread_mutex_unlock(&vm->snap_lock);
	if (q->phase == REQ_CAPTURED) {
		/* The vCPU thread holds the guest, the devices are quiet: memory stays as captured. */
		r = snapvm_write(q->w, vm, q->err, sizeof(q->err));
		r = r == -EAGAIN ? -EBUSY : r; /* a device moved meanwhile: no valid file, try again */
		pthread_mutex_lock(&vm->snap_lock);
		q->result = r;
		q->phase = REQ_DONE;
		pthread_cond_broadcast(&vm->snap_cond);
		/* q lives on the caller's stack: wait until the vCPU thread let go of it. */
		while (vm->snap_req == q)
			pthread_cond_wait(&vm->snap_cond, &vm->snap_lock);
		pthread_mutex_unlock(&vm->snap_lock);
	}
	return q->result;
}

static const char *snapshot_why(int r)
{
	switch (r) {
	case -EAGAIN: return "the VM is not running yet (ukvm_run has not started)";
	case -ESRCH: return "the VM's run has ended";
	case -EBUSY: return "another snapshot of this VM is being taken";
	case -ETIMEDOUT: return "the vCPU did not stop within 10 s (a console write blocked?)";
	default: return strerror(-r);
	}
}

int ukvm_snapshot(struct ukvm_vm *vm, const char *path, unsigned flags, char *err, size_t errlen)
{
	struct snapshot_req q = { .path = path, .flags = flags, .phase = REQ_POSTED };
	int r = -EINVAL;
	if (!vm || !path || !*path || (flags & ~UKVM_SNAPSHOT_STOP) || !vm->snap_sync) {
		snprintf(q.err, sizeof(q.err), "bad arguments");
		goto out;
	}
	pthread_mutex_lock(&vm->snap_lock);
	vm->snap_callers++;
	pthread_mutex_unlock(&vm->snap_lock);
	r = snapshot_ask(vm, &q);
	pthread_mutex_lock(&vm->snap_lock);
	if (--vm->snap_callers == 0)
		pthread_cond_broadcast(&vm->snap_cond);
	pthread_mutex_unlock(&vm->snap_lock); /* the last touch of vm: snapshot_fini may free it now */
out:
	snapvm_writer_close(q.w);
	if (r && err && errlen)
		snprintf(err, errlen, "%s", q.err[0] ? q.err : snapshot_why(r));
	return r;
}
