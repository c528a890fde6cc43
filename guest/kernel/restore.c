/* restore.c: the restore block (proto/ukvm_abi.h): a VM restored from a snapshot taken running gets its fix-ups as soon as the kernel looks, not at its first WAIT. */
#include <string.h>
#include "k.h"
#include "clock.h"
#include "restore.h"
#include "vdso.h"
#include "wait.h"

/*
 * A snapshot taken running (ukvm_snapshot while the app computed) resumes
 * at an instruction, in no WAIT, so the WAIT answer that fixes an idle
 * snapshot's restore would come only at the VM's first blocking call: two
 * VMs from one snapshot would draw the same random bytes until then, and
 * read the snapshot's realtime. The monitor writes the fix-ups into the
 * block before the vCPU runs; the kernel looks at its gen where the app
 * could observe the difference: every syscall (getrandom, the clock
 * syscalls, console ioctls and reads), every random draw (lwIP's from a
 * poller), and the vDSO's realtime reads, which take the syscall while
 * the gen they know is behind. Cost: one load and compare; the block
 * shares the boot block's 32 KiB group, so no shadow-MMU fault of its
 * own (ukvm-run --stats: 12 / 13 faults per hello boot, as before).
 */
static uint64_t restore_seen;    /* the block's gen the kernel last acted on */
static uint8_t restore_seed[32]; /* the seed that block brought: the first WAIT's answer repeats it */

/* Through the kernel alias, as the kernel reads the FDT beside it: the identity mapping's page would fault once more. */
static volatile struct ukvm_restore *restore_block(void)
{
	return (volatile struct ukvm_restore *)(uintptr_t)(UKVM_KERNEL_VBASE + UKVM_RESTORE_GPA);
}

void k_restore_init(void)
{
	/* Read, never written: the boot block's group, touched anyway (proto/ukvm_abi.h UKVM_RESTORE_GPA). */
	restore_seen = restore_block()->gen;
	k_vvar.restore_gen = restore_seen;
}

void k_restore_check(void)
{
	volatile struct ukvm_restore *b = restore_block();
	uint64_t gen = b->gen;
	if (__builtin_expect(gen == restore_seen, 1))
		return;
	restore_seen = gen; /* first: the reseed below draws through here */
	struct ukvm_restore r;
	/* The vCPU was stopped while the monitor wrote it: no concurrent writer. */
	__asm__ volatile("" ::: "memory");
	memcpy(&r, (const void *)(uintptr_t)(UKVM_KERNEL_VBASE + UKVM_RESTORE_GPA), sizeof(r));
	k_clock_set_realtime(r.realtime_ns, r.tsc);
	k_vvar.restore_gen = gen; /* after boot_ns: the vDSO trusts boot_ns once it sees this */
	memcpy(restore_seed, r.seed, sizeof(restore_seed));
	k_wait_restored(r.seed, sizeof(r.seed), r.tty);
}

bool k_restore_answered(const uint8_t seed[32])
{
	return restore_seen && !memcmp(seed, restore_seed, sizeof(restore_seed));
}
