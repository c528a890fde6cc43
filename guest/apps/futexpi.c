/* futexpi.c: robust and priority-inheritance mutexes and the PI futex protocol under them: a transcript that must read the same natively and in ukvm. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "transcript.h"

/* <linux/futex.h>, which musl-gcc does not see. */
#define FUTEX_LOCK_PI 6
#define FUTEX_UNLOCK_PI 7
#define FUTEX_TRYLOCK_PI 8
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_LOCK_PI_PRIVATE (FUTEX_LOCK_PI | FUTEX_PRIVATE_FLAG)
#define FUTEX_UNLOCK_PI_PRIVATE (FUTEX_UNLOCK_PI | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAITERS 0x80000000u
#define FUTEX_OWNER_DIED 0x40000000u

static long fx(volatile uint32_t *u, int op, const struct timespec *to)
{
	errno = 0;
	return syscall(SYS_futex, u, op, 0, to, NULL, 0);
}

/* "what: ERRNO" or "what: 0". */
static void result(const char *what, long r)
{
	printf("%s: %s\n", what, r < 0 ? errname(errno) : "0");
	errno = 0;
}

#define NO_SUCH_TID 0x3ffffff0u

static void ms_sleep(long ms)
{
	struct timespec t = { ms / 1000, ms % 1000 * 1000000 };
	nanosleep(&t, NULL);
}

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* A thread that holds nothing and stays alive (a live owner tid for the raw cases). */
static volatile int helper_go;
static volatile pid_t helper_tid;
static void *idle_helper(void *arg)
{
	(void)arg;
	helper_tid = gettid_();
	while (!helper_go)
		ms_sleep(2);
	return NULL;
}

/* A thread that blocks in FUTEX_LOCK_PI on pi_word until main unlocks it. */
static volatile uint32_t pi_word;
static volatile long locker_rc = 1;
static volatile pid_t locker_tid;
static void *pi_locker(void *arg)
{
	(void)arg;
	locker_tid = gettid_();
	locker_rc = fx(&pi_word, FUTEX_LOCK_PI_PRIVATE, NULL);
	return NULL;
}

static void raw_pi(void)
{
	volatile uint32_t w = 0;
	uint32_t me = (uint32_t)gettid_();
	pthread_t h, l;

	result("TRYLOCK_PI free", fx(&w, FUTEX_TRYLOCK_PI, NULL));
	printf("word is my tid: %d\n", w == me);
	result("TRYLOCK_PI own", fx(&w, FUTEX_TRYLOCK_PI, NULL));
	result("LOCK_PI own", fx(&w, FUTEX_LOCK_PI, NULL));
	result("UNLOCK_PI", fx(&w, FUTEX_UNLOCK_PI, NULL));
	printf("word after unlock: %u\n", w);
	result("UNLOCK_PI not owner (free)", fx(&w, FUTEX_UNLOCK_PI, NULL));
	w = NO_SUCH_TID;
	result("LOCK_PI owner gone", fx(&w, FUTEX_LOCK_PI, NULL));
	result("TRYLOCK_PI owner gone", fx(&w, FUTEX_TRYLOCK_PI, NULL));
	w = FUTEX_OWNER_DIED;
	result("TRYLOCK_PI OWNER_DIED, no owner", fx(&w, FUTEX_TRYLOCK_PI, NULL));
	printf("word: OWNER_DIED|tid %d\n", w == (FUTEX_OWNER_DIED | me));
	result("UNLOCK_PI", fx(&w, FUTEX_UNLOCK_PI, NULL));
	printf("word after unlock: %u\n", w);

	pthread_create(&h, NULL, idle_helper, NULL);
	while (!helper_tid)
		ms_sleep(1);
	w = (uint32_t)helper_tid;
	result("TRYLOCK_PI held by another", fx(&w, FUTEX_TRYLOCK_PI, NULL));
	result("UNLOCK_PI held by another", fx(&w, FUTEX_UNLOCK_PI, NULL));
	struct timespec to;
	clock_gettime(CLOCK_REALTIME, &to);
	to.tv_nsec += 30000000;
	if (to.tv_nsec >= 1000000000) {
		to.tv_sec++;
		to.tv_nsec -= 1000000000;
	}
	result("LOCK_PI held, realtime deadline", fx(&w, FUTEX_LOCK_PI, &to));
	printf("word: owner's with WAITERS %d\n", w == (FUTEX_WAITERS | (uint32_t)helper_tid));
	w = (uint32_t)helper_tid;
	clock_gettime(CLOCK_MONOTONIC, &to);
	to.tv_nsec += 30000000;
	if (to.tv_nsec >= 1000000000) {
		to.tv_sec++;
		to.tv_nsec -= 1000000000;
	}
	result("LOCK_PI2 held, monotonic deadline", fx(&w, 13 /* FUTEX_LOCK_PI2 */, &to));
	result("LOCK_PI with CLOCK_REALTIME flag", fx(&w, FUTEX_LOCK_PI | FUTEX_CLOCK_REALTIME, &to));
	result("LOCK_PI misaligned", fx((volatile uint32_t *)((char *)&w + 1), FUTEX_LOCK_PI, NULL));
	helper_go = 1;
	pthread_join(h, NULL);

	/* Hand-over: the unlock makes the waiter the owner before it even runs. */
	pi_word = me;
	pthread_create(&l, NULL, pi_locker, NULL);
	while (!(pi_word & FUTEX_WAITERS))
		ms_sleep(1);
	printf("waiter set FUTEX_WAITERS: %d\n", pi_word == (FUTEX_WAITERS | me));
	result("UNLOCK_PI to a waiter", fx(&pi_word, FUTEX_UNLOCK_PI_PRIVATE, NULL));
	printf("word is the waiter's, with WAITERS: %d\n", pi_word == (FUTEX_WAITERS | (uint32_t)locker_tid));
	pthread_join(l, NULL);
	printf("waiter's LOCK_PI: %ld\n", locker_rc);
}

/* musl mutexes: a robust one whose owner dies, a PI one passed between threads. */
static pthread_mutex_t rm;
static volatile int held;
static volatile pid_t dier_tid;
static void *die_holding(void *arg)
{
	long wait_first = (long)arg;
	pthread_mutex_lock(&rm);
	dier_tid = gettid_();
	held = 1;
	if (wait_first)
		ms_sleep(50); /* main is blocked in its lock by then */
	/* Straight to the kernel: the C library's own cleanup at pthread_exit must not run. */
	syscall(SYS_exit, 0);
	return NULL;
}

/*
 * Until thread tid is gone. It left by a bare SYS_exit, which the C
 * library never learns about: pthread_join would wait forever.
 */
static void wait_gone(pid_t tid)
{
	while (syscall(SYS_tgkill, getpid(), tid, 0) == 0)
		ms_sleep(1);
}

static void robust(int pi)
{
	pthread_mutexattr_t a;
	pthread_t t;
	void *head = NULL;
	size_t len = 0;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	/* musl hands the kernel its robust list for process-shared robust mutexes only (private ones it keeps itself). */
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (pi)
		pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
	for (long wait_first = 0; wait_first < 2; wait_first++) {
		pthread_mutex_init(&rm, &a);
		held = 0;
		pthread_create(&t, NULL, die_holding, (void *)wait_first);
		while (!held)
			ms_sleep(1);
		if (!wait_first)
			wait_gone(dier_tid);
		int e = pthread_mutex_lock(&rm);
		printf("%s robust, owner died %s: lock %s", pi ? "PI" : "plain", wait_first ? "while we waited" : "before",
		       errname(e));
		wait_gone(dier_tid);
		e = pthread_mutex_consistent(&rm);
		printf(", consistent %s", errname(e));
		e = pthread_mutex_unlock(&rm);
		printf(", unlock %s", errname(e));
		e = pthread_mutex_lock(&rm);
		printf(", lock again %s", errname(e));
		pthread_mutex_unlock(&rm);
		pthread_mutex_destroy(&rm);
		printf("\n");
	}
	/* Not made consistent: unrecoverable. */
	pthread_mutex_init(&rm, &a);
	held = 0;
	pthread_create(&t, NULL, die_holding, (void *)0);
	while (!held)
		ms_sleep(1);
	wait_gone(dier_tid);
	int e1 = pthread_mutex_lock(&rm);
	pthread_mutex_unlock(&rm);
	int e2 = pthread_mutex_lock(&rm);
	printf("%s robust, left inconsistent: %s then %s\n", pi ? "PI" : "plain", errname(e1), errname(e2));
	errno = 0;
	long r = syscall(SYS_get_robust_list, 0, &head, &len);
	printf("get_robust_list: %ld head set %d len %zu\n", r, head != NULL, len);
	pthread_mutexattr_destroy(&a);
}

static pthread_mutex_t pm;
static volatile int pm_stage;
static volatile int pm_got;
static void *pi_taker(void *arg)
{
	(void)arg;
	pm_stage = 1;
	int e = pthread_mutex_lock(&pm); /* blocks in FUTEX_LOCK_PI: main holds it */
	pm_got = e == 0 ? 1 : -e;
	pm_stage = 2;
	while (pm_stage != 3)
		ms_sleep(1);
	pthread_mutex_unlock(&pm);
	return NULL;
}

static void pi_mutex(void)
{
	pthread_mutexattr_t a;
	pthread_t t;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&pm, &a);
	printf("PI lock: %s\n", errname(pthread_mutex_lock(&pm)));
	printf("PI relock (errorcheck): %s\n", errname(pthread_mutex_lock(&pm)));
	pthread_create(&t, NULL, pi_taker, NULL);
	while (pm_stage != 1)
		ms_sleep(1);
	ms_sleep(30); /* the taker blocks in the kernel meanwhile */
	printf("PI unlock with a waiter: %s\n", errname(pthread_mutex_unlock(&pm)));
	while (pm_stage != 2)
		ms_sleep(1);
	printf("taker got it: %d; trylock now: %s; unlock not owner: %s\n", pm_got, errname(pthread_mutex_trylock(&pm)),
	       errname(pthread_mutex_unlock(&pm)));
	pm_stage = 3;
	pthread_join(t, NULL);
	printf("PI lock after: %s\n", errname(pthread_mutex_lock(&pm)));
	pthread_mutex_unlock(&pm);
	pthread_mutex_destroy(&pm);
	long r = syscall(SYS_set_robust_list, NULL, 23);
	printf("set_robust_list len 23: %ld %s\n", r, errname(errno));
	errno = 0;
	void *head;
	size_t len;
	r = syscall(SYS_get_robust_list, NO_SUCH_TID, &head, &len);
	printf("get_robust_list no such tid: %ld %s\n", r, errname(errno));
}

/*
 * Hostile robust lists: a thread leaves with a list that loops forever, one
 * whose entries point at unmapped memory, and one with a futex offset off
 * into nowhere. The kernel walks them at the thread's exit without harm.
 */
static struct { void *next; long off; void *pending; } bad_head;
static void *bad_entry[2];
static volatile int bad_kind;
static volatile pid_t bad_tid;
static void *bad_robust(void *arg)
{
	(void)arg;
	switch (bad_kind) {
	case 0: /* a loop that never returns to the head */
		bad_entry[0] = &bad_entry[1];
		bad_entry[1] = &bad_entry[0];
		bad_head = (typeof(bad_head)){ &bad_entry[0], 0, NULL };
		break;
	case 1: /* unmapped entries */
		bad_head = (typeof(bad_head)){ (void *)0x10, 0, (void *)0x20 };
		break;
	default: /* a lock word far outside memory */
		bad_entry[0] = &bad_head;
		bad_head = (typeof(bad_head)){ &bad_entry[0], 0x7fff00000000L, &bad_entry[0] };
		break;
	}
	syscall(SYS_set_robust_list, &bad_head, sizeof(bad_head));
	bad_tid = gettid_();
	syscall(SYS_exit, 0);
	return NULL;
}

static void hostile(void)
{
	for (int k = 0; k < 3; k++) {
		pthread_t t;
		bad_kind = k;
		bad_tid = 0;
		pthread_create(&t, NULL, bad_robust, NULL);
		while (!bad_tid)
			ms_sleep(1);
		wait_gone(bad_tid);
	}
	printf("hostile robust lists: survived\n");
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	raw_pi();
	robust(0);
	robust(1);
	pi_mutex();
	hostile();
	printf("futexpi done\n");
	return 0;
}
