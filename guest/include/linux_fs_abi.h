/* linux_fs_abi.h: the Linux x86-64 file ABI (flags, errno, struct stat/statx/dirent64/termios) from uapi headers plus what uapi lacks. */
#ifndef LINUX_FS_ABI_H
#define LINUX_FS_ABI_H

#include <stdint.h>
#include <asm-generic/errno.h>
#include <linux/fcntl.h>
#include <linux/stat.h>
#include <asm/stat.h>
#include <asm/termbits.h>
#include <asm/ioctls.h>
#include <linux/uio.h>
#include <asm/poll.h> /* POLLIN ..., struct pollfd */

/* <linux/stat.h> hides these when glibc headers came first (host unit tests). */
#ifndef S_IFMT
#define S_IFMT   00170000
#define S_IFSOCK 0140000
#define S_IFLNK  0120000
#define S_IFREG  0100000
#define S_IFBLK  0060000
#define S_IFDIR  0040000
#define S_IFCHR  0020000
#define S_IFIFO  0010000
#define S_ISUID  0004000
#define S_ISGID  0002000
#define S_ISVTX  0001000
#endif

/* <unistd.h> values, not in uapi (guarded: the host test files may see libc's too). */
#ifndef F_OK
#define F_OK 0
#define X_OK 1
#define W_OK 2
#define R_OK 4
#endif
#ifndef SEEK_SET
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2
#endif
#ifndef SEEK_DATA
#define SEEK_DATA 3
#define SEEK_HOLE 4
#endif

/* include/linux/dirent.h is not uapi: the getdents64 record, d_reclen aligned to 8. */
struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	uint16_t d_reclen;
	uint8_t d_type;
	char d_name[];
};
#define LINUX_DT_FIFO 1
#define LINUX_DT_CHR  2
#define LINUX_DT_DIR  4
#define LINUX_DT_REG  8

/* struct winsize lives in <asm-generic/termios.h>, which clashes with glibc's termios on the host. */
struct linux_winsize {
	uint16_t ws_row, ws_col, ws_xpixel, ws_ypixel;
};

/* Linux new_encode_dev(): what st_rdev / st_dev hold. */
#define LINUX_MKDEV(ma, mi) ((((uint64_t)(mi)) & 0xff) | (((uint64_t)(ma)) << 8) | ((((uint64_t)(mi)) & ~0xffull) << 12))

/* struct statfs of <asm-generic/statfs.h> on x86-64 (120 bytes), named apart from libc's in host tests. */
struct lx_statfs {
	long f_type, f_bsize, f_blocks, f_bfree, f_bavail, f_files, f_ffree;
	int f_fsid[2];
	long f_namelen, f_frsize, f_flags, f_spare[4];
};
#define LX_ST_VALID    0x0020 /* f_flags is valid (<linux/statfs.h>, not uapi) */
#define LX_ST_RELATIME 0x0400
#define LX_POSIX_FADV_NOREUSE 5 /* the last fadvise advice (<linux/fadvise.h>) */

#define LINUX_PATH_MAX 4096 /* incl. NUL */
#define LINUX_NAME_MAX 255
#define LINUX_UIO_MAXIOV 1024

#endif
