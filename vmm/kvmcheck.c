/* kvmcheck.c: opens /dev/kvm and says exactly why when it cannot be used. */
#include "kvmcheck.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
	int cap;
	const char *name;
} kvmcheck_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },       /* guest RAM from our mmap */
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },           /* virtio notifications without a user exit */
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" }, /* ukvm_stop before KVM_RUN enters */
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },           /* KVM_GET_SUPPORTED_CPUID */
	{ KVM_CAP_GET_TSC_KHZ, "KVM_CAP_GET_TSC_KHZ" },       /* TSC frequency for the guest clock */
};

int kvmcheck_group_name(const char *group_file, unsigned gid, char *name, size_t len)
{
	FILE *f = fopen(group_file, "re");
	char line[1024];
	int r = -ENOENT;
	if (!f)
		return -ENOENT;
	/* name:password:gid:members; the rest of an over-long line (its member list, no ':') is skipped. */
	while (r && fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL, *end;
		if (!c2 || c1 == line)
			continue;
		errno = 0;
		unsigned long g = strtoul(c2 + 1, &end, 10);
		if (errno || end == c2 + 1 || *end != ':' || g != gid)
			continue;
		snprintf(name, len, "%.*s", (int)(c1 - line), line);
		r = 0;
	}
	fclose(f);
	return r;
}

int kvmcheck_open(const char *dev, char *err, size_t errlen)
{
	int fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		struct stat st;
		if (e == ENOENT)
			snprintf(err, errlen, "%s: not found: this host has no KVM "
				 "(enable virtualization or load kvm_intel/kvm_amd/kvm_pvm)", dev);
		else if ((e == EACCES || e == EPERM) && stat(dev, &st) == 0) {
			char g[64];
			if (st.st_gid != 0 && kvmcheck_group_name("/etc/group", st.st_gid, g, sizeof(g)) == 0)
				snprintf(err, errlen, "%s: permission denied: add yourself to group %s "
					 "(usermod -aG %s $USER, then log in again)", dev, g, g);
			else
				snprintf(err, errlen, "%s: permission denied (owned by gid %u, mode %o)",
					 dev, (unsigned)st.st_gid, (unsigned)(st.st_mode & 0777));
		} else
			snprintf(err, errlen, "%s: cannot open: %s", dev, strerror(e));
		return -e;
	}
	int v = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION) {
		snprintf(err, errlen, "%s: KVM API version %d, ukvm needs %d", dev, v, KVM_API_VERSION);
		close(fd);
		return -ENOTSUP;
	}
	for (size_t i = 0; i < sizeof(kvmcheck_caps) / sizeof(kvmcheck_caps[0]); i++) {
		if (ioctl(fd, KVM_CHECK_EXTENSION, kvmcheck_caps[i].cap) <= 0) {
			snprintf(err, errlen, "%s: missing capability %s", dev, kvmcheck_caps[i].name);
			close(fd);
			return -ENOTSUP;
		}
	}
	return fd;
}
