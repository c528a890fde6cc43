/* exit.c: the app's end: what the kernel finishes on its behalf before the VM exits. */
#include "hypercall.h"
#include "sock.h"
#include "thread.h"

_Noreturn void k_exit(int status)
{
	sock_exit(); /* the app's sockets close and TCP sends what they still hold, as after a Linux process exits */
	k_hypercall_exit(status);
}
