/* fs.h: the guest's in-memory VFS (guest/fs), shared by the file syscalls in guest/sys/sys_fs*.c. */
#ifndef FS_H
#define FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "linux_fs_abi.h"

#define FS_MAX_FDS   1024
#define FS_PIPE_SIZE (64u * 1024)
#define FS_MAX_FILE  (1ull << 40) /* a write past this is -EFBIG: keeps every offset sum far from overflow */
#define FS_BLKSIZE   4096
#define FS_MAX_LINKS 40 /* symbolic links one path resolution may follow (Linux MAXSYMLINKS): more is -ELOOP */

/* st_dev of the kernel's internal file systems (Linux's are anonymous mounts too): statfs tells them apart by it. */
#define FS_DEV_SOCK LINUX_MKDEV(0, 8)
#define FS_DEV_PIPE LINUX_MKDEV(0, 12)
#define FS_DEV_ANON LINUX_MKDEV(0, 13)
#define FS_DEV_PROC LINUX_MKDEV(0, 20) /* /proc and /sys (guest/fs/procfs.c): nodes of the one tree, file systems of their own */
#define FS_DEV_SYS  LINUX_MKDEV(0, 21)

struct fs_pipe;
struct fs_file;
struct iovec;

/* The file's readiness (poll(2) revents bits, <asm-generic/poll.h> values) when an ops table has no poll hook. */
#define FS_POLL_DEFAULT (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM)

/* What a kind of file can do beyond read and write (struct fs_file_ops.caps). */
#define FS_CAP_PIO    1u /* pread/pwrite at an offset (others: -ESPIPE) */
#define FS_CAP_MMAP   2u /* mmap by copy through fs_fd_pread */
#define FS_CAP_GATHER 4u /* writev gathers its vector into one write: one exit per console writev, no torn pipe write */
#define FS_CAP_INPUT  8u /* its input comes from outside the VM (fd 0, an inet socket): waiting on it is idle (K_WAIT_INPUT) */

/*
 * What an open file does, one table per kind of file (regular file,
 * directory, pipe, console, null/zero/random, disk; later sockets, eventfd,
 * timerfd, epoll). fs_file_new copies the node's table into the file; the
 * VFS never looks at the file's type. The VFS has checked O_PATH, the access
 * mode and the app's memory before a hook runs; a NULL hook has the
 * documented default.
 */
struct fs_file_ops {
	uint32_t caps; /* FS_CAP_* */
	/* An anonymous file's kind as Linux names it in /proc/self/fd ("[eventfd]"); NULL for others. */
	const char *anon_name;
	/* read(2)/pread(2): off NULL means the file offset (the hook advances it). Bytes or -errno. NULL: -EINVAL. */
	long (*read)(struct fs_file *f, void *buf, size_t len, uint64_t *off);
	/* write(2)/pwrite(2), same conventions. NULL: -EINVAL. */
	long (*write)(struct fs_file *f, const void *buf, size_t len, uint64_t *off);
	/* lseek(2): the new offset or -errno. NULL: -ESPIPE (a stream). */
	long (*lseek)(struct fs_file *f, int64_t off, int whence);
	/* ioctl(2) requests the VFS does not handle itself (FIOCLEX, FIONCLEX, FIONBIO). NULL: -ENOTTY. */
	long (*ioctl)(struct fs_file *f, unsigned long req, long arg);
	/* fsync(2)/fdatasync(2): 0 or -errno. NULL: -EINVAL (Linux's answer for pipes and ttys). */
	int (*fsync)(struct fs_file *f);
	/*
	 * Readiness for poll/select (and epoll later): the POLL* bits that hold
	 * now, and in *key the wait key (guest/include/wait.h) that is woken
	 * whenever they may change. NULL: always FS_POLL_DEFAULT, never changes.
	 */
	uint32_t (*poll)(struct fs_file *f, const void **key);
	/*
	 * open(2) made f (not pipe(2) or an anonymous file): may block (a FIFO
	 * waits for its other end). On an error it has undone what it did, and
	 * the VFS frees f without calling release. NULL: nothing to do.
	 */
	int (*open)(struct fs_file *f);
	/*
	 * f was opened through /proc/self/fd/N from old, fd N's file on the same
	 * node: takes what old's open chose (the console's stream). NULL: nothing.
	 */
	void (*reopen)(struct fs_file *f, const struct fs_file *old);
	/* The last reference to the open file is going (close of the last fd that shares it). NULL: nothing to do. */
	void (*release)(struct fs_file *f);
	/*
	 * readv(2)/writev(2) as ONE transfer over the checked vector (total: its bytes, capped): a
	 * socket receives or sends one datagram per call, as Linux. NULL: element by element.
	 */
	long (*rwv)(struct fs_file *f, const struct iovec *iov, size_t cnt, size_t total, bool wr);
};

/* A character device: its name under /dev, its number, and its file operations. */
struct fs_dev {
	const char *name;  /* under /dev */
	uint32_t major, minor;
	const struct fs_file_ops *fops;
};

struct fs_dirent {
	char *name;
	struct fs_node *node;
};

/* An inode. Freed when no directory names it (nlink 0) and nothing holds it (refs 0). */
struct fs_node {
	uint32_t mode;  /* S_IFxxx | permissions */
	uint32_t nlink; /* names in directories (hard links) */
	uint32_t refs;  /* open files, cwd */
	uint64_t ino;
	uint32_t uid, gid; /* owner: 0 (root, the only user) unless chown()ed */
	uint64_t atime, mtime, ctime; /* ns since the epoch */
	/*
	 * S_IFREG: data is the archive's bytes (borrowed, read-only) until the
	 * first write; then the file's own pages (guest/fs/regdata.c): pg[i] is
	 * page i's address (0: a hole) with its mapping count in the low bits.
	 */
	uint8_t *data;
	uint64_t size;
	bool borrowed;
	uint64_t *pg, npg;
	/* S_IFDIR */
	struct fs_node *parent; /* NULL for / and for removed directories */
	struct fs_dirent *ents;
	uint32_t nents, ents_cap;
	/* S_IFLNK: the target, NUL-terminated (size is its length) */
	char *link;
	/* A magic link (procfs: /proc/self/exe, fd/N): following it lands on this node (referenced), whatever link says. */
	struct fs_node *jump;
	int jump_fd; /* fd/N: N + 1, so an open through it can take what fd N's open chose (fs_file_ops.reopen); 0: none */
	/* S_IFDIR made when looked at (procfs: fd/): remakes the entries before a lookup or a listing from the start. */
	void (*refresh)(struct fs_node *dir);
	/* S_IFDIR whose names only the kernel makes (/proc, /sys): a new name is -ENOENT, removing one -EPERM. */
	bool fixed;
	/* S_IFCHR / S_IFBLK / S_IFIFO */
	const struct fs_dev *dev;
	struct fs_pipe *pipe;
	/* st_dev of the file system it lives in: 0 (the memory file system) or an FS_DEV_*. */
	uint64_t st_dev;
	/* What files opened on this node do (Linux's inode->i_fop). */
	const struct fs_file_ops *fops;
	/* S_IFSOCK: the socket it is or names (guest/net, sock.h); NULL once that socket is closed. */
	void *priv;
};

/* An open file description, shared by dup()ed fds. */
struct fs_file {
	const struct fs_file_ops *ops; /* the node's, from fs_file_new */
	struct fs_node *node;
	uint64_t off;
	uint32_t flags; /* O_ACCMODE, O_APPEND, O_NONBLOCK, O_PATH ... as opened (creation flags dropped) */
	uint32_t refs;
	void *priv;                /* what an anonymous file keeps (an epoll instance, an eventfd counter, a timer) */
	struct ep_item *ep_items;  /* the epoll items watching this description (guest/fs/epoll.c) */
};

extern struct fs_node *fs_root;
extern struct fs_node *fs_cwd;
extern uint32_t fs_umask;

/* ---- nodes (guest/fs/node.c) ---- */

/* A new unnamed node with mode, file operations, a unique inode number and current times; NULL when out of memory. */
struct fs_node *fs_node_new(uint32_t mode, const struct fs_file_ops *fops);
/* A new memory file / directory (mode includes S_IFREG / S_IFDIR) with their operations; NULL when out of memory. */
struct fs_node *fs_reg_new(uint32_t mode);
struct fs_node *fs_dir_new(uint32_t mode);
/* Takes / drops a reference; the last drop of an unnamed node frees it. */
void fs_node_get(struct fs_node *n);
void fs_node_put(struct fs_node *n);
/* Frees a node and, for a directory, its whole subtree, ignoring references (fs_reset only). */
void fs_node_destroy(struct fs_node *n);
/* Sets mtime and ctime to now. */
void fs_node_touch(struct fs_node *n);
static inline bool fs_is_dir(const struct fs_node *n)
{
	return (n->mode & S_IFMT) == S_IFDIR;
}
static inline bool fs_is_link(const struct fs_node *n)
{
	return (n->mode & S_IFMT) == S_IFLNK;
}
/* A new symbolic link (mode 0777, as Linux's) to target[0..len), len 1..PATH_MAX-1; NULL when out of memory. */
struct fs_node *fs_symlink_new(const char *target, size_t len);

/* The child of dir called name[0..len) or NULL (a directory with a refresh hook is remade first). */
struct fs_node *fs_dir_find(struct fs_node *dir, const char *name, size_t len);
/* Links child into dir under name[0..len): 0, -EEXIST, -ENAMETOOLONG, -ENOMEM. */
int fs_dir_add(struct fs_node *dir, const char *name, size_t len, struct fs_node *child);
/* Unlinks child from dir (frees it when unreferenced): 0 or -ENOENT. */
int fs_dir_remove(struct fs_node *dir, struct fs_node *child);
/* The name under which dir holds child, or NULL. */
const char *fs_dir_name_of(const struct fs_node *dir, const struct fs_node *child);
/* st_nlink as Linux reports it (2 + subdirectories for a directory). */
uint64_t fs_node_nlink(const struct fs_node *n);

/* Regular-file data. read: bytes copied (0 at/after EOF). write: bytes or -EFBIG/-ENOSPC. */
long fs_reg_read(struct fs_node *n, void *buf, size_t len, uint64_t off);
long fs_reg_write(struct fs_node *n, const void *buf, size_t len, uint64_t off);
/* Sets the size (zero-filling growth): 0, -EFBIG, -ENOSPC. */
int fs_reg_truncate(struct fs_node *n, uint64_t size);
/* True for a file of the memory file system (its data in guest/fs/regdata.c): what MAP_SHARED can map. */
bool fs_reg_is_mem(const struct fs_node *n);
/* Frees a memory file's pages (the node is going). */
void fs_reg_release(struct fs_node *n);
/* Pages the file's data occupies (holes take none). */
uint64_t fs_reg_blocks(const struct fs_node *n);
/*
 * Shared mappings (guest/sys/sys_mm.c) of file pages [pgoff, pgoff + np),
 * which may lie past EOF. fs_reg_map pins them as one contiguous run and
 * returns its address: want 0 takes them where they are (moved into a fresh
 * run when they are not contiguous), else want is a run of zeroed kernel
 * pages (k_pages) the caller hands over to hold them. 0, -EOVERFLOW, or
 * -ENOMEM (out of memory, or the run must move and part of it is mapped).
 */
int fs_reg_map(struct fs_node *n, uint64_t pgoff, uint64_t np, uint64_t want, uint64_t *addr);
/* Drops one mapping of pages [pgoff, pgoff + np). */
void fs_reg_unmap(struct fs_node *n, uint64_t pgoff, uint64_t np);
/* Where pages [pgoff, pgoff + np) already are as one contiguous run, or 0. */
uint64_t fs_reg_where(const struct fs_node *n, uint64_t pgoff, uint64_t np);

/* ---- paths (guest/fs/path.c) ---- */

/*
 * Resolves path (a kernel string, already length-checked) from start (used
 * when path is relative), following symbolic links (at most FS_MAX_LINKS in
 * all). A trailing slash requires a directory. 0 and *out, or -ENOENT,
 * -ENOTDIR, -ENAMETOOLONG, -ELOOP.
 */
int fs_lookup(struct fs_node *start, const char *path, struct fs_node **out);
/* The same, except that a symbolic link as the last component is the result (lstat), unless a slash follows it. */
int fs_lookup_nofollow(struct fs_node *start, const char *path, struct fs_node **out);
/* fs_lookup_nofollow or fs_lookup (follow), and in *via the open file a last /proc/self/fd/N link stood for (else NULL). */
int fs_lookup_via(struct fs_node *start, const char *path, bool follow, struct fs_node **out, struct fs_file **via);
/* A path's last component and the directory that would hold it. */
struct fs_last {
	struct fs_node *dir;
	const char *name; /* len bytes inside the path (not NUL-terminated); "" for "/" */
	size_t len;
	bool slash;       /* it had a trailing slash */
};
/* Resolves all but the last component into *out (the last is never followed). Same errors as fs_lookup. */
int fs_lookup_parent(struct fs_node *start, const char *path, struct fs_last *out);
/*
 * Splits the next component off *p (a path position): skips slashes, sets
 * comp[0..len) and moves *p just past it. True when it is the last one
 * (only slashes follow; len is 0 only for a path of nothing but slashes).
 */
bool fs_path_next(const char **p, const char **comp, size_t *len);
/* True for the names "." and "..". */
bool fs_name_is_dot(const char *name, size_t len);
/* Writes the absolute path of dir (NUL-terminated) into buf: its length incl. NUL, -ERANGE, -ENOENT (removed). */
long fs_path_of(const struct fs_node *dir, char *buf, size_t size);
/*
 * Writes an absolute path of any node (the first name found for a file with
 * several) into buf: its length incl. NUL, -ERANGE, -ENOENT (no directory
 * holds it). Walks the whole tree for a non-directory: for /proc's links.
 */
long fs_node_path(const struct fs_node *n, char *buf, size_t size);
/* True when a is d or inside d's subtree. */
bool fs_is_ancestor(const struct fs_node *d, const struct fs_node *a);

/* ---- open files and the fd table (guest/fs/file.c) ---- */

/* A new open description of node (takes a node reference); NULL when out of memory. */
struct fs_file *fs_file_new(struct fs_node *node, uint32_t flags);
/* fs_file_new for open(2), then the ops' open hook (which may block): 0 and *out, -ENOMEM, or the hook's error. */
int fs_file_open(struct fs_node *node, uint32_t flags, struct fs_file **out);
void fs_file_get(struct fs_file *f);
/* Drops a reference; the last one closes (pipe ends, node reference). */
void fs_file_put(struct fs_file *f);
/* RLIMIT_NOFILE's soft limit: fs_fd_install and fs_fd_dup2 give no fd at or above n (capped at FS_MAX_FDS). */
void fs_fd_set_limit(uint64_t n);
/* That limit as the fd table applies it (at most FS_MAX_FDS). */
int fs_fd_limit(void);

/* Installs f at the lowest free fd >= min (takes f's reference on success): fd or -EMFILE / -EINVAL. */
int fs_fd_install(struct fs_file *f, int min, bool cloexec);
/*
 * Claims the lowest free fd >= min for an open that may block (Linux
 * allocates the fd first, so a thread opening meanwhile gets the next one):
 * fd or -EMFILE / -EINVAL. Until fs_fd_commit the fd has no file.
 */
int fs_fd_reserve(int min);
/* Fills a reserved fd with f (taking f's reference), or frees it when f is NULL. */
void fs_fd_commit(int fd, struct fs_file *f, bool cloexec);
/* The description at fd or NULL (no reference taken). */
struct fs_file *fs_fd_file(int fd);
/* Closes fd: 0 or -EBADF. */
int fs_fd_close(int fd);
/* Makes newfd refer to oldfd's description (closing newfd first): newfd or -EBADF. */
int fs_fd_dup2(int oldfd, int newfd, bool cloexec);
/* FD_CLOEXEC of fd: 0/1, or -EBADF; set returns 0 or -EBADF. */
int fs_fd_cloexec(int fd);
int fs_fd_set_cloexec(int fd, bool on);
/* Closes every fd (fs_reset). */
void fs_fd_close_all(void);

/*
 * I/O on an open description into/out of kernel-checked memory. off NULL
 * means the description's offset (advanced; O_APPEND honoured); otherwise a
 * positional transfer (-ESPIPE on pipes and character devices). Bytes or -errno.
 */
long fs_file_read(struct fs_file *f, void *buf, size_t len, uint64_t *off);
long fs_file_write(struct fs_file *f, const void *buf, size_t len, uint64_t *off);
/* lseek(2) on f: the new offset, -ESPIPE (a stream), -EINVAL. */
long fs_file_lseek(struct fs_file *f, int64_t off, int whence);
/* ioctl(2) through f's operations: -ENOTTY when it has none. */
long fs_file_ioctl(struct fs_file *f, unsigned long req, long arg);
/* fsync(2) through f's operations: 0, -EINVAL (cannot be synced), -EIO. */
int fs_file_fsync(struct fs_file *f);
/* f's POLL* readiness now, and in *key (may be NULL) the wait key woken when it may change (NULL: never changes). */
uint32_t fs_file_poll(struct fs_file *f, const void **key);
/*
 * A wait on f for events is a wait for input from outside the VM
 * (K_WAIT_INPUT, wait.h): events ask for input (POLLIN, POLLRDNORM,
 * POLLPRI) and f is such a file (FS_CAP_INPUT) or an epoll instance that
 * watches one for input, directly or through nested instances
 * (guest/fs/epoll.c).
 */
bool fs_file_awaits_input(const struct fs_file *f, uint32_t events);
/*
 * The usual lseek(2) arithmetic, for ops tables: SEEK_SET/CUR/END with end
 * as the file's size, no result past max; sets f->off. The new offset or
 * -EINVAL (bad whence, negative or overflowing result, past max).
 */
long fs_file_seek_to(struct fs_file *f, int64_t off, int whence, uint64_t end, uint64_t max);

/* Checks an app path argument (at most PATH_MAX incl. NUL): 0 and *out, -EFAULT, -ENAMETOOLONG. */
int fs_user_path(long uptr, const char **out);

/* The node a dirfd names, whatever its type: cwd for AT_FDCWD; 0 or -EBADF. */
int fs_dirfd_node(long dirfd, struct fs_node **out);

/* The directory a *at() call starts from: cwd for AT_FDCWD or an absolute path; 0, -EBADF, -ENOTDIR. */
int fs_at_start(int dirfd, const char *path, struct fs_node **start);
/* Both for a *at() call's (dirfd, path) arguments: 0 and *path, *start, or the first error of either. */
int fs_user_at(long dirfd, long upath, const char **path, struct fs_node **start);

/* ---- devices (guest/fs/dev.c) ---- */

/* Creates /dev with console, null, zero, random, urandom: 0 or -errno. */
int fs_dev_init(void);
/* ---- boot-time files under /etc (guest/fs/etcfile.c) ---- */

/*
 * Creates /etc/<name> holding text[0, len), and /etc itself when missing,
 * unless the image brought one (its copy wins). 0, 1 (the image has one) or -errno.
 */
int fs_etc_create(const char *name, const char *text, size_t len);
/* /etc/passwd and /etc/group with root and nobody, unless the image has them; failures are reported, not fatal. */
void fs_etc_users(void);

/* The console node (stdin/stdout/stderr), valid after fs_dev_init. */
struct fs_node *fs_dev_console(void);
/* A new open file on the console for stream 0 (stdin), 1 (stdout) or 2 (stderr), O_RDWR; NULL when out of memory. */
struct fs_file *fs_dev_console_open(unsigned stream);
/* What the host's fd behind the app's fd 0, 1 or 2 is (from the FDT). */
struct fs_console_tty {
	bool tty;
	uint16_t rows, cols; /* window size at boot; 0 0 when unknown */
};
/* Records stream's terminal state; boot calls it before fs_init. */
void fs_dev_console_tty(unsigned stream, const struct fs_console_tty *t);

/* ---- /proc and /sys (guest/fs/procfs.c) ---- */

/* Makes /proc and /sys unless the image brought its own (fs_init, after the archive): 0 or -ENOMEM. */
int fs_proc_init(void);
/*
 * /proc/net/sockstat's text: the network stack sets this at its start
 * (net_init: net_sockstat), so the file system needs no network; it writes
 * at most size bytes into buf (NUL-terminated) and returns the length.
 * NULL: the file is empty.
 */
extern int (*fs_proc_sockstat)(char *buf, size_t size);

/* ---- anonymous files (guest/fs/anon.c) ---- */

/*
 * A new file on no directory, like Linux's anon_inode_getfd: a node of mode
 * with ops, an open description (flags: O_ACCMODE | O_NONBLOCK) whose priv
 * is priv, installed at the lowest free fd. The fd, or -ENOMEM / -EMFILE
 * (then nothing is left behind and priv is the caller's to free).
 */
int fs_anon_fd(uint32_t mode, const struct fs_file_ops *ops, void *priv, uint32_t flags, bool cloexec);

/* ---- pipes (guest/fs/pipe.c) ---- */

/* A pipe: its read and write ends (flags: O_NONBLOCK may be set). 0 or -ENOMEM. */
int fs_pipe_new(uint32_t flags, struct fs_file **rd, struct fs_file **wr);
/* A new named pipe (mkfifo) node of mode (S_IFIFO | permissions); NULL when out of memory. */
struct fs_node *fs_fifo_new(uint32_t mode);
/* F_GETPIPE_SZ: the capacity of f's pipe, or -EBADF when f is no pipe. */
long fs_pipe_size(const struct fs_file *f);

/* ---- archive (guest/fs/archive.c) ---- */

/* Drops the whole tree and every fd (unit tests; fs_init may run again). */
void fs_reset(void);

#endif
