/* archive.c: builds / from the payload's file records (files, directories, symbolic links) (proto/ukvm_abi.h) and opens stdin/stdout/stderr; fs_reset. */
#include <string.h>
#include "k.h"
#include "fs.h"
#include "sys.h"
#include "ukvm_abi.h"

uint32_t fs_umask = 022;

/*
 * Record layout as read here: struct ukvm_file_rec, then name_len bytes of
 * name (NUL included), then size bytes of data immediately after the name;
 * the next record starts at the following multiple of 8 (offsets counted
 * from the start of the archive). The last record may omit its padding.
 */
#define ARCH_ALIGN 8

/* Finds or creates (mode 0755) the directory name[0..len) in dir; -EINVAL if a non-directory is in the way. */
static int arch_subdir(struct fs_node *dir, const char *name, size_t len, struct fs_node **out)
{
	struct fs_node *n = fs_dir_find(dir, name, len);
	if (n) {
		if (!fs_is_dir(n))
			return -EINVAL;
		*out = n;
		return 0;
	}
	n = fs_dir_new(S_IFDIR | 0755);
	if (!n)
		return -ENOMEM;
	int rc = fs_dir_add(dir, name, len, n);
	if (rc) {
		fs_node_destroy(n);
		return rc;
	}
	*out = n;
	return 0;
}

/* Adds one validated record: path is NUL-terminated and absolute. */
static int arch_add(const char *path, uint32_t mode, const uint8_t *data, uint64_t size)
{
	struct fs_node *dir = fs_root;
	const char *p = path, *comp;
	size_t len;
	for (;;) {
		bool last = fs_path_next(&p, &comp, &len);
		if (len == 0) {
			/* "/" itself: only a directory record, which sets the root's mode. */
			if ((mode & S_IFMT) != S_IFDIR)
				return -EINVAL;
			fs_root->mode = mode;
			return 0;
		}
		if (len > LINUX_NAME_MAX)
			return -EINVAL;
		/* "." and ".." would let a record name a node outside its stated path. */
		if (fs_name_is_dot(comp, len))
			return -EINVAL;
		if (!last) {
			int rc = arch_subdir(dir, comp, len, &dir);
			if (rc)
				return rc;
			continue;
		}
		struct fs_node *n = fs_dir_find(dir, comp, len);
		if (n) {
			/* A directory record may follow files inside it (auto-created); anything else is a duplicate. */
			if (!fs_is_dir(n) || (mode & S_IFMT) != S_IFDIR)
				return -EINVAL;
			n->mode = mode;
			return 0;
		}
		uint32_t type = mode & S_IFMT;
		n = type == S_IFDIR ? fs_dir_new(mode)
		    : type == S_IFLNK ? fs_symlink_new((const char *)data, (size_t)size)
				      : fs_reg_new(mode);
		if (!n)
			return -ENOMEM;
		if ((mode & S_IFMT) == S_IFREG) {
			/* Borrowed: the payload stays mapped; the first write copies (fs_reg_write). */
			n->data = (uint8_t *)(uintptr_t)data;
			n->size = size;
			n->borrowed = true;
		}
		int rc = fs_dir_add(dir, comp, len, n);
		if (rc) {
			fs_node_destroy(n);
			return rc;
		}
		return 0;
	}
}

static int arch_parse(const uint8_t *base, size_t size)
{
	size_t off = 0;
	while (off < size) {
		struct ukvm_file_rec rec;
		if (size - off < sizeof(rec))
			return -EINVAL;
		memcpy(&rec, base + off, sizeof(rec));
		size_t name_off = off + sizeof(rec);
		/* Shortest name is "/" + NUL; longest is PATH_MAX incl. NUL. */
		if (rec.name_len < 2 || rec.name_len > LINUX_PATH_MAX || rec.name_len > size - name_off)
			return -EINVAL;
		const char *name = (const char *)base + name_off;
		if (name[rec.name_len - 1] != '\0' || strlen(name) != rec.name_len - 1 || name[0] != '/')
			return -EINVAL;
		size_t data_off = name_off + rec.name_len;
		if (rec.size > size - data_off)
			return -EINVAL;
		uint32_t type = rec.mode & S_IFMT;
		if ((type != S_IFREG && type != S_IFDIR && type != S_IFLNK) || (rec.mode & ~(uint32_t)(S_IFMT | 07777)))
			return -EINVAL;
		if (type == S_IFDIR && rec.size != 0)
			return -EINVAL;
		/* A link's target: what symlink(2) would take (no NUL inside, shorter than PATH_MAX). */
		if (type == S_IFLNK && (rec.size == 0 || rec.size >= LINUX_PATH_MAX || memchr(base + data_off, 0, rec.size)))
			return -EINVAL;
		/* "/f/" names a directory: a file by that name could never be opened by it (fuzz_payload). */
		if (type != S_IFDIR && name[rec.name_len - 2] == '/')
			return -EINVAL;
		int rc = arch_add(name, rec.mode, base + data_off, rec.size);
		if (rc)
			return rc == -ENOMEM ? rc : -EINVAL;
		size_t end = data_off + (size_t)rec.size;
		size_t pad = (ARCH_ALIGN - end % ARCH_ALIGN) % ARCH_ALIGN;
		if (pad > size - end)
			pad = size - end; /* the last record may end unpadded */
		off = end + pad;
	}
	return 0;
}

static int fs_open_stdio(void)
{
	/* One description per stream: fd 1 and fd 2 go to different host fds (guest/fs/dev.c). */
	for (unsigned i = 0; i < 3; i++) {
		struct fs_file *f = fs_dev_console_open(i);
		if (!f)
			return -ENOMEM;
		int fd = fs_fd_install(f, 0, false);
		if (fd != (int)i) {
			fs_file_put(f);
			return fd < 0 ? fd : -EBUSY;
		}
	}
	return 0;
}

int fs_init(const void *files, size_t size)
{
	int rc;
	if (fs_root)
		return -EBUSY;
	if (size && !files)
		return -EINVAL;
	fs_root = fs_dir_new(S_IFDIR | 0755);
	if (!fs_root)
		return -ENOMEM;
	fs_root->nlink = 1;
	fs_cwd = fs_root;
	fs_node_get(fs_cwd);
	fs_umask = 022;
	rc = fs_dev_init();
	if (rc)
		goto err;
	struct fs_node *tmp;
	rc = arch_subdir(fs_root, "tmp", 3, &tmp);
	if (rc)
		goto err;
	tmp->mode = S_IFDIR | 01777;
	rc = arch_parse(files, size);
	if (rc)
		goto err;
	rc = fs_proc_init();
	if (rc)
		goto err;
	rc = fs_open_stdio();
	if (rc)
		goto err;
	return 0;
err:
	fs_reset();
	return rc;
}

void fs_reset(void)
{
	fs_fd_close_all();
	if (fs_cwd)
		fs_node_put(fs_cwd);
	if (fs_root)
		fs_node_destroy(fs_root);
	fs_root = NULL;
	fs_cwd = NULL;
	fs_umask = 022;
}
