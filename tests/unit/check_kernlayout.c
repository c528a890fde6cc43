/* check_kernlayout.c: the guest kernel's link layout for boot (guest/kernel.ld, kernel-boot.ld) holds in the built kernel. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf.h"
#include "ukvm_abi.h"

#ifndef KERNLAYOUT_KERNEL
#error "KERNLAYOUT_KERNEL: the built guest kernel (tests/build.mk)"
#endif
#ifndef KERNLAYOUT_LD
#error "KERNLAYOUT_LD: guest/kernel-boot.ld (tests/build.mk)"
#endif

/* Two groups of the shadow MMU's fault prefetch (8 pages): what kernel-boot.ld's comment promises. */
#define KL_BOOT_SPAN (64u << 10)
#define KL_MAX 8192

struct kl_funcs {
	char *name[KL_MAX];
	uint64_t addr[KL_MAX];
	unsigned n;
};

static int kl_add(void *ctx, const char *name, uint64_t value, uint64_t size)
{
	struct kl_funcs *f = ctx;
	(void)size;
	if (f->n < KL_MAX) {
		f->name[f->n] = strdup(name);
		f->addr[f->n++] = value;
	}
	return 0;
}

static void *kl_read(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	ck_assert_msg(fp != NULL, "%s: cannot open", path);
	ck_assert_int_eq(fseek(fp, 0, SEEK_END), 0);
	long n = ftell(fp);
	ck_assert_int_gt(n, 0);
	rewind(fp);
	void *buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	((char *)buf)[n] = 0;
	*len = (size_t)n;
	return buf;
}

/* The kernel's function symbols, by name; a name defined twice (static functions) keeps its first address. */
static int kl_find(const struct kl_funcs *f, const char *name, uint64_t *addr)
{
	for (unsigned i = 0; i < f->n; i++)
		if (strcmp(f->name[i], name) == 0) {
			*addr = f->addr[i];
			return 1;
		}
	return 0;
}

START_TEST(boot_functions_lead_the_text)
{
	static struct kl_funcs f;
	size_t klen, llen;
	void *k = kl_read(KERNLAYOUT_KERNEL, &klen);
	char *ld = kl_read(KERNLAYOUT_LD, &llen);
	ck_assert_int_gt(elf_for_each_func(k, klen, kl_add, &f), 0);
	uint64_t text = UKVM_KERNEL_VBASE + UKVM_KERNEL_PHYS, a;
	unsigned listed = 0, found = 0;
	for (char *p = strstr(ld, "*(.text."); p; p = strstr(p + 1, "*(.text.")) {
		char name[128];
		if (sscanf(p, "*(.text.%127[A-Za-z0-9_]", name) != 1)
			continue;
		listed++;
		if (!kl_find(&f, name, &a))
			continue; /* inlined everywhere in this build: nothing to place */
		found++;
		ck_assert_msg(a >= text && a - text < KL_BOOT_SPAN, "%s at 0x%llx: past the first %u KiB of text",
			      name, (unsigned long long)a, KL_BOOT_SPAN >> 10);
	}
	/* The list names this kernel's functions (a static one inlined everywhere has no symbol of its own). */
	ck_assert_uint_gt(listed, 100);
	ck_assert_uint_gt(found, listed / 2);
	ck_assert(kl_find(&f, "k_boot", &a) && a - text < KL_BOOT_SPAN);
	/* And a function boot never runs stays out of the way. */
	ck_assert(kl_find(&f, "k_panic", &a) && a - text >= KL_BOOT_SPAN);
	for (unsigned i = 0; i < f.n; i++)
		free(f.name[i]);
	free(k);
	free(ld);
}
END_TEST

Suite *kernlayout_suite(void)
{
	Suite *s = suite_create("kernlayout");
	TCase *c = tcase_create("core");
	tcase_add_test(c, boot_functions_lead_the_text);
	suite_add_tcase(s, c);
	return s;
}
