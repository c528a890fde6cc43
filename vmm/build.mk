# vmm/build.mk: libukvm (monitor library), ukvm-run (CLI) and the assembly test guests.
LIBUKVM_SRCS := $(sort $(filter-out vmm/main.c,$(wildcard vmm/*.c)) $(wildcard devices/*.c) $(wildcard proto/*.c))
# The user-mode network helper (devices/net_user.h): its own process, outside libukvm.
SLIRP_HELPER_SRCS := devices/slirp/helper.c vmm/sandbox.c vmm/sbcache.c
LIBUKVM_OBJS := $(patsubst %.c,$(BUILD)/vmm/obj/%.o,$(LIBUKVM_SRCS))

# Test guests: one .S, one variant per -DTG_<NAME>; testguest.elf is the hello variant.
TESTGUEST_VARIANTS := hello triple ud loop wait badcon serial badport badin bigin waitin waitbad
TESTGUESTS := $(BUILD)/vmm/testguest.elf $(patsubst %,$(BUILD)/vmm/testguest-%.elf,$(TESTGUEST_VARIANTS)) \
              $(BUILD)/vmm/testguest-dio.elf

all: $(BUILD)/libukvm.a $(BUILD)/ukvm-run $(BUILD)/ukvm-slirp $(TESTGUESTS)

$(BUILD)/vmm/obj/%.o: %.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(HOST_CFLAGS) -c $< -o $@

$(BUILD)/libukvm.a: $(LIBUKVM_OBJS)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

# ukvm-run: libukvm's sources and main.c compiled again with musl, linked static-pie (libc and the
# libraries included, ASLR kept): no dynamic loader, and musl's start-up, not static glibc's, whose
# ~68 CPUIDs each exit to the host on PVM (~800 us from exec to main; musl ~110 us). bench-boot
# figures: README. libukvm.a stays glibc for embedders; both libcs pass vmm/sandbox.c's allowlists.
# musl-gcc sees only musl's headers: the kernel's and the three libraries' are linked into
# $(BUILD)/musl-inc (nothing of glibc's), and Debian's libfdt.a, liburing.a and libseccomp.a (built
# for glibc) link as they are, with vmm/musl/glibc_abi.c's one glibc-ABI symbol.
MUSL_RUN_SRCS := $(LIBUKVM_SRCS) vmm/main.c vmm/musl/glibc_abi.c vmm/musl/sballoc.c
MUSL_RUN_OBJS := $(patsubst %.c,$(BUILD)/vmm/musl/%.o,$(MUSL_RUN_SRCS))
MUSL_RUN_LIBS  = $(foreach l,fdt uring,$(shell $(CC) -print-file-name=lib$(l).a))

# libseccomp with its allocations on vmm/musl/sballoc.c's arena (why: there).
$(BUILD)/vmm/musl/libseccomp.a:
	@mkdir -p $(@D)
	$(Q)objcopy $(foreach f,malloc calloc realloc free strdup,--redefine-sym $(f)=sballoc_$(f)) \
		$$($(CC) -print-file-name=libseccomp.a) $@
MUSL_INC_HDRS := linux asm-generic seccomp.h seccomp-syscalls.h libfdt.h libfdt_env.h fdt.h liburing.h liburing

$(BUILD)/musl-inc/.stamp:
	@mkdir -p $(@D)
	$(Q)for h in $(MUSL_INC_HDRS); do ln -sfn /usr/include/$$h $(@D)/$$h || exit 1; done
	$(Q)ln -sfn /usr/include/$$($(CC) -print-multiarch)/asm $(@D)/asm && touch $@

$(BUILD)/vmm/musl/%.o: %.c $(BUILD)/musl-inc/.stamp
	@mkdir -p $(@D)
	$(Q)$(MUSLCC) $(HOST_CFLAGS) -include vmm/musl/compat.h -isystem $(BUILD)/musl-inc -c $< -o $@

$(BUILD)/ukvm-run: $(MUSL_RUN_OBJS) $(BUILD)/vmm/musl/libseccomp.a
	$(Q)$(call MUSL_STATIC_PIE,$^ $(MUSL_RUN_LIBS)) -o $@

# Dynamically linked: Debian ships libslirp (and glib) as shared libraries only. Found next to ukvm-run.
$(BUILD)/ukvm-slirp: $(patsubst %.c,$(BUILD)/vmm/obj/%.o,$(SLIRP_HELPER_SRCS))
	$(Q)$(CC) -o $@ $^ $(SLIRP_LIBS) -lseccomp

$(BUILD)/vmm/testguest-%.elf: vmm/testguest/testguest.S vmm/testguest/testguest.ld proto/ukvm_abi.h
	@mkdir -p $(@D)
	$(Q)$(CC) -nostdlib -static -no-pie -Iproto -DTG_$(shell echo $* | tr a-z A-Z) \
		-Wl,-T,vmm/testguest/testguest.ld -Wl,--build-id=none -o $@ $<

# C test guests: testguest.S's TG_CMAIN start calls tg_main() of one C file (freestanding, linked at
# UKVM_KERNEL_VBASE like the rest, general registers only).
$(BUILD)/vmm/testguest-dio.elf: vmm/testguest/testguest.S vmm/testguest/tg_dio.c vmm/testguest/testguest.ld proto/ukvm_abi.h
	@mkdir -p $(@D)
	$(Q)$(CC) -std=c11 -O2 $(WARN) -ffreestanding -fno-pic -fno-stack-protector -fcf-protection=none \
		-mcmodel=kernel -mgeneral-regs-only -nostdlib -static -no-pie -Iproto -DTG_CMAIN \
		-Wl,-T,vmm/testguest/testguest.ld -Wl,--build-id=none -o $@ vmm/testguest/testguest.S vmm/testguest/tg_dio.c

$(BUILD)/vmm/testguest.elf: $(BUILD)/vmm/testguest-hello.elf
	$(Q)cp $< $@
