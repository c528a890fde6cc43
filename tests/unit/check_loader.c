/* check_loader.c: the monitor's own image rules on top of elf_parse(), on small images built in memory. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "loader.h"

#define MEM (64ull << 20)
#define TEXT_OFF 0x1000
#define TEXT_SZ 0x1000
#define NOTE_OFF 0x104 /* so the descriptor (at +20) is 8-byte aligned */
#define IMG_SZ (TEXT_OFF + TEXT_SZ)
#define KV(pa) (UKVM_KERNEL_VBASE + (pa))

static _Alignas(8) uint8_t img[IMG_SZ];
static struct elf64_ehdr *eh;
static struct elf64_phdr *text, *note;
static struct ukvm_note *desc;
static struct loader_image li;
static char err[256];

/* A valid image: one RX PT_LOAD at the kernel alias holding entry and the stubs, plus the ukvm note. */
static void build(void)
{
	memset(img, 0, sizeof(img));
	eh = (struct elf64_ehdr *)img;
	memcpy(eh->e_ident, "\x7f" "ELF\x02\x01\x01", 7);
	eh->e_type = ELF64_ET_EXEC;
	eh->e_machine = ELF64_EM_X86_64;
	eh->e_version = 1;
	eh->e_entry = KV(UKVM_KERNEL_PHYS);
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(struct elf64_phdr);
	eh->e_phnum = 2;
	text = (struct elf64_phdr *)(img + sizeof(*eh));
	note = text + 1;
	*text = (struct elf64_phdr){ .p_type = ELF64_PT_LOAD, .p_flags = ELF64_PF_R | ELF64_PF_X,
				     .p_offset = TEXT_OFF, .p_vaddr = KV(UKVM_KERNEL_PHYS),
				     .p_paddr = UKVM_KERNEL_PHYS, .p_filesz = TEXT_SZ,
				     .p_memsz = TEXT_SZ, .p_align = 0x1000 };
	uint8_t *n = img + NOTE_OFF;
	uint32_t hdr[3] = { 5, sizeof(struct ukvm_note), UKVM_NOTE_TYPE };
	memcpy(n, hdr, 12);
	memcpy(n + 12, "ukvm", 5);
	desc = (struct ukvm_note *)(n + 20);
	*desc = (struct ukvm_note){ .abi_version = UKVM_ABI_VERSION, .syscall_entry = KV(UKVM_KERNEL_PHYS),
				    .exc_stubs = KV(UKVM_KERNEL_PHYS) };
	*note = (struct elf64_phdr){ .p_type = ELF64_PT_NOTE, .p_flags = ELF64_PF_R, .p_offset = NOTE_OFF,
				     .p_filesz = 20 + sizeof(struct ukvm_note),
				     .p_memsz = 20 + sizeof(struct ukvm_note), .p_align = 4 };
}

static int check(void)
{
	memset(&li, 0, sizeof(li));
	err[0] = '\0';
	return loader_check(img, sizeof(img), MEM, "t.img", &li, err, sizeof(err));
}

/* Rejected, and the message names the image and contains `what`. */
static void rejected(const char *what)
{
	ck_assert_int_eq(check(), -EINVAL);
	ck_assert_msg(strncmp(err, "t.img: ", 7) == 0, "message %s", err);
	ck_assert_msg(strstr(err, what) != NULL, "message '%s' lacks '%s'", err, what);
	ck_assert_ptr_null(strchr(err, '\n'));
}

START_TEST(test_valid)
{
	build();
	ck_assert_int_eq(check(), 0);
	ck_assert_uint_eq(li.entry, KV(UKVM_KERNEL_PHYS));
	ck_assert_uint_eq(li.nsegs, 1);
	ck_assert_uint_eq(li.segs[0].paddr, UKVM_KERNEL_PHYS);
	ck_assert_uint_eq(li.note.exc_stubs, KV(UKVM_KERNEL_PHYS));
	/* Identity-linked segments are fine too. */
	text->p_vaddr = UKVM_KERNEL_PHYS;
	eh->e_entry = desc->syscall_entry = desc->exc_stubs = UKVM_KERNEL_PHYS;
	ck_assert_int_eq(check(), 0);
	/* A payload inside the segment's file bytes. */
	build();
	desc->payload_gpa = UKVM_KERNEL_PHYS + 0x100;
	desc->payload_size = TEXT_SZ - 0x100;
	ck_assert_int_eq(check(), 0);
	/* A kernel that reads the monitor's stack guard says so. */
	build();
	desc->flags = UKVM_NOTE_STACK_GUARD;
	ck_assert_int_eq(check(), 0);
	ck_assert_uint_eq(li.note.flags, UKVM_NOTE_STACK_GUARD);
}
END_TEST

START_TEST(test_segments)
{
	build();
	text->p_paddr = UKVM_KERNEL_PHYS - 0x1000;
	rejected("segment 0: p_paddr 0xff000 is below");
	build();
	text->p_paddr = MEM - 0x1000; /* straddles the end of RAM */
	text->p_memsz = 0x2000;
	text->p_vaddr = eh->e_entry = KV(text->p_paddr);
	rejected("segment 0: ends past guest memory (64 MiB)");
	build();
	text->p_paddr = MEM;
	text->p_vaddr = eh->e_entry = KV(MEM);
	rejected("ends past guest memory");
	build();
	text->p_vaddr = eh->e_entry = 0x400000;
	rejected("segment 0: p_vaddr 0x400000 is neither");
	build();
	eh->e_type = ELF64_ET_DYN;
	rejected("e_type");
}
END_TEST

START_TEST(test_note)
{
	build();
	memcpy(img + NOTE_OFF + 12, "ukvx", 5);
	rejected("ukvm note: missing");
	build();
	eh->e_phnum = 1; /* no PT_NOTE at all */
	rejected("ukvm note: missing");
	build();
	desc->abi_version = 2;
	rejected("abi_version 2 is unknown");
	build();
	desc->flags = 2; /* bit 1 means nothing yet */
	rejected("flags 0x2 are unknown");
	build();
	desc->flags = UKVM_NOTE_STACK_GUARD | 0x80000000u;
	rejected("flags 0x80000000 are unknown");
	build();
	desc->syscall_entry = KV(UKVM_KERNEL_PHYS + TEXT_SZ);
	rejected("syscall_entry");
	build();
	text->p_flags = ELF64_PF_R; /* nothing executable: elf_parse refuses the entry first */
	rejected("e_entry");
	build();
	desc->exc_stubs = KV(UKVM_KERNEL_PHYS + 16); /* 256 stubs run 16 bytes past the segment */
	rejected("exc_stubs");
	build();
	desc->payload_gpa = UKVM_KERNEL_PHYS;
	desc->payload_size = TEXT_SZ + 1;
	rejected("payload");
	build();
	desc->payload_size = 1; /* gpa 0 with a size is not "no payload" */
	rejected("payload");
	build();
	uint32_t small = sizeof(struct ukvm_note) - 8;
	memcpy(img + NOTE_OFF + 4, &small, 4);
	note->p_filesz -= 8;
	note->p_memsz -= 8;
	rejected("descriptor is 32 bytes");
}
END_TEST

START_TEST(test_hostile)
{
	build();
	text->p_paddr = UINT64_MAX - 0x10; /* paddr + memsz wraps */
	ck_assert_int_eq(check(), -EINVAL);
	build();
	text->p_memsz = UINT64_MAX;
	ck_assert_int_eq(check(), -EINVAL);
	build();
	desc->exc_stubs = UINT64_MAX - 8;
	rejected("exc_stubs");
	build();
	desc->payload_gpa = UINT64_MAX;
	desc->payload_size = 2;
	rejected("payload");
	build();
	memcpy(img, "\x7f" "ELG", 4);
	rejected("e_ident");
	build();
	ck_assert_int_eq(loader_check(img, 10, MEM, "t.img", &li, err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(test_symbolize)
{
	struct loader_sym syms[3] = { { 0x1000, 0x10, "a" }, { 0x2000, 0x10, "b" }, { 0x3000, 0, "c" } };
	struct loader_image x = { .syms = syms, .nsyms = 3 };
	char b[64];
	ck_assert_str_eq(loader_symbolize(&x, 0x2004, b, sizeof(b)), "b+0x4");
	ck_assert_str_eq(loader_symbolize(&x, 0x1000, b, sizeof(b)), "a+0x0");
	ck_assert_str_eq(loader_symbolize(&x, 0x5000, b, sizeof(b)), "c+0x2000");
	ck_assert_str_eq(loader_symbolize(&x, 0xfff, b, sizeof(b)), "?");
	x.nsyms = 0;
	ck_assert_str_eq(loader_symbolize(&x, 0x2004, b, sizeof(b)), "?");
}
END_TEST

START_TEST(test_load_missing)
{
	struct mem m = { 0 };
	ck_assert_int_eq(loader_load("/nonexistent/x.img", &m, &li, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/x.img: cannot open image"));
	ck_assert_int_eq(loader_load("/", &m, &li, err, sizeof(err)) < 0, 1);
}
END_TEST

Suite *loader_suite(void)
{
	Suite *s = suite_create("loader");
	TCase *c = tcase_create("core"), *l = tcase_create("limits"), *h = tcase_create("hostile");
	tcase_add_test(c, test_valid);
	tcase_add_test(c, test_symbolize);
	tcase_add_test(l, test_segments);
	tcase_add_test(l, test_note);
	tcase_add_test(l, test_load_missing);
	tcase_add_test(h, test_hostile);
	suite_add_tcase(s, c);
	suite_add_tcase(s, l);
	suite_add_tcase(s, h);
	return s;
}
