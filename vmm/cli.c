/* cli.c: ukvm-run's argument parser: sizes, seconds, repeated --env and --disk, the image and the guest's arguments. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
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

const char *cli_usage(void)
{
	return "usage: ukvm-run [--mem SIZE] [--timeout SECONDS] [--env K=V]... [--disk PATH[,ro][,direct]]...\n"
	       "                [--pv auto|off|on] [--no-cpuid-cache] [--trace-boot] [--stats] [--help] [--version]\n"
	       "                IMAGE [--] [ARGS...]\n"
	       "  --mem SIZE         guest RAM, K/M/G suffixes, multiple of 2M, 8M..64G (default 128M)\n"
	       "  --timeout SECONDS  stop the guest after this long (exit code 124)\n"
	       "  --env K=V          add to the guest app's environment (repeatable)\n"
	       "  --disk PATH[,ro][,direct]\n"
	       "                     virtio-blk disk on a host file: /dev/vda, /dev/vdb ... in order\n"
	       "                     (at most 32); ro: read-only; direct: host I/O with O_DIRECT\n"
	       "  --pv auto|off|on   the host's paravirtual fast path (pvm-pv): when offered\n"
	       "                     (default), never, or required (exit 122 without it)\n"
	       "  --no-cpuid-cache   neither read nor write /dev/shm/ukvm-cpuid-UID, the per-boot\n"
	       "                     cache of KVM's supported CPUID (same VM, ~0.4 ms slower on PVM)\n"
	       "  --trace-boot       print boot phases with times on stderr\n"
	       "  --stats            print VM exits by reason and per-disk requests on stderr\n"
	       "exit codes: the app's status; 128+N guest crashed with signal N; 120 bad arguments;\n"
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
	memset(o, 0, sizeof(*o));
	*stats = 0;
	o->cfg.size = sizeof(o->cfg);
	o->cfg.console_fd = 1;
	o->cfg.seccomp = true;
	o->env = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*o->env));
	if (!o->env) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	o->cfg.env = o->env;
	o->cfg.disks = o->disks;
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
			if (!strcmp(v, "auto"))
				o->cfg.pv = UKVM_PV_AUTO;
			else if (!strcmp(v, "off"))
				o->cfg.pv = UKVM_PV_OFF;
			else if (!strcmp(v, "on"))
				o->cfg.pv = UKVM_PV_ON;
			else
				return cli_fail(err, errlen, "--pv", "not auto, off or on", v);
		} else if (!strcmp(a, "--no-cpuid-cache")) {
			o->cfg.no_cpuid_cache = true;
		} else if (!strcmp(a, "--trace-boot")) {
			o->cfg.trace_boot = true;
		} else if (!strcmp(a, "--stats")) {
			*stats = 1;
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
}
