/* pack_syms.c: collects and orders the kernel's and the app's function symbols for the payload and the image symtab. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf.h"
#include "pack_int.h"
#include "ukvm_abi.h"

struct pk_syms_ctx {
	struct pk_syms *s;
	uint16_t flags;
	int rc;
};

static int pk_syms_one(void *ctx, const char *name, uint64_t value, uint64_t size)
{
	struct pk_syms_ctx *c = ctx;
	struct pk_syms *s = c->s;

	if (name[0] == '\0')
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct pk_sym *v = realloc(s->v, cap * sizeof(*v));

		if (v == NULL)
			goto nomem;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n].name = strdup(name);
	if (s->v[s->n].name == NULL)
		goto nomem;
	s->v[s->n].addr = value;
	/* ukvm_sym.size is 32-bit; a bigger function is clamped, it only widens a lookup. */
	s->v[s->n].size = size > UINT32_MAX ? UINT32_MAX : size;
	s->v[s->n].flags = c->flags;
	s->n++;
	return 0;
nomem:
	c->rc = -ENOMEM;
	return 1;
}

int pk_syms_add(struct pk_syms *s, const uint8_t *buf, size_t len, uint16_t flags, const char *what, char *err,
		size_t errlen)
{
	struct pk_syms_ctx c = {.s = s, .flags = flags};
	long n = elf_for_each_func(buf, len, pk_syms_one, &c);

	if (c.rc < 0)
		return pk_fail(err, errlen, c.rc, "out of memory");
	if (n < 0)
		return pk_fail(err, errlen, -EINVAL, "%s: malformed section headers or symbol table", what);
	return 0;
}

static int pk_sym_cmp(const void *a, const void *b)
{
	const struct pk_sym *x = a, *y = b;
	unsigned gx = x->flags & UKVM_SYM_APP, gy = y->flags & UKVM_SYM_APP;

	if (gx != gy)
		return gx < gy ? -1 : 1;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return strcmp(x->name, y->name);
}

void pk_syms_sort(struct pk_syms *s)
{
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), pk_sym_cmp);
}

void pk_syms_free(struct pk_syms *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i].name);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}
