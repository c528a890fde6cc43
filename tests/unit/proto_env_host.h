/* proto_env_host.h: proto/ hooks for host builds of the unit tests (x86-64, gcc builtins). */
#ifndef PROTO_ENV_HOST_H
#define PROTO_ENV_HOST_H

#include <stdint.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "proto_env_host.h assumes a little-endian host"
#endif

/* C11 fences: seq_cst is mfence on x86-64; acquire/release cost nothing there but keep the compiler honest. */
#define vq_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define vq_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define vq_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)

#define vq_le16(x) ((uint16_t)(x))
#define vq_le32(x) ((uint32_t)(x))
#define vq_le64(x) ((uint64_t)(x))

#endif
