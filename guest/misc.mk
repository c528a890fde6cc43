# guest/misc.mk: unit tests of the guest's string/printf/random/misc-syscall code on the host, plus a guest-flags compile check.
MISC_GUEST_SRCS := guest/kernel/string.c guest/kernel/printf.c guest/kernel/random.c \
                   guest/sys/sys_misc.c guest/sys/sys_time.c guest/sys/sys_signal.c

# The host tests link these (ASan+UBSan) with tests/unit/misc_stubs.c standing in for the core.
TESTED_SRCS += $(MISC_GUEST_SRCS)

MISC_TEST_OBJS := $(patsubst %.c,$(BUILD)/tests/obj/%.o,$(MISC_GUEST_SRCS))
# Other suites link their own weak stand-ins for the same k_* services (one runner, link order decides):
# on the host our files call misc_stubs.c's mt_* versions instead, whichever k_* stand-in wins.
MISC_CORE_FNS := k_hypercall_console k_hypercall_exit k_hypercall_crash k_clock_monotonic_ns k_clock_realtime_ns k_user_ok k_mem_stats \
                 k_thr_tid k_thr_count k_thr_exists k_thr_set_clear_tid k_thr_yield k_thr_wake k_thr_requeue \
                 k_thr_post k_thr_exit k_thr_wait \
                 k_cpuid_query
MISC_HOST_CFLAGS := -Iguest/include $(foreach f,$(MISC_CORE_FNS),-D$(f)=mt_$(f:k_%=%))
$(MISC_TEST_OBJS): TEST_CFLAGS += $(MISC_HOST_CFLAGS)

# string.c defines memcpy, strlen, ... which the host's libc (and ASan) own: on the host they are built
# as kt_memcpy, kt_strlen, ... (check_kstring.c uses the same list) so the test checks our code, not glibc's.
MISC_STRING_FNS := memcpy memmove memset memcmp memchr strlen strnlen strcmp strncmp strchr strrchr strcpy strtoul
$(BUILD)/tests/obj/guest/kernel/string.o: TEST_CFLAGS += -fno-builtin $(foreach f,$(MISC_STRING_FNS),-D$(f)=kt_$(f))

# The same sources with the guest kernel's flags, so a host-only success cannot hide a freestanding build error.
MISC_GUEST_CFLAGS := -std=gnu11 -O2 -ffreestanding -nostdinc -Iguest/include -Iproto \
                     -isystem $(shell $(CC) -print-file-name=include) \
                     -idirafter /usr/include/x86_64-linux-gnu -idirafter /usr/include \
                     -fno-pie -mcmodel=kernel -mno-red-zone -mgeneral-regs-only -fno-stack-protector -Wall -Wextra -Werror
MISC_GUEST_OBJS := $(patsubst %.c,$(BUILD)/gmisc/%.o,$(MISC_GUEST_SRCS))

$(BUILD)/gmisc/%.o: %.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(MISC_GUEST_CFLAGS) -MMD -MP -c $< -o $@

.PHONY: guest-misc
guest-misc: $(MISC_GUEST_OBJS)

# Host stand-ins for the core's k_* services (weak) used by check_kstring/check_krandom/check_ksys.
TESTED_SRCS += tests/unit/misc_stubs.c

# A runner with only these suites, for working while other parts of the tree are in flux: make misc-check.
MISC_SUITES := kstring krandom ksys
MISC_CHECK_OBJS := $(patsubst %.c,$(BUILD)/gmisc/test/%.o,tests/unit/runner.c tests/integration/it_util.c \
                     $(foreach s,$(MISC_SUITES),tests/unit/check_$(s).c) $(MISC_GUEST_SRCS) tests/unit/misc_stubs.c)
$(BUILD)/gmisc/test/suites.h:
	@mkdir -p $(@D)
	@for s in $(MISC_SUITES); do echo "UNIT($$s)"; done > $@
$(BUILD)/gmisc/test/tests/unit/runner.o: $(BUILD)/gmisc/test/suites.h
$(BUILD)/gmisc/test/tests/unit/runner.o: TEST_CFLAGS += -Wno-unused-variable
$(BUILD)/gmisc/test/guest/%.o: TEST_CFLAGS += $(MISC_HOST_CFLAGS)
$(BUILD)/gmisc/test/guest/kernel/string.o: TEST_CFLAGS += -fno-builtin $(foreach f,$(MISC_STRING_FNS),-D$(f)=kt_$(f))
$(BUILD)/gmisc/test/%.o: %.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(ASAN_CFLAGS) $(TEST_CFLAGS) -I$(BUILD)/gmisc/test -Itests/integration -c $< -o $@
$(BUILD)/gmisc/check_misc: $(MISC_CHECK_OBJS)
	$(Q)$(CC) -fsanitize=address,undefined -o $@ $^ $(shell pkg-config --libs check)
.PHONY: misc-check
misc-check: $(BUILD)/gmisc/check_misc guest-misc
	$(Q)$(BUILD)/gmisc/check_misc
