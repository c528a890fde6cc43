/* dev.c: the device nodes under /dev: console, null, zero, random, urandom (and the disks, guest/fs/blkdev.c). */
#include <string.h>
#include "k.h"
#include "hypercall.h"
#include "fs.h"
#include "ukvm_abi.h"
#include "blkdev.h"
#include "conin.h"
#include "conout.h"

static struct fs_node *dev_console_node;

/*
 * What the host's fd behind each of the app's fds 0-2 is, from the FDT at
 * boot (proto/ukvm_abi.h ukvm,std*-tty): isatty answers the truth, so
 * `app > file` neither line-buffers stdout nor believes it writes to a
 * terminal. The window size is the one at boot: no SIGWINCH reaches us.
 */
static struct fs_console_tty dev_ttys[3];

/*
 * The console's termios. The host's terminal does the line discipline
 * (echo, canonical lines) with its own modes, so these change nothing, but
 * TCSETS* stores them and TCGETS returns what was stored, so programs that
 * save and restore terminal modes see consistent state.
 */
static struct termios dev_termios;

static void dev_termios_default(void)
{
	memset(&dev_termios, 0, sizeof(dev_termios));
	dev_termios.c_iflag = ICRNL | IXON;
	dev_termios.c_oflag = OPOST | ONLCR;
	dev_termios.c_cflag = B38400 | CS8 | CREAD | HUPCL;
	dev_termios.c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN;
	static const uint8_t cc[] = {
		[VINTR] = 3, [VQUIT] = 28, [VERASE] = 127, [VKILL] = 21, [VEOF] = 4,
		[VMIN] = 1, [VSTART] = 17, [VSTOP] = 19, [VSUSP] = 26, [VREPRINT] = 18,
		[VWERASE] = 23, [VLNEXT] = 22,
	};
	memcpy(dev_termios.c_cc, cc, sizeof(cc));
}

void fs_dev_console_tty(unsigned stream, const struct fs_console_tty *t)
{
	if (stream < 3)
		dev_ttys[stream] = *t;
	if (stream == K_CONSOLE_OUT || stream == K_CONSOLE_ERR)
		fs_conout_buffered(stream, !t->tty); /* a user at a terminal sees each write at once */
	if (stream == 0)
		fs_conin_set_tty(t->tty);
}

/* The stream (0 stdin, 1 stdout, 2 stderr) a console file stands for; /dev/console opened by name is stdout. */
static unsigned dev_console_stream(const struct fs_file *f)
{
	uintptr_t s = (uintptr_t)f->priv;
	return s >= 1 && s <= 3 ? (unsigned)(s - 1) : 1;
}

/* fd 0 reads the host's stdin (guest/fs/conin.c); the output streams read end of file. */
static long dev_console_read(struct fs_file *f, void *buf, size_t len, uint64_t *off)
{
	(void)off;
	if (dev_console_stream(f) != 0)
		return 0;
	return fs_conin_read(buf, len, (f->flags & O_NONBLOCK) != 0);
}

/* fd 0: ready as the host's stdin is; a write to it goes to stdout, as to a terminal opened O_RDWR. */
static uint32_t dev_conin_poll(struct fs_file *f, const void **key)
{
	(void)f;
	return fs_conin_poll(key) | POLLOUT | POLLWRNORM;
}

/* The console's output streams (guest/fs/conout.c): buffered to a file or pipe, one exit per buffer; direct to a terminal. */
static long dev_console_write(struct fs_file *f, const void *buf, size_t len, uint64_t *off)
{
	(void)off;
	return fs_conout_write(dev_console_stream(f) == 2 ? K_CONSOLE_ERR : K_CONSOLE_OUT, buf, len);
}

/*
 * Terminal requests answer like the host's fd: on a file or pipe Linux
 * fails every one of them with ENOTTY, and so do we; FIONREAD is not a
 * terminal request (Linux answers it on pipes too): what fd 0 holds.
 */
static long dev_console_ioctl(struct fs_file *f, unsigned long req, long arg)
{
	const struct fs_console_tty *t = &dev_ttys[dev_console_stream(f)];
	void *p = (void *)arg;
	if (req == FIONREAD) {
		if (!k_user_ok(p, sizeof(int)))
			return -EFAULT;
		*(int *)p = dev_console_stream(f) == 0 ? fs_conin_avail() : 0;
		return 0;
	}
	if (!t->tty)
		return -ENOTTY;
	switch (req) {
	case TIOCGWINSZ: {
		struct linux_winsize ws = { .ws_row = t->rows, .ws_col = t->cols };
		if (!k_user_ok(p, sizeof(ws)))
			return -EFAULT;
		memcpy(p, &ws, sizeof(ws));
		return 0;
	}
	case TIOCSWINSZ:
		return -EINVAL; /* the size is the host terminal's, which we cannot change */
	case TCGETS:
		if (!k_user_ok(p, sizeof(dev_termios)))
			return -EFAULT;
		memcpy(p, &dev_termios, sizeof(dev_termios));
		return 0;
	case TCSETS:
	case TCSETSW:
	case TCSETSF:
		if (!k_user_ok(p, sizeof(dev_termios)))
			return -EFAULT;
		memcpy(&dev_termios, p, sizeof(dev_termios));
		return 0;
	}
	return -ENOTTY;
}

static long dev_null_read(struct fs_file *f, void *buf, size_t len, uint64_t *off)
{
	(void)f, (void)buf, (void)len, (void)off;
	return 0;
}

static long dev_sink_write(struct fs_file *f, const void *buf, size_t len, uint64_t *off)
{
	(void)f, (void)buf, (void)off;
	return (long)len;
}

static long dev_zero_read(struct fs_file *f, void *buf, size_t len, uint64_t *off)
{
	(void)f, (void)off;
	memset(buf, 0, len);
	return (long)len;
}

/* Both random devices read the kernel CSPRNG: it is seeded before the app starts, so neither blocks. */
static long dev_random_read(struct fs_file *f, void *buf, size_t len, uint64_t *off)
{
	(void)f, (void)off;
	k_random_bytes(buf, len);
	return (long)len;
}

/* Like Linux: null, zero and random accept any seek and stay at 0. */
static long dev_seek_nowhere(struct fs_file *f, int64_t off, int whence)
{
	(void)f, (void)off, (void)whence;
	return 0;
}

/*
 * The console is a stream (no lseek: -ESPIPE, as a tty). The output
 * streams have no poll hook: always writable, which is poll's default
 * (and epoll refuses them, as Linux does a file). fd 0 is given its own
 * table when opened (fs_dev_console_open), with the input's readiness.
 */
/* Opened through /proc/self/fd/N (/dev/stdout ...): the same stream as fd N, with its table. */
static void dev_console_reopen(struct fs_file *f, const struct fs_file *old)
{
	f->priv = old->priv;
	f->ops = old->ops;
}

static const struct fs_file_ops dev_console_fops = {
	.caps = FS_CAP_GATHER,
	.read = dev_console_read,
	.write = dev_console_write,
	.ioctl = dev_console_ioctl,
	.reopen = dev_console_reopen,
};

static const struct fs_file_ops dev_conin_fops = {
	.caps = FS_CAP_GATHER | FS_CAP_INPUT, /* a reader waiting on it is idle: a function waiting for its request */
	.read = dev_console_read,
	.write = dev_console_write,
	.ioctl = dev_console_ioctl,
	.poll = dev_conin_poll,
	.reopen = dev_console_reopen,
};

#define DEV_FOPS(name, rd)                                                                                          \
	static const struct fs_file_ops name = {                                                                    \
		.caps = FS_CAP_GATHER, .read = rd, .write = dev_sink_write, .lseek = dev_seek_nowhere,              \
	}
DEV_FOPS(dev_null_fops, dev_null_read);
DEV_FOPS(dev_zero_fops, dev_zero_read);
DEV_FOPS(dev_random_fops, dev_random_read);

static const struct fs_dev dev_table[] = {
	{ "console", 5, 1, &dev_console_fops },
	{ "null", 1, 3, &dev_null_fops },
	{ "zero", 1, 5, &dev_zero_fops },
	{ "random", 1, 8, &dev_random_fops },
	{ "urandom", 1, 9, &dev_random_fops },
};

int fs_dev_init(void)
{
	struct fs_node *dir = fs_dir_find(fs_root, "dev", 3);
	int rc;
	dev_termios_default();
	if (!dir) {
		dir = fs_dir_new(S_IFDIR | 0755);
		if (!dir)
			return -ENOMEM;
		rc = fs_dir_add(fs_root, "dev", 3, dir);
		if (rc) {
			fs_node_destroy(dir);
			return rc;
		}
	}
	for (size_t i = 0; i < sizeof(dev_table) / sizeof(dev_table[0]); i++) {
		const struct fs_dev *d = &dev_table[i];
		struct fs_node *n = fs_node_new(S_IFCHR | (d->major == 5 ? 0620 : 0666), d->fops);
		if (!n)
			return -ENOMEM;
		n->dev = d;
		rc = fs_dir_add(dir, d->name, strlen(d->name), n);
		if (rc) {
			fs_node_destroy(n);
			return rc;
		}
		if (i == 0)
			dev_console_node = n;
	}
	/* /dev/shm: POSIX shared memory (shm_open, sem_open) is files there, mapped MAP_SHARED; sticky like Linux's tmpfs. */
	if (!fs_dir_find(dir, "shm", 3)) {
		struct fs_node *shm = fs_dir_new(S_IFDIR | 01777);
		if (!shm)
			return -ENOMEM;
		rc = fs_dir_add(dir, "shm", 3, shm);
		if (rc) {
			fs_node_destroy(shm);
			return rc;
		}
	}
	/* /dev/vda, /dev/vdb ...: the disks the virtio-blk driver registered at boot. */
	return fs_blk_nodes(dir);
}

struct fs_node *fs_dev_console(void)
{
	return dev_console_node;
}

struct fs_file *fs_dev_console_open(unsigned stream)
{
	struct fs_file *f = fs_file_new(dev_console_node, O_RDWR); /* as a terminal's fds 0-2 are */
	if (f) {
		f->priv = (void *)(uintptr_t)(stream + 1); /* see dev_console_stream */
		if (stream == 0)
			f->ops = &dev_conin_fops; /* as Linux's chrdev_open picks a file's ops at open */
	}
	return f;
}
