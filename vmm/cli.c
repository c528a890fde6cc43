/* cli.c: ukvm-run's argument parser: sizes, seconds, repeated --env, the image and the guest's arguments. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ukvm_abi.h"

#define CLI_MAX_TIMEOUT_S (365.0 * 24 * 3600)

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
	return "usage: ukvm-run [--mem SIZE] [--timeout SECONDS] [--env K=V]... [--trace-boot]\n"
	       "                [--stats] [--help] [--version] IMAGE [--] [ARGS...]\n"
	       "  --mem SIZE         guest RAM, K/M/G suffixes, multiple of 2M, 8M..64G (default 64M)\n"
	       "  --timeout SECONDS  stop the guest after this long (exit code 124)\n"
	       "  --env K=V          add to the guest app's environment (repeatable)\n"
	       "  --trace-boot       print boot phases with times on stderr\n"
	       "  --stats            print VM exits by reason on stderr\n"
	       "exit codes: the app's status; 128+N guest crashed with signal N; 120 bad arguments;\n"
	       "  121 image rejected; 122 KVM unavailable; 123 guest crashed without a report;\n"
	       "  124 timeout; 125 monitor internal error\n";
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
	if (m < UKVM_MEM_MIN)
		return cli_fail(err, errlen, "--mem", "below the minimum 8M", v);
	if (m > UKVM_MEM_MAX)
		return cli_fail(err, errlen, "--mem", "above the maximum 64G", v);
	if (m % (2ull << 20))
		return cli_fail(err, errlen, "--mem", "not a multiple of 2M", v);
	o->cfg.mem_size = m;
	return 0;
}

int cli_parse(int argc, char **argv, struct cli_opts *o, int *stats, char *err, size_t errlen)
{
	int nenv = 0;
	memset(o, 0, sizeof(*o));
	*stats = 0;
	o->cfg.console_fd = 1;
	o->cfg.seccomp = true;
	o->env = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*o->env));
	if (!o->env) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	o->cfg.env = o->env;
	int i;
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
}
