# tests/build.mk: all test wiring: one Check runner (ASan+UBSan) holding every unit suite and, when KVM
# is usable, the integration suites; the host builds of tested sources and what the suites need built.
UNIT_SRCS := $(sort $(wildcard tests/unit/check_*.c))
IT_SRCS   := $(sort $(wildcard tests/integration/check_*.c))
TEST_OBJDIR := $(BUILD)/tests/obj

# --- sources under test, linked into the runner ---------------------------------
# The monitor library (vmm/, devices/, proto/) and the image builder.
TESTED_SRCS := $(LIBUKVM_SRCS) $(IMGBUILD_LIB)

# Pure guest kernel parts: extent allocator, symbol lookup, the virtio-blk driver's request planning
# (guest headers, no libc string.h needed).
TESTED_SRCS += guest/kernel/pmem.c guest/kernel/payload.c guest/drivers/vblk_plan.c
$(TEST_OBJDIR)/guest/drivers/vblk_plan.o: TEST_CFLAGS += -Iguest/include

# The kernel heap, tested on the host under its own names (the vfs shims own k_malloc & co. there).
KMALLOC_TEST_NAMES := k_malloc k_calloc k_realloc k_free k_pages_alloc k_pages_free k_panic
TESTED_SRCS += guest/kernel/kmalloc.c
$(TEST_OBJDIR)/guest/kernel/kmalloc.o $(TEST_OBJDIR)/tests/unit/check_kmalloc.o: \
	TEST_CFLAGS += -iquote guest/include $(foreach f,$(KMALLOC_TEST_NAMES),-D$(f)=kmt_$(f:k_%=%))

# The guest's string/printf/random/misc-syscall code, with tests/unit/misc_stubs.c standing in for the
# core's k_* services (weak) used by check_kstring/check_krandom/check_ksys.
MISC_GUEST_SRCS := guest/kernel/string.c guest/kernel/printf.c guest/kernel/random.c \
                   guest/sys/sys_misc.c guest/sys/sys_time.c guest/sys/sys_signal.c
TESTED_SRCS += $(MISC_GUEST_SRCS) tests/unit/misc_stubs.c
# Other suites link their own weak stand-ins for the same k_* services (one runner, link order decides):
# on the host our files call misc_stubs.c's mt_* versions instead, whichever k_* stand-in wins.
MISC_CORE_FNS := k_hypercall_console k_hypercall_exit k_hypercall_crash k_clock_monotonic_ns k_clock_realtime_ns k_user_ok k_pages_stats \
                 k_thr_tid k_thr_count k_thr_exists k_thr_set_clear_tid k_thr_yield k_thr_wake k_thr_requeue \
                 k_thr_post k_thr_exit k_thr_wait \
                 k_panic
$(patsubst %.c,$(TEST_OBJDIR)/%.o,$(MISC_GUEST_SRCS)): \
	TEST_CFLAGS += -Iguest/include $(foreach f,$(MISC_CORE_FNS),-D$(f)=mt_$(f:k_%=%))
# string.c defines memcpy, strlen, ... which the host's libc (and ASan) own: on the host they are built
# as kt_memcpy, kt_strlen, ... (check_kstring.c uses the same list) so the test checks our code, not glibc's.
MISC_STRING_FNS := memcpy memmove memset memcmp memchr strlen strnlen strcmp strncmp strchr strrchr strcpy strtoul
$(TEST_OBJDIR)/guest/kernel/string.o: TEST_CFLAGS += -fno-builtin $(foreach f,$(MISC_STRING_FNS),-D$(f)=kt_$(f))

# The guest file system (guest/fs, guest/sys/sys_fs*.c) and the wait core it blocks through, with a shim
# for k.h and the scheduler side of thread.h (tests/unit/fs_shim.c).
FS_GUEST_SRCS := $(sort $(wildcard guest/fs/*.c guest/sys/sys_fs*.c)) guest/kernel/wait.c
TESTED_SRCS += $(FS_GUEST_SRCS) tests/unit/fs_shim.c
# Guest headers only (guest/include/string.h shadows libc's); no libc struct stat or fcntl.h in these objects.
$(patsubst %.c,$(TEST_OBJDIR)/%.o,$(FS_GUEST_SRCS)): TEST_CFLAGS += -Iguest/include

$(TEST_OBJDIR)/tools/imgbuild/%.o: TEST_CFLAGS += -Itools/imgbuild
# The blk test pattern, shared with the guest's blk apps.
$(TEST_OBJDIR)/tests/integration/check_blk.o: TEST_CFLAGS += -iquote guest/apps

# The fuzz harnesses (tests/fuzz, see "fuzzing" below), each with the sources its libFuzzer build links.
FUZZ_HARNESSES := elf virtq
FUZZ_SRCS_elf  := proto/elf.c vmm/loader.c vmm/mem.c
FUZZ_SRCS_virtq := proto/virtq_dev.c
TESTED_SRCS += $(FUZZ_HARNESSES:%=tests/fuzz/fuzz_%.c)
$(foreach h,$(FUZZ_HARNESSES),$(eval $(TEST_OBJDIR)/tests/fuzz/fuzz_$(h).o: TEST_CFLAGS += -DLLVMFuzzerTestOneInput=fuzz_one_$(h)))
$(TEST_OBJDIR)/tests/unit/check_fuzz.o: TEST_CFLAGS += -DFUZZ_DIR='"$(abspath tests/fuzz)"' \
	-D'FUZZ_LIST=$(foreach h,$(FUZZ_HARNESSES),X($(h)))'

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

# --- the runner -------------------------------------------------------------------
TEST_RUNNER_OBJS := $(patsubst %.c,$(TEST_OBJDIR)/%.o,tests/unit/runner.c tests/integration/it_util.c \
                      $(UNIT_SRCS) $(IT_SRCS) $(sort $(TESTED_SRCS)))

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
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(shell pkg-config --libs check) $(HOST_LIBS)

# Everything `make check` builds besides `all`: the integration suites boot the test guests, the apps'
# images (both in `all`) and the two monitors.
CHECK_DEPS := $(BUILD)/tests/check_ukvm $(BUILD)/ukvm-run $(BUILD)/asan/ukvm-run $(TESTGUESTS)

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
FUZZ_CFLAGS := $(filter-out -O2,$(HOST_CFLAGS)) -O1 -fsanitize=fuzzer-no-link,address,undefined \
               -fno-sanitize-recover=undefined -fno-omit-frame-pointer

$(FUZZ_OBJDIR)/%.o: %.c
	@mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_OBJ_CFLAGS) -c $< -o $@

$(foreach h,$(FUZZ_HARNESSES),$(eval $(BUILD)/fuzz/fuzz_$(h): \
	$(patsubst %.c,$(FUZZ_OBJDIR)/%.o,tests/fuzz/fuzz_$(h).c $(FUZZ_SRCS_$(h)))))
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

# Rewrites the generated seeds (tests/fuzz/mkseeds.c) in tests/fuzz/corpus; the others there are files
# the build made (named in mkseeds.c's header) or shrunk crashes.
.PHONY: fuzz-seeds
fuzz-seeds: $(BUILD)/fuzz/mkseeds
	$(Q)$< tests/fuzz/corpus

$(BUILD)/fuzz/mkseeds: tests/fuzz/mkseeds.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(HOST_CFLAGS) -o $@ $<
