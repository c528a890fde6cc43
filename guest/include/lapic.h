/* lapic.h: the PV guest's one interrupt source, the local APIC's TSC-deadline timer (guest/arch/x86_64/lapic.c). */
#ifndef LAPIC_H
#define LAPIC_H

#include <stdbool.h>
#include <stdint.h>

/* The timer's vector and the APIC's spurious vector (the IDT stubs send both to k_thr_irq). */
#define K_VEC_TICK 0x40
#define K_VEC_SPURIOUS 0xff

/*
 * Arms the one-shot timer for the TSC value deadline (one WRMSR hypercall,
 * an exit inside KVM; the first call also switches the APIC to x2APIC and
 * TSC-deadline mode: three more). PV mode only: false in base mode, where
 * the guest takes no interrupts, or when the host refused the APIC.
 * The interrupt reaches the guest only in user mode (the kernel runs with
 * the VIF's interrupt flag clear): a deadline that passes in the kernel
 * fires on the way back to the app.
 */
bool k_lapic_arm(uint64_t deadline);

/* True while a deadline is armed and has not fired (its interrupt not taken). */
bool k_lapic_armed(void);

/* The armed deadline (TSC), 0 when none. */
uint64_t k_lapic_deadline(void);

/* Cancels an armed deadline (one hypercall; nothing when none is armed). */
void k_lapic_disarm(void);

/* The tick was taken: end of interrupt (one hypercall); the timer is disarmed. */
void k_lapic_eoi(void);

/* A VM restored from a snapshot has a fresh APIC: set it up again at the next arm. */
void k_lapic_restored(void);

#endif
