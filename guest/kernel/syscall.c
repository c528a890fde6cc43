/* syscall.c: one syscall from the app: the handler (guest/sys/table.c), then the signals it made ready. */
#include "sig.h"
#include "sys.h"
#include "syscall.h"

long k_syscall(struct k_uregs *f)
{
	return k_sig_syscall_exit(f, sys_dispatch(f));
}
