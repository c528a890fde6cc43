/* epoll.h: epoll instances (guest/fs/epoll.c) and the ABI of the readiness files (epoll, eventfd, timerfd). */
#ifndef EPOLL_H
#define EPOLL_H

#include <stdint.h>
#include <linux/eventpoll.h> /* EPOLL_CTL_*, EPOLLIN ..., struct epoll_event (packed on x86-64) */

#include "fs.h"

/* Linux's EP_PRIVATE_BITS: what a disarmed EPOLLONESHOT item keeps of its events. */
#define EP_PRIVATE_BITS (EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE)

/* <linux/eventfd.h> is not uapi: eventfd2's flags. */
#define LX_EFD_SEMAPHORE 1
#define LX_EFD_CLOEXEC   O_CLOEXEC
#define LX_EFD_NONBLOCK  O_NONBLOCK

/* <linux/timerfd.h>'s flags (its header drags in ioctl macros the guest does not need). */
#define LX_TFD_TIMER_ABSTIME       1
#define LX_TFD_TIMER_CANCEL_ON_SET 2
#define LX_TFD_CLOEXEC             O_CLOEXEC
#define LX_TFD_NONBLOCK            O_NONBLOCK
/* The alarm clocks timerfd_create also takes (<linux/time.h>; linux_abi.h has the others). */
#define LX_CLOCK_REALTIME_ALARM 8
#define LX_CLOCK_BOOTTIME_ALARM 9

/* struct itimerspec: two timespecs, 32 bytes. */
struct lx_itimerspec {
	int64_t interval_sec, interval_nsec;
	int64_t value_sec, value_nsec;
};

/*
 * The last reference to f is going (fs_file_put, before its release hook):
 * every epoll item watching f leaves its epoll instance, as Linux removes
 * an item when the open file description closes, not when one fd does.
 */
void fs_epoll_file_gone(struct fs_file *f);

#endif
