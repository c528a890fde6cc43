# ukvm: top-level build. Each part keeps its rules in its own build.mk.
BUILD    ?= build
CC       ?= gcc
MUSLCC   ?= musl-gcc
Q        ?= @

# Flags shared by the parts, each defined once (GUEST_CFLAGS: guest/build.mk); a part adds only
# what is its own (an -I, a -D) per target.
WARN := -Wall -Wextra -Werror
# proto/'s barrier and byte-order hooks: one file for every build (proto/proto_env.h says why).
PROTO_ENV := -include proto/proto_env_x86_64.h

# Monitor, tools and benchmarks.
HOST_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) -Iproto -Ivmm -Idevices $(PROTO_ENV) -MMD -MP
HOST_LIBS   := -lfdt -luring -lseccomp -lpthread
# libslirp, for the ukvm-slirp helper only (devices/net_user.h): slirp.pc needs glib's .pc, absent without
# libglib2.0-dev, and the shared library is all the helper needs.
SLIRP_LIBS  := $(shell pkg-config --libs slirp 2>/dev/null || echo -lslirp)
# The same with ASan+UBSan (tests/build.mk: the test runner and a sanitizer build of the monitor);
# -O1 as ASan's documentation advises: usable speed, stacks that still match the source.
SAN_FLAGS   := -fsanitize=address,undefined
# UKVM_SANITIZER: the seccomp filters let the sanitizers' own calls through (vmm/sandbox.c), so a report
# made on a filtered thread, and LeakSanitizer's check at exit, come out whole.
ASAN_CFLAGS := $(filter-out -O2,$(HOST_CFLAGS)) -O1 $(SAN_FLAGS) -fno-sanitize-recover=all -fno-omit-frame-pointer \
               -DUKVM_SANITIZER

.PHONY: all deps run check bench bench-boot bench-net bench-serve clean install
all:

include vmm/build.mk
include guest/build.mk
include tools/build.mk
include tests/build.mk

PREFIX ?= /usr/local

# Installs missing Debian packages (no-op when all are present).
deps:
	$(Q)tools/deps.sh

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(BUILD)/ukvm-run $(BUILD)/apps/hello.img

# The build before the tests on every CPU unless -j was given (a clean clone's lwIP, libevent, memcached
# and SQLite builds took ~5 of CI's minutes on one); recursive, so MAKEFLAGS is read in the recipe.
CHECK_JOBS = $(if $(filter -j%,$(MAKEFLAGS)),,-j$(shell nproc))

check: deps
	$(Q)$(MAKE) --no-print-directory $(CHECK_JOBS) all $(CHECK_DEPS)
	@# First the CPL3 base mode on its own (auto picks pvm-pv where the host has it; base is the
	@# default everywhere else), then every suite; the last line is the whole run's Check summary.
	$(Q)UKVM_TEST_PV=off CK_RUN_SUITE=boot $(BUILD)/tests/check_ukvm
	$(Q)UKVM_TEST_PV=off CK_RUN_SUITE=blk $(BUILD)/tests/check_ukvm
	$(Q)$(BUILD)/tests/check_ukvm

bench: bench-boot bench-blk bench-embed bench-net bench-console bench-serve bench-oci bench-mm bench-preempt # bench-boot runs bench-snap

install: all $(BUILD)/libukvm.pc
	install -D -m 755 $(BUILD)/ukvm-run $(DESTDIR)$(PREFIX)/bin/ukvm-run
	install -D -m 755 $(BUILD)/ukvm-slirp $(DESTDIR)$(PREFIX)/bin/ukvm-slirp
	install -D -m 755 $(BUILD)/ukvm-build $(DESTDIR)$(PREFIX)/bin/ukvm-build
	install -D -m 755 $(BUILD)/ukvm-oci $(DESTDIR)$(PREFIX)/bin/ukvm-oci
	install -D -m 644 $(BUILD)/guest/ukvm-kernel.elf $(DESTDIR)$(PREFIX)/lib/ukvm/ukvm-kernel.elf
	install -D -m 644 vmm/ukvm.h $(DESTDIR)$(PREFIX)/include/ukvm.h
	install -D -m 644 $(BUILD)/libukvm.a $(DESTDIR)$(PREFIX)/lib/libukvm.a
	install -D -m 644 $(BUILD)/libukvm.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/libukvm.pc

# libukvm.pc for PREFIX (and ukvm.h's UKVM_VERSION): phony, so a new PREFIX is never missed;
# the file is replaced only when its text changes.
.PHONY: $(BUILD)/libukvm.pc
$(BUILD)/libukvm.pc: vmm/libukvm.pc.in vmm/ukvm.h
	@mkdir -p $(@D)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' \
		-e "s|@VERSION@|$$(sed -n 's/^#define UKVM_VERSION "\(.*\)"$$/\1/p' vmm/ukvm.h)|" $< > $@.tmp
	$(Q)cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
