/* report.c: fault reports (CPL3 side of the exception stubs), backtraces, symbols and k_panic. */
#include "arch.h"
#include "boot.h"
#include "k.h"

/* exc.S and note.S spell these layouts out by hand. */
_Static_assert(sizeof(struct k_exc_state) == 184, "k_exc_state offsets in exc.S");
_Static_assert(sizeof(struct ukvm_note) == 40, "descsz in note.S");
_Static_assert(UKVM_EXC_STUB_SIZE == 16, "stub spacing in exc.S");

extern struct k_exc_state k_exc_state;
extern uint64_t k_exc_busy;

static const char *const rep_names[32] = {
	"divide error", "debug", "NMI", "breakpoint", "overflow", "bound range exceeded",
	"invalid opcode", "device not available", "double fault", "coprocessor segment overrun",
	"invalid TSS", "segment not present", "stack fault", "general protection fault",
	"page fault", "reserved (15)", "x87 floating-point error", "alignment check",
	"machine check", "SIMD floating-point error", "virtualization exception",
	"control protection exception",
};

/* A report is gathered here and written in one console hypercall: each write is an exit (~30 us). */
static char rep_buf[4096];
static size_t rep_len;

static void rep_add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void rep_add(const char *fmt, ...)
{
	va_list ap;
	if (rep_len >= sizeof(rep_buf) - 1)
		return;
	va_start(ap, fmt);
	int n = k_vsnprintf(rep_buf + rep_len, sizeof(rep_buf) - rep_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		rep_len += (size_t)n < sizeof(rep_buf) - rep_len ? (size_t)n : sizeof(rep_buf) - 1 - rep_len;
}

static void rep_flush(void)
{
	if (rep_len)
		k_console_write(rep_buf, rep_len);
	rep_len = 0;
}

/* Linux's signal for the vector: what a native process would have died of. */
static int rep_signal(uint64_t v)
{
	switch (v) {
	case 0: return 8;            /* #DE: SIGFPE */
	case 16: case 19: return 8;  /* x87 / SIMD FP: SIGFPE */
	case 6: return 4;            /* #UD: SIGILL */
	case 1: case 3: return 5;    /* #DB, #BP: SIGTRAP */
	case 17: return 7;           /* #AC: SIGBUS */
	default: return 11;          /* #PF, #GP and the rest: SIGSEGV */
	}
}

void k_symbolize(uint64_t addr, char *buf, unsigned long size)
{
	uint64_t off;
	const char *name = payload_sym(&k_payload, addr, &off);
	if (size)
		buf[0] = 0;
	if (name)
		k_snprintf(buf, size, " <%s+0x%lx>", name, (unsigned long)off);
}

void k_backtrace(uint64_t rbp)
{
	char sym[96];

	for (int i = 0; i < 16; i++) {
		/* A frame is [saved rbp, return address]: both must be readable, aligned and growing up. */
		if (rbp & 7 || !k_user_ok((const void *)(uintptr_t)rbp, 16))
			break;
		const uint64_t *fr = (const uint64_t *)(uintptr_t)rbp;
		uint64_t ret = fr[1];
		if (ret == 0)
			break;
		k_symbolize(ret, sym, sizeof(sym));
		rep_add("  #%d 0x%016lx%s\n", i, (unsigned long)ret, sym);
		if (fr[0] <= rbp)
			break;
		rbp = fr[0];
	}
	rep_flush();
}

_Noreturn void k_exc_report(void)
{
	const struct k_exc_state *s = &k_exc_state;
	char sym[96];
	const char *name = s->vector < 32 && rep_names[s->vector] ? rep_names[s->vector] : "exception";

	/* The app's handler for the signal, when it installed one, runs instead of the report. */
	k_sig_fault(s, rep_signal(s->vector));
	k_symbolize(s->rip, sym, sizeof(sym));
	rep_add("ukvm: %s (vector %lu, error 0x%lx) at RIP 0x%lx%s\n", name, (unsigned long)s->vector,
		 (unsigned long)s->error, (unsigned long)s->rip, sym);
	if (s->vector == 14)
		rep_add("ukvm: CR2 0x%lx (%s %s)\n", (unsigned long)s->cr2, s->error & 2 ? "write" : "read",
			 s->error & 1 ? "protection" : "not present");
	else
		rep_add("ukvm: CR2 0x%lx\n", (unsigned long)s->cr2);
	rep_add("  rax %016lx rbx %016lx rcx %016lx rdx %016lx\n", (unsigned long)s->rax,
		 (unsigned long)s->rbx, (unsigned long)s->rcx, (unsigned long)s->rdx);
	rep_add("  rsi %016lx rdi %016lx rbp %016lx rsp %016lx\n", (unsigned long)s->rsi,
		 (unsigned long)s->rdi, (unsigned long)s->rbp, (unsigned long)s->rsp);
	rep_add("  r8  %016lx r9  %016lx r10 %016lx r11 %016lx\n", (unsigned long)s->r8,
		 (unsigned long)s->r9, (unsigned long)s->r10, (unsigned long)s->r11);
	rep_add("  r12 %016lx r13 %016lx r14 %016lx r15 %016lx\n", (unsigned long)s->r12,
		 (unsigned long)s->r13, (unsigned long)s->r14, (unsigned long)s->r15);
	rep_add("  rflags %016lx cs %lx ss %lx\n", (unsigned long)s->rflags, (unsigned long)s->cs,
		 (unsigned long)s->ss);
	rep_add("ukvm: backtrace:\n");
	k_backtrace(s->rbp);
	k_crash(rep_signal(s->vector));
}

_Noreturn void k_panic(const char *fmt, ...)
{
	static int panicking;
	char msg[256];
	va_list ap;

	if (panicking++)
		k_crash(6); /* panic while panicking: no second report */
	/* Reports use the fault path's guard too: a fault from here crashes at once. */
	k_exc_busy = 1;
	va_start(ap, fmt);
	k_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rep_add("ukvm: panic: %s\n", msg);
	k_backtrace((uint64_t)(uintptr_t)__builtin_frame_address(0));
	k_crash(6);
}

/* libfdt is built with -fstack-protector. */
_Noreturn void __stack_chk_fail(void);
_Noreturn void __stack_chk_fail(void)
{
	k_panic("stack smashing detected");
}
