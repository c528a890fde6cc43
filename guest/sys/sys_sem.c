/* sys_sem.c: SysV semaphore sets: semget, semop, semtimedop, semctl. */
#include <linux/errno.h>
#include <linux/sem.h>
#include <string.h>

#include "k.h"
#include "kmalloc.h"
#include "linux_abi.h"
#include "sig.h"
#include "sys.h"
#include "sysv.h"
#include "thread.h"
#include "wait.h"
#include "deadline.h"

/*
 * A semop that cannot proceed (a decrement below zero, a wait-for-zero on
 * a nonzero value) blocks on its set's key; every change to a set wakes
 * all its waiters, which try again (all or nothing: the operations apply
 * in order, and are undone when one cannot). IPC_RMID wakes them with EIDRM
 * (they look the set up again by id: its memory is never touched once
 * freed), a signal with EINTR, semtimedop's timeout with EAGAIN.
 *
 * SEM_UNDO adjustments are kept (their range is checked, SETVAL and SETALL
 * clear them, as on Linux) but never applied: Linux applies them when the
 * process exits, and with one process per VM nobody remains to see it.
 */
#define SEM_PID 1

struct sem1 {
	int val, pid;
	int adj;        /* SEM_UNDO's adjustment */
	int ncnt, zcnt; /* threads blocked waiting for an increase / for zero */
};

struct semset {
	struct sysv_obj o;
	int64_t otime;
	int nsems;
	char key; /* wait key */
	struct sem1 s[];
};

static struct sysv_table sem_ids;
static long sem_total; /* semaphores in all sets: SEM_INFO's semaem */

static struct semset *sem_get(long id)
{
	return (struct semset *)sysv_lookup(&sem_ids, id);
}

/* semget(key, nsems, semflg) */
long sys_semget(SYS_ARGS)
{
	int32_t key = (int32_t)a0;
	int nsems = (int)a1, flg = (int)a2;

	if (nsems < 0 || nsems > SEMMSL)
		return -EINVAL;
	if (key != IPC_PRIVATE) {
		int slot = sysv_find_key(&sem_ids, key);
		if (slot >= 0) {
			if ((flg & IPC_CREAT) && (flg & IPC_EXCL))
				return -EEXIST;
			if (nsems > ((struct semset *)sem_ids.slot[slot])->nsems)
				return -EINVAL;
			return sysv_id(&sem_ids, slot);
		}
		if (!(flg & IPC_CREAT))
			return -ENOENT;
	}
	if (!nsems)
		return -EINVAL;
	struct semset *ss = k_calloc(1, sizeof(*ss) + (size_t)nsems * sizeof(struct sem1));
	if (!ss)
		return -ENOMEM;
	ss->o.key = key;
	ss->o.mode = (uint32_t)flg & 0777u;
	ss->nsems = nsems;
	long id = sysv_add(&sem_ids, &ss->o);
	if (id < 0)
		k_free(ss);
	else
		sem_total += nsems;
	return id;
}

/*
 * Linux's perform_atomic_semop_slow: applies the ops in order, each on the
 * value the ones before it left; when one would block or overflow, undoes
 * those applied. 0 (all applied), 1 (*blocking would block), or -errno
 * (-EAGAIN: it would block under IPC_NOWAIT).
 */
static int sem_try(struct semset *ss, const struct sembuf *ops, size_t n, const struct sembuf **blocking)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		const struct sembuf *op = &ops[i];
		struct sem1 *s = &ss->s[op->sem_num];
		int v = s->val;
		if ((!op->sem_op && v) || v + op->sem_op < 0) {
			*blocking = op;
			rc = op->sem_flg & IPC_NOWAIT ? -EAGAIN : 1;
			break;
		}
		v += op->sem_op;
		if (v > SEMVMX) {
			rc = -ERANGE;
			break;
		}
		if (op->sem_flg & SEM_UNDO) {
			int undo = s->adj - op->sem_op;
			if (undo < -SEMAEM - 1 || undo > SEMAEM) {
				rc = -ERANGE;
				break;
			}
			s->adj = undo;
		}
		s->val = v;
	}
	if (rc) {
		while (i-- > 0) {
			struct sem1 *s = &ss->s[ops[i].sem_num];
			s->val -= ops[i].sem_op;
			if (ops[i].sem_flg & SEM_UNDO)
				s->adj += ops[i].sem_op;
		}
		return rc;
	}
	for (i = 0; i < n; i++)
		ss->s[ops[i].sem_num].pid = SEM_PID;
	ss->otime = sysv_now();
	return 0;
}

static long sem_timedop(long id, const struct sembuf *uops, long nsops, const struct lx_timespec *to)
{
	struct sembuf small[16], *ops = small;
	uint64_t deadline = K_WAIT_FOREVER;
	long rc;

	if (nsops < 1 || id < 0)
		return -EINVAL;
	if (nsops > SEMOPM)
		return -E2BIG;
	if (!k_user_ok(uops, (size_t)nsops * sizeof(*uops)))
		return -EFAULT;
	long e = k_ts_deadline(to, &deadline);
	if (e < 0)
		return e;
	if (nsops > (long)(sizeof(small) / sizeof(small[0]))) {
		ops = k_malloc((size_t)nsops * sizeof(*ops));
		if (!ops)
			return -ENOMEM;
	}
	memcpy(ops, uops, (size_t)nsops * sizeof(*ops));
	unsigned max = 0;
	for (long i = 0; i < nsops; i++)
		if (ops[i].sem_num > max)
			max = ops[i].sem_num;
	struct semset *ss = sem_get(id);
	if (!ss) {
		rc = -EINVAL;
		goto out;
	}
	if (max >= (unsigned)ss->nsems) {
		rc = -EFBIG;
		goto out;
	}
	for (;;) {
		const struct sembuf *b = NULL;
		rc = sem_try(ss, ops, (size_t)nsops, &b);
		if (rc == 0) {
			k_wait_wake(&ss->key, ~0u, K_THR_ALL);
			break;
		}
		if (rc < 0)
			break;
		struct sem1 *s = &ss->s[b->sem_num];
		bool zero = b->sem_op == 0;
		zero ? s->zcnt++ : s->ncnt++;
		rc = k_wait_on(&ss->key, ~0u, deadline, K_WAIT_INTR);
		if (sem_get(id) != ss) {
			rc = -EIDRM; /* removed: ss is freed */
			break;
		}
		zero ? s->zcnt-- : s->ncnt--;
		if (rc == -ETIMEDOUT) {
			rc = -EAGAIN;
			break;
		}
		if (rc == -EINTR)
			break; /* Linux: semop is never restarted */
	}
out:
	if (ops != small)
		k_free(ops);
	return rc;
}

long sys_semop(SYS_ARGS)
{
	return sem_timedop(a0, (const struct sembuf *)a1, a2, NULL);
}

long sys_semtimedop(SYS_ARGS)
{
	return sem_timedop(a0, (const struct sembuf *)a1, a2, (const struct lx_timespec *)a3);
}

static void sem_stat(const struct semset *ss, struct semid64_ds *d)
{
	memset(d, 0, sizeof(*d));
	sysv_perm_out(&ss->o, &d->sem_perm);
	d->sem_otime = ss->otime;
	d->sem_ctime = ss->o.ctime;
	d->sem_nsems = (unsigned long)ss->nsems;
}

/* A value changed by semctl: the set's change time, and every waiter tries again. */
static void sem_changed(struct semset *ss)
{
	ss->o.ctime = sysv_now();
	k_wait_wake(&ss->key, ~0u, K_THR_ALL);
}

/* semctl(id, semnum, cmd, arg): arg is an int (SETVAL) or a pointer, as union semun passes it. */
long sys_semctl(SYS_ARGS)
{
	int semnum = (int)a1, cmd = (int)a2;
	void *p = (void *)a3;

	if (a0 < 0)
		return -EINVAL;
	if (cmd == IPC_INFO || cmd == SEM_INFO) {
		struct seminfo *si = p;
		int n, max = sysv_maxidx(&sem_ids, &n);
		if (!k_user_ok(si, sizeof(*si)))
			return -EFAULT;
		memset(si, 0, sizeof(*si));
		si->semmni = SEMMNI;
		si->semmns = SEMMNS;
		si->semmsl = SEMMSL;
		si->semopm = SEMOPM;
		si->semvmx = SEMVMX;
		si->semmnu = SEMMNU;
		si->semmap = SEMMAP;
		si->semume = SEMUME;
		si->semusz = cmd == SEM_INFO ? n : SEMUSZ;
		si->semaem = cmd == SEM_INFO ? (int)sem_total : SEMAEM;
		return max;
	}
	if (cmd == SEM_STAT || cmd == SEM_STAT_ANY) {
		if (a0 >= SYSV_SLOTS || !sem_ids.slot[a0])
			return -EINVAL;
		if (!k_user_ok(p, sizeof(struct semid64_ds)))
			return -EFAULT;
		sem_stat((struct semset *)sem_ids.slot[a0], p);
		return sysv_id(&sem_ids, (int)a0);
	}
	struct semset *ss = sem_get(a0);
	if (!ss)
		return -EINVAL;
	switch (cmd) {
	case IPC_STAT:
		if (!k_user_ok(p, sizeof(struct semid64_ds)))
			return -EFAULT;
		sem_stat(ss, p);
		return 0;
	case IPC_SET: {
		if (!k_user_ok(p, sizeof(struct semid64_ds)))
			return -EFAULT;
		struct semid64_ds d = *(struct semid64_ds *)p;
		sysv_perm_in(&ss->o, &d.sem_perm);
		ss->o.ctime = sysv_now();
		return 0;
	}
	case IPC_RMID:
		sysv_remove(&sem_ids, sysv_slot(a0));
		sem_total -= ss->nsems;
		k_wait_wake(&ss->key, ~0u, K_THR_ALL);
		k_free(ss);
		return 0;
	case GETALL: {
		uint16_t *arr = p;
		if (!k_user_ok(arr, (size_t)ss->nsems * sizeof(*arr)))
			return -EFAULT;
		for (int i = 0; i < ss->nsems; i++)
			arr[i] = (uint16_t)ss->s[i].val;
		return 0;
	}
	case SETALL: {
		const uint16_t *arr = p;
		if (!k_user_ok(arr, (size_t)ss->nsems * sizeof(*arr)))
			return -EFAULT;
		for (int i = 0; i < ss->nsems; i++)
			if (arr[i] > SEMVMX)
				return -ERANGE;
		for (int i = 0; i < ss->nsems; i++) {
			ss->s[i].val = arr[i];
			ss->s[i].adj = 0;
			ss->s[i].pid = SEM_PID;
		}
		sem_changed(ss);
		return 0;
	}
	case GETVAL:
	case GETPID:
	case GETNCNT:
	case GETZCNT:
	case SETVAL:
		break;
	default:
		return -EINVAL;
	}
	if (semnum < 0 || semnum >= ss->nsems)
		return -EINVAL;
	struct sem1 *s = &ss->s[semnum];
	switch (cmd) {
	case GETVAL:
		return s->val;
	case GETPID:
		return s->pid;
	case GETNCNT:
		return s->ncnt;
	case GETZCNT:
		return s->zcnt;
	default: { /* SETVAL */
		int v = (int)a3;
		if (v < 0 || v > SEMVMX)
			return -ERANGE;
		s->val = v;
		s->adj = 0;
		s->pid = SEM_PID;
		sem_changed(ss);
		return 0;
	}
	}
}
