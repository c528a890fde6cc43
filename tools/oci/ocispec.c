/* ocispec.c: config.json (OCI runtime spec) -> run plan, with jansson; every field used is type- and bounds-checked. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ocicgroup.h"
#include "ocispec.h"

/* One line into err, "config.json: " first; returns rc. */
static int spec_fail(char *err, size_t errlen, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int spec_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "config.json: ");

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return rc;
}

/*
 * The string at v as a C string, or NULL with err set: not a string, longer
 * than OCISPEC_STR_MAX (unless unbounded), or holding a NUL (JSON's \u0000:
 * C would see a shorter string than the one checked).
 */
static const char *spec_str_rc(const json_t *v, const char *what, bool bounded, int *rc, char *err, size_t errlen)
{
	*rc = -EINVAL;
	if (!json_is_string(v)) {
		spec_fail(err, errlen, -EINVAL, "%s is not a string", what);
		return NULL;
	}
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	if (strlen(s) != len) {
		spec_fail(err, errlen, -EINVAL, "%s holds a NUL character", what);
		return NULL;
	}
	if (bounded && len > OCISPEC_STR_MAX) {
		*rc = spec_fail(err, errlen, -E2BIG, "%s is longer than %d bytes", what, OCISPEC_STR_MAX);
		return NULL;
	}
	*rc = 0;
	return s;
}

static const char *spec_str(const json_t *v, const char *what, bool bounded, char *err, size_t errlen)
{
	int rc;

	return spec_str_rc(v, what, bounded, &rc, err, errlen);
}

/*
 * An absolute container path with repeated and trailing slashes dropped;
 * "." and ".." parts are refused: such a path would name another place in
 * the image than the one it spells. NULL with err set.
 */
static char *spec_abs_path(const char *s, const char *what, char *err, size_t errlen)
{
	if (s[0] != '/') {
		spec_fail(err, errlen, -EINVAL, "%s \"%s\" is not an absolute path", what, s);
		return NULL;
	}
	char *out = malloc(strlen(s) + 2), *o = out;
	if (!out) {
		spec_fail(err, errlen, -ENOMEM, "out of memory");
		return NULL;
	}
	for (const char *p = s;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
			free(out);
			spec_fail(err, errlen, -EINVAL, "%s \"%s\" has a '.' or '..' part", what, s);
			return NULL;
		}
		*o++ = '/';
		memcpy(o, p, n);
		o += n;
		p += n;
	}
	if (o == out)
		*o++ = '/';
	*o = '\0';
	return out;
}

/* A NULL-terminated copy of the array at v (of strings, at most max); env entries must look like K=V. */
static int spec_strv(const json_t *v, const char *what, size_t max, bool env, char ***out, size_t *n, char *err,
		     size_t errlen)
{
	*out = NULL;
	*n = 0;
	if (!v)
		return 0;
	if (!json_is_array(v))
		return spec_fail(err, errlen, -EINVAL, "%s is not an array", what);
	size_t cnt = json_array_size(v);
	if (cnt > max)
		return spec_fail(err, errlen, -E2BIG, "%s has %zu entries, more than %zu", what, cnt, max);
	char **a = calloc(cnt + 1, sizeof(*a));
	int rc;
	if (!a)
		return spec_fail(err, errlen, -ENOMEM, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		char name[64];
		snprintf(name, sizeof(name), "%s[%zu]", what, i);
		const char *s = spec_str_rc(json_array_get(v, i), name, true, &rc, err, errlen);
		if (!s)
			goto fail;
		if (env && (s[0] == '=' || !strchr(s, '='))) {
			rc = spec_fail(err, errlen, -EINVAL, "%s \"%s\" is not KEY=VALUE", name, s);
			goto fail;
		}
		if (!(a[i] = strdup(s))) {
			rc = spec_fail(err, errlen, -ENOMEM, "out of memory");
			goto fail;
		}
	}
	*out = a;
	*n = cnt;
	return 0;
fail:
	for (size_t i = 0; i < cnt; i++)
		free(a[i]);
	free(a);
	return rc;
}

/* Appends s (taken) to a string vector. */
static int spec_push(char ***v, size_t *n, char *s)
{
	char **nv = s ? realloc(*v, (*n + 1) * sizeof(**v)) : NULL;
	if (!nv) {
		free(s);
		return -ENOMEM;
	}
	*v = nv;
	(*v)[(*n)++] = s;
	return 0;
}

/* A mount's options hold "bind" or "rbind". */
static bool spec_is_bind(const json_t *m)
{
	const json_t *type = json_object_get(m, "type"), *opts = json_object_get(m, "options"), *o;
	size_t i;

	if (json_is_string(type) && strcmp(json_string_value(type), "bind") == 0)
		return true;
	json_array_foreach(opts, i, o)
		if (json_is_string(o) && (!strcmp(json_string_value(o), "bind") || !strcmp(json_string_value(o), "rbind")))
			return true;
	return false;
}

/*
 * mounts: bind mounts of host paths are packed at their destination; every
 * other kind (proc, sysfs, tmpfs, devpts, mqueue, cgroup) is the guest
 * kernel's business, and its destination is left out of the rootfs as the
 * mount would have hidden it.
 */
static int spec_mounts(const json_t *mounts, struct ocispec_plan *p, char *err, size_t errlen)
{
	size_t i;
	json_t *m;

	if (!mounts)
		return 0;
	if (!json_is_array(mounts))
		return spec_fail(err, errlen, -EINVAL, "mounts is not an array");
	if (json_array_size(mounts) > OCISPEC_MOUNTS_MAX)
		return spec_fail(err, errlen, -E2BIG, "more than %d mounts", OCISPEC_MOUNTS_MAX);
	json_array_foreach(mounts, i, m) {
		char what[64];
		if (!json_is_object(m))
			return spec_fail(err, errlen, -EINVAL, "mounts[%zu] is not an object", i);
		snprintf(what, sizeof(what), "mounts[%zu].destination", i);
		const char *d = spec_str(json_object_get(m, "destination"), what, true, err, errlen);
		char *dest = d ? spec_abs_path(d, what, err, errlen) : NULL;
		if (!dest)
			return -EINVAL;
		if (strcmp(dest, "/") == 0) {
			free(dest);
			return spec_fail(err, errlen, -EINVAL, "%s: a mount over / is not supported", what);
		}
		if (!spec_is_bind(m)) {
			if (spec_push(&p->hidden, &p->nhidden, dest) < 0)
				return spec_fail(err, errlen, -ENOMEM, "out of memory");
			continue;
		}
		snprintf(what, sizeof(what), "mounts[%zu].source", i);
		const char *s = spec_str(json_object_get(m, "source"), what, true, err, errlen);
		if (!s || s[0] != '/') {
			free(dest);
			return s ? spec_fail(err, errlen, -EINVAL, "%s \"%s\" is not an absolute path", what, s) : -EINVAL;
		}
		struct ocispec_bind *nb = realloc(p->binds, (p->nbinds + 1) * sizeof(*nb));
		if (nb)
			p->binds = nb;
		char *src = nb ? strdup(s) : NULL;
		if (!src) {
			free(dest);
			return spec_fail(err, errlen, -ENOMEM, "out of memory");
		}
		p->binds[p->nbinds++] = (struct ocispec_bind){ src, dest };
	}
	return 0;
}

uint64_t ocispec_mem_for_limit(uint64_t limit)
{
	if (limit < OCISPEC_MEM_MIN)
		return 0;
	if (limit > OCISPEC_MEM_MAX)
		limit = OCISPEC_MEM_MAX;
	return limit & ~(OCISPEC_MEM_STEP - 1);
}

/* linux.cgroupsPath: a relative cgroupfs path is taken from the root, as runc's v2 manager does. */
static int spec_cgroup(const json_t *linux_, struct ocispec_plan *p, char *err, size_t errlen)
{
	const json_t *v = json_object_get(linux_, "cgroupsPath");
	char rel[OCISPEC_STR_MAX + 2];

	if (!v)
		return 0;
	const char *s = spec_str(v, "linux.cgroupsPath", true, err, errlen);
	if (!s)
		return -EINVAL;
	if (!*s)
		return 0;
	if (ocicgroup_is_systemd(s))
		return (p->cgroup = strdup(s)) ? 0 : spec_fail(err, errlen, -ENOMEM, "out of memory");
	snprintf(rel, sizeof(rel), "%s%s", s[0] == '/' ? "" : "/", s);
	return (p->cgroup = spec_abs_path(rel, "linux.cgroupsPath", err, errlen)) ? 0 : -EINVAL;
}

/* linux.resources.memory.limit: the container's memory is the guest's RAM. */
static int spec_memory(const json_t *linux_, struct ocispec_plan *p, char *err, size_t errlen)
{
	const json_t *res = json_object_get(linux_, "resources");
	const json_t *mem = json_object_get(res, "memory");
	const json_t *lim = json_object_get(mem, "limit");

	if (!lim || json_is_null(lim))
		return 0;
	if (!json_is_integer(lim))
		return spec_fail(err, errlen, -EINVAL, "linux.resources.memory.limit is not an integer");
	json_int_t v = json_integer_value(lim);
	if (v <= 0) /* -1 (and 0 in older tools): no limit */
		return 0;
	p->mem_size = ocispec_mem_for_limit((uint64_t)v);
	if (!p->mem_size)
		return spec_fail(err, errlen, -EINVAL,
				 "linux.resources.memory.limit %lld bytes is below the %llu MiB a ukvm guest needs",
				 (long long)v, OCISPEC_MEM_MIN >> 20);
	return 0;
}

/* linux.namespaces: only the network one's path matters to a microVM; the others are the VM's own business. */
static int spec_namespaces(const json_t *linux_, struct ocispec_plan *p, char *err, size_t errlen)
{
	const json_t *nss = json_object_get(linux_, "namespaces"), *ns;
	size_t i;

	if (!nss)
		return 0;
	if (!json_is_array(nss))
		return spec_fail(err, errlen, -EINVAL, "linux.namespaces is not an array");
	if (json_array_size(nss) > OCISPEC_NS_MAX)
		return spec_fail(err, errlen, -E2BIG, "more than %d linux.namespaces", OCISPEC_NS_MAX);
	json_array_foreach(nss, i, ns) {
		char what[64];
		snprintf(what, sizeof(what), "linux.namespaces[%zu].type", i);
		const char *type = json_is_object(ns) ? spec_str(json_object_get(ns, "type"), what, true, err, errlen) : NULL;
		if (!type)
			return json_is_object(ns) ? -EINVAL
						  : spec_fail(err, errlen, -EINVAL, "linux.namespaces[%zu] is not an object", i);
		const json_t *path = json_object_get(ns, "path");
		if (strcmp(type, "network") != 0)
			continue;
		if (p->netns || p->netns_new)
			return spec_fail(err, errlen, -EINVAL, "linux.namespaces[%zu]: a second network namespace", i);
		if (!path) {
			p->netns_new = true;
			continue;
		}
		snprintf(what, sizeof(what), "linux.namespaces[%zu].path", i);
		const char *s = spec_str(path, what, true, err, errlen);
		if (!s)
			return -EINVAL;
		if (s[0] != '/')
			return spec_fail(err, errlen, -EINVAL, "%s \"%s\" is not an absolute path", what, s);
		if (!(p->netns = strdup(s)))
			return spec_fail(err, errlen, -ENOMEM, "out of memory");
	}
	return 0;
}

static int spec_process(const json_t *proc, struct ocispec_plan *p, char *err, size_t errlen)
{
	int rc;

	if (!json_is_object(proc))
		return spec_fail(err, errlen, -EINVAL, "process is missing or not an object");
	if ((rc = spec_strv(json_object_get(proc, "args"), "process.args", OCISPEC_ARGS_MAX, false, &p->args, &p->nargs,
			    err, errlen)))
		return rc;
	if (p->nargs == 0 || p->args[0][0] == '\0')
		return spec_fail(err, errlen, -EINVAL, "process.args is missing or empty: nothing to run");
	if ((rc = spec_strv(json_object_get(proc, "env"), "process.env", OCISPEC_ENV_MAX, true, &p->env, &p->nenv, err,
			    errlen)))
		return rc;
	if (!p->env && !(p->env = calloc(1, sizeof(*p->env))))
		return spec_fail(err, errlen, -ENOMEM, "out of memory");
	const json_t *cwd = json_object_get(proc, "cwd");
	const char *c = cwd ? spec_str(cwd, "process.cwd", true, err, errlen) : "/";
	if (!c)
		return -EINVAL;
	if (!(p->cwd = spec_abs_path(c, "process.cwd", err, errlen)))
		return -EINVAL;
	const json_t *term = json_object_get(proc, "terminal");
	if (term && !json_is_boolean(term))
		return spec_fail(err, errlen, -EINVAL, "process.terminal is not a boolean");
	p->terminal = json_is_true(term);
	return 0;
}

static int spec_root(const json_t *root, const char *bundle, struct ocispec_plan *p, char *err, size_t errlen)
{
	if (!json_is_object(root))
		return spec_fail(err, errlen, -EINVAL, "root is missing or not an object");
	const char *path = spec_str(json_object_get(root, "path"), "root.path", true, err, errlen);
	if (!path)
		return -EINVAL;
	if (!*path)
		return spec_fail(err, errlen, -EINVAL, "root.path is empty");
	const json_t *ro = json_object_get(root, "readonly");
	if (ro && !json_is_boolean(ro))
		return spec_fail(err, errlen, -EINVAL, "root.readonly is not a boolean");
	p->rootfs_ro = json_is_true(ro);
	if (path[0] == '/')
		p->rootfs = strdup(path);
	else if (asprintf(&p->rootfs, "%s/%s", bundle, path) < 0)
		p->rootfs = NULL;
	return p->rootfs ? 0 : spec_fail(err, errlen, -ENOMEM, "out of memory");
}

static int spec_annotations(const json_t *ann, struct ocispec_plan *p, char *err, size_t errlen)
{
	const char *k;
	json_t *v;

	if (ann && !json_is_object(ann))
		return spec_fail(err, errlen, -EINVAL, "annotations is not an object");
	json_object_foreach((json_t *)ann, k, v) {
		char what[96];
		snprintf(what, sizeof(what), "annotations[\"%.64s\"]", k);
		if (!spec_str(v, what, false, err, errlen))
			return -EINVAL;
	}
	const json_t *type = json_object_get(ann, "io.kubernetes.cri.container-type");
	p->sandbox = json_is_string(type) && strcmp(json_string_value(type), "sandbox") == 0;
	p->annotations = ann ? json_dumps(ann, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
	return p->annotations ? 0 : spec_fail(err, errlen, -ENOMEM, "out of memory");
}

int ocispec_parse(const char *text, size_t len, const char *bundle, struct ocispec_plan *plan, char *err,
		  size_t errlen)
{
	json_error_t jerr;
	json_t *root;
	int rc;

	memset(plan, 0, sizeof(*plan));
	if (len > OCISPEC_CONFIG_MAX)
		return spec_fail(err, errlen, -E2BIG, "%zu bytes, more than the %u accepted", len, OCISPEC_CONFIG_MAX);
	/* Duplicate keys would let two readers of one config see two different programs. */
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return spec_fail(err, errlen, -EINVAL, "malformed JSON at line %d column %d: %s", jerr.line, jerr.column,
				 jerr.text);
	if (!json_is_object(root)) {
		rc = spec_fail(err, errlen, -EINVAL, "not a JSON object");
		goto out;
	}
	const json_t *ver = json_object_get(root, "ociVersion");
	if (ver && !spec_str(ver, "ociVersion", true, err, errlen)) {
		rc = -EINVAL;
		goto out;
	}
	const json_t *linux_ = json_object_get(root, "linux");
	if (linux_ && !json_is_object(linux_)) {
		rc = spec_fail(err, errlen, -EINVAL, "linux is not an object");
		goto out;
	}
	if ((rc = spec_process(json_object_get(root, "process"), plan, err, errlen)) ||
	    (rc = spec_root(json_object_get(root, "root"), bundle, plan, err, errlen)) ||
	    (rc = spec_mounts(json_object_get(root, "mounts"), plan, err, errlen)) ||
	    (rc = spec_memory(linux_, plan, err, errlen)) ||
	    (rc = spec_namespaces(linux_, plan, err, errlen)) ||
	    (rc = spec_cgroup(linux_, plan, err, errlen)) ||
	    (rc = spec_annotations(json_object_get(root, "annotations"), plan, err, errlen)))
		goto out;
out:
	json_decref(root);
	if (rc)
		ocispec_free(plan);
	return rc;
}

int ocispec_load(const char *bundle, struct ocispec_plan *plan, char *err, size_t errlen)
{
	char path[4200];
	struct stat st;
	char *buf = NULL;
	ssize_t got;
	int fd, rc;

	memset(plan, 0, sizeof(*plan));
	if ((size_t)snprintf(path, sizeof(path), "%s/config.json", bundle) >= sizeof(path))
		return spec_fail(err, errlen, -ENAMETOOLONG, "bundle path too long");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return spec_fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		rc = spec_fail(err, errlen, -EINVAL, "%s: not a regular file", path);
		goto out;
	}
	if (st.st_size > OCISPEC_CONFIG_MAX) {
		rc = spec_fail(err, errlen, -E2BIG, "%lld bytes, more than the %u accepted", (long long)st.st_size,
			       OCISPEC_CONFIG_MAX);
		goto out;
	}
	/* One byte more than allowed: a file that grew since fstat is caught by the size check in parse. */
	buf = malloc(OCISPEC_CONFIG_MAX + 1);
	if (!buf) {
		rc = spec_fail(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	size_t len = 0;
	while (len < OCISPEC_CONFIG_MAX + 1 && (got = read(fd, buf + len, OCISPEC_CONFIG_MAX + 1 - len)) != 0) {
		if (got < 0) {
			rc = spec_fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
			goto out;
		}
		len += (size_t)got;
	}
	rc = ocispec_parse(buf, len, bundle, plan, err, errlen);
out:
	free(buf);
	close(fd);
	return rc;
}

const char *ocispec_getenv(char *const *env, const char *name)
{
	size_t n = strlen(name);
	const char *v = NULL;

	for (; env && *env; env++)
		if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
			v = *env + n + 1;
	return v;
}

static void spec_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void ocispec_free(struct ocispec_plan *p)
{
	spec_strv_free(p->args, p->nargs);
	spec_strv_free(p->env, p->nenv);
	spec_strv_free(p->hidden, p->nhidden);
	for (size_t i = 0; i < p->nbinds; i++) {
		free(p->binds[i].src);
		free(p->binds[i].dest);
	}
	free(p->binds);
	free(p->rootfs);
	free(p->cwd);
	free(p->annotations);
	free(p->netns);
	free(p->cgroup);
	memset(p, 0, sizeof(*p));
}
