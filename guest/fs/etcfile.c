/* etcfile.c: files under /etc the kernel makes at boot unless the image brings its own: the shared helper, and passwd/group. */
#include <asm-generic/errno.h>
#include <string.h>

#include "fs.h"
#include "kprintf.h"

int fs_etc_create(const char *name, const char *text, size_t len)
{
	struct fs_node *etc, *n;
	int rc = fs_lookup(fs_root, "/etc", &etc);

	if (rc == -ENOENT) {
		etc = fs_dir_new(S_IFDIR | 0755);
		if (!etc)
			return -ENOMEM;
		rc = fs_dir_add(fs_root, "etc", 3, etc);
		if (rc) {
			fs_node_destroy(etc);
			return rc;
		}
	} else if (rc) {
		return rc;
	}
	if (!fs_is_dir(etc))
		return -ENOTDIR;
	if (fs_dir_find(etc, name, strlen(name)))
		return 1;
	n = fs_reg_new(S_IFREG | 0644);
	if (!n)
		return -ENOMEM;
	long w = fs_reg_write(n, text, len, 0);
	rc = w < 0 ? (int)w : (size_t)w != len ? -ENOSPC : fs_dir_add(etc, name, strlen(name), n);
	if (rc)
		fs_node_destroy(n);
	return rc;
}

/*
 * Debian's entries for root and nobody: getpwnam("root"), getpwuid(0) and
 * servers that drop privileges to nobody (memcached -u nobody) find them.
 */
static const char etc_passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
				 "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
static const char etc_group[] = "root:x:0:\n"
				"nogroup:x:65534:\n";

void fs_etc_users(void)
{
	static const struct {
		const char *name, *text;
		size_t len;
	} files[] = {
		{ "passwd", etc_passwd, sizeof(etc_passwd) - 1 },
		{ "group", etc_group, sizeof(etc_group) - 1 },
	};
	for (unsigned i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		int rc = fs_etc_create(files[i].name, files[i].text, files[i].len);
		if (rc < 0)
			k_printf("ukvm: /etc/%s not created (%d)\n", files[i].name, rc);
	}
}
