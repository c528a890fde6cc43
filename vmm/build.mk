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

# Linked static-pie (libc and the libraries included, ASLR kept): no dynamic loader at every VM
# start. bench-boot, 200 alternating runs: 3.97 ms dynamic, 3.83 ms with only libfdt/liburing/
# libseccomp static, 3.71 ms static-pie. No NSS in the monitor (kvmcheck_group_name reads /etc/group).
$(BUILD)/ukvm-run: $(BUILD)/vmm/obj/vmm/main.o $(BUILD)/libukvm.a
	$(Q)$(CC) -static-pie -o $@ $^ $(HOST_LIBS)

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
