/* arch/cc.h: lwIP's compiler and platform hooks for the guest kernel (freestanding: no libc headers). */
#ifndef NET_PORT_ARCH_CC_H
#define NET_PORT_ARCH_CC_H

#include <stddef.h>
#include <stdint.h>

/*
 * The kernel is compiled -nostdinc with glibc's headers only as a last
 * resort (-idirafter): lwIP must not pull <limits.h>, <inttypes.h>,
 * <ctype.h> or <unistd.h> from there, so it gets what it needs here.
 */
#define LWIP_NO_LIMITS_H 1
#define LWIP_NO_INTTYPES_H 1
#define LWIP_NO_CTYPE_H 1
#define LWIP_NO_UNISTD_H 1
#define SSIZE_MAX __LONG_MAX__
typedef long ssize_t;

#define X8_F "02x"
#define U16_F "u"
#define S16_F "d"
#define X16_F "x"
#define U32_F "u"
#define S32_F "d"
#define X32_F "x"
#define SZT_F "zu"

#define BYTE_ORDER LITTLE_ENDIAN
/* Byte swaps as compiler builtins (one bswap/rol instruction) instead of def.c's functions. */
#define lwip_htons(x) ((u16_t)__builtin_bswap16((u16_t)(x)))
#define lwip_htonl(x) ((u32_t)__builtin_bswap32((u32_t)(x)))

/* netif_find parses an interface number with atoi (guest/net/port.c: decimal, no sign). */
int atoi(const char *s);

/* Random numbers from the kernel CSPRNG (TCP initial sequence numbers, ephemeral ports, IP ids). */
uint32_t net_port_rand(void);
#define LWIP_RAND() net_port_rand()

/* Diagnostics through the kernel's printf (one console hypercall each); a failed assertion is a kernel panic. */
int k_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void k_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define LWIP_PLATFORM_DIAG(x) \
	do {                   \
		k_printf x;    \
	} while (0)
#define LWIP_PLATFORM_ASSERT(x) k_panic("lwIP assertion \"%s\" failed at %s:%d", x, __FILE__, __LINE__)

#endif
