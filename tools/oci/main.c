/* main.c: the ukvm-oci command line: runc's global flags and verbs, as containerd's runc v2 shim calls them. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocicmd.h"
#include "ukvm.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: ukvm-oci [--root DIR] [--log FILE] [--log-format json|text] COMMAND [FLAGS] ID\n"
		   "A runc-compatible runtime: each container is one ukvm microVM running one static program.\n"
		   "  create [--bundle DIR] [--pid-file FILE] [--console-socket SOCK] ID\n"
		   "  start ID | state ID | ps [--format json|table] ID\n"
		   "  kill [--all] ID [SIGNAL] | delete [--force] ID\n"
		   "exec, pause, resume, update, checkpoint, restore, events are refused.\n"
		   "Use it with containerd: ctr run --runc-binary ukvm-oci ..., or BinaryName in the\n"
		   "runc v2 runtime's options (README: \"Containers\").\n");
}

/*
 * One flag at argv[*i]: "--name VALUE", "--name=VALUE", or with one dash
 * (Go's flag parsing accepts both). Returns true and sets *val (NULL for a
 * boolean flag) when argv[*i] is this flag.
 */
static bool flag(int argc, char **argv, int *i, const char *name, bool has_value, const char **val)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (a[0] != '-')
		return false;
	a += a[1] == '-' ? 2 : 1;
	if (strncmp(a, name, n) != 0 || (a[n] != '\0' && a[n] != '='))
		return false;
	*val = NULL;
	if (!has_value)
		return a[n] == '\0';
	if (a[n] == '=')
		*val = a + n + 1;
	else if (*i + 1 < argc)
		*val = argv[++*i];
	else
		return false;
	return true;
}

/* Flags containerd or users may pass that mean nothing for a microVM: accepted, ignored. */
static bool ignored(int argc, char **argv, int *i)
{
	static const char *const bools[] = { "no-pivot", "no-new-keyring", "detach", "d", "debug", "systemd-cgroup", "all", "a" };
	static const char *const vals[] = { "preserve-fds", "criu", "rootless" };
	const char *v;

	for (size_t k = 0; k < sizeof(bools) / sizeof(bools[0]); k++)
		if (flag(argc, argv, i, bools[k], false, &v))
			return true;
	for (size_t k = 0; k < sizeof(vals) / sizeof(vals[0]); k++)
		if (flag(argc, argv, i, vals[k], true, &v))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	struct ocicmd c = { .root = OCICMD_ROOT_DEFAULT, .out = stdout };
	const char *v, *fmt = "text";
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (flag(argc, argv, &i, "root", true, &v))
			c.root = v;
		else if (flag(argc, argv, &i, "log", true, &v))
			c.log.path = *v ? v : NULL;
		else if (flag(argc, argv, &i, "log-format", true, &v))
			fmt = v;
		else if (flag(argc, argv, &i, "help", false, &v) || flag(argc, argv, &i, "h", false, &v)) {
			usage(stdout);
			return 0;
		} else if (flag(argc, argv, &i, "version", false, &v) || flag(argc, argv, &i, "v", false, &v)) {
			printf("ukvm-oci version %s\nspec: 1.0.2\n", UKVM_VERSION);
			return 0;
		} else if (!ignored(argc, argv, &i)) {
			fprintf(stderr, "ukvm-oci: unknown global flag %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	c.log.json = strcmp(fmt, "json") == 0;
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	const char *verb = argv[i++];
	struct ocicmd_create cr = { 0 };
	bool force = false, all = false, json = false;
	const char *pos[2] = { NULL, NULL };
	int npos = 0;

	if (!strcmp(verb, "version")) {
		printf("ukvm-oci version %s\nspec: 1.0.2\n", UKVM_VERSION);
		return 0;
	}
	static const char *const refused[] = { "exec", "pause", "resume", "update", "checkpoint", "restore", "events",
					       "run", "spec", "list", "features" };
	for (size_t k = 0; k < sizeof(refused) / sizeof(refused[0]); k++)
		if (!strcmp(verb, refused[k]))
			return ocicmd_refuse(&c, verb);
	/* create's fds 0-2 are the container's stdio: its errors go only to the log (when there is one). */
	c.quiet_stderr = !strcmp(verb, "create");
	for (; i < argc; i++) {
		if (argv[i][0] != '-' || !strcmp(argv[i], "-")) {
			if (npos == 2)
				return ocicmd_fail(&c, "%s: too many arguments", verb);
			pos[npos++] = argv[i];
		} else if (flag(argc, argv, &i, "bundle", true, &v) || flag(argc, argv, &i, "b", true, &v))
			cr.bundle = v;
		else if (flag(argc, argv, &i, "pid-file", true, &v))
			cr.pid_file = v;
		else if (flag(argc, argv, &i, "console-socket", true, &v))
			cr.console_socket = v;
		else if (flag(argc, argv, &i, "force", false, &v) || flag(argc, argv, &i, "f", false, &v))
			force = true;
		else if (flag(argc, argv, &i, "all", false, &v) || flag(argc, argv, &i, "a", false, &v))
			all = true;
		else if (flag(argc, argv, &i, "format", true, &v))
			json = !strcmp(v, "json");
		else if (!ignored(argc, argv, &i))
			return ocicmd_fail(&c, "%s: unknown flag %s", verb, argv[i]);
	}
	if (npos == 0)
		return ocicmd_fail(&c, "%s: a container id is required", verb);
	cr.id = pos[0];
	if (!strcmp(verb, "create"))
		return npos == 1 ? ocicmd_create(&c, &cr) : ocicmd_fail(&c, "create: too many arguments");
	if (!strcmp(verb, "start"))
		return ocicmd_start(&c, pos[0]);
	if (!strcmp(verb, "kill"))
		return ocicmd_kill(&c, pos[0], pos[1], all);
	if (!strcmp(verb, "delete"))
		return ocicmd_delete(&c, pos[0], force);
	if (!strcmp(verb, "state"))
		return ocicmd_state(&c, pos[0]);
	if (!strcmp(verb, "ps"))
		return ocicmd_ps(&c, pos[0], json);
	return ocicmd_fail(&c, "unknown command \"%.64s\"", verb);
}
