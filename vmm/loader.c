/* loader.c: the monitor's image loader: elf_parse() plus the boot contract's own rules, one-line rejections. */
#include "loader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOADER_MAX_FILE (1ull << 30)  /* an image is a kernel plus an app: far below this */
#define LOADER_MAX_SYMS (1u << 20)    /* bounds host memory spent on a hostile symtab */
#define LOADER_ALIAS_END (2ull << 30) /* the UKVM_KERNEL_VBASE alias covers 2 GiB */

static int loader_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int loader_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* The header field an elf_parse() error is about, for the message. */
static const char *loader_elf_field(enum elf_err e)
{
	switch (e) {
	case ELF_E_SHORT: return "file size";
	case ELF_E_MAGIC: case ELF_E_CLASS: case ELF_E_DATA: return "e_ident";
	case ELF_E_VERSION: return "e_version";
	case ELF_E_MACHINE: return "e_machine";
	case ELF_E_TYPE: return "e_type";
	case ELF_E_EHSIZE: return "e_ehsize";
	case ELF_E_PHENTSIZE: return "e_phentsize";
	case ELF_E_PHNUM: return "e_phnum";
	case ELF_E_PHOFF: return "e_phoff";
	case ELF_E_NO_LOAD: return "program headers";
	case ELF_E_ENTRY: return "e_entry";
	default: return "segment";
	}
}

static uint64_t loader_mib(uint64_t b)
{
	return b >> 20;
}

/* True when [va, va + len) lies inside one executable PT_LOAD segment. */
static bool loader_in_exec(const struct elf_info *in, uint64_t va, uint64_t len)
{
	for (unsigned i = 0; i < in->phnum; i++) {
		const struct elf64_phdr *p = &in->ph[i];
		if (p->p_type != ELF64_PT_LOAD || !(p->p_flags & ELF64_PF_X))
			continue;
		if (va >= p->p_vaddr && len <= p->p_memsz && va - p->p_vaddr <= p->p_memsz - len)
			return true;
	}
	return false;
}

/* True when guest physical [gpa, gpa + len) lies inside one PT_LOAD segment's file bytes. */
static bool loader_in_file_bytes(const struct elf_info *in, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < in->phnum; i++) {
		const struct elf64_phdr *p = &in->ph[i];
		if (p->p_type != ELF64_PT_LOAD)
			continue;
		if (gpa >= p->p_paddr && len <= p->p_filesz && gpa - p->p_paddr <= p->p_filesz - len)
			return true;
	}
	return false;
}

static int loader_check_segs(const struct elf_info *in, uint64_t mem_size, const char *name,
			     struct loader_image *img, char *err, size_t errlen)
{
	img->nsegs = 0;
	for (unsigned i = 0; i < in->phnum; i++) {
		const struct elf64_phdr *p = &in->ph[i];
		if (p->p_type != ELF64_PT_LOAD)
			continue;
		if (p->p_paddr < UKVM_KERNEL_PHYS)
			return loader_fail(err, errlen,
					   "%s: segment %u: p_paddr 0x%llx is below 0x%llx (reserved for boot structures)",
					   name, i, (unsigned long long)p->p_paddr, UKVM_KERNEL_PHYS);
		if (p->p_paddr > mem_size || p->p_memsz > mem_size - p->p_paddr)
			return loader_fail(err, errlen,
					   "%s: segment %u: ends past guest memory (%llu MiB)", name, i,
					   (unsigned long long)loader_mib(mem_size));
		if (p->p_vaddr == p->p_paddr + UKVM_KERNEL_VBASE) {
			/* The alias ends at 2^64, so p_paddr + p_memsz <= 2 GiB keeps it in range. */
			if (p->p_paddr + p->p_memsz > LOADER_ALIAS_END)
				return loader_fail(err, errlen,
						   "%s: segment %u: p_vaddr in the kernel alias but p_paddr range ends past 2 GiB",
						   name, i);
		} else if (p->p_vaddr != p->p_paddr) {
			return loader_fail(err, errlen,
					   "%s: segment %u: p_vaddr 0x%llx is neither p_paddr nor p_paddr + 0x%llx",
					   name, i, (unsigned long long)p->p_vaddr, UKVM_KERNEL_VBASE);
		}
		img->segs[img->nsegs++] = (struct loader_seg){ p->p_paddr, p->p_memsz };
	}
	return 0;
}

static int loader_check_note(const void *buf, size_t len, const struct elf_info *in,
			     const char *name, struct loader_image *img, char *err, size_t errlen)
{
	const void *desc;
	size_t dlen;
	int r = elf_find_note(buf, len, in, UKVM_NOTE_NAME, UKVM_NOTE_TYPE, &desc, &dlen);
	if (r == -2)
		return loader_fail(err, errlen, "%s: PT_NOTE: malformed note segment", name);
	if (r != 0)
		return loader_fail(err, errlen, "%s: ukvm note: missing (not a ukvm kernel image)", name);
	if (dlen != sizeof(struct ukvm_note))
		return loader_fail(err, errlen, "%s: ukvm note: descriptor is %zu bytes, expected %zu",
				   name, dlen, sizeof(struct ukvm_note));
	memcpy(&img->note, desc, sizeof(img->note));
	const struct ukvm_note *n = &img->note;
	if (n->abi_version != UKVM_ABI_VERSION)
		return loader_fail(err, errlen,
				   "%s: ukvm note: abi_version %u is unknown (this monitor speaks %u)", name,
				   n->abi_version, UKVM_ABI_VERSION);
	if (n->flags & ~UKVM_NOTE_FLAGS_KNOWN)
		return loader_fail(err, errlen, "%s: ukvm note: flags 0x%x are unknown", name,
				   n->flags & ~UKVM_NOTE_FLAGS_KNOWN);
	if (!loader_in_exec(in, n->syscall_entry, 1))
		return loader_fail(err, errlen,
				   "%s: ukvm note: syscall_entry 0x%llx is not in an executable segment",
				   name, (unsigned long long)n->syscall_entry);
	if (!loader_in_exec(in, n->exc_stubs, 256 * UKVM_EXC_STUB_SIZE))
		return loader_fail(err, errlen,
				   "%s: ukvm note: exc_stubs 0x%llx (+4096) is not inside an executable segment",
				   name, (unsigned long long)n->exc_stubs);
	if ((n->payload_gpa || n->payload_size) &&
	    !loader_in_file_bytes(in, n->payload_gpa, n->payload_size))
		return loader_fail(err, errlen,
				   "%s: ukvm note: payload 0x%llx+0x%llx is not inside one segment's file bytes",
				   name, (unsigned long long)n->payload_gpa,
				   (unsigned long long)n->payload_size);
	return 0;
}

int loader_check(const void *buf, size_t len, uint64_t mem_size, const char *name,
		 struct loader_image *img, char *err, size_t errlen)
{
	struct elf_info in;
	int bad = -1;
	enum elf_err e = elf_parse(buf, len, &in, &bad);
	if (e != ELF_OK) {
		if (bad >= 0)
			return loader_fail(err, errlen, "%s: segment %d: %s", name, bad, elf_strerror(e));
		return loader_fail(err, errlen, "%s: %s: %s", name, loader_elf_field(e), elf_strerror(e));
	}
	if (in.pie)
		return loader_fail(err, errlen, "%s: e_type: ET_DYN, a kernel image must be ET_EXEC", name);
	int r = loader_check_segs(&in, mem_size, name, img, err, errlen);
	if (r)
		return r;
	r = loader_check_note(buf, len, &in, name, img, err, errlen);
	if (r)
		return r;
	img->entry = in.entry;
	return 0;
}

struct loader_symctx {
	struct loader_image *img;
	size_t cap, strs_len, strs_cap;
	size_t *name_off; /* names are offsets until strs stops moving */
	bool oom;
};

static int loader_sym_add(void *ctx, const char *name, uint64_t value, uint64_t size)
{
	struct loader_symctx *c = ctx;
	struct loader_image *img = c->img;
	size_t nl = strlen(name) + 1;
	if (img->nsyms >= LOADER_MAX_SYMS)
		return 1;
	if (img->nsyms == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 256;
		void *s = realloc(img->syms, ncap * sizeof(*img->syms));
		if (s)
			img->syms = s;
		void *o = realloc(c->name_off, ncap * sizeof(*c->name_off));
		if (o)
			c->name_off = o;
		if (!s || !o)
			goto oom;
		c->cap = ncap;
	}
	if (c->strs_cap - c->strs_len < nl) {
		size_t ncap = (c->strs_cap + nl) * 2;
		char *s = realloc(img->strs, ncap);
		if (!s)
			goto oom;
		img->strs = s;
		c->strs_cap = ncap;
	}
	memcpy(img->strs + c->strs_len, name, nl);
	c->name_off[img->nsyms] = c->strs_len;
	c->strs_len += nl;
	img->syms[img->nsyms++] = (struct loader_sym){ value, size, NULL };
	return 0;
oom:
	c->oom = true;
	return 1;
}

static int loader_sym_cmp(const void *a, const void *b)
{
	const struct loader_sym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Symbols only improve crash reports: a broken symtab costs them, not the boot. */
static void loader_collect_syms(const void *buf, size_t len, struct loader_image *img)
{
	struct loader_symctx c = { .img = img };
	if (elf_for_each_func(buf, len, loader_sym_add, &c) < 0 || c.oom) {
		free(img->syms);
		free(img->strs);
		img->syms = NULL;
		img->strs = NULL;
		img->nsyms = 0;
	}
	for (size_t i = 0; i < img->nsyms; i++)
		img->syms[i].name = img->strs + c.name_off[i];
	free(c.name_off);
	if (img->nsyms)
		qsort(img->syms, img->nsyms, sizeof(*img->syms), loader_sym_cmp);
}

/* pread of exactly len bytes at off (a file that shrank meanwhile: -EIO). 0 or -errno. */
static int loader_pread(int fd, void *dst, uint64_t len, uint64_t off)
{
	uint8_t *p = dst;
	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (uint64_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/*
 * The image's bytes [off, off + len), clipped to the file, into the same
 * place of buf (the file's size, zeroed and otherwise unread). 0 or -errno.
 */
static int loader_fill(int fd, uint8_t *buf, uint64_t size, uint64_t off, uint64_t len)
{
	if (off >= size)
		return 0;
	if (len > size - off)
		len = size - off;
	return loader_pread(fd, buf + off, len, off);
}

/*
 * What the checks read of the image, into buf: the ELF header (its first
 * page), the program headers and every PT_NOTE segment's bytes;
 * elf_parse and loader_check read nothing else, so they judge a
 * sparse buffer as they judge the whole file. Out-of-range fields are
 * clipped here and refused by the checks. 0 or -errno.
 */
static int loader_fill_headers(int fd, uint8_t *buf, uint64_t size)
{
	int r = loader_fill(fd, buf, size, 0, 4096);
	if (r || size < sizeof(struct elf64_ehdr))
		return r;
	struct elf64_ehdr eh;
	memcpy(&eh, buf, sizeof(eh));
	uint64_t tbl = (uint64_t)eh.e_phnum * sizeof(struct elf64_phdr);
	if ((r = loader_fill(fd, buf, size, eh.e_phoff, tbl)))
		return r;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		struct elf64_phdr ph;
		uint64_t at = eh.e_phoff + (uint64_t)i * sizeof(ph);
		if (eh.e_phoff > size || at > size - sizeof(ph) || at < eh.e_phoff)
			break;
		memcpy(&ph, buf + at, sizeof(ph));
		if (ph.p_type == ELF64_PT_NOTE && (r = loader_fill(fd, buf, size, ph.p_offset, ph.p_filesz)))
			return r;
	}
	return 0;
}

/*
 * The section headers, the first symbol table and its string table into buf,
 * for loader_syms (later, if ever); clipped like loader_fill_headers.
 * Symbols only improve crash reports: a read failure costs them, not the boot.
 */
static void loader_fill_syms(int fd, uint8_t *buf, uint64_t size)
{
	struct elf64_ehdr eh;
	memcpy(&eh, buf, sizeof(eh));
	uint64_t tbl = (uint64_t)eh.e_shnum * sizeof(struct elf64_shdr);
	if (eh.e_shentsize != sizeof(struct elf64_shdr) || loader_fill(fd, buf, size, eh.e_shoff, tbl))
		return;
	for (unsigned k = 0; k < eh.e_shnum; k++) {
		struct elf64_shdr sh, link;
		uint64_t at = eh.e_shoff + (uint64_t)k * sizeof(sh);
		if (eh.e_shoff > size || at > size - sizeof(sh) || at < eh.e_shoff)
			return;
		memcpy(&sh, buf + at, sizeof(sh));
		if (sh.sh_type != ELF64_SHT_SYMTAB)
			continue;
		(void)loader_fill(fd, buf, size, sh.sh_offset, sh.sh_size);
		uint64_t lat = eh.e_shoff + (uint64_t)sh.sh_link * sizeof(link);
		if (sh.sh_link < eh.e_shnum && lat <= size - sizeof(link)) {
			memcpy(&link, buf + lat, sizeof(link));
			(void)loader_fill(fd, buf, size, link.sh_offset, link.sh_size);
		}
		return; /* elf_for_each_func takes the first symbol table */
	}
}

/* Opens path as an image: a regular file of at most LOADER_MAX_FILE bytes. fd or -errno, one line in err. */
static int loader_open(const char *path, uint64_t *size, char *err, size_t errlen)
{
	/* O_NONBLOCK: a FIFO must not block the open waiting for a writer; the type check below refuses it. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: cannot open image: %s", path, strerror(e));
		return -e;
	}
	struct stat st;
	int r;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: cannot stat image: %s", path, strerror(-r));
	} else if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		snprintf(err, errlen, "%s: not a regular file", path);
	} else if ((uint64_t)st.st_size > LOADER_MAX_FILE) {
		r = -EFBIG;
		snprintf(err, errlen, "%s: file size: %lld bytes is larger than 1 GiB", path, (long long)st.st_size);
	} else {
		*size = (uint64_t)st.st_size;
		return fd;
	}
	close(fd);
	return r;
}

/*
 * The segments go from the file straight into guest RAM (pread), never
 * through a buffer of the whole image: bench-boot measured reading the
 * ~350 KB image into a fresh buffer at 128 us. The buffer below has the
 * file's size but only the headers, notes and symbol tables are read into
 * it (calloc of that size maps fresh zero pages: the rest costs nothing).
 */
int loader_load(const char *path, const struct mem *m, struct loader_image *img, char *err,
		size_t errlen)
{
	uint64_t size = 0;
	memset(img, 0, sizeof(*img));
	int fd = loader_open(path, &size, err, errlen);
	if (fd < 0)
		return fd;
	uint8_t *buf = calloc(1, size ? size : 1);
	int r = -ENOMEM;
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory reading image", path);
		goto out;
	}
	if ((r = loader_fill_headers(fd, buf, size)))
		goto fail_read;
	if ((r = loader_check(buf, size, m->size, path, img, err, errlen)))
		goto out;
	struct elf_info in;
	int bad;
	(void)elf_parse(buf, size, &in, &bad); /* succeeded inside loader_check */
	for (unsigned i = 0; i < in.phnum; i++) {
		const struct elf64_phdr *p = &in.ph[i];
		if (p->p_type != ELF64_PT_LOAD)
			continue;
		/*
		 * One call backs the pages the copy writes (not one host fault each) and
		 * .bss, where the kernel's boot writes go (see mem_populate).
		 */
		(void)mem_populate(m, p->p_paddr, p->p_memsz);
		if (!p->p_filesz)
			continue;
		void *dst = mem_ptr(m, p->p_paddr, p->p_filesz);
		if (!dst) { /* loader_check proved it in range: defence in depth */
			r = loader_fail(err, errlen, "%s: segment %u: outside guest memory", path, i);
			goto out;
		}
		if ((r = loader_pread(fd, dst, p->p_filesz, p->p_offset)))
			goto fail_read;
	}
	loader_fill_syms(fd, buf, size);
	img->elf = buf; /* its symbols are collected when a report first needs them (loader_syms) */
	img->elf_len = size;
	buf = NULL;
	r = 0;
	goto out;
fail_read:
	snprintf(err, errlen, "%s: read failed: %s", path, r == -EIO ? "file shrank" : strerror(-r));
out:
	free(buf);
	close(fd);
	return r;
}

void loader_syms(struct loader_image *img)
{
	if (!img->elf)
		return;
	loader_collect_syms(img->elf, img->elf_len, img);
	free(img->elf);
	img->elf = NULL;
}

void loader_free(struct loader_image *img)
{
	free(img->elf);
	img->elf = NULL;
	free(img->syms);
	free(img->strs);
	img->syms = NULL;
	img->strs = NULL;
	img->nsyms = 0;
}

const char *loader_symbolize(struct loader_image *img, uint64_t addr, char *buf, size_t len)
{
	loader_syms(img);
	size_t lo = 0, hi = img->nsyms;
	/* Last symbol with sym.addr <= addr. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (img->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0) {
		snprintf(buf, len, "?");
		return buf;
	}
	const struct loader_sym *s = &img->syms[lo - 1];
	snprintf(buf, len, "%s+0x%llx", s->name, (unsigned long long)(addr - s->addr));
	return buf;
}
