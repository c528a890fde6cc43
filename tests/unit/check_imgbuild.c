/* check_imgbuild.c: unit tests for ukvm-build's packer: image layout, note, payload, file records, symbols, refusals. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf.h"
#include "loader.h"
#include "pack.h"
#include "pack_int.h"
#include "ukvm_abi.h"

#ifndef ELF_TEST_STATIC
#error "ELF_TEST_STATIC and ELF_TEST_PIE must be defined by tests/build.mk"
#endif

#define KVBASE 0xffffffff80000000ull

static char tmpdir[64];

static void path_in_tmp(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", tmpdir, name);
}

static void write_bytes(const char *path, const void *data, size_t len, mode_t mode)
{
	FILE *f = fopen(path, "wb");

	ck_assert_msg(f != NULL, "cannot create %s", path);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	fclose(f);
	chmod(path, mode);
}

static void *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	void *buf;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = aligned_alloc(16, ((size_t)n + 16) & ~(size_t)15);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/*
 * A hand-made ELF: one R+X PT_LOAD of 0x1000 file bytes at file offset 0x1000
 * (virtual vaddr, physical paddr, memsz 0x3000), an optional ukvm note, and a
 * symtab with two functions at vaddr and vaddr + 0x100.
 */
struct fake { uint64_t vaddr, paddr; bool note; uint32_t abi; };

static void write_fake(const char *path, const struct fake *f)
{
	static uint64_t words[0x2000 / 8];
	uint8_t *b = (uint8_t *)words;
	struct elf64_ehdr *eh = (struct elf64_ehdr *)b;
	struct elf64_phdr *ph = (struct elf64_phdr *)(b + 64);
	struct elf64_shdr *sh = (struct elf64_shdr *)(b + 0x600);
	struct elf64_sym *sym = (struct elf64_sym *)(b + 0x800);
	struct ukvm_note note = {.abi_version = f->abi, .syscall_entry = f->vaddr + 0x100,
				 .exc_stubs = f->vaddr + 0x200};
	uint32_t nh[3] = {5, sizeof(note), UKVM_NOTE_TYPE};

	memset(b, 0, sizeof(words));
	memcpy(b, "\x7f" "ELF\x02\x01\x01", 7);
	eh->e_type = ELF64_ET_EXEC;
	eh->e_machine = ELF64_EM_X86_64;
	eh->e_version = 1;
	eh->e_entry = f->vaddr;
	eh->e_phoff = 64;
	eh->e_ehsize = 64;
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = f->note ? 2 : 1;
	ph[0] = (struct elf64_phdr){ELF64_PT_LOAD, ELF64_PF_R | ELF64_PF_X, 0x1000, f->vaddr, f->paddr,
				    0x1000, 0x3000, 0x1000};
	ph[1] = (struct elf64_phdr){ELF64_PT_NOTE, ELF64_PF_R, 0x400, 0, 0, 20 + sizeof(note), 20 + sizeof(note), 4};
	memcpy(b + 0x400, nh, sizeof(nh));
	memcpy(b + 0x40c, "ukvm", 5);
	memcpy(b + 0x414, &note, sizeof(note));
	memset(b + 0x1000, 0xf4, 0x1000); /* recognisable segment contents: hlt */
	eh->e_shoff = 0x600;
	eh->e_shnum = 3;
	eh->e_shentsize = sizeof(*sh);
	sh[1] = (struct elf64_shdr){.sh_type = ELF64_SHT_SYMTAB, .sh_offset = 0x800, .sh_size = 3 * sizeof(*sym),
				    .sh_link = 2, .sh_entsize = sizeof(*sym)};
	sh[2] = (struct elf64_shdr){.sh_type = ELF64_SHT_STRTAB, .sh_offset = 0x900, .sh_size = 20};
	memcpy(b + 0x900, "\0k_syscall\0k_entry", 19);
	/* Listed out of address order: the packer must sort them. */
	sym[1] = (struct elf64_sym){.st_name = 1, .st_info = ELF64_STT_FUNC, .st_value = f->vaddr + 0x100, .st_size = 16};
	sym[2] = (struct elf64_sym){.st_name = 11, .st_info = ELF64_STT_FUNC, .st_value = f->vaddr, .st_size = 32};
	write_bytes(path, b, sizeof(words), 0644);
}

static char kernel_path[128];

static void setup(void)
{
	struct fake k = {KVBASE + 0x100000, 0x100000, true, UKVM_ABI_VERSION};

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ukvm-imgbuild-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	path_in_tmp(kernel_path, sizeof(kernel_path), "kernel.elf");
	write_fake(kernel_path, &k);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
}

/* What a parsed image holds. */
struct parsed {
	struct elf_info info;
	struct ukvm_note note;
	const struct ukvm_payload_hdr *hdr;
	const uint8_t *pay;
	const uint8_t *img;
};

static void parse_image(const struct pack_result *r, struct parsed *p)
{
	const void *desc;
	size_t dlen;
	unsigned i;
	int bad;

	ck_assert_int_eq(elf_parse(r->image, r->size, &p->info, &bad), ELF_OK);
	ck_assert_int_eq(elf_find_note(r->image, r->size, &p->info, UKVM_NOTE_NAME, UKVM_NOTE_TYPE, &desc, &dlen), 0);
	ck_assert_uint_eq(dlen, sizeof(p->note));
	memcpy(&p->note, desc, sizeof(p->note));
	ck_assert_uint_eq(p->note.abi_version, UKVM_ABI_VERSION);
	ck_assert_uint_eq(p->note.payload_gpa, r->payload_gpa);
	ck_assert_uint_eq(p->note.payload_size, r->payload_size);
	ck_assert_uint_eq(p->note.syscall_entry, KVBASE + 0x100000 + 0x100);
	p->pay = NULL;
	p->img = r->image;
	for (i = 0; i < p->info.phnum; i++) {
		const struct elf64_phdr *ph = &p->info.ph[i];

		if (ph->p_type == ELF64_PT_LOAD && ph->p_paddr == r->payload_gpa) {
			ck_assert_uint_eq(ph->p_vaddr, r->payload_gpa);
			ck_assert_uint_eq(ph->p_filesz, r->payload_size);
			ck_assert_uint_eq(ph->p_flags, ELF64_PF_R);
			p->pay = r->image + ph->p_offset;
		}
		if (ph->p_type == ELF64_PT_LOAD && ph->p_paddr == 0x100000) {
			ck_assert_uint_eq(ph->p_vaddr, KVBASE + 0x100000);
			ck_assert_uint_eq(ph->p_memsz, 0x3000);
			ck_assert_uint_eq(r->image[ph->p_offset + 0xfff], 0xf4);
		}
	}
	ck_assert_ptr_nonnull(p->pay);
	p->hdr = (const struct ukvm_payload_hdr *)p->pay;
	ck_assert_mem_eq(p->hdr->magic, UKVM_PAYLOAD_MAGIC, 8);
	ck_assert_uint_le(p->hdr->strs_off + p->hdr->strs_size, r->payload_size);
}

/* Finds a file record by guest path; returns its index in record order or -1, and its data. */
static int find_rec(const struct parsed *p, const char *name, uint32_t *mode, const uint8_t **data, uint64_t *size)
{
	uint64_t off = p->hdr->files_off, end = off + p->hdr->files_size;
	int idx = 0;

	while (off < end) {
		struct ukvm_file_rec rec;
		const char *rname;

		memcpy(&rec, p->pay + off, sizeof(rec));
		rname = (const char *)p->pay + off + sizeof(rec);
		ck_assert_uint_eq(rname[rec.name_len - 1], '\0');
		if (strcmp(rname, name) == 0) {
			*mode = rec.mode;
			*data = p->pay + off + sizeof(rec) + rec.name_len;
			*size = rec.size;
			return idx;
		}
		off += (sizeof(rec) + rec.name_len + rec.size + 7) & ~7ull;
		idx++;
	}
	return -1;
}

static int img_has_func(void *ctx, const char *name, uint64_t value, uint64_t size)
{
	(void)size;
	if (strcmp(name, (const char *)((void **)ctx)[0]) == 0)
		*(uint64_t *)((void **)ctx)[1] = value;
	return 0;
}

/* Index of the image PT_LOAD at physical paddr, or -1. */
static int image_seg_at(const struct parsed *p, uint64_t paddr)
{
	for (unsigned i = 0; i < p->info.phnum; i++)
		if (p->info.ph[i].p_type == ELF64_PT_LOAD && p->info.ph[i].p_paddr == paddr)
			return (int)i;
	return -1;
}

static unsigned image_nload(const struct parsed *p)
{
	unsigned n = 0;

	for (unsigned i = 0; i < p->info.phnum; i++)
		n += p->info.ph[i].p_type == ELF64_PT_LOAD;
	return n;
}

/* The monitor's own loader rules (vmm/loader.c) accept the image and list exactly want PT_LOADs to reserve. */
static void monitor_accepts(const struct pack_result *r, unsigned want)
{
	struct loader_image li;
	char err[256] = "";

	memset(&li, 0, sizeof(li));
	ck_assert_msg(loader_check(r->image, r->size, 64ull << 20, "t.img", &li, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(li.nsegs, want);
}

/*
 * A non-PIE app is placed: each non-empty app PT_LOAD is an image PT_LOAD at
 * the same address (vaddr = paddr), same flags/sizes/bytes, page-aligned.
 */
static void check_placed(const struct parsed *p, const uint8_t *abuf, const struct elf_info *app)
{
	unsigned i, napp = 0;

	ck_assert_uint_eq(p->hdr->flags, UKVM_PAYLOAD_APP_PLACED | UKVM_PAYLOAD_APP_NAME);
	for (i = 0; i < app->phnum; i++) {
		const struct elf64_phdr *ap = &app->ph[i], *ip;
		int k;

		if (ap->p_type != ELF64_PT_LOAD || ap->p_memsz == 0)
			continue;
		napp++;
		k = image_seg_at(p, ap->p_vaddr);
		ck_assert_msg(k >= 0, "app segment %u at 0x%llx not placed", i, (unsigned long long)ap->p_vaddr);
		ip = &p->info.ph[k];
		ck_assert_uint_eq(ip->p_vaddr, ap->p_vaddr);
		ck_assert_uint_eq(ip->p_filesz, ap->p_filesz);
		ck_assert_uint_eq(ip->p_memsz, ap->p_memsz);
		ck_assert_uint_eq(ip->p_flags, ap->p_flags);
		ck_assert_uint_eq(ip->p_align, 4096);
		ck_assert_uint_eq(ip->p_offset % 4096, ip->p_vaddr % 4096);
		ck_assert_mem_eq(p->img + ip->p_offset, abuf + ap->p_offset, ap->p_filesz);
	}
	ck_assert_uint_gt(napp, 0);
	/* The fake kernel's one segment, the app's, the payload: nothing else. */
	ck_assert_uint_eq(image_nload(p), 1 + napp + 1);
}

static uint64_t image_func(const struct pack_result *r, const char *name)
{
	uint64_t v = 0;
	void *ctx[2] = {(void *)name, &v};

	ck_assert_int_gt(elf_for_each_func(r->image, r->size, img_has_func, ctx), 0);
	return v;
}

START_TEST(test_static_app)
{
	char data_path[160], tree[160], sub[160], leaf[160], err[512];
	uint8_t blob[3000];
	struct pack_spec specs[2];
	struct pack_result r;
	struct parsed p;
	struct elf_info app;
	const struct ukvm_sym *syms;
	const uint8_t *d;
	uint64_t sz, expect_gpa;
	uint32_t mode;
	size_t alen, i;
	uint8_t *abuf = read_all(ELF_TEST_STATIC, &alen);
	int bad, i_etc, i_x, i_leaf;
	bool saw_app = false;

	for (i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(i * 7 + (i >> 3));
	path_in_tmp(data_path, sizeof(data_path), "data.bin");
	write_bytes(data_path, blob, sizeof(blob), 0600);
	path_in_tmp(tree, sizeof(tree), "tree");
	path_in_tmp(sub, sizeof(sub), "tree/x");
	path_in_tmp(leaf, sizeof(leaf), "tree/x/y.txt");
	ck_assert_int_eq(mkdir(tree, 0755), 0);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	write_bytes(leaf, "leaf\n", 5, 0644);
	specs[0] = (struct pack_spec){data_path, "/data.bin", false};
	specs[1] = (struct pack_spec){tree, "/etc/", true};

	ck_assert_int_eq(pack_build(&(struct pack_input){.kernel_path = kernel_path, .app_path = ELF_TEST_STATIC, .specs = specs, .nspecs = 2}, &r, err,
				    sizeof(err)), 0);
	parse_image(&r, &p);

	/* Payload above both the kernel (ends 0x103000) and the app, on a 2 MiB boundary. */
	ck_assert_int_eq(elf_parse(abuf, alen, &app, &bad), ELF_OK);
	expect_gpa = (app.hi + (2u << 20) - 1) & ~((2ull << 20) - 1);
	ck_assert_uint_eq(r.payload_gpa, expect_gpa);
	ck_assert_uint_eq(r.payload_gpa % (2u << 20), 0);

	/* Placed, and still whole in the payload: the guest validates it and reads its headers. */
	ck_assert_uint_eq(p.hdr->app_size, alen);
	/* The app's own name (the default argv[0]) right after the header. */
	ck_assert_uint_ne(p.hdr->flags & UKVM_PAYLOAD_APP_NAME, 0);
	struct ukvm_payload_name nm;
	memcpy(&nm, p.pay + sizeof(struct ukvm_payload_hdr), sizeof(nm));
	ck_assert_uint_eq(nm.name_off, sizeof(struct ukvm_payload_hdr) + sizeof(nm));
	ck_assert_uint_eq(nm.name_size, sizeof("hello-static"));
	ck_assert_str_eq((const char *)p.pay + nm.name_off, "hello-static");
	/* Then the app (16-aligned): its ELF headers share the header's page. */
	ck_assert_uint_eq(p.hdr->app_off, (nm.name_off + nm.name_size + 15) & ~15ul);
	ck_assert_mem_eq(p.pay + p.hdr->app_off, abuf, alen);
	check_placed(&p, abuf, &app);
	monitor_accepts(&r, image_nload(&p));

	ck_assert_int_ge(find_rec(&p, "/data.bin", &mode, &d, &sz), 0);
	ck_assert_uint_eq(mode, S_IFREG | 0600);
	ck_assert_uint_eq(sz, sizeof(blob));
	ck_assert_mem_eq(d, blob, sizeof(blob));
	i_etc = find_rec(&p, "/etc", &mode, &d, &sz);
	ck_assert_uint_eq(mode, S_IFDIR | 0755);
	i_x = find_rec(&p, "/etc/x", &mode, &d, &sz);
	ck_assert_uint_eq(mode, S_IFDIR | 0700);
	i_leaf = find_rec(&p, "/etc/x/y.txt", &mode, &d, &sz);
	ck_assert_uint_eq(sz, 5);
	ck_assert_mem_eq(d, "leaf\n", 5);
	ck_assert(i_etc >= 0 && i_etc < i_x && i_x < i_leaf);

	/* Symbols: kernel group first, each group by address; names resolve. */
	syms = (const struct ukvm_sym *)(p.pay + p.hdr->syms_off);
	ck_assert_uint_gt(p.hdr->syms_count, 10);
	ck_assert_str_eq((const char *)p.pay + p.hdr->strs_off + syms[0].name_off, "k_entry");
	ck_assert_str_eq((const char *)p.pay + p.hdr->strs_off + syms[1].name_off, "k_syscall");
	for (i = 1; i < p.hdr->syms_count; i++) {
		ck_assert_uint_lt(syms[i].name_off, p.hdr->strs_size);
		if ((syms[i].flags & UKVM_SYM_APP) == (syms[i - 1].flags & UKVM_SYM_APP))
			ck_assert_uint_ge(syms[i].addr, syms[i - 1].addr);
		else
			ck_assert(syms[i].flags & UKVM_SYM_APP);
		ck_assert(!(syms[i].flags & UKVM_SYM_PIE));
		if (strcmp((const char *)p.pay + p.hdr->strs_off + syms[i].name_off, "main") == 0)
			saw_app = (syms[i].flags & UKVM_SYM_APP) != 0;
	}
	ck_assert(saw_app);

	/* The image's own symtab names kernel and app functions for the monitor. */
	ck_assert_uint_eq(image_func(&r, "k_entry"), KVBASE + 0x100000);
	ck_assert_uint_ge(image_func(&r, "main"), app.lo);
	pack_result_free(&r);
	free(abuf);
}
END_TEST

static void collect_warning(void *ctx, const char *msg)
{
	char *buf = ctx;

	strncat(buf, msg, 511 - strlen(buf));
	strncat(buf, "\n", 511 - strlen(buf));
}

/*
 * ukvm-oci's options: excluded guest paths leave their subtree out of a --dir
 * walk while a --file may still fill one, notices go to the caller, and the
 * app's recorded name is the caller's.
 */
START_TEST(test_exclude_warn_name)
{
	char tree[160], f[200], over[160], warned[512] = "", err[512] = "";
	static const char *const excl[] = {"/proc", "/etc/hosts"};
	struct pack_spec specs[2];
	struct pack_result r;
	struct parsed p;
	uint32_t mode;
	const uint8_t *d;
	uint64_t sz;

	path_in_tmp(tree, sizeof(tree), "root");
	ck_assert_int_eq(mkdir(tree, 0755), 0);
	snprintf(f, sizeof(f), "%s/proc", tree);
	ck_assert_int_eq(mkdir(f, 0555), 0);
	snprintf(f, sizeof(f), "%s/proc/version", tree);
	write_bytes(f, "fake", 4, 0644);
	snprintf(f, sizeof(f), "%s/etc", tree);
	ck_assert_int_eq(mkdir(f, 0755), 0);
	snprintf(f, sizeof(f), "%s/etc/hosts", tree);
	write_bytes(f, "image's", 7, 0644);
	snprintf(f, sizeof(f), "%s/etc/passwd", tree);
	write_bytes(f, "root", 4, 0644);
	snprintf(f, sizeof(f), "%s/etc/link", tree);
	ck_assert_int_eq(symlink("passwd", f), 0);
	snprintf(f, sizeof(f), "%s/etc/fifo", tree);
	ck_assert_int_eq(mkfifo(f, 0644), 0);
	path_in_tmp(over, sizeof(over), "hosts");
	write_bytes(over, "mount's", 7, 0644);
	specs[0] = (struct pack_spec){tree, "/", true};
	specs[1] = (struct pack_spec){over, "/etc/hosts", false};
	struct pack_input in = {.kernel_path = kernel_path, .app_path = ELF_TEST_STATIC, .specs = specs, .nspecs = 2,
				.app_name = "/proc/self/fd/7/sh",
				.exclude = excl, .nexclude = 2, .warn = collect_warning, .warn_ctx = warned};
	ck_assert_int_eq(pack_build(&in, &r, err, sizeof(err)), 0);
	parse_image(&r, &p);
	ck_assert_int_lt(find_rec(&p, "/proc", &mode, &d, &sz), 0);
	ck_assert_int_lt(find_rec(&p, "/proc/version", &mode, &d, &sz), 0);
	ck_assert_int_ge(find_rec(&p, "/etc/passwd", &mode, &d, &sz), 0);
	ck_assert_int_ge(find_rec(&p, "/etc/hosts", &mode, &d, &sz), 0);
	ck_assert_uint_eq(sz, 7);
	ck_assert_mem_eq(d, "mount's", 7);
	/* A symbolic link is packed as one (its target as data); a FIFO is not packed. */
	ck_assert_int_ge(find_rec(&p, "/etc/link", &mode, &d, &sz), 0);
	ck_assert_uint_eq(mode, S_IFLNK | 0777);
	ck_assert_uint_eq(sz, 6);
	ck_assert_mem_eq(d, "passwd", 6);
	ck_assert_msg(strstr(warned, "/etc/fifo: not a regular file, directory or symbolic link, skipped\n"), "%s", warned);
	struct ukvm_payload_name nm;
	memcpy(&nm, p.pay + sizeof(struct ukvm_payload_hdr), sizeof(nm));
	ck_assert_str_eq((const char *)p.pay + nm.name_off, "sh");
	pack_result_free(&r);
	/* Without the exclusion the image's /etc/hosts and the --file collide, as before. */
	in.nexclude = 1;
	ck_assert_int_lt(pack_build(&in, &r, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "packed twice"), "%s", err);
}
END_TEST

/* Records made by pack_files and given back as files_base give the same image as one walk (ukvm-oci's cache). */
START_TEST(test_files_base)
{
	char tree[160], f[200], over[160], err[512] = "";
	static const char *const excl[] = {"/etc/hosts"};
	struct pack_spec all[3], rest[2];
	struct pack_result recs, one, two;

	path_in_tmp(tree, sizeof(tree), "root");
	ck_assert_int_eq(mkdir(tree, 0755), 0);
	snprintf(f, sizeof(f), "%s/etc", tree);
	ck_assert_int_eq(mkdir(f, 0755), 0);
	snprintf(f, sizeof(f), "%s/etc/passwd", tree);
	write_bytes(f, "root", 4, 0644);
	snprintf(f, sizeof(f), "%s/etc/hosts", tree);
	write_bytes(f, "image's", 7, 0644);
	path_in_tmp(over, sizeof(over), "hosts");
	write_bytes(over, "mount's", 7, 0644);
	all[0] = (struct pack_spec){tree, "/", true};
	all[1] = rest[0] = (struct pack_spec){over, "/etc/hosts", false};
	all[2] = rest[1] = (struct pack_spec){over, "/new/dir/hosts", false};
	struct pack_input in = {.kernel_path = kernel_path, .app_path = ELF_TEST_STATIC, .specs = all, .nspecs = 3,
				.exclude = excl, .nexclude = 1};
	ck_assert_msg(pack_build(&in, &one, err, sizeof(err)) == 0, "%s", err);
	in.nspecs = 1;
	ck_assert_msg(pack_files(&in, &recs, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_gt(recs.size, 0);
	in.specs = rest;
	in.nspecs = 2;
	in.files_base = recs.image;
	in.files_base_size = recs.size;
	ck_assert_msg(pack_build(&in, &two, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(one.size, two.size);
	ck_assert_mem_eq(one.image, two.image, one.size);
	pack_result_free(&one);
	pack_result_free(&two);
	/* A spec over a path the records hold is packed twice, as within one walk. */
	rest[1] = (struct pack_spec){over, "/etc/passwd", false};
	ck_assert_int_lt(pack_build(&in, &two, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "/etc/passwd: guest path packed twice"), "%s", err);
	/* The records count toward files_max. */
	in.nspecs = 0;
	in.files_max = recs.size - 1;
	ck_assert_int_eq(pack_build(&in, &two, err, sizeof(err)), -EFBIG);
	in.files_max = recs.size;
	ck_assert_msg(pack_build(&in, &two, err, sizeof(err)) == 0, "%s", err);
	pack_result_free(&two);
	pack_result_free(&recs);
}
END_TEST

/* files_base is input like any other: each damaged form refused, never read past its end. */
START_TEST(test_files_base_hostile)
{
	uint8_t buf[256];
	char err[512];
	struct pack_result r;
	struct {
		uint32_t mode;
		const char *name;
		uint32_t name_len; /* 0: strlen + 1 */
		uint64_t size;
		size_t cut; /* bytes dropped from the end */
		const char *want;
	} cases[] = {
		{S_IFREG | 0644, "/a", 0, 0, 1, "padding past the end"},
		{S_IFREG | 0644, "/a", 0, 0, 17, "truncated"},
		{S_IFREG | 0644, "/a", 1, 0, 0, "bad record"},
		{S_IFREG | 0644, "/a", 40, 0, 0, "bad record"},       /* name past the end */
		{S_IFREG | 0644, "/ab", 3, 0, 0, "bad record"},        /* no NUL where it ends */
		{S_IFREG | 0644, "a/b", 0, 0, 0, "bad record"},        /* not absolute */
		{S_IFREG | 0644, "/a/../b", 0, 0, 0, "bad record"},
		{S_IFDIR | 0755, "/", 0, 0, 0, "bad record"},
		{S_IFCHR | 0644, "/a", 0, 0, 0, "bad record"},
		{S_IFDIR | 0755, "/a", 0, 8, 0, "bad record"},         /* a directory with data */
		{S_IFREG | 0644, "/a", 0, 1ull << 40, 0, "bad record"}, /* data past the end */
		{S_IFREG | 0644, "/x/a", 0, 0, 0, "before its directory"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ukvm_file_rec rec = {.mode = cases[i].mode, .size = cases[i].size};
		size_t nl = strlen(cases[i].name) + 1, len;
		rec.name_len = cases[i].name_len ? cases[i].name_len : (uint32_t)nl;
		memset(buf, 0, sizeof(buf));
		memcpy(buf, &rec, sizeof(rec));
		memcpy(buf + sizeof(rec), cases[i].name, nl);
		len = (sizeof(rec) + nl + 7) & ~(size_t)7;
		len -= cases[i].cut;
		struct pack_input in = {.kernel_path = kernel_path, .app_path = ELF_TEST_STATIC, .files_base = buf,
					.files_base_size = len};
		err[0] = '\0';
		ck_assert_msg(pack_build(&in, &r, err, sizeof(err)) == -EINVAL, "case %zu", i);
		ck_assert_msg(strstr(err, cases[i].want), "case %zu: %s", i, err);
	}
	/* The same path twice. */
	size_t off = 0;
	const char *names[] = {"/d", "/d"};
	for (int i = 0; i < 2; i++) {
		struct ukvm_file_rec rec = {.mode = S_IFDIR | 0755, .name_len = 3};
		memcpy(buf + off, &rec, sizeof(rec));
		memcpy(buf + off + sizeof(rec), names[i], 3);
		off += (sizeof(rec) + 3 + 7) & ~(size_t)7;
	}
	struct pack_input in = {.kernel_path = kernel_path, .app_path = ELF_TEST_STATIC, .files_base = buf,
				.files_base_size = off};
	ck_assert_int_eq(pack_build(&in, &r, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "/d twice"), "%s", err);
}
END_TEST

/* files_max refuses a file that would not fit before reading it, and counts every record. */
START_TEST(test_files_max)
{
	char dir[160], f[200], err[512] = "";
	struct pack_result r;
	static uint8_t big[1 << 20];

	path_in_tmp(dir, sizeof(dir), "sized");
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	snprintf(f, sizeof(f), "%s/big", dir);
	write_bytes(f, big, sizeof(big), 0644);
	struct pack_spec spec = {dir, "/s", true};
	struct pack_input in = {.kernel_path = kernel_path, .app_path = ELF_TEST_STATIC, .specs = &spec, .nspecs = 1,
				.files_max = sizeof(big)};
	ck_assert_int_eq(pack_build(&in, &r, err, sizeof(err)), -EFBIG);
	ck_assert_msg(strstr(err, "/s/big: the files reach more than 1048576 bytes"), "%s", err);
	ck_assert_int_eq(pack_files(&in, &r, err, sizeof(err)), -EFBIG);
	in.files_max = sizeof(big) + 4096;
	ck_assert_msg(pack_files(&in, &r, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_le(r.size, in.files_max);
	pack_result_free(&r);
}
END_TEST

START_TEST(test_pie_app)
{
	struct pack_result r;
	struct parsed p;
	const struct ukvm_sym *syms;
	char err[512];
	size_t i;
	bool saw_main = false;

	size_t alen;
	uint8_t *abuf = read_all(ELF_TEST_PIE, &alen);

	ck_assert_int_eq(pack_build(&(struct pack_input){.kernel_path = kernel_path, .app_path = ELF_TEST_PIE, .specs = NULL, .nspecs = 0}, &r, err, sizeof(err)), 0);
	parse_image(&r, &p);
	/* A PIE app goes wherever the guest puts it: only the kernel's end counts. */
	ck_assert_uint_eq(r.payload_gpa, 2u << 20);
	ck_assert_uint_eq(p.hdr->files_size, 0);
	/* Not placed: the guest copies it from the payload, as before. */
	ck_assert_uint_eq(p.hdr->flags, UKVM_PAYLOAD_APP_NAME);
	ck_assert_uint_eq(image_nload(&p), 2);
	ck_assert_uint_eq(p.hdr->app_size, alen);
	ck_assert_mem_eq(p.pay + p.hdr->app_off, abuf, alen);
	monitor_accepts(&r, 2);
	free(abuf);
	syms = (const struct ukvm_sym *)(p.pay + p.hdr->syms_off);
	for (i = 0; i < p.hdr->syms_count; i++)
		if (strcmp((const char *)p.pay + p.hdr->strs_off + syms[i].name_off, "main") == 0) {
			ck_assert_uint_eq(syms[i].flags, UKVM_SYM_APP | UKVM_SYM_PIE);
			saw_main = true;
		}
	ck_assert(saw_main);
	ck_assert_uint_eq(image_func(&r, "main"), 0); /* relative addresses stay out of the image symtab */
	ck_assert_uint_ne(image_func(&r, "k_syscall"), 0);
	pack_result_free(&r);
}
END_TEST

START_TEST(test_write_atomic)
{
	char out[160], err[512];
	struct stat st;
	size_t len;
	void *back;

	path_in_tmp(out, sizeof(out), "out.img");
	ck_assert_int_eq(pack_write(out, "abcdef", 6, err, sizeof(err)), 0);
	ck_assert_int_eq(stat(out, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	back = read_all(out, &len);
	ck_assert_uint_eq(len, 6);
	ck_assert_mem_eq(back, "abcdef", 6);
	free(back);
	ck_assert_int_lt(pack_write("/nonexistent-dir/x.img", "a", 1, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent-dir/x.img"));
}
END_TEST

START_TEST(test_parse_spec)
{
	char a[] = "host/file.txt:/guest/f", b[] = "plain", c[] = ":/x";
	struct pack_spec s;

	ck_assert_int_eq(pack_parse_spec(a, false, &s), 0);
	ck_assert_str_eq(s.host, "host/file.txt");
	ck_assert_str_eq(s.guest, "/guest/f");
	ck_assert_int_eq(pack_parse_spec(b, true, &s), 0);
	ck_assert_ptr_null(s.guest);
	ck_assert(s.dir);
	ck_assert_int_eq(pack_parse_spec(c, false, &s), -EINVAL);
}
END_TEST

/* Builds with a hand-made app or kernel and expects a refusal whose message contains want. */
static void expect_refusal(const char *kernel, const char *app, const struct pack_spec *specs, size_t n,
			   const char *want)
{
	struct pack_result r;
	char err[512] = "";

	ck_assert_int_lt(pack_build(&(struct pack_input){.kernel_path = kernel, .app_path = app, .specs = specs, .nspecs = n}, &r, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" lacks \"%s\"", err, want);
	ck_assert_ptr_null(r.image);
}

START_TEST(test_app_overlaps_kernel)
{
	char app[160];

	path_in_tmp(app, sizeof(app), "low.elf");
	write_fake(app, &(struct fake){0x101000, 0x101000, false, 0});
	expect_refusal(kernel_path, app, NULL, 0, "overlaps the kernel");
	write_fake(app, &(struct fake){0x10000, 0x10000, false, 0});
	expect_refusal(kernel_path, app, NULL, 0, "below 0x100000");
}
END_TEST

/*
 * A non-PIE app of n PT_LOADs (0x10 bytes of memory each, one page apart from
 * 0x400000; the first holds the entry), no file bytes, no sections.
 */
static void write_many_segs(const char *path, unsigned n)
{
	static uint64_t words[0x1000 / 8];
	uint8_t *b = (uint8_t *)words;
	struct elf64_ehdr *eh = (struct elf64_ehdr *)b;
	struct elf64_phdr *ph = (struct elf64_phdr *)(b + 64);

	ck_assert_uint_le(64 + n * sizeof(*ph), sizeof(words));
	memset(b, 0, sizeof(words));
	memcpy(b, "\x7f" "ELF\x02\x01\x01", 7);
	eh->e_type = ELF64_ET_EXEC;
	eh->e_machine = ELF64_EM_X86_64;
	eh->e_version = 1;
	eh->e_entry = 0x400000;
	eh->e_phoff = 64;
	eh->e_ehsize = 64;
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = (uint16_t)n;
	for (unsigned i = 0; i < n; i++)
		ph[i] = (struct elf64_phdr){ELF64_PT_LOAD, ELF64_PF_R | (i == 0 ? ELF64_PF_X : ELF64_PF_W), 0,
					    0x400000 + i * 0x1000ull, 0x400000 + i * 0x1000ull, 0, 0x10, 0x1000};
	write_bytes(path, b, sizeof(words), 0755);
}

/* Placed segments count against the image's program header limit: kernel + app + payload + note <= ELF_MAX_PHNUM. */
START_TEST(test_segment_limit)
{
	char app[160], err[512];
	struct pack_result r;
	struct parsed p;

	path_in_tmp(app, sizeof(app), "many.elf");
	write_many_segs(app, ELF_MAX_PHNUM - 3);
	ck_assert_int_eq(pack_build(&(struct pack_input){.kernel_path = kernel_path, .app_path = app, .specs = NULL, .nspecs = 0}, &r, err, sizeof(err)), 0);
	parse_image(&r, &p);
	ck_assert_uint_eq(p.info.phnum, ELF_MAX_PHNUM);
	ck_assert_uint_eq(image_nload(&p), 1 + ELF_MAX_PHNUM - 3 + 1);
	ck_assert_uint_eq(p.hdr->flags, UKVM_PAYLOAD_APP_PLACED | UKVM_PAYLOAD_APP_NAME);
	ck_assert_int_ge(image_seg_at(&p, 0x400000 + (ELF_MAX_PHNUM - 4) * 0x1000ull), 0);
	monitor_accepts(&r, image_nload(&p));
	pack_result_free(&r);
	write_many_segs(app, ELF_MAX_PHNUM - 2);
	expect_refusal(kernel_path, app, NULL, 0, "too many PT_LOAD segments");
}
END_TEST

START_TEST(test_bad_kernel)
{
	char k[160];

	path_in_tmp(k, sizeof(k), "bare.elf");
	write_fake(k, &(struct fake){KVBASE + 0x100000, 0x100000, false, 0});
	expect_refusal(k, ELF_TEST_STATIC, NULL, 0, "no ukvm note");
	write_fake(k, &(struct fake){KVBASE + 0x100000, 0x100000, true, UKVM_ABI_VERSION + 1});
	expect_refusal(k, ELF_TEST_STATIC, NULL, 0, "ABI version");
	write_fake(k, &(struct fake){KVBASE + 0x10000, 0x10000, true, UKVM_ABI_VERSION});
	expect_refusal(k, ELF_TEST_STATIC, NULL, 0, "below 0x100000");
	expect_refusal("/nonexistent/kernel.elf", ELF_TEST_STATIC, NULL, 0, "No such file");
}
END_TEST

START_TEST(test_bad_paths)
{
	char data[160];
	struct pack_spec rel = {NULL, "data", false}, dots = {NULL, "/a/../b", false}, dup[2];

	path_in_tmp(data, sizeof(data), "d.txt");
	write_bytes(data, "x", 1, 0644);
	rel.host = dots.host = data;
	expect_refusal(kernel_path, ELF_TEST_STATIC, &rel, 1, "must be absolute");
	expect_refusal(kernel_path, ELF_TEST_STATIC, &dots, 1, "must be absolute");
	dup[0] = dup[1] = (struct pack_spec){data, "/d.txt", false};
	expect_refusal(kernel_path, ELF_TEST_STATIC, dup, 2, "packed twice");
	dup[1] = (struct pack_spec){data, "/d.txt/under", false};
	expect_refusal(kernel_path, ELF_TEST_STATIC, dup, 2, "is a file");
	dup[0] = (struct pack_spec){tmpdir, "/d", false};
	expect_refusal(kernel_path, ELF_TEST_STATIC, dup, 1, "needs a regular file");
}
END_TEST

/* A FIFO as the app (or kernel) used to block ukvm-build in open() forever, waiting for a writer. */
START_TEST(test_fifo_refused)
{
	char fifo[160];

	path_in_tmp(fifo, sizeof(fifo), "app.fifo");
	ck_assert_int_eq(mkfifo(fifo, 0644), 0);
	alarm(10); /* a regression hangs: let it fail, not stall the run */
	expect_refusal(kernel_path, fifo, NULL, 0, "not a regular file");
	expect_refusal(fifo, ELF_TEST_STATIC, NULL, 0, "not a regular file");
	alarm(0);
}
END_TEST

/* Inside a --dir tree nothing is followed through a symlink, even one swapped in after the entry was looked at. */
START_TEST(test_dir_nofollow)
{
	char dir[160], link[200], target[160], err[512] = "";
	uint8_t *data = NULL;
	size_t len = 0;

	path_in_tmp(dir, sizeof(dir), "tree");
	path_in_tmp(target, sizeof(target), "outside.txt");
	write_bytes(target, "secret", 6, 0644);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	snprintf(link, sizeof(link), "%s/swapped", dir);
	ck_assert_int_eq(symlink(target, link), 0);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);
	/* What pk_add_dir does for an entry lstat() saw as a regular file: the swap is caught at open. */
	ck_assert_int_eq(pk_read_file_at(dfd, "swapped", link, true, &data, &len, err, sizeof(err)), -ELOOP);
	ck_assert_ptr_null(data);
	ck_assert_int_eq(pk_read_file_at(dfd, "swapped", link, false, &data, &len, err, sizeof(err)), 0);
	ck_assert_uint_eq(len, 6);
	free(data);
	close(dfd);
}
END_TEST

/* Thousands of files in a tree, and a duplicate among them still found (the lookup is a hash). */
START_TEST(test_many_files)
{
	char dir[160], f[200];
	struct pack_spec specs[2];
	struct pack_result r;
	char err[512] = "";

	path_in_tmp(dir, sizeof(dir), "many");
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	for (int i = 0; i < 3000; i++) {
		snprintf(f, sizeof(f), "%s/f%04d", dir, i);
		write_bytes(f, "x", 1, 0644);
	}
	specs[0] = (struct pack_spec){dir, "/m", true};
	ck_assert_int_eq(pack_build(&(struct pack_input){.kernel_path = kernel_path, .app_path = ELF_TEST_STATIC, .specs = specs, .nspecs = 1}, &r, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(r.image);
	pack_result_free(&r);
	snprintf(f, sizeof(f), "%s/f2999", dir);
	specs[1] = (struct pack_spec){f, "/m/f1234", false};
	expect_refusal(kernel_path, ELF_TEST_STATIC, specs, 2, "packed twice");
}
END_TEST

START_TEST(test_dynamic_rejected)
{
	if (access("/bin/true", R_OK) != 0)
		return; /* no host binary to try */
	expect_refusal(kernel_path, "/bin/true", NULL, 0, "dynamically linked (PT_INTERP); build it with musl-gcc -static");
}
END_TEST

START_TEST(test_not_elf)
{
	char junk[160];

	path_in_tmp(junk, sizeof(junk), "junk");
	write_bytes(junk, "#!/bin/sh\necho hi\n#######################################################\n", 64,
		    0755);
	expect_refusal(kernel_path, junk, NULL, 0, "bad magic");
	write_bytes(junk, "\x7f" "ELF", 4, 0755);
	expect_refusal(kernel_path, junk, NULL, 0, "smaller than an ELF header");
}
END_TEST

Suite *imgbuild_suite(void)
{
	Suite *s = suite_create("imgbuild");
	TCase *core = tcase_create("core");
	TCase *limits = tcase_create("limits");
	TCase *hostile = tcase_create("hostile");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_checked_fixture(limits, setup, teardown);
	tcase_add_checked_fixture(hostile, setup, teardown);
	tcase_add_test(core, test_static_app);
	tcase_add_test(core, test_pie_app);
	tcase_add_test(core, test_write_atomic);
	tcase_add_test(core, test_parse_spec);
	tcase_add_test(core, test_exclude_warn_name);
	tcase_add_test(limits, test_app_overlaps_kernel);
	tcase_add_test(limits, test_bad_kernel);
	tcase_add_test(limits, test_segment_limit);
	tcase_add_test(limits, test_bad_paths);
	tcase_add_test(hostile, test_dynamic_rejected);
	tcase_add_test(hostile, test_not_elf);
	tcase_add_test(hostile, test_fifo_refused);
	tcase_add_test(hostile, test_dir_nofollow);
	tcase_add_test(limits, test_many_files);
	tcase_add_test(core, test_files_base);
	tcase_add_test(hostile, test_files_base_hostile);
	tcase_add_test(limits, test_files_max);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	suite_add_tcase(s, hostile);
	return s;
}
