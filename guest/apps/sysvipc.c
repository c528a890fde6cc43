/* sysvipc.c: SysV message queues and semaphore sets, blocking between threads: a transcript that must read the same natively and in ukvm. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "transcript.h"

static void ok(const char *what, long r)
{
	if (r < 0)
		printf("%s: -1 %s\n", what, errname(errno));
	else
		printf("%s: ok\n", what);
	errno = 0;
}

static void ms_sleep(long ms)
{
	struct timespec t = { ms / 1000, ms % 1000 * 1000000 };
	nanosleep(&t, NULL);
}

#define MSG_KEY 0x7a11c0de
#define SEM_KEY 0x7a11c0df

struct m {
	long type;
	char text[64];
};

static int q;
static volatile long thr_rc;
static volatile int thr_errno;
static struct m thr_msg;

static void *receiver(void *arg)
{
	long type = (long)arg;
	errno = 0;
	thr_rc = msgrcv(q, &thr_msg, sizeof(thr_msg.text), type, 0);
	thr_errno = errno;
	return NULL;
}

static void *sender(void *arg)
{
	struct m *msg = arg;
	errno = 0;
	thr_rc = msgsnd(q, msg, 60, 0);
	thr_errno = errno;
	return NULL;
}

static void on_alrm(int sig)
{
	(void)sig;
}

static void alarm_ms(long ms)
{
	struct itimerval v = { { 0, 0 }, { 0, ms * 1000 } };
	setitimer(ITIMER_REAL, &v, NULL);
}

static void msgs(void)
{
	struct m msg, got;
	struct msqid_ds d;
	pthread_t t;

	/* A queue left by an earlier native run of this test would change the answers. */
	int old = msgget(MSG_KEY, 0);
	if (old >= 0)
		msgctl(old, IPC_RMID, NULL);
	errno = 0;

	ok("msgget private", q = msgget(IPC_PRIVATE, 0600));
	msgctl(q, IPC_RMID, NULL);
	show("msgget key, no IPC_CREAT", msgget(MSG_KEY, 0));
	ok("msgget key, IPC_CREAT", q = msgget(MSG_KEY, IPC_CREAT | 0640));
	show("msgget key, IPC_CREAT|IPC_EXCL", msgget(MSG_KEY, IPC_CREAT | IPC_EXCL | 0640));
	printf("msgget key again: same id %d\n", msgget(MSG_KEY, 0) == q);

	msg.type = 0;
	strcpy(msg.text, "zero");
	show("msgsnd type 0", msgsnd(q, &msg, 5, 0));
	msg.type = 1;
	show("msgsnd 8193 bytes", msgsnd(q, &msg, 8193, 0));
	show("msgsnd bad id", msgsnd(0x7ffffff0, &msg, 5, 0));
	show("msgsnd bad pointer", msgsnd(q, (void *)8, 5, 0));
	for (int i = 1; i <= 3; i++) {
		msg.type = i;
		snprintf(msg.text, sizeof(msg.text), "message %d", i);
		show("msgsnd", msgsnd(q, &msg, strlen(msg.text) + 1, IPC_NOWAIT));
	}
	msgctl(q, IPC_STAT, &d);
	printf("IPC_STAT: qnum %lu cbytes %lu qbytes %lu mode %o lspid ok %d lrpid %d key ok %d\n", (unsigned long)d.msg_qnum,
	       (unsigned long)d.__msg_cbytes, (unsigned long)d.msg_qbytes, (unsigned)d.msg_perm.mode,
	       d.msg_lspid == getpid(), d.msg_lrpid, d.msg_perm.__key == MSG_KEY);
	show("msgrcv type 2", msgrcv(q, &got, sizeof(got.text), 2, 0));
	printf("  got type %ld '%s'\n", got.type, got.text);
	show("msgrcv type 3, 4-byte buffer", msgrcv(q, &got, 4, 3, IPC_NOWAIT));
	show("msgrcv type -3", msgrcv(q, &got, sizeof(got.text), -3, 0));
	printf("  got type %ld '%s'\n", got.type, got.text);
	memset(&got, 0, sizeof(got));
	show("msgrcv type 3, 4 bytes, MSG_NOERROR", msgrcv(q, &got, 4, 3, MSG_NOERROR));
	printf("  got type %ld '%.4s'\n", got.type, got.text);
	show("msgrcv empty, IPC_NOWAIT", msgrcv(q, &got, sizeof(got.text), 0, IPC_NOWAIT));
	show("msgrcv bufsz -1", msgrcv(q, &got, (size_t)-1, 0, IPC_NOWAIT));
	msg.type = 5;
	msgsnd(q, &msg, 1, 0);
	msg.type = 7;
	msgsnd(q, &msg, 1, 0);
	show("msgrcv MSG_EXCEPT 5", msgrcv(q, &got, sizeof(got.text), 5, MSG_EXCEPT | IPC_NOWAIT));
	printf("  got type %ld\n", got.type);
	msgrcv(q, &got, sizeof(got.text), 0, IPC_NOWAIT);
	msgctl(q, IPC_STAT, &d);
	printf("IPC_STAT: qnum %lu cbytes %lu lrpid ok %d\n", (unsigned long)d.msg_qnum, (unsigned long)d.__msg_cbytes,
	       d.msg_lrpid == getpid());

	/* A small queue: the second 60-byte message does not fit. */
	d.msg_qbytes = 100;
	d.msg_perm.mode = 0600;
	show("IPC_SET qbytes 100", msgctl(q, IPC_SET, &d));
	msgctl(q, IPC_STAT, &d);
	printf("IPC_STAT: qbytes %lu mode %o\n", (unsigned long)d.msg_qbytes, (unsigned)d.msg_perm.mode);
	msg.type = 1;
	show("msgsnd 60", msgsnd(q, &msg, 60, IPC_NOWAIT));
	show("msgsnd 60 more, IPC_NOWAIT", msgsnd(q, &msg, 60, IPC_NOWAIT));
	/* A sender blocks until a receive makes room. */
	thr_rc = 99;
	pthread_create(&t, NULL, sender, &msg);
	ms_sleep(30);
	printf("sender still blocked: %d\n", thr_rc == 99);
	show("msgrcv makes room", msgrcv(q, &got, sizeof(got.text), 0, 0));
	pthread_join(t, NULL);
	printf("blocked sender: %ld %s\n", thr_rc, errname(thr_errno));
	msgrcv(q, &got, sizeof(got.text), 0, IPC_NOWAIT);

	/* A receiver blocks until a send of its type. */
	thr_rc = 99;
	pthread_create(&t, NULL, receiver, (void *)4L);
	ms_sleep(30);
	msg.type = 3;
	msgsnd(q, &msg, 10, 0);
	ms_sleep(10);
	printf("receiver of type 4 after a type 3: still blocked %d\n", thr_rc == 99);
	msg.type = 4;
	strcpy(msg.text, "four");
	msgsnd(q, &msg, 5, 0);
	pthread_join(t, NULL);
	printf("blocked receiver: %ld %s '%s'\n", thr_rc, errname(thr_errno), thr_msg.text);

	/* A signal ends a blocked msgrcv with EINTR, SA_RESTART or not. */
	struct sigaction sa = { .sa_handler = on_alrm, .sa_flags = SA_RESTART };
	sigaction(SIGALRM, &sa, NULL);
	alarm_ms(20);
	show("msgrcv interrupted (SA_RESTART)", msgrcv(q, &got, sizeof(got.text), 9, 0));

	/* IPC_RMID wakes a blocked receiver with EIDRM. */
	thr_rc = 99;
	pthread_create(&t, NULL, receiver, (void *)9L);
	ms_sleep(30);
	show("IPC_RMID", msgctl(q, IPC_RMID, NULL));
	pthread_join(t, NULL);
	printf("receiver after IPC_RMID: %ld %s\n", thr_rc, errname(thr_errno));
	show("IPC_STAT removed", msgctl(q, IPC_STAT, &d));
	show("msgctl bad cmd", msgctl(q, 99, &d));
	struct msginfo mi;
	ok("IPC_INFO", msgctl(0, IPC_INFO, (struct msqid_ds *)&mi));
	printf("  msgmax %d msgmnb %d\n", mi.msgmax, mi.msgmnb);
}

static int s;
static void *sem_waiter(void *arg)
{
	struct sembuf op = { 0, (short)(long)arg, 0 };
	errno = 0;
	thr_rc = semop(s, &op, 1);
	thr_errno = errno;
	return NULL;
}

/* Until semctl(cmd) on sem 0 reads want (the waiter is blocked by then), at most 2 s. */
static int wait_cnt(int cmd, int want)
{
	for (int i = 0; i < 1000; i++) {
		if (semctl(s, 0, cmd) == want)
			return 1;
		ms_sleep(2);
	}
	return 0;
}

static void sems(void)
{
	struct semid_ds d;
	unsigned short vals[2];
	pthread_t t;

	int old = semget(SEM_KEY, 0, 0);
	if (old >= 0)
		semctl(old, 0, IPC_RMID);
	errno = 0;

	show("semget nsems 0", semget(IPC_PRIVATE, 0, 0600));
	show("semget nsems -1", semget(IPC_PRIVATE, -1, 0600));
	show("semget nsems 32001", semget(IPC_PRIVATE, 32001, 0600));
	show("semget key, no IPC_CREAT", semget(SEM_KEY, 2, 0));
	ok("semget key, 2, IPC_CREAT", s = semget(SEM_KEY, 2, IPC_CREAT | 0600));
	show("semget key, 3", semget(SEM_KEY, 3, 0));
	printf("semget key, 1: same id %d\n", semget(SEM_KEY, 1, 0) == s);
	show("semget key, IPC_EXCL", semget(SEM_KEY, 2, IPC_CREAT | IPC_EXCL | 0600));
	semctl(s, 0, IPC_STAT, &d);
	printf("IPC_STAT: nsems %lu mode %o otime %ld\n", (unsigned long)d.sem_nsems, (unsigned)d.sem_perm.mode,
	       (long)d.sem_otime);

	show("GETVAL new", semctl(s, 0, GETVAL));
	show("SETVAL 5", semctl(s, 0, SETVAL, 5));
	show("GETVAL", semctl(s, 0, GETVAL));
	show("SETVAL 32768", semctl(s, 0, SETVAL, 32768));
	show("SETVAL -1", semctl(s, 0, SETVAL, -1));
	show("SETVAL semnum 2", semctl(s, 2, SETVAL, 1));
	show("GETVAL semnum -1", semctl(s, -1, GETVAL));
	vals[0] = 3, vals[1] = 40000;
	show("SETALL 40000", semctl(s, 0, SETALL, vals));
	vals[1] = 0;
	show("SETALL 3 0", semctl(s, 0, SETALL, vals));
	vals[0] = vals[1] = 9;
	semctl(s, 0, GETALL, vals);
	printf("GETALL: %u %u\n", vals[0], vals[1]);
	show("semctl bad cmd", semctl(s, 0, 99));
	show("semctl bad id", semctl(0x7ffffff0, 0, GETVAL));

	struct sembuf op = { 0, -1, IPC_NOWAIT };
	show("semop -1", semop(s, &op, 1));
	show("GETPID is us", semctl(s, 0, GETPID) == getpid());
	op.sem_op = -5;
	show("semop -5 IPC_NOWAIT", semop(s, &op, 1));
	op.sem_op = 0;
	show("semop wait-for-zero IPC_NOWAIT", semop(s, &op, 1));
	op.sem_num = 2;
	show("semop sem 2", semop(s, &op, 1));
	op.sem_num = 0;
	show("semop nsops 0", semop(s, &op, 0));
	static struct sembuf many[501];
	show("semop nsops 501", semop(s, many, 501));
	show("semop bad pointer", semop(s, (struct sembuf *)8, 1));
	semctl(s, 1, SETVAL, 32767);
	struct sembuf up = { 1, 1, 0 };
	show("semop above 32767", semop(s, &up, 1));
	semctl(s, 1, SETVAL, 0);
	/* All or nothing: sem 1 cannot go down, so sem 0 does not either. */
	struct sembuf two[2] = { { 0, -1, 0 }, { 1, -1, IPC_NOWAIT } };
	show("semop {0:-1, 1:-1} with sem 1 at 0", semop(s, two, 2));
	show("  sem 0 unchanged", semctl(s, 0, GETVAL));
	/* The same semaphore twice: in order, each on what the one before left. */
	struct sembuf dup[2] = { { 0, -2, 0 }, { 0, -2, IPC_NOWAIT } };
	show("semop {0:-2, 0:-2} with sem 0 at 2", semop(s, dup, 2));
	show("  sem 0 unchanged", semctl(s, 0, GETVAL));
	dup[1].sem_op = 3;
	show("semop {0:-2, 0:+3}", semop(s, dup, 2));
	show("  sem 0", semctl(s, 0, GETVAL));
	struct sembuf undo = { 0, -1, SEM_UNDO | IPC_NOWAIT };
	show("semop SEM_UNDO", semop(s, &undo, 1));
	semctl(s, 0, IPC_STAT, &d);
	printf("IPC_STAT: otime set %d\n", d.sem_otime > 0);
	struct timespec to = { 0, 30000000 };
	op = (struct sembuf){ 1, -1, 0 };
	show("semtimedop 30 ms", semtimedop(s, &op, 1, &to));
	to.tv_nsec = 1000000000;
	show("semtimedop bad timeout", semtimedop(s, &op, 1, &to));

	/* A waiter for an increase, then one for zero. */
	semctl(s, 0, SETVAL, 0);
	thr_rc = 99;
	pthread_create(&t, NULL, sem_waiter, (void *)-2L);
	printf("GETNCNT 1 while blocked: %d\n", wait_cnt(GETNCNT, 1));
	semctl(s, 0, SETVAL, 1);
	ms_sleep(10);
	printf("after SETVAL 1: still blocked %d\n", thr_rc == 99);
	struct sembuf one = { 0, 1, 0 };
	semop(s, &one, 1);
	pthread_join(t, NULL);
	printf("waiter: %ld %s, value %d, GETNCNT %d\n", thr_rc, errname(thr_errno), semctl(s, 0, GETVAL),
	       semctl(s, 0, GETNCNT));
	semctl(s, 0, SETVAL, 2);
	thr_rc = 99;
	pthread_create(&t, NULL, sem_waiter, (void *)0L);
	printf("GETZCNT 1 while blocked: %d\n", wait_cnt(GETZCNT, 1));
	one.sem_op = -2;
	semop(s, &one, 1);
	pthread_join(t, NULL);
	printf("zero waiter: %ld %s\n", thr_rc, errname(thr_errno));

	/* A signal ends semop with EINTR even under SA_RESTART. */
	struct sigaction sa = { .sa_handler = on_alrm, .sa_flags = SA_RESTART };
	sigaction(SIGALRM, &sa, NULL);
	alarm_ms(20);
	op = (struct sembuf){ 0, -1, 0 };
	show("semop interrupted (SA_RESTART)", semop(s, &op, 1));

	/* IPC_RMID wakes a waiter with EIDRM. */
	thr_rc = 99;
	pthread_create(&t, NULL, sem_waiter, (void *)-1L);
	wait_cnt(GETNCNT, 1);
	show("IPC_RMID", semctl(s, 0, IPC_RMID));
	pthread_join(t, NULL);
	printf("waiter after IPC_RMID: %ld %s\n", thr_rc, errname(thr_errno));
	show("GETVAL removed", semctl(s, 0, GETVAL));
	struct seminfo si;
	ok("IPC_INFO", semctl(0, 0, IPC_INFO, &si));
	printf("  semmsl %d semopm %d semvmx %d\n", si.semmsl, si.semopm, si.semvmx);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	msgs();
	sems();
	printf("sysvipc done\n");
	return 0;
}
