/* cli.h: ukvm-run's command-line parsing, kept apart from main() so it is unit-testable. */
#ifndef VMM_CLI_H
#define VMM_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "ukvm.h"

/* hostfwd= options one user-mode NIC takes on the command line. */
#define CLI_MAX_FWDS 16

struct cli_opts {
	struct ukvm_config cfg; /* image, mem_size, argv, env, timeout_ms, pv, no_cpuid_cache, trace_boot */
	const char **env;       /* owned storage behind cfg.env */
	struct ukvm_disk disks[UKVM_MAX_DISKS]; /* behind cfg.disks; paths malloc'd */
	struct ukvm_net nets[UKVM_MAX_NICS];    /* behind cfg.nets; tap names malloc'd */
	struct ukvm_hostfwd fwds[UKVM_MAX_NICS][CLI_MAX_FWDS]; /* behind nets[i].fwds */
	int help, version;
	/* --jail (ukvm_jail_enter, docs/jail.md): confine the monitor; its ids (default 65534) and cgroup v2 directory (NULL: none). */
	bool jail;
	unsigned jail_uid, jail_gid;
	const char *jail_cgroup;
};

/*
 * Parses `ukvm-run [--mem SIZE] [--timeout SECONDS] [--env K=V]...
 * [--disk PATH[,ro][,direct]]... [--net SPEC]... [--pv auto|off|on] [--no-cpuid-cache] [--trace-boot] [--stats] [--quiet] [--argv0 NAME] [--help]
 * [--version] IMAGE [--] [ARGS...]`. Disks are /dev/vda, /dev/vdb ... in
 * order, at most UKVM_MAX_DISKS; the files are opened by ukvm_create.
 * Everything after IMAGE (minus one leading "--") is the guest's argv[1..];
 * cfg.argv points into argv, which must outlive o. Returns 0, or -EINVAL
 * with one line like "--mem: 1M is below the minimum 8M" in err. Call
 * cli_free afterwards in both cases. stats goes to *stats.
 */
int cli_parse(int argc, char **argv, struct cli_opts *o, int *stats, char *err, size_t errlen);

/* Frees what cli_parse allocated. */
void cli_free(struct cli_opts *o);

/*
 * Parses a size: decimal bytes with an optional K, M or G suffix (powers of
 * 1024, either case). Returns 0 or -EINVAL (empty, junk, overflow).
 */
int cli_parse_size(const char *s, uint64_t *out);

/*
 * Parses one --disk value "PATH[,ro][,direct]" (options in any order, each
 * once; PATH non-empty and without commas) into *d with a malloc'd path.
 * Returns 0, -EINVAL with one line in err, or -ENOMEM.
 */
int cli_parse_disk(const char *v, struct ukvm_disk *d, char *err, size_t errlen);

/*
 * Parses one --net value into *n (kind, options; a tap's name malloc'd):
 *   tap:IFNAME[,mac=MAC][,ip=ADDR[/PREFIX]][,gw=ADDR][,dns=ADDR]...[,mtu=N]
 *   user[,mac=MAC][,mtu=N][,hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...
 * hostfwd follows QEMU (empty protocol: tcp, empty HOSTADDR: every host
 * address, empty GUESTADDR: the guest's); its forwards go to fwds[0..maxfwds)
 * and n->fwds points there. dns may be given up to UKVM_MAX_DNS times, every
 * other option once. Returns 0, -EINVAL with one line in err, or -ENOMEM.
 */
int cli_parse_net(const char *v, struct ukvm_net *n, struct ukvm_hostfwd *fwds, unsigned maxfwds, char *err,
		  size_t errlen);

/* Parses a --pv value: "auto", "off" or "on" into *pv. Returns 0 or -EINVAL. */
int cli_parse_pv(const char *s, enum ukvm_pv *pv);

/* Parses positive seconds, decimals allowed ("0.5"), at most a year, into ms. Returns 0 or -EINVAL. */
int cli_parse_seconds(const char *s, uint64_t *ms);

/* The usage text. */
const char *cli_usage(void);

#endif
