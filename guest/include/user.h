/* user.h: checks on the addresses the app hands in (guest/kernel/user.c): syscalls return -EFAULT instead of faulting. */
#ifndef USER_H
#define USER_H

#include <stdbool.h>
#include <stddef.h>

/*
 * True when [p, p + len) is memory the app may hand to a syscall: inside
 * guest RAM (identity or kernel alias), not the unmapped page 0, no overflow,
 * every page writable.
 */
bool k_user_ok(const void *p, size_t len);
/*
 * The same for memory the kernel only reads (write(2)'s buffer, paths): a
 * read-only page will do. k_user_ok also wants every page writable (a page
 * the app protected with mprotect is -EFAULT, as on Linux).
 */
bool k_user_rok(const void *p, size_t len);

/* Same for a NUL-terminated string of at most max bytes (incl. NUL): its length, or -EFAULT / -ENAMETOOLONG. */
long k_user_strlen(const char *s, size_t max);

#endif
