# guest/build.mk: builds the guest kernel ELF (build/guest/ukvm-kernel.elf) from guest/ and proto/.
GUEST_OBJDIR := $(BUILD)/guest/obj

# The guest kernel: freestanding, linked in the top 2 GiB (kernel code model), no red zone (an
# exception pushes its frame onto the interrupted kernel stack), the app's XMM/x87 state left
# untouched, frame pointers kept for the crash backtrace; a section per function and per variable, so
# guest/kernel.ld can lay out together what boot touches (kernel-boot.ld).
GUEST_CFLAGS := -std=gnu11 -O2 -g $(WARN) -ffreestanding -nostdinc -Iguest/include -Iproto -I$(BUILD)/guest \
	-isystem $(shell $(CC) -print-file-name=include) \
	-idirafter /usr/include/x86_64-linux-gnu -idirafter /usr/include \
	-mcmodel=kernel -fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only \
	-fno-stack-protector -fno-omit-frame-pointer -fno-asynchronous-unwind-tables -ffunction-sections -fdata-sections \
	$(PROTO_ENV) -MMD -MP

# lwIP (guest/net, guest/include/net.h): Debian's source, fetched by tools/deps.sh into a cache outside the
# repo and compiled from there. Every guest object sees its headers (-isystem: their warnings are lwIP's)
# and our port's lwipopts.h and arch/cc.h.
LWIP_DIR ?= $(or $(UKVM_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/ukvm)/lwip-2.1.3+dfsg1-2
GUEST_CFLAGS += -Iguest/net/port -isystem $(LWIP_DIR)/src/include
# The boot profile behind guest/kernel-boot.ld (make guest-bootprof): every function entered is recorded.
ifdef UKVM_BOOTPROF
GUEST_CFLAGS += -finstrument-functions -DUKVM_BOOTPROF
endif
# The raw API's core, IPv4 and Ethernet: no sequential or socket API (the socket layer is ours), no
# DHCP/AUTOIP/IGMP/DNS (lwipopts.h), no IPv6 yet.
LWIP_SRCS := $(addprefix $(LWIP_DIR)/src/,core/init.c core/def.c core/inet_chksum.c core/ip.c core/mem.c \
	core/memp.c core/netif.c core/pbuf.c core/raw.c core/stats.c core/sys.c core/tcp.c core/tcp_in.c \
	core/tcp_out.c core/timeouts.c core/udp.c core/ipv4/etharp.c core/ipv4/icmp.c core/ipv4/ip4.c \
	core/ipv4/ip4_addr.c core/ipv4/ip4_frag.c netif/ethernet.c)
LWIP_OBJS := $(patsubst $(LWIP_DIR)/src/%.c,$(GUEST_OBJDIR)/lwip/%.c.o,$(LWIP_SRCS))
# Third-party code: built with our flags but without -Werror (its warnings are not ours to fix); our own
# files keep the full set.
LWIP_CFLAGS := $(filter-out -Werror -Wextra,$(GUEST_CFLAGS)) -Wno-address

GUEST_SRCS := $(sort $(wildcard guest/arch/x86_64/*.S guest/arch/x86_64/*.c guest/kernel/*.c \
	guest/sys/*.c guest/fs/*.c guest/drivers/*.c guest/net/*.c proto/*.c))
GUEST_OBJS := $(patsubst %,$(GUEST_OBJDIR)/%.o,$(GUEST_SRCS)) $(LWIP_OBJS)

# Without the lwIP source the guest cannot build: one clear line instead of a missing-header error.
.PHONY: lwip-source
lwip-source:
	@test -f $(LWIP_DIR)/src/core/init.c || { echo "lwIP source missing: run tools/deps.sh" >&2; exit 1; }
$(GUEST_OBJS): | lwip-source
# The flags live here: a change to them (the per-function sections kernel.ld lays out) rebuilds every object.
$(GUEST_OBJS): guest/build.mk
# -MMD leaves out what a system header includes, and lwIP's headers (-isystem) include our port's: name it.
LWIP_PORT_HDRS := guest/net/port/lwipopts.h guest/net/port/lwiphooks.h guest/net/port/arch/cc.h
$(GUEST_OBJS): $(LWIP_PORT_HDRS)

$(GUEST_OBJDIR)/lwip/%.c.o: $(LWIP_DIR)/src/%.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(LWIP_CFLAGS) -c $< -o $@

# Syscall names for the one-time "unimplemented syscall" warning, generated from the uapi header.
GUEST_UNISTD := /usr/include/x86_64-linux-gnu/asm/unistd_64.h
$(BUILD)/guest/sysnames.h: $(GUEST_UNISTD) guest/build.mk
	@mkdir -p $(@D)
	$(Q)awk '$$1 == "#define" && $$2 ~ /^__NR_/ { n = $$2; sub(/^__NR_/, "", n); \
		printf "\t[%s] = \"%s\",\n", $$3, n }' $< > $@.tmp && mv $@.tmp $@

$(GUEST_OBJDIR)/guest/sys/table.c.o: $(BUILD)/guest/sysnames.h

$(GUEST_OBJDIR)/%.c.o: %.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_OBJDIR)/%.S.o: %.S
	@mkdir -p $(@D)
	$(Q)$(CC) $(GUEST_CFLAGS) -c $< -o $@

# The vDSO (guest/vdso/): a tiny ELF shared object linked at 0 and embedded in the kernel
# (guest/arch/x86_64/vdso_blob.S); nobody relocates it, so the link must leave no relocation.
VDSO_SO := $(BUILD)/guest/vdso.so
VDSO_CFLAGS := -std=gnu11 -O2 -fPIC -ffreestanding -nostdlib -fno-stack-protector \
	-fno-asynchronous-unwind-tables -mgeneral-regs-only -Iguest/include -Iproto $(WARN) \
	-shared -Wl,-T,guest/vdso/vdso.lds -Wl,--hash-style=sysv -Wl,-Bsymbolic -Wl,--no-undefined \
	-Wl,-soname,linux-vdso.so.1 -Wl,--build-id=none -Wl,-z,noexecstack
$(VDSO_SO): guest/vdso/vdso.c guest/vdso/vdso.lds guest/include/vdso.h proto/ukvm_abi.h
	@mkdir -p $(@D)
	$(Q)$(CC) $(VDSO_CFLAGS) -o $@.tmp guest/vdso/vdso.c
	$(Q)if readelf -rW $@.tmp | grep -q R_X86_64; then echo "$@: has relocations" >&2; rm -f $@.tmp; exit 1; fi
	$(Q)mv $@.tmp $@

$(GUEST_OBJDIR)/guest/arch/x86_64/vdso_blob.S.o: $(VDSO_SO)
$(GUEST_OBJDIR)/guest/arch/x86_64/vdso_blob.S.o: GUEST_CFLAGS += -DVDSO_IMAGE='"$(VDSO_SO)"'

$(BUILD)/guest/ukvm-kernel.elf: $(GUEST_OBJS) guest/kernel.ld guest/kernel-boot.ld
	$(Q)$(CC) -nostdlib -static -no-pie -Wl,-z,noexecstack -Wl,-z,max-page-size=4096 \
		-Wl,--build-id=none -Lguest -T guest/kernel.ld -o $@ $(GUEST_OBJS) \
		/usr/lib/x86_64-linux-gnu/libfdt.a -lgcc

all: $(BUILD)/guest/ukvm-kernel.elf

# guest/kernel-boot.ld from a fresh boot profile: a kernel built with every function entry recorded
# (UKVM_BOOTPROF, its own build directory), hello booted on it in both CPU modes (tools/bootorder.sh).
.PHONY: guest-bootprof
guest-bootprof:
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/bootprof UKVM_BOOTPROF=1 \
		$(BUILD)/bootprof/ukvm-run $(BUILD)/bootprof/apps/hello.img
	$(Q)tools/bootorder.sh $(BUILD)/bootprof > guest/kernel-boot.ld.tmp
	$(Q)mv guest/kernel-boot.ld.tmp guest/kernel-boot.ld
