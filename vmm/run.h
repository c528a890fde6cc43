/* run.h: state of one ukvm_run() shared by the run loop (run.c) and the hypercall handlers (hcall.c). */
#ifndef VMM_RUN_H
#define VMM_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <time.h>

#include "conbuf.h"
#include "ttysafe.h"
#include "vm.h"

struct run_ctx {
	struct ukvm_vm *vm;
	struct ukvm_result *res;
	uint64_t deadline_ns;  /* CLOCK_MONOTONIC; 0 = no timeout */
	uint64_t hostsig_since; /* CLOCK_MONOTONIC when the guest's host signals last went from none to some; 0: none */
	sigset_t wait_mask;    /* the thread's mask with the kick signal open: for ppoll */
	bool done;             /* res is final */
	struct snapvm_writer *snap; /* cfg.snapshot_when_idle's file until the snapshot is written; NULL */
	struct run_console {   /* one per stream: RUN_CON_OUT (console_fd), RUN_CON_ERR (console_err_fd) */
		int fd;        /* -1: output dropped */
		bool file;     /* a regular file or block device: a write never waits on a reader */
		bool no_nowait; /* refused RWF_NOWAIT (a terminal): poll, then write with the kick open */
		bool safe;     /* a terminal, not raw_console: output goes through ttysafe_filter */
		struct ttysafe ts;
	} con[2];
	struct conbuf conbuf;  /* the guest's console buffer (proto/ukvm_abi.h), drained at every hypercall */
	uint64_t grace_ns;     /* != 0: the run's last drain, whose console writes give up at this CLOCK_MONOTONIC time */
	bool has_flush;        /* flush exists: a stream is buffered or signals are forwarded (run.c run_flush_begin) */
	timer_t flush;         /* kicks the running vCPU every RUN_FLUSH_MS to write out buffered output */
	struct run_input {     /* console_in_fd: the guest's fd 0 */
		int fd;        /* -1: none, the guest reads end of file */
		int how;       /* RUN_IN_*: how a read never waits on a writer */
		uint64_t reads, bytes; /* for ukvm_result */
	} in;
};

/* How the input fd is read without waiting (measured per kind: hcall.c, hcall_input_init). */
enum { RUN_IN_FILE, RUN_IN_NOWAIT, RUN_IN_POLL };

/* The console streams (proto/ukvm_abi.h: UKVM_PORT_CONSOLE, UKVM_PORT_CONSOLE_ERR). */
enum { RUN_CON_OUT, RUN_CON_ERR };

/*
 * Ends the run with kind and status and a printf-style one-line message;
 * for guest errors appends RIP, nearest symbol and a few registers when
 * with_regs is set.
 */
void run_finish(struct run_ctx *c, int kind, int status, bool with_regs, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* True once the run must end: ukvm_stop was called or the deadline passed. */
bool run_ending(const struct run_ctx *c);

/* Fills c->con[stream] for fd (what kind of file it is). */
void hcall_console_init(struct run_ctx *c, unsigned stream, int fd);

/* Sets up c->conbuf: the console buffer vm.c offers the guest (proto/ukvm_abi.h, "Console buffer"). */
void hcall_conbuf_init(struct run_ctx *c);

/*
 * After the run loop (any ending: exit, crash, timeout, stop): writes what
 * the guest left in its console buffer, waiting for a slow reader at most
 * UKVM_CONBUF_GRACE_MS.
 */
void hcall_conbuf_final(struct run_ctx *c);

/*
 * After a kick took the vCPU out of KVM_RUN wherever it was: writes what the
 * guest buffered so far, leaving the buffer to the guest (conbuf_flush).
 */
void hcall_conbuf_flush(struct run_ctx *c);

/* Pauses (WAIT: nothing is buffered while the guest waits) or resumes the flush kicks. */
void run_flush_pause(struct run_ctx *c, bool paused);

/*
 * Moves the signals ukvm_signal left for the app into the guest's
 * struct ukvm_hostsig (proto/ukvm_abi.h); on the vCPU thread, the vCPU out
 * of KVM_RUN. Whether it holds any the guest has not taken: a WAIT must
 * not sleep on those (one moved by a kick just before it). When running
 * (kicked out of a running guest, not in a WAIT) and one that would end the
 * app stays untaken past UKVM_HOSTSIG_GRACE_MS, ends the run as the guest
 * would have.
 */
bool run_hostsig(struct run_ctx *c, bool running);

/* Fills c->in for fd (<= 0: no input). */
void hcall_input_init(struct run_ctx *c, int fd);

/*
 * vCPU thread: writes len bytes of guest console output to stream's fd (-1: drops
 * them) without blocking the run: waits for a slow reader only until
 * ukvm_stop or the deadline. Returns len (fewer when a write failed after
 * some went out); -EINTR when the run must end (the run loop then finishes
 * it); -EPIPE when the reader went away, after ending the run with
 * UKVM_EXIT_CONSOLE ("console closed"); another -errno when a write failed
 * before any byte went out.
 */
ssize_t hcall_console_out(struct run_ctx *c, unsigned stream, const void *buf, size_t len);

/*
 * Handles an OUT of 32-bit value val to a hypercall port (UKVM_PORT_BASE ..
 * + UKVM_PORT_COUNT - 1). Hostile arguments end the run with
 * UKVM_EXIT_GUESTERR; it never touches memory outside guest RAM.
 */
void hcall_handle(struct run_ctx *c, uint16_t port, uint32_t val);

#endif
