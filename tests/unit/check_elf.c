/* check_elf.c: unit tests for proto/elf.c: real musl binaries, a hand-made image and one malformed image per reason. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elf.h"

#ifndef ELF_TEST_STATIC
#error "ELF_TEST_STATIC (path of a musl-gcc -static binary) must be defined by tests/build.mk"
#endif
#ifndef ELF_TEST_PIE
#error "ELF_TEST_PIE (path of a musl static-PIE binary) must be defined by tests/build.mk"
#endif

#define IMG_SIZE 0x2000

/* 8-byte aligned image buffer: elf_parse reads the headers in place. */
static uint64_t img_words[IMG_SIZE / 8];
static uint8_t *const img = (uint8_t *)img_words;

static struct elf64_ehdr *eh(void) { return (struct elf64_ehdr *)img; }
static struct elf64_phdr *ph(int i) { return (struct elf64_phdr *)(img + 64) + i; }

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

/*
 * A minimal valid ET_EXEC: [0] PT_LOAD R+X at 0x400000 (file 0..0x1000),
 * [1] PT_LOAD RW at 0x401000 (file 0x1000..0x1100, bss to 0x403000),
 * [2] PT_NOTE at 0x300 holding note "ukvm"/type 7 with an 8-byte descriptor.
 */
static void img_make(void)
{
	memset(img, 0, IMG_SIZE);
	memcpy(img, "\x7f" "ELF", 4);
	img[4] = 2;
	img[5] = 1;
	img[6] = 1;
	eh()->e_type = ELF64_ET_EXEC;
	eh()->e_machine = ELF64_EM_X86_64;
	eh()->e_version = 1;
	eh()->e_entry = 0x400100;
	eh()->e_phoff = 64;
	eh()->e_ehsize = 64;
	eh()->e_phentsize = sizeof(struct elf64_phdr);
	eh()->e_phnum = 3;
	*ph(0) = (struct elf64_phdr){ELF64_PT_LOAD, ELF64_PF_R | ELF64_PF_X, 0, 0x400000, 0x400000,
				     0x1000, 0x1000, 0x1000};
	*ph(1) = (struct elf64_phdr){ELF64_PT_LOAD, ELF64_PF_R | ELF64_PF_W, 0x1000, 0x401000, 0x401000,
				     0x100, 0x2000, 0x1000};
	*ph(2) = (struct elf64_phdr){ELF64_PT_NOTE, ELF64_PF_R, 0x300, 0, 0, 12 + 8 + 8, 12 + 8 + 8, 4};
	put32(img + 0x300, 5);
	put32(img + 0x304, 8);
	put32(img + 0x308, 7);
	memcpy(img + 0x30c, "ukvm", 5);
	memcpy(img + 0x314, "DESCRIPT", 8);
}

static enum elf_err img_parse(size_t len, int *bad)
{
	struct elf_info info;

	return elf_parse(img, len, &info, bad);
}

static void *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static int count_main(void *ctx, const char *name, uint64_t value, uint64_t size)
{
	(void)size;
	if (strcmp(name, "main") == 0)
		*(uint64_t *)ctx = value;
	return 0;
}

START_TEST(test_valid_handmade)
{
	struct elf_info info;
	const void *desc;
	size_t dlen;
	int bad = 99;

	img_make();
	ck_assert_int_eq(elf_parse(img, IMG_SIZE, &info, &bad), ELF_OK);
	ck_assert_int_eq(bad, -1);
	ck_assert_uint_eq(info.lo, 0x400000);
	ck_assert_uint_eq(info.hi, 0x403000);
	ck_assert_uint_eq(info.entry, 0x400100);
	ck_assert_uint_eq(info.phnum, 3);
	ck_assert(!info.pie && !info.interp && !info.dynamic);
	ck_assert_int_eq(elf_find_note(img, IMG_SIZE, &info, "ukvm", 7, &desc, &dlen), 0);
	ck_assert_uint_eq(dlen, 8);
	ck_assert_mem_eq(desc, "DESCRIPT", 8);
	ck_assert_int_eq(elf_find_note(img, IMG_SIZE, &info, "ukvm", 8, &desc, &dlen), -1);
	ck_assert_int_eq(elf_find_note(img, IMG_SIZE, &info, "ukv", 7, &desc, &dlen), -1);
	ck_assert_int_eq(elf_find_note(img, IMG_SIZE, &info, "ukvmx", 7, &desc, &dlen), -1);
	/* No section headers: zero symbols, not an error. */
	ck_assert_int_eq(elf_for_each_func(img, IMG_SIZE, count_main, &(uint64_t){0}), 0);
}
END_TEST

START_TEST(test_valid_static)
{
	struct elf_info info;
	uint64_t main_addr = 0;
	size_t len;
	void *buf = read_file(ELF_TEST_STATIC, &len);
	int bad;

	ck_assert_int_eq(elf_parse(buf, len, &info, &bad), ELF_OK);
	ck_assert(!info.pie && !info.interp && !info.dynamic);
	ck_assert_uint_ge(info.lo, 0x400000);
	ck_assert_uint_gt(info.hi, info.lo);
	ck_assert_int_gt(elf_for_each_func(buf, len, count_main, &main_addr), 10);
	ck_assert_uint_ge(main_addr, info.lo);
	ck_assert_uint_lt(main_addr, info.hi);
	free(buf);
}
END_TEST

START_TEST(test_valid_pie)
{
	struct elf_info info;
	uint64_t main_addr = 0;
	size_t len;
	void *buf = read_file(ELF_TEST_PIE, &len);
	int bad;

	ck_assert_int_eq(elf_parse(buf, len, &info, &bad), ELF_OK);
	ck_assert(info.pie && !info.interp && info.dynamic);
	ck_assert_uint_eq(info.lo, 0);
	ck_assert_int_gt(elf_for_each_func(buf, len, count_main, &main_addr), 10);
	ck_assert_uint_ne(main_addr, 0);
	ck_assert_uint_lt(main_addr, info.hi);
	free(buf);
}
END_TEST

/* GNU property notes (p_align 8) start the descriptor on an 8-byte boundary: 12 + 4 name bytes -> 16, not 12 + 8. */
START_TEST(test_note_align8)
{
	struct elf_info info;
	const void *desc;
	size_t dlen;
	int bad;

	img_make();
	ph(2)->p_align = 8;
	ph(2)->p_filesz = ph(2)->p_memsz = 16 + 8 + 16 + 8 + 8;
	put32(img + 0x300, 4);
	put32(img + 0x304, 8);
	put32(img + 0x308, 5);
	memcpy(img + 0x30c, "GNU", 4);
	memcpy(img + 0x310, "PROPERTY", 8);
	/* second note right after: 0x318 */
	put32(img + 0x318, 5);
	put32(img + 0x31c, 8);
	put32(img + 0x320, 7);
	memcpy(img + 0x324, "ukvm", 5);
	memcpy(img + 0x330, "DESCRIPT", 8);
	ck_assert_int_eq(elf_parse(img, IMG_SIZE, &info, &bad), ELF_OK);
	ck_assert_int_eq(elf_find_note(img, IMG_SIZE, &info, "GNU", 5, &desc, &dlen), 0);
	ck_assert_mem_eq(desc, "PROPERTY", 8);
	ck_assert_int_eq(elf_find_note(img, IMG_SIZE, &info, "ukvm", 7, &desc, &dlen), 0);
	ck_assert_mem_eq(desc, "DESCRIPT", 8);
}
END_TEST

/* A dynamically linked host binary parses (the callers refuse it) and says so. */
START_TEST(test_host_dynamic)
{
	struct elf_info info;
	size_t len;
	void *buf;
	int bad;

	if (access("/bin/true", R_OK) != 0)
		return;
	buf = read_file("/bin/true", &len);
	ck_assert_int_eq(elf_parse(buf, len, &info, &bad), ELF_OK);
	ck_assert(info.interp && info.dynamic);
	free(buf);
}
END_TEST

START_TEST(test_strerror)
{
	int i, j;

	for (i = 0; i < ELF_E_COUNT; i++) {
		ck_assert_ptr_nonnull(elf_strerror(i));
		for (j = 0; j < i; j++)
			ck_assert_str_ne(elf_strerror(i), elf_strerror(j));
	}
	ck_assert_str_eq(elf_strerror(ELF_E_COUNT), "unknown ELF error");
}
END_TEST

/* One malformed image per row: how to break the valid image, the reason expected, the bad index. */
struct bad_case {
	const char *what;
	void (*breakit)(void);
	size_t len;
	enum elf_err want;
	int index;
};

static void b_magic(void) { img[1] = 'X'; }
static void b_class(void) { img[4] = 1; }
static void b_data(void) { img[5] = 2; }
static void b_ident_version(void) { img[6] = 0; }
static void b_version(void) { eh()->e_version = 2; }
static void b_machine(void) { eh()->e_machine = 183; /* EM_AARCH64 */ }
static void b_type(void) { eh()->e_type = 1; /* ET_REL */ }
static void b_ehsize(void) { eh()->e_ehsize = 52; }
static void b_phentsize(void) { eh()->e_phentsize = 32; }
static void b_phnum0(void) { eh()->e_phnum = 0; }
static void b_phnum_big(void) { eh()->e_phnum = ELF_MAX_PHNUM + 1; }
static void b_phoff_eof(void) { eh()->e_phoff = IMG_SIZE - 64; }
static void b_phoff_wrap(void) { eh()->e_phoff = UINT64_MAX - 8 * 7; }
static void b_phoff_align(void) { eh()->e_phoff = 68; }
static void b_seg_eof(void) { ph(1)->p_filesz = IMG_SIZE; }
static void b_seg_off_wrap(void) { ph(1)->p_offset = UINT64_MAX - 0x10; }
static void b_memsz(void) { ph(1)->p_memsz = 0x80; }
static void b_vaddr_wrap(void) { ph(1)->p_vaddr = UINT64_MAX - 0xfff; }
static void b_paddr_wrap(void) { ph(1)->p_paddr = UINT64_MAX - 0xfff; }
static void b_overlap(void) { ph(1)->p_offset = 0x800; ph(1)->p_vaddr = 0x400800; ph(1)->p_paddr = 0x400800; }
static void b_entry(void) { eh()->e_entry = 0x401010; /* in the RW segment */ }
static void b_entry_end(void) { eh()->e_entry = 0x401000; /* one past the text segment */ }
static void b_align_pow2(void) { ph(0)->p_align = 0x3000; }
static void b_align_congruent(void) { ph(1)->p_vaddr = 0x401800; ph(1)->p_paddr = 0x401800; }
static void b_note_namesz(void) { put32(img + 0x300, 0x10000); }
static void b_note_descsz(void) { put32(img + 0x304, 0xfffffff0); }
static void b_note_short(void) { ph(2)->p_filesz = 10; ph(2)->p_memsz = 10; }
static void b_no_load(void) { ph(0)->p_type = 0; ph(1)->p_type = 0; }

static const struct bad_case bad_cases[] = {
	{"truncated header", NULL, 63, ELF_E_SHORT, -1},
	{"empty", NULL, 0, ELF_E_SHORT, -1},
	{"bad magic", b_magic, IMG_SIZE, ELF_E_MAGIC, -1},
	{"32-bit class", b_class, IMG_SIZE, ELF_E_CLASS, -1},
	{"big-endian", b_data, IMG_SIZE, ELF_E_DATA, -1},
	{"e_ident version", b_ident_version, IMG_SIZE, ELF_E_VERSION, -1},
	{"e_version", b_version, IMG_SIZE, ELF_E_VERSION, -1},
	{"EM_AARCH64", b_machine, IMG_SIZE, ELF_E_MACHINE, -1},
	{"ET_REL", b_type, IMG_SIZE, ELF_E_TYPE, -1},
	{"ehsize", b_ehsize, IMG_SIZE, ELF_E_EHSIZE, -1},
	{"phentsize", b_phentsize, IMG_SIZE, ELF_E_PHENTSIZE, -1},
	{"phnum 0", b_phnum0, IMG_SIZE, ELF_E_PHNUM, -1},
	{"phnum too many", b_phnum_big, IMG_SIZE, ELF_E_PHNUM, -1},
	{"phoff past EOF", b_phoff_eof, IMG_SIZE, ELF_E_PHOFF, -1},
	{"phoff+phnum*phentsize overflows", b_phoff_wrap, IMG_SIZE, ELF_E_PHOFF, -1},
	{"phoff misaligned", b_phoff_align, IMG_SIZE, ELF_E_PHOFF, -1},
	{"segment past EOF", b_seg_eof, IMG_SIZE, ELF_E_SEG_FILE, 1},
	{"segment offset overflows", b_seg_off_wrap, IMG_SIZE, ELF_E_SEG_FILE, 1},
	{"filesz > memsz", b_memsz, IMG_SIZE, ELF_E_SEG_MEMSZ, 1},
	{"vaddr+memsz wraps", b_vaddr_wrap, IMG_SIZE, ELF_E_SEG_WRAP, 1},
	{"paddr+memsz wraps", b_paddr_wrap, IMG_SIZE, ELF_E_SEG_WRAP, 1},
	{"PT_LOADs overlap", b_overlap, IMG_SIZE, ELF_E_SEG_OVERLAP, 1},
	{"entry in a non-executable segment", b_entry, IMG_SIZE, ELF_E_ENTRY, -1},
	{"entry one past the text", b_entry_end, IMG_SIZE, ELF_E_ENTRY, -1},
	{"p_align not a power of two", b_align_pow2, IMG_SIZE, ELF_E_SEG_ALIGN, 0},
	{"p_vaddr and p_offset disagree", b_align_congruent, IMG_SIZE, ELF_E_SEG_ALIGN, 1},
	{"note namesz past the segment", b_note_namesz, IMG_SIZE, ELF_E_NOTE, 2},
	{"note descsz past the segment", b_note_descsz, IMG_SIZE, ELF_E_NOTE, 2},
	{"note shorter than its header", b_note_short, IMG_SIZE, ELF_E_NOTE, 2},
	{"no PT_LOAD", b_no_load, IMG_SIZE, ELF_E_NO_LOAD, -1},
};

START_TEST(test_malformed)
{
	const struct bad_case *c = &bad_cases[_i];
	int bad = 99;
	enum elf_err got;

	img_make();
	if (c->breakit)
		c->breakit();
	got = img_parse(c->len, &bad);
	ck_assert_msg(got == c->want, "%s: got %d (%s), want %d (%s)", c->what, got, elf_strerror(got),
		      c->want, elf_strerror(c->want));
	ck_assert_msg(bad == c->index, "%s: bad index %d, want %d", c->what, bad, c->index);
}
END_TEST

START_TEST(test_distinct_reasons)
{
	/* The brief asks for at least 15 different reasons among the malformed images. */
	bool seen[ELF_E_COUNT] = {false};
	size_t i;
	int n = 0;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		if (!seen[bad_cases[i].want]) {
			seen[bad_cases[i].want] = true;
			n++;
		}
	ck_assert_int_ge(n, 15);
}
END_TEST

START_TEST(test_misaligned_buffer)
{
	static uint64_t shifted[IMG_SIZE / 8 + 1];
	struct elf_info info;
	int bad;

	img_make();
	memcpy((uint8_t *)shifted + 1, img, IMG_SIZE);
	ck_assert_int_eq(elf_parse((uint8_t *)shifted + 1, IMG_SIZE, &info, &bad), ELF_E_PHOFF);
	ck_assert_int_eq(elf_for_each_func((uint8_t *)shifted + 1, IMG_SIZE, count_main, NULL), -1);
}
END_TEST

/* Section headers appended at 0x1800: [0] null, [1] symtab, [2] strtab. */
static void img_add_symtab(void)
{
	struct elf64_shdr *sh = (struct elf64_shdr *)(img + 0x1800);
	struct elf64_sym *sym = (struct elf64_sym *)(img + 0x1900);

	eh()->e_shoff = 0x1800;
	eh()->e_shnum = 3;
	eh()->e_shentsize = sizeof(struct elf64_shdr);
	sh[1] = (struct elf64_shdr){.sh_type = ELF64_SHT_SYMTAB, .sh_offset = 0x1900, .sh_size = 3 * 24,
				    .sh_link = 2, .sh_entsize = 24};
	sh[2] = (struct elf64_shdr){.sh_type = ELF64_SHT_STRTAB, .sh_offset = 0x1a00, .sh_size = 11};
	memcpy(img + 0x1a00, "\0main\0data", 11);
	sym[1] = (struct elf64_sym){.st_name = 1, .st_info = ELF64_STT_FUNC, .st_value = 0x400100};
	sym[2] = (struct elf64_sym){.st_name = 6, .st_info = 1 /* OBJECT */, .st_value = 0x401000};
}

START_TEST(test_symtab_handmade)
{
	struct elf64_shdr *sh = (struct elf64_shdr *)(img + 0x1800);
	uint64_t main_addr = 0;

	img_make();
	img_add_symtab();
	ck_assert_int_eq(elf_for_each_func(img, IMG_SIZE, count_main, &main_addr), 1);
	ck_assert_uint_eq(main_addr, 0x400100);

	sh[2].sh_size = 10; /* strtab no longer NUL-terminated */
	ck_assert_int_eq(elf_for_each_func(img, IMG_SIZE, count_main, &main_addr), -1);
	sh[2].sh_size = 11;
	((struct elf64_sym *)(img + 0x1900))[1].st_name = 11; /* name past strtab */
	ck_assert_int_eq(elf_for_each_func(img, IMG_SIZE, count_main, &main_addr), -1);
	img_add_symtab();
	sh[1].sh_size = UINT64_MAX - 0x1000 + 1; /* wraps the offset */
	ck_assert_int_eq(elf_for_each_func(img, IMG_SIZE, count_main, &main_addr), -1);
	img_add_symtab();
	sh[1].sh_link = 7;
	ck_assert_int_eq(elf_for_each_func(img, IMG_SIZE, count_main, &main_addr), -1);
	img_add_symtab();
	eh()->e_shoff = IMG_SIZE - 64;
	ck_assert_int_eq(elf_for_each_func(img, IMG_SIZE, count_main, &main_addr), -1);
	img_add_symtab();
	eh()->e_shentsize = 40;
	ck_assert_int_eq(elf_for_each_func(img, IMG_SIZE, count_main, &main_addr), -1);
}
END_TEST

/* Every prefix of a real binary either parses or is refused; ASan catches any read past it. */
START_TEST(test_truncations)
{
	size_t len, n;
	uint8_t *buf = read_file(ELF_TEST_STATIC, &len);
	struct elf_info info;
	int bad;

	for (n = 0; n < len && n < 0x4000; n++) {
		uint8_t *copy = malloc(n ? n : 1);

		memcpy(copy, buf, n);
		if (elf_parse(copy, n, &info, &bad) == ELF_OK)
			ck_assert_uint_ge(n, 64);
		elf_for_each_func(copy, n, count_main, &(uint64_t){0});
		free(copy);
	}
	ck_assert_int_ne(elf_parse(buf, 63, &info, &bad), ELF_OK);
	free(buf);
}
END_TEST

/* Random corruption of the hand-made image never makes the parser read outside the buffer. */
START_TEST(test_random_corruption)
{
	uint32_t seed = 12345;
	int iter, k, rejected = 0;

	for (iter = 0; iter < 20000; iter++) {
		struct elf_info info;
		const void *desc;
		size_t dlen;
		int bad;

		img_make();
		img_add_symtab();
		for (k = 0; k < 4; k++) {
			seed = seed * 1103515245u + 12345u;
			/* Flip one bit in the headers and note, or in the section tables. */
			size_t pos = (seed & 1) ? 0x1800 + (seed >> 8) % 0x210 : (seed >> 8) % 0x340;

			img[pos] ^= (uint8_t)(1u << (seed >> 28 & 7));
		}
		if (elf_parse(img, IMG_SIZE, &info, &bad) == ELF_OK)
			elf_find_note(img, IMG_SIZE, &info, "ukvm", 7, &desc, &dlen);
		else
			rejected++;
		elf_for_each_func(img, IMG_SIZE, count_main, &(uint64_t){0});
	}
	ck_assert_int_gt(rejected, 0);
}
END_TEST

Suite *elf_suite(void)
{
	Suite *s = suite_create("elf");
	TCase *core = tcase_create("core");
	TCase *limits = tcase_create("limits");
	TCase *hostile = tcase_create("hostile");

	tcase_add_test(core, test_valid_handmade);
	tcase_add_test(core, test_valid_static);
	tcase_add_test(core, test_valid_pie);
	tcase_add_test(core, test_strerror);
	tcase_add_test(core, test_note_align8);
	tcase_add_test(core, test_host_dynamic);
	tcase_add_test(core, test_symtab_handmade);
	tcase_add_loop_test(limits, test_malformed, 0, (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(limits, test_distinct_reasons);
	tcase_add_test(limits, test_misaligned_buffer);
	tcase_add_test(hostile, test_truncations);
	tcase_add_test(hostile, test_random_corruption);
	tcase_set_timeout(hostile, 60);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	suite_add_tcase(s, hostile);
	return s;
}
