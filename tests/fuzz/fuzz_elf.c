/* fuzz_elf.c: harness for the ELF validator (proto/elf.c) and the monitor's image checks and loader (vmm/loader.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include "elf.h"
#include "fuzz.h"
#include "loader.h"
#include "mem.h"

/* Guest RAM for loader_load: the smallest a VM may have, so "past guest memory" is reachable. */
#define FE_MEM UKVM_MEM_MIN

static const uint8_t *fe_buf;
static size_t fe_len;

/* A pointer into the input buffer with n bytes after it, all inside. */
static bool fe_inside(const void *p, size_t n)
{
	const uint8_t *b = p;

	return b >= fe_buf && b <= fe_buf + fe_len && n <= (size_t)(fe_buf + fe_len - b);
}

static int fe_sym(void *ctx, const char *name, uint64_t value, uint64_t size)
{
	(void)size;
	/* elf_for_each_func promises a NUL inside the buffer and a value != 0. */
	FUZZ_CHECK(fe_inside(name, 1));
	FUZZ_CHECK(memchr(name, 0, (size_t)(fe_buf + fe_len - (const uint8_t *)name)) != NULL);
	FUZZ_CHECK(value != 0);
	return ++*(unsigned *)ctx >= 1000; /* stopping early must be honoured too */
}

static void fe_check_parsed(const struct elf_info *in)
{
	FUZZ_CHECK(in->phnum >= 1 && in->phnum <= ELF_MAX_PHNUM);
	FUZZ_CHECK(fe_inside(in->ph, in->phnum * sizeof(*in->ph)));
	bool entry_ok = false;

	for (unsigned i = 0; i < in->phnum; i++) {
		const struct elf64_phdr *p = &in->ph[i];

		FUZZ_CHECK(p->p_offset <= fe_len && p->p_filesz <= fe_len - p->p_offset);
		FUZZ_CHECK(p->p_memsz >= p->p_filesz);
		if (p->p_type != ELF64_PT_LOAD)
			continue;
		FUZZ_CHECK(p->p_vaddr + p->p_memsz >= p->p_vaddr); /* no wrap */
		FUZZ_CHECK(p->p_vaddr >= in->lo && p->p_vaddr + p->p_memsz <= in->hi);
		if ((p->p_flags & ELF64_PF_X) && in->entry >= p->p_vaddr && in->entry - p->p_vaddr < p->p_memsz)
			entry_ok = true;
		/* Pairwise disjoint (virtual and physical), recomputed independently. */
		for (unsigned j = 0; j < i; j++) {
			const struct elf64_phdr *q = &in->ph[j];

			if (q->p_type != ELF64_PT_LOAD || !p->p_memsz || !q->p_memsz)
				continue;
			FUZZ_CHECK(p->p_vaddr + p->p_memsz <= q->p_vaddr || q->p_vaddr + q->p_memsz <= p->p_vaddr);
			FUZZ_CHECK(p->p_paddr + p->p_memsz <= q->p_paddr || q->p_paddr + q->p_memsz <= p->p_paddr);
		}
	}
	FUZZ_CHECK(entry_ok);
}

/* The image as a file for loader_load: a memfd reached through /proc/self/fd. */
static int fe_file(const uint8_t *data, size_t size, char *path, size_t len)
{
	static int fd = -1;

	if (fd < 0) {
		fd = memfd_create("fuzz_elf", MFD_CLOEXEC);
		FUZZ_CHECK(fd >= 0);
	}
	FUZZ_CHECK(ftruncate(fd, 0) == 0);
	FUZZ_CHECK(size == 0 || pwrite(fd, data, size, 0) == (ssize_t)size);
	snprintf(path, len, "/proc/self/fd/%d", fd);
	return fd;
}

static void fe_load(const uint8_t *data, size_t size, int check_rc, const char *check_err,
		    const struct loader_image *checked)
{
	static struct mem m;
	struct loader_image img;
	char path[64], err[512] = "";

	if (!m.base)
		FUZZ_CHECK(mem_init(&m, FE_MEM) == 0);
	fe_file(data, size, path, sizeof(path));
	int r = loader_load(path, &m, &img, err, sizeof(err));
	/* Same verdict and the same line as loader_check, only the name differs (path vs "img"). */
	FUZZ_CHECK(r == check_rc);
	if (r) {
		FUZZ_CHECK(strstr(err, path) == err && strcmp(err + strlen(path), check_err + 3) == 0);
	} else {
		FUZZ_CHECK(img.entry == checked->entry && img.nsegs == checked->nsegs);
		struct elf_info in;
		int bad;

		FUZZ_CHECK(elf_parse(data, size, &in, &bad) == ELF_OK);
		/* Every segment's file bytes landed at p_paddr; the rest stayed zero. */
		for (unsigned i = 0; i < in.phnum; i++) {
			const struct elf64_phdr *p = &in.ph[i];
			const uint8_t *g = mem_ptr(&m, p->p_paddr, p->p_memsz);

			if (p->p_type != ELF64_PT_LOAD)
				continue;
			FUZZ_CHECK(g != NULL);
			FUZZ_CHECK(memcmp(g, data + p->p_offset, p->p_filesz) == 0);
		}
		loader_syms(&img); /* collected only when asked (a crash report) */
		for (size_t i = 1; i < img.nsyms; i++)
			FUZZ_CHECK(img.syms[i - 1].addr <= img.syms[i].addr);
		for (size_t i = 0; i < img.nsyms && i < 8; i++) {
			char sb[64];

			FUZZ_CHECK(img.syms[i].name != NULL);
			loader_symbolize(&img, img.syms[i].addr + 1, sb, sizeof(sb));
			FUZZ_CHECK(strlen(sb) < sizeof(sb));
		}
		loader_free(&img);
	}
	/* Back to fresh (zeroed) RAM for the next input: loader_load needs it. */
	FUZZ_CHECK(madvise(m.base, m.size, MADV_DONTNEED) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = fuzz_dup(data, size);
	struct elf_info in;
	int bad = 7;

	fe_buf = buf;
	fe_len = size;
	enum elf_err e = elf_parse(buf, size, &in, &bad);
	FUZZ_CHECK((unsigned)e < ELF_E_COUNT && elf_strerror(e) != NULL);
	if (e == ELF_OK) {
		FUZZ_CHECK(bad == -1);
		fe_check_parsed(&in);
		const void *desc;
		size_t dlen;

		if (elf_find_note(buf, size, &in, UKVM_NOTE_NAME, UKVM_NOTE_TYPE, &desc, &dlen) == 0)
			FUZZ_CHECK(fe_inside(desc, dlen));
	} else {
		FUZZ_CHECK(bad >= -1 && bad < ELF_MAX_PHNUM);
	}
	unsigned nsyms = 0;
	long visited = elf_for_each_func(buf, size, fe_sym, &nsyms);
	FUZZ_CHECK(visited >= -1 && (visited < 0 || (unsigned long)visited == nsyms));

	struct loader_image img;
	char err[512] = "";
	int r = loader_check(buf, size, FE_MEM, "img", &img, err, sizeof(err));
	FUZZ_CHECK(r == 0 || r == -EINVAL);
	if (r == 0) {
		FUZZ_CHECK(e == ELF_OK && !in.pie);
		for (unsigned i = 0; i < img.nsegs; i++)
			FUZZ_CHECK(img.segs[i].paddr >= UKVM_KERNEL_PHYS && img.segs[i].paddr <= FE_MEM &&
				   img.segs[i].memsz <= FE_MEM - img.segs[i].paddr);
		FUZZ_CHECK(img.note.abi_version == UKVM_ABI_VERSION);
	} else {
		FUZZ_CHECK(strncmp(err, "img: ", 5) == 0 && strchr(err, '\n') == NULL);
	}
	fe_load(buf, size, r, err, &img);
	free(buf);
	return 0;
}
