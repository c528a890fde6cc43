/* sysv.h: SysV IPC object ids and permissions, shared by message queues (guest/sys/sys_ipc.c) and semaphore sets (guest/sys/sys_sem.c). */
#ifndef SYSV_H
#define SYSV_H

#include <linux/ipc.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * One IPC namespace for the one process. An id is Linux's seq * IPCMNI +
 * slot, so an id whose object was removed (and its slot reused) is EINVAL,
 * as on Linux. SYSV_SLOTS objects of each kind (Linux allows 32000: the
 * table here is static, and more is ENOSPC).
 */
#define SYSV_SLOTS 256
#define SYSV_IPCMNI 32768

/* Every object's head: its key, mode and the seq part of its id. */
struct sysv_obj {
	int32_t key;
	uint32_t uid, gid, mode;
	uint16_t seq;
	int64_t ctime; /* realtime seconds of the last change (creation, IPC_SET, a SETVAL ...) */
};

struct sysv_table {
	struct sysv_obj *slot[SYSV_SLOTS];
	uint16_t seq; /* the next object's */
};

/* The object id names (NULL: none, EINVAL to the caller). */
struct sysv_obj *sysv_lookup(struct sysv_table *t, long id);

/* The slot of the object with key (not IPC_PRIVATE), or -1. */
int sysv_find_key(struct sysv_table *t, int32_t key);

/* Adds o (key and mode set by the caller): its id, or -ENOSPC. */
long sysv_add(struct sysv_table *t, struct sysv_obj *o);

/* Removes the object of slot (the caller frees it). */
void sysv_remove(struct sysv_table *t, int slot);

/* The id of the object in slot. */
long sysv_id(const struct sysv_table *t, int slot);

/* The slot of object id (valid: sysv_lookup found it). */
int sysv_slot(long id);

/* The highest slot in use (IPC_INFO's result), 0 when none; n gets the number in use. */
int sysv_maxidx(const struct sysv_table *t, int *n);

/* Fills Linux's struct ipc64_perm for o: the app is root (uid, gid 0). */
void sysv_perm_out(const struct sysv_obj *o, struct ipc64_perm *p);

/* IPC_SET's part of the permissions: uid, gid and the mode's 0777 bits. */
void sysv_perm_in(struct sysv_obj *o, const struct ipc64_perm *p);

/* Realtime seconds, the unit of every IPC time field. */
int64_t sysv_now(void);

#endif
