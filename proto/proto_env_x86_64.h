/* proto_env_x86_64.h: proto/'s barrier and byte-order hooks for x86-64, the one env shared by the monitor, the guest kernel and the tests. */
#ifndef PROTO_ENV_X86_64_H
#define PROTO_ENV_X86_64_H

/*
 * Every build passes this file with `-include` (HOST_CFLAGS, GUEST_CFLAGS), so
 * the unit tests run the virtqueue code with exactly the barriers that ship.
 * Macros only: harmless in a file that never includes a proto/ header.
 */
#if !defined(__x86_64__)
#error "proto_env_x86_64.h: x86-64 only (TSO memory order, little-endian)"
#endif

/*
 * x86-64 is TSO: loads are not reordered with loads, stores not with stores,
 * and a store is not reordered with an earlier load. Only a store followed by
 * a load of another location can pass, so vq_mb() is a real fence (mfence)
 * while vq_rmb()/vq_wmb() only stop the compiler from reordering.
 *
 * The pairs in proto/virtq_dev.c and proto/virtq_drv.c:
 *   vq_wmb() driver, before storing avail.idx   <-> vq_rmb() device, after reading avail.idx
 *   vq_wmb() device, before storing used.idx    <-> vq_rmb() driver, after reading used.idx
 *   vq_mb()  driver, avail.idx store -> avail_event/flags load
 *       <-> vq_mb() device, avail_event/flags store -> avail.idx load (no lost kick)
 *   vq_mb()  device, used.idx store -> used_event/flags load
 *       <-> vq_mb() driver, used_event/flags store -> used.idx load (no lost interrupt)
 * The vq_mb() pairs are exactly the store->load cases TSO does not order.
 */
#define vq_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define vq_rmb() __asm__ __volatile__("" ::: "memory")
#define vq_wmb() __asm__ __volatile__("" ::: "memory")

/* Virtio's le16/le32/le64 fields and x86-64 share the byte order: the conversion only fixes the width. */
#define vq_le16(x) ((uint16_t)(x))
#define vq_le32(x) ((uint32_t)(x))
#define vq_le64(x) ((uint64_t)(x))

#endif
