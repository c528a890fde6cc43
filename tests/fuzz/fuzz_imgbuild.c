/* fuzz_imgbuild.c: harness for the image packer (tools/imgbuild) with fuzzed kernel, app and packed files; outputs checked by the monitor and guest parsers. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../guest/include/payload.h"
#include "elf.h"
#include "fuzz.h"
#include "fuzz_guest.h"
#include "loader.h"
#include "pack.h"
#include "ukvm_abi.h"

/*
 * Input: u32 length and bytes of the kernel ELF, the same for the app, then
 * up to FI_FILES packed files (u8 guest path length and path, u16 length and
 * contents), and a flag byte adding a --dir of a fixed host tree. Files are
 * written into a private temporary directory. An image ukvm-build accepts
 * must pass the monitor's loader_check, carry a payload the guest's
 * payload_parse accepts with the app byte-exact, and an archive the guest's
 * fs_init accepts in which every --file reads back with its contents.
 */
#define FI_FILES 4

static char fi_dir[256];

/* Writes the host file fi_dir/name with n bytes of p (replacing it); returns its path in path. */
static void fi_write(const char *name, const void *p, size_t n, char *path, size_t len)
{
	snprintf(path, len, "%s/%s", fi_dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(n == 0 || write(fd, p, n) == (ssize_t)n);
	close(fd);
}

static const char *const fi_files[] = { "kernel", "app", "f0", "f1", "f2", "f3", "tree/a.txt", "tree/sub/b.bin" };

/* At exit: the temporary directory goes (the Check runner forks one process per input). */
static void fi_cleanup(void)
{
	char path[512];

	for (size_t i = 0; i < sizeof(fi_files) / sizeof(fi_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", fi_dir, fi_files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/tree/sub", fi_dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/tree", fi_dir);
	rmdir(path);
	rmdir(fi_dir);
}

/* Once per process: the temporary directory and a small host tree for --dir. */
static void fi_setup(void)
{
	char path[512];

	if (fi_dir[0])
		return;
	snprintf(fi_dir, sizeof(fi_dir), "%s/ukvm-fuzz-imgbuild-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	FUZZ_CHECK(mkdtemp(fi_dir) != NULL);
	atexit(fi_cleanup);
	snprintf(path, sizeof(path), "%s/tree", fi_dir);
	FUZZ_CHECK(mkdir(path, 0755) == 0);
	snprintf(path, sizeof(path), "%s/tree/sub", fi_dir);
	FUZZ_CHECK(mkdir(path, 0700) == 0);
	fi_write("tree/a.txt", "alpha\n", 6, path, sizeof(path));
	fi_write("tree/sub/b.bin", "\0\1\2", 3, path, sizeof(path));
}

static const uint8_t *fi_blob(struct fuzz_in *in, size_t *n)
{
	uint32_t want = fuzz_u32(in);

	return fuzz_bytes(in, want, n);
}

/* The image's payload: the file bytes of the PT_LOAD at payload_gpa (pack.h's layout). */
static const uint8_t *fi_payload(const struct pack_result *out, const struct elf_info *in)
{
	for (unsigned i = 0; i < in->phnum; i++) {
		const struct elf64_phdr *p = &in->ph[i];

		if (p->p_type == ELF64_PT_LOAD && p->p_paddr == out->payload_gpa && p->p_filesz >= out->payload_size)
			return out->image + p->p_offset;
	}
	FUZZ_CHECK(!"no segment holds the payload");
	return NULL;
}

static void fi_check(const struct pack_result *out, const uint8_t *app, size_t alen, const struct pack_spec *specs,
		     const char *const *contents, const size_t *lens, size_t nspecs)
{
	struct loader_image img;
	char err[512];
	struct elf_info in;
	int bad;

	/* What the monitor does with it. */
	int r = loader_check(out->image, out->size, UKVM_MEM_MAX, "img", &img, err, sizeof(err));

	if (r)
		fprintf(stderr, "packed image refused by the monitor: %s\n", err);
	FUZZ_CHECK(r == 0);
	FUZZ_CHECK(img.note.payload_gpa == out->payload_gpa && img.note.payload_size == out->payload_size);
	FUZZ_CHECK(elf_parse(out->image, out->size, &in, &bad) == ELF_OK);

	/* What the guest does with it: the payload, the app inside it, the archive. */
	uint8_t *pay = fuzz_dup(fi_payload(out, &in), out->payload_size);
	struct payload_view v;

	FUZZ_CHECK(payload_parse(pay, out->payload_size, &v) == 0);
	FUZZ_CHECK(v.app_size == alen && memcmp(v.app, app, alen) == 0);
	FUZZ_CHECK(fuzz_guest_init(v.files, v.files_size) == 0);
	for (size_t i = 0; i < nspecs; i++) {
		size_t len;
		uint32_t mode;
		uint8_t *got;

		if (specs[i].dir)
			continue;
		got = fuzz_guest_read(specs[i].guest, &len, &mode);
		FUZZ_CHECK(len == lens[i] && memcmp(got, contents[i], len) == 0);
		free(got);
	}
	fuzz_guest_reset();
	free(pay);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	char kpath[512], apath[512], hosts[FI_FILES + 1][512], args[FI_FILES + 1][1024];
	struct pack_spec specs[FI_FILES + 1];
	const char *contents[FI_FILES + 1];
	size_t lens[FI_FILES + 1], klen, alen, n = 0;

	fi_setup();
	const uint8_t *kernel = fi_blob(&in, &klen), *app = fi_blob(&in, &alen);
	uint8_t nfiles = fuzz_u8(&in);

	fi_write("kernel", kernel, klen, kpath, sizeof(kpath));
	fi_write("app", app, alen, apath, sizeof(apath));
	for (unsigned i = 0; i < (nfiles & 7u) && i < FI_FILES; i++) {
		size_t glen, dlen;
		const uint8_t *guest = fuzz_bytes(&in, fuzz_u8(&in), &glen);
		const uint8_t *body = fuzz_bytes(&in, fuzz_u16(&in), &dlen);
		char name[16];

		snprintf(name, sizeof(name), "f%u", i);
		fi_write(name, body, dlen, hosts[n], sizeof(hosts[n]));
		/* "HOST:GUEST" as on the command line; a NUL in the guest part ends it there. */
		snprintf(args[n], sizeof(args[n]), "%s:%.*s", hosts[n], (int)glen, (const char *)guest);
		if (pack_parse_spec(args[n], false, &specs[n]) != 0)
			continue;
		contents[n] = (const char *)body;
		lens[n] = dlen;
		n++;
	}
	if (nfiles & 0x80) {
		snprintf(args[n], sizeof(args[n]), "%s/tree:/tree", fi_dir);
		FUZZ_CHECK(pack_parse_spec(args[n], true, &specs[n]) == 0);
		n++;
	}
	struct pack_input pin = { .kernel_path = kpath, .app_path = apath, .specs = specs, .nspecs = n };
	struct pack_result out = { 0 };
	char err[512] = "";
	int r = pack_build(&pin, &out, err, sizeof(err));

	if (r == 0)
		fi_check(&out, app, alen, specs, contents, lens, n);
	else
		FUZZ_CHECK(r < 0 && err[0] != '\0'); /* a refusal always says why */
	pack_result_free(&out);
	return 0;
}
