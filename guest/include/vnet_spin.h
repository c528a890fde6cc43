/* vnet_spin.h: when and how long the virtio-net driver watches its RX ring before an idle WAIT (pure, host-tested). */
#ifndef GUEST_VNET_SPIN_H
#define GUEST_VNET_SPIN_H

#include <stdbool.h>
#include <stdint.h>

/*
 * A WAIT is an exit (~30 us on PVM) plus the monitor's wake-up; a peer in a
 * request/response exchange answers within a few us when the host has a
 * CPU for it. But the vCPU cannot yield the host CPU while it spins: on a
 * host short of CPUs the spin keeps away the very threads that would
 * deliver the frame (bench-net rr, 2 busy CPUs: a fixed 200 us spin fell
 * from ~50k to 3-9k transactions/s, p50 7 -> 290 us). So the window
 * follows how soon frames came in the spins that caught them
 * (VNET_SPIN_GAIN times their moving average, VNET_SPIN_MIN_NS to
 * VNET_SPIN_MAX_NS), and a spin that caught nothing stops spinning for a
 * while (VNET_SPIN_BACKOFF_MIN_NS, doubling on each miss in a row up to
 * VNET_SPIN_BACKOFF_MAX_NS), so under sustained misses the spin costs at
 * most VNET_SPIN_MAX_NS per VNET_SPIN_BACKOFF_MAX_NS (0.15% of a CPU). No
 * frame within VNET_SPIN_RECENT_NS: no spin at all (an idle VM only WAITs).
 */
#define VNET_SPIN_MIN_NS 6000ull
#define VNET_SPIN_MAX_NS 30000ull
#define VNET_SPIN_GAIN 3u
#define VNET_SPIN_RECENT_NS 1000000ull
#define VNET_SPIN_BACKOFF_MIN_NS 200000ull
#define VNET_SPIN_BACKOFF_MAX_NS 20000000ull

struct vnet_spin {
	uint64_t avg;       /* moving average (1/8 weight) of how long after idling a spin caught a frame; 0: none yet */
	uint64_t off_until; /* no spin before this (monotonic ns) */
	uint64_t backoff;   /* the pause the next miss imposes; 0: VNET_SPIN_BACKOFF_MIN_NS */
};

/*
 * The window (ns) to spin for when the vCPU goes idle at now, the last
 * frame having come at last_rx and the WAIT's deadline being deadline: 0
 * for no spin, else VNET_SPIN_MIN_NS..VNET_SPIN_MAX_NS, never past the
 * deadline.
 */
uint64_t vnet_spin_window(const struct vnet_spin *s, uint64_t now, uint64_t last_rx, uint64_t deadline);

/* A spin caught a frame after waited ns: the window follows, misses are forgiven. */
void vnet_spin_hit(struct vnet_spin *s, uint64_t waited);

/* A spin ending at now caught nothing: no spin for the backoff, which doubles (bounded). */
void vnet_spin_miss(struct vnet_spin *s, uint64_t now);

#endif
