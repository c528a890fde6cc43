/* user.c: checks on the addresses the app hands to syscalls, so the kernel never faults on them. */
#include <asm-generic/errno.h>

#include "arch.h"
#include "pages.h"
#include "ptab.h"
#include "user.h"

/* The range in RAM (identity or kernel alias), not page 0, no overflow, and its pages' protections allow it. */
static bool user_ok(const void *p, size_t len, bool write)
{
	uint64_t a = (uint64_t)(uintptr_t)p, end = k_pages.size;

	if (len == 0)
		return true; /* nothing will be accessed */
	if (a >= UKVM_KERNEL_VBASE) {
		/* The kernel alias covers the first 2 GiB of RAM. */
		a -= UKVM_KERNEL_VBASE;
		if (end > (2ull << 30))
			end = 2ull << 30;
	} else if (a < PMEM_PAGE) {
		return false; /* page 0 is unmapped */
	}
	/* The alias shares the identity view's tables: the identity address says it. */
	return a < end && len <= end - a && ptab_user_ok(a, len, write);
}

bool k_user_ok(const void *p, size_t len)
{
	return user_ok(p, len, true);
}

bool k_user_rok(const void *p, size_t len)
{
	return user_ok(p, len, false);
}

long k_user_strlen(const char *s, size_t max)
{
	uint64_t a = (uint64_t)(uintptr_t)s, end = k_pages.size;

	if (!k_user_rok(s, 1))
		return -EFAULT;
	if (a >= UKVM_KERNEL_VBASE) {
		a -= UKVM_KERNEL_VBASE;
		if (end > (2ull << 30))
			end = 2ull << 30;
	}
	uint64_t room = end - a; /* k_user_ok: a < end */
	size_t lim = max < room ? max : (size_t)room;
	for (size_t i = 0; i < lim; i++) {
		/* Each new page must be readable too (a protected one would fault the kernel). */
		if (i && ((a + i) & (PMEM_PAGE - 1)) == 0 && !k_user_rok(s + i, 1))
			return -EFAULT;
		if (s[i] == 0)
			return (long)i;
	}
	return lim < max ? -EFAULT : -ENAMETOOLONG;
}
