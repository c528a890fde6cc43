/* hypercall.c: the guest's calls to the monitor: an `out` to a UKVM_PORT_* with an argument block passed by gpa. */
#include <asm-generic/errno.h>

#include "arch.h"
#include "bootprof.h"
#include "hypercall.h"

/* Argument blocks live in the kernel image: below 4 GiB, 8-byte aligned, passed by gpa. */
static struct ukvm_console hc_console __attribute__((aligned(8)));
static struct ukvm_wait hc_wait __attribute__((aligned(8)));
static struct ukvm_input hc_input __attribute__((aligned(8)));
static bool hc_marks;
static bool hc_input_want, hc_input_ready;

void k_hypercall_mark_enable(bool on)
{
	hc_marks = on;
}

void k_hypercall_mark(enum ukvm_mark m)
{
	if (hc_marks)
		k_outl(UKVM_PORT_MARK, (uint32_t)m);
}

long k_hypercall_console(unsigned stream, const void *buf, size_t len)
{
	uint64_t a = (uint64_t)(uintptr_t)buf;
	uint16_t port = stream == K_CONSOLE_ERR ? UKVM_PORT_CONSOLE_ERR : UKVM_PORT_CONSOLE;
	size_t done = 0;

	if (a >= UKVM_KERNEL_VBASE)
		a -= UKVM_KERNEL_VBASE; /* the kernel alias maps gpa + VBASE */
	while (done < len) {
		size_t n = len - done;
		if (n > UKVM_CONSOLE_MAX)
			n = UKVM_CONSOLE_MAX;
		hc_console.gpa = a + done;
		hc_console.len = n;
		hc_console.ret = -EIO;
		k_outl(port, (uint32_t)K_GPA(&hc_console));
		if (hc_console.ret < 0)
			return done ? (long)done : (long)hc_console.ret;
		done += (size_t)hc_console.ret;
		if ((size_t)hc_console.ret < n)
			break;
	}
	return (long)done;
}

long k_hypercall_input(void *buf, size_t len, bool *hup)
{
	uint64_t a = (uint64_t)(uintptr_t)buf;
	if (a >= UKVM_KERNEL_VBASE)
		a -= UKVM_KERNEL_VBASE; /* the kernel alias maps gpa + VBASE */
	hc_input.gpa = a;
	hc_input.len = len < UKVM_INPUT_MAX ? len : UKVM_INPUT_MAX;
	hc_input.ret = -EIO;
	hc_input.flags = 0;
	k_outl(UKVM_PORT_INPUT, (uint32_t)K_GPA(&hc_input));
	*hup = hc_input.ret == 0 && (hc_input.flags & UKVM_INPUT_HUP);
	return (long)hc_input.ret;
}

void k_hypercall_input_want(bool on)
{
	hc_input_want = on;
}

bool k_hypercall_input_ready(void)
{
	return hc_input_ready;
}

_Noreturn void k_hypercall_exit(int status)
{
	k_bootprof_dump(); /* `make guest-bootprof` only */
	for (;;)
		k_outl(UKVM_PORT_EXIT, (uint32_t)status); /* the monitor keeps the low 8 bits */
}

_Noreturn void k_hypercall_crash(int sig)
{
	for (;;)
		k_outl(UKVM_PORT_CRASH, (uint32_t)sig);
}

int k_hypercall_wait(uint64_t timeout_ns)
{
	return k_hypercall_wait_flags(timeout_ns, 0, NULL);
}

int k_hypercall_wait_flags(uint64_t timeout_ns, uint64_t flags, struct ukvm_wait *out)
{
	/* One exit: the monitor returns at the timeout or as soon as a device has (or already had) news. */
	hc_wait.timeout_ns = timeout_ns;
	/* A reader waiting for console input (k_hypercall_input_want) wakes on it, whoever waits. */
	hc_wait.flags = flags | (hc_input_want ? UKVM_WAIT_INPUT : 0);
	hc_wait.ret = -EIO;
	k_outl(UKVM_PORT_WAIT, (uint32_t)K_GPA(&hc_wait));
	hc_input_ready = hc_wait.ret > 0 && (hc_wait.ret & UKVM_WAIT_RET_INPUT);
	if (out)
		*out = hc_wait;
	return (int)hc_wait.ret;
}
