/* memops.c: memory syscalls on the app's own image, heap and mappings; prints "memops ok" when all behave. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static char data_page[4096] __attribute__((aligned(4096))) = {1};
static char bss_page[4096] __attribute__((aligned(4096)));

static int fails;

static void expect(int ok, const char *what)
{
	if (!ok) {
		printf("FAIL %s (errno %d)\n", what, errno);
		fails++;
	}
}

int main(void)
{
	/* The app's own image: protections apply to it (writable again before the store), MADV_DONTNEED zeroes private pages. */
	expect(mprotect(data_page, sizeof(data_page), PROT_READ | PROT_WRITE) == 0, "mprotect data");
	expect(mprotect(bss_page, sizeof(bss_page), PROT_READ) == 0, "mprotect bss");
	expect(mprotect(bss_page, sizeof(bss_page), PROT_READ | PROT_WRITE) == 0, "mprotect bss writable");
	bss_page[0] = 7;
	expect(madvise(bss_page, sizeof(bss_page), MADV_DONTNEED) == 0, "madvise bss");
	expect(bss_page[0] == 0, "DONTNEED zeroes");

	/* Anonymous mappings: zeroed, growable, unmappable. */
	size_t len = 1 << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	expect(p != MAP_FAILED, "mmap");
	if (p == MAP_FAILED)
		return 1;
	expect(p[0] == 0 && p[len - 1] == 0, "mmap zeroed");
	memset(p, 0x5a, len);
	char *q = mremap(p, len, 4 * len, MREMAP_MAYMOVE);
	expect(q != MAP_FAILED, "mremap grow");
	if (q != MAP_FAILED) {
		expect(q[0] == 0x5a && q[len - 1] == 0x5a && q[4 * len - 1] == 0, "mremap keeps contents");
		expect(munmap(q, 4 * len) == 0, "munmap");
	}
	expect(munmap((void *)1, 4096) == -1 && errno == EINVAL, "munmap misaligned");
	if (fails)
		return 1;
	printf("memops ok\n");
	return 0;
}
