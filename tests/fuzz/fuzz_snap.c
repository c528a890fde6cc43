/* fuzz_snap.c: harness for the snapshot file parser and host check (vmm/snap.c): what it accepts is consistent and inside the file. */
#include <errno.h>

#include "fuzz.h"
#include "snap.h"
#include "pvm_abi.h"

/*
 * Input: one flag byte, then the file's first bytes. Flag bit 0 reseals the
 * header (a fresh CRC32C over what follows), so mutations get past the
 * checksum to the checks behind it; bit 1 takes the file to be as long as
 * its header claims (its memory is never read by the parser), else exactly
 * as long as the input. The host words for snap_check_host come from the
 * last 28 bytes when present; bit 7 gives snap_check_msrs an empty MSR list.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t flags = data[0];
	size_t len = size - 1;
	uint8_t *buf = malloc(len ? len : 1);
	FUZZ_CHECK(buf != NULL);
	memcpy(buf, data + 1, len);
	uint64_t file_size = len;
	if (len >= sizeof(struct snap_hdr)) {
		struct snap_hdr h;
		memcpy(&h, buf, sizeof(h));
		if ((flags & 1) && h.meta_len <= len - sizeof(h)) {
			h.crc = 0;
			memcpy(buf, &h, sizeof(h));
			h.crc = snap_crc32c(0, buf, sizeof(h) + h.meta_len);
			memcpy(buf, &h, sizeof(h));
		}
		if ((flags & 2) && h.mem_off + h.mem_size >= h.mem_off)
			file_size = h.mem_off + h.mem_size;
	}
	struct snap_view v;
	char err[256];
	err[0] = '\0';
	int r = snap_parse(buf, len, file_size, &v, err, sizeof(err));
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ENODATA);
	if (r == -EINVAL)
		FUZZ_CHECK(err[0] != '\0' && memchr(err, 0, sizeof(err)));
	if (r == 0) {
		const struct snap_hdr *h = v.hdr;
		const struct snap_meta *m = v.meta;
		FUZZ_CHECK((const uint8_t *)h == buf);
		FUZZ_CHECK(sizeof(*h) + h->meta_len <= len);
		FUZZ_CHECK(h->meta_len == snap_meta_len(m->nmsrs, m->nextents));
		FUZZ_CHECK(h->mem_off % SNAP_PAGE == 0 && h->mem_off >= sizeof(*h) + h->meta_len);
		FUZZ_CHECK(h->mem_off + h->mem_size == file_size);
		FUZZ_CHECK(!ukvm_mem_size_invalid(h->mem_size));
		FUZZ_CHECK(m->ndevs <= UKVM_MMIO_MAX_DEVS && m->pv <= 1 && m->tsc_khz);
		FUZZ_CHECK(m->wait_gpa + sizeof(struct ukvm_wait) <= h->mem_size);
		FUZZ_CHECK(m->vcpu_flags & SNAP_VCPU_RUNNING ? m->wait_gpa == 0 : m->wait_gpa != 0);
		FUZZ_CHECK(m->conbuf_sent <= UKVM_CONBUF_SIZE);
		for (uint32_t i = 0; i < m->nmsrs; i++) {
			FUZZ_CHECK(!v.msrs[i].reserved && v.msrs[i].index != MSR_PVM_STATE);
			for (uint32_t j = 0; j < i; j++)
				FUZZ_CHECK(v.msrs[j].index != v.msrs[i].index);
		}
		for (uint32_t i = 0; i < m->ndevs; i++) {
			const struct dev_state *d = &m->devs[i];
			FUZZ_CHECK(d->kind == DEV_KIND_BLK || d->kind == DEV_KIND_NET);
			FUZZ_CHECK(d->kind != DEV_KIND_BLK || !(d->flags & ~DEV_STATE_RO));
			if (d->kind == DEV_KIND_NET)
				FUZZ_CHECK(!d->flags && DEV_NET_MTU(d->size) >= UKVM_NET_MTU_MIN &&
					   DEV_NET_MTU(d->size) <= UKVM_NET_MTU_MAX && !(DEV_NET_MAC_BYTE(d->size, 0) & 1));
		}
		FUZZ_CHECK((const uint8_t *)(v.extents + m->nextents) == buf + sizeof(*h) + h->meta_len);
		uint64_t end = 0;
		for (uint32_t i = 0; i < m->nextents; i++) {
			FUZZ_CHECK(v.extents[i].gpa >= end && v.extents[i].npages);
			end = v.extents[i].gpa + v.extents[i].npages * SNAP_PAGE;
			FUZZ_CHECK(end <= h->mem_size);
		}
		uint32_t host[SNAP_CPU_WORDS] = { 0 };
		uint64_t xcr0 = 3;
		if (len >= sizeof(host) + 8) {
			memcpy(host, buf + len - sizeof(host) - 8, sizeof(host));
			memcpy(&xcr0, buf + len - 8, 8);
		}
		r = snap_check_host(m, host, xcr0, m->tsc_khz ^ (flags >> 2), err, sizeof(err));
		FUZZ_CHECK(r == 0 || r == -ENOTSUP);
		/* A host listing the seeds' MSRs (EFER..): what passes is in the list. */
		static const uint32_t host_msrs[] = { 0x10, 0x1b, 0xc0000080, 0xc0000081, 0xc0000082, 0xc0000083 };
		uint32_t nh = flags & 0x80 ? 0 : 6;
		r = snap_check_msrs(&v, host_msrs, nh, err, sizeof(err));
		FUZZ_CHECK(r == 0 || r == -ENOTSUP);
		for (uint32_t i = 0; r == 0 && i < m->nmsrs; i++) {
			bool in = false;
			for (uint32_t k = 0; k < nh; k++)
				in |= host_msrs[k] == v.msrs[i].index;
			FUZZ_CHECK(in);
		}
	}
	free(buf);
	return 0;
}
