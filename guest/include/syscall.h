/* syscall.h: the kernel's side of a SYSCALL (guest/kernel/syscall.c), called by the entry stub. */
#ifndef SYSCALL_H
#define SYSCALL_H

#include "arch.h"

/*
 * Called by k_syscall_entry (guest/arch/x86_64/syscall.S) with the app's
 * registers: runs the handler for f->rax, stores the result in f->rax, acts
 * on signals that became ready, and returns 1 when f was rewritten (a signal
 * frame was built or rt_sigreturn restored one) so the stub resumes with
 * k_user_resume, else 0 for the fast return.
 */
long k_syscall(struct k_uregs *f);

#endif
