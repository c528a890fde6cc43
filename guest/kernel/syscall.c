/* syscall.c: one syscall from the app: the handler (guest/sys/table.c), the timers that expired meanwhile, then the signals it made ready. */
#include "restore.h"
#include "sig.h"
#include "sys.h"
#include "syscall.h"
#include "thread.h"
#include "timer.h"

long k_syscall(struct k_uregs *f)
{
	k_restore_check(); /* a VM restored from a snapshot taken running: its fix-ups before the app sees anything */
	long rc = sys_dispatch(f);

	k_timer_check(); /* an expired timer's signal is delivered on this return, as Linux's on its next one */
	rc = k_sig_syscall_exit(f, rc);
	k_thr_leave(); /* PV mode: the time-slice timer when another thread waits for the CPU */
	return rc;
}
