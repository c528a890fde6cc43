/*
 * mkseeds.c: writes the seeds of tests/fuzz/corpus (deterministic; `make fuzz-seeds` reruns it): hand-shaped
 * inputs for each harness; imgbuild's pack a kernel and an app the build made (tests/build.mk names them).
 * corpus/elf holds two such files as they are (the test guest image, a stripped musl static binary).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "elf.h"
#include "snap.h"
#include "ukvm_abi.h"
#include "virtio.h"
#include "virtio_blk.h"

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

/* Descriptor i of the table at t (struct virtq_desc, little-endian). */
static void put_desc(uint8_t *t, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = t + 16 * i;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void vq_desc(uint8_t *ram, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	put_desc(ram + VQ_DESC, i, addr, len, flags, next);
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
	put_desc(ram + 0xc00, 0, 0x400, 16, VIRTQ_DESC_F_NEXT, 1);
	put_desc(ram + 0xc00, 1, 0x800, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	put_desc(ram + 0xc00, 2, 0xa00, 1, VIRTQ_DESC_F_WRITE, 0);
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

/* ---- vqdrv: fuzz_vqdrv.c's queue byte, then driver and device operations ---- */

static void seeds_vqdrv(void)
{
	struct seed s = { .n = 0 };
	/* Size 8 with EVENT_IDX: add a 2-part chain, kick, the device returns it, collect, again with 3 parts. */
	const uint8_t ops[] = {
		0x83,
		0x08, 0x02, 0x10, 0x00, 0x00, 0x02, /* add: 16 readable + 512 writable bytes */
		0x04,                               /* kick_prepare */
		0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, /* device: chain 0, 512 bytes */
		0x05, 0x01,                         /* enable_cb, collect */
		0x10, 0x04, 0x10, 0x00, 0x10, 0x00, 0x08, 0x00, /* add: 3 parts, the last writable */
		0x85, 0x04,                         /* disable_cb, kick_prepare */
		0x02, 0x01, 0x00, 0x08, 0x00, 0x00, 0x00, 0x01, /* device: chain 1, 8 bytes; collect */
	};

	put_mem(&s, ops, sizeof(ops));
	save("vqdrv", "add-return-collect", &s);
	s.n = 0;
	put_mem(&s, ops, sizeof(ops));
	s.b[0] = 0x02; /* size 4, no EVENT_IDX */
	put_mem(&s, (const uint8_t[]){ 0x82, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01 }, 9); /* a bad id */
	save("vqdrv", "bad-used-id", &s);
}

/* ---- mmio: fuzz_mmio.c's flag byte, the virtq seeds' RAM image, then operations ---- */

static void mmio_seed(const char *name, uint8_t how, const uint8_t *ram)
{
	struct seed s = { .n = 0 };

	put(&s, 0, 1);
	put(&s, VQ_RAM - 1, 2);
	put_mem(&s, ram, VQ_RAM);
	put(&s, 7, 1);                       /* driver init */
	put(&s, how, 1);
	put(&s, (1u << 29) | (1u << 3), 4); /* EVENT_IDX, the fake's test bit; VERSION_1 from how */
	put(&s, 8, 1);                       /* queue 0: 8 entries at the virtq seeds' rings */
	put(&s, VQ_DESC, 2);
	put(&s, VQ_AVAIL, 2);
	put(&s, VQ_USED, 2);
	put(&s, 2, 1);                       /* the event thread: kick of queue 0, then a poll */
	put(&s, 0, 1);
	put(&s, 3, 1);
	put(&s, 0, 1);
	put(&s, 1000000, 8);
	put(&s, 1, 1);                       /* read InterruptStatus (index 13) */
	put(&s, 13, 1);
	put(&s, 0, 1);                       /* InterruptAck (index 14) 1 */
	put(&s, 14, 1);
	put(&s, 1, 4);
	put(&s, 0, 1);                       /* Status 0: reset */
	put(&s, 15, 1);
	put(&s, 0, 4);
	save("mmio", name, &s);
}

static void seeds_mmio(void)
{
	static uint8_t ram[VQ_RAM];

	memset(ram, 0, sizeof(ram));
	vq_desc(ram, 0, 0x400, 16, VIRTQ_DESC_F_NEXT, 1);
	vq_desc(ram, 1, 0x800, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	vq_desc(ram, 2, 0xa00, 1, VIRTQ_DESC_F_WRITE, 0);
	vq_avail(ram, (const uint16_t[]){ 0 }, 1);
	mmio_seed("live-queue", 8, ram);       /* queue 1 left alone */
	mmio_seed("features-and-driver-ok", 2, ram); /* FEATURES_OK | DRIVER_OK in one write */
}

/* ---- blk: fuzz_blk.c's header, a RAM image with four requests, then operations ---- */

#define BLK_DESC 0x1000u
#define BLK_AVAIL 0x1100u
#define BLK_USED 0x1200u
#define BLK_HDR 0x2000u
#define BLK_IMG (BLK_HDR + 4 * 16)

static void blk_seed(const char *name, uint8_t flags, const uint8_t *ops, size_t nops)
{
	static uint8_t ram[BLK_IMG];
	struct seed s = { .n = 0 };
	const uint16_t F_NW = VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE;
	/* IN sector 3, OUT sector 5, FLUSH, GET_ID: header, data, status byte each. */
	const uint32_t type[4] = { VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID };
	const uint64_t sector[4] = { 3, 5, 0, 0 };

	memset(ram, 0, sizeof(ram));
	for (unsigned r = 0; r < 4; r++) {
		struct virtio_blk_req_hdr h = { .type = type[r], .sector = sector[r] };
		unsigned d = 3 * r;
		bool data = r != 2;

		memcpy(ram + BLK_HDR + 16 * r, &h, sizeof(h));
		put_desc(ram + BLK_DESC, d, BLK_HDR + 16 * r, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(d + 1));
		if (data)
			put_desc(ram + BLK_DESC, d + 1, 0x3000 + 0x400 * r, r == 3 ? 20 : 1024,
				 r == 1 ? VIRTQ_DESC_F_NEXT : F_NW, (uint16_t)(d + 2));
		put_desc(ram + BLK_DESC, data ? d + 2 : d + 1, 0x4000 + r, 1, VIRTQ_DESC_F_WRITE, 0);
		memcpy(ram + BLK_AVAIL + 4 + 2 * r, &(uint16_t){ (uint16_t)d }, 2);
	}
	memcpy(ram + BLK_AVAIL + 2, &(uint16_t){ 4 }, 2);
	put(&s, flags, 1);
	put(&s, 4, 1); /* 16 entries */
	put(&s, BLK_DESC, 2);
	put(&s, BLK_AVAIL, 2);
	put(&s, BLK_USED, 2);
	put(&s, sizeof(ram), 2);
	put_mem(&s, ram, sizeof(ram));
	put_mem(&s, ops, nops);
	save("blk", name, &s);
}

static void seeds_blk(void)
{
	/* A kick; then the driver's own OUT of two sectors at 63 (one past the end) and IN at 62, kicked. */
	const uint8_t kick[] = { 4, 8, 0x05, 2, 3, 8, 0x02, 2, 4, 4 };
	const uint8_t reset_again[] = { 4, 6, 3, 0, 3, 3, 4, 5, 0x40, 0x42, 0x0f, 0, 0, 0, 0, 0, 7, 0, 3 };

	blk_seed("four-requests", 2 | 8, kick, sizeof(kick));
	blk_seed("read-only-reset", 1 | 4, reset_again, sizeof(reset_again));
}

/* ---- payload: a whole payload as ukvm-build lays it out, with a tiny app and a small archive ---- */

static void pad8(struct seed *s)
{
	while (s->n % 8)
		s->b[s->n++] = 0;
}

/* A one-segment static app: ELF header, one PT_LOAD R+X at vaddr (file bytes: the headers). */
static void put_app(struct seed *s, uint16_t type, uint64_t vaddr)
{
	struct elf64_ehdr eh = {
		.e_ident = { 0x7f, 'E', 'L', 'F', 2, 1, 1 },
		.e_type = type, .e_machine = ELF64_EM_X86_64, .e_version = 1,
		.e_entry = vaddr + 0x40, .e_phoff = sizeof(eh), .e_ehsize = sizeof(eh),
		.e_phentsize = sizeof(struct elf64_phdr), .e_phnum = 1,
	};
	struct elf64_phdr ph = { ELF64_PT_LOAD, ELF64_PF_R | ELF64_PF_X, 0, vaddr, vaddr,
				 sizeof(eh) + sizeof(ph), 0x1000, 0x1000 };

	put_mem(s, &eh, sizeof(eh));
	put_mem(s, &ph, sizeof(ph));
}

static void put_rec(struct seed *s, uint32_t mode, const char *name, const char *data)
{
	struct ukvm_file_rec r = { mode, (uint32_t)strlen(name) + 1, data ? strlen(data) : 0 };

	put_mem(s, &r, sizeof(r));
	put_mem(s, name, r.name_len);
	put_mem(s, data, r.size);
	pad8(s);
}

static void payload_seed(const char *name, uint64_t flags, uint16_t app_type, uint16_t app_sym_flags)
{
	static const char strs[] = "\0k_boot\0k_other\0main\0helper";
	struct seed s = { .n = 0 };
	struct ukvm_payload_hdr h = { .magic = UKVM_PAYLOAD_MAGIC, .flags = flags };
	struct ukvm_sym syms[4] = {
		{ UKVM_KERNEL_VBASE + 0x100000, 0x40, 0, 0, 1 },
		{ UKVM_KERNEL_VBASE + 0x100100, 0, 0, 0, 8 },
		{ 0x400000, 0x20, app_sym_flags, 0, 16 },
		{ 0x400040, 0x10, app_sym_flags, 0, 21 },
	};

	s.n = sizeof(h);
	h.app_off = s.n;
	put_app(&s, app_type, app_type == ELF64_ET_DYN ? 0 : 0x400000);
	h.app_size = s.n - h.app_off;
	pad8(&s);
	h.files_off = s.n;
	put_rec(&s, 0040750, "/etc", NULL);
	put_rec(&s, 0100644, "/etc/hello.txt", "hello, packed world\n");
	put_rec(&s, 0100755, "/bin/tool", "\x7f" "ELF");
	put_rec(&s, 0100600, "/empty", NULL);
	put_rec(&s, 0100644, "/a/b/c", "x");
	h.files_size = s.n - h.files_off;
	h.syms_off = s.n;
	h.syms_count = 4;
	put_mem(&s, syms, sizeof(syms));
	h.strs_off = s.n;
	h.strs_size = sizeof(strs);
	put_mem(&s, strs, sizeof(strs));
	memcpy(s.b, &h, sizeof(h));
	save("payload", name, &s);
}

static void seeds_payload(void)
{
	payload_seed("placed", UKVM_PAYLOAD_APP_PLACED, ELF64_ET_EXEC, UKVM_SYM_APP);
	payload_seed("pie", 0, ELF64_ET_DYN, UKVM_SYM_APP | UKVM_SYM_PIE);
}

/* ---- fdt: fuzz_fdt.c's fields in order, then argv0, the arguments, "", the environment ---- */

static void put_str(struct seed *s, const char *str)
{
	put_mem(s, str, strlen(str) + 1);
}

static void fdt_seed(const char *name, uint8_t flags, uint16_t buf_len, unsigned ndevs)
{
	struct seed s = { .n = 0 };

	put(&s, flags, 1);
	if (!(flags & 1))
		put(&s, buf_len, 2);
	put(&s, 128ull << 20, 8);          /* mem_size */
	put(&s, 2100000, 4);               /* tsc_khz */
	for (int i = 0; i < 32; i++)       /* rng seed */
		put(&s, (uint64_t)(i * 37 + 1), 1);
	put(&s, 0x400000, 8);              /* payload */
	put(&s, 0x12345, 8);
	if (flags & 4)
		put(&s, 0x7000, 8);        /* pv_vif */
	put(&s, 3, 1);                     /* cpuid leaves 0, 1, 7 */
	for (uint32_t leaf = 0; leaf < 3; leaf++)
		for (int j = 0; j < 6; j++)
			put(&s, j == 0 ? (leaf == 2 ? 7 : leaf) : 0x1000u * leaf + (uint32_t)j, 4);
	put(&s, 2, 1);                     /* reserve: low memory, the kernel */
	put(&s, 0, 8);
	put(&s, 0x100000, 8);
	put(&s, 0x100000, 8);
	put(&s, 0x200000, 8);
	put(&s, ndevs, 1);
	for (unsigned i = 0; i < ndevs; i++) {
		put(&s, (64ull << 30) + 0x1000 * i, 8);
		put(&s, 0x1000, 8);
		put(&s, 5 + i, 4);
	}
	put_str(&s, "app.img");
	put_str(&s, "-v");
	put_str(&s, "hello world");
	put_str(&s, "");
	put_str(&s, "PATH=/bin");
	put_str(&s, "HOME=/");
	save("fdt", name, &s);
}

static void seeds_fdt(void)
{
	fdt_seed("two-disks", 1, 0, 2);
	fdt_seed("pv-trace-small-buffer", 2 | 4, 600, 1);
}

/* ---- imgbuild: a kernel and an app from the build, packed files, the --dir flag ---- */

static void put_file(struct seed *s, const char *path)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		perror(path);
		exit(1);
	}
	n = fread(s->b + s->n + 4, 1, sizeof(s->b) - s->n - 4, f);
	if (!feof(f)) {
		fprintf(stderr, "%s: too large for a seed\n", path);
		exit(1);
	}
	fclose(f);
	put(s, n, 4);
	s->n += n;
}

static void put_packed(struct seed *s, const char *guest, const char *data)
{
	put(s, strlen(guest), 1);
	put_mem(s, guest, strlen(guest));
	put(s, strlen(data), 2);
	put_mem(s, data, strlen(data));
}

static void seeds_imgbuild(const char *kernel, const char *app)
{
	static struct seed s;

	s.n = 0;
	put_file(&s, kernel);
	put_file(&s, app);
	put(&s, 0x80 | 2, 1); /* two files and the --dir tree */
	put_packed(&s, "/etc/motd", "hello\n");
	put_packed(&s, "/data/empty", "");
	save("imgbuild", "files-and-dir", &s);
}

/* ---- snap: fuzz_snap.c's flag byte, then a snapshot's header and metadata ---- */

/*
 * A valid snapshot of 8 MiB with nmsrs MSRs, nextents extents and ndevs disks (nic: the last is a NIC); running:
 * taken running (no WAIT block); flags as fuzz_snap.c reads them.
 */
static void snap_seed_tweaked(const char *name, uint8_t flags, uint32_t nmsrs, uint32_t nextents, uint32_t ndevs,
			      bool nic, bool running, void (*tweak)(struct snap_meta *m, struct snap_msr *msr))
{
	static struct seed s;
	size_t ml = snap_meta_len(nmsrs, nextents);
	uint8_t *f = calloc(1, sizeof(struct snap_hdr) + ml);
	struct snap_meta *m = (struct snap_meta *)(f + sizeof(struct snap_hdr));
	m->tsc_khz = 2600000;
	m->nmsrs = nmsrs;
	m->nextents = nextents;
	m->ndevs = ndevs;
	m->wait_gpa = running ? 0 : 0x200000;
	m->vcpu_flags = running ? SNAP_VCPU_RUNNING : 0;
	m->conbuf_sent = running ? 100 : 0;
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
	for (uint32_t i = 0; i < ndevs; i++)
		m->devs[i] = nic && i + 1 == ndevs ? (struct dev_state){ .kind = DEV_KIND_NET, .size = DEV_NET_SIZE(mac, 1500) }
						   : (struct dev_state){ .kind = DEV_KIND_BLK, .size = 1 << 20 };
	struct snap_msr *msr = (struct snap_msr *)(m + 1);
	for (uint32_t i = 0; i < nmsrs; i++)
		msr[i] = (struct snap_msr){ .index = 0xc0000080 + i, .data = i };
	struct snap_extent *e = (struct snap_extent *)(msr + nmsrs);
	for (uint32_t i = 0; i < nextents; i++)
		e[i] = (struct snap_extent){ .gpa = (uint64_t)i * 4 * 4096, .npages = 3 };
	if (tweak)
		tweak(m, msr);
	snap_seal(f, ml, 8u << 20);
	s.n = 0;
	put(&s, flags, 1);
	put_mem(&s, f, sizeof(struct snap_hdr) + ml);
	free(f);
	save("snap", name, &s);
}

static void snap_seed(const char *name, uint8_t flags, uint32_t nmsrs, uint32_t nextents, uint32_t ndevs, bool nic,
		      bool running)
{
	snap_seed_tweaked(name, flags, nmsrs, nextents, ndevs, nic, running, NULL);
}

/* Each one field away from valid: the parser's MSR and disk-flag refusals, and a read-only disk it takes. */
static void t_msr_reserved(struct snap_meta *m, struct snap_msr *msr) { (void)m; msr[1].reserved = 1; }
static void t_msr_twice(struct snap_meta *m, struct snap_msr *msr) { (void)m; msr[2].index = msr[0].index; }
static void t_msr_pv_state(struct snap_meta *m, struct snap_msr *msr) { (void)m; msr[0].index = 0x4b564d10; }
static void t_msr_foreign(struct snap_meta *m, struct snap_msr *msr) { (void)m; msr[1].index = 0x3000; }
static void t_disk_ro(struct snap_meta *m, struct snap_msr *msr) { (void)msr; m->devs[0].flags = DEV_STATE_RO; }
static void t_disk_flags(struct snap_meta *m, struct snap_msr *msr) { (void)msr; m->devs[0].flags = 2; }

static void seeds_snap(void)
{
	snap_seed_tweaked("msr-reserved", 3, 3, 1, 1, false, false, t_msr_reserved);
	snap_seed_tweaked("msr-twice", 3, 3, 1, 1, false, false, t_msr_twice);
	snap_seed_tweaked("msr-pv-state", 3, 3, 1, 1, false, false, t_msr_pv_state);
	snap_seed_tweaked("msr-foreign", 3, 3, 1, 1, false, false, t_msr_foreign);
	snap_seed_tweaked("disk-ro", 3, 3, 1, 2, false, false, t_disk_ro);
	snap_seed_tweaked("disk-flags", 3, 3, 1, 2, false, false, t_disk_flags);
	snap_seed("valid", 2, 4, 3, 1, false, false);
	snap_seed("resealed", 3, 0, 1, 0, false, false);
	snap_seed("short-file", 0, 2, 2, 2, false, false);
	snap_seed("nic", 3, 2, 2, 2, true, false);
	snap_seed("running", 3, 2, 1, 1, true, true);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: mkseeds CORPUS_DIR KERNEL_ELF APP_ELF\n");
		return 2;
	}
	out_dir = argv[1];
	seeds_virtq();
	seeds_payload();
	seeds_vqdrv();
	seeds_mmio();
	seeds_blk();
	seeds_fdt();
	seeds_imgbuild(argv[2], argv[3]);
	seeds_snap();
	return 0;
}
