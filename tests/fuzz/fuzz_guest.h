/* fuzz_guest.h: the guest file system as the harnesses see it after fs_init (tests/fuzz/fuzz_guest.c). */
#ifndef TESTS_FUZZ_GUEST_H
#define TESTS_FUZZ_GUEST_H

#include <stddef.h>
#include <stdint.h>

/*
 * fs_init and fs_reset for files that include host headers (guest/include/fs.h
 * clashes with <fcntl.h>): builds / from an archive, 0 or -errno; forgets it.
 */
int fuzz_guest_init(const void *files, size_t size);
void fuzz_guest_reset(void);

/*
 * Reads the whole regular file at guest path through the guest's own
 * syscalls (stat, openat, read, close), aborting unless each succeeds and
 * the read returns exactly st_size bytes. Returns them (malloc'ed, *len set)
 * and the file's mode in *mode.
 */
uint8_t *fuzz_guest_read(const char *path, size_t *len, uint32_t *mode);

#endif
