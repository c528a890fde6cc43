/* proto_env_vmm.h: proto/ hooks for the monitor build of the proto sources (x86-64 host, passed with -include). */
#ifndef PROTO_ENV_VMM_H
#define PROTO_ENV_VMM_H

/* x86-64 is TSO: only store->load needs a fence; rmb/wmb just stop the compiler reordering. */
#define vq_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define vq_rmb() __asm__ __volatile__("" ::: "memory")
#define vq_wmb() __asm__ __volatile__("" ::: "memory")
#define vq_le16(x) (x)
#define vq_le32(x) (x)
#define vq_le64(x) (x)

#endif
