/* hostpool.c: a host's background levers: an idle VM kept open, a pool of ready VM shells, a reaper of destroyed VMs. */
#include "hostpool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
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
	bool reaping;
};

void hostpool_shell_free(struct host_shell *s)
{
	vcpu_destroy(&s->vcpu);
	if (s->vm_fd >= 0)
		close(s->vm_fd);
	s->vm_fd = -1;
	mem_free(&s->mem);
}

/* A fresh shell on h. 0 or -errno (err gets one line). */
static int hostpool_shell_build(struct ukvm_host *h, struct host_shell *s, char *err, size_t errlen)
{
	s->vm_fd = -1;
	s->vcpu = (struct vcpu){ .fd = -1, .wake_fd = -1 };
	s->mem = (struct mem){ 0 };
	/* EINTR: as in vm_kvm (mm_take_all_locks gives up on a pending signal or task work). */
	for (int tries = 0; tries < 100; tries++) {
		s->vm_fd = ioctl(h->kvm_fd, KVM_CREATE_VM, 0);
		if (s->vm_fd >= 0 || errno != EINTR)
			break;
	}
	if (s->vm_fd < 0) {
		int e = errno;
		snprintf(err, errlen, "KVM_CREATE_VM: %s", strerror(e));
		return -e;
	}
	/* kick_signal is the VM's (set when taken); SIGUSR2 stands in until then. */
	int r = vcpu_create(&s->vcpu, s->vm_fd, 0, h->vcpu_mmap_size, SIGUSR2, err, errlen);
	if (!r)
		r = vcpu_set_cpuid(&s->vcpu, h->cpuid, err, errlen);
	if (!r)
		(void)vcpu_pv_detect(&s->vcpu);
	/* The slot after the vCPU, unlike vm_kvm: KVM accepts either order, and a shell's RAM is optional. */
	if (!r && (r = mem_init(&s->mem, UKVM_MEM_DEFAULT)))
		snprintf(err, errlen, "mapping guest memory: %s", strerror(-r));
	struct kvm_userspace_memory_region reg = { .slot = 0, .memory_size = s->mem.size,
						   .userspace_addr = (uintptr_t)s->mem.base };
	if (!r && ioctl(s->vm_fd, KVM_SET_USER_MEMORY_REGION, &reg) < 0) {
		r = -errno;
		snprintf(err, errlen, "KVM_SET_USER_MEMORY_REGION: %s", strerror(-r));
	}
	if (r)
		hostpool_shell_free(s);
	return r;
}

static void *hostpool_builder(void *arg)
{
	struct ukvm_host *h = arg;
	struct hostpool *p = h->pool;
	char err[128];
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stop && (p->nready == HOSTPOOL_DEPTH || p->build_failed))
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->stop)
			break;
		p->building = true;
		pthread_mutex_unlock(&p->lock);
		struct host_shell s;
		int r = hostpool_shell_build(h, &s, err, sizeof(err));
		pthread_mutex_lock(&p->lock);
		p->building = false;
		if (r)
			p->build_failed = true; /* e.g. out of fds: the caller's path builds its own meanwhile */
		else
			p->ready[p->nready++] = s;
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
		struct ukvm_vm *vm = p->reap_head;
		if (!vm)
			break; /* stopping, and nothing left */
		p->reap_head = vm->reap_next;
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
	pthread_cond_init(&p->cond, NULL);
	p->idle.vm_fd = -1;
	h->pool = p;
	int r = 0;
	if (flags & UKVM_HOST_IDLE_VM) {
		if ((r = hostpool_shell_build(h, &p->idle, err, errlen)))
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
	struct hostpool *p = h->pool;
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
}

void hostpool_free(struct ukvm_host *h)
{
	struct hostpool *p = h->pool;
	if (!p)
		return;
	hostpool_stop(h);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
	h->pool = NULL;
}

bool hostpool_take(struct ukvm_host *h, struct host_shell *s)
{
	struct hostpool *p = h->pool;
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
	struct hostpool *p = h ? h->pool : NULL;
	if (!p)
		return false;
	pthread_mutex_lock(&p->lock);
	bool ok = !p->stop && p->reaper_on;
	if (ok) {
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
	struct hostpool *p = h ? h->pool : NULL;
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	while (!p->stop && (p->reap_head || p->reaping ||
			    (p->builder_on && (p->building || (p->nready < HOSTPOOL_DEPTH && !p->build_failed)))))
		pthread_cond_wait(&p->cond, &p->lock);
	pthread_mutex_unlock(&p->lock);
}
