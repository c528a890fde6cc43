/* restore.h: a VM restored from a snapshot taken running takes the restore's fix-ups from the restore block at once (guest/kernel/restore.c). */
#ifndef RESTORE_H
#define RESTORE_H

#include <stdbool.h>
#include <stdint.h>

/* Boot, after the clock: notes the restore block's gen (for the kernel and the vDSO's clock page); reads it, never writes. */
void k_restore_init(void);

/*
 * When the monitor restored the VM from a snapshot taken running since the
 * last look (the block's gen moved, proto/ukvm_abi.h "Restore block"):
 * sets the realtime clock (and the vDSO's), reseeds the random generator,
 * takes the restoring run's console, drops the old console input. Called
 * at every syscall's entry, before every random draw, and by the vDSO's
 * realtime reads through their syscall; one load and compare otherwise.
 */
void k_restore_check(void);

/*
 * A WAIT answered UKVM_WAIT_RESTORED with seed: true when that is the
 * answer to the restore this kernel already applied from the block (the
 * monitor answers a snapshot taken running both ways), so its fix-ups are
 * not made twice (a second drop of the console input would lose what the
 * restored run had read since).
 */
bool k_restore_answered(const uint8_t seed[32]);

#endif
