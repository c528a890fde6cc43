/* snapvm.c: writing a snapshot of a VM idle in a WAIT, and restoring a VM from one (format: snap.c, docs/snapshot.md). */
#include "snapvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dev.h"
#include "hostpool.h"
#include "snap.h"
#include "vmdev.h"

/* A restored VM: what snapvm_resume writes into the guest's WAIT block. */
struct snapvm {
	uint64_t wait_gpa;
	uint8_t seed[32];
	struct ukvm_tty tty[3]; /* the restoring run's console (vm_console_tty at ukvm_create, as a boot's FDT) */
	bool deferred; /* taken running (SNAP_VCPU_RUNNING): the guest's next WAIT gets the answer */
	uint64_t conbuf_sent; /* the console buffer's bytes the snapshotted run already wrote */
};

struct snapvm_writer {
	int fd;
	int pagemap_fd;               /* /proc/self/pagemap, -1: mincore only */
	uint64_t *pm;                 /* one pagemap entry per guest page */
	uint32_t tsc_khz;
	struct kvm_msr_list *msrs;    /* KVM_GET_MSR_INDEX_LIST */
	unsigned char *vec;           /* mincore: one byte per guest page */
	struct snap_extent *extents;  /* SNAP_MAX_EXTENTS */
	struct kvm_msr_entry *state_msrs; /* SNAP_MAX_MSRS */
	uint8_t *meta;                /* header + the largest metadata */
	size_t meta_cap;
	size_t map_len;               /* the one mapping holding this struct and every buffer above */
};

static const struct kvm_cpuid_entry2 *snapvm_leaf(const struct kvm_cpuid2 *c, uint32_t fn)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == 0)
			return &c->entries[i];
	return NULL;
}

/* The CPUID words a snapshot depends on, from the table every vCPU of this host gets. */
static void snapvm_cpu_words(const struct kvm_cpuid2 *c, uint32_t w[SNAP_CPU_WORDS], uint64_t *xcr0)
{
	const struct kvm_cpuid_entry2 *l1 = snapvm_leaf(c, 1), *l7 = snapvm_leaf(c, 7), *ld = snapvm_leaf(c, 0xd);
	memset(w, 0, SNAP_CPU_WORDS * sizeof(w[0]));
	if (l1) {
		w[SNAP_CPU_1_ECX] = l1->ecx;
		w[SNAP_CPU_1_EDX] = l1->edx;
	}
	if (l7) {
		w[SNAP_CPU_7_EBX] = l7->ebx;
		w[SNAP_CPU_7_ECX] = l7->ecx;
		w[SNAP_CPU_7_EDX] = l7->edx;
	}
	if (xcr0)
		*xcr0 = ld ? ((uint64_t)ld->edx << 32 | ld->eax) : 3; /* x87 and SSE without leaf 0xd */
}

int snapvm_can_save(struct ukvm_vm *vm, char *err, size_t errlen)
{
	for (unsigned i = 0; i < vm->ndevs; i++)
		if (!vm->devs[i].cls->save) {
			snprintf(err, errlen, "%s: a VM with a %s device cannot be snapshotted yet", vm->devs[i].d->tag,
				 vm->devs[i].cls->name);
			return -ENOTSUP;
		}
	return 0;
}

/* ------------------------------------------------------------- writing */

/*
 * The writer's buffers are one anonymous mapping, not malloc: the snapshot is
 * written and the writer closed on the vCPU thread under its seccomp filter,
 * and glibc's free() in a worker thread's arena (an embedder runs VMs on
 * worker threads) may trim it, which takes mprotect and an openat of
 * /proc/sys/vm/overcommit_memory: the process was killed on its second
 * snapshot (check_snapshot embed_snapshots_on_worker_threads). munmap is in
 * the vCPU thread's allowlist.
 */
static size_t snapvm_align(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

void snapvm_writer_close(struct snapvm_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (w->pagemap_fd >= 0)
		close(w->pagemap_fd);
	munmap(w, w->map_len);
}

int snapvm_writer_fd(const struct snapvm_writer *w)
{
	return w->fd;
}

int snapvm_writer_pagemap_fd(const struct snapvm_writer *w)
{
	return w->pagemap_fd;
}

int snapvm_writer_open(struct ukvm_vm *vm, const char *path, struct snapvm_writer **out, char *err, size_t errlen)
{
	uint64_t npages = vm->mem.size / SNAP_PAGE;
	size_t meta_cap = sizeof(struct snap_hdr) + snap_meta_len(SNAP_MAX_MSRS, SNAP_MAX_EXTENTS);
	size_t sizes[] = { sizeof(struct snapvm_writer), npages, SNAP_MAX_EXTENTS * sizeof(struct snap_extent),
			   SNAP_MAX_MSRS * sizeof(struct kvm_msr_entry), meta_cap,
			   sizeof(struct kvm_msr_list) + SNAP_MAX_MSRS * sizeof(uint32_t), npages * sizeof(uint64_t) };
	size_t len = 0, at[sizeof(sizes) / sizeof(sizes[0])];
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		at[i] = len;
		len += snapvm_align(sizes[i]);
	}
	int r = -ENOMEM;
	*out = NULL;
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		goto fail_msg_nomap;
	struct snapvm_writer *w = (struct snapvm_writer *)p; /* zero-filled, as calloc's */
	w->map_len = len;
	w->fd = -1;
	w->pagemap_fd = -1;
	w->meta_cap = meta_cap;
	w->vec = p + at[1];
	w->extents = (struct snap_extent *)(p + at[2]);
	w->state_msrs = (struct kvm_msr_entry *)(p + at[3]);
	w->meta = p + at[4];
	w->msrs = (struct kvm_msr_list *)(p + at[5]);
	w->pm = (uint64_t *)(p + at[6]);
	/* Unprivileged readers get the present and swapped bits (not the frame numbers): all we need. */
	/* A jailed monitor has no /proc: the jail opened it before (host.h). */
	w->pagemap_fd = vm->host->pagemap_fd > 0 ? fcntl(vm->host->pagemap_fd, F_DUPFD_CLOEXEC, 3)
						 : open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	w->msrs->nmsrs = SNAP_MAX_MSRS;
	if (ioctl(vm->host->kvm_fd, KVM_GET_MSR_INDEX_LIST, w->msrs) < 0) {
		r = -errno;
		snprintf(err, errlen, "KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
		goto fail;
	}
	w->tsc_khz = vcpu_tsc_khz(&vm->vcpu);
	if ((w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: cannot create snapshot: %s", path, strerror(errno));
		goto fail;
	}
	*out = w;
	return 0;
fail:
	snapvm_writer_close(w);
	return r;
fail_msg_nomap:
	snprintf(err, errlen, "out of memory");
	return r;
}

/* pwrite of all len bytes. */
static int snapvm_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/*
 * Which guest pages were ever touched (by the guest, the loader or the
 * devices): those of the anonymous mapping that are present or swapped out
 * (/proc/self/pagemap bits 63 and 62). mincore alone would miss a page the
 * host swapped out, and the snapshot would silently read it as zeros: only
 * when pagemap cannot be read is it the answer.
 */
static int snapvm_touched(struct snapvm_writer *w, struct ukvm_vm *vm, uint64_t npages, char *err, size_t errlen)
{
	if (w->pagemap_fd >= 0) {
		size_t len = npages * sizeof(uint64_t);
		off_t off = (off_t)((uintptr_t)vm->mem.base / SNAP_PAGE * sizeof(uint64_t));
		ssize_t n = pread(w->pagemap_fd, w->pm, len, off);
		if (n == (ssize_t)len) {
			for (uint64_t i = 0; i < npages; i++)
				w->vec[i] = (w->pm[i] >> 62) != 0; /* bit 63 present, bit 62 swapped */
			return 0;
		}
	}
	if (mincore(vm->mem.base, vm->mem.size, w->vec) < 0) {
		snprintf(err, errlen, "mincore: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int snapvm_capture(struct snapvm_writer *w, struct ukvm_vm *vm, uint64_t wait_gpa, uint64_t conbuf_sent, char *err,
		   size_t errlen)
{
	int r;
	struct vcpu_state st = { .nmsrs = SNAP_MAX_MSRS, .msrs = w->state_msrs };
	if ((r = vcpu_state_get(&vm->vcpu, w->msrs, vm->pv, &st, err, errlen)))
		return r;
	/* The extents follow the MSRs: their count is known only once snapvm_write looked at the pages. */
	memset(w->meta, 0, sizeof(struct snap_hdr) + snap_meta_len(st.nmsrs, 0));
	struct snap_meta *m = (struct snap_meta *)(w->meta + sizeof(struct snap_hdr));
	m->pv = vm->pv;
	m->tsc_khz = w->tsc_khz;
	m->ndevs = vm->ndevs;
	m->nmsrs = st.nmsrs;
	m->vcpu_flags = (st.flags & VCPU_STATE_XSAVE ? SNAP_VCPU_XSAVE : 0) |
			(st.flags & VCPU_STATE_XCRS ? SNAP_VCPU_XCRS : 0) |
			(st.flags & VCPU_STATE_LAPIC ? SNAP_VCPU_LAPIC : 0) | (wait_gpa ? 0 : SNAP_VCPU_RUNNING);
	m->wait_gpa = wait_gpa;
	m->conbuf_sent = (uint32_t)(conbuf_sent < UKVM_CONBUF_SIZE ? conbuf_sent : UKVM_CONBUF_SIZE);
	m->pv_state = st.pv_state;
	snapvm_cpu_words(vm->host->cpuid, m->cpu, NULL);
	const struct uart *u = &vm->uart;
	uint8_t ur[8] = { u->ier, u->lcr, u->mcr, u->scr, u->dll, u->dlm };
	memcpy(m->uart, ur, sizeof(ur));
	for (unsigned i = 0; i < vm->ndevs; i++) {
		mmio_save(vm->devs[i].d, &m->devs[i].tr);
		vm->devs[i].cls->save(vm->devs[i].d, &m->devs[i]); /* may correct tr (dev.h) */
	}
	m->regs = st.regs;
	m->sregs = st.sregs;
	m->fpu = st.fpu;
	memcpy(m->xsave, st.xsave.region, sizeof(m->xsave));
	m->xcrs = st.xcrs;
	m->events = st.events;
	_Static_assert(sizeof(m->lapic) == sizeof(st.lapic.regs), "snap_meta.lapic is struct kvm_lapic_state");
	memcpy(m->lapic, st.lapic.regs, sizeof(m->lapic));
	struct snap_msr *msrs = (struct snap_msr *)(m + 1);
	for (unsigned i = 0; i < st.nmsrs; i++)
		msrs[i] = (struct snap_msr){ .index = st.msrs[i].index, .data = st.msrs[i].data };
	return 0;
}

int snapvm_write(struct snapvm_writer *w, struct ukvm_vm *vm, char *err, size_t errlen)
{
	int r;
	uint64_t npages = vm->mem.size / SNAP_PAGE;
	if ((r = snapvm_touched(w, vm, npages, err, errlen)))
		return r;
	long next = snap_extents(w->vec, npages, w->extents, SNAP_MAX_EXTENTS);
	if (next < 0) {
		snprintf(err, errlen, "guest memory too fragmented (more than %u extents)", SNAP_MAX_EXTENTS);
		return (int)next;
	}
	struct snap_meta *m = (struct snap_meta *)(w->meta + sizeof(struct snap_hdr));
	m->nextents = (uint32_t)next;
	size_t meta_len = snap_meta_len(m->nmsrs, (uint32_t)next);
	memcpy((struct snap_msr *)(m + 1) + m->nmsrs, w->extents, (size_t)next * sizeof(struct snap_extent));
	snap_seal(w->meta, meta_len, vm->mem.size);

	uint64_t mem_off = snap_mem_off(meta_len);
	/* The file's size first: pages never written stay holes, read back as zeros. */
	if (ftruncate(w->fd, 0) < 0 || ftruncate(w->fd, (off_t)(mem_off + vm->mem.size)) < 0) {
		snprintf(err, errlen, "sizing the snapshot: %s", strerror(errno));
		return -errno;
	}
	for (long i = 0; i < next; i++) {
		const struct snap_extent *e = &w->extents[i];
		if ((r = snapvm_pwrite(w->fd, vm->mem.base + e->gpa, e->npages * SNAP_PAGE, mem_off + e->gpa)))
			goto fail_write;
	}
	/*
	 * The guest was held, but a device's completion may have run meanwhile
	 * (a NIC's read filled by a frame): then the rings written may be ahead
	 * of the device state saved. No valid header then; the caller retries.
	 */
	for (unsigned i = 0; i < m->ndevs && i < vm->ndevs; i++) {
		struct mmio_dev *d = vm->devs[i].d;
		bool moved = false;
		pthread_mutex_lock(&d->lock);
		for (unsigned q = 0; q < MMIO_MAX_QUEUES; q++)
			moved |= d->q[q].ready && d->q[q].vq.used_idx != m->devs[i].tr.q[q].used_idx;
		pthread_mutex_unlock(&d->lock);
		if (moved) {
			snprintf(err, errlen, "%s completed a request while the snapshot was written", d->tag);
			return -EAGAIN;
		}
	}
	/* The header last: a snapshot cut short by a crash has no valid header. */
	if ((r = snapvm_pwrite(w->fd, w->meta, sizeof(struct snap_hdr) + meta_len, 0)))
		goto fail_write;
	return 0;
fail_write:
	snprintf(err, errlen, "writing the snapshot: %s", strerror(-r));
	return r;
}

int snapvm_save(struct snapvm_writer *w, struct ukvm_vm *vm, uint64_t wait_gpa, char *err, size_t errlen)
{
	int r = snapvm_capture(w, vm, wait_gpa, 0, err, errlen); /* in a WAIT: the buffer was drained before it */
	return r ? r : snapvm_write(w, vm, err, errlen);
}

/* ------------------------------------------------------------- restoring */

void snapvm_free(struct ukvm_vm *vm)
{
	free(vm->snap);
	vm->snap = NULL;
}

/* Reads and validates the header and metadata into a malloc'd *buf. Returns 0 or -errno with one line. */
static int snapvm_read(int fd, uint64_t size, uint8_t **buf, struct snap_view *v, char *err, size_t errlen)
{
	struct snap_hdr h;
	size_t len = size < sizeof(h) ? (size_t)size : sizeof(h);
	*buf = NULL;
	if (pread(fd, &h, len, 0) != (ssize_t)len) {
		snprintf(err, errlen, "cannot read the snapshot: %s", strerror(errno));
		return -EIO;
	}
	int r = snap_parse(&h, len, size, v, err, errlen);
	if (r != -ENODATA)
		return r ? r : -EINVAL; /* the header alone can never hold the metadata */
	len = sizeof(h) + h.meta_len; /* bounded by snap_parse before -ENODATA */
	if (!(*buf = malloc(len))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (pread(fd, *buf, len, 0) != (ssize_t)len) {
		snprintf(err, errlen, "cannot read the snapshot: %s", strerror(errno));
		return -EIO;
	}
	return snap_parse(*buf, len, size, v, err, errlen);
}

/* The restored vCPU: state from the metadata, CPUID from this host (checked against the snapshot's). */
static int snapvm_vcpu(struct ukvm_vm *vm, const struct snap_view *v, char *err, size_t errlen)
{
	const struct snap_meta *m = v->meta;
	struct kvm_msr_entry *msrs = calloc(m->nmsrs ? m->nmsrs : 1, sizeof(*msrs));
	if (!msrs) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	struct vcpu_state st = {
		.flags = (m->vcpu_flags & SNAP_VCPU_XSAVE ? VCPU_STATE_XSAVE : 0) |
			 (m->vcpu_flags & SNAP_VCPU_XCRS ? VCPU_STATE_XCRS : 0) |
			 (m->vcpu_flags & SNAP_VCPU_LAPIC ? VCPU_STATE_LAPIC : 0),
		.regs = m->regs, .sregs = m->sregs, .fpu = m->fpu, .xcrs = m->xcrs,
		.events = m->events, .pv_state = m->pv ? m->pv_state : 0, .nmsrs = m->nmsrs, .msrs = msrs,
	};
	memcpy(st.xsave.region, m->xsave, sizeof(m->xsave));
	memcpy(st.lapic.regs, m->lapic, sizeof(m->lapic));
	for (uint32_t i = 0; i < m->nmsrs; i++)
		msrs[i] = (struct kvm_msr_entry){ .index = v->msrs[i].index, .data = v->msrs[i].data };
	int r = vcpu_set_cpuid(&vm->vcpu, vm->host->cpuid, err, errlen);
	if (!r)
		r = vcpu_state_set(&vm->vcpu, &st, err, errlen);
	free(msrs);
	return r;
}

/* The config's devices against the snapshot's: same count and kinds, disks of the same size; then their state. */
static int snapvm_devices(struct ukvm_vm *vm, const struct snap_meta *m, char *err, size_t errlen)
{
	unsigned have[2] = { 0, 0 }, given[2] = { 0, 0 }; /* disks, NICs */
	for (unsigned i = 0; i < m->ndevs; i++)
		have[m->devs[i].kind == DEV_KIND_NET]++;
	for (unsigned i = 0; i < vm->ndevs; i++)
		given[vm->devs[i].cls->nic != NULL]++;
	if (have[0] != given[0] || have[1] != given[1]) {
		snprintf(err, errlen, "%s: the snapshot has %u disks and %u NICs, %u and %u given", vm->cfg.restore,
			 have[0], have[1], given[0], given[1]);
		return -EINVAL;
	}
	for (unsigned i = 0; i < vm->ndevs; i++) {
		const struct vm_dev *d = &vm->devs[i];
		int r;
		if (!d->cls->load) {
			snprintf(err, errlen, "%s: a %s device cannot be restored", d->d->tag, d->cls->name);
			return -EINVAL;
		}
		if ((r = d->cls->load(d->d, &m->devs[i], err, errlen)) || (r = mmio_load(d->d, &m->devs[i].tr, err, errlen)))
			return r;
	}
	return 0;
}

/*
 * Copies the snapshot's pages into the VM's private memory now, up to
 * SNAPVM_POPULATE_MAX bytes. On PVM a page first touched by the guest costs
 * a host fault (and for a write, the copy) plus a shadow-MMU fault, and the
 * shadow MMU maps present neighbours with one fault only when the host pages
 * are there. bench-snap, snapfn (~170 pages touched), medians of 40, without
 * and with: ukvm_create 0.62 -> 0.84 ms, restore-to-running 1.17 -> 1.16 ms
 * (the guest's own faults move into ukvm_create), restore-to-exit 53.8 ->
 * 52.7 ms (MADV_POPULATE_READ instead: no gain). Copying on a thread of
 * its own, alongside the vCPU's setup and the guest's first steps, was
 * slower on this 2-core host (three alternating rounds of 25: hello fn
 * restore-to-exit 2.7-3.8 ms against 1.9-2.0 ms here). Past the cap (a large working set) the rest is left to faults:
 * copying what the guest may never touch again would cost more than it saves.
 */
#define SNAPVM_POPULATE_MAX (8ull << 20)

static void snapvm_populate(struct ukvm_vm *vm, const struct snap_view *v)
{
	uint64_t left = SNAPVM_POPULATE_MAX;
	for (uint32_t i = 0; left && i < v->meta->nextents; i++) {
		uint64_t len = v->extents[i].npages * SNAP_PAGE;
		len = len < left ? len : left;
		(void)madvise(vm->mem.base + v->extents[i].gpa, len, MADV_POPULATE_WRITE); /* only a hint */
		left -= len;
	}
}

/*
 * What snapvm_populate copies, as ranges for the host's restore shells
 * (hostpool.h), which copy them in ahead, off the restoring caller's path:
 * the first max extents, within SNAPVM_POPULATE_MAX. Returns how many.
 */
static unsigned snapvm_ranges(const struct snap_view *v, struct hostpool_range *out, unsigned max)
{
	uint64_t left = SNAPVM_POPULATE_MAX;
	unsigned n = 0;
	for (uint32_t i = 0; left && n < max && i < v->meta->nextents; i++) {
		uint64_t len = v->extents[i].npages * SNAP_PAGE;
		len = len < left ? len : left;
		out[n++] = (struct hostpool_range){ v->extents[i].gpa, len };
		left -= len;
	}
	return n;
}

int snapvm_restore(struct ukvm_vm *vm, enum ukvm_error *kind, char *err, size_t errlen)
{
	const char *path = vm->cfg.restore;
	uint8_t *buf = NULL;
	struct snap_view v;
	struct stat st;
	char why[200];
	int r;

	*kind = UKVM_ERR_IMAGE;
	if (!(vm->snap = calloc(1, sizeof(*vm->snap)))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open snapshot: %s", path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = -EINVAL;
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if ((r = snapvm_read(fd, (uint64_t)st.st_size, &buf, &v, why, sizeof(why)))) {
		snprintf(err, errlen, "%s: %s", path, why);
		goto out;
	}
	const struct snap_meta *m = v.meta;
	uint64_t size = v.hdr->mem_size;
	if (vm->cfg.mem_size && size > vm->cfg.mem_size) {
		r = -EINVAL;
		snprintf(err, errlen, "%s: needs %llu MiB of guest memory, above the limit of %llu MiB", path,
			 (unsigned long long)(size >> 20), (unsigned long long)(vm->cfg.mem_size >> 20));
		goto out;
	}
	*kind = UKVM_ERR_CONFIG;
	r = -EINVAL;
	if (m->pv && vm->cfg.pv == UKVM_PV_OFF) {
		snprintf(err, errlen, "%s: taken in pvm-pv mode, and --pv off was asked", path);
		goto out;
	}
	if (!m->pv && vm->cfg.pv == UKVM_PV_ON) {
		snprintf(err, errlen, "%s: taken in the base mode, and --pv on was asked", path);
		goto out;
	}
	vm->cfg.mem_size = size;
	/* A restore shell of this snapshot, mapped and copied in ahead by the host's pool (hostpool.h), if one is ready. */
	struct host_shell shell;
	bool ready = hostpool_take_snap(vm->cfg.host, path, &st, v.hdr->crc, v.hdr->mem_off, size, &shell);
	if (ready)
		vm_adopt_shell(vm, &shell);
	else if ((r = vm_kvm(vm, fd, v.hdr->mem_off, kind, err, errlen)))
		goto out;
	*kind = UKVM_ERR_KVM;
	vm->pv = m->pv;
	if (vm->pv && !vcpu_pv_detect(&vm->vcpu)) {
		r = -ENOTSUP;
		snprintf(err, errlen, "%s: taken in pvm-pv mode: this KVM has no pvm-pv interface", path);
		goto out;
	}
	uint32_t cpu[SNAP_CPU_WORDS];
	uint64_t xcr0;
	snapvm_cpu_words(vm->host->cpuid, cpu, &xcr0);
	if ((r = snap_check_host(m, cpu, xcr0, vcpu_tsc_khz(&vm->vcpu), why, sizeof(why))) ||
	    (r = snap_check_msrs(&v, vm->host->msrs, vm->host->nmsrs, why, sizeof(why)))) {
		*kind = UKVM_ERR_IMAGE;
		snprintf(err, errlen, "%s: %s", path, why);
		goto out;
	}
	vm->phase_ns[UKVM_PHASE_KVM_READY] = vm_now_ns();
	if (!ready)
		snapvm_populate(vm, &v);
	if ((r = snapvm_vcpu(vm, &v, err, errlen)))
		goto out;
	if ((r = vmdev_create(vm, kind, err, errlen)))
		goto out;
	*kind = UKVM_ERR_CONFIG;
	if ((r = snapvm_devices(vm, m, err, errlen)))
		goto out;
	uart_init(&vm->uart, vm->cfg.console_fd);
	vm->uart = (struct uart){ .fd = vm->cfg.console_fd, .ier = m->uart[0], .lcr = m->uart[1], .mcr = m->uart[2],
				  .scr = m->uart[3], .dll = m->uart[4], .dlm = m->uart[5] };
	*kind = UKVM_ERR_INTERNAL;
	vm->snap->wait_gpa = m->wait_gpa;
	vm->snap->deferred = (m->vcpu_flags & SNAP_VCPU_RUNNING) != 0;
	vm->snap->conbuf_sent = m->conbuf_sent;
	vm_console_tty(vm, vm->snap->tty);
	if (getrandom(vm->snap->seed, sizeof(vm->snap->seed), 0) != sizeof(vm->snap->seed)) {
		r = -errno;
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		goto out;
	}
	vm->phase_ns[UKVM_PHASE_IMAGE_LOADED] = vm_now_ns();
	if (!ready) {
		/* From now on the host keeps restore shells of this snapshot ready (a no-op without its pool). */
		struct hostpool_range ranges[HOSTPOOL_SNAP_RANGES];
		hostpool_note_snap(vm->cfg.host, path, &st, v.hdr->crc, v.hdr->mem_off, size, ranges,
				   snapvm_ranges(&v, ranges, HOSTPOOL_SNAP_RANGES));
	}
	r = 0;
out:
	free(buf);
	close(fd); /* the mapping keeps the file */
	return r;
}

/* Answers the WAIT block at gpa (checked: in RAM) with UKVM_WAIT_RESTORED, the host's realtime now, the seed and the console. */
static bool snapvm_answer(struct ukvm_vm *vm, uint64_t gpa)
{
	struct ukvm_wait *p = mem_ptr(&vm->mem, gpa, sizeof(*p));
	if (!p)
		return false;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	int64_t ret = UKVM_WAIT_RESTORED;
	memcpy(&p->realtime_ns, &now, sizeof(now));
	memcpy(p->seed, vm->snap->seed, sizeof(p->seed));
	memcpy(p->tty, vm->snap->tty, sizeof(p->tty));
	memcpy(&p->ret, &ret, sizeof(ret));
	return true;
}

/*
 * A snapshot taken running: the restore block gets the host's realtime
 * with the vCPU's TSC read right after it, the seed and the console, and
 * gen + 1 (the guest acts on it at its next syscall, random draw or vDSO
 * realtime read; an older kernel at its first WAIT, answered with the same
 * seed). Nothing when the TSC cannot be read: the first WAIT answers then.
 */
_Static_assert(sizeof(struct ukvm_restore) <= UKVM_RESTORE_SIZE, "the restore block outgrew its place");

static void snapvm_answer_block(struct ukvm_vm *vm)
{
	uint8_t *p = mem_ptr(&vm->mem, UKVM_RESTORE_GPA, sizeof(struct ukvm_restore));
	struct ukvm_restore r;
	struct timespec ts;
	if (!p)
		return;
	memcpy(&r.gen, p + offsetof(struct ukvm_restore, gen), sizeof(r.gen)); /* the guest's: any value */
	clock_gettime(CLOCK_REALTIME, &ts);
	if (vcpu_get_tsc(&vm->vcpu, &r.tsc))
		return;
	r.realtime_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	memcpy(r.seed, vm->snap->seed, sizeof(r.seed));
	memcpy(r.tty, vm->snap->tty, sizeof(r.tty));
	r.gen++;
	memcpy(p, &r, sizeof(r));
}

void snapvm_resume(struct ukvm_vm *vm)
{
	if (!vm->snap)
		return;
	if (vm->snap->deferred)
		snapvm_answer_block(vm);
	else
		(void)snapvm_answer(vm, vm->snap->wait_gpa); /* in RAM: snap_parse checked it against this VM's memory */
}

uint64_t snapvm_conbuf_sent(const struct ukvm_vm *vm)
{
	return vm->snap ? vm->snap->conbuf_sent : 0;
}

bool snapvm_wait_restored(struct ukvm_vm *vm, uint64_t gpa)
{
	if (!vm->snap || !vm->snap->deferred || !snapvm_answer(vm, gpa))
		return false;
	vm->snap->deferred = false;
	return true;
}
