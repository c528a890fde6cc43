/* panic.c: crash reports: k_panic, the report buffer, symbols and backtraces (frame pointers, else a stack scan). */
#include <stdarg.h>

#include "arch.h"
#include "boot.h"
#include "hypercall.h"
#include "kprintf.h"
#include "panic.h"
#include "user.h"

/* Where a stack scan looks: the word at RSP and the 8 KiB above it (one page group on PVM, bounded time). */
#define PANIC_SCAN_WORDS 1024
#define PANIC_FRAMES 16
/* Longest call instruction a return address can follow: ff /2 with SIB and disp32 (no prefixes needed). */
#define PANIC_CALL_MAX 7

/* The kernel's text, from kernel.ld. */
extern const char _kernel_start[], _kernel_text_end[];

/* A report is gathered here and written in one console hypercall: each write is an exit (~30 us). */
static char panic_buf[4096];
static size_t panic_len;

void k_panic_printf(const char *fmt, ...)
{
	va_list ap;
	if (panic_len >= sizeof(panic_buf) - 1)
		return;
	va_start(ap, fmt);
	int n = k_vsnprintf(panic_buf + panic_len, sizeof(panic_buf) - panic_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		panic_len += (size_t)n < sizeof(panic_buf) - panic_len ? (size_t)n : sizeof(panic_buf) - 1 - panic_len;
}

_Noreturn void k_panic_end(int sig)
{
	if (panic_len)
		k_hypercall_console(K_CONSOLE_ERR, panic_buf, panic_len);
	panic_len = 0;
	k_hypercall_crash(sig);
}

void k_panic_symbol(uint64_t addr, char *buf, unsigned long size)
{
	uint64_t off;
	const char *name = payload_sym(&k_boot_payload, addr, &off);
	if (size)
		buf[0] = 0;
	if (name)
		k_snprintf(buf, size, " <%s+0x%lx>", name, (unsigned long)off);
}

/* True for an address in the kernel's or the app's code (a named function counts as code too). */
static bool panic_in_text(uint64_t a)
{
	uint64_t off;
	const struct payload_view *pv = &k_boot_payload;

	if (a >= (uint64_t)(uintptr_t)_kernel_start && a < (uint64_t)(uintptr_t)_kernel_text_end)
		return true;
	if (a >= pv->app_text_lo && a < pv->app_text_hi)
		return true;
	return payload_sym(pv, a, &off) != NULL;
}

/* Length of an ff /2 (indirect near call) from its ModRM byte on: ModRM [SIB] [disp8|disp32]. */
static unsigned panic_modrm_len(const uint8_t *m)
{
	unsigned mod = m[0] >> 6, rm = m[0] & 7, n = 1;

	if (mod == 3)
		return 1;
	if (rm == 4) {
		n++; /* SIB; base 101 without a ModRM displacement means disp32 */
		if (mod == 0 && (m[1] & 7) == 5)
			return n + 4;
	} else if (mod == 0 && rm == 5) {
		return 1 + 4; /* RIP-relative */
	}
	return n + (mod == 1 ? 1 : mod == 2 ? 4 : 0);
}

/* True when the bytes before ret decode as a call ending at ret: e8 rel32, or ff /2 in any addressing form. */
static bool panic_after_call(uint64_t ret)
{
	if (ret < PANIC_CALL_MAX || !k_user_ok((const void *)(uintptr_t)(ret - PANIC_CALL_MAX), PANIC_CALL_MAX))
		return false;
	const uint8_t *p = (const uint8_t *)(uintptr_t)ret;
	if (p[-5] == 0xe8)
		return true;
	for (unsigned len = 2; len <= PANIC_CALL_MAX; len++) {
		const uint8_t *op = p - len;
		if (op[0] == 0xff && ((op[1] >> 3) & 7) == 2 && 1 + panic_modrm_len(op + 1) == len)
			return true;
	}
	return false;
}

/* Frames from the frame-pointer chain; the number printed. */
static int panic_walk_frames(uint64_t rbp)
{
	char sym[96];
	int i;

	for (i = 0; i < PANIC_FRAMES; i++) {
		/* A frame is [saved rbp, return address]: both must be readable, aligned and growing up. */
		if (rbp & 7 || !k_user_ok((const void *)(uintptr_t)rbp, 16))
			break;
		const uint64_t *fr = (const uint64_t *)(uintptr_t)rbp;
		uint64_t ret = fr[1];
		if (ret == 0)
			break;
		k_panic_symbol(ret, sym, sizeof(sym));
		k_panic_printf("  #%d 0x%016lx%s\n", i, (unsigned long)ret, sym);
		if (fr[0] <= rbp) {
			i++;
			break;
		}
		rbp = fr[0];
	}
	return i;
}

/* Return-address candidates on the stack from rsp up: words pointing into code just after a call. */
static void panic_scan_stack(uint64_t rsp)
{
	char sym[96];
	int n = 0;

	rsp &= ~7ull;
	for (unsigned w = 0; w < PANIC_SCAN_WORDS && n < PANIC_FRAMES; w++, rsp += 8) {
		if (rsp == 0 || !k_user_ok((const void *)(uintptr_t)rsp, 8))
			break; /* left RAM (or wrapped): nothing readable beyond */
		uint64_t v = *(const uint64_t *)(uintptr_t)rsp;
		if (!panic_in_text(v) || !panic_after_call(v))
			continue;
		k_panic_symbol(v, sym, sizeof(sym));
		k_panic_printf("  #%d 0x%016lx%s\n", n++, (unsigned long)v, sym);
	}
}

void k_panic_backtrace(uint64_t rbp, uint64_t rsp)
{
	size_t head = panic_len;

	k_panic_printf("ukvm: backtrace:\n");
	if (panic_walk_frames(rbp) > 0)
		return;
	panic_len = head; /* no chain: say the frames below are a guess */
	k_panic_printf("ukvm: backtrace (guess, from the stack):\n");
	panic_scan_stack(rsp);
}

_Noreturn void k_panic(const char *fmt, ...)
{
	static int panicking;
	char msg[256];
	va_list ap;

	if (panicking++)
		k_hypercall_crash(6); /* panic while panicking: no second report */
	/* Reports use the fault path's guard too: a fault from here crashes at once. */
	k_exc_busy = 1;
	va_start(ap, fmt);
	k_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	k_panic_printf("ukvm: panic: %s\n", msg);
	uint64_t fp = (uint64_t)(uintptr_t)__builtin_frame_address(0);
	k_panic_backtrace(fp, fp);
	k_panic_end(6);
}

/* libfdt is built with -fstack-protector. */
_Noreturn void __stack_chk_fail(void);
_Noreturn void __stack_chk_fail(void)
{
	k_panic("stack smashing detected");
}
