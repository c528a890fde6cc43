/* ocivm.h: the container process: creates the microVM, waits until `start`, runs it; its exit status is the container's. */
#ifndef OCI_OCIVM_H
#define OCI_OCIVM_H

#include "ocispec.h"
#include "ukvm.h"

struct ocivm_args {
	const struct ocispec_plan *plan;
	const char *image;    /* the packed image (ocipack) */
	const char *fifo;     /* the start FIFO: opened for writing, it blocks until `start` opens it */
	int ready_fd;         /* gets "ok" once the VM exists, or the reason it could not be made; then closed */
	int pty_slave;        /* >= 0: the terminal to run on (process.terminal), made fds 0-2 and the controlling tty */
	enum ukvm_pv pv;
};

/*
 * The body of the forked container process. Never returns: exits with the
 * guest's status (0..255; 128+N when it crashed with signal N; ukvm-run's
 * codes for the monitor's own failures). A pod sandbox (plan->sandbox)
 * runs no VM: it only waits until it is killed, holding the pod's place.
 * Signals keep their default actions, so `kill ID 15` ends it with 143 as
 * seen by the shim.
 */
_Noreturn void ocivm_main(const struct ocivm_args *a);

#endif
