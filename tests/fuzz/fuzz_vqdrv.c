/* fuzz_vqdrv.c: harness for the driver-side virtqueue (proto/virtq_drv.c) facing a hostile device that writes the shared rings. */
#include <stdbool.h>

#include "fuzz.h"
#include "virtq.h"

/*
 * Input: queue size and EVENT_IDX, then operations: the driver adds chains,
 * collects used entries, kicks and toggles interrupts; the device returns
 * chains (real heads or any id, any length, any used.idx) and scribbles on
 * the used ring and the descriptor table. The harness keeps its own list of
 * chains in flight: a used entry the driver accepts must be one of them, with
 * no more bytes than the chain could take; after an error the queue stays
 * broken; descriptors are never lost or doubled (free + in flight == size).
 */
#define FD_MAX 256
#define FD_COOKIES 1024

struct fd_chain {
	bool live;
	uint32_t write_len;
	unsigned ndesc;
	uint16_t head;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t hdr = fuzz_u8(&in);
	uint32_t qsize = 1u << (hdr % 9);
	uint64_t features = hdr & 0x80 ? VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) : 0;
	/* Exactly the ring sizes (ASan sees any access past them); desc 16-aligned by malloc. */
	uint8_t *desc = calloc(1, VIRTQ_DESC_BYTES(qsize)), *avail = calloc(1, VIRTQ_AVAIL_BYTES(qsize));
	uint8_t *used = calloc(1, VIRTQ_USED_BYTES(qsize));
	struct vq_drv_slot *slots = calloc(qsize, sizeof(*slots));
	static struct fd_chain chains[FD_COOKIES];
	struct vq_drv q;
	unsigned ncookies = 0, ndesc_live = 0;
	uint16_t dev_used = 0; /* the device's used.idx */
	int broken = 0;

	FUZZ_CHECK(desc && avail && used && slots);
	memset(chains, 0, sizeof(chains));
	FUZZ_CHECK(vq_drv_init(&q, qsize, desc, avail, used, slots, features) == 0);
	for (unsigned ops = 0; in.n && ops < 512; ops++) {
		uint8_t op = fuzz_u8(&in);

		switch (op % 6) {
		case 0: { /* the driver adds a chain */
			struct vq_sg sg[4];
			unsigned n = 1 + op / 8 % 4;
			uint8_t wmask = fuzz_u8(&in);
			uint64_t wlen = 0;

			for (unsigned i = 0; i < n; i++) {
				sg[i] = (struct vq_sg){ 0x1000 * (i + 1), fuzz_u16(&in), (wmask >> i) & 1 };
				if (sg[i].writable)
					wlen += sg[i].len;
			}
			if (ncookies == FD_COOKIES)
				break;
			uint16_t free_before = q.num_free, idx_before = q.avail_idx;
			int r = vq_drv_add(&q, sg, n, &chains[ncookies]);

			if (broken) {
				FUZZ_CHECK(r == -VQ_E_BROKEN);
			} else if (r == 0) {
				uint16_t head;

				FUZZ_CHECK(free_before >= n && q.num_free == free_before - n);
				FUZZ_CHECK(q.avail_idx == (uint16_t)(idx_before + 1));
				memcpy(&head, avail + 4 + 2 * (idx_before & (qsize - 1)), 2);
				FUZZ_CHECK(head < qsize);
				/* The published chain is the sg list, in order, linked by NEXT. */
				for (unsigned i = 0, d = head; i < n; i++) {
					uint64_t addr;
					uint32_t len;
					uint16_t flags, next;

					memcpy(&addr, desc + 16 * d, 8);
					memcpy(&len, desc + 16 * d + 8, 4);
					memcpy(&flags, desc + 16 * d + 12, 2);
					memcpy(&next, desc + 16 * d + 14, 2);
					FUZZ_CHECK(addr == sg[i].gpa && len == sg[i].len);
					FUZZ_CHECK(!!(flags & VIRTQ_DESC_F_WRITE) == sg[i].writable);
					FUZZ_CHECK(!!(flags & VIRTQ_DESC_F_NEXT) == (i + 1 < n));
					FUZZ_CHECK(i + 1 == n || next < qsize);
					d = next;
				}
				chains[ncookies++] = (struct fd_chain){ true, (uint32_t)wlen, n, head };
				ndesc_live += n;
			} else {
				/* Only for want of room or a bad list (writable before readable). */
				FUZZ_CHECK(r == -VQ_E_NOSPC ? free_before < n : r == -VQ_E_INVAL);
			}
			break;
		}
		case 1: { /* the driver collects */
			void *cookie;
			uint32_t len;
			int r = vq_drv_get_used(&q, &cookie, &len);

			if (broken) {
				FUZZ_CHECK(r == -VQ_E_BROKEN);
			} else if (r == 1) {
				struct fd_chain *c = cookie;

				FUZZ_CHECK(c >= chains && c < chains + ncookies && c->live);
				FUZZ_CHECK(len <= c->write_len);
				c->live = false;
				ndesc_live -= c->ndesc;
			} else if (r < 0) {
				FUZZ_CHECK(r > -VQ_E_COUNT);
				broken = r;
			}
			break;
		}
		case 2: { /* the device returns a chain: a live head, or any id */
			uint16_t pick = fuzz_u16(&in);
			uint32_t id = pick, len = fuzz_u32(&in);

			if (!(op & 0x80) && ncookies) {
				struct fd_chain *c = &chains[pick % ncookies];

				id = c->head;
				len %= c->write_len + 1;
			}
			memcpy(used + 4 + 8 * (dev_used & (qsize - 1)), &id, 4);
			memcpy(used + 8 + 8 * (dev_used & (qsize - 1)), &len, 4);
			dev_used += op & 0x40 ? fuzz_u8(&in) : 1;
			memcpy(used + 2, &dev_used, 2);
			break;
		}
		case 3: { /* the device scribbles on what it shares: the used ring or the descriptors */
			uint16_t off = fuzz_u16(&in);
			uint8_t v = fuzz_u8(&in);

			if (op & 0x80)
				desc[off % VIRTQ_DESC_BYTES(qsize)] = v;
			else
				used[off % VIRTQ_USED_BYTES(qsize)] = v;
			memcpy(&dev_used, used + 2, 2);
			break;
		}
		case 4:
			(void)vq_drv_kick_prepare(&q);
			break;
		case 5:
			if (op & 0x80)
				vq_drv_disable_cb(&q);
			else
				(void)vq_drv_enable_cb(&q);
			break;
		}
		/* The driver's own bookkeeping survives anything the device wrote. */
		FUZZ_CHECK(q.num_free + ndesc_live == qsize);
	}
	free(desc);
	free(avail);
	free(used);
	free(slots);
	return 0;
}
