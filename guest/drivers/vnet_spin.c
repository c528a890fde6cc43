/* vnet_spin.c: the virtio-net driver's spin-before-WAIT policy (guest/include/vnet_spin.h): pure, host-tested. */
#include "vnet_spin.h"

uint64_t vnet_spin_window(const struct vnet_spin *s, uint64_t now, uint64_t last_rx, uint64_t deadline)
{
	if (now - last_rx >= VNET_SPIN_RECENT_NS || now < s->off_until || deadline <= now)
		return 0;
	/* No hit yet: the longest window, so the first exchanges teach the average. */
	uint64_t w = s->avg ? s->avg * VNET_SPIN_GAIN : VNET_SPIN_MAX_NS;
	if (w < VNET_SPIN_MIN_NS)
		w = VNET_SPIN_MIN_NS;
	if (w > VNET_SPIN_MAX_NS)
		w = VNET_SPIN_MAX_NS;
	return w < deadline - now ? w : deadline - now;
}

void vnet_spin_hit(struct vnet_spin *s, uint64_t waited)
{
	if (waited > VNET_SPIN_MAX_NS)
		waited = VNET_SPIN_MAX_NS; /* a vCPU preempted mid-spin says nothing about the peer */
	if (!waited)
		waited = 1; /* avg 0 means "no hit yet" */
	s->avg = s->avg ? s->avg - s->avg / 8 + waited / 8 : waited;
	s->backoff = 0;
	s->off_until = 0;
}

void vnet_spin_miss(struct vnet_spin *s, uint64_t now)
{
	uint64_t b = s->backoff ? s->backoff : VNET_SPIN_BACKOFF_MIN_NS;
	s->off_until = now + b;
	s->backoff = b * 2 < VNET_SPIN_BACKOFF_MAX_NS ? b * 2 : VNET_SPIN_BACKOFF_MAX_NS;
}
