/* conbuf.c: the monitor's side of the guest's console buffer: drain it in order, distrusting every field. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "conbuf.h"
#include "ukvm_abi.h"

#define CONBUF_HDR sizeof(struct ukvm_conbuf)
#define CONBUF_REC sizeof(struct ukvm_conrec)

int conbuf_init(struct conbuf *b, const struct mem *m, uint64_t gpa, uint64_t size)
{
	*b = (struct conbuf){ 0 };
	if (size <= CONBUF_HDR + CONBUF_REC || !mem_ptr(m, gpa, size))
		return -EINVAL;
	b->gpa = gpa;
	b->size = size;
	return 0;
}

/* Empties the buffer: the guest appends from the start again. */
static void conbuf_reset(struct conbuf *b, uint8_t *hdr)
{
	uint64_t zero = 0;
	memcpy(hdr, &zero, sizeof(zero));
	b->sent = 0;
}

/* A hostile state: emptied when the guest is at a hypercall, else left for that drain to judge. */
static int conbuf_bad(struct conbuf *b, uint8_t *hdr, bool settled)
{
	if (settled)
		conbuf_reset(b, hdr);
	return -EPROTO;
}

/*
 * conbuf_drain and conbuf_flush. settled: the guest is at a hypercall, so the
 * buffer is whole and is emptied after; else it may be mid-append (a last
 * record already longer than used says): what is below used goes out, the
 * buffer stays as it is, b->sent keeps the place, and a state that looks
 * hostile is left for the next settled drain to judge.
 */
static int conbuf_out(struct conbuf *b, const struct mem *m, conbuf_write_fn *w, void *ctx, bool settled, char *why,
		      size_t why_len);

int conbuf_drain(struct conbuf *b, const struct mem *m, conbuf_write_fn *w, void *ctx, char *why, size_t why_len)
{
	return conbuf_out(b, m, w, ctx, true, why, why_len);
}

int conbuf_flush(struct conbuf *b, const struct mem *m, conbuf_write_fn *w, void *ctx)
{
	char why[8];
	int r = conbuf_out(b, m, w, ctx, false, why, sizeof(why));
	return r == -EPROTO ? 0 : r;
}

static int conbuf_out(struct conbuf *b, const struct mem *m, conbuf_write_fn *w, void *ctx, bool settled, char *why,
		      size_t why_len)
{
	if (!b->size)
		return 0;
	uint8_t *hdr = mem_ptr(m, b->gpa, b->size); /* checked once more: m is the authority */
	if (!hdr)
		return 0;
	uint64_t used;
	memcpy(&used, hdr, sizeof(used)); /* one read: every bound below uses this copy */
	if (used == 0) {
		b->sent = 0;
		return 0;
	}
	if (used > b->size - CONBUF_HDR) {
		snprintf(why, why_len, "guest console buffer holds %llu bytes, more than its %llu",
			 (unsigned long long)used, (unsigned long long)(b->size - CONBUF_HDR));
		return conbuf_bad(b, hdr, settled);
	}
	const uint8_t *recs = hdr + CONBUF_HDR;
	uint64_t off = 0;
	while (off < used) {
		struct ukvm_conrec r;
		if (used - off < CONBUF_REC) {
			snprintf(why, why_len, "guest console buffer record at %llu is cut off by its end at %llu",
				 (unsigned long long)off, (unsigned long long)used);
			return conbuf_bad(b, hdr, settled);
		}
		memcpy(&r, recs + off, sizeof(r)); /* one read of the header */
		if (r.stream != 1 && r.stream != 2) {
			snprintf(why, why_len, "guest console buffer record at %llu names stream %u",
				 (unsigned long long)off, r.stream);
			return conbuf_bad(b, hdr, settled);
		}
		uint64_t data = off + CONBUF_REC;
		if (r.len > used - data && !settled) {
			r.len = (uint32_t)(used - data); /* the guest was extending it: what is below used is written */
		} else if (r.len > used - data) {
			snprintf(why, why_len, "guest console buffer record at %llu of %u bytes runs past its end at %llu",
				 (unsigned long long)off, r.len, (unsigned long long)used);
			return conbuf_bad(b, hdr, settled);
		}
		uint64_t end = data + r.len;
		if (b->sent < end) {
			/* A drain cut short by a stop resumes where it was: no byte twice. */
			uint64_t from = b->sent > data ? b->sent : data;
			size_t sent = 0;
			ssize_t n = w(ctx, r.stream, recs + from, (size_t)(end - from), &sent);
			if (sent > end - from)
				sent = (size_t)(end - from);
			b->sent = from + sent;
			if (n == -EINTR)
				return -EINTR;
			if (n < 0 || sent < end - from) {
				if (settled)
					conbuf_reset(b, hdr);
				return n < 0 ? (int)n : -EIO;
			}
		}
		off = end;
	}
	if (settled)
		conbuf_reset(b, hdr);
	return 0;
}
