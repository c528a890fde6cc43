/*
 * sbcache.h: seccomp filters built once per shape and patched per VM. The
 * filters themselves (their rules) are vmm/sandbox.c's; this module only
 * keeps what libseccomp wrote for a shape and puts a VM's fds into it.
 */
#ifndef VMM_SBCACHE_H
#define VMM_SBCACHE_H

#include <linux/filter.h>
#include <stdint.h>

/*
 * A filter described as a flat array of ints, key, which sandbox.c turns
 * into libseccomp rules (build). slot says what each int is: a literal
 * (part of the shape: counts, flags, signals, fds 0-2, -1 for none), an fd,
 * or a process or thread id (SBCACHE_PID). Two keys whose literals are
 * equal and whose fds (> 2) are equal and ordered alike, and their ids too,
 * are one shape: libseccomp's program for one is the other's with the fd
 * and id constants swapped (it orders a chain's comparisons by value, hence
 * "ordered alike").
 */
enum sbcache_slot { SBCACHE_LIT, SBCACHE_FD, SBCACHE_PID };

struct sbcache_shape {
	const int *key;
	unsigned nkey;
	enum sbcache_slot (*slot)(const int *key, unsigned i);
	/* The filter key describes, as libseccomp builds it (seccomp.h's scmp_filter_ctx); NULL and -errno in *r. */
	void *(*build)(const int *key, unsigned nkey, int *r);
};

/* Shapes one cache keeps (a host's VMs have a handful: fd numbers in another order make another). */
#define SBCACHE_SHAPES 32

/* The sentinel bases sbcache_new uses: far above any fd (RLIMIT_NOFILE's ceiling is 2^30) and any pid (2^22). */
#define SBCACHE_BASE_A 0x7a5e0000u
#define SBCACHE_BASE_B 0x7b5e0000u

/* What a cache did, for tests and benchmarks. */
struct sbcache_counts {
	unsigned long hits;    /* filters installed from a kept shape */
	unsigned long shapes;  /* shapes built and kept */
	unsigned long refused; /* shapes whose sentinels could not be located exactly: built the plain way */
};

struct sbcache;

/*
 * A cache whose templates use sentinel values base_a + i and base_b + i
 * (sbcache.c: why two). sbcache_new(SBCACHE_BASE_A, SBCACHE_BASE_B) but in
 * tests that force a collision. NULL when out of memory. Lock-free and
 * safe to use from several threads and in a forked child.
 */
struct sbcache *sbcache_new(uint32_t base_a, uint32_t base_b);

/* Frees c and its shapes (no filter installed from it is affected). c may be NULL. */
void sbcache_free(struct sbcache *c);

void sbcache_get_counts(const struct sbcache *c, struct sbcache_counts *out);

/*
 * The BPF program the filter s would be: from c (patched from its shape,
 * built and kept when new) or, when c is NULL or the shape was refused,
 * built by libseccomp for s itself. *prog is malloc'd, *len instructions.
 * Returns 0 or -errno.
 */
int sbcache_prog(struct sbcache *c, const struct sbcache_shape *s, struct sock_filter **prog, unsigned *len);

/*
 * Installs filter s on the calling thread: from c with a plain
 * seccomp(SECCOMP_SET_MODE_FILTER) after PR_SET_NO_NEW_PRIVS, as
 * libseccomp's seccomp_load does; without c (or a refused shape) through
 * libseccomp. Returns 0 or -errno.
 */
int sbcache_install(struct sbcache *c, const struct sbcache_shape *s);

#endif
