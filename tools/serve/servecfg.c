/* servecfg.c: ukvm-serve's command line: the listen address, the functions, the limits. */
#include "servecfg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ukvm_abi.h"

static int serve_fail(char *err, size_t errlen, const char *opt, const char *v, const char *why)
{
	snprintf(err, errlen, "%s: %s: %s", opt, v, why);
	return -EINVAL;
}

static bool serve_name_ok(const char *s, size_t len)
{
	if (len == 0 || len >= SERVE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '-' || c == '.'))
			return false;
	}
	return true;
}

/* Seconds (a decimal, fractions allowed) to ms: > 0 and at most a year. */
static int serve_seconds(const char *s, uint64_t *ms)
{
	char *end;
	errno = 0;
	double d = strtod(s, &end);
	if (errno || end == s || *end || !(d > 0) || d > 366.0 * 86400)
		return -EINVAL;
	*ms = (uint64_t)(d * 1000.0 + 0.5);
	if (*ms == 0)
		*ms = 1;
	return 0;
}

int serve_parse_fn(const char *v, struct serve_fn *f, char *err, size_t errlen)
{
	memset(f, 0, sizeof(*f));
	const char *eq = strchr(v, '=');
	if (!eq || !serve_name_ok(v, (size_t)(eq - v)))
		return serve_fail(err, errlen, "--fn", v, "want NAME=IMAGE, NAME of letters, digits, _ - .");
	memcpy(f->name, v, (size_t)(eq - v));
	const char *p = eq + 1, *comma = strchr(p, ',');
	size_t ilen = comma ? (size_t)(comma - p) : strlen(p);
	if (ilen == 0)
		return serve_fail(err, errlen, "--fn", v, "missing IMAGE");
	if (!(f->image = strndup(p, ilen)))
		return -ENOMEM;
	unsigned nargs = 0;
	bool have_mem = false, have_timeout = false;
	while (comma) {
		p = comma + 1;
		comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char opt[256];
		if (len >= sizeof(opt))
			return serve_fail(err, errlen, "--fn", v, "option too long");
		memcpy(opt, p, len);
		opt[len] = 0;
		if (!strncmp(opt, "mem=", 4)) {
			if (have_mem || cli_parse_size(opt + 4, &f->mem) || f->mem == 0)
				return serve_fail(err, errlen, "--fn", v, "mem= wants one size like 64M");
			/* Refused here, not by every request (boot mode) or at registration (restore mode). */
			const char *bad = ukvm_mem_size_invalid(f->mem);
			if (bad) {
				char why[96];
				snprintf(why, sizeof(why), "mem= %s", bad);
				return serve_fail(err, errlen, "--fn", v, why);
			}
			have_mem = true;
		} else if (!strncmp(opt, "timeout=", 8)) {
			if (have_timeout || serve_seconds(opt + 8, &f->timeout_ms))
				return serve_fail(err, errlen, "--fn", v, "timeout= wants one positive number of seconds");
			have_timeout = true;
		} else if (!strncmp(opt, "native=", 7)) {
			if (f->native || !opt[7])
				return serve_fail(err, errlen, "--fn", v, "native= wants one program path");
			if (!(f->native = strdup(opt + 7)))
				return -ENOMEM;
		} else if (!strncmp(opt, "arg=", 4)) {
			if (nargs == SERVE_MAX_ARGS)
				return serve_fail(err, errlen, "--fn", v, "too many arg=");
			if (!(f->argv[nargs++] = strdup(opt + 4)))
				return -ENOMEM;
		} else {
			return serve_fail(err, errlen, "--fn", v, "unknown option (mem=, timeout=, arg=, native=)");
		}
	}
	if (!have_timeout)
		f->timeout_ms = SERVE_TIMEOUT_DEFAULT_MS;
	return 0;
}

static int serve_listen(const char *v, struct serve_opts *o, char *err, size_t errlen)
{
	const char *colon = strrchr(v, ':');
	struct in_addr a;
	char host[sizeof(o->host)];
	if (!colon || (size_t)(colon - v) >= sizeof(host))
		return serve_fail(err, errlen, "--listen", v, "want ADDR:PORT");
	memcpy(host, v, (size_t)(colon - v));
	host[colon - v] = 0;
	char *end;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (inet_pton(AF_INET, host, &a) != 1 || errno || end == colon + 1 || *end || port > 65535)
		return serve_fail(err, errlen, "--listen", v, "want an IPv4 ADDR:PORT");
	snprintf(o->host, sizeof(o->host), "%s", host);
	o->port = (uint16_t)port;
	return 0;
}

static int serve_uint(const char *opt, const char *v, unsigned lo, unsigned hi, unsigned *out, char *err, size_t errlen)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	if (errno || end == v || *end || n < lo || n > hi) {
		char why[64];
		snprintf(why, sizeof(why), "want a number %u..%u", lo, hi);
		return serve_fail(err, errlen, opt, v, why);
	}
	*out = (unsigned)n;
	return 0;
}

int serve_parse(int argc, char **argv, struct serve_opts *o, char *err, size_t errlen)
{
	bool listen = false;
	memset(o, 0, sizeof(*o));
	o->max_vms = 8;
	o->queue_ms = 1000;
	o->stop_wait_ms = 60000;
	o->max_body = 1 << 20;
	o->mode = SERVE_MODE_RESTORE;
	o->warm = 2;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			o->help = true;
			return 0;
		}
		if (i + 1 >= argc) {
			snprintf(err, errlen, "%s: unknown option or missing value", a);
			return -EINVAL;
		}
		const char *v = argv[++i];
		int r = 0;
		if (!strcmp(a, "--listen")) {
			r = serve_listen(v, o, err, errlen);
			listen = true;
		} else if (!strcmp(a, "--fn")) {
			if (o->nfns == SERVE_MAX_FNS)
				return serve_fail(err, errlen, "--fn", v, "too many functions");
			r = serve_parse_fn(v, &o->fns[o->nfns++], err, errlen);
			if (!r && serve_find(o, o->fns[o->nfns - 1].name, strlen(o->fns[o->nfns - 1].name)) !=
					  &o->fns[o->nfns - 1])
				r = serve_fail(err, errlen, "--fn", v, "a function of that name exists");
		} else if (!strcmp(a, "--max-vms")) {
			r = serve_uint(a, v, 1, 4096, &o->max_vms, err, errlen);
		} else if (!strcmp(a, "--queue-wait")) {
			r = serve_uint(a, v, 0, 600000, &o->queue_ms, err, errlen);
		} else if (!strcmp(a, "--stop-wait")) {
			unsigned s = 0;
			r = serve_uint(a, v, 1, 3600, &s, err, errlen);
			o->stop_wait_ms = s * 1000;
		} else if (!strcmp(a, "--max-body")) {
			if (cli_parse_size(v, &o->max_body) || o->max_body > (1ull << 30))
				r = serve_fail(err, errlen, a, v, "want a size up to 1G");
		} else if (!strcmp(a, "--mode")) {
			if (!strcmp(v, "boot"))
				o->mode = SERVE_MODE_BOOT;
			else if (!strcmp(v, "restore"))
				o->mode = SERVE_MODE_RESTORE;
			else if (!strcmp(v, "native"))
				o->mode = SERVE_MODE_NATIVE;
			else
				r = serve_fail(err, errlen, a, v, "want boot, restore or native");
			o->mode_given = true;
		} else if (!strcmp(a, "--warm")) {
			r = serve_uint(a, v, 0, SERVE_WARM_MAX, &o->warm, err, errlen);
		} else if (!strcmp(a, "--pv")) {
			if (cli_parse_pv(v, &o->pv))
				r = serve_fail(err, errlen, a, v, "want auto, off or on");
		} else if (!strcmp(a, "--levers")) {
			if (!strcmp(v, "on") || !strcmp(v, "off"))
				o->plain_host = !strcmp(v, "off");
			else
				r = serve_fail(err, errlen, a, v, "want on or off");
		} else {
			snprintf(err, errlen, "%s: unknown option", a);
			r = -EINVAL;
		}
		if (r)
			return r;
	}
	if (!listen) {
		snprintf(err, errlen, "--listen ADDR:PORT is required");
		return -EINVAL;
	}
	if (!o->nfns) {
		snprintf(err, errlen, "no function: give at least one --fn NAME=IMAGE");
		return -EINVAL;
	}
	/* Once all are parsed: --pv may come after the --fn it applies to. */
	for (unsigned i = 0; i < o->nfns; i++)
		o->fns[i].pv = o->pv;
	for (unsigned i = 0; o->mode == SERVE_MODE_NATIVE && i < o->nfns; i++)
		if (!o->fns[i].native) {
			snprintf(err, errlen, "--mode native: function %s has no native=PATH", o->fns[i].name);
			return -EINVAL;
		}
	return 0;
}

const struct serve_fn *serve_find(const struct serve_opts *o, const char *name, size_t len)
{
	for (unsigned i = 0; i < o->nfns; i++)
		if (strlen(o->fns[i].name) == len && !memcmp(o->fns[i].name, name, len))
			return &o->fns[i];
	return NULL;
}

void serve_opts_free(struct serve_opts *o)
{
	for (unsigned i = 0; i < o->nfns; i++) {
		free(o->fns[i].image);
		free(o->fns[i].native);
		for (unsigned k = 0; o->fns[i].argv[k]; k++)
			free((void *)o->fns[i].argv[k]);
	}
	o->nfns = 0;
}

const char *serve_usage(void)
{
	return "usage: ukvm-serve --listen ADDR:PORT --fn NAME=IMAGE[,mem=SIZE][,timeout=S][,arg=A]...[,native=PATH]\n"
	       "                  [--fn ...] [--max-vms N] [--queue-wait MS] [--max-body SIZE] [--stop-wait S]\n"
	       "                  [--mode boot|restore|native] [--levers on|off] [--warm N] [--pv auto|off|on]\n"
	       "POST /fn/NAME runs NAME in a fresh microVM: the body is its stdin, its stdout the response\n"
	       "(200 on exit 0, else 500 with the reason; 504 past timeout=, 60 s unless given; 503 when\n"
	       "--max-vms, warm VMs included, are busy for --queue-wait ms; 413 past --max-body).\n"
	       "GET /fns lists them (JSON), GET /metrics (Prometheus text). --mode restore (default)\n"
	       "boots each function once, snapshots it when\n"
	       "it waits for its input and restores each request's VM from there; a function it cannot\n"
	       "snapshot is booted per request (refused with --mode restore given). --mode boot boots\n"
	       "each request's VM. --mode native runs each function's native= program as a plain child\n"
	       "process instead, no VM (a baseline for benchmarks). --levers off: no idle VM, pool of\n"
	       "ready VM shells or reaper thread in libukvm (UKVM_HOST_FAST, on by default). --warm N\n"
	       "(restore mode, default 2, 0..4): VMs per function restored and running ahead, waiting\n"
	       "for their request's input (each still serves one request only). --pv auto|off|on: the\n"
	       "CPU mode of every VM (boot, snapshot, restores), as ukvm-run's: pvm-pv when the host\n"
	       "offers it (auto, the default), never, or required.\n";
}
