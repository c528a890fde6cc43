/* fuzz_payload.c: harness for the guest's payload parser (guest/kernel/payload.c) and file archive loader (guest/fs/archive.c). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../guest/include/fs.h"
#include "../../guest/include/payload.h"
#include "../../guest/include/sys.h"
#include "elf.h"
#include "fuzz.h"
#include "fuzz_guest.h"
#include "ukvm_abi.h"

/*
 * The input is a payload as ukvm-build lays it out (struct ukvm_payload_hdr,
 * app, file records, symbols, names). Whatever the parser accepts is
 * checked against the input: every part inside it, every symbol name
 * terminated inside the name table, every archive record present in the
 * guest's tree with its bytes read back through the file syscalls.
 */
#define FP_RAM (64ull << 20)

static const uint8_t *fp_buf;
static uint64_t fp_len;

static bool fp_inside(const void *p, uint64_t n)
{
	const uint8_t *b = p;

	return b >= fp_buf && b <= fp_buf + fp_len && n <= (uint64_t)(fp_buf + fp_len - b);
}

static void fp_check_sym(const struct payload_view *v, uint64_t addr)
{
	uint64_t off = UINT64_MAX;
	const char *name = payload_sym(v, addr, &off);

	if (!name)
		return;
	FUZZ_CHECK(name >= v->strs && (uint64_t)(name - v->strs) < v->strs_size);
	FUZZ_CHECK(memchr(name, 0, v->strs_size - (uint64_t)(name - v->strs)) != NULL);
	FUZZ_CHECK(off <= UINT32_MAX); /* inside the symbol (32-bit size) or 64 KiB past a sizeless one */
}

static void fp_check_syms(struct payload_view *v)
{
	if (!v->syms)
		return;
	FUZZ_CHECK(fp_inside(v->syms, v->syms_count * sizeof(*v->syms)) && fp_inside(v->strs, v->strs_size));
	FUZZ_CHECK(v->strs_size > 0); /* the final NUL is the lookup's to check (payload_sym): boot reads no table byte */
	/* Lookups at, inside, just past and far past a sample of the symbols, PIE runs shifted too. */
	v->app_base = 0x200000;
	for (uint64_t i = 0; i < v->syms_count && i < 64; i++) {
		const struct ukvm_sym *s = &v->syms[i];
		uint64_t a = s->addr + ((s->flags & UKVM_SYM_PIE) ? v->app_base : 0);

		fp_check_sym(v, a);
		fp_check_sym(v, a + s->size - 1);
		fp_check_sym(v, a + s->size);
		fp_check_sym(v, a + 0x10000);
		fp_check_sym(v, a - 1);
	}
	fp_check_sym(v, 0);
	fp_check_sym(v, UINT64_MAX);
	fp_check_sym(v, UKVM_KERNEL_VBASE);
}

/* The loader's reserve map stand-in: one region, and it says what it was asked. */
static bool fp_reserved(void *ctx, uint64_t start, uint64_t len)
{
	(void)ctx;
	FUZZ_CHECK(len > 0 && start + len > start);
	return start >= (4ull << 20) && start + len <= (32ull << 20);
}

static void fp_check_placed(const struct payload_view *v)
{
	struct elf_info in;
	int bad;
	const struct payload_range avoid[2] = { { 1ull << 20, 2ull << 20 }, { 8ull << 20, 9ull << 20 } };

	if (elf_parse(v->app, v->app_size, &in, &bad) != ELF_OK)
		return;
	int r = payload_check_placed(&in, FP_RAM, avoid, 2, fp_reserved, NULL, &bad);

	FUZZ_CHECK(r == 0 || r == -ENOEXEC);
	FUZZ_CHECK(r == 0 ? bad == -1 : bad >= -1 && bad < (int)in.phnum);
	if (r)
		return;
	for (unsigned i = 0; i < in.phnum; i++) {
		const struct elf64_phdr *p = &in.ph[i];

		if (p->p_type != ELF64_PT_LOAD || p->p_memsz == 0)
			continue;
		FUZZ_CHECK(p->p_vaddr >= (4ull << 20) && p->p_vaddr + p->p_memsz <= (32ull << 20));
		FUZZ_CHECK(p->p_vaddr + p->p_memsz <= (8ull << 20) || p->p_vaddr >= (9ull << 20));
	}
}

/*
 * Walks the archive records again, independently of archive.c, and checks
 * each against the tree fs_init built: a file is there with its bytes (read
 * through sys_openat/sys_read), a directory is a directory, a link holds its target.
 */
static void fp_check_tree(const uint8_t *base, uint64_t size)
{
	uint64_t off = 0;

	while (off < size) {
		struct ukvm_file_rec rec;

		memcpy(&rec, base + off, sizeof(rec));
		const char *name = (const char *)base + off + sizeof(rec);
		uint64_t data_off = off + sizeof(rec) + rec.name_len;
		struct stat st;

		FUZZ_CHECK(data_off <= size && rec.size <= size - data_off);
		FUZZ_CHECK(sys_lstat((long)(uintptr_t)name, (long)(uintptr_t)&st, 0, 0, 0, 0) == 0);
		if ((rec.mode & S_IFMT) == S_IFLNK) {
			char t[4096];
			long n = sys_readlink((long)(uintptr_t)name, (long)(uintptr_t)t, sizeof(t), 0, 0, 0);

			FUZZ_CHECK((st.st_mode & S_IFMT) == S_IFLNK && n == (long)rec.size && memcmp(t, base + data_off, rec.size) == 0);
		} else if ((rec.mode & S_IFMT) == S_IFREG) {
			/* Files are unique, so the tree holds exactly this record's mode and bytes. */
			size_t len;
			uint32_t mode;
			uint8_t *got = fuzz_guest_read(name, &len, &mode);

			FUZZ_CHECK(mode == rec.mode && len == rec.size && memcmp(got, base + data_off, len) == 0);
			free(got);
		} else {
			FUZZ_CHECK((st.st_mode & S_IFMT) == S_IFDIR);
		}
		uint64_t end = data_off + rec.size, pad = (8 - end % 8) % 8;
		off = end + (pad < size - end ? pad : size - end); /* the last record may end unpadded */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = fuzz_dup(data, size);
	struct payload_view v;

	fp_buf = buf;
	fp_len = size;
	int r = payload_parse(buf, size, &v);
	FUZZ_CHECK(r == 0 || r == -EINVAL);
	if (r == 0) {
		FUZZ_CHECK(v.app_size > 0 && fp_inside(v.app, v.app_size) && fp_inside(v.files, v.files_size));
		FUZZ_CHECK((v.flags & ~(uint64_t)UKVM_PAYLOAD_APP_PLACED) == 0);
		fp_check_syms(&v);
		fp_check_placed(&v);
		/* The archive as the guest's boot hands it over (fs_init), then read back. */
		fs_reset();
		int fr = fs_init(v.files, v.files_size);
		FUZZ_CHECK(fr == 0 || fr == -EINVAL || fr == -ENOMEM);
		if (fr == 0)
			fp_check_tree(v.files, v.files_size);
		else
			FUZZ_CHECK(fs_root == NULL);
		fs_reset();
	}
	free(buf);
	return 0;
}
