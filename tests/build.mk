# tests/build.mk: all test wiring: one Check runner (ASan+UBSan) holding every unit suite and, when KVM
# is usable, the integration suites; the host builds of tested sources and what the suites need built.
UNIT_SRCS := $(sort $(wildcard tests/unit/check_*.c))
IT_SRCS   := $(sort $(wildcard tests/integration/check_*.c))
TEST_OBJDIR := $(BUILD)/tests/obj

# --- sources under test, linked into the runner ---------------------------------
# The monitor library (vmm/, devices/, proto/) and the image builder.
TESTED_SRCS := $(LIBUKVM_SRCS) $(IMGBUILD_LIB)

# Pure guest kernel parts: extent allocator, symbol lookup.
TESTED_SRCS += guest/kernel/pmem.c guest/kernel/payload.c

# ukvm-serve's command line (tools/serve).
TESTED_SRCS += tools/serve/servecfg.c

# ukvm-oci's modules (tools/oci) but its main.
TESTED_SRCS += $(OCI_LIB)

# --- guest code with fakes of the kernel around it ------------------------------------
# Each group links real guest modules under their real names with explicit fakes of exactly the kernel
# services they call (tests/unit/misc_stubs.c, fs_shim.c or the suite itself) into one relocatable object that
# exports only its suites' <name>_suite(): everything else is made local, so the groups' fakes never
# meet each other or the real modules of another group in the runner, and nothing depends on link order.
GUEST_GROUPS := gheap gcore gfs gpanic gsock
# The fuzz harnesses (tests/fuzz, "fuzzing" below): those running guest code join group gfuzz.
FUZZ_HOST_HARNESSES  := elf virtq vqdrv fdt mmio blk net snap
FUZZ_GUEST_HARNESSES := payload imgbuild
# The kernel heap on host pages (check_kmalloc.c fakes the page allocator and k_panic).
gheap_SRCS   := guest/kernel/kmalloc.c tests/unit/check_kmalloc.c
gheap_SUITES := kmalloc
# String functions (the group's memcpy, strlen ... are the guest's own), printf, the CSPRNG and the misc
# syscalls, on tests/unit/misc_stubs.c.
gcore_SRCS   := guest/kernel/string.c guest/kernel/printf.c guest/kernel/random.c guest/sys/sys_misc.c \
                guest/sys/sys_time.c guest/sys/sys_signal.c tests/unit/misc_stubs.c tests/unit/panic_fake.c \
                tests/unit/check_kstring.c tests/unit/check_krandom.c tests/unit/check_ksys.c
gcore_SUITES := kstring krandom ksys
# The file system, its syscalls, the signals a pipe raises, the wait core it blocks through and the block
# layer with virtio-blk request planning, on tests/unit/fs_shim.c (which fakes the threads under wait.c).
gfs_SRCS     := $(sort $(wildcard guest/fs/*.c guest/sys/sys_fs*.c)) guest/sys/sys_signal.c guest/kernel/wait.c guest/kernel/pmem.c \
                guest/drivers/vblk_plan.c tests/unit/fs_shim.c tests/unit/panic_fake.c tests/unit/check_vfs.c tests/unit/check_vblk.c \
                tests/unit/check_wait.c tests/unit/check_epoll.c tests/unit/check_conin.c tests/unit/check_regdata.c \
                tests/unit/check_fslink.c tests/unit/check_procfs.c
gfs_SUITES   := vfs vblk wait epoll conin regdata fslink procfs
# The socket layer (AF_UNIX, the syscalls' argument checks) on the file system, wait core and fs_shim.c as gfs;
# AF_INET (lwIP) is not built here: check_sock.c fakes inet_create.
gsock_SRCS   := $(sort $(wildcard guest/fs/*.c guest/sys/sys_fs*.c)) guest/sys/sys_signal.c guest/kernel/wait.c guest/kernel/pmem.c \
                guest/drivers/vblk_plan.c guest/net/socket.c guest/net/unix.c guest/sys/sys_socket.c \
                tests/unit/fs_shim.c tests/unit/panic_fake.c tests/unit/check_sock.c
gsock_SUITES := sock
# Crash-report backtraces with the real printf and symbol lookup (check_kpanic.c fakes the rest).
gpanic_SRCS   := guest/kernel/panic.c guest/kernel/printf.c guest/kernel/payload.c tests/unit/check_kpanic.c
gpanic_SUITES := kpanic
# The virtio-net driver and the NIC configuration with lwIP itself, against check_vnet.c's fake transport,
# device and kernel services; lwIP is built for the host from the same source as for the guest
# (guest/build.mk's LWIP_SRCS), third-party code without -Werror. The FDT round trip calls the monitor's
# net_resolve and fdtb_build: left undefined here, they are the runner's own (TESTED_SRCS).
gnet_SRCS   := guest/drivers/virtio_net.c guest/drivers/vnet_spin.c guest/drivers/vblk_plan.c guest/net/net.c guest/net/netcfg.c \
               guest/net/port.c proto/virtq_drv.c tests/unit/check_vnet.c
gnet_OBJS   := $(patsubst $(LWIP_DIR)/src/%.c,$(TEST_OBJDIR)/lwip/%.o,$(LWIP_SRCS))
gnet_SUITES := vnet
GUEST_GROUPS += gnet
LWIP_TEST_INC := -Iguest/net/port -isystem $(LWIP_DIR)/src/include
$(patsubst %.c,$(TEST_OBJDIR)/%.o,$(gnet_SRCS)): TEST_CFLAGS += $(LWIP_TEST_INC)
# The guest's net.h, not the host device's devices/net.h.
$(patsubst %.c,$(TEST_OBJDIR)/%.o,$(gnet_SRCS)): ASAN_CFLAGS := $(filter-out -Idevices,$(ASAN_CFLAGS))
$(patsubst %.c,$(TEST_OBJDIR)/%.o,$(gnet_SRCS)) $(gnet_OBJS): $(LWIP_PORT_HDRS)
$(gnet_OBJS): $(TEST_OBJDIR)/lwip/%.o: $(LWIP_DIR)/src/%.c | lwip-source
	@mkdir -p $(@D)
	$(Q)$(CC) $(filter-out -Werror -Wextra,$(ASAN_CFLAGS)) -Iguest/include $(LWIP_TEST_INC) -c $< -o $@

# AF_INET sockets (guest/net/inet.c, tcp.c, udp.c) for real: gsock's socket layer on the file system, wait core
# and fs_shim.c, with lwIP and its loopback interface (net.c, port.c; etc.c for /etc), driven over 127.0.0.1.
ginet_SRCS   := $(filter-out tests/unit/check_sock.c,$(gsock_SRCS)) guest/net/inet.c guest/net/tcp.c guest/net/udp.c \
                guest/net/net.c guest/net/port.c guest/net/etc.c guest/net/sockstat.c tests/unit/check_inet.c
ginet_OBJS   := $(gnet_OBJS)
ginet_SUITES := inet
GUEST_GROUPS += ginet
GINET_LWIP_SRCS := guest/net/inet.c guest/net/tcp.c guest/net/udp.c guest/net/etc.c guest/net/sockstat.c tests/unit/check_inet.c
$(patsubst %.c,$(TEST_OBJDIR)/%.o,$(GINET_LWIP_SRCS)): TEST_CFLAGS += $(LWIP_TEST_INC)
$(patsubst %.c,$(TEST_OBJDIR)/%.o,$(GINET_LWIP_SRCS)): ASAN_CFLAGS := $(filter-out -Idevices,$(ASAN_CFLAGS))
$(patsubst %.c,$(TEST_OBJDIR)/%.o,$(GINET_LWIP_SRCS)): $(LWIP_PORT_HDRS)

# The fuzz harnesses that run guest code (tests/fuzz, "fuzzing" below) on gfs's modules and fakes; the group
# exports their entry points instead of suites.
gfuzz_SRCS    := $(filter-out tests/unit/check_%,$(gfs_SRCS)) tests/fuzz/fuzz_guest.c \
                 $(FUZZ_GUEST_HARNESSES:%=tests/fuzz/fuzz_%.c)
gfuzz_EXPORTS := $(FUZZ_GUEST_HARNESSES:%=fuzz_one_%)
GUEST_GROUPS += gfuzz

# SysV message queues and semaphores; check_sysv.c fakes the allocator, clocks, user checks and the wait core.
gipc_SRCS   := guest/sys/sys_ipc.c guest/sys/sys_sem.c tests/unit/check_sysv.c
gipc_SUITES := sysv
GUEST_GROUPS += gipc
# Interval and POSIX timers; check_ktimer.c fakes the clock, threads, signal state and wait core.
gtimer_SRCS   := guest/sys/sys_timer.c tests/unit/check_ktimer.c
gtimer_SUITES := ktimer
GUEST_GROUPS += gtimer

GUEST_GROUP_SRCS := $(foreach g,$(GUEST_GROUPS),$($(g)_SRCS))
$(patsubst %.c,$(TEST_OBJDIR)/%.o,$(filter guest/%,$(GUEST_GROUP_SRCS))): TEST_CFLAGS += -Iguest/include
$(patsubst %.c,$(TEST_OBJDIR)/%.o,$(filter tests/%,$(GUEST_GROUP_SRCS))): TEST_CFLAGS += -iquote guest/include
# Our string functions are what is under test: no builtin may stand in for a call to them.
$(patsubst %.c,$(TEST_OBJDIR)/%.o,$(gcore_SRCS)): TEST_CFLAGS += -fno-builtin

define GUEST_GROUP_RULE
$(TEST_OBJDIR)/group_$(1).o: $(patsubst %.c,$(TEST_OBJDIR)/%.o,$($(1)_SRCS)) $($(1)_OBJS)
	$$(Q)ld -r -o $$@.tmp $$^
	$$(Q)objcopy $(foreach s,$($(1)_SUITES:%=%_suite) $($(1)_EXPORTS),--keep-global-symbol=$(s)) $$@.tmp $$@
	$$(Q)rm -f $$@.tmp
endef
$(foreach g,$(GUEST_GROUPS),$(eval $(call GUEST_GROUP_RULE,$(g))))
GUEST_GROUP_OBJS := $(GUEST_GROUPS:%=$(TEST_OBJDIR)/group_%.o)

$(TEST_OBJDIR)/tools/imgbuild/%.o $(TEST_OBJDIR)/tests/fuzz/fuzz_imgbuild.o: TEST_CFLAGS += -Itools/imgbuild
$(TEST_OBJDIR)/tools/oci/%.o $(TEST_OBJDIR)/tests/unit/check_oci%.o $(TEST_OBJDIR)/tests/integration/check_oci%.o: \
	TEST_CFLAGS += -Itools/oci -Itools/imgbuild
# The user-mode network helper the netuser suite drives.
$(TEST_OBJDIR)/tests/unit/check_netuser.o: TEST_CFLAGS += -DNETUSER_HELPER='"$(abspath $(BUILD)/ukvm-slirp)"'
$(TEST_OBJDIR)/tests/unit/check_devnet.o: TEST_CFLAGS += -DNETUSER_HELPER='"$(abspath $(BUILD)/ukvm-slirp)"'
# The blk test pattern, shared with the guest's blk apps.
$(TEST_OBJDIR)/tests/integration/check_blk.o: TEST_CFLAGS += -iquote guest/apps
# The net suite's byte stream and errno names, shared with the guest's net apps.
$(TEST_OBJDIR)/tests/integration/check_net.o: TEST_CFLAGS += -iquote guest/apps

# The fuzz harnesses (tests/fuzz, see "fuzzing" below), each with the sources its libFuzzer build links;
# those running guest code join the gfuzz group above, the others the runner itself.
FUZZ_HARNESSES := $(FUZZ_HOST_HARNESSES) $(FUZZ_GUEST_HARNESSES)
FUZZ_SRCS_elf  := proto/elf.c vmm/loader.c vmm/mem.c
FUZZ_SRCS_virtq := proto/virtq_dev.c
FUZZ_SRCS_vqdrv := proto/virtq_drv.c
FUZZ_SRCS_fdt  := vmm/fdtbuild.c
FUZZ_SRCS_snap := vmm/snap.c
FUZZ_SRCS_mmio := devices/mmio.c vmm/event.c vmm/sandbox.c vmm/sbcache.c proto/virtq_dev.c
FUZZ_SRCS_blk  := devices/blk.c $(FUZZ_SRCS_mmio)
FUZZ_SRCS_net  := devices/net.c devices/net_hdr.c devices/net_tap.c devices/net_user.c $(FUZZ_SRCS_mmio)
FUZZ_SRCS_payload := guest/kernel/payload.c proto/elf.c $(filter-out tests/fuzz/fuzz_%,$(gfuzz_SRCS)) \
                     tests/fuzz/fuzz_guest.c
FUZZ_SRCS_imgbuild := $(IMGBUILD_LIB) proto/elf.c vmm/loader.c vmm/mem.c $(FUZZ_SRCS_payload)
TESTED_SRCS += $(FUZZ_HOST_HARNESSES:%=tests/fuzz/fuzz_%.c)
$(foreach h,$(FUZZ_HARNESSES),$(eval $(TEST_OBJDIR)/tests/fuzz/fuzz_$(h).o: TEST_CFLAGS += -DLLVMFuzzerTestOneInput=fuzz_one_$(h)))
$(TEST_OBJDIR)/tests/unit/check_fuzz.o: TEST_CFLAGS += -DFUZZ_DIR='"$(abspath tests/fuzz)"' \
	-D'FUZZ_LIST=$(foreach h,$(FUZZ_HARNESSES),X($(h)))'

# The sandbox suite tests the release build's filters: vmm/sandbox.c once more without UKVM_SANITIZER (the
# runner's own copy lets the sanitizers' calls through), its entry points renamed sandbox_rel_*, and
# check_sandbox.c calling those.
SANDBOX_REL := -Dsandbox_vcpu_install=sandbox_rel_vcpu_install -Dsandbox_vcpu_install_for=sandbox_rel_vcpu_install_for \
               -Dsandbox_event_install=sandbox_rel_event_install -Dsandbox_slirp_install=sandbox_rel_slirp_install \
               -Dsandbox_vcpu_prog=sandbox_rel_vcpu_prog -Dsandbox_event_prog=sandbox_rel_event_prog
$(TEST_OBJDIR)/sandbox_rel.o: vmm/sandbox.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(filter-out -DUKVM_SANITIZER,$(ASAN_CFLAGS)) $(SANDBOX_REL) -c $< -o $@
$(TEST_OBJDIR)/tests/unit/check_sandbox.o: TEST_CFLAGS += $(SANDBOX_REL)

# --- what the suites read or run ---------------------------------------------------
# A static and a static-PIE musl binary for check_elf / check_imgbuild.
ELF_TEST_STATIC := $(BUILD)/tools/test/hello-static
ELF_TEST_PIE    := $(BUILD)/tools/test/hello-pie

$(ELF_TEST_STATIC): guest/apps/hello.c
	@mkdir -p $(@D)
	$(Q)$(MUSLCC) -static $(APP_CFLAGS) -o $@ $<

$(ELF_TEST_PIE): guest/apps/hello.c
	@mkdir -p $(@D)
	$(Q)$(call MUSL_STATIC_PIE,$<) $(APP_CFLAGS) -o $@

ELF_TEST_OBJS := $(TEST_OBJDIR)/tests/unit/check_elf.o $(TEST_OBJDIR)/tests/unit/check_imgbuild.o
$(ELF_TEST_OBJS): $(ELF_TEST_STATIC) $(ELF_TEST_PIE)
$(ELF_TEST_OBJS): TEST_CFLAGS += -Itools/imgbuild -DELF_TEST_STATIC='"$(abspath $(ELF_TEST_STATIC))"' \
                                 -DELF_TEST_PIE='"$(abspath $(ELF_TEST_PIE))"'
# The guest kernel's boot layout (guest/kernel.ld, guest/kernel-boot.ld) in the built kernel.
$(TEST_OBJDIR)/tests/unit/check_kernlayout.o: $(KERNEL_ELF) guest/kernel-boot.ld
$(TEST_OBJDIR)/tests/unit/check_kernlayout.o: TEST_CFLAGS += -DKERNLAYOUT_KERNEL='"$(abspath $(KERNEL_ELF))"' \
                                 -DKERNLAYOUT_LD='"$(abspath guest/kernel-boot.ld)"'
# ukvm-oci's packer with the real guest kernel and the static test program.
$(TEST_OBJDIR)/tests/unit/check_ocipack.o: $(ELF_TEST_STATIC) $(KERNEL_ELF)
$(TEST_OBJDIR)/tests/unit/check_ocipack.o: TEST_CFLAGS += -DELF_TEST_STATIC='"$(abspath $(ELF_TEST_STATIC))"' \
                                 -DOCI_TEST_KERNEL='"$(abspath $(KERNEL_ELF))"'

# The monitor with ASan+UBSan (check_blk runs the hostile app against it): the sources of
# vmm/build.mk, objects under $(BUILD)/asan/. In `all` too, so `make all build/tests/check_ukvm`
# is enough to run any one suite.
ASAN_MON_OBJS := $(patsubst %.c,$(BUILD)/asan/obj/%.o,vmm/main.c $(LIBUKVM_SRCS))

$(BUILD)/asan/obj/%.o: %.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(ASAN_CFLAGS) -c $< -o $@

$(BUILD)/asan/ukvm-run: $(ASAN_MON_OBJS)
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(HOST_LIBS)

all: $(BUILD)/asan/ukvm-run

# An embedder running snapshots on worker threads (check_snapshot): no sanitizer, so glibc's malloc and its
# per-thread arenas are what the vCPU thread's seccomp filter meets, as in a real embedder.
$(BUILD)/tests/embed-worker: tests/integration/embed_worker.c $(BUILD)/libukvm.a
	@mkdir -p $(@D)
	$(Q)$(CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LIBS)
all: $(BUILD)/tests/embed-worker

# --- the runner -------------------------------------------------------------------
TEST_RUNNER_OBJS := $(patsubst %.c,$(TEST_OBJDIR)/%.o,tests/unit/runner.c tests/integration/it_util.c tests/integration/it_net.c tests/integration/netns.c \
                      $(filter-out $(GUEST_GROUP_SRCS),$(UNIT_SRCS)) $(IT_SRCS) $(sort $(TESTED_SRCS))) \
                    $(GUEST_GROUP_OBJS) $(TEST_OBJDIR)/sandbox_rel.o

# suites.h lists UNIT(name) / INTEG(name) for every check_<name>.c; rewritten only when the list changes.
$(BUILD)/tests/suites.h: FORCE
	@mkdir -p $(@D)
	@{ for f in $(UNIT_SRCS); do n=$${f##*/check_}; echo "UNIT($${n%.c})"; done; \
	   for f in $(IT_SRCS); do n=$${f##*/check_}; echo "INTEG($${n%.c})"; done; } > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
.PHONY: FORCE
FORCE:

$(TEST_OBJDIR)/tests/unit/runner.o: $(BUILD)/tests/suites.h

$(TEST_OBJDIR)/%.o: %.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(ASAN_CFLAGS) $(TEST_CFLAGS) -I$(BUILD)/tests -Itests/integration -c $< -o $@

$(BUILD)/tests/check_ukvm: $(TEST_RUNNER_OBJS)
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(shell pkg-config --libs check) $(HOST_LIBS) $(OCI_LIBS)

# Everything `make check` builds besides `all`: the integration suites boot the test guests, the apps'
# images (both in `all`) and the two monitors.
CHECK_DEPS := $(BUILD)/tests/check_ukvm $(BUILD)/ukvm-run $(BUILD)/asan/ukvm-run $(TESTGUESTS) $(BUILD)/ukvm-slirp $(BUILD)/ukvm-serve \
              $(BUILD)/ukvm-oci \
              $(BUILD)/tests/ukvm-slirp $(BUILD)/asan/ukvm-slirp $(BUILD)/tests/embed-worker

# The user-mode network helper next to the runner and the ASan monitor too, where net_user_open looks
# first (devices/net_user.h): a link to the one build.
$(BUILD)/tests/ukvm-slirp $(BUILD)/asan/ukvm-slirp: $(BUILD)/ukvm-slirp
	@mkdir -p $(@D)
	$(Q)ln -sf ../ukvm-slirp $@
all: $(BUILD)/tests/ukvm-slirp $(BUILD)/asan/ukvm-slirp

# --- fuzzing (tests/fuzz) -------------------------------------------------------------
# Each harness tests/fuzz/fuzz_<name>.c defines LLVMFuzzerTestOneInput. `make fuzz` builds it with clang's
# libFuzzer under ASan+UBSan and runs it FUZZ_TIME seconds over its seed corpus; `make check` needs no
# clang: the runner holds every harness built with gcc as fuzz_one_<name>, and check_fuzz.c feeds it each
# file of tests/fuzz/corpus/<name>/ and tests/fuzz/repro/<name>/ (pending/<name>/: known bugs, must abort).
# (The harness list and their gcc build into the runner: "sources under test" above.)

FUZZ_CC     ?= clang
FUZZ_TIME   ?= 60
FUZZ_OBJDIR := $(BUILD)/fuzz/obj
# The runner's sanitizers plus libFuzzer's coverage instrumentation (linked only into the harness binaries).
# clang's -Wmissing-field-initializers also flags partial positional initialisers gcc accepts (libseccomp's
# SCMP_A0 in vmm/sandbox.c): gcc's -Werror build is the style gate, not this one.
FUZZ_CFLAGS := $(filter-out -O2,$(HOST_CFLAGS)) -O1 -fsanitize=fuzzer-no-link,address,undefined \
               -fno-sanitize-recover=undefined -fno-omit-frame-pointer -Wno-missing-field-initializers \
               -DFUZZ_LIBFUZZER -DUKVM_SANITIZER

# The guest code's own headers, as in the runner.
$(patsubst %.c,$(FUZZ_OBJDIR)/%.o,$(filter guest/%,$(gfuzz_SRCS))): FUZZ_OBJ_CFLAGS := -Iguest/include
$(patsubst %.c,$(FUZZ_OBJDIR)/%.o,$(filter tests/%,$(gfuzz_SRCS))): FUZZ_OBJ_CFLAGS := -iquote guest/include

$(FUZZ_OBJDIR)/tools/imgbuild/%.o: FUZZ_OBJ_CFLAGS := -Itools/imgbuild
$(FUZZ_OBJDIR)/tests/fuzz/fuzz_imgbuild.o: FUZZ_OBJ_CFLAGS += -Itools/imgbuild

$(FUZZ_OBJDIR)/%.o: %.c
	@mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_OBJ_CFLAGS) -c $< -o $@

$(foreach h,$(FUZZ_HARNESSES),$(eval $(BUILD)/fuzz/fuzz_$(h): \
	$(patsubst %.c,$(FUZZ_OBJDIR)/%.o,$(sort tests/fuzz/fuzz_$(h).c $(FUZZ_SRCS_$(h))))))
$(BUILD)/fuzz/fuzz_%:
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(HOST_LIBS)

# Per harness: new inputs go to $(BUILD)/fuzz/corpus/<name> (the repo's seeds are read, never written),
# a crash to $(BUILD)/fuzz/crashes/<name>/ (save it under tests/fuzz/repro/<name>/ with its fix); a hang
# over 10 s is a crash too. Prints libFuzzer's last status line (coverage, features, execs/s) per harness.
.PHONY: fuzz fuzz-deps
fuzz-deps:
	$(Q)tools/deps.sh fuzz

fuzz: fuzz-deps
	$(Q)$(MAKE) --no-print-directory $(FUZZ_HARNESSES:%=$(BUILD)/fuzz/fuzz_%)
	$(Q)for h in $(FUZZ_HARNESSES); do \
		mkdir -p $(BUILD)/fuzz/corpus/$$h $(BUILD)/fuzz/crashes/$$h; \
		dirs=$$(for k in corpus repro; do [ -d tests/fuzz/$$k/$$h ] && echo tests/fuzz/$$k/$$h; done); \
		$(BUILD)/fuzz/fuzz_$$h -max_total_time=$(FUZZ_TIME) -timeout=10 -print_final_stats=1 \
			-artifact_prefix=$(BUILD)/fuzz/crashes/$$h/ $(BUILD)/fuzz/corpus/$$h $$dirs \
			> $(BUILD)/fuzz/$$h.log 2>&1; rc=$$?; \
		echo "fuzz $$h: $$(grep -E '^#[0-9]+' $(BUILD)/fuzz/$$h.log | tail -1)"; \
		if [ $$rc != 0 ]; then tail -40 $(BUILD)/fuzz/$$h.log; \
			echo "fuzz $$h: FAILED, reproducer in $(BUILD)/fuzz/crashes/$$h/, log $(BUILD)/fuzz/$$h.log"; exit 1; fi; \
	done

# Rewrites the seeds in tests/fuzz/corpus (tests/fuzz/mkseeds.c): hand-shaped ones, and files of the build
# (the test guest image as a kernel, a stripped musl static binary as an app), kept small.
FUZZ_SEED_APP := $(BUILD)/fuzz/hello-static-stripped

$(FUZZ_SEED_APP): $(ELF_TEST_STATIC)
	@mkdir -p $(@D)
	$(Q)strip -o $@ $<

.PHONY: fuzz-seeds
fuzz-seeds: $(BUILD)/fuzz/mkseeds $(BUILD)/vmm/testguest.elf $(FUZZ_SEED_APP)
	$(Q)$< tests/fuzz/corpus $(BUILD)/vmm/testguest.elf $(FUZZ_SEED_APP)
	$(Q)cp $(BUILD)/vmm/testguest.elf tests/fuzz/corpus/elf/testguest
	$(Q)cp $(FUZZ_SEED_APP) tests/fuzz/corpus/elf/hello-static

$(BUILD)/fuzz/mkseeds: tests/fuzz/mkseeds.c vmm/snap.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(HOST_CFLAGS) -o $@ $^
