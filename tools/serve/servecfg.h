/* servecfg.h: ukvm-serve's command line (tools/serve/servecfg.c), kept apart from the server so it is unit-testable. */
#ifndef SERVECFG_H
#define SERVECFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ukvm.h"

#define SERVE_MAX_FNS  64
#define SERVE_MAX_ARGS 16
#define SERVE_NAME_MAX 64
#define SERVE_WARM_MAX 4
/* A function's time per request without timeout=: a looping one must not hold its VM until SIGTERM. */
#define SERVE_TIMEOUT_DEFAULT_MS 60000

/* How a request's VM starts. */
enum serve_mode {
	SERVE_MODE_BOOT,    /* a fresh boot of the image */
	SERVE_MODE_RESTORE, /* a restore of the snapshot taken when the function first went idle */
	SERVE_MODE_NATIVE,  /* no VM: the function's native= program as a child process (the baseline of bench-serve) */
};

/* One function: POST /fn/NAME runs IMAGE with the request body as stdin. */
struct serve_fn {
	char name[SERVE_NAME_MAX]; /* [A-Za-z0-9_.-]+ */
	char *image;
	uint64_t mem;              /* guest RAM (a size libukvm takes, ukvm_mem_size_invalid); 0: libukvm's default */
	uint64_t timeout_ms;       /* per request (default SERVE_TIMEOUT_DEFAULT_MS) */
	const char *argv[SERVE_MAX_ARGS + 1]; /* the guest's argv[1..] (arg=), NULL-terminated; malloc'd strings */
	char *native;              /* native=PATH: the same program built for the host (--mode native); NULL: none */
	enum ukvm_pv pv;           /* the CPU mode of each of its VMs (boot, snapshot, restores): the server's --pv,
				      set by serve_parse */
};

struct serve_opts {
	char host[64];          /* --listen ADDR:PORT: an IPv4 address ... */
	uint16_t port;          /* ... and port (0: any free one, printed at start) */
	struct serve_fn fns[SERVE_MAX_FNS];
	unsigned nfns;
	unsigned max_vms;       /* --max-vms: VMs running at once (default 8) */
	unsigned queue_ms;      /* --queue-wait: how long a request beyond them waits for one, then 503 (default 1000) */
	unsigned stop_wait_ms;  /* --stop-wait S: how long SIGTERM waits for begun requests (default 60 s), then exits */
	uint64_t max_body;      /* --max-body: request bytes taken (default 1M); more: 413 */
	enum serve_mode mode;   /* --mode boot|restore|native (default restore) */
	bool mode_given;        /* --mode was given: restore mode refuses a function it cannot snapshot; by default
				   such a function is booted per request (ukvm-serve says so at start) */
	unsigned warm;          /* --warm: restore mode's VMs per function restored and running ahead, waiting for
				   their input (default 2, at most SERVE_WARM_MAX and --max-vms; 0: none) */
	bool plain_host;        /* --levers off: a plain ukvm_host, without UKVM_HOST_FAST (idle VM, pool, reaper) */
	enum ukvm_pv pv;        /* --pv auto|off|on (default auto), as ukvm-run's: every function's pv */
	bool help;
};

/*
 * Parses `ukvm-serve --listen ADDR:PORT --fn NAME=IMAGE[,mem=SIZE][,timeout=S][,arg=A]...[,native=PATH]
 * [--fn ...]... [--max-vms N] [--queue-wait MS] [--max-body SIZE] [--stop-wait S] [--mode boot|restore|native]
 * [--levers on|off] [--warm N] [--pv auto|off|on]`. --mode native needs native= on every function.
 * Returns 0, or -EINVAL with one line in err ("--fn: a=b,mem=1x: bad size");
 * call serve_opts_free afterwards either way.
 */
int serve_parse(int argc, char **argv, struct serve_opts *o, char *err, size_t errlen);

/* Parses one --fn value into *f. 0, or -EINVAL with one line in err, or -ENOMEM. */
int serve_parse_fn(const char *v, struct serve_fn *f, char *err, size_t errlen);

/* The function called name (len bytes), or NULL. */
const struct serve_fn *serve_find(const struct serve_opts *o, const char *name, size_t len);

void serve_opts_free(struct serve_opts *o);

/* Usage text. */
const char *serve_usage(void);

#endif
