/* pack_int.h: internals shared by the packer's files (growable buffer, file records, symbols); not for users of pack.h. */
#ifndef IMGBUILD_PACK_INT_H
#define IMGBUILD_PACK_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pack.h"

#define PK_MAX_INPUT (1ull << 30) /* any single input file; keeps sizes far from overflow */

/* Growable byte buffer; every append checks for overflow and allocation failure. */
struct pk_buf {
	uint8_t *p;
	size_t len, cap;
};

/* Appends n bytes (zeroes when data is NULL). Returns the offset of the first byte, or -ENOMEM. */
long long pk_put(struct pk_buf *b, const void *data, size_t n);

/* Appends zeroes until len is a multiple of a (a power of two). Returns 0 or -ENOMEM. */
int pk_align(struct pk_buf *b, size_t a);

/* Formats a one-line reason into err and returns rc (a negative errno), for `return pk_fail(...)`. */
int pk_fail(char *err, size_t errlen, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Reads a whole regular file (at most PK_MAX_INPUT bytes) into a malloc'ed, 16-aligned buffer. Returns 0 or -errno with err set. */
int pk_read_file(const char *path, uint8_t **data, size_t *len, char *err, size_t errlen);
/*
 * The same for name relative to dirfd (AT_FDCWD: the cwd), path naming it in
 * messages; nofollow refuses a symlink (ELOOP) in the last component.
 */
int pk_read_file_at(int dirfd, const char *name, const char *path, bool nofollow, uint8_t **data, size_t *len,
		    char *err, size_t errlen);

/* Appends the file records for specs to b (see pack.h for the record layout). Returns 0 or -errno with err set. */
int pk_files(struct pk_buf *b, const struct pack_input *in, char *err, size_t errlen);

/* Collected function symbols. */
struct pk_sym {
	uint64_t addr, size;
	uint16_t flags; /* UKVM_SYM_APP, UKVM_SYM_PIE */
	char *name;
};
struct pk_syms {
	struct pk_sym *v;
	size_t n, cap;
};

/* Adds the FUNC symbols of the ELF in buf with the given flags. Returns 0, or -EINVAL (bad symbol tables) / -ENOMEM with err set. */
int pk_syms_add(struct pk_syms *s, const uint8_t *buf, size_t len, uint16_t flags, const char *what, char *err,
		size_t errlen);

/* Sorts: kernel group (flags without UKVM_SYM_APP) first, then the app's; within a group by addr, then name. */
void pk_syms_sort(struct pk_syms *s);

/* Frees all names and the vector. */
void pk_syms_free(struct pk_syms *s);

#endif
