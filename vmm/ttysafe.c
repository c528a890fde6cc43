/* ttysafe.c: guest console bytes made safe for a host terminal (escape and control sequences neutralised). */
#include "ttysafe.h"

static size_t ttysafe_hex(uint8_t b, uint8_t *out)
{
	static const char hex[] = "0123456789abcdef";
	out[0] = '\\';
	out[1] = 'x';
	out[2] = (uint8_t)hex[b >> 4];
	out[3] = (uint8_t)hex[b & 15];
	return 4;
}

/* Length of the UTF-8 sequence lead byte b starts (2..4), 0 when b cannot lead one. */
static unsigned ttysafe_seq_len(uint8_t b)
{
	if (b >= 0xc2 && b <= 0xdf)
		return 2; /* 0xc0, 0xc1 only start overlong forms */
	if (b >= 0xe0 && b <= 0xef)
		return 3;
	if (b >= 0xf0 && b <= 0xf4)
		return 4; /* past 0xf4: beyond U+10FFFF */
	return 0;
}

/* Whether byte i (>= 1) of a sequence led by lead may be c (RFC 3629's table: no overlong, surrogate or >U+10FFFF). */
static int ttysafe_cont_ok(uint8_t lead, unsigned i, uint8_t c)
{
	if ((c & 0xc0) != 0x80)
		return 0;
	if (i != 1)
		return 1;
	switch (lead) {
	case 0xc2: return c >= 0xa0; /* U+0080..U+009F are the C1 controls */
	case 0xe0: return c >= 0xa0;
	case 0xed: return c <= 0x9f;
	case 0xf0: return c >= 0x90;
	case 0xf4: return c <= 0x8f;
	default: return 1;
	}
}

/* One ASCII byte. */
static size_t ttysafe_ascii(uint8_t b, uint8_t *out)
{
	if ((b >= 0x20 && b < 0x7f) || b == '\n' || b == '\r' || b == '\t' || b == '\b') {
		out[0] = b;
		return 1;
	}
	out[0] = '^';
	out[1] = b == 0x7f ? '?' : (uint8_t)(b + 0x40); /* ESC -> ^[, BEL -> ^G, NUL -> ^@ */
	return 2;
}

size_t ttysafe_filter(struct ttysafe *st, const uint8_t *buf, size_t len, uint8_t *out)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t b = buf[i];
		if (st->npend) {
			if (ttysafe_cont_ok(st->pend[0], st->npend, b)) {
				st->pend[st->npend++] = b;
				if (st->npend == st->need) {
					for (unsigned k = 0; k < st->need; k++)
						out[o++] = st->pend[k];
					st->npend = 0;
				}
				continue;
			}
			/* Broken off: what was held is shown byte by byte, and b starts afresh. */
			for (unsigned k = 0; k < st->npend; k++)
				o += ttysafe_hex(st->pend[k], out + o);
			st->npend = 0;
		}
		if (b < 0x80) {
			o += ttysafe_ascii(b, out + o);
		} else if ((st->need = (uint8_t)ttysafe_seq_len(b))) {
			st->pend[0] = b;
			st->npend = 1;
		} else {
			o += ttysafe_hex(b, out + o); /* a stray continuation byte, 8-bit C1, or an invalid lead */
		}
	}
	return o;
}
