/* mkseeds.c: writes the hand-shaped seeds of tests/fuzz/corpus (deterministic; `make fuzz-seeds` reruns it). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "virtio.h"

static const char *out_dir;

/* A seed under construction: little-endian fields appended in the harness's reading order. */
struct seed {
	uint8_t b[1 << 16];
	size_t n;
};

static void put(struct seed *s, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		s->b[s->n++] = (uint8_t)(v >> (8 * i));
}

static void put_mem(struct seed *s, const void *p, size_t n)
{
	memcpy(s->b + s->n, p, n);
	s->n += n;
}

static void save(const char *harness, const char *name, const struct seed *s)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", out_dir, harness);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", out_dir, harness, name);
	f = fopen(path, "wb");
	if (!f || fwrite(s->b, 1, s->n, f) != s->n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* ---- virtq: fuzz_virtq.c's header, a 4 KiB RAM image at gpa 0, then operations ---- */

#define VQ_RAM 4096u
#define VQ_SIZE 8u
#define VQ_DESC 0x000u
#define VQ_AVAIL 0x100u
#define VQ_USED 0x200u

static void vq_desc(uint8_t *ram, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = ram + VQ_DESC + 16 * i;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void vq_avail(uint8_t *ram, const uint16_t *heads, uint16_t n)
{
	memcpy(ram + VQ_AVAIL + 2, &n, 2);
	for (uint16_t i = 0; i < n; i++)
		memcpy(ram + VQ_AVAIL + 4 + 2 * i, &heads[i], 2);
}

static void vq_seed(const char *name, uint8_t feat, const uint8_t *ram, const uint8_t *ops, size_t nops)
{
	struct seed s = { .n = 0 };

	put(&s, 3, 1); /* size 1 << 3 */
	put(&s, feat, 1);
	put(&s, VQ_RAM - 1, 2);
	put(&s, VQ_DESC, 2);
	put(&s, VQ_AVAIL, 2);
	put(&s, VQ_USED, 2);
	put_mem(&s, ram, VQ_RAM);
	put_mem(&s, ops, nops);
	save("virtq", name, &s);
}

static void seeds_virtq(void)
{
	static uint8_t ram[VQ_RAM];
	const uint8_t serve3[] = { 0, 0, 0, 4, 5, 0 };
	const uint8_t mixed[] = { 1, 8, 2, 0, 3, 0x02, 0x01, 0x05, 0, 7, 0x05, 0, 0, 0, 0, 0, 0, 4, 6, 5, 0x87, 0 };

	/* Three requests: header + data + status (blk's shape), one readable, one writable. */
	memset(ram, 0, sizeof(ram));
	vq_desc(ram, 0, 0x400, 16, VIRTQ_DESC_F_NEXT, 1);
	vq_desc(ram, 1, 0x800, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	vq_desc(ram, 2, 0xa00, 1, VIRTQ_DESC_F_WRITE, 0);
	vq_desc(ram, 3, 0x410, 64, 0, 0);
	vq_desc(ram, 4, 0xb00, 8, VIRTQ_DESC_F_WRITE, 0);
	vq_avail(ram, (const uint16_t[]){ 0, 3, 4 }, 3);
	vq_seed("direct", 0, ram, serve3, sizeof(serve3));
	vq_seed("direct-eventidx", 1, ram, mixed, sizeof(mixed));

	/* An indirect table of three entries at 0xc00, then a direct chain. */
	memset(ram, 0, sizeof(ram));
	vq_desc(ram, 0, 0xc00, 48, VIRTQ_DESC_F_INDIRECT, 0);
	vq_desc(ram, 1, 0x400, 4, 0, 0);
	{
		uint8_t *t = ram + 0xc00;
		uint64_t a[3] = { 0x400, 0x800, 0xa00 };
		uint32_t l[3] = { 16, 512, 1 };
		uint16_t f[3] = { VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, VIRTQ_DESC_F_WRITE };
		uint16_t nx[3] = { 1, 2, 0 };

		for (int i = 0; i < 3; i++) {
			memcpy(t + 16 * i, &a[i], 8);
			memcpy(t + 16 * i + 8, &l[i], 4);
			memcpy(t + 16 * i + 12, &f[i], 2);
			memcpy(t + 16 * i + 14, &nx[i], 2);
		}
	}
	vq_avail(ram, (const uint16_t[]){ 0, 1 }, 2);
	vq_seed("indirect", 2, ram, serve3, sizeof(serve3));

	/* A loop (0 -> 1 -> 0) and an avail index far ahead: the refusals. */
	memset(ram, 0, sizeof(ram));
	vq_desc(ram, 0, 0x400, 16, VIRTQ_DESC_F_NEXT, 1);
	vq_desc(ram, 1, 0x410, 16, VIRTQ_DESC_F_NEXT, 0);
	vq_avail(ram, (const uint16_t[]){ 0 }, 1);
	vq_seed("loop", 0, ram, serve3, sizeof(serve3));
	vq_avail(ram, (const uint16_t[]){ 0 }, 1);
	memcpy(ram + VQ_AVAIL + 2, &(uint16_t){ 9 }, 2);
	vq_seed("avail-ahead", 0, ram, serve3, sizeof(serve3));
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkseeds CORPUS_DIR\n");
		return 2;
	}
	out_dir = argv[1];
	seeds_virtq();
	return 0;
}
