/* ukvm.h: the embedding API of libukvm: create a microVM from a config, run it, stop it, destroy it. */
#ifndef UKVM_H
#define UKVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* libukvm's version: ukvm-run --version and libukvm.pc's Version (read from this line). */
#define UKVM_VERSION "0.2"

/*
 * Guest RAM when ukvm_config.mem_size is 0 (ukvm-run without --mem): room
 * for an ordinary program's 100 MiB malloc. RAM is mapped MAP_NORESERVE and
 * backed only where the guest touches it, but on PVM hosts (shadow MMU) KVM
 * allocates per-page metadata for the whole memory slot when it is
 * registered: ~0.5 us per MiB, measured in the "KVM ready" boot phase
 * (alternating runs: 64M 246 us, 128M 270 us, 256M 329 us, 512M 452 us).
 * Solo5's 512 MiB would add ~0.2 ms to every boot; 128 MiB costs ~25 us.
 */
#define UKVM_MEM_DEFAULT (128ull << 20)

/*
 * Exit codes of ukvm-run (and what ukvm_exit_code() returns). A guest app's
 * own status 0..255 passes through unchanged; the codes below are used only
 * when the monitor, not the app, decides the outcome. A guest that reports
 * a crash (UKVM_PORT_CRASH) ends with 128 + signal, like a shell reports it.
 */
#define UKVM_EXIT_CONSOLE  119 /* the console's reader went away (EPIPE): "console closed" */
#define UKVM_EXIT_USAGE    120 /* bad command line or config, or a disk or NIC it names cannot be opened */
#define UKVM_EXIT_IMAGE    121 /* image missing, unreadable or rejected by the loader */
#define UKVM_EXIT_NOKVM    122 /* /dev/kvm missing, not accessible, or lacking a capability */
#define UKVM_EXIT_GUESTERR 123 /* guest died without a report: triple fault, internal error,
				  failed entry, unexpected port/MMIO, hostile hypercall argument */
#define UKVM_EXIT_TIMEOUT  124 /* --timeout expired */
#define UKVM_EXIT_INTERNAL 125 /* monitor internal error */

/*
 * What ukvm_create() and ukvm_host_open() failed on; each maps to one exit
 * code above (ukvm_error_exit_code). The values lie below -4095, the lowest
 * -errno Linux returns, so a kind is never mistaken for an errno (or one
 * for the other in ukvm_error_exit_code). The cause itself is in the message.
 */
enum ukvm_error {
	UKVM_OK = 0,
	UKVM_ERR_CONFIG = -0x10001,   /* bad config value (UKVM_EXIT_USAGE) */
	UKVM_ERR_IMAGE = -0x10002,    /* image missing, unreadable or rejected (UKVM_EXIT_IMAGE) */
	UKVM_ERR_KVM = -0x10003,      /* KVM unusable (UKVM_EXIT_NOKVM) */
	UKVM_ERR_INTERNAL = -0x10004, /* host resource failure, e.g. out of memory (UKVM_EXIT_INTERNAL) */
};

/* Longest ukvm_config.cwd, NUL included (Linux's PATH_MAX). */
#define UKVM_CWD_MAX 4096

/* Most virtio-mmio devices per VM, of all kinds: UKVM_MMIO_MAX_DEVS of proto/ukvm_abi.h. */
#define UKVM_MAX_DEVS 32
/* Most disks per VM (they share the UKVM_MAX_DEVS slots with other devices). */
#define UKVM_MAX_DISKS 32

/* A virtio-blk disk backed by a host file or block device: /dev/vda, /dev/vdb ... in order. */
struct ukvm_disk {
	const char *path;
	bool ro;      /* opened O_RDONLY, VIRTIO_BLK_F_RO offered: guest writes fail */
	bool direct;  /* opened O_DIRECT (host page cache bypassed; see devices/blk.h for alignment) */
};

/* Most NICs per VM (eth0, eth1 ... in the guest, in this order; they share the UKVM_MAX_DEVS slots). */
#define UKVM_MAX_NICS 8
/* DNS servers per NIC (UKVM_NET_MAX_DNS of proto/ukvm_abi.h). */
#define UKVM_MAX_DNS 3

/* Where a NIC's frames go on the host. */
enum ukvm_net_kind {
	UKVM_NET_TAP = 1, /* a tap device by name: opened, or created when permitted */
	UKVM_NET_USER,    /* unprivileged user-mode networking (libslirp), QEMU's addressing */
	UKVM_NET_FD,      /* a tap fd the embedder opened (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, TUNSETVNETHDRSZ 12),
			     or any fd carrying whole frames each behind a 12-byte virtio_net_hdr (a SOCK_SEQPACKET
			     or SOCK_DGRAM socket); blocking (io_uring fails reads on an O_NONBLOCK one: refused);
			     not closed by ukvm */
};

/* A host port forwarded to the guest by a user-mode NIC (QEMU's hostfwd=). */
struct ukvm_hostfwd {
	bool udp;             /* else TCP */
	uint32_t host_addr;   /* network order; 0 = every host address (QEMU's empty HOSTADDR) */
	uint16_t host_port;   /* host order, 1..65535 */
	uint32_t guest_addr;  /* network order; 0 = the NIC's guest address */
	uint16_t guest_port;  /* host order, 1..65535 */
};

/*
 * A virtio-net NIC. Addresses are IPv4 in network order, 0 = not configured
 * (a user-mode NIC then takes QEMU's: guest 10.0.2.15/24, gateway 10.0.2.2,
 * DNS 10.0.2.3). The guest configures eth<N> from them (proto/ukvm_abi.h).
 * Frozen like struct ukvm_disk: new per-NIC options come as new fields of
 * struct ukvm_config.
 */
struct ukvm_net {
	enum ukvm_net_kind kind;
	const char *ifname;   /* UKVM_NET_TAP: the host's tap device */
	int fd;               /* UKVM_NET_FD: the embedder's open tap */
	uint8_t mac[6];       /* all zero: a random locally administered unicast address */
	uint32_t ipv4;
	uint8_t prefix;       /* 0..32; with ipv4 set, 0 means 24 */
	uint32_t gw;
	uint32_t dns[UKVM_MAX_DNS]; /* the used ones first */
	uint32_t mtu;         /* 0 = 1500; UKVM_NET_MTU_MIN..UKVM_NET_MTU_MAX */
	const struct ukvm_hostfwd *fwds; /* UKVM_NET_USER only: nfwds forwards */
	unsigned nfwds;
};

struct ukvm_host;

/* Use of the host's paravirtual fast path ("pvm-pv", proto/ukvm_abi.h "PV mode"). */
enum ukvm_pv {
	UKVM_PV_AUTO = 0, /* when KVM offers it (default) */
	UKVM_PV_OFF,      /* never: the CPL3 base mode everywhere */
	UKVM_PV_ON,       /* required: ukvm_create fails with UKVM_ERR_KVM without it */
};

/*
 * The VM's configuration: zero is the default of every field but size and
 * image. Extensible the way Linux's clone3/openat2 arguments are: the caller
 * sets size = sizeof(struct ukvm_config) as its ukvm.h defines it, fields
 * are only ever appended, and ukvm_create
 *  - refuses a size below UKVM_CONFIG_SIZE_0_2 (size unset: UKVM_ERR_CONFIG),
 *  - reads a smaller (older) struct and takes the fields it lacks as 0,
 *  - reads a larger (newer) one when every byte past its own struct is 0,
 *    and refuses it (UKVM_ERR_CONFIG) when a field it does not know is set.
 * So an embedder built against an older or newer ukvm.h keeps working
 * without recompiling, and never has a setting silently ignored. Chosen over
 * libkrun-style setters on an opaque object: a config stays one designated
 * initializer with zero defaults, and a new field needs no new function.
 * struct ukvm_disk is frozen (arrays of it have a fixed stride): new
 * per-disk options come as a new field here.
 */
struct ukvm_config {
	uint32_t size;             /* sizeof(struct ukvm_config): the caller's version of this struct */
	struct ukvm_host *host;    /* from ukvm_host_open: the per-host KVM work done once, shared
				      by many VMs; NULL = ukvm_create does that work for this VM alone */
	const char *image;         /* path of the ELF image (kernel + payload) */
	uint64_t mem_size;         /* guest RAM bytes; 0 = UKVM_MEM_DEFAULT (128 MiB); multiple of 2 MiB,
				      8 MiB..64 GiB (proto/ukvm_abi.h ukvm_mem_size_invalid) */
	const char *const *argv;   /* guest argv[1..], NULL-terminated; may be NULL */
	const char *const *env;    /* extra "K=V" for the guest, NULL-terminated; may be NULL */
	int console_fd;            /* guest console output goes here (ukvm-run: 1); -1 discards. A reader
	                            * that does not keep up stalls the guest, never ukvm_stop or the
	                            * timeout; one that is gone ends the run (UKVM_EXIT_CONSOLE), and the
	                            * SIGPIPE of that write is taken back, never delivered */
	uint64_t timeout_ms;       /* 0 = none; counted from the start of ukvm_run, which returns
				      UKVM_TIMEOUT within ~100 ms after it */
	bool trace_boot;           /* ask the guest for boot-phase marks (/chosen/ukvm,trace-boot) */
	bool seccomp;              /* install the seccomp allowlist on the thread calling ukvm_run;
				      it stays on that thread afterwards (ukvm-run: true) */
	const struct ukvm_disk *disks; /* ndisks entries (<= UKVM_MAX_DISKS); a disk that cannot be
				      opened fails ukvm_create with UKVM_ERR_CONFIG, "PATH: cannot open disk: ..." */
	unsigned ndisks;
	enum ukvm_pv pv;           /* UKVM_PV_AUTO (0), _OFF or _ON */
	int kick_signal;           /* signal used to kick the vCPU thread out of KVM_RUN; 0 = SIGUSR2.
				      ukvm_run blocks it in the calling thread while running and,
				      if its action is SIG_DFL, installs a no-op handler for it. */
	bool no_cpuid_cache;       /* host NULL only: do not use or write the user's cache of KVM's
				      supported CPUID (see ukvm_host_open_flags) */
	const struct ukvm_net *nets; /* nnets NICs (<= UKVM_MAX_NICS); one that cannot be opened fails
				      ukvm_create with UKVM_ERR_CONFIG and one line ("tap0: ...") */
	unsigned nnets;
	/*
	 * Appended after 0.2 (console). The guest's fd 1 goes to console_fd, its
	 * fd 2 and the guest kernel's notices and crash reports ("ukvm: ...") to
	 * console_err_fd, with console_fd's guarantees (a stalled reader never
	 * blocks ukvm_stop or the timeout; a gone one ends the run,
	 * UKVM_EXIT_CONSOLE). 0 = console_fd, everything on one stream as before
	 * this field; so fd 0 itself cannot be named here: dup it. -1 discards.
	 * ukvm-run: 2. The guest's isatty(1)/isatty(2) and TIOCGWINSZ answer
	 * what these fds are (a terminal's size as at ukvm_create).
	 */
	int console_err_fd;
	bool stdin_tty;            /* the guest's fd 0 answers isatty/TIOCGWINSZ as this process's
				      fd 0 does (ukvm-run: true); false: not a terminal, like </dev/null */
	bool quiet;                /* silence the guest kernel's notices ("unimplemented syscall ...");
				      crash reports stay */
	const char *argv0;         /* the guest's argv[0]; NULL = the app's own name as ukvm-build recorded
				      it (an image without one: the image path, as before) */
	/*
	 * Appended after 0.2 (snapshots, docs/snapshot.md). snapshot_when_idle:
	 * ukvm_run creates (mode 0600) or truncates this file at its start and, the first time
	 * the guest is idle (a thread waits on input from outside: stdin, an
	 * inet socket; no thread can run, no request in flight, waiting
	 * unbounded or >= 50 ms: UKVM_WAIT_IDLE in proto/ukvm_abi.h; a pure
	 * sleep is not idle), writes a snapshot of
	 * the VM into it; then the guest runs on (snapshot_continue) or ukvm_run
	 * returns with kind UKVM_SNAPSHOTTED (status 0). A server blocked in
	 * accept() with no connection open is idle too (its NIC's posted RX
	 * buffers are rest, docs/snapshot.md "NICs"). A run that never gets
	 * idle leaves the file empty.
	 */
	const char *snapshot_when_idle;
	bool snapshot_continue;
	/*
	 * A snapshot file to restore instead of booting image: ukvm_create maps
	 * its memory copy-on-write (the file is only read; many VMs may restore
	 * it at once), restores the vCPU and the devices, and ukvm_run resumes
	 * the guest inside the WAIT it was snapshotted in, with its realtime
	 * clock set to the host's and its random generator reseeded. From this
	 * config come: the console fds, disks (by path, in the snapshot's order;
	 * one whose size or read-only bit differs is refused), host, timeout,
	 * seccomp, kick_signal; mem_size is a limit (0: none; a larger snapshot
	 * is refused); pv must not be UKVM_PV_OFF for a pvm-pv snapshot (nor
	 * UKVM_PV_ON for another); image, argv, env, argv0, trace_boot and quiet
	 * are the snapshot's and ignored here; the console fds and stdin_tty are
	 * this config's, terminals included: the restored guest's isatty,
	 * TCGETS and TIOCGWINSZ on fds 0-2 answer for them as it resumes (a
	 * snapshot taken running: at once, through the restore block); nets are the backends of
	 * the snapshot's NICs, in order (their addresses ignored: the guest
	 * keeps its own; the NIC keeps the snapshot's MAC and MTU). A
	 * malformed, truncated or foreign snapshot, or one taken on a CPU with
	 * features this host lacks, fails with UKVM_ERR_IMAGE and one line.
	 */
	const char *restore;
	/*
	 * Appended after 0.2 (console input). The guest's fd 0 reads this fd:
	 * a pipe, file, socket or terminal (a terminal line by line, as a
	 * read(2) of it returns). The monitor reads a buffer per exit, never
	 * switches the fd to O_NONBLOCK (it may be shared) and never waits on
	 * its writer in a way that could delay ukvm_stop or the timeout; the
	 * guest's blocked reader sleeps in WAIT until the fd is readable. Not
	 * closed by ukvm. 0 (the default) or -1 = no input, the guest reads end
	 * of file, as before this field; so fd 0 itself cannot be named here:
	 * dup it (ukvm-run passes a dup of its stdin). A restored VM reads its
	 * own config's (what the snapshotted guest had buffered is dropped).
	 */
	int console_in_fd;
	/*
	 * Appended after 0.2 (ukvm-oci, OCI's process.cwd). The guest app starts
	 * in this directory of its file system: absolute, shorter than
	 * UKVM_CWD_MAX (else UKVM_ERR_CONFIG); NULL = "/", as before this field.
	 * One missing from the image, or not a directory, stops the boot with a
	 * crash report ("cwd ...: not found"). A restored VM keeps the snapshot's.
	 */
	const char *cwd;
	/*
	 * Appended after 0.2 (hardening). Guest console output written to a
	 * host terminal (console_fd or console_err_fd where isatty) has its
	 * escape sequences and control characters neutralised: ESC and the
	 * other C0 controls but \n \r \t \b shown as ^X, C1 controls and bytes
	 * that are not UTF-8 as \xNN (vmm/ttysafe.h), so a guest cannot drive
	 * the terminal (retitle it, write the clipboard, answer back keys).
	 * Files, pipes and sockets get the bytes as they are. raw_console:
	 * terminals too (ukvm-run --raw-console).
	 */
	bool raw_console;
	/*
	 * Appended after 0.2 (performance): read KVM's own counters of the vCPU
	 * (KVM_GET_STATS_FD: page faults its MMU took, exits handled in the
	 * kernel) into the result's kvm_* fields at the end of the run; ~20 us
	 * more per VM. ukvm-run --stats sets it.
	 */
	bool kvm_stats;
	/*
	 * Appended after 0.2 (host signals): ukvm_signal() raises signals at the
	 * app (proto/ukvm_abi.h, "Host signals"), as kill(2) would at a native
	 * process: a handler runs, a default action ends the run as CRASHED with
	 * status 128 + the signal. The run then ends when the app does (or the
	 * timeout, or ukvm_stop: an app that ignores a signal keeps running).
	 * Not with restore or snapshot_when_idle (UKVM_ERR_CONFIG).
	 */
	bool forward_signals;
	/* New fields go here, at the end; 0 must mean what the library did before them. */
};

/* The smallest config ukvm_create accepts: the struct of UKVM_VERSION 0.2, the first with a size. */
#define UKVM_CONFIG_SIZE_0_2 (offsetof(struct ukvm_config, no_cpuid_cache) + sizeof(bool))

/* Boot phases, timestamped with CLOCK_MONOTONIC ns (0 = not reached). */
enum ukvm_phase {
	UKVM_PHASE_CREATE,       /* ukvm_create entered */
	UKVM_PHASE_KVM_READY,    /* /dev/kvm opened and checked, VM and vCPU created */
	UKVM_PHASE_IMAGE_LOADED, /* image validated and copied into guest RAM */
	UKVM_PHASE_FIRST_RUN,    /* just before the first KVM_RUN */
	UKVM_PHASE_KERNEL_ENTRY, /* guest mark UKVM_MARK_KERNEL_ENTRY */
	UKVM_PHASE_KERNEL_READY, /* guest mark UKVM_MARK_KERNEL_READY */
	UKVM_PHASE_APP_MAIN,     /* guest mark UKVM_MARK_APP_MAIN */
	UKVM_PHASE_EXIT,         /* run loop ended */
	UKVM_PHASE_COUNT
};

/* Exit reasons counted for --stats: each KVM_RUN return is one exit. */
enum ukvm_stat {
	UKVM_STAT_SERIAL,    /* port I/O to the 16550 */
	UKVM_STAT_CONSOLE,   /* console hypercall: a write (stdout, stderr) or an input read (stdin) */
	UKVM_STAT_WAIT,      /* wait hypercall */
	UKVM_STAT_MARK,      /* boot-phase mark hypercall */
	UKVM_STAT_EXIT,      /* exit or crash hypercall */
	UKVM_STAT_INTR,      /* KVM_RUN interrupted by a signal (timeout, stop) */
	UKVM_STAT_OTHER,     /* anything else (fatal exits, unknown ports, MMIO outside devices) */
	UKVM_STAT_MMIO,      /* virtio-mmio register access (QueueNotify is an ioeventfd: no exit) */
	UKVM_STAT_COUNT
};

/*
 * What ukvm_run reports. Extensible like struct ukvm_config: the caller sets
 * size = sizeof(struct ukvm_result) before ukvm_run, fields are only
 * appended, and ukvm_run fills an older (smaller) struct up to its size and
 * zeroes the fields of a newer (larger) one that it does not know.
 */
struct ukvm_result {
	uint32_t size;  /* set by the caller: sizeof(struct ukvm_result) of its ukvm.h */
	enum { UKVM_EXITED, UKVM_CRASHED, UKVM_TIMEOUT, UKVM_STOPPED, UKVM_FAILED,
	       UKVM_SNAPSHOTTED /* config.snapshot_when_idle written, the guest stopped there (status 0) */ } kind;
	int status;     /* EXITED: app status 0..255; CRASHED: 128 + signal; else the exit code */
	char msg[256];  /* one line (no newline) for every kind but EXITED */
	uint64_t exits_total;
	uint64_t exits[UKVM_STAT_COUNT];
	uint64_t phase_ns[UKVM_PHASE_COUNT];
	bool pv;        /* the guest ran in PV mode */
	unsigned ndevs; /* devices in devs[], in guest slot order (disks first: vda, vdb ...) */
	struct ukvm_dev_stats {
		char name[16];      /* as the guest names it: "vda" */
		char kind[16];      /* device class: "blk" */
		uint64_t notifies;  /* QueueNotify writes the device saw (ioeventfd counts) */
		uint64_t requests;  /* requests completed (used-ring entries), any status */
		uint64_t news;      /* times the device woke (or would wake) a WAITing vCPU */
		uint64_t exits;     /* MMIO exits to its registers (probe, setup, config), in exits[UKVM_STAT_MMIO] */
	} devs[UKVM_MAX_DEVS];
	/*
	 * Appended after 0.2 (networking): per NIC (eth0, eth1 ... in config order), what
	 * devs[] cannot say without changing its stride. A caller built
	 * against 0.2 has a smaller size and never sees these; one built
	 * against this header gets them. Each entry names its device in devs[]
	 * (dev) for the transport's counters, which it repeats.
	 */
	unsigned nnets;
	struct ukvm_net_stats {
		char name[16];        /* "eth0" */
		unsigned dev;         /* its index in devs[] */
		uint64_t rx_packets;  /* frames delivered to the guest */
		uint64_t rx_bytes;    /* their bytes, Ethernet header included, virtio header not */
		uint64_t rx_dropped;  /* frames read from the backend and not delivered (runt, too big) */
		uint64_t tx_packets;  /* frames the guest sent that the backend took */
		uint64_t tx_bytes;
		uint64_t tx_dropped;  /* frames refused (malformed chain, too big) or failed by the backend */
		uint64_t notifies;    /* = devs[dev].notifies: QueueNotify kicks, both queues */
		uint64_t news;        /* = devs[dev].news: times it woke a WAITing vCPU */
		uint64_t exits;       /* = devs[dev].exits: MMIO exits to its registers */
	} nets[UKVM_MAX_NICS];
	/* Appended after 0.2 (console input): the guest's reads of console_in_fd (exits, in exits[UKVM_STAT_CONSOLE]) and the bytes they brought. */
	uint64_t stdin_reads;
	uint64_t stdin_bytes;
	/*
	 * Appended after 0.2 (snapshots): CLOCK_MONOTONIC ns of the run's first
	 * exit, i.e. the guest has run (a restored VM: it came back from the WAIT
	 * it was snapshotted in; restore-to-running is this minus
	 * phase_ns[UKVM_PHASE_CREATE]). 0 when it never exited.
	 */
	uint64_t first_exit_ns;
	/*
	 * Appended after 0.2 (performance), with config.kvm_stats and a KVM that
	 * has binary stats (else 0): KVM's per-vCPU counters "pf_taken" (guest
	 * page faults KVM's MMU handled: on PVM's shadow MMU one per first
	 * touch of a 32 KiB group, ~10-14 us each), "pf_fixed" (those that
	 * installed a mapping) and "exits" (every exit, the ones handled inside
	 * the kernel included; exits_total counts only the monitor's).
	 */
	bool kvm_stats;
	uint64_t kvm_pf_taken;
	uint64_t kvm_pf_fixed;
	uint64_t kvm_exits;
	/*
	 * Appended after 0.2 (time slices), with kvm_stats: KVM's
	 * "irq_injections", the interrupts delivered to the guest. Only a
	 * pvm-pv guest with two or more threads runnable takes any (its
	 * time-slice timer, docs/design.md); every other run reports 0.
	 */
	uint64_t kvm_irqs;
	/* New fields go here, at the end. */
};

/* The smallest result ukvm_run fills: the struct of UKVM_VERSION 0.2, the first with a size. */
#define UKVM_RESULT_SIZE_0_2 (offsetof(struct ukvm_result, devs) + sizeof(((struct ukvm_result *)0)->devs))

struct ukvm_vm;

/*
 * A host context for embedders that create many VMs in one process: opens
 * /dev/kvm once, checks its API version and capabilities, and reads and
 * checks KVM's supported CPUID table and MSR list once (~0.4 ms of the
 * per-VM setup on PVM hosts). Set ukvm_config.host to create VMs on it; each
 * VM still gets its own VM and vCPU fds.
 *
 * Returns UKVM_OK and *out, or UKVM_ERR_KVM (UKVM_ERR_INTERNAL when out of
 * memory) with the same one-line message ukvm_create would give.
 * The host is immutable after open: any number of threads may call
 * ukvm_create on it concurrently.
 */
int ukvm_host_open(struct ukvm_host **out, char *err, size_t errlen);

/*
 * ukvm_host_open with flags. By default (and in ukvm_host_open and
 * ukvm_create without a host) KVM's supported-CPUID table, ~0.4 ms to ask
 * for on PVM hosts, is kept for the next process in a file of the effective
 * user, /dev/shm/ukvm-cpuid-<euid>, valid only for this boot and this KVM
 * module load; a missing, foreign or damaged file is ignored and rewritten.
 * UKVM_HOST_NO_CPUID_CACHE neither reads nor writes it. The VM is the same
 * either way.
 */
#define UKVM_HOST_NO_CPUID_CACHE 1u
/*
 * Levers for a host that creates VMs one after another (a serverless host;
 * README "Serverless hosts" has the figures). Each moves work off the path
 * of ukvm_create/ukvm_destroy onto libukvm's own threads (every signal
 * blocked there), not out of the process: CPU per VM stays about the same.
 * UKVM_HOST_IDLE_VM keeps one idle VM and vCPU open: KVM flips kernel
 * static keys (code patching, IPIs) whenever the first VM or vCPU appears
 * and the last goes. UKVM_HOST_POOL: a thread keeps a few VM shells ready
 * (KVM_CREATE_VM, KVM_CREATE_VCPU and KVM_SET_CPUID2 done; each shell is
 * fresh and used once, never a destroyed VM's); ukvm_create takes one when
 * there is one and builds its own otherwise. UKVM_HOST_REAPER: ukvm_destroy
 * stops the VM's devices and returns; a thread closes the VM and unmaps its
 * RAM. ukvm_host_close stops the threads (the reaper finishes first).
 * An undefined flag fails with UKVM_ERR_CONFIG.
 */
#define UKVM_HOST_IDLE_VM 2u
#define UKVM_HOST_POOL    4u
#define UKVM_HOST_REAPER  8u
#define UKVM_HOST_FAST (UKVM_HOST_IDLE_VM | UKVM_HOST_POOL | UKVM_HOST_REAPER)
int ukvm_host_open_flags(struct ukvm_host **out, unsigned flags, char *err, size_t errlen);

/*
 * Gives up the caller's reference. Every VM created on the host holds a
 * reference until ukvm_destroy, so closing while VMs live is safe: the host
 * is freed (its /dev/kvm fd closed) with the last of them. Call it once,
 * after the last ukvm_create on it has returned (no ukvm_create may race
 * it). host may be NULL.
 */
void ukvm_host_close(struct ukvm_host *host);

/*
 * Waits until the host's background threads are idle: every destroyed VM
 * freed, the pool full (or unable to fill). For benchmarks and tests that
 * count CPU or resources; a no-op on a host without those flags.
 */
void ukvm_host_quiesce(struct ukvm_host *host);

/*
 * Creates the VM and vCPU (on cfg->host, or opening and checking KVM itself
 * when that is NULL), maps guest RAM, validates and loads the image, builds
 * the page tables, descriptor tables, vCPU state and the FDT. On success returns
 * UKVM_OK and sets *out; on failure returns an enum ukvm_error and writes
 * one line (no "ukvm-run:" prefix, no newline) to err[errlen], e.g.
 * "app.img: segment 2: ends past guest memory (64 MiB)". Never exits. The
 * config and everything it points to are read during the call only.
 */
int ukvm_create(const struct ukvm_config *cfg, struct ukvm_vm **out, char *err, size_t errlen);

/*
 * Restores the snapshot file (docs/snapshot.md) as a new VM: ukvm_create
 * with cfg's restore replaced by snapshot, so everything said at
 * ukvm_config.restore holds (copy-on-write memory, the devices, the
 * console and disks from cfg, a fresh random seed and realtime clock);
 * ukvm_run then resumes the guest where it was snapshotted. A NULL or
 * empty snapshot fails with UKVM_ERR_CONFIG ("no snapshot given").
 */
int ukvm_restore(const char *snapshot, const struct ukvm_config *cfg, struct ukvm_vm **out, char *err,
		 size_t errlen);

/*
 * Runs the vCPU in the calling thread until the guest exits, crashes, the
 * timeout passes or ukvm_stop() is called; fills *res. Returns 0, -EINVAL
 * without running or writing *res when res->size is not a result size
 * (below UKVM_RESULT_SIZE_0_2: unset), or -EALREADY when the VM has run
 * before (res then says FAILED). May be called once per VM.
 */
int ukvm_run(struct ukvm_vm *vm, struct ukvm_result *res);

/*
 * Asks a running (or about to run) VM to stop: ukvm_run returns promptly
 * with kind UKVM_STOPPED. Async-signal-safe; callable from any thread or a
 * signal handler. Harmless after the run ended.
 */
void ukvm_stop(struct ukvm_vm *vm);

/*
 * Raises sig (1..64) at the app of a VM made with forward_signals: at once
 * when it is blocked in a syscall, else at its next syscall or time slice
 * (proto/ukvm_abi.h, "Host signals"). Before ukvm_run it waits for the
 * boot. 0, -EINVAL (sig), or -ENOTSUP (not forward_signals).
 * Async-signal-safe; callable from any thread or a signal handler.
 */
int ukvm_signal(struct ukvm_vm *vm, int sig);

/* ukvm_snapshot flags */
#define UKVM_SNAPSHOT_STOP 1u /* once written, the run ends: ukvm_run returns kind UKVM_SNAPSHOTTED, status 0 */

/*
 * Writes a snapshot of vm (docs/snapshot.md) to path, created mode 0600 or
 * truncated, while ukvm_run runs it on another thread. The vCPU is kicked
 * out of the guest (as by ukvm_stop) and held at that point: inside a WAIT
 * when the guest was waiting, else wherever its code was; in-flight device
 * I/O may finish first (up to 1 s, else -EBUSY). The calling thread writes
 * the file while the guest is held, then the guest runs on, or the run ends
 * with UKVM_SNAPSHOT_STOP. A VM restored from a snapshot taken running
 * resumes there; its realtime clock, random seed and console are fixed up
 * at once, before it runs (the restore block, proto/ukvm_abi.h; an older
 * guest kernel: at its first WAIT) (docs/snapshot.md, "Taken by
 * ukvm_snapshot"). Returns 0 or -errno with one
 * line in err (may be NULL): -EINVAL (arguments), -EAGAIN (ukvm_run has not
 * started: retry), -ESRCH (the run ended, or ended before the vCPU took the
 * request), -EBUSY (a snapshot of vm is being taken, or devices stayed
 * busy), -ENOTSUP (a device that cannot be snapshotted), -ETIMEDOUT (the
 * vCPU thread did not come within 10 s: withdrawn, the guest untouched), or
 * the file's errors. Not async-signal-safe; one call at a time per VM.
 */
int ukvm_snapshot(struct ukvm_vm *vm, const char *path, unsigned flags, char *err, size_t errlen);

/* Frees everything ukvm_create made. vm may be NULL. Not while ukvm_run runs. */
void ukvm_destroy(struct ukvm_vm *vm);

/* The ukvm-run exit code for a result: status for EXITED/CRASHED, else the UKVM_EXIT_* code. */
int ukvm_exit_code(const struct ukvm_result *res);

/*
 * The ukvm-run exit code for what ukvm_create() or ukvm_host_open()
 * returned: 0 for UKVM_OK, UKVM_EXIT_USAGE, _IMAGE or _NOKVM for those
 * kinds, UKVM_EXIT_INTERNAL for anything else (a -errno included).
 */
int ukvm_error_exit_code(int err);

/*
 * The jail (docs/jail.md): ukvm-run --jail for an embedder. Confines a VM's
 * monitor before it reads any guest input, as Firecracker's jailer does: new
 * mount, PID, IPC, UTS and network namespaces, an empty read-only root
 * holding only the files the VM uses, an unprivileged uid/gid with no
 * capability, no_new_privs, resource limits and optionally a cgroup.
 * Extensible like struct ukvm_config (size; fields only appended; a
 * larger struct with an unknown field set is refused).
 */
struct ukvm_jail {
	uint32_t size;          /* sizeof(struct ukvm_jail) */
	uint32_t uid, gid;      /* the jailed process's ids; 0 = 65534 (nobody, nogroup): never root */
	const char *cgroup;     /* a cgroup directory to create (if missing) and put the jail in:
				   memory limit guest RAM + 512 MiB, 2 CPUs; on cgroup v1, a directory in one
				   hierarchy, the same path made in the memory and cpu ones (docs/jail.md);
				   NULL = none */
};

/* The smallest struct ukvm_jail accepted: the first one. */
#define UKVM_JAIL_SIZE_0_2 (offsetof(struct ukvm_jail, cgroup) + sizeof(const char *))

/* What the jail opened for its VM before the host's tree went away (taps, /dev/kvm): ukvm_jail_free. */
struct ukvm_jailed;

/*
 * Forks a jail for the one VM cfg describes. Never pivots or changes the
 * ids of the calling process: everything happens in children, so a
 * serverless host calls it where it would call fork() for a process
 * dedicated to one VM (prefer a process with one thread: the child inherits
 * only the calling thread, and locks other threads held stay held).
 * Root only (euid 0). cfg->host must be NULL (the jail opens /dev/kvm
 * itself); its NICs must be UKVM_NET_TAP (opened in the caller's network
 * namespace before the jail leaves it) or UKVM_NET_FD (the embedder's fd,
 * inherited); UKVM_NET_USER is refused (its helper is a program the empty
 * root does not hold). The image, the disks and a restore snapshot are
 * bind-mounted into the root (they must be readable, disks writable unless
 * ro, by the jail's uid/gid); a snapshot_when_idle file is created there
 * owned by the jail's ids when missing, else it must be writable by them.
 *
 * Returns, like fork():
 *  - in the caller, the pid (> 0) of the jail's outer process once the
 *    jail is fully set up; waitpid() on it gives the VM's exit code as a
 *    shell reports it (WEXITSTATUS: ukvm_exit_code of the run, or 128 +
 *    signal); it passes SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGUSR1 on to
 *    the monitor, and the jail is SIGKILLed if the calling thread dies;
 *  - in the jailed process (pid 1 of its PID namespace), UKVM_OK with
 *    *out set and cfg rewritten to the jail's paths (image "/image", disks
 *    "/disk0"..., NICs UKVM_NET_FD, host set), every fd closed but stdio,
 *    cfg's console fds and NIC fds: it then calls ukvm_create, ukvm_run,
 *    ukvm_destroy, ukvm_jail_free and exits (_exit(code));
 *  - on failure, in the caller, an enum ukvm_error (UKVM_ERR_CONFIG for
 *    what the jail refuses or a NIC it cannot open, UKVM_ERR_KVM, else
 *    UKVM_ERR_INTERNAL) with one line in err, no child left behind.
 * cfg and what it points to must outlive *out.
 */
int ukvm_jail_enter(const struct ukvm_jail *jail, struct ukvm_config *cfg, struct ukvm_jailed **out, char *err,
		    size_t errlen);

/* Closes what the jail opened (taps, the host) and frees it; after ukvm_destroy. j may be NULL. */
void ukvm_jail_free(struct ukvm_jailed *j);

/*
 * For a program that only runs the jail (ukvm-run --jail): waits for the
 * jail's process pid, passing SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGUSR1
 * on to it as the jail's own processes do (it installs handlers for them:
 * not for an embedder with its own), and returns its exit code as a shell
 * reports it (UKVM_EXIT_INTERNAL if waiting failed).
 */
int ukvm_jail_wait(int pid);

/* Short names for --trace-boot and --stats, e.g. "kernel init done", "console". */
const char *ukvm_phase_name(enum ukvm_phase p);
const char *ukvm_stat_name(enum ukvm_stat s);

#endif
