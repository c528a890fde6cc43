/* hcall.c: the hypercall ports of proto/ukvm_abi.h: exit, crash, console writes (stdout, stderr) and input (stdin), wait, boot-phase marks. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "conbuf.h"
#include "hostpool.h"
#include "run.h"
#include "snapshot.h"
#include "snapvm.h"
#include "vmdev.h"

/* Reads an argument block: 8-byte aligned and wholly inside RAM, else NULL. */
static void *hcall_block(struct run_ctx *c, uint32_t gpa, size_t len, const char *what)
{
	void *p = (gpa & 7) ? NULL : mem_ptr(&c->vm->mem, gpa, len);
	if (!p)
		run_finish(c, UKVM_FAILED, UKVM_EXIT_GUESTERR, true,
			   "guest passed a bad %s block address 0x%x", what, gpa);
	return p;
}

/*
 * True when console writes must give up: the run is ending; or, in the run's
 * last drain (c->grace_ns set), once its grace has passed.
 */
static bool hcall_console_stopped(const struct run_ctx *c)
{
	return c->grace_ns ? vm_now_ns() >= c->grace_ns : run_ending(c);
}

/* Blocks until fd takes bytes, the deadline (or the last drain's grace) passes or a kick (timeout, ukvm_stop) arrives. */
static void hcall_console_wait(struct run_ctx *c, int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	struct timespec ts, *tp = NULL;
	uint64_t until = c->grace_ns ? c->grace_ns : c->deadline_ns;
	if (until) {
		uint64_t now = vm_now_ns(), d = until > now ? until - now : 0;
		ts = (struct timespec){ (time_t)(d / 1000000000ull), (long)(d % 1000000000ull) };
		tp = &ts;
	}
	(void)ppoll(&pfd, 1, tp, &c->wait_mask); /* only the kick is opened: SIGPIPE stays blocked (run.c) */
}

void hcall_console_init(struct run_ctx *c, unsigned stream, int fd)
{
	struct stat st;
	struct run_console *k = &c->con[stream];
	k->fd = fd;
	k->file = fd >= 0 && fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode));
	k->no_nowait = false;
	k->safe = fd >= 0 && !c->vm->cfg.raw_console && isatty(fd);
	k->ts = (struct ttysafe){ 0 };
}

/*
 * One write of what the stream's fd takes now, never waiting on its reader:
 * bytes written, or -errno (-EAGAIN: nothing now, wait for POLLOUT).
 */
static ssize_t hcall_console_try(struct run_ctx *c, struct run_console *k, const uint8_t *buf, size_t len)
{
	int fd = k->fd;
	ssize_t n;
	if (k->file) {
		n = write(fd, buf, len); /* a file never waits on a reader */
		return n < 0 ? -errno : n;
	}
	if (!k->no_nowait) {
		/* Pipes and sockets: RWF_NOWAIT writes what fits, EAGAIN when nothing does. */
		struct iovec v = { (void *)buf, len };
		n = pwritev2(fd, &v, 1, -1, RWF_NOWAIT);
		if (n >= 0 || errno != EOPNOTSUPP)
			return n < 0 ? -errno : n;
		k->no_nowait = true;
	}
	/*
	 * A terminal (no RWF_NOWAIT): once it polls writable it takes at least
	 * a byte, and a write that moved bytes returns early when a signal
	 * arrives, so the write runs with the kick open. The check after opening
	 * it sees a stop or deadline whose kick was delivered just then.
	 */
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	struct timespec zero = { 0, 0 };
	if (ppoll(&pfd, 1, &zero, NULL) <= 0)
		return -EAGAIN;
	sigset_t old;
	pthread_sigmask(SIG_SETMASK, &c->wait_mask, &old);
	n = hcall_console_stopped(c) ? -EINTR : write(fd, buf, len < PIPE_BUF ? len : PIPE_BUF);
	if (n < 0 && n != -EINTR)
		n = -errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return n;
}

/*
 * Writes all of buf (len bytes) to the stream as hcall_console_out does,
 * bytes as they are; *sent: how many went out, whatever it returns.
 */
static ssize_t hcall_console_raw(struct run_ctx *c, unsigned stream, const void *buf, size_t len, size_t *sent);

/* hcall_console_out, also saying in *sent how many of the guest's bytes went out (a terminal's: per piece). */
static ssize_t hcall_console_put(struct run_ctx *c, unsigned stream, const void *buf, size_t len, size_t *sent)
{
	struct run_console *k = &c->con[stream];
	size_t raw;
	*sent = 0;
	if (!k->safe || k->fd < 0)
		return hcall_console_raw(c, stream, buf, len, sent);
	/* A terminal: what it gets of each piece is made safe first (ukvm.h raw_console); done counts guest bytes. */
	uint8_t safe[TTYSAFE_OUT_MAX];
	size_t done = 0;
	while (done < len) {
		size_t n = len - done < TTYSAFE_IN_MAX ? len - done : TTYSAFE_IN_MAX;
		size_t m = ttysafe_filter(&k->ts, (const uint8_t *)buf + done, n, safe);
		ssize_t w = m ? hcall_console_raw(c, stream, safe, m, &raw) : 0;
		if (w == -EINTR || w == -EPIPE)
			return w;
		if (w < (ssize_t)m)
			return done ? (ssize_t)done : w < 0 ? w : -EIO;
		done += n;
		*sent = done;
	}
	return (ssize_t)len;
}

ssize_t hcall_console_out(struct run_ctx *c, unsigned stream, const void *buf, size_t len)
{
	size_t sent;
	return hcall_console_put(c, stream, buf, len, &sent);
}

static ssize_t hcall_console_raw(struct run_ctx *c, unsigned stream, const void *buf, size_t len, size_t *sent)
{
	struct run_console *k = &c->con[stream];
	const uint8_t *p = buf;
	size_t done = 0;
	*sent = 0;
	while (k->fd >= 0 && done < len) {
		if (hcall_console_stopped(c))
			return -EINTR;
		ssize_t n = hcall_console_try(c, k, p + done, len - done);
		if (n > 0) {
			done += (size_t)n;
			*sent = done;
		} else if (n == -EAGAIN) {
			hcall_console_wait(c, k->fd);
		} else if (n == -EPIPE) {
			/* The write raised SIGPIPE at this thread, where run.c blocks it: take it back. */
			sigset_t pipe_set;
			struct timespec zero = { 0, 0 };
			sigemptyset(&pipe_set);
			sigaddset(&pipe_set, SIGPIPE);
			(void)sigtimedwait(&pipe_set, NULL, &zero);
			run_finish(c, UKVM_FAILED, UKVM_EXIT_CONSOLE, false, "console closed");
			return -EPIPE;
		} else if (n != -EINTR) {
			return done ? (ssize_t)done : n ? n : -EIO; /* what went out, else why nothing did */
		}
	}
	*sent = len; /* all of it, or dropped (no fd) */
	return (ssize_t)len;
}

/* conbuf_write_fn for the guest's console buffer: stream 1 is stdout, 2 stderr (conbuf.c checked it). */
static ssize_t hcall_conbuf_write(void *ctx, unsigned stream, const void *buf, size_t len, size_t *sent)
{
	return hcall_console_put(ctx, stream == 2 ? RUN_CON_ERR : RUN_CON_OUT, buf, len, sent);
}

void hcall_conbuf_init(struct run_ctx *c)
{
	/* Always offered (vm.c puts it in the FDT); guest RAM is never smaller than UKVM_MEM_MIN, so this holds. */
	(void)conbuf_init(&c->conbuf, &c->vm->mem, UKVM_CONBUF_GPA, UKVM_CONBUF_SIZE);
}

/*
 * Drains the guest's console buffer before a hypercall is served. Returns
 * false when the hypercall must not be served: the run is ending (a stop
 * arrived while a slow reader held the drain) or the buffer was hostile.
 */
static bool hcall_conbuf_drain(struct run_ctx *c)
{
	char why[200];
	int r = conbuf_drain(&c->conbuf, &c->vm->mem, hcall_conbuf_write, c, why, sizeof(why));
	if (r == -EPROTO) {
		run_finish(c, UKVM_FAILED, UKVM_EXIT_GUESTERR, true, "%s", why);
		return false;
	}
	return r != -EINTR && !c->done; /* other write errors lost that output, as a direct write's would be */
}

void hcall_conbuf_final(struct run_ctx *c)
{
	char why[200];
	uint64_t now = vm_now_ns();
	/* The run has ended: the guest cannot run again, so this drain writes what is there, bounded in time. */
	c->grace_ns = now + (uint64_t)UKVM_CONBUF_GRACE_MS * 1000000ull;
	/* Hostile contents here end nothing more: the run's outcome is already set. */
	(void)conbuf_drain(&c->conbuf, &c->vm->mem, hcall_conbuf_write, c, why, sizeof(why));
	c->grace_ns = 0;
}

void hcall_conbuf_flush(struct run_ctx *c)
{
	/* Errors wait for the next hypercall's drain, which meets them again and acts. */
	(void)conbuf_flush(&c->conbuf, &c->vm->mem, hcall_conbuf_write, c);
}

static void hcall_console(struct run_ctx *c, unsigned stream, uint32_t gpa)
{
	struct ukvm_console *p = hcall_block(c, gpa, sizeof(*p), "console");
	struct ukvm_console a;
	if (!p)
		return;
	memcpy(&a, p, sizeof(a)); /* one read: the guest cannot change it under our checks */
	if (a.len > UKVM_CONSOLE_MAX) {
		run_finish(c, UKVM_FAILED, UKVM_EXIT_GUESTERR, true,
			   "guest console write of %llu bytes exceeds the %u-byte limit",
			   (unsigned long long)a.len, UKVM_CONSOLE_MAX);
		return;
	}
	const uint8_t *buf = mem_ptr(&c->vm->mem, a.gpa, a.len);
	if (!buf) {
		run_finish(c, UKVM_FAILED, UKVM_EXIT_GUESTERR, true,
			   "guest console buffer 0x%llx+0x%llx is outside guest memory",
			   (unsigned long long)a.gpa, (unsigned long long)a.len);
		return;
	}
	size_t sent;
	ssize_t n = hcall_console_put(c, stream, buf, a.len, &sent);
	if (n == -EINTR || n == -EPIPE)
		return; /* the run ends: the guest never sees an answer */
	int64_t ret = n;
	memcpy(&p->ret, &ret, sizeof(ret));
}

void hcall_input_init(struct run_ctx *c, int fd)
{
	struct stat st;
	c->in = (struct run_input){ .fd = fd > 0 ? fd : -1, .how = RUN_IN_NOWAIT };
	if (c->in.fd >= 0 && fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
		c->in.how = RUN_IN_FILE;
}

/*
 * One read of what the input holds now, never waiting on a writer: the fd
 * may be a terminal or pipe shared with other processes, so it is never
 * switched to O_NONBLOCK. Measured on Linux 6.18: RWF_NOWAIT works on pipes
 * and sockets (EAGAIN when empty) and files (but there EAGAIN also means
 * "not in the page cache", so files take a plain read, which never waits on
 * a writer); terminals and character devices refuse it (EOPNOTSUPP). Those
 * poll first and read at most FIONREAD bytes (a canonical terminal counts
 * only complete lines), so the read finds its bytes or end of file there;
 * only another process reading the same terminal between the two could
 * make it wait.
 */
static ssize_t hcall_input_try(struct run_ctx *c, void *buf, size_t len)
{
	struct run_input *in = &c->in;
	ssize_t n;
	if (in->fd < 0 || len == 0)
		return 0;
	if (in->how == RUN_IN_FILE) {
		n = read(in->fd, buf, len);
		return n < 0 ? -errno : n;
	}
	if (in->how == RUN_IN_NOWAIT) {
		struct iovec v = { buf, len };
		n = preadv2(in->fd, &v, 1, -1, RWF_NOWAIT);
		if (n >= 0 || errno != EOPNOTSUPP)
			return n < 0 ? -errno : n;
		in->how = RUN_IN_POLL;
	}
	struct pollfd pfd = { .fd = in->fd, .events = POLLIN };
	struct timespec zero = { 0, 0 };
	int r = ppoll(&pfd, 1, &zero, NULL);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -EAGAIN;
	if (pfd.revents & POLLNVAL)
		return -EBADF;
	int q;
	if (ioctl(in->fd, FIONREAD, &q) == 0 && q > 0 && (size_t)q < len)
		len = (size_t)q;
	n = read(in->fd, buf, len);
	return n < 0 ? -errno : n;
}

static void hcall_input(struct run_ctx *c, uint32_t gpa)
{
	struct ukvm_input *p = hcall_block(c, gpa, sizeof(*p), "input");
	struct ukvm_input a;
	if (!p)
		return;
	memcpy(&a, p, sizeof(a)); /* one read: the guest cannot change it under our checks */
	if (a.len > UKVM_INPUT_MAX) {
		run_finish(c, UKVM_FAILED, UKVM_EXIT_GUESTERR, true,
			   "guest console read of %llu bytes exceeds the %u-byte limit",
			   (unsigned long long)a.len, UKVM_INPUT_MAX);
		return;
	}
	uint8_t *buf = mem_ptr(&c->vm->mem, a.gpa, a.len);
	if (!buf) {
		run_finish(c, UKVM_FAILED, UKVM_EXIT_GUESTERR, true,
			   "guest console read buffer 0x%llx+0x%llx is outside guest memory",
			   (unsigned long long)a.gpa, (unsigned long long)a.len);
		return;
	}
	ssize_t n = hcall_input_try(c, buf, a.len);
	if (n == -EINTR)
		n = -EAGAIN; /* a kick during the read: the run loop ends the run, or the guest waits and retries */
	c->in.reads++;
	if (n > 0)
		c->in.bytes += (uint64_t)n;
	uint64_t flags = 0;
	if (n == 0 && c->in.fd >= 0 && c->in.how != RUN_IN_FILE) {
		struct pollfd pfd = { .fd = c->in.fd, .events = POLLIN };
		struct timespec zero = { 0, 0 };
		if (ppoll(&pfd, 1, &zero, NULL) == 1 && (pfd.revents & POLLHUP))
			flags |= UKVM_INPUT_HUP;
	}
	int64_t ret = n;
	memcpy(&p->flags, &flags, sizeof(flags));
	memcpy(&p->ret, &ret, sizeof(ret));
}

static uint64_t hcall_add_sat(uint64_t a, uint64_t b)
{
	uint64_t s;
	return __builtin_add_overflow(a, b, &s) ? UINT64_MAX : s;
}

/*
 * An idle WAIT (UKVM_WAIT_IDLE) with the devices quiet, in a run asked to
 * snapshot: writes it. Returns true when the run ends here (snapshot
 * written and not continuing, or it failed).
 */
static bool hcall_snapshot(struct run_ctx *c, uint32_t gpa)
{
	struct snapvm_writer *w = c->snap;
	char why[200];
	if (!vmdev_quiet(c->vm))
		return false; /* a request is still to come or in flight: a later idle WAIT will do */
	/*
	 * News the guest has not looked at (a frame completed after its last
	 * poll): not idle, or every VM restored from the file would take that
	 * frame; the WAIT returns it and a later idle WAIT will do.
	 */
	struct pollfd news = { .fd = c->vm->vcpu.wake_fd, .events = POLLIN };
	if (ppoll(&news, 1, &(struct timespec){ 0, 0 }, NULL) > 0)
		return false;
	int r = snapvm_save(w, c->vm, gpa, why, sizeof(why));
	if (r == -EAGAIN)
		return false; /* a device completed a request while it was written: a later idle WAIT retries */
	c->snap = NULL;
	snapvm_writer_close(w);
	if (r) {
		run_finish(c, UKVM_FAILED, UKVM_EXIT_INTERNAL, false, "snapshot: %s", why);
		return true;
	}
	if (c->vm->cfg.snapshot_continue)
		return false;
	run_finish(c, UKVM_SNAPSHOTTED, 0, false, "snapshot written to %s", c->vm->cfg.snapshot_when_idle);
	return true;
}

/* Blocks in ppoll on the wake eventfd: no spinning; the kick signal (timeout, stop) interrupts it. */
static void hcall_wait(struct run_ctx *c, uint32_t gpa)
{
	/* The guest's part of the block; the fields after ret are written only by a restore (snapvm.c). */
	struct ukvm_wait *p = hcall_block(c, gpa, offsetof(struct ukvm_wait, realtime_ns), "wait");
	struct ukvm_wait a;
	if (!p || snapvm_wait_restored(c->vm, gpa)) /* restored from a snapshot taken running: this WAIT answers */
		return;
	memcpy(&a, p, offsetof(struct ukvm_wait, realtime_ns));
	int64_t ret;
	if (a.flags & ~(UKVM_WAIT_IDLE | UKVM_WAIT_INPUT)) {
		ret = -EINVAL;
		goto out;
	}
	if ((a.flags & UKVM_WAIT_IDLE) && c->snap && hcall_snapshot(c, gpa))
		return; /* the guest never sees an answer: this VM ends, restored ones get theirs */
	/* The guest asks for this only after a read found nothing: a file (always readable) never gets here. */
	bool input = (a.flags & UKVM_WAIT_INPUT) && c->in.fd >= 0;
	if (a.timeout_ns == UINT64_MAX && !c->vm->ndevs && !input && !c->vm->cfg.forward_signals) {
		ret = -EDEADLK; /* no device can ever wake it: waiting would hang forever */
		goto out;
	}
	uint64_t until = hcall_add_sat(vm_now_ns(), a.timeout_ns);
	bool news = false; /* wake_fd was read: device news may have come with a kick, and EVENT_IDX sends it once */
	run_flush_pause(c, true); /* drained above; an idle VM takes no flush kicks */
	for (;;) {
		if (atomic_load(&c->vm->stop)) {
			run_finish(c, UKVM_STOPPED, UKVM_EXIT_INTERNAL, false, "stopped by request");
			return;
		}
		if (snapshot_take(c, gpa)) /* ukvm_snapshot, taken in this WAIT */
			return;
		uint64_t now = vm_now_ns();
		if (c->deadline_ns && now >= c->deadline_ns) {
			run_finish(c, UKVM_TIMEOUT, UKVM_EXIT_TIMEOUT, false, "timeout after %llu ms",
				   (unsigned long long)c->vm->cfg.timeout_ms);
			return;
		}
		if (run_hostsig(c, false) || news) { /* the guest raises a signal at the app once back */
			ret = UKVM_WAIT_RET_NEWS;
			break;
		}
		if (now >= until) {
			ret = 0;
			break;
		}
		uint64_t end = until;
		if (c->deadline_ns && c->deadline_ns < end)
			end = c->deadline_ns;
		uint64_t d = end - now;
		struct timespec ts = { (time_t)(d / 1000000000ull), (long)(d % 1000000000ull) };
		struct pollfd pfd[2] = { { .fd = c->vm->vcpu.wake_fd, .events = POLLIN },
					 { .fd = c->in.fd, .events = POLLIN } };
		/*
		 * Device news (the event thread writes wake_fd), input, or ukvm_stop
		 * end the wait; so does the kick. Input readiness (data, end of
		 * file, an error) ends it level-triggered: the guest reads before
		 * it asks again.
		 */
		/* A long wait leaves the CPU to the host's builder and reaper (hostpool_busy). */
		bool quiet = c->vm->busy && d >= HOSTPOOL_QUIET_WAIT_MIN_NS;
		if (quiet)
			hostpool_busy(c->vm->cfg.host, -1);
		int n = ppoll(pfd, input ? 2 : 1, end == UINT64_MAX ? NULL : &ts, &c->wait_mask);
		if (quiet)
			hostpool_busy(c->vm->cfg.host, 1);
		if (n > 0) {
			ret = 0;
			if (pfd[0].revents) {
				uint64_t v;
				ssize_t r = read(c->vm->vcpu.wake_fd, &v, sizeof(v));
				(void)r;
				news = true; /* a kick's wake-up may hold a device's too: the guest looks (spurious at worst) */
				if (atomic_load(&c->vm->stop) || atomic_load(&c->vm->hostsig) || snapshot_pending(c->vm))
					continue; /* the loop's top acts on it */
				ret |= UKVM_WAIT_RET_NEWS;
			}
			if (input && pfd[1].revents)
				ret |= UKVM_WAIT_RET_INPUT;
			break;
		}
		if (n < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
	}
out:
	run_flush_pause(c, false);
	memcpy(&p->ret, &ret, sizeof(ret));
}

void hcall_handle(struct run_ctx *c, uint16_t port, uint32_t val)
{
	struct ukvm_result *res = c->res;
	/* What the guest buffered comes before whatever this hypercall does (proto/ukvm_abi.h, "Console buffer"). */
	if (!hcall_conbuf_drain(c))
		return;
	switch (port) {
	case UKVM_PORT_EXIT:
		res->exits[UKVM_STAT_EXIT]++;
		run_finish(c, UKVM_EXITED, ukvm_exit_status(val), false, "%s", "");
		break;
	case UKVM_PORT_CRASH:
		res->exits[UKVM_STAT_EXIT]++;
		if (val == 0 || val > 64)
			run_finish(c, UKVM_FAILED, UKVM_EXIT_GUESTERR, true,
				   "guest crash report with bad signal number %u", val);
		else
			run_finish(c, UKVM_CRASHED, 128 + (int)val, false, "guest crashed (%s, signal %u)",
				   ukvm_signal_name(val), val);
		break;
	case UKVM_PORT_CONSOLE:
	case UKVM_PORT_CONSOLE_ERR:
		res->exits[UKVM_STAT_CONSOLE]++;
		hcall_console(c, port == UKVM_PORT_CONSOLE_ERR ? RUN_CON_ERR : RUN_CON_OUT, val);
		break;
	case UKVM_PORT_INPUT:
		res->exits[UKVM_STAT_CONSOLE]++;
		hcall_input(c, val);
		break;
	case UKVM_PORT_WAIT:
		res->exits[UKVM_STAT_WAIT]++;
		hcall_wait(c, val);
		break;
	case UKVM_PORT_MARK:
		res->exits[UKVM_STAT_MARK]++;
		/* Unknown marks are ignored: they only feed --trace-boot. */
		if (val >= UKVM_MARK_KERNEL_ENTRY && val <= UKVM_MARK_APP_MAIN &&
		    !c->vm->phase_ns[UKVM_PHASE_KERNEL_ENTRY + val - 1])
			c->vm->phase_ns[UKVM_PHASE_KERNEL_ENTRY + val - 1] = vm_now_ns();
		break;
	default:
		res->exits[UKVM_STAT_OTHER]++;
		run_finish(c, UKVM_FAILED, UKVM_EXIT_GUESTERR, true, "guest wrote to unknown port 0x%x", port);
		break;
	}
}
