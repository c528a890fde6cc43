/* sig_host.c: signals from outside the VM (proto/ukvm_abi.h, "Host signals"), raised like a kill(2) from outside. */
#include "k.h"
#include "linux_abi.h"
#include "sig.h"
#include "ukvm_abi.h"

static volatile struct ukvm_hostsig *sig_host; /* NULL: the monitor forwards nothing */

void k_sig_host_init(uint64_t gpa)
{
	sig_host = (volatile struct ukvm_hostsig *)(uintptr_t)(UKVM_KERNEL_VBASE + gpa);
	k_sig_host_caught();
}

bool k_sig_host_on(void)
{
	return sig_host != NULL;
}

void k_sig_host_take(void)
{
	uint64_t bits;

	if (!sig_host || !(bits = sig_host->pending))
		return;
	/* The monitor writes it only while the vCPU is stopped: no update can be lost between the two. */
	sig_host->pending = 0;
	for (int sig = 1; bits; sig++, bits >>= 1)
		if (bits & 1)
			(void)k_sig_process(sig, 0); /* si_pid 0: from outside our PID namespace, as Linux shows it */
}

void k_sig_host_caught(void)
{
	uint64_t caught = 0;

	if (!sig_host)
		return;
	for (int sig = 1; sig <= LX_NSIG; sig++)
		if (k_sig.act[sig].handler != LX_SIG_DFL)
			caught |= SIG_BIT(sig);
	sig_host->caught = caught;
}
