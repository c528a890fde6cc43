/* conbuf.h: the monitor's side of the guest's console buffer (proto/ukvm_abi.h, "Console buffer"): drain it in order, distrusting it. */
#ifndef VMM_CONBUF_H
#define VMM_CONBUF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mem.h"

struct conbuf {
	uint64_t gpa, size; /* where the buffer is (header included); size 0: none offered */
	uint64_t sent;      /* bytes of the records region already written by a drain cut short */
};

/*
 * Writes len bytes of guest output to stream (1 stdout, 2 stderr). Returns
 * len, fewer, or -errno; *sent is always the bytes that went out. -EINTR
 * means the run is ending: the drain stops and keeps its place.
 */
typedef ssize_t conbuf_write_fn(void *ctx, unsigned stream, const void *buf, size_t len, size_t *sent);

/*
 * Sets b up for the buffer at [gpa, gpa + size) of m. Returns 0, or -EINVAL
 * when that is not inside guest RAM or too small for a header and a record.
 */
int conbuf_init(struct conbuf *b, const struct mem *m, uint64_t gpa, uint64_t size);

/*
 * Writes the buffered records through w in order and empties the buffer
 * (used = 0). Reads used and every record header once, and never touches
 * memory outside [gpa, gpa + size). Returns:
 *   0        drained (or empty, or no buffer);
 *   -EINTR   w said the run is ending: the contents stay, b->sent keeps the
 *            place, a later drain writes only the rest;
 *   -EPROTO  hostile contents: the records before the bad one went out, the
 *            buffer is emptied, why says what was wrong;
 *   -errno   another write failure: the buffer is emptied (the output is lost
 *            as a failed write's would be).
 */
int conbuf_drain(struct conbuf *b, const struct mem *m, conbuf_write_fn *w, void *ctx, char *why, size_t why_len);

/*
 * The same while the guest is stopped at an arbitrary instruction (a kick out
 * of KVM_RUN), perhaps in the middle of an append: writes what lies below
 * used (a last record the guest is extending only up to used) and leaves the
 * buffer as it is, b->sent marking what went out, so the next drain writes
 * only the rest. Judges nothing hostile (the next conbuf_drain does).
 * Returns 0, -EINTR or -errno as conbuf_drain.
 */
int conbuf_flush(struct conbuf *b, const struct mem *m, conbuf_write_fn *w, void *ctx);

#endif
