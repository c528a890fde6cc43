/* conin.c: console input: fd 0 reads the host's stdin through a kernel buffer, one UKVM_PORT_INPUT exit per fill. */
#include <string.h>
#include "k.h"
#include "conin.h"
#include "fs.h"
#include "hypercall.h"
#include "sig.h"
#include "thread.h"
#include "wait.h"

/*
 * An exit costs ~30 us on PVM, so musl's 1 KiB stdio reads must not each
 * exit: a fill takes what the host holds, up to CONIN_BUF_SIZE, and reads
 * are served from here. With nothing there (-EAGAIN), the input is
 * "wanted": the idle WAIT asks the monitor to end also on input
 * (UKVM_WAIT_INPUT), and this file's poller refills when a WAIT says the
 * input is ready, then wakes the readers' key. While wanted, the answer
 * "nothing yet" is known without an exit; a thread that never lets the
 * scheduler go idle (poll with timeout 0 in a loop) still hears of input
 * because a wanted input is asked again at most every CONIN_RETRY_NS.
 */
#define CONIN_RETRY_NS 1000000ull

static struct {
	uint32_t head, len; /* buffered bytes: buf[head .. head + len) */
	bool eof;           /* the last fill found end of file (or failed: err) */
	bool hup;           /* ... because the input hung up (a pipe's writers closed): POLLHUP */
	long err;           /* a failed fill's -errno, returned once in place of end of file */
	bool wanted;        /* the last fill found nothing yet */
	bool tty;           /* end of file is one read's (^D), not sticky */
	bool poller_on;
	uint64_t last_try;  /* monotonic time of the last fill */
} conin;
/* Apart from the state above: boot touches the state, never the buffer, and guest/kernel.ld puts it with the cold. */
static uint8_t conin_buf[CONIN_BUF_SIZE];

static struct k_poller conin_poller;

static void conin_want(bool on)
{
	conin.wanted = on;
	k_hypercall_input_want(on);
	if (on && !conin.poller_on) {
		conin.poller_on = true;
		k_wait_poller_add(&conin_poller);
	}
}

/* One exit: takes what the host holds; wakes the key once there is something to read or an end. */
static void conin_fill(void)
{
	bool hup = false;
	long n = k_hypercall_input(conin_buf, sizeof(conin_buf), &hup);
	conin.last_try = k_clock_monotonic_ns();
	if (n == -EAGAIN) {
		conin_want(true);
		return;
	}
	if (n > 0) {
		conin.head = 0;
		conin.len = (uint32_t)(n < (long)sizeof(conin_buf) ? n : (long)sizeof(conin_buf));
	} else {
		conin.eof = true;
		conin.hup = hup;
		conin.err = n < 0 ? n : 0;
	}
	conin_want(false);
	k_wait_wake(&conin, POLLIN | POLLRDNORM | POLLHUP, K_THR_ALL);
}

/* Nothing buffered and no end seen: fill, unless a fill just found nothing and no news said otherwise. */
static void conin_fill_if_unknown(void)
{
	if (conin.len || conin.eof)
		return;
	if (conin.wanted && k_clock_monotonic_ns() - conin.last_try < CONIN_RETRY_NS)
		return;
	conin_fill();
}

static uint64_t conin_poll_dev(struct k_poller *p, enum k_wait_news news)
{
	(void)p;
	if (!conin.wanted)
		return 0;
	if (news == K_WAIT_POLLED)
		conin_fill_if_unknown(); /* at most every CONIN_RETRY_NS while threads keep running */
	else if (k_hypercall_input_ready())
		conin_fill();
	/* Awaited: a reader blocked on it is not deadlocked, and the idle WAIT ends on input, not a time. */
	return conin.wanted ? K_WAIT_FOREVER : 0;
}

static struct k_poller conin_poller = { .poll = conin_poll_dev };

long fs_conin_read(void *buf, size_t len, bool nonblock)
{
	if (len == 0)
		return 0;
	for (;;) {
		conin_fill_if_unknown();
		if (conin.len) {
			size_t n = len < conin.len ? len : conin.len;
			memcpy(buf, conin_buf + conin.head, n);
			conin.head += (uint32_t)n;
			conin.len -= (uint32_t)n;
			return (long)n;
		}
		if (conin.eof) {
			long r = conin.err;
			conin.err = 0;
			if (conin.tty)
				conin.eof = conin.hup = false; /* ^D ends this read; the terminal reads on */
			return r;
		}
		if (nonblock)
			return -EAGAIN;
		long rc = k_wait_on(&conin, ~0u, K_WAIT_FOREVER, K_WAIT_INTR | K_WAIT_INPUT);
		if (rc < 0) /* only a signal ends a wait forever: restartable, like a pipe's or a terminal's read */
			return rc == -EINTR ? -K_ERESTARTSYS : rc;
	}
}

uint32_t fs_conin_poll(const void **key)
{
	*key = &conin;
	conin_fill_if_unknown();
	/* Linux's answers: a pipe whose writers left polls POLLHUP alone once drained; a file's end, POLLIN. */
	if (conin.len)
		return POLLIN | POLLRDNORM;
	if (conin.eof)
		return conin.hup ? POLLHUP : POLLIN | POLLRDNORM;
	return 0;
}

int fs_conin_avail(void)
{
	conin_fill_if_unknown();
	return (int)conin.len;
}

void fs_conin_set_tty(bool tty)
{
	conin.tty = tty;
}

void fs_conin_restored(void)
{
	conin.head = conin.len = 0;
	conin.eof = conin.hup = false;
	conin.err = 0;
	conin.last_try = 0; /* a wanted input is asked again at the next look */
	k_hypercall_input_want(conin.wanted); /* the hypercall layer's flag is the snapshot's too, but say it */
}

void fs_conin_reset(void)
{
	bool on = conin.poller_on;
	memset(&conin, 0, sizeof(conin));
	conin.poller_on = on; /* a poller stays registered (k_wait_poller_add has no removal) */
	k_hypercall_input_want(false);
}
