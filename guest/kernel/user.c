/* user.c: checks on the addresses the app hands to syscalls, so the kernel never faults on them. */
#include <asm-generic/errno.h>

#include "arch.h"
#include "pages.h"
#include "user.h"

bool k_user_ok(const void *p, size_t len)
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
	return a < end && len <= end - a;
}

long k_user_strlen(const char *s, size_t max)
{
	uint64_t a = (uint64_t)(uintptr_t)s, end = k_pages.size;

	if (!k_user_ok(s, 1))
		return -EFAULT;
	if (a >= UKVM_KERNEL_VBASE) {
		a -= UKVM_KERNEL_VBASE;
		if (end > (2ull << 30))
			end = 2ull << 30;
	}
	uint64_t room = end - a; /* k_user_ok: a < end */
	size_t lim = max < room ? max : (size_t)room;
	for (size_t i = 0; i < lim; i++)
		if (s[i] == 0)
			return (long)i;
	return lim < max ? -EFAULT : -ENAMETOOLONG;
}
