/* cli.c: ukvm-run's argument parser: sizes, seconds, repeated --env and --disk, the image and the guest's arguments. */
#include "cli.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ukvm_abi.h"

#define CLI_MAX_TIMEOUT_S (365.0 * 24 * 3600)

_Static_assert(UKVM_MEM_DEFAULT == 128ull << 20, "cli_usage names the default --mem");

int cli_parse_size(const char *s, uint64_t *out)
{
	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	unsigned shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case '\0': break;
	default: return -EINVAL;
	}
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

int cli_parse_seconds(const char *s, uint64_t *ms)
{
	if (!s || !(isdigit((unsigned char)s[0]) || s[0] == '.'))
		return -EINVAL;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v <= 0 || v > CLI_MAX_TIMEOUT_S)
		return -EINVAL;
	uint64_t m = (uint64_t)(v * 1000.0 + 0.5);
	*ms = m ? m : 1;
	return 0;
}

int cli_parse_pv(const char *s, enum ukvm_pv *pv)
{
	static const struct {
		const char *name;
		enum ukvm_pv pv;
	} modes[] = { { "auto", UKVM_PV_AUTO }, { "off", UKVM_PV_OFF }, { "on", UKVM_PV_ON } };
	for (size_t i = 0; s && i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(s, modes[i].name)) {
			*pv = modes[i].pv;
			return 0;
		}
	return -EINVAL;
}

const char *cli_usage(void)
{
	return "usage: ukvm-run [--mem SIZE] [--timeout SECONDS] [--env K=V]... [--disk PATH[,ro][,direct]]...\n"
	       "                [--net SPEC]... [--pv auto|off|on] [--no-cpuid-cache] [--trace-boot]\n"
	       "                [--stats] [--quiet] [--raw-console] [--signals stop|forward] [--argv0 NAME] [--cwd DIR]\n"
	       "                [--help] [--version] IMAGE [--] [ARGS...]\n"
	       "  --mem SIZE         guest RAM, K/M/G suffixes, multiple of 2M, 8M..64G (default 128M)\n"
	       "  --timeout SECONDS  stop the guest after this long (exit code 124)\n"
	       "  --env K=V          add to the guest app's environment (repeatable)\n"
	       "  --disk PATH[,ro][,direct]\n"
	       "                     virtio-blk disk on a host file: /dev/vda, /dev/vdb ... in order\n"
	       "                     (at most 32); ro: read-only; direct: host I/O with O_DIRECT\n"
	       "  --net tap:IFNAME[,mac=MAC][,ip=ADDR[/PREFIX]][,gw=ADDR][,dns=ADDR]...[,mtu=N]\n"
	       "  --net user[,mac=MAC][,mtu=N][,hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...\n"
	       "                     virtio-net NIC: eth0, eth1 ... in order (at most 8); tap: an existing\n"
	       "                     tap (or one created, down, with CAP_NET_ADMIN); user: user-mode\n"
	       "                     networking, guest 10.0.2.15/24, gateway 10.0.2.2, DNS 10.0.2.3;\n"
	       "                     the guest configures its interface from these; MTU 576..9000\n"
	       "  --pv auto|off|on   the host's paravirtual fast path (pvm-pv): when offered\n"
	       "                     (default), never, or required (exit 122 without it)\n"
	       "  --no-cpuid-cache   neither read nor write /dev/shm/ukvm-cpuid-UID, the per-boot\n"
	       "                     cache of KVM's supported CPUID (same VM, ~0.4 ms slower on PVM)\n"
	       "  --trace-boot       print boot phases with times on stderr\n"
	       "  --stats            print VM exits by reason, per-device requests and per-NIC packets on stderr\n"
	       "  --quiet            no guest kernel notices (\"ukvm: unimplemented syscall ...\"); crash reports stay\n"
	       "  --raw-console      guest output to a terminal as it is; by default escape sequences and\n"
	       "                     control characters but \\n \\r \\t \\b are shown (^[, \\x9b), not obeyed\n"
	       "  --signals stop|forward  SIGINT and SIGTERM stop the VM (default: exit 130, 143), or\n"
	       "                     SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGUSR1 go to the app, whose\n"
	       "                     handler runs (its default action ends it: exit 128+N); not with snapshots\n"
	       "  --jail             confine the monitor before it reads the image (root only; docs/jail.md):\n"
	       "                     new namespaces, an empty read-only root with the image, disks and\n"
	       "                     snapshot files, taps opened before, uid/gid 65534 without capabilities,\n"
	       "                     no_new_privs, rlimits; not with --net user\n"
	       "  --jail-uid N, --jail-gid N  the jailed monitor's ids (default 65534)\n"
	       "  --jail-cgroup DIR  also join cgroup DIR (created; v2, or v1: DIR in one hierarchy, the same path\n"
	       "                     in the memory and cpu ones): memory limit guest RAM + 512M, 2 CPUs\n"
	       "  --argv0 NAME       the guest app's argv[0] (default: the app's name recorded by ukvm-build)\n"
	       "  --cwd DIR          the guest app's working directory, absolute, in the image (default /)\n"
	       "  --snapshot-when-idle FILE  write a snapshot to FILE the first time the app is idle\n"
	       "                     (blocked, nothing in flight: waiting for input or in accept())\n"
	       "  --snapshot-then exit|continue  after that snapshot: stop (exit 0, default) or run on\n"
	       "  --restore FILE     resume a snapshot instead of booting an IMAGE (usage: ukvm-run\n"
	       "                     [--disk PATH]... [--net tap:IF|user...]... [--mem LIMIT] [--timeout S]\n"
	       "                     [--pv ...] --restore FILE); the disks must be the snapshot's, by size,\n"
	       "                     NICs in the snapshot's order (address options ignored); docs/snapshot.md\n"
	       "guest stdout goes to stdout, guest stderr and kernel messages to stderr\n"
	       "exit codes: the app's status; 128+N guest crashed with signal N; 120 bad arguments\n"
	       "  (or a disk or NIC that cannot be opened);\n"
	       "  121 image rejected; 122 KVM unavailable; 123 guest crashed without a report;\n"
	       "  124 timeout; 125 monitor internal error\n";
}

int cli_parse_disk(const char *v, struct ukvm_disk *d, char *err, size_t errlen)
{
	memset(d, 0, sizeof(*d));
	const char *comma = strchr(v, ',');
	size_t plen = comma ? (size_t)(comma - v) : strlen(v);
	if (!plen) {
		snprintf(err, errlen, "--disk: %s: expected PATH[,ro][,direct]", v);
		return -EINVAL;
	}
	for (const char *o = comma; o; o = strchr(o + 1, ',')) {
		const char *end = strchr(o + 1, ',');
		size_t l = end ? (size_t)(end - o - 1) : strlen(o + 1);
		bool *flag = l == 2 && !strncmp(o + 1, "ro", 2) ? &d->ro
			   : l == 6 && !strncmp(o + 1, "direct", 6) ? &d->direct : NULL;
		if (!flag || *flag) {
			snprintf(err, errlen, "--disk: %s: %s option '%.*s' (want ro, direct)", v,
				 flag ? "repeated" : "unknown", (int)l, o + 1);
			return -EINVAL;
		}
		*flag = true;
	}
	char *p = strndup(v, plen);
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	d->path = p;
	return 0;
}

/* ------------------------------------------------------------- --net */

/* "--net: SPEC: " then the message (a long SPEC cut at 64 bytes, so the message fits); -EINVAL. */
static int cli_net_fail(char *err, size_t errlen, const char *v, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int cli_net_fail(char *err, size_t errlen, const char *v, const char *fmt, ...)
{
	size_t vl = strlen(v);
	int l = snprintf(err, errlen, "--net: %.*s%s: ", (int)(vl > 64 ? 64 : vl), v, vl > 64 ? "..." : "");
	if (l >= 0 && (size_t)l < errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err + l, errlen - (size_t)l, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int cli_hex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* "52:54:00:12:34:56": six hex bytes, colons between. */
static bool cli_mac(const char *s, size_t len, uint8_t mac[6])
{
	if (len != 17)
		return false;
	for (int i = 0; i < 6; i++) {
		int hi = cli_hex(s[3 * i]), lo = cli_hex(s[3 * i + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return false;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* A dotted-quad IPv4 address of len bytes into *a (network order); empty is not one. */
static bool cli_ipv4(const char *s, size_t len, uint32_t *a)
{
	char buf[INET_ADDRSTRLEN];
	if (!len || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET, buf, a) == 1;
}

/* Decimal digits only, into *out (at most 10 digits: no overflow). */
static bool cli_uint(const char *s, size_t len, uint64_t *out)
{
	if (!len || len > 10)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

/* "[ADDR]:PORT" of len bytes: the address may be empty (0), the port is 1..65535. 0, 1 malformed, 2 bad port. */
static int cli_addr_port(const char *s, size_t len, uint32_t *addr, uint16_t *port)
{
	const char *c = memrchr(s, ':', len);
	uint64_t p;
	if (!c)
		return 1;
	*addr = 0;
	if (c > s && !cli_ipv4(s, (size_t)(c - s), addr))
		return 1;
	if (!cli_uint(c + 1, len - (size_t)(c + 1 - s), &p))
		return 1;
	if (p < 1 || p > 65535)
		return 2;
	*port = (uint16_t)p;
	return 0;
}

/* QEMU's hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT. */
static int cli_hostfwd(const char *v, const char *s, size_t len, struct ukvm_hostfwd *f, char *err, size_t errlen)
{
	static const char form[] = "expected [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT";
	const char *colon = memchr(s, ':', len), *dash = memchr(s, '-', len);
	memset(f, 0, sizeof(*f));
	if (!colon || !dash || dash < colon)
		return cli_net_fail(err, errlen, v, "hostfwd=%.*s: %s", (int)len, s, form);
	size_t pl = (size_t)(colon - s);
	if (pl == 3 && !strncmp(s, "udp", 3))
		f->udp = true;
	else if (pl && !(pl == 3 && !strncmp(s, "tcp", 3)))
		return cli_net_fail(err, errlen, v, "hostfwd=%.*s: protocol '%.*s' (want tcp or udp)", (int)len, s,
				    (int)pl, s);
	int r = cli_addr_port(colon + 1, (size_t)(dash - colon - 1), &f->host_addr, &f->host_port);
	if (!r)
		r = cli_addr_port(dash + 1, len - (size_t)(dash + 1 - s), &f->guest_addr, &f->guest_port);
	if (r == 2)
		return cli_net_fail(err, errlen, v, "hostfwd=%.*s: a port outside 1..65535", (int)len, s);
	if (r)
		return cli_net_fail(err, errlen, v, "hostfwd=%.*s: %s", (int)len, s, form);
	return 0;
}

/* The keys of --net options, as bits of what was seen (dns counts apart: it repeats). */
enum { CLI_NET_MAC = 1, CLI_NET_IP = 2, CLI_NET_GW = 4, CLI_NET_MTU = 8 };

/* One KEY=VALUE option (len bytes at s) of --net v into n. */
static int cli_net_opt(const char *v, const char *s, size_t len, struct ukvm_net *n, unsigned *seen,
		       struct ukvm_hostfwd *fwds, unsigned maxfwds, char *err, size_t errlen)
{
	const char *eq = memchr(s, '=', len);
	size_t kl = eq ? (size_t)(eq - s) : len;
	const char *val = eq ? eq + 1 : s + len;
	size_t vl = eq ? len - kl - 1 : 0;
	bool tap = n->kind == UKVM_NET_TAP;
	unsigned bit = kl == 3 && !strncmp(s, "mac", 3)  ? CLI_NET_MAC
		     : kl == 3 && !strncmp(s, "mtu", 3)  ? CLI_NET_MTU
		     : tap && kl == 2 && !strncmp(s, "ip", 2) ? CLI_NET_IP
		     : tap && kl == 2 && !strncmp(s, "gw", 2) ? CLI_NET_GW : 0;
	bool dns = tap && kl == 3 && !strncmp(s, "dns", 3);
	bool fwd = !tap && kl == 7 && !strncmp(s, "hostfwd", 7);
	if (!bit && !dns && !fwd)
		return cli_net_fail(err, errlen, v, "unknown option '%.*s' (%s takes %s)", (int)kl, s, tap ? "tap" : "user",
				    tap ? "mac, ip, gw, dns, mtu" : "mac, mtu, hostfwd");
	if (*seen & bit)
		return cli_net_fail(err, errlen, v, "option '%.*s' given twice", (int)kl, s);
	*seen |= bit;
	if (!eq)
		return cli_net_fail(err, errlen, v, "option '%.*s' needs a value", (int)kl, s);
	uint64_t u;
	uint32_t a;
	const char *slash;
	switch (bit) {
	case CLI_NET_MAC:
		if (!cli_mac(val, vl, n->mac))
			return cli_net_fail(err, errlen, v, "bad MAC '%.*s' (want six hex bytes like 52:54:00:12:34:56)",
					    (int)vl, val);
		if (n->mac[0] & 1)
			return cli_net_fail(err, errlen, v, "MAC '%.*s' is a multicast address", (int)vl, val);
		if (!(n->mac[0] | n->mac[1] | n->mac[2] | n->mac[3] | n->mac[4] | n->mac[5]))
			return cli_net_fail(err, errlen, v, "MAC 00:00:00:00:00:00 is not an address");
		return 0;
	case CLI_NET_MTU:
		if (!cli_uint(val, vl, &u) || u < UKVM_NET_MTU_MIN || u > UKVM_NET_MTU_MAX)
			return cli_net_fail(err, errlen, v, "mtu '%.*s' is not %u..%u", (int)vl, val, UKVM_NET_MTU_MIN,
					    UKVM_NET_MTU_MAX);
		n->mtu = (uint32_t)u;
		return 0;
	case CLI_NET_IP:
		slash = memchr(val, '/', vl);
		if (!cli_ipv4(val, slash ? (size_t)(slash - val) : vl, &n->ipv4) || !n->ipv4)
			return cli_net_fail(err, errlen, v, "bad address '%.*s' (want e.g. 10.0.0.2/24)", (int)vl, val);
		if (!slash) {
			n->prefix = 24;
			return 0;
		}
		if (!cli_uint(slash + 1, vl - (size_t)(slash + 1 - val), &u) || u > 32 || u == 0)
			return cli_net_fail(err, errlen, v, "prefix '%.*s' is not 1..32", (int)(vl - (size_t)(slash + 1 - val)),
					    slash + 1);
		n->prefix = (uint8_t)u;
		return 0;
	case CLI_NET_GW:
		if (!cli_ipv4(val, vl, &n->gw) || !n->gw)
			return cli_net_fail(err, errlen, v, "bad gateway address '%.*s'", (int)vl, val);
		return 0;
	}
	if (dns) {
		unsigned k = 0;
		while (k < UKVM_MAX_DNS && n->dns[k])
			k++;
		if (k == UKVM_MAX_DNS)
			return cli_net_fail(err, errlen, v, "more than %u dns servers", UKVM_MAX_DNS);
		if (!cli_ipv4(val, vl, &a) || !a)
			return cli_net_fail(err, errlen, v, "bad dns address '%.*s'", (int)vl, val);
		n->dns[k] = a;
		return 0;
	}
	if (n->nfwds == maxfwds)
		return cli_net_fail(err, errlen, v, "more than %u hostfwd options", maxfwds);
	int r = cli_hostfwd(v, val, vl, &fwds[n->nfwds], err, errlen);
	if (r)
		return r;
	n->nfwds++;
	return 0;
}

int cli_parse_net(const char *v, struct ukvm_net *n, struct ukvm_hostfwd *fwds, unsigned maxfwds, char *err,
		  size_t errlen)
{
	const char *opts;
	memset(n, 0, sizeof(*n));
	n->fd = -1;
	n->fwds = fwds;
	if (!strncmp(v, "tap:", 4)) {
		const char *name = v + 4;
		size_t l = strcspn(name, ",");
		/* Linux's dev_valid_name: 1..15 bytes, no '/', ':' or white space, not "." or "..". */
		if (!l || l >= 16 || memchr(name, '/', l) || memchr(name, ':', l) || memchr(name, ' ', l) ||
		    (l <= 2 && !strncmp(name, "..", l)))
			return cli_net_fail(err, errlen, v, "bad interface name '%.*s' (1..15 bytes, no '/', ':' or space)",
					    (int)l, name);
		n->kind = UKVM_NET_TAP;
		opts = name + l;
	} else if (!strncmp(v, "user", 4) && (v[4] == '\0' || v[4] == ',')) {
		n->kind = UKVM_NET_USER;
		opts = v + 4;
	} else {
		return cli_net_fail(err, errlen, v, "expected tap:IFNAME[,OPTION=VALUE]... or user[,OPTION=VALUE]...");
	}
	unsigned seen = 0;
	while (*opts == ',') {
		const char *s = opts + 1;
		size_t len = strcspn(s, ",");
		int r = cli_net_opt(v, s, len, n, &seen, fwds, maxfwds, err, errlen);
		if (r)
			return r;
		opts = s + len;
	}
	if (n->kind == UKVM_NET_TAP) {
		char *name = strndup(v + 4, strcspn(v + 4, ","));
		if (!name) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		n->ifname = name;
	}
	return 0;
}

static int cli_fail(char *err, size_t errlen, const char *opt, const char *what, const char *val)
{
	snprintf(err, errlen, "%s: %s%s%s", opt, val ? val : "", val ? ": " : "", what);
	return -EINVAL;
}

/* Value of an option given as "--opt VALUE" or "--opt=VALUE"; NULL when missing. */
static const char *cli_value(int argc, char **argv, int *i, const char *opt)
{
	size_t l = strlen(opt);
	if (argv[*i][l] == '=')
		return argv[*i] + l + 1;
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

static bool cli_is(const char *arg, const char *opt)
{
	size_t l = strlen(opt);
	return !strncmp(arg, opt, l) && (arg[l] == '\0' || arg[l] == '=');
}

static int cli_mem(const char *v, struct cli_opts *o, char *err, size_t errlen)
{
	uint64_t m;
	if (cli_parse_size(v, &m))
		return cli_fail(err, errlen, "--mem", "not a size (use e.g. 64M, 1G)", v);
	const char *bad = ukvm_mem_size_invalid(m);
	if (bad)
		return cli_fail(err, errlen, "--mem", bad, v);
	o->cfg.mem_size = m;
	return 0;
}

/* --disk PATH[,ro][,direct]: the next virtio-blk disk. */
static int cli_disk(const char *v, struct cli_opts *o, char *err, size_t errlen)
{
	if (o->cfg.ndisks >= UKVM_MAX_DISKS)
		return cli_fail(err, errlen, "--disk", "too many disks (at most 32)", v);
	int r = cli_parse_disk(v, &o->disks[o->cfg.ndisks], err, errlen);
	if (r)
		return r;
	o->cfg.ndisks++;
	return 0;
}

/* --net SPEC: the next NIC (eth0, eth1 ...). */
static int cli_net(const char *v, struct cli_opts *o, char *err, size_t errlen)
{
	if (o->cfg.nnets >= UKVM_MAX_NICS) {
		snprintf(err, errlen, "--net: %s: too many NICs (at most %u)", v, UKVM_MAX_NICS);
		return -EINVAL;
	}
	unsigned i = o->cfg.nnets;
	int r = cli_parse_net(v, &o->nets[i], o->fwds[i], CLI_MAX_FWDS, err, errlen);
	if (r) {
		free((char *)o->nets[i].ifname);
		o->nets[i].ifname = NULL;
		return r;
	}
	o->cfg.nnets++;
	return 0;
}

/*
 * Device options, one per device class (devices/dev.h): a new kind of device
 * adds its option here. Each parser takes the option's value and fills its
 * part of o->cfg; returns 0 or -errno with one line in err.
 */
static const struct cli_dev_opt {
	const char *opt;
	int (*parse)(const char *v, struct cli_opts *o, char *err, size_t errlen);
} cli_devs[] = {
	{ "--disk", cli_disk },
	{ "--net", cli_net },
};

/* When a is one of cli_devs: parses its value; 1 when a is not a device option. */
static int cli_device(int argc, char **argv, int *i, struct cli_opts *o, char *err, size_t errlen)
{
	for (size_t k = 0; k < sizeof(cli_devs) / sizeof(cli_devs[0]); k++) {
		const char *opt = cli_devs[k].opt, *v;
		if (!cli_is(argv[*i], opt))
			continue;
		if (!(v = cli_value(argc, argv, i, opt)))
			return cli_fail(err, errlen, opt, "missing value", NULL);
		return cli_devs[k].parse(v, o, err, errlen);
	}
	return 1;
}

int cli_parse(int argc, char **argv, struct cli_opts *o, int *stats, char *err, size_t errlen)
{
	int nenv = 0;
	bool then = false;
	memset(o, 0, sizeof(*o));
	*stats = 0;
	o->cfg.size = sizeof(o->cfg);
	o->cfg.console_fd = 1;
	o->cfg.console_err_fd = 2;
	o->cfg.stdin_tty = true;
	o->jail_uid = o->jail_gid = 65534;
	o->cfg.seccomp = true;
	o->env = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*o->env));
	if (!o->env) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	o->cfg.env = o->env;
	o->cfg.disks = o->disks;
	o->cfg.nets = o->nets;
	int i, r;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0')
			break; /* the image */
		if (cli_is(a, "--mem")) {
			if (!(v = cli_value(argc, argv, &i, "--mem")))
				return cli_fail(err, errlen, "--mem", "missing value", NULL);
			if (cli_mem(v, o, err, errlen))
				return -EINVAL;
		} else if (cli_is(a, "--timeout")) {
			if (!(v = cli_value(argc, argv, &i, "--timeout")))
				return cli_fail(err, errlen, "--timeout", "missing value", NULL);
			if (cli_parse_seconds(v, &o->cfg.timeout_ms))
				return cli_fail(err, errlen, "--timeout",
						"not a positive number of seconds (at most a year)", v);
		} else if (cli_is(a, "--env")) {
			if (!(v = cli_value(argc, argv, &i, "--env")))
				return cli_fail(err, errlen, "--env", "missing value", NULL);
			const char *eq = strchr(v, '=');
			if (!eq || eq == v)
				return cli_fail(err, errlen, "--env", "expected K=V", v);
			o->env[nenv++] = v;
		} else if ((r = cli_device(argc, argv, &i, o, err, errlen)) <= 0) {
			if (r)
				return r;
		} else if (cli_is(a, "--pv")) {
			if (!(v = cli_value(argc, argv, &i, "--pv")))
				return cli_fail(err, errlen, "--pv", "missing value", NULL);
			if (cli_parse_pv(v, &o->cfg.pv))
				return cli_fail(err, errlen, "--pv", "not auto, off or on", v);
		} else if (!strcmp(a, "--no-cpuid-cache")) {
			o->cfg.no_cpuid_cache = true;
		} else if (!strcmp(a, "--trace-boot")) {
			o->cfg.trace_boot = true;
		} else if (!strcmp(a, "--stats")) {
			*stats = 1;
		} else if (!strcmp(a, "--quiet")) {
			o->cfg.quiet = true;
		} else if (!strcmp(a, "--raw-console")) {
			o->cfg.raw_console = true;
		} else if (cli_is(a, "--signals")) {
			if (!(v = cli_value(argc, argv, &i, "--signals")))
				return cli_fail(err, errlen, "--signals", "missing value", NULL);
			if (!strcmp(v, "stop") || !strcmp(v, "forward"))
				o->cfg.forward_signals = !strcmp(v, "forward");
			else
				return cli_fail(err, errlen, "--signals", "not stop or forward", v);
		} else if (cli_is(a, "--argv0")) {
			if (!(v = cli_value(argc, argv, &i, "--argv0")))
				return cli_fail(err, errlen, "--argv0", "missing value", NULL);
			o->cfg.argv0 = v; /* an empty argv[0] is allowed, as execve allows it */
		} else if (!strcmp(a, "--jail")) {
			o->jail = true;
		} else if (cli_is(a, "--jail-uid") || cli_is(a, "--jail-gid")) {
			bool uid = cli_is(a, "--jail-uid");
			const char *name = uid ? "--jail-uid" : "--jail-gid";
			char *end;
			if (!(v = cli_value(argc, argv, &i, name)) || !*v)
				return cli_fail(err, errlen, name, "missing value", NULL);
			errno = 0;
			unsigned long id = strtoul(v, &end, 10);
			if (*end || errno || id == 0 || id >= 0xffffffffu || v[0] == '-')
				return cli_fail(err, errlen, name, "not an unprivileged id (1..4294967294)", v);
			*(uid ? &o->jail_uid : &o->jail_gid) = (unsigned)id;
		} else if (cli_is(a, "--jail-cgroup")) {
			if (!(v = cli_value(argc, argv, &i, "--jail-cgroup")) || v[0] != '/')
				return cli_fail(err, errlen, "--jail-cgroup", "needs an absolute cgroup v2 directory", NULL);
			o->jail_cgroup = v;
		} else if (cli_is(a, "--cwd")) {
			if (!(v = cli_value(argc, argv, &i, "--cwd")) || v[0] != '/')
				return cli_fail(err, errlen, "--cwd", "needs an absolute directory", NULL);
			o->cfg.cwd = v;
		} else if (cli_is(a, "--snapshot-when-idle")) {
			if (!(v = cli_value(argc, argv, &i, "--snapshot-when-idle")) || !*v)
				return cli_fail(err, errlen, "--snapshot-when-idle", "missing file", NULL);
			o->cfg.snapshot_when_idle = v;
		} else if (cli_is(a, "--snapshot-then")) {
			if (!(v = cli_value(argc, argv, &i, "--snapshot-then")))
				return cli_fail(err, errlen, "--snapshot-then", "missing value", NULL);
			if (!strcmp(v, "exit"))
				o->cfg.snapshot_continue = false;
			else if (!strcmp(v, "continue"))
				o->cfg.snapshot_continue = true;
			else
				return cli_fail(err, errlen, "--snapshot-then", "not exit or continue", v);
			then = true;
		} else if (cli_is(a, "--restore")) {
			if (!(v = cli_value(argc, argv, &i, "--restore")) || !*v)
				return cli_fail(err, errlen, "--restore", "missing file", NULL);
			o->cfg.restore = v;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			o->help = 1;
			return 0;
		} else if (!strcmp(a, "--version")) {
			o->version = 1;
			return 0;
		} else {
			snprintf(err, errlen, "%s: unknown option (see --help)", a);
			return -EINVAL;
		}
	}
	if (then && !o->cfg.snapshot_when_idle)
		return cli_fail(err, errlen, "--snapshot-then", "needs --snapshot-when-idle", NULL);
	if (o->cfg.restore) {
		/* The guest's image, arguments and environment are the snapshot's. */
		if (o->cfg.snapshot_when_idle)
			return cli_fail(err, errlen, "--restore", "cannot be combined with --snapshot-when-idle", NULL);
		if (i < argc) {
			snprintf(err, errlen, "--restore: %s: no image or arguments with a snapshot", argv[i]);
			return -EINVAL;
		}
		if (nenv || o->cfg.argv0 || o->cfg.cwd || o->cfg.trace_boot)
			return cli_fail(err, errlen, "--restore", "--env, --argv0, --cwd and --trace-boot are the snapshot's",
					NULL);
		return 0;
	}
	if (i >= argc) {
		snprintf(err, errlen, "no image given (see --help)");
		return -EINVAL;
	}
	o->cfg.image = argv[i++];
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	o->cfg.argv = (const char *const *)(argv + i); /* argv[argc] is NULL: the list is terminated */
	return 0;
}

void cli_free(struct cli_opts *o)
{
	free(o->env);
	o->env = NULL;
	o->cfg.env = NULL;
	for (unsigned i = 0; i < o->cfg.ndisks; i++) {
		free((char *)o->disks[i].path);
		o->disks[i].path = NULL;
	}
	o->cfg.ndisks = 0;
	for (unsigned i = 0; i < o->cfg.nnets; i++) {
		free((char *)o->nets[i].ifname);
		o->nets[i].ifname = NULL;
	}
	o->cfg.nnets = 0;
}
