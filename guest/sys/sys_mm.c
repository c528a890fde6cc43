/*
 * sys_mm.c: the app's memory syscalls (brk, mmap, munmap, mprotect, mremap,
 * madvise, msync) on the physical page allocator, and arch_prctl. One address
 * space identity-mapped RWX: a mapping is a set of pages owned by the app
 * (PMEM_APP), its address is its physical address. A shared mapping of a
 * memory file is the file's own pages (guest/fs/regdata.c), kept in a list
 * of shares here.
 */
#include <asm-generic/errno.h>
#include <asm/prctl.h>
#include <linux/mman.h>
#include <string.h>

#include "arch.h"
#include "boot.h"
#include "fs.h"
#include "k.h"
#include "ptab.h"
#include "sys.h"

#define MM_PAGE PMEM_PAGE

static uint64_t mm_brk_start, mm_brk_cur, mm_brk_top; /* top: end of the pages held */

void sys_mm_brk_init(uint64_t start)
{
	mm_brk_start = mm_brk_cur = mm_brk_top = start;
}

/* Page count of len rounded up, or 0 when len is 0 or absurd. */
static uint64_t mm_pages(uint64_t len)
{
	if (len == 0 || len > UINT64_MAX - MM_PAGE)
		return 0;
	return (len + MM_PAGE - 1) / MM_PAGE;
}

/* True when [addr, addr + npages pages) is inside RAM (no overflow). */
static bool mm_in_ram(uint64_t addr, uint64_t npages)
{
	return addr < k_pages.size && npages <= (k_pages.size - addr) / MM_PAGE;
}

/* The protection class of PROT_* bits (x86: write implies read, exec is read). */
static enum ptab_prot mm_prot_class(long prot)
{
	return (prot & PROT_WRITE) ? PTAB_RW : (prot & (PROT_READ | PROT_EXEC)) ? PTAB_RO : PTAB_NONE;
}

/*
 * Makes the app's pages in [addr, addr + np pages) RW again before the
 * kernel writes, zeroes or frees them (a freed page may become anyone's).
 * Other pages (the main stack's guard, the kernel's) keep theirs.
 */
static void mm_app_rw(uint64_t addr, uint64_t np)
{
	bool changed = false;

	if (!ptab_active())
		return;
	for (uint64_t i = 0; i < np; i++) {
		uint64_t a = addr + i * MM_PAGE;
		if (ptab_prot_of(a) != PTAB_RW && pmem_range_is(&k_pages, a, MM_PAGE, PMEM_BIT(PMEM_APP)))
			ptab_protect(a, 1, PTAB_RW, &changed); /* RW never needs a new table: cannot fail */
	}
	if (changed)
		ptab_flush();
}

/* Gives the app's fresh pages [addr, addr + np pages) protection p: 0 or -ENOMEM. One flush for the batch. */
static int mm_protect(uint64_t addr, uint64_t np, enum ptab_prot p)
{
	bool changed = false;

	if (p == PTAB_RW && !ptab_active())
		return 0;
	int rc = ptab_protect(addr, np, p, &changed);
	if (changed)
		ptab_flush();
	return rc;
}

/*
 * Shared mappings of memory files. A file page lives at one address, so
 * two mappings of the same file pages are the same address range (Linux
 * would place the second elsewhere): a record counts its layers, the
 * mappings made of that range and not yet unmapped, and each layer holds
 * one pin of the file's pages (fs_reg_map). munmap and shmdt take one layer
 * away. Records are sorted by address and never overlap.
 */
struct mm_share {
	struct mm_share *next;
	uint64_t addr, np, pgoff;
	uint32_t layers;
	struct fs_node *node; /* a reference per record: the pages live as long as a mapping */
};
static struct mm_share *mm_shares;

static uint64_t mm_share_end(const struct mm_share *m)
{
	return m->addr + m->np * MM_PAGE;
}

/* The share holding addr, or NULL and in *next the lowest share start above addr (UINT64_MAX: none). */
static struct mm_share *mm_share_at(uint64_t addr, uint64_t *next)
{
	*next = UINT64_MAX;
	for (struct mm_share *m = mm_shares; m; m = m->next) {
		if (addr >= m->addr && addr < mm_share_end(m))
			return m;
		if (m->addr > addr) {
			*next = m->addr;
			break;
		}
	}
	return NULL;
}

/* True when every page of [addr, end) is the app's or a share's (what mprotect, msync, madvise accept). */
static bool mm_mapped(uint64_t addr, uint64_t end)
{
	while (addr < end) {
		uint64_t next;
		struct mm_share *m = mm_share_at(addr, &next);
		if (m) {
			addr = mm_share_end(m);
			continue;
		}
		uint64_t to = next < end ? next : end;
		if (!pmem_range_is(&k_pages, addr, to - addr, PMEM_BIT(PMEM_APP)))
			return false;
		addr = to;
	}
	return true;
}

/* True when no page of [addr, end) is mapped: free memory only, no share. */
static bool mm_free(uint64_t addr, uint64_t end)
{
	uint64_t next;
	if (mm_share_at(addr, &next) || next < end)
		return false;
	return pmem_range_is(&k_pages, addr, end - addr, PMEM_FREE_MASK);
}

/* Makes x a record boundary (splits the record strictly around it): 0 or -ENOMEM. */
static int mm_share_split(uint64_t x)
{
	uint64_t next;
	struct mm_share *m = mm_share_at(x, &next);
	if (!m || m->addr == x)
		return 0;
	struct mm_share *t = k_malloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	*t = *m;
	t->addr = x;
	t->np = (mm_share_end(m) - x) / MM_PAGE;
	t->pgoff = m->pgoff + (x - m->addr) / MM_PAGE;
	fs_node_get(t->node);
	m->np = (x - m->addr) / MM_PAGE;
	m->next = t;
	return 0;
}

/*
 * Adds a layer over [addr, end), whose pages the caller pinned once (n's
 * pages from pgoff on): existing records there gain one, the gaps get new
 * records. 0 or -ENOMEM (then nothing is recorded; splits are harmless).
 */
static int mm_share_add(struct fs_node *n, uint64_t addr, uint64_t end, uint64_t pgoff)
{
	if (mm_share_split(addr) || mm_share_split(end))
		return -ENOMEM;
	/* The gaps need records: all allocated first, so a failure changes nothing. */
	struct mm_share *spare = NULL;
	for (uint64_t a = addr; a < end;) {
		uint64_t next;
		struct mm_share *m = mm_share_at(a, &next);
		if (m) {
			a = mm_share_end(m);
			continue;
		}
		struct mm_share *g = k_malloc(sizeof(*g));
		if (!g) {
			while (spare) {
				g = spare->next;
				k_free(spare);
				spare = g;
			}
			return -ENOMEM;
		}
		g->next = spare;
		spare = g;
		a = next < end ? next : end;
	}
	struct mm_share **pp = &mm_shares;
	for (uint64_t a = addr; a < end;) {
		while (*pp && mm_share_end(*pp) <= a)
			pp = &(*pp)->next;
		struct mm_share *m = *pp;
		if (m && m->addr == a) {
			m->layers++;
			a = mm_share_end(m);
			continue;
		}
		uint64_t to = m && m->addr < end ? m->addr : end;
		struct mm_share *g = spare;
		spare = g->next;
		*g = (struct mm_share){ .next = m, .addr = a, .np = (to - a) / MM_PAGE,
					.pgoff = pgoff + (a - addr) / MM_PAGE, .layers = 1, .node = n };
		fs_node_get(n);
		*pp = g;
		a = to;
	}
	return 0;
}

/* Takes one layer off the shares in [addr, end) (only n's when n is not NULL): 0 or -ENOMEM (nothing changed). */
static int mm_share_sub(uint64_t addr, uint64_t end, const struct fs_node *only)
{
	if (mm_share_split(addr) || mm_share_split(end))
		return -ENOMEM;
	struct mm_share **pp = &mm_shares;
	while (*pp) {
		struct mm_share *m = *pp;
		if (m->addr >= end)
			break;
		if (m->addr < addr || (only && m->node != only)) {
			pp = &m->next;
			continue;
		}
		fs_reg_unmap(m->node, m->pgoff, m->np);
		if (--m->layers) {
			pp = &m->next;
			continue;
		}
		*pp = m->next;
		fs_node_put(m->node);
		k_free(m);
	}
	return 0;
}

static int mm_unshare(uint64_t addr, uint64_t end)
{
	return mm_share_sub(addr, end, NULL);
}

/*
 * MAP_SHARED of a memory file: the mapping is the file's pages [off, off + np
 * pages) (past EOF too, as Linux allows). fixed: at addr exactly (the app's
 * own pages there are replaced). The address or -errno.
 */
static long mm_map_shared(struct fs_node *n, uint64_t addr, uint64_t np, uint64_t off, bool fixed, bool noreplace)
{
	uint64_t pgoff = off / MM_PAGE, at = 0;
	int rc;

	if (fixed && fs_reg_where(n, pgoff, np) != addr) {
		/* The run moves to addr: take the app's pages there and hand them to the file. */
		if (!mm_in_ram(addr, np) || (noreplace && !pmem_range_is(&k_pages, addr, np * MM_PAGE, PMEM_FREE_MASK)))
			return noreplace ? -EEXIST : -ENOMEM;
		if (!noreplace)
			mm_app_rw(addr, np);
		rc = pmem_claim(&k_pages, addr, np, PMEM_APP, !noreplace, true);
		if (!rc)
			rc = pmem_adopt(&k_pages, addr, np, PMEM_BIT(PMEM_APP), PMEM_KERNEL);
		if (rc)
			return -ENOMEM;
		at = addr;
	}
	rc = fs_reg_map(n, pgoff, np, at, &addr);
	if (!rc && mm_share_add(n, addr, addr + np * MM_PAGE, pgoff)) {
		fs_reg_unmap(n, pgoff, np);
		rc = -ENOMEM;
		at = 0; /* the pages are the file's now: it frees them */
	}
	if (rc) {
		if (at)
			pmem_free(&k_pages, at, np, PMEM_KERNEL);
		return rc;
	}
	return (long)addr;
}

long sys_mm_share(struct fs_node *n, uint64_t addr, uint64_t np, bool fixed, bool replace)
{
	if (fixed) {
		if ((addr & (MM_PAGE - 1)) || !mm_in_ram(addr, np))
			return -EINVAL;
		if (!replace && !mm_free(addr, addr + np * MM_PAGE))
			return -EEXIST;
		long rc = mm_unshare(addr, addr + np * MM_PAGE);
		if (rc)
			return rc;
	}
	return mm_map_shared(n, addr, np, 0, fixed, false);
}

struct fs_node *sys_mm_share_node(uint64_t addr)
{
	uint64_t next;
	struct mm_share *m = mm_share_at(addr, &next);
	return m && m->addr == addr && m->pgoff == 0 ? m->node : NULL;
}

int sys_mm_unshare(const struct fs_node *n, uint64_t addr, uint64_t np)
{
	return mm_share_sub(addr, addr + np * MM_PAGE, n);
}

unsigned sys_mm_share_count(const struct fs_node *n)
{
	unsigned c = 0;
	for (struct mm_share *m = mm_shares; m; m = m->next)
		if (m->node == n && m->layers > c)
			c = m->layers;
	return c;
}

long sys_brk(SYS_ARGS)
{
	uint64_t want = (uint64_t)a0;

	if (want < mm_brk_start || want > k_pages.size)
		return (long)mm_brk_cur; /* Linux reports failure by returning the unchanged break */
	uint64_t top = (want + MM_PAGE - 1) & ~(MM_PAGE - 1);
	if (top > mm_brk_top) {
		if (pmem_claim(&k_pages, mm_brk_top, (top - mm_brk_top) / MM_PAGE, PMEM_APP, false, false))
			return (long)mm_brk_cur;
	} else if (top < mm_brk_top) {
		mm_app_rw(top, (mm_brk_top - top) / MM_PAGE);
		pmem_free(&k_pages, top, (mm_brk_top - top) / MM_PAGE, PMEM_APP);
	}
	mm_brk_top = top;
	mm_brk_cur = want;
	return (long)mm_brk_cur;
}

long sys_mmap(SYS_ARGS)
{
	uint64_t addr = (uint64_t)a0, len = (uint64_t)a1, off = (uint64_t)a5;
	long prot = a2, flags = a3;
	int fd = (int)a4;
	uint64_t np = mm_pages(len);
	int type = flags & MAP_TYPE;
	bool anon = flags & MAP_ANONYMOUS;
	int rc;

	if (np == 0 || (off & (MM_PAGE - 1)) || (type != MAP_PRIVATE && type != MAP_SHARED && type != MAP_SHARED_VALIDATE))
		return -EINVAL;
	if (!anon && type != MAP_PRIVATE) {
		struct fs_file *f = fs_fd_file(fd);
		if (!f || (f->flags & O_PATH))
			return -EBADF;
		if (fs_reg_is_mem(f->node)) {
			/* Linux's order: the fd must be readable, and writable for a writable share. */
			uint32_t acc = f->flags & O_ACCMODE;
			if (acc == O_WRONLY || ((prot & PROT_WRITE) && acc != O_RDWR))
				return -EACCES;
			bool fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
			if (fixed && ((addr & (MM_PAGE - 1)) || !mm_in_ram(addr, np)))
				return -EINVAL;
			if (flags & MAP_FIXED_NOREPLACE) {
				uint64_t next;
				if (mm_share_at(addr, &next) || next < addr + np * MM_PAGE)
					return -EEXIST;
			} else if (fixed) {
				long rc = mm_unshare(addr, addr + np * MM_PAGE);
				if (rc)
					return rc;
			}
			return mm_map_shared(f->node, addr, np, off, fixed, flags & MAP_FIXED_NOREPLACE);
		}
		/* Any other file (a disk, a device): a shared mapping would need write-back; read-only ones are copies. */
		if (prot & PROT_WRITE)
			return -ENODEV;
	}
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		if ((addr & (MM_PAGE - 1)) || !mm_in_ram(addr, np))
			return -EINVAL;
		/* MAP_FIXED may replace the app's own pages (they become fresh zero pages), nothing else. */
		bool replace = !(flags & MAP_FIXED_NOREPLACE);
		if (replace)
			mm_app_rw(addr, np);
		rc = pmem_claim(&k_pages, addr, np, PMEM_APP, replace, true);
		if (rc)
			return replace ? -ENOMEM : -EEXIST;
	} else if (addr && !(addr & (MM_PAGE - 1)) && mm_in_ram(addr, np) &&
		   pmem_claim(&k_pages, addr, np, PMEM_APP, false, false) == 0) {
		/* the hint was free: taken */
	} else if (pmem_alloc(&k_pages, np, PMEM_APP, &addr)) {
		return -ENOMEM;
	}
	if (!anon) {
		/* Private file mapping by copy; bytes past EOF stay zero. */
		long n = fs_fd_pread(fd, (void *)(uintptr_t)addr, len, off);
		if (n < 0) {
			pmem_free(&k_pages, addr, np, PMEM_APP);
			return n == -ESPIPE ? -ENODEV : n;
		}
	}
	/* Protections apply once the kernel is done writing the pages (the copy above). */
	if (mm_protect(addr, np, mm_prot_class(prot))) {
		mm_app_rw(addr, np);
		pmem_free(&k_pages, addr, np, PMEM_APP);
		return -ENOMEM;
	}
	return (long)addr;
}

long sys_munmap(SYS_ARGS)
{
	uint64_t addr = (uint64_t)a0, np = mm_pages((uint64_t)a1);

	if ((addr & (MM_PAGE - 1)) || np == 0 || np > (UINT64_MAX - addr) / MM_PAGE)
		return -EINVAL;
	if (addr >= k_pages.size)
		return 0; /* nothing mapped there */
	if (!mm_in_ram(addr, np))
		np = (k_pages.size - addr) / MM_PAGE;
	int rc = mm_unshare(addr, addr + np * MM_PAGE);
	if (rc)
		return rc;
	/* Only the app's pages: unmapping kernel or boot memory is a no-op, as for an unmapped range. */
	mm_app_rw(addr, np);
	return pmem_free(&k_pages, addr, np, PMEM_APP) ? -EINVAL : 0;
}

/*
 * Protections are not enforced: kernel and app share one RWX address space
 * (the hypervisor is the isolation boundary). Valid requests succeed so
 * programs that mprotect guard pages or RELRO work; PROT_NONE pages stay
 * accessible.
 */
/* mprotect/madvise range rules: page-aligned start, all pages the app's. 0 (np = 0 for an empty range) or -errno. */
static int mm_app_range(uint64_t addr, uint64_t len, uint64_t *np)
{
	*np = mm_pages(len);
	if (addr & (MM_PAGE - 1))
		return -EINVAL;
	if (len == 0)
		return 0;
	if (*np == 0 || !mm_in_ram(addr, *np) || !mm_mapped(addr, addr + *np * MM_PAGE))
		return -ENOMEM;
	return 0;
}

/*
 * Enforced on the app's own pages (a fault raises SIGSEGV as on Linux). A
 * share stays RW: its pages are the file's, which read() and write() reach
 * through the same addresses.
 */
long sys_mprotect(SYS_ARGS)
{
	uint64_t addr = (uint64_t)a0, np;
	long prot = a2;

	if (prot & ~(long)(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM | PROT_GROWSDOWN | PROT_GROWSUP) ||
	    (prot & (PROT_GROWSDOWN | PROT_GROWSUP)) == (PROT_GROWSDOWN | PROT_GROWSUP))
		return -EINVAL;
	int rc = mm_app_range(addr, (uint64_t)a1, &np);
	if (rc || np == 0)
		return rc;
	enum ptab_prot p = mm_prot_class(prot);
	bool changed = false;
	for (uint64_t a = addr, end = addr + np * MM_PAGE; a < end && !rc;) {
		uint64_t next;
		struct mm_share *m = mm_share_at(a, &next);
		if (m) {
			a = mm_share_end(m);
			continue;
		}
		uint64_t to = next < end ? next : end;
		if (p != PTAB_RW || ptab_active())
			rc = ptab_protect(a, (to - a) / MM_PAGE, p, &changed);
		a = to;
	}
	if (changed)
		ptab_flush(); /* one flush for the whole call */
	return rc;
}

bool sys_mm_mapped_at(uint64_t addr)
{
	addr &= ~(MM_PAGE - 1);
	return addr < k_pages.size && mm_mapped(addr, addr + MM_PAGE);
}

long sys_mremap(SYS_ARGS)
{
	uint64_t old = (uint64_t)a0, onp = mm_pages((uint64_t)a1), nnp = mm_pages((uint64_t)a2);
	long flags = a3;
	uint64_t addr;

	if ((old & (MM_PAGE - 1)) || onp == 0 || nnp == 0 || (flags & ~(long)(MREMAP_MAYMOVE | MREMAP_FIXED)))
		return -EINVAL;
	if (flags & MREMAP_FIXED)
		return -EINVAL; /* not supported: nothing in musl's malloc needs it */
	if (!mm_in_ram(old, onp) || !pmem_range_is(&k_pages, old, onp * MM_PAGE, PMEM_BIT(PMEM_APP)))
		return -EFAULT;
	if (nnp <= onp) {
		if (nnp < onp) {
			mm_app_rw(old + nnp * MM_PAGE, onp - nnp);
			pmem_free(&k_pages, old + nnp * MM_PAGE, onp - nnp, PMEM_APP);
		}
		return (long)old;
	}
	/* The mapping's protection (its first page's) goes with it to new pages. */
	enum ptab_prot p = ptab_prot_of(old);
	uint64_t tail = old + onp * MM_PAGE;
	if (mm_in_ram(tail, nnp - onp) && pmem_claim(&k_pages, tail, nnp - onp, PMEM_APP, false, false) == 0) {
		if (mm_protect(tail, nnp - onp, p)) {
			pmem_free(&k_pages, tail, nnp - onp, PMEM_APP);
			return -ENOMEM;
		}
		return (long)old; /* grown in place */
	}
	if (!(flags & MREMAP_MAYMOVE))
		return -ENOMEM;
	if (pmem_alloc(&k_pages, nnp, PMEM_APP, &addr))
		return -ENOMEM;
	if (mm_protect(addr, nnp, p)) {
		mm_app_rw(addr, nnp);
		pmem_free(&k_pages, addr, nnp, PMEM_APP);
		return -ENOMEM;
	}
	mm_app_rw(old, onp); /* the kernel reads it now, and frees it */
	bool ro = p != PTAB_RW;
	if (ro)
		mm_app_rw(addr, nnp);
	memcpy((void *)(uintptr_t)addr, (const void *)(uintptr_t)old, onp * MM_PAGE);
	if (ro)
		mm_protect(addr, nnp, p); /* tables exist already: cannot fail */
	pmem_free(&k_pages, old, onp, PMEM_APP);
	return (long)addr;
}

long sys_madvise(SYS_ARGS)
{
	uint64_t addr = (uint64_t)a0, np;
	long advice = a2;
	int rc = mm_app_range(addr, (uint64_t)a1, &np);

	if (rc || np == 0)
		return rc;
	/* After DONTNEED an anonymous private mapping reads as zeros; programs rely on it. A share reads its file again. */
	if (advice != MADV_DONTNEED)
		return 0;
	for (uint64_t a = addr, end = addr + np * MM_PAGE; a < end;) {
		uint64_t next;
		struct mm_share *m = mm_share_at(a, &next);
		if (m) {
			a = mm_share_end(m);
			continue;
		}
		uint64_t to = next < end ? next : end;
		/* A protected page is opened for the clearing and closed again. */
		for (uint64_t pg = a; pg < to; pg += MM_PAGE) {
			enum ptab_prot p = ptab_prot_of(pg);
			if (p != PTAB_RW)
				mm_protect(pg, 1, PTAB_RW);
			memset((void *)(uintptr_t)pg, 0, MM_PAGE);
			if (p != PTAB_RW)
				mm_protect(pg, 1, p);
		}
		a = to;
	}
	return 0;
}

long sys_msync(SYS_ARGS)
{
	uint64_t addr = (uint64_t)a0, np;
	long flags = a2;

	if (flags & ~(long)(MS_ASYNC | MS_INVALIDATE | MS_SYNC) || ((flags & MS_ASYNC) && (flags & MS_SYNC)))
		return -EINVAL;
	if ((uint64_t)a1 > UINT64_MAX - MM_PAGE)
		return -ENOMEM;
	/* The mapping is the file's memory: nothing to write back, only the range to check. */
	return mm_app_range(addr, (uint64_t)a1, &np);
}

/* A canonical 48-bit address: WRFSBASE faults on anything else. */
static bool mm_canonical(uint64_t a)
{
	return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

long sys_arch_prctl(SYS_ARGS)
{
	uint64_t v = (uint64_t)a1;

	switch (a0) {
	case ARCH_SET_FS:
		if (!mm_canonical(v))
			return -EPERM;
		k_wrfsbase(v);
		return 0;
	case ARCH_GET_FS:
		if (!k_user_ok((void *)(uintptr_t)v, sizeof(uint64_t)))
			return -EFAULT;
		*(uint64_t *)(uintptr_t)v = k_rdfsbase();
		return 0;
	case ARCH_SET_GS:
		if (!mm_canonical(v))
			return -EPERM;
		k_set_user_gs(v);
		return 0;
	case ARCH_GET_GS: {
		uint64_t g;
		if (!k_user_ok((void *)(uintptr_t)v, sizeof(uint64_t)))
			return -EFAULT;
		g = k_user_gs();
		*(uint64_t *)(uintptr_t)v = g;
		return 0;
	}
	default:
		return -EINVAL;
	}
}
