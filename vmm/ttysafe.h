/*
 * ttysafe.h: guest console bytes made safe for a host terminal: escape and
 * control sequences shown, never obeyed (as less and systemd do).
 */
#ifndef VMM_TTYSAFE_H
#define VMM_TTYSAFE_H

#include <stddef.h>
#include <stdint.h>

/* A stream's state between calls: a UTF-8 sequence cut by the end of a write. */
struct ttysafe {
	uint8_t pend[4];
	uint8_t npend;  /* bytes held in pend */
	uint8_t need;   /* total length of the sequence they start */
};

/* Output bytes for at most TTYSAFE_IN_MAX input bytes (each input byte becomes at most 4: "\xNN"). */
#define TTYSAFE_IN_MAX 1024
#define TTYSAFE_OUT_MAX (4 * (TTYSAFE_IN_MAX + 3))

/*
 * Rewrites len (<= TTYSAFE_IN_MAX) bytes of console output into out (room
 * for TTYSAFE_OUT_MAX) and returns how many it wrote. Printable ASCII,
 * \n \r \t \b and well-formed UTF-8 of printable characters pass as they are;
 * ESC and the other C0 controls and DEL become caret notation (ESC is "^["),
 * so no escape sequence (CSI, OSC, DCS ...) reaches the terminal; C1
 * controls (U+0080..U+009F, 8-bit CSI 0x9b included) and bytes that are not
 * well-formed UTF-8 (overlong forms, surrogates, past U+10FFFF) become
 * "\xNN" per byte. A sequence cut at the end of buf is held in *st and
 * completed by the next call. Pure: no I/O.
 */
size_t ttysafe_filter(struct ttysafe *st, const uint8_t *buf, size_t len, uint8_t *out);

#endif
