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

/* A shared mapping of a memory file: np pages at addr are the file's pages from pgoff on. */
struct mm_share {
	struct mm_share *next;
	uint64_t addr, np, pgoff;
	struct fs_node *node; /* a reference: the pages live as long as the mapping */
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
		if (m->addr > addr && m->addr < *next)
			*next = m->addr;
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

/*
 * Drops one share's hold on each page of [addr, end). Shares may overlap: a
 * second mapping of a range already mapped is the same pages at the same
 * address, each mapping holding them once, so an unmap takes away one hold
 * and the other mapping keeps its pages pinned. 0 or -ENOMEM (a share cut in
 * the middle needs a second record; then nothing changed).
 */
static int mm_unshare(uint64_t addr, uint64_t end)
{
	while (addr < end) {
		uint64_t next;
		struct mm_share *m = mm_share_at(addr, &next);
		if (!m) {
			addr = next < end ? next : end;
			continue;
		}
		uint64_t mend = mm_share_end(m), e = end < mend ? end : mend;
		if (addr > m->addr && e < mend) {
			/* A middle cut: it covers all of [addr, end), so it is the only cut of this call. */
			struct mm_share *tail = k_malloc(sizeof(*tail));
			if (!tail)
				return -ENOMEM;
			fs_node_get(m->node);
			*tail = (struct mm_share){ .next = m->next, .addr = e, .np = (mend - e) / MM_PAGE,
						   .pgoff = m->pgoff + (e - m->addr) / MM_PAGE, .node = m->node };
			m->next = tail;
			m->np = (addr - m->addr) / MM_PAGE;
			fs_reg_unmap(m->node, m->pgoff + m->np, (e - addr) / MM_PAGE);
			return 0;
		}
		fs_reg_unmap(m->node, m->pgoff + (addr - m->addr) / MM_PAGE, (e - addr) / MM_PAGE);
		if (addr == m->addr && e == mend) {
			struct mm_share **pp = &mm_shares;
			while (*pp != m)
				pp = &(*pp)->next;
			*pp = m->next;
			fs_node_put(m->node);
			k_free(m);
		} else if (addr == m->addr) { /* the head goes */
			m->pgoff += (e - m->addr) / MM_PAGE;
			m->addr = e;
			m->np = (mend - e) / MM_PAGE;
		} else { /* the tail goes */
			m->np = (addr - m->addr) / MM_PAGE;
		}
		addr = e;
	}
	return 0;
}

/*
 * MAP_SHARED of a memory file: the mapping is the file's pages [off, off + np
 * pages) (past EOF too, as Linux allows). fixed: at addr exactly (the app's
 * own pages there are replaced). The address or -errno.
 */
static long mm_map_shared(struct fs_file *f, uint64_t addr, uint64_t np, uint64_t off, bool fixed, bool noreplace)
{
	struct fs_node *n = f->node;
	uint64_t pgoff = off / MM_PAGE, at = 0;
	struct mm_share *m = k_malloc(sizeof(*m));
	int rc;

	if (!m)
		return -ENOMEM;
	if (fixed && fs_reg_where(n, pgoff, np) != addr) {
		/* The run moves to addr: take the app's pages there and hand them to the file. */
		if (!mm_in_ram(addr, np) || (noreplace && !pmem_range_is(&k_pages, addr, np * MM_PAGE, PMEM_FREE_MASK))) {
			k_free(m);
			return noreplace ? -EEXIST : -ENOMEM;
		}
		rc = pmem_claim(&k_pages, addr, np, PMEM_APP, !noreplace, true);
		if (!rc)
			rc = pmem_adopt(&k_pages, addr, np, PMEM_BIT(PMEM_APP), PMEM_KERNEL);
		if (rc) {
			k_free(m);
			return -ENOMEM;
		}
		at = addr;
	}
	rc = fs_reg_map(n, pgoff, np, at, &addr);
	if (rc) {
		if (at)
			pmem_free(&k_pages, at, np, PMEM_KERNEL);
		k_free(m);
		return rc;
	}
	fs_node_get(n);
	*m = (struct mm_share){ .next = mm_shares, .addr = addr, .np = np, .pgoff = pgoff, .node = n };
	mm_shares = m;
	return (long)addr;
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
			return mm_map_shared(f, addr, np, off, fixed, flags & MAP_FIXED_NOREPLACE);
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

long sys_mprotect(SYS_ARGS)
{
	uint64_t np;
	return mm_app_range((uint64_t)a0, (uint64_t)a1, &np);
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
		if (nnp < onp)
			pmem_free(&k_pages, old + nnp * MM_PAGE, onp - nnp, PMEM_APP);
		return (long)old;
	}
	uint64_t tail = old + onp * MM_PAGE;
	if (mm_in_ram(tail, nnp - onp) && pmem_claim(&k_pages, tail, nnp - onp, PMEM_APP, false, false) == 0)
		return (long)old; /* grown in place */
	if (!(flags & MREMAP_MAYMOVE))
		return -ENOMEM;
	if (pmem_alloc(&k_pages, nnp, PMEM_APP, &addr))
		return -ENOMEM;
	memcpy((void *)(uintptr_t)addr, (const void *)(uintptr_t)old, onp * MM_PAGE);
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
		memset((void *)(uintptr_t)a, 0, to - a);
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
