/* pvm_abi.h: the MSRs of this host's paravirtual interface ("pvm-pv", PLATFORM.md; proto/ukvm_abi.h "PV mode"), for the vCPU code and the snapshot format. */
#ifndef VMM_PVM_ABI_H
#define VMM_PVM_ABI_H

/* The vCPU's PV state: VIF gpa | flags | PVM_STATE_KERNEL; a snapshot carries it apart from the MSR list (vmm/snap.h). */
#define MSR_PVM_STATE 0x4b564d10u
#define MSR_PVM_SIG   0x4b564d11u /* reads PVM_SIG where the interface exists (KVM refuses it elsewhere) */
#define MSR_PVM_FEAT  0x4b564d12u /* the flags the host supports (UKVM_PV_FLAGS must be among them) */
#define PVM_SIG 0x4d5650ull        /* "PVM" */
#define PVM_STATE_KERNEL 0x400ull  /* MSR_PVM_STATE: valid, vCPU in kernel mode */

#endif
