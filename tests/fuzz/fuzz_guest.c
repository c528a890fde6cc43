/* fuzz_guest.c: reads guest files back for the harnesses, and the guest signal state the libFuzzer builds lack. */
#include <stdlib.h>
#include <string.h>

#include "../../guest/include/fs.h"
#include "../../guest/include/sig.h"
#include "../../guest/include/sys.h"
#include "fuzz.h"
#include "fuzz_guest.h"

/*
 * The file syscalls consult the signal state (SIGPIPE, poll masks). Weak like
 * tests/unit/fs_shim.c's stand-ins, so the test runner's guest/sys/sys_signal.c
 * wins there; the libFuzzer builds link only the file system. The harnesses
 * make no pipes: nothing may raise a signal.
 */
__attribute__((weak)) struct sig_state k_sig;

__attribute__((weak)) void k_sig_raise(int sig)
{
	FUZZ_CHECK(sig == 0);
}

#define L(p) ((long)(uintptr_t)(p))

int fuzz_guest_init(const void *files, size_t size)
{
	fs_reset();
	return fs_init(files, size);
}

void fuzz_guest_reset(void)
{
	fs_reset();
}

uint8_t *fuzz_guest_read(const char *path, size_t *len, uint32_t *mode)
{
	struct stat st;

	FUZZ_CHECK(sys_stat(L(path), L(&st), 0, 0, 0, 0) == 0);
	FUZZ_CHECK((st.st_mode & S_IFMT) == S_IFREG && st.st_size >= 0);
	long fd = sys_openat(AT_FDCWD, L(path), O_RDONLY, 0, 0, 0);
	FUZZ_CHECK(fd >= 0);
	/* One byte more than st_size: the read must stop at the end of the file. */
	uint8_t *buf = malloc((size_t)st.st_size + 1);
	FUZZ_CHECK(buf != NULL);
	FUZZ_CHECK(sys_read(fd, L(buf), (long)st.st_size + 1, 0, 0, 0) == (long)st.st_size);
	FUZZ_CHECK(sys_close(fd, 0, 0, 0, 0, 0) == 0);
	*len = (size_t)st.st_size;
	*mode = st.st_mode;
	return buf;
}
