/* ukvm_abi.h: the boot contract between the monitor, the guest kernel and ukvm-build. */
#ifndef UKVM_ABI_H
#define UKVM_ABI_H

#include <stdint.h>

/*
 * Version of this contract, carried in the image's PT_NOTE. The monitor
 * refuses an image whose note names another version.
 */
#define UKVM_ABI_VERSION 1

/* PT_NOTE: name "ukvm\0", type UKVM_NOTE_TYPE, descriptor struct ukvm_note. */
#define UKVM_NOTE_NAME "ukvm"
#define UKVM_NOTE_TYPE 0x554b0001u

/*
 * Descriptor of the ukvm note. All addresses are guest virtual addresses
 * inside an executable PT_LOAD segment of the image, except payload_*, which
 * are guest physical and must lie inside one PT_LOAD segment (or be 0/0 for
 * a bare kernel). The monitor validates every field.
 */
struct ukvm_note {
	uint32_t abi_version;    /* UKVM_ABI_VERSION */
	uint32_t flags;          /* UKVM_NOTE_* below; the monitor refuses unknown bits */
	uint64_t syscall_entry;  /* written to LSTAR */
	uint64_t exc_stubs;      /* 256 stubs, UKVM_EXC_STUB_SIZE apart: IDT vector v -> exc_stubs + v * size */
	uint64_t payload_gpa;    /* app + files + symbols, see struct ukvm_payload_hdr */
	uint64_t payload_size;
};

#define UKVM_EXC_STUB_SIZE 16

/*
 * ukvm_note.flags: what the kernel understands beyond the base contract.
 * UKVM_NOTE_STACK_GUARD: it reads /chosen/ukvm,stack-guard (below). A monitor
 * offers that only to a kernel that says so, because it takes 2 MiB of RAM
 * out of the page tables.
 */
#define UKVM_NOTE_STACK_GUARD 0x1u
#define UKVM_NOTE_FLAGS_KNOWN UKVM_NOTE_STACK_GUARD

/*
 * The app's main stack's guard gap, made by the monitor: with
 * /chosen/ukvm,stack-guard = <u64 gpa>, the 2 MiB page at gpa (2 MiB
 * aligned, in RAM, clear of every PT_LOAD segment and of the reserve map)
 * is not present in the page tables, identity and alias alike, and the
 * UKVM_STACK_GUARD_ROOM bytes above it are RAM clear of every segment too,
 * so the kernel may put the stack right above the gap and edit no
 * page-table entry: on PVM that edit (an emulated write to a shadowed page
 * table) and its TLB flush (base mode: an emulated CPL0 handler) cost
 * ~100 us of boot. The monitor offers it only for RAM of at least
 * UKVM_STACK_GUARD_MIN_MEM, and leaves the top UKVM_STACK_GUARD_TOP of RAM
 * above the room, where the kernel's first page allocations go.
 */
#define UKVM_STACK_GUARD_SIZE    (2ull << 20)
#define UKVM_STACK_GUARD_ROOM    (8ull << 20)
#define UKVM_STACK_GUARD_TOP     (2ull << 20)
#define UKVM_STACK_GUARD_MIN_MEM (32ull << 20)

/*
 * Guest physical memory map. Everything below UKVM_KERNEL_PHYS belongs to the
 * monitor's boot structures; the kernel image is loaded from
 * UKVM_KERNEL_PHYS up. All guest RAM is mapped twice: identity (virtual ==
 * physical) and at UKVM_KERNEL_VBASE + physical for the first 2 GiB, the
 * kernel's link address (-mcmodel=kernel). Every page-table entry has the
 * user bit. Page 0 is not mapped (null dereferences fault); the rest of the
 * first 2 MiB uses 4 KiB pages, all other RAM 2 MiB pages. PML4 slot 256 is
 * unused (the host's paravirtual interface wants it free).
 */
#define UKVM_KERNEL_VBASE   0xffffffff80000000ull
#define UKVM_GDT_GPA        0x1000ull   /* 1 page */
#define UKVM_IDT_GPA        0x2000ull   /* 256 * 16 bytes */
#define UKVM_TSS_GPA        0x3000ull   /* 104-byte TSS + 8 KiB I/O bitmap + 0xff */
#define UKVM_VIF_GPA        0x6000ull   /* pvm-pv VIF page (PV mode only, see below) */
#define UKVM_HOSTSIG_GPA    0x7000ull   /* host signals for the app, struct ukvm_hostsig (see "Host signals") */
/* 0x8000 .. 0x20000: unused */
#define UKVM_PT_GPA         0x20000ull  /* page tables: up to 0x70000; CR3 = the PML4 at
					   UKVM_PT_GPA (8 KiB aligned), an identical copy
					   at UKVM_PT_GPA + 0x1000 (PV mode's user PML4) */
#define UKVM_PT_END         0x70000ull
#define UKVM_EXC_STACK_TOP  0x80000ull  /* IST1 and RSP0: 0x70000..0x80000 */
#define UKVM_BOOT_STACK_LO  0x80000ull  /* the boot stack: 0x80000 up to the FDT (RSP) */
/*
 * The boot block: the FDT right below the console buffer
 * (UKVM_CONBUF_GPA, below), its start 16-byte aligned, and the boot stack
 * right below the FDT, so that the boot stack's top, the FDT and the
 * console buffer's header share one 32 KiB group [UKVM_BOOT_BLOCK,
 * +32 KiB) (a guest's first touch of a group costs a shadow-MMU fault on
 * PVM) while the FDT stays small (a large argv or env grows it down).
 */
#define UKVM_FDT_MAX        0x10000ull  /* 64 KiB */
#define UKVM_FDT_END        0xf7000ull  /* the FDT lies in [UKVM_FDT_END - UKVM_FDT_MAX, UKVM_RESTORE_GPA) */
/*
 * The restore block (struct ukvm_restore, "Restore block" below) takes the
 * top of the FDT's room: in the boot block's 32 KiB group, which every boot
 * touches and the console buffer's header shares, so the guest's look at it
 * at every syscall costs no shadow-MMU fault of its own (in the unused
 * host-signal page it cost one more per boot and per restore).
 */
#define UKVM_RESTORE_SIZE   0x80ull
#define UKVM_RESTORE_GPA    (UKVM_FDT_END - UKVM_RESTORE_SIZE)
#define UKVM_BOOT_BLOCK     0xf0000ull
#define UKVM_KERNEL_PHYS    0x100000ull /* lowest address a PT_LOAD may use */
#define UKVM_MEM_MIN        (8ull << 20)
#define UKVM_MEM_MAX        (64ull << 30) /* page tables above hold 64 PDs */
#define UKVM_MEM_ALIGN      (2ull << 20)  /* the page tables map RAM in 2 MiB pages */

/*
 * virtio-mmio devices live in one 2 MiB window just above the largest RAM,
 * identity-mapped (user bit, 2 MiB page) by the monitor's page tables.
 * Device i (in command-line order: disks first, then NICs) has its v2
 * register block at UKVM_MMIO_BASE + i * UKVM_MMIO_STRIDE. A write to
 * QueueNotify goes to a KVM ioeventfd (no exit to the monitor); every other
 * register access is an MMIO exit, so drivers touch them only at setup.
 */
#define UKVM_MMIO_BASE      UKVM_MEM_MAX
#define UKVM_MMIO_STRIDE    0x1000ull
#define UKVM_MMIO_MAX_DEVS  32
#define UKVM_MMIO_IRQ_BASE  5          /* device i has interrupt UKVM_MMIO_IRQ_BASE + i (never delivered: the guest polls) */

/*
 * GDT selectors. The vCPU starts at CPL3 with CS = UKVM_SEL_UCODE and
 * SS = DS = ES = FS = GS = UKVM_SEL_UDATA. STAR holds the kernel pair 0x08/0x10
 * and the SYSRET base 0x18 (never used: SYSRET kills the VM on PVM).
 */
#define UKVM_SEL_KCODE 0x08
#define UKVM_SEL_KDATA 0x10
#define UKVM_SEL_UDATA 0x23
#define UKVM_SEL_UCODE 0x2b
#define UKVM_SEL_TSS   0x30

/*
 * PV mode ("pvm-pv", the paravirtual interface of this project's PVM hosts,
 * docs/design.md, "Two CPU modes"): used when the monitor finds it
 * (MSR 0x4b564d11 reads "PVM") unless told not to (--pv off); the FDT says
 * so with /chosen/ukvm,pv. Differences from the state above:
 * - the vCPU starts in PV kernel mode (virtual CPL0, native): CS =
 *   UKVM_PV_SEL_KCODE, SS = DS = ES = UKVM_PV_SEL_KDATA, FS = GS = 0; the app
 *   runs in PV user mode, CS 0x33 / SS 0x2b. STAR = 0x23 << 48 | 0x10 << 32.
 * - GDT: 0x10 kernel code, 0x18 kernel data, 0x20 user code 32, 0x28 user
 *   data, 0x30 user code 64, TSS at UKVM_PV_SEL_TSS. GDT, IDT and TSS bases
 *   are the kernel alias (UKVM_KERNEL_VBASE + gpa). IDT gates use 0x10.
 * - CR3 = UKVM_PT_GPA (kernel PML4); the host switches to CR3 | 0x1000 (the
 *   identical user PML4) in user mode.
 * - MSR 0x4b564d10 = UKVM_VIF_GPA | UKVM_PV_FLAGS | 0x400, set last. The VIF
 *   page (struct pvm_vif: u8 if_, pending, pad[6]; u64 cr2) is zero at boot
 *   (if_ = 0, and the guest never sets it: its one interrupt, the time-slice
 *   timer of the vCPU's in-kernel APIC, reaches it only in user mode).
 * Guest rules in PV mode: SYSCALL returns with `int $0x19` (RIP <- RCX,
 * RFLAGS <- R11, RSP kept), the app is entered with `int $0x17` (iret frame
 * at RSP), the exception stubs run natively and read CR2 from VIF + 8, CPUID
 * is `int $0x1a`; hypercall OUTs and MMIO accesses still exit as before.
 * User mode cannot reach the kernel half (#PF): what the app is given (the
 * vDSO) is the identity view. The host swaps GS on every switch, so the
 * kernel reaches the app's GS base only as MSR_KERNEL_GS_BASE (rdmsr/wrmsr).
 */
#define UKVM_PV_SEL_KCODE 0x10
#define UKVM_PV_SEL_KDATA 0x18
#define UKVM_PV_SEL_UDATA 0x2b
#define UKVM_PV_SEL_UCODE 0x33
#define UKVM_PV_SEL_TSS   0x40
#define UKVM_PV_FLAGS     0x5full /* kpti|preflip|preflip_syscall|ds_iret|cr2_cell|eretu */

/*
 * Entry state: RIP = ELF entry (a kernel virtual address), RDI = the FDT's
 * gpa (the boot block, above), RSP = UKVM_KERNEL_VBASE + RDI, RFLAGS = 0x2
 * (IOPL 0, IF 0), CPL3. CR0 = PE|MP|ET|NE|WP|PG, CR4 = PAE|PGE|OSFXSR|
 * OSXMMEXCPT|FSGSBASE, EFER = SCE|LME|LMA|NXE. FMASK clears TF, DF, AC, NT.
 * The TSS I/O bitmap opens the serial ports and the hypercall ports only:
 * UKVM_PORT_BASE .. UKVM_PORT_BASE + UKVM_PORT_COUNT + 2, because a 4-byte
 * `outl` to port p is checked against the bits of p .. p + 3; the monitor
 * refuses the unused ones at run time.
 * IDT: every vector is a 64-bit interrupt gate (DPL0, IST1) to its stub.
 */

/*
 * Hypercalls: `outl %eax, $port` from the guest. For ports that take
 * arguments, EAX is the guest physical address (< 4 GiB, 8-byte aligned) of
 * the argument block below; the monitor reads and writes it through its
 * checked guest-memory translation.
 */
#define UKVM_PORT_BASE    0x500
#define UKVM_PORT_EXIT    0x500 /* EAX = exit status (the monitor keeps the low 8 bits) */
#define UKVM_PORT_CRASH   0x501 /* EAX = signal number; report already printed */
#define UKVM_PORT_CONSOLE 0x502 /* EAX = gpa of struct ukvm_console */
#define UKVM_PORT_WAIT    0x503 /* EAX = gpa of struct ukvm_wait */
#define UKVM_PORT_MARK    0x504 /* EAX = enum ukvm_mark */
#define UKVM_PORT_CONSOLE_ERR 0x505 /* EAX = gpa of struct ukvm_console: like UKVM_PORT_CONSOLE, to stderr */
#define UKVM_PORT_INPUT   0x506 /* EAX = gpa of struct ukvm_input: reads the guest's stdin */
#define UKVM_PORT_COUNT   7

/*
 * Console write: the monitor copies [gpa, gpa + len) to the stream the port
 * names: UKVM_PORT_CONSOLE the guest's stdout (fd 1), UKVM_PORT_CONSOLE_ERR
 * its stderr (fd 2; also the kernel's notices and crash reports). The port,
 * not a field, names the stream, so the block and port 0x502 keep the
 * meaning they had when there was one stream.
 */
struct ukvm_console {
	uint64_t gpa;
	uint64_t len; /* at most UKVM_CONSOLE_MAX; longer writes are split by the guest */
	int64_t ret;  /* out: bytes written or -errno */
};
#define UKVM_CONSOLE_MAX (1u << 20)

/*
 * Console buffer: output coalesced in guest memory, so that a program
 * printing to a file or pipe costs one exit per buffer, not one per write()
 * (musl's stdio writes 1 KiB at a time: 1,256 exits for 200,000 short lines).
 * The monitor offers it with /chosen/ukvm,conbuf = <u64 gpa, u64 size>
 * (today UKVM_CONBUF_GPA and UKVM_CONBUF_SIZE, in the boot area, so no
 * allocator of the guest hands it out); a guest that ignores the offer
 * writes through the console ports as before.
 *
 * Layout: struct ukvm_conbuf, then records filling [0, used) of the rest:
 * each a struct ukvm_conrec (at any alignment: both sides copy it) and len
 * bytes of stream 1 (stdout) or 2 (stderr), in the order the app wrote them,
 * so `2>&1` interleaves exactly. The guest appends (or extends its last
 * record) and raises used; it buffers only a stream whose host fd is not a
 * terminal (ukvm,std*-tty absent): a user at a terminal sees prompts at once.
 *
 * The monitor drains it, writing the records in order and then setting used
 * to 0, at every hypercall before serving it (so a direct console write, a
 * WAIT, a read of stdin, an exit and a crash report all come after what was
 * buffered before them) and once more when the run ends for any reason
 * (exit, crash, timeout, ukvm_stop, a snapshot), waiting for a slow reader
 * at most UKVM_CONBUF_GRACE_MS there; so no byte the guest buffered is lost
 * even when it is killed. A write that does not fit goes to the console
 * port directly: that exit drains the buffer first. (The guest also sends a
 * write directly when the batch is old, so a slow writer's log keeps up.)
 * While the guest runs, the monitor also stops it now and then (a kick, at
 * any instruction) and writes what lies below used without emptying the
 * buffer: so the guest raises used only after the record's bytes and length
 * are in place, and a last record whose length already runs past used is
 * one it is extending (written up to used, the rest at the next drain).
 *
 * The buffer is the guest's: the monitor reads used and each record header
 * once, bounds them against its own copy of size, and ends the run as a guest
 * error (after the records before the bad one went out) when used exceeds
 * the buffer, a header or its bytes run past used, or the stream is unknown.
 */
#define UKVM_CONBUF_GPA      UKVM_FDT_END /* 0xf7000 .. 0xff000: its header page in the boot block */
#define UKVM_CONBUF_SIZE     0x8000ull /* 32 KiB, header included */
#define UKVM_CONBUF_GRACE_MS 250       /* a stopped run's last drain waits this long for a full pipe: within the stop budget (SIGTERM: 1 s) */
struct ukvm_conbuf {
	uint64_t used; /* bytes of records after this header; the monitor sets it to 0 when drained */
};
struct ukvm_conrec {
	uint32_t stream; /* 1 stdout, 2 stderr (the app's fd numbers) */
	uint32_t len;    /* bytes following this header */
};

/*
 * Console input: the monitor reads what its input fd (the guest's fd 0)
 * holds now into [gpa, gpa + len), never waiting for more: ret is the bytes
 * read (a terminal in canonical mode gives one line), 0 at end of file (a
 * terminal's ^D: the next read may give more), -EAGAIN when nothing is
 * there yet (then a WAIT with UKVM_WAIT_INPUT sleeps until it is), or
 * another -errno. No input configured reads as end of file.
 */
struct ukvm_input {
	uint64_t gpa;
	uint64_t len;   /* at most UKVM_INPUT_MAX */
	int64_t ret;    /* out */
	uint64_t flags; /* out: UKVM_INPUT_HUP */
};
#define UKVM_INPUT_MAX (1u << 20)
/*
 * With ret 0: the input hung up (a pipe whose writers closed, a socket shut
 * down), so poll(2) reports POLLHUP without POLLIN, as Linux does there; the
 * end of a file or ^D on a terminal polls POLLIN.
 */
#define UKVM_INPUT_HUP 1ull

/*
 * What the host fd behind one of the guest's fds 0-2 is: the restoring
 * run's answer to what /chosen/ukvm,std*-tty said at boot (below), so a
 * restored app's isatty/TCGETS/TIOCGWINSZ (and the kernel's choice to buffer
 * that stream, "Console buffer" above) follow the console it runs on now.
 */
struct ukvm_tty {
	uint32_t flags;      /* UKVM_TTY_TERMINAL; other bits 0 */
	uint16_t rows, cols; /* with UKVM_TTY_TERMINAL: its window size (0 0 when unknown) */
};
#define UKVM_TTY_TERMINAL 1u

/*
 * Wait: block the vCPU until timeout_ns of host monotonic time have passed
 * or a device has news, whichever comes first. timeout_ns = UINT64_MAX waits
 * for device news only (the monitor refuses it if no device can ever wake
 * it). The guest then polls its used rings.
 */
struct ukvm_wait {
	uint64_t timeout_ns;
	uint64_t flags;   /* UKVM_WAIT_* below; unknown bits: -EINVAL */
	int64_t ret;      /* out: 0 timeout, 1 device news, UKVM_WAIT_RESTORED, -errno;
	                     with UKVM_WAIT_INPUT, UKVM_WAIT_RET_INPUT may be or'd into 0 or 1 */
	/*
	 * Appended for snapshots: written by the monitor only with ret
	 * UKVM_WAIT_RESTORED, yet the guest's block is always the whole struct.
	 * A snapshot's guest made its WAIT with its own kernel's struct:
	 * growing it takes a new snapshot format version (vmm/snap.h), so an
	 * older guest's smaller block is never written past its end.
	 */
	uint64_t realtime_ns; /* host CLOCK_REALTIME just before the restored vCPU resumed */
	uint8_t seed[32];     /* fresh host entropy, to be mixed into the guest's generator */
	struct ukvm_tty tty[3]; /* the restoring run's fds 0, 1, 2 (snapshot version 4) */
};

/*
 * The guest is idle: a thread waits for input from outside the VM (a read,
 * poll, select or epoll_wait that includes fd 0, the console's input, or
 * an inet socket's accept or recv), no thread can run, its drivers have no
 * request in flight, and the wait is unbounded or at least
 * UKVM_WAIT_IDLE_MIN_NS (50 ms). Threads sleeping beside that waiter do not
 * matter; a pure sleep is never idle (a function sleeping in its
 * initialisation has not finished it). A monitor asked to snapshot when
 * idle (docs/snapshot.md) may take the snapshot inside such a WAIT, once
 * its devices are quiet too.
 */
#define UKVM_WAIT_IDLE (1ull << 0)
#define UKVM_WAIT_IDLE_MIN_NS 50000000ull
/*
 * ret of a WAIT the vCPU was snapshotted in, seen by each VM restored from
 * that snapshot: realtime_ns, seed and tty are fresh. The guest keeps its
 * monotonic clock running from where it was when it made the call, sets
 * its realtime clock (and the vDSO's) from realtime_ns, reseeds its random
 * generator with seed, takes tty[i] in place of /chosen/ukvm,std*-tty for
 * its fd i, then polls its devices as after news.
 */
#define UKVM_WAIT_RESTORED 2
/*
 * Console input: with UKVM_WAIT_INPUT in flags the wait also ends when the
 * input (UKVM_PORT_INPUT) is readable, at its end or in error, and ret then
 * has UKVM_WAIT_RET_INPUT, or'd with UKVM_WAIT_RET_NEWS (1) when a device
 * had news too: 4 or 5, never UKVM_WAIT_RESTORED.
 */
#define UKVM_WAIT_INPUT      (1ull << 1)
#define UKVM_WAIT_RET_NEWS   1
#define UKVM_WAIT_RET_INPUT  4

/*
 * Host signals: /chosen/ukvm,hostsig = <u64 gpa> of a struct ukvm_hostsig
 * (today UKVM_HOSTSIG_GPA), present when the embedder forwards signals to
 * the app (ukvm-run --signals forward, ukvm-oci). Bit n - 1 of pending asks
 * the guest to raise signal n at the app as a kill(2) from outside the VM
 * would (process-directed, si_code SI_USER, si_pid 0). The monitor sets
 * bits only while the vCPU is out of KVM_RUN (it kicks it out for that),
 * and a WAIT ends when it sets one (ret UKVM_WAIT_RET_NEWS); the guest
 * takes and clears them whenever it returns to the app from a syscall or an
 * interrupt, and after every WAIT. So an app blocked in a syscall sees a
 * signal at once, a running one at its next syscall or time slice.
 * caught is the guest's: bit n - 1 set while signal n has a handler or is
 * ignored (not SIG_DFL). An app that computes without a syscall would never
 * take a signal whose default action ends it: when such a bit (not caught,
 * default action terminate or core) stays pending for
 * UKVM_HOSTSIG_GRACE_MS of the guest running, the monitor ends the run as
 * the guest would have, status 128 + n. caught is guest-controlled: it only
 * decides whether the guest or the monitor carries out the guest's own
 * death. With the property present a WAIT with no device and no input is
 * not a deadlock: a host signal may still end it.
 */
struct ukvm_hostsig {
	uint64_t pending; /* monitor sets, guest clears */
	uint64_t caught;  /* guest writes: signals with a handler or ignored */
};
#define UKVM_HOSTSIG_GRACE_MS 100

/*
 * Restore block, at UKVM_RESTORE_GPA (the top of the FDT's room, zero at
 * boot; a monitor before it ended the FDT there, dead memory once the
 * guest booted, so only a snapshot taken running inside an older kernel's
 * boot could lose its FDT's last bytes): how a VM restored from a
 * snapshot taken running (ukvm_snapshot while the guest computed, in no
 * WAIT) gets the fix-ups of a restore at once rather than at its first
 * WAIT, so that two VMs restored from one such snapshot never draw the same
 * random bytes and read the host's realtime from their first instruction
 * on. A monitor restoring a snapshot taken running writes the block
 * (realtime_ns and the vCPU's TSC read together, a fresh seed, the
 * restoring run's console) and gen + 1 before the vCPU runs; it still
 * answers the guest's first WAIT with UKVM_WAIT_RESTORED and the same seed,
 * for a kernel that does not read the block. This kernel compares gen with
 * the last one it acted on at every syscall, before every draw of its
 * random generator and in the vDSO's realtime reads (then through the
 * syscall), and takes a WAIT answer whose seed is the block's it applied as
 * done. A snapshot taken in a WAIT is answered there and leaves the block
 * alone. Guest memory: the monitor reads gen only, any value.
 */
struct ukvm_restore {
	uint64_t gen;         /* monitor: + 1 per restore of a snapshot taken running */
	uint64_t realtime_ns; /* host CLOCK_REALTIME ... */
	uint64_t tsc;         /* ... and the vCPU's TSC at the same moment */
	uint8_t seed[32];     /* fresh host entropy, to be mixed into the guest's generator */
	struct ukvm_tty tty[3]; /* the restoring run's fds 0, 1, 2, as in struct ukvm_wait */
};

/* Boot-phase marks (`--trace-boot`), sent only when /chosen has ukvm,trace-boot. */
enum ukvm_mark {
	UKVM_MARK_KERNEL_ENTRY = 1, /* first instructions of the kernel */
	UKVM_MARK_KERNEL_READY = 2, /* kernel init done, app about to be loaded */
	UKVM_MARK_APP_MAIN = 3,     /* app's entry point reached (first syscall after) */
};

/*
 * FDT passed in RDI (built with libfdt, version 17):
 *   /#address-cells = 2, /#size-cells = 2, /compatible = "ukvm"
 *   /memory@0 { device_type = "memory"; reg = <0 size>; }
 *   /chosen {
 *     ukvm,argv         stringlist, argv[0] = image name
 *     ukvm,env          stringlist "K=V"
 *     ukvm,tsc-khz      u32
 *     ukvm,boot-time-ns u64  host CLOCK_REALTIME just before first KVM_RUN
 *     rng-seed          32 random bytes
 *     ukvm,payload      <u64 gpa, u64 size>   (from the note)
 *     ukvm,trace-boot   empty, present when marks are wanted
 *     ukvm,pv           u64 VIF gpa (UKVM_VIF_GPA); present iff the vCPU starts in PV
 *                       mode (see "PV mode" above); absent: the CPL3 base mode
 *     ukvm,argv0-set    empty, present when argv[0] was chosen by the user (--argv0);
 *                       absent: argv[0] is the image path and the guest uses the app's
 *                       own name from the payload instead when it has one
 *     ukvm,stdin-tty    present iff the host fd behind the guest's fd 0 / 1 / 2 is a
 *     ukvm,stdout-tty   terminal; value: u32 <rows cols> of its window at boot (0 0 when
 *     ukvm,stderr-tty   unknown). isatty/TCGETS/TIOCGWINSZ answer from these; a restored
 *                       guest from struct ukvm_wait's tty instead (UKVM_WAIT_RESTORED)
 *     ukvm,quiet        empty, present when kernel notices are silenced (--quiet)
 *     ukvm,cwd          string, absolute: the app starts in this directory (absent: "/");
 *                       one that is missing or not a directory stops the boot with a report
 *     ukvm,conbuf       <u64 gpa, u64 size>: the console buffer the monitor drains (above,
 *                       "Console buffer"); absent: write every piece through the console ports
 *     ukvm,hostsig      u64 gpa of the host-signal word (above, "Host signals"); absent:
 *                       the app gets no signal from outside
 *     ukvm,cpuid        u32 cells, 6 per leaf: <leaf subleaf eax ebx ecx edx> for
 *                       leaves 0, 1 and 7.0 as given to the vCPU (KVM_SET_CPUID2),
 *                       so the guest spends no CPUID exit on them; bits the CPU
 *                       computes at run time (APIC id, OSXSAVE) are not in it
 *   }
 *   /virtio_mmio@<addr> { compatible = "virtio,mmio"; reg = <addr 0x1000>;
 *                         interrupts = <irq>; }   one per device, in order
 *   A NIC's node (virtio-net; the first is eth0, the next eth1 ...) adds its
 *   interface configuration; an absent property means "not configured":
 *     local-mac-address  6 bytes (also in the device's config space)
 *     ukvm,ipv4-addr     4 bytes, network order
 *     ukvm,ipv4-prefix   u32, 0..32
 *     ukvm,ipv4-gw       4 bytes, network order
 *     ukvm,ipv4-dns      4 bytes per server, network order (1..UKVM_NET_MAX_DNS)
 *     ukvm,mtu           u32, UKVM_NET_MTU_MIN..UKVM_NET_MTU_MAX (absent: 1500)

 * Reserve map: [0, UKVM_KERNEL_PHYS) and every PT_LOAD segment's pages.
 */

/* Node and property names of that tree: the monitor writes and the guest reads these, never literals. */
#define UKVM_FDT_COMPATIBLE     "ukvm"
#define UKVM_FDT_MEMORY_NODE    "memory@0"
#define UKVM_FDT_MEMORY_PATH    "/memory@0"
#define UKVM_FDT_CHOSEN_NODE    "chosen"
#define UKVM_FDT_CHOSEN_PATH    "/chosen"
#define UKVM_FDT_ARGV           "ukvm,argv"
#define UKVM_FDT_ENV            "ukvm,env"
#define UKVM_FDT_TSC_KHZ        "ukvm,tsc-khz"
#define UKVM_FDT_BOOT_TIME_NS   "ukvm,boot-time-ns"
#define UKVM_FDT_RNG_SEED       "rng-seed"
#define UKVM_FDT_PAYLOAD        "ukvm,payload"
#define UKVM_FDT_TRACE_BOOT     "ukvm,trace-boot"
#define UKVM_FDT_PV             "ukvm,pv"
#define UKVM_FDT_CPUID          "ukvm,cpuid"
#define UKVM_FDT_ARGV0_SET      "ukvm,argv0-set"
#define UKVM_FDT_STDIN_TTY      "ukvm,stdin-tty"
#define UKVM_FDT_STDOUT_TTY     "ukvm,stdout-tty"
#define UKVM_FDT_STDERR_TTY     "ukvm,stderr-tty"
#define UKVM_FDT_QUIET          "ukvm,quiet"
#define UKVM_FDT_CWD            "ukvm,cwd"
#define UKVM_FDT_CONBUF         "ukvm,conbuf"
#define UKVM_FDT_STACK_GUARD    "ukvm,stack-guard"
#define UKVM_FDT_HOSTSIG        "ukvm,hostsig"
#define UKVM_FDT_CPUID_CELLS    6 /* u32 cells per leaf: leaf subleaf eax ebx ecx edx */
#define UKVM_FDT_VIRTIO_MMIO    "virtio,mmio" /* compatible of a device node */
#define UKVM_FDT_VIRTIO_NODE    "virtio_mmio@%llx" /* printf format: the device's base address */
#define UKVM_FDT_NET_MAC        "local-mac-address"
#define UKVM_FDT_NET_IPV4       "ukvm,ipv4-addr"
#define UKVM_FDT_NET_PREFIX     "ukvm,ipv4-prefix"
#define UKVM_FDT_NET_GW         "ukvm,ipv4-gw"
#define UKVM_FDT_NET_DNS        "ukvm,ipv4-dns"
#define UKVM_FDT_NET_MTU        "ukvm,mtu"
#define UKVM_NET_MAX_DNS        3
#define UKVM_NET_MTU_MIN        576
#define UKVM_NET_MTU_MAX        9000

/* Payload (written by ukvm-build, read by the guest kernel). Offsets from the header. */
#define UKVM_PAYLOAD_MAGIC "UKVMPAY1"
struct ukvm_payload_hdr {
	char magic[8];
	uint64_t app_off, app_size;     /* the app's static ELF, byte-exact */
	uint64_t files_off, files_size; /* records of struct ukvm_file_rec */
	uint64_t syms_off, syms_count;  /* struct ukvm_sym[], sorted by addr */
	uint64_t strs_off, strs_size;   /* NUL-terminated names for syms */
	uint64_t flags;                 /* UKVM_PAYLOAD_*; unknown bits are refused */
};

/*
 * The app is non-PIE and ukvm-build also emitted each of its non-empty
 * PT_LOAD segments as a PT_LOAD of the image (p_paddr = p_vaddr = the app's
 * address, same filesz/memsz/flags), so the monitor has already loaded it
 * and reserved its pages: the guest checks it and skips the copy, which on
 * PVM costs a first touch of every source and destination page.
 */
#define UKVM_PAYLOAD_APP_PLACED 1ull

/*
 * The header is followed by struct ukvm_payload_name: the app's own file
 * name as ukvm-build was given it (basename, NUL included, at most
 * UKVM_PAYLOAD_NAME_MAX bytes), the default argv[0]. Payloads without the
 * flag (older ukvm-build) keep argv[0] = the image path.
 */
#define UKVM_PAYLOAD_APP_NAME 2ull
#define UKVM_PAYLOAD_NAME_MAX 256
struct ukvm_payload_name {
	uint64_t name_off, name_size; /* from the header, like the other offsets */
};

/*
 * One file, directory or symbolic link: header, name (name_len bytes incl.
 * NUL), data, padded to 8. A link's data is its target: 1 to 4095 bytes,
 * no NUL (its permission bits are ignored: a link is 0777).
 */
struct ukvm_file_rec {
	uint32_t mode;     /* Linux st_mode: S_IFREG, S_IFDIR or S_IFLNK | permissions */
	uint32_t name_len; /* absolute guest path, e.g. "/data.txt", NUL included */
	uint64_t size;     /* data bytes (0 for a directory) */
};

/* A function symbol. For a static-PIE app, addr is relative to its load base. */
#define UKVM_SYM_APP 1u /* the app's, not the kernel's */
#define UKVM_SYM_PIE 2u /* addr is relative to the app's load base */
struct ukvm_sym {
	uint64_t addr;
	uint32_t size;
	uint16_t flags;
	uint16_t pad;
	uint64_t name_off; /* into strs */
};

/*
 * The guest RAM size rule, the one place it is written: NULL when size is
 * usable, else why not, in words both sides print ("--mem 5M: below the
 * minimum 8M", "bad memory size ... in the FDT").
 */
static inline const char *ukvm_mem_size_invalid(uint64_t size)
{
	if (size < UKVM_MEM_MIN)
		return "below the minimum 8M";
	if (size > UKVM_MEM_MAX)
		return "above the maximum 64G";
	if (size % UKVM_MEM_ALIGN)
		return "not a multiple of 2M";
	return (const char *)0;
}

/* The status a UKVM_PORT_EXIT value ends the VM with: like Linux's exit(), only the low 8 bits. */
static inline int ukvm_exit_status(uint32_t val)
{
	return (int)(val & 0xffu);
}

/* "SIGSEGV" for 11 and so on (Linux x86-64 numbering); "SIGRT" for 32..64, "signal" otherwise. */
static inline const char *ukvm_signal_name(uint32_t sig)
{
	static const char *const names[32] = {
		"signal", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS",
		"SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM",
		"SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG",
		"SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
	};
	if (sig < 32)
		return names[sig];
	return sig <= 64 ? "SIGRT" : "signal";
}

#endif
