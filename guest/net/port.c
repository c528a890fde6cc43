/* port.c: what lwIP asks of its platform (NO_SYS): the millisecond clock and random numbers, from the kernel's. */
#include "k.h"
#include "net.h"
#include "lwip/sys.h"

/* lwIP's clock: the kernel's monotonic clock in ms (lwIP handles the 49-day wrap of the u32). */
u32_t sys_now(void)
{
	return (u32_t)(k_clock_monotonic_ns() / 1000000u);
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
