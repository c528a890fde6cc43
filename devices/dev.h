/* dev.h: device classes and their registry: how the VM opens its devices from the config without knowing their kinds. */
#ifndef DEVICES_DEV_H
#define DEVICES_DEV_H

#include <stdbool.h>
#include <stddef.h>

#include "mmio.h"
#include "ukvm.h"
#include "ukvm_abi.h"

/* Device kinds in a snapshot (struct dev_state.kind): numbers of the file format, never reused. */
enum dev_kind {
	DEV_KIND_BLK = 1,
	DEV_KIND_NET = 2,
};
#define DEV_STATE_RO 1u /* struct dev_state.flags: opened read-only */

/* One device in a snapshot (docs/snapshot.md): 248 bytes, little-endian. */
struct dev_state {
	uint32_t kind;          /* enum dev_kind */
	uint32_t flags;         /* DEV_STATE_* */
	uint64_t size;          /* blk: the disk's bytes; net: DEV_NET_SIZE(mac, mtu) */
	struct mmio_state tr;   /* the transport */
};
_Static_assert(sizeof(struct dev_state) == 248, "struct dev_state is part of the snapshot format");

/* A NIC's struct dev_state.size: its MAC (mac[0] in the low byte) and, above it, the MTU it offered. */
#define DEV_NET_SIZE(mac, mtu)                                                                                \
	((uint64_t)(mac)[0] | (uint64_t)(mac)[1] << 8 | (uint64_t)(mac)[2] << 16 | (uint64_t)(mac)[3] << 24 |  \
	 (uint64_t)(mac)[4] << 32 | (uint64_t)(mac)[5] << 40 | (uint64_t)(uint16_t)(mtu) << 48)
#define DEV_NET_MAC_BYTE(size, i) ((uint8_t)((size) >> (8 * (i))))
#define DEV_NET_MTU(size) ((uint16_t)((size) >> 48))

/* A NIC's saved state as a snapshot file may hold it: no flags, a unicast MAC, an MTU we could offer. */
static inline bool dev_net_state_ok(const struct dev_state *s)
{
	uint16_t mtu = DEV_NET_MTU(s->size);
	return !s->flags && mtu >= UKVM_NET_MTU_MIN && mtu <= UKVM_NET_MTU_MAX && !(DEV_NET_MAC_BYTE(s->size, 0) & 1);
}

/* What a class gets to open one device. */
struct dev_env {
	const struct vq_mem *mem; /* guest memory provider (copied by the transport) */
	int news_fd;              /* eventfd the device writes when the driver should look; may be -1 */
	unsigned index;           /* among the devices of this class: 0 is vda for blk */
};

/*
 * A kind of device. A new kind is one file in devices/ defining a class,
 * its line in dev_classes (dev.c) and its CLI option (vmm/cli.c); the VM
 * core wires every device the same way through the transport.
 */
struct dev_class {
	const char *name; /* "blk": struct ukvm_dev_stats.kind */
	/* How many devices of this class cfg asks for, or -EINVAL with one line in err. */
	int (*count)(const struct ukvm_config *cfg, char *err, size_t errlen);
	/*
	 * Opens device i (< count) of cfg: 0 and *out (its transport,
	 * mmio_init'ed), or -errno with one line in err naming what failed
	 * ("PATH: cannot open disk: ..."). Nothing is left open on failure.
	 */
	int (*open)(const struct ukvm_config *cfg, unsigned i, const struct dev_env *env, struct mmio_dev **out,
		    char *err, size_t errlen);
	/* Closes what open made; the device is idle (its event loop is freed). */
	void (*close)(struct mmio_dev *d);
	/*
	 * NICs only (NULL for other classes): the interface configuration the
	 * guest gets in the device's FDT node (MAC chosen, defaults applied),
	 * valid while the device is open; and its counters for the result.
	 */
	const struct ukvm_net *(*nic)(struct mmio_dev *d);
	void (*nic_stats)(struct mmio_dev *d, struct ukvm_net_stats *out);
	/*
	 * Snapshots (vmm/snap.h); NULL when the class cannot be snapshotted yet
	 * (a VM with such a device refuses to snapshot). save fills the class's
	 * part of *s (kind, flags, size) after mmio_save filled s->tr, which it
	 * may correct (a NIC hands back the RX buffers its reads hold); load
	 * checks that the device opened for a restore is the one saved (a disk
	 * of another size is refused) and takes what it must keep (a NIC's
	 * MAC), before mmio_load; 0 or -EINVAL with one line in err.
	 */
	void (*save)(struct mmio_dev *d, struct dev_state *s);
	int (*load)(struct mmio_dev *d, const struct dev_state *s, char *err, size_t errlen);
	/*
	 * Whether the device is at a point save can describe; NULL: mmio_quiet
	 * (nothing in flight, nothing waiting in a ring). A NIC is quiet with
	 * RX reads armed and RX buffers posted: waiting for frames is its rest.
	 */
	bool (*quiet)(struct mmio_dev *d);
};

/* Every class, in MMIO slot order: a VM's devices are those of dev_classes[0], then [1] ... */
extern const struct dev_class *const dev_classes[];
extern const unsigned dev_nclasses;

#endif
