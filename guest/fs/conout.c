/* conout.c: console output: writes to a stream whose host fd is not a terminal are coalesced in the monitor's console buffer, one exit per buffer. */
#include <string.h>
#include "k.h"
#include "clock.h"
#include "conout.h"
#include "hypercall.h"
#include "ukvm_abi.h"

/*
 * musl's stdio writes 1 KiB at a time to a file, so 200,000 short lines
 * cost 1,256 console exits of ~80 us each (3.3x native); appended here they
 * cost one exit per buffer. Order is kept by the monitor, which drains the
 * buffer before serving any hypercall: a direct write (to a terminal, or one
 * that does not fit), a kernel notice, a crash report, a WAIT, a read of
 * stdin or the exit all come after what was buffered before them.
 *
 * The monitor empties the buffer (used = 0) only at a hypercall, when this
 * kernel is not running this code, so a plain read of used after any
 * hypercall sees it; the app shares the address space and could scribble
 * here, which only garbles its own output (the monitor bounds everything).
 */
/*
 * Oldest a buffered byte gets while the app goes on writing: a write later
 * than this after the first byte of the batch goes directly, draining the
 * batch, so a log written slowly (`tail -f`) lags at most this much behind.
 * At most one extra exit (~30-80 us) per 20 ms: under 0.5%.
 */
#define CONOUT_AGE_NS 20000000ull

static struct {
	volatile struct ukvm_conbuf *hdr; /* NULL: not offered */
	uint8_t *recs;                    /* records, cap bytes */
	uint64_t cap;
	uint64_t last;                    /* offset of the last record appended, while used > last */
	uint64_t first_ns;                /* when the batch's first record was appended */
	bool on[3];                       /* by stream: buffered */
} conout;

void fs_conout_init(uint64_t gpa, uint64_t size)
{
	if (!gpa || size <= sizeof(struct ukvm_conbuf) + sizeof(struct ukvm_conrec) || size > UKVM_KERNEL_PHYS ||
	    gpa > UKVM_KERNEL_PHYS - size)
		return; /* not in the boot area, which no allocator hands out: not used */
	/* Through the kernel alias, as the boot stack and the FDT next to it: no identity walk of the boot area. */
	conout.hdr = (volatile struct ukvm_conbuf *)(uintptr_t)(UKVM_KERNEL_VBASE + gpa);
	conout.recs = (uint8_t *)(uintptr_t)(UKVM_KERNEL_VBASE + gpa) + sizeof(struct ukvm_conbuf);
	conout.cap = size - sizeof(struct ukvm_conbuf);
	/* used is 0 in fresh RAM: not written here, so an app that never prints never touches the page (a shadow fault). */
}

void fs_conout_buffered(unsigned stream, bool on)
{
	if (stream < 3)
		conout.on[stream] = on;
}

/* Appends len bytes of stream if they fit: true, else false (nothing changed). */
static bool conout_append(unsigned stream, const void *buf, size_t len)
{
	uint64_t used = conout.hdr->used;
	struct ukvm_conrec r;
	if (used > conout.cap)
		return false; /* scribbled on: the next hypercall's drain refuses it */
	if (used == 0)
		conout.first_ns = k_clock_monotonic_ns();
	else if (k_clock_monotonic_ns() - conout.first_ns >= CONOUT_AGE_NS)
		return false;
	if (used && conout.last < used && used - conout.last >= sizeof(r)) {
		memcpy(&r, conout.recs + conout.last, sizeof(r));
		if (r.stream == stream && conout.last + sizeof(r) + r.len == used && len <= conout.cap - used) {
			/* Same stream as the last record: extend it (the monitor writes it with one write). */
			memcpy(conout.recs + used, buf, len);
			r.len += (uint32_t)len;
			memcpy(conout.recs + conout.last, &r, sizeof(r));
			__asm__ volatile("" ::: "memory"); /* bytes and length before used: a flush may stop the guest anywhere */
			conout.hdr->used = used + len;
			return true;
		}
	}
	if (sizeof(r) + len > conout.cap - used)
		return false;
	r = (struct ukvm_conrec){ .stream = stream, .len = (uint32_t)len };
	memcpy(conout.recs + used, &r, sizeof(r));
	memcpy(conout.recs + used + sizeof(r), buf, len);
	conout.last = used;
	__asm__ volatile("" ::: "memory");
	conout.hdr->used = used + sizeof(r) + len;
	return true;
}

long fs_conout_write(unsigned stream, const void *buf, size_t len)
{
	/* Half the buffer at most: a larger write gains nothing from a copy and goes in its own exit. */
	if (conout.hdr && stream < 3 && conout.on[stream] && len && len <= conout.cap / 2 &&
	    conout_append(stream, buf, len))
		return (long)len;
	size_t done = 0;
	while (done < len) {
		size_t chunk = len - done;
		if (chunk > UKVM_CONSOLE_MAX)
			chunk = UKVM_CONSOLE_MAX;
		long r = k_hypercall_console(stream, (const uint8_t *)buf + done, chunk);
		if (r < 0)
			return done ? (long)done : r;
		done += (size_t)r;
		if ((size_t)r < chunk)
			break;
	}
	return (long)done;
}
