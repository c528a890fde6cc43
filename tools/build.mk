# tools/build.mk: ukvm-build (image builder), the example apps and their images, and the benchmarks (bench-boot, bench-blk, bench-embed).
KERNEL_ELF  ?= $(BUILD)/guest/ukvm-kernel.elf
MUSL_LIBDIR := /usr/lib/x86_64-linux-musl
APP_CFLAGS  := -O2 -Wall -Wextra -Werror

# Debian's musl-gcc specs ignore -static-pie (Scrt1.o + a PT_INTERP: the result crashes); spell the link out.
MUSL_STATIC_PIE = $(MUSLCC) -fPIE -static-pie -nostartfiles $(MUSL_LIBDIR)/rcrt1.o $(MUSL_LIBDIR)/crti.o \
                  $(shell $(CC) -print-file-name=crtbeginS.o) $(1) $(shell $(CC) -print-file-name=crtendS.o) \
                  $(MUSL_LIBDIR)/crtn.o -Wl,-static -Wl,-pie -Wl,--no-dynamic-linker -Wl,-z,text

# --- ukvm-build -------------------------------------------------------------
IMGBUILD_LIB  := tools/imgbuild/pack.c tools/imgbuild/pack_files.c tools/imgbuild/pack_syms.c \
                 tools/imgbuild/pack_util.c
# The monitor's image checks (vmm/loader.c) vet every image before it is written.
IMGBUILD_OBJS := $(patsubst %.c,$(BUILD)/tools/%.o,tools/imgbuild/main.c $(IMGBUILD_LIB) proto/elf.c vmm/loader.c vmm/mem.c)

$(BUILD)/tools/%.o: %.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(HOST_CFLAGS) -Itools/imgbuild -c $< -o $@

$(BUILD)/ukvm-build: $(IMGBUILD_OBJS)
	$(Q)$(CC) -o $@ $^

# --- example apps and images ------------------------------------------------
APPS      := hello args exit malloc cat clock abort nullderef spin memops blkio blkhostile stdiofs libcmix regs bigmem edge sysloop signals sigabrt sigbad threads sigpipe libcfault blkthreads polltest epolltest socktest conio snapfn
# File-system calls against Linux (tests/integration/check_fs.c runs it natively on a tmpfs and in ukvm).
APPS      += fstest
# A guest that only stays up (tests/integration/check_gnet.c pings it).
APPS      += netidle
# Processes, threads, IPC and timers against Linux (tests/integration/check_proc.c).
APPS      += procmisc sigtimers futexpi sysvipc
# Threads that spin without syscalls: time slices in PV mode (tests/integration/check_preempt.c, bench-preempt).
APPS      += preempt
# Signals from outside: a graceful stop (tests/integration/check_hostsig.c).
APPS      += sigterm
# Shared memory (tests/integration/check_mm.c runs it natively and in ukvm).
APPS      += shmap mprot
# Console input (tests/integration/check_stdin.c).
APPS      += stdinio
# Functions for ukvm-serve (tests/integration/check_serve.c): crash, sleep, flood, alloc after reading the request.
APPS      += servefn
# The network apps (tests/integration/check_net.c runs each natively in a namespace and in ukvm).
NET_APPS  := tcpecho httpd udpecho netclient netflood nethostile
APPS      += $(NET_APPS)
# Built against glibc (gcc -static), as Debian's static programs are (tests/integration/check_proc.c).
GLIBC_APPS := glibcproc
APPS      += $(GLIBC_APPS)
APP_BINS  := $(APPS:%=$(BUILD)/apps/%)
APP_IMGS  := $(APPS:%=$(BUILD)/apps/%.img)
# A glibc program the way Debian builds them: SQLite in WAL mode (tests/integration/check_mm.c), linked
# with gcc -static against Debian's libsqlite3.a (libsqlite3-dev; its dlopen link warning is silenced).
SQL_APPS  := sqlwal
APP_IMGS  += $(SQL_APPS:%=$(BUILD)/apps/%.img)

$(SQL_APPS:%=$(BUILD)/apps/%): $(BUILD)/apps/%: guest/apps/%.c
	@mkdir -p $(@D)
	$(Q)$(CC) -O2 -static -Wl,-w -o $@ $< -lsqlite3 -lm

$(filter-out $(GLIBC_APPS:%=$(BUILD)/apps/%),$(APP_BINS)): $(BUILD)/apps/%: guest/apps/%.c
	@mkdir -p $(@D)
	$(Q)$(MUSLCC) -static $(APP_CFLAGS) -o $@ $<

$(GLIBC_APPS:%=$(BUILD)/apps/%): $(BUILD)/apps/%: guest/apps/%.c
	@mkdir -p $(@D)
	$(Q)$(CC) -static -pthread $(APP_CFLAGS) -o $@ $<

# 100 KiB of random bytes (NULs and all) for the packed-file test: cat.img carries it as /data.bin.
$(BUILD)/apps/data.bin:
	@mkdir -p $(@D)
	$(Q)head -c 102400 /dev/urandom > $@.tmp && mv $@.tmp $@

# The blk apps share say.h and the test pattern (guest/apps/blkpat.h, also read by bench-blk's
# blkrun and check_blk.c); blkhostile pokes the virtio registers itself: -iquote keeps proto/elf.h
# and friends from shadowing musl's own headers.
$(BUILD)/apps/blkio $(BUILD)/apps/blkhostile $(BUILD)/apps/blkthreads $(BUILD)/apps/polltest $(BUILD)/apps/epolltest $(BUILD)/apps/socktest $(BUILD)/apps/fstest: guest/apps/say.h
$(BUILD)/apps/blkio $(BUILD)/apps/blkthreads: guest/apps/blkpat.h
$(NET_APPS:%=$(BUILD)/apps/%): guest/apps/say.h guest/apps/netpat.h
$(BUILD)/apps/tcpecho $(BUILD)/apps/stdinio $(BUILD)/apps/fstest: APP_CFLAGS += -pthread
$(BUILD)/apps/netflood $(BUILD)/apps/nethostile: guest/apps/mmioapp.h proto/ukvm_abi.h proto/virtio.h proto/virtio_mmio.h proto/virtio_net.h
$(BUILD)/apps/netflood $(BUILD)/apps/nethostile: APP_CFLAGS += -iquote proto
$(BUILD)/apps/blkhostile: proto/ukvm_abi.h proto/virtio.h proto/virtio_mmio.h proto/virtio_blk.h
$(BUILD)/apps/blkhostile: APP_CFLAGS += -iquote proto
$(BUILD)/apps/conio: proto/ukvm_abi.h
$(BUILD)/apps/conio: APP_CFLAGS += -iquote proto

$(BUILD)/apps/cat.img: $(BUILD)/apps/data.bin
$(BUILD)/apps/cat.img: IMG_FILES := --file $(BUILD)/apps/data.bin:/data.bin

$(APP_IMGS): $(BUILD)/apps/%.img: $(BUILD)/apps/% $(BUILD)/ukvm-build $(KERNEL_ELF)
	$(Q)$(BUILD)/ukvm-build -o $@ --kernel $(KERNEL_ELF) $(IMG_FILES) $<

# hello as a static-PIE (the guest loader's copy-and-relocate path; non-PIE apps are placed by ukvm-build).
PIE_IMGS := $(BUILD)/apps/hello-pie.img

$(BUILD)/apps/hello-pie: guest/apps/hello.c
	@mkdir -p $(@D)
	$(Q)$(call MUSL_STATIC_PIE,$<) $(APP_CFLAGS) -o $@

$(PIE_IMGS): $(BUILD)/apps/%.img: $(BUILD)/apps/% $(BUILD)/ukvm-build $(KERNEL_ELF)
	$(Q)$(BUILD)/ukvm-build -o $@ --kernel $(KERNEL_ELF) $<

.PHONY: apps images
apps: $(APP_BINS) $(SQL_APPS:%=$(BUILD)/apps/%) $(BUILD)/apps/hello-pie
images: $(APP_IMGS) $(PIE_IMGS)

# --- benchmark ----------------------------------------------------------------
$(BUILD)/bench/kvm-floor: tools/bench/floor.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(HOST_CFLAGS) -o $@ $<

# The floor as ukvm-run is built: static musl (the kernel's headers from vmm/build.mk's musl-inc).
$(BUILD)/bench/kvm-floor-musl: tools/bench/floor.c $(BUILD)/musl-inc/.stamp
	@mkdir -p $(@D)
	$(Q)$(MUSLCC) -static $(APP_CFLAGS) -isystem $(BUILD)/musl-inc -o $@ $<

$(BUILD)/bench/bootbench: tools/bench/bootbench.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(HOST_CFLAGS) -o $@ $<

bench-boot: $(BUILD)/ukvm-run $(BUILD)/apps/hello.img $(BUILD)/bench/kvm-floor $(BUILD)/bench/kvm-floor-musl $(BUILD)/bench/bootbench
	$(Q)$(BUILD)/bench/bootbench $(BUILD)

# bench-blk: one source (tools/bench/blkbench.c) built for the guest and for the host, driven by blkrun.
$(BUILD)/apps/blkbench: tools/bench/blkbench.c
	@mkdir -p $(@D)
	$(Q)$(MUSLCC) -static $(APP_CFLAGS) -o $@ $<

$(BUILD)/apps/blkbench.img: $(BUILD)/apps/blkbench $(BUILD)/ukvm-build $(KERNEL_ELF)
	$(Q)$(BUILD)/ukvm-build -o $@ --kernel $(KERNEL_ELF) $<

$(BUILD)/bench/blkbench-host: tools/bench/blkbench.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(HOST_CFLAGS) -o $@ $<

$(BUILD)/bench/blkrun: tools/bench/blkrun.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(HOST_CFLAGS) -iquote guest/apps -o $@ $<

# bench-embed: libukvm in one process, VMs alone vs on a shared ukvm_host (tools/bench/embedbench.c).
$(BUILD)/bench/embedbench: tools/bench/embedbench.c $(BUILD)/libukvm.a
	@mkdir -p $(@D)
	$(Q)$(CC) $(HOST_CFLAGS) -o $@ $(filter %.c %.a,$^) $(HOST_LIBS)

all: $(BUILD)/bench/embedbench

.PHONY: bench-embed
bench-embed: $(BUILD)/bench/embedbench $(BUILD)/apps/hello.img
	$(Q)$(BUILD)/bench/embedbench $(BUILD)
	$(Q)$(BUILD)/bench/embedbench $(BUILD) $(or $(EMBED_SECCOMP_RUNS),100) seccomp

# bench-snap: a function restored from a snapshot vs booted vs fork+exec natively (tools/bench/snapbench.c).
$(BUILD)/bench/snapbench: tools/bench/snapbench.c $(BUILD)/libukvm.a
	@mkdir -p $(@D)
	$(Q)$(CC) $(HOST_CFLAGS) -o $@ $(filter %.c %.a,$^) $(HOST_LIBS)

all: $(BUILD)/bench/snapbench

.PHONY: bench-snap
bench-snap: $(BUILD)/bench/snapbench $(BUILD)/apps/snapfn.img $(BUILD)/apps/snapfn $(BUILD)/apps/hello.img \
	    $(BUILD)/apps/hello
	$(Q)$(BUILD)/bench/snapbench $(BUILD) $(or $(SNAP_RUNS),100)
	$(Q)$(BUILD)/bench/snapbench $(BUILD) $(or $(SNAP_RUNS),100) off
	$(Q)tools/bench/plots.sh $(BUILD)

# bench-serve: whole requests through ukvm-serve (restore, restore without levers, boot) vs --mode native, alternating
# (tools/bench/servebench.c; wrk when installed). SERVE_ROUNDS, SERVE_SECS: rounds and seconds per measurement.
$(BUILD)/bench/servebench: tools/bench/servebench.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(HOST_CFLAGS) -o $@ $< -lpthread

all: $(BUILD)/bench/servebench

.PHONY: bench-serve
bench-serve: $(BUILD)/bench/servebench $(BUILD)/ukvm-serve $(BUILD)/apps/snapfn.img $(BUILD)/apps/snapfn
	$(Q)$(BUILD)/bench/servebench $(BUILD)
	$(Q)tools/bench/plots.sh $(BUILD)

# bench-console: 200,000 lines to a file by guest/apps/conio, natively and in ukvm (tools/bench/conbench.c).
$(BUILD)/bench/conbench: tools/bench/conbench.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(HOST_CFLAGS) -o $@ $<

.PHONY: bench-console
bench-console: $(BUILD)/ukvm-run $(BUILD)/apps/conio $(BUILD)/apps/conio.img $(BUILD)/bench/conbench
	$(Q)$(BUILD)/bench/conbench $(BUILD)

# bench-preempt: two threads spinning a fixed amount of work natively, in pvm-pv mode (time slices) and in
# base mode (cooperative), on one CPU (tools/bench/preemptbench.c).
$(BUILD)/bench/preemptbench: tools/bench/preemptbench.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(HOST_CFLAGS) -o $@ $<
all: $(BUILD)/bench/preemptbench

.PHONY: bench-preempt
bench-preempt: $(BUILD)/ukvm-run $(BUILD)/apps/preempt $(BUILD)/apps/preempt.img $(BUILD)/bench/preemptbench
	$(Q)$(BUILD)/bench/preemptbench $(BUILD)

# bench-mm: an mprotect-heavy loop (guest/apps/mprot.c: a page pair made read-only and writable again),
# natively and in ukvm in both CPU modes, in one run (the machine's load swings: compare within it).
.PHONY: bench-mm
bench-mm: $(BUILD)/ukvm-run $(BUILD)/apps/mprot $(BUILD)/apps/mprot.img
	$(Q)printf 'native:      '; $(BUILD)/apps/mprot bench 2000
	$(Q)printf 'ukvm pv off: '; $(BUILD)/ukvm-run --quiet --pv off $(BUILD)/apps/mprot.img bench 2000
	$(Q)printf 'ukvm pv auto: '; $(BUILD)/ukvm-run --quiet $(BUILD)/apps/mprot.img bench 2000

BLK_BENCH := $(BUILD)/apps/blkbench.img $(BUILD)/bench/blkbench-host $(BUILD)/bench/blkrun

.PHONY: bench-blk
bench-blk: $(BUILD)/ukvm-run $(BLK_BENCH)
	$(Q)$(BUILD)/bench/blkrun $(BUILD)

# bench-net: tools/bench/netbench.c is one musl static binary run natively in a namespace and as an image, and
# its host-side client; httpd is the HTTP server for wrk; netrun (with the tests' namespace harness) drives them.
$(BUILD)/apps/netbench: tools/bench/netbench.c
	@mkdir -p $(@D)
	$(Q)$(MUSLCC) -static $(APP_CFLAGS) -o $@ $<

$(BUILD)/apps/netbench.img: $(BUILD)/apps/netbench $(BUILD)/ukvm-build $(KERNEL_ELF)
	$(Q)$(BUILD)/ukvm-build -o $@ --kernel $(KERNEL_ELF) $<

$(BUILD)/bench/netrun: tools/bench/netrun.c tests/integration/netns.c tests/integration/it_util.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(filter-out -MMD -MP,$(HOST_CFLAGS)) -Itests/integration -o $@ $^

NET_BENCH := $(BUILD)/apps/netbench $(BUILD)/apps/netbench.img $(BUILD)/apps/httpd $(BUILD)/apps/httpd.img \
             $(BUILD)/bench/netrun

.PHONY: bench-net
bench-net: $(BUILD)/ukvm-run $(NET_BENCH)
	$(Q)$(BUILD)/bench/netrun $(BUILD)

all: $(BUILD)/ukvm-build apps images $(BUILD)/bench/kvm-floor $(BUILD)/bench/kvm-floor-musl $(BUILD)/bench/bootbench $(BLK_BENCH) $(NET_BENCH)

# --- ukvm-serve: HTTP front end on libukvm (tools/serve, libmicrohttpd) ----------
SERVE_SRCS := tools/serve/serve.c tools/serve/servecfg.c tools/serve/worker.c
MHD_LIBS   := $(shell pkg-config --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)
$(BUILD)/ukvm-serve: $(patsubst %.c,$(BUILD)/tools/%.o,$(SERVE_SRCS)) $(BUILD)/libukvm.a
	$(Q)$(CC) -o $@ $^ $(HOST_LIBS) $(MHD_LIBS)

all: $(BUILD)/ukvm-serve

include tools/oci/build.mk
