/* check_sysv.c: SysV message queues and semaphore sets (guest/sys/sys_ipc.c, sys_sem.c) on host fakes of the kernel services they call. */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/msg.h>
#include <linux/sem.h>

#include "linux_abi.h"
#include "sig.h"
#include "sys.h"
#include "sysv.h"
#include "wait.h"

#define L(p) ((long)(uintptr_t)(p))

/* --- fakes: guest/include/k.h, kmalloc.h, user.h, clock.h, wait.h ---------------------- */
static uint64_t fake_mono = 1000000000ull;
static int fake_wakes;       /* k_wait_wake calls */
static long fake_wait_rc;    /* what a blocking wait returns */
static int fake_waits;       /* k_wait_on calls */
static uint64_t fake_deadline;
static void (*fake_during_wait)(void); /* runs "while blocked": another thread's action */
static size_t fake_alloc_fail_at = SIZE_MAX; /* k_malloc/k_calloc of at least this many bytes fail */

bool k_user_ok(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p;
	return a >= 4096 && a + len >= a;
}

void *k_malloc(size_t n)
{
	return n >= fake_alloc_fail_at ? NULL : malloc(n ? n : 1);
}

void *k_calloc(size_t count, size_t n)
{
	return count * n >= fake_alloc_fail_at ? NULL : calloc(count ? count : 1, n ? n : 1);
}

void k_free(void *p)
{
	free(p);
}

uint64_t k_clock_monotonic_ns(void)
{
	return fake_mono;
}

uint64_t k_clock_realtime_ns(void)
{
	return 1700000000ull * 1000000000ull + fake_mono;
}

long k_wait_on(const void *key, uint32_t bits, uint64_t deadline, unsigned flags)
{
	(void)key, (void)bits;
	ck_assert_uint_eq(flags, K_WAIT_INTR);
	fake_waits++;
	fake_deadline = deadline;
	if (fake_during_wait) {
		void (*fn)(void) = fake_during_wait;
		fake_during_wait = NULL;
		fn();
		return 0;
	}
	return fake_wait_rc;
}

int k_wait_wake(const void *key, uint32_t bits, int n)
{
	(void)key, (void)bits, (void)n;
	fake_wakes++;
	return 0;
}

static void setup(void)
{
	fake_wakes = fake_waits = 0;
	fake_wait_rc = -ETIMEDOUT;
	fake_during_wait = NULL;
	fake_alloc_fail_at = SIZE_MAX;
}

/* --- message queues ------------------------------------------------------------------ */
struct m {
	long type;
	char text[32];
};

static long snd(long q, long type, const char *text, int flg)
{
	struct m msg = { type, "" };
	strncpy(msg.text, text, sizeof(msg.text) - 1);
	return sys_msgsnd(q, L(&msg), (long)strlen(text) + 1, flg, 0, 0);
}

static long rcv(long q, struct m *got, long sz, long type, int flg)
{
	memset(got, 0, sizeof(*got));
	return sys_msgrcv(q, L(got), sz, type, flg, 0);
}

START_TEST(msg_core)
{
	struct m got;
	long q = sys_msgget(0x51, IPC_CREAT | 0600, 0, 0, 0, 0);
	ck_assert_int_ge(q, 0);
	ck_assert_int_eq(sys_msgget(0x51, 0, 0, 0, 0, 0), q);
	ck_assert_int_eq(snd(q, 3, "c", 0), 0);
	ck_assert_int_eq(snd(q, 1, "a", 0), 0);
	ck_assert_int_eq(snd(q, 2, "b", 0), 0);
	/* Negative: the lowest type up to |type|; LONG_MIN does not overflow. */
	ck_assert_int_eq(rcv(q, &got, 32, LONG_MIN, IPC_NOWAIT), 2);
	ck_assert_int_eq(got.type, 1);
	ck_assert_int_eq(rcv(q, &got, 32, 2, MSG_EXCEPT), 2);
	ck_assert_int_eq(got.type, 3);
	ck_assert_int_eq(rcv(q, &got, 32, 0, 0), 2);
	ck_assert_str_eq(got.text, "b");
	/* Empty: IPC_NOWAIT, then a wait a signal ends (EINTR after a handler, never restarted under SA_RESTART). */
	ck_assert_int_eq(rcv(q, &got, 32, 0, IPC_NOWAIT), -ENOMSG);
	fake_wait_rc = -EINTR;
	ck_assert_int_eq(rcv(q, &got, 32, 0, 0), -K_ERESTARTNOHAND);
	ck_assert_uint_eq(fake_deadline, K_WAIT_FOREVER);
	/* The queue's tail survives taking its last message: appends still work. */
	ck_assert_int_eq(snd(q, 4, "d", 0), 0);
	ck_assert_int_eq(snd(q, 5, "e", 0), 0);
	ck_assert_int_eq(rcv(q, &got, 32, 5, 0), 2);
	ck_assert_int_eq(snd(q, 6, "f", 0), 0);
	ck_assert_int_eq(rcv(q, &got, 32, 0, 0), 2);
	ck_assert_int_eq(got.type, 4);
	ck_assert_int_eq(rcv(q, &got, 32, 0, 0), 2);
	ck_assert_int_eq(got.type, 6);
	ck_assert_int_eq(sys_msgctl(q, IPC_RMID, 0, 0, 0, 0), 0);
	ck_assert_int_eq(sys_msgctl(q, IPC_RMID, 0, 0, 0, 0), -EINVAL);
}
END_TEST

static long rm_q;
static void remove_queue(void)
{
	ck_assert_int_eq(sys_msgctl(rm_q, IPC_RMID, 0, 0, 0, 0), 0);
}

START_TEST(msg_removed_while_waiting)
{
	struct m got;
	rm_q = sys_msgget(IPC_PRIVATE, 0600, 0, 0, 0, 0);
	fake_during_wait = remove_queue;
	ck_assert_int_eq(rcv(rm_q, &got, 32, 0, 0), -EIDRM);
	/* A sender blocked on a full queue too; the message it held is freed (ASan would say otherwise). */
	rm_q = sys_msgget(IPC_PRIVATE, 0600, 0, 0, 0, 0);
	struct msqid64_ds d;
	ck_assert_int_eq(sys_msgctl(rm_q, IPC_STAT, L(&d), 0, 0, 0), 0);
	d.msg_qbytes = 2;
	ck_assert_int_eq(sys_msgctl(rm_q, IPC_SET, L(&d), 0, 0, 0), 0);
	ck_assert_int_eq(snd(rm_q, 1, "x", 0), 0);
	ck_assert_int_eq(snd(rm_q, 1, "x", IPC_NOWAIT), -EAGAIN);
	fake_during_wait = remove_queue;
	ck_assert_int_eq(snd(rm_q, 1, "x", 0), -EIDRM);
}
END_TEST

START_TEST(msg_limits)
{
	long ids[SYSV_SLOTS];
	struct m got;
	for (int i = 0; i < SYSV_SLOTS; i++) {
		ids[i] = sys_msgget(IPC_PRIVATE, 0600, 0, 0, 0, 0);
		ck_assert_int_ge(ids[i], 0);
	}
	ck_assert_int_eq(sys_msgget(IPC_PRIVATE, 0600, 0, 0, 0, 0), -ENOSPC);
	/* A slot reused after IPC_RMID gets a new id: the old one is EINVAL, never the new queue. */
	long old = ids[7];
	ck_assert_int_eq(sys_msgctl(old, IPC_RMID, 0, 0, 0, 0), 0);
	ids[7] = sys_msgget(IPC_PRIVATE, 0600, 0, 0, 0, 0);
	ck_assert_int_ge(ids[7], 0);
	ck_assert_int_ne(ids[7], old);
	ck_assert_int_eq(ids[7] % SYSV_IPCMNI, old % SYSV_IPCMNI);
	ck_assert_int_eq(snd(old, 1, "x", 0), -EINVAL);
	/* IPC_INFO answers the highest slot in use; MSG_STAT takes a slot and answers the id. */
	struct msginfo mi;
	ck_assert_int_eq(sys_msgctl(0, MSG_INFO, L(&mi), 0, 0, 0), SYSV_SLOTS - 1);
	ck_assert_int_eq(mi.msgpool, SYSV_SLOTS);
	struct msqid64_ds d;
	ck_assert_int_eq(sys_msgctl(7, MSG_STAT, L(&d), 0, 0, 0), ids[7]);
	ck_assert_int_eq(sys_msgctl(SYSV_SLOTS, MSG_STAT, L(&d), 0, 0, 0), -EINVAL);
	/* Sizes: MSGMAX, zero-length messages, E2BIG unless MSG_NOERROR. */
	ck_assert_int_eq(sys_msgsnd(ids[0], L(&got), MSGMAX + 1, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(snd(ids[0], 1, "", 0), 0);
	ck_assert_int_eq(rcv(ids[0], &got, 0, 0, 0), -E2BIG); /* its 1 byte (the NUL) does not fit in 0 */
	ck_assert_int_eq(rcv(ids[0], &got, 0, 0, MSG_NOERROR), 0);
	for (int i = 0; i < SYSV_SLOTS; i++)
		ck_assert_int_eq(sys_msgctl(ids[i], IPC_RMID, 0, 0, 0, 0), 0);
}
END_TEST

START_TEST(msg_hostile)
{
	struct m got;
	long q = sys_msgget(IPC_PRIVATE, 0600, 0, 0, 0, 0);
	ck_assert_int_eq(sys_msgsnd(q, 8, 4, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_msgsnd(q, L(&got), -1, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_msgsnd(-1, L(&got), 1, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_msgsnd(INT32_MAX + 1L, L(&got), 1, 0, 0, 0), -EINVAL);
	got.type = 0;
	ck_assert_int_eq(sys_msgsnd(q, L(&got), 1, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_msgrcv(q, L(&got), -5, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_msgrcv(q, L(&got), 5, 0, IPC_NOWAIT | MSG_COPY, 0), -ENOSYS);
	/* A receive into a bad buffer loses the message, as on Linux. */
	ck_assert_int_eq(snd(q, 1, "gone", 0), 0);
	ck_assert_int_eq(sys_msgrcv(q, 8, 32, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(rcv(q, &got, 32, 0, IPC_NOWAIT), -ENOMSG);
	/* Out of memory: ENOMEM, nothing queued. */
	fake_alloc_fail_at = 1;
	ck_assert_int_eq(snd(q, 1, "x", 0), -ENOMEM);
	ck_assert_int_eq(sys_msgget(IPC_PRIVATE, 0600, 0, 0, 0, 0), -ENOMEM);
	fake_alloc_fail_at = SIZE_MAX;
	ck_assert_int_eq(sys_msgctl(q, 99, 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_msgctl(q, IPC_STAT | 0x100, L(&got), 0, 0, 0), -EINVAL); /* IPC_64: x86-64 Linux refuses it */
	ck_assert_int_eq(sys_msgctl(q, IPC_STAT, 8, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_msgctl(q, IPC_RMID, 0, 0, 0, 0), 0);
}
END_TEST

/* --- semaphores ------------------------------------------------------------------------ */
START_TEST(sem_core)
{
	long s = sys_semget(0x52, 3, IPC_CREAT | 0600, 0, 0, 0);
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(sys_semget(0x52, 4, 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_semctl(s, 1, SETVAL, 2, 0, 0), 0);
	/* Ops apply in order, each on what the one before left: {-2, -2} on 2 cannot, and the first is undone. */
	struct sembuf two[2] = { { 1, -2, 0 }, { 1, -2, IPC_NOWAIT } };
	ck_assert_int_eq(sys_semop(s, L(two), 2, 0, 0, 0), -EAGAIN);
	ck_assert_int_eq(sys_semctl(s, 1, GETVAL, 0, 0, 0), 2);
	two[1] = (struct sembuf){ 1, 3, 0 };
	ck_assert_int_eq(sys_semop(s, L(two), 2, 0, 0, 0), 0); /* 2 - 2 + 3 */
	ck_assert_int_eq(sys_semctl(s, 1, GETVAL, 0, 0, 0), 3);
	/* An overflow after a change undoes the change too. */
	struct sembuf over[2] = { { 1, -1, 0 }, { 2, 1, 0 } };
	ck_assert_int_eq(sys_semctl(s, 2, SETVAL, SEMVMX, 0, 0), 0);
	ck_assert_int_eq(sys_semop(s, L(over), 2, 0, 0, 0), -ERANGE);
	ck_assert_int_eq(sys_semctl(s, 1, GETVAL, 0, 0, 0), 3);
	ck_assert_int_eq(sys_semctl(s, 1, SETVAL, 0, 0, 0), 0);
	/* Blocked: the blocking op counts in GETNCNT while it waits; a timeout is EAGAIN, a signal EINTR. */
	struct sembuf dec = { 0, -1, 0 };
	struct lx_timespec to = { 0, 5000 };
	ck_assert_int_eq(sys_semtimedop(s, L(&dec), 1, L(&to), 0, 0), -EAGAIN);
	ck_assert_uint_eq(fake_deadline, fake_mono + 5000);
	fake_wait_rc = -EINTR;
	ck_assert_int_eq(sys_semop(s, L(&dec), 1, 0, 0, 0), -EINTR);
	ck_assert_int_eq(sys_semctl(s, 0, GETNCNT, 0, 0, 0), 0);
	/* SEM_UNDO's adjustment is bounded like Linux's (ERANGE), SETVAL clears it. */
	ck_assert_int_eq(sys_semctl(s, 2, SETVAL, SEMVMX, 0, 0), 0);
	struct sembuf undo = { 2, -SEMVMX, SEM_UNDO };
	ck_assert_int_eq(sys_semop(s, L(&undo), 1, 0, 0, 0), 0);
	ck_assert_int_eq(sys_semctl(s, 2, SETVAL, SEMVMX, 0, 0), 0);
	ck_assert_int_eq(sys_semop(s, L(&undo), 1, 0, 0, 0), 0);
	ck_assert_int_eq(sys_semctl(s, 0, IPC_RMID, 0, 0, 0), 0);
}
END_TEST

static long rm_s;
static void remove_set(void)
{
	ck_assert_int_eq(sys_semctl(rm_s, 0, IPC_RMID, 0, 0, 0), 0);
}

START_TEST(sem_removed_while_waiting)
{
	struct sembuf dec = { 0, -1, 0 };
	rm_s = sys_semget(IPC_PRIVATE, 1, 0600, 0, 0, 0);
	fake_during_wait = remove_set;
	ck_assert_int_eq(sys_semop(rm_s, L(&dec), 1, 0, 0, 0), -EIDRM);
	ck_assert_int_eq(sys_semctl(rm_s, 0, GETVAL, 0, 0, 0), -EINVAL);
}
END_TEST

START_TEST(sem_limits)
{
	ck_assert_int_eq(sys_semget(IPC_PRIVATE, SEMMSL + 1, 0600, 0, 0, 0), -EINVAL);
	long s = sys_semget(IPC_PRIVATE, SEMMSL, 0600, 0, 0, 0);
	ck_assert_int_ge(s, 0);
	static struct sembuf many[SEMOPM + 1];
	ck_assert_int_eq(sys_semop(s, L(many), SEMOPM + 1, 0, 0, 0), -E2BIG);
	/* More ops than fit on the kernel's stack: copied to the heap, all applied. */
	for (int i = 0; i < SEMOPM; i++)
		many[i] = (struct sembuf){ (unsigned short)i, 1, 0 };
	ck_assert_int_eq(sys_semop(s, L(many), SEMOPM, 0, 0, 0), 0);
	ck_assert_int_eq(sys_semctl(s, SEMOPM - 1, GETVAL, 0, 0, 0), 1);
	many[0].sem_num = SEMMSL;
	ck_assert_int_eq(sys_semop(s, L(many), 1, 0, 0, 0), -EFBIG);
	struct seminfo si;
	ck_assert_int_ge(sys_semctl(0, 0, SEM_INFO, L(&si), 0, 0), 0);
	ck_assert_int_eq(si.semaem, SEMMSL);
	ck_assert_int_eq(sys_semctl(s, 0, IPC_RMID, 0, 0, 0), 0);
}
END_TEST

START_TEST(sem_hostile)
{
	long s = sys_semget(IPC_PRIVATE, 2, 0600, 0, 0, 0);
	struct sembuf op = { 0, 1, 0 };
	ck_assert_int_eq(sys_semop(s, 8, 1, 0, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_semop(s, L(&op), 0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_semop(-3, L(&op), 1, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_semtimedop(s, L(&op), 1, 8, 0, 0), -EFAULT);
	struct lx_timespec bad = { 0, 1000000000 };
	ck_assert_int_eq(sys_semtimedop(s, L(&op), 1, L(&bad), 0, 0), -EINVAL);
	bad = (struct lx_timespec){ -1, 0 };
	ck_assert_int_eq(sys_semtimedop(s, L(&op), 1, L(&bad), 0, 0), -EINVAL);
	/* An absurd timeout saturates instead of wrapping into the past. */
	struct lx_timespec huge = { INT64_MAX, 999999999 };
	struct sembuf dec = { 0, -1, 0 };
	ck_assert_int_eq(sys_semtimedop(s, L(&dec), 1, L(&huge), 0, 0), -EAGAIN);
	ck_assert_uint_eq(fake_deadline, K_WAIT_FOREVER);
	ck_assert_int_eq(sys_semctl(s, 0, GETALL, 8, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_semctl(s, 0, SETALL, 8, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_semctl(s, 0, IPC_STAT, 8, 0, 0), -EFAULT);
	ck_assert_int_eq(sys_semctl(s, INT32_MIN, GETVAL, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_semctl(s, 0, 99, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(sys_semctl(s, 0, SETVAL, -1, 0, 0), -ERANGE);
	ck_assert_int_eq(sys_semctl(-1, 0, GETVAL, 0, 0, 0), -EINVAL);
	fake_alloc_fail_at = 1;
	ck_assert_int_eq(sys_semget(IPC_PRIVATE, 1, 0600, 0, 0, 0), -ENOMEM);
	fake_alloc_fail_at = SIZE_MAX;
	ck_assert_int_eq(sys_semctl(s, 0, IPC_RMID, 0, 0, 0), 0);
}
END_TEST

Suite *sysv_suite(void)
{
	Suite *s = suite_create("sysv");
	TCase *c = tcase_create("core");
	tcase_add_checked_fixture(c, setup, NULL);
	tcase_add_test(c, msg_core);
	tcase_add_test(c, msg_removed_while_waiting);
	tcase_add_test(c, sem_core);
	tcase_add_test(c, sem_removed_while_waiting);
	suite_add_tcase(s, c);
	TCase *l = tcase_create("limits");
	tcase_add_checked_fixture(l, setup, NULL);
	tcase_add_test(l, msg_limits);
	tcase_add_test(l, sem_limits);
	suite_add_tcase(s, l);
	TCase *h = tcase_create("hostile");
	tcase_add_checked_fixture(h, setup, NULL);
	tcase_add_test(h, msg_hostile);
	tcase_add_test(h, sem_hostile);
	suite_add_tcase(s, h);
	return s;
}
