/* proto_env.h: the hooks every includer of proto/'s virtqueue code must define first, and the guest-memory provider. */
#ifndef PROTO_ENV_H
#define PROTO_ENV_H

#include <stddef.h>
#include <stdint.h>

/*
 * Define these macros before including any proto/ virtqueue header: put them
 * in an env header and pass it with `-include env.h` (that is how the proto/
 * .c files see them) or include it first. There are deliberately no
 * defaults: a barrier silently compiled to nothing is a bug found in
 * production, so a missing hook stops the build. The one env of this tree is
 * proto_env_x86_64.h, used alike by the monitor, the guest kernel and the
 * tests; a port to another CPU brings its own file next to it.
 *
 *   vq_mb()   full barrier: orders earlier loads/stores against later loads/stores
 *   vq_rmb()  orders earlier loads against later loads
 *   vq_wmb()  orders earlier stores against later stores
 *   vq_le16(x) vq_le32(x) vq_le64(x)  little-endian <-> CPU order (symmetric)
 */
#ifndef vq_mb
#error "proto_env.h: define vq_mb() (full memory barrier) before including proto headers"
#endif
#ifndef vq_rmb
#error "proto_env.h: define vq_rmb() (read barrier) before including proto headers"
#endif
#ifndef vq_wmb
#error "proto_env.h: define vq_wmb() (write barrier) before including proto headers"
#endif
#ifndef vq_le16
#error "proto_env.h: define vq_le16(x) (little-endian conversion) before including proto headers"
#endif
#ifndef vq_le32
#error "proto_env.h: define vq_le32(x) (little-endian conversion) before including proto headers"
#endif
#ifndef vq_le64
#error "proto_env.h: define vq_le64(x) (little-endian conversion) before including proto headers"
#endif

/*
 * Guest memory provider. map(ctx, gpa, len) returns a pointer through which
 * the len bytes at gpa are reachable contiguously, or NULL when any part of
 * [gpa, gpa+len) is outside guest RAM (or the range overflows). len may be 0
 * only if the provider accepts it; proto/ never asks for 0 bytes. The host
 * passes its one checked translation; the guest passes an identity map.
 */
struct vq_mem {
	void *(*map)(void *ctx, uint64_t gpa, size_t len);
	void *ctx;
};

#endif
