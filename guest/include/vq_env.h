/* vq_env.h: proto/ virtqueue hooks for the guest kernel build (x86-64 is TSO: compiler barriers suffice for rmb/wmb). */
#ifndef VQ_ENV_H
#define VQ_ENV_H

#define vq_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define vq_rmb() __asm__ volatile("" ::: "memory")
#define vq_wmb() __asm__ volatile("" ::: "memory")
#define vq_le16(x) (x)
#define vq_le32(x) (x)
#define vq_le64(x) (x)

#endif
