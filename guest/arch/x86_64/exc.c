/* exc.c: the C side of the exception stubs (exc.S): what a vector means and the register dump of a fault. */
#include "arch.h"
#include "kprintf.h"

/* exc.S and note.S spell these layouts out by hand. */
_Static_assert(sizeof(struct k_exc_state) == 184, "k_exc_state offsets in exc.S");
_Static_assert(sizeof(struct ukvm_note) == 40, "descsz in note.S");
_Static_assert(UKVM_EXC_STUB_SIZE == 16, "stub spacing in exc.S");

static const char *const exc_names[32] = {
	"divide error", "debug", "NMI", "breakpoint", "overflow", "bound range exceeded",
	"invalid opcode", "device not available", "double fault", "coprocessor segment overrun",
	"invalid TSS", "segment not present", "stack fault", "general protection fault",
	"page fault", "reserved (15)", "x87 floating-point error", "alignment check",
	"machine check", "SIMD floating-point error", "virtualization exception",
	"control protection exception",
};

int k_exc_signal(uint64_t vector)
{
	switch (vector) {
	case 0: return 8;            /* #DE: SIGFPE */
	case 16: case 19: return 8;  /* x87 / SIMD FP: SIGFPE */
	case 6: return 4;            /* #UD: SIGILL */
	case 1: case 3: return 5;    /* #DB, #BP: SIGTRAP */
	case 17: return 7;           /* #AC: SIGBUS */
	default: return 11;          /* #PF, #GP and the rest: SIGSEGV */
	}
}

void k_exc_describe(const struct k_exc_state *s, const char *rip_sym, char *buf, size_t size)
{
	const char *name = s->vector < 32 && exc_names[s->vector] ? exc_names[s->vector] : "exception";
	char cr2[32] = "";

	if (s->vector == 14)
		k_snprintf(cr2, sizeof(cr2), " (%s %s)", s->error & 2 ? "write" : "read",
			   s->error & 1 ? "protection" : "not present");
	k_snprintf(buf, size,
		   "ukvm: %s (vector %lu, error 0x%lx) at RIP 0x%lx%s\n"
		   "ukvm: CR2 0x%lx%s\n"
		   "  rax %016lx rbx %016lx rcx %016lx rdx %016lx\n"
		   "  rsi %016lx rdi %016lx rbp %016lx rsp %016lx\n"
		   "  r8  %016lx r9  %016lx r10 %016lx r11 %016lx\n"
		   "  r12 %016lx r13 %016lx r14 %016lx r15 %016lx\n"
		   "  rflags %016lx cs %lx ss %lx\n",
		   name, (unsigned long)s->vector, (unsigned long)s->error, (unsigned long)s->rip, rip_sym,
		   (unsigned long)s->cr2, cr2,
		   (unsigned long)s->rax, (unsigned long)s->rbx, (unsigned long)s->rcx, (unsigned long)s->rdx,
		   (unsigned long)s->rsi, (unsigned long)s->rdi, (unsigned long)s->rbp, (unsigned long)s->rsp,
		   (unsigned long)s->r8, (unsigned long)s->r9, (unsigned long)s->r10, (unsigned long)s->r11,
		   (unsigned long)s->r12, (unsigned long)s->r13, (unsigned long)s->r14, (unsigned long)s->r15,
		   (unsigned long)s->rflags, (unsigned long)s->cs, (unsigned long)s->ss);
}
