# tests/build.mk: one Check runner (ASan+UBSan) holding every unit suite and, when KVM is usable, the integration suites.
UNIT_SRCS := $(sort $(wildcard tests/unit/check_*.c))
IT_SRCS   := $(sort $(wildcard tests/integration/check_*.c))
TEST_OBJDIR := $(BUILD)/tests/obj

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
	$(Q)$(CC) -fsanitize=address,undefined -o $@ $^ $(TEST_LIBS) $(shell pkg-config --libs check) $(HOST_LIBS)

CHECK_DEPS += $(BUILD)/tests/check_ukvm
