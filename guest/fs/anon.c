/* anon.c: files on no directory (Linux's anon_inodes): epoll instances, eventfds, timerfds. */
#include "k.h"
#include "fs.h"


/* What a description is until it is installed: its kind's release must not run on a priv it does not own yet. */
static const struct fs_file_ops anon_unborn;

int fs_anon_fd(uint32_t mode, const struct fs_file_ops *ops, void *priv, uint32_t flags, bool cloexec)
{
	struct fs_node *n = fs_node_new(mode, ops);
	if (!n)
		return -ENOMEM;
	n->st_dev = FS_DEV_ANON;
	struct fs_file *f = fs_file_new(n, flags);
	if (!f) {
		k_free(n);
		return -ENOMEM;
	}
	int fd = fs_fd_install(f, 0, cloexec);
	if (fd < 0) {
		f->ops = &anon_unborn;
		fs_file_put(f);
		return fd;
	}
	f->priv = priv;
	return fd;
}
