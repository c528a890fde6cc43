/* timer.h: the app's interval and POSIX timers (guest/sys/sys_timer.c) as the syscall path sees them. */
#ifndef TIMER_H
#define TIMER_H

#include <stdint.h>

#include "clock.h"

/* The earliest expiry that sends a signal (monotonic ns), 0 while no such timer is armed. */
extern uint64_t k_timer_next;

/* Sends the signals of every timer that expired by now. */
void k_timer_fire(void);

/* At a syscall's return: nothing but one comparison unless a timer is armed, then the clock. */
static inline void k_timer_check(void)
{
	if (__builtin_expect(k_timer_next != 0, 0) && k_clock_monotonic_ns() >= k_timer_next)
		k_timer_fire();
}

#endif
