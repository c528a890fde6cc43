/* sbcache.c: seccomp filters built by libseccomp once per shape, then patched with each VM's fds and installed with one seccomp() call. */
#include "sbcache.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * Why: libseccomp builds a filter in ~100 us and its first load probes the
 * kernel (PLATFORM.md); the kernel's attach is ~53 us. A VM's filters
 * differ from the last VM's only in fd numbers. So a shape is built once
 * with sentinel values where the fds go, exported (seccomp_export_bpf), and
 * each VM gets a copy with its fds written over the sentinels.
 *
 * Exactness: the shape is built twice, with sentinels base_a + i and
 * base_b + i. The instructions that differ between the two are exactly
 * those that carry a sentinel; each must be a BPF_JEQ|BPF_K on sentinel i
 * in both, with equal jumps, and no other instruction of either may hold a
 * value in a sentinel range (a constant that happens to equal one). Else
 * the shape is refused and the VM's filter is built by libseccomp as
 * before. Sentinels are ordered as the fds they stand for and sit above 2,
 * as fds > 2 do, so libseccomp orders its comparisons the same way for both
 * (check_sandbox's "patched" case compares the programs byte for byte).
 */

struct sbcache_patch {
	uint32_t pos; /* instruction index */
	uint32_t idx; /* sentinel index: the value it takes is vals[idx] */
};

struct sbcache_entry {
	int *key; /* canonical key (sentinels of base_a) */
	unsigned nkey;
	unsigned nvals;
	struct sock_filter *prog;
	unsigned len;
	struct sbcache_patch *patch;
	unsigned npatch;
};

struct sbcache {
	uint32_t base_a, base_b;
	/* Published once with a release store, never changed after: readers need no lock (a forked child too). */
	_Atomic(struct sbcache_entry *) e[SBCACHE_SHAPES];
	atomic_ulong hits, shapes, refused;
};

struct sbcache *sbcache_new(uint32_t base_a, uint32_t base_b)
{
	struct sbcache *c = calloc(1, sizeof(*c));
	if (c) {
		c->base_a = base_a;
		c->base_b = base_b;
	}
	return c;
}

static void sbcache_entry_free(struct sbcache_entry *e)
{
	if (!e)
		return;
	free(e->key);
	free(e->prog);
	free(e->patch);
	free(e);
}

void sbcache_free(struct sbcache *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < SBCACHE_SHAPES; i++)
		sbcache_entry_free(atomic_load(&c->e[i]));
	free(c);
}

void sbcache_get_counts(const struct sbcache *c, struct sbcache_counts *out)
{
	*out = (struct sbcache_counts){ 0 };
	if (c) {
		out->hits = atomic_load(&c->hits);
		out->shapes = atomic_load(&c->shapes);
		out->refused = atomic_load(&c->refused);
	}
}

/* The program libseccomp writes for ctx f (released here): exported into a memfd (2.5.4 exports to an fd only). */
static int sbcache_export(void *f, struct sock_filter **prog, unsigned *len)
{
	*prog = NULL;
	int fd = memfd_create("ukvm-seccomp", MFD_CLOEXEC);
	int r = fd < 0 ? -errno : seccomp_export_bpf(f, fd);
	seccomp_release(f);
	off_t n = r ? 0 : lseek(fd, 0, SEEK_END);
	if (!r && (n <= 0 || n % sizeof(struct sock_filter) || n > BPF_MAXINSNS * (off_t)sizeof(struct sock_filter)))
		r = -EINVAL;
	if (!r && !(*prog = malloc((size_t)n)))
		r = -ENOMEM;
	if (!r && pread(fd, *prog, (size_t)n, 0) != n)
		r = -EIO;
	if (fd >= 0)
		close(fd);
	if (r) {
		free(*prog);
		*prog = NULL;
		return r;
	}
	*len = (unsigned)(n / sizeof(struct sock_filter));
	return 0;
}

static int sbcache_cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/*
 * s's key with every fd > 2 replaced by base + its rank among the distinct
 * fds > 2, and every process or thread id > 2 by base + (number of those
 * ranks) + its rank among the distinct ids: into canon (nkey ints). vals
 * (nkey ints) gets the value each sentinel stands for; returns how many.
 * Fds 0-2 and negative values stay literal (part of the shape).
 */
static unsigned sbcache_canon(const struct sbcache_shape *s, uint32_t base, int *canon, int *vals)
{
	unsigned rank[2] = { 0, 0 }; /* distinct fds, then distinct ids, each sorted in vals */
	for (int kind = 0; kind < 2; kind++) {
		int *v = vals + rank[0];
		unsigned n = 0;
		for (unsigned i = 0; i < s->nkey; i++)
			if (s->slot(s->key, i) == (kind ? SBCACHE_PID : SBCACHE_FD) && s->key[i] > 2)
				v[n++] = s->key[i];
		qsort(v, n, sizeof(int), sbcache_cmp_int);
		unsigned u = 0;
		for (unsigned i = 0; i < n; i++)
			if (!u || v[u - 1] != v[i])
				v[u++] = v[i];
		rank[kind] = u;
	}
	for (unsigned i = 0; i < s->nkey; i++) {
		int v = s->key[i];
		enum sbcache_slot k = s->slot(s->key, i);
		canon[i] = v;
		if (k != SBCACHE_LIT && v > 2) {
			const int *from = k == SBCACHE_FD ? vals : vals + rank[0];
			const int *at = bsearch(&v, from, k == SBCACHE_FD ? rank[0] : rank[1], sizeof(int), sbcache_cmp_int);
			canon[i] = (int)(base + (uint32_t)(at - vals));
		}
	}
	return rank[0] + rank[1];
}

/* A fresh libseccomp build of key, exported. */
static int sbcache_build(const struct sbcache_shape *s, const int *key, struct sock_filter **prog, unsigned *len)
{
	int r;
	void *f = s->build(key, s->nkey, &r);
	if (!f)
		return r ? r : -ENOMEM;
	if (r) {
		seccomp_release(f);
		return r;
	}
	return sbcache_export(f, prog, len);
}

static bool sbcache_in(uint32_t k, uint32_t base, unsigned n)
{
	return k >= base && k - base < n;
}

/*
 * Builds the shape of s (its canonical keys ca and cb, of bases a and b,
 * nvals sentinels) twice and locates the sentinels; 0 and *out, or -errno
 * (-ENOTUNIQ: they could not be located exactly, the shape is refused).
 */
static int sbcache_make(struct sbcache *c, const struct sbcache_shape *s, const int *ca, const int *cb,
			unsigned nvals, struct sbcache_entry **out)
{
	struct sock_filter *pa = NULL, *pb = NULL;
	unsigned la = 0, lb = 0;
	struct sbcache_entry *e = calloc(1, sizeof(*e));
	int r = e ? 0 : -ENOMEM;
	if (!r)
		r = sbcache_build(s, ca, &pa, &la);
	if (!r)
		r = sbcache_build(s, cb, &pb, &lb);
	if (!r && la != lb)
		r = -ENOTUNIQ;
	if (!r && !(e->patch = malloc(la * sizeof(*e->patch))))
		r = -ENOMEM;
	unsigned ina = 0, inb = 0;
	for (unsigned i = 0; !r && i < la; i++) {
		ina += sbcache_in(pa[i].k, c->base_a, nvals);
		inb += sbcache_in(pb[i].k, c->base_b, nvals);
		if (!memcmp(&pa[i], &pb[i], sizeof(pa[i])))
			continue;
		uint32_t ia = pa[i].k - c->base_a;
		if (pa[i].code != (BPF_JMP | BPF_JEQ | BPF_K) || pa[i].code != pb[i].code || pa[i].jt != pb[i].jt ||
		    pa[i].jf != pb[i].jf || !sbcache_in(pa[i].k, c->base_a, nvals) || pb[i].k - c->base_b != ia) {
			r = -ENOTUNIQ;
			break;
		}
		e->patch[e->npatch++] = (struct sbcache_patch){ .pos = i, .idx = ia };
	}
	/* Every value in a sentinel range is a sentinel: none is a constant of the filter's own. */
	if (!r && (ina != e->npatch || inb != e->npatch))
		r = -ENOTUNIQ;
	if (!r && !(e->key = malloc(s->nkey * sizeof(int))))
		r = -ENOMEM;
	if (r) {
		free(pa);
		free(pb);
		sbcache_entry_free(e);
		return r;
	}
	memcpy(e->key, ca, s->nkey * sizeof(int));
	e->nkey = s->nkey;
	e->nvals = nvals;
	e->prog = pa;
	e->len = la;
	free(pb);
	*out = e;
	return 0;
}

/* The kept shape of canonical key ca, or NULL. */
static struct sbcache_entry *sbcache_find(struct sbcache *c, const int *ca, unsigned nkey)
{
	for (unsigned i = 0; i < SBCACHE_SHAPES; i++) {
		struct sbcache_entry *e = atomic_load_explicit(&c->e[i], memory_order_acquire);
		if (!e)
			break;
		if (e->nkey == nkey && !memcmp(e->key, ca, nkey * sizeof(int)))
			return e;
	}
	return NULL;
}

/* Keeps e (a free place, or none: the caller frees it). Returns whether kept. */
static bool sbcache_keep(struct sbcache *c, struct sbcache_entry *e)
{
	for (unsigned i = 0; i < SBCACHE_SHAPES; i++) {
		struct sbcache_entry *none = NULL;
		/* release: the entry's contents before its pointer (pairs with sbcache_find's acquire) */
		if (atomic_compare_exchange_strong_explicit(&c->e[i], &none, e, memory_order_release,
							    memory_order_acquire))
			return true;
	}
	return false;
}

/*
 * s's program from c: 0 with *prog (malloc'd) and *len; -ENOTUNIQ when the
 * shape was refused; other -errno.
 */
static int sbcache_patched(struct sbcache *c, const struct sbcache_shape *s, struct sock_filter **prog, unsigned *len)
{
	int *buf = malloc(4 * (size_t)s->nkey * sizeof(int) + sizeof(int));
	if (!buf)
		return -ENOMEM;
	int *ca = buf, *cb = buf + s->nkey, *va = cb + s->nkey, *vb = va + s->nkey;
	unsigned nvals = sbcache_canon(s, c->base_a, ca, va);
	(void)sbcache_canon(s, c->base_b, cb, vb);
	int r = 0;
	struct sbcache_entry *e = sbcache_find(c, ca, s->nkey), *made = NULL;
	if (e) {
		atomic_fetch_add(&c->hits, 1);
	} else if ((r = sbcache_make(c, s, ca, cb, nvals, &made)) == 0) {
		atomic_fetch_add(&c->shapes, 1);
		e = made;
	} else if (r == -ENOTUNIQ) {
		atomic_fetch_add(&c->refused, 1);
	}
	if (e && !(*prog = malloc(e->len * sizeof(**prog))))
		r = -ENOMEM;
	if (e && !r) {
		memcpy(*prog, e->prog, e->len * sizeof(**prog));
		for (unsigned i = 0; i < e->npatch; i++)
			(*prog)[e->patch[i].pos].k = (uint32_t)va[e->patch[i].idx];
		*len = e->len;
	}
	if (made && !sbcache_keep(c, made))
		sbcache_entry_free(made);
	free(buf);
	return r;
}

/* Any failure of the kept path (a refused shape, no memfd) leaves the plain libseccomp build. */
int sbcache_prog(struct sbcache *c, const struct sbcache_shape *s, struct sock_filter **prog, unsigned *len)
{
	if (c && sbcache_patched(c, s, prog, len) == 0)
		return 0;
	return sbcache_build(s, s->key, prog, len);
}

int sbcache_install(struct sbcache *c, const struct sbcache_shape *s)
{
	struct sock_filter *prog;
	unsigned len;
	if (!c || sbcache_patched(c, s, &prog, &len)) {
		int r;
		void *f = s->build(s->key, s->nkey, &r);
		if (f && !r)
			r = seccomp_load(f);
		if (f)
			seccomp_release(f);
		return f ? r : r ? r : -ENOMEM;
	}
	int r = 0;
	/* As seccomp_load with libseccomp's defaults: no new privileges (SCMP_FLTATR_CTL_NNP), no flags. */
	struct sock_fprog fp = { .len = (unsigned short)len, .filter = prog };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp))
		r = -errno;
	free(prog);
	return r;
}
