/* conin.h: console input, the guest's fd 0 fed from the host's stdin a buffer per exit (guest/fs/conin.c). */
#ifndef CONIN_H
#define CONIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Bytes the kernel buffer holds: one UKVM_PORT_INPUT exit fills it. 64 KiB
 * is Linux's default pipe capacity, so one exit takes what a writer had
 * room to put in the pipe. Measured, 100 MiB piped from head(1): 16 KiB
 * ~6,400 exits, 64 KiB ~1,600, 256 KiB ~1,600 (a pipe read returns at
 * most its 64 KiB), and 100 MiB in ~0.25 s at 64 KiB.
 */
#define CONIN_BUF_SIZE (64u * 1024)

/*
 * read(2) of fd 0: what the buffer holds (up to len), else one fill. With
 * nothing there yet it returns -EAGAIN when nonblock, else blocks the
 * thread (other threads run; the idle WAIT also ends when input arrives)
 * until input or end of file; a signal ends the wait with -ERESTARTSYS.
 * End of file stays (0 on every read) unless the input is a terminal,
 * where ^D ends one read and the next reads on.
 */
long fs_conin_read(void *buf, size_t len, bool nonblock);

/*
 * poll(2) readiness of fd 0, Linux's for the host's kind of stdin:
 * POLLIN/POLLRDNORM with bytes or at the end of a file or a terminal's ^D,
 * POLLHUP alone at the end of a pipe whose writers closed; and in *key the
 * wait key woken when it changes. Costs an exit only when the answer is
 * not known yet.
 */
uint32_t fs_conin_poll(const void **key);

/* FIONREAD: bytes a read would return now (after a fill when the buffer is empty). */
int fs_conin_avail(void);

/* The host's stdin is a terminal (from the FDT): end of file is one read's, not sticky. */
void fs_conin_set_tty(bool tty);

/*
 * The VM was restored from a snapshot (guest/kernel/wait.c): what was read
 * from the snapshotted VM's input (buffered bytes, its end) is dropped; a
 * reader still waiting reads the new input.
 */
void fs_conin_restored(void);

/* Forgets all state (tests). */
void fs_conin_reset(void);

#endif
