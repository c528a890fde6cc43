/* lapic.c: the local APIC's TSC-deadline timer in x2APIC mode, through the pvm-pv host's WRMSR hypercall. */
#include "arch.h"
#include "lapic.h"

/*
 * The monitor gives every vCPU an in-kernel local APIC (vmm/vcpu.c:
 * KVM_CAP_SPLIT_IRQCHIP). In PV mode a wrmsr would trap and be emulated
 * (~3 us); the host's WRMSR hypercall (`int $0x1b`, EAX 0x1003, RBX the
 * MSR, RCX the value, 0 in RAX on success) is an exit handled inside KVM.
 * Measured (probes/pvm-pv test 9): a tick taken in user mode costs ~4 KVM
 * exits, deliver + EOI + re-arm + the return; 1 ms deadlines came every
 * 1.3-2.7 ms on a loaded host: fine for time slices, not for precise timers.
 */
#define HC_WRMSR 0x1003
#define MSR_APIC_BASE 0x1bu
#define APIC_BASE_X2APIC 0xfee00d00ull /* the default base | enable | x2APIC | BSP */
#define MSR_X2APIC_EOI 0x80bu
#define MSR_X2APIC_SVR 0x80fu
#define MSR_X2APIC_LVTT 0x832u
#define MSR_TSC_DEADLINE 0x6e0u
#define SVR_ENABLE 0x100u
#define LVTT_TSC_DEADLINE (2u << 17)

static bool lapic_ready, lapic_broken;
static uint64_t lapic_deadline; /* 0: disarmed */

static long lapic_wrmsr(uint32_t msr, uint64_t v)
{
	long r;
	__asm__ volatile("int $0x1b" : "=a"(r) : "a"((uint64_t)HC_WRMSR), "b"((uint64_t)msr), "c"(v) : "rdx", "memory");
	return r;
}

static bool lapic_setup(void)
{
	if (lapic_broken)
		return false;
	if (lapic_wrmsr(MSR_APIC_BASE, APIC_BASE_X2APIC) || lapic_wrmsr(MSR_X2APIC_SVR, SVR_ENABLE | K_VEC_SPURIOUS) ||
	    lapic_wrmsr(MSR_X2APIC_LVTT, K_VEC_TICK | LVTT_TSC_DEADLINE)) {
		lapic_broken = true; /* an older monitor without an in-kernel APIC: threads stay cooperative */
		return false;
	}
	lapic_ready = true;
	return true;
}

bool k_lapic_arm(uint64_t deadline)
{
	if (!k_pv_vif || (!lapic_ready && !lapic_setup()))
		return false;
	if (!deadline)
		deadline = 1; /* 0 would disarm: already past, fires at once */
	if (lapic_wrmsr(MSR_TSC_DEADLINE, deadline))
		return false;
	lapic_deadline = deadline;
	return true;
}

bool k_lapic_armed(void)
{
	return lapic_deadline != 0;
}

uint64_t k_lapic_deadline(void)
{
	return lapic_deadline;
}

void k_lapic_disarm(void)
{
	if (!lapic_deadline)
		return;
	lapic_wrmsr(MSR_TSC_DEADLINE, 0);
	lapic_deadline = 0;
}

void k_lapic_eoi(void)
{
	lapic_wrmsr(MSR_X2APIC_EOI, 0);
	lapic_deadline = 0;
}

void k_lapic_restored(void)
{
	lapic_ready = false;
	lapic_deadline = 0;
}
