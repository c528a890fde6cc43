/* hostpool.c: a host's background levers: an idle VM kept open, a pool of ready VM shells, a reaper of destroyed VMs. */
#include "hostpool.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "vm.h"

/*
 * Why each lever (PLATFORM.md, measured here): KVM flips kernel static keys
 * (code patching and IPIs) when the first VM or vCPU without an in-kernel
 * irqchip appears and the last goes: an idle VM and vCPU kept open take
 * that off every create and destroy. KVM_CREATE_VM, KVM_CREATE_VCPU and
 * KVM_SET_CPUID2 are the same for every VM of a host: the pool does them
 * ahead. close(vm_fd) (KVM teardown) and unmapping guest RAM are the same
 * whatever comes next: the reaper does them after ukvm_destroy returned.
 * Each moves work off the caller's path, not out of the process: the CPU
 * it costs is still spent (bench-embed reports both).
 */
/* A snapshot restore shells are kept for (hostpool_note_snap); path NULL: a free place. */
struct hostpool_snap {
	char *path;
	struct stat st;               /* the file as noted: identity and version (hostpool_same_file) */
	uint32_t crc;                 /* its header's checksum as noted */
	uint64_t mem_off, mem_size;
	struct hostpool_range ranges[HOSTPOOL_SNAP_RANGES];
	unsigned nranges;
	struct host_shell ready[HOSTPOOL_SNAP_DEPTH];
	unsigned nready;
	uint64_t last_use;            /* hostpool.use_clock at its last restore: the least recent gives way */
	unsigned gen;                 /* bumped when the place is given to another snapshot or version */
	bool failed, building;
};

struct hostpool {
	pthread_mutex_t lock;
	pthread_cond_t cond;          /* any change below: builder, reaper and quiesce wait on it */
	bool stop;
	bool idle_on, builder_on, reaper_on;
	struct host_shell idle;
	pthread_t builder, reaper;
	struct host_shell ready[HOSTPOOL_DEPTH];
	unsigned nready;
	bool build_failed;            /* the last build failed: retried at the next take, not in a loop */
	bool building;
	struct ukvm_vm *reap_head, *reap_tail;
	unsigned nreap;               /* VMs from reap_head on: at most HOSTPOOL_REAP_MAX */
	bool reaping;
	struct hostpool_snap snaps[HOSTPOOL_SNAPS];
	uint64_t use_clock;
	unsigned busy;                /* VMs between the start of ukvm_create and the end of their run (hostpool_busy) */
	pid_t pid;                    /* the process that opened the host (hostpool_get) */
};

/*
 * The host's pool, or NULL when there is none or this is a child the
 * embedder forked after opening the host: the child has none of the
 * pool's threads, and the shells' KVM fds belong to the parent's address
 * space (KVM refuses them elsewhere). A child's VMs are made and freed the
 * plain way.
 */
static struct hostpool *hostpool_get(struct ukvm_host *h)
{
	struct hostpool *p = h ? h->pool : NULL;
	return p && p->pid == getpid() ? p : NULL;
}

/*
 * The background threads stay off the CPU and the process's memory locks
 * (a shell's KVM_CREATE_VM takes every lock of the address space) while a
 * VM is being created or runs: on this 2-core host a restore shell built
 * alongside a restore made it slower, not faster (bench-snap, hello fn on
 * the fast host: KVM ready 0.42 ms and the guest's return 0.64 against 0.25
 * and 0.35 without the pool). They wait for a quiet moment, at most this
 * long, so a host that is never quiet still gets its shells and its reaping.
 */
#define HOSTPOOL_QUIET_WAIT_NS 50000000ll
/* Destroyed VMs the reaper lets wait for a quiet moment, at most (their RAM is still mapped). */
#define HOSTPOOL_REAP_BACKLOG 8

/* Waits (the lock held, released while waiting) until no VM is busy, at most HOSTPOOL_QUIET_WAIT_NS, or stop. */
static void hostpool_wait_quiet(struct hostpool *p)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += HOSTPOOL_QUIET_WAIT_NS;
	until.tv_sec += until.tv_nsec / 1000000000l;
	until.tv_nsec %= 1000000000l;
	while (p->busy && !p->stop)
		if (pthread_cond_timedwait(&p->cond, &p->lock, &until) == ETIMEDOUT)
			break;
}

/* The same file, unchanged since it was noted: a rewrite in place changes mtime and ctime (ctime cannot be set back). */
static bool hostpool_same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

void hostpool_shell_free(struct host_shell *s)
{
	vcpu_destroy(&s->vcpu);
	if (s->vm_fd >= 0)
		close(s->vm_fd);
	s->vm_fd = -1;
	mem_free(&s->mem);
}

/* A fresh shell on h, with UKVM_MEM_DEFAULT of anonymous RAM registered when ram. 0 or -errno (err gets one line). */
static int hostpool_shell_build(struct ukvm_host *h, struct host_shell *s, bool ram, char *err, size_t errlen)
{
	s->vm_fd = -1;
	s->vcpu = (struct vcpu){ .fd = -1, .wake_fd = -1 };
	s->mem = (struct mem){ 0 };
	if ((s->vm_fd = vm_kvm_create(h->kvm_fd)) < 0) {
		int r = s->vm_fd;
		snprintf(err, errlen, "KVM_CREATE_VM: %s", strerror(-r));
		return r;
	}
	/* kick_signal is the VM's (set when taken); SIGUSR2 stands in until then. */
	int r = vcpu_create(&s->vcpu, s->vm_fd, 0, h->vcpu_mmap_size, SIGUSR2, err, errlen);
	if (!r)
		r = vcpu_set_cpuid(&s->vcpu, h->cpuid, err, errlen);
	if (!r)
		(void)vcpu_pv_detect(&s->vcpu);
	if (r || !ram)
		goto out;
	/* The slot after the vCPU, unlike vm_kvm: KVM accepts either order, and a shell's RAM is optional. */
	if ((r = mem_init(&s->mem, UKVM_MEM_DEFAULT)))
		snprintf(err, errlen, "mapping guest memory: %s", strerror(-r));
	if (!r && (r = vm_kvm_ram(s->vm_fd, &s->mem)))
		snprintf(err, errlen, "KVM_SET_USER_MEMORY_REGION: %s", strerror(-r));
out:
	if (r)
		hostpool_shell_free(s);
	return r;
}

/*
 * A restore shell for sn (a copy taken under the lock): the file opened
 * again and checked to be the version noted, its memory mapped as
 * snapvm_restore maps it, registered, and the noted ranges copied in. 0 or
 * -errno.
 */
static int hostpool_snap_build(struct ukvm_host *h, const struct hostpool_snap *sn, struct host_shell *s)
{
	char err[128];
	int r = hostpool_shell_build(h, s, false, err, sizeof(err));
	if (r)
		return r;
	struct stat st;
	int fd = open(sn->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		r = -errno;
	else if (!hostpool_same_file(&st, &sn->st))
		r = -ESTALE;
	else
		r = mem_init_file(&s->mem, sn->mem_size, fd, sn->mem_off);
	if (fd >= 0)
		close(fd); /* the mapping keeps the file */
	if (!r)
		r = vm_kvm_ram(s->vm_fd, &s->mem);
	for (unsigned i = 0; !r && i < sn->nranges; i++)
		(void)mem_populate(&s->mem, sn->ranges[i].gpa, sn->ranges[i].len); /* only a hint, as in snapvm */
	if (r)
		hostpool_shell_free(s);
	return r;
}

/* Whether a restore shell is being built. Under the lock. */
static bool hostpool_snap_busy(const struct hostpool *p)
{
	for (unsigned i = 0; i < HOSTPOOL_SNAPS; i++)
		if (p->snaps[i].building)
			return true;
	return false;
}

/* The place of a snapshot that wants a restore shell built, or NULL. Under the lock. */
static struct hostpool_snap *hostpool_snap_wanted(struct hostpool *p)
{
	for (unsigned i = 0; i < HOSTPOOL_SNAPS; i++) {
		struct hostpool_snap *sn = &p->snaps[i];
		if (sn->path && !sn->failed && !sn->building && sn->nready < HOSTPOOL_SNAP_DEPTH)
			return sn;
	}
	return NULL;
}

static void *hostpool_builder(void *arg)
{
	struct ukvm_host *h = arg;
	struct hostpool *p = h->pool;
	char err[128];
	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct hostpool_snap *sn = NULL;
		while (!p->stop && (p->nready == HOSTPOOL_DEPTH || p->build_failed) && !hostpool_snap_wanted(p))
			pthread_cond_wait(&p->cond, &p->lock);
		hostpool_wait_quiet(p);
		if (p->stop)
			break;
		/* Again: the work may have changed while waiting (a restore shell wanted first, see hostpool_take_snap). */
		if (!(sn = hostpool_snap_wanted(p)) && (p->nready == HOSTPOOL_DEPTH || p->build_failed))
			continue;
		struct host_shell s;
		int r;
		if (!sn) {
			p->building = true;
			pthread_mutex_unlock(&p->lock);
			r = hostpool_shell_build(h, &s, true, err, sizeof(err));
			pthread_mutex_lock(&p->lock);
			p->building = false;
			if (r)
				p->build_failed = true; /* e.g. out of fds: the caller's path builds its own meanwhile */
			else
				p->ready[p->nready++] = s;
		} else {
			/* A copy to build from without the lock; the place may be given away meanwhile (gen). */
			struct hostpool_snap copy = *sn;
			unsigned gen = sn->gen;
			sn->building = true;
			if (!(copy.path = strdup(sn->path))) {
				sn->building = false;
				sn->failed = true;
				continue;
			}
			pthread_mutex_unlock(&p->lock);
			r = hostpool_snap_build(h, &copy, &s);
			free(copy.path);
			pthread_mutex_lock(&p->lock);
			sn->building = false;
			if (sn->gen != gen) {
				if (!r) {
					pthread_mutex_unlock(&p->lock);
					hostpool_shell_free(&s);
					pthread_mutex_lock(&p->lock);
				}
			} else if (r)
				sn->failed = true; /* changed or gone: the next restore of it notes it again */
			else
				sn->ready[sn->nready++] = s;
		}
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void *hostpool_reaper(void *arg)
{
	struct hostpool *p = ((struct ukvm_host *)arg)->pool;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->reap_head && !p->stop)
			pthread_cond_wait(&p->cond, &p->lock);
		unsigned backlog = 0;
		for (struct ukvm_vm *v = p->reap_head; v && backlog < HOSTPOOL_REAP_BACKLOG; v = v->reap_next)
			backlog++;
		if (backlog < HOSTPOOL_REAP_BACKLOG)
			hostpool_wait_quiet(p);
		struct ukvm_vm *vm = p->reap_head;
		if (!vm)
			break; /* stopping, and nothing left */
		p->reap_head = vm->reap_next;
		p->nreap--;
		if (!p->reap_head)
			p->reap_tail = NULL;
		p->reaping = true;
		pthread_mutex_unlock(&p->lock);
		vm_free(vm); /* never the host's last reference: the opener's is held until hostpool_stop */
		pthread_mutex_lock(&p->lock);
		p->reaping = false;
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* A library thread: every signal blocked, so none of the embedder's handlers runs on it. */
static int hostpool_thread(pthread_t *t, void *(*fn)(void *), struct ukvm_host *h)
{
	pthread_attr_t at;
	sigset_t all, old;
	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, 128 << 10);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int r = pthread_create(t, &at, fn, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&at);
	return -r;
}

int hostpool_start(struct ukvm_host *h, unsigned flags, char *err, size_t errlen)
{
	if (!(flags & (UKVM_HOST_IDLE_VM | UKVM_HOST_POOL | UKVM_HOST_REAPER)))
		return 0;
	struct hostpool *p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
	p->idle.vm_fd = -1;
	p->pid = getpid();
	h->pool = p;
	int r = 0;
	if (flags & UKVM_HOST_IDLE_VM) {
		if ((r = hostpool_shell_build(h, &p->idle, false, err, errlen)))
			goto fail;
		p->idle_on = true;
	}
	if ((flags & UKVM_HOST_REAPER) && !(r = hostpool_thread(&p->reaper, hostpool_reaper, h)))
		p->reaper_on = true;
	if (!r && (flags & UKVM_HOST_POOL) && !(r = hostpool_thread(&p->builder, hostpool_builder, h)))
		p->builder_on = true;
	if (!r)
		return 0;
	snprintf(err, errlen, "starting a host thread: %s", strerror(-r));
fail:
	hostpool_stop(h);
	return r;
}

void hostpool_stop(struct ukvm_host *h)
{
	/* A forked child has neither the threads nor a lock state it may trust: nothing to stop there. */
	struct hostpool *p = hostpool_get(h);
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	if (p->builder_on)
		pthread_join(p->builder, NULL);
	if (p->reaper_on)
		pthread_join(p->reaper, NULL); /* after it freed every VM handed to it */
	pthread_mutex_lock(&p->lock);
	p->builder_on = p->reaper_on = false;
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nready; i++)
		hostpool_shell_free(&p->ready[i]);
	p->nready = 0;
	if (p->idle_on)
		hostpool_shell_free(&p->idle);
	p->idle_on = false;
	for (unsigned i = 0; i < HOSTPOOL_SNAPS; i++) {
		for (unsigned k = 0; k < p->snaps[i].nready; k++)
			hostpool_shell_free(&p->snaps[i].ready[k]);
		p->snaps[i].nready = 0;
	}
}

void hostpool_free(struct ukvm_host *h)
{
	struct hostpool *p = h->pool;
	if (!p)
		return;
	if (p->pid != getpid()) { /* a forked child's copy: its shells are the parent's */
		free(p);
		h->pool = NULL;
		return;
	}
	hostpool_stop(h);
	for (unsigned i = 0; i < HOSTPOOL_SNAPS; i++)
		free(p->snaps[i].path);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
	h->pool = NULL;
}

bool hostpool_take(struct ukvm_host *h, struct host_shell *s)
{
	struct hostpool *p = hostpool_get(h);
	if (!p)
		return false;
	pthread_mutex_lock(&p->lock);
	bool got = !p->stop && p->nready > 0;
	if (got)
		*s = p->ready[--p->nready];
	p->build_failed = false;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return got;
}

bool hostpool_reap(struct ukvm_host *h, struct ukvm_vm *vm)
{
	struct hostpool *p = hostpool_get(h);
	if (!p)
		return false;
	pthread_mutex_lock(&p->lock);
	/*
	 * A full queue: wait for the reaper to make room rather than free vm
	 * here: the caller may be a vCPU thread under its filter (ukvm-serve's
	 * workers), where vm_free's free() may trim the malloc arena, which
	 * opens /proc/sys/vm/overcommit_memory (SIGSYS, seen at 8 connections).
	 */
	while (!p->stop && p->reaper_on && p->nreap >= HOSTPOOL_REAP_MAX)
		pthread_cond_wait(&p->cond, &p->lock);
	bool ok = !p->stop && p->reaper_on;
	if (ok) {
		p->nreap++;
		vm->reap_next = NULL;
		if (p->reap_tail)
			p->reap_tail->reap_next = vm;
		else
			p->reap_head = vm;
		p->reap_tail = vm;
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	return ok;
}

void hostpool_quiesce(struct ukvm_host *h)
{
	struct hostpool *p = hostpool_get(h);
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	while (!p->stop && (p->reap_head || p->reaping ||
			    (p->builder_on && (p->building || (p->nready < HOSTPOOL_DEPTH && !p->build_failed) ||
					       hostpool_snap_wanted(p) || hostpool_snap_busy(p)))))
		pthread_cond_wait(&p->cond, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

bool hostpool_take_snap(struct ukvm_host *h, const char *path, const struct stat *st, uint32_t crc, uint64_t mem_off,
			uint64_t mem_size, struct host_shell *s)
{
	struct hostpool *p = hostpool_get(h);
	if (!p)
		return false;
	bool got = false;
	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; !p->stop && p->builder_on && i < HOSTPOOL_SNAPS; i++) {
		struct hostpool_snap *sn = &p->snaps[i];
		if (!sn->path || strcmp(sn->path, path) || !hostpool_same_file(&sn->st, st) || sn->crc != crc ||
		    sn->mem_off != mem_off || sn->mem_size != mem_size)
			continue;
		sn->last_use = ++p->use_clock;
		if ((got = sn->nready > 0)) {
			*s = sn->ready[--sn->nready];
			pthread_cond_broadcast(&p->cond);
		}
		break;
	}
	pthread_mutex_unlock(&p->lock);
	return got;
}

void hostpool_note_snap(struct ukvm_host *h, const char *path, const struct stat *st, uint32_t crc, uint64_t mem_off,
			uint64_t mem_size, const struct hostpool_range *ranges, unsigned nranges)
{
	struct hostpool *p = hostpool_get(h);
	if (!p)
		return;
	struct host_shell old[HOSTPOOL_SNAP_DEPTH];
	unsigned nold = 0;
	char *path_copy = strdup(path), *old_path = NULL;
	if (!path_copy)
		return; /* only speed is lost */
	pthread_mutex_lock(&p->lock);
	if (p->stop || !p->builder_on)
		goto out;
	/* Its place (the same path, perhaps an older version), else a free one, else the least recently restored. */
	struct hostpool_snap *sn = NULL;
	for (unsigned i = 0; i < HOSTPOOL_SNAPS && !sn; i++)
		if (p->snaps[i].path && !strcmp(p->snaps[i].path, path))
			sn = &p->snaps[i];
	if (sn && hostpool_same_file(&sn->st, st) && sn->crc == crc && sn->mem_off == mem_off && sn->mem_size == mem_size) {
		sn->failed = false; /* noted again: worth another try */
		sn->last_use = ++p->use_clock;
		pthread_cond_broadcast(&p->cond);
		goto out;
	}
	for (unsigned i = 0; i < HOSTPOOL_SNAPS && !sn; i++)
		if (!p->snaps[i].path)
			sn = &p->snaps[i];
	if (!sn) {
		sn = &p->snaps[0];
		for (unsigned i = 1; i < HOSTPOOL_SNAPS; i++)
			if (p->snaps[i].last_use < sn->last_use)
				sn = &p->snaps[i];
	}
	nold = sn->nready;
	memcpy(old, sn->ready, nold * sizeof(old[0]));
	old_path = sn->path;
	sn->path = path_copy;
	path_copy = NULL;
	sn->st = *st;
	sn->crc = crc;
	sn->mem_off = mem_off;
	sn->mem_size = mem_size;
	sn->nranges = nranges < HOSTPOOL_SNAP_RANGES ? nranges : HOSTPOOL_SNAP_RANGES;
	memcpy(sn->ranges, ranges, sn->nranges * sizeof(ranges[0]));
	sn->nready = 0;
	sn->gen++;
	sn->failed = false;
	sn->last_use = ++p->use_clock;
	pthread_cond_broadcast(&p->cond);
out:
	pthread_mutex_unlock(&p->lock);
	free(path_copy);
	free(old_path);
	for (unsigned i = 0; i < nold; i++)
		hostpool_shell_free(&old[i]); /* a replaced version's or the least recent snapshot's */
}

void hostpool_busy(struct ukvm_host *h, int delta)
{
	struct hostpool *p = hostpool_get(h);
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->busy += (unsigned)delta;
	if (!p->busy)
		pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}
