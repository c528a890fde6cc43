/* exec.h: starting the app (guest/kernel/exec.c). */
#ifndef EXEC_H
#define EXEC_H

/*
 * Loads the app from k_boot_payload (a placed app is checked in place, a
 * static-PIE one copied above the payload), builds its stack with argv and
 * the environment from k_boot_info plus the auxiliary vector, and jumps to
 * it. Memory, drivers and the file system must be up. Returns -errno (after
 * printing why) on failure only.
 */
int k_exec_app(void);

#endif
