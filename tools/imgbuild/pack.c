/* pack.c: ukvm-build's core: validates kernel and app, lays out the payload and writes the bootable image ELF. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf.h"
#include "loader.h"
#include "pack_int.h"
#include "ukvm_abi.h"

#define PK_2M (2ull << 20)
#define PK_PAGE 4096ull
#define PK_SHN_ABS 0xfff1
#define PK_STB_GLOBAL 1

static const char pk_shstrtab[] = "\0.symtab\0.strtab\0.shstrtab";
#define PK_SHSTR_SYMTAB 1
#define PK_SHSTR_STRTAB 9
#define PK_SHSTR_SHSTRTAB 17

/* Kernel-side facts the layout needs. */
struct pk_kernel {
	struct elf_info info;
	struct ukvm_note note;
	uint64_t phys_end; /* highest p_paddr + p_memsz of its PT_LOADs */
	unsigned nload;
};

static int pk_check_kernel(const uint8_t *k, size_t klen, const char *path, struct pk_kernel *out, char *err,
			   size_t errlen)
{
	const void *desc;
	size_t dlen;
	enum elf_err e;
	unsigned i;
	int bad, r;

	e = elf_parse(k, klen, &out->info, &bad);
	if (e != ELF_OK)
		return pk_fail(err, errlen, -EINVAL, "kernel %s: %s%s", path, elf_strerror(e),
			       bad >= 0 ? " (a program header)" : "");
	r = elf_find_note(k, klen, &out->info, UKVM_NOTE_NAME, UKVM_NOTE_TYPE, &desc, &dlen);
	if (r != 0)
		return pk_fail(err, errlen, -EINVAL, "kernel %s: %s", path,
			       r == -1 ? "no ukvm note (not a ukvm guest kernel)" : "malformed note segment");
	if (dlen != sizeof(out->note))
		return pk_fail(err, errlen, -EINVAL, "kernel %s: ukvm note is %zu bytes, expected %zu", path, dlen,
			       sizeof(out->note));
	memcpy(&out->note, desc, sizeof(out->note));
	if (out->note.abi_version != UKVM_ABI_VERSION)
		return pk_fail(err, errlen, -EINVAL, "kernel %s: ukvm ABI version %u, this ukvm-build makes version %u",
			       path, out->note.abi_version, UKVM_ABI_VERSION);
	out->phys_end = 0;
	out->nload = 0;
	for (i = 0; i < out->info.phnum; i++) {
		const struct elf64_phdr *ph = &out->info.ph[i];

		if (ph->p_type != ELF64_PT_LOAD)
			continue;
		if (ph->p_paddr < UKVM_KERNEL_PHYS)
			return pk_fail(err, errlen, -EINVAL, "kernel %s: segment %u at physical 0x%llx, below 0x%llx", path,
				       i, (unsigned long long)ph->p_paddr, UKVM_KERNEL_PHYS);
		if (ph->p_paddr + ph->p_memsz > out->phys_end) /* elf_parse checked it does not wrap */
			out->phys_end = ph->p_paddr + ph->p_memsz;
		out->nload++;
	}
	return 0;
}

static int pk_check_app(const uint8_t *a, size_t alen, const char *path, const struct pk_kernel *k,
			struct elf_info *info, char *err, size_t errlen)
{
	enum elf_err e;
	unsigned i;
	int bad;

	e = elf_parse(a, alen, info, &bad);
	if (e != ELF_OK) {
		if (bad >= 0)
			return pk_fail(err, errlen, -EINVAL, "%s: program header %d: %s", path, bad, elf_strerror(e));
		return pk_fail(err, errlen, -EINVAL, "%s: %s", path, elf_strerror(e));
	}
	if (info->interp)
		return pk_fail(err, errlen, -EINVAL, "%s: dynamically linked (PT_INTERP); build it with musl-gcc -static",
			       path);
	/* Only a static-PIE (ET_DYN, no interpreter) may carry PT_DYNAMIC: its own relocations. */
	if (info->dynamic && !info->pie)
		return pk_fail(err, errlen, -EINVAL, "%s: dynamically linked (PT_DYNAMIC); build it with musl-gcc -static",
			       path);
	if (info->pie)
		return 0;
	for (i = 0; i < info->phnum; i++) {
		const struct elf64_phdr *ph = &info->ph[i];

		if (ph->p_type != ELF64_PT_LOAD || ph->p_memsz == 0)
			continue;
		if (ph->p_vaddr < UKVM_KERNEL_PHYS)
			return pk_fail(err, errlen, -EINVAL,
				       "%s: segment %u at 0x%llx lies below 0x%llx (reserved for the monitor)", path, i,
				       (unsigned long long)ph->p_vaddr, UKVM_KERNEL_PHYS);
		if (ph->p_vaddr < k->phys_end)
			return pk_fail(err, errlen, -EINVAL,
				       "%s: segment %u [0x%llx, 0x%llx) overlaps the kernel [0x%llx, 0x%llx)", path, i,
				       (unsigned long long)ph->p_vaddr, (unsigned long long)(ph->p_vaddr + ph->p_memsz),
				       UKVM_KERNEL_PHYS, (unsigned long long)k->phys_end);
	}
	return 0;
}

/* The app's file name as given (its last path component), or NULL when it cannot be the default argv[0]. */
static const char *pk_app_name(const char *path, size_t *len)
{
	const char *s = strrchr(path, '/');
	s = s ? s + 1 : path;
	*len = strlen(s) + 1;
	return *len >= 2 && *len <= UKVM_PAYLOAD_NAME_MAX ? s : NULL;
}

/*
 * Payload: header, the app's name (struct ukvm_payload_name and the
 * string), app (16-aligned, right after them: the guest's
 * elf_parse then reads the page it already touched for the header, one first
 * touch less on PVM), file records, symbols, names. Offsets are from the header.
 */
static int pk_payload(struct pk_buf *p, const uint8_t *app, size_t alen, bool placed, const struct pack_input *in,
		      const struct pk_syms *syms, char *err, size_t errlen)
{
	struct ukvm_payload_hdr h = {.flags = placed ? UKVM_PAYLOAD_APP_PLACED : 0};
	size_t i, nlen;
	int rc;
	const char *name = pk_app_name(in->app_name ? in->app_name : in->app_path, &nlen);

	if (pk_put(p, &h, sizeof(h)) < 0)
		goto nomem;
	if (name) {
		struct ukvm_payload_name nm = {.name_off = sizeof(h) + sizeof(nm), .name_size = nlen};
		h.flags |= UKVM_PAYLOAD_APP_NAME;
		if (pk_put(p, &nm, sizeof(nm)) < 0 || pk_put(p, name, nlen) < 0)
			goto nomem;
	}
	if (pk_align(p, 16) < 0)
		goto nomem;
	h.app_off = p->len;
	h.app_size = alen;
	if (pk_put(p, app, alen) < 0 || pk_align(p, 8) < 0)
		goto nomem;
	h.files_off = p->len;
	rc = pk_files(p, in, err, errlen);
	if (rc < 0)
		return rc;
	h.files_size = p->len - h.files_off;
	h.syms_off = p->len;
	h.syms_count = syms->n;
	if (pk_put(p, NULL, syms->n * sizeof(struct ukvm_sym)) < 0)
		goto nomem;
	h.strs_off = p->len;
	for (i = 0; i < syms->n; i++) {
		struct ukvm_sym s = {.addr = syms->v[i].addr, .size = (uint32_t)syms->v[i].size,
				     .flags = syms->v[i].flags, .name_off = p->len - h.strs_off};

		if (pk_put(p, syms->v[i].name, strlen(syms->v[i].name) + 1) < 0)
			goto nomem;
		memcpy(p->p + h.syms_off + i * sizeof(s), &s, sizeof(s));
	}
	h.strs_size = p->len - h.strs_off;
	if (pk_align(p, 8) < 0)
		goto nomem;
	memcpy(h.magic, UKVM_PAYLOAD_MAGIC, sizeof(h.magic));
	memcpy(p->p, &h, sizeof(h));
	return 0;
nomem:
	return pk_fail(err, errlen, -ENOMEM, "out of memory");
}

/* Pads o so that its length is congruent to vaddr modulo align, as PT_LOAD requires. */
static int pk_congruent(struct pk_buf *o, uint64_t vaddr, uint64_t align)
{
	if (align <= 1)
		return pk_align(o, 8);
	return pk_put(o, NULL, (size_t)((vaddr - o->len) & (align - 1))) < 0 ? -ENOMEM : 0;
}

/* .symtab/.strtab/.shstrtab and the section header table; PIE app symbols are left out (their addresses are relative). */
static int pk_sections(struct pk_buf *o, struct elf64_ehdr *eh_out, const struct pk_syms *syms)
{
	struct elf64_shdr sh[4] = {{0}};
	struct elf64_sym zero = {0};
	struct pk_buf str = {0};
	long long shoff;
	size_t i, nsym = 1;
	int rc = -ENOMEM;

	if (pk_put(&str, "", 1) < 0 || pk_align(o, 8) < 0)
		goto out;
	sh[1].sh_offset = o->len;
	if (pk_put(o, &zero, sizeof(zero)) < 0)
		goto out;
	for (i = 0; i < syms->n; i++) {
		struct elf64_sym s = {.st_info = PK_STB_GLOBAL << 4 | ELF64_STT_FUNC, .st_shndx = PK_SHN_ABS,
				      .st_value = syms->v[i].addr, .st_size = syms->v[i].size};
		long long name;

		if (syms->v[i].flags & UKVM_SYM_PIE)
			continue;
		name = pk_put(&str, syms->v[i].name, strlen(syms->v[i].name) + 1);
		if (name < 0 || name > UINT32_MAX)
			goto out;
		s.st_name = (uint32_t)name;
		if (pk_put(o, &s, sizeof(s)) < 0)
			goto out;
		nsym++;
	}
	sh[1] = (struct elf64_shdr){.sh_name = PK_SHSTR_SYMTAB, .sh_type = ELF64_SHT_SYMTAB,
				    .sh_offset = sh[1].sh_offset, .sh_size = nsym * sizeof(struct elf64_sym),
				    .sh_link = 2, .sh_info = 1, .sh_addralign = 8,
				    .sh_entsize = sizeof(struct elf64_sym)};
	sh[2] = (struct elf64_shdr){.sh_name = PK_SHSTR_STRTAB, .sh_type = ELF64_SHT_STRTAB,
				    .sh_offset = o->len, .sh_size = str.len, .sh_addralign = 1};
	if (pk_put(o, str.p, str.len) < 0)
		goto out;
	sh[3] = (struct elf64_shdr){.sh_name = PK_SHSTR_SHSTRTAB, .sh_type = ELF64_SHT_STRTAB,
				    .sh_offset = o->len, .sh_size = sizeof(pk_shstrtab), .sh_addralign = 1};
	if (pk_put(o, pk_shstrtab, sizeof(pk_shstrtab)) < 0 || pk_align(o, 8) < 0)
		goto out;
	shoff = pk_put(o, sh, sizeof(sh));
	if (shoff < 0)
		goto out;
	eh_out->e_shoff = (uint64_t)shoff;
	eh_out->e_shnum = 4;
	eh_out->e_shentsize = sizeof(struct elf64_shdr);
	eh_out->e_shstrndx = 3;
	rc = 0;
out:
	free(str.p);
	return rc;
}

/* Non-empty PT_LOAD segments of a non-PIE app: the ones the image carries as its own (placed). */
static unsigned pk_app_nload(const struct elf_info *app)
{
	unsigned i, n = 0;

	for (i = 0; !app->pie && i < app->phnum; i++)
		n += app->ph[i].p_type == ELF64_PT_LOAD && app->ph[i].p_memsz != 0;
	return n;
}

/*
 * Emits the app's non-empty PT_LOAD segments as image segments at the app's
 * own addresses (p_paddr = p_vaddr), so the monitor loads them in place and
 * reserves their pages. p_align is 4 KiB whatever the app's: the monitor
 * loads by address, and a 2 MiB p_align would only pad the file.
 */
static int pk_place_app(struct pk_buf *o, const uint8_t *abuf, const struct elf_info *app, struct elf64_phdr *ph,
			unsigned *n)
{
	unsigned i;

	for (i = 0; !app->pie && i < app->phnum; i++) {
		const struct elf64_phdr *ap = &app->ph[i];

		if (ap->p_type != ELF64_PT_LOAD || ap->p_memsz == 0)
			continue;
		if (pk_congruent(o, ap->p_vaddr, PK_PAGE) < 0)
			return -ENOMEM;
		ph[*n] = (struct elf64_phdr){.p_type = ELF64_PT_LOAD, .p_flags = ap->p_flags, .p_offset = o->len,
					     .p_vaddr = ap->p_vaddr, .p_paddr = ap->p_vaddr, .p_filesz = ap->p_filesz,
					     .p_memsz = ap->p_memsz, .p_align = PK_PAGE};
		if (pk_put(o, abuf + ap->p_offset, ap->p_filesz) < 0)
			return -ENOMEM;
		(*n)++;
	}
	return 0;
}

static int pk_assemble(struct pk_buf *o, const uint8_t *kbuf, const struct pk_kernel *k, const uint8_t *abuf,
		       const struct elf_info *app, const struct pk_buf *pay, uint64_t payload_gpa,
		       const struct pk_syms *syms)
{
	struct elf64_ehdr eh = *k->info.eh;
	struct elf64_phdr ph[ELF_MAX_PHNUM];
	struct ukvm_note note = k->note;
	unsigned i, n = 0, nph = k->nload + pk_app_nload(app) + 2;
	long long at;

	if (nph > ELF_MAX_PHNUM) /* pack_build checked; keeps ph[] in bounds on its own */
		return -EINVAL;
	/* Header and program headers are written last, once every offset is known. */
	if (pk_put(o, NULL, sizeof(eh) + nph * sizeof(ph[0])) < 0 || pk_align(o, 8) < 0)
		return -ENOMEM;
	note.payload_gpa = payload_gpa;
	note.payload_size = pay->len;
	{
		uint32_t nh[3] = {sizeof(UKVM_NOTE_NAME), sizeof(note), UKVM_NOTE_TYPE};
		char name[8] = UKVM_NOTE_NAME; /* 5 bytes padded to 8: right for 4- and 8-aligned notes */

		at = pk_put(o, nh, sizeof(nh));
		if (at < 0 || pk_put(o, name, sizeof(name)) < 0 || pk_put(o, &note, sizeof(note)) < 0)
			return -ENOMEM;
	}
	for (i = 0; i < k->info.phnum; i++) {
		const struct elf64_phdr *kp = &k->info.ph[i];

		if (kp->p_type != ELF64_PT_LOAD)
			continue;
		ph[n] = *kp;
		if (pk_congruent(o, kp->p_vaddr, kp->p_align) < 0)
			return -ENOMEM;
		ph[n].p_offset = o->len;
		if (pk_put(o, kbuf + kp->p_offset, kp->p_filesz) < 0)
			return -ENOMEM;
		n++;
	}
	if (pk_place_app(o, abuf, app, ph, &n) < 0)
		return -ENOMEM;
	if (pk_congruent(o, payload_gpa, PK_PAGE) < 0)
		return -ENOMEM;
	ph[n++] = (struct elf64_phdr){.p_type = ELF64_PT_LOAD, .p_flags = ELF64_PF_R, .p_offset = o->len,
				      .p_vaddr = payload_gpa, .p_paddr = payload_gpa, .p_filesz = pay->len,
				      .p_memsz = pay->len, .p_align = PK_PAGE};
	if (pk_put(o, pay->p, pay->len) < 0)
		return -ENOMEM;
	ph[n++] = (struct elf64_phdr){.p_type = ELF64_PT_NOTE, .p_flags = ELF64_PF_R, .p_offset = (uint64_t)at,
				      .p_filesz = 12 + 8 + sizeof(note), .p_memsz = 12 + 8 + sizeof(note),
				      .p_align = 4};
	eh.e_phoff = sizeof(eh);
	eh.e_phnum = (uint16_t)n;
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(ph[0]);
	if (pk_sections(o, &eh, syms) < 0)
		return -ENOMEM;
	memcpy(o->p, &eh, sizeof(eh));
	memcpy(o->p + sizeof(eh), ph, n * sizeof(ph[0]));
	return 0;
}

int pack_build(const struct pack_input *in, struct pack_result *out, char *err, size_t errlen)
{
	uint8_t *kbuf = NULL, *abuf = NULL;
	size_t klen, alen;
	struct pk_kernel k;
	struct elf_info app;
	struct loader_image check;
	struct pk_syms syms = {0};
	struct pk_buf pay = {0}, img = {0};
	uint64_t top, gpa;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = pk_read_file(in->kernel_path, &kbuf, &klen, err, errlen);
	if (rc < 0)
		return rc;
	rc = pk_read_file(in->app_path, &abuf, &alen, err, errlen);
	if (rc < 0)
		goto out;
	rc = pk_check_kernel(kbuf, klen, in->kernel_path, &k, err, errlen);
	if (rc < 0)
		goto out;
	rc = pk_check_app(abuf, alen, in->app_path, &k, &app, err, errlen);
	if (rc < 0)
		goto out;
	if (k.nload + pk_app_nload(&app) + 2 > ELF_MAX_PHNUM) {
		rc = pk_fail(err, errlen, -EINVAL, "%s + kernel %s: too many PT_LOAD segments for one image", in->app_path,
			     in->kernel_path);
		goto out;
	}
	top = k.phys_end;
	if (!app.pie && app.hi > top)
		top = app.hi;
	if (__builtin_add_overflow(top, PK_2M - 1, &gpa)) {
		rc = pk_fail(err, errlen, -EINVAL, "%s: segments end too high", in->app_path);
		goto out;
	}
	gpa &= ~(PK_2M - 1);
	rc = pk_syms_add(&syms, kbuf, klen, 0, in->kernel_path, err, errlen);
	if (rc == 0)
		rc = pk_syms_add(&syms, abuf, alen, UKVM_SYM_APP | (app.pie ? UKVM_SYM_PIE : 0), in->app_path, err,
				 errlen);
	if (rc < 0)
		goto out;
	pk_syms_sort(&syms);
	rc = pk_payload(&pay, abuf, alen, !app.pie, in, &syms, err, errlen);
	if (rc < 0)
		goto out;
	rc = pk_assemble(&img, kbuf, &k, abuf, &app, &pay, gpa, &syms);
	if (rc < 0) {
		pk_fail(err, errlen, rc, rc == -ENOMEM ? "out of memory" : "internal error: too many segments");
		goto out;
	}
	/*
	 * Refuse to write what the monitor would refuse to load, with its own checks
	 * (the kernel's note, segments past the largest RAM: fuzz_imgbuild found both).
	 */
	if (loader_check(img.p, img.len, UKVM_MEM_MAX, "image", &check, err, errlen) != 0) {
		rc = -EINVAL;
		goto out;
	}
	out->image = img.p;
	out->size = img.len;
	out->payload_gpa = gpa;
	out->payload_size = pay.len;
	img.p = NULL;
out:
	free(img.p);
	free(pay.p);
	pk_syms_free(&syms);
	free(abuf);
	free(kbuf);
	return rc;
}

void pack_result_free(struct pack_result *out)
{
	free(out->image);
	out->image = NULL;
	out->size = 0;
}
