/* fault.c: dispatch of a CPU exception: to the app's signal handler, else a crash report and the end of the VM. */
#include "arch.h"
#include "fault.h"
#include "panic.h"
#include "sig.h"

_Noreturn void k_fault_entry(void)
{
	const struct k_exc_state *s = &k_exc_state;
	char regs[1024], sym[96];
	int sig = k_exc_signal(s->vector);

	/* The app's handler for the signal, when it installed one, runs instead of the report. */
	k_sig_fault(s, sig);
	k_panic_symbol(s->rip, sym, sizeof(sym));
	k_exc_describe(s, sym, regs, sizeof(regs));
	k_panic_printf("%s", regs);
	k_panic_backtrace(s->rbp, s->rsp);
	k_panic_end(sig);
}
