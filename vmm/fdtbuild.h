/* fdtbuild.h: builds the boot-info flattened device tree of proto/ukvm_abi.h with libfdt. */
#ifndef VMM_FDTBUILD_H
#define VMM_FDTBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fdtb_range {
	uint64_t addr, size;
};

struct ukvm_net;

/* A virtio-mmio device node: /virtio_mmio@<addr> { reg = <addr size>; interrupts = <irq>; }. */
struct fdtb_dev {
	uint64_t addr, size;
	uint32_t irq;
};

#define FDTB_MAX_DEVS 32 /* UKVM_MMIO_MAX_DEVS */
#define FDTB_MAX_CPUID 8

struct fdtb_args {
	uint64_t mem_size;
	const char *argv0;               /* the image name, or the user's choice (argv0_set) */
	bool argv0_set;                  /* /chosen/ukvm,argv0-set: the guest keeps argv0 */
	bool quiet;                      /* /chosen/ukvm,quiet: kernel notices silenced */
	struct fdtb_tty {                /* the host fd behind the guest's fd 0, 1, 2 */
		bool tty;                /* a terminal: /chosen/ukvm,std*-tty = <rows cols> */
		uint32_t rows, cols;
	} tty[3];
	const char *const *argv;         /* argv[1..], NULL-terminated, may be NULL */
	const char *const *env;          /* "K=V", NULL-terminated, may be NULL */
	const char *cwd;                 /* /chosen/ukvm,cwd when not NULL */
	uint32_t tsc_khz;
	uint8_t rng_seed[32];
	uint64_t payload_gpa, payload_size;
	bool trace_boot;
	uint64_t pv_vif;                 /* != 0: /chosen/ukvm,pv = this VIF gpa (PV mode) */
	uint64_t conbuf_gpa, conbuf_size; /* size != 0: /chosen/ukvm,conbuf = <gpa size>, the console buffer */
	uint64_t stack_guard;            /* != 0: /chosen/ukvm,stack-guard = this gpa (its 2 MiB page unmapped) */
	uint64_t hostsig_gpa;             /* != 0: /chosen/ukvm,hostsig, the host-signal word */
	const uint32_t (*cpuid)[6];      /* ukvm,cpuid entries: leaf, subleaf, eax, ebx, ecx, edx */
	unsigned ncpuid;
	const struct fdtb_range *reserve; /* reserve map entries, each size > 0 */
	unsigned nreserve;
	struct fdtb_dev devs[FDTB_MAX_DEVS]; /* in device order */
	unsigned ndevs;                       /* > FDTB_MAX_DEVS is -EINVAL */
	/*
	 * nets[i] not NULL: device i is a NIC, its node gets the interface
	 * configuration (proto/ukvm_abi.h): local-mac-address always, the
	 * address with its prefix, gateway, DNS servers (the leading non-zero
	 * ones) and MTU only when set.
	 */
	const struct ukvm_net *nets[FDTB_MAX_DEVS];
};

/*
 * Builds the tree into buf[0, len) (len <= UKVM_FDT_MAX in practice) with
 * ukvm,boot-time-ns = 0, to be patched by fdtb_set_boot_time. Returns 0,
 * -E2BIG when it does not fit (argv/env too large), -EINVAL on a libfdt
 * error, too many devices or CPUID leaves, or a reserve entry of size 0.
 */
int fdtb_build(void *buf, size_t len, const struct fdtb_args *a);

/* The size of the tree fdtb_build made in buf (its header's totalsize). */
uint64_t fdtb_size(const void *buf);

/* Patches /chosen/ukvm,boot-time-ns in place (no size change). Returns 0 or -EINVAL. */
int fdtb_set_boot_time(void *buf, uint64_t ns);

#endif
