/* fault.h: what happens after a CPU exception (guest/kernel/fault.c): the app's signal handler, or a crash report. */
#ifndef FAULT_H
#define FAULT_H

/*
 * Entered by the exception stubs (guest/arch/x86_64/exc.S) with the state in
 * k_exc_state: at CPL3 on the report stack after their iretq, or called on
 * it in PV mode. Runs the app's handler for the fault's signal when it has
 * one (does not come back here), else prints the report (registers,
 * backtrace) and ends the VM as killed by that signal.
 */
_Noreturn void k_fault_entry(void);

#endif
