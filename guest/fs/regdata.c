/*
 * regdata.c: the data of memory files in whole pages, so that a shared
 * mapping (sys_mm.c) maps the file's own pages: stores through the mapping
 * are what read() sees, and every mapping of a page is the same memory.
 *
 * A file keeps one entry per page: the page's identity address (0: a hole,
 * reading as zeros) with, in the low bits, how many mappings hold it. The
 * address space is identity-mapped, so a mapping must be one physically
 * contiguous run of the file's pages: mapping a run that is not contiguous
 * moves it first (copy into a fresh run), which is only possible while none
 * of its pages is mapped. Invariant: bytes past the file's size are zero in
 * every page no mapping holds (a mapping may scribble past EOF; its pages
 * are cleaned when the last mapping goes, and the gap is zeroed on growth).
 */
#include <string.h>
#include "k.h"
#include "fs.h"

#define RD_PAGE   PMEM_PAGE
#define RD_PINS   (RD_PAGE - 1) /* low bits of an entry: mappings holding the page */
#define RD_MAXPG  (FS_MAX_FILE / RD_PAGE)

static inline uint8_t *rd_addr(uint64_t e)
{
	return (uint8_t *)(uintptr_t)(e & ~RD_PINS);
}

static inline uint64_t rd_pins(uint64_t e)
{
	return e & RD_PINS;
}

/* Page count covering size bytes. */
static inline uint64_t rd_npages(uint64_t size)
{
	return (size + RD_PAGE - 1) / RD_PAGE;
}

/* Room for entries [0, want): 0 or -ENOSPC. want <= RD_MAXPG, so the byte count cannot overflow. */
static int rd_grow(struct fs_node *n, uint64_t want)
{
	if (want <= n->npg)
		return 0;
	uint64_t cap = n->npg ? n->npg : 8;
	while (cap < want)
		cap *= 2;
	uint64_t *pg = k_realloc(n->pg, cap * sizeof(*pg));
	if (!pg)
		return -ENOSPC;
	memset(pg + n->npg, 0, (cap - n->npg) * sizeof(*pg));
	n->pg = pg;
	n->npg = cap;
	return 0;
}

/* Fills the holes among pages [p0, p1) (p1 <= npg) with zeroed pages, in runs as long as memory allows. */
static int rd_fill(struct fs_node *n, uint64_t p0, uint64_t p1)
{
	uint64_t i = p0;
	while (i < p1) {
		if (n->pg[i]) {
			i++;
			continue;
		}
		uint64_t run = 1;
		while (i + run < p1 && !n->pg[i + run])
			run++;
		uint8_t *a = NULL;
		while (run && !(a = k_pages_alloc(run)))
			run /= 2; /* fragmented memory: smaller runs (a mapping moves them together later) */
		if (!a)
			return -ENOSPC;
		for (uint64_t k = 0; k < run; k++)
			n->pg[i + k] = (uint64_t)(uintptr_t)(a + k * RD_PAGE);
		i += run;
	}
	return 0;
}

/* Frees page i (unmapped) and leaves a hole. */
static void rd_drop(struct fs_node *n, uint64_t i)
{
	k_pages_free(rd_addr(n->pg[i]), 1);
	n->pg[i] = 0;
}

/* Copies the archive's bytes into pages of the file's own (the first write, truncate or shared map). */
static int rd_own(struct fs_node *n)
{
	if (!n->borrowed)
		return 0;
	uint64_t np = rd_npages(n->size);
	int rc = rd_grow(n, np);
	if (!rc)
		rc = rd_fill(n, 0, np);
	if (rc) {
		for (uint64_t i = 0; i < np && i < n->npg; i++)
			if (n->pg[i])
				rd_drop(n, i);
		return rc;
	}
	for (uint64_t i = 0; i < np; i++) {
		uint64_t len = n->size - i * RD_PAGE < RD_PAGE ? n->size - i * RD_PAGE : RD_PAGE;
		memcpy(rd_addr(n->pg[i]), n->data + i * RD_PAGE, len);
	}
	n->data = NULL;
	n->borrowed = false;
	return 0;
}

/* Zeroes [from, to) in the pages a mapping holds (the only ones that may hold bytes past EOF). */
static void rd_zero_mapped(struct fs_node *n, uint64_t from, uint64_t to)
{
	for (uint64_t i = from / RD_PAGE; i < n->npg && i * RD_PAGE < to; i++) {
		if (!rd_pins(n->pg[i]))
			continue;
		uint64_t s = i * RD_PAGE > from ? i * RD_PAGE : from;
		uint64_t e = (i + 1) * RD_PAGE < to ? (i + 1) * RD_PAGE : to;
		memset(rd_addr(n->pg[i]) + (s - i * RD_PAGE), 0, e - s);
	}
}

/*
 * A page nothing maps any more: gone when it lies wholly past EOF, else its
 * bytes past EOF are cleared (the invariant above).
 */
static void rd_settle(struct fs_node *n, uint64_t i)
{
	uint64_t start = i * RD_PAGE;
	if (start >= n->size)
		rd_drop(n, i);
	else if (n->size - start < RD_PAGE)
		memset(rd_addr(n->pg[i]) + (n->size - start), 0, RD_PAGE - (n->size - start));
}

long fs_reg_read(struct fs_node *n, void *buf, size_t len, uint64_t off)
{
	if (off >= n->size)
		return 0;
	uint64_t avail = n->size - off;
	if (len > avail)
		len = avail;
	if (n->borrowed) {
		memcpy(buf, n->data + off, len);
	} else {
		uint8_t *d = buf;
		for (uint64_t done = 0; done < len;) {
			uint64_t pos = off + done, i = pos / RD_PAGE, in = pos % RD_PAGE;
			uint64_t chunk = RD_PAGE - in < len - done ? RD_PAGE - in : len - done;
			if (i < n->npg && n->pg[i])
				memcpy(d + done, rd_addr(n->pg[i]) + in, chunk);
			else
				memset(d + done, 0, chunk);
			done += chunk;
		}
	}
	n->atime = k_clock_realtime_ns();
	return (long)len;
}

long fs_reg_write(struct fs_node *n, const void *buf, size_t len, uint64_t off)
{
	if (len == 0)
		return 0;
	if (off > FS_MAX_FILE || len > FS_MAX_FILE - off)
		return -EFBIG;
	uint64_t end = off + len;
	int rc = rd_own(n);
	if (!rc)
		rc = rd_grow(n, rd_npages(end));
	if (!rc)
		rc = rd_fill(n, off / RD_PAGE, rd_npages(end));
	if (rc)
		return rc;
	if (off > n->size)
		rd_zero_mapped(n, n->size, off);
	const uint8_t *s = buf;
	for (uint64_t done = 0; done < len;) {
		uint64_t pos = off + done, in = pos % RD_PAGE;
		uint64_t chunk = RD_PAGE - in < len - done ? RD_PAGE - in : len - done;
		memcpy(rd_addr(n->pg[pos / RD_PAGE]) + in, s + done, chunk);
		done += chunk;
	}
	if (end > n->size)
		n->size = end;
	fs_node_touch(n);
	return (long)len;
}

int fs_reg_truncate(struct fs_node *n, uint64_t size)
{
	if (size > FS_MAX_FILE)
		return -EFBIG;
	int rc = rd_own(n);
	if (rc)
		return rc;
	if (size > n->size) {
		rd_zero_mapped(n, n->size, size); /* holes read as zeros; only mapped pages may hold old bytes */
	} else if (size < n->size) {
		uint64_t old = n->size;
		n->size = size;
		/* Linux zeroes the cut page's tail; pages past EOF go unless mapped (those are zeroed). */
		for (uint64_t i = size / RD_PAGE; i < n->npg && i * RD_PAGE < old; i++) {
			if (!n->pg[i])
				continue;
			if (rd_pins(n->pg[i])) {
				uint64_t from = i * RD_PAGE > size ? 0 : size - i * RD_PAGE;
				memset(rd_addr(n->pg[i]) + from, 0, RD_PAGE - from);
			} else {
				rd_settle(n, i);
			}
		}
	}
	n->size = size;
	fs_node_touch(n);
	return 0;
}

uint64_t fs_reg_blocks(const struct fs_node *n)
{
	if (n->borrowed)
		return rd_npages(n->size);
	uint64_t c = 0;
	for (uint64_t i = 0; i < n->npg; i++)
		c += n->pg[i] != 0;
	return c;
}

void fs_reg_release(struct fs_node *n)
{
	for (uint64_t i = 0; i < n->npg; i++)
		if (n->pg[i])
			rd_drop(n, i);
	k_free(n->pg);
	n->pg = NULL;
	n->npg = 0;
}

/* The address of pages [p0, p0 + np) when all are there and contiguous in order, else 0. */
static uint64_t rd_contig(const struct fs_node *n, uint64_t p0, uint64_t np)
{
	if (p0 + np > n->npg || !n->pg[p0])
		return 0;
	uint64_t base = (uint64_t)(uintptr_t)rd_addr(n->pg[p0]);
	for (uint64_t k = 1; k < np; k++)
		if ((uint64_t)(uintptr_t)rd_addr(n->pg[p0 + k]) != base + k * RD_PAGE)
			return 0;
	return base;
}

uint64_t fs_reg_where(const struct fs_node *n, uint64_t pgoff, uint64_t np)
{
	if (n->borrowed || np == 0 || pgoff > RD_MAXPG || np > RD_MAXPG - pgoff)
		return 0;
	return rd_contig(n, pgoff, np);
}

int fs_reg_map(struct fs_node *n, uint64_t pgoff, uint64_t np, uint64_t want, uint64_t *addr)
{
	if (np == 0 || pgoff > RD_MAXPG || np > RD_MAXPG - pgoff)
		return -EOVERFLOW;
	int rc = rd_own(n);
	if (!rc)
		rc = rd_grow(n, pgoff + np);
	if (rc)
		return -ENOMEM;
	bool pinned = false;
	for (uint64_t k = 0; k < np; k++) {
		uint64_t e = n->pg[pgoff + k];
		if (rd_pins(e) == RD_PINS)
			return -ENOMEM; /* as many mappings of one page as an entry counts */
		pinned |= rd_pins(e) != 0;
	}
	uint64_t base = rd_contig(n, pgoff, np);
	if (want ? base != want : !base) {
		/* Move the run into one place: its pages' addresses are what mappings hold, so none may be mapped. */
		if (pinned)
			return -ENOMEM;
		uint8_t *dst = want ? (uint8_t *)(uintptr_t)want : k_pages_alloc(np);
		if (!dst)
			return -ENOMEM;
		for (uint64_t k = 0; k < np; k++) {
			uint64_t *e = &n->pg[pgoff + k];
			if (*e) {
				memcpy(dst + k * RD_PAGE, rd_addr(*e), RD_PAGE);
				k_pages_free(rd_addr(*e), 1);
			}
			*e = (uint64_t)(uintptr_t)(dst + k * RD_PAGE);
		}
		base = (uint64_t)(uintptr_t)dst;
	}
	for (uint64_t k = 0; k < np; k++)
		n->pg[pgoff + k]++;
	*addr = base;
	return 0;
}

void fs_reg_unmap(struct fs_node *n, uint64_t pgoff, uint64_t np)
{
	for (uint64_t k = 0; k < np && pgoff + k < n->npg; k++) {
		uint64_t i = pgoff + k;
		if (!rd_pins(n->pg[i]))
			continue;
		if (rd_pins(--n->pg[i]) == 0)
			rd_settle(n, i);
	}
}
