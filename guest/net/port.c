/* port.c: what lwIP asks of its platform (NO_SYS): the millisecond clock, random numbers and the Internet checksum, from the kernel. */
#include <string.h>

#include "k.h"
#include "net.h"
#include "lwip/sys.h"

/* lwIP's clock: the kernel's monotonic clock in ms (lwIP handles the 49-day wrap of the u32). */
u32_t sys_now(void)
{
	return (u32_t)(k_clock_monotonic_ns() / 1000000u);
}

/*
 * lwIP's LWIP_CHKSUM (lwipopts.h): the non-inverted Internet sum of data in
 * host order, as lwip_standard_chksum returns it. Eight bytes per add with
 * end-around carry instead of lwIP's two (the kernel has no SSE for gcc to
 * vectorise with); every received and sent TCP segment is summed once. The
 * pairing of bytes into 16-bit words goes by offset from data, so an odd
 * address needs nothing special: x86 loads unaligned words.
 */
uint16_t net_port_chksum(const void *data, int len)
{
	const uint8_t *p = data;
	uint64_t sum = 0, w;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		if (__builtin_add_overflow(sum, w, &sum))
			sum++; /* end-around carry: cannot overflow again (sum <= 2^64 - 2 here) */
	}
	if (len > 0) {
		w = 0;
		memcpy(&w, p, (size_t)len); /* the tail, zero-padded: zeros add nothing */
		if (__builtin_add_overflow(sum, w, &sum))
			sum++;
	}
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)sum;
}

/*
 * lwIP's heap (lwipopts.h: mem_clib_*): the kernel heap, with what lwIP
 * holds counted as the heap spends it (whole blocks, k_malloc_size), so
 * /proc/net/sockstat and the benchmarks report the stack's real memory.
 */
static struct net_mem net_mem;

static void *net_mem_took(void *p)
{
	if (p) {
		net_mem.now += k_malloc_size(p);
		net_mem.allocs++;
		if (net_mem.now > net_mem.peak)
			net_mem.peak = net_mem.now;
	}
	return p;
}

void *net_port_malloc(size_t n)
{
	return net_mem_took(k_malloc(n));
}

void *net_port_calloc(size_t count, size_t n)
{
	return net_mem_took(k_calloc(count, n));
}

void net_port_free(void *p)
{
	if (!p)
		return;
	net_mem.now -= k_malloc_size(p);
	net_mem.allocs--;
	k_free(p);
}

void net_mem_stats(struct net_mem *m)
{
	*m = net_mem;
}

uint32_t net_port_rand(void)
{
	uint32_t r;
	k_random_bytes(&r, sizeof(r));
	return r;
}

int atoi(const char *s)
{
	unsigned v = 0;
	while (*s >= '0' && *s <= '9' && v < 100000000u)
		v = v * 10 + (unsigned)(*s++ - '0');
	return (int)v;
}
