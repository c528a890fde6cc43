/* sys_ipc.c: SysV IPC ids (guest/include/sysv.h) and message queues: msgget, msgsnd, msgrcv, msgctl. */
#include <linux/errno.h>
#include <linux/msg.h>
#include <limits.h>
#include <string.h>

#include "k.h"
#include "kmalloc.h"
#include "sig.h"
#include "sys.h"
#include "sysv.h"
#include "thread.h"
#include "wait.h"

#define SYSV_PID 1 /* the process: msg_lspid, sempid */

struct sysv_obj *sysv_lookup(struct sysv_table *t, long id)
{
	if (id < 0 || id > INT32_MAX)
		return NULL;
	struct sysv_obj *o = t->slot[id % SYSV_IPCMNI % SYSV_SLOTS];
	if (id % SYSV_IPCMNI >= SYSV_SLOTS || !o || o->seq != id / SYSV_IPCMNI)
		return NULL;
	return o;
}

int sysv_slot(long id)
{
	return (int)(id % SYSV_IPCMNI);
}

int sysv_find_key(struct sysv_table *t, int32_t key)
{
	for (int i = 0; i < SYSV_SLOTS; i++)
		if (t->slot[i] && t->slot[i]->key == key)
			return i;
	return -1;
}

long sysv_id(const struct sysv_table *t, int slot)
{
	return (long)t->slot[slot]->seq * SYSV_IPCMNI + slot;
}

long sysv_add(struct sysv_table *t, struct sysv_obj *o)
{
	for (int i = 0; i < SYSV_SLOTS; i++) {
		if (t->slot[i])
			continue;
		/* Linux's IPCID_SEQ_MAX for a 32768-slot namespace: ids stay positive ints. */
		o->seq = t->seq;
		t->seq = t->seq >= 65535 ? 0 : t->seq + 1;
		o->uid = o->gid = 0;
		o->ctime = sysv_now();
		t->slot[i] = o;
		return sysv_id(t, i);
	}
	return -ENOSPC;
}

void sysv_remove(struct sysv_table *t, int slot)
{
	t->slot[slot] = NULL;
}

int sysv_maxidx(const struct sysv_table *t, int *n)
{
	int max = 0;
	*n = 0;
	for (int i = 0; i < SYSV_SLOTS; i++)
		if (t->slot[i]) {
			max = i;
			++*n;
		}
	return max;
}

void sysv_perm_out(const struct sysv_obj *o, struct ipc64_perm *p)
{
	memset(p, 0, sizeof(*p));
	p->key = o->key;
	p->uid = o->uid;
	p->gid = o->gid;
	p->cuid = p->cgid = 0; /* created by root */
	p->mode = o->mode;
	p->seq = o->seq;
}

void sysv_perm_in(struct sysv_obj *o, const struct ipc64_perm *p)
{
	o->uid = p->uid;
	o->gid = p->gid;
	o->mode = (o->mode & ~0777u) | (p->mode & 0777u);
}

int64_t sysv_now(void)
{
	return (int64_t)(k_clock_realtime_ns() / 1000000000u);
}

/*
 * Message queues. Senders block (on the queue's snd key) while the queue
 * holds msg_qbytes, receivers (on rcv) while no message matches; a send or
 * receive wakes the other side, IPC_RMID wakes both: every waiter looks its
 * queue up again by id after a wake, so a removed one is EIDRM and its
 * memory is never touched again. Signals end the waits with Linux's
 * ERESTARTNOHAND (EINTR after a handler, whatever SA_RESTART says).
 */
struct msg {
	struct msg *next;
	long type;
	size_t len;
	char text[];
};

struct msq {
	struct sysv_obj o;
	struct msg *head, **tail;
	uint64_t cbytes, qnum, qbytes;
	int64_t stime, rtime;
	int lspid, lrpid;
	char snd, rcv; /* wait keys */
};

static struct sysv_table msq_ids;
static uint64_t msq_total_msgs, msq_total_bytes;

static struct msq *msq_get(long id)
{
	return (struct msq *)sysv_lookup(&msq_ids, id);
}

static void msq_free(int slot, struct msq *q)
{
	sysv_remove(&msq_ids, slot);
	while (q->head) {
		struct msg *m = q->head;
		q->head = m->next;
		msq_total_msgs--;
		msq_total_bytes -= m->len;
		k_free(m);
	}
	k_wait_wake(&q->snd, ~0u, K_THR_ALL);
	k_wait_wake(&q->rcv, ~0u, K_THR_ALL);
	k_free(q);
}

/* msgget(key, msgflg) */
long sys_msgget(SYS_ARGS)
{
	int32_t key = (int32_t)a0;
	int flg = (int)a1;

	if (key != IPC_PRIVATE) {
		int slot = sysv_find_key(&msq_ids, key);
		if (slot >= 0) {
			if ((flg & IPC_CREAT) && (flg & IPC_EXCL))
				return -EEXIST;
			return sysv_id(&msq_ids, slot);
		}
		if (!(flg & IPC_CREAT))
			return -ENOENT;
	}
	struct msq *q = k_calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->o.key = key;
	q->o.mode = (uint32_t)flg & 0777u;
	q->tail = &q->head;
	q->qbytes = MSGMNB;
	long id = sysv_add(&msq_ids, &q->o);
	if (id < 0)
		k_free(q);
	return id;
}

/* msgsnd(id, msgp, msgsz, msgflg): msgp is { long mtype; char mtext[]; }. */
long sys_msgsnd(SYS_ARGS)
{
	const long *mp = (const long *)a1;
	size_t sz = (size_t)a2;
	int flg = (int)a3;

	if (!k_user_ok(mp, sizeof(long)))
		return -EFAULT;
	long type = *mp;
	if (sz > MSGMAX || (long)sz < 0 || a0 < 0)
		return -EINVAL;
	if (type < 1)
		return -EINVAL;
	if (!k_user_ok(mp + 1, sz))
		return -EFAULT;
	struct msg *m = k_malloc(sizeof(*m) + sz);
	if (!m)
		return -ENOMEM;
	m->next = NULL;
	m->type = type;
	m->len = sz;
	memcpy(m->text, mp + 1, sz);
	for (;;) {
		struct msq *q = msq_get(a0);
		long rc;
		if (!q) {
			rc = -EINVAL;
		} else if (sz + q->cbytes <= q->qbytes && 1 + q->qnum <= q->qbytes) {
			*q->tail = m;
			q->tail = &m->next;
			q->cbytes += sz;
			q->qnum++;
			msq_total_msgs++;
			msq_total_bytes += sz;
			q->lspid = SYSV_PID;
			q->stime = sysv_now();
			k_wait_wake(&q->rcv, ~0u, K_THR_ALL);
			return 0;
		} else if (flg & IPC_NOWAIT) {
			rc = -EAGAIN;
		} else {
			rc = k_wait_on(&q->snd, ~0u, K_WAIT_FOREVER, K_WAIT_INTR);
			if (rc == 0)
				rc = msq_get(a0) == q ? 1 : -EIDRM;
			else if (rc == -EINTR)
				rc = -K_ERESTARTNOHAND;
		}
		if (rc <= 0) {
			k_free(m);
			return rc;
		}
	}
}

/* The first message of q that msgrcv's type and flags select (Linux's convert_mode and find_msg). */
static struct msg **msq_find(struct msq *q, long type, int flg)
{
	struct msg **best = NULL;
	for (struct msg **pp = &q->head; *pp; pp = &(*pp)->next) {
		long t = (*pp)->type;
		if (type == 0)
			return pp;
		if (type > 0 && (flg & MSG_EXCEPT ? t != type : t == type))
			return pp;
		/* type < 0: the lowest type up to |type|, the first of them */
		if (type < 0 && t <= (type == LONG_MIN ? LONG_MAX : -type) && (!best || t < (*best)->type))
			best = pp;
	}
	return best;
}

/* msgrcv(id, msgp, msgsz, msgtyp, msgflg) */
long sys_msgrcv(SYS_ARGS)
{
	long *mp = (long *)a1;
	long bufsz = a2, type = a3;
	int flg = (int)a4;

	if (a0 < 0 || bufsz < 0)
		return -EINVAL;
	/* MSG_COPY is Linux's checkpoint/restore interface: absent, as on a kernel built without it. */
	if (flg & MSG_COPY)
		return -ENOSYS;
	for (;;) {
		struct msq *q = msq_get(a0);
		if (!q)
			return -EINVAL;
		struct msg **pp = msq_find(q, type, flg);
		if (pp) {
			struct msg *m = *pp;
			if ((size_t)bufsz < m->len && !(flg & MSG_NOERROR))
				return -E2BIG;
			size_t n = m->len < (size_t)bufsz ? m->len : (size_t)bufsz;
			*pp = m->next;
			if (q->tail == &m->next)
				q->tail = pp;
			q->cbytes -= m->len;
			q->qnum--;
			msq_total_msgs--;
			msq_total_bytes -= m->len;
			q->lrpid = SYSV_PID;
			q->rtime = sysv_now();
			k_wait_wake(&q->snd, ~0u, K_THR_ALL);
			/* Like Linux: the message is gone even when the app's buffer cannot take it. */
			long rc = (long)n;
			if (!k_user_ok(mp, sizeof(long) + n))
				rc = -EFAULT;
			else {
				*mp = m->type;
				memcpy(mp + 1, m->text, n);
			}
			k_free(m);
			return rc;
		}
		if (flg & IPC_NOWAIT)
			return -ENOMSG;
		long rc = k_wait_on(&q->rcv, ~0u, K_WAIT_FOREVER, K_WAIT_INTR);
		if (rc == -EINTR)
			return -K_ERESTARTNOHAND;
		if (msq_get(a0) != q)
			return -EIDRM;
	}
}

static void msq_stat(const struct msq *q, struct msqid64_ds *d)
{
	memset(d, 0, sizeof(*d));
	sysv_perm_out(&q->o, &d->msg_perm);
	d->msg_stime = q->stime;
	d->msg_rtime = q->rtime;
	d->msg_ctime = q->o.ctime;
	d->msg_cbytes = q->cbytes;
	d->msg_qnum = q->qnum;
	d->msg_qbytes = q->qbytes;
	d->msg_lspid = q->lspid;
	d->msg_lrpid = q->lrpid;
}

/* msgctl(id, cmd, buf) */
long sys_msgctl(SYS_ARGS)
{
	int cmd = (int)a1;
	void *buf = (void *)a2;

	if (a0 < 0 || cmd < 0)
		return -EINVAL;
	switch (cmd) {
	case IPC_INFO:
	case MSG_INFO: {
		struct msginfo *mi = buf;
		int n, max = sysv_maxidx(&msq_ids, &n);
		if (!k_user_ok(mi, sizeof(*mi)))
			return -EFAULT;
		memset(mi, 0, sizeof(*mi));
		mi->msgmni = MSGMNI;
		mi->msgmax = MSGMAX;
		mi->msgmnb = MSGMNB;
		mi->msgssz = MSGSSZ;
		mi->msgseg = MSGSEG;
		if (cmd == MSG_INFO) {
			mi->msgpool = n;
			mi->msgmap = (int)msq_total_msgs;
			mi->msgtql = (int)msq_total_bytes;
		} else {
			mi->msgpool = MSGPOOL;
			mi->msgmap = MSGMAP;
			mi->msgtql = MSGTQL;
		}
		return max;
	}
	case MSG_STAT:
	case MSG_STAT_ANY: {
		/* By slot, not id: the answer is the id. */
		struct msqid64_ds *d = buf;
		if (a0 >= SYSV_SLOTS || !msq_ids.slot[a0])
			return -EINVAL;
		if (!k_user_ok(d, sizeof(*d)))
			return -EFAULT;
		msq_stat((struct msq *)msq_ids.slot[a0], d);
		return sysv_id(&msq_ids, (int)a0);
	}
	case IPC_STAT: {
		struct msqid64_ds *d = buf;
		struct msq *q = msq_get(a0);
		if (!q)
			return -EINVAL;
		if (!k_user_ok(d, sizeof(*d)))
			return -EFAULT;
		msq_stat(q, d);
		return 0;
	}
	case IPC_SET: {
		const struct msqid64_ds *d = buf;
		if (!k_user_ok(d, sizeof(*d)))
			return -EFAULT;
		struct msqid64_ds v = *d;
		struct msq *q = msq_get(a0);
		if (!q)
			return -EINVAL;
		/* Root: CAP_SYS_RESOURCE allows a msg_qbytes above MSGMNB. */
		sysv_perm_in(&q->o, &v.msg_perm);
		q->qbytes = v.msg_qbytes;
		q->o.ctime = sysv_now();
		k_wait_wake(&q->snd, ~0u, K_THR_ALL); /* maybe room now */
		return 0;
	}
	case IPC_RMID: {
		struct msq *q = msq_get(a0);
		if (!q)
			return -EINVAL;
		msq_free(sysv_slot(a0), q);
		return 0;
	}
	default:
		return -EINVAL;
	}
}
